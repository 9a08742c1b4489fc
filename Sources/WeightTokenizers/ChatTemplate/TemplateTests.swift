/// jinja2's built-in tests (`is defined`, `is string`, `is mapping`, ...).
enum TemplateTests {
    static func apply(_ name: String, soft: Bool, _ value: TemplateValue, _ args: TemplateInterpreter.CallArguments,
                      interpreter: TemplateInterpreter, scope: Scope, line: Int) throws(ChatTemplateError) -> Bool {
        guard TemplateParser.builtinTests.contains(name) else {
            throw .raised(pythonType: "TemplateRuntimeError", message: "No test named '\(name)' found.", line: line)
        }
        let other = args.value(0, "other") ?? args.positional.first ?? .none
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": return value.isNone
        case "boolean": if case .bool = value { return true }; return false
        case "true": if case .bool(true) = value { return true }; return false
        case "false": if case .bool(false) = value { return true }; return false
        case "integer": if case .int = value { return true }; return false
        case "float": if case .float = value { return true }; return false
        case "number": return value.numeric != nil
        case "string":
            switch value { case .string, .markup: return true; default: return false }
        case "mapping": if case .dict = value { return true }; return false
        case "iterable":
            switch value {
            case .undefined, .string, .markup, .list, .tuple, .dict, .dictView, .iterator: return true
            default: return false
            }
        case "sequence":
            switch value {
            case .undefined, .string, .markup, .list, .tuple, .dict: return true
            default: return false
            }
        case "callable":
            switch value {
            case .macro, .function, .method: return true
            case .undefined(let u): return u.isSecurity
            default: return false
            }
        case "escaped": return value.isMarkup
        case "sameas":
            switch (value, other) {
            case (.none, .none): return true
            case (.bool(let a), .bool(let b)): return a == b
            case (.namespace(let a), .namespace(let b)): return a === b
            case (.int(let a), .int(let b)): return a == b && (-5...256).contains(a)
            default: return false
            }
        case "in": return try TemplateOperators.contains(other, value, line: line)
        case "eq", "equalto", "==": return TemplateValue.pythonEquals(value, other)
        case "ne", "!=": return !TemplateValue.pythonEquals(value, other)
        case "lt", "lessthan", "<": return try TemplateOperators.compare("<", value, other, line: line)
        case "le", "<=": return try TemplateOperators.compare("<=", value, other, line: line)
        case "gt", "greaterthan", ">": return try TemplateOperators.compare(">", value, other, line: line)
        case "ge", ">=": return try TemplateOperators.compare(">=", value, other, line: line)
        case "even", "odd":
            let r = try TemplateOperators.binary("%", value, .int(2), line: line)
            return TemplateValue.pythonEquals(r, .int(name == "even" ? 0 : 1))
        case "divisibleby":
            let r = try TemplateOperators.binary("%", value, other, line: line)
            return TemplateValue.pythonEquals(r, .int(0))
        case "lower", "upper":
            guard case .string(let s) = value else { return false }
            let r = try TemplateMethods.stringMethod(s, name == "lower" ? "islower" : "isupper", .init(), interpreter: interpreter, line: line)
            return r.truthy
        case "filter":
            guard case .string(let s) = value else { return false }
            return TemplateParser.builtinFilters.contains(s)
        case "test":
            guard case .string(let s) = value else { return false }
            return TemplateParser.builtinTests.contains(s)
        default:
            throw .unsupported(feature: "the '\(name)' test", line: line)
        }
    }
}
