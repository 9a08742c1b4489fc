/// Hand-written matchers for the split patterns most vocabularies use, as llama.cpp's
/// `unicode_regex_split_custom_*` implement them (they are what llama.cpp runs, and they run
/// without a regex engine): GPT-2's, Llama 3's, Qwen2's, Qwen3.5's, Kimi-K2's, AFMoE's digit
/// grouping and the newline split of Gemma 4.
///
/// Each works on one segment `[start, end)` of code points and appends the end of every piece
/// it cuts. Positions outside the segment read as "nothing" (no flags), as in llama.cpp.
enum LlamaSplitter: Sendable {
    case gpt2, llama3, qwen2, qwen35, kimiK2, afmoeDigits, newlines

    /// The matcher llama.cpp substitutes for this exact regex, if any.
    init?(regex: String) {
        switch regex {
        case "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)":
            self = .gpt2
        case "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
             "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+":
            self = .llama3
        case "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+":
            self = .qwen2
        case "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+":
            self = .qwen35
        case "\\p{Han}+": self = .kimiK2
        case "\\p{AFMoE_digits}", "\\d{1,3}(?=(?:\\d{3})*\\b)": self = .afmoeDigits
        case "[^\\n]+|[\\n]+": self = .newlines
        default: return nil
        }
    }

    func split(_ text: UnsafeBufferPointer<UInt32>, _ start: Int, _ end: Int, into ends: inout [Int32]) {
        var cutter = Cutter(text: text, start: start, end: end)
        switch self {
        case .gpt2: cutter.gpt2()
        case .llama3: cutter.llamaStyle(digits: 3, marks: false)
        case .qwen2: cutter.llamaStyle(digits: 1, marks: false)
        case .qwen35: cutter.llamaStyle(digits: 1, marks: true)
        case .kimiK2: cutter.kimiK2()
        case .afmoeDigits: cutter.afmoeDigits()
        case .newlines: cutter.newlines()
        }
        ends.append(contentsOf: cutter.ends)
    }
}

private struct Cutter {
    let text: UnsafeBufferPointer<UInt32>
    let start: Int
    let end: Int
    var ends: [Int32] = []
    var previousEnd: Int

    static let outOfRange: UInt32 = 0xFFFF_FFFF

    init(text: UnsafeBufferPointer<UInt32>, start: Int, end: Int) {
        self.text = text
        self.start = start
        self.end = end
        self.previousEnd = start
    }

    @inline(__always) func cpt(_ position: Int) -> UInt32 {
        position >= start && position < end ? text[position] : Cutter.outOfRange
    }

    @inline(__always) func flags(_ position: Int) -> CodepointFlags {
        position >= start && position < end ? CodepointClasses.flags(text[position]) : []
    }

    /// Ends a piece at `position`; returns its length.
    @discardableResult
    @inline(__always) mutating func cut(_ position: Int) -> Int {
        let length = position - previousEnd
        if length > 0 { ends.append(Int32(truncatingIfNeeded: position)) }
        previousEnd = position
        return length
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d` at `position` (optionally case-insensitive): its length or 0.
    func contraction(at position: Int, caseless: Bool) -> Int {
        guard cpt(position) == 0x27, position + 1 < end else { return 0 }
        func lower(_ value: UInt32) -> UInt32 { caseless ? CodepointClasses.lowercase(value) : value }
        let next = lower(cpt(position + 1))
        if next == 0x73 || next == 0x74 || next == 0x6D || next == 0x64 { return 2 }  // s t m d
        guard position + 2 < end else { return 0 }
        let after = lower(cpt(position + 2))
        if (next == 0x72 && after == 0x65) || (next == 0x76 && after == 0x65) || (next == 0x6C && after == 0x6C) { return 3 }  // re ve ll
        return 0
    }

    // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
    mutating func gpt2() {
        var position = start
        while position < end {
            let c = cpt(position)
            let f = flags(position)
            let length = contraction(at: position, caseless: true)
            if length > 0 {
                position += cut(position + length)
                continue
            }
            var f2 = c == 0x20 ? flags(position + 1) : f
            if f2.contains(.letter) {
                if c == 0x20 { position += 1 }
                while f2.contains(.letter) { position += 1; f2 = flags(position) }
                cut(position)
                continue
            }
            if f2.contains(.number) {
                if c == 0x20 { position += 1 }
                while f2.contains(.number) { position += 1; f2 = flags(position) }
                cut(position)
                continue
            }
            if f2.isDisjoint(with: [.whitespace, .letter, .number]) && !f2.isEmpty {
                if c == 0x20 { position += 1 }
                while f2.isDisjoint(with: [.whitespace, .letter, .number]) && !f2.isEmpty { position += 1; f2 = flags(position) }
                cut(position)
                continue
            }
            var spaces = 0
            while flags(position + spaces).contains(.whitespace) { spaces += 1 }
            if spaces > 1 && cpt(position + spaces) != Cutter.outOfRange {
                position += spaces - 1
                cut(position)
                continue
            }
            if spaces > 0 {
                position += spaces
                cut(position)
                continue
            }
            position += 1
            cut(position)
        }
    }

    // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
    // (Qwen2: \p{N}; Qwen3.5: [\p{L}\p{M}] for letters)
    mutating func llamaStyle(digits: Int, marks: Bool) {
        let wordClass: CodepointFlags = marks ? [.letter, .mark] : .letter
        let punctuationExclusion: CodepointFlags = marks ? [.whitespace, .letter, .mark, .number] : [.whitespace, .letter, .number]
        var position = start
        while position < end {
            let c = cpt(position)
            let f = flags(position)
            let length = contraction(at: position, caseless: true)
            if length > 0 {
                position += cut(position + length)
                continue
            }
            if !(c == 0x0D || c == 0x0A || f.contains(.number)) {
                if !f.isDisjoint(with: wordClass) || !flags(position + 1).isDisjoint(with: wordClass) {
                    position += 1
                    while !flags(position).isDisjoint(with: wordClass) { position += 1 }
                    cut(position)
                    continue
                }
            }
            if f.contains(.number) {
                if digits == 1 {
                    position += 1
                    cut(position)
                    continue
                }
                var first = position
                while flags(position).contains(.number) {
                    position += 1
                    if position - first >= digits {
                        cut(position)
                        first = position
                    }
                }
                cut(position)
                continue
            }
            var f2 = c == 0x20 ? flags(position + 1) : f
            if f2.isDisjoint(with: punctuationExclusion) && !f.isEmpty {
                if c == 0x20 { position += 1 }
                while f2.isDisjoint(with: punctuationExclusion) && !f2.isEmpty { position += 1; f2 = flags(position) }
                var c2 = cpt(position)
                while c2 == 0x0D || c2 == 0x0A { position += 1; c2 = cpt(position) }
                cut(position)
                continue
            }
            var spaces = 0
            var lastLineEnd = 0
            while flags(position + spaces).contains(.whitespace) {
                let c2 = cpt(position + spaces)
                if c2 == 0x0D || c2 == 0x0A { lastLineEnd = position + spaces + 1 }
                spaces += 1
            }
            if lastLineEnd > 0 {
                position = lastLineEnd
                cut(position)
                continue
            }
            if spaces > 1 && cpt(position + spaces) != Cutter.outOfRange {
                position += spaces - 1
                cut(position)
                continue
            }
            if spaces > 0 {
                position += spaces
                cut(position)
                continue
            }
            position += 1
            cut(position)
        }
    }

    // [\p{Han}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+(?i:'s|...)?|...
    // as llama.cpp's custom matcher implements it (letters of any case, Han excluded).
    mutating func kimiK2() {
        var position = start
        while position < end {
            let c = cpt(position)
            let f = flags(position)
            if CodepointClasses.isHan(c) {
                while CodepointClasses.isHan(cpt(position)) { position += 1 }
                cut(position)
                continue
            }
            let canLead = !(c == 0x0D || c == 0x0A || f.contains(.letter) || f.contains(.number))
            let isLetterPattern = (f.contains(.letter) && !CodepointClasses.isHan(c))
                || (canLead && flags(position + 1).contains(.letter) && !CodepointClasses.isHan(cpt(position + 1)))
            if isLetterPattern {
                var hasLeading = false
                if canLead {
                    hasLeading = true
                    position += 1
                }
                var hasLetters = false
                while flags(position).contains(.letter) && !CodepointClasses.isHan(cpt(position)) {
                    hasLetters = true
                    position += 1
                }
                if hasLetters || (!hasLeading && flags(position).contains(.letter) && !CodepointClasses.isHan(cpt(position))) {
                    if !hasLetters { position += 1 }
                    while flags(position).contains(.letter) && !CodepointClasses.isHan(cpt(position)) { position += 1 }
                    if cpt(position) == 0x27 && position + 1 < end {
                        let next = CodepointClasses.lowercase(cpt(position + 1))
                        if next == 0x73 || next == 0x74 || next == 0x6D || next == 0x64 {
                            position += 2
                        } else if position + 2 < end {
                            let after = CodepointClasses.lowercase(cpt(position + 2))
                            if (next == 0x72 && after == 0x65) || (next == 0x76 && after == 0x65) || (next == 0x6C && after == 0x6C) {
                                position += 3
                            }
                        }
                    }
                    cut(position)
                    continue
                } else if hasLeading {
                    position -= 1
                }
            }
            if f.contains(.number) {
                var first = position
                while flags(position).contains(.number) {
                    position += 1
                    if position - first >= 3 {
                        cut(position)
                        first = position
                    }
                }
                cut(position)
                continue
            }
            var f2 = c == 0x20 ? flags(position + 1) : f
            if f2.isDisjoint(with: [.whitespace, .letter, .number]) && !f2.isEmpty {
                if c == 0x20 { position += 1 }
                while f2.isDisjoint(with: [.whitespace, .letter, .number]) && !f2.isEmpty { position += 1; f2 = flags(position) }
                var c2 = cpt(position)
                while c2 == 0x0D || c2 == 0x0A { position += 1; c2 = cpt(position) }
                cut(position)
                continue
            }
            var spaces = 0
            var lastLineEnd = 0
            while flags(position + spaces).contains(.whitespace) {
                let c2 = cpt(position + spaces)
                if c2 == 0x0D || c2 == 0x0A { lastLineEnd = position + spaces + 1 }
                spaces += 1
            }
            if lastLineEnd > 0 {
                position = lastLineEnd
                cut(position)
                continue
            }
            if spaces > 1 && cpt(position + spaces) != Cutter.outOfRange {
                position += spaces - 1
                cut(position)
                continue
            }
            if spaces > 0 {
                position += spaces
                cut(position)
                continue
            }
            position += 1
            cut(position)
        }
    }

    /// Runs of digits split into groups of three from the right; everything else one piece.
    mutating func afmoeDigits() {
        var position = start
        while position < end {
            if flags(position).contains(.number) {
                let first = position
                var count = 0
                while flags(position).contains(.number) && position < end {
                    count += 1
                    position += 1
                }
                var current = first
                let remainder = count % 3
                if remainder > 0 {
                    cut(current + remainder)
                    current += remainder
                }
                while current < first + count {
                    cut(current + 3)
                    current += 3
                }
                continue
            }
            position += 1
        }
        if previousEnd < end { cut(end) }
    }

    /// Runs of newlines and runs of everything else.
    mutating func newlines() {
        var position = start
        while position < end {
            let newline = text[position] == 0x0A
            while position < end && (text[position] == 0x0A) == newline { position += 1 }
            cut(position)
        }
    }
}
