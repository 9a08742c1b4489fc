import CZstd
import Foundation
import Testing
@testable import WeightFormats

/// `.zst` inputs made by the `zstd` CLI (Fixtures/generators/split_files.py) and zstd output.
@Suite struct ZstdTests {
    static let compressed = "conversion/zstd/qwen3moe-tiny-q8_0.gguf.zst"
    static let original = "models/qwen3moe-tiny-gguf/qwen3moe-tiny-q8_0.gguf"

    func scratch(_ name: String) throws -> String {
        let directory = NSTemporaryDirectory() + "weightkit-zstd-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory + "/" + name
    }

    /// A copy of a mapping's bytes, taken while the mapping is alive.
    func contents(_ file: MappedFile) -> [UInt8] {
        withExtendedLifetime(file) { Array(file.bytes) }
    }

    @Test func readsWhatTheZstdToolWrote() throws {
        let file = try MappedFile(path: Fixture.path(Self.compressed))
        let original = try MappedFile(path: Fixture.path(Self.original))
        #expect(file.size == original.size)
        #expect(contents(file) == contents(original))
        let checkpoint = try Checkpoint.open(Fixture.path(Self.compressed))
        #expect(checkpoint.tensors.count == (try GGUFFile(path: Fixture.path(Self.original))).tensorInfos.count)
    }

    @Test(arguments: [0.5, 0.99])
    func truncatedInputIsATypedError(fraction: Double) throws {
        let bytes = try FileSystem.readFile(Fixture.path(Self.compressed))
        let path = try scratch("cut.gguf.zst")
        FileManager.default.createFile(atPath: path, contents: Data(bytes[0..<Int(Double(bytes.count) * fraction)]))
        #expect {
            try MappedFile(path: path)
        } throws: { error in
            guard case .zstdFailed(let failed, _, _) = error as? FormatError else { return false }
            return failed == path
        }
    }

    @Test func corruptInputIsATypedError() throws {
        var bytes = try FileSystem.readFile(Fixture.path(Self.compressed))
        for i in stride(from: 100, to: bytes.count - 100, by: 997) { bytes[i] ^= 0x5A }
        let path = try scratch("bad.gguf.zst")
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        #expect {
            try MappedFile(path: path)
        } throws: { error in
            if case .zstdFailed = error as? FormatError { return true }
            return false
        }
        let notZstd = try scratch("plain.gguf.zst")
        try FileManager.default.copyItem(atPath: Fixture.path(Self.original), toPath: notZstd)
        #expect {
            try MappedFile(path: notZstd)
        } throws: { error in
            if case .zstdFailed(_, let offset, _) = error as? FormatError { return offset == 0 }
            return false
        }
    }

    /// Written compressed, read back through the decompressing reader: the same bytes; the
    /// `zstd` tool (when installed) decompresses it to the same bytes too.
    @Test(arguments: [1, 3, 19])
    func compressedOutputRoundTrips(level: Int) throws {
        let original = try FileSystem.readFile(Fixture.path(Self.original))
        let path = try scratch("out.gguf.zst")
        let output = try OutputFile(destination: path, compression: try ZstdCompression(level: level))
        // Pieces of awkward sizes, one larger than the buffer.
        var offset = 0
        for size in [1, 4095, 3 << 20, 17] where offset < original.count {
            let end = min(original.count, offset + size)
            try output.write(Array(original[offset..<end]))
            offset = end
        }
        try output.write(Array(original[offset...]))
        try output.commit()
        #expect(contents(try MappedFile(path: path)) == original)
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/zstd") {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/zstd")
            process.arguments = ["-d", "-q", path, "-o", path + ".out"]
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            #expect(try FileSystem.readFile(path + ".out") == original)
        }
    }

    /// A writer that knows its size puts it in the frame header (as the zstd tool does for a
    /// file); one that then writes a different count gets an error and leaves no file.
    @Test func frameHeaderCarriesTheSize() throws {
        let original = try FileSystem.readFile(Fixture.path(Self.original))
        let path = try scratch("sized.gguf.zst")
        let output = try OutputFile(destination: path, compression: try ZstdCompression(), size: original.count)
        try output.write(original)
        try output.commit()
        let frame = [UInt8](try #require(FileManager.default.contents(atPath: path)))   // as stored, not decompressed
        #expect(frame.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) } == UInt64(original.count))
        #expect(contents(try MappedFile(path: path)) == original)

        let short = try scratch("short.gguf.zst")
        #expect(throws: WriteError.self) {
            let output = try OutputFile(destination: short, compression: try ZstdCompression(), size: original.count + 1)
            try output.write(original)
            try output.commit()
        }
        #expect(FileSystem.kind(of: short) == .missing)
    }

    @Test(arguments: ["lz4", "zstd:0", "zstd:23", "zstd:x", "zstd:"])
    func badCompressionIsRefused(text: String) {
        #expect(throws: WriterError.self) { try ZstdCompression(parsing: text) }
    }
}
