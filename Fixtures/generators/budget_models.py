"""References for `weightkit budget`.

* Published configurations (Qwen3-8B, Qwen3-30B-A3B, Llama-2-7B, CLIP ViT-L/14-336, SigLIP
  so400m, Qwen2.5-0.5B, LLaVA-NeXT-Video-7B, Mistral-7B-v0.1, Phi-3-mini-4k), written by transformers' own configuration
  classes, and the parameter counts transformers gives when it builds each model on the meta
  device (nothing is allocated). The per-component sums group transformers' own parameter
  names; the total is `sum(p.numel() for p in model.parameters())` (shared weights once).
* The tiny fixture models under Fixtures/models, counted the same way, and the FLOPs torch's
  FlopCounterMode counts in a forward pass of the dense ones.
* Seed 002's expert LM and seed 001's Micro-MTP as configuration files (their counts come from
  the independent PyTorch modules in reference_models.py, recorded by expert_models.py and
  mtp_models.py).
* LLaVA-NeXT-Video's vision tokens per frame, from the shapes of a forward pass on the meta
  device.
* llama.cpp's KV-cache allocation for a Qwen2.5-0.5B-shaped GGUF (zero Q4_0 weights, the
  Qwen2 tokenizer of ggml-vocab-qwen2.gguf) at several contexts, cache types and parallel
  sequence counts: the `llama_kv_cache: size = ... MiB` line it logs when tools/llama_kv_probe.c
  creates a context through llama.cpp's C API (one unified cache, sliding-window caches sized by
  the window). The committed GGUF holds the same metadata without tensors or tokenizer.
* llama.cpp's KV-cache allocation for the tiny Mistral (llama.cpp's f32 GGUF with WeightKit's
  `llama.attention.sliding_window` added) and Phi-3 (llama.cpp's own f32 GGUF, whose window
  llama.cpp disables): a cache for the whole context on every layer, whatever the window. The
  Mistral file is committed as budget/mistral-tiny-window.gguf, metadata only.
* The same for tiny models with interleaved sliding windows in llama.cpp's gemma2 and gemma3
  layouts (Gemma 2's window and pattern, Gemma 3's pattern with a window of 1000): the two lines
  llama.cpp logs, for the full layers' cache and the window layers'.
* Gemma-2-9B and Gemma-3-4B (Gemma3ForConditionalGeneration, with its SigLIP tower and
  projector) from their published configurations; Gemma 3's image tokens from the shape of its
  projected image features on the meta device.
"""
import json
import pathlib
import re
import shutil
import subprocess

import numpy as np
import torch
import transformers
from torch.utils.flop_counter import FlopCounterMode
from transformers import (AutoModel, AutoModelForCausalLM, CLIPConfig, CLIPVisionConfig, CLIPVisionModel,
                          CLIPVisionModelWithProjection,
                          LlamaConfig, LlavaNextVideoConfig, Qwen2Config, Qwen3Config, Qwen3MoeConfig,
                          SiglipConfig, BertConfig, MistralConfig, Phi3Config)

from .common import llama_cpp_dir, write_json
from .reference_models import ExpertModel

# ------------------------------------------------------------------ published configurations


def qwen3_8b():
    return Qwen3Config(vocab_size=151936, hidden_size=4096, intermediate_size=12288, num_hidden_layers=36,
                       num_attention_heads=32, num_key_value_heads=8, head_dim=128, max_position_embeddings=40960,
                       rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=False, attention_bias=False,
                       torch_dtype="bfloat16")


def qwen3_30b_a3b():
    return Qwen3MoeConfig(vocab_size=151936, hidden_size=2048, intermediate_size=6144, moe_intermediate_size=768,
                          num_hidden_layers=48, num_attention_heads=32, num_key_value_heads=4, head_dim=128,
                          num_experts=128, num_experts_per_tok=8, decoder_sparse_step=1, mlp_only_layers=[],
                          norm_topk_prob=True, max_position_embeddings=40960, rms_norm_eps=1e-6,
                          rope_theta=1000000.0, tie_word_embeddings=False, torch_dtype="bfloat16")


def llama2_7b():
    return LlamaConfig(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                       num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=4096,
                       rms_norm_eps=1e-5, tie_word_embeddings=False, torch_dtype="float16")


def qwen25_05b():
    return Qwen2Config(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                       num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
                       rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True, sliding_window=32768,
                       use_sliding_window=False, max_window_layers=21, torch_dtype="bfloat16")


def clip_l14_336_vision():
    return CLIPVisionConfig(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                            image_size=336, patch_size=14, projection_dim=768, hidden_act="quick_gelu")


def clip_l14_336_vision_projection():
    """CLIPVisionModelWithProjection: the tower and `visual_projection` (named in `architectures`)."""
    config = clip_l14_336_vision()
    config.architectures = ["CLIPVisionModelWithProjection"]
    return config


def clip_l14_336():
    return CLIPConfig(
        text_config=dict(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                         num_attention_heads=12, max_position_embeddings=77, projection_dim=768),
        vision_config=clip_l14_336_vision().to_dict(), projection_dim=768)


def siglip_so400m():
    return SiglipConfig(
        text_config=dict(vocab_size=32000, hidden_size=1152, intermediate_size=4304, num_hidden_layers=27,
                         num_attention_heads=16, max_position_embeddings=64),
        vision_config=dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27, num_attention_heads=16,
                           image_size=384, patch_size=14))


def llava_next_video_7b():
    return LlavaNextVideoConfig(
        vision_config=clip_l14_336_vision().to_dict() | {"model_type": "clip_vision_model"},
        text_config=dict(model_type="llama", vocab_size=32064, hidden_size=4096, intermediate_size=11008,
                         num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
                         max_position_embeddings=4096, rms_norm_eps=1e-5),
        spatial_pool_stride=2, spatial_pool_mode="average", vision_feature_layer=-2,
        vision_feature_select_strategy="default", projector_hidden_act="gelu", image_token_index=32001,
        video_token_index=32000)


def gemma2_9b():
    return transformers.Gemma2Config(
        vocab_size=256000, hidden_size=3584, intermediate_size=14336, num_hidden_layers=42, num_attention_heads=16,
        num_key_value_heads=8, head_dim=256, query_pre_attn_scalar=256, sliding_window=4096, max_position_embeddings=8192,
        rms_norm_eps=1e-6, rope_theta=10000.0, attn_logit_softcapping=50.0, final_logit_softcapping=30.0,
        hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True, torch_dtype="float32")


def gemma3_4b():
    return transformers.Gemma3Config(
        text_config=dict(model_type="gemma3_text", hidden_size=2560, intermediate_size=10240, num_hidden_layers=34,
                         rope_scaling={"rope_type": "linear", "factor": 8.0}, sliding_window=1024),
        vision_config=dict(model_type="siglip_vision_model", hidden_size=1152, image_size=896, intermediate_size=4304,
                           num_attention_heads=16, num_hidden_layers=27, patch_size=14, vision_use_head=False),
        mm_tokens_per_image=256, boi_token_index=255999, eoi_token_index=256000, image_token_index=262144,
        torch_dtype="bfloat16")


def bert_base():
    return BertConfig(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                      intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2)


def mistral_7b():
    """mistralai/Mistral-7B-v0.1's config.json."""
    return MistralConfig(vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                         num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=32768,
                         rms_norm_eps=1e-5, rope_theta=10000.0, sliding_window=4096, tie_word_embeddings=False,
                         torch_dtype="bfloat16")


def phi3_mini():
    """microsoft/Phi-3-mini-4k-instruct's config.json."""
    return Phi3Config(vocab_size=32064, hidden_size=3072, intermediate_size=8192, num_hidden_layers=32,
                      num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=4096,
                      original_max_position_embeddings=4096, rms_norm_eps=1e-5, rope_theta=10000.0, rope_scaling=None,
                      sliding_window=2047, tie_word_embeddings=False, bos_token_id=1, eos_token_id=32000,
                      pad_token_id=32000, torch_dtype="bfloat16")


PUBLISHED = {
    "qwen3-8b": (qwen3_8b, AutoModelForCausalLM),
    "qwen3-30b-a3b": (qwen3_30b_a3b, AutoModelForCausalLM),
    "llama-2-7b": (llama2_7b, AutoModelForCausalLM),
    "qwen2.5-0.5b": (qwen25_05b, AutoModelForCausalLM),
    "clip-vit-large-patch14-336": (clip_l14_336, AutoModel),
    "clip-vit-large-patch14-336-vision": (clip_l14_336_vision, CLIPVisionModel),
    "clip-vit-large-patch14-336-vision-projection": (clip_l14_336_vision_projection, CLIPVisionModelWithProjection),
    "siglip-so400m-patch14-384": (siglip_so400m, AutoModel),
    "llava-next-video-7b": (llava_next_video_7b, None),
    "bert-base-uncased": (bert_base, AutoModel),
    "mistral-7b": (mistral_7b, AutoModelForCausalLM),
    "phi-3-mini": (phi3_mini, AutoModelForCausalLM),
    "gemma-2-9b": (gemma2_9b, AutoModelForCausalLM),
    "gemma-3-4b": (gemma3_4b, "Gemma3ForConditionalGeneration"),
}

# ------------------------------------------------------------- components of transformers' names

COMPONENTS = [
    # (component, pattern on the parameter name); first match wins.
    ("vision_tower", r"(^|\.)vision_(model|tower)\."),
    ("projector", r"multi_modal_projector\.|image_newline"),
    ("contrastive_heads", r"^(visual_projection|text_projection|logit_scale|logit_bias)|text_model\.head\."),
    ("output_head", r"lm_head\.|pooler\."),
    ("embedding", r"embed_tokens|word_embeddings|token_embedding|position_embedding|token_type_embeddings|wte|wpe"),
    ("router", r"\.mlp\.gate\.weight$|\.gate\.weight$"),
    ("experts", r"\.mlp\.experts\."),
    ("attention", r"self_attn\.(q|k|v|o|qkv)_proj\.|attention\.(self\.(query|key|value)|output\.dense)|self_attn\.out_proj"),
    ("norms", r"norm|LayerNorm|layrnorm"),
    ("mlp", r"\.mlp\.|intermediate\.dense|output\.dense"),
]


def component(name: str, vision_only: bool) -> str:
    if vision_only:
        return "vision_tower"
    for label, pattern in COMPONENTS:
        if re.search(pattern, name):
            return label
    raise SystemExit(f"unclassified parameter {name}")


def count(model: torch.nn.Module, vision_only: bool = False) -> dict:
    by_component: dict[str, int] = {}
    seen = set()
    for name, p in model.named_parameters():  # shared parameters are listed once
        if id(p) in seen:
            continue
        seen.add(id(p))
        label = component(name, vision_only)
        by_component[label] = by_component.get(label, 0) + p.numel()
    return {"total": sum(p.numel() for p in model.parameters()), "by_component": by_component}


def build(config, auto):
    with torch.device("meta"):
        if isinstance(auto, str):  # a model class by name (conditional-generation models)
            return getattr(transformers, auto)(config)
        if auto is None:
            from transformers import LlavaNextVideoForConditionalGeneration
            return LlavaNextVideoForConditionalGeneration(config)
        if auto in (CLIPVisionModel, CLIPVisionModelWithProjection):
            return auto(config)
        return auto.from_config(config)


def video_tokens_per_frame(model) -> int:
    """Tokens one video frame becomes: the shape of LLaVA-NeXT-Video's own video features."""
    config = model.config
    size = config.vision_config.image_size
    pixels = torch.empty(1, 1, 3, size, size, device="meta")
    with torch.no_grad():
        features = model.model.get_video_features(pixel_values_videos=pixels)
    features = features[0] if isinstance(features, (list, tuple)) else getattr(features, "pooler_output", features)
    if isinstance(features, (list, tuple)):
        features = features[0]
    return int(features.shape[-2])


def image_tokens(model) -> int:
    """Tokens one image becomes: the shape of Gemma 3's projected image features."""
    size = model.config.vision_config.image_size
    pixels = torch.empty(1, 3, size, size, device="meta")
    with torch.no_grad():
        features = model.model.get_image_features(pixel_values=pixels)
    features = getattr(features, "pooler_output", features)
    if isinstance(features, (list, tuple)):
        features = features[0]
    return int(features.shape[-2])


LORA_CASES = [
    # (model, rank, target module names as peft takes them)
    ("qwen3-8b", 16, ["q_proj", "k_proj", "v_proj", "o_proj"]),
    ("qwen3-8b", 8, ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]),
    ("llama-2-7b", 64, ["q_proj", "v_proj"]),
    ("qwen2.5-0.5b", 32, ["k_proj", "o_proj", "down_proj"]),
]


def lora_trainable(model, rank: int, targets: list[str]) -> int:
    """What LoRA adds to every nn.Linear whose name ends in a target: r x (in + out)."""
    total = 0
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and name.split(".")[-1] in targets:
            total += rank * (module.in_features + module.out_features)
    return total


def published(out: pathlib.Path) -> dict:
    references = {}
    for label, (make, auto) in PUBLISHED.items():
        config = make()
        directory = out / "configs" / label
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "config.json").write_text(config.to_json_string())
        model = build(config, auto)
        entry = count(model, vision_only=auto is CLIPVisionModel)
        if label.startswith("llava"):
            entry["video_tokens_per_frame"] = video_tokens_per_frame(model)
        if label.startswith("gemma-3"):
            entry["image_tokens"] = image_tokens(model)
        entry["lora"] = [{"rank": rank, "targets": [t.removesuffix("_proj") for t in targets],
                          "trainable": lora_trainable(model, rank, targets)}
                         for name, rank, targets in LORA_CASES if name == label]
        references[label] = entry
        print(f"  {label}: {entry['total']:,}", flush=True)
    return references


def tiny(root: pathlib.Path) -> dict:
    references = {}
    for directory in sorted((root / "models").iterdir()):
        config_file = directory / "config.json"
        if not config_file.exists():
            continue
        config = transformers.AutoConfig.from_pretrained(directory)
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config)
        references[directory.name] = count(model)
        if "moe" not in directory.name:
            references[directory.name]["forward_flops"] = forward_flops(config)
    return references


FLOP_TOKENS = [16, 64]


def forward_flops(config) -> list[dict]:
    """torch's FlopCounterMode over one forward pass of `tokens` tokens with eager attention,
    which multiplies every query with every key (no causal saving): tokens x the FLOPs of a
    token that attends to `tokens` positions. Dense models only: transformers' fused experts
    run through an operator the counter does not count."""
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, attn_implementation="eager").eval()
    result = []
    for tokens in FLOP_TOKENS:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(input_ids=torch.zeros(1, tokens, dtype=torch.long), use_cache=False)
        result.append({"tokens": tokens, "flops": counter.get_total_flops()})
    return result


SLIDING_TOKENS = [5, 8, 20]


def sliding_cache(out: pathlib.Path, root: pathlib.Path) -> dict:
    """A tiny Qwen3 whose first layer attends to a sliding window of 8: how many key/value
    elements transformers' cache holds after a forward pass of `tokens` tokens."""
    config = transformers.AutoConfig.from_pretrained(root / "models" / "qwen3-tiny")
    config.layer_types = ["sliding_attention", "full_attention"]
    config.sliding_window = 8
    config.use_sliding_window = True
    directory = out / "configs" / "qwen3-tiny-sliding"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(config.to_json_string())
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config).eval()
    runs = []
    for tokens in SLIDING_TOKENS:
        with torch.no_grad():
            cache = model(input_ids=torch.zeros(1, tokens, dtype=torch.long), use_cache=True).past_key_values
        runs.append({"tokens": tokens, "cached_per_layer": [layer.keys.shape[-2] for layer in cache.layers],
                     "elements": sum(layer.keys.numel() + layer.values.numel() for layer in cache.layers)})
    return {"config": "configs/qwen3-tiny-sliding", "runs": runs}


def seed_models(out: pathlib.Path, root: pathlib.Path) -> None:
    """Configuration files of seed 002's test model and seed 001's Micro-MTP, for the CLI."""
    seed = json.loads((root / "experts" / "seed-002-configurations.json").read_text())
    for label, entry in seed.items():
        directory = out / "configs" / f"expert-lm-{label}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "config.json").write_text(json.dumps(entry["config"], indent=2) + "\n")
        with torch.device("meta"):
            model = ExpertModel(**{k: v for k, v in entry["config"].items() if k != "model_type"})
        assert model.get_num_params() == entry["parameters"]
    micro = json.loads((root / "mtp" / "micro-mtp.json").read_text())
    directory = out / "configs" / "micro-mtp"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "params.json").write_text(json.dumps(micro["params"], indent=2) + "\n")


# ------------------------------------------------------------------------ llama.cpp KV cache

KV_RUNS = [
    # (context, type_k, type_v, parallel sequences)
    (256, "f16", "f16", 1),
    (4096, "f16", "f16", 1),
    (1000, "f16", "f16", 1),
    (32768, "f16", "f16", 1),
    (4096, "f32", "f32", 1),
    (4096, "q8_0", "q8_0", 1),
    (4096, "q4_0", "q4_0", 1),
    (4096, "q8_0", "f16", 1),
    (2048, "f16", "f16", 2),
    # one unified cache pads the sequences' cells together: pad(3 x 100, 256), not 3 x pad(100, 256)
    (100, "f16", "f16", 3),
]


# Interleaved sliding windows: tiny models with Gemma 2's and Gemma 3's layer patterns
# (llama.cpp's defaults for the architecture: every other layer, five of six) and windows, one
# of them not a multiple of 256.
INTERLEAVED = [
    # (file, architecture, layers, window)
    ("gemma2-shaped.gguf", "gemma2", 4, 4096),
    ("gemma3-shaped.gguf", "gemma3", 6, 1000),
]

INTERLEAVED_RUNS = [
    # (context, type_k, type_v, parallel sequences)
    (256, "f16", "f16", 1),
    (1000, "f16", "f16", 1),
    (1536, "f16", "f16", 1),
    (4096, "f16", "f16", 1),
    (8192, "f16", "f16", 1),
    (32768, "q8_0", "q8_0", 1),
    (4096, "f16", "f16", 2),
    (3000, "f16", "f16", 3),
    (2048, "q4_0", "q4_0", 4),
]


def interleaved_gguf(path: pathlib.Path, arch: str, layers: int, window: int, with_weights: bool) -> None:
    """A model of llama.cpp's `arch` with zero float32 weights (hidden 64, 4 heads, 2 KV heads of
    32) and the tiny Gemma 2 fixture's SentencePiece vocabulary; metadata only when
    `with_weights` is false."""
    import gguf
    hidden, heads, kv_heads, head, ff = 64, 4, 2, 32, 64
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_name(f"{arch}-shaped")
    writer.add_context_length(32768)
    writer.add_embedding_length(hidden)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(ff)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_key_length(head)
    writer.add_value_length(head)
    writer.add_sliding_window(window)
    if arch == "gemma2":
        writer.add_attn_logit_softcapping(50.0)
        writer.add_final_logit_softcapping(30.0)
    else:
        writer.add_rope_freq_base(1000000.0)
        writer.add_rope_freq_base_swa(10000.0)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    if with_weights:
        vocab_file = pathlib.Path(__file__).resolve().parents[1] / "models" / "gemma2-tiny-gguf" / "gemma2-tiny-f32.gguf"
        vocab = gguf.GGUFReader(str(vocab_file))
        for field in vocab.fields.values():
            if field.name.startswith("tokenizer."):
                copy_field(writer, vocab, field)
        n_vocab = len(vocab.fields["tokenizer.ggml.tokens"].data)

        def zeros(name, shape):
            writer.add_tensor(name, np.zeros(shape, dtype=np.float32))

        zeros("token_embd.weight", [n_vocab, hidden])
        zeros("output_norm.weight", [hidden])
        for i in range(layers):
            p = f"blk.{i}."
            for norm in ("attn_norm", "post_attention_norm", "ffn_norm", "post_ffw_norm"):
                zeros(p + norm + ".weight", [hidden])
            zeros(p + "attn_q.weight", [heads * head, hidden])
            zeros(p + "attn_k.weight", [kv_heads * head, hidden])
            zeros(p + "attn_v.weight", [kv_heads * head, hidden])
            zeros(p + "attn_output.weight", [hidden, heads * head])
            if arch == "gemma3":
                zeros(p + "attn_q_norm.weight", [head])
                zeros(p + "attn_k_norm.weight", [head])
            zeros(p + "ffn_gate.weight", [ff, hidden])
            zeros(p + "ffn_up.weight", [ff, hidden])
            zeros(p + "ffn_down.weight", [hidden, ff])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


KV_LINE = r"llama_kv_cache: size = +([0-9.]+) MiB \( *(\d+) cells, +(\d+) layers, +(\d+)/(\d+) seqs"


def probe_kv(probe: pathlib.Path, model: pathlib.Path, ctx: int, parallel: int, type_k: str, type_v: str) -> list[dict]:
    """llama.cpp's KV-cache log lines for one context: one per cache it creates."""
    result = subprocess.run([str(probe), str(model), str(ctx), str(parallel), type_k, type_v],
                            capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    log = result.stdout + result.stderr
    caches = [{"mib": m.group(1), "cells": int(m.group(2)), "layers": int(m.group(3)), "line": m.group(0)}
              for m in re.finditer(KV_LINE, log)]
    if result.returncode != 0 or not caches:
        raise SystemExit(f"no KV-cache line in llama.cpp's log:\n{log[-3000:]}")
    return caches


def qwen_shaped_gguf(path: pathlib.Path, with_weights: bool) -> None:
    """Qwen2.5-0.5B's architecture as llama.cpp's converter writes it; zero Q4_0 weights."""
    import gguf
    c = qwen25_05b()
    writer = gguf.GGUFWriter(str(path), "qwen2")
    writer.add_name("Qwen2.5-0.5B-shaped")
    writer.add_context_length(c.max_position_embeddings)
    writer.add_embedding_length(c.hidden_size)
    writer.add_block_count(c.num_hidden_layers)
    writer.add_feed_forward_length(c.intermediate_size)
    writer.add_head_count(c.num_attention_heads)
    writer.add_head_count_kv(c.num_key_value_heads)
    writer.add_rope_freq_base(1000000.0)
    writer.add_layer_norm_rms_eps(c.rms_norm_eps)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_0)
    if with_weights:
        vocab = gguf.GGUFReader(str(pathlib.Path("/work/shared/realdata/ggml-vocab-qwen2.gguf")))
        for field in vocab.fields.values():
            if field.name.startswith("tokenizer."):
                copy_field(writer, vocab, field)
        n_vocab = len(vocab.fields["tokenizer.ggml.tokens"].data)
        h, kv, ff = c.hidden_size, c.num_key_value_heads * (c.hidden_size // c.num_attention_heads), c.intermediate_size

        def zeros(name, shape, quantized=True):
            kind = gguf.GGMLQuantizationType.Q4_0 if quantized else gguf.GGMLQuantizationType.F32
            if quantized:  # gguf-py takes quantised data as rows of bytes
                writer.add_tensor(name, np.zeros((shape[0], shape[1] // 32 * 18), dtype=np.uint8), raw_dtype=kind)
            else:
                writer.add_tensor(name, np.zeros(shape, dtype=np.float32))

        zeros("token_embd.weight", [n_vocab, h])
        zeros("output_norm.weight", [h], quantized=False)
        for i in range(c.num_hidden_layers):
            p = f"blk.{i}."
            zeros(p + "attn_norm.weight", [h], False)
            zeros(p + "attn_q.weight", [h, h]); zeros(p + "attn_q.bias", [h], False)
            zeros(p + "attn_k.weight", [kv, h]); zeros(p + "attn_k.bias", [kv], False)
            zeros(p + "attn_v.weight", [kv, h]); zeros(p + "attn_v.bias", [kv], False)
            zeros(p + "attn_output.weight", [h, h])
            zeros(p + "ffn_norm.weight", [h], False)
            zeros(p + "ffn_gate.weight", [ff, h]); zeros(p + "ffn_up.weight", [ff, h])
            zeros(p + "ffn_down.weight", [h, ff])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def copy_field(writer, reader, field) -> None:
    import gguf
    kind = field.types[0]
    if kind == gguf.GGUFValueType.ARRAY:
        sub = field.types[-1]
        if sub == gguf.GGUFValueType.STRING:
            values = [bytes(field.parts[i]).decode("utf-8", errors="surrogateescape") for i in field.data]
        else:
            values = [field.parts[i].tolist()[0] for i in field.data]
        writer.add_key_value(field.name, values, kind, sub_type=sub)
    elif kind == gguf.GGUFValueType.STRING:
        writer.add_key_value(field.name, bytes(field.parts[field.data[0]]).decode("utf-8"), kind)
    else:
        writer.add_key_value(field.name, field.parts[field.data[0]].tolist()[0], kind)


def llama_cpp_kv(out: pathlib.Path, root: pathlib.Path) -> None:
    cache = root / ".cache" / "budget"
    cache.mkdir(parents=True, exist_ok=True)
    model = cache / "qwen2.5-0.5b-shaped-q4_0.gguf"
    if not model.exists():
        qwen_shaped_gguf(model, with_weights=True)
    qwen_shaped_gguf(out / "qwen2.5-0.5b-shaped.gguf", with_weights=False)
    probe = build_probe(root, cache)
    runs = []
    for ctx, type_k, type_v, parallel in KV_RUNS:
        (entry,) = probe_kv(probe, model, ctx, parallel, type_k, type_v)
        runs.append({"ctx": ctx, "type_k": type_k, "type_v": type_v, "parallel": parallel} | entry)
        print(f"  kv {ctx} {type_k}/{type_v} x{parallel}: {entry['mib']} MiB", flush=True)
    interleaved = []
    for name, arch, layers, window in INTERLEAVED:
        weighted = cache / name
        interleaved_gguf(weighted, arch, layers, window, with_weights=True)
        interleaved_gguf(out / name, arch, layers, window, with_weights=False)
        model_runs = []
        for ctx, type_k, type_v, parallel in INTERLEAVED_RUNS:
            caches = probe_kv(probe, weighted, ctx, parallel, type_k, type_v)
            if len(caches) != 2:
                raise SystemExit(f"{name}: expected a full and a sliding-window cache, got {caches}")
            model_runs.append({"ctx": ctx, "type_k": type_k, "type_v": type_v, "parallel": parallel, "caches": caches})
            print(f"  kv {name} {ctx} {type_k}/{type_v} x{parallel}: " + " + ".join(c["mib"] for c in caches) + " MiB", flush=True)
        interleaved.append({"model": name, "window": window, "runs": model_runs})
    write_json(out / "llama_cpp_kv.json", {"model": "qwen2.5-0.5b-shaped.gguf", "runs": runs,
                                           "window_families": window_families_kv(out, root), "interleaved": interleaved})


WINDOW_KV_RUNS = [(256, "f16", "f16", 1), (1000, "f16", "f16", 1), (4096, "f32", "f32", 1), (2048, "f16", "f16", 2)]


def probe(probe_binary: pathlib.Path, model: pathlib.Path, runs) -> list[dict]:
    """llama.cpp's `llama_kv_cache: size = ...` line for each (context, types, sequences)."""
    results = []
    for ctx, type_k, type_v, parallel in runs:
        result = subprocess.run([str(probe_binary), str(model), str(ctx), str(parallel), type_k, type_v],
                                capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
        log = result.stdout + result.stderr
        lines = re.findall(r"llama_kv_cache: size = +([0-9.]+) MiB \( *(\d+) cells, +(\d+) layers, +(\d+)/(\d+) seqs", log)
        if len(lines) != 1:
            raise SystemExit(f"expected one KV-cache line (one cache for every layer) in llama.cpp's log:\n{log[-3000:]}")
        mib, cells, layers, _, _ = lines[0]
        results.append({"ctx": ctx, "type_k": type_k, "type_v": type_v, "parallel": parallel, "mib": mib,
                        "cells": int(cells), "layers": int(layers)})
        print(f"  kv {model.name} {ctx} {type_k}/{type_v} x{parallel}: {mib} MiB, {cells} cells", flush=True)
    return results


def with_window_key(source: pathlib.Path, destination: pathlib.Path, window: int, with_tensors: bool) -> None:
    """A copy of a llama GGUF with `llama.attention.sliding_window`, as WeightKit writes Mistral."""
    import gguf
    reader = gguf.GGUFReader(str(source))
    writer = gguf.GGUFWriter(str(destination), "llama")
    for field in reader.fields.values():
        if field.name.startswith("GGUF.") or field.name == "general.architecture":
            continue
        if not with_tensors and field.name.startswith("tokenizer."):
            continue
        copy_field(writer, reader, field)
    writer.add_sliding_window(window)
    if with_tensors:
        for tensor in reader.tensors:
            assert tensor.tensor_type == gguf.GGMLQuantizationType.F32
            writer.add_tensor(tensor.name, np.array(tensor.data))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def window_families_kv(out: pathlib.Path, root: pathlib.Path) -> dict:
    cache = root / ".cache" / "budget"
    probe_binary = build_probe(root, cache)
    window = json.loads((root / "models" / "mistral-tiny" / "reference.json").read_text())["window"]
    mistral = cache / "mistral-tiny-window.gguf"
    with_window_key(root / "models" / "mistral-tiny-gguf" / "mistral-tiny-f32.gguf", mistral, window, with_tensors=True)
    with_window_key(root / "models" / "mistral-tiny-gguf" / "mistral-tiny-f32.gguf", out / "mistral-tiny-window.gguf", window,
                    with_tensors=False)
    phi3 = root / "models" / "phi3-tiny-gguf" / "phi3-tiny-f32.gguf"
    return {
        "mistral-tiny": {"model": "budget/mistral-tiny-window.gguf", "window": window,
                         "runs": probe(probe_binary, mistral, WINDOW_KV_RUNS)},
        "phi3-tiny": {"model": "models/phi3-tiny-gguf/phi3-tiny-f32.gguf", "window": window,
                      "runs": probe(probe_binary, phi3, WINDOW_KV_RUNS)},
    }


def build_probe(root: pathlib.Path, cache: pathlib.Path) -> pathlib.Path:
    """Compiles tools/llama_kv_probe.c against the built libllama."""
    llama = llama_cpp_dir()
    binary = cache / "llama_kv_probe"
    lib = llama / "build" / "bin"
    subprocess.run(["cc", "-O1", "-o", str(binary), str(root / "tools" / "llama_kv_probe.c"),
                    f"-I{llama / 'include'}", f"-I{llama / 'ggml' / 'include'}", f"-L{lib}", "-lllama", "-lggml-base",
                    f"-Wl,-rpath,{lib}"], check=True)
    return binary


def generate(root: pathlib.Path) -> None:
    out = root / "budget"
    if (out / "configs").exists():
        shutil.rmtree(out / "configs")
    out.mkdir(parents=True, exist_ok=True)
    references = {"transformers_version": transformers.__version__,
                  "published": published(out), "tiny": tiny(root), "sliding_cache": sliding_cache(out, root)}
    write_json(out / "parameters.json", references)
    seed_models(out, root)
    llama_cpp_kv(out, root)
