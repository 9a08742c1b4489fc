import WeightFormats
import WeightTokenizers

/// The `tokenizer.*` GGUF keys llama.cpp's `convert_hf_to_gguf.py` writes for a Hugging Face
/// model directory, by the same rules:
/// - a SentencePiece `tokenizer.model` first, as its model classes try it first
///   (`_create_vocab_sentencepiece`): model "llama", pre "default", pieces, scores and types
///   padded to the vocabulary size with `[PADn]`, `added_tokens.json` and tokenizer_config.json's
///   added tokens over them; for T5 models with a Unigram model, "t5" with the normaliser's
///   `add_space_prefix`, `remove_extra_whitespaces` and `precompiled_charsmap` (T5Model);
/// - llama's BPE with byte fallback in tokenizer.json (`_set_vocab_llama_hf`): model "llama",
///   pre "default", tokens, scores -1000 (as gguf-py's `LlamaHfVocab` writes them), types;
/// - byte-level BPE (`_set_vocab_gpt2`): model "gpt2", tokens padded to the config's
///   vocabulary size, token types, merges;
/// - WordPiece (BertModel): model "bert", the same tokens in llama.cpp's phantom-space form
///   (`▁word`, `piece` for `##piece`), `token_type_count`;
/// plus gguf-py's `SpecialVocab` keys (special ids, add_bos/eos, chat template, merges). For the
/// last two, `tokenizer.ggml.pre` is what `get_vocab_base_pre` picks (`PreTokenizerHash`).
public enum TokenizerMetadata {
    /// The keys and what was left out or assumed.
    public struct Result {
        public var metadata = GGUFMetadataList()
        public var notes: [String] = []
    }

    /// Model types llama.cpp converts with T5Model, whose Unigram tokenizer.model becomes "t5".
    static let t5ModelTypes: Set = ["t5", "t5encoder", "umt5"]

    /// - Parameters:
    ///   - directory: the Hugging Face model directory.
    ///   - modelType: config.json's `model_type` (llama and mistral, which llama.cpp converts with
    ///     LlamaModel, try the llama vocabulary first; bert reads WordPiece from tokenizer.json).
    ///   - vocabularySize: config.json's `vocab_size`.
    ///   - preTokenizer: `tokenizer.ggml.pre` instead of the name picked by hash.
    /// - Returns: nil when the directory has neither tokenizer.json nor tokenizer.model.
    /// - Throws: `ConversionError.invalidTokenizer` for files that do not parse or hold no
    ///   vocabulary of a kind llama.cpp converts, `.unknownPreTokenizer` when the hash is not in
    ///   llama.cpp's table and `preTokenizer` is nil.
    public static func read(directory: String, modelType: String, vocabularySize: Int, preTokenizer: String? = nil) throws -> Result? {
        guard let files = try TokenizerFiles(directory: directory) else { return nil }
        if let model = files.sentencePieceModel, modelType != "bert" {
            return try sentencePiece(files, model: model, modelType: modelType, vocabularySize: vocabularySize)
        }
        guard files.hasTokenizerJSON else { return nil }
        var result = Result()
        let llamaVocabulary = modelType == "llama" || modelType == "mistral"
        if llamaVocabulary, let addPrefix = files.config?["add_prefix_space"]?.boolValue {
            result.metadata["tokenizer.ggml.add_space_prefix"] = .bool(addPrefix)
        }
        if llamaVocabulary, LlamaVocabulary.applies(to: files) {
            let vocabulary = try LlamaVocabulary(files)
            result.metadata["tokenizer.ggml.model"] = .string("llama")
            result.metadata["tokenizer.ggml.pre"] = .string("default")
            result.metadata["tokenizer.ggml.tokens"] = .array(elementType: .string, elements: vocabulary.tokens.map { .string($0) })
            result.metadata["tokenizer.ggml.scores"] = .array(elementType: .float32, elements: vocabulary.tokens.map { _ in .float32(-1000) })
            result.metadata["tokenizer.ggml.token_type"] = .array(elementType: .int32, elements: vocabulary.types.map { .int32($0.rawValue) })
            let special = try SpecialTokens(files, loadMerges: false, vocabularySize: vocabulary.tokens.count)
            special.write(into: &result.metadata)
            result.notes.append("tokenizer from tokenizer.json: llama (byte fallback), \(vocabulary.tokens.count) tokens, scores -1000 as llama.cpp writes them")
            result.notes += special.notes
            return result
        }
        switch files.model?["type"]?.stringValue {
        case "BPE":
            let vocabulary = try ByteLevelVocabulary(files, vocabularySize: vocabularySize)
            let special = try SpecialTokens(files, loadMerges: true, vocabularySize: nil)
            let pre = try preTokenizerName(files, override: preTokenizer, notes: &result.notes)
            result.metadata["tokenizer.ggml.model"] = .string("gpt2")
            result.metadata["tokenizer.ggml.pre"] = .string(pre)
            result.metadata["tokenizer.ggml.tokens"] = .array(elementType: .string, elements: vocabulary.tokens.map { .string($0) })
            result.metadata["tokenizer.ggml.token_type"] = .array(elementType: .int32, elements: vocabulary.types.map { .int32($0.rawValue) })
            special.write(into: &result.metadata)
            result.notes.append("tokenizer from tokenizer.json: gpt2 (byte-level BPE), pre-tokenizer '\(pre)', \(vocabulary.tokens.count) tokens, \(special.merges.count) merges")
            result.notes += special.notes
        case "WordPiece":
            let vocabulary = try ByteLevelVocabulary(files, vocabularySize: vocabularySize)
            let special = try SpecialTokens(files, loadMerges: false, vocabularySize: vocabulary.tokens.count)
            let pre = try preTokenizerName(files, override: preTokenizer, notes: &result.notes)
            // llama.cpp's phantom-space form: "▁" before word-initial pieces, "##" dropped.
            let tokens = zip(vocabulary.tokens, vocabulary.types).map { token, type in
                // By bytes: "##" followed by a combining mark is one Character, which hasPrefix would not see.
                type == .control ? token : token.utf8.starts(with: "##".utf8) ? String(decoding: token.utf8.dropFirst(2), as: UTF8.self)
                    : "\u{2581}" + token
            }
            result.metadata["tokenizer.ggml.token_type_count"] = .uint32(UInt32(clamping: files.modelConfig?["type_vocab_size"]?.intValue ?? 1))
            result.metadata["tokenizer.ggml.model"] = .string("bert")
            result.metadata["tokenizer.ggml.pre"] = .string(pre)
            result.metadata["tokenizer.ggml.tokens"] = .array(elementType: .string, elements: tokens.map { .string($0) })
            result.metadata["tokenizer.ggml.token_type"] = .array(elementType: .int32, elements: vocabulary.types.map { .int32($0.rawValue) })
            special.write(into: &result.metadata)
            result.notes.append("tokenizer from tokenizer.json: bert (WordPiece), pre-tokenizer '\(pre)', \(tokens.count) tokens")
            result.notes += special.notes
        case let type:
            throw ConversionError.invalidTokenizer(
                file: files.file, reason: "model type '\(type ?? "none")' is not supported (BPE, WordPiece, or a tokenizer.model)")
        }
        return result
    }

    /// `get_vocab_base_pre`: the tokenizer encodes llama.cpp's check text as `AutoTokenizer.encode`
    /// does (special tokens added and parsed) and the hash of the ids names the pre-tokenizer.
    static func preTokenizerName(_ files: TokenizerFiles, override: String?, notes: inout [String]) throws -> String {
        let ids: [Int]
        do {
            ids = try Tokenizer.load(files.directory).encode(PreTokenizerHash.checkText, addSpecial: true, parseSpecial: true)
        } catch let error as TokenizerError {
            throw ConversionError.invalidTokenizer(file: files.file, reason: "it does not load as a tokenizer: \(error)")
        }
        let hash = PreTokenizerHash.hash(ids: ids)
        let name = PreTokenizerHash.name(checkTextIDs: ids)
        if let override {
            if let name, name != override { notes.append("tokenizer.ggml.pre '\(override)' as asked; llama.cpp's converter picks '\(name)'") }
            return override
        }
        guard let name else { throw ConversionError.unknownPreTokenizer(file: files.file, hash: hash) }
        return name
    }

    /// `_create_vocab_sentencepiece` (and T5Model's Unigram form of it).
    static func sentencePiece(_ files: TokenizerFiles, model path: String, modelType: String, vocabularySize: Int) throws -> Result {
        let model: SentencePieceModelFile
        do { model = try SentencePieceModelFile(path: path) } catch let error as TokenizerError {
            throw ConversionError.invalidTokenizer(file: path, reason: "\(error)")
        }
        let t5 = t5ModelTypes.contains(modelType) && model.isUnigram
        let size = vocabularySize > 0 ? vocabularySize : model.pieces.count
        var tokens = (0..<size).map { "[PAD\($0)]" }
        var scores = [Float](repeating: -10000, count: size)
        var types = [TokenType](repeating: .unused, count: size)
        var result = Result()
        for (id, piece) in model.pieces.enumerated() {
            guard id < size else {
                result.notes.append("tokenizer.model pieces from id \(id) are outside the vocabulary of \(size): left out")
                break
            }
            tokens[id] = piece.text
            scores[id] = piece.score
            // The converter asks sentencepiece IsUnknown/IsControl/IsUnused/IsByte: a
            // user-defined piece is NORMAL there.
            types[id] = piece.type == .userDefined ? .normal : TokenType(rawValue: piece.type.rawValue) ?? .normal
        }
        let addedPath = PathName.join(files.directory, "added_tokens.json")
        if FileSystem.isRegularFile(addedPath) {
            let added: JSONObject?
            do { added = try JSON.parse(FileSystem.readFile(addedPath)).objectValue } catch let error as FormatError {
                throw FormatError.inFile(addedPath, error)
            }
            guard let added else { throw ConversionError.invalidTokenizer(file: addedPath, reason: "not a JSON object") }
            for (text, value) in added {
                guard let id = value.intValue, id >= 0 else {
                    throw ConversionError.invalidTokenizer(file: addedPath, reason: "'\(text)' has no valid id")
                }
                guard id < size else { result.notes.append("added token \(id) is outside the vocabulary of \(size): left out"); continue }
                tokens[id] = text
                scores[id] = -1000
                types[id] = .userDefined
            }
        }
        if !t5, let decoder = files.config?["added_tokens_decoder"]?.objectValue {
            for (key, entry) in decoder {
                guard let id = Int(key), id >= 0, let content = entry["content"]?.stringValue else {
                    throw ConversionError.invalidTokenizer(
                        file: PathName.join(files.directory, "tokenizer_config.json"), reason: "added_tokens_decoder['\(key)'] has no id or content")
                }
                guard id < size else { result.notes.append("added token \(id) is outside the vocabulary of \(size): left out"); continue }
                if entry["special"]?.boolValue == true || ByteLevelVocabulary.looksSpecial(content) {
                    tokens[id] = content
                    types[id] = .control
                } else {
                    tokens[id] = content.replacingAll("\u{2581}", with: " ")
                    types[id] = .userDefined
                }
                scores[id] = -1000
            }
        }
        result.metadata["tokenizer.ggml.model"] = .string(t5 ? "t5" : "llama")
        result.metadata["tokenizer.ggml.pre"] = .string("default")
        result.metadata["tokenizer.ggml.tokens"] = .array(elementType: .string, elements: tokens.map { .string($0) })
        result.metadata["tokenizer.ggml.scores"] = .array(elementType: .float32, elements: scores.map { .float32($0) })
        result.metadata["tokenizer.ggml.token_type"] = .array(elementType: .int32, elements: types.map { .int32($0.rawValue) })
        if t5 {
            result.metadata["tokenizer.ggml.add_space_prefix"] = .bool(model.addDummyPrefix)
            result.metadata["tokenizer.ggml.remove_extra_whitespaces"] = .bool(model.removeExtraWhitespaces)
            if !model.precompiledCharsMap.isEmpty {
                result.metadata["tokenizer.ggml.precompiled_charsmap"] = .array(
                    elementType: .uint8, elements: model.precompiledCharsMap.map { .uint8($0) })
            }
        }
        let special = try SpecialTokens(files, loadMerges: false, vocabularySize: size)
        special.write(into: &result.metadata)
        result.notes.append("tokenizer from tokenizer.model: \(t5 ? "t5 (Unigram)" : "llama (SentencePiece \(model.isUnigram ? "Unigram" : "BPE"))"), \(size) tokens")
        result.notes += special.notes
        return result
    }
}

/// convert_hf_to_gguf's `get_vocab_base`: ids 0..<vocabularySize, gaps as `[PADn]` (UNUSED),
/// added tokens CONTROL when special or special-looking, else USER_DEFINED.
struct ByteLevelVocabulary {
    var tokens: [String] = []
    var types: [TokenType] = []

    init(_ files: TokenizerFiles, vocabularySize: Int) throws {
        var byID: [Int: String] = [:]
        for (token, id) in try files.vocabulary() { byID[id] = token }
        let added = try files.addedTokens()
        var addedByID: [Int: (content: String, special: Bool)] = [:]
        for token in added {
            byID[token.id] = token.content
            addedByID[token.id] = (token.content, token.special)
        }
        if let largest = byID.keys.max(), largest >= vocabularySize {
            throw ConversionError.invalidTokenizer(
                file: files.file, reason: "token id \(largest) is not below config.json's vocab_size \(vocabularySize)")
        }
        tokens.reserveCapacity(vocabularySize)
        types.reserveCapacity(vocabularySize)
        for id in 0..<vocabularySize {
            guard let token = byID[id] else {
                tokens.append("[PAD\(id)]")
                types.append(.unused)
                continue
            }
            if let entry = addedByID[id] {
                if entry.special || Self.looksSpecial(token) {
                    tokens.append(token)
                    types.append(.control)
                } else {
                    tokens.append(token.replacingAll("\u{2581}", with: " "))
                    types.append(.userDefined)
                }
            } else {
                tokens.append(token)
                types.append(.normal)
            }
        }
    }

    /// convert_hf_to_gguf's `does_token_look_special`.
    static func looksSpecial(_ token: String) -> Bool {
        ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].contains(token)
            || (token.hasPrefix("<|") && token.hasSuffix("|>"))
            || (token.hasPrefix("<\u{FF5C}") && token.hasSuffix("\u{FF5C}>"))
            || (token.hasPrefix("<unused") && token.hasSuffix(">"))
    }
}

/// gguf-py's `LlamaHfVocab`: the model vocabulary in id order, then added tokens beyond it.
struct LlamaVocabulary {
    var tokens: [String] = []
    var types: [TokenType] = []

    /// BPE with byte fallback and a Sequence decoder, and not Llama 3's ignore_merges BPE.
    static func applies(to files: TokenizerFiles) -> Bool {
        guard let model = files.model, model["type"]?.stringValue == "BPE" else { return false }
        let byteFallback = model["byte_fallback"]?.boolValue ?? false
        return byteFallback && files.tokenizer["decoder"]?["type"]?.stringValue == "Sequence"
    }

    init(_ files: TokenizerFiles) throws {
        let vocabulary = try files.vocabulary()
        let baseCount = vocabulary.count
        var byID: [Int: String] = [:]
        for (token, id) in vocabulary { byID[id] = token }
        let added = try files.addedTokens().sorted { $0.id < $1.id }
        for token in added where byID[token.id] == nil { byID[token.id] = token.content }
        // Special tokens: those tokenizer_config.json names, and its additional special tokens.
        var specialTexts = Set(SpecialTokens.types.compactMap { files.configToken($0) })
        for key in ["additional_special_tokens", "extra_special_tokens"] {
            for entry in files.config?[key]?.arrayValue ?? [] {
                if let text = entry.stringValue ?? entry["content"]?.stringValue { specialTexts.insert(text) }
            }
        }
        var idsByText: [String: Int] = [:]
        for (id, text) in byID { idsByText[text] = id }
        let specialIDs = Set(specialTexts.compactMap { idsByText[$0] })
        for id in 0..<baseCount {
            guard let token = byID[id] else {
                throw ConversionError.invalidTokenizer(file: files.file, reason: "no token with id \(id) in a vocabulary of \(baseCount)")
            }
            tokens.append(token)
            types.append(Self.isByteToken(token) ? .byte : specialIDs.contains(id) ? .control : .normal)
        }
        for token in added where token.id >= baseCount {
            tokens.append(token.content)
            types.append(specialTexts.contains(token.content) ? .control : .userDefined)
        }
    }

    /// `<0x0A>`-style byte tokens.
    static func isByteToken(_ token: String) -> Bool {
        let bytes = Array(token.utf8)
        guard bytes.count == 6, token.hasPrefix("<0x"), token.hasSuffix(">") else { return false }
        return bytes[3...4].allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 70) || ($0 >= 97 && $0 <= 102) }
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: Character) -> String {
        String(map { $0 == target ? replacement : $0 })
    }
}
