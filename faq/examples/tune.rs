//! Tunes the signal weights of the ranker by cross-validation on a judged query set:
//! `cargo run --release -p faq --example tune -- --faq FAQ.jsonl --queries QUERIES.jsonl [--folds 5] [--fix 8]`
//!
//! For each fold, the weights that maximise MRR + nDCG@10 on the other folds (coordinate ascent over a grid) rank the
//! held-out fold; the held-out metrics, pooled, are what the method can be expected to do on unseen queries. The
//! weights chosen on all queries are printed last (the defaults in `Params` come from such a run).

use std::path::PathBuf;

use faq::SIGNALS;
use faq::eval::{JudgedQuery, Metrics, score};

const N: usize = SIGNALS.len();
type Signals = Vec<(String, [f32; N])>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut faq_path = None;
    let mut queries_path = None;
    let mut folds = 5usize;
    let mut params = faq::Params::default();
    // Signals whose weight stays as given (e.g. feedback, which depends on the first-stage weights).
    let mut fixed: Vec<usize> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--faq" => faq_path = Some(PathBuf::from(value()?)),
            "--queries" => queries_path = Some(PathBuf::from(value()?)),
            "--folds" => folds = value()?.parse()?,
            "--translation-share" => params.translation_share = value()?.parse()?,
            "--smoothing" => params.smoothing = value()?.parse()?,
            "--k1" => params.k1 = value()?.parse()?,
            "--semantic-floor" => params.semantic_floor = value()?.parse()?,
            "--semantic-rank-k" => params.semantic_rank_k = value()?.parse()?,
            "--semantic-candidates" => params.semantic_candidates = value()?.parse()?,
            "--b" => params.b = value()?.parse()?,
            "--translation-candidates" => params.translation_candidates = value()?.parse()?,
            "--weights" => {
                let weights: Vec<f32> = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?;
                params.weights = weights
                    .try_into()
                    .map_err(|w| format!("need {N} weights, got {w:?}"))?;
            }
            "--fix" => {
                fixed = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let (Some(faq_path), Some(queries_path)) = (faq_path, queries_path) else {
        return Err("usage: tune --faq FAQ.jsonl --queries QUERIES.jsonl".into());
    };
    let faq = faq::eval::read_faq_jsonl(&faq_path)?;
    let queries = faq::eval::read_queries_jsonl(&queries_path)?;
    let index = faq::Index::build_with(&faq, params)?;
    let signals: Vec<Signals> = queries.iter().map(|q| index.signals(&q.query)).collect();

    let start = neutral_start(&index.params().weights, &fixed);
    let mut held_out_rankings: Vec<Vec<String>> = vec![Vec::new(); queries.len()];
    for fold in 0..folds {
        let train: Vec<usize> = (0..queries.len()).filter(|i| i % folds != fold).collect();
        let best = best_weights(&start, &fixed, &train, &queries, &signals);
        eprintln!("fold {fold}: {best:?}");
        for i in (0..queries.len()).filter(|i| i % folds == fold) {
            held_out_rankings[i] = rank(&signals[i], &best);
        }
    }
    let rankings: Vec<&[String]> = held_out_rankings.iter().map(Vec::as_slice).collect();
    let cross_validated = score(&queries, &rankings, 5, &[]);
    println!("cross-validated: {}", summary(&cross_validated));

    let all: Vec<usize> = (0..queries.len()).collect();
    let best = best_weights(&start, &fixed, &all, &queries, &signals);
    let rankings: Vec<Vec<String>> = signals.iter().map(|s| rank(s, &best)).collect();
    let refs: Vec<&[String]> = rankings.iter().map(Vec::as_slice).collect();
    println!(
        "fitted on all:   {}",
        summary(&score(&queries, &refs, 5, &[]))
    );
    println!("weights: {best:?}");
    Ok(())
}

fn summary(m: &Metrics) -> String {
    format!(
        "SR@1 {:.3} SR@5 {:.3} MRR {:.3} MAP {:.3} nDCG@10 {:.3}",
        m.sr_at_1, m.sr_at_5, m.mrr, m.map, m.ndcg_at_10
    )
}

fn rank(signals: &Signals, weights: &[f32; N]) -> Vec<String> {
    let mut scored: Vec<(f32, &str)> = signals
        .iter()
        .map(|(id, s)| (s.iter().zip(weights).map(|(a, b)| a * b).sum(), id.as_str()))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored
        .into_iter()
        .filter(|s| s.0 > 0.0)
        .take(faq::eval::RANKING_DEPTH)
        .map(|s| s.1.to_owned())
        .collect()
}

fn objective(
    subset: &[usize],
    queries: &[JudgedQuery],
    signals: &[Signals],
    weights: &[f32; N],
) -> f64 {
    let picked: Vec<JudgedQuery> = subset.iter().map(|&i| queries[i].clone()).collect();
    let rankings: Vec<Vec<String>> = subset.iter().map(|&i| rank(&signals[i], weights)).collect();
    let refs: Vec<&[String]> = rankings.iter().map(Vec::as_slice).collect();
    let m = score(&picked, &refs, 5, &[]);
    m.mrr + m.ndcg_at_10
}

/// Coordinate ascent over the grid from a neutral start (every signal 1, fixed ones as given): each round tries every
/// grid value for each weight in turn and keeps the best. Starting neutral keeps held-out folds honest.
fn best_weights(
    start: &[f32; N],
    fixed: &[usize],
    subset: &[usize],
    queries: &[JudgedQuery],
    signals: &[Signals],
) -> [f32; N] {
    let mut best = *start;
    let mut best_value = objective(subset, queries, signals, &best);
    for _round in 0..2 {
        for k in (1..N).filter(|k| !fixed.contains(k)) {
            for &value in &GRID {
                let mut trial = best;
                trial[k] = value;
                let v = objective(subset, queries, signals, &trial);
                if v > best_value + 1e-9 {
                    best_value = v;
                    best = trial;
                }
            }
        }
    }
    best
}

const GRID: [f32; 14] = [
    0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0,
];

/// Every signal at 1, except the fixed ones, which keep the index's weights.
fn neutral_start(weights: &[f32; N], fixed: &[usize]) -> [f32; N] {
    let mut start = [1.0f32; N];
    for &k in fixed {
        start[k] = weights[k];
    }
    start
}
