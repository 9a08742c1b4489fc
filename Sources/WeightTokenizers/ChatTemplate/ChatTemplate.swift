import WeightFormats

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A chat template (Jinja), rendered as transformers 5 renders it: jinja2's
/// `ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)` with `loopcontrols`
/// and the `{% generation %}` tag, transformers' `tojson`, `raise_exception`, `strftime_now`,
/// `namespace` and `dict`, message keys whose value is null dropped, and reasoning fields
/// aliased (`reasoning_content`, `thinking`) as `apply_chat_template` does.
///
/// Where jinja2 raises, rendering throws `ChatTemplateError` with the same message; a feature
/// this engine does not implement throws `.unsupported` naming it and its line, never a
/// different text. Rendering is bounded by `limits` (steps, output bytes, macro depth).
public struct ChatTemplate: @unchecked Sendable {
    /// Evaluation steps one render may take (a statement, an expression or a loop iteration each).
    public static let maxSteps = 5_000_000
    /// Bytes the rendered text may reach.
    public static let maxOutputBytes = 64 << 20
    /// Macro calls nested at once.
    public static let maxCallDepth = 100
    /// Bytes of template source accepted.
    public static let maxSourceBytes = 4 << 20

    public struct Limits: Sendable, Equatable {
        public var maxSteps: Int
        public var maxOutputBytes: Int
        public var maxCallDepth: Int

        public init(maxSteps: Int = ChatTemplate.maxSteps, maxOutputBytes: Int = ChatTemplate.maxOutputBytes,
                    maxCallDepth: Int = ChatTemplate.maxCallDepth) {
            self.maxSteps = maxSteps
            self.maxOutputBytes = maxOutputBytes
            self.maxCallDepth = maxCallDepth
        }
    }

    /// The template text as given.
    public let source: String
    /// The parsed statements. Immutable after parsing, and their literals are scalars only, so
    /// a template is safe to share between threads (each render has its own interpreter).
    let body: [Statement]

    /// Variables every render sees unless `variables` overrides them, such as `bos_token` and
    /// `eos_token` (transformers' `special_tokens_map`).
    public var specialTokens: [String: String] = [:]
    /// What `strftime_now` reads; nil means the current local date and time.
    public var date: TemplateDate?
    public var limits = Limits()

    /// Parses a template.
    ///
    /// - Parameter source: the Jinja text.
    /// - Throws: `.syntax` where jinja2 would refuse to compile it (with jinja2's message),
    ///   `.unsupported` for tags this engine does not implement, `.invalidArgument` for a source
    ///   over `maxSourceBytes`.
    public init(_ source: String) throws(ChatTemplateError) {
        guard source.utf8.count <= Self.maxSourceBytes else {
            throw .invalidArgument(parameter: "source", reason: "\(source.utf8.count) bytes is more than the \(Self.maxSourceBytes) a template may have")
        }
        self.source = source
        var lexer = TemplateLexer(source)
        var parser = TemplateParser(tokens: try lexer.tokenize())
        body = try parser.parseTemplate()
    }

    /// Renders a conversation.
    ///
    /// - Parameters:
    ///   - messages: the conversation, a list of JSON objects (`role`, `content` and whatever
    ///     else the template reads, such as `tool_calls`); members whose value is null are
    ///     dropped, as transformers does.
    ///   - addGenerationPrompt: the template's `add_generation_prompt`.
    ///   - variables: further context (`tools`, `documents`, `enable_thinking`, ...), over
    ///     `specialTokens`. `tools` and `documents` are None when absent.
    /// - Returns: the rendered text.
    /// - Throws: `ChatTemplateError`: what the template raised (with jinja2's message), an
    ///   unsupported feature, a limit exceeded, or `.invalidArgument` naming `messages` or
    ///   `variables`.
    public func render(messages: [JSONValue], addGenerationPrompt: Bool = true,
                       variables: [String: JSONValue] = [:]) throws(ChatTemplateError) -> String {
        guard !messages.isEmpty else {
            throw .invalidArgument(parameter: "messages", reason: "Cannot apply chat template to an empty conversation. Provide at least one message.")
        }
        var conversation: [TemplateValue] = []
        for (index, message) in messages.enumerated() {
            guard case .object(let object) = message else {
                throw .invalidArgument(parameter: "messages", reason: "message \(index) is not a JSON object")
            }
            conversation.append(.dict(try Self.normalized(object, index: index)))
        }
        for reserved in ["messages", "add_generation_prompt"] where variables[reserved] != nil {
            throw .invalidArgument(parameter: "variables", reason: "'\(reserved)' is set by the renderer itself")
        }
        let context = Scope(parent: nil)
        for (name, token) in specialTokens { context.variables[name] = .string(token) }
        context.variables["tools"] = TemplateValue.none
        context.variables["documents"] = TemplateValue.none
        for (name, value) in variables {
            context.variables[name] = try Self.value(value, parameter: "variables[\(name)]")
        }
        context.variables["messages"] = .list(conversation)
        context.variables["add_generation_prompt"] = .bool(addGenerationPrompt)
        let interpreter = TemplateInterpreter(limits: limits, date: date ?? Self.now())
        return try interpreter.render(body, context: context)
    }

    /// A message as transformers hands it to the template: null members dropped, then
    /// reasoning under its other names (`{"thinking": r, **message, "reasoning_content": r}`).
    static func normalized(_ object: JSONObject, index: Int) throws(ChatTemplateError) -> TemplateDict {
        var dict = TemplateDict()
        for (key, value) in object where !value.isNull {
            dict[key] = try Self.value(value, parameter: "messages[\(index)].\(key)")
        }
        var reasoning: TemplateValue?
        for field in ["reasoning_content", "thinking", "reasoning"] {
            if let r = dict[field], !r.isNone { reasoning = r; break }
        }
        guard let reasoning else { return dict }
        var aliased = TemplateDict()
        aliased["thinking"] = reasoning
        for entry in dict.entries { aliased[entry.key] = entry.value }
        aliased["reasoning_content"] = reasoning
        return aliased
    }

    static func value(_ json: JSONValue, parameter: String) throws(ChatTemplateError) -> TemplateValue {
        switch json {
        case .number(let n) where n.isInteger && n.int == nil:
            throw .invalidArgument(parameter: parameter, reason: "the integer \(n.text) does not fit in 64 bits")
        case .array(let items):
            var values: [TemplateValue] = []
            for item in items { values.append(try Self.value(item, parameter: parameter)) }
            return .list(values)
        case .object(let object):
            var dict = TemplateDict()
            for (key, item) in object { dict[key] = try Self.value(item, parameter: parameter) }
            return .dict(dict)
        default:
            return TemplateValue.fromJSON(json)
        }
    }

    /// The local date and time now.
    static func now() -> TemplateDate {
        var seconds = time(nil)
        var parts = tm()
        guard localtime_r(&seconds, &parts) != nil else { return TemplateDate(year: 1970, month: 1, day: 1) }
        return TemplateDate(year: Int(parts.tm_year) + 1900, month: Int(parts.tm_mon) + 1, day: Int(parts.tm_mday),
                            hour: Int(parts.tm_hour), minute: Int(parts.tm_min), second: Int(parts.tm_sec))
    }
}

extension ChatTemplate {
    /// Renders with exactly `variables` as the context (no messages or defaults): the plain
    /// jinja2 `template.render(**variables)`.
    func renderContext(_ variables: [String: JSONValue]) throws(ChatTemplateError) -> String {
        let context = Scope(parent: nil)
        for (name, value) in variables { context.variables[name] = try Self.value(value, parameter: "variables[\(name)]") }
        let interpreter = TemplateInterpreter(limits: limits, date: date ?? Self.now())
        return try interpreter.render(body, context: context)
    }
}
