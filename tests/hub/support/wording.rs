//! "No developer English on a Japanese page": what a resident or staff member reads on a page or in a message
//! is checked for runs of English words. A page in Japanese (or やさしい日本語, Chinese, Korean, Vietnamese) may
//! show names that are English everywhere (LINE, FAQ, URLs, e-mail addresses, the language menu's "English"),
//! and nothing else in Latin letters of three words or more.

/// Words a Japanese page may show in Latin letters: product names, the language menu, units.
const ALLOWED: &[&str] = &[
    "line",
    "faq",
    "url",
    "english",
    "tiếng",
    "việt",
    "id",
    "qr",
    "pdf",
    "csv",
    "web",
    "push",
    "app",
    "ok",
    "email",
    "e-mail",
    "mail",
    "http",
    "https",
    "www",
    "yukuhashi",
    "cap",
    "jma",
    "ai",
    "sms",
    "pr",
    "am",
    "pm",
];

/// The visible text of an HTML page: tags, `<script>`, `<style>` and comments removed, entities kept as written.
/// An element marked in another language than the page's (`<blockquote lang="en">` quoting a real English notice
/// body on a Japanese console page) is left out with everything inside it: it is meant to be in that language.
/// The page's language is its `<html lang>`, else Japanese.
pub fn visible_text(html: &str) -> String {
    let lower_html = html.to_ascii_lowercase();
    let page_lang = lower_html
        .find("<html")
        .and_then(|at| {
            let tag = &lower_html[at..];
            lang_attribute(&tag[..tag.find('>').unwrap_or(tag.len())])
        })
        .unwrap_or_else(|| "ja".to_owned());
    let mut text = String::with_capacity(html.len());
    let mut at = 0;
    while let Some(found) = lower_html[at..].find('<') {
        let start = at + found;
        text.push_str(&html[at..start]);
        text.push(' ');
        let after = &lower_html[start..];
        let close = if after.starts_with("<script") {
            "</script>"
        } else if after.starts_with("<style") {
            "</style>"
        } else if after.starts_with("<!--") {
            "-->"
        } else {
            ">"
        };
        let Some(end) = after.find(close) else {
            at = html.len();
            break;
        };
        at = start + end + close.len();
        if close == ">" && !after.starts_with("</") && !after.starts_with("<!") {
            let tag = &after[..end];
            let name: String = tag[1..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            let other_language = name != "html"
                && lang_attribute(tag).is_some_and(|lang| primary(&lang) != primary(&page_lang));
            if other_language && !tag.ends_with('/') && !VOID.contains(&name.as_str()) {
                at = element_end(&lower_html, at, &name);
            }
        }
    }
    text.push_str(&html[at..]);
    text
}

/// Elements without content or closing tag.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];

/// The `lang` attribute's value in an opening tag (lower case, `<p lang="en" …`), if it has one.
fn lang_attribute(tag: &str) -> Option<String> {
    let mut from = 0;
    while let Some(found) = tag[from..].find("lang=") {
        let at = from + found;
        from = at + 5;
        if !tag[..at].ends_with(|c: char| c.is_whitespace()) {
            continue;
        }
        let value = &tag[at + 5..];
        let value = match value.chars().next() {
            Some(quote @ ('"' | '\'')) => value[1..].split(quote).next().unwrap_or_default(),
            _ => value
                .split(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .next()
                .unwrap_or_default(),
        };
        return Some(value.trim().to_owned());
    }
    None
}

/// The primary language of a tag (`ja-easy` → `ja`, `zh-hans` → `zh`).
fn primary(lang: &str) -> &str {
    lang.split(['-', '_']).next().unwrap_or(lang)
}

/// Where the element `name` whose opening tag ends at `from` closes (after its `</name>`, counting nested
/// elements of the same name); the end of the page if it never does.
fn element_end(lower_html: &str, from: usize, name: &str) -> usize {
    let open = format!("<{name}");
    let close = format!("</{name}");
    let mut depth = 1;
    let mut at = from;
    while let Some(found) = lower_html[at..].find('<') {
        let start = at + found;
        let rest = &lower_html[start..];
        let ends_name = |prefix: &str| {
            rest.starts_with(prefix)
                && !rest[prefix.len()..].starts_with(|c: char| c.is_ascii_alphanumeric())
        };
        let tag_end = rest
            .find('>')
            .map_or(lower_html.len(), |end| start + end + 1);
        if ends_name(&close) {
            depth -= 1;
            if depth == 0 {
                return tag_end;
            }
        } else if ends_name(&open) && !rest[..tag_end - start].ends_with("/>") {
            depth += 1;
        }
        at = tag_end;
    }
    lower_html.len()
}

/// Runs of three or more English-looking words (Latin letters, not on the allowed list, not inside a URL or an
/// e-mail address) in `text`.
pub fn english_runs(text: &str) -> Vec<String> {
    let mut runs = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for token in
        text.split(|c: char| c.is_whitespace() || "、。「」（）()・:：,.!?！？/|\"".contains(c))
    {
        let word = token.trim_matches(|c: char| !c.is_alphanumeric());
        let latin = !word.is_empty()
            && word
                .chars()
                .all(|c| c.is_ascii_alphabetic() || c == '-' || c == '\'')
            && word.chars().any(|c| c.is_ascii_alphabetic());
        let allowed = ALLOWED.contains(&word.to_ascii_lowercase().as_str())
            || token.contains('@')
            || token.contains("://");
        if latin && !allowed && word.len() > 1 {
            current.push(word);
        } else if !token.trim().is_empty() {
            if current.len() >= 3 {
                runs.push(current.join(" "));
            }
            current.clear();
        }
    }
    if current.len() >= 3 {
        runs.push(current.join(" "));
    }
    runs
}

/// Fails naming `what` and the English found when a page or message meant for a non-English reader has any.
pub fn assert_no_developer_english(what: &str, html_or_text: &str) {
    let runs = english_runs(&visible_text(html_or_text));
    assert!(
        runs.is_empty(),
        "{what} shows English developer wording to a non-English reader: {runs:?}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_english_sentences_and_lets_names_pass() {
        assert_eq!(
            english_runs(&visible_text(
                "<p>地区: is not one of the city's districts</p><a href=\"https://x.example/a b c\">LINE で登録</a>"
            )),
            vec!["is not one of the city's districts".to_owned()]
        );
        assert!(english_runs("LINE の FAQ から English を選ぶ。mail@example.jp へ").is_empty());
        assert!(
            english_runs(&visible_text(
                "<script>let a = b and c or d;</script><p>登録</p>"
            ))
            .is_empty()
        );
    }

    #[test]
    fn text_marked_in_another_language_than_the_page_is_not_checked() {
        let page = "<html lang=\"ja\"><body><h1>お知らせの確認</h1>\
                    <blockquote lang=\"en\"><p>The library is closed on Monday.</p>\
                    <div><p>Please come another day.</p></div></blockquote>\
                    <p lang='ja-easy'>としょかんは やすみです</p>\
                    <p>the page's own text is still checked</p></body></html>";
        let text = visible_text(page);
        assert!(!text.contains("library"), "{text}");
        assert!(!text.contains("another day"), "{text}");
        assert!(text.contains("としょかん"), "same language is kept: {text}");
        assert_eq!(
            english_runs(&text),
            vec!["the page's own text is still checked".to_owned()]
        );
        // Nested elements of the same name close in the right place; `hreflang` is not `lang`.
        let nested = visible_text(
            "<div lang=\"en\"><div>inner words here</div>outer words too</div>\
             <a hreflang=\"en\" href=\"/x\">日本語のリンク</a><p>後ろの文</p>",
        );
        assert!(!nested.contains("words"), "{nested}");
        assert!(
            nested.contains("日本語のリンク") && nested.contains("後ろの文"),
            "{nested}"
        );
        // On an English page, English is the page's language: an English element stays.
        let english =
            visible_text("<html lang=\"en\"><p lang=\"en-GB\">kept as the page's</p></html>");
        assert!(english.contains("kept as the page's"), "{english}");
    }
}
