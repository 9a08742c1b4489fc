"""Rotary position embeddings as transformers computes them, for WeightCompute's RotaryTable.

Writes compute/rotary.json: one case per scaling type transformers' `modeling_rope_utils`
knows and WeightKit supports (default, linear, dynamic NTK at several sequence lengths, llama3,
yarn with an inferred and a given attention factor, partial rotary), each with transformers'
inv_freq and attention factor, and for whole-head rotation a random query rotated by
LlamaRotaryEmbedding's cos/sin and `apply_rotary_pos_emb` (the rotate-half layout) at several
positions.

Phi-3's longrope cases go through Phi3Config (which takes `original_max_position_embeddings`
from the top level and turns `su`/`yarn` into `longrope`) and Phi3RotaryEmbedding: the short
factors' inv_freq, the long ones' past the original context (`longrope_frequency_update`, by
sequence length), the attention factor inferred from max/original positions or given, and a
rotation by the embedding's own forward, which switches to the long factors for positions past
the original context.
"""
import pathlib

import numpy as np
import torch
from transformers import LlamaConfig, Phi3Config
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding, apply_rotary_pos_emb
from transformers.models.phi3.modeling_phi3 import Phi3RotaryEmbedding

from .common import write_json

HEADS = 2
POSITIONS = [0, 1, 7, 500, 4095, 9000]

CASES = [
    {"name": "default", "head_dim": 64, "theta": 10000.0, "rope": {"rope_type": "default"}},
    {"name": "default-odd-pairs", "head_dim": 18, "theta": 1000000.0, "rope": {"rope_type": "default"}},
    {"name": "linear", "head_dim": 48, "theta": 10000.0, "rope": {"rope_type": "linear", "factor": 4.0}},
    {"name": "dynamic", "head_dim": 64, "theta": 10000.0, "rope": {"rope_type": "dynamic", "factor": 2.0},
     "sequence_lengths": [100, 2048, 2049, 6000]},
    {"name": "llama3", "head_dim": 128, "theta": 500000.0,
     "rope": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
              "original_max_position_embeddings": 8192}, "max_position_embeddings": 131072},
    {"name": "llama3-short-context", "head_dim": 64, "theta": 10000.0,
     "rope": {"rope_type": "llama3", "factor": 16.0, "low_freq_factor": 2.0, "high_freq_factor": 8.0,
              "original_max_position_embeddings": 256}},
    {"name": "yarn", "head_dim": 128, "theta": 1000000.0,
     "rope": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768},
     "max_position_embeddings": 131072},
    {"name": "yarn-betas-attention-factor", "head_dim": 64, "theta": 10000.0,
     "rope": {"rope_type": "yarn", "factor": 8.0, "original_max_position_embeddings": 2048,
              "beta_fast": 16.0, "beta_slow": 2.0, "attention_factor": 0.75}, "max_position_embeddings": 16384},
    {"name": "partial-default", "head_dim": 80, "theta": 10000.0,
     "rope": {"rope_type": "default", "partial_rotary_factor": 0.4}},
    {"name": "partial-linear", "head_dim": 64, "theta": 10000.0,
     "rope": {"rope_type": "linear", "factor": 2.0, "partial_rotary_factor": 0.5}},
]


# Phi-3 longrope: (name, head_dim, theta, max positions, original positions, partial factor,
# rope entries beyond the factors).
LONGROPE_CASES = [
    ("longrope", 96, 10000.0, 131072, 4096, 1.0, {"rope_type": "longrope"}),
    ("longrope-su-spelling", 64, 10000.0, 16384, 2048, 1.0, {"type": "su"}),
    ("longrope-given-attention-factor", 64, 250000.0, 32768, 4096, 1.0,
     {"rope_type": "longrope", "attention_factor": 1.25}),
    ("longrope-partial", 128, 10000.0, 65536, 8192, 0.75, {"rope_type": "longrope"}),
    ("longrope-no-extension", 32, 10000.0, 4096, 4096, 1.0, {"rope_type": "longrope"}),
]
LONGROPE_SEQUENCES = [1, 100, "original", "original+1", 9000]


def float32s(tensor: torch.Tensor) -> list[float]:
    """float32 values in their shortest decimal spelling (each reads back as the same float32)."""
    return [float(str(v)) for v in tensor.detach().to(torch.float32).reshape(-1).numpy()]


def config_for(case: dict) -> LlamaConfig:
    rope = dict(case["rope"], rope_theta=case["theta"])
    config = LlamaConfig(hidden_size=case["head_dim"] * 4, num_attention_heads=4, head_dim=case["head_dim"],
                         max_position_embeddings=case.get("max_position_embeddings", 2048), rope_parameters=rope)
    return config


def frequencies(config: LlamaConfig, rope_type: str, seq_len=None):
    if rope_type == "default":
        partial = config.rope_parameters.get("partial_rotary_factor", 1.0)
        dim = int(config.head_dim * partial)
        inv_freq = 1.0 / (config.rope_parameters["rope_theta"] ** (torch.arange(0, dim, 2, dtype=torch.float) / dim))
        return inv_freq, 1.0
    return ROPE_INIT_FUNCTIONS[rope_type](config, None, seq_len=seq_len)


def longrope_cases(generator: torch.Generator) -> list[dict]:
    cases = []
    heads = 4
    for name, head_dim, theta, positions, original, partial, rope in LONGROPE_CASES:
        dim = int(head_dim * partial)
        short = (1 + 0.3 * torch.rand(dim // 2, generator=generator)).tolist()
        long = (1 + 40 * torch.rand(dim // 2, generator=generator)).sort().values.tolist()
        parameters = dict(rope, short_factor=short, long_factor=long, rope_theta=theta, partial_rotary_factor=partial)
        config = Phi3Config(hidden_size=head_dim * heads, num_attention_heads=heads, max_position_embeddings=positions,
                            original_max_position_embeddings=original, rope_parameters=dict(parameters))
        inv_freq, attention_factor = ROPE_INIT_FUNCTIONS["longrope"](config, None)
        entry = {
            "name": name, "head_dim": head_dim, "dimensions": dim, "theta": theta, "max_position_embeddings": positions,
            "original_max_position_embeddings": original, "rope": parameters, "inv_freq": float32s(inv_freq),
            "attention_factor": float(attention_factor), "by_sequence_length": [],
        }
        for n in LONGROPE_SEQUENCES:
            length = {"original": original, "original+1": original + 1}.get(n, n)
            entry["by_sequence_length"].append(
                {"sequence_length": length, "inv_freq": float32s(ROPE_INIT_FUNCTIONS["longrope"](config, None, seq_len=length)[0])})
        if partial == 1.0:
            for label, rotation_positions in (("short", [0, 1, 7, original - 1]), ("long", POSITIONS)):
                rotary = Phi3RotaryEmbedding(config)
                query = torch.randn(1, HEADS, len(rotation_positions), head_dim, generator=generator)
                cos, sin = rotary(query, torch.tensor([rotation_positions]))
                rotated, _ = apply_rotary_pos_emb(query, query, cos, sin)
                entry[f"rotation_{label}"] = {
                    "positions": rotation_positions, "inv_freq": float32s(rotary.inv_freq),
                    "query": float32s(query[0].transpose(0, 1)), "rotated": float32s(rotated[0].transpose(0, 1))}
        cases.append(entry)
    return cases


def generate(root: pathlib.Path) -> None:
    generator = torch.Generator().manual_seed(20260505)
    cases = []
    for case in CASES:
        config = config_for(case)
        rope_type = case["rope"]["rope_type"]
        partial = case["rope"].get("partial_rotary_factor", 1.0)
        inv_freq, attention_factor = frequencies(config, rope_type)
        entry = {
            "name": case["name"], "head_dim": case["head_dim"], "dimensions": int(case["head_dim"] * partial),
            "theta": case["theta"], "max_position_embeddings": config.max_position_embeddings,
            "rope": case["rope"], "inv_freq": float32s(inv_freq), "attention_factor": float(attention_factor),
        }
        if "sequence_lengths" in case:
            entry["by_sequence_length"] = [
                {"sequence_length": n, "inv_freq": float32s(frequencies(config, rope_type, seq_len=n)[0])}
                for n in case["sequence_lengths"]]
        if partial == 1.0 and rope_type != "dynamic":
            rotary = LlamaRotaryEmbedding(config)
            query = torch.randn(1, HEADS, len(POSITIONS), case["head_dim"], generator=generator)
            cos, sin = rotary(query, torch.tensor([POSITIONS]))
            rotated, _ = apply_rotary_pos_emb(query, query, cos, sin)
            # [positions, heads, head_dim], as WeightKit stores a token's heads contiguously.
            entry["positions"] = POSITIONS
            entry["query"] = float32s(query[0].transpose(0, 1))
            entry["rotated"] = float32s(rotated[0].transpose(0, 1))
        cases.append(entry)
    cases += longrope_cases(torch.Generator().manual_seed(20260614))
    write_json(root / "compute" / "rotary.json", {"heads": HEADS, "cases": cases})
