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
        // JMA (alerts made from the Japan Meteorological Agency's documents)
        JmaSpecialWarningTitle => "ゆくはしし に とくべつけいほう",
        JmaSpecialWarningBody => {
            "とても あぶない です。いのち を まもる ために、すぐに あんぜんな ところ へ にげて ください。（きしょうちょう {time}）"
        }
        JmaWarningTitle => "ゆくはしし に けいほう",
        JmaWarningBody => {
            "さいがい が おきる かもしれません。あたらしい じょうほう を みて ください。（きしょうちょう {time}）"
        }
        JmaAdvisoryTitle => "ゆくはしし に ちゅういほう",
        JmaAdvisoryBody => "さいがい に きを つけて ください。（きしょうちょう {time}）",
        JmaLandslideTitle => "がけ が くずれる きけん",
        JmaLandslideBody => {
            "がけ や やま が くずれる かもしれません。ちかく に いる ひと は、すぐに にげて ください。（きしょうちょう {time}）"
        }
        JmaRecordRainTitle => "とても つよい あめ",
        JmaRecordRainBody => {
            "とても つよい あめ が ふって います。かわ や がけ に ちかづかないで ください。（きしょうちょう {time}）"
        }
        JmaFloodTitle => "かわ の みず が あふれる きけん",
        JmaFloodBody => {
            "{river} の みず が あふれる かもしれません。かわ の ちかく の ひと は にげて ください。（きしょうちょう {time}）"
        }
        JmaLiftedTitle => "けいほう など が おわりました",
        JmaLiftedBody => "きしょうちょう は {time} に {kinds} を おわりに しました。",
        JmaCancelledTitle => "きしょうちょう の じょうほう の とりけし",
        JmaCancelledBody => {
            "さっき の きしょうちょう の じょうほう は まちがい でした。（きしょうちょう {time}）"
        }
    }
}
