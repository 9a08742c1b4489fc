#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WeightCompute
import WeightFormats

/// Routing between expert LMs (the mixture-of-experts system seed 002's experts live in).
///
/// A router directory holds `router.json` (`{"experts": [relative dirs], "top_k": K,
/// "normalize": true}`) and `router.safetensors` (`gate.weight` `[experts, d_model]`, optional
/// `gate.bias`). The gate scores the mean of the prompt's token embeddings, taken from the first
/// expert's embedding table, keeps the top-k: with `normalize`, softmax over the kept logits
/// (Qwen3-MoE with `norm_topk_prob`), without it the kept probabilities of a softmax over all
/// experts. Generation mixes the chosen experts' next-token distributions, p = Σ wᵢ pᵢ.
public final class ExpertRouter {
    /// The experts' directories as `router.json` lists them.
    public let names: [String]
    public let experts: [CausalLanguageModel]
    public let topK: Int
    public let normalize: Bool
    let gate: WeightMatrix
    let gateBias: [Float]?
    /// The gate's product is one row: it runs on the calling thread.
    let context: ComputeContext

    /// One chosen expert.
    public struct Choice: Sendable, Equatable {
        public var index: Int
        public var name: String
        public var weight: Float
    }

    public init(directory: String) throws {
        let configPath = PathName.join(directory, "router.json")
        let json: JSONValue
        do {
            json = try JSON.parse(FileSystem.readFile(configPath))
        } catch let error as FormatError {
            throw FormatError.inFile(configPath, error)
        }
        guard let names = json["experts"]?.arrayValue?.compactMap(\.stringValue), !names.isEmpty,
              names.count == json["experts"]?.arrayValue?.count else {
            throw ModelError.invalidArgument("\(configPath): \"experts\" must be a non-empty array of directory names")
        }
        let topK = json["top_k"]?.intValue ?? 1
        guard topK >= 1, topK <= names.count else {
            throw ModelError.invalidArgument("\(configPath): \"top_k\" must be between 1 and the number of experts (\(names.count))")
        }
        self.names = names
        self.topK = topK
        self.normalize = json["normalize"]?.boolValue ?? true
        self.experts = try names.map { try ModelRegistry.load(PathName.join(directory, $0)) }
        guard let first = experts.first as? TokenEmbedding else {
            throw ModelError.invalidArgument("the first expert has no token embedding table to route with")
        }
        for (name, expert) in zip(names, experts) where expert.vocabularySize != experts[0].vocabularySize {
            throw ModelError.invalidArgument("expert \(name) has \(expert.vocabularySize) tokens, the first has \(experts[0].vocabularySize): distributions cannot be mixed")
        }
        let checkpoint = try Checkpoint.open(PathName.join(directory, "router.safetensors"))
        let binder = WeightBinder(checkpoint: checkpoint, model: "router")
        let width = first.embeddingSize
        let gate = binder.matrix("gate.weight", rows: names.count, columns: width)
        gateBias = binder.has("gate.bias") ? binder.vector("gate.bias", count: names.count) : nil
        try binder.finish()
        self.gate = gate
        context = ComputeContext(threads: 1)
    }

    /// The experts chosen for a prompt, most weighted first.
    public func route(_ prompt: [Int]) throws -> [Choice] {
        guard !prompt.isEmpty else { throw ModelError.invalidArgument("the prompt needs at least one token") }
        let table = experts[0] as! TokenEmbedding
        let width = table.embeddingSize
        var mean = [Float](repeating: 0, count: width)
        var row = [Float](repeating: 0, count: width)
        for token in prompt {
            guard token >= 0, token < experts[0].vocabularySize else {
                throw ModelError.invalidToken(token: token, vocabularySize: experts[0].vocabularySize)
            }
            row.withUnsafeMutableBufferPointer { table.embed(token, into: $0.baseAddress!) }
            for i in 0..<width { mean[i] += row[i] }
        }
        for i in 0..<width { mean[i] /= Float(prompt.count) }
        var logits = [Float](repeating: 0, count: names.count)
        logits.withUnsafeMutableBufferPointer { gate.apply(mean, count: 1, into: $0.baseAddress!, context: context) }
        if let gateBias { for i in logits.indices { logits[i] += gateBias[i] } }
        let chosen = logits.withUnsafeBufferPointer {
            routeTopK(logits: $0.baseAddress!, count: $0.count, k: topK, softmaxFirst: true, normalize: normalize)
        }
        return zip(chosen.experts, chosen.weights).map { Choice(index: $0, name: names[$0], weight: $1) }
    }

    /// Routes the prompt, then generates `count` tokens from the mixture of the chosen experts:
    /// each expert's distribution after temperature, weighted and summed, then top-k and top-p
    /// on the mixture; greedy takes the mixture's most likely token.
    public func generate(prompt: [Int], count: Int, options: SamplingOptions, randomness: UniformSource = .seeded(0)) throws -> (choices: [Choice], tokens: [Int]) {
        let choices = try route(prompt)
        var draws = UniformDraws(randomness)
        let caches = try choices.map { try experts[$0.index].makeCache(capacity: prompt.count + count) }
        var logits = try zip(choices, caches).map { try experts[$0.index].forward(prompt, cache: $1, logits: .last) }
        var tokens: [Int] = []
        let vocabulary = experts[0].vocabularySize
        while tokens.count < count {
            var mixture = [Float](repeating: 0, count: vocabulary)
            let temperature = SamplingOptions(temperature: options.isGreedy ? 1 : options.temperature)
            for (choice, expertLogits) in zip(choices, logits) {
                let probabilities = expertLogits.withUnsafeBufferPointer {
                    samplingDistribution(logits: $0.baseAddress!, count: vocabulary, options: temperature)
                }
                for i in 0..<vocabulary { mixture[i] += choice.weight * probabilities[i] }
            }
            let token: Int
            if options.isGreedy {
                token = mixture.withUnsafeBufferPointer { argmax($0.baseAddress!, count: vocabulary) }
            } else {
                // Logarithms turn the mixture back into logits for top-k / top-p.
                let mixedLogits = mixture.map { $0 > 0 ? logf($0) : -.infinity }
                let filtered = SamplingOptions(temperature: 1, topK: options.topK, topP: options.topP)
                let uniform = try draws.next()
                token = mixedLogits.withUnsafeBufferPointer {
                    sampleToken(logits: $0.baseAddress!, count: vocabulary, options: filtered, uniform: uniform)
                }
            }
            tokens.append(token)
            if tokens.count == count { break }
            logits = try zip(choices, caches).map { try experts[$0.index].forward([token], cache: $1, logits: .last) }
        }
        return (choices, tokens)
    }
}

/// Models whose token embedding table can be read row by row.
public protocol TokenEmbedding {
    var embeddingSize: Int { get }
    func embed(_ token: Int, into destination: UnsafeMutablePointer<Float>)
}
