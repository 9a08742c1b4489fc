/// Meta's LLaMA state-dict names (`tok_embeddings`, `layers.N.attention.wq`...) <-> GGUF names,
/// and the GGUF layout of multi-token-prediction checkpoints (`general.architecture =
/// "llama-mtp"`).
///
/// A multi-token-prediction model has `layers` (n_layers - n_future_tokens + 1 blocks: the
/// trunk and head 0) and `extra_heads` (n_future_tokens - 1 blocks). In GGUF they are one run
/// of blocks: `layers.N` is `blk.N`, `extra_heads.K` is `blk.(L + K)` with L = len(layers), so
/// `block_count` is Meta's `n_layers` and `llama-mtp.n_future_tokens` says how many of the last
/// blocks are prediction heads. Meta's Q/K rows are already in the adjacent-pair rotary layout
/// llama.cpp expects, so unlike Hugging Face llama no permutation is applied.
public enum MetaTensorNames {
    /// The GGUF architecture name of multi-token-prediction checkpoints (not `llama`:
    /// llama.cpp would load one as a plain LLaMA and fail on the extra blocks).
    public static let mtpArchitecture = "llama-mtp"
    /// The metadata key suffix holding n_future_tokens (`llama-mtp.n_future_tokens`).
    public static let futureTokensKey = "n_future_tokens"

    /// Block suffixes: Meta's after `layers.N.` -> GGUF's after `blk.N.`.
    static let blockNames: [(meta: String, gguf: String)] = [
        ("attention.wq.weight", "attn_q.weight"),
        ("attention.wk.weight", "attn_k.weight"),
        ("attention.wv.weight", "attn_v.weight"),
        ("attention.wo.weight", "attn_output.weight"),
        ("feed_forward.w1.weight", "ffn_gate.weight"),
        ("feed_forward.w2.weight", "ffn_down.weight"),
        ("feed_forward.w3.weight", "ffn_up.weight"),
        ("attention_norm.weight", "attn_norm.weight"),
        ("ffn_norm.weight", "ffn_norm.weight"),
    ]

    static let globalNames: [(meta: String, gguf: String)] = [
        ("tok_embeddings.weight", "token_embd.weight"),
        ("norm.weight", "output_norm.weight"),
        ("output.weight", "output.weight"),
    ]

    /// The GGUF name of a Meta tensor; `layerCount` is the length of `layers` (extra heads
    /// follow it). Nil for names GGUF has no place for.
    public static func ggufName(forMeta name: String, layerCount: Int) -> String? {
        if let global = globalNames.first(where: { $0.meta == name }) { return global.gguf }
        for (prefix, base) in [("layers.", 0), ("extra_heads.", layerCount)] {
            guard let (index, suffix) = TensorNames.split(name, prefix: prefix),
                  let block = blockNames.first(where: { $0.meta == suffix })
            else { continue }
            return "blk.\(base + index).\(block.gguf)"
        }
        return nil
    }

    /// The Meta name of a GGUF tensor, the inverse of `ggufName(forMeta:layerCount:)`.
    public static func metaName(forGGUF name: String, layerCount: Int) -> String? {
        if let global = globalNames.first(where: { $0.gguf == name }) { return global.meta }
        guard let (index, suffix) = TensorNames.split(name, prefix: "blk."),
              let block = blockNames.first(where: { $0.gguf == suffix })
        else { return nil }
        return index < layerCount ? "layers.\(index).\(block.meta)" : "extra_heads.\(index - layerCount).\(block.meta)"
    }
}
