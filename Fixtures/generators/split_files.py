"""References for split, merge, metadata edits and zstd, made by llama.cpp's and gguf-py's tools.

Writes conversion/split/:
- source.gguf.zst: a gguf-py GGUF of about 2.4 MB (mostly zero tensors, so it compresses to a
  few KB) compressed by the `zstd` CLI; one tensor is larger than 1 MB;
- llama-split.json: `llama-gguf-split --split --split-max-size 1M` of that file: each part's
  file name, size, data offset, metadata (key, type, value) and tensors (name, type, shape,
  relative offset), read back with gguf-py;
- llama-split-0000N-of-0000M.gguf: `llama-gguf-split --split --split-max-tensors 4` of
  models/qwen3moe-tiny-gguf/qwen3moe-tiny-f16.gguf (about 90 KB), the split set that
  `weightkit merge` must merge back into that file's tensors and metadata;
- llama-merge.json: the metadata keys of `llama-gguf-split --merge` of those parts.

Writes conversion/zstd/qwen3moe-tiny-q8_0.gguf.zst: that model compressed by the `zstd` CLI.

Writes conversion/meta/ (gguf-py's own editing scripts on models/qwen3moe-tiny-gguf/qwen3moe-tiny-q8_0.gguf):
- new-metadata.gguf: `gguf_new_metadata` with --general-name (a longer string),
  --general-description (a new key) and --remove-metadata general.file_type: a rewrite;
- set-metadata.gguf: `gguf_set_metadata` of qwen3moe.context_length to 4096: an in-place edit;
- meta.json: the edits, as WeightKit's `meta` spells them.
"""
import pathlib
import shutil
import subprocess
import tempfile

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

from .common import llama_cpp_dir, write_json


def value_of(field):
    """A field's type name and value as gguf-py reads it (arrays: element type and elements)."""
    types = field.types
    if types[0] == gguf.GGUFValueType.ARRAY:
        if types[-1] == gguf.GGUFValueType.STRING:
            values = [bytes(field.parts[i]).decode("utf-8") for i in field.data]
        else:
            values = [field.parts[i].tolist()[0] for i in field.data]
        return "ARRAY", {"element_type": types[-1].name, "values": values}
    if types[0] == gguf.GGUFValueType.STRING:
        return "STRING", bytes(field.parts[field.data[0]]).decode("utf-8")
    value = field.parts[field.data[0]].tolist()[0]
    if types[0] in (gguf.GGUFValueType.FLOAT32, gguf.GGUFValueType.FLOAT64):
        return types[0].name, float(value)
    if types[0] == gguf.GGUFValueType.BOOL:
        return "BOOL", bool(value)
    return types[0].name, int(value)


def reading(path: pathlib.Path) -> dict:
    reader = gguf.GGUFReader(str(path))
    metadata = []
    for field in reader.fields.values():
        if field.name.startswith("GGUF."):
            continue
        type_name, value = value_of(field)
        metadata.append({"key": field.name, "type": type_name, "value": value})
    return {
        "name": path.name,
        "size": path.stat().st_size,
        "data_offset": reader.data_offset,
        "metadata": metadata,
        "tensors": [{"name": t.name, "type": t.tensor_type.name, "shape": [int(d) for d in reversed(t.shape.tolist())],
                     "offset": int(t.data_offset) - reader.data_offset} for t in reader.tensors],
    }


def write_source(path: pathlib.Path, rng) -> None:
    w = gguf.GGUFWriter(str(path), arch="llama")
    w.add_name("Split Source")
    w.add_block_count(2)
    w.add_context_length(128)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_array("tokenizer.ggml.tokens", ["<s>", "</s>", "a", "b"])
    w.add_tensor("token_embd.weight", rng.standard_normal((256, 64)).astype(np.float16))
    w.add_tensor("blk.0.attn_norm.weight", rng.standard_normal(64).astype(np.float32))
    w.add_tensor("blk.0.ffn_up.weight", np.zeros((180, 1024), dtype=np.float32))
    w.add_tensor("blk.0.ffn_down.weight", np.zeros((300, 1024), dtype=np.float32))   # > 1 MB: a part of its own
    w.add_tensor("blk.1.ffn_up.weight", np.zeros((200, 1024), dtype=np.float16))
    q = gguf.quants.quantize(rng.standard_normal((64, 64)).astype(np.float32), T.Q8_0)
    w.add_tensor("blk.1.attn_q.weight", q, raw_dtype=T.Q8_0)
    w.add_tensor("output_norm.weight", rng.standard_normal(64).astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


META_SOURCE = "models/qwen3moe-tiny-gguf/qwen3moe-tiny-q8_0.gguf"


def meta_edits(root: pathlib.Path) -> None:
    import sys
    out = root / "conversion" / "meta"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    source = root / META_SOURCE
    name = "Qwen3moe Tiny, renamed with a longer name"
    subprocess.run([sys.executable, "-m", "gguf.scripts.gguf_new_metadata", str(source), str(out / "new-metadata.gguf"),
                    "--general-name", name, "--general-description", "edited by gguf_new_metadata",
                    "--remove-metadata", "general.file_type", "--force"], check=True, capture_output=True)
    shutil.copy(source, out / "set-metadata.gguf")
    subprocess.run([sys.executable, "-m", "gguf.scripts.gguf_set_metadata", str(out / "set-metadata.gguf"),
                    "qwen3moe.context_length", "4096", "--force"], check=True, capture_output=True)
    write_json(out / "meta.json", {
        "source": META_SOURCE,
        "new-metadata.gguf": {"set": [f"general.name={name}", "general.description:STRING=edited by gguf_new_metadata"],
                              "delete": ["general.file_type"]},
        "set-metadata.gguf": {"set": ["qwen3moe.context_length=4096"], "delete": []},
    })
    for edited in ("new-metadata.gguf", "set-metadata.gguf"):
        reader = gguf.GGUFReader(str(out / edited))
        original = gguf.GGUFReader(str(source))
        assert [t.name for t in reader.tensors] == [t.name for t in original.tensors]


def zstd_inputs(root: pathlib.Path) -> None:
    """Files compressed by the `zstd` CLI: the split source, and a model WeightKit must read
    as the file it was made from."""
    out = root / "conversion" / "split"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    work = pathlib.Path(tempfile.mkdtemp())
    write_source(work / "source.gguf", np.random.default_rng(20261201))
    subprocess.run(["zstd", "-q", "-19", str(work / "source.gguf"), "-o", str(out / "source.gguf.zst")], check=True)
    shutil.rmtree(work)
    zst = root / "conversion" / "zstd"
    zst.mkdir(parents=True, exist_ok=True)
    subprocess.run(["zstd", "-q", "-f", "-3", str(root / META_SOURCE), "-o", str(zst / "qwen3moe-tiny-q8_0.gguf.zst")], check=True)


def generate(root: pathlib.Path) -> None:
    meta_edits(root)
    zstd_inputs(root)
    llama = llama_cpp_dir()
    tool = llama / "build" / "bin" / "llama-gguf-split" if llama else None
    if tool is None or not tool.exists():
        raise SystemExit("split_files needs llama.cpp's llama-gguf-split (make llama-cpp)")
    out = root / "conversion" / "split"
    work = pathlib.Path(tempfile.mkdtemp())

    source = work / "source.gguf"
    subprocess.run(["zstd", "-q", "-d", str(out / "source.gguf.zst"), "-o", str(source)], check=True)
    subprocess.run([str(tool), "--split", "--split-max-size", "1M", str(source), str(work / "split")],
                   check=True, capture_output=True)
    parts = sorted(work.glob("split-*-of-*.gguf"))
    assert len(parts) == 3, parts
    write_json(out / "llama-split.json", {"tool": "llama-gguf-split --split --split-max-size 1M",
                                          "source": reading(source), "parts": [reading(p) for p in parts]})

    tiny = root / "models" / "qwen3moe-tiny-gguf" / "qwen3moe-tiny-f16.gguf"
    subprocess.run([str(tool), "--split", "--split-max-tensors", "4", str(tiny), str(out / "llama-split")],
                   check=True, capture_output=True)
    parts = sorted(out.glob("llama-split-*-of-*.gguf"))
    merged = work / "merged.gguf"
    subprocess.run([str(tool), "--merge", str(parts[0]), str(merged)], check=True, capture_output=True)
    write_json(out / "llama-merge.json", {"tool": "llama-gguf-split --merge", "source": tiny.name,
                                          "parts": [p.name for p in parts], "merged": reading(merged)})
    shutil.rmtree(work)
