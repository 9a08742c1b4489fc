/// The tensor types of ggml, with their upstream numeric ids (ggml.h `enum ggml_type`,
/// gguf-py `GGMLQuantizationType`, pinned to gguf-py 0.19.0; Q2_0 = 42, which gguf-py 0.19.0
/// lacks, from ggml.h of the llama.cpp that llama-cpp-python 0.3.36 vendors).
///
/// Every fact about a type (name, block size, bytes per block, whether WeightKit can
/// dequantise it) lives in one table, `GGMLType.traits`. Code elsewhere asks the table; it
/// never switches over types to learn a size.
public enum GGMLType: UInt32, CaseIterable, Sendable, Hashable {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q5_0 = 6
    case q5_1 = 7
    case q8_0 = 8
    case q8_1 = 9
    case q2_K = 10
    case q3_K = 11
    case q4_K = 12
    case q5_K = 13
    case q6_K = 14
    case q8_K = 15
    case iq2_XXS = 16
    case iq2_XS = 17
    case iq3_XXS = 18
    case iq1_S = 19
    case iq4_NL = 20
    case iq3_S = 21
    case iq2_S = 22
    case iq4_XS = 23
    case i8 = 24
    case i16 = 25
    case i32 = 26
    case i64 = 27
    case f64 = 28
    case iq1_M = 29
    case bf16 = 30
    case tq1_0 = 34
    case tq2_0 = 35
    case mxfp4 = 39
    case nvfp4 = 40
    case q1_0 = 41
    case q2_0 = 42

    /// Ids that ggml once used and has since removed (ggml.h keeps them as comments).
    public static let removedIDs: [UInt32: String] = [
        4: "Q4_2", 5: "Q4_3", 31: "Q4_0_4_4", 32: "Q4_0_4_8", 33: "Q4_0_8_8",
        36: "IQ4_NL_4_4", 37: "IQ4_NL_4_8", 38: "IQ4_NL_8_8",
    ]

    /// What a tensor of this type stores.
    public enum Kind: Sendable {
        /// IEEE or brain floats, one per element (F32, F16, BF16, F64).
        case float
        /// Plain integers, one per element (I8 ... I64).
        case integer
        /// Blocks of quantised values with shared scales.
        case quantized
    }

    /// One row of the type table.
    public struct Traits: Sendable {
        /// The name ggml and gguf-py print ("Q4_K", "BF16").
        public let name: String
        /// Elements per block (1 for plain types).
        public let blockSize: Int
        /// Bytes per block.
        public let bytesPerBlock: Int
        public let kind: Kind
    }

    /// The type table. Block sizes and byte counts follow ggml-common.h.
    public var traits: Traits {
        switch self {
        case .f32: return Traits(name: "F32", blockSize: 1, bytesPerBlock: 4, kind: .float)
        case .f16: return Traits(name: "F16", blockSize: 1, bytesPerBlock: 2, kind: .float)
        case .q4_0: return Traits(name: "Q4_0", blockSize: 32, bytesPerBlock: 2 + 16, kind: .quantized)
        case .q4_1: return Traits(name: "Q4_1", blockSize: 32, bytesPerBlock: 2 + 2 + 16, kind: .quantized)
        case .q5_0: return Traits(name: "Q5_0", blockSize: 32, bytesPerBlock: 2 + 4 + 16, kind: .quantized)
        case .q5_1: return Traits(name: "Q5_1", blockSize: 32, bytesPerBlock: 2 + 2 + 4 + 16, kind: .quantized)
        case .q8_0: return Traits(name: "Q8_0", blockSize: 32, bytesPerBlock: 2 + 32, kind: .quantized)
        // ggml's block_q8_1 holds two halves (d, s) and 32 int8: 36 bytes. gguf-py 0.19.0's
        // table still says 40 (two floats); the registry test names this exception.
        case .q8_1: return Traits(name: "Q8_1", blockSize: 32, bytesPerBlock: 2 + 2 + 32, kind: .quantized)
        case .q2_K: return Traits(name: "Q2_K", blockSize: 256, bytesPerBlock: 2 + 2 + 16 + 64, kind: .quantized)
        case .q3_K: return Traits(name: "Q3_K", blockSize: 256, bytesPerBlock: 2 + 64 + 32 + 12, kind: .quantized)
        case .q4_K: return Traits(name: "Q4_K", blockSize: 256, bytesPerBlock: 2 + 2 + 128 + 12, kind: .quantized)
        case .q5_K: return Traits(name: "Q5_K", blockSize: 256, bytesPerBlock: 2 + 2 + 128 + 32 + 12, kind: .quantized)
        case .q6_K: return Traits(name: "Q6_K", blockSize: 256, bytesPerBlock: 2 + 128 + 64 + 16, kind: .quantized)
        case .q8_K: return Traits(name: "Q8_K", blockSize: 256, bytesPerBlock: 4 + 256 + 32, kind: .quantized)
        case .iq2_XXS: return Traits(name: "IQ2_XXS", blockSize: 256, bytesPerBlock: 2 + 64, kind: .quantized)
        case .iq2_XS: return Traits(name: "IQ2_XS", blockSize: 256, bytesPerBlock: 2 + 64 + 8, kind: .quantized)
        case .iq3_XXS: return Traits(name: "IQ3_XXS", blockSize: 256, bytesPerBlock: 2 + 64 + 32, kind: .quantized)
        case .iq1_S: return Traits(name: "IQ1_S", blockSize: 256, bytesPerBlock: 2 + 32 + 16, kind: .quantized)
        case .iq4_NL: return Traits(name: "IQ4_NL", blockSize: 32, bytesPerBlock: 2 + 16, kind: .quantized)
        case .iq3_S: return Traits(name: "IQ3_S", blockSize: 256, bytesPerBlock: 2 + 64 + 32 + 8 + 4, kind: .quantized)
        case .iq2_S: return Traits(name: "IQ2_S", blockSize: 256, bytesPerBlock: 2 + 64 + 16, kind: .quantized)
        case .iq4_XS: return Traits(name: "IQ4_XS", blockSize: 256, bytesPerBlock: 2 + 2 + 128 + 4, kind: .quantized)
        case .i8: return Traits(name: "I8", blockSize: 1, bytesPerBlock: 1, kind: .integer)
        case .i16: return Traits(name: "I16", blockSize: 1, bytesPerBlock: 2, kind: .integer)
        case .i32: return Traits(name: "I32", blockSize: 1, bytesPerBlock: 4, kind: .integer)
        case .i64: return Traits(name: "I64", blockSize: 1, bytesPerBlock: 8, kind: .integer)
        case .f64: return Traits(name: "F64", blockSize: 1, bytesPerBlock: 8, kind: .float)
        case .iq1_M: return Traits(name: "IQ1_M", blockSize: 256, bytesPerBlock: 32 + 16 + 8, kind: .quantized)
        case .bf16: return Traits(name: "BF16", blockSize: 1, bytesPerBlock: 2, kind: .float)
        case .tq1_0: return Traits(name: "TQ1_0", blockSize: 256, bytesPerBlock: 2 + 4 * 13, kind: .quantized)
        case .tq2_0: return Traits(name: "TQ2_0", blockSize: 256, bytesPerBlock: 2 + 64, kind: .quantized)
        case .mxfp4: return Traits(name: "MXFP4", blockSize: 32, bytesPerBlock: 1 + 16, kind: .quantized)
        case .nvfp4: return Traits(name: "NVFP4", blockSize: 64, bytesPerBlock: 4 + 32, kind: .quantized)
        case .q1_0: return Traits(name: "Q1_0", blockSize: 128, bytesPerBlock: 2 + 16, kind: .quantized)
        case .q2_0: return Traits(name: "Q2_0", blockSize: 64, bytesPerBlock: 2 + 16, kind: .quantized)
        }
    }

    public var name: String { traits.name }
    public var blockSize: Int { traits.blockSize }
    public var bytesPerBlock: Int { traits.bytesPerBlock }

    /// Storage cost per element in bits (4.5 for Q4_0 and Q4_K, 6.5625 for Q6_K, 8.5 for Q8_0).
    public var bitsPerWeight: Double { Double(bytesPerBlock * 8) / Double(blockSize) }

    /// Looks a type up by its ggml name, case-insensitively ("q4_k", "BF16").
    public init?(name: String) {
        let upper = name.uppercased()
        guard let match = GGMLType.allCases.first(where: { $0.name == upper }) else { return nil }
        self = match
    }

    /// Bytes needed for `elements` elements, or nil when `elements` is not a whole number of
    /// blocks or the product overflows.
    public func byteCount(elements: Int) -> Int? {
        guard elements >= 0, elements % blockSize == 0 else { return nil }
        let (bytes, overflow) = (elements / blockSize).multipliedReportingOverflow(by: bytesPerBlock)
        return overflow ? nil : bytes
    }
}
