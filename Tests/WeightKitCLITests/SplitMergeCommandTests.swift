import Foundation
import Testing
import WeightFormats

/// `convert --split-max-size` and `merge` as a user runs them.
@Suite struct SplitMergeCommandTests {
    @Test(arguments: ["12Q", "0", "-5", "abc", "1.5.2M", ""])
    func badSizeIsAnError(size: String) throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try CLI.run(["convert", CLI.fixture("models/qwen2-tiny"), "--tokenizer-pre", "default", directory + "/m.gguf", "--split-max-size", size])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--split-max-size"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }

    @Test func splitsAndMergesWithUnits() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let split = try CLI.run(["convert", CLI.fixture("models/qwen2-tiny-gguf/qwen2-tiny-f32.gguf"), directory + "/s.gguf",
                                 "--split-max-size", "100KiB", "--quiet"])
        #expect(split.status == 0)
        let parts = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(parts.count > 1)
        #expect(parts.allSatisfy { $0.hasPrefix("s-0000") && $0.hasSuffix("-of-0000\(parts.count).gguf") })
        let merged = try CLI.run(["merge", directory + "/" + parts[0], directory + "/m.gguf", "--quiet"])
        #expect(merged.status == 0)
        #expect(try FileSystem.readFile(directory + "/m.gguf") == FileSystem.readFile(CLI.fixture("models/qwen2-tiny-gguf/qwen2-tiny-f32.gguf")))
        let again = try CLI.run(["merge", directory + "/" + parts[0], directory + "/m.gguf"])
        #expect(again.status == 1)
        #expect(again.stderr.contains("already exists"))
        #expect(try CLI.run(["merge", directory + "/" + parts[0], directory + "/m.gguf", "--force", "--quiet"]).status == 0)
    }

    /// The second part exceeds a 120 KiB file-size limit after the first was complete: no part
    /// is left behind.
    @Test func failedPartLeavesNoPart() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "ulimit -f 120; exec \"$0\" convert \"$1\" \"$2\" --split-max-size 150K 2>/dev/null", CLI.executable,
                             CLI.fixture("models/llama-tiny-gguf/llama-tiny-f32.gguf"), directory + "/m.gguf"]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }
}
