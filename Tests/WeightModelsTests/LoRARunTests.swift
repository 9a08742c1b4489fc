import Testing
import WeightAdapters
import WeightCompute
import WeightFormats
@testable import WeightModels

/// LoRA adapters applied unmerged (`ModelRegistry.load(adapters:)`) against PEFT's logits
/// (Fixtures/generators/lora_adapters.py): every adapter kind on its Hugging Face base, on
/// llama.cpp's GGUF copies of it (f32, f16, Q8_0: the Hugging Face adapter placed in GGUF's
/// layout, llama's Q/K permutation included), the MLX copy, and llama.cpp's own adapter GGUFs.
@Suite struct LoRARunTests {
    /// (adapter, base) of every PEFT fixture.
    static let adapters: [(String, String)] = [
        ("qwen2-plain", "qwen2-tiny"), ("qwen2-rslora", "qwen2-tiny"), ("llama-pattern", "llama-tiny"),
        ("llama-alpha-pattern", "llama-tiny"), ("qwen3-dora", "qwen3-tiny"), ("qwen3-save", "qwen3-tiny"),
        ("qwen3-all-linear", "qwen3-tiny"), ("qwen2-save-tied", "qwen2-tiny"),
        ("qwen2-mergekit", "qwen2-tiny"), ("llama-embed", "llama-tiny"), ("phi3-fused", "phi3-tiny"),
        ("gemma2-embed", "gemma2-tiny"),
    ]
    /// Relative L2 bounds by the base's stored type. The base's own rounding is all the error
    /// (f32 bases agree to 1e-6): DecoderModelTests' bounds for the bases alone, Q8_0 doubled
    /// because the fixtures' large random updates (scales up to 8) amplify the rounded weights.
    static let tolerance: [String: Double] = ["hf": 1e-4, "f32": 1e-4, "f16": 5e-3, "q8_0": 6e-2]

    static func logits(base: String, adapters: [ScaledAdapter]) throws -> [Float] {
        let prompt = try requiredInts(Fixture.json("lora/qwen2-plain/reference.json")["prompt"], "prompt")
        return try ModelRegistry.load(base, adapters: adapters).logits(for: prompt)
    }

    static func expected(_ adapter: String, _ kind: String = "unmerged") throws -> [Float] {
        let values = try NPY.read(Fixture.path("lora/\(adapter)/logits-\(kind).npy")).values
        guard !values.isEmpty else { throw MissingFixtureData(what: "\(adapter) logits-\(kind)") }
        return values
    }

    @Test("PEFT adapters on their Hugging Face base give PEFT's logits", arguments: adapters)
    func huggingFaceBase(adapter: String, base: String) throws {
        let logits = try Self.logits(base: Fixture.path("models/\(base)"), adapters: [ScaledAdapter(LoRAAdapter.open(Fixture.path("lora/\(adapter)")))])
        let expected = try Self.expected(adapter)
        let error = relativeL2(logits, expected)
        #expect(error <= Self.tolerance["hf"]!, "\(adapter): relative L2 \(error)")
        // The adapter matters: the base alone is far from PEFT's logits.
        let plain = try NPY.read(Fixture.path("models/\(base)/logits.npy")).values
        #expect(relativeL2(plain, expected) > 0.1)
    }

    @Test("PEFT adapters on llama.cpp's GGUF of the base (f32, f16, Q8_0)", arguments: adapters, ["f32", "f16", "q8_0"])
    func ggufBase(adapter: (String, String), type: String) throws {
        let (name, base) = adapter
        let logits = try Self.logits(base: Fixture.path("models/\(base)-gguf/\(base)-\(type).gguf"),
                                     adapters: [ScaledAdapter(LoRAAdapter.open(Fixture.path("lora/\(name)")))])
        let error = relativeL2(logits, try Self.expected(name))
        #expect(error <= Self.tolerance[type]!, "\(name) on \(type): relative L2 \(error)")
    }

    @Test func mlxAdapterGivesPEFTLogits() throws {
        let adapter = try LoRAAdapter.open(Fixture.path("lora/qwen2-mlx"))
        #expect(adapter.format == .mlx)
        let logits = try Self.logits(base: Fixture.path("models/qwen2-tiny"), adapters: [ScaledAdapter(adapter)])
        let error = relativeL2(logits, try Self.expected("qwen2-mlx"))
        #expect(error <= 1e-4, "relative L2 \(error)")
    }

    @Test("a scale of 0 is the base; two halves are the whole")
    func scaledAdapters() throws {
        let adapter = try LoRAAdapter.open(Fixture.path("lora/qwen2-plain"))
        let base = Fixture.path("models/qwen2-tiny")
        let none = try Self.logits(base: base, adapters: [ScaledAdapter(adapter, factor: 0)])
        #expect(relativeL2(none, try NPY.read(Fixture.path("models/qwen2-tiny/logits.npy")).values) <= 1e-5)
        let halves = try Self.logits(base: base, adapters: [ScaledAdapter(adapter, factor: 0.5), ScaledAdapter(adapter, factor: 0.5)])
        #expect(relativeL2(halves, try Self.expected("qwen2-plain")) <= 1e-4)
    }

    @Test("an adapter for another base is refused, naming the tensor and both shapes")
    func shapeMismatch() throws {
        let adapter = try LoRAAdapter.open(Fixture.path("lora/qwen2-plain"))
        do {
            _ = try ModelRegistry.load(Fixture.path("models/qwen3-tiny"), adapters: [ScaledAdapter(adapter)])
            Issue.record("loaded")
        } catch let error as AdapterError {
            guard case .shapeMismatch(let tensor, let adapterShape, let baseTensor, let baseShape) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(tensor.hasSuffix(".lora_A.weight"))
            #expect(baseTensor.hasSuffix(".weight") && adapterShape != baseShape)
        }
    }

    @Test("PEFT adapters on the CLIP and SigLIP towers give PEFT's hidden states and pooled outputs",
          arguments: [("clip-vision-lora", "clip-vision-tiny"), ("siglip-vision-lora", "siglip-vision-tiny")])
    func visionTowers(adapter: String, tower: String) throws {
        let encoder = try ModelRegistry.loadVisionEncoder(Fixture.path("vision/\(tower)"),
                                                          adapters: [ScaledAdapter(LoRAAdapter.open(Fixture.path("lora/\(adapter)")))])
        let pixels = try NPY.read(Fixture.path("vision/\(tower)/reference/pixels.npy"))
        let encoding = try encoder.encode(pixels: pixels.values, batch: pixels.shape[0], height: pixels.shape[2], width: pixels.shape[3])
        let hidden = try NPY.read(Fixture.path("lora/\(adapter)/last_hidden.npy")).values
        let pooled = try NPY.read(Fixture.path("lora/\(adapter)/pooled.npy")).values
        #expect(!hidden.isEmpty && !pooled.isEmpty)
        #expect(relativeL2(encoding.lastHidden, hidden) <= 1e-4)
        #expect(relativeL2(try #require(encoding.pooled), pooled) <= 1e-4)
        #expect(relativeL2(try NPY.read(Fixture.path("vision/\(tower)/reference/last_hidden.npy")).values, hidden) > 0.05)
    }

    @Test func aVisionAdapterForAnotherTowerIsRefused() throws {
        let adapter = try LoRAAdapter.open(Fixture.path("lora/clip-vision-lora"))
        #expect(throws: AdapterError.self) {
            try ModelRegistry.loadVisionEncoder(Fixture.path("vision/siglip-vision-tiny"), adapters: [ScaledAdapter(adapter)])
        }
    }
}
