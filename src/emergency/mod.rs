//! Emergency alerts: the one model both inputs of `POST /api/emergencies` become.
//!
//! Staff send JSON ([`EmergencyInput`], checked by [`EmergencyInput::validate`]); external warning systems send a
//! CAP 1.2 document ([`parse_cap`], in [`cap`]). Both give an [`EmergencyAlert`]: what kind of message it is (a new
//! alert, an update or a cancellation of earlier ones), whether it is real or a dry run, the text per language
//! (Japanese always), severity and urgency, and the area as the whole city or a list of the city's districts.
//!
//! The model and its parsers (this file and [`cap`]) are pure: no database, no HTTP, no clock.
//! [`parse_emergency_request`] picks the input by content type and turns every failure into the API's error shape
//! (400 naming the field or CAP element). The broadcast itself: [`store`] (the alert row, references), [`fanout`]
//! (crash-safe fan-out to delivery rows on the emergency lane, the worker that finishes unfinished ones, web chat
//! banners), [`content`] (the messages per channel and language), [`safety`] (安否確認 answers from LINE and the
//! web chat), [`api`] (trigger, progress, events, need-help, list) and [`bench`](mod@bench) (`hub bench emergency`).
//!
//! A CAP 1.2 alert for three districts, as the hub accepts it:
//!
//! ```xml
//! <?xml version="1.0" encoding="UTF-8"?>
//! <alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
//!   <identifier>yukuhashi-20261126-0001</identifier>
//!   <sender>bousai@city.yukuhashi.lg.jp</sender>
//!   <sent>2026-11-26T03:12:00+09:00</sent>
//!   <status>Actual</status>
//!   <msgType>Alert</msgType>
//!   <scope>Public</scope>
//!   <info>
//!     <language>ja-JP</language>
//!     <category>Met</category>
//!     <event>避難指示</event>
//!     <urgency>Immediate</urgency>
//!     <severity>Extreme</severity>
//!     <certainty>Observed</certainty>
//!     <headline>【警戒レベル4】今元・仲津・泉地区に避難指示</headline>
//!     <description>今川が氾濫危険水位に達しました。</description>
//!     <instruction>危険な場所から全員避難してください。</instruction>
//!     <area>
//!       <areaDesc>今元地区、仲津地区、泉地区</areaDesc>
//!       <geocode><valueName>district</valueName><value>今元</value></geocode>
//!       <geocode><valueName>district</valueName><value>仲津</value></geocode>
//!       <geocode><valueName>district</valueName><value>泉</value></geocode>
//!     </area>
//!   </info>
//! </alert>
//! ```
//!
//! `<geocode><valueName>JIS X 0402</valueName><value>402133</value></geocode>` (the city's code) instead of the
//! district geocodes means the whole city.
//!
//! ```
//! use hub::emergency::{Area, parse_cap};
//! # let cap = r#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>a1</identifier>
//! # <sender>bousai@city.yukuhashi.lg.jp</sender><sent>2026-11-26T03:12:00+09:00</sent><status>Actual</status>
//! # <msgType>Alert</msgType><scope>Public</scope><info><language>ja-JP</language><category>Met</category>
//! # <event>避難指示</event><urgency>Immediate</urgency><severity>Extreme</severity><certainty>Observed</certainty>
//! # <headline>避難指示</headline><description>避難してください。</description><area><areaDesc>泉</areaDesc>
//! # <geocode><valueName>district</valueName><value>泉</value></geocode></area></info></alert>"#;
//! let districts: Vec<String> = ["今元", "仲津", "泉"].map(String::from).to_vec();
//! let alert = parse_cap(cap.as_bytes(), &districts).unwrap();
//! assert!(!alert.dry_run);
//! assert_eq!(alert.text.for_language("en").title, "避難指示"); // no English text: Japanese
//! assert!(matches!(alert.area, Some(Area::Districts(ref list)) if list[0].as_str() == "泉"));
//! ```

pub mod api;
pub mod bench;
pub mod cap;
pub mod content;
pub mod fanout;
pub mod safety;
pub mod store;

use std::collections::BTreeMap;

use axum::http::StatusCode;
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{ApiError, parse_json};
use crate::residents::{District, FieldError};

pub use cap::{CAP_NAMESPACE, CapError, CapErrorKind, MAX_CAP_BYTES, TextPosition, parse_cap};

/// The longest title accepted, in characters (CAP recommends headlines under 160).
pub const MAX_TITLE_CHARS: usize = 200;
/// The longest body accepted per language, in characters (LINE text messages hold 5,000; the rest is for the
/// title and the safety-confirmation prompt).
pub const MAX_BODY_CHARS: usize = 4000;
/// The most earlier alerts one update or cancellation may name.
pub const MAX_REFERENCES: usize = 100;

/// An emergency alert, checked and ready to be stored and sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmergencyAlert {
    pub kind: AlertKind,
    /// The earlier alerts an update or cancellation is about (never empty for those).
    pub references: Vec<AlertReference>,
    pub status: AlertStatus,
    /// True exactly when `status` is `Exercise` or `Test`: send only to staff test recipients.
    pub dry_run: bool,
    pub text: LocalizedText,
    pub severity: Severity,
    pub urgency: Urgency,
    /// Who is to be reached. `None` only for an update or cancellation that names no area: it reaches the people
    /// of the alerts it references. An update that names an area reaches those people and this area.
    pub area: Option<Area>,
    /// Where a CAP alert came from; `None` for JSON from staff.
    pub cap: Option<CapOrigin>,
}

impl EmergencyAlert {
    /// The title a resident sees, marked 【訓練】 (dry run), 【更新】 (update) or 【取消】 (cancellation) as fits,
    /// in the resident's language (Japanese when the alert has none in it).
    pub fn marked_title(&self, language: &str) -> String {
        let (language, text) = self.text.for_language_with_code(language);
        let mut title = String::new();
        if self.dry_run {
            title.push_str(if language.is_japanese() {
                "【訓練】"
            } else {
                "[DRILL] "
            });
        }
        match (self.kind, language.is_japanese()) {
            (AlertKind::Alert, _) => {}
            (AlertKind::Update, true) => title.push_str("【更新】"),
            (AlertKind::Update, false) => title.push_str("[UPDATE] "),
            (AlertKind::Cancel, true) => title.push_str("【取消】"),
            (AlertKind::Cancel, false) => title.push_str("[CANCELLED] "),
        }
        title.push_str(&text.title);
        title
    }
}

/// A new alert, or a change to earlier ones (CAP `msgType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertKind {
    Alert,
    /// Replaces the referenced alerts' text (and may widen their area).
    Update,
    /// Withdraws the referenced alerts.
    Cancel,
}

/// Real or rehearsal (CAP `status`). CAP's `System` and `Draft` are refused: they are not for residents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Actual,
    /// A drill: staff test recipients only.
    Exercise,
    /// A technical test: staff test recipients only.
    Test,
}

impl AlertStatus {
    pub fn is_dry_run(self) -> bool {
        !matches!(self, AlertStatus::Actual)
    }
}

/// An earlier alert, as CAP names it (`sender,identifier,sent`) or, from JSON, by identifier alone (the hub's
/// emergency id or the CAP identifier of an alert it received).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertReference {
    pub sender: Option<String>,
    pub identifier: String,
    pub sent: Option<DateTime<FixedOffset>>,
}

/// CAP severity, least to most severe (so `max` picks the most severe).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Unknown,
    Minor,
    Moderate,
    Severe,
    Extreme,
}

impl Severity {
    /// The severity an alert's Japanese title implies when the sender gave none: 緊急安全確保, 避難指示 and 特別警報
    /// are extreme, 高齢者等避難, 土砂災害 and other 警報/警戒 severe, 断水, 停電 and 注意報 moderate. `Unknown` only
    /// for a title that names none of them.
    pub fn from_words(title: &str) -> Severity {
        const EXTREME: &[&str] = &[
            "緊急安全確保",
            "避難指示",
            "特別警報",
            "大津波",
            "警戒レベル5",
            "警戒レベル4",
        ];
        const SEVERE: &[&str] = &[
            "高齢者等避難",
            "土砂災害",
            "氾濫",
            "津波",
            "警報",
            "警戒",
            "避難",
            "地震",
        ];
        const MODERATE: &[&str] = &["断水", "停電", "注意報", "通行止", "給水", "火災"];
        let title = crate::text::normalize_label(title);
        let has = |words: &[&str]| words.iter().any(|w| title.contains(w));
        if has(EXTREME) {
            Severity::Extreme
        } else if has(SEVERE) {
            Severity::Severe
        } else if has(MODERATE) {
            Severity::Moderate
        } else {
            Severity::Unknown
        }
    }
}

/// CAP urgency, least to most urgent.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Urgency {
    Unknown,
    Past,
    Future,
    Expected,
    Immediate,
}

/// CAP certainty, least to most certain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Certainty {
    Unknown,
    Unlikely,
    Possible,
    Likely,
    Observed,
}

/// CAP `category`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Category {
    Geo,
    Met,
    Safety,
    Security,
    Rescue,
    Fire,
    Health,
    Env,
    Transport,
    Infra,
    #[serde(rename = "CBRNE")]
    Cbrne,
    Other,
}

/// CAP `scope`. Actual alerts must be `Public`: the hub broadcasts to residents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Scope {
    Public,
    Restricted,
    Private,
}

/// The languages an alert may be written in (the hub's one language type); residents who chose another get
/// Japanese.
pub use crate::messages::Language;

/// One language's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertText {
    pub title: String,
    pub body: String,
}

/// The alert's text: Japanese always, other languages when given. Serialises as `{"ja": {"title", "body"}, …}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalizedText {
    japanese: AlertText,
    translations: BTreeMap<Language, AlertText>,
}

impl LocalizedText {
    pub fn new(japanese: AlertText) -> Self {
        LocalizedText {
            japanese,
            translations: BTreeMap::new(),
        }
    }

    /// Adds or replaces a language (Japanese too).
    pub fn with(mut self, language: Language, text: AlertText) -> Self {
        if language == Language::Ja {
            self.japanese = text;
        } else {
            self.translations.insert(language, text);
        }
        self
    }

    pub fn japanese(&self) -> &AlertText {
        &self.japanese
    }

    pub fn get(&self, language: Language) -> Option<&AlertText> {
        match language {
            Language::Ja => Some(&self.japanese),
            other => self.translations.get(&other),
        }
    }

    /// The text for a resident's language code, Japanese when the alert has none in that language.
    pub fn for_language(&self, code: &str) -> &AlertText {
        self.for_language_with_code(code).1
    }

    fn for_language_with_code(&self, code: &str) -> (Language, &AlertText) {
        Language::from_code(code)
            .and_then(|language| self.get(language).map(|text| (language, text)))
            .unwrap_or((Language::Ja, &self.japanese))
    }

    /// Every language the alert has, Japanese first.
    pub fn iter(&self) -> impl Iterator<Item = (Language, &AlertText)> {
        std::iter::once((Language::Ja, &self.japanese))
            .chain(self.translations.iter().map(|(l, t)| (*l, t)))
    }

    pub fn languages(&self) -> Vec<Language> {
        self.iter().map(|(language, _)| language).collect()
    }
}

impl Serialize for LocalizedText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter().map(|(language, text)| (language.code(), text)))
    }
}

/// Who an alert is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    /// Every resident (JSON `"districts": null`, CAP city code 402133).
    WholeCity,
    /// Residents of these districts (from the city's list, each once, in the order first named).
    Districts(Vec<District>),
}

impl Area {
    /// Whether a resident living in `district` (none when unknown) is in the area.
    pub fn includes(&self, district: Option<&str>) -> bool {
        match self {
            Area::WholeCity => true,
            Area::Districts(list) => {
                district.is_some_and(|name| list.iter().any(|d| d.as_str() == name))
            }
        }
    }

    /// The district names, or `None` for the whole city.
    pub fn district_names(&self) -> Option<Vec<&str>> {
        match self {
            Area::WholeCity => None,
            Area::Districts(list) => Some(list.iter().map(District::as_str).collect()),
        }
    }
}

/// What a CAP document said about itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapOrigin {
    pub identifier: String,
    pub sender: String,
    pub sent: DateTime<FixedOffset>,
    pub scope: Scope,
    /// `senderName` of the Japanese `info` (e.g. 行橋市災害対策本部).
    pub sender_name: Option<String>,
    /// `event` of the Japanese `info` (e.g. 避難指示); none for a cancellation without `info`.
    pub event: Option<String>,
    pub categories: Vec<Category>,
    pub certainty: Certainty,
    pub expires: Option<DateTime<FixedOffset>>,
    /// `language` values of `info` blocks in languages the hub does not send (their areas still count).
    pub ignored_languages: Vec<String>,
}

/// What staff send as JSON to `POST /api/emergencies`.
///
/// `{"title": "…" | {"ja": "…", "en": "…"}, "body": {"ja": "…", "en": "…"}, "districts": ["今元"] | null,
/// "dry_run": false, "severity": "extreme", "urgency": "immediate", "kind": "alert" | "update" | "cancel",
/// "references": ["earlier id"]}`
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmergencyInput {
    /// One Japanese title for every language, or a title per language (Japanese required).
    pub title: TitleInput,
    /// The message per language: `ja` required; `ja-easy`, `en`, `zh`, `ko`, `vi` optional.
    pub body: BTreeMap<String, String>,
    /// District names, or `null` for the whole city. Left out: the whole city for an alert, the referenced alerts'
    /// people for an update or cancellation.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    pub districts: Option<Option<Vec<String>>>,
    /// Send only to staff test recipients.
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub urgency: Option<Urgency>,
    #[serde(default)]
    pub kind: Option<AlertKind>,
    /// The earlier alerts (hub emergency ids or CAP identifiers) an update or cancellation is about.
    #[serde(default)]
    pub references: Vec<String>,
    /// Shorthand for `"kind": "update", "references": [id]`: the emergency (id) this one updates.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub updates: Option<EmergencyRef>,
    /// Shorthand for `"kind": "cancel", "references": [id]`: the emergency (id) this one cancels.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub cancels: Option<EmergencyRef>,
}

/// An earlier emergency named by its id (a number) or an identifier (a string).
#[derive(Debug, Clone, Deserialize)]
#[serde(
    untagged,
    expecting = "an emergency id (a number) or identifier (a string)"
)]
pub enum EmergencyRef {
    Id(i64),
    Identifier(String),
}

impl EmergencyRef {
    fn identifier(&self) -> String {
        match self {
            EmergencyRef::Id(id) => id.to_string(),
            EmergencyRef::Identifier(text) => text.clone(),
        }
    }
}

/// A title for every language, or one per language.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(
    untagged,
    expecting = "a title (string) or titles per language ({\"ja\": \"…\", \"en\": \"…\"})"
)]
pub enum TitleInput {
    One(String),
    PerLanguage(BTreeMap<String, String>),
}

impl Default for TitleInput {
    fn default() -> Self {
        TitleInput::One(String::new())
    }
}

/// Tells a field given as `null` (`Some(None)`) from a field left out (`None`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

fn field_error(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// Trims one title or body and checks it is there and within `limit` characters.
fn checked_text(field: &str, text: &str, limit: usize) -> Result<String, FieldError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(field_error(field, "must not be empty"));
    }
    let chars = text.chars().count();
    if chars > limit {
        return Err(field_error(
            field,
            format!("is {chars} characters long; at most {limit} are accepted"),
        ));
    }
    Ok(text.to_owned())
}

fn language_of_key(field: &str, key: &str) -> Result<Language, FieldError> {
    Language::from_code(key).ok_or_else(|| {
        field_error(
            format!("{field}.{key}"),
            format!(
                "`{key}` is not a language the hub sends ({})",
                Language::ALL.map(Language::code).join(", ")
            ),
        )
    })
}

impl EmergencyInput {
    /// Checks everything against the city's district list; the error names the offending field.
    pub fn validate(&self, districts: &[String]) -> Result<EmergencyAlert, FieldError> {
        let mut identifiers = self.references.clone();
        let shorthand = match (&self.updates, &self.cancels) {
            (Some(_), Some(_)) => {
                return Err(field_error(
                    "cancels",
                    "give either `updates` or `cancels`, not both",
                ));
            }
            (Some(reference), None) => Some(("updates", AlertKind::Update, reference)),
            (None, Some(reference)) => Some(("cancels", AlertKind::Cancel, reference)),
            (None, None) => None,
        };
        let kind = match (shorthand, self.kind) {
            (Some((field, implied, _)), Some(given)) if given != implied => {
                return Err(field_error(
                    field,
                    format!("`{field}` makes this a {implied:?} but `kind` says {given:?}")
                        .to_lowercase(),
                ));
            }
            (Some((_, implied, reference)), _) => {
                identifiers.insert(0, reference.identifier());
                implied
            }
            (None, given) => given.unwrap_or(AlertKind::Alert),
        };

        let mut bodies: BTreeMap<Language, String> = BTreeMap::new();
        for (key, text) in &self.body {
            let language = language_of_key("body", key)?;
            let text = checked_text(&format!("body.{key}"), text, MAX_BODY_CHARS)?;
            if bodies.insert(language, text).is_some() {
                return Err(field_error(
                    format!("body.{key}"),
                    format!("the language {language} is given twice"),
                ));
            }
        }
        let Some(japanese_body) = bodies.remove(&Language::Ja) else {
            return Err(field_error("body.ja", "a Japanese body is required"));
        };

        let mut titles: BTreeMap<Language, String> = BTreeMap::new();
        match &self.title {
            TitleInput::One(title) => {
                titles.insert(Language::Ja, checked_text("title", title, MAX_TITLE_CHARS)?);
            }
            TitleInput::PerLanguage(map) => {
                for (key, title) in map {
                    let language = language_of_key("title", key)?;
                    if language != Language::Ja && !bodies.contains_key(&language) {
                        return Err(field_error(
                            format!("title.{key}"),
                            format!("there is no body in {language} for this title"),
                        ));
                    }
                    let title = checked_text(&format!("title.{key}"), title, MAX_TITLE_CHARS)?;
                    titles.insert(language, title);
                }
            }
        }
        let Some(japanese_title) = titles.get(&Language::Ja).cloned() else {
            return Err(field_error("title.ja", "a Japanese title is required"));
        };

        let mut text = LocalizedText::new(AlertText {
            title: japanese_title.clone(),
            body: japanese_body,
        });
        for (language, body) in bodies {
            let title = titles
                .get(&language)
                .cloned()
                .unwrap_or_else(|| japanese_title.clone());
            text = text.with(language, AlertText { title, body });
        }

        let area = match &self.districts {
            Some(Some(names)) => Some(districts_area(names, districts)?),
            Some(None) => Some(Area::WholeCity),
            None if kind == AlertKind::Alert => Some(Area::WholeCity),
            None => None,
        };

        let references = json_references(&identifiers)?;
        if kind != AlertKind::Alert && references.is_empty() {
            let what = if kind == AlertKind::Update {
                "an update"
            } else {
                "a cancellation"
            };
            return Err(field_error(
                "references",
                format!("{what} must name the earlier alert(s) it is about"),
            ));
        }

        let status = if self.dry_run {
            AlertStatus::Test
        } else {
            AlertStatus::Actual
        };
        Ok(EmergencyAlert {
            kind,
            references,
            status,
            dry_run: status.is_dry_run(),
            text,
            severity: self
                .severity
                .unwrap_or_else(|| Severity::from_words(&japanese_title)),
            urgency: self.urgency.unwrap_or(Urgency::Immediate),
            area,
            cap: None,
        })
    }
}

fn districts_area(names: &[String], known: &[String]) -> Result<Area, FieldError> {
    if names.is_empty() {
        return Err(field_error(
            "districts",
            "name at least one district, or null for the whole city",
        ));
    }
    let mut list: Vec<District> = Vec::new();
    for (index, name) in names.iter().enumerate() {
        let district = District::parse(name, known)
            .map_err(|message| field_error(format!("districts[{index}]"), message))?;
        if !list.contains(&district) {
            list.push(district);
        }
    }
    Ok(Area::Districts(list))
}

fn json_references(identifiers: &[String]) -> Result<Vec<AlertReference>, FieldError> {
    if identifiers.len() > MAX_REFERENCES {
        return Err(field_error(
            "references",
            format!("at most {MAX_REFERENCES} earlier alerts may be named"),
        ));
    }
    let mut references: Vec<AlertReference> = Vec::new();
    for (index, identifier) in identifiers.iter().enumerate() {
        let identifier = identifier.trim();
        if identifier.is_empty() || identifier.chars().count() > 256 {
            return Err(field_error(
                format!("references[{index}]"),
                "must be an alert id of 1 to 256 characters",
            ));
        }
        if identifier
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(field_error(
                format!("references[{index}]"),
                format!("`{identifier}` contains a space or control character"),
            ));
        }
        if !references.iter().any(|r| r.identifier == identifier) {
            references.push(AlertReference {
                sender: None,
                identifier: identifier.to_owned(),
                sent: None,
            });
        }
    }
    Ok(references)
}

impl From<CapError> for ApiError {
    fn from(error: CapError) -> Self {
        let status = match error.kind {
            CapErrorKind::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError {
            status,
            message: error.to_string(),
            field: Some(error.element),
            japanese: None,
        }
    }
}

/// Whether a `Content-Type` names a CAP document (`application/cap+xml`, or plain XML).
pub fn is_cap_content_type(content_type: &str) -> bool {
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    matches!(
        media_type.as_str(),
        "application/cap+xml" | "application/xml" | "text/xml"
    )
}

/// The body of `POST /api/emergencies` as an alert: CAP when the content type says XML, JSON otherwise
/// (`application/json` or none). Errors are the API's: 400 naming the field or CAP element, 413 for a CAP
/// document over [`MAX_CAP_BYTES`], 415 for another content type.
pub fn parse_emergency_request(
    content_type: Option<&str>,
    body: &[u8],
    districts: &[String],
) -> Result<EmergencyAlert, ApiError> {
    match content_type {
        Some(content_type) if is_cap_content_type(content_type) => Ok(parse_cap(body, districts)?),
        Some(content_type)
            if !content_type
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .eq_ignore_ascii_case("application/json") =>
        {
            Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "`{content_type}` is not accepted: send application/json or application/cap+xml"
                ),
            ))
        }
        _ => {
            let input: EmergencyInput = parse_json(body)?;
            Ok(input.validate(districts)?)
        }
    }
}

#[cfg(test)]
mod tests;
