//! Runs `hub faq eval` without the hub:
//! `cargo run --release -p faq --example eval -- --faq FAQ.jsonl --queries QUERIES.jsonl [--k 5] [--run RUN.jsonl]`
//! Prints the contract's JSON line on stdout; `--weights w1,w2,...` overrides the signal weights for experiments.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut faq = None;
    let mut queries = None;
    let mut run = None;
    let mut k = 5;
    let mut params = faq::Params::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--faq" => faq = Some(PathBuf::from(value()?)),
            "--queries" => queries = Some(PathBuf::from(value()?)),
            "--run" => run = Some(PathBuf::from(value()?)),
            "--k" => k = value()?.parse()?,
            "--weights" => {
                let weights: Vec<f32> = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?;
                params.weights = weights
                    .try_into()
                    .map_err(|w| format!("need {} weights, got {w:?}", faq::SIGNALS.len()))?;
            }
            "--translation-share" => params.translation_share = value()?.parse()?,
            "--smoothing" => params.smoothing = value()?.parse()?,
            "--candidates" => params.candidates = value()?.parse()?,
            "--translation-candidates" => params.translation_candidates = value()?.parse()?,
            "--k1" => params.k1 = value()?.parse()?,
            "--semantic-floor" => params.semantic_floor = value()?.parse()?,
            "--semantic-rank-k" => params.semantic_rank_k = value()?.parse()?,
            "--semantic-candidates" => params.semantic_candidates = value()?.parse()?,
            "--b" => params.b = value()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let (Some(faq), Some(queries)) = (faq, queries) else {
        return Err(
            "usage: eval --faq FAQ.jsonl --queries QUERIES.jsonl [--k 5] [--run RUN.jsonl]".into(),
        );
    };
    let started = std::time::Instant::now();
    let metrics = faq::eval::run_eval_with(&faq, &queries, k, run.as_deref(), params)?;
    eprintln!(
        "dictionary load {:.0} ms; total {:.1} s",
        faq::analysis::dictionary_load_micros().unwrap_or(0) as f64 / 1000.0,
        started.elapsed().as_secs_f64()
    );
    println!("{}", serde_json::to_string(&metrics)?);
    Ok(())
}
