import WeightFormats

/// tokenizer.json decoders: each turns the list of token strings into a new list
/// (`decode_chain`); the result is joined.
indirect enum HFDecoder: Sendable {
    case byteLevel
    case metaspace(replacement: UInt32, prependScheme: HFPreTokenizer.PrependScheme)
    case wordPiece(prefix: String, cleanup: Bool)
    case bpe(suffix: String)
    case replace(Pattern, content: [UInt32])
    case byteFallback
    case fuse
    case strip(content: UInt32, start: Int, stop: Int)
    case ctc(pad: String, wordDelimiter: String, cleanup: Bool)
    case sequence([HFDecoder])

    init(json: JSONValue, fields: HFFields) throws {
        let object = try fields.object(json, "decoder")
        let type = try fields.string(object["type"], "decoder.type")
        switch type {
        case "ByteLevel": self = .byteLevel
        case "Metaspace":
            let replacement = try fields.string(object["replacement"], "Metaspace.replacement").unicodeScalars
            guard replacement.count == 1, let character = replacement.first else {
                throw TokenizerError.wrongFieldType(file: fields.file, field: "decoder.replacement", expected: "one character", found: "\(replacement.count)")
            }
            var scheme = HFPreTokenizer.PrependScheme.always
            if let name = object["prepend_scheme"]?.stringValue, let value = HFPreTokenizer.PrependScheme(rawValue: name) { scheme = value }
            if object["add_prefix_space"]?.boolValue == false { scheme = .never }
            self = .metaspace(replacement: character.value, prependScheme: scheme)
        case "WordPiece":
            self = .wordPiece(prefix: try fields.optionalString(object["prefix"], "WordPiece.prefix") ?? "##",
                              cleanup: try fields.bool(object["cleanup"], "WordPiece.cleanup", default: true))
        case "BPEDecoder": self = .bpe(suffix: try fields.optionalString(object["suffix"], "BPEDecoder.suffix") ?? "</w>")
        case "Replace":
            self = .replace(try fields.pattern(object["pattern"], "Replace.pattern").compile(),
                            content: Codepoints.of(try fields.string(object["content"], "Replace.content")))
        case "ByteFallback": self = .byteFallback
        case "Fuse": self = .fuse
        case "Strip":
            let content = try fields.string(object["content"], "Strip.content").unicodeScalars
            guard let character = content.first, content.count == 1 else {
                throw TokenizerError.wrongFieldType(file: fields.file, field: "Strip.content", expected: "one character", found: "\(content.count)")
            }
            self = .strip(content: character.value, start: object["start"]?.intValue ?? 0, stop: object["stop"]?.intValue ?? 0)
        case "CTC":
            self = .ctc(pad: try fields.optionalString(object["pad_token"], "CTC.pad_token") ?? "<pad>",
                        wordDelimiter: try fields.optionalString(object["word_delimiter_token"], "CTC.word_delimiter_token") ?? "|",
                        cleanup: try fields.bool(object["cleanup"], "CTC.cleanup", default: true))
        case "Sequence":
            self = .sequence(try fields.array(object["decoders"], "Sequence.decoders").map { try HFDecoder(json: $0, fields: fields) })
        default:
            throw TokenizerError.unsupportedComponent(file: fields.file, component: "decoder", type: type)
        }
    }

    /// Token strings are byte arrays here: ByteLevel can produce invalid UTF-8 before the final
    /// lossy conversion, which the library does at once over the whole list.
    func decodeChain(_ tokens: [[UInt8]]) -> [[UInt8]] {
        switch self {
        case .byteLevel:
            var bytes: [UInt8] = []
            for token in tokens {
                let characters = Codepoints.of(utf8: token.withUnsafeBufferPointer { $0 })
                let mapped = characters.map { ByteLevel.byte(for: $0) }
                if mapped.allSatisfy({ $0 != nil }) {
                    bytes += mapped.map { $0! }
                } else {
                    bytes += token
                }
            }
            return [Array(String(decoding: bytes, as: UTF8.self).utf8)]
        case .metaspace(let replacement, let scheme):
            return tokens.enumerated().map { index, token in
                var output: [UInt32] = []
                for value in Codepoints.of(utf8: token.withUnsafeBufferPointer { $0 }) {
                    if value == replacement {
                        if !(index == 0 && scheme != .never) { output.append(0x20) }
                    } else {
                        output.append(value)
                    }
                }
                return Codepoints.utf8(output)
            }
        case .wordPiece(let prefix, let cleanup):
            let prefixBytes = Array(prefix.utf8)
            return tokens.enumerated().map { index, token in
                var text = token
                if index != 0 {
                    if text.starts(with: prefixBytes) { text.removeFirst(prefixBytes.count) } else { text.insert(0x20, at: 0) }
                }
                if cleanup { text = HFDecoder.cleanup(text) }
                return text
            }
        case .bpe(let suffix):
            let last = tokens.count - 1
            return tokens.enumerated().map { index, token in
                HFDecoder.replaceAll(token, Array(suffix.utf8), with: index == last ? [] : [0x20])
            }
        case .replace(let pattern, let content):
            let contentBytes = Codepoints.utf8(content)
            return tokens.map { token in
                let units = Codepoints.of(utf8: token.withUnsafeBufferPointer { $0 })
                guard !units.isEmpty else { return token }
                var output: [UInt32] = []
                var previous = 0
                units.withUnsafeBufferPointer { buffer in
                    for match in pattern.matches(in: buffer, range: 0..<buffer.count) {
                        output += units[previous..<match.lowerBound]
                        output += Codepoints.of(utf8: contentBytes.withUnsafeBufferPointer { $0 })
                        previous = match.upperBound
                    }
                }
                output += units[previous...]
                return Codepoints.utf8(output)
            }
        case .byteFallback:
            var output: [[UInt8]] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if String(validating: pending, as: UTF8.self) != nil {
                    output.append(pending)
                } else {
                    for _ in pending { output.append([0xEF, 0xBF, 0xBD]) }
                }
                pending.removeAll()
            }
            for token in tokens {
                if let byte = ByteLevel.parseHexToken(token) {
                    pending.append(byte)
                } else {
                    flush()
                    output.append(token)
                }
            }
            flush()
            return output
        case .fuse:
            return [tokens.flatMap { $0 }]
        case .strip(let content, let start, let stop):
            return tokens.map { token in
                let characters = Codepoints.of(utf8: token.withUnsafeBufferPointer { $0 })
                var first = 0
                for index in 0..<min(start, characters.count) {
                    if characters[index] == content { first = index + 1 } else { break }
                }
                var end = characters.count
                for step in 0..<min(stop, characters.count) {
                    let index = characters.count - step - 1
                    if characters[index] == content { end = index } else { break }
                }
                return end > first ? Codepoints.utf8(Array(characters[first..<end])) : []
            }
        case .ctc(let pad, let delimiter, let cleanup):
            var deduplicated: [[UInt8]] = []
            for token in tokens where deduplicated.last != token { deduplicated.append(token) }
            return deduplicated.compactMap { token in
                var replaced = HFDecoder.replaceAll(token, Array(pad.utf8), with: [])
                if cleanup { replaced = HFDecoder.replaceAll(HFDecoder.cleanup(replaced), Array(delimiter.utf8), with: [0x20]) }
                return replaced.isEmpty ? nil : replaced
            }
        case .sequence(let decoders):
            var current = tokens
            for decoder in decoders { current = decoder.decodeChain(current) }
            return current
        }
    }

    /// tokenizers' WordPiece `cleanup`.
    static let cleanupRules: [([UInt8], [UInt8])] = [
        (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
        (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
    ].map { (Array($0.0.utf8), Array($0.1.utf8)) }

    /// transformers' `clean_up_tokenization` (the same without " do not").
    static let transformersCleanupRules: [([UInt8], [UInt8])] = cleanupRules.filter { $0.0 != Array(" do not".utf8) }

    static func cleanup(_ text: [UInt8], rules: [([UInt8], [UInt8])] = cleanupRules) -> [UInt8] {
        var output = text
        for (pattern, replacement) in rules { output = replaceAll(output, pattern, with: replacement) }
        return output
    }

    /// Every non-overlapping occurrence, left to right.
    static func replaceAll(_ text: [UInt8], _ pattern: [UInt8], with replacement: [UInt8]) -> [UInt8] {
        guard !pattern.isEmpty, text.count >= pattern.count else { return text }
        var output: [UInt8] = []
        output.reserveCapacity(text.count)
        var index = 0
        while index < text.count {
            if index + pattern.count <= text.count && text[index..<(index + pattern.count)].elementsEqual(pattern) {
                output += replacement
                index += pattern.count
            } else {
                output.append(text[index])
                index += 1
            }
        }
        return output
    }
}
