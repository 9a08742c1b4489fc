import WeightFormats

/// The fields of a SentencePiece `tokenizer.model` that a converter writes into GGUF metadata,
/// as the `sentencepiece` library reports them: each piece's text, score and type, the model
/// type, and the normaliser's settings.
public struct SentencePieceModelFile: Sendable {
    /// A piece's type, numbered as SentencePiece (and GGUF's `token_type`) number them.
    public enum PieceType: Int32, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    public struct Piece: Sendable {
        /// The piece's UTF-8 text (`▁` for spaces).
        public var text: String
        public var score: Float
        public var type: PieceType
    }

    public let path: String
    public let pieces: [Piece]
    /// Unigram (`trainer_spec.model_type` 1) rather than BPE (2).
    public let isUnigram: Bool
    /// `normalizer_spec.add_dummy_prefix`.
    public let addDummyPrefix: Bool
    /// `normalizer_spec.remove_extra_whitespaces`.
    public let removeExtraWhitespaces: Bool
    /// `normalizer_spec.precompiled_charsmap` (empty when there is none).
    public let precompiledCharsMap: [UInt8]

    /// Reads `path`.
    ///
    /// - Throws: `TokenizerError` naming the file and the byte offset of what is malformed,
    ///   also for a model type other than Unigram or BPE.
    public init(path: String) throws {
        let bytes: [UInt8]
        do { bytes = try FileSystem.readFile(path) } catch let error as FormatError { throw TokenizerError.format(error) }
        let proto = try ModelProto(bytes: bytes, file: path)
        switch proto.modelType {
        case .unigram: isUnigram = true
        case .bpe: isUnigram = false
        default: throw TokenizerError.invalidFile(file: path, reason: "model type \(proto.modelType) is neither Unigram nor BPE")
        }
        self.path = path
        pieces = proto.pieces.map { piece in
            Piece(text: String(decoding: piece.text, as: UTF8.self), score: piece.score,
                  type: PieceType(rawValue: Int32(piece.type.rawValue)) ?? .normal)
        }
        addDummyPrefix = proto.addDummyPrefix
        removeExtraWhitespaces = proto.removeExtraWhitespaces
        precompiledCharsMap = proto.charsMap
    }
}
