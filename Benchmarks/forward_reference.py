#!/usr/bin/env python3
"""The forward-pass benchmark's checkpoint and its PyTorch side (issue 5, `Benchmarks/forward.sh`).

  forward_reference.py make OUT_DIR [SHAPE [TYPE...]]
      A Qwen2.5-0.5B-shaped Qwen2 model with random weights (transformers' own initialisation,
      float32, 494 M parameters, tied embeddings) saved as a Hugging Face directory with a small
      byte-level BPE tokenizer (the converter needs one; the vocabulary is padded to 151,936),
      then its GGUF f32, f16, bf16 and q8_0 copies written by llama.cpp's convert_hf_to_gguf.py.
      SHAPE 1.5b makes a Qwen2.5-1.5B-shaped one instead (1.54 G parameters, rows of 8,960
      values in the feed-forward down projection), SHAPE smoke a two-layer one of width 256 for
      checking that the scripts run; TYPEs choose the GGUF copies.
  forward_reference.py torch MODEL_DIR PROMPT_TOKENS DECODE_TOKENS THREADS
      transformers in float32 on THREADS torch threads: prefill of the prompt, then greedy decode
      with the KV cache. Prints one JSON object with tokens per second.
  forward_reference.py table RESULTS_JSONL
      The side-by-side table of every result line, with ratios to llama.cpp and PyTorch.
  forward_reference.py paired RUNS_JSONL
      Per type, the median of the per-round ratios of WeightKit to llama.cpp (each WeightKit run
      against the llama.cpp run just before it), a table.
"""
import json
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "Fixtures"))

QWEN25_05B = dict(
    vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
    num_key_value_heads=2, max_position_embeddings=32768, rope_theta=1000000.0, rms_norm_eps=1e-6,
    tie_word_embeddings=True, use_sliding_window=False)
QWEN25_15B = dict(QWEN25_05B, hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12)
# Two layers of 256 (a whole K-quant block) and the full vocabulary: checks that the benchmark
# scripts run end to end in a minute; never a figure.
SMOKE = dict(QWEN25_05B, hidden_size=256, intermediate_size=512, num_hidden_layers=2, num_attention_heads=4)
SHAPES = {"0.5b": QWEN25_05B, "1.5b": QWEN25_15B, "smoke": SMOKE}


def prompt(length: int) -> list[int]:
    """The benchmark prompt: fixed token ids spread over the vocabulary."""
    return [(i * 7919 + 13) % QWEN25_05B["vocab_size"] for i in range(length)]


def make(out: pathlib.Path, shape: str = "0.5b", types=("f32", "f16", "bf16", "q8_0")) -> None:
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config
    from generators.decoder_models import convert_to_gguf, tiny_tokenizer

    name = f"qwen2.5-{shape}-shaped"
    directory = out / name
    if not any((directory / weights).exists() for weights in ("model.safetensors", "model.safetensors.index.json")):
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(Qwen2Config(**SHAPES[shape]), dtype=torch.float32).eval()
        parameters = sum(p.numel() for p in model.parameters())
        model.save_pretrained(str(directory), safe_serialization=True)
        tiny_tokenizer(directory, 300)
        print(f"{directory}: {parameters / 1e6:.1f} M parameters", file=sys.stderr)
    for outtype in types:
        gguf = out / f"{name}-{outtype}.gguf"
        if not gguf.exists():
            convert_to_gguf(directory, gguf, outtype)


def run_torch(directory: str, prompt_tokens: int, decode_tokens: int, threads: int) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, DynamicCache

    torch.set_num_threads(threads)
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32).eval()
    ids = torch.tensor([prompt(prompt_tokens)])
    with torch.no_grad():
        model(ids[:, :8])  # warm-up: allocator, kernels
        cache = DynamicCache()
        start = time.perf_counter()
        out = model(ids, past_key_values=cache, use_cache=True)
        prefill = time.perf_counter() - start
        token = out.logits[:, -1:].argmax(-1)
        start = time.perf_counter()
        for _ in range(decode_tokens):
            out = model(token, past_key_values=out.past_key_values, use_cache=True)
            token = out.logits[:, -1:].argmax(-1)
        decode = time.perf_counter() - start
    return {"prefill_tokens_per_second": prompt_tokens / prefill, "decode_tokens_per_second": decode_tokens / decode}


def table(path: pathlib.Path) -> None:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    by = {(r["engine"], r["type"]): r for r in rows}
    torch_row = by.get(("pytorch", "f32 (HF)"))
    header = ["type", "engine", "prefill tok/s", "decode tok/s", "prefill vs llama.cpp", "decode vs llama.cpp"]
    if torch_row:
        header += ["prefill vs PyTorch", "decode vs PyTorch"]
    print("| " + " | ".join(header) + " |")
    print("|---|---|" + "---:|" * (len(header) - 2))

    def ratio(a, b):
        return f"{a / b:.2f}x" if a and b else "-"

    for r in rows:
        gguf_type = r["type"].split()[0]
        llama = by.get(("llama.cpp", gguf_type))
        p, d = r.get("prefill_tokens_per_second"), r.get("decode_tokens_per_second")
        cells = [r["type"], r["engine"], f"{p:.1f}" if p else "-", f"{d:.1f}" if d else "-"]
        if r["engine"] == "llama.cpp":
            cells += ["1.00x", "1.00x"]
        else:
            cells += [ratio(p, llama and llama.get("prefill_tokens_per_second")),
                      ratio(d, llama and llama.get("decode_tokens_per_second"))]
        if torch_row:
            cells += [ratio(p, torch_row["prefill_tokens_per_second"]), ratio(d, torch_row["decode_tokens_per_second"])]
        print("| " + " | ".join(cells) + " |")


def paired(path: pathlib.Path) -> None:
    import statistics
    runs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    types = list(dict.fromkeys(r["type"] for r in runs if r["engine"] == "llama.cpp"))
    print("| type | rounds | prefill, median of ratios (min-max) | decode, median of ratios (min-max) |")
    print("|---|---:|---:|---:|")
    for kind in types:
        ours = [r for r in runs if r["engine"] == "weightkit" and r["type"] == kind]
        theirs = [r for r in runs if r["engine"] == "llama.cpp" and r["type"] == kind]
        cells = [kind, str(min(len(ours), len(theirs)))]
        for key in ("prefill_tokens_per_second", "decode_tokens_per_second"):
            ratios = [a[key] / b[key] for a, b in zip(ours, theirs)]
            cells.append(f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})")
        print("| " + " | ".join(cells) + " |")


def main() -> None:
    command = sys.argv[1]
    if command == "make":
        make(pathlib.Path(sys.argv[2]), *sys.argv[3:4], *([tuple(sys.argv[4:])] if len(sys.argv) > 4 else []))
    elif command == "torch":
        print(json.dumps(run_torch(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))))
    elif command == "table":
        table(pathlib.Path(sys.argv[2]))
    elif command == "paired":
        paired(pathlib.Path(sys.argv[2]))
    elif command == "prompt":
        print(",".join(map(str, prompt(int(sys.argv[2])))))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
