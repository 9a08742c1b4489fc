import WeightArchitecture
import WeightCompute
import WeightFormats
import WeightTokenizers

/// How token states become a text's embedding: sentence-transformers' `Pooling` and
/// `Normalize` modules, and its `max_seq_length` truncation.
public struct EmbeddingSetup: Sendable, Equatable {
    public var pooling: Pooling
    /// Whether each embedding is divided by its L2 norm (at least 1e-12, as
    /// `torch.nn.functional.normalize`).
    public var normalize: Bool
    /// Texts are cut to this many tokens, special tokens included (sentence-transformers'
    /// `max_seq_length`); nil: no limit, and a text longer than the position table is an error.
    public var maxSequenceLength: Int?
    /// Texts are lowercased before tokenising (`do_lower_case` in sentence_bert_config.json).
    public var lowercase: Bool

    public init(pooling: Pooling, normalize: Bool, maxSequenceLength: Int? = nil, lowercase: Bool = false) {
        self.pooling = pooling
        self.normalize = normalize
        self.maxSequenceLength = maxSequenceLength
        self.lowercase = lowercase
    }
}

/// Embeddings of a list of texts, in their order.
public struct TextEmbeddings: Sendable {
    public var pooling: Pooling
    public var normalized: Bool
    /// The width of one embedding.
    public var dimension: Int
    /// Each text's token count after truncation (special tokens included).
    public var tokenCounts: [Int]
    /// The indices of the texts that were truncated to `EmbeddingSetup.maxSequenceLength`.
    public var truncated: [Int]
    /// `[N, dim]`, or `[N, T, dim]` without pooling.
    public var shape: [Int]
    /// Row-major values of `shape`.
    public var values: [Float]
}

/// Sentence embeddings with an encoder model and its tokenizer, set up as the model's files say:
///
/// - a sentence-transformers directory: the modules of `modules.json` in order — the
///   `Transformer` (its directory, `sentence_bert_config.json`'s `max_seq_length` and
///   `do_lower_case`), `Pooling` with its `config.json`, and `Normalize` only when listed; any
///   other module (`Dense`...) is refused by name;
/// - a plain Hugging Face BERT directory: mean pooling, no normalisation, no truncation;
/// - a GGUF file: `{arch}.pooling_type` (none without it, as llama.cpp), normalised (as
///   llama-embedding does), no truncation.
///
/// ```swift
/// let embedder = try SentenceEmbedder.load("all-MiniLM-L6-v2")
/// let result = try embedder.embed(["A man is eating food.", "A man is riding a horse."])
/// // result.shape == [2, 384]
/// ```
public final class SentenceEmbedder: @unchecked Sendable {
    public let model: EncoderModel
    public let tokenizer: Tokenizer
    /// What the model's files ask for.
    public let setup: EmbeddingSetup
    public let path: String

    public init(model: EncoderModel, tokenizer: Tokenizer, setup: EmbeddingSetup, path: String) {
        self.model = model
        self.tokenizer = tokenizer
        self.setup = setup
        self.path = path
    }

    /// Loads the model at `path`: a sentence-transformers or Hugging Face directory, or a GGUF file.
    public static func load(_ path: String, context: ComputeContext = ComputeContext()) throws -> SentenceEmbedder {
        if FileSystem.isDirectory(path) {
            let (setup, transformer) = try sentenceTransformersSetup(directory: path)
            let model = try ModelRegistry.loadEncoder(transformer, context: context)
            var resolved = setup
            if resolved.maxSequenceLength == nil, FileSystem.isRegularFile(PathName.join(path, "modules.json")) {
                // sentence-transformers without max_seq_length: min(max_position_embeddings,
                // the tokenizer's model_max_length).
                var limit = model.maxSequenceLength
                if let max = try tokenizerMaxLength(transformer) { limit = min(limit, max) }
                resolved.maxSequenceLength = limit
            }
            return SentenceEmbedder(model: model, tokenizer: try Tokenizer.load(transformer), setup: resolved, path: path)
        }
        let model = try ModelRegistry.loadEncoder(path, context: context)
        // Without the key llama.cpp pools nothing (LLAMA_POOLING_TYPE_NONE): every token's state.
        let setup = EmbeddingSetup(pooling: model.architecture.pooling ?? Pooling.none, normalize: true)
        return SentenceEmbedder(model: model, tokenizer: try Tokenizer.load(path), setup: setup, path: path)
    }

    /// The setup a model directory describes, and the directory of its Transformer module.
    public static func sentenceTransformersSetup(directory: String) throws -> (EmbeddingSetup, transformer: String) {
        let modulesFile = PathName.join(directory, "modules.json")
        guard FileSystem.isRegularFile(modulesFile) else {
            // A plain Hugging Face model: mean pooling, as seed 000 computes it.
            return (EmbeddingSetup(pooling: .mean, normalize: false), directory)
        }
        guard let modules = try readJSON(modulesFile).arrayValue else {
            throw FormatError.inFile(modulesFile, .invalidJSON(offset: 0, reason: "expected a list of modules"))
        }
        var transformer: String?
        var setup = EmbeddingSetup(pooling: .mean, normalize: false)
        var pooled = false
        for (index, module) in modules.enumerated() {
            guard let type = module["type"]?.stringValue, let modulePath = module["path"]?.stringValue else {
                throw ModelError.unsupportedModule(file: modulesFile, module: "[\(index)]", reason: "it has no type or path")
            }
            let kind = type.split(separator: ".").last.map(String.init) ?? type
            let moduleDirectory = modulePath.isEmpty ? directory : PathName.join(directory, modulePath)
            switch kind {
            case "Transformer" where index == 0:
                transformer = moduleDirectory
                let configFile = PathName.join(moduleDirectory, "sentence_bert_config.json")
                if FileSystem.isRegularFile(configFile) {
                    let config = try readJSON(configFile)
                    if let value = config["max_seq_length"], !value.isNull {
                        guard let limit = value.intValue, limit >= 2 else {
                            throw ModelError.unsupportedModule(file: configFile, module: type, reason: "max_seq_length must be an integer of at least 2")
                        }
                        setup.maxSequenceLength = limit
                    }
                    setup.lowercase = config["do_lower_case"]?.boolValue ?? false
                }
            case "Pooling" where transformer != nil && !pooled:
                setup.pooling = try poolingMode(PathName.join(moduleDirectory, "config.json"), type: type)
                pooled = true
            case "Normalize" where pooled:
                setup.normalize = true
            case "Transformer", "Pooling", "Normalize":
                throw ModelError.unsupportedModule(file: modulesFile, module: type,
                                                   reason: "expected Transformer, then Pooling, then optionally Normalize")
            case "Dense":
                throw ModelError.unsupportedModule(file: modulesFile, module: type, reason: "Dense projections are not supported")
            default:
                throw ModelError.unsupportedModule(file: modulesFile, module: type,
                                                   reason: "supported modules are Transformer, Pooling and Normalize")
            }
        }
        guard let transformer else {
            throw ModelError.unsupportedModule(file: modulesFile, module: "Transformer", reason: "modules.json lists no Transformer module first")
        }
        return (setup, transformer)
    }

    /// The pooling mode of a `Pooling` module's config.json: exactly one of CLS, mean and last
    /// token (max, mean-sqrt-len and weighted-mean pooling are refused), prompt included.
    static func poolingMode(_ file: String, type: String) throws -> Pooling {
        let config = try readJSON(file)
        if let mode = config["pooling_mode"]?.stringValue {
            switch mode {
            case "cls": return .cls
            case "mean": return .mean
            case "lasttoken": return .last
            default: throw ModelError.unsupportedModule(file: file, module: type, reason: "pooling_mode '\(mode)' is not supported")
            }
        }
        for key in ["pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens"]
        where config[key]?.boolValue == true {
            throw ModelError.unsupportedModule(file: file, module: type, reason: "\(key) is not supported")
        }
        if config["include_prompt"]?.boolValue == false {
            throw ModelError.unsupportedModule(file: file, module: type, reason: "include_prompt false is not supported")
        }
        let modes: [(String, Pooling)] = [("pooling_mode_cls_token", .cls), ("pooling_mode_mean_tokens", .mean), ("pooling_mode_lasttoken", .last)]
        let chosen = modes.filter { config[$0.0]?.boolValue == true }
        guard chosen.count == 1 else {
            throw ModelError.unsupportedModule(file: file, module: type, reason: "exactly one of CLS, mean and last-token pooling must be set")
        }
        return chosen[0].1
    }

    /// `model_max_length` of tokenizer_config.json, when given.
    static func tokenizerMaxLength(_ directory: String) throws -> Int? {
        let file = PathName.join(directory, "tokenizer_config.json")
        guard FileSystem.isRegularFile(file) else { return nil }
        guard let value = try readJSON(file)["model_max_length"]?.doubleValue, value >= 2, value < Double(Int32.max) else { return nil }
        return Int(value)
    }

    static func readJSON(_ file: String) throws -> JSONValue {
        do {
            return try JSON.parse(FileSystem.readFile(file))
        } catch let error as FormatError {
            throw FormatError.inFile(file, error)
        }
    }

    /// The token ids of each text, cut to `limit` tokens as the Hugging Face tokenizers cut
    /// them: the text's tokens are shortened so that they and the special tokens fit.
    /// - Returns: the ids and whether the text was cut.
    public func tokenize(_ text: String, limit: Int?) -> (ids: [Int], truncated: Bool) {
        let full = tokenizer.encode(text, addSpecial: true)
        guard let limit, full.count > limit else { return (full, false) }
        let body = tokenizer.encode(text, addSpecial: false)
        let specials = full.count - body.count
        // The template wraps the text: [prefix] body [suffix].
        var prefix = 0
        while prefix + body.count <= full.count, Array(full[prefix..<prefix + body.count]) != body { prefix += 1 }
        guard prefix + body.count <= full.count, specials >= 0, limit > specials else {
            return (Array(full.prefix(limit)), true)
        }
        let kept = Array(body.prefix(limit - specials))
        return (Array(full[0..<prefix]) + kept + Array(full[(prefix + body.count)...]), true)
    }

    /// Texts whose token states are computed and pooled together (their passes are
    /// `EncoderModel.tokensPerPass` tokens).
    static let textsPerGroup = 512

    /// The embeddings of `texts`.
    /// - Parameters:
    ///   - pooling: overrides the setup's pooling (`.none`: every token's state, `[N, T, dim]`;
    ///     the texts must then have equal token counts).
    ///   - normalize: overrides the setup's normalisation.
    ///   - prefix: prepended to every text (E5's `"query: "`).
    public func embed(_ texts: [String], pooling: Pooling? = nil, normalize: Bool? = nil, prefix: String = "") throws -> TextEmbeddings {
        let pooling = pooling ?? setup.pooling, normalize = normalize ?? setup.normalize
        let dim = model.hiddenSize
        var sequences: [[Int]] = [], truncated: [Int] = []
        for (index, text) in texts.enumerated() {
            var input = prefix + text
            if setup.lowercase { input = input.lowercased() }
            let (ids, cut) = tokenize(input, limit: setup.maxSequenceLength)
            guard ids.count <= model.maxSequenceLength else {
                throw ModelError.textTooLong(index: index, tokens: ids.count, positions: model.maxSequenceLength)
            }
            guard !ids.isEmpty else { throw ModelError.invalidArgument("texts[\(index)] has no tokens") }
            if cut { truncated.append(index) }
            sequences.append(ids)
        }
        let counts = sequences.map(\.count)
        if pooling == .none, Set(counts).count > 1 { throw ModelError.unequalTokenCounts(counts) }
        // Texts sorted by length (longest first, as sentence-transformers sorts them) run in
        // groups of similar lengths; each embedding goes back to its text's place.
        let order = sequences.indices.sorted { (counts[$0], $1) > (counts[$1], $0) }
        let width = pooling == .none ? (counts.first ?? 0) * dim : dim
        var values = [Float](repeating: 0, count: texts.count * width)
        for start in stride(from: 0, to: order.count, by: Self.textsPerGroup) {
            let group = Array(order[start..<min(start + Self.textsPerGroup, order.count)])
            let states = try model.hiddenStates(group.map { sequences[$0] })
            for (text, state) in zip(group, states) {
                let tokens = state.count / dim
                var rows: [[Float]]
                switch pooling {
                case .cls: rows = [Array(state[0..<dim])]
                case .last: rows = [Array(state[(tokens - 1) * dim..<tokens * dim])]
                case .none: rows = (0..<tokens).map { Array(state[$0 * dim..<($0 + 1) * dim]) }
                case .mean:
                    var sum = [Float](repeating: 0, count: dim)
                    for t in 0..<tokens { for i in 0..<dim { sum[i] += state[t * dim + i] } }
                    rows = [sum.map { $0 / Float(tokens) }]
                }
                if normalize {
                    rows = rows.map { row in
                        let norm = max(row.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot(), 1e-12)
                        return row.map { $0 / norm }
                    }
                }
                var offset = text * width
                for row in rows {
                    values.replaceSubrange(offset..<offset + dim, with: row)
                    offset += dim
                }
            }
        }
        let shape = pooling == .none ? [texts.count, counts.first ?? 0, dim] : [texts.count, dim]
        return TextEmbeddings(pooling: pooling, normalized: normalize, dimension: dim, tokenCounts: counts, truncated: truncated,
                              shape: shape, values: values)
    }
}
