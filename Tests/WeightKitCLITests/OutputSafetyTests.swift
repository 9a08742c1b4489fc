import Foundation
import Testing
import WeightFormats

/// Every argument that names a file to write: an existing destination needs --force, and the
/// command's own inputs (the path itself, a symlink or a hard link to it) are never replaced.
@Suite struct OutputSafetyTests {
    /// One output argument of one command.
    struct OutputCase: CustomTestStringConvertible, Sendable {
        let name: String
        /// The destination's extension, which may choose the output format.
        var fileExtension = "npy"
        /// Copies the inputs into the scratch directory; returns the arguments that write to
        /// the given output path and one input file of the command.
        let prepare: @Sendable (_ directory: String) throws -> (arguments: @Sendable (String) -> [String], input: String)
        var testDescription: String { name }

        init(name: String, fileExtension: String = "npy",
             prepare: @escaping @Sendable (String) throws -> (arguments: @Sendable (String) -> [String], input: String)) {
            self.name = name
            self.fileExtension = fileExtension
            self.prepare = prepare
        }
    }

    static func copy(_ relative: String, into directory: String) throws -> String {
        let destination = directory + "/" + PathName.lastComponent(of: relative)
        try FileManager.default.copyItem(atPath: CLI.fixture(relative), toPath: destination)
        return destination
    }

    static func fresh(_ directory: String) -> String { directory + "/fresh-" + UUID().uuidString + ".npy" }

    static let cases: [OutputCase] = [
        OutputCase(name: "convert DST", fileExtension: "gguf") { directory in
            let model = try copy("core/tiny.gguf", into: directory)
            return ({ ["convert", model, $0, "--quiet"] }, model)
        },
        OutputCase(name: "quantize OUT", fileExtension: "gguf") { directory in
            let model = try copy("models/llama-tiny-gguf/llama-tiny-f32.gguf", into: directory)
            return ({ ["quantize", model, $0, "Q8_0", "--quiet"] }, model)
        },
        OutputCase(name: "merge DST (a later part of the split set as the destination)", fileExtension: "gguf") { directory in
            for part in 1...3 { _ = try copy("core/split/tiny-0000\(part)-of-00003.gguf", into: directory) }
            let first = directory + "/tiny-00001-of-00003.gguf"
            return ({ ["merge", first, $0, "--quiet"] }, directory + "/tiny-00002-of-00003.gguf")
        },
        OutputCase(name: "tensor --out") { directory in
            let model = try copy("core/tiny.gguf", into: directory)
            return ({ ["tensor", model, "blk.0.ffn_up.weight", "--out", $0] }, model)
        },
        OutputCase(name: "run --logits") { directory in
            let model = try copy("models/qwen3-tiny-gguf/qwen3-tiny-q8_0.gguf", into: directory)
            return ({ ["run", model, "--tokens", "1,2", "--logits", $0] }, model)
        },
        OutputCase(name: "run --values (the value head is an input)") { directory in
            let model = try copy("mtp/mtp-4heads.f32.gguf", into: directory)
            let head = try copy("mtp/mtp-4heads.value_head.safetensors", into: directory)
            return ({ ["run", model, "--tokens", "1,2", "--value-head", head, "--values", $0] }, head)
        },
        OutputCase(name: "run --create-value-head") { directory in
            let model = try copy("mtp/mtp-4heads.f32.gguf", into: directory)
            return ({ ["run", model, "--tokens", "1,2", "--create-value-head", $0] }, model)
        },
        OutputCase(name: "encode-image --out (the pixels are an input)") { directory in
            let model = try copy("vision/clip-vision-tiny", into: directory)
            let pixels = model + "/reference/pixels.npy"
            return ({ ["encode-image", model, "--pixels", pixels, "--out", $0] }, pixels)
        },
        OutputCase(name: "encode-image --pooled (a file of the model directory)") { directory in
            let model = try copy("vision/clip-vision-tiny", into: directory)
            return ({ ["encode-image", model, "--pixels", model + "/reference/pixels.npy", "--out", fresh(directory), "--pooled", $0] },
                    model + "/model.safetensors")
        },
        OutputCase(name: "encode-image --embeds") { directory in
            let model = try copy("vision/clip-vision-tiny", into: directory)
            return ({ ["encode-image", model, "--pixels", model + "/reference/pixels.npy", "--out", fresh(directory), "--embeds", $0] },
                    model + "/config.json")
        },
        OutputCase(name: "encode-image --projected") { directory in
            let model = try copy("vision/llava-tiny", into: directory)
            return ({ ["encode-image", model, "--pixels", model + "/reference/pixels.npy", "--out", fresh(directory), "--layer", "1",
                       "--projector", model, "--projected", $0] }, model + "/model.safetensors")
        },
        OutputCase(name: "embed --out (the model's weights)") { directory in
            let model = try copy("embeddings/bert-mean", into: directory)
            return ({ ["embed", model, "--text", "hello", "--out", $0] }, model + "/model.safetensors")
        },
        OutputCase(name: "embed --out (the --file of texts)") { directory in
            let model = try copy("embeddings/bert-mean", into: directory)
            let texts = directory + "/texts.npy"
            try "hello\n".write(toFile: texts, atomically: true, encoding: .utf8)
            return ({ ["embed", model, "--file", texts, "--out", $0] }, texts)
        },
        OutputCase(name: "budget --plot", fileExtension: "svg") { directory in
            let model = try copy("models/qwen3-tiny", into: directory)
            return ({ ["budget", model + "/config.json", "--plot", $0] }, model + "/config.json")
        },
        OutputCase(name: "meta --output", fileExtension: "gguf") { directory in
            let model = try copy("core/tiny.gguf", into: directory)
            return ({ ["meta", model, "--set", "general.name=Other", "--output", $0, "--quiet"] }, model)
        },
    ]

    @Test(arguments: cases)
    func refusesExistingDestinationsAndInputs(_ output: OutputCase) throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (arguments, input) = try output.prepare(directory)
        let original = try FileSystem.readFile(input, limit: 1 << 30)
        let files = directory + "/out"
        try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)

        // An existing file: refused without --force, replaced with it.
        let existing = files + "/existing." + output.fileExtension
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: existing))
        let refused = try CLI.run(arguments(existing))
        #expect(refused.status == 1, "\(refused.stderr)")
        #expect(refused.stderr.hasPrefix("error: ") && refused.stderr.contains("already exists"), "\(refused.stderr)")
        #expect(try FileSystem.readFile(existing) == Array("keep me".utf8))
        let replaced = try CLI.run(arguments(existing) + ["--force"])
        #expect(replaced.status == 0, "\(replaced.stderr)")
        #expect(try FileSystem.readFile(existing, limit: 1 << 30) != Array("keep me".utf8))

        // The input itself, a symlink to it and a hard link to it: refused even with --force.
        let symlink = files + "/symlink." + output.fileExtension, hardLink = files + "/hardlink." + output.fileExtension
        try FileManager.default.createSymbolicLink(atPath: symlink, withDestinationPath: input)
        try FileManager.default.linkItem(atPath: input, toPath: hardLink)
        for destination in [input, symlink, hardLink] {
            let result = try CLI.run(arguments(destination) + ["--force"])
            #expect(result.status == 1, "\(destination): \(result.stderr)")
            #expect(result.stderr.contains("refusing to write"), "\(destination): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        }
        #expect(try FileSystem.readFile(input, limit: 1 << 30) == original)
        #expect(FileSystem.kindWithoutFollowing(symlink) == .other)
        #expect(try FileManager.default.contentsOfDirectory(atPath: files).sorted() == ["existing", "hardlink", "symlink"].map { $0 + "." + output.fileExtension })
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).allSatisfy { !$0.contains(".weightkit-") })
    }

    @Test("two output options naming one file are refused before any work")
    func sameFileTwice() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clip = CLI.fixture("vision/clip-vision-tiny")
        let result = try CLI.run(["encode-image", clip, "--pixels", clip + "/reference/pixels.npy",
                                  "--out", directory + "/a.npy", "--pooled", directory + "/a.npy"])
        #expect(result.status == 1 && result.stderr.contains("name the same file"), "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }
}
