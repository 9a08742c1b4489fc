import WeightFormats

/// A value a chat template computes with: the Python objects jinja2 hands a template, reduced
/// to what chat templates meet. Lists, tuples and dicts are values (the immutable sandbox
/// refuses every method that would change one in place); namespaces, generators and loop
/// objects are shared references, as in Python.
indirect enum TemplateValue {
    case undefined(UndefinedValue)
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    /// markupsafe's `Markup` (from `|safe` or `|escape`): text that escapes plain strings
    /// concatenated to it with `+`.
    case markup(String)
    case list([TemplateValue])
    case tuple([TemplateValue])
    case dict(TemplateDict)
    /// `dict.keys()`, `.values()`, `.items()`: views that print as `dict_keys([...])`.
    case dictView(DictViewKind, TemplateDict)
    case namespace(TemplateNamespace)
    case macro(TemplateMacro)
    /// A global function (`range`, `namespace`, `raise_exception`, ...).
    case function(String)
    /// A method bound to its receiver, such as `'a,b'.split`.
    case method(TemplateValue, String)
    /// A one-shot iterator (`map`, `select`, `reverse` results): Python's generators.
    case iterator(TemplateIterator)
    case loop(LoopState)

    static func fromJSON(_ json: JSONValue) -> TemplateValue {
        switch json {
        case .null: return .none
        case .bool(let b): return .bool(b)
        case .number(let n):
            if n.isInteger, let i = n.int { return .int(i) }
            return .float(n.double)
        case .string(let s): return .string(s)
        case .array(let a): return .list(a.map(fromJSON))
        case .object(let o):
            var dict = TemplateDict()
            for (key, value) in o { dict[.string(key)] = fromJSON(value) }
            return .dict(dict)
        }
    }
}

enum DictViewKind: String { case keys = "dict_keys", values = "dict_values", items = "dict_items" }

/// jinja2's default `Undefined`: prints as nothing, is false and empty, and raises
/// `UndefinedError` on attribute access, calls and arithmetic.
struct UndefinedValue {
    /// The name looked up (`'x' is undefined`), or nil for a hinted undefined.
    var name: String?
    /// What the name was looked up on, as jinja2's `object_type_repr` spells it.
    var owner: String?
    /// An integer index looked up (`list object has no element 5`).
    var index: TemplateValue?
    var hint: String?
    /// A sandbox refusal: raising it is a `SecurityError`, not an `UndefinedError`.
    var isSecurity = false

    var message: String {
        if let hint { return hint }
        guard let owner else { return "'\(name ?? "")' is undefined" }
        if let index { return "\(owner) has no element \(index.pythonRepr)" }
        return "'\(owner)' has no attribute '\(name ?? "")'"
    }
}

/// A dict with Python's insertion order and key equality (1 == 1.0 == True).
struct TemplateDict {
    private(set) var entries: [(key: TemplateValue, value: TemplateValue)] = []
    private var stringIndex: [String: Int] = [:]

    init() {}

    var count: Int { entries.count }
    var keys: [TemplateValue] { entries.map(\.key) }
    var values: [TemplateValue] { entries.map(\.value) }

    func position(of key: TemplateValue) -> Int? {
        if case .string(let s) = key { return stringIndex[s] }
        return entries.firstIndex { TemplateValue.pythonEquals($0.key, key) }
    }

    subscript(key: TemplateValue) -> TemplateValue? {
        get { position(of: key).map { entries[$0].value } }
        set {
            if let at = position(of: key) {
                if let newValue { entries[at].value = newValue } else {
                    entries.remove(at: at)
                    rebuildIndex()
                }
            } else if let newValue {
                if case .string(let s) = key { stringIndex[s] = entries.count }
                entries.append((key, newValue))
            }
        }
    }

    subscript(key: String) -> TemplateValue? {
        get { self[.string(key)] }
        set { self[.string(key)] = newValue }
    }

    private mutating func rebuildIndex() {
        stringIndex = [:]
        for (i, entry) in entries.enumerated() { if case .string(let s) = entry.key { stringIndex[s] = i } }
    }
}

/// `namespace(...)`: the one mutable object a template can make.
final class TemplateNamespace {
    var attributes = TemplateDict()
}

final class TemplateMacro {
    let name: String
    let parameters: [MacroParameter]
    let body: [Statement]
    let scope: Scope
    let usesVarargs: Bool
    let usesKwargs: Bool
    let usesCaller: Bool
    /// The `caller` a `{% call %}` block hands the macro it calls.
    var isCallerBlock = false

    init(name: String, parameters: [MacroParameter], body: [Statement], scope: Scope,
         usesVarargs: Bool, usesKwargs: Bool, usesCaller: Bool) {
        self.name = name
        self.parameters = parameters
        self.body = body
        self.scope = scope
        self.usesVarargs = usesVarargs
        self.usesKwargs = usesKwargs
        self.usesCaller = usesCaller
    }
}

final class TemplateIterator {
    let typeName: String
    private let elements: [TemplateValue]
    private var position = 0

    init(_ elements: [TemplateValue], typeName: String = "generator") {
        self.elements = elements
        self.typeName = typeName
    }

    /// The elements not yet consumed; consumes them.
    func drain() -> [TemplateValue] {
        defer { position = elements.count }
        return Array(elements[position...])
    }

    func next() -> TemplateValue? {
        guard position < elements.count else { return nil }
        defer { position += 1 }
        return elements[position]
    }
}

/// jinja2's `LoopContext` for one `for` loop.
final class LoopState {
    let items: [TemplateValue]
    var index0 = 0
    let depth0: Int
    var lastChanged: [TemplateValue]?

    init(items: [TemplateValue], depth0: Int) {
        self.items = items
        self.depth0 = depth0
    }
}

extension TemplateValue {
    /// Python's type name, as error messages spell it.
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .markup: return "Markup"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .dictView(let kind, _): return kind.rawValue
        case .namespace: return "TemplateNamespace"
        case .macro: return "Macro"
        case .function: return "function"
        case .method: return "builtin_function_or_method"
        case .iterator(let it): return it.typeName
        case .loop: return "LoopContext"
        }
    }

    /// jinja2's `object_type_repr`: how an undefined's message names the object looked into.
    var objectTypeRepr: String {
        switch self {
        case .none: return "None"
        case .namespace: return "transformers.utils.chat_template_utils.TemplateNamespace object"
        case .macro: return "jinja2.runtime.Macro object"
        case .loop: return "jinja2.runtime.LoopContext object"
        case .markup: return "markupsafe.Markup object"
        default: return "\(typeName) object"
        }
    }

    var isMarkup: Bool { if case .markup = self { return true }; return false }
    var isUndefined: Bool { if case .undefined = self { return true }; return false }
    var isNone: Bool { if case .none = self { return true }; return false }

    /// A Markup as the plain str it compares, hashes and iterates as.
    var unmarked: TemplateValue { if case .markup(let s) = self { return .string(s) }; return self }

    /// Python truthiness.
    var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .float(let d): return d != 0
        case .string(let s), .markup(let s): return !s.isEmpty
        case .list(let a), .tuple(let a): return !a.isEmpty
        case .dict(let d), .dictView(_, let d): return d.count > 0
        case .namespace, .macro, .function, .method, .iterator, .loop: return true
        }
    }

    /// A number's value as a Double, with bools as 0 and 1.
    var numeric: Double? {
        switch self {
        case .bool(let b): return b ? 1 : 0
        case .int(let i): return Double(i)
        case .float(let d): return d
        default: return nil
        }
    }

    /// An integer's value, with bools as 0 and 1.
    var integer: Int? {
        switch self {
        case .bool(let b): return b ? 1 : 0
        case .int(let i): return i
        default: return nil
        }
    }

    /// Python `==`.
    static func pythonEquals(_ a: TemplateValue, _ b: TemplateValue) -> Bool {
        if case .markup(let x) = a { return pythonEquals(.string(x), b) }
        if case .markup(let y) = b { return pythonEquals(a, .string(y)) }
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let x), .string(let y)): return x.unicodeScalars.elementsEqual(y.unicodeScalars)
        case (.list(let x), .list(let y)), (.tuple(let x), .tuple(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { pythonEquals($0, $1) }
        case (.dict(let x), .dict(let y)):
            return x.count == y.count && x.entries.allSatisfy { entry in
                y[entry.key].map { pythonEquals($0, entry.value) } ?? false
            }
        case (.namespace(let x), .namespace(let y)): return x === y
        case (.macro(let x), .macro(let y)): return x === y
        case (.iterator(let x), .iterator(let y)): return x === y
        case (.loop(let x), .loop(let y)): return x === y
        case (.function(let x), .function(let y)): return x == y
        default:
            if let x = a.integer, let y = b.integer { return x == y }
            if let x = a.numeric, let y = b.numeric { return x == y }
            return false
        }
    }

    /// The elements a `for` loop, `list` or `join` sees, or nil when the value is not iterable.
    func iterated() -> [TemplateValue]? {
        switch self {
        case .undefined: return []
        case .string(let s), .markup(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .list(let a), .tuple(let a): return a
        case .dict(let d): return d.keys
        case .dictView(let kind, let d):
            switch kind {
            case .keys: return d.keys
            case .values: return d.values
            case .items: return d.entries.map { .tuple([$0.key, $0.value]) }
            }
        case .iterator(let it): return it.drain()
        default: return nil
        }
    }
}
