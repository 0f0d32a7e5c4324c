//! The city's districts and topics as residents read them. The hub stores and matches the Japanese labels (a
//! segment rule says `district = "行橋"`, a notice's topic is 「防災」); pages in other languages show them in the
//! resident's language, with the Japanese in brackets where a resident will also meet it on signs and in notices.
//! Labels the city configured itself (`HUB_DISTRICTS`, `HUB_INTERESTS`) and this table does not know are shown as
//! they are.

use std::borrow::Cow;

use super::Language;

/// Default districts (elementary school districts): reading in hiragana, and in Latin letters.
const DISTRICTS: &[(&str, &str, &str)] = &[
    ("行橋", "ゆくはし", "Yukuhashi"),
    ("行事", "ぎょうじ", "Gyoji"),
    ("大橋", "おおはし", "Ohashi"),
    ("今元", "いまもと", "Imamoto"),
    ("仲津", "なかつ", "Nakatsu"),
    ("泉", "いずみ", "Izumi"),
    ("今川", "いまがわ", "Imagawa"),
    ("稗田", "ひえだ", "Hieda"),
    ("延永", "のぶなが", "Nobunaga"),
    ("椿市", "つばきいち", "Tsubakiichi"),
    ("蓑島", "みのしま", "Minoshima"),
];

/// Default topics: やさしい日本語, English, Chinese, Korean, Vietnamese.
const TOPICS: &[(&str, [&str; 5])] = &[
    (
        "子育て",
        ["こそだて", "Childcare", "育儿", "육아", "Nuôi dạy con"],
    ),
    (
        "介護",
        [
            "かいご（おとしより の おせわ）",
            "Nursing care",
            "护理",
            "돌봄·간병",
            "Chăm sóc người già",
        ],
    ),
    ("ごみ", ["ごみ", "Garbage", "垃圾", "쓰레기", "Rác"]),
    (
        "防災",
        [
            "ぼうさい（さいがい の そなえ）",
            "Disaster prevention",
            "防灾",
            "방재",
            "Phòng thiên tai",
        ],
    ),
    ("健康", ["けんこう", "Health", "健康", "건강", "Sức khỏe"]),
    ("福祉", ["ふくし", "Welfare", "福利", "복지", "Phúc lợi"]),
    (
        "教育",
        [
            "きょういく（がっこう）",
            "Education",
            "教育",
            "교육",
            "Giáo dục",
        ],
    ),
    ("観光", ["かんこう", "Tourism", "旅游", "관광", "Du lịch"]),
    ("文化", ["ぶんか", "Culture", "文化", "문화", "Văn hóa"]),
    (
        "スポーツ",
        ["スポーツ", "Sports", "体育", "스포츠", "Thể thao"],
    ),
    (
        "環境",
        ["かんきょう", "Environment", "环境", "환경", "Môi trường"],
    ),
    (
        "イベント",
        ["イベント", "Events", "活动", "행사", "Sự kiện"],
    ),
];

/// A district as a page in `language` shows it: 「行橋」, 「ゆくはし」, 「Yukuhashi (行橋)」.
pub fn district(language: Language, district: &str) -> Cow<'_, str> {
    let Some((_, reading, latin)) = DISTRICTS.iter().find(|(name, _, _)| *name == district) else {
        return Cow::Borrowed(district);
    };
    match language {
        Language::Ja => Cow::Borrowed(district),
        Language::JaEasy => Cow::Borrowed(reading),
        _ => Cow::Owned(format!("{latin} ({district})")),
    }
}

/// A topic (interest) as a page in `language` shows it: 「防災」, 「ぼうさい（さいがい の そなえ）」, 「Disaster
/// preparedness」.
pub fn topic(language: Language, topic: &str) -> Cow<'_, str> {
    let Some((_, names)) = TOPICS.iter().find(|(name, _)| *name == topic) else {
        return Cow::Borrowed(topic);
    };
    let at = match language {
        Language::Ja => return Cow::Borrowed(topic),
        Language::JaEasy => 0,
        Language::En => 1,
        Language::Zh => 2,
        Language::Ko => 3,
        Language::Vi => 4,
    };
    Cow::Borrowed(names[at])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_label_is_translated() {
        for name in crate::config::DEFAULT_DISTRICTS {
            assert!(DISTRICTS.iter().any(|(d, _, _)| *d == name), "{name}");
            assert_eq!(district(Language::Ja, name), name);
            assert!(!district(Language::En, name).is_ascii());
        }
        for name in crate::config::DEFAULT_INTERESTS {
            assert!(TOPICS.iter().any(|(t, _)| *t == name), "{name}");
        }
        assert_eq!(district(Language::En, "行橋"), "Yukuhashi (行橋)");
        assert_eq!(district(Language::JaEasy, "蓑島"), "みのしま");
        assert_eq!(topic(Language::Vi, "ごみ"), "Rác");
        assert_eq!(topic(Language::En, "独自の分野"), "独自の分野");
    }
}
