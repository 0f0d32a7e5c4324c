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
use crate::audit;
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
        .route("/admin/notices/{id}", get(notice_report))
        .route("/admin/emergency", get(emergency))
        .route("/admin/faq", get(faq_list))
        .route("/admin/faq/edit", get(faq_edit::form).post(faq_edit::save))
        .route("/admin/audit", get(audit_page))
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

async fn residents(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(search): Query<ResidentSearch>,
) -> Response {
    let q = search.q.trim();
    let district = search.district.trim();
    let rows = match queries::search_residents(&state.db, q, district).await {
        Ok(rows) => rows,
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
    for row in rows.iter().take(100) {
        let _ = write!(
            table,
            "<tr><td><a href=\"/admin/residents/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&urlencode(&row.external_id)),
            escape(&row.external_id),
            escape(row.district.as_deref().unwrap_or("—")),
            escape(row.birth_date.as_deref().unwrap_or("—")),
            escape(&row.language)
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
        language = escape(&view.language),
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
                    .map(|c| format!(" <span class=\"tag\">繰り返し {}</span>", escape(c)))
                    .unwrap_or_default();
                days.entry(at).or_default().push(format!(
                    "<li class=\"notice\" data-notice=\"{id}\"><time datetime=\"{iso}\">{time}</time> \
                     <a href=\"/admin/notices/{id}\">{title}</a>{repeat} \
                     <span class=\"muted\">対象: {segment}</span> {cancel}</li>",
                    iso = jst(at, "%Y-%m-%dT%H:%M:%S%:z"),
                    time = jst(at, "%H:%M"),
                    title = escape(title),
                    segment = escape(if segment.is_empty() { "全員" } else { segment }),
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
            escape(language),
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
         <dt>対象</dt><dd><code>{segment}</code></dd><dt>チャネル</dt><dd>{channels}</dd>\
         <dt>状態</dt><dd>{status}</dd><dt>次回</dt><dd>{next}</dd><dt>繰り返し</dt><dd>{cron}</dd>\
         <dt>送信回数</dt><dd>{fires}</dd><dt>作成者</dt><dd>{by}</dd></dl>{cancel}\
         <div id=\"cancel-result\" aria-live=\"polite\"></div></section>\
         <section class=\"card\"><h2>配信レポート</h2><table class=\"counts\"><thead><tr><th>チャネル</th>\
         <th>対象</th><th>送信済み</th><th>記録のみ</th><th>待機中</th><th>失敗</th></tr></thead>\
         <tbody>{table}</tbody></table><p class=\"muted\">「記録のみ」は認証情報がないチャネルで、送信せず記録した件数です。</p></section>",
        title = escape(&notice.title),
        segment = escape(if notice.segment.is_empty() {
            "all"
        } else {
            &notice.segment
        }),
        channels = escape(&channels.join("、")),
        status = status_label(&notice.status),
        next = notice
            .next_fire_ms
            .map(|t| jst(t, "%Y-%m-%d %H:%M"))
            .unwrap_or_else(|| "—".into()),
        cron = escape(notice.cron.as_deref().unwrap_or("—")),
        fires = notice.fire_count,
        by = escape(&notice.created_by),
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
            v = escape(d)
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
                escape(&urlencode(&miss.question))
            )
        } else {
            String::new()
        };
        let _ = write!(
            missed,
            "<tr><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{action}</td></tr>",
            rank + 1,
            escape(&miss.question),
            if miss.similar.is_empty() {
                String::new()
            } else {
                format!(
                    "<br><small class=\"muted\">同じ趣旨: {}</small>",
                    escape(&miss.similar.join("／"))
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
         <table><thead><tr><th>順位</th><th>質問</th><th>回数</th><th>最後</th><th></th></tr></thead>\
         <tbody>{missed}</tbody></table></section>\
         <section class=\"card\"><h2>FAQエントリ（{count}件）</h2>\
         <p class=\"muted\">保存先: {dir}</p>{new_entry}\
         <form method=\"get\" action=\"/admin/faq\" class=\"inline\"><label for=\"faq-q\">絞り込み</label>\
         <input id=\"faq-q\" name=\"q\" value=\"{q}\"><button type=\"submit\">絞り込む</button></form>\
         <p>{shown}件</p><table><thead><tr><th>ID</th><th>分類</th><th>質問</th><th></th></tr></thead>\
         <tbody>{entries}</tbody></table></section>",
        count = index.len(),
        dir = escape(&status.dir),
        q = escape(&query.q),
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
            escape(&entry.actor),
            escape(&entry.role),
            escape(&entry.action),
            escape(&entry.target),
            escape(&detail)
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
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
