import WeightFormats

/// A BERT `vocab.txt` as the tokenizer.json document transformers builds from it (its
/// `BertTokenizer`, which the `BertConverter` of convert_slow_tokenizer.py describes):
///
/// - the vocabulary: one token per line, the id its line number (a line's final `\n` removed; a
///   token listed twice keeps its last line);
/// - `BertNormalizer(clean_text: true, handle_chinese_chars: tokenize_chinese_chars,
///   strip_accents:, lowercase: do_lower_case)` from tokenizer_config.json (defaults true, null,
///   true), then `BertPreTokenizer`, `WordPiece` with `##` continuations and the unknown token,
///   the `[CLS] $A [SEP]` template and the WordPiece decoder;
/// - the special tokens tokenizer_config.json names (`[UNK]`, `[SEP]`, `[PAD]`, `[CLS]`, `[MASK]`
///   by default) as special added tokens.
enum BertVocabularyFile {
    static func document(vocabulary file: String, directory: String) throws -> JSONValue {
        let bytes = try FileSystem.readFile(file)
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        var vocabulary = JSONObject()
        var ids: [String: Int] = [:]
        for (id, line) in lines.enumerated() {
            guard let token = String(validating: line, as: UTF8.self) else {
                throw TokenizerError.notATokenizer(path: file, reason: "line \(id + 1) is not valid UTF-8")
            }
            // A token listed twice keeps its last line, as transformers' load_vocab does.
            ids[token] = id
            vocabulary[token] = .int(id)
        }
        guard !ids.isEmpty else { throw TokenizerError.notATokenizer(path: file, reason: "the vocabulary is empty") }
        let config = try HFTokenizer.readJSON(PathName.join(directory, "tokenizer_config.json"))?.objectValue
        func token(_ role: String, _ fallback: String) -> String {
            config?["\(role)_token"]?.stringValue ?? config?["\(role)_token"]?["content"]?.stringValue ?? fallback
        }
        let unk = token("unk", "[UNK]"), sep = token("sep", "[SEP]"), pad = token("pad", "[PAD]")
        let cls = token("cls", "[CLS]"), mask = token("mask", "[MASK]")
        let lowercase = config?["do_lower_case"]?.boolValue ?? true
        let chinese = config?["tokenize_chinese_chars"]?.boolValue ?? true
        let accents: JSONValue = config?["strip_accents"]?.boolValue.map { .bool($0) } ?? .null
        var added: [JSONValue] = []
        for text in [pad, unk, cls, sep, mask] {
            guard let id = ids[text] else { continue }
            added.append(.object(JSONObject([
                ("id", .int(id)), ("content", .string(text)), ("single_word", .bool(false)), ("lstrip", .bool(false)),
                ("rstrip", .bool(false)), ("normalized", .bool(false)), ("special", .bool(true)),
            ])))
        }
        func special(_ text: String, _ type: Int) -> JSONValue {
            .object(JSONObject([("SpecialToken", .object(JSONObject([("id", .string(text)), ("type_id", .int(type))])))]))
        }
        func sequence(_ name: String, _ type: Int) -> JSONValue {
            .object(JSONObject([("Sequence", .object(JSONObject([("id", .string(name)), ("type_id", .int(type))])))]))
        }
        var specials: [(String, JSONValue)] = []
        for text in [cls, sep] where !specials.contains(where: { $0.0 == text }) {
            guard let id = ids[text] else {
                throw TokenizerError.notATokenizer(path: file, reason: "the vocabulary has no '\(text)' token")
            }
            specials.append((text, .object(JSONObject([("id", .string(text)), ("ids", .array([.int(id)])), ("tokens", .array([.string(text)]))]))))
        }
        return .object(JSONObject([
            ("added_tokens", .array(added)),
            ("normalizer", .object(JSONObject([
                ("type", .string("BertNormalizer")), ("clean_text", .bool(true)), ("handle_chinese_chars", .bool(chinese)),
                ("strip_accents", accents), ("lowercase", .bool(lowercase)),
            ]))),
            ("pre_tokenizer", .object(JSONObject([("type", .string("BertPreTokenizer"))]))),
            ("post_processor", .object(JSONObject([
                ("type", .string("TemplateProcessing")),
                ("single", .array([special(cls, 0), sequence("A", 0), special(sep, 0)])),
                ("pair", .array([special(cls, 0), sequence("A", 0), special(sep, 0), sequence("B", 1), special(sep, 1)])),
                ("special_tokens", .object(JSONObject(specials))),
            ]))),
            ("decoder", .object(JSONObject([("type", .string("WordPiece")), ("prefix", .string("##")), ("cleanup", .bool(true))]))),
            ("model", .object(JSONObject([
                ("type", .string("WordPiece")), ("unk_token", .string(unk)), ("continuing_subword_prefix", .string("##")),
                ("max_input_chars_per_word", .int(100)), ("vocab", .object(vocabulary)),
            ]))),
        ]))
    }
}
