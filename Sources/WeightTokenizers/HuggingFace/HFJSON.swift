import WeightFormats

/// Reading tokenizer.json fields with errors that name the file and the field.
struct HFFields {
    let file: String

    func object(_ value: JSONValue?, _ field: String) throws -> JSONObject {
        guard let value else { throw TokenizerError.missingField(file: file, field: field) }
        guard let object = value.objectValue else { throw wrong(field, "an object", value) }
        return object
    }

    func string(_ value: JSONValue?, _ field: String) throws -> String {
        guard let value else { throw TokenizerError.missingField(file: file, field: field) }
        guard let string = value.stringValue else { throw wrong(field, "a string", value) }
        return string
    }

    func optionalString(_ value: JSONValue?, _ field: String) throws -> String? {
        guard let value, !value.isNull else { return nil }
        guard let string = value.stringValue else { throw wrong(field, "a string", value) }
        return string
    }

    func bool(_ value: JSONValue?, _ field: String, default fallback: Bool) throws -> Bool {
        guard let value, !value.isNull else { return fallback }
        guard let flag = value.boolValue else { throw wrong(field, "true or false", value) }
        return flag
    }

    func integer(_ value: JSONValue?, _ field: String) throws -> Int {
        guard let value else { throw TokenizerError.missingField(file: file, field: field) }
        guard let integer = value.intValue else { throw wrong(field, "an integer", value) }
        return integer
    }

    func array(_ value: JSONValue?, _ field: String) throws -> [JSONValue] {
        guard let value else { throw TokenizerError.missingField(file: file, field: field) }
        guard let array = value.arrayValue else { throw wrong(field, "an array", value) }
        return array
    }

    func wrong(_ field: String, _ expected: String, _ value: JSONValue) -> TokenizerError {
        .wrongFieldType(file: file, field: field, expected: expected, found: Self.kind(value))
    }

    static func kind(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// A `Regex` or `String` pattern object ({"Regex": "..."} / {"String": "..."}).
    func pattern(_ value: JSONValue?, _ field: String) throws -> HFPattern {
        let object = try self.object(value, field)
        if let regex = object["Regex"]?.stringValue { return .regex(regex) }
        if let string = object["String"]?.stringValue { return .string(string) }
        throw TokenizerError.wrongFieldType(file: file, field: field, expected: "{\"Regex\": ...} or {\"String\": ...}", found: "an object")
    }
}

enum HFPattern: Sendable {
    case string(String)
    case regex(String)

    /// The pattern compiled as Oniguruma runs it (a string matches itself literally).
    func compile() throws -> Pattern {
        switch self {
        case .regex(let source): return try Pattern(source, dialect: .unicode)
        case .string(let text): return try Pattern(Self.escape(text), dialect: .unicode)
        }
    }

    static func escape(_ text: String) -> String {
        var escaped = ""
        for scalar in text.unicodeScalars {
            if "\\^$.|?*+()[]{}-#&~ \t\n\r".unicodeScalars.contains(scalar) {
                switch scalar {
                case "\t": escaped += "\\t"
                case "\n": escaped += "\\n"
                case "\r": escaped += "\\r"
                case " ": escaped += " "
                case "#", "&", "~", "-": escaped += "\\" + String(scalar)
                default: escaped += "\\" + String(scalar)
                }
            } else {
                escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }
}

/// Code points of a String and back.
enum Codepoints {
    static func of(_ text: String) -> [UInt32] { text.unicodeScalars.map(\.value) }

    static func of(utf8 bytes: UnsafeBufferPointer<UInt8>) -> [UInt32] {
        String(decoding: bytes, as: UTF8.self).unicodeScalars.map(\.value)
    }

    static func utf8(_ values: [UInt32]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count)
        for value in values { UTF8Text.append(value, to: &bytes) }
        return bytes
    }

    static func string(_ values: [UInt32]) -> String {
        String(decoding: utf8(values), as: UTF8.self)
    }
}
