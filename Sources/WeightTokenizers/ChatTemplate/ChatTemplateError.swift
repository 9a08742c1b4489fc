/// Why a chat template could not be parsed or rendered.
///
/// Where jinja2 (as transformers configures it) refuses a template or raises while rendering,
/// `message` is the text Python's exception carries and `pythonType` its type name; the line is
/// the template line the failure is on.
public enum ChatTemplateError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The template's text is not a template jinja2 compiles (`TemplateSyntaxError`, or
    /// `TemplateAssertionError` for an unknown filter or test).
    case syntax(message: String, line: Int, pythonType: String = "TemplateSyntaxError")
    /// Rendering raised: `raise_exception` (`TemplateError`), an undefined value used
    /// (`UndefinedError`), a sandbox refusal (`SecurityError`), a Python `TypeError`, ...
    case raised(pythonType: String, message: String, line: Int)
    /// A template feature this engine does not implement, named, with its line.
    case unsupported(feature: String, line: Int)
    /// The render took more than `limit` evaluation steps (a template that loops forever).
    case stepLimitExceeded(limit: Int)
    /// The rendered text grew past `limit` bytes.
    case outputLimitExceeded(limit: Int)
    /// Macro calls nested deeper than `limit` (Python raises `RecursionError` much later).
    case callDepthExceeded(limit: Int, line: Int)
    /// Brackets or expressions nested deeper than `limit`.
    case nestingTooDeep(limit: Int, line: Int)
    /// The model at `path` has no chat template called `name`; `available` lists the names it has.
    case templateNotFound(path: String, name: String, available: [String])
    /// A file that should hold a chat template holds something else (`key` says where).
    case invalidTemplateFile(path: String, key: String, reason: String)
    /// An argument of the rendering API is unusable; `parameter` names it.
    case invalidArgument(parameter: String, reason: String)

    /// The exception text, as Python's `str(exception)` gives it where jinja2 raises.
    public var message: String {
        switch self {
        case .syntax(let message, _, _), .raised(_, let message, _): return message
        case .unsupported(let feature, _): return "unsupported template feature: \(feature)"
        case .stepLimitExceeded(let limit): return "the template ran more than \(limit) steps (does it loop forever?)"
        case .outputLimitExceeded(let limit): return "the rendered text grew past \(limit) bytes"
        case .callDepthExceeded(let limit, _): return "macro calls nested deeper than \(limit)"
        case .nestingTooDeep(let limit, _): return "template nested deeper than \(limit) levels"
        case .invalidArgument(let parameter, let reason): return "\(parameter): \(reason)"
        case .templateNotFound(let path, let name, let available):
            return "\(path) has no chat template named '\(name)'"
                + (available.isEmpty ? " (it has no chat template)" : " (it has: \(available.joined(separator: ", ")))")
        case .invalidTemplateFile(let path, let key, let reason): return "\(path): \(key): \(reason)"
        }
    }

    /// The Python exception type jinja2 or transformers would raise, where they raise.
    public var pythonType: String? {
        switch self {
        case .syntax(_, _, let type): return type
        case .raised(let type, _, _): return type
        default: return nil
        }
    }

    /// The template line of the failure, where there is one.
    public var line: Int? {
        switch self {
        case .syntax(_, let line, _), .raised(_, _, let line), .unsupported(_, let line),
             .callDepthExceeded(_, let line), .nestingTooDeep(_, let line):
            return line
        default: return nil
        }
    }

    public var description: String {
        let flat = message.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).joined(separator: " ")
        if let line { return "chat template line \(line): \(pythonType.map { "\($0): " } ?? "")\(flat)" }
        return "chat template: \(flat)"
    }
}
