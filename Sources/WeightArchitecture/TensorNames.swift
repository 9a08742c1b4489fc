/// Hugging Face <-> GGUF tensor names for the decoder families (llama.cpp's
/// `convert_hf_to_gguf.py` conventions: `token_embd`, `blk.N.attn_q`, `ffn_gate_exps`...).
///
/// Experts are where the two worlds differ in shape, not just name: transformers 4.x stores one
/// tensor per expert (`mlp.experts.E.gate_proj.weight`, `[I, H]`), 5.x packs them
/// (`mlp.experts.gate_up_proj`, `[E, 2I, H]`, gate rows first; `mlp.experts.down_proj`,
/// `[E, H, I]`), GGUF stacks them per projection (`blk.N.ffn_gate_exps.weight`, `[E, I, H]`).
public enum TensorNames {
    /// Where a Hugging Face tensor goes in a GGUF file.
    public enum GGUFPlacement: Equatable, Sendable {
        /// The whole tensor, under this name.
        case tensor(String)
        /// One expert's matrix, slice `expert` of the stacked tensor `name`.
        case expertSlice(String, expert: Int)
        /// transformers 5.x's packed `gate_up_proj`: its first half of rows per expert is `gate`,
        /// the second half `up`.
        case packedGateUp(gate: String, up: String)
    }

    /// Per-layer names: Hugging Face suffix after `model.layers.N.` -> GGUF suffix after `blk.N.`.
    static let layerNames: [(hf: String, gguf: String)] = [
        ("input_layernorm.weight", "attn_norm.weight"),
        ("post_attention_layernorm.weight", "ffn_norm.weight"),
        ("self_attn.q_proj.weight", "attn_q.weight"),
        ("self_attn.q_proj.bias", "attn_q.bias"),
        ("self_attn.k_proj.weight", "attn_k.weight"),
        ("self_attn.k_proj.bias", "attn_k.bias"),
        ("self_attn.v_proj.weight", "attn_v.weight"),
        ("self_attn.v_proj.bias", "attn_v.bias"),
        ("self_attn.o_proj.weight", "attn_output.weight"),
        ("self_attn.o_proj.bias", "attn_output.bias"),
        ("self_attn.q_norm.weight", "attn_q_norm.weight"),
        ("self_attn.k_norm.weight", "attn_k_norm.weight"),
        ("mlp.gate_proj.weight", "ffn_gate.weight"),
        ("mlp.up_proj.weight", "ffn_up.weight"),
        ("mlp.down_proj.weight", "ffn_down.weight"),
        ("mlp.gate_proj.bias", "ffn_gate.bias"),
        ("mlp.up_proj.bias", "ffn_up.bias"),
        ("mlp.down_proj.bias", "ffn_down.bias"),
        ("mlp.gate.weight", "ffn_gate_inp.weight"),
        ("mlp.experts.down_proj", "ffn_down_exps.weight"),
        ("block_sparse_moe.gate.weight", "ffn_gate_inp.weight"),
    ]

    static let globalNames: [(hf: String, gguf: String)] = [
        ("model.embed_tokens.weight", "token_embd.weight"),
        ("model.norm.weight", "output_norm.weight"),
        ("lm_head.weight", "output.weight"),
    ]

    /// Per-expert names of transformers 4.x (Qwen3-MoE) and Mixtral, by projection.
    static let expertProjections: [(hf: String, gguf: String)] = [
        ("gate_proj.weight", "ffn_gate_exps.weight"), ("up_proj.weight", "ffn_up_exps.weight"),
        ("down_proj.weight", "ffn_down_exps.weight"),
        ("w1.weight", "ffn_gate_exps.weight"), ("w3.weight", "ffn_up_exps.weight"), ("w2.weight", "ffn_down_exps.weight"),
    ]

    /// The GGUF placement of a Hugging Face tensor name, or nil when GGUF has no counterpart.
    public static func ggufPlacement(forHuggingFace name: String) -> GGUFPlacement? {
        if let global = globalNames.first(where: { $0.hf == name }) { return .tensor(global.gguf) }
        guard let (layer, suffix) = split(name, prefix: "model.layers.") else { return nil }
        if let entry = layerNames.first(where: { $0.hf == suffix }) { return .tensor("blk.\(layer).\(entry.gguf)") }
        if suffix == "mlp.experts.gate_up_proj" {
            return .packedGateUp(gate: "blk.\(layer).ffn_gate_exps.weight", up: "blk.\(layer).ffn_up_exps.weight")
        }
        for prefix in ["mlp.experts.", "block_sparse_moe.experts."] where suffix.hasPrefix(prefix) {
            let rest = suffix.dropFirst(prefix.count)
            guard let dot = rest.firstIndex(of: "."), let expert = Int(rest[..<dot]) else { return nil }
            let projection = String(rest[rest.index(after: dot)...])
            guard let entry = expertProjections.first(where: { $0.hf == projection }) else { return nil }
            return .expertSlice("blk.\(layer).\(entry.gguf)", expert: expert)
        }
        return nil
    }

    /// The Hugging Face name of a whole GGUF tensor (stacked expert tensors have none; see
    /// `huggingFaceExpertNames`).
    public static func huggingFaceName(forGGUF name: String) -> String? {
        if let global = globalNames.first(where: { $0.gguf == name }) { return global.hf }
        guard let (layer, suffix) = split(name, prefix: "blk.") else { return nil }
        guard let entry = layerNames.first(where: { $0.gguf == suffix && !$0.hf.hasPrefix("block_sparse_moe") && $0.hf != "mlp.experts.down_proj" }) else {
            return nil
        }
        return "model.layers.\(layer).\(entry.hf)"
    }

    /// transformers 4.x per-expert names for a stacked GGUF expert tensor: one name per expert.
    public static func huggingFaceExpertNames(forGGUF name: String, expertCount: Int) -> [String]? {
        guard let (layer, suffix) = split(name, prefix: "blk.") else { return nil }
        let projection: String
        switch suffix {
        case "ffn_gate_exps.weight": projection = "gate_proj.weight"
        case "ffn_up_exps.weight": projection = "up_proj.weight"
        case "ffn_down_exps.weight": projection = "down_proj.weight"
        default: return nil
        }
        return (0..<expertCount).map { "model.layers.\(layer).mlp.experts.\($0).\(projection)" }
    }

    /// Splits `prefix` + layer index + "." + suffix.
    static func split(_ name: String, prefix: String) -> (Int, String)? {
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.dropFirst(prefix.count)
        guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]) else { return nil }
        return (layer, String(rest[rest.index(after: dot)...]))
    }

    /// llama.cpp reorders the rows of Llama's q and k projections so that its rotary kernel's
    /// adjacent-pair layout sees what Hugging Face's rotate-half layout sees: within each head,
    /// row `2i` comes from row `i` and row `2i + 1` from row `i + d/2`. Returns, for each
    /// permuted row, the original row it comes from.
    public static func llamaRowPermutation(rows: Int, heads: Int) -> [Int] {
        let perHead = rows / heads
        let half = perHead / 2
        var order = [Int](repeating: 0, count: rows)
        for head in 0..<heads {
            for i in 0..<half {
                order[head * perHead + 2 * i] = head * perHead + i
                order[head * perHead + 2 * i + 1] = head * perHead + half + i
            }
        }
        return order
    }
}
