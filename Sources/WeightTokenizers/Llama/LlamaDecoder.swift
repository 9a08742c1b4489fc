/// Ids to bytes as llama.cpp 0.3.36's `llama_detokenize` does: each token's piece (special
/// tokens only when rendered), one leading space dropped from the first piece when the
/// vocabulary adds a space prefix, then for vocabularies with `clean_spaces` three passes that
/// remove a space before `?!.,`, the spaces around a lone `'`, and the space before `'s`, `'m`,
/// `'re`, `'ve`.
///
/// The passes are written as streams that look at most two bytes ahead, so that decoding token
/// by token produces exactly the bytes of decoding the whole sequence.
struct LlamaDecodeStream {
    let vocabulary: LlamaVocabulary
    let renderSpecial: Bool
    private var stripLeadingSpace: Bool
    private var clean: CleanSpaces?

    init(vocabulary: LlamaVocabulary, renderSpecial: Bool) {
        self.vocabulary = vocabulary
        self.renderSpecial = renderSpecial
        self.stripLeadingSpace = vocabulary.addSpacePrefix
        self.clean = vocabulary.cleanSpaces ? CleanSpaces() : nil
    }

    /// Appends what `id` adds to the text; some bytes may wait for the next token.
    mutating func append(_ id: Int32, into output: inout [UInt8]) {
        let attribute = vocabulary.attributes[Int(id)]
        let hidden = !renderSpecial && !attribute.isDisjoint(with: [.unknown, .control])
        if clean == nil && !stripLeadingSpace {
            if !hidden { vocabulary.appendPiece(Int(id), to: &output) }
            return
        }
        var bytes: [UInt8] = []
        if !hidden { vocabulary.appendPiece(Int(id), to: &bytes) }
        var slice = bytes[...]
        if stripLeadingSpace {
            stripLeadingSpace = false
            if slice.first == 0x20 { slice = slice.dropFirst() }
        }
        if clean != nil {
            clean!.push(slice, into: &output)
        } else {
            output.append(contentsOf: slice)
        }
    }

    /// Appends what was held back.
    mutating func finish(into output: inout [UInt8]) {
        if clean != nil { clean!.finish(into: &output) }
    }

    /// A whole sequence; `removeSpecial` drops a leading BOS and a trailing EOS the vocabulary
    /// adds (and keeps the space after that BOS, as llama.cpp does).
    static func decode(_ ids: [Int32], vocabulary: LlamaVocabulary, removeSpecial: Bool, renderSpecial: Bool) -> [UInt8] {
        var stream = LlamaDecodeStream(vocabulary: vocabulary, renderSpecial: renderSpecial)
        var tokens = ids[...]
        if removeSpecial && vocabulary.addBOS, let first = tokens.first, first == vocabulary.special.bos {
            stream.stripLeadingSpace = false
            tokens = tokens.dropFirst()
        }
        if removeSpecial && vocabulary.addEOS, let last = tokens.last, last == vocabulary.special.eos {
            tokens = tokens.dropLast()
        }
        var output: [UInt8] = []
        for id in tokens { stream.append(id, into: &output) }
        stream.finish(into: &output)
        return output
    }
}

/// llama.cpp's three `clean_spaces` passes over the decoded bytes, as streams.
struct CleanSpaces {
    private var first = SpaceBeforePunctuation()
    private var second = LoneApostrophe()
    private var third = Contractions()
    private var between1: [UInt8] = []
    private var between2: [UInt8] = []

    mutating func push<C: Collection>(_ bytes: C, into output: inout [UInt8]) where C.Element == UInt8 {
        between1.removeAll(keepingCapacity: true)
        between2.removeAll(keepingCapacity: true)
        for byte in bytes { first.push(byte, into: &between1) }
        for byte in between1 { second.push(byte, into: &between2) }
        for byte in between2 { third.push(byte, into: &output) }
    }

    mutating func finish(into output: inout [UInt8]) {
        between1.removeAll(keepingCapacity: true)
        between2.removeAll(keepingCapacity: true)
        first.finish(into: &between1)
        for byte in between1 { second.push(byte, into: &between2) }
        second.finish(into: &between2)
        for byte in between2 { third.push(byte, into: &output) }
        third.finish(into: &output)
    }
}

/// Pass 1: a space directly before `?`, `!`, `.` or `,` goes.
private struct SpaceBeforePunctuation {
    private var held: UInt8? = nil

    mutating func push(_ byte: UInt8, into output: inout [UInt8]) {
        if let previous = held {
            let punctuation = byte == 0x3F || byte == 0x21 || byte == 0x2E || byte == 0x2C
            if !(previous == 0x20 && punctuation) { output.append(previous) }
        }
        held = byte
    }

    mutating func finish(into output: inout [UInt8]) {
        if let previous = held { output.append(previous) }
        held = nil
    }
}

/// Pass 2: ` ' ` becomes `'`.
private struct LoneApostrophe {
    /// The last byte written, which the rule may take back.
    private var written: UInt8? = nil
    /// The byte before the current one, as the pass sees it (a skipped space reads as NUL).
    private var before: UInt8? = nil
    /// The byte waiting for the one after it.
    private var current: UInt8? = nil
    private var skipNext = false
    private var started = false

    mutating func push(_ byte: UInt8, into output: inout [UInt8]) {
        guard started else {
            // The first byte is written as it is.
            started = true
            written = byte
            before = byte
            return
        }
        if skipNext {
            skipNext = false
            before = 0
            return
        }
        guard let x = current else {
            current = byte
            return
        }
        process(x, next: byte, into: &output)
        if skipNext {
            // `byte` was the skipped space.
            skipNext = false
            before = 0
            current = nil
        } else {
            current = byte
        }
    }

    private mutating func process(_ x: UInt8, next: UInt8?, into output: inout [UInt8]) {
        if x == 0x27, let next, before == 0x20, next == 0x20 {
            written = nil  // the space before
            skipNext = true
        }
        if let previous = written { output.append(previous) }
        written = x
        before = x
    }

    mutating func finish(into output: inout [UInt8]) {
        if let x = current { process(x, next: nil, into: &output) }
        if let previous = written { output.append(previous) }
        written = nil
        current = nil
    }
}

/// Pass 3: the space before `'s`, `'m`, `'re`, `'ve` goes.
private struct Contractions {
    private var written: UInt8? = nil
    private var before: UInt8? = nil
    /// Bytes not yet processed (at most three: the current one and two after it).
    private var pending: [UInt8] = []
    private var started = false

    mutating func push(_ byte: UInt8, into output: inout [UInt8]) {
        guard started else {
            started = true
            written = byte
            before = byte
            return
        }
        pending.append(byte)
        if pending.count == 3 { processFirst(finished: false, into: &output) }
    }

    private mutating func processFirst(finished: Bool, into output: inout [UInt8]) {
        let x = pending[0]
        if before == 0x20 && x == 0x27 && pending.count > 1 {
            let x1 = pending[1]
            if x1 == 0x73 || x1 == 0x6D {  // 's 'm
                written = nil
            } else if pending.count > 2 {
                let x2 = pending[2]
                if (x1 == 0x72 && x2 == 0x65) || (x1 == 0x76 && x2 == 0x65) { written = nil }  // 're 've
            }
        }
        if let previous = written { output.append(previous) }
        written = x
        before = x
        pending.removeFirst()
    }

    mutating func finish(into output: inout [UInt8]) {
        while !pending.isEmpty { processFirst(finished: true, into: &output) }
        if let previous = written { output.append(previous) }
        written = nil
    }
}
