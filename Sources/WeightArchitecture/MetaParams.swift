import WeightFormats

/// Reads Meta's `params.json` (the LLaMA reference code's `ModelArgs`, and the multi-token
/// prediction models' `n_future_tokens`).
public enum MetaParams {
    /// The feed-forward width of Meta's `FeedForward`: two thirds of 4·dim, times
    /// `ffn_dim_multiplier` when given, rounded up to a multiple of `multiple_of`.
    public static func feedForwardLength(dim: Int, multipleOf: Int, multiplier: Double?) -> Int {
        var hidden = 4 * dim
        hidden = 2 * hidden / 3
        if let multiplier { hidden = Int(multiplier * Double(hidden)) }
        return multipleOf * ((hidden + multipleOf - 1) / multipleOf)
    }

    public static func parse(_ json: JSONValue, file: String, origin: ModelArchitecture.Origin? = nil) throws -> ModelArchitecture {
        let params = try ConfigReader(json, file: file)
        let dim = try params.int("dim")
        let heads = try params.int("n_heads")
        let layers = try params.int("n_layers")
        let futureTokens = try params.int("n_future_tokens", 1)
        guard heads > 0, dim % heads == 0 else {
            throw ArchitectureError.invalidValue(file: file, key: "n_heads", reason: "must divide dim (\(dim))")
        }
        guard futureTokens >= 1, futureTokens <= layers else {
            throw ArchitectureError.invalidValue(file: file, key: "n_future_tokens", reason: "must be between 1 and n_layers (\(layers))")
        }
        let multipleOf = try params.int("multiple_of", 256)
        guard multipleOf > 0 else { throw ArchitectureError.invalidValue(file: file, key: "multiple_of", reason: "must be positive") }
        let headDimension = dim / heads
        var vocabulary = try params.int("vocab_size", -1)
        if vocabulary <= 0 {
            throw ArchitectureError.invalidValue(file: file, key: "vocab_size", reason: "must be set to the tokenizer's size")
        }
        vocabulary = max(vocabulary, 1)
        let text = TextStack(
            vocabularySize: vocabulary, hiddenSize: dim, layerCount: layers, headCount: heads,
            kvHeadCount: try params.int("n_kv_heads", heads), keyLength: headDimension, valueLength: headDimension,
            feedForwardLength: feedForwardLength(dim: dim, multipleOf: multipleOf, multiplier: try params.optionalDouble("ffn_dim_multiplier")),
            contextLength: try params.int("max_seq_len", 2048), normEpsilon: try params.double("norm_eps", 1e-5),
            positions: .rotary(RotaryEmbedding(theta: try params.double("rope_theta", 10000), dimensions: headDimension, layout: .interleaved)),
            futureTokens: futureTokens)
        return ModelArchitecture(modelType: "meta_mtp", text: text, origin: origin ?? .metaParams(path: file))
    }
}
