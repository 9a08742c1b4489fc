#!/usr/bin/env python3
"""Builds WeightKit's test files with reference implementations and records their readings.

Run by `make fixtures` (inside the fixture virtualenv), never by CI. Every expected value the
tests compare against is written here by a reference nobody in this project wrote: gguf-py,
the safetensors package, transformers/torch, llama.cpp's ggml. Outputs are deterministic
(fixed seeds) and small.

Usage: make_fixtures.py [GENERATOR ...]   (default: all)
"""
import importlib
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

GENERATORS = [
    "ggml_types",     # one tensor of every ggml type + gguf-py's dequantised values
    "gguf_files",     # metadata of every type, v2, big-endian, split set
    "safetensors_files",  # every safetensors dtype, sharded checkpoint, HF directory
    "decoder_models", # tiny transformers decoders, llama.cpp GGUF copies, reference logits
    "mistral_phi3_models",  # tiny Mistral and Phi-3 (sliding windows, fused projections, longrope), llama.cpp's greedy tokens
    "portable_models",  # greedy margins of the qemu test's models, a llama-quantize Q4_K_M model
    "integer_products",  # transformers' logits on the dequantised weights of that Q4_K_M model
    "lattice_products",  # transformers' logits on two IQ/TQ/MXFP4 mixes of that model (llama-quantize)
    "gemma_models",   # tiny Gemma 2/3, llama.cpp GGUF copies, llama.cpp's tokens on WeightKit's GGUF
    "expert_models",  # seed 002 expert LMs (PyTorch), a router over them
    "mtp_models",     # Meta multi-token prediction (independent PyTorch implementation)
    "pytorch_files",  # torch.save checkpoints (strided, nested, sharded, hostile) + torch.load readings
    "rotary_tables",  # transformers' RoPE frequencies and rotations for every scaling type
    "budget_models",
    "nf4_reference",  # bitsandbytes NF4 (double-quantised) bytes for LoRABudget  # published configs counted by transformers, llama.cpp KV-cache sizes
    "vision_models",  # tiny CLIP, SigLIP, LLaVA projector; image processors (PIL backend)
    "conversion",     # quantisers and casts (gguf-py, llama.cpp), golden writer outputs
    "quantizers",     # ggml_quantize_chunk bytes of every type, with and without importance weights
    "quant_mixes",    # tiny f16 models, llama-imatrix matrices, llama-quantize's types and bytes for every mix
    "imatrix_reference",  # llama-imatrix matrices of the quant_mixes models (f32, f16) and llama-tokenize ids, for weightkit imatrix
    "split_files",    # llama-gguf-split split sets and merges, zstd-compressed inputs
    "diff_statistics",  # NumPy statistics of HF vs GGUF pairs for weightkit diff
    "tokenizer_metadata",  # llama.cpp's tokenizer.* keys for tiny tokenizers, pre-tokenizer names by hash
    "chat_templates",  # transformers 5 renders of real chat templates (llama.cpp's collection, SmolLM2), engine snippets
    "hostile_hyperparameters",  # one crafted description per validation rule
    "tokenizers",     # llama.cpp's vocabularies cut to their test texts; llama.cpp, tokenizers, sentencepiece ids
    "lora_adapters",  # PEFT adapters on the tiny decoders: PEFT's logits unmerged and merged, convert_lora_to_gguf.py outputs, llama.cpp's logits
    "lora_gaps",      # PEFT adapters on embed_tokens, Phi-3's fused projections and Meta-MTP; the saved merge of an lm_head on a tied base
    "text_generation",  # transformers' prompt ids, chat renders and greedy tokens with eos, stop strings and a context cap
    "bert_models",    # tiny sentence-transformers BERT models, SentenceTransformer.encode, llama.cpp on WeightKit's GGUF
]


def main(argv: list[str]) -> None:
    wanted = argv or GENERATORS
    for name in wanted:
        module = importlib.import_module(f"generators.{name}")
        print(f"== {name}", flush=True)
        module.generate(HERE)


if __name__ == "__main__":
    main(sys.argv[1:])
