/// llama.cpp's token types (`llama_token_type`, gguf-py `TokenType`), stored in
/// `tokenizer.ggml.token_type`.
enum TokenType: Int32 {
    case normal = 1
    case unknown = 2
    case control = 3
    case userDefined = 4
    case unused = 5
    case byte = 6
}
