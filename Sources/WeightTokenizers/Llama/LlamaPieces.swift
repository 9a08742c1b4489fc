/// GPT-2's byte-level alphabet: every byte is written as one printable character, so that
/// byte-level BPE vocabularies hold text only (`Ġ` for the space byte, `Ċ` for newline).
enum ByteLevel {
    /// The code point standing for each byte.
    static let characters: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var extra: UInt32 = 0
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = 256 + extra
                extra += 1
            }
        }
        return table
    }()

    /// The UTF-8 bytes of each byte's character.
    static let encoded: [[UInt8]] = characters.map { UTF8Text.encode($0) }

    static func characterBytes(_ byte: UInt8) -> [UInt8] { encoded[Int(byte)] }

    /// The byte a character stands for, or nil for characters outside the alphabet.
    @inline(__always)
    static func byte(for character: UInt32) -> UInt8? {
        if character < 256 {
            let byte = Int(character)
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            return printable ? UInt8(byte) : nil
        }
        return character < 256 + 68 ? reverse[Int(character - 256)] : nil
    }

    private static let reverse: [UInt8?] = {
        var table = [UInt8?](repeating: nil, count: 68)
        for byte in 0..<256 where characters[byte] >= 256 { table[Int(characters[byte] - 256)] = UInt8(byte) }
        return table
    }()

    /// `<0xAB>`: the byte-fallback token of SentencePiece vocabularies.
    static func hexToken(_ byte: UInt8) -> [UInt8] {
        let digits = Array("0123456789ABCDEF".utf8)
        return Array("<0x".utf8) + [digits[Int(byte >> 4)], digits[Int(byte & 15)], UInt8(ascii: ">")]
    }

    /// The byte of a `<0xAB>` token, or nil.
    static func parseHexToken<C: Collection>(_ text: C) -> UInt8? where C.Element == UInt8 {
        let bytes = Array(text)
        guard bytes.count == 6, bytes[0] == 0x3C, bytes[1] == 0x30, bytes[2] == 0x78, bytes[5] == 0x3E,
              let high = hexValue(bytes[3]), let low = hexValue(bytes[4]) else { return nil }
        return high << 4 | low
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }
}

/// What a token of a llama.cpp vocabulary decodes to (`token_to_piece` with special tokens
/// rendered), computed when asked from the token's text and attributes.
enum LlamaPieces {
    static func append(_ id: Int, texts: TokenTexts, attribute: TokenAttributes, kind: LlamaVocabulary.Kind,
                       escapeWhitespaces: Bool, to output: inout [UInt8]) {
        texts.withBytes(id) { text in
            if !attribute.isDisjoint(with: [.unknown, .control, .userDefined]) {
                output.append(contentsOf: text)
            } else if attribute.contains(.normal) {
                if kind != .bpe || escapeWhitespaces {
                    appendUnescapingWhitespace(text, to: &output)
                } else {
                    appendByteLevel(text, to: &output)
                }
            } else if attribute.contains(.byte) && kind != .wpm {
                output.append(tokenByte(text))
            }
        }
    }

    static func appendUnescapingWhitespace(_ bytes: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) {
        var index = 0
        while index < bytes.count {
            if index + 2 < bytes.count, bytes[index] == 0xE2, bytes[index + 1] == 0x96, bytes[index + 2] == 0x81 {
                output.append(0x20)
                index += 3
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
    }

    /// Byte-level characters back to bytes, fast for the common case (all in the alphabet).
    static func appendByteLevel(_ bytes: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) {
        let start = output.count
        var offset = 0
        while offset < bytes.count {
            let (value, length) = UTF8Text.decodeLikeLlama(bytes, at: offset)
            guard let byte = ByteLevel.byte(for: value) else {
                output.removeSubrange(start...)
                output.append(contentsOf: decodeByteLevel(bytes))
                return
            }
            output.append(byte)
            offset += length
        }
    }

    /// `▁` (U+2581) back to spaces.
    static func unescapeWhitespace<C: Collection>(_ text: C) -> [UInt8] where C.Element == UInt8 {
        var output: [UInt8] = []
        output.reserveCapacity(text.count)
        let bytes = Array(text)
        var index = 0
        while index < bytes.count {
            if index + 2 < bytes.count, bytes[index] == 0xE2, bytes[index + 1] == 0x96, bytes[index + 2] == 0x81 {
                output.append(0x20)
                index += 3
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return output
    }

    /// llama.cpp's `llama_decode_text`: each character back to its byte; a character outside
    /// the byte alphabet becomes `[UNK_BYTE_0x<its UTF-8 in hex><the token's text>]`.
    static func decodeByteLevel<C: Collection>(_ text: C) -> [UInt8] where C.Element == UInt8 {
        let bytes = Array(text)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        for character in UTF8Text.codepointsLikeLlama(bytes) {
            if let byte = ByteLevel.byte(for: character) {
                output.append(byte)
            } else {
                output.append(contentsOf: Array("[UNK_BYTE_0x".utf8))
                let digits = Array("0123456789abcdef".utf8)
                for byte in UTF8Text.encode(character) {
                    output.append(digits[Int(byte >> 4)])
                    output.append(digits[Int(byte & 15)])
                }
                output.append(contentsOf: bytes)
                output.append(UInt8(ascii: "]"))
            }
        }
        return output
    }

    /// llama.cpp's `token_to_byte`: the hex digits at offsets 3 and 4 of `<0xAB>`.
    static func tokenByte<C: Collection>(_ text: C) -> UInt8 where C.Element == UInt8 {
        let bytes = Array(text)
        var value: UInt8 = 0
        for index in 3..<min(5, bytes.count) {
            guard let digit = ByteLevel.hexValue(bytes[index]) else { break }
            value = value &* 16 &+ digit
        }
        return value
    }
}

/// UTF-8 encoding and decoding of code points.
enum UTF8Text {
    static func encode(_ value: UInt32) -> [UInt8] {
        var bytes: [UInt8] = []
        append(value, to: &bytes)
        return bytes
    }

    @inline(__always)
    static func append(_ value: UInt32, to bytes: inout [UInt8]) {
        if value < 0x80 {
            bytes.append(UInt8(value))
        } else if value < 0x800 {
            bytes.append(UInt8(0xC0 | (value >> 6)))
            bytes.append(UInt8(0x80 | (value & 0x3F)))
        } else if value < 0x10000 {
            bytes.append(UInt8(0xE0 | (value >> 12)))
            bytes.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (value & 0x3F)))
        } else {
            bytes.append(UInt8(0xF0 | (value >> 18)))
            bytes.append(UInt8(0x80 | ((value >> 12) & 0x3F)))
            bytes.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (value & 0x3F)))
        }
    }

    @inline(__always)
    static func encodedLength(_ value: UInt32) -> Int {
        value < 0x80 ? 1 : value < 0x800 ? 2 : value < 0x10000 ? 3 : 4
    }

    /// llama.cpp's `unicode_len_utf8`: the length a lead byte announces (1 for a stray
    /// continuation byte).
    @inline(__always)
    static func sequenceLength(_ lead: UInt8) -> Int {
        switch lead >> 4 {
        case 0xC, 0xD: 2
        case 0xE: 3
        case 0xF: 4
        default: 1
        }
    }

    /// Decodes as llama.cpp's `unicode_cpts_from_utf8` does: lenient about overlong forms, and
    /// each byte that does not start a complete sequence becomes U+FFFD.
    static func codepointsLikeLlama<C: Collection>(_ text: C) -> [UInt32] where C.Element == UInt8 {
        var output: [UInt32] = []
        output.reserveCapacity(text.count)
        let bytes = Array(text)
        bytes.withUnsafeBufferPointer { buffer in
            var offset = 0
            while offset < buffer.count {
                let (value, length) = decodeLikeLlama(buffer, at: offset)
                output.append(value)
                offset += length
            }
        }
        return output
    }

    /// One code point at `offset` as llama.cpp's `unicode_cpt_from_utf8` reads it: (value,
    /// bytes used); (U+FFFD, 1) where it throws.
    @inline(__always)
    static func decodeLikeLlama(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int) -> (UInt32, Int) {
        let b0 = bytes[offset]
        if b0 & 0x80 == 0 { return (UInt32(b0), 1) }
        if b0 & 0x40 == 0 { return (0xFFFD, 1) }
        let n = bytes.count
        if b0 & 0x20 == 0 {
            guard offset + 1 < n, bytes[offset + 1] & 0xC0 == 0x80 else { return (0xFFFD, 1) }
            return ((UInt32(b0 & 0x1F) << 6) | UInt32(bytes[offset + 1] & 0x3F), 2)
        }
        if b0 & 0x10 == 0 {
            guard offset + 2 < n, bytes[offset + 1] & 0xC0 == 0x80, bytes[offset + 2] & 0xC0 == 0x80 else { return (0xFFFD, 1) }
            return ((UInt32(b0 & 0x0F) << 12) | (UInt32(bytes[offset + 1] & 0x3F) << 6) | UInt32(bytes[offset + 2] & 0x3F), 3)
        }
        if b0 & 0x08 == 0 {
            guard offset + 3 < n, bytes[offset + 1] & 0xC0 == 0x80, bytes[offset + 2] & 0xC0 == 0x80, bytes[offset + 3] & 0xC0 == 0x80 else {
                return (0xFFFD, 1)
            }
            return ((UInt32(b0 & 0x07) << 18) | (UInt32(bytes[offset + 1] & 0x3F) << 12) | (UInt32(bytes[offset + 2] & 0x3F) << 6)
                    | UInt32(bytes[offset + 3] & 0x3F), 4)
        }
        return (0xFFFD, 1)
    }
}
