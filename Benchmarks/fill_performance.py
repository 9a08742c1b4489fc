#!/usr/bin/env python3
"""Fills Docs/PERFORMANCE.md's tables from one `make bench` run (bench-out/results.md).

Usage: Benchmarks/fill_performance.py TEMPLATE.md bench-out/results.md "load note" > Docs/PERFORMANCE.md
"""
import json
import re
import sys


def section(text: str, title: str) -> str:
    start = text.index(title)
    end = text.find("\n## ", start + len(title))
    return text[start:end if end >= 0 else len(text)]


def json_lines(block: str) -> list:
    out = []
    for line in block.splitlines():
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            out.append(json.loads(line))
    return out


def markdown_table(block: str) -> str:
    return "\n".join(l for l in block.splitlines() if l.startswith("|"))


def markdown_tables(block: str) -> list:
    """Each table of a section, in order."""
    return [t.strip() for t in block.split("\n\n") if t.strip().startswith("|")]


def main() -> None:
    template, results, load = open(sys.argv[1]).read(), open(sys.argv[2]).read(), sys.argv[3]
    values = {"RUN_LOAD": load}

    inspect = section(results, "## inspect")
    table = markdown_table(inspect)
    rss = dict(re.findall(r"- `([^`]*)`: (\d+)", inspect))
    rows = []
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        command = cells[0].strip("`")
        kib = int(rss.get(command, "0"))
        name = command.replace(".build/release/", "").replace("Fixtures/.cache/llama.cpp/build/bin/", "").replace("bench-out/", "")
        rows.append(f"| `{name}` | {cells[1]} | {cells[2]} | {kib / 1024:.1f} |")
    values["INSPECT_TABLE"] = "| command | mean ± σ (ms) | min (ms) | peak RSS (MiB) |\n| --- | ---: | ---: | ---: |\n" + "\n".join(rows)
    means = [float(r.split("|")[2].split("±")[0]) for r in rows]

    refs = json.loads(section(results, "## Python references").split("```json", 1)[1].split("```", 1)[0])
    reader = refs["gguf_py_reader"]
    values["GGUFPY_READER"] = f"{reader['seconds']:.2f}"
    values["GGUFPY_RSS"] = f"{reader['max_rss_kib'] / 1024:.0f}"
    values["INSPECT_VS_GGUFPY"] = f"{reader['seconds'] * 1000 / means[0]:.0f}"
    values["INSPECT_VS_LLAMA"] = f"{means[2] / means[0]:.1f}"
    for name, key in [("Q4_K", "GGUFPY_Q4K"), ("Q6_K", "GGUFPY_Q6K"), ("Q8_0", "GGUFPY_Q80")]:
        values[key] = f"{refs['gguf_py_decode'][name]['elements_per_second'] / 1e6:.0f}"
    opens = {e["file"]: e["seconds"] for e in json_lines(section(results, "## Opening safetensors"))}
    values["OPEN_2MB_WK"] = f"{opens['model-2MB.safetensors'] * 1000:.2f}"
    values["OPEN_2GB_WK"] = f"{opens['model-2GB.safetensors'] * 1000:.2f}"
    values["OPEN_2MB_PY"] = f"{refs['safetensors_open']['model-2MB.safetensors']['open_seconds_min'] * 1000:.2f}"
    values["OPEN_2GB_PY"] = f"{refs['safetensors_open']['model-2GB.safetensors']['open_seconds_min'] * 1000:.2f}"

    decode = json_lines(section(results, "## Decoding to f32"))
    rows = ["| type | threads | G elements/s | GB/s | vs gguf-py |", "| --- | ---: | ---: | ---: | ---: |"]
    for e in decode:
        py = refs["gguf_py_decode"][e["type"]]["elements_per_second"]
        rows.append(f"| {e['type']} | {e['threads']} | {e['elements_per_second'] / 1e9:.2f} | {e['bytes_per_second'] / 1e9:.1f} | {e['elements_per_second'] / py:.0f}x |")
    values["DECODE_TABLE"] = "\n".join(rows)

    values["CONVERT_TABLE"] = "\n\n".join(t for t in section(results, "## Conversion").split("\n\n") if t.startswith("|"))
    if "## Quantisation" in results:
        values["QUANTIZE_TABLE"] = markdown_table(section(results, "## Quantisation"))
    else:
        values["QUANTIZE_TABLE"] = "(not in this run)"
    values["FORWARD_TABLE"], values["FORWARD_ROUNDS"] = markdown_tables(section(results, "## Forward passes: Qwen2.5-0.5B"))
    values["FORWARD_LARGE_TABLE"], values["FORWARD_LARGE_ROUNDS"] = markdown_tables(section(results, "## Forward passes: Qwen2.5-1.5B"))

    seeds = section(results, "## Seed models")
    torch = json.loads(seeds.split("```json", 1)[1].split("```", 1)[0])
    ours = {e["benchmark"]: e for e in json_lines(seeds.split("WeightKit:", 1)[1])}
    mtp, exp = ours["mtp-forward"], ours["expert-generate"]
    tm, te = torch["micro_mtp_forward_128"], torch["expert_small_generate_100"]
    values["SEED_TABLE"] = "\n".join([
        "| workload | WeightKit | PyTorch | ratio |", "| --- | ---: | ---: | ---: |",
        f"| Micro-MTP forward, 128 tokens | {mtp['seconds']:.3f} s, {mtp['peak_resident_bytes'] / 2**20:.0f} MiB peak | {tm['seconds']:.3f} s, {tm['peak_resident_bytes'] / 2**20:.0f} MiB peak | {tm['seconds'] / mtp['seconds']:.2f}x |",
        f"| expert LM Small, 100 tokens | {exp['tokens_per_second']:.0f} tok/s, {exp['peak_resident_bytes'] / 2**20:.0f} MiB peak | {te['tokens_per_second']:.1f} tok/s | {exp['tokens_per_second'] / te['tokens_per_second']:.1f}x |",
    ])
    vision = {e["implementation"]: e for e in json_lines(section(results, "## Vision encoder"))}
    w, p = vision["weightkit"], vision["pytorch"]
    values["VISION_TABLE"] = "\n".join([
        "| implementation | seconds | GFLOP/s | ratio |", "| --- | ---: | ---: | ---: |",
        f"| WeightKit | {w['seconds']:.2f} | {w['gflop_per_second']:.0f} | {p['seconds'] / w['seconds']:.2f}x |",
        f"| PyTorch | {p['seconds']:.2f} | {p['gflop_per_second']:.0f} | 1.00x |",
    ])
    zstd = json_lines(section(results, "## zstd on real weights"))[0]
    low, high = zstd["levels"][0], zstd["levels"][-1]
    minilm = [f for f in zstd["files"] if f["format"] == "gguf" and f["model"] == "all-MiniLM-L6-v2"]
    smol = next(f for f in zstd["files"] if f["model"] != "all-MiniLM-L6-v2")
    cli = max(abs(f[f"ratio_{l}"] - f[f"cli_ratio_{l}"]) for f in zstd["files"] for l in zstd["levels"])
    values["ZSTD_LEVELS"] = f"{low}/{high}"
    values["ZSTD_MINILM_RATIOS"] = "\n".join([
        "| " + " | ".join(f["dtype"] for f in minilm) + " |", "|" + "---:|" * len(minilm),
        "| " + " | ".join(f"{f[f'ratio_{low}']:.2f}/{f[f'ratio_{high}']:.2f}" for f in minilm) + " |"])
    values["ZSTD_SMOLLM_RATIO"] = f"{smol[f'ratio_{low}']:.2f}/{smol[f'ratio_{high}']:.2f}"
    values["ZSTD_CLI_DIFFERENCE"] = f"{cli:.3f}"
    values["STARTUP"] = sys.argv[4] if len(sys.argv) > 4 else "?"
    for key, value in values.items():
        template = template.replace(key, value)
    sys.stdout.write(template)


if __name__ == "__main__":
    main()
