//! What the hub says to the city's staff (console pages, the Japanese `message` of every API error), in
//! Japanese: the staff work in Japanese. Residents' texts are in the per-language catalogues beside this file.
//!
//! Placeholders are written `{name}` and filled with [`super::fill`].

/// Everything the console and the API say to staff in words. Grouped by page or feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StaffMsg {
    // ── API errors: the default `message` for a status when the error says nothing more specific ───────────
    /// 400 about `{field}`.
    InvalidField,
    /// 400 with no field.
    InvalidRequest,
    /// 401.
    LoginRequired,
    /// 403.
    NotAllowed,
    /// 404.
    NotFound,
    /// 409.
    Conflict,
    /// 413.
    TooLarge,
    /// 429.
    TooManyRequests,
    /// 507.
    StorageFull,
    /// 500 and anything else unexpected.
    ServerTrouble,
    /// 503.
    Unavailable,
}

impl StaffMsg {
    /// The Japanese text.
    pub fn ja(self) -> &'static str {
        use StaffMsg::*;
        match self {
            InvalidField => "入力内容に誤りがあります（{field}）。",
            InvalidRequest => "入力内容に誤りがあります。",
            LoginRequired => "ログインが必要です。もう一度ログインしてください。",
            NotAllowed => "この操作を行う権限がありません。管理者にお問い合わせください。",
            NotFound => "見つかりませんでした。すでに削除されたか、URLが誤っています。",
            Conflict => {
                "ほかの操作と重なったため、実行できませんでした。画面を更新してからもう一度お試しください。"
            }
            TooLarge => "データが大きすぎます。",
            TooManyRequests => "操作が多すぎます。しばらく待ってからもう一度お試しください。",
            StorageFull => "データベースの空き容量がありません。何も保存されていません。",
            ServerTrouble => {
                "サーバーで問題が発生しました。何も変更されていません。しばらくしてからもう一度お試しください。"
            }
            Unavailable => "現在ご利用いただけません。しばらくしてからもう一度お試しください。",
        }
    }

    /// The default message for an API error's status (and field, when there is one).
    pub fn for_status(status: u16, field: Option<&str>) -> String {
        use StaffMsg::*;
        let msg = match status {
            400 | 422 if field.is_some() => InvalidField,
            400 | 422 => InvalidRequest,
            401 => LoginRequired,
            403 => NotAllowed,
            404 | 410 => NotFound,
            409 => Conflict,
            413 => TooLarge,
            429 => TooManyRequests,
            507 => StorageFull,
            503 => Unavailable,
            _ => ServerTrouble,
        };
        super::fill(msg.ja(), &[("field", field.unwrap_or_default())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_japanese_words() {
        for status in [400, 401, 403, 404, 409, 413, 429, 500, 503, 507] {
            let text = StaffMsg::for_status(status, Some("body"));
            assert!(!text.is_ascii(), "{status}: {text}");
            assert!(!text.contains('{'), "{status}: {text}");
        }
        assert_eq!(
            StaffMsg::for_status(400, Some("title")),
            "入力内容に誤りがあります（title）。"
        );
    }
}
