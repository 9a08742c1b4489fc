import WeightFormats

/// Everything that can be wrong with a tokenizer's files or with a request to one.
///
/// Each case names the file or key and what was found; tests match cases, people read
/// `description` (one line). Errors of the underlying file formats (a truncated GGUF, invalid
/// JSON) arrive as `.format`.
public enum TokenizerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A file-format error while reading the tokenizer's files.
    case format(FormatError)
    /// `path` is not a GGUF file, a directory with tokenizer files, a tokenizer.json or a
    /// tokenizer.model.
    case notATokenizer(path: String, reason: String)
    /// A required key or field is absent.
    case missingField(file: String, field: String)
    /// A key or field holds the wrong kind of value.
    case wrongFieldType(file: String, field: String, expected: String, found: String)
    /// `tokenizer.ggml.model` (or a tokenizer.json `model.type`) names a tokenizer WeightKit
    /// does not implement.
    case unsupportedModel(file: String, model: String)
    /// `tokenizer.ggml.pre` is not one of llama.cpp's pre-tokenizer names.
    case unknownPreTokenizer(file: String, name: String)
    /// A tokenizer.json component (normalizer, pre-tokenizer, decoder, post-processor) of a
    /// kind WeightKit does not implement.
    case unsupportedComponent(file: String, component: String, type: String)
    /// Two per-token arrays (tokens, scores, token types) of different lengths.
    case lengthMismatch(file: String, field: String, count: Int, tokens: Int)
    /// The vocabulary is empty.
    case emptyVocabulary(file: String)
    /// A merge is not "left right", or names a token the vocabulary lacks.
    case invalidMerge(file: String, index: Int, merge: String, reason: String)
    /// A token type outside llama.cpp's `llama_token_type`.
    case invalidTokenType(file: String, index: Int, type: Int)
    /// A special token id (or a token id in a file) outside the vocabulary.
    case tokenIDOutOfRange(file: String, field: String, id: Int, vocabularySize: Int)
    /// A regular expression in a pre-tokenizer or normalizer that cannot be compiled.
    case invalidPattern(pattern: String, offset: Int, reason: String)
    /// `precompiled_charsmap` is malformed.
    case invalidCharsMap(file: String, reason: String)
    /// A tokenizer.model protobuf that cannot be read.
    case invalidProtobuf(file: String, offset: Int, reason: String)
    /// Any other inconsistency in a file, in words.
    case invalidFile(file: String, reason: String)
    /// A token id passed to `decode` is outside the vocabulary.
    case unknownTokenID(id: Int, vocabularySize: Int)
    /// A GGUF tokenizer type that has no Hugging Face tokenizer.json form in WeightKit.
    case unsupportedExport(file: String, model: String)

    public var description: String {
        switch self {
        case .format(let error): return error.description
        case .notATokenizer(let path, let reason): return "\(path): not a tokenizer: \(reason)"
        case .missingField(let file, let field): return "\(file): '\(field)' is missing"
        case .wrongFieldType(let file, let field, let expected, let found):
            return "\(file): '\(field)' should be \(expected), found \(found)"
        case .unsupportedModel(let file, let model): return "\(file): tokenizer model '\(model)' is not supported"
        case .unknownPreTokenizer(let file, let name):
            return "\(file): unknown pre-tokenizer '\(name)' (tokenizer.ggml.pre is not one of llama.cpp's names)"
        case .unsupportedComponent(let file, let component, let type):
            return "\(file): \(component) of type '\(type)' is not supported"
        case .lengthMismatch(let file, let field, let count, let tokens):
            return "\(file): '\(field)' has \(count) entries for \(tokens) tokens"
        case .emptyVocabulary(let file): return "\(file): the vocabulary has no tokens"
        case .invalidMerge(let file, let index, let merge, let reason):
            return "\(file): merge \(index) '\(merge)' \(reason)"
        case .invalidTokenType(let file, let index, let type):
            return "\(file): token \(index) has token type \(type), not one of 0...6"
        case .tokenIDOutOfRange(let file, let field, let id, let size):
            return "\(file): '\(field)' is token id \(id), outside the vocabulary of \(size)"
        case .invalidPattern(let pattern, let offset, let reason):
            return "pattern '\(pattern)' at offset \(offset): \(reason)"
        case .invalidCharsMap(let file, let reason): return "\(file): precompiled_charsmap: \(reason)"
        case .invalidProtobuf(let file, let offset, let reason): return "\(file): at byte \(offset): \(reason)"
        case .invalidFile(let file, let reason): return "\(file): \(reason)"
        case .unknownTokenID(let id, let size): return "token id \(id) is outside the vocabulary of \(size)"
        case .unsupportedExport(let file, let model):
            return "\(file): tokenizer model '\(model)' cannot be written as tokenizer.json here (gpt2 and gemma4 BPE, llama, bert and t5 with escaped spaces can)"
        }
    }
}
