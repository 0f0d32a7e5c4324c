//! The answer policy as a resident feels it, on a judged query set: how often the first reply is one direct
//! answer, a list to pick from, or a miss (the polite fallback), and how often a direct answer is right.
//!
//! `cargo run --release -p faq --example policy -- --faq FAQ.jsonl --queries QUERIES.jsonl [--grid]`
//! (or `--dir faq/data` for the bundled city FAQ). Without `--grid` it measures the default [`faq::Params`]; with
//! it, it also sweeps the thresholds (confident coverage, margin, semantic coverage) and prints one line each.
//!
//! Columns: `direct`/`list`/`miss` share of all queries; `1-item` lists with a single entry; `direct right` share
//! of direct answers whose entry is judged relevant; `wrong direct` share of all queries answered directly with
//! an entry not judged relevant; `top1 direct` share of the queries whose best-ranked entry is relevant that get
//! it as a direct answer (the aim: at least 70 %, with `wrong direct` at most 10 %).

use std::collections::HashSet;
use std::path::PathBuf;

use faq::{Answer, Index, Params};

#[derive(Debug, Default)]
struct Tally {
    queries: usize,
    direct: usize,
    direct_right: usize,
    list: usize,
    one_item: usize,
    list_hit: usize,
    miss: usize,
    top1_right: usize,
    top1_right_direct: usize,
}

impl Tally {
    fn pct(part: usize, whole: usize) -> f64 {
        if whole == 0 {
            0.0
        } else {
            100.0 * part as f64 / whole as f64
        }
    }

    fn line(&self) -> String {
        format!(
            "direct {:5.1}% | list {:5.1}% (1-item {:4.1}%, right one offered {:5.1}% of lists) | miss {:5.1}% | \
             direct right {:5.1}% | wrong direct {:5.1}% | top1 direct {:5.1}%",
            Self::pct(self.direct, self.queries),
            Self::pct(self.list, self.queries),
            Self::pct(self.one_item, self.queries),
            Self::pct(self.list_hit, self.list),
            Self::pct(self.miss, self.queries),
            Self::pct(self.direct_right, self.direct),
            Self::pct(self.direct - self.direct_right, self.queries),
            Self::pct(self.top1_right_direct, self.top1_right),
        )
    }
}

fn measure(index: &Index, queries: &[faq::eval::JudgedQuery]) -> Tally {
    let mut tally = Tally::default();
    for query in queries {
        let relevant: HashSet<&str> = query.relevant.iter().map(String::as_str).collect();
        let top1_right = index
            .search(&query.query, 1)
            .first()
            .is_some_and(|hit| relevant.contains(hit.id.as_str()));
        tally.queries += 1;
        if top1_right {
            tally.top1_right += 1;
        }
        match index.answer(&query.query) {
            Answer::Confident(best) => {
                tally.direct += 1;
                if relevant.contains(best.entry.id.as_str()) {
                    tally.direct_right += 1;
                }
                if top1_right {
                    tally.top1_right_direct += 1;
                }
            }
            Answer::Candidates(choices) => {
                tally.list += 1;
                if choices.len() == 1 {
                    tally.one_item += 1;
                }
                if choices
                    .iter()
                    .any(|c| relevant.contains(c.entry.id.as_str()))
                {
                    tally.list_hit += 1;
                }
            }
            Answer::NoMatch => tally.miss += 1,
        }
    }
    tally
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut faq_path = None;
    let mut dir = None;
    let mut queries_path = None;
    let mut grid = false;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--faq" => faq_path = Some(PathBuf::from(value()?)),
            "--dir" => dir = Some(PathBuf::from(value()?)),
            "--queries" => queries_path = Some(PathBuf::from(value()?)),
            "--grid" => grid = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let faq = match (faq_path, dir) {
        (Some(path), _) => faq::eval::read_faq_jsonl(&path)?,
        (None, Some(dir)) => faq::load_dir(&dir)?,
        (None, None) => return Err("give --faq FAQ.jsonl or --dir DIR".into()),
    };
    let Some(queries_path) = queries_path else {
        return Err("give --queries QUERIES.jsonl".into());
    };
    let queries = faq::eval::read_queries_jsonl(&queries_path)?;
    let mut index = Index::build(&faq)?;
    let defaults = Params::default();
    println!(
        "defaults (coverage {}, margin {}, semantic {}, min {}): {}",
        defaults.direct_coverage,
        defaults.confident_margin,
        defaults.semantic_coverage,
        defaults.min_coverage,
        measure(&index, &queries).line()
    );
    if !grid {
        return Ok(());
    }
    for confident_coverage in [0.4f32, 0.5, 0.6, 0.75] {
        for confident_margin in [0.0f32, 0.05, 0.1, 0.2] {
            for semantic_coverage in [0.45f32, 0.55] {
                index.set_params(Params {
                    direct_coverage: confident_coverage,
                    confident_margin,
                    semantic_coverage,
                    ..defaults.clone()
                });
                println!(
                    "coverage {confident_coverage:.2} margin {confident_margin:.2} semantic {semantic_coverage:.2}: {}",
                    measure(&index, &queries).line()
                );
            }
        }
    }
    Ok(())
}
