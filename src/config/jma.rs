//! Settings of the watch on JMA's disaster XML feed (issue 26): feeds, areas, rivers and the policy per kind.

use std::collections::BTreeMap;

use super::{ConfigError, FileConfig, Source, origin_of, positive};

/// JMA's high-frequency feed of 随時 (as-needed) documents: warnings, landslide and flood information.
pub const JMA_FEED_URL: &str = "https://www.data.jma.go.jp/developer/xml/feed/extra.xml";
/// The long feed of the same documents, read once at start to catch up after downtime.
pub const JMA_LONG_FEED_URL: &str = "https://www.data.jma.go.jp/developer/xml/feed/extra_l.xml";
/// 行橋市's code in JMA's area codes (市町村等, 7 digits).
pub const JMA_DEFAULT_AREA_CODES: [&str; 1] = ["4021300"];
/// The rivers of the city whose 指定河川洪水予報 the hub reads, by the name JMA gives them.
pub const JMA_DEFAULT_RIVERS: [&str; 2] = ["今川", "祓川"];

/// What the hub does with one kind of JMA information, for the policy's categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JmaCategory {
    /// 大雨特別警報 and every other 特別警報.
    SpecialWarning,
    /// 大雨警報, 洪水警報, 暴風警報, …
    Warning,
    /// 大雨注意報, 雷注意報, …
    Advisory,
    /// 土砂災害警戒情報.
    Landslide,
    /// 記録的短時間大雨情報.
    RecordRain,
    /// 氾濫発生情報 (指定河川洪水予報, level 5).
    FloodOccurred,
    /// 氾濫危険情報 (level 4).
    FloodDanger,
    /// 氾濫警戒情報 (level 3).
    FloodWarning,
    /// 氾濫注意情報 (level 2).
    FloodAdvisory,
}

impl JmaCategory {
    pub const ALL: [JmaCategory; 9] = [
        JmaCategory::SpecialWarning,
        JmaCategory::Warning,
        JmaCategory::Advisory,
        JmaCategory::Landslide,
        JmaCategory::RecordRain,
        JmaCategory::FloodOccurred,
        JmaCategory::FloodDanger,
        JmaCategory::FloodWarning,
        JmaCategory::FloodAdvisory,
    ];

    /// The name the policy uses (`HUB_JMA_POLICY`).
    pub fn key(self) -> &'static str {
        match self {
            JmaCategory::SpecialWarning => "特別警報",
            JmaCategory::Warning => "警報",
            JmaCategory::Advisory => "注意報",
            JmaCategory::Landslide => "土砂災害警戒情報",
            JmaCategory::RecordRain => "記録的短時間大雨情報",
            JmaCategory::FloodOccurred => "氾濫発生情報",
            JmaCategory::FloodDanger => "氾濫危険情報",
            JmaCategory::FloodWarning => "氾濫警戒情報",
            JmaCategory::FloodAdvisory => "氾濫注意情報",
        }
    }

    /// What a city would choose: the most dangerous go out at once, warnings wait for a person, advisories
    /// are only recorded.
    pub fn default_action(self) -> JmaAction {
        match self {
            JmaCategory::SpecialWarning
            | JmaCategory::Landslide
            | JmaCategory::RecordRain
            | JmaCategory::FloodOccurred
            | JmaCategory::FloodDanger => JmaAction::Send,
            JmaCategory::Warning | JmaCategory::FloodWarning => JmaAction::Draft,
            JmaCategory::Advisory | JmaCategory::FloodAdvisory => JmaAction::Ignore,
        }
    }
}

/// `send`: an emergency at once; `draft`: an emergency prepared for one click in the console; `ignore`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum JmaAction {
    Send,
    Draft,
    Ignore,
}

impl JmaAction {
    pub fn as_str(self) -> &'static str {
        match self {
            JmaAction::Send => "send",
            JmaAction::Draft => "draft",
            JmaAction::Ignore => "ignore",
        }
    }
}

/// The JMA watch: where the feeds are, how often they are read, which areas and rivers are the city's, and
/// what to do with each kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JmaSettings {
    /// The poller runs (`HUB_JMA_ENABLED`; on for `hub serve`, and off when `HUB_JMA_FEED_URL` is empty).
    pub enabled: bool,
    /// `HUB_JMA_FEED_URL`, default [`JMA_FEED_URL`].
    pub feed_url: String,
    /// `HUB_JMA_LONG_FEED_URL`, default [`JMA_LONG_FEED_URL`]; empty: no catch-up read.
    pub long_feed_url: Option<String>,
    /// `HUB_JMA_POLL_SECS`, default 60 (JMA updates the feed every minute).
    pub poll_secs: u32,
    /// `HUB_JMA_AREA_CODES`, default 4021300 (行橋市).
    pub area_codes: Vec<String>,
    /// `HUB_JMA_RIVERS`, default 今川, 祓川.
    pub rivers: Vec<String>,
    /// `HUB_JMA_POLICY` (`特別警報=send,警報=draft,…`) over the defaults of [`JmaCategory::default_action`].
    pub policy: BTreeMap<JmaCategory, JmaAction>,
    /// Documents reported longer ago than this are recorded, not acted on (`HUB_JMA_MAX_AGE_MINUTES`,
    /// default 360): a hub started after days off does not broadcast a lifted storm.
    pub max_age_minutes: u32,
}

impl JmaSettings {
    pub fn action(&self, category: JmaCategory) -> JmaAction {
        self.policy
            .get(&category)
            .copied()
            .unwrap_or_else(|| category.default_action())
    }

    pub(super) fn read(
        source: &Source,
        file: &FileConfig,
        on_by_default: bool,
    ) -> Result<Self, ConfigError> {
        let env = source.env;
        let given_url = source.get("jma_feed_url", &file.jma_feed_url);
        let feed_url = given_url
            .as_ref()
            .map(|(value, _)| value.trim().to_owned())
            .unwrap_or_else(|| JMA_FEED_URL.to_owned());
        if !(feed_url.is_empty()
            || feed_url.starts_with("http://")
            || feed_url.starts_with("https://"))
        {
            return Err(ConfigError::Value {
                key: "HUB_JMA_FEED_URL",
                origin: origin_of(source, "jma_feed_url", &file.jma_feed_url),
                message: format!("`{feed_url}` is not an http:// or https:// URL"),
            });
        }
        let long_feed_url = match source.get("jma_long_feed_url", &file.jma_long_feed_url) {
            Some((value, _)) if value.trim().is_empty() => None,
            Some((value, origin)) => {
                let value = value.trim().to_owned();
                if !(value.starts_with("http://") || value.starts_with("https://")) {
                    return Err(ConfigError::Value {
                        key: "HUB_JMA_LONG_FEED_URL",
                        origin,
                        message: format!("`{value}` is not an http:// or https:// URL"),
                    });
                }
                Some(value)
            }
            // A stand-in feed given without a long feed: no catch-up read from JMA's.
            None if given_url.is_some() => None,
            None => Some(JMA_LONG_FEED_URL.to_owned()),
        };
        let enabled = match env.get("HUB_JMA_ENABLED") {
            Some(value) => match value.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" | "" => false,
                _ => {
                    return Err(ConfigError::Value {
                        key: "HUB_JMA_ENABLED",
                        origin: "environment variable HUB_JMA_ENABLED".into(),
                        message: format!("`{value}` is neither true nor false"),
                    });
                }
            },
            None => file
                .jma_enabled
                .unwrap_or(on_by_default || given_url.is_some()),
        } && !feed_url.is_empty();
        let poll_secs = positive(env, "HUB_JMA_POLL_SECS", file.jma_poll_secs, 60)?;
        let max_age_minutes = positive(
            env,
            "HUB_JMA_MAX_AGE_MINUTES",
            file.jma_max_age_minutes,
            360,
        )?;
        let list =
            |from_env: Option<&String>, from_file: &Option<Vec<String>>, defaults: &[&str]| {
                let items: Vec<String> = match from_env {
                    Some(value) => value.split([',', '、']).map(str::to_owned).collect(),
                    None => from_file
                        .clone()
                        .unwrap_or_else(|| defaults.iter().map(|d| (*d).to_owned()).collect()),
                };
                items
                    .into_iter()
                    .map(|item| crate::text::normalize_label(&item))
                    .filter(|item| !item.is_empty())
                    .collect::<Vec<String>>()
            };
        let area_codes = list(
            env.get("HUB_JMA_AREA_CODES"),
            &file.jma_area_codes,
            &JMA_DEFAULT_AREA_CODES,
        );
        if let Some(bad) = area_codes
            .iter()
            .find(|code| code.len() != 7 || !code.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(ConfigError::Value {
                key: "HUB_JMA_AREA_CODES",
                origin: "configuration".into(),
                message: format!(
                    "`{bad}` is not a JMA municipality code of 7 digits (行橋市 is 4021300)"
                ),
            });
        }
        let rivers = list(
            env.get("HUB_JMA_RIVERS"),
            &file.jma_rivers,
            &JMA_DEFAULT_RIVERS,
        );
        let mut policy = BTreeMap::new();
        if let Some((text, origin)) = source.get("jma_policy", &file.jma_policy) {
            for pair in text
                .split([',', '、'])
                .map(str::trim)
                .filter(|p| !p.is_empty())
            {
                let Some((key, action)) = pair.split_once('=') else {
                    return Err(ConfigError::Value {
                        key: "HUB_JMA_POLICY",
                        origin,
                        message: format!("`{pair}` is not KIND=send|draft|ignore"),
                    });
                };
                let key = crate::text::normalize_label(key);
                let Some(category) = JmaCategory::ALL.into_iter().find(|c| c.key() == key) else {
                    return Err(ConfigError::Value {
                        key: "HUB_JMA_POLICY",
                        origin,
                        message: format!(
                            "`{key}` is not one of {}",
                            JmaCategory::ALL.map(JmaCategory::key).join(", ")
                        ),
                    });
                };
                let action = match action.trim().to_ascii_lowercase().as_str() {
                    "send" => JmaAction::Send,
                    "draft" => JmaAction::Draft,
                    "ignore" => JmaAction::Ignore,
                    other => {
                        return Err(ConfigError::Value {
                            key: "HUB_JMA_POLICY",
                            origin,
                            message: format!("`{other}` for {key} is not send, draft or ignore"),
                        });
                    }
                };
                policy.insert(category, action);
            }
        }
        for category in JmaCategory::ALL {
            policy
                .entry(category)
                .or_insert_with(|| category.default_action());
        }
        Ok(JmaSettings {
            enabled,
            feed_url,
            long_feed_url,
            poll_secs,
            area_codes,
            rivers,
            policy,
            max_age_minutes,
        })
    }
}
