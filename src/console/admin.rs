//! What wraps every console page (issue 15): `Cache-Control: no-store` on every `/admin` response (after logout,
//! Back shows nothing from the cache), a Japanese HTML 404 for an `/admin/…` path that is no page, the favicon, and
//! the 監査ログ page with its Japanese action names, readable details, filters and pages.

use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use sqlx::Row;

use super::ConsoleUser;
use super::frame::{db_error, forbidden, jst, layout, role_label, urlencode};
use crate::AppState;
use crate::auth::{Role, session};
use crate::html::{Page, escape};
use crate::messages::staff::{AUDIT_ACTIONS, StaffMsg, audit_action_label, audit_detail_label};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/audit", get(audit_page))
        .route("/admin/{*rest}", axum::routing::any(not_found_page))
}

/// The favicon (`/favicon.ico`): a small SVG, cached for a day.
pub async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("favicon.svg"),
    )
        .into_response()
}

/// Every `/admin` response is `Cache-Control: no-store`: a page shown after logout (Back) must come from the hub,
/// which sends the visitor to the login page, never from the browser's cache.
pub async fn no_store(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `/admin/…` that is no page: a Japanese page with the menu (logged in) or a link to the login (not).
async fn not_found_page(State(state): State<AppState>, request: Request) -> Response {
    let message = format!(
        "<p class=\"error\">{}</p>",
        escape(StaffMsg::NoSuchPage.ja())
    );
    let session = match session::session_cookie(request.headers()) {
        Some(cookie) => session::find_session(&state.db, cookie)
            .await
            .ok()
            .flatten(),
        None => None,
    };
    let html = match session {
        Some(session) => {
            layout(
                &ConsoleUser(session),
                "",
                "ページが見つかりません",
                &format!("{message}<p><a href=\"/admin\">ダッシュボードへ</a></p>"),
            )
            .0
        }
        None => Page::new("ja", "ページが見つかりません | 行橋市 住民ハブ 管理画面")
            .stylesheet("/admin/static/console.css")
            .render(&format!(
                "<main class=\"login\"><h1>ページが見つかりません</h1>{message}\
                 <p><a href=\"/admin/login\">ログイン画面へ</a></p></main>"
            )),
    };
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------------------------
// Audit log

/// Entries per page.
const PAGE_SIZE: i64 = 50;

#[derive(Deserialize, Default)]
struct AuditQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor: String,
    /// `YYYY-MM-DD` (Japan), inclusive.
    #[serde(default)]
    from: String,
    /// `YYYY-MM-DD` (Japan), inclusive.
    #[serde(default)]
    to: String,
    page: Option<i64>,
}

/// The start of a Japanese day in Unix ms (`None` for an empty or malformed date).
fn day_start_ms(date: &str) -> Option<i64> {
    let day = chrono::NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").ok()?;
    let midnight = day.and_hms_opt(0, 0, 0)?;
    Some(midnight.and_utc().timestamp_millis() - 9 * 60 * 60 * 1000)
}

/// One detail value as staff read it: times in Japan, yes/no, roles, lists.
fn detail_value(key: &str, value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Null => "—".to_owned(),
        Value::Bool(true) => "はい".to_owned(),
        Value::Bool(false) => "いいえ".to_owned(),
        Value::Number(n) if key.ends_with("_ms") => n
            .as_i64()
            .map(|ms| jst(ms, "%Y-%m-%d %H:%M:%S"))
            .unwrap_or_else(|| n.to_string()),
        Value::Number(n) => n.to_string(),
        Value::String(text) if key == "role" => Role::parse(text)
            .map(role_label)
            .map(str::to_owned)
            .unwrap_or_else(|| escape(text)),
        Value::String(text) => escape(text),
        Value::Array(items) => items
            .iter()
            .map(|item| detail_value(key, item))
            .collect::<Vec<_>>()
            .join("、"),
        Value::Object(map) => format_detail(map),
    }
}

fn format_detail(map: &serde_json::Map<String, serde_json::Value>) -> String {
    let mut out = String::from("<dl class=\"detail\">");
    for (key, value) in map {
        let label = audit_detail_label(key)
            .map(str::to_owned)
            .unwrap_or_else(|| escape(key));
        let _ = write!(out, "<dt>{label}</dt><dd>{}</dd>", detail_value(key, value));
    }
    out.push_str("</dl>");
    out
}

/// Who did it, as staff read it (plain text): the command line and the hub's own start are named in Japanese.
fn actor_text(actor: &str) -> String {
    if let Some(command) = actor.strip_suffix(" (command line)") {
        let what = if command.contains("import") {
            "住民の取り込み"
        } else if command.contains("staff") {
            "職員の追加"
        } else {
            "操作"
        };
        format!("コマンドライン（{what}）")
    } else if actor == "HUB_ADMIN_TOKEN (start)" {
        "ハブの起動時".to_owned()
    } else {
        actor.to_owned()
    }
}

/// [`actor_text`] for a table cell, with the recorded name in the title when it differs.
fn actor_label(actor: &str) -> String {
    let text = actor_text(actor);
    if text == actor {
        escape(actor)
    } else {
        format!("<span title=\"{}\">{}</span>", escape(actor), escape(&text))
    }
}

/// The target of an entry, linked to its page where there is one.
fn target_cell(action: &str, target: &str) -> String {
    let text = escape(target);
    let link = |path: &str| format!("<a href=\"{path}\">{text}</a>");
    match action.split('.').next().unwrap_or_default() {
        "notice" if target.parse::<i64>().is_ok() => link(&format!("/admin/notices/{target}")),
        "emergency" if target.parse::<i64>().is_ok() => link(&format!("/admin/emergency/{target}")),
        "survey" if target.parse::<i64>().is_ok() => link(&format!("/admin/surveys/{target}")),
        "resident" if target != "csv" && !target.is_empty() && !target.contains('/') => {
            link(&format!("/admin/residents/{}", urlencode(target)))
        }
        _ => text,
    }
}

async fn audit_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(query): Query<AuditQuery>,
) -> Response {
    if user.0.staff.role != Role::Admin {
        return forbidden(&user, "audit");
    }
    let from_ms = day_start_ms(&query.from).unwrap_or(i64::MIN / 2);
    let to_ms = day_start_ms(&query.to)
        .map(|ms| ms + 24 * 60 * 60 * 1000)
        .unwrap_or(i64::MAX / 2);
    let page = query.page.unwrap_or(1).clamp(1, 100_000);
    let filter =
        "($1 = '' OR action = $1) AND ($2 = '' OR actor = $2) AND at_ms >= $3 AND at_ms < $4";
    let total: i64 = match sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM audit_log WHERE {filter}"
    )))
    .bind(query.action.trim())
    .bind(query.actor.trim())
    .bind(from_ms)
    .bind(to_ms)
    .fetch_one(&state.db.pool)
    .await
    {
        Ok(total) => total,
        Err(error) => return db_error(error),
    };
    let rows = match sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT at_ms, actor, role, action, target, detail FROM audit_log WHERE {filter} \
         ORDER BY id DESC LIMIT $5 OFFSET $6"
    )))
    .bind(query.action.trim())
    .bind(query.actor.trim())
    .bind(from_ms)
    .bind(to_ms)
    .bind(PAGE_SIZE)
    .bind((page - 1) * PAGE_SIZE)
    .fetch_all(&state.db.pool)
    .await
    {
        Ok(rows) => rows,
        Err(error) => return db_error(error),
    };
    let actors: Vec<String> =
        match sqlx::query_scalar("SELECT DISTINCT actor FROM audit_log ORDER BY actor LIMIT 500")
            .fetch_all(&state.db.pool)
            .await
        {
            Ok(actors) => actors,
            Err(error) => return db_error(error),
        };

    let mut table = String::new();
    for row in &rows {
        let at_ms: i64 = row.try_get("at_ms").unwrap_or_default();
        let actor: String = row.try_get("actor").unwrap_or_default();
        let role: String = row.try_get("role").unwrap_or_default();
        let action: String = row.try_get("action").unwrap_or_default();
        let target: String = row.try_get("target").unwrap_or_default();
        let detail: String = row.try_get("detail").unwrap_or_default();
        let detail = match serde_json::from_str::<serde_json::Value>(&detail) {
            Ok(serde_json::Value::Object(map)) if !map.is_empty() => format_detail(&map),
            Ok(serde_json::Value::Null) | Ok(serde_json::Value::Object(_)) | Err(_) => {
                String::new()
            }
            Ok(other) => detail_value("", &other),
        };
        let _ = write!(
            table,
            "<tr><td>{when}</td><td class=\"wrap\">{actor}</td><td>{role}</td>\
             <td title=\"{code}\">{label}</td><td class=\"wrap\">{target}</td><td>{detail}</td></tr>",
            when = jst(at_ms, "%Y-%m-%d %H:%M:%S"),
            actor = actor_label(&actor),
            role = Role::parse(&role).map(role_label).unwrap_or("—"),
            code = escape(&action),
            label = audit_action_label(&action),
            target = target_cell(&action, &target),
        );
    }
    if table.is_empty() {
        table =
            "<tr><td colspan=\"6\" class=\"muted\">条件に合う記録はありません。</td></tr>".into();
    }

    let mut action_options = String::from("<option value=\"\">すべての操作</option>");
    for (code, label) in AUDIT_ACTIONS {
        let _ = write!(
            action_options,
            "<option value=\"{code}\"{sel}>{label}</option>",
            sel = if *code == query.action.trim() {
                " selected"
            } else {
                ""
            }
        );
    }
    let mut actor_options = String::from("<option value=\"\">すべての職員</option>");
    for actor in &actors {
        let _ = write!(
            actor_options,
            "<option value=\"{v}\"{sel}>{label}</option>",
            v = escape(actor),
            label = escape(&actor_text(actor)),
            sel = if actor == query.actor.trim() {
                " selected"
            } else {
                ""
            }
        );
    }
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let link = |page: i64| {
        format!(
            "/admin/audit?action={}&actor={}&from={}&to={}&page={page}",
            urlencode(query.action.trim()),
            urlencode(query.actor.trim()),
            urlencode(query.from.trim()),
            urlencode(query.to.trim()),
        )
    };
    let mut pager = String::new();
    if page > 1 {
        let _ = write!(
            pager,
            "<a href=\"{}\" rel=\"prev\">← 新しい記録</a>",
            escape(&link(page - 1))
        );
    }
    let _ = write!(pager, "<span>{page} / {pages} ページ（{total}件）</span>");
    if page < pages {
        let _ = write!(
            pager,
            "<a href=\"{}\" rel=\"next\">古い記録 →</a>",
            escape(&link(page + 1))
        );
    }
    let body = format!(
        "<section class=\"card\"><form method=\"get\" action=\"/admin/audit\" class=\"inline\" id=\"audit-filter\">\
         <label for=\"a-action\">操作</label><select id=\"a-action\" name=\"action\">{action_options}</select>\
         <label for=\"a-actor\">職員</label><select id=\"a-actor\" name=\"actor\">{actor_options}</select>\
         <label for=\"a-from\">期間</label><input id=\"a-from\" name=\"from\" type=\"date\" value=\"{from}\">\
         <label for=\"a-to\">〜</label><input id=\"a-to\" name=\"to\" type=\"date\" value=\"{to}\">\
         <button type=\"submit\">絞り込む</button> <a href=\"/admin/audit\">条件をクリア</a></form></section>\
         <section class=\"card\"><p class=\"hint\">新しい順に{PAGE_SIZE}件ずつ表示します。ログインの失敗は、接続元とユーザー名ごとに15分単位でまとめて記録しています。</p>\
         <table id=\"audit\"><thead><tr><th>日時</th><th>実行者</th><th>役割</th><th>操作</th><th>対象</th><th>詳細</th></tr></thead>\
         <tbody>{table}</tbody></table><nav class=\"pager\" aria-label=\"ページ\">{pager}</nav></section>",
        from = escape(query.from.trim()),
        to = escape(query.to.trim()),
    );
    layout(&user, "audit", "監査ログ", &body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_labelled_and_times_shown_in_japan() {
        let detail = serde_json::json!({"client": "10.0.0.1", "failures": 7, "from_ms": 0, "role": "pr",
                                        "dry_run": true});
        let html = format_detail(detail.as_object().expect("object"));
        assert!(html.contains("<dt>接続元</dt><dd>10.0.0.1</dd>"), "{html}");
        assert!(html.contains("<dt>失敗回数</dt><dd>7</dd>"), "{html}");
        assert!(html.contains("1970-01-01 09:00:00"), "{html}");
        assert!(
            html.contains("<dd>広報</dd>") && html.contains("<dd>はい</dd>"),
            "{html}"
        );
        assert_eq!(day_start_ms("1970-01-02"), Some(15 * 60 * 60 * 1000));
        assert_eq!(day_start_ms("yesterday"), None);
    }
}
