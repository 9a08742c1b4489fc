import WeightArchitecture
import WeightFormats

/// Meta's multi-token-prediction checkpoints (`params.json` + Meta's state-dict names) to and
/// from WeightKit's `llama-mtp` GGUF layout (`MetaTensorNames`, Docs/META_MTP.md): llama.cpp's
/// names and keys, the extra heads numbered after `layers`, `llama-mtp.n_future_tokens`.
public enum MetaToGGUF {
    /// The output tensors and metadata for a Meta checkpoint.
    public static func plan(
        checkpoint: Checkpoint, architecture: ModelArchitecture, requested: GGMLType?, name: String
    ) throws -> (metadata: GGUFMetadataList, tensors: [PlannedTensor], skipped: [String]) {
        guard let text = architecture.text, let future = text.futureTokens else {
            throw ConversionError.unsupportedArchitecture(name: architecture.modelType, supported: ["meta_mtp"])
        }
        let layerCount = text.layerCount - future + 1
        var tensors: [PlannedTensor] = []
        var skipped: [String] = []
        for view in checkpoint.tensors {
            guard let ggufName = MetaTensorNames.ggufName(forMeta: view.name, layerCount: layerCount) else {
                skipped.append(view.name)
                continue
            }
            let type = HuggingFaceToGGUF.outputType(name: ggufName, shape: view.shape, source: view.dtype, requested: requested)
            tensors.append(PlannedTensor(name: ggufName, shape: view.shape, type: .ggml(type), content: .pieces([TensorPiece(view: view)])))
        }
        let arch = MetaTensorNames.mtpArchitecture
        var metadata = try HuggingFaceToGGUF.metadata(
            arch: arch, text: text, name: name, fileType: requested ?? HuggingFaceToGGUF.dominantType(tensors))
        metadata["\(arch).vocab_size"] = .uint32(UInt32(text.vocabularySize))
        if case .rotary(let rotary) = text.positions {
            metadata["\(arch).rope.dimension_count"] = .uint32(UInt32(rotary.dimensions))
        }
        metadata["\(arch).\(MetaTensorNames.futureTokensKey)"] = .uint32(UInt32(future))
        return (metadata, tensors, skipped)
    }
}

/// A `llama-mtp` GGUF back to Meta's names and a `params.json`.
public enum GGUFToMeta {
    /// - Parameter requested: the float type of every tensor (nil: float tensors keep their
    ///   type, block types become F32).
    public static func plan(checkpoint: Checkpoint, architecture: ModelArchitecture, requested: GGMLType?) throws
        -> (params: JSONObject, tensors: [PlannedTensor], skipped: [String])
    {
        guard let text = architecture.text, let future = text.futureTokens, architecture.modelType == "meta_mtp" else {
            throw ConversionError.unsupportedArchitecture(name: architecture.modelType, supported: ["meta_mtp"])
        }
        let layerCount = text.layerCount - future + 1
        var tensors: [PlannedTensor] = []
        var skipped: [String] = []
        for view in checkpoint.tensors {
            guard let name = MetaTensorNames.metaName(forGGUF: view.name, layerCount: layerCount) else {
                skipped.append(view.name)
                continue
            }
            let type = requested ?? TypeRules.defaultType(for: view.dtype)
            tensors.append(PlannedTensor(name: name, shape: view.shape, type: .ggml(type), content: .pieces([TensorPiece(view: view)])))
        }
        return (params(text: text, futureTokens: future), tensors, skipped)
    }

    /// Meta's `ModelArgs` keys. GGUF stores the FFN width itself; `multiple_of` is set to it
    /// (and `ffn_dim_multiplier` below 1 when Meta's base width 2/3 · 4 · dim exceeds it), so
    /// that Meta's rule gives the same width back.
    static func params(text: TextStack, futureTokens: Int) -> JSONObject {
        var p = JSONObject()
        p["dim"] = .int(text.hiddenSize)
        p["n_layers"] = .int(text.layerCount)
        p["n_heads"] = .int(text.headCount)
        p["n_kv_heads"] = .int(text.kvHeadCount)
        p["vocab_size"] = .int(text.vocabularySize)
        p["multiple_of"] = .int(text.feedForwardLength)
        let base = 2 * (4 * text.hiddenSize) / 3
        if base > text.feedForwardLength {
            p["ffn_dim_multiplier"] = .double(Double(text.feedForwardLength) / Double(base))
        }
        p["norm_eps"] = .double(Double(Float(text.normEpsilon)).shortestFloatDecimal)
        if case .rotary(let rotary) = text.positions { p["rope_theta"] = .double(rotary.theta) }
        p["max_seq_len"] = .int(text.contextLength)
        p["n_future_tokens"] = .int(futureTokens)
        return p
    }
}
