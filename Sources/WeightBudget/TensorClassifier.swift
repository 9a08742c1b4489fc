import WeightArchitecture
import WeightFormats

/// Sorts the tensors of a checkpoint into budget components by name. Understands Hugging Face
/// names (`model.layers.0.self_attn.q_proj.weight`), llama.cpp's GGUF names
/// (`blk.0.attn_q.weight`), Meta's (`layers.0.attention.wq.weight`, `extra_heads.0...`) and
/// the expert LM's (`transformer_blocks.0.attention.q_proj.weight`).
public enum TensorClassifier {
    /// Tensors that are buffers, not parameters: fixed position tables and rotary frequencies
    /// (and the factors llama.cpp computes for them: llama3's `rope_freqs`, Phi-3's longrope lists).
    static let bufferSuffixes = ["positional_encoding.pe", "rope_freqs.weight", "rope_factors_long.weight", "rope_factors_short.weight",
                                 "freqs_cis", "rotary_emb.inv_freq", "position_ids"]

    /// The weight groups of a checkpoint's tensors, one per tensor; buffers are left out.
    /// - Parameters:
    ///   - tensors: the checkpoint's tensors.
    ///   - architecture: the description, for routed-expert counts and vision-only models.
    public static func groups(of tensors: [TensorView], architecture: ModelArchitecture) -> [WeightGroup] {
        groups(of: tensors.map { StoredTensor(name: $0.name, shape: $0.shape, dtype: $0.dtype, bytes: $0.byteCount) },
               architecture: architecture)
    }

    /// The weight groups of tensors known by name, shape and size (a file yet to be written).
    public static func groups(of tensors: [StoredTensor], architecture: ModelArchitecture) -> [WeightGroup] {
        let experts = architecture.text?.experts
        let visionOnly = architecture.text == nil && architecture.vision != nil
        // The family's schema names most tensors; names it does not know are sorted by pattern.
        let schema = try? ModelFamilies.family(of: architecture).schema(architecture)
        return tensors.compactMap { tensor in
            guard !isBuffer(tensor.name), schema?.buffers(tensor.name) != true else { return nil }
            // In a vision-only checkpoint everything but a projector or contrastive head is the
            // tower, whatever its names (SigLIP without the `vision_model.` prefix, mmproj `v.*`).
            let known = schema?.spec(huggingFace: tensor.name)?.spec ?? schema?.spec(gguf: tensor.name)
            var component = known.map { BudgetComponent($0.component) } ?? classify(tensor.name)
            if visionOnly, ![.projector, .contrastiveHeads].contains(component) { component = .visionTower }
            var routing: (used: Int, count: Int)?
            if component == .experts, let experts, isRoutedExpert(tensor.name) {
                routing = (experts.usedExpertCount, experts.expertCount)
            }
            return WeightGroup(name: tensor.name, component: component, shape: tensor.shape, routing: routing,
                               dtype: tensor.dtype, storedBytes: tensor.bytes)
        }
    }

    /// Whether `name` is a buffer rather than a parameter.
    public static func isBuffer(_ name: String) -> Bool {
        bufferSuffixes.contains { name == $0 || name.hasSuffix("." + $0) }
    }

    static func isRoutedExpert(_ name: String) -> Bool {
        (name.contains(".experts.") || name.contains("_exps")) && !name.contains("shared")
    }

    /// The component a tensor name belongs to.
    public static func classify(_ name: String) -> BudgetComponent {
        func has(_ parts: String...) -> Bool { parts.contains { name.contains($0) } }
        if has("vision_tower.", "vision_model.", "visual.", "vision_encoder.") || name.hasPrefix("v.") { return .visionTower }
        if has("multi_modal_projector", "mm_projector", "image_newline") || name.hasPrefix("mm.") { return .projector }
        if has("visual_projection", "text_projection", "logit_scale", "logit_bias", "text_model.head.") { return .contrastiveHeads }
        if name.hasPrefix("extra_heads.") { return .mtpHeads }
        if has("lm_head.", "pooler.") || name == "output.weight" || name == "output.bias" { return .outputHead }
        if has("embed_tokens", "word_embeddings", "token_embedding", "position_embedding", "token_type_embeddings",
               "tok_embeddings", "token_embd", "position_embd", "token_types") { return .embedding }
        if has("ffn_gate_inp", "mlp.gate.weight", "block_sparse_moe.gate.", "router.") { return .router }
        if has(".experts.", "_exps", "_shexp", "shared_expert") { return .experts }
        if has("norm", "LayerNorm", "layrnorm", "ln_") { return .norms }
        if has("self_attn.", "attention.", "attn_q", "attn_k", "attn_v", "attn_output", "attn_qkv", ".attn.") { return .attention }
        if has("mlp.", "feed_forward.", "ffn_", "intermediate.", "output.dense", ".fc1.", ".fc2.") { return .mlp }
        return .other
    }
}
