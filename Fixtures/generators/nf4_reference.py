"""Bytes of NF4-quantised weights as bitsandbytes stores them (QLoRA's `bnb_4bit_quant_type="nf4"`,
blocks of 64, double-quantised absmax): the packed 4-bit codes, the 8-bit absmax per block, the
float32 absmax per 256 blocks, the 256-entry float32 map of the second quantisation and its float32
offset. Written to budget/nf4.json for LoRABudget's NF4 sizes.
"""
import pathlib

import torch

from .common import write_json

SHAPES = [(4096, 4096), (1024, 4096), (12288, 4096), (896, 896), (128, 896), (4864, 896), (100, 37)]


def nbytes(tensor) -> int:
    return tensor.numel() * tensor.element_size()


def generate(root: pathlib.Path) -> None:
    import bitsandbytes.functional as F

    cases = []
    for rows, columns in SHAPES:
        weight = torch.randn(rows, columns)
        packed, state = F.quantize_4bit(weight, blocksize=64, compress_statistics=True, quant_type="nf4")
        parts = {
            "packed": nbytes(packed), "absmax": nbytes(state.absmax), "absmax_scales": nbytes(state.state2.absmax),
            "absmax_map": nbytes(state.state2.code), "absmax_offset": 4 if state.offset is not None else 0,
        }
        cases.append({"shape": [rows, columns], "bytes": sum(parts.values()), "parts": parts})
    write_json(root / "budget" / "nf4.json", {"bitsandbytes": __import__("bitsandbytes").__version__, "cases": cases})
