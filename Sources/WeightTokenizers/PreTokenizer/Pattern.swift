/// A small backtracking regular-expression engine for pre-tokenizer and normalizer patterns.
///
/// It runs on arrays of code units (`UInt32`) and knows three dialects, because the same pattern
/// text means slightly different things to the three programs WeightKit reproduces:
///
/// - `.llamaCollapsed`: llama.cpp's `std::regex` (ECMAScript) on its "collapsed" text, used when
///   a pattern mentions `\p{...}`. Every code point of 128 or more becomes one byte: 0x0B for
///   whitespace, 0xD1 number, 0xD2 letter, 0xD3 punctuation, 0xD4 mark, 0xD5 symbol, 0xD0
///   anything else; `\p{L}` becomes `[\xD2A-Za-z]` and so on (`\p{Lu}` etc. are all letters).
///   `\s` is ASCII whitespace (which includes 0x0B), `\d` ASCII digits, `\w` ASCII word chars.
/// - `.llamaWide`: llama.cpp's `std::wregex` on code points, used for patterns without `\p`:
///   non-ASCII whitespace becomes 0x0B; `\s`, `\d`, `\w` are ASCII.
/// - `.unicode`: Oniguruma as the Hugging Face `tokenizers` library uses it: `\p{..}` are
///   Unicode general categories, `\s` is White_Space, `\d` decimal digits, `\w` letters, marks,
///   numbers and connector punctuation; `(?i:...)` folds case; `$` also matches before `\n`.
///
/// Syntax: literals and escapes (`\t \n \r \f \v \0 \xHH \uHHHH \x{H..}`), `.`, classes with
/// ranges and negation, `\s \S \d \D \w \W \p{..} \P{..}`, groups `(...)`, `(?:...)`,
/// `(?i:...)`, lookahead `(?=...)` `(?!...)`, alternation, `* + ? {n} {n,} {n,m}` (greedy,
/// lazy with `?`, possessive `+` treated as greedy as llama.cpp does), anchors `^ $ \b \B`.
/// Alternation is ordered (the first alternative that leads to a match wins), as in both
/// engines. Matching is bounded: every match attempt stops after a fixed number of steps.
struct Pattern: Sendable {
    enum Dialect: Sendable { case llamaCollapsed, llamaWide, unicode }

    let source: String
    let dialect: Dialect
    fileprivate let program: Program

    /// Compiles `source` in `dialect`.
    init(_ source: String, dialect: Dialect) throws {
        self.source = source
        self.dialect = dialect
        var parser = PatternParser(source: source, dialect: dialect)
        let node = try parser.parseAll()
        var compiler = PatternCompiler()
        compiler.program.dialect = dialect
        self.program = compiler.compile(node)
    }

    /// llama.cpp's choice of dialect for one of its regexes.
    static func llamaDialect(for source: String) -> Dialect {
        for name in ["\\p{N}", "\\p{L}", "\\p{P}", "\\p{M}", "\\p{S}", "\\p{Lu}", "\\p{Ll}", "\\p{Lt}", "\\p{Lm}", "\\p{Lo}"]
        where source.contains(name) {
            return .llamaCollapsed
        }
        return .llamaWide
    }

    /// The code units this pattern runs on, for code points `text`.
    func units(for text: UnsafeBufferPointer<UInt32>) -> [UInt32] {
        switch dialect {
        case .unicode: return Array(text)
        case .llamaWide:
            return text.map { $0 > 0x7F && CodepointClasses.flags($0).contains(.whitespace) ? 0x0B : $0 }
        case .llamaCollapsed:
            return text.map { Pattern.collapse($0) }
        }
    }

    static func collapse(_ value: UInt32) -> UInt32 {
        if value < 128 { return value }
        let flags = CodepointClasses.flags(value)
        if flags.contains(.whitespace) { return 0x0B }
        switch flags.rawValue & CodepointFlags.categoryMask {
        case CodepointFlags.number.rawValue: return 0xD1
        case CodepointFlags.letter.rawValue: return 0xD2
        case CodepointFlags.punctuation.rawValue: return 0xD3
        case CodepointFlags.mark.rawValue: return 0xD4
        case CodepointFlags.symbol.rawValue: return 0xD5
        default: return 0xD0
        }
    }

    /// The first match in `units[range]` starting at or after `from`, as a range of indices.
    /// Matches never look outside `range` (the text a split step is given).
    func firstMatch(in units: UnsafeBufferPointer<UInt32>, range: Range<Int>, from: Int) -> Range<Int>? {
        var machine = Machine(program: program, units: units, lower: range.lowerBound, upper: range.upperBound)
        return machine.search(from: from)
    }

    /// Every match in `units[range]`, left to right, as `std::regex_iterator` finds them: after
    /// an empty match at p, a non-empty match starting at p comes next if there is one,
    /// otherwise the search goes on from p + 1.
    func matches(in units: UnsafeBufferPointer<UInt32>, range: Range<Int>) -> [Range<Int>] {
        var machine = Machine(program: program, units: units, lower: range.lowerBound, upper: range.upperBound)
        var found: [Range<Int>] = []
        var position = range.lowerBound
        while position <= range.upperBound {
            guard let match = machine.search(from: position) else { break }
            found.append(match)
            if !match.isEmpty {
                position = match.upperBound
                continue
            }
            if let end = machine.runNotEmpty(at: match.lowerBound) {
                found.append(match.lowerBound..<end)
                position = end
                continue
            }
            position = match.lowerBound + 1
        }
        return found
    }
}

// MARK: - Syntax tree

/// A set of code units: ranges, general categories, and the `\s \d \w` classes of a dialect.
struct UnitSet: Sendable {
    var ranges: [ClosedRange<UInt32>] = []
    /// Bit `GeneralCategory.rawValue` set: that category belongs (unicode dialect).
    var categories: UInt32 = 0
    var whitespace = false
    var digits = false
    var word = false
    var negatedWhitespace = false
    var negatedDigits = false
    var negatedWord = false
    /// Nested negated category sets (`\P{L}` inside a class).
    var negatedCategories: UInt32 = 0
    var negated = false
    var dialect: Pattern.Dialect = .unicode
    var caseless = false

    func contains(_ unit: UInt32) -> Bool {
        var hit = containsRaw(unit)
        if !hit && caseless {
            let folded = PatternParser.fold(unit)
            if folded != unit { hit = containsRaw(folded) }
            if !hit {
                for variant in PatternParser.caseVariants(unit) where variant != unit && containsRaw(variant) { hit = true; break }
            }
        }
        return hit != negated
    }

    private func containsRaw(_ unit: UInt32) -> Bool {
        for range in ranges where range.contains(unit) { return true }
        if categories != 0 || negatedCategories != 0 {
            let bit = UInt32(1) << UInt32(CodepointClasses.category(unit).rawValue)
            if categories & bit != 0 { return true }
            if negatedCategories != 0 && negatedCategories & bit == 0 { return true }
        }
        if whitespace && Self.isSpace(unit, dialect) { return true }
        if negatedWhitespace && !Self.isSpace(unit, dialect) { return true }
        if digits && Self.isDigit(unit, dialect) { return true }
        if negatedDigits && !Self.isDigit(unit, dialect) { return true }
        if word && Self.isWord(unit, dialect) { return true }
        if negatedWord && !Self.isWord(unit, dialect) { return true }
        return false
    }

    static func isSpace(_ unit: UInt32, _ dialect: Pattern.Dialect) -> Bool {
        switch dialect {
        case .unicode: return CodepointClasses.flags(unit).contains(.whitespace)
        case .llamaCollapsed, .llamaWide: return unit == 0x20 || (unit >= 0x09 && unit <= 0x0D)
        }
    }

    static func isDigit(_ unit: UInt32, _ dialect: Pattern.Dialect) -> Bool {
        switch dialect {
        case .unicode: return unit >= 0x30 && unit <= 0x39 || (unit > 0x7F && CodepointClasses.category(unit) == .nd)
        case .llamaCollapsed, .llamaWide: return unit >= 0x30 && unit <= 0x39
        }
    }

    static func isWord(_ unit: UInt32, _ dialect: Pattern.Dialect) -> Bool {
        if unit < 0x80 {
            return (unit >= 0x30 && unit <= 0x39) || (unit >= 0x41 && unit <= 0x5A) || (unit >= 0x61 && unit <= 0x7A) || unit == 0x5F
        }
        guard dialect == .unicode else { return false }
        switch CodepointClasses.category(unit) {
        case .lu, .ll, .lt, .lm, .lo, .mn, .mc, .me, .nd, .nl, .no, .pc: return true
        default: return false
        }
    }
}

indirect enum PatternNode {
    case empty
    case unit(UInt32, caseless: Bool)
    case set(UnitSet)
    case any
    case concat([PatternNode])
    case alternate([PatternNode])
    case repetition(PatternNode, min: Int, max: Int?, greedy: Bool)
    case lookahead(PatternNode, negative: Bool)
    case startAnchor
    case endAnchor
    case wordBoundary(negated: Bool)

    var nullable: Bool {
        switch self {
        case .empty, .lookahead, .startAnchor, .endAnchor, .wordBoundary: true
        case .unit, .set, .any: false
        case .concat(let nodes): nodes.allSatisfy(\.nullable)
        case .alternate(let nodes): nodes.contains(where: \.nullable)
        case .repetition(let node, let min, _, _): min == 0 || node.nullable
        }
    }
}

// MARK: - Parser

struct PatternParser {
    let source: String
    let dialect: Pattern.Dialect
    private let scalars: [UInt32]
    private var position = 0
    private var caseless = false

    init(source: String, dialect: Pattern.Dialect) {
        self.source = source
        self.dialect = dialect
        self.scalars = source.unicodeScalars.map(\.value)
    }

    private func error(_ reason: String) -> TokenizerError {
        .invalidPattern(pattern: source, offset: position, reason: reason)
    }

    mutating func parseAll() throws -> PatternNode {
        if dialect == .llamaCollapsed, scalars.contains(where: { $0 >= 128 }) {
            throw error("a pattern with Unicode categories must be ASCII (llama.cpp's collapsed form)")
        }
        let node = try parseAlternation(depth: 0)
        guard position == scalars.count else { throw error("unbalanced ')'") }
        return node
    }

    private var atEnd: Bool { position >= scalars.count }
    private func peek(_ offset: Int = 0) -> UInt32? {
        position + offset < scalars.count ? scalars[position + offset] : nil
    }

    private mutating func parseAlternation(depth: Int) throws -> PatternNode {
        guard depth < 64 else { throw error("groups nested too deeply") }
        var branches: [PatternNode] = [try parseConcatenation(depth: depth)]
        while peek() == UInt32(ascii: "|") {
            position += 1
            branches.append(try parseConcatenation(depth: depth))
        }
        return branches.count == 1 ? branches[0] : .alternate(branches)
    }

    private mutating func parseConcatenation(depth: Int) throws -> PatternNode {
        var items: [PatternNode] = []
        while let next = peek(), next != UInt32(ascii: "|"), next != UInt32(ascii: ")") {
            var atom = try parseAtom(depth: depth)
            atom = try parseQuantifiers(atom)
            items.append(atom)
        }
        if items.isEmpty { return .empty }
        return items.count == 1 ? items[0] : .concat(items)
    }

    private mutating func parseQuantifiers(_ atom: PatternNode) throws -> PatternNode {
        var node = atom
        while let next = peek() {
            var minimum = 0, maximum: Int? = nil
            switch next {
            case UInt32(ascii: "*"): position += 1
            case UInt32(ascii: "+"): minimum = 1; position += 1
            case UInt32(ascii: "?"): maximum = 1; position += 1
            case UInt32(ascii: "{"):
                guard let (low, high, length) = parseBraces() else { return node }
                minimum = low; maximum = high; position += length
            default: return node
            }
            if let maximum, maximum < minimum { throw error("repetition {\(minimum),\(maximum)} has max below min") }
            guard minimum <= 1000, (maximum ?? 0) <= 1000 else { throw error("repetition count above 1000") }
            var greedy = true
            if peek() == UInt32(ascii: "?") { greedy = false; position += 1 } else if peek() == UInt32(ascii: "+") { position += 1 }
            switch node {
            case .startAnchor, .endAnchor, .wordBoundary, .lookahead, .empty: break  // quantified assertions: as written once
            default: node = .repetition(node, min: minimum, max: maximum, greedy: greedy)
            }
        }
        return node
    }

    /// `{n}`, `{n,}`, `{n,m}` at the cursor: (min, max, characters used); nil when the brace is a literal.
    private func parseBraces() -> (Int, Int?, Int)? {
        var index = position + 1
        func number(_ index: inout Int) -> Int? {
            var value = 0, digits = 0
            while index < scalars.count, scalars[index] >= 0x30, scalars[index] <= 0x39, digits < 6 {
                value = value * 10 + Int(scalars[index] - 0x30)
                index += 1
                digits += 1
            }
            return digits > 0 ? value : nil
        }
        guard let low = number(&index) else { return nil }
        var high: Int? = low
        if index < scalars.count, scalars[index] == UInt32(ascii: ",") {
            index += 1
            high = number(&index)
        }
        guard index < scalars.count, scalars[index] == UInt32(ascii: "}") else { return nil }
        return (low, high, index + 1 - position)
    }

    private mutating func parseAtom(depth: Int) throws -> PatternNode {
        guard let next = peek() else { throw error("unexpected end") }
        position += 1
        switch next {
        case UInt32(ascii: "("):
            var negativeLook: Bool? = nil
            let savedCaseless = caseless
            if peek() == UInt32(ascii: "?") {
                position += 1
                switch peek() {
                case UInt32(ascii: ":"): position += 1
                case UInt32(ascii: "="): position += 1; negativeLook = false
                case UInt32(ascii: "!"): position += 1; negativeLook = true
                case UInt32(ascii: "i"):
                    guard peek(1) == UInt32(ascii: ":") else { throw error("only (?i:...) flags are supported") }
                    position += 2
                    caseless = true
                case UInt32(ascii: "<"):
                    // Named group (?<name>...); lookbehind is not supported.
                    guard let after = peek(1), after != UInt32(ascii: "="), after != UInt32(ascii: "!") else {
                        throw error("lookbehind is not supported")
                    }
                    while let c = peek(), c != UInt32(ascii: ">") { position += 1 }
                    guard peek() == UInt32(ascii: ">") else { throw error("unterminated group name") }
                    position += 1
                default: throw error("unsupported group syntax")
                }
            }
            let inner = try parseAlternation(depth: depth + 1)
            caseless = savedCaseless
            guard peek() == UInt32(ascii: ")") else { throw error("missing ')'") }
            position += 1
            if let negative = negativeLook { return .lookahead(inner, negative: negative) }
            return inner
        case UInt32(ascii: "["):
            return .set(try parseClass())
        case UInt32(ascii: "."):
            return .any
        case UInt32(ascii: "^"):
            return .startAnchor
        case UInt32(ascii: "$"):
            return .endAnchor
        case UInt32(ascii: "\\"):
            return try parseEscape(inClass: false).node(caseless: caseless)
        case UInt32(ascii: ")"), UInt32(ascii: "*"), UInt32(ascii: "+"), UInt32(ascii: "?"):
            position -= 1
            throw error("nothing to repeat or unbalanced ')'")
        default:
            return .unit(next, caseless: caseless)
        }
    }

    enum Escape {
        case unit(UInt32)
        case set(UnitSet)
        case wordBoundary(Bool)

        func node(caseless: Bool) -> PatternNode {
            switch self {
            case .unit(let value): return PatternNode.unit(value, caseless: caseless)
            case .set(let set):
                var copy = set
                copy.caseless = caseless
                return PatternNode.set(copy)
            case .wordBoundary(let negated): return PatternNode.wordBoundary(negated: negated)
            }
        }
    }

    private mutating func parseEscape(inClass: Bool) throws -> Escape {
        guard let next = peek() else { throw error("pattern ends with '\\'") }
        position += 1
        var set = UnitSet()
        set.dialect = dialect
        switch next {
        case UInt32(ascii: "t"): return .unit(0x09)
        case UInt32(ascii: "n"): return .unit(0x0A)
        case UInt32(ascii: "r"): return .unit(0x0D)
        case UInt32(ascii: "f"): return .unit(0x0C)
        case UInt32(ascii: "v"): return .unit(0x0B)
        case UInt32(ascii: "0"): return .unit(0)
        case UInt32(ascii: "a"): return .unit(0x07)
        case UInt32(ascii: "e"): return .unit(0x1B)
        case UInt32(ascii: "b") where inClass: return .unit(0x08)
        case UInt32(ascii: "b"): return .wordBoundary(false)
        case UInt32(ascii: "B"): return .wordBoundary(true)
        case UInt32(ascii: "s"): set.whitespace = true; return .set(set)
        case UInt32(ascii: "S"): set.negatedWhitespace = true; return .set(set)
        case UInt32(ascii: "d"): set.digits = true; return .set(set)
        case UInt32(ascii: "D"): set.negatedDigits = true; return .set(set)
        case UInt32(ascii: "w"): set.word = true; return .set(set)
        case UInt32(ascii: "W"): set.negatedWord = true; return .set(set)
        case UInt32(ascii: "x"):
            if peek() == UInt32(ascii: "{") {
                position += 1
                var value: UInt32 = 0, digits = 0
                while let c = peek(), let digit = Self.hexDigit(c) {
                    value = value &* 16 &+ digit
                    digits += 1
                    position += 1
                    guard digits <= 8 else { throw error("\\x{...} too long") }
                }
                guard digits > 0, peek() == UInt32(ascii: "}") else { throw error("invalid \\x{...}") }
                position += 1
                guard value <= 0x10FFFF else { throw error("code point above U+10FFFF") }
                return .unit(value)
            }
            return .unit(try hex(2))
        case UInt32(ascii: "u"):
            return .unit(try hex(4))
        case UInt32(ascii: "p"), UInt32(ascii: "P"):
            let negative = next == UInt32(ascii: "P")
            guard peek() == UInt32(ascii: "{") else { throw error("\\p needs {name}") }
            var name = ""
            position += 1
            while let c = peek(), c != UInt32(ascii: "}") {
                name.unicodeScalars.append(Unicode.Scalar(c) ?? "?")
                position += 1
                guard name.count < 40 else { throw error("\\p{...} name too long") }
            }
            guard peek() == UInt32(ascii: "}") else { throw error("unterminated \\p{") }
            position += 1
            return .set(try propertySet(name, negative: negative))
        default:
            if (next >= 0x41 && next <= 0x5A) || (next >= 0x61 && next <= 0x7A) || (next >= 0x30 && next <= 0x39) {
                throw error("unsupported escape '\\\(Unicode.Scalar(next).map { String($0) } ?? "?")'")
            }
            return .unit(next)
        }
    }

    private static func hexDigit(_ c: UInt32) -> UInt32? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }

    private mutating func hex(_ count: Int) throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<count {
            guard let c = peek(), let digit = Self.hexDigit(c) else { throw error("invalid hexadecimal escape") }
            value = value * 16 + digit
            position += 1
        }
        return value
    }

    /// `\p{name}`: a general category (or group of them) in the unicode dialect; in llama.cpp's
    /// collapsed dialect the collapsed byte plus the ASCII members, as llama.cpp rewrites it.
    private func propertySet(_ name: String, negative: Bool) throws -> UnitSet {
        var set = UnitSet()
        set.dialect = dialect
        switch dialect {
        case .llamaWide:
            throw error("\\p{\(name)} in a pattern llama.cpp runs without Unicode categories")
        case .llamaCollapsed:
            guard !negative else { throw error("\\P{...} is not supported in llama.cpp's collapsed form") }
            func r(_ a: Character, _ b: Character) -> ClosedRange<UInt32> { a.unicodeScalars.first!.value...b.unicodeScalars.first!.value }
            switch name {
            case "N": set.ranges = [0xD1...0xD1, r("0", "9")]
            case "L", "Lu", "Ll", "Lt", "Lm", "Lo": set.ranges = [0xD2...0xD2, r("A", "Z"), r("a", "z")]
            case "P":
                set.ranges = [0xD3...0xD3, r("!", "#"), r("%", "*"), r(",", "/"), r(":", ";"), r("?", "@"), r("[", "]"),
                              r("_", "_"), r("{", "{"), r("}", "}")]
            case "M": set.ranges = [0xD4...0xD4]
            case "S": set.ranges = [0xD5...0xD5, r("$", "$"), r("+", "+"), r("<", ">"), r("^", "^"), r("`", "`"), r("|", "|"), r("~", "~")]
            default: throw error("\\p{\(name)} is not one of llama.cpp's categories")
            }
            return set
        case .unicode:
            let categories: [GeneralCategory]
            switch name {
            case "L", "Letter": categories = [.lu, .ll, .lt, .lm, .lo]
            case "Lu": categories = [.lu]
            case "Ll": categories = [.ll]
            case "Lt": categories = [.lt]
            case "Lm": categories = [.lm]
            case "Lo": categories = [.lo]
            case "M", "Mark": categories = [.mn, .mc, .me]
            case "Mn": categories = [.mn]
            case "Mc": categories = [.mc]
            case "Me": categories = [.me]
            case "N", "Number": categories = [.nd, .nl, .no]
            case "Nd": categories = [.nd]
            case "Nl": categories = [.nl]
            case "No": categories = [.no]
            case "P", "Punctuation": categories = [.pc, .pd, .ps, .pe, .pi, .pf, .po]
            case "Pc": categories = [.pc]
            case "Pd": categories = [.pd]
            case "Ps": categories = [.ps]
            case "Pe": categories = [.pe]
            case "Pi": categories = [.pi]
            case "Pf": categories = [.pf]
            case "Po": categories = [.po]
            case "S", "Symbol": categories = [.sm, .sc, .sk, .so]
            case "Sm": categories = [.sm]
            case "Sc": categories = [.sc]
            case "Sk": categories = [.sk]
            case "So": categories = [.so]
            case "Z", "Separator": categories = [.zs, .zl, .zp]
            case "Zs": categories = [.zs]
            case "Zl": categories = [.zl]
            case "Zp": categories = [.zp]
            case "C", "Other": categories = [.cc, .cf, .cs, .co, .cn]
            case "Cc": categories = [.cc]
            case "Cf": categories = [.cf]
            case "Co": categories = [.co]
            case "Cn": categories = [.cn]
            case "Han":
                set.ranges = PatternParser.hanRanges
                set.negated = negative
                return set
            default: throw error("unknown property \\p{\(name)}")
            }
            var mask: UInt32 = 0
            for category in categories { mask |= UInt32(1) << UInt32(category.rawValue) }
            if negative { set.negatedCategories = mask } else { set.categories = mask }
            return set
        }
    }

    /// Script=Han, as far as the tokenizers' patterns use it (the CJK ideograph blocks).
    static let hanRanges: [ClosedRange<UInt32>] = [
        0x2E80...0x2E99, 0x2E9B...0x2EF3, 0x2F00...0x2FD5, 0x3005...0x3005, 0x3007...0x3007, 0x3021...0x3029,
        0x3038...0x303B, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFA6D, 0xFA70...0xFAD9, 0x16FE2...0x16FE3,
        0x16FF0...0x16FF1, 0x20000...0x2A6DF, 0x2A700...0x2B739, 0x2B740...0x2B81D, 0x2B820...0x2CEA1,
        0x2CEB0...0x2EBE0, 0x2EBF0...0x2EE5D, 0x2F800...0x2FA1D, 0x30000...0x3134A, 0x31350...0x323AF,
    ]

    private mutating func parseClass() throws -> UnitSet {
        var set = UnitSet()
        set.dialect = dialect
        set.caseless = caseless
        if peek() == UInt32(ascii: "^") { set.negated = true; position += 1 }
        var first = true
        while true {
            guard let next = peek() else { throw error("unterminated '['") }
            if next == UInt32(ascii: "]") && !first { position += 1; break }
            first = false
            // A nested class: llama.cpp's patterns do not use them; Oniguruma's `&&` is not supported.
            if next == UInt32(ascii: "[") { throw error("nested classes are not supported") }
            let low: UInt32
            if next == UInt32(ascii: "\\") {
                position += 1
                switch try parseEscape(inClass: true) {
                case .unit(let value): low = value
                case .set(let inner):
                    merge(inner, into: &set)
                    continue
                case .wordBoundary: throw error("\\b inside a class")
                }
            } else {
                position += 1
                low = next
            }
            // A range a-b (a '-' before ']' is literal).
            if peek() == UInt32(ascii: "-"), let after = peek(1), after != UInt32(ascii: "]") {
                position += 1
                let high: UInt32
                if after == UInt32(ascii: "\\") {
                    position += 1
                    guard case .unit(let value) = try parseEscape(inClass: true) else { throw error("a class cannot end a range") }
                    high = value
                } else {
                    position += 1
                    high = after
                }
                guard high >= low else { throw error("range out of order") }
                set.ranges.append(low...high)
            } else {
                set.ranges.append(low...low)
            }
        }
        return set
    }

    private func merge(_ inner: UnitSet, into set: inout UnitSet) {
        set.ranges += inner.negated ? [] : inner.ranges
        set.categories |= inner.categories
        set.negatedCategories |= inner.negatedCategories
        set.whitespace = set.whitespace || inner.whitespace
        set.negatedWhitespace = set.negatedWhitespace || inner.negatedWhitespace
        set.digits = set.digits || inner.digits
        set.negatedDigits = set.negatedDigits || inner.negatedDigits
        set.word = set.word || inner.word
        set.negatedWord = set.negatedWord || inner.negatedWord
    }

    // MARK: Case folding (unicode dialect)

    /// Simple case folding, as far as it can be derived from one-to-one case mappings.
    static func fold(_ value: UInt32) -> UInt32 {
        guard value >= 0x80 else { return (value >= 0x41 && value <= 0x5A) ? value + 0x20 : value }
        guard let scalar = Unicode.Scalar(value) else { return value }
        let upper = Array(scalar.properties.uppercaseMapping.unicodeScalars)
        let base = upper.count == 1 ? upper[0].value : value
        return CodepointClasses.lowercase(base)
    }

    static func caseVariants(_ value: UInt32) -> [UInt32] {
        guard let scalar = Unicode.Scalar(value) else { return [value] }
        var variants: [UInt32] = [value, fold(value), CodepointClasses.lowercase(value)]
        let upper = Array(scalar.properties.uppercaseMapping.unicodeScalars)
        if upper.count == 1 { variants.append(upper[0].value) }
        return variants
    }
}

// MARK: - Program

fileprivate enum Instruction {
    case unit(UInt32)
    case caselessUnit(UInt32)
    case set(Int)
    case any
    case split(Int, Int)      // try the first, then the second
    case jump(Int)
    case look(Int, negative: Bool)
    case mark(Int)            // register = position
    case progress(Int)        // fail unless position > register
    case start
    case end
    case wordBoundary(Bool)
    case match
}

fileprivate struct Program: Sendable {
    var instructions: [Instruction] = []
    var sets: [UnitSet] = []
    /// Entry points of lookahead bodies (each ends with `.match`).
    var subprograms: [Int] = []
    var main = 0
    var registers = 0
    var dialect: Pattern.Dialect = .unicode
}

extension Instruction: @unchecked Sendable {}

fileprivate struct PatternCompiler {
    var program = Program()

    mutating func compile(_ node: PatternNode) -> Program {
        program.main = program.instructions.count
        emit(node)
        program.instructions.append(.match)
        return program
    }

    private mutating func emit(_ node: PatternNode) {
        switch node {
        case .empty: break
        case .unit(let value, let caseless):
            program.instructions.append(caseless ? .caselessUnit(value) : .unit(value))
        case .set(let set):
            program.sets.append(set)
            program.instructions.append(.set(program.sets.count - 1))
        case .any: program.instructions.append(.any)
        case .concat(let nodes): for n in nodes { emit(n) }
        case .alternate(let branches):
            var jumps: [Int] = []
            for (index, branch) in branches.enumerated() {
                if index + 1 < branches.count {
                    let split = program.instructions.count
                    program.instructions.append(.split(split + 1, -1))
                    emit(branch)
                    jumps.append(program.instructions.count)
                    program.instructions.append(.jump(-1))
                    program.instructions[split] = .split(split + 1, program.instructions.count)
                } else {
                    emit(branch)
                }
            }
            let end = program.instructions.count
            for jump in jumps { program.instructions[jump] = .jump(end) }
        case .repetition(let body, let minimum, let maximum, let greedy):
            for _ in 0..<minimum { emit(body) }
            if let maximum {
                // Nested optionals: x(x(x)?)? for the part above the minimum.
                var holes: [Int] = []
                for _ in minimum..<maximum {
                    let split = program.instructions.count
                    program.instructions.append(.split(-1, -1))
                    holes.append(split)
                    emit(body)
                }
                let end = program.instructions.count
                for split in holes { program.instructions[split] = greedy ? .split(split + 1, end) : .split(end, split + 1) }
            } else {
                let loop = program.instructions.count
                program.instructions.append(.split(-1, -1))
                let nullable = body.nullable
                let register = program.registers
                if nullable {
                    program.registers += 1
                    program.instructions.append(.mark(register))
                }
                emit(body)
                if nullable { program.instructions.append(.progress(register)) }
                program.instructions.append(.jump(loop))
                let end = program.instructions.count
                program.instructions[loop] = greedy ? .split(loop + 1, end) : .split(end, loop + 1)
            }
        case .lookahead(let body, let negative):
            // The body is compiled out of line: jump over it.
            let jump = program.instructions.count
            program.instructions.append(.jump(-1))
            let entry = program.instructions.count
            emit(body)
            program.instructions.append(.match)
            program.subprograms.append(entry)
            program.instructions[jump] = .jump(program.instructions.count)
            program.instructions.append(.look(program.subprograms.count - 1, negative: negative))
        case .startAnchor: program.instructions.append(.start)
        case .endAnchor: program.instructions.append(.end)
        case .wordBoundary(let negated): program.instructions.append(.wordBoundary(negated))
        }
    }
}

/// The backtracking interpreter.
fileprivate struct Machine {
    let program: Program
    let units: UnsafeBufferPointer<UInt32>
    let lower: Int
    let upper: Int
    var registers: [Int]
    /// Steps left for one match attempt; a pathological pattern fails instead of running away.
    static let stepLimit = 1_000_000

    init(program: Program, units: UnsafeBufferPointer<UInt32>, lower: Int, upper: Int) {
        self.program = program
        self.units = units
        self.lower = lower
        self.upper = upper
        self.registers = [Int](repeating: -1, count: program.registers)
    }

    private enum Frame {
        case state(pc: Int, position: Int)
        case restore(register: Int, value: Int)
    }

    private var stack: [Frame] = []

    /// The leftmost match starting at or after `from`.
    mutating func search(from: Int) -> Range<Int>? {
        var start = from
        while start <= upper {
            if let end = run(program.main, at: start, rejectEmpty: false) { return start..<end }
            start += 1
        }
        return nil
    }

    /// A match at `start` that is not empty (std::regex's match_not_null retry).
    mutating func runNotEmpty(at start: Int) -> Int? {
        run(program.main, at: start, rejectEmpty: true)
    }

    private mutating func run(_ entry: Int, at start: Int, rejectEmpty: Bool) -> Int? {
        stack.removeAll(keepingCapacity: true)
        stack.append(.state(pc: entry, position: start))
        var steps = 0
        while let frame = stack.popLast() {
            var pc: Int, position: Int
            switch frame {
            case .restore(let register, let value):
                registers[register] = value
                continue
            case .state(let p, let s):
                pc = p
                position = s
            }
            thread: while true {
                steps += 1
                if steps > Machine.stepLimit { return nil }
                switch program.instructions[pc] {
                case .match:
                    if rejectEmpty && position == start { break thread }
                    return position
                case .unit(let value):
                    guard position < upper, units[position] == value else { break thread }
                    position += 1
                    pc += 1
                case .caselessUnit(let value):
                    guard position < upper else { break thread }
                    let unit = units[position]
                    guard unit == value || PatternParser.fold(unit) == PatternParser.fold(value) else { break thread }
                    position += 1
                    pc += 1
                case .set(let index):
                    guard position < upper, program.sets[index].contains(units[position]) else { break thread }
                    position += 1
                    pc += 1
                case .any:
                    guard position < upper else { break thread }
                    let unit = units[position]
                    if unit == 0x0A { break thread }
                    if program.dialect != .unicode && (unit == 0x0D || unit == 0x2028 || unit == 0x2029) { break thread }
                    position += 1
                    pc += 1
                case .split(let first, let second):
                    stack.append(.state(pc: second, position: position))
                    pc = first
                case .jump(let target):
                    pc = target
                case .look(let index, let negative):
                    var inner = Machine(program: program, units: units, lower: lower, upper: upper)
                    let saved = registers
                    let found = inner.run(program.subprograms[index], at: position, rejectEmpty: false) != nil
                    registers = saved
                    guard found != negative else { break thread }
                    pc += 1
                case .mark(let register):
                    stack.append(.restore(register: register, value: registers[register]))
                    registers[register] = position
                    pc += 1
                case .progress(let register):
                    guard position > registers[register] else { break thread }
                    pc += 1
                case .start:
                    guard position == lower else { break thread }
                    pc += 1
                case .end:
                    let atEnd = position == upper || (program.dialect == .unicode && units[position] == 0x0A)
                    guard atEnd else { break thread }
                    pc += 1
                case .wordBoundary(let negated):
                    let before = position > lower && UnitSet.isWord(units[position - 1], program.dialect)
                    let after = position < upper && UnitSet.isWord(units[position], program.dialect)
                    guard (before != after) != negated else { break thread }
                    pc += 1
                }
            }
        }
        return nil
    }
}

extension UInt32 {
    /// An ASCII character's code, as `UInt8(ascii:)` gives it.
    init(ascii scalar: Unicode.Scalar) { self = scalar.value }
}
