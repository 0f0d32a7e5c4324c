//! What residents read when the hub acts on a JMA document. Pure.
//!
//! Japanese comes from the document: the kinds and the municipality in the title (大雨特別警報・洪水警報（行橋市）),
//! the headline, each area's kinds with their status, and the catalogue's advice for the most serious kind with
//! the time of the report. やさしい日本語 and the other languages are the catalogue's templates per kind
//! ([`Msg`]`::Jma…`), with the time.

use chrono::{DateTime, FixedOffset};
use chrono_tz::Asia::Tokyo;

use super::document::{Document, Kind, Place};
use crate::config::JmaCategory;
use crate::emergency::{AlertText, Language, LocalizedText, Severity};
use crate::messages::{Msg, fill, text};

/// The most serious first: the category whose advice the message carries.
pub fn rank(category: JmaCategory) -> u8 {
    match category {
        JmaCategory::SpecialWarning => 0,
        JmaCategory::FloodOccurred => 1,
        JmaCategory::Landslide => 2,
        JmaCategory::FloodDanger => 3,
        JmaCategory::RecordRain => 4,
        JmaCategory::Warning => 5,
        JmaCategory::FloodWarning => 6,
        JmaCategory::Advisory => 7,
        JmaCategory::FloodAdvisory => 8,
    }
}

pub fn severity(category: JmaCategory) -> Severity {
    match category {
        JmaCategory::SpecialWarning | JmaCategory::FloodOccurred => Severity::Extreme,
        JmaCategory::Landslide | JmaCategory::FloodDanger | JmaCategory::RecordRain => {
            Severity::Severe
        }
        JmaCategory::Warning | JmaCategory::FloodWarning => Severity::Moderate,
        JmaCategory::Advisory | JmaCategory::FloodAdvisory => Severity::Minor,
    }
}

fn templates(category: JmaCategory) -> (Msg, Msg) {
    match category {
        JmaCategory::SpecialWarning => (Msg::JmaSpecialWarningTitle, Msg::JmaSpecialWarningBody),
        JmaCategory::Warning => (Msg::JmaWarningTitle, Msg::JmaWarningBody),
        JmaCategory::Advisory => (Msg::JmaAdvisoryTitle, Msg::JmaAdvisoryBody),
        JmaCategory::Landslide => (Msg::JmaLandslideTitle, Msg::JmaLandslideBody),
        JmaCategory::RecordRain => (Msg::JmaRecordRainTitle, Msg::JmaRecordRainBody),
        JmaCategory::FloodOccurred
        | JmaCategory::FloodDanger
        | JmaCategory::FloodWarning
        | JmaCategory::FloodAdvisory => (Msg::JmaFloodTitle, Msg::JmaFloodBody),
    }
}

/// The report's time as a reader in `language` reads it (Japan time).
pub fn report_time(time: &DateTime<FixedOffset>, language: Language) -> String {
    let local = time.with_timezone(&Tokyo);
    if language.is_japanese() {
        local.format("%-m月%-d日 %-H時%M分").to_string()
    } else {
        local.format("%Y-%m-%d %H:%M JST").to_string()
    }
}

fn unique<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for item in items {
        if !item.is_empty() && !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// The alert for `kinds` (the city's areas and kinds in effect that this message is about).
pub fn alert_text(document: &Document, kinds: &[(Place, Kind)]) -> (LocalizedText, JmaCategory) {
    let primary = kinds
        .iter()
        .filter_map(|(_, kind)| kind.category())
        .min_by_key(|category| rank(*category))
        .unwrap_or(JmaCategory::Warning);
    let places = unique(kinds.iter().map(|(place, _)| place.name.as_str()));
    let rivers = unique(
        kinds
            .iter()
            .filter(|(place, _)| place.river)
            .map(|(place, _)| place.name.as_str()),
    )
    .join("・");
    let kind_names = unique(kinds.iter().map(|(_, kind)| kind.name.as_str()));
    let title = format!("{}（{}）", kind_names.join("・"), places.join("・"));
    let (title_msg, body_msg) = templates(primary);
    let advice = |language: Language| {
        fill(
            text(language, body_msg),
            &[
                ("time", &report_time(&document.report_time, language)),
                ("river", &rivers),
            ],
        )
    };
    let mut body = String::new();
    if !document.headline.is_empty() {
        body.push_str(&document.headline);
        body.push_str("\n\n");
    }
    for place in &places {
        let listed: Vec<String> = kinds
            .iter()
            .filter(|(p, _)| p.name == *place)
            .map(|(_, kind)| format!("{}（{}）", kind.name, kind.status.label()))
            .collect();
        body.push_str(&format!("{place}：{}\n", listed.join("、")));
    }
    body.push_str(&advice(Language::Ja));
    let mut localized = LocalizedText::new(AlertText {
        title: clip(&title, crate::emergency::MAX_TITLE_CHARS),
        body: clip(&body, crate::emergency::MAX_BODY_CHARS),
    });
    for language in Language::ALL.into_iter().filter(|l| *l != Language::Ja) {
        localized = localized.with(
            language,
            AlertText {
                title: text(language, title_msg).to_owned(),
                body: advice(language),
            },
        );
    }
    (localized, primary)
}

/// The update saying `kinds` (JMA's names) are lifted.
pub fn lifted_text(document: &Document, kinds: &[String]) -> LocalizedText {
    let names = kinds.join("・");
    let body = |language: Language| {
        fill(
            text(language, Msg::JmaLiftedBody),
            &[
                ("time", &report_time(&document.report_time, language)),
                ("kinds", &names),
            ],
        )
    };
    let mut japanese = body(Language::Ja);
    if !document.headline.is_empty() {
        japanese = format!("{japanese}\n\n{}", document.headline);
    }
    let mut localized = LocalizedText::new(AlertText {
        title: clip(
            &format!("{names}の解除（行橋市）"),
            crate::emergency::MAX_TITLE_CHARS,
        ),
        body: clip(&japanese, crate::emergency::MAX_BODY_CHARS),
    });
    for language in Language::ALL.into_iter().filter(|l| *l != Language::Ja) {
        localized = localized.with(
            language,
            AlertText {
                title: text(language, Msg::JmaLiftedTitle).to_owned(),
                body: body(language),
            },
        );
    }
    localized
}

/// The cancellation of what an earlier document made (InfoType 取消).
pub fn cancelled_text(document: &Document) -> LocalizedText {
    let body = |language: Language| {
        fill(
            text(language, Msg::JmaCancelledBody),
            &[("time", &report_time(&document.report_time, language))],
        )
    };
    let mut japanese = body(Language::Ja);
    if !document.headline.is_empty() {
        japanese = format!("{}\n\n{japanese}", document.headline);
    }
    let mut localized = LocalizedText::new(AlertText {
        title: text(Language::Ja, Msg::JmaCancelledTitle).to_owned(),
        body: clip(&japanese, crate::emergency::MAX_BODY_CHARS),
    });
    for language in Language::ALL.into_iter().filter(|l| *l != Language::Ja) {
        localized = localized.with(
            language,
            AlertText {
                title: text(language, Msg::JmaCancelledTitle).to_owned(),
                body: body(language),
            },
        );
    }
    localized
}

fn clip(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(limit - 1).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jma::document::{ControlStatus, DocumentType, InfoType, KindStatus};

    fn document() -> Document {
        Document {
            doc_type: DocumentType::Warnings,
            status: ControlStatus::Normal,
            office: "福岡管区気象台".into(),
            title: "福岡県気象警報・注意報".into(),
            report_time: DateTime::parse_from_rfc3339("2026-12-06T03:10:00+09:00").unwrap(),
            info_type: InfoType::Issued,
            event_id: String::new(),
            headline: "京築では、土砂災害に厳重に警戒してください。".into(),
            items: Vec::new(),
        }
    }

    #[test]
    fn japanese_comes_from_the_document_other_languages_from_templates() {
        let place = Place {
            name: "行橋市".into(),
            code: "4021300".into(),
            river: false,
        };
        let kinds = vec![
            (
                place.clone(),
                Kind {
                    name: "大雨特別警報".into(),
                    status: KindStatus::Issued,
                },
            ),
            (
                place,
                Kind {
                    name: "洪水警報".into(),
                    status: KindStatus::Continued,
                },
            ),
        ];
        let (text, primary) = alert_text(&document(), &kinds);
        assert_eq!(primary, JmaCategory::SpecialWarning);
        assert_eq!(text.japanese().title, "大雨特別警報・洪水警報（行橋市）");
        let body = &text.japanese().body;
        assert!(body.starts_with("京築では"), "{body}");
        assert!(
            body.contains("行橋市：大雨特別警報（発表）、洪水警報（継続）"),
            "{body}"
        );
        assert!(body.contains("12月6日 3時10分"), "{body}");
        let easy = text.get(Language::JaEasy).unwrap();
        assert!(easy.body.contains("にげて"), "{}", easy.body);
        let english = text.get(Language::En).unwrap();
        assert!(
            english.body.contains("2026-12-06 03:10 JST"),
            "{}",
            english.body
        );
        assert_eq!(severity(primary), Severity::Extreme);

        let lifted = lifted_text(&document(), &["大雨特別警報".to_owned()]);
        assert_eq!(lifted.japanese().title, "大雨特別警報の解除（行橋市）");
        assert!(
            lifted
                .get(Language::En)
                .unwrap()
                .body
                .contains("大雨特別警報")
        );
    }
}
