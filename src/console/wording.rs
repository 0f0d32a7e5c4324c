//! What the console shows staff instead of machine syntax: a segment rule and a cron schedule in Japanese words
//! (「今元地区・70歳以上」, 「毎週月曜 9:00」). The rule and the cron string stay in the data; staff read these.

use segments::{Comparison, Condition, NumberTest, Rule, TextTest};

use crate::messages::staff::language_name;

fn comparison(op: Comparison, n: u32, unit: &str) -> String {
    match op {
        Comparison::Equal => format!("{n}{unit}"),
        Comparison::NotEqual => format!("{n}{unit}以外"),
        Comparison::Less => format!("{n}{unit}未満"),
        Comparison::LessOrEqual => format!("{n}{unit}以下"),
        Comparison::Greater => format!("{n}{unit}より上"),
        Comparison::GreaterOrEqual => format!("{n}{unit}以上"),
    }
}

fn number(test: &NumberTest, unit: &str) -> String {
    match test {
        NumberTest::Compare(op, n) => comparison(*op, *n, unit),
        NumberTest::In(list) => list
            .iter()
            .map(|n| format!("{n}{unit}"))
            .collect::<Vec<_>>()
            .join("・"),
    }
}

fn text(test: &TextTest, show: impl Fn(&str) -> String) -> String {
    match test {
        TextTest::Equals(value) => show(value),
        TextTest::NotEquals(value) => format!("{}以外", show(value)),
        TextTest::In(list) => list.iter().map(|v| show(v)).collect::<Vec<_>>().join("・"),
    }
}

fn channel_name(code: &str) -> String {
    match code {
        "line" => "LINE",
        "email" => "メール",
        "push" => "プッシュ通知",
        "webchat" => "Webチャット",
        _ => "その他",
    }
    .to_owned()
}

fn condition(condition: &Condition) -> String {
    match condition {
        Condition::Age(test) => format!("年齢{}", number(test, "歳")),
        Condition::BirthMonth(test) => format!("{}生まれ", number(test, "月")),
        Condition::District(test) => format!("{}地区", text(test, str::to_owned)),
        Condition::Language(test) => {
            format!(
                "言語が{}",
                text(test, |code| language_name(code).to_owned())
            )
        }
        Condition::InterestsHas(topic) => format!("関心「{topic}」"),
        Condition::ChannelsHas(code) => format!("{}の登録あり", channel_name(code)),
    }
}

/// A segment rule in Japanese: 「全員」, 「今元・仲津地区 かつ 年齢70歳以上」, 「関心「子育て」 または 関心「介護」」.
pub fn describe_rule(rule: &Rule) -> String {
    fn inner(rule: &Rule, nested: bool) -> String {
        let joined = |parts: &[Rule], word: &str| {
            let text = parts
                .iter()
                .map(|part| inner(part, true))
                .collect::<Vec<_>>()
                .join(word);
            if nested && parts.len() > 1 {
                format!("（{text}）")
            } else {
                text
            }
        };
        match rule {
            Rule::All => "全員".to_owned(),
            Rule::Not(rule) => format!("「{}」以外", inner(rule, false)),
            Rule::And(parts) if parts.is_empty() => "全員".to_owned(),
            Rule::Or(parts) if parts.is_empty() => "だれも含まない".to_owned(),
            Rule::And(parts) => joined(parts, " かつ "),
            Rule::Or(parts) => joined(parts, " または "),
            Rule::Condition(c) => condition(c),
        }
    }
    inner(rule, false)
}

/// A stored rule's text in Japanese; a rule that no longer parses is said to be so.
pub fn describe_rule_text(rule: &str) -> String {
    match Rule::parse(rule) {
        Ok(rule) => describe_rule(&rule),
        Err(_) => "（条件式を読み取れません）".to_owned(),
    }
}

const WEEKDAYS: [(&str, &str); 7] = [
    ("MON", "月"),
    ("TUE", "火"),
    ("WED", "水"),
    ("THU", "木"),
    ("FRI", "金"),
    ("SAT", "土"),
    ("SUN", "日"),
];

fn weekday(field: &str) -> Option<String> {
    let names: Option<Vec<&str>> = field
        .split(',')
        .map(|part| {
            let part = part.trim().to_ascii_uppercase();
            let by_number = match part.as_str() {
                "1" => Some("日"),
                "2" => Some("月"),
                "3" => Some("火"),
                "4" => Some("水"),
                "5" => Some("木"),
                "6" => Some("金"),
                "7" => Some("土"),
                _ => None,
            };
            by_number.or_else(|| {
                WEEKDAYS
                    .iter()
                    .find(|(en, _)| part.starts_with(en))
                    .map(|(_, ja)| *ja)
            })
        })
        .collect();
    names.map(|names| format!("毎週{}曜", names.join("・")))
}

/// A cron schedule (sec min hour day month weekday [year]) in Japanese for the usual shapes: 「毎日 9:00」,
/// 「毎週月曜 9:00」, 「毎月1日 9:00」, 「毎年4月1日 9:00」; anything else 「独自の繰り返し設定」.
pub fn describe_cron(cron: &str) -> String {
    let fields: Vec<&str> = cron.split_whitespace().collect();
    let unusual = "独自の繰り返し設定".to_owned();
    if !(6..=7).contains(&fields.len()) || fields.get(6).is_some_and(|year| *year != "*") {
        return unusual;
    }
    let (sec, min, hour, day, month, dow) = (
        fields[0], fields[1], fields[2], fields[3], fields[4], fields[5],
    );
    let (Ok(min), Ok(hour)) = (min.parse::<u32>(), hour.parse::<u32>()) else {
        return unusual;
    };
    if sec != "0" || min > 59 || hour > 23 {
        return unusual;
    }
    let time = format!("{hour}:{min:02}");
    let any = |f: &str| f == "*" || f == "?";
    let when = match (any(day), any(month), any(dow)) {
        (true, true, true) => "毎日".to_owned(),
        (true, true, false) => match weekday(dow) {
            Some(text) => text,
            None => return unusual,
        },
        (false, true, true) => match day.parse::<u32>() {
            Ok(day) => format!("毎月{day}日"),
            Err(_) => return unusual,
        },
        (false, false, true) => match (month.parse::<u32>(), day.parse::<u32>()) {
            (Ok(month), Ok(day)) => format!("毎年{month}月{day}日"),
            _ => return unusual,
        },
        _ => return unusual,
    };
    format!("{when} {time}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_read_as_japanese() {
        let rule = Rule::parse(
            r#"age >= 70 and district in ["今元", "仲津"] and (interests has "介護" or language = "en")"#,
        )
        .expect("rule");
        assert_eq!(
            describe_rule(&rule),
            "年齢70歳以上 かつ 今元・仲津地区 かつ （関心「介護」 または 言語が英語）"
        );
        assert_eq!(describe_rule_text("all"), "全員");
        assert_eq!(describe_rule_text(""), "全員");
        assert_eq!(
            describe_rule_text("not district = \"泉\""),
            "「泉地区」以外"
        );
    }

    #[test]
    fn usual_cron_schedules_read_as_japanese() {
        assert_eq!(describe_cron("0 0 9 * * Mon *"), "毎週月曜 9:00");
        assert_eq!(describe_cron("0 30 18 * * *"), "毎日 18:30");
        assert_eq!(describe_cron("0 0 9 1 * *"), "毎月1日 9:00");
        assert_eq!(describe_cron("0 0 9 1 4 * *"), "毎年4月1日 9:00");
        assert_eq!(describe_cron("0 0 9 * * Mon,Thu *"), "毎週月・木曜 9:00");
        assert_eq!(describe_cron("*/5 * * * * *"), "独自の繰り返し設定");
    }
}
