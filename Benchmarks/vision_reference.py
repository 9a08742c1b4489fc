#!/usr/bin/env python3
"""Builds a ViT-L/14-336-shaped CLIP vision checkpoint with random weights under OUT_DIR
(openai/clip-vit-large-patch14-336's configuration, saved by transformers) and one normalised
336x336 image, then times transformers' CLIPVisionModelWithProjection on it (PyTorch, 2 threads,
float32, best of 3 after a warm-up). Prints one JSON object with seconds and GFLOP/s.

Usage: vision_reference.py OUT_DIR
"""
import json
import pathlib
import sys
import time

import numpy as np
import torch

CONFIG = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16, image_size=336,
              patch_size=14, hidden_act="quick_gelu", layer_norm_eps=1e-5, projection_dim=768)


def flops(c: dict) -> float:
    """Multiply-adds x 2 of the forward: patch embedding, q/k/v/out and MLP products, attention."""
    hidden, ff, patch = c["hidden_size"], c["intermediate_size"], c["patch_size"]
    patches = (c["image_size"] // patch) ** 2
    tokens = patches + 1
    per_layer = 2 * tokens * (4 * hidden * hidden + 2 * hidden * ff) + 4 * tokens * tokens * hidden
    return 2 * patches * 3 * patch * patch * hidden + c["num_hidden_layers"] * per_layer


def main(out: pathlib.Path) -> None:
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection
    torch.set_num_threads(2)
    directory = out / "clip-vit-l-336"
    torch.manual_seed(0)
    if (directory / "config.json").exists():
        model = CLIPVisionModelWithProjection.from_pretrained(directory).eval()
    else:
        model = CLIPVisionModelWithProjection(CLIPVisionConfig(**CONFIG)).eval()
        model.save_pretrained(directory)
    pixels = torch.randn(1, 3, 336, 336, generator=torch.Generator().manual_seed(1))
    np.save(directory / "pixels.npy", pixels.numpy())
    with torch.no_grad():
        model(pixel_values=pixels)
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            model(pixel_values=pixels)
            best = min(best, time.perf_counter() - start)
    total = flops(CONFIG)
    print(json.dumps({"benchmark": "vision-encode", "implementation": "pytorch", "threads": 2, "seconds": best,
                      "gflop": total / 1e9, "gflop_per_second": total / best / 1e9}))


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
