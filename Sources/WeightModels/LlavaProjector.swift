import WeightArchitecture
import WeightCompute
import WeightFormats

/// LLaVA's multi-modal projector, as transformers' `LlavaMultiModalProjector` computes it
/// (transformers/models/llava/modeling_llava.py), on the features `get_image_features` selects:
///
///     features = vision_tower(pixels).hidden_states[vision_feature_layer]
///     features = features[:, 1:]                  ("default" strategy: the class token dropped)
///     projected = linear_2(act(linear_1(features)))
public struct LlavaProjector: @unchecked Sendable {
    public let configuration: VisionProjector
    public let context: ComputeContext
    let first: Linear
    let second: Linear

    /// Loads `multi_modal_projector.*` from a LLaVA checkpoint (directory with config.json), or
    /// `mm.*` from a llama.cpp mmproj GGUF; the rest of the file is left alone.
    public static func load(_ path: String, context: ComputeContext = ComputeContext()) throws -> LlavaProjector {
        let architecture = try ArchitectureLoader.load(path)
        guard let configuration = architecture.projector else {
            throw ModelError.unsupportedModel(modelType: architecture.modelType, reason: "the configuration describes no multi-modal projector")
        }
        return try LlavaProjector(checkpoint: try Checkpoint.open(path), configuration: configuration, context: context)
    }

    init(checkpoint: Checkpoint, configuration: VisionProjector, context: ComputeContext) throws {
        let gguf = checkpoint.format == .gguf
        let prefix = gguf ? "mm." : checkpoint.tensor(named: "model.multi_modal_projector.linear_1.weight") != nil
            ? "model.multi_modal_projector." : "multi_modal_projector."
        let binder = WeightBinder(checkpoint: checkpoint, model: "llava projector")
        binder.ignorable = { !$0.hasPrefix(prefix) }
        let input = configuration.inputSize, output = configuration.outputSize
        func linear(_ name: String, rows: Int, columns: Int) -> Linear {
            Linear(weight: binder.matrix(prefix + name + ".weight", rows: rows, columns: columns),
                   bias: configuration.bias ? binder.vector(prefix + name + ".bias", count: rows) : nil)
        }
        // llama.cpp's mmproj files name the MLP's layers by their index in an nn.Sequential.
        let first = linear(gguf ? "0" : "linear_1", rows: output, columns: input)
        let second = linear(gguf ? "2" : "linear_2", rows: output, columns: output)
        try binder.finish()
        guard configuration.selectStrategy == "default" || configuration.selectStrategy == "full" else {
            throw ModelError.unsupportedModel(modelType: "llava", reason: "vision_feature_select_strategy '\(configuration.selectStrategy)' is not implemented")
        }
        self.configuration = configuration
        self.context = context
        self.first = first
        self.second = second
    }

    /// The tokens the projector keeps from a hidden state of `tokens` tokens per image.
    public func keptTokens(of tokens: Int) -> Int { configuration.selectStrategy == "default" ? tokens - 1 : tokens }

    /// Projects the selected hidden state `[batch, tokens, inputSize]` to `[batch, kept, outputSize]`.
    public func project(_ hidden: [Float], batch: Int, tokens: Int) throws -> [Float] {
        let input = configuration.inputSize, output = configuration.outputSize
        guard hidden.count == batch * tokens * input else {
            throw ModelError.invalidArgument("the projector takes \(input)-wide features; the vision tower gives \(hidden.count / max(1, batch * tokens))")
        }
        let kept = keptTokens(of: tokens), skipped = tokens - kept
        var features = [Float]()
        features.reserveCapacity(batch * kept * input)
        for image in 0..<batch {
            features += hidden[((image * tokens + skipped) * input)..<((image + 1) * tokens * input)]
        }
        let rows = batch * kept
        var intermediate = [Float](repeating: 0, count: rows * output)
        var result = [Float](repeating: 0, count: rows * output)
        intermediate.withUnsafeMutableBufferPointer { buffer in
            first.apply(features, rows: rows, into: buffer.baseAddress!, context: context)
            applyInParallel(configuration.activation.function, buffer.baseAddress!, count: buffer.count, context: context)
        }
        result.withUnsafeMutableBufferPointer { second.apply(intermediate, rows: rows, into: $0.baseAddress!, context: context) }
        return result
    }
}
