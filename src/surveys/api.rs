//! The staff side of surveys: create, list, read, close, and the results (JSON and a CSV for Excel).

use std::collections::BTreeMap;
use std::str::FromStr;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{NaiveDate, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{Answer, Question, QuestionKind, Survey, SurveyInput, SurveyState};
use crate::AppState;
use crate::audit;
use crate::auth::{Role, Staff};
use crate::db::now_ms;
use crate::error::{ApiError, ApiJson};
use crate::notices::api::{notice_error, rfc3339};
use crate::outbox::{self, DeliveryCounts};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/surveys", post(create_survey).get(list_surveys))
        .route("/api/surveys/{id}", get(get_survey))
        .route("/api/surveys/{id}/close", post(close_survey))
        .route("/api/surveys/{id}/results", get(results))
        .route("/api/surveys/{id}/results.csv", get(results_csv))
}

const READERS: &[Role] = &[Role::Pr, Role::Viewer];
const WRITERS: &[Role] = &[Role::Pr];
/// Free-text answers may hold anything a resident wrote: only the staff who run surveys read them.
const TEXT_READERS: &[Role] = &[Role::Pr];

fn api(error: impl Into<ApiError>) -> Response {
    error.into().into_response()
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SurveyCreated {
    pub id: i64,
    /// The invitation notice: its delivery counts are at `GET /api/notices/{notice_id}`.
    pub notice_id: i64,
    pub opens_at: String,
    pub closes_at: String,
}

/// Creates a survey and schedules its invitation (pr, admin).
#[utoipa::path(post, path = "/api/surveys", request_body = SurveyInput,
    responses((status = 201, body = SurveyCreated), (status = 400, description = "names the field; a rule error has its column")),
    security(("bearer" = [])))]
async fn create_survey(
    State(state): State<AppState>,
    staff: Staff,
    ApiJson(input): ApiJson<SurveyInput>,
) -> Result<(StatusCode, Json<SurveyCreated>), Response> {
    staff.require(WRITERS).map_err(api)?;
    let now = Utc::now();
    let survey = super::check(&input, &state.config, now).map_err(notice_error)?;
    let (id, notice_id) = super::insert(&state.db, &survey, &staff.name, now)
        .await
        .map_err(api)?;
    audit::record(
        &state.db,
        &staff,
        "survey.create",
        &id.to_string(),
        serde_json::json!({"title": survey.title, "segment": survey.notice.segment.to_string(),
            "questions": survey.questions.len(), "notice": notice_id}),
    )
    .await
    .map_err(api)?;
    crate::notices::scheduler::WAKE_SCHEDULER.notify_waiters();
    Ok((
        StatusCode::CREATED,
        Json(SurveyCreated {
            id,
            notice_id,
            opens_at: rfc3339(survey.opens_at.timestamp_millis()),
            closes_at: rfc3339(survey.closes_at.timestamp_millis()),
        }),
    ))
}

/// A survey as staff see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SurveyView {
    pub id: i64,
    pub title: String,
    pub intro: BTreeMap<String, String>,
    pub questions: Vec<Question>,
    pub segment: String,
    pub channels: Vec<String>,
    pub anonymous: bool,
    pub state: SurveyState,
    pub opens_at: String,
    pub closes_at: String,
    pub notice_id: i64,
    pub created_by: String,
    pub created_at: String,
    /// Answers received so far.
    pub answers: i64,
    /// The invitation's deliveries, all channels together.
    pub invitations: DeliveryCounts,
}

async fn view(state: &AppState, survey: Survey) -> Result<SurveyView, Response> {
    let answers: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM survey_answers WHERE survey_id = $1")
            .bind(survey.id)
            .fetch_one(&state.db.pool)
            .await
            .map_err(api)?;
    let counts = outbox::counts(&state.db, "notice", survey.notice_id)
        .await
        .map_err(api)?;
    let mut invitations = DeliveryCounts::default();
    for c in counts.values() {
        invitations.merge(c);
    }
    Ok(SurveyView {
        id: survey.id,
        state: survey.state(now_ms()),
        title: survey.title,
        intro: survey.intro,
        questions: survey.questions,
        segment: survey.segment,
        channels: survey.channels,
        anonymous: survey.anonymous,
        opens_at: rfc3339(survey.open_at_ms),
        closes_at: rfc3339(survey.close_at_ms),
        notice_id: survey.notice_id,
        created_by: survey.created_by,
        created_at: rfc3339(survey.created_at_ms),
        answers,
        invitations,
    })
}

async fn load(state: &AppState, id: i64) -> Result<Survey, Response> {
    super::find(&state.db, id)
        .await
        .map_err(api)?
        .ok_or_else(|| api(ApiError::not_found(format!("no survey {id}"))))
}

/// The latest surveys (pr, viewer, admin).
#[utoipa::path(get, path = "/api/surveys", responses((status = 200, body = [SurveyView])), security(("bearer" = [])))]
async fn list_surveys(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Json<Vec<SurveyView>>, Response> {
    staff.require(READERS).map_err(api)?;
    let mut views = Vec::new();
    for survey in super::list(&state.db).await.map_err(api)? {
        views.push(view(&state, survey).await?);
    }
    Ok(Json(views))
}

/// One survey with its answer count and invitation deliveries (pr, viewer, admin).
#[utoipa::path(get, path = "/api/surveys/{id}", params(("id" = i64, Path, description = "the survey")),
    responses((status = 200, body = SurveyView), (status = 404)), security(("bearer" = [])))]
async fn get_survey(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<SurveyView>, Response> {
    staff.require(READERS).map_err(api)?;
    let survey = load(&state, id).await?;
    view(&state, survey).await.map(Json)
}

/// Closes a survey now (pr, admin): no more answers; an invitation not sent yet is cancelled.
#[utoipa::path(post, path = "/api/surveys/{id}/close", params(("id" = i64, Path, description = "the survey")),
    responses((status = 200, body = SurveyView), (status = 404), (status = 409, description = "closed already")),
    security(("bearer" = [])))]
async fn close_survey(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<SurveyView>, Response> {
    staff.require(WRITERS).map_err(api)?;
    load(&state, id).await?;
    if !super::close_now(&state.db, id, now_ms())
        .await
        .map_err(api)?
    {
        return Err(api(ApiError::new(
            StatusCode::CONFLICT,
            format!("survey {id} is closed already"),
        )));
    }
    audit::record(
        &state.db,
        &staff,
        "survey.close",
        &id.to_string(),
        serde_json::Value::Null,
    )
    .await
    .map_err(api)?;
    let survey = load(&state, id).await?;
    view(&state, survey).await.map(Json)
}

/// Answers out of invitations for one group of residents.
#[derive(Debug, Clone, Copy, Default, Serialize, utoipa::ToSchema)]
pub struct ResponseRate {
    pub invited: i64,
    pub answered: i64,
    /// answered / invited (0 when nobody was invited).
    pub rate: f64,
}

/// Response rates with the invitations counted and no answers yet.
fn rates_of(invited: BTreeMap<String, i64>) -> BTreeMap<String, ResponseRate> {
    invited
        .into_iter()
        .map(|(group, invited)| {
            let rate = ResponseRate {
                invited,
                ..ResponseRate::default()
            };
            (group, rate)
        })
        .collect()
}

impl ResponseRate {
    fn finish(&mut self) {
        self.rate = if self.invited > 0 {
            self.answered as f64 / self.invited as f64
        } else {
            0.0
        };
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChoiceCount {
    /// The choice in Japanese.
    pub label: String,
    pub count: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuestionResult {
    pub kind: QuestionKind,
    /// The question in Japanese.
    pub text: String,
    pub answered: i64,
    pub skipped: i64,
    /// Single and multiple choice: answers per choice, in the order of the options.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<ChoiceCount>,
    /// Scale: how many answered 1, 2, 3, 4 and 5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distribution: Option<BTreeMap<u8, i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    /// Free text, oldest first (pr and admin only; absent for other roles).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub texts: Option<Vec<String>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SurveyResults {
    pub id: i64,
    pub title: String,
    pub state: SurveyState,
    pub anonymous: bool,
    /// Everyone the invitation was written for, and the answers.
    pub total: ResponseRate,
    pub questions: Vec<QuestionResult>,
    /// Response rate by district ("" = unknown) and by age band: counts only, no personal data.
    pub by_district: BTreeMap<String, ResponseRate>,
    pub by_age_band: BTreeMap<String, ResponseRate>,
}

/// One stored answer sheet, without its resident.
struct Sheet {
    district: Option<String>,
    age_band: String,
    channel: String,
    answered_at_ms: i64,
    answers: Vec<Option<Answer>>,
}

async fn sheets(state: &AppState, survey: &Survey) -> Result<Vec<Sheet>, Response> {
    let rows = sqlx::query(
        "SELECT district, age_band, channel, answers, answered_at_ms FROM survey_answers \
         WHERE survey_id = $1 ORDER BY answered_at_ms, id",
    )
    .bind(survey.id)
    .fetch_all(&state.db.pool)
    .await
    .map_err(api)?;
    let mut sheets = Vec::with_capacity(rows.len());
    for row in rows {
        let text: String = row.try_get("answers").map_err(api)?;
        let Ok(answers) = serde_json::from_str::<Vec<Option<Answer>>>(&text) else {
            tracing::warn!(
                survey = survey.id,
                "an answer sheet that does not parse is left out"
            );
            continue;
        };
        sheets.push(Sheet {
            district: row.try_get("district").map_err(api)?,
            age_band: row.try_get("age_band").map_err(api)?,
            channel: row.try_get("channel").map_err(api)?,
            answered_at_ms: row.try_get("answered_at_ms").map_err(api)?,
            answers,
        });
    }
    Ok(sheets)
}

/// Who the invitation was written for, by district and age band (today's ages).
async fn invited(
    state: &AppState,
    survey: &Survey,
) -> Result<(BTreeMap<String, i64>, BTreeMap<String, i64>, i64), Response> {
    let rows = sqlx::query(
        "SELECT r.district, r.birth_date FROM deliveries d LEFT JOIN residents r ON r.id = d.resident_id \
         WHERE d.source_kind = 'notice' AND d.source_id = $1",
    )
    .bind(survey.notice_id)
    .fetch_all(&state.db.pool)
    .await
    .map_err(api)?;
    let today = segments::tokyo_date(Utc::now());
    let mut by_district = BTreeMap::new();
    let mut by_age = BTreeMap::new();
    for row in &rows {
        let district: Option<String> = row.try_get("district").map_err(api)?;
        let birth: Option<String> = row.try_get("birth_date").map_err(api)?;
        let age = birth
            .as_deref()
            .and_then(|text| NaiveDate::from_str(text).ok())
            .map(|birth| segments::age_on(birth, today));
        *by_district.entry(district.unwrap_or_default()).or_insert(0) += 1;
        *by_age.entry(segments::age_band(age)).or_insert(0) += 1;
    }
    Ok((by_district, by_age, rows.len() as i64))
}

fn tally(survey: &Survey, sheets: &[Sheet], with_texts: bool) -> Vec<QuestionResult> {
    survey
        .questions
        .iter()
        .enumerate()
        .map(|(index, question)| {
            let given: Vec<&Answer> = sheets
                .iter()
                .filter_map(|sheet| sheet.answers.get(index).and_then(Option::as_ref))
                .collect();
            let mut result = QuestionResult {
                kind: question.kind,
                text: question.text_in("ja").to_owned(),
                answered: given.len() as i64,
                skipped: sheets.len() as i64 - given.len() as i64,
                choices: Vec::new(),
                distribution: None,
                mean: None,
                texts: None,
            };
            match question.kind {
                QuestionKind::Single | QuestionKind::Multiple => {
                    let mut counts = vec![0i64; question.options.len()];
                    for answer in &given {
                        let chosen: &[usize] = match answer {
                            Answer::Choice(choice) => std::slice::from_ref(choice),
                            Answer::Choices(choices) => choices,
                            _ => &[],
                        };
                        for choice in chosen {
                            if let Some(count) = counts.get_mut(*choice) {
                                *count += 1;
                            }
                        }
                    }
                    result.choices = counts
                        .into_iter()
                        .enumerate()
                        .map(|(i, count)| ChoiceCount {
                            label: question.option_in(i, "ja").to_owned(),
                            count,
                        })
                        .collect();
                }
                QuestionKind::Scale => {
                    let mut distribution: BTreeMap<u8, i64> = (1..=5).map(|v| (v, 0)).collect();
                    let mut sum = 0i64;
                    for answer in &given {
                        if let Answer::Scale(value) = answer {
                            *distribution.entry(*value).or_insert(0) += 1;
                            sum += i64::from(*value);
                        }
                    }
                    if !given.is_empty() {
                        result.mean = Some(sum as f64 / given.len() as f64);
                    }
                    result.distribution = Some(distribution);
                }
                QuestionKind::Text => {
                    if with_texts {
                        result.texts = Some(
                            given
                                .iter()
                                .filter_map(|answer| match answer {
                                    Answer::Text(text) if !text.trim().is_empty() => {
                                        Some(text.clone())
                                    }
                                    _ => None,
                                })
                                .collect(),
                        );
                    }
                }
            }
            result
        })
        .collect()
}

fn can_read_texts(staff: &Staff) -> bool {
    staff.require(TEXT_READERS).is_ok()
}

/// Counts per choice, the scale's distribution, free text (pr and admin) and response rates (pr, viewer, admin).
#[utoipa::path(get, path = "/api/surveys/{id}/results", params(("id" = i64, Path, description = "the survey")),
    responses((status = 200, body = SurveyResults), (status = 404)), security(("bearer" = [])))]
async fn results(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<SurveyResults>, Response> {
    staff.require(READERS).map_err(api)?;
    compute_results(&state, id, can_read_texts(&staff))
        .await
        .map(Json)
}

/// A survey's results (`with_texts`: include free-text answers), for the API and the console's charts.
pub async fn compute_results(
    state: &AppState,
    id: i64,
    with_texts: bool,
) -> Result<SurveyResults, Response> {
    let survey = load(state, id).await?;
    let sheets = sheets(state, &survey).await?;
    let (invited_by_district, invited_by_age, invited_total) = invited(state, &survey).await?;
    let mut by_district = rates_of(invited_by_district);
    let mut by_age_band = rates_of(invited_by_age);
    for sheet in &sheets {
        by_district
            .entry(sheet.district.clone().unwrap_or_default())
            .or_default()
            .answered += 1;
        by_age_band
            .entry(sheet.age_band.clone())
            .or_default()
            .answered += 1;
    }
    by_district.values_mut().for_each(ResponseRate::finish);
    by_age_band.values_mut().for_each(ResponseRate::finish);
    let mut total = ResponseRate {
        invited: invited_total,
        answered: sheets.len() as i64,
        rate: 0.0,
    };
    total.finish();
    Ok(SurveyResults {
        id: survey.id,
        title: survey.title.clone(),
        state: survey.state(now_ms()),
        anonymous: survey.anonymous,
        total,
        questions: tally(&survey, &sheets, with_texts),
        by_district,
        by_age_band,
    })
}

/// A CSV field: quoted when it holds a comma, quote or line break; a leading formula character is neutralised
/// so a spreadsheet never runs a resident's text.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn answer_cell(question: &Question, answer: Option<&Answer>, with_texts: bool) -> String {
    match answer {
        None => String::new(),
        Some(Answer::Choice(choice)) => question.option_in(*choice, "ja").to_owned(),
        Some(Answer::Choices(choices)) => choices
            .iter()
            .map(|c| question.option_in(*c, "ja"))
            .collect::<Vec<_>>()
            .join(" / "),
        Some(Answer::Scale(value)) => value.to_string(),
        Some(Answer::Text(text)) if with_texts => text.clone(),
        Some(Answer::Text(_)) => "(非表示)".to_owned(),
    }
}

/// Every answer sheet as CSV: UTF-8 with a BOM so Excel in Japan opens it as UTF-8 (pr, viewer, admin; free
/// text only for pr and admin).
#[utoipa::path(get, path = "/api/surveys/{id}/results.csv", params(("id" = i64, Path, description = "the survey")),
    responses((status = 200, content_type = "text/csv"), (status = 404)), security(("bearer" = [])))]
async fn results_csv(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Response, Response> {
    staff.require(READERS).map_err(api)?;
    let survey = load(&state, id).await?;
    let sheets = sheets(&state, &survey).await?;
    let with_texts = can_read_texts(&staff);
    let mut out = String::from("\u{feff}");
    let mut header = vec![
        "回答日時".to_owned(),
        "地区".to_owned(),
        "年代".to_owned(),
        "経路".to_owned(),
    ];
    header.extend(
        survey
            .questions
            .iter()
            .enumerate()
            .map(|(i, q)| format!("Q{} {}", i + 1, q.text_in("ja"))),
    );
    out.push_str(
        &header
            .iter()
            .map(|h| csv_field(h))
            .collect::<Vec<_>>()
            .join(","),
    );
    out.push_str("\r\n");
    for sheet in &sheets {
        let mut cells = vec![
            rfc3339(sheet.answered_at_ms),
            sheet.district.clone().unwrap_or_default(),
            sheet.age_band.clone(),
            sheet.channel.clone(),
        ];
        cells.extend(survey.questions.iter().enumerate().map(|(i, question)| {
            answer_cell(
                question,
                sheet.answers.get(i).and_then(Option::as_ref),
                with_texts,
            )
        }));
        out.push_str(
            &cells
                .iter()
                .map(|c| csv_field(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    let filename = format!("attachment; filename=\"survey-{id}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, filename),
        ],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_field("行橋"), "行橋");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        create_survey,
        list_surveys,
        get_survey,
        close_survey,
        results,
        results_csv
    ),
    components(schemas(
        SurveyInput,
        super::QuestionInput,
        Question,
        QuestionKind,
        SurveyState,
        SurveyCreated,
        SurveyView,
        SurveyResults,
        QuestionResult,
        ChoiceCount,
        ResponseRate
    ))
)]
pub struct SurveysDoc;
