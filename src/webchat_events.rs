//! The web chat's events routed above the features, as [`crate::line_events`] does for LINE: the chat socket
//! (`chat::webchat`) answers questions itself and hands what belongs to the emergency feature (the open
//! emergencies' banners, the page's safety answers) to the [`EmergencyDesk`] given here, so chat never imports
//! emergency (whose fan-out pushes banners through the chat's [`crate::chat::WebchatHub`]).

use axum::Extension;
use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::AppState;
use crate::chat::webchat::{self, SafetyDesk, SocketQuery};
use crate::db::Db;
use crate::emergency::safety::{self, Answer};
use crate::messages::Language;
use crate::surface::ClientAddr;

/// The chat page. Its script and style are separate files (`/chat/chat.js`, `/chat/chat.css`) so the page
/// works under the hub's Content-Security-Policy, which allows no inline code; the words the script shows come
/// with the page, as `data-` attributes of `<body>`, in the page's language.
#[utoipa::path(get, path = "/chat",
    params(("lang" = Option<String>, Query, description = "ja (default), ja-easy, en, zh, ko or vi")),
    responses((status = 200, content_type = "text/html", description = "the resident web chat page in that language; it talks over /chat/ws")))]
pub async fn page(Query(query): Query<SocketQuery>) -> Response {
    let lang = query.lang();
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        webchat::render_page(lang, Answer::Safe.label(lang), Answer::NeedHelp.label(lang)),
    )
        .into_response()
}

/// The chat WebSocket.
#[utoipa::path(get, path = "/chat/ws",
    params(("lang" = Option<String>, Query, description = "the page's language: replies, buttons and messages in it (answers in English where the FAQ has them, else in Japanese with a note)")),
    responses((status = 101, description = "WebSocket: send {\"text\": \"…\"}, receive {\"type\": \"answer\", \"kind\", \"answer\", \"candidates\": [{\"id\", \"question\"}], \"entry_id\", \"id\"}; {\"entry_id\", \"id\"} picks a candidate, {\"helpful\": bool, \"id\"} gives feedback; notices and emergencies arrive as {\"type\": \"notice\"|\"emergency\", …}")))]
pub async fn socket(
    State(state): State<AppState>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Query(query): Query<SocketQuery>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let desk = EmergencyDesk {
        db: state.chat.db.clone(),
    };
    webchat::open_socket(state, client, query.lang(), upgrade, desk)
}

/// A page's emergency side: open banners and unverified safety answers (`emergency::safety`).
pub struct EmergencyDesk {
    db: Db,
}

impl SafetyDesk for EmergencyDesk {
    type Answer = Answer;

    async fn open_banners(&self) -> Result<Vec<Value>, sqlx::Error> {
        safety::open_banners(&self.db).await
    }

    fn parse(&self, answer: &str) -> Option<Answer> {
        Answer::parse(answer)
    }

    fn name(&self, answer: Answer) -> &'static str {
        answer.as_str()
    }

    fn thanks(&self, answer: Answer, lang: Language) -> &'static str {
        answer.thanks(lang)
    }

    async fn record(
        &self,
        emergency: i64,
        page_token: &str,
        answer: Answer,
    ) -> Result<bool, sqlx::Error> {
        safety::webchat_answer(&self.db, emergency, page_token, answer).await
    }
}
