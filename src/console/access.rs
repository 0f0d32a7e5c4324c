//! Who may get in (issue 25): the admin pages listing API tokens (with a 失効 button) and staff accounts (with a
//! ロック解除 button for a throttled login). The buttons are plain forms carrying the session's CSRF token, like
//! the console's other forms; the work is the API's ([`crate::auth::revoke_token`], [`super::unlock_account`]).

use std::fmt::Write as _;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use sqlx::Row;

use super::pages::{db_error, esc, forbidden, jst, layout, role_label};
use super::{ConsoleUser, CsrfForm, csrf_error, login_guard};
use crate::AppState;
use crate::auth::{self, Role};
use crate::db::now_ms;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/tokens", get(tokens_page))
        .route("/admin/tokens/{id}/revoke", post(revoke))
        .route("/admin/staff", get(staff_page))
        .route("/admin/staff/{username}/unlock", post(unlock))
}

fn when(ms: Option<i64>) -> String {
    ms.map(|ms| jst(ms, "%Y-%m-%d %H:%M"))
        .unwrap_or_else(|| "—".to_owned())
}

async fn tokens_page(State(state): State<AppState>, user: ConsoleUser) -> Response {
    if user.0.staff.role != Role::Admin {
        return forbidden(&user, "tokens");
    }
    let tokens = match auth::list_tokens(&state.db).await {
        Ok(tokens) => tokens,
        Err(error) => return db_error(error),
    };
    let csrf = esc(&user.0.csrf);
    let mut rows = String::new();
    for token in &tokens {
        let action = match token.revoked_at_ms {
            Some(at) => format!("失効済み（{}）", jst(at, "%Y-%m-%d %H:%M")),
            None => format!(
                "<form method=\"post\" action=\"/admin/tokens/{id}/revoke\" class=\"inline\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <button type=\"submit\" class=\"danger\">失効</button></form>",
                id = token.id
            ),
        };
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            token.id,
            esc(&token.name),
            if token.bootstrap {
                "（HUB_ADMIN_TOKEN）"
            } else {
                ""
            },
            role_label(token.role),
            when(Some(token.created_at_ms)),
            when(token.last_used_at_ms),
            action
        );
    }
    let body = format!(
        "<section class=\"card\"><p class=\"muted\">API トークンの一覧です。失効したトークンはすぐに使えなくなります。\
         トークンそのものは作成時に一度だけ表示され、ここには表示されません。</p>\
         <table id=\"tokens\"><thead><tr><th>ID</th><th>名前</th><th>役割</th><th>作成</th><th>最終利用</th>\
         <th>操作</th></tr></thead><tbody>{rows}</tbody></table></section>"
    );
    layout(&user, "tokens", "API トークン", &body).into_response()
}

async fn revoke(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !user.0.csrf_matches(Some(&form.csrf)) {
        return csrf_error().into_response();
    }
    if user.0.staff.role != Role::Admin {
        return forbidden(&user, "tokens");
    }
    let staff = &user.0.staff;
    match auth::revoke_token(&state.db, id, &staff.name, staff.role.as_str()).await {
        // Already revoked or unknown: the list shows how things are.
        Ok(_) => Redirect::to("/admin/tokens").into_response(),
        Err(error) => db_error(error),
    }
}

async fn staff_page(State(state): State<AppState>, user: ConsoleUser) -> Response {
    if user.0.staff.role != Role::Admin {
        return forbidden(&user, "staff");
    }
    let accounts = match sqlx::query(
        "SELECT username, role, created_at_ms FROM staff_users ORDER BY username",
    )
    .fetch_all(&state.db.pool)
    .await
    {
        Ok(rows) => rows,
        Err(error) => return db_error(error),
    };
    let csrf = esc(&user.0.csrf);
    let now = now_ms();
    let mut rows = String::new();
    for row in &accounts {
        let username: String = row.try_get("username").unwrap_or_default();
        let role: String = row.try_get("role").unwrap_or_default();
        let created: i64 = row.try_get("created_at_ms").unwrap_or_default();
        let throttled = match login_guard::throttled_clients(&state.db, &username, now).await {
            Ok(count) => count,
            Err(error) => return db_error(error),
        };
        let status = if throttled > 0 {
            format!("ログイン制限中（{throttled}件の接続元）")
        } else {
            "—".to_owned()
        };
        let _ = write!(
            rows,
            "<tr><td>{name}</td><td>{role}</td><td>{created}</td><td>{status}</td><td>\
             <form method=\"post\" action=\"/admin/staff/{name}/unlock\" class=\"inline\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <button type=\"submit\" class=\"secondary\">ロック解除</button></form></td></tr>",
            name = esc(&username),
            role = Role::parse(&role).map(role_label).unwrap_or("不明"),
            created = when(Some(created)),
        );
    }
    let body = format!(
        "<section class=\"card\"><p class=\"muted\">ログインに何度も失敗した接続元は、しばらくログインできなくなります。\
         職員本人が締め出された場合は「ロック解除」で制限を解除できます（監査ログに記録されます）。</p>\
         <table id=\"staff\"><thead><tr><th>ユーザー名</th><th>役割</th><th>作成</th><th>状態</th><th>操作</th></tr>\
         </thead><tbody>{rows}</tbody></table></section>"
    );
    layout(&user, "staff", "職員アカウント", &body).into_response()
}

async fn unlock(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(username): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !user.0.csrf_matches(Some(&form.csrf)) {
        return csrf_error().into_response();
    }
    if user.0.staff.role != Role::Admin {
        return forbidden(&user, "staff");
    }
    let staff = &user.0.staff;
    match super::unlock_account(&state.db, &username, &staff.name, staff.role.as_str()).await {
        Ok(_) => Redirect::to("/admin/staff").into_response(),
        Err(error) => error.into_response(),
    }
}
