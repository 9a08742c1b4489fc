#!/usr/bin/env python3
"""Helpers of Benchmarks/zstd_ratios.sh.

  zstd_ratios.py gguf SRC.safetensors DST.gguf
      An F32 GGUF of a safetensors file with its tensor names kept (gguf-py's GGUFWriter,
      general.architecture from config.json beside SRC): the source of WeightKit's GGUF -> GGUF
      casts and quantisations when no HF -> GGUF path exists for the architecture.
  zstd_ratios.py parts FILE OUTDIR
      Splits FILE (GGUF or safetensors) into its header and its tensor data grouped by stored type
      and by role (2-D weights, 1-D tensors): one file per group in OUTDIR, one JSON line each
      on stdout, with the order-0 byte entropy (per byte lane for float types).
  zstd_ratios.py table RUNS.jsonl PARTS.jsonl
      The markdown tables and one JSON summary line; compresses each distinct part with the
      `zstd` CLI at the levels of RUNS.jsonl.
"""
import collections
import hashlib
import json
import pathlib
import struct
import subprocess
import sys

import numpy as np


def write_gguf(source: str, destination: str) -> None:
    import gguf
    from safetensors.numpy import load_file

    config = json.loads((pathlib.Path(source).parent / "config.json").read_text())
    writer = gguf.GGUFWriter(destination, config.get("model_type", "unknown"))
    writer.add_name(pathlib.Path(source).parent.name)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    for name, array in load_file(source).items():
        writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def tensor_ranges(path: str) -> tuple[int, str, list[tuple[str, str, list[int], int, int]]]:
    """(header bytes, format, [(name, type, shape, offset, size)]) with absolute offsets."""
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic[:4] == b"GGUF":
        import gguf
        reader = gguf.GGUFReader(path)
        tensors = [(t.name, t.tensor_type.name, [int(d) for d in t.shape], int(t.data_offset), int(t.n_bytes))
                   for t in reader.tensors]
        return min(t[3] for t in tensors), "gguf", tensors
    (length,) = struct.unpack("<Q", magic)
    with open(path, "rb") as f:
        f.seek(8)
        header = json.loads(f.read(length))
    tensors = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        tensors.append((name, info["dtype"], info["shape"], 8 + length + begin, end - begin))
    return 8 + length, "safetensors", tensors


LANES = {"F32": 4, "F16": 2, "BF16": 2}


def entropy(data: np.ndarray) -> float:
    counts = np.bincount(data, minlength=256).astype(np.float64)
    p = counts[counts > 0] / data.size
    return max(0.0, float(-(p * np.log2(p)).sum()))


def split_parts(path: str, outdir: str) -> None:
    out = pathlib.Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    header, fmt, tensors = tensor_ranges(path)
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    groups: dict[tuple[str, str], list] = collections.defaultdict(list)
    for name, dtype, shape, offset, size in sorted(tensors, key=lambda t: t[3]):
        role = "2-D weights" if len([d for d in shape if d > 1]) >= 2 else "1-D tensors"
        groups[(dtype, role)].append((offset, size))
    parts = [("header", "", [(0, header)], 0)]
    parts += [(role, dtype, ranges, len(ranges)) for (dtype, role), ranges in sorted(groups.items(), key=lambda kv: -sum(s for _, s in kv[1]))]
    for role, dtype, ranges, count in parts:
        data = np.concatenate([raw[o:o + s] for o, s in ranges])
        slug = f"{role.split()[0]}-{dtype or fmt}".lower()
        target = out / f"{pathlib.Path(path).name}.{slug}.bin"
        data.tofile(target)
        lanes = LANES.get(dtype)
        if lanes and data.size % lanes == 0:
            lane_bits = [round(entropy(data.reshape(-1, lanes)[:, i]), 2) for i in range(lanes)]
        else:
            lane_bits = [round(entropy(data), 2)]
        print(json.dumps({"file": pathlib.Path(path).name, "format": fmt, "role": role, "type": dtype, "tensors": count,
                          "bytes": int(data.size), "part": str(target), "sha256": hashlib.sha256(data.tobytes()).hexdigest(),
                          "entropy_bits_per_lane": lane_bits}))


def stored_types(parts: list) -> str:
    """'Q5_0 ×34, Q4_K ×6': the stored types of one file's 2-D weights."""
    return ", ".join(f"{p['type']} ×{p['tensors']}" for p in parts if p["role"] == "2-D weights")


def compressed_size(path: str, level: int) -> int:
    flags = ["--ultra"] if level > 19 else []
    result = subprocess.run(["zstd", "-q", "-c", f"-{level}", *flags, path], check=True, capture_output=True)
    return len(result.stdout)


def speed(run: dict) -> str:
    """Uncompressed MB per second."""
    value = run["bytes"] / run["nanoseconds"] * 1e3
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def table(runs_path: str, parts_path: str) -> None:
    runs = [json.loads(l) for l in open(runs_path) if l.strip()]
    parts = [json.loads(l) for l in open(parts_path) if l.strip()]
    levels = sorted({r["level"] for r in runs})
    by_file = collections.defaultdict(dict)
    for r in runs:
        by_file[r["file"]][(r["engine"], r["level"])] = r
    parts_by_file = collections.defaultdict(list)
    for p in parts:
        parts_by_file[p["file"]].append(p)

    head = ["model", "dtype", "format", "2-D weights stored as", "bytes"]
    for level in levels:
        head += [f"L{level} bytes", f"L{level} ratio", f"L{level} zstd CLI", f"L{level} MB/s (WK / CLI)"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] * 4 + ["---:"] * (len(head) - 4)) + "|")
    summary = {"benchmark": "zstd", "levels": levels, "files": []}
    for name, entries in by_file.items():
        first = next(iter(entries.values()))
        cells = [first["model"], first["dtype"], first["format"], stored_types(parts_by_file[name]), f"{first['bytes']:,}"]
        record = {"model": first["model"], "dtype": first["dtype"], "format": first["format"], "bytes": first["bytes"]}
        for level in levels:
            wk, cli = entries[("weightkit", level)], entries[("zstd", level)]
            cells += [f"{wk['compressed']:,}", f"{wk['bytes'] / wk['compressed']:.3f}", f"{cli['bytes'] / cli['compressed']:.3f}",
                      f"{speed(wk)} / {speed(cli)}"]
            record[f"ratio_{level}"] = round(wk["bytes"] / wk["compressed"], 4)
            record[f"cli_ratio_{level}"] = round(cli["bytes"] / cli["compressed"], 4)
        summary["files"].append(record)
        print("| " + " | ".join(cells) + " |")

    print()
    print("Header and tensor data apart (each group's bytes concatenated in file order, `zstd` CLI; identical")
    print("data of several files listed once; entropy: order-0 bits per byte, per byte lane from low to")
    print("high byte for float types):")
    print()
    head = ["data", "tensors", "bytes"] + [f"L{level} ratio" for level in levels] + ["entropy (bits/byte)", "found in"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---", "---:", "---:"] + ["---:"] * len(levels) + ["---", "---"]) + "|")
    # Identical tensor data is listed once; headers once per format and size (the MiniLM GGUF
    # headers differ only in type codes), with the range of their ratios.
    groups: dict[tuple, list[dict]] = {}
    for p in parts:
        key = (p["format"], p["bytes"]) if p["role"] == "header" else (p["sha256"],)
        groups.setdefault(key, []).append(p)
    for members in groups.values():
        row = members[0]
        label = f"{row['format']} header" if row["role"] == "header" else f"{row['type']} {row['role']}"
        cells = [label, str(row["tensors"]) if row["tensors"] else "", f"{row['bytes']:,}"]
        for level in levels:
            ratios = sorted({p["bytes"] / compressed_size(p["part"], level) for p in (members if row["role"] == "header" else [row])})
            cells.append(f"{ratios[0]:.3f}" if len(ratios) == 1 or f"{ratios[0]:.3f}" == f"{ratios[-1]:.3f}" else f"{ratios[0]:.3f}-{ratios[-1]:.3f}")
        files = [p["file"] for p in members]
        cells += [" / ".join(str(b) for b in row["entropy_bits_per_lane"]), files[0] + (f" (+{len(files) - 1})" if len(files) > 1 else "")]
        print("| " + " | ".join(cells) + " |")
    print()
    print("```json")
    print(json.dumps(summary))
    print("```")


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "gguf":
        write_gguf(sys.argv[2], sys.argv[3])
    elif command == "parts":
        split_parts(sys.argv[2], sys.argv[3])
    elif command == "table":
        table(sys.argv[2], sys.argv[3])
    else:
        sys.exit(f"unknown command {command}")
