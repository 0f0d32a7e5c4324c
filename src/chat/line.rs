//! The chat's side of LINE: what every feature answering a LINE event shares ([`LineEventError`], [`label`],
//! [`send_reply`], the resident's language), and the FAQ conversation's own answers: a text question answered
//! with quick replies for candidates and feedback, the greeting after a follow, an unfollow marking the address
//! inactive, and the signed feedback and choice postbacks. Which feature gets an event is decided above the
//! features, in [`crate::line_events`].

use channels::Outcome;
use channels::line::webhook::Event;
use channels::line::{LineMessage, LineUserId, QuickReply, QuickReplyItem, limits};
use sqlx::Row;

use super::{Channel, ChatService, Reply, ReplyKind};
use crate::messages::{Language, Msg};

#[derive(Debug, thiserror::Error)]
pub enum LineEventError {
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("cannot build the LINE message: {0}")]
    Message(#[from] channels::line::LineMessageError),
}

/// The language of the resident with this LINE address (Japanese when unknown).
pub async fn resident_lang(
    chat: &ChatService,
    user: Option<&LineUserId>,
) -> Result<Language, sqlx::Error> {
    let Some(user) = user else {
        return Ok(Language::Ja);
    };
    let row = sqlx::query(
        "SELECT r.language AS language FROM resident_addresses a JOIN residents r ON r.id = a.resident_id \
         WHERE a.channel = 'line' AND a.address = $1",
    )
    .bind(user.as_str())
    .fetch_optional(&chat.db.pool)
    .await?;
    Ok(match row {
        Some(row) => Language::or_japanese(row.try_get::<String, _>("language").ok().as_deref()),
        None => Language::Ja,
    })
}

pub async fn set_line_active(
    chat: &ChatService,
    user: &LineUserId,
    active: bool,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE resident_addresses SET active = $1 WHERE channel = 'line' AND address = $2",
    )
    .bind(i64::from(active))
    .bind(user.as_str())
    .execute(&chat.db.pool)
    .await?;
    Ok(result.rows_affected())
}

/// The conversation's sender key for a LINE user (see [`super::sender_hash`]).
pub fn sender(user: Option<&LineUserId>) -> Option<String> {
    user.map(|u| super::sender_hash(Channel::Line, u.as_str()))
}

/// The FAQ's answer to a text question, as LINE messages.
pub async fn answer_text(
    chat: &ChatService,
    sender: Option<&str>,
    question: &str,
    lang: Language,
) -> Result<Vec<LineMessage>, LineEventError> {
    let reply = chat.ask(Channel::Line, sender, question, lang).await?;
    reply_messages(chat, &reply, lang)
}

/// A message that is not text (a sticker, a photo): ask for words instead.
pub fn text_please(lang: Language) -> Result<Vec<LineMessage>, LineEventError> {
    Ok(vec![LineMessage::text(lang.say(Msg::TextPlease))?])
}

/// A follow: the LINE address is active again, and the greeting.
pub async fn on_follow(
    chat: &ChatService,
    user: Option<&LineUserId>,
    lang: Language,
) -> Result<Vec<LineMessage>, LineEventError> {
    if let Some(user) = user {
        set_line_active(chat, user, true).await?;
    }
    Ok(vec![greeting(lang)?])
}

/// The greeting after a follow.
pub fn greeting(lang: Language) -> Result<LineMessage, LineEventError> {
    Ok(LineMessage::text(super::greeting_text(lang))?)
}

/// An unfollow: the LINE address is inactive (nothing is sent there until the user follows again).
pub async fn on_unfollow(
    chat: &ChatService,
    user: Option<&LineUserId>,
) -> Result<(), LineEventError> {
    if let Some(user) = user {
        let updated = set_line_active(chat, user, false).await?;
        tracing::info!(known = updated > 0, "LINE user unfollowed");
    }
    Ok(())
}

/// Replies to `event` with `messages` (nothing when there are none or the event has no reply token).
pub async fn send_reply(
    chat: &ChatService,
    event: &Event,
    messages: &[LineMessage],
) -> Result<(), LineEventError> {
    if messages.is_empty() {
        return Ok(());
    }
    let Some(token) = event.reply_token() else {
        tracing::warn!("no reply token: the answer cannot be sent");
        return Ok(());
    };
    match chat.line.reply(token, messages).await {
        Outcome::Sent { provider_id } => tracing::info!(%provider_id, "replied"),
        Outcome::Recorded => tracing::info!("reply recorded (LINE is in record-only mode)"),
        outcome => tracing::warn!(?outcome, "LINE reply not sent"),
    }
    Ok(())
}

/// A button label: at most 20 characters.
pub(crate) fn label(text: &str) -> String {
    let max = limits::ACTION_LABEL_MAX_CHARS;
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }
}

fn feedback_data(chat: &ChatService, log_id: i64, helpful: bool) -> String {
    chat.links
        .sign_postback(&format!("fb:{log_id}:{}", u8::from(helpful)))
}

fn choice_data(chat: &ChatService, log_id: i64, entry_id: &str) -> String {
    chat.links.sign_postback(&format!("ch:{log_id}:{entry_id}"))
}

fn feedback_items(
    chat: &ChatService,
    log_id: i64,
    lang: Language,
) -> Result<Vec<QuickReplyItem>, LineEventError> {
    let (yes, no) = (
        label(lang.say(Msg::Helpful)),
        label(lang.say(Msg::NotHelpful)),
    );
    Ok(vec![
        QuickReplyItem::postback(yes.clone(), feedback_data(chat, log_id, true), Some(yes))?,
        QuickReplyItem::postback(no.clone(), feedback_data(chat, log_id, false), Some(no))?,
    ])
}

/// The LINE messages for a chat reply: the text, and quick replies for candidates or feedback (at most 13).
/// Candidates are listed once, in the text, numbered; their quick replies carry the numbers (a LINE button holds
/// 20 characters, too few for a question).
fn reply_messages(
    chat: &ChatService,
    reply: &Reply,
    lang: Language,
) -> Result<Vec<LineMessage>, LineEventError> {
    let mut text = reply.text.clone();
    for (n, candidate) in reply.candidates.iter().enumerate() {
        text.push_str(&format!("\n{}. {}", n + 1, candidate.question));
    }
    if let Some(next) = &reply.next_steps {
        text.push_str(&format!("\n\n{}", next.as_text()));
    }
    if let Some(link) = &reply.link {
        text.push_str(&format!("\n{}: {link}", lang.say(Msg::MoreInfo)));
    }
    let text: String = text.chars().take(limits::TEXT_MAX_CHARS).collect();
    let message = LineMessage::text(text)?;
    let items = match reply.kind {
        ReplyKind::Answer => feedback_items(chat, reply.log_id, lang)?,
        ReplyKind::Candidates => {
            let mut items = Vec::new();
            for (n, candidate) in reply.candidates.iter().enumerate() {
                let data = choice_data(chat, reply.log_id, &candidate.id);
                if data.chars().count() > limits::POSTBACK_DATA_MAX_CHARS {
                    tracing::warn!(entry = %candidate.id, "entry id too long for a postback: not offered");
                    continue;
                }
                let shown: String = candidate.question.chars().take(300).collect();
                items.push(QuickReplyItem::postback(
                    format!("{}", n + 1),
                    data,
                    Some(shown),
                )?);
            }
            let none = label(lang.say(Msg::NoneOfThese));
            items.push(QuickReplyItem::postback(
                none.clone(),
                feedback_data(chat, reply.log_id, false),
                Some(none),
            )?);
            items.truncate(limits::QUICK_REPLY_MAX_ITEMS);
            items
        }
        ReplyKind::Fallback => Vec::new(),
    };
    Ok(vec![if items.is_empty() {
        message
    } else {
        message.with_quick_reply(QuickReply::new(items)?)
    }])
}

/// A postback of the conversation's: a signed feedback (`fb:LOG:1|0:MAC`) or a signed choice (`ch:LOG:ENTRY:MAC`). Anything else,
/// or a bad signature, is ignored with a log line.
pub async fn postback_messages(
    chat: &ChatService,
    data: &str,
    sender: Option<&str>,
    lang: Language,
) -> Result<Vec<LineMessage>, LineEventError> {
    let Some(payload) = chat.links.open_postback(data) else {
        tracing::warn!("postback without a valid signature ignored");
        return Ok(Vec::new());
    };
    let mut parts = payload.splitn(3, ':');
    let (Some(kind), Some(log_id), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(Vec::new());
    };
    let Ok(log_id) = log_id.parse::<i64>() else {
        return Ok(Vec::new());
    };
    match kind {
        "fb" => {
            let helpful = value == "1";
            if chat.feedback(log_id, helpful, sender).await? {
                let mut text = super::feedback_thanks(helpful, lang).to_owned();
                if !helpful {
                    text.push_str(&format!("\n{}", super::NextSteps::new(lang).as_text()));
                }
                Ok(vec![LineMessage::text(text)?])
            } else {
                Ok(Vec::new())
            }
        }
        "ch" => match chat.choose(log_id, value, sender, lang).await? {
            Some(reply) => reply_messages(chat, &reply, lang),
            None => Ok(Vec::new()),
        },
        _ => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::label;

    #[test]
    fn labels_fit_line_limits() {
        assert_eq!(label("住民票"), "住民票");
        let long = label("コンビニで住民票や印鑑証明を取れますか、それとも窓口だけですか");
        assert_eq!(long.chars().count(), 20);
        assert!(long.ends_with('…'));
    }
}
