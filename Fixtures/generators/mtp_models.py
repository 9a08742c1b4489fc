"""Tiny Meta multi-token-prediction checkpoints (Meta's state-dict names, params.json or an
equivalent config.json) from the independent PyTorch implementation in reference_models.py, with
its logits for all heads, head-0 greedy tokens, normed hidden states, and value-head outputs.
"""
import json
import pathlib
import shutil

import numpy as np
import torch
from safetensors.torch import save_file

from .common import save_npy, write_json
from .reference_models import MetaMTPTransformer

PROMPT = [7, 100, 3, 250, 42, 18, 199, 5, 61, 77, 12, 140, 31, 9]
NEW_TOKENS = 12


def build(out: pathlib.Path, name: str, params: dict, seed: int, as_config_json: bool = False,
          sharded: bool = False) -> None:
    torch.manual_seed(seed)
    model = MetaMTPTransformer(params).eval()
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0, 0.1)
            else:
                p.uniform_(0.8, 1.2)
    directory = out / name
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    if sharded:
        names = sorted(state)
        half = len(names) // 2
        shards = {"model-00001-of-00002.safetensors": names[:half], "model-00002-of-00002.safetensors": names[half:]}
        weight_map = {}
        for shard, keys in shards.items():
            save_file({k: state[k] for k in keys}, str(directory / shard), metadata={"format": "pt"})
            weight_map.update({k: shard for k in keys})
        (directory / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}, indent=2))
    else:
        save_file(state, str(directory / "consolidated.safetensors"), metadata={"format": "pt"})
    (directory / ("config.json" if as_config_json else "params.json")).write_text(json.dumps(params, indent=2) + "\n")

    ids = torch.tensor([PROMPT])
    with torch.no_grad():
        logits, normed, trunk = model(ids)
        save_npy(directory / "logits.npy", logits[0].numpy().astype(np.float32))              # [T, H, V]
        save_npy(directory / "hidden.npy", normed[0, :, 0].numpy().astype(np.float32))          # [T, dim], head 0
        save_npy(directory / "trunk_hidden.npy", model.norm(trunk)[0].numpy().astype(np.float32))  # norm(trunk)
        tokens = list(PROMPT)
        for _ in range(NEW_TOKENS):
            head0, _, _ = model(torch.tensor([tokens]), heads=1)
            tokens.append(int(torch.argmax(head0[0, -1, 0])))
        # A value head: Linear(dim, 1), seeded; stored as weight [1, dim], bias [1].
        torch.manual_seed(seed + 1000)
        value = torch.nn.Linear(params["dim"], 1)
        save_file({"weight": value.weight.detach().contiguous(), "bias": value.bias.detach().contiguous()},
                  str(out / f"{name}.value_head.safetensors"))
        save_npy(directory / "values.npy", value(normed[0, :, 0]).numpy().astype(np.float32))              # [T, 1]
        save_npy(directory / "trunk_values.npy", value(model.norm(trunk)[0]).numpy().astype(np.float32))  # [T, 1]
    write_json(directory / "reference.json", {
        "prompt": PROMPT, "greedy": tokens[len(PROMPT):], "heads": params.get("n_future_tokens", 1),
        "parameters": sum(p.numel() for p in model.parameters()),
    })


def meta_to_gguf_name(name: str, layer_count: int) -> str:
    """WeightKit's `llama-mtp` layout (Docs/META_MTP.md): llama.cpp's block names, extra heads
    numbered after `layers`."""
    blocks = {"attention.wq.weight": "attn_q.weight", "attention.wk.weight": "attn_k.weight",
              "attention.wv.weight": "attn_v.weight", "attention.wo.weight": "attn_output.weight",
              "feed_forward.w1.weight": "ffn_gate.weight", "feed_forward.w2.weight": "ffn_down.weight",
              "feed_forward.w3.weight": "ffn_up.weight", "attention_norm.weight": "attn_norm.weight",
              "ffn_norm.weight": "ffn_norm.weight"}
    globals_ = {"tok_embeddings.weight": "token_embd.weight", "norm.weight": "output_norm.weight",
                "output.weight": "output.weight"}
    if name in globals_:
        return globals_[name]
    group, index, suffix = name.split(".", 2)
    base = 0 if group == "layers" else layer_count
    return f"blk.{base + int(index)}.{blocks[suffix]}"


def write_gguf(out: pathlib.Path, name: str, quantize_f16: bool) -> None:
    """The checkpoint `name` as a `llama-mtp` GGUF written by gguf-py (f32, or f16 matrices)."""
    import gguf
    from safetensors.numpy import load_file as load_numpy

    directory = out / name
    params_path = directory / "params.json" if (directory / "params.json").exists() else directory / "config.json"
    params = json.loads(params_path.read_text())
    tensors = {}
    for path in sorted(directory.glob("*.safetensors")):
        tensors.update(load_numpy(str(path)))
    heads = params["n_future_tokens"]
    layer_count = params["n_layers"] - heads + 1
    dim, n_heads = params["dim"], params["n_heads"]
    arch = "llama-mtp"
    suffix = "f16" if quantize_f16 else "f32"
    writer = gguf.GGUFWriter(str(out / f"{name}.{suffix}.gguf"), arch)
    writer.add_name(name)
    writer.add_context_length(params.get("max_seq_len", 2048))
    writer.add_embedding_length(dim)
    writer.add_block_count(params["n_layers"])
    writer.add_feed_forward_length(tensors["layers.0.feed_forward.w1.weight"].shape[0])
    writer.add_head_count(n_heads)
    writer.add_head_count_kv(params.get("n_kv_heads", n_heads))
    writer.add_layer_norm_rms_eps(params["norm_eps"])
    writer.add_rope_freq_base(params["rope_theta"])
    writer.add_rope_dimension_count(dim // n_heads)
    writer.add_vocab_size(params["vocab_size"])
    writer.add_uint32(f"{arch}.n_future_tokens", heads)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if quantize_f16 else gguf.LlamaFileType.ALL_F32)
    for meta_name, array in tensors.items():
        data = array.astype(np.float16) if quantize_f16 and array.ndim == 2 else array.astype(np.float32)
        writer.add_tensor(meta_to_gguf_name(meta_name, layer_count), data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def generate(root: pathlib.Path) -> None:
    out = root / "mtp"
    build(out, "mtp-4heads", dict(dim=64, n_layers=4, n_heads=8, n_kv_heads=8, vocab_size=256, multiple_of=32,
                                  norm_eps=1e-5, rope_theta=10000.0, n_future_tokens=4, max_seq_len=64), seed=1)
    build(out, "mtp-gqa-2heads", dict(dim=64, n_layers=5, n_heads=8, n_kv_heads=2, vocab_size=256, multiple_of=48,
                                      ffn_dim_multiplier=1.3, norm_eps=1e-5, rope_theta=500000.0, n_future_tokens=2,
                                      max_seq_len=64), seed=2, sharded=True)
    build(out, "mtp-3heads-config", dict(dim=48, n_layers=4, n_heads=6, n_kv_heads=3, vocab_size=256, multiple_of=16,
                                         norm_eps=1e-6, rope_theta=10000.0, n_future_tokens=3, max_seq_len=64),
          seed=3, as_config_json=True)
    # Seed 001's Micro-MTP configuration, counted on the meta device.
    micro = dict(dim=512, n_layers=4, n_heads=8, n_kv_heads=8, vocab_size=32000, n_future_tokens=4, multiple_of=256)
    with torch.device("meta"):
        model = MetaMTPTransformer(micro)
    write_json(out / "micro-mtp.json", {"params": micro, "parameters": sum(p.numel() for p in model.parameters())})
    for name in ("mtp-4heads", "mtp-gqa-2heads"):
        write_gguf(out, name, quantize_f16=False)
    write_gguf(out, "mtp-4heads", quantize_f16=True)
