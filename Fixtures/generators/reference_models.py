"""Independent PyTorch implementations of the architectures WeightKit runs that transformers does
not ship: the expert LM of seed 002 and Meta's multi-token-prediction LLaMA. The fixture
generators save their weights and record their outputs; WeightKit is tested against those.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------------------------------------
# Seed 002's ExpertModel: token embedding + sinusoidal positions, pre-LN blocks (multi-head
# attention with biases, two-layer GELU FFN with biases), final LayerNorm, untied LM head
# without bias. The state-dict names below are the ones Docs/EXPERT_LM.md documents.
# ---------------------------------------------------------------------------------------------

class PositionalEncoding(nn.Module):
    """PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(...); a buffer, not a parameter."""

    def __init__(self, d_model: int, max_seq_len: int = 2048, dropout: float = 0.1):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        position = torch.arange(max_seq_len, dtype=torch.float32).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_seq_len, d_model)
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe.unsqueeze(0))

    def forward(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        return self.dropout(x + self.pe[:, start:start + x.size(1)])


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, d_model: int, n_heads: int, dropout: float):
        super().__init__()
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q = self.q_proj(x).view(b, t, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.n_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.n_heads, self.head_dim).transpose(1, 2)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        causal = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
        scores = scores.masked_fill(causal, float("-inf"))
        attended = self.dropout(torch.softmax(scores, dim=-1)) @ v
        return self.out_proj(attended.transpose(1, 2).reshape(b, t, d))


class FeedForward(nn.Module):
    def __init__(self, d_model: int, d_ff: int, dropout: float):
        super().__init__()
        self.fc1 = nn.Linear(d_model, d_ff)
        self.fc2 = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.fc2(F.gelu(self.fc1(x))))


class TransformerBlock(nn.Module):
    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attention = MultiHeadSelfAttention(d_model, n_heads, dropout)
        self.norm2 = nn.LayerNorm(d_model)
        self.feed_forward = FeedForward(d_model, d_ff, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x))
        return x + self.feed_forward(self.norm2(x))


class ExpertModel(nn.Module):
    def __init__(self, vocab_size: int, d_model: int = 512, n_layers: int = 6, n_heads: int = 8,
                 d_ff: int = 2048, max_seq_len: int = 2048, dropout: float = 0.1):
        super().__init__()
        self.config = dict(model_type="expert_lm", vocab_size=vocab_size, d_model=d_model, n_layers=n_layers,
                           n_heads=n_heads, d_ff=d_ff, max_seq_len=max_seq_len, dropout=dropout)
        self.token_embedding = nn.Embedding(vocab_size, d_model)
        self.positional_encoding = PositionalEncoding(d_model, max_seq_len, dropout)
        self.transformer_blocks = nn.ModuleList(
            [TransformerBlock(d_model, n_heads, d_ff, dropout) for _ in range(n_layers)])
        self.final_norm = nn.LayerNorm(d_model)
        self.lm_head = nn.Linear(d_model, vocab_size, bias=False)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        x = self.positional_encoding(self.token_embedding(input_ids))
        for block in self.transformer_blocks:
            x = block(x)
        return self.lm_head(self.final_norm(x))

    def get_num_params(self, non_embedding: bool = False) -> int:
        total = sum(p.numel() for p in self.parameters())
        return total - self.token_embedding.weight.numel() if non_embedding else total


def filtered_probabilities(logits: torch.Tensor, temperature: float, top_k: int, top_p: float) -> torch.Tensor:
    """Temperature, then top-k, then top-p (the smallest most-likely set reaching p), as
    transformers' logits warpers do; returns probabilities."""
    logits = logits.double() / temperature
    if top_k > 0:
        kth = torch.topk(logits, top_k).values[..., -1, None]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=False)
        cumulative = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
        remove = cumulative <= (1 - top_p)
        remove[..., -1] = False
        logits = logits.masked_fill(remove.scatter(-1, order, remove), float("-inf"))
    return torch.softmax(logits, dim=-1)


def sample_with_draw(probabilities: torch.Tensor, uniform: float) -> int:
    """Inverse-CDF sampling over token ids in ascending order with a given uniform draw."""
    cumulative = 0.0
    last = 0
    for index, p in enumerate(probabilities.tolist()):
        if p <= 0:
            continue
        cumulative += p
        last = index
        if uniform < cumulative:
            return index
    return last


# ---------------------------------------------------------------------------------------------
# Meta's multi-token-prediction LLaMA (Gloeckle et al. 2024; facebook/multi-token-prediction):
# LLaMA blocks with Meta's state-dict names and complex (adjacent-pair) rotary embeddings; the
# last of `layers` and the `extra_heads` are n_future_tokens prediction heads on a shared trunk,
# with one shared final norm and output layer.
# ---------------------------------------------------------------------------------------------

class MetaRMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        normed = x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + self.eps)
        return normed.type_as(x) * self.weight


def precompute_freqs_cis(dim: int, end: int, theta: float) -> torch.Tensor:
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: (dim // 2)].float() / dim))
    t = torch.arange(end, dtype=torch.float32)
    freqs = torch.outer(t, freqs).float()
    return torch.polar(torch.ones_like(freqs), freqs)


def apply_rotary(x: torch.Tensor, freqs_cis: torch.Tensor) -> torch.Tensor:
    """x: (batch, seq, heads, head_dim); adjacent pairs are complex numbers."""
    xc = torch.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
    rotated = torch.view_as_real(xc * freqs_cis[None, :, None, :]).flatten(3)
    return rotated.type_as(x)


def meta_ffn_dim(dim: int, multiple_of: int, ffn_dim_multiplier) -> int:
    hidden = int(2 * (4 * dim) / 3)
    if ffn_dim_multiplier is not None:
        hidden = int(ffn_dim_multiplier * hidden)
    return multiple_of * ((hidden + multiple_of - 1) // multiple_of)


class MetaAttention(nn.Module):
    def __init__(self, dim, n_heads, n_kv_heads):
        super().__init__()
        self.n_heads, self.n_kv_heads, self.head_dim = n_heads, n_kv_heads, dim // n_heads
        self.wq = nn.Linear(dim, n_heads * self.head_dim, bias=False)
        self.wk = nn.Linear(dim, n_kv_heads * self.head_dim, bias=False)
        self.wv = nn.Linear(dim, n_kv_heads * self.head_dim, bias=False)
        self.wo = nn.Linear(n_heads * self.head_dim, dim, bias=False)

    def forward(self, x, freqs_cis):
        b, t, _ = x.shape
        q = apply_rotary(self.wq(x).view(b, t, self.n_heads, self.head_dim), freqs_cis)
        k = apply_rotary(self.wk(x).view(b, t, self.n_kv_heads, self.head_dim), freqs_cis)
        v = self.wv(x).view(b, t, self.n_kv_heads, self.head_dim)
        repeat = self.n_heads // self.n_kv_heads
        k = k.repeat_interleave(repeat, dim=2)
        v = v.repeat_interleave(repeat, dim=2)
        q, k, v = (a.transpose(1, 2) for a in (q, k, v))
        scores = q @ k.transpose(2, 3) / math.sqrt(self.head_dim)
        scores = scores + torch.triu(torch.full((t, t), float("-inf")), diagonal=1)
        out = torch.softmax(scores.float(), dim=-1).type_as(q) @ v
        return self.wo(out.transpose(1, 2).reshape(b, t, -1))


class MetaFeedForward(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.w1 = nn.Linear(dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)
        self.w3 = nn.Linear(dim, hidden, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class MetaBlock(nn.Module):
    def __init__(self, dim, n_heads, n_kv_heads, hidden, eps):
        super().__init__()
        self.attention = MetaAttention(dim, n_heads, n_kv_heads)
        self.feed_forward = MetaFeedForward(dim, hidden)
        self.attention_norm = MetaRMSNorm(dim, eps)
        self.ffn_norm = MetaRMSNorm(dim, eps)

    def forward(self, x, freqs_cis):
        h = x + self.attention(self.attention_norm(x), freqs_cis)
        return h + self.feed_forward(self.ffn_norm(h))


class MetaMTPTransformer(nn.Module):
    """layers: n_layers - n_future_tokens + 1 blocks (trunk = all but the last); extra_heads:
    n_future_tokens - 1 blocks. Every prediction head takes the trunk output."""

    def __init__(self, params: dict):
        super().__init__()
        dim, n_layers, nft = params["dim"], params["n_layers"], params.get("n_future_tokens", 1)
        n_heads = params["n_heads"]
        n_kv = params.get("n_kv_heads") or n_heads
        eps = params.get("norm_eps", 1e-5)
        hidden = meta_ffn_dim(dim, params.get("multiple_of", 256), params.get("ffn_dim_multiplier"))
        self.params = params
        self.tok_embeddings = nn.Embedding(params["vocab_size"], dim)
        self.layers = nn.ModuleList([MetaBlock(dim, n_heads, n_kv, hidden, eps) for _ in range(n_layers - nft + 1)])
        self.extra_heads = nn.ModuleList([MetaBlock(dim, n_heads, n_kv, hidden, eps) for _ in range(nft - 1)])
        self.norm = MetaRMSNorm(dim, eps)
        self.output = nn.Linear(dim, params["vocab_size"], bias=False)
        self.register_buffer("freqs_cis", precompute_freqs_cis(dim // n_heads, params.get("max_seq_len", 2048) * 2,
                                                               params.get("rope_theta", 10000.0)), persistent=False)

    def trunk(self, tokens):
        h = self.tok_embeddings(tokens)
        freqs = self.freqs_cis[: tokens.shape[1]]
        for layer in self.layers[:-1]:
            h = layer(h, freqs)
        return h, freqs

    def forward(self, tokens, heads: int | None = None):
        """Returns (logits [b, t, heads, vocab], normed head outputs [b, t, heads, dim], trunk [b, t, dim])."""
        h_trunk, freqs = self.trunk(tokens)
        prediction_heads = [self.layers[-1]] + list(self.extra_heads)
        latents = [layer(h_trunk, freqs) for layer in prediction_heads[: heads or len(prediction_heads)]]
        normed = self.norm(torch.stack(latents, dim=-2))
        return self.output(normed).float(), normed, h_trunk
