import Testing
import WeightFormats

/// `weightkit encode-image`: the CLI contract of issue 7 on the tiny transformers vision models.
@Suite struct EncodeImageCommandTests {
    static func relativeL2(_ file: String, _ reference: String) throws -> Double {
        let a = try NPY.read(file), b = try NPY.read(CLI.fixture(reference))
        guard a.shape == b.shape else { return .infinity }
        var difference = 0.0, norm = 0.0
        for (x, y) in zip(a.values, b.values) { difference += Double(x - y) * Double(x - y); norm += Double(y) * Double(y) }
        return (difference / norm).squareRoot()
    }

    static func slice(_ file: String, index: Int) throws -> [Float] {
        let all = try NPY.read(CLI.fixture(file))
        let size = all.values.count / all.shape[0]
        return Array(all.values[(index * size)..<((index + 1) * size)])
    }

    @Test("--pixels: last hidden state, pooled output and CLIP's embeddings equal transformers'")
    func clipPixels() throws {
        let directory = CLI.temporaryDirectory()
        let result = try CLI.run(["encode-image", CLI.fixture("vision/clip-vision-tiny"),
                                  "--pixels", CLI.fixture("vision/clip-vision-tiny/reference/pixels.npy"),
                                  "--out", directory + "/hidden.npy", "--pooled", directory + "/pooled.npy", "--embeds", directory + "/embeds.npy"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Self.relativeL2(directory + "/hidden.npy", "vision/clip-vision-tiny/reference/last_hidden.npy") <= 1e-4)
        #expect(try Self.relativeL2(directory + "/pooled.npy", "vision/clip-vision-tiny/reference/pooled.npy") <= 1e-4)
        #expect(try Self.relativeL2(directory + "/embeds.npy", "vision/clip-vision-tiny/reference/embeds.npy") <= 1e-4)
    }

    @Test("--layer K writes hidden_states[K]; --projector/--projected run LLaVA's projector on hidden_states[-2]")
    func layerAndProjector() throws {
        let directory = CLI.temporaryDirectory()
        let llava = CLI.fixture("vision/llava-tiny")
        let result = try CLI.run(["encode-image", llava, "--pixels", llava + "/reference/pixels.npy", "--out", directory + "/hidden.npy",
                                  "--layer", "1", "--projector", llava, "--projected", directory + "/projected.npy"])
        #expect(result.status == 0, "\(result.stderr)")
        let hidden = try NPY.read(directory + "/hidden.npy")
        let expected = try Self.slice("vision/llava-tiny/reference/hidden_states.npy", index: 1)
        var difference = 0.0, norm = 0.0
        for (x, y) in zip(hidden.values, expected) { difference += Double(x - y) * Double(x - y); norm += Double(y) * Double(y) }
        #expect(hidden.shape == [2, 26, 32] && (difference / norm).squareRoot() <= 1e-4)
        #expect(try Self.relativeL2(directory + "/projected.npy", "vision/llava-tiny/reference/projected.npy") <= 1e-4)
    }

    @Test("--image: SigLIP on PNG and JPEG files (a real photo among them) equals transformers' processor + model")
    func siglipImages() throws {
        let directory = CLI.temporaryDirectory()
        for stem in ["landscape.jpg", "alpha.png", "photo-china.jpg"] {
            let result = try CLI.run(["encode-image", CLI.fixture("vision/siglip-vision-tiny"), "--image", CLI.fixture("vision/images/" + stem),
                                      "--out", directory + "/hidden.npy", "--force"])
            #expect(result.status == 0, "\(result.stderr)")
            let name = String(stem.split(separator: ".")[0])
            #expect(try Self.relativeL2(directory + "/hidden.npy", "vision/images/siglip-\(name)-hidden.npy") <= 1e-4)
        }
    }

    @Test("bad input: wrong shape or dtype, corrupt image, no projection, no config, bad flags")
    func errors() throws {
        let clip = CLI.fixture("vision/clip-vision-tiny"), out = CLI.temporaryDirectory() + "/out.npy"
        let wrongShape = try CLI.run(["encode-image", clip, "--pixels", CLI.fixture("vision/clip-vision-tiny/reference/pooled.npy"), "--out", out])
        #expect(wrongShape.status == 1 && wrongShape.stderr.contains("or [B, 3, "))
        let wrongType = try CLI.run(["encode-image", clip, "--pixels", CLI.fixture("vision/images/pixels-float64.npy"), "--out", out])
        #expect(wrongType.status == 1 && wrongType.stderr.contains("float32"))
        let corrupt = try CLI.run(["encode-image", clip, "--image", CLI.fixture("vision/images/corrupt.png"), "--out", out])
        #expect(corrupt.status == 1 && corrupt.stderr.contains("corrupt.png"))
        let noProjection = try CLI.run(["encode-image", CLI.fixture("vision/siglip-vision-tiny"), "--pixels",
                                        CLI.fixture("vision/siglip-vision-tiny/reference/pixels.npy"), "--out", out, "--embeds", out + ".embeds.npy"])
        #expect(noProjection.status == 1 && noProjection.stderr.contains("visual_projection"))
        let noConfig = try CLI.run(["encode-image", CLI.fixture("vision/clip-tiny"), "--image", CLI.fixture("vision/images/portrait.png"), "--out", out])
        #expect(noConfig.status == 1 && noConfig.stderr.contains("preprocessor_config.json"))
        let language = try CLI.run(["encode-image", CLI.fixture("models/qwen2-tiny"), "--pixels", CLI.fixture("vision/clip-vision-tiny/reference/pixels.npy"), "--out", out])
        #expect(language.status == 1 && language.stderr.contains("qwen2"))
        let badLayer = try CLI.run(["encode-image", clip, "--pixels", CLI.fixture("vision/clip-vision-tiny/reference/pixels.npy"), "--out", out, "--layer", "9"])
        #expect(badLayer.status == 1 && badLayer.stderr.contains("layer 9"))
        let both = try CLI.run(["encode-image", clip, "--pixels", "a.npy", "--image", "b.png", "--out", out])
        #expect(both.status == 64)
        let projectorAlone = try CLI.run(["encode-image", clip, "--pixels", "a.npy", "--out", out, "--projector", clip])
        #expect(projectorAlone.status == 64)
    }
}
