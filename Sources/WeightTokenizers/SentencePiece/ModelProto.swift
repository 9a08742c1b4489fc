/// The fields of SentencePiece's `ModelProto` (sentencepiece_model.proto) a tokenizer needs,
/// read from the protobuf wire format directly.
///
/// Wire format: a message is a sequence of (key, value); key = varint `field << 3 | wire type`;
/// wire type 0 varint, 1 fixed 64-bit, 2 length-delimited (varint length, bytes), 5 fixed
/// 32-bit. Unknown fields are skipped; every length is checked against the bytes left.
///
///     ModelProto      1 pieces (repeated SentencePiece), 2 trainer_spec, 3 normalizer_spec
///     SentencePiece   1 piece (string), 2 score (float), 3 type (enum, default NORMAL = 1)
///     TrainerSpec     3 model_type (UNIGRAM 1, BPE 2, WORD 3, CHAR 4), 24 treat_whitespace_as_suffix,
///                     35 byte_fallback, 40 unk_id, 41 bos_id, 42 eos_id, 43 pad_id,
///                     44 unk_surface, 45-48 unk/bos/eos/pad piece
///     NormalizerSpec  1 name, 2 precompiled_charsmap, 3 add_dummy_prefix (default true),
///                     4 remove_extra_whitespaces (default true), 5 escape_whitespaces (default true)
struct ModelProto: Sendable {
    enum PieceType: Int, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    struct Piece: Sendable {
        var text: [UInt8] = []
        var score: Float = 0
        var type: PieceType = .normal
    }

    enum ModelType: Int, Sendable { case unigram = 1, bpe = 2, word = 3, character = 4 }

    var pieces: [Piece] = []
    var modelType: ModelType = .unigram
    var treatWhitespaceAsSuffix = false
    var byteFallback = false
    var unkID = 0, bosID = 1, eosID = 2, padID = -1
    var unkSurface: [UInt8] = Array(" \u{2047} ".utf8)
    var unkPiece = "<unk>", bosPiece = "<s>", eosPiece = "</s>", padPiece = "<pad>"
    var normalizerName = ""
    var charsMap: [UInt8] = []
    var addDummyPrefix = true
    var removeExtraWhitespaces = true
    var escapeWhitespaces = true

    /// Pieces beyond this are refused (a bound for what a count in the file can allocate).
    static let maxPieces = 10_000_000

    init(bytes: [UInt8], file: String) throws {
        var reader = ProtoReader(bytes: bytes[...], file: file)
        while let (field, wire) = try reader.nextKey() {
            switch (field, wire) {
            case (1, 2):
                guard pieces.count < Self.maxPieces else { throw reader.error("more than \(Self.maxPieces) pieces") }
                pieces.append(try Self.piece(try reader.message(), file: file))
            case (2, 2): try trainerSpec(try reader.message(), file: file)
            case (3, 2): try normalizerSpec(try reader.message(), file: file)
            default: try reader.skip(wire)
            }
        }
        guard !pieces.isEmpty else { throw TokenizerError.emptyVocabulary(file: file) }
    }

    private static func piece(_ bytes: ArraySlice<UInt8>, file: String) throws -> Piece {
        var reader = ProtoReader(bytes: bytes, file: file)
        var piece = Piece()
        while let (field, wire) = try reader.nextKey() {
            switch (field, wire) {
            case (1, 2): piece.text = Array(try reader.message())
            case (2, 5): piece.score = Float(bitPattern: try reader.fixed32())
            case (3, 0):
                let raw = try reader.varint()
                guard let type = PieceType(rawValue: Int(truncatingIfNeeded: raw)) else { throw reader.error("piece type \(raw) is not one of 1...6") }
                piece.type = type
            default: try reader.skip(wire)
            }
        }
        return piece
    }

    private mutating func trainerSpec(_ bytes: ArraySlice<UInt8>, file: String) throws {
        var reader = ProtoReader(bytes: bytes, file: file)
        while let (field, wire) = try reader.nextKey() {
            switch (field, wire) {
            case (3, 0):
                let raw = try reader.varint()
                guard let type = ModelType(rawValue: Int(truncatingIfNeeded: raw)) else { throw reader.error("model_type \(raw) is not one of 1...4") }
                modelType = type
            case (24, 0): treatWhitespaceAsSuffix = try reader.varint() != 0
            case (35, 0): byteFallback = try reader.varint() != 0
            case (40, 0): unkID = Int(Int32(truncatingIfNeeded: try reader.varint()))
            case (41, 0): bosID = Int(Int32(truncatingIfNeeded: try reader.varint()))
            case (42, 0): eosID = Int(Int32(truncatingIfNeeded: try reader.varint()))
            case (43, 0): padID = Int(Int32(truncatingIfNeeded: try reader.varint()))
            case (44, 2): unkSurface = Array(try reader.message())
            case (45, 2): unkPiece = String(decoding: try reader.message(), as: UTF8.self)
            case (46, 2): bosPiece = String(decoding: try reader.message(), as: UTF8.self)
            case (47, 2): eosPiece = String(decoding: try reader.message(), as: UTF8.self)
            case (48, 2): padPiece = String(decoding: try reader.message(), as: UTF8.self)
            default: try reader.skip(wire)
            }
        }
    }

    private mutating func normalizerSpec(_ bytes: ArraySlice<UInt8>, file: String) throws {
        var reader = ProtoReader(bytes: bytes, file: file)
        while let (field, wire) = try reader.nextKey() {
            switch (field, wire) {
            case (1, 2): normalizerName = String(decoding: try reader.message(), as: UTF8.self)
            case (2, 2): charsMap = Array(try reader.message())
            case (3, 0): addDummyPrefix = try reader.varint() != 0
            case (4, 0): removeExtraWhitespaces = try reader.varint() != 0
            case (5, 0): escapeWhitespaces = try reader.varint() != 0
            default: try reader.skip(wire)
            }
        }
    }
}

/// A cursor over protobuf wire-format bytes.
struct ProtoReader {
    var bytes: ArraySlice<UInt8>
    let file: String

    init(bytes: ArraySlice<UInt8>, file: String) {
        self.bytes = bytes
        self.file = file
    }

    var offset: Int { bytes.startIndex }

    func error(_ reason: String) -> TokenizerError { .invalidProtobuf(file: file, offset: offset, reason: reason) }

    mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard let byte = bytes.first else { throw error("the file ends inside a varint") }
            bytes = bytes.dropFirst()
            guard shift < 64 else { throw error("a varint longer than 10 bytes") }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    /// The next (field number, wire type), or nil at the end.
    mutating func nextKey() throws -> (Int, Int)? {
        guard !bytes.isEmpty else { return nil }
        let key = try varint()
        let field = Int(truncatingIfNeeded: key >> 3), wire = Int(key & 7)
        guard field > 0 else { throw error("field number 0") }
        return (field, wire)
    }

    mutating func fixed32() throws -> UInt32 {
        guard bytes.count >= 4 else { throw error("the file ends inside a 32-bit value") }
        let b = Array(bytes.prefix(4))
        bytes = bytes.dropFirst(4)
        return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
    }

    mutating func message() throws -> ArraySlice<UInt8> {
        let length = try varint()
        guard length <= UInt64(bytes.count) else { throw error("a field of \(length) bytes with \(bytes.count) left") }
        let value = bytes.prefix(Int(length))
        bytes = bytes.dropFirst(Int(length))
        return value
    }

    mutating func skip(_ wire: Int) throws {
        switch wire {
        case 0: _ = try varint()
        case 1:
            guard bytes.count >= 8 else { throw error("the file ends inside a 64-bit value") }
            bytes = bytes.dropFirst(8)
        case 2: _ = try message()
        case 5: _ = try fixed32()
        default: throw error("wire type \(wire) is not one of 0, 1, 2, 5")
        }
    }
}
