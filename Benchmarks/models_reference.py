#!/usr/bin/env python3
"""Builds the seed models' benchmark checkpoints under OUT_DIR (random weights) and times
PyTorch on the same work: Micro-MTP (seed 001) full forward of 128 tokens, and the expert LM's
"Small" configuration (seed 002) generating 100 tokens with a KV-less loop as the seed's module
does. Prints one JSON object.

Usage: models_reference.py OUT_DIR
"""
import json
import pathlib
import resource
import sys
import time

import torch
from safetensors.torch import save_file

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "Fixtures"))
from generators.reference_models import ExpertModel, MetaMTPTransformer  # noqa: E402


def micro_mtp(out: pathlib.Path) -> dict:
    params = dict(dim=512, n_layers=4, n_heads=8, n_kv_heads=8, vocab_size=32000, n_future_tokens=4, multiple_of=256,
                  max_seq_len=256)
    directory = out / "micro-mtp"
    torch.manual_seed(0)
    model = MetaMTPTransformer(params).eval()
    if not (directory / "params.json").exists():
        directory.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(directory / "consolidated.safetensors"))
        (directory / "params.json").write_text(json.dumps(params))
    tokens = torch.tensor([[(i * 7919 + 13) % 32000 for i in range(128)]])
    with torch.no_grad():
        model(tokens)
        start = time.perf_counter()
        model(tokens)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_resident_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def expert_small(out: pathlib.Path) -> dict:
    config = dict(vocab_size=32000, d_model=512, n_layers=6, n_heads=8, d_ff=2048, max_seq_len=512, dropout=0.0)
    directory = out / "expert-small"
    torch.manual_seed(0)
    model = ExpertModel(**config).eval()
    if not (directory / "config.json").exists():
        directory.mkdir(parents=True, exist_ok=True)
        state = {k: v.contiguous() for k, v in model.state_dict().items() if k != "positional_encoding.pe"}
        save_file(state, str(directory / "model.safetensors"))
        (directory / "config.json").write_text(json.dumps(model.config))
    prompt = [(i * 31 + 5) % 32000 for i in range(16)]
    with torch.no_grad():
        tokens = list(prompt)
        start = time.perf_counter()
        for _ in range(100):  # the seed's generate(): the whole sequence every step, no KV cache
            logits = model(torch.tensor([tokens]))[0, -1]
            tokens.append(int(torch.argmax(logits)))
        seconds = time.perf_counter() - start
    return {"tokens": 100, "seconds": seconds, "tokens_per_second": 100 / seconds}


def main() -> None:
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    print(json.dumps({"micro_mtp_forward_128": micro_mtp(out), "expert_small_generate_100": expert_small(out)}))


if __name__ == "__main__":
    main()
