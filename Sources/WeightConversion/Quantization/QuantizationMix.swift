import CKernels
import WeightFormats

/// The file types of llama-quantize (llama.h `llama_ftype`, the `QUANT_OPTIONS` of
/// tools/quantize/quantize.cpp in the llama.cpp that llama-cpp-python 0.3.36 vendors): a
/// default tensor type plus the rules of `llama_tensor_get_type` that give some tensors more
/// (or fewer) bits.
public enum QuantizationMix: UInt32, CaseIterable, Sendable, Hashable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q8_0 = 7, q5_0 = 8, q5_1 = 9
    case q2_K = 10, q3_K_S = 11, q3_K_M = 12, q3_K_L = 13, q4_K_S = 14, q4_K_M = 15, q5_K_S = 16, q5_K_M = 17, q6_K = 18
    case iq2_XXS = 19, iq2_XS = 20, q2_K_S = 21, iq3_XS = 22, iq3_XXS = 23, iq1_S = 24, iq4_NL = 25, iq3_S = 26
    case iq3_M = 27, iq2_S = 28, iq2_M = 29, iq4_XS = 30, iq1_M = 31, bf16 = 32, tq1_0 = 36, tq2_0 = 37
    case mxfp4_MOE = 38, q1_0 = 40, q2_0 = 41

    /// The `llama_ftype` number written as `general.file_type`.
    public var fileType: UInt32 { rawValue }

    /// llama-quantize's spelling ("Q4_K_M", "MXFP4_MOE").
    public var name: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .mxfp4_MOE: return "MXFP4_MOE"
        default: return "\(self)".uppercased()
        }
    }

    /// The type of every tensor the rules leave alone (`llama_ftype_get_default_type`).
    public var defaultType: GGMLType {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        case .q5_0: return .q5_0
        case .q5_1: return .q5_1
        case .q8_0: return .q8_0
        case .q1_0: return .q1_0
        case .q2_0: return .q2_0
        case .mxfp4_MOE: return .mxfp4
        case .q2_K, .q2_K_S: return .q2_K
        case .iq3_XS: return .iq3_S
        case .q3_K_S, .q3_K_M, .q3_K_L: return .q3_K
        case .q4_K_S, .q4_K_M: return .q4_K
        case .q5_K_S, .q5_K_M: return .q5_K
        case .q6_K: return .q6_K
        case .tq1_0: return .tq1_0
        case .tq2_0: return .tq2_0
        case .iq2_XXS: return .iq2_XXS
        case .iq2_XS, .iq2_S: return .iq2_XS
        case .iq2_M: return .iq2_S
        case .iq3_XXS: return .iq3_XXS
        case .iq1_S: return .iq1_S
        case .iq1_M: return .iq1_M
        case .iq4_NL: return .iq4_NL
        case .iq4_XS: return .iq4_XS
        case .iq3_S, .iq3_M: return .iq3_S
        }
    }

    /// Whether the mix is a plain float cast (its tensors are not quantised).
    public var isFloat: Bool { self == .f32 || self == .f16 || self == .bf16 }

    /// The mix llama.cpp's loader guesses for a file without `general.file_type`: from its most
    /// common tensor type (the first to reach the top count, in the loader's visit order).
    static func guessed(from type: GGMLType) -> UInt32 {
        let table: [GGMLType: UInt32] = [
            .f32: 0, .f16: 1, .bf16: 32, .q4_0: 2, .q4_1: 3, .q5_0: 8, .q5_1: 9, .q8_0: 7, .q2_K: 10, .q3_K: 12, .q4_K: 15,
            .q5_K: 17, .q6_K: 18, .tq1_0: 36, .tq2_0: 37, .iq2_XXS: 19, .iq2_XS: 20, .iq2_S: 28, .iq3_XXS: 23, .iq1_S: 24,
            .iq1_M: 31, .iq4_NL: 25, .iq4_XS: 30, .iq3_S: 26, .nvfp4: 39, .q1_0: 40, .q2_0: 41,
        ]
        return (table[type] ?? 0) | 1024   // LLAMA_FTYPE_GUESSED
    }
}

/// What llama-quantize's TYPE argument names: a mix, or COPY (every tensor copied as it is).
public enum QuantizationTarget: Sendable, Hashable {
    case mix(QuantizationMix)
    case copy

    /// `QUANT_OPTIONS` in llama-quantize's order: the names it accepts (case-insensitive), with
    /// the aliases Q3_K, Q4_K and Q5_K for the _M mixes, and COPY last.
    public static let options: [(name: String, target: QuantizationTarget)] = [
        ("Q1_0", .mix(.q1_0)), ("Q2_0", .mix(.q2_0)), ("Q4_0", .mix(.q4_0)), ("Q4_1", .mix(.q4_1)),
        ("MXFP4_MOE", .mix(.mxfp4_MOE)), ("Q5_0", .mix(.q5_0)), ("Q5_1", .mix(.q5_1)), ("IQ2_XXS", .mix(.iq2_XXS)),
        ("IQ2_XS", .mix(.iq2_XS)), ("IQ2_S", .mix(.iq2_S)), ("IQ2_M", .mix(.iq2_M)), ("IQ1_S", .mix(.iq1_S)),
        ("IQ1_M", .mix(.iq1_M)), ("TQ1_0", .mix(.tq1_0)), ("TQ2_0", .mix(.tq2_0)), ("Q2_K", .mix(.q2_K)),
        ("Q2_K_S", .mix(.q2_K_S)), ("IQ3_XXS", .mix(.iq3_XXS)), ("IQ3_S", .mix(.iq3_S)), ("IQ3_M", .mix(.iq3_M)),
        ("Q3_K", .mix(.q3_K_M)), ("IQ3_XS", .mix(.iq3_XS)), ("Q3_K_S", .mix(.q3_K_S)), ("Q3_K_M", .mix(.q3_K_M)),
        ("Q3_K_L", .mix(.q3_K_L)), ("IQ4_NL", .mix(.iq4_NL)), ("IQ4_XS", .mix(.iq4_XS)), ("Q4_K", .mix(.q4_K_M)),
        ("Q4_K_S", .mix(.q4_K_S)), ("Q4_K_M", .mix(.q4_K_M)), ("Q5_K", .mix(.q5_K_M)), ("Q5_K_S", .mix(.q5_K_S)),
        ("Q5_K_M", .mix(.q5_K_M)), ("Q6_K", .mix(.q6_K)), ("Q8_0", .mix(.q8_0)), ("F16", .mix(.f16)),
        ("BF16", .mix(.bf16)), ("F32", .mix(.f32)), ("COPY", .copy),
    ]

    /// Parses TYPE as llama-quantize does (`try_parse_ftype`): a name of `options`
    /// (case-insensitive), else a number (its leading integer, as `std::stoi` reads it) matched
    /// against the options' file types, the first option with that number winning (0 is F32).
    /// Returns the option's name and target, or nil.
    public static func parse(_ text: String) -> (name: String, target: QuantizationTarget)? {
        let upper = text.uppercased()
        if let option = options.first(where: { $0.name == upper }) { return option }
        guard let number = leadingInteger(text) else { return nil }
        return options.first { option in
            switch option.target {
            case .mix(let mix): return Int64(mix.fileType) == number
            case .copy: return number == 0
            }
        }
    }

    /// std::stoi's reading: leading white space, an optional sign, then at least one digit.
    static func leadingInteger(_ text: String) -> Int64? {
        var scalars = Substring(text).unicodeScalars.drop { $0 == " " || ("\t"..."\r").contains($0) }
        var negative = false
        if let sign = scalars.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            scalars = scalars.dropFirst()
        }
        let digits = scalars.prefix { ("0"..."9").contains($0) }
        guard !digits.isEmpty, digits.count <= 10, let value = Int64(String(String.UnicodeScalarView(digits))) else { return nil }
        let signed = negative ? -value : value
        return signed >= Int64(Int32.min) && signed <= Int64(Int32.max) ? signed : nil
    }

    /// The name nearest `text` among the options (for "did you mean").
    public static func nearestName(to text: String) -> String {
        let upper = Array(text.uppercased().utf8)
        var best = options[0].name, bestDistance = Int.max
        for option in options {
            let distance = editDistance(upper, Array(option.name.utf8))
            if distance < bestDistance { best = option.name; bestDistance = distance }
        }
        return best
    }

    static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count), current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
