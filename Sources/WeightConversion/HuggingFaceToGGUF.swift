#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import WeightArchitecture
import WeightFormats

/// Plans a Hugging Face checkpoint's conversion to GGUF as llama.cpp's `convert_hf_to_gguf.py`
/// does it: its tensor names, the Q/K row permutation for `llama`, experts stacked per
/// projection, its architecture keys and its type rules.
public enum HuggingFaceToGGUF {
    /// Hugging Face model types and llama.cpp's architecture names for them.
    public static let architectureNames: [String: String] = [
        "llama": "llama", "qwen2": "qwen2", "qwen3": "qwen3", "qwen3_moe": "qwen3moe",
    ]

    /// The output tensors and metadata.
    /// - Parameters:
    ///   - requested: the type 2-D weights get (nil: each keeps its float type).
    ///   - name: `general.name`.
    public static func plan(
        checkpoint: Checkpoint, architecture: ModelArchitecture, requested: GGMLType?, name: String
    ) throws -> (metadata: GGUFMetadataList, tensors: [PlannedTensor], skipped: [String]) {
        guard let arch = architectureNames[architecture.modelType], let text = architecture.text else {
            throw ConversionError.unsupportedArchitecture(name: architecture.modelType, supported: architectureNames.keys.sorted())
        }
        var tensors: [PlannedTensor] = []
        var skipped: [String] = []
        // Stacked expert tensors: slices by expert, emitted where their first slice appears.
        var expertSlices: [String: [Int: TensorPiece]] = [:]
        var expertShapes: [String: [Int]] = [:]
        var order: [(name: String, isStack: Bool, piece: TensorPiece?, shape: [Int])] = []

        func add(_ ggufName: String, _ piece: TensorPiece, shape: [Int]) {
            order.append((ggufName, false, piece, shape))
        }
        func addSlice(_ ggufName: String, expert: Int, _ piece: TensorPiece, shape: [Int]) {
            if expertSlices[ggufName] == nil {
                order.append((ggufName, true, nil, []))
                expertShapes[ggufName] = shape
            }
            expertSlices[ggufName, default: [:]][expert] = piece
        }

        for view in checkpoint.tensors {
            guard let placement = TensorNames.ggufPlacement(forHuggingFace: view.name) else {
                skipped.append(view.name)
                continue
            }
            switch placement {
            case .tensor(let ggufName):
                var rowOrder: [Int]?
                if arch == "llama", view.shape.count == 2 {
                    if ggufName.hasSuffix("attn_q.weight") {
                        rowOrder = TensorNames.llamaRowPermutation(rows: view.shape[0], heads: text.headCount)
                    } else if ggufName.hasSuffix("attn_k.weight") {
                        rowOrder = TensorNames.llamaRowPermutation(rows: view.shape[0], heads: text.kvHeadCount)
                    }
                }
                add(ggufName, TensorPiece(view: view, rowOrder: rowOrder), shape: view.shape)
            case .expertSlice(let ggufName, let expert):
                addSlice(ggufName, expert: expert, TensorPiece(view: view), shape: view.shape)
            case .packedGateUp(let gate, let up):
                guard view.shape.count == 3, view.shape[1] % 2 == 0 else {
                    throw ConversionError.tensorNotConvertible(tensor: view.name, reason: "expected [experts, 2 x intermediate, hidden]")
                }
                let experts = view.shape[0], half = view.shape[1] / 2
                let gatePieces = (0..<experts).map { TensorPiece(view: view, rows: ($0 * 2 * half)..<($0 * 2 * half + half)) }
                let upPieces = (0..<experts).map { TensorPiece(view: view, rows: ($0 * 2 * half + half)..<(($0 + 1) * 2 * half)) }
                order.append((gate, false, nil, [experts, half, view.shape[2]]))
                order.append((up, false, nil, [experts, half, view.shape[2]]))
                for (index, piece) in gatePieces.enumerated() { expertSlices[gate, default: [:]][index] = piece }
                for (index, piece) in upPieces.enumerated() { expertSlices[up, default: [:]][index] = piece }
            }
        }

        if case .rotary(let rotary) = text.positions, let scaling = rotary.scaling, scaling.type == "llama3" {
            let factors = llama3RopeFactors(theta: rotary.theta, dimensions: text.keyLength, scaling: scaling)
            tensors.append(PlannedTensor(name: "rope_freqs.weight", shape: [factors.count], type: .ggml(.f32), content: .values(factors)))
        }
        for entry in order {
            let pieces: [TensorPiece]
            let shape: [Int]
            if let piece = entry.piece {
                pieces = [piece]
                shape = entry.shape
            } else {
                let slices = expertSlices[entry.name] ?? [:]
                let count = slices.keys.max().map { $0 + 1 } ?? 0
                pieces = try (0..<count).map { expert in
                    guard let piece = slices[expert] else { throw ConversionError.missingExpert(tensor: entry.name, expert: expert) }
                    return piece
                }
                shape = entry.shape.isEmpty ? [count] + (expertShapes[entry.name] ?? []) : entry.shape
            }
            let type = outputType(name: entry.name, shape: shape, source: pieces[0].view.dtype, requested: requested)
            tensors.append(PlannedTensor(name: entry.name, shape: shape, type: .ggml(type), content: .pieces(pieces)))
        }
        let metadata = try self.metadata(arch: arch, text: text, name: name, fileType: requested ?? dominantType(tensors))
        return (metadata, tensors, skipped)
    }

    /// convert_hf_to_gguf's choice for one tensor.
    static func outputType(name: String, shape: [Int], source: TensorDType, requested: GGMLType?) -> GGMLType {
        if TypeRules.staysF32(ggufName: name, dimensions: shape.count) { return .f32 }
        let wanted = requested ?? TypeRules.defaultType(for: source)
        return TypeRules.fitting(wanted, rowLength: shape.last ?? 1)
    }

    static func dominantType(_ tensors: [PlannedTensor]) -> GGMLType {
        tensors.first { $0.shape.count >= 2 }?.type.ggmlType ?? .f32
    }

    /// The architecture keys convert_hf_to_gguf writes, in its order.
    static func metadata(arch: String, text: TextStack, name: String, fileType: GGMLType) throws -> GGUFMetadataList {
        var m = GGUFMetadataList()
        m["general.architecture"] = .string(arch)
        m["general.type"] = .string("model")
        m["general.name"] = .string(name)
        m["\(arch).block_count"] = .uint32(UInt32(text.layerCount))
        m["\(arch).context_length"] = .uint32(UInt32(text.contextLength))
        m["\(arch).embedding_length"] = .uint32(UInt32(text.hiddenSize))
        m["\(arch).feed_forward_length"] = .uint32(UInt32(text.feedForwardLength))
        m["\(arch).attention.head_count"] = .uint32(UInt32(text.headCount))
        m["\(arch).attention.head_count_kv"] = .uint32(UInt32(text.kvHeadCount))
        if case .rotary(let rotary) = text.positions {
            m["\(arch).rope.freq_base"] = .float32(Float(rotary.theta))
            if let scaling = rotary.scaling, ["linear", "yarn"].contains(scaling.type) {
                m["\(arch).rope.scaling.type"] = .string(scaling.type)
                m["\(arch).rope.scaling.factor"] = .float32(Float(scaling.factor))
                if let original = scaling.originalContextLength {
                    m["\(arch).rope.scaling.original_context_length"] = .uint32(UInt32(original))
                }
            }
        }
        m["\(arch).attention.layer_norm_rms_epsilon"] = .float32(Float(text.normEpsilon))
        if let experts = text.experts {
            m["\(arch).expert_count"] = .uint32(UInt32(experts.expertCount))
            m["\(arch).expert_used_count"] = .uint32(UInt32(experts.usedExpertCount))
        }
        m["\(arch).attention.key_length"] = .uint32(UInt32(text.keyLength))
        m["\(arch).attention.value_length"] = .uint32(UInt32(text.valueLength))
        m["general.file_type"] = .uint32(TypeRules.fileType(fileType))
        if let experts = text.experts {
            m["\(arch).expert_feed_forward_length"] = .uint32(UInt32(experts.feedForwardLength))
            m["\(arch).expert_weights_norm"] = .bool(experts.normalizeTopK)
        }
        if arch == "llama" {
            m["\(arch).vocab_size"] = .uint32(UInt32(text.vocabularySize))
            if case .rotary(let rotary) = text.positions {
                m["\(arch).rope.dimension_count"] = .uint32(UInt32(rotary.dimensions))
            }
        }
        m["general.quantization_version"] = .uint32(2)
        return m
    }

    /// llama.cpp's `rope_freqs` for Llama 3 scaling (LlamaModel.generate_extra_tensors),
    /// computed in float32 as torch does.
    static func llama3RopeFactors(theta: Double, dimensions: Int, scaling: RopeScaling) -> [Float] {
        let factor = Float(scaling.factor)
        let low = Float(scaling.parameters["low_freq_factor"] ?? 1)
        let high = Float(scaling.parameters["high_freq_factor"] ?? 4)
        let original = Float(scaling.originalContextLength ?? 8192)
        let lowWavelength = Double(original) / Double(low), highWavelength = Double(original) / Double(high)
        return stride(from: 0, to: dimensions, by: 2).map { i in
            let exponent = Float(i) / Float(dimensions)
            let frequency = 1 / Float(pow(Float(theta), exponent))
            let wavelength = (1 / frequency) * Float(2 * Double.pi)
            if Double(wavelength) < highWavelength { return 1 }
            if Double(wavelength) > lowWavelength { return factor }
            let smooth = ((1 / wavelength) * original - low) / (high - low)
            return 1 / ((1 - smooth) / factor + smooth)
        }
    }
}
