/// How Python spells values: `str()`, `repr()` and float formatting, as a template prints them.
extension TemplateValue {
    /// Python `str()`; nil for values whose text Python would take from a memory address
    /// (bound methods, generators), which no template output should depend on.
    var pythonStr: String? {
        switch self {
        case .undefined: return ""
        case .string(let s), .markup(let s): return s
        case .method, .iterator, .function, .loop: return nil
        default: return pythonReprOrNil
        }
    }

    var pythonRepr: String { pythonReprOrNil ?? "<\(typeName) object>" }

    var pythonReprOrNil: String? {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .float(let d): return PythonFloat.repr(d)
        case .string(let s): return PythonString.repr(s)
        case .markup(let s): return "Markup(" + PythonString.repr(s) + ")"
        case .list(let a):
            var parts: [String] = []
            for element in a { guard let r = element.pythonReprOrNil else { return nil }; parts.append(r) }
            return "[" + parts.joined(separator: ", ") + "]"
        case .tuple(let a):
            var parts: [String] = []
            for element in a { guard let r = element.pythonReprOrNil else { return nil }; parts.append(r) }
            return a.count == 1 ? "(" + parts[0] + ",)" : "(" + parts.joined(separator: ", ") + ")"
        case .dict(let d):
            return Self.reprEntries(d).map { "{" + $0 + "}" }
        case .dictView(let kind, _):
            guard let elements = self.iterated() else { return nil }
            return TemplateValue.list(elements).pythonReprOrNil.map { "\(kind.rawValue)(\($0))" }
        case .namespace(let ns):
            return Self.reprEntries(ns.attributes).map { "<Namespace {" + $0 + "}>" }
        case .macro(let m): return "<Macro '\(m.name)'>"
        case .function, .method, .iterator, .loop: return nil
        }
    }

    private static func reprEntries(_ d: TemplateDict) -> String? {
        var parts: [String] = []
        for entry in d.entries {
            guard let k = entry.key.pythonReprOrNil, let v = entry.value.pythonReprOrNil else { return nil }
            parts.append(k + ": " + v)
        }
        return parts.joined(separator: ", ")
    }
}

enum PythonString {
    /// Python `repr()` of a str: single quotes unless the text has one and no double quote.
    static func repr(_ s: String) -> String {
        let hasSingle = s.unicodeScalars.contains("'")
        let hasDouble = s.unicodeScalars.contains("\"")
        let quote: Unicode.Scalar = hasSingle && !hasDouble ? "\"" : "'"
        var out = String.UnicodeScalarView()
        out.append(quote)
        for c in s.unicodeScalars {
            switch c {
            case quote, "\\": out.append("\\"); out.append(c)
            case "\t": out.append(contentsOf: "\\t".unicodeScalars)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            case "\r": out.append(contentsOf: "\\r".unicodeScalars)
            default:
                if isPrintable(c) { out.append(c) } else { out.append(contentsOf: escape(c).unicodeScalars) }
            }
        }
        out.append(quote)
        return String(out)
    }

    private static func escape(_ c: Unicode.Scalar) -> String {
        let v = c.value
        if v < 0x100 { return "\\x" + hex(v, width: 2) }
        if v < 0x10000 { return "\\u" + hex(v, width: 4) }
        return "\\U" + hex(v, width: 8)
    }

    static func hex(_ v: UInt32, width: Int) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// Python's `str.isprintable()` for one character.
    static func isPrintable(_ c: Unicode.Scalar) -> Bool {
        if c == " " { return true }
        switch c.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default: return true
        }
    }

    /// Python's `str.isspace()` for one character.
    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0: return true
        case 0..<0x80: return false
        default: return c.properties.isWhitespace
        }
    }
}

enum PythonFloat {
    /// Python `repr(float)`: the shortest digits that round-trip, in fixed notation when the
    /// decimal exponent is in [-4, 16), else as `d.ddde+XX`.
    static func repr(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        if value == 0 { return value.sign == .minus ? "-0.0" : "0.0" }
        let (negative, digits, exponent) = shortestDigits(value)
        // value = 0.d1d2... * 10^exponent
        var out = negative ? "-" : ""
        if exponent > -4 && exponent <= 16 {
            if exponent <= 0 {
                out += "0." + String(repeating: "0", count: -exponent) + digits
            } else if exponent >= digits.count {
                out += digits + String(repeating: "0", count: exponent - digits.count) + ".0"
            } else {
                let split = digits.index(digits.startIndex, offsetBy: exponent)
                out += digits[..<split] + "." + digits[split...]
            }
        } else {
            let first = digits.prefix(1)
            let rest = digits.dropFirst()
            out += first + (rest.isEmpty ? "" : "." + rest)
            let e = exponent - 1
            out += (e < 0 ? "e-" : "e+") + (abs(e) < 10 ? "0" : "") + String(abs(e))
        }
        return out
    }

    /// The shortest round-trip decimal digits of a finite non-zero double and its exponent
    /// (value = 0.digits * 10^exponent), taken from Swift's own shortest printing.
    static func shortestDigits(_ value: Double) -> (negative: Bool, digits: String, exponent: Int) {
        var text = Substring(value.description)
        let negative = text.hasPrefix("-")
        if negative { text = text.dropFirst() }
        var exponentPart = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponentPart = Int(text[text.index(after: e)...]) ?? 0
            text = text[..<e]
        }
        var intPart = text
        var fracPart: Substring = ""
        if let dot = text.firstIndex(of: ".") {
            intPart = text[..<dot]
            fracPart = text[text.index(after: dot)...]
        }
        var digits = String(intPart) + String(fracPart)
        var exponent = intPart.count + exponentPart
        while digits.hasPrefix("0") && digits.count > 1 { digits.removeFirst(); exponent -= 1 }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        return (negative, digits, exponent)
    }
}
