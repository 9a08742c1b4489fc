import WeightFormats

/// The Hugging Face tokenizer files of a model directory, parsed: `tokenizer.json`,
/// `tokenizer_config.json`, `config.json`, and a chat template in `chat_template.jinja` or
/// `chat_template.json` when the config has none.
struct TokenizerFiles {
    let directory: String
    let tokenizer: JSONObject
    let config: JSONObject?
    let modelConfig: JSONObject?
    let chatTemplateFile: String?

    /// The SentencePiece model beside them (`tokenizer.model`), if any.
    let sentencePieceModel: String?
    /// Whether the directory has a tokenizer.json (`tokenizer` is empty otherwise).
    let hasTokenizerJSON: Bool

    /// nil when the directory has neither tokenizer.json nor tokenizer.model.
    init?(directory: String) throws {
        self.directory = directory
        let tokenizerPath = PathName.join(directory, "tokenizer.json")
        let modelPath = PathName.join(directory, "tokenizer.model")
        sentencePieceModel = FileSystem.isRegularFile(modelPath) ? modelPath : nil
        hasTokenizerJSON = FileSystem.isRegularFile(tokenizerPath)
        guard hasTokenizerJSON || sentencePieceModel != nil else { return nil }
        if hasTokenizerJSON {
            guard let tokenizer = try Self.object(tokenizerPath) else {
                throw ConversionError.invalidTokenizer(file: tokenizerPath, reason: "not a JSON object")
            }
            self.tokenizer = tokenizer
        } else {
            tokenizer = JSONObject()
        }
        config = try Self.object(PathName.join(directory, "tokenizer_config.json"))
        modelConfig = try Self.object(PathName.join(directory, "config.json"))
        let jinja = PathName.join(directory, "chat_template.jinja")
        if FileSystem.isRegularFile(jinja) {
            chatTemplateFile = String(decoding: try FileSystem.readFile(jinja), as: UTF8.self)
        } else if let json = try Self.object(PathName.join(directory, "chat_template.json")) {
            chatTemplateFile = json["chat_template"]?.stringValue
        } else {
            chatTemplateFile = nil
        }
    }

    var file: String { PathName.join(directory, "tokenizer.json") }
    var model: JSONObject? { tokenizer["model"]?.objectValue }

    /// `added_tokens` as (id, content, special, normalized).
    func addedTokens() throws -> [(id: Int, content: String, special: Bool, normalized: Bool)] {
        try (tokenizer["added_tokens"]?.arrayValue ?? []).map { entry in
            guard let id = entry["id"]?.intValue, let content = entry["content"]?.stringValue else {
                throw ConversionError.invalidTokenizer(file: file, reason: "an added_tokens entry without id or content")
            }
            return (id, content, entry["special"]?.boolValue ?? false, entry["normalized"]?.boolValue ?? true)
        }
    }

    /// The model's `vocab`: token -> id.
    func vocabulary() throws -> [(token: String, id: Int)] {
        guard let vocab = model?["vocab"]?.objectValue else {
            throw ConversionError.invalidTokenizer(file: file, reason: "model.vocab is missing or not an object")
        }
        return try vocab.map { entry in
            guard let id = entry.value.intValue, id >= 0 else {
                throw ConversionError.invalidTokenizer(file: file, reason: "token '\(entry.key)' has no valid id")
            }
            return (entry.key, id)
        }
    }

    /// A `*_token` entry of tokenizer_config.json: a string or `{"content": ...}`.
    func configToken(_ type: String) -> String? {
        guard let entry = config?["\(type)_token"] else { return nil }
        return entry.stringValue ?? entry["content"]?.stringValue
    }

    private static func object(_ path: String) throws -> JSONObject? {
        guard FileSystem.isRegularFile(path) else { return nil }
        do {
            return try JSON.parse(FileSystem.readFile(path)).objectValue
        } catch let error as FormatError {
            throw FormatError.inFile(path, error)
        }
    }
}
