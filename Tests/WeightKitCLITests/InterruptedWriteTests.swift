import Foundation
import Testing
import WeightFormats

/// A conversion killed (SIGKILL) or stopped (SIGTERM) in the middle of writing leaves nothing
/// in the destination's folder; what a SIGKILL of a directory output leaves is swept by the
/// next run.
@Suite(.serialized) struct InterruptedWriteTests {
    /// A safetensors checkpoint of `count` small tensors: enough progress lines that the
    /// child blocks on its stderr pipe long before it could finish.
    static func manyTensors(in directory: String, count: Int = 600) throws -> String {
        let path = directory + "/many.safetensors"
        let layouts = (0..<count).map { SafeTensorsTensorLayout(name: "t.\($0)", dtype: .f32, shape: [64]) }
        let writer = try SafeTensorsWriter(destination: path, metadata: nil, tensors: layouts)
        let values = [Float](repeating: 0.5, count: 64)
        for _ in 0..<count { try values.withUnsafeBytes { try writer.write($0) } }
        try writer.commit()
        return path
    }

    /// Starts `weightkit ARGUMENTS` with stderr on a small pipe, waits for its first
    /// "progress:" line, then sends `signal`. Returns whether the child died of the signal and
    /// what it printed. The child is spawned with no signal blocked and default dispositions,
    /// as a shell starts it (the test runner's threads block some signals, which a child would
    /// otherwise inherit).
    static func interrupt(_ arguments: [String], with signal: Int32) throws -> (signaled: Bool, line: String) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw POSIXError(.EIO) }
        _ = fcntl(fds[1], 1031 /* F_SETPIPE_SZ */, 4096)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t(), defaults = sigset_t()
        sigemptyset(&empty)
        sigemptyset(&defaults)
        for handled in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&defaults, handled) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([CLI.executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, CLI.executable, &actions, &attributes, argv, environ)
        close(fds[1])
        defer { close(fds[0]) }
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }
        var received: [UInt8] = []
        var byte: UInt8 = 0
        let marker = Array("progress: ".utf8)
        var sawMarker = false
        // A byte at a time, never past the first progress line; the read returns 0 if the
        // child exits first.
        while read(fds[0], &byte, 1) == 1 {
            received.append(byte)
            if !sawMarker && received.count >= marker.count && Array(received.suffix(marker.count)) == marker { sawMarker = true }
            if sawMarker && byte == 0x0A { break }
        }
        kill(pid, signal)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signaled = (status & 0x7F) != 0 && (status & 0x7F) != 0x7F
        return (signaled, String(decoding: received, as: UTF8.self))
    }

    static func entries(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    @Test("SIGKILL and SIGTERM on the first progress line leave nothing (file, split set, directory)",
          arguments: [SIGKILL, SIGTERM], ["out.safetensors", "out.gguf", "split.safetensors", "outdir"])
    func interrupted(signal: Int32, destination: String) throws {
        let scratch = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let source = try Self.manyTensors(in: scratch)
        let folder = scratch + "/destination"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var arguments = ["convert", source, folder + "/" + destination, "--progress"]
        if destination == "split.safetensors" { arguments += ["--split-max-size", "20000"] }
        if destination.hasSuffix(".gguf") {
            // safetensors without a config cannot become GGUF: GGUF -> GGUF from one made here.
            let gguf = scratch + "/many.gguf"
            let layouts = (0..<600).map { GGUFTensorLayout(name: "t.\($0)", type: .f32, shape: [64]) }
            let writer = try GGUFWriter(destination: gguf, metadata: GGUFMetadataList(), tensors: layouts)
            let values = [Float](repeating: 0.5, count: 64)
            for _ in 0..<600 { try values.withUnsafeBytes { try writer.write($0) } }
            try writer.commit()
            arguments = ["convert", gguf, folder + "/" + destination, "--progress"]
        }
        let (signaled, line) = try Self.interrupt(arguments, with: signal)
        #expect(line.contains("progress: 1/"), "\(line)")
        #expect(signaled, "the child finished before the signal: \(line)")
        if signal == SIGKILL && destination == "outdir" {
            // A killed directory output leaves its temporary sibling, named for its process...
            let left = try Self.entries(folder)
            #expect(left.count == 1 && left[0].hasPrefix(".outdir.weightkit-"), "\(left)")
            // ...which the next output written there removes, that process being dead.
            let again = try CLI.run(["convert", source, folder + "/other.safetensors", "--quiet"])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(try Self.entries(folder) == ["other.safetensors"])
        } else {
            #expect(try Self.entries(folder) == [], "\(destination), signal \(signal)")
        }
    }
}
