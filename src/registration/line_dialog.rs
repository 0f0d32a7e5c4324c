//! The registration dialog on LINE: after a follow, quick replies lead through language, the statement of what
//! the city sends (consent, recorded with time and text version), district, age band and interests to a
//! summary; 「設定」 shows the settings and changes each; 「配信停止」/「配信再開」 pause and resume notices.
//!
//! Each tap is applied at once, so no dialog state is kept: the postback says what to change and what to ask
//! next. Postback data is `rg:ISSUED:MODE:STEP:ARG:MAC`, MAC = the chat's HMAC over the LINE user id and
//! everything before it, so data cannot be forged nor replayed for another user; it works for
//! [`POSTBACK_DAYS`]. MODE `n` walks on to the next question (first registration), `s` returns to the
//! settings. A forged, foreign or expired postback is logged and changes nothing.

use channels::line::{LineMessage, LineUserId, QuickReply, QuickReplyItem, limits};
use chrono::Utc;
use tracing::Instrument;

use super::{AgeBand, Change, Settings};
use crate::chat::ChatService;
use crate::chat::line::LineEventError;
use crate::config::Config;
use crate::db::now_ms;
use crate::messages::{Language, Msg, labels};
use crate::residents::District;

/// How long a quick reply of the dialog can be tapped.
pub const POSTBACK_DAYS: i64 = 7;

const PREFIX: &str = "rg";

/// The walk through the questions, or back to the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Next,
    Settings,
}

impl Mode {
    fn code(self) -> &'static str {
        match self {
            Mode::Next => "n",
            Mode::Settings => "s",
        }
    }
}

/// What a verified postback asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tap {
    mode: Mode,
    step: String,
    arg: String,
}

/// Postback data for one tap.
fn data(chat: &ChatService, user: &LineUserId, mode: Mode, step: &str, arg: &str) -> String {
    let payload = format!(
        "{PREFIX}:{}:{}:{step}:{arg}",
        Utc::now().timestamp(),
        mode.code()
    );
    chat.links.sign_user_postback(user.as_str(), &payload)
}

/// Checks a postback's signature, user and age.
fn verify(chat: &ChatService, user: &LineUserId, data: &str, now_s: i64) -> Option<Tap> {
    parse_tap(data, now_s, |payload, mac| {
        chat.links.user_postback_signed(user.as_str(), payload, mac)
    })
}

/// Reads postback data whose MAC `signed` accepts; `None` for anything forged, malformed or expired.
fn parse_tap(data: &str, now_s: i64, signed: impl Fn(&str, &str) -> bool) -> Option<Tap> {
    let (payload, mac) = data.rsplit_once(':')?;
    if !signed(payload, mac) {
        tracing::warn!("registration postback with a bad signature ignored");
        return None;
    }
    let mut parts = payload.splitn(5, ':');
    let (prefix, issued, mode, step, arg) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if prefix != PREFIX {
        return None;
    }
    let issued: i64 = issued.parse().ok()?;
    if now_s - issued > POSTBACK_DAYS * 86_400 {
        tracing::warn!(issued, "expired registration postback ignored");
        return None;
    }
    let mode = match mode {
        "n" => Mode::Next,
        "s" => Mode::Settings,
        _ => return None,
    };
    Some(Tap {
        mode,
        step: step.to_owned(),
        arg: arg.to_owned(),
    })
}

/// Whether postback data belongs to the registration dialog (the webhook's dispatch asks this).
pub fn is_registration_postback(data: &str) -> bool {
    data.starts_with("rg:")
}

/// Whether a text message is one of the dialog's words.
pub fn is_registration_text(text: &str) -> bool {
    command(text).is_some()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Settings,
    Pause,
    Resume,
    Register,
}

fn command(text: &str) -> Option<Command> {
    match crate::text::normalize_label(text).as_str() {
        "設定" | "せってい" | "settings" | "Settings" => Some(Command::Settings),
        "配信停止" => Some(Command::Pause),
        "配信再開" => Some(Command::Resume),
        "登録" | "とうろく" => Some(Command::Register),
        _ => None,
    }
}

/// The resident with this LINE address.
async fn resident_of(chat: &ChatService, user: &LineUserId) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT resident_id FROM resident_addresses WHERE channel = 'line' AND address = $1",
    )
    .bind(user.as_str())
    .fetch_optional(&chat.db.pool)
    .await
}

/// The resident with this LINE address, created (pending, until they consent) when unknown.
async fn ensure_resident(chat: &ChatService, user: &LineUserId) -> Result<i64, sqlx::Error> {
    if let Some(id) = resident_of(chat, user).await? {
        return Ok(id);
    }
    let mut tx = chat.db.begin_write().await?;
    let now = now_ms();
    let external_id = format!("line:{}", user.as_str());
    sqlx::query(
        "INSERT INTO residents (external_id, language, interests, preferred, pending, registered_via, \
         created_at_ms, updated_at_ms) VALUES ($1, 'ja', '[]', '[\"line\"]', 1, 'line', $2, $2) \
         ON CONFLICT (external_id) DO NOTHING",
    )
    .bind(external_id.clone())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let id: i64 = sqlx::query_scalar("SELECT id FROM residents WHERE external_id = $1")
        .bind(external_id)
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO resident_addresses (resident_id, channel, address, active) VALUES ($1, 'line', $2, 1) \
         ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(user.as_str())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    // Another event may have attached the address to someone else first: theirs wins.
    Ok(resident_of(chat, user).await?.unwrap_or(id))
}

/// After a follow (the greeting is sent before this): the first question, or a hint for the registered.
pub async fn on_follow(
    chat: &ChatService,
    user: &LineUserId,
) -> Result<Vec<LineMessage>, LineEventError> {
    let id = ensure_resident(chat, user).await?;
    let Some(settings) = super::settings(&chat.db, id).await? else {
        return Ok(Vec::new());
    };
    if settings.pending {
        Ok(vec![language_prompt(chat, user, Mode::Next)?])
    } else {
        Ok(vec![LineMessage::text(
            settings.lang().say(Msg::SettingsHint),
        )?])
    }
}

/// 「設定」, 「配信停止」, 「配信再開」, 「登録」: `None` for any other text (the FAQ answers it).
pub async fn on_text(
    chat: &ChatService,
    user: &LineUserId,
    text: &str,
) -> Result<Option<Vec<LineMessage>>, LineEventError> {
    let Some(command) = command(text) else {
        return Ok(None);
    };
    let id = ensure_resident(chat, user).await?;
    let Some(settings) = super::settings(&chat.db, id).await? else {
        return Ok(Some(Vec::new()));
    };
    let lang = settings.lang();
    let messages = match command {
        Command::Register | Command::Settings if settings.pending => {
            vec![language_prompt(chat, user, Mode::Next)?]
        }
        Command::Register | Command::Settings => menu(chat, user, &settings).await?,
        Command::Pause => {
            super::apply(&chat.db, id, &Change::Paused(true)).await?;
            vec![LineMessage::text(lang.say(Msg::PausedNow))?]
        }
        Command::Resume => {
            super::apply(&chat.db, id, &Change::Paused(false)).await?;
            vec![LineMessage::text(lang.say(Msg::ResumedNow))?]
        }
    };
    Ok(Some(messages))
}

/// A registration postback: `None` when the data is not the dialog's; an empty list when it was refused.
pub async fn on_postback(
    chat: &ChatService,
    config: &Config,
    user: &LineUserId,
    data: &str,
) -> Result<Option<Vec<LineMessage>>, LineEventError> {
    if !is_registration_postback(data) {
        return Ok(None);
    }
    let Some(tap) = verify(chat, user, data, Utc::now().timestamp()) else {
        return Ok(Some(Vec::new()));
    };
    let Some(id) = resident_of(chat, user).await? else {
        tracing::info!("registration postback from an unknown LINE user ignored");
        return Ok(Some(Vec::new()));
    };
    let span = tracing::info_span!("registration_tap", resident = id, step = %tap.step);
    take_tap(chat, config, user, id, tap).instrument(span).await
}

/// Applies a verified tap and answers with the next question or the settings.
async fn take_tap(
    chat: &ChatService,
    config: &Config,
    user: &LineUserId,
    id: i64,
    tap: Tap,
) -> Result<Option<Vec<LineMessage>>, LineEventError> {
    let Some(settings) = super::settings(&chat.db, id).await? else {
        return Ok(Some(Vec::new()));
    };
    // Everything but language and consent needs consent first.
    if !settings.consented && !settings_free_step(&tap.step) && settings.pending {
        tracing::info!("step before consent ignored");
        return Ok(Some(Vec::new()));
    }
    let mode = tap.mode;
    let messages = match tap.step.as_str() {
        "l" => tap_language(chat, user, id, &settings, &tap.arg).await?,
        "ok" => {
            super::apply(&chat.db, id, &Change::Consent).await?;
            vec![district_prompt(
                chat,
                config,
                user,
                settings.lang(),
                0,
                Mode::Next,
            )?]
        }
        "no" => vec![LineMessage::text(settings.lang().say(Msg::Declined))?],
        "dp" => {
            let page = tap.arg.parse().unwrap_or(0);
            vec![district_prompt(
                chat,
                config,
                user,
                settings.lang(),
                page,
                mode,
            )?]
        }
        "d" => tap_district(chat, config, user, id, &settings, &tap).await?,
        "a" => tap_age(chat, config, user, id, settings, &tap).await?,
        "i" => tap_interest(chat, config, user, id, settings, &tap).await?,
        "ip" => {
            let page = tap.arg.parse().unwrap_or(0);
            vec![interests_prompt(chat, config, user, &settings, page, mode)?]
        }
        "id" => match mode {
            Mode::Next => {
                let mut messages = vec![LineMessage::text(settings.lang().say(Msg::Completed))?];
                messages.extend(after(chat, user, id).await?);
                messages
            }
            Mode::Settings => after(chat, user, id).await?,
        },
        "m" => after(chat, user, id).await?,
        "c" => change_prompt(chat, config, user, &settings, &tap.arg)?,
        "p" => {
            let paused = tap.arg == "1";
            super::apply(&chat.db, id, &Change::Paused(paused)).await?;
            let key = if paused {
                Msg::PausedNow
            } else {
                Msg::ResumedNow
            };
            vec![LineMessage::text(settings.lang().say(key))?]
        }
        _ => Vec::new(),
    };
    Ok(Some(messages))
}

/// `l`: the language chosen; the statement follows in it, or the settings when registered already.
async fn tap_language(
    chat: &ChatService,
    user: &LineUserId,
    id: i64,
    settings: &Settings,
    arg: &str,
) -> Result<Vec<LineMessage>, LineEventError> {
    let Ok(language) = crate::residents::parse_language(arg) else {
        return Ok(Vec::new());
    };
    super::apply(&chat.db, id, &Change::Language(language.clone())).await?;
    Ok(if settings.consented || !settings.pending {
        after(chat, user, id).await?
    } else {
        vec![statement(
            chat,
            user,
            Language::or_japanese(Some(&language)),
        )?]
    })
}

/// `d`: the district chosen (one no longer in the list asks again).
async fn tap_district(
    chat: &ChatService,
    config: &Config,
    user: &LineUserId,
    id: i64,
    settings: &Settings,
    tap: &Tap,
) -> Result<Vec<LineMessage>, LineEventError> {
    let Ok(district) = District::parse(&tap.arg, &config.districts) else {
        tracing::info!(district = %tap.arg, "district no longer in the list");
        return Ok(vec![district_prompt(
            chat,
            config,
            user,
            settings.lang(),
            0,
            tap.mode,
        )?]);
    };
    super::apply(
        &chat.db,
        id,
        &Change::District(district.as_str().to_owned()),
    )
    .await?;
    Ok(match tap.mode {
        Mode::Next => vec![age_prompt(chat, user, settings.lang(), tap.mode)?],
        Mode::Settings => after(chat, user, id).await?,
    })
}

/// `a`: the age band chosen; the interests follow.
async fn tap_age(
    chat: &ChatService,
    config: &Config,
    user: &LineUserId,
    id: i64,
    settings: Settings,
    tap: &Tap,
) -> Result<Vec<LineMessage>, LineEventError> {
    if let Some(band) = AgeBand::parse(&tap.arg) {
        super::apply(&chat.db, id, &Change::Age(band)).await?;
    }
    Ok(match tap.mode {
        Mode::Next => {
            let fresh = super::settings(&chat.db, id).await?.unwrap_or(settings);
            vec![interests_prompt(chat, config, user, &fresh, 0, tap.mode)?]
        }
        Mode::Settings => after(chat, user, id).await?,
    })
}

/// `i`: an interest toggled; the same page of interests again.
async fn tap_interest(
    chat: &ChatService,
    config: &Config,
    user: &LineUserId,
    id: i64,
    settings: Settings,
    tap: &Tap,
) -> Result<Vec<LineMessage>, LineEventError> {
    if !config.interests.contains(&tap.arg) {
        return Ok(Vec::new());
    }
    super::apply(&chat.db, id, &Change::ToggleInterest(tap.arg.clone())).await?;
    let fresh = super::settings(&chat.db, id).await?.unwrap_or(settings);
    // Stay on the page the tapped interest is on.
    let per_page = if config.interests.len() < limits::QUICK_REPLY_MAX_ITEMS {
        usize::MAX
    } else {
        limits::QUICK_REPLY_MAX_ITEMS - 2
    };
    let page = config
        .interests
        .iter()
        .position(|i| *i == tap.arg)
        .map_or(0, |at| at / per_page);
    Ok(vec![interests_prompt(
        chat, config, user, &fresh, page, tap.mode,
    )?])
}

/// `c`: a setting to change, from the settings menu.
fn change_prompt(
    chat: &ChatService,
    config: &Config,
    user: &LineUserId,
    settings: &Settings,
    what: &str,
) -> Result<Vec<LineMessage>, LineEventError> {
    Ok(match what {
        "district" => vec![district_prompt(
            chat,
            config,
            user,
            settings.lang(),
            0,
            Mode::Settings,
        )?],
        "age" => vec![age_prompt(chat, user, settings.lang(), Mode::Settings)?],
        "interests" => vec![interests_prompt(
            chat,
            config,
            user,
            settings,
            0,
            Mode::Settings,
        )?],
        "language" => vec![language_prompt(chat, user, Mode::Settings)?],
        _ => Vec::new(),
    })
}

/// Steps a resident may take before consenting: choosing the language, agreeing or declining.
fn settings_free_step(step: &str) -> bool {
    matches!(step, "l" | "ok" | "no")
}

/// The settings menu after a change.
async fn after(
    chat: &ChatService,
    user: &LineUserId,
    id: i64,
) -> Result<Vec<LineMessage>, LineEventError> {
    match super::settings(&chat.db, id).await? {
        Some(settings) => menu(chat, user, &settings).await,
        None => Ok(Vec::new()),
    }
}

fn postback(
    chat: &ChatService,
    user: &LineUserId,
    label: &str,
    mode: Mode,
    step: &str,
    arg: &str,
) -> Result<QuickReplyItem, LineEventError> {
    let label = crate::chat::line::label(label);
    Ok(QuickReplyItem::postback(
        label.clone(),
        data(chat, user, mode, step, arg),
        Some(label),
    )?)
}

fn with_items(text: &str, items: Vec<QuickReplyItem>) -> Result<LineMessage, LineEventError> {
    let text: String = text.chars().take(limits::TEXT_MAX_CHARS).collect();
    Ok(LineMessage::text(text)?.with_quick_reply(QuickReply::new(items)?))
}

fn language_prompt(
    chat: &ChatService,
    user: &LineUserId,
    mode: Mode,
) -> Result<LineMessage, LineEventError> {
    let items = Language::ALL
        .iter()
        .map(|language| postback(chat, user, language.own_name(), mode, "l", language.code()))
        .collect::<Result<Vec<_>, _>>()?;
    with_items(Language::Ja.say(Msg::ChooseLanguage), items)
}

fn statement(
    chat: &ChatService,
    user: &LineUserId,
    lang: Language,
) -> Result<LineMessage, LineEventError> {
    with_items(
        lang.say(Msg::Statement),
        vec![
            postback(chat, user, lang.say(Msg::Agree), Mode::Next, "ok", "")?,
            postback(chat, user, lang.say(Msg::Decline), Mode::Next, "no", "")?,
        ],
    )
}

/// One page of a long list: everything when it fits beside `fixed` buttons, else pages with 次へ.
fn page_of<T: Clone>(all: &[T], page: usize, fixed: usize) -> (Vec<T>, Option<usize>) {
    let room = limits::QUICK_REPLY_MAX_ITEMS - fixed;
    if all.len() <= room {
        return (all.to_vec(), None);
    }
    let per_page = room - 1;
    let pages = all.len().div_ceil(per_page);
    let page = page % pages;
    let start = page * per_page;
    let items = all[start..(start + per_page).min(all.len())].to_vec();
    (items, Some((page + 1) % pages))
}

fn district_prompt(
    chat: &ChatService,
    config: &Config,
    user: &LineUserId,
    lang: Language,
    page: usize,
    mode: Mode,
) -> Result<LineMessage, LineEventError> {
    let (shown, next) = page_of(&config.districts, page, 0);
    let mut items = shown
        .iter()
        .map(|district| {
            postback(
                chat,
                user,
                &labels::district(lang, district),
                mode,
                "d",
                district,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(next) = next {
        items.push(postback(
            chat,
            user,
            lang.say(Msg::NextPage),
            mode,
            "dp",
            &next.to_string(),
        )?);
    }
    with_items(lang.say(Msg::ChooseDistrict), items)
}

fn age_prompt(
    chat: &ChatService,
    user: &LineUserId,
    lang: Language,
    mode: Mode,
) -> Result<LineMessage, LineEventError> {
    let mut items = AgeBand::ALL
        .iter()
        .map(|band| postback(chat, user, band.label(lang), mode, "a", band.code()))
        .collect::<Result<Vec<_>, _>>()?;
    items.push(postback(
        chat,
        user,
        lang.say(Msg::NoAnswer),
        mode,
        "a",
        "-",
    )?);
    with_items(lang.say(Msg::ChooseAge), items)
}

fn interests_prompt(
    chat: &ChatService,
    config: &Config,
    user: &LineUserId,
    settings: &Settings,
    page: usize,
    mode: Mode,
) -> Result<LineMessage, LineEventError> {
    let lang = settings.lang();
    let (shown, next) = page_of(&config.interests, page, 1);
    let mut items = shown
        .iter()
        .map(|interest| {
            let chosen = settings.interests.contains(interest);
            let shown = labels::topic(lang, interest);
            let label = if chosen {
                format!("✓{shown}")
            } else {
                shown.into_owned()
            };
            postback(chat, user, &label, mode, "i", interest)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(next) = next {
        items.push(postback(
            chat,
            user,
            lang.say(Msg::NextPage),
            mode,
            "ip",
            &next.to_string(),
        )?);
    }
    items.push(postback(
        chat,
        user,
        lang.say(Msg::DoneButton),
        mode,
        "id",
        "",
    )?);
    let chosen = if settings.interests.is_empty() {
        lang.say(Msg::NotSet).to_owned()
    } else {
        topics_list(lang, &settings.interests)
    };
    with_items(
        &format!(
            "{}\n{}: {chosen}",
            lang.say(Msg::ChooseInterests),
            lang.say(Msg::InterestsLabel)
        ),
        items,
    )
}

/// Topics in `lang`, one after the other.
fn topics_list(lang: Language, topics: &[String]) -> String {
    let separator = if lang.is_japanese() { "、" } else { ", " };
    topics
        .iter()
        .map(|topic| labels::topic(lang, topic))
        .collect::<Vec<_>>()
        .join(separator)
}

/// The settings as text.
pub fn summary(settings: &Settings) -> String {
    let lang = settings.lang();
    let not_set = lang.say(Msg::NotSet);
    let district = settings
        .district
        .as_deref()
        .map_or(not_set.into(), |district| labels::district(lang, district));
    let age = settings.band().map_or(not_set, |band| band.label(lang));
    let interests = if settings.interests.is_empty() {
        not_set.to_owned()
    } else {
        topics_list(lang, &settings.interests)
    };
    let notices = if settings.paused {
        lang.say(Msg::NoticesPaused)
    } else {
        lang.say(Msg::NoticesOn)
    };
    format!(
        "{}\n{}: {district}\n{}: {age}\n{}: {interests}\n{}: {}\n{}: {notices}",
        lang.say(Msg::CurrentSettings),
        lang.say(Msg::DistrictLabel),
        lang.say(Msg::AgeLabel),
        lang.say(Msg::InterestsLabel),
        lang.say(Msg::LanguageLabel),
        lang.own_name(),
        lang.say(Msg::NoticesLabel),
    )
}

/// The settings with buttons to change each, and a link to the preferences page.
async fn menu(
    chat: &ChatService,
    user: &LineUserId,
    settings: &Settings,
) -> Result<Vec<LineMessage>, LineEventError> {
    let lang = settings.lang();
    let m = Mode::Settings;
    let mut items = vec![
        postback(
            chat,
            user,
            lang.say(Msg::ChangeDistrict),
            m,
            "c",
            "district",
        )?,
        postback(chat, user, lang.say(Msg::ChangeAge), m, "c", "age")?,
        postback(
            chat,
            user,
            lang.say(Msg::ChangeInterests),
            m,
            "c",
            "interests",
        )?,
        postback(
            chat,
            user,
            lang.say(Msg::ChangeLanguage),
            m,
            "c",
            "language",
        )?,
        if settings.paused {
            postback(chat, user, lang.say(Msg::Resume), m, "p", "0")?
        } else {
            postback(chat, user, lang.say(Msg::Pause), m, "p", "1")?
        },
    ];
    let url = chat.links.preferences_url(settings.id, Utc::now());
    match QuickReplyItem::uri(lang.say(Msg::MoreSettings), url) {
        Ok(item) => items.push(item),
        // A public URL LINE cannot open (not http/https): the menu works without the link.
        Err(error) => tracing::warn!(%error, "preferences link not offered on LINE"),
    }
    Ok(vec![with_items(&summary(settings), items)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_paged_with_a_next_button() {
        let short: Vec<u32> = (0..11).collect();
        assert_eq!(page_of(&short, 0, 0), (short.clone(), None));
        let long: Vec<u32> = (0..30).collect();
        let (first, next) = page_of(&long, 0, 0);
        assert_eq!(first.len(), 12);
        assert_eq!(next, Some(1));
        let (last, next) = page_of(&long, 2, 0);
        assert_eq!(last, (24..30).collect::<Vec<_>>());
        assert_eq!(next, Some(0), "the last page leads back to the first");
        let (with_done, _) = page_of(&(0..12).collect::<Vec<u32>>(), 0, 1);
        assert_eq!(with_done.len(), 12);
    }

    #[test]
    fn taps_need_a_good_mac_and_expire() {
        let now = 1_800_000_000;
        // A stand-in MAC without `:` (the real one is base64url).
        let mac = |payload: &str| payload.bytes().map(u64::from).sum::<u64>().to_string();
        let good = |payload: &str, given: &str| given == mac(payload);
        let data = |issued: i64| {
            let payload = format!("rg:{issued}:n:d:今元");
            format!("{payload}:{}", mac(&payload))
        };
        let tap = parse_tap(&data(now - 60), now, good).expect("a fresh, signed tap");
        assert_eq!(
            (tap.mode, tap.step.as_str(), tap.arg.as_str()),
            (Mode::Next, "d", "今元")
        );
        let old = now - POSTBACK_DAYS * 86_400 - 1;
        assert_eq!(parse_tap(&data(old), now, good), None, "expired");
        let forged = data(now).replace(":d:今元:", ":d:泉:");
        assert_eq!(parse_tap(&forged, now, good), None, "forged");
        assert_eq!(
            parse_tap("fb:1:1:mac", now, |_, _| true),
            None,
            "another prefix"
        );
    }

    #[test]
    fn commands_are_recognised_in_full_width_too() {
        assert_eq!(command(" 設定 "), Some(Command::Settings));
        assert_eq!(command("配信停止"), Some(Command::Pause));
        assert_eq!(command("住民票"), None);
    }
}
