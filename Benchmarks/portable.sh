#!/usr/bin/env bash
# The portable build (kernels for every instruction-set tier, chosen at run time) against the
# native build it replaced, in one run: the last commit whose Package.swift still compiled for
# the build machine (-march=native, -target-cpu native, -enforce-exclusivity=unchecked), built
# with its own flags in .build-native/, and this tree's release build.
#
# Measured, the two binaries taking turns ROUNDS times (this machine's memory bandwidth drifts
# over minutes, so back-to-back blocks would compare two machines):
#   - weightkit-bench decode on bench-out/decode.gguf (Q4_K, Q6_K, Q8_0 to float32), best of
#     each binary's rounds;
#   - weightkit run --json on the forward benchmark's GGUF files (bench-out/forward/, written by
#     forward.sh) plus a Q4_K_M copy made here with llama-quantize, median prefill and decode
#     tokens per second.
# Output: bench-out/portable/results.md (and runs.jsonl).
#
# Environment: NATIVE_COMMIT (default: found from Package.swift's history), ROUNDS (5),
# THREADS (2), PROMPT (128), DECODE (32), TYPES (f32 f16 bf16 q8_0 q4_k_m).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
LLAMA=${LLAMA_CPP_DIR:-Fixtures/.cache/llama.cpp}/build/bin
OUT=bench-out/portable
FORWARD=bench-out/forward
NAME=qwen2.5-0.5b-shaped
ROUNDS=${ROUNDS:-5}
THREADS=${THREADS:-2}
PROMPT=${PROMPT:-128}
DECODE=${DECODE:-32}
TYPES=${TYPES:-f32 f16 bf16 q8_0 q4_k_m}
mkdir -p "$OUT"

# The commit before the change: the parent of the last commit that removed -march=native.
if [ -z "${NATIVE_COMMIT:-}" ]; then
  NATIVE_COMMIT=$(git rev-parse "$(git log -1 --format=%H -S'-march=native' -- Package.swift)^")
fi
SRC=.build-native/src
if [ "$(cat .build-native/commit 2>/dev/null)" != "$NATIVE_COMMIT" ]; then
  rm -rf "$SRC" && mkdir -p "$SRC"
  git archive "$NATIVE_COMMIT" | tar -x -C "$SRC"
  echo "$NATIVE_COMMIT" > .build-native/commit
fi
for product in weightkit weightkit-bench; do
  (cd "$SRC" && swift build -c release --scratch-path ../build --product "$product" >/dev/null)
  swift build -c release --product "$product" >/dev/null
done
NATIVE=.build-native/build/release
PORTABLE=.build/release

[ -f bench-out/decode.gguf ] || $PY Benchmarks/make_bench_files.py bench-out > /dev/null
if [[ " $TYPES " == *" q4_k_m "* ]] && [ ! -f "$FORWARD/$NAME-q4_k_m.gguf" ]; then
  "$LLAMA/llama-quantize" "$FORWARD/$NAME-f32.gguf" "$FORWARD/$NAME-q4_k_m.gguf" Q4_K_M >/dev/null 2>&1
fi
TOKENS=$($PY Benchmarks/forward_reference.py prompt "$PROMPT")

RUNS=$OUT/runs.jsonl
: > "$RUNS"
for build in native portable; do   # warm-up: page the files in once per binary
  bin=$NATIVE; [ $build = portable ] && bin=$PORTABLE
  for type in $TYPES; do "$bin/weightkit" run "$FORWARD/$NAME-$type.gguf" --tokens "$TOKENS" --generate 1 --threads "$THREADS" --json >/dev/null 2>&1; done
done
for round in $(seq "$ROUNDS"); do
  for build in native portable; do
    bin=$NATIVE; [ $build = portable ] && bin=$PORTABLE
    "$bin/weightkit-bench" decode bench-out/decode.gguf 2>/dev/null | sed "s/^{/{\"build\": \"$build\", \"round\": $round, /" >> "$RUNS"
    for type in $TYPES; do
      json=$("$bin/weightkit" run "$FORWARD/$NAME-$type.gguf" --tokens "$TOKENS" --generate "$DECODE" --threads "$THREADS" --json 2>/dev/null)
      echo "{\"build\": \"$build\", \"round\": $round, \"benchmark\": \"forward\", \"type\": \"$type\", ${json#\{}" >> "$RUNS"
    done
  done
done

{
echo "## Portable build against the native one ($(git rev-parse --short "$NATIVE_COMMIT"), -march=native)"
echo
echo "Best of $ROUNDS rounds for decoding to float32 (one thread and $(nproc)); median of $ROUNDS for forward passes on the"
echo "Qwen2.5-0.5B-shaped model ($THREADS threads, prefill of $PROMPT tokens, decode of $DECODE); the two builds taking turns."
echo "Portable tier: $($PORTABLE/weightkit run "$FORWARD/$NAME-f32.gguf" --tokens 1 --generate 1 --json 2>&1 >/dev/null | head -1)."
echo "Load while measuring: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores."
echo
$PY - "$RUNS" <<'EOF'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
def pick(build, **keys):
    return [r for r in runs if r["build"] == build and all(r.get(k) == v for k, v in keys.items())]
print("| benchmark | native | portable | portable / native |")
print("| --- | ---: | ---: | ---: |")
for kind in dict.fromkeys(r["type"] for r in runs if r["benchmark"] == "decode"):
    for threads in sorted({r["threads"] for r in runs if r["benchmark"] == "decode"}):
        n = max(r["elements_per_second"] for r in pick("native", benchmark="decode", type=kind, threads=threads)) / 1e9
        p = max(r["elements_per_second"] for r in pick("portable", benchmark="decode", type=kind, threads=threads)) / 1e9
        print(f"| decode {kind} to f32, {threads} thread(s), G elements/s | {n:.2f} | {p:.2f} | {p / n:.2f} |")
for kind in dict.fromkeys(r["type"] for r in runs if r["benchmark"] == "forward"):
    for key, label in (("prefill_tokens_per_second", "prefill"), ("decode_tokens_per_second", "decode")):
        n = statistics.median(r[key] for r in pick("native", benchmark="forward", type=kind))
        p = statistics.median(r[key] for r in pick("portable", benchmark="forward", type=kind))
        print(f"| forward {kind}, {label} tok/s | {n:.1f} | {p:.1f} | {p / n:.2f} |")
EOF
} | tee "$OUT/results.md"
