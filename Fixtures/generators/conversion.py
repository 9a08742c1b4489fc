"""References for WeightKit's writers, casts and quantisers.

Writes conversion/:
- quant_input.npy: deterministic float32 rows (512 wide) with the awkward cases (zero rows,
  constant rows, ties of +-max, tiny and large magnitudes, values on the f16/bf16 rounding
  boundaries);
- quant/<TYPE>.bin: the stored bytes of quant_input as <TYPE>: F16 by NumPy, BF16 by gguf-py
  (checked equal to torch's), Q8_0/Q4_0/Q4_1/Q5_0/Q5_1 by gguf-py's `gguf.quants`, Q4_K/Q5_K/Q6_K
  by llama.cpp's reference quantizer (`from_float_ref` of libggml-base, when built);
- writer.gguf, writer-aligned.gguf: gguf-py's GGUFWriter with every value type (arrays of
  arrays too) and tensors of several types; the Swift writer must reproduce them byte for byte;
- writer.safetensors: the safetensors package with `__metadata__` and several dtypes, likewise.
"""
import ctypes
import os
import pathlib
import subprocess
import tempfile

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

from .common import GGML, llama_cpp_dir, save_npy, write_json

ROW = 512
LEGACY = [T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1]
KQUANTS = [T.Q4_K, T.Q5_K, T.Q6_K]


def write_bytes(path: pathlib.Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(np.ascontiguousarray(array).tobytes())


def quant_input(rng) -> np.ndarray:
    rows = [rng.standard_normal(ROW) * s for s in (1.0, 0.02, 3.0, 1e-3)]
    rows.append(np.zeros(ROW))
    rows.append(np.full(ROW, 0.37))
    rows.append(np.full(ROW, -2.5))
    tie = rng.standard_normal(ROW) * 0.1
    tie[::32] = 1.0
    tie[5::32] = -1.0                       # equal magnitudes: the first one decides the sign
    rows.append(tie)
    rows.append(rng.standard_normal(ROW) * 1e-6)
    rows.append(rng.standard_normal(ROW) * 100.0)
    sparse = rng.standard_normal(ROW)
    sparse[rng.random(ROW) < 0.8] = 0.0
    rows.append(sparse)
    rows.append(np.abs(rng.standard_normal(ROW)))          # all positive: Q4_1 min > 0
    rows.append(-np.abs(rng.standard_normal(ROW)))
    rows.append(rng.uniform(-1, 1, ROW))
    # Values exactly halfway between two halves and two bfloat16s (rounding to even).
    h = rng.standard_normal(ROW).astype(np.float16).astype(np.float32)
    rows.append((h.view(np.uint32) | np.uint32(0x1000)).view(np.float32))
    b = rng.standard_normal(ROW).astype(np.float32)
    rows.append(((b.view(np.uint32) & np.uint32(0xFFFF0000)) | np.uint32(0x8000)).view(np.float32))
    rows.append(((b.view(np.uint32) & np.uint32(0xFFFE0000)) | np.uint32(0x18000)).view(np.float32))
    for _ in range(7):
        rows.append(rng.standard_normal(ROW) * rng.uniform(0.01, 2))
    return np.stack(rows).astype(np.float32)


STUBS = b"""
#include <stdlib.h>
#include <stddef.h>
void ggml_abort(const char *file, int line, const char *fmt, ...) { abort(); }
size_t ggml_row_size(int type, long long ne) { abort(); }
const char *ggml_type_name(int type) { abort(); }
size_t ggml_type_size(int type) { abort(); }
"""


def llama_cpp_reference_quantizer():
    """llama.cpp's reference quantizers: `from_float_ref` of the built libggml-base, or, when the
    library is not built, ggml-quants.c of the same source tree compiled as ggml-base is
    (-O3, no -march), with stubs for the four ggml.c functions it links to but never calls here."""
    root = llama_cpp_dir() or (pathlib.Path(os.environ["LLAMA_CPP_DIR"]) if os.environ.get("LLAMA_CPP_DIR") else None)
    if root is None:
        return None, None
    if (root / "build" / "bin" / "libggml-base.so").exists():
        ggml = GGML()
        return (lambda qtype, x: ggml.quantize_ref(int(qtype), x)), "llama.cpp from_float_ref (libggml-base)"
    source = root / "ggml" / "src" / "ggml-quants.c"
    if not source.exists():
        return None, None
    work = pathlib.Path(tempfile.mkdtemp())
    (work / "stubs.c").write_bytes(STUBS)
    library = work / "libggml-quants.so"
    subprocess.run(["cc", "-O3", "-DNDEBUG", "-std=gnu11", "-shared", "-fPIC", "-I", str(root / "ggml" / "include"),
                    "-I", str(root / "ggml" / "src"), str(source), str(work / "stubs.c"), "-lm", "-o", str(library)], check=True)
    lib = ctypes.CDLL(str(library))

    def quantize(qtype, x):
        block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
        values = np.ascontiguousarray(x, dtype=np.float32).reshape(-1)
        out = np.empty(values.size // block_size * type_size, dtype=np.uint8)
        fn = getattr(lib, f"quantize_row_{qtype.name.lower().replace('_k', '_K')}_ref")
        fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
        fn(values.ctypes.data, out.ctypes.data, values.size)
        return out
    return quantize, "llama.cpp quantize_row_*_ref (ggml-quants.c compiled as ggml-base)"


def write_quantised(out: pathlib.Path, x: np.ndarray) -> dict:
    save_npy(out / "quant_input.npy", x)
    produced = {}
    write_bytes(out / "quant" / "F16.bin", x.astype(np.float16))
    produced["F16"] = "numpy"
    bf16 = gguf.quants.quantize(x, T.BF16)
    try:
        import torch
        via_torch = torch.from_numpy(x).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint8)
        assert np.array_equal(bf16.reshape(-1), via_torch.reshape(-1)), "gguf-py and torch disagree on bf16"
        produced["BF16"] = "gguf-py (equal to torch)"
    except ImportError:
        produced["BF16"] = "gguf-py"
    write_bytes(out / "quant" / "BF16.bin", bf16)
    for qtype in LEGACY:
        write_bytes(out / "quant" / f"{qtype.name}.bin", gguf.quants.quantize(x, qtype))
        produced[qtype.name] = "gguf-py"
    quantize_ref, producer = llama_cpp_reference_quantizer()
    if quantize_ref is not None:
        for qtype in KQUANTS + LEGACY:
            ref = quantize_ref(qtype, x).reshape(x.shape[0], -1)
            if qtype in LEGACY:
                # ggml's C reference and gguf-py agree on the 32-element types.
                assert np.array_equal(ref, np.fromfile(out / "quant" / f"{qtype.name}.bin", dtype=np.uint8).reshape(ref.shape)), qtype.name
                continue
            write_bytes(out / "quant" / f"{qtype.name}.bin", ref)
            produced[qtype.name] = producer
    return produced


def add_every_value_type(w: gguf.GGUFWriter) -> None:
    V = gguf.GGUFValueType
    w.add_key_value("t.uint8", 200, V.UINT8)
    w.add_key_value("t.int8", -100, V.INT8)
    w.add_key_value("t.uint16", 60000, V.UINT16)
    w.add_key_value("t.int16", -30000, V.INT16)
    w.add_key_value("t.uint32", 4_000_000_000, V.UINT32)
    w.add_key_value("t.int32", -2_000_000_000, V.INT32)
    w.add_key_value("t.float32", 0.1, V.FLOAT32)
    w.add_key_value("t.bool", True, V.BOOL)
    w.add_key_value("t.string", "héllo\nworld", V.STRING)
    w.add_key_value("t.uint64", 2**63 + 5, V.UINT64)
    w.add_key_value("t.int64", -(2**62), V.INT64)
    w.add_key_value("t.float64", 1e-300, V.FLOAT64)
    w.add_key_value("t.empty_string", "", V.STRING)
    w.add_array("t.array.int32", [1, -2, 3])
    w.add_array("t.array.string", ["a", "", "ünï"])
    w.add_key_value("t.array.float32", [0.5, -1.25], V.ARRAY, sub_type=V.FLOAT32)
    w.add_key_value("t.array.bool", [True, False], V.ARRAY, sub_type=V.BOOL)
    w.add_key_value("t.array.uint8", [1, 2, 255], V.ARRAY, sub_type=V.UINT8)
    w.add_array("t.array.empty", [])
    w.add_array("t.array.nested", [[1, 2], [3]])
    w.add_array("t.array.nested_strings", [["x", "y"], ["z"]])


def write_gguf(path: pathlib.Path, rng, alignment: int | None) -> None:
    w = gguf.GGUFWriter(str(path), arch="weightkit-writer")
    if alignment is not None:
        w.add_custom_alignment(alignment)
    add_every_value_type(w)
    w.add_tensor("a.f32", rng.standard_normal((3, 5)).astype(np.float32))
    w.add_tensor("b.f16", rng.standard_normal((7,)).astype(np.float16))
    x = rng.standard_normal((2, 64)).astype(np.float32)
    w.add_tensor("c.q8_0", gguf.quants.quantize(x, T.Q8_0), raw_dtype=T.Q8_0)
    w.add_tensor("d.i32", np.arange(6, dtype=np.int32).reshape(1, 2, 3))
    w.add_tensor("e.empty", np.zeros((0, 4), dtype=np.float32))
    w.add_tensor("f.bf16", gguf.quants.quantize(x[:1], T.BF16), raw_dtype=T.BF16)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_safetensors(path: pathlib.Path, rng) -> None:
    from safetensors.numpy import save_file
    tensors = {
        "model.z": rng.standard_normal((2, 3)).astype(np.float32),
        "model.a": rng.standard_normal((4,)).astype(np.float16),
        "ids": np.arange(5, dtype=np.int64),
        "mask": np.array([True, False, True]),
        "bytes": np.arange(7, dtype=np.uint8),
        "scalar": np.array(1.5, dtype=np.float64),
        "model.b": rng.standard_normal((3, 1)).astype(np.float32),
    }
    save_file(tensors, str(path), metadata={"format": "pt", "note": "quote \" and é"})


def write_verification(out: pathlib.Path, root: pathlib.Path, rng) -> None:
    """A checkpoint with NaNs and infinities (their counts by NumPy), and hashlib's SHA-256 of
    every tensor's stored bytes in a llama.cpp GGUF and in a safetensors file."""
    import hashlib
    from safetensors.numpy import save_file
    tensors = {
        "clean": rng.standard_normal((4, 8)).astype(np.float32),
        "holes": rng.standard_normal((3, 16)).astype(np.float16),
        "ids": np.arange(4, dtype=np.int64),
    }
    tensors["holes"][0, 3] = np.nan
    tensors["holes"][2, 7] = np.inf
    tensors["holes"][1, 1] = -np.inf
    save_file(tensors, str(out / "nonfinite.safetensors"))
    counts = {name: {"nan": int(np.isnan(t).sum()) if t.dtype.kind == "f" else 0,
                     "inf": int(np.isinf(t).sum()) if t.dtype.kind == "f" else 0} for name, t in tensors.items()}
    hashes = {}
    gguf_path = "models/qwen3-tiny-gguf/qwen3-tiny-q8_0.gguf"
    reader = gguf.GGUFReader(str(root / gguf_path))
    hashes[gguf_path] = {t.name: hashlib.sha256(np.ascontiguousarray(t.data).tobytes()).hexdigest() for t in reader.tensors}
    from safetensors import safe_open
    with safe_open(str(out / "nonfinite.safetensors"), "np") as f:
        hashes["conversion/nonfinite.safetensors"] = {k: hashlib.sha256(np.ascontiguousarray(f.get_tensor(k)).tobytes()).hexdigest() for k in f.keys()}
    write_json(out / "verify.json", {"nonfinite": counts, "sha256": hashes})


def generate(root: pathlib.Path) -> None:
    out = root / "conversion"
    rng = np.random.default_rng(20261124)
    produced = write_quantised(out, quant_input(rng))
    write_gguf(out / "writer.gguf", rng, None)
    write_gguf(out / "writer-aligned.gguf", rng, 64)
    write_safetensors(out / "writer.safetensors", rng)
    # Read the writers' outputs back with the references' readers.
    reader = gguf.GGUFReader(str(out / "writer-aligned.gguf"))
    assert reader.alignment == 64
    write_json(out / "quant.json", {"row": ROW, "producers": produced})
    write_verification(out, root, np.random.default_rng(20261125))
