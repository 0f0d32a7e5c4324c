//! Configuration: `hub.toml` (from `--config` or `HUB_CONFIG`) overlaid by `HUB_*` environment variables.
//!
//! Every key has one name in both places: `listen` in the file is `HUB_LISTEN` in the environment.
//! A bad value is an error that names the key and where it came from.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

mod jma;

pub use jma::*;

/// The elementary school districts of Yukuhashi, the default district list.
pub const DEFAULT_DISTRICTS: [&str; 11] = [
    "行橋", "行事", "大橋", "今元", "仲津", "泉", "今川", "稗田", "延永", "椿市", "蓑島",
];

/// Topics residents can follow; notices name one of them and residents may opt out of it.
pub const DEFAULT_INTERESTS: [&str; 12] = [
    "子育て",
    "介護",
    "ごみ",
    "防災",
    "健康",
    "福祉",
    "教育",
    "観光",
    "文化",
    "スポーツ",
    "環境",
    "イベント",
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("configuration file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{key} (from {origin}): {message}")]
    Value {
        key: &'static str,
        origin: String,
        message: String,
    },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    pub admin_token: Option<String>,
    pub line_channel_secret: Option<String>,
    pub line_channel_token: Option<String>,
    pub line_api_base: String,
    pub smtp_url: Option<String>,
    pub mail_from: Option<String>,
    pub vapid_private_key: Option<String>,
    pub vapid_subject: Option<String>,
    /// Where the FAQ is read from and the console writes its edits: `HUB_FAQ_DIR`, else `faq` in the data folder.
    pub faq_dir: PathBuf,
    /// The hub's own files besides the database (`HUB_DATA_DIR`; default `data` beside the SQLite file, or
    /// `./data` with PostgreSQL).
    pub data_dir: PathBuf,
    /// The bundled city FAQ copied into `faq_dir` when that folder does not exist yet; `None` when `HUB_FAQ_DIR`
    /// names the folder (the city's own, used as it is).
    pub faq_seed: Option<PathBuf>,
    /// The URL residents reach the hub at (links in emails, unsubscribe links).
    pub public_url: String,
    pub districts: Vec<String>,
    pub interests: Vec<String>,
    /// Most connections the database pool opens.
    pub database_max_connections: u32,
    /// Emails per second to the SMTP server (`HUB_MAIL_RATE`, default 50).
    pub mail_rate_per_sec: u32,
    /// How long a dispatcher claim holds notice and sign-up rows unless the working process renews it (it does
    /// about once a second) (`HUB_DISPATCH_LEASE_SECS`, default 20): at most the time a crashed process's rows
    /// wait. Emergency rows are held for 3 s.
    pub dispatch_lease_secs: u64,
    /// Residents (external ids) who get emergency dry runs (`"dry_run": true`, CAP Exercise/Test) instead of the
    /// area (`HUB_EMERGENCY_TEST_RECIPIENTS`, comma separated; default none).
    pub emergency_test_recipients: Vec<String>,
    // --- hardening (issue 9)
    /// Requests per minute one client may make to the resident pages (`/chat`, `/register`, …)
    /// (`HUB_RATE_LIMIT_PER_MINUTE`, default 600).
    pub rate_limit_per_minute: u32,
    /// Requests per minute one client may make to the LINE webhook (`HUB_WEBHOOK_RATE_LIMIT_PER_MINUTE`,
    /// default 6000: LINE delivers from few addresses).
    pub webhook_rate_limit_per_minute: u32,
    /// Console login attempts (`POST /admin/login`) one client may make per minute
    /// (`HUB_LOGIN_RATE_LIMIT_PER_MINUTE`, default 20).
    pub login_rate_limit_per_minute: u32,
    /// A header naming the client address, set by a reverse proxy in front of the hub (`HUB_CLIENT_IP_HEADER`,
    /// e.g. `x-forwarded-for`; its last entry is used). Without it, the peer address is the client.
    pub client_ip_header: Option<String>,
    /// Days after which delivery rows lose their recipient address (`HUB_DELIVERY_RETENTION_DAYS`, default 90).
    pub delivery_retention_days: u32,
    /// Seconds a provider (LINE, Web Push) request may take before it is cut off and retried
    /// (`HUB_PROVIDER_TIMEOUT_SECS`, default 10; an SMTP conversation gets three times as long).
    pub provider_timeout_secs: u32,
    /// Sites that may show the web chat page in a frame (`HUB_CHAT_FRAME_ANCESTORS`, space separated origins,
    /// e.g. `https://www.city.yukuhashi.fukuoka.jp`); no site may by default.
    pub chat_frame_ancestors: Option<String>,
    // --- push endpoints and web chat limits (issue 25)
    /// Hosts push subscriptions may point at (`HUB_PUSH_ALLOWED_HOSTS`, comma separated, `*.` for any name below;
    /// default the browsers' push services, see [`channels::push::endpoint::DEFAULT_ALLOWED_HOSTS`]).
    pub push_allowed_hosts: Vec<String>,
    /// Tests and benchmarks only: push subscriptions may also point at loopback (`HUB_PUSH_ALLOW_LOOPBACK_FOR_TESTS`,
    /// default false), where the push service stand-in runs.
    pub push_allow_loopback_for_tests: bool,
    /// Web chat sockets one client may have open at once (`HUB_WEBCHAT_SOCKETS_PER_CLIENT`, default 10).
    pub webchat_sockets_per_client: u32,
    /// Web chat messages one client may send per minute over all its sockets (`HUB_WEBCHAT_MESSAGES_PER_MINUTE`,
    /// default 60: several people may share one address).
    pub webchat_messages_per_minute: u32,
    /// Seconds a web chat socket may stay silent before it is closed (`HUB_WEBCHAT_IDLE_TIMEOUT_SECS`, default
    /// 600; the page's pings count).
    pub webchat_idle_timeout_secs: u32,
    /// Watching JMA's disaster XML feed (issue 26): see [`JmaSettings`].
    pub jma: JmaSettings,
}

impl Config {
    /// Which push endpoints may be stored and called.
    pub fn push_policy(&self) -> channels::push::endpoint::EndpointPolicy {
        channels::push::endpoint::EndpointPolicy::new(
            &self.push_allowed_hosts,
            self.push_allow_loopback_for_tests,
        )
        // Checked when the configuration was read.
        .unwrap_or_default()
    }
}

/// The file's shape: every key optional, unknown keys rejected so a typo is not silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    database_url: Option<String>,
    admin_token: Option<String>,
    line_channel_secret: Option<String>,
    line_channel_token: Option<String>,
    line_api_base: Option<String>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    vapid_private_key: Option<String>,
    vapid_subject: Option<String>,
    faq_dir: Option<String>,
    data_dir: Option<String>,
    public_url: Option<String>,
    districts: Option<Vec<String>>,
    interests: Option<Vec<String>>,
    database_max_connections: Option<u32>,
    mail_rate: Option<u32>,
    dispatch_lease_secs: Option<u64>,
    emergency_test_recipients: Option<Vec<String>>,
    rate_limit_per_minute: Option<u32>,
    webhook_rate_limit_per_minute: Option<u32>,
    login_rate_limit_per_minute: Option<u32>,
    client_ip_header: Option<String>,
    delivery_retention_days: Option<u32>,
    provider_timeout_secs: Option<u32>,
    chat_frame_ancestors: Option<String>,
    push_allowed_hosts: Option<Vec<String>>,
    push_allow_loopback_for_tests: Option<bool>,
    webchat_sockets_per_client: Option<u32>,
    webchat_messages_per_minute: Option<u32>,
    webchat_idle_timeout_secs: Option<u32>,
    jma_enabled: Option<bool>,
    jma_feed_url: Option<String>,
    jma_long_feed_url: Option<String>,
    jma_poll_secs: Option<u32>,
    jma_area_codes: Option<Vec<String>>,
    jma_rivers: Option<Vec<String>>,
    jma_policy: Option<String>,
    jma_max_age_minutes: Option<u32>,
}

/// A value with where it came from, so errors can say "HUB_LISTEN (from the environment)".
struct Source<'a> {
    file_path: Option<&'a Path>,
    env: &'a BTreeMap<String, String>,
}

impl Source<'_> {
    fn get(&self, key: &'static str, from_file: &Option<String>) -> Option<(String, String)> {
        let env_key = env_key(key);
        if let Some(value) = self.env.get(&env_key) {
            return Some((value.clone(), format!("environment variable {env_key}")));
        }
        from_file.as_ref().map(|value| {
            let origin = match self.file_path {
                Some(path) => format!("{} key `{key}`", path.display()),
                None => format!("key `{key}`"),
            };
            (value.clone(), origin)
        })
    }

    fn string(&self, key: &'static str, from_file: &Option<String>) -> Option<String> {
        self.get(key, from_file)
            .map(|(value, _)| value)
            .filter(|value| !value.trim().is_empty())
    }
}

fn env_key(key: &str) -> String {
    format!("HUB_{}", key.to_ascii_uppercase())
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split([',', '、'])
        .map(crate::text::normalize_label)
        .filter(|item| !item.is_empty())
        .collect()
}

impl Config {
    /// Loads the file (if any) and the process environment.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars()
            .filter(|(key, _)| key.starts_with("HUB_"))
            .collect();
        let path = path
            .map(Path::to_path_buf)
            .or_else(|| env.get("HUB_CONFIG").map(PathBuf::from));
        Self::read(path.as_deref(), &env, true)
    }

    /// Builds the configuration from an optional file and an explicit environment (tests use this).
    /// Keys are read in a fixed order, so the first bad one is the one reported. Unlike [`Config::load`] (the
    /// `hub` command), the JMA watch is off here unless `HUB_JMA_ENABLED` or `HUB_JMA_FEED_URL` turns it on:
    /// tests and benchmarks talk to loopback only.
    pub fn from_parts(
        path: Option<&Path>,
        env: &BTreeMap<String, String>,
    ) -> Result<Self, ConfigError> {
        Self::read(path, env, false)
    }

    fn read(
        path: Option<&Path>,
        env: &BTreeMap<String, String>,
        jma_on_by_default: bool,
    ) -> Result<Self, ConfigError> {
        let file = read_file(path)?;
        let source = Source {
            file_path: path,
            env,
        };
        let listen = listen(&source, &file)?;
        let database_url = database_url(&source, &file)?;
        let line_api_base = source
            .string("line_api_base", &file.line_api_base)
            .unwrap_or_else(|| "https://api.line.me".to_owned());
        check_url(
            &source,
            "line_api_base",
            &file.line_api_base,
            &line_api_base,
        )?;
        let (smtp_url, mail_from) = mail(&source, &file)?;
        let public_url = source
            .string("public_url", &file.public_url)
            .unwrap_or_else(|| format!("http://{listen}"));
        check_url(&source, "public_url", &file.public_url, &public_url)?;
        let districts = label_list(
            env.get("HUB_DISTRICTS"),
            file.districts.as_ref(),
            &DEFAULT_DISTRICTS,
        );
        if districts.is_empty() {
            return Err(ConfigError::Value {
                key: "HUB_DISTRICTS",
                origin: "configuration".into(),
                message: "the district list is empty".into(),
            });
        }
        let interests = label_list(
            env.get("HUB_INTERESTS"),
            file.interests.as_ref(),
            &DEFAULT_INTERESTS,
        );
        let database_max_connections = database_max_connections(env, &file)?;
        let mail_rate_per_sec = mail_rate(env, &file)?;
        let dispatch_lease_secs = dispatch_lease_secs(env, &file)?;
        let emergency_test_recipients = id_list(
            env.get("HUB_EMERGENCY_TEST_RECIPIENTS"),
            file.emergency_test_recipients.clone(),
        );
        let limits = Limits::read(env, &file)?;
        let chat_frame_ancestors = chat_frame_ancestors(&source, &file)?;
        let client_ip_header = client_ip_header(&source, &file)?;
        let push_allowed_hosts = push_allowed_hosts(env, &file)?;
        let push_allow_loopback_for_tests = push_allow_loopback_for_tests(env, &file)?;
        let webchat = WebchatLimits::read(env, &file)?;
        let jma = JmaSettings::read(&source, &file, jma_on_by_default)?;
        let data_dir = source
            .string("data_dir", &file.data_dir)
            .map(PathBuf::from)
            .unwrap_or_else(|| default_data_dir(&database_url));
        let (faq_dir, faq_seed) = match source.string("faq_dir", &file.faq_dir) {
            Some(dir) => (PathBuf::from(dir), None),
            None => (data_dir.join("faq"), Some(bundled_faq_dir())),
        };

        Ok(Config {
            listen,
            database_url,
            admin_token: source.string("admin_token", &file.admin_token),
            line_channel_secret: source.string("line_channel_secret", &file.line_channel_secret),
            line_channel_token: source.string("line_channel_token", &file.line_channel_token),
            line_api_base,
            smtp_url,
            mail_from,
            vapid_private_key: source.string("vapid_private_key", &file.vapid_private_key),
            vapid_subject: source.string("vapid_subject", &file.vapid_subject),
            faq_dir,
            data_dir,
            faq_seed,
            public_url: public_url.trim_end_matches('/').to_owned(),
            districts,
            interests,
            database_max_connections: database_max_connections.max(1),
            mail_rate_per_sec,
            dispatch_lease_secs,
            emergency_test_recipients,
            rate_limit_per_minute: limits.rate_limit_per_minute,
            webhook_rate_limit_per_minute: limits.webhook_rate_limit_per_minute,
            login_rate_limit_per_minute: limits.login_rate_limit_per_minute,
            client_ip_header,
            delivery_retention_days: limits.delivery_retention_days,
            provider_timeout_secs: limits.provider_timeout_secs,
            chat_frame_ancestors,
            push_allowed_hosts,
            push_allow_loopback_for_tests,
            webchat_sockets_per_client: webchat.sockets_per_client,
            webchat_messages_per_minute: webchat.messages_per_minute,
            webchat_idle_timeout_secs: webchat.idle_timeout_secs,
            jma,
        })
    }
}

/// The file's keys, or none without a file.
fn read_file(path: Option<&Path>) -> Result<FileConfig, ConfigError> {
    let Some(path) = path else {
        return Ok(FileConfig::default());
    };
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str::<FileConfig>(&text).map_err(|error| ConfigError::File {
        path: path.to_path_buf(),
        message: error.to_string(),
    })
}

fn listen(source: &Source, file: &FileConfig) -> Result<SocketAddr, ConfigError> {
    match source.get("listen", &file.listen) {
        Some((value, origin)) => value.parse().map_err(|_| ConfigError::Value {
            key: "HUB_LISTEN",
            origin,
            message: format!("`{value}` is not an address like 127.0.0.1:8080"),
        }),
        None => Ok(SocketAddr::from(([127, 0, 0, 1], 8080))),
    }
}

fn database_url(source: &Source, file: &FileConfig) -> Result<String, ConfigError> {
    let database_url = source
        .string("database_url", &file.database_url)
        .unwrap_or_else(|| "sqlite://hub.db".to_owned());
    if !(database_url.starts_with("sqlite:")
        || database_url.starts_with("postgres://")
        || database_url.starts_with("postgresql://"))
    {
        return Err(ConfigError::Value {
            key: "HUB_DATABASE_URL",
            origin: source
                .get("database_url", &file.database_url)
                .map(|(_, origin)| origin)
                .unwrap_or_default(),
            message: format!(
                "`{database_url}` is neither sqlite://PATH nor postgres://USER@HOST/DB"
            ),
        });
    }
    Ok(database_url)
}

/// The SMTP server's URL and the sender address.
fn mail(
    source: &Source,
    file: &FileConfig,
) -> Result<(Option<String>, Option<String>), ConfigError> {
    let smtp_url = source.string("smtp_url", &file.smtp_url);
    if let Some(url) = &smtp_url
        && !(url.starts_with("smtp://") || url.starts_with("smtps://"))
    {
        return Err(ConfigError::Value {
            key: "HUB_SMTP_URL",
            origin: origin_of(source, "smtp_url", &file.smtp_url),
            message: format!("`{url}` must start with smtp:// or smtps://"),
        });
    }
    let mail_from = source.string("mail_from", &file.mail_from);
    if let Some(from) = &mail_from
        && !from.contains('@')
    {
        return Err(ConfigError::Value {
            key: "HUB_MAIL_FROM",
            origin: origin_of(source, "mail_from", &file.mail_from),
            message: format!("`{from}` is not an email address"),
        });
    }
    Ok((smtp_url, mail_from))
}

/// Districts or interests: the environment's list (comma separated), else the file's, else the defaults; each
/// label normalised.
fn label_list(
    from_env: Option<&String>,
    from_file: Option<&Vec<String>>,
    defaults: &[&str],
) -> Vec<String> {
    match from_env {
        Some(value) => split_list(value),
        None => from_file
            .map(|list| {
                list.iter()
                    .map(|d| crate::text::normalize_label(d))
                    .collect()
            })
            .unwrap_or_else(|| defaults.iter().map(|d| d.to_string()).collect()),
    }
}

fn database_max_connections(
    env: &BTreeMap<String, String>,
    file: &FileConfig,
) -> Result<u32, ConfigError> {
    match env.get("HUB_DATABASE_MAX_CONNECTIONS") {
        Some(value) => value.parse().map_err(|_| ConfigError::Value {
            key: "HUB_DATABASE_MAX_CONNECTIONS",
            origin: "environment variable HUB_DATABASE_MAX_CONNECTIONS".into(),
            message: format!("`{value}` is not a positive number"),
        }),
        None => Ok(file.database_max_connections.unwrap_or(8)),
    }
}

fn mail_rate(env: &BTreeMap<String, String>, file: &FileConfig) -> Result<u32, ConfigError> {
    match env.get("HUB_MAIL_RATE") {
        Some(value) => value
            .parse::<u32>()
            .ok()
            .filter(|rate| *rate > 0)
            .ok_or_else(|| ConfigError::Value {
                key: "HUB_MAIL_RATE",
                origin: "environment variable HUB_MAIL_RATE".into(),
                message: format!("`{value}` is not a positive number of emails per second"),
            }),
        None => Ok(file.mail_rate.unwrap_or(DEFAULT_MAIL_RATE).max(1)),
    }
}

/// `HUB_MAIL_RATE` when unset: messages a second, a sensible cap for a real relay.
pub const DEFAULT_MAIL_RATE: u32 = 50;

/// `HUB_DISPATCH_LEASE_SECS` when unset.
pub const DEFAULT_DISPATCH_LEASE_SECS: u64 = 20;

fn dispatch_lease_secs(
    env: &BTreeMap<String, String>,
    file: &FileConfig,
) -> Result<u64, ConfigError> {
    match env.get("HUB_DISPATCH_LEASE_SECS") {
        Some(value) => value
            .parse::<u64>()
            .ok()
            .filter(|secs| *secs > 0)
            .ok_or_else(|| ConfigError::Value {
                key: "HUB_DISPATCH_LEASE_SECS",
                origin: "environment variable HUB_DISPATCH_LEASE_SECS".into(),
                message: format!("`{value}` is not a positive number of seconds"),
            }),
        None => Ok(file
            .dispatch_lease_secs
            .unwrap_or(DEFAULT_DISPATCH_LEASE_SECS)
            .max(1)),
    }
}

/// Resident IDs: the environment's (comma separated), else the file's; trimmed, empty ones dropped.
fn id_list(from_env: Option<&String>, from_file: Option<Vec<String>>) -> Vec<String> {
    let ids: Vec<String> = match from_env {
        Some(value) => value.split(',').map(str::to_owned).collect(),
        None => from_file.unwrap_or_default(),
    };
    ids.into_iter()
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
        .collect()
}

/// Request limits and retention (issue 9).
struct Limits {
    rate_limit_per_minute: u32,
    webhook_rate_limit_per_minute: u32,
    login_rate_limit_per_minute: u32,
    delivery_retention_days: u32,
    provider_timeout_secs: u32,
}

impl Limits {
    fn read(env: &BTreeMap<String, String>, file: &FileConfig) -> Result<Limits, ConfigError> {
        Ok(Limits {
            rate_limit_per_minute: positive(
                env,
                "HUB_RATE_LIMIT_PER_MINUTE",
                file.rate_limit_per_minute,
                600,
            )?,
            webhook_rate_limit_per_minute: positive(
                env,
                "HUB_WEBHOOK_RATE_LIMIT_PER_MINUTE",
                file.webhook_rate_limit_per_minute,
                6000,
            )?,
            login_rate_limit_per_minute: positive(
                env,
                "HUB_LOGIN_RATE_LIMIT_PER_MINUTE",
                file.login_rate_limit_per_minute,
                20,
            )?,
            delivery_retention_days: positive(
                env,
                "HUB_DELIVERY_RETENTION_DAYS",
                file.delivery_retention_days,
                90,
            )?,
            provider_timeout_secs: positive(
                env,
                "HUB_PROVIDER_TIMEOUT_SECS",
                file.provider_timeout_secs,
                10,
            )?,
        })
    }
}

/// The web chat's per-client limits (issue 25).
struct WebchatLimits {
    sockets_per_client: u32,
    messages_per_minute: u32,
    idle_timeout_secs: u32,
}

impl WebchatLimits {
    fn read(
        env: &BTreeMap<String, String>,
        file: &FileConfig,
    ) -> Result<WebchatLimits, ConfigError> {
        Ok(WebchatLimits {
            sockets_per_client: positive(
                env,
                "HUB_WEBCHAT_SOCKETS_PER_CLIENT",
                file.webchat_sockets_per_client,
                10,
            )?,
            messages_per_minute: positive(
                env,
                "HUB_WEBCHAT_MESSAGES_PER_MINUTE",
                file.webchat_messages_per_minute,
                60,
            )?,
            idle_timeout_secs: positive(
                env,
                "HUB_WEBCHAT_IDLE_TIMEOUT_SECS",
                file.webchat_idle_timeout_secs,
                600,
            )?,
        })
    }
}

/// Origins that may frame the web chat, space separated.
fn chat_frame_ancestors(source: &Source, file: &FileConfig) -> Result<Option<String>, ConfigError> {
    let chat_frame_ancestors = source
        .string("chat_frame_ancestors", &file.chat_frame_ancestors)
        .map(|list| list.split_whitespace().collect::<Vec<_>>().join(" "));
    if let Some(list) = &chat_frame_ancestors
        && let Some(bad) = list.split(' ').find(|origin| {
            !(origin.starts_with("https://") || origin.starts_with("http://"))
                || origin.contains([';', ',', '\''])
        })
    {
        return Err(ConfigError::Value {
            key: "HUB_CHAT_FRAME_ANCESTORS",
            origin: origin_of(source, "chat_frame_ancestors", &file.chat_frame_ancestors),
            message: format!("`{bad}` is not an origin like https://www.city.yukuhashi.fukuoka.jp"),
        });
    }
    Ok(chat_frame_ancestors)
}

fn client_ip_header(source: &Source, file: &FileConfig) -> Result<Option<String>, ConfigError> {
    let client_ip_header = source
        .string("client_ip_header", &file.client_ip_header)
        .map(|name| name.trim().to_ascii_lowercase());
    if let Some(name) = &client_ip_header
        && axum::http::HeaderName::from_bytes(name.as_bytes()).is_err()
    {
        return Err(ConfigError::Value {
            key: "HUB_CLIENT_IP_HEADER",
            origin: origin_of(source, "client_ip_header", &file.client_ip_header),
            message: format!("`{name}` is not a header name"),
        });
    }
    Ok(client_ip_header)
}

fn push_allowed_hosts(
    env: &BTreeMap<String, String>,
    file: &FileConfig,
) -> Result<Vec<String>, ConfigError> {
    let push_allowed_hosts: Vec<String> = match env.get("HUB_PUSH_ALLOWED_HOSTS") {
        Some(value) => value
            .split(',')
            .map(|host| host.trim().to_owned())
            .filter(|host| !host.is_empty())
            .collect(),
        None => file.push_allowed_hosts.clone().unwrap_or_else(|| {
            channels::push::endpoint::DEFAULT_ALLOWED_HOSTS
                .iter()
                .map(|host| (*host).to_owned())
                .collect()
        }),
    };
    if let Err(error) = channels::push::endpoint::EndpointPolicy::new(&push_allowed_hosts, false) {
        return Err(ConfigError::Value {
            key: "HUB_PUSH_ALLOWED_HOSTS",
            origin: if env.contains_key("HUB_PUSH_ALLOWED_HOSTS") {
                "environment variable HUB_PUSH_ALLOWED_HOSTS".into()
            } else {
                "configuration file".into()
            },
            message: error.to_string(),
        });
    }
    Ok(push_allowed_hosts)
}

fn push_allow_loopback_for_tests(
    env: &BTreeMap<String, String>,
    file: &FileConfig,
) -> Result<bool, ConfigError> {
    match env.get("HUB_PUSH_ALLOW_LOOPBACK_FOR_TESTS") {
        Some(value) => match value.trim() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" | "" => Ok(false),
            other => Err(ConfigError::Value {
                key: "HUB_PUSH_ALLOW_LOOPBACK_FOR_TESTS",
                origin: "environment variable HUB_PUSH_ALLOW_LOOPBACK_FOR_TESTS".into(),
                message: format!("`{other}` is not true or false"),
            }),
        },
        None => Ok(file.push_allow_loopback_for_tests.unwrap_or(false)),
    }
}

/// A positive number from the environment (winning) or the file, else `default`.
fn positive(
    env: &BTreeMap<String, String>,
    key: &'static str,
    from_file: Option<u32>,
    default: u32,
) -> Result<u32, ConfigError> {
    match env.get(key) {
        Some(value) => value
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ConfigError::Value {
                key,
                origin: format!("environment variable {key}"),
                message: format!("`{value}` is not a positive number"),
            }),
        None => match from_file {
            Some(0) => Err(ConfigError::Value {
                key,
                origin: "configuration file".into(),
                message: "must be a positive number".into(),
            }),
            Some(n) => Ok(n),
            None => Ok(default),
        },
    }
}

fn origin_of(source: &Source, key: &'static str, from_file: &Option<String>) -> String {
    source
        .get(key, from_file)
        .map(|(_, origin)| origin)
        .unwrap_or_default()
}

fn check_url(
    source: &Source,
    key: &'static str,
    from_file: &Option<String>,
    url: &str,
) -> Result<(), ConfigError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        return Ok(());
    }
    Err(ConfigError::Value {
        key: match key {
            "line_api_base" => "HUB_LINE_API_BASE",
            _ => "HUB_PUBLIC_URL",
        },
        origin: origin_of(source, key, from_file),
        message: format!("`{url}` is not an http:// or https:// URL"),
    })
}

/// `data` beside the SQLite database file (`sqlite:///var/lib/hub/hub.db` → `/var/lib/hub/data`); `./data` for
/// PostgreSQL or an in-memory database.
fn default_data_dir(database_url: &str) -> PathBuf {
    let Some(rest) = database_url.strip_prefix("sqlite:") else {
        return PathBuf::from("data");
    };
    let rest = rest.trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(":memory:") {
        return PathBuf::from("data");
    }
    match Path::new(path).parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.join("data"),
        _ => PathBuf::from("data"),
    }
}

/// The bundled city FAQ: next to the binary's source tree when run from the repository, else `./faq/data`.
pub fn bundled_faq_dir() -> PathBuf {
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("faq/data");
    if bundled.is_dir() {
        bundled
    } else {
        PathBuf::from("faq/data")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_folder_is_beside_the_sqlite_file_and_holds_the_faq_unless_hub_faq_dir_names_one() {
        assert_eq!(
            default_data_dir("sqlite:///var/lib/hub/hub.db?mode=rwc"),
            PathBuf::from("/var/lib/hub/data")
        );
        assert_eq!(default_data_dir("sqlite://hub.db"), PathBuf::from("data"));
        assert_eq!(default_data_dir("sqlite::memory:"), PathBuf::from("data"));
        assert_eq!(default_data_dir("postgres://u@h/db"), PathBuf::from("data"));
        let config = Config::from_parts(
            None,
            &env(&[("HUB_DATABASE_URL", "sqlite:///srv/hub/hub.db")]),
        )
        .expect("config");
        assert_eq!(config.faq_dir, PathBuf::from("/srv/hub/data/faq"));
        assert_eq!(config.faq_seed, Some(bundled_faq_dir()));
        let config = Config::from_parts(
            None,
            &env(&[("HUB_FAQ_DIR", "/srv/faq"), ("HUB_DATA_DIR", "/srv/d")]),
        )
        .expect("config");
        assert_eq!(
            (config.faq_dir, config.data_dir, config.faq_seed),
            (PathBuf::from("/srv/faq"), PathBuf::from("/srv/d"), None)
        );
    }

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_need_nothing() {
        let config = Config::from_parts(None, &env(&[])).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database_url, "sqlite://hub.db");
        assert_eq!(config.districts.len(), 11);
        assert!(config.line_channel_token.is_none());
    }

    #[test]
    fn environment_wins_over_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\ndatabase_url = \"sqlite://a.db\"\n",
        )
        .unwrap();
        let config =
            Config::from_parts(Some(&path), &env(&[("HUB_LISTEN", "127.0.0.1:9001")])).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:9001");
        assert_eq!(config.database_url, "sqlite://a.db");
    }

    #[test]
    fn bad_value_names_the_key() {
        let error = Config::from_parts(None, &env(&[("HUB_LISTEN", "nowhere")])).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("HUB_LISTEN"), "{message}");
        assert!(message.contains("nowhere"), "{message}");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.toml");
        std::fs::write(&path, "lisen = \"x\"\n").unwrap();
        let message = Config::from_parts(Some(&path), &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(message.contains("lisen"), "{message}");
    }

    #[test]
    fn push_hosts_and_web_chat_limits() {
        let config = Config::from_parts(None, &env(&[])).unwrap();
        assert!(
            config
                .push_allowed_hosts
                .iter()
                .any(|h| h == "fcm.googleapis.com")
        );
        assert!(!config.push_allow_loopback_for_tests);
        assert_eq!(config.webchat_sockets_per_client, 10);
        let config = Config::from_parts(
            None,
            &env(&[
                (
                    "HUB_PUSH_ALLOWED_HOSTS",
                    "push.city.example, *.push.apple.com",
                ),
                ("HUB_PUSH_ALLOW_LOOPBACK_FOR_TESTS", "true"),
                ("HUB_WEBCHAT_SOCKETS_PER_CLIENT", "3"),
            ]),
        )
        .unwrap();
        assert_eq!(
            config.push_allowed_hosts,
            ["push.city.example", "*.push.apple.com"]
        );
        assert!(
            config
                .push_policy()
                .check("https://push.city.example/x")
                .is_ok()
        );
        assert!(config.push_policy().check("http://127.0.0.1:9/x").is_ok());
        assert_eq!(config.webchat_sockets_per_client, 3);
        let message = Config::from_parts(None, &env(&[("HUB_PUSH_ALLOWED_HOSTS", "*.")]))
            .unwrap_err()
            .to_string();
        assert!(message.contains("HUB_PUSH_ALLOWED_HOSTS"), "{message}");
    }

    #[test]
    fn jma_watch_is_on_for_the_command_off_for_tests_and_its_policy_is_read() {
        let config = Config::from_parts(None, &env(&[])).unwrap();
        assert!(!config.jma.enabled);
        let config = Config::read(None, &env(&[]), true).unwrap();
        assert!(config.jma.enabled);
        assert_eq!(config.jma.feed_url, JMA_FEED_URL);
        assert_eq!(config.jma.area_codes, ["4021300"]);
        assert_eq!(
            config.jma.action(JmaCategory::SpecialWarning),
            JmaAction::Send
        );
        assert_eq!(config.jma.action(JmaCategory::Warning), JmaAction::Draft);
        assert_eq!(config.jma.action(JmaCategory::Advisory), JmaAction::Ignore);
        let config = Config::read(None, &env(&[("HUB_JMA_FEED_URL", "")]), true).unwrap();
        assert!(!config.jma.enabled);
        let config = Config::from_parts(
            None,
            &env(&[
                ("HUB_JMA_FEED_URL", "http://127.0.0.1:9/feed.xml"),
                ("HUB_JMA_POLICY", "警報=send, 注意報=draft"),
            ]),
        )
        .unwrap();
        assert!(config.jma.enabled);
        assert_eq!(config.jma.long_feed_url, None);
        assert_eq!(config.jma.action(JmaCategory::Warning), JmaAction::Send);
        assert_eq!(config.jma.action(JmaCategory::Advisory), JmaAction::Draft);
        let message = Config::from_parts(None, &env(&[("HUB_JMA_POLICY", "竜巻=send")]))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("HUB_JMA_POLICY") && message.contains("竜巻"),
            "{message}"
        );
        let message = Config::from_parts(None, &env(&[("HUB_JMA_AREA_CODES", "40213")]))
            .unwrap_err()
            .to_string();
        assert!(message.contains("HUB_JMA_AREA_CODES"), "{message}");
    }
}
