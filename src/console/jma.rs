//! The console's 気象庁 page (issue 26): the drafts the JMA watch prepared, each with a 送信 button (a plain form
//! carrying the session's CSRF token, disaster and admin accounts only), the policy per kind as configured, the
//! feeds' last reads and the latest documents with what was done with them. The work is `jma`'s
//! ([`crate::jma::act::send_draft`]).

use std::fmt::Write as _;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};

use super::frame::{can_broadcast, db_error, forbidden, jst, layout};
use super::{ConsoleUser, CsrfForm, csrf_error};
use crate::AppState;
use crate::html::escape;
use crate::jma::{act, api, store};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/jma", get(page))
        .route("/admin/jma/drafts/{id}/send", post(send))
}

fn status_label(status: &str) -> &'static str {
    match status {
        "pending" => "送信待ち",
        "sending" => "送信中",
        "sent" => "送信済み",
        "superseded" => "訂正で差し替え",
        "lifted" => "解除により不要",
        "cancelled" => "取消により不要",
        _ => "不明",
    }
}

fn action_label(action: &str) -> &'static str {
    match action {
        "send" => "即時送信",
        "draft" => "下書き（職員が送信）",
        _ => "記録のみ",
    }
}

fn outcome_label(outcome: Option<&str>) -> &'static str {
    match outcome {
        None => "処理待ち",
        Some("sent") => "緊急配信を送信",
        Some("draft") => "下書きを作成",
        Some("lifted") => "解除を配信",
        Some("corrected") => "訂正を配信",
        Some("cancelled") => "取消を配信",
        Some("nothing") => "変化なし",
        Some("other-area") => "対象地域外",
        Some("drill") => "訓練・試験（住民には送らない）",
        Some("stale") => "古い情報（記録のみ）",
        Some("malformed") => "形式の誤り（スキップ）",
        Some("failed") => "取得・処理に失敗",
        Some(_) => "その他",
    }
}

async fn page(State(state): State<AppState>, user: ConsoleUser) -> Response {
    if !can_broadcast(user.0.staff.role) {
        return forbidden(&user, "jma");
    }
    let drafts = match store::drafts(&state.db, 30).await {
        Ok(drafts) => drafts,
        Err(error) => return db_error(error),
    };
    let documents = match store::recent_entries(&state.db, 30).await {
        Ok(documents) => documents,
        Err(error) => return db_error(error),
    };
    let feeds = match store::feeds(&state.db).await {
        Ok(feeds) => feeds,
        Err(error) => return db_error(error),
    };
    let csrf = escape(&user.0.csrf);
    let settings = &state.config.jma;
    let mut body = String::new();

    let pending = drafts.iter().filter(|d| d.status == "pending").count();
    let _ = write!(
        body,
        "<section class=\"card\" id=\"jma-drafts\"><h2>下書き（送信待ち {pending} 件）</h2>\
         <p class=\"muted\">方針が「下書き」の気象情報は、ここで内容を確認して「送信」を押すと、緊急配信として市内全域に送られます。</p>"
    );
    if drafts.is_empty() {
        body.push_str("<p>下書きはありません。</p>");
    }
    for draft in &drafts {
        let view = api::DraftView::from(draft.clone());
        let action = if draft.status == "pending" {
            format!(
                "<form method=\"post\" action=\"/admin/jma/drafts/{id}/send\" class=\"inline\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <button type=\"submit\" class=\"danger\">送信</button></form>",
                id = draft.id
            )
        } else {
            let by = draft
                .decided_by
                .as_deref()
                .map(|who| format!("（{}）", escape(who)))
                .unwrap_or_default();
            let link = draft
                .emergency_id
                .map(|id| format!(" 緊急配信 #{id}"))
                .unwrap_or_default();
            format!("<strong>{}</strong>{by}{link}", status_label(&draft.status))
        };
        let _ = write!(
            body,
            "<article class=\"card draft\" data-draft=\"{id}\" data-status=\"{status}\"><h3>{title}</h3>\
             <p class=\"muted\">{office}・作成 {created}・{kinds}</p><p class=\"pre\">{text}</p>{action}</article>",
            id = draft.id,
            status = escape(&draft.status),
            title = escape(&view.title),
            office = escape(&draft.office),
            created = jst(draft.created_at_ms, "%Y-%m-%d %H:%M"),
            kinds = escape(&draft.kinds.join("・")),
            text = escape(&view.body),
        );
    }
    body.push_str("</section>");

    let mut policy = String::new();
    for (category, action) in act::policy_rows(&state.config) {
        let _ = write!(
            policy,
            "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
            category.key(),
            action_label(action.as_str())
        );
    }
    let _ = write!(
        body,
        "<section class=\"card\" id=\"jma-policy\"><h2>方針（HUB_JMA_POLICY）</h2>\
         <p class=\"muted\">{state}・対象地域 {areas}・指定河川 {rivers}・{poll} 秒ごとに取得</p>\
         <table class=\"counts\"><thead><tr><th>種類</th><th>扱い</th></tr></thead><tbody>{policy}</tbody></table></section>",
        state = if settings.enabled {
            "気象庁の監視：稼働中"
        } else {
            "気象庁の監視：停止中（HUB_JMA_ENABLED）"
        },
        areas = escape(&settings.area_codes.join("、")),
        rivers = escape(&settings.rivers.join("、")),
        poll = settings.poll_secs,
    );

    let mut feed_rows = String::new();
    for (url, checked, ok, failures, error) in &feeds {
        let _ = write!(
            feed_rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(url),
            checked
                .map(|ms| jst(ms, "%m-%d %H:%M:%S"))
                .unwrap_or_else(|| "—".into()),
            ok.map(|ms| jst(ms, "%m-%d %H:%M:%S"))
                .unwrap_or_else(|| "—".into()),
            failures,
            escape(error.as_deref().unwrap_or("—")),
        );
    }
    let mut document_rows = String::new();
    for document in &documents {
        let _ = write!(
            document_rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            jst(document.seen_at_ms, "%m-%d %H:%M:%S"),
            escape(&document.title),
            outcome_label(document.outcome.as_deref()),
            escape(document.detail.as_deref().unwrap_or("")),
        );
    }
    let _ = write!(
        body,
        "<section class=\"card\"><h2>フィードの取得状況</h2><table class=\"counts\"><thead><tr><th>URL</th>\
         <th>最終確認</th><th>最終成功</th><th>連続失敗</th><th>エラー</th></tr></thead><tbody>{feed_rows}</tbody></table></section>\
         <section class=\"card\"><h2>受信した気象情報</h2><table class=\"counts\" id=\"jma-documents\"><thead><tr>\
         <th>受信</th><th>情報</th><th>処理</th><th>詳細</th></tr></thead><tbody>{document_rows}</tbody></table></section>"
    );
    layout(&user, "jma", "気象庁の情報", &body).into_response()
}

async fn send(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !user.0.csrf_matches(Some(&form.csrf)) {
        return csrf_error().into_response();
    }
    let staff = &user.0.staff;
    if !can_broadcast(staff.role) {
        return forbidden(&user, "jma");
    }
    match act::send_draft(&api::watch_of(&state), id, &staff.name, staff.role.as_str()).await {
        // Sent, or sent by someone else a moment ago: the list shows how things are.
        Ok(_) | Err(act::SendDraftError::NotPending { .. }) => {
            Redirect::to("/admin/jma").into_response()
        }
        Err(error) => crate::error::ApiError::from(error).into_response(),
    }
}
