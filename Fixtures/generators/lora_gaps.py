"""PEFT adapters for what lora_adapters.py leaves out, on the same tiny bases and prompt:

- Fixtures/lora/llama-embed/: embed_tokens targeted (PEFT's lora_embedding_A [r, vocab] and
  lora_embedding_B [hidden, r]) beside q_proj/k_proj on llama-tiny; PEFT's logits unmerged, and
  convert_lora_to_gguf.py's adapter-{f32,f16,q8_0}.gguf (token_embd.lora_a transposed);
- Fixtures/lora/gemma2-embed/: embed_tokens and q_proj on gemma2-tiny, whose embedding module
  scales its rows by √hidden (and PEFT the update with them), tied head; PEFT's logits unmerged
  and merged;
- Fixtures/lora/phi3-fused/: Phi-3's fused qkv_proj and gate_up_proj (and o_proj, down_proj)
  targeted on phi3-tiny; PEFT's logits unmerged and merged, convert_lora_to_gguf.py's adapter
  GGUFs (Phi3MiniModel keeps both fusions: attn_qkv, ffn_up);
- Fixtures/lora/qwen2-save-tied/logits-saved.npy: PEFT's merge_and_unload() of the lm_head
  replacement on the tied qwen2-tiny, saved with save_pretrained (tie_word_embeddings false, so
  that the new head is written) and loaded back by transformers: its logits;
- Fixtures/lora/mtp-lora/: a PEFT adapter on the independent PyTorch Meta-MTP implementation
  (reference_models.MetaMTPTransformer with Fixtures/mtp/mtp-4heads' weights; PEFT wraps any
  nn.Module), trunk and head blocks targeted; its logits [T, heads, vocab] unmerged;
- Fixtures/lora/llama-cpp-on-weightkit-embed.json: llama.cpp's error against PEFT with
  WeightKit's GGUF of llama-tiny and WeightKit's adapter GGUF of llama-embed (and of phi3-tiny with
  phi3-fused, over the positions within its sliding window), and their SHA-256
  (as lora_adapters.py records for the other kinds).
"""
import json
import pathlib
import shutil
import tempfile

import numpy as np
import torch

from .common import save_npy, write_json
from .lora_adapters import PROMPT, build, convert_lora, llama_cpp_logits, llama_cpp_on_weightkit, randomise, save_adapter
from .reference_models import MetaMTPTransformer

GAPS = {
    "llama-embed": ("llama-tiny", dict(r=4, lora_alpha=8, target_modules=["embed_tokens", "q_proj", "k_proj"])),
    "phi3-fused": ("phi3-tiny", dict(r=4, lora_alpha=8, target_modules=["qkv_proj", "gate_up_proj", "o_proj", "down_proj"])),
}
# Gemma 2 scales its embeddings inside the embedding module (√hidden); PEFT scales the update
# with them (LoRA's Embedding applies the module's embed_scale). PEFT's logits only.
PEFT_ONLY = {
    "gemma2-embed": ("gemma2-tiny", dict(r=2, lora_alpha=4, target_modules=["embed_tokens", "q_proj"])),
}

MTP_PROMPT = [7, 100, 3, 250, 42, 18, 199, 5, 61, 77, 12, 140, 31, 9]


def saved_merge(models: pathlib.Path, out: pathlib.Path, name: str) -> None:
    """merge_and_unload() + save_pretrained of adapter `name` and transformers' logits of the
    reloaded directory (the tied base untied, so that the replaced lm_head is saved)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM
    directory = out / name
    base = json.loads((directory / "adapter_config.json").read_text())["base_model_name_or_path"]
    model = AutoModelForCausalLM.from_pretrained(str(models / base), dtype=torch.float32).eval()
    merged = PeftModel.from_pretrained(model, str(directory)).merge_and_unload().eval()
    merged.config.tie_word_embeddings = False
    with tempfile.TemporaryDirectory() as scratch:
        merged.save_pretrained(scratch)
        reloaded = AutoModelForCausalLM.from_pretrained(scratch, dtype=torch.float32).eval()
        with torch.no_grad():
            logits = reloaded(torch.tensor([PROMPT])).logits[0].float().numpy()
    in_memory = np.load(directory / "logits-merged.npy")
    error = np.linalg.norm(logits - in_memory) / np.linalg.norm(in_memory)
    save_npy(directory / "logits-saved.npy", logits.astype(np.float32))
    print(f"  {name}: saved merge vs in-memory merge rel L2 {error:.2e}", flush=True)


def mtp_adapter(root: pathlib.Path, out: pathlib.Path, name: str, seed: int) -> None:
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import load_file
    source = root / "mtp" / "mtp-4heads"
    params = json.loads((source / "params.json").read_text())
    model = MetaMTPTransformer(params).eval()
    model.load_state_dict(load_file(str(source / "consolidated.safetensors")))
    with torch.no_grad():
        plain = model(torch.tensor([MTP_PROMPT]))[0][0].numpy()
    reference = np.load(source / "logits.npy")
    assert np.linalg.norm(plain - reference) <= 1e-6 * np.linalg.norm(reference), "mtp-4heads weights do not give its logits"
    # layers.0/1 are the trunk, layers.2 head 0, extra_heads.* heads 1-3.
    config = LoraConfig(r=2, lora_alpha=4, lora_dropout=0.0, bias="none",
                        target_modules=r".*\.(attention\.(wq|wv)|feed_forward\.w2)")
    peft_model = get_peft_model(model, config).eval()
    randomise(peft_model, seed)
    directory = out / name
    if directory.exists():
        shutil.rmtree(directory)
    save_adapter(peft_model, directory, "mtp-4heads")
    with torch.no_grad():
        logits = peft_model(torch.tensor([MTP_PROMPT]))[0][0].float().numpy()
    save_npy(directory / "logits-unmerged.npy", logits.astype(np.float32))  # [T, heads, vocab]
    from safetensors import safe_open
    with safe_open(str(directory / "adapter_model.safetensors"), "pt") as f:
        names = sorted(f.keys())
    write_json(directory / "reference.json", {"base": "mtp/mtp-4heads", "prompt": MTP_PROMPT, "tensors": names})
    change = np.linalg.norm(logits - plain) / np.linalg.norm(plain)
    print(f"  {name}: {len(names)} tensors, logits moved by rel L2 {change:.2e}", flush=True)


def generate(root: pathlib.Path) -> None:
    models = root / "models"
    out = root / "lora"
    for seed, (name, (base, keywords)) in enumerate(GAPS.items()):
        build(models, out, name, base, keywords, 300 + seed)
        convert_lora(models, out, name, base)
        llama_cpp_logits(models, out, name, base)
    for seed, (name, (base, keywords)) in enumerate(PEFT_ONLY.items()):
        build(models, out, name, base, keywords, 350 + seed)
    saved_merge(models, out, "qwen2-save-tied")
    mtp_adapter(root, out, "mtp-lora", 400)
    # llama.cpp on WeightKit's GGUFs of llama-tiny with WeightKit's embedding adapter GGUF, and of
    # phi3-tiny with the fused-projection adapter (the positions within its 10-token window).
    window = json.loads((models / "phi3-tiny" / "config.json").read_text())["sliding_window"]
    llama_cpp_on_weightkit(root, out, kinds=[("llama-embed", "llama-tiny"), ("phi3-fused", "phi3-tiny", window)],
                           record_name="llama-cpp-on-weightkit-embed.json")
