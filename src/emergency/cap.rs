//! CAP 1.2 (OASIS Common Alerting Protocol, namespace `urn:oasis:names:tc:emergency:cap:1.2`) into an
//! [`EmergencyAlert`].
//!
//! Two passes: quick-xml's streaming reader builds a small element tree under hard limits (1 MiB, depth 16, no
//! DOCTYPE, no entities but XML's five and character references, UTF-8 only), then the tree is read as CAP:
//! every element must be a CAP 1.2 element in its place (elements of other namespaces, such as an XML signature,
//! are skipped), required elements must be there once, enumerated values must be CAP's.
//!
//! Every error names the element by its path (`/alert/info[1]/area[2]/geocode[1]/value`) and, where the input
//! gives one, the line and column.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, FixedOffset};
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use super::{
    AlertKind, AlertReference, AlertStatus, AlertText, Area, CapOrigin, Category, Certainty,
    EmergencyAlert, Language, LocalizedText, MAX_BODY_CHARS, MAX_REFERENCES, MAX_TITLE_CHARS,
    Scope, Severity, Urgency,
};
use crate::residents::District;

/// The CAP 1.2 namespace; the root `alert` must be in it.
pub const CAP_NAMESPACE: &str = "urn:oasis:names:tc:emergency:cap:1.2";
/// The largest CAP document accepted, in bytes (1 MiB).
pub const MAX_CAP_BYTES: usize = 1024 * 1024;
/// The deepest element nesting accepted (CAP itself needs 4: alert/info/area/geocode/value).
pub const MAX_DEPTH: usize = 16;
/// The most elements one document may hold.
pub const MAX_ELEMENTS: usize = 20_000;
/// The city's code in JIS X 0402 (全国地方公共団体コード) with its check digit, and without it: the whole city.
pub const CITY_CODES: [&str; 2] = ["402133", "40213"];
/// The geocode `valueName` that names one of the city's districts.
pub const DISTRICT_VALUE_NAME: &str = "district";

/// Where in the document: 1-based line and column (in characters), and the byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextPosition {
    pub line: usize,
    pub column: usize,
    pub offset: usize,
}

impl TextPosition {
    fn locate(source: &str, offset: usize) -> TextPosition {
        let mut offset = offset.min(source.len());
        while !source.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &source[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        TextPosition {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            offset,
        }
    }
}

impl fmt::Display for TextPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// A CAP document the hub cannot take, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{element}: {kind}{}", at(.position))]
pub struct CapError {
    /// The element, as a path from the root (`/alert/info[1]/severity`); `document` when it is about the whole.
    pub element: String,
    pub kind: CapErrorKind,
    pub position: Option<TextPosition>,
}

fn at(position: &Option<TextPosition>) -> String {
    position.map_or_else(String::new, |p| format!(" (at {p})"))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapErrorKind {
    #[error("the document is {bytes} bytes; at most {MAX_CAP_BYTES} bytes (1 MiB) are accepted")]
    TooLarge { bytes: usize },
    #[error(
        "the document is not UTF-8 (invalid byte at offset {offset}); CAP 1.2 documents are UTF-8"
    )]
    NotUtf8 { offset: usize },
    #[error("the document declares encoding `{0}`; only UTF-8 is accepted")]
    UnsupportedEncoding(String),
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("DOCTYPE declarations are refused (no DTDs, no external entities)")]
    Doctype,
    #[error(
        "the entity `&{0};` is not defined (only &lt; &gt; &amp; &apos; &quot; and character references)"
    )]
    UnknownEntity(String),
    #[error("elements nest deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("the document has more than {MAX_ELEMENTS} elements")]
    TooManyElements,
    #[error("the document has no root element")]
    NoRoot,
    #[error("a second root element; a CAP document has one <alert>")]
    SecondRoot,
    #[error("the root element is <{0}>, not a CAP <alert>")]
    NotAlert(String),
    #[error("the element is in namespace {}, not {CAP_NAMESPACE}", found.as_deref().map_or("(none)".to_owned(), |n| format!("`{n}`")))]
    WrongNamespace { found: Option<String> },
    #[error("not a CAP 1.2 element here")]
    UnknownElement,
    #[error("text is not allowed here, only elements")]
    UnexpectedText,
    #[error("holds elements; a value was expected")]
    NotAValue,
    #[error("required element is missing")]
    Missing,
    #[error("appears more than once")]
    Duplicate,
    #[error("is empty")]
    Empty,
    #[error("`{value}` is not one of {expected}")]
    InvalidValue {
        value: String,
        expected: &'static str,
    },
    #[error("`{0}` is not a CAP date and time (like 2026-11-26T03:12:00+09:00)")]
    InvalidDateTime(String),
    #[error("`{0}` contains a space, comma, `<` or `&`, which CAP does not allow")]
    InvalidIdentifier(String),
    #[error("`{0}` is not a CAP reference `sender,identifier,sent`")]
    InvalidReference(String),
    #[error("more than {MAX_REFERENCES} references")]
    TooManyReferences,
    #[error("{0} messages are refused: {reason}", reason = refusal_reason(.0))]
    Refused(String),
    #[error(
        "status {status} with scope {scope}: a real alert for residents must have scope Public"
    )]
    NotPublic { status: String, scope: String },
    #[error("an {0} must reference the alert(s) it is about")]
    ReferencesRequired(&'static str),
    #[error("an {0} needs at least one <info> block")]
    NoInfo(&'static str),
    #[error(
        "no <info> in Japanese (language ja-JP; found {found}; CAP's default language is en-US)"
    )]
    NoJapanese { found: String },
    #[error("a second <info> in language {0}; the hub takes one per language")]
    DuplicateLanguage(Language),
    #[error("neither <description> nor <instruction>: the message has no body")]
    NoBody,
    #[error("is {chars} characters long; at most {limit} are accepted")]
    TooLong { chars: usize, limit: usize },
    #[error(
        "no <area>: name districts with <geocode> `district` or the whole city with `JIS X 0402` 402133"
    )]
    NoArea,
    #[error(
        "the area names no district of the city: use <geocode><valueName>district</valueName><value>今元</value></geocode> or <valueName>JIS X 0402</valueName> with 402133"
    )]
    AreaWithoutDistrict,
    #[error("{0}")]
    UnknownDistrict(String),
    #[error("the JIS X 0402 code `{0}` is not this city's (402133)")]
    OtherCityCode(String),
}

fn refusal_reason(what: &str) -> &'static str {
    match what {
        "Draft" => "a draft is not to be acted on",
        "System" => "system messages are for the alerting network, not for residents",
        "Ack" | "Error" => {
            "acknowledgements and error reports are for the sender, not for residents"
        }
        _ => "not supported",
    }
}

/// Parses and checks a CAP 1.2 document against the city's districts.
pub fn parse_cap(document: &[u8], districts: &[String]) -> Result<EmergencyAlert, CapError> {
    if document.len() > MAX_CAP_BYTES {
        return Err(document_error(
            CapErrorKind::TooLarge {
                bytes: document.len(),
            },
            None,
        ));
    }
    let document = document.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(document);
    let source = std::str::from_utf8(document).map_err(|error| {
        let offset = error.valid_up_to();
        CapError {
            element: "document".into(),
            kind: CapErrorKind::NotUtf8 { offset },
            position: Some(TextPosition::locate(
                // Safe: valid up to `offset`.
                std::str::from_utf8(&document[..offset]).unwrap_or_default(),
                offset,
            )),
        }
    })?;
    let root = build_tree(source)?;
    let reader = CapReader { source, districts };
    reader.check_structure(&root)?;
    reader.alert(&root)
}

fn document_error(kind: CapErrorKind, position: Option<TextPosition>) -> CapError {
    CapError {
        element: "document".into(),
        kind,
        position,
    }
}

/// One element of the document, as far as CAP needs it.
#[derive(Debug)]
struct Element {
    name: String,
    path: String,
    offset: usize,
    /// In a namespace other than CAP's (an XML signature, an extension): skipped.
    foreign: bool,
    children: Vec<Element>,
    text: String,
    /// How many CAP children of each [`REPEATABLE`] name it holds so far (for their paths' indexes).
    repeated: [usize; REPEATABLE.len()],
}

/// CAP elements that may repeat: their paths carry an index, `info[2]`.
const REPEATABLE: &[&str] = &[
    "info",
    "area",
    "geocode",
    "category",
    "responseType",
    "eventCode",
    "parameter",
    "resource",
    "polygon",
    "circle",
];

fn child_path(parent: Option<&Element>, name: &str) -> String {
    let base = parent.map_or(String::new(), |p| p.path.clone());
    match REPEATABLE.iter().position(|repeatable| *repeatable == name) {
        Some(slot) => {
            let index = parent.map_or(0, |p| p.repeated[slot]) + 1;
            format!("{base}/{name}[{index}]")
        }
        None => format!("{base}/{name}"),
    }
}

/// Reads the document into a tree, enforcing the limits; quick-xml's errors keep their position.
fn build_tree(source: &str) -> Result<Element, CapError> {
    let mut reader = NsReader::from_str(source);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.expand_empty_elements = false;
    config.trim_text(false);

    let position = |offset: u64| Some(TextPosition::locate(source, offset as usize));
    let mut tree = Tree {
        source,
        stack: Vec::new(),
        root: None,
        elements: 0,
    };

    loop {
        let start = reader.buffer_position();
        let (namespace, event) = match reader.read_resolved_event() {
            Ok((namespace, event)) => (
                match namespace {
                    ResolveResult::Bound(ns) => Ok(Some(ns.0.to_owned())),
                    ResolveResult::Unbound => Ok(None),
                    ResolveResult::Unknown(prefix) => Err(prefix),
                },
                event,
            ),
            Err(error) => {
                return Err(document_error(
                    CapErrorKind::Malformed(error.to_string()),
                    position(reader.error_position()),
                ));
            }
        };
        match event {
            Event::Start(e) => tree.open(start, e.local_name().as_ref(), namespace, false)?,
            Event::Empty(e) => tree.open(start, e.local_name().as_ref(), namespace, true)?,
            Event::End(_) => {
                if let Some(element) = tree.stack.pop() {
                    close(&mut tree.stack, &mut tree.root, element);
                }
            }
            Event::Text(text) => {
                let content = text.xml10_content();
                push_text(&mut tree.stack, &content, source, start)?;
            }
            Event::CData(data) => {
                let content = data.xml10_content();
                push_text(&mut tree.stack, &content, source, start)?;
            }
            Event::GeneralRef(reference) => {
                let resolved = resolve_reference(&reference)
                    .map_err(|kind| document_error(kind, position(start)))?;
                push_text(&mut tree.stack, &resolved, source, start)?;
            }
            Event::Decl(declaration) => check_declaration(&declaration)
                .map_err(|kind| document_error(kind, position(start)))?,
            Event::DocType(_) => {
                return Err(document_error(CapErrorKind::Doctype, position(start)));
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    tree.finish()
}

/// The elements read so far: the open ones, the closed root, and how many there were.
struct Tree<'s> {
    source: &'s str,
    stack: Vec<Element>,
    root: Option<Element>,
    elements: usize,
}

impl Tree<'_> {
    /// An element starts at `start` (`empty`: `<name/>`): the limits, the single `<alert>` root and the CAP
    /// namespace are checked (elements of another namespace inside it are kept as foreign and skipped).
    fn open(
        &mut self,
        start: u64,
        name: &str,
        namespace: Result<Option<String>, String>,
        empty: bool,
    ) -> Result<(), CapError> {
        let position = Some(TextPosition::locate(self.source, start as usize));
        let name = name.to_owned();
        let namespace = namespace.map_err(|prefix| {
            document_error(
                CapErrorKind::Malformed(format!(
                    "the namespace prefix `{prefix}` of <{name}> is not declared"
                )),
                position,
            )
        })?;
        self.elements += 1;
        if self.elements > MAX_ELEMENTS {
            return Err(document_error(CapErrorKind::TooManyElements, position));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(document_error(CapErrorKind::TooDeep, position));
        }
        let parent = self.stack.last();
        let in_cap = namespace.as_deref() == Some(CAP_NAMESPACE);
        let foreign = parent.is_some_and(|p| p.foreign)
            || (parent.is_some() && namespace.is_some() && !in_cap);
        let refusal = match parent {
            None if self.root.is_some() => Some(CapErrorKind::SecondRoot),
            None if name != "alert" => Some(CapErrorKind::NotAlert(name.clone())),
            _ if !foreign && !in_cap => Some(CapErrorKind::WrongNamespace {
                found: namespace.clone(),
            }),
            _ => None,
        };
        if let Some(kind) = refusal {
            return Err(CapError {
                element: child_path(parent, &name),
                kind,
                position,
            });
        }
        let element = Element {
            path: if foreign {
                String::new()
            } else {
                child_path(parent, &name)
            },
            name,
            offset: start as usize,
            foreign,
            children: Vec::new(),
            text: String::new(),
            repeated: [0; REPEATABLE.len()],
        };
        if empty {
            close(&mut self.stack, &mut self.root, element);
        } else {
            self.stack.push(element);
        }
        Ok(())
    }

    /// The root, once the document has ended with every element closed.
    fn finish(self) -> Result<Element, CapError> {
        if let Some(open) = self.stack.last() {
            return Err(document_error(
                CapErrorKind::Malformed(format!(
                    "the document ends before <{}> is closed",
                    open.name
                )),
                Some(TextPosition::locate(self.source, open.offset)),
            ));
        }
        self.root
            .ok_or_else(|| document_error(CapErrorKind::NoRoot, None))
    }
}

/// `&#…;` or one of XML's five predefined entities; any other entity is refused.
fn resolve_reference(reference: &quick_xml::events::BytesRef<'_>) -> Result<String, CapErrorKind> {
    match reference.resolve_char_ref() {
        Ok(Some(c)) => Ok(c.to_string()),
        Ok(None) => resolve_predefined_entity(reference)
            .map(str::to_owned)
            .ok_or_else(|| CapErrorKind::UnknownEntity(reference.to_string())),
        Err(error) => Err(CapErrorKind::Malformed(error.to_string())),
    }
}

/// The XML declaration: only UTF-8 is read.
fn check_declaration(declaration: &quick_xml::events::BytesDecl<'_>) -> Result<(), CapErrorKind> {
    if let Some(encoding) = declaration.encoding() {
        let encoding = encoding.map_err(|error| CapErrorKind::Malformed(error.to_string()))?;
        let name = encoding.trim().to_ascii_lowercase();
        if name != "utf-8" && name != "utf8" {
            return Err(CapErrorKind::UnsupportedEncoding(encoding.into_owned()));
        }
    }
    Ok(())
}

fn close(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => {
            if !element.foreign
                && let Some(slot) = REPEATABLE.iter().position(|name| *name == element.name)
            {
                parent.repeated[slot] += 1;
            }
            parent.children.push(element)
        }
        None => *root = Some(element),
    }
}

fn push_text(stack: &mut [Element], text: &str, source: &str, offset: u64) -> Result<(), CapError> {
    match stack.last_mut() {
        Some(element) if !element.foreign => element.text.push_str(text),
        Some(_) => {}
        None if text.trim().is_empty() => {}
        None => {
            return Err(document_error(
                CapErrorKind::Malformed("text outside the root element".into()),
                Some(TextPosition::locate(source, offset as usize)),
            ));
        }
    }
    Ok(())
}

/// The CAP 1.2 elements each element may hold; `None` for a value (leaf) element.
fn allowed_children(name: &str) -> Option<&'static [&'static str]> {
    match name {
        "alert" => Some(&[
            "identifier",
            "sender",
            "sent",
            "status",
            "msgType",
            "source",
            "scope",
            "restriction",
            "addresses",
            "code",
            "note",
            "references",
            "incidents",
            "info",
        ]),
        "info" => Some(&[
            "language",
            "category",
            "event",
            "responseType",
            "urgency",
            "severity",
            "certainty",
            "audience",
            "eventCode",
            "effective",
            "onset",
            "expires",
            "senderName",
            "headline",
            "description",
            "instruction",
            "web",
            "contact",
            "parameter",
            "resource",
            "area",
        ]),
        "area" => Some(&[
            "areaDesc", "polygon", "circle", "geocode", "altitude", "ceiling",
        ]),
        "geocode" | "eventCode" | "parameter" => Some(&["valueName", "value"]),
        "resource" => Some(&[
            "resourceDesc",
            "mimeType",
            "size",
            "uri",
            "derefUri",
            "digest",
        ]),
        _ => None,
    }
}

struct CapReader<'a> {
    source: &'a str,
    districts: &'a [String],
}

/// What one `info` block gave.
struct InfoBlock {
    language: Option<Language>,
    language_tag: String,
    categories: Vec<Category>,
    event: String,
    urgency: Urgency,
    severity: Severity,
    certainty: Certainty,
    sender_name: Option<String>,
    expires: Option<DateTime<FixedOffset>>,
    text: AlertText,
    areas: Vec<Area>,
}

impl<'a> CapReader<'a> {
    fn error(&self, element: &Element, kind: CapErrorKind) -> CapError {
        CapError {
            element: element.path.clone(),
            kind,
            position: Some(TextPosition::locate(self.source, element.offset)),
        }
    }

    /// Every CAP element in its place, text only in value elements.
    fn check_structure(&self, element: &Element) -> Result<(), CapError> {
        match allowed_children(&element.name) {
            Some(allowed) => {
                if !element.text.trim().is_empty() {
                    return Err(self.error(element, CapErrorKind::UnexpectedText));
                }
                for child in element.children.iter().filter(|c| !c.foreign) {
                    if !allowed.contains(&child.name.as_str()) {
                        return Err(self.error(child, CapErrorKind::UnknownElement));
                    }
                    self.check_structure(child)?;
                }
            }
            None => {
                if let Some(child) = element.children.iter().find(|c| !c.foreign) {
                    return Err(self.error(child, CapErrorKind::UnknownElement));
                }
            }
        }
        Ok(())
    }

    fn children<'e>(&self, parent: &'e Element, name: &str) -> Vec<&'e Element> {
        parent
            .children
            .iter()
            .filter(|c| !c.foreign && c.name == name)
            .collect()
    }

    fn optional<'e>(
        &self,
        parent: &'e Element,
        name: &str,
    ) -> Result<Option<&'e Element>, CapError> {
        let found = self.children(parent, name);
        match found.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one)),
            [_, second, ..] => Err(self.error(second, CapErrorKind::Duplicate)),
        }
    }

    fn required<'e>(&self, parent: &'e Element, name: &str) -> Result<&'e Element, CapError> {
        self.optional(parent, name)?.ok_or_else(|| CapError {
            element: child_path(Some(parent), name),
            kind: CapErrorKind::Missing,
            position: Some(TextPosition::locate(self.source, parent.offset)),
        })
    }

    fn value<'e>(&self, element: &'e Element) -> Result<&'e str, CapError> {
        let text = element.text.trim();
        if text.is_empty() {
            return Err(self.error(element, CapErrorKind::Empty));
        }
        Ok(text)
    }

    fn required_value<'e>(&self, parent: &'e Element, name: &str) -> Result<&'e str, CapError> {
        self.value(self.required(parent, name)?)
    }

    fn optional_value<'e>(
        &self,
        parent: &'e Element,
        name: &str,
    ) -> Result<Option<&'e str>, CapError> {
        match self.optional(parent, name)? {
            Some(element) if !element.text.trim().is_empty() => Ok(Some(element.text.trim())),
            _ => Ok(None),
        }
    }

    fn enumerated<T: Copy>(
        &self,
        element: &Element,
        choices: &[(&str, T)],
        expected: &'static str,
    ) -> Result<T, CapError> {
        let value = self.value(element)?;
        choices
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(value))
            .map(|(_, choice)| *choice)
            .ok_or_else(|| {
                self.error(
                    element,
                    CapErrorKind::InvalidValue {
                        value: value.to_owned(),
                        expected,
                    },
                )
            })
    }

    fn date_time(&self, element: &Element) -> Result<DateTime<FixedOffset>, CapError> {
        let value = self.value(element)?;
        DateTime::parse_from_rfc3339(value)
            .map_err(|_| self.error(element, CapErrorKind::InvalidDateTime(value.to_owned())))
    }

    /// `identifier` and `sender`: no spaces, commas or restricted characters (CAP 1.2 §3.2.1).
    fn identifier(&self, element: &Element) -> Result<String, CapError> {
        let value = self.value(element)?;
        if value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ',' | '<' | '&'))
        {
            return Err(self.error(element, CapErrorKind::InvalidIdentifier(value.to_owned())));
        }
        if value.chars().count() > 256 {
            return Err(self.error(
                element,
                CapErrorKind::TooLong {
                    chars: value.chars().count(),
                    limit: 256,
                },
            ));
        }
        Ok(value.to_owned())
    }

    /// The `<alert>`: its header checked in document order, then its `<info>` blocks combined.
    fn alert(&self, root: &Element) -> Result<EmergencyAlert, CapError> {
        let identifier = self.identifier(self.required(root, "identifier")?)?;
        let sender = self.identifier(self.required(root, "sender")?)?;
        let sent = self.date_time(self.required(root, "sent")?)?;
        let status = self.status(root)?;
        let kind = self.message_type(root)?;
        let scope = self.scope(root, status)?;
        let references = self.alert_references(root, kind)?;

        let mut blocks = Vec::new();
        for info in self.children(root, "info") {
            blocks.push(self.info(info)?);
        }

        let mut origin = CapOrigin {
            identifier,
            sender,
            sent,
            scope,
            sender_name: None,
            event: None,
            categories: Vec::new(),
            certainty: Certainty::Unknown,
            expires: None,
            ignored_languages: Vec::new(),
        };
        let (text, severity, urgency, area) = if blocks.is_empty() {
            self.no_info(root, kind)?;
            (
                cancellation_text(),
                Severity::Unknown,
                Urgency::Unknown,
                None,
            )
        } else {
            self.combine(root, kind, &blocks, &mut origin)?
        };
        Ok(EmergencyAlert {
            kind,
            references,
            status,
            dry_run: status.is_dry_run(),
            text,
            severity,
            urgency,
            area,
            cap: Some(origin),
        })
    }

    /// `status`: Actual, Exercise or Test; System and Draft are refused.
    fn status(&self, root: &Element) -> Result<AlertStatus, CapError> {
        let status_element = self.required(root, "status")?;
        let status = self.enumerated(
            status_element,
            &[
                ("Actual", Some(AlertStatus::Actual)),
                ("Exercise", Some(AlertStatus::Exercise)),
                ("Test", Some(AlertStatus::Test)),
                ("System", None),
                ("Draft", None),
            ],
            "Actual, Exercise, System, Test, Draft",
        )?;
        status.ok_or_else(|| {
            let canonical = match self.value(status_element) {
                Ok(value) if value.eq_ignore_ascii_case("draft") => "Draft",
                _ => "System",
            };
            self.error(status_element, CapErrorKind::Refused(canonical.into()))
        })
    }

    /// `msgType`: Alert, Update or Cancel; Ack and Error are refused.
    fn message_type(&self, root: &Element) -> Result<AlertKind, CapError> {
        let kind_element = self.required(root, "msgType")?;
        let kind = self.enumerated(
            kind_element,
            &[
                ("Alert", Ok(AlertKind::Alert)),
                ("Update", Ok(AlertKind::Update)),
                ("Cancel", Ok(AlertKind::Cancel)),
                ("Ack", Err("Ack")),
                ("Error", Err("Error")),
            ],
            "Alert, Update, Cancel, Ack, Error",
        )?;
        kind.map_err(|refused| self.error(kind_element, CapErrorKind::Refused(refused.into())))
    }

    /// `scope`: an actual alert must be public.
    fn scope(&self, root: &Element, status: AlertStatus) -> Result<Scope, CapError> {
        let scope_element = self.required(root, "scope")?;
        let scope = self.enumerated(
            scope_element,
            &[
                ("Public", Scope::Public),
                ("Restricted", Scope::Restricted),
                ("Private", Scope::Private),
            ],
            "Public, Restricted, Private",
        )?;
        if status == AlertStatus::Actual && scope != Scope::Public {
            return Err(self.error(
                scope_element,
                CapErrorKind::NotPublic {
                    status: "Actual".into(),
                    scope: format!("{scope:?}"),
                },
            ));
        }
        Ok(scope)
    }

    /// `references`, required by an update or a cancellation.
    fn alert_references(
        &self,
        root: &Element,
        kind: AlertKind,
    ) -> Result<Vec<AlertReference>, CapError> {
        let references = match self.optional(root, "references")? {
            Some(element) => self.references(element)?,
            None => Vec::new(),
        };
        if references.is_empty() && kind != AlertKind::Alert {
            let what = if kind == AlertKind::Update {
                "Update"
            } else {
                "Cancel"
            };
            return Err(CapError {
                element: "/alert/references".into(),
                kind: CapErrorKind::ReferencesRequired(what),
                position: Some(TextPosition::locate(self.source, root.offset)),
            });
        }
        Ok(references)
    }

    /// An alert without `<info>`: only a cancellation may have none (it gets the standard cancellation text).
    fn no_info(&self, root: &Element, kind: AlertKind) -> Result<(), CapError> {
        if kind == AlertKind::Cancel {
            return Ok(());
        }
        let what = if kind == AlertKind::Alert {
            "Alert"
        } else {
            "Update"
        };
        Err(CapError {
            element: "/alert/info".into(),
            kind: CapErrorKind::NoInfo(what),
            position: Some(TextPosition::locate(self.source, root.offset)),
        })
    }

    /// The `<info>` blocks as one alert: one text per language (Japanese required, unknown languages noted in
    /// `origin`), the Japanese block's sender, event, categories and expiry, the highest certainty, severity
    /// and urgency, the areas merged (an alert needs one).
    fn combine(
        &self,
        root: &Element,
        kind: AlertKind,
        blocks: &[InfoBlock],
        origin: &mut CapOrigin,
    ) -> Result<(LocalizedText, Severity, Urgency, Option<Area>), CapError> {
        let infos = self.children(root, "info");
        let mut texts: BTreeMap<Language, AlertText> = BTreeMap::new();
        for (block, element) in blocks.iter().zip(&infos) {
            match block.language {
                Some(language) => {
                    if texts.insert(language, block.text.clone()).is_some() {
                        return Err(self.error(element, CapErrorKind::DuplicateLanguage(language)));
                    }
                }
                None => origin.ignored_languages.push(block.language_tag.clone()),
            }
        }
        let Some(japanese_block) = blocks.iter().find(|b| b.language == Some(Language::Ja)) else {
            let found = blocks
                .iter()
                .map(|b| b.language_tag.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(CapError {
                element: "/alert/info".into(),
                kind: CapErrorKind::NoJapanese { found },
                position: Some(TextPosition::locate(self.source, infos[0].offset)),
            });
        };
        let mut text = LocalizedText::new(japanese_block.text.clone());
        for (language, block_text) in texts {
            text = text.with(language, block_text);
        }
        origin.sender_name = japanese_block.sender_name.clone();
        origin.event = Some(japanese_block.event.clone());
        origin.categories = japanese_block.categories.clone();
        origin.expires = japanese_block.expires;
        origin.certainty = blocks
            .iter()
            .map(|b| b.certainty)
            .max()
            .unwrap_or(Certainty::Unknown);
        let severity = blocks
            .iter()
            .map(|b| b.severity)
            .max()
            .unwrap_or(Severity::Unknown);
        let urgency = blocks
            .iter()
            .map(|b| b.urgency)
            .max()
            .unwrap_or(Urgency::Unknown);

        let area = merge_areas(blocks.iter().flat_map(|b| b.areas.iter()));
        if area.is_none() && kind == AlertKind::Alert {
            return Err(CapError {
                element: format!("{}/area", infos[0].path),
                kind: CapErrorKind::NoArea,
                position: Some(TextPosition::locate(self.source, infos[0].offset)),
            });
        }
        Ok((text, severity, urgency, area))
    }

    /// `references`: space-separated `sender,identifier,sent` triples.
    fn references(&self, element: &Element) -> Result<Vec<AlertReference>, CapError> {
        let mut references: Vec<AlertReference> = Vec::new();
        for entry in element.text.split_whitespace() {
            let invalid = || self.error(element, CapErrorKind::InvalidReference(entry.to_owned()));
            let mut parts = entry.split(',');
            let (Some(sender), Some(identifier), Some(sent), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(invalid());
            };
            if sender.is_empty() || identifier.is_empty() {
                return Err(invalid());
            }
            let sent = DateTime::parse_from_rfc3339(sent).map_err(|_| invalid())?;
            let reference = AlertReference {
                sender: Some(sender.to_owned()),
                identifier: identifier.to_owned(),
                sent: Some(sent),
            };
            if !references.contains(&reference) {
                references.push(reference);
            }
            if references.len() > MAX_REFERENCES {
                return Err(self.error(element, CapErrorKind::TooManyReferences));
            }
        }
        Ok(references)
    }

    fn info(&self, info: &Element) -> Result<InfoBlock, CapError> {
        let language_tag = self
            .optional_value(info, "language")?
            .unwrap_or("en-US")
            .to_owned();
        let language = Language::from_language_tag(&language_tag);

        let category_elements = self.children(info, "category");
        if category_elements.is_empty() {
            self.required(info, "category")?;
        }
        let mut categories = Vec::new();
        for element in category_elements {
            let category = self.enumerated(element, CATEGORIES, CATEGORY_NAMES)?;
            if !categories.contains(&category) {
                categories.push(category);
            }
        }
        let event = self.required_value(info, "event")?.to_owned();
        let urgency = self.enumerated(
            self.required(info, "urgency")?,
            &[
                ("Immediate", Urgency::Immediate),
                ("Expected", Urgency::Expected),
                ("Future", Urgency::Future),
                ("Past", Urgency::Past),
                ("Unknown", Urgency::Unknown),
            ],
            "Immediate, Expected, Future, Past, Unknown",
        )?;
        let severity = self.enumerated(
            self.required(info, "severity")?,
            &[
                ("Extreme", Severity::Extreme),
                ("Severe", Severity::Severe),
                ("Moderate", Severity::Moderate),
                ("Minor", Severity::Minor),
                ("Unknown", Severity::Unknown),
            ],
            "Extreme, Severe, Moderate, Minor, Unknown",
        )?;
        let certainty = self.enumerated(
            self.required(info, "certainty")?,
            &[
                ("Observed", Certainty::Observed),
                ("Likely", Certainty::Likely),
                ("Very Likely", Certainty::Likely),
                ("Possible", Certainty::Possible),
                ("Unlikely", Certainty::Unlikely),
                ("Unknown", Certainty::Unknown),
            ],
            "Observed, Likely, Possible, Unlikely, Unknown",
        )?;
        let expires = self
            .optional(info, "expires")?
            .map(|element| self.date_time(element))
            .transpose()?;
        let sender_name = self.optional_value(info, "senderName")?.map(str::to_owned);

        let title = match self.optional(info, "headline")? {
            Some(element) => self.limited(element, MAX_TITLE_CHARS)?,
            None => event.clone(),
        };
        let mut body_parts = Vec::new();
        for name in ["description", "instruction"] {
            if let Some(element) = self.optional(info, name)? {
                body_parts.push(self.limited(element, MAX_BODY_CHARS)?);
            }
        }
        let body = body_parts
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n");
        if body.is_empty() {
            return Err(CapError {
                element: format!("{}/description", info.path),
                kind: CapErrorKind::NoBody,
                position: Some(TextPosition::locate(self.source, info.offset)),
            });
        }
        let chars = body.chars().count();
        if chars > MAX_BODY_CHARS {
            return Err(CapError {
                element: format!("{}/instruction", info.path),
                kind: CapErrorKind::TooLong {
                    chars,
                    limit: MAX_BODY_CHARS,
                },
                position: Some(TextPosition::locate(self.source, info.offset)),
            });
        }

        let mut areas = Vec::new();
        for area in self.children(info, "area") {
            areas.push(self.area(area)?);
        }
        Ok(InfoBlock {
            language,
            language_tag,
            categories,
            event,
            urgency,
            severity,
            certainty,
            sender_name,
            expires,
            text: AlertText { title, body },
            areas,
        })
    }

    /// Trimmed text (lines trimmed too: CAP text is often indented with the XML) within a length limit.
    fn limited(&self, element: &Element, limit: usize) -> Result<String, CapError> {
        let text = element
            .text
            .trim()
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("\n");
        let chars = text.chars().count();
        if chars > limit {
            return Err(self.error(element, CapErrorKind::TooLong { chars, limit }));
        }
        Ok(text)
    }

    fn area(&self, area: &Element) -> Result<Area, CapError> {
        self.required_value(area, "areaDesc")?;
        let mut districts: Vec<District> = Vec::new();
        let mut whole_city = false;
        for geocode in self.children(area, "geocode") {
            let value_name = self.required_value(geocode, "valueName")?;
            let value_element = self.required(geocode, "value")?;
            let value = self.value(value_element)?;
            let system: String = value_name
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_ascii_lowercase();
            match system.as_str() {
                DISTRICT_VALUE_NAME => {
                    let district = District::parse(value, self.districts).map_err(|message| {
                        self.error(value_element, CapErrorKind::UnknownDistrict(message))
                    })?;
                    if !districts.contains(&district) {
                        districts.push(district);
                    }
                }
                "jisx0402" => {
                    if CITY_CODES.contains(&value) {
                        whole_city = true;
                    } else {
                        return Err(self
                            .error(value_element, CapErrorKind::OtherCityCode(value.to_owned())));
                    }
                }
                // Other geocode systems (SAME, UGC, …) say nothing about the city's districts.
                _ => {}
            }
        }
        if whole_city {
            Ok(Area::WholeCity)
        } else if districts.is_empty() {
            Err(self.error(area, CapErrorKind::AreaWithoutDistrict))
        } else {
            Ok(Area::Districts(districts))
        }
    }
}

const CATEGORIES: &[(&str, Category)] = &[
    ("Geo", Category::Geo),
    ("Met", Category::Met),
    ("Safety", Category::Safety),
    ("Security", Category::Security),
    ("Rescue", Category::Rescue),
    ("Fire", Category::Fire),
    ("Health", Category::Health),
    ("Env", Category::Env),
    ("Transport", Category::Transport),
    ("Infra", Category::Infra),
    ("CBRNE", Category::Cbrne),
    ("Other", Category::Other),
];
const CATEGORY_NAMES: &str =
    "Geo, Met, Safety, Security, Rescue, Fire, Health, Env, Transport, Infra, CBRNE, Other";

/// The union of the areas: the whole city if any is, else every district named, each once.
fn merge_areas<'a>(areas: impl Iterator<Item = &'a Area>) -> Option<Area> {
    let mut merged: Option<Area> = None;
    for area in areas {
        merged = Some(match (merged, area) {
            (Some(Area::WholeCity), _) | (_, Area::WholeCity) => Area::WholeCity,
            (None, Area::Districts(list)) => Area::Districts(list.clone()),
            (Some(Area::Districts(mut list)), Area::Districts(more)) => {
                for district in more {
                    if !list.contains(district) {
                        list.push(district.clone());
                    }
                }
                Area::Districts(list)
            }
        });
    }
    merged
}

/// The text of a CAP Cancel that carries no `info`.
fn cancellation_text() -> LocalizedText {
    LocalizedText::new(AlertText {
        title: "緊急情報の取り消し".into(),
        body: "先にお送りした緊急情報は取り消されました。".into(),
    })
    .with(
        Language::En,
        AlertText {
            title: "Emergency alert cancelled".into(),
            body: "The emergency alert sent earlier has been cancelled.".into(),
        },
    )
}
