/// Python's `json.dumps(value, ensure_ascii=..., indent=..., separators=..., sort_keys=...)`,
/// which transformers installs as the `tojson` filter (`ensure_ascii=False` by default, no
/// HTML escaping).
struct PythonJSON {
    var indent: String?
    var itemSeparator: String
    var keySeparator: String
    var sortKeys: Bool
    var ensureASCII: Bool
    var line: Int

    static func dumps(_ value: TemplateValue, indent: String?, separators: (String, String)?, sortKeys: Bool,
                      ensureASCII: Bool = false, line: Int) throws(ChatTemplateError) -> String {
        let (itemSeparator, keySeparator) = separators ?? (indent == nil ? (", ", ": ") : (",", ": "))
        let writer = PythonJSON(indent: indent, itemSeparator: itemSeparator, keySeparator: keySeparator,
                                sortKeys: sortKeys, ensureASCII: ensureASCII, line: line)
        var out = ""
        try writer.write(value, into: &out, level: 0)
        return out
    }

    static func string(_ s: String, ensureASCII: Bool = false) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if c.value < 0x20 || (ensureASCII && c.value > 0x7E) {
                    if c.value > 0xFFFF {
                        let v = c.value - 0x10000
                        out += "\\u" + PythonString.hex(0xD800 + (v >> 10), width: 4)
                        out += "\\u" + PythonString.hex(0xDC00 + (v & 0x3FF), width: 4)
                    } else {
                        out += "\\u" + PythonString.hex(c.value, width: 4)
                    }
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }

    static func float(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        return PythonFloat.repr(d)
    }

    private func newline(_ out: inout String, _ depth: Int) {
        if let indent { out += "\n" + String(repeating: indent, count: depth) }
    }

    private func key(_ key: TemplateValue) throws(ChatTemplateError) -> String {
        switch key {
        case .string(let s), .markup(let s): return Self.string(s, ensureASCII: ensureASCII)
        case .int(let n): return Self.string(String(n))
        case .float(let x): return Self.string(Self.float(x))
        case .bool(let b): return Self.string(b ? "true" : "false")
        case .none: return Self.string("null")
        default: throw TemplateOperators.typeError("keys must be str, int, float, bool or None, not \(key.typeName)", line)
        }
    }

    func write(_ value: TemplateValue, into out: inout String, level: Int) throws(ChatTemplateError) {
        guard level < 200 else { throw .nestingTooDeep(limit: 200, line: line) }
        switch value {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .float(let d): out += Self.float(d)
        case .string(let s), .markup(let s): out += Self.string(s, ensureASCII: ensureASCII)
        case .list(let items), .tuple(let items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += itemSeparator }
                newline(&out, level + 1)
                try write(item, into: &out, level: level + 1)
            }
            newline(&out, level)
            out += "]"
        case .dict(let d):
            guard d.count > 0 else { out += "{}"; return }
            var keys = d.keys
            if sortKeys { keys = try TemplateFilters.sorted(keys, reverse: false, line: line) { (v) throws(ChatTemplateError) in v } }
            out += "{"
            for (i, k) in keys.enumerated() {
                if i > 0 { out += itemSeparator }
                newline(&out, level + 1)
                out += try key(k)
                out += keySeparator
                try write(d[k] ?? .none, into: &out, level: level + 1)
            }
            newline(&out, level)
            out += "}"
        default:
            throw TemplateOperators.typeError("Object of type \(value.typeName) is not JSON serializable", line)
        }
    }
}
