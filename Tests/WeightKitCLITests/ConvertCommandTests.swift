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
        let first = try CLI.run(["convert", CLI.fixture("models/qwen2-tiny"), destination, "--type", "q8_0", "--quiet"])
        #expect(first.status == 0)
        #expect(first.stderr.isEmpty)
        let again = try CLI.run(["convert", CLI.fixture("models/qwen2-tiny"), destination])
        #expect(again.status == 1)
        #expect(again.stderr.contains("already exists"))
        let forced = try CLI.run(["convert", CLI.fixture("models/qwen2-tiny"), destination, "--force", "--quiet"])
        #expect(forced.status == 0)
    }

    @Test func unknownTypeIsAnError() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try CLI.run(["convert", CLI.fixture("models/qwen2-tiny"), directory + "/m.gguf", "--type", "q3_k"])
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

    @Test func verifyReportsNonFiniteValues() throws {
        let bad = try CLI.run(["verify", CLI.fixture("conversion/nonfinite.safetensors"), "--json"])
        #expect(bad.status == 1)
        #expect(bad.json?["ok"]?.boolValue == false)
        let good = try CLI.run(["verify", CLI.fixture("models/qwen3-tiny-gguf/qwen3-tiny-q8_0.gguf"), "--hashes"])
        #expect(good.status == 0)
        #expect(good.stdout.contains("all finite"))
    }
}
