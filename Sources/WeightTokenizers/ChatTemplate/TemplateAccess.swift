/// The sandbox's attribute and item lookup (`a.b` prefers attributes, `a[b]` items), with
/// Python's attribute names for str, list and dict, and the immutable sandbox's refusals.
enum TemplateAccess {
    static let stringMethods: Set<String> = [
        "capitalize", "casefold", "center", "count", "encode", "endswith", "expandtabs", "find", "format",
        "format_map", "index", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier", "islower",
        "isnumeric", "isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower", "lstrip", "maketrans",
        "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex", "rjust", "rpartition", "rsplit",
        "rstrip", "split", "splitlines", "startswith", "strip", "swapcase", "title", "translate", "upper", "zfill",
    ]
    static let listMethods: Set<String> = ["append", "clear", "copy", "count", "extend", "index", "insert", "pop", "remove", "reverse", "sort"]
    static let tupleMethods: Set<String> = ["count", "index"]
    static let dictMethods: Set<String> = ["clear", "copy", "fromkeys", "get", "items", "keys", "pop", "popitem", "setdefault", "update", "values"]
    static let mutatingListMethods: Set<String> = ["append", "clear", "extend", "insert", "pop", "remove", "reverse", "sort"]
    static let mutatingDictMethods: Set<String> = ["clear", "pop", "popitem", "setdefault", "update"]
    static let numberAttributes: Set<String> = ["real", "imag", "numerator", "denominator", "conjugate", "bit_length",
                                                "bit_count", "to_bytes", "from_bytes", "as_integer_ratio", "is_integer", "hex", "fromhex"]

    static func unsafe(_ name: String, _ owner: TemplateValue) -> TemplateValue {
        .undefined(UndefinedValue(name: name, hint: "access to attribute '\(name)' of '\(owner.typeName)' object is unsafe.", isSecurity: true))
    }

    static func missing(_ owner: TemplateValue, _ name: String) -> TemplateValue {
        .undefined(UndefinedValue(name: name, owner: owner.objectTypeRepr))
    }

    /// `getattr(obj, name)` as the sandbox does it, or nil when Python has no such attribute.
    static func pythonAttribute(_ value: TemplateValue, _ name: String, line: Int) throws(ChatTemplateError) -> TemplateValue? {
        if name.hasPrefix("__") && name.hasSuffix("__") && name.count > 4 {
            return unsafe(name, value)
        }
        switch value {
        case .string, .markup:
            return stringMethods.contains(name) ? .method(value, name) : nil
        case .list:
            if mutatingListMethods.contains(name) { return unsafe(name, value) }
            return listMethods.contains(name) ? .method(value, name) : nil
        case .tuple:
            return tupleMethods.contains(name) ? .method(value, name) : nil
        case .dict:
            if mutatingDictMethods.contains(name) { return unsafe(name, value) }
            return dictMethods.contains(name) ? .method(value, name) : nil
        case .dictView:
            return name == "mapping" ? nil : nil
        case .int, .float, .bool:
            if numberAttributes.contains(name) { throw .unsupported(feature: "the number attribute '\(name)'", line: line) }
            return nil
        case .namespace(let ns):
            return ns.attributes[name]
        case .loop(let loop):
            return loopAttribute(loop, name)
        case .macro(let macro):
            switch name {
            case "name": return .string(macro.name)
            case "arguments": return .tuple(macro.parameters.map { .string($0.name) })
            case "catch_kwargs": return .bool(macro.usesKwargs)
            case "catch_varargs": return .bool(macro.usesVarargs)
            case "caller": return .bool(macro.usesCaller)
            default: return nil
            }
        default:
            return nil
        }
    }

    static func loopAttribute(_ loop: LoopState, _ name: String) -> TemplateValue? {
        let n = loop.items.count, i = loop.index0
        switch name {
        case "index0": return .int(i)
        case "index": return .int(i + 1)
        case "revindex": return .int(n - i)
        case "revindex0": return .int(n - i - 1)
        case "first": return .bool(i == 0)
        case "last": return .bool(i == n - 1)
        case "length": return .int(n)
        case "depth": return .int(loop.depth0 + 1)
        case "depth0": return .int(loop.depth0)
        case "previtem": return i > 0 ? loop.items[i - 1] : .undefined(UndefinedValue(name: "previtem", hint: "there is no previous item"))
        case "nextitem": return i + 1 < n ? loop.items[i + 1] : .undefined(UndefinedValue(name: "nextitem", hint: "there is no next item"))
        case "cycle", "changed": return .method(.loop(loop), name)
        default: return nil
        }
    }

    /// `value.name`.
    static func attribute(_ value: TemplateValue, _ name: String, line: Int) throws(ChatTemplateError) -> TemplateValue {
        if case .undefined(let u) = value { throw TemplateOperators.undefinedError(u, line) }
        if let found = try pythonAttribute(value, name, line: line) { return found }
        if let found = try subscriptValue(value, .string(name), line: line) { return found }
        return missing(value, name)
    }

    /// `value[key]`.
    static func item(_ value: TemplateValue, _ key: TemplateValue, line: Int) throws(ChatTemplateError) -> TemplateValue {
        if case .undefined(let u) = value { throw TemplateOperators.undefinedError(u, line) }
        if let found = try subscriptValue(value, key, line: line) { return found }
        if case .string(let name) = key {
            if let found = try pythonAttribute(value, name, line: line) { return found }
            return missing(value, name)
        }
        return .undefined(UndefinedValue(name: key.pythonStr, owner: value.objectTypeRepr, index: key))
    }

    /// `obj[key]` in Python, or nil where Python raises `TypeError` or `LookupError`.
    private static func subscriptValue(_ value: TemplateValue, _ key: TemplateValue, line: Int) throws(ChatTemplateError) -> TemplateValue? {
        switch value {
        case .dict(let d):
            if case .undefined(let u) = key { throw TemplateOperators.undefinedError(u, line) }
            return d[key.unmarked]
        case .markup:
            throw .unsupported(feature: "indexing a Markup string", line: line)
        case .list(let a), .tuple(let a):
            guard let i = key.integer else { return nil }
            let index = i < 0 ? i + a.count : i
            return a.indices.contains(index) ? a[index] : nil
        case .string(let s):
            guard let i = key.integer else { return nil }
            let scalars = Array(s.unicodeScalars)
            let index = i < 0 ? i + scalars.count : i
            return scalars.indices.contains(index) ? .string(String(scalars[index])) : nil
        case .loop(let loop):
            if case .string(let name) = key { return loopAttribute(loop, name) }
            return nil
        default:
            return nil
        }
    }

    /// `value[start:stop:step]` with Python's clamping of bounds.
    static func slice(_ value: TemplateValue, start: TemplateValue?, stop: TemplateValue?, step: TemplateValue?, line: Int) throws(ChatTemplateError) -> TemplateValue {
        if case .undefined(let u) = value { throw TemplateOperators.undefinedError(u, line) }
        func bound(_ v: TemplateValue?) throws(ChatTemplateError) -> Int? {
            guard let v, !v.isNone else { return nil }
            if case .undefined(let u) = v { throw TemplateOperators.undefinedError(u, line) }
            guard let i = v.integer else {
                throw TemplateOperators.typeError("slice indices must be integers or None or have an __index__ method", line)
            }
            return i
        }
        let stepValue = try bound(step) ?? 1
        guard stepValue != 0 else { throw .raised(pythonType: "ValueError", message: "slice step cannot be zero", line: line) }
        func indices(_ count: Int) throws(ChatTemplateError) -> [Int] {
            var lower = try bound(start), upper = try bound(stop)
            if stepValue > 0 {
                var l = lower ?? 0, u = upper ?? count
                if l < 0 { l = max(0, l + count) } else { l = min(l, count) }
                if u < 0 { u = max(0, u + count) } else { u = min(u, count) }
                lower = l; upper = u
                return l < u ? Array(stride(from: l, to: u, by: stepValue)) : []
            }
            var l = lower ?? (count - 1), u = upper ?? -1 - count
            if l < 0 { l = max(-1, l + count) } else { l = min(l, count - 1) }
            if u < 0 { u = max(-1, u + count) } else { u = min(u, count - 1) }
            return l > u ? Array(stride(from: l, to: u, by: stepValue)) : []
        }
        switch value {
        case .markup: throw .unsupported(feature: "slicing a Markup string", line: line)
        case .list(let a): return .list(try indices(a.count).map { a[$0] })
        case .tuple(let a): return .tuple(try indices(a.count).map { a[$0] })
        case .string(let s):
            let scalars = Array(s.unicodeScalars)
            var out = String.UnicodeScalarView()
            for i in try indices(scalars.count) { out.append(scalars[i]) }
            return .string(String(out))
        case .dict:
            throw TemplateOperators.typeError("unhashable type: 'slice'", line)
        default:
            return .undefined(UndefinedValue(name: "slice", owner: value.objectTypeRepr, index: .string("slice")))
        }
    }
}
