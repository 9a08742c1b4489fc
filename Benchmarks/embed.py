#!/usr/bin/env python3
"""`weightkit embed` of N sentences with all-MiniLM-L6-v2 on 2 threads, side by side with
sentence-transformers (PyTorch, torch.set_num_threads(2), batch size 32) and llama.cpp's
llama-embedding (-t 2) on the model's f32 GGUF from convert_hf_to_gguf.py, the three taking
turns. WeightKit and llama-embedding are timed as whole processes (load included);
sentence-transformers as `encode` on a loaded model (its load is reported separately).

Usage: embed.py WEIGHTKIT LLAMA_EMBEDDING MODEL_DIR [N] [ROUNDS]. Prints JSON: every round's
seconds, the medians and the speedups of WeightKit against each."""
import json
import pathlib
import random
import statistics
import subprocess
import sys
import tempfile
import time

WORDS = ("a man woman child dog cat horse is are was playing eating riding reading watching the an on in at with "
         "food guitar violin park street river book ball bread white small quickly slowly happy old new two three").split()


def sentences(count: int) -> list[str]:
    rng = random.Random(0)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 40))).capitalize() + "." for _ in range(count)]


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{command[0]} failed: {result.stderr.decode()[-1000:]}")
    return elapsed


def main() -> None:
    weightkit, llama_embedding, model_dir = sys.argv[1:4]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 5
    texts = sentences(count)
    import torch
    from sentence_transformers import SentenceTransformer
    torch.set_num_threads(2)
    start = time.perf_counter()
    model = SentenceTransformer(model_dir, device="cpu")
    st_load = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        text_file = scratch / "texts.txt"
        text_file.write_text("\n".join(texts) + "\n")
        gguf = scratch / "minilm-f32.gguf"
        convert = pathlib.Path(llama_embedding).resolve().parents[2] / "convert_hf_to_gguf.py"
        subprocess.run([sys.executable, str(convert), model_dir, "--outfile", str(gguf), "--outtype", "f32"],
                       check=True, capture_output=True)
        out = scratch / "e.npy"
        wk_command = [weightkit, "embed", model_dir, "--file", str(text_file), "--out", str(out), "--force", "--threads", "2"]
        llama_command = [llama_embedding, "-m", str(gguf), "-f", str(text_file), "-t", "2", "-c", "8192", "-b", "8192",
                         "-ub", "8192", "--pooling", "mean", "--embd-output-format", "array", "--no-warmup"]
        results = {"weightkit": [], "sentence_transformers": [], "llama_embedding": []}
        model.encode(texts[:64], batch_size=32)   # warm-up
        for _ in range(rounds):
            results["weightkit"].append(timed(wk_command))
            start = time.perf_counter()
            model.encode(texts, batch_size=32, convert_to_numpy=True)
            results["sentence_transformers"].append(time.perf_counter() - start)
            results["llama_embedding"].append(timed(llama_command))
    medians = {name: statistics.median(values) for name, values in results.items()}
    print(json.dumps({
        "sentences": count, "threads": 2, "batch_size_sentence_transformers": 32,
        "sentence_transformers_load_seconds": st_load, "rounds": results, "median_seconds": medians,
        "speedup_vs_sentence_transformers": medians["sentence_transformers"] / medians["weightkit"],
        "speedup_vs_llama_embedding": medians["llama_embedding"] / medians["weightkit"],
    }, indent=1))


if __name__ == "__main__":
    main()
