"""The forward-pass parity test of the lattice, ternary and MXFP4 decode products (issue 18):
portable_models.py's tiny Qwen3 (rows of 256 and 512 values) quantised by llama-quantize into
two mixes that between them hold every type of `matvec_lattice`, each tensor type chosen with
`--tensor-type` (the imatrix the IQ1/IQ2 types need is llama-imatrix's, on decoder_models'
corpus), and transformers' logits on the weights dequantised by gguf-py.

Output: Fixtures/models/lattice-products/lattice-{a,b}.gguf, lattice-{a,b}-logits.npy
(float32 [prompt, vocab]) and reference.json (prompt, files, the type of every tensor).
"""
import pathlib
import shutil
import subprocess
import tempfile

import numpy as np
import torch

from .common import llama_cpp_dir, save_npy, write_json
from .decoder_models import CORPUS, PROMPT, convert_to_gguf, tiny_tokenizer
from .integer_products import GGUF_TO_HF
from .portable_models import Q4_K_M_CONFIG

# Each mix: llama-quantize's base type, then the type of each projection (the embedding rows are
# looked up, not multiplied; they take the base type).
MIXES = {
    "a": ("IQ3_S", {"attn_q": "iq2_xxs", "attn_k": "iq2_xs", "attn_v": "iq2_s", "attn_output": "iq3_xxs",
                    "ffn_gate": "iq3_s", "ffn_up": "iq2_xxs", "ffn_down": "iq3_xxs", "output": "iq2_s"}),
    "b": ("TQ2_0", {"attn_q": "iq1_s", "attn_k": "iq1_m", "attn_v": "tq1_0", "attn_output": "tq2_0",
                    "ffn_gate": "mxfp4", "ffn_up": "iq1_m", "ffn_down": "mxfp4", "output": "tq1_0"}),
}


def tiny_qwen3(directory: pathlib.Path) -> None:
    """portable_models' Q4_K_M source model (same configuration and seed), as an HF directory."""
    from transformers import AutoModelForCausalLM, Qwen3Config
    torch.manual_seed(4321)
    model = AutoModelForCausalLM.from_config(Qwen3Config(**Q4_K_M_CONFIG), torch_dtype=torch.float32).eval()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if parameter.dim() >= 2:
                parameter.normal_(0, 0.08)
            elif "norm" in name:
                parameter.uniform_(0.8, 1.2)
    model.save_pretrained(str(directory), safe_serialization=True)
    tiny_tokenizer(directory, 300)


def logits_on_dequantised(path: pathlib.Path) -> tuple[np.ndarray, dict]:
    """transformers' logits for PROMPT with every weight of `path` as gguf-py dequantises it."""
    import gguf
    from transformers import AutoModelForCausalLM, Qwen3Config
    model = AutoModelForCausalLM.from_config(Qwen3Config(**Q4_K_M_CONFIG), torch_dtype=torch.float32).eval()
    weights = dict(model.named_parameters())
    types = {}
    with torch.no_grad():
        for tensor in gguf.GGUFReader(str(path)).tensors:
            target = weights[GGUF_TO_HF[tensor.name]]
            values = gguf.quants.dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
            target.copy_(torch.from_numpy(values.reshape(tuple(target.shape))))
            types[tensor.name] = tensor.tensor_type.name
        logits = model(torch.tensor([PROMPT])).logits[0].float().numpy()
    return logits, types


def generate(root: pathlib.Path) -> None:
    llama = llama_cpp_dir()
    if llama is None:
        raise SystemExit("llama.cpp is not built: run `make llama-cpp`")
    out = root / "models" / "lattice-products"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    binaries = llama / "build" / "bin"
    record = {"prompt": PROMPT, "files": {},
              "reference": "transformers (float32) on the GGUF's weights, dequantised by gguf-py"}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        tiny_qwen3(scratch / "hf")
        f32 = scratch / "f32.gguf"
        convert_to_gguf(scratch / "hf", f32, "f32")
        (scratch / "corpus.txt").write_text(CORPUS * 4)
        imatrix = scratch / "imatrix.gguf"
        subprocess.run([str(binaries / "llama-imatrix"), "-m", str(f32), "-f", str(scratch / "corpus.txt"), "-o",
                        str(imatrix), "-c", "64", "-t", "1"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for name, (base, overrides) in MIXES.items():
            quantized = out / f"lattice-{name}.gguf"
            command = [str(binaries / "llama-quantize"), "--imatrix", str(imatrix)]
            for tensor, kind in overrides.items():
                command += ["--tensor-type", f"{tensor}={kind}"]
            command += ["--output-tensor-type", overrides["output"], "--token-embedding-type", base.lower(),
                        str(f32), str(quantized), base]
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            logits, types = logits_on_dequantised(quantized)
            for tensor, kind in overrides.items():
                key = "output.weight" if tensor == "output" else f"blk.0.{tensor}.weight"
                assert types[key] == kind.upper(), f"{name}: {key} is {types[key]}, asked for {kind}"
            save_npy(out / f"lattice-{name}-logits.npy", logits.astype(np.float32))
            record["files"][name] = {"path": f"models/lattice-products/lattice-{name}.gguf",
                                     "logits": f"lattice-{name}-logits.npy", "tensor_types": types}
    write_json(out / "reference.json", record)
