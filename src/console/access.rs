//! Who may get in (issues 25 and 15): the admin pages listing API tokens (with a 失効 button) and staff accounts
//! (create, disable and enable, reset a password, ロック解除 for a throttled login). The buttons are plain forms carrying the session's CSRF token, like
//! the console's other forms; the work is the API's ([`crate::auth::revoke_token`], [`crate::auth::accounts::unlock_account`]).

use std::fmt::Write as _;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::frame::{db_error, forbidden, jst, layout, role_label, urlencode};
use super::{ConsoleUser, CsrfForm, csrf_error};
use crate::AppState;
use crate::audit;
use crate::auth::accounts::{self, NewPassword, Username};
use crate::auth::{self, Role};
use crate::error::ApiError;
use crate::html::escape;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/tokens", get(tokens_page))
        .route("/admin/tokens/{id}/revoke", post(revoke))
        .route("/admin/staff", get(staff_page).post(create))
        .route("/admin/staff/{username}/unlock", post(unlock))
        .route("/admin/staff/{username}/disable", post(disable))
        .route("/admin/staff/{username}/enable", post(enable))
        .route("/admin/staff/{username}/password", post(password))
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
    let csrf = escape(&user.0.csrf);
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
            escape(&token.name),
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

#[derive(Deserialize, Default)]
struct StaffQuery {
    done: Option<String>,
    name: Option<String>,
}

/// What a finished action says above the list.
fn done_message(done: &str, name: &str) -> Option<String> {
    let name = escape(name);
    Some(match done {
        "created" => format!("職員アカウント「{name}」を作成しました。"),
        "disabled" => format!("「{name}」を無効にしました。ログイン中の画面も使えなくなりました。"),
        "enabled" => format!("「{name}」を有効に戻しました。"),
        "password" => format!(
            "「{name}」のパスワードを再設定しました。新しいパスワードを本人に安全な方法で伝えてください。"
        ),
        _ => return None,
    })
}

fn role_options(selected: Option<Role>) -> String {
    let mut out = String::new();
    for role in [Role::Pr, Role::Disaster, Role::Viewer, Role::Admin] {
        let _ = write!(
            out,
            "<option value=\"{}\"{}>{}</option>",
            role.as_str(),
            if Some(role) == selected {
                " selected"
            } else {
                ""
            },
            role_label(role)
        );
    }
    out
}

async fn staff_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(query): Query<StaffQuery>,
) -> Response {
    let notice = query
        .done
        .as_deref()
        .and_then(|done| done_message(done, query.name.as_deref().unwrap_or_default()))
        .map(|text| format!("<p class=\"ok\" role=\"status\">{text}</p>"));
    render_staff(&state, &user, StatusCode::OK, notice.as_deref(), None).await
}

/// The 職員 page: every account with its state and buttons, and the form for a new one. `error` re-renders
/// it with what went wrong (and the new account's name and role kept).
async fn render_staff(
    state: &AppState,
    user: &ConsoleUser,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<(&str, &NewStaffForm)>,
) -> Response {
    if user.0.staff.role != Role::Admin {
        return forbidden(user, "staff");
    }
    let accounts = match accounts::list_accounts(&state.db).await {
        Ok(rows) => rows,
        Err(error) => return db_error(error),
    };
    let csrf = escape(&user.0.csrf);
    let mut rows = String::new();
    for account in &accounts {
        let name = escape(&account.username);
        let path = escape(&urlencode(&account.username));
        let mut status = Vec::new();
        if account.disabled_at_ms.is_some() {
            status.push(format!(
                "<span class=\"tag off\">無効（{}）</span>",
                when(account.disabled_at_ms)
            ));
        } else {
            status.push("有効".to_owned());
        }
        if account.throttled_clients > 0 {
            status.push(format!(
                "ログイン制限中（{}か所の接続元）",
                account.throttled_clients
            ));
        }
        let toggle = if account.disabled_at_ms.is_some() {
            format!(
                "<form method=\"post\" action=\"/admin/staff/{path}/enable\" class=\"inline\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <button type=\"submit\" class=\"secondary\">有効に戻す</button></form>"
            )
        } else if account.username == user.0.staff.name {
            String::new()
        } else {
            format!(
                "<form method=\"post\" action=\"/admin/staff/{path}/disable\" class=\"inline\" data-confirm=\"「{name}」を無効にします。よろしいですか。\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <button type=\"submit\" class=\"danger\">無効にする</button></form>"
            )
        };
        let unlock = if account.throttled_clients > 0 {
            format!(
                "<form method=\"post\" action=\"/admin/staff/{path}/unlock\" class=\"inline\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <button type=\"submit\" class=\"secondary\">ロック解除</button></form>"
            )
        } else {
            String::new()
        };
        let _ = write!(
            rows,
            "<tr data-staff=\"{name}\"><td>{name}</td><td>{role}</td><td>{created}</td><td>{status}</td>\
             <td class=\"actions\">{unlock}{toggle}\
             <details><summary>パスワード再設定</summary>\
             <form method=\"post\" action=\"/admin/staff/{path}/password\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <label for=\"pw-{path}\">新しいパスワード（10文字以上）</label>\
             <input id=\"pw-{path}\" name=\"password\" type=\"password\" autocomplete=\"new-password\" minlength=\"10\" maxlength=\"256\" required>\
             <button type=\"submit\" class=\"secondary\">再設定する</button></form></details></td></tr>",
            role = role_label(account.role),
            created = when(Some(account.created_at_ms)),
            status = status.join("<br>"),
        );
    }
    let (error_html, form) = match error {
        Some((message, form)) => (
            format!("<p class=\"error\" role=\"alert\">{}</p>", escape(message)),
            Some(form),
        ),
        None => (String::new(), None),
    };
    let body = format!(
        "{notice}{error_html}<section class=\"card\"><h2>職員アカウント（{count}件）</h2>\
         <p class=\"hint\">ログインに何度も失敗した接続元は、その接続元からだけ、しばらく（5秒から最長15分まで段階的に）ログインできなくなります。\
         ほかの場所からは本人がログインできます。本人が締め出された場合は「ロック解除」で制限を解除できます。\
         無効にしたアカウントはログインできず、ログイン中の画面もすぐに使えなくなります。操作はすべて監査ログに記録されます。</p>\
         <table id=\"staff\"><thead><tr><th>ユーザー名</th><th>役割</th><th>作成</th><th>状態</th><th>操作</th></tr>\
         </thead><tbody>{rows}</tbody></table></section>\
         <section class=\"card\"><h2>職員アカウントを作る</h2>\
         <form method=\"post\" action=\"/admin/staff\" id=\"new-staff\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"new-username\">ユーザー名（半角英数字と . _ - @、64文字まで）</label>\
         <input id=\"new-username\" name=\"username\" required maxlength=\"64\" autocomplete=\"off\" value=\"{username}\">\
         <label for=\"new-role\">役割</label><select id=\"new-role\" name=\"role\">{roles}</select>\
         <p class=\"hint\">広報: お知らせ・アンケート・FAQ。防災: 緊急配信。閲覧: 見るだけ。管理者: すべて（職員・APIトークン・監査ログを含む）。</p>\
         <label for=\"new-password\">最初のパスワード（10文字以上）</label>\
         <input id=\"new-password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" minlength=\"10\" maxlength=\"256\" required>\
         <button type=\"submit\">作成する</button></form></section>",
        notice = notice.unwrap_or_default(),
        count = accounts.len(),
        username = escape(form.map(|f| f.username.as_str()).unwrap_or_default()),
        roles = role_options(form.and_then(|f| Role::parse(&f.role)).or(Some(Role::Pr))),
    );
    (status, layout(user, "staff", "職員アカウント", &body)).into_response()
}

#[derive(Deserialize, Default)]
struct NewStaffForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

/// `POST /admin/staff`: a new account (admin), audited as `staff.create`.
async fn create(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<NewStaffForm>,
) -> Response {
    if !user.0.csrf_matches(Some(&form.csrf)) {
        return csrf_error().into_response();
    }
    if user.0.staff.role != Role::Admin {
        return forbidden(&user, "staff");
    }
    let result = async {
        let username = Username::parse(&form.username)?;
        let password = NewPassword::parse(&form.password)?;
        let role = Role::parse(&form.role).ok_or_else(|| {
            ApiError::bad_request("role", "unknown role").in_japanese("役割を選んでください。")
        })?;
        accounts::create_user(&state.db, &username, role, password).await?;
        audit::record(
            &state.db,
            &user.0.staff,
            "staff.create",
            username.as_str(),
            serde_json::json!({ "role": role }),
        )
        .await?;
        Ok::<_, ApiError>(username)
    }
    .await;
    match result {
        Ok(username) => done_redirect("created", username.as_str()),
        Err(error) => {
            render_staff(
                &state,
                &user,
                error.status,
                None,
                Some((&error.japanese_message(), &form)),
            )
            .await
        }
    }
}

fn done_redirect(done: &str, name: &str) -> Response {
    Redirect::to(&format!(
        "/admin/staff?done={done}&name={}",
        urlencode(name)
    ))
    .into_response()
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
}

/// `POST /admin/staff/{username}/password`: an admin sets a new password (sessions end, throttle lifted).
async fn password(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(username): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Response {
    if !user.0.csrf_matches(Some(&form.csrf)) {
        return csrf_error().into_response();
    }
    if user.0.staff.role != Role::Admin {
        return forbidden(&user, "staff");
    }
    let result = match NewPassword::parse(&form.password) {
        Ok(password) => {
            accounts::reset_password(&state.db, &username, password, &user.0.staff).await
        }
        Err(error) => Err(ApiError::from(error)),
    };
    match result {
        Ok(()) => done_redirect("password", &username),
        Err(error) => staff_error(&state, &user, error).await,
    }
}

async fn staff_error(state: &AppState, user: &ConsoleUser, error: ApiError) -> Response {
    let empty = NewStaffForm::default();
    render_staff(
        state,
        user,
        error.status,
        None,
        Some((&error.japanese_message(), &empty)),
    )
    .await
}

async fn disable(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(username): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    toggle(state, user, username, form, true).await
}

async fn enable(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(username): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    toggle(state, user, username, form, false).await
}

async fn toggle(
    state: AppState,
    user: ConsoleUser,
    username: String,
    form: CsrfForm,
    disabled: bool,
) -> Response {
    if !user.0.csrf_matches(Some(&form.csrf)) {
        return csrf_error().into_response();
    }
    if user.0.staff.role != Role::Admin {
        return forbidden(&user, "staff");
    }
    match accounts::set_disabled(&state.db, &username, disabled, &user.0.staff).await {
        Ok(()) => done_redirect(if disabled { "disabled" } else { "enabled" }, &username),
        Err(error) => staff_error(&state, &user, error).await,
    }
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
    match accounts::unlock_account(&state.db, &username, &staff.name, staff.role.as_str()).await {
        // The list shows the throttle gone (the API and `hub staff unlock` do the same).
        Ok(_) => Redirect::to("/admin/staff").into_response(),
        Err(error) => staff_error(&state, &user, error).await,
    }
}
