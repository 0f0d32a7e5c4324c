//! The resident web chat: `GET /chat` (an embeddable page, Japanese, accessible, no external assets) and its
//! WebSocket `GET /chat/ws`.
//!
//! The page sends `{"text": "…"}`; the hub answers
//! `{"type": "answer", "kind": "answer|candidates|fallback", "answer": "…", "candidates": [{"id", "question"}],
//! "entry_id": …, "id": LOG_ID, "department": …, "link": …}`. The page may then send `{"entry_id": "…", "id": LOG_ID}`
//! to pick a candidate, or `{"helpful": true|false, "id": LOG_ID}` as feedback; a socket can only act on the log
//! rows it was answered with. [`WebchatHub::broadcast`] pushes `{"type": "notice"|"emergency", …}` to every
//! open page, which shows it as a banner.
//!
//! Limits per client address (the surface's [`ClientAddr`](crate::surface::ClientAddr), which honours `HUB_CLIENT_IP_HEADER`), shared by
//! all of the client's sockets ([`WebchatLimits`]): open sockets (beyond the cap the upgrade is refused with 429),
//! messages per minute, and unverified safety answers per hour; and per socket: [`PACE_LIMIT`] messages a minute
//! and an idle timeout (a socket that sends nothing, not even the page's `{"ping": true}`, is closed with code
//! [`IDLE_CLOSE_CODE`]).

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tracing::Instrument;

use super::{Candidate, Channel, ChatService, NextSteps, Reply, ReplyKind};
use crate::AppState;
use crate::config::Config;
use crate::html::escape;
use crate::messages::{Language, Msg, fill};

/// Longest question accepted, in characters.
pub const MAX_QUESTION_CHARS: usize = 500;
/// Largest WebSocket message accepted, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;
/// Messages waiting for a slow page before broadcasts to it are dropped.
const OUTBOX_DEPTH: usize = 32;
/// Most messages one page may send in [`PACE_WINDOW`] (a person types far fewer; a script is slowed down).
pub const PACE_LIMIT: usize = 30;
pub const PACE_WINDOW: Duration = Duration::from_secs(60);
/// The close code of a socket that was silent for the idle timeout (the page reconnects when it is used again).
pub const IDLE_CLOSE_CODE: u16 = 4000;

/// What one client (address) may do with the web chat, over all its sockets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebchatLimits {
    /// Sockets open at once (`HUB_WEBCHAT_SOCKETS_PER_CLIENT`).
    pub sockets_per_client: u32,
    /// Messages a minute over all sockets (`HUB_WEBCHAT_MESSAGES_PER_MINUTE`).
    pub messages_per_minute: u32,
    /// A socket that sends nothing for this long is closed (`HUB_WEBCHAT_IDLE_TIMEOUT_SECS`).
    pub idle_timeout: Duration,
    /// Safety answers (unverified: anyone can open the chat) an hour.
    pub safety_answers_per_hour: u32,
}

impl Default for WebchatLimits {
    fn default() -> Self {
        WebchatLimits {
            sockets_per_client: 10,
            messages_per_minute: 60,
            idle_timeout: Duration::from_secs(600),
            safety_answers_per_hour: 5,
        }
    }
}

impl WebchatLimits {
    pub fn from_config(config: &Config) -> Self {
        WebchatLimits {
            sockets_per_client: config.webchat_sockets_per_client.max(1),
            messages_per_minute: config.webchat_messages_per_minute.max(1),
            idle_timeout: Duration::from_secs(u64::from(config.webchat_idle_timeout_secs.max(1))),
            ..WebchatLimits::default()
        }
    }
}

/// The per-client state behind [`WebchatLimits`].
struct ClientGuard {
    limits: WebchatLimits,
    messages: DefaultKeyedRateLimiter<IpAddr>,
    safety: DefaultKeyedRateLimiter<IpAddr>,
    sockets: Mutex<HashMap<IpAddr, u32>>,
}

impl ClientGuard {
    fn new(limits: WebchatLimits) -> Self {
        let per = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        ClientGuard {
            messages: RateLimiter::keyed(Quota::per_minute(per(limits.messages_per_minute))),
            safety: RateLimiter::keyed(Quota::per_hour(per(limits.safety_answers_per_hour))),
            sockets: Mutex::new(HashMap::new()),
            limits,
        }
    }

    /// `Err(wait)` when the client has used up its messages.
    fn message(&self, client: IpAddr) -> Result<(), Duration> {
        if self.messages.len() > 10_000 {
            self.messages.retain_recent();
        }
        self.messages
            .check_key(&client)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    fn safety_answer(&self, client: IpAddr) -> bool {
        if self.safety.len() > 10_000 {
            self.safety.retain_recent();
        }
        self.safety.check_key(&client).is_ok()
    }
}

/// One open socket of a client; dropping it frees the client's slot.
pub struct SocketPermit {
    guard: Arc<ClientGuard>,
    client: IpAddr,
}

impl Drop for SocketPermit {
    fn drop(&mut self) {
        let mut open = self
            .guard
            .sockets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = open.get_mut(&self.client) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}

/// A sliding-window limit on one socket's messages.
#[derive(Debug, Default)]
struct Pace {
    recent: VecDeque<Instant>,
}

impl Pace {
    /// `true` when a message at `now` is within the limit (and counts it).
    fn allow(&mut self, now: Instant) -> bool {
        while self
            .recent
            .front()
            .is_some_and(|first| now.duration_since(*first) >= PACE_WINDOW)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= PACE_LIMIT {
            return false;
        }
        self.recent.push_back(now);
        true
    }
}

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("chat.js");
const STYLE: &str = include_str!("chat.css");

/// The open chat pages, so notices and emergencies can reach each of them. Cheap to clone.
#[derive(Clone)]
pub struct WebchatHub {
    inner: Arc<Mutex<Sockets>>,
    /// With several hub processes on PostgreSQL: where broadcasts go to reach the other processes' pages.
    relay: Arc<std::sync::OnceLock<mpsc::UnboundedSender<String>>>,
    clients: Arc<ClientGuard>,
}

impl Default for WebchatHub {
    fn default() -> Self {
        WebchatHub::new(WebchatLimits::default())
    }
}

#[derive(Default)]
struct Sockets {
    next_id: u64,
    open: HashMap<u64, mpsc::Sender<String>>,
}

impl WebchatHub {
    pub fn new(limits: WebchatLimits) -> Self {
        WebchatHub {
            inner: Arc::default(),
            relay: Arc::default(),
            clients: Arc::new(ClientGuard::new(limits)),
        }
    }

    /// A slot for one more socket of `client`, or `None` when it has [`WebchatLimits::sockets_per_client`] open.
    pub fn admit(&self, client: IpAddr) -> Option<SocketPermit> {
        let mut open = self
            .clients
            .sockets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = open.entry(client).or_insert(0);
        if *count >= self.clients.limits.sockets_per_client {
            return None;
        }
        *count += 1;
        Some(SocketPermit {
            guard: self.clients.clone(),
            client,
        })
    }

    fn sockets(&self) -> std::sync::MutexGuard<'_, Sockets> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn register(&self) -> (u64, mpsc::Receiver<String>) {
        let (sender, receiver) = mpsc::channel(OUTBOX_DEPTH);
        let mut sockets = self.sockets();
        sockets.next_id += 1;
        let id = sockets.next_id;
        sockets.open.insert(id, sender);
        (id, receiver)
    }

    fn unregister(&self, id: u64) {
        self.sockets().open.remove(&id);
    }

    /// Open chat pages now.
    pub fn open_count(&self) -> usize {
        self.sockets().open.len()
    }

    /// Sends `message` (e.g. `{"type": "emergency", "title": …, "body": …}`) to every open page; returns how many
    /// pages it was queued for (a page too slow to keep up misses it).
    /// With a relay (PostgreSQL), pages open on the other hub processes get it too.
    pub fn broadcast(&self, message: Value) -> usize {
        let text = message.to_string();
        if let Some(relay) = self.relay.get() {
            let _ = relay.send(text.clone());
        }
        self.deliver_local(&text)
    }

    /// Sends a message to the pages open on this process only.
    pub(crate) fn deliver_local(&self, text: &str) -> usize {
        let mut sockets = self.sockets();
        sockets.open.retain(|_, sender| !sender.is_closed());
        sockets
            .open
            .values()
            .filter(|sender| sender.try_send(text.to_owned()).is_ok())
            .count()
    }

    /// Connects this hub's broadcasts to the relay; a second call changes nothing.
    pub(crate) fn set_relay(&self, sender: mpsc::UnboundedSender<String>) {
        let _ = self.relay.set(sender);
    }
}

/// The chat page. Its script and style are separate files (`/chat/chat.js`, `/chat/chat.css`) so the page
/// works under the hub's Content-Security-Policy, which allows no inline code; the words the script shows come
/// with the page, as `data-` attributes of `<body>`, in the page's language.
/// The chat page in `lang`, with the safety buttons' labels given by the emergency side (`safe`, `need_help`).
pub fn render_page(lang: Language, safe: &str, need_help: &str) -> String {
    let say = |msg: Msg| escape(lang.say(msg));
    let hours = lang.say(Msg::CityHours);
    let note = fill(
        &say(Msg::ChatNote),
        &[
            (
                "number",
                &format!(
                    "<a href=\"tel:{}\">{}</a>",
                    super::MAIN_NUMBER.replace('-', ""),
                    super::MAIN_NUMBER
                ),
            ),
            ("hours", &escape(hours)),
        ],
    );
    fill(
        PAGE,
        &[
            ("html_lang", lang.html_lang()),
            ("lang", lang.code()),
            ("title", &say(Msg::ChatTitle)),
            ("intro", &say(Msg::ChatIntro)),
            ("log_label", &say(Msg::ChatLogLabel)),
            ("welcome", &say(Msg::ChatWelcome)),
            ("question_label", &say(Msg::ChatQuestionLabel)),
            ("placeholder", &say(Msg::ChatPlaceholder)),
            ("send", &say(Msg::ChatSend)),
            ("connecting", &say(Msg::ChatConnecting)),
            ("note", &note),
            ("helpful", &say(Msg::Helpful)),
            ("not_helpful", &say(Msg::NotHelpful)),
            ("feedback_label", &say(Msg::FeedbackQuestion)),
            ("none", &say(Msg::NoneOfThese)),
            ("choices_label", &say(Msg::ChoicesLabel)),
            ("department", &say(Msg::Department)),
            ("more", &say(Msg::MoreInfo)),
            ("emergency", &say(Msg::EmergencyHeading)),
            ("notice", &say(Msg::NoticeHeading)),
            ("safety_label", &say(Msg::SafetyLabel)),
            ("safe", &escape(safe)),
            ("need_help", &escape(need_help)),
            ("idle", &say(Msg::ChatIdle)),
            ("reconnecting", &say(Msg::ChatReconnecting)),
            ("cannot_connect", &say(Msg::ChatCannotConnect)),
        ],
    )
}

/// The chat page's script.
pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// The chat page's style sheet.
pub async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        STYLE,
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct SocketQuery {
    /// The page's language (`ja`, `ja-easy`, `en`, `zh`, `ko`, `vi`; Japanese when absent or unknown).
    lang: Option<String>,
}

impl SocketQuery {
    /// The language the page asked for.
    pub fn lang(&self) -> Language {
        Language::or_japanese(self.lang.as_deref())
    }
}

/// The emergency side of a page, which the chat layer does not know: the web chat router above the features
/// (`crate::webchat_events`) hands each socket a desk that shows open emergencies' banners and records the
/// page's safety answers to them.
pub trait SafetyDesk: Send + Sync + 'static {
    /// A checked safety answer.
    type Answer: Copy + Send + Sync;
    /// The banners of emergencies still open (`{"type": "emergency", "id": …}`), shown when a page opens.
    fn open_banners(&self) -> impl Future<Output = Result<Vec<Value>, sqlx::Error>> + Send;
    /// `"safe"` or `"need_help"` as an answer, `None` for anything else.
    fn parse(&self, answer: &str) -> Option<Self::Answer>;
    /// The answer's name as the page sent it.
    fn name(&self, answer: Self::Answer) -> &'static str;
    /// The thanks shown for a recorded answer.
    fn thanks(&self, answer: Self::Answer, lang: Language) -> &'static str;
    /// Records an unverified answer from the page's anonymous token; `false` when it was not recorded.
    fn record(
        &self,
        emergency: i64,
        page_token: &str,
        answer: Self::Answer,
    ) -> impl Future<Output = Result<bool, sqlx::Error>> + Send;
}

/// Upgrades `GET /chat/ws` for `client` (refused with 429 beyond the client's open sockets), the page's safety
/// answers going to `desk`.
pub fn open_socket<D: SafetyDesk>(
    state: AppState,
    client: IpAddr,
    lang: Language,
    upgrade: WebSocketUpgrade,
    desk: D,
) -> Response {
    let Some(permit) = state.webchat.admit(client) else {
        metrics::counter!("hub_webchat_refused_total", "reason" => "sockets").increment(1);
        tracing::warn!("web chat socket refused: too many open from one client");
        let mut response = crate::error::ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "同じ端末から開かれているチャットが多すぎます。使っていない画面を閉じてから、もう一度お試しください。(too many open chats)",
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return response;
    };
    upgrade
        .max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| {
            run(
                state.chat.clone(),
                state.webchat.clone(),
                socket,
                lang,
                Client {
                    permit,
                    address: client,
                },
                desk,
            )
        })
}

/// The client a socket belongs to, holding one of its socket slots.
struct Client {
    permit: SocketPermit,
    address: IpAddr,
}

/// What a page may send.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientMessage {
    text: Option<String>,
    entry_id: Option<String>,
    id: Option<i64>,
    helpful: Option<bool>,
    /// A safety answer to an emergency banner this page was shown: `{"emergency": ID, "answer": "safe"}`.
    emergency: Option<i64>,
    answer: Option<String>,
    /// `{"ping": true}`: the open page is still there (keeps the socket from the idle timeout; answered `pong`).
    ping: Option<bool>,
}

/// An answer as the page receives it.
#[derive(Debug, Serialize)]
struct AnswerMessage<'a> {
    #[serde(rename = "type")]
    kind_tag: &'static str,
    kind: ReplyKind,
    answer: &'a str,
    candidates: &'a [Candidate],
    entry_id: Option<&'a str>,
    id: i64,
    department: Option<&'a str>,
    link: Option<&'a str>,
    next_steps: Option<&'a NextSteps>,
}

fn answer_json(reply: &Reply) -> String {
    serde_json::to_string(&AnswerMessage {
        kind_tag: "answer",
        kind: reply.kind,
        answer: &reply.text,
        candidates: &reply.candidates,
        entry_id: reply.entry_id.as_deref(),
        id: reply.log_id,
        department: reply.department.as_deref(),
        link: reply.link.as_deref(),
        next_steps: reply.next_steps.as_ref(),
    })
    .unwrap_or_else(|_| error_json("internal error"))
}

fn error_json(message: &str) -> String {
    json!({"type": "error", "error": message}).to_string()
}

/// What a page asks for, checked: a question (trimmed, not empty, at most [`MAX_QUESTION_CHARS`]), a choice
/// among offered candidates, or feedback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageRequest {
    Ask(String),
    Choose {
        id: i64,
        entry_id: String,
    },
    Feedback {
        id: i64,
        helpful: bool,
    },
    /// A safety answer to an emergency banner: `{"emergency": ID, "answer": "safe"|"need_help"}`.
    Safety {
        emergency: i64,
        answer: String,
    },
    /// The page's keep-alive.
    Ping,
}

/// Parses one message from a page; `Err` is the message to show the page (in `lang` for what a resident can
/// cause by typing; a malformed message is a program's error and is described in English).
pub fn parse_page_message(text: &str, lang: Language) -> Result<PageRequest, String> {
    let message: ClientMessage =
        serde_json::from_str(text).map_err(|error| format!("not a chat message: {error}"))?;
    match message {
        ClientMessage {
            text: Some(question),
            ..
        } => {
            let question = question.trim();
            if question.is_empty() {
                Err(lang.say(Msg::QuestionEmpty).to_owned())
            } else if question.chars().count() > MAX_QUESTION_CHARS {
                Err(fill(
                    lang.say(Msg::QuestionTooLong),
                    &[("max", &MAX_QUESTION_CHARS.to_string())],
                ))
            } else {
                Ok(PageRequest::Ask(question.to_owned()))
            }
        }
        ClientMessage {
            entry_id: Some(entry_id),
            id: Some(id),
            ..
        } => Ok(PageRequest::Choose { id, entry_id }),
        ClientMessage {
            helpful: Some(helpful),
            id: Some(id),
            ..
        } => Ok(PageRequest::Feedback { id, helpful }),
        ClientMessage {
            emergency: Some(emergency),
            answer: Some(answer),
            ..
        } => Ok(PageRequest::Safety { emergency, answer }),
        ClientMessage {
            ping: Some(true), ..
        } => Ok(PageRequest::Ping),
        _ => Err(
            "send {\"text\": \"…\"}, {\"entry_id\": \"…\", \"id\": N}, {\"helpful\": true, \"id\": N} \
             or {\"emergency\": ID, \"answer\": \"safe\"}"
                .to_owned(),
        ),
    }
}

/// One socket's conversation: log rows it was answered with (only those take choices and feedback).
struct Conversation<D> {
    chat: ChatService,
    lang: Language,
    answered: HashSet<i64>,
    pace: Pace,
    /// Emergency banners shown on this page (only those take safety answers), and the page's anonymous token.
    emergencies: HashSet<i64>,
    page_token: String,
    /// The client's shared limits, and its address.
    clients: Arc<ClientGuard>,
    client: IpAddr,
    /// Where safety answers go.
    desk: D,
}

/// What a throttled resident is told.
fn throttled(wait: Option<Duration>, lang: Language) -> String {
    let secs = wait.map_or(60, |w| (w.as_secs() + 1).min(120));
    let message = fill(
        lang.say(Msg::TooManyMessages),
        &[("seconds", &secs.to_string())],
    );
    json!({"type": "error", "error": message, "throttled": true}).to_string()
}

impl<D: SafetyDesk> Conversation<D> {
    async fn handle(&mut self, text: &str) -> String {
        let request = parse_page_message(text, self.lang);
        // The keep-alive costs nothing and counts against no budget.
        if request == Ok(PageRequest::Ping) {
            return json!({"type": "pong"}).to_string();
        }
        if !self.pace.allow(Instant::now()) {
            tracing::warn!("web chat message refused: too many in a minute on one socket");
            metrics::counter!("hub_webchat_refused_total", "reason" => "socket_pace").increment(1);
            return throttled(None, self.lang);
        }
        if let Err(wait) = self.clients.message(self.client) {
            tracing::warn!(
                "web chat message refused: the client's budget over all its sockets is used up"
            );
            metrics::counter!("hub_webchat_refused_total", "reason" => "client_budget")
                .increment(1);
            return throttled(Some(wait), self.lang);
        }
        let result = match request {
            Ok(PageRequest::Ping) => Ok(json!({"type": "pong"}).to_string()),
            Ok(PageRequest::Ask(question)) => self.ask(&question).await,
            Ok(PageRequest::Choose { id, entry_id }) => self.choose(id, &entry_id).await,
            Ok(PageRequest::Feedback { id, helpful }) => self.feedback(id, helpful).await,
            Ok(PageRequest::Safety { emergency, answer }) => self.safety(emergency, &answer).await,
            Err(message) => Ok(error_json(&message)),
        };
        result.unwrap_or_else(|error| {
            tracing::error!(%error, "web chat storage error");
            error_json(self.lang.say(Msg::ServerTrouble))
        })
    }

    async fn ask(&mut self, question: &str) -> Result<String, sqlx::Error> {
        let reply = self
            .chat
            .ask(Channel::Webchat, None, question, self.lang)
            .await?;
        self.answered.insert(reply.log_id);
        Ok(answer_json(&reply))
    }

    async fn choose(&mut self, id: i64, entry_id: &str) -> Result<String, sqlx::Error> {
        if !self.answered.contains(&id) {
            return Ok(error_json("unknown conversation id"));
        }
        Ok(
            match self.chat.choose(id, entry_id, None, self.lang).await? {
                Some(reply) => answer_json(&reply),
                None => error_json("that entry was not offered"),
            },
        )
    }

    async fn safety(&mut self, emergency: i64, answer: &str) -> Result<String, sqlx::Error> {
        let Some(answer) = self.desk.parse(answer) else {
            return Ok(error_json("answer must be \"safe\" or \"need_help\""));
        };
        if !self.emergencies.contains(&emergency) {
            return Ok(error_json("unknown emergency"));
        }
        // Anyone can open the chat: its answers are unverified, counted apart, and few per client.
        if !self.clients.safety_answer(self.client) {
            tracing::warn!(
                emergency,
                "web chat safety answer refused: too many from one client"
            );
            metrics::counter!("hub_webchat_refused_total", "reason" => "safety_answers")
                .increment(1);
            return Ok(json!({
                "type": "safety",
                "emergency": emergency,
                "answer": self.desk.name(answer),
                "recorded": false,
                "message": match self.lang {
                    Language::En => "Too many answers came from this device; this one was not recorded. If your life is in danger, call 119 (fire and ambulance) or 110 (police).",
                    _ => "この端末からの回答が多すぎるため、記録できませんでした。命に危険があるときは119番（消防・救急）または110番（警察）に電話してください。",
                },
            })
            .to_string());
        }
        let recorded = self
            .desk
            .record(emergency, &self.page_token, answer)
            .await?;
        Ok(json!({
            "type": "safety",
            "emergency": emergency,
            "answer": self.desk.name(answer),
            "recorded": recorded,
            "message": self.desk.thanks(answer, self.lang),
        })
        .to_string())
    }

    /// Remembers an emergency banner pushed to this page; `false` when this page was shown that banner already
    /// (an emergency created while the page opened comes both with the open ones and as a broadcast).
    fn shown(&mut self, pushed: &str) -> bool {
        if let Ok(message) = serde_json::from_str::<Value>(pushed)
            && message["type"] == "emergency"
            && let Some(id) = message["id"].as_i64()
        {
            return self.emergencies.insert(id);
        }
        true
    }

    async fn feedback(&mut self, id: i64, helpful: bool) -> Result<String, sqlx::Error> {
        if !self.answered.contains(&id) {
            return Ok(error_json("unknown conversation id"));
        }
        let recorded = self.chat.feedback(id, helpful, None).await?;
        Ok(json!({
            "type": "feedback",
            "id": id,
            "recorded": recorded,
            "message": super::feedback_thanks(helpful, self.lang),
            "next_steps": (!helpful).then(|| NextSteps::new(self.lang)),
        })
        .to_string())
    }
}

async fn run<D: SafetyDesk>(
    chat: ChatService,
    hub: WebchatHub,
    mut socket: WebSocket,
    lang: Language,
    client: Client,
    desk: D,
) {
    // Held until the socket ends: the client's slot.
    let Client {
        permit: _permit,
        address,
    } = client;
    let idle = hub.clients.limits.idle_timeout;
    let (socket_id, mut outbox) = hub.register();
    let span = tracing::info_span!("webchat_socket", socket = socket_id);
    async {
        tracing::info!(open = hub.open_count(), "web chat opened");
        let mut token = [0u8; 16];
        rand::rng().fill_bytes(&mut token);
        let mut conversation = Conversation {
            chat,
            lang,
            answered: HashSet::new(),
            pace: Pace::default(),
            emergencies: HashSet::new(),
            page_token: hex::encode(token),
            clients: hub.clients.clone(),
            client: address,
            desk,
        };
        let mut heard = tokio::time::Instant::now();
        // Emergencies still open when the page opens are shown at once.
        match conversation.desk.open_banners().await {
            Ok(banners) => {
                for banner in banners {
                    let text = banner.to_string();
                    if !conversation.shown(&text) {
                        continue;
                    }
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        hub.unregister(socket_id);
                        return;
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "open emergencies not shown"),
        }
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(heard + idle) => {
                    tracing::info!(idle_secs = idle.as_secs(), "web chat closed: idle");
                    let _ = socket
                        .send(Message::Close(Some(CloseFrame {
                            code: IDLE_CLOSE_CODE,
                            reason: "idle".into(),
                        })))
                        .await;
                    break;
                }
                incoming = socket.recv() => {
                    // Anything from the page (a message, a ping or pong frame) shows it is still there.
                    heard = tokio::time::Instant::now();
                    let text = match incoming {
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(Message::Close(_))) | None => break,
                        Some(Ok(_)) => continue,
                        Some(Err(error)) => {
                            tracing::info!(%error, "web chat socket error");
                            break;
                        }
                    };
                    let answer = conversation
                        .handle(text.as_str())
                        .instrument(tracing::info_span!("webchat_message", bytes = text.len()))
                        .await;
                    if socket.send(Message::Text(answer.into())).await.is_err() {
                        break;
                    }
                }
                Some(pushed) = outbox.recv() => {
                    if !conversation.shown(&pushed) {
                        continue;
                    }
                    if socket.send(Message::Text(pushed.into())).await.is_err() {
                        break;
                    }
                }
            }
        }
        hub.unregister(socket_id);
        tracing::info!("web chat closed");
    }
    .instrument(span)
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_counts_open_pages_and_forgets_closed_ones() {
        let hub = WebchatHub::default();
        let (first, mut first_rx) = hub.register();
        let (_second, second_rx) = hub.register();
        drop(second_rx);
        assert_eq!(hub.broadcast(json!({"type": "notice", "title": "t"})), 1);
        assert_eq!(hub.open_count(), 1);
        let received = first_rx.try_recv().expect("queued");
        assert!(received.contains("\"notice\""), "{received}");
        hub.unregister(first);
        assert_eq!(hub.broadcast(json!({"type": "notice"})), 0);
    }

    #[test]
    fn pace_limits_a_socket_per_window() {
        let mut pace = Pace::default();
        let start = Instant::now();
        for _ in 0..PACE_LIMIT {
            assert!(pace.allow(start));
        }
        assert!(!pace.allow(start + Duration::from_secs(1)));
        assert!(pace.allow(start + PACE_WINDOW));
    }

    #[test]
    fn page_is_self_contained_japanese_and_accessible() {
        let page = render_page(Language::Ja, "無事です", "助けが必要");
        assert!(page.contains("<html lang=\"ja\">"), "{page}");
        assert!(page.contains("よくある質問チャット"));
        assert!(!page.contains("{title}") && !page.contains("{note}"));
        assert!(
            render_page(Language::En, "I'm safe", "I need help").contains("<html lang=\"en\">")
        );
        assert!(PAGE.contains("aria-live"));
        assert!(PAGE.contains("<label"));
        assert!(!PAGE.contains("http://") && !PAGE.contains("https://"));
        // Nothing inline: the Content-Security-Policy allows only the hub's own files.
        assert!(!PAGE.contains("<style") && !PAGE.contains("style=") && !PAGE.contains("<script>"));
        assert!(PAGE.contains("src=\"/chat/chat.js\"") && PAGE.contains("href=\"/chat/chat.css\""));
    }
}
