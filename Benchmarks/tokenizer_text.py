#!/usr/bin/env python3
"""The tokenizer benchmark's text: llama.cpp's tokenizer test cases (every models/ggml-vocab-*.gguf.inp
of the llama-cpp-python sdist, each case once, in file order; English, code, CJK, Cyrillic,
Khmer, emoji, whitespace runs) joined by newlines and repeated to BYTES bytes, cut at a character
boundary. Usage: tokenizer_text.py MODELS_DIR OUT [BYTES]."""
import pathlib
import sys

SEPARATOR = "\n__ggml_vocab_test__\n"


def main() -> None:
    models, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 20
    cases, seen = [], set()
    for inp in sorted(models.glob("ggml-vocab-*.gguf.inp")):
        for case in inp.read_text(encoding="utf-8").split(SEPARATOR):
            if case.strip() and case not in seen:
                seen.add(case)
                cases.append(case)
    if not cases:
        sys.exit(f"no .inp cases in {models}")
    block = "\n".join(cases).encode("utf-8") + b"\n"
    data = (block * (size // len(block) + 1))[:size]
    while data and (data[-1] & 0xC0) == 0x80:  # do not end inside a character
        data = data[:-1]
    if data and data[-1] >= 0xC0:
        data = data[:-1]
    out.write_bytes(data)
    print(f"{out}: {len(data)} bytes from {len(cases)} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
