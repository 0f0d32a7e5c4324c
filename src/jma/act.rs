//! Acting on one document for the city: emergencies sent at once, drafts for a person, updates when JMA lifts
//! what was sent, corrections and withdrawals, rehearsals for drills.
//!
//! What the city's areas have in effect is kept in `jma_active` (area, kind → the alert or the draft), so a 継続
//! is not sent again, a 解除 finds the alert it lifts, a 訂正 replaces it and a 取消 withdraws it. Every emergency
//! carries a CAP origin with sender [`JMA_SENDER`] and the document's Atom id as identifier (plus a suffix for the
//! updates it causes): `emergencies.cap_key` is unique, so the same document acted on twice (a retry after a
//! crash, a second hub) makes one emergency.

use std::sync::Arc;

use super::document::{Document, InfoType, Kind, KindStatus, Place};
use super::store::{self, Active};
use super::texts;
use crate::audit;
use crate::config::{Config, JmaAction, JmaCategory};
use crate::db::{Db, now_ms};
use crate::emergency::{
    self, AlertKind, AlertReference, AlertStatus, Area, CapOrigin, Category, Certainty,
    EmergencyAlert, LocalizedText, Scope, Severity, Urgency,
};

/// The CAP sender of every emergency made from a JMA document (its source).
pub const JMA_SENDER: &str = "jma";
/// Who emergencies sent by the watch are triggered by (and the audit log's actor).
pub const JMA_ACTOR: &str = "気象庁（自動）";

/// What the watch needs: the database, the settings, and the emergency worker to wake.
#[derive(Clone)]
pub struct Watch {
    pub db: Db,
    pub config: Arc<Config>,
    pub wake: Arc<tokio::sync::Notify>,
}

#[derive(Debug, thiserror::Error)]
pub enum ActError {
    #[error("jma: database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("jma: the emergency was refused: {0}")]
    Emergency(String),
}

/// What was done with a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub outcome: &'static str,
    pub detail: String,
    pub emergency_id: Option<i64>,
}

fn outcome(outcome: &'static str, detail: impl Into<String>) -> Outcome {
    Outcome {
        outcome,
        detail: detail.into(),
        emergency_id: None,
    }
}

/// The key an area is kept under: its code, or a river's name when JMA gives no code.
fn area_key(place: &Place) -> String {
    if place.code.is_empty() {
        place.name.clone()
    } else {
        place.code.clone()
    }
}

/// The emergency a JMA document makes.
#[allow(clippy::too_many_arguments)]
fn jma_alert(
    document: &Document,
    kind: AlertKind,
    references: &[i64],
    dry_run: bool,
    text: LocalizedText,
    severity: Severity,
    identifier: String,
    area: Option<Area>,
    event: String,
) -> EmergencyAlert {
    EmergencyAlert {
        kind,
        references: references
            .iter()
            .map(|id| AlertReference {
                sender: None,
                identifier: id.to_string(),
                sent: None,
            })
            .collect(),
        status: if dry_run {
            AlertStatus::Exercise
        } else {
            AlertStatus::Actual
        },
        dry_run,
        text,
        severity,
        urgency: Urgency::Immediate,
        area,
        cap: Some(CapOrigin {
            identifier,
            sender: JMA_SENDER.to_owned(),
            sent: document.report_time,
            scope: Scope::Public,
            sender_name: Some(format!("気象庁 {}", document.office)),
            event: Some(event),
            categories: vec![Category::Met],
            certainty: Certainty::Observed,
            expires: None,
            ignored_languages: Vec::new(),
        }),
    }
}

/// A new alert for the whole city about `kinds` (a rehearsal for the staff test recipients when `dry_run`),
/// keyed by the document's entry id and triggered on the emergency lane; its id.
async fn trigger_whole_city(
    watch: &Watch,
    document: &Document,
    entry_id: &str,
    kinds: &[(Place, Kind)],
    dry_run: bool,
) -> Result<i64, ActError> {
    let (text, primary) = texts::alert_text(document, kinds);
    let alert = jma_alert(
        document,
        AlertKind::Alert,
        &[],
        dry_run,
        text,
        texts::severity(primary),
        entry_id.to_owned(),
        Some(Area::WholeCity),
        kind_names(kinds),
    );
    trigger(watch, &alert, JMA_ACTOR, "jma", entry_id).await
}

/// Stores the emergency (once per identifier), audits it and wakes the fan-out; its id.
pub async fn trigger(
    watch: &Watch,
    alert: &EmergencyAlert,
    actor: &str,
    role: &str,
    entry_id: &str,
) -> Result<i64, ActError> {
    let inserted = emergency::store::insert(&watch.db, alert, actor)
        .await
        .map_err(|error| ActError::Emergency(error.message))?;
    watch.wake.notify_one();
    if !inserted.duplicate {
        let identifier = alert.cap.as_ref().map(|c| c.identifier.clone());
        if let Err(error) = audit::record_as(
            &watch.db,
            actor,
            role,
            "emergency.trigger",
            &inserted.id.to_string(),
            serde_json::json!({"source": JMA_SENDER, "document": entry_id, "identifier": identifier,
                               "kind": alert.kind, "dry_run": alert.dry_run}),
        )
        .await
        {
            tracing::warn!(%error, "audit entry not written");
        }
        tracing::info!(
            emergency = inserted.id,
            document = entry_id,
            kind = ?alert.kind,
            dry_run = alert.dry_run,
            "emergency triggered from JMA"
        );
    }
    Ok(inserted.id)
}

/// Acts on `document` (the feed entry `entry_id`).
pub async fn act(watch: &Watch, entry_id: &str, document: &Document) -> Result<Outcome, ActError> {
    let settings = &watch.config.jma;
    let items = document.for_city(&settings.area_codes, &settings.rivers);
    if document.info_type != InfoType::Cancelled && items.is_empty() {
        return Ok(outcome(
            "other-area",
            format!("{}：市の地域・河川の記載なし", document.title),
        ));
    }
    let age_minutes = (now_ms() - document.report_time.timestamp_millis()) / 60_000;
    if age_minutes > i64::from(settings.max_age_minutes) {
        return Ok(outcome(
            "stale",
            format!(
                "{age_minutes} 分前の発表のため記録のみ（HUB_JMA_MAX_AGE_MINUTES = {}）",
                settings.max_age_minutes
            ),
        ));
    }
    let in_effect: Vec<(Place, Kind)> = items
        .iter()
        .flat_map(|item| {
            item.kinds
                .iter()
                .filter(|kind| kind.status.in_effect())
                .map(|kind| (item.place.clone(), kind.clone()))
        })
        .collect();
    let action_of = |kind: &Kind| {
        kind.category()
            .map(|category| settings.action(category))
            .unwrap_or(JmaAction::Ignore)
    };

    if !document.status.is_real() {
        // 訓練 / 試験: rehearsed with the staff test recipients, never residents; nothing is remembered.
        let kinds: Vec<(Place, Kind)> = in_effect
            .into_iter()
            .filter(|(_, kind)| action_of(kind) != JmaAction::Ignore)
            .collect();
        if kinds.is_empty() || document.info_type == InfoType::Cancelled {
            return Ok(outcome("drill", "訓練・試験：住民には送りません"));
        }
        let id = trigger_whole_city(watch, document, entry_id, &kinds, true).await?;
        return Ok(Outcome {
            outcome: "drill",
            detail: format!("訓練・試験：職員のテスト受信者のみにドライラン #{id}"),
            emergency_id: Some(id),
        });
    }

    let doc_type = document.doc_type.code();
    let active: Vec<Active> = store::active(&watch.db)
        .await?
        .into_iter()
        .filter(|row| row.doc_type == doc_type)
        .collect();
    let mut done: Vec<String> = Vec::new();
    let (mut sent_any, mut corrected_any, mut lifted_any, mut drafted_any) =
        (false, false, false, false);
    let mut first_emergency: Option<i64> = None;

    if document.info_type == InfoType::Cancelled {
        let mut cancelled: Vec<i64> = Vec::new();
        for row in &active {
            if let Some(id) = row.emergency_id
                && !cancelled.contains(&id)
            {
                let alert = jma_alert(
                    document,
                    AlertKind::Cancel,
                    &[id],
                    false,
                    texts::cancelled_text(document),
                    Severity::Unknown,
                    format!("{entry_id}/cancel/{id}"),
                    None,
                    "取消".to_owned(),
                );
                let new = trigger(watch, &alert, JMA_ACTOR, "jma", entry_id).await?;
                first_emergency.get_or_insert(new);
                cancelled.push(id);
                done.push(format!("#{id} を取消（#{new}）"));
            }
            if let Some(draft) = row.draft_id
                && store::move_draft(&watch.db, draft, "pending", "cancelled", None, None).await?
            {
                done.push(format!("下書き {draft} を取り下げ"));
            }
            store::clear_active(&watch.db, &row.area_code, &row.kind).await?;
        }
        return Ok(Outcome {
            outcome: if done.is_empty() {
                "nothing"
            } else {
                "cancelled"
            },
            detail: if done.is_empty() {
                "取消：この市で配信・下書きしたものはありません".to_owned()
            } else {
                done.join("、")
            },
            emergency_id: first_emergency,
        });
    }

    // What this document lifts: 解除, the 特別警報 a downgrade replaces, everything when nothing is in effect,
    // and (for a 訂正) whatever the correction no longer lists.
    let mut lifted: Vec<(String, String)> = Vec::new();
    for item in &items {
        let area = area_key(&item.place);
        for kind in &item.kinds {
            match kind.status {
                KindStatus::Lifted => lifted.push((area.clone(), kind.name.clone())),
                KindStatus::NoneInEffect => lifted.extend(
                    active
                        .iter()
                        .filter(|row| row.area_code == area)
                        .map(|row| (area.clone(), row.kind.clone())),
                ),
                _ => {
                    if let Some(replaced) = kind.replaces() {
                        lifted.push((area.clone(), replaced));
                    }
                }
            }
        }
    }
    let corrected = document.info_type == InfoType::Corrected;
    let in_effect_keys: Vec<(String, String)> = in_effect
        .iter()
        .map(|(place, kind)| (area_key(place), kind.name.clone()))
        .collect();

    if corrected {
        // 訂正 replaces: the alert residents got is updated with the corrected text (or told it is lifted),
        // drafts are replaced.
        let sent: Vec<&Active> = active.iter().filter(|r| r.emergency_id.is_some()).collect();
        let send_kinds: Vec<(Place, Kind)> = in_effect
            .iter()
            .filter(|(_, kind)| action_of(kind) == JmaAction::Send)
            .cloned()
            .collect();
        let mut references: Vec<i64> = Vec::new();
        for row in &sent {
            if let Some(id) = row.emergency_id
                && !references.contains(&id)
            {
                references.push(id);
            }
        }
        for row in &active {
            if let Some(draft) = row.draft_id
                && store::move_draft(&watch.db, draft, "pending", "superseded", None, None).await?
            {
                done.push(format!("下書き {draft} を差し替え"));
            }
            store::clear_active(&watch.db, &row.area_code, &row.kind).await?;
        }
        if !references.is_empty() {
            let (text, severity, event) = if send_kinds.is_empty() {
                let names: Vec<String> = sent.iter().map(|r| r.kind.clone()).collect();
                (
                    texts::lifted_text(document, &names),
                    Severity::Unknown,
                    "訂正".to_owned(),
                )
            } else {
                let (text, primary) = texts::alert_text(document, &send_kinds);
                (text, texts::severity(primary), kind_names(&send_kinds))
            };
            let alert = jma_alert(
                document,
                AlertKind::Update,
                &references,
                false,
                text,
                severity,
                format!("{entry_id}/correct"),
                Some(Area::WholeCity),
                event,
            );
            let new = trigger(watch, &alert, JMA_ACTOR, "jma", entry_id).await?;
            first_emergency.get_or_insert(new);
            done.push(format!("#{} を訂正（#{new}）", references[0]));
            corrected_any = true;
            for (place, kind) in &send_kinds {
                store::set_active(
                    &watch.db,
                    &Active {
                        area_code: area_key(place),
                        kind: kind.name.clone(),
                        doc_type: doc_type.to_owned(),
                        entry_id: entry_id.to_owned(),
                        emergency_id: Some(references[0]),
                        draft_id: None,
                    },
                )
                .await?;
            }
        }
    } else {
        let mut lifts: Vec<(i64, Vec<String>)> = Vec::new();
        for row in &active {
            if !lifted.contains(&(row.area_code.clone(), row.kind.clone()))
                || in_effect_keys.contains(&(row.area_code.clone(), row.kind.clone()))
            {
                continue;
            }
            if let Some(id) = row.emergency_id {
                match lifts.iter_mut().find(|(e, _)| *e == id) {
                    Some((_, kinds)) => kinds.push(row.kind.clone()),
                    None => lifts.push((id, vec![row.kind.clone()])),
                }
            }
            store::clear_active(&watch.db, &row.area_code, &row.kind).await?;
            if let Some(draft) = row.draft_id {
                let still = store::active(&watch.db)
                    .await?
                    .iter()
                    .any(|r| r.draft_id == Some(draft));
                if !still
                    && store::move_draft(&watch.db, draft, "pending", "lifted", None, None).await?
                {
                    done.push(format!("下書き {draft} は解除により不要"));
                }
            }
        }
        for (id, kinds) in lifts {
            let alert = jma_alert(
                document,
                AlertKind::Update,
                &[id],
                false,
                texts::lifted_text(document, &kinds),
                Severity::Unknown,
                format!("{entry_id}/lift/{id}"),
                None,
                format!("{}解除", kinds.join("・")),
            );
            let new = trigger(watch, &alert, JMA_ACTOR, "jma", entry_id).await?;
            first_emergency.get_or_insert(new);
            done.push(format!("#{id} の解除を配信（#{new}）"));
            lifted_any = true;
        }
    }

    // New kinds in effect: sent at once or drafted, by the policy.
    let active_now = store::active(&watch.db).await?;
    let sent_already = |place: &Place, kind: &Kind| {
        active_now.iter().any(|r| {
            r.area_code == area_key(place) && r.kind == kind.name && r.emergency_id.is_some()
        })
    };
    let known = |place: &Place, kind: &Kind| {
        active_now
            .iter()
            .any(|r| r.area_code == area_key(place) && r.kind == kind.name)
    };
    let to_send: Vec<(Place, Kind)> = in_effect
        .iter()
        .filter(|(place, kind)| action_of(kind) == JmaAction::Send && !sent_already(place, kind))
        .cloned()
        .collect();
    let to_draft: Vec<(Place, Kind)> = in_effect
        .iter()
        .filter(|(place, kind)| action_of(kind) == JmaAction::Draft && !known(place, kind))
        .cloned()
        .collect();
    if !to_send.is_empty() {
        let id = trigger_whole_city(watch, document, entry_id, &to_send, false).await?;
        first_emergency.get_or_insert(id);
        done.push(format!("緊急配信 #{id}（{}）", kind_names(&to_send)));
        sent_any = true;
        for (place, kind) in &to_send {
            store::set_active(
                &watch.db,
                &Active {
                    area_code: area_key(place),
                    kind: kind.name.clone(),
                    doc_type: doc_type.to_owned(),
                    entry_id: entry_id.to_owned(),
                    emergency_id: Some(id),
                    draft_id: None,
                },
            )
            .await?;
        }
    }
    if !to_draft.is_empty() {
        let (text, primary) = texts::alert_text(document, &to_draft);
        let kinds: Vec<String> = to_draft.iter().map(|(_, k)| k.name.clone()).collect();
        let areas: Vec<String> = to_draft.iter().map(|(p, _)| area_key(p)).collect();
        let severity = serde_json::to_value(texts::severity(primary))
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "unknown".to_owned());
        let draft = store::insert_draft(
            &watch.db,
            entry_id,
            doc_type,
            &kinds,
            &areas,
            &serde_json::to_string(&text).unwrap_or_else(|_| "{}".into()),
            &severity,
            &document.office,
            &document.report_time.to_rfc3339(),
        )
        .await?;
        done.push(format!("下書き {draft}（{}）", kind_names(&to_draft)));
        drafted_any = true;
        tracing::warn!(
            draft,
            document = entry_id,
            kinds = %kind_names(&to_draft),
            "JMA: a draft emergency waits for a disaster or admin account in the console (/admin/jma)"
        );
        for (place, kind) in &to_draft {
            store::set_active(
                &watch.db,
                &Active {
                    area_code: area_key(place),
                    kind: kind.name.clone(),
                    doc_type: doc_type.to_owned(),
                    entry_id: entry_id.to_owned(),
                    emergency_id: None,
                    draft_id: Some(draft),
                },
            )
            .await?;
        }
    }
    let label = if sent_any {
        "sent"
    } else if corrected_any {
        "corrected"
    } else if lifted_any {
        "lifted"
    } else if drafted_any {
        "draft"
    } else {
        "nothing"
    };
    Ok(Outcome {
        outcome: label,
        detail: if done.is_empty() {
            "新しい情報なし（継続中、または方針で記録のみ）".to_owned()
        } else {
            done.join("、")
        },
        emergency_id: first_emergency,
    })
}

fn kind_names(kinds: &[(Place, Kind)]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for (_, kind) in kinds {
        if !names.contains(&kind.name.as_str()) {
            names.push(&kind.name);
        }
    }
    names.join("・")
}

/// Why a draft could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendDraftError {
    #[error("jma: no draft {0}")]
    NotFound(i64),
    #[error("jma: draft {id} is {status}, not waiting")]
    NotPending { id: i64, status: String },
    #[error(transparent)]
    Act(#[from] ActError),
}

impl From<sqlx::Error> for SendDraftError {
    fn from(error: sqlx::Error) -> Self {
        SendDraftError::Act(ActError::Database(error))
    }
}

/// Sends a draft as an emergency, by a disaster or admin account (`who`); the emergency's id. Two clicks (or two
/// staff) make one emergency: the draft is claimed first.
pub async fn send_draft(
    watch: &Watch,
    id: i64,
    who: &str,
    role: &str,
) -> Result<i64, SendDraftError> {
    let Some(draft) = store::draft(&watch.db, id).await? else {
        return Err(SendDraftError::NotFound(id));
    };
    if !store::move_draft(&watch.db, id, "pending", "sending", Some(who), None).await? {
        return Err(SendDraftError::NotPending {
            id,
            status: draft.status,
        });
    }
    let text: LocalizedText = parse_text(&draft.text);
    let severity: Severity =
        serde_json::from_value(serde_json::Value::String(draft.severity.clone()))
            .unwrap_or(Severity::Unknown);
    let sent = chrono::DateTime::parse_from_rfc3339(&draft.report_time)
        .unwrap_or_else(|_| chrono::Utc::now().fixed_offset());
    let alert = EmergencyAlert {
        kind: AlertKind::Alert,
        references: Vec::new(),
        status: AlertStatus::Actual,
        dry_run: false,
        text,
        severity,
        urgency: Urgency::Immediate,
        area: Some(Area::WholeCity),
        cap: Some(CapOrigin {
            identifier: format!("{}/draft", draft.entry_id),
            sender: JMA_SENDER.to_owned(),
            sent,
            scope: Scope::Public,
            sender_name: Some(format!("気象庁 {}", draft.office)),
            event: Some(draft.kinds.join("・")),
            categories: vec![Category::Met],
            certainty: Certainty::Observed,
            expires: None,
            ignored_languages: Vec::new(),
        }),
    };
    let emergency = match trigger(watch, &alert, who, role, &draft.entry_id).await {
        Ok(emergency) => emergency,
        Err(error) => {
            let _ = store::move_draft(&watch.db, id, "sending", "pending", None, None).await;
            return Err(error.into());
        }
    };
    store::move_draft(&watch.db, id, "sending", "sent", Some(who), Some(emergency)).await?;
    for row in store::active(&watch.db).await? {
        if row.draft_id == Some(id) {
            store::set_active(
                &watch.db,
                &Active {
                    emergency_id: Some(emergency),
                    draft_id: None,
                    ..row
                },
            )
            .await?;
        }
    }
    let _ = audit::record_as(
        &watch.db,
        who,
        role,
        "jma.draft.send",
        &id.to_string(),
        serde_json::json!({"emergency": emergency, "document": draft.entry_id}),
    )
    .await;
    Ok(emergency)
}

/// A draft's stored text (the emergencies' JSON shape).
pub fn parse_text(json: &str) -> LocalizedText {
    let map: std::collections::BTreeMap<String, emergency::AlertText> =
        serde_json::from_str(json).unwrap_or_default();
    let japanese = map.get("ja").cloned().unwrap_or(emergency::AlertText {
        title: "気象情報".to_owned(),
        body: "気象庁の情報をご確認ください。".to_owned(),
    });
    let mut text = LocalizedText::new(japanese);
    for (code, value) in map {
        if let Some(language) = emergency::Language::from_code(&code) {
            text = text.with(language, value);
        }
    }
    text
}

/// The policy for the console: each category and what is done with it.
pub fn policy_rows(config: &Config) -> Vec<(JmaCategory, JmaAction)> {
    JmaCategory::ALL
        .into_iter()
        .map(|category| (category, config.jma.action(category)))
        .collect()
}
