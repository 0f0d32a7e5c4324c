//! The console's survey pages: the list of questionnaires and each one's results as charts (bars per choice, the
//! scale's distribution, response rates by district and age band), with the free text for PR and the CSV.
//! PR and admins make a survey on the form here (questions, choices, audience by the notices' segment builder,
//! schedule, preview) and close it from its results page; the work is the API's (`POST /api/surveys`,
//! `POST /api/surveys/{id}/close`), called by the page's script.

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
        .route("/admin/surveys/new", get(new_survey))
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
    let create = if can_write(user.0.staff.role) {
        "<p><a class=\"button\" href=\"/admin/surveys/new\">新しいアンケートを作る</a></p>"
    } else {
        ""
    };
    let body = if surveys.is_empty() {
        format!("<section class=\"card\"><p>アンケートはまだありません。</p>{create}</section>")
    } else {
        format!(
            "<section class=\"card\">{create}<table class=\"counts\"><thead><tr><th>件名</th><th>状態</th><th>開始</th>\
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
    if rows.is_empty() {
        rows = "<tr><td colspan=\"4\" class=\"muted\">まだ依頼を送っていないため、データはありません。</td></tr>".into();
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
    if results.total.invited == 0 {
        body.push_str(match results.state {
            SurveyState::Scheduled => {
                "<p class=\"hint card\">開始前です。開始日時になると、対象の住民に依頼を送ります。</p>"
            }
            _ => "<p class=\"hint card\">依頼を送った住民はいません（開始前に締め切ったか、対象に連絡先のある住民がいませんでした）。</p>",
        });
    }
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
            let close = if can_write(role) && results.state != SurveyState::Closed {
                format!(
                    "<section class=\"card\"><h2>締め切る</h2><p class=\"hint\">締め切ると、それ以降の回答は受け付けません。\
                     元に戻せません。</p><button type=\"button\" class=\"danger\" data-close-survey=\"{id}\">締め切る</button>\
                     <p id=\"close-result\" aria-live=\"polite\"></p></section>"
                )
            } else {
                String::new()
            };
            let body = format!(
                "<p><a href=\"/admin/surveys\">← アンケートの一覧へ</a></p>{}{close}",
                results_body(&results)
            );
            layout(&user, "surveys", &results.title, &body).into_response()
        }
        Err(response) => response,
    }
}

/// Who makes and closes surveys (as the API: PR and admins).
fn can_write(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Pr)
}

/// `GET /admin/surveys/new`: the survey form.
/// The invitation text in the languages besides Japanese, as the notice form offers them for a body.
fn other_intros() -> String {
    super::pages::BODY_LANGUAGES
        .iter()
        .map(|code| {
            format!(
                "<label for=\"s-intro-{code}\">案内文（{name}）</label>\
                 <textarea id=\"s-intro-{code}\" data-intro=\"{code}\" rows=\"3\" maxlength=\"2000\" lang=\"{attr}\"></textarea>",
                name = crate::messages::staff::language_name(code),
                attr = crate::html::lang_attribute(code),
            )
        })
        .collect()
}

async fn new_survey(State(state): State<AppState>, user: ConsoleUser) -> Response {
    if !can_write(user.0.staff.role) {
        return forbidden(&user);
    }
    let now = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Tokyo);
    let opens = (now + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let closes = (now + chrono::Duration::days(15))
        .format("%Y-%m-%d")
        .to_string();
    let body = format!(
        "<p><a href=\"/admin/surveys\">← アンケートの一覧へ</a></p>\
         <section class=\"card\"><form id=\"survey-form\" novalidate>\
         <label for=\"s-title\">件名</label><input id=\"s-title\" required maxlength=\"200\">\
         <label for=\"s-intro\">案内文（日本語）<span class=\"hint\">（住民に届く依頼の文。回答ページへのリンクが付きます）</span></label>\
         <textarea id=\"s-intro\" rows=\"3\" maxlength=\"2000\" required></textarea>\
         <details class=\"translations\"><summary>ほかの言語の案内文（やさしい日本語・英語・中国語・韓国語・ベトナム語）</summary>\
         <p class=\"hint\">空欄の言語を選んだ住民には日本語が届きます。質問と選択肢の訳は各質問の「ほかの言語」に書きます。</p>\
         {other_intros}</details>\
         <fieldset><legend>質問</legend><ol id=\"questions\" class=\"questions\"></ol>\
         <button type=\"button\" id=\"add-question\" class=\"secondary\">質問を追加</button></fieldset>\
         {builder}\
         <fieldset><legend>依頼を送るチャネル</legend><div class=\"checks\">\
         <label class=\"check\"><input type=\"checkbox\" name=\"channel\" value=\"line\" checked> LINE</label>\
         <label class=\"check\"><input type=\"checkbox\" name=\"channel\" value=\"push\" checked> プッシュ通知</label>\
         <label class=\"check\"><input type=\"checkbox\" name=\"channel\" value=\"email\" checked> メール</label></div></fieldset>\
         <fieldset><legend>受付期間（日本時間）</legend>\
         <label class=\"check\"><input type=\"radio\" name=\"s-when\" value=\"now\"> すぐに開始して依頼を送る</label>\
         <label class=\"check\"><input type=\"radio\" name=\"s-when\" value=\"at\" checked> 開始日時を指定</label>\
         <div class=\"row\"><label for=\"s-open-date\">開始日</label><input id=\"s-open-date\" type=\"date\" value=\"{opens}\">\
         <label for=\"s-open-time\">時刻</label><input id=\"s-open-time\" type=\"time\" value=\"09:00\"></div>\
         <div class=\"row\"><label for=\"s-close-date\">締切日</label><input id=\"s-close-date\" type=\"date\" value=\"{closes}\">\
         <label for=\"s-close-time\">時刻</label><input id=\"s-close-time\" type=\"time\" value=\"17:00\"></div>\
         <label class=\"check\"><input type=\"checkbox\" id=\"s-anonymous\"> 匿名（締切後に回答と住民の結び付きを消す）</label></fieldset>\
         <fieldset><legend>プレビュー</legend><button type=\"button\" id=\"s-preview-button\" class=\"secondary\">住民に見える形で確認</button>\
         <div id=\"s-preview\" class=\"preview\" aria-live=\"polite\"></div></fieldset>\
         <p id=\"s-error\" class=\"error\" role=\"alert\" hidden></p>\
         <button type=\"submit\" id=\"s-create\">アンケートを登録する</button></form></section>",
        builder = super::pages::segment_builder(&state, ""),
        other_intros = other_intros(),
    );
    layout(&user, "surveys", "新しいアンケート", &body).into_response()
}
