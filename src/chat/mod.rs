//! The resident chat: one conversation logic behind two channels, LINE ([`line`], routed by [`crate::line_events`]) and the web chat
//! ([`webchat`]). A question goes to the FAQ ([`faq_service`]); the answer policy gives one answer, a few
//! candidates, or a polite fallback; every question is logged with its outcome, and residents can say whether an
//! answer helped. Unanswered and unhelpful questions are ranked for staff at `GET /api/faq/misses`.

pub mod faq_service;
pub mod line;
pub mod misses;
pub mod relay;
pub mod webchat;

use serde::Serialize;
use sqlx::Row;

use crate::db::{Db, now_ms};
use crate::links::Links;
use crate::messages::{Language, Msg, fill};
pub use faq_service::{
    FaqService, FaqServiceError, FaqStatus, SemanticState, seed_folder as seed_faq_folder,
};
pub use webchat::WebchatHub;

/// The city's main number, named in every fallback.
pub const MAIN_NUMBER: &str = crate::messages::CITY_PHONE;

// Where a question came from, and how its sender is stored: core, because erasing a resident (`protection`)
// finds their chat log by the same hash.
pub use crate::residents::{ChatChannel as Channel, sender_hash};

/// The language a reply is written in: the page's or resident's, unless the question itself is in English,
/// Chinese or Korean (the FAQ's [`faq::query_language`]), when the reply follows the question.
pub fn reply_language(lang: Language, question: &str) -> Language {
    match faq::query_language(question) {
        faq::QueryLanguage::Korean => Language::Ko,
        faq::QueryLanguage::Chinese => Language::Zh,
        faq::QueryLanguage::English => Language::En,
        faq::QueryLanguage::Japanese => lang,
    }
}

/// What a resident can do when the chat could not help: ask again in other words, call the city (number and
/// hours), or write to it from the city's website. The web chat shows them as a call link and a link; LINE as
/// text lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NextSteps {
    pub heading: String,
    pub rephrase: String,
    pub call: String,
    /// The number to dial (`tel:` link).
    pub phone: String,
    pub contact: String,
    pub contact_url: String,
}

impl NextSteps {
    pub fn new(lang: Language) -> NextSteps {
        NextSteps {
            heading: lang.say(Msg::NextStepsHeading).to_owned(),
            rephrase: lang.say(Msg::NextRephrase).to_owned(),
            call: fill(
                lang.say(Msg::NextCall),
                &[("number", MAIN_NUMBER), ("hours", lang.say(Msg::CityHours))],
            ),
            phone: MAIN_NUMBER.replace('-', ""),
            contact: lang.say(Msg::NextContactForm).to_owned(),
            contact_url: crate::messages::CITY_SITE_URL.to_owned(),
        }
    }

    /// As lines of text (LINE).
    pub fn as_text(&self) -> String {
        format!(
            "{}\n・{}\n・{}\n・{}: {}",
            self.heading, self.rephrase, self.call, self.contact, self.contact_url
        )
    }
}

/// What kind of reply a question got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReplyKind {
    /// One entry fits.
    Answer,
    /// Some entries may fit: the resident picks one.
    Candidates,
    /// Nothing fits: where to ask instead.
    Fallback,
}

/// An entry offered as a choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Candidate {
    pub id: String,
    pub question: String,
}

/// The reply to a question, the same on every channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reply {
    pub kind: ReplyKind,
    /// The text to show.
    pub text: String,
    /// The entry answered (kind `answer`).
    pub entry_id: Option<String>,
    pub department: Option<String>,
    pub link: Option<String>,
    /// The choices (kind `candidates`; two or more).
    pub candidates: Vec<Candidate>,
    /// What to do next (kind `fallback`).
    pub next_steps: Option<NextSteps>,
    /// The conversation log row: feedback and choices refer to it.
    pub log_id: i64,
}

/// The chat's shared parts.
#[derive(Clone)]
pub struct ChatService {
    pub db: Db,
    pub faq: FaqService,
    /// Replies to LINE webhook events (record-only without a channel access token).
    pub line: channels::line::LineClient,
    /// Signs and checks the postback data of quick replies.
    pub links: Links,
}

/// Normalises a question for grouping: the FAQ's normalisation (NFKC, lower case, long vowels), without white
/// space and trailing punctuation, so 「ゴミの日？」 and 「ごみの日 ?」 meet as far as the text allows.
pub fn normalize_question(text: &str) -> String {
    let normalized = faq::normalize(text);
    let mut out: String = normalized.chars().filter(|c| !c.is_whitespace()).collect();
    while out.ends_with(['?', '!', '。', '.', '、', ',', '…', '~', 'ー', '？', '！']) {
        out.pop();
    }
    out
}

impl ChatService {
    pub fn new(
        db: Db,
        faq: FaqService,
        line: channels::line::LineClient,
        links: Links,
    ) -> ChatService {
        ChatService {
            db,
            faq,
            line,
            links,
        }
    }

    /// Answers a question and logs it with its outcome.
    pub async fn ask(
        &self,
        channel: Channel,
        sender: Option<&str>,
        question: &str,
        lang: Language,
    ) -> Result<Reply, sqlx::Error> {
        let question = question.trim();
        let voice = reply_language(lang, question);
        let index = self.faq.index();
        let answer = index.answer(question);
        let (outcome, entry, candidates) = match &answer {
            faq::Answer::Confident(best) => ("answered", Some(&best.entry), Vec::new()),
            faq::Answer::Candidates(choices) => (
                "candidates",
                None,
                choices
                    .iter()
                    .map(|s| Candidate {
                        id: s.entry.id.clone(),
                        question: entry_question(&s.entry, voice).to_owned(),
                    })
                    .collect(),
            ),
            faq::Answer::NoMatch => ("missed", None, Vec::new()),
        };
        let candidate_ids: Vec<&str> = candidates.iter().map(|c| c.id.as_str()).collect();
        let log_id: i64 = sqlx::query(
            "INSERT INTO chat_log (at_ms, channel, sender, question, normalized, outcome, entry_id, candidates) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(now_ms())
        .bind(channel.as_str())
        .bind(sender)
        .bind(question)
        .bind(normalize_question(question))
        .bind(outcome)
        .bind(entry.map(|e| e.id.as_str()))
        .bind(serde_json::to_string(&candidate_ids).unwrap_or_else(|_| "[]".into()))
        .fetch_one(&self.db.pool)
        .await?
        .try_get("id")?;
        tracing::info!(
            log_id,
            outcome,
            entry = entry.map(|e| e.id.as_str()),
            "question answered"
        );
        Ok(match entry {
            Some(entry) => answer_reply(entry, voice, log_id),
            None if !candidates.is_empty() => Reply {
                kind: ReplyKind::Candidates,
                text: voice.say(Msg::WhichOne).to_owned(),
                entry_id: None,
                department: None,
                link: None,
                candidates,
                next_steps: None,
                log_id,
            },
            None => Reply {
                kind: ReplyKind::Fallback,
                text: voice.say(Msg::NoAnswerFound).to_owned(),
                entry_id: None,
                department: None,
                link: None,
                candidates: Vec::new(),
                next_steps: Some(NextSteps::new(voice)),
                log_id,
            },
        })
    }

    /// The resident picked `entry_id` among the candidates of log row `log_id`: record the choice and answer it.
    /// `None` when the row or the entry is unknown, or the entry was not offered there.
    pub async fn choose(
        &self,
        log_id: i64,
        entry_id: &str,
        sender: Option<&str>,
        lang: Language,
    ) -> Result<Option<Reply>, sqlx::Error> {
        let row = sqlx::query("SELECT candidates, sender, question FROM chat_log WHERE id = $1")
            .bind(log_id)
            .fetch_optional(&self.db.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let offered: String = row.try_get("candidates")?;
        let asker: Option<String> = row.try_get("sender")?;
        let asked: String = row.try_get("question")?;
        let offered: Vec<String> = serde_json::from_str(&offered).unwrap_or_default();
        if !offered.iter().any(|id| id == entry_id) || asker.as_deref() != sender {
            return Ok(None);
        }
        let index = self.faq.index();
        let Some(entry) = index.entry(entry_id) else {
            return Ok(None);
        };
        sqlx::query("UPDATE chat_log SET entry_id = $1 WHERE id = $2")
            .bind(entry_id)
            .bind(log_id)
            .execute(&self.db.pool)
            .await?;
        tracing::info!(log_id, entry = entry_id, "candidate chosen");
        Ok(Some(answer_reply(
            entry,
            reply_language(lang, &asked),
            log_id,
        )))
    }

    /// Records whether the reply of log row `log_id` helped. `false` when the row is not the sender's.
    pub async fn feedback(
        &self,
        log_id: i64,
        helpful: bool,
        sender: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        let result = sqlx::query(
            "UPDATE chat_log SET helpful = $1, feedback_at_ms = $2 WHERE id = $3 \
             AND ((sender IS NULL AND $4 IS NULL) OR sender = $4)",
        )
        .bind(i64::from(helpful))
        .bind(now_ms())
        .bind(log_id)
        .bind(sender)
        .execute(&self.db.pool)
        .await?;
        let recorded = result.rows_affected() == 1;
        tracing::info!(log_id, helpful, recorded, "feedback");
        Ok(recorded)
    }
}

fn entry_question(entry: &faq::FaqEntry, voice: Language) -> &str {
    match (voice, &entry.question_en) {
        (Language::En, Some(question)) => question,
        _ => &entry.question,
    }
}

/// The entry's answer in the reply's language when the entry has it; otherwise its Japanese answer, after one line
/// in the resident's language saying so. The link is the entry's own page, when it has one.
fn answer_reply(entry: &faq::FaqEntry, voice: Language, log_id: i64) -> Reply {
    let text = match (voice, &entry.answer_en) {
        (Language::En, Some(answer)) => answer.clone(),
        (Language::Ja, _) => entry.answer.clone(),
        _ => format!("{}\n{}", voice.say(Msg::AnswerInJapanese), entry.answer),
    };
    Reply {
        kind: ReplyKind::Answer,
        text,
        entry_id: Some(entry.id.clone()),
        department: Some(entry.department.clone()),
        link: entry.link.clone().filter(|link| own_page(link)),
        candidates: Vec::new(),
        next_steps: None,
        log_id,
    }
}

/// Whether `link` is a page of its own rather than the city's top page (which says nothing more than the answer).
fn own_page(link: &str) -> bool {
    link.trim_end_matches('/') != crate::messages::CITY_SITE_URL.trim_end_matches('/')
}

/// The polite fallback for a question nothing fits, with what to do next, as one text (LINE).
pub fn fallback_text(lang: Language) -> String {
    format!(
        "{}\n{}",
        lang.say(Msg::NoAnswerFound),
        NextSteps::new(lang).as_text()
    )
}

/// The greeting for a new LINE friend: what the bot does, and how registering will work.
pub fn greeting_text(lang: Language) -> String {
    fill(lang.say(Msg::LineGreeting), &[("number", MAIN_NUMBER)])
}

/// The thanks after feedback; after 「役に立たなかった」/「どれでもない」 the next steps follow (see [`NextSteps`]).
pub fn feedback_thanks(helpful: bool, lang: Language) -> &'static str {
    if helpful {
        lang.say(Msg::ThanksHelpful)
    } else {
        lang.say(Msg::ThanksNotHelpful)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_group_after_normalisation() {
        assert_eq!(
            normalize_question("ゴミの日？"),
            normalize_question("ゴミの日 ?")
        );
        assert_eq!(normalize_question("ＡＢＣ　です！"), "abcです");
        for lang in Language::ALL {
            assert!(fallback_text(lang).contains(MAIN_NUMBER), "{lang}");
            assert!(greeting_text(lang).contains(MAIN_NUMBER), "{lang}");
        }
    }

    #[test]
    fn replies_follow_the_question_language() {
        assert_eq!(
            reply_language(Language::Ja, "How do I get a residence certificate?"),
            Language::En
        );
        assert_eq!(
            reply_language(Language::Vi, "住民票を取りたい"),
            Language::Vi
        );
        assert_eq!(
            reply_language(Language::Ja, "주민표를 받고 싶어요"),
            Language::Ko
        );
    }

    #[test]
    fn only_an_entry_s_own_page_is_linked() {
        assert!(!own_page("https://www.city.yukuhashi.fukuoka.jp/"));
        assert!(!own_page("https://www.city.yukuhashi.fukuoka.jp"));
        assert!(own_page(
            "https://www.city.yukuhashi.fukuoka.jp/soshiki/4/1234.html"
        ));
    }
}
