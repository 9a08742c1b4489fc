import Foundation
import Testing
import WeightFormats

/// `weightkit meta` as a user runs it.
@Suite struct MetaCommandTests {
    @Test func printsEditsAndRefuses() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/m.gguf"
        try FileManager.default.copyItem(atPath: CLI.fixture("models/qwen2-tiny-gguf/qwen2-tiny-q8_0.gguf"), toPath: path)
        let original = try GGUFFile(path: path)

        let listed = try CLI.run(["meta", path, "--json"])
        #expect(listed.status == 0)
        #expect(listed.json?["metadata"]?.objectValue?.keys == original.metadata.entries.map(\.key))

        let edited = try CLI.run(["meta", path, "--set", "general.name=Renamed", "--set", "my.count:UINT16=7", "--quiet"])
        #expect(edited.status == 0)
        let after = try CLI.run(["meta", path, "--json"])
        #expect(after.json?["metadata"]?["general.name"]?.stringValue == "Renamed")
        #expect(after.json?["metadata"]?["my.count"]?.intValue == 7)
        #expect(after.json?["metadata_types"]?["my.count"]?.stringValue == "UINT16")

        let before = try FileSystem.readFile(path)
        for arguments in [["--delete", "absent.key"], ["--set", "general.alignment:UINT32=3"], ["--set", "x:WORD=1"], ["--set", "new=1"]] {
            let refused = try CLI.run(["meta", path] + arguments)
            #expect(refused.status == 1, "\(arguments)")
            #expect(refused.stderr.hasPrefix("error: "), "\(arguments)")
        }
        #expect(try FileSystem.readFile(path) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["m.gguf"])
    }
}
