"""References for `weightkit diff`: the statistics NumPy computes for pairs of checkpoints of the
same model in different formats and types.

Hugging Face tensors are put under GGUF names with gguf-py's TensorNameMap, per-expert tensors
stacked as llama.cpp's Qwen2MoeModel does, llama's q/k rows permuted with llama.cpp's own
LlamaModel.permute; GGUF tensors are read and dequantised by gguf-py. For each pair, in float64:
rel_l2 = ||a-b|| / ||a||, max_abs = max |a-b|, cosine = a.b / (||a|| ||b||), a the reference.

Writes conversion/diff/<case>.json: {"a", "b", "tensors": {name: {rel_l2, max_abs, cosine}},
"only_in_a", "only_in_b"} with paths relative to Fixtures/.
"""
import json
import pathlib
import re
import sys

import numpy as np
import gguf
from safetensors.numpy import load_file

from .common import llama_cpp_dir, write_json

CASES = [
    ("qwen3-hf-vs-q8_0", "models/qwen3-tiny", "models/qwen3-tiny-gguf/qwen3-tiny-q8_0.gguf"),
    ("llama-hf-vs-q8_0", "models/llama-tiny", "models/llama-tiny-gguf/llama-tiny-q8_0.gguf"),
    ("llama-hf-vs-f16", "models/llama-tiny", "models/llama-tiny-gguf/llama-tiny-f16.gguf"),
    ("qwen3moe-hf4x-vs-q8_0", "models/qwen3moe-tiny-4x", "models/qwen3moe-tiny-gguf/qwen3moe-tiny-q8_0.gguf"),
    ("qwen2-f32-vs-q8_0", "models/qwen2-tiny-gguf/qwen2-tiny-f32.gguf", "models/qwen2-tiny-gguf/qwen2-tiny-q8_0.gguf"),
]
ARCHES = {"llama": gguf.MODEL_ARCH.LLAMA, "qwen2": gguf.MODEL_ARCH.QWEN2, "qwen3": gguf.MODEL_ARCH.QWEN3,
          "qwen3_moe": gguf.MODEL_ARCH.QWEN3MOE}


def read_gguf(path: pathlib.Path) -> dict:
    reader = gguf.GGUFReader(str(path))
    out = {}
    for t in reader.tensors:
        shape = tuple(int(d) for d in reversed(t.shape))
        values = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type)
        out[t.name] = np.asarray(values, dtype=np.float32).reshape(shape)
    return out


def read_hf_as_gguf(directory: pathlib.Path) -> dict:
    sys.path.insert(0, str(llama_cpp_dir()))
    from conversion.llama import LlamaModel
    config = json.loads((directory / "config.json").read_text())
    model_type = config["model_type"]
    names = gguf.get_tensor_name_map(ARCHES[model_type], config["num_hidden_layers"])
    tensors = load_file(str(directory / "model.safetensors"))
    experts: dict = {}
    out = {}
    for name, value in tensors.items():
        match = re.match(r"model\.layers\.(\d+)\.mlp\.experts\.(\d+)\.(\w+)_proj\.weight", name)
        if match:
            layer, expert, projection = int(match[1]), int(match[2]), match[3]
            experts.setdefault((layer, projection), {})[expert] = value
            continue
        if model_type == "llama" and name.endswith(("q_proj.weight", "k_proj.weight")):
            heads = config["num_attention_heads"]
            kv = config["num_key_value_heads"] if name.endswith("k_proj.weight") else heads
            value = LlamaModel.permute(value, heads, kv)
        mapped = names.get_name(name, try_suffixes=(".weight", ".bias"))
        out[mapped] = value
    for (layer, projection), slices in experts.items():
        stacked = np.stack([slices[e] for e in range(len(slices))])
        out[names.get_name(f"model.layers.{layer}.mlp.experts.{projection}_proj.weight", try_suffixes=(".weight",))] = stacked
    return out


def read(root: pathlib.Path, relative: str) -> dict:
    path = root / relative
    return read_gguf(path) if path.suffix == ".gguf" else read_hf_as_gguf(path)


def statistics(a: np.ndarray, b: np.ndarray) -> dict:
    x = a.astype(np.float64).ravel()
    y = b.astype(np.float64).ravel()
    d = x - y
    return {"rel_l2": float(np.sqrt(d @ d) / np.sqrt(x @ x)), "max_abs": float(np.max(np.abs(d))),
            "cosine": float((x @ y) / (np.sqrt(x @ x) * np.sqrt(y @ y)))}


def generate(root: pathlib.Path) -> None:
    for case, left, right in CASES:
        a, b = read(root, left), read(root, right)
        shared = [name for name in a if name in b]
        for name in shared:
            assert a[name].shape == b[name].shape, (case, name, a[name].shape, b[name].shape)
        write_json(root / "conversion" / "diff" / f"{case}.json", {
            "a": left, "b": right,
            "tensors": {name: statistics(a[name], b[name]) for name in sorted(shared)},
            "only_in_a": sorted(set(a) - set(b)), "only_in_b": sorted(set(b) - set(a)),
        })
