//! Keeps residents' addresses out of the logs: email addresses, LINE user ids and long URL paths (Web Push
//! endpoints, signed links) are masked. [`mask`] is used on every log line (see `telemetry::init_logging`), so
//! an address inside an error message from a provider or the database is masked too; [`address`] masks one
//! known address where code wants to name it.

use std::borrow::Cow;

/// URL paths longer than this are cut: push endpoints and signed links carry their secret there.
const URL_PATH_KEEP: usize = 24;

/// One address, masked: `t***@example.jp`, `U1a2b…`, `https://fcm.googleapis.com/…`.
pub fn address(address: &str) -> String {
    let masked = mask(address);
    if masked != address {
        return masked.into_owned();
    }
    // Not recognised as any kind of address: keep only its first character.
    match address.chars().next() {
        Some(first) => format!("{first}***"),
        None => String::new(),
    }
}

fn is_local_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')
}

fn is_hex_lower(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

/// `text` with every address in it masked; borrowed when there was nothing to mask.
pub fn mask(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    // `copied` is how much of `text` is already in `out`.
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        // A URL: keep scheme and host, cut a long path.
        if (bytes[i..].starts_with(b"https://") || bytes[i..].starts_with(b"http://"))
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
        {
            let host_start = i + if bytes[i + 4] == b's' { 8 } else { 7 };
            let mut end = host_start;
            while end < bytes.len() && !bytes[end].is_ascii_whitespace() && bytes[end] != b'"' {
                end += 1;
            }
            let host_end = text[host_start..end]
                .find(['/', '?', '#'])
                .map_or(end, |at| host_start + at);
            if end - host_end > URL_PATH_KEEP {
                let buffer = out.get_or_insert_with(String::new);
                buffer.push_str(&text[copied..host_end]);
                buffer.push_str("/…");
                copied = end;
            }
            i = end;
            continue;
        }
        // A LINE user, group or room id: U/C/R and 32 lowercase hex digits.
        if matches!(bytes[i], b'U' | b'C' | b'R')
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
            && bytes.len() >= i + 33
            && bytes[i + 1..i + 33].iter().all(|b| is_hex_lower(*b))
            && bytes.get(i + 33).is_none_or(|b| !b.is_ascii_alphanumeric())
        {
            let buffer = out.get_or_insert_with(String::new);
            buffer.push_str(&text[copied..i + 5]);
            buffer.push('…');
            copied = i + 33;
            i += 33;
            continue;
        }
        // An email address: keep the first character of the local part and the domain.
        if bytes[i] == b'@' && i > 0 && is_local_char(bytes[i - 1]) {
            let mut start = i;
            while start > copied && is_local_char(bytes[start - 1]) {
                start -= 1;
            }
            let mut end = i + 1;
            while end < bytes.len() && is_domain_char(bytes[end]) {
                end += 1;
            }
            let domain = &text[i + 1..end];
            if start < i && domain.contains('.') && !domain.starts_with('.') {
                let buffer = out.get_or_insert_with(String::new);
                buffer.push_str(&text[copied..=start]);
                buffer.push_str("***");
                copied = i;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    match out {
        Some(mut buffer) => {
            buffer.push_str(&text[copied..]);
            Cow::Owned(buffer)
        }
        None => Cow::Borrowed(text),
    }
}

/// A log writer that masks each line before it reaches stderr.
#[derive(Debug, Clone, Copy, Default)]
pub struct MaskedStderr;

impl std::io::Write for MaskedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The formatter writes one whole event per call, so an address is never split across calls.
        let text = String::from_utf8_lossy(buf);
        std::io::stderr().write_all(mask(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for MaskedStderr {
    type Writer = MaskedStderr;

    fn make_writer(&'a self) -> Self::Writer {
        MaskedStderr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_keep_their_first_letter_and_domain() {
        assert_eq!(
            mask("550 5.1.1 <taro.yamada@example.jp>: no such user"),
            "550 5.1.1 <t***@example.jp>: no such user"
        );
        assert_eq!(mask("a@b.c and x@y.z"), "a***@b.c and x***@y.z");
        assert_eq!(mask("not @ an address"), "not @ an address");
        assert_eq!(mask("user@localhost"), "user@localhost");
    }

    #[test]
    fn line_ids_are_cut() {
        let id = "U4af4980629a0b9d2a4c1f0a6e7a7b2c1";
        assert_eq!(mask(&format!("to={id} ok")), "to=U4af4… ok".to_string());
        // Not an id: too short, upper-case hex, or part of a longer word.
        assert_eq!(mask("U4af4980629"), "U4af4980629");
        assert_eq!(
            mask("XU4af4980629a0b9d2a4c1f0a6e7a7b2c1"),
            "XU4af4980629a0b9d2a4c1f0a6e7a7b2c1"
        );
    }

    #[test]
    fn long_url_paths_are_cut() {
        assert_eq!(
            mask("push to https://fcm.googleapis.com/fcm/send/dGhpcyBpcyBhIHRva2Vu:APA91bH failed"),
            "push to https://fcm.googleapis.com/… failed"
        );
        assert_eq!(
            mask("https://api.line.me/v2/bot/info"),
            "https://api.line.me/v2/bot/info"
        );
        assert_eq!(mask("「住民票」"), "「住民票」");
    }

    #[test]
    fn one_address_is_always_masked() {
        assert_eq!(address("hanako@example.jp"), "h***@example.jp");
        assert_eq!(address("U4af4980629a0b9d2a4c1f0a6e7a7b2c1"), "U4af4…");
        assert_eq!(address("odd"), "o***");
        assert_eq!(address(""), "");
    }

    #[test]
    fn masking_never_panics_on_odd_text() {
        for text in [
            "@",
            "a@",
            "@b.c",
            "http://",
            "https://",
            "U",
            "日本@例.jp",
            "x@y.日本",
            "U\u{3042}",
        ] {
            let _ = mask(text);
            let _ = address(text);
        }
    }
}
