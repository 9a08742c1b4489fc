"""References for the tokenizer.* keys WeightKit writes when converting a Hugging Face directory
to GGUF: llama.cpp's convert_hf_to_gguf.py (--vocab-only) on tiny models with real tokenizer
files, and the pre-tokenizer table of llama.cpp's converter.

Writes tokenizers/:
- <case>/tokenizer.json or tokenizer.model, tokenizer_config.json, chat_template.jinja: a tokenizer
  built with the `tokenizers` or `sentencepiece` library (trained on a short text);
  <case>/llama.cpp.gguf: llama.cpp's vocab-only conversion of the tiny model named in cases.json
  with these files.
  * bpe-qwen2: byte-level BPE with Qwen2's Split regex, special and non-special added tokens,
    a pad token and a chat template, on qwen2-tiny;
  * llama-byte-fallback: Llama 2-style BPE with byte fallback (<0xNN> tokens, <s> added by the
    post-processor), on llama-tiny;
  * spm-llama-bpe, spm-llama-unigram: a SentencePiece BPE (byte fallback) and Unigram
    tokenizer.model with user-defined and control pieces, on llama-tiny;
  * wordpiece-bert: a BERT WordPiece tokenizer.json, with a tiny BERT config.json (the weights
    llama.cpp's converter opens are made on the fly and not kept).
  llama.cpp identifies a byte-level BPE or WordPiece pre-tokenizer by the hash of its encoding
  of a check text, which a tiny vocabulary cannot match (llama.cpp raises): these conversions
  record "default", which WeightKit writes when asked to (ConversionOptions.preTokenizer).
- pre-hashes.json: the check text and the (hash, name) table of get_vocab_base_pre, read from
  the converter's source.
"""
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile

import gguf

from .common import llama_cpp_dir, write_json
from .tokenizers import CHECK_TEXT

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


def trained_sentencepiece(sentences: list[str], **options) -> bytes:
    """A SentencePiece model trained on one thread and returned as bytes: with `model_prefix` the
    trainer stores that path in the model's trainer_spec, so the file would depend on the
    temporary directory it was trained in."""
    import io
    import sentencepiece as spm
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(sentences), model_writer=model, hard_vocab_limit=False,
                                   minloglevel=2, num_threads=1, **options)
    return model.getvalue()


def sentencepiece_style(model_type: str):
    """A SentencePiece tokenizer.model (trained on CORPUS) with a user-defined and a control piece,
    and a tokenizer_config.json whose added_tokens_decoder marks one more piece special."""
    def build(directory: pathlib.Path) -> None:
        import sentencepiece as spm
        sentences = [line.strip() for line in CORPUS.replace(". ", ".\n").splitlines() if line.strip()]
        options = {"vocab_size": 320, "byte_fallback": True} if model_type == "bpe" else {"vocab_size": 120}
        (directory / "tokenizer.model").write_bytes(trained_sentencepiece(
            sentences * 4, model_type=model_type, user_defined_symbols=["<tool>"], control_symbols=["<ctrl>"], **options))
        processor = spm.SentencePieceProcessor(model_file=str(directory / "tokenizer.model"))
        marked = processor.piece_to_id("▁the")
        config = {"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                  "add_bos_token": True, "add_eos_token": False,
                  "added_tokens_decoder": {str(marked): {"content": "▁the", "lstrip": False, "normalized": False,
                                                         "rstrip": False, "single_word": False, "special": True}}}
        (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False))
    return build


def wordpiece_vocabulary(normalizer, pre_tokenizer) -> dict[str, int]:
    """A WordPiece vocabulary for CORPUS: the special tokens, then the pieces of a SentencePiece BPE
    model trained on its BERT-normalised words (`▁word` -> `word`, `piece` -> `##piece`), then
    every character alone and as `##c`. The `tokenizers` WordPiece trainer is not used because it
    numbers continuing pieces in hash-map order, which changes from run to run (and with it which
    pieces tied merges make)."""
    import sentencepiece as spm
    words = [word for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(CORPUS))]
    processor = spm.SentencePieceProcessor(model_proto=trained_sentencepiece(
        [" ".join(words)] * 4, model_type="bpe", vocab_size=160, character_coverage=1.0, split_digits=True))
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    for id in range(processor.get_piece_size()):
        piece = processor.id_to_piece(id)
        if processor.is_control(id) or processor.is_unknown(id) or piece == "▁":
            continue
        tokens.append(piece[1:] if piece.startswith("▁") else "##" + piece)
    characters = sorted(set("".join(words)))
    tokens += characters + ["##" + c for c in characters]
    return {token: id for id, token in enumerate(dict.fromkeys(tokens))}


def wordpiece_style(directory: pathlib.Path) -> None:
    """A BERT WordPiece tokenizer.json (trained on CORPUS) and a tiny BERT config.json for it."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, PreTrainedTokenizerFast
    normalizer, pre_tokenizer = normalizers.BertNormalizer(lowercase=True), pre_tokenizers.BertPreTokenizer()
    tokenizer = Tokenizer(models.WordPiece(vocab=wordpiece_vocabulary(normalizer, pre_tokenizer), unk_token="[UNK]"))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tokenizer.decoder = decoders.WordPiece()
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]",
                                   pad_token="[PAD]", mask_token="[MASK]")
    fast.save_pretrained(str(directory))
    BertConfig(vocab_size=len(fast), hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16,
               max_position_embeddings=32, type_vocab_size=2).save_pretrained(str(directory))


def bert_weights(tokenizer_dir: pathlib.Path, into: pathlib.Path) -> None:
    """A randomly initialised tiny BERT for the converter to open (only its vocabulary is written)."""
    import torch
    from transformers import BertConfig, BertModel
    torch.manual_seed(0)
    BertModel(BertConfig.from_pretrained(str(tokenizer_dir))).save_pretrained(str(into))


# name -> (model directory under models/, or None for a model made on the fly; tokenizer builder)
CASES = {"bpe-qwen2": ("qwen2-tiny", qwen2_style), "llama-byte-fallback": ("llama-tiny", llama_style),
         "spm-llama-bpe": ("llama-tiny", sentencepiece_style("bpe")),
         "spm-llama-unigram": ("llama-tiny", sentencepiece_style("unigram")),
         "wordpiece-bert": (None, wordpiece_style)}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "tokenizer.model", "config.json")


def model_directory(root: pathlib.Path, model: str | None, tokenizer_dir: pathlib.Path, into: pathlib.Path) -> None:
    if model is None:
        bert_weights(tokenizer_dir, into)
    else:
        for name in ("config.json", "model.safetensors"):
            (into / name).symlink_to(root / "models" / model / name)
    for name in TOKENIZER_FILES:
        if (tokenizer_dir / name).exists() and not (into / name).exists():
            shutil.copy(tokenizer_dir / name, into / name)


def pre_tokenizer_hashes(llama: pathlib.Path) -> dict:
    """get_vocab_base_pre's check text and (hash, name) table in its order, read from the converter's
    source (the function is a list of `if chkhsh == "...": res = "..."`; the last match wins)."""
    import ast
    source = llama / "conversion" / "base.py"
    if not source.exists():
        source = llama / "convert_hf_to_gguf.py"
    tree = ast.parse(source.read_text())
    function = next(node for node in ast.walk(tree)
                    if isinstance(node, ast.FunctionDef) and node.name == "get_vocab_base_pre")
    check_text, table = None, []
    for node in function.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "chktxt":
            check_text = node.value.value
        if (isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and isinstance(node.test.left, ast.Name)
                and node.test.left.id == "chkhsh"):
            name = next(statement.value.value for statement in node.body
                        if isinstance(statement, ast.Assign) and statement.targets[0].id == "res")
            table.append([node.test.comparators[0].value, name])
    assert check_text == CHECK_TEXT and len(table) > 50, source
    return {"source": str(source.relative_to(llama)), "check_text": check_text, "table": table}


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
    # Only what this generator writes (the tokenizers generator fills the rest of the folder).
    for name in CASES:
        if (out / name).exists():
            shutil.rmtree(out / name)
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
            # A fixed directory name: the converter names the model after its directory.
            model_dir = pathlib.Path(scratch) / name
            model_dir.mkdir()
            model_directory(root, model, directory, model_dir)
            subprocess.run([sys.executable, "-c", CONVERT, str(llama), str(model_dir), "--vocab-only",
                            "--outfile", str(directory / "llama.cpp.gguf"), "--outtype", "f32"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        cases[name] = {"model": f"models/{model}" if model else None}
    write_json(out / "cases.json", cases)
    write_json(out / "pre-hashes.json", pre_tokenizer_hashes(llama))
