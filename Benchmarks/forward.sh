#!/usr/bin/env bash
# Forward passes on a Qwen2.5-0.5B-shaped checkpoint (random weights), in one run: prefill of a
# PROMPT-token prompt and greedy decode of DECODE tokens, for `weightkit run --json`,
# llama.cpp's `llama-bench` and PyTorch (transformers, float32), all on THREADS threads, for the
# HF directory (f32) and the GGUF f32, f16 and q8_0 copies of the same weights (converted by
# llama.cpp's convert_hf_to_gguf.py).
# Files go to bench-out/forward/; the table to bench-out/forward/results.md.
#
# Environment: PYTHON (default .venv/bin/python), LLAMA_CPP_DIR (default Fixtures/.cache/llama.cpp),
# THREADS (2), PROMPT (128), DECODE (32).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export LLAMA_CPP_DIR=${LLAMA_CPP_DIR:-Fixtures/.cache/llama.cpp}
LLAMA=$LLAMA_CPP_DIR/build/bin
THREADS=${THREADS:-2}
PROMPT=${PROMPT:-128}
DECODE=${DECODE:-32}
OUT=bench-out/forward
WK=.build/release/weightkit
MODEL=$OUT/qwen2.5-0.5b-shaped
mkdir -p "$OUT"

swift build -c release --product weightkit >/dev/null
$PY Benchmarks/forward_reference.py make "$OUT"

RESULTS=$OUT/results.jsonl
: > "$RESULTS"
TOKENS=$($PY Benchmarks/forward_reference.py prompt "$PROMPT")

# weightkit: one untimed warm-up pass per file (as llama-bench makes one), then one run whose
# JSON carries both speeds. Without it the first run after the files are written or switched
# pays for cold caches: that put the HF directory, run first, at 124 tok/s against 198 for the
# same weights in the GGUF run after it.
weightkit() {  # label file
  local json
  $WK run "$2" --tokens "$TOKENS" --generate 1 --threads "$THREADS" --json >/dev/null
  json=$($WK run "$2" --tokens "$TOKENS" --generate "$DECODE" --threads "$THREADS" --json)
  echo "{\"engine\": \"weightkit\", \"type\": \"$1\", ${json#\{}" >> "$RESULTS"
}
weightkit "f32 (HF)" "$MODEL"
if [ ! -x "$LLAMA/llama-bench" ]; then
  echo "forward.sh: $LLAMA/llama-bench not found (make llama-cpp): llama.cpp columns left out" >&2
fi
# llama-bench: pp and tg tests, 3 repetitions each, its default f16 KV cache.
llama_bench() {  # type
  "$LLAMA/llama-bench" -m "$OUT/qwen2.5-0.5b-shaped-$1.gguf" -t "$THREADS" -p "$PROMPT" -n "$DECODE" -r 3 -o json 2>/dev/null |
    $PY -c '
import json, sys
tests = json.load(sys.stdin)
pp = next(t["avg_ts"] for t in tests if t["n_prompt"] > 0)
tg = next(t["avg_ts"] for t in tests if t["n_gen"] > 0)
print(json.dumps({"engine": "llama.cpp", "type": sys.argv[1], "prefill_tokens_per_second": pp, "decode_tokens_per_second": tg}))
' "$1" >> "$RESULTS"
}
for type in f32 f16 bf16 q8_0; do
  if [ -x "$LLAMA/llama-bench" ]; then llama_bench "$type"; fi
  weightkit "$type" "$OUT/qwen2.5-0.5b-shaped-$type.gguf"
done
json=$($PY Benchmarks/forward_reference.py torch "$MODEL" "$PROMPT" "$DECODE" "$THREADS")
echo "{\"engine\": \"pytorch\", \"type\": \"f32 (HF)\", ${json#\{}" >> "$RESULTS"

{
echo "## Forward passes: Qwen2.5-0.5B-shaped model (random weights), $THREADS threads"
echo
echo "Prefill of $PROMPT tokens, greedy decode of $DECODE tokens. llama.cpp: llama-bench (3 runs, f16 KV cache);"
echo "PyTorch: transformers $($PY -c 'import transformers; print(transformers.__version__)'), torch $($PY -c 'import torch; print(torch.__version__)'), float32."
echo "Load while measuring: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15-minute load average), $(nproc) cores."
echo
$PY Benchmarks/forward_reference.py table "$RESULTS"
} | tee "$OUT/results.md"
