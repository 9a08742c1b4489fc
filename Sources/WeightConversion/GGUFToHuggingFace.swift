import WeightArchitecture
import WeightFormats

/// Plans a GGUF checkpoint's conversion back to Hugging Face names and layout: the reverse of
/// `HuggingFaceToGGUF` (names mapped back, the llama Q/K permutation undone, stacked experts
/// split into transformers' per-expert tensors) and a rebuilt `config.json`.
public enum GGUFToHuggingFace {
    /// - Parameter requested: the float type of every tensor (nil: float tensors keep their
    ///   type, block types become F32).
    public static func plan(checkpoint: Checkpoint, architecture: ModelArchitecture, requested: GGMLType?) throws
        -> (config: JSONObject, tensors: [PlannedTensor], skipped: [String])
    {
        guard let text = architecture.text, HuggingFaceToGGUF.architectureNames[architecture.modelType] != nil else {
            throw ConversionError.unsupportedArchitecture(
                name: architecture.modelType, supported: HuggingFaceToGGUF.architectureNames.keys.sorted())
        }
        let isLlama = architecture.modelType == "llama"
        var tensors: [PlannedTensor] = []
        var skipped: [String] = []
        func type(for view: TensorView) -> TensorDType {
            if let requested { return .ggml(requested) }
            return .ggml(TypeRules.defaultType(for: view.dtype))
        }
        for view in checkpoint.tensors {
            if let expertCount = view.shape.first, view.shape.count == 3,
               let names = TensorNames.huggingFaceExpertNames(forGGUF: view.name, expertCount: expertCount)
            {
                let rowsPerExpert = view.shape[1]
                for (expert, name) in names.enumerated() {
                    let piece = TensorPiece(view: view, rows: (expert * rowsPerExpert)..<((expert + 1) * rowsPerExpert))
                    tensors.append(PlannedTensor(name: name, shape: Array(view.shape.dropFirst()), type: type(for: view), content: .pieces([piece])))
                }
                continue
            }
            guard let name = TensorNames.huggingFaceName(forGGUF: view.name) else {
                skipped.append(view.name)
                continue
            }
            var rowOrder: [Int]?
            if isLlama, view.shape.count == 2 {
                let heads = view.name.hasSuffix("attn_q.weight") ? text.headCount : view.name.hasSuffix("attn_k.weight") ? text.kvHeadCount : 0
                if heads > 0 {
                    let permutation = TensorNames.llamaRowPermutation(rows: view.shape[0], heads: heads)
                    var inverse = [Int](repeating: 0, count: permutation.count)
                    for (row, source) in permutation.enumerated() { inverse[source] = row }
                    rowOrder = inverse
                }
            }
            tensors.append(PlannedTensor(name: name, shape: view.shape, type: type(for: view), content: .pieces([TensorPiece(view: view, rowOrder: rowOrder)])))
        }
        let dtype = requested ?? tensors.first { $0.shape.count >= 2 }?.type.ggmlType ?? .f32
        return (config(architecture.modelType, text: text, dtype: dtype), tensors, skipped)
    }

    /// transformers' config.json for the description, with 4.x key spellings (which 5.x reads).
    static func config(_ modelType: String, text: TextStack, dtype: GGMLType) -> JSONObject {
        let classNames = ["llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM", "qwen3_moe": "Qwen3MoeForCausalLM"]
        var c = JSONObject()
        c["architectures"] = .array([.string(classNames[modelType] ?? modelType)])
        c["model_type"] = .string(modelType)
        c["vocab_size"] = .int(text.vocabularySize)
        c["hidden_size"] = .int(text.hiddenSize)
        c["intermediate_size"] = .int(text.feedForwardLength)
        c["num_hidden_layers"] = .int(text.layerCount)
        c["num_attention_heads"] = .int(text.headCount)
        c["num_key_value_heads"] = .int(text.kvHeadCount)
        c["head_dim"] = .int(text.keyLength)
        c["max_position_embeddings"] = .int(text.contextLength)
        c["rms_norm_eps"] = .double(Double(Float(text.normEpsilon)).shortestFloatDecimal)
        if case .rotary(let rotary) = text.positions {
            c["rope_theta"] = .double(rotary.theta)
        }
        c["hidden_act"] = .string("silu")
        c["tie_word_embeddings"] = .bool(text.tiedEmbeddings)
        c["attention_bias"] = .bool(text.attentionBias)
        if let experts = text.experts {
            c["num_experts"] = .int(experts.expertCount)
            c["num_experts_per_tok"] = .int(experts.usedExpertCount)
            c["moe_intermediate_size"] = .int(experts.feedForwardLength)
            c["norm_topk_prob"] = .bool(experts.normalizeTopK)
            c["decoder_sparse_step"] = .int(1)
            c["mlp_only_layers"] = .array(experts.denseLayers.map { .int($0) })
        }
        let names: [GGMLType: String] = [.f32: "float32", .f16: "float16", .bf16: "bfloat16"]
        c["torch_dtype"] = .string(names[dtype] ?? "float32")
        return c
    }
}

extension Double {
    /// The shortest decimal of the Float nearest to this value, as a Double (a GGUF float32
    /// epsilon of 1e-6 reads back as 1e-6, not 9.99999997e-07).
    var shortestFloatDecimal: Double { Double(Float(self).description) ?? self }
}
