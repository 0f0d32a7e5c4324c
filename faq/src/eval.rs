//! `hub faq eval`: ranking quality and latency on a judged query set (formats and metrics as in CONTRACT.md).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::index::{Index, IndexError, Params};
use crate::model::{Faq, FaqEntry};

/// Rankings are scored over this depth (MRR, MAP) and written up to it.
pub const RANKING_DEPTH: usize = 100;

/// What `hub faq eval` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub queries: usize,
    pub k: usize,
    pub p_at_1: f64,
    pub p_at_5: f64,
    pub sr_at_1: f64,
    pub sr_at_5: f64,
    pub mrr: f64,
    pub map: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    /// Graded nDCG@10 (linear gains from `grades`, or 1 for each relevant id without grades). Not in the contract.
    pub ndcg_at_10: f64,
    /// SR@k for the requested k (equals sr_at_5 when k = 5). Not in the contract.
    pub sr_at_k: f64,
    /// P@k for the requested k. Not in the contract.
    pub p_at_k: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(transparent)]
    Index(#[from] IndexError),
}

#[derive(Deserialize)]
struct FaqLine {
    id: serde_json::Value,
    question: String,
    answer: String,
}

/// One judged query.
#[derive(Debug, Clone, Deserialize)]
pub struct JudgedQuery {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    pub query: String,
    #[serde(default, deserialize_with = "id_strings")]
    pub relevant: Vec<String>,
    #[serde(default)]
    pub grades: HashMap<String, f64>,
}

/// Ids may be written as strings or numbers.
fn id_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn id_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    serde_json::Value::deserialize(d).map(|v| id_text(&v))
}

fn id_strings<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Vec::<serde_json::Value>::deserialize(d).map(|v| v.iter().map(id_text).collect())
}

fn read_jsonl<T>(
    path: &Path,
    mut parse: impl FnMut(&str) -> Result<T, String>,
) -> Result<Vec<T>, EvalError> {
    let file = std::fs::File::open(path).map_err(|source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut items = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| EvalError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        items.push(parse(&line).map_err(|message| EvalError::Parse {
            path: path.to_path_buf(),
            line: n + 1,
            message,
        })?);
    }
    Ok(items)
}

/// Reads FAQ.jsonl into a FAQ (entries with id, question and answer).
pub fn read_faq_jsonl(path: &Path) -> Result<Faq, EvalError> {
    let entries = read_jsonl(path, |line| {
        let parsed: FaqLine = serde_json::from_str(line).map_err(|e| e.to_string())?;
        Ok(FaqEntry::minimal(
            id_text(&parsed.id),
            parsed.question,
            parsed.answer,
        ))
    })?;
    Ok(Faq {
        entries,
        synonyms: Vec::new(),
    })
}

/// Reads QUERIES.jsonl.
pub fn read_queries_jsonl(path: &Path) -> Result<Vec<JudgedQuery>, EvalError> {
    read_jsonl(path, |line| {
        serde_json::from_str(line).map_err(|e| e.to_string())
    })
}

/// One query's ranking, as `--run` writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunLine {
    pub query_id: String,
    pub ranked: Vec<String>,
}

/// `hub faq eval`: reads both files, builds the index, answers every query, optionally writes the run file.
pub fn run_eval(
    faq_path: &Path,
    queries_path: &Path,
    k: usize,
    run_path: Option<&Path>,
) -> Result<Metrics, EvalError> {
    run_eval_with(faq_path, queries_path, k, run_path, Params::default())
}

/// [`run_eval`] with explicit ranking parameters.
pub fn run_eval_with(
    faq_path: &Path,
    queries_path: &Path,
    k: usize,
    run_path: Option<&Path>,
    params: Params,
) -> Result<Metrics, EvalError> {
    // A folder is an FAQ as the hub loads it (TOML, with alternatives, keywords, English and synonyms).
    let faq = if faq_path.is_dir() {
        crate::load_dir(faq_path).map_err(|error| EvalError::Parse {
            path: faq_path.to_path_buf(),
            line: 0,
            message: error.to_string(),
        })?
    } else {
        read_faq_jsonl(faq_path)?
    };
    let queries = read_queries_jsonl(queries_path)?;
    let index = Index::build_with(&faq, params)?;
    let (metrics, runs) = evaluate(&index, &queries, k);
    if let Some(path) = run_path {
        write_run(path, &runs)?;
    }
    Ok(metrics)
}

fn write_run(path: &Path, runs: &[RunLine]) -> Result<(), EvalError> {
    let io = |source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    for run in runs {
        let line = serde_json::to_string(run).map_err(|e| io(std::io::Error::other(e)))?;
        writeln!(out, "{line}").map_err(io)?;
    }
    out.flush().map_err(io)
}

/// Answers every query with an index already built and scores the rankings.
pub fn evaluate(index: &Index, queries: &[JudgedQuery], k: usize) -> (Metrics, Vec<RunLine>) {
    // One untimed pass warms caches (and the analyser's per-thread buffers), as a running hub would be.
    for query in queries.iter().take(20) {
        index.search(&query.query, RANKING_DEPTH);
    }
    let mut latencies = Vec::with_capacity(queries.len());
    let mut runs = Vec::with_capacity(queries.len());
    for query in queries {
        let started = Instant::now();
        let hits = index.search(&query.query, RANKING_DEPTH);
        latencies.push(started.elapsed().as_secs_f64() * 1e6);
        runs.push(RunLine {
            query_id: query.id.clone(),
            ranked: hits.into_iter().map(|h| h.id).collect(),
        });
    }
    let rankings: Vec<&[String]> = runs.iter().map(|r| r.ranked.as_slice()).collect();
    (score(queries, &rankings, k, &latencies), runs)
}

/// The metrics of rankings (each up to [`RANKING_DEPTH`] ids) against judgements.
pub fn score(
    queries: &[JudgedQuery],
    rankings: &[&[String]],
    k: usize,
    latencies_us: &[f64],
) -> Metrics {
    let n = queries.len().max(1) as f64;
    let mut sums = [0.0f64; 8];
    for (query, ranking) in queries.iter().zip(rankings) {
        let relevant: HashSet<&str> = relevant_ids(query);
        let ranking = &ranking[..ranking.len().min(RANKING_DEPTH)];
        let is_relevant: Vec<bool> = ranking
            .iter()
            .map(|id| relevant.contains(id.as_str()))
            .collect();
        let hits_in = |depth: usize| is_relevant.iter().take(depth).filter(|&&r| r).count() as f64;
        sums[0] += hits_in(1);
        sums[1] += hits_in(5) / 5.0;
        sums[2] += f64::from(hits_in(1) > 0.0);
        sums[3] += f64::from(hits_in(5) > 0.0);
        sums[4] += is_relevant
            .iter()
            .position(|&r| r)
            .map_or(0.0, |p| 1.0 / (p + 1) as f64);
        if !relevant.is_empty() {
            let mut found = 0.0;
            let mut precision_sum = 0.0;
            for (rank, _) in is_relevant.iter().enumerate().filter(|(_, r)| **r) {
                found += 1.0;
                precision_sum += found / (rank + 1) as f64;
            }
            sums[5] += precision_sum / relevant.len() as f64;
        }
        sums[6] += ndcg_at(query, ranking, 10);
        if k > 0 {
            sums[7] += hits_in(k) / k as f64;
        }
    }
    let sr_at_k = queries
        .iter()
        .zip(rankings)
        .filter(|(q, r)| {
            let relevant = relevant_ids(q);
            r.iter().take(k).any(|id| relevant.contains(id.as_str()))
        })
        .count() as f64
        / n;
    Metrics {
        queries: queries.len(),
        k,
        p_at_1: sums[0] / n,
        p_at_5: sums[1] / n,
        sr_at_1: sums[2] / n,
        sr_at_5: sums[3] / n,
        mrr: sums[4] / n,
        map: sums[5] / n,
        p50_us: percentile(latencies_us, 0.50),
        p99_us: percentile(latencies_us, 0.99),
        ndcg_at_10: sums[6] / n,
        sr_at_k,
        p_at_k: sums[7] / n,
    }
}

fn relevant_ids(query: &JudgedQuery) -> HashSet<&str> {
    query.relevant.iter().map(String::as_str).collect()
}

/// Graded nDCG with linear gains; a relevant id without a grade counts 1.
fn ndcg_at(query: &JudgedQuery, ranking: &[String], depth: usize) -> f64 {
    let gain = |id: &str| -> f64 {
        match query.grades.get(id) {
            Some(&g) => g.max(0.0),
            None if query.relevant.iter().any(|r| r == id) => 1.0,
            None => 0.0,
        }
    };
    let discount = |rank: usize| 1.0 / ((rank + 2) as f64).log2();
    let dcg: f64 = ranking
        .iter()
        .take(depth)
        .enumerate()
        .map(|(i, id)| gain(id) * discount(i))
        .sum();
    let mut ideal: Vec<f64> = query
        .grades
        .values()
        .copied()
        .filter(|&g| g > 0.0)
        .collect();
    for id in &query.relevant {
        if !query.grades.contains_key(id) {
            ideal.push(1.0);
        }
    }
    ideal.sort_by(|a, b| b.total_cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(depth)
        .enumerate()
        .map(|(i, g)| g * discount(i))
        .sum();
    if idcg > 0.0 { dcg / idcg } else { 0.0 }
}

/// Nearest-rank percentile.
fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(relevant: &[&str], grades: &[(&str, f64)]) -> JudgedQuery {
        JudgedQuery {
            id: "q".into(),
            query: String::new(),
            relevant: relevant.iter().map(|s| s.to_string()).collect(),
            grades: grades.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    fn ids(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn metrics_follow_the_contract() {
        let queries = vec![query(&["a", "b"], &[]), query(&["z"], &[])];
        let first = ids(&["x", "a", "y", "b", "w"]);
        let second = ids(&["x"]);
        let metrics = score(&queries, &[&first, &second], 5, &[10.0, 30.0]);
        assert_eq!(metrics.queries, 2);
        assert!((metrics.p_at_1 - 0.0).abs() < 1e-9);
        assert!((metrics.p_at_5 - (2.0 / 5.0) / 2.0).abs() < 1e-9);
        assert!((metrics.sr_at_5 - 0.5).abs() < 1e-9);
        assert!((metrics.mrr - 0.25).abs() < 1e-9);
        // AP of the first query: (1/2 + 2/4) / 2 = 0.5; the second has none.
        assert!((metrics.map - 0.25).abs() < 1e-9);
        assert_eq!(metrics.p50_us, 10.0);
        assert_eq!(metrics.p99_us, 30.0);
    }

    #[test]
    fn ndcg_uses_grades() {
        let q = query(&["a", "b"], &[("a", 2.0), ("b", 1.0)]);
        assert!((ndcg_at(&q, &ids(&["a", "b"]), 10) - 1.0).abs() < 1e-9);
        assert!(ndcg_at(&q, &ids(&["b", "a"]), 10) < 1.0);
        assert_eq!(ndcg_at(&q, &ids(&["c"]), 10), 0.0);
    }
}
