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

/// What `meta` keeps and what it leaves alone: modes, symlinks, --dry-run and --output.
@Suite struct MetaSafetyTests {
    static let source = "models/qwen3moe-tiny-gguf/qwen3moe-tiny-q8_0.gguf"

    func scratch() throws -> (directory: String, path: String) {
        let directory = CLI.temporaryDirectory()
        let path = directory + "/m.gguf"
        try FileManager.default.copyItem(atPath: CLI.fixture(Self.source), toPath: path)
        return (directory, path)
    }

    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test("a 0600 file stays 0600, edited in place or rewritten",
          arguments: [["--set", "qwen3moe.context_length=4096"], ["--set", "my.new:STRING=a longer value than fits"]])
    func keepsMode(_ edit: [String]) throws {
        let (directory, path) = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        let result = try CLI.run(["meta", path] + edit)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try mode(path) == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["m.gguf"])
    }

    @Test("through a symlink the target is edited and the symlink stays",
          arguments: [["--set", "qwen3moe.context_length=4096"], ["--set", "my.new:STRING=a longer value than fits"]])
    func editsSymlinkTarget(_ edit: [String]) throws {
        let (directory, path) = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let link = directory + "/link.gguf"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "m.gguf")
        let before = try FileSystem.readFile(path)
        let result = try CLI.run(["meta", link, "--yes"] + edit)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileSystem.kindWithoutFollowing(link) == .other)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == "m.gguf")
        #expect(try FileSystem.readFile(path) != before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["link.gguf", "m.gguf"])
    }

    @Test func dryRunPrintsAndWritesNothing() throws {
        let (directory, path) = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let before = try FileSystem.readFile(path)
        let original = try GGUFFile(path: path)
        let oldLength = try #require(original.metadata.int("qwen3moe.context_length"))
        let result = try CLI.run(["meta", path, "--dry-run", "--set", "qwen3moe.context_length=4096", "--set", "my.key:UINT8=3",
                                  "--delete", "general.file_type"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines.first == "set qwen3moe.context_length (UINT32): \(oldLength) -> 4096")
        #expect(lines.dropFirst().first == "add my.key (UINT8) = 3")
        #expect(lines.dropFirst(2).first?.hasPrefix("delete general.file_type (UINT32, was ") == true)
        #expect(try FileSystem.readFile(path) == before)
        let refused = try CLI.run(["meta", path, "--dry-run", "--set", "my.key=3"])
        #expect(refused.status == 1 && refused.stderr.contains("needs a type"))
    }

    /// --output writes what gguf_new_metadata.py writes (recorded by split_files.py), and
    /// leaves the source as it was.
    @Test(arguments: ["new-metadata.gguf", "set-metadata.gguf"])
    func outputEqualsGGUFPy(reference: String) throws {
        let (directory, path) = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let before = try FileSystem.readFile(path)
        let recorded = try #require(try CLI.json("conversion/meta/meta.json")[reference])
        let sets = try #require(recorded["set"]?.arrayValue).compactMap(\.stringValue)
        let deletes = try #require(recorded["delete"]?.arrayValue).compactMap(\.stringValue)
        let arguments = sets.flatMap { ["--set", $0] } + deletes.flatMap { ["--delete", $0] }
        let result = try CLI.run(["meta", path, "--output", directory + "/new.gguf"] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try FileSystem.readFile(directory + "/new.gguf") == FileSystem.readFile(CLI.fixture("conversion/meta/" + reference)))
        #expect(try FileSystem.readFile(path) == before)
    }
}
