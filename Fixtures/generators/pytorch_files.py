"""PyTorch checkpoints written by torch.save, with what torch.load(weights_only=True) reads back.

Each `<name>.pth` has next to it `<name>.expected.safetensors` (every tensor made contiguous and
saved by the safetensors package) and `<name>.expected.json` (tensor order, dtypes, shapes, where
the state dict sits). Defective files record nothing: the tests expect their error cases.

* `state_dict.pth`: every dtype a state dict usually holds, a transposed (strided) tensor, a
  slice with a storage offset, two tensors sharing one storage, a 0-d tensor, an empty tensor,
  an expanded tensor (stride 0) and an nn.Parameter.
* `nested.pth`: `{"epoch": 3, "model": state_dict, "optimizer": {...}}`.
* `zip64.pth`: `state_dict.pth` rewritten by Python's zipfile with ZIP64 records.
* `malicious.pth`: a tensor next to an object whose `__reduce__` calls `os.system`.
* `legacy.pth`: the pre-1.6 format (`_use_new_zipfile_serialization=False`).
* `compressed.pth`: `state_dict.pth` with its entries deflated.
* `expanded.pth`: `{"zeros": torch.zeros(1).expand(100000, 100000), "small": torch.ones(2)}`:
  a view of one stored float that is 40 GB row-major (a few hundred bytes on disk).
* `hf-bin/`: a Hugging Face directory with `pytorch_model-0000N-of-00002.bin` shards and their
  `pytorch_model.bin.index.json`.
* `mtp-4heads-pth/`: the `mtp/mtp-4heads` model saved as Meta does, `consolidated.00.pth` next
  to `params.json`; its reference outputs are those of `mtp/mtp-4heads`.
"""
import json
import os
import pathlib
import shutil
import zipfile

import torch
from safetensors.torch import load_file, save_file

from .common import write_json


class CallsSystem:
    """An object that, unpickled by an unsafe loader, would run a shell command."""

    def __reduce__(self):
        return (os.system, ("echo this must never run",))


def state_dict() -> dict:
    torch.manual_seed(5)
    base = torch.randn(6, 10)
    shared = torch.arange(24, dtype=torch.float32)
    return {
        "embed.weight": torch.randn(16, 8),
        "half.weight": torch.randn(4, 6).to(torch.float16),
        "brain.weight": torch.randn(3, 5).to(torch.bfloat16),
        "double.weight": torch.randn(2, 3, dtype=torch.float64),
        "counts": torch.arange(-5, 7, dtype=torch.int64).reshape(3, 4),
        "ints32": torch.arange(-3, 3, dtype=torch.int32),
        "bytes8": torch.arange(-8, 8, dtype=torch.int8).reshape(2, 8),
        "ubytes8": torch.arange(0, 250, 25, dtype=torch.uint8),
        "mask": torch.tensor([True, False, True, True]),
        "transposed.weight": base.t(),                 # strides (1, 10)
        "slice.weight": base[2:5, 3:9],                # offset 23, strides (10, 1)
        "shared.first": shared[:12].view(3, 4),        # one storage for both
        "shared.second": shared[12:].view(4, 3),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 4),
        "expanded": torch.randn(1, 5).expand(3, 5),    # stride 0 on the first dimension
        "param": torch.nn.Parameter(torch.randn(2, 2)),
    }


def record(path: pathlib.Path, state_dict_path: list) -> None:
    """Writes what torch.load reads from `path` as the expected tensors and layout."""
    loaded = torch.load(path, weights_only=True)
    target = loaded
    for key in state_dict_path:
        target = target[key]
    tensors = {name: tensor.detach().contiguous().clone() for name, tensor in target.items()}
    expected = path.with_name(path.stem + ".expected.safetensors")
    save_file(tensors, str(expected))
    write_json(path.with_name(path.stem + ".expected.json"), {
        "state_dict_path": state_dict_path,
        "tensors": [{"name": n, "dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape)} for n, t in tensors.items()],
    })


def rewrite_zip(source: pathlib.Path, destination: pathlib.Path, compression: int, force_zip64: bool) -> None:
    """Copies a torch.save archive entry by entry. With `force_zip64`, every size and offset goes
    through ZIP64 records (local and central extra fields, the ZIP64 end record and locator), as
    in an archive over 4 GB; zipfile writes them when sizes pass its ZIP64_LIMIT, lowered here."""
    limit = zipfile.ZIP64_LIMIT
    if force_zip64:
        zipfile.ZIP64_LIMIT = 0
    try:
        copy_entries(source, destination, compression, force_zip64)
    finally:
        zipfile.ZIP64_LIMIT = limit


def copy_entries(source: pathlib.Path, destination: pathlib.Path, compression: int, force_zip64: bool) -> None:
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(destination, "w", compression=compression) as copy:
        for info in original.infolist():
            entry = zipfile.ZipInfo(info.filename, info.date_time)
            entry.compress_type = compression
            with original.open(info) as src, copy.open(entry, "w", force_zip64=force_zip64) as dst:
                shutil.copyfileobj(src, dst)


def hf_bin_directory(out: pathlib.Path) -> None:
    directory = out / "hf-bin"
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    torch.manual_seed(6)
    tensors = {f"model.layers.{i}.mlp.up_proj.weight": torch.randn(8, 4) for i in range(3)}
    tensors["model.embed_tokens.weight"] = torch.randn(10, 4)
    names = list(tensors)
    shards = {"pytorch_model-00001-of-00002.bin": names[:2], "pytorch_model-00002-of-00002.bin": names[2:]}
    weight_map = {}
    for shard, keys in shards.items():
        torch.save({k: tensors[k] for k in keys}, directory / shard)
        weight_map.update({k: shard for k in keys})
    (directory / "pytorch_model.bin.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}, indent=2))
    save_file(tensors, str(out / "hf-bin.expected.safetensors"))
    write_json(out / "hf-bin.expected.json", {
        "state_dict_path": [],
        "tensors": [{"name": n, "dtype": "float32", "shape": list(tensors[n].shape)} for k in shards.values() for n in k],
    })


def mtp_from_safetensors(root: pathlib.Path, out: pathlib.Path) -> None:
    source = root / "mtp" / "mtp-4heads"
    directory = out / "mtp-4heads-pth"
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    shutil.copy(source / "params.json", directory / "params.json")
    torch.save(load_file(str(source / "consolidated.safetensors")), directory / "consolidated.00.pth")


def generate(root: pathlib.Path) -> None:
    out = root / "pytorch"
    out.mkdir(parents=True, exist_ok=True)

    torch.save(state_dict(), out / "state_dict.pth")
    record(out / "state_dict.pth", [])

    torch.save({"epoch": 3, "model": state_dict(), "optimizer": {"lr": 0.1, "betas": (0.9, 0.99)}}, out / "nested.pth")
    record(out / "nested.pth", ["model"])

    rewrite_zip(out / "state_dict.pth", out / "zip64.pth", zipfile.ZIP_STORED, force_zip64=True)
    record(out / "zip64.pth", [])

    torch.save({"weight": torch.ones(2), "payload": CallsSystem()}, out / "malicious.pth")
    torch.save({"weight": torch.ones(2)}, out / "legacy.pth", _use_new_zipfile_serialization=False)
    rewrite_zip(out / "state_dict.pth", out / "compressed.pth", zipfile.ZIP_DEFLATED, force_zip64=False)

    torch.save({"zeros": torch.zeros(1).expand(100000, 100000), "small": torch.ones(2)}, out / "expanded.pth")

    hf_bin_directory(out)
    mtp_from_safetensors(root, out)
