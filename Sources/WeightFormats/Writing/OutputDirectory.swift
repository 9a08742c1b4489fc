import CTemporaryFiles

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A directory of files (a Hugging Face checkpoint: config.json, model.safetensors, shards
/// and their index) that appears complete or not at all.
///
/// The files are built in a temporary sibling, `.NAME.weightkit-PID-RANDOM` (see
/// `TemporaryNames`), each written as an `OutputFile` inside it. `commit()` renames the
/// sibling onto the destination when there is none. When the destination is an existing
/// directory, each file is moved into it instead (refusing, without `overwrite`, any that
/// exists there, and always any that is one of `inputs`), and the sibling is removed. A
/// failure, an uncommitted drop, SIGINT, SIGTERM or SIGHUP removes the sibling; after a
/// SIGKILL the next output in the parent directory sweeps it.
public final class OutputDirectory {
    public let destination: String
    /// Where the files are built until the commit.
    public let workingPath: String
    private let overwrite: Bool
    private let inputs: InputFiles
    private var cleanupSlot: Int32 = -1
    private var finished = false

    /// Creates the temporary sibling.
    ///
    /// - Throws: `WriteError.destinationExists` when the destination exists and is not a
    ///   directory, `.destinationIsInput` when it is an input directory, `.cannotCreate`.
    public init(destination: String, overwrite: Bool = false, inputs: InputFiles = InputFiles()) throws {
        if let input = inputs.input(at: destination) {
            throw WriteError.destinationIsInput(path: destination, input: input)
        }
        switch FileSystem.kind(of: destination) {
        case .missing, .directory: break
        default: throw WriteError.destinationExists(path: destination)
        }
        self.destination = destination
        self.overwrite = overwrite
        self.inputs = inputs
        TemporaryNames.sweep(directory: PathName.directory(of: destination))
        let working = TemporaryNames.make(for: destination)
        cleanupSlot = wk_cleanup_register_directory(working)
        guard mkdir(working, 0o755) == 0 else {
            let reason = errnoDescription()
            wk_cleanup_unregister(cleanupSlot)
            throw WriteError.cannotCreate(path: destination, reason: reason)
        }
        self.workingPath = working
    }

    deinit {
        if !finished { abandon() }
    }

    /// The path at which to write the file `name` of the directory.
    public func path(for name: String) -> String { PathName.join(workingPath, name) }

    /// Refuses, before anything is written, files of the directory that exist at the
    /// destination (unless `overwrite`) or are inputs.
    public func checkFree(_ names: [String]) throws {
        guard FileSystem.kind(of: destination) == .directory else { return }
        for name in names {
            try OutputFile.checkDestination(PathName.join(destination, name), overwrite: overwrite, inputs: inputs)
        }
    }

    /// Puts the built directory (or its files) at the destination.
    ///
    /// - Returns: the paths of the files at the destination.
    @discardableResult
    public func commit() throws -> [String] {
        let names = try FileSystem.contentsOfDirectory(workingPath)
        if FileSystem.kind(of: destination) == .missing {
            guard TemporaryNames.renameWithoutReplacing(workingPath, destination) == 0 else {
                let reason = errnoDescription()
                abandon()
                throw WriteError.renameFailed(from: workingPath, to: destination, reason: reason)
            }
            finish()
            return names.map { PathName.join(destination, $0) }
        }
        do {
            try checkFree(names)
        } catch {
            abandon()
            throw error
        }
        var moved: [String] = []
        for name in names {
            let target = PathName.join(destination, name)
            let source = path(for: name)
            let result = overwrite ? rename(source, target) : TemporaryNames.renameWithoutReplacing(source, target)
            guard result == 0 else {
                let reason = errnoDescription()
                abandon()
                let done = moved.isEmpty ? "" : " (already moved: \(moved.joined(separator: ", ")))"
                throw WriteError.renameFailed(from: source, to: target + done, reason: reason)
            }
            moved.append(target)
        }
        rmdir(workingPath)
        finish()
        return moved
    }

    private func finish() {
        wk_cleanup_unregister(cleanupSlot)
        cleanupSlot = -1
        finished = true
    }

    /// Removes the temporary sibling and everything in it; the destination is untouched.
    ///
    /// - Returns: the sibling's path when it could not be removed, nil otherwise.
    @discardableResult
    public func abandon() -> String? {
        guard !finished else { return nil }
        let removed = TemporaryNames.removeTree(workingPath)
        finish()
        return removed ? nil : workingPath
    }
}
