/// A chain of variable frames: the render context at the root, then the template's top level,
/// then one frame per loop iteration, macro call or block.
final class Scope {
    var variables: [String: TemplateValue] = [:]
    let parent: Scope?

    init(parent: Scope?) { self.parent = parent }

    func lookup(_ name: String) -> TemplateValue? {
        var scope: Scope? = self
        while let s = scope {
            if let value = s.variables[name] { return value }
            scope = s.parent
        }
        return nil
    }
}

/// A calendar date and time of day, for `strftime_now`.
public struct TemplateDate: Sendable, Equatable {
    public var year: Int, month: Int, day: Int
    public var hour: Int, minute: Int, second: Int

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        self.year = year; self.month = month; self.day = day
        self.hour = hour; self.minute = minute; self.second = second
    }
}

/// Runs a parsed template: statements write to the innermost output buffer; expressions
/// evaluate to values. Every statement, expression and loop iteration costs one step.
final class TemplateInterpreter {
    enum Flow { case normal, breakLoop, continueLoop }

    let limits: ChatTemplate.Limits
    let date: TemplateDate
    private var buffers: [String] = [""]
    private var steps = 0
    private var callDepth = 0

    init(limits: ChatTemplate.Limits, date: TemplateDate) {
        self.limits = limits
        self.date = date
    }

    func render(_ body: [Statement], context: Scope) throws(ChatTemplateError) -> String {
        let top = Scope(parent: context)
        _ = try execute(body, in: top)
        return buffers[0]
    }

    // MARK: output

    private func write(_ text: String) throws(ChatTemplateError) {
        buffers[buffers.count - 1] += text
        if buffers[buffers.count - 1].utf8.count > limits.maxOutputBytes {
            throw .outputLimitExceeded(limit: limits.maxOutputBytes)
        }
    }

    /// Renders `body` in a child frame into a fresh buffer and returns the text.
    func capture(_ body: [Statement], in scope: Scope) throws(ChatTemplateError) -> String {
        buffers.append("")
        defer { buffers.removeLast() }
        _ = try execute(body, in: Scope(parent: scope))
        return buffers[buffers.count - 1]
    }

    func step() throws(ChatTemplateError) {
        steps += 1
        if steps > limits.maxSteps { throw .stepLimitExceeded(limit: limits.maxSteps) }
    }

    // MARK: statements

    func execute(_ body: [Statement], in scope: Scope) throws(ChatTemplateError) -> Flow {
        for statement in body {
            try step()
            let flow = try execute(statement, in: scope)
            if flow != .normal { return flow }
        }
        return .normal
    }

    private func execute(_ statement: Statement, in scope: Scope) throws(ChatTemplateError) -> Flow {
        let line = statement.line
        switch statement.kind {
        case .output(let text):
            try write(text)
        case .print(let expression):
            let value = try evaluate(expression, in: scope)
            try write(try printable(value, line: expression.line))
        case .conditional(let branches, let otherwise):
            for (test, body) in branches where try evaluate(test, in: scope).truthy {
                return try execute(body, in: scope)
            }
            return try execute(otherwise, in: scope)
        case .loop(let target, let iterable, let filter, let body, let otherwise):
            return try runLoop(target: target, iterable: iterable, filter: filter, body: body, otherwise: otherwise, in: scope, line: line)
        case .assign(let target, let expression):
            try assign(target, try evaluate(expression, in: scope), in: scope, line: line)
        case .assignBlock(let target, let filter, let body):
            var value = TemplateValue.string(try capture(body, in: scope))
            if let filter { value = try applyFilterChain(filter, to: value, in: scope) }
            try assign(target, value, in: scope, line: line)
        case .macro(let name, let parameters, let body):
            scope.variables[name] = .macro(makeMacro(name: name, parameters: parameters, body: body, scope: scope))
        case .callBlock(let call, let parameters, let body):
            guard case .call(let callee, let arguments) = call.kind else { break }
            let caller = makeMacro(name: "caller", parameters: parameters, body: body, scope: scope)
            caller.isCallerBlock = true
            let function = try evaluate(callee, in: scope)
            let value = try invoke(function, arguments: try evaluateArguments(arguments, in: scope), caller: caller, in: scope, line: call.line)
            try write(try printable(value, line: line))
        case .filterBlock(let filter, let body):
            let text = TemplateValue.string(try capture(body, in: scope))
            try write(try printable(try applyFilterChain(filter, to: text, in: scope), line: line))
        case .with(let assignments, let body):
            let inner = Scope(parent: scope)
            for (target, expression) in assignments {
                try assign(target, try evaluate(expression, in: scope), in: inner, line: line)
            }
            return try execute(body, in: inner)
        case .breakLoop: return .breakLoop
        case .continueLoop: return .continueLoop
        case .generation(let body):
            try write(try capture(body, in: scope))
        }
        return .normal
    }

    /// `{% set %}` targets: names, tuples (unpacked as Python does) and namespace attributes.
    private func assign(_ target: AssignTarget, _ value: TemplateValue, in scope: Scope, line: Int) throws(ChatTemplateError) {
        switch target {
        case .name(let name):
            scope.variables[name] = value
        case .tuple(let targets):
            guard let items = value.iterated() else {
                throw TemplateOperators.typeError("cannot unpack non-iterable \(value.typeName) object", line)
            }
            if items.count < targets.count {
                throw .raised(pythonType: "ValueError", message: "not enough values to unpack (expected \(targets.count), got \(items.count))", line: line)
            }
            if items.count > targets.count {
                throw .raised(pythonType: "ValueError", message: "too many values to unpack (expected \(targets.count))", line: line)
            }
            for (t, v) in zip(targets, items) { try assign(t, v, in: scope, line: line) }
        case .namespaceAttribute(let name, let attribute):
            guard case .namespace(let ns) = scope.lookup(name) ?? .undefined(UndefinedValue(name: name)) else {
                throw .raised(pythonType: "TemplateRuntimeError", message: "cannot assign attribute on non-namespace object", line: line)
            }
            try Self.checkNamespaceName(attribute, line: line)
            ns.attributes[attribute] = value
        }
    }

    static func checkNamespaceName(_ name: String, line: Int) throws(ChatTemplateError) {
        if name.hasPrefix("_") {
            throw .raised(pythonType: "SecurityError", message: "Chat templates cannot store underscore-prefixed attributes on a namespace, but got \(PythonString.repr(name)). Please rename the attribute.", line: line)
        }
    }

    private func runLoop(target: AssignTarget, iterable: Expression, filter: Expression?, body: [Statement],
                         otherwise: [Statement], in scope: Scope, line: Int) throws(ChatTemplateError) -> Flow {
        let source = try evaluate(iterable, in: scope)
        guard var items = source.iterated() else {
            throw TemplateOperators.typeError("'\(source.typeName)' object is not iterable", iterable.line)
        }
        if let filter {
            var kept: [TemplateValue] = []
            for item in items {
                try step()
                let frame = Scope(parent: scope)
                try assign(target, item, in: frame, line: line)
                if try evaluate(filter, in: frame).truthy { kept.append(item) }
            }
            items = kept
        }
        let outerLoop = scope.lookup("loop")
        var depth0 = 0
        if case .loop = outerLoop { depth0 = 0 }
        let loop = LoopState(items: items, depth0: depth0)
        for (index, item) in items.enumerated() {
            try step()
            loop.index0 = index
            let frame = Scope(parent: scope)
            frame.variables["loop"] = .loop(loop)
            try assign(target, item, in: frame, line: line)
            if try execute(body, in: frame) == .breakLoop { break }
        }
        if items.isEmpty { return try execute(otherwise, in: Scope(parent: scope)) }
        return .normal
    }

    private func makeMacro(name: String, parameters: [MacroParameter], body: [Statement], scope: Scope) -> TemplateMacro {
        let names = Set(body.flatMap(\.referencedNames))
        return TemplateMacro(name: name, parameters: parameters, body: body, scope: scope,
                             usesVarargs: names.contains("varargs"), usesKwargs: names.contains("kwargs"),
                             usesCaller: names.contains("caller"))
    }

    // MARK: expressions

    func printable(_ value: TemplateValue, line: Int) throws(ChatTemplateError) -> String {
        guard let text = value.pythonStr else {
            throw .unsupported(feature: "printing a \(value.typeName) (Python prints its memory address)", line: line)
        }
        return text
    }

    func evaluate(_ expression: Expression, in scope: Scope) throws(ChatTemplateError) -> TemplateValue {
        try step()
        let line = expression.line
        switch expression.kind {
        case .literal(let value): return value
        case .name(let name):
            if let value = scope.lookup(name) { return value }
            if TemplateGlobals.names.contains(name) { return .function(name) }
            return .undefined(UndefinedValue(name: name))
        case .list(let items):
            var values: [TemplateValue] = []
            for item in items { values.append(try evaluate(item, in: scope)) }
            return .list(values)
        case .tuple(let items):
            var values: [TemplateValue] = []
            for item in items { values.append(try evaluate(item, in: scope)) }
            return .tuple(values)
        case .dict(let pairs):
            var dict = TemplateDict()
            for (k, v) in pairs {
                let key = try evaluate(k, in: scope)
                try Self.checkHashable(key, line: k.line)
                dict[key] = try evaluate(v, in: scope)
            }
            return .dict(dict)
        case .attribute(let base, let name):
            return try TemplateAccess.attribute(try evaluate(base, in: scope), name, line: line)
        case .item(let base, let index):
            return try TemplateAccess.item(try evaluate(base, in: scope), try evaluate(index, in: scope), line: line)
        case .slice(let base, let start, let stop, let step):
            let value = try evaluate(base, in: scope)
            return try TemplateAccess.slice(value, start: try start.map { e throws(ChatTemplateError) in try evaluate(e, in: scope) },
                                            stop: try stop.map { e throws(ChatTemplateError) in try evaluate(e, in: scope) },
                                            step: try step.map { e throws(ChatTemplateError) in try evaluate(e, in: scope) }, line: line)
        case .call(let callee, let arguments):
            let function = try evaluate(callee, in: scope)
            return try invoke(function, arguments: try evaluateArguments(arguments, in: scope), caller: nil, in: scope, line: line)
        case .filter(let operand, let name, let arguments, let soft):
            guard let operand else { throw .syntax(message: "filter without operand", line: line) }
            let value = try evaluate(operand, in: scope)
            return try applyFilter(name, soft: soft, value, try evaluateArguments(arguments, in: scope), in: scope, line: line)
        case .test(let subject, let name, let arguments, let soft):
            let value = try evaluate(subject, in: scope)
            return .bool(try TemplateTests.apply(name, soft: soft, value, try evaluateArguments(arguments, in: scope), interpreter: self, scope: scope, line: line))
        case .negate(let operand):
            let value = try evaluate(operand, in: scope)
            switch value {
            case .int(let i):
                guard i != Int.min else { throw TemplateOperators.overflow(line) }
                return .int(-i)
            case .bool(let b): return .int(b ? -1 : 0)
            case .float(let d): return .float(-d)
            case .undefined(let u): throw TemplateOperators.undefinedError(u, line)
            default: throw TemplateOperators.typeError("bad operand type for unary -: '\(value.typeName)'", line)
            }
        case .plus(let operand):
            let value = try evaluate(operand, in: scope)
            switch value {
            case .int, .float: return value
            case .bool(let b): return .int(b ? 1 : 0)
            case .undefined(let u): throw TemplateOperators.undefinedError(u, line)
            default: throw TemplateOperators.typeError("bad operand type for unary +: '\(value.typeName)'", line)
            }
        case .not(let operand):
            return .bool(!(try evaluate(operand, in: scope).truthy))
        case .and(let left, let right):
            let l = try evaluate(left, in: scope)
            return l.truthy ? try evaluate(right, in: scope) : l
        case .or(let left, let right):
            let l = try evaluate(left, in: scope)
            return l.truthy ? l : try evaluate(right, in: scope)
        case .binary(let op, let left, let right):
            let l = try evaluate(left, in: scope)
            let r = try evaluate(right, in: scope)
            if op == "%", case .string = l { throw .unsupported(feature: "printf-style '%' string formatting", line: line) }
            return try TemplateOperators.binary(op, l, r, line: line)
        case .compare(let first, let operations):
            var left = try evaluate(first, in: scope)
            for (op, operand) in operations {
                let right = try evaluate(operand, in: scope)
                let result: Bool
                switch op {
                case "in": result = try TemplateOperators.contains(right, left, line: line)
                case "notin": result = !(try TemplateOperators.contains(right, left, line: line))
                default: result = try TemplateOperators.compare(op, left, right, line: line)
                }
                if !result { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .concat(let parts):
            var text = ""
            for part in parts { text += try printable(try evaluate(part, in: scope), line: part.line) }
            return .string(text)
        case .conditional(let test, let then, let otherwise):
            if try evaluate(test, in: scope).truthy { return try evaluate(then, in: scope) }
            if let otherwise { return try evaluate(otherwise, in: scope) }
            return .undefined(UndefinedValue(hint: "the inline if-expression on line \(line) evaluated to false and no else section was defined."))
        }
    }

    static func checkHashable(_ key: TemplateValue, line: Int) throws(ChatTemplateError) {
        switch key {
        case .list, .dict, .dictView, .namespace:
            throw TemplateOperators.typeError("unhashable type: '\(key.typeName)'", line)
        default: break
        }
    }

    struct CallArguments {
        var positional: [TemplateValue] = []
        var keywords: [(String, TemplateValue)] = []

        func keyword(_ name: String) -> TemplateValue? { keywords.last { $0.0 == name }?.1 }

        /// The argument at `index` or named `name`, else nil.
        func value(_ index: Int, _ name: String) -> TemplateValue? {
            if index < positional.count { return positional[index] }
            return keyword(name)
        }
    }

    func evaluateArguments(_ arguments: Arguments, in scope: Scope) throws(ChatTemplateError) -> CallArguments {
        var result = CallArguments()
        for e in arguments.positional { result.positional.append(try evaluate(e, in: scope)) }
        for (k, e) in arguments.keywords { result.keywords.append((k, try evaluate(e, in: scope))) }
        if let star = arguments.starArgs {
            let value = try evaluate(star, in: scope)
            guard let items = value.iterated() else {
                throw TemplateOperators.typeError("argument after * must be an iterable, not \(value.typeName)", star.line)
            }
            result.positional += items
        }
        if let star = arguments.starKeywords {
            let value = try evaluate(star, in: scope)
            guard case .dict(let d) = value else {
                throw TemplateOperators.typeError("argument after ** must be a mapping, not \(value.typeName)", star.line)
            }
            for entry in d.entries {
                guard case .string(let k) = entry.key else { throw TemplateOperators.typeError("keywords must be strings", star.line) }
                result.keywords.append((k, entry.value))
            }
        }
        return result
    }

    // MARK: calls

    func invoke(_ function: TemplateValue, arguments: CallArguments, caller: TemplateMacro?, in scope: Scope, line: Int) throws(ChatTemplateError) -> TemplateValue {
        switch function {
        case .undefined(let u): throw TemplateOperators.undefinedError(u, line)
        case .macro(let macro): return try callMacro(macro, arguments: arguments, caller: caller, line: line)
        case .function(let name): return try TemplateGlobals.call(name, arguments, interpreter: self, line: line)
        case .method(let receiver, let name): return try TemplateMethods.call(receiver, name, arguments, interpreter: self, scope: scope, line: line)
        default: throw TemplateOperators.typeError("'\(function.typeName)' object is not callable", line)
        }
    }

    func callMacro(_ macro: TemplateMacro, arguments: CallArguments, caller: TemplateMacro?, line: Int) throws(ChatTemplateError) -> TemplateValue {
        callDepth += 1
        defer { callDepth -= 1 }
        guard callDepth <= limits.maxCallDepth else { throw .callDepthExceeded(limit: limits.maxCallDepth, line: line) }
        let frame = Scope(parent: macro.scope)
        var extra: [TemplateValue] = []
        for (i, value) in arguments.positional.enumerated() {
            if i < macro.parameters.count { frame.variables[macro.parameters[i].name] = value } else { extra.append(value) }
        }
        var kwargs = TemplateDict()
        for (key, value) in arguments.keywords {
            if let parameter = macro.parameters.firstIndex(where: { $0.name == key }) {
                if parameter < arguments.positional.count {
                    throw TemplateOperators.typeError("macro '\(macro.name)' got multiple values for argument '\(key)'", line)
                }
                frame.variables[key] = value
            } else if key == "caller" && macro.usesCaller {
                frame.variables["caller"] = value
            } else {
                kwargs[key] = value
            }
        }
        if !extra.isEmpty && !macro.usesVarargs {
            throw TemplateOperators.typeError("macro '\(macro.name)' takes not more than \(macro.parameters.count) argument(s)", line)
        }
        if kwargs.count > 0 && !macro.usesKwargs {
            throw TemplateOperators.typeError("macro '\(macro.name)' takes no keyword argument '\(kwargs.entries[0].key.pythonStr ?? "")'", line)
        }
        for parameter in macro.parameters where frame.variables[parameter.name] == nil {
            if let defaultValue = parameter.defaultValue {
                frame.variables[parameter.name] = try evaluate(defaultValue, in: frame)
            } else {
                frame.variables[parameter.name] = .undefined(UndefinedValue(name: parameter.name, hint: "parameter '\(parameter.name)' was not provided"))
            }
        }
        if macro.usesVarargs { frame.variables["varargs"] = .tuple(extra) }
        if macro.usesKwargs { frame.variables["kwargs"] = .dict(kwargs) }
        if macro.usesCaller && frame.variables["caller"] == nil {
            frame.variables["caller"] = caller.map { .macro($0) } ?? .undefined(UndefinedValue(name: "caller", hint: "No caller defined"))
        }
        buffers.append("")
        defer { buffers.removeLast() }
        _ = try execute(macro.body, in: frame)
        return .string(buffers[buffers.count - 1])
    }

    // MARK: filters

    func applyFilterChain(_ chain: Expression, to value: TemplateValue, in scope: Scope) throws(ChatTemplateError) -> TemplateValue {
        guard case .filter(let operand, let name, let arguments, let soft) = chain.kind else { return value }
        let input = try operand.map { e throws(ChatTemplateError) in try applyFilterChain(e, to: value, in: scope) } ?? value
        return try applyFilter(name, soft: soft, input, try evaluateArguments(arguments, in: scope), in: scope, line: chain.line)
    }

    func applyFilter(_ name: String, soft: Bool, _ value: TemplateValue, _ arguments: CallArguments, in scope: Scope, line: Int) throws(ChatTemplateError) -> TemplateValue {
        guard TemplateParser.builtinFilters.contains(name) else {
            throw .raised(pythonType: "TemplateRuntimeError", message: "No filter named '\(name)' found.", line: line)
        }
        return try TemplateFilters.apply(name, value, arguments, interpreter: self, scope: scope, line: line)
    }
}

extension Statement {
    /// Every variable name the statement reads, in any nested expression or body.
    var referencedNames: [String] {
        var names: [String] = []
        func visit(_ e: Expression?) {
            guard let e else { return }
            switch e.kind {
            case .literal: break
            case .name(let n): names.append(n)
            case .list(let items), .tuple(let items), .concat(let items): items.forEach(visit)
            case .dict(let pairs): pairs.forEach { visit($0.0); visit($0.1) }
            case .attribute(let b, _): visit(b)
            case .item(let b, let i): visit(b); visit(i)
            case .slice(let b, let s, let t, let p): visit(b); visit(s); visit(t); visit(p)
            case .call(let c, let a): visit(c); visitArguments(a)
            case .filter(let o, _, let a, _): visit(o); visitArguments(a)
            case .test(let s, _, let a, _): visit(s); visitArguments(a)
            case .negate(let o), .plus(let o), .not(let o): visit(o)
            case .and(let l, let r), .or(let l, let r), .binary(_, let l, let r): visit(l); visit(r)
            case .compare(let f, let ops): visit(f); ops.forEach { visit($0.1) }
            case .conditional(let t, let a, let b): visit(t); visit(a); visit(b)
            }
        }
        func visitArguments(_ a: Arguments) {
            a.positional.forEach(visit)
            a.keywords.forEach { visit($0.1) }
            visit(a.starArgs)
            visit(a.starKeywords)
        }
        func visitBody(_ body: [Statement]) { for s in body { names += s.referencedNames } }
        switch kind {
        case .output, .breakLoop, .continueLoop: break
        case .print(let e): visit(e)
        case .conditional(let branches, let otherwise):
            for (t, b) in branches { visit(t); visitBody(b) }
            visitBody(otherwise)
        case .loop(_, let iterable, let filter, let body, let otherwise):
            visit(iterable); visit(filter); visitBody(body); visitBody(otherwise)
        case .assign(_, let e): visit(e)
        case .assignBlock(_, let f, let body): visit(f); visitBody(body)
        case .macro: break
        case .callBlock(let call, _, let body): visit(call); visitBody(body)
        case .filterBlock(let f, let body): visit(f); visitBody(body)
        case .with(let assignments, let body): assignments.forEach { visit($0.1) }; visitBody(body)
        case .generation(let body): visitBody(body)
        }
        return names
    }
}
