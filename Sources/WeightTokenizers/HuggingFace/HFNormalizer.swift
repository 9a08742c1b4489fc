import WeightFormats

/// tokenizer.json normalizers, as the `tokenizers` library applies them (one piece of text at a
/// time, on characters).
indirect enum HFNormalizer: Sendable {
    case nfc, nfd, nfkc, nfkd
    case lowercase
    case strip(left: Bool, right: Bool)
    case stripAccents
    case replace(Pattern, content: [UInt32])
    case prepend([UInt32])
    case bert(cleanText: Bool, chineseChars: Bool, stripAccents: Bool, lowercase: Bool)
    case precompiled(CharsMap)
    case byteLevel
    case sequence([HFNormalizer])

    init(json: JSONValue, fields: HFFields) throws {
        let object = try fields.object(json, "normalizer")
        let type = try fields.string(object["type"], "normalizer.type")
        switch type {
        case "NFC": self = .nfc
        case "NFD": self = .nfd
        case "NFKC": self = .nfkc
        case "NFKD": self = .nfkd
        case "Lowercase": self = .lowercase
        case "Strip":
            self = .strip(left: try fields.bool(object["strip_left"], "Strip.strip_left", default: true),
                          right: try fields.bool(object["strip_right"], "Strip.strip_right", default: true))
        case "StripAccents": self = .stripAccents
        case "Replace":
            let pattern = try fields.pattern(object["pattern"], "Replace.pattern").compile()
            self = .replace(pattern, content: Codepoints.of(try fields.string(object["content"], "Replace.content")))
        case "Prepend": self = .prepend(Codepoints.of(try fields.string(object["prepend"], "Prepend.prepend")))
        case "BertNormalizer":
            let lowercase = try fields.bool(object["lowercase"], "BertNormalizer.lowercase", default: true)
            var strip = lowercase
            if let value = object["strip_accents"], !value.isNull {
                guard let flag = value.boolValue else { throw fields.wrong("BertNormalizer.strip_accents", "true, false or null", value) }
                strip = flag
            }
            self = .bert(cleanText: try fields.bool(object["clean_text"], "BertNormalizer.clean_text", default: true),
                         chineseChars: try fields.bool(object["handle_chinese_chars"], "BertNormalizer.handle_chinese_chars", default: true),
                         stripAccents: strip, lowercase: lowercase)
        case "Precompiled":
            guard let text = object["precompiled_charsmap"]?.stringValue else {
                throw TokenizerError.missingField(file: fields.file, field: "Precompiled.precompiled_charsmap")
            }
            guard let bytes = Base64.decode(text) else {
                throw TokenizerError.invalidCharsMap(file: fields.file, reason: "precompiled_charsmap is not base64")
            }
            self = .precompiled(try CharsMap(bytes: bytes, file: fields.file))
        case "ByteLevel": self = .byteLevel
        case "Sequence":
            self = .sequence(try fields.array(object["normalizers"], "Sequence.normalizers").map { try HFNormalizer(json: $0, fields: fields) })
        default:
            throw TokenizerError.unsupportedComponent(file: fields.file, component: "normalizer", type: type)
        }
    }

    func apply(_ text: [UInt32]) -> [UInt32] {
        switch self {
        case .nfc: return Normalization.nfc(text)
        case .nfd: return Normalization.nfd(text)
        case .nfkc: return Normalization.nfkc(text)
        case .nfkd: return Normalization.nfkd(text)
        case .lowercase:
            var output: [UInt32] = []
            output.reserveCapacity(text.count)
            for value in text { CodepointClasses.fullLowercase(value, into: &output) }
            return output
        case .strip(let left, let right):
            var start = 0, end = text.count
            if left { while start < end && CodepointClasses.flags(text[start]).contains(.whitespace) { start += 1 } }
            if right { while end > start && CodepointClasses.flags(text[end - 1]).contains(.whitespace) { end -= 1 } }
            return Array(text[start..<end])
        case .stripAccents:
            return text.filter { !HFCharacters.isCombiningMark($0) }
        case .replace(let pattern, let content):
            return HFNormalizer.replace(text, pattern, content)
        case .prepend(let prefix):
            return text.isEmpty ? text : prefix + text
        case .bert(let clean, let chinese, let strip, let lowercase):
            var output = text
            if clean {
                output = output.compactMap { value in
                    if value == 0 || value == 0xFFFD || HFCharacters.isBertControl(value) { return nil }
                    return HFCharacters.isBertWhitespace(value) ? 0x20 : value
                }
            }
            if chinese {
                var spaced: [UInt32] = []
                spaced.reserveCapacity(output.count)
                for value in output {
                    if LlamaEncoder.isChinese(value) { spaced += [0x20, value, 0x20] } else { spaced.append(value) }
                }
                output = spaced
            }
            if strip {
                output = Normalization.nfd(output).filter { CodepointClasses.category($0) != .mn }
            }
            if lowercase { output = HFNormalizer.lowercase.apply(output) }
            return output
        case .precompiled(let map):
            return HFNormalizer.precompiled(text, map)
        case .byteLevel:
            var output: [UInt32] = []
            for byte in Codepoints.utf8(text) { output.append(ByteLevel.characters[Int(byte)]) }
            return output
        case .sequence(let normalizers):
            var output = text
            for normalizer in normalizers { output = normalizer.apply(output) }
            return output
        }
    }

    static func replace(_ text: [UInt32], _ pattern: Pattern, _ content: [UInt32]) -> [UInt32] {
        guard !text.isEmpty else { return text }
        return text.withUnsafeBufferPointer { units in
            var output: [UInt32] = []
            output.reserveCapacity(text.count)
            var previous = 0
            for match in pattern.matches(in: units, range: 0..<text.count) {
                output += text[previous..<match.lowerBound]
                output += content
                previous = match.upperBound
            }
            output += text[previous...]
            return output
        }
    }

    /// `Precompiled`: per grapheme (shorter than 6 bytes) the first rule matching a prefix of it
    /// replaces the whole grapheme; otherwise character by character.
    static func precompiled(_ text: [UInt32], _ map: CharsMap) -> [UInt32] {
        var output: [UInt32] = []
        output.reserveCapacity(text.count)
        let string = Codepoints.string(text)
        for grapheme in string {
            let bytes = Array(String(grapheme).utf8)
            if bytes.count < 6, let replacement = bytes.withUnsafeBufferPointer({ map.shortestMatch($0) }) {
                output += Codepoints.of(utf8: replacement.withUnsafeBufferPointer { $0 })
                continue
            }
            for scalar in grapheme.unicodeScalars {
                let character = UTF8Text.encode(scalar.value)
                if let replacement = character.withUnsafeBufferPointer({ map.shortestMatch($0) }) {
                    output += Codepoints.of(utf8: replacement.withUnsafeBufferPointer { $0 })
                } else {
                    output.append(scalar.value)
                }
            }
        }
        return output
    }
}

/// Character classes as the `tokenizers` crate's dependencies define them.
enum HFCharacters {
    /// `unicode_normalization_alignments::char::is_combining_mark` (general category M*).
    static func isCombiningMark(_ value: UInt32) -> Bool {
        switch CodepointClasses.category(value) {
        case .mn, .mc, .me: true
        default: false
        }
    }

    /// BertNormalizer's `is_whitespace`: tab, newline, carriage return and White_Space.
    static func isBertWhitespace(_ value: UInt32) -> Bool {
        value == 0x09 || value == 0x0A || value == 0x0D || CodepointClasses.flags(value).contains(.whitespace)
    }

    /// BertNormalizer's `is_control`: `unicode_categories`' `is_other` (Cc, Cf, Cn, Co, Cs), but
    /// not tab, newline, carriage return.
    static func isBertControl(_ value: UInt32) -> Bool {
        if value == 0x09 || value == 0x0A || value == 0x0D { return false }
        switch CodepointClasses.category(value) {
        case .cc, .cf, .cn, .co, .cs: return true
        default: return false
        }
    }

    /// `char::is_ascii_punctuation || is_punctuation` (general category P*).
    static func isPunctuation(_ value: UInt32) -> Bool {
        if value < 0x80 {
            return (0x21...0x2F).contains(value) || (0x3A...0x40).contains(value) || (0x5B...0x60).contains(value) || (0x7B...0x7E).contains(value)
        }
        return CodepointClasses.flags(value).contains(.punctuation)
    }

    /// Rust's `char::is_numeric` (general categories Nd, Nl, No).
    static func isNumeric(_ value: UInt32) -> Bool { CodepointClasses.flags(value).contains(.number) }

    /// Rust's `char::is_whitespace` (White_Space).
    static func isWhitespace(_ value: UInt32) -> Bool { CodepointClasses.flags(value).contains(.whitespace) }

    /// The `regex` crate's `\w`: letters, marks, decimal and letter numbers, connector punctuation.
    static func isWord(_ value: UInt32) -> Bool {
        if value < 0x80 {
            return (value >= 0x30 && value <= 0x39) || (value >= 0x41 && value <= 0x5A) || (value >= 0x61 && value <= 0x7A) || value == 0x5F
        }
        switch CodepointClasses.category(value) {
        case .lu, .ll, .lt, .lm, .lo, .mn, .mc, .me, .nd, .nl, .pc: return true
        default: return value == 0x200C || value == 0x200D
        }
    }
}

/// Base64 (RFC 4648, with padding), for `precompiled_charsmap` in tokenizer.json.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let b0 = bytes[index], b1 = index + 1 < bytes.count ? bytes[index + 1] : 0, b2 = index + 2 < bytes.count ? bytes[index + 2] : 0
            output.append(alphabet[Int(b0 >> 2)])
            output.append(alphabet[Int((b0 & 3) << 4 | b1 >> 4)])
            output.append(index + 1 < bytes.count ? alphabet[Int((b1 & 15) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            output.append(index + 2 < bytes.count ? alphabet[Int(b2 & 63)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): values.append(byte - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): values.append(byte - UInt8(ascii: "a") + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): values.append(byte - UInt8(ascii: "0") + 52)
            case UInt8(ascii: "+"): values.append(62)
            case UInt8(ascii: "/"): values.append(63)
            case UInt8(ascii: "="), 0x0A, 0x0D: continue
            default: return nil
            }
        }
        var output: [UInt8] = []
        output.reserveCapacity(values.count * 3 / 4)
        var index = 0
        while index + 1 < values.count {
            output.append(values[index] << 2 | values[index + 1] >> 4)
            if index + 2 < values.count { output.append((values[index + 1] & 15) << 4 | values[index + 2] >> 2) }
            if index + 3 < values.count { output.append((values[index + 2] & 3) << 6 | values[index + 3]) }
            index += 4
        }
        guard values.count % 4 != 1 else { return nil }
        return output
    }
}
