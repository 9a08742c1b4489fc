"""One crafted description per validation rule (Sources/WeightArchitecture/Validation).

Each case is a small file with exactly one hostile hyper-parameter: GGUF metadata written by
gguf-py (with one tiny tensor, so that "more than the file's tensors" can be tested, or none),
or a config.json / params.json. `Fixtures/hostile/cases.json` lists every file with the key it
breaks and the rule WeightKit must name; Tests/WeightArchitectureTests/HostileDescriptionTests
loads each and expects exactly that typed error, and the CLI test runs a selection through
`weightkit budget` and `weightkit run` (exit 1, one line on stderr).

The expected key and rule are the defect each file was made with, not a reading of WeightKit.
"""
import json
import pathlib
import shutil

import gguf
import numpy as np

# A small valid Qwen3-shaped description; each GGUF case changes one key.
BASE_GGUF = {
    "block_count": ("u32", 2),
    "context_length": ("u32", 128),
    "embedding_length": ("u32", 48),
    "feed_forward_length": ("u32", 96),
    "attention.head_count": ("u32", 4),
    "attention.head_count_kv": ("u32", 1),
    "attention.key_length": ("u32", 16),
    "attention.value_length": ("u32", 16),
    "attention.layer_norm_rms_epsilon": ("f32", 1e-6),
    "rope.freq_base": ("f32", 10000.0),
}

# (file stem, architecture, key suffix -> (type, value) changes, key WeightKit names, rule)
GGUF_CASES = [
    ("kv-heads-zero", "qwen3", {"attention.head_count_kv": ("u32", 0)}, "qwen3.attention.head_count_kv", "positive"),
    ("heads-zero", "qwen3", {"attention.head_count": ("u32", 0)}, "qwen3.attention.head_count", "positive"),
    ("heads-not-multiple-of-kv", "qwen3", {"attention.head_count_kv": ("u32", 3)}, "qwen3.attention.head_count", "multipleOf"),
    ("rope-dimensions-beyond-head", "qwen3", {"rope.dimension_count": ("u32", 64)}, "qwen3.rope.dimension_count", "atMostKey"),
    ("rope-dimensions-odd", "qwen3", {"rope.dimension_count": ("u32", 15)}, "qwen3.rope.dimension_count", "even"),
    ("head-size-odd", "qwen3", {"attention.key_length": ("u32", 15), "attention.value_length": ("u32", 15),
                                "rope.dimension_count": ("u32", 14)}, "qwen3.attention.key_length", "even"),
    ("key-length-zero", "qwen3", {"attention.key_length": ("u32", 0)}, "qwen3.attention.key_length", "positive"),
    ("block-count-2e62", "qwen3", {"block_count": ("u64", 1 << 62)}, "qwen3.block_count", "atMost"),
    ("block-count-2e31", "qwen3", {"block_count": ("u64", 1 << 31)}, "qwen3.block_count", "atMost"),
    ("block-count-negative", "qwen3", {"block_count": ("i32", -4)}, "qwen3.block_count", "positive"),
    ("block-count-beyond-tensors", "qwen3", {"block_count": ("u32", 3)}, "qwen3.block_count", "moreThanTensors"),
    ("hidden-zero", "qwen3", {"embedding_length": ("u32", 0)}, "qwen3.embedding_length", "positive"),
    # Found by the architecture fuzzer: a model of no tokens was built (vocabulary 0 is allowed
    # only in a description without tensors, for budgets).
    ("vocab-size-zero", "qwen3", {"vocab_size": ("u32", 0)}, "qwen3.vocab_size", "positive"),
    ("hidden-huge", "qwen3", {"embedding_length": ("u64", 1 << 40)}, "qwen3.embedding_length", "atMost"),
    ("feed-forward-huge", "qwen3", {"feed_forward_length": ("u64", 1 << 40)}, "qwen3.feed_forward_length", "atMost"),
    ("context-negative", "qwen3", {"context_length": ("i32", -5)}, "qwen3.context_length", "notNegative"),
    ("context-huge", "qwen3", {"context_length": ("u64", 1 << 40)}, "qwen3.context_length", "atMost"),
    ("epsilon-nan", "qwen3", {"attention.layer_norm_rms_epsilon": ("f32", float("nan"))},
     "qwen3.attention.layer_norm_rms_epsilon", "finitePositive"),
    ("epsilon-negative", "qwen3", {"attention.layer_norm_rms_epsilon": ("f32", -1e-6)},
     "qwen3.attention.layer_norm_rms_epsilon", "finitePositive"),
    ("rope-base-infinite", "qwen3", {"rope.freq_base": ("f32", float("inf"))}, "qwen3.rope.freq_base", "finitePositive"),
    ("sliding-window-zero", "qwen3", {"attention.sliding_window": ("u32", 0)}, "qwen3.attention.sliding_window", "positive"),
    ("kv-heads-per-layer-zero", "qwen3", {"attention.head_count_kv": ("u32s", [1, 0])}, "qwen3.attention.head_count_kv", "positive"),
    ("experts-used-beyond-count", "qwen3moe", {"expert_count": ("u32", 4), "expert_used_count": ("u32", 5),
                                               "expert_feed_forward_length": ("u32", 32)},
     "qwen3moe.expert_used_count", "atMost"),
    ("expert-count-huge", "qwen3moe", {"expert_count": ("u64", 1 << 40), "expert_used_count": ("u32", 2),
                                       "expert_feed_forward_length": ("u32", 32)},
     "qwen3moe.expert_count", "atMost"),
    ("mtp-future-beyond-layers", "llama-mtp", {"n_future_tokens": ("u32", 9)}, "llama-mtp.n_future_tokens", "between"),
]

BASE_CONFIG = {
    "model_type": "qwen3", "vocab_size": 320, "hidden_size": 48, "intermediate_size": 96, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 16, "max_position_embeddings": 128,
    "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
}

# (file stem, changes to BASE_CONFIG (None deletes), key WeightKit names, rule)
CONFIG_CASES = [
    ("heads-zero", {"num_attention_heads": 0}, "num_attention_heads", "positive"),
    ("kv-heads-zero", {"num_key_value_heads": 0}, "num_key_value_heads", "positive"),
    ("kv-heads-not-dividing", {"num_key_value_heads": 3}, "num_attention_heads", "multipleOf"),
    ("partial-rotary-2", {"partial_rotary_factor": 2.0}, "partial_rotary_factor", "unitInterval"),
    ("partial-rotary-1e300", {"partial_rotary_factor": 1e300}, "partial_rotary_factor", "unitInterval"),
    ("partial-rotary-zero", {"partial_rotary_factor": 0.0}, "partial_rotary_factor", "unitInterval"),
    ("layers-1e18", {"num_hidden_layers": 10 ** 18}, "num_hidden_layers", "atMost"),
    ("layers-negative", {"num_hidden_layers": -3}, "num_hidden_layers", "positive"),
    ("hidden-huge", {"hidden_size": 1 << 40}, "hidden_size", "atMost"),
    ("vocab-huge", {"vocab_size": 1 << 40}, "vocab_size", "atMost"),
    ("context-huge", {"max_position_embeddings": 1 << 40}, "max_position_embeddings", "atMost"),
    ("head-size-odd", {"head_dim": 15}, "head_dim", "even"),
    ("intermediate-huge", {"intermediate_size": 1 << 40}, "intermediate_size", "atMost"),
    ("epsilon-negative", {"rms_norm_eps": -1.0}, "rms_norm_eps", "finitePositive"),
    ("rope-theta-zero", {"rope_theta": 0.0}, "rope_theta", "finitePositive"),
    ("rope-scaling-factor-negative", {"rope_scaling": {"rope_type": "linear", "factor": -2.0}}, "rope_scaling.factor",
     "finitePositive"),
    ("moe-used-beyond-experts", {"model_type": "qwen3_moe", "num_experts": 4, "num_experts_per_tok": 6,
                                 "moe_intermediate_size": 32}, "num_experts_per_tok", "atMost"),
]

OTHER_CASES = [
    # (relative file, JSON, key, rule)
    ("params/ffn-multiplier-1e300/params.json",
     {"dim": 64, "n_layers": 2, "n_heads": 4, "vocab_size": 100, "ffn_dim_multiplier": 1e300}, "ffn_dim_multiplier", "atMost"),
    ("params/future-beyond-layers/params.json",
     {"dim": 64, "n_layers": 2, "n_heads": 4, "vocab_size": 100, "n_future_tokens": 3}, "n_future_tokens", "atMostKey"),
    ("params/dim-not-multiple-of-heads/params.json",
     {"dim": 66, "n_layers": 2, "n_heads": 4, "vocab_size": 100}, "dim", "multipleOf"),
    ("configs/clip-patch-zero/config.json",
     {"model_type": "clip_vision_model", "image_size": 224, "patch_size": 0}, "patch_size", "positive"),
    ("configs/clip-heads-not-dividing/config.json",
     {"model_type": "clip_vision_model", "hidden_size": 100, "num_attention_heads": 16}, "hidden_size",
     "multipleOf"),
    # A rope_scaling parameter that no float holds (10^400 reads as infinity).
    ("configs/rope-scaling-parameter-infinite/config.json",
     {**BASE_CONFIG, "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 10 ** 400,
                                      "high_freq_factor": 4.0, "original_max_position_embeddings": 64}},
     "rope_scaling.low_freq_factor", "finite"),
    # 65536-pixel images of 1-pixel patches: 2^32 + 1 tokens, whose attention scores overflow.
    ("configs/clip-attention-overflow/config.json",
     {"model_type": "clip_vision_model", "image_size": 65536, "patch_size": 1, "hidden_size": 64,
      "num_attention_heads": 4, "intermediate_size": 128, "num_hidden_layers": 2}, "image_size", "overflows"),
    ("configs/expert-lm-heads-not-dividing/config.json",
     {"model_type": "expert_lm", "vocab_size": 100, "d_model": 66, "n_heads": 4}, "d_model", "multipleOf"),
]


def write_gguf(path: pathlib.Path, arch: str, keys: dict, with_tensor: bool) -> None:
    writer = gguf.GGUFWriter(str(path), arch)
    for suffix, (kind, value) in keys.items():
        key = f"{arch}.{suffix}"
        if kind == "u32":
            writer.add_uint32(key, value)
        elif kind == "u64":
            writer.add_uint64(key, value)
        elif kind == "i32":
            writer.add_int32(key, value)
        elif kind == "f32":
            writer.add_float32(key, value)
        elif kind == "u32s":
            writer.add_array(key, value)
        else:
            raise SystemExit(f"unknown kind {kind}")
    if with_tensor:
        # Two tiny tensors: a description read next to tensors is bounded by them.
        writer.add_tensor("token_embd.weight", np.zeros((4, 48), dtype=np.float32))
        writer.add_tensor("output_norm.weight", np.ones(48, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def generate(root: pathlib.Path) -> None:
    out = root / "hostile"
    if out.exists():
        shutil.rmtree(out)
    (out / "gguf").mkdir(parents=True)
    cases = []
    for stem, arch, changes, key, rule in GGUF_CASES:
        keys = dict(BASE_GGUF)
        if arch == "llama-mtp":
            keys["n_future_tokens"] = ("u32", 1)
        keys.update(changes)
        path = out / "gguf" / f"{stem}.gguf"
        write_gguf(path, arch, keys, with_tensor=True)
        cases.append({"file": f"hostile/gguf/{stem}.gguf", "key": key, "rule": rule})
    for stem, changes, key, rule in CONFIG_CASES:
        config = dict(BASE_CONFIG)
        for name, value in changes.items():
            if value is None:
                config.pop(name, None)
            else:
                config[name] = value
        path = out / "configs" / stem / "config.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(config, indent=1) + "\n")
        cases.append({"file": f"hostile/configs/{stem}/config.json", "key": key, "rule": rule})
    for relative, config, key, rule in OTHER_CASES:
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(config, indent=1) + "\n")
        cases.append({"file": f"hostile/{relative}", "key": key, "rule": rule})
    (out / "cases.json").write_text(json.dumps({"cases": cases}, indent=1) + "\n")
    per_layer_kv_heads(root)
    print(f"  {len(cases)} hostile descriptions", flush=True)


def per_layer_kv_heads(root: pathlib.Path) -> None:
    """Layers with different KV head counts (`head_count_kv = [1, 4]`): qwen3-tiny's f32 GGUF
    with layer 1's single key/value head repeated four times. Every query head then sees the
    same keys and values as before, so the logits must equal qwen3-tiny's; the scratch buffers
    must be sized for the widest layer."""
    source = gguf.GGUFReader(str(root / "models" / "qwen3-tiny-gguf" / "qwen3-tiny-f32.gguf"))
    arch = "qwen3"
    writer = gguf.GGUFWriter(str(root / "hostile" / "per-layer-kv-heads.gguf"), arch)
    for field in source.fields.values():
        if field.name.startswith("GGUF.") or field.name == "general.architecture":
            continue
        if field.name == f"{arch}.attention.head_count_kv":
            writer.add_array(field.name, [1, 4])
            continue
        value = field.contents()
        kind = field.types[0]
        if kind == gguf.GGUFValueType.ARRAY:
            writer.add_array(field.name, value)
        elif kind == gguf.GGUFValueType.STRING:
            writer.add_string(field.name, value)
        else:
            writer.add_key_value(field.name, value, kind)
    for tensor in source.tensors:
        data = np.array(tensor.data)
        if tensor.name in ("blk.1.attn_k.weight", "blk.1.attn_v.weight"):
            data = np.tile(data, (4, 1))
        writer.add_tensor(tensor.name, data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
