//! The LINE event router: which feature answers a LINE event. It sits above the features it chooses between
//! (registration's dialog, emergency safety answers, surveys, the FAQ conversation), so none of them knows the
//! others; each answers with the chat layer's shared helpers ([`crate::chat::line`]).
//!
//! - [`webhook`]: `POST /line/webhook`, verified, stored and acknowledged at once.
//! - [`queue`]: the workers that take stored events in order per user and hand each to [`route`].

pub mod queue;
pub mod webhook;

use channels::line::webhook::{Event, EventKind, MessageContent};
use channels::line::{LineMessage, LineUserId};

use crate::chat::ChatService;
use crate::chat::line::{self, LineEventError};
use crate::config::Config;
use crate::emergency::safety;
use crate::messages::Language;
use crate::registration::line_dialog;
use crate::surveys;

pub use queue::LineQueue;

/// Answers one event: registration's dialog first (its words, its postbacks, the dialog after a follow), then a
/// safety answer after an emergency, then a survey's, then the FAQ conversation.
pub async fn route(
    chat: &ChatService,
    config: &Config,
    event: &Event,
) -> Result<(), LineEventError> {
    let user = event.user_id();
    let sender = line::sender(user.as_ref());
    let lang = line::resident_lang(chat, user.as_ref()).await?;
    if let Some(user) = &user
        && let Some(messages) = registration_messages(chat, config, user, lang, &event.kind).await?
    {
        return line::send_reply(chat, event, &messages).await;
    }
    let messages = match &event.kind {
        EventKind::Message {
            message: MessageContent::Text { text, .. },
            ..
        } => text_messages(chat, user.as_ref(), sender.as_deref(), text, lang).await?,
        EventKind::Message { .. } => line::text_please(lang)?,
        EventKind::Follow { .. } => line::on_follow(chat, user.as_ref(), lang).await?,
        EventKind::Unfollow => {
            line::on_unfollow(chat, user.as_ref()).await?;
            Vec::new()
        }
        EventKind::Postback { postback, .. }
            if postback.data.starts_with(safety::POSTBACK_PREFIX) =>
        {
            safety::line_postback(chat, &postback.data, user.as_ref(), lang)
                .await?
                .map(LineMessage::text)
                .transpose()?
                .into_iter()
                .collect()
        }
        EventKind::Postback { postback, .. } => match &user {
            Some(user) if postback.data.starts_with(surveys::line::POSTBACK_PREFIX) => {
                surveys::line::on_postback(&chat.db, &chat.links, user, &postback.data).await?
            }
            _ => line::postback_messages(chat, &postback.data, sender.as_deref(), lang).await?,
        },
        EventKind::Other => Vec::new(),
    };
    line::send_reply(chat, event, &messages).await
}

/// A text message: 「無事です」/「助けが必要」 after an emergency is a safety answer (emergency::safety), an answer
/// to an open survey question is the survey's; anything else is a question for the FAQ.
async fn text_messages(
    chat: &ChatService,
    user: Option<&LineUserId>,
    sender: Option<&str>,
    text: &str,
    lang: Language,
) -> Result<Vec<LineMessage>, LineEventError> {
    let question: String = text.chars().take(1000).collect();
    if let Some(thanks) = safety::line_text(chat, user, &question, lang).await? {
        return Ok(vec![LineMessage::text(thanks)?]);
    }
    if let Some(user) = user
        && let Some(messages) = surveys::line::on_text(&chat.db, &chat.links, user, text).await?
    {
        return Ok(messages);
    }
    line::answer_text(chat, sender, &question, lang).await
}

/// The registration dialog's answer to an event, when the event is the dialog's.
async fn registration_messages(
    chat: &ChatService,
    config: &Config,
    user: &LineUserId,
    lang: Language,
    kind: &EventKind,
) -> Result<Option<Vec<LineMessage>>, LineEventError> {
    match kind {
        EventKind::Message {
            message: MessageContent::Text { text, .. },
            ..
        } => line_dialog::on_text(chat, user, text).await,
        EventKind::Postback { postback, .. } => {
            line_dialog::on_postback(chat, config, user, &postback.data).await
        }
        EventKind::Follow { .. } => {
            line::set_line_active(chat, user, true).await?;
            let mut messages = vec![line::greeting(lang)?];
            messages.extend(line_dialog::on_follow(chat, user).await?);
            Ok(Some(messages))
        }
        _ => Ok(None),
    }
}
