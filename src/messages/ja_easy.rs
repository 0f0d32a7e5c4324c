//! やさしい日本語 (easy Japanese): short sentences, spaces between words, hiragana for hard kanji.
use super::Msg;

pub(super) fn text(msg: Msg) -> &'static str {
    use Msg::*;
    match msg {
        // Every page
        CityName => "ゆくはしし",
        ServerTrouble => {
            "ごめんなさい。いま つかえません。すこし まってから もう いちど して ください。"
        }
        NotFound => "この ページは ありません。",
        Back => "もどる",
        // Registration
        FieldRequired => "「{field}」を かいて ください。",
        // Chat
        CallTheCity => "わからない ときは しやくしょ（{number}）に でんわ して ください。",
        // Emergency
        EmergencyHeading => "きんきゅう の おしらせ",
        // Notices and surveys
        StopNotices => "おしらせ を とめる",
    }
}
