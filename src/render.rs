//! Templates: what a notice looks like on each channel, in each language (handlebars 6).
//!
//! A notice may bring its own templates per channel; the defaults below apply otherwise. Every template is
//! rendered for every language of the notice when the notice is saved ([`check_all`]), so a template that does
//! not render is a 400 then and never a failure at send time. Templates see `title`, `body`, `city`, `language`
//! and `notice_id`; strict mode makes an unknown variable an error. HTML (the email's HTML part) is escaped;
//! text channels are not.

use std::collections::BTreeMap;

use handlebars::Handlebars;
use handlebars::template::{HelperTemplate, Parameter, Template, TemplateElement};
use serde::{Deserialize, Serialize};

use crate::residents::ChannelKind;

/// Templates a notice may override, per channel. Missing parts use the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeTemplates {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<LineTemplate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailTemplate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<PushTemplate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webchat: Option<WebchatTemplate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineTemplate {
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailTemplate {
    pub subject: String,
    pub text: String,
    /// Rendered with HTML escaping (`{{body}}` is escaped; `{{{body}}}` is not — avoid it).
    pub html: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushTemplate {
    pub title: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebchatTemplate {
    pub text: String,
}

const DEFAULT_LINE_TEXT: &str = "【{{city}}】{{title}}\n\n{{body}}";
const DEFAULT_EMAIL_SUBJECT: &str = "【{{city}}】{{title}}";
const DEFAULT_EMAIL_TEXT: &str = "{{title}}\n\n{{body}}\n\n--\n{{city}}";
const DEFAULT_EMAIL_HTML: &str = "<!DOCTYPE html>\n<html lang=\"{{language}}\"><body>\n<h1>{{title}}</h1>\n\
<div style=\"white-space: pre-wrap\">{{body}}</div>\n<hr><p>{{city}}</p>\n</body></html>";
const DEFAULT_PUSH_TITLE: &str = "{{title}}";
const DEFAULT_PUSH_BODY: &str = "{{body}}";
const DEFAULT_WEBCHAT_TEXT: &str = "【{{city}}】{{title}}\n{{body}}";

/// The city's name as residents read it in their language.
pub fn city_name(language: &str) -> &'static str {
    match language {
        "en" => "Yukuhashi City",
        "zh" => "行桥市",
        "ko" => "유쿠하시시",
        "vi" => "Thành phố Yukuhashi",
        "ja-easy" => "ゆくはしし",
        _ => "行橋市",
    }
}

/// A message ready for one channel: what is stored in the outbox and sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "channel", rename_all = "lowercase")]
pub enum Rendered {
    Line {
        text: String,
    },
    Email {
        subject: String,
        text: String,
        html: String,
    },
    Push {
        title: String,
        body: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
    },
    Webchat {
        text: String,
    },
    /// An emergency on LINE: one text message per entry (a broadcast carries each language as its own message,
    /// at most 5) with postback quick replies on the last one (the safety confirmation).
    #[serde(rename = "line_alert")]
    LineAlert {
        messages: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        choices: Vec<LineChoice>,
    },
}

/// A postback quick reply: the button's label, the signed data LINE sends back, the text shown as the user's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LineChoice {
    pub label: String,
    pub data: String,
    pub display_text: String,
}

impl Rendered {
    /// The LINE messages of a `Line` or `LineAlert` content, checked against LINE's limits.
    pub fn line_messages(
        &self,
    ) -> Result<Vec<channels::line::LineMessage>, channels::line::LineMessageError> {
        use channels::line::{LineMessage, QuickReply, QuickReplyItem};
        match self {
            Rendered::Line { text } => Ok(vec![LineMessage::text(text.clone())?]),
            Rendered::LineAlert { messages, choices } => {
                let mut out = messages
                    .iter()
                    .map(|text| LineMessage::text(text.clone()))
                    .collect::<Result<Vec<_>, _>>()?;
                if !choices.is_empty()
                    && let Some(last) = out.pop()
                {
                    let items = choices
                        .iter()
                        .map(|c| {
                            QuickReplyItem::postback(
                                c.label.clone(),
                                c.data.clone(),
                                Some(c.display_text.clone()),
                            )
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    out.push(last.with_quick_reply(QuickReply::new(items)?));
                }
                Ok(out)
            }
            _ => Err(channels::line::LineMessageError {
                field: "content",
                problem: "the stored content is not a LINE message".into(),
            }),
        }
    }
}

/// A template that does not render: which channel, language and part, and the template engine's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {channel} template `{part}` for language {language} does not render: {message}")]
pub struct RenderError {
    pub channel: ChannelKind,
    pub language: String,
    pub part: &'static str,
    pub message: String,
}

impl RenderError {
    /// The JSON path of the template part, for `{"field": …}` in a 400.
    pub fn field(&self) -> String {
        format!("templates.{}.{}", self.channel, self.part)
    }
}

/// What a template sees.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateData<'a> {
    pub title: &'a str,
    pub body: &'a str,
    pub city: &'a str,
    pub language: &'a str,
    pub notice_id: i64,
}

/// Largest template part, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;
/// How deep blocks (`{{#if}}`, `else if` branches) and sub-expressions may sit inside one another.
pub const MAX_NESTING: usize = 8;
/// Most block tags (`{{#…}}`) in one template part.
pub const MAX_BLOCKS: usize = 64;
/// Most parentheses in one tag (sub-expressions).
pub const MAX_TAG_PARENS: usize = 16;
/// Largest output of one template part, in bytes (a whole email fits many times over).
pub const MAX_OUTPUT_BYTES: usize = 512 * 1024;

/// The variables a template may name (`this` inside `{{#with}}`).
const VARIABLES: [&str; 6] = ["title", "body", "city", "language", "notice_id", "this"];
/// The block helpers a template may use.
const BLOCK_HELPERS: [&str; 3] = ["if", "unless", "with"];
/// The value helpers a template may use, in tags and sub-expressions.
const VALUE_HELPERS: [&str; 10] = [
    "eq", "ne", "gt", "gte", "lt", "lte", "and", "or", "not", "len",
];

/// Why a template is refused before (or while) it renders.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateRefusal {
    #[error("the template is {0} bytes; at most {MAX_TEMPLATE_BYTES} are allowed")]
    TooLong(usize),
    #[error("the template has more than {MAX_BLOCKS} blocks")]
    TooManyBlocks,
    #[error("a tag has more than {MAX_TAG_PARENS} parentheses")]
    TooManyParens,
    #[error("blocks and sub-expressions nest more than {MAX_NESTING} deep")]
    TooDeep,
    #[error("{0} are not allowed in notice templates")]
    Forbidden(&'static str),
    #[error("the template does not parse: {0}")]
    Syntax(String),
    #[error("the template does not render: {0}")]
    Render(String),
    #[error(
        "`{0}` is not a variable of notice templates (title, body, city, language, notice_id; this inside with)"
    )]
    UnknownVariable(String),
    #[error(
        "`{0}` is not a helper notice templates may use (blocks: if, unless, with; values: eq, ne, gt, gte, lt, lte, and, or, not, len)"
    )]
    UnknownHelper(String),
    #[error("the output is larger than {MAX_OUTPUT_BYTES} bytes")]
    OutputTooLarge,
}

/// A bound on what the template parser may have to nest, read from the text before it is parsed (the parser
/// recurses on blocks and brackets, so a deep enough text would overflow a worker's stack). Counts every block
/// opener anywhere; in each tag counts every parenthesis and refuses array and object literals and `[…]` keys
/// (the other things the parser nests on, and of no use to a notice); refuses raw blocks.
fn precheck(source: &str) -> Result<(), TemplateRefusal> {
    if source.len() > MAX_TEMPLATE_BYTES {
        return Err(TemplateRefusal::TooLong(source.len()));
    }
    let bytes = source.as_bytes();
    let skip_space = |mut i: usize| {
        while i < bytes.len() && matches!(bytes[i], b'~' | b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
        }
        i
    };
    // Every `{{` followed by `#` counts, wherever it stands (in a comment or a string too): never fewer.
    let blocks = (0..bytes.len())
        .filter(|&i| bytes[i..].starts_with(b"{{") && bytes.get(skip_space(i + 2)) == Some(&b'#'))
        .count();
    if blocks > MAX_BLOCKS {
        return Err(TemplateRefusal::TooManyBlocks);
    }
    let find = |from: usize, needle: &[u8]| {
        bytes[from.min(bytes.len())..]
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|at| from + at)
    };
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i..].starts_with(b"{{") {
            i += 1;
            continue;
        }
        // `\{{` (one backslash) is text, as the parser reads it; `\{{{{` too.
        if i >= 1 && bytes[i - 1] == b'\\' && (i < 2 || bytes[i - 2] != b'\\') {
            i += if bytes[i + 2..].starts_with(b"{{") {
                4
            } else {
                2
            };
            continue;
        }
        if bytes[i + 2..].starts_with(b"{{") {
            return Err(TemplateRefusal::Forbidden("raw blocks ({{{{…}}}})"));
        }
        if bytes.get(i + 2) == Some(&b'!') {
            // A comment: `{{!-- … --}}` up to the first `--}}` when there is one, else `{{! … }}`.
            let mut start = i + 3;
            while bytes
                .get(start)
                .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            {
                start += 1;
            }
            let long = bytes[start..]
                .starts_with(b"--")
                .then(|| find(start + 2, b"--}}"))
                .flatten();
            i = match long.or_else(|| find(i + 3, b"}}")) {
                Some(end) if long.is_some() => end + 4,
                Some(end) => end + 2,
                None => bytes.len(),
            };
            continue;
        }
        // A tag: up to its `}}` outside string literals.
        let mut j = skip_space(i + 2);
        if bytes.get(j) == Some(&b'{') {
            j += 1; // `{{{body}}}`
        }
        let (mut parens, mut quote) = (0, None);
        while j < bytes.len() {
            let byte = bytes[j];
            if let Some(open) = quote {
                if byte == b'\\' {
                    j += 1;
                } else if byte == open {
                    quote = None;
                }
            } else {
                match byte {
                    b'"' | b'\'' => quote = Some(byte),
                    b'[' | b'{' => {
                        return Err(TemplateRefusal::Forbidden(
                            "array and object literals and […] keys",
                        ));
                    }
                    b'}' if bytes.get(j + 1) == Some(&b'}') => break,
                    _ => {}
                }
            }
            // Parentheses count inside strings too: never fewer than the parser nests.
            if byte == b'(' {
                parens += 1;
                if parens > MAX_TAG_PARENS {
                    return Err(TemplateRefusal::TooManyParens);
                }
            }
            j += 1;
        }
        i = j + 2;
    }
    Ok(())
}

/// Compiles a template part and checks that it uses only what notices need: the variables of
/// [`TemplateData`], the plain helpers, no partials, decorators or inline partials, nesting within
/// [`MAX_NESTING`]. Run when a notice is saved or previewed and again before every rendering, so a template
/// stored before these checks existed is refused rather than run.
pub fn compile(source: &str) -> Result<Template, TemplateRefusal> {
    precheck(source)?;
    let template =
        Template::compile(source).map_err(|error| TemplateRefusal::Syntax(error.to_string()))?;
    check_elements(&template, 0)?;
    Ok(template)
}

fn check_elements(template: &Template, depth: usize) -> Result<(), TemplateRefusal> {
    if depth > MAX_NESTING {
        return Err(TemplateRefusal::TooDeep);
    }
    for element in &template.elements {
        match element {
            TemplateElement::RawString(_) | TemplateElement::Comment(_) => {}
            TemplateElement::Expression(tag) | TemplateElement::HtmlExpression(tag) => {
                check_value(tag, depth)?;
            }
            TemplateElement::HelperBlock(block) => {
                let name = name_of(&block.name)?;
                if !BLOCK_HELPERS.contains(&name) {
                    return Err(TemplateRefusal::UnknownHelper(name.to_owned()));
                }
                if block.block_param.is_some() {
                    return Err(TemplateRefusal::Forbidden("block parameters (as |…|)"));
                }
                check_arguments(&block.params, &block.hash, depth + 1)?;
                for inner in [&block.template, &block.inverse].into_iter().flatten() {
                    check_elements(inner, depth + 1)?;
                }
            }
            TemplateElement::PartialExpression(_) | TemplateElement::PartialBlock(_) => {
                return Err(TemplateRefusal::Forbidden("partials ({{> …}})"));
            }
            TemplateElement::DecoratorExpression(_) | TemplateElement::DecoratorBlock(_) => {
                return Err(TemplateRefusal::Forbidden(
                    "decorators and inline partials ({{* …}}, {{#* …}})",
                ));
            }
            _ => return Err(TemplateRefusal::Forbidden("tags of this kind")),
        }
    }
    Ok(())
}

fn name_of(name: &Parameter) -> Result<&str, TemplateRefusal> {
    match name {
        Parameter::Name(name) => Ok(name),
        Parameter::Path(_) => Ok(name.as_name().unwrap_or_default()),
        _ => Err(TemplateRefusal::Forbidden("computed helper names")),
    }
}

/// `{{variable}}` or `{{helper arg…}}` (a tag or a sub-expression).
fn check_value(tag: &HelperTemplate, depth: usize) -> Result<(), TemplateRefusal> {
    if depth > MAX_NESTING {
        return Err(TemplateRefusal::TooDeep);
    }
    if tag.params.is_empty() && tag.hash.is_empty() {
        return check_parameter(&tag.name, depth);
    }
    let name = name_of(&tag.name)?;
    if !VALUE_HELPERS.contains(&name) {
        return Err(TemplateRefusal::UnknownHelper(name.to_owned()));
    }
    check_arguments(&tag.params, &tag.hash, depth)
}

fn check_arguments(
    params: &[Parameter],
    hash: &std::collections::HashMap<String, Parameter>,
    depth: usize,
) -> Result<(), TemplateRefusal> {
    params
        .iter()
        .chain(hash.values())
        .try_for_each(|param| check_parameter(param, depth))
}

fn check_parameter(param: &Parameter, depth: usize) -> Result<(), TemplateRefusal> {
    match param {
        Parameter::Literal(_) => Ok(()),
        Parameter::Name(_) | Parameter::Path(_) => {
            let name = param.as_name().unwrap_or_default();
            if VARIABLES.contains(&name) {
                Ok(())
            } else {
                Err(TemplateRefusal::UnknownVariable(name.to_owned()))
            }
        }
        Parameter::Subexpression(sub) => match sub.as_element() {
            TemplateElement::Expression(tag) => check_value(tag, depth + 1),
            _ => Err(TemplateRefusal::Forbidden("sub-expressions of this kind")),
        },
        _ => Err(TemplateRefusal::Forbidden("parameters of this kind")),
    }
}

/// A writer that refuses to grow past [`MAX_OUTPUT_BYTES`], so a template repeating `{{body}}` cannot fill
/// memory: rendering stops at the first write over the cap.
struct CappedOutput {
    text: Vec<u8>,
    over: bool,
}

impl std::io::Write for CappedOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.text.len() + buf.len() > MAX_OUTPUT_BYTES {
            self.over = true;
            return Err(std::io::Error::other("output cap"));
        }
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Checks and renders one template part.
fn render_checked(
    source: &str,
    escape_html: bool,
    data: &TemplateData<'_>,
) -> Result<String, TemplateRefusal> {
    let mut engine = Handlebars::new();
    engine.set_strict_mode(true);
    if !escape_html {
        engine.register_escape_fn(handlebars::no_escape);
    }
    engine.register_template("part", compile(source)?);
    let mut output = CappedOutput {
        text: Vec::new(),
        over: false,
    };
    match engine.render_to_write("part", data, &mut output) {
        Ok(()) => String::from_utf8(output.text)
            .map_err(|_| TemplateRefusal::Render("the output is not UTF-8".into())),
        Err(_) if output.over => Err(TemplateRefusal::OutputTooLarge),
        Err(error) => Err(TemplateRefusal::Render(error.to_string())),
    }
}

struct Part<'a> {
    name: &'static str,
    template: &'a str,
    html: bool,
}

fn render_part(
    channel: ChannelKind,
    part: &Part<'_>,
    data: &TemplateData<'_>,
) -> Result<String, RenderError> {
    render_checked(part.template, part.html, data)
        .map(|text| text.trim().to_owned())
        .map_err(|error| RenderError {
            channel,
            language: data.language.to_owned(),
            part: part.name,
            message: error.to_string(),
        })
}

/// Renders a notice for one channel and language.
pub fn render(
    templates: &NoticeTemplates,
    channel: ChannelKind,
    data: &TemplateData<'_>,
    push_url: Option<&str>,
) -> Result<Rendered, RenderError> {
    let part = |name, template, html| Part {
        name,
        template,
        html,
    };
    let rendered = match channel {
        ChannelKind::Line => {
            let text = templates
                .line
                .as_ref()
                .map_or(DEFAULT_LINE_TEXT, |t| t.text.as_str());
            let text = render_part(channel, &part("text", text, false), data)?;
            if let Err(error) = channels::line::LineMessage::text(text.clone()) {
                return Err(RenderError {
                    channel,
                    language: data.language.to_owned(),
                    part: "text",
                    message: error.to_string(),
                });
            }
            Rendered::Line { text }
        }
        ChannelKind::Email => {
            let (subject, text, html) = match &templates.email {
                Some(t) => (t.subject.as_str(), t.text.as_str(), t.html.as_str()),
                None => (
                    DEFAULT_EMAIL_SUBJECT,
                    DEFAULT_EMAIL_TEXT,
                    DEFAULT_EMAIL_HTML,
                ),
            };
            let subject = render_part(channel, &part("subject", subject, false), data)?;
            if subject.contains(['\r', '\n']) {
                return Err(RenderError {
                    channel,
                    language: data.language.to_owned(),
                    part: "subject",
                    message: "the subject must be one line".into(),
                });
            }
            Rendered::Email {
                subject,
                text: render_part(channel, &part("text", text, false), data)?,
                html: render_part(channel, &part("html", html, true), data)?,
            }
        }
        ChannelKind::Push => {
            let (title, body) = match &templates.push {
                Some(t) => (t.title.as_str(), t.body.as_str()),
                None => (DEFAULT_PUSH_TITLE, DEFAULT_PUSH_BODY),
            };
            let title = render_part(channel, &part("title", title, false), data)?;
            let body = render_part(channel, &part("body", body, false), data)?;
            let message = channels::push::PushMessage::notification(&title, &body, push_url);
            if message.payload.len() > channels::push::MAX_PAYLOAD {
                return Err(RenderError {
                    channel,
                    language: data.language.to_owned(),
                    part: "body",
                    message: format!(
                        "the push payload is {} bytes; at most {} fit one message",
                        message.payload.len(),
                        channels::push::MAX_PAYLOAD
                    ),
                });
            }
            Rendered::Push {
                title,
                body,
                url: push_url.map(str::to_owned),
            }
        }
        ChannelKind::Webchat => {
            let text = templates
                .webchat
                .as_ref()
                .map_or(DEFAULT_WEBCHAT_TEXT, |t| t.text.as_str());
            Rendered::Webchat {
                text: render_part(channel, &part("text", text, false), data)?,
            }
        }
    };
    Ok(rendered)
}

/// Renders every channel in every language of `body`: the check when a notice is saved.
pub fn check_all(
    templates: &NoticeTemplates,
    channels: &[ChannelKind],
    title: &str,
    body: &BTreeMap<String, String>,
) -> Result<(), RenderError> {
    for (language, text) in body {
        let data = TemplateData {
            title,
            body: text,
            city: city_name(language),
            language,
            notice_id: 0,
        };
        for channel in channels {
            render(templates, *channel, &data, Some("https://example.invalid/"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data<'a>(body: &'a str) -> TemplateData<'a> {
        TemplateData {
            title: "防災訓練 <土曜>",
            body,
            city: city_name("ja"),
            language: "ja",
            notice_id: 7,
        }
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let rendered = render(
            &NoticeTemplates::default(),
            ChannelKind::Email,
            &data("9時 & 10時 <集合>"),
            None,
        )
        .expect("renders");
        let Rendered::Email {
            subject,
            text,
            html,
        } = rendered
        else {
            panic!("an email");
        };
        assert_eq!(subject, "【行橋市】防災訓練 <土曜>");
        assert!(text.contains("9時 & 10時 <集合>"));
        assert!(html.contains("9時 &amp; 10時 &lt;集合&gt;"), "{html}");
        assert!(!html.contains("<集合>"));
    }

    #[test]
    fn broken_and_unknown_variables_are_errors_with_their_place() {
        let templates = NoticeTemplates {
            email: Some(EmailTemplate {
                subject: "{{title}}".into(),
                text: "{{#if body}}unclosed".into(),
                html: "<p>{{body}}</p>".into(),
            }),
            ..NoticeTemplates::default()
        };
        let error = render(&templates, ChannelKind::Email, &data("x"), None).expect_err("broken");
        assert_eq!(error.field(), "templates.email.text");
        let templates = NoticeTemplates {
            line: Some(LineTemplate {
                text: "{{greeting}} {{title}}".into(),
            }),
            ..NoticeTemplates::default()
        };
        let error = render(&templates, ChannelKind::Line, &data("x"), None).expect_err("unknown");
        assert_eq!(error.field(), "templates.line.text");
        assert!(error.message.contains("greeting"), "{}", error.message);
    }

    fn refusal(source: &str) -> TemplateRefusal {
        compile(source).expect_err(source)
    }

    #[test]
    fn plain_templates_pass_the_validator() {
        for source in [
            DEFAULT_LINE_TEXT,
            DEFAULT_EMAIL_HTML,
            "{{#if (eq language \"en\")}}Hello{{else if (eq language \"zh\")}}你好{{else}}{{title}}{{/if}}",
            "{{#unless body}}-{{/unless}}{{#with title}}{{this}}{{/with}} {{len body}} {{{body}}}",
            "{{! a comment with a (paren) and an apostrophe: don't }}{{!-- {{> a}} --}}{{title}}",
            "\\{{> not a partial, escaped text}} {{title}}",
            "{{#if (and (gt notice_id 0) (not (eq city \"x(\")))}}{{notice_id}}{{/if}}",
        ] {
            compile(source).unwrap_or_else(|error| panic!("{source}: {error}"));
        }
    }

    #[test]
    fn partials_decorators_and_unknown_helpers_are_refused() {
        // The recursive inline partial of issue 25: refused before it is rendered.
        let recursive = "{{#*inline \"a\"}}{{> a}}{{/inline}}{{> a}}";
        assert!(matches!(refusal(recursive), TemplateRefusal::Forbidden(_)));
        assert!(matches!(refusal("{{> a}}"), TemplateRefusal::Forbidden(_)));
        assert!(matches!(
            refusal("{{#> a}}x{{/a}}"),
            TemplateRefusal::Forbidden(_)
        ));
        assert!(matches!(
            refusal("{{*inline}}"),
            TemplateRefusal::Forbidden(_)
        ));
        assert!(matches!(
            refusal("{{{{raw}}}}{{> a}}{{{{/raw}}}}"),
            TemplateRefusal::Forbidden(_)
        ));
        assert_eq!(
            refusal("{{#each body}}{{this}}{{/each}}"),
            TemplateRefusal::UnknownHelper("each".into())
        );
        assert_eq!(
            refusal("{{log title}}"),
            TemplateRefusal::UnknownHelper("log".into())
        );
        assert_eq!(
            refusal("{{lookup this \"title\"}}"),
            TemplateRefusal::UnknownHelper("lookup".into())
        );
        assert_eq!(
            refusal("{{#if (eq @root.title 1)}}x{{/if}}"),
            TemplateRefusal::UnknownVariable("@root.title".into())
        );
        assert_eq!(
            refusal("{{greeting}}"),
            TemplateRefusal::UnknownVariable("greeting".into())
        );
        assert!(matches!(
            refusal("{{#with title as |t|}}{{t}}{{/with}}"),
            TemplateRefusal::Forbidden(_)
        ));
        assert!(matches!(
            refusal("{{eq title [1, [2, [3]]]}}"),
            TemplateRefusal::Forbidden(_)
        ));
        assert!(matches!(
            refusal("{{eq title {\"a\": 1}}}"),
            TemplateRefusal::Forbidden(_)
        ));
    }

    #[test]
    fn nesting_and_size_are_capped_before_parsing() {
        let nested = |depth: usize| {
            format!(
                "{}{{{{title}}}}{}",
                "{{#if title}}".repeat(depth),
                "{{/if}}".repeat(depth)
            )
        };
        compile(&nested(MAX_NESTING)).expect("at the cap");
        assert_eq!(refusal(&nested(MAX_NESTING + 1)), TemplateRefusal::TooDeep);
        assert_eq!(refusal(&nested(1_000)), TemplateRefusal::TooManyBlocks);
        // Closers hidden in a comment or a string do not hide openers.
        let hidden = format!(
            "{}{{{{!-- {} --}}}}",
            "{{#if title}}".repeat(MAX_BLOCKS + 1),
            "{{/if}}".repeat(MAX_BLOCKS + 1)
        );
        assert_eq!(refusal(&hidden), TemplateRefusal::TooManyBlocks);
        let subexpressions = |depth: usize| {
            format!(
                "{{{{not {}title{}}}}}",
                "(not ".repeat(depth),
                ")".repeat(depth)
            )
        };
        compile(&subexpressions(MAX_NESTING - 1)).expect("within the cap");
        assert_eq!(
            refusal(&subexpressions(MAX_NESTING + 1)),
            TemplateRefusal::TooDeep
        );
        // Deep enough to overflow the parser's stack if it were parsed: refused by counting first.
        assert_eq!(
            refusal(&subexpressions(5_000)),
            TemplateRefusal::TooManyParens
        );
        // A string hiding `}}` does not end the tag early.
        assert_eq!(
            refusal(&format!(
                "{{{{eq \"}}}}\" {}title{}}}}}",
                "(not ".repeat(20),
                ")".repeat(20)
            )),
            TemplateRefusal::TooManyParens
        );
        assert_eq!(
            refusal(&format!(
                "{{{{eq title {}1{}}}}}",
                "[".repeat(20_000),
                "]".repeat(20_000)
            )),
            TemplateRefusal::Forbidden("array and object literals and […] keys")
        );
        let long = "あ".repeat(MAX_TEMPLATE_BYTES);
        assert!(matches!(refusal(&long), TemplateRefusal::TooLong(_)));
    }

    #[test]
    fn output_is_capped() {
        let huge = "{{body}}".repeat(4000);
        let body = "x".repeat(1000);
        let error = render_checked(&huge, false, &data(&body)).expect_err("4 MB");
        assert_eq!(error, TemplateRefusal::OutputTooLarge);
        let fits = render_checked("{{body}}{{body}}", false, &data(&body)).expect("2 KB");
        assert_eq!(fits.len(), 2000);
    }

    #[test]
    fn a_stored_template_is_checked_again_when_it_renders() {
        let templates = NoticeTemplates {
            line: Some(LineTemplate {
                text: "{{#*inline \"a\"}}{{> a}}{{/inline}}{{> a}}".into(),
            }),
            ..NoticeTemplates::default()
        };
        let error = render(&templates, ChannelKind::Line, &data("x"), None).expect_err("refused");
        assert_eq!(error.field(), "templates.line.text");
        assert!(
            error.message.contains("inline partials"),
            "{}",
            error.message
        );
    }

    #[test]
    fn line_text_over_the_limit_is_refused() {
        let long = "あ".repeat(5001);
        let error = render(
            &NoticeTemplates::default(),
            ChannelKind::Line,
            &data(&long),
            None,
        )
        .expect_err("too long");
        assert_eq!(error.channel, ChannelKind::Line);
    }
}
