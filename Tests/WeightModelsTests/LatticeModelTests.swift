import Testing
import WeightCompute
import WeightFormats
@testable import WeightModels

/// The lattice, ternary and MXFP4 decode products in a forward pass: two llama-quantize mixes of
/// a tiny Qwen3 that hold every type of `matvec_lattice` between them (Fixtures/models/
/// lattice-products, by lattice_products.py) against transformers on the same weights
/// dequantised by gguf-py. The prompt is fed one token at a time, so every product is a decode
/// product (prefill of these types decodes to float32). With exact activations only float
/// rounding separates the two; with activations quantised to 8 bits their rounding does.
@Suite struct LatticeModelTests {
    /// Relative L2 bounds on the logits of every position: exact activations (measured
    /// ≤ 1.0e-6 in every tier), quantised activations (measured 2.4e-2 for mix a, 1.7e-2 for mix
    /// b; the bound of the Q4_K_M test).
    static let tolerance: [ActivationPrecision: Double] = [.exact: 1e-5, .quantized: 4e-2]

    @Test("IQ/TQ/MXFP4 mixes one token at a time against transformers on their dequantised weights, in both activation modes",
          arguments: ["a", "b"], Kernels.allSupported)
    func mix(name: String, kernels: Kernels) throws {
        let reference = try Fixture.json("models/lattice-products/reference.json")
        let prompt = try requiredInts(reference["prompt"], "prompt")
        let file = try #require(reference["files"]?[name])
        let path = try #require(file["path"]?.stringValue), logitsFile = try #require(file["logits"]?.stringValue)
        let expected = try NPY.read(Fixture.path("models/lattice-products/\(logitsFile)"))
        for activations in [ActivationPrecision.exact, .quantized] {
            let model = try ModelRegistry.load(Fixture.path(path), context: ComputeContext(kernels: kernels, activations: activations))
            let cache = try model.makeCache(capacity: prompt.count)
            var logits: [Float] = []
            for token in prompt { logits += try model.forward([token], cache: cache, logits: .last) }
            #expect(expected.shape == [prompt.count, model.vocabularySize])
            let error = relativeL2(logits, expected.values)
            #expect(error <= Self.tolerance[activations]!, "mix \(name) \(kernels) \(activations): relative L2 \(error)")
        }
    }
}
