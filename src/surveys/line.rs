//! Answering a survey in the LINE chat: the invitation's 「回答する」 quick reply (or the word 「アンケート」)
//! starts it; each choice question comes as quick replies (postbacks), a multiple choice question toggles its
//! choices until 「選択終了」, a scale offers 1 to 5, and a free-text question takes the resident's next message.
//! The answers so far live in `survey_line_sessions`, so a restart in the middle loses nothing; the sheet is
//! checked and stored like a web answer when the last question is answered.
//!
//! Postback data is `sv:SURVEY:QUESTION:ACTION:MAC` with a MAC from the hub's link secret: a postback the hub
//! did not make is ignored. The resident comes from the LINE user id of the (signed) webhook event and must have
//! been invited.

use channels::line::{LineMessage, LineUserId, QuickReply, QuickReplyItem};
use chrono::Utc;
use sqlx::Row;
use tracing::Instrument;
use unicode_normalization::UnicodeNormalization;

use super::{Answer, QuestionKind, Respondent, SubmitError, Submitted, Survey};
use crate::chat::line::{LineEventError, label};
use crate::db::{Db, now_ms};
use crate::links::Links;
use crate::render::LineChoice;

/// The prefix of survey postbacks.
pub const POSTBACK_PREFIX: &str = "sv:";

/// Fixed texts in Japanese and English (questions come in every language staff wrote).
fn ja_or_en<'a>(language: &str, ja: &'a str, en: &'a str) -> &'a str {
    if language == "en" { en } else { ja }
}

/// Signed postback data for `action` on question `question` of `survey`.
pub fn postback_data(links: &Links, survey: i64, question: usize, action: &str) -> String {
    links.sign_survey_postback(&format!("{POSTBACK_PREFIX}{survey}:{question}:{action}"))
}

/// The 「回答する」 quick reply the invitation carries on LINE.
pub fn invitation_choice(links: &Links, survey: i64) -> LineChoice {
    LineChoice {
        label: "回答する".to_owned(),
        data: postback_data(links, survey, 0, "start"),
        display_text: "アンケートに回答する".to_owned(),
    }
}

async fn resident_of(db: &Db, user: &LineUserId) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT resident_id FROM resident_addresses WHERE channel = 'line' AND address = $1",
    )
    .bind(user.as_str())
    .fetch_optional(&db.pool)
    .await
}

/// Whether a text message asks to answer a survey: 「アンケート」 in any width or script, or "survey".
fn asks_for_survey(text: &str) -> bool {
    let normalized: String = text.nfkc().collect::<String>().trim().to_lowercase();
    matches!(
        normalized.as_str(),
        "アンケート" | "あんけーと" | "アンケートに回答する" | "survey"
    )
}

/// A text message: starts a survey on 「アンケート」, or answers the free-text question the resident is at.
/// `None` when the message is not for a survey (the FAQ answers it).
pub async fn on_text(
    db: &Db,
    links: &Links,
    user: &LineUserId,
    text: &str,
) -> Result<Option<Vec<LineMessage>>, LineEventError> {
    let Some(resident_id) = resident_of(db, user).await? else {
        return Ok(None);
    };
    if asks_for_survey(text) {
        return start_latest(db, links, resident_id).await.map(Some);
    }
    let Some(session) = session_in(db, None, resident_id).await? else {
        return Ok(None);
    };
    let Some(survey) = super::find(db, session.survey_id).await? else {
        return Ok(None);
    };
    let at_text = survey
        .questions
        .get(session.question)
        .is_some_and(|q| q.kind == QuestionKind::Text);
    if !at_text || survey.state(now_ms()) != super::SurveyState::Open {
        return Ok(None);
    }
    let Some(respondent) = super::respondent(db, &survey, resident_id).await? else {
        return Ok(None);
    };
    let mut answers = session.answers;
    let text: String = text
        .trim()
        .chars()
        .take(super::MAX_TEXT_ANSWER_CHARS)
        .collect();
    answers[session.question] = Some(Answer::Text(text));
    advance(db, links, &survey, &respondent, session.question, answers)
        .await
        .map(Some)
}

/// A postback with the survey prefix. Forged or stale data is ignored (logged); nothing changes.
pub async fn on_postback(
    db: &Db,
    links: &Links,
    user: &LineUserId,
    data: &str,
) -> Result<Vec<LineMessage>, LineEventError> {
    let Some(payload) = links.open_survey_postback(data) else {
        tracing::warn!("survey postback with a bad signature ignored");
        return Ok(Vec::new());
    };
    let mut parts = payload
        .strip_prefix(POSTBACK_PREFIX)
        .unwrap_or_default()
        .split(':');
    let (Some(Ok(survey_id)), Some(Ok(question)), Some(action)) = (
        parts.next().map(str::parse::<i64>),
        parts.next().map(str::parse::<usize>),
        parts.next(),
    ) else {
        return Ok(Vec::new());
    };
    let Some(resident_id) = resident_of(db, user).await? else {
        return Ok(Vec::new());
    };
    let Some(survey) = super::find(db, survey_id).await? else {
        return Ok(Vec::new());
    };
    let Some(respondent) = super::respondent(db, &survey, resident_id).await? else {
        tracing::info!(
            survey = survey_id,
            "a resident outside the survey's invitation tried to answer"
        );
        return text_message(
            "このアンケートの対象ではないため回答できません。/ This survey was not sent to you.",
        );
    };
    let language = respondent.language.clone();
    if let Some(refusal) = refusal(&survey, &language) {
        return text_message(refusal);
    }
    if action == "start" {
        return start(db, links, &survey, &respondent).await;
    }
    let Some(session) = session_in(db, Some(survey.id), resident_id).await? else {
        // The sheet was finished (or never started): a late tap starts nothing by itself.
        return text_message(ja_or_en(
            &language,
            "回答は受け付け済みです。回答を変更するには「アンケート」と送ってください。",
            "Your answers are in. Send \"survey\" to change them.",
        ));
    };
    if session.question != question {
        // A tap on an earlier question's buttons: ask the current one again.
        return ask(
            links,
            &survey,
            &language,
            session.question,
            &session.answers,
            None,
        );
    }
    let Some(current) = survey.questions.get(question) else {
        return Ok(Vec::new());
    };
    let mut answers = session.answers;
    let number = |prefix: char| {
        action
            .strip_prefix(prefix)
            .and_then(|n| n.parse::<usize>().ok())
    };
    match (current.kind, action) {
        (QuestionKind::Single, _) if number('c').is_some_and(|n| n < current.options.len()) => {
            answers[question] = number('c').map(Answer::Choice);
        }
        (QuestionKind::Scale, _) if number('c').is_some_and(|n| (1..=5).contains(&n)) => {
            answers[question] = number('c').map(|n| Answer::Scale(n as u8));
        }
        (QuestionKind::Multiple, _) if number('t').is_some_and(|n| n < current.options.len()) => {
            let choice = number('t').unwrap_or_default();
            let mut chosen = match answers[question].take() {
                Some(Answer::Choices(chosen)) => chosen,
                _ => Vec::new(),
            };
            if let Some(at) = chosen.iter().position(|c| *c == choice) {
                chosen.remove(at);
            } else {
                chosen.push(choice);
                chosen.sort_unstable();
            }
            answers[question] = Some(Answer::Choices(chosen));
            save_session(db, survey.id, resident_id, question, &answers).await?;
            return ask(links, &survey, &language, question, &answers, None);
        }
        (QuestionKind::Multiple, "d") => {
            let empty = !matches!(&answers[question], Some(Answer::Choices(c)) if !c.is_empty());
            if empty {
                if current.required {
                    let hint = ja_or_en(
                        &language,
                        "少なくとも一つ選んでください。",
                        "Please choose at least one.",
                    );
                    return ask(links, &survey, &language, question, &answers, Some(hint));
                }
                answers[question] = None;
            }
        }
        (_, "s") if !current.required => answers[question] = None,
        _ => return ask(links, &survey, &language, question, &answers, None),
    }
    advance(db, links, &survey, &respondent, question, answers).await
}

fn refusal(survey: &Survey, language: &str) -> Option<&'static str> {
    match survey.state(now_ms()) {
        super::SurveyState::Open => None,
        super::SurveyState::Closed => Some(ja_or_en(
            language,
            "このアンケートは締め切られました。",
            "This survey is closed.",
        )),
        super::SurveyState::Scheduled => Some(ja_or_en(
            language,
            "このアンケートはまだ始まっていません。",
            "This survey is not open yet.",
        )),
    }
}

fn text_message(text: &str) -> Result<Vec<LineMessage>, LineEventError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![LineMessage::text(text)?])
}

/// 「アンケート」: the newest open survey the resident was invited to and has not answered, else the newest
/// answered one (to change the answers).
async fn start_latest(
    db: &Db,
    links: &Links,
    resident_id: i64,
) -> Result<Vec<LineMessage>, LineEventError> {
    let now = now_ms();
    let rows = sqlx::query(
        "SELECT s.id, EXISTS (SELECT 1 FROM survey_answers a WHERE a.survey_id = s.id AND a.resident_id = $2) \
         AS answered FROM surveys s WHERE s.open_at_ms <= $1 AND s.close_at_ms > $1 AND EXISTS \
         (SELECT 1 FROM deliveries d WHERE d.resident_id = $2 AND d.source_kind = 'notice' \
         AND d.source_id = s.notice_id) ORDER BY s.id DESC",
    )
    .bind(now)
    .bind(resident_id)
    .fetch_all(&db.pool)
    .await?;
    let mut chosen = None;
    for row in &rows {
        let id: i64 = row.try_get("id")?;
        let answered = row.try_get::<bool, _>("answered").unwrap_or_else(|_| {
            row.try_get::<i64, _>("answered")
                .map(|n| n != 0)
                .unwrap_or(false)
        });
        if !answered {
            chosen = Some(id);
            break;
        }
        chosen.get_or_insert(id);
    }
    let survey = match chosen {
        Some(id) => super::find(db, id).await?,
        None => None,
    };
    let respondent = match &survey {
        Some(survey) => super::respondent(db, survey, resident_id).await?,
        None => None,
    };
    match (survey, respondent) {
        (Some(survey), Some(respondent)) => start(db, links, &survey, &respondent).await,
        _ => text_message(
            "いま回答できるアンケートはありません。/ There is no survey for you to answer now.",
        ),
    }
}

async fn start(
    db: &Db,
    links: &Links,
    survey: &Survey,
    respondent: &Respondent,
) -> Result<Vec<LineMessage>, LineEventError> {
    let language = respondent.language.as_str();
    let answers = vec![None; survey.questions.len()];
    save_session(db, survey.id, respondent.resident_id, 0, &answers).await?;
    let previous = super::answers_of(db, survey.id, respondent.resident_id).await?;
    let mut intro = format!("【{}】", survey.title);
    if previous.is_some() {
        intro.push('\n');
        intro.push_str(ja_or_en(
            language,
            "回答済みです。最後まで答えると前回の回答が置き換わります。",
            "You answered before: finishing again replaces your answers.",
        ));
    }
    let mut messages = vec![LineMessage::text(intro)?];
    messages.extend(ask(links, survey, language, 0, &answers, None)?);
    Ok(messages)
}

/// Moves past `question`: the next question, or the stored sheet and thanks after the last one.
async fn advance(
    db: &Db,
    links: &Links,
    survey: &Survey,
    respondent: &Respondent,
    question: usize,
    answers: Vec<Option<Answer>>,
) -> Result<Vec<LineMessage>, LineEventError> {
    let language = respondent.language.as_str();
    let next = question + 1;
    if next < survey.questions.len() {
        save_session(db, survey.id, respondent.resident_id, next, &answers).await?;
        return ask(links, survey, language, next, &answers, None);
    }
    let span = tracing::info_span!("survey_answer", survey = survey.id, channel = "line");
    let outcome = super::submit(db, survey, respondent, "line", &answers, Utc::now())
        .instrument(span)
        .await;
    match outcome {
        Ok(Submitted::First) => text_message(ja_or_en(
            language,
            "ご回答ありがとうございました。",
            "Thank you for your answers.",
        )),
        Ok(Submitted::Replaced) => text_message(ja_or_en(
            language,
            "回答を更新しました。ありがとうございました。",
            "Your answers have been updated. Thank you.",
        )),
        Err(SubmitError::Invalid(error)) => {
            save_session(
                db,
                survey.id,
                respondent.resident_id,
                error.question,
                &answers,
            )
            .await?;
            let hint = ja_or_en(
                language,
                "この質問への回答が必要です。",
                "This question needs an answer.",
            );
            ask(
                links,
                survey,
                language,
                error.question,
                &answers,
                Some(hint),
            )
        }
        Err(SubmitError::Closed | SubmitError::NotOpen) => {
            text_message(refusal(survey, language).unwrap_or_default())
        }
        Err(SubmitError::Database(error)) => Err(error.into()),
    }
}

/// The message asking question `index`, with its quick replies.
fn ask(
    links: &Links,
    survey: &Survey,
    language: &str,
    index: usize,
    answers: &[Option<Answer>],
    hint: Option<&str>,
) -> Result<Vec<LineMessage>, LineEventError> {
    let Some(question) = survey.questions.get(index) else {
        return Ok(Vec::new());
    };
    let mut text = format!(
        "Q{}/{} {}",
        index + 1,
        survey.questions.len(),
        question.text_in(language)
    );
    if let Some(hint) = hint {
        text = format!("{hint}\n{text}");
    }
    let data = |action: &str| postback_data(links, survey.id, index, action);
    let mut items = Vec::new();
    match question.kind {
        QuestionKind::Single => {
            for option in 0..question.options.len() {
                let shown = question.option_in(option, language);
                items.push(QuickReplyItem::postback(
                    label(shown),
                    data(&format!("c{option}")),
                    Some(shown.to_owned()),
                )?);
            }
        }
        QuestionKind::Scale => {
            text.push_str(ja_or_en(
                language,
                "\n（1: 低い 〜 5: 高い）",
                "\n(1: low – 5: high)",
            ));
            for value in 1..=5 {
                items.push(QuickReplyItem::postback(
                    value.to_string(),
                    data(&format!("c{value}")),
                    Some(value.to_string()),
                )?);
            }
        }
        QuestionKind::Multiple => {
            let chosen: &[usize] = match answers.get(index).and_then(Option::as_ref) {
                Some(Answer::Choices(chosen)) => chosen,
                _ => &[],
            };
            text.push_str(ja_or_en(
                language,
                "\n（複数選べます。選び終えたら「選択終了」）",
                "\n(Choose any; tap \"Done\" when finished.)",
            ));
            if !chosen.is_empty() {
                let names: Vec<&str> = chosen
                    .iter()
                    .map(|c| question.option_in(*c, language))
                    .collect();
                text.push_str(&format!(
                    "\n{}{}",
                    ja_or_en(language, "選択中: ", "Chosen: "),
                    names.join("、")
                ));
            }
            for option in 0..question.options.len() {
                let shown = question.option_in(option, language);
                let mark = if chosen.contains(&option) { "✓" } else { "" };
                items.push(QuickReplyItem::postback(
                    label(&format!("{mark}{shown}")),
                    data(&format!("t{option}")),
                    None,
                )?);
            }
            let done = ja_or_en(language, "選択終了", "Done");
            items.push(QuickReplyItem::postback(
                done,
                data("d"),
                Some(done.to_owned()),
            )?);
        }
        QuestionKind::Text => {
            text.push_str(ja_or_en(
                language,
                "\n（メッセージで回答を送ってください）",
                "\n(Please send your answer as a message.)",
            ));
        }
    }
    if !question.required && question.kind != QuestionKind::Multiple {
        let skip = ja_or_en(language, "スキップ", "Skip");
        items.push(QuickReplyItem::postback(
            skip,
            data("s"),
            Some(skip.to_owned()),
        )?);
    }
    let message = LineMessage::text(text)?;
    Ok(vec![if items.is_empty() {
        message
    } else {
        message.with_quick_reply(QuickReply::new(items)?)
    }])
}

struct Session {
    survey_id: i64,
    question: usize,
    answers: Vec<Option<Answer>>,
}

fn session_from_row(row: &sqlx::any::AnyRow) -> Result<Session, sqlx::Error> {
    let answers: String = row.try_get("answers")?;
    Ok(Session {
        survey_id: row.try_get("survey_id")?,
        question: usize::try_from(row.try_get::<i64, _>("question")?).unwrap_or(usize::MAX),
        answers: serde_json::from_str(&answers)
            .map_err(|error| sqlx::Error::Decode(Box::new(error)))?,
    })
}

/// The resident's most recent answer in progress (in `survey` when given).
async fn session_in(
    db: &Db,
    survey_id: Option<i64>,
    resident_id: i64,
) -> Result<Option<Session>, sqlx::Error> {
    sqlx::query(
        "SELECT survey_id, question, answers FROM survey_line_sessions WHERE resident_id = $1 \
         AND ($2 IS NULL OR survey_id = $2) ORDER BY updated_at_ms DESC LIMIT 1",
    )
    .bind(resident_id)
    .bind(survey_id)
    .fetch_optional(&db.pool)
    .await?
    .as_ref()
    .map(session_from_row)
    .transpose()
}

async fn save_session(
    db: &Db,
    survey_id: i64,
    resident_id: i64,
    question: usize,
    answers: &[Option<Answer>],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO survey_line_sessions (survey_id, resident_id, question, answers, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (survey_id, resident_id) DO UPDATE SET \
         question = excluded.question, answers = excluded.answers, updated_at_ms = excluded.updated_at_ms",
    )
    .bind(survey_id)
    .bind(resident_id)
    .bind(question as i64)
    .bind(serde_json::to_string(answers).unwrap_or_else(|_| "[]".into()))
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::asks_for_survey;

    #[test]
    fn the_survey_word_is_recognised_in_any_width() {
        assert!(asks_for_survey("アンケート"));
        assert!(asks_for_survey(" ｱﾝｹｰﾄ "));
        assert!(asks_for_survey("Survey"));
        assert!(!asks_for_survey("アンケートの結果はいつ出ますか"));
    }
}
