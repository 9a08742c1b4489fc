"""safetensors files that exercise the reader: every dtype of the safetensors 0.8 package, a
sharded Hugging Face checkpoint written by transformers' save_pretrained.

Each file gets a JSON listing from the reference: tensor names in data-offset order, dtype,
shape, absolute offset and byte count (from the header as the safetensors package wrote it), the
__metadata__ map, and for every dtype with a float meaning a .npy of its float32 values
(NumPy's astype(float32); torch for BF16 and the 8-bit floats; ml_dtypes for FP4 nibbles).
"""
import json
import pathlib
import shutil
import struct

import ml_dtypes
import numpy as np
import safetensors
import torch
from safetensors import TensorSpec, serialize_file
from safetensors.numpy import load_file as numpy_load_file

from .common import save_npy, write_json

SHAPE = (3, 8)


def listing(path: pathlib.Path) -> dict:
    """Reads the header the way the format defines it (json module) and checks the tensor set
    against safetensors.safe_open."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    metadata = header.pop("__metadata__", None) or {}
    tensors = sorted(header.items(), key=lambda item: item[1]["data_offsets"])
    with safetensors.safe_open(str(path), framework="numpy") as f:
        assert set(f.keys()) == {name for name, _ in tensors}
    return {
        "file": path.name,
        "metadata": metadata,
        "tensors": [{
            "name": name, "dtype": info["dtype"], "shape": info["shape"],
            "offset": 8 + n + info["data_offsets"][0],
            "nbytes": info["data_offsets"][1] - info["data_offsets"][0],
        } for name, info in tensors],
    }


def dtype_tensors(rng):
    """(dtype name, raw bytes, float32 values or None) for every dtype."""
    count = SHAPE[0] * SHAPE[1]
    result = []

    def numpy_case(name, array):
        result.append((name, np.ascontiguousarray(array).tobytes(), array.astype(np.float32)))

    numpy_case("F64", rng.standard_normal(SHAPE))
    numpy_case("F32", rng.standard_normal(SHAPE).astype(np.float32))
    numpy_case("F16", rng.standard_normal(SHAPE).astype(np.float16))
    for name, dt in [("I64", np.int64), ("I32", np.int32), ("I16", np.int16), ("I8", np.int8),
                     ("U64", np.uint64), ("U32", np.uint32), ("U16", np.uint16), ("U8", np.uint8)]:
        info = np.iinfo(dt)
        numpy_case(name, rng.integers(info.min, info.max, size=SHAPE, dtype=dt, endpoint=True))
    numpy_case("BOOL", rng.random(SHAPE) < 0.5)

    bf16 = torch.from_numpy(rng.standard_normal(SHAPE).astype(np.float32)).to(torch.bfloat16)
    result.append(("BF16", bf16.view(torch.int16).numpy().tobytes(), bf16.float().numpy()))
    for name, dt in [("F8_E4M3", torch.float8_e4m3fn), ("F8_E5M2", torch.float8_e5m2),
                     ("F8_E4M3FNUZ", torch.float8_e4m3fnuz), ("F8_E5M2FNUZ", torch.float8_e5m2fnuz),
                     ("F8_E8M0", torch.float8_e8m0fnu)]:
        # Every byte pattern appears somewhere across the files' tensors: random bytes.
        raw = torch.from_numpy(rng.integers(0, 256, size=SHAPE, dtype=np.uint8))
        result.append((name, raw.numpy().tobytes(), raw.view(dt).float().numpy()))

    nibbles = rng.integers(0, 16, size=count, dtype=np.uint8)
    packed = (nibbles[0::2] | (nibbles[1::2] << 4)).astype(np.uint8)  # first element in the low nibble
    values = nibbles.view(ml_dtypes.float4_e2m1fn).astype(np.float32).reshape(SHAPE)
    result.append(("F4", packed.tobytes(), values))

    result.append(("F6_E2M3", rng.integers(0, 256, size=count * 6 // 8, dtype=np.uint8).tobytes(), None))
    result.append(("F6_E3M2", rng.integers(0, 256, size=count * 6 // 8, dtype=np.uint8).tobytes(), None))
    c64 = (rng.standard_normal(SHAPE) + 1j * rng.standard_normal(SHAPE)).astype(np.complex64)
    result.append(("C64", c64.tobytes(), None))
    return result


# The safetensors package's writer names dtypes as frameworks do.
WRITER_DTYPES = {
    "BOOL": "bool", "U8": "uint8", "I8": "int8", "I16": "int16", "U16": "uint16", "I32": "int32",
    "U32": "uint32", "I64": "int64", "U64": "uint64", "F16": "float16", "F32": "float32",
    "F64": "float64", "BF16": "bfloat16", "F8_E4M3": "float8_e4m3fn", "F8_E4M3FNUZ": "float8_e4m3fnuz",
    "F8_E5M2": "float8_e5m2", "F8_E5M2FNUZ": "float8_e5m2fnuz", "F8_E8M0": "float8_e8m0fnu",
    "F4": "float4_e2m1fn_x2", "C64": "complex64",
}


def append_tensors(path: pathlib.Path, extra: list) -> None:
    """Adds tensors of dtypes the package's writer does not offer (F6) by rewriting the header
    in the format's own layout; safetensors.safe_open then reads the result as the check."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    for name, dtype, shape, payload in extra:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


def dtypes_file(out: pathlib.Path) -> None:
    rng = np.random.default_rng(11)
    cases = dtype_tensors(rng)
    buffers = []
    specs = {}
    extra = []
    for name, raw, _ in cases:
        buffer = np.frombuffer(raw, dtype=np.uint8).copy()
        buffers.append(buffer)
        if name not in WRITER_DTYPES:
            extra.append((f"t.{name}", name, SHAPE, raw))
            continue
        shape = [SHAPE[0], SHAPE[1] // 2] if name == "F4" else list(SHAPE)
        specs[f"t.{name}"] = TensorSpec(dtype=WRITER_DTYPES[name], shape=shape, data_ptr=buffer.ctypes.data, data_len=buffer.nbytes)
    path = out / "dtypes.safetensors"
    serialize_file(specs, str(path), metadata={"format": "pt", "note": "ünïcode ✓"})
    append_tensors(path, extra)
    result = listing(path)
    result["decodable"] = {}
    for name, _, values in cases:
        result["decodable"][name] = values is not None
        if values is not None:
            save_npy(out / "dtypes" / f"{name}.npy", values.astype(np.float32))
    write_json(out / "dtypes.json", result)


def hf_checkpoint(out: pathlib.Path) -> None:
    """A tiny Qwen2 model saved by transformers, sharded into several files with an index."""
    from transformers import Qwen2Config, Qwen2ForCausalLM
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                         tie_word_embeddings=False)
    model = Qwen2ForCausalLM(config)
    directory = out / "hf-sharded"
    if directory.exists():
        shutil.rmtree(directory)
    model.save_pretrained(str(directory), max_shard_size="20KB", safe_serialization=True)
    shards = sorted(directory.glob("*.safetensors"))
    assert len(shards) > 1, shards
    index = json.loads((directory / "model.safetensors.index.json").read_text())
    parts = [listing(p) for p in shards]
    write_json(out / "hf-sharded.json", {"parts": parts, "weight_map": index["weight_map"]})
    values_dir = out / "hf-sharded-values"
    if values_dir.exists():
        shutil.rmtree(values_dir)
    for shard in shards:
        for name, array in numpy_load_file(str(shard)).items():
            if name in ("model.norm.weight", "model.layers.1.self_attn.k_proj.bias"):
                save_npy(values_dir / f"{name}.npy", array.astype(np.float32))


def generate(root: pathlib.Path) -> None:
    out = root / "core"
    dtypes_file(out)
    hf_checkpoint(out)
