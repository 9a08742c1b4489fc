"""References for the tokenizer.* keys WeightKit writes when converting a Hugging Face directory
to GGUF: llama.cpp's convert_hf_to_gguf.py (--vocab-only) on tiny models with real tokenizer
files, and llama.cpp's own pre-tokenizer identification on real vocabularies.

Writes tokenizers/:
- <case>/tokenizer.json, tokenizer_config.json, chat_template.jinja: a tokenizer built with the `tokenizers` library
  (trained on a short text); <case>/llama.cpp.gguf: llama.cpp's vocab-only conversion of the
  tiny model named in cases.json with these files.
  * bpe-qwen2: byte-level BPE with Qwen2's Split regex, special and non-special added tokens,
    a pad token and a chat template, on qwen2-tiny;
  * llama-byte-fallback: Llama 2-style BPE with byte fallback (<0xNN> tokens, <s> added by the
    post-processor), on llama-tiny.
  llama.cpp identifies a pre-tokenizer by the hash of a whole vocabulary's tokenization, which a
  tiny vocabulary cannot match: these conversions record "default" (see pre-names.json).
- pre-names.json: for the vocabularies llama.cpp ships (models/ggml-vocab-*.gguf), a tokenizer
  rebuilt from the GGUF's tokens and merges with the pre-tokenizer description its Hugging Face
  model carries, and the name llama.cpp's get_vocab_base_pre gives it by hash.
"""
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile

import gguf

from .common import llama_cpp_dir, write_json

CORPUS = ("the quick brown fox jumps over the lazy dog. " * 10 + "weights tensors models files bytes " * 10
          + "Grüße 世界 llama qwen expert gguf safetensors 0123456789 \n\n  indented\ttabs ")
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                 r"\s*[\r\n]+|\s+(?!\S)|\s+")
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                  r"\s*[\r\n]+|\s+(?!\S)|\s+")
CHAT_TEMPLATE = ("{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
                 "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")

CONVERT = """
import sys
sys.path.insert(0, sys.argv[1])
import conversion.base as base
original = base.TextModel.get_vocab_base_pre
def identify(self, tokenizer):
    try:
        return original(self, tokenizer)
    except NotImplementedError:
        return "default"
base.TextModel.get_vocab_base_pre = identify
import convert_hf_to_gguf
sys.argv = ["convert_hf_to_gguf.py"] + sys.argv[2:]
convert_hf_to_gguf.main()
"""

IDENTIFY = """
import sys, json
sys.path.insert(0, sys.argv[1])
import conversion.base as base
from transformers import AutoTokenizer
tokenizer = AutoTokenizer.from_pretrained(sys.argv[2])
try:
    print(json.dumps(base.TextModel.get_vocab_base_pre(None, tokenizer)))
except NotImplementedError:
    print(json.dumps(None))
"""


def qwen2_style(directory: pathlib.Path) -> None:
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    tokenizer.train_from_iterator([CORPUS], trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   additional_special_tokens=["<|im_start|>", "<|im_end|>"])
    fast.add_tokens(["<tool_call>", "<|vision_pad|>"])
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(str(directory))
    config = json.loads((directory / "tokenizer_config.json").read_text())
    config["add_bos_token"] = False
    (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False))


def llama_style(directory: pathlib.Path) -> None:
    from tokenizers import Tokenizer, decoders, models, normalizers, processors, trainers
    from transformers import PreTrainedTokenizerFast
    trainer_tokenizer = Tokenizer(models.BPE())
    trainer_tokenizer.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    trainer = trainers.BpeTrainer(vocab_size=80, special_tokens=[])
    trainer_tokenizer.train_from_iterator([CORPUS], trainer)
    trained = json.loads(trainer_tokenizer.to_str())["model"]
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for byte in range(256):
        vocab[f"<0x{byte:02X}>"] = len(vocab)
    for token in sorted(trained["vocab"], key=trained["vocab"].get):
        vocab.setdefault(token, len(vocab))
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in trained["merges"]]
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tokenizer.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tokenizer.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                           decoders.Strip(" ", 1, 0)])
    tokenizer.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                             special_tokens=[("<s>", 1)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    fast.add_special_tokens({"additional_special_tokens": ["<|eot|>"]})
    fast.save_pretrained(str(directory))
    config = json.loads((directory / "tokenizer_config.json").read_text())
    config.update(add_bos_token=True, add_eos_token=False, add_prefix_space=True)
    (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False))


CASES = {"bpe-qwen2": ("qwen2-tiny", qwen2_style), "llama-byte-fallback": ("llama-tiny", llama_style)}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja")


def model_directory(root: pathlib.Path, model: str, tokenizer_dir: pathlib.Path, into: pathlib.Path) -> None:
    for name in ("config.json", "model.safetensors"):
        (into / name).symlink_to(root / "models" / model / name)
    for name in TOKENIZER_FILES:
        if (tokenizer_dir / name).exists():
            shutil.copy(tokenizer_dir / name, into / name)


def rebuilt_tokenizer(vocab_file: pathlib.Path, pre_tokenizer: dict, bos: str | None, into: pathlib.Path) -> None:
    """A tokenizer.json with the GGUF's tokens, merges and control tokens and the given pre-tokenizer."""
    from tokenizers import Tokenizer
    reader = gguf.GGUFReader(str(vocab_file))
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    types = reader.fields["tokenizer.ggml.token_type"].contents()
    merges = reader.fields["tokenizer.ggml.merges"].contents()
    vocab = {t: i for i, t in enumerate(tokens) if types[i] == gguf.TokenType.NORMAL}
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
              "special": True} for i, t in enumerate(tokens) if types[i] == gguf.TokenType.CONTROL]
    document = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
        "pre_tokenizer": pre_tokenizer, "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                                                   "use_regex": True},
        "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": bos, "type_id": 0}},
                                                                    {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [], "special_tokens": {bos: {"id": bos, "ids": [tokens.index(bos)], "tokens": [bos]}}}
        if bos else None,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [m.split(" ") for m in merges]},
    }
    Tokenizer.from_str(json.dumps(document))   # the tokenizers library accepts it
    (into / "tokenizer.json").write_text(json.dumps(document, ensure_ascii=False))
    (into / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "PreTrainedTokenizerFast"}))


def split_then_bytes(pattern: str) -> dict:
    return {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]}


REAL_VOCABULARIES = [
    ("qwen2", split_then_bytes(QWEN2_PATTERN), None),
    ("llama-bpe", split_then_bytes(LLAMA3_PATTERN), "<|begin_of_text|>"),
    ("gpt-2", {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}, None),
]


def generate(root: pathlib.Path) -> None:
    llama = llama_cpp_dir()
    if llama is None:
        raise SystemExit("llama.cpp is not built: run `make llama-cpp`")
    out = root / "tokenizers"
    if out.exists():
        shutil.rmtree(out)
    cases = {}
    for name, (model, build) in CASES.items():
        directory = out / name
        directory.mkdir(parents=True)
        with tempfile.TemporaryDirectory() as scratch:
            build(pathlib.Path(scratch))
            for file in TOKENIZER_FILES:
                if (pathlib.Path(scratch) / file).exists():
                    shutil.copy(pathlib.Path(scratch) / file, directory / file)
        with tempfile.TemporaryDirectory() as scratch:
            model_directory(root, model, directory, pathlib.Path(scratch))
            subprocess.run([sys.executable, "-c", CONVERT, str(llama), scratch, "--vocab-only",
                            "--outfile", str(directory / "llama.cpp.gguf"), "--outtype", "f32"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        cases[name] = {"model": f"models/{model}"}
    names = []
    for vocabulary, pre_tokenizer, bos in REAL_VOCABULARIES:
        with tempfile.TemporaryDirectory() as scratch:
            rebuilt_tokenizer(llama / "models" / f"ggml-vocab-{vocabulary}.gguf", pre_tokenizer, bos, pathlib.Path(scratch))
            result = subprocess.run([sys.executable, "-c", IDENTIFY, str(llama), scratch], check=True,
                                    capture_output=True, text=True)
        names.append({"vocabulary": f"ggml-vocab-{vocabulary}.gguf", "pre_tokenizer": pre_tokenizer,
                      "llama_cpp_pre": json.loads(result.stdout.strip().splitlines()[-1])})
    write_json(out / "cases.json", cases)
    write_json(out / "pre-names.json", names)
