import WeightFormats

/// Bytes of a model's weights: as stored (per dtype) and as they would be in each ggml type.
public struct WeightMemory: Sendable, Equatable {
    /// Bytes of the weights as stored (the checkpoint's tensors, or the parameters in the
    /// configuration's dtype when there are no tensors).
    public var bytes: Int
    /// Stored bytes per dtype (lower-case names: "bf16", "q4_k").
    public var byDType: [(dtype: String, bytes: Int)]
    /// Bytes if the model were stored in each type, llama.cpp's way: matrices in the type (or
    /// its fallback when a row is not a whole number of blocks), vectors in F32.
    public var asType: [(type: String, bytes: Int)]

    /// The ggml types a model can be stored in (not the dot-product-only Q8_1 and Q8_K, nor integers).
    public static let storageTypes: [GGMLType] = GGMLType.allCases.filter {
        $0.traits.kind != .integer && $0 != .q8_1 && $0 != .q8_K
    }

    /// - Parameters:
    ///   - groups: the weight groups (with stored dtypes and bytes when from a checkpoint).
    ///   - defaultDType: the storage type of groups without one (the configuration's dtype).
    public init(groups: [WeightGroup], defaultDType: GGMLType) {
        var sums: [String: Int] = [:]
        var order: [String] = []
        for group in groups {
            let name = group.dtype?.name.lowercased() ?? defaultDType.name.lowercased()
            let bytes = group.storedBytes ?? WeightMemory.bytes(of: group, in: defaultDType, vectorsAsF32: false)
            if sums[name] == nil { order.append(name) }
            sums[name, default: 0] += bytes
        }
        byDType = order.map { ($0, sums[$0]!) }
        bytes = byDType.reduce(0) { $0 + $1.bytes }
        asType = WeightMemory.storageTypes.map { type in
            (type.name.lowercased(), groups.reduce(0) { $0 + WeightMemory.bytes(of: $1, in: type, vectorsAsF32: true) })
        }
    }

    /// Bytes of `group` stored as `type`.
    /// - Parameter vectorsAsF32: keep vectors (norms, biases) in F32, as llama.cpp's converter does.
    public static func bytes(of group: WeightGroup, in type: GGMLType, vectorsAsF32: Bool) -> Int {
        if !group.isMatrix && (vectorsAsF32 || type.traits.kind == .quantized) {
            return group.elements * 4
        }
        let chosen = storableType(type, rowLength: group.rowLength)
        return group.elements / chosen.blockSize * chosen.bytesPerBlock
    }

    /// `type`, or llama.cpp's fallback when rows of `rowLength` are not whole blocks of it
    /// (llama-quant.cpp: k- and i-quants fall back to IQ4_NL, Q5_0, Q5_1 or Q8_0; then F16).
    public static func storableType(_ type: GGMLType, rowLength: Int) -> GGMLType {
        if rowLength % type.blockSize == 0 { return type }
        let fallback: GGMLType
        switch type {
        case .q2_K, .q3_K, .iq2_XXS, .iq2_XS, .iq2_S, .iq3_XXS, .iq3_S, .iq1_S, .iq1_M, .iq4_XS, .tq1_0, .tq2_0: fallback = .iq4_NL
        case .q4_K: fallback = .q5_0
        case .q5_K: fallback = .q5_1
        case .q6_K: fallback = .q8_0
        default: fallback = .f16
        }
        return rowLength % fallback.blockSize == 0 ? fallback : .f16
    }

    /// The bytes as one type would store them (0 for an unknown name).
    public func bytes(as type: String) -> Int {
        asType.first { $0.type == type }?.bytes ?? 0
    }

    public static func == (lhs: WeightMemory, rhs: WeightMemory) -> Bool {
        lhs.bytes == rhs.bytes && lhs.byDType.map(\.dtype) == rhs.byDType.map(\.dtype)
            && lhs.byDType.map(\.bytes) == rhs.byDType.map(\.bytes) && lhs.asType.map(\.bytes) == rhs.asType.map(\.bytes)
    }
}
