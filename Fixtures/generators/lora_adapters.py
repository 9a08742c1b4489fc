"""PEFT LoRA adapters on the tiny random bases of decoder_models (Qwen2, Llama, Qwen3), what PEFT
computes with them, llama.cpp's adapter GGUFs of them and what llama.cpp computes with those.

For each adapter in Fixtures/lora/<name>/ (adapter_config.json + adapter_model.safetensors, as
PEFT's save_pretrained writes them; the adapter weights drawn at random so that every update
matters):
- logits-unmerged.npy: PEFT's logits float32 [T, vocab] for PROMPT with the adapter applied as
  PEFT applies it (LoraLayer.forward, dora.py for DoRA);
- logits-merged.npy: the same after merge_and_unload();
- for the adapters llama.cpp can apply (plain, rank_pattern): adapter-{f32,f16,q8_0}.gguf written
  by convert_lora_to_gguf.py of the llama-cpp-python 0.3.36 sdist (`--base` the HF base), and
  logits-llama-cpp.npy: llama.cpp's logits (the sdist's llama_cpp bindings on the built
  libllama, `Llama(model_path=<llama.cpp's f32 GGUF of the base>, lora_path=adapter-f32.gguf)`).
An MLX adapter (Fixtures/lora/qwen2-mlx/: adapters.safetensors with lora_a = Aᵀ [in, r],
lora_b = Bᵀ [r, out], lora_parameters.scale = alpha / r) is made from qwen2-plain; PEFT's
logits for qwen2-plain are its expected values. Fixtures/lora/qwen2-mergekit/ is qwen2-plain
with norm weights beside it, as mergekit-extract-lora writes them (convert_lora_to_gguf.py
passes them through). llama-cpp-on-weightkit.json: llama.cpp's error against PEFT with
WeightKit's GGUF of each base and WeightKit's adapter GGUF, for every kind llama.cpp can apply
(needs the weightkit binary: `$WEIGHTKIT`, by default the debug build). clip-vision-lora and
siglip-vision-lora: PEFT adapters on the tiny vision towers of vision_models, with the towers'
last hidden state and pooled output under them.
"""
import glob
import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import torch
from safetensors.torch import save_file

from .common import llama_cpp_dir, save_npy, write_json

PROMPT = [5, 17, 256, 3, 99, 250, 41, 8, 300, 12, 77, 150]

ADAPTERS = {
    # name: (base, LoraConfig keywords, convert with convert_lora_to_gguf.py)
    "qwen2-plain": ("qwen2-tiny", dict(r=4, lora_alpha=8, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]), True),
    "qwen2-rslora": ("qwen2-tiny", dict(r=4, lora_alpha=6, use_rslora=True,
                                         target_modules=r".*\.(q_proj|v_proj|down_proj)"), False),
    "llama-pattern": ("llama-tiny", dict(r=4, lora_alpha=8, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "up_proj"],
                                          rank_pattern={"k_proj": 2, "layers.1.self_attn.q_proj": 6}), True),
    "llama-alpha-pattern": ("llama-tiny", dict(r=4, lora_alpha=8, target_modules=["q_proj", "k_proj", "gate_proj"],
                                                rank_pattern={"gate_proj": 2}, alpha_pattern={"k_proj": 3, "gate_proj": 16}),
                            False),
    "qwen3-dora": ("qwen3-tiny", dict(r=4, lora_alpha=8, use_dora=True, target_modules=["q_proj", "v_proj", "down_proj"]), False),
    "qwen3-save": ("qwen3-tiny", dict(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"], modules_to_save=["lm_head"]), False),
    # qwen2-tiny ties lm_head to the embeddings: the saved lm_head becomes an output head of its own.
    "qwen2-save-tied": ("qwen2-tiny", dict(r=2, lora_alpha=4, target_modules=["v_proj"], modules_to_save=["lm_head"]), False),
    "qwen3-all-linear": ("qwen3-tiny", dict(r=2, lora_alpha=2, target_modules="all-linear"), False),
}

LLAMA_CPP_LOGITS = """
import json, sys, types
sys.modules.setdefault("diskcache", types.ModuleType("diskcache"))
sys.modules["diskcache"].Cache = object
import numpy as np
import llama_cpp
base, adapter, prompt, out = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
model = llama_cpp.Llama(model_path=base, lora_path=adapter, n_ctx=64, n_threads=1, verbose=False, logits_all=True,
                        type_k=llama_cpp.GGML_TYPE_F32, type_v=llama_cpp.GGML_TYPE_F32)
model.eval(prompt)
np.save(out, np.array(model.scores[:len(prompt)], dtype=np.float32))
"""


def sdist_root() -> pathlib.Path:
    root = llama_cpp_dir()
    if root is None:
        raise SystemExit("llama.cpp is not built: run `make llama-cpp`")
    return pathlib.Path(os.path.abspath(root))


def randomise(model, seed: int) -> None:
    """Draws every adapter weight at random (PEFT initialises lora_B to zero), moves DoRA's
    magnitudes and the modules_to_save copies away from the base's values."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_magnitude_vector" in name:
                parameter.mul_(torch.empty(parameter.shape).uniform_(0.7, 1.3, generator=generator))
            elif "lora_A" in name or "lora_B" in name or "lora_embedding_" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.15)
            elif "modules_to_save" in name:
                parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.05)


def build(models: pathlib.Path, out: pathlib.Path, name: str, base: str, keywords: dict, seed: int) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM
    directory = out / name
    if directory.exists():
        shutil.rmtree(directory)
    model = AutoModelForCausalLM.from_pretrained(str(models / base), dtype=torch.float32).eval()
    config = LoraConfig(lora_dropout=0.0, bias="none", task_type="CAUSAL_LM", **keywords)
    peft_model = get_peft_model(model, config).eval()
    randomise(peft_model, seed)
    saved = save_adapter(peft_model, directory, base)
    ids = torch.tensor([PROMPT])
    with torch.no_grad():
        unmerged = peft_model(ids).logits[0].float().numpy()
        merged_model = peft_model.merge_and_unload().eval()
        merged = merged_model(ids).logits[0].float().numpy()
    save_npy(directory / "logits-unmerged.npy", unmerged.astype(np.float32))
    save_npy(directory / "logits-merged.npy", merged.astype(np.float32))
    from safetensors import safe_open
    with safe_open(str(directory / "adapter_model.safetensors"), "pt") as f:
        names = sorted(f.keys())
    write_json(directory / "reference.json", {"base": base, "prompt": PROMPT, "tensors": names,
                                               "peft_config": saved})
    print(f"  {name}: {len(names)} tensors", flush=True)


def convert_lora(models: pathlib.Path, out: pathlib.Path, name: str, base: str, outtypes=("f32", "f16", "q8_0")) -> None:
    """convert_lora_to_gguf.py's adapter-<type>.gguf of adapter `name` (`--base` the HF base)."""
    root = sdist_root()
    script = root / "convert_lora_to_gguf.py"
    directory = out / name
    for outtype in outtypes:
        subprocess.run([sys.executable, str(script), "--base", str(models / base), "--outtype", outtype,
                        "--outfile", str(directory / f"adapter-{outtype}.gguf"), str(directory)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=str(root))


def llama_cpp_logits(models: pathlib.Path, out: pathlib.Path, name: str, base: str) -> None:
    root = sdist_root()
    directory = out / name
    target = directory / "adapter-f32.gguf"
    bindings = root.resolve().parents[1]  # llama_cpp_python-<version>/vendor/llama.cpp -> the sdist
    env = dict(os.environ, LLAMA_CPP_LIB_PATH=str(root / "build" / "bin"), PYTHONPATH=str(bindings))
    gguf_base = models / f"{base}-gguf" / f"{base}-f32.gguf"
    subprocess.run([sys.executable, "-c", LLAMA_CPP_LOGITS, str(gguf_base), str(target), json.dumps(PROMPT),
                    str(directory / "logits-llama-cpp.npy")], env=env, check=True, capture_output=True, timeout=600)
    theirs = np.load(directory / "logits-llama-cpp.npy")
    peft = np.load(directory / "logits-unmerged.npy")
    error = np.linalg.norm(theirs - peft) / np.linalg.norm(peft)
    print(f"  {name}: llama.cpp vs PEFT rel L2 {error:.2e}", flush=True)


def mergekit_adapter(models: pathlib.Path, out: pathlib.Path, source: str, name: str) -> None:
    """What mergekit-extract-lora writes: the PEFT adapter `source` plus the fine-tune's norm
    weights (`*_layernorm.weight`, `model.norm.weight`) as whole tensors. Expected logits: PEFT's
    with the base's norms replaced by those."""
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM
    directory = out / name
    if directory.exists():
        shutil.rmtree(directory)
    shutil.copytree(out / source, directory)
    for extra in directory.glob("logits-*"):
        extra.unlink()
    for extra in directory.glob("adapter-*.gguf"):
        extra.unlink()
    base = json.loads((directory / "adapter_config.json").read_text())["base_model_name_or_path"]
    model = AutoModelForCausalLM.from_pretrained(str(models / base), dtype=torch.float32).eval()
    generator = torch.Generator().manual_seed(7)
    tensors = load_file(str(directory / "adapter_model.safetensors"))
    norms = {}
    for key, parameter in model.named_parameters():
        if key.endswith("input_layernorm.weight") or key == "model.norm.weight":
            norms["base_model.model." + key] = (parameter.detach() + torch.randn(parameter.shape, generator=generator) * 0.1).contiguous()
    save_file(dict(tensors, **norms), str(directory / "adapter_model.safetensors"), metadata={"format": "pt"})
    with torch.no_grad():
        for key, value in norms.items():
            model.get_parameter(key.removeprefix("base_model.model.")).copy_(value)
        peft_model = PeftModel.from_pretrained(model, str(out / source)).eval()
        logits = peft_model(torch.tensor([PROMPT])).logits[0].float().numpy()
    save_npy(directory / "logits-unmerged.npy", logits.astype(np.float32))
    write_json(directory / "reference.json", {"base": base, "prompt": PROMPT, "norms": sorted(norms)})
    print(f"  {name}: {len(norms)} norm weights", flush=True)


# The kinds llama.cpp can apply (no DoRA, no modules_to_save; its loader skips mergekit's norms).
LLAMA_CPP_KINDS = [("qwen2-plain", "qwen2-tiny"), ("qwen2-rslora", "qwen2-tiny"), ("llama-pattern", "llama-tiny"),
                   ("llama-alpha-pattern", "llama-tiny"), ("qwen3-all-linear", "qwen3-tiny"), ("qwen2-mlx", "qwen2-tiny")]


def save_adapter(peft_model, directory: pathlib.Path, base: str) -> dict:
    """PEFT's save_pretrained into `directory`, the files made stable: the saved config names the
    base by this machine's path, so it names it by its fixture (`base`) instead; PEFT keeps
    target_modules as a set, so a list is sorted; its README.md is left out. Returns the config."""
    peft_model.save_pretrained(str(directory))
    config_path = directory / "adapter_config.json"
    saved = json.loads(config_path.read_text())
    saved["base_model_name_or_path"] = base
    if isinstance(saved.get("target_modules"), list):
        saved["target_modules"] = sorted(saved["target_modules"])
    config_path.write_text(json.dumps(saved, indent=2, sort_keys=True) + "\n")
    if (directory / "README.md").exists():
        (directory / "README.md").unlink()
    return saved


def llama_cpp_on_weightkit(root: pathlib.Path, out: pathlib.Path, kinds=None, record_name="llama-cpp-on-weightkit.json") -> None:
    """llama.cpp's logits on WeightKit's files: the base converted by `weightkit convert BASE
    base.gguf`, each adapter by `weightkit convert ADAPTER adapter.gguf --base BASE` (rsLoRA,
    alpha_pattern and MLX scales folded into lora_b). Recorded: llama.cpp's relative L2 error
    against PEFT's logits per adapter and the SHA-256 of the files it ran on, in
    Fixtures/lora/llama-cpp-on-weightkit.json (the tests check that WeightKit still writes them).
    A kind may name a third element, the leading positions compared: llama.cpp runs Phi-3 without
    its sliding window, so only the positions within the window are the same model."""
    from .gemma_models import weightkit_binary
    import hashlib
    import tempfile
    digest = lambda path: hashlib.sha256(path.read_bytes()).hexdigest()
    weightkit = weightkit_binary(root)
    llama = sdist_root()
    env = dict(os.environ, LLAMA_CPP_LIB_PATH=str(llama / "build" / "bin"), PYTHONPATH=str(llama.resolve().parents[1]))
    record = {}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        for name, base, *window in kinds or LLAMA_CPP_KINDS:
            base_gguf = scratch / f"{base}.gguf"
            if not base_gguf.exists():
                # The tiny bases' made-up vocabulary has no pre-tokenizer hash llama.cpp knows.
                subprocess.run([str(weightkit), "convert", str(root / "models" / base), str(base_gguf), "--tokenizer-pre", "gpt-2",
                                "--quiet"], check=True)
            adapter = scratch / f"{name}.gguf"
            subprocess.run([str(weightkit), "convert", str(out / name), str(adapter), "--base", str(root / "models" / base), "--quiet"],
                           check=True)
            logits = scratch / f"{name}.npy"
            subprocess.run([sys.executable, "-c", LLAMA_CPP_LOGITS, str(base_gguf), str(adapter), json.dumps(PROMPT), str(logits)],
                           env=env, check=True, capture_output=True, timeout=600)
            theirs, peft = np.load(logits), np.load(out / name / "logits-unmerged.npy")
            positions = window[0] if window else len(PROMPT)
            theirs, peft = theirs[:positions], peft[:positions]
            error = float(np.linalg.norm(theirs - peft) / np.linalg.norm(peft))
            record[name] = {"base": base, "relative_l2_to_peft": error, "base_sha256": digest(base_gguf),
                            "adapter_sha256": digest(adapter)}
            if window:
                record[name]["positions"] = positions
            print(f"  {name}: llama.cpp on WeightKit's GGUFs vs PEFT rel L2 {error:.2e}", flush=True)
    write_json(out / record_name, {"prompt": PROMPT, "adapters": record})


# Vision towers: (adapter, tower in Fixtures/vision, target modules).
VISION_ADAPTERS = [("clip-vision-lora", "clip-vision-tiny", ["q_proj", "v_proj", "fc1"]),
                   # Not the pooling head's attention.out_proj: nn.MultiheadAttention reads its weight
                   # directly, so PEFT's unmerged forward would leave that update out.
                   ("siglip-vision-lora", "siglip-vision-tiny", r".*\.(self_attn\.(q_proj|out_proj)|mlp\.fc2)")]


def vision_adapter(root: pathlib.Path, out: pathlib.Path, name: str, tower: str, targets: list, seed: int) -> None:
    """A PEFT adapter on a vision tower (its transformers class, the same module names as the
    checkpoint) and the tower's last hidden state and pooled output with it, unmerged, on the
    tower's recorded pixels (Fixtures/vision/<tower>/reference/pixels.npy)."""
    import transformers
    from peft import LoraConfig, get_peft_model
    source = root / "vision" / tower
    architecture = json.loads((source / "config.json").read_text())["architectures"][0]
    model = getattr(transformers, architecture).from_pretrained(str(source), dtype=torch.float32).eval()
    peft_model = get_peft_model(model, LoraConfig(r=2, lora_alpha=4, target_modules=targets, lora_dropout=0.0)).eval()
    randomise(peft_model, seed)
    directory = out / name
    if directory.exists():
        shutil.rmtree(directory)
    save_adapter(peft_model, directory, tower)
    pixels = torch.from_numpy(np.load(source / "reference" / "pixels.npy"))
    with torch.no_grad():
        result = peft_model(pixel_values=pixels)
        inner = peft_model.base_model.model
        pooled = inner.vision_model(pixel_values=pixels).pooler_output if hasattr(inner, "visual_projection") else result.pooler_output
    save_npy(directory / "last_hidden.npy", result.last_hidden_state.numpy())
    save_npy(directory / "pooled.npy", pooled.numpy())
    print(f"  {name}: {len(list(peft_model.state_dict()))} state tensors", flush=True)


def mlx_adapter(out: pathlib.Path, source: str, name: str) -> None:
    """mlx-lm's layout of the PEFT adapter `source`: `<module>.lora_a` = Aᵀ, `.lora_b` = Bᵀ."""
    from safetensors.torch import load_file
    peft_dir = out / source
    config = json.loads((peft_dir / "adapter_config.json").read_text())
    tensors = load_file(str(peft_dir / "adapter_model.safetensors"))
    mlx = {}
    for key, value in tensors.items():
        module = key.removeprefix("base_model.model.")
        if module.endswith(".lora_A.weight"):
            mlx[module.removesuffix(".lora_A.weight") + ".lora_a"] = value.T.contiguous()
        elif module.endswith(".lora_B.weight"):
            mlx[module.removesuffix(".lora_B.weight") + ".lora_b"] = value.T.contiguous()
        else:
            raise SystemExit(f"{source}: {key} has no MLX counterpart")
    directory = out / name
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    save_file(mlx, str(directory / "adapters.safetensors"), metadata={"format": "mlx"})
    layers = json.loads((pathlib.Path(out).parent / "models" / config["base_model_name_or_path"] / "config.json").read_text())
    mlx_config = {"fine_tune_type": "lora", "model": config["base_model_name_or_path"],
                  "num_layers": layers["num_hidden_layers"],
                  "lora_parameters": {"rank": config["r"], "scale": config["lora_alpha"] / config["r"], "dropout": 0.0,
                                      "keys": sorted("self_attn." + t for t in config["target_modules"])}}
    (directory / "adapter_config.json").write_text(json.dumps(mlx_config, indent=2) + "\n")
    shutil.copy(peft_dir / "logits-unmerged.npy", directory / "logits-unmerged.npy")


def generate(root: pathlib.Path) -> None:
    models = root / "models"
    out = root / "lora"
    out.mkdir(parents=True, exist_ok=True)
    for seed, (name, (base, keywords, convert)) in enumerate(ADAPTERS.items()):
        build(models, out, name, base, keywords, 100 + seed)
        if convert:
            convert_lora(models, out, name, base)
            llama_cpp_logits(models, out, name, base)
    mlx_adapter(out, "qwen2-plain", "qwen2-mlx")
    mergekit_adapter(models, out, "qwen2-plain", "qwen2-mergekit")
    convert_lora(models, out, "qwen2-mergekit", "qwen2-tiny", outtypes=("f32",))
    for seed, (name, tower, targets) in enumerate(VISION_ADAPTERS):
        vision_adapter(root, out, name, tower, targets, 200 + seed)
    llama_cpp_on_weightkit(root, out)
