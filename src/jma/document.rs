//! JMA's Atom feeds and the 防災情報XML documents a city acts on, as typed values. Pure: no database, no HTTP.
//!
//! Documents (namespaces `jmx` for `Report`/`Control`, `jmx_ib` for `Head`, `jmx_mete` for `Body`):
//!
//! | feed title, `Control/Title` | code | read from |
//! |---|---|---|
//! | 気象警報・注意報（Ｈ２７） | VPWW54 | `Body/Warning[@type="気象警報・注意報（市町村等）"]/Item`: `Kind` (`Name`, `Status` 発表/継続/解除/…), `Area` |
//! | 土砂災害警戒情報 | VXWW50 | `Body/Warning[@type="土砂災害警戒情報"]/Item`: `Kind` (`Name` 警戒/なし, `Status`), `Area` |
//! | 記録的短時間大雨情報 | VPOA50 | `Head/Headline/Information[@type="記録的短時間大雨情報"]/Item/Areas/Area` |
//! | 指定河川洪水予報 | VXKO50–VXKO61 | `Head/Headline/Information[@type="指定河川洪水予報（河川）"]/Item`: `Kind/Name` (氾濫危険情報, …), `Areas/Area` (the river) |
//!
//! Every document's `Control/Status` (通常, 訓練, 試験) and `Head/InfoType` (発表, 訂正, 取消) are read; a
//! required element missing or a value outside JMA's lists is an [`XmlError`] naming the element and the line.

use chrono::{DateTime, FixedOffset};

use super::xml::{self, Element, XmlError};
use crate::config::JmaCategory;

pub const ATOM: &str = "http://www.w3.org/2005/Atom";
pub const JMX: &str = "http://xml.kishou.go.jp/jmaxml1/";
pub const JMX_IB: &str = "http://xml.kishou.go.jp/jmaxml1/informationBasis1/";
pub const JMX_METE: &str = "http://xml.kishou.go.jp/jmaxml1/body/meteorology1/";

/// One entry of an Atom feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    /// `<id>` (JMA: `urn:uuid:…`): the document's identity, the same in the high-frequency and the long feed.
    pub id: String,
    pub title: String,
    pub updated: DateTime<FixedOffset>,
    /// `<link href>`: where the document is.
    pub url: String,
    /// `<author><name>` (the office, e.g. 福岡管区気象台).
    pub author: String,
}

impl FeedEntry {
    /// The kind of document, when the city acts on it.
    pub fn document_type(&self) -> Option<DocumentType> {
        DocumentType::from_title(&self.title)
    }
}

/// Reads an Atom feed (JMA's `extra.xml`, `extra_l.xml`).
pub fn parse_feed(bytes: &[u8]) -> Result<Vec<FeedEntry>, XmlError> {
    let (root, source) = xml::parse(bytes)?;
    if !root.is(ATOM, "feed") {
        return Err(XmlError::at(
            &root,
            source,
            format!("the root is <{}>, not an Atom <feed> ({ATOM})", root.name),
        ));
    }
    let mut entries = Vec::new();
    for entry in root.children(ATOM, "entry") {
        let text = |name: &str| -> Result<String, XmlError> {
            let element = entry
                .child(ATOM, name)
                .ok_or_else(|| XmlError::at(entry, source, format!("<{name}> is missing")))?;
            let value = element.value();
            if value.is_empty() {
                return Err(XmlError::at(element, source, "is empty"));
            }
            Ok(value.to_owned())
        };
        let updated_text = text("updated")?;
        let updated = DateTime::parse_from_rfc3339(&updated_text).map_err(|_| {
            XmlError::at(
                entry.child(ATOM, "updated").unwrap_or(entry),
                source,
                format!("`{updated_text}` is not a date and time like 2026-12-06T03:10:00+09:00"),
            )
        })?;
        let url = entry
            .children(ATOM, "link")
            .find(|link| {
                link.attribute("rel")
                    .is_none_or(|rel| rel == "related" || rel == "alternate")
            })
            .or_else(|| entry.child(ATOM, "link"))
            .and_then(|link| link.attribute("href"))
            .map(str::trim)
            .filter(|href| !href.is_empty())
            .ok_or_else(|| XmlError::at(entry, source, "<link href> is missing"))?
            .to_owned();
        entries.push(FeedEntry {
            id: text("id")?,
            title: text("title")?,
            updated,
            url,
            author: entry
                .child(ATOM, "author")
                .and_then(|a| a.child(ATOM, "name"))
                .map(|n| n.value().to_owned())
                .unwrap_or_default(),
        });
    }
    Ok(entries)
}

/// The documents the hub reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocumentType {
    /// 気象警報・注意報（Ｈ２７）, VPWW54.
    Warnings,
    /// 土砂災害警戒情報, VXWW50.
    Landslide,
    /// 記録的短時間大雨情報, VPOA50.
    RecordRain,
    /// 指定河川洪水予報, VXKO50–61.
    Flood,
}

impl DocumentType {
    pub const ALL: [DocumentType; 4] = [
        DocumentType::Warnings,
        DocumentType::Landslide,
        DocumentType::RecordRain,
        DocumentType::Flood,
    ];

    /// From a feed entry's title or a document's `Control/Title`.
    pub fn from_title(title: &str) -> Option<DocumentType> {
        DocumentType::ALL
            .into_iter()
            .find(|t| t.title() == title.trim())
    }

    pub fn title(self) -> &'static str {
        match self {
            DocumentType::Warnings => "気象警報・注意報（Ｈ２７）",
            DocumentType::Landslide => "土砂災害警戒情報",
            DocumentType::RecordRain => "記録的短時間大雨情報",
            DocumentType::Flood => "指定河川洪水予報",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            DocumentType::Warnings => "VPWW54",
            DocumentType::Landslide => "VXWW50",
            DocumentType::RecordRain => "VPOA50",
            DocumentType::Flood => "VXKO5x",
        }
    }
}

/// `Control/Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlStatus {
    /// 通常: real.
    Normal,
    /// 訓練: a drill.
    Drill,
    /// 試験: a technical test.
    Test,
}

impl ControlStatus {
    pub fn is_real(self) -> bool {
        self == ControlStatus::Normal
    }
}

/// `Head/InfoType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfoType {
    /// 発表
    Issued,
    /// 訂正: replaces the earlier document's content.
    Corrected,
    /// 取消: withdraws the earlier document.
    Cancelled,
}

/// A warning kind's `Status` in a municipality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindStatus {
    /// 発表: newly issued.
    Issued,
    /// 継続: still in effect.
    Continued,
    /// 解除: lifted.
    Lifted,
    /// 特別警報から警報, 特別警報から注意報: the kind (a 警報 or 注意報) replaces the phenomenon's 特別警報.
    DowngradedFromSpecial,
    /// 警報から注意報: the kind (a 注意報) replaces the phenomenon's 警報.
    DowngradedFromWarning,
    /// 発表警報・注意報はなし, なし: nothing in effect in the area.
    NoneInEffect,
}

impl KindStatus {
    fn parse(text: &str) -> Option<KindStatus> {
        Some(match text {
            "発表" => KindStatus::Issued,
            "継続" => KindStatus::Continued,
            "解除" => KindStatus::Lifted,
            "特別警報から警報" | "特別警報から注意報" => {
                KindStatus::DowngradedFromSpecial
            }
            "警報から注意報" => KindStatus::DowngradedFromWarning,
            "発表警報・注意報はなし" | "なし" => KindStatus::NoneInEffect,
            _ => return None,
        })
    }

    /// In effect after this document (issued, continued, or in force after a downgrade).
    pub fn in_effect(self) -> bool {
        matches!(
            self,
            KindStatus::Issued
                | KindStatus::Continued
                | KindStatus::DowngradedFromSpecial
                | KindStatus::DowngradedFromWarning
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            KindStatus::Issued => "発表",
            KindStatus::Continued => "継続",
            KindStatus::Lifted => "解除",
            KindStatus::DowngradedFromSpecial => "特別警報から切替",
            KindStatus::DowngradedFromWarning => "警報から切替",
            KindStatus::NoneInEffect => "なし",
        }
    }
}

/// A municipality or a river.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub name: String,
    pub code: String,
    pub river: bool,
}

/// A warning kind and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kind {
    /// 大雨特別警報, 洪水警報, 土砂災害警戒情報, 記録的短時間大雨情報, 氾濫危険情報, …; empty with
    /// [`KindStatus::NoneInEffect`].
    pub name: String,
    pub status: KindStatus,
}

impl Kind {
    /// The policy's category of this kind.
    pub fn category(&self) -> Option<JmaCategory> {
        category_of(&self.name)
    }

    /// The 特別警報 or 警報 this kind replaces when downgraded (大雨警報 from 大雨特別警報).
    pub fn replaces(&self) -> Option<String> {
        let stem = self
            .name
            .strip_suffix("警報")
            .or_else(|| self.name.strip_suffix("注意報"))?;
        match self.status {
            KindStatus::DowngradedFromSpecial => Some(format!("{stem}特別警報")),
            KindStatus::DowngradedFromWarning => Some(format!("{stem}警報")),
            _ => None,
        }
    }
}

/// The policy category of a kind name.
pub fn category_of(name: &str) -> Option<JmaCategory> {
    Some(if name.ends_with("特別警報") {
        JmaCategory::SpecialWarning
    } else if name.ends_with("警報") {
        JmaCategory::Warning
    } else if name.ends_with("注意報") {
        JmaCategory::Advisory
    } else if name == "土砂災害警戒情報" {
        JmaCategory::Landslide
    } else if name == "記録的短時間大雨情報" {
        JmaCategory::RecordRain
    } else if name.contains("氾濫発生") {
        JmaCategory::FloodOccurred
    } else if name.contains("氾濫危険") {
        JmaCategory::FloodDanger
    } else if name.contains("氾濫警戒") {
        JmaCategory::FloodWarning
    } else if name.contains("氾濫注意") {
        JmaCategory::FloodAdvisory
    } else {
        return None;
    })
}

/// One area of the document and its kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaItem {
    pub place: Place,
    pub kinds: Vec<Kind>,
}

/// A document, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub doc_type: DocumentType,
    pub status: ControlStatus,
    /// `Control/PublishingOffice` (福岡管区気象台).
    pub office: String,
    /// `Head/Title` (福岡県気象警報・注意報).
    pub title: String,
    /// `Head/ReportDateTime`.
    pub report_time: DateTime<FixedOffset>,
    pub info_type: InfoType,
    pub event_id: String,
    /// `Head/Headline/Text` (may be empty).
    pub headline: String,
    pub items: Vec<AreaItem>,
}

impl Document {
    /// The items for the city: municipalities among `area_codes`, rivers among `rivers` (by name).
    pub fn for_city<'a>(&'a self, area_codes: &[String], rivers: &[String]) -> Vec<&'a AreaItem> {
        self.items
            .iter()
            .filter(|item| {
                if item.place.river {
                    rivers
                        .iter()
                        .any(|r| item.place.name.starts_with(r.as_str()))
                } else {
                    area_codes.contains(&item.place.code)
                }
            })
            .collect()
    }
}

struct Reader<'a> {
    source: &'a str,
}

impl Reader<'_> {
    fn required<'e>(
        &self,
        parent: &'e Element,
        ns: &str,
        name: &str,
    ) -> Result<&'e Element, XmlError> {
        parent
            .child(ns, name)
            .ok_or_else(|| XmlError::at(parent, self.source, format!("<{name}> is missing")))
    }

    fn text<'e>(&self, parent: &'e Element, ns: &str, name: &str) -> Result<&'e str, XmlError> {
        let element = self.required(parent, ns, name)?;
        let value = element.value();
        if value.is_empty() {
            return Err(XmlError::at(element, self.source, "is empty"));
        }
        Ok(value)
    }

    fn date_time(
        &self,
        parent: &Element,
        ns: &str,
        name: &str,
    ) -> Result<DateTime<FixedOffset>, XmlError> {
        let text = self.text(parent, ns, name)?;
        DateTime::parse_from_rfc3339(text).map_err(|_| {
            XmlError::at(
                self.required(parent, ns, name).unwrap_or(parent),
                self.source,
                format!("`{text}` is not a date and time like 2026-12-06T03:10:00+09:00"),
            )
        })
    }

    fn place(&self, area: &Element, ns: &str, river: bool) -> Result<Place, XmlError> {
        Ok(Place {
            name: self.text(area, ns, "Name")?.to_owned(),
            code: area
                .child(ns, "Code")
                .map(|c| c.value().to_owned())
                .unwrap_or_default(),
            river,
        })
    }
}

/// Reads a 防災情報XML document of one of the [`DocumentType`]s.
pub fn parse_document(bytes: &[u8]) -> Result<Document, XmlError> {
    let (root, source) = xml::parse(bytes)?;
    let r = Reader { source };
    if !root.is(JMX, "Report") {
        return Err(XmlError::at(
            &root,
            source,
            format!(
                "the root is <{}> in {}, not a JMA <Report> ({JMX})",
                root.name,
                root.namespace.as_deref().unwrap_or("no namespace")
            ),
        ));
    }
    let control = r.required(&root, JMX, "Control")?;
    let control_title = r.text(control, JMX, "Title")?;
    let doc_type = DocumentType::from_title(control_title).ok_or_else(|| {
        XmlError::at(
            r.required(control, JMX, "Title").unwrap_or(control),
            source,
            format!(
                "`{control_title}` is not a document the hub reads (VPWW54, VXWW50, VPOA50, VXKO5x)"
            ),
        )
    })?;
    let status_text = r.text(control, JMX, "Status")?;
    let status = match status_text {
        "通常" => ControlStatus::Normal,
        "訓練" => ControlStatus::Drill,
        "試験" => ControlStatus::Test,
        other => {
            return Err(XmlError::at(
                r.required(control, JMX, "Status")?,
                source,
                format!("`{other}` is not one of 通常, 訓練, 試験"),
            ));
        }
    };
    let office = r.text(control, JMX, "PublishingOffice")?.to_owned();

    let head = r.required(&root, JMX_IB, "Head")?;
    let info_type_text = r.text(head, JMX_IB, "InfoType")?;
    let info_type = match info_type_text {
        "発表" => InfoType::Issued,
        "訂正" => InfoType::Corrected,
        "取消" => InfoType::Cancelled,
        other => {
            return Err(XmlError::at(
                r.required(head, JMX_IB, "InfoType")?,
                source,
                format!("`{other}` is not one of 発表, 訂正, 取消"),
            ));
        }
    };
    let headline_element = head.child(JMX_IB, "Headline");
    let headline = headline_element
        .and_then(|h| h.child(JMX_IB, "Text"))
        .map(|t| t.value().to_owned())
        .unwrap_or_default();
    let mut document = Document {
        doc_type,
        status,
        office,
        title: r.text(head, JMX_IB, "Title")?.to_owned(),
        report_time: r.date_time(head, JMX_IB, "ReportDateTime")?,
        info_type,
        event_id: head
            .child(JMX_IB, "EventID")
            .map(|e| e.value().to_owned())
            .unwrap_or_default(),
        headline,
        items: Vec::new(),
    };
    if info_type == InfoType::Cancelled {
        // A withdrawal says only what it withdraws (the Head); its Body is empty.
        return Ok(document);
    }
    document.items = match doc_type {
        DocumentType::Warnings | DocumentType::Landslide => {
            let body = r.required(&root, JMX_METE, "Body")?;
            let wanted = match doc_type {
                DocumentType::Warnings => "気象警報・注意報（市町村等）",
                _ => "土砂災害警戒情報",
            };
            let warning = body
                .children(JMX_METE, "Warning")
                .find(|w| w.attribute("type") == Some(wanted))
                .ok_or_else(|| {
                    XmlError::at(
                        body,
                        source,
                        format!("<Warning type=\"{wanted}\"> is missing"),
                    )
                })?;
            let mut items = Vec::new();
            for item in warning.children(JMX_METE, "Item") {
                let place = r.place(r.required(item, JMX_METE, "Area")?, JMX_METE, false)?;
                let mut kinds = Vec::new();
                for kind in item.children(JMX_METE, "Kind") {
                    let status_element = r.required(kind, JMX_METE, "Status")?;
                    let status = KindStatus::parse(status_element.value()).ok_or_else(|| {
                        XmlError::at(
                            status_element,
                            source,
                            format!(
                                "`{}` is not one of 発表, 継続, 解除, 特別警報から警報, 特別警報から注意報, 警報から注意報, 発表警報・注意報はなし, なし",
                                status_element.value()
                            ),
                        )
                    })?;
                    let raw_name = kind
                        .child(JMX_METE, "Name")
                        .map(|n| n.value())
                        .unwrap_or("");
                    let name = match (doc_type, raw_name) {
                        (DocumentType::Landslide, _) if status != KindStatus::NoneInEffect => {
                            "土砂災害警戒情報".to_owned()
                        }
                        (DocumentType::Landslide, _) => String::new(),
                        (_, "") if status != KindStatus::NoneInEffect => {
                            return Err(XmlError::at(kind, source, "<Name> is missing"));
                        }
                        (_, name) => name.to_owned(),
                    };
                    if !name.is_empty() && category_of(&name).is_none() {
                        return Err(XmlError::at(
                            kind,
                            source,
                            format!("`{name}` is not a 特別警報, 警報 or 注意報"),
                        ));
                    }
                    kinds.push(Kind { name, status });
                }
                if kinds.is_empty() {
                    return Err(XmlError::at(item, source, "<Kind> is missing"));
                }
                items.push(AreaItem { place, kinds });
            }
            items
        }
        DocumentType::RecordRain | DocumentType::Flood => {
            let headline = headline_element
                .ok_or_else(|| XmlError::at(head, source, "<Headline> is missing"))?;
            let wanted = match doc_type {
                DocumentType::RecordRain => "記録的短時間大雨情報",
                _ => "指定河川洪水予報（河川）",
            };
            let information = headline
                .children(JMX_IB, "Information")
                .find(|i| i.attribute("type") == Some(wanted))
                .ok_or_else(|| {
                    XmlError::at(
                        headline,
                        source,
                        format!("<Information type=\"{wanted}\"> is missing"),
                    )
                })?;
            let mut items = Vec::new();
            for item in information.children(JMX_IB, "Item") {
                let kind_element = r.required(item, JMX_IB, "Kind")?;
                let raw = r.text(kind_element, JMX_IB, "Name")?;
                let kind = match doc_type {
                    DocumentType::RecordRain => Kind {
                        name: "記録的短時間大雨情報".to_owned(),
                        status: KindStatus::Issued,
                    },
                    _ => {
                        let (name, status) = match raw.strip_suffix("解除") {
                            Some(stem) => (stem.to_owned(), KindStatus::Lifted),
                            None => (raw.to_owned(), KindStatus::Issued),
                        };
                        if category_of(&name).is_none() {
                            return Err(XmlError::at(
                                kind_element,
                                source,
                                format!("`{raw}` is not a 氾濫発生・危険・警戒・注意情報"),
                            ));
                        }
                        Kind { name, status }
                    }
                };
                let areas = r.required(item, JMX_IB, "Areas")?;
                for area in areas.children(JMX_IB, "Area") {
                    items.push(AreaItem {
                        place: r.place(area, JMX_IB, doc_type == DocumentType::Flood)?,
                        kinds: vec![kind.clone()],
                    });
                }
            }
            items
        }
    };
    Ok(document)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn warnings(status: &str, info_type: &str, yukuhashi_kinds: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<jmx:Report xmlns:jmx="http://xml.kishou.go.jp/jmaxml1/" xmlns:jmx_ib="http://xml.kishou.go.jp/jmaxml1/informationBasis1/" xmlns:jmx_mete="http://xml.kishou.go.jp/jmaxml1/body/meteorology1/">
<jmx:Control><jmx:Title>気象警報・注意報（Ｈ２７）</jmx:Title><jmx:DateTime>2026-12-05T18:10:00Z</jmx:DateTime>
<jmx:Status>{status}</jmx:Status><jmx:EditorialOffice>福岡管区気象台</jmx:EditorialOffice><jmx:PublishingOffice>福岡管区気象台</jmx:PublishingOffice></jmx:Control>
<jmx_ib:Head><jmx_ib:Title>福岡県気象警報・注意報</jmx_ib:Title><jmx_ib:ReportDateTime>2026-12-06T03:10:00+09:00</jmx_ib:ReportDateTime>
<jmx_ib:TargetDateTime>2026-12-06T03:10:00+09:00</jmx_ib:TargetDateTime><jmx_ib:EventID/><jmx_ib:InfoType>{info_type}</jmx_ib:InfoType>
<jmx_ib:Serial/><jmx_ib:InfoKind>気象警報・注意報</jmx_ib:InfoKind><jmx_ib:InfoKindVersion>1.1_1</jmx_ib:InfoKindVersion>
<jmx_ib:Headline><jmx_ib:Text>京築では、土砂災害に厳重に警戒してください。</jmx_ib:Text></jmx_ib:Headline></jmx_ib:Head>
<jmx_mete:Body>
<jmx_mete:Warning type="気象警報・注意報（府県予報区等）"><jmx_mete:Item><jmx_mete:Kind><jmx_mete:Name>大雨特別警報</jmx_mete:Name></jmx_mete:Kind><jmx_mete:Area><jmx_mete:Name>福岡県</jmx_mete:Name><jmx_mete:Code>400000</jmx_mete:Code></jmx_mete:Area></jmx_mete:Item></jmx_mete:Warning>
<jmx_mete:Warning type="気象警報・注意報（市町村等）">
<jmx_mete:Item>{yukuhashi_kinds}<jmx_mete:Area><jmx_mete:Name>行橋市</jmx_mete:Name><jmx_mete:Code>4021300</jmx_mete:Code></jmx_mete:Area></jmx_mete:Item>
<jmx_mete:Item><jmx_mete:Kind><jmx_mete:Name>大雨警報</jmx_mete:Name><jmx_mete:Code>03</jmx_mete:Code><jmx_mete:Status>発表</jmx_mete:Status></jmx_mete:Kind><jmx_mete:Area><jmx_mete:Name>豊前市</jmx_mete:Name><jmx_mete:Code>4021400</jmx_mete:Code></jmx_mete:Area></jmx_mete:Item>
</jmx_mete:Warning></jmx_mete:Body></jmx:Report>"#
        )
    }

    fn kind(name: &str, status: &str) -> String {
        format!(
            "<jmx_mete:Kind><jmx_mete:Name>{name}</jmx_mete:Name><jmx_mete:Status>{status}</jmx_mete:Status></jmx_mete:Kind>"
        )
    }

    #[test]
    fn warnings_per_municipality_are_read() {
        let xml = warnings(
            "通常",
            "発表",
            &(kind("大雨特別警報", "発表") + &kind("洪水警報", "継続")),
        );
        let document = parse_document(xml.as_bytes()).unwrap();
        assert_eq!(document.doc_type, DocumentType::Warnings);
        assert_eq!(document.status, ControlStatus::Normal);
        assert_eq!(document.info_type, InfoType::Issued);
        assert_eq!(document.items.len(), 2);
        let mine = document.for_city(&["4021300".to_owned()], &[]);
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].place.name, "行橋市");
        assert_eq!(
            mine[0].kinds,
            vec![
                Kind {
                    name: "大雨特別警報".into(),
                    status: KindStatus::Issued
                },
                Kind {
                    name: "洪水警報".into(),
                    status: KindStatus::Continued
                },
            ]
        );
        assert_eq!(
            mine[0].kinds[0].category(),
            Some(JmaCategory::SpecialWarning)
        );
        assert!(document.for_city(&["4020100".to_owned()], &[]).is_empty());
    }

    #[test]
    fn drills_corrections_and_downgrades_are_told_apart() {
        let xml = warnings("訓練", "訂正", &kind("大雨警報", "特別警報から警報"));
        let document = parse_document(xml.as_bytes()).unwrap();
        assert_eq!(document.status, ControlStatus::Drill);
        assert_eq!(document.info_type, InfoType::Corrected);
        let kind = &document.items[0].kinds[0];
        assert_eq!(kind.replaces().as_deref(), Some("大雨特別警報"));
        assert!(kind.status.in_effect());
    }

    #[test]
    fn malformed_documents_name_the_element_and_line() {
        let xml = warnings("通常", "発表", &kind("大雨特別警報", "発令"));
        let error = parse_document(xml.as_bytes()).unwrap_err();
        assert!(error.where_.ends_with("/Kind[1]/Status[1]"), "{error}");
        assert!(error.to_string().contains("発令"), "{error}");
        assert!(error.position.is_some());

        let xml = warnings("本番", "発表", "");
        let error = parse_document(xml.as_bytes()).unwrap_err();
        assert_eq!(error.where_, "/Report/Control[1]/Status[1]", "{error}");

        let error = parse_document(
            b"<jmx:Report xmlns:jmx=\"http://xml.kishou.go.jp/jmaxml1/\"><jmx:Control>",
        )
        .unwrap_err();
        assert_eq!(error.where_, "document");
        let error =
            parse_document(b"<!DOCTYPE x [<!ENTITY a SYSTEM \"file:///etc/passwd\">]><x>&a;</x>")
                .unwrap_err();
        assert!(error.what.contains("DOCTYPE"), "{error}");
    }

    #[test]
    fn landslide_record_rain_and_flood_documents_are_read() {
        let landslide = r#"<Report xmlns="http://xml.kishou.go.jp/jmaxml1/"><Control><Title>土砂災害警戒情報</Title><Status>通常</Status><PublishingOffice>福岡県 福岡管区気象台</PublishingOffice></Control>
<Head xmlns="http://xml.kishou.go.jp/jmaxml1/informationBasis1/"><Title>福岡県土砂災害警戒情報</Title><ReportDateTime>2026-12-06T03:10:00+09:00</ReportDateTime><EventID>1</EventID><InfoType>発表</InfoType><Headline><Text>土砂災害の危険度が高まっています。</Text></Headline></Head>
<Body xmlns="http://xml.kishou.go.jp/jmaxml1/body/meteorology1/"><Warning type="土砂災害警戒情報"><Item><Kind><Name>警戒</Name><Code>3</Code><Status>発表</Status></Kind><Area><Name>行橋市</Name><Code>4021300</Code></Area></Item><Item><Kind><Name>なし</Name><Code>0</Code><Status>なし</Status></Kind><Area><Name>苅田町</Name><Code>4062100</Code></Area></Item></Warning></Body></Report>"#;
        let document = parse_document(landslide.as_bytes()).unwrap();
        assert_eq!(document.items[0].kinds[0].name, "土砂災害警戒情報");
        assert_eq!(document.items[1].kinds[0].status, KindStatus::NoneInEffect);

        let flood = r#"<Report xmlns="http://xml.kishou.go.jp/jmaxml1/"><Control><Title>指定河川洪水予報</Title><Status>通常</Status><PublishingOffice>福岡県 福岡管区気象台</PublishingOffice></Control>
<Head xmlns="http://xml.kishou.go.jp/jmaxml1/informationBasis1/"><Title>今川氾濫危険情報</Title><ReportDateTime>2026-12-06T03:10:00+09:00</ReportDateTime><EventID>1</EventID><InfoType>発表</InfoType><Headline><Text>今川では氾濫危険水位に到達</Text>
<Information type="指定河川洪水予報（河川）"><Item><Kind><Name>氾濫危険情報</Name></Kind><Areas codeType="水位観測所"><Area><Name>今川</Name><Code>85050001</Code></Area></Areas></Item></Information></Headline></Head>
<Body xmlns="http://xml.kishou.go.jp/jmaxml1/body/meteorology1/"/></Report>"#;
        let document = parse_document(flood.as_bytes()).unwrap();
        let mine = document.for_city(&[], &["今川".to_owned()]);
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].kinds[0].category(), Some(JmaCategory::FloodDanger));
        assert!(document.for_city(&[], &["祓川".to_owned()]).is_empty());
    }

    #[test]
    fn feeds_list_their_entries() {
        let feed = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" lang="ja"><title>高頻度（随時）</title><id>urn:x</id><updated>2026-12-06T03:10:05+09:00</updated>
<entry><title>気象警報・注意報（Ｈ２７）</title><id>urn:uuid:0f1d</id><updated>2026-12-05T18:10:00Z</updated><author><name>福岡管区気象台</name></author>
<link type="application/xml" href="http://127.0.0.1/data/a.xml"/><content type="text">【福岡県気象警報・注意報】</content></entry>
<entry><title>府県天気予報（Ｒ１）</title><id>urn:uuid:0f1e</id><updated>2026-12-05T18:00:00Z</updated><author><name>福岡管区気象台</name></author><link type="application/xml" href="http://127.0.0.1/data/b.xml"/></entry>
</feed>"#;
        let entries = parse_feed(feed.as_bytes()).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].document_type(), Some(DocumentType::Warnings));
        assert_eq!(entries[0].url, "http://127.0.0.1/data/a.xml");
        assert_eq!(entries[1].document_type(), None);
        assert!(parse_feed(b"<rss/>").is_err());
    }
}
