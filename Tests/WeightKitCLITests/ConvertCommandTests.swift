import Foundation
import Testing
import WeightFormats

/// `weightkit convert` and `weightkit verify` as a user runs them: exit statuses, one-line
/// errors, and no destination left behind by a failed write.
@Suite struct ConvertCommandTests {
    @Test func convertsAndRefusesToOverwrite() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let destination = directory + "/m.gguf"
        let first = try CLI.run(["convert", CLI.fixture("models/qwen2-tiny"), "--tokenizer-pre", "default", destination, "--type", "q8_0", "--quiet"])
        #expect(first.status == 0)
        #expect(first.stderr.isEmpty)
        let again = try CLI.run(["convert", CLI.fixture("models/qwen2-tiny"), "--tokenizer-pre", "default", destination])
        #expect(again.status == 1)
        #expect(again.stderr.contains("already exists"))
        let forced = try CLI.run(["convert", CLI.fixture("models/qwen2-tiny"), "--tokenizer-pre", "default", destination, "--force", "--quiet"])
        #expect(forced.status == 0)
    }

    @Test func unknownTypeIsAnError() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try CLI.run(["convert", CLI.fixture("models/qwen2-tiny"), "--tokenizer-pre", "default", directory + "/m.gguf", "--type", "q3_k"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("unknown type 'q3_k'"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }

    @Test func fullDiskLeavesNoDestination() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A 50 KiB file-size limit (ulimit -f counts 1 KiB blocks) fails the write part way.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "ulimit -f 50; exec \"$0\" convert \"$1\" \"$2\" 2>/dev/null", CLI.executable,
                             CLI.fixture("models/llama-tiny"), directory + "/m.gguf"]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }

    /// A safetensors file of `megabytes` MB of zeros in one F32 tensor `[rows, 1024]`.
    static func largeSafeTensors(_ path: String, megabytes: Int) throws {
        let rows = megabytes * 1_000_000 / 4096
        var header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[\(rows),1024],\"data_offsets\":[0,\(rows * 4096)]}}"
        while header.utf8.count % 8 != 0 { header += " " }
        var length = UInt64(header.utf8.count).littleEndian
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.write(contentsOf: Data(bytes: &length, count: 8) + Data(header.utf8))
        let chunk = Data(count: 4096 * 256)
        for _ in 0..<(rows / 256) { try handle.write(contentsOf: chunk) }
        try handle.write(contentsOf: Data(count: 4096 * (rows % 256)))
        try handle.close()
    }

    @Test("a conversion killed part way leaves no destination (SIGKILL at growing delays)")
    func killedConversionLeavesNoDestination() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = directory + "/big.safetensors"
        _ = FileManager.default.createFile(atPath: source, contents: nil)
        try Self.largeSafeTensors(source, megabytes: 256)
        var kills = 0
        for delay in [2, 5, 10, 20, 40, 80, 160] {
            let destination = directory + "/out-\(delay).safetensors"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLI.executable)
            process.arguments = ["convert", source, destination, "--type", "f16", "--quiet"]
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(useconds_t(delay * 1000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal {
                kills += 1
                #expect(!FileManager.default.fileExists(atPath: destination), "killed after \(delay) ms, yet \(destination) exists")
            } else {
                // Finished (or failed) before the signal: a destination, if any, is complete.
                if FileManager.default.fileExists(atPath: destination) {
                    #expect(try CLI.run(["verify", destination]).status == 0)
                }
            }
        }
        #expect(kills > 0, "no conversion was still running when killed")
    }

    @Test func verifyReportsNonFiniteValues() throws {
        let bad = try CLI.run(["verify", CLI.fixture("conversion/nonfinite.safetensors"), "--json"])
        #expect(bad.status == 1)
        #expect(bad.json?["ok"]?.boolValue == false)
        let good = try CLI.run(["verify", CLI.fixture("models/qwen3-tiny-gguf/qwen3-tiny-q8_0.gguf"), "--hashes"])
        #expect(good.status == 0)
        #expect(good.stdout.contains("all finite"))
    }
}
