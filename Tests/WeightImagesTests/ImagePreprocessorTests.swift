import Testing
import WeightFormats
@testable import WeightImages

enum Fixture {
    static let root: String = {
        var path = #filePath
        for _ in 0..<3 { path = PathName.directory(of: path) }
        return path
    }()

    static func path(_ relative: String) -> String { root + "/Fixtures/" + relative }
}

/// PNG and JPEG files decoded with libpng/libjpeg and preprocessed as the checkpoints'
/// preprocessor_config.json says, against transformers' processors with the PIL backend
/// (Fixtures/generators/vision_models.py): mean absolute difference at most 1/255.
@Suite struct ImagePreprocessorTests {
    static let images = ["landscape.jpg", "portrait.png", "alpha.png", "gray.jpg", "palette.png", "photo-china.jpg", "photo-flower.jpg"]

    @Test("CLIP (shortest edge, centre crop) and SigLIP (square, no crop) pixel values match transformers",
          arguments: images)
    func pixelValues(image: String) throws {
        let stem = String(image.split(separator: ".")[0])
        for (prefix, model) in [("clip", "clip-vision-tiny"), ("siglip", "siglip-vision-tiny")] {
            let processor = try ImagePreprocessor.load(Fixture.path("vision/\(model)"))
            let decoded = try RGBImage.read(Fixture.path("vision/images/\(image)"))
            let ours = try processor.pixelValues(decoded)
            let expected = try NPY.read(Fixture.path("vision/images/\(prefix)-\(stem).npy"))
            #expect(expected.shape == [1, 3, ours.height, ours.width], "\(prefix) \(image)")
            guard expected.values.count == ours.values.count else { continue }
            // Differences in normalised units, scaled back to 8-bit levels by the std.
            let deviation = processor.standardDeviation ?? [1, 1, 1]
            let plane = ours.height * ours.width
            var total = 0.0
            for (i, (a, b)) in zip(ours.values, expected.values).enumerated() {
                total += Double(abs(a - b)) * Double(deviation[i / plane])
            }
            let meanDifference = total / Double(ours.values.count)
            #expect(meanDifference <= 1.0 / 255, "\(prefix) \(image): mean absolute difference \(meanDifference)")
        }
    }

    @Test("CLIP's processor config: shortest edge, bicubic, centre crop, OpenAI mean and std")
    func clipConfig() throws {
        let processor = try ImagePreprocessor.load(Fixture.path("vision/clip-vision-tiny"))
        #expect(processor.resize == .shortestEdge(30) && processor.resample == .bicubic)
        #expect(processor.crop?.height == 30 && processor.crop?.width == 30)
        let siglip = try ImagePreprocessor.load(Fixture.path("vision/siglip-vision-tiny"))
        #expect(siglip.resize == .exact(height: 28, width: 28) && siglip.crop == nil && siglip.mean == [0.5, 0.5, 0.5])
    }

    @Test("corrupt and unknown files are refused with the file named", arguments: ["corrupt.png", "corrupt.jpg"])
    func corrupt(name: String) throws {
        let path = Fixture.path("vision/images/\(name)")
        do {
            _ = try RGBImage.read(path)
            Issue.record("\(name) decoded")
        } catch let ImageError.cannotDecode(errorPath, _, reason) {
            #expect(errorPath == path && !reason.isEmpty)
        }
        #expect(throws: ImageError.unsupportedFormat(path: "x.bin")) { try RGBImage.decode([1, 2, 3, 4, 5, 6, 7, 8], path: "x.bin") }
    }

    @Test("a directory without preprocessor_config.json")
    func missingConfig() throws {
        #expect(throws: ImageError.missingPreprocessor(path: Fixture.path("vision/clip-tiny"))) {
            try ImagePreprocessor.load(Fixture.path("vision/clip-tiny"))
        }
    }
}
