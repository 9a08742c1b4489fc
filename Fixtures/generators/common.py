"""Helpers shared by the fixture generators."""
import json
import math
import os
import pathlib
import ctypes

import numpy as np


def write_json(path: pathlib.Path, value) -> None:
    """Writes JSON with NaN/Infinity spelled as strings (JSON has no literals for them)."""
    def clean(v):
        if isinstance(v, float):
            if math.isnan(v):
                return "NaN"
            if math.isinf(v):
                return "Infinity" if v > 0 else "-Infinity"
            return v
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(clean(value), indent=1, ensure_ascii=False) + "\n")


def save_npy(path: pathlib.Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.ascontiguousarray(array))


def llama_cpp_dir() -> pathlib.Path | None:
    """The llama.cpp source tree built by `make llama-cpp` (or LLAMA_CPP_DIR)."""
    candidates = [os.environ.get("LLAMA_CPP_DIR"), pathlib.Path(__file__).resolve().parents[1] / ".cache" / "llama.cpp"]
    for c in candidates:
        if c and (pathlib.Path(c) / "build" / "bin").exists():
            return pathlib.Path(c)
    return None


class GGML:
    """ggml's own type traits and to_float kernels, through ctypes on the built libggml-base."""

    class Traits(ctypes.Structure):
        _fields_ = [
            ("type_name", ctypes.c_char_p),
            ("blck_size", ctypes.c_int64),
            ("blck_size_interleave", ctypes.c_int64),
            ("type_size", ctypes.c_size_t),
            ("is_quantized", ctypes.c_bool),
            ("to_float", ctypes.c_void_p),
            ("from_float_ref", ctypes.c_void_p),
        ]

    def __init__(self):
        root = llama_cpp_dir()
        if root is None:
            raise SystemExit("llama.cpp is not built: run `make llama-cpp` or set LLAMA_CPP_DIR")
        lib = root / "build" / "bin" / "libggml-base.so"
        self.lib = ctypes.CDLL(str(lib))
        self.lib.ggml_get_type_traits.restype = ctypes.POINTER(GGML.Traits)
        self.lib.ggml_get_type_traits.argtypes = [ctypes.c_int]

    def traits(self, type_id: int) -> "GGML.Traits":
        return self.lib.ggml_get_type_traits(type_id).contents

    def to_float(self, type_id: int, raw: np.ndarray, n_elements: int) -> np.ndarray:
        traits = self.traits(type_id)
        fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)(traits.to_float)
        raw = np.ascontiguousarray(raw, dtype=np.uint8)
        out = np.empty(n_elements, dtype=np.float32)
        fn(raw.ctypes.data, out.ctypes.data, n_elements)
        return out

    def quantize_ref(self, type_id: int, values: np.ndarray) -> np.ndarray:
        traits = self.traits(type_id)
        fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)(traits.from_float_ref)
        values = np.ascontiguousarray(values, dtype=np.float32).reshape(-1)
        out = np.empty(values.size // traits.blck_size * traits.type_size, dtype=np.uint8)
        fn(values.ctypes.data, out.ctypes.data, values.size)
        return out


def register_ggml_only_types() -> None:
    """Makes gguf-py 0.19.0 read files with ggml types it does not know (Q2_0 = 42): the id is
    entered in its enum as a pseudo-member and in GGML_QUANT_SIZES with ggml's sizes."""
    import gguf
    from gguf import GGMLQuantizationType as T
    for type_id, name, sizes in ((42, "Q2_0", (64, 18)),):
        if type_id not in T._value2member_map_:
            member = int.__new__(T, type_id)
            member._name_, member._value_ = name, type_id
            T._value2member_map_[type_id] = member
        gguf.GGML_QUANT_SIZES[type_id] = sizes
