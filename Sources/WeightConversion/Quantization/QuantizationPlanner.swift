import WeightFormats

/// The type of each tensor under a llama-quantize mix, chosen as llama.cpp's
/// `llama_tensor_get_type` (src/llama-quant.cpp) chooses it: which tensors are quantised at
/// all, the output and (tied) token embeddings, the per-category rules with their layer counters
/// (which run in visit order), the grouped-query, expert-count and model-size rules, the
/// overrides, and the fallbacks for rows that are not whole blocks.
///
/// The interface is a function of the architecture's parameters, the tensor list and the
/// options, so any description of a model can feed it.
public enum QuantizationPlanner {
    /// Plans `tensors` (in any order) for `target`.
    ///
    /// - Parameters:
    ///   - fileType: for `.copy`, the input's `general.file_type` (nil: guessed as llama.cpp's
    ///     loader guesses it).
    /// - Throws: `QuantizationPlanError` for a shape without a fallback, or a per-layer rule
    ///   that finds no block number in an expert model's tensor name.
    public static func plan(
        _ tensors: [QuantizationInput], model: QuantizationModelParameters, target: QuantizationTarget,
        options: QuantizationOptions = QuantizationOptions(), inputFileType: UInt32? = nil
    ) throws -> QuantizationPlan {
        let ordered = visitOrder(tensors)
        var state = State(model: model, options: options, tensors: ordered)
        var decisions: [TensorQuantization] = []
        decisions.reserveCapacity(ordered.count)
        let fileType: UInt32
        switch target {
        case .copy: fileType = inputFileType ?? guessedFileType(ordered)
        case .mix(let mix): fileType = mix.fileType
        }
        for tensor in ordered {
            let inputBytes = try byteCount(tensor, as: tensor.type)
            guard case .mix(let mix) = target else {
                decisions.append(TensorQuantization(
                    name: tensor.name, shape: tensor.shape, from: tensor.type, to: tensor.type, quantizable: false,
                    requiresImportance: false, fallback: false, byteCount: inputBytes, inputByteCount: inputBytes))
                continue
            }
            let quantizable = allowsQuantization(tensor, architecture: model.architecture, options: options)
            var fallback = false
            let to = quantizable ? try state.type(for: tensor, mix: mix, fallback: &fallback) : tensor.type
            let outputBytes = to == tensor.type ? inputBytes : try byteCount(tensor, as: to)
            decisions.append(TensorQuantization(
                name: tensor.name, shape: tensor.shape, from: tensor.type, to: to, quantizable: quantizable,
                requiresImportance: requiresImportance(name: tensor.name, type: to, mix: mix), fallback: fallback,
                byteCount: outputBytes, inputByteCount: inputBytes))
        }
        return QuantizationPlan(target: target, tensors: decisions, fileType: fileType)
    }

    /// Plans from (name, shape) pairs of a model not yet converted: every tensor taken as F32
    /// (budgets: the per-tensor types and bytes a mix gives).
    public static func plan(
        names: [(name: String, shape: [Int])], model: QuantizationModelParameters, mix: QuantizationMix,
        options: QuantizationOptions = QuantizationOptions()
    ) throws -> QuantizationPlan {
        try plan(names.map { QuantizationInput(name: $0.name, shape: $0.shape, type: .f32) }, model: model, target: .mix(mix), options: options)
    }

    // MARK: Order

    /// llama_model_loader's weights_map order: by the number after "blk." (-1 without one),
    /// then by name, bytewise.
    public static func visitOrder(_ tensors: [QuantizationInput]) -> [QuantizationInput] {
        tensors.map { (layer: blockNumber($0.name) ?? -1, bytes: Array($0.name.utf8), tensor: $0) }
            .sorted { a, b in a.layer != b.layer ? a.layer < b.layer : a.bytes.lexicographicallyPrecedes(b.bytes) }
            .map(\.tensor)
    }

    /// sscanf(name, "blk.%d.", &layer): the integer after a leading "blk." (white space and a
    /// sign allowed, as %d reads), whatever follows it.
    static func blockNumber(_ name: String) -> Int? {
        var bytes = Substring(name).utf8[...]
        guard bytes.starts(with: "blk.".utf8) else { return nil }
        bytes = bytes.dropFirst(4)
        while let c = bytes.first, c == 0x20 || (0x09...0x0D).contains(c) { bytes = bytes.dropFirst() }
        var negative = false
        if let c = bytes.first, c == UInt8(ascii: "-") || c == UInt8(ascii: "+") {
            negative = c == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        let digits = bytes.prefix { (0x30...0x39).contains($0) }
        guard !digits.isEmpty else { return nil }
        var value = 0
        for d in digits {
            value = value * 10 + Int(d - 0x30)
            if value > Int(Int32.max) { return nil }
        }
        return negative ? -value : value
    }

    static func guessedFileType(_ ordered: [QuantizationInput]) -> UInt32 {
        var counts: [GGMLType: Int] = [:]
        var top = GGMLType.f32, topCount = 0
        for tensor in ordered {
            counts[tensor.type, default: 0] += 1
            if counts[tensor.type]! > topCount { topCount = counts[tensor.type]!; top = tensor.type }
        }
        return QuantizationMix.guessed(from: top)
    }

    static func byteCount(_ tensor: QuantizationInput, as type: GGMLType) throws -> Int {
        let rows = tensor.rowLength == 0 ? 0 : tensor.elementCount / tensor.rowLength
        guard let row = type.byteCount(elements: tensor.rowLength) else {
            throw QuantizationPlanError.notWholeBlocks(tensor: tensor.name, type: type.name, rowLength: tensor.rowLength)
        }
        let (bytes, overflow) = rows.multipliedReportingOverflow(by: row)
        guard !overflow else { throw QuantizationPlanError.unsizedType(tensor: tensor.name, type: type.name) }
        return bytes
    }

    // MARK: Which tensors

    /// tensor_allows_quantization: 2- and 3-dimensional tensors whose name ends in "weight",
    /// except norms, the output with --leave-output-tensor, expert routers and the small or
    /// positional tables llama.cpp names.
    public static func allowsQuantization(_ tensor: QuantizationInput, architecture: String, options: QuantizationOptions) -> Bool {
        guard tensor.dimensionCount >= 2 else { return false }
        let name = tensor.name
        // name.rfind("weight") == name.size() - 6: also true for a 5-character name without
        // "weight" (npos == size_t(-1) == 5 - 6).
        let endsInWeight = name.hasSuffix("weight") || (name.utf8.count == 5 && !name.contains("weight"))
        var quantize = endsInWeight
        func absent(_ part: String) -> Bool { !name.contains(part) }
        quantize = quantize && absent("_norm.weight")
        quantize = quantize && (options.quantizeOutputTensor || name != "output.weight")
        for part in ["ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel", "per_layer_model_proj"] {
            quantize = quantize && absent(part)
        }
        quantize = quantize && name != "position_embd.weight" && name != "token_types.weight"
        for part in ["ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight", "indexer.q_proj.weight"] {
            quantize = quantize && absent(part)
        }
        if architecture == "glm5-next" {
            for part in [
                "hc_", "indexer.attn_q_b", "indexer.attn_k", "indexer.proj", "indexer_compressor_gate", "indexer_compressor_ape",
                "ssm_f_a.weight", "ssm_f_b.weight", "ssm_g_a.weight", "ssm_g_b.weight", "ssm_beta.weight",
                "attn_kv_a_mqa.weight", "attn_k_b.weight", "attn_v_b.weight",
            ] {
                quantize = quantize && absent(part)
            }
        }
        for part in [
            "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight", "time_mix_v0.weight",
            "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight",
            "time_mix_g1.weight", "time_mix_g2.weight", "time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
            "time_mix_lerp_fused.weight", "attn_rel_b.weight", ".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_",
            ".rel_pos", ".patch_embd", ".patch_merger", "a.rvq.codebook", "mm.a.code_embd",
        ] {
            quantize = quantize && absent(part)
        }
        return quantize
    }

    /// tensor_requires_imatrix: the i-quants below 3 bits (and IQ3_XXS), and Q2_K inside a Q2_K_S
    /// file; never the token embeddings or the output.
    public static func requiresImportance(name: String, type: GGMLType, mix: QuantizationMix) -> Bool {
        if isTokenEmbedding(name) || name == "output.weight" { return false }
        switch type {
        case .iq3_XXS, .iq2_XXS, .iq2_XS, .iq2_S, .iq1_M, .iq1_S: return true
        case .q2_K: return mix == .q2_K_S
        default: return false
        }
    }

    static func isTokenEmbedding(_ name: String) -> Bool { name == "token_embd.weight" || name == "per_layer_token_embd.weight" }

    // MARK: Categories

    enum Category { case tokenEmbedding, attentionQ, attentionV, attentionK, attentionQKV, attentionKVB, attentionOutput, ffnUp, ffnGate, ffnDown, output, other }

    static func category(_ name: String) -> Category {
        if name == "output.weight" { return .output }
        if isTokenEmbedding(name) { return .tokenEmbedding }
        if name.contains("attn_qkv.weight") { return .attentionQKV }
        if name.contains("attn_kv_b.weight") { return .attentionKVB }
        if name.contains("attn_v.weight") { return .attentionV }
        if name.contains("attn_k.weight") { return .attentionK }
        if name.contains("attn_q.weight") { return .attentionQ }
        if name.contains("attn_output.weight") { return .attentionOutput }
        if name.contains("ffn_up") { return .ffnUp }
        if name.contains("ffn_gate") { return .ffnGate }
        if name.contains("ffn_down") { return .ffnDown }
        return .other
    }

    static func isAttentionVLike(_ category: Category) -> Bool {
        category == .attentionV || category == .attentionQKV || category == .attentionKVB
    }

    // MARK: The rules

    /// quantize_state_impl: the counters that the rules advance in visit order.
    struct State {
        let model: QuantizationModelParameters
        let options: QuantizationOptions
        let attentionVCount: Int
        let layerCount: Int
        let tiedEmbeddings: Bool
        var attentionV = 0, ffnDown = 0, ffnGate = 0, ffnUp = 0

        init(model: QuantizationModelParameters, options: QuantizationOptions, tensors: [QuantizationInput]) {
            self.model = model
            self.options = options
            attentionVCount = tensors.filter { isAttentionVLike(category($0.name)) }.count
            layerCount = model.layerCount
            tiedEmbeddings = !tensors.contains { $0.name == "output.weight" }
        }

        /// llama_tensor_get_type for a tensor that allows quantisation.
        mutating func type(for tensor: QuantizationInput, mix: QuantizationMix, fallback: inout Bool) throws -> GGMLType {
            let category = QuantizationPlanner.category(tensor.name)
            if let forced = options.tokenEmbeddingType, category == .tokenEmbedding {
                // per_layer_token_embd follows it unless an override names that tensor.
                let named = tensor.name == "per_layer_token_embd.weight" && options.tensorTypes.contains { $0.matches(tensor.name) }
                if !named { return forced }
            }
            if let forced = options.outputTensorType, category == .output { return forced }
            let defaultType = mix.defaultType
            guard defaultType.traits.kind == .quantized else { return defaultType }
            var type = defaultType
            var manual = false
            if let override = options.tensorTypes.first(where: { $0.matches(tensor.name) }) {
                type = override.type
                manual = true
            }
            if !manual && !options.pure {
                type = try rules(tensor, type: type, mix: mix, category: category)
            }
            return try shapeFallback(tensor, type: type, fallback: &fallback)
        }

        /// tensor_type_fallback: rows that are not whole blocks of `type`.
        func shapeFallback(_ tensor: QuantizationInput, type: GGMLType, fallback: inout Bool) throws -> GGMLType {
            let columns = tensor.rowLength
            guard columns % type.blockSize != 0 else { return type }
            fallback = true
            var result: GGMLType
            switch type {
            case .iq1_S, .iq1_M, .iq2_XXS, .iq2_XS, .iq2_S, .iq3_XXS, .iq3_S, .iq4_XS: result = .iq4_NL
            case .q2_0, .q2_K, .q3_K, .tq1_0, .tq2_0: result = .q4_0
            case .q4_K: result = .q5_0
            case .q5_K: result = .q5_1
            case .q6_K: result = .q8_0
            default:
                guard type.blockSize <= 32 else { throw QuantizationPlanError.noFallback(tensor: tensor.name, type: type.name) }
                result = type
            }
            if columns % result.blockSize != 0 { result = .f16 }
            return result
        }

        /// llama_tensor_get_type_impl: the mix's rules for one tensor.
        mutating func rules(_ tensor: QuantizationInput, type defaultType: GGMLType, mix ftype: QuantizationMix, category: Category) throws -> GGMLType {
            var newType = defaultType
            let name = tensor.name
            let arch = model.architecture
            let gqa = model.groupedQueryFactor
            let experts = model.expertCount
            func moreBits(_ layer: Int, _ layers: Int) -> Bool {
                layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2
            }
            func layerInfo(_ counter: Int) throws -> (Int, Int) {
                guard max(1, experts) > 1 else { return (counter, layerCount) }
                guard let layer = blockNumber(name) else { throw QuantizationPlanError.layerNotFound(tensor: name, layerCount: layerCount) }
                guard layer >= 0 && layer < layerCount else { throw QuantizationPlanError.layerNotFound(tensor: name, layerCount: layerCount) }
                return (layer, layerCount)
            }
            let veryLowBit: Set<QuantizationMix> = [.iq2_XXS, .iq2_XS, .iq1_S, .iq2_S, .iq2_M, .iq1_M]

            if arch == "glm5-next" && (name.contains("attn_q_a") || name.contains("attn_q_b") || name.contains("nextn.eh_proj")) {
                switch newType {
                case .f32, .bf16, .f16: break
                default: return .q8_0
                }
            }
            if category == .output || (tiedEmbeddings && category == .tokenEmbedding) {
                if let forced = options.outputTensorType {
                    newType = forced
                } else {
                    let columns = tensor.rowLength
                    if ftype == .mxfp4_MOE {
                        newType = .q8_0
                    } else if arch == "falcon" || columns % newType.blockSize != 0 {
                        newType = .q8_0
                    } else if [.iq2_XXS, .iq2_XS, .iq3_XXS, .iq1_S, .iq2_S, .iq2_M, .iq1_M].contains(ftype) {
                        newType = .q5_K
                    } else if newType != .q8_0 {
                        newType = .q6_K
                    }
                }
            } else if ftype == .mxfp4_MOE {
                let bailingExpert = arch == "bailingmoe3" && (category == .ffnUp || category == .ffnGate || category == .ffnDown)
                newType = tensor.extent(2) > 1 && (arch != "bailingmoe3" || bailingExpert) ? .mxfp4 : .q8_0
            } else if category == .tokenEmbedding {
                if let forced = options.tokenEmbeddingType {
                    newType = forced
                } else if [.iq2_XXS, .iq2_XS, .iq1_S, .iq1_M].contains(ftype) {
                    newType = .q2_K
                } else if ftype == .iq2_S || ftype == .iq2_M || ftype == .iq3_XXS {
                    newType = .iq3_S
                } else if ftype == .tq1_0 || ftype == .tq2_0 || ftype == .q2_0 {
                    newType = .q4_K
                }
            } else if veryLowBit.contains(ftype) {
                if isAttentionVLike(category) {
                    if gqa >= 4 || experts >= 4 { newType = .q4_K }
                    else { newType = ftype == .iq2_S || ftype == .iq2_M ? .iq3_S : .q2_K }
                    attentionV += 1
                } else if experts == 8 && category == .attentionK {
                    newType = .q4_K
                } else if category == .ffnDown {
                    if ffnDown < layerCount / 8 {
                        newType = ftype == .iq2_S || ftype == .iq2_M ? .iq3_S : .q2_K
                    }
                    ffnDown += 1
                } else if category == .attentionOutput {
                    if experts == 8 {
                        newType = .q5_K
                    } else if ftype == .iq1_S || ftype == .iq1_M {
                        newType = .iq2_XXS
                    } else if ftype == .iq2_S || ftype == .iq2_M {
                        newType = .iq3_S
                    }
                }
            } else if isAttentionVLike(category) {
                if ftype == .q2_K {
                    newType = gqa >= 4 ? .q4_K : .q3_K
                } else if ftype == .q2_K_S && gqa >= 4 {
                    newType = .q4_K
                } else if ftype == .iq3_XXS {
                    newType = gqa >= 4 ? .q4_K : !options.hasImportance ? .iq3_S : .iq3_XXS
                } else if (ftype == .iq3_XS || ftype == .iq3_S) && gqa >= 4 {
                    newType = .q4_K
                } else if ftype == .iq3_M {
                    newType = .q4_K
                } else if ftype == .q3_K_M {
                    newType = attentionV < 2 ? .q5_K : .q4_K
                } else if ftype == .q3_K_L {
                    newType = .q5_K
                } else if (ftype == .iq4_NL || ftype == .iq4_XS) && gqa >= 4 {
                    newType = .q5_K
                } else if (ftype == .q4_K_M || ftype == .q5_K_M) && moreBits(attentionV, attentionVCount) {
                    newType = .q6_K
                } else if ftype == .q4_K_S && attentionV < 4 {
                    newType = .q5_K
                }
                if model.isSeventyB && (newType == .q3_K || newType == .q4_K) { newType = .q5_K }
                if experts == 8 { newType = .q8_0 }
                attentionV += 1
            } else if category == .attentionK {
                if experts == 8 { newType = .q8_0 }
                else if ftype == .iq3_XS { newType = .iq3_XXS }
                else if ftype == .iq3_XXS { newType = .iq2_S }
            } else if category == .attentionQ {
                if ftype == .iq3_XS { newType = .iq3_XXS }
                else if ftype == .iq3_XXS { newType = .iq2_S }
            } else if category == .ffnDown {
                let (layer, layers) = try layerInfo(ffnDown)
                if ftype == .q2_K {
                    newType = .q3_K
                } else if ftype == .q2_K_S {
                    if layer < layers / 8 { newType = .q4_K }
                } else if ftype == .iq3_XXS && !options.hasImportance {
                    newType = layer < layers / 8 ? .q4_K : .q3_K
                } else if ftype == .q3_K_M {
                    newType = layer < layers / 16 ? .q5_K : arch != "falcon" || moreBits(layer, layers) ? .q4_K : .q3_K
                } else if ftype == .iq3_M && (layer < layers / 8 || (experts == 8 && moreBits(layer, layers))) {
                    newType = .q4_K
                } else if ftype == .q3_K_L {
                    newType = arch == "falcon" ? .q4_K : .q5_K
                } else if ftype == .q4_K_M {
                    if arch == "falcon" {
                        newType = layer < layers / 16 ? .q6_K : moreBits(layer, layers) ? .q5_K : .q4_K
                    } else if moreBits(layer, layers) {
                        newType = .q6_K
                    }
                } else if layer < layers / 8 && (ftype == .iq4_NL || ftype == .iq4_XS) && !options.hasImportance {
                    newType = .q5_K
                } else if ftype == .q5_K_M && moreBits(layer, layers) {
                    newType = .q6_K
                } else if ftype == .q4_K_S && arch != "falcon" && layer < layers / 8 {
                    newType = .q5_K
                } else if (ftype == .q4_0 || ftype == .q5_0) && options.hasImportance && layer < layers / 8 {
                    newType = ftype == .q4_0 ? .q4_1 : .q5_1
                }
                ffnDown += 1
            } else if category == .attentionOutput {
                if arch != "falcon" {
                    if experts == 8 {
                        if [.q2_K, .iq3_XS, .iq3_XXS, .q3_K_S, .q3_K_M, .iq4_NL, .q4_K_S, .q4_K_M, .iq3_S, .iq3_M, .iq4_XS].contains(ftype) {
                            newType = .q5_K
                        }
                    } else {
                        if ftype == .q2_K { newType = .q3_K }
                        else if ftype == .iq3_XXS { newType = .iq3_S }
                        else if ftype == .q3_K_M { newType = .q4_K }
                        else if ftype == .q3_K_L { newType = .q5_K }
                        else if ftype == .iq3_M { newType = .q4_K }
                    }
                } else if ftype == .q3_K_L {
                    newType = .q4_K
                }
            } else if category == .attentionQKV {
                if ftype == .q3_K_M || ftype == .q3_K_L || ftype == .iq3_M { newType = .q4_K }
                else if ftype == .q4_K_M { newType = .q5_K }
                else if ftype == .q5_K_M { newType = .q6_K }
            } else if category == .ffnGate {
                let (layer, layers) = try layerInfo(ffnGate)
                if ftype == .iq3_XS && layer >= layers / 8 && layer < 7 * layers / 8 { newType = .iq3_XXS }
                ffnGate += 1
            } else if category == .ffnUp {
                let (layer, layers) = try layerInfo(ffnUp)
                if ftype == .iq3_XS && layer >= layers / 8 && layer < 7 * layers / 8 { newType = .iq3_XXS }
                ffnUp += 1
            }
            return newType
        }
    }
}
