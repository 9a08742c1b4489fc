"""Tiny random decoder LMs from transformers, their GGUF copies from llama.cpp's converter, and
transformers' outputs: full-sequence logits, greedy tokens, and sampling distributions.

Each model lives in Fixtures/models/<name>/ as transformers saves it (config.json,
model.safetensors, tokenizer files); GGUF copies beside it are written by llama.cpp's own
convert_hf_to_gguf.py (f32, f16, q8_0). reference.json holds the prompt, greedy tokens and the
sampling cases; logits.npy holds float32 [T, vocab] for the prompt.

The shapes vary on purpose: grouped and single key/value heads, head_dim different from
hidden/heads, q/k/v biases, tied and untied embeddings, llama3 rope scaling, mixture of experts
with top-k renormalisation and a dense layer, transformers 4.x and 5.x config spellings.
"""
import json
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import torch
from safetensors.torch import save_file

from .common import llama_cpp_dir, save_npy, write_json

PROMPT = [5, 17, 256, 3, 99, 250, 41, 8, 300, 12, 77, 150]
NEW_TOKENS = 8
SAMPLING_CASES = [
    {"temperature": 0.7, "top_k": 0, "top_p": 1.0},
    {"temperature": 1.0, "top_k": 20, "top_p": 1.0},
    {"temperature": 1.0, "top_k": 0, "top_p": 0.9},
    {"temperature": 0.8, "top_k": 40, "top_p": 0.95},
    {"temperature": 1.3, "top_k": 5, "top_p": 0.5},
]
CORPUS = ("the quick brown fox jumps over the lazy dog. " * 20 + "weights tensors models files bytes " * 20
          + "Grüße 世界 llama qwen expert gguf safetensors 0123456789 ")


def tiny_tokenizer(directory: pathlib.Path, vocab_size: int) -> None:
    """A byte-level BPE tokenizer trained on a short text, saved as tokenizer.json."""
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers
    from transformers import PreTrainedTokenizerFast
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<|endoftext|>"])
    tokenizer.train_from_iterator([CORPUS], trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|endoftext|>", bos_token="<|endoftext|>")
    fast.save_pretrained(str(directory))


def qwen3_moe_4x_layout(model, directory: pathlib.Path, config: dict) -> None:
    """The same weights in transformers 4.x's layout: one tensor per expert and projection, and the
    4.x config spellings (num_experts, rope_theta, torch_dtype)."""
    state = {}
    for name, tensor in model.state_dict().items():
        if name.endswith("mlp.experts.gate_up_proj"):
            prefix = name[: -len("gate_up_proj")]
            size = tensor.shape[1] // 2
            for e in range(tensor.shape[0]):
                state[f"{prefix}{e}.gate_proj.weight"] = tensor[e, :size].contiguous()
                state[f"{prefix}{e}.up_proj.weight"] = tensor[e, size:].contiguous()
        elif name.endswith("mlp.experts.down_proj"):
            prefix = name[: -len("down_proj")]
            for e in range(tensor.shape[0]):
                state[f"{prefix}{e}.down_proj.weight"] = tensor[e].contiguous()
        elif name == "lm_head.weight" and config.get("tie_word_embeddings"):
            continue
        else:
            state[name] = tensor.contiguous()
    directory.mkdir(parents=True, exist_ok=True)
    save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})
    legacy = dict(config)
    legacy["num_experts"] = legacy.pop("num_local_experts")
    rope = legacy.pop("rope_parameters")
    legacy["rope_theta"] = rope["rope_theta"]
    legacy["torch_dtype"] = legacy.pop("dtype", "float32")
    (directory / "config.json").write_text(json.dumps(legacy, indent=2))


CONVERT_WRAPPER = """
import sys
sys.path.insert(0, sys.argv[1])
import conversion.base as base
# The tiny test tokenizer is not one of llama.cpp's known pre-tokenizers; its tensors and
# metadata conversion is what is under test, so the pre-tokenizer check answers 'default'.
base.TextModel.get_vocab_base_pre = lambda self, tokenizer: "default"
import convert_hf_to_gguf
sys.argv = ["convert_hf_to_gguf.py"] + sys.argv[2:]
convert_hf_to_gguf.main()
"""


def convert_to_gguf(hf_dir: pathlib.Path, out: pathlib.Path, outtype: str) -> None:
    root = llama_cpp_dir()
    if root is None:
        raise SystemExit("llama.cpp is not built: run `make llama-cpp`")
    subprocess.run([sys.executable, "-c", CONVERT_WRAPPER, str(root), str(hf_dir), "--outfile", str(out),
                    "--outtype", outtype], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def build(name: str, config, out: pathlib.Path, tokenizer_size: int, gguf: bool = True) -> None:
    from transformers import AutoModelForCausalLM
    from transformers.generation.logits_process import (TemperatureLogitsWarper, TopKLogitsWarper,
                                                       TopPLogitsWarper)
    torch.manual_seed(1234)
    model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.float32).eval()
    # Larger weights than the default init so that logits differ clearly between positions.
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() >= 2:
                parameter.normal_(0, 0.08)
            elif "norm" in "".join(n for n, p in model.named_parameters() if p is parameter):
                parameter.uniform_(0.8, 1.2)
            else:
                parameter.normal_(0, 0.05)
    directory = out / name
    if directory.exists():
        shutil.rmtree(directory)
    model.save_pretrained(str(directory), safe_serialization=True)
    tiny_tokenizer(directory, tokenizer_size)

    ids = torch.tensor([PROMPT])
    with torch.no_grad():
        logits = model(ids).logits[0].float().numpy()
        generated = model.generate(ids, max_new_tokens=NEW_TOKENS, do_sample=False, eos_token_id=None,
                                   pad_token_id=0, min_new_tokens=NEW_TOKENS)[0, len(PROMPT):].tolist()
        last = model(ids).logits[:, -1, :].float()
    save_npy(directory / "logits.npy", logits.astype(np.float32))
    sampling = []
    for case in SAMPLING_CASES:
        scores = last.clone()
        if case["temperature"] != 1.0:
            scores = TemperatureLogitsWarper(case["temperature"])(ids, scores)
        if case["top_k"] > 0:
            scores = TopKLogitsWarper(case["top_k"])(ids, scores)
        if case["top_p"] < 1.0:
            scores = TopPLogitsWarper(case["top_p"])(ids, scores)
        probabilities = torch.softmax(scores, dim=-1)[0].numpy().astype(np.float64)
        sampling.append(dict(case, probabilities=probabilities.tolist()))
    reference = {"prompt": PROMPT, "greedy": generated, "sampling": sampling,
                 "model_type": config.model_type, "vocab_size": config.vocab_size}
    write_json(directory / "reference.json", reference)

    if config.model_type == "qwen3_moe":
        legacy = out / f"{name}-4x"
        if legacy.exists():
            shutil.rmtree(legacy)
        qwen3_moe_4x_layout(model, legacy, json.loads((directory / "config.json").read_text()))
        for file in ("tokenizer.json", "tokenizer_config.json", "logits.npy", "reference.json"):
            shutil.copy(directory / file, legacy / file)
    if gguf:
        gguf_dir = out / f"{name}-gguf"
        if gguf_dir.exists():
            shutil.rmtree(gguf_dir)
        gguf_dir.mkdir(parents=True)
        for outtype in ("f32", "f16", "q8_0"):
            convert_to_gguf(directory, gguf_dir / f"{name}-{outtype}.gguf", outtype)


def generate(root: pathlib.Path) -> None:
    from transformers import LlamaConfig, Qwen2Config, Qwen3Config, Qwen3MoeConfig
    out = root / "models"
    common = dict(max_position_embeddings=128, rms_norm_eps=1e-6)
    build("qwen2-tiny", Qwen2Config(
        vocab_size=320, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, tie_word_embeddings=True, rope_theta=10000.0, **common), out, 300)
    build("qwen3-tiny", Qwen3Config(
        vocab_size=320, hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=1, head_dim=16, tie_word_embeddings=False, rope_theta=1000000.0, **common), out, 300)
    build("llama-tiny", LlamaConfig(
        vocab_size=320, hidden_size=64, intermediate_size=160, num_hidden_layers=3, num_attention_heads=8,
        num_key_value_heads=2, tie_word_embeddings=False,
        rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 32}, **common), out, 300)
    build("qwen3moe-tiny", Qwen3MoeConfig(
        vocab_size=320, hidden_size=32, intermediate_size=48, moe_intermediate_size=16, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=8, num_experts=4, num_experts_per_tok=2,
        norm_topk_prob=True, tie_word_embeddings=False, rope_theta=10000.0, **common), out, 300)
    # A dense first layer (mlp_only_layers) and no renormalisation; llama.cpp's qwen3moe has no
    # dense layers, so this one has no GGUF copy.
    build("qwen3moe-dense-tiny", Qwen3MoeConfig(
        vocab_size=320, hidden_size=32, intermediate_size=48, moe_intermediate_size=16, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=8, num_experts=4, num_experts_per_tok=2,
        norm_topk_prob=False, mlp_only_layers=[0], tie_word_embeddings=False, rope_theta=10000.0, **common),
        out, 300, gguf=False)
