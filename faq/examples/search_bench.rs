//! Benchmarks the sentence encoder and the FAQ search on one core:
//! `cargo run --release -p faq --example search_bench -- --faq FAQ.jsonl --queries QUERIES.jsonl [--rounds 3]`
//! (or `--dir faq/data`). Prints the index build time (cold, then rebuilt with the encoder's cache warm), the
//! encoder's and the search's p50/p99 per query (search includes encoding), and the process's resident memory.

use std::path::PathBuf;
use std::time::Instant;

fn percentile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

fn resident_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut faq_path, mut dir, mut queries_path, mut rounds) = (None, None, None, 3usize);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--faq" => faq_path = Some(PathBuf::from(value()?)),
            "--dir" => dir = Some(PathBuf::from(value()?)),
            "--queries" => queries_path = Some(PathBuf::from(value()?)),
            "--rounds" => rounds = value()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let faq = match (faq_path, dir) {
        (Some(path), _) => faq::eval::read_faq_jsonl(&path)?,
        (None, Some(dir)) => faq::load_dir(&dir)?,
        (None, None) => return Err("give --faq FAQ.jsonl or --dir DIR".into()),
    };
    let queries: Vec<String> = match queries_path {
        Some(path) => faq::eval::read_queries_jsonl(&path)?
            .into_iter()
            .map(|q| q.query)
            .collect(),
        None => faq.entries.iter().map(|e| e.question.clone()).collect(),
    };
    let before = resident_mb();
    let started = Instant::now();
    faq::analysis::dictionary()?;
    let with_dictionary = resident_mb();
    let encoder = faq::encoder::encoder()?;
    let load = started.elapsed().as_secs_f64();
    println!(
        "sentence encoder in memory: {:.0} MB",
        resident_mb() - with_dictionary
    );
    let started = Instant::now();
    let index = faq::Index::build(&faq)?;
    let cold = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let rebuilt = faq::Index::build(&faq)?;
    let warm = started.elapsed().as_secs_f64();
    drop(rebuilt);
    println!(
        "entries {}; dictionary + encoder load {load:.2} s; index build {cold:.2} s cold, {warm:.2} s with the encoder cache warm",
        faq.entries.len()
    );
    let (mut encode, mut search) = (Vec::new(), Vec::new());
    let mut tokens = 0usize;
    for _ in 0..rounds {
        for query in &queries {
            let started = Instant::now();
            let ids = encoder.tokenizer().encode(query);
            std::hint::black_box(encoder.encode_ids(&ids));
            encode.push(started.elapsed().as_secs_f64() * 1e6);
            tokens += ids.len();
            let started = Instant::now();
            std::hint::black_box(index.search(query, 10));
            search.push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    println!(
        "queries {} x {rounds}, {:.1} pieces each; encode p50 {:.0} us p99 {:.0} us; search (with encoding) p50 {:.0} us p99 {:.0} us",
        queries.len(),
        tokens as f64 / encode.len().max(1) as f64,
        percentile(&mut encode, 0.5),
        percentile(&mut encode, 0.99),
        percentile(&mut search, 0.5),
        percentile(&mut search, 0.99),
    );
    println!(
        "resident memory {:.0} MB ({:.0} MB more than before loading)",
        resident_mb(),
        resident_mb() - before
    );
    Ok(())
}
