#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory.
///
/// The mapping lives as long as the object: every view taken from the file (tensor views,
/// metadata strings, lazy arrays) holds a reference to it, so bytes never dangle. Pages are
/// loaded on demand by the kernel, which is how a 100 GB checkpoint opens instantly on a
/// machine with less memory than that.
///
/// This type is the only place that calls `open`, `mmap` and `madvise`; keep platform calls here.
public final class MappedFile: @unchecked Sendable {
    /// The path the file was opened with.
    public let path: String
    /// The file's size in bytes (always at least 1).
    public let size: Int
    /// The device and inode of the file that was opened (for `.zst` files, of the compressed
    /// file); nil for bytes that are in no file.
    public let identity: FileIdentity?
    /// The mapped bytes: `size` bytes, read-only.
    public let bytes: UnsafeRawBufferPointer
    /// The whole mapping to release: the file itself, or for `init(copying:path:)` the data
    /// pages with their guard pages.
    private let mappingBase: UnsafeMutableRawPointer
    private let mappingLength: Int

    /// Maps the file at `path`. A path ending in `.zst` is decompressed first, as a stream,
    /// into an unlinked temporary file that is then mapped (see `ZstdDecompression`).
    ///
    /// - Throws: `FormatError.cannotOpen` when the file does not exist or cannot be read,
    ///   `.notARegularFile` for directories, `.specialFile` for FIFOs, devices and sockets
    ///   (refused without waiting for a writer), `.emptyFile` for zero bytes,
    ///   `.zstdFailed` for a corrupt or truncated `.zst` file.
    public convenience init(path: String) throws {
        let fd: Int32
        var compressedIdentity: FileIdentity?
        if ZstdDecompression.isCompressedPath(path) {
            compressedIdentity = FileIdentity(path: path)
            fd = try ZstdDecompression.decompressToTemporaryFile(path)
        } else {
            fd = try FileSystem.openRegularFile(path)
        }
        defer { close(fd) }
        try self.init(descriptor: fd, path: path, identity: compressedIdentity)
    }

    /// Maps the open file `fd` (which the caller closes) under the name `path`.
    init(descriptor fd: Int32, path: String, identity: FileIdentity? = nil) throws {
        self.path = path
        var info = stat()
        if fstat(fd, &info) != 0 { throw FormatError.cannotOpen(path: path, reason: errnoDescription()) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw FormatError.notARegularFile(path: path) }
        self.identity = identity ?? FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
        let size = Int(info.st_size)
        guard size > 0 else { throw FormatError.emptyFile(path: path) }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw FormatError.cannotOpen(path: path, reason: "mmap: " + errnoDescription())
        }
        self.size = size
        self.bytes = UnsafeRawBufferPointer(start: base, count: size)
        self.mappingBase = base
        self.mappingLength = size
    }

    /// Copies `contents` into an anonymous read-only mapping, for parsing bytes that are not
    /// in a file (fuzz targets, tests). The bytes end flush against an inaccessible guard
    /// page, and another guard page precedes them, so a parser that reads even one byte
    /// outside the buffer faults instead of reading whatever follows.
    ///
    /// - Throws: `.emptyFile` for zero bytes (as for a file), `.cannotOpen` when the mapping
    ///   cannot be made.
    init(copying contents: UnsafeRawBufferPointer, path: String = "<memory>") throws {
        self.path = path
        self.identity = nil
        guard contents.count > 0, let source = contents.baseAddress else { throw FormatError.emptyFile(path: path) }
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let (pages, overflow) = (contents.count / pageSize).addingReportingOverflow(contents.count % pageSize == 0 ? 0 : 1)
        let (dataLength, tooLarge) = pages.multipliedReportingOverflow(by: pageSize)
        guard !overflow, !tooLarge, dataLength <= Int.max - 2 * pageSize else {
            throw FormatError.cannotOpen(path: path, reason: "\(contents.count) bytes cannot be mapped")
        }
        let length = dataLength + 2 * pageSize
        guard let base = mmap(nil, length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), base != MAP_FAILED else {
            throw FormatError.cannotOpen(path: path, reason: "mmap: " + errnoDescription())
        }
        let dataPages = base + pageSize
        guard mprotect(dataPages, dataLength, PROT_READ | PROT_WRITE) == 0 else {
            let reason = errnoDescription()
            munmap(base, length)
            throw FormatError.cannotOpen(path: path, reason: "mprotect: " + reason)
        }
        let start = dataPages + (dataLength - contents.count)
        start.copyMemory(from: source, byteCount: contents.count)
        _ = mprotect(dataPages, dataLength, PROT_READ)
        self.size = contents.count
        self.bytes = UnsafeRawBufferPointer(start: start, count: contents.count)
        self.mappingBase = base
        self.mappingLength = length
    }

    deinit {
        munmap(mappingBase, mappingLength)
    }

    /// How the kernel should expect a range of the file to be read.
    public enum AccessPattern: Sendable {
        /// Read front to back once (conversion, hashing): read ahead aggressively.
        case sequential
        /// About to be read: start loading now.
        case willNeed
        /// Done with these pages: the kernel may drop them, keeping resident memory bounded.
        case dontNeed
        /// About to be read throughout, as a model's weights are: read the pages in and map
        /// them now (Linux's MADV_POPULATE_READ, as llama.cpp's loader maps with MAP_POPULATE),
        /// so that the first forward pass does not stop at every page. Falls back to `willNeed`.
        case populate
    }

    /// Physical memory in bytes (0 when unknown).
    public static var physicalMemory: Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        return pages > 0 && pageSize > 0 ? pages.multipliedReportingOverflow(by: pageSize).partialValue : 0
    }

    /// Advises the kernel about a byte range; a hint, never an error.
    public func advise(_ pattern: AccessPattern, offset: Int = 0, count: Int? = nil) {
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = offset / pageSize * pageSize
        let end = min(size, offset + (count ?? (size - offset)))
        guard end > start, let base = bytes.baseAddress else { return }
        let advice: Int32
        switch pattern {
        case .sequential: advice = MADV_SEQUENTIAL
        case .willNeed: advice = MADV_WILLNEED
        case .dontNeed: advice = MADV_DONTNEED
        case .populate:
            #if os(Linux)
            let populateRead: Int32 = 22  // MADV_POPULATE_READ, Linux 5.14
            if madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, populateRead) == 0 { return }
            #endif
            advice = MADV_WILLNEED
        }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, advice)
    }

    /// The file name without its directory.
    public var fileName: String { PathName.lastComponent(of: path) }
}

func errnoDescription() -> String {
    String(cString: strerror(errno))
}
