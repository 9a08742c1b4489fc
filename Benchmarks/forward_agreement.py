#!/usr/bin/env python3
"""How close full-sequence logits are to transformers' on the Qwen2.5-0.5B-shaped benchmark model
(bench-out/forward, made by Benchmarks/forward.sh): WeightKit from the Hugging Face directory and
from llama.cpp's GGUF copies, and llama.cpp itself (llama-cpp-python, f16 KV cache as it
defaults) on the same GGUFs. Prints relative L2 error and max absolute difference over every
position of a 64-token prompt.

Usage (outside CI; llama.cpp built, llama-cpp-python unpacked):
  LLAMA_CPP_LIB_PATH=Fixtures/.cache/llama.cpp/build/bin PYTHONPATH=Fixtures/.cache/llama_cpp_python-0.3.36 \\
    .venv/bin/python Benchmarks/forward_agreement.py .build/release/weightkit bench-out/forward
"""
import json
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


def main() -> None:
    weightkit, folder = sys.argv[1], pathlib.Path(sys.argv[2])
    hf = folder / "qwen2.5-0.5b-shaped"
    rng = np.random.default_rng(7)
    model = AutoModelForCausalLM.from_pretrained(hf, dtype=torch.float32).eval()
    prompt = [int(t) for t in rng.integers(0, model.config.vocab_size, 64)]
    with torch.no_grad():
        reference = model(torch.tensor([prompt])).logits[0].numpy()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        sources = {"weightkit hf f32": hf}
        for kind in ["f32", "f16", "q8_0"]:
            sources[f"weightkit gguf {kind}"] = folder / f"qwen2.5-0.5b-shaped-{kind}.gguf"
        for name, path in sources.items():
            out = pathlib.Path(tmp) / "logits.npy"
            subprocess.run([weightkit, "run", str(path), "--tokens", ",".join(map(str, prompt)), "--logits", str(out),
                            "--threads", "2"], check=True, capture_output=True)
            results[name] = errors(np.load(out), reference)
        for kind in ["f32", "f16", "q8_0"]:
            llm = llama_cpp.Llama(str(folder / f"qwen2.5-0.5b-shaped-{kind}.gguf"), n_ctx=128, logits_all=True,
                                  n_threads=2, verbose=False)
            llm.eval(prompt)
            results[f"llama.cpp gguf {kind}"] = errors(np.array(llm.scores[:len(prompt)]), reference)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
