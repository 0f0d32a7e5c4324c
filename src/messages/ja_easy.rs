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
        ChooseLanguage => "ことばを えらんで ください。",
        Statement => {
            "ゆくはしし からの おしらせ の とうろく\n\
             すんでいる ところ・ねんれい・しりたい こと・ことば を おしえて ください。あなたに あった おしらせ を おくります。\
             おしえて もらった ことは おしらせ を おくる ためだけに つかいます。「設定」で いつでも かえる ことが できます。\
             「配信停止」で おしらせ を とめる ことが できます（さいがい の ときの おしらせ は とどきます）。\nとうろく しますか？"
        }
        Agree => "とうろく する",
        Decline => "とうろく しない",
        Declined => {
            "とうろく しませんでした。しつもん は いつでも おくって ください。「設定」で いつでも とうろく できます。"
        }
        ChooseDistrict => "すんでいる ちいき（しょうがっこう の ちいき）を えらんで ください。",
        NextPage => "つぎへ",
        ChooseAge => "ねんれい を えらんで ください。",
        AgeUnder20 => "20さい より した",
        NoAnswer => "こたえない",
        ChooseInterests => {
            "しりたい ことを えらんで ください（いくつでも）。おわったら「おわり」を おして ください。"
        }
        DoneButton => "おわり",
        Completed => "とうろく が おわりました。ありがとう ございます。",
        CurrentSettings => "いまの せってい",
        DistrictLabel => "ちいき",
        AgeLabel => "ねんれい",
        InterestsLabel => "しりたい こと",
        LanguageLabel => "ことば",
        NoticesLabel => "おしらせ",
        NoticesOn => "うけとる",
        NoticesPaused => "とめています（きんきゅう の おしらせ は とどきます）",
        NotSet => "まだ ありません",
        ChangeDistrict => "ちいき を かえる",
        ChangeAge => "ねんれい を かえる",
        ChangeInterests => "しりたい こと",
        ChangeLanguage => "ことば / Language",
        Pause => "おしらせ を とめる",
        Resume => "おしらせ を うける",
        MoreSettings => "くわしい せってい",
        PausedNow => {
            "おしらせ を とめました。さいがい の ときの おしらせ は とどきます。「配信再開」で また うけとれます。"
        }
        ResumedNow => "おしらせ を また おくります。",
        SettingsHint => "せってい を かえる ときは「設定」と おくって ください。",
        PageTitle => "ゆくはしし の おしらせ を うけとる",
        WebIntro => {
            "すんでいる ところ・ねんれい・しりたい こと・ことば を おしえて ください。あなたに あった おしらせ を メール か この きかい に おくります。いつでも かえたり けしたり できます。"
        }
        EmailLabel => "メールアドレス",
        PushLabel => "または この きかい で うけとる",
        PushButton => "つうち を ゆるす",
        PushReady => "この きかい で うけとれます。",
        BirthYearLabel => "うまれた とし（せいれき・かかなくても よい）",
        ConsentLabel => "うえ の せつめい で よい です",
        SubmitButton => "とうろく する",
        FixErrors => "かいた ことを たしかめて ください。",
        CheckEmail => {
            "メール を おくりました。メール の リンク を ひらくと とうろく が おわります（7にち いない）。"
        }
        Registered => "とうろく しました。",
        Confirmed => "メールアドレス を たしかめました。とうろく が おわりました。",
        InvalidLink => "この リンク は つかえません。",
        ExpiredLink => "この リンク は もう つかえません。もう いちど とうろく して ください。",
        PrefsTitle => "おしらせ の せってい",
        Topics => "うけとる おしらせ",
        Quiet => "おしらせ しない じかん",
        QuietNone => "なし",
        PausedLabel => "おしらせ を とめる（きんきゅう の おしらせ は とどきます）",
        SaveButton => "ほぞん する",
        Saved => "ほぞん しました。",
        DeleteAll => "とうろく を ぜんぶ けす",
        Deleted => "とうろく を ぜんぶ けしました。",
        ConfirmSubject => "【ゆくはしし】とうろく の かくにん",
        ConfirmBody => {
            "ゆくはしし の おしらせ の とうろく を うけつけました。つぎ の リンク を ひらくと とうろく が おわります（7にち いない）。"
        }
        ChooseOne => "えらんで ください",
        ChannelNeeded => "メールアドレス を かくか、この きかい の つうち を ゆるして ください。",
        AgeTwenties => "20さい から 29さい",
        AgeThirties => "30さい から 39さい",
        AgeForties => "40さい から 49さい",
        AgeFifties => "50さい から 59さい",
        AgeSixties => "60さい から 69さい",
        AgeSeventies => "70さい から 79さい",
        AgeEightyPlus => "80さい より うえ",
        DistrictInvalid => "すんでいる ちいき を えらんで ください。",
        BirthYearInvalid => {
            "うまれた とし は 1900 から {latest} の あいだ で かいて ください（れい：1985）。"
        }
        AgeBandInvalid => "ねんれい を えらんで ください。",
        InterestInvalid => "しりたい こと を えらんで ください。",
        LanguageInvalid => "ことば を えらんで ください。",
        EmailInvalid => {
            "メールアドレス が ただしく ありません。name@example.jp の ように かいて ください。"
        }
        PushInvalid => {
            "この きかい の つうち を とうろく できませんでした。もう いちど「つうち を ゆるす」を おすか、メールアドレス で とうろく して ください。"
        }
        ConsentNeeded => {
            "とうろく する ときは、うえ の せつめい を よんで、しるし を つけて ください。"
        }
        QuietInvalid => "おしらせ しない じかん は「22:00」の ように かいて ください。",
        SentTo => "{email} に メール を おくりました。",
        SentToNext => {
            "7にち の あいだ に メール の リンク を ひらいて ください。とうろく が おわって、おしらせ が とどく ように なります。メール が こない ときは、アドレス を なおして もう いちど とうろく して ください。"
        }
        ChangeAddress => "メールアドレス を なおす",
        AskInChat => "チャット で しつもん する",
        ToCitySite => "ゆくはしし の ホームページ へ",
        RegisteredNext => {
            "これから この きかい に おしらせ が とどきます。せってい を かえる ときは、おしらせ の「せってい」の リンク を ひらいて ください。"
        }
        ConfirmedNext => {
            "これから あなた に あった おしらせ を メール で おくります。せってい を かえる ときは、メール の「せってい」の リンク を ひらいて ください。"
        }
        PushDenied => {
            "つうち が とめられて います。ブラウザ の せってい で この サイト の つうち を ゆるして から、もう いちど おして ください。メールアドレス でも とうろく できます。"
        }
        PushUnsupported => {
            "この ブラウザ では つうち が つかえません。メールアドレス で とうろく して ください。"
        }
        PushFailed => {
            "つうち の とうろく が できませんでした。すこし まって もう いちど おすか、メールアドレス で とうろく して ください。"
        }
        // Chat
        CallTheCity => "わからない ときは しやくしょ（{number}）に でんわ して ください。",
        ChatTitle => "ゆくはしし しつもん チャット",
        ChatIntro => "しやくしょ への しつもん に こたえます（24じかん）。",
        ChatWelcome => {
            "こんにちは。ゆくはしし の チャット です。「じゅうみんひょう が ほしい」「おおきい ごみ の すてかた」の ように、しりたい こと を かいて ください。"
        }
        ChatLogLabel => "かいわ",
        ChatQuestionLabel => "しつもん",
        ChatPlaceholder => "れい：じゅうみんひょう が ほしい",
        ChatSend => "おくる",
        ChatConnecting => "つないで います…",
        ChatIdle => {
            "しばらく つかわなかった ので とめました。しつもん を おくると また はじまります。"
        }
        ChatReconnecting => "きれました。もう いちど つないで います…",
        ChatCannotConnect => "いま つなげません。すこし まつと また つなぎます。",
        CityHours => "へいじつ（げつようび〜きんようび）8じ30ぷん〜17じ15ふん",
        ChatNote => "こまった とき は しやくしょ（{number}、{hours}）に でんわ して ください。",
        Helpful => "やくに たった",
        NotHelpful => "やくに たたなかった",
        FeedbackQuestion => "この こたえ は やくに たちましたか",
        NoneOfThese => "どれ でも ない",
        ChoicesLabel => "えらぶ もの",
        WhichOne => "あなた の しつもん は どれ に ちかい ですか。えらんで ください。",
        Department => "たんとう：{department}",
        MoreInfo => "くわしい こと（ホームページ）",
        NoticeHeading => "おしらせ",
        SafetyLabel => "ぶじ か どうか しらせる",
        AnswerInJapanese => "この こたえ は ふつう の にほんご です。",
        NoAnswerFound => "ごめんなさい。こたえ が みつかりませんでした。",
        NextStepsHeading => "つぎ の ことを して ください。",
        NextRephrase => "ちがう ことば で みじかく きく（れい：「じどうてあて」）",
        NextCall => "でんわ で きく：しやくしょ {number}（{hours}）",
        NextContactForm => "ホームページ から きく",
        ThanksHelpful => "ありがとう ございます。よかった です。",
        ThanksNotHelpful => "ありがとう ございます。こたえ を よく する ために つかいます。",
        TextPlease => "しつもん は もじ で おくって ください。れい：「じゅうみんひょう が ほしい」",
        QuestionEmpty => "しつもん を かいて ください。",
        QuestionTooLong => "しつもん は {max}もじ まで です。",
        TooManyMessages => {
            "メッセージ が おおすぎます。{seconds}びょう まって から もう いちど して ください。"
        }
        LineGreeting => {
            "ともだち に して くれて ありがとう ございます。ゆくはしし です。\nしやくしょ への しつもん に 24じかん こたえます。しりたい こと を おくって ください。\nねんれい・すんでいる ところ・しりたい こと を とうろく すると、あなた に あった おしらせ や、さいがい の ときの おしらせ が とどきます。つぎ の ボタン か、「設定」と おくると とうろく できます。\nこまった とき は しやくしょ（{number}）に でんわ して ください。"
        }
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
