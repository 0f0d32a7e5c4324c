//! The console's pages, rendered on the server as plain HTML strings inside [`super::frame::layout`]. Everything
//! from the database or a form is escaped with [`escape`]; data the scripts need travels in `data-*` attributes
//! (no inline script). The SQL is [`super::queries`], the charts [`super::charts`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Duration, Utc};
use chrono_tz::Asia::Tokyo;
use serde::Deserialize;

use super::charts::chart_svg;
use super::frame::{
    can_broadcast, can_write_notices, channel_label, db_error, forbidden, jst, layout, urlencode,
};
use super::queries::{self, DAY_MS};
use super::{ConsoleUser, faq_edit};
use crate::AppState;
use crate::auth::Role;
use crate::html::escape;
use crate::residents::ChannelKind;

pub fn routes() -> axum::Router<AppState> {
    Router::new()
        .route("/admin", get(dashboard))
        .route("/admin/", get(dashboard))
        .route("/admin/residents", get(residents))
        .route("/admin/residents/{external_id}", get(resident))
        .route("/admin/notices", get(notices))
        .route("/admin/notices/describe", get(describe_rule))
        .route("/admin/notices/{id}", get(notice_report))
        .route("/admin/notices/{id}/edit", get(notice_edit))
        .route("/admin/faq", get(faq_list))
        .route("/admin/faq/edit", get(faq_edit::form).post(faq_edit::save))
        .route("/admin/faq/dismiss", axum::routing::post(faq_dismiss))
}

// ---------------------------------------------------------------------------------------------------------------
// Dashboard

async fn dashboard(State(state): State<AppState>, user: ConsoleUser) -> Response {
    match dashboard_body(&state, &user).await {
        Ok(body) => layout(&user, "dashboard", "ダッシュボード", &body).into_response(),
        Err(error) => db_error(error),
    }
}

async fn dashboard_body(state: &AppState, user: &ConsoleUser) -> Result<String, sqlx::Error> {
    let (start, series) = queries::deliveries_by_day(&state.db, 30).await?;
    let mut legend = String::new();
    for (channel, values) in &series {
        let _ = write!(
            legend,
            "<li><span class=\"swatch ch-{}\"></span>{}: {}件</li>",
            escape(channel),
            channel_label(channel),
            values.iter().sum::<i64>()
        );
    }
    let mut next = String::new();
    for notice in queries::upcoming_notices(&state.db).await? {
        let _ = write!(
            next,
            "<li><time>{}</time> <a href=\"/admin/notices/{}\">{}</a>{}</li>",
            jst(notice.at_ms, "%-m月%-d日 %H:%M"),
            notice.id,
            escape(&notice.title),
            if notice.repeats {
                " <span class=\"tag\">繰り返し</span>"
            } else {
                ""
            }
        );
    }
    if next.is_empty() {
        next = "<li class=\"muted\">予定されているお知らせはありません。</li>".into();
    }
    let queries::FaqOutcomes {
        answered,
        candidates,
        missed,
    } = queries::faq_outcomes(&state.db, crate::db::now_ms() - 7 * DAY_MS).await?;
    let emergencies = if can_broadcast(user.0.staff.role) {
        format!(
            "<section class=\"card\"><h2>最近の緊急配信</h2>{}\
             <p><a href=\"/admin/emergency\">緊急配信の画面へ</a></p></section>",
            super::emergency::recent_list(state, 5).await?
        )
    } else {
        String::new()
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
         {open_misses}\
         {faq_link}</section></div>",
        chart = chart_svg(start, &series),
        open_misses = if user.0.staff.role == Role::Disaster {
            String::new()
        } else {
            format!(
                "<p>未対応の質問（FAQページと同じ集計）: <strong id=\"faq-open-misses\">{}</strong>件</p>",
                open_misses(state)
                    .await?
                    .iter()
                    .map(|m| m.count)
                    .sum::<i64>()
            )
        },
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
    page: Option<i64>,
}

/// Residents per page of the list.
const RESIDENTS_PER_PAGE: i64 = 50;

async fn residents(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(search): Query<ResidentSearch>,
) -> Response {
    let q = search.q.trim();
    let district = search.district.trim();
    let page = search.page.unwrap_or(1).clamp(1, 1_000_000);
    let rows = match queries::search_residents(
        &state.db,
        q,
        district,
        RESIDENTS_PER_PAGE,
        (page - 1) * RESIDENTS_PER_PAGE,
    )
    .await
    {
        Ok(rows) => rows,
        Err(error) => return db_error(error),
    };
    let found_count = match queries::search_count(&state.db, q, district).await {
        Ok(n) => n,
        Err(error) => return db_error(error),
    };
    let total = match queries::resident_count(&state.db).await {
        Ok(n) => n,
        Err(error) => return db_error(error),
    };
    let mut options = String::from("<option value=\"\">すべての地区</option>");
    for d in &state.config.districts {
        let selected = if d == district { " selected" } else { "" };
        let _ = write!(options, "<option{selected}>{}</option>", escape(d));
    }
    let mut table = String::new();
    for row in &rows {
        let _ = write!(
            table,
            "<tr><td><a href=\"/admin/residents/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&urlencode(&row.external_id)),
            escape(&row.external_id),
            escape(row.district.as_deref().unwrap_or("—")),
            escape(row.birth_date.as_deref().unwrap_or("—")),
            crate::messages::staff::language_name(&row.language)
        );
    }
    let pages = ((found_count + RESIDENTS_PER_PAGE - 1) / RESIDENTS_PER_PAGE).max(1);
    let link = |page: i64| {
        escape(&format!(
            "/admin/residents?q={}&district={}&page={page}",
            urlencode(q),
            urlencode(district)
        ))
    };
    let mut more = String::from("<nav class=\"pager\" aria-label=\"ページ\">");
    if page > 1 {
        let _ = write!(
            more,
            "<a href=\"{}\" rel=\"prev\">← 前へ</a>",
            link(page - 1)
        );
    }
    let _ = write!(
        more,
        "<span>{page} / {pages} ページ（該当 {found_count}人）</span>"
    );
    if page < pages {
        let _ = write!(
            more,
            "<a href=\"{}\" rel=\"next\">次へ →</a>",
            link(page + 1)
        );
    }
    more.push_str("</nav>");
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
        q = escape(q),
    );
    layout(&user, "residents", "住民", &body).into_response()
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
                    escape(&external_id)
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
        id = escape(&view.external_id),
        birth = escape(view.birth_date.as_deref().unwrap_or("—")),
        district = escape(view.district.as_deref().unwrap_or("—")),
        language = crate::messages::staff::language_name(&view.language),
        interests = escape(&view.interests.join("、")),
        channels = escape(&channels.join("、")),
        preferred = escape(&preferred.join(" → ")),
        inactive = escape(&if inactive.is_empty() {
            "なし".to_owned()
        } else {
            inactive.join("、")
        }),
        created = escape(&view.created_at),
        updated = escape(&view.updated_at),
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
            v = escape(value)
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
    let rows = match queries::recent_notices(&state.db).await {
        Ok(rows) => rows,
        Err(error) => return db_error(error),
    };
    let writer = can_write_notices(user.0.staff.role);
    // The calendar: scheduled notices grouped by their next day in Japan, soonest first.
    let mut days: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    let mut past = String::new();
    for row in &rows {
        let id = row.id;
        let (title, status, segment) = (&row.title, &row.status, &row.segment);
        match (status.as_str(), row.next_fire_ms) {
            ("scheduled", Some(at)) => {
                let cancel = if writer {
                    format!(
                        "<button type=\"button\" class=\"secondary\" data-cancel=\"{id}\">取り消す</button>"
                    )
                } else {
                    String::new()
                };
                let repeat = row
                    .cron
                    .as_ref()
                    .map(|c| {
                        format!(
                            " <span class=\"tag\">繰り返し: {}</span>",
                            super::wording::describe_cron(c)
                        )
                    })
                    .unwrap_or_default();
                let edit = if writer {
                    format!(" <a href=\"/admin/notices/{id}/edit\">編集</a>")
                } else {
                    String::new()
                };
                days.entry(at).or_default().push(format!(
                    "<li class=\"notice\" data-notice=\"{id}\"><time datetime=\"{iso}\">{time}</time> \
                     <a href=\"/admin/notices/{id}\">{title}</a>{repeat} \
                     <span class=\"muted\">対象: {segment}</span>{edit} {cancel}</li>",
                    iso = jst(at, "%Y-%m-%dT%H:%M:%S%:z"),
                    time = jst(at, "%H:%M"),
                    title = escape(title),
                    segment = escape(&super::wording::describe_rule_text(segment)),
                ));
            }
            _ => {
                let _ = write!(
                    past,
                    "<tr><td><a href=\"/admin/notices/{id}\">{}</a></td><td>{}</td><td>{}</td></tr>",
                    escape(title),
                    status_label(status),
                    row.last_fired_at_ms
                        .map(|t| jst(t, "%Y-%m-%d %H:%M"))
                        .unwrap_or_default()
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
        compose_form(&state, None)
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

/// The longest body the form accepts per language (what one LINE message holds with the title and links).
pub(super) const MAX_NOTICE_BODY_CHARS: usize = 4000;

/// The languages a notice body may be written in besides Japanese, in the order the form shows them.
pub(super) const BODY_LANGUAGES: [&str; 5] = ["ja-easy", "en", "zh", "ko", "vi"];

/// Language checkboxes of the segment builder: the label in Japanese, the value as the rule language spells it.
fn language_checkboxes() -> String {
    let mut out = String::new();
    for (i, code) in ["ja", "easy-ja", "en", "zh", "ko", "vi"].iter().enumerate() {
        let _ = write!(
            out,
            "<label class=\"check\"><input type=\"checkbox\" name=\"language\" id=\"language-{i}\" value=\"{code}\"> {}</label>",
            crate::messages::staff::language_name(code)
        );
    }
    out
}

/// The segment builder (age, districts, interests, languages → a rule, its Japanese reading, the count reached on
/// the chosen channels and its languages), shared by the notice and survey forms; `rule` is a stored rule to edit.
pub(super) fn segment_builder(state: &AppState, rule: &str) -> String {
    format!(
        "<fieldset id=\"segment-builder\"><legend>対象（セグメント）</legend>\
         <div class=\"row\"><label for=\"age-min\">年齢（以上）</label>\
         <input id=\"age-min\" type=\"number\" min=\"0\" max=\"130\" inputmode=\"numeric\">\
         <label for=\"age-max\">年齢（以下）</label>\
         <input id=\"age-max\" type=\"number\" min=\"0\" max=\"130\" inputmode=\"numeric\"></div>\
         <p class=\"group\">地区</p><div class=\"checks\">{districts}</div>\
         <p class=\"group\">関心</p><div class=\"checks\">{interests}</div>\
         <p class=\"group\">言語</p><div class=\"checks\">{languages}</div>\
         <p class=\"describe\">対象: <strong id=\"segment-text\">全員</strong></p>\
         <details id=\"rule-details\"><summary>条件式を直接編集する（上級者向け）</summary>\
         <label for=\"n-rule\">条件式</label><input id=\"n-rule\" value=\"{rule}\" spellcheck=\"false\">\
         <p class=\"hint\">チェックボックスを変えると条件式が作り直されます。手で書き換えた後にチェックボックスを変えたときは、置き換えるか確認します。</p></details>\
         <div id=\"rule-conflict\" class=\"warning\" hidden><p>条件式を手で書き換えています。チェックボックスの条件をどうしますか。</p>\
         <div class=\"row\"><button type=\"button\" id=\"rule-replace\" class=\"secondary\">チェックボックスの条件で置き換える</button>\
         <button type=\"button\" id=\"rule-both\" class=\"secondary\">両方の条件を満たす人にする</button>\
         <button type=\"button\" id=\"rule-keep\" class=\"secondary\">手で書いた式のままにする</button></div></div>\
         <p class=\"count\">届く人数: <output id=\"segment-count\" for=\"n-rule\" aria-live=\"polite\">—</output>\
         <span id=\"segment-unreachable\" class=\"hint\"></span></p>\
         <p id=\"segment-languages\" class=\"hint\"></p>\
         <p id=\"segment-error\" class=\"error\" hidden></p></fieldset>",
        rule = escape(if rule.trim().is_empty() { "all" } else { rule }),
        districts = checkboxes("district", &state.config.districts),
        interests = checkboxes("interest", &state.config.interests),
        languages = language_checkboxes(),
    )
}

/// The compose form; with `editing`, the same form filled with a scheduled notice, saved with `PUT`.
fn compose_form(state: &AppState, editing: Option<&crate::notices::StoredNotice>) -> String {
    let tomorrow = (Utc::now().with_timezone(&Tokyo) + Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let (date, time) = editing
        .and_then(|n| n.next_fire_ms.or(n.send_at_ms))
        .map(|ms| (jst(ms, "%Y-%m-%d"), jst(ms, "%H:%M")))
        .unwrap_or((tomorrow, "09:00".to_owned()));
    let body_of = |code: &str| {
        editing
            .and_then(|n| n.body.get(code))
            .map(|t| escape(t))
            .unwrap_or_default()
    };
    let mut other_bodies = String::new();
    for code in BODY_LANGUAGES {
        let _ = write!(
            other_bodies,
            "<label for=\"n-body-{code}\">本文（{name}）</label>\
             <textarea id=\"n-body-{code}\" data-body=\"{code}\" rows=\"3\" maxlength=\"{MAX_NOTICE_BODY_CHARS}\" lang=\"{attr}\">{text}</textarea>\
             <p class=\"hint counter\" data-counter-for=\"n-body-{code}\"></p>",
            name = crate::messages::staff::language_name(code),
            attr = crate::html::lang_attribute(code),
            text = body_of(code),
        );
    }
    let channels = editing.map(|n| n.channels.iter().map(|c| c.as_str()).collect::<Vec<_>>());
    let channel_box = |code: &str, label: &str, default: bool| {
        let on = channels
            .as_ref()
            .map(|list| list.contains(&code))
            .unwrap_or(default);
        format!(
            "<label class=\"check\"><input type=\"checkbox\" name=\"channel\" value=\"{code}\"{}> {label}</label>",
            if on { " checked" } else { "" }
        )
    };
    let cron = editing.and_then(|n| n.cron.clone()).unwrap_or_default();
    let (heading, submit, edit_attr) = match editing {
        Some(n) => (
            format!("お知らせ {} を編集", n.id),
            "変更を保存する",
            format!(" data-edit=\"{}\"", n.id),
        ),
        None => ("お知らせを作成".to_owned(), "登録する", String::new()),
    };
    format!(
        "<section class=\"card\" id=\"compose-card\"><h2>{heading}</h2>\
         <form id=\"compose\" novalidate{edit_attr}>\
         <label for=\"n-title\">件名</label><input id=\"n-title\" required maxlength=\"200\" value=\"{title}\">\
         <label for=\"n-body-ja\">本文（日本語）</label>\
         <textarea id=\"n-body-ja\" data-body=\"ja\" rows=\"5\" required maxlength=\"{MAX_NOTICE_BODY_CHARS}\">{body_ja}</textarea>\
         <p class=\"hint counter\" data-counter-for=\"n-body-ja\"></p>\
         <details class=\"translations\"{open}><summary>ほかの言語の本文（やさしい日本語・英語・中国語・韓国語・ベトナム語）</summary>\
         <p class=\"hint\">空欄の言語を選んだ住民には日本語の本文が届きます。下の「対象」で、この対象に含まれる住民の言語と人数が分かります。</p>\
         {other_bodies}</details>\
         {builder}\
         <fieldset><legend>配信チャネル</legend><div class=\"checks\">{line}{push}{email}{webchat}</div></fieldset>\
         <fieldset><legend>配信日時（日本時間）</legend>\
         <label class=\"check\"><input type=\"radio\" name=\"when\" value=\"now\"> すぐに送る</label>\
         <label class=\"check\"><input type=\"radio\" name=\"when\" value=\"at\"{at_checked}> 日時を指定</label>\
         <label class=\"check\"><input type=\"radio\" name=\"when\" value=\"cron\"{cron_checked}> 繰り返し</label>\
         <div class=\"row\"><label for=\"n-date\">日付</label><input id=\"n-date\" type=\"date\" value=\"{date}\">\
         <label for=\"n-time\">時刻</label><input id=\"n-time\" type=\"time\" value=\"{time}\"></div>\
         <div class=\"row\" id=\"repeat-row\"><label for=\"n-repeat\">繰り返し</label>\
         <select id=\"n-repeat\"><option value=\"daily\">毎日</option><option value=\"weekly\">毎週</option>\
         <option value=\"monthly\">毎月</option></select>\
         <label for=\"n-weekday\">曜日</label><select id=\"n-weekday\"><option value=\"Mon\">月曜</option>\
         <option value=\"Tue\">火曜</option><option value=\"Wed\">水曜</option><option value=\"Thu\">木曜</option>\
         <option value=\"Fri\">金曜</option><option value=\"Sat\">土曜</option><option value=\"Sun\">日曜</option></select>\
         <label for=\"n-monthday\">日</label><input id=\"n-monthday\" type=\"number\" min=\"1\" max=\"28\" value=\"1\"></div>\
         <p class=\"hint\">繰り返しは「時刻」の欄の時刻に送ります: <strong id=\"repeat-text\"></strong></p>\
         <input id=\"n-cron\" type=\"hidden\" value=\"{cron}\"></fieldset>\
         <fieldset><legend>プレビュー</legend>\
         <p class=\"hint\">住民IDを空欄にすると、対象の中から1人を選んで表示します（言語を選ぶと、その言語の住民から選びます）。</p>\
         <div class=\"row\">\
         <label for=\"p-resident\">住民ID（任意）</label><input id=\"p-resident\">\
         <label for=\"p-language\">言語</label><select id=\"p-language\"><option value=\"\">指定しない</option>{preview_languages}</select>\
         <label for=\"p-channel\">チャネル</label><select id=\"p-channel\"><option value=\"\">住民の優先チャネル</option>\
         <option value=\"line\">LINE</option><option value=\"push\">プッシュ通知</option>\
         <option value=\"email\">メール</option><option value=\"webchat\">Webチャット</option></select>\
         <button type=\"button\" id=\"preview-button\" class=\"secondary\">プレビュー</button></div>\
         <div id=\"preview\" class=\"preview\" aria-live=\"polite\"></div></fieldset>\
         <button type=\"submit\" id=\"schedule-button\">{submit}</button>\
         <div id=\"compose-result\" aria-live=\"polite\"></div></form></section>",
        title = editing.map(|n| escape(&n.title)).unwrap_or_default(),
        body_ja = body_of("ja"),
        open = if editing.is_some_and(|n| n.body.len() > 1) {
            " open"
        } else {
            ""
        },
        builder = segment_builder(state, editing.map(|n| n.segment.as_str()).unwrap_or("")),
        line = channel_box("line", "LINE", true),
        push = channel_box("push", "プッシュ通知", true),
        email = channel_box("email", "メール", true),
        webchat = channel_box("webchat", "Webチャット", false),
        at_checked = if cron.is_empty() { " checked" } else { "" },
        cron_checked = if cron.is_empty() { "" } else { " checked" },
        cron = escape(&cron),
        preview_languages = ["ja", "ja-easy", "en", "zh", "ko", "vi"]
            .iter()
            .map(|code| format!(
                "<option value=\"{code}\">{}</option>",
                crate::messages::staff::language_name(code)
            ))
            .collect::<String>(),
    )
}

/// `GET /admin/notices/{id}/edit`: a scheduled notice in the compose form (PR and admin).
async fn notice_edit(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
) -> Response {
    if !can_write_notices(user.0.staff.role) {
        return forbidden(&user, "notices");
    }
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
    if notice.status != "scheduled" {
        return layout(
            &user,
            "notices",
            &format!("お知らせ {id}"),
            &format!(
                "<p class=\"error\">このお知らせは{}のため、編集できません。</p>\
                 <p><a href=\"/admin/notices/{id}\">配信レポートを見る</a></p>",
                status_label(&notice.status)
            ),
        )
        .into_response();
    }
    let body = format!(
        "<p><a href=\"/admin/notices\">← お知らせの一覧へ</a></p>{}",
        compose_form(&state, Some(&notice))
    );
    layout(&user, "notices", &format!("お知らせ {id} の編集"), &body).into_response()
}

#[derive(Deserialize)]
struct DescribeQuery {
    #[serde(default)]
    rule: String,
}

/// `GET /admin/notices/describe?rule=…`: a segment rule in Japanese words for the compose form (JSON).
async fn describe_rule(_user: ConsoleUser, Query(query): Query<DescribeQuery>) -> Response {
    axum::Json(serde_json::json!({ "text": super::wording::describe_rule_text(&query.rule) }))
        .into_response()
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
            "<a class=\"button secondary\" href=\"/admin/notices/{id}/edit\">編集する</a> \
             <button type=\"button\" class=\"secondary\" data-cancel=\"{id}\">取り消す</button>"
        )
    } else {
        String::new()
    };
    let mut bodies = String::new();
    for (language, text) in &notice.body {
        let _ = write!(
            bodies,
            "<dt>本文（{}）</dt><dd class=\"pre\">{}</dd>",
            crate::messages::staff::language_name(language),
            escape(text)
        );
    }
    let channels: Vec<&str> = notice
        .channels
        .iter()
        .map(|c| channel_label(c.as_str()))
        .collect();
    let body = format!(
        "<section class=\"card\"><dl class=\"fields\"><dt>件名</dt><dd>{title}</dd>{bodies}\
         <dt>対象</dt><dd>{segment}</dd><dt>チャネル</dt><dd>{channels}</dd>\
         <dt>状態</dt><dd>{status}</dd><dt>次回</dt><dd>{next}</dd><dt>繰り返し</dt><dd>{cron}</dd>\
         <dt>送信回数</dt><dd>{fires}</dd><dt>作成者</dt><dd>{by}</dd></dl>{cancel}\
         <div id=\"cancel-result\" aria-live=\"polite\"></div></section>\
         <section class=\"card\"><h2>配信レポート</h2><table class=\"counts\"><thead><tr><th>チャネル</th>\
         <th>対象</th><th>送信済み</th><th>記録のみ</th><th>待機中</th><th>失敗</th></tr></thead>\
         <tbody>{table}</tbody></table><p class=\"muted\">「記録のみ」は認証情報がないチャネルで、送信せず記録した件数です。</p></section>",
        title = escape(&notice.title),
        segment = escape(&super::wording::describe_rule_text(&notice.segment)),
        channels = escape(&channels.join("、")),
        status = status_label(&notice.status),
        next = notice
            .next_fire_ms
            .map(|t| jst(t, "%Y-%m-%d %H:%M"))
            .unwrap_or_else(|| "—".into()),
        cron = notice
            .cron
            .as_deref()
            .map(super::wording::describe_cron)
            .unwrap_or_else(|| "—".to_owned()),
        fires = notice.fire_count,
        by = escape(&notice.created_by),
    );
    layout(&user, "notices", &format!("お知らせ {id}"), &body).into_response()
}

// ---------------------------------------------------------------------------------------------------------------
// FAQ

/// At most `max` characters of `text`, with 「…」 when cut (long questions must not crush the table).
fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max).collect();
        cut.push('…');
        cut
    }
}

/// The missed questions staff still have to look at: grouped by meaning, without those dismissed as junk. The
/// dashboard counts the same list.
async fn open_misses(state: &AppState) -> Result<Vec<crate::chat::misses::Miss>, sqlx::Error> {
    let dismissed: std::collections::HashSet<String> =
        sqlx::query_scalar("SELECT normalized FROM faq_miss_dismissals")
            .fetch_all(&state.db.pool)
            .await?
            .into_iter()
            .collect();
    let mut misses = crate::chat::misses::misses_by_meaning(&state.db, &state.chat.faq, 60).await?;
    misses.retain(|miss| !dismissed.contains(&miss.normalized));
    misses.truncate(30);
    Ok(misses)
}

#[derive(Deserialize)]
struct DismissForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    normalized: String,
    #[serde(default)]
    question: String,
}

/// `POST /admin/faq/dismiss`: a missed question is junk; it leaves the list (and its count) for good.
async fn faq_dismiss(
    State(state): State<AppState>,
    user: ConsoleUser,
    axum::Form(form): axum::Form<DismissForm>,
) -> Response {
    if !user.0.csrf_matches(Some(&form.csrf)) {
        return crate::auth::session::csrf_error().into_response();
    }
    if !can_write_notices(user.0.staff.role) {
        return forbidden(&user, "faq");
    }
    let normalized: String = form.normalized.chars().take(2000).collect();
    let question: String = short(&form.question, 200);
    if normalized.is_empty() {
        return axum::response::Redirect::to("/admin/faq").into_response();
    }
    let result = async {
        sqlx::query(
            "INSERT INTO faq_miss_dismissals (normalized, question, dismissed_by, dismissed_at_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (normalized) DO NOTHING",
        )
        .bind(&normalized)
        .bind(&question)
        .bind(&user.0.staff.name)
        .bind(crate::db::now_ms())
        .execute(&state.db.pool)
        .await?;
        crate::audit::record(
            &state.db,
            &user.0.staff,
            "faq.dismiss",
            &question,
            serde_json::Value::Null,
        )
        .await
    }
    .await;
    match result {
        Ok(()) => axum::response::Redirect::to("/admin/faq").into_response(),
        Err(error) => db_error(error),
    }
}

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
    let misses = match open_misses(&state).await {
        Ok(misses) => misses,
        Err(error) => return db_error(error),
    };
    let csrf = escape(&user.0.csrf);
    let mut missed = String::new();
    for (rank, miss) in misses.iter().enumerate() {
        let action = if editor {
            format!(
                "<a class=\"button secondary\" href=\"/admin/faq/edit?question={}\">エントリにする</a>\
                 <form method=\"post\" action=\"/admin/faq/dismiss\" class=\"inline\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <input type=\"hidden\" name=\"normalized\" value=\"{}\">\
                 <input type=\"hidden\" name=\"question\" value=\"{}\">\
                 <button type=\"submit\" class=\"secondary\" title=\"意味のない入力や試しの入力を一覧から外します\">除外</button></form>",
                escape(&urlencode(&miss.question)),
                escape(&miss.normalized),
                escape(&short(&miss.question, 200)),
            )
        } else {
            String::new()
        };
        let _ = write!(
            missed,
            "<tr><td>{}</td><td class=\"question\" title=\"{}\">{}{}</td><td>{}</td><td>{}</td><td class=\"actions\">{action}</td></tr>",
            rank + 1,
            escape(&short(&miss.question, 500)),
            escape(&short(&miss.question, 120)),
            if miss.similar.is_empty() {
                String::new()
            } else {
                format!(
                    "<br><small class=\"muted\">同じ趣旨: {}</small>",
                    escape(&short(&miss.similar.join("／"), 200))
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
    let open_count: i64 = misses.iter().map(|m| m.count).sum();
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
                escape(&urlencode(&entry.id))
            )
        } else {
            String::new()
        };
        let _ = write!(
            entries,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{edit}</td></tr>",
            escape(&entry.id),
            escape(&entry.category),
            escape(&entry.question)
        );
    }
    let saved = query
        .saved
        .map(|id| {
            format!(
                "<p class=\"ok\" role=\"status\">FAQ「{}」を保存しました。チャットの回答に反映されています。</p>",
                escape(&id)
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
         <p>未対応: <strong id=\"faq-open-misses\">{open_count}</strong>件（回答できなかった質問と「役に立たなかった」と答えた質問。\
         同じ趣旨の質問はまとめています。ダッシュボードの件数と同じ集計です）</p>\
         <p class=\"hint\">意味のない入力や試しの入力は「除外」で一覧から外せます（監査ログに記録されます）。</p>\
         <table class=\"misses\"><thead><tr><th>順位</th><th>質問</th><th>回数</th><th>最後</th><th></th></tr></thead>\
         <tbody>{missed}</tbody></table></section>\
         <section class=\"card\"><h2>FAQエントリ（{count}件）</h2>\
         <p class=\"muted\">保存先: <code lang=\"zxx\">{dir}</code></p>{source_tree}{new_entry}\
         <form method=\"get\" action=\"/admin/faq\" class=\"inline\"><label for=\"faq-q\">絞り込み</label>\
         <input id=\"faq-q\" name=\"q\" value=\"{q}\"><button type=\"submit\">絞り込む</button></form>\
         <p>{shown}件</p><table><thead><tr><th>ID</th><th>分類</th><th>質問</th><th></th></tr></thead>\
         <tbody>{entries}</tbody></table></section>",
        count = index.len(),
        dir = escape(&status.dir),
        source_tree = if faq_edit::is_source_tree(&state.config.faq_dir) {
            "<p class=\"warning\">いまはプログラムに同梱のFAQを読み込んでいるため、画面からは保存できません。\
             編集するには、管理者が HUB_FAQ_DIR の設定を外してください（データ用フォルダのコピーが使われます）。</p>"
        } else {
            ""
        },
        q = escape(&query.q),
    );
    layout(&user, "faq", "FAQ", &body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
