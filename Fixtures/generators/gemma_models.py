"""Tiny random Gemma 2 and Gemma 3 text models from transformers, their GGUF copies from
llama.cpp's converter, transformers' outputs, and llama.cpp's greedy tokens on WeightKit's own GGUF.

* gemma2-tiny: 4 layers, the even ones with a sliding window of 4 (shorter than the 12-token
  prompt), attention soft cap 1 and final soft cap 3 (both change the logits: checked here),
  GeGLU, post-norms, hidden 48 (√48 is not a round number). Its tokenizer is a tiny
  SentencePiece model (`tokenizer.model`), which llama.cpp's Gemma 2 converter requires.
* gemma2-tiny-f16: the same weights stored as float16: llama.cpp's converter adds Gemma's 1 to
  float16 norms in float16, and transformers scales the embeddings by √hidden in float16.
* gemma3-tiny: 6 layers (five with a window of 5, one global), q/k norms, local rotary base
  10,000 against the global 1,000,000 scaled linearly by 8, final soft cap 4, and a byte-level
  BPE tokenizer.json of 300 tokens (no tokenizer.model), so that the converter cuts token_embd
  to the tokenizer's count (300 vocabulary entries + 1 added token = 301 of 320 rows). The rows
  it drops are near zero, as a real model's unused rows, so greedy decoding never picks them.

Norm weights w are drawn from U(-0.3, 0.3): GGUF holds 1 + w in [0.7, 1.3], where x - 1 is
exact in float32 (Sterbenz), which is what makes GGUF -> HF -> GGUF byte-exact.

reference.json holds the prompt, transformers' greedy tokens, and `llama_cpp`: the SHA-256 of
the f32 GGUF WeightKit writes for the model (`weightkit convert DIR out.gguf --type f32`; the
Gemma 2 one with `--tokenizer-from` the converter's f32 GGUF, since WeightKit does not read
tokenizer.model) and the greedy tokens llama.cpp's C API produces on that file
(tools/llama_greedy_probe.c). The WeightKit binary is `$WEIGHTKIT`, by default the debug build
of the checkout (`swift build` first).

`transformers_on_weightkit_hf`: the SHA-256 of the files of the Hugging Face directory WeightKit
writes from llama.cpp's converter's f32 GGUF, and transformers' logits error and greedy tokens
from that directory.

gemma2-tiny-f16/reference.json also lists transformers' embedding scale `embed_scale.to(dtype)`
for several hidden sizes and dtypes.
"""
import hashlib
import json
import math
import os
import pathlib
import shutil
import subprocess

import numpy as np
import torch
from safetensors.torch import save_file

from .common import llama_cpp_dir, save_npy, write_json
from .decoder_models import CORPUS, PROMPT, NEW_TOKENS, convert_to_gguf, tiny_tokenizer

GEMMA3_TOKENIZER = 300


def weightkit_binary(root: pathlib.Path) -> pathlib.Path:
    path = pathlib.Path(os.environ.get("WEIGHTKIT", root.parent / ".build" / "debug" / "weightkit"))
    if not path.exists():
        raise SystemExit(f"{path}: no weightkit binary (run `swift build` or set WEIGHTKIT)")
    return path


def greedy_probe(root: pathlib.Path) -> pathlib.Path:
    """Compiles tools/llama_greedy_probe.c against the built libllama."""
    llama = llama_cpp_dir()
    cache = root / ".cache" / "gemma"
    cache.mkdir(parents=True, exist_ok=True)
    binary = cache / "llama_greedy_probe"
    lib = llama / "build" / "bin"
    subprocess.run(["cc", "-O1", "-o", str(binary), str(root / "tools" / "llama_greedy_probe.c"),
                    f"-I{llama / 'include'}", f"-I{llama / 'ggml' / 'include'}", f"-L{lib}", "-lllama", "-lggml-base",
                    f"-Wl,-rpath,{lib}"], check=True)
    return binary


def sentencepiece_tokenizer(directory: pathlib.Path) -> None:
    """A tiny BPE SentencePiece model trained on the fixtures' corpus, as tokenizer.model."""
    import io
    import sentencepiece as spm
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS.split(". ")), model_writer=model, vocab_size=260, model_type="bpe",
        character_coverage=1.0, pad_id=0, eos_id=1, bos_id=2, unk_id=3, hard_vocab_limit=False,
        add_dummy_prefix=False, normalization_rule_name="identity", num_threads=1, minloglevel=2)
    (directory / "tokenizer.model").write_bytes(model.getvalue())


def initialise(model, unused_rows: int | None) -> None:
    """Weights large enough that logits differ clearly between positions; norm offsets in
    [-0.3, 0.3]; embedding rows from `unused_rows` on near zero."""
    torch.manual_seed(1234)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if parameter.dim() >= 2:
                parameter.normal_(0, 0.08)
            elif "norm" in name:
                parameter.uniform_(-0.3, 0.3)
            else:
                parameter.normal_(0, 0.05)
        if unused_rows is not None:
            model.model.embed_tokens.weight[unused_rows:] *= 1e-3


def logits_of(model, ids):
    with torch.no_grad():
        return model(ids).logits[0].float().numpy()


def build(name: str, config, out: pathlib.Path, tokenizer: str, unused_rows: int | None = None,
          dtype=torch.float32, checks: dict | None = None):
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32, attn_implementation="eager").eval()
    initialise(model, unused_rows)
    ids = torch.tensor([PROMPT])
    logits = logits_of(model, ids)
    # What the fixture claims to exercise must change the output.
    for label, change in (checks or {}).items():
        other = AutoModelForCausalLM.from_config(change(config), dtype=torch.float32, attn_implementation="eager").eval()
        other.load_state_dict(model.state_dict())
        error = float(np.linalg.norm(logits_of(other, ids) - logits) / np.linalg.norm(logits))
        if error < 1e-2:
            raise SystemExit(f"{name}: {label} barely changes the logits (relative L2 {error:.2e})")
        print(f"  {name}: without {label}, logits differ by {error:.2e}", flush=True)
    model = model.to(dtype)
    directory = out / name
    if directory.exists():
        shutil.rmtree(directory)
    model.save_pretrained(str(directory), safe_serialization=True)
    if tokenizer == "sentencepiece":
        sentencepiece_tokenizer(directory)
    else:
        tiny_tokenizer(directory, GEMMA3_TOKENIZER)
    if dtype != torch.float32:
        return model, directory
    with torch.no_grad():
        generated = model.generate(ids, max_new_tokens=NEW_TOKENS, do_sample=False, eos_token_id=None, pad_token_id=0,
                                   min_new_tokens=NEW_TOKENS)[0, len(PROMPT):].tolist()
    save_npy(directory / "logits.npy", logits.astype(np.float32))
    write_json(directory / "reference.json", {"prompt": PROMPT, "greedy": generated, "model_type": config.model_type,
                                              "vocab_size": config.vocab_size})
    return model, directory


def converter_copies(name: str, directory: pathlib.Path, out: pathlib.Path, types) -> pathlib.Path:
    gguf_dir = out / f"{name}-gguf"
    if gguf_dir.exists():
        shutil.rmtree(gguf_dir)
    gguf_dir.mkdir(parents=True)
    for outtype in types:
        convert_to_gguf(directory, gguf_dir / f"{name}-{outtype}.gguf", outtype)
    return gguf_dir


def llama_cpp_on_weightkit(root: pathlib.Path, directory: pathlib.Path, tokenizer_from: pathlib.Path | None) -> dict:
    """WeightKit's f32 GGUF of the model, its SHA-256, and llama.cpp's greedy tokens on it."""
    scratch = root / ".cache" / "gemma"
    scratch.mkdir(parents=True, exist_ok=True)
    target = scratch / f"{directory.name}-weightkit-f32.gguf"
    # A tiny vocabulary has no pre-tokenizer name by hash; "default" is what the converter references record.
    command = [str(weightkit_binary(root)), "convert", str(directory), str(target), "--type", "f32", "--tokenizer-pre", "default",
               "--force", "--quiet"]
    if tokenizer_from is not None:
        command += ["--tokenizer-from", str(tokenizer_from)]
    subprocess.run(command, check=True)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    result = subprocess.run([str(greedy_probe(root)), str(target), str(NEW_TOKENS)] + [str(t) for t in PROMPT],
                            capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise SystemExit(f"llama.cpp could not run {target}:\n{result.stderr[-3000:]}")
    tokens = [int(t) for t in result.stdout.split()]
    return {"weightkit_f32_sha256": digest, "tokenizer_from": None if tokenizer_from is None else tokenizer_from.name,
            "greedy": tokens}


def transformers_on_weightkit_hf(root: pathlib.Path, gguf_file: pathlib.Path, reference_logits: np.ndarray) -> dict:
    """WeightKit's Hugging Face directory of llama.cpp's converter's f32 GGUF (`weightkit convert
    X.gguf DIR`), the SHA-256 of its files, and what transformers computes from it: the relative
    L2 of its logits against the original model's (over the columns the GGUF keeps) and its
    greedy tokens."""
    from transformers import AutoModelForCausalLM
    target = root / ".cache" / "gemma" / f"{gguf_file.stem}-weightkit-hf"
    if target.exists():
        shutil.rmtree(target)
    subprocess.run([str(weightkit_binary(root)), "convert", str(gguf_file), str(target), "--quiet"], check=True)
    digests = {name: hashlib.sha256((target / name).read_bytes()).hexdigest() for name in ("config.json", "model.safetensors")}
    model = AutoModelForCausalLM.from_pretrained(str(target), dtype=torch.float32, attn_implementation="eager").eval()
    ids = torch.tensor([PROMPT])
    logits = logits_of(model, ids)
    expected = reference_logits[:, : logits.shape[1]]
    error = float(np.linalg.norm(logits - expected) / np.linalg.norm(expected))
    with torch.no_grad():
        generated = model.generate(ids, max_new_tokens=NEW_TOKENS, do_sample=False, eos_token_id=None, pad_token_id=0,
                                   min_new_tokens=NEW_TOKENS)[0, len(PROMPT):].tolist()
    return {"gguf": gguf_file.name, "weightkit_sha256": digests, "logits_rel_l2": error, "greedy": generated}


def embed_scales() -> list[dict]:
    """transformers' Gemma embedding scale, `torch.tensor(hidden ** 0.5).to(weight.dtype)`, for
    several hidden sizes and dtypes."""
    rows = []
    for hidden in (48, 64, 2304, 2560, 3584):
        for label, dtype in (("float32", torch.float32), ("bfloat16", torch.bfloat16), ("float16", torch.float16)):
            rows.append({"hidden_size": hidden, "dtype": label, "scale": float(torch.tensor(hidden ** 0.5).to(dtype))})
    return rows


def generate(root: pathlib.Path) -> None:
    from transformers import Gemma2Config, Gemma3TextConfig
    out = root / "models"
    gemma2 = Gemma2Config(
        vocab_size=320, hidden_size=48, intermediate_size=64, num_hidden_layers=4, num_attention_heads=4,
        num_key_value_heads=2, head_dim=16, query_pre_attn_scalar=16, sliding_window=4, max_position_embeddings=128,
        attn_logit_softcapping=1.0, final_logit_softcapping=3.0, rms_norm_eps=1e-6, tie_word_embeddings=True)
    assert gemma2.sliding_window < len(PROMPT)

    def without(**changes):
        def change(config):
            copy = config.__class__.from_dict(config.to_dict() | changes)
            copy._attn_implementation = "eager"
            return copy
        return change

    build("gemma2-tiny", gemma2, out, "sentencepiece", checks={
        "the attention soft cap": without(attn_logit_softcapping=None),
        "the final soft cap": without(final_logit_softcapping=None),
        "the sliding window": without(sliding_window=64)})
    gemma2_dir = out / "gemma2-tiny"
    gguf2 = converter_copies("gemma2-tiny", gemma2_dir, out, ("f32", "f16", "q8_0"))
    reference = json.loads((gemma2_dir / "reference.json").read_text())
    reference["llama_cpp"] = llama_cpp_on_weightkit(root, gemma2_dir, gguf2 / "gemma2-tiny-f32.gguf")
    reference["transformers_on_weightkit_hf"] = transformers_on_weightkit_hf(
        root, gguf2 / "gemma2-tiny-f32.gguf", np.load(gemma2_dir / "logits.npy"))
    write_json(gemma2_dir / "reference.json", reference)

    # The same weights in float16, with the converter's float16 output.
    model, f16_dir = build("gemma2-tiny-f16", gemma2, out, "sentencepiece", dtype=torch.float16)
    converter_copies("gemma2-tiny-f16", f16_dir, out, ("f16",))
    write_json(f16_dir / "reference.json", {
        "model_type": "gemma2", "embed_scale": float(model.model.embed_tokens.embed_scale.to(torch.float16)),
        "embed_scales": embed_scales()})

    gemma3 = Gemma3TextConfig(
        vocab_size=320, hidden_size=64, intermediate_size=64, num_hidden_layers=6, num_attention_heads=2,
        num_key_value_heads=1, head_dim=16, query_pre_attn_scalar=16, sliding_window=5, max_position_embeddings=128,
        final_logit_softcapping=4.0, rms_norm_eps=1e-6, tie_word_embeddings=True,
        rope_parameters={"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0},
                         "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}})
    assert gemma3.sliding_window < len(PROMPT)
    assert gemma3.layer_types.count("full_attention") == 1
    rows = GEMMA3_TOKENIZER + 1
    build("gemma3-tiny", gemma3, out, "bpe", unused_rows=rows, checks={
        "the final soft cap": without(final_logit_softcapping=None),
        "the sliding window": without(sliding_window=64),
        "the global layers' rope scaling": without(rope_parameters={
            "full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}),
        "the local rotary base": without(rope_parameters={
            "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0},
            "sliding_attention": {"rope_type": "default", "rope_theta": 1000000.0}})})
    gemma3_dir = out / "gemma3-tiny"
    tokenizer = json.loads((gemma3_dir / "tokenizer.json").read_text())
    assert len(tokenizer["model"]["vocab"]) + len(tokenizer["added_tokens"]) == rows
    gguf3 = converter_copies("gemma3-tiny", gemma3_dir, out, ("f32", "f16", "q8_0"))
    import gguf
    assert gguf.GGUFReader(str(gguf3 / "gemma3-tiny-f32.gguf")).get_tensor(0).shape[-1] == rows
    reference = json.loads((gemma3_dir / "reference.json").read_text())
    if max(reference["greedy"]) >= rows:
        raise SystemExit("gemma3-tiny: transformers' greedy tokens reach the rows the converter cuts")
    reference["gguf_vocab_size"] = rows
    reference["llama_cpp"] = llama_cpp_on_weightkit(root, gemma3_dir, None)
    reference["transformers_on_weightkit_hf"] = transformers_on_weightkit_hf(
        root, gguf3 / "gemma3-tiny-f32.gguf", np.load(gemma3_dir / "logits.npy"))
    write_json(gemma3_dir / "reference.json", reference)

