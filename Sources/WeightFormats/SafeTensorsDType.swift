/// The dtypes of the safetensors format (the `safetensors` 0.8 package's `Dtype`).
public enum SafeTensorsDType: String, CaseIterable, Sendable, Hashable {
    case bool = "BOOL"
    /// FP4 E2M1, two per byte (low nibble first).
    case f4 = "F4"
    /// FP6 E2M3, four values in three bytes.
    case f6_E2M3 = "F6_E2M3"
    /// FP6 E3M2, four values in three bytes.
    case f6_E3M2 = "F6_E3M2"
    case u8 = "U8"
    case i8 = "I8"
    case f8_E5M2 = "F8_E5M2"
    case f8_E4M3 = "F8_E4M3"
    /// Exponent-only scale type of the MX formats: 2^(e - 127), 0xFF is NaN.
    case f8_E8M0 = "F8_E8M0"
    case f8_E4M3FNUZ = "F8_E4M3FNUZ"
    case f8_E5M2FNUZ = "F8_E5M2FNUZ"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case c64 = "C64"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// Storage size of one element in bits.
    public var bitWidth: Int {
        switch self {
        case .f4: 4
        case .f6_E2M3, .f6_E3M2: 6
        case .bool, .u8, .i8, .f8_E5M2, .f8_E4M3, .f8_E8M0, .f8_E4M3FNUZ, .f8_E5M2FNUZ: 8
        case .i16, .u16, .f16, .bf16: 16
        case .i32, .u32, .f32: 32
        case .c64, .f64, .i64, .u64: 64
        }
    }

    /// The ggml type with the same element layout, for the types both formats share.
    public var ggmlEquivalent: GGMLType? {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        case .f64: .f64
        case .i8: .i8
        case .i16: .i16
        case .i32: .i32
        case .i64: .i64
        default: nil
        }
    }
}

/// A tensor's element type: a ggml type in GGUF files, a safetensors dtype in safetensors files.
public enum TensorDType: Sendable, Hashable, CustomStringConvertible {
    case ggml(GGMLType)
    case safetensors(SafeTensorsDType)

    /// The name each format uses: ggml's ("Q4_K", "F16") or safetensors' ("BF16", "F8_E4M3").
    public var name: String {
        switch self {
        case .ggml(let type): type.name
        case .safetensors(let dtype): dtype.rawValue
        }
    }

    public var description: String { name }

    /// The ggml type with this storage layout, if there is one.
    public var ggmlType: GGMLType? {
        switch self {
        case .ggml(let type): type
        case .safetensors(let dtype): dtype.ggmlEquivalent
        }
    }

    /// Whether elements are stored in blocks with shared scales.
    public var isQuantized: Bool {
        if case .ggml(let type) = self { return type.traits.kind == .quantized }
        return false
    }

    /// Whether elements are integers or booleans (index buffers such as `position_ids`, never
    /// trained parameters).
    public var isInteger: Bool {
        switch self {
        case .ggml(let type): type.traits.kind == .integer
        case .safetensors(let dtype): dtype.rawValue.hasPrefix("I") || dtype.rawValue.hasPrefix("U") || dtype == .bool
        }
    }

    /// Elements per storage block (1 for element-wise types; 2 for F4, 4 for F6).
    public var blockSize: Int {
        switch self {
        case .ggml(let type): type.blockSize
        case .safetensors(let dtype):
            switch dtype.bitWidth {
            case 4: 2
            case 6: 4
            default: 1
            }
        }
    }

    /// Bytes per storage block.
    public var bytesPerBlock: Int {
        switch self {
        case .ggml(let type): type.bytesPerBlock
        case .safetensors(let dtype): dtype.bitWidth * blockSize / 8
        }
    }
}
