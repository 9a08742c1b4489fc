import Testing
@testable import WeightFormats
#if canImport(Glibc)
import Glibc
#endif

@Suite struct MappedFileTests {
    static func temporaryPath(_ name: String) -> String {
        var template = Array("/tmp/weightkit-mapped-XXXXXX".utf8CString)
        let directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        return directory + "/" + name
    }

    @Test func missingEmptyAndDirectory() throws {
        let missing = Self.temporaryPath("gone.gguf")
        if case .cannotOpen(let path, _) = formatError({ try MappedFile(path: missing) }) {
            #expect(path == missing)
        } else { Issue.record("expected cannotOpen") }

        let empty = Self.temporaryPath("empty.gguf")
        close(open(empty, O_CREAT | O_WRONLY, 0o644))
        #expect(formatError { try MappedFile(path: empty) } == .emptyFile(path: empty))
        #expect(formatError { try Checkpoint.open(empty) } == .emptyFile(path: empty))

        let directory = PathName.directory(of: empty)
        #expect(formatError { try MappedFile(path: directory) } == .notARegularFile(path: directory))
    }

    @Test("views keep the mapping alive after the file object is gone")
    func viewsRetainTheirFile() throws {
        var tensor: TensorView?
        do {
            let checkpoint = try Checkpoint.open(Fixture.path("core/tiny.gguf"))
            tensor = try checkpoint.requireTensor("blk.0.attn_norm.weight")
        }
        let values = try tensor!.floats()
        #expect(values.count == 64)
    }

    @Test("a 40 GiB file (larger than this machine's memory) opens and reads its last row")
    func largerThanMemory() throws {
        // A sparse safetensors file: one F32 tensor of 10 Gi elements; only touched pages load.
        let path = Self.temporaryPath("huge.safetensors")
        let rows = 10 << 20, columns = 1024
        let bytes = rows * columns * 4
        var header = "{\"huge\":{\"dtype\":\"F32\",\"shape\":[\(rows),\(columns)],\"data_offsets\":[0,\(bytes)]}}"
        while header.utf8.count % 8 != 0 { header += " " }
        let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
        var length = UInt64(header.utf8.count).littleEndian
        _ = withUnsafeBytes(of: &length) { write(fd, $0.baseAddress, 8) }
        _ = header.withCString { write(fd, $0, header.utf8.count) }
        #expect(ftruncate(fd, off_t(8 + header.utf8.count + bytes)) == 0)
        close(fd)
        defer { unlink(path) }

        let checkpoint = try Checkpoint.open(path)
        let tensor = try checkpoint.requireTensor("huge")
        #expect(tensor.shape == [rows, columns])
        #expect(checkpoint.totalFileSize > 40 << 30)
        #expect(try tensor.row(rows - 1) == [Float](repeating: 0, count: columns))
    }
}
