/// The parsed form of a template: jinja2's node types, reduced to what chat templates use.
struct Expression {
    indirect enum Kind {
        case literal(TemplateValue)
        case name(String)
        case list([Expression])
        case tuple([Expression])
        case dict([(Expression, Expression)])
        case attribute(Expression, String)
        case item(Expression, Expression)
        case slice(Expression, start: Expression?, stop: Expression?, step: Expression?)
        case call(Expression, Arguments)
        /// A filter; a nil operand is a `{% filter %}` block's or a `{% set %}` block's body.
        case filter(Expression?, String, Arguments, soft: Bool)
        case test(Expression, String, Arguments, soft: Bool)
        case negate(Expression)
        case plus(Expression)
        case not(Expression)
        case and(Expression, Expression)
        case or(Expression, Expression)
        case binary(String, Expression, Expression)
        case compare(Expression, [(String, Expression)])
        case concat([Expression])
        case conditional(test: Expression, then: Expression, otherwise: Expression?)
    }

    var kind: Kind
    var line: Int
}

struct Arguments {
    var positional: [Expression] = []
    var keywords: [(String, Expression)] = []
    var starArgs: Expression?
    var starKeywords: Expression?
}

indirect enum AssignTarget {
    case name(String)
    case tuple([AssignTarget])
    case namespaceAttribute(String, String)
}

struct MacroParameter {
    var name: String
    var defaultValue: Expression?
}

struct Statement {
    indirect enum Kind {
        case output(String)
        case print(Expression)
        case conditional([(Expression, [Statement])], otherwise: [Statement])
        case loop(target: AssignTarget, iterable: Expression, filter: Expression?, body: [Statement], otherwise: [Statement])
        case assign(AssignTarget, Expression)
        case assignBlock(AssignTarget, filter: Expression?, body: [Statement])
        case macro(name: String, parameters: [MacroParameter], body: [Statement])
        case callBlock(call: Expression, parameters: [MacroParameter], body: [Statement])
        case filterBlock(Expression, body: [Statement])
        case with([(AssignTarget, Expression)], body: [Statement])
        case breakLoop
        case continueLoop
        case generation([Statement])
    }

    var kind: Kind
    var line: Int
}
