/// Unicode facts the tokenizers need, from the Swift runtime's Unicode tables
/// (`Unicode.Scalar.Properties`).
///
/// llama.cpp keeps its own copy of the tables (`unicode-data.cpp`, an older Unicode version).
/// The two disagree only on code points that are unassigned in llama.cpp's version and assigned
/// in Swift's (about 10,000, all added in Unicode 16 and 17); WeightKit follows Swift's, and no
/// test text uses them. Lowercasing is Unicode's simple (one-to-one) lowercase mapping, as in
/// llama.cpp's `unicode_tolower`.
struct CodepointFlags: OptionSet, Sendable {
    let rawValue: UInt16

    // The categories, as llama.cpp's `unicode_cpt_flags` groups them.
    static let undefined = CodepointFlags(rawValue: 0x0001)    // Cn
    static let number = CodepointFlags(rawValue: 0x0002)       // N*
    static let letter = CodepointFlags(rawValue: 0x0004)       // L*
    static let separator = CodepointFlags(rawValue: 0x0008)    // Z*
    static let mark = CodepointFlags(rawValue: 0x0010)         // M*
    static let punctuation = CodepointFlags(rawValue: 0x0020)  // P*
    static let symbol = CodepointFlags(rawValue: 0x0040)       // S*
    static let control = CodepointFlags(rawValue: 0x0080)      // Cc, Cf, Co, Cs
    /// Unicode's White_Space property.
    static let whitespace = CodepointFlags(rawValue: 0x0100)

    static let categoryMask: UInt16 = 0x00FF
}

/// Unicode general categories, numbered for compact tables.
enum GeneralCategory: UInt8, Sendable {
    case lu, ll, lt, lm, lo, mn, mc, me, nd, nl, no, pc, pd, ps, pe, pi, pf, po, sm, sc, sk, so, zs, zl, zp, cc, cf, cs, co, cn

    init(_ category: Unicode.GeneralCategory) {
        switch category {
        case .uppercaseLetter: self = .lu
        case .lowercaseLetter: self = .ll
        case .titlecaseLetter: self = .lt
        case .modifierLetter: self = .lm
        case .otherLetter: self = .lo
        case .nonspacingMark: self = .mn
        case .spacingMark: self = .mc
        case .enclosingMark: self = .me
        case .decimalNumber: self = .nd
        case .letterNumber: self = .nl
        case .otherNumber: self = .no
        case .connectorPunctuation: self = .pc
        case .dashPunctuation: self = .pd
        case .openPunctuation: self = .ps
        case .closePunctuation: self = .pe
        case .initialPunctuation: self = .pi
        case .finalPunctuation: self = .pf
        case .otherPunctuation: self = .po
        case .mathSymbol: self = .sm
        case .currencySymbol: self = .sc
        case .modifierSymbol: self = .sk
        case .otherSymbol: self = .so
        case .spaceSeparator: self = .zs
        case .lineSeparator: self = .zl
        case .paragraphSeparator: self = .zp
        case .control: self = .cc
        case .format: self = .cf
        case .surrogate: self = .cs
        case .privateUse: self = .co
        case .unassigned: self = .cn
        @unknown default: self = .cn
        }
    }

    var flag: CodepointFlags {
        switch self {
        case .lu, .ll, .lt, .lm, .lo: .letter
        case .mn, .mc, .me: .mark
        case .nd, .nl, .no: .number
        case .pc, .pd, .ps, .pe, .pi, .pf, .po: .punctuation
        case .sm, .sc, .sk, .so: .symbol
        case .zs, .zl, .zp: .separator
        case .cc, .cf, .cs, .co: .control
        case .cn: .undefined
        }
    }
}

enum CodepointClasses {
    /// Flags (bits 0-8) and general category (bits 10-14) of every code point below U+10000,
    /// computed once from the runtime's tables.
    private static let basicPlane: [UInt16] = {
        var table = [UInt16](repeating: 0, count: 0x10000)
        for value in 0..<0x10000 {
            table[value] = computeEntry(UInt32(value))
        }
        return table
    }()

    private static func computeEntry(_ value: UInt32) -> UInt16 {
        guard let scalar = Unicode.Scalar(value) else {
            // Surrogates: category Cs.
            return CodepointFlags.control.rawValue | UInt16(GeneralCategory.cs.rawValue) << 10
        }
        let properties = scalar.properties
        let category = GeneralCategory(properties.generalCategory)
        var flags = category.flag
        if properties.isWhitespace { flags.insert(.whitespace) }
        return flags.rawValue | UInt16(category.rawValue) << 10
    }

    @inline(__always)
    private static func entry(_ value: UInt32) -> UInt16 {
        if value < 0x10000 { return basicPlane[Int(value)] }
        if value > 0x10FFFF { return 0 }
        return computeEntry(value)
    }

    /// llama.cpp's flags for a code point; empty above U+10FFFF.
    @inline(__always)
    static func flags(_ value: UInt32) -> CodepointFlags {
        CodepointFlags(rawValue: entry(value) & 0x03FF)
    }

    @inline(__always)
    static func category(_ value: UInt32) -> GeneralCategory {
        GeneralCategory(rawValue: UInt8(truncatingIfNeeded: (entry(value) >> 10) & 0x1F)) ?? .cn
    }

    /// Unicode's simple lowercase mapping (one code point to one).
    static func lowercase(_ value: UInt32) -> UInt32 {
        if value < 0x80 {
            return (value >= 0x41 && value <= 0x5A) ? value + 0x20 : value
        }
        if value < 0x10000 { return UInt32(lowercaseBasicPlane[Int(value)]) }
        return simpleLowercase(value)
    }

    private static let lowercaseBasicPlane: [UInt16] = {
        var table = [UInt16](repeating: 0, count: 0x10000)
        for value in 0..<0x10000 {
            let lower = simpleLowercase(UInt32(value))
            table[value] = lower < 0x10000 ? UInt16(lower) : UInt16(value)
        }
        return table
    }()

    private static func simpleLowercase(_ value: UInt32) -> UInt32 {
        guard let scalar = Unicode.Scalar(value) else { return value }
        // U+0130 is the one code point whose full lowercase mapping (i + combining dot) differs
        // from its simple one (i).
        if value == 0x130 { return 0x69 }
        let mapping = scalar.properties.lowercaseMapping.unicodeScalars
        guard mapping.count == 1, let first = mapping.first else { return value }
        return first.value
    }

    /// Full lowercase mapping (what Rust's `char::to_lowercase` and Python's `str.lower` give).
    static func fullLowercase(_ value: UInt32, into output: inout [UInt32]) {
        if value < 0x80 {
            output.append((value >= 0x41 && value <= 0x5A) ? value + 0x20 : value)
            return
        }
        guard let scalar = Unicode.Scalar(value) else { output.append(value); return }
        for mapped in scalar.properties.lowercaseMapping.unicodeScalars { output.append(mapped.value) }
    }

    /// llama.cpp's `unicode_cpt_is_han`.
    static func isHan(_ value: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(value) || (0x3400...0x4DBF).contains(value) || (0x20000...0x2A6DF).contains(value)
            || (0x2A700...0x2B73F).contains(value) || (0x2B740...0x2B81F).contains(value) || (0x2B820...0x2CEAF).contains(value)
            || (0x2CEB0...0x2EBEF).contains(value) || (0xF900...0xFAFF).contains(value) || (0x2F800...0x2FA1F).contains(value)
    }
}
