import WeightFormats

/// An entry of tokenizer.json's `added_tokens`.
struct HFAddedToken: Sendable {
    var content: String
    var id: Int32
    var special: Bool
    var singleWord: Bool
    var leftStrip: Bool
    var rightStrip: Bool
    var normalized: Bool
}

/// tokenizers' `AddedVocabulary`: tokens matched whole before the model sees the text, first
/// the ones marked `normalized: false` on the raw text, then (after the normalizer) the others
/// on the normalized text, each time leftmost-longest; `single_word`, `lstrip` and `rstrip`
/// as the library applies them.
struct HFAddedVocabulary: Sendable {
    private(set) var tokens: [HFAddedToken] = []
    /// The text each token is matched and decoded as: its content, normalized when `normalized`.
    private(set) var matchTexts: [[UInt32]] = []
    private var rawTrie = ByteTrie()
    private var normalizedTrie = ByteTrie()
    private var hasRaw = false
    private var hasNormalized = false
    private(set) var idToToken: [Int32: Int] = [:]
    private(set) var contentToID: [String: Int32] = [:]
    private(set) var specialContents: Set<String> = []

    /// Adds tokens as `add_tokens` does: a content already in the vocabulary (model or added)
    /// keeps that id, others get the next id after the vocabulary.
    mutating func add(_ entries: [HFAddedToken], modelTexts: TokenTexts, normalizer: HFNormalizer?) {
        var nextID = Int32(modelTexts.count)
        if let largest = idToToken.keys.max(), largest >= nextID { nextID = largest + 1 }
        for var token in entries {
            guard !token.content.isEmpty else { continue }
            if let existing = contentToID[token.content], let index = idToToken[existing] {
                let old = tokens[index]
                if old.special == token.special && old.singleWord == token.singleWord && old.leftStrip == token.leftStrip
                    && old.rightStrip == token.rightStrip && old.normalized == token.normalized { continue }
            }
            var id = contentToID[token.content] ?? -1
            if id < 0 { id = modelTexts.id(of: token.content) }
            if id < 0 {
                id = nextID
                nextID += 1
            }
            token.id = id
            contentToID[token.content] = id
            if token.special { specialContents.insert(token.content) }
            var text = Codepoints.of(token.content)
            if token.normalized, let normalizer { text = normalizer.apply(text) }
            if let index = idToToken[id] {
                tokens[index] = token
                matchTexts[index] = text
            } else {
                idToToken[id] = tokens.count
                tokens.append(token)
                matchTexts.append(text)
            }
        }
        rebuild()
    }

    private mutating func rebuild() {
        rawTrie = ByteTrie()
        normalizedTrie = ByteTrie()
        hasRaw = false
        hasNormalized = false
        for (index, token) in tokens.enumerated() {
            let bytes = Codepoints.utf8(matchTexts[index])
            guard !bytes.isEmpty else { continue }
            if token.normalized {
                normalizedTrie.insert(bytes, value: Int32(index))
                hasNormalized = true
            } else {
                rawTrie.insert(Array(token.content.utf8), value: Int32(index))
                hasRaw = true
            }
        }
    }

    var isEmpty: Bool { tokens.isEmpty }

    func token(for id: Int32) -> HFAddedToken? { idToToken[id].map { tokens[$0] } }

    /// The string `id` decodes from, when it is an added token (normalized content).
    func decodeText(for id: Int32) -> [UInt8]? { idToToken[id].map { Codepoints.utf8(matchTexts[$0]) } }

    func isSpecial(text: [UInt8]) -> Bool { specialContents.contains(String(decoding: text, as: UTF8.self)) }

    enum Part {
        case token(Int32)
        case text([UInt32], atStart: Bool)
    }

    /// `find_matches` on `text` with the raw (`normalized` false) or the normalized tokens.
    func split(_ text: [UInt32], atStart: Bool, normalized: Bool, encodeSpecial: Bool) -> [Part] {
        guard normalized ? hasNormalized : hasRaw, !text.isEmpty else { return [.text(text, atStart: atStart)] }
        let trie = normalized ? normalizedTrie : rawTrie
        let bytes = Codepoints.utf8(text)
        // Character index of each byte offset, to cut the code point array.
        var characterAt = [Int](repeating: 0, count: bytes.count + 1)
        var character = 0
        for index in 0..<bytes.count {
            characterAt[index] = character
            if index + 1 == bytes.count || bytes[index + 1] & 0xC0 != 0x80 { character += 1 }
        }
        characterAt[bytes.count] = text.count
        var parts: [Part] = []
        var startOffset = 0
        var position = 0
        bytes.withUnsafeBufferPointer { buffer in
            while position < buffer.count {
                // The longest token starting here.
                var node: Int32 = 0
                var best = -1, bestEnd = position
                var end = position
                while end < buffer.count {
                    node = trie.child(node, buffer[end])
                    if node < 0 { break }
                    end += 1
                    let value = trie.values[Int(node)]
                    if value >= 0 { best = Int(value); bestEnd = end }
                }
                guard best >= 0 else { position += 1; continue }
                let token = tokens[best]
                if encodeSpecial && token.special {
                    position = bestEnd
                    continue
                }
                var start = position, stop = bestEnd
                if token.singleWord {
                    let startSpace = start == 0 || !HFCharacters.isWord(lastCharacter(buffer, before: start))
                    let stopSpace = stop == buffer.count || !HFCharacters.isWord(firstCharacter(buffer, at: stop))
                    if !startSpace || !stopSpace {
                        position = bestEnd
                        continue
                    }
                }
                if token.leftStrip {
                    var newStart = start
                    while newStart > 0 && HFCharacters.isWhitespace(lastCharacter(buffer, before: newStart)) {
                        newStart -= UTF8Text.encodedLength(lastCharacter(buffer, before: newStart))
                    }
                    start = max(newStart, startOffset)
                }
                if token.rightStrip {
                    while stop < buffer.count && HFCharacters.isWhitespace(firstCharacter(buffer, at: stop)) {
                        stop += UTF8Text.encodedLength(firstCharacter(buffer, at: stop))
                    }
                }
                if startOffset < start {
                    parts.append(.text(Array(text[characterAt[startOffset]..<characterAt[start]]), atStart: atStart && startOffset == 0))
                }
                parts.append(.token(token.id))
                startOffset = stop
                position = max(bestEnd, stop)
            }
        }
        if startOffset < bytes.count {
            parts.append(.text(Array(text[characterAt[startOffset]...]), atStart: atStart && startOffset == 0))
        }
        return parts
    }

    private func lastCharacter(_ bytes: UnsafeBufferPointer<UInt8>, before offset: Int) -> UInt32 {
        var start = offset - 1
        while start > 0 && bytes[start] & 0xC0 == 0x80 { start -= 1 }
        return UTF8Text.decodeLikeLlama(bytes, at: start).0
    }

    private func firstCharacter(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int) -> UInt32 {
        UTF8Text.decodeLikeLlama(bytes, at: offset).0
    }
}

/// tokenizer.json post-processors, for the special tokens added around a single sequence.
indirect enum HFPostProcessor: Sendable {
    /// The ids before and after the sequence (TemplateProcessing, BertProcessing, RobertaProcessing).
    case surround(before: [Int32], after: [Int32])
    case none
    case sequence([HFPostProcessor])

    init(json: JSONValue?, fields: HFFields, ids: (String) -> Int32?) throws {
        guard let json, !json.isNull else { self = .none; return }
        let object = try fields.object(json, "post_processor")
        let type = try fields.string(object["type"], "post_processor.type")
        func special(_ value: JSONValue?, _ field: String) throws -> Int32 {
            // [token, id] pairs.
            guard let pair = value?.arrayValue, pair.count == 2, let id = pair[1].intValue else {
                throw TokenizerError.missingField(file: fields.file, field: field)
            }
            return Int32(id)
        }
        switch type {
        case "TemplateProcessing":
            let single = try fields.array(object["single"], "TemplateProcessing.single")
            let tokens = object["special_tokens"]?.objectValue ?? JSONObject()
            var before: [Int32] = [], after: [Int32] = []
            var seenSequence = false
            for piece in single {
                if piece["Sequence"] != nil { seenSequence = true; continue }
                guard let name = piece["SpecialToken"]?["id"]?.stringValue else {
                    throw TokenizerError.invalidFile(file: fields.file, reason: "TemplateProcessing.single has an entry that is neither Sequence nor SpecialToken")
                }
                guard let entry = tokens[name]?.objectValue, let list = entry["ids"]?.arrayValue else {
                    throw TokenizerError.invalidFile(file: fields.file, reason: "TemplateProcessing names '\(name)', which its special_tokens lack")
                }
                let values = list.compactMap(\.intValue).map { Int32($0) }
                if seenSequence { after += values } else { before += values }
            }
            self = .surround(before: before, after: after)
        case "BertProcessing", "RobertaProcessing":
            self = .surround(before: [try special(object["cls"], "\(type).cls")], after: [try special(object["sep"], "\(type).sep")])
        case "ByteLevel": self = .none
        case "Sequence":
            self = .sequence(try fields.array(object["processors"], "Sequence.processors").map {
                try HFPostProcessor(json: $0, fields: fields, ids: ids)
            })
        default:
            throw TokenizerError.unsupportedComponent(file: fields.file, component: "post_processor", type: type)
        }
    }

    func apply(_ ids: [Int32]) -> [Int32] {
        switch self {
        case .none: return ids
        case .surround(let before, let after): return before + ids + after
        case .sequence(let processors):
            var current = ids
            for processor in processors { current = processor.apply(current) }
            return current
        }
    }

    var addsPrefix: [Int32] {
        switch self {
        case .none: []
        case .surround(let before, _): before
        case .sequence(let processors): processors.flatMap(\.addsPrefix)
        }
    }

    var addsSuffix: [Int32] {
        switch self {
        case .none: []
        case .surround(_, let after): after
        case .sequence(let processors): processors.flatMap(\.addsSuffix)
        }
    }
}
