import WeightFormats

/// Writes JSON straight into an output buffer, for documents too large to build as a tree
/// (a GGUF header with 300,000 token strings). Commas are the caller's: `separator(first:)`.
struct JSONStream {
    var output = OutputBuffer()

    mutating func raw(_ text: String) { output.append(text) }

    mutating func key(_ key: String) {
        string(key)
        output.append(bytes: CollectionOfOne(UInt8(ascii: ":")))
    }

    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { appendEscaped(UnsafeRawBufferPointer($0)) }
    }

    /// A string from raw bytes: valid UTF-8 is copied with escapes, anything else is decoded
    /// with U+FFFD replacements first.
    mutating func string(bytes: UnsafeRawBufferPointer) {
        if bytes.isValidUTF8 {
            appendEscaped(bytes)
        } else {
            string(bytes.lossyString)
        }
    }

    private mutating func appendEscaped(_ bytes: UnsafeRawBufferPointer) {
        output.bytes.append(UInt8(ascii: "\""))
        var start = 0
        for index in 0..<bytes.count {
            let byte = bytes[index]
            guard byte < 0x20 || byte == 0x22 || byte == 0x5C else { continue }
            output.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
            switch byte {
            case 0x22: output.bytes.append(contentsOf: [0x5C, 0x22])
            case 0x5C: output.bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: output.bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: output.bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: output.bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            default:
                let hex = Array("0123456789abcdef".utf8)
                output.bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 15)]])
            }
            start = index + 1
        }
        output.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<bytes.count]))
        output.bytes.append(UInt8(ascii: "\""))
        if output.bytes.count >= output.flushThreshold { output.flush() }
    }

    mutating func int(_ value: Int) { output.append(String(value)) }

    mutating func comma() { output.bytes.append(UInt8(ascii: ",")) }

    /// A GGUF value, losslessly: integers exact, floats as the shortest decimal that reads back
    /// to the same value, non-finite floats as "NaN"/"Infinity"/"-Infinity".
    mutating func value(_ value: GGUFValue) {
        switch value {
        case .uint8(let v): raw(String(v))
        case .int8(let v): raw(String(v))
        case .uint16(let v): raw(String(v))
        case .int16(let v): raw(String(v))
        case .uint32(let v): raw(String(v))
        case .int32(let v): raw(String(v))
        case .uint64(let v): raw(String(v))
        case .int64(let v): raw(String(v))
        case .float32(let v): raw(JSONWriter.format(v))
        case .float64(let v): raw(JSONWriter.format(v))
        case .bool(let v): raw(v ? "true" : "false")
        case .string(let s): string(bytes: s.bytes)
        case .array(let array):
            output.bytes.append(UInt8(ascii: "["))
            if array.elementType == .string {
                for index in 0..<array.count {
                    if index > 0 { comma() }
                    string(bytes: array.string(at: index)!.bytes)
                }
            } else {
                for (index, element) in array.enumerated() {
                    if index > 0 { comma() }
                    self.value(element)
                }
            }
            output.bytes.append(UInt8(ascii: "]"))
        }
    }

    /// A JSON tree.
    mutating func value(_ json: JSONValue) {
        var writer = JSONWriter()
        writer.write(json, level: 0)
        output.append(bytes: writer.output)
    }

    mutating func finish() {
        output.bytes.append(0x0A)
        output.flush()
    }
}
