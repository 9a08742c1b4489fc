#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// jinja2's built-in filters, with transformers' `tojson`.
enum TemplateFilters {
    typealias Args = TemplateInterpreter.CallArguments

    static func apply(_ name: String, _ value: TemplateValue, _ args: Args, interpreter: TemplateInterpreter,
                      scope: Scope, line: Int) throws(ChatTemplateError) -> TemplateValue {
        func str(_ v: TemplateValue) throws(ChatTemplateError) -> String { try interpreter.printable(v, line: line) }
        func iterate(_ v: TemplateValue) throws(ChatTemplateError) -> [TemplateValue] {
            guard let items = v.iterated() else { throw TemplateOperators.typeError("'\(v.typeName)' object is not iterable", line) }
            return items
        }
        func caseSensitive() -> Bool { args.keyword("case_sensitive")?.truthy ?? false }

        if case .markup(let text) = value {
            switch name {
            case "safe", "e", "escape", "string": return value
            case "length", "count", "tojson", "default", "d", "list": return try apply(name, .string(text), args, interpreter: interpreter, scope: scope, line: line)
            default: throw .unsupported(feature: "the '\(name)' filter on a Markup string", line: line)
            }
        }
        switch name {
        case "tojson":
            if !args.positional.isEmpty { throw .unsupported(feature: "tojson with positional arguments", line: line) }
            var indent: String?
            if let i = args.keyword("indent"), !i.isNone {
                switch i {
                case .string(let s): indent = s
                case .int(let n): indent = String(repeating: " ", count: max(0, n))
                default: throw TemplateOperators.typeError("indent must be an int or a str", line)
                }
            }
            var separators: (String, String)?
            if let s = args.keyword("separators"), !s.isNone {
                guard let parts = s.iterated(), parts.count == 2, case .string(let a) = parts[0], case .string(let b) = parts[1] else {
                    throw TemplateOperators.typeError("separators must be a pair of str", line)
                }
                separators = (a, b)
            }
            return .string(try PythonJSON.dumps(value, indent: indent, separators: separators, sortKeys: args.keyword("sort_keys")?.truthy ?? false,
                                                ensureASCII: args.keyword("ensure_ascii")?.truthy ?? false, line: line))
        case "length", "count":
            switch value {
            case .undefined: return .int(0)
            case .string(let s): return .int(s.unicodeScalars.count)
            case .list(let a), .tuple(let a): return .int(a.count)
            case .dict(let d), .dictView(_, let d): return .int(d.count)
            case .namespace: throw TemplateOperators.typeError("object of type 'TemplateNamespace' has no len()", line)
            default: throw TemplateOperators.typeError("object of type '\(value.typeName)' has no len()", line)
            }
        case "string": return .string(try str(value))
        case "safe": return .markup(try str(value))
        case "e", "escape", "forceescape": return .markup(escapeHTML(try str(value)))
        case "trim":
            var chars: String?
            if let c = args.value(0, "chars"), case .string(let s) = c { chars = s }
            return .string(TemplateMethods.strip(try str(value), chars, leading: true, trailing: true))
        case "upper": return .string(TemplateMethods.upper(try str(value)))
        case "lower": return .string(TemplateMethods.lower(try str(value)))
        case "capitalize": return .string(TemplateMethods.capitalize(try str(value)))
        case "title": return .string(jinjaTitle(try str(value)))
        case "replace":
            guard args.positional.count >= 2 else { throw TemplateOperators.typeError("do_replace() missing required arguments", line) }
            let old = try str(args.positional[0]), new = try str(args.positional[1])
            let count = args.value(2, "count")?.integer ?? -1
            return .string(TemplateMethods.replace(try str(value), old, new, count: count))
        case "default", "d":
            let fallback = args.value(0, "default_value") ?? .string("")
            let boolean = args.value(1, "boolean")?.truthy ?? false
            if value.isUndefined || (boolean && !value.truthy) { return fallback }
            return value
        case "join":
            let separator = try str(args.value(0, "d") ?? .string(""))
            var items = try iterate(value)
            if let attribute = args.value(1, "attribute"), !attribute.isNone {
                items = try items.map { (v) throws(ChatTemplateError) in try lookupPath(v, attribute, default: nil, line: line) }
            }
            var parts: [String] = []
            for item in items { parts.append(try str(item)) }
            return .string(parts.joined(separator: separator))
        case "first":
            if case .iterator(let it) = value {
                return it.next() ?? .undefined(UndefinedValue(hint: "No first item, sequence was empty."))
            }
            return try iterate(value).first ?? .undefined(UndefinedValue(hint: "No first item, sequence was empty."))
        case "last":
            if case .iterator(let it) = value { throw TemplateOperators.typeError("'\(it.typeName)' object is not reversible", line) }
            return try iterate(value).last ?? .undefined(UndefinedValue(hint: "No last item, sequence was empty."))
        case "list": return .list(try iterate(value))
        case "items":
            if value.isUndefined { return .iterator(TemplateIterator([])) }
            guard case .dict(let d) = value else { throw TemplateOperators.typeError("Can only get item pairs from a mapping.", line) }
            return .iterator(TemplateIterator(d.entries.map { .tuple([$0.key, $0.value]) }))
        case "dictsort":
            guard case .dict(let d) = value else { throw TemplateOperators.typeError("'\(value.typeName)' object has no attribute 'items'", line) }
            let by = args.value(1, "by").flatMap { if case .string(let s) = $0 { return s }; return nil } ?? "key"
            guard by == "key" || by == "value" else { throw .raised(pythonType: "FilterArgumentError", message: "You can only sort by either \"key\" or \"value\"", line: line) }
            let sensitive = args.value(0, "case_sensitive")?.truthy ?? false
            let reverse = args.value(2, "reverse")?.truthy ?? false
            let pairs = d.entries.map { TemplateValue.tuple([$0.key, $0.value]) }
            return .list(try sorted(pairs, reverse: reverse, line: line) { (v) throws(ChatTemplateError) in
                guard case .tuple(let t) = v else { return v }
                return ignoreCase(t[by == "key" ? 0 : 1], sensitive)
            })
        case "sort":
            let reverse = args.value(0, "reverse")?.truthy ?? false
            let sensitive = args.value(1, "case_sensitive")?.truthy ?? false
            let attribute = args.value(2, "attribute")
            return .list(try sorted(try iterate(value), reverse: reverse, line: line) { (v) throws(ChatTemplateError) in
                let key = try attribute.map { (a) throws(ChatTemplateError) in try lookupPath(v, a, default: nil, line: line) } ?? v
                return ignoreCase(key, sensitive)
            })
        case "unique":
            let attribute = args.value(1, "attribute")
            let sensitive = args.value(0, "case_sensitive")?.truthy ?? false
            var seen: [TemplateValue] = []
            var out: [TemplateValue] = []
            for item in try iterate(value) {
                let key = ignoreCase(try attribute.map { (a) throws(ChatTemplateError) in try lookupPath(item, a, default: nil, line: line) } ?? item, sensitive)
                try TemplateInterpreter.checkHashable(key, line: line)
                if !seen.contains(where: { TemplateValue.pythonEquals($0, key) }) { seen.append(key); out.append(item) }
            }
            return .iterator(TemplateIterator(out))
        case "min", "max":
            let attribute = args.value(1, "attribute")
            let sensitive = args.value(0, "case_sensitive")?.truthy ?? false
            var best: (TemplateValue, TemplateValue)?
            for item in try iterate(value) {
                let key = ignoreCase(try attribute.map { (a) throws(ChatTemplateError) in try lookupPath(item, a, default: nil, line: line) } ?? item, sensitive)
                if let current = best {
                    let better = try TemplateOperators.compare(name == "min" ? "<" : ">", key, current.1, line: line)
                    if better { best = (item, key) }
                } else {
                    best = (item, key)
                }
            }
            return best?.0 ?? .undefined(UndefinedValue(hint: "No aggregated item, sequence was empty."))
        case "sum":
            var total = args.value(1, "start") ?? .int(0)
            let attribute = args.value(0, "attribute")
            for item in try iterate(value) {
                let v = try attribute.map { (a) throws(ChatTemplateError) in try lookupPath(item, a, default: nil, line: line) } ?? item
                total = try TemplateOperators.binary("+", total, v, line: line)
            }
            return total
        case "reverse":
            switch value {
            case .string(let s): return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed())))
            case .list(let a): return .iterator(TemplateIterator(a.reversed(), typeName: "list_reverseiterator"))
            case .tuple(let a): return .iterator(TemplateIterator(a.reversed(), typeName: "reversed"))
            case .dict(let d): return .iterator(TemplateIterator(d.keys.reversed(), typeName: "dict_reversekeyiterator"))
            default: return .list(try iterate(value).reversed())
            }
        case "map":
            // jinja2 maps nothing over a false value (None included).
            let items = value.truthy ? try iterate(value) : []
            if let attribute = args.keyword("attribute") {
                let fallback = args.keyword("default")
                return .iterator(TemplateIterator(try items.map { (v) throws(ChatTemplateError) in try lookupPath(v, attribute, default: fallback, line: line) }))
            }
            guard case .string(let filterName) = args.positional.first ?? .none else {
                throw .raised(pythonType: "FilterArgumentError", message: "map requires a filter argument", line: line)
            }
            guard TemplateParser.builtinFilters.contains(filterName) else {
                throw .raised(pythonType: "TemplateRuntimeError", message: "No filter named '\(filterName)'.", line: line)
            }
            var rest = args
            rest.positional.removeFirst()
            return .iterator(TemplateIterator(try items.map { (v) throws(ChatTemplateError) in
                try apply(filterName, v, rest, interpreter: interpreter, scope: scope, line: line)
            }))
        case "select", "reject", "selectattr", "rejectattr":
            let items = value.truthy ? try iterate(value) : []
            let byAttribute = name.hasSuffix("attr")
            var rest = args.positional
            var attribute: TemplateValue?
            if byAttribute {
                guard !rest.isEmpty else { throw TemplateOperators.typeError("\(name) missing required argument 'attr'", line) }
                attribute = rest.removeFirst()
            }
            var testName: String?
            if !rest.isEmpty {
                guard case .string(let t) = rest.removeFirst() else { throw TemplateOperators.typeError("test name must be a string", line) }
                guard TemplateParser.builtinTests.contains(t) else {
                    throw .raised(pythonType: "TemplateRuntimeError", message: "No test named '\(t)'.", line: line)
                }
                testName = t
            }
            let testArgs = Args(positional: rest, keywords: args.keywords)
            var kept: [TemplateValue] = []
            for item in items {
                let subject = try attribute.map { (a) throws(ChatTemplateError) in try lookupPath(item, a, default: nil, line: line) } ?? item
                let passed = try testName.map { (t) throws(ChatTemplateError) in
                    try TemplateTests.apply(t, soft: false, subject, testArgs, interpreter: interpreter, scope: scope, line: line)
                } ?? subject.truthy
                if passed == name.hasPrefix("select") { kept.append(item) }
            }
            return .iterator(TemplateIterator(kept))
        case "attr":
            guard case .string(let attribute) = args.positional.first ?? .none else { return .undefined(UndefinedValue(name: "attr")) }
            return try TemplateAccess.attribute(value, attribute, line: line)
        case "int":
            let fallback = args.value(0, "default") ?? .int(0)
            let base = args.value(1, "base")?.integer ?? 10
            switch value {
            case .int: return value
            case .bool(let b): return .int(b ? 1 : 0)
            case .float(let d): return d.isFinite && abs(d) < 9.2e18 ? .int(Int(d)) : fallback
            case .string(let s):
                if let i = pythonInt(s, base: base) { return .int(i) }
                if let d = pythonFloat(s), d.isFinite, abs(d) < 9.2e18 { return .int(Int(d)) }
                return fallback
            default: return fallback
            }
        case "float":
            let fallback = args.value(0, "default") ?? .float(0)
            switch value {
            case .float: return value
            case .int(let i): return .float(Double(i))
            case .bool(let b): return .float(b ? 1 : 0)
            case .string(let s): return pythonFloat(s).map { .float($0) } ?? fallback
            default: return fallback
            }
        case "abs":
            switch value {
            case .int(let i): guard i != Int.min else { throw TemplateOperators.overflow(line) }; return .int(abs(i))
            case .bool(let b): return .int(b ? 1 : 0)
            case .float(let d): return .float(abs(d))
            default: throw TemplateOperators.typeError("bad operand type for abs(): '\(value.typeName)'", line)
            }
        case "round":
            let precision = args.value(0, "precision")?.integer ?? 0
            let method = args.value(1, "method").flatMap { if case .string(let s) = $0 { return s }; return nil } ?? "common"
            guard let x = value.numeric else { throw TemplateOperators.typeError("type \(value.typeName) doesn't define __round__ method", line) }
            let scale = pow(10.0, Double(precision))
            switch method {
            case "common": return .float((x * scale).rounded(.toNearestOrEven) / scale)
            case "floor": return .float((x * scale).rounded(.down) / scale)
            case "ceil": return .float((x * scale).rounded(.up) / scale)
            default: throw .raised(pythonType: "FilterArgumentError", message: "method must be common, ceil or floor", line: line)
            }
        case "indent":
            return .string(try indent(try str(value), args, line: line))
        case "center":
            let width = args.value(0, "width")?.integer ?? 80
            return try TemplateMethods.stringMethod(try str(value), "center", Args(positional: [.int(width)]), interpreter: interpreter, line: line)
        case "wordcount":
            var count = 0, inWord = false
            for c in try str(value).unicodeScalars {
                let word = c == "_" || c.properties.isAlphabetic || c.properties.numericType != nil
                if word && !inWord { count += 1 }
                inWord = word
            }
            return .int(count)
        case "batch", "slice":
            guard let n = args.positional.first?.integer, n > 0 else { throw TemplateOperators.typeError("\(name) needs a positive count", line) }
            let fill = args.value(1, "fill_with")
            let items = try iterate(value)
            var groups: [TemplateValue] = []
            if name == "batch" {
                var i = 0
                while i < items.count {
                    var group = Array(items[i..<min(i + n, items.count)])
                    if let fill, !fill.isNone, group.count < n { group += Array(repeating: fill, count: n - group.count) }
                    groups.append(.list(group))
                    i += n
                }
            } else {
                let perSlice = items.count / n, extra = items.count % n
                var offset = 0
                for sliceNumber in 0..<n {
                    let start = offset + sliceNumber * perSlice
                    if sliceNumber < extra { offset += 1 }
                    let end = offset + (sliceNumber + 1) * perSlice
                    var group = Array(items[start..<end])
                    if let fill, !fill.isNone, sliceNumber >= extra { group.append(fill) }
                    groups.append(.list(group))
                }
            }
            return .iterator(TemplateIterator(groups))
        default:
            throw .unsupported(feature: "the '\(name)' filter", line: line)
        }
    }

    /// Python's stable `sorted` by key; a key pair Python cannot order raises its `TypeError`.
    static func sorted(_ items: [TemplateValue], reverse: Bool, line: Int, key: (TemplateValue) throws(ChatTemplateError) -> TemplateValue) throws(ChatTemplateError) -> [TemplateValue] {
        var keys: [TemplateValue] = []
        for item in items { keys.append(try key(item)) }
        var order = try stableOrder(keys, line: line, reverse: reverse)
        if order.isEmpty { order = [] }
        return order.map { items[$0] }
    }

    private static func stableOrder(_ keys: [TemplateValue], line: Int, reverse: Bool = false) throws(ChatTemplateError) -> [Int] {
        // Insertion-merge sort that surfaces comparison errors (Swift's sort cannot throw typed errors).
        var order = Array(keys.indices)
        func less(_ a: Int, _ b: Int) throws(ChatTemplateError) -> Bool {
            reverse ? try TemplateOperators.compare("<", keys[b], keys[a], line: line)
                : try TemplateOperators.compare("<", keys[a], keys[b], line: line)
        }
        func mergeSort(_ slice: [Int]) throws(ChatTemplateError) -> [Int] {
            guard slice.count > 1 else { return slice }
            let left = try mergeSort(Array(slice[..<(slice.count / 2)]))
            let right = try mergeSort(Array(slice[(slice.count / 2)...]))
            var merged: [Int] = []
            merged.reserveCapacity(slice.count)
            var i = 0, j = 0
            while i < left.count && j < right.count {
                if try less(right[j], left[i]) { merged.append(right[j]); j += 1 } else { merged.append(left[i]); i += 1 }
            }
            merged += left[i...]
            merged += right[j...]
            return merged
        }
        order = try mergeSort(order)
        return order
    }

    static func ignoreCase(_ v: TemplateValue, _ sensitive: Bool) -> TemplateValue {
        if !sensitive, case .string(let s) = v { return .string(s.lowercased()) }
        return v
    }

    /// jinja2's `make_attrgetter`: a dotted path of items/attributes (integer parts as indices).
    static func lookupPath(_ value: TemplateValue, _ attribute: TemplateValue, default fallback: TemplateValue?, line: Int) throws(ChatTemplateError) -> TemplateValue {
        var parts: [TemplateValue] = []
        switch attribute {
        case .string(let s):
            parts = s.split(separator: ".", omittingEmptySubsequences: false).map { p in Int(p).map { .int($0) } ?? .string(String(p)) }
        case .int: parts = [attribute]
        default: parts = [attribute]
        }
        var current = value
        for part in parts {
            current = try TemplateAccess.item(current, part, line: line)
            if current.isUndefined, let fallback { return fallback }
        }
        return current
    }

    static func escapeHTML(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// jinja2's `title` filter: each chunk after `-`, whitespace or an opening bracket gets an
    /// upper-case first character and a lower-cased rest.
    static func jinjaTitle(_ s: String) -> String {
        var out = ""
        var atStart = true
        for c in s.unicodeScalars {
            let separator = c == "-" || c == "(" || c == "{" || c == "[" || c == "<" || PythonString.isSpace(c)
            if separator { out.unicodeScalars.append(c); atStart = true; continue }
            out += atStart ? String(c).uppercased() : String(c).lowercased()
            atStart = false
        }
        return out
    }

    static func indent(_ input: String, _ args: Args, line: Int) throws(ChatTemplateError) -> String {
        var indention = "    "
        if let width = args.value(0, "width") {
            switch width {
            case .string(let s): indention = s
            case .int(let n): indention = String(repeating: " ", count: max(0, n))
            case .bool(let b): indention = b ? " " : ""
            default: throw TemplateOperators.typeError("can't multiply sequence by non-int of type '\(width.typeName)'", line)
            }
        }
        let first = args.value(1, "first")?.truthy ?? false
        let blank = args.value(2, "blank")?.truthy ?? false
        let lines = TemplateMethods.splitLines(input + "\n")
        var result: String
        if blank {
            result = lines.joined(separator: "\n" + indention)
        } else {
            result = lines.first ?? ""
            let rest = lines.dropFirst()
            if !rest.isEmpty { result += "\n" + rest.map { $0.isEmpty ? $0 : indention + $0 }.joined(separator: "\n") }
        }
        if first { result = indention + result }
        return result
    }

    /// Python `int(text, base)`: optional sign and whitespace, underscores between digits, and
    /// for base 0 or a matching base a 0b/0o/0x prefix.
    static func pythonInt(_ text: String, base: Int) -> Int? {
        var s = TemplateMethods.strip(text, nil, leading: true, trailing: true)
        var negative = false
        if s.hasPrefix("-") || s.hasPrefix("+") { negative = s.hasPrefix("-"); s.removeFirst() }
        var radix = base
        let lower = s.lowercased()
        for (prefix, r) in [("0x", 16), ("0o", 8), ("0b", 2)] where lower.hasPrefix(prefix) && (base == 0 || base == r) {
            radix = r
            s = String(s.dropFirst(2))
            if s.hasPrefix("_") { s.removeFirst() }
        }
        if radix == 0 { radix = 10 }
        guard (2...36).contains(radix), !s.isEmpty, !s.hasPrefix("_"), !s.hasSuffix("_"), !s.contains("__") else { return nil }
        guard let magnitude = Int(s.replacingOccurrences("_"), radix: radix) else { return nil }
        return negative ? -magnitude : magnitude
    }

    /// Python `float(text)`.
    static func pythonFloat(_ text: String) -> Double? {
        let s = TemplateMethods.strip(text, nil, leading: true, trailing: true).lowercased()
        switch s {
        case "nan", "+nan", "-nan": return .nan
        case "inf", "+inf", "infinity", "+infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        default: break
        }
        guard !s.isEmpty, s.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) || "+-.e_".unicodeScalars.contains($0) }) else { return nil }
        return Double(s.replacingOccurrences("_"))
    }
}

extension String {
    func replacingOccurrences(_ character: Character) -> String { String(filter { $0 != character }) }
}
