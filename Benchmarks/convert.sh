#!/usr/bin/env bash
# Conversion of a Qwen2.5-0.5B-shaped f32 checkpoint (494 M parameters, random weights; the one
# Benchmarks/forward.sh uses) to GGUF f16 and q8_0: WeightKit against llama.cpp's
# convert_hf_to_gguf.py, and `cp` + `sync` of the same bytes as the floor. Wall time and peak
# resident memory from /usr/bin/time; Q8_0 quantisation speed of weightkit-bench against gguf-py's
# gguf.quants.quantize. Output: bench-out/convert/results.md.
#
# Environment: PYTHON (default .venv/bin/python), LLAMA_CPP_DIR (default Fixtures/.cache/llama.cpp).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
LLAMA_CPP_DIR=${LLAMA_CPP_DIR:-Fixtures/.cache/llama.cpp}
OUT=bench-out/convert
MODEL=bench-out/forward/qwen2.5-0.5b-shaped
WK=.build/release/weightkit
BENCH=.build/release/weightkit-bench
mkdir -p "$OUT"

swift build -c release --product weightkit >/dev/null
swift build -c release --product weightkit-bench >/dev/null
if [ ! -f "$MODEL/model.safetensors" ]; then
  PYTHONPATH=Fixtures:Benchmarks $PY -c '
import sys, pathlib, torch
from transformers import AutoModelForCausalLM, Qwen2Config
from forward_reference import QWEN25_05B
from generators.decoder_models import tiny_tokenizer
directory = pathlib.Path(sys.argv[1])
torch.manual_seed(0)
AutoModelForCausalLM.from_config(Qwen2Config(**QWEN25_05B), dtype=torch.float32).save_pretrained(str(directory), safe_serialization=True)
tiny_tokenizer(directory, 300)
' "$MODEL"
fi
BYTES=$(stat -c %s "$MODEL/model.safetensors")

measure() {  # label command... -> "label seconds peak_kib"
  local label=$1; shift
  rm -f "$OUT"/out.*
  /usr/bin/time -o "$OUT/time.txt" -f "%e %M" "$@" >/dev/null 2>"$OUT/stderr.log"
  echo "$label $(tail -1 "$OUT/time.txt")"
}
copy_and_sync() { cp "$1" "$2" && sync "$2"; }
export -f copy_and_sync

cat "$MODEL/model.safetensors" > /dev/null   # every run starts with the source in the page cache
RESULTS=$OUT/results.txt
: > "$RESULTS"
measure "cp+sync" bash -c "copy_and_sync $MODEL/model.safetensors $OUT/out.copy" >> "$RESULTS"
for type in f16 q8_0; do
  measure "weightkit-$type" bash -c "$WK convert $MODEL $OUT/out.$type.gguf --type $type --quiet --force && sync $OUT/out.$type.gguf" >> "$RESULTS"
  # The wrapper answers llama.cpp's pre-tokenizer check for the benchmark's tiny tokenizer.
  measure "llama.cpp-$type" bash -c "PYTHONPATH=Fixtures $PY -c \"from generators.decoder_models import CONVERT_WRAPPER; import sys; sys.argv = sys.argv[1:]; exec(CONVERT_WRAPPER)\" x $LLAMA_CPP_DIR $MODEL --outfile $OUT/out.$type.gguf --outtype $type && sync $OUT/out.$type.gguf" >> "$RESULTS"
done
rm -f "$OUT"/out.*

$BENCH quantize q8_0 $((1 << 26)) > "$OUT/quantize.jsonl"
$PY -c '
import json, time, numpy as np, gguf
x = np.random.default_rng(1).standard_normal((1 << 20) * 16, dtype=np.float32).reshape(-1, 4096)
gguf.quants.quantize(x[:64], gguf.GGMLQuantizationType.Q8_0)
start = time.perf_counter(); gguf.quants.quantize(x, gguf.GGMLQuantizationType.Q8_0); seconds = time.perf_counter() - start
print(json.dumps({"benchmark": "quantize", "type": "Q8_0", "engine": "gguf-py", "elements": x.size, "seconds": seconds,
                  "elements_per_second": x.size / seconds}))' >> "$OUT/quantize.jsonl"

$PY - "$RESULTS" "$OUT/quantize.jsonl" "$BYTES" <<'PY' | tee "$OUT/results.md"
import json, sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
size = int(sys.argv[3])
timing = {label: (float(seconds), int(kib)) for label, seconds, kib in rows}
floor = timing["cp+sync"][0]
print(f"## Conversion: Qwen2.5-0.5B-shaped f32 checkpoint ({size / 1e9:.2f} GB) to GGUF")
print()
print("| run | seconds | x cp+sync | peak RSS (MiB) |")
print("|---|---:|---:|---:|")
for label, (seconds, kib) in timing.items():
    print(f"| {label} | {seconds:.2f} | {seconds / floor:.2f} | {kib / 1024:.0f} |")
print()
print("| Q8_0 quantisation | threads | G elements/s |")
print("|---|---:|---:|")
for line in open(sys.argv[2]):
    r = json.loads(line)
    print(f"| {r.get('engine', 'weightkit')} | {r.get('threads', 1)} | {r['elements_per_second'] / 1e9:.3f} |")
PY
