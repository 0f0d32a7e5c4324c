//! The console's pages, rendered on the server as plain HTML strings. Everything from the database or a form is
//! escaped with [`esc`]; data the scripts need travels in `data-*` attributes (no inline script).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::{Duration, TimeZone, Utc};
use chrono_tz::Asia::Tokyo;
use serde::Deserialize;
use sqlx::Row;

use super::{ConsoleUser, faq_edit};
use crate::AppState;
use crate::audit;
use crate::auth::Role;
use crate::error::ApiError;
use crate::residents::ChannelKind;

pub fn routes() -> axum::Router<AppState> {
    Router::new()
        .route("/admin", get(dashboard))
        .route("/admin/", get(dashboard))
        .route("/admin/residents", get(residents))
        .route("/admin/residents/{external_id}", get(resident))
        .route("/admin/notices", get(notices))
        .route("/admin/notices/{id}", get(notice_report))
        .route("/admin/emergency", get(emergency))
        .route("/admin/faq", get(faq_list))
        .route("/admin/faq/edit", get(faq_edit::form).post(faq_edit::save))
        .route("/admin/audit", get(audit_page))
}

/// HTML-escapes text for element content and quoted attribute values.
pub fn esc(text: &str) -> String {
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

fn channel_label(channel: &str) -> &'static str {
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

fn can_write_notices(role: Role) -> bool {
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
    Html(format!(
        "<!doctype html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"csrf-token\" content=\"{csrf}\">\
         <title>{title} | 行橋市 住民ハブ 管理画面</title>\
         <link rel=\"stylesheet\" href=\"/admin/static/console.css\">\
         <script src=\"/admin/static/console.js\" defer></script></head>\
         <body data-page=\"{page}\" data-role=\"{role_key}\">\
         <header class=\"top\"><a class=\"brand\" href=\"/admin\">行橋市 住民ハブ</a>\
         <nav aria-label=\"メニュー\"><ul>{nav}</ul></nav>\
         <form class=\"logout\" method=\"post\" action=\"/admin/logout\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <span class=\"who\">{user}（{role_label}）</span><button type=\"submit\">ログアウト</button></form>\
         </header><main id=\"main\"><h1>{title}</h1>{body}</main></body></html>",
        csrf = esc(&session.csrf),
        title = esc(title),
        page = esc(page),
        role_key = role.as_str(),
        user = esc(&session.staff.name),
        role_label = role_label(role),
    ))
}

/// The login page (the one page without a session).
pub fn login_html(csrf: &str, error: Option<&str>, username: &str) -> Html<String> {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)))
        .unwrap_or_default();
    Html(format!(
        "<!doctype html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>ログイン | 行橋市 住民ハブ 管理画面</title>\
         <link rel=\"stylesheet\" href=\"/admin/static/console.css\"></head>\
         <body data-page=\"login\"><main class=\"login\"><h1>行橋市 住民ハブ 管理画面</h1>{error}\
         <form method=\"post\" action=\"/admin/login\" class=\"card\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"username\">ユーザー名</label>\
         <input id=\"username\" name=\"username\" autocomplete=\"username\" required value=\"{username}\">\
         <label for=\"password\">パスワード</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">ログイン</button></form>\
         <p class=\"hint\">API トークンは機械向けです。職員はアカウントでログインしてください。</p></main></body></html>",
        csrf = esc(csrf),
        username = esc(username),
    ))
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

// ---------------------------------------------------------------------------------------------------------------
// Dashboard

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Midnight today in Japan, as Unix ms.
fn today_start_jst() -> i64 {
    let today = Utc::now().with_timezone(&Tokyo).date_naive();
    Tokyo
        .from_local_datetime(&today.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map(|t| t.timestamp_millis())
        .unwrap_or_else(crate::db::now_ms)
}

/// Deliveries created per Japanese day and channel over the last `days` days.
async fn deliveries_by_day(
    state: &AppState,
    days: i64,
) -> Result<(i64, BTreeMap<String, Vec<i64>>), sqlx::Error> {
    let start = today_start_jst() - (days - 1) * DAY_MS;
    let rows = sqlx::query(
        "SELECT channel, (created_at_ms - $1) / $2 AS day, COUNT(*) AS n FROM deliveries \
         WHERE created_at_ms >= $1 GROUP BY channel, (created_at_ms - $1) / $2",
    )
    .bind(start)
    .bind(DAY_MS)
    .fetch_all(&state.db.pool)
    .await?;
    let mut series: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for channel in ["line", "email", "push", "webchat"] {
        series.insert(channel.to_owned(), vec![0; days as usize]);
    }
    for row in rows {
        let channel: String = row.try_get("channel")?;
        let day: i64 = row.try_get("day")?;
        let n: i64 = row.try_get("n")?;
        if let Some(slot) = series
            .entry(channel)
            .or_insert_with(|| vec![0; days as usize])
            .get_mut(day as usize)
        {
            *slot += n;
        }
    }
    Ok((start, series))
}

/// An SVG line chart (one line per channel), drawn on the server; colours come from the stylesheet.
fn chart_svg(start_ms: i64, series: &BTreeMap<String, Vec<i64>>) -> String {
    let (width, height, left, bottom, top) = (720.0, 240.0, 44.0, 28.0, 12.0);
    let days = series.values().map(Vec::len).max().unwrap_or(0).max(2);
    let max = series
        .values()
        .flat_map(|v| v.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    // A top that divides into the four grid steps, so the axis labels are whole and distinct.
    let max = (max + 3) / 4 * 4;
    let x = |i: usize| left + (width - left - 8.0) * i as f64 / (days - 1) as f64;
    let y = |n: i64| top + (height - top - bottom) * (1.0 - n as f64 / max as f64);
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" role=\"img\" \
         aria-label=\"過去30日間のチャネル別配信数\">"
    );
    for step in 0..=4 {
        let n = max * step / 4;
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"></line>\
             <text class=\"axis\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{n}</text>",
            width - 8.0,
            left - 6.0,
            y(n) + 4.0,
            y = y(n)
        );
    }
    for i in (0..days).step_by(7) {
        let _ = write!(
            svg,
            "<text class=\"axis\" x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            x(i),
            height - 8.0,
            jst(start_ms + i as i64 * DAY_MS, "%-m/%-d")
        );
    }
    for (channel, values) in series {
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{:.1},{:.1}", x(i), y(*n)))
            .collect();
        let _ = write!(
            svg,
            "<polyline class=\"series ch-{}\" points=\"{}\"><title>{}</title></polyline>",
            esc(channel),
            points.join(" "),
            channel_label(channel)
        );
    }
    svg.push_str("</svg>");
    svg
}

async fn dashboard(State(state): State<AppState>, user: ConsoleUser) -> Response {
    match dashboard_body(&state, &user).await {
        Ok(body) => layout(&user, "dashboard", "ダッシュボード", &body).into_response(),
        Err(error) => db_error(error),
    }
}

async fn dashboard_body(state: &AppState, user: &ConsoleUser) -> Result<String, sqlx::Error> {
    let (start, series) = deliveries_by_day(state, 30).await?;
    let mut legend = String::new();
    for (channel, values) in &series {
        let _ = write!(
            legend,
            "<li><span class=\"swatch ch-{}\"></span>{}: {}件</li>",
            esc(channel),
            channel_label(channel),
            values.iter().sum::<i64>()
        );
    }
    let upcoming = sqlx::query(
        "SELECT id, title, next_fire_ms, cron FROM notices WHERE status = 'scheduled' \
         AND next_fire_ms IS NOT NULL ORDER BY next_fire_ms LIMIT 5",
    )
    .fetch_all(&state.db.pool)
    .await?;
    let mut next = String::new();
    for row in &upcoming {
        let id: i64 = row.try_get("id")?;
        let title: String = row.try_get("title")?;
        let at: i64 = row.try_get("next_fire_ms")?;
        let cron: Option<String> = row.try_get("cron")?;
        let _ = write!(
            next,
            "<li><time>{}</time> <a href=\"/admin/notices/{id}\">{}</a>{}</li>",
            jst(at, "%-m月%-d日 %H:%M"),
            esc(&title),
            if cron.is_some() {
                " <span class=\"tag\">繰り返し</span>"
            } else {
                ""
            }
        );
    }
    if next.is_empty() {
        next = "<li class=\"muted\">予定されているお知らせはありません。</li>".into();
    }
    let week_start = crate::db::now_ms() - 7 * DAY_MS;
    let outcomes = sqlx::query(
        "SELECT outcome, COUNT(*) AS n FROM chat_log WHERE at_ms >= $1 GROUP BY outcome",
    )
    .bind(week_start)
    .fetch_all(&state.db.pool)
    .await?;
    let (mut answered, mut candidates, mut missed) = (0i64, 0i64, 0i64);
    for row in &outcomes {
        let outcome: String = row.try_get("outcome")?;
        let n: i64 = row.try_get("n")?;
        match outcome.as_str() {
            "answered" => answered += n,
            "candidates" => candidates += n,
            _ => missed += n,
        }
    }
    let emergencies = if can_broadcast(user.0.staff.role) {
        "<section class=\"card\"><h2>最近の緊急配信</h2>\
         <ul id=\"recent-emergencies\" class=\"list\" aria-live=\"polite\"><li class=\"muted\">読み込み中…</li></ul>\
         </section>"
    } else {
        ""
    };
    Ok(format!(
        "<div class=\"grid\">\
         <section class=\"card wide\"><h2>過去30日間の配信数（チャネル別）</h2>{chart}\
         <ul class=\"legend\">{legend}</ul></section>\
         <section class=\"card\"><h2>次に送るお知らせ</h2><ul class=\"list\">{next}</ul>\
         <p><a href=\"/admin/notices\">お知らせの予定をすべて見る</a></p></section>\
         {emergencies}\
         <section class=\"card\"><h2>過去7日間のFAQ</h2><dl class=\"stats\">\
         <dt>回答できた質問</dt><dd id=\"faq-answered\">{answered}</dd>\
         <dt>候補を示した質問</dt><dd>{candidates}</dd>\
         <dt>回答できなかった質問</dt><dd id=\"faq-missed\">{missed}</dd></dl>\
         {faq_link}</section></div>",
        chart = chart_svg(start, &series),
        faq_link = if user.0.staff.role == Role::Disaster {
            ""
        } else {
            "<p><a href=\"/admin/faq\">回答できなかった質問を見る</a></p>"
        },
    ))
}

// ---------------------------------------------------------------------------------------------------------------
// Residents

#[derive(Deserialize)]
struct ResidentSearch {
    #[serde(default)]
    q: String,
    #[serde(default)]
    district: String,
}

fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

async fn residents(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(search): Query<ResidentSearch>,
) -> Response {
    let q = search.q.trim();
    let district = search.district.trim();
    let rows = sqlx::query(
        "SELECT external_id, birth_date, district, language FROM residents \
         WHERE ($1 = '' OR external_id LIKE $2 ESCAPE '\\') AND ($3 = '' OR district = $3) \
         ORDER BY external_id LIMIT 101",
    )
    .bind(q)
    .bind(like_pattern(q))
    .bind(district)
    .fetch_all(&state.db.pool)
    .await;
    let rows = match rows {
        Ok(rows) => rows,
        Err(error) => return db_error(error),
    };
    let total: i64 = match sqlx::query_scalar("SELECT COUNT(*) FROM residents")
        .fetch_one(&state.db.pool)
        .await
    {
        Ok(n) => n,
        Err(error) => return db_error(error),
    };
    let mut options = String::from("<option value=\"\">すべての地区</option>");
    for d in &state.config.districts {
        let selected = if d == district { " selected" } else { "" };
        let _ = write!(options, "<option{selected}>{}</option>", esc(d));
    }
    let mut table = String::new();
    for row in rows.iter().take(100) {
        let id: String = row.try_get("external_id").unwrap_or_default();
        let birth: Option<String> = row.try_get("birth_date").unwrap_or_default();
        let d: Option<String> = row.try_get("district").unwrap_or_default();
        let language: String = row.try_get("language").unwrap_or_default();
        let _ = write!(
            table,
            "<tr><td><a href=\"/admin/residents/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&urlencode(&id)),
            esc(&id),
            esc(d.as_deref().unwrap_or("—")),
            esc(birth.as_deref().unwrap_or("—")),
            esc(&language)
        );
    }
    let more = if rows.len() > 100 {
        "<p class=\"muted\">100件まで表示しています。条件を絞ってください。</p>"
    } else {
        ""
    };
    let found = if table.is_empty() {
        "<p class=\"muted\">該当する住民はいません。</p>".to_owned()
    } else {
        format!(
            "<table><thead><tr><th>住民ID</th><th>地区</th><th>生年月日</th><th>言語</th></tr></thead>\
             <tbody>{table}</tbody></table>{more}"
        )
    };
    let import = if user.0.staff.role == Role::Admin {
        "<section class=\"card\"><h2>CSVの取り込み</h2>\
         <p class=\"muted\">1行目に列名（住民ID, 生年月日, 地区, 言語, 関心, LINEユーザーID, メールアドレス）。\
         1行でも誤りがあればファイル全体を取り込みません。</p>\
         <form id=\"import-form\"><label for=\"import-file\">CSVファイル</label>\
         <input id=\"import-file\" type=\"file\" accept=\".csv,text/csv\" required>\
         <label for=\"import-encoding\">文字コード</label>\
         <select id=\"import-encoding\"><option value=\"utf-8\">UTF-8</option>\
         <option value=\"shift_jis\">Shift_JIS</option></select>\
         <button type=\"submit\">取り込む</button></form>\
         <progress id=\"import-progress\" max=\"100\" value=\"0\" hidden></progress>\
         <div id=\"import-result\" aria-live=\"polite\"></div></section>"
    } else {
        ""
    };
    let body = format!(
        "<section class=\"card\"><form method=\"get\" action=\"/admin/residents\" class=\"inline\">\
         <label for=\"q\">住民ID</label><input id=\"q\" name=\"q\" value=\"{q}\">\
         <label for=\"district\">地区</label><select id=\"district\" name=\"district\">{options}</select>\
         <button type=\"submit\">検索</button></form>\
         <p>登録住民: {total}人</p>{found}</section>{import}",
        q = esc(q),
    );
    layout(&user, "residents", "住民", &body).into_response()
}

/// Percent-encodes a path segment.
fn urlencode(text: &str) -> String {
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

async fn resident(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(external_id): Path<String>,
) -> Response {
    let found = match crate::residents::find(&state.db, &external_id).await {
        Ok(found) => found,
        Err(error) => return db_error(error),
    };
    let Some(view) = found else {
        return (
            StatusCode::NOT_FOUND,
            layout(
                &user,
                "residents",
                "住民",
                &format!(
                    "<p class=\"error\">住民ID {} は登録されていません。</p>",
                    esc(&external_id)
                ),
            ),
        )
            .into_response();
    };
    let mut channels = Vec::new();
    if view.channels.line.is_some() {
        channels.push("LINE");
    }
    if view.channels.email.is_some() {
        channels.push("メール");
    }
    if view.channels.push.is_some() {
        channels.push("プッシュ通知");
    }
    let preferred: Vec<&str> = view
        .preferred
        .iter()
        .map(|c: &ChannelKind| channel_label(c.as_str()))
        .collect();
    let inactive: Vec<&str> = view
        .inactive_channels
        .iter()
        .map(|c| channel_label(c.as_str()))
        .collect();
    let body = format!(
        "<section class=\"card\"><dl class=\"fields\">\
         <dt>住民ID</dt><dd>{id}</dd><dt>生年月日</dt><dd>{birth}</dd><dt>地区</dt><dd>{district}</dd>\
         <dt>言語</dt><dd>{language}</dd><dt>関心</dt><dd>{interests}</dd>\
         <dt>連絡手段</dt><dd>{channels}</dd><dt>優先順</dt><dd>{preferred}</dd>\
         <dt>停止中の連絡手段</dt><dd>{inactive}</dd>\
         <dt>登録</dt><dd>{created}</dd><dt>更新</dt><dd>{updated}</dd></dl>\
         <p><a href=\"/admin/residents\">住民の一覧へ戻る</a></p></section>",
        id = esc(&view.external_id),
        birth = esc(view.birth_date.as_deref().unwrap_or("—")),
        district = esc(view.district.as_deref().unwrap_or("—")),
        language = esc(&view.language),
        interests = esc(&view.interests.join("、")),
        channels = esc(&channels.join("、")),
        preferred = esc(&preferred.join(" → ")),
        inactive = esc(&if inactive.is_empty() {
            "なし".to_owned()
        } else {
            inactive.join("、")
        }),
        created = esc(&view.created_at),
        updated = esc(&view.updated_at),
    );
    layout(&user, "residents", "住民の詳細", &body).into_response()
}

// ---------------------------------------------------------------------------------------------------------------
// Notices

fn checkboxes(name: &str, values: &[String]) -> String {
    let mut out = String::new();
    for (i, value) in values.iter().enumerate() {
        let _ = write!(
            out,
            "<label class=\"check\"><input type=\"checkbox\" name=\"{name}\" id=\"{name}-{i}\" value=\"{v}\"> {v}</label>",
            v = esc(value)
        );
    }
    out
}

#[derive(Deserialize)]
struct NoticesQuery {
    created: Option<i64>,
}

async fn notices(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(query): Query<NoticesQuery>,
) -> Response {
    let rows = sqlx::query(
        "SELECT id, title, next_fire_ms, cron, status, segment, channels, fire_count, last_fired_at_ms \
         FROM notices ORDER BY id DESC LIMIT 200",
    )
    .fetch_all(&state.db.pool)
    .await;
    let rows = match rows {
        Ok(rows) => rows,
        Err(error) => return db_error(error),
    };
    let writer = can_write_notices(user.0.staff.role);
    // The calendar: scheduled notices grouped by their next day in Japan, soonest first.
    let mut days: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    let mut past = String::new();
    for row in &rows {
        let id: i64 = row.try_get("id").unwrap_or_default();
        let title: String = row.try_get("title").unwrap_or_default();
        let status: String = row.try_get("status").unwrap_or_default();
        let next: Option<i64> = row.try_get("next_fire_ms").unwrap_or_default();
        let cron: Option<String> = row.try_get("cron").unwrap_or_default();
        let segment: String = row.try_get("segment").unwrap_or_default();
        match (status.as_str(), next) {
            ("scheduled", Some(at)) => {
                let cancel = if writer {
                    format!(
                        "<button type=\"button\" class=\"secondary\" data-cancel=\"{id}\">取り消す</button>"
                    )
                } else {
                    String::new()
                };
                let repeat = cron
                    .map(|c| format!(" <span class=\"tag\">繰り返し {}</span>", esc(&c)))
                    .unwrap_or_default();
                days.entry(at).or_default().push(format!(
                    "<li class=\"notice\" data-notice=\"{id}\"><time datetime=\"{iso}\">{time}</time> \
                     <a href=\"/admin/notices/{id}\">{title}</a>{repeat} \
                     <span class=\"muted\">対象: {segment}</span> {cancel}</li>",
                    iso = jst(at, "%Y-%m-%dT%H:%M:%S%:z"),
                    time = jst(at, "%H:%M"),
                    title = esc(&title),
                    segment = esc(if segment.is_empty() { "全員" } else { &segment }),
                ));
            }
            _ => {
                let last: Option<i64> = row.try_get("last_fired_at_ms").unwrap_or_default();
                let _ = write!(
                    past,
                    "<tr><td><a href=\"/admin/notices/{id}\">{}</a></td><td>{}</td><td>{}</td></tr>",
                    esc(&title),
                    status_label(&status),
                    last.map(|t| jst(t, "%Y-%m-%d %H:%M")).unwrap_or_default()
                );
            }
        }
    }
    let mut calendar = String::new();
    let mut current_day = String::new();
    for (at, items) in &days {
        let day = jst(*at, "%Y年%-m月%-d日（%a）");
        if day != current_day {
            if !current_day.is_empty() {
                calendar.push_str("</ul></li>");
            }
            let _ = write!(
                calendar,
                "<li class=\"day\"><h3>{}</h3><ul>",
                weekday_ja(&day)
            );
            current_day = day;
        }
        for item in items {
            calendar.push_str(item);
        }
    }
    if !current_day.is_empty() {
        calendar.push_str("</ul></li>");
    }
    if calendar.is_empty() {
        calendar = "<li class=\"muted\">予定されているお知らせはありません。</li>".into();
    }
    let created = query
        .created
        .map(|id| format!("<p class=\"ok\" role=\"status\">お知らせ {id} を登録しました。</p>"))
        .unwrap_or_default();
    let compose = if writer {
        compose_form(&state)
    } else {
        String::new()
    };
    let past = if past.is_empty() {
        String::new()
    } else {
        format!(
            "<section class=\"card\"><h2>送信済み・取り消し</h2><table><thead><tr><th>件名</th><th>状態</th>\
             <th>最終送信</th></tr></thead><tbody>{past}</tbody></table></section>"
        )
    };
    let body = format!(
        "{created}<section class=\"card\"><h2>配信予定（日本時間）</h2>\
         <ul id=\"calendar\" class=\"calendar\">{calendar}</ul>\
         <div id=\"cancel-result\" aria-live=\"polite\"></div></section>{compose}{past}"
    );
    layout(&user, "notices", "お知らせ", &body).into_response()
}

/// chrono prints English weekday names; the console speaks Japanese.
fn weekday_ja(text: &str) -> String {
    [
        ("Mon", "月"),
        ("Tue", "火"),
        ("Wed", "水"),
        ("Thu", "木"),
        ("Fri", "金"),
        ("Sat", "土"),
        ("Sun", "日"),
    ]
    .iter()
    .fold(text.to_owned(), |acc, (en, ja)| acc.replace(en, ja))
}

fn status_label(status: &str) -> &'static str {
    match status {
        "scheduled" => "予定",
        "fired" => "送信済み",
        "cancelled" => "取り消し",
        "failed" => "失敗",
        _ => "その他",
    }
}

fn compose_form(state: &AppState) -> String {
    let languages: Vec<String> = ["ja", "en", "zh", "ko", "vi"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let tomorrow = (Utc::now().with_timezone(&Tokyo) + Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    format!(
        "<section class=\"card\"><h2>お知らせを作成</h2>\
         <form id=\"compose\" novalidate>\
         <label for=\"n-title\">件名</label><input id=\"n-title\" required maxlength=\"200\">\
         <label for=\"n-body-ja\">本文（日本語）</label><textarea id=\"n-body-ja\" rows=\"5\" required></textarea>\
         <label for=\"n-body-en\">本文（英語・任意）</label><textarea id=\"n-body-en\" rows=\"3\"></textarea>\
         <fieldset id=\"segment-builder\"><legend>対象（セグメント）</legend>\
         <div class=\"row\"><label for=\"age-min\">年齢（以上）</label>\
         <input id=\"age-min\" type=\"number\" min=\"0\" max=\"130\" inputmode=\"numeric\">\
         <label for=\"age-max\">年齢（以下）</label>\
         <input id=\"age-max\" type=\"number\" min=\"0\" max=\"130\" inputmode=\"numeric\"></div>\
         <p class=\"group\">地区</p><div class=\"checks\">{districts}</div>\
         <p class=\"group\">関心</p><div class=\"checks\">{interests}</div>\
         <p class=\"group\">言語</p><div class=\"checks\">{languages}</div>\
         <label for=\"n-rule\">条件式（自動作成・編集可）</label><input id=\"n-rule\" value=\"all\" spellcheck=\"false\">\
         <p class=\"count\">対象人数: <output id=\"segment-count\" for=\"n-rule\" aria-live=\"polite\">—</output></p>\
         <p id=\"segment-error\" class=\"error\" hidden></p></fieldset>\
         <fieldset><legend>配信チャネル</legend><div class=\"checks\">\
         <label class=\"check\"><input type=\"checkbox\" name=\"channel\" value=\"line\" checked> LINE</label>\
         <label class=\"check\"><input type=\"checkbox\" name=\"channel\" value=\"push\" checked> プッシュ通知</label>\
         <label class=\"check\"><input type=\"checkbox\" name=\"channel\" value=\"email\" checked> メール</label>\
         <label class=\"check\"><input type=\"checkbox\" name=\"channel\" value=\"webchat\"> Webチャット</label>\
         </div></fieldset>\
         <fieldset><legend>配信日時（日本時間）</legend>\
         <label class=\"check\"><input type=\"radio\" name=\"when\" value=\"now\"> すぐに送る</label>\
         <label class=\"check\"><input type=\"radio\" name=\"when\" value=\"at\" checked> 日時を指定</label>\
         <label class=\"check\"><input type=\"radio\" name=\"when\" value=\"cron\"> 繰り返し</label>\
         <div class=\"row\"><label for=\"n-date\">日付</label><input id=\"n-date\" type=\"date\" value=\"{tomorrow}\">\
         <label for=\"n-time\">時刻</label><input id=\"n-time\" type=\"time\" value=\"09:00\"></div>\
         <label for=\"n-cron\">繰り返し（cron: 秒 分 時 日 月 曜日 年）</label>\
         <input id=\"n-cron\" placeholder=\"0 0 9 * * Mon *\" spellcheck=\"false\"></fieldset>\
         <fieldset><legend>プレビュー</legend><div class=\"row\">\
         <label for=\"p-resident\">住民ID</label><input id=\"p-resident\">\
         <label for=\"p-channel\">チャネル</label><select id=\"p-channel\"><option value=\"\">住民の優先チャネル</option>\
         <option value=\"line\">LINE</option><option value=\"push\">プッシュ通知</option>\
         <option value=\"email\">メール</option><option value=\"webchat\">Webチャット</option></select>\
         <button type=\"button\" id=\"preview-button\" class=\"secondary\">プレビュー</button></div>\
         <div id=\"preview\" class=\"preview\" aria-live=\"polite\"></div></fieldset>\
         <button type=\"submit\" id=\"schedule-button\">登録する</button>\
         <div id=\"compose-result\" aria-live=\"polite\"></div></form></section>",
        districts = checkboxes("district", &state.config.districts),
        interests = checkboxes("interest", &state.config.interests),
        languages = checkboxes("language", &languages),
    )
}

async fn notice_report(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
) -> Response {
    let notice = match crate::notices::find(&state.db, id).await {
        Ok(Some(notice)) => notice,
        Ok(None) => {
            return (
                StatusCode::NOT_FOUND,
                layout(
                    &user,
                    "notices",
                    "お知らせ",
                    &format!("<p class=\"error\">お知らせ {id} はありません。</p>"),
                ),
            )
                .into_response();
        }
        Err(error) => return db_error(error),
    };
    let counts = match crate::outbox::counts(&state.db, "notice", id).await {
        Ok(counts) => counts,
        Err(error) => return db_error(error),
    };
    let mut table = String::new();
    let mut total = crate::outbox::DeliveryCounts::default();
    for (channel, c) in &counts {
        total.merge(c);
        let _ = write!(
            table,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            channel_label(channel),
            c.targeted,
            c.sent,
            c.recorded,
            c.pending,
            c.failed
        );
    }
    let _ = write!(
        table,
        "<tr class=\"total\"><th scope=\"row\">合計</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        total.targeted, total.sent, total.recorded, total.pending, total.failed
    );
    let cancel = if notice.status == "scheduled" && can_write_notices(user.0.staff.role) {
        format!(
            "<button type=\"button\" class=\"secondary\" data-cancel=\"{id}\">取り消す</button>"
        )
    } else {
        String::new()
    };
    let mut bodies = String::new();
    for (language, text) in &notice.body {
        let _ = write!(
            bodies,
            "<dt>本文（{}）</dt><dd class=\"pre\">{}</dd>",
            esc(language),
            esc(text)
        );
    }
    let channels: Vec<&str> = notice
        .channels
        .iter()
        .map(|c| channel_label(c.as_str()))
        .collect();
    let body = format!(
        "<section class=\"card\"><dl class=\"fields\"><dt>件名</dt><dd>{title}</dd>{bodies}\
         <dt>対象</dt><dd><code>{segment}</code></dd><dt>チャネル</dt><dd>{channels}</dd>\
         <dt>状態</dt><dd>{status}</dd><dt>次回</dt><dd>{next}</dd><dt>繰り返し</dt><dd>{cron}</dd>\
         <dt>送信回数</dt><dd>{fires}</dd><dt>作成者</dt><dd>{by}</dd></dl>{cancel}\
         <div id=\"cancel-result\" aria-live=\"polite\"></div></section>\
         <section class=\"card\"><h2>配信レポート</h2><table class=\"counts\"><thead><tr><th>チャネル</th>\
         <th>対象</th><th>送信済み</th><th>記録のみ</th><th>待機中</th><th>失敗</th></tr></thead>\
         <tbody>{table}</tbody></table><p class=\"muted\">「記録のみ」は認証情報がないチャネルで、送信せず記録した件数です。</p></section>",
        title = esc(&notice.title),
        segment = esc(if notice.segment.is_empty() {
            "all"
        } else {
            &notice.segment
        }),
        channels = esc(&channels.join("、")),
        status = status_label(&notice.status),
        next = notice
            .next_fire_ms
            .map(|t| jst(t, "%Y-%m-%d %H:%M"))
            .unwrap_or_else(|| "—".into()),
        cron = esc(notice.cron.as_deref().unwrap_or("—")),
        fires = notice.fire_count,
        by = esc(&notice.created_by),
    );
    layout(&user, "notices", &format!("お知らせ {id}"), &body).into_response()
}

// ---------------------------------------------------------------------------------------------------------------
// Emergency

async fn emergency(State(state): State<AppState>, user: ConsoleUser) -> Response {
    if !can_broadcast(user.0.staff.role) {
        return forbidden(&user, "emergency");
    }
    // A dry run goes to the configured staff test recipients instead of the area.
    let testers = state.config.emergency_test_recipients.len();
    let mut districts = String::new();
    for (i, d) in state.config.districts.iter().enumerate() {
        let _ = write!(
            districts,
            "<label class=\"check\"><input type=\"checkbox\" name=\"e-district\" id=\"e-district-{i}\" value=\"{v}\"> {v}</label>",
            v = esc(d)
        );
    }
    let body = format!(
        "<p class=\"warning\">このページから送る緊急配信は、対象地区の全住民に、すべての連絡手段で、\
         配信停止の設定や夜間の制限に関係なく届きます。</p>\
         <section class=\"card\" id=\"e-compose\"><h2>1. 内容と地区</h2>\
         <form id=\"emergency-form\" novalidate data-test-recipients=\"{testers}\">\
         <p class=\"group\">テンプレート</p><div class=\"row\">\
         <button type=\"button\" class=\"secondary\" data-template=\"evacuation\">避難指示</button>\
         <button type=\"button\" class=\"secondary\" data-template=\"landslide\">土砂災害警戒</button>\
         <button type=\"button\" class=\"secondary\" data-template=\"water\">断水</button></div>\
         <label for=\"e-title\">件名</label><input id=\"e-title\" required maxlength=\"200\">\
         <label for=\"e-body\">本文（日本語）</label><textarea id=\"e-body\" rows=\"6\" required></textarea>\
         <fieldset><legend>対象地区</legend>\
         <label class=\"check\"><input type=\"checkbox\" id=\"e-all\"> 市内全域</label>\
         <div class=\"checks\">{districts}</div></fieldset>\
         <label class=\"check\"><input type=\"checkbox\" id=\"e-dry-run\" checked> 訓練（テスト受信者だけに送る）</label>\
         <p id=\"e-error\" class=\"error\" hidden></p>\
         <button type=\"submit\" id=\"e-next\">確認へ進む</button></form></section>\
         <section class=\"card\" id=\"e-confirm\" hidden><h2>2. 確認</h2>\
         <p id=\"e-summary\"></p><p class=\"reach\">届く住民: <strong id=\"e-reach\">—</strong>人</p>\
         <div class=\"row\"><button type=\"button\" id=\"e-send\" class=\"danger\">この内容で送信する</button>\
         <button type=\"button\" id=\"e-back\" class=\"secondary\">戻って直す</button></div></section>\
         <section class=\"card\" id=\"e-progress\" hidden><h2>3. 配信状況</h2>\
         <p id=\"e-status\" aria-live=\"polite\"></p>\
         <table class=\"counts\"><thead><tr><th>チャネル</th><th>対象</th><th>送信済み</th><th>記録のみ</th>\
         <th>待機中</th><th>失敗</th></tr></thead><tbody id=\"e-counts\"></tbody></table>\
         <dl class=\"stats\"><dt>無事</dt><dd id=\"e-safe\">0</dd><dt>助けが必要</dt><dd id=\"e-help\">0</dd></dl>\
         <h3>未確認の回答</h3><p class=\"muted\">ウェブチャットからの匿名の回答です。だれが答えたか確かめられないため、\
         上の件数と助けが必要な住民の一覧には含めていません。</p>\
         <dl class=\"stats\"><dt>無事</dt><dd id=\"e-unverified-safe\">0</dd>\
         <dt>助けが必要</dt><dd id=\"e-unverified-help\">0</dd></dl>\
         </section>\
         <section class=\"card\"><h2>最近の緊急配信</h2><ul id=\"recent-emergencies\" class=\"list\">\
         <li class=\"muted\">読み込み中…</li></ul></section>"
    );
    layout(&user, "emergency", "緊急配信", &body).into_response()
}

// ---------------------------------------------------------------------------------------------------------------
// FAQ

#[derive(Deserialize)]
struct FaqQuery {
    #[serde(default)]
    q: String,
    saved: Option<String>,
}

async fn faq_list(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(query): Query<FaqQuery>,
) -> Response {
    if user.0.staff.role == Role::Disaster {
        return forbidden(&user, "faq");
    }
    let editor = can_write_notices(user.0.staff.role);
    let misses = match crate::chat::misses::misses_by_meaning(&state.db, &state.chat.faq, 30).await
    {
        Ok(misses) => misses,
        Err(error) => return db_error(error),
    };
    let mut missed = String::new();
    for (rank, miss) in misses.iter().enumerate() {
        let action = if editor {
            format!(
                "<a class=\"button secondary\" href=\"/admin/faq/edit?question={}\">エントリにする</a>",
                esc(&urlencode(&miss.question))
            )
        } else {
            String::new()
        };
        let _ = write!(
            missed,
            "<tr><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{action}</td></tr>",
            rank + 1,
            esc(&miss.question),
            if miss.similar.is_empty() {
                String::new()
            } else {
                format!(
                    "<br><small class=\"muted\">同じ趣旨: {}</small>",
                    esc(&miss.similar.join("／"))
                )
            },
            miss.count,
            jst(miss.last_asked_ms, "%m/%d %H:%M"),
        );
    }
    if missed.is_empty() {
        missed =
            "<tr><td colspan=\"5\" class=\"muted\">回答できなかった質問はありません。</td></tr>"
                .into();
    }
    let index = state.chat.faq.index();
    let needle = faq::normalize(query.q.trim());
    let mut entries = String::new();
    let mut shown = 0;
    for entry in index.entries() {
        if !needle.is_empty()
            && !faq::normalize(&format!(
                "{} {} {}",
                entry.id, entry.question, entry.category
            ))
            .contains(&needle)
        {
            continue;
        }
        shown += 1;
        let edit = if editor {
            format!(
                "<a href=\"/admin/faq/edit?id={}\">編集</a>",
                esc(&urlencode(&entry.id))
            )
        } else {
            String::new()
        };
        let _ = write!(
            entries,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{edit}</td></tr>",
            esc(&entry.id),
            esc(&entry.category),
            esc(&entry.question)
        );
    }
    let saved = query
        .saved
        .map(|id| {
            format!(
                "<p class=\"ok\" role=\"status\">FAQ「{}」を保存しました。チャットの回答に反映されています。</p>",
                esc(&id)
            )
        })
        .unwrap_or_default();
    let status = state.chat.faq.status();
    let new_entry = if editor {
        "<p><a class=\"button\" href=\"/admin/faq/edit\">新しいエントリ</a></p>"
    } else {
        ""
    };
    let body = format!(
        "{saved}<section class=\"card\"><h2>回答できなかった質問（多い順）</h2>\
         <table><thead><tr><th>順位</th><th>質問</th><th>回数</th><th>最後</th><th></th></tr></thead>\
         <tbody>{missed}</tbody></table></section>\
         <section class=\"card\"><h2>FAQエントリ（{count}件）</h2>\
         <p class=\"muted\">保存先: {dir}</p>{new_entry}\
         <form method=\"get\" action=\"/admin/faq\" class=\"inline\"><label for=\"faq-q\">絞り込み</label>\
         <input id=\"faq-q\" name=\"q\" value=\"{q}\"><button type=\"submit\">絞り込む</button></form>\
         <p>{shown}件</p><table><thead><tr><th>ID</th><th>分類</th><th>質問</th><th></th></tr></thead>\
         <tbody>{entries}</tbody></table></section>",
        count = index.len(),
        dir = esc(&status.dir),
        q = esc(&query.q),
    );
    layout(&user, "faq", "FAQ", &body).into_response()
}

// ---------------------------------------------------------------------------------------------------------------
// Audit log

async fn audit_page(State(state): State<AppState>, user: ConsoleUser) -> Response {
    if user.0.staff.role != Role::Admin {
        return forbidden(&user, "audit");
    }
    let entries = match audit::recent(&state.db, 500).await {
        Ok(entries) => entries,
        Err(error) => return db_error(error),
    };
    let mut rows = String::new();
    for entry in &entries {
        let detail = if entry.detail.is_null() {
            String::new()
        } else {
            entry.detail.to_string()
        };
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td><code>{}</code></td></tr>",
            jst(entry.at_ms, "%Y-%m-%d %H:%M:%S"),
            esc(&entry.actor),
            esc(&entry.role),
            esc(&entry.action),
            esc(&entry.target),
            esc(&detail)
        );
    }
    let body = format!(
        "<section class=\"card\"><p class=\"muted\">新しい順に500件まで。</p><table id=\"audit\"><thead><tr>\
         <th>日時</th><th>実行者</th><th>役割</th><th>操作</th><th>対象</th><th>詳細</th></tr></thead>\
         <tbody>{rows}</tbody></table></section>"
    );
    layout(&user, "audit", "監査ログ", &body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn chart_has_a_line_per_channel() {
        let mut series = BTreeMap::new();
        series.insert("line".to_owned(), vec![0, 3, 1]);
        series.insert("email".to_owned(), vec![2, 0, 0]);
        let svg = chart_svg(0, &series);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("ch-line") && svg.contains("ch-email"));
        assert!(!svg.contains("style="));
    }
}
