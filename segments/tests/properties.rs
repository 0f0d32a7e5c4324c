//! Property tests: the bitmap evaluator agrees with the row-by-row interpreter, rules print and
//! parse back to themselves, and no input makes the parser panic.

use chrono::{Datelike, Days, NaiveDate};
use proptest::prelude::*;
use proptest::sample::select;
use segments::{
    Comparison, Condition, KNOWN_CHANNELS, KNOWN_LANGUAGES, NumberTest, Profile, Rule, Snapshot,
    TextTest,
};

const DISTRICTS: &[&str] = &["今元", "仲津", "蓑島", "泉"];
const INTERESTS: &[&str] = &["介護", "防災", "子育て"];
/// In rules only: nobody has these, so lookups of absent keys are exercised too.
const ABSENT_DISTRICT: &str = "大橋";
const ABSENT_INTEREST: &str = "観光";

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("valid date")
}

/// Evaluation dates around the awkward days of the calendar, and some ordinary ones.
fn eval_date() -> impl Strategy<Value = NaiveDate> {
    prop_oneof![
        select(vec![
            date(2024, 2, 28),
            date(2024, 2, 29),
            date(2024, 3, 1),
            date(2025, 2, 28),
            date(2025, 3, 1),
            date(2026, 1, 1),
            date(2026, 12, 31),
        ]),
        (0u64..3650).prop_map(|days| date(2020, 1, 1) + Days::new(days)),
    ]
}

/// Birth dates that land on edges for `today`: the birthday itself, the days either side of it,
/// 29 February, after `today`, and anything in between.
fn birth_date(today: NaiveDate) -> impl Strategy<Value = Option<NaiveDate>> {
    let birthday = (0u32..100, -1i64..=1).prop_map(move |(years, shift)| {
        let years_back = today.with_year(today.year() - years as i32);
        // 29 February in a year without one has no anniversary: use 28 February then.
        let anniversary = years_back.unwrap_or_else(|| date(today.year() - years as i32, 2, 28));
        anniversary
            .checked_add_signed(chrono::Duration::days(shift))
            .unwrap_or(anniversary)
    });
    let leap_day =
        select(vec![1940, 1960, 1984, 2000, 2004, 2020, 2024]).prop_map(|year| date(year, 2, 29));
    let anywhere = (0u64..45_000).prop_map(|days| date(1905, 1, 1) + Days::new(days));
    prop_oneof![
        1 => Just(None),
        3 => birthday.prop_map(Some),
        1 => leap_day.prop_map(Some),
        3 => anywhere.prop_map(Some),
    ]
}

fn subset(values: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(select(values), 0..=values.len())
        .prop_map(|picked| picked.into_iter().map(str::to_string).collect())
}

fn profile(today: NaiveDate) -> impl Strategy<Value = Profile> {
    (
        birth_date(today),
        proptest::option::weighted(0.8, select(DISTRICTS)),
        select(KNOWN_LANGUAGES),
        subset(INTERESTS),
        subset(KNOWN_CHANNELS),
    )
        .prop_map(
            |(birth_date, district, language, interests, channels)| Profile {
                birth_date,
                district: district.map(str::to_string),
                language: language.to_string(),
                interests,
                channels,
            },
        )
}

/// Residents with increasing ids that leave gaps, so `not` has holes to respect.
fn residents(today: NaiveDate) -> impl Strategy<Value = Vec<(u32, Profile)>> {
    proptest::collection::vec((1u32..1000, profile(today)), 0..60).prop_map(|rows| {
        let mut id = 0u32;
        rows.into_iter()
            .map(|(gap, profile)| {
                id += gap;
                (id, profile)
            })
            .collect()
    })
}

fn number_test(values: impl Strategy<Value = u32> + Clone) -> impl Strategy<Value = NumberTest> {
    prop_oneof![
        (select(Comparison::ALL.to_vec()), values.clone())
            .prop_map(|(comparison, value)| NumberTest::Compare(comparison, value)),
        proptest::collection::vec(values, 1..4).prop_map(NumberTest::In),
    ]
}

fn text_test(values: Vec<&'static str>) -> impl Strategy<Value = TextTest> {
    let value = select(values).prop_map(str::to_string);
    prop_oneof![
        value.clone().prop_map(TextTest::Equals),
        value.clone().prop_map(TextTest::NotEquals),
        proptest::collection::vec(value, 1..4).prop_map(TextTest::In),
    ]
}

fn condition() -> impl Strategy<Value = Condition> {
    let districts: Vec<&str> = DISTRICTS.iter().copied().chain([ABSENT_DISTRICT]).collect();
    let interests: Vec<&str> = INTERESTS.iter().copied().chain([ABSENT_INTEREST]).collect();
    prop_oneof![
        number_test(0u32..=110).prop_map(Condition::Age),
        number_test(1u32..=12).prop_map(Condition::BirthMonth),
        text_test(districts).prop_map(Condition::District),
        text_test(KNOWN_LANGUAGES.to_vec()).prop_map(Condition::Language),
        select(interests).prop_map(|i| Condition::InterestsHas(i.to_string())),
        select(KNOWN_CHANNELS).prop_map(|c| Condition::ChannelsHas(c.to_string())),
    ]
}

/// Random rules; `min_parts` 2 gives the shapes the parser produces, 0 adds empty and
/// single-part `and`/`or` that only code can build.
fn rule(min_parts: usize) -> impl Strategy<Value = Rule> {
    let leaf = prop_oneof![
        1 => Just(Rule::All),
        12 => condition().prop_map(Rule::Condition),
    ];
    leaf.prop_recursive(4, 32, 4, move |inner| {
        prop_oneof![
            inner.clone().prop_map(|rule| Rule::Not(Box::new(rule))),
            proptest::collection::vec(inner.clone(), min_parts..5).prop_map(Rule::And),
            proptest::collection::vec(inner, min_parts..5).prop_map(Rule::Or),
        ]
    })
}

fn case() -> impl Strategy<Value = (NaiveDate, Vec<(u32, Profile)>, Rule)> {
    eval_date().prop_flat_map(|today| (Just(today), residents(today), rule(0)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn bitmap_evaluator_agrees_with_row_by_row((today, residents, rule) in case()) {
        let snapshot = Snapshot::build(residents.iter().map(|(id, p)| (*id, p)));
        let fast = snapshot.evaluate(&rule, today);
        let slow: Vec<u32> = residents
            .iter()
            .filter(|(_, profile)| rule.matches(profile, today))
            .map(|(id, _)| *id)
            .collect();
        prop_assert_eq!(fast.iter().collect::<Vec<u32>>(), slow, "rule: {}", rule);
        prop_assert_eq!(snapshot.count(&rule, today), fast.len());
    }
}

proptest! {
    #[test]
    fn rules_print_and_parse_back_to_themselves(rule in rule(2)) {
        let text = rule.to_string();
        prop_assert_eq!(Rule::parse(&text), Ok(rule), "text: {}", text);
    }

    #[test]
    fn summaries_add_up((today, residents, rule) in case()) {
        let snapshot = Snapshot::build(residents.iter().map(|(id, p)| (*id, p)));
        let segment = snapshot.evaluate(&rule, today);
        let summary = snapshot.summarize(&segment, today);
        prop_assert_eq!(summary.by_district.values().sum::<u64>(), segment.len());
        prop_assert_eq!(summary.by_age_band.values().sum::<u64>(), segment.len());
        prop_assert_eq!(summary.by_language.values().sum::<u64>(), segment.len());
    }

    #[test]
    fn random_text_never_panics_the_parser(text in any::<String>()) {
        check_parse_outcome(&text)?;
    }

    #[test]
    fn random_token_soup_never_panics_the_parser(
        pieces in proptest::collection::vec(select(TOKEN_SOUP), 0..20),
        glue in select(vec![" ", "", "　"]),
    ) {
        check_parse_outcome(&pieces.join(glue))?;
    }
}

/// Pieces of rules, whole and broken, that random text would rarely hit.
#[rustfmt::skip]
const TOKEN_SOUP: &[&str] = &[
    "age", "birth_month", "district", "language", "interests", "channels", "年齢", "地区", "and", "or",
    "not", "in", "has", "all", "true", "(", ")", "[", "]", ",", "、", "=", "==", "!=", "!", "<",
    "<=", "<>", ">", ">=", "＞＝", "65", "0", "13", "99999999999", "\"今元\"", "\"ja\"", "\"line\"",
    "\"", "「防災」", "「", "」", "“x”", "\\", "\"a\\\"b\"", "\"\\q\"", "ａｇｅ", "６５", "-", "歳", "\u{3000}",
    "『泉』", "＂", "『", "」",
];

/// Parsing either succeeds (and then prints to text that parses to the same rule) or fails
/// with a column inside the text or one past its end.
fn check_parse_outcome(text: &str) -> Result<(), TestCaseError> {
    match Rule::parse(text) {
        Ok(rule) => {
            let printed = rule.to_string();
            prop_assert_eq!(Rule::parse(&printed), Ok(rule), "printed: {}", printed);
        }
        Err(error) => {
            let length = text.chars().count();
            prop_assert!(
                (1..=length + 1).contains(&error.column),
                "column {} outside 1..={} for {:?}",
                error.column,
                length + 1,
                text
            );
            prop_assert!(!error.message.is_empty());
        }
    }
    Ok(())
}

/// A change to the residents: a new or edited profile, or a removal.
fn changes(today: NaiveDate) -> impl Strategy<Value = Vec<(u32, Option<Profile>)>> {
    // Ids overlap the initial residents' (1..60_000 with gaps of up to 1000) often enough to edit and
    // remove some, and many steps at once exercise the bulk path of the birth index.
    proptest::collection::vec(
        (0u32..3000, proptest::option::weighted(0.7, profile(today))),
        0..150,
    )
}

/// An evaluation date, the first residents, batches of changes, and rules to check.
type IncrementalCase = (
    NaiveDate,
    Vec<(u32, Profile)>,
    Vec<Vec<(u32, Option<Profile>)>>,
    Vec<Rule>,
);

fn incremental_case() -> impl Strategy<Value = IncrementalCase> {
    eval_date().prop_flat_map(|today| {
        (
            Just(today),
            residents(today),
            proptest::collection::vec(changes(today), 1..4),
            proptest::collection::vec(rule(0), 1..6),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Changes applied in place give the snapshot a fresh build of the final residents gives, for every rule
    /// and for the summary; the streaming builder (ids in any order) does too.
    #[test]
    fn applied_changes_evaluate_as_a_fresh_build((today, initial, batches, rules) in incremental_case()) {
        let mut live = Snapshot::build(initial.iter().map(|(id, p)| (*id, p)));
        let mut state: std::collections::BTreeMap<u32, Profile> = initial.into_iter().collect();
        for batch in batches {
            for (id, profile) in &batch {
                match profile {
                    Some(profile) => state.insert(*id, profile.clone()),
                    None => state.remove(id),
                };
            }
            live.apply(batch);
        }
        let fresh = Snapshot::build(state.iter().map(|(id, p)| (*id, p)));
        let mut streamed = segments::SnapshotBuilder::new();
        // Out of order on purpose: the builder must still end with the same residents.
        for (id, profile) in state.iter().rev() {
            streamed.push(*id, profile);
        }
        let streamed = streamed.finish();
        prop_assert_eq!(live.residents(), fresh.residents());
        for rule in rules.iter().chain([&Rule::All]) {
            let want = fresh.evaluate(rule, today);
            prop_assert_eq!(&live.evaluate(rule, today), &want, "rule: {}", rule);
            prop_assert_eq!(&streamed.evaluate(rule, today), &want, "rule: {}", rule);
            prop_assert_eq!(live.summarize(&want, today), fresh.summarize(&want, today));
        }
    }
}
