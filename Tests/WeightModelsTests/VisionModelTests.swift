import Testing
import WeightArchitecture
import WeightFormats
@testable import WeightModels

/// Tiny CLIP and SigLIP vision towers and a LLaVA projector (Fixtures/generators/vision_models.py)
/// against transformers' outputs on the same pixels.
@Suite struct VisionModelTests {
    static let tolerance = 1e-4

    static func encode(_ model: String, pixels name: String = "pixels", layers: [Int] = [], reference: String? = nil) throws -> (VisionEncoding, String) {
        let directory = Fixture.path("vision/\(model)")
        let encoder = try ModelRegistry.loadVisionEncoder(directory)
        let pixels = try NPY.read(Fixture.path("vision/\(reference ?? model)/reference/\(name).npy"))
        let encoding = try encoder.encode(pixels: pixels.values, batch: pixels.shape[0], height: pixels.shape[2],
                                          width: pixels.shape[3], layers: layers)
        return (encoding, directory + "/reference/")
    }

    static func expectClose(_ ours: [Float]?, _ file: String, _ label: String) throws {
        let expected = try NPY.read(file)
        let values = try #require(ours, "\(label) missing")
        #expect(values.count == expected.values.count, "\(label): \(values.count) values, expected \(expected.shape)")
        guard values.count == expected.values.count else { return }
        let error = relativeL2(values, expected.values)
        #expect(error <= tolerance, "\(label): relative L2 \(error)")
    }

    @Test("CLIP with projection: last hidden state, every hidden state, pooled output, image embeddings")
    func clipWithProjection() throws {
        let layers = [0, 1, 2, 3, -1, -2, -4]
        let (encoding, reference) = try Self.encode("clip-vision-tiny", layers: layers)
        #expect(encoding.tokens == 26 && encoding.batch == 2)
        try Self.expectClose(encoding.lastHidden, reference + "last_hidden.npy", "last hidden")
        try Self.expectClose(encoding.pooled, reference + "pooled.npy", "pooled")
        try Self.expectClose(encoding.embeds, reference + "embeds.npy", "embeds")
        let all = try NPY.read(reference + "hidden_states.npy")
        let size = all.values.count / all.shape[0]
        for layer in layers {
            let index = layer < 0 ? all.shape[0] + layer : layer
            let expected = Array(all.values[(index * size)..<((index + 1) * size)])
            let error = relativeL2(try #require(encoding.hiddenStates[layer]), expected)
            #expect(error <= Self.tolerance, "hidden_states[\(layer)]: relative L2 \(error)")
        }
    }

    @Test("SigLIP with the attention-pooling head, keys with and without vision_model.",
          arguments: ["siglip-vision-tiny", "siglip-vision-tiny-prefixed"])
    func siglip(model: String) throws {
        let (encoding, _) = try Self.encode(model, layers: [0, -1, 1], reference: "siglip-vision-tiny")
        let reference = Fixture.path("vision/siglip-vision-tiny/reference/")
        #expect(encoding.tokens == 16 && encoding.embeds == nil)
        try Self.expectClose(encoding.lastHidden, reference + "last_hidden.npy", "last hidden")
        try Self.expectClose(encoding.pooled, reference + "pooled.npy", "pooled")
        let all = try NPY.read(reference + "hidden_states.npy")
        let size = all.values.count / all.shape[0]
        for (layer, index) in [(0, 0), (1, 1), (-1, 2)] {
            let error = relativeL2(try #require(encoding.hiddenStates[layer]), Array(all.values[(index * size)..<((index + 1) * size)]))
            #expect(error <= Self.tolerance, "hidden_states[\(layer)]: relative L2 \(error)")
        }
    }

    @Test("the vision half of full CLIPModel and SiglipModel checkpoints")
    func fullContrastiveModels() throws {
        let (clip, clipReference) = try Self.encode("clip-tiny")
        try Self.expectClose(clip.lastHidden, clipReference + "last_hidden.npy", "CLIP last hidden")
        try Self.expectClose(clip.pooled, clipReference + "pooled.npy", "CLIP pooled")
        try Self.expectClose(clip.embeds, clipReference + "embeds.npy", "CLIP embeds")
        let (siglip, siglipReference) = try Self.encode("siglip-tiny")
        try Self.expectClose(siglip.lastHidden, siglipReference + "last_hidden.npy", "SigLIP last hidden")
        try Self.expectClose(siglip.pooled, siglipReference + "pooled.npy", "SigLIP pooled")
    }

    @Test("position embeddings interpolated for another image size (interpolate_pos_encoding)",
          arguments: ["clip-vision-tiny", "siglip-vision-tiny"])
    func interpolatedPositions(model: String) throws {
        let (encoding, reference) = try Self.encode(model, pixels: "resized_pixels")
        try Self.expectClose(encoding.lastHidden, reference + "resized_last_hidden.npy", "\(model) resized")
    }

    @Test("LLaVA: the vision tower's hidden_states[-2] without the class token through the projector")
    func llavaProjector() throws {
        let directory = Fixture.path("vision/llava-tiny")
        let projector = try LlavaProjector.load(directory)
        #expect(projector.configuration.featureLayer == -2 && projector.configuration.selectStrategy == "default")
        let (encoding, reference) = try Self.encode("llava-tiny", layers: [projector.configuration.featureLayer])
        try Self.expectClose(encoding.lastHidden, reference + "last_hidden.npy", "tower last hidden")
        let projected = try projector.project(try #require(encoding.hiddenStates[-2]), batch: encoding.batch, tokens: encoding.tokens)
        try Self.expectClose(projected, reference + "projected.npy", "projected")
    }

    @Test("llama.cpp's LLaVA mmproj GGUF (clip.vision.* keys, v.* and mm.* tensors, float16 matrices)")
    func mmprojGGUF() throws {
        let path = Fixture.path("vision/llava-tiny-gguf/mmproj-f32.gguf")
        let encoder = try ModelRegistry.loadVisionEncoder(path)
        #expect(encoder.tower.layerCount == 2 && !encoder.hasProjection)
        let pixels = try NPY.read(Fixture.path("vision/llava-tiny/reference/pixels.npy"))
        let encoding = try encoder.encode(pixels: pixels.values, batch: 2, height: 30, width: 30)
        #expect(encoding.pooled == nil)
        // The file ends at the feature layer: its last hidden state is transformers' hidden_states[-2].
        let all = try NPY.read(Fixture.path("vision/llava-tiny/reference/hidden_states.npy"))
        let size = all.values.count / all.shape[0]
        let expected = Array(all.values[((all.shape[0] - 2) * size)..<((all.shape[0] - 1) * size)])
        let hiddenError = relativeL2(encoding.lastHidden, expected)
        #expect(hiddenError <= 5e-3, "hidden: relative L2 \(hiddenError)")
        let projector = try LlavaProjector.load(path)
        let projected = try projector.project(encoding.lastHidden, batch: 2, tokens: encoding.tokens)
        let projectedError = relativeL2(projected, try NPY.read(Fixture.path("vision/llava-tiny/reference/projected.npy")).values)
        #expect(projectedError <= 5e-3, "projected: relative L2 \(projectedError)")
    }

    @Test("a checkpoint of the other family: every missing and unexpected tensor listed at once")
    func bindingErrors() throws {
        let checkpoint = try Checkpoint.open(Fixture.path("vision/clip-vision-tiny"))
        let siglip = try ArchitectureLoader.load(Fixture.path("vision/siglip-vision-tiny"))
        do {
            _ = try ModelRegistry.loadVisionEncoder(checkpoint: checkpoint, architecture: siglip)
            Issue.record("binding succeeded")
        } catch let ModelError.binding(_, missing, unexpected, misshaped) {
            #expect(missing.contains("vision_model.embeddings.patch_embedding.bias"))
            #expect(missing.contains("vision_model.head.probe"))
            #expect(unexpected.contains("vision_model.embeddings.class_embedding"))
            #expect(unexpected.contains("vision_model.pre_layrnorm.weight"))
            #expect(!misshaped.isEmpty)
        }
    }

    @Test("pixels of the wrong size or too small an image are refused")
    func badPixels() throws {
        let encoder = try ModelRegistry.loadVisionEncoder(Fixture.path("vision/clip-vision-tiny"))
        #expect(throws: ModelError.self) { try encoder.encode(pixels: [Float](repeating: 0, count: 10), batch: 1, height: 30, width: 30) }
        #expect(throws: ModelError.self) { try encoder.encode(pixels: [Float](repeating: 0, count: 3 * 16), batch: 1, height: 4, width: 4) }
        #expect(throws: ModelError.self) { try encoder.encode(pixels: [Float](repeating: 0, count: 3 * 900), batch: 1, height: 30, width: 30, layers: [4]) }
    }

    @Test("a language model is not a vision encoder")
    func notVision() throws {
        #expect(throws: ModelError.self) { try ModelRegistry.loadVisionEncoder(Fixture.path("models/qwen2-tiny")) }
    }
}
