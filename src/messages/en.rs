//! English.
use super::Msg;

pub(super) fn text(msg: Msg) -> &'static str {
    use Msg::*;
    match msg {
        // Every page
        CityName => "Yukuhashi City",
        ServerTrouble => "Sorry, something went wrong on our side. Please try again in a moment.",
        NotFound => "We could not find that page.",
        Back => "Back",
        // Registration
        FieldRequired => "Please fill in “{field}”.",
        ChooseLanguage => "Please choose your language.\nことばを選んでください。",
        Statement => {
            "Register for notices from Yukuhashi City\n\
             Tell us your district, age group, interests and language, and we will send you the city's notices that \
             matter to you (childcare, nursing care, garbage, disaster preparedness, events …) on this account. \
             We use what you tell us only to choose who receives which notice; change or delete it any time with \
             「設定」. 「配信停止」 stops notices (emergency alerts still reach you).\n\
             Do you agree and want to register?"
        }
        Agree => "Agree",
        Decline => "Not now",
        Declined => {
            "You are not registered. You can still ask the city anything by message, and register any time with 「設定」."
        }
        ChooseDistrict => "Which district (elementary school district) do you live in?",
        NextPage => "More",
        ChooseAge => "Which age group are you in?",
        AgeUnder20 => "Under 20",
        NoAnswer => "Prefer not to say",
        ChooseInterests => {
            "Choose the topics you are interested in (as many as you like), then tap Done."
        }
        DoneButton => "Done",
        Completed => "You are registered. Thank you!",
        CurrentSettings => "Your settings",
        DistrictLabel => "District",
        AgeLabel => "Age",
        InterestsLabel => "Interests",
        LanguageLabel => "Language",
        NoticesLabel => "Notices",
        NoticesOn => "on",
        NoticesPaused => "paused (emergency alerts still come)",
        NotSet => "not set",
        ChangeDistrict => "District",
        ChangeAge => "Age group",
        ChangeInterests => "Interests",
        ChangeLanguage => "Language / 言語",
        Pause => "Pause notices",
        Resume => "Resume notices",
        MoreSettings => "More settings",
        PausedNow => {
            "Notices are paused. Emergency alerts will still reach you. Send 「配信再開」 to resume."
        }
        ResumedNow => "Notices are on again.",
        SettingsHint => "Send 「設定」 to change your settings.",
        PageTitle => "Get notices from Yukuhashi City",
        WebIntro => {
            "Tell us your district, age group, interests and language, and we will send you the city's notices that matter to you by e-mail or as notifications on this device. We use this only to choose who receives which notice; change or delete it any time. Emergency alerts reach you too."
        }
        EmailLabel => "E-mail address",
        PushLabel => "or get notifications on this device",
        PushButton => "Allow notifications",
        PushReady => "This device can receive notifications.",
        BirthYearLabel => "Year of birth (optional, instead of the age group)",
        ConsentLabel => "I agree to the above",
        SubmitButton => "Register",
        FixErrors => "Please check what you entered.",
        CheckEmail => {
            "We sent you an e-mail. Open the link in it within 7 days to complete your registration."
        }
        Registered => "You are registered.",
        Confirmed => "Your e-mail address is confirmed: you are registered.",
        InvalidLink => "This link is not valid.",
        ExpiredLink => "This link has expired. Please register again.",
        PrefsTitle => "Your settings",
        Topics => "Topics you receive notices about",
        Quiet => "Quiet hours (no notices)",
        QuietNone => "none",
        PausedLabel => "Pause notices (emergency alerts still come)",
        SaveButton => "Save",
        Saved => "Saved.",
        DeleteAll => "Delete all my data",
        Deleted => "All your data has been deleted.",
        ConfirmSubject => "[Yukuhashi City] Please confirm your registration",
        ConfirmBody => {
            "We received a registration for notices from Yukuhashi City. Open this link within 7 days to complete it. If it was not you, ignore this e-mail."
        }
        ChooseOne => "Choose",
        ChannelNeeded => "Enter an e-mail address or allow notifications on this device.",
        AgeTwenties => "20s",
        AgeThirties => "30s",
        AgeForties => "40s",
        AgeFifties => "50s",
        AgeSixties => "60s",
        AgeSeventies => "70s",
        AgeEightyPlus => "80 and over",
        DistrictInvalid => "Please choose your district from the list.",
        BirthYearInvalid => {
            "Please enter a year of birth between 1900 and {latest} (for example 1985)."
        }
        AgeBandInvalid => "Please choose your age group from the list.",
        InterestInvalid => "Please choose your interests from the list.",
        LanguageInvalid => "Please choose a language from the list.",
        EmailInvalid => {
            "That e-mail address does not look right. Please enter it like name@example.jp."
        }
        PushInvalid => {
            "We could not register notifications for this device. Tap “Allow notifications” again, or register with an e-mail address."
        }
        ConsentNeeded => {
            "To register, please read the explanation above and tick the box to agree."
        }
        QuietInvalid => "Please enter quiet hours as times, like 22:00.",
        SentTo => "We sent a confirmation e-mail to {email}.",
        SentToNext => {
            "Open the link in that e-mail within 7 days to complete your registration; notices start after that. If no e-mail arrives, check your spam folder, or correct the address and register again."
        }
        ChangeAddress => "Correct the e-mail address",
        AskInChat => "Ask the city in the chat",
        ToCitySite => "Yukuhashi City website",
        RegisteredNext => {
            "Notices will now arrive on this device. To change your settings or stop notices, use the settings link in any notice."
        }
        ConfirmedNext => {
            "From now on, the city's notices that matter to you arrive by e-mail. To change your settings or stop notices, use the settings link in any of them."
        }
        PushDenied => {
            "Notifications are blocked for this site. Allow them in your browser (the lock icon next to the address, or the browser's settings), then tap the button again. You can also register with an e-mail address."
        }
        PushUnsupported => {
            "This browser cannot receive notifications. Please register with an e-mail address."
        }
        PushFailed => {
            "Setting up notifications did not work. Wait a moment and tap again, or register with an e-mail address."
        }
        // Chat
        CallTheCity => "To ask by phone, call Yukuhashi City Hall ({number}).",
        ChatTitle => "Yukuhashi City FAQ chat",
        ChatIntro => "We answer your questions to the city from our FAQ, 24 hours a day.",
        ChatWelcome => {
            "Hello. This is Yukuhashi City's FAQ chat. Type what you want to know, for example “residence certificate” or “how to put out large garbage”."
        }
        ChatLogLabel => "Conversation",
        ChatQuestionLabel => "Your question",
        ChatPlaceholder => "e.g. residence certificate",
        ChatSend => "Send",
        ChatConnecting => "Connecting…",
        ChatIdle => "The chat paused after a while without use. Send a question to continue.",
        ChatReconnecting => "The connection dropped. Reconnecting…",
        ChatCannotConnect => {
            "We cannot connect right now (busy, or too many chat pages open). We will try again by ourselves shortly."
        }
        CityHours => "weekdays 8:30–17:15",
        ChatNote => {
            "For personal matters or anything urgent, call Yukuhashi City Hall ({number}, {hours})."
        }
        Helpful => "Helpful",
        NotHelpful => "Not helpful",
        FeedbackQuestion => "Did this answer help?",
        NoneOfThese => "None of these",
        ChoicesLabel => "Choices",
        WhichOne => "Which of these is closest to your question? Please choose one.",
        Department => "Department: {department}",
        MoreInfo => "More information (city website)",
        NoticeHeading => "Notice",
        SafetyLabel => "Tell us you are safe",
        AnswerInJapanese => "This answer is available in Japanese only.",
        NoAnswerFound => "Sorry, we could not find an answer to your question.",
        NextStepsHeading => "Here is what you can do next:",
        NextRephrase => "Ask again in a few other words (e.g. “child allowance application”)",
        NextCall => "Call Yukuhashi City Hall: {number} ({hours})",
        NextContactForm => "Contact the city from its website",
        ThanksHelpful => "Thank you for your feedback. We are glad it helped.",
        ThanksNotHelpful => "Thank you; we will use this to improve our answers.",
        TextPlease => "Please send your question as text, e.g. “residence certificate”.",
        QuestionEmpty => "Please type a question.",
        QuestionTooLong => "Please keep your question under {max} characters.",
        TooManyMessages => {
            "Too many messages in a short time. Please wait about {seconds} seconds and try again."
        }
        LineGreeting => {
            "Thank you for adding Yukuhashi City as a friend.\nAsk us anything about city services (residence certificates, garbage sorting, childcare, nursing care, taxes, disaster preparedness …) at any hour: just send your question as a message.\nWhen you register your age group, district and interests, we can send you the city's notices that matter to you and emergency alerts for your area. Register with the buttons that follow, or any time by sending 「設定」.\nFor personal matters or anything urgent, call Yukuhashi City Hall at {number}."
        }
        // Emergency
        EmergencyHeading => "Emergency information",
        // Notices and surveys
        StopNotices => "Stop receiving notices",
        // JMA (alerts made from the Japan Meteorological Agency's documents)
        JmaSpecialWarningTitle => "Emergency warning for Yukuhashi City",
        JmaSpecialWarningBody => {
            "The Japan Meteorological Agency has issued an emergency warning: a danger not seen for decades. Take action now to save your life. (JMA, {time})"
        }
        JmaWarningTitle => "Weather warning for Yukuhashi City",
        JmaWarningBody => {
            "A disaster may happen. Follow the latest information and move to safety early. (JMA, {time})"
        }
        JmaAdvisoryTitle => "Weather advisory for Yukuhashi City",
        JmaAdvisoryBody => "Be careful of possible disasters. (JMA, {time})",
        JmaLandslideTitle => "Landslide alert for Yukuhashi City",
        JmaLandslideBody => {
            "The risk of landslides is very high. If you are near a slope or mountain, evacuate to a safe place now. (JMA, {time})"
        }
        JmaRecordRainTitle => "Record-breaking heavy rain in Yukuhashi City",
        JmaRecordRainBody => {
            "Extremely heavy rain is falling. Stay away from rivers and slopes and protect your life. (JMA, {time})"
        }
        JmaFloodTitle => "River flood forecast for Yukuhashi City",
        JmaFloodBody => {
            "The {river} river may flood. If you live near it, evacuate to a safe place. (JMA, {time})"
        }
        JmaLiftedTitle => "Weather warning lifted (Yukuhashi City)",
        JmaLiftedBody => {
            "At {time} the Japan Meteorological Agency lifted the following for Yukuhashi City: {kinds}."
        }
        JmaCancelledTitle => "Weather information withdrawn (Yukuhashi City)",
        JmaCancelledBody => {
            "The Japan Meteorological Agency withdrew the information sent earlier. (JMA, {time})"
        }
    }
}
