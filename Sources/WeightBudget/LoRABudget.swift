import WeightArchitecture

/// LoRA / QLoRA training budget (seed 000's setting): trainable adapter parameters, the base
/// model's bytes with its linear layers in NF4, and AdamW's optimizer state.
public struct LoRABudget: Sendable, Equatable {
    public var rank: Int
    public var targets: [LinearRole]
    /// r x (in + out) for every adapted linear layer (each routed expert adapted separately).
    public var trainable: Int
    /// The base weights with every linear layer's matrix in NF4 (4 bits, blocks of 64 with a
    /// double-quantised absmax: one byte per block, an F32 scale per 256 blocks, an F32 offset)
    /// and everything else (embeddings, LM head, norms, biases, convolutions) in 16 bits.
    public var nf4BaseBytes: Int
    /// AdamW: two F32 moments per trainable parameter.
    public var optimizerBytes: Int

    public static let optimizerBytesPerParameter = 8
    public static let nf4BlockSize = 64
    public static let nf4SecondLevelBlockSize = 256

    /// Parses a list of LoRA targets, "q,k,v,o".
    public static func parseTargets(_ text: String) throws -> [LinearRole] {
        var targets: [LinearRole] = []
        for part in text.split(separator: ",").map({ String($0).trimmingSpaces.lowercased() }) where !part.isEmpty {
            let name = part.hasSuffix("_proj") ? String(part.dropLast(5)) : part
            guard let role = LinearRole(rawValue: name) else {
                throw BudgetError.unknownLoRATarget(part, supported: LinearRole.allCases.map(\.rawValue))
            }
            if !targets.contains(role) { targets.append(role) }
        }
        guard !targets.isEmpty else { throw BudgetError.unknownLoRATarget(text, supported: LinearRole.allCases.map(\.rawValue)) }
        return targets
    }

    public init(text: TextStack, modelType: String, groups: [WeightGroup], rank: Int, targets: [LinearRole]) throws {
        guard rank > 0 else { throw BudgetError.notPositive(argument: .loraRank, value: String(rank)) }
        self.rank = rank
        self.targets = targets
        var trainable = 0
        for layer in 0..<text.layerCount {
            for target in targets {
                let shapes = try LoRABudget.linearShapes(text, layer: layer, role: target, modelType: modelType)
                for shape in shapes {
                    let added = try Checked.multiply(rank, shape.input + shape.output, shape.copies, what: "the LoRA parameters")
                    trainable = try Checked.add(trainable, added, what: "the LoRA parameters")
                }
            }
        }
        self.trainable = trainable
        optimizerBytes = try Checked.multiply(trainable, LoRABudget.optimizerBytesPerParameter, what: "the optimizer state")
        nf4BaseBytes = groups.reduce(0) { $0 + LoRABudget.nf4Bytes(of: $1) }
    }

    /// The (input, output) sizes of the linear layers a role names in one layer.
    static func linearShapes(_ text: TextStack, layer: Int, role: LinearRole, modelType: String) throws -> [(input: Int, output: Int, copies: Int)] {
        let hidden = text.hiddenSize
        let kv = text.kvHeads(layer: layer)
        switch role {
        case .q: return [(hidden, text.headCount * text.keyLength, 1)]
        case .k: return [(hidden, kv * text.keyLength, 1)]
        case .v: return [(hidden, kv * text.valueLength, 1)]
        case .o: return [(text.headCount * text.valueLength, hidden, 1)]
        case .gate, .up, .down:
            if role == .gate && !text.gatedFeedForward { throw BudgetError.loRATargetMissing(target: role.rawValue, modelType: modelType) }
            func shape(_ width: Int, copies: Int) -> (input: Int, output: Int, copies: Int) {
                role == .down ? (width, hidden, copies) : (hidden, width, copies)
            }
            if let experts = text.experts, text.isSparse(layer: layer) {
                var shapes = [shape(experts.feedForwardLength, copies: experts.expertCount)]
                if let shared = experts.sharedExpertLength { shapes.append(shape(shared, copies: 1)) }
                return shapes
            }
            return [shape(text.feedForwardLength, copies: 1)]
        }
    }

    /// Bytes of a group in a QLoRA base model.
    static func nf4Bytes(of group: WeightGroup) -> Int {
        let linear = group.shape.count == 2 && group.isMatrix && ![.embedding, .outputHead].contains(group.component)
            && !group.name.contains("embedding") && !group.name.contains("embd")
        guard linear else { return group.elements * 2 }
        let n = group.elementsPerCopy
        let blocks = (n + nf4BlockSize - 1) / nf4BlockSize
        let secondLevel = (blocks + nf4SecondLevelBlockSize - 1) / nf4SecondLevelBlockSize
        // 4-bit codes, an 8-bit absmax per block, a float32 scale per 256 blocks, and the
        // second quantisation's 256-entry float32 map and float32 offset (bitsandbytes' layout).
        return ((n + 1) / 2 + blocks + 4 * secondLevel + 4 * 256 + 4) * group.copies
    }
}
