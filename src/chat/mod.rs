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
pub use faq_service::{FaqService, FaqServiceError, FaqStatus, SemanticState};
pub use webchat::WebchatHub;

/// The city's main number, named in every fallback.
pub const MAIN_NUMBER: &str = "0930-25-1111";

// Where a question came from, and how its sender is stored: core, because erasing a resident (`protection`)
// finds their chat log by the same hash.
pub use crate::residents::{ChatChannel as Channel, sender_hash};

/// The language a reply is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    /// English for residents who chose `en`, else Japanese.
    pub fn from_code(code: Option<&str>) -> Lang {
        match code {
            Some(code) if code.trim().eq_ignore_ascii_case("en") => Lang::En,
            _ => Lang::Ja,
        }
    }
}

/// The language a reply is written in: the channel's [`Lang`], unless the question itself is in English, Chinese
/// or Korean (the FAQ's [`faq::query_language`]), when the reply follows the question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Voice {
    Ja,
    En,
    Zh,
    Ko,
}

impl Voice {
    fn of(lang: Lang, question: &str) -> Voice {
        match faq::query_language(question) {
            faq::QueryLanguage::Korean => Voice::Ko,
            faq::QueryLanguage::Chinese => Voice::Zh,
            faq::QueryLanguage::English => Voice::En,
            faq::QueryLanguage::Japanese if lang == Lang::En => Voice::En,
            faq::QueryLanguage::Japanese => Voice::Ja,
        }
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
    /// The choices (kind `candidates`).
    pub candidates: Vec<Candidate>,
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
        lang: Lang,
    ) -> Result<Reply, sqlx::Error> {
        let question = question.trim();
        let voice = Voice::of(lang, question);
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
                text: candidates_text(&candidates, voice),
                entry_id: None,
                department: None,
                link: None,
                candidates,
                log_id,
            },
            None => Reply {
                kind: ReplyKind::Fallback,
                text: fallback_in(voice),
                entry_id: None,
                department: None,
                link: None,
                candidates: Vec::new(),
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
        lang: Lang,
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
        Ok(Some(answer_reply(entry, Voice::of(lang, &asked), log_id)))
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

fn entry_question(entry: &faq::FaqEntry, voice: Voice) -> &str {
    match (voice, &entry.question_en) {
        (Voice::En, Some(question)) => question,
        _ => &entry.question,
    }
}

/// The entry's answer in the reply's language when the entry has it; otherwise its Japanese answer, after one line
/// in the resident's language saying so.
fn answer_reply(entry: &faq::FaqEntry, voice: Voice, log_id: i64) -> Reply {
    let japanese_only = match voice {
        Voice::Ja => None,
        Voice::En => Some("This answer is available in Japanese only."),
        Voice::Zh => Some("此回答只有日语版本。"),
        Voice::Ko => Some("이 답변은 일본어로만 제공됩니다."),
    };
    let text = match (voice, &entry.answer_en) {
        (Voice::En, Some(answer)) => answer.clone(),
        _ => match japanese_only {
            Some(note) => format!("{note}\n{}", entry.answer),
            None => entry.answer.clone(),
        },
    };
    Reply {
        kind: ReplyKind::Answer,
        text,
        entry_id: Some(entry.id.clone()),
        department: Some(entry.department.clone()),
        link: entry.link.clone(),
        candidates: Vec::new(),
        log_id,
    }
}

fn candidates_text(candidates: &[Candidate], voice: Voice) -> String {
    let mut text = match voice {
        Voice::Ja => "お問い合わせの内容は、次のどれに近いですか。当てはまるものを選んでください。"
            .to_owned(),
        Voice::En => "Which of these is closest to your question? Please choose one.".to_owned(),
        Voice::Zh => "您的问题与以下哪一项最接近？请选择一项（内容为日语）。".to_owned(),
        Voice::Ko => {
            "다음 중 어느 것이 질문과 가장 가깝습니까? 하나를 선택해 주세요(일본어).".to_owned()
        }
    };
    for (n, candidate) in candidates.iter().enumerate() {
        text.push_str(&format!("\n{}. {}", n + 1, candidate.question));
    }
    text
}

fn fallback_in(voice: Voice) -> String {
    match voice {
        Voice::Ja => fallback_text(Lang::Ja),
        Voice::En => fallback_text(Lang::En),
        Voice::Zh => format!(
            "很抱歉，没有找到与您的问题相符的回答。换个说法简短地再问一次，也许能找到。\
             如有急事，请致电行桥市政府（总机 {MAIN_NUMBER}），我们会为您转接负责部门。"
        ),
        Voice::Ko => format!(
            "죄송합니다. 질문에 맞는 답변을 찾지 못했습니다. 짧게 다른 말로 다시 질문하시면 찾을 수도 있습니다. \
             급한 경우에는 유쿠하시시청(대표 {MAIN_NUMBER})으로 전화해 주세요. 담당 부서로 연결해 드립니다."
        ),
    }
}

/// The polite fallback for a question nothing fits: where to ask instead.
pub fn fallback_text(lang: Lang) -> String {
    match lang {
        Lang::Ja => format!(
            "申し訳ありません。お問い合わせの内容に合う回答が見つかりませんでした。\
             言葉を変えて、もう一度短く質問していただくと見つかることがあります。\
             お急ぎの場合は、行橋市役所（代表 {MAIN_NUMBER}）へお電話ください。担当の課におつなぎします。\
             いただいたご質問は、今後の回答づくりに役立てます。"
        ),
        Lang::En => format!(
            "Sorry, we could not find an answer to your question. Rephrasing it in a few words may help. \
             If it is urgent, please call Yukuhashi City Hall (main number {MAIN_NUMBER}); we will put you through \
             to the right department. We use unanswered questions to improve our answers."
        ),
    }
}

/// The greeting for a new LINE friend: what the bot does, and how registering will work.
pub fn greeting_text(lang: Lang) -> String {
    match lang {
        Lang::Ja => format!(
            "友だち追加ありがとうございます。行橋市の公式アカウントです。\n\
             住民票・戸籍、ごみの出し方、子育て、介護、税金、防災など、市役所へのご質問に24時間お答えします。\
             「住民票を取りたい」のように、知りたいことをメッセージで送ってください。\n\
             年代・お住まいの地区・関心のある分野（子育て、介護、ごみ、防災など）を登録していただくと、\
             あなたに合った市からのお知らせや、災害時の緊急情報をお届けできるようになります。登録はこのあとのボタンから、または「設定」と送るといつでもできます。\n\
             個別のご相談やお急ぎの場合は、行橋市役所（代表 {MAIN_NUMBER}）へお電話ください。"
        ),
        Lang::En => format!(
            "Thank you for adding Yukuhashi City as a friend.\n\
             Ask us anything about city services (residence certificates, garbage sorting, childcare, \
             nursing care, taxes, disaster preparedness …) at any hour: just send your question as a message.\n\
             When you register your age group, district and interests, we can send you the city's notices that \
             matter to you and emergency alerts for your area. Register with the buttons that follow, or any time by sending 「設定」.\n\
             For personal matters or anything urgent, call Yukuhashi City Hall at {MAIN_NUMBER}."
        ),
    }
}

/// The thanks after feedback.
pub fn feedback_thanks(helpful: bool, lang: Lang) -> String {
    match (lang, helpful) {
        (Lang::Ja, true) => "ご回答ありがとうございます。お役に立ててよかったです。".into(),
        (Lang::Ja, false) => format!(
            "ご回答ありがとうございます。回答の改善に役立てます。\
             詳しくは行橋市役所（代表 {MAIN_NUMBER}）へお問い合わせください。"
        ),
        (Lang::En, true) => "Thank you for your feedback. We are glad it helped.".into(),
        (Lang::En, false) => format!(
            "Thank you for your feedback; we will use it to improve our answers. \
             For details, please call Yukuhashi City Hall at {MAIN_NUMBER}."
        ),
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
        assert!(fallback_text(Lang::Ja).contains(MAIN_NUMBER));
        assert!(fallback_text(Lang::En).contains(MAIN_NUMBER));
    }

    #[test]
    fn lang_from_code() {
        assert_eq!(Lang::from_code(Some("en")), Lang::En);
        assert_eq!(Lang::from_code(Some("ja")), Lang::Ja);
        assert_eq!(Lang::from_code(Some("vi")), Lang::Ja);
        assert_eq!(Lang::from_code(None), Lang::Ja);
    }
}
