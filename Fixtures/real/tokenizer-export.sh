#!/usr/bin/env bash
# GGUF -> Hugging Face tokenizer files read by transformers' AutoTokenizer: llama.cpp's
# vocabulary GGUFs (the llama-cpp-python sdist's models/) and SmolLM2; see tokenizer_export.py.
set -euo pipefail
exec "${PYTHON:-python3}" "$(dirname "$0")/tokenizer_export.py" "$@"
