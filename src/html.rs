//! The one HTML escaper and the one page frame for the pages the hub renders on the server (registration,
//! surveys, unsubscribe, the staff console). A page is a head with at most one stylesheet and only external
//! scripts (`defer`), so every page works under the hub's strict Content-Security-Policy (no inline code).

use std::fmt::Write as _;

/// HTML-escapes text for element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The `lang` attribute for one of the hub's language codes: やさしい日本語 (`ja-easy`) is Japanese to a browser.
pub fn lang_attribute(code: &str) -> &str {
    if code == "ja-easy" { "ja" } else { code }
}

/// The frame of a server-rendered page: `<!DOCTYPE html>`, the language, charset and viewport, the title,
/// one stylesheet, external scripts, and `<meta>`/`data-` values for the page's script.
#[derive(Debug, Clone)]
pub struct Page<'a> {
    lang: &'a str,
    title: &'a str,
    stylesheet: Option<&'a str>,
    scripts: Vec<&'a str>,
    meta: Vec<(&'a str, &'a str)>,
    data: Vec<(&'a str, &'a str)>,
}

impl<'a> Page<'a> {
    /// A page in `lang` (a hub language code) titled `title` (plain text: it is escaped here).
    pub fn new(lang: &'a str, title: &'a str) -> Page<'a> {
        Page {
            lang,
            title,
            stylesheet: None,
            scripts: Vec::new(),
            meta: Vec::new(),
            data: Vec::new(),
        }
    }

    pub fn stylesheet(mut self, href: &'a str) -> Page<'a> {
        self.stylesheet = Some(href);
        self
    }

    /// An external script, loaded `defer` (never inline: the CSP refuses inline code).
    pub fn script(mut self, src: &'a str) -> Page<'a> {
        self.scripts.push(src);
        self
    }

    /// A `<meta name=… content=…>` in the head (e.g. the console's CSRF token for its script).
    pub fn meta(mut self, name: &'a str, content: &'a str) -> Page<'a> {
        self.meta.push((name, content));
        self
    }

    /// A `data-{name}` attribute on `<body>`.
    pub fn data(mut self, name: &'a str, value: &'a str) -> Page<'a> {
        self.data.push((name, value));
        self
    }

    /// The whole document around `body`, the already-escaped HTML inside `<body>`.
    pub fn render(&self, body: &str) -> String {
        let mut html = format!(
            "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            escape(lang_attribute(self.lang))
        );
        for (name, content) in &self.meta {
            let _ = write!(
                html,
                "<meta name=\"{}\" content=\"{}\">",
                escape(name),
                escape(content)
            );
        }
        let _ = write!(html, "<title>{}</title>", escape(self.title));
        if let Some(href) = self.stylesheet {
            let _ = write!(html, "<link rel=\"stylesheet\" href=\"{}\">", escape(href));
        }
        for src in &self.scripts {
            let _ = write!(html, "<script src=\"{}\" defer></script>", escape(src));
        }
        html.push_str("</head><body");
        for (name, value) in &self.data {
            let _ = write!(html, " data-{}=\"{}\"", escape(name), escape(value));
        }
        let _ = write!(html, ">{body}</body></html>");
        html
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">'&"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;"
        );
        assert_eq!(escape("防災 ごみ"), "防災 ごみ");
    }

    #[test]
    fn a_page_has_its_language_viewport_and_only_external_code() {
        let html = Page::new("ja-easy", "<登録>")
            .stylesheet("/register.css")
            .script("/register.js")
            .meta("csrf-token", "a\"b")
            .data("page", "login")
            .render("<main>x</main>");
        assert_eq!(
            html,
            "<!DOCTYPE html><html lang=\"ja\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <meta name=\"csrf-token\" content=\"a&quot;b\"><title>&lt;登録&gt;</title>\
             <link rel=\"stylesheet\" href=\"/register.css\"><script src=\"/register.js\" defer></script>\
             </head><body data-page=\"login\"><main>x</main></body></html>"
        );
        assert!(!html.contains("<style") && !html.contains("<script>"));
    }
}
