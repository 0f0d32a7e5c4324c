//! `cargo run --release -p segments --example bench -- [RESIDENTS] [SEED]`: the same figures as
//! `hub bench segments`, printed as one line of JSON.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let residents = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let seed = args.next().map(|a| a.parse()).transpose()?.unwrap_or(42);
    let report = segments::bench::bench(residents, seed);
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
