import WeightFormats

/// A tokenizer as the Hugging Face `tokenizers` library (0.23) runs a tokenizer.json, with the
/// settings transformers takes from the files beside it:
///
/// - tokenizer_config.json (or special_tokens_map.json): the special tokens (added as special
///   tokens when tokenizer.json lacks them), `add_bos_token`/`add_eos_token` (which rebuild the
///   post-processor as transformers does when they are given or there is none), `added_tokens_decoder`,
///   `clean_up_tokenization_spaces` (applied when decoding, except for BPE models);
/// - generation_config.json and config.json: end-of-generation ids (`eos_token_id`).
///
/// Encoding: added tokens first (those marked `normalized: false` on the raw text, the others
/// after normalization), the normalizer, the pre-tokenizer, the model, the post-processor.
/// With `parseSpecial` false, special added tokens are text (the library's
/// `encode_special_tokens`); non-special added tokens are always matched.
final class HFTokenizer: Sendable {
    let file: String
    let normalizer: HFNormalizer?
    let preTokenizer: HFPreTokenizer?
    let model: HFModel
    let decoder: HFDecoder?
    let postProcessor: HFPostProcessor
    let added: HFAddedVocabulary
    /// Ids of `model.vocab` that are holes (no token has them).
    let holes: Set<Int32>
    let vocabularySize: Int
    let specialTokens: SpecialTokenIDs
    let endOfGeneration: [Int]
    let cleanUpSpaces: Bool
    let notes: [String]

    static func placeholder(_ id: Int) -> [UInt8] { Array("\u{0}[hole \(id)]".utf8) }

    convenience init(file: String) throws {
        try self.init(file: file, directory: nil)
    }

    /// - Parameters:
    ///   - file: the tokenizer.json.
    ///   - directory: where to look for tokenizer_config.json and the other files (nil: beside `file`).
    ///   - document: the tokenizer.json document when it is not read from `file` (a BERT
    ///     vocab.txt's, built by `BertVocabularyFile`).
    init(file: String, directory: String?, document: JSONValue? = nil) throws {
        self.file = file
        let folder = directory ?? PathName.directory(of: file)
        let fields = HFFields(file: file)
        let root = try document ?? HFTokenizer.readJSON(file) ?? .null
        guard let document = root.objectValue else {
            throw TokenizerError.notATokenizer(path: file, reason: "not a JSON object")
        }
        var notes: [String] = []
        let config = try HFTokenizer.readJSON(PathName.join(folder, "tokenizer_config.json"))?.objectValue
        let specialMap = try HFTokenizer.readJSON(PathName.join(folder, "special_tokens_map.json"))?.objectValue

        // 1. The pipeline.
        normalizer = try document["normalizer"].flatMap { $0.isNull ? nil : try HFNormalizer(json: $0, fields: fields) }
        preTokenizer = try document["pre_tokenizer"].flatMap { $0.isNull ? nil : try HFPreTokenizer(json: $0, fields: fields) }
        model = try HFModel.load(document["model"], fields: fields)
        decoder = try document["decoder"].flatMap { $0.isNull ? nil : try HFDecoder(json: $0, fields: fields) }
        let texts = model.texts
        var holes = Set<Int32>()
        for id in 0..<texts.count where texts.bytes(id).first == 0 && texts.bytes(id).elementsEqual(HFTokenizer.placeholder(id)) {
            holes.insert(Int32(id))
        }
        self.holes = holes

        // 2. Added tokens: tokenizer.json's, then the special tokens transformers adds.
        var added = HFAddedVocabulary()
        var entries: [HFAddedToken] = []
        for (index, entry) in (try fields.array(document["added_tokens"] ?? .array([]), "added_tokens")).enumerated() {
            entries.append(try HFTokenizer.addedToken(entry, fields: fields, field: "added_tokens[\(index)]"))
        }
        added.add(entries, modelTexts: texts, normalizer: normalizer)
        let configFields = HFFields(file: PathName.join(folder, "tokenizer_config.json"))
        if let decoderEntries = config?["added_tokens_decoder"]?.objectValue {
            var extra: [(Int, HFAddedToken)] = []
            for (key, value) in decoderEntries {
                extra.append((Int(key) ?? 0, try HFTokenizer.addedToken(value, fields: configFields, field: "added_tokens_decoder.\(key)")))
            }
            let missing = extra.sorted { $0.0 < $1.0 }.map(\.1).filter { token in
                guard let id = added.contentToID[token.content], let existing = added.token(for: id) else { return true }
                return existing.special != token.special || existing.leftStrip != token.leftStrip || existing.rightStrip != token.rightStrip
                    || existing.singleWord != token.singleWord || existing.normalized != token.normalized
            }
            if !missing.isEmpty { added.add(missing, modelTexts: texts, normalizer: normalizer) }
        }
        func named(_ role: String) -> HFAddedToken? {
            let value = config?["\(role)_token"] ?? specialMap?["\(role)_token"]
            guard let value, !value.isNull else { return nil }
            if let text = value.stringValue {
                return HFAddedToken(content: text, id: -1, special: true, singleWord: false, leftStrip: false, rightStrip: false, normalized: false)
            }
            return try? HFTokenizer.addedToken(value, fields: configFields, field: "\(role)_token", special: true)
        }
        let roles = ["bos", "eos", "unk", "sep", "pad", "cls", "mask"]
        var tokensToAdd: [HFAddedToken] = []
        for role in roles {
            guard var token = named(role) else { continue }
            token.special = true
            if added.contentToID[token.content] == nil { tokensToAdd.append(token) }
        }
        for key in ["additional_special_tokens", "extra_special_tokens"] {
            for value in (config?[key] ?? specialMap?[key])?.arrayValue ?? [] {
                var token: HFAddedToken?
                if let text = value.stringValue {
                    token = HFAddedToken(content: text, id: -1, special: true, singleWord: false, leftStrip: false, rightStrip: false, normalized: false)
                } else {
                    token = try? HFTokenizer.addedToken(value, fields: configFields, field: key, special: true)
                }
                if let token, added.contentToID[token.content] == nil { tokensToAdd.append(token) }
            }
        }
        if !tokensToAdd.isEmpty { added.add(tokensToAdd, modelTexts: texts, normalizer: normalizer) }
        self.added = added
        func id(of text: String) -> Int32? {
            if let id = added.contentToID[text] { return id }
            let id = texts.id(of: text)
            return id >= 0 && !holes.contains(id) ? id : nil
        }

        // 3. The post-processor, rebuilt from add_bos_token/add_eos_token as transformers does.
        var processor = try HFPostProcessor(json: document["post_processor"], fields: fields, ids: id(of:))
        let explicitBOS = config?["add_bos_token"]?.boolValue, explicitEOS = config?["add_eos_token"]?.boolValue
        var noProcessor = false
        if case .none = processor { noProcessor = document["post_processor"] == nil || document["post_processor"]?.isNull == true }
        if explicitBOS != nil || explicitEOS != nil || noProcessor {
            var before: [Int32] = [], after: [Int32] = []
            if explicitBOS == true, let bos = named("bos"), let value = id(of: bos.content) { before = [value] }
            if explicitEOS == true, let eos = named("eos"), let value = id(of: eos.content) { after = [value] }
            processor = .surround(before: before, after: after)
        }
        postProcessor = processor

        // 4. Special ids and the end of generation.
        var special = SpecialTokenIDs()
        func roleID(_ role: String) -> Int? { named(role).flatMap { id(of: $0.content) }.map(Int.init) }
        special.bos = roleID("bos")
        special.eos = roleID("eos")
        special.unknown = roleID("unk")
        special.separator = roleID("sep") ?? roleID("cls").flatMap { _ in nil }
        special.padding = roleID("pad")
        special.mask = roleID("mask")
        let prefix = processor.addsPrefix, suffix = processor.addsSuffix
        special.addsBOS = special.bos.map { prefix.contains(Int32($0)) } ?? !prefix.isEmpty
        special.addsEOS = special.eos.map { suffix.contains(Int32($0)) } ?? false
        special.addsSEP = special.separator.map { suffix.contains(Int32($0)) } ?? false
        var endOfGeneration = Set<Int>()
        if let eos = special.eos { endOfGeneration.insert(eos) }
        for name in ["generation_config.json", "config.json"] {
            guard let object = try HFTokenizer.readJSON(PathName.join(folder, name))?.objectValue else { continue }
            let value = object["eos_token_id"]
            if let single = value?.intValue { endOfGeneration.insert(single) }
            for element in value?.arrayValue ?? [] { if let id = element.intValue { endOfGeneration.insert(id) } }
        }
        for text in LlamaSpecialTokens.endOfGenerationTexts {
            if let value = added.contentToID[text] { endOfGeneration.insert(Int(value)) }
        }
        let size = max(texts.count, Int((added.idToToken.keys.max() ?? -1) + 1))
        vocabularySize = size
        self.endOfGeneration = endOfGeneration.filter { $0 >= 0 && $0 < size }.sorted()
        self.specialTokens = special
        var clean = config?["clean_up_tokenization_spaces"]?.boolValue ?? false
        if clean, case .bpe = model {
            clean = false
            notes.append("clean_up_tokenization_spaces is ignored for a BPE model, as transformers does")
        }
        cleanUpSpaces = clean
        self.notes = notes
    }

    static func addedToken(_ value: JSONValue, fields: HFFields, field: String, special: Bool? = nil) throws -> HFAddedToken {
        let object = try fields.object(value, field)
        let content = try fields.string(object["content"], "\(field).content")
        let isSpecial = try fields.bool(object["special"], "\(field).special", default: special ?? false)
        return HFAddedToken(
            content: content, id: Int32(object["id"]?.intValue ?? -1), special: special ?? isSpecial,
            singleWord: try fields.bool(object["single_word"], "\(field).single_word", default: false),
            leftStrip: try fields.bool(object["lstrip"], "\(field).lstrip", default: false),
            rightStrip: try fields.bool(object["rstrip"], "\(field).rstrip", default: false),
            normalized: try fields.bool(object["normalized"], "\(field).normalized", default: !(special ?? isSpecial)))
    }

    static func readJSON(_ path: String) throws -> JSONValue? {
        guard FileSystem.isRegularFile(path) else { return nil }
        do {
            return try JSON.parse(FileSystem.readFile(path))
        } catch let error as FormatError {
            throw TokenizerError.format(.inFile(path, error))
        }
    }

    // MARK: Queries

    func tokenString(_ id: Int) -> String? {
        if let token = added.token(for: Int32(id)) { return token.content }
        guard id >= 0 && id < model.texts.count && !holes.contains(Int32(id)) else { return nil }
        return model.texts.string(id)
    }

    func tokenID(_ piece: String) -> Int? {
        if let id = added.contentToID[piece] { return Int(id) }
        let id = model.texts.id(of: piece)
        return id >= 0 && !holes.contains(id) ? Int(id) : nil
    }

    func isSpecial(_ id: Int) -> Bool { added.token(for: Int32(id))?.special ?? false }

    // MARK: Encoding

    func encode(_ text: UnsafeBufferPointer<UInt8>, addSpecial: Bool, parseSpecial: Bool) -> [Int] {
        var output: [Int32] = []
        output.reserveCapacity(text.count / 3 + 4)
        var cache = WordCache()
        var workspace = MergeWorkspace()
        let characters = Codepoints.of(utf8: text)
        for part in added.split(characters, atStart: true, normalized: false, encodeSpecial: !parseSpecial) {
            switch part {
            case .token(let id): output.append(id)
            case .text(let raw, let atStart):
                guard !raw.isEmpty else { continue }
                let normalized = normalizer?.apply(raw) ?? raw
                for inner in added.split(normalized, atStart: atStart, normalized: true, encodeSpecial: !parseSpecial) {
                    switch inner {
                    case .token(let id): output.append(id)
                    case .text(let piece, let pieceAtStart):
                        guard !piece.isEmpty else { continue }
                        let pieces = preTokenizer?.apply([HFPiece(text: piece, atStart: pieceAtStart)]) ?? [HFPiece(text: piece, atStart: pieceAtStart)]
                        for word in pieces {
                            model.encode(Codepoints.utf8(word.text), into: &output, cache: &cache, workspace: &workspace)
                        }
                    }
                }
            }
        }
        if addSpecial { output = postProcessor.apply(output) }
        return output.map(Int.init)
    }

    // MARK: Decoding

    func decode(_ ids: [Int], skipSpecial: Bool) -> [UInt8] {
        var tokens: [[UInt8]] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            let token: [UInt8]
            if let text = added.decodeText(for: Int32(id)) {
                token = text
            } else if id >= 0 && id < model.texts.count && !holes.contains(Int32(id)) {
                token = Array(model.texts.bytes(id))
            } else {
                continue
            }
            if skipSpecial && added.isSpecial(text: token) { continue }
            tokens.append(token)
        }
        var bytes: [UInt8]
        if let decoder {
            bytes = decoder.decodeChain(tokens).flatMap { $0 }
        } else {
            bytes = Array(tokens.joined(separator: [0x20]))
        }
        if cleanUpSpaces { bytes = HFDecoder.cleanup(bytes, rules: HFDecoder.transformersCleanupRules) }
        return bytes
    }

    /// Bytes held back while streaming: the clean-up rules look up to 7 bytes ahead.
    static let streamHoldBack = 16

    /// The part of `decode(ids)` beyond the first `emitted` bytes that further ids cannot
    /// change; everything when `final`.
    func streamDecode(_ ids: [Int], skipSpecial: Bool, emitted: Int, final: Bool = false) -> ([UInt8], Int) {
        let bytes = decode(ids, skipSpecial: skipSpecial)
        var stable = bytes.count
        if !final {
            // Replacement characters at the end may be a byte sequence still arriving.
            while stable >= 3 && bytes[stable - 3] == 0xEF && bytes[stable - 2] == 0xBF && bytes[stable - 1] == 0xBD { stable -= 3 }
            stable -= HFTokenizer.streamHoldBack
            while stable > 0 && stable < bytes.count && bytes[stable] & 0xC0 == 0x80 { stable -= 1 }
        }
        guard stable > emitted else { return ([], emitted) }
        return (Array(bytes[emitted..<stable]), stable)
    }
}

extension Tokenizer {
    convenience init(huggingFaceDirectory directory: String) throws {
        let tokenizer = try HFTokenizer(file: PathName.join(directory, "tokenizer.json"), directory: directory)
        self.init(backend: .huggingFace(tokenizer), source: .huggingFace, path: directory)
    }

    /// A BERT directory with vocab.txt (and tokenizer_config.json) but no tokenizer.json.
    convenience init(bertVocabularyDirectory directory: String) throws {
        let file = PathName.join(directory, "vocab.txt")
        let document = try BertVocabularyFile.document(vocabulary: file, directory: directory)
        let tokenizer = try HFTokenizer(file: file, directory: directory, document: document)
        self.init(backend: .huggingFace(tokenizer), source: .huggingFace, path: directory)
    }

    convenience init(huggingFaceFile file: String) throws {
        let tokenizer = try HFTokenizer(file: file, directory: nil)
        self.init(backend: .huggingFace(tokenizer), source: .huggingFace, path: file)
    }

    /// A tokenizer.model; a tokenizer_config.json beside it decides whether BOS/EOS are added.
    convenience init(sentencePieceModel file: String) throws {
        let config = try HFTokenizer.readJSON(PathName.join(PathName.directory(of: file), "tokenizer_config.json"))?.objectValue
        let bytes: [UInt8]
        do { bytes = try FileSystem.readFile(file) } catch let error as FormatError { throw TokenizerError.format(error) }
        let tokenizer = try SentencePieceTokenizer(file: file, bytes: bytes, config: config)
        self.init(backend: .sentencePiece(tokenizer), source: .sentencePiece, path: file)
    }
}
