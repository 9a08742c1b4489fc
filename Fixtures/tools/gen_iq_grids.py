#!/usr/bin/env python3
"""Writes Sources/WeightFormats/Decoding/IQuantGrids.swift: the lattice tables of ggml's i-quant
types (ggml-common.h: iq2xxs_grid, iq2xs_grid, iq2s_grid, iq3xxs_grid, iq3s_grid, iq1s_grid,
ksigns_iq2xs, IQ1S_DELTA/IQ1M_DELTA), and Sources/CKernels/iq_grid_levels.h: the same grids for
the quantisers, each row as the level index (position in grid_map) of each element, 2 or 3 bits
per element, element i in the lowest bits first.

The values are read from the installed gguf-py (gguf/quants.py), which carries every grid as
`grid_hex` (2 or 3 bits per element) plus `grid_map` (the value of each code) and expands them in
`init_grid`. Rows are written packed as ggml stores them: one UInt64 per 8-element row, one
UInt32 per 4-element row, element j in byte j (little-endian), values as two's-complement int8.

Usage (inside the fixture virtualenv):
    gen_iq_grids.py [--check-header path/to/ggml-common.h] [--output path]
With --check-header the tables are also compared with ggml's own C tables.
"""
import argparse
import pathlib
import re
import sys
from importlib.metadata import version

import numpy as np
from gguf import quants

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = ROOT / "Sources" / "WeightFormats" / "Decoding" / "IQuantGrids.swift"
DEFAULT_C_OUTPUT = ROOT / "Sources" / "CKernels" / "iq_grid_levels.h"

# (C name, gguf-py class, bits per element)
C_GRIDS = [
    ("wk_iq2xxs_levels", quants.IQ2_XXS, 2),
    ("wk_iq2xs_levels", quants.IQ2_XS, 2),
    ("wk_iq2s_levels", quants.IQ2_S, 2),
    ("wk_iq1s_levels", quants.IQ1_S, 2),
    ("wk_iq3xxs_levels", quants.IQ3_XXS, 3),
    ("wk_iq3s_levels", quants.IQ3_S, 3),
]


def level_rows(cls, bits: int) -> list[int]:
    """Each row of the grid as its elements' positions in grid_map, packed `bits` per element."""
    cls.init_grid()
    grid = np.asarray(cls.grid, dtype=np.float32).reshape(cls.grid_shape)
    codes = {float(v): i for i, v in enumerate(cls.grid_map)}
    rows = []
    for row in grid:
        word = 0
        for j, v in enumerate(row):
            word |= codes[float(v)] << (bits * j)
        rows.append(word)
    return rows


def c_header() -> str:
    parts = [
        "// GENERATED FILE - do not edit. Regenerate with Fixtures/tools/gen_iq_grids.py.",
        f"// Source: gguf-py {version('gguf')} (gguf/quants.py grid_hex / grid_map of IQ2_XXS, IQ2_XS,",
        "// IQ2_S, IQ1_S, IQ3_XXS, IQ3_S): the grids of ggml-common.h, each row as the level index of",
        "// each element (2 bits an element for the 8-element grids, 3 for the 4-element ones), element",
        "// i in bits [bits*i, bits*(i+1)). The quantisers place level l at 2l + 1.",
        "#pragma once",
        "#include <stdint.h>",
        "",
    ]
    for name, cls, bits in C_GRIDS:
        rows = level_rows(cls, bits)
        values = ", ".join(str(int(v)) for v in cls.grid_map)
        parts.append(f"/// {cls.__name__}: {len(rows)} rows; levels stand for {{{values}}}.")
        parts.append(f"static const uint16_t {name}[{len(rows)}] = {{")
        for start in range(0, len(rows), 12):
            parts.append("    " + ", ".join(f"{v:5d}" for v in rows[start:start + 12]) + ",")
        parts.append("};")
        parts.append("")
    return "\n".join(parts)

# (Swift name, gguf-py class, ggml-common.h table, row type)
GRIDS = [
    ("iq2xxsGrid", quants.IQ2_XXS, "iq2xxs_grid", "UInt64"),
    ("iq2xsGrid", quants.IQ2_XS, "iq2xs_grid", "UInt64"),
    ("iq2sGrid", quants.IQ2_S, "iq2s_grid", "UInt64"),
    ("iq3xxsGrid", quants.IQ3_XXS, "iq3xxs_grid", "UInt32"),
    ("iq3sGrid", quants.IQ3_S, "iq3s_grid", "UInt32"),
    ("iq1sGrid", quants.IQ1_S, "iq1s_grid", "UInt64"),
]


def packed_rows(cls) -> list[int]:
    """The rows of one class's grid, each packed into an integer with element j in byte j."""
    cls.init_grid()
    grid = np.asarray(cls.grid, dtype=np.float32).reshape(cls.grid_shape)
    values = grid.astype(np.int64)
    assert np.array_equal(values.astype(np.float32), grid), f"{cls.__name__}: non-integer grid"
    assert values.min() >= -128 and values.max() <= 127, f"{cls.__name__}: not int8"
    rows = []
    for row in values:
        word = 0
        for j, v in enumerate(row):
            word |= (int(v) & 0xFF) << (8 * j)
        rows.append(word)
    return rows


def header_table(text: str, name: str) -> list[int]:
    match = re.search(r"GGML_TABLE_BEGIN\([^,]+,\s*" + re.escape(name) + r"\s*,[^)]*\)(.*?)GGML_TABLE_END", text, re.S)
    if match is None:
        raise SystemExit(f"{name} not found in header")
    return [int(x, 0) for x in re.findall(r"0x[0-9a-fA-F]+|\d+", match.group(1))]


def swift_array(name: str, row_type: str, rows: list[int], doc: str) -> str:
    digits = 16 if row_type == "UInt64" else 8
    per_line = 4 if row_type == "UInt64" else 8
    lines = [f"    /// {doc}", f"    static let {name}: [{row_type}] = ["]
    for start in range(0, len(rows), per_line):
        chunk = rows[start:start + per_line]
        lines.append("        " + ", ".join(f"0x{v:0{digits}x}" for v in chunk) + ",")
    lines.append("    ]")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check-header", type=pathlib.Path)
    parser.add_argument("--output", type=pathlib.Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--c-output", type=pathlib.Path, default=DEFAULT_C_OUTPUT)
    args = parser.parse_args(argv)

    tables = [(name, cls, c_name, row_type, packed_rows(cls)) for name, cls, c_name, row_type in GRIDS]
    ksigns = list(quants.IQ2_XXS.ksigns)
    assert len(ksigns) == 128
    delta = float(quants.IQ1_S.delta)
    assert float(quants.IQ1_M.delta) == delta

    if args.check_header is not None:
        text = args.check_header.read_text()
        for name, _, c_name, _, rows in tables:
            assert header_table(text, c_name) == rows, f"{c_name} differs from gguf-py"
        assert header_table(text, "ksigns_iq2xs") == ksigns, "ksigns_iq2xs differs from gguf-py"
        for define in ("IQ1S_DELTA", "IQ1M_DELTA"):
            found = re.search(r"#define\s+" + define + r"\s+([0-9.]+)f?", text)
            assert found is not None and float(found.group(1)) == delta, f"{define} differs from gguf-py"
        print(f"checked against {args.check_header}", file=sys.stderr)

    parts = [
        "// GENERATED FILE - do not edit. Regenerate with Fixtures/tools/gen_iq_grids.py.",
        f"// Source: gguf-py {version('gguf')} (gguf/quants.py: grid_hex, grid_map and",
        "// init_grid of IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S; IQ2_XXS.ksigns; IQ1_S.delta),",
        "// the same tables as ggml-common.h's iq2xxs_grid, iq2xs_grid, iq2s_grid, iq3xxs_grid,",
        "// iq3s_grid, iq1s_grid, ksigns_iq2xs and IQ1S_DELTA / IQ1M_DELTA.",
        "//",
        "// Grid rows are packed as ggml stores them: element j of a row is byte j (little-endian) of",
        "// the row's integer, as a two's-complement int8.",
        "",
        "enum IQuantGrids {",
    ]
    for name, cls, c_name, row_type, rows in tables:
        width = cls.grid_shape[1]
        values = ", ".join(str(int(v)) for v in cls.grid_map)
        doc = f"{c_name}: {len(rows)} rows of {width} values from {{{values}}}."
        parts.append(swift_array(name, row_type, rows, doc))
        parts.append("")
    parts.append("    /// ksigns_iq2xs: 7 sign bits plus an eighth bit that makes the number of set bits even.")
    parts.append("    static let ksigns: [UInt8] = [")
    for start in range(0, 128, 16):
        parts.append("        " + ", ".join(f"0x{v:02x}" for v in ksigns[start:start + 16]) + ",")
    parts.append("    ]")
    parts.append("")
    parts.append("    /// IQ1S_DELTA = IQ1M_DELTA: the offset added to (or, with the block's flag, subtracted")
    parts.append("    /// from) every IQ1 grid value.")
    parts.append(f"    static let iq1Delta: Float = {delta!r}")
    parts.append("}")
    args.output.write_text("\n".join(parts) + "\n")
    print(f"wrote {args.output}", file=sys.stderr)
    args.c_output.write_text(c_header())
    print(f"wrote {args.c_output}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
