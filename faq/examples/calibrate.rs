//! Calibrates the answer policy's thresholds on a judged query set, plus off-topic questions that should get no match:
//! `cargo run --release -p faq --example calibrate -- --faq FAQ.jsonl --queries QUERIES.jsonl`
//! or, for the bundled city FAQ, `--dir faq/data --queries QUERIES.jsonl`.
//!
//! For each threshold setting it prints how often the policy is confident and how often a confident answer is right,
//! how often a relevant entry is among the offered candidates, and how often a judged question (which has an answer)
//! or an off-topic one gets no match.

use std::collections::HashSet;
use std::path::PathBuf;

use faq::{Answer, Index, Params};

/// Questions a city FAQ should not answer (written for this calibration; none is in any FAQ).
const OFF_TOPIC: &[&str] = &[
    "今日のプロ野球の結果は",
    "おいしいラーメン屋を教えて",
    "明日の天気はどうですか",
    "おすすめの映画はありますか",
    "株価の見通しを知りたい",
    "猫がかわいい",
    "宇宙人はいると思いますか",
    "ギターの弾き方を教えてください",
    "好きな食べ物は何ですか",
    "恋人がほしい",
    "パソコンが重いので直し方を知りたい",
    "英語の勉強法を教えて",
    "ダイエットの方法",
    "こんにちは",
    "ありがとう",
    "しりとりしよう",
    "週末に釣りに行きたい",
    "スマホの機種変更はどこが安い",
    "カレーの作り方",
    "サッカーのワールドカップはいつ",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut faq_path = None;
    let mut dir = None;
    let mut queries_path = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--faq" => faq_path = Some(PathBuf::from(value()?)),
            "--dir" => dir = Some(PathBuf::from(value()?)),
            "--queries" => queries_path = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let faq = match (faq_path, dir) {
        (Some(path), _) => faq::eval::read_faq_jsonl(&path)?,
        (None, Some(dir)) => faq::load_dir(&dir)?,
        (None, None) => return Err("give --faq FAQ.jsonl or --dir DIR".into()),
    };
    let queries = match queries_path {
        Some(path) => faq::eval::read_queries_jsonl(&path)?,
        None => Vec::new(),
    };
    let mut index = Index::build(&faq)?;
    let defaults = Params::default();
    println!(
        "coverage margin min semantic | confident  right | offered-hit | no-match judged  off-topic"
    );
    for confident_coverage in [0.75f32, 0.9] {
        for confident_margin in [0.15f32, 0.2, 0.25] {
            for (min_coverage, semantic_coverage) in [0.3f32, 0.4]
                .into_iter()
                .flat_map(|m| [0.5f32, 0.55, 0.6, 0.65, 0.7, 1.1].map(|s| (m, s)))
            {
                index.set_params(Params {
                    direct_coverage: confident_coverage,
                    confident_margin,
                    min_coverage,
                    semantic_coverage,
                    ..defaults.clone()
                });
                let (mut confident, mut right, mut offered_hit, mut no_match) = (0, 0, 0, 0);
                for query in &queries {
                    let relevant: HashSet<&str> =
                        query.relevant.iter().map(String::as_str).collect();
                    match index.answer(&query.query) {
                        Answer::Confident(best) => {
                            confident += 1;
                            right += usize::from(relevant.contains(best.entry.id.as_str()));
                        }
                        Answer::Candidates(choices) => {
                            offered_hit += usize::from(
                                choices
                                    .iter()
                                    .any(|c| relevant.contains(c.entry.id.as_str())),
                            );
                        }
                        Answer::NoMatch => no_match += 1,
                    }
                }
                let off_topic_no_match = OFF_TOPIC
                    .iter()
                    .filter(|q| index.answer(q) == Answer::NoMatch)
                    .count();
                let n = queries.len().max(1) as f64;
                println!(
                    "{confident_coverage:.2} {confident_margin:.2} {min_coverage:.2} {semantic_coverage:.2} | {:.3} {:.3} | {:.3} | {:.3} {:.3}",
                    confident as f64 / n,
                    right as f64 / confident.max(1) as f64,
                    offered_hit as f64 / (queries.len() - confident - no_match).max(1) as f64,
                    no_match as f64 / n,
                    off_topic_no_match as f64 / OFF_TOPIC.len() as f64,
                );
            }
        }
    }
    Ok(())
}
