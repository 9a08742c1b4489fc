"""llama-imatrix's importance matrices for `weightkit imatrix` to match.

On the three tiny models of quant_mixes.py (Fixtures/core/quant_mixes/<model>-f16.gguf.zst, used
as committed: this generator does not rebuild them), as f16 and as the f32 GGUF llama-quantize
writes from it (`llama-quantize IN OUT F32`; its sha256 is recorded, so a test can make the same
file with `weightkit quantize` and know it is the same input), llama-imatrix computes:
  - <model>-<dtype>.imatrix.gguf: ctx 64, at most 5 chunks, over text.txt;
  - llama-gqa-f32-output.imatrix.gguf: the same with --process-output;
  - llama-gqa-f32-short.imatrix.gguf: ctx 64 without a chunk limit over short.txt (floor(tokens / 64) chunks).
The batch is the context (-b 64), as llama-imatrix's default batch holds whole chunks too. On
the f32 models the KV cache is f32 and flash attention off (-ctk f32 -ctv f32 -fa off), so
that nothing is rounded to f16; the f16 models run with llama-imatrix's defaults.
tokens.txt holds llama-tokenize's ids of text.txt (with BOS as the vocabulary adds it, special
texts not parsed: what llama-imatrix feeds), for --tokens-file.
reference.json: per file, gguf-py's reading (metadata, tensor names, shapes, counts and the
sum of each in_sum2), the token counts, and the f32 files' sha256.
"""
import hashlib
import pathlib
import subprocess

import numpy as np

from .common import llama_cpp_dir, write_json
from .decoder_models import CORPUS

MODELS = ["llama-gqa", "qwen3moe-8x", "qwen2-bias"]
# On the f32 models everything in float32: the KV cache (f16 by default, which rounds keys and
# values) and attention without flash attention (whose CPU kernel works in f16).
FLOAT32 = ["-ctk", "f32", "-ctv", "f32", "-fa", "off"]
TEXT = CORPUS * 6
SHORT = CORPUS


def sha256(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def reading(path: pathlib.Path):
    import gguf
    reader = gguf.GGUFReader(str(path))
    metadata = {
        "general.type": reader.get_field("general.type").contents(),
        "imatrix.datasets": list(reader.get_field("imatrix.datasets").contents()),
        "imatrix.chunk_count": int(reader.get_field("imatrix.chunk_count").contents()),
        "imatrix.chunk_size": int(reader.get_field("imatrix.chunk_size").contents()),
        "keys": [f.name for f in reader.fields.values() if not f.name.startswith("GGUF.")],
    }
    tensors = []
    for t in reader.tensors:
        data = np.asarray(t.data, dtype=np.float32).reshape(-1)
        entry = {"name": t.name, "type": t.tensor_type.name, "shape": [int(x) for x in reversed(t.shape)]}
        if t.name.endswith(".counts"):
            entry["values"] = [float(x) for x in data]
        else:
            entry["sum"] = float(data.astype(np.float64).sum())
        tensors.append(entry)
    return {"metadata": metadata, "tensors": tensors}


def token_ids(tokenize: pathlib.Path, model: pathlib.Path, text: pathlib.Path):
    result = subprocess.run([str(tokenize), "-m", str(model), "-f", str(text), "--ids", "--log-disable", "--no-parse-special"],
                            check=True, capture_output=True, text=True)
    line = [l for l in result.stdout.splitlines() if l.startswith("[")][-1]
    return [int(x) for x in line.strip("[]").split(",") if x.strip()]


def generate(root: pathlib.Path) -> None:
    llama = llama_cpp_dir()
    if llama is None:
        raise SystemExit("llama.cpp is not built: run `make llama-cpp`")
    bin_dir = llama / "build" / "bin"
    quantize, imatrix, tokenize = bin_dir / "llama-quantize", bin_dir / "llama-imatrix", bin_dir / "llama-tokenize"
    sources = root / "core" / "quant_mixes"
    out = root / "core" / "imatrix"
    out.mkdir(parents=True, exist_ok=True)
    work = root / ".cache" / "imatrix-reference"
    work.mkdir(parents=True, exist_ok=True)
    text, short = out / "text.txt", out / "short.txt"
    text.write_text(TEXT)
    short.write_text(SHORT)
    summary = {"reference": "llama.cpp (llama-cpp-python 0.3.36) llama-imatrix, llama-quantize, llama-tokenize; gguf-py readings",
               "ctx": 64, "chunks": 5, "models": {}, "files": {}}

    def run_imatrix(model: pathlib.Path, name: str, source_text: pathlib.Path, extra):
        target = out / name
        # The dataset is recorded as given: the path relative to the repository root.
        subprocess.run([str(imatrix), "-m", str(model), "-f", str(source_text.relative_to(root.parent)), "-o", str(target),
                        "-c", "64", "-b", "64", "-t", "2", "--no-ppl", *extra],
                       check=True, capture_output=True, cwd=str(root.parent))
        summary["files"][name] = reading(target)

    for name in MODELS:
        f16 = work / f"{name}-f16.gguf"
        subprocess.run(["zstd", "-q", "-d", "-f", str(sources / f"{name}-f16.gguf.zst"), "-o", str(f16)], check=True)
        f32 = work / f"{name}-f32.gguf"
        subprocess.run([str(quantize), str(f16), str(f32), "F32"], check=True, capture_output=True)
        ids = token_ids(tokenize, f16, text)
        summary["models"][name] = {"f32_sha256": sha256(f32), "text_tokens": len(ids),
                                   "short_tokens": len(token_ids(tokenize, f16, short))}
        if name == "llama-gqa":
            (out / "tokens.txt").write_text(", ".join(str(i) for i in ids) + "\n")
        for dtype, model in (("f32", f32), ("f16", f16)):
            run_imatrix(model, f"{name}-{dtype}.imatrix.gguf", text, ["--chunks", "5"] + (FLOAT32 if dtype == "f32" else []))
        if name == "llama-gqa":
            run_imatrix(f32, f"{name}-f32-output.imatrix.gguf", text, ["--chunks", "5", "--process-output"] + FLOAT32)
            run_imatrix(f32, f"{name}-f32-short.imatrix.gguf", short, FLOAT32)
    write_json(out / "reference.json", summary)
