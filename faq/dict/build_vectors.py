#!/usr/bin/env python3
"""Extracts static word vectors for the FAQ ranker from the `ja-ginza` wheel on PyPI (chiVe-based vectors,
20,000 rows x 300, MIT/Apache-2.0; see VECTORS-LICENSE) and keeps the words IPADIC can produce as base forms.

Output (faq/dict/vectors.bin.zst, read by src/vectors.rs), little-endian:
  magic b"FAQVEC1\\0", rows u32, dims u32, words u32,
  scale f32 per row, then rows*dims int8 (each row quantised to its own max-abs scale),
  then per word: row u32, byte length u16, UTF-8 bytes.

Usage: pip download --no-deps ja-ginza==5.3.0 -d /tmp/w && python3 faq/dict/build_vectors.py /tmp/w/ja_ginza-5.3.0-py3-none-any.whl
Needs numpy and msgpack (pip), iconv and zstd, and Debian's mecab-ipadic for the word list.
"""
import glob, io, json, struct, subprocess, sys, zipfile

import msgpack
import numpy as np

MASK = (1 << 64) - 1


def murmur64a(data: bytes, seed: int = 1) -> int:
    """MurmurHash64A, spaCy's string hash (seed 1)."""
    m, r = 0xC6A4A7935BD1E995, 47
    h = (seed ^ (len(data) * m)) & MASK
    n = len(data) // 8
    for i in range(n):
        k = int.from_bytes(data[8 * i:8 * i + 8], "little")
        k = (k * m) & MASK
        k ^= k >> r
        k = (k * m) & MASK
        h ^= k
        h = (h * m) & MASK
    tail = data[8 * n:]
    if tail:
        h ^= int.from_bytes(tail, "little")
        h = (h * m) & MASK
    h ^= h >> r
    h = (h * m) & MASK
    h ^= h >> r
    return h


def ipadic_words(src="/usr/share/mecab/dic/ipadic"):
    words = set()
    for path in sorted(glob.glob(f"{src}/*.csv")):
        with open(path, encoding="euc-jp", errors="replace") as f:
            for line in f:
                cols = line.rstrip("\n").split(",")
                if len(cols) > 10:
                    words.add(cols[0])
                    if cols[10] != "*":
                        words.add(cols[10])
    return words


def main(wheel, out):
    with zipfile.ZipFile(wheel) as z:
        base = next(n for n in z.namelist() if n.endswith("/vocab/vectors")).rsplit("/", 1)[0]
        vectors = np.load(io.BytesIO(z.read(base + "/vectors")))
        key2row = msgpack.unpackb(z.read(base + "/key2row"), strict_map_key=False)
        strings = json.loads(z.read(base + "/strings.json"))
    wanted = ipadic_words()
    words = []
    for s in strings:
        if s in wanted:
            row = key2row.get(murmur64a(s.encode("utf-8")))
            if row is not None:
                words.append((s, row))
    print(f"{len(strings)} strings, {len(key2row)} keys, {len(words)} IPADIC words kept", file=sys.stderr)
    rows, dims = vectors.shape
    scale = np.maximum(np.abs(vectors).max(axis=1), 1e-9) / 127.0
    quantised = np.clip(np.round(vectors / scale[:, None]), -127, 127).astype(np.int8)
    buf = io.BytesIO()
    buf.write(b"FAQVEC1\0")
    buf.write(struct.pack("<III", rows, dims, len(words)))
    buf.write(scale.astype("<f4").tobytes())
    buf.write(quantised.tobytes())
    for s, row in sorted(words):
        b = s.encode("utf-8")
        buf.write(struct.pack("<IH", row, len(b)))
        buf.write(b)
    subprocess.run(["zstd", "-q", "-19", "-f", "-o", out], input=buf.getvalue(), check=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "faq/dict/vectors.bin.zst")
