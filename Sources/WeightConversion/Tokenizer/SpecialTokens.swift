import WeightFormats

/// gguf-py's `SpecialVocab`: merges, special token ids, whether to add BOS/EOS, the chat template
/// and normaliser flags, read from tokenizer.json, tokenizer_config.json and config.json by
/// the same rules and in the same order of precedence.
struct SpecialTokens {
    static let types = ["bos", "eos", "unk", "sep", "pad", "cls", "mask"]
    /// gguf-py's keys for special token ids (it has none for cls) and add flags.
    static let idKeys = [
        "bos": "tokenizer.ggml.bos_token_id", "eos": "tokenizer.ggml.eos_token_id", "unk": "tokenizer.ggml.unknown_token_id",
        "sep": "tokenizer.ggml.seperator_token_id", "pad": "tokenizer.ggml.padding_token_id", "mask": "tokenizer.ggml.mask_token_id",
    ]
    static let addKeys: Set = ["bos", "eos", "sep"]

    var merges: [String] = []
    /// (type, id) in the order found; the first value for a type wins.
    var ids: [(type: String, id: Int)] = []
    var add: [(type: String, value: Bool)] = []
    var chatTemplate: String?
    var lowercase: Bool?
    var stripAccents: Bool?
    /// What was not carried over, in words.
    var notes: [String] = []

    /// - Parameter vocabularySize: ids at or above it are dropped (gguf-py's `n_vocab`).
    init(_ files: TokenizerFiles, loadMerges: Bool, vocabularySize: Int?) throws {
        if loadMerges { merges = try Self.merges(files) }
        if let normalizer = files.tokenizer["normalizer"]?.objectValue { parseNormalizer(normalizer) }
        let added = try files.addedTokens()
        var bos = files.configToken("bos"), eos = files.configToken("eos")
        let cls = files.configToken("cls"), sep = files.configToken("sep")
        var configTokens: [String: String] = [:]
        for type in Self.types { if let token = files.configToken(type) { configTokens[type] = token } }
        if bos == nil, let cls, files.config != nil { bos = cls; configTokens["bos"] = cls }
        if eos == nil, let sep, files.config != nil { eos = sep; configTokens["eos"] = sep }

        if let processor = files.tokenizer["post_processor"]?.objectValue {
            let processors = processor["processors"]?.arrayValue?.compactMap(\.objectValue) ?? [processor]
            for p in processors {
                switch p["type"]?.stringValue {
                case "ByteLevel":
                    setAdd("bos", false, overwrite: false)
                    setAdd("eos", false, overwrite: false)
                case "RobertaProcessing":
                    setAdd("bos", true, overwrite: true)
                    setAdd("eos", true, overwrite: true)
                    setAdd("sep", true, overwrite: true)
                case "TemplateProcessing":
                    let single = p["single"]?.arrayValue ?? []
                    guard single.count > 1 else { continue }
                    if let first = single.first?["SpecialToken"]?["id"]?.stringValue {
                        if files.config == nil { bos = first; configTokens["bos"] = first }
                        setAdd("bos", first == bos || first == cls, overwrite: true)
                    }
                    if let last = single.last?["SpecialToken"]?["id"]?.stringValue {
                        if files.config == nil { eos = last; configTokens["eos"] = last }
                        if last != eos { notes.append("post_processor ends with '\(last)', not the EOS token: no EOT/EOM id written") }
                        setAdd("eos", last == eos, overwrite: true)
                    }
                    addSeparator(p["pair"]?.arrayValue ?? [], single: single, sep: sep, eos: eos)
                default: continue
                }
            }
        }
        if files.config != nil {
            chatTemplate = files.config?["chat_template"]?.stringValue ?? files.chatTemplateFile
            if files.config?["chat_template"]?.arrayValue != nil { notes.append("a list of named chat templates is not written") }
            for type in Self.types {
                if let value = files.config?["add_\(type)_token"]?.boolValue { setAdd(type, value, overwrite: false) }
                guard let content = configTokens[type] else { continue }
                setID(type, added.first { $0.content == content }?.id, limit: vocabularySize)
            }
        }
        for type in Self.types {
            let id = files.modelConfig?["\(type)_token_id"]?.intValue ?? files.modelConfig?["text_config"]?["\(type)_token_id"]?.intValue
            setID(type, id, limit: vocabularySize)
        }
    }

    /// The `tokenizer.*` keys, in gguf-py's order.
    func write(into metadata: inout GGUFMetadataList) {
        if !merges.isEmpty { metadata["tokenizer.ggml.merges"] = .array(elementType: .string, elements: merges.map { .string($0) }) }
        for (type, id) in ids {
            guard let key = Self.idKeys[type] else { continue }
            metadata[key] = .uint32(UInt32(id))
        }
        for (type, value) in add where Self.addKeys.contains(type) { metadata["tokenizer.ggml.add_\(type)_token"] = .bool(value) }
        if let chatTemplate { metadata["tokenizer.chat_template"] = .string(chatTemplate) }
        if let lowercase { metadata["tokenizer.ggml.normalizer.lowercase"] = .bool(lowercase) }
        if let stripAccents { metadata["tokenizer.ggml.normalizer.strip_accents"] = .bool(stripAccents) }
    }

    /// `model.merges` as "a b" strings; pairs are joined with a space, spaces inside a part
    /// written as U+0120 as gguf-py does.
    static func merges(_ files: TokenizerFiles) throws -> [String] {
        guard let list = files.model?["merges"]?.arrayValue, !list.isEmpty else { return [] }
        return try list.enumerated().map { index, entry in
            if let text = entry.stringValue { return text }
            if let pair = entry.arrayValue, pair.count == 2, let a = pair[0].stringValue, let b = pair[1].stringValue {
                let escape: (String) -> String = { String($0.map { $0 == " " ? "\u{120}" : $0 }) }
                return escape(a) + " " + escape(b)
            }
            throw ConversionError.invalidTokenizer(file: files.file, reason: "merges[\(index)] is neither \"a b\" nor [a, b]")
        }
    }

    /// Whether the pair template puts a separator (SEP or EOS) between A and B.
    private mutating func addSeparator(_ pair: [JSONValue], single: [JSONValue], sep: String?, eos: String?) {
        let first = single.first?["SpecialToken"]?["id"]?.stringValue
        let last = single.last?["SpecialToken"]?["id"]?.stringValue
        var middle = pair[...]
        if let first, middle.first?["SpecialToken"]?["id"]?.stringValue == first { middle = middle.dropFirst() }
        if let last, middle.last?["SpecialToken"]?["id"]?.stringValue == last { middle = middle.dropLast() }
        guard middle.first?["Sequence"]?["id"]?.stringValue == "A", middle.last?["Sequence"]?["id"]?.stringValue == "B" else { return }
        middle = middle.dropFirst().dropLast()
        guard !middle.isEmpty else { return }
        var add = false
        let separators = [sep, eos].compactMap { $0 }
        if let entry = middle.first?["SpecialToken"]?["id"]?.stringValue, separators.contains(entry), last == nil { add = true }
        if middle.count == 2, let entry = middle.last?["SpecialToken"]?["id"]?.stringValue, separators.contains(entry) { add = true }
        setAdd("sep", add, overwrite: true)
    }

    private mutating func parseNormalizer(_ normalizer: JSONObject) {
        switch normalizer["type"]?.stringValue {
        case "Lowercase": lowercase = true
        case "StripAccents": stripAccents = true
        case "BertNormalizer":
            if let value = normalizer["lowercase"]?.boolValue { lowercase = value }
            if let value = normalizer["strip_accents"]?.boolValue { stripAccents = value }
        case "Sequence":
            for inner in normalizer["normalizers"]?.arrayValue ?? [] {
                if let object = inner.objectValue { parseNormalizer(object) }
            }
        default: break
        }
    }

    private mutating func setAdd(_ type: String, _ value: Bool, overwrite: Bool) {
        if let index = add.firstIndex(where: { $0.type == type }) {
            if overwrite { add[index].value = value }
        } else {
            add.append((type, value))
        }
    }

    private mutating func setID(_ type: String, _ id: Int?, limit: Int?) {
        guard let id, id >= 0, !ids.contains(where: { $0.type == type }) else { return }
        if let limit, id >= limit {
            notes.append("\(type) token id \(id) is outside the vocabulary of \(limit): skipped")
            return
        }
        ids.append((type, id))
    }
}
