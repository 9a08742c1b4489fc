"""The forward-pass parity test of the integer products (issue 18): transformers' logits on the
dequantised weights of a llama-quantize Q4_K_M file (portable_models.py's tiny Qwen3, whose
tensors are Q4_K and Q6_K), which WeightKit's logits are compared with in both activation modes
(quantised 8-bit activations and `--exact-activations`).

transformers reads the GGUF itself (its GGUF loader dequantises with gguf-py's formulas; the
configuration is passed in, since the loader's Qwen3 defaults assume another head size), and
the test checks that gguf-py's dequantisation of every tensor equals transformers' weights.

Output: Fixtures/models/integer-products/reference.json (path, prompt, what was checked) and
q4_k_m-logits.npy, float32 [prompt, vocab].
"""
import pathlib

import numpy as np
import torch

from .common import save_npy, write_json
from .decoder_models import PROMPT
from .portable_models import Q4_K_M_CONFIG

GGUF_TO_HF = {
    "token_embd.weight": "model.embed_tokens.weight", "output.weight": "lm_head.weight",
    "output_norm.weight": "model.norm.weight",
    "blk.0.attn_q.weight": "model.layers.0.self_attn.q_proj.weight",
    "blk.0.attn_k.weight": "model.layers.0.self_attn.k_proj.weight",
    "blk.0.attn_v.weight": "model.layers.0.self_attn.v_proj.weight",
    "blk.0.attn_output.weight": "model.layers.0.self_attn.o_proj.weight",
    "blk.0.attn_q_norm.weight": "model.layers.0.self_attn.q_norm.weight",
    "blk.0.attn_k_norm.weight": "model.layers.0.self_attn.k_norm.weight",
    "blk.0.attn_norm.weight": "model.layers.0.input_layernorm.weight",
    "blk.0.ffn_norm.weight": "model.layers.0.post_attention_layernorm.weight",
    "blk.0.ffn_gate.weight": "model.layers.0.mlp.gate_proj.weight",
    "blk.0.ffn_up.weight": "model.layers.0.mlp.up_proj.weight",
    "blk.0.ffn_down.weight": "model.layers.0.mlp.down_proj.weight",
}


def generate(root: pathlib.Path) -> None:
    import gguf
    from transformers import AutoModelForCausalLM, Qwen3Config
    source = root / "models" / "portable" / "portable-q4_k_m.gguf"
    if not source.exists():
        raise SystemExit(f"{source} missing: run the portable_models generator first")
    out = root / "models" / "integer-products"
    out.mkdir(parents=True, exist_ok=True)
    model = AutoModelForCausalLM.from_pretrained(str(source.parent), gguf_file=source.name,
                                                 config=Qwen3Config(**Q4_K_M_CONFIG), dtype=torch.float32).eval()
    weights = dict(model.named_parameters())
    types = {}
    for tensor in gguf.GGUFReader(str(source)).tensors:
        values = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
        theirs = weights[GGUF_TO_HF[tensor.name]].detach().numpy()
        assert np.array_equal(values.reshape(theirs.shape), theirs), f"{tensor.name}: transformers' weights differ"
        types[tensor.name] = tensor.tensor_type.name
    assert set(types.values()) == {"Q4_K", "Q6_K", "F32"}, types
    with torch.no_grad():
        logits = model(torch.tensor([PROMPT])).logits[0].float().numpy()
    save_npy(out / "q4_k_m-logits.npy", logits.astype(np.float32))
    write_json(out / "reference.json", {
        "path": "models/portable/portable-q4_k_m.gguf", "prompt": PROMPT, "logits": "q4_k_m-logits.npy",
        "tensor_types": types, "reference": "transformers (float32) on the GGUF's weights, dequantised (equal to gguf-py's)"})
