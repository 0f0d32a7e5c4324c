//! A small namespace-aware element tree for JMA's Atom feeds and 防災情報XML documents, read with quick-xml under
//! hard limits (size, depth, element count, no DOCTYPE, no entities but XML's five and character references).
//!
//! Every element keeps its namespace, local name, attributes, text, byte offset and a path with indexes
//! (`/Report/Body/Warning[4]/Item[2]/Kind[1]/Status`), so an error can say what was wrong and where.

use std::borrow::Cow;

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// The largest document or feed accepted (JMA's long feed is a few hundred KiB).
pub const MAX_BYTES: usize = 4 * 1024 * 1024;
/// The deepest element nesting accepted (防災情報XML needs about 10).
pub const MAX_DEPTH: usize = 32;
/// The most elements one document may hold.
pub const MAX_ELEMENTS: usize = 200_000;

/// Where in the text: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    pub fn locate(source: &str, offset: usize) -> Position {
        let mut offset = offset.min(source.len());
        while !source.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &source[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Position {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// A document that could not be read, naming what and where: `where_` is an element path (`/Report/Head/InfoType`)
/// or `document`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{where_}: {what}{}", .position.map(|p| format!(" (at {p})")).unwrap_or_default())]
pub struct XmlError {
    pub where_: String,
    pub what: String,
    pub position: Option<Position>,
}

impl XmlError {
    pub fn at(element: &Element, source: &str, what: impl Into<String>) -> XmlError {
        XmlError {
            where_: element.path.clone(),
            what: what.into(),
            position: Some(Position::locate(source, element.offset)),
        }
    }

    fn document(what: impl Into<String>, source: &str, offset: Option<usize>) -> XmlError {
        XmlError {
            where_: "document".into(),
            what: what.into(),
            position: offset.map(|offset| Position::locate(source, offset)),
        }
    }
}

/// One element.
#[derive(Debug, Clone)]
pub struct Element {
    pub namespace: Option<String>,
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub path: String,
    pub offset: usize,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    /// Children with this local name in this namespace.
    pub fn children<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children
            .iter()
            .filter(move |c| c.name == name && c.namespace.as_deref() == Some(namespace))
    }

    pub fn child(&self, namespace: &str, name: &str) -> Option<&Element> {
        self.children
            .iter()
            .find(|c| c.name == name && c.namespace.as_deref() == Some(namespace))
    }

    /// The attribute with this (unprefixed) name.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The text, trimmed (JMA's full-width spaces too).
    pub fn value(&self) -> &str {
        self.text.trim()
    }

    pub fn is(&self, namespace: &str, name: &str) -> bool {
        self.name == name && self.namespace.as_deref() == Some(namespace)
    }
}

/// Reads `bytes` (UTF-8) into a tree.
pub fn parse(bytes: &[u8]) -> Result<(Element, &str), XmlError> {
    if bytes.len() > MAX_BYTES {
        return Err(XmlError::document(
            format!("{} bytes; at most {MAX_BYTES} are accepted", bytes.len()),
            "",
            None,
        ));
    }
    let source = std::str::from_utf8(bytes).map_err(|error| {
        XmlError::document(
            format!(
                "not UTF-8 (invalid byte at offset {}); JMA's XML is UTF-8",
                error.valid_up_to()
            ),
            "",
            None,
        )
    })?;
    build(source).map(|root| (root, source))
}

fn attributes(
    start: &BytesStart,
    source: &str,
    offset: usize,
) -> Result<Vec<(String, String)>, XmlError> {
    let mut out = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|error| {
            XmlError::document(
                format!("malformed attribute: {error}"),
                source,
                Some(offset),
            )
        })?;
        let key = attribute.key.local_name().as_ref().to_owned();
        let value: Cow<str> = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|error| {
                XmlError::document(
                    format!("malformed attribute `{key}`: {error}"),
                    source,
                    Some(offset),
                )
            })?;
        out.push((key, value.into_owned()));
    }
    Ok(out)
}

fn child_path(parent: Option<&Element>, name: &str) -> String {
    match parent {
        None => format!("/{name}"),
        Some(parent) => {
            let index = parent.children.iter().filter(|c| c.name == name).count() + 1;
            format!("{}/{name}[{index}]", parent.path)
        }
    }
}

fn build(source: &str) -> Result<Element, XmlError> {
    let mut reader = NsReader::from_str(source);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.expand_empty_elements = false;
    config.trim_text(false);

    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut elements = 0usize;
    loop {
        let start = reader.buffer_position() as usize;
        let (namespace, event) = match reader.read_resolved_event() {
            Ok(read) => read,
            Err(error) => {
                let at = reader.error_position() as usize;
                return Err(XmlError::document(
                    format!("malformed XML: {error}"),
                    source,
                    Some(at),
                ));
            }
        };
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(event, Event::Empty(_));
                let name = e.local_name().as_ref().to_owned();
                let namespace = match namespace {
                    ResolveResult::Bound(ns) => Some(ns.0.to_owned()),
                    ResolveResult::Unbound => None,
                    ResolveResult::Unknown(prefix) => {
                        return Err(XmlError::document(
                            format!(
                                "the namespace prefix `{}` of <{name}> is not declared",
                                prefix
                            ),
                            source,
                            Some(start),
                        ));
                    }
                };
                elements += 1;
                if elements > MAX_ELEMENTS {
                    return Err(XmlError::document(
                        format!("more than {MAX_ELEMENTS} elements"),
                        source,
                        Some(start),
                    ));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::document(
                        format!("elements nest deeper than {MAX_DEPTH} levels"),
                        source,
                        Some(start),
                    ));
                }
                if stack.is_empty() && root.is_some() {
                    return Err(XmlError::document(
                        "a second root element",
                        source,
                        Some(start),
                    ));
                }
                let element = Element {
                    path: child_path(stack.last(), &name),
                    attributes: attributes(e, source, start)?,
                    namespace,
                    name,
                    offset: start,
                    children: Vec::new(),
                    text: String::new(),
                };
                if is_empty {
                    close(&mut stack, &mut root, element);
                } else {
                    stack.push(element);
                }
            }
            Event::End(_) => {
                if let Some(element) = stack.pop() {
                    close(&mut stack, &mut root, element);
                }
            }
            Event::Text(text) => push_text(&mut stack, &text.xml10_content(), source, start)?,
            Event::CData(data) => push_text(&mut stack, &data.xml10_content(), source, start)?,
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match resolve_predefined_entity(&reference) {
                        Some(text) => text.to_owned(),
                        None => {
                            return Err(XmlError::document(
                                format!("the entity `&{};` is not defined", &*reference),
                                source,
                                Some(start),
                            ));
                        }
                    },
                    Err(error) => {
                        return Err(XmlError::document(
                            format!("malformed character reference: {error}"),
                            source,
                            Some(start),
                        ));
                    }
                };
                push_text(&mut stack, &resolved, source, start)?;
            }
            Event::Decl(declaration) => {
                if let Some(Ok(encoding)) = declaration.encoding() {
                    let name = encoding.trim().to_ascii_lowercase();
                    if name != "utf-8" && name != "utf8" {
                        return Err(XmlError::document(
                            format!("the document declares encoding `{name}`; only UTF-8 is read"),
                            source,
                            Some(start),
                        ));
                    }
                }
            }
            Event::DocType(_) => {
                return Err(XmlError::document(
                    "DOCTYPE declarations are refused (no DTDs, no external entities)",
                    source,
                    Some(start),
                ));
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(XmlError::document(
            format!("the document ends before <{}> is closed", open.name),
            source,
            Some(open.offset),
        ));
    }
    root.ok_or_else(|| XmlError::document("no root element", source, None))
}

fn close(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

fn push_text(
    stack: &mut [Element],
    text: &str,
    source: &str,
    offset: usize,
) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(element) => element.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => {
            return Err(XmlError::document(
                "text outside the root element",
                source,
                Some(offset),
            ));
        }
    }
    Ok(())
}
