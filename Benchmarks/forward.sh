#!/usr/bin/env bash
# Forward passes on a Qwen2.5-0.5B-shaped checkpoint (random weights), in one run: prefill of a
# PROMPT-token prompt and greedy decode of DECODE tokens, for `weightkit run --json`,
# llama.cpp's `llama-bench` and PyTorch (transformers, float32), all on THREADS threads, for the
# HF directory (f32) and the GGUF f32, f16, bf16 and q8_0 copies of the same weights (converted
# by llama.cpp's convert_hf_to_gguf.py).
# Files go to bench-out/forward/; the table to bench-out/forward/results.md.
#
# SHAPE=1.5b runs a Qwen2.5-1.5B-shaped checkpoint instead (files and table in
# bench-out/forward-1.5b/), for the GGUF TYPES only (default there: f16 bf16 q8_0) and without
# PyTorch: its feed-forward rows of 8,960 values are long enough for the decode kernels' grouped
# rows (Docs/MODELS.md, "Matrix products").
#
# Environment: PYTHON (default .venv/bin/python), LLAMA_CPP_DIR (default Fixtures/.cache/llama.cpp),
# THREADS (2), PROMPT (128), DECODE (32), SHAPE (0.5b), TYPES.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export LLAMA_CPP_DIR=${LLAMA_CPP_DIR:-Fixtures/.cache/llama.cpp}
LLAMA=$LLAMA_CPP_DIR/build/bin
THREADS=${THREADS:-2}
PROMPT=${PROMPT:-128}
DECODE=${DECODE:-32}
SHAPE=${SHAPE:-0.5b}
if [ "$SHAPE" = 0.5b ]; then
  OUT=bench-out/forward; TYPES=${TYPES:-f32 f16 bf16 q8_0}; REFERENCE_ROWS=1
else
  OUT=bench-out/forward-$SHAPE; TYPES=${TYPES:-f16 bf16 q8_0}; REFERENCE_ROWS=0
fi
WK=.build/release/weightkit
NAME=qwen2.5-$SHAPE-shaped
MODEL=$OUT/$NAME
mkdir -p "$OUT"

swift build -c release --product weightkit >/dev/null
# shellcheck disable=SC2086
$PY Benchmarks/forward_reference.py make "$OUT" "$SHAPE" $TYPES

RESULTS=$OUT/results.jsonl
: > "$RESULTS"
TOKENS=$($PY Benchmarks/forward_reference.py prompt "$PROMPT")

# Each engine runs ROUNDS times per file, the two engines taking turns (llama-bench, then
# weightkit, then llama-bench again...), and each speed is the median of its runs. Taking turns
# matters here: this machine's memory bandwidth, which bounds decode, drifts by 30% over minutes,
# so runs made one engine after the other compare two different machines. Each engine makes one
# untimed warm-up pass per file first (llama-bench makes its own); without it the first run
# after the files are written or switched pays for cold caches.
ROUNDS=${ROUNDS:-5}
RUNS=$OUT/runs.jsonl
: > "$RUNS"
weightkit_run() {  # label file
  echo "{\"engine\": \"weightkit\", \"type\": \"$1\", $($WK run "$2" --tokens "$TOKENS" --generate "$DECODE" --threads "$THREADS" --json | sed 's/^{//')" >> "$RUNS"
}
# llama-bench: one pp and one tg test per call, its default f16 KV cache.
llama_bench_run() {  # type
  "$LLAMA/llama-bench" -m "$OUT/$NAME-$1.gguf" -t "$THREADS" -p "$PROMPT" -n "$DECODE" -r 1 -o json 2>/dev/null |
    $PY -c '
import json, sys
tests = json.load(sys.stdin)
pp = next(t["avg_ts"] for t in tests if t["n_prompt"] > 0)
tg = next(t["avg_ts"] for t in tests if t["n_gen"] > 0)
print(json.dumps({"engine": "llama.cpp", "type": sys.argv[1], "prefill_tokens_per_second": pp, "decode_tokens_per_second": tg}))
' "$1" >> "$RUNS"
}
if [ ! -x "$LLAMA/llama-bench" ]; then
  echo "forward.sh: $LLAMA/llama-bench not found (make llama-cpp): llama.cpp columns left out" >&2
fi
if [ "$REFERENCE_ROWS" = 1 ]; then
  $WK run "$MODEL" --tokens "$TOKENS" --generate 1 --threads "$THREADS" --json >/dev/null
  for _ in $(seq "$ROUNDS"); do weightkit_run "f32 (HF)" "$MODEL"; done
fi
for type in $TYPES; do
  file=$OUT/$NAME-$type.gguf
  $WK run "$file" --tokens "$TOKENS" --generate 1 --threads "$THREADS" --json >/dev/null
  for _ in $(seq "$ROUNDS"); do
    if [ -x "$LLAMA/llama-bench" ]; then llama_bench_run "$type"; fi
    weightkit_run "$type" "$file"
  done
done
# The median of each engine's runs per type (a run now and then is 20-30% off), in the order
# they first appear.
$PY -c '
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
groups = {}
for run in runs: groups.setdefault((run["engine"], run["type"]), []).append(run)
for (engine, kind), group in groups.items():
    median = lambda key: statistics.median(r[key] for r in group)
    print(json.dumps({"engine": engine, "type": kind, "prefill_tokens_per_second": median("prefill_tokens_per_second"),
                      "decode_tokens_per_second": median("decode_tokens_per_second"), "runs": len(group)}))
' "$RUNS" >> "$RESULTS"
if [ "$REFERENCE_ROWS" = 1 ]; then
  json=$($PY Benchmarks/forward_reference.py torch "$MODEL" "$PROMPT" "$DECODE" "$THREADS")
  echo "{\"engine\": \"pytorch\", \"type\": \"f32 (HF)\", ${json#\{}" >> "$RESULTS"
fi

{
echo "## Forward passes: Qwen2.5-${SHAPE^^}-shaped model (random weights), $THREADS threads"
echo
echo "Prefill of $PROMPT tokens, greedy decode of $DECODE tokens; each figure the median of $ROUNDS runs, llama.cpp and WeightKit taking turns. llama.cpp: llama-bench (f16 KV cache);"
if [ "$REFERENCE_ROWS" = 1 ]; then
  echo "PyTorch: transformers $($PY -c 'import transformers; print(transformers.__version__)'), torch $($PY -c 'import torch; print(torch.__version__)'), float32."
fi
echo "Load while measuring: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15-minute load average), $(nproc) cores."
echo
$PY Benchmarks/forward_reference.py table "$RESULTS"
echo
echo "Round by round (each WeightKit run against the llama.cpp run just before it), the median ratio and its range:"
echo
$PY Benchmarks/forward_reference.py paired "$RUNS"
} | tee "$OUT/results.md"
