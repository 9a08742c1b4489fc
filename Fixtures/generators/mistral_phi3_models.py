"""Tiny random Mistral and Phi-3 models from transformers, their GGUF copies from llama.cpp's
converter, transformers' outputs, and llama.cpp's greedy tokens.

Both families attend through a sliding window on every layer; the windows here are shorter than
reference.json's 12-token prompt, so transformers masks within the prompt and during
generation. llama.cpp reads Mistral as `llama` and disables Phi-3's window, so its greedy tokens
(`llama_cpp` in reference.json) are recorded for a prompt whose generation stays within the
window, next to transformers' for the same prompt; llama.cpp runs its own converter's f32 GGUF
through llama-cpp-python (the sdist's bindings on the built libllama), f32 KV cache, greedy.

* mistral-tiny: grouped KV heads (8 / 2), head_dim 16 != hidden / heads, untied, window 10.
* phi3-tiny: fused `qkv_proj` (4 / 2 heads) and `gate_up_proj`, partial rotary (0.5), longrope
  with short and long factors over an original context of 256 (llama.cpp pads its context to
  256 cells and picks the short factors up to there, as transformers does for sequences within
  it), max positions 1024 (attention factor from their ratio), window 10. `long_logits.npy`
  holds transformers' logits of the last rows of a 300-token prompt (past the original context:
  the long factors).

`full_attention_logits.npy` holds the same weights' logits for the prompt with the window
removed (`sliding_window = None`): what a GGUF without the window key computes.

Phi-3's converter reads a `GPT2Tokenizer` tokenizer_config as byte-level BPE; the tiny tokenizer
is one, with Phi-3's `<unk>`, `<s>` and `</s>` added as special tokens (llama.cpp sets their
attributes for any model whose name contains "phi3" and fails without them).
"""
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import torch

from .common import llama_cpp_dir, save_npy
from .decoder_models import PROMPT, build, convert_to_gguf

WINDOW = 10
# llama.cpp's comparison: prompt plus generation within the window.
LLAMA_CPP_PROMPT = [5, 17, 256, 3]
LLAMA_CPP_NEW_TOKENS = WINDOW - len(LLAMA_CPP_PROMPT)
LONG_PROMPT = [(7 * i + 3) % 320 for i in range(300)]
LONG_ROWS = 16

LLAMA_CPP_GREEDY = """
import json, sys, types
sys.modules.setdefault("diskcache", types.ModuleType("diskcache"))
sys.modules["diskcache"].Cache = object
import llama_cpp
path, prompt, count = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
model = llama_cpp.Llama(model_path=path, n_ctx=256, n_threads=2, verbose=False, logits_all=True,
                        type_k=llama_cpp.GGML_TYPE_F32, type_v=llama_cpp.GGML_TYPE_F32)
model.eval(prompt)
tokens = []
for _ in range(count):
    logits = model.scores[model.n_tokens - 1]
    token = int(max(range(len(logits)), key=lambda i: logits[i]))
    tokens.append(token)
    model.eval([token])
print(json.dumps(tokens))
"""


def llama_cpp_greedy(gguf: pathlib.Path, prompt: list[int], count: int) -> list[int]:
    root = llama_cpp_dir()
    if root is None:
        raise SystemExit("llama.cpp is not built: run `make llama-cpp`")
    bindings = root.resolve().parents[1]  # llama_cpp_python-<version>/vendor/llama.cpp -> the sdist
    env = dict(os.environ, LLAMA_CPP_LIB_PATH=str(root / "build" / "bin"), PYTHONPATH=str(bindings))
    result = subprocess.run([sys.executable, "-c", LLAMA_CPP_GREEDY, str(gguf), json.dumps(prompt), str(count)],
                            env=env, capture_output=True, text=True, check=True, timeout=600)
    return json.loads(result.stdout.strip().splitlines()[-1])


def transformers_greedy(directory: pathlib.Path, prompt: list[int], count: int) -> list[int]:
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(str(directory), dtype=torch.float32).eval()
    with torch.no_grad():
        out = model.generate(torch.tensor([prompt]), max_new_tokens=count, min_new_tokens=count, do_sample=False,
                             eos_token_id=None, pad_token_id=0)
    return out[0, len(prompt):].tolist()


def add_llama_cpp_reference(out: pathlib.Path, name: str) -> None:
    directory = out / name
    ours = llama_cpp_greedy(out / f"{name}-gguf" / f"{name}-f32.gguf", LLAMA_CPP_PROMPT, LLAMA_CPP_NEW_TOKENS)
    theirs = transformers_greedy(directory, LLAMA_CPP_PROMPT, LLAMA_CPP_NEW_TOKENS)
    if ours != theirs:
        raise SystemExit(f"{name}: llama.cpp's greedy tokens {ours} differ from transformers' {theirs}")
    reference = json.loads((directory / "reference.json").read_text())
    reference["window"] = WINDOW
    reference["llama_cpp"] = {"prompt": LLAMA_CPP_PROMPT, "greedy": ours, "transformers_greedy": theirs}
    (directory / "reference.json").write_text(json.dumps(reference, indent=1) + "\n")
    print(f"  {name}: llama.cpp greedy {ours}", flush=True)


def convert_all(out: pathlib.Path, name: str) -> None:
    import shutil
    gguf_dir = out / f"{name}-gguf"
    if gguf_dir.exists():
        shutil.rmtree(gguf_dir)
    gguf_dir.mkdir(parents=True)
    for outtype in ("f32", "f16", "q8_0"):
        convert_to_gguf(out / name, gguf_dir / f"{name}-{outtype}.gguf", outtype)


def long_prompt_logits(out: pathlib.Path, name: str) -> None:
    from transformers import AutoModelForCausalLM
    directory = out / name
    model = AutoModelForCausalLM.from_pretrained(str(directory), dtype=torch.float32).eval()
    with torch.no_grad():
        logits = model(torch.tensor([LONG_PROMPT])).logits[0, -LONG_ROWS:].float().numpy()
    save_npy(directory / "long_logits.npy", logits.astype(np.float32))
    reference = json.loads((directory / "reference.json").read_text())
    reference["long_prompt"] = {"prompt": LONG_PROMPT, "rows": LONG_ROWS}
    (directory / "reference.json").write_text(json.dumps(reference, indent=1) + "\n")


def full_attention_logits(out: pathlib.Path, name: str) -> None:
    from transformers import AutoConfig, AutoModelForCausalLM
    directory = out / name
    config = AutoConfig.from_pretrained(str(directory))
    config.sliding_window = None
    model = AutoModelForCausalLM.from_pretrained(str(directory), config=config, dtype=torch.float32).eval()
    with torch.no_grad():
        logits = model(torch.tensor([PROMPT])).logits[0].float().numpy()
    windowed = np.load(directory / "logits.npy")
    assert np.abs(logits - windowed).max() > 1e-2, f"{name}: the window changes nothing"
    save_npy(directory / "full_attention_logits.npy", logits.astype(np.float32))


def generate(root: pathlib.Path) -> None:
    from transformers import MistralConfig, Phi3Config
    out = root / "models"
    assert WINDOW < len(PROMPT)
    build("mistral-tiny", MistralConfig(
        vocab_size=320, hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=8,
        num_key_value_heads=2, head_dim=16, sliding_window=WINDOW, tie_word_embeddings=False, rope_theta=10000.0,
        max_position_embeddings=128, rms_norm_eps=1e-6), out, 300)
    add_llama_cpp_reference(out, "mistral-tiny")
    full_attention_logits(out, "mistral-tiny")

    factors = torch.Generator().manual_seed(3)
    rotary = 4  # head_dim 16 x partial_rotary_factor 0.5, in pairs
    short = (1 + 0.1 * torch.rand(rotary, generator=factors)).tolist()
    long = (1 + 6 * torch.rand(rotary, generator=factors)).sort().values.tolist()
    build("phi3-tiny", Phi3Config(
        vocab_size=320, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=1024, original_max_position_embeddings=256,
        rope_parameters={"rope_type": "longrope", "rope_theta": 10000.0, "partial_rotary_factor": 0.5,
                         "short_factor": short, "long_factor": long},
        sliding_window=WINDOW, tie_word_embeddings=False, rms_norm_eps=1e-6, pad_token_id=None, eos_token_id=2),
        out, 300, gguf=False)
    from tokenizers import Tokenizer
    tokenizer_file = out / "phi3-tiny" / "tokenizer.json"
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.add_special_tokens(["<unk>", "<s>", "</s>"])
    tokenizer.save(str(tokenizer_file))
    config_file = out / "phi3-tiny" / "tokenizer_config.json"
    tokenizer_config = json.loads(config_file.read_text())
    tokenizer_config["tokenizer_class"] = "GPT2Tokenizer"
    config_file.write_text(json.dumps(tokenizer_config, indent=2) + "\n")
    convert_all(out, "phi3-tiny")
    long_prompt_logits(out, "phi3-tiny")
    add_llama_cpp_reference(out, "phi3-tiny")
    full_attention_logits(out, "phi3-tiny")
