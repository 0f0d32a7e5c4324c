//! Compiles IPADIC's MeCab source (already converted to UTF-8 by `dict/build.sh`) into a vibrato dictionary.
//!
//! Usage: `cargo run --release -p faq --example build_dict -- SRC_DIR OUT_FILE`
//! where SRC_DIR holds `lex.csv` (all `*.csv` concatenated), `matrix.def`, `char.def` and `unk.def`.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::PathBuf;

use vibrato::SystemDictionaryBuilder;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let (Some(src), Some(out)) = (args.next(), args.next()) else {
        return Err("usage: build_dict SRC_DIR OUT_FILE".into());
    };
    let src = PathBuf::from(src);
    let open = |name: &str| -> std::io::Result<BufReader<File>> {
        Ok(BufReader::new(File::open(src.join(name))?))
    };
    let dict = SystemDictionaryBuilder::from_readers(
        open("lex.csv")?,
        open("matrix.def")?,
        open("char.def")?,
        open("unk.def")?,
    )?;
    let bytes = dict.write(BufWriter::new(File::create(&out)?))?;
    eprintln!("wrote {bytes} bytes to {}", PathBuf::from(out).display());
    Ok(())
}
