#!/usr/bin/env bash
# LoRA on a Qwen2.5-0.5B-shaped model (random weights, the one Benchmarks/forward.sh makes) with a
# random PEFT adapter (r=16 on q/k/v/o), in one run:
# - `run --lora` against the base alone: prefill of PROMPT tokens and greedy decode of DECODE
#   tokens, HF f32 and GGUF f16/q8_0 bases, ROUNDS runs each taking turns, medians and overhead;
# - merging: `weightkit convert BASE OUT --lora` (HF -> HF directory, GGUF f16 -> GGUF), PEFT's
#   merge_and_unload() + save_pretrained(), llama-export-lora on the f16 GGUF with the adapter in
#   llama.cpp's layout, and cp + sync of the base's bytes as the floor; wall time and peak RSS
#   from /usr/bin/time.
# Output: bench-out/lora/results.md.
#
# Environment: PYTHON (default .venv/bin/python), LLAMA_CPP_DIR (default Fixtures/.cache/llama.cpp),
# THREADS (2), PROMPT (128), DECODE (32), ROUNDS (5), RANK (16).
# SMALL=1 runs the same steps on the tiny fixture model and adapter (a check that the script
# runs, not a measurement).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export LLAMA_CPP_DIR=${LLAMA_CPP_DIR:-Fixtures/.cache/llama.cpp}
LLAMA=$LLAMA_CPP_DIR/build/bin
THREADS=${THREADS:-2}
PROMPT=${PROMPT:-128}
DECODE=${DECODE:-32}
ROUNDS=${ROUNDS:-5}
RANK=${RANK:-16}
OUT=bench-out/lora
mkdir -p "$OUT"
if [ "${SMALL:-0}" = 1 ]; then
  WK=.build/debug/weightkit
  swift build --product weightkit >/dev/null
  MODEL=Fixtures/models/qwen2-tiny
  GGUF_F16=Fixtures/models/qwen2-tiny-gguf/qwen2-tiny-f16.gguf
  GGUF_Q8=Fixtures/models/qwen2-tiny-gguf/qwen2-tiny-q8_0.gguf
  ADAPTER=Fixtures/lora/qwen2-plain
  PROMPT=8; DECODE=4; ROUNDS=1; RANK=4
  TOKENS=5,17,256,3,99,250,41,8
else
  WK=.build/release/weightkit
  swift build -c release --product weightkit >/dev/null
  FORWARD=bench-out/forward
  MODEL=$FORWARD/qwen2.5-0.5b-shaped
  GGUF_F16=$FORWARD/qwen2.5-0.5b-shaped-f16.gguf
  GGUF_Q8=$FORWARD/qwen2.5-0.5b-shaped-q8_0.gguf
  $PY Benchmarks/forward_reference.py make "$FORWARD" 0.5b f16 q8_0
  ADAPTER=$OUT/adapter-r$RANK
  if [ ! -f "$ADAPTER/adapter_model.safetensors" ]; then
    $PY - "$MODEL" "$ADAPTER" "$RANK" <<'PY'
import sys, torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM
model = AutoModelForCausalLM.from_pretrained(sys.argv[1], dtype=torch.float32)
rank = int(sys.argv[3])
peft = get_peft_model(model, LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                                        lora_dropout=0.0, task_type="CAUSAL_LM"))
torch.manual_seed(0)
with torch.no_grad():
    for name, p in peft.named_parameters():
        if "lora_" in name: p.normal_(0, 0.02)
peft.save_pretrained(sys.argv[2])
PY
  fi
  TOKENS=$($PY Benchmarks/forward_reference.py prompt "$PROMPT")
fi

# --- run --lora against the base alone, taking turns -------------------------------------------
RUNS=$OUT/runs.jsonl
: > "$RUNS"
run_once() {  # label model extra...
  local label=$1 model=$2; shift 2
  echo "{\"label\": \"$label\", $($WK run "$model" --tokens "$TOKENS" --generate "$DECODE" --threads "$THREADS" --json "$@" 2>/dev/null | sed 's/^{//')" >> "$RUNS"
}
for base in "$MODEL" "$GGUF_F16" "$GGUF_Q8"; do
  name=$(basename "$base")
  $WK run "$base" --tokens "$TOKENS" --generate 1 --threads "$THREADS" --lora "$ADAPTER" --json >/dev/null 2>&1
  for _ in $(seq "$ROUNDS"); do
    run_once "$name" "$base"
    run_once "$name --lora" "$base" --lora "$ADAPTER"
  done
done

# --- merging ------------------------------------------------------------------------------------
measure() {  # label command -> "label seconds peak_kib"
  local label=$1; shift
  /usr/bin/time -o "$OUT/time.txt" -f "%e %M" bash -c "$*" >/dev/null 2>"$OUT/stderr.log" || { echo "$label failed" >&2; cat "$OUT/stderr.log" >&2; return 0; }
  echo "$label $(tail -1 "$OUT/time.txt")"
}
MERGES=$OUT/merges.txt
: > "$MERGES"
rm -rf "$OUT"/merged.*
BASE_FILE=$MODEL/model.safetensors
cat "$BASE_FILE" "$GGUF_F16" > /dev/null
measure "cp+sync (HF f32)" "cp $BASE_FILE $OUT/merged.copy && sync $OUT/merged.copy" >> "$MERGES"
measure "weightkit convert --lora (HF -> HF)" "$WK convert $MODEL $OUT/merged.hf --lora $ADAPTER --quiet && sync $OUT/merged.hf/model.safetensors" >> "$MERGES"
measure "PEFT merge_and_unload + save_pretrained" "$PY -c \"
import sys, torch
from peft import PeftModel
from transformers import AutoModelForCausalLM
base = AutoModelForCausalLM.from_pretrained('$MODEL', dtype=torch.float32)
PeftModel.from_pretrained(base, '$ADAPTER').merge_and_unload().save_pretrained('$OUT/merged.peft')
\" && sync $OUT/merged.peft/model.safetensors" >> "$MERGES"
$WK convert "$ADAPTER" "$OUT/adapter.gguf" --base "$MODEL" --quiet --force
measure "cp+sync (GGUF f16)" "cp $GGUF_F16 $OUT/merged.copy16 && sync $OUT/merged.copy16" >> "$MERGES"
measure "weightkit convert --lora (GGUF f16)" "$WK convert $GGUF_F16 $OUT/merged.wk16.gguf --lora $OUT/adapter.gguf --quiet && sync $OUT/merged.wk16.gguf" >> "$MERGES"
if [ -x "$LLAMA/llama-export-lora" ]; then
  measure "llama-export-lora (GGUF f16)" "$LLAMA/llama-export-lora -m $GGUF_F16 --lora $OUT/adapter.gguf -o $OUT/merged.llama16.gguf -t $THREADS && sync $OUT/merged.llama16.gguf" >> "$MERGES"
else
  echo "lora.sh: $LLAMA/llama-export-lora not found (make llama-cpp): left out" >&2
fi
rm -rf "$OUT"/merged.*

$PY - "$RUNS" "$MERGES" "$THREADS" "$PROMPT" "$DECODE" "$RANK" <<'PY' | tee "$OUT/results.md"
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
threads, prompt, decode, rank = sys.argv[3:7]
groups = {}
for run in runs: groups.setdefault(run["label"], []).append(run)
print(f"## LoRA (r={rank} on q/k/v/o): run --lora against the base, and merging")
print()
print(f"Prefill of {prompt} tokens, greedy decode of {decode}, {threads} threads; medians of the runs, base and adapter taking turns.")
print()
print("| base | prefill tok/s | with --lora | overhead | decode tok/s | with --lora | overhead |")
print("|---|---:|---:|---:|---:|---:|---:|")
for label, group in groups.items():
    if label.endswith("--lora"): continue
    adapted = groups.get(label + " --lora", [])
    if not adapted: continue
    m = lambda g, k: statistics.median(r[k] for r in g)
    pp, ppl = m(group, "prefill_tokens_per_second"), m(adapted, "prefill_tokens_per_second")
    tg, tgl = m(group, "decode_tokens_per_second"), m(adapted, "decode_tokens_per_second")
    print(f"| {label} | {pp:.1f} | {ppl:.1f} | {pp / ppl - 1:+.1%} | {tg:.2f} | {tgl:.2f} | {tg / tgl - 1:+.1%} |")
print()
print("| merge | seconds | peak RSS (MiB) |")
print("|---|---:|---:|")
for line in open(sys.argv[2]):
    parts = line.split()
    if len(parts) < 3: continue
    label, seconds, kib = " ".join(parts[:-2]), float(parts[-2]), int(parts[-1])
    print(f"| {label} | {seconds:.2f} | {kib / 1024:.0f} |")
PY
