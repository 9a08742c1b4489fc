import Foundation
import Testing
import WeightFormats

/// Inputs that are not files, images that would decompress to gigabytes, and names that would
/// drive the terminal: each an error or escaped text, never a hang, a crash or raw bytes.
@Suite struct HostileInputCLITests {
    // MARK: Not regular files

    @Test("FIFOs as a model, an image and a shard index are refused at once (the test times out rather than hang)")
    func fifos() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fifo = directory + "/pipe.gguf"
        #expect(mkfifo(fifo, 0o644) == 0)
        let inspect = try CLI.run(["inspect", fifo], timeout: 20)
        #expect(inspect.status == 1 && inspect.stderr.contains("is a FIFO"), "\(inspect.stderr)")

        let image = directory + "/pipe.png"
        #expect(mkfifo(image, 0o644) == 0)
        let encode = try CLI.run(["encode-image", CLI.fixture("vision/clip-vision-tiny"), "--image", image,
                                  "--out", directory + "/h.npy"], timeout: 20)
        #expect(encode.status == 1 && encode.stderr.contains("is a FIFO"), "\(encode.stderr)")

        let sharded = directory + "/sharded"
        try FileManager.default.copyItem(atPath: CLI.fixture("core/hf-sharded"), toPath: sharded)
        try FileManager.default.removeItem(atPath: sharded + "/model.safetensors.index.json")
        #expect(mkfifo(sharded + "/model.safetensors.index.json", 0o644) == 0)
        let index = try CLI.run(["inspect", sharded], timeout: 20)
        #expect(index.status == 1 && index.stderr.contains("model.safetensors.index.json is a FIFO"), "\(index.stderr)")

        // Through a symlink too, and a character device.
        let link = directory + "/link.gguf"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: fifo)
        let linked = try CLI.run(["tensor", link, "x"], timeout: 20)
        #expect(linked.status == 1 && linked.stderr.contains("is a FIFO"), "\(linked.stderr)")
        let device = try CLI.run(["verify", "/dev/zero"], timeout: 20)
        #expect(device.status == 1 && device.stderr.contains("is a character device"), "\(device.stderr)")
        #expect([inspect, encode, index, linked, device].allSatisfy { $0.stderr.split(separator: "\n").count == 1 })
    }

    // MARK: Pixel limits

    static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
        }
        return ~crc
    }

    static func bigEndian(_ value: UInt32, count: Int) -> [UInt8] {
        (0..<count).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * UInt32($0))) }
    }

    /// A fixture PNG whose IHDR declares `width` x `height` (CRC fixed), the data unchanged.
    static func png(width: UInt32, height: UInt32) throws -> [UInt8] {
        var bytes = try FileSystem.readFile(CLI.fixture("vision/images/portrait.png"))
        #expect(Array(bytes[12..<16]) == Array("IHDR".utf8))
        bytes.replaceSubrange(16..<20, with: bigEndian(width, count: 4))
        bytes.replaceSubrange(20..<24, with: bigEndian(height, count: 4))
        bytes.replaceSubrange(29..<33, with: bigEndian(crc32(bytes[12..<29]), count: 4))
        return bytes
    }

    /// A fixture JPEG whose start-of-frame declares `width` x `height`.
    static func jpeg(width: UInt16, height: UInt16) throws -> [UInt8] {
        var bytes = try FileSystem.readFile(CLI.fixture("vision/images/landscape.jpg"))
        var position = 2
        while position + 4 < bytes.count {
            #expect(bytes[position] == 0xFF)
            let marker = bytes[position + 1]
            let length = Int(bytes[position + 2]) << 8 | Int(bytes[position + 3])
            if (0xC0...0xC2).contains(marker) {
                bytes.replaceSubrange((position + 5)..<(position + 7), with: bigEndian(UInt32(height), count: 2))
                bytes.replaceSubrange((position + 7)..<(position + 9), with: bigEndian(UInt32(width), count: 2))
                return bytes
            }
            position += 2 + length
        }
        Issue.record("no start-of-frame marker")
        return bytes
    }

    @Test("PNG and JPEG headers over the pixel limit are refused before decoding; --max-pixels lowers it")
    func pixelLimits() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clip = CLI.fixture("vision/clip-vision-tiny")
        let bombs = [("bomb.png", try Self.png(width: 60000, height: 60000)), ("bomb.jpg", try Self.jpeg(width: 60000, height: 60000))]
        for (name, bytes) in bombs {
            let path = directory + "/" + name
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let result = try CLI.run(["encode-image", clip, "--image", path, "--out", directory + "/h.npy"], timeout: 20)
            #expect(result.status == 1, "\(name): \(result.stderr)")
            #expect(result.stderr.contains("60000x60000 image has 3600000000 pixels, more than the limit of 178956970"), "\(result.stderr)")
        }
        let portrait = CLI.fixture("vision/images/portrait.png")
        let lowered = try CLI.run(["encode-image", clip, "--image", portrait, "--out", directory + "/h.npy", "--max-pixels", "100"])
        #expect(lowered.status == 1 && lowered.stderr.contains("more than the limit of 100"), "\(lowered.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["bomb.jpg", "bomb.png"])
    }

    @Test("--pixels must have the model's image size")
    func pixelShape() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clip = CLI.fixture("vision/clip-vision-tiny")
        let reference = try NPY.read(clip + "/reference/pixels.npy")
        let size = reference.shape[2]
        // One image as [3, H, W] is accepted; twice the size is refused from the header.
        let single = directory + "/single.npy"
        try NPY.write(Array(reference.values.prefix(3 * size * size)), shape: [3, size, size], to: single)
        let accepted = try CLI.run(["encode-image", clip, "--pixels", single, "--out", directory + "/h.npy"])
        #expect(accepted.status == 0, "\(accepted.stderr)")
        let large = directory + "/large.npy"
        try NPY.write([Float](repeating: 0, count: 3 * 4 * size * size), shape: [1, 3, 2 * size, 2 * size], to: large)
        let refused = try CLI.run(["encode-image", clip, "--pixels", large, "--out", directory + "/h2.npy"])
        #expect(refused.status == 1 && refused.stderr.contains("the model's image size"), "\(refused.stderr)")
    }

    // MARK: Terminal injection

    @Test("control characters and invalid UTF-8 in names, keys and values are printed as \\xNN in text mode")
    func escapesControlCharacters() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/evil.gguf"
        let tensorName = "w\u{1B}]0;owned\u{07}\nfake line"
        var metadata = GGUFMetadataList()
        metadata["general.architecture"] = .string("llama")
        metadata["evil\u{1B}[2Jkey"] = .string("value\u{9B}31mred\u{7F}QQQQ")
        let writer = try GGUFWriter(destination: path, metadata: metadata, tensors: [GGUFTensorLayout(name: tensorName, type: .f32, shape: [4])])
        try [Float](repeating: 1, count: 4).withUnsafeBytes { try writer.write($0) }
        try writer.commit()
        // "QQQQ" becomes four bytes that are not UTF-8.
        var bytes = try FileSystem.readFile(path)
        let marker = Array("QQQQ".utf8)
        let at = try #require((0...(bytes.count - 4)).first { Array(bytes[$0..<($0 + 4)]) == marker })
        bytes.replaceSubrange(at..<(at + 4), with: [0xFF, 0xC3, 0x28, 0x80])
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        for arguments in [["inspect", path], ["meta", path], ["verify", path, "--hashes"], ["tensor", path, tensorName]] {
            let result = try CLI.run(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            let raw = Array(result.stdout.utf8)
            #expect(!raw.contains(0x1B) && !raw.contains(0x07) && !raw.contains(0x7F), "\(arguments)")
            #expect(!result.stdout.unicodeScalars.contains { (0x80...0x9F).contains($0.value) }, "\(arguments)")
            #expect(!result.stdout.contains("\nfake line"), "\(arguments)")
            if arguments[0] != "meta" {
                #expect(result.stdout.contains("w\\x1b]0;owned\\x07\\x0afake line"), "\(arguments): \(result.stdout)")
            }
        }
        let meta = try CLI.run(["meta", path])
        #expect(meta.stdout.contains("evil\\x1b[2Jkey"), "\(meta.stdout)")
        #expect(meta.stdout.contains("value\\xc2\\x9b31mred\\x7f\\xff\\xc3(\\x80"), "\(meta.stdout)")
        // A name in an error message is escaped too, and the message stays one line.
        let missing = try CLI.run(["tensor", path, "no\u{1B}[31mpe\nname"])
        #expect(missing.status == 1 && missing.stderr.contains("no\\x1b[31mpe\\x0aname"), "\(missing.stderr)")
        #expect(missing.stderr.split(separator: "\n").count == 1)
        // --json is left to the JSON writer's escapes.
        let json = try CLI.run(["inspect", path, "--json"])
        #expect(json.status == 0 && json.stdout.contains("\\u001b]0;owned\\u0007\\nfake line"), "\(json.stdout)")
    }
}

/// A 2 KB .pth whose tensor is one float expanded to [100000, 100000] (40 GB row-major).
@Suite struct ExpandedViewCLITests {
    @Test("inspect and verify read it as a view; tensor, convert and diff refuse it, naming shape and strides")
    func expandedPTH() throws {
        let path = CLI.fixture("pytorch/expanded.pth"), directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let inspect = try CLI.run(["inspect", path], timeout: 20)
        #expect(inspect.status == 0 && inspect.stdout.contains("[100000, 100000]"), "\(inspect.stderr)")
        let verify = try CLI.run(["verify", path, "--json"], timeout: 20)
        #expect(verify.status == 0, "\(verify.stderr)")
        for arguments in [["tensor", path, "zeros"], ["tensor", path, "zeros", "--out", directory + "/z.npy"],
                          ["convert", path, directory + "/z.safetensors"], ["diff", path, path]] {
            let result = try CLI.run(arguments, timeout: 20)
            #expect(result.status == 1, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("tensor 'zeros': a view of shape [100000, 100000] with strides [0, 0]"), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == [])
    }
}
