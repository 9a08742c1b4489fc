import WeightFormats
import WeightTokenizers

/// The `tokenizer.*` GGUF keys llama.cpp's `convert_hf_to_gguf.py` writes for a Hugging Face
/// tokenizer.json, for the two kinds its llama and Qwen converters handle without running
/// Python code:
/// - byte-level BPE (`_set_vocab_gpt2`): model "gpt2", the pre-tokenizer's name, tokens padded
///   to the config's vocabulary size with `[PADn]`, token types, merges;
/// - llama's BPE with byte fallback (`_set_vocab_llama_hf`, SentencePiece-style): model
///   "llama", pre "default", tokens, scores (-1000, as gguf-py's `LlamaHfVocab` writes them),
///   types (BYTE for `<0xNN>`, CONTROL for special tokens);
/// plus gguf-py's `SpecialVocab` keys (special ids, add_bos/eos, chat template, merges).
public enum TokenizerMetadata {
    /// The keys and what was left out or assumed.
    public struct Result {
        public var metadata = GGUFMetadataList()
        public var notes: [String] = []
    }

    /// - Parameters:
    ///   - directory: the Hugging Face model directory.
    ///   - modelType: config.json's `model_type` (llama and mistral, which llama.cpp converts with
    ///     LlamaModel, try the llama vocabulary first).
    ///   - vocabularySize: config.json's `vocab_size`.
    /// - Returns: nil when the directory has no tokenizer.json.
    public static func read(directory: String, modelType: String, vocabularySize: Int) throws -> Result? {
        guard let files = try TokenizerFiles(directory: directory) else { return nil }
        var result = Result()
        if FileSystem.isRegularFile(PathName.join(directory, "tokenizer.model")) {
            result.notes.append("tokenizer.model (SentencePiece protobuf) is not read; the vocabulary comes from tokenizer.json")
        }
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
        if files.model?["type"]?.stringValue == "WordPiece" {
            return try wordPiece(files, directory: directory, vocabularySize: vocabularySize)
        }
        guard files.model?["type"]?.stringValue == "BPE" else {
            throw ConversionError.invalidTokenizer(
                file: files.file, reason: "model type '\(files.model?["type"]?.stringValue ?? "none")' is not supported (BPE and WordPiece only)")
        }
        let vocabulary = try ByteLevelVocabulary(files, vocabularySize: vocabularySize)
        let pre = PreTokenizerName.name(for: files.tokenizer["pre_tokenizer"])
        if pre == nil {
            result.notes.append("pre-tokenizer not recognised: tokenizer.ggml.pre = \"default\" (llama.cpp splits text its default way)")
        }
        result.metadata["tokenizer.ggml.model"] = .string("gpt2")
        result.metadata["tokenizer.ggml.pre"] = .string(pre ?? "default")
        result.metadata["tokenizer.ggml.tokens"] = .array(elementType: .string, elements: vocabulary.tokens.map { .string($0) })
        result.metadata["tokenizer.ggml.token_type"] = .array(elementType: .int32, elements: vocabulary.types.map { .int32($0.rawValue) })
        let special = try SpecialTokens(files, loadMerges: true, vocabularySize: nil)
        special.write(into: &result.metadata)
        result.notes.append("tokenizer from tokenizer.json: gpt2 (byte-level BPE), pre-tokenizer '\(pre ?? "default")', \(vocabulary.tokens.count) tokens, \(special.merges.count) merges")
        result.notes += special.notes
        return result
    }
}

extension TokenizerMetadata {
    /// BertModel's `set_vocab`: `tokenizer.ggml.token_type_count` (config.json's
    /// `type_vocab_size`, 1 when absent), model "bert", the pre-tokenizer found by its hash, the
    /// vocabulary of `get_vocab_base` in llama.cpp's phantom-space form (a word-start token gets
    /// "▁" in front, a `##` continuation loses the `##`, control tokens stay as they are), the
    /// token types and gguf-py's special-token keys.
    static func wordPiece(_ files: TokenizerFiles, directory: String, vocabularySize: Int) throws -> Result {
        var result = Result()
        let vocabulary = try ByteLevelVocabulary(files, vocabularySize: vocabularySize)
        let tokens = zip(vocabulary.tokens, vocabulary.types).map { token, type in
            // By bytes: "##" followed by a combining mark is one Character, which hasPrefix would not see.
            type == .control ? token : token.utf8.starts(with: "##".utf8) ? String(decoding: token.utf8.dropFirst(2), as: UTF8.self)
                : "\u{2581}" + token
        }
        let tokenizer: Tokenizer
        do {
            tokenizer = try Tokenizer.load(directory)
        } catch {
            throw ConversionError.invalidTokenizer(file: files.file, reason: "it does not load: \(error)")
        }
        let (pre, hash) = PreTokenizerHash.name(of: tokenizer)
        if pre == nil {
            result.notes.append("pre-tokenizer hash \(hash) is not in llama.cpp's table: tokenizer.ggml.pre = \"default\" "
                                + "(llama.cpp's converter refuses such a tokenizer)")
        }
        let typeCount = files.modelConfig?["type_vocab_size"]?.intValue ?? 1
        result.metadata["tokenizer.ggml.token_type_count"] = .uint32(UInt32(clamping: typeCount))
        result.metadata["tokenizer.ggml.model"] = .string("bert")
        result.metadata["tokenizer.ggml.pre"] = .string(pre ?? "default")
        result.metadata["tokenizer.ggml.tokens"] = .array(elementType: .string, elements: tokens.map { .string($0) })
        result.metadata["tokenizer.ggml.token_type"] = .array(elementType: .int32, elements: vocabulary.types.map { .int32($0.rawValue) })
        let special = try SpecialTokens(files, loadMerges: false, vocabularySize: tokens.count)
        special.write(into: &result.metadata)
        result.notes.append("tokenizer from tokenizer.json: bert (WordPiece), pre-tokenizer '\(pre ?? "default")', \(tokens.count) tokens")
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
