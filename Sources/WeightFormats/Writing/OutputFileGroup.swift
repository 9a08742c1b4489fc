#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Files that appear together or not at all: the parts of a split GGUF, the shards of a
/// safetensors checkpoint with their index.
///
/// Each file is written to its own temporary file (`OutputFile`). `commit()` syncs them all and
/// only then renames them into place; if a sync or a rename fails, the temporary files are
/// removed and the files already renamed are unlinked again, so no part of the set is left.
public final class OutputFileGroup {
    public private(set) var files: [OutputFile] = []
    private var finished = false

    public init() {}

    deinit {
        if !finished { abandon() }
    }

    /// Adds a file to commit with the others.
    public func add(_ file: OutputFile) {
        files.append(file)
    }

    /// Syncs every file, then renames each onto its destination.
    public func commit() throws {
        do {
            for file in files { try file.synchronize() }
        } catch {
            abandon()
            throw error
        }
        var renamed: [OutputFile] = []
        for file in files {
            do {
                try file.commit()
                renamed.append(file)
            } catch {
                for done in renamed { unlink(done.destination) }
                abandon()
                throw error
            }
        }
        finished = true
    }

    /// Removes every temporary file; no destination is touched.
    public func abandon() {
        for file in files { file.abandon() }
        finished = true
    }
}
