#!/usr/bin/env bash
# Tokenizers (issue 16), side by side in one run: encoding 1 MB of mixed-language text (llama.cpp's
# tokenizer test cases repeated, Benchmarks/tokenizer_text.py) with llama.cpp's Qwen2 BPE and
# Llama SPM vocabularies, WeightKit on one thread (from the GGUF, and from the tokenizer.json
# WeightKit writes for it) against the Python `tokenizers` package and llama-tokenize
# (Benchmarks/tokenizer_reference.py); then loading the 151,936-token Qwen2 vocabulary from GGUF
# and from tokenizer.json (best of 20). TEXT_BYTES changes the text size (e.g. for a quick check).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench-out}/tokenizers
PY=${PY:-.venv/bin/python}
WK=${WK:-.build/release/weightkit}
BENCH=${BENCH:-.build/release/weightkit-bench}
LLAMA=${LLAMA:-Fixtures/.cache/llama.cpp/build/bin}
MODELS=${MODELS:-Fixtures/.cache/llama.cpp/models}
mkdir -p "$OUT"
$PY Benchmarks/tokenizer_text.py "$MODELS" "$OUT/text.txt" "${TEXT_BYTES:-1048576}"
for vocab in qwen2 llama-spm; do
  $WK convert "$MODELS/ggml-vocab-$vocab.gguf" "$OUT/$vocab-hf" --force --quiet
done
echo
echo "## Tokenizers: encoding $(stat -c %s "$OUT/text.txt") bytes of llama.cpp's test cases, one thread; loading a vocabulary"
echo
echo '```json'
for vocab in qwen2 llama-spm; do
  $BENCH tokenizer-encode "$MODELS/ggml-vocab-$vocab.gguf" "$OUT/text.txt"
  $BENCH tokenizer-encode "$OUT/$vocab-hf/tokenizer.json" "$OUT/text.txt"
  $PY Benchmarks/tokenizer_reference.py "$MODELS/ggml-vocab-$vocab.gguf" "$OUT/$vocab-hf/tokenizer.json" "$OUT/text.txt" \
    "$LLAMA/llama-tokenize"
done
$BENCH tokenizer-load "$MODELS/ggml-vocab-qwen2.gguf" "$OUT/qwen2-hf/tokenizer.json"
echo '```'
