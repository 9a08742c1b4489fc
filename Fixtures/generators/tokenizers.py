"""References for WeightTokenizers: llama.cpp's tokenizer on its own vocabulary GGUFs.

Source: the `models/` folder of the llama.cpp tree vendored in the llama-cpp-python 0.3.36 sdist
(`make llama-cpp` fetches and builds it; LLAMA_CPP_DIR points at it): vocabulary-only GGUFs, and
for 15 of them llama.cpp's test vectors (`<name>.gguf.inp`: cases separated by a line
`__ggml_vocab_test__`; `<name>.gguf.out`: Hugging Face's ids for each case, one line each).

Writes tokenizers/llama-vocabs/:
- <name>.gguf: the vocabulary cut to what the texts below can reach (see `cut_vocabulary`), ids
  renumbered; the key `weightkit.test.original_token_ids` maps each new id to its id in the
  original file. `<name>.gguf.inp` / `.out`: the test vectors, copied unchanged.
- <name>.json: llama.cpp (through tools/llama_tokenize_probe.c) on the cut file, every id given as
  the original id: special ids and add flags, the end-of-generation set, token attributes, every
  token's piece, and for each text its ids with and without add_special / parse_special, and the
  detokenized text for several flag combinations. The same requests are answered on the full
  file and must agree exactly, which proves the cut invisible to llama.cpp.

Why a cut vocabulary still proves the tokenizer: every lookup a tokenizer of these kinds makes
is for a piece of the text being encoded (a BPE merge joins two adjacent symbols of a word, an
SPM bigram is two adjacent pieces, WordPiece and Unigram look up substrings of a normalized
word). A token or merge whose text is not a substring of any (normalized) test text can never be
found, so removing it changes nothing, whatever the algorithm. The cut keeps every token and
merge that is such a substring, every non-normal token (special, user-defined, byte, unused), the
first 128 ids unmoved (llama.cpp's default special ids point there), the tokens llama.cpp
recognises by their text (end-of-generation, FIM), and for Unigram the lowest-scoring normal
token (the unknown-token penalty depends on it).
"""
import hashlib
import json
import pathlib
import random
import re
import shutil
import subprocess
import tempfile
import unicodedata

import gguf
import numpy as np

from .common import llama_cpp_dir, write_json

SEPARATOR = "\n__ggml_vocab_test__\n"
ORIGINAL_IDS_KEY = "weightkit.test.original_token_ids"
# llama.cpp's convert script hashes the encoding of this text to name a pre-tokenizer.
CHECK_TEXT = ('\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n🚀 (normal) 😶\u200d🌫️ (multiple emojis concatenated) '
              '✅ 🦙🦙 3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 កាន់តែពិសេសអាច😁 ?我想在apple工作1314151天～ '
              '------======= нещо на Български \'\'\'\'\'\'```````""""......!!!!!!?????? I\'ve been \'told he\'s there, '
              '\'RE you sure? \'M not sure I\'ll make it, \'D you like some tea? We\'Ve a\'lL')
# Vocabularies without test vectors, run on the standard cases.
EXTRA_VOCABULARIES = ["aquila", "baichuan", "gpt-neox", "nomic-bert-moe"]
STANDARD_CASES = "llama-spm"


def read_cases(path: pathlib.Path) -> list[str]:
    """The cases of an .inp file, split exactly as llama.cpp's test-tokenizer-0 splits them."""
    raw = path.read_bytes().decode("utf-8")
    cases, position = [], 0
    while position < len(raw):
        found = raw.find(SEPARATOR, position)
        if found < 0:
            cases.append(raw[position:])
            break
        cases.append(raw[position:found])
        position = found + len(SEPARATOR)
    return cases


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte-to-character table."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = printable[:], 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, chars)))


BYTE_CHARS = bytes_to_unicode()


def llama_flags(llama: pathlib.Path) -> np.ndarray:
    """llama.cpp's category flags per code point, read from its unicode-data.cpp."""
    text = (llama / "src" / "unicode-data.cpp").read_text()
    body = text[text.index("unicode_ranges_flags"):]
    body = body[:body.index("};")]
    ranges = [(int(a, 16), int(b, 16)) for a, b in re.findall(r"\{0x([0-9A-F]+), 0x([0-9A-F]+)\}", body)]
    flags = np.zeros(0x110000, dtype=np.uint16)
    for (start, value), (end, _) in zip(ranges, ranges[1:]):
        flags[start:end] = value
    return flags


PYTHON_CATEGORY_FLAG = {"Cn": 0x01, "Cc": 0x80, "Cf": 0x80, "Co": 0x80, "Cs": 0x80, "Lu": 0x04, "Ll": 0x04, "Lt": 0x04,
                        "Lm": 0x04, "Lo": 0x04, "Mn": 0x10, "Mc": 0x10, "Me": 0x10, "Nd": 0x02, "Nl": 0x02, "No": 0x02,
                        "Pc": 0x20, "Pd": 0x20, "Ps": 0x20, "Pe": 0x20, "Pi": 0x20, "Pf": 0x20, "Po": 0x20, "Sm": 0x40,
                        "Sc": 0x40, "Sk": 0x40, "So": 0x40, "Zs": 0x08, "Zl": 0x08, "Zp": 0x08}
RANDOM_BLOCKS = [(0x20, 0x7E, 30), (0xA0, 0xFF, 3), (0x100, 0x17F, 2), (0x300, 0x36F, 1), (0x391, 0x3C9, 2),
                 (0x410, 0x44F, 3), (0x5D0, 0x5EA, 1), (0x621, 0x64A, 1), (0x900, 0x97F, 2), (0xE01, 0xE5B, 1),
                 (0x3041, 0x30FF, 2), (0x4E00, 0x4FFF, 3), (0xAC00, 0xAD00, 2), (0x2000, 0x206F, 1), (0x2190, 0x22FF, 1),
                 (0xFF01, 0xFF5E, 1), (0x1F300, 0x1F64F, 2)]


def random_texts(llama: pathlib.Path, count: int = 24, seed: int = 20260514) -> list[str]:
    """Random strings of code points whose category llama.cpp's table and Python's unicodedata
    agree on (the tests check Swift's too), with spaces, tabs and newlines mixed in."""
    flags = llama_flags(llama)
    pools = []
    for start, end, weight in RANDOM_BLOCKS:
        pool = [c for c in range(start, end + 1)
                if unicodedata.category(chr(c)) != "Cn" and (flags[c] & 0xFF) == PYTHON_CATEGORY_FLAG[unicodedata.category(chr(c))]
                and not (0xD800 <= c <= 0xDFFF)]
        pools.append((pool, weight))
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        length = rng.randint(1, 48)
        chars = []
        for _ in range(length):
            roll = rng.random()
            if roll < 0.15:
                chars.append(rng.choice(" \t\n  \r\n"))
            else:
                pool = rng.choices([p for p, _ in pools], weights=[w for _, w in pools])[0]
                chars.append(chr(rng.choice(pool)))
        texts.append("".join(chars))
    return texts


def text_literals(llama: pathlib.Path) -> set[str]:
    """Token texts llama.cpp's loader looks for by name (end-of-generation, FIM, ...)."""
    source = (llama / "src" / "llama-vocab.cpp").read_text()
    return set(re.findall(r't\.first == "([^"]*)"', source))


class Vocabulary:
    def __init__(self, path: pathlib.Path):
        self.path = path
        self.reader = gguf.GGUFReader(str(path))
        fields = self.reader.fields
        self.model = fields["tokenizer.ggml.model"].contents()
        self.tokens = fields["tokenizer.ggml.tokens"].contents()
        count = len(self.tokens)
        self.types = list(fields["tokenizer.ggml.token_type"].contents()) if "tokenizer.ggml.token_type" in fields else None
        self.scores = list(fields["tokenizer.ggml.scores"].contents()) if "tokenizer.ggml.scores" in fields else None
        self.merges = list(fields["tokenizer.ggml.merges"].contents()) if "tokenizer.ggml.merges" in fields else None
        assert self.types is None or len(self.types) == count

    def field(self, key):
        return self.reader.fields[key].contents() if key in self.reader.fields else None


def encoded_forms(model: str, text: str) -> list[str]:
    """The strings a tokenizer of this kind searches in for `text` (supersets are harmless)."""
    escaped = text.replace(" ", "\u2581")
    if model == "gpt2":
        return ["".join(BYTE_CHARS[b] for b in text.encode("utf-8"))]
    forms = [text, escaped, "\u2581" + escaped]
    if model == "bert":
        lowered = text.lower()
        stripped = "".join(c for c in unicodedata.normalize("NFD", lowered) if unicodedata.category(c) != "Mn")
        first = "".join(unicodedata.normalize("NFD", c)[0] for c in lowered)
        forms += [lowered, stripped, first]
    if model == "t5":
        for form in ("NFKC", "NFKD", "NFC"):
            normal = unicodedata.normalize(form, text)
            forms += [normal, normal.replace(" ", "\u2581"), "\u2581" + re.sub(" +", " ", normal.strip()).replace(" ", "\u2581")]
    return forms


def cut_vocabulary(vocab: Vocabulary, texts: list[str], literals: set[str]) -> list[int]:
    """The original ids to keep, in the order they get their new ids."""
    longest = max(len(t) for t in vocab.tokens)
    pieces = set()
    for text in texts:
        for form in encoded_forms(vocab.model, text):
            for start in range(len(form)):
                for end in range(start + 1, min(len(form), start + longest) + 1):
                    pieces.add(form[start:end])
    keep = set(range(min(128, len(vocab.tokens))))
    for index, token in enumerate(vocab.tokens):
        kind = vocab.types[index] if vocab.types is not None else 1
        if kind != 1 or token in pieces or token in literals or (token.startswith("\u2581") and token[1:] in pieces):
            keep.add(index)
    for key in ("bos", "eos", "eot", "eom", "unknown", "seperator", "padding", "mask", "cls"):
        value = vocab.field(f"tokenizer.ggml.{key}_token_id")
        if value is not None and value < len(vocab.tokens):
            keep.add(int(value))
    if vocab.model == "t5" and vocab.scores is not None:
        normal = [i for i in range(len(vocab.tokens)) if vocab.types is None or vocab.types[i] == 1]
        keep.add(min(normal, key=lambda i: vocab.scores[i]))
    first = list(range(min(128, len(vocab.tokens))))
    return first + sorted(keep - set(first))


def write_cut(vocab: Vocabulary, keep: list[int], out: pathlib.Path) -> None:
    new_id = {old: new for new, old in enumerate(keep)}
    kept_texts = {vocab.tokens[i] for i in keep}
    reader = vocab.reader
    architecture = vocab.field("general.architecture")
    writer = gguf.GGUFWriter(str(out), architecture, endianess=gguf.GGUFEndian.LITTLE)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        value = field.contents()
        if key == "tokenizer.ggml.tokens":
            value = [vocab.tokens[i] for i in keep]
        elif key == "tokenizer.ggml.token_type":
            value = [int(vocab.types[i]) for i in keep]
        elif key == "tokenizer.ggml.scores":
            value = [float(vocab.scores[i]) for i in keep]
        elif key == "tokenizer.ggml.merges":
            value = [m for m in vocab.merges if (sep := m.find(" ", 1)) > 0
                     and m[:sep] in kept_texts and m[sep + 1:] in kept_texts and m[:sep] + m[sep + 1:] in kept_texts]
        elif key.startswith("tokenizer.ggml.") and key.endswith("_token_id"):
            if value >= len(vocab.tokens):
                continue
            value = new_id[int(value)]
        elif key.startswith("tokenizer.chat_template"):
            continue
        types = field.types
        if types[0] == gguf.GGUFValueType.ARRAY:
            writer.add_key_value(key, value, types[0], sub_type=types[-1])
        else:
            writer.add_key_value(key, value, types[0])
    writer.add_key_value(ORIGINAL_IDS_KEY, list(keep), gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.INT32)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()


class Probe:
    """tools/llama_tokenize_probe.c, compiled against the built libllama."""

    def __init__(self, root: pathlib.Path, cache: pathlib.Path):
        llama = llama_cpp_dir()
        lib = llama / "build" / "bin"
        self.binary = cache / "llama_tokenize_probe"
        subprocess.run(["cc", "-O1", "-o", str(self.binary), str(root / "tools" / "llama_tokenize_probe.c"),
                        f"-I{llama / 'include'}", f"-I{llama / 'ggml' / 'include'}", f"-L{lib}", "-lllama",
                        "-lggml-base", f"-Wl,-rpath,{lib.resolve()}"], check=True)

    def run(self, vocab_path: pathlib.Path, requests: list[str]) -> dict:
        result = subprocess.run([str(self.binary), str(vocab_path)], input="".join(r + "\n" for r in requests),
                                capture_output=True, text=True, check=True)
        lines = result.stdout.splitlines()
        info = [int(x) for x in lines[0].split()[1:]]
        eog = [int(x) for x in lines[1].split()[1:]]
        attributes, answers = {}, []
        for line in lines[2:]:
            if line.startswith("A "):
                _, token, attr = line.split()
                attributes[int(token)] = int(attr)
            else:
                answers.append(line)
        assert len(answers) == len(requests), (vocab_path, len(answers), len(requests))
        return {"info": info, "eog": eog, "attributes": attributes, "answers": answers}


INFO_FIELDS = ["n_tokens", "type", "bos", "eos", "eot", "sep", "nl", "pad", "mask", "add_bos", "add_eos", "add_sep",
               "fim_pre", "fim_suf", "fim_mid", "fim_pad", "fim_rep", "fim_sep"]
ID_FIELDS = {"bos", "eos", "eot", "sep", "nl", "pad", "mask", "fim_pre", "fim_suf", "fim_mid", "fim_pad", "fim_rep", "fim_sep"}


def special_texts(vocab: Vocabulary) -> list[str]:
    """Texts around the vocabulary's special and user-defined tokens (lstrip/rstrip, adjacency)."""
    if vocab.types is None:
        return []
    special = [t for i, t in enumerate(vocab.tokens) if vocab.types[i] in (3, 4) and t.strip()][:6]
    texts = []
    for index, token in enumerate(special):
        other = special[(index + 1) % len(special)]
        texts.append(f"Hello{token} world {token}\n{other}x  {token}  end")
        texts.append(f"{token}{other} {token}")
    return texts


def requests_for(texts: list[str], specials: list[str]) -> list[tuple[str, str, int]]:
    """(kind, text, flags): every text without and with add_special+parse_special, special texts
    in all four combinations."""
    out = []
    for text in texts:
        for flags in (0, 3):
            out.append(("T", text, flags))
    for text in specials:
        for flags in (1, 2):
            out.append(("T", text, flags))
    return out


def generate_llama_vocabularies(root: pathlib.Path) -> None:
    llama = llama_cpp_dir()
    if llama is None:
        raise SystemExit("llama.cpp is not built: run `make llama-cpp`")
    models = llama / "models"
    out = root / "tokenizers" / "llama-vocabs"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    cache = root / ".cache" / "tokenizers"
    cache.mkdir(parents=True, exist_ok=True)
    probe = Probe(root, cache)
    literals = text_literals(llama)
    randoms = random_texts(llama)
    names = sorted(p.name[len("ggml-vocab-"):-len(".gguf.inp")] for p in models.glob("ggml-vocab-*.gguf.inp"))
    summary = {"random_texts": randoms, "check_text": CHECK_TEXT, "vocabularies": []}
    for name in names + EXTRA_VOCABULARIES:
        source = models / f"ggml-vocab-{name}.gguf"
        inp = models / f"ggml-vocab-{name}.gguf.inp"
        has_vectors = inp.exists()
        cases = read_cases(inp if has_vectors else models / f"ggml-vocab-{STANDARD_CASES}.gguf.inp")
        vocab = Vocabulary(source)
        specials = special_texts(vocab)
        texts = cases + randoms + [CHECK_TEXT]
        keep = cut_vocabulary(vocab, texts + specials, literals)
        cut_path = out / f"{name}.gguf"
        write_cut(vocab, keep, cut_path)
        if has_vectors:
            shutil.copy(inp, out / f"{name}.gguf.inp")
            shutil.copy(models / f"ggml-vocab-{name}.gguf.out", out / f"{name}.gguf.out")

        requests = requests_for(texts, specials)
        lines = [f"T {flags} {text.encode('utf-8').hex()}" for _, text, flags in requests]
        full = probe.run(source, lines)
        token_ids = [[int(x) for x in answer.split()[1:]] for answer in full["answers"]]
        # Decode what add_special + parse_special produced: plain and with special tokens
        # rendered, and for the special-token texts also with remove_special.
        decodes = []
        for index, ((_, text, flags), ids) in enumerate(zip(requests, token_ids)):
            if flags in (3, 1) and ids:
                for decode_flags in ((0, 1, 2, 3) if flags == 1 else (0, 2)):
                    decodes.append((index, ids, decode_flags))
        decode_lines = [f"D {flags} " + " ".join(map(str, ids)) for _, ids, flags in decodes]
        piece_lines = [f"P {i}" for i in keep]
        full = probe.run(source, lines + decode_lines + piece_lines)
        cut = probe.run(cut_path, [translate_request(line, keep) for line in lines + decode_lines + piece_lines])
        check_agreement(name, full, cut, keep)

        answers = full["answers"]
        record = {
            "vocabulary": f"{name}.gguf",
            "source_sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
            "original_tokens": len(vocab.tokens),
            "kept_tokens": len(keep),
            "test_vectors": has_vectors,
            "cases": len(cases),
            "info": dict(zip(INFO_FIELDS, full["info"])),
            # The same on the cut file, ids mapped back; eot and fim_* may differ when several
            # tokens carry llama.cpp's texts for them (it takes the first in hash-map order).
            "info_cut": {f: (keep[v] if f in ID_FIELDS and v >= 0 else v) for f, v in zip(INFO_FIELDS, cut["info"])},
            "eog": full["eog"],
            "attributes": {str(k): v for k, v in sorted(full["attributes"].items()) if k in set(keep)},
            "texts": texts + specials,
            # [text index, add_special, parse_special, ids]
            "encode": [[(texts + specials).index(text), bool(flags & 1), bool(flags & 2),
                        [int(x) for x in answer.split()[1:]]]
                       for (_, text, flags), answer in zip(requests, answers[:len(lines)])],
            # [encode index whose ids are decoded, remove_special, unparse_special, text as hex]
            "decode": [[index, bool(flags & 1), bool(flags & 2), answer[2:]]
                       for (index, _, flags), answer in zip(decodes, answers[len(lines):len(lines) + len(decodes)])],
            "pieces_hex": {str(i): answer[2:] for i, answer in zip(keep, answers[len(lines) + len(decodes):])},
        }
        write_compact(out / f"{name}.json", record)
        summary["vocabularies"].append({"name": name, "model": vocab.model, "pre": vocab.field("tokenizer.ggml.pre"),
                                        "tokens": len(vocab.tokens), "kept": len(keep),
                                        "bytes": cut_path.stat().st_size, "test_vectors": has_vectors})
        print(f"  {name}: {vocab.model} {len(vocab.tokens)} -> {len(keep)} tokens, {cut_path.stat().st_size} bytes", flush=True)
    write_compact(out / "summary.json", summary)


def translate_request(line: str, keep: list[int]) -> str:
    """A request for the full file, with ids given in the cut file's numbering."""
    new_id = {old: new for new, old in enumerate(keep)}
    kind, rest = line[0], line[2:]
    if kind == "D":
        flags, *ids = rest.split()
        return "D " + flags + "".join(f" {new_id[int(i)]}" for i in ids)
    if kind == "P":
        return f"P {new_id[int(rest)]}"
    return line


def check_agreement(name: str, full: dict, cut: dict, keep: list[int]) -> None:
    """llama.cpp must answer every request identically on the cut file, ids mapped back."""
    def back(i: int) -> int:
        return keep[i] if i >= 0 else i
    for field, a, b in zip(INFO_FIELDS, full["info"], cut["info"]):
        if field in ("n_tokens", "eot", "fim_pre", "fim_suf", "fim_mid", "fim_pad", "fim_rep", "fim_sep"):
            continue  # llama.cpp picks these by text in hash-map order: recorded per file below
        if field in ID_FIELDS:
            b = back(b)
        if a != b:
            raise SystemExit(f"{name}: {field} differs on the cut vocabulary: {a} vs {b}")
    if sorted(full["eog"]) != sorted(back(i) for i in cut["eog"]):
        raise SystemExit(f"{name}: end-of-generation sets differ")
    kept = set(keep)
    full_attributes = {k: v for k, v in full["attributes"].items() if k in kept}
    cut_attributes = {back(k): v for k, v in cut["attributes"].items()}
    if full_attributes != cut_attributes:
        raise SystemExit(f"{name}: token attributes differ")
    for a, b in zip(full["answers"], cut["answers"]):
        if a[0] == "T":
            b = "T" + "".join(f" {back(int(x))}" for x in b.split()[1:])
        if a != b:
            raise SystemExit(f"{name}: llama.cpp answers differently on the cut vocabulary:\n  {a[:200]}\n  {b[:200]}")


def write_compact(path: pathlib.Path, value) -> None:
    """JSON with one entry of each top-level list per line: small, and diffs stay readable."""
    parts = ["{"]
    items = list(value.items())
    for index, (key, item) in enumerate(items):
        comma = "," if index + 1 < len(items) else ""
        if isinstance(item, list) and item and isinstance(item[0], (dict, list)):
            parts.append(f" {json.dumps(key)}: [")
            for position, element in enumerate(item):
                tail = "," if position + 1 < len(item) else ""
                parts.append("  " + json.dumps(element, ensure_ascii=False, separators=(",", ":")) + tail)
            parts.append(" ]" + comma)
        else:
            parts.append(f" {json.dumps(key)}: " + json.dumps(item, ensure_ascii=False, separators=(",", ":")) + comma)
    parts.append("}")
    path.write_text("\n".join(parts) + "\n")


def generate_decompositions(root: pathlib.Path) -> None:
    """Sources/WeightTokenizers/Unicode/Decompositions.swift: Unicode's decomposition mappings
    (UnicodeData.txt field 5, one level, as Python's unicodedata has them), which the Swift
    standard library does not expose. Hangul syllables decompose by formula and are not listed."""
    entries = []
    for value in range(0x110000):
        mapping = unicodedata.decomposition(chr(value))
        if not mapping:
            continue
        parts = mapping.split()
        compatibility = parts[0].startswith("<")
        if compatibility:
            parts = parts[1:]
        entries.append(("k" if compatibility else "c") + f"{value:X}:" + ",".join(parts))
    lines = []
    line = ""
    for entry in entries:
        if len(line) + len(entry) > 110:
            lines.append(line)
            line = ""
        line += entry + ";"
    lines.append(line)
    body = "\n".join(lines)
    source = f'''// Generated by Fixtures/generators/tokenizers.py from Python's unicodedata
// (Unicode {unicodedata.unidata_version}); do not edit.

/// Decomposition mappings: `c` canonical, `k` compatibility; `<code point>:<mapping>;`, hexadecimal.
enum DecompositionData {{
    static let unicodeVersion = "{unicodedata.unidata_version}"
    static let entries = """
{body}
"""
}}
'''
    path = root.parent / "Sources" / "WeightTokenizers" / "Unicode" / "Decompositions.swift"
    path.write_text(source)
    print(f"  {path.name}: {len(entries)} mappings", flush=True)



# MARK: tokenizer.json (transformers' conversion of the cut vocabularies) and tokenizer.model

# One per kind of tokenizer.json transformers writes (the others repeat these shapes).
HF_VOCABULARIES = ["command-r", "deepseek-coder", "gemma-4", "gpt-2", "llama-bpe", "llama-spm", "mpt", "phi-3", "qwen2",
                   "baichuan", "nomic-bert-moe"]


def hf_requests(texts: list[str], specials: list[str]) -> list[tuple[int, bool, bool]]:
    """(text index, add_special, parse_special)."""
    out = []
    for index in range(len(texts)):
        out += [(index, False, False), (index, True, True)]
    for index in range(len(texts), len(texts) + len(specials)):
        out += [(index, False, True), (index, True, False)]
    return out


def record_hf(directory: pathlib.Path, texts: list[str], specials: list[str], source: str) -> dict:
    """transformers' AutoTokenizer (and the tokenizers library on tokenizer.json alone) on every
    text; `parse_special` false is transformers' split_special_tokens / tokenizers'
    encode_special_tokens."""
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer
    parsing = AutoTokenizer.from_pretrained(str(directory))
    splitting = AutoTokenizer.from_pretrained(str(directory), split_special_tokens=True)
    library = Tokenizer.from_file(str(directory / "tokenizer.json"))
    all_texts = texts + specials
    encode, decode, disagreements = [], [], 0
    for index, add, parse in hf_requests(texts, specials):
        tokenizer = parsing if parse else splitting
        ids = tokenizer.encode(all_texts[index], add_special_tokens=add)
        library.encode_special_tokens = not parse
        if library.encode(all_texts[index], add_special_tokens=add).ids != ids:
            disagreements += 1
        encode.append([index, add, parse, ids])
        if add and parse and ids:
            for skip in (False, True):
                decode.append([len(encode) - 1, skip, parsing.decode(ids, skip_special_tokens=skip)])
    return {"source": source, "transformers_class": type(parsing).__name__, "texts": all_texts,
            "vocabulary_size": len(parsing), "largest_id": max(parsing.get_vocab().values()), "special_ids": {name: getattr(parsing, f"{name}_token_id") for name in
                                                             ("bos", "eos", "unk", "pad", "sep", "cls", "mask")},
            # [text index, add_special, parse_special, ids] (transformers' AutoTokenizer)
            "encode": encode,
            # [encode index whose ids are decoded, skip_special_tokens, text]
            "decode": decode,
            "tokenizers_library_disagreements": disagreements}


def generate_hf_from_gguf(root: pathlib.Path) -> None:
    from transformers import TokenizersBackend
    from transformers.integrations.gguf import convert_gguf_tokenizer, get_gguf_tokenizer
    vocabs = root / "tokenizers" / "llama-vocabs"
    out = root / "tokenizers" / "hf-from-gguf"
    if out.exists():
        shutil.rmtree(out)
    for name in HF_VOCABULARIES:
        llama_record = json.loads((vocabs / f"{name}.json").read_text())
        cases = llama_record["texts"]
        directory = out / name
        directory.mkdir(parents=True)
        architecture, tokenizer_dict, tokenizer_config = get_gguf_tokenizer(str(vocabs / f"{name}.gguf"))
        backend, _ = convert_gguf_tokenizer(architecture, tokenizer_dict)
        tokenizer = TokenizersBackend(tokenizer_object=backend, **tokenizer_config)
        with tempfile.TemporaryDirectory() as scratch:
            tokenizer.save_pretrained(scratch)
            for file in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
                if (pathlib.Path(scratch) / file).exists():
                    shutil.copy(pathlib.Path(scratch) / file, directory / file)
        added = [t["content"] for t in json.loads((directory / "tokenizer.json").read_text())["added_tokens"]]
        specials = []
        for index, token in enumerate(added[:6]):
            other = added[(index + 1) % len(added)]
            specials += [f"Hello{token} world {token}\n{other}x  {token}  end", f"{token}{other} {token}"]
        texts = [t for t in cases if t not in specials]
        record = record_hf(directory, texts, specials, f"transformers' GGUF conversion of llama-vocabs/{name}.gguf")
        write_compact(directory / "reference.json", record)
        print(f"  hf-from-gguf/{name}: {record['transformers_class']}, "
              f"{record['tokenizers_library_disagreements']} disagreements with the tokenizers library", flush=True)


def spm_corpus(randoms: list[str], cases: list[str]) -> list[str]:
    rng = random.Random(7)
    syllables = ["ka", "to", "ri", "men", "sa", "lo", "vi", "der", "an", "es", "qu", "ing", "tion", "ви", "на", "ть",
                 "мир", "ge", "ße", "über", "ün", "的", "是", "我", "在", "工作", "12", "7", "ö", "é"]
    words = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(600)]
    lines = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 14))) for _ in range(800)]
    return lines + cases * 3 + randoms


SPM_MODELS = {
    # name: trainer options
    "spm-bpe": dict(model_type="bpe", vocab_size=700, byte_fallback=True, user_defined_symbols=["<tool>", "[[x]]", "the"],
                    control_symbols=["<ctrl>"]),
    "spm-unigram": dict(model_type="unigram", vocab_size=500, user_defined_symbols=["<tool>", "the"], control_symbols=["<ctrl>"],
                        split_digits=True),
    "spm-unigram-bytes": dict(model_type="unigram", vocab_size=1000, byte_fallback=True, remove_extra_whitespaces=False,
                              add_dummy_prefix=False),
}


def generate_sentencepiece(root: pathlib.Path, randoms: list[str], cases: list[str]) -> None:
    import sentencepiece as spm
    out = root / "tokenizers" / "sentencepiece"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    corpus = spm_corpus(randoms, cases)
    for name, options in SPM_MODELS.items():
        prefix = out / name
        spm.SentencePieceTrainer.train(sentence_iterator=iter(corpus), model_prefix=str(prefix), hard_vocab_limit=False,
                                       character_coverage=0.9995, minloglevel=2, num_threads=1, seed_sentencepiece_size=100000,
                                       **options)
        (out / f"{name}.vocab").unlink()
        processor = spm.SentencePieceProcessor(model_file=str(prefix) + ".model")
        # Texts the trainer did not see: characters outside its vocabulary (unknown pieces).
        unseen = ["ሰላም ዓለም ⴰⵣⵓⵍ ქართული 𝔘𝔫𝔦 the theme other", "ᚠᚢᚦᚨᚱᚲ ꦗꦮ ꦄ x", "  leading and   inner   spaces  "]
        texts = cases + randoms + unseen + [CHECK_TEXT, "<tool> x<tool>y [[x]] <ctrl> <s> </s> <unk> the thethe"]
        encode = []
        for index, text in enumerate(texts):
            encode.append([index, processor.encode(text)])
        decode = [[index, processor.decode(ids)] for index, ids in encode if ids]
        pieces = [[processor.id_to_piece(i), processor.get_score(i), int(processor.is_control(i)), int(processor.is_unknown(i)),
                   int(processor.is_unused(i)), int(processor.is_byte(i))] for i in range(processor.get_piece_size())]
        record = {"source": f"sentencepiece {spm.__version__} trainer, {options}", "texts": texts,
                  "special_ids": {"bos": processor.bos_id(), "eos": processor.eos_id(), "unk": processor.unk_id(),
                                  "pad": processor.pad_id()},
                  "pieces": pieces, "encode": encode, "decode": decode}
        write_compact(out / f"{name}.json", record)
        print(f"  sentencepiece/{name}: {processor.get_piece_size()} pieces", flush=True)



# MARK: bad files, one defect each

def write_vocabulary(path: pathlib.Path, fields: dict[str, tuple]) -> None:
    """A vocabulary GGUF with exactly these tokenizer fields: key -> (value, type[, sub_type])."""
    writer = gguf.GGUFWriter(str(path), "gpt2", endianess=gguf.GGUFEndian.LITTLE)
    for key, spec in fields.items():
        if len(spec) == 3:
            writer.add_key_value(key, spec[0], spec[1], sub_type=spec[2])
        else:
            writer.add_key_value(key, spec[0], spec[1])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()


def generate_bad_files(root: pathlib.Path) -> None:
    out = root / "tokenizers" / "bad"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    A, S, I, F, B = gguf.GGUFValueType.ARRAY, gguf.GGUFValueType.STRING, gguf.GGUFValueType.INT32, gguf.GGUFValueType.FLOAT32, gguf.GGUFValueType.UINT8
    tokens = ["a", "b", "c", "ab", "abc", "Ġ", "Ġa"]
    base = {
        "tokenizer.ggml.model": ("gpt2", S),
        "tokenizer.ggml.pre": ("gpt-2", S),
        "tokenizer.ggml.tokens": (tokens, A, S),
        "tokenizer.ggml.token_type": ([1] * len(tokens), A, I),
        "tokenizer.ggml.merges": (["a b", "ab c", "Ġ a"], A, S),
    }
    def variant(**changes):
        fields = dict(base)
        for key, value in changes.items():
            key = "tokenizer.ggml." + key
            if value is None:
                fields.pop(key)
            else:
                fields[key] = value
        return fields
    cases = {
        # name: (fields, the TokenizerError case the loader must throw)
        "valid": (variant(), None),
        "scores-length": (variant(scores=([0.0] * (len(tokens) - 1), A, F)), "lengthMismatch"),
        "token-type-length": (variant(token_type=([1] * (len(tokens) + 2), A, I)), "lengthMismatch"),
        "merge-unknown-token": (variant(merges=(["a b", "ab x"], A, S)), "invalidMerge"),
        "merge-without-space": (variant(merges=(["ab"], A, S)), "invalidMerge"),
        "merge-result-unknown": (variant(merges=(["b c"], A, S)), "invalidMerge"),
        "unknown-model": (variant(model=("wordlevel", S)), "unsupportedModel"),
        "unknown-pre": (variant(pre=("no-such-pre", S)), "unknownPreTokenizer"),
        "missing-tokens": (variant(tokens=None), "missingField"),
        "missing-merges": (variant(merges=None), "missingField"),
        "missing-model": (variant(model=None), "missingField"),
        "tokens-not-strings": (variant(tokens=([1, 2, 3], A, I)), "wrongFieldType"),
        "token-type-out-of-range": (variant(token_type=([1, 1, 9, 1, 1, 1, 1], A, I)), "invalidTokenType"),
        "bad-charsmap": (variant(model=("t5", S), merges=None, precompiled_charsmap=([9, 0, 0, 0, 1], A, B)), "invalidCharsMap"),
    }
    expected = {}
    for name, (fields, error) in cases.items():
        write_vocabulary(out / f"{name}.gguf", fields)
        expected[f"{name}.gguf"] = error
    # tokenizer.json defects.
    good = {"version": "1.0", "added_tokens": [], "normalizer": None, "pre_tokenizer": None, "post_processor": None,
            "decoder": None, "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b"]]}}
    json_cases = {
        "json-unknown-model": ({**good, "model": {"type": "Magic", "vocab": {}}}, "unsupportedModel"),
        "json-merge-unknown-token": ({**good, "model": {**good["model"], "merges": [["a", "zz"]]}}, "invalidMerge"),
        "json-unknown-pre-tokenizer": ({**good, "pre_tokenizer": {"type": "Telepathy"}}, "unsupportedComponent"),
        "json-bad-regex": ({**good, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(a"}, "behavior": "Isolated",
                                                      "invert": False}}, "invalidPattern"),
    }
    for name, (document, error) in json_cases.items():
        directory = out / name
        directory.mkdir()
        (directory / "tokenizer.json").write_text(json.dumps(document))
        expected[f"{name}/tokenizer.json"] = error
    (out / "json-not-json").mkdir()
    (out / "json-not-json" / "tokenizer.json").write_text('{"model": ')
    expected["json-not-json/tokenizer.json"] = "format"
    # tokenizer.model defects: a real model cut short, and one with a bad piece type.
    model = (root / "tokenizers" / "sentencepiece" / "spm-unigram.model").read_bytes()
    (out / "truncated.model").write_bytes(model[: len(model) // 3])
    expected["truncated.model"] = "invalidProtobuf"
    (out / "garbage.model").write_bytes(bytes([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]))
    expected["garbage.model"] = "invalidProtobuf"
    write_json(out / "expected.json", expected)
    print(f"  bad: {len(expected)} files", flush=True)


def generate(root: pathlib.Path) -> None:
    generate_decompositions(root)
    generate_llama_vocabularies(root)
    generate_hf_from_gguf(root)
    generate_bad_files(root)
    llama = llama_cpp_dir()
    generate_sentencepiece(root, random_texts(llama), read_cases(llama / "models" / f"ggml-vocab-{STANDARD_CASES}.gguf.inp"))