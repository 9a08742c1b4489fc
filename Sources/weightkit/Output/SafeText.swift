/// Names, keys and values from files, made safe to print in text mode: a tensor name holding
/// ESC sequences could retitle the terminal, move the cursor or fake output lines.
///
/// C0 control characters (U+0000-U+001F, newline and tab included), DEL (U+007F), C1 control
/// characters (U+0080-U+009F) and bytes that are not valid UTF-8 are written as `\xNN`, one
/// per byte (a C1 character is two bytes in UTF-8: U+0085 becomes `\xc2\x85`); every other
/// character is left as it is, backslashes included. `--json` output needs none of this: the
/// JSON writer escapes control characters already.
///
/// Every text-mode rendering of file content goes through here: table cells (`TextTable`),
/// the lines of inspect, tensor, meta, diff and verify, and error messages (which stay one
/// line). Text a model generates or a tokenizer decodes is the user's own output instead: see
/// `Terminal.printUserText`.
enum SafeText {
    /// `text` with control characters escaped.
    static func escaped(_ text: String) -> String {
        guard text.utf8.contains(where: needsEscaping) || text.unicodeScalars.contains(where: isC1) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            if isControl(scalar) {
                for byte in String(scalar).utf8 { result += hex(byte) }
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// Bytes that should be UTF-8 (a GGUF string, a safetensors key) with control characters
    /// and invalid bytes escaped.
    static func escaped<Bytes: Collection>(bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var result = ""
        var source = Array(bytes)[...]
        while let first = source.first {
            // Decode one scalar from a fresh decoder; an invalid byte is escaped alone and
            // decoding resumes at the next one.
            var decoder = UTF8()
            var iterator = source.makeIterator()
            guard case .scalarValue(let scalar) = decoder.decode(&iterator) else {
                result += hex(first)
                source = source.dropFirst()
                continue
            }
            let length = String(scalar).utf8.count
            if isControl(scalar) {
                for byte in source.prefix(length) { result += hex(byte) }
            } else {
                result.unicodeScalars.append(scalar)
            }
            source = source.dropFirst(length)
        }
        return result
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar.value == 0x7F || isC1(scalar)
    }

    private static func isC1(_ scalar: Unicode.Scalar) -> Bool { (0x80...0x9F).contains(scalar.value) }

    private static func needsEscaping(_ byte: UInt8) -> Bool { byte < 0x20 || byte == 0x7F }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return "\\x" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0xF)])
    }
}
