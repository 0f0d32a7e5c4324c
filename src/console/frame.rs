//! The frame every console page shares: the head (one stylesheet, one script, the CSRF token for it), the menu for
//! the staff member's role, logout; the login page; and the small helpers the pages share (Japanese times and
//! labels, who may do what, error responses).

use std::fmt::Write as _;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono_tz::Asia::Tokyo;

use super::ConsoleUser;
use crate::auth::Role;
use crate::error::ApiError;
use crate::html::{Page, escape};

const STYLESHEET: &str = "/admin/static/console.css";
const SCRIPT: &str = "/admin/static/console.js";

/// A console page's head: Japanese, the console's stylesheet.
fn console_page(title: &str) -> Page<'_> {
    Page::new("ja", title).stylesheet(STYLESHEET)
}

/// A Unix-ms time in Japan, formatted with a chrono pattern.
pub fn jst(ms: i64, pattern: &str) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(&Tokyo).format(pattern).to_string())
        .unwrap_or_default()
}

pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::Admin => "管理者",
        Role::Pr => "広報",
        Role::Disaster => "防災",
        Role::Viewer => "閲覧",
    }
}

pub(super) fn channel_label(channel: &str) -> &'static str {
    match channel {
        "line" => "LINE",
        "email" => "メール",
        "push" => "プッシュ通知",
        "webchat" => "Webチャット",
        _ => "その他",
    }
}

/// Who may see the emergency page and its menu item.
pub fn can_broadcast(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Disaster)
}

pub(super) fn can_write_notices(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Pr)
}

/// The frame of every page: head with the one stylesheet and script, the menu for the user's role, logout.
pub fn layout(user: &ConsoleUser, page: &str, title: &str, body: &str) -> Html<String> {
    let session = &user.0;
    let role = session.staff.role;
    let mut menu = vec![
        ("dashboard", "/admin", "ダッシュボード"),
        ("residents", "/admin/residents", "住民"),
        ("notices", "/admin/notices", "お知らせ"),
    ];
    if can_broadcast(role) {
        menu.push(("emergency", "/admin/emergency", "緊急配信"));
        menu.push(("jma", "/admin/jma", "気象庁"));
    }
    if super::surveys::can_read(role) {
        menu.push(("surveys", "/admin/surveys", "アンケート"));
    }
    if role != Role::Disaster {
        menu.push(("faq", "/admin/faq", "FAQ"));
    }
    if role == Role::Admin {
        menu.push(("audit", "/admin/audit", "監査ログ"));
        menu.push(("staff", "/admin/staff", "職員"));
        menu.push(("tokens", "/admin/tokens", "APIトークン"));
    }
    let mut nav = String::new();
    for (key, href, label) in menu {
        let current = if key == page {
            " aria-current=\"page\""
        } else {
            ""
        };
        let class = if key == "emergency" {
            " class=\"danger\""
        } else {
            ""
        };
        let _ = write!(
            nav,
            "<li><a href=\"{href}\"{current}{class}>{label}</a></li>"
        );
    }
    let full_title = format!("{title} | 行橋市 住民ハブ 管理画面");
    let body = format!(
        "<header class=\"top\"><a class=\"brand\" href=\"/admin\">行橋市 住民ハブ</a>\
         <nav aria-label=\"メニュー\"><ul>{nav}</ul></nav>\
         <form class=\"logout\" method=\"post\" action=\"/admin/logout\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <span class=\"who\">{user}（{role_label}）</span><button type=\"submit\">ログアウト</button></form>\
         </header><main id=\"main\"><h1>{title}</h1>{body}</main>",
        csrf = escape(&session.csrf),
        title = escape(title),
        user = escape(&session.staff.name),
        role_label = role_label(role),
    );
    Html(
        console_page(&full_title)
            .script(SCRIPT)
            .meta("csrf-token", &session.csrf)
            .data("page", page)
            .data("role", role.as_str())
            .render(&body),
    )
}

/// The login page (the one page without a session).
pub fn login_html(csrf: &str, error: Option<&str>, username: &str) -> Html<String> {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    Html(console_page("ログイン | 行橋市 住民ハブ 管理画面").data("page", "login").render(&format!(
        "<main class=\"login\"><h1>行橋市 住民ハブ 管理画面</h1>{error}\
         <form method=\"post\" action=\"/admin/login\" class=\"card\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"username\">ユーザー名</label>\
         <input id=\"username\" name=\"username\" autocomplete=\"username\" required value=\"{username}\">\
         <label for=\"password\">パスワード</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">ログイン</button></form>\
         <p class=\"hint\">API トークンは機械向けです。職員はアカウントでログインしてください。</p></main>",
        csrf = escape(csrf),
        username = escape(username),
    )))
}

/// A page the user's role may not open: 403 with the menu still there.
pub(super) fn forbidden(user: &ConsoleUser, page: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        layout(
            user,
            page,
            "権限がありません",
            "<p class=\"error\">このページを開く権限がありません。必要な場合は管理者に依頼してください。</p>",
        ),
    )
        .into_response()
}

pub(super) fn db_error(error: sqlx::Error) -> Response {
    ApiError::from(error).into_response()
}

/// Percent-encodes a path segment.
pub(super) fn urlencode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}
