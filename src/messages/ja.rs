//! 日本語: what the hub says to residents.
use super::Msg;

pub(super) fn text(msg: Msg) -> &'static str {
    use Msg::*;
    match msg {
        // Every page
        CityName => "行橋市",
        ServerTrouble => {
            "申し訳ありません。問題が発生しました。しばらくしてからもう一度お試しください。"
        }
        NotFound => "お探しのページは見つかりませんでした。",
        Back => "戻る",
        // Registration
        FieldRequired => "「{field}」を入力してください。",
        // Chat
        CallTheCity => "お電話でのお問い合わせは行橋市役所（{number}）へ。",
        // Emergency
        EmergencyHeading => "緊急情報",
        // Notices and surveys
        StopNotices => "お知らせの配信停止",
    }
}
