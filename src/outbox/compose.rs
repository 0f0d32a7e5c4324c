//! Composing: a stored content (rendered once per source firing, channel and language) plus the recipient's own
//! signed links → the message a provider gets. Pure functions: no database, no network.
//!
//! What a content adds besides its text is data: the source's kind says whether an e-mail offers unsubscribing
//! ([`SourceKind::offers_unsubscribe`]), and an [`Invitation`], described by the feature that owns the content,
//! says which personal link or LINE quick reply each message carries. The outbox knows no feature.

use channels::email::EmailMessage;
use channels::line::{LineMessage, LineMessageError, QuickReply, QuickReplyItem};
use channels::push::PushMessage;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;

use super::SourceKind;
use crate::db::Db;
use crate::links::{Links, PersonalLink};
use crate::render::{LineChoice, Rendered};

/// What a content invites each recipient to do besides reading it (a survey's invitation notice: answer it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// Each recipient's own signed link: at the end of an e-mail, and the target of a push notification.
    pub link: PersonalLink,
    /// The link's words in an e-mail (plain text without markup).
    pub label: String,
    /// The quick reply the LINE message carries instead (the same for every recipient).
    pub line_choice: Option<LineChoice>,
}

/// Finds the invitation of a stored content. A feature whose contents invite implements it; `lib.rs` hands it
/// to the dispatcher, which asks once per content.
pub trait Invitations: Send + Sync {
    fn of_content<'a>(
        &'a self,
        db: &'a Db,
        content_id: i64,
    ) -> BoxFuture<'a, Result<Option<Invitation>, sqlx::Error>>;
}

/// No content invites (a hub without surveys, benchmarks).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoInvitations;

impl Invitations for NoInvitations {
    fn of_content<'a>(
        &'a self,
        _db: &'a Db,
        _content_id: i64,
    ) -> BoxFuture<'a, Result<Option<Invitation>, sqlx::Error>> {
        Box::pin(async { Ok(None) })
    }
}

/// The recipient of a one-recipient message.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    pub resident_id: i64,
    /// The address the message goes to (the unsubscribe link is bound to it).
    pub address: &'a str,
}

/// An e-mail content for one recipient. A source that offers unsubscribing gets the invitation's link, the
/// preferences link and the one-click unsubscribe link (also as RFC 8058 `List-Unsubscribe`); an emergency
/// reaches everyone with an address and carries none of them.
#[allow(clippy::too_many_arguments)]
pub fn email(
    subject: &str,
    text: &str,
    html: &str,
    source: SourceKind,
    recipient: Recipient<'_>,
    invitation: Option<&Invitation>,
    links: &Links,
    now: DateTime<Utc>,
) -> EmailMessage {
    if !source.offers_unsubscribe() {
        return EmailMessage {
            subject: subject.to_owned(),
            text: text.to_owned(),
            html: Some(html.to_owned()),
            list_unsubscribe: None,
        };
    }
    let unsubscribe = links.unsubscribe_url(recipient.resident_id, recipient.address);
    let preferences = links.preferences_url(recipient.resident_id, now);
    let (mut text, mut html) = (text.to_owned(), html.to_owned());
    if let Some(invitation) = invitation {
        let url = links.personal_url(invitation.link, recipient.resident_id);
        let label = &invitation.label;
        text = format!("{text}\n\n{label}: {url}");
        html = with_link_paragraph(&html, &format!("<a href=\"{url}\">{label}</a>"));
    }
    let html = with_link_paragraph(
        &html,
        &format!("<a href=\"{preferences}\">配信設定の変更 / Preferences</a>"),
    );
    EmailMessage {
        subject: subject.to_owned(),
        text: format!(
            "{text}\n\n配信設定の変更 / Preferences: {preferences}\n配信停止 / Unsubscribe: {unsubscribe}"
        ),
        html: Some(with_link_paragraph(
            &html,
            &format!("<a href=\"{unsubscribe}\">配信停止 / Unsubscribe</a>"),
        )),
        list_unsubscribe: Some(unsubscribe),
    }
}

/// A push notification for one recipient: an invitation's personal link replaces the content's target; an
/// emergency's goes with urgency high (a notice's normal).
pub fn push(
    title: &str,
    body: &str,
    url: Option<&str>,
    source: SourceKind,
    resident_id: i64,
    invitation: Option<&Invitation>,
    links: &Links,
) -> PushMessage {
    let personal = invitation.map(|invitation| links.personal_url(invitation.link, resident_id));
    let url = personal.as_deref().or(url);
    if source == SourceKind::Emergency {
        PushMessage::emergency(title, body, url)
    } else {
        PushMessage::notification(title, body, url)
    }
}

/// The LINE messages of a content; an invitation's quick reply goes on the last one (a quick reply LINE would
/// refuse is left off: the message still goes).
pub fn line(
    content: &Rendered,
    invitation: Option<&Invitation>,
) -> Result<Vec<LineMessage>, LineMessageError> {
    let mut messages = content.line_messages()?;
    let quick_reply = invitation
        .and_then(|invitation| invitation.line_choice.as_ref())
        .and_then(|choice| quick_reply(choice).ok());
    // Pop only when there is a quick reply to attach: popping first dropped the last message.
    if let Some(quick_reply) = quick_reply
        && let Some(last) = messages.pop()
    {
        messages.push(last.with_quick_reply(quick_reply));
    }
    Ok(messages)
}

fn quick_reply(choice: &LineChoice) -> Result<QuickReply, LineMessageError> {
    QuickReply::new(vec![QuickReplyItem::postback(
        choice.label.clone(),
        choice.data.clone(),
        Some(choice.display_text.clone()),
    )?])
}

/// `html` with `<p>{inner}</p>` added at the end of its body.
fn with_link_paragraph(html: &str, inner: &str) -> String {
    let link = format!("<p>{inner}</p>");
    match html.rfind("</body>") {
        Some(at) => format!("{}{link}{}", &html[..at], &html[at..]),
        None => format!("{html}{link}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HTML: &str = "<html><body><p>x</p></body></html>";

    fn links() -> Links {
        Links::new(b"secret".to_vec(), vec![7; 32], "http://h")
    }

    fn survey() -> Invitation {
        Invitation {
            link: PersonalLink::SurveyAnswer { survey_id: 3 },
            label: "アンケートに回答する / Answer the survey".to_owned(),
            line_choice: Some(LineChoice {
                label: "回答する".to_owned(),
                data: "sv:3:0:start:ab".to_owned(),
                display_text: "アンケートに回答する".to_owned(),
            }),
        }
    }

    const TO: Recipient<'static> = Recipient {
        resident_id: 42,
        address: "a@example.org",
    };

    #[test]
    fn a_notice_mail_links_preferences_and_unsubscribe_inside_the_body() {
        let links = links();
        let now = Utc::now();
        let mail = email("s", "t", HTML, SourceKind::Notice, TO, None, &links, now);
        let unsubscribe = links.unsubscribe_url(42, "a@example.org");
        let preferences = links.preferences_url(42, now);
        assert_eq!(mail.list_unsubscribe.as_deref(), Some(unsubscribe.as_str()));
        assert_eq!(
            mail.text,
            format!(
                "t\n\n配信設定の変更 / Preferences: {preferences}\n配信停止 / Unsubscribe: {unsubscribe}"
            )
        );
        assert_eq!(
            mail.html.unwrap(),
            format!(
                "<html><body><p>x</p><p><a href=\"{preferences}\">配信設定の変更 / Preferences</a></p>\
                 <p><a href=\"{unsubscribe}\">配信停止 / Unsubscribe</a></p></body></html>"
            )
        );
    }

    #[test]
    fn an_emergency_mail_offers_no_unsubscribing_and_no_invitation() {
        let mail = email(
            "s",
            "t",
            HTML,
            SourceKind::Emergency,
            TO,
            Some(&survey()),
            &links(),
            Utc::now(),
        );
        assert_eq!(mail.list_unsubscribe, None);
        assert_eq!(mail.text, "t");
        assert_eq!(mail.html.as_deref(), Some(HTML));
    }

    #[test]
    fn an_invitation_puts_the_recipients_own_link_before_the_footer() {
        let links = links();
        let answer = links.survey_answer_url(3, 42);
        let mail = email(
            "s",
            "t",
            HTML,
            SourceKind::Notice,
            TO,
            Some(&survey()),
            &links,
            Utc::now(),
        );
        assert!(mail.text.starts_with(&format!(
            "t\n\nアンケートに回答する / Answer the survey: {answer}\n\n"
        )));
        let html = mail.html.unwrap();
        let link =
            format!("<p><a href=\"{answer}\">アンケートに回答する / Answer the survey</a></p>");
        assert!(html.starts_with(&format!("<html><body><p>x</p>{link}<p>")));
        assert!(html.ends_with("配信停止 / Unsubscribe</a></p></body></html>"));
    }

    #[test]
    fn a_push_invitation_opens_the_recipients_own_link() {
        let links = links();
        let notice = SourceKind::Notice;
        let plain = push("t", "b", Some("http://h/n/1"), notice, 42, None, &links);
        let invited = push(
            "t",
            "b",
            Some("http://h/n/1"),
            notice,
            42,
            Some(&survey()),
            &links,
        );
        assert_eq!(
            plain,
            PushMessage::notification("t", "b", Some("http://h/n/1"))
        );
        assert_eq!(
            invited,
            PushMessage::notification("t", "b", Some(&links.survey_answer_url(3, 42)))
        );
        let emergency = push("t", "b", None, SourceKind::Emergency, 42, None, &links);
        assert_eq!(emergency, PushMessage::emergency("t", "b", None));
    }

    #[test]
    fn a_line_invitation_adds_its_quick_reply_to_the_last_message() {
        let content = Rendered::Line {
            text: "お知らせ".into(),
        };
        let plain = line(&content, None).unwrap();
        let invited = line(&content, Some(&survey())).unwrap();
        assert_eq!(plain.len(), 1);
        assert_eq!(invited.len(), 1);
        let expected = plain[0]
            .clone()
            .with_quick_reply(quick_reply(survey().line_choice.as_ref().unwrap()).unwrap());
        assert_eq!(invited[0], expected);
        assert!(line(&Rendered::Webchat { text: "x".into() }, None).is_err());
    }
}
