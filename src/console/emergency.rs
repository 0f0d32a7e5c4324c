//! The 緊急配信 pages (disaster and admin): composing an alert (templates with their severity, texts in every
//! language residents chose, the area, the drill switch that refuses when nobody would get the drill), and one
//! page per emergency that can be reopened at any time: live progress told honestly (「記録のみ」 when nothing
//! left the hub), the incident's alerts, who needs help, and the update and 解除 forms. Sending is the API's
//! (`POST /api/emergencies`, called by the page's script with the session's CSRF token).

use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::ConsoleUser;
use super::frame::{can_broadcast, db_error, forbidden, jst, layout, urlencode};
use crate::AppState;
use crate::audit;
use crate::emergency::store::{self, StoredEmergency};
use crate::emergency::{AlertKind, Area};
use crate::html::escape;
use crate::messages::Language;
use crate::messages::staff::{
    StaffMsg, emergency_kind_label, language_name, severity_label, urgency_label,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/emergency", get(compose_page))
        .route("/admin/emergency/{id}", get(progress_page))
}

/// The languages besides Japanese an alert may carry, in the order the form offers them.
const OTHER_LANGUAGES: [Language; 5] = [
    Language::JaEasy,
    Language::En,
    Language::Zh,
    Language::Ko,
    Language::Vi,
];

fn code_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The area as staff read it: 「市内全域」, 「今元・仲津地区」, or the referenced alerts' area.
fn area_label(area: &Option<Area>) -> String {
    match area {
        Some(Area::WholeCity) => "市内全域".to_owned(),
        Some(Area::Districts(list)) => format!(
            "{}地区",
            list.iter()
                .map(|d| d.as_str())
                .collect::<Vec<_>>()
                .join("・")
        ),
        None => "元の緊急配信と同じ地区".to_owned(),
    }
}

/// The fields of an alert's text in every language: the Japanese title and body, then the others in a
/// `<details>` (filled by the templates, each optional: a resident whose language is left empty gets Japanese).
fn text_fields(prefix: &str, title: &str, body: &str) -> String {
    let mut others = String::new();
    for language in OTHER_LANGUAGES {
        let code = language.code();
        let name = language_name(code);
        let _ = write!(
            others,
            "<div class=\"lang-text\" data-lang=\"{code}\">\
             <label for=\"{prefix}-title-{code}\">件名（{name}）</label>\
             <input id=\"{prefix}-title-{code}\" data-lang-title=\"{code}\" maxlength=\"200\" lang=\"{attr}\">\
             <label for=\"{prefix}-body-{code}\">本文（{name}）</label>\
             <textarea id=\"{prefix}-body-{code}\" data-lang-body=\"{code}\" rows=\"3\" maxlength=\"4000\" lang=\"{attr}\"></textarea></div>",
            attr = crate::html::lang_attribute(code),
        );
    }
    format!(
        "<label for=\"{prefix}-title\">件名（日本語）</label>\
         <input id=\"{prefix}-title\" required maxlength=\"200\" value=\"{title}\">\
         <label for=\"{prefix}-body\">本文（日本語）<span class=\"hint\">（4,000文字まで）</span></label>\
         <textarea id=\"{prefix}-body\" rows=\"6\" required maxlength=\"4000\">{body}</textarea>\
         <details class=\"translations\"><summary>ほかの言語の本文（やさしい日本語・英語・中国語・韓国語・ベトナム語）</summary>\
         <p class=\"hint\">空欄の言語を選んだ住民には日本語で届きます。テンプレートを選ぶと各言語の文も入ります。</p>\
         {others}</details>",
        title = escape(title),
        body = escape(body),
    )
}

fn severity_select(id: &str, selected: &str) -> String {
    let mut options = String::new();
    for code in ["extreme", "severe", "moderate", "minor"] {
        let _ = write!(
            options,
            "<option value=\"{code}\"{sel}>{label}</option>",
            sel = if code == selected { " selected" } else { "" },
            label = severity_label(code)
        );
    }
    format!(
        "<label for=\"{id}\">重大度</label><select id=\"{id}\">{options}</select>\
         <p class=\"hint\">避難指示は「極めて重大」、土砂災害警戒は「重大」、断水は「中程度」です（テンプレートで自動設定）。</p>"
    )
}

/// The recent emergencies as links to their progress pages (the dashboard shows the same list).
pub(super) async fn recent_list(state: &AppState, limit: i64) -> Result<String, sqlx::Error> {
    let mut items = String::new();
    for emergency in store::recent(&state.db, limit).await? {
        let cancelled = emergency.cancelled_at_ms.is_some();
        let _ = write!(
            items,
            "<li><a href=\"/admin/emergency/{id}\">{title}</a> <span class=\"muted\">{when}・{area}</span>{drill}{kind}{cancelled}</li>",
            id = emergency.id,
            title = escape(&emergency.alert().marked_title("ja")),
            when = jst(emergency.created_at_ms, "%-m月%-d日 %H:%M"),
            area = escape(&area_label(&emergency.area)),
            drill = if emergency.dry_run {
                " <span class=\"tag\">訓練</span>"
            } else {
                ""
            },
            kind = match emergency.kind {
                AlertKind::Alert => String::new(),
                other => format!(
                    " <span class=\"tag\">{}</span>",
                    emergency_kind_label(&code_text(&other))
                ),
            },
            cancelled = if cancelled {
                " <span class=\"tag\">解除済み</span>"
            } else {
                ""
            },
        );
    }
    if items.is_empty() {
        items = "<li class=\"muted\">緊急配信はまだありません。</li>".into();
    }
    Ok(format!(
        "<ul id=\"recent-emergencies\" class=\"list\">{items}</ul>"
    ))
}

async fn compose_page(State(state): State<AppState>, user: ConsoleUser) -> Response {
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
    let recent = match recent_list(&state, 20).await {
        Ok(list) => list,
        Err(error) => return db_error(error),
    };
    let drill_note = if testers == 0 {
        format!(
            "<p class=\"warning\" id=\"e-no-testers\">{}</p>",
            escape(StaffMsg::DrillWithoutTestRecipients.ja())
        )
    } else {
        format!("<p class=\"hint\">訓練はテスト受信者 {testers}人だけに届きます。</p>")
    };
    let body = format!(
        "<p class=\"warning\">このページから送る緊急配信は、対象地区の全住民に、すべての連絡手段で、\
         配信停止の設定や夜間の制限に関係なく届きます。</p>\
         <section class=\"card\" id=\"e-compose\"><h2>1. 内容と地区</h2>\
         <form id=\"emergency-form\" novalidate data-test-recipients=\"{testers}\">\
         <p class=\"group\">テンプレート</p><div class=\"row\">\
         <button type=\"button\" class=\"secondary\" data-template=\"evacuation\">避難指示</button>\
         <button type=\"button\" class=\"secondary\" data-template=\"landslide\">土砂災害警戒</button>\
         <button type=\"button\" class=\"secondary\" data-template=\"water\">断水</button></div>\
         <p class=\"hint\">テンプレートと地区を選ぶと、件名と本文（各言語）が入ります。送る前に内容を確かめてください。</p>\
         <fieldset><legend>対象地区</legend>\
         <label class=\"check\"><input type=\"checkbox\" id=\"e-all\"> 市内全域</label>\
         <div class=\"checks\">{districts}</div></fieldset>\
         {fields}{severity}\
         <label class=\"check\"><input type=\"checkbox\" id=\"e-dry-run\" checked> 訓練（テスト受信者だけに送る）</label>\
         {drill_note}\
         <p id=\"e-error\" class=\"error\" role=\"alert\" hidden></p>\
         <button type=\"submit\" id=\"e-next\">確認へ進む</button></form></section>\
         <section class=\"card\" id=\"e-confirm\" hidden><h2>2. 確認</h2>\
         <p id=\"e-summary\"></p><p class=\"reach\">届く住民: <strong id=\"e-reach\">—</strong>人</p>\
         <p id=\"e-languages\" class=\"hint\"></p>\
         <div class=\"row\"><button type=\"button\" id=\"e-send\" class=\"danger\">この内容で送信する</button>\
         <button type=\"button\" id=\"e-back\" class=\"secondary\">戻って直す</button></div></section>\
         <section class=\"card\"><h2>最近の緊急配信</h2>\
         <p class=\"hint\">件名を選ぶと、配信状況・助けが必要な住民・更新と解除の画面を開きます。</p>{recent}</section>",
        fields = text_fields("e", "", ""),
        severity = severity_select("e-severity", "extreme"),
    );
    layout(&user, "emergency", "緊急配信", &body).into_response()
}

fn not_found(user: &ConsoleUser, id: i64) -> Response {
    (
        StatusCode::NOT_FOUND,
        layout(
            user,
            "emergency",
            "緊急配信",
            &format!(
                "<p class=\"error\">緊急配信 {id} はありません。</p>\
                 <p><a href=\"/admin/emergency\">緊急配信の画面へ戻る</a></p>"
            ),
        ),
    )
        .into_response()
}

/// The alerts of one incident (the first alert, its updates and its cancellation), oldest first.
async fn incident_alerts(
    state: &AppState,
    root_id: i64,
) -> Result<Vec<StoredEmergency>, sqlx::Error> {
    let mut alerts: Vec<StoredEmergency> = store::recent(&state.db, 500)
        .await?
        .into_iter()
        .filter(|e| e.root_id == root_id || e.id == root_id)
        .collect();
    alerts.sort_by_key(|e| e.id);
    Ok(alerts)
}

async fn progress_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
) -> Response {
    if !can_broadcast(user.0.staff.role) {
        return forbidden(&user, "emergency");
    }
    let emergency = match store::find(&state.db, id).await {
        Ok(Some(emergency)) => emergency,
        Ok(None) => return not_found(&user, id),
        Err(error) => return db_error(error),
    };
    let alerts = match incident_alerts(&state, emergency.root_id).await {
        Ok(alerts) => alerts,
        Err(error) => return db_error(error),
    };
    let need_help = match crate::emergency::api::need_help_list(&state.db, id).await {
        Ok(list) => list,
        Err(error) => return db_error(error),
    };
    let cancelled = alerts
        .iter()
        .any(|e| e.kind == AlertKind::Cancel || e.cancelled_at_ms.is_some());
    let alert = emergency.alert();

    // The texts as residents get them.
    let mut texts = String::new();
    for (language, text) in alert.text.iter() {
        let _ = write!(
            texts,
            "<dt>{name}</dt><dd><strong lang=\"{attr}\">{title}</strong><div class=\"pre\" lang=\"{attr}\">{body}</div></dd>",
            name = language_name(language.code()),
            attr = crate::html::lang_attribute(language.code()),
            title = escape(&text.title),
            body = escape(&text.body),
        );
    }
    let missing: Vec<&str> = OTHER_LANGUAGES
        .iter()
        .filter(|language| alert.text.get(**language).is_none())
        .map(|language| language_name(language.code()))
        .collect();
    let missing = if missing.is_empty() {
        String::new()
    } else {
        format!(
            "<p class=\"hint\">{}を選んだ住民には日本語で届いています。</p>",
            missing.join("・")
        )
    };

    // The incident: every alert of it, this one marked.
    let mut chain = String::new();
    for e in &alerts {
        let current = if e.id == id {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(
            chain,
            "<li><a href=\"/admin/emergency/{eid}\"{current}>{kind}: {title}</a> <span class=\"muted\">{when}</span></li>",
            eid = e.id,
            kind = emergency_kind_label(&code_text(&e.kind)),
            title = escape(&e.alert().marked_title("ja")),
            when = jst(e.created_at_ms, "%-m月%-d日 %H:%M"),
        );
    }

    // Who needs help (verified answers): read here, so recorded like the API's reading.
    let mut help_rows = String::new();
    let (help_count, unverified_help) = need_help
        .as_ref()
        .map(|l| (l.count, l.unverified_need_help))
        .unwrap_or_default();
    if let Some(list) = &need_help {
        for entry in &list.residents {
            let resident = match &entry.external_id {
                Some(external) => format!(
                    "<a href=\"/admin/residents/{}\">{}</a>",
                    escape(&urlencode(external)),
                    escape(external)
                ),
                None => "未登録のLINE利用者".to_owned(),
            };
            let mut contact = Vec::new();
            if entry.line.is_some() {
                contact.push("LINE".to_owned());
            }
            if let Some(email) = &entry.email {
                contact.push(escape(email));
            }
            let answered = chrono::DateTime::parse_from_rfc3339(&entry.answered_at)
                .map(|t| jst(t.timestamp_millis(), "%-m月%-d日 %H:%M"))
                .unwrap_or_default();
            let _ = write!(
                help_rows,
                "<tr><td>{resident}</td><td>{district}</td><td>{language}</td><td>{contact}</td><td>{answered}</td></tr>",
                district = escape(entry.district.as_deref().unwrap_or("不明")),
                language = entry.language.as_deref().map(language_name).unwrap_or("—"),
                contact = if contact.is_empty() {
                    "—".to_owned()
                } else {
                    contact.join("、")
                },
            );
        }
        if let Err(error) = audit::record(
            &state.db,
            &user.0.staff,
            "emergency.need_help.read",
            &id.to_string(),
            serde_json::json!({"count": list.count}),
        )
        .await
        {
            return db_error(error);
        }
    }
    if help_rows.is_empty() {
        help_rows = "<tr><td colspan=\"5\" class=\"muted\">「助けが必要」と答えた住民はいません。</td></tr>"
            .into();
    }

    let actions = if cancelled {
        "<section class=\"card\"><h2>更新・解除</h2><p class=\"muted\">この緊急配信は解除済みです。\
         新しい状況は「緊急配信」の画面から新しく送ってください。</p></section>"
            .to_owned()
    } else {
        let area = area_label(&emergency.area);
        let base_title = alert.text.japanese().title.clone();
        format!(
            "<section class=\"card\" id=\"e-update\"><h2>更新を送る</h2>\
             <p class=\"hint\">同じ住民（{area}）に、最新の状況を【更新】として送ります。{drill_hint}</p>\
             <form id=\"update-form\" novalidate>{fields}{severity}\
             <p id=\"u-error\" class=\"error\" role=\"alert\" hidden></p>\
             <button type=\"submit\" id=\"u-send\" class=\"danger\">更新を送信する</button></form></section>\
             <section class=\"card\" id=\"e-cancel\"><h2>解除する</h2>\
             <p class=\"hint\">同じ住民に【取消】として、この緊急配信の解除を知らせます。解除のあとは更新できません。</p>\
             <form id=\"cancel-form\" novalidate>\
             <label for=\"c-body\">解除のお知らせ（日本語）</label>\
             <textarea id=\"c-body\" rows=\"3\" maxlength=\"4000\">{cancel_body}</textarea>\
             <p id=\"c-error\" class=\"error\" role=\"alert\" hidden></p>\
             <button type=\"submit\" id=\"c-send\" class=\"danger\">解除を送信する</button></form></section>",
            drill_hint = if emergency.dry_run {
                "訓練の更新・解除も訓練として、テスト受信者だけに届きます。"
            } else {
                ""
            },
            fields = text_fields("u", &base_title, ""),
            severity = severity_select("u-severity", &code_text(&emergency.severity)),
            cancel_body = escape(&format!(
                "{area}に出していた「{base_title}」を解除しました。引き続き、最新の情報に注意してください。\n行橋市 災害対策本部"
            )),
        )
    };

    let body = format!(
        "<p><a href=\"/admin/emergency\">← 緊急配信の画面へ</a></p>\
         <section class=\"card\" id=\"e-progress\" data-emergency=\"{id}\" data-dry-run=\"{dry}\" \
         data-need-help=\"{help_count}\" data-kind=\"{kind_code}\">\
         <h2>{marked}</h2>\
         <dl class=\"fields\"><dt>種類</dt><dd>{kind}{drill}{cancel_tag}</dd><dt>地区</dt><dd>{area}</dd>\
         <dt>重大度</dt><dd>{severity}（{urgency}）</dd><dt>送信者</dt><dd>{by}</dd><dt>日時</dt><dd>{when}</dd></dl>\
         <h3>配信状況</h3>\
         <p id=\"e-status\" class=\"status\" aria-live=\"polite\" data-done=\"no\">読み込み中…</p>\
         <table class=\"counts\"><thead><tr><th>チャネル</th><th>対象</th><th>送信済み</th><th>記録のみ</th>\
         <th>待機中</th><th>失敗</th></tr></thead><tbody id=\"e-counts\"></tbody></table>\
         <p class=\"hint\">「記録のみ」は、認証情報が設定されていない連絡手段で、送信せずに記録だけした件数です（住民には届いていません）。</p>\
         <h3>安否確認の回答</h3>\
         <dl class=\"stats\"><dt>無事</dt><dd id=\"e-safe\">0</dd><dt>助けが必要</dt><dd id=\"e-help\">{help_count}</dd></dl>\
         <p class=\"hint\">ウェブチャットからの匿名の回答（無事 <span id=\"e-unverified-safe\">0</span>件・\
         助けが必要 <span id=\"e-unverified-help\">{unverified_help}</span>件）は、だれが答えたか確かめられないため上の件数と下の一覧に含めていません。</p>\
         </section>\
         <section class=\"card\" id=\"need-help\"><h2>助けが必要な住民（{help_count}人）</h2>\
         <p class=\"hint\">LINEで「助けが必要」と答えた住民です。地区の順に並べています。新しい回答があると自動で更新されます。</p>\
         <table><thead><tr><th>住民ID</th><th>地区</th><th>言語</th><th>連絡先</th><th>回答</th></tr></thead>\
         <tbody id=\"need-help-rows\">{help_rows}</tbody></table></section>\
         <section class=\"card\"><h2>住民に届いた文面</h2><dl class=\"fields\">{texts}</dl>{missing}</section>\
         <section class=\"card\"><h2>この災害の配信</h2><ol class=\"list\">{chain}</ol></section>\
         {actions}",
        dry = if emergency.dry_run { "yes" } else { "no" },
        kind_code = code_text(&emergency.kind),
        marked = escape(&alert.marked_title("ja")),
        kind = emergency_kind_label(&code_text(&emergency.kind)),
        drill = if emergency.dry_run {
            " <span class=\"tag\">訓練</span>"
        } else {
            ""
        },
        cancel_tag = if cancelled {
            " <span class=\"tag\">解除済み</span>"
        } else {
            ""
        },
        area = escape(&area_label(&emergency.area)),
        severity = severity_label(&code_text(&emergency.severity)),
        urgency = urgency_label(&code_text(&emergency.urgency)),
        by = escape(&emergency.triggered_by),
        when = jst(emergency.created_at_ms, "%Y年%-m月%-d日 %H:%M"),
    );
    layout(&user, "emergency", &format!("緊急配信 {id}"), &body).into_response()
}
