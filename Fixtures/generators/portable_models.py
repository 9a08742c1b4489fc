"""Models for the portable-binary test: the release build run under qemu-x86_64 with older
processor models (Haswell: AVX2; Nehalem: the x86-64 baseline) must give the greedy tokens of
the native run. Instruction-set tiers sum in different orders, so each model's greedy steps must
win by a clear margin: this records, for each, the prompt, the reference greedy tokens and the
smallest top-1 minus top-2 logit over the steps (the test requires it above 1e-2).

- "f32": a float32 GGUF of decoder_models (the first of qwen3-tiny, qwen2-tiny, llama-tiny with
  every margin above 1e-2); reference transformers (its reference.json), margins from
  transformers' logits over prompt + greedy tokens.
- "q4_k_m", portable-q4_k_m.gguf: a tiny Qwen3 whose rows are multiples of 256 values, so that
  llama-quantize's Q4_K_M mix really holds Q4_K and Q6_K tensors; written by llama.cpp's
  converter (f32, not kept) then `llama-quantize ... Q4_K_M`; reference greedy tokens and
  margins from llama.cpp's own logits (llama-cpp-python), one token at a time.

Output: Fixtures/models/portable/portable.json and portable-q4_k_m.gguf.
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import types

import numpy as np
import torch

from .common import llama_cpp_dir, write_json
from .decoder_models import NEW_TOKENS, PROMPT, convert_to_gguf, tiny_tokenizer


# The Q4_K_M model's configuration (integer_products.py reads the same file back).
Q4_K_M_CONFIG = dict(vocab_size=320, hidden_size=256, intermediate_size=512, num_hidden_layers=1,
                     num_attention_heads=4, num_key_value_heads=1, head_dim=64, tie_word_embeddings=False,
                     rope_theta=1000000.0, max_position_embeddings=128, rms_norm_eps=1e-6)


def margins(logits: np.ndarray) -> list[float]:
    """top-1 minus top-2 of each row."""
    ordered = np.sort(logits.astype(np.float64), axis=-1)
    return (ordered[:, -1] - ordered[:, -2]).tolist()


def transformers_steps(directory: pathlib.Path, prompt: list[int], greedy: list[int]) -> list[float]:
    """Margins of the logits that chose each greedy token (transformers, float32)."""
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(str(directory), torch_dtype=torch.float32).eval()
    ids = torch.tensor([prompt + greedy[:-1]])
    with torch.no_grad():
        logits = model(ids).logits[0].float().numpy()
    steps = logits[len(prompt) - 1:]
    assert steps.argmax(-1).tolist() == greedy, "transformers' greedy tokens changed"
    return margins(steps)


def llama_cpp_greedy(path: pathlib.Path, prompt: list[int], count: int) -> tuple[list[int], list[float]]:
    """Greedy tokens and their margins from llama.cpp's logits (one token at a time)."""
    root = llama_cpp_dir()
    os.environ.setdefault("LLAMA_CPP_LIB_PATH", str(root / "build" / "bin"))
    sys.path.insert(0, str(root.resolve().parents[1]))        # llama_cpp_python-<version>
    sys.modules.setdefault("diskcache", types.ModuleType("diskcache"))
    sys.modules["diskcache"].Cache = object
    import llama_cpp
    model = llama_cpp.Llama(model_path=str(path), logits_all=True, n_ctx=64, n_threads=1, verbose=False)
    model.eval(prompt)
    tokens, steps = [], []
    for _ in range(count):
        last = np.array(model.scores[model.n_tokens - 1], dtype=np.float64)
        token = int(last.argmax())
        steps.append(margins(last[None, :])[0])
        tokens.append(token)
        model.eval([token])
    return tokens, steps


def generate(root: pathlib.Path) -> None:
    from transformers import AutoModelForCausalLM, Qwen3Config
    llama = llama_cpp_dir()
    if llama is None:
        raise SystemExit("llama.cpp is not built: run `make llama-cpp`")
    out = root / "models" / "portable"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    record = {}

    # A float32 decoder of decoder_models, with transformers' greedy tokens: the first whose
    # every greedy step wins by more than 1e-2 (qwen3-tiny's closest step is 0.008).
    for name in ("qwen3-tiny", "qwen2-tiny", "llama-tiny"):
        tiny = root / "models" / name
        reference = json.loads((tiny / "reference.json").read_text())
        steps = transformers_steps(tiny, reference["prompt"], reference["greedy"])
        print(f"{name}: smallest margin {min(steps):.4f}")
        if min(steps) > 1e-2:
            record["f32"] = {"path": f"models/{name}-gguf/{name}-f32.gguf", "prompt": reference["prompt"],
                             "greedy": reference["greedy"], "margins": steps, "min_margin": min(steps),
                             "reference": "transformers"}
            break

    # A Q4_K_M model from llama-quantize.
    config = Qwen3Config(**Q4_K_M_CONFIG)
    torch.manual_seed(4321)
    model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.float32).eval()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if parameter.dim() >= 2:
                parameter.normal_(0, 0.08)
            elif "norm" in name:
                parameter.uniform_(0.8, 1.2)
    with tempfile.TemporaryDirectory() as scratch:
        hf = pathlib.Path(scratch) / "hf"
        model.save_pretrained(str(hf), safe_serialization=True)
        tiny_tokenizer(hf, 300)
        f32 = pathlib.Path(scratch) / "portable-f32.gguf"
        convert_to_gguf(hf, f32, "f32")
        quantized = out / "portable-q4_k_m.gguf"
        subprocess.run([str(llama / "build" / "bin" / "llama-quantize"), str(f32), str(quantized), "Q4_K_M"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    greedy, steps = llama_cpp_greedy(quantized, PROMPT, NEW_TOKENS)
    record["q4_k_m"] = {"path": "models/portable/portable-q4_k_m.gguf", "prompt": PROMPT, "greedy": greedy,
                                 "margins": steps, "min_margin": min(steps), "reference": "llama.cpp"}
    for name, entry in record.items():
        if entry["min_margin"] <= 1e-2:
            raise SystemExit(f"{name}: a greedy step wins by only {entry['min_margin']}; pick another seed")
    write_json(out / "portable.json", record)
