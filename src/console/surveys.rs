//! The console's survey pages: the list of questionnaires and each one's results as charts (bars per choice, the
//! scale's distribution, response rates by district and age band), with the free text for PR and the CSV.
//! Surveys are created through `POST /api/surveys` (see the README); these pages read.

use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::ConsoleUser;
use super::charts::bars_svg;
use super::frame::{jst, layout};
use crate::AppState;
use crate::auth::Role;
use crate::html::escape;
use crate::surveys::api::{ResponseRate, SurveyResults, compute_results};
use crate::surveys::{QuestionKind, SurveyState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/surveys", get(list))
        .route("/admin/surveys/{id}", get(results))
}

/// Who reads surveys (as the API: PR, viewers and admins; the disaster team has its own pages).
pub fn can_read(role: Role) -> bool {
    role != Role::Disaster
}

fn forbidden(user: &ConsoleUser) -> Response {
    (
        StatusCode::FORBIDDEN,
        layout(
            user,
            "surveys",
            "アンケート",
            "<p class=\"error\">この役割ではアンケートを見られません。</p>",
        ),
    )
        .into_response()
}

fn state_label(state: SurveyState) -> &'static str {
    match state {
        SurveyState::Scheduled => "開始前",
        SurveyState::Open => "回答受付中",
        SurveyState::Closed => "締切",
    }
}

async fn list(State(state): State<AppState>, user: ConsoleUser) -> Response {
    if !can_read(user.0.staff.role) {
        return forbidden(&user);
    }
    let surveys = match crate::surveys::list(&state.db).await {
        Ok(surveys) => surveys,
        Err(error) => return crate::error::ApiError::from(error).into_response(),
    };
    let now = crate::db::now_ms();
    let mut rows = String::new();
    for survey in &surveys {
        let answers: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM survey_answers WHERE survey_id = $1")
                .bind(survey.id)
                .fetch_one(&state.db.pool)
                .await
                .unwrap_or(0);
        let _ = write!(
            rows,
            "<tr><td><a href=\"/admin/surveys/{id}\">{title}</a></td><td>{state}</td><td>{opens}</td>\
             <td>{closes}</td><td>{answers}</td></tr>",
            id = survey.id,
            title = escape(&survey.title),
            state = state_label(survey.state(now)),
            opens = jst(survey.open_at_ms, "%Y-%m-%d %H:%M"),
            closes = jst(survey.close_at_ms, "%Y-%m-%d %H:%M"),
        );
    }
    let body = if surveys.is_empty() {
        "<section class=\"card\"><p>アンケートはまだありません。作成は <code>POST /api/surveys</code> で行います。</p></section>"
            .to_owned()
    } else {
        format!(
            "<section class=\"card\"><table class=\"counts\"><thead><tr><th>件名</th><th>状態</th><th>開始</th>\
             <th>締切</th><th>回答数</th></tr></thead><tbody>{rows}</tbody></table></section>"
        )
    };
    layout(&user, "surveys", "アンケート", &body).into_response()
}

fn rates_table(heading: &str, rates: &std::collections::BTreeMap<String, ResponseRate>) -> String {
    let mut rows = String::new();
    for (group, rate) in rates {
        let _ = write!(
            rows,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{:.0}%</td></tr>",
            escape(if group.is_empty() { "不明" } else { group }),
            rate.invited,
            rate.answered,
            rate.rate * 100.0
        );
    }
    format!(
        "<section class=\"card\"><h2>{}</h2><table class=\"counts\"><thead><tr><th></th><th>依頼</th>\
         <th>回答</th><th>回答率</th></tr></thead><tbody>{rows}</tbody></table></section>",
        escape(heading)
    )
}

fn results_body(results: &SurveyResults) -> String {
    let mut body = format!(
        "<section class=\"card\"><p>{state}・依頼 {invited} 人・回答 {answered} 人（回答率 {rate:.0}%）{anonymous}</p>\
         <p><a href=\"/api/surveys/{id}/results.csv\" download>CSV をダウンロード（Excel 用）</a></p></section>",
        state = state_label(results.state),
        invited = results.total.invited,
        answered = results.total.answered,
        rate = results.total.rate * 100.0,
        anonymous = if results.anonymous {
            "・匿名（締切後は回答と住民の結び付きを消します）"
        } else {
            ""
        },
        id = results.id,
    );
    for (index, question) in results.questions.iter().enumerate() {
        let caption = format!("Q{} {}", index + 1, question.text);
        let chart = match question.kind {
            QuestionKind::Single | QuestionKind::Multiple => bars_svg(
                &caption,
                &question
                    .choices
                    .iter()
                    .map(|c| (c.label.clone(), c.count))
                    .collect::<Vec<_>>(),
            ),
            QuestionKind::Scale => {
                let bars: Vec<(String, i64)> = question
                    .distribution
                    .iter()
                    .flatten()
                    .map(|(value, count)| (value.to_string(), *count))
                    .collect();
                let mean = question
                    .mean
                    .map(|m| format!("<p>平均 {m:.2}</p>"))
                    .unwrap_or_default();
                format!("{}{mean}", bars_svg(&caption, &bars))
            }
            QuestionKind::Text => match &question.texts {
                Some(texts) if texts.is_empty() => {
                    "<p class=\"muted\">回答はまだありません。</p>".to_owned()
                }
                Some(texts) => {
                    let items: String = texts
                        .iter()
                        .map(|t| format!("<li class=\"pre\">{}</li>", escape(t)))
                        .collect();
                    format!("<ul class=\"answers\">{items}</ul>")
                }
                None => {
                    "<p class=\"muted\">自由記述は広報・管理者のみ表示されます。</p>".to_owned()
                }
            },
        };
        let _ = write!(
            body,
            "<section class=\"card\"><h2>{}</h2><p class=\"muted\">回答 {}・無回答 {}</p>{chart}</section>",
            escape(&caption),
            question.answered,
            question.skipped
        );
    }
    body.push_str(&rates_table("地区別の回答率", &results.by_district));
    body.push_str(&rates_table("年代別の回答率", &results.by_age_band));
    body
}

async fn results(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
) -> Response {
    let role = user.0.staff.role;
    if !can_read(role) {
        return forbidden(&user);
    }
    let with_texts = matches!(role, Role::Admin | Role::Pr);
    match compute_results(&state, id, with_texts).await {
        Ok(results) => {
            layout(&user, "surveys", &results.title, &results_body(&results)).into_response()
        }
        Err(response) => response,
    }
}
