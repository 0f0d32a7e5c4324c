//! The survey's web form: a phone-sized page reached by the signed per-resident link that email and push
//! invitations carry. It works without JavaScript (a plain form POST); errors show the form again with the
//! resident's answers kept and the question that needs attention marked.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use tracing::Instrument;

use super::{Answer, Question, QuestionKind, SubmitError, Submitted, Survey, SurveyState};
use crate::AppState;
use crate::db::now_ms;
use crate::html::{Page, escape};

const STYLESHEET: &str = include_str!("survey.css");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/s/{token}", get(form).post(submit))
        .route("/survey.css", get(stylesheet))
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// Fixed texts of the form, in Japanese and English (other languages read Japanese; the questions themselves
/// come in every language staff wrote).
struct Words {
    required: &'static str,
    submit: &'static str,
    thanks: &'static str,
    replaced: &'static str,
    closed: &'static str,
    not_open: &'static str,
    invalid: &'static str,
    fix: &'static str,
    answered_before: &'static str,
    low: &'static str,
    high: &'static str,
}

fn words(language: &str) -> Words {
    match language {
        "en" => Words {
            required: "required",
            submit: "Send",
            thanks: "Thank you for your answers.",
            replaced: "Your answers have been updated.",
            closed: "This survey is closed.",
            not_open: "This survey is not open yet.",
            invalid: "This link is not valid.",
            fix: "Please check the marked question.",
            answered_before: "You answered before. Sending again replaces your answers.",
            low: "low",
            high: "high",
        },
        _ => Words {
            required: "必須",
            submit: "送信する",
            thanks: "ご回答ありがとうございました。",
            replaced: "回答を更新しました。",
            closed: "このアンケートは締め切られました。",
            not_open: "このアンケートはまだ始まっていません。",
            invalid: "このリンクは無効です。",
            fix: "印の付いた質問をご確認ください。",
            answered_before: "回答済みです。もう一度送信すると回答が更新されます。",
            low: "低い",
            high: "高い",
        },
    }
}

/// A survey page: the resident's language, the survey stylesheet, `content` in `<main>`.
fn page(language: &str, title: &str, content: &str) -> String {
    Page::new(language, title)
        .stylesheet("/survey.css")
        .render(&format!("<main>{content}</main>"))
}

fn message_page(status: StatusCode, language: &str, title: &str, text: &str) -> Response {
    let content = format!(
        "<h1>{}</h1><p class=\"notice\">{}</p>",
        escape(title),
        escape(text)
    );
    (status, Html(page(language, title, &content))).into_response()
}

/// The survey and the resident behind a link; a page saying why not otherwise.
async fn open_link(state: &AppState, token: &str) -> Result<(Survey, super::Respondent), Response> {
    let invalid = || {
        let w = words("ja");
        message_page(
            StatusCode::NOT_FOUND,
            "ja",
            "アンケート / Survey",
            w.invalid,
        )
    };
    let Some((survey_id, resident_id)) = state.links.check_survey_answer(token) else {
        tracing::warn!("survey link with a bad signature");
        return Err(invalid());
    };
    let survey = match super::find(&state.db, survey_id).await {
        Ok(Some(survey)) => survey,
        Ok(None) => return Err(invalid()),
        Err(error) => return Err(crate::error::ApiError::internal(error).into_response()),
    };
    let respondent = match super::respondent(&state.db, &survey, resident_id).await {
        Ok(Some(respondent)) => respondent,
        // Forgotten, or never invited: the link opens nothing.
        Ok(None) => return Err(invalid()),
        Err(error) => return Err(crate::error::ApiError::internal(error).into_response()),
    };
    Ok((survey, respondent))
}

fn state_page(survey: &Survey, language: &str) -> Option<Response> {
    let w = words(language);
    match survey.state(now_ms()) {
        SurveyState::Open => None,
        SurveyState::Closed => Some(message_page(
            StatusCode::GONE,
            language,
            &survey.title,
            w.closed,
        )),
        SurveyState::Scheduled => Some(message_page(
            StatusCode::FORBIDDEN,
            language,
            &survey.title,
            w.not_open,
        )),
    }
}

async fn form(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let (survey, respondent) = match open_link(&state, &token).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let language = respondent.language.as_str();
    if let Some(response) = state_page(&survey, language) {
        return response;
    }
    let previous = match super::answers_of(&state.db, survey.id, respondent.resident_id).await {
        Ok(previous) => previous,
        Err(error) => return crate::error::ApiError::internal(error).into_response(),
    };
    let note = previous
        .as_ref()
        .map(|_| words(language).answered_before.to_owned());
    let answers = previous.unwrap_or_else(|| vec![None; survey.questions.len()]);
    Html(render_form(
        &survey,
        language,
        &token,
        &answers,
        None,
        note.as_deref(),
    ))
    .into_response()
}

fn render_form(
    survey: &Survey,
    language: &str,
    token: &str,
    answers: &[Option<Answer>],
    error: Option<&super::AnswerError>,
    note: Option<&str>,
) -> String {
    let w = words(language);
    let mut html = format!("<h1>{}</h1>", escape(&survey.title));
    html.push_str(&format!(
        "<p class=\"intro\">{}</p>",
        escape(super::localized(&survey.intro, language)).replace('\n', "<br>")
    ));
    if let Some(note) = note {
        html.push_str(&format!("<p class=\"notice\">{}</p>", escape(note)));
    }
    if error.is_some() {
        html.push_str(&format!(
            "<p class=\"error\" role=\"alert\">{}</p>",
            escape(w.fix)
        ));
    }
    html.push_str(&format!(
        "<form method=\"post\" action=\"/s/{}\">",
        escape(token)
    ));
    for (index, question) in survey.questions.iter().enumerate() {
        let answer = answers.get(index).and_then(Option::as_ref);
        let failed = error.filter(|e| e.question == index);
        html.push_str(&render_question(
            index, question, language, answer, failed, &w,
        ));
    }
    html.push_str(&format!(
        "<button type=\"submit\">{}</button></form>",
        escape(w.submit)
    ));
    page(language, &survey.title, &html)
}

fn render_question(
    index: usize,
    question: &Question,
    language: &str,
    answer: Option<&Answer>,
    error: Option<&super::AnswerError>,
    w: &Words,
) -> String {
    let name = format!("q{index}");
    let class = if error.is_some() {
        " class=\"invalid\""
    } else {
        ""
    };
    let mut html = format!(
        "<fieldset{class}><legend>{}. {}{}</legend>",
        index + 1,
        escape(question.text_in(language)),
        if question.required {
            format!(" <span class=\"required\">{}</span>", w.required)
        } else {
            String::new()
        }
    );
    if let Some(error) = error {
        html.push_str(&format!(
            "<p class=\"error\">{}</p>",
            escape(&error.message)
        ));
    }
    let checked = |yes: bool| if yes { " checked" } else { "" };
    match question.kind {
        QuestionKind::Single | QuestionKind::Multiple => {
            let input = if question.kind == QuestionKind::Single {
                "radio"
            } else {
                "checkbox"
            };
            for option in 0..question.options.len() {
                let chosen = match answer {
                    Some(Answer::Choice(choice)) => *choice == option,
                    Some(Answer::Choices(choices)) => choices.contains(&option),
                    _ => false,
                };
                html.push_str(&format!(
                    "<label class=\"choice\"><input type=\"{input}\" name=\"{name}\" value=\"{option}\"{}> {}</label>",
                    checked(chosen),
                    escape(question.option_in(option, language))
                ));
            }
        }
        QuestionKind::Scale => {
            html.push_str(&format!(
                "<div class=\"scale\"><span class=\"end\">{}</span>",
                w.low
            ));
            for value in 1..=5u8 {
                let chosen = matches!(answer, Some(Answer::Scale(v)) if *v == value);
                html.push_str(&format!(
                    "<label><input type=\"radio\" name=\"{name}\" value=\"{value}\"{}> {value}</label>",
                    checked(chosen)
                ));
            }
            html.push_str(&format!("<span class=\"end\">{}</span></div>", w.high));
        }
        QuestionKind::Text => {
            let text = match answer {
                Some(Answer::Text(text)) => text.as_str(),
                _ => "",
            };
            html.push_str(&format!(
                "<textarea name=\"{name}\" rows=\"4\" maxlength=\"{}\">{}</textarea>",
                super::MAX_TEXT_ANSWER_CHARS,
                escape(text)
            ));
        }
    }
    html.push_str("</fieldset>");
    html
}

/// One answer per question (`None`: skipped).
type Sheet = Vec<Option<Answer>>;

/// Reads the posted form into one answer per question; a value that is not a number where a number belongs is
/// reported on that question (with what could be read, to show the form again).
fn parse_form(questions: &[Question], body: &[u8]) -> Result<Sheet, (Sheet, super::AnswerError)> {
    let mut values: Vec<Vec<String>> = vec![Vec::new(); questions.len()];
    for (key, value) in form_urlencoded::parse(body) {
        let Some(index) = key
            .strip_prefix('q')
            .and_then(|i| i.parse::<usize>().ok())
            .filter(|i| *i < questions.len())
        else {
            continue;
        };
        values[index].push(value.into_owned());
    }
    let mut answers = Vec::with_capacity(questions.len());
    let mut first_error = None;
    for (index, (question, given)) in questions.iter().zip(values).enumerate() {
        let numbers: Result<Vec<usize>, _> = given.iter().map(|v| v.trim().parse()).collect();
        let answer = match (question.kind, numbers) {
            (QuestionKind::Text, _) => given
                .into_iter()
                .next()
                .filter(|t| !t.trim().is_empty())
                .map(|t| Answer::Text(t.trim().to_owned())),
            (_, Err(_)) => {
                first_error.get_or_insert(super::AnswerError {
                    question: index,
                    message: "not a valid choice".into(),
                });
                None
            }
            (_, Ok(numbers)) if numbers.is_empty() => None,
            (QuestionKind::Single, Ok(numbers)) => Some(Answer::Choice(numbers[0])),
            (QuestionKind::Multiple, Ok(numbers)) => Some(Answer::Choices(numbers)),
            (QuestionKind::Scale, Ok(numbers)) => {
                Some(Answer::Scale(u8::try_from(numbers[0]).unwrap_or(u8::MAX)))
            }
        };
        answers.push(answer);
    }
    match first_error {
        Some(error) => Err((answers, error)),
        None => Ok(answers),
    }
}

async fn submit(State(state): State<AppState>, Path(token): Path<String>, body: Bytes) -> Response {
    let (survey, respondent) = match open_link(&state, &token).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let language = respondent.language.clone();
    if let Some(response) = state_page(&survey, &language) {
        return response;
    }
    let answers = match parse_form(&survey.questions, &body) {
        Ok(answers) => answers,
        Err((answers, error)) => {
            let html = render_form(&survey, &language, &token, &answers, Some(&error), None);
            return (StatusCode::BAD_REQUEST, Html(html)).into_response();
        }
    };
    let w = words(&language);
    let span = tracing::info_span!("survey_answer", survey = survey.id, channel = "web");
    let outcome = super::submit(&state.db, &survey, &respondent, "web", &answers, Utc::now())
        .instrument(span)
        .await;
    match outcome {
        Ok(submitted) => {
            let text = match submitted {
                Submitted::First => w.thanks,
                Submitted::Replaced => w.replaced,
            };
            message_page(StatusCode::OK, &language, &survey.title, text)
        }
        Err(SubmitError::Invalid(error)) => {
            let html = render_form(&survey, &language, &token, &answers, Some(&error), None);
            (StatusCode::BAD_REQUEST, Html(html)).into_response()
        }
        Err(SubmitError::Closed) => {
            message_page(StatusCode::GONE, &language, &survey.title, w.closed)
        }
        Err(SubmitError::NotOpen) => {
            message_page(StatusCode::FORBIDDEN, &language, &survey.title, w.not_open)
        }
        Err(SubmitError::Database(error)) => {
            crate::error::ApiError::internal(error).into_response()
        }
    }
}
