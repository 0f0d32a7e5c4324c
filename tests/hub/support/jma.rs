//! A JMA stand-in on loopback: the high-frequency Atom feed (`/developer/xml/feed/extra.xml`) with `ETag` and
//! `Last-Modified` (answering 304 to a matching `If-None-Match`), and the documents it links to
//! (`/developer/xml/data/NAME.xml`), written with the real structure of 防災情報XML: `Report`/`Control`/`Head`/
//! `Body` in the `jmx`, `jmx_ib` and `jmx_mete` namespaces, several municipalities in one document.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use channels::testing::server::Server;
use chrono::{DateTime, Utc};

#[derive(Default)]
struct Feed {
    /// (id, title, updated, document name), newest last.
    entries: Vec<(String, String, DateTime<Utc>, String)>,
    documents: HashMap<String, String>,
    version: u64,
    feed_requests: u64,
    not_modified: u64,
    conditional_requests: u64,
    document_requests: HashMap<String, u64>,
}

pub struct JmaStandIn {
    server: Server,
    feed: Arc<Mutex<Feed>>,
}

/// What a published document is in the feed: its entry id and when it appeared.
#[derive(Debug, Clone)]
pub struct Published {
    pub id: String,
    pub at: DateTime<Utc>,
}

impl JmaStandIn {
    pub async fn start() -> JmaStandIn {
        let feed = Arc::new(Mutex::new(Feed::default()));
        let router = Router::new()
            .route("/developer/xml/feed/extra.xml", get(serve_feed))
            .route("/developer/xml/data/{name}", get(serve_document))
            .with_state(feed.clone());
        JmaStandIn {
            server: Server::start(router).await.expect("JMA stand-in"),
            feed,
        }
    }

    pub fn feed_url(&self) -> String {
        format!("{}/developer/xml/feed/extra.xml", self.server.url())
    }

    /// The settings that point a hub at this stand-in, reading it every `poll_secs`.
    pub fn settings(&self, poll_secs: u32) -> Vec<(String, String)> {
        vec![
            ("HUB_JMA_ENABLED".to_owned(), "true".to_owned()),
            ("HUB_JMA_FEED_URL".to_owned(), self.feed_url()),
            ("HUB_JMA_POLL_SECS".to_owned(), poll_secs.to_string()),
        ]
    }

    /// Adds a document to the feed (feed title `title`); its entry.
    pub fn publish(&self, title: &str, xml: String) -> Published {
        let mut feed = self.feed.lock().unwrap();
        let id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
        let name = format!(
            "{}_0_{}.xml",
            Utc::now().format("%Y%m%d%H%M%S"),
            uuid::Uuid::new_v4().simple()
        );
        let at = Utc::now();
        feed.documents.insert(name.clone(), xml);
        feed.entries.push((id.clone(), title.to_owned(), at, name));
        feed.version += 1;
        Published { id, at }
    }

    /// How often the feed was asked for, answered 304, and asked for with `If-None-Match`.
    pub fn feed_counts(&self) -> (u64, u64, u64) {
        let feed = self.feed.lock().unwrap();
        (
            feed.feed_requests,
            feed.not_modified,
            feed.conditional_requests,
        )
    }

    /// How often each document was fetched (by name).
    pub fn document_requests(&self) -> u64 {
        self.feed.lock().unwrap().document_requests.values().sum()
    }
}

fn etag(version: u64) -> String {
    format!("\"jma-{version}\"")
}

async fn serve_feed(State(feed): State<Arc<Mutex<Feed>>>, headers: HeaderMap) -> Response {
    let mut feed = feed.lock().unwrap();
    feed.feed_requests += 1;
    let tag = etag(feed.version);
    if let Some(given) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        feed.conditional_requests += 1;
        if given == tag {
            feed.not_modified += 1;
            return (StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response();
        }
    }
    let updated = feed
        .entries
        .last()
        .map(|e| e.2)
        .unwrap_or_else(Utc::now)
        .to_rfc3339();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" lang=\"ja\">\
         <title>高頻度（随時）</title><subtitle>JMAXML publishing feed</subtitle><updated>{updated}</updated>\
         <id>urn:uuid:fc2e4d11-jma-standin</id><link href=\"http://127.0.0.1/developer/xml/feed/extra.xml\" rel=\"self\"/>\
         <rights type=\"html\">気象庁</rights>\n"
    );
    // Other documents JMA publishes in the same feed, which the hub does not read.
    xml.push_str(
        "<entry><title>府県天気予報（Ｒ１）</title><id>urn:uuid:00000000-0000-0000-0000-000000000001</id>\
         <updated>2026-12-05T20:00:00Z</updated><author><name>福岡管区気象台</name></author>\
         <link type=\"application/xml\" href=\"http://127.0.0.1:9/never-fetched.xml\"/>\
         <content type=\"text\">【福岡県府県天気予報】</content></entry>\n",
    );
    let base = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned();
    for (id, title, at, name) in feed.entries.iter().rev() {
        xml.push_str(&format!(
            "<entry><title>{title}</title><id>{id}</id><updated>{}</updated><author><name>福岡管区気象台</name></author>\
             <link type=\"application/xml\" href=\"http://{base}/developer/xml/data/{name}\"/>\
             <content type=\"text\">【{title}】</content></entry>\n",
            at.to_rfc3339()
        ));
    }
    xml.push_str("</feed>\n");
    (
        [
            (
                header::CONTENT_TYPE,
                "application/atom+xml; charset=utf-8".to_owned(),
            ),
            (header::ETAG, tag),
            (
                header::LAST_MODIFIED,
                Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
            ),
        ],
        xml,
    )
        .into_response()
}

async fn serve_document(
    State(feed): State<Arc<Mutex<Feed>>>,
    Path(name): Path<String>,
) -> Response {
    let mut feed = feed.lock().unwrap();
    *feed.document_requests.entry(name.clone()).or_default() += 1;
    match feed.documents.get(&name) {
        Some(xml) => (
            [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
            xml.clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

// ---------- documents ----------

pub const WARNINGS: &str = "気象警報・注意報（Ｈ２７）";

fn now_jst() -> String {
    Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).expect("JST"))
        .format("%Y-%m-%dT%H:%M:%S+09:00")
        .to_string()
}

/// A municipality in a document: name, code, and its kinds with their status.
pub type Municipality<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

/// A 気象警報・注意報（Ｈ２７） (VPWW54) for 福岡県: `municipalities` as (name, code, [(kind, status)]), with
/// `Control/Status` `status` (通常, 訓練) and `InfoType` `info_type` (発表, 訂正, 取消).
pub fn warnings(
    status: &str,
    info_type: &str,
    headline: &str,
    municipalities: &[Municipality],
) -> String {
    let now = now_jst();
    let mut items = String::new();
    for (name, code, kinds) in municipalities {
        items.push_str("<jmx_mete:Item>");
        for (kind, kind_status) in kinds.iter() {
            items.push_str(&format!(
                "<jmx_mete:Kind><jmx_mete:Name>{kind}</jmx_mete:Name><jmx_mete:Code>03</jmx_mete:Code>\
                 <jmx_mete:Status>{kind_status}</jmx_mete:Status></jmx_mete:Kind>"
            ));
        }
        items.push_str(&format!(
            "<jmx_mete:Area><jmx_mete:Name>{name}</jmx_mete:Name><jmx_mete:Code>{code}</jmx_mete:Code></jmx_mete:Area>\
             <jmx_mete:ChangeStatus>警報・注意報種別に変化有</jmx_mete:ChangeStatus><jmx_mete:FullStatus>一部</jmx_mete:FullStatus>\
             <jmx_mete:EditingMark>0</jmx_mete:EditingMark></jmx_mete:Item>\n"
        ));
    }
    let body = if info_type == "取消" {
        "<jmx_mete:Body/>".to_owned()
    } else {
        format!(
            "<jmx_mete:Body>\n<jmx_mete:Warning type=\"気象警報・注意報（府県予報区等）\"><jmx_mete:Item><jmx_mete:Kind>\
             <jmx_mete:Name>大雨警報</jmx_mete:Name><jmx_mete:Code>03</jmx_mete:Code></jmx_mete:Kind><jmx_mete:Area>\
             <jmx_mete:Name>福岡県</jmx_mete:Name><jmx_mete:Code>400000</jmx_mete:Code></jmx_mete:Area></jmx_mete:Item></jmx_mete:Warning>\n\
             <jmx_mete:Warning type=\"気象警報・注意報（市町村等）\">\n{items}</jmx_mete:Warning>\n</jmx_mete:Body>"
        )
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<jmx:Report xmlns:jmx="http://xml.kishou.go.jp/jmaxml1/" xmlns:jmx_ib="http://xml.kishou.go.jp/jmaxml1/informationBasis1/" xmlns:jmx_mete="http://xml.kishou.go.jp/jmaxml1/body/meteorology1/" xmlns:jmx_eb="http://xml.kishou.go.jp/jmaxml1/elementBasis1/" xmlns:jmx_add="http://xml.kishou.go.jp/jmaxml1/addition1/">
<jmx:Control>
<jmx:Title>気象警報・注意報（Ｈ２７）</jmx:Title>
<jmx:DateTime>{now}</jmx:DateTime>
<jmx:Status>{status}</jmx:Status>
<jmx:EditorialOffice>福岡管区気象台</jmx:EditorialOffice>
<jmx:PublishingOffice>福岡管区気象台</jmx:PublishingOffice>
</jmx:Control>
<jmx_ib:Head>
<jmx_ib:Title>福岡県気象警報・注意報</jmx_ib:Title>
<jmx_ib:ReportDateTime>{now}</jmx_ib:ReportDateTime>
<jmx_ib:TargetDateTime>{now}</jmx_ib:TargetDateTime>
<jmx_ib:EventID/>
<jmx_ib:InfoType>{info_type}</jmx_ib:InfoType>
<jmx_ib:Serial/>
<jmx_ib:InfoKind>気象警報・注意報</jmx_ib:InfoKind>
<jmx_ib:InfoKindVersion>1.1_1</jmx_ib:InfoKindVersion>
<jmx_ib:Headline><jmx_ib:Text>{headline}</jmx_ib:Text></jmx_ib:Headline>
</jmx_ib:Head>
{body}
</jmx:Report>
"#
    )
}

/// 行橋市 (4021300).
pub const YUKUHASHI: (&str, &str) = ("行橋市", "4021300");
/// 豊前市 (4021400), a neighbour.
pub const BUZEN: (&str, &str) = ("豊前市", "4021400");
/// 苅田町 (4062100), a neighbour.
pub const KANDA: (&str, &str) = ("苅田町", "4062100");

pub const LANDSLIDE: &str = "土砂災害警戒情報";

/// A 土砂災害警戒情報 (VXWW50) written as JMA writes it, with default namespaces switching on `Head` and `Body`:
/// `municipalities` as (name, code, kind name 警戒/なし, status 発表/継続/解除/なし).
pub fn landslide(municipalities: &[(&str, &str, &str, &str)]) -> String {
    let now = now_jst();
    let mut items = String::new();
    for (name, code, kind, status) in municipalities {
        items.push_str(&format!(
            "<Item><Kind><Name>{kind}</Name><Code>3</Code><Status>{status}</Status></Kind>\
             <Area><Name>{name}</Name><Code>{code}</Code></Area></Item>\n"
        ));
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Report xmlns="http://xml.kishou.go.jp/jmaxml1/" xmlns:jmx="http://xml.kishou.go.jp/jmaxml1/" xmlns:jmx_add="http://xml.kishou.go.jp/jmaxml1/addition1/">
<Control><Title>土砂災害警戒情報</Title><DateTime>{now}</DateTime><Status>通常</Status>
<EditorialOffice>福岡管区気象台</EditorialOffice><PublishingOffice>福岡県 福岡管区気象台</PublishingOffice></Control>
<Head xmlns="http://xml.kishou.go.jp/jmaxml1/informationBasis1/">
<Title>福岡県土砂災害警戒情報</Title><ReportDateTime>{now}</ReportDateTime><TargetDateTime>{now}</TargetDateTime>
<EventID/><InfoType>発表</InfoType><Serial>1</Serial><InfoKind>土砂災害警戒情報</InfoKind><InfoKindVersion>1.2_0</InfoKindVersion>
<Headline><Text>＜概況＞降り続く大雨のため、警戒対象地域では土砂災害の危険度が非常に高まっています。</Text></Headline>
</Head>
<Body xmlns="http://xml.kishou.go.jp/jmaxml1/body/meteorology1/">
<TargetArea><Name>福岡県</Name><Code>40</Code></TargetArea>
<Notice/>
<Warning type="土砂災害警戒情報">
{items}</Warning>
</Body>
</Report>
"#
    )
}
