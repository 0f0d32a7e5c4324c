//! A loopback HTTP/1 server for the stand-ins that can drop a connection from inside a handler.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tower_service::Service;

/// Put into every request's extensions: `drop_connection()` closes the TCP connection without an answer.
#[derive(Clone, Debug)]
pub struct ConnectionControl(Arc<Notify>);

impl ConnectionControl {
    /// Closes this request's connection; the handler should then wait (its answer is never written).
    pub fn drop_connection(&self) {
        self.0.notify_one();
    }
}

/// A running server; stops accepting when dropped.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Server {
    /// Serves `router` on 127.0.0.1 on a free port.
    pub async fn start(router: Router) -> std::io::Result<Server> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let router = router.clone();
                tokio::spawn(async move {
                    let kill = Arc::new(Notify::new());
                    let control = ConnectionControl(kill.clone());
                    let svc = hyper::service::service_fn(
                        move |mut req: hyper::Request<hyper::body::Incoming>| {
                            req.extensions_mut().insert(control.clone());
                            let mut router = router.clone();
                            async move {
                                let resp: Result<_, Infallible> = router.call(req).await;
                                resp
                            }
                        },
                    );
                    let conn = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), svc);
                    tokio::select! {
                        _ = conn => {}
                        _ = kill.notified() => {}
                    }
                });
            }
        });
        Ok(Server { addr, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}
