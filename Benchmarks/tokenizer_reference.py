#!/usr/bin/env python3
"""The references of the tokenizer benchmark on one vocabulary, as one JSON line each:
- the Python `tokenizers` package (Rust) on TOKENIZER_JSON (WeightKit's Hugging Face form of the
  GGUF, which encodes as llama.cpp does): load, and encode of TEXT without special tokens, one
  thread (RAYON_NUM_THREADS=1), best of 5;
- llama.cpp's `llama-tokenize -m GGUF -f TEXT --ids --no-bos --no-parse-special`: wall time of the
  whole process, of the same process on a one-byte text (loading), and their difference, best of 5.
Both report the token count, and whether their ids agree.
Usage: tokenizer_reference.py GGUF TOKENIZER_JSON TEXT LLAMA_TOKENIZE."""
import ast
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def best(count, work):
    times = []
    for _ in range(count):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    gguf, tokenizer_json, text_path, llama_tokenize = sys.argv[1:5]
    from tokenizers import Tokenizer
    text = pathlib.Path(text_path).read_text(encoding="utf-8")
    size = len(text.encode("utf-8"))
    name = pathlib.Path(gguf).name
    load, tokenizer = best(5, lambda: Tokenizer.from_file(tokenizer_json))
    encode, encoding = best(5, lambda: tokenizer.encode(text, add_special_tokens=False))
    ids = encoding.ids
    print(json.dumps({"benchmark": "tokenizer-encode", "implementation": "tokenizers (Python, Rust)", "file": name,
                      "bytes": size, "tokens": len(ids), "load_seconds": load, "encode_seconds": encode,
                      "megabytes_per_second": size / encode / 1e6}))

    command = [llama_tokenize, "-m", gguf, "--ids", "--no-bos", "--no-parse-special", "--log-disable"]

    def run(path):
        return subprocess.run(command + ["-f", path], capture_output=True, text=True, check=True).stdout

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as tiny:
        tiny.write("a")
    try:
        load, _ = best(5, lambda: run(tiny.name))
    finally:
        os.unlink(tiny.name)
    total, output = best(5, lambda: run(text_path))
    llama_ids = ast.literal_eval(output.strip().splitlines()[-1])
    print(json.dumps({"benchmark": "tokenizer-encode", "implementation": "llama-tokenize", "file": name, "bytes": size,
                      "tokens": len(llama_ids), "process_seconds": total, "load_seconds": load,
                      "encode_seconds": total - load, "megabytes_per_second": size / max(total - load, 1e-9) / 1e6,
                      "same_ids_as_tokenizers": llama_ids == ids}))


if __name__ == "__main__":
    main()
