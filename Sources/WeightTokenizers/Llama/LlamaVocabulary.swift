import WeightFormats

/// A vocabulary as llama.cpp 0.3.36 loads it from GGUF metadata (`llama_vocab::impl::load`):
/// the tokens with their scores and attributes, the merges, the special ids with llama.cpp's
/// defaults for absent keys, the flags, the end-of-generation set and the pieces tokens decode to.
///
/// GGUF keys read (all under `tokenizer.ggml.`): `model`, `pre`, `tokens`, `scores`,
/// `token_type`, `token_type_count`, `merges`, `bos/eos/eot/eom/unknown/seperator/padding/mask/
/// fim_pre/fim_suf/fim_mid/fim_pad/fim_rep/fim_sep/prefix/suffix/middle_token_id` (the misspelt
/// `seperator` is llama.cpp's key; `separator` is read when it is absent), `add_bos_token`,
/// `add_eos_token`, `add_sep_token`, `add_space_prefix`, `remove_extra_whitespaces`,
/// `precompiled_charsmap`, `normalizer.lowercase`, `normalizer.strip_accents`.
final class LlamaVocabulary: Sendable {
    /// llama.cpp's tokenizer families (`llama_vocab_type`).
    enum Kind: Sendable { case spm, bpe, wpm, ugm }

    let file: String
    /// `tokenizer.ggml.model` as written.
    let model: String
    let kind: Kind
    /// `tokenizer.ggml.pre` as written (nil when absent).
    let preName: String?
    /// The pre-tokenizer (BPE only).
    let preType: LlamaPreType
    let texts: TokenTexts
    let scores: [Float]
    let attributes: [TokenAttributes]
    let merges: MergeTable
    let tokenTypeCount: Int?

    let special: LlamaSpecialIDs
    let addSpacePrefix: Bool
    let addBOS: Bool
    let addEOS: Bool
    let addSEP: Bool
    let ignoreMerges: Bool
    let cleanSpaces: Bool
    let removeExtraWhitespaces: Bool
    let escapeWhitespaces: Bool
    let lowercase: Bool
    let stripAccents: Bool
    let byteEncodes: Bool

    /// Ids that end generation, ascending.
    let endOfGeneration: [Int32]
    /// Control, user-defined and unknown tokens, longest text first: matched in the text first.
    let wholeTokens: [Int32]
    /// Byte-level BPE: the token of each byte's character; SPM/UGM/gemma4: the `<0xXX>` token.
    let byteTokens: [Int32]
    let maxTokenLength: Int
    let charsMap: CharsMap?
    /// Notes on what was assumed or ignored while loading (bad special ids, missing pieces).
    let notes: [String]

    var count: Int { texts.count }

    // MARK: Loading

    convenience init(gguf: GGUFFile, displayName: String? = nil) throws {
        try self.init(metadata: GGUFKeys(gguf.metadata, file: displayName ?? gguf.file.path, bytes: gguf.file.bytes,
                                         littleEndian: gguf.byteOrder == .littleEndian))
    }

    init(metadata keys: GGUFKeys) throws {
        let file = keys.file
        self.file = file
        var notes: [String] = []

        // 1. The tokenizer family and its defaults.
        guard let model = try keys.string("tokenizer.ggml.model") else {
            throw TokenizerError.missingField(file: file, field: "tokenizer.ggml.model")
        }
        self.model = model
        var pre = try keys.string("tokenizer.ggml.pre")
        self.preName = pre
        tokenTypeCount = try keys.integer("tokenizer.ggml.token_type_count")
        var ids = LlamaSpecialIDs()
        var addSpacePrefix = false, addBOS = false, addEOS = false, addSEP = false
        // llama.cpp's BERT normalizer options default to lowercase and strip accents.
        var ignoreMerges = false, cleanSpaces = false, escapeWhitespaces = true, lowercase = true
        var preType = LlamaPreType.default
        let kind: Kind
        switch model {
        case "llama":
            kind = .spm
            ids.bos = 1; ids.eos = 2; ids.unk = 0
        case "bert":
            kind = .wpm
            ids.bos = 101; ids.unk = 100; ids.sep = 102; ids.pad = 0; ids.mask = 103
        case "gpt2":
            kind = .bpe
            ids.bos = 11; ids.eos = 11
        case "gemma4":
            kind = .bpe
            pre = "gemma4"
        case "t5":
            kind = .ugm
            ids.eos = 1; ids.unk = 2; ids.pad = 0
        default:
            throw TokenizerError.unsupportedModel(file: file, model: model)
        }
        self.kind = kind
        switch kind {
        case .bpe:
            escapeWhitespaces = false
            cleanSpaces = true
            let name = pre ?? "default"
            if pre == nil { notes.append("tokenizer.ggml.pre is missing: llama.cpp's 'default' pre-tokenizer") }
            guard let choice = LlamaPreType.choice(for: name) else {
                throw TokenizerError.unknownPreTokenizer(file: file, name: name)
            }
            preType = choice.type
            ignoreMerges = choice.ignoreMerges
            if let value = choice.addBOS { addBOS = value }
            if let value = choice.addSEP { addSEP = value }
            if let value = choice.cleanSpaces { cleanSpaces = value }
            if let value = choice.escapeWhitespaces { escapeWhitespaces = value }
            if choice.noBOS { ids.bos = -1 }
        case .spm:
            addSpacePrefix = true
            addBOS = true
        case .wpm:
            cleanSpaces = true
            addBOS = true
            addSEP = true
        case .ugm:
            addEOS = true
        }
        self.preType = preType
        self.byteEncodes = kind == .bpe && preType.byteEncodes
        if let value = try keys.bool("tokenizer.ggml.add_space_prefix") { addSpacePrefix = value }
        self.removeExtraWhitespaces = try keys.bool("tokenizer.ggml.remove_extra_whitespaces") ?? false

        // 2. Tokens, scores and types; every per-token array as long as the token list.
        guard let tokenArray = try keys.array("tokenizer.ggml.tokens", elements: .string, what: "an array of strings") else {
            throw TokenizerError.missingField(file: file, field: "tokenizer.ggml.tokens")
        }
        let count = tokenArray.count
        guard count > 0 else { throw TokenizerError.emptyVocabulary(file: file) }
        guard count <= Int(Int32.max) else {
            throw TokenizerError.invalidFile(file: file, reason: "\(count) tokens is more than token ids can number")
        }
        var maxLength = 0
        var empties: [Int] = []
        var texts = TokenTexts(strings: GGUFStringSource(count: count, byteCount: tokenArray.endOffset - tokenArray.offset) { body in
            tokenArray.forEachString { index, bytes in
                if bytes.isEmpty { empties.append(index) }
                body(bytes)
            }
        })
        if !empties.isEmpty {
            // llama.cpp renames empty tokens "[EMPTY_<id>]".
            var all = (0..<count).map { Array(texts.bytes($0)) }
            for index in empties { all[index] = Array("[EMPTY_\(index)]".utf8) }
            texts = TokenTexts(texts: all)
            notes.append("\(empties.count) empty tokens, renamed [EMPTY_<id>] as llama.cpp does")
        }
        for id in 0..<count { maxLength = max(maxLength, texts.length(id)) }
        self.maxTokenLength = maxLength

        var scores = [Float](repeating: 0, count: count)
        if let array = try keys.array("tokenizer.ggml.scores") {
            guard array.elementType == .float32 || array.elementType == .int32 else {
                throw TokenizerError.wrongFieldType(file: file, field: "tokenizer.ggml.scores", expected: "an array of FLOAT32 or INT32",
                                                    found: GGUFValue.array(array).typeName)
            }
            guard array.count == count else {
                throw TokenizerError.lengthMismatch(file: file, field: "tokenizer.ggml.scores", count: array.count, tokens: count)
            }
            if !keys.fileBytes.isEmpty && keys.littleEndian {
                let raw = UnsafeRawBufferPointer(rebasing: keys.fileBytes[array.offset..<(array.offset + count * 4)])
                for index in 0..<count {
                    let bits = raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)
                    scores[index] = array.elementType == .float32 ? Float(bitPattern: bits) : Float(Int32(bitPattern: bits))
                }
            } else {
                for index in 0..<count {
                    switch array[index] {
                    case .float32(let value): scores[index] = value
                    case .int32(let value): scores[index] = Float(value)
                    default: break
                    }
                }
            }
        }
        var attributes = [TokenAttributes](repeating: .normal, count: count)
        if let array = try keys.array("tokenizer.ggml.token_type") {
            guard array.elementType == .int32 else {
                throw TokenizerError.wrongFieldType(file: file, field: "tokenizer.ggml.token_type", expected: "an array of INT32",
                                                    found: GGUFValue.array(array).typeName)
            }
            guard array.count == count else {
                throw TokenizerError.lengthMismatch(file: file, field: "tokenizer.ggml.token_type", count: array.count, tokens: count)
            }
            let fast = !keys.fileBytes.isEmpty && keys.littleEndian
            let raw = fast ? UnsafeRawBufferPointer(rebasing: keys.fileBytes[array.offset..<(array.offset + count * 4)]) : nil
            for index in 0..<count {
                let type: Int
                if let raw {
                    type = Int(Int32(bitPattern: raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)))
                } else {
                    guard case .int32(let value) = array[index] else { throw TokenizerError.invalidTokenType(file: file, index: index, type: -1) }
                    type = Int(value)
                }
                guard let attribute = TokenAttributes(tokenType: type) else {
                    throw TokenizerError.invalidTokenType(file: file, index: index, type: type)
                }
                attributes[index] = attribute
            }
        }

        // 3. Merges (BPE), each naming two tokens whose join is a token.
        var merges = MergeTable()
        if kind == .bpe {
            guard let array = try keys.array("tokenizer.ggml.merges", elements: .string, what: "an array of strings") else {
                throw TokenizerError.missingField(file: file, field: "tokenizer.ggml.merges")
            }
            merges = try Self.readMerges(array, texts: texts, file: file)
        }
        self.merges = merges

        // 4. The UGM character map.
        if let array = try keys.array("tokenizer.ggml.precompiled_charsmap") {
            guard array.elementType == .uint8 || array.elementType == .int8 else {
                throw TokenizerError.wrongFieldType(file: file, field: "tokenizer.ggml.precompiled_charsmap",
                                                    expected: "an array of UINT8 or INT8", found: GGUFValue.array(array).typeName)
            }
            let bytes = keys.fileBytes.isEmpty
                ? (array.integers() ?? []).map { UInt8(truncatingIfNeeded: $0) }
                : Array(UnsafeRawBufferPointer(rebasing: keys.fileBytes[array.offset..<(array.offset + array.count)]))
            charsMap = kind == .ugm ? try CharsMap(bytes: bytes, file: file) : nil
        } else {
            charsMap = nil
        }

        // 5. Special ids: the file's, where they fit the vocabulary.
        ids.disableOutOfRange(count: count)
        for (key, role) in LlamaSpecialIDs.keys {
            var value = try keys.integer(key)
            if value == nil && key == "tokenizer.ggml.seperator_token_id" { value = try keys.integer("tokenizer.ggml.separator_token_id") }
            guard let value else { continue }
            if value < 0 || value >= count {
                notes.append("\(key) = \(value) is outside the vocabulary of \(count): the default is kept, as llama.cpp does")
                continue
            }
            ids[role] = Int32(value)
        }
        if let value = try keys.bool("tokenizer.ggml.add_bos_token") { addBOS = value }
        if let value = try keys.bool("tokenizer.ggml.add_eos_token") { addEOS = value }
        if let value = try keys.bool("tokenizer.ggml.add_sep_token") { addSEP = value }
        if preType == .gemma4 && !addBOS { addBOS = true }  // llama.cpp forces BOS for Gemma 4
        if let value = try keys.bool("tokenizer.ggml.normalizer.lowercase") { lowercase = value }
        self.stripAccents = try keys.bool("tokenizer.ggml.normalizer.strip_accents") ?? lowercase
        self.lowercase = lowercase
        self.addSpacePrefix = addSpacePrefix
        self.addEOS = addEOS
        self.addSEP = addSEP
        self.addBOS = addBOS
        self.ignoreMerges = ignoreMerges
        self.cleanSpaces = cleanSpaces
        self.escapeWhitespaces = escapeWhitespaces

        // 6. Tokens recognised by their text: end of turn, FIM, end of generation; attributes.
        var recognised = LlamaSpecialTokens.recognise(texts: texts, attributes: &attributes, ids: &ids)
        let name = (try keys.string("general.name"))?.lowercased() ?? ""
        let architecture = try keys.string("general.architecture") ?? ""
        let wholeTokens = LlamaSpecialTokens.wholeTokenOrder(texts: texts, attributes: attributes)
        LlamaSpecialTokens.applyNameRules(texts: texts, attributes: &attributes, wholeTokens: wholeTokens,
                                          modelName: name, pre: pre ?? "", architecture: architecture)
        recognised.sort()
        self.endOfGeneration = recognised
        self.wholeTokens = wholeTokens
        self.special = ids
        self.scores = scores
        self.attributes = attributes
        self.texts = texts

        // 7. Byte tokens and pieces.
        var byteTokens = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 {
            switch kind {
            case .bpe where preType.byteEncodes, .wpm:
                byteTokens[byte] = texts.id(of: ByteLevel.characterBytes(UInt8(byte)))
            default:
                var id = texts.id(of: ByteLevel.hexToken(UInt8(byte)))
                if id < 0 && kind != .bpe { id = texts.id(of: [UInt8(byte)]) }
                byteTokens[byte] = id
            }
        }
        self.byteTokens = byteTokens
        self.notes = notes

    }

    /// llama.cpp splits each merge at the first space after its first byte. The ids are found
    /// on every core (lookups only), then the table is built on one: merge i usually makes the
    /// token after the one merge i - 1 made, so that guess is checked before the index is asked.
    static func readMerges(_ array: GGUFArray, texts: TokenTexts, file: String) throws -> MergeTable {
        let count = array.count
        var left = [Int32](repeating: -1, count: count)
        var right = [Int32](repeating: -1, count: count)
        var result = [Int32](repeating: -1, count: count)
        let workers = count >= 32_768 ? Parallel.processorCount : 1
        var failures = [Int](repeating: Int.max, count: workers)
        left.withUnsafeMutableBufferPointer { left in
            right.withUnsafeMutableBufferPointer { right in
                result.withUnsafeMutableBufferPointer { result in
                    failures.withUnsafeMutableBufferPointer { failures in
                        let chunk = (count + workers - 1) / workers
                        Parallel.forEach(workers) { worker in
                            let range = (worker * chunk)..<min(count, (worker + 1) * chunk)
                            var previous: Int32 = -2
                            var joined: [UInt8] = []
                            joined.reserveCapacity(256)
                            array.forEachString(in: range) { index, bytes in
                                guard failures[worker] == Int.max else { return }
                                let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
                                var split = -1
                                var position = 1
                                while position < bytes.count {
                                    if base[position] == 0x20 { split = position; break }
                                    position += 1
                                }
                                guard split > 0 else { failures[worker] = index; return }
                                // The merge string lies in the mapping, so eight bytes can be read at once
                                // wherever that many remain in it.
                                let a = texts.id(of: base, count: split, available: bytes.count)
                                let b = texts.id(of: base + split + 1, count: bytes.count - split - 1, available: bytes.count - split - 1)
                                guard a >= 0, b >= 0 else { failures[worker] = index; return }
                                let first = UnsafeRawBufferPointer(rebasing: bytes[..<split])
                                let second = UnsafeRawBufferPointer(rebasing: bytes[(split + 1)...])
                                var made: Int32 = -1
                                let guess = Int(previous) + 1
                                if guess > 0 && guess < texts.count && texts.equals(guess, first, second) {
                                    made = Int32(guess)
                                } else {
                                    joined.removeAll(keepingCapacity: true)
                                    joined.append(contentsOf: first)
                                    joined.append(contentsOf: second)
                                    made = joined.withUnsafeBufferPointer { texts.id(of: $0.baseAddress!, count: $0.count) }
                                }
                                guard made >= 0 else { failures[worker] = index; return }
                                left[index] = a
                                right[index] = b
                                result[index] = made
                                previous = made
                            }
                        }
                    }
                }
            }
        }
        if let index = failures.min(), index != Int.max {
            throw mergeError(array, index: index, texts: texts, file: file)
        }
        return MergeTable(left: left, right: right, result: result)
    }

    /// What is wrong with merge `index`, in words.
    private static func mergeError(_ array: GGUFArray, index: Int, texts: TokenTexts, file: String) -> TokenizerError {
        let bytes = Array(array.string(at: index)?.bytes ?? UnsafeRawBufferPointer(start: nil, count: 0))
        let text = String(decoding: bytes, as: UTF8.self)
        guard let split = bytes.dropFirst().firstIndex(of: 0x20) else {
            return .invalidMerge(file: file, index: index, merge: text, reason: "has no space between two tokens")
        }
        let first = Array(bytes[..<split]), second = Array(bytes[(split + 1)...])
        for part in [first, second] where texts.id(of: part) < 0 {
            return .invalidMerge(file: file, index: index, merge: text,
                                 reason: "names '\(String(decoding: part, as: UTF8.self))', which is not in the vocabulary")
        }
        return .invalidMerge(file: file, index: index, merge: text,
                             reason: "joins to '\(String(decoding: first + second, as: UTF8.self))', which is not in the vocabulary")
    }

    // MARK: Queries

    func isControl(_ id: Int32) -> Bool { attributes[Int(id)].contains(.control) }

    /// What token `id` decodes to with special tokens rendered (`token_to_piece(special: true)`).
    func piece(_ id: Int) -> [UInt8] {
        var output: [UInt8] = []
        appendPiece(id, to: &output)
        return output
    }

    func appendPiece(_ id: Int, to output: inout [UInt8]) {
        LlamaPieces.append(id, texts: texts, attribute: attributes[id], kind: kind, escapeWhitespaces: escapeWhitespaces, to: &output)
    }

    func text(_ id: Int) -> String { texts.string(id) }
}

/// The special ids of a vocabulary; -1 for none (LLAMA_TOKEN_NULL).
struct LlamaSpecialIDs: Sendable, Equatable {
    var bos: Int32 = -1, eos: Int32 = -1, eot: Int32 = -1, eom: Int32 = -1, unk: Int32 = -1
    var sep: Int32 = -1, pad: Int32 = -1, mask: Int32 = -1
    var fimPre: Int32 = -1, fimSuf: Int32 = -1, fimMid: Int32 = -1, fimPad: Int32 = -1, fimRep: Int32 = -1, fimSep: Int32 = -1

    enum Role: CaseIterable, Sendable { case bos, eos, eot, eom, unk, sep, pad, mask, fimPre, fimSuf, fimMid, fimPad, fimRep, fimSep }

    subscript(role: Role) -> Int32 {
        get {
            switch role {
            case .bos: bos
            case .eos: eos
            case .eot: eot
            case .eom: eom
            case .unk: unk
            case .sep: sep
            case .pad: pad
            case .mask: mask
            case .fimPre: fimPre
            case .fimSuf: fimSuf
            case .fimMid: fimMid
            case .fimPad: fimPad
            case .fimRep: fimRep
            case .fimSep: fimSep
            }
        }
        set {
            switch role {
            case .bos: bos = newValue
            case .eos: eos = newValue
            case .eot: eot = newValue
            case .eom: eom = newValue
            case .unk: unk = newValue
            case .sep: sep = newValue
            case .pad: pad = newValue
            case .mask: mask = newValue
            case .fimPre: fimPre = newValue
            case .fimSuf: fimSuf = newValue
            case .fimMid: fimMid = newValue
            case .fimPad: fimPad = newValue
            case .fimRep: fimRep = newValue
            case .fimSep: fimSep = newValue
            }
        }
    }

    /// llama.cpp's key for each id, in the order it reads them (the deprecated prefix/suffix/middle
    /// keys last, so they win over fim_pre/suf/mid).
    static let keys: [(String, Role)] = [
        ("tokenizer.ggml.bos_token_id", .bos), ("tokenizer.ggml.eos_token_id", .eos),
        ("tokenizer.ggml.eot_token_id", .eot), ("tokenizer.ggml.eom_token_id", .eom),
        ("tokenizer.ggml.unknown_token_id", .unk), ("tokenizer.ggml.seperator_token_id", .sep),
        ("tokenizer.ggml.padding_token_id", .pad), ("tokenizer.ggml.mask_token_id", .mask),
        ("tokenizer.ggml.fim_pre_token_id", .fimPre), ("tokenizer.ggml.fim_suf_token_id", .fimSuf),
        ("tokenizer.ggml.fim_mid_token_id", .fimMid), ("tokenizer.ggml.fim_pad_token_id", .fimPad),
        ("tokenizer.ggml.fim_rep_token_id", .fimRep), ("tokenizer.ggml.fim_sep_token_id", .fimSep),
        ("tokenizer.ggml.prefix_token_id", .fimPre), ("tokenizer.ggml.suffix_token_id", .fimSuf),
        ("tokenizer.ggml.middle_token_id", .fimMid),
    ]

    /// Defaults that do not fit the vocabulary become none.
    mutating func disableOutOfRange(count: Int) {
        for role in Role.allCases where self[role] >= count { self[role] = -1 }
    }
}

/// Typed access to GGUF metadata keys, with errors that name the key.
struct GGUFKeys {
    let metadata: GGUFMetadata
    let file: String
    let fileBytes: UnsafeRawBufferPointer

    let littleEndian: Bool

    /// - Parameter bytes: the mapped file, for reading arrays in place (empty: element by element).
    init(_ metadata: GGUFMetadata, file: String, bytes: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
         littleEndian: Bool = true) {
        self.metadata = metadata
        self.file = file
        self.fileBytes = bytes
        self.littleEndian = littleEndian
    }

    func string(_ key: String) throws -> String? {
        guard let value = metadata[key] else { return nil }
        guard case .string(let string) = value else {
            throw TokenizerError.wrongFieldType(file: file, field: key, expected: "STRING", found: value.typeName)
        }
        return string.value
    }

    func bool(_ key: String) throws -> Bool? {
        guard let value = metadata[key] else { return nil }
        guard case .bool(let flag) = value else {
            throw TokenizerError.wrongFieldType(file: file, field: key, expected: "BOOL", found: value.typeName)
        }
        return flag
    }

    func integer(_ key: String) throws -> Int? {
        guard let value = metadata[key] else { return nil }
        guard let integer = value.intValue else {
            throw TokenizerError.wrongFieldType(file: file, field: key, expected: "an integer", found: value.typeName)
        }
        return integer
    }

    func array(_ key: String, elements: GGUFValueType? = nil, what: String = "") throws -> GGUFArray? {
        guard let value = metadata[key] else { return nil }
        guard case .array(let array) = value, elements == nil || array.elementType == elements else {
            throw TokenizerError.wrongFieldType(file: file, field: key, expected: what.isEmpty ? "ARRAY" : what, found: value.typeName)
        }
        return array
    }
}
