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
        // JMA (alerts made from the Japan Meteorological Agency's documents)
        JmaSpecialWarningTitle => "行橋市に特別警報",
        JmaSpecialWarningBody => {
            "これまでに経験したことのないような危険が迫っています。命を守るための最善の行動をとってください。（気象庁 {time} 発表）"
        }
        JmaWarningTitle => "行橋市に警報",
        JmaWarningBody => {
            "災害が起こるおそれがあります。最新の情報に注意し、早めに安全を確保してください。（気象庁 {time} 発表）"
        }
        JmaAdvisoryTitle => "行橋市に注意報",
        JmaAdvisoryBody => "災害に注意してください。（気象庁 {time} 発表）",
        JmaLandslideTitle => "行橋市に土砂災害警戒情報",
        JmaLandslideBody => {
            "土砂災害の危険が非常に高まっています。崖や山の近くの方は、すぐに安全な場所へ避難してください。（気象庁 {time} 発表）"
        }
        JmaRecordRainTitle => "記録的短時間大雨情報（行橋市）",
        JmaRecordRainBody => {
            "数年に一度の猛烈な雨が降っています。川や崖に近づかず、命を守る行動をとってください。（気象庁 {time} 発表）"
        }
        JmaFloodTitle => "指定河川洪水予報（行橋市）",
        JmaFloodBody => {
            "{river}が氾濫するおそれがあります。川の近くの方は安全な場所へ避難してください。（気象庁 {time} 発表）"
        }
        JmaLiftedTitle => "気象情報の解除（行橋市）",
        JmaLiftedBody => "気象庁は {time} に、行橋市の {kinds} を解除しました。",
        JmaCancelledTitle => "気象庁の情報の取消（行橋市）",
        JmaCancelledBody => "先ほどお知らせした気象庁の情報は取り消されました（気象庁 {time}）。",
    }
}
