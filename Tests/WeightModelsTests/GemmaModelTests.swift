import Testing
import WeightArchitecture
import WeightCompute
import WeightFormats
@testable import WeightModels

/// The tiny Gemma 2 and Gemma 3 models of Fixtures/generators/gemma_models.py (sliding windows
/// shorter than the prompt, soft caps that change the logits, local and global rotary tables):
/// logits and greedy tokens against transformers, from the Hugging Face directory and from
/// llama.cpp's converter's GGUF copies.
@Suite struct GemmaModelTests {
    static let models = ["gemma2-tiny", "gemma3-tiny"]

    /// Relative L2 bounds on full-sequence logits, by storage type of the weights. Gemma 3's q/k
    /// norms make the tiny model more sensitive to 8-bit weights and activations (4.4e-2 here;
    /// llama.cpp's own Q8_0 logits of the same file are as far from transformers').
    static let tolerance: [String: Double] = ["hf": 1e-4, "f32": 1e-4, "f16": 5e-3, "q8_0": 6e-2]

    /// Checks the logits of `path` on the reference prompt over the first `columns` tokens (a
    /// GGUF whose embeddings the converter cut has fewer).
    static func check(_ path: String, reference name: String, tolerance: Double, greedy: Bool) throws {
        let reference = try Fixture.json("models/\(name)/reference.json")
        let prompt = try #require(reference["prompt"]?.arrayValue).compactMap(\.intValue)
        let expected = try NPY.read(Fixture.path("models/\(name)/logits.npy"))
        let model = try ModelRegistry.load(path)
        let logits = try model.logits(for: prompt)
        let vocabulary = try #require(reference["vocab_size"]?.intValue)
        #expect(expected.shape == [prompt.count, vocabulary])
        let columns = model.vocabularySize
        #expect(columns == vocabulary || columns == reference["gguf_vocab_size"]?.intValue, "\(path): \(columns) logits per token")
        var kept: [Float] = []
        for row in 0..<prompt.count { kept += expected.values[(row * vocabulary)..<(row * vocabulary + columns)] }
        let error = relativeL2(logits, kept)
        #expect(error <= tolerance, "\(path): relative L2 \(error)")
        if greedy {
            let result = try generate(model, prompt: prompt, count: 8, options: .greedy)
            #expect(result.tokens == reference["greedy"]?.arrayValue?.compactMap(\.intValue), "\(path)")
        }
    }

    @Test("Hugging Face directory: logits and greedy tokens match transformers' eager attention", arguments: models)
    func huggingFace(name: String) throws {
        try Self.check(Fixture.path("models/\(name)"), reference: name, tolerance: Self.tolerance["hf"]!, greedy: true)
    }

    @Test("GGUF written by llama.cpp's converter: f32, f16, q8_0", arguments: models)
    func gguf(name: String) throws {
        for type in ["f32", "f16", "q8_0"] {
            try Self.check(Fixture.path("models/\(name)-gguf/\(name)-\(type).gguf"), reference: name,
                           tolerance: Self.tolerance[type]!, greedy: type == "f32")
        }
    }

    @Test("the description's windows, caps and rotary tables reach the layers")
    func layerParts() throws {
        let model = try #require(try ModelRegistry.load(Fixture.path("models/gemma3-tiny")) as? DecoderModel)
        let t = model.architecture
        let types = try #require(t.layerTypes)
        for (block, span) in zip(model.blocks, types) {
            #expect(block.attention.shape.window == (span == .sliding ? t.slidingWindow : nil))
            #expect(block.attention.shape.softCap == nil)
            #expect(block.attention.queryNorm != nil && block.attention.keyNorm != nil)
            #expect(block.postAttentionNorm != nil && block.postFeedForwardNorm != nil)
        }
        // Local and global layers rotate with different tables.
        #expect(model.rotaryTables.count == 2)
        #expect(model.blockRotary[0] != model.blockRotary[types.firstIndex(of: .full)!])
        let gemma2 = try #require(try ModelRegistry.load(Fixture.path("models/gemma2-tiny")) as? DecoderModel)
        #expect(gemma2.blocks.allSatisfy { $0.attention.shape.softCap == gemma2.architecture.attentionSoftCap.map(Float.init) })
        #expect(gemma2.logitSoftCap == gemma2.architecture.finalLogitSoftCap.map(Float.init))
        #expect(gemma2.logitSoftCap != nil)
    }

    @Test("a float16 checkpoint scales its embeddings by √hidden in float16, as transformers does")
    func float16EmbeddingScale() throws {
        let reference = try Fixture.json("models/gemma2-tiny-f16/reference.json")
        let expected = try #require(reference["embed_scale"]?.doubleValue)
        let model = try #require(try ModelRegistry.load(Fixture.path("models/gemma2-tiny-f16")) as? DecoderModel)
        #expect(model.embeddingScale == Float(expected))
        // llama.cpp's GGUF of the same weights scales by the float32 √n_embd.
        let gguf = try #require(try ModelRegistry.load(Fixture.path("models/gemma2-tiny-f16-gguf/gemma2-tiny-f16-f16.gguf")) as? DecoderModel)
        #expect(gguf.embeddingScale == Float(gguf.architecture.hiddenSize).squareRoot())
        #expect(gguf.embeddingScale != model.embeddingScale)
    }

    @Test("embedding scales rounded to bfloat16 and float16 equal torch's")
    func embeddingScaleRounding() throws {
        let rows = try #require(try Fixture.json("models/gemma2-tiny-f16/reference.json")["embed_scales"]?.arrayValue)
        #expect(rows.count >= 9)
        for row in rows {
            let hidden = try #require(row["hidden_size"]?.intValue), expected = try #require(row["scale"]?.doubleValue)
            let scale = Float(Double(hidden).squareRoot())
            let ours: Float = switch row["dtype"]?.stringValue {
            case "bfloat16": GemmaBuilder.roundedToBFloat16(scale)
            case "float16": Float(Float16(scale))
            default: scale
            }
            #expect(ours == Float(expected), "\(hidden) \(String(describing: row["dtype"]?.stringValue))")
        }
    }

    @Test("bidirectional attention and non-Gemma blocks are refused when the model is built")
    func refusals() throws {
        let checkpoint = try Checkpoint.open(Fixture.path("models/gemma2-tiny"))
        var architecture = try ArchitectureLoader.load(Fixture.path("models/gemma2-tiny"))
        architecture.text?.causal = false
        #expect(throws: ModelError.self) { _ = try ModelRegistry.load(checkpoint: checkpoint, architecture: architecture) }
        architecture = try ArchitectureLoader.load(Fixture.path("models/gemma3-tiny"))
        architecture.text?.qkNorm = false
        let gemma3 = try Checkpoint.open(Fixture.path("models/gemma3-tiny"))
        #expect(throws: ModelError.unsupportedModel(modelType: "gemma3_text", reason: "gemma3 layers have q/k norms")) {
            _ = try ModelRegistry.load(checkpoint: gemma3, architecture: architecture)
        }
    }
}
