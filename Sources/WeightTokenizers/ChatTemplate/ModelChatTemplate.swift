import WeightFormats

/// A model's chat template and the special tokens its context gets, read from a Hugging Face
/// directory or a GGUF file.
///
/// Sources, highest precedence first: `chat_template.jinja` (and
/// `additional_chat_templates/NAME.jinja`), `chat_template.json`, `tokenizer_config.json` (a
/// `chat_template` string, or a list of `{name, template}`), and in a GGUF
/// `tokenizer.chat_template` / `tokenizer.chat_template.NAME`. A lone template is named
/// `default`. The bos/eos tokens come from `tokenizer_config.json` (strings or AddedToken
/// objects, `special_tokens_map.json` filling gaps), or from a GGUF's
/// `tokenizer.ggml.bos_token_id`/`eos_token_id` looked up in `tokenizer.ggml.tokens`.
public struct ModelChatTemplate: Sendable {
    /// The template's text.
    public var source: String
    /// Where it was read: a file name, with the key inside it (`tokenizer_config.json: chat_template`).
    public var origin: String
    /// `bos_token`, `eos_token`, ... as transformers' `special_tokens_map` has them.
    public var specialTokens: [String: String]
    /// Every template name the model has.
    public var availableNames: [String]

    /// The special-token attributes transformers puts in a template's context.
    public static let specialTokenNames = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]

    /// Reads the template named `name` from the model at `path`.
    ///
    /// - Parameters:
    ///   - path: a Hugging Face model directory or a `.gguf` file.
    ///   - name: the template's name (`default` for a model's only or default template).
    /// - Throws: `ChatTemplateError.templateNotFound` listing the names the model has,
    ///   `.invalidTemplateFile` for a malformed file, `FormatError` when a file cannot be read.
    public static func load(path: String, name: String = "default") throws -> ModelChatTemplate {
        var templates: [(name: String, source: String, origin: String)] = []
        var tokens: [String: String] = [:]
        if FileSystem.isDirectory(path) {
            try readDirectory(path, into: &templates, tokens: &tokens)
        } else {
            try readGGUF(path, into: &templates, tokens: &tokens)
        }
        var names: [String] = []
        for t in templates where !names.contains(t.name) { names.append(t.name) }
        guard let chosen = templates.first(where: { $0.name == name }) else {
            throw ChatTemplateError.templateNotFound(path: path, name: name, available: names.sorted())
        }
        return ModelChatTemplate(source: chosen.source, origin: chosen.origin, specialTokens: tokens, availableNames: names.sorted())
    }

    /// A ready `ChatTemplate` with this model's special tokens.
    public func template() throws(ChatTemplateError) -> ChatTemplate {
        var template = try ChatTemplate(source)
        template.specialTokens = specialTokens
        return template
    }

    private static func readText(_ path: String) throws -> String {
        let bytes = try FileSystem.readFile(path, limit: ChatTemplate.maxSourceBytes)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ChatTemplateError.invalidTemplateFile(path: path, key: "(file)", reason: "not UTF-8 text")
        }
        return text
    }

    private static func readDirectory(_ directory: String, into templates: inout [(name: String, source: String, origin: String)],
                                      tokens: inout [String: String]) throws {
        let jinja = PathName.join(directory, "chat_template.jinja")
        if FileSystem.isRegularFile(jinja) { templates.append(("default", try readText(jinja), "chat_template.jinja")) }
        let additional = PathName.join(directory, "additional_chat_templates")
        if FileSystem.isDirectory(additional) {
            for file in try FileSystem.contentsOfDirectory(additional).sorted() where file.hasSuffix(".jinja") {
                templates.append((String(file.dropLast(6)), try readText(PathName.join(additional, file)), "additional_chat_templates/\(file)"))
            }
        }
        for file in ["chat_template.json", "tokenizer_config.json"] {
            let path = PathName.join(directory, file)
            guard FileSystem.isRegularFile(path) else { continue }
            let json = try JSON.parse(FileSystem.readFile(path, limit: 64 << 20))
            if let value = json["chat_template"] { try collect(value, path: path, origin: file, into: &templates) }
            if file == "tokenizer_config.json" { readSpecialTokens(json, into: &tokens) }
        }
        let map = PathName.join(directory, "special_tokens_map.json")
        if FileSystem.isRegularFile(map) {
            var extra: [String: String] = [:]
            readSpecialTokens(try JSON.parse(FileSystem.readFile(map, limit: 64 << 20)), into: &extra)
            for (k, v) in extra where tokens[k] == nil { tokens[k] = v }
        }
    }

    private static func collect(_ value: JSONValue, path: String, origin: String,
                                into templates: inout [(name: String, source: String, origin: String)]) throws {
        switch value {
        case .string(let s): templates.append(("default", s, "\(origin): chat_template"))
        case .array(let entries):
            for (i, entry) in entries.enumerated() {
                guard let name = entry["name"]?.stringValue, let source = entry["template"]?.stringValue else {
                    throw ChatTemplateError.invalidTemplateFile(path: path, key: "chat_template[\(i)]", reason: "expected an object with string 'name' and 'template'")
                }
                templates.append((name, source, "\(origin): chat_template[\(name)]"))
            }
        case .null: break
        default:
            throw ChatTemplateError.invalidTemplateFile(path: path, key: "chat_template", reason: "expected a string or a list of {name, template}")
        }
    }

    private static func readSpecialTokens(_ json: JSONValue, into tokens: inout [String: String]) {
        for name in specialTokenNames {
            switch json[name] {
            case .string(let s)?: tokens[name] = s
            case .object(let o)?: if let content = o["content"]?.stringValue { tokens[name] = content }
            default: break
            }
        }
    }

    private static func readGGUF(_ path: String, into templates: inout [(name: String, source: String, origin: String)],
                                 tokens: inout [String: String]) throws {
        let checkpoint = try Checkpoint.open(path)
        guard let metadata = checkpoint.gguf?.metadata else {
            throw ChatTemplateError.invalidTemplateFile(path: path, key: "(file)", reason: "not a GGUF file or a Hugging Face directory")
        }
        let prefix = "tokenizer.chat_template"
        for entry in metadata {
            guard entry.key == prefix || entry.key.hasPrefix(prefix + ".") else { continue }
            guard let source = entry.value.stringValue else {
                throw ChatTemplateError.invalidTemplateFile(path: path, key: entry.key, reason: "expected a string, found \(entry.value.typeName)")
            }
            let name = entry.key == prefix ? "default" : String(entry.key.dropFirst(prefix.count + 1))
            templates.append((name, source, "GGUF \(entry.key)"))
        }
        if let vocabulary = metadata.array("tokenizer.ggml.tokens") {
            for (name, key) in [("bos_token", "tokenizer.ggml.bos_token_id"), ("eos_token", "tokenizer.ggml.eos_token_id")] {
                guard let id = metadata.int(key) else { continue }
                guard let text = vocabulary.string(at: id) else {
                    throw ChatTemplateError.invalidTemplateFile(path: path, key: key, reason: "token id \(id) is not in tokenizer.ggml.tokens (\(vocabulary.count) tokens)")
                }
                tokens[name] = text.value
            }
        }
    }
}
