/// WeightTokenizers: text to token ids and back, and chat templates.
///
/// Tokenizers are built from GGUF metadata (`tokenizer.ggml.*`), a Hugging Face
/// `tokenizer.json` or a SentencePiece `tokenizer.model`; chat templates are rendered by a
/// Jinja engine that behaves as transformers renders them. The target knows no weights and no
/// models: it reads files through WeightFormats and hands out ids and strings.
public enum WeightTokenizers {}
