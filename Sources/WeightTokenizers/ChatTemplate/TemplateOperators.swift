/// Python's operators on template values, raising Python's `TypeError` texts.
enum TemplateOperators {
    static func typeError(_ message: String, _ line: Int) -> ChatTemplateError {
        .raised(pythonType: "TypeError", message: message, line: line)
    }

    static func undefinedError(_ u: UndefinedValue, _ line: Int) -> ChatTemplateError {
        .raised(pythonType: u.isSecurity ? "SecurityError" : "UndefinedError", message: u.message, line: line)
    }

    static func overflow(_ line: Int) -> ChatTemplateError {
        .unsupported(feature: "integers beyond 64 bits", line: line)
    }

    /// `+ - * / // % **`.
    static func binary(_ op: String, _ a: TemplateValue, _ b: TemplateValue, line: Int) throws(ChatTemplateError) -> TemplateValue {
        if case .undefined(let u) = a { throw undefinedError(u, line) }
        if case .undefined(let u) = b { throw undefinedError(u, line) }
        func unsupportedOperands() -> ChatTemplateError {
            typeError("unsupported operand type(s) for \(op): '\(a.typeName)' and '\(b.typeName)'", line)
        }
        switch (op, a, b) {
        case ("+", .markup(let x), .markup(let y)): return .markup(x + y)
        case ("+", .markup(let x), .string(let y)): return .markup(x + TemplateFilters.escapeHTML(y))
        case ("+", .string(let x), .markup(let y)): return .markup(TemplateFilters.escapeHTML(x) + y)
        case ("*", .markup(let x), _), ("*", _, .markup(let x)):
            if case .string(let s) = try binary("*", .string(x), a.isMarkup ? b : a, line: line) { return .markup(s) }
        case (_, .markup, _), (_, _, .markup):
            return try binary(op, a.unmarked, b.unmarked, line: line)
        default: break
        }
        switch op {
        case "+":
            switch (a, b) {
            case (.string(let x), .string(let y)): return .string(x + y)
            case (.list(let x), .list(let y)): return .list(x + y)
            case (.tuple(let x), .tuple(let y)): return .tuple(x + y)
            case (.string, _): throw typeError("can only concatenate str (not \"\(b.typeName)\") to str", line)
            case (.list, _): throw typeError("can only concatenate list (not \"\(b.typeName)\") to list", line)
            case (.tuple, _): throw typeError("can only concatenate tuple (not \"\(b.typeName)\") to tuple", line)
            default: break
            }
        case "*":
            if let n = b.integer, !(b.numeric == nil) {
                switch a {
                case .string(let s): return .string(n > 0 ? String(repeating: s, count: try repeatCount(n, s.utf8.count, line)) : "")
                case .list(let x): return .list(n > 0 ? Array(repeating: x, count: try repeatCount(n, x.count, line)).flatMap { $0 } : [])
                case .tuple(let x): return .tuple(n > 0 ? Array(repeating: x, count: try repeatCount(n, x.count, line)).flatMap { $0 } : [])
                default: break
                }
            }
            if let n = a.integer {
                switch b {
                case .string, .list, .tuple: return try binary("*", b, .int(n), line: line)
                default: break
                }
            }
        default: break
        }
        guard let x = a.numeric, let y = b.numeric else { throw unsupportedOperands() }
        if let i = a.integer, let j = b.integer {
            switch op {
            case "+": let (r, o) = i.addingReportingOverflow(j); if o { throw overflow(line) }; return .int(r)
            case "-": let (r, o) = i.subtractingReportingOverflow(j); if o { throw overflow(line) }; return .int(r)
            case "*": let (r, o) = i.multipliedReportingOverflow(by: j); if o { throw overflow(line) }; return .int(r)
            case "/":
                guard j != 0 else { throw .raised(pythonType: "ZeroDivisionError", message: "division by zero", line: line) }
                return .float(Double(i) / Double(j))
            case "//", "%":
                guard j != 0 else { throw .raised(pythonType: "ZeroDivisionError", message: "integer division or modulo by zero", line: line) }
                if i == Int.min && j == -1 { throw overflow(line) }
                var q = i / j
                var r = i % j
                if r != 0 && ((r < 0) != (j < 0)) { q -= 1; r += j }
                return .int(op == "//" ? q : r)
            case "**":
                if j < 0 { return .float(pow(Double(i), Double(j))) }
                var result = 1
                var base = i
                var exponent = j
                while exponent > 0 {
                    if exponent & 1 == 1 {
                        let (r, o) = result.multipliedReportingOverflow(by: base); if o { throw overflow(line) }; result = r
                    }
                    exponent >>= 1
                    if exponent > 0 { let (r, o) = base.multipliedReportingOverflow(by: base); if o { throw overflow(line) }; base = r }
                }
                return .int(result)
            default: break
            }
        }
        switch op {
        case "+": return .float(x + y)
        case "-": return .float(x - y)
        case "*": return .float(x * y)
        case "/":
            guard y != 0 else { throw .raised(pythonType: "ZeroDivisionError", message: "float division by zero", line: line) }
            return .float(x / y)
        case "//":
            guard y != 0 else { throw .raised(pythonType: "ZeroDivisionError", message: "float floor division by zero", line: line) }
            return .float(floorDivide(x, y))
        case "%":
            guard y != 0 else { throw .raised(pythonType: "ZeroDivisionError", message: "float modulo", line: line) }
            var r = fmod(x, y)
            if r != 0 && ((r < 0) != (y < 0)) { r += y }
            return .float(r)
        case "**":
            if x == 0 && y < 0 {
                throw .raised(pythonType: "ZeroDivisionError", message: "0.0 cannot be raised to a negative power", line: line)
            }
            return .float(pow(x, y))
        default: throw unsupportedOperands()
        }
    }

    private static func repeatCount(_ n: Int, _ unit: Int, _ line: Int) throws(ChatTemplateError) -> Int {
        let (total, overflow) = n.multipliedReportingOverflow(by: max(unit, 1))
        guard !overflow, total <= ChatTemplate.maxOutputBytes else { throw .outputLimitExceeded(limit: ChatTemplate.maxOutputBytes) }
        return n
    }

    private static func floorDivide(_ x: Double, _ y: Double) -> Double {
        var mod = fmod(x, y)
        var div = (x - mod) / y
        if mod != 0 && ((y < 0) != (mod < 0)) { mod += y; div -= 1 }
        if div != 0 {
            var floored = div.rounded(.down)
            if div - floored > 0.5 { floored += 1 }
            return floored
        }
        return x / y < 0 ? -0.0 : 0.0
    }

    /// `== != < <= > >=`; ordering follows Python (numbers, strings, lists and tuples element-wise).
    static func compare(_ op: String, _ x: TemplateValue, _ y: TemplateValue, line: Int) throws(ChatTemplateError) -> Bool {
        let a = x.unmarked, b = y.unmarked
        switch op {
        case "==": return TemplateValue.pythonEquals(a, b)
        case "!=": return !TemplateValue.pythonEquals(a, b)
        default: break
        }
        if case .undefined(let u) = a { throw undefinedError(u, line) }
        if case .undefined(let u) = b { throw undefinedError(u, line) }
        if let x = a.numeric, let y = b.numeric, x.isNaN || y.isNaN { return false }
        guard let order = try ordering(a, b, op: op, line: line) else {
            throw typeError("'\(op)' not supported between instances of '\(a.typeName)' and '\(b.typeName)'", line)
        }
        switch op {
        case "<": return order < 0
        case "<=": return order <= 0
        case ">": return order > 0
        default: return order >= 0
        }
    }

    /// -1, 0 or 1, or nil when Python does not order the two; NaN compares as unordered-false.
    static func ordering(_ a: TemplateValue, _ b: TemplateValue, op: String, line: Int) throws(ChatTemplateError) -> Int? {
        switch (a, b) {
        case (.string(let x), .string(let y)):
            if x.unicodeScalars.elementsEqual(y.unicodeScalars) { return 0 }
            return x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars) ? -1 : 1
        case (.list(let x), .list(let y)), (.tuple(let x), .tuple(let y)):
            for (p, q) in zip(x, y) where !TemplateValue.pythonEquals(p, q) {
                guard let order = try ordering(p, q, op: op, line: line) else {
                    throw typeError("'\(op)' not supported between instances of '\(p.typeName)' and '\(q.typeName)'", line)
                }
                return order
            }
            return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
        default:
            if let i = a.integer, let j = b.integer { return i == j ? 0 : (i < j ? -1 : 1) }
            if let x = a.numeric, let y = b.numeric {
                return x == y ? 0 : (x < y ? -1 : 1)
            }
            return nil
        }
    }

    /// `a in b`.
    static func contains(_ haystack: TemplateValue, _ needle: TemplateValue, line: Int) throws(ChatTemplateError) -> Bool {
        let container = haystack.unmarked, element = needle.unmarked
        switch container {
        case .string(let s):
            guard case .string(let e) = element else {
                if case .undefined(let u) = element { throw undefinedError(u, line) }
                throw typeError("'in <string>' requires string as left operand, not \(element.typeName)", line)
            }
            return e.isEmpty || s.unicodeScalars.containsSubsequence(e.unicodeScalars)
        case .list(let a), .tuple(let a): return a.contains { TemplateValue.pythonEquals($0, element) }
        case .dict(let d): return d[element] != nil
        case .dictView(let kind, let d):
            if kind == .keys { return d[element] != nil }
            return (container.iterated() ?? []).contains { TemplateValue.pythonEquals($0, element) }
        case .undefined: return false
        case .iterator(let it):
            while let next = it.next() { if TemplateValue.pythonEquals(next, element) { return true } }
            return false
        case .namespace(let ns): return ns.attributes[element] != nil
        default:
            throw typeError("argument of type '\(container.typeName)' is not iterable", line)
        }
    }
}

extension String.UnicodeScalarView {
    func containsSubsequence(_ needle: String.UnicodeScalarView) -> Bool { range(of: needle) != nil }

    /// The scalar offsets of the first occurrence of `needle`.
    func range(of needle: String.UnicodeScalarView, from start: Int = 0) -> Range<Int>? {
        let haystack = Array(self)
        let pattern = Array(needle)
        return haystack.range(of: pattern, from: start)
    }
}

extension Array where Element == Unicode.Scalar {
    func range(of pattern: [Unicode.Scalar], from start: Int = 0) -> Range<Int>? {
        guard pattern.count <= count else { return nil }
        if pattern.isEmpty { return start <= count ? start..<start : nil }
        var i = Swift.max(start, 0)
        while i + pattern.count <= count {
            if self[i] == pattern[0] && self[i..<(i + pattern.count)].elementsEqual(pattern) { return i..<(i + pattern.count) }
            i += 1
        }
        return nil
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
