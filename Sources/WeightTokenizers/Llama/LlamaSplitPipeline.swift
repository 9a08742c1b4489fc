/// A byte-level BPE pre-tokenizer as llama.cpp runs it (`unicode_regex_split`): each regex
/// splits the pieces the one before it left, keeping matches and the text between them; the
/// patterns llama.cpp has its own matchers for use the hand-written ones.
struct LlamaSplitPipeline: Sendable {
    enum Step: Sendable {
        case custom(LlamaSplitter)
        case pattern(Pattern)
    }

    let steps: [Step]

    init(regexes: [String]) throws {
        steps = try regexes.map { regex in
            if let splitter = LlamaSplitter(regex: regex) { return .custom(splitter) }
            return .pattern(try Pattern(regex, dialect: Pattern.llamaDialect(for: regex)))
        }
    }

    /// The ends of the pieces of `text` (code points), in order; no piece is empty.
    func split(_ text: UnsafeBufferPointer<UInt32>) -> [Int32] {
        var ends: [Int32] = text.isEmpty ? [] : [Int32(text.count)]
        for step in steps {
            var next: [Int32] = []
            next.reserveCapacity(max(16, text.count / 3))
            var start = 0
            switch step {
            case .custom(let splitter):
                for end in ends {
                    splitter.split(text, start, Int(end), into: &next)
                    start = Int(end)
                }
            case .pattern(let pattern):
                let units = pattern.units(for: text)
                units.withUnsafeBufferPointer { units in
                    for end in ends {
                        var previous = start
                        for match in pattern.matches(in: units, range: start..<Int(end)) {
                            if match.lowerBound > previous { next.append(Int32(match.lowerBound)) }
                            if !match.isEmpty { next.append(Int32(match.upperBound)) }
                            previous = match.upperBound
                        }
                        if previous < Int(end) { next.append(end) }
                        start = Int(end)
                    }
                }
            }
            ends = next
        }
        return ends
    }
}
