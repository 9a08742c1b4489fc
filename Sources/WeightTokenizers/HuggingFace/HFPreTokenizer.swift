import WeightFormats

/// A piece of text between the pre-tokenizer's cuts: characters, and whether it starts at the
/// beginning of the input (Metaspace's "first" prepend scheme asks).
struct HFPiece {
    var text: [UInt32]
    var atStart: Bool
}

/// How a split keeps what the pattern matches (tokenizers' `SplitDelimiterBehavior`).
enum HFSplitBehavior: String, Sendable {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"
}

/// tokenizer.json pre-tokenizers.
indirect enum HFPreTokenizer: Sendable {
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case split(Pattern, HFSplitBehavior, invert: Bool)
    case metaspace(replacement: UInt32, prepend: PrependScheme, split: Bool)
    case whitespace
    case whitespaceSplit
    case bert
    case punctuation(HFSplitBehavior)
    case digits(individual: Bool)
    case charDelimiter(UInt32)
    case sequence([HFPreTokenizer])

    enum PrependScheme: String, Sendable { case always, first, never }

    static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

    init(json: JSONValue, fields: HFFields) throws {
        let object = try fields.object(json, "pre_tokenizer")
        let type = try fields.string(object["type"], "pre_tokenizer.type")
        func behavior(_ value: JSONValue?, default fallback: HFSplitBehavior) throws -> HFSplitBehavior {
            guard let value, !value.isNull else { return fallback }
            guard let name = value.stringValue, let behavior = HFSplitBehavior(rawValue: name) else {
                throw fields.wrong("\(type).behavior", "Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous", value)
            }
            return behavior
        }
        switch type {
        case "ByteLevel":
            self = .byteLevel(addPrefixSpace: try fields.bool(object["add_prefix_space"], "ByteLevel.add_prefix_space", default: true),
                              useRegex: try fields.bool(object["use_regex"], "ByteLevel.use_regex", default: true))
        case "Split":
            let pattern = try fields.pattern(object["pattern"], "Split.pattern").compile()
            self = .split(pattern, try behavior(object["behavior"], default: .isolated),
                          invert: try fields.bool(object["invert"], "Split.invert", default: false))
        case "Metaspace":
            let replacement = try fields.string(object["replacement"], "Metaspace.replacement").unicodeScalars
            guard replacement.count == 1, let character = replacement.first else {
                throw TokenizerError.wrongFieldType(file: fields.file, field: "Metaspace.replacement", expected: "one character", found: "\(replacement.count) characters")
            }
            var scheme = PrependScheme.always
            if let name = object["prepend_scheme"]?.stringValue {
                guard let value = PrependScheme(rawValue: name) else { throw fields.wrong("Metaspace.prepend_scheme", "always, first or never", .string(name)) }
                scheme = value
            }
            if object["add_prefix_space"]?.boolValue == false { scheme = .never }
            self = .metaspace(replacement: character.value, prepend: scheme, split: try fields.bool(object["split"], "Metaspace.split", default: true))
        case "Whitespace": self = .whitespace
        case "WhitespaceSplit": self = .whitespaceSplit
        case "BertPreTokenizer": self = .bert
        case "Punctuation": self = .punctuation(try behavior(object["behavior"], default: .isolated))
        case "Digits": self = .digits(individual: try fields.bool(object["individual_digits"], "Digits.individual_digits", default: false))
        case "CharDelimiterSplit":
            let delimiter = try fields.string(object["delimiter"], "CharDelimiterSplit.delimiter").unicodeScalars
            guard let first = delimiter.first, delimiter.count == 1 else {
                throw TokenizerError.wrongFieldType(file: fields.file, field: "CharDelimiterSplit.delimiter", expected: "one character", found: "\(delimiter.count)")
            }
            self = .charDelimiter(first.value)
        case "Sequence":
            self = .sequence(try fields.array(object["pretokenizers"], "Sequence.pretokenizers").map { try HFPreTokenizer(json: $0, fields: fields) })
        default:
            throw TokenizerError.unsupportedComponent(file: fields.file, component: "pre_tokenizer", type: type)
        }
    }

    private static let gpt2 = try! Pattern(gpt2Pattern, dialect: .unicode)
    private static let whitespaceWords = try! Pattern(#"\w+|[^\w\s]+"#, dialect: .unicode)

    /// Splits `pieces` further (and byte-encodes them, for ByteLevel).
    func apply(_ pieces: [HFPiece]) -> [HFPiece] {
        switch self {
        case .sequence(let steps):
            var current = pieces
            for step in steps { current = step.apply(current) }
            return current
        default:
            var output: [HFPiece] = []
            output.reserveCapacity(pieces.count * 4)
            for piece in pieces { apply(piece, into: &output) }
            return output
        }
    }

    private func apply(_ piece: HFPiece, into output: inout [HFPiece]) {
        switch self {
        case .byteLevel(let addPrefixSpace, let useRegex):
            var text = piece.text
            if addPrefixSpace && text.first != 0x20 { text.insert(0x20, at: 0) }
            var parts: [HFPiece] = []
            if useRegex {
                Self.split(HFPiece(text: text, atStart: piece.atStart), byPattern: Self.gpt2, behavior: .isolated, invert: false, into: &parts)
            } else {
                parts = [HFPiece(text: text, atStart: piece.atStart)]
            }
            for part in parts {
                var encoded: [UInt32] = []
                encoded.reserveCapacity(part.text.count * 2)
                for byte in Codepoints.utf8(part.text) { encoded.append(ByteLevel.characters[Int(byte)]) }
                output.append(HFPiece(text: encoded, atStart: part.atStart))
            }
        case .split(let pattern, let behavior, let invert):
            Self.split(piece, byPattern: pattern, behavior: behavior, invert: invert, into: &output)
        case .metaspace(let replacement, let scheme, let split):
            var text = piece.text.map { $0 == 0x20 ? replacement : $0 }
            switch scheme {
            case .always: if text.first != replacement { text.insert(replacement, at: 0) }
            case .first: if text.first != replacement && piece.atStart { text.insert(replacement, at: 0) }
            case .never: break
            }
            let replaced = HFPiece(text: text, atStart: piece.atStart)
            if split {
                Self.split(replaced, where: { $0 == replacement }, behavior: .mergedWithNext, into: &output)
            } else {
                output.append(replaced)
            }
        case .whitespace:
            Self.split(piece, byPattern: Self.whitespaceWords, behavior: .removed, invert: true, into: &output)
        case .whitespaceSplit:
            Self.split(piece, where: HFCharacters.isWhitespace, behavior: .removed, into: &output)
        case .bert:
            var words: [HFPiece] = []
            Self.split(piece, where: HFCharacters.isWhitespace, behavior: .removed, into: &words)
            for word in words { Self.split(word, where: HFCharacters.isPunctuation, behavior: .isolated, into: &output) }
        case .punctuation(let behavior):
            Self.split(piece, where: HFCharacters.isPunctuation, behavior: behavior, into: &output)
        case .digits(let individual):
            Self.split(piece, where: HFCharacters.isNumeric, behavior: individual ? .isolated : .contiguous, into: &output)
        case .charDelimiter(let delimiter):
            Self.split(piece, where: { $0 == delimiter }, behavior: .removed, into: &output)
        case .sequence:
            output += apply([piece])
        }
    }

    // MARK: Splitting (NormalizedString::split)

    /// (range, is a match) covering the piece, in order.
    private static func split(_ piece: HFPiece, byPattern pattern: Pattern, behavior: HFSplitBehavior, invert: Bool,
                              into output: inout [HFPiece]) {
        var marks: [(Range<Int>, Bool)] = []
        piece.text.withUnsafeBufferPointer { units in
            var previous = 0
            for match in pattern.matches(in: units, range: 0..<units.count) {
                if match.lowerBound > previous { marks.append((previous..<match.lowerBound, false)) }
                marks.append((match, true))
                previous = match.upperBound
            }
            if previous < units.count { marks.append((previous..<units.count, false)) }
        }
        if invert { marks = marks.map { ($0.0, !$0.1) } }
        emit(piece, marks, behavior, into: &output)
    }

    private static func split(_ piece: HFPiece, where predicate: (UInt32) -> Bool, behavior: HFSplitBehavior,
                              into output: inout [HFPiece]) {
        var marks: [(Range<Int>, Bool)] = []
        var last = 0
        for (index, value) in piece.text.enumerated() where predicate(value) {
            if last < index { marks.append((last..<index, false)) }
            marks.append((index..<(index + 1), true))
            last = index + 1
        }
        if last < piece.text.count { marks.append((last..<piece.text.count, false)) }
        emit(piece, marks, behavior, into: &output)
    }

    private static func emit(_ piece: HFPiece, _ marks: [(Range<Int>, Bool)], _ behavior: HFSplitBehavior, into output: inout [HFPiece]) {
        var ranges: [(Range<Int>, remove: Bool)] = []
        switch behavior {
        case .isolated: ranges = marks.map { ($0.0, false) }
        case .removed: ranges = marks.map { ($0.0, $0.1) }
        case .contiguous:
            var previousMatch = false
            for (range, isMatch) in marks {
                if isMatch == previousMatch, let last = ranges.last {
                    ranges[ranges.count - 1] = (last.0.lowerBound..<range.upperBound, false)
                } else {
                    ranges.append((range, false))
                }
                previousMatch = isMatch
            }
        case .mergedWithPrevious:
            var previousMatch = false
            for (range, isMatch) in marks {
                if isMatch && !previousMatch, let last = ranges.last {
                    ranges[ranges.count - 1] = (last.0.lowerBound..<range.upperBound, false)
                } else {
                    ranges.append((range, false))
                }
                previousMatch = isMatch
            }
        case .mergedWithNext:
            var previousMatch = false
            var reversed: [(Range<Int>, remove: Bool)] = []
            for (range, isMatch) in marks.reversed() {
                if isMatch && !previousMatch, let last = reversed.last {
                    reversed[reversed.count - 1] = (range.lowerBound..<last.0.upperBound, false)
                } else {
                    reversed.append((range, false))
                }
                previousMatch = isMatch
            }
            ranges = reversed.reversed()
        }
        for (range, remove) in ranges where !remove && !range.isEmpty {
            output.append(HFPiece(text: Array(piece.text[range]), atStart: piece.atStart && range.lowerBound == 0))
        }
    }
}
