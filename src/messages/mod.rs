//! What the hub says to people: one catalogue per language (`ja.rs` first, then `en.rs`, `zh.rs`, `ko.rs`,
//! `vi.rs` and `ja_easy.rs` for やさしい日本語), used by the resident pages, the chat, LINE replies and e-mail.
//! Each catalogue is one exhaustive `match` over [`Msg`], so a message missing in any language does not compile.
//! What staff read (the console, the Japanese `message` of API errors) is in [`staff`], Japanese only: the city's
//! staff work in Japanese.
//!
//! Placeholders are written `{name}` and filled with [`fill`]. Keys are grouped by who uses them; add a key to
//! its group in the enum and in all six catalogues.

mod en;
mod ja;
mod ja_easy;
mod ko;
pub mod labels;
pub mod staff;
mod vi;
mod zh;

use std::fmt;

use serde::{Serialize, Serializer};

/// The city hall's main number, named wherever the hub sends a resident to a person.
pub const CITY_PHONE: &str = "0930-25-1111";

/// The city's own website, where resident pages lead back to.
pub const CITY_SITE_URL: &str = "https://www.city.yukuhashi.fukuoka.jp/";

/// The languages residents may choose, in the order pages offer them after Japanese. `ja-easy` is やさしい日本語
/// (easy Japanese): one code everywhere (profiles, segment rules, alerts, `?lang=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Language {
    Ja,
    /// やさしい日本語 (easy Japanese), for residents who chose `ja-easy`.
    JaEasy,
    En,
    Zh,
    Ko,
    Vi,
}

impl Language {
    pub const ALL: [Language; 6] = [
        Language::Ja,
        Language::JaEasy,
        Language::En,
        Language::Zh,
        Language::Ko,
        Language::Vi,
    ];

    /// The code residents' profiles use (see [`crate::residents::LANGUAGES`]).
    pub fn code(self) -> &'static str {
        match self {
            Language::Ja => "ja",
            Language::JaEasy => "ja-easy",
            Language::En => "en",
            Language::Zh => "zh",
            Language::Ko => "ko",
            Language::Vi => "vi",
        }
    }

    /// The language's own name, as a menu of languages shows it.
    pub fn own_name(self) -> &'static str {
        match self {
            Language::Ja => "日本語",
            Language::JaEasy => "やさしい日本語",
            Language::En => "English",
            Language::Zh => "中文",
            Language::Ko => "한국어",
            Language::Vi => "Tiếng Việt",
        }
    }

    /// From a resident's language code (`ja`, `en`, …; case and spaces ignored).
    pub fn from_code(code: &str) -> Option<Language> {
        let code = code.trim();
        Language::ALL
            .into_iter()
            .find(|language| language.code().eq_ignore_ascii_case(code))
    }

    /// A resident's or page's language, Japanese when absent or unknown.
    pub fn or_japanese(code: Option<&str>) -> Language {
        code.and_then(Language::from_code).unwrap_or(Language::Ja)
    }

    /// From a CAP `language` (RFC 3066 tag): `ja-JP` → ja, `en-US` → en, `zh-CN`/`zh-TW` → zh, `ja-x-easy` → ja-easy.
    pub fn from_language_tag(tag: &str) -> Option<Language> {
        let tag = tag.trim().to_ascii_lowercase();
        if tag == "ja-x-easy" || tag == "ja-easy" {
            return Some(Language::JaEasy);
        }
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        match primary {
            "ja" => Some(Language::Ja),
            "en" => Some(Language::En),
            "zh" => Some(Language::Zh),
            "ko" => Some(Language::Ko),
            "vi" => Some(Language::Vi),
            _ => None,
        }
    }

    /// Japanese or やさしい日本語.
    pub fn is_japanese(self) -> bool {
        matches!(self, Language::Ja | Language::JaEasy)
    }

    /// The HTML `lang` attribute: やさしい日本語 is Japanese to a browser.
    pub fn html_lang(self) -> &'static str {
        match self {
            Language::JaEasy => "ja",
            other => other.code(),
        }
    }

    /// The text of `msg` in this language.
    pub fn say(self, msg: Msg) -> &'static str {
        text(self, msg)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Language {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

/// Everything the hub says to residents. Grouped by who says it; every key is in all six catalogues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Msg {
    // ── Every page ──────────────────────────────────────────────────────────────────────────────────────────
    /// The city's name as a page header shows it.
    CityName,
    /// Something went wrong on our side; nothing the resident did.
    ServerTrouble,
    /// The page or thing asked for does not exist (any more).
    NotFound,
    /// A link back to where the resident came from.
    Back,

    // ── Registration (the /register page, the LINE dialog, preferences) ─────────────────────────────────────
    /// `{field}` was left empty.
    FieldRequired,
    ChooseLanguage,
    Statement,
    Agree,
    Decline,
    Declined,
    ChooseDistrict,
    NextPage,
    ChooseAge,
    AgeUnder20,
    NoAnswer,
    ChooseInterests,
    DoneButton,
    Completed,
    CurrentSettings,
    DistrictLabel,
    AgeLabel,
    InterestsLabel,
    LanguageLabel,
    NoticesLabel,
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
    PageTitle,
    WebIntro,
    EmailLabel,
    PushLabel,
    PushButton,
    PushReady,
    BirthYearLabel,
    ConsentLabel,
    SubmitButton,
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
    SaveButton,
    Saved,
    DeleteAll,
    Deleted,
    ConfirmSubject,
    ConfirmBody,
    ChooseOne,
    ChannelNeeded,
    /// An age group.
    AgeTwenties,
    /// An age group.
    AgeThirties,
    /// An age group.
    AgeForties,
    /// An age group.
    AgeFifties,
    /// An age group.
    AgeSixties,
    /// An age group.
    AgeSeventies,
    /// An age group.
    AgeEightyPlus,
    /// The district is missing or not one of the list.
    DistrictInvalid,
    /// The birth year is not a year from 1900 to `{latest}` (this year).
    BirthYearInvalid,
    /// The age group is not one of the list.
    AgeBandInvalid,
    /// An interest or topic is not one of the list.
    InterestInvalid,
    /// The language is not one of the list.
    LanguageInvalid,
    /// The e-mail address is not one.
    EmailInvalid,
    /// The browser's push subscription was refused.
    PushInvalid,
    /// The consent box was not ticked.
    ConsentNeeded,
    /// Quiet hours are not times.
    QuietInvalid,
    /// The confirmation page: where the mail went (`{email}`).
    SentTo,
    /// The confirmation page: what happens next.
    SentToNext,
    /// A link back to the form to correct the address.
    ChangeAddress,
    /// A link to the web chat.
    AskInChat,
    /// A link to the city's website.
    ToCitySite,
    /// After a push sign-up: what happens next.
    RegisteredNext,
    /// After the e-mail link: what happens next.
    ConfirmedNext,
    /// The browser refused notifications: how to allow them.
    PushDenied,
    /// The browser cannot do Web Push.
    PushUnsupported,
    /// Subscribing failed for another reason.
    PushFailed,

    // ── Chat (web chat page, LINE replies) ──────────────────────────────────────────────────────────────────
    /// Where to call when the chat cannot help: `{number}`.
    CallTheCity,
    /// The chat page's title and header.
    ChatTitle,
    /// Under the header.
    ChatIntro,
    /// The first message in the chat.
    ChatWelcome,
    /// The conversation's accessible name.
    ChatLogLabel,
    /// The input's label.
    ChatQuestionLabel,
    /// The input's example.
    ChatPlaceholder,
    /// The send button.
    ChatSend,
    /// While the socket opens.
    ChatConnecting,
    /// The socket was closed for idleness.
    ChatIdle,
    /// The socket dropped.
    ChatReconnecting,
    /// The socket cannot open.
    ChatCannotConnect,
    /// When the city hall answers the phone.
    CityHours,
    /// The line under the chat: where to call (`{number}`, `{hours}`).
    ChatNote,
    /// Feedback button.
    Helpful,
    /// Feedback button.
    NotHelpful,
    /// The feedback buttons' accessible name.
    FeedbackQuestion,
    /// Under a list of choices.
    NoneOfThese,
    /// The choices' accessible name.
    ChoicesLabel,
    /// Above a list of choices.
    WhichOne,
    /// Who answers for an entry: `{department}`.
    Department,
    /// The link to the entry's own page.
    MoreInfo,
    /// The heading of a notice banner.
    NoticeHeading,
    /// The safety buttons' accessible name.
    SafetyLabel,
    /// Before an answer the FAQ has only in Japanese.
    AnswerInJapanese,
    /// The fallback's first sentence.
    NoAnswerFound,
    /// Before the next steps after a miss or an unhelpful answer.
    NextStepsHeading,
    /// Next step: ask again in other words.
    NextRephrase,
    /// Next step: call the city (`{number}`, `{hours}`).
    NextCall,
    /// Next step: the city's contact page.
    NextContactForm,
    /// After 「役に立った」.
    ThanksHelpful,
    /// After 「役に立たなかった」 or 「どれでもない」, before the next steps.
    ThanksNotHelpful,
    /// A LINE message that is not text.
    TextPlease,
    /// An empty question.
    QuestionEmpty,
    /// A question over `{max}` characters.
    QuestionTooLong,
    /// Throttled: wait `{seconds}` seconds.
    TooManyMessages,
    /// The greeting for a new LINE friend (`{number}`: the city's number).
    LineGreeting,

    // ── Emergency (banners, alerts as residents read them) ──────────────────────────────────────────────────
    /// The heading of an emergency banner.
    EmergencyHeading,

    // ── Notices and surveys (as residents receive them) ─────────────────────────────────────────────────────
    /// The link under a notice that stops notices.
    StopNotices,

    // ── JMA (emergencies made from the Japan Meteorological Agency's disaster XML) ───────────────────────────
    /// A 特別警報 for the city (title).
    JmaSpecialWarningTitle,
    /// What to do under a 特別警報; `{time}` of the report.
    JmaSpecialWarningBody,
    /// A 警報 for the city (title).
    JmaWarningTitle,
    /// What to do under a 警報; `{time}`.
    JmaWarningBody,
    /// A 注意報 for the city (title).
    JmaAdvisoryTitle,
    /// What to do under a 注意報; `{time}`.
    JmaAdvisoryBody,
    /// 土砂災害警戒情報 (title).
    JmaLandslideTitle,
    /// What to do under 土砂災害警戒情報; `{time}`.
    JmaLandslideBody,
    /// 記録的短時間大雨情報 (title).
    JmaRecordRainTitle,
    /// What to do in record rain; `{time}`.
    JmaRecordRainBody,
    /// 指定河川洪水予報 (title).
    JmaFloodTitle,
    /// What to do when `{river}` may flood; `{time}`.
    JmaFloodBody,
    /// Warnings lifted (title of the update).
    JmaLiftedTitle,
    /// JMA lifted `{kinds}` (JMA's names) at `{time}`.
    JmaLiftedBody,
    /// JMA withdrew (取消) what was sent (title).
    JmaCancelledTitle,
    /// … and the body; `{time}`.
    JmaCancelledBody,
}

/// The text of `msg` in `language`.
pub fn text(language: Language, msg: Msg) -> &'static str {
    match language {
        Language::Ja => ja::text(msg),
        Language::JaEasy => ja_easy::text(msg),
        Language::En => en::text(msg),
        Language::Zh => zh::text(msg),
        Language::Ko => ko::text(msg),
        Language::Vi => vi::text(msg),
    }
}

/// `template` with each `{name}` replaced by its value. Names not given stay as written, so a missing value
/// shows up in tests instead of vanishing.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every resident-facing message, for the checks below. Keep in step with [`Msg`].
    const EVERY_MSG: &[Msg] = &[
        Msg::CityName,
        Msg::ServerTrouble,
        Msg::NotFound,
        Msg::Back,
        Msg::FieldRequired,
        Msg::ChooseLanguage,
        Msg::Statement,
        Msg::Agree,
        Msg::Decline,
        Msg::Declined,
        Msg::ChooseDistrict,
        Msg::NextPage,
        Msg::ChooseAge,
        Msg::AgeUnder20,
        Msg::NoAnswer,
        Msg::ChooseInterests,
        Msg::DoneButton,
        Msg::Completed,
        Msg::CurrentSettings,
        Msg::DistrictLabel,
        Msg::AgeLabel,
        Msg::InterestsLabel,
        Msg::LanguageLabel,
        Msg::NoticesLabel,
        Msg::NoticesOn,
        Msg::NoticesPaused,
        Msg::NotSet,
        Msg::ChangeDistrict,
        Msg::ChangeAge,
        Msg::ChangeInterests,
        Msg::ChangeLanguage,
        Msg::Pause,
        Msg::Resume,
        Msg::MoreSettings,
        Msg::PausedNow,
        Msg::ResumedNow,
        Msg::SettingsHint,
        Msg::PageTitle,
        Msg::WebIntro,
        Msg::EmailLabel,
        Msg::PushLabel,
        Msg::PushButton,
        Msg::PushReady,
        Msg::BirthYearLabel,
        Msg::ConsentLabel,
        Msg::SubmitButton,
        Msg::FixErrors,
        Msg::CheckEmail,
        Msg::Registered,
        Msg::Confirmed,
        Msg::InvalidLink,
        Msg::ExpiredLink,
        Msg::PrefsTitle,
        Msg::Topics,
        Msg::Quiet,
        Msg::QuietNone,
        Msg::PausedLabel,
        Msg::SaveButton,
        Msg::Saved,
        Msg::DeleteAll,
        Msg::Deleted,
        Msg::ConfirmSubject,
        Msg::ConfirmBody,
        Msg::ChooseOne,
        Msg::ChannelNeeded,
        Msg::AgeTwenties,
        Msg::AgeThirties,
        Msg::AgeForties,
        Msg::AgeFifties,
        Msg::AgeSixties,
        Msg::AgeSeventies,
        Msg::AgeEightyPlus,
        Msg::DistrictInvalid,
        Msg::BirthYearInvalid,
        Msg::AgeBandInvalid,
        Msg::InterestInvalid,
        Msg::LanguageInvalid,
        Msg::EmailInvalid,
        Msg::PushInvalid,
        Msg::ConsentNeeded,
        Msg::QuietInvalid,
        Msg::SentTo,
        Msg::SentToNext,
        Msg::ChangeAddress,
        Msg::AskInChat,
        Msg::ToCitySite,
        Msg::RegisteredNext,
        Msg::ConfirmedNext,
        Msg::PushDenied,
        Msg::PushUnsupported,
        Msg::PushFailed,
        Msg::CallTheCity,
        Msg::ChatTitle,
        Msg::ChatIntro,
        Msg::ChatWelcome,
        Msg::ChatLogLabel,
        Msg::ChatQuestionLabel,
        Msg::ChatPlaceholder,
        Msg::ChatSend,
        Msg::ChatConnecting,
        Msg::ChatIdle,
        Msg::ChatReconnecting,
        Msg::ChatCannotConnect,
        Msg::CityHours,
        Msg::ChatNote,
        Msg::Helpful,
        Msg::NotHelpful,
        Msg::FeedbackQuestion,
        Msg::NoneOfThese,
        Msg::ChoicesLabel,
        Msg::WhichOne,
        Msg::Department,
        Msg::MoreInfo,
        Msg::NoticeHeading,
        Msg::SafetyLabel,
        Msg::AnswerInJapanese,
        Msg::NoAnswerFound,
        Msg::NextStepsHeading,
        Msg::NextRephrase,
        Msg::NextCall,
        Msg::NextContactForm,
        Msg::ThanksHelpful,
        Msg::ThanksNotHelpful,
        Msg::TextPlease,
        Msg::QuestionEmpty,
        Msg::QuestionTooLong,
        Msg::TooManyMessages,
        Msg::LineGreeting,
        Msg::EmergencyHeading,
        Msg::StopNotices,
        Msg::JmaSpecialWarningTitle,
        Msg::JmaSpecialWarningBody,
        Msg::JmaWarningTitle,
        Msg::JmaWarningBody,
        Msg::JmaAdvisoryTitle,
        Msg::JmaAdvisoryBody,
        Msg::JmaLandslideTitle,
        Msg::JmaLandslideBody,
        Msg::JmaRecordRainTitle,
        Msg::JmaRecordRainBody,
        Msg::JmaFloodTitle,
        Msg::JmaFloodBody,
        Msg::JmaLiftedTitle,
        Msg::JmaLiftedBody,
        Msg::JmaCancelledTitle,
        Msg::JmaCancelledBody,
    ];

    #[test]
    fn every_message_is_written_in_every_language_with_the_same_placeholders() {
        for &msg in EVERY_MSG {
            let japanese = placeholders(text(Language::Ja, msg));
            for language in Language::ALL {
                let said = text(language, msg);
                assert!(!said.trim().is_empty(), "{msg:?} is empty in {language}");
                assert_eq!(
                    placeholders(said),
                    japanese,
                    "{msg:?} in {language} has other placeholders than in Japanese"
                );
            }
        }
    }

    #[test]
    fn japanese_messages_are_not_english() {
        for &msg in EVERY_MSG {
            for language in [Language::Ja, Language::JaEasy] {
                let said = text(language, msg);
                assert!(
                    !said.is_ascii(),
                    "{msg:?} in {language} is all ASCII: {said}"
                );
            }
        }
    }

    #[test]
    fn codes_round_trip_and_tags_map() {
        for language in Language::ALL {
            assert_eq!(Language::from_code(language.code()), Some(language));
        }
        assert_eq!(
            Language::from_language_tag("ja-x-easy"),
            Some(Language::JaEasy)
        );
        assert_eq!(Language::from_language_tag("zh-TW"), Some(Language::Zh));
        assert_eq!(Language::or_japanese(Some("fr")), Language::Ja);
        assert_eq!(
            fill("{a} と {b}", &[("a", "1"), ("b", "2")]),
            "1 と 2".to_owned()
        );
    }

    fn placeholders(text: &str) -> Vec<String> {
        let mut names: Vec<String> = text
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
            .collect();
        names.sort();
        names
    }
}
