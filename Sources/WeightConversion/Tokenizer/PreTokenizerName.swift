import WeightFormats

/// llama.cpp's name for a byte-level BPE pre-tokenizer (`tokenizer.ggml.pre`).
///
/// llama.cpp's converter runs the Hugging Face tokenizer on a test text and looks the hash of
/// the token ids up in a table (`get_vocab_base_pre`); the hash depends on the whole
/// vocabulary, which WeightKit cannot run. WeightKit instead recognises the pre-tokenizer's own
/// description in tokenizer.json: the split regex and the ByteLevel step. The patterns below
/// are the ones those models' tokenizer.json files carry; the fixture script checks each
/// against llama.cpp's hash on the real vocabularies. Anything else is "default" and reported.
enum PreTokenizerName {
    /// GPT-2's pattern, which ByteLevel applies itself when `use_regex` is true.
    static let gpt2 = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    /// Split patterns followed by ByteLevel(use_regex: false), and llama.cpp's names for them.
    static let splitPatterns: [(pattern: String, name: String)] = [
        (#"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#, "qwen2"),
        (#"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#, "llama-bpe"),
    ]

    /// The name, or nil when the pre-tokenizer is not one WeightKit recognises.
    static func name(for preTokenizer: JSONValue?) -> String? {
        guard let object = preTokenizer?.objectValue else { return nil }
        switch object["type"]?.stringValue {
        case "ByteLevel":
            return object["use_regex"]?.boolValue ?? true ? "gpt-2" : nil
        case "Sequence":
            let steps = object["pretokenizers"]?.arrayValue?.compactMap(\.objectValue) ?? []
            guard steps.count == 2, steps[0]["type"]?.stringValue == "Split",
                  steps[1]["type"]?.stringValue == "ByteLevel", steps[1]["use_regex"]?.boolValue == false,
                  let pattern = steps[0]["pattern"]?["Regex"]?.stringValue
            else { return nil }
            return splitPatterns.first { $0.pattern == pattern }?.name
        default:
            return nil
        }
    }
}
