//! What the registration says to residents, in the six languages they can choose (Japanese first; `ja-easy` is
//! やさしい日本語). Every key has all six, so nothing falls back silently.

/// The languages in the order the dialog and the page offer them, with their own names.
pub const LANGUAGE_NAMES: [(&str, &str); 6] = [
    ("ja", "日本語"),
    ("en", "English"),
    ("zh", "中文"),
    ("ko", "한국어"),
    ("vi", "Tiếng Việt"),
    ("ja-easy", "やさしい日本語"),
];

pub fn language_name(code: &str) -> &'static str {
    LANGUAGE_NAMES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
        .unwrap_or("日本語")
}

fn index(language: &str) -> usize {
    LANGUAGE_NAMES
        .iter()
        .position(|(code, _)| *code == language)
        .unwrap_or(0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    ChooseLanguage,
    Statement,
    Agree,
    Decline,
    Declined,
    ChooseDistrict,
    Next,
    ChooseAge,
    AgeUnder20,
    NoAnswer,
    ChooseInterests,
    Done,
    Completed,
    Current,
    District,
    Age,
    Interests,
    Language,
    Notices,
    NoticesOn,
    NoticesPaused,
    NotSet,
    ChangeDistrict,
    ChangeAge,
    ChangeInterests,
    ChangeLanguage,
    Pause,
    Resume,
    MoreSettings,
    PausedNow,
    ResumedNow,
    SettingsHint,
    // The web pages.
    PageTitle,
    WebIntro,
    Email,
    PushLabel,
    PushButton,
    PushReady,
    BirthYear,
    Consent,
    Submit,
    FixErrors,
    CheckEmail,
    Registered,
    Confirmed,
    InvalidLink,
    ExpiredLink,
    PrefsTitle,
    Topics,
    Quiet,
    QuietNone,
    PausedLabel,
    Save,
    Saved,
    DeleteAll,
    Deleted,
    ConfirmSubject,
    ConfirmBody,
    ChooseOne,
    ChannelNeeded,
}

/// The text for `key` in `language` (Japanese for an unknown code).
pub fn t(language: &str, key: Key) -> &'static str {
    table(key)[index(language)]
}

/// "20代" and the like.
pub fn age_label(language: &str, low: u32, plus: bool) -> String {
    match (index(language), plus) {
        (1, false) => format!("{low}s"),
        (1, true) => format!("{low} and over"),
        (2, false) => format!("{low}多岁"),
        (2, true) => format!("{low}岁以上"),
        (3, false) => format!("{low}대"),
        (3, true) => format!("{low}세 이상"),
        (4, false) => format!("{low}–{} tuổi", low + 9),
        (4, true) => format!("Từ {low} tuổi"),
        (_, false) => format!("{low}代"),
        (_, true) => format!("{low}歳以上"),
    }
}

fn table(key: Key) -> [&'static str; 6] {
    use Key::*;
    match key {
        ChooseLanguage => [
            "ことばを選んでください。\nPlease choose your language. 请选择语言。언어를 선택하세요. Vui lòng chọn ngôn ngữ.",
            "Please choose your language.\nことばを選んでください。",
            "请选择语言。\nことばを選んでください。",
            "언어를 선택하세요.\nことばを選んでください。",
            "Vui lòng chọn ngôn ngữ.\nことばを選んでください。",
            "ことばを えらんで ください。",
        ],
        Statement => [
            "行橋市からのお知らせ登録\n\
             お住まいの地区・年代・関心のある分野・言語を登録すると、あなたに合った市からのお知らせ（子育て、介護、ごみ、防災、イベントなど）をこのアカウントでお届けします。\
             登録内容はお知らせの配信先を選ぶためだけに使い、いつでも「設定」で変更・削除できます。「配信停止」でお知らせを止められます（災害時の緊急情報は届きます）。\n\
             この内容に同意して登録しますか？",
            "Register for notices from Yukuhashi City\n\
             Tell us your district, age group, interests and language, and we will send you the city's notices that \
             matter to you (childcare, nursing care, garbage, disaster preparedness, events …) on this account. \
             We use what you tell us only to choose who receives which notice; change or delete it any time with \
             「設定」. 「配信停止」 stops notices (emergency alerts still reach you).\n\
             Do you agree and want to register?",
            "行桥市通知登记\n登记您居住的地区、年龄段、关心的领域和语言后，我们将通过此账号向您发送与您相关的市政通知（育儿、护理、垃圾、防灾、活动等）。\
             登记内容仅用于选择通知的发送对象，可随时通过「設定」修改或删除。发送「配信停止」可停止通知（灾害紧急信息仍会送达）。\n您同意并登记吗？",
            "유쿠하시시 알림 등록\n거주 지역, 연령대, 관심 분야, 언어를 등록하시면 이 계정으로 맞춤형 시 알림(육아, 돌봄, 쓰레기, 방재, 행사 등)을 보내 드립니다. \
             등록 내용은 알림 대상을 정하는 데만 사용되며 「設定」에서 언제든지 변경·삭제할 수 있습니다. 「配信停止」로 알림을 멈출 수 있습니다(재난 긴급 정보는 전달됩니다).\n동의하고 등록하시겠습니까?",
            "Đăng ký nhận thông báo của thành phố Yukuhashi\nKhi đăng ký khu vực, độ tuổi, lĩnh vực quan tâm và ngôn ngữ, chúng tôi sẽ gửi các thông báo phù hợp của thành phố \
             (nuôi con, chăm sóc người cao tuổi, rác, phòng chống thiên tai, sự kiện…) qua tài khoản này. Thông tin chỉ dùng để chọn người nhận thông báo; \
             bạn có thể thay đổi hoặc xóa bất cứ lúc nào bằng 「設定」. 「配信停止」 để dừng thông báo (thông tin khẩn cấp khi thiên tai vẫn được gửi).\nBạn đồng ý và đăng ký chứ?",
            "ゆくはしし からの おしらせ の とうろく\n\
             すんでいる ところ・ねんれい・しりたい こと・ことば を おしえて ください。あなたに あった おしらせ を おくります。\
             おしえて もらった ことは おしらせ を おくる ためだけに つかいます。「設定」で いつでも かえる ことが できます。\
             「配信停止」で おしらせ を とめる ことが できます（さいがい の ときの おしらせ は とどきます）。\nとうろく しますか？",
        ],
        Agree => [
            "同意して登録",
            "Agree",
            "同意并登记",
            "동의하고 등록",
            "Đồng ý",
            "とうろく する",
        ],
        Decline => [
            "登録しない",
            "Not now",
            "暂不登记",
            "등록하지 않음",
            "Để sau",
            "とうろく しない",
        ],
        Declined => [
            "登録しませんでした。市役所へのご質問はいつでもメッセージで送ってください。登録は「設定」からいつでもできます。",
            "You are not registered. You can still ask the city anything by message, and register any time with 「設定」.",
            "未登记。您仍可随时发送消息向市政府提问，也可随时通过「設定」登记。",
            "등록하지 않았습니다. 시청에 대한 질문은 언제든지 메시지로 보내 주세요. 「設定」에서 언제든지 등록할 수 있습니다.",
            "Bạn chưa đăng ký. Bạn vẫn có thể hỏi thành phố bằng tin nhắn và đăng ký bất cứ lúc nào bằng 「設定」.",
            "とうろく しませんでした。しつもん は いつでも おくって ください。「設定」で いつでも とうろく できます。",
        ],
        ChooseDistrict => [
            "お住まいの地区（小学校区）を選んでください。",
            "Which district (elementary school district) do you live in?",
            "请选择您居住的地区（小学学区）。",
            "거주하시는 지역(초등학교 학군)을 선택하세요.",
            "Vui lòng chọn khu vực bạn sống (khu trường tiểu học).",
            "すんでいる ちいき（しょうがっこう の ちいき）を えらんで ください。",
        ],
        Next => ["次へ", "More", "下一页", "다음", "Tiếp", "つぎへ"],
        ChooseAge => [
            "年代を選んでください。",
            "Which age group are you in?",
            "请选择您的年龄段。",
            "연령대를 선택하세요.",
            "Vui lòng chọn độ tuổi của bạn.",
            "ねんれい を えらんで ください。",
        ],
        AgeUnder20 => [
            "20歳未満",
            "Under 20",
            "20岁以下",
            "20세 미만",
            "Dưới 20 tuổi",
            "20さい より した",
        ],
        NoAnswer => [
            "答えない",
            "Prefer not to say",
            "不回答",
            "답하지 않음",
            "Không trả lời",
            "こたえない",
        ],
        ChooseInterests => [
            "関心のある分野を選んでください（いくつでも）。選び終わったら「完了」を押してください。",
            "Choose the topics you are interested in (as many as you like), then tap Done.",
            "请选择您关心的领域（可多选），选好后请点击「完成」。",
            "관심 있는 분야를 선택하세요(여러 개 가능). 다 고르면 「완료」를 누르세요.",
            "Chọn các lĩnh vực bạn quan tâm (chọn bao nhiêu cũng được), sau đó nhấn Xong.",
            "しりたい ことを えらんで ください（いくつでも）。おわったら「おわり」を おして ください。",
        ],
        Done => ["完了", "Done", "完成", "완료", "Xong", "おわり"],
        Completed => [
            "登録が完了しました。ありがとうございます。",
            "You are registered. Thank you!",
            "登记完成，谢谢！",
            "등록이 완료되었습니다. 감사합니다.",
            "Bạn đã đăng ký xong. Cảm ơn bạn!",
            "とうろく が おわりました。ありがとう ございます。",
        ],
        Current => [
            "現在の設定",
            "Your settings",
            "当前设置",
            "현재 설정",
            "Cài đặt hiện tại",
            "いまの せってい",
        ],
        District => ["地区", "District", "地区", "지역", "Khu vực", "ちいき"],
        Age => ["年代", "Age", "年龄段", "연령대", "Độ tuổi", "ねんれい"],
        Interests => [
            "関心",
            "Interests",
            "关心领域",
            "관심 분야",
            "Quan tâm",
            "しりたい こと",
        ],
        Language => ["言語", "Language", "语言", "언어", "Ngôn ngữ", "ことば"],
        Notices => [
            "お知らせ",
            "Notices",
            "通知",
            "알림",
            "Thông báo",
            "おしらせ",
        ],
        NoticesOn => ["受け取る", "on", "接收", "받음", "Nhận", "うけとる"],
        NoticesPaused => [
            "停止中（緊急情報は届きます）",
            "paused (emergency alerts still come)",
            "已停止（紧急信息仍会送达）",
            "중지됨(긴급 정보는 전달됨)",
            "đã dừng (vẫn nhận tin khẩn cấp)",
            "とめています（きんきゅう の おしらせ は とどきます）",
        ],
        NotSet => [
            "未設定",
            "not set",
            "未设置",
            "미설정",
            "chưa đặt",
            "まだ ありません",
        ],
        ChangeDistrict => [
            "地区を変更",
            "District",
            "更改地区",
            "지역 변경",
            "Đổi khu vực",
            "ちいき を かえる",
        ],
        ChangeAge => [
            "年代を変更",
            "Age group",
            "更改年龄段",
            "연령대 변경",
            "Đổi độ tuổi",
            "ねんれい を かえる",
        ],
        ChangeInterests => [
            "関心を変更",
            "Interests",
            "更改关心领域",
            "관심 분야 변경",
            "Đổi quan tâm",
            "しりたい こと",
        ],
        ChangeLanguage => [
            "言語 / Language",
            "Language / 言語",
            "语言 / 言語",
            "언어 / 言語",
            "Ngôn ngữ / 言語",
            "ことば / Language",
        ],
        Pause => [
            "配信停止",
            "Pause notices",
            "停止通知",
            "알림 중지",
            "Dừng thông báo",
            "おしらせ を とめる",
        ],
        Resume => [
            "配信再開",
            "Resume notices",
            "恢复通知",
            "알림 재개",
            "Nhận lại thông báo",
            "おしらせ を うける",
        ],
        MoreSettings => [
            "詳しい設定",
            "More settings",
            "详细设置",
            "상세 설정",
            "Cài đặt khác",
            "くわしい せってい",
        ],
        PausedNow => [
            "お知らせの配信を停止しました。災害時の緊急情報は引き続きお届けします。「配信再開」でいつでも再開できます。",
            "Notices are paused. Emergency alerts will still reach you. Send 「配信再開」 to resume.",
            "已停止发送通知。灾害紧急信息仍会送达。发送「配信再開」即可恢复。",
            "알림을 중지했습니다. 재난 긴급 정보는 계속 전달됩니다. 「配信再開」로 다시 받을 수 있습니다.",
            "Đã dừng thông báo. Thông tin khẩn cấp khi thiên tai vẫn được gửi. Gửi 「配信再開」 để nhận lại.",
            "おしらせ を とめました。さいがい の ときの おしらせ は とどきます。「配信再開」で また うけとれます。",
        ],
        ResumedNow => [
            "お知らせの配信を再開しました。",
            "Notices are on again.",
            "已恢复发送通知。",
            "알림을 다시 받습니다.",
            "Bạn sẽ nhận lại thông báo.",
            "おしらせ を また おくります。",
        ],
        SettingsHint => [
            "設定の変更は「設定」と送ってください。",
            "Send 「設定」 to change your settings.",
            "如需更改设置，请发送「設定」。",
            "설정을 바꾸려면 「設定」을 보내 주세요.",
            "Gửi 「設定」 để thay đổi cài đặt.",
            "せってい を かえる ときは「設定」と おくって ください。",
        ],
        PageTitle => [
            "行橋市からのお知らせを受け取る",
            "Get notices from Yukuhashi City",
            "接收行桥市的通知",
            "유쿠하시시 알림 받기",
            "Nhận thông báo từ thành phố Yukuhashi",
            "ゆくはしし の おしらせ を うけとる",
        ],
        WebIntro => [
            "お住まいの地区・年代・関心のある分野・言語を登録すると、あなたに合った市からのお知らせをメールまたはこの端末への通知でお届けします。登録内容はお知らせの配信先を選ぶためだけに使い、いつでも変更・削除できます。災害時の緊急情報もお届けします。",
            "Tell us your district, age group, interests and language, and we will send you the city's notices that matter to you by e-mail or as notifications on this device. We use this only to choose who receives which notice; change or delete it any time. Emergency alerts reach you too.",
            "登记居住地区、年龄段、关心领域和语言后，我们将通过电子邮件或本设备的通知向您发送相关的市政通知。登记内容仅用于选择通知对象，可随时修改或删除。灾害紧急信息也会送达。",
            "거주 지역, 연령대, 관심 분야, 언어를 등록하시면 이메일 또는 이 기기의 알림으로 맞춤형 시 알림을 보내 드립니다. 등록 내용은 알림 대상을 정하는 데만 사용되며 언제든지 변경·삭제할 수 있습니다. 재난 긴급 정보도 전달됩니다.",
            "Đăng ký khu vực, độ tuổi, lĩnh vực quan tâm và ngôn ngữ để nhận các thông báo phù hợp của thành phố qua e-mail hoặc thông báo trên thiết bị này. Thông tin chỉ dùng để chọn người nhận; bạn có thể thay đổi hoặc xóa bất cứ lúc nào. Thông tin khẩn cấp cũng sẽ được gửi.",
            "すんでいる ところ・ねんれい・しりたい こと・ことば を おしえて ください。あなたに あった おしらせ を メール か この きかい に おくります。いつでも かえたり けしたり できます。",
        ],
        Email => [
            "メールアドレス",
            "E-mail address",
            "电子邮件地址",
            "이메일 주소",
            "Địa chỉ e-mail",
            "メールアドレス",
        ],
        PushLabel => [
            "またはこの端末で通知を受け取る",
            "or get notifications on this device",
            "或在本设备上接收通知",
            "또는 이 기기에서 알림 받기",
            "hoặc nhận thông báo trên thiết bị này",
            "または この きかい で うけとる",
        ],
        PushButton => [
            "通知を許可する",
            "Allow notifications",
            "允许通知",
            "알림 허용",
            "Cho phép thông báo",
            "つうち を ゆるす",
        ],
        PushReady => [
            "この端末で通知を受け取れます。",
            "This device can receive notifications.",
            "本设备可以接收通知。",
            "이 기기에서 알림을 받을 수 있습니다.",
            "Thiết bị này có thể nhận thông báo.",
            "この きかい で うけとれます。",
        ],
        BirthYear => [
            "生まれた年（西暦・任意：年代の代わりに）",
            "Year of birth (optional, instead of the age group)",
            "出生年份（可选，代替年龄段）",
            "출생 연도(선택, 연령대 대신)",
            "Năm sinh (không bắt buộc, thay cho độ tuổi)",
            "うまれた とし（せいれき・かかなくても よい）",
        ],
        Consent => [
            "上記の説明に同意します",
            "I agree to the above",
            "我同意以上说明",
            "위 설명에 동의합니다",
            "Tôi đồng ý với nội dung trên",
            "うえ の せつめい で よい です",
        ],
        Submit => [
            "登録する",
            "Register",
            "登记",
            "등록",
            "Đăng ký",
            "とうろく する",
        ],
        FixErrors => [
            "入力内容を確認してください。",
            "Please check what you entered.",
            "请检查输入内容。",
            "입력 내용을 확인해 주세요.",
            "Vui lòng kiểm tra thông tin đã nhập.",
            "かいた ことを たしかめて ください。",
        ],
        CheckEmail => [
            "確認メールを送りました。メールにあるリンクを開くと登録が完了します（7日以内）。",
            "We sent you an e-mail. Open the link in it within 7 days to complete your registration.",
            "我们已发送确认邮件。请在7天内打开邮件中的链接完成登记。",
            "확인 메일을 보냈습니다. 7일 이내에 메일의 링크를 열면 등록이 완료됩니다.",
            "Chúng tôi đã gửi e-mail xác nhận. Mở liên kết trong e-mail trong vòng 7 ngày để hoàn tất đăng ký.",
            "メール を おくりました。メール の リンク を ひらくと とうろく が おわります（7にち いない）。",
        ],
        Registered => [
            "登録しました。",
            "You are registered.",
            "登记完成。",
            "등록되었습니다.",
            "Đã đăng ký.",
            "とうろく しました。",
        ],
        Confirmed => [
            "メールアドレスを確認しました。登録が完了しました。",
            "Your e-mail address is confirmed: you are registered.",
            "电子邮件地址已确认，登记完成。",
            "이메일 주소가 확인되어 등록이 완료되었습니다.",
            "Địa chỉ e-mail đã được xác nhận, bạn đã đăng ký xong.",
            "メールアドレス を たしかめました。とうろく が おわりました。",
        ],
        InvalidLink => [
            "このリンクは無効です。",
            "This link is not valid.",
            "此链接无效。",
            "이 링크는 유효하지 않습니다.",
            "Liên kết này không hợp lệ.",
            "この リンク は つかえません。",
        ],
        ExpiredLink => [
            "このリンクは有効期限が切れています。もう一度登録してください。",
            "This link has expired. Please register again.",
            "此链接已过期，请重新登记。",
            "이 링크는 만료되었습니다. 다시 등록해 주세요.",
            "Liên kết này đã hết hạn. Vui lòng đăng ký lại.",
            "この リンク は もう つかえません。もう いちど とうろく して ください。",
        ],
        PrefsTitle => [
            "配信設定",
            "Your settings",
            "通知设置",
            "알림 설정",
            "Cài đặt thông báo",
            "おしらせ の せってい",
        ],
        Topics => [
            "受け取るお知らせの分野",
            "Topics you receive notices about",
            "接收通知的领域",
            "받을 알림 분야",
            "Lĩnh vực nhận thông báo",
            "うけとる おしらせ",
        ],
        Quiet => [
            "通知しない時間帯",
            "Quiet hours (no notices)",
            "免打扰时段",
            "알림을 받지 않을 시간대",
            "Giờ không nhận thông báo",
            "おしらせ しない じかん",
        ],
        QuietNone => [
            "設けない",
            "none",
            "不设置",
            "설정 안 함",
            "không đặt",
            "なし",
        ],
        PausedLabel => [
            "お知らせの配信を停止する（緊急情報は届きます）",
            "Pause notices (emergency alerts still come)",
            "停止通知（紧急信息仍会送达）",
            "알림 중지(긴급 정보는 전달됨)",
            "Dừng thông báo (vẫn nhận tin khẩn cấp)",
            "おしらせ を とめる（きんきゅう の おしらせ は とどきます）",
        ],
        Save => ["保存する", "Save", "保存", "저장", "Lưu", "ほぞん する"],
        Saved => [
            "保存しました。",
            "Saved.",
            "已保存。",
            "저장되었습니다.",
            "Đã lưu.",
            "ほぞん しました。",
        ],
        DeleteAll => [
            "登録情報をすべて削除する",
            "Delete all my data",
            "删除我的全部登记信息",
            "내 등록 정보 모두 삭제",
            "Xóa toàn bộ dữ liệu của tôi",
            "とうろく を ぜんぶ けす",
        ],
        Deleted => [
            "登録情報をすべて削除しました。",
            "All your data has been deleted.",
            "您的全部登记信息已删除。",
            "등록 정보가 모두 삭제되었습니다.",
            "Toàn bộ dữ liệu của bạn đã bị xóa.",
            "とうろく を ぜんぶ けしました。",
        ],
        ConfirmSubject => [
            "【行橋市】お知らせ登録の確認",
            "[Yukuhashi City] Please confirm your registration",
            "【行桥市】请确认通知登记",
            "[유쿠하시시] 알림 등록 확인",
            "[TP Yukuhashi] Xác nhận đăng ký nhận thông báo",
            "【ゆくはしし】とうろく の かくにん",
        ],
        ConfirmBody => [
            "行橋市からのお知らせの登録を受け付けました。次のリンクを開くと登録が完了します（7日以内）。お心当たりのない場合は、このメールを破棄してください。",
            "We received a registration for notices from Yukuhashi City. Open this link within 7 days to complete it. If it was not you, ignore this e-mail.",
            "我们收到了行桥市通知的登记申请。请在7天内打开以下链接完成登记。如非本人操作，请忽略此邮件。",
            "유쿠하시시 알림 등록 신청을 받았습니다. 7일 이내에 다음 링크를 열면 등록이 완료됩니다. 본인이 아니라면 이 메일을 무시하세요.",
            "Chúng tôi đã nhận đăng ký nhận thông báo của TP Yukuhashi. Mở liên kết sau trong vòng 7 ngày để hoàn tất. Nếu không phải bạn, hãy bỏ qua e-mail này.",
            "ゆくはしし の おしらせ の とうろく を うけつけました。つぎ の リンク を ひらくと とうろく が おわります（7にち いない）。",
        ],
        ChooseOne => [
            "選んでください",
            "Choose",
            "请选择",
            "선택하세요",
            "Hãy chọn",
            "えらんで ください",
        ],
        ChannelNeeded => [
            "メールアドレスを入力するか、この端末で通知を許可してください。",
            "Enter an e-mail address or allow notifications on this device.",
            "请输入电子邮件地址或允许本设备接收通知。",
            "이메일 주소를 입력하거나 이 기기의 알림을 허용해 주세요.",
            "Nhập địa chỉ e-mail hoặc cho phép thông báo trên thiết bị này.",
            "メールアドレス を かくか、この きかい の つうち を ゆるして ください。",
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_fit_in_line_buttons() {
        use Key::*;
        for key in [
            Agree,
            Decline,
            Next,
            AgeUnder20,
            NoAnswer,
            Done,
            ChangeDistrict,
            ChangeAge,
            ChangeInterests,
            ChangeLanguage,
            Pause,
            Resume,
            MoreSettings,
        ] {
            for (code, _) in LANGUAGE_NAMES {
                assert!(t(code, key).chars().count() <= 20, "{key:?} {code}");
            }
        }
        assert_eq!(t("fr", Key::Done), "完了");
        assert_eq!(age_label("en", 60, false), "60s");
    }
}
