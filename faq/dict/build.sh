#!/usr/bin/env bash
# Regenerates faq/dict/ipadic.vibrato.zst from IPADIC's source as Debian ships it (package `mecab-ipadic`,
# EUC-JP CSV and .def files under /usr/share/mecab/dic/ipadic). Needs: iconv, zstd, cargo.
#   apt-get install -y mecab-ipadic zstd && faq/dict/build.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="${IPADIC_SRC:-/usr/share/mecab/dic/ipadic}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# vibrato reads UTF-8; IPADIC is EUC-JP. Sort the CSV list so the output is reproducible.
for f in $(ls "$src"/*.csv | LC_ALL=C sort); do
    iconv -f EUC-JP -t UTF-8 "$f"
done > "$work/lex.csv"
for f in matrix.def char.def unk.def; do
    iconv -f EUC-JP -t UTF-8 "$src/$f" > "$work/$f"
done
echo "lexicon entries: $(wc -l < "$work/lex.csv")" >&2

cd "$here/../.."
# The faq library embeds the dictionary; give it an empty stand-in on the very first build.
[ -e "$here/ipadic.vibrato.zst" ] || : > "$here/ipadic.vibrato.zst"
cargo run --release -p faq --example build_dict -- "$work" "$work/ipadic.vibrato"
zstd -q -19 -f "$work/ipadic.vibrato" -o "$here/ipadic.vibrato.zst"
ls -l "$here/ipadic.vibrato.zst" >&2
