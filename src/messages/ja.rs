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
        ChooseLanguage => {
            "ことばを選んでください。\nPlease choose your language. 请选择语言。언어를 선택하세요. Vui lòng chọn ngôn ngữ."
        }
        Statement => {
            "行橋市からのお知らせ登録\n\
             お住まいの地区・年代・関心のある分野・言語を登録すると、あなたに合った市からのお知らせ（子育て、介護、ごみ、防災、イベントなど）をこのアカウントでお届けします。\
             登録内容はお知らせの配信先を選ぶためだけに使い、いつでも「設定」で変更・削除できます。「配信停止」でお知らせを止められます（災害時の緊急情報は届きます）。\n\
             この内容に同意して登録しますか？"
        }
        Agree => "同意して登録",
        Decline => "登録しない",
        Declined => {
            "登録しませんでした。市役所へのご質問はいつでもメッセージで送ってください。登録は「設定」からいつでもできます。"
        }
        ChooseDistrict => "お住まいの地区（小学校区）を選んでください。",
        NextPage => "次へ",
        ChooseAge => "年代を選んでください。",
        AgeUnder20 => "20歳未満",
        NoAnswer => "答えない",
        ChooseInterests => {
            "関心のある分野を選んでください（いくつでも）。選び終わったら「完了」を押してください。"
        }
        DoneButton => "完了",
        Completed => "登録が完了しました。ありがとうございます。",
        CurrentSettings => "現在の設定",
        DistrictLabel => "地区",
        AgeLabel => "年代",
        InterestsLabel => "関心",
        LanguageLabel => "言語",
        NoticesLabel => "お知らせ",
        NoticesOn => "受け取る",
        NoticesPaused => "停止中（緊急情報は届きます）",
        NotSet => "未設定",
        ChangeDistrict => "地区を変更",
        ChangeAge => "年代を変更",
        ChangeInterests => "関心を変更",
        ChangeLanguage => "言語 / Language",
        Pause => "配信停止",
        Resume => "配信再開",
        MoreSettings => "詳しい設定",
        PausedNow => {
            "お知らせの配信を停止しました。災害時の緊急情報は引き続きお届けします。「配信再開」でいつでも再開できます。"
        }
        ResumedNow => "お知らせの配信を再開しました。",
        SettingsHint => "設定の変更は「設定」と送ってください。",
        PageTitle => "行橋市からのお知らせを受け取る",
        WebIntro => {
            "お住まいの地区・年代・関心のある分野・言語を登録すると、あなたに合った市からのお知らせをメールまたはこの端末への通知でお届けします。登録内容はお知らせの配信先を選ぶためだけに使い、いつでも変更・削除できます。災害時の緊急情報もお届けします。"
        }
        EmailLabel => "メールアドレス",
        PushLabel => "またはこの端末で通知を受け取る",
        PushButton => "通知を許可する",
        PushReady => "この端末で通知を受け取れます。",
        BirthYearLabel => "生まれた年（西暦・任意：年代の代わりに）",
        ConsentLabel => "上記の説明に同意します",
        SubmitButton => "登録する",
        FixErrors => "入力内容を確認してください。",
        CheckEmail => {
            "確認メールを送りました。メールにあるリンクを開くと登録が完了します（7日以内）。"
        }
        Registered => "登録しました。",
        Confirmed => "メールアドレスを確認しました。登録が完了しました。",
        InvalidLink => "このリンクは無効です。",
        ExpiredLink => "このリンクは有効期限が切れています。もう一度登録してください。",
        PrefsTitle => "配信設定",
        Topics => "受け取るお知らせの分野",
        Quiet => "通知しない時間帯",
        QuietNone => "設けない",
        PausedLabel => "お知らせの配信を停止する（緊急情報は届きます）",
        SaveButton => "保存する",
        Saved => "保存しました。",
        DeleteAll => "登録情報をすべて削除する",
        Deleted => "登録情報をすべて削除しました。",
        ConfirmSubject => "【行橋市】お知らせ登録の確認",
        ConfirmBody => {
            "行橋市からのお知らせの登録を受け付けました。次のリンクを開くと登録が完了します（7日以内）。お心当たりのない場合は、このメールを破棄してください。"
        }
        ChooseOne => "選んでください",
        ChannelNeeded => "メールアドレスを入力するか、この端末で通知を許可してください。",
        AgeTwenties => "20代",
        AgeThirties => "30代",
        AgeForties => "40代",
        AgeFifties => "50代",
        AgeSixties => "60代",
        AgeSeventies => "70代",
        AgeEightyPlus => "80歳以上",
        DistrictInvalid => "お住まいの地区を一覧から選んでください。",
        BirthYearInvalid => "生まれた年は1900年から{latest}年の間で入力してください（例：1985）。",
        AgeBandInvalid => "年代を一覧から選んでください。",
        InterestInvalid => "関心のある分野は一覧から選んでください。",
        LanguageInvalid => "言語を一覧から選んでください。",
        EmailInvalid => {
            "メールアドレスの形が正しくありません。「name@example.jp」のように入力してください。"
        }
        PushInvalid => {
            "この端末の通知を登録できませんでした。もう一度「通知を許可する」を押すか、メールアドレスで登録してください。"
        }
        ConsentNeeded => {
            "登録には説明への同意が必要です。内容をお読みのうえ、チェックを入れてください。"
        }
        QuietInvalid => "通知しない時間帯は「22:00」のように時刻で入力してください。",
        SentTo => "確認メールを {email} に送りました。",
        SentToNext => {
            "メールにあるリンクを7日以内に開くと登録が完了し、お知らせが届くようになります。メールが届かないときは、迷惑メールのフォルダを確かめるか、アドレスを直してもう一度登録してください。"
        }
        ChangeAddress => "メールアドレスを直す",
        AskInChat => "チャットで市に質問する",
        ToCitySite => "行橋市のホームページへ",
        RegisteredNext => {
            "この端末にお知らせが届くようになりました。設定の変更や配信停止は、届いたお知らせにある「設定」のリンクからいつでもできます。"
        }
        ConfirmedNext => {
            "これから、あなたに合ったお知らせがメールで届きます。設定の変更や配信停止は、届いたメールにある「設定」のリンクからいつでもできます。"
        }
        PushDenied => {
            "通知がブロックされています。ブラウザのアドレス欄の鍵のマーク（またはブラウザの設定）から、このサイトの通知を「許可」にして、もう一度押してください。メールアドレスでも登録できます。"
        }
        PushUnsupported => {
            "このブラウザは通知に対応していません。メールアドレスで登録してください。"
        }
        PushFailed => {
            "通知の登録に失敗しました。少し待ってからもう一度押すか、メールアドレスで登録してください。"
        }
        // Chat
        CallTheCity => "お電話でのお問い合わせは行橋市役所（{number}）へ。",
        ChatTitle => "行橋市 よくある質問チャット",
        ChatIntro => "市役所へのご質問に、よくある質問からお答えします（24時間）。",
        ChatWelcome => {
            "こんにちは。行橋市のよくある質問チャットです。「住民票を取りたい」「粗大ごみの出し方」のように、知りたいことを入力してください。"
        }
        ChatLogLabel => "会話の履歴",
        ChatQuestionLabel => "ご質問",
        ChatPlaceholder => "例：住民票を取りたい",
        ChatSend => "送信",
        ChatConnecting => "接続しています…",
        ChatIdle => "しばらく操作がなかったため接続を休止しました。質問を送ると再開します。",
        ChatReconnecting => "接続が切れました。再接続しています…",
        ChatCannotConnect => {
            "ただいま接続できません（混み合っているか、開いている画面が多すぎます）。しばらくして自動で再接続します。"
        }
        CityHours => "平日 8時30分〜17時15分",
        ChatNote => {
            "個別のご相談やお急ぎの場合は、行橋市役所（代表 {number}、{hours}）へお電話ください。"
        }
        Helpful => "役に立った",
        NotHelpful => "役に立たなかった",
        FeedbackQuestion => "この回答は役に立ちましたか",
        NoneOfThese => "どれでもない",
        ChoicesLabel => "候補",
        WhichOne => "お問い合わせの内容は、次のどれに近いですか。当てはまるものを選んでください。",
        Department => "担当：{department}",
        MoreInfo => "詳しい情報（市のホームページ）",
        NoticeHeading => "お知らせ",
        SafetyLabel => "安否のお知らせ",
        AnswerInJapanese => "（この回答は日本語のみです）",
        NoAnswerFound => "申し訳ありません。お問い合わせの内容に合う回答が見つかりませんでした。",
        NextStepsHeading => "次の方法をお試しください。",
        NextRephrase => "言葉を変えて、短く質問し直す（例：「児童手当 申請」）",
        NextCall => "電話で聞く：行橋市役所 {number}（{hours}）",
        NextContactForm => "市のホームページから問い合わせる",
        ThanksHelpful => "ご回答ありがとうございます。お役に立ててよかったです。",
        ThanksNotHelpful => "ご回答ありがとうございます。今後の回答づくりに役立てます。",
        TextPlease => "ご質問は文字で送ってください。例：「住民票を取りたい」",
        QuestionEmpty => "質問を入力してください。",
        QuestionTooLong => "質問は{max}文字以内で入力してください。",
        TooManyMessages => {
            "短い時間に多くのメッセージが送られました。{seconds}秒ほど待ってから、もう一度お試しください。"
        }
        LineGreeting => {
            "友だち追加ありがとうございます。行橋市の公式アカウントです。\n住民票・戸籍、ごみの出し方、子育て、介護、税金、防災など、市役所へのご質問に24時間お答えします。「住民票を取りたい」のように、知りたいことをメッセージで送ってください。\n年代・お住まいの地区・関心のある分野（子育て、介護、ごみ、防災など）を登録していただくと、あなたに合った市からのお知らせや、災害時の緊急情報をお届けできるようになります。登録はこのあとのボタンから、または「設定」と送るといつでもできます。\n個別のご相談やお急ぎの場合は、行橋市役所（代表 {number}）へお電話ください。"
        }
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
