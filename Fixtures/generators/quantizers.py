"""ggml's own quantisers on deterministic rows: the bytes WeightKit's wk_quantize_rows must equal.

Writes core/quantizers/inputs.npy (float32 rows chosen to reach the edge paths: all zero,
constant, outliers, a zero sub-block, tiny values, sparse rows, many ties), importance.npy (one
weight per column, as llama-quantize hands the normalised imatrix to ggml, a few of them zero),
short.npy (rows of 96 values: the whole-row statistics of the 32-element types), and for every
type ggml writes, <TYPE>.bin (ggml_quantize_chunk without weights) and <TYPE>.imatrix.bin (with
them), plus index.json (type id, row length, rows, sha256 of each output).

The reference is llama.cpp's libggml-base (built by `make llama-cpp`), called through ctypes.
"""
import ctypes
import hashlib
import pathlib

import numpy as np

from .common import GGML, save_npy, write_json

# Every type llama.cpp 0.3.36 quantises to (ggml_quantize_chunk's switch), by ggml id.
TYPES = {
    "F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q5_0": 6, "Q5_1": 7, "Q8_0": 8,
    "Q2_K": 10, "Q3_K": 11, "Q4_K": 12, "Q5_K": 13, "Q6_K": 14,
    "IQ2_XXS": 16, "IQ2_XS": 17, "IQ3_XXS": 18, "IQ1_S": 19, "IQ4_NL": 20, "IQ3_S": 21, "IQ2_S": 22,
    "IQ4_XS": 23, "IQ1_M": 29, "BF16": 30, "TQ1_0": 34, "TQ2_0": 35, "MXFP4": 39, "Q1_0": 41, "Q2_0": 42,
}
# ggml asserts on these without weights (ggml_quantize_requires_imatrix).
NEEDS_WEIGHTS = {"IQ2_XXS", "IQ2_XS", "IQ1_S"}
# The float casts ignore weights: recorded once.
PLAIN_ONLY = {"F32", "F16", "BF16"}
ROW = 512
SHORT_ROW = 96


def edge_rows(rng) -> np.ndarray:
    rows = []
    rows.append(rng.standard_normal(ROW))                                  # 0 plain
    rows.append(np.zeros(ROW))                                             # 1 all zero
    rows.append(np.full(ROW, 0.37))                                        # 2 constant
    r = rng.standard_normal(ROW) * 0.02                                    # 3 outliers
    r[rng.choice(ROW, 6, replace=False)] *= 400
    rows.append(r)
    r = rng.standard_normal(ROW)                                           # 4 zero sub-blocks
    r[32:64] = 0
    r[256 + 16:256 + 32] = 0
    r[448:512] = 0
    rows.append(r)
    rows.append(rng.standard_normal(ROW) * 1e-9)                           # 5 tiny
    r = np.zeros(ROW)                                                      # 6 sparse, negative
    idx = rng.choice(ROW, 40, replace=False)
    r[idx] = -np.abs(rng.standard_normal(40))
    rows.append(r)
    rows.append(np.round(rng.laplace(size=ROW) * 2) / 2)                   # 7 heavy tail, ties
    r = rng.standard_normal(ROW)                                           # 8 symmetric ties
    r[::2] = 0.5
    r[1::2] = -0.5
    r[100:140] = rng.standard_normal(40)
    rows.append(r)
    rows.append(rng.uniform(-1, 1, ROW) * np.exp(rng.standard_normal(ROW)))  # 9 mixed scales
    return np.asarray(rows, dtype=np.float32)


def quantize(ggml, lib, type_id, values, weights):
    rows, n_per_row = values.shape
    traits = ggml.traits(type_id)
    size = rows * n_per_row // traits.blck_size * traits.type_size
    out = np.zeros(size, dtype=np.uint8)
    values = np.ascontiguousarray(values, dtype=np.float32)
    w = None if weights is None else np.ascontiguousarray(weights, dtype=np.float32)
    written = lib.ggml_quantize_chunk(type_id, values.ctypes.data, out.ctypes.data, 0, rows, n_per_row,
                                      None if w is None else w.ctypes.data)
    assert written == size, (type_id, written, size)
    return out


def generate(root: pathlib.Path) -> None:
    out = root / "core" / "quantizers"
    rng = np.random.default_rng(20260414)
    ggml = GGML()
    lib = ggml.lib
    lib.ggml_quantize_chunk.restype = ctypes.c_size_t
    lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                                        ctypes.c_int64, ctypes.c_void_p]

    inputs = edge_rows(rng)
    importance = np.exp(rng.standard_normal(ROW)).astype(np.float32)
    importance[rng.choice(ROW, 8, replace=False)] = 0
    short = (rng.standard_normal((4, SHORT_ROW)) * np.array([[1.0], [0.01], [30.0], [1.0]])).astype(np.float32)
    short[3, 32:64] = 0
    short_importance = np.exp(rng.standard_normal(SHORT_ROW)).astype(np.float32)
    save_npy(out / "inputs.npy", inputs)
    save_npy(out / "importance.npy", importance)
    save_npy(out / "short.npy", short)
    save_npy(out / "short_importance.npy", short_importance)

    index = []
    for name, type_id in TYPES.items():
        block = int(ggml.traits(type_id).blck_size)
        for weighted in (False, True):
            if (not weighted and name in NEEDS_WEIGHTS) or (weighted and name in PLAIN_ONLY):
                continue
            for label, values, weights in (("inputs", inputs, importance), ("short", short, short_importance)):
                if values.shape[1] % block:
                    continue
                data = quantize(ggml, lib, type_id, values, weights if weighted else None)
                suffix = (".imatrix" if weighted else "") + ("" if label == "inputs" else ".short")
                path = out / f"{name}{suffix}.bin"
                path.write_bytes(data.tobytes())
                index.append({
                    "type": name, "id": type_id, "weighted": weighted, "input": label,
                    "rows": int(values.shape[0]), "row_length": int(values.shape[1]),
                    "file": path.name, "bytes": int(data.size), "sha256": hashlib.sha256(data.tobytes()).hexdigest(),
                })
    write_json(out / "index.json", {
        "reference": "llama.cpp (llama-cpp-python 0.3.36) libggml-base ggml_quantize_chunk",
        "outputs": index,
    })
