//! Residents for the tests, and an independent model of them: who they are, generated without the hub's code,
//! so that what the hub selects can be checked against what the model says.

use channels::testing::PushStandIn;
use chrono::{Datelike, NaiveDate, Utc};
use serde_json::{Value, json};

use super::{ADMIN_TOKEN, Api};

pub const DISTRICTS: [&str; 11] = [
    "行橋", "行事", "大橋", "今元", "仲津", "泉", "今川", "稗田", "延永", "椿市", "蓑島",
];
const LANGUAGES: [&str; 6] = ["ja", "ja", "ja", "en", "zh", "vi"];
const INTERESTS: [&str; 5] = ["防災", "介護", "子育て", "ごみ", "健康"];

#[derive(Debug, Clone)]
pub struct Person {
    pub external_id: String,
    pub birth: NaiveDate,
    pub district: &'static str,
    pub language: &'static str,
    pub interests: Vec<&'static str>,
    pub line: Option<String>,
    pub email: Option<String>,
    pub push: Option<Value>,
    pub preferred: Vec<&'static str>,
}

impl Person {
    pub fn age_on(&self, date: NaiveDate) -> i32 {
        let mut age = date.year() - self.birth.year();
        if (date.month(), date.day()) < (self.birth.month(), self.birth.day()) {
            age -= 1;
        }
        age
    }

    pub fn has(&self, channel: &str) -> bool {
        match channel {
            "line" => self.line.is_some(),
            "email" => self.email.is_some(),
            "push" => self.push.is_some(),
            _ => false,
        }
    }

    /// The contract: first preferred channel (then line, push, email) the notice uses and the resident has.
    pub fn channel_for(&self, notice_channels: &[&str]) -> Option<&'static str> {
        self.preferred
            .iter()
            .copied()
            .chain(["line", "push", "email"])
            .find(|c| notice_channels.contains(c) && self.has(c))
    }
}

/// A small deterministic generator (no dependency on the hub's own code).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `count` residents `R00000`…, the same for the same `seed`: about 60% on LINE, 50% with email.
pub fn people(count: usize, seed: u64) -> Vec<Person> {
    let mut rng = Lcg(seed);
    (0..count)
        .map(|i| {
            let year = 1925 + rng.below(95) as i32;
            let birth =
                NaiveDate::from_ymd_opt(year, 1 + rng.below(12) as u32, 1 + rng.below(28) as u32)
                    .expect("a date");
            let interests: Vec<&'static str> = INTERESTS
                .iter()
                .copied()
                .filter(|_| rng.below(3) == 0)
                .collect();
            let line = (rng.below(10) < 6).then(|| format!("U{:032x}", 0xabc0_0000_u64 + i as u64));
            let email = (rng.below(10) < 5).then(|| format!("r{i:05}@example.org"));
            let preferred = match rng.below(4) {
                0 => vec![],
                1 => vec!["email", "line"],
                2 => vec!["line"],
                _ => vec!["email"],
            };
            Person {
                external_id: format!("R{i:05}"),
                birth,
                district: DISTRICTS[rng.below(DISTRICTS.len() as u64) as usize],
                language: LANGUAGES[rng.below(LANGUAGES.len() as u64) as usize],
                interests,
                line,
                email,
                push: None,
                preferred,
            }
        })
        .collect()
}

/// The import CSV of `people`.
pub fn csv_of(people: &[Person]) -> String {
    let mut csv = String::from(
        "external_id,birth_date,district,language,interests,line_user_id,email,preferred\n",
    );
    for p in people {
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            p.external_id,
            p.birth,
            p.district,
            p.language,
            p.interests.join("|"),
            p.line.clone().unwrap_or_default(),
            p.email.clone().unwrap_or_default(),
            p.preferred.join("|"),
        ));
    }
    csv
}

/// `people` imported through the API.
pub async fn import(api: &Api, people: &[Person]) {
    api.import_csv(csv_of(people)).await;
}

/// `count` residents `P0000`… with a Web Push subscription at `standin` (a quarter also with email), added
/// through the JSON API (CSV has no push column) and appended to `people`.
pub async fn add_push_people(
    api: &Api,
    standin: &PushStandIn,
    people: &mut Vec<Person>,
    count: usize,
) {
    for i in 0..count {
        let subscription = serde_json::to_value(standin.new_subscription()).expect("json");
        let person = Person {
            external_id: format!("P{i:04}"),
            birth: NaiveDate::from_ymd_opt(1950 + (i as i32 % 60), 1 + (i as u32 % 12), 10)
                .expect("date"),
            district: DISTRICTS[i % DISTRICTS.len()],
            language: ["ja", "en", "vi"][i % 3],
            interests: if i % 2 == 0 {
                vec!["防災"]
            } else {
                vec!["ごみ"]
            },
            line: None,
            email: (i % 4 == 0).then(|| format!("p{i:04}@example.org")),
            push: Some(subscription.clone()),
            preferred: vec![],
        };
        let mut channels = json!({"push": subscription});
        if let Some(email) = &person.email {
            channels["email"] = json!(email);
        }
        let (status, body) = api
            .post_json(
                "/api/residents",
                Some(ADMIN_TOKEN),
                &json!({
                    "external_id": person.external_id,
                    "birth_date": person.birth.to_string(),
                    "district": person.district,
                    "language": person.language,
                    "interests": person.interests,
                    "channels": channels,
                }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        people.push(person);
    }
}

/// `count` residents `R-{prefix}-{n}` in 今元, born 1960, with a LINE id and/or an email address, as CSV.
pub fn simple_csv(prefix: &str, count: usize, line: bool, email: bool) -> String {
    let mut csv = String::from("external_id,birth_date,district,language,line_user_id,email\n");
    for n in 0..count {
        let line_id = if line {
            format!(
                "U{:032x}",
                0xfa17_0000_u64 + n as u64 + prefix.len() as u64 * 1_000_000
            )
        } else {
            String::new()
        };
        let address = if email {
            format!("{prefix}-{n}@example.jp").to_lowercase()
        } else {
            String::new()
        };
        csv.push_str(&format!(
            "R-{prefix}-{n},1960-01-01,今元,ja,{line_id},{address}\n"
        ));
    }
    csv
}

/// Today's date in Tokyo (the city's calendar, whatever the machine's zone).
pub fn today_in_tokyo() -> NaiveDate {
    (Utc::now() + chrono::Duration::hours(9)).date_naive()
}

/// Fails unless the residents that received something are exactly the `expected` ones, naming up to five of
/// those missing and of those outside `audience` ("the area", "the segment") that got it anyway.
pub fn assert_same_residents<A, B>(
    expected: &std::collections::BTreeMap<String, A>,
    got: &std::collections::BTreeMap<String, B>,
    what: &str,
    audience: &str,
) {
    let missing: Vec<&String> = expected.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<&String> = got.keys().filter(|k| !expected.contains_key(*k)).collect();
    assert!(
        missing.is_empty(),
        "{what}: {} residents got nothing, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(
        extra.is_empty(),
        "{what}: {} residents outside {audience} got it, e.g. {:?}",
        extra.len(),
        &extra[..extra.len().min(5)]
    );
}
