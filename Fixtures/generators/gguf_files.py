"""GGUF files that exercise the reader: every metadata type, version 2, big-endian, split sets.

Each file gets a `<name>.json` next to it with gguf-py's reading: version, byte order, alignment,
metadata keys with gguf-py's type names and values, and the tensors (name, ggml type, row-major
shape, absolute offset, byte count). Values are what gguf-py's writer was given and its reader
returned (the script asserts both agree wherever gguf-py's reader can decode the value).
"""
import math
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import gguf
from gguf import GGUFValueType as V, GGMLQuantizationType as T

from .common import write_json, save_npy

UINT64_MAX = 2**64 - 1


def type_names(field) -> list[str]:
    return [t.name for t in field.types]


def type_string(types: list[str]) -> str:
    """gguf-py's type list ['ARRAY', 'ARRAY', 'INT32'] as WeightKit spells it: ARRAY[ARRAY[INT32]]."""
    if types[0] != "ARRAY":
        return types[0]
    return "ARRAY[" + type_string(types[1:]) + "]"


def json_value(value):
    if isinstance(value, (bytes, bytearray)):
        return {"bytes": list(value)}
    if isinstance(value, float):
        return value
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value


def reading(path: pathlib.Path, given: dict | None = None) -> dict:
    """gguf-py's reading of a GGUF file."""
    reader = gguf.GGUFReader(str(path))
    metadata = []
    for name, field in reader.fields.items():
        if name.startswith("GGUF."):
            continue
        types = type_names(field)
        entry = {"key": name, "type": type_string(types), "offset": int(field.offset)}
        if given is not None and name in given:
            entry["value"] = json_value(given[name])
        elif types[0] == "ARRAY" and len(types) > 2:
            continue
        else:
            try:
                entry["value"] = json_value(field.contents())
            except UnicodeDecodeError:
                entry["value"] = {"bytes": list(field.parts[field.data[0]].tobytes())}
        if len(types) == 1 and types[0] != "STRING" and given is not None and name in given:
            # Cross-check: gguf-py's reader returns what its writer was given.
            got = field.contents()
            want = given[name]
            same = (math.isnan(got) and math.isnan(want)) if isinstance(want, float) and math.isnan(want) else got == (np.float32(want) if types[0] == "FLOAT32" else want)
            assert same, (name, got, want)
        metadata.append(entry)
    tensors = [{
        "name": t.name, "type": t.tensor_type.name, "shape": [int(x) for x in reversed(t.shape)],
        "offset": int(t.data_offset), "nbytes": int(t.n_bytes),
    } for t in reader.tensors]
    alignment = reader.alignment
    return {
        "file": path.name, "byte_order": "big" if reader.byte_order == "S" else "little",
        "alignment": int(alignment), "data_offset": int(reader.data_offset),
        "metadata": metadata, "tensors": tensors,
    }


def metadata_file(out: pathlib.Path) -> None:
    """Every value type, arrays of every type, arrays of arrays, invalid UTF-8 in a value,
    uint64 above 2^53, float32 specials, alignment 64."""
    rng = np.random.default_rng(7)
    path = out / "metadata.gguf"
    w = gguf.GGUFWriter(str(path), arch="llama")
    given = {"general.architecture": "llama"}

    def add(key, value, vtype, sub_type=None):
        w.add_key_value(key, value, vtype, sub_type=sub_type)
        given[key] = value

    add("general.alignment", 64, V.UINT32)
    w.data_alignment = 64
    add("test.uint8", 255, V.UINT8)
    add("test.int8", -128, V.INT8)
    add("test.uint16", 65535, V.UINT16)
    add("test.int16", -32768, V.INT16)
    add("test.uint32", 4294967295, V.UINT32)
    add("test.int32", -2147483648, V.INT32)
    add("test.uint64", UINT64_MAX, V.UINT64)
    add("test.uint64_2p53_plus_1", 2**53 + 1, V.UINT64)
    add("test.int64", -(2**63), V.INT64)
    add("test.float32", 0.1, V.FLOAT32)
    add("test.float32_eps", 1e-6, V.FLOAT32)
    add("test.float32_subnormal", float(np.float32(1e-40)), V.FLOAT32)
    add("test.float32_nan", float("nan"), V.FLOAT32)
    add("test.float32_inf", float("inf"), V.FLOAT32)
    add("test.float32_neg_inf", float("-inf"), V.FLOAT32)
    add("test.float64", 0.1, V.FLOAT64)
    add("test.bool_true", True, V.BOOL)
    add("test.bool_false", False, V.BOOL)
    add("test.string", "Grüße, 世界 🦙 \"quoted\"\n\ttab\\", V.STRING)
    add("test.string_invalid_utf8", b"ok\xff\xfe bytes", V.STRING)
    add("test.array.uint8", [0, 1, 255], V.ARRAY, V.UINT8)
    add("test.array.int8", [-128, 0, 127], V.ARRAY, V.INT8)
    add("test.array.uint16", [0, 65535], V.ARRAY, V.UINT16)
    add("test.array.int16", [-32768, 32767], V.ARRAY, V.INT16)
    add("test.array.uint32", [0, 4294967295], V.ARRAY, V.UINT32)
    add("test.array.int32", [-2147483648, 2147483647], V.ARRAY, V.INT32)
    add("test.array.uint64", [0, 2**53 + 1, UINT64_MAX], V.ARRAY, V.UINT64)
    add("test.array.int64", [-(2**63), 2**63 - 1], V.ARRAY, V.INT64)
    add("test.array.float32", [float(np.float32(x)) for x in rng.standard_normal(5)] + [float("nan"), float("inf")], V.ARRAY, V.FLOAT32)
    add("test.array.float64", [0.1, -2.5e300], V.ARRAY, V.FLOAT64)
    add("test.array.bool", [True, False, True], V.ARRAY, V.BOOL)
    add("test.array.string", ["a", "", "ü", "<|im_start|>"], V.ARRAY, V.STRING)
    add("test.array.array", [[1, 2, 3], [4], [5, 6]], V.ARRAY, V.ARRAY)
    add("test.array.array_of_strings", [["x", "y"], ["z"]], V.ARRAY, V.ARRAY)
    long_tokens = [f"tok{i}" for i in range(1000)]
    add("tokenizer.ggml.tokens", long_tokens, V.ARRAY, V.STRING)
    w.add_tensor("a.weight", rng.standard_normal((4, 8)).astype(np.float32))
    w.add_tensor("b.bias", rng.standard_normal(3).astype(np.float16))
    special = rng.standard_normal((4, 16)).astype(np.float32)
    special[0, 3] = np.nan
    special[1, 0] = np.inf
    special[2, 5] = -np.inf
    special[3, 15] = np.nan
    w.add_tensor("c.special", special)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    write_json(out / "metadata.json", reading(path, given))
    statistics(path)


def small_model(path: pathlib.Path, rng, **writer_args) -> dict:
    """A few tensors of plain and block types plus ordinary metadata."""
    w = gguf.GGUFWriter(str(path), arch="llama", **writer_args)
    given = {"general.architecture": "llama", "general.name": "tiny", "llama.block_count": 2,
             "llama.rope.freq_base": 10000.0, "tokenizer.ggml.tokens": ["<s>", "</s>", "a", "b"]}
    w.add_string("general.name", "tiny")
    w.add_uint32("llama.block_count", 2)
    w.add_float32("llama.rope.freq_base", 10000.0)
    w.add_array("tokenizer.ggml.tokens", ["<s>", "</s>", "a", "b"])
    w.add_tensor("token_embd.weight", rng.standard_normal((4, 64)).astype(np.float32))
    w.add_tensor("blk.0.attn_q.weight", rng.standard_normal((64, 64)).astype(np.float16))
    w.add_tensor("blk.0.attn_norm.weight", rng.standard_normal(64).astype(np.float32))
    w.add_tensor("blk.0.ffn_up.weight", gguf.quants.quantize(rng.standard_normal((8, 64)).astype(np.float32), T.Q8_0), raw_dtype=T.Q8_0)
    w.add_tensor("blk.1.ffn_down.weight", gguf.quants.quantize(rng.standard_normal((4, 256)).astype(np.float32), T.Q4_0), raw_dtype=T.Q4_0)
    w.add_tensor("blk.1.bf16.weight", gguf.quants.quantize(rng.standard_normal((2, 32)).astype(np.float32), T.BF16), raw_dtype=T.BF16)
    w.add_tensor("blk.1.ids", rng.integers(-1000, 1000, size=(2, 8), dtype=np.int32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return given


def decoded(path: pathlib.Path, directory: pathlib.Path) -> None:
    """gguf-py's float32 decoding of every tensor of a little-endian file, one .npy each."""
    reader = gguf.GGUFReader(str(path))
    for t in reader.tensors:
        if t.tensor_type in (T.I8, T.I16, T.I32, T.I64, T.F64):
            values = np.asarray(t.data).astype(np.float32)
        else:
            values = np.asarray(gguf.quants.dequantize(t.data, t.tensor_type), dtype=np.float32)
        save_npy(directory / f"{t.name}.npy", values.reshape([int(x) for x in reversed(t.shape)]))


def statistics(path: pathlib.Path) -> None:
    """NumPy's statistics of every tensor (as float64 over the float32 values): min, max, mean,
    population std of the finite values, and the NaN and infinity counts."""
    reader = gguf.GGUFReader(str(path))
    result = {}
    for t in reader.tensors:
        if t.tensor_type in (T.I8, T.I16, T.I32, T.I64, T.F64):
            values = np.asarray(t.data).astype(np.float32)
        else:
            values = np.asarray(gguf.quants.dequantize(t.data, t.tensor_type), dtype=np.float32)
        values = values.reshape(-1).astype(np.float64)
        finite = values[np.isfinite(values)]
        result[t.name] = {
            "min": float(finite.min()), "max": float(finite.max()), "mean": float(finite.mean()),
            "std": float(finite.std()), "nan": int(np.isnan(values).sum()), "inf": int(np.isinf(values).sum()),
        }
    write_json(path.with_suffix(".stats.json"), result)


def version2_file(out: pathlib.Path) -> None:
    """gguf-py writes version 3; version 2 has the same layout, so the field is patched."""
    rng = np.random.default_rng(2)
    path = out / "version2.gguf"
    given = small_model(path, rng)
    data = bytearray(path.read_bytes())
    assert data[4:8] == (3).to_bytes(4, "little")
    data[4:8] = (2).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    result = reading(path, given)
    result["version"] = 2
    write_json(out / "version2.json", result)


def big_endian_file(out: pathlib.Path) -> None:
    """A little-endian file converted by gguf-py's own gguf_convert_endian.py; the decoded
    values recorded are those of the little-endian original."""
    rng = np.random.default_rng(3)
    little = out / "bigendian-source.gguf"
    big = out / "bigendian.gguf"
    w = gguf.GGUFWriter(str(little), arch="llama")
    given = {"general.architecture": "llama", "llama.block_count": 3, "llama.context_length": 4096,
             "llama.rope.freq_base": 500000.0, "test.uint64": UINT64_MAX, "test.int16": -2,
             "tokenizer.ggml.scores": [float(np.float32(x)) for x in [0.5, -1.25, 3.0]],
             "tokenizer.ggml.tokens": ["x", "yz"]}
    w.add_uint32("llama.block_count", 3)
    w.add_uint64("llama.context_length", 4096)  # deliberately UINT64 here
    w.add_float32("llama.rope.freq_base", 500000.0)
    w.add_uint64("test.uint64", UINT64_MAX)
    w.add_int16("test.int16", -2)
    w.add_array("tokenizer.ggml.scores", given["tokenizer.ggml.scores"])
    w.add_array("tokenizer.ggml.tokens", given["tokenizer.ggml.tokens"])
    w.add_tensor("f32", rng.standard_normal((3, 32)).astype(np.float32))
    w.add_tensor("f16", rng.standard_normal((2, 32)).astype(np.float16))
    w.add_tensor("bf16", gguf.quants.quantize(rng.standard_normal((2, 32)).astype(np.float32), T.BF16), raw_dtype=T.BF16)
    w.add_tensor("q8_0", gguf.quants.quantize(rng.standard_normal((2, 64)).astype(np.float32), T.Q8_0), raw_dtype=T.Q8_0)
    w.add_tensor("q4_0", gguf.quants.quantize(rng.standard_normal((2, 64)).astype(np.float32), T.Q4_0), raw_dtype=T.Q4_0)
    from .ggml_types import random_blocks
    w.add_tensor("q4_k", random_blocks(rng, T.Q4_K, 2), raw_dtype=T.Q4_K)
    w.add_tensor("q6_k", random_blocks(rng, T.Q6_K, 2), raw_dtype=T.Q6_K)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    decoded(little, out / "bigendian")
    shutil.copy(little, big)
    script = pathlib.Path(gguf.__file__).parent / "scripts" / "gguf_convert_endian.py"
    subprocess.run([sys.executable, str(script), str(big), "big"], input=b"YES\n", check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    little.unlink()
    result = reading(big, given)
    assert result["byte_order"] == "big"
    write_json(out / "bigendian.json", result)


def split_set(out: pathlib.Path) -> None:
    """gguf-py's writer with split_max_tensors: parts named NAME-0000N-of-0000M.gguf."""
    rng = np.random.default_rng(4)
    directory = out / "split"
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    path = directory / "tiny.gguf"
    small_model(path, rng, split_max_tensors=3)
    parts = sorted(directory.glob("tiny-*-of-*.gguf"))
    assert len(parts) == 3, parts
    write_json(directory / "split.json", {"parts": [reading(p) for p in parts]})


def demo_model(out: pathlib.Path) -> None:
    rng = np.random.default_rng(5)
    path = out / "tiny.gguf"
    given = small_model(path, rng)
    write_json(out / "tiny.json", reading(path, given))
    statistics(path)
    decoded(path, out / "tiny")


def real_data(out: pathlib.Path) -> None:
    """gguf-py's reading of the real vocabulary files in ../shared/realdata (when present)."""
    root = pathlib.Path(__file__).resolve().parents[3] / "shared" / "realdata"
    if not root.exists():
        print("  ../shared/realdata not found; skipping")
        return
    results = {}
    for path in sorted(root.glob("*.gguf")):
        reader = gguf.GGUFReader(str(path))
        fields = reader.fields
        summary = {"tensor_count": len(reader.tensors), "keys": {}}
        for name, field in fields.items():
            if name.startswith("GGUF."):
                continue
            types = type_names(field)
            entry = {"type": type_string(types)}
            if types[0] == "ARRAY":
                entry["count"] = len(field.data)
                values = field.contents()
                entry["first"] = json_value(values[:3])
                entry["last"] = json_value(values[-3:])
                entry["middle_index"] = len(values) // 2
                entry["middle"] = json_value(values[len(values) // 2])
            else:
                entry["value"] = json_value(field.contents())
            summary["keys"][name] = entry
        results[path.name] = summary
    write_json(out / "realdata.json", results)


def generate(root: pathlib.Path) -> None:
    out = root / "core"
    metadata_file(out)
    version2_file(out)
    big_endian_file(out)
    split_set(out)
    demo_model(out)
    real_data(out)
