#!/usr/bin/env python3
"""Evidence that a GGUF WeightKit converts from a Hugging Face checkpoint (with its tokenizer)
loads in llama.cpp and computes transformers' logits.

For each tiny model in Fixtures/models (weights, tokenizer.json, transformers' logits.npy for
reference.json's prompt), converts with `weightkit convert` to f32, f16 and q8_0, evaluates the
prompt with llama.cpp through llama-cpp-python (logits for all positions), and prints the max
absolute difference and relative L2 error against transformers' logits, and the max absolute
difference from llama.cpp's logits on the GGUF llama.cpp's own converter wrote.

Mistral and Phi-3 attend through a sliding window that llama.cpp does not apply (it reads Mistral
as `llama` and disables Phi-3's window): their logits are compared with transformers' for the
same weights without the window (`full_attention_logits.npy`), and llama.cpp's greedy tokens
from WeightKit's GGUF with reference.json's `llama_cpp` tokens, on a prompt whose generation
stays within the window.

Usage (outside CI; llama.cpp built, llama-cpp-python unpacked):
  LLAMA_CPP_LIB_PATH=Fixtures/.cache/llama.cpp/build/bin PYTHONPATH=Fixtures/.cache/llama_cpp_python-0.3.36 \\
    .venv/bin/python Benchmarks/llama_cpp_logits.py .build/release/weightkit OUT.json
"""
import json
import pathlib
import subprocess
import sys
import tempfile
import types

import numpy as np

sys.modules.setdefault("diskcache", types.ModuleType("diskcache"))   # only its cache classes import it
sys.modules["diskcache"].Cache = object
import llama_cpp  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODELS = ["qwen2-tiny", "qwen3-tiny", "llama-tiny", "qwen3moe-tiny", "mistral-tiny", "phi3-tiny"]
TYPES = ["f32", "f16", "q8_0"]


def llama_logits(path: pathlib.Path, prompt: list[int]) -> np.ndarray:
    model = llama_cpp.Llama(model_path=str(path), logits_all=True, n_ctx=64, n_threads=2, verbose=False)
    model.eval(prompt)
    return np.array(model.scores[: len(prompt)], dtype=np.float64)


def llama_greedy(path: pathlib.Path, prompt: list[int], count: int) -> list[int]:
    model = llama_cpp.Llama(model_path=str(path), logits_all=True, n_ctx=256, n_threads=2, verbose=False,
                            type_k=llama_cpp.GGML_TYPE_F32, type_v=llama_cpp.GGML_TYPE_F32)
    model.eval(prompt)
    tokens = []
    for _ in range(count):
        tokens.append(int(np.argmax(model.scores[model.n_tokens - 1])))
        model.eval([tokens[-1]])
    return tokens


def main(weightkit: str, out: str) -> None:
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        for name in MODELS:
            source = ROOT / "Fixtures" / "models" / name
            reference = json.loads((source / "reference.json").read_text())
            windowed = "window" in reference
            expected = np.load(source / ("full_attention_logits.npy" if windowed else "logits.npy")).astype(np.float64)
            for outtype in TYPES:
                gguf = pathlib.Path(scratch) / f"{name}-{outtype}.gguf"
                subprocess.run([weightkit, "convert", str(source), str(gguf), "--type", outtype, "--tokenizer-pre", "default", "--quiet"],
                               check=True)
                got = llama_logits(gguf, reference["prompt"])
                d = got - expected
                # The same model converted by llama.cpp's own convert_hf_to_gguf.py.
                theirs = llama_logits(ROOT / "Fixtures" / "models" / f"{name}-gguf" / f"{name}-{outtype}.gguf", reference["prompt"])
                results.append({"model": name, "type": outtype, "positions": len(reference["prompt"]),
                                "max_abs": float(np.abs(d).max()),
                                "rel_l2": float(np.linalg.norm(d) / np.linalg.norm(expected)),
                                "greedy_equal": bool((got.argmax(-1) == expected.argmax(-1)).all()),
                                "max_abs_vs_llama_cpp_converter": float(np.abs(got - theirs).max())})
                if windowed:
                    results[-1]["versus"] = "transformers without the window"
                    if outtype == "f32":
                        greedy = llama_greedy(gguf, reference["llama_cpp"]["prompt"], len(reference["llama_cpp"]["greedy"]))
                        results[-1]["greedy_within_window_equal"] = greedy == reference["llama_cpp"]["greedy"]
                print(json.dumps(results[-1]), flush=True)
    pathlib.Path(out).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
