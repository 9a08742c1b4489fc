import Foundation
import Testing
import WeightFormats

/// Runs the built `weightkit` executable.
enum CLI {
    static let root: String = {
        var path = #filePath
        for _ in 0..<3 { path = PathName.directory(of: path) }
        return path
    }()

    static func fixture(_ relative: String) -> String { root + "/Fixtures/" + relative }

    /// The executable next to the test bundle (both live in the build products directory).
    static let executable: String = {
        var directory = PathName.directory(of: CommandLine.arguments[0])
        while !directory.isEmpty && directory != "/" {
            if FileManager.default.isExecutableFile(atPath: directory + "/weightkit") { return directory + "/weightkit" }
            directory = PathName.directory(of: directory)
        }
        return "weightkit"
    }()

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        var json: JSONValue? { try? JSON.parse(stdout) }
    }

    /// Runs the executable; one that is still running after `timeout` seconds is killed
    /// (SIGKILL) and reported with status -1, so a test of something that could hang fails
    /// instead of hanging.
    static func run(_ arguments: [String], timeout: Double, program: String = executable) throws -> Result {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outPath = directory + "/stdout", errPath = directory + "/stderr"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        var timedOut = false
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            timedOut = true
        }
        process.waitUntilExit()
        let stdout = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return Result(status: timedOut ? -1 : process.terminationStatus, stdout: stdout, stderr: stderr)
    }

    /// Runs `program` (the debug `weightkit` unless given) with `arguments`, and with
    /// `environment` added to the test process's environment.
    static func run(_ arguments: [String], program: String = executable, environment: [String: String] = [:]) throws -> Result {
        // Output goes to files, so a large output can never block the child on a full pipe.
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outPath = directory + "/stdout", errPath = directory + "/stderr"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.run()
        process.waitUntilExit()
        let stdout = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return Result(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }

    static func json(_ relative: String) throws -> JSONValue {
        try JSON.parse(FileSystem.readFile(fixture(relative)))
    }

    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "weightkit-tests-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
