/// Python's methods of str, list, tuple and dict that templates call, and `loop.cycle`.
enum TemplateMethods {
    typealias Args = TemplateInterpreter.CallArguments

    static func call(_ receiver: TemplateValue, _ name: String, _ args: Args, interpreter: TemplateInterpreter,
                     scope: Scope, line: Int) throws(ChatTemplateError) -> TemplateValue {
        switch receiver {
        case .string(let s): return try stringMethod(s, name, args, interpreter: interpreter, line: line)
        case .markup: throw .unsupported(feature: "the method 'Markup.\(name)' (Markup methods escape their arguments)", line: line)
        case .dict(let d): return try dictMethod(d, name, args, line: line)
        case .list(let a), .tuple(let a):
            switch name {
            case "copy": return .list(a)
            case "count": return .int(a.filter { TemplateValue.pythonEquals($0, args.positional.first ?? .none) }.count)
            case "index":
                let needle = args.positional.first ?? .none
                guard let i = a.firstIndex(where: { TemplateValue.pythonEquals($0, needle) }) else {
                    throw .raised(pythonType: "ValueError", message: "\(needle.pythonRepr) is not in list", line: line)
                }
                return .int(i)
            default: break
            }
        case .loop(let loop):
            if name == "cycle" {
                guard !args.positional.isEmpty else { throw TemplateOperators.typeError("no items for cycling given", line) }
                return args.positional[loop.index0 % args.positional.count]
            }
            if name == "changed" {
                defer { loop.lastChanged = args.positional }
                guard let last = loop.lastChanged else { return .bool(true) }
                return .bool(!TemplateValue.pythonEquals(.list(last), .list(args.positional)))
            }
        default: break
        }
        throw .unsupported(feature: "the method '\(receiver.typeName).\(name)'", line: line)
    }

    static func dictMethod(_ d: TemplateDict, _ name: String, _ args: Args, line: Int) throws(ChatTemplateError) -> TemplateValue {
        switch name {
        case "get":
            guard let key = args.positional.first else { throw TemplateOperators.typeError("get expected at least 1 argument, got 0", line) }
            if case .undefined(let u) = key { throw TemplateOperators.undefinedError(u, line) }
            try TemplateInterpreter.checkHashable(key, line: line)
            return d[key] ?? (args.positional.count > 1 ? args.positional[1] : .none)
        case "items": return .dictView(.items, d)
        case "keys": return .dictView(.keys, d)
        case "values": return .dictView(.values, d)
        case "copy": return .dict(d)
        default: throw .unsupported(feature: "the method 'dict.\(name)'", line: line)
        }
    }

    private static func requireString(_ value: TemplateValue?, _ what: String, line: Int) throws(ChatTemplateError) -> String? {
        guard let value, !value.isNone else { return nil }
        guard case .string(let s) = value else {
            throw TemplateOperators.typeError("\(what) arg must be None or str", line)
        }
        return s
    }

    static func strip(_ s: String, _ chars: String?, leading: Bool, trailing: Bool) -> String {
        let scalars = Array(s.unicodeScalars)
        let set = chars.map { Set($0.unicodeScalars) }
        func strippable(_ c: Unicode.Scalar) -> Bool { set.map { $0.contains(c) } ?? PythonString.isSpace(c) }
        var lo = 0, hi = scalars.count
        if leading { while lo < hi, strippable(scalars[lo]) { lo += 1 } }
        if trailing { while hi > lo, strippable(scalars[hi - 1]) { hi -= 1 } }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[lo..<hi])
        return String(view)
    }

    static func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    /// Python `str.split` / `str.rsplit`.
    static func split(_ s: String, _ separator: String?, maxSplit: Int, fromRight: Bool, line: Int) throws(ChatTemplateError) -> [String] {
        var scalars = Array(s.unicodeScalars)
        if fromRight { scalars.reverse() }
        var parts: [String] = []
        let limit = maxSplit < 0 ? Int.max : maxSplit
        if let separator {
            var sep = Array(separator.unicodeScalars)
            guard !sep.isEmpty else { throw .raised(pythonType: "ValueError", message: "empty separator", line: line) }
            if fromRight { sep.reverse() }
            var start = 0
            var splits = 0
            while splits < limit, let r = scalars.range(of: sep, from: start) {
                parts.append(string(scalars[start..<r.lowerBound]))
                start = r.upperBound
                splits += 1
            }
            parts.append(string(scalars[start...]))
        } else {
            var i = 0
            var splits = 0
            while i < scalars.count {
                while i < scalars.count, PythonString.isSpace(scalars[i]) { i += 1 }
                guard i < scalars.count else { break }
                if splits == limit {
                    var end = scalars.count
                    while end > i, PythonString.isSpace(scalars[end - 1]) { end -= 1 }
                    parts.append(string(scalars[i..<end]))
                    break
                }
                var j = i
                while j < scalars.count, !PythonString.isSpace(scalars[j]) { j += 1 }
                parts.append(string(scalars[i..<j]))
                splits += 1
                i = j
            }
        }
        if fromRight { parts = parts.reversed().map { String(String.UnicodeScalarView($0.unicodeScalars.reversed())) } }
        return parts
    }

    static let lineBreaks: Set<UInt32> = [0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029]

    /// Python `str.splitlines`.
    static func splitLines(_ s: String, keepEnds: Bool = false) -> [String] {
        let scalars = Array(s.unicodeScalars)
        var lines: [String] = []
        var start = 0, i = 0
        while i < scalars.count {
            if lineBreaks.contains(scalars[i].value) {
                var end = i + 1
                if scalars[i] == "\r", end < scalars.count, scalars[end] == "\n" { end += 1 }
                lines.append(string(scalars[start..<(keepEnds ? end : i)]))
                start = end
                i = end
            } else {
                i += 1
            }
        }
        if start < scalars.count { lines.append(string(scalars[start...])) }
        return lines
    }

    static func lower(_ s: String) -> String { s.lowercased() }
    static func upper(_ s: String) -> String { s.uppercased() }

    static func isCased(_ c: Unicode.Scalar) -> Bool { c.properties.isCased }

    /// Python `str.title`: a cased character after a cased one is lowered, any other is title-cased.
    static func title(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for c in s.unicodeScalars {
            out += previousCased ? String(c).lowercased() : c.properties.titlecaseMapping
            previousCased = c.properties.isLowercase || c.properties.isUppercase || c.properties.generalCategory == .titlecaseLetter
        }
        return out
    }

    /// Python `str.capitalize`.
    static func capitalize(_ s: String) -> String {
        guard let first = s.unicodeScalars.first else { return s }
        return first.properties.titlecaseMapping + String(String.UnicodeScalarView(s.unicodeScalars.dropFirst())).lowercased()
    }

    static func stringMethod(_ s: String, _ name: String, _ args: Args, interpreter: TemplateInterpreter, line: Int) throws(ChatTemplateError) -> TemplateValue {
        let p = args.positional
        switch name {
        case "strip", "lstrip", "rstrip":
            let chars = try requireString(p.first, name, line: line)
            return .string(strip(s, chars, leading: name != "rstrip", trailing: name != "lstrip"))
        case "split", "rsplit":
            let separator = try requireString(args.value(0, "sep"), "sep", line: line)
            let maxSplit = args.value(1, "maxsplit")?.integer ?? -1
            return .list(try split(s, separator, maxSplit: maxSplit, fromRight: name == "rsplit", line: line).map { .string($0) })
        case "splitlines":
            return .list(splitLines(s, keepEnds: args.value(0, "keepends")?.truthy ?? false).map { .string($0) })
        case "startswith", "endswith":
            guard let first = p.first else { throw TemplateOperators.typeError("\(name)() takes at least 1 argument (0 given)", line) }
            var candidates: [String] = []
            switch first {
            case .string(let x): candidates = [x]
            case .tuple(let items):
                for item in items {
                    guard case .string(let x) = item else {
                        throw TemplateOperators.typeError("tuple for \(name) must only contain str, not \(item.typeName)", line)
                    }
                    candidates.append(x)
                }
            default:
                throw TemplateOperators.typeError("\(name) first arg must be str or a tuple of str, not \(first.typeName)", line)
            }
            guard p.count == 1 else { throw .unsupported(feature: "str.\(name) with start/end positions", line: line) }
            let scalars = Array(s.unicodeScalars)
            return .bool(candidates.contains { c in
                let cs = Array(c.unicodeScalars)
                return name == "startswith" ? scalars.starts(with: cs) : scalars.reversed().starts(with: cs.reversed())
            })
        case "replace":
            guard p.count >= 2, case .string(let old) = p[0], case .string(let new) = p[1] else {
                throw TemplateOperators.typeError("replace() argument must be str", line)
            }
            let count = p.count > 2 ? (p[2].integer ?? -1) : -1
            return .string(replace(s, old, new, count: count))
        case "upper": return .string(upper(s))
        case "lower", "casefold": return .string(lower(s))
        case "title": return .string(title(s))
        case "capitalize": return .string(capitalize(s))
        case "swapcase":
            return .string(s.unicodeScalars.map { c in c.properties.isUppercase ? String(c).lowercased() : c.properties.isLowercase ? String(c).uppercased() : String(c) }.joined())
        case "find", "rfind", "index", "rindex", "count":
            guard case .string(let needle) = p.first ?? .none else { throw TemplateOperators.typeError("must be str, not \((p.first ?? .none).typeName)", line) }
            guard p.count == 1 else { throw .unsupported(feature: "str.\(name) with start/end positions", line: line) }
            let hay = Array(s.unicodeScalars), pat = Array(needle.unicodeScalars)
            if name == "count" {
                if pat.isEmpty { return .int(hay.count + 1) }
                var n = 0, from = 0
                while let r = hay.range(of: pat, from: from) { n += 1; from = r.upperBound }
                return .int(n)
            }
            var found: Int?
            if name.hasPrefix("r") {
                var from = 0
                while let r = hay.range(of: pat, from: from) { found = r.lowerBound; from = r.lowerBound + 1; if pat.isEmpty && from > hay.count { break } }
            } else {
                found = hay.range(of: pat)?.lowerBound
            }
            if let found { return .int(found) }
            if name.hasSuffix("index") { throw .raised(pythonType: "ValueError", message: "substring not found", line: line) }
            return .int(-1)
        case "join":
            guard let first = p.first else { throw TemplateOperators.typeError("str.join() takes exactly one argument (0 given)", line) }
            guard let items = first.iterated() else { throw TemplateOperators.typeError("can only join an iterable", line) }
            var parts: [String] = []
            for (i, item) in items.enumerated() {
                guard case .string(let x) = item else {
                    throw TemplateOperators.typeError("sequence item \(i): expected str instance, \(item.typeName) found", line)
                }
                parts.append(x)
            }
            return .string(parts.joined(separator: s))
        case "format":
            return .string(try format(s, args, interpreter: interpreter, line: line))
        case "removeprefix", "removesuffix":
            guard case .string(let x) = p.first ?? .none else { throw TemplateOperators.typeError("\(name)() argument must be str", line) }
            let scalars = Array(s.unicodeScalars), xs = Array(x.unicodeScalars)
            if name == "removeprefix", scalars.starts(with: xs) { return .string(string(scalars[xs.count...])) }
            if name == "removesuffix", !xs.isEmpty, scalars.reversed().starts(with: xs.reversed()) { return .string(string(scalars[..<(scalars.count - xs.count)])) }
            return .string(s)
        case "isalpha", "isdigit", "isspace", "isalnum", "islower", "isupper", "isnumeric", "isdecimal":
            let scalars = Array(s.unicodeScalars)
            switch name {
            case "islower", "isupper":
                let cased = scalars.filter { $0.properties.isCased }
                guard !cased.isEmpty else { return .bool(false) }
                return .bool(name == "islower" ? !scalars.contains { $0.properties.isUppercase || $0.properties.changesWhenLowercased } :
                             !scalars.contains { $0.properties.isLowercase || $0.properties.changesWhenUppercased })
            default:
                guard !scalars.isEmpty else { return .bool(false) }
                return .bool(scalars.allSatisfy { c in
                    switch name {
                    case "isalpha": return c.properties.isAlphabetic && ["Lu", "Ll", "Lt", "Lm", "Lo"].contains(categoryCode(c))
                    case "isspace": return PythonString.isSpace(c)
                    case "isdigit", "isdecimal": return c.properties.numericType == .decimal || (name == "isdigit" && c.properties.numericType == .digit)
                    case "isnumeric": return c.properties.numericType != nil
                    default: return ["Lu", "Ll", "Lt", "Lm", "Lo"].contains(categoryCode(c)) || c.properties.numericType != nil
                    }
                })
            }
        case "zfill", "center", "ljust", "rjust":
            guard let width = p.first?.integer else { throw TemplateOperators.typeError("\(name)() argument must be int", line) }
            let count = s.unicodeScalars.count
            guard width > count else { return .string(s) }
            var fill = " "
            if p.count > 1, case .string(let f) = p[1] { fill = f }
            let pad = width - count
            switch name {
            case "ljust": return .string(s + String(repeating: fill, count: pad))
            case "rjust": return .string(String(repeating: fill, count: pad) + s)
            case "center":
                let left = pad / 2 + (pad & width & 1)
                return .string(String(repeating: fill, count: left) + s + String(repeating: fill, count: pad - left))
            default:
                var scalars = Array(s.unicodeScalars)
                let signed = scalars.first == "+" || scalars.first == "-"
                scalars.insert(contentsOf: Array(repeating: "0", count: pad), at: signed ? 1 : 0)
                return .string(string(scalars[...]))
            }
        case "partition", "rpartition":
            guard case .string(let sep) = p.first ?? .none, !sep.isEmpty else { throw .raised(pythonType: "ValueError", message: "empty separator", line: line) }
            let parts = try split(s, sep, maxSplit: 1, fromRight: name == "rpartition", line: line)
            if parts.count == 2 { return .tuple([.string(parts[0]), .string(sep), .string(parts[1])]) }
            return name == "partition" ? .tuple([.string(s), .string(""), .string("")]) : .tuple([.string(""), .string(""), .string(s)])
        default:
            throw .unsupported(feature: "the method 'str.\(name)'", line: line)
        }
    }

    static func categoryCode(_ c: Unicode.Scalar) -> String {
        switch c.properties.generalCategory {
        case .uppercaseLetter: return "Lu"
        case .lowercaseLetter: return "Ll"
        case .titlecaseLetter: return "Lt"
        case .modifierLetter: return "Lm"
        case .otherLetter: return "Lo"
        default: return ""
        }
    }

    /// Python `str.replace`.
    static func replace(_ s: String, _ old: String, _ new: String, count: Int) -> String {
        let hay = Array(s.unicodeScalars), pat = Array(old.unicodeScalars)
        var out = String.UnicodeScalarView()
        let limit = count < 0 ? Int.max : count
        var done = 0
        if pat.isEmpty {
            for (i, c) in hay.enumerated() {
                if done < limit { out.append(contentsOf: new.unicodeScalars); done += 1 }
                _ = i
                out.append(c)
            }
            if done < limit { out.append(contentsOf: new.unicodeScalars) }
            return String(out)
        }
        var from = 0
        while done < limit, let r = hay.range(of: pat, from: from) {
            out.append(contentsOf: hay[from..<r.lowerBound])
            out.append(contentsOf: new.unicodeScalars)
            from = r.upperBound
            done += 1
        }
        out.append(contentsOf: hay[from...])
        return String(out)
    }

    /// Python `str.format` with plain fields (`{}`, `{0}`, `{name}`, `{{`, `}}`) formatted by `str()`.
    static func format(_ s: String, _ args: Args, interpreter: TemplateInterpreter, line: Int) throws(ChatTemplateError) -> String {
        var out = ""
        var scalars = Array(s.unicodeScalars)[...]
        var automatic = 0
        while let c = scalars.first {
            scalars = scalars.dropFirst()
            if c == "}" {
                guard scalars.first == "}" else { throw .raised(pythonType: "ValueError", message: "Single '}' encountered in format string", line: line) }
                scalars = scalars.dropFirst()
                out += "}"
                continue
            }
            guard c == "{" else { out.unicodeScalars.append(c); continue }
            if scalars.first == "{" { scalars = scalars.dropFirst(); out += "{"; continue }
            guard let close = scalars.firstIndex(of: "}") else {
                throw .raised(pythonType: "ValueError", message: "expected '}' before end of string", line: line)
            }
            let field = string(scalars[..<close])
            scalars = scalars[(close + 1)...]
            if field.contains(":") || field.contains("!") || field.contains(".") || field.contains("[") {
                throw .unsupported(feature: "str.format field '{\(field)}'", line: line)
            }
            let value: TemplateValue
            if field.isEmpty {
                guard automatic < args.positional.count else {
                    throw .raised(pythonType: "IndexError", message: "Replacement index \(automatic) out of range for positional args tuple", line: line)
                }
                value = args.positional[automatic]
                automatic += 1
            } else if let index = Int(field) {
                guard index < args.positional.count else {
                    throw .raised(pythonType: "IndexError", message: "Replacement index \(index) out of range for positional args tuple", line: line)
                }
                value = args.positional[index]
            } else {
                guard let v = args.keyword(field) else { throw .raised(pythonType: "KeyError", message: PythonString.repr(field), line: line) }
                value = v
            }
            out += try interpreter.printable(value, line: line)
        }
        return out
    }
}
