//! Safety confirmation (安否確認): residents answer an emergency with 「無事です」 (safe) or 「助けが必要」 (need
//! help), by a LINE quick reply (a signed postback), a plain LINE text reply, or the web chat banner's buttons.
//!
//! Answers are stored per incident (the root alert; an update's answers count for the alert it updates) and
//! responder: one row each, the last answer wins. A responder is the resident (`resident:ID`) when the LINE
//! address is known, else the LINE user (`line:HASH`, a friend reached by a city-wide broadcast), or one web chat
//! page (`webchat:TOKEN`). Postback data is `em:ID:s|h:MAC` with the chat's HMAC key: it cannot be forged.
//!
//! Verified and unverified: a LINE answer comes through LINE's signed webhook from an account the alert
//! reached; a web chat answer comes from anyone who opens the chat page. Web chat answers are stored with the
//! channel [`UNVERIFIED_CHANNEL`], counted apart (`unverified` in the progress) and never listed among the
//! residents who need help; the web chat also caps them per client.

use channels::line::LineUserId;
use sqlx::Row;

use super::Language;
use crate::chat::{Channel, ChatService};
use crate::db::{Db, now_ms};

/// Postback data prefix of safety answers (the LINE webhook hands these to [`line_postback`]).
pub const POSTBACK_PREFIX: &str = "em:";

/// How long after an alert a plain text 「無事です」 counts as an answer to it (postbacks name their alert).
pub const OPEN_FOR_MS: i64 = 24 * 3600 * 1000;

/// The channel of answers anyone could have given (web chat): counted apart from the verified ones.
pub const UNVERIFIED_CHANNEL: &str = "webchat";

/// How long a quick reply keeps working.
pub const POSTBACK_VALID_MS: i64 = 7 * 24 * 3600 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Safe,
    NeedHelp,
}

impl Answer {
    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Safe => "safe",
            Answer::NeedHelp => "need_help",
        }
    }

    pub fn parse(text: &str) -> Option<Answer> {
        match text {
            "safe" => Some(Answer::Safe),
            "need_help" => Some(Answer::NeedHelp),
            _ => None,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Answer::Safe => "s",
            Answer::NeedHelp => "h",
        }
    }

    /// The button's label (at most 20 characters, LINE's limit).
    pub fn label(self, language: Language) -> &'static str {
        match (self, language) {
            (Answer::Safe, Language::Ja | Language::JaEasy) => "無事です",
            (Answer::NeedHelp, Language::Ja | Language::JaEasy) => "助けが必要",
            (Answer::Safe, Language::En) => "I'm safe",
            (Answer::NeedHelp, Language::En) => "I need help",
            (Answer::Safe, Language::Zh) => "我很安全",
            (Answer::NeedHelp, Language::Zh) => "我需要帮助",
            (Answer::Safe, Language::Ko) => "무사합니다",
            (Answer::NeedHelp, Language::Ko) => "도움이 필요합니다",
            (Answer::Safe, Language::Vi) => "Tôi an toàn",
            (Answer::NeedHelp, Language::Vi) => "Tôi cần giúp đỡ",
        }
    }

    /// What the resident is told after answering.
    pub fn thanks(self, lang: Language) -> &'static str {
        match (self, lang) {
            (Answer::Safe, Language::En) => {
                "Thank you: we have noted that you are safe. Please keep following the city's information."
            }
            (Answer::NeedHelp, Language::En) => {
                "We have told the city's disaster team that you need help. If your life is in danger, call 119 (fire and ambulance) or 110 (police)."
            }
            (Answer::Safe, _) => {
                "「無事です」とのお返事を受け付けました。ありがとうございます。引き続き市の情報に注意してください。"
            }
            (Answer::NeedHelp, _) => {
                "「助けが必要」とのお返事を受け付け、市の災害対策本部に伝えました。命に危険があるときは119番（消防・救急）または110番（警察）に電話してください。"
            }
        }
    }
}

/// The signed postback data of a quick reply.
pub fn postback_data(chat: &ChatService, emergency_id: i64, answer: Answer) -> String {
    let payload = format!("{POSTBACK_PREFIX}{emergency_id}:{}", answer.code());
    chat.links.sign_postback(&payload)
}

/// A plain reply that means an answer: 「無事です」, 「助けが必要」 and the buttons' labels in other languages
/// (width, case, spaces and closing punctuation do not matter).
pub fn parse_reply(text: &str) -> Option<Answer> {
    let normalized = crate::chat::normalize_question(text);
    let normalized = normalized.as_str();
    const SAFE: &[&str] = &[
        "無事です",
        "無事",
        "ぶじです",
        "ぶじ",
        "i'msafe",
        "imsafe",
        "iamsafe",
        "safe",
        "我很安全",
        "무사합니다",
        "tôiantoàn",
    ];
    const HELP: &[&str] = &[
        "助けが必要",
        "助けが必要です",
        "たすけがひつよう",
        "たすけがひつようです",
        "助けて",
        "たすけて",
        "ineedhelp",
        "needhelp",
        "help",
        "我需要帮助",
        "도움이필요합니다",
        "tôicầngiúpđỡ",
    ];
    let matches = |list: &[&str]| {
        list.iter()
            .any(|word| crate::chat::normalize_question(word) == normalized)
    };
    if matches(SAFE) {
        Some(Answer::Safe)
    } else if matches(HELP) {
        Some(Answer::NeedHelp)
    } else {
        None
    }
}

/// Stores an answer to `emergency_id` (counted for its incident). Returns the incident's id, or `None` when
/// there is no such emergency.
pub async fn record(
    db: &Db,
    emergency_id: i64,
    responder: &str,
    resident_id: Option<i64>,
    channel: &str,
    answer: Answer,
) -> Result<Option<i64>, sqlx::Error> {
    let Some(row) = sqlx::query("SELECT id, root_id FROM emergencies WHERE id = $1")
        .bind(emergency_id)
        .fetch_optional(&db.pool)
        .await?
    else {
        return Ok(None);
    };
    let root: i64 = row
        .try_get::<Option<i64>, _>("root_id")?
        .unwrap_or(row.try_get("id")?);
    sqlx::query(
        "INSERT INTO emergency_answers (emergency_id, responder, resident_id, channel, answer, answered_from, \
         answered_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (emergency_id, responder) DO UPDATE SET answer = excluded.answer, \
         channel = excluded.channel, answered_from = excluded.answered_from, \
         answered_at_ms = excluded.answered_at_ms, resident_id = excluded.resident_id",
    )
    .bind(root)
    .bind(responder)
    .bind(resident_id)
    .bind(channel)
    .bind(answer.as_str())
    .bind(emergency_id)
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    tracing::info!(
        emergency = emergency_id,
        incident = root,
        channel,
        answer = answer.as_str(),
        "safety answer recorded"
    );
    Ok(Some(root))
}

/// Who a LINE user is for the answer: the resident with that LINE address, or the user's hash.
async fn line_responder(db: &Db, user: &LineUserId) -> Result<(String, Option<i64>), sqlx::Error> {
    let resident: Option<i64> = sqlx::query_scalar(
        "SELECT resident_id FROM resident_addresses WHERE channel = 'line' AND address = $1",
    )
    .bind(user.as_str())
    .fetch_optional(&db.pool)
    .await?;
    Ok(match resident {
        Some(id) => (format!("resident:{id}"), Some(id)),
        None => (
            format!(
                "line:{}",
                crate::chat::sender_hash(Channel::Line, user.as_str())
            ),
            None,
        ),
    })
}

/// A postback `em:ID:s|h:MAC` from LINE: checked, stored, and the text to reply. `None` for data that is not a
/// valid safety answer (a bad signature, an unknown or expired emergency): nothing is stored.
pub async fn line_postback(
    chat: &ChatService,
    data: &str,
    user: Option<&LineUserId>,
    lang: Language,
) -> Result<Option<String>, sqlx::Error> {
    let Some(payload) = chat.links.open_postback(data) else {
        tracing::warn!("safety postback with a bad signature ignored");
        return Ok(None);
    };
    let Some(rest) = payload.strip_prefix(POSTBACK_PREFIX) else {
        return Ok(None);
    };
    let Some((id, code)) = rest.split_once(':') else {
        return Ok(None);
    };
    let (Ok(id), Some(answer)) = (
        id.parse::<i64>(),
        match code {
            "s" => Some(Answer::Safe),
            "h" => Some(Answer::NeedHelp),
            _ => None,
        },
    ) else {
        return Ok(None);
    };
    let Some(user) = user else {
        return Ok(None);
    };
    let created: Option<i64> =
        sqlx::query_scalar("SELECT created_at_ms FROM emergencies WHERE id = $1")
            .bind(id)
            .fetch_optional(&chat.db.pool)
            .await?;
    if created.is_none_or(|at| now_ms() - at >= POSTBACK_VALID_MS) {
        tracing::info!(
            emergency = id,
            "safety postback for an unknown or old emergency ignored"
        );
        return Ok(None);
    }
    let (responder, resident) = line_responder(&chat.db, user).await?;
    Ok(record(&chat.db, id, &responder, resident, "line", answer)
        .await?
        .map(|_| answer.thanks(lang).to_owned()))
}

/// A plain LINE text: when it is 「無事です」/「助けが必要」 (or a label of the buttons) and the user received an
/// emergency that is still open (not cancelled, within a day), the answer is stored and the thanks returned;
/// otherwise `None` and the text goes to the FAQ as usual.
pub async fn line_text(
    chat: &ChatService,
    user: Option<&LineUserId>,
    text: &str,
    lang: Language,
) -> Result<Option<String>, sqlx::Error> {
    let (Some(answer), Some(user)) = (parse_reply(text), user) else {
        return Ok(None);
    };
    let (responder, resident) = line_responder(&chat.db, user).await?;
    let Some(emergency) = open_emergency_for(&chat.db, resident).await? else {
        return Ok(None);
    };
    Ok(
        record(&chat.db, emergency, &responder, resident, "line", answer)
            .await?
            .map(|_| answer.thanks(lang).to_owned()),
    )
}

/// The latest open emergency a resident received (any channel), or a city-wide broadcast anyone on LINE
/// received: not a cancellation, its incident not cancelled, sent within [`OPEN_FOR_MS`].
async fn open_emergency_for(db: &Db, resident: Option<i64>) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT e.id FROM emergencies e JOIN emergencies r ON r.id = COALESCE(e.root_id, e.id) \
         WHERE e.created_at_ms > $1 AND e.kind <> 'cancel' AND r.cancelled_at_ms IS NULL \
         AND (e.line_broadcast = 1 OR EXISTS (SELECT 1 FROM deliveries d WHERE d.source_kind = 'emergency' \
         AND d.source_id = e.id AND d.resident_id = $2)) ORDER BY e.id DESC LIMIT 1",
    )
    .bind(now_ms() - OPEN_FOR_MS)
    .bind(resident.unwrap_or(-1))
    .fetch_optional(&db.pool)
    .await
}

/// A web chat page's answer to a banner it was shown.
pub async fn webchat_answer(
    db: &Db,
    emergency_id: i64,
    page_token: &str,
    answer: Answer,
) -> Result<bool, sqlx::Error> {
    Ok(record(
        db,
        emergency_id,
        &format!("webchat:{page_token}"),
        None,
        UNVERIFIED_CHANNEL,
        answer,
    )
    .await?
    .is_some())
}

/// The banners a newly opened web chat page should show: emergencies of the last day that are not dry runs,
/// whose incident is not cancelled (a cancellation itself is shown), newest first, at most 5.
pub async fn open_banners(db: &Db) -> Result<Vec<serde_json::Value>, sqlx::Error> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT e.id FROM emergencies e JOIN emergencies r ON r.id = COALESCE(e.root_id, e.id) \
         WHERE e.created_at_ms > $1 AND e.dry_run = 0 AND (r.cancelled_at_ms IS NULL OR e.kind = 'cancel') \
         ORDER BY e.id DESC LIMIT 5",
    )
    .bind(now_ms() - OPEN_FOR_MS)
    .fetch_all(&db.pool)
    .await?;
    let mut banners = Vec::new();
    for id in ids.into_iter().rev() {
        if let Some(emergency) = super::store::find(db, id).await? {
            banners.push(super::content::banner(&emergency));
        }
    }
    Ok(banners)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_recognised_with_variants() {
        assert_eq!(parse_reply("無事です"), Some(Answer::Safe));
        assert_eq!(parse_reply(" 無事です。"), Some(Answer::Safe));
        assert_eq!(parse_reply("ぶじです！"), Some(Answer::Safe));
        assert_eq!(parse_reply("I'm safe"), Some(Answer::Safe));
        assert_eq!(parse_reply("助けが必要"), Some(Answer::NeedHelp));
        assert_eq!(parse_reply("助けが必要です"), Some(Answer::NeedHelp));
        assert_eq!(parse_reply("I need help"), Some(Answer::NeedHelp));
        assert_eq!(parse_reply("ごみの日はいつ"), None);
        assert_eq!(parse_reply("無事ですか？避難所はどこ"), None);
    }

    #[test]
    fn labels_fit_line() {
        for language in Language::ALL {
            for answer in [Answer::Safe, Answer::NeedHelp] {
                assert!(answer.label(language).chars().count() <= 20);
                assert_eq!(parse_reply(answer.label(language)), Some(answer));
            }
        }
    }
}
