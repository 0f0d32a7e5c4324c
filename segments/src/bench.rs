//! `hub bench segments`: synthetic residents, snapshot build time, rule evaluation times against
//! the row-by-row interpreter, and memory.

use std::hint::black_box;
use std::time::Instant;

use chrono::{Days, NaiveDate};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use roaring::RoaringBitmap;
use serde::Serialize;

use crate::profile::Profile;
use crate::rule::Rule;
use crate::snapshot::{MemoryUsage, Snapshot};

/// Yukuhashi's elementary school districts, the default district list.
pub const DISTRICTS: &[&str] = &[
    "行橋", "行事", "大橋", "今元", "仲津", "泉", "今川", "稗田", "延永", "椿市", "蓑島",
];

/// Topics residents follow in the synthetic data.
pub const INTERESTS: &[&str] = &[
    "子育て",
    "介護",
    "ごみ",
    "防災",
    "健康",
    "観光",
    "文化",
    "スポーツ",
];

/// The compound rules the benchmark times.
pub const BENCH_RULES: &[&str] = &[
    r#"age >= 65 and district in ["今元", "仲津"] and interests has "介護""#,
    r#"(interests has "子育て" or age < 15) and not language = "ja" and channels has "line""#,
    r#"birth_month = 4 and age in [20, 30, 40, 50] or district = "蓑島" and not channels has "email""#,
    r#"not (age >= 18 and age < 65) or interests has "防災""#,
];

/// The date ages are computed for, fixed so runs compare.
pub fn bench_eval_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default()
}

const BUILD_RUNS: usize = 3;
const EVALUATE_RUNS: usize = 11;
const ROW_BY_ROW_RUNS: usize = 3;

/// What `hub bench segments` prints (as JSON). Times are medians, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub residents: usize,
    pub seed: u64,
    pub eval_date: NaiveDate,
    pub generate_ms: f64,
    /// Median of `build_runs` snapshot builds.
    pub build_ms: f64,
    pub build_runs: usize,
    pub evaluate_runs: usize,
    pub row_by_row_runs: usize,
    pub memory: MemoryUsage,
    pub snapshot_bytes: usize,
    pub bytes_per_resident: f64,
    pub rules: Vec<RuleBench>,
}

/// One rule: how many residents it matched and how long each evaluator took.
#[derive(Debug, Clone, Serialize)]
pub struct RuleBench {
    pub rule: String,
    pub matched: u64,
    /// Median time of `Snapshot::evaluate`.
    pub bitmap_ms: f64,
    /// Median time of `Rule::matches` over every resident, collecting the ids.
    pub row_by_row_ms: f64,
    /// `row_by_row_ms / bitmap_ms`.
    pub speedup: f64,
    /// Whether both evaluators chose exactly the same residents.
    pub agrees: bool,
}

/// Generates `residents` synthetic residents from `seed`, builds the snapshot, and times
/// [`BENCH_RULES`] with both evaluators.
pub fn bench(residents: usize, seed: u64) -> BenchReport {
    let eval_date = bench_eval_date();
    let started = Instant::now();
    let profiles = synthetic_residents(residents, seed, eval_date);
    let generate_ms = elapsed_ms(started);

    let (build_ms, snapshot) = median_ms(BUILD_RUNS, || {
        Snapshot::build(profiles.iter().map(|(id, profile)| (*id, profile)))
    });
    let memory = snapshot.memory_usage();

    let rules = BENCH_RULES
        .iter()
        .filter_map(|text| Rule::parse(text).ok())
        .map(|rule| {
            let (bitmap_ms, fast) =
                median_ms(EVALUATE_RUNS, || snapshot.evaluate(&rule, eval_date));
            let (row_by_row_ms, slow) = median_ms(ROW_BY_ROW_RUNS, || {
                profiles
                    .iter()
                    .filter(|(_, profile)| rule.matches(profile, eval_date))
                    .map(|(id, _)| *id)
                    .collect::<Vec<u32>>()
            });
            let agrees = RoaringBitmap::from_sorted_iter(slow).is_ok_and(|slow| slow == fast);
            RuleBench {
                rule: rule.to_string(),
                matched: fast.len(),
                bitmap_ms,
                row_by_row_ms,
                speedup: row_by_row_ms / bitmap_ms.max(1e-6),
                agrees,
            }
        })
        .collect();

    BenchReport {
        residents,
        seed,
        eval_date,
        generate_ms,
        build_ms,
        build_runs: BUILD_RUNS,
        evaluate_runs: EVALUATE_RUNS,
        row_by_row_runs: ROW_BY_ROW_RUNS,
        memory,
        snapshot_bytes: memory.total(),
        bytes_per_resident: memory.total() as f64 / residents.max(1) as f64,
        rules,
    }
}

/// Residents with ids `0..count` shaped roughly like the city: ages 0 to 95, 3% without a
/// birth date, 2% without a district, mostly Japanese speakers, mostly on LINE.
pub fn synthetic_residents(count: usize, seed: u64, eval_date: NaiveDate) -> Vec<(u32, Profile)> {
    let mut rng = SmallRng::seed_from_u64(seed);
    (0..count)
        .filter_map(|index| u32::try_from(index).ok())
        .map(|id| (id, synthetic_resident(&mut rng, eval_date)))
        .collect()
}

fn synthetic_resident(rng: &mut SmallRng, eval_date: NaiveDate) -> Profile {
    const LIFETIME_DAYS: u64 = 95 * 365 + 24;
    let birth_date = if rng.random_bool(0.03) {
        None
    } else {
        eval_date.checked_sub_days(Days::new(rng.random_range(0..LIFETIME_DAYS)))
    };
    let district = if rng.random_bool(0.02) {
        None
    } else {
        // The central districts are the most populous: pick among the first three twice as often.
        let index = if rng.random_bool(0.4) {
            rng.random_range(0..3)
        } else {
            rng.random_range(0..DISTRICTS.len())
        };
        Some(DISTRICTS[index].to_string())
    };
    let language = match rng.random_range(0..100) {
        0..92 => "ja",
        92..95 => "en",
        95..97 => "zh",
        97..98 => "ko",
        _ => "vi",
    };
    let interests = INTERESTS
        .iter()
        .filter(|_| rng.random_bool(0.2))
        .map(|interest| interest.to_string())
        .collect();
    let channels = [
        ("line", 0.7),
        ("email", 0.45),
        ("push", 0.25),
        ("webchat", 0.05),
    ]
    .into_iter()
    .filter(|(_, share)| rng.random_bool(*share))
    .map(|(channel, _)| channel.to_string())
    .collect();
    Profile {
        birth_date,
        district,
        language: language.to_string(),
        interests,
        channels,
    }
}

/// Runs `work` `runs` times; returns the median time in milliseconds and the last result.
fn median_ms<T>(runs: usize, mut work: impl FnMut() -> T) -> (f64, T) {
    let mut times = Vec::with_capacity(runs.max(1));
    let started = Instant::now();
    let mut result = black_box(work());
    times.push(elapsed_ms(started));
    for _ in 1..runs {
        // Drop the previous result first, so freeing it is not timed with this run.
        drop(result);
        let started = Instant::now();
        result = black_box(work());
        times.push(elapsed_ms(started));
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], result)
}

fn elapsed_ms(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bench_rule_parses() {
        for text in BENCH_RULES {
            assert!(Rule::parse(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn a_small_bench_agrees_and_serialises() {
        let report = bench(2_000, 7);
        assert_eq!(report.rules.len(), BENCH_RULES.len());
        assert!(report.rules.iter().all(|rule| rule.agrees));
        assert!(report.rules.iter().any(|rule| rule.matched > 0));
        assert!(report.snapshot_bytes > 0);
        let json = serde_json::to_value(&report).expect("serialises");
        assert_eq!(json["residents"], 2_000);
        assert_eq!(json["eval_date"], "2026-12-01");
    }

    #[test]
    fn synthetic_residents_are_reproducible() {
        let date = bench_eval_date();
        assert_eq!(
            synthetic_residents(100, 1, date),
            synthetic_residents(100, 1, date)
        );
    }
}
