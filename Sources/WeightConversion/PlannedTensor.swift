import WeightFormats

/// A change to a source row after it is decoded to float: `(source row, values, row length)`
/// (a LoRA merge adds `s · B A` to each row of the weight it adapts).
public typealias RowAdjustment = @Sendable (_ row: Int, _ values: UnsafeMutablePointer<Float>, _ count: Int) -> Void

/// Rows of a source tensor that become consecutive rows of an output tensor.
public struct TensorPiece: Sendable {
    public let view: TensorView
    /// Rows of `view` (its outer dimensions flattened, rows of `view.rowLength` elements).
    public let rows: Range<Int>
    /// When set, output row `i` of this piece is source row `rowOrder[i]` (absolute in `view`).
    public let rowOrder: [Int]?
    /// Added to every value (Gemma's norms: GGUF holds `1 + w`).
    public let valueOffset: Float
    /// When set (only `.f16`), each sum is rounded to this type: llama.cpp's converter adds
    /// Gemma's 1 to a float16 tensor in float16 (torch computes in float32 and rounds).
    public let offsetPrecision: GGMLType?
    /// Applied to each decoded source row before the offset and the encoding.
    public var adjustment: RowAdjustment?

    public init(view: TensorView, rows: Range<Int>? = nil, rowOrder: [Int]? = nil, valueOffset: Float = 0,
                offsetPrecision: GGMLType? = nil, adjustment: RowAdjustment? = nil) {
        self.view = view
        self.rows = rows ?? 0..<view.rowCount
        self.rowOrder = rowOrder
        self.valueOffset = valueOffset
        self.offsetPrecision = offsetPrecision
        self.adjustment = adjustment
    }

    var rowCount: Int { rowOrder?.count ?? rows.count }
}

/// One tensor of a conversion's output: its name, row-major shape, stored type and where its
/// rows come from. Nothing is read until the tensor is written.
public struct PlannedTensor: Sendable {
    public enum Content: Sendable {
        /// Rows gathered from source tensors, in order.
        case pieces([TensorPiece])
        /// Values computed by the conversion (llama.cpp's `rope_freqs`).
        case values([Float])
    }

    public let name: String
    public let shape: [Int]
    public let type: TensorDType
    public let content: Content

    public init(name: String, shape: [Int], type: TensorDType, content: Content) {
        self.name = name
        self.shape = shape
        self.type = type
        self.content = content
    }

    public var elementCount: Int { shape.reduce(1, *) }
    public var rowLength: Int { shape.last ?? 1 }

    /// Stored bytes.
    public var byteCount: Int { elementCount / type.blockSize * type.bytesPerBlock }
}

/// The type rules of llama.cpp's converters for a tensor written as `requested`.
public enum TypeRules {
    /// convert_hf_to_gguf's rule: 1-D tensors, norms, MoE routers and anything not named
    /// `.weight` stay F32.
    public static func staysF32(ggufName name: String, dimensions: Int) -> Bool {
        dimensions <= 1 || name.hasSuffix("_norm.weight") || name.hasSuffix("ffn_gate_inp.weight")
            || !name.hasSuffix(".weight")
    }

    /// The type a `rowLength`-wide tensor gets when `requested` does not fit its rows: the
    /// 32-element types fall back to F16 (convert_hf_to_gguf), K-quants to Q5_0, Q5_1 or Q8_0
    /// when rows are a multiple of 32, else F16 (llama-quantize).
    public static func fitting(_ requested: GGMLType, rowLength: Int) -> GGMLType {
        if rowLength % requested.blockSize == 0 { return requested }
        if requested.blockSize == 256 && rowLength % 32 == 0 {
            switch requested {
            case .q4_K: return .q5_0
            case .q5_K: return .q5_1
            default: return .q8_0
            }
        }
        return .f16
    }

    /// The float type a source tensor keeps when no type is requested.
    public static func defaultType(for source: TensorDType) -> GGMLType {
        switch source.ggmlType {
        case .f16?: return .f16
        case .bf16?: return .bf16
        default: return .f32
        }
    }

    /// llama.cpp's `general.file_type` (enum llama_ftype) for a whole-file type.
    public static func fileType(_ type: GGMLType) -> UInt32 {
        switch type {
        case .f32: 0
        case .f16: 1
        case .q4_0: 2
        case .q4_1: 3
        case .q8_0: 7
        case .q5_0: 8
        case .q5_1: 9
        case .q4_K: 14
        case .q5_K: 16
        case .q6_K: 18
        case .bf16: 32
        default: 0
        }
    }
}
