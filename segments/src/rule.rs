//! The parsed form of a segment rule and the plain row-by-row interpreter.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use crate::parser::{self, ParseError, ParseOptions};
use crate::profile::Profile;

/// A parsed segment rule. Build one with [`Rule::parse`]; [`Display`](fmt::Display) writes it back
/// in a canonical form that parses to the same rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Everyone (`all`, `true`, or an empty rule).
    All,
    /// Residents the inner rule does not match, including those missing the attribute it tests.
    Not(Box<Rule>),
    /// Residents every part matches (an empty list matches everyone).
    And(Vec<Rule>),
    /// Residents at least one part matches (an empty list matches no one).
    Or(Vec<Rule>),
    /// One test on one attribute.
    Condition(Condition),
}

/// A test on one attribute of a resident.
///
/// A resident without the attribute (no birth date, no district) never matches a condition on it,
/// `!=` included: `district != "今元"` means "has a district, and it is not 今元".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Whole years on the evaluation date.
    Age(NumberTest),
    /// Month of the birth date, 1 to 12.
    BirthMonth(NumberTest),
    District(TextTest),
    Language(TextTest),
    /// `interests has "…"`.
    InterestsHas(String),
    /// `channels has "…"`.
    ChannelsHas(String),
}

/// A comparison of a number attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumberTest {
    Compare(Comparison, u32),
    In(Vec<u32>),
}

/// A comparison of a text attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextTest {
    Equals(String),
    NotEquals(String),
    In(Vec<String>),
}

/// `=`, `!=`, `<`, `<=`, `>`, `>=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparison {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl Comparison {
    /// Every comparison, for tests and generators.
    pub const ALL: [Comparison; 6] = [
        Comparison::Equal,
        Comparison::NotEqual,
        Comparison::Less,
        Comparison::LessOrEqual,
        Comparison::Greater,
        Comparison::GreaterOrEqual,
    ];

    /// The operator as written in a rule.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Equal => "=",
            Comparison::NotEqual => "!=",
            Comparison::Less => "<",
            Comparison::LessOrEqual => "<=",
            Comparison::Greater => ">",
            Comparison::GreaterOrEqual => ">=",
        }
    }

    /// Whether `left <op> right` holds.
    pub fn holds<T: PartialOrd>(self, left: T, right: T) -> bool {
        match self {
            Comparison::Equal => left == right,
            Comparison::NotEqual => left != right,
            Comparison::Less => left < right,
            Comparison::LessOrEqual => left <= right,
            Comparison::Greater => left > right,
            Comparison::GreaterOrEqual => left >= right,
        }
    }
}

impl Rule {
    /// Parses a rule; see the crate documentation for the grammar.
    ///
    /// An empty (or blank) rule means everyone, like `all`.
    pub fn parse(text: &str) -> Result<Rule, ParseError> {
        parser::parse(text, &ParseOptions::default())
    }

    /// Parses a rule and also refuses districts and interests missing from the given lists
    /// (`column 20: unknown district "今本": expected one of 行橋, …`).
    pub fn parse_with(text: &str, options: &ParseOptions<'_>) -> Result<Rule, ParseError> {
        parser::parse(text, options)
    }

    /// The rule that matches everyone.
    pub fn everyone() -> Rule {
        Rule::All
    }

    /// Whether this rule is literally "everyone" (`all`, `true` or empty), without evaluating it.
    pub fn is_everyone(&self) -> bool {
        matches!(self, Rule::All)
    }

    /// The row-by-row interpreter: whether `profile` is in the segment on `eval_date`
    /// (the send date in Asia/Tokyo, which the hub computes).
    pub fn matches(&self, profile: &Profile, eval_date: NaiveDate) -> bool {
        match self {
            Rule::All => true,
            Rule::Not(inner) => !inner.matches(profile, eval_date),
            Rule::And(parts) => parts.iter().all(|part| part.matches(profile, eval_date)),
            Rule::Or(parts) => parts.iter().any(|part| part.matches(profile, eval_date)),
            Rule::Condition(condition) => condition.matches(profile, eval_date),
        }
    }
}

impl Condition {
    /// Whether `profile` passes this test on `eval_date`.
    pub fn matches(&self, profile: &Profile, eval_date: NaiveDate) -> bool {
        match self {
            Condition::Age(test) => profile
                .age_on(eval_date)
                .is_some_and(|age| test.matches(age)),
            Condition::BirthMonth(test) => profile
                .birth_date
                .is_some_and(|birth| test.matches(i64::from(birth.month()))),
            Condition::District(test) => profile
                .district
                .as_deref()
                .is_some_and(|district| test.matches(district)),
            Condition::Language(test) => test.matches(&profile.language),
            Condition::InterestsHas(interest) => profile.interests.iter().any(|i| i == interest),
            Condition::ChannelsHas(channel) => profile.channels.iter().any(|c| c == channel),
        }
    }
}

impl NumberTest {
    fn matches(&self, value: i64) -> bool {
        match self {
            NumberTest::Compare(comparison, number) => comparison.holds(value, i64::from(*number)),
            NumberTest::In(numbers) => numbers.iter().any(|n| i64::from(*n) == value),
        }
    }
}

impl TextTest {
    fn matches(&self, value: &str) -> bool {
        match self {
            TextTest::Equals(text) => value == text,
            TextTest::NotEquals(text) => value != text,
            TextTest::In(texts) => texts.iter().any(|t| t == value),
        }
    }
}

impl FromStr for Rule {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Rule, ParseError> {
        Rule::parse(text)
    }
}

/// A rule is stored and sent as its text.
impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Parses the text; a broken rule fails with the parse error's message (column included).
impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Rule, D::Error> {
        let text = String::deserialize(deserializer)?;
        Rule::parse(&text).map_err(de::Error::custom)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::All => f.write_str("all"),
            Rule::Condition(condition) => condition.fmt(f),
            Rule::Not(inner) => {
                f.write_str("not ")?;
                write_operand(
                    f,
                    inner,
                    |rule| matches!(rule, Rule::And(parts) | Rule::Or(parts) if parts.len() > 1),
                )
            }
            Rule::And(parts) => match parts.as_slice() {
                [] => f.write_str("all"),
                parts => write_joined(
                    f,
                    parts,
                    " and ",
                    |rule| matches!(rule, Rule::And(p) | Rule::Or(p) if p.len() > 1),
                ),
            },
            Rule::Or(parts) => match parts.as_slice() {
                // There is no keyword for "no one"; this reads and parses as that.
                [] => f.write_str("not all"),
                parts => write_joined(
                    f,
                    parts,
                    " or ",
                    |rule| matches!(rule, Rule::Or(p) if p.len() > 1),
                ),
            },
        }
    }
}

fn write_joined(
    f: &mut fmt::Formatter<'_>,
    parts: &[Rule],
    separator: &str,
    needs_parentheses: impl Fn(&Rule) -> bool + Copy,
) -> fmt::Result {
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            f.write_str(separator)?;
        }
        write_operand(f, part, needs_parentheses)?;
    }
    Ok(())
}

fn write_operand(
    f: &mut fmt::Formatter<'_>,
    rule: &Rule,
    needs_parentheses: impl Fn(&Rule) -> bool,
) -> fmt::Result {
    if needs_parentheses(rule) {
        write!(f, "({rule})")
    } else {
        write!(f, "{rule}")
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Age(test) => write_number_test(f, "age", test),
            Condition::BirthMonth(test) => write_number_test(f, "birth_month", test),
            Condition::District(test) => write_text_test(f, "district", test),
            Condition::Language(test) => write_text_test(f, "language", test),
            Condition::InterestsHas(interest) => write!(f, "interests has {}", Quoted(interest)),
            Condition::ChannelsHas(channel) => write!(f, "channels has {}", Quoted(channel)),
        }
    }
}

fn write_number_test(f: &mut fmt::Formatter<'_>, field: &str, test: &NumberTest) -> fmt::Result {
    match test {
        NumberTest::Compare(comparison, number) => {
            write!(f, "{field} {} {number}", comparison.symbol())
        }
        NumberTest::In(numbers) => {
            write!(f, "{field} in [")?;
            for (index, number) in numbers.iter().enumerate() {
                if index > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{number}")?;
            }
            f.write_str("]")
        }
    }
}

fn write_text_test(f: &mut fmt::Formatter<'_>, field: &str, test: &TextTest) -> fmt::Result {
    match test {
        TextTest::Equals(text) => write!(f, "{field} = {}", Quoted(text)),
        TextTest::NotEquals(text) => write!(f, "{field} != {}", Quoted(text)),
        TextTest::In(texts) => {
            write!(f, "{field} in [")?;
            for (index, text) in texts.iter().enumerate() {
                if index > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{}", Quoted(text))?;
            }
            f.write_str("]")
        }
    }
}

/// Text in double quotes with `"` and `\` escaped, as the parser reads it.
struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_travel_as_text_in_json() {
        let rule = Rule::parse(r#"age >= 65 and interests has "防災""#).expect("parses");
        let json = serde_json::to_string(&rule).expect("serialises");
        assert_eq!(json, r#""age >= 65 and interests has \"防災\"""#);
        assert_eq!(
            serde_json::from_str::<Rule>(&json).expect("parses back"),
            rule
        );
        let broken = serde_json::from_str::<Rule>(r#""age >=""#).expect_err("broken rule");
        assert!(broken.to_string().contains("column 7"), "{broken}");
    }
}
