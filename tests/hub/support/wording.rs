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
pub fn visible_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        text.push_str(&rest[..start]);
        text.push(' ');
        let after = &rest[start..];
        let lower = after.get(..8).unwrap_or(after).to_ascii_lowercase();
        let close = if lower.starts_with("<script") {
            "</script>"
        } else if lower.starts_with("<style") {
            "</style>"
        } else if lower.starts_with("<!--") {
            "-->"
        } else {
            ">"
        };
        match after.to_ascii_lowercase().find(close) {
            Some(end) => rest = &after[end + close.len()..],
            None => {
                rest = "";
            }
        }
    }
    text.push_str(rest);
    text
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
}
