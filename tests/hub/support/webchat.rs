//! The web chat's WebSocket (`/chat/ws`), as a page opens it.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a chat socket on the hub listening at `addr`.
pub async fn open(addr: std::net::SocketAddr) -> Socket {
    try_open(addr, None).await.expect("web chat socket opens")
}

/// Opens a chat socket as client `forwarded` (the proxy header, for a hub started with
/// `HUB_CLIENT_IP_HEADER=x-forwarded-for`), or the HTTP status it was refused with.
pub async fn try_open(addr: std::net::SocketAddr, forwarded: Option<&str>) -> Result<Socket, u16> {
    let mut request = format!("ws://{addr}/chat/ws")
        .into_client_request()
        .expect("request");
    if let Some(ip) = forwarded {
        request
            .headers_mut()
            .insert("x-forwarded-for", ip.parse().expect("header"));
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(error) => panic!("unexpected socket error: {error}"),
    }
}

/// The next JSON text message (other frames are skipped), failing after 10 s.
pub async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let received = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s")
            .expect("socket open")
            .expect("a message");
        if let Message::Text(text) = received {
            return serde_json::from_str(text.as_str()).expect("JSON");
        }
    }
}

/// Sends `message` and returns the next JSON message.
pub async fn exchange(socket: &mut Socket, message: Value) -> Value {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .expect("sent");
    next_json(socket).await
}
