#!/usr/bin/env bash
# Quantisation of the Qwen2.5-0.5B-shaped checkpoint (494 M parameters, random weights; the one
# Benchmarks/forward.sh and convert.sh use), as an f16 GGUF, to Q4_K_M, Q6_K, IQ4_XS and (with
# an importance matrix computed by llama-imatrix on a short text) IQ2_XS: `weightkit quantize`
# against llama-quantize with the same thread count, side by side in one run. Wall time, and
# peak anonymous memory (RssAnon sampled from /proc/PID/status: mapped file pages excluded),
# by Benchmarks/measure_rss.py. Output: bench-out/quantize/results.md.
#
# Environment: PYTHON (default .venv/bin/python), LLAMA_CPP_DIR (default Fixtures/.cache/llama.cpp),
# THREADS (default: all cores).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
LLAMA_CPP_DIR=${LLAMA_CPP_DIR:-Fixtures/.cache/llama.cpp}
THREADS=${THREADS:-$(nproc)}
OUT=bench-out/quantize
MODEL=bench-out/forward/qwen2.5-0.5b-shaped
WK=.build/release/weightkit
QUANTIZE=$LLAMA_CPP_DIR/build/bin/llama-quantize
IMATRIX=$LLAMA_CPP_DIR/build/bin/llama-imatrix
mkdir -p "$OUT"

swift build -c release --product weightkit >/dev/null
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
SOURCE=$OUT/model-f16.gguf
# The f16 GGUF by llama.cpp's own converter (the wrapper answers its pre-tokenizer check for the
# benchmark's tiny tokenizer, so llama-imatrix can load the vocabulary).
[ -f "$SOURCE" ] || PYTHONPATH=Fixtures $PY -c "from generators.decoder_models import CONVERT_WRAPPER; import sys; sys.argv = sys.argv[1:]; exec(CONVERT_WRAPPER)" \
  x "$LLAMA_CPP_DIR" "$MODEL" --outfile "$SOURCE" --outtype f16 >/dev/null 2>&1
if [ ! -f "$OUT/imatrix.gguf" ]; then
  PYTHONPATH=Fixtures $PY -c 'from generators.decoder_models import CORPUS; print(CORPUS * 4)' > "$OUT/text.txt"
  $IMATRIX -m "$SOURCE" -f "$OUT/text.txt" -o "$OUT/imatrix.gguf" -c 128 -b 128 -t "$THREADS" --no-ppl --chunks 4 >/dev/null 2>&1
fi
cat "$SOURCE" > /dev/null   # every run starts with the source in the page cache

RESULTS=$OUT/results.txt
: > "$RESULTS"
for mix in Q4_K_M Q6_K IQ4_XS IQ2_XS; do
  extra=()
  [ "$mix" = IQ2_XS ] && extra=(--imatrix "$OUT/imatrix.gguf")
  rm -f "$OUT"/out.*
  echo "weightkit $mix $($PY Benchmarks/measure_rss.py $WK quantize "${extra[@]}" "$SOURCE" "$OUT/out.wk.gguf" "$mix" "$THREADS" --quiet)" >> "$RESULTS"
  echo "llama-quantize $mix $($PY Benchmarks/measure_rss.py $QUANTIZE "${extra[@]}" "$SOURCE" "$OUT/out.llama.gguf" "$mix" "$THREADS")" >> "$RESULTS"
  if cmp -s "$OUT/out.wk.gguf" "$OUT/out.llama.gguf"; then echo "same $mix yes" >> "$RESULTS"; else echo "same $mix NO" >> "$RESULTS"; fi
done
rm -f "$OUT"/out.*

$PY - "$RESULTS" "$THREADS" <<'PY' | tee "$OUT/results.md"
import sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
timing = {(r[0], r[1]): (float(r[2]), int(r[3])) for r in rows if r[0] != "same"}
same = {r[1]: r[2] for r in rows if r[0] == "same"}
print(f"## Quantisation: Qwen2.5-0.5B-shaped f16 GGUF, {sys.argv[2]} threads")
print()
print("| mix | weightkit s | llama-quantize s | speed-up | weightkit peak RssAnon (MiB) | llama-quantize peak RssAnon (MiB) | same bytes |")
print("|---|---:|---:|---:|---:|---:|---|")
for mix in ["Q4_K_M", "Q6_K", "IQ4_XS", "IQ2_XS"]:
    w, l = timing[("weightkit", mix)], timing[("llama-quantize", mix)]
    print(f"| {mix} | {w[0]:.2f} | {l[0]:.2f} | {l[0] / w[0]:.2f}x | {w[1] / 1024:.0f} | {l[1] / 1024:.0f} | {same.get(mix)} |")
PY
