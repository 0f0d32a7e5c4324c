//! Questionnaires (アンケート): PR staff ask a segment a few questions and watch the answers come in.
//!
//! A survey goes out as an invitation notice (the same outbox and the same rules for who gets what as any
//! notice), stored in the same transaction as the survey. A resident may answer when that invitation was written
//! for them, while the survey is open: on LINE by following the bot's quick replies (see [`line`]), or on a
//! phone-sized web form reached by a signed per-resident link that email and push invitations carry (see
//! [`web`]). One answer per resident and survey: answering again while it is open replaces the first answer.
//! Each answer keeps the district and age band the resident had when answering, so response rates need no
//! personal data; an anonymous survey drops the link from answer to resident when it closes.

pub mod api;
pub mod line;
pub mod web;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use tokio::sync::watch;

use crate::config::Config;
use crate::db::{Db, now_ms};
use crate::links::{Links, PersonalLink};
use crate::notices::{self, NoticeError, NoticeInput, parse_send_at};
use crate::outbox::compose::{Invitation, Invitations};
use crate::residents::{ChannelKind, LANGUAGES};

/// At most this many questions: a questionnaire residents finish in a minute or two.
pub const MAX_QUESTIONS: usize = 20;
/// Choices per question: LINE shows at most 13 quick replies and one is kept for 「スキップ」/「選択終了」.
pub const MAX_OPTIONS: usize = 12;
/// The longest free-text answer kept.
pub const MAX_TEXT_ANSWER_CHARS: usize = 2000;
const MAX_QUESTION_CHARS: usize = 300;
/// LINE quick reply labels are at most 20 characters.
const MAX_OPTION_CHARS: usize = 20;

/// What kind of answer a question takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum QuestionKind {
    /// One of the options.
    Single,
    /// Any number of the options.
    Multiple,
    /// 1 (lowest) to 5 (highest).
    Scale,
    /// Free text.
    Text,
}

impl QuestionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionKind::Single => "single",
            QuestionKind::Multiple => "multiple",
            QuestionKind::Scale => "scale",
            QuestionKind::Text => "text",
        }
    }
}

/// A question as staff write it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionInput {
    pub kind: QuestionKind,
    /// The question per language (`ja` required).
    pub text: BTreeMap<String, String>,
    /// The choices of a single or multiple choice question, each per language (`ja` required).
    #[serde(default)]
    pub options: Vec<BTreeMap<String, String>>,
    /// Whether an answer is required (default true).
    #[serde(default = "required_by_default")]
    pub required: bool,
}

fn required_by_default() -> bool {
    true
}

/// `POST /api/surveys`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyInput {
    pub title: String,
    /// The invitation text per language (`ja` required).
    pub intro: BTreeMap<String, String>,
    pub questions: Vec<QuestionInput>,
    /// A segment rule; empty or absent means everyone.
    #[serde(default)]
    pub segment: Option<String>,
    /// Channels the invitation may use: line, email, push.
    pub channels: Vec<String>,
    /// When answers open and the invitation goes out (RFC 3339, Asia/Tokyo without an offset); null: now.
    #[serde(default)]
    pub opens_at: Option<String>,
    /// When answers close.
    pub closes_at: String,
    /// Anonymous: the link from an answer to its resident is dropped when the survey closes.
    #[serde(default)]
    pub anonymous: bool,
    /// Send the invitation during quiet hours too (each resident's; 21:00–8:00 JST by default).
    #[serde(default)]
    pub ignore_quiet_hours: bool,
    /// The invitation's topic (one of the interests): residents who opted out of it are not invited.
    #[serde(default)]
    pub topic: Option<String>,
}

/// A checked question, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Question {
    pub kind: QuestionKind,
    pub text: BTreeMap<String, String>,
    #[serde(default)]
    pub options: Vec<BTreeMap<String, String>>,
    pub required: bool,
}

impl Question {
    /// The question in `language`, Japanese when it lacks that language.
    pub fn text_in(&self, language: &str) -> &str {
        localized(&self.text, language)
    }

    /// Choice `index` in `language` (Japanese fallback).
    pub fn option_in(&self, index: usize, language: &str) -> &str {
        self.options
            .get(index)
            .map(|option| localized(option, language))
            .unwrap_or_default()
    }
}

/// `map[language]`, else `map["ja"]`, else empty.
pub fn localized<'a>(map: &'a BTreeMap<String, String>, language: &str) -> &'a str {
    map.get(language)
        .or_else(|| map.get("ja"))
        .map(String::as_str)
        .unwrap_or_default()
}

/// One answer to one question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Answer {
    Choice(usize),
    Choices(Vec<usize>),
    Scale(u8),
    Text(String),
}

/// An answer sheet that does not fit the questions: which question and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("question {}: {message}", .question + 1)]
pub struct AnswerError {
    /// 0-based.
    pub question: usize,
    pub message: String,
}

/// Checks `answers` (one per question, `None` for skipped) against `questions`.
pub fn check_answers(
    questions: &[Question],
    answers: &[Option<Answer>],
) -> Result<(), AnswerError> {
    if answers.len() != questions.len() {
        return Err(AnswerError {
            question: answers.len().min(questions.len()),
            message: format!(
                "{} answers for {} questions",
                answers.len(),
                questions.len()
            ),
        });
    }
    for (index, (question, answer)) in questions.iter().zip(answers).enumerate() {
        let fail = |message: &str| AnswerError {
            question: index,
            message: message.to_owned(),
        };
        match (question.kind, answer) {
            (_, None) if question.required => return Err(fail("an answer is required")),
            (_, None) => {}
            (QuestionKind::Single, Some(Answer::Choice(choice))) => {
                if *choice >= question.options.len() {
                    return Err(fail("no such choice"));
                }
            }
            (QuestionKind::Multiple, Some(Answer::Choices(choices))) => {
                if choices.is_empty() && question.required {
                    return Err(fail("choose at least one"));
                }
                if choices.iter().any(|c| *c >= question.options.len()) {
                    return Err(fail("no such choice"));
                }
                let mut sorted = choices.clone();
                sorted.sort_unstable();
                sorted.dedup();
                if sorted.len() != choices.len() {
                    return Err(fail("a choice is given twice"));
                }
            }
            (QuestionKind::Scale, Some(Answer::Scale(value))) => {
                if !(1..=5).contains(value) {
                    return Err(fail("the scale goes from 1 to 5"));
                }
            }
            (QuestionKind::Text, Some(Answer::Text(text))) => {
                if text.trim().is_empty() && question.required {
                    return Err(fail("an answer is required"));
                }
                if text.chars().count() > MAX_TEXT_ANSWER_CHARS {
                    return Err(fail(&format!("at most {MAX_TEXT_ANSWER_CHARS} characters")));
                }
            }
            _ => return Err(fail("this answer does not fit the kind of question")),
        }
    }
    Ok(())
}

/// A survey that passed every check, with its invitation notice.
#[derive(Debug, Clone)]
pub struct CheckedSurvey {
    pub title: String,
    pub intro: BTreeMap<String, String>,
    pub questions: Vec<Question>,
    pub anonymous: bool,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub notice: notices::CheckedNotice,
}

/// Checks a survey; errors name the field (`questions[2].options[0].ja`) as the API reports them.
pub fn check(
    input: &SurveyInput,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<CheckedSurvey, NoticeError> {
    let title = input.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(NoticeError::field(
            "title",
            "the title must be 1 to 200 characters",
        ));
    }
    let intro = check_texts("intro", &input.intro, 2000)?;
    if input.questions.is_empty() || input.questions.len() > MAX_QUESTIONS {
        return Err(NoticeError::field(
            "questions",
            format!("a survey has 1 to {MAX_QUESTIONS} questions"),
        ));
    }
    let mut questions = Vec::with_capacity(input.questions.len());
    for (index, question) in input.questions.iter().enumerate() {
        let field = format!("questions[{index}]");
        let text = check_texts(&format!("{field}.text"), &question.text, MAX_QUESTION_CHARS)?;
        let mut options = Vec::new();
        match question.kind {
            QuestionKind::Single | QuestionKind::Multiple => {
                if question.options.len() < 2 || question.options.len() > MAX_OPTIONS {
                    return Err(NoticeError::field(
                        &format!("{field}.options"),
                        format!("a choice question has 2 to {MAX_OPTIONS} options"),
                    ));
                }
                for (i, option) in question.options.iter().enumerate() {
                    options.push(check_texts(
                        &format!("{field}.options[{i}]"),
                        option,
                        MAX_OPTION_CHARS,
                    )?);
                }
            }
            QuestionKind::Scale | QuestionKind::Text => {
                if !question.options.is_empty() {
                    return Err(NoticeError::field(
                        &format!("{field}.options"),
                        format!("a {} question has no options", question.kind.as_str()),
                    ));
                }
            }
        }
        questions.push(Question {
            kind: question.kind,
            text,
            options,
            required: question.required,
        });
    }
    let opens_at = match input.opens_at.as_deref().map(str::trim) {
        None | Some("") => now,
        Some(text) => {
            let at = parse_send_at(text).map_err(|m| NoticeError::field("opens_at", m))?;
            if at < now - chrono::Duration::minutes(5) {
                return Err(NoticeError::field(
                    "opens_at",
                    format!("{text} is in the past; use null to open now"),
                ));
            }
            at.max(now)
        }
    };
    let closes_at =
        parse_send_at(input.closes_at.trim()).map_err(|m| NoticeError::field("closes_at", m))?;
    if closes_at <= opens_at {
        return Err(NoticeError::field(
            "closes_at",
            "the survey must close after it opens",
        ));
    }
    for (i, name) in input.channels.iter().enumerate() {
        if ChannelKind::from_str(name.trim()) == Ok(ChannelKind::Webchat) {
            return Err(NoticeError::field(
                &format!("channels[{i}]"),
                "a survey invites residents on line, email or push (the web chat has no resident to answer)",
            ));
        }
    }
    let body = intro
        .iter()
        .map(|(language, text)| {
            (
                language.clone(),
                format!("{text}\n\n{}", invitation_footer(language, closes_at)),
            )
        })
        .collect();
    let notice = NoticeInput {
        title: title.to_owned(),
        body,
        segment: input.segment.clone(),
        channels: input.channels.clone(),
        send_at: input.opens_at.clone().filter(|t| !t.trim().is_empty()),
        cron: None,
        ignore_quiet_hours: input.ignore_quiet_hours,
        templates: None,
        topic: input.topic.clone(),
    }
    .check(config, now)?;
    Ok(CheckedSurvey {
        title: title.to_owned(),
        intro,
        questions,
        anonymous: input.anonymous,
        opens_at,
        closes_at,
        notice,
    })
}

fn check_texts(
    field: &str,
    texts: &BTreeMap<String, String>,
    max_chars: usize,
) -> Result<BTreeMap<String, String>, NoticeError> {
    let mut checked = BTreeMap::new();
    for (language, text) in texts {
        let at = format!("{field}.{language}");
        if !LANGUAGES.contains(&language.as_str()) {
            return Err(NoticeError::field(
                &at,
                format!(
                    "`{language}` is not a language residents can choose ({})",
                    LANGUAGES.join(", ")
                ),
            ));
        }
        let text = text.trim();
        if text.is_empty() {
            return Err(NoticeError::field(&at, "the text is empty"));
        }
        if text.chars().count() > max_chars {
            return Err(NoticeError::field(
                &at,
                format!("at most {max_chars} characters"),
            ));
        }
        checked.insert(language.clone(), text.to_owned());
    }
    if !checked.contains_key("ja") {
        return Err(NoticeError::field(
            &format!("{field}.ja"),
            "the Japanese text is required: residents whose language is missing read it",
        ));
    }
    Ok(checked)
}

/// The closing line of every invitation: the deadline and how to answer on LINE (email and push invitations get
/// the resident's own link added when sent).
fn invitation_footer(language: &str, closes_at: DateTime<Utc>) -> String {
    let close = closes_at
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .format("%Y-%m-%d %H:%M");
    match language {
        "en" => format!(
            "Please answer by {close} (JST). On LINE, send \"アンケート\" or tap \"回答する\" to start."
        ),
        _ => format!(
            "回答期限: {close}\nLINEでは「回答する」を押すか「アンケート」と送ると回答を始められます。"
        ),
    }
}

/// A stored survey.
#[derive(Debug, Clone)]
pub struct Survey {
    pub id: i64,
    pub title: String,
    pub intro: BTreeMap<String, String>,
    pub questions: Vec<Question>,
    pub segment: String,
    pub channels: Vec<String>,
    pub anonymous: bool,
    pub open_at_ms: i64,
    pub close_at_ms: i64,
    pub notice_id: i64,
    pub created_by: String,
    pub created_at_ms: i64,
}

/// Where a survey stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SurveyState {
    /// Not open yet.
    Scheduled,
    Open,
    Closed,
}

impl Survey {
    pub fn state(&self, now_ms: i64) -> SurveyState {
        if now_ms < self.open_at_ms {
            SurveyState::Scheduled
        } else if now_ms < self.close_at_ms {
            SurveyState::Open
        } else {
            SurveyState::Closed
        }
    }

    fn from_row(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        fn json<T: serde::de::DeserializeOwned>(
            row: &sqlx::any::AnyRow,
            column: &str,
        ) -> Result<T, sqlx::Error> {
            let text: String = row.try_get(column)?;
            serde_json::from_str(&text).map_err(|error| sqlx::Error::ColumnDecode {
                index: column.to_owned(),
                source: Box::new(error),
            })
        }
        Ok(Survey {
            id: row.try_get("id")?,
            title: row.try_get("title")?,
            intro: json(row, "intro")?,
            questions: json(row, "questions")?,
            segment: row.try_get("segment")?,
            channels: json(row, "channels")?,
            anonymous: row.try_get::<i64, _>("anonymous")? != 0,
            open_at_ms: row.try_get("open_at_ms")?,
            close_at_ms: row.try_get("close_at_ms")?,
            notice_id: row.try_get("notice_id")?,
            created_by: row.try_get("created_by")?,
            created_at_ms: row.try_get("created_at_ms")?,
        })
    }
}

const SURVEY_COLUMNS: &str = "id, title, intro, questions, segment, channels, anonymous, open_at_ms, \
    close_at_ms, notice_id, created_by, created_at_ms";

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

/// Stores the survey and its invitation notice in one transaction; returns (survey id, notice id).
pub async fn insert(
    db: &Db,
    survey: &CheckedSurvey,
    created_by: &str,
    now: DateTime<Utc>,
) -> Result<(i64, i64), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let notice_id = notices::insert_in(&mut tx, &survey.notice, created_by, now).await?;
    let channels: Vec<&str> = survey.notice.channels.iter().map(|c| c.as_str()).collect();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO surveys (title, intro, questions, segment, channels, anonymous, open_at_ms, close_at_ms, \
         notice_id, created_by, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(survey.title.clone())
    .bind(to_json(&survey.intro))
    .bind(to_json(&survey.questions))
    .bind(survey.notice.segment.to_string())
    .bind(to_json(&channels))
    .bind(i64::from(survey.anonymous))
    .bind(survey.opens_at.timestamp_millis())
    .bind(survey.closes_at.timestamp_millis())
    .bind(notice_id)
    .bind(created_by.to_owned())
    .bind(now.timestamp_millis())
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((id, notice_id))
}

pub async fn find(db: &Db, id: i64) -> Result<Option<Survey>, sqlx::Error> {
    let sql = format!("SELECT {SURVEY_COLUMNS} FROM surveys WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .as_ref()
        .map(Survey::from_row)
        .transpose()
}

pub async fn list(db: &Db) -> Result<Vec<Survey>, sqlx::Error> {
    let sql = format!("SELECT {SURVEY_COLUMNS} FROM surveys ORDER BY id DESC LIMIT 200");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(Survey::from_row)
        .collect()
}

/// The survey whose invitation notice is `notice_id`, if any.
pub async fn of_notice(db: &Db, notice_id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM surveys WHERE notice_id = $1")
        .bind(notice_id)
        .fetch_optional(&db.pool)
        .await
}

/// Closes a survey now (pr, admin): answers stop at once. `Ok(false)` when it was closed already.
pub async fn close_now(db: &Db, id: i64, now_ms: i64) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let notice_id: Option<i64> = sqlx::query_scalar(
        "UPDATE surveys SET close_at_ms = $1, open_at_ms = CASE WHEN open_at_ms > $1 THEN $1 ELSE open_at_ms END \
         WHERE id = $2 AND close_at_ms > $1 RETURNING notice_id",
    )
    .bind(now_ms)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(notice_id) = notice_id else {
        tx.rollback().await?;
        return Ok(false);
    };
    // An invitation that has not gone out yet is not sent for a closed survey.
    sqlx::query(
        "UPDATE notices SET status = 'cancelled', next_fire_ms = NULL, updated_at_ms = $1 \
         WHERE id = $2 AND status = 'scheduled'",
    )
    .bind(now_ms)
    .bind(notice_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// A resident who may answer: the invitation was written for them.
#[derive(Debug, Clone)]
pub struct Respondent {
    pub resident_id: i64,
    pub language: String,
    pub district: Option<String>,
    pub birth_date: Option<String>,
}

impl Respondent {
    fn age_band(&self, now: DateTime<Utc>) -> String {
        let birth = self
            .birth_date
            .as_deref()
            .and_then(|text| NaiveDate::from_str(text).ok());
        segments::age_band(birth.map(|birth| segments::age_on(birth, segments::tokyo_date(now))))
    }
}

/// The resident, when `survey`'s invitation was written for them (outside the segment: `None`).
pub async fn respondent(
    db: &Db,
    survey: &Survey,
    resident_id: i64,
) -> Result<Option<Respondent>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT r.id, r.language, r.district, r.birth_date FROM residents r \
         WHERE r.id = $1 AND EXISTS (SELECT 1 FROM deliveries d WHERE d.resident_id = r.id \
         AND d.source_kind = 'notice' AND d.source_id = $2)",
    )
    .bind(resident_id)
    .bind(survey.notice_id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|row| {
        Ok(Respondent {
            resident_id: row.try_get("id")?,
            language: row.try_get("language")?,
            district: row.try_get("district")?,
            birth_date: row.try_get("birth_date")?,
        })
    })
    .transpose()
}

/// The answers a resident gave, if they answered (and the survey still links answers to them).
pub async fn answers_of(
    db: &Db,
    survey_id: i64,
    resident_id: i64,
) -> Result<Option<Vec<Option<Answer>>>, sqlx::Error> {
    let text: Option<String> = sqlx::query_scalar(
        "SELECT answers FROM survey_answers WHERE survey_id = $1 AND resident_id = $2",
    )
    .bind(survey_id)
    .bind(resident_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(text.and_then(|text| serde_json::from_str(&text).ok()))
}

/// Why an answer was not taken.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("the survey is not open yet")]
    NotOpen,
    #[error("the survey is closed")]
    Closed,
    #[error(transparent)]
    Invalid(#[from] AnswerError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Whether a submission was the resident's first answer or replaced an earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    First,
    Replaced,
}

/// Records a resident's answers (checked against the questions); a second submission while the survey is open
/// replaces the first, so there is one answer per resident.
pub async fn submit(
    db: &Db,
    survey: &Survey,
    respondent: &Respondent,
    channel: &str,
    answers: &[Option<Answer>],
    now: DateTime<Utc>,
) -> Result<Submitted, SubmitError> {
    let now_ms = now.timestamp_millis();
    match survey.state(now_ms) {
        SurveyState::Scheduled => return Err(SubmitError::NotOpen),
        SurveyState::Closed => return Err(SubmitError::Closed),
        SurveyState::Open => {}
    }
    check_answers(&survey.questions, answers)?;
    let mut tx = db.begin_write().await?;
    // Checked again inside the write: a survey closed a moment ago takes nothing more.
    let still_open: Option<i64> =
        sqlx::query_scalar("SELECT id FROM surveys WHERE id = $1 AND close_at_ms > $2")
            .bind(survey.id)
            .bind(now_ms)
            .fetch_optional(&mut *tx)
            .await?;
    if still_open.is_none() {
        tx.rollback().await?;
        return Err(SubmitError::Closed);
    }
    let existing: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM survey_answers WHERE survey_id = $1 AND resident_id = $2",
    )
    .bind(survey.id)
    .bind(respondent.resident_id)
    .fetch_optional(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO survey_answers (survey_id, resident_id, district, age_band, channel, answers, \
         answered_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         ON CONFLICT (survey_id, resident_id) DO UPDATE SET district = excluded.district, \
         age_band = excluded.age_band, channel = excluded.channel, answers = excluded.answers, \
         updated_at_ms = excluded.updated_at_ms",
    )
    .bind(survey.id)
    .bind(respondent.resident_id)
    .bind(respondent.district.clone())
    .bind(respondent.age_band(now))
    .bind(channel.to_owned())
    .bind(to_json(&answers))
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM survey_line_sessions WHERE survey_id = $1 AND resident_id = $2")
        .bind(survey.id)
        .bind(respondent.resident_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(if existing.is_some() {
        Submitted::Replaced
    } else {
        Submitted::First
    })
}

/// Which stored contents invite to a survey (a survey's invitation notice): each recipient gets their own signed
/// link to the web form, LINE friends a 「回答する」 quick reply. The dispatcher asks once per content.
pub struct SurveyInvitations {
    links: Links,
}

impl SurveyInvitations {
    pub fn new(links: Links) -> SurveyInvitations {
        SurveyInvitations { links }
    }
}

impl Invitations for SurveyInvitations {
    fn of_content<'a>(
        &'a self,
        db: &'a Db,
        content_id: i64,
    ) -> BoxFuture<'a, Result<Option<Invitation>, sqlx::Error>> {
        Box::pin(async move {
            let survey: Option<i64> = sqlx::query_scalar(
                "SELECT s.id FROM delivery_contents c JOIN surveys s ON s.notice_id = c.source_id \
                 WHERE c.id = $1 AND c.source_kind = 'notice'",
            )
            .bind(content_id)
            .fetch_optional(&db.pool)
            .await?;
            Ok(survey.map(|survey_id| Invitation {
                link: PersonalLink::SurveyAnswer { survey_id },
                label: "アンケートに回答する / Answer the survey".to_owned(),
                line_choice: Some(line::invitation_choice(&self.links, survey_id)),
            }))
        })
    }
}

/// Drops the link from answer to resident for anonymous surveys that have closed, and LINE answers left
/// half-way in closed surveys. Returns how many answers were made anonymous.
pub async fn sweep_closed(db: &Db, now_ms: i64) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let anonymised = sqlx::query(
        "UPDATE survey_answers SET resident_id = NULL WHERE resident_id IS NOT NULL AND survey_id IN \
         (SELECT id FROM surveys WHERE anonymous = 1 AND close_at_ms <= $1)",
    )
    .bind(now_ms)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(
        "UPDATE surveys SET anonymised_at_ms = $1 WHERE anonymous = 1 AND close_at_ms <= $1 \
         AND anonymised_at_ms IS NULL",
    )
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM survey_line_sessions WHERE survey_id IN (SELECT id FROM surveys WHERE close_at_ms <= $1)",
    )
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(anonymised)
}

/// How often [`spawn_sweeper`] looks for closed surveys.
pub const SWEEP_EVERY: Duration = Duration::from_secs(2);

/// Runs [`sweep_closed`] every [`SWEEP_EVERY`] until shutdown.
pub fn spawn_sweeper(db: Db, shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    crate::db::every(
        SWEEP_EVERY,
        shutdown,
        tracing::info_span!("survey_sweep"),
        move || {
            let db = db.clone();
            async move {
                match sweep_closed(&db, now_ms()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(
                        answers = n,
                        "answers of closed anonymous surveys anonymised"
                    ),
                    Err(error) => tracing::warn!(%error, "survey sweep failed; trying again"),
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(ja: &str) -> BTreeMap<String, String> {
        BTreeMap::from([("ja".to_owned(), ja.to_owned())])
    }

    fn questions() -> Vec<Question> {
        vec![
            Question {
                kind: QuestionKind::Single,
                text: texts("どれ"),
                options: vec![texts("A"), texts("B")],
                required: true,
            },
            Question {
                kind: QuestionKind::Multiple,
                text: texts("どれも"),
                options: vec![texts("A"), texts("B"), texts("C")],
                required: false,
            },
            Question {
                kind: QuestionKind::Scale,
                text: texts("満足度"),
                options: vec![],
                required: true,
            },
            Question {
                kind: QuestionKind::Text,
                text: texts("ご意見"),
                options: vec![],
                required: false,
            },
        ]
    }

    #[test]
    fn answers_are_checked_against_the_questions() {
        let qs = questions();
        let good = vec![
            Some(Answer::Choice(1)),
            Some(Answer::Choices(vec![0, 2])),
            Some(Answer::Scale(5)),
            None,
        ];
        assert_eq!(check_answers(&qs, &good), Ok(()));
        let mut missing = good.clone();
        missing[0] = None;
        assert_eq!(check_answers(&qs, &missing).unwrap_err().question, 0);
        let mut out_of_range = good.clone();
        out_of_range[0] = Some(Answer::Choice(2));
        assert_eq!(check_answers(&qs, &out_of_range).unwrap_err().question, 0);
        let mut twice = good.clone();
        twice[1] = Some(Answer::Choices(vec![1, 1]));
        assert_eq!(check_answers(&qs, &twice).unwrap_err().question, 1);
        let mut scale = good.clone();
        scale[2] = Some(Answer::Scale(6));
        let error = check_answers(&qs, &scale).unwrap_err();
        assert_eq!(error.to_string(), "question 3: the scale goes from 1 to 5");
        let mut kind = good.clone();
        kind[3] = Some(Answer::Scale(3));
        assert_eq!(check_answers(&qs, &kind).unwrap_err().question, 3);
        assert!(check_answers(&qs, &good[..3]).is_err());
    }

    #[test]
    fn answers_round_trip_as_json() {
        let answers = vec![
            Some(Answer::Choice(1)),
            Some(Answer::Choices(vec![0, 2])),
            Some(Answer::Scale(4)),
            Some(Answer::Text("駐車場を増やしてほしい".into())),
            None,
        ];
        let text = serde_json::to_string(&answers).unwrap();
        assert_eq!(
            text,
            r#"[{"choice":1},{"choices":[0,2]},{"scale":4},{"text":"駐車場を増やしてほしい"},null]"#
        );
        let back: Vec<Option<Answer>> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, answers);
    }
}
