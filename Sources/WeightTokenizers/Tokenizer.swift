import WeightFormats

/// Text to token ids and back.
///
/// Built from whichever files a model has: the `tokenizer.ggml.*` metadata of a GGUF (also a
/// vocabulary-only one), a Hugging Face `tokenizer.json` (with `tokenizer_config.json` and
/// `special_tokens_map.json` beside it), a SentencePiece `tokenizer.model`, or a BERT
/// `vocab.txt` (WordPiece, set up as transformers' `BertTokenizer` from tokenizer_config.json). A tokenizer from
/// GGUF behaves as llama.cpp 0.3.36 does; one from tokenizer.json as the Hugging Face
/// `tokenizers` library (and transformers) does; one from tokenizer.model as `sentencepiece`.
///
/// ```swift
/// let tokenizer = try Tokenizer.load("model.gguf")
/// let ids = tokenizer.encode("Hello world")
/// let text = try tokenizer.decode(ids)
/// var stream = tokenizer.makeStreamingDecoder()
/// for id in ids { print(try stream.append(id), terminator: "") }
/// print(stream.finish())
/// ```
///
/// A tokenizer is immutable and can be shared between threads.
public final class Tokenizer: Sendable {
    /// Where the tokenizer came from, which decides whose behaviour it reproduces.
    public enum Source: String, Sendable {
        case gguf
        case huggingFace = "tokenizer.json"
        case sentencePiece = "tokenizer.model"
    }

    enum Backend: Sendable {
        case llama(LlamaVocabulary, LlamaEncoder)
        case huggingFace(HFTokenizer)
        case sentencePiece(SentencePieceTokenizer)
    }

    let backend: Backend
    public let source: Source
    /// The file or directory it was loaded from.
    public let path: String

    init(backend: Backend, source: Source, path: String) {
        self.backend = backend
        self.source = source
        self.path = path
    }

    // MARK: Loading

    /// Loads the tokenizer at `path`: a GGUF file, a directory with `tokenizer.json` or
    /// `tokenizer.model`, or either of those files.
    ///
    /// - Throws: `TokenizerError` naming the file and what is wrong with it.
    public static func load(_ path: String) throws -> Tokenizer {
        do {
            if FileSystem.isDirectory(path) {
                let json = PathName.join(path, "tokenizer.json")
                if FileSystem.isRegularFile(json) { return try Tokenizer(huggingFaceDirectory: path) }
                let model = PathName.join(path, "tokenizer.model")
                if FileSystem.isRegularFile(model) { return try Tokenizer(sentencePieceModel: model) }
                if FileSystem.isRegularFile(PathName.join(path, "vocab.txt")) { return try Tokenizer(bertVocabularyDirectory: path) }
                throw TokenizerError.notATokenizer(path: path, reason: "the directory has no tokenizer.json, tokenizer.model or vocab.txt")
            }
            guard FileSystem.isRegularFile(path) else {
                throw TokenizerError.notATokenizer(path: path, reason: "no such file or directory")
            }
            let name = PathName.lastComponent(of: path)
            if name.hasSuffix(".gguf") || isGGUF(path) { return try Tokenizer(gguf: GGUFFile(path: path)) }
            if name.hasSuffix(".json") { return try Tokenizer(huggingFaceFile: path) }
            if name.hasSuffix(".model") { return try Tokenizer(sentencePieceModel: path) }
            throw TokenizerError.notATokenizer(path: path, reason: "not a .gguf, tokenizer.json or tokenizer.model file")
        } catch let error as FormatError {
            throw TokenizerError.format(error)
        }
    }

    private static func isGGUF(_ path: String) -> Bool {
        guard let file = try? MappedFile(path: path), file.size >= 4 else { return false }
        return Array(file.bytes[0..<4]) == GGUFLimits.magic
    }

    /// The tokenizer described by a GGUF file's `tokenizer.ggml.*` keys.
    public convenience init(gguf: GGUFFile) throws {
        let vocabulary = try LlamaVocabulary(gguf: gguf, displayName: gguf.file.path)
        self.init(backend: .llama(vocabulary, try LlamaEncoder(vocabulary: vocabulary)), source: .gguf, path: gguf.file.path)
    }

    // MARK: Vocabulary

    /// The number of token ids.
    public var vocabularySize: Int {
        switch backend {
        case .llama(let vocabulary, _): vocabulary.count
        case .huggingFace(let tokenizer): tokenizer.vocabularySize
        case .sentencePiece(let tokenizer): tokenizer.texts.count
        }
    }

    /// The vocabulary's string for `id` (`Ġthe` in a byte-level vocabulary, `▁the` in
    /// SentencePiece's), or nil outside the vocabulary. Not the decoded text.
    public func piece(_ id: Int) -> String? {
        guard id >= 0 && id < vocabularySize else { return nil }
        switch backend {
        case .llama(let vocabulary, _): return vocabulary.text(id)
        case .huggingFace(let tokenizer): return tokenizer.tokenString(id)
        case .sentencePiece(let tokenizer): return tokenizer.texts.string(id)
        }
    }

    /// The vocabulary's bytes for `id` (GGUF token texts need not be valid UTF-8), or nil.
    public func pieceBytes(_ id: Int) -> [UInt8]? {
        guard id >= 0 && id < vocabularySize else { return nil }
        switch backend {
        case .llama(let vocabulary, _): return Array(vocabulary.texts.bytes(id))
        case .huggingFace(let tokenizer): return tokenizer.tokenString(id).map { Array($0.utf8) }
        case .sentencePiece(let tokenizer): return Array(tokenizer.texts.bytes(id))
        }
    }

    /// The id of a vocabulary string, or nil.
    public func id(ofPiece piece: String) -> Int? {
        switch backend {
        case .llama(let vocabulary, _):
            let id = vocabulary.texts.id(of: piece)
            return id >= 0 ? Int(id) : nil
        case .huggingFace(let tokenizer): return tokenizer.tokenID(piece)
        case .sentencePiece(let tokenizer):
            let id = tokenizer.texts.id(of: piece)
            return id >= 0 ? Int(id) : nil
        }
    }

    /// The special ids the tokenizer knows.
    public var specialTokens: SpecialTokenIDs {
        switch backend {
        case .llama(let vocabulary, _): return SpecialTokenIDs(vocabulary)
        case .huggingFace(let tokenizer): return tokenizer.specialTokens
        case .sentencePiece(let tokenizer): return tokenizer.specialTokens
        }
    }

    /// The ids that end generation, ascending: for GGUF, the EOS/EOT/EOM ids and the tokens
    /// llama.cpp recognises by their text (`<|im_end|>`, `<end_of_turn>`, ...); for Hugging Face
    /// files, the EOS ids of tokenizer_config.json and generation_config.json.
    public var endOfGeneration: [Int] {
        switch backend {
        case .llama(let vocabulary, _): return vocabulary.endOfGeneration.map(Int.init)
        case .huggingFace(let tokenizer): return tokenizer.endOfGeneration
        case .sentencePiece(let tokenizer): return tokenizer.specialTokens.eos.map { [$0] } ?? []
        }
    }

    /// Whether generation stops at `id` (one of `endOfGeneration`).
    public func isEndOfGeneration(_ id: Int) -> Bool {
        endOfGeneration.contains(id)
    }

    /// Whether `id` is a special (control) token, left out by `decode(skipSpecial: true)`.
    public func isSpecial(_ id: Int) -> Bool {
        guard id >= 0 && id < vocabularySize else { return false }
        switch backend {
        case .llama(let vocabulary, _): return !vocabulary.attributes[id].isDisjoint(with: [.control, .unknown])
        case .huggingFace(let tokenizer): return tokenizer.isSpecial(id)
        case .sentencePiece(let tokenizer): return tokenizer.proto.pieces[id].type == .control
        }
    }

    /// Notes on what was assumed while loading (defaults taken, entries skipped).
    public var notes: [String] {
        switch backend {
        case .llama(let vocabulary, _): vocabulary.notes
        case .huggingFace(let tokenizer): tokenizer.notes
        case .sentencePiece: []
        }
    }

    // MARK: Encoding

    /// The ids of `text`.
    ///
    /// - Parameters:
    ///   - addSpecial: add the BOS/EOS (or CLS/SEP) tokens the tokenizer is configured to add.
    ///   - parseSpecial: match the texts of special (control) tokens such as `<|im_start|>` in
    ///     `text`; when false they are ordinary text. User-defined (added, non-special) tokens
    ///     are matched either way.
    public func encode(_ text: String, addSpecial: Bool = true, parseSpecial: Bool = false) -> [Int] {
        var text = text
        return text.withUTF8 { encode(utf8: $0, addSpecial: addSpecial, parseSpecial: parseSpecial) }
    }

    /// The ids of UTF-8 bytes.
    public func encode(utf8 text: UnsafeBufferPointer<UInt8>, addSpecial: Bool = true, parseSpecial: Bool = false) -> [Int] {
        switch backend {
        case .llama(_, let encoder):
            return encoder.encode(text, addSpecial: addSpecial, parseSpecial: parseSpecial).map(Int.init)
        case .huggingFace(let tokenizer):
            return tokenizer.encode(text, addSpecial: addSpecial, parseSpecial: parseSpecial)
        case .sentencePiece(let tokenizer):
            return tokenizer.encode(text, addSpecial: addSpecial, parseSpecial: parseSpecial)
        }
    }

    // MARK: Decoding

    /// The text of `ids`; invalid UTF-8 (a lone byte token) becomes U+FFFD.
    ///
    /// - Parameter skipSpecial: leave out special tokens (they are rendered by default).
    /// - Throws: `TokenizerError.unknownTokenID` for an id outside the vocabulary.
    public func decode(_ ids: [Int], skipSpecial: Bool = false) throws -> String {
        String(decoding: try decodeBytes(ids, skipSpecial: skipSpecial), as: UTF8.self)
    }

    /// The bytes of `ids`, exactly (which need not be valid UTF-8).
    public func decodeBytes(_ ids: [Int], skipSpecial: Bool = false) throws -> [UInt8] {
        try checkIDs(ids)
        switch backend {
        case .llama(let vocabulary, _):
            return LlamaDecodeStream.decode(ids.map { Int32($0) }, vocabulary: vocabulary, removeSpecial: false, renderSpecial: !skipSpecial)
        case .huggingFace(let tokenizer):
            return tokenizer.decode(ids, skipSpecial: skipSpecial)
        case .sentencePiece(let tokenizer):
            return tokenizer.decode(ids, skipSpecial: skipSpecial)
        }
    }

    func checkIDs(_ ids: [Int]) throws {
        let size = vocabularySize
        for id in ids where id < 0 || id >= size { throw TokenizerError.unknownTokenID(id: id, vocabularySize: size) }
    }

    /// A decoder that turns ids into text one at a time, for generation: what it returns, put
    /// together, is exactly `decode` of all the ids, and no chunk ends inside a UTF-8 character.
    public func makeStreamingDecoder(skipSpecial: Bool = false) -> StreamingDecoder {
        StreamingDecoder(tokenizer: self, skipSpecial: skipSpecial)
    }
}

/// The special token ids of a tokenizer; nil where it has none.
public struct SpecialTokenIDs: Sendable, Equatable {
    public var bos: Int?
    public var eos: Int?
    public var eot: Int?
    public var eom: Int?
    public var unknown: Int?
    public var separator: Int?
    public var padding: Int?
    public var mask: Int?
    public var fimPrefix: Int?
    public var fimSuffix: Int?
    public var fimMiddle: Int?
    public var fimPad: Int?
    public var fimRepository: Int?
    public var fimSeparator: Int?
    /// Whether encoding with `addSpecial` adds BOS, EOS, SEP.
    public var addsBOS = false
    public var addsEOS = false
    public var addsSEP = false

    public init() {}

    init(_ vocabulary: LlamaVocabulary) {
        let ids = vocabulary.special
        func value(_ id: Int32) -> Int? { id >= 0 ? Int(id) : nil }
        bos = value(ids.bos); eos = value(ids.eos); eot = value(ids.eot); eom = value(ids.eom)
        unknown = value(ids.unk); separator = value(ids.sep); padding = value(ids.pad); mask = value(ids.mask)
        fimPrefix = value(ids.fimPre); fimSuffix = value(ids.fimSuf); fimMiddle = value(ids.fimMid)
        fimPad = value(ids.fimPad); fimRepository = value(ids.fimRep); fimSeparator = value(ids.fimSep)
        addsBOS = vocabulary.addBOS
        addsEOS = vocabulary.addEOS
        addsSEP = vocabulary.addSEP
    }
}

/// Decodes ids as they come (see `Tokenizer.makeStreamingDecoder`).
public struct StreamingDecoder: Sendable {
    let tokenizer: Tokenizer
    let skipSpecial: Bool
    private var llama: LlamaDecodeStream?
    private var hfIDs: [Int] = []
    private var hfEmitted = 0
    /// Decoded bytes not yet returned (an incomplete UTF-8 character at most, for llama).
    private var pending: [UInt8] = []

    init(tokenizer: Tokenizer, skipSpecial: Bool) {
        self.tokenizer = tokenizer
        self.skipSpecial = skipSpecial
        if case .llama(let vocabulary, _) = tokenizer.backend {
            llama = LlamaDecodeStream(vocabulary: vocabulary, renderSpecial: !skipSpecial)
        }
    }

    /// The text `id` completes (possibly empty).
    public mutating func append(_ id: Int) throws -> String {
        String(decoding: try appendBytes(id), as: UTF8.self)
    }

    /// The bytes `id` completes, never ending inside a UTF-8 character.
    public mutating func appendBytes(_ id: Int) throws -> [UInt8] {
        try tokenizer.checkIDs([id])
        if llama != nil {
            llama!.append(Int32(id), into: &pending)
        } else {
            hfIDs.append(id)
            let (bytes, emitted) = redecode(final: false)
            hfEmitted = emitted
            pending.append(contentsOf: bytes)
        }
        let cut = UTF8Boundary.completePrefix(pending)
        let ready = Array(pending[..<cut])
        pending.removeFirst(cut)
        return ready
    }

    /// Decoders whose output is not a stream of token pieces decode everything again and return
    /// the part that further ids cannot change.
    private func redecode(final: Bool) -> ([UInt8], Int) {
        switch tokenizer.backend {
        case .huggingFace(let hf): return hf.streamDecode(hfIDs, skipSpecial: skipSpecial, emitted: hfEmitted, final: final)
        case .sentencePiece(let sp): return sp.streamDecode(hfIDs, skipSpecial: skipSpecial, emitted: hfEmitted, final: final)
        case .llama: return ([], hfEmitted)
        }
    }

    /// Whatever is still held back.
    public mutating func finish() -> String {
        String(decoding: finishBytes(), as: UTF8.self)
    }

    /// The bytes still held back (an incomplete UTF-8 sequence at the end of the ids, as is).
    public mutating func finishBytes() -> [UInt8] {
        if llama != nil {
            llama!.finish(into: &pending)
        } else {
            let (bytes, emitted) = redecode(final: true)
            hfEmitted = emitted
            pending.append(contentsOf: bytes)
        }
        let rest = pending
        pending.removeAll()
        return rest
    }
}

enum UTF8Boundary {
    /// The length of the longest prefix that does not end in the first bytes of a UTF-8
    /// character still waiting for its continuation bytes.
    static func completePrefix(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        // Look back at most three bytes for the lead of an unfinished sequence.
        var back = 1
        while back <= 3 && back <= n {
            let lead = bytes[n - back]
            if lead & 0xC0 == 0x80 { back += 1; continue }  // a continuation byte
            let needed: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: needed = 2
            case 0xE0: needed = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: needed = 3
            case 0xED: needed = 3; high = 0x9F
            case 0xF0: needed = 4; low = 0x90
            case 0xF1...0xF3: needed = 4
            case 0xF4: needed = 4; high = 0x8F
            default: return n  // ASCII or a byte no sequence starts with
            }
            guard back < needed else { return n }  // complete (or too long: invalid either way)
            // An unfinished sequence only if what follows the lead could still continue it.
            for index in 1..<back {
                let byte = bytes[n - back + index]
                if index == 1 ? (byte < low || byte > high) : (byte & 0xC0 != 0x80) { return n }
            }
            return n - back
        }
        return n
    }
}
