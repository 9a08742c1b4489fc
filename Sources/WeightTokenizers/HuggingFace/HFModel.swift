import WeightFormats

/// The model of a tokenizer.json: what turns one pre-tokenized piece into ids.
enum HFModel: Sendable {
    case bpe(HFBytePair)
    case wordPiece(HFWordPiece)
    case unigram(HFUnigram)
    case wordLevel(HFWordLevel)

    var texts: TokenTexts {
        switch self {
        case .bpe(let model): model.texts
        case .wordPiece(let model): model.texts
        case .unigram(let model): model.texts
        case .wordLevel(let model): model.texts
        }
    }

    var typeName: String {
        switch self {
        case .bpe: "BPE"
        case .wordPiece: "WordPiece"
        case .unigram: "Unigram"
        case .wordLevel: "WordLevel"
        }
    }

    static func load(_ json: JSONValue?, fields: HFFields) throws -> HFModel {
        let object = try fields.object(json, "model")
        // Older files leave the type out; BPE is what the library assumes when there are merges.
        let type = try fields.optionalString(object["type"], "model.type")
            ?? (object["merges"] != nil ? "BPE" : object["vocab"]?.arrayValue != nil ? "Unigram" : "WordPiece")
        switch type {
        case "BPE": return .bpe(try HFBytePair(object, fields: fields))
        case "WordPiece": return .wordPiece(try HFWordPiece(object, fields: fields))
        case "Unigram": return .unigram(try HFUnigram(object, fields: fields))
        case "WordLevel": return .wordLevel(try HFWordLevel(object, fields: fields))
        default: throw TokenizerError.unsupportedModel(file: fields.file, model: type)
        }
    }

    func encode(_ word: [UInt8], into output: inout [Int32], cache: inout WordCache, workspace: inout MergeWorkspace) {
        guard !word.isEmpty else { return }
        word.withUnsafeBufferPointer { bytes in
            switch self {
            case .bpe(let model):
                if cache.emit(bytes, into: &output) { return }
                let first = output.count
                model.encode(bytes, into: &output, workspace: &workspace)
                cache.insert(bytes, output[first...])
            case .wordPiece(let model): model.encode(bytes, into: &output)
            case .unigram(let model): model.encode(bytes, into: &output)
            case .wordLevel(let model):
                let id = model.texts.id(of: bytes.baseAddress!, count: bytes.count)
                if id >= 0 { output.append(id) } else if model.unknown >= 0 { output.append(model.unknown) }
            }
        }
    }
}

/// Reads `model.vocab` as {token: id}: dense ids 0..<n (gaps become unreachable placeholders).
private func denseVocabulary(_ value: JSONValue?, fields: HFFields) throws -> TokenTexts {
    let vocab = try fields.object(value, "model.vocab")
    var texts = [[UInt8]?](repeating: nil, count: vocab.count)
    var extra: [(Int, [UInt8])] = []
    for (token, id) in vocab {
        guard let index = id.intValue, index >= 0 else { throw fields.wrong("model.vocab['\(token)']", "a token id", id) }
        if index < texts.count {
            if texts[index] != nil { throw TokenizerError.invalidFile(file: fields.file, reason: "token id \(index) appears twice in model.vocab") }
            texts[index] = Array(token.utf8)
        } else {
            extra.append((index, Array(token.utf8)))
        }
    }
    guard !extra.isEmpty || texts.allSatisfy({ $0 != nil }) else {
        return TokenTexts(texts: texts.enumerated().map { $1 ?? HFTokenizer.placeholder($0) })
    }
    // Ids beyond the count: grow to the largest id, the holes unreachable.
    let largest = extra.map(\.0).max() ?? texts.count - 1
    guard largest < 50_000_000 else { throw TokenizerError.invalidFile(file: fields.file, reason: "token id \(largest) in model.vocab is implausibly large") }
    var all = texts + [[UInt8]?](repeating: nil, count: largest + 1 - texts.count)
    for (index, text) in extra {
        if all[index] != nil { throw TokenizerError.invalidFile(file: fields.file, reason: "token id \(index) appears twice in model.vocab") }
        all[index] = text
    }
    return TokenTexts(texts: all.enumerated().map { $1 ?? HFTokenizer.placeholder($0) })
}

/// tokenizers' BPE model: characters (with the continuing-subword prefix and end-of-word
/// suffix), unknown ones as byte-fallback tokens or the (fused) unknown token, then the merges
/// by rank, leftmost first.
struct HFBytePair: Sendable {
    let texts: TokenTexts
    let merges: MergeTable
    let unknown: Int32
    let fuseUnknown: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    let prefix: [UInt8]
    let suffix: [UInt8]
    let byteTokens: [Int32]

    init(_ object: JSONObject, fields: HFFields) throws {
        texts = try denseVocabulary(object["vocab"], fields: fields)
        if let dropout = object["dropout"]?.doubleValue, dropout > 0 {
            throw TokenizerError.unsupportedComponent(file: fields.file, component: "BPE model", type: "dropout \(dropout)")
        }
        fuseUnknown = try fields.bool(object["fuse_unk"], "model.fuse_unk", default: false)
        byteFallback = try fields.bool(object["byte_fallback"], "model.byte_fallback", default: false)
        ignoreMerges = try fields.bool(object["ignore_merges"], "model.ignore_merges", default: false)
        prefix = Array((try fields.optionalString(object["continuing_subword_prefix"], "model.continuing_subword_prefix") ?? "").utf8)
        suffix = Array((try fields.optionalString(object["end_of_word_suffix"], "model.end_of_word_suffix") ?? "").utf8)
        if let name = try fields.optionalString(object["unk_token"], "model.unk_token") {
            unknown = texts.id(of: name)
        } else {
            unknown = -1
        }
        var byteTokens = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 { byteTokens[byte] = texts.id(of: ByteLevel.hexToken(UInt8(byte))) }
        self.byteTokens = byteTokens

        let list = try fields.array(object["merges"] ?? .array([]), "model.merges")
        var table = MergeTable(capacity: list.count)
        for (rank, entry) in list.enumerated() {
            let left: String, right: String
            if let text = entry.stringValue {
                let parts = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw TokenizerError.invalidMerge(file: fields.file, index: rank, merge: text, reason: "has no space between two tokens")
                }
                left = String(parts[0]); right = String(parts[1])
            } else if let pair = entry.arrayValue, pair.count == 2, let a = pair[0].stringValue, let b = pair[1].stringValue {
                left = a; right = b
            } else {
                throw TokenizerError.invalidMerge(file: fields.file, index: rank, merge: "\(entry)", reason: "is neither \"a b\" nor [a, b]")
            }
            let a = texts.id(of: left), b = texts.id(of: right)
            guard a >= 0, b >= 0 else {
                throw TokenizerError.invalidMerge(file: fields.file, index: rank, merge: left + " " + right,
                                                  reason: "names '\(a < 0 ? left : right)', which is not in the vocabulary")
            }
            var rightPart = Array(right.utf8)
            if !prefix.isEmpty && rightPart.starts(with: prefix) { rightPart.removeFirst(prefix.count) }
            let joined = Array(left.utf8) + rightPart
            let result = texts.id(of: joined)
            guard result >= 0 else {
                throw TokenizerError.invalidMerge(file: fields.file, index: rank, merge: left + " " + right,
                                                  reason: "joins to '\(String(decoding: joined, as: UTF8.self))', which is not in the vocabulary")
            }
            table.insert(left: a, right: b, rank: Int32(rank), result: result)
        }
        merges = table
    }

    func encode(_ word: UnsafeBufferPointer<UInt8>, into output: inout [Int32], workspace w: inout MergeWorkspace) {
        if ignoreMerges {
            let id = texts.id(of: word.baseAddress!, count: word.count)
            if id >= 0 { output.append(id); return }
        }
        w.reset()
        var offset = 0
        var pendingUnknown = false
        var scratch: [UInt8] = []
        while offset < word.count {
            let length = min(UTF8Text.sequenceLength(word[offset]), word.count - offset)
            let first = offset == 0, last = offset + length == word.count
            var id: Int32
            if (prefix.isEmpty || first) && (suffix.isEmpty || !last) {
                id = texts.id(of: word.baseAddress! + offset, count: length)
            } else {
                scratch.removeAll(keepingCapacity: true)
                if !first { scratch += prefix }
                scratch += UnsafeBufferPointer(rebasing: word[offset..<(offset + length)])
                if last { scratch += suffix }
                id = texts.id(of: scratch)
            }
            if id >= 0 {
                pendingUnknown = false
                w.append(start: offset, length: length, id: id)
            } else if byteFallback, (offset..<(offset + length)).allSatisfy({ byteTokens[Int(word[$0])] >= 0 }) {
                // tokenizers looks up "<0xAB>" for the bytes of the (prefixed) character.
                let bytes: [UInt8] = (!first && !prefix.isEmpty) || (last && !suffix.isEmpty)
                    ? (first ? [] : prefix) + Array(word[offset..<(offset + length)]) + (last ? suffix : [])
                    : Array(word[offset..<(offset + length)])
                if bytes.allSatisfy({ byteTokens[Int($0)] >= 0 }) {
                    pendingUnknown = false
                    for byte in bytes { w.append(start: offset, length: 1, id: byteTokens[Int(byte)]) }
                } else if unknown >= 0 {
                    appendUnknown(&w, &pendingUnknown, offset, length)
                }
            } else if unknown >= 0 {
                appendUnknown(&w, &pendingUnknown, offset, length)
            }
            offset += length
        }
        // The merges; symbols are never unknown-free placeholders here (all ids are real).
        func tryPair(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0 else { return }
            let a = w.id[Int(left)], b = w.id[Int(right)]
            guard let merge = merges.lookup(a, b) else { return }
            let key = UInt64(UInt32(bitPattern: merge.rank)) << 32 | UInt64(UInt32(left))
            w.push(MergeWorkspace.Candidate(key: key, right: right, size: a, result: merge.result, rightID: b))
        }
        for index in 1..<max(1, w.count) { tryPair(Int32(index - 1), Int32(index)) }
        while let candidate = w.pop() {
            let left = Int(candidate.key & 0xFFFF_FFFF)
            guard w.length[left] > 0, w.next[left] >= 0 else { continue }
            let right = Int(w.next[left])
            guard let merge = merges.lookup(w.id[left], w.id[right]), merge.result == candidate.result else { continue }
            w.join(left, right, result: candidate.result)
            tryPair(w.previous[left], Int32(left))
            tryPair(Int32(left), w.next[left])
        }
        var index: Int32 = w.count > 0 ? 0 : -1
        while index >= 0 {
            output.append(w.id[Int(index)])
            index = w.next[Int(index)]
        }
    }

    private func appendUnknown(_ w: inout MergeWorkspace, _ pending: inout Bool, _ offset: Int, _ length: Int) {
        if fuseUnknown && pending, w.count > 0 {
            w.length[w.count - 1] += Int32(length)
            return
        }
        w.append(start: offset, length: length, id: unknown)
        pending = true
    }
}

/// tokenizers' WordPiece: greedy longest match from the start, `##` before continuations; a
/// word that cannot be covered (or is longer than `max_input_chars_per_word`) is `[UNK]`.
struct HFWordPiece: Sendable {
    let texts: TokenTexts
    let unknown: Int32
    let prefix: [UInt8]
    let maxCharacters: Int

    init(_ object: JSONObject, fields: HFFields) throws {
        texts = try denseVocabulary(object["vocab"], fields: fields)
        let unknownName = try fields.optionalString(object["unk_token"], "model.unk_token") ?? "[UNK]"
        unknown = texts.id(of: unknownName)
        prefix = Array((try fields.optionalString(object["continuing_subword_prefix"], "model.continuing_subword_prefix") ?? "##").utf8)
        maxCharacters = (object["max_input_chars_per_word"]?.intValue) ?? 100
    }

    func encode(_ word: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        var characters = 0
        for byte in word where byte & 0xC0 != 0x80 { characters += 1 }
        if characters > maxCharacters {
            if unknown >= 0 { output.append(unknown) }
            return
        }
        let before = output.count
        var start = 0
        var scratch: [UInt8] = []
        while start < word.count {
            var end = word.count
            var found: Int32 = -1
            while start < end {
                scratch.removeAll(keepingCapacity: true)
                if start > 0 { scratch += prefix }
                scratch += UnsafeBufferPointer(rebasing: word[start..<end])
                let id = texts.id(of: scratch)
                if id >= 0 { found = id; break }
                // Back off one character.
                end -= 1
                while end > start && word[end] & 0xC0 == 0x80 { end -= 1 }
            }
            if found < 0 {
                output.removeSubrange(before...)
                if unknown >= 0 { output.append(unknown) }
                return
            }
            output.append(found)
            start = end
        }
    }
}

/// tokenizers' Unigram: Viterbi over every vocabulary token, unknown characters scoring the
/// lowest score minus 10 and fused into one unknown (or byte-fallback tokens).
struct HFUnigram: Sendable {
    let texts: TokenTexts
    let scores: [Double]
    let unknown: Int32
    let byteFallback: Bool
    private let trie: ByteTrie
    private let unknownScore: Double
    private let byteTokens: [Int32]

    init(_ object: JSONObject, fields: HFFields) throws {
        let vocab = try fields.array(object["vocab"], "model.vocab")
        var tokens: [[UInt8]] = []
        var scores: [Double] = []
        tokens.reserveCapacity(vocab.count)
        for (index, entry) in vocab.enumerated() {
            guard let pair = entry.arrayValue, pair.count == 2, let token = pair[0].stringValue, let score = pair[1].doubleValue else {
                throw fields.wrong("model.vocab[\(index)]", "[token, score]", entry)
            }
            tokens.append(Array(token.utf8))
            scores.append(score)
        }
        guard !tokens.isEmpty else { throw TokenizerError.emptyVocabulary(file: fields.file) }
        texts = TokenTexts(texts: tokens)
        self.scores = scores
        if let value = object["unk_id"], !value.isNull {
            guard let id = value.intValue, id >= 0, id < tokens.count else {
                throw TokenizerError.tokenIDOutOfRange(file: fields.file, field: "model.unk_id", id: value.intValue ?? -1, vocabularySize: tokens.count)
            }
            unknown = Int32(id)
        } else {
            unknown = -1
        }
        byteFallback = try fields.bool(object["byte_fallback"], "model.byte_fallback", default: false)
        var trie = ByteTrie()
        // The trie gives the id the text maps to (the last one, for a repeated text).
        for token in tokens { trie.insert(token, value: texts.id(of: token)) }
        self.trie = trie
        unknownScore = (scores.min() ?? 0) - 10
        var byteTokens = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 { byteTokens[byte] = texts.id(of: ByteLevel.hexToken(UInt8(byte))) }
        self.byteTokens = byteTokens
    }

    func encode(_ text: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        let n = text.count
        var bestID = [Int32](repeating: unknown, count: n + 1)
        var bestStart = [Int](repeating: -1, count: n + 1)
        var bestScore = [Double](repeating: 0, count: n + 1)
        let values = trie.values
        var offset = 0
        while offset < n {
            let characterLength = min(UTF8Text.sequenceLength(text[offset]), n - offset)
            var single = false
            let current = bestScore[offset]
            var node = trie.child(0, text[offset])
            var end = offset + 1
            while node >= 0 {
                let id = values[Int(node)]
                if id >= 0 {
                    let candidate = current + scores[Int(id)]
                    if bestStart[end] < 0 || candidate > bestScore[end] {
                        bestScore[end] = candidate
                        bestStart[end] = offset
                        bestID[end] = id
                    }
                    if end - offset == characterLength { single = true }
                }
                if end == n { break }
                node = trie.child(node, text[end])
                end += 1
            }
            if !single {
                let target = offset + characterLength
                let candidate = current + unknownScore
                if bestStart[target] < 0 || candidate > bestScore[target] {
                    bestScore[target] = candidate
                    bestStart[target] = offset
                    bestID[target] = unknown
                }
            }
            offset += characterLength
        }
        // Back from the end: runs of unknowns fused into one piece.
        var pieces: [(Range<Int>, Int32)] = []
        var end = n
        var unknownEnd = -1
        while end > 0 {
            let start = bestStart[end]
            guard start >= 0 else { break }
            if bestID[end] == unknown {
                if unknownEnd < 0 { unknownEnd = end }
            } else {
                if unknownEnd >= 0 { pieces.append((end..<unknownEnd, unknown)); unknownEnd = -1 }
                pieces.append((start..<end, bestID[end]))
            }
            end = start
        }
        if unknownEnd >= 0 { pieces.append((0..<unknownEnd, unknown)) }
        for (range, id) in pieces.reversed() {
            if id != unknown {
                output.append(id)
                continue
            }
            // A fused unknown: the token with that text if there is one, bytes, or unknown.
            let known = texts.id(of: text.baseAddress! + range.lowerBound, count: range.count)
            if known >= 0 { output.append(known); continue }
            if byteFallback, range.allSatisfy({ byteTokens[Int(text[$0])] >= 0 }) {
                for position in range { output.append(byteTokens[Int(text[position])]) }
                continue
            }
            if unknown >= 0 { output.append(unknown) }
        }
    }
}

struct HFWordLevel: Sendable {
    let texts: TokenTexts
    let unknown: Int32

    init(_ object: JSONObject, fields: HFFields) throws {
        texts = try denseVocabulary(object["vocab"], fields: fields)
        let name = try fields.optionalString(object["unk_token"], "model.unk_token") ?? "<unk>"
        unknown = texts.id(of: name)
    }
}
