"""Seed 002's expert LMs (the PyTorch module in reference_models.py) at two sizes, a router over
three of them, and their outputs: logits, greedy tokens, tokens sampled with given uniform draws,
the router's choice and the mixed generation.
"""
import json
import pathlib
import shutil

import numpy as np
import torch
from safetensors.torch import save_file

from .common import save_npy, write_json
from .reference_models import ExpertModel, filtered_probabilities, sample_with_draw

PROMPT = [3, 141, 59, 26, 53, 5, 89, 79, 32, 38]
NEW_TOKENS = 10
SAMPLING = [
    {"temperature": 0.8, "top_k": 0, "top_p": 1.0},
    {"temperature": 1.0, "top_k": 10, "top_p": 1.0},
    {"temperature": 1.2, "top_k": 0, "top_p": 0.9},
    {"temperature": 0.7, "top_k": 50, "top_p": 0.95},
]


def make(seed: int, **config) -> ExpertModel:
    torch.manual_seed(seed)
    model = ExpertModel(**config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0, 0.1)
            elif "norm" in name and name.endswith("weight"):
                p.uniform_(0.8, 1.2)
            else:
                p.normal_(0, 0.05)
    return model


def save(model: ExpertModel, directory: pathlib.Path, keep_buffer: bool, scale_buffer: float = 1.0) -> None:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    if keep_buffer:
        state["positional_encoding.pe"] = state["positional_encoding.pe"] * scale_buffer
    else:
        del state["positional_encoding.pe"]
    save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})
    (directory / "config.json").write_text(json.dumps(model.config, indent=2) + "\n")


@torch.no_grad()
def next_logits(model: ExpertModel, tokens: list[int]) -> torch.Tensor:
    return model(torch.tensor([tokens]))[0, -1]


@torch.no_grad()
def record(model: ExpertModel, directory: pathlib.Path, rng: np.random.Generator) -> None:
    logits = model(torch.tensor([PROMPT]))[0].float().numpy()
    save_npy(directory / "logits.npy", logits)
    tokens = list(PROMPT)
    for _ in range(NEW_TOKENS):
        tokens.append(int(torch.argmax(next_logits(model, tokens))))
    greedy = tokens[len(PROMPT):]
    sampled = []
    for case in SAMPLING:
        draws = rng.random(NEW_TOKENS).tolist()
        tokens = list(PROMPT)
        for u in draws:
            probabilities = filtered_probabilities(next_logits(model, tokens), case["temperature"], case["top_k"], case["top_p"])
            tokens.append(sample_with_draw(probabilities, u))
        sampled.append(dict(case, draws=draws, tokens=tokens[len(PROMPT):]))
    write_json(directory / "reference.json", {
        "prompt": PROMPT, "greedy": greedy, "sampled": sampled,
        "parameters": model.get_num_params(), "non_embedding_parameters": model.get_num_params(non_embedding=True),
    })


@torch.no_grad()
def router(out: pathlib.Path, experts: dict[str, ExpertModel]) -> None:
    """router.json + router.safetensors; the gate scores the mean of the prompt's embeddings from
    the first expert's table, keeps the top-k logits and softmaxes them; generation mixes the
    chosen experts' next-token distributions."""
    directory = out / "router"
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    names = list(experts)
    d_model = experts[names[0]].config["d_model"]
    torch.manual_seed(99)
    gate = torch.randn(len(names), d_model) * 2.0
    bias = torch.randn(len(names)) * 0.1
    save_file({"gate.weight": gate, "gate.bias": bias}, str(directory / "router.safetensors"))
    top_k = 2
    (directory / "router.json").write_text(json.dumps(
        {"experts": [f"../{n}" for n in names], "top_k": top_k, "normalize": True}, indent=2) + "\n")

    first = experts[names[0]]
    features = first.token_embedding.weight[torch.tensor(PROMPT)].mean(dim=0)
    logits = gate @ features + bias
    values, chosen = torch.topk(logits, top_k)
    weights = torch.softmax(values, dim=-1)
    tokens = list(PROMPT)
    for _ in range(NEW_TOKENS):
        mixture = sum(w * torch.softmax(next_logits(experts[names[i]], tokens).double(), dim=-1)
                      for w, i in zip(weights.double(), chosen.tolist()))
        tokens.append(int(torch.argmax(mixture)))
    write_json(directory / "reference.json", {
        "prompt": PROMPT,
        "experts": [{"name": f"../{names[i]}", "weight": float(w)} for i, w in zip(chosen.tolist(), weights.tolist())],
        "gate_logits": logits.tolist(), "tokens": tokens[len(PROMPT):],
    })


def generate(root: pathlib.Path) -> None:
    out = root / "experts"
    rng = np.random.default_rng(8)
    small = make(1, vocab_size=256, d_model=64, n_layers=2, n_heads=4, d_ff=128, max_seq_len=64, dropout=0.1)
    medium = make(2, vocab_size=256, d_model=64, n_layers=3, n_heads=8, d_ff=256, max_seq_len=128, dropout=0.0)
    other = make(3, vocab_size=256, d_model=64, n_layers=1, n_heads=2, d_ff=64, max_seq_len=64, dropout=0.1)
    save(small, out / "expert-small", keep_buffer=True)
    save(medium, out / "expert-medium", keep_buffer=False)
    save(other, out / "expert-other", keep_buffer=True)
    save(small, out / "expert-bad-positions", keep_buffer=True, scale_buffer=2.0)
    for name, model in (("expert-small", small), ("expert-medium", medium), ("expert-other", other)):
        record(model, out / name, rng)
    router(out, {"expert-small": small, "expert-medium": medium, "expert-other": other})
    # Seed 002's test configuration and its size table's four configurations, counted on the
    # meta device (nothing allocated).
    configurations = {
        "test": dict(vocab_size=10000, d_model=512, n_layers=6, n_heads=8, d_ff=2048, max_seq_len=512),
        "tiny": dict(vocab_size=10000, d_model=256, n_layers=4, n_heads=4, d_ff=1024),
        "small": dict(vocab_size=32000, d_model=512, n_layers=6, n_heads=8, d_ff=2048),
        "medium": dict(vocab_size=50000, d_model=768, n_layers=8, n_heads=12, d_ff=3072),
        "large": dict(vocab_size=50000, d_model=1024, n_layers=12, n_heads=16, d_ff=4096),
    }
    table = {}
    for label, config in configurations.items():
        with torch.device("meta"):
            model = ExpertModel(**config)
        table[label] = {"config": model.config, "parameters": model.get_num_params(),
                        "non_embedding_parameters": model.get_num_params(non_embedding=True)}
    write_json(out / "seed-002-configurations.json", table)
    (out / "seed-002-test-config.json").unlink(missing_ok=True)
