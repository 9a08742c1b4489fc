import CTemporaryFiles

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The names of WeightKit's named temporaries, `.NAME.weightkit-PID-RANDOM` beside the
/// destination NAME (RANDOM: eight lowercase hexadecimal digits), and the sweep that removes
/// those whose process is dead.
///
/// Named temporaries exist only where an unnamed one cannot: directory outputs (built in a
/// temporary sibling and renamed into place), file systems without `O_TMPFILE`, and the
/// instant between linking a finished file and renaming it over an existing destination.
/// Each is registered with the signal-time cleanup table (`wk_cleanup_register`) before it
/// is created, so SIGINT, SIGTERM and SIGHUP remove it; after a SIGKILL or a power cut, the
/// next output created in that directory removes it (`sweep`), once its PID is not running.
public enum TemporaryNames {
    static let marker = ".weightkit-"

    /// A fresh temporary name beside `destination`.
    public static func make(for destination: String) -> String {
        let random = UInt32.random(in: 0...UInt32.max)
        var hex = String(random, radix: 16)
        hex = String(repeating: "0", count: 8 - hex.count) + hex
        let name = "." + PathName.lastComponent(of: destination) + marker + String(getpid()) + "-" + hex
        return PathName.join(PathName.directory(of: destination), name)
    }

    /// The PID in a temporary's file name, nil for names that are not WeightKit temporaries.
    public static func process(ofTemporaryNamed name: String) -> Int32? {
        guard name.hasPrefix("."), name.utf8.count > marker.utf8.count + 11 else { return nil }
        let parts = name.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return nil }
        let random = parts[parts.count - 1], pid = parts[parts.count - 2]
        guard random.utf8.count == 8, random.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
              !pid.isEmpty, pid.utf8.count <= 10, pid.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
              let value = Int32(pid), value > 0
        else { return nil }
        let prefix = parts[..<(parts.count - 2)].joined(separator: "-")
        guard prefix.hasSuffix(".weightkit"), prefix.utf8.count > ".weightkit".utf8.count + 1 else { return nil }
        return value
    }

    /// Whether the process `pid` is running (or exists but is another user's).
    static func isRunning(_ pid: Int32) -> Bool {
        if pid == getpid() { return true }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// Removes the WeightKit temporaries in `directory` whose process is not running: files,
    /// and directories with everything in them. Errors are ignored (a sweep is a courtesy).
    ///
    /// - Returns: the paths removed.
    @discardableResult
    public static func sweep(directory: String) -> [String] {
        guard let names = try? FileSystem.contentsOfDirectory(directory) else { return [] }
        var removed: [String] = []
        for name in names {
            guard let pid = process(ofTemporaryNamed: name), !isRunning(pid) else { continue }
            let path = PathName.join(directory, name)
            if removeTree(path) { removed.append(path) }
        }
        return removed
    }

    /// Removes a file, or a directory and everything in it, without following symlinks.
    @discardableResult
    static func removeTree(_ path: String) -> Bool {
        if unlink(path) == 0 { return true }
        guard errno == EISDIR || errno == EPERM else { return errno == ENOENT }
        guard FileSystem.kindWithoutFollowing(path) == .directory else { return false }
        for name in (try? FileSystem.contentsOfDirectory(path)) ?? [] {
            removeTree(PathName.join(path, name))
        }
        return rmdir(path) == 0
    }

    /// `rename` that fails with EEXIST rather than replace `to` (renameat2's RENAME_NOREPLACE;
    /// where the kernel or file system lacks it, for a file, a hard link then an unlink).
    static func renameWithoutReplacing(_ from: String, _ to: String) -> Int32 {
        if wk_rename_noreplace(from, to) == 0 { return 0 }
        guard errno == ENOSYS || errno == EINVAL else { return -1 }
        if FileSystem.kindWithoutFollowing(from) == .directory {
            guard FileSystem.kindWithoutFollowing(to) == .missing else { errno = EEXIST; return -1 }
            return rename(from, to)
        }
        guard link(from, to) == 0 else { return -1 }
        unlink(from)
        return 0
    }
}
