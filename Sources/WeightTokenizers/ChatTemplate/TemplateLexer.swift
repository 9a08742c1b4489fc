/// Splits a template into tokens as jinja2's lexer does with `trim_blocks=True`,
/// `lstrip_blocks=True` and `keep_trailing_newline=False`.
///
/// Source rules, in jinja2's order: newlines (`\r\n`, `\r`, `\n`) become `\n` everywhere and one
/// trailing newline is dropped; `{%- ` / `{{-` / `{#-` strip all whitespace before the tag;
/// `{%` and `{#` (not `{{`) strip the spaces and tabs that alone precede them on their line
/// unless written `{%+`; `%}` and `#}` swallow one newline after them unless written `+%}`;
/// `-%}`, `-}}` and `-#}` strip all whitespace after them. Inside a tag, an end delimiter only
/// counts when brackets are balanced.
struct TemplateToken {
    enum Kind: Equatable {
        case data, variableBegin, variableEnd, blockBegin, blockEnd
        case name, string, integer, float, op
        case end
    }

    let kind: Kind
    let text: String
    let line: Int
    var integerValue = 0
    var floatValue = 0.0
}

struct TemplateLexer {
    /// The deepest bracket nesting inside one tag.
    static let maxBracketDepth = 256

    let source: [Unicode.Scalar]
    private var lineStarts: [Int] = [0]
    private(set) var tokens: [TemplateToken] = []

    init(_ text: String) {
        var normalized: [Unicode.Scalar] = []
        normalized.reserveCapacity(text.unicodeScalars.count)
        var previousWasCR = false
        for c in text.unicodeScalars {
            if c == "\r" { normalized.append("\n"); previousWasCR = true; continue }
            if c == "\n" && previousWasCR { previousWasCR = false; continue }
            previousWasCR = false
            normalized.append(c)
        }
        if normalized.last == "\n" { normalized.removeLast() }
        source = normalized
        for (i, c) in source.enumerated() where c == "\n" { lineStarts.append(i + 1) }
    }

    func line(at offset: Int) -> Int {
        var low = 0, high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= offset { low = mid } else { high = mid - 1 }
        }
        return low + 1
    }

    private func starts(_ literal: String, at position: Int) -> Bool {
        var p = position
        for c in literal.unicodeScalars {
            guard p < source.count, source[p] == c else { return false }
            p += 1
        }
        return true
    }

    private func skipSpace(from position: Int) -> Int {
        var p = position
        while p < source.count, PythonString.isSpace(source[p]) { p += 1 }
        return p
    }

    private func text(_ range: Range<Int>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: source[range])
        return String(view)
    }

    /// `{%[-+]?\s*raw\s*(-%}\s*|%})` at `position`: the end of the match and the sign.
    private func rawBegin(at position: Int) -> (end: Int, sign: Unicode.Scalar?)? {
        guard starts("{%", at: position) else { return nil }
        var p = position + 2
        var sign: Unicode.Scalar?
        if p < source.count, source[p] == "-" || source[p] == "+" { sign = source[p]; p += 1 }
        p = skipSpace(from: p)
        guard starts("raw", at: p) else { return nil }
        p = skipSpace(from: p + 3)
        if starts("-%}", at: p) { return (skipSpace(from: p + 3), sign) }
        if starts("%}", at: p) { return (p + 2, sign) }
        return nil
    }

    mutating func tokenize() throws(ChatTemplateError) -> [TemplateToken] {
        var position = 0
        var lineStarting = true
        while position < source.count {
            // The earliest tag start.
            var tagStart = position
            var kind: TemplateToken.Kind?
            var isComment = false
            var raw: (end: Int, sign: Unicode.Scalar?)?
            while tagStart + 1 < source.count {
                if source[tagStart] == "{" {
                    let next = source[tagStart + 1]
                    if next == "%" {
                        raw = rawBegin(at: tagStart)
                        kind = .blockBegin
                        break
                    }
                    if next == "{" { kind = .variableBegin; break }
                    if next == "#" { isComment = true; break }
                }
                tagStart += 1
            }
            guard kind != nil || isComment else {
                emitData(position..<source.count, line: line(at: position))
                return finish()
            }
            var afterDelimiter = tagStart + 2
            var sign: Unicode.Scalar?
            if let raw { sign = raw.sign } else if afterDelimiter < source.count,
                source[afterDelimiter] == "-" || source[afterDelimiter] == "+" {
                sign = source[afterDelimiter]
                afterDelimiter += 1
            }
            emitData(stripped(position..<tagStart, sign: sign, isVariable: kind == .variableBegin, lineStarting: lineStarting),
                     line: line(at: position))
            if let raw {
                position = try lexRaw(from: raw.end, rawLine: line(at: tagStart), lineStarting: &lineStarting)
                continue
            }
            if isComment {
                position = try lexCommentEnd(from: afterDelimiter, line: line(at: tagStart))
                lineStarting = position > 0 && source[position - 1] == "\n"
                continue
            }
            let begin = kind ?? .blockBegin
            tokens.append(TemplateToken(kind: begin, text: begin == .blockBegin ? "{%" : "{{", line: line(at: tagStart)))
            position = try lexTag(from: afterDelimiter, block: begin == .blockBegin)
            lineStarting = position > 0 && source[position - 1] == "\n"
        }
        return finish()
    }

    private mutating func finish() -> [TemplateToken] {
        tokens.append(TemplateToken(kind: .end, text: "", line: line(at: source.count)))
        return tokens
    }

    private mutating func emitData(_ range: Range<Int>, line: Int) {
        guard !range.isEmpty else { return }
        tokens.append(TemplateToken(kind: .data, text: text(range), line: line))
    }

    /// The data before a tag after the tag's whitespace control.
    private func stripped(_ range: Range<Int>, sign: Unicode.Scalar?, isVariable: Bool, lineStarting: Bool) -> Range<Int> {
        if sign == "-" {
            var end = range.upperBound
            while end > range.lowerBound, PythonString.isSpace(source[end - 1]) { end -= 1 }
            return range.lowerBound..<end
        }
        guard sign != "+", !isVariable else { return range }
        var lineStart = range.lowerBound
        var hasNewline = false
        for p in stride(from: range.upperBound - 1, through: range.lowerBound, by: -1) where source[p] == "\n" {
            lineStart = p + 1
            hasNewline = true
            break
        }
        guard hasNewline || lineStarting, lineStart < range.upperBound else { return range }
        for p in lineStart..<range.upperBound where !PythonString.isSpace(source[p]) { return range }
        return range.lowerBound..<lineStart
    }

    /// The end of `+#}`, `-#}\s*` or `#}\n?` after a comment's start.
    private func lexCommentEnd(from start: Int, line: Int) throws(ChatTemplateError) -> Int {
        var p = start
        while p < source.count {
            if starts("+#}", at: p) { return p + 3 }
            if starts("-#}", at: p) { return skipSpace(from: p + 3) }
            if starts("#}", at: p) { return p + 2 < source.count && source[p + 2] == "\n" ? p + 3 : p + 2 }
            p += 1
        }
        throw .syntax(message: "Missing end of comment tag", line: line)
    }

    /// A block-end delimiter at `p`: the position after it, or nil.
    private func blockEnd(at p: Int, block: Bool) -> Int? {
        if block {
            if starts("+%}", at: p) { return p + 3 }
            if starts("-%}", at: p) { return skipSpace(from: p + 3) }
            if starts("%}", at: p) { return p + 2 < source.count && source[p + 2] == "\n" ? p + 3 : p + 2 }
        } else {
            if starts("-}}", at: p) { return skipSpace(from: p + 3) }
            if starts("}}", at: p) { return p + 2 }
        }
        return nil
    }

    private mutating func lexRaw(from start: Int, rawLine: Int, lineStarting: inout Bool) throws(ChatTemplateError) -> Int {
        lineStarting = start > 0 && source[start - 1] == "\n"
        var p = start
        while p < source.count {
            if starts("{%", at: p) {
                var q = p + 2
                var sign: Unicode.Scalar?
                if q < source.count, source[q] == "-" || source[q] == "+" { sign = source[q]; q += 1 }
                q = skipSpace(from: q)
                if starts("endraw", at: q) {
                    q = skipSpace(from: q + 6)
                    if let end = blockEnd(at: q, block: true) {
                        emitData(stripped(start..<p, sign: sign, isVariable: false, lineStarting: lineStarting), line: line(at: start))
                        lineStarting = end > 0 && source[end - 1] == "\n"
                        return end
                    }
                }
            }
            p += 1
        }
        throw .syntax(message: "Missing end of raw directive", line: rawLine)
    }

    private static let operators: [String] = ["//", "**", "==", "!=", ">=", "<=",
                                              "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}",
                                              ">", "<", "=", ".", ":", "|", ",", ";"]

    private mutating func lexTag(from start: Int, block: Bool) throws(ChatTemplateError) -> Int {
        var p = start
        var balance: [Unicode.Scalar] = []
        while true {
            guard p < source.count else {
                throw .syntax(message: block ? "Unexpected end of template. Jinja was looking for the following tags: 'endblock'."
                    : "unexpected end of template, expected 'end of print statement'.", line: line(at: p))
            }
            let lineHere = line(at: p)
            if balance.isEmpty, let end = blockEnd(at: p, block: block) {
                tokens.append(TemplateToken(kind: block ? .blockEnd : .variableEnd, text: block ? "%}" : "}}", line: lineHere))
                return end
            }
            let c = source[p]
            if PythonString.isSpace(c) { p += 1; continue }
            if let (end, token) = number(at: p, line: lineHere) {
                tokens.append(token)
                p = end
                continue
            }
            if c == "_" || (c.isASCII && c.properties.isAlphabetic) {
                var q = p + 1
                while q < source.count, source[q] == "_" || (source[q].isASCII && (source[q].properties.isAlphabetic || ("0"..."9").contains(source[q]))) { q += 1 }
                tokens.append(TemplateToken(kind: .name, text: text(p..<q), line: lineHere))
                p = q
                continue
            }
            if c == "'" || c == "\"" {
                var q = p + 1
                while q < source.count, source[q] != c {
                    if source[q] == "\\" { q += 1 }
                    q += 1
                }
                guard q < source.count else {
                    throw .syntax(message: "unexpected char \(PythonString.repr(String(c))) at \(p)", line: lineHere)
                }
                tokens.append(TemplateToken(kind: .string, text: try Self.unescape(Array(source[(p + 1)..<q]), line: lineHere), line: lineHere))
                p = q + 1
                continue
            }
            guard let op = Self.operators.first(where: { starts($0, at: p) }) else {
                throw .syntax(message: "unexpected char \(PythonString.repr(String(c))) at \(p)", line: lineHere)
            }
            switch op {
            case "(", "[", "{":
                guard balance.count < Self.maxBracketDepth else { throw .nestingTooDeep(limit: Self.maxBracketDepth, line: lineHere) }
                balance.append(op == "(" ? ")" : op == "[" ? "]" : "}")
            case ")", "]", "}":
                guard let expected = balance.popLast() else { throw .syntax(message: "unexpected '\(op)'", line: lineHere) }
                guard String(expected) == op else { throw .syntax(message: "unexpected '\(op)', expected '\(expected)'", line: lineHere) }
            default: break
            }
            tokens.append(TemplateToken(kind: .op, text: op, line: lineHere))
            p += op.unicodeScalars.count
        }
    }

    private func isDigit(_ p: Int) -> Bool { p < source.count && ("0"..."9").contains(source[p]) }

    /// jinja2's float and integer rules (floats first; underscores between digits).
    private func number(at start: Int, line: Int) -> (Int, TemplateToken)? {
        guard isDigit(start) else { return nil }
        func digitRun(_ from: Int) -> Int? {
            guard isDigit(from) else { return nil }
            var q = from + 1
            while true {
                if isDigit(q) { q += 1; continue }
                if q < source.count, source[q] == "_", isDigit(q + 1) { q += 2; continue }
                return q
            }
        }
        guard let intEnd = digitRun(start) else { return nil }
        // Float: fraction and/or exponent, not preceded by '.'.
        if start == 0 || source[start - 1] != "." {
            var q = intEnd
            var isFloat = false
            if q < source.count, source[q] == ".", let fracEnd = digitRun(q + 1) { q = fracEnd; isFloat = true }
            if q < source.count, source[q] == "e" || source[q] == "E" {
                var e = q + 1
                if e < source.count, source[e] == "+" || source[e] == "-" { e += 1 }
                if let expEnd = digitRun(e) { q = expEnd; isFloat = true } else if !isFloat || true {
                    // No exponent digits: the float (if any) ends before 'e'.
                }
            }
            if isFloat {
                let literal = text(start..<q).replacingUnderscores()
                return (q, TemplateToken(kind: .float, text: literal, line: line, floatValue: Double(literal) ?? .nan))
            }
        }
        // Integer: 0b/0o/0x prefixes, decimal, or zeros.
        if source[start] == "0", start + 1 < source.count {
            let prefix = source[start + 1]
            let radix: Int? = (prefix == "b" || prefix == "B") ? 2 : (prefix == "o" || prefix == "O") ? 8 : (prefix == "x" || prefix == "X") ? 16 : nil
            if let radix {
                var q = start + 2
                var digits = ""
                while q < source.count {
                    if source[q] == "_", q + 1 < source.count, Int(String(source[q + 1]), radix: radix) != nil { q += 1; continue }
                    guard Int(String(source[q]), radix: radix) != nil else { break }
                    digits.unicodeScalars.append(source[q])
                    q += 1
                }
                if !digits.isEmpty {
                    return (q, TemplateToken(kind: .integer, text: text(start..<q), line: line, integerValue: Int(digits, radix: radix) ?? Int.max))
                }
            }
            // "0(_?0)*"
            var q = start + 1
            while true {
                if q < source.count, source[q] == "0" { q += 1; continue }
                if q + 1 < source.count, source[q] == "_", source[q + 1] == "0" { q += 2; continue }
                break
            }
            return (q, TemplateToken(kind: .integer, text: "0", line: line, integerValue: 0))
        }
        let literal = text(start..<intEnd).replacingUnderscores()
        return (intEnd, TemplateToken(kind: .integer, text: literal, line: line, integerValue: Int(literal) ?? Int.max))
    }

    /// A string literal's body after Python's `unicode-escape` decoding (what jinja2 applies).
    static func unescape(_ body: [Unicode.Scalar], line: Int) throws(ChatTemplateError) -> String {
        var out = String.UnicodeScalarView()
        var i = 0
        func hexValue(_ count: Int, _ what: String) throws(ChatTemplateError) -> Unicode.Scalar {
            guard i + count < body.count + 1, i + 1 + count <= body.count else {
                throw .syntax(message: "truncated \(what) escape", line: line)
            }
            var text = ""
            for c in body[(i + 1)...(i + count)] { text.unicodeScalars.append(c) }
            guard let v = UInt32(text, radix: 16), let scalar = Unicode.Scalar(v) else {
                throw .syntax(message: "truncated \(what) escape", line: line)
            }
            i += count
            return scalar
        }
        while i < body.count {
            let c = body[i]
            guard c == "\\", i + 1 < body.count else { out.append(c); i += 1; continue }
            i += 1
            let e = body[i]
            switch e {
            case "\n": break
            case "\\": out.append("\\")
            case "'": out.append("'")
            case "\"": out.append("\"")
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "v": out.append("\u{0B}")
            case "x": out.append(try hexValue(2, "\\xXX"))
            case "u": out.append(try hexValue(4, "\\uXXXX"))
            case "U": out.append(try hexValue(8, "\\UXXXXXXXX"))
            case "0"..."7":
                var value: UInt32 = 0
                var n = 0
                while n < 3, i < body.count, ("0"..."7").contains(body[i]) {
                    value = value * 8 + (body[i].value - 48)
                    i += 1
                    n += 1
                }
                i -= 1
                out.append(Unicode.Scalar(value) ?? "\u{FFFD}")
            case "N": throw .unsupported(feature: "\\N{...} escapes in string literals", line: line)
            default: out.append("\\"); out.append(e)
            }
            i += 1
        }
        return String(out)
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String { String(unicodeScalars.filter { $0 != "_" }) }
}
