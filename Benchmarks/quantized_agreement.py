#!/usr/bin/env python3
"""Logit agreement of the quantised files of Benchmarks/quantized.sh with transformers on the same
dequantised weights (issue 18): for each file, transformers (float32) reads the GGUF itself (its
GGUF loader dequantises every tensor with gguf-py), and the full-sequence logits of a 64-token
prompt from WeightKit with activations quantised to 8 bits (the default), WeightKit with
`--exact-activations`, and llama.cpp (llama-cpp-python on the build in Fixtures/.cache, f16 KV
cache as it defaults) are compared with transformers': relative L2 error and max absolute
difference over every position. Prints a Markdown table (and the JSON with --json).

Usage (outside CI; llama.cpp built, llama-cpp-python unpacked, quantized.sh run first):
  LLAMA_CPP_LIB_PATH=Fixtures/.cache/llama.cpp/build/bin PYTHONPATH=Fixtures/.cache/llama_cpp_python-0.3.36 \\
    .venv/bin/python Benchmarks/quantized_agreement.py .build/release/weightkit bench-out/quantized/files.txt [--json]
files.txt: one file a line, "MODEL TYPE PATH" (quantized.sh writes it); MODELS=... keeps those
models only (default: all but the 1.5B shape, whose float32 copy in transformers takes 6 GB).
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import types

import numpy as np
import torch
from transformers import AutoModelForCausalLM

sys.modules.setdefault("diskcache", types.ModuleType("diskcache"))
sys.modules["diskcache"].Cache = object
import llama_cpp  # noqa: E402


def errors(ours: np.ndarray, reference: np.ndarray) -> dict:
    return {"rel_l2": float(np.linalg.norm(ours - reference) / np.linalg.norm(reference)),
            "max_abs": float(np.abs(ours - reference).max())}


def weightkit_logits(binary: str, path: str, prompt: list[int], *flags: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as scratch:
        out = pathlib.Path(scratch) / "logits.npy"
        subprocess.run([binary, "run", path, "--tokens", ",".join(map(str, prompt)), "--logits", str(out),
                        "--threads", "2", *flags], check=True, capture_output=True)
        return np.load(out)


def agreement(binary: str, path: str) -> dict:
    source = pathlib.Path(path)
    model = AutoModelForCausalLM.from_pretrained(str(source.parent), gguf_file=source.name, dtype=torch.float32).eval()
    rng = np.random.default_rng(7)
    prompt = [int(t) for t in rng.integers(0, model.config.vocab_size, 64)]
    with torch.no_grad():
        reference = model(torch.tensor([prompt])).logits[0].float().numpy()
    del model
    llm = llama_cpp.Llama(path, n_ctx=128, logits_all=True, n_threads=2, verbose=False)
    llm.eval(prompt)
    theirs = np.array(llm.scores[:len(prompt)], dtype=np.float32)
    del llm
    return {"weightkit": errors(weightkit_logits(binary, path, prompt), reference),
            "weightkit exact": errors(weightkit_logits(binary, path, prompt, "--exact-activations"), reference),
            "llama.cpp": errors(theirs, reference)}


def main() -> None:
    binary, listing = sys.argv[1], pathlib.Path(sys.argv[2])
    wanted = os.environ.get("MODELS", "").split()
    results = {}
    for line in listing.read_text().splitlines():
        if not line.strip():
            continue
        model, kind, path = line.split(maxsplit=2)
        if (wanted and model not in wanted) or (not wanted and "1.5b" in model):
            continue
        results[f"{model} {kind}"] = agreement(binary, path)
    if "--json" in sys.argv:
        print(json.dumps(results, indent=1))
        return
    engines = ["weightkit", "weightkit exact", "llama.cpp"]
    print("| file | " + " | ".join(f"{e}: rel L2 (max abs)" for e in engines) + " |")
    print("|---|" + "---:|" * len(engines))
    for label, result in results.items():
        cells = [f"{result[e]['rel_l2']:.2e} ({result[e]['max_abs']:.3f})" for e in engines]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
