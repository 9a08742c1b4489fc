import Foundation
import Testing
@testable import WeightFormats

/// Output files: unnamed until complete, never replacing what they may not, and their named
/// fallbacks removed or swept.
@Suite struct OutputFileTests {
    func scratch() -> String {
        let directory = NSTemporaryDirectory() + "weightkit-output-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    func entries(_ directory: String) throws -> [String] { try FileSystem.contentsOfDirectory(directory) }

    @Test("an unnamed temporary has no name until the commit; the file gets mode 0644")
    func unnamedUntilCommit() throws {
        let directory = scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = try OutputFile(destination: directory + "/a.bin")
        try output.write("hello")
        try output.synchronize()
        #expect(output.temporaryPath == nil)
        #expect(try entries(directory) == [])
        try output.commit()
        #expect(try entries(directory) == ["a.bin"])
        #expect(try FileSystem.readFile(directory + "/a.bin") == Array("hello".utf8))
        let mode = (try FileManager.default.attributesOfItem(atPath: directory + "/a.bin")[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o644)
        // Dropped uncommitted: nothing appears.
        do {
            let dropped = try OutputFile(destination: directory + "/b.bin")
            try dropped.write("x")
        }
        #expect(try entries(directory) == ["a.bin"])
    }

    @Test("without overwrite a file that appears before the commit is not replaced", arguments: [false, true])
    func appearingDestination(named: Bool) throws {
        let directory = scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/a.bin"
        let output = try OutputFile(destination: path, overwrite: false, inputs: InputFiles(), compression: nil, size: nil,
                                    temporary: named ? .named : .unnamedWhenPossible)
        try output.write("new")
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: WriteError.destinationExists(path: path)) { try output.commit() }
        #expect(try FileSystem.readFile(path) == Array("old".utf8))
        #expect(try entries(directory) == ["a.bin"])
    }

    @Test("inputs are refused even with overwrite: the path, a symlink, a hard link", arguments: [false, true])
    func inputsRefused(named: Bool) throws {
        let directory = scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let input = directory + "/in.bin"
        try Data("input".utf8).write(to: URL(fileURLWithPath: input))
        try FileManager.default.createSymbolicLink(atPath: directory + "/sym", withDestinationPath: "in.bin")
        try FileManager.default.linkItem(atPath: input, toPath: directory + "/hard")
        let inputs = InputFiles(paths: [input])
        for destination in [input, directory + "/sym", directory + "/hard"] {
            #expect(throws: WriteError.destinationIsInput(path: destination, input: input)) {
                _ = try OutputFile(destination: destination, overwrite: true, inputs: inputs, compression: nil, size: nil,
                                   temporary: named ? .named : .unnamedWhenPossible)
            }
        }
        // An input that appears at the destination between the creation and the commit.
        let later = directory + "/later.bin"
        let output = try OutputFile(destination: later, overwrite: true, inputs: inputs, compression: nil, size: nil,
                                    temporary: named ? .named : .unnamedWhenPossible)
        try output.write("new")
        try FileManager.default.linkItem(atPath: input, toPath: later)
        #expect(throws: WriteError.destinationIsInput(path: later, input: input)) { try output.commit() }
        #expect(try FileSystem.readFile(input) == Array("input".utf8))
        #expect(try entries(directory).sorted() == ["hard", "in.bin", "later.bin", "sym"])
    }

    @Test("overwrite replaces an existing file; the named fallback is removed on abandon and on commit")
    func namedFallback() throws {
        let directory = scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/a.bin"
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        let output = try OutputFile(destination: path, overwrite: true, inputs: InputFiles(), compression: nil, size: nil, temporary: .named)
        let temporary = try #require(output.temporaryPath)
        #expect(TemporaryNames.process(ofTemporaryNamed: PathName.lastComponent(of: temporary)) == getpid())
        #expect(PathName.lastComponent(of: temporary).hasPrefix(".a.bin.weightkit-\(getpid())-"))
        try output.write("new")
        try output.commit()
        #expect(try FileSystem.readFile(path) == Array("new".utf8))
        #expect(try entries(directory) == ["a.bin"])

        let abandoned = try OutputFile(destination: directory + "/b.bin", overwrite: false, inputs: InputFiles(), compression: nil,
                                       size: nil, temporary: .named)
        #expect(try entries(directory).count == 2)
        #expect(abandoned.abandon() == nil)
        #expect(try entries(directory) == ["a.bin"])
    }

    @Test("the sweep removes temporaries of dead processes only, and nothing else")
    func sweep() throws {
        let directory = scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A PID that is not running: a child that has exited and been reaped.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let dead = child.processIdentifier
        let names = [
            ".m.gguf.weightkit-\(dead)-0123abcd",  // a dead process's file: removed
            ".out.weightkit-\(dead)-deadbeef",  // and its directory, with contents: removed
            ".m.gguf.weightkit-\(getpid())-0123abcd",  // a live process's: kept
            ".m.gguf.weightkit-\(dead)-0123ABCD",  // not the pattern (upper case): kept
            "m.gguf.weightkit-\(dead)-0123abcd",  // not hidden: kept
            ".m.gguf.weightkit-\(dead)-0123abc",  // seven digits: kept
        ]
        for name in names where name != ".out.weightkit-\(dead)-deadbeef" {
            try Data().write(to: URL(fileURLWithPath: directory + "/" + name))
        }
        try FileManager.default.createDirectory(atPath: directory + "/.out.weightkit-\(dead)-deadbeef", withIntermediateDirectories: true)
        try Data().write(to: URL(fileURLWithPath: directory + "/.out.weightkit-\(dead)-deadbeef/config.json"))
        let removed = TemporaryNames.sweep(directory: directory)
        #expect(Set(removed.map(PathName.lastComponent)) == Set(names.prefix(2)))
        #expect(Set(try entries(directory)) == Set(names.dropFirst(2)))
    }

    @Test("a directory output appears whole, or not at all")
    func directoryOutput() throws {
        let parent = scratch()
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let destination = parent + "/model"
        do {
            let abandoned = try OutputDirectory(destination: destination)
            let file = try OutputFile(destination: abandoned.path(for: "config.json"))
            try file.write("{}")
            try file.commit()
            #expect(try entries(parent).count == 1 && entries(parent)[0].hasPrefix(".model.weightkit-"))
        }
        #expect(try entries(parent) == [])

        let directory = try OutputDirectory(destination: destination)
        for name in ["config.json", "model.safetensors"] {
            let file = try OutputFile(destination: directory.path(for: name))
            try file.write(name)
            try file.commit()
        }
        #expect(try directory.commit().map(PathName.lastComponent).sorted() == ["config.json", "model.safetensors"])
        #expect(try entries(parent) == ["model"])

        // Into an existing directory: existing files need overwrite; others are kept.
        try Data("mine".utf8).write(to: URL(fileURLWithPath: destination + "/README.md"))
        let again = try OutputDirectory(destination: destination)
        #expect(throws: WriteError.destinationExists(path: destination + "/config.json")) { try again.checkFree(["config.json"]) }
        again.abandon()
        let replacing = try OutputDirectory(destination: destination, overwrite: true)
        let file = try OutputFile(destination: replacing.path(for: "config.json"))
        try file.write("{\"new\": 1}")
        try file.commit()
        try replacing.commit()
        #expect(try entries(destination).sorted() == ["README.md", "config.json", "model.safetensors"])
        #expect(try FileSystem.readFile(destination + "/config.json") == Array("{\"new\": 1}".utf8))
        #expect(try entries(parent) == ["model"])
    }

    @Test("row(_:) throws for an index out of range")
    func rowOutOfRange() throws {
        let tensor = try #require(try GGUFFile(path: Fixture.path("core/tiny.gguf")).tensorViews().first)
        #expect(throws: FormatError.rowOutOfRange(tensor: tensor.name, index: tensor.rowCount, rowCount: tensor.rowCount)) {
            try tensor.row(tensor.rowCount)
        }
        #expect(throws: FormatError.rowOutOfRange(tensor: tensor.name, index: -1, rowCount: tensor.rowCount)) { try tensor.row(-1) }
        #expect(try tensor.row(0).count == tensor.rowLength)
    }

    @Test("a .npy whose shape product overflows is refused")
    func npyShapeOverflow() throws {
        let directory = scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }"
        header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
        let bytes = NPY.magic + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)] + Array(header.utf8) + [0, 0, 0, 0]
        let path = directory + "/x.npy"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: FormatError.self) { try NPY.read(path) }
        #expect(throws: FormatError.self) { try NPY.readHeader(path) }
    }
}
