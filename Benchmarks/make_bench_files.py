#!/usr/bin/env python3
"""Builds the large inputs of `make bench` in bench-out/ (never committed) and times the Python
references on them: gguf-py's GGUFReader and dequantisation, the safetensors package's safe_open.

Usage: make_bench_files.py OUT_DIR
"""
import json
import pathlib
import resource
import subprocess
import sys
import time

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "Fixtures"))
from generators.ggml_types import random_blocks  # noqa: E402

REALDATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "realdata" / "ggml-vocab-qwen2.gguf"


def qwen_header_file(out: pathlib.Path) -> pathlib.Path:
    """The real Qwen2 tokenizer metadata (151,936 tokens, 151,387 merges) plus 400 tensor infos
    named and shaped like a Qwen2 model's (tensor data kept tiny: 1-D F32 of 32 elements)."""
    path = out / "qwen-header.gguf"
    if path.exists():
        return path
    reader = gguf.GGUFReader(str(REALDATA))
    writer = gguf.GGUFWriter(str(path), arch="qwen2")
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        vtype = field.types[0]
        if vtype == gguf.GGUFValueType.ARRAY:
            writer.add_key_value(name, field.contents(), vtype, sub_type=field.types[-1])
        else:
            writer.add_key_value(name, field.contents(), vtype)
    rng = np.random.default_rng(0)
    names = ["attn_q.weight", "attn_k.weight", "attn_v.weight", "attn_output.weight", "attn_q.bias",
             "attn_k.bias", "attn_v.bias", "attn_norm.weight", "ffn_norm.weight", "ffn_gate.weight",
             "ffn_up.weight", "ffn_down.weight"]
    count = 0
    layer = 0
    while count < 397:
        for n in names:
            if count >= 397:
                break
            writer.add_tensor(f"blk.{layer}.{n}", rng.standard_normal(32).astype(np.float32))
            count += 1
        layer += 1
    for n in ["token_embd.weight", "output_norm.weight", "output.weight"]:
        writer.add_tensor(n, rng.standard_normal(32).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def decode_file(out: pathlib.Path, elements: int) -> pathlib.Path:
    """Q4_K, Q6_K and Q8_0 tensors of `elements` random blocks with finite scales."""
    path = out / "decode.gguf"
    if path.exists():
        return path
    rng = np.random.default_rng(1)
    writer = gguf.GGUFWriter(str(path), arch="bench")
    for qtype in (T.Q4_K, T.Q6_K, T.Q8_0):
        block_size, _ = gguf.GGML_QUANT_SIZES[qtype]
        rows = elements // 4096
        raw = random_blocks(rng, qtype, elements // block_size).reshape(rows, -1)
        writer.add_tensor(qtype.name.lower(), raw, raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def safetensors_files(out: pathlib.Path) -> list[pathlib.Path]:
    """A 2 MB and a 2 GB safetensors file with the same 290 tensor names."""
    from safetensors.numpy import save_file
    paths = []
    for label, total in (("2MB", 2 * 10**6), ("2GB", 2 * 10**9)):
        path = out / f"model-{label}.safetensors"
        paths.append(path)
        if path.exists():
            continue
        per = total // 290 // 4
        tensors = {f"model.layers.{i // 12}.t{i % 12}.weight": np.zeros(per, dtype=np.float32) for i in range(290)}
        save_file(tensors, str(path))
    return paths


def time_gguf_py_reader(path: pathlib.Path) -> dict:
    """GGUFReader in a fresh process: wall time and peak resident memory."""
    code = ("import gguf,sys,resource; r=gguf.GGUFReader(sys.argv[1]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    return {"seconds": time.perf_counter() - start, "max_rss_kib": int(result.stdout.strip())}


def time_gguf_py_decode(path: pathlib.Path) -> dict:
    reader = gguf.GGUFReader(str(path))
    result = {}
    for tensor in reader.tensors:
        data = np.asarray(tensor.data)
        gguf.quants.dequantize(data[:16], tensor.tensor_type)  # warm up (grids, imports)
        start = time.perf_counter()
        gguf.quants.dequantize(data, tensor.tensor_type)
        seconds = time.perf_counter() - start
        result[tensor.tensor_type.name] = {"elements": int(tensor.n_elements), "seconds": seconds,
                                           "elements_per_second": tensor.n_elements / seconds}
    return result


def time_safe_open(paths: list[pathlib.Path]) -> dict:
    code = ("import safetensors,sys,time; t=time.perf_counter(); f=safetensors.safe_open(sys.argv[1],'numpy'); "
            "k=list(f.keys()); print(time.perf_counter()-t)")
    result = {}
    for path in paths:
        runs = []
        for _ in range(5):
            out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
            runs.append(float(out.stdout.strip()))
        result[path.name] = {"open_seconds_min": min(runs)}
    return result


def main() -> None:
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    header = qwen_header_file(out)
    decode = decode_file(out, elements=32 * 1024 * 1024)
    st = safetensors_files(out)
    report = {
        "gguf_py_reader": time_gguf_py_reader(header),
        "gguf_py_decode": time_gguf_py_decode(decode),
        "safetensors_open": time_safe_open(st),
    }
    (out / "python-references.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
