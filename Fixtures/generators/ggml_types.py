"""One tensor of every ggml type, with gguf-py's float32 decoding of it.

Writes core/ggml_types.gguf (tensors named "t.<TYPE>", shape [3, row]), core/ggml_types/<TYPE>.npy
(gguf-py 0.19.0's dequantised values; Q1_0, which gguf-py cannot decode, from ggml's own
dequantize_row_q1_0) and core/ggml_registry.json (gguf-py's GGML_QUANT_SIZES and ggml's type
traits, for the registry test). Q2_0 (ggml type 42), which gguf-py 0.19.0 does not know at all,
is added from ggml alone: its sizes from ggml's traits, its values from dequantize_row_q2_0.

Quantised blocks are random bytes whose scale fields are overwritten with finite halves, so every
bit pattern of the quant fields is exercised while the values stay finite.
"""
import pathlib

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

from .common import GGML, save_npy, write_json

# Byte offsets of the f16 scale fields inside one block (ggml-common.h).
HALF_SCALE_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
    T.IQ2_XXS: [0], T.IQ2_XS: [0], T.IQ3_XXS: [0], T.IQ1_S: [0], T.IQ4_NL: [0],
    T.IQ3_S: [0], T.IQ2_S: [0], T.IQ4_XS: [0], T.TQ1_0: [52], T.TQ2_0: [64], T.Q1_0: [0],
    T.MXFP4: [], T.NVFP4: [],
}
# ggml types newer than gguf-py 0.19.0: (id, name, offsets of the f16 scale fields).
GGML_ONLY = [(42, "Q2_0", [0])]
# IQ1_M spreads its f16 scale over the top nibbles of four u16 at byte 48.
IQ1_M_SCALES = 48
# Types ggml uses only for intermediate products; registry only.
INTERMEDIATE = {T.Q8_1, T.Q8_K}


def finite_halves(rng, n):
    magnitude = rng.uniform(0.5, 2.0, n) * np.exp2(rng.integers(-10, -2, n).astype(np.float64))
    sign = np.where(rng.random(n) < 0.3, -1.0, 1.0)
    return (magnitude * sign).astype(np.float16)


def random_blocks(rng, qtype, n_blocks):
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    for offset in HALF_SCALE_FIELDS.get(qtype, []):
        raw[:, offset:offset + 2] = finite_halves(rng, n_blocks).view(np.uint8).reshape(n_blocks, 2)
    if qtype == T.IQ1_M:
        h = finite_halves(rng, n_blocks).view(np.uint16)
        scales = raw[:, IQ1_M_SCALES:IQ1_M_SCALES + 8].copy().view(np.uint16)
        for i in range(4):
            nibble = (h >> np.uint16(4 * i)) & np.uint16(0xF)
            scales[:, i] = (scales[:, i] & np.uint16(0x0FFF)) | (nibble << np.uint16(12))
        raw[:, IQ1_M_SCALES:IQ1_M_SCALES + 8] = scales.view(np.uint8)
    return raw


def plain_values(rng, qtype, shape):
    if qtype in (T.F32, T.F64):
        return rng.standard_normal(shape).astype(np.float32 if qtype == T.F32 else np.float64)
    if qtype == T.F16:
        return rng.standard_normal(shape).astype(np.float16)
    if qtype == T.BF16:
        return gguf.quants.quantize(rng.standard_normal(shape).astype(np.float32), T.BF16)
    info = {T.I8: np.int8, T.I16: np.int16, T.I32: np.int32, T.I64: np.int64}[qtype]
    limits = np.iinfo(info)
    return rng.integers(limits.min, limits.max, size=shape, dtype=info, endpoint=True)


def reference_floats(data, qtype):
    """gguf-py's decoding; for the integer and F64 types (which gguf-py returns as NumPy arrays
    of that type) NumPy's astype(float32)."""
    if qtype in (T.I8, T.I16, T.I32, T.I64, T.F64):
        return np.asarray(data).astype(np.float32)
    return np.asarray(gguf.quants.dequantize(data, qtype), dtype=np.float32)


def generate(root: pathlib.Path) -> None:
    out = root / "core"
    rng = np.random.default_rng(20261123)
    ggml = GGML()

    registry = {}
    for qtype in T:
        block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
        traits = ggml.traits(int(qtype))
        registry[qtype.name] = {
            "id": int(qtype), "block_size": block_size, "type_size": type_size,
            "ggml_block_size": int(traits.blck_size), "ggml_type_size": int(traits.type_size),
            "ggml_name": traits.type_name.decode(),
        }
    for type_id, name, _ in GGML_ONLY:
        traits = ggml.traits(type_id)
        assert traits.type_name.decode().upper() == name, name
        registry[name] = {
            "id": type_id, "block_size": int(traits.blck_size), "type_size": int(traits.type_size),
            "ggml_block_size": int(traits.blck_size), "ggml_type_size": int(traits.type_size),
            "ggml_name": name, "sizes_from": "ggml (gguf-py 0.19.0 lacks this type)",
        }
    write_json(out / "ggml_registry.json", registry)

    writer = gguf.GGUFWriter(str(out / "ggml_types.gguf"), arch="weightkit-types")
    expected = {}
    rows = 3
    for qtype in T:
        if qtype in INTERMEDIATE:
            continue
        block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
        row = max(64, 2 * block_size) if block_size == 1 else max(2 * block_size, 256)
        if block_size == 1:
            data = plain_values(rng, qtype, (rows, row))
            if qtype == T.BF16:
                writer.add_tensor(f"t.{qtype.name}", data, raw_dtype=qtype)
            else:
                writer.add_tensor(f"t.{qtype.name}", data)
            raw = data
        else:
            n_blocks = rows * row // block_size
            raw = random_blocks(rng, qtype, n_blocks).reshape(rows, row // block_size * type_size)
            writer.add_tensor(f"t.{qtype.name}", raw, raw_dtype=qtype)
        if qtype == T.Q1_0:
            values = ggml.to_float(int(qtype), raw, rows * row).reshape(rows, row)
        else:
            values = reference_floats(raw, qtype).reshape(rows, row)
        expected[qtype.name] = values
    # ggml-only types: gguf-py's writer sizes a raw tensor from GGML_QUANT_SIZES, so the type is
    # entered there for the duration of the write.
    for type_id, name, scale_fields in GGML_ONLY:
        traits = ggml.traits(type_id)
        block_size, type_size = int(traits.blck_size), int(traits.type_size)
        row = max(2 * block_size, 256)
        n_blocks = rows * row // block_size
        raw = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
        for offset in scale_fields:
            raw[:, offset:offset + 2] = finite_halves(rng, n_blocks).view(np.uint8).reshape(n_blocks, 2)
        raw = raw.reshape(rows, row // block_size * type_size)
        gguf.GGML_QUANT_SIZES[type_id] = (block_size, type_size)
        writer.add_tensor(f"t.{name}", raw, raw_dtype=type_id)
        expected[name] = ggml.to_float(type_id, raw, rows * row).reshape(rows, row)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    # Read the file back with gguf-py: the shapes and decodings recorded are those of the file.
    # gguf-py's reader looks the type id up in its enum: the ggml-only ids are entered there (as
    # pseudo-members) for the read.
    for type_id, name, _ in GGML_ONLY:
        member = int.__new__(T, type_id)
        member._name_, member._value_ = name, type_id
        T._value2member_map_[type_id] = member
    reader = gguf.GGUFReader(str(out / "ggml_types.gguf"))
    listing = []
    for tensor in reader.tensors:
        name = tensor.name.split(".", 1)[1]
        values = expected[name]
        ggml_only = name in {n for _, n, _ in GGML_ONLY}
        if tensor.tensor_type != T.Q1_0 and not ggml_only:
            decoded = reference_floats(tensor.data, tensor.tensor_type)
            assert np.array_equal(decoded.reshape(values.shape).view(np.uint32), values.view(np.uint32)), name
        save_npy(out / "ggml_types" / f"{name}.npy", values)
        listing.append({
            "name": tensor.name, "type": tensor.tensor_type.name, "shape": [int(x) for x in reversed(tensor.shape)],
            "offset": int(tensor.data_offset), "nbytes": int(tensor.n_bytes),
            "reference": f"ggml dequantize_row_{name.lower()}" if name == "Q1_0" or ggml_only
            else "gguf-py 0.19.0 quants.dequantize",
        })
    write_json(out / "ggml_types.json", listing)
