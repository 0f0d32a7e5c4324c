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
pub mod staff;
mod vi;
mod zh;

use std::fmt;

use serde::{Serialize, Serializer};

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

    // ── Chat (web chat page, LINE replies) ──────────────────────────────────────────────────────────────────
    /// Where to call when the chat cannot help: `{number}`.
    CallTheCity,

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
        Msg::CallTheCity,
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
