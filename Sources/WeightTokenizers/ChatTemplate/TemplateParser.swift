/// Parses tokens into statements with jinja2's grammar and operator precedence (from loosest:
/// conditional, `or`, `and`, `not`, comparisons and `in`, `+ -`, `~`, `* / // %`, `**` (left
/// associative, as in jinja2), unary `- +`, then postfix `.`, `[]`, calls, filters and tests).
struct TemplateParser {
    /// The deepest nesting of expressions and blocks the parser accepts.
    static let maxDepth = 200

    static let builtinFilters: Set<String> = [
        "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
        "filesizeformat", "first", "float", "forceescape", "format", "groupby", "indent", "int", "items", "join",
        "last", "length", "list", "lower", "map", "max", "min", "pprint", "random", "reject", "rejectattr",
        "replace", "reverse", "round", "safe", "select", "selectattr", "slice", "sort", "string", "striptags",
        "sum", "title", "tojson", "trim", "truncate", "unique", "upper", "urlencode", "urlize", "wordcount",
        "wordwrap", "xmlattr",
    ]
    static let builtinTests: Set<String> = [
        "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "escaped", "even", "false", "filter",
        "float", "ge", "gt", "greaterthan", "in", "integer", "iterable", "le", "lower", "lessthan", "lt",
        "mapping", "ne", "none", "number", "odd", "sameas", "sequence", "string", "test", "true", "undefined",
        "upper", "==", "!=", "<", "<=", ">", ">=",
    ]

    private let tokens: [TemplateToken]
    private var position = 0
    private var depth = 0
    /// Inside an `if` or a conditional expression (jinja2's "soft frame"): an unknown filter or
    /// test there fails only when it runs.
    private var soft = false
    private var endTokenStack: [[String]] = []

    init(tokens: [TemplateToken]) { self.tokens = tokens }

    private var current: TemplateToken { tokens[position] }
    private func peek(_ offset: Int = 1) -> TemplateToken { tokens[min(position + offset, tokens.count - 1)] }
    private mutating func advance() -> TemplateToken {
        let token = tokens[position]
        if position < tokens.count - 1 { position += 1 }
        return token
    }

    private func isName(_ name: String) -> Bool { current.kind == .name && current.text == name }
    private func isOp(_ op: String) -> Bool { current.kind == .op && current.text == op }

    private mutating func skipOp(_ op: String) -> Bool {
        if isOp(op) { _ = advance(); return true }
        return false
    }
    private mutating func skipName(_ name: String) -> Bool {
        if isName(name) { _ = advance(); return true }
        return false
    }

    private static func describe(_ token: TemplateToken) -> String {
        switch token.kind {
        case .data: return "template data / text"
        case .variableBegin: return "begin of print statement"
        case .variableEnd: return "end of print statement"
        case .blockBegin: return "begin of statement block"
        case .blockEnd: return "end of statement block"
        case .end: return "end of template"
        case .name, .op, .integer, .float: return token.text
        case .string: return "string"
        }
    }

    private func fail(_ message: String, line: Int? = nil) -> ChatTemplateError {
        .syntax(message: message, line: line ?? current.line)
    }

    private mutating func expectOp(_ op: String) throws(ChatTemplateError) {
        guard skipOp(op) else {
            if current.kind == .end { throw fail("unexpected end of template, expected '\(op)'.") }
            throw fail("expected token '\(op)', got '\(Self.describe(current))'")
        }
    }

    private mutating func expectName() throws(ChatTemplateError) -> TemplateToken {
        guard current.kind == .name else {
            if current.kind == .end { throw fail("unexpected end of template, expected 'name'.") }
            throw fail("expected token 'name', got '\(Self.describe(current))'")
        }
        return advance()
    }

    private mutating func expect(_ kind: TemplateToken.Kind, _ what: String) throws(ChatTemplateError) {
        guard current.kind == kind else {
            if current.kind == .end { throw fail("unexpected end of template, expected '\(what)'.") }
            throw fail("expected token '\(what)', got '\(Self.describe(current))'")
        }
        _ = advance()
    }

    private mutating func nest() throws(ChatTemplateError) {
        depth += 1
        guard depth <= Self.maxDepth else { throw .nestingTooDeep(limit: Self.maxDepth, line: current.line) }
    }

    // MARK: statements

    mutating func parseTemplate() throws(ChatTemplateError) -> [Statement] {
        let body = try subparse(endTokens: nil)
        return body
    }

    /// Statements up to one of `endTokens` (left current), or to the end of the template.
    private mutating func subparse(endTokens: [String]?) throws(ChatTemplateError) -> [Statement] {
        if let endTokens { endTokenStack.append(endTokens) }
        defer { if endTokens != nil { endTokenStack.removeLast() } }
        var body: [Statement] = []
        while true {
            switch current.kind {
            case .data:
                let token = advance()
                body.append(Statement(kind: .output(token.text), line: token.line))
            case .variableBegin:
                let line = advance().line
                let expression = try parseTuple(withConditional: true)
                try expect(.variableEnd, "end of print statement")
                body.append(Statement(kind: .print(expression), line: line))
            case .blockBegin:
                _ = advance()
                if let endTokens, current.kind == .name, endTokens.contains(current.text) { return body }
                body.append(try parseStatement())
                try expect(.blockEnd, "end of statement block")
            case .end:
                return body
            default:
                throw fail("unexpected \(Self.describe(current))")
            }
        }
    }

    private mutating func failUnknownTag(_ name: String?, line: Int, extra: [String]? = nil) -> ChatTemplateError {
        var stack = endTokenStack
        if let extra { stack.append(extra) }
        var message = name.map { "Encountered unknown tag '\($0)'." } ?? "Unexpected end of template."
        if let looking = stack.last {
            let expected = Set(stack.flatMap { $0 })
            let list = looking.map { "'\($0)'" }.joined(separator: " or ")
            if let name, expected.contains(name) {
                message += " You probably made a nesting mistake. Jinja is expecting this tag, but currently looking for \(list)."
            } else {
                message += " Jinja was looking for the following tags: \(list)."
            }
        }
        if let innermost = tagStack.last {
            message += " The innermost block that needs to be closed is '\(innermost)'."
        }
        return .syntax(message: message, line: line)
    }

    private var tagStack: [String] = []

    /// A body up to one of `endTokens`; leaves the end tag's name current.
    private mutating func parseBody(_ endTokens: [String], dropNeedle: Bool = false) throws(ChatTemplateError) -> [Statement] {
        _ = skipOp(":")
        try expect(.blockEnd, "end of statement block")
        let body = try subparse(endTokens: endTokens)
        if current.kind == .end { throw failUnknownTag(nil, line: current.line, extra: endTokens) }
        if dropNeedle { _ = advance() }
        return body
    }

    private mutating func withHardFrame<T>(_ body: (inout TemplateParser) throws(ChatTemplateError) -> T) throws(ChatTemplateError) -> T {
        let saved = soft
        soft = false
        defer { soft = saved }
        return try body(&self)
    }

    private mutating func parseStatement() throws(ChatTemplateError) -> Statement {
        let token = current
        guard token.kind == .name else { throw fail("tag name expected") }
        try nest()
        defer { depth -= 1 }
        let line = token.line
        let known = ["for", "if", "set", "macro", "call", "filter", "with", "break", "continue", "generation",
                     "block", "extends", "print", "include", "from", "import", "autoescape"]
        guard known.contains(token.text) else { throw failUnknownTag(token.text, line: line) }
        tagStack.append(token.text)
        defer { tagStack.removeLast() }
        _ = advance()
        switch token.text {
        case "if":
            let saved = soft
            soft = true
            defer { soft = saved }
            var branches: [(Expression, [Statement])] = []
            var otherwise: [Statement] = []
            while true {
                let test = try parseTuple(withConditional: false)
                let body = try parseBody(["elif", "else", "endif"])
                branches.append((test, body))
                let end = advance()
                if end.text == "elif" { continue }
                if end.text == "else" { otherwise = try parseBody(["endif"], dropNeedle: true) }
                break
            }
            return Statement(kind: .conditional(branches, otherwise: otherwise), line: line)
        case "for":
            let target = try parseAssignTarget(extraEnd: "in")
            guard skipName("in") else { throw fail("expected token 'in', got '\(Self.describe(current))'") }
            let iterable = try parseTuple(withConditional: false, extraEnd: "recursive")
            var filter: Expression?
            if skipName("if") { filter = try parseExpression() }
            if skipName("recursive") { throw .unsupported(feature: "recursive for loops", line: line) }
            return try withHardFrame { (p: inout TemplateParser) throws(ChatTemplateError) -> Statement in
                let body = try p.parseBody(["endfor", "else"])
                var otherwise: [Statement] = []
                if p.advance().text == "else" { otherwise = try p.parseBody(["endfor"], dropNeedle: true) }
                return Statement(kind: .loop(target: target, iterable: iterable, filter: filter, body: body, otherwise: otherwise), line: line)
            }
        case "set":
            let target = try parseAssignTarget(withNamespace: true)
            if skipOp("=") {
                return Statement(kind: .assign(target, try parseTuple(withConditional: true)), line: line)
            }
            return try withHardFrame { (p: inout TemplateParser) throws(ChatTemplateError) -> Statement in
                let filter = try p.parseFilterChain(nil)
                let body = try p.parseBody(["endset"], dropNeedle: true)
                return Statement(kind: .assignBlock(target, filter: filter, body: body), line: line)
            }
        case "macro":
            let name = try expectName().text
            let parameters = try parseSignature()
            return try withHardFrame { (p: inout TemplateParser) throws(ChatTemplateError) -> Statement in
                let body = try p.parseBody(["endmacro"], dropNeedle: true)
                return Statement(kind: .macro(name: name, parameters: parameters, body: body), line: line)
            }
        case "call":
            let parameters = isOp("(") ? try parseSignature() : []
            let call = try parseExpression()
            guard case .call = call.kind else { throw fail("expected call", line: line) }
            return try withHardFrame { (p: inout TemplateParser) throws(ChatTemplateError) -> Statement in
                let body = try p.parseBody(["endcall"], dropNeedle: true)
                return Statement(kind: .callBlock(call: call, parameters: parameters, body: body), line: line)
            }
        case "filter":
            return try withHardFrame { (p: inout TemplateParser) throws(ChatTemplateError) -> Statement in
                guard let filter = try p.parseFilterChain(nil, startInline: true) else { throw p.fail("expected filter") }
                let body = try p.parseBody(["endfilter"], dropNeedle: true)
                return Statement(kind: .filterBlock(filter, body: body), line: line)
            }
        case "with":
            var assignments: [(AssignTarget, Expression)] = []
            while current.kind != .blockEnd {
                if !assignments.isEmpty { try expectOp(",") }
                let target = try parseAssignTarget()
                try expectOp("=")
                assignments.append((target, try parseExpression()))
            }
            return try withHardFrame { (p: inout TemplateParser) throws(ChatTemplateError) -> Statement in
                let body = try p.parseBody(["endwith"], dropNeedle: true)
                return Statement(kind: .with(assignments, body: body), line: line)
            }
        case "break": return Statement(kind: .breakLoop, line: line)
        case "continue": return Statement(kind: .continueLoop, line: line)
        case "generation":
            return try withHardFrame { (p: inout TemplateParser) throws(ChatTemplateError) -> Statement in
                let body = try p.parseBody(["endgeneration"], dropNeedle: true)
                return Statement(kind: .generation(body), line: line)
            }
        case "print":
            var expressions: [Expression] = []
            while current.kind != .blockEnd {
                if !expressions.isEmpty { try expectOp(",") }
                expressions.append(try parseExpression())
            }
            let body = expressions.map { Statement(kind: .print($0), line: line) }
            return Statement(kind: .conditional([(Expression(kind: .literal(.bool(true)), line: line), body)], otherwise: []), line: line)
        default:
            throw .unsupported(feature: "the '\(token.text)' tag", line: line)
        }
    }

    private mutating func parseSignature() throws(ChatTemplateError) -> [MacroParameter] {
        var parameters: [MacroParameter] = []
        try expectOp("(")
        while !isOp(")") {
            if !parameters.isEmpty { try expectOp(",") }
            let name = try expectName()
            var defaultValue: Expression?
            if skipOp("=") { defaultValue = try parseExpression() }
            else if parameters.contains(where: { $0.defaultValue != nil }) {
                throw fail("non-default argument follows default argument", line: name.line)
            }
            parameters.append(MacroParameter(name: name.text, defaultValue: defaultValue))
        }
        try expectOp(")")
        return parameters
    }

    private mutating func parseAssignTarget(extraEnd: String? = nil, withNamespace: Bool = false) throws(ChatTemplateError) -> AssignTarget {
        var targets: [AssignTarget] = []
        var isTuple = false
        while true {
            if !targets.isEmpty { try expectOp(",") }
            if current.kind == .variableEnd || current.kind == .blockEnd || isOp(")") || (extraEnd.map(isName) ?? false) { break }
            let name = try expectName()
            if ["true", "false", "none", "True", "False", "None"].contains(name.text) {
                throw fail("can't assign to 'const'", line: name.line)
            }
            if withNamespace, isOp(".") {
                _ = advance()
                let attribute = try expectName()
                targets.append(.namespaceAttribute(name.text, attribute.text))
            } else {
                targets.append(.name(name.text))
            }
            if isOp(",") { isTuple = true } else { break }
        }
        if !isTuple, let only = targets.first { return only }
        if targets.isEmpty { throw fail("Expected an expression, got '\(Self.describe(current))'") }
        return .tuple(targets)
    }

    // MARK: expressions

    private mutating func parseTuple(withConditional: Bool, extraEnd: String? = nil, explicitParentheses: Bool = false) throws(ChatTemplateError) -> Expression {
        let line = current.line
        var items: [Expression] = []
        var isTuple = false
        while true {
            if !items.isEmpty { try expectOp(",") }
            if current.kind == .variableEnd || current.kind == .blockEnd || isOp(")") || (extraEnd.map(isName) ?? false) { break }
            items.append(withConditional ? try parseExpression() : try parseOr())
            if isOp(",") { isTuple = true } else { break }
        }
        if !isTuple {
            if let only = items.first { return only }
            if !explicitParentheses { throw fail("Expected an expression, got '\(Self.describe(current))'") }
        }
        return Expression(kind: .tuple(items), line: line)
    }

    private mutating func parseExpression() throws(ChatTemplateError) -> Expression {
        try nest()
        defer { depth -= 1 }
        let line = current.line
        var expression = try parseOr()
        while skipName("if") {
            let saved = soft
            soft = true
            defer { soft = saved }
            let test = try parseOr()
            var otherwise: Expression?
            if skipName("else") { otherwise = try parseExpression() }
            expression = Expression(kind: .conditional(test: test, then: expression, otherwise: otherwise), line: line)
        }
        return expression
    }

    private mutating func parseOr() throws(ChatTemplateError) -> Expression {
        var left = try parseAnd()
        while isName("or") {
            let line = advance().line
            left = Expression(kind: .or(left, try parseAnd()), line: line)
        }
        return left
    }

    private mutating func parseAnd() throws(ChatTemplateError) -> Expression {
        var left = try parseNot()
        while isName("and") {
            let line = advance().line
            left = Expression(kind: .and(left, try parseNot()), line: line)
        }
        return left
    }

    private mutating func parseNot() throws(ChatTemplateError) -> Expression {
        if isName("not") {
            let line = advance().line
            try nest()
            defer { depth -= 1 }
            return Expression(kind: .not(try parseNot()), line: line)
        }
        return try parseCompare()
    }

    private mutating func parseCompare() throws(ChatTemplateError) -> Expression {
        let line = current.line
        let first = try parseMath1()
        var operations: [(String, Expression)] = []
        while true {
            if current.kind == .op, ["==", "!=", "<", "<=", ">", ">="].contains(current.text) {
                let op = advance().text
                operations.append((op, try parseMath1()))
            } else if skipName("in") {
                operations.append(("in", try parseMath1()))
            } else if isName("not"), peek().kind == .name, peek().text == "in" {
                _ = advance(); _ = advance()
                operations.append(("notin", try parseMath1()))
            } else {
                break
            }
        }
        return operations.isEmpty ? first : Expression(kind: .compare(first, operations), line: line)
    }

    private mutating func parseMath1() throws(ChatTemplateError) -> Expression {
        var left = try parseConcat()
        while current.kind == .op, current.text == "+" || current.text == "-" {
            let token = advance()
            left = Expression(kind: .binary(token.text, left, try parseConcat()), line: token.line)
        }
        return left
    }

    private mutating func parseConcat() throws(ChatTemplateError) -> Expression {
        let line = current.line
        var parts = [try parseMath2()]
        while skipOp("~") { parts.append(try parseMath2()) }
        return parts.count == 1 ? parts[0] : Expression(kind: .concat(parts), line: line)
    }

    private mutating func parseMath2() throws(ChatTemplateError) -> Expression {
        var left = try parsePow()
        while current.kind == .op, ["*", "/", "//", "%"].contains(current.text) {
            let token = advance()
            left = Expression(kind: .binary(token.text, left, try parsePow()), line: token.line)
        }
        return left
    }

    private mutating func parsePow() throws(ChatTemplateError) -> Expression {
        var left = try parseUnary(withFilter: true)
        while isOp("**") {
            let token = advance()
            left = Expression(kind: .binary("**", left, try parseUnary(withFilter: true)), line: token.line)
        }
        return left
    }

    private mutating func parseUnary(withFilter: Bool) throws(ChatTemplateError) -> Expression {
        try nest()
        defer { depth -= 1 }
        let line = current.line
        var node: Expression
        if skipOp("-") {
            node = Expression(kind: .negate(try parseUnary(withFilter: false)), line: line)
        } else if skipOp("+") {
            node = Expression(kind: .plus(try parseUnary(withFilter: false)), line: line)
        } else {
            node = try parsePrimary()
        }
        node = try parsePostfix(node)
        if withFilter { node = try parseFilterExpression(node) }
        return node
    }

    private mutating func parsePrimary() throws(ChatTemplateError) -> Expression {
        let token = current
        switch token.kind {
        case .name:
            _ = advance()
            switch token.text {
            case "true", "True": return Expression(kind: .literal(.bool(true)), line: token.line)
            case "false", "False": return Expression(kind: .literal(.bool(false)), line: token.line)
            case "none", "None": return Expression(kind: .literal(.none), line: token.line)
            default: return Expression(kind: .name(token.text), line: token.line)
            }
        case .string:
            var text = advance().text
            while current.kind == .string { text += advance().text }
            return Expression(kind: .literal(.string(text)), line: token.line)
        case .integer:
            _ = advance()
            guard token.integerValue != Int.max else { throw .unsupported(feature: "integer literals beyond 64 bits", line: token.line) }
            return Expression(kind: .literal(.int(token.integerValue)), line: token.line)
        case .float:
            _ = advance()
            return Expression(kind: .literal(.float(token.floatValue)), line: token.line)
        case .op where token.text == "(":
            _ = advance()
            let inner = try parseTuple(withConditional: true, explicitParentheses: true)
            try expectOp(")")
            return inner
        case .op where token.text == "[":
            _ = advance()
            var items: [Expression] = []
            while !isOp("]") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("]") { break }
                items.append(try parseExpression())
            }
            try expectOp("]")
            return Expression(kind: .list(items), line: token.line)
        case .op where token.text == "{":
            _ = advance()
            var pairs: [(Expression, Expression)] = []
            while !isOp("}") {
                if !pairs.isEmpty { try expectOp(",") }
                if isOp("}") { break }
                let key = try parseExpression()
                try expectOp(":")
                pairs.append((key, try parseExpression()))
            }
            try expectOp("}")
            return Expression(kind: .dict(pairs), line: token.line)
        case .end:
            throw fail("unexpected end of template")
        default:
            throw fail("unexpected '\(Self.describe(token))'")
        }
    }

    private mutating func parsePostfix(_ start: Expression) throws(ChatTemplateError) -> Expression {
        var node = start
        while true {
            if isOp(".") {
                let line = advance().line
                let attribute = advance()
                if attribute.kind == .name {
                    node = Expression(kind: .attribute(node, attribute.text), line: line)
                } else if attribute.kind == .integer {
                    node = Expression(kind: .item(node, Expression(kind: .literal(.int(attribute.integerValue)), line: line)), line: line)
                } else {
                    throw fail("expected name or number", line: attribute.line)
                }
            } else if isOp("[") {
                let line = advance().line
                var subscripts: [Expression] = []
                while !isOp("]") {
                    if !subscripts.isEmpty { try expectOp(",") }
                    subscripts.append(try parseSubscribed(on: node))
                }
                try expectOp("]")
                if subscripts.count == 1, case .slice = subscripts[0].kind {
                    node = subscripts[0]
                } else {
                    let index = subscripts.count == 1 ? subscripts[0] : Expression(kind: .tuple(subscripts), line: line)
                    node = Expression(kind: .item(node, index), line: line)
                }
            } else if isOp("(") {
                let line = current.line
                node = Expression(kind: .call(node, try parseCallArguments()), line: line)
            } else {
                return node
            }
        }
    }

    /// One subscript: an expression, or a slice `start:stop:step` (returned as the slice of `base`).
    private mutating func parseSubscribed(on base: Expression) throws(ChatTemplateError) -> Expression {
        let line = current.line
        var start: Expression?
        if !isOp(":") {
            let expression = try parseExpression()
            if !isOp(":") { return expression }
            start = expression
        }
        _ = advance()
        var stop: Expression?
        if !isOp(":") && !isOp("]") && !isOp(",") { stop = try parseExpression() }
        var step: Expression?
        if skipOp(":") {
            if !isOp("]") && !isOp(",") { step = try parseExpression() }
        }
        return Expression(kind: .slice(base, start: start, stop: stop, step: step), line: line)
    }

    private mutating func parseCallArguments() throws(ChatTemplateError) -> Arguments {
        let line = current.line
        try expectOp("(")
        var arguments = Arguments()
        var requireComma = false
        while !isOp(")") {
            if requireComma {
                try expectOp(",")
                if isOp(")") { break }
            }
            if isOp("*") {
                _ = advance()
                guard arguments.starArgs == nil, arguments.starKeywords == nil else { throw fail("invalid syntax for function call expression", line: line) }
                arguments.starArgs = try parseExpression()
            } else if isOp("**") {
                _ = advance()
                guard arguments.starKeywords == nil else { throw fail("invalid syntax for function call expression", line: line) }
                arguments.starKeywords = try parseExpression()
            } else if current.kind == .name, peek().kind == .op, peek().text == "=" {
                guard arguments.starKeywords == nil else { throw fail("invalid syntax for function call expression", line: line) }
                let key = advance().text
                _ = advance()
                arguments.keywords.append((key, try parseExpression()))
            } else {
                guard arguments.starArgs == nil, arguments.starKeywords == nil, arguments.keywords.isEmpty else {
                    throw fail("invalid syntax for function call expression", line: line)
                }
                arguments.positional.append(try parseExpression())
            }
            requireComma = true
        }
        try expectOp(")")
        return arguments
    }

    private mutating func parseFilterExpression(_ start: Expression) throws(ChatTemplateError) -> Expression {
        var node = start
        while true {
            if isOp("|") {
                node = try parseFilterChain(node) ?? node
            } else if isName("is") {
                node = try parseTest(node)
            } else if isOp("(") {
                let line = current.line
                node = Expression(kind: .call(node, try parseCallArguments()), line: line)
            } else {
                return node
            }
        }
    }

    private mutating func parseFilterChain(_ start: Expression?, startInline: Bool = false) throws(ChatTemplateError) -> Expression? {
        var node = start
        var inline = startInline
        while isOp("|") || inline {
            if !inline { _ = advance() }
            inline = false
            let token = try expectName()
            var name = token.text
            while skipOp(".") { name += "." + (try expectName().text) }
            let arguments = isOp("(") ? try parseCallArguments() : Arguments()
            if !Self.builtinFilters.contains(name) && name != "tojson" && !soft {
                throw .syntax(message: "No filter named '\(name)'.", line: token.line, pythonType: "TemplateAssertionError")
            }
            node = Expression(kind: .filter(node, name, arguments, soft: soft), line: token.line)
        }
        return node
    }

    private mutating func parseTest(_ subject: Expression) throws(ChatTemplateError) -> Expression {
        let line = advance().line
        let negated = skipName("not")
        let nameToken = try expectName()
        var name = nameToken.text
        while skipOp(".") { name += "." + (try expectName().text) }
        var arguments = Arguments()
        if isOp("(") {
            arguments = try parseCallArguments()
        } else if (current.kind == .name || current.kind == .string || current.kind == .integer || current.kind == .float
                   || isOp("(") || isOp("[") || isOp("{")) && !isName("else") && !isName("or") && !isName("and") {
            if isName("is") { throw fail("You cannot chain multiple tests with is") }
            arguments.positional = [try parsePostfix(try parsePrimary())]
        }
        if !Self.builtinTests.contains(name) && !soft {
            throw .syntax(message: "No test named '\(name)'.", line: nameToken.line, pythonType: "TemplateAssertionError")
        }
        let test = Expression(kind: .test(subject, name, arguments, soft: soft), line: line)
        return negated ? Expression(kind: .not(test), line: line) : test
    }
}
