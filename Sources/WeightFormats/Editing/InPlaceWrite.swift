#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Overwrites bytes of an existing file where they are, for header edits that keep every offset.
enum InPlaceWrite {
    /// Writes the bytes of `new` that differ from `old` (both start at file offset 0) with one
    /// `pwrite` of the changed range, then syncs.
    ///
    /// - Returns: the number of bytes written.
    static func patch(path: String, old: UnsafeRawBufferPointer, new: [UInt8]) throws -> Int {
        precondition(new.count <= old.count)
        guard let first = new.indices.first(where: { new[$0] != old[$0] }) else { return 0 }
        let last = new.indices.last(where: { new[$0] != old[$0] })!
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw WriteError.cannotCreate(path: path, reason: errnoDescription()) }
        defer { close(fd) }
        let count = last - first + 1
        let written = new.withUnsafeBytes { pwrite(fd, $0.baseAddress! + first, count, off_t(first)) }
        guard written == count, fsync(fd) == 0 else { throw WriteError.writeFailed(path: path, reason: errnoDescription()) }
        return count
    }
}
