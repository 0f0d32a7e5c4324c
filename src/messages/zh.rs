//! 中文 (simplified Chinese).
use super::Msg;

pub(super) fn text(msg: Msg) -> &'static str {
    use Msg::*;
    match msg {
        // Every page
        CityName => "行桥市",
        ServerTrouble => "抱歉，系统出现问题。请稍后再试。",
        NotFound => "未找到该页面。",
        Back => "返回",
        // Registration
        FieldRequired => "请填写“{field}”。",
        ChooseLanguage => "请选择语言。\nことばを選んでください。",
        Statement => {
            "行桥市通知登记\n登记您居住的地区、年龄段、关心的领域和语言后，我们将通过此账号向您发送与您相关的市政通知（育儿、护理、垃圾、防灾、活动等）。\
             登记内容仅用于选择通知的发送对象，可随时通过「設定」修改或删除。发送「配信停止」可停止通知（灾害紧急信息仍会送达）。\n您同意并登记吗？"
        }
        Agree => "同意并登记",
        Decline => "暂不登记",
        Declined => "未登记。您仍可随时发送消息向市政府提问，也可随时通过「設定」登记。",
        ChooseDistrict => "请选择您居住的地区（小学学区）。",
        NextPage => "下一页",
        ChooseAge => "请选择您的年龄段。",
        AgeUnder20 => "20岁以下",
        NoAnswer => "不回答",
        ChooseInterests => "请选择您关心的领域（可多选），选好后请点击「完成」。",
        DoneButton => "完成",
        Completed => "登记完成，谢谢！",
        CurrentSettings => "当前设置",
        DistrictLabel => "地区",
        AgeLabel => "年龄段",
        InterestsLabel => "关心领域",
        LanguageLabel => "语言",
        NoticesLabel => "通知",
        NoticesOn => "接收",
        NoticesPaused => "已停止（紧急信息仍会送达）",
        NotSet => "未设置",
        ChangeDistrict => "更改地区",
        ChangeAge => "更改年龄段",
        ChangeInterests => "更改关心领域",
        ChangeLanguage => "语言 / 言語",
        Pause => "停止通知",
        Resume => "恢复通知",
        MoreSettings => "详细设置",
        PausedNow => "已停止发送通知。灾害紧急信息仍会送达。发送「配信再開」即可恢复。",
        ResumedNow => "已恢复发送通知。",
        SettingsHint => "如需更改设置，请发送「設定」。",
        PageTitle => "接收行桥市的通知",
        WebIntro => {
            "登记居住地区、年龄段、关心领域和语言后，我们将通过电子邮件或本设备的通知向您发送相关的市政通知。登记内容仅用于选择通知对象，可随时修改或删除。灾害紧急信息也会送达。"
        }
        EmailLabel => "电子邮件地址",
        PushLabel => "或在本设备上接收通知",
        PushButton => "允许通知",
        PushReady => "本设备可以接收通知。",
        BirthYearLabel => "出生年份（可选，代替年龄段）",
        ConsentLabel => "我同意以上说明",
        SubmitButton => "登记",
        FixErrors => "请检查输入内容。",
        CheckEmail => "我们已发送确认邮件。请在7天内打开邮件中的链接完成登记。",
        Registered => "登记完成。",
        Confirmed => "电子邮件地址已确认，登记完成。",
        InvalidLink => "此链接无效。",
        ExpiredLink => "此链接已过期，请重新登记。",
        PrefsTitle => "通知设置",
        Topics => "接收通知的领域",
        Quiet => "免打扰时段",
        QuietNone => "不设置",
        PausedLabel => "停止通知（紧急信息仍会送达）",
        SaveButton => "保存",
        Saved => "已保存。",
        DeleteAll => "删除我的全部登记信息",
        Deleted => "您的全部登记信息已删除。",
        ConfirmSubject => "【行桥市】请确认通知登记",
        ConfirmBody => {
            "我们收到了行桥市通知的登记申请。请在7天内打开以下链接完成登记。如非本人操作，请忽略此邮件。"
        }
        ChooseOne => "请选择",
        ChannelNeeded => "请输入电子邮件地址或允许本设备接收通知。",
        AgeTwenties => "20多岁",
        AgeThirties => "30多岁",
        AgeForties => "40多岁",
        AgeFifties => "50多岁",
        AgeSixties => "60多岁",
        AgeSeventies => "70多岁",
        AgeEightyPlus => "80岁以上",
        DistrictInvalid => "请从列表中选择您居住的地区。",
        BirthYearInvalid => "出生年份请输入1900年至{latest}年之间的年份（例如：1985）。",
        AgeBandInvalid => "请从列表中选择年龄段。",
        InterestInvalid => "请从列表中选择关心的领域。",
        LanguageInvalid => "请从列表中选择语言。",
        EmailInvalid => "电子邮件地址格式不正确，请按 name@example.jp 的格式输入。",
        PushInvalid => "无法为本设备登记通知。请再次点击「允许通知」，或使用电子邮件地址登记。",
        ConsentNeeded => "登记需要您同意上述说明，请阅读后勾选。",
        QuietInvalid => "免打扰时段请按「22:00」的格式输入时间。",
        SentTo => "确认邮件已发送至 {email}。",
        SentToNext => {
            "请在7天内打开邮件中的链接完成登记，之后即可收到通知。如果没有收到邮件，请检查垃圾邮件文件夹，或更正地址后重新登记。"
        }
        ChangeAddress => "更正电子邮件地址",
        AskInChat => "在聊天中向市政府提问",
        ToCitySite => "前往行桥市官网",
        RegisteredNext => {
            "本设备今后将收到通知。如需更改设置或停止通知，可随时通过通知中的设置链接操作。"
        }
        ConfirmedNext => {
            "今后，与您相关的市政通知将通过电子邮件送达。如需更改设置或停止通知，可随时通过邮件中的设置链接操作。"
        }
        PushDenied => {
            "本网站的通知已被阻止。请在浏览器中（地址栏旁的锁形图标或浏览器设置）允许通知后再次点击。也可以使用电子邮件地址登记。"
        }
        PushUnsupported => "此浏览器不支持通知，请使用电子邮件地址登记。",
        PushFailed => "通知登记失败。请稍后再试，或使用电子邮件地址登记。",
        // Chat
        CallTheCity => "如需电话咨询，请致电行桥市政府（{number}）。",
        ChatTitle => "行桥市 常见问题聊天",
        ChatIntro => "我们根据常见问题回答您对市政府的提问（24小时）。",
        ChatWelcome => {
            "您好，这里是行桥市常见问题聊天。请输入您想了解的内容，例如“办理住民票”“大件垃圾的扔法”。"
        }
        ChatLogLabel => "对话记录",
        ChatQuestionLabel => "您的问题",
        ChatPlaceholder => "例：办理住民票",
        ChatSend => "发送",
        ChatConnecting => "正在连接…",
        ChatIdle => "由于一段时间没有操作，连接已暂停。发送问题即可继续。",
        ChatReconnecting => "连接已断开，正在重新连接…",
        ChatCannotConnect => "暂时无法连接（线路繁忙或打开的页面过多），稍后将自动重新连接。",
        CityHours => "工作日 8:30–17:15",
        ChatNote => "如需个别咨询或有急事，请致电行桥市政府（总机 {number}，{hours}）。",
        Helpful => "有帮助",
        NotHelpful => "没有帮助",
        FeedbackQuestion => "这个回答有帮助吗",
        NoneOfThese => "都不是",
        ChoicesLabel => "选项",
        WhichOne => "您的问题与以下哪一项最接近？请选择一项。",
        Department => "负责部门：{department}",
        MoreInfo => "详细信息（市政府网站）",
        NoticeHeading => "通知",
        SafetyLabel => "报平安",
        AnswerInJapanese => "此回答只有日语版本。",
        NoAnswerFound => "很抱歉，没有找到与您的问题相符的回答。",
        NextStepsHeading => "您可以尝试以下方法：",
        NextRephrase => "换个说法简短地再问一次（例如：“儿童补贴 申请”）",
        NextCall => "打电话询问：行桥市政府 {number}（{hours}）",
        NextContactForm => "通过市政府网站咨询",
        ThanksHelpful => "感谢您的反馈，很高兴能帮到您。",
        ThanksNotHelpful => "感谢您的反馈，我们会据此改进回答。",
        TextPlease => "请用文字发送您的问题，例如：“办理住民票”。",
        QuestionEmpty => "请输入问题。",
        QuestionTooLong => "问题请在{max}个字以内。",
        TooManyMessages => "短时间内发送的消息过多，请等待约{seconds}秒后再试。",
        LineGreeting => {
            "感谢您添加行桥市为好友。\n关于住民票、户籍、垃圾分类、育儿、护理、税金、防灾等市政问题，我们24小时为您解答，请直接发送您的问题。\n登记年龄段、居住地区和关心的领域后，我们可以向您发送相关的市政通知和灾害紧急信息。请点击后面的按钮登记，或随时发送「設定」。\n如需个别咨询或有急事，请致电行桥市政府（总机 {number}）。"
        }
        // Emergency
        EmergencyHeading => "紧急信息",
        // Notices and surveys
        StopNotices => "停止接收通知",
        // JMA (alerts made from the Japan Meteorological Agency's documents)
        JmaSpecialWarningTitle => "行桥市发布特别警报",
        JmaSpecialWarningBody => {
            "日本气象厅发布了特别警报，危险前所未有。请立即采取保护生命的行动。（气象厅 {time}）"
        }
        JmaWarningTitle => "行桥市发布气象警报",
        JmaWarningBody => "可能发生灾害。请关注最新信息，尽早确保安全。（气象厅 {time}）",
        JmaAdvisoryTitle => "行桥市发布气象注意报",
        JmaAdvisoryBody => "请注意可能发生的灾害。（气象厅 {time}）",
        JmaLandslideTitle => "行桥市发布泥石流警戒信息",
        JmaLandslideBody => {
            "发生泥石流、山体滑坡的危险非常高。住在山坡附近的人请立即到安全的地方避难。（气象厅 {time}）"
        }
        JmaRecordRainTitle => "行桥市记录性短时间暴雨",
        JmaRecordRainBody => {
            "正在下极强的暴雨。请远离河流和山坡，采取保护生命的行动。（气象厅 {time}）"
        }
        JmaFloodTitle => "行桥市河流洪水预报",
        JmaFloodBody => "{river}可能泛滥。住在河边的人请到安全的地方避难。（气象厅 {time}）",
        JmaLiftedTitle => "气象警报已解除（行桥市）",
        JmaLiftedBody => "气象厅已于 {time} 解除行桥市的以下信息：{kinds}。",
        JmaCancelledTitle => "气象厅信息已撤销（行桥市）",
        JmaCancelledBody => "气象厅已撤销先前发送的信息。（气象厅 {time}）",
    }
}
