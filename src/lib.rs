//! The Yukuhashi resident hub: one program that answers residents from the city's FAQ, sends segmented notices
//! and broadcasts emergencies. `main.rs` is the command line; this library is what it and the tests start.

pub mod api;
pub mod audience_index;
pub mod audit;
pub mod auth;
pub mod chat;
pub mod config;
pub mod console;
pub mod db;
pub mod emergency;
pub mod error;
pub mod html;
pub mod import;
pub mod jma;
pub mod line_events;
pub mod links;
pub mod loadtest;
pub mod messages;
pub mod notices;
pub mod outbox;
pub mod preview_bench;
pub mod protection;
pub mod redact;
pub mod registration;
pub mod render;
pub mod residents;
pub mod surface;
pub mod surveys;
pub mod telemetry;
pub mod text;
pub mod webchat_events;
pub mod webhook_bench;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

pub use config::Config;
use db::Db;

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    // --- chat (issue 3): the FAQ, LINE replies, and the open web chat pages.
    pub chat: chat::ChatService,
    pub webchat: chat::WebchatHub,
    /// Wakes this process's emergency worker when an emergency is triggered here (it also polls).
    pub emergency_wake: Arc<tokio::sync::Notify>,
    // --- hardening (issue 9): LINE events are acknowledged first and handled from this queue.
    pub line_events: line_events::LineQueue,
    // --- staff login (issue 25): console password hashes run behind this gate (memory-hard, one per core).
    pub login_gate: Arc<auth::login_guard::HashGate>,
    /// Signed links and postbacks, with the keys read once at start.
    pub links: links::Links,
    /// The Web Push application server key.
    pub vapid: channels::push::VapidKey,
    // --- segments (issue 16): the residents' live snapshot that previews and notices are evaluated on.
    pub audience: audience_index::LiveSnapshot,
}

/// Core modules take what they need from the state by type (`State<Db>`, the `Staff` extractor), not the whole.
impl axum::extract::FromRef<AppState> for Db {
    fn from_ref(state: &AppState) -> Db {
        state.db.clone()
    }
}

impl axum::extract::FromRef<AppState> for links::Links {
    fn from_ref(state: &AppState) -> links::Links {
        state.links.clone()
    }
}

impl axum::extract::FromRef<AppState> for Arc<Config> {
    fn from_ref(state: &AppState) -> Arc<Config> {
        state.config.clone()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Database(#[from] db::DbError),
    #[error("cannot create the first administrator token: {0}")]
    Bootstrap(sqlx::Error),
    #[error(transparent)]
    Faq(#[from] chat::FaqServiceError),
    #[error(transparent)]
    Keys(#[from] links::KeyError),
    #[error("cannot start the chat: {0}")]
    Chat(String),
    #[error("cannot start the dispatcher: {0}")]
    Outbound(#[from] outbox::dispatcher::DispatchError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Opens the database, applies migrations and bootstraps the first admin: everything before serving.
pub async fn prepare(config: Config) -> Result<AppState, StartError> {
    let db = Db::connect(&config.database_url, config.database_max_connections).await?;
    db.migrate().await?;
    if let Some(token) = &config.admin_token {
        auth::bootstrap_admin(&db, token)
            .await
            .map_err(StartError::Bootstrap)?;
    }
    // The dummy hash an unknown username is checked against is made now, so the first such attempt takes no
    // longer than any other.
    let _ = tokio::task::spawn_blocking(auth::accounts::dummy_hash).await;
    let keys = links::Keys::load(&db, &config).await?;
    let chat = start_chat(&db, &config, keys.links.clone()).await?;
    let config = Arc::new(config);
    let line_events = line_events::LineQueue::start(chat.clone(), config.clone());
    line_events
        .recover(&db)
        .await
        .map_err(|error| StartError::Chat(format!("cannot queue stored LINE events: {error}")))?;
    let webchat = chat::WebchatHub::new(chat::webchat::WebchatLimits::from_config(&config));
    Ok(AppState {
        db: db.clone(),
        config,
        chat,
        webchat,
        emergency_wake: Arc::new(tokio::sync::Notify::new()),
        line_events,
        login_gate: Arc::new(auth::login_guard::HashGate::for_this_machine()),
        links: keys.links,
        vapid: keys.vapid,
        audience: audience_index::LiveSnapshot::new(db),
    })
}

/// The chat's parts: the FAQ index (and its reload watcher), the LINE client for replies, the signed postbacks.
async fn start_chat(
    db: &Db,
    config: &Config,
    links: links::Links,
) -> Result<chat::ChatService, StartError> {
    if let Some(bundled) = &config.faq_seed {
        let (dir, bundled) = (config.faq_dir.clone(), bundled.clone());
        tokio::task::spawn_blocking(move || chat::seed_faq_folder(&dir, &bundled))
            .await
            .map_err(|error| StartError::Chat(error.to_string()))??;
    }
    let faq = chat::FaqService::start(&config.faq_dir, db.clone()).await?;
    let line = channels::line::LineClient::new(
        channels::line::LineConfig::new(config.line_channel_token.clone())
            .with_api_base(config.line_api_base.clone()),
    )
    .map_err(|error| StartError::Chat(error.to_string()))?;
    Ok(chat::ChatService::new(db.clone(), faq, line, links))
}

/// A running hub: its address and the switch that stops it.
pub struct RunningHub {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    /// Scheduler and dispatcher workers (outbound).
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl RunningHub {
    /// Stops at once, as a crash would: nothing in flight finishes or is recorded. Claimed deliveries wait for
    /// their lease to run out and are then taken by another process (tests of recovery use this).
    pub fn abort(self) {
        let _ = self.shutdown.send(true);
        self.task.abort();
        for task in self.background {
            task.abort();
        }
    }

    /// Stops accepting requests, lets in-flight work finish, and waits for it.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
        // Outbound workers finish what they have in flight and record it; unclaimed rows stay pending.
        for task in self.background {
            let _ = task.await;
        }
    }
}

/// Starts the HTTP server and background work on `listener`; returns at once.
pub async fn start(state: AppState, listener: TcpListener) -> Result<RunningHub, StartError> {
    let addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: state.config.listen,
        source,
    })?;
    let (shutdown, mut stopped) = watch::channel(false);
    // outbound: the scheduler fires notices, the dispatcher sends the outbox
    let keys = links::Keys {
        links: state.links.clone(),
        vapid: state.vapid.clone(),
    };
    let dispatcher = outbox::dispatcher::Dispatcher::new(
        state.db.clone(),
        &state.config,
        keys,
        outbox::dispatcher::DispatchSettings {
            lease: std::time::Duration::from_secs(state.config.dispatch_lease_secs),
            ..outbox::dispatcher::DispatchSettings::default()
        },
        // surveys: an invitation notice's messages carry each resident's own link to answer
        Arc::new(surveys::SurveyInvitations::new(state.links.clone())),
    )?;
    let mut background = Arc::new(dispatcher).spawn(shutdown.subscribe());
    // segments: the live snapshot is built now and kept current from the change feed
    background.push(
        state
            .audience
            .spawn(state.config.database_url.clone(), shutdown.subscribe()),
    );
    background.push(notices::scheduler::spawn(
        state.db.clone(),
        state.config.clone(),
        state.webchat.clone(),
        state.audience.clone(),
        shutdown.subscribe(),
    ));
    if state.db.backend == db::Backend::Postgres {
        // Several processes may share this database: banners reach the pages open on each of them.
        background.extend(chat::relay::spawn(
            state.db.clone(),
            state.config.database_url.clone(),
            state.webchat.clone(),
            shutdown.subscribe(),
        ));
    }
    background.push(surveys::spawn_sweeper(
        state.db.clone(),
        shutdown.subscribe(),
    ));
    // emergencies: fan-outs (and their recovery after a crash), web chat banners
    background.push(emergency::fanout::spawn(
        state.clone(),
        shutdown.subscribe(),
    ));
    // JMA's disaster XML feed (issue 26): on for `hub serve` unless HUB_JMA_ENABLED=false
    if state.config.jma.enabled {
        background.push(jma::poller::spawn(
            jma::api::watch_of(&state),
            shutdown.subscribe(),
        ));
    }
    // hardening: delivery addresses past the retention period are removed
    background.push(protection::spawn(
        state.db.clone(),
        state.config.delivery_retention_days,
        shutdown.subscribe(),
    ));
    // staff login: failed attempts summarised in the audit log per window, quiet counts forgotten
    background.push(auth::login_guard::spawn(
        state.db.clone(),
        shutdown.subscribe(),
    ));
    let router = api::router(state.clone());
    let task = tokio::spawn(async move {
        let serve = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        });
        if let Err(error) = serve.await {
            tracing::error!(%error, "HTTP server stopped with an error");
        }
    });
    tracing::info!(%addr, "hub listening");
    Ok(RunningHub {
        addr,
        state,
        shutdown,
        task,
        background,
    })
}

/// Prepares and starts a hub on the configured address (port 0 picks a free port).
pub async fn spawn(config: Config) -> Result<RunningHub, StartError> {
    let listen = config.listen;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| StartError::Listen {
            addr: listen,
            source,
        })?;
    let state = prepare(config).await?;
    start(state, listener).await
}
