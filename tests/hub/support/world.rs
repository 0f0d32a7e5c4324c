//! A hub with its providers on loopback: the spec-validating LINE stand-in, a real SMTP server, optionally the
//! Web Push stand-in, and residents imported from [`people`](super::people).

use channels::testing::{LineMock, PushStandIn};
use hub::RunningHub;

use super::line;
use super::people::{Person, add_push_people, import, people};
use super::smtp::SmtpServer;
use super::{Backend, TestApp, spawn_app_with, spawn_hub};

/// The sender test hubs write mail as.
pub const MAIL_FROM: &str = "行橋市 <info@city.yukuhashi.example>";

pub struct World {
    pub app: TestApp,
    pub line: LineMock,
    pub smtp: SmtpServer,
    push: Option<PushStandIn>,
    /// The residents imported, in the model the tests check against.
    pub people: Vec<Person>,
    settings: Vec<(String, String)>,
}

pub struct WorldBuilder {
    backend: Backend,
    settings: Vec<(String, String)>,
    residents: Option<(usize, u64)>,
    push_residents: Option<usize>,
}

impl World {
    /// A world on `backend`: LINE and SMTP, no residents, until the builder says otherwise.
    pub fn builder(backend: Backend) -> WorldBuilder {
        WorldBuilder {
            backend,
            settings: Vec::new(),
            residents: None,
            push_residents: None,
        }
    }

    /// The Web Push stand-in (a world built with [`WorldBuilder::push_residents`]).
    pub fn push(&self) -> &PushStandIn {
        self.push
            .as_ref()
            .expect("this world has no push stand-in: build it with .push_residents(n)")
    }

    /// Another hub in this process on the same database and providers, as a city runs two `hub serve`.
    pub async fn another_hub(&self) -> RunningHub {
        let settings: Vec<(&str, &str)> = self
            .settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        spawn_hub(&self.app.database_url, &settings).await
    }
}

impl WorldBuilder {
    /// A HUB_* setting on top of the world's.
    pub fn setting(mut self, key: &str, value: &str) -> Self {
        self.settings.push((key.to_owned(), value.to_owned()));
        self
    }

    /// `count` residents from [`people`]`(count, seed)`, imported.
    pub fn residents(mut self, count: usize, seed: u64) -> Self {
        self.residents = Some((count, seed));
        self
    }

    /// The Web Push stand-in, and `count` residents subscribed to it.
    pub fn push_residents(mut self, count: usize) -> Self {
        self.push_residents = Some(count);
        self
    }

    pub async fn start(self) -> World {
        let line = LineMock::start().await.expect("LINE stand-in");
        let smtp = SmtpServer::start();
        let mut settings: Vec<(String, String)> = line::settings(&line)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        settings.extend([
            ("HUB_SMTP_URL".to_owned(), smtp.url()),
            ("HUB_MAIL_FROM".to_owned(), MAIL_FROM.to_owned()),
            ("HUB_MAIL_RATE".to_owned(), "2000".to_owned()),
        ]);
        if self.push_residents.is_some() {
            // The push service stand-in runs on loopback: allowed explicitly.
            settings.push((
                "HUB_PUSH_ALLOW_LOOPBACK_FOR_TESTS".to_owned(),
                "true".to_owned(),
            ));
        }
        settings.extend(self.settings);
        let refs: Vec<(&str, &str)> = settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let app = spawn_app_with(self.backend, &refs).await;
        let mut residents = match self.residents {
            Some((count, seed)) => people(count, seed),
            None => Vec::new(),
        };
        if !residents.is_empty() {
            import(&app, &residents).await;
        }
        let push = match self.push_residents {
            Some(count) => {
                let (status, key) = app.get("/push/vapid-public-key", None).await;
                assert_eq!(status, 200, "{key}");
                let public_key = key["public_key"].as_str().expect("a key").to_owned();
                let push = PushStandIn::start(Some(public_key))
                    .await
                    .expect("push stand-in");
                add_push_people(&app, &push, &mut residents, count).await;
                Some(push)
            }
            None => None,
        };
        World {
            app,
            line,
            smtp,
            push,
            people: residents,
            settings,
        }
    }
}
