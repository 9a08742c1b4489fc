import WeightFormats

/// The Hugging Face tokenizer files of a GGUF vocabulary: `tokenizer.json`,
/// `tokenizer_config.json`, `special_tokens_map.json`, `chat_template.jinja` and
/// `generation_config.json`, written so that the `tokenizers` library (and transformers'
/// `AutoTokenizer`) encodes as llama.cpp does on the GGUF:
/// - `gpt2` (byte-level BPE): llama.cpp's regexes for the `tokenizer.ggml.pre` name as a
///   sequence of isolating `Split`s, then `ByteLevel` without its own regex; the merges in rank
///   order, `ignore_merges` where llama.cpp ignores them;
/// - `gemma4` (SentencePiece-style BPE): `▁` for spaces, llama.cpp's newline split, the merges
///   in rank order with `<0xXX>` byte fallback;
/// - `llama` (SentencePiece): BPE with byte fallback whose merges are every pair of tokens that
///   joins into a token, ranked by the joined token's score (llama.cpp's bigram order), `▁` for
///   spaces and the space prefix as a normaliser;
/// - `t5` (UGM): a Unigram model with the scores, the precompiled character map, llama.cpp's
///   whitespace clean-up and `▁` prefix as normaliser and Metaspace;
/// - `bert` (WordPiece): llama.cpp's `▁word` / `piece` vocabulary back to `word` / `##piece`,
///   the BERT normaliser and pre-tokenizer, `[CLS] ... [SEP]`.
/// Control and unknown tokens become special added tokens (matched only when special tokens
/// are parsed), user-defined ones non-special added tokens (always matched), as llama.cpp
/// partitions text; `add_special` adds what llama.cpp adds.
public struct HuggingFaceTokenizerExport: Sendable {
    /// File name and text, in writing order.
    public var files: [(name: String, text: String)] = []
    /// What was assumed or left out, in words.
    public var notes: [String] = []

    /// The file names `make(gguf:)` can write.
    public static let fileNames = [
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja", "generation_config.json",
    ]

    /// The files for a GGUF's `tokenizer.*` keys.
    ///
    /// - Throws: `TokenizerError` for a vocabulary that does not load, and
    ///   `TokenizerError.unsupportedExport` for a tokenizer type without a Hugging Face form here.
    public static func make(gguf: GGUFFile) throws -> HuggingFaceTokenizerExport {
        let vocabulary: LlamaVocabulary
        do {
            vocabulary = try LlamaVocabulary(gguf: gguf)
        } catch let error as FormatError {
            throw TokenizerError.format(error)
        }
        var writer = Writer(vocabulary: vocabulary, metadata: gguf.metadata)
        return try writer.export()
    }

    struct Writer {
        let vocabulary: LlamaVocabulary
        let metadata: GGUFMetadata
        var notes: [String] = []

        init(vocabulary: LlamaVocabulary, metadata: GGUFMetadata) {
            self.vocabulary = vocabulary
            self.metadata = metadata
        }

        var file: String { vocabulary.file }

        mutating func export() throws -> HuggingFaceTokenizerExport {
            let model: JSONValue, normalizer: JSONValue, preTokenizer: JSONValue, decoder: JSONValue
            switch vocabulary.kind {
            case .bpe where !vocabulary.preType.byteEncodes:
                // SentencePiece-style BPE (gemma4, sarvam-moe): `▁` for spaces, merges over raw
                // UTF-8 in llama.cpp's newline pieces, `<0xXX>` for pieces without a token.
                guard vocabulary.escapeWhitespaces else {
                    throw TokenizerError.unsupportedExport(file: file, model: vocabulary.model)
                }
                model = try bpeModel(byteFallback: true)
                normalizer = Self.replace(" ", "\u{2581}")
                preTokenizer = .object(JSONObject([
                    ("type", .string("Sequence")), ("pretokenizers", .array(vocabulary.preType.regexes.map(Self.split))),
                ]))
                decoder = .object(JSONObject([("type", .string("Sequence")), ("decoders", .array([
                    Self.replace("\u{2581}", " "), .object(JSONObject([("type", .string("ByteFallback"))])),
                    .object(JSONObject([("type", .string("Fuse"))])),
                ]))]))
            case .bpe:
                model = try bpeModel(byteFallback: false)
                normalizer = .null
                preTokenizer = .object(JSONObject([
                    ("type", .string("Sequence")),
                    ("pretokenizers", .array(vocabulary.preType.regexes.map(Self.split) + [Self.byteLevel(useRegex: false)])),
                ]))
                decoder = Self.byteLevel(useRegex: true)
            case .spm:
                model = sentencePieceModel()
                var steps: [JSONValue] = []
                if vocabulary.addSpacePrefix { steps.append(.object(JSONObject([("type", .string("Prepend")), ("prepend", .string("\u{2581}"))]))) }
                steps.append(Self.replace(" ", "\u{2581}"))
                normalizer = .object(JSONObject([("type", .string("Sequence")), ("normalizers", .array(steps))]))
                preTokenizer = .null
                var decoders: [JSONValue] = [
                    Self.replace("\u{2581}", " "), .object(JSONObject([("type", .string("ByteFallback"))])),
                    .object(JSONObject([("type", .string("Fuse"))])),
                ]
                if vocabulary.addSpacePrefix {
                    decoders.append(.object(JSONObject([("type", .string("Strip")), ("content", .string(" ")), ("start", .int(1)), ("stop", .int(0))])))
                }
                decoder = .object(JSONObject([("type", .string("Sequence")), ("decoders", .array(decoders))]))
            case .wpm:
                model = wordPieceModel()
                normalizer = .object(JSONObject([
                    ("type", .string("BertNormalizer")), ("clean_text", .bool(true)), ("handle_chinese_chars", .bool(true)),
                    ("strip_accents", .bool(vocabulary.stripAccents)), ("lowercase", .bool(vocabulary.lowercase)),
                ]))
                preTokenizer = .object(JSONObject([("type", .string("BertPreTokenizer"))]))
                decoder = .object(JSONObject([("type", .string("WordPiece")), ("prefix", .string("##")), ("cleanup", .bool(true))]))
            case .ugm:
                model = unigramModel()
                var steps: [JSONValue] = []
                if let charsMap = vocabulary.charsMap {
                    steps.append(.object(JSONObject([("type", .string("Precompiled")), ("precompiled_charsmap", .string(Base64.encode(charsMap.bytes)))])))
                }
                if vocabulary.removeExtraWhitespaces {
                    steps.append(.object(JSONObject([("type", .string("Strip")), ("strip_left", .bool(true)), ("strip_right", .bool(true))])))
                    steps.append(.object(JSONObject([
                        ("type", .string("Replace")), ("pattern", .object(JSONObject([("Regex", .string(" {2,}"))]))), ("content", .string(" ")),
                    ])))
                }
                normalizer = steps.isEmpty ? .null : .object(JSONObject([("type", .string("Sequence")), ("normalizers", .array(steps))]))
                guard vocabulary.escapeWhitespaces else {
                    throw TokenizerError.unsupportedExport(file: file, model: vocabulary.model)
                }
                let metaspace = JSONValue.object(JSONObject([
                    ("type", .string("Metaspace")), ("replacement", .string("\u{2581}")),
                    ("prepend_scheme", .string(vocabulary.addSpacePrefix ? "always" : "never")), ("split", .bool(true)),
                ]))
                preTokenizer = metaspace
                decoder = metaspace
            }
            let tokenizer = JSONObject([
                ("version", .string("1.0")), ("truncation", .null), ("padding", .null), ("added_tokens", .array(addedTokens())),
                ("normalizer", normalizer), ("pre_tokenizer", preTokenizer), ("post_processor", postProcessor()),
                ("decoder", decoder), ("model", model),
            ])
            var export = HuggingFaceTokenizerExport()
            export.files.append(("tokenizer.json", JSONWriter.string(.object(tokenizer), indent: 2) + "\n"))
            export.files.append(("tokenizer_config.json", JSONWriter.string(.object(tokenizerConfig()), indent: 2) + "\n"))
            export.files.append(("special_tokens_map.json", JSONWriter.string(.object(specialTokensMap()), indent: 2) + "\n"))
            if let template = metadata.string("tokenizer.chat_template") {
                export.files.append(("chat_template.jinja", template))
            }
            export.files.append(("generation_config.json", JSONWriter.string(.object(generationConfig()), indent: 2) + "\n"))
            if vocabulary.cleanSpaces { notes.append("llama.cpp's clean-up of spaces when decoding is not written (clean_up_tokenization_spaces false)") }
            export.notes = notes
            return export
        }

        // MARK: Models

        /// Token text -> id as llama.cpp's map has it (the last of equal texts wins; texts are
        /// equal when their bytes are, not under Swift's canonical equivalence).
        func vocabularyObject(_ text: (Int) -> String?) -> JSONValue {
            var seen: [ExactString: Int] = [:]
            var order: [String] = []
            for id in 0..<vocabulary.count {
                guard let key = text(id) else { continue }
                if seen[ExactString(key)] == nil { order.append(key) }
                seen[ExactString(key)] = id
            }
            return .object(JSONObject(order.map { ($0, JSONValue.int(seen[ExactString($0)]!)) }))
        }

        /// Without the UNUSED tokens (the `[PADn]` convert_hf_to_gguf pads the vocabulary with):
        /// no merge makes them, so they never come out of encoding, and leaving them out keeps the
        /// tokenizer the size of the model it came from.
        var byteLevelVocabulary: JSONValue {
            vocabularyObject { vocabulary.attributes[$0].contains(.unused) ? nil : vocabulary.text($0) }
        }

        /// The GGUF's merges in rank order; with `byteFallback`, pieces without a token become
        /// `<0xXX>` tokens (the unknown token only if those are missing too).
        func bpeModel(byteFallback: Bool) throws -> JSONValue {
            var merges: [JSONValue] = []
            if let array = metadata.array("tokenizer.ggml.merges"), let strings = array.strings() {
                merges.reserveCapacity(strings.count)
                for (index, merge) in strings.enumerated() {
                    let scalars = Array(merge.unicodeScalars)
                    guard let space = scalars.dropFirst().firstIndex(of: " ") else {
                        throw TokenizerError.invalidMerge(file: file, index: index, merge: merge, reason: "no space between the two parts")
                    }
                    var left = String.UnicodeScalarView(), right = String.UnicodeScalarView()
                    left.append(contentsOf: scalars[..<space])
                    right.append(contentsOf: scalars[(space + 1)...])
                    merges.append(.array([.string(String(left)), .string(String(right))]))
                }
            }
            let unk = vocabulary.special.unk
            return .object(JSONObject([
                ("type", .string("BPE")), ("dropout", .null),
                ("unk_token", byteFallback && unk >= 0 ? .string(vocabulary.text(Int(unk))) : .null), ("continuing_subword_prefix", .null),
                ("end_of_word_suffix", .null), ("fuse_unk", .bool(false)), ("byte_fallback", .bool(byteFallback)),
                ("ignore_merges", .bool(vocabulary.ignoreMerges)), ("vocab", byteLevelVocabulary),
                ("merges", .array(merges)),
            ]))
        }

        /// llama.cpp's SPM joins the adjacent pair whose joined text is the highest-scoring
        /// token; a BPE whose merges are those pairs ranked by that score does the same.
        func sentencePieceModel() -> JSONValue {
            let count = vocabulary.count
            var candidates: [(score: Float, result: Int, left: Int, right: Int)] = []
            for id in 0..<count where !vocabulary.attributes[id].contains(.byte) {
                let bytes = Array(vocabulary.texts.bytes(id))
                guard bytes.count > 1 else { continue }
                for cut in 1..<bytes.count where bytes[cut] & 0xC0 != 0x80 {
                    let left = vocabulary.texts.id(of: Array(bytes[..<cut]))
                    let right = vocabulary.texts.id(of: Array(bytes[cut...]))
                    guard left >= 0, right >= 0 else { continue }
                    candidates.append((vocabulary.scores[id], id, Int(left), Int(right)))
                }
            }
            candidates.sort { a, b in
                if a.score != b.score { return a.score > b.score }
                if a.left != b.left { return a.left < b.left }
                return a.right < b.right
            }
            let merges = candidates.map { JSONValue.array([.string(vocabulary.text($0.left)), .string(vocabulary.text($0.right))]) }
            let unk = vocabulary.special.unk
            return .object(JSONObject([
                ("type", .string("BPE")), ("dropout", .null), ("unk_token", unk >= 0 ? .string(vocabulary.text(Int(unk))) : .null),
                ("continuing_subword_prefix", .null), ("end_of_word_suffix", .null), ("fuse_unk", .bool(true)),
                ("byte_fallback", .bool(true)), ("ignore_merges", .bool(false)), ("vocab", vocabularyObject { vocabulary.text($0) }),
                ("merges", .array(merges)),
            ]))
        }

        /// llama.cpp's UGM: every token with its score, in id order (Unigram ids are positions).
        func unigramModel() -> JSONValue {
            let unk = vocabulary.special.unk
            let pieces = (0..<vocabulary.count).map { JSONValue.array([.string(vocabulary.text($0)), .double(Double(vocabulary.scores[$0]))]) }
            let hasBytes = vocabulary.attributes.contains { $0.contains(.byte) }
            return .object(JSONObject([
                ("type", .string("Unigram")), ("unk_id", unk >= 0 ? .int(Int(unk)) : .null), ("vocab", .array(pieces)),
                ("byte_fallback", .bool(hasBytes)),
            ]))
        }

        /// convert_hf_to_gguf writes BERT vocabularies with `▁` before word-initial pieces and
        /// without `##` before the others; this is the inverse.
        func wordPieceModel() -> JSONValue {
            let unk = vocabulary.special.unk
            let vocab = vocabularyObject { id -> String? in
                let text = vocabulary.text(id)
                if !vocabulary.attributes[id].isDisjoint(with: [.control, .unknown, .userDefined]) { return text }
                if text.hasPrefix("\u{2581}") { return String(text.dropFirst()) }
                if text.count >= 2 && text.hasPrefix("[") && text.hasSuffix("]") { return text }
                return "##" + text
            }
            return .object(JSONObject([
                ("type", .string("WordPiece")), ("unk_token", .string(unk >= 0 ? vocabulary.text(Int(unk)) : "[UNK]")),
                ("continuing_subword_prefix", .string("##")), ("max_input_chars_per_word", .int(1_000_000)), ("vocab", vocab),
            ]))
        }

        // MARK: Special tokens

        /// Whether an id is matched as a special token (control or unknown) or always
        /// (user-defined), as llama.cpp's partition of the text.
        func addedKind(_ id: Int) -> (added: Bool, special: Bool) {
            let attributes = vocabulary.attributes[id]
            if !attributes.isDisjoint(with: [.control, .unknown]) { return (true, true) }
            if attributes.contains(.userDefined) { return (true, false) }
            return (false, false)
        }

        func addedToken(_ id: Int) -> JSONObject {
            let attributes = vocabulary.attributes[id]
            return JSONObject([
                ("id", .int(id)), ("content", .string(vocabulary.text(id))), ("single_word", .bool(false)),
                ("lstrip", .bool(attributes.contains(.leftStrip))), ("rstrip", .bool(attributes.contains(.rightStrip))),
                ("normalized", .bool(false)), ("special", .bool(addedKind(id).special)),
            ])
        }

        func addedTokens() -> [JSONValue] {
            (0..<vocabulary.count).filter { addedKind($0).added && !vocabulary.text($0).isEmpty }.map { .object(addedToken($0)) }
        }

        /// What `add_special` adds: BOS and EOS as configured, CLS and SEP for WordPiece.
        var addedAround: (first: Int?, last: [Int]) {
            let special = vocabulary.special
            func id(_ value: Int32) -> Int? { value >= 0 ? Int(value) : nil }
            switch vocabulary.kind {
            case .wpm: return (id(special.bos), id(special.sep).map { [$0] } ?? [])
            default:
                var last: [Int] = []
                if vocabulary.addEOS, let eos = id(special.eos) { last.append(eos) }
                if vocabulary.addSEP, let sep = id(special.sep) { last.append(sep) }
                return (vocabulary.addBOS ? id(special.bos) : nil, last)
            }
        }

        func postProcessor() -> JSONValue {
            let (first, last) = addedAround
            guard first != nil || !last.isEmpty else { return .null }
            func special(_ id: Int, _ typeID: Int) -> JSONValue {
                .object(JSONObject([("SpecialToken", .object(JSONObject([("id", .string(vocabulary.text(id))), ("type_id", .int(typeID))])))]))
            }
            func sequence(_ name: String, _ typeID: Int) -> JSONValue {
                .object(JSONObject([("Sequence", .object(JSONObject([("id", .string(name)), ("type_id", .int(typeID))])))]))
            }
            func around(_ name: String, _ typeID: Int) -> [JSONValue] {
                (first.map { [special($0, typeID)] } ?? []) + [sequence(name, typeID)] + last.map { special($0, typeID) }
            }
            var specials: [(String, JSONValue)] = []
            for id in (first.map { [$0] } ?? []) + last where !specials.contains(where: { $0.0 == vocabulary.text(id) }) {
                let text = vocabulary.text(id)
                specials.append((text, .object(JSONObject([("id", .string(text)), ("ids", .array([.int(id)])), ("tokens", .array([.string(text)]))]))))
            }
            return .object(JSONObject([
                ("type", .string("TemplateProcessing")), ("single", .array(around("A", 0))),
                ("pair", .array(around("A", 0) + around("B", 1))), ("special_tokens", .object(JSONObject(specials))),
            ]))
        }

        /// (transformers' name, id) of each special token the vocabulary has.
        var namedSpecials: [(name: String, id: Int)] {
            let special = vocabulary.special
            var named: [(String, Int32)] = [("bos_token", special.bos), ("eos_token", special.eos), ("unk_token", special.unk)]
            if vocabulary.kind == .wpm {
                named += [("cls_token", special.bos), ("sep_token", special.sep)]
            } else {
                named.append(("sep_token", special.sep))
            }
            named += [("pad_token", special.pad), ("mask_token", special.mask)]
            return named.filter { $0.1 >= 0 && Int($0.1) < vocabulary.count }.map { ($0.0, Int($0.1)) }
        }

        func tokenizerConfig() -> JSONObject {
            var config = JSONObject()
            config["tokenizer_class"] = .string("PreTrainedTokenizerFast")
            // transformers rebuilds the post-processor from these two flags (BOS and EOS only),
            // so they are written only where they say all the post-processor adds.
            let (first, last) = addedAround
            let eos = Int(vocabulary.special.eos)
            if vocabulary.kind != .wpm && last.allSatisfy({ $0 == eos }) {
                config["add_bos_token"] = .bool(first != nil)
                config["add_eos_token"] = .bool(last.contains(eos))
            }
            config["clean_up_tokenization_spaces"] = .bool(false)
            for (name, id) in namedSpecials { config[name] = .string(vocabulary.text(id)) }
            if let context = contextLength { config["model_max_length"] = .int(context) }
            var decoderEntries: [(String, JSONValue)] = []
            for id in 0..<vocabulary.count where addedKind(id).added && !vocabulary.text(id).isEmpty {
                var entry = addedToken(id)
                entry["id"] = nil
                decoderEntries.append((String(id), .object(entry)))
            }
            config["added_tokens_decoder"] = .object(JSONObject(decoderEntries))
            return config
        }

        func specialTokensMap() -> JSONObject {
            var map = JSONObject()
            for (name, id) in namedSpecials {
                var entry = addedToken(id)
                entry["id"] = nil
                entry["special"] = nil
                map[name] = .object(entry)
            }
            return map
        }

        /// BOS, the end-of-generation ids (EOS first) and padding, as `generate` reads them.
        func generationConfig() -> JSONObject {
            var config = JSONObject()
            let special = vocabulary.special
            if special.bos >= 0 { config["bos_token_id"] = .int(Int(special.bos)) }
            var stops: [Int] = special.eos >= 0 ? [Int(special.eos)] : []
            for id in vocabulary.endOfGeneration.map(Int.init) where !stops.contains(id) { stops.append(id) }
            if stops.count == 1 {
                config["eos_token_id"] = .int(stops[0])
            } else if !stops.isEmpty {
                config["eos_token_id"] = .array(stops.map { .int($0) })
            }
            if special.pad >= 0 { config["pad_token_id"] = .int(Int(special.pad)) }
            return config
        }

        var contextLength: Int? {
            guard let architecture = metadata.string("general.architecture") else { return nil }
            return metadata.int("\(architecture).context_length")
        }

        // MARK: Pieces

        static func split(_ pattern: String) -> JSONValue {
            .object(JSONObject([
                ("type", .string("Split")), ("pattern", .object(JSONObject([("Regex", .string(pattern))]))),
                ("behavior", .string("Isolated")), ("invert", .bool(false)),
            ]))
        }

        static func byteLevel(useRegex: Bool) -> JSONValue {
            .object(JSONObject([
                ("type", .string("ByteLevel")), ("add_prefix_space", .bool(false)), ("trim_offsets", .bool(true)),
                ("use_regex", .bool(useRegex)),
            ]))
        }

        static func replace(_ pattern: String, _ content: String) -> JSONValue {
            .object(JSONObject([
                ("type", .string("Replace")), ("pattern", .object(JSONObject([("String", .string(pattern))]))),
                ("content", .string(content)),
            ]))
        }
    }
}

/// The model card (`README.md`) of a converted model: the `general.*` keys of the GGUF under the
/// YAML keys gguf-py's `Metadata.load` reads back from a model card.
public enum ModelCard {
    /// (GGUF key, model-card key) for single values.
    static let scalars: [(String, String)] = [
        ("general.name", "model_name"), ("general.author", "model_author"), ("general.version", "model_version"),
        ("general.organization", "model_organization"), ("general.description", "model_description"),
        ("general.finetune", "model_finetune"), ("general.basename", "model_basename"),
        ("general.size_label", "model_size_label"), ("general.source.url", "model_url"), ("general.source.doi", "model_doi"),
        ("general.source.uuid", "model_uuid"), ("general.source.repo_url", "model_repo_url"), ("general.license", "license"),
        ("general.license.name", "license_name"), ("general.license.link", "license_link"),
    ]
    /// (GGUF key, model-card key) for lists.
    static let lists: [(String, String)] = [("general.tags", "tags"), ("general.languages", "language"), ("general.datasets", "datasets")]

    /// The README.md text, or nil when the GGUF has none of those keys.
    public static func text(metadata: GGUFMetadata) -> String? {
        var lines: [String] = []
        func quoted(_ text: String) -> String { JSONWriter.string(.string(text)) }
        for (key, card) in scalars {
            guard let value = metadata[key] else { continue }
            let text = value.stringValue ?? value.intValue.map(String.init) ?? value.doubleValue.map { String($0) }
            if let text { lines.append("\(card): \(quoted(text))") }
        }
        for (key, card) in lists {
            guard let values = metadata.array(key)?.strings(), !values.isEmpty else { continue }
            lines.append("\(card):")
            lines += values.map { "- \(quoted($0))" }
        }
        guard !lines.isEmpty else { return nil }
        let title = metadata.string("general.name") ?? "Model"
        return "---\n" + lines.joined(separator: "\n") + "\n---\n\n# \(title)\n\nConverted from GGUF by WeightKit.\n"
    }
}
