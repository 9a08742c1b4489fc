"""llama-quantize's choices and bytes for every mix on tiny random models.

Three tiny models are made by transformers and converted to f16 GGUF by llama.cpp's
convert_hf_to_gguf.py:
  - llama-gqa: grouped-query attention (8 heads, 2 key/value heads), 8 layers, hidden 256 (so
    the K-quants apply), FFN and attention-output rows of 32/64 values (shape fallbacks), untied;
  - qwen3moe-8x: 8 experts (the n_expert == 8 rules), tied embeddings;
  - qwen2-bias: q/k/v biases, FFN rows of 48 values (F16 fallbacks for 32-blocks' neighbours).
Weights take few distinct values (multiples of 1/64 times a per-tensor scale), so the committed
zstd copies stay small; ties are a case the quantisers must get right anyway.

llama-imatrix computes an importance matrix for each on a short text (GGUF format, committed),
and llama-quantize writes every QUANT_OPTIONS mix, with and without it. Committed per model:
<model>-f16.gguf.zst, <model>.imatrix.gguf, and mixes.json: per (mix, imatrix) llama-quantize's
exit status, the output's metadata that quantisation sets, and per tensor (in file order) its
type, shape and the sha256 of its bytes. The outputs themselves stay in Fixtures/.cache/quant-mixes
(tests that find them there report the first differing block).
"""
import hashlib
import json
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import torch

from .common import llama_cpp_dir, register_ggml_only_types, write_json
from .decoder_models import CORPUS, convert_to_gguf, tiny_tokenizer

MIXES = [
    "Q1_0", "Q2_0", "Q4_0", "Q4_1", "MXFP4_MOE", "Q5_0", "Q5_1", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M", "IQ1_S", "IQ1_M",
    "TQ1_0", "TQ2_0", "Q2_K", "Q2_K_S", "IQ3_XXS", "IQ3_S", "IQ3_M", "Q3_K", "IQ3_XS", "Q3_K_S", "Q3_K_M", "Q3_K_L",
    "IQ4_NL", "IQ4_XS", "Q4_K", "Q4_K_S", "Q4_K_M", "Q5_K", "Q5_K_S", "Q5_K_M", "Q6_K", "Q8_0", "F16", "BF16", "F32", "COPY",
]
TEXT = (CORPUS * 6)


def models():
    from transformers import LlamaConfig, Qwen2Config, Qwen3MoeConfig
    common = dict(max_position_embeddings=256, rms_norm_eps=1e-6)
    return {
        "llama-gqa": LlamaConfig(
            vocab_size=320, hidden_size=256, intermediate_size=32, num_hidden_layers=8, num_attention_heads=8,
            num_key_value_heads=2, head_dim=8, tie_word_embeddings=False, rope_theta=10000.0, **common),
        "qwen3moe-8x": Qwen3MoeConfig(
            vocab_size=320, hidden_size=256, intermediate_size=64, moe_intermediate_size=32, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=4, head_dim=16, num_experts=8, num_experts_per_tok=2,
            norm_topk_prob=True, tie_word_embeddings=True, rope_theta=10000.0, **common),
        "qwen2-bias": Qwen2Config(
            vocab_size=320, hidden_size=256, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=1, tie_word_embeddings=False, rope_theta=10000.0, **common),
    }


def few_values(rng, shape, scale):
    k = np.clip(np.round(rng.standard_normal(shape) * 10), -60, 60)
    return torch.tensor(k / 64.0 * scale, dtype=torch.float32)


def build_model(name, config, work: pathlib.Path) -> pathlib.Path:
    from transformers import AutoModelForCausalLM
    torch.manual_seed(99)
    rng = np.random.default_rng({"llama-gqa": 1, "qwen3moe-8x": 2, "qwen2-bias": 3}[name])
    model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.float32).eval()
    with torch.no_grad():
        for pname, parameter in model.named_parameters():
            if "norm" in pname:
                parameter.copy_(torch.tensor(1.0 + np.round(rng.standard_normal(parameter.shape) * 4) / 64, dtype=torch.float32))
            else:
                scale = float(np.exp(rng.uniform(-3.5, -1.5)))
                parameter.copy_(few_values(rng, parameter.shape, scale))
    hf = work / name
    if hf.exists():
        shutil.rmtree(hf)
    model.save_pretrained(str(hf), safe_serialization=True)
    tiny_tokenizer(hf, 300)
    gguf_path = work / f"{name}-f16.gguf"
    convert_to_gguf(hf, gguf_path, "f16")
    return gguf_path


def tensor_records(path: pathlib.Path):
    import gguf
    register_ggml_only_types()
    reader = gguf.GGUFReader(str(path))
    tensors = []
    for t in reader.tensors:
        data = bytes(np.asarray(t.data).view(np.uint8).reshape(-1))
        tensors.append({"name": t.name, "type": t.tensor_type.name, "shape": [int(x) for x in reversed(t.shape)],
                        "sha256": hashlib.sha256(data).hexdigest()})
    metadata = {}
    for key in ("general.file_type", "general.quantization_version", "quantize.imatrix.file", "quantize.imatrix.dataset",
                "quantize.imatrix.entries_count", "quantize.imatrix.chunks_count"):
        field = reader.get_field(key)
        if field is None:
            continue
        value = field.contents()
        metadata[key] = {"type": field.types[0].name, "value": value}
    keys = [f.name for f in reader.fields.values() if not f.name.startswith("GGUF.")]
    return tensors, metadata, keys


def dry_run_types(quantize: pathlib.Path, source: pathlib.Path, mix: str, extra):
    """Per tensor, the type llama-quantize --dry-run reports."""
    result = subprocess.run([str(quantize), "--dry-run", *extra, str(source), mix], capture_output=True, text=True)
    types = {}
    for line in (result.stdout + result.stderr).splitlines():
        line = line.strip()
        if not line.startswith("[") or "type =" not in line:
            continue
        name = line.split("]", 1)[1].split(" - ")[0].strip()
        current = line.split("type =")[1].split(",")[0].strip()
        chosen = line.rsplit("(", 1)[1].rstrip(")") if line.endswith(")") else current
        types[name] = chosen.upper()
    return result.returncode, types


def generate(root: pathlib.Path) -> None:
    llama = llama_cpp_dir()
    if llama is None:
        raise SystemExit("llama.cpp is not built: run `make llama-cpp`")
    bin_dir = llama / "build" / "bin"
    quantize, imatrix_tool = bin_dir / "llama-quantize", bin_dir / "llama-imatrix"
    out = root / "core" / "quant_mixes"
    out.mkdir(parents=True, exist_ok=True)
    work = root / ".cache" / "quant-mixes"
    work.mkdir(parents=True, exist_ok=True)
    text = work / "imatrix-text.txt"
    text.write_text(TEXT)
    summary = {"reference": "llama.cpp (llama-cpp-python 0.3.36) llama-quantize, llama-imatrix", "models": {}}
    for name, config in models().items():
        source = build_model(name, config, work)
        zst = out / f"{name}-f16.gguf.zst"
        subprocess.run(["zstd", "-q", "-19", "-f", str(source), "-o", str(zst)], check=True)
        imatrix = out / f"{name}.imatrix.gguf"
        subprocess.run([str(imatrix_tool), "-m", str(source), "-f", str(text), "-o", str(imatrix), "-c", "64", "-b", "64",
                        "-t", "2", "--no-ppl", "--chunks", "6"], check=True, capture_output=True)
        if name == "llama-gqa":
            # The legacy format too, for the reader.
            subprocess.run([str(imatrix_tool), "-m", str(source), "-f", str(text), "-o", str(out / f"{name}.imatrix.dat"),
                            "--output-format", "dat", "-c", "64", "-b", "64", "-t", "2", "--no-ppl", "--chunks", "6"],
                           check=True, capture_output=True)
        entries = {}
        for mix in MIXES:
            for with_imatrix in (False, True):
                label = f"{mix}{'+imatrix' if with_imatrix else ''}"
                extra = ["--imatrix", str(imatrix)] if with_imatrix else []
                target = work / f"{name}-{label}.gguf"
                target.unlink(missing_ok=True)
                run = subprocess.run([str(quantize), *extra, str(source), str(target), mix, "2"], capture_output=True, text=True)
                entry = {"status": run.returncode}
                if run.returncode == 0:
                    tensors, metadata, keys = tensor_records(target)
                    status, dry = dry_run_types(quantize, source, mix, extra)
                    assert status == 0, (name, label)
                    for t in tensors:
                        assert dry.get(t["name"]) == t["type"], (name, label, t["name"], dry.get(t["name"]), t["type"])
                    names = [t["name"] for t in tensors]
                    if "order" not in summary["models"].setdefault(name, {}):
                        summary["models"][name]["order"] = names
                    assert summary["models"][name]["order"] == names, (name, label)
                    # Per tensor in file order: type and the first 16 hex digits of its sha256.
                    entry.update({"tensors": [f"{t['type']}:{t['sha256'][:16]}" for t in tensors], "metadata": metadata,
                                  "keys": keys[-8:], "size": target.stat().st_size,
                                  "file_sha256": hashlib.sha256(target.read_bytes()).hexdigest()})
                else:
                    entry["error"] = [l for l in (run.stdout + run.stderr).splitlines() if "error" in l.lower() or "failed" in l.lower()][-3:]
                entries[label] = entry
        summary["models"].setdefault(name, {}).update({"source": zst.name, "imatrix": imatrix.name, "mixes": entries})
    (out / "mixes.json").write_text(json.dumps(summary, separators=(",", ":")) + "\n")
    record_imatrix(out)


def record_imatrix(out: pathlib.Path) -> None:
    """imatrix.json: per matrix file, the entries llama-quantize derives (in_sum2 / lround(counts)
    per expert in float32, 1 where a count is 0; for .dat, values / ncall), as sha256 of the
    float32 bytes with the length and first values, read with gguf-py (GGUF) or NumPy (.dat)."""
    import gguf
    result = {}
    for path in sorted(out.glob("*.imatrix.*")):
        entries = {}
        if path.suffix == ".gguf":
            reader = gguf.GGUFReader(str(path))
            tensors = {t.name: np.asarray(t.data, dtype=np.float32).reshape(-1) for t in reader.tensors}
            for name in sorted(n[: -len(".in_sum2")] for n in tensors if n.endswith(".in_sum2")):
                sums, counts = tensors[name + ".in_sum2"], tensors[name + ".counts"]
                per = sums.size // counts.size
                weights = np.zeros(sums.size, dtype=np.float32)
                for e in range(counts.size):
                    c = np.float32(int(np.floor(abs(float(counts[e])) + 0.5)) * (1 if counts[e] >= 0 else -1))
                    block = sums[e * per:(e + 1) * per]
                    weights[e * per:(e + 1) * per] = block / c if c > 0 else np.float32(1)
                entries[name] = weights
            meta = {"datasets": list(reader.get_field("imatrix.datasets").contents()),
                    "chunk_count": int(reader.get_field("imatrix.chunk_count").contents()),
                    "chunk_size": int(reader.get_field("imatrix.chunk_size").contents())}
        else:
            data = path.read_bytes()
            pos = 0
            def i32():
                nonlocal pos
                v = int(np.frombuffer(data, dtype="<i4", count=1, offset=pos)[0]); pos += 4
                return v
            for _ in range(i32()):
                n = i32(); name = data[pos:pos + n].decode(); pos += n
                ncall = i32(); nval = i32()
                values = np.frombuffer(data, dtype="<f4", count=nval, offset=pos).copy(); pos += 4 * nval
                entries[name] = values / np.float32(ncall) if ncall > 0 else values
            chunks = i32() if pos < len(data) else 0
            dataset = []
            if pos < len(data):
                n = i32(); dataset = [data[pos:pos + n].decode()]
            meta = {"datasets": dataset, "chunk_count": chunks, "chunk_size": 0}
        result[path.name] = dict(meta, entries={
            name: {"count": int(w.size), "sha256": hashlib.sha256(w.astype("<f4").tobytes()).hexdigest(),
                   "first": [float(x) for x in w[:4]]} for name, w in entries.items()})
    write_json(out / "imatrix.json", result)
