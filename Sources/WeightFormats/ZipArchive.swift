/// A read-only ZIP archive inside a mapped file, as PyTorch's `torch.save` writes it.
///
/// Byte layout (PKWARE APPNOTE 6.3; all fields little-endian):
///
///     for each entry:
///       local file header   "PK\x03\x04", version (u16), flags (u16), method (u16), time (u16),
///                           date (u16), crc-32 (u32), compressed size (u32), uncompressed
///                           size (u32), name length n (u16), extra length m (u16), name (n
///                           bytes), extra (m bytes; torch.save pads here so data is aligned)
///       data                the entry's bytes (stored, i.e. method 0, in torch.save files)
///       data descriptor     optional (flag bit 3): crc and sizes, which the central
///                           directory repeats; never read here
///     central directory     one 46-byte record per entry, "PK\x01\x02": ..., method (u16) at
///                           10, compressed size (u32) at 20, uncompressed size (u32) at 24,
///                           name length (u16) at 28, extra length (u16) at 30, comment length
///                           (u16) at 32, disk (u16) at 34, local header offset (u32) at 42,
///                           then name, extra, comment
///     ZIP64 end record      optional, "PK\x06\x06": size of record (u64), versions (2×u16),
///                           disks (2×u32), entries on this disk (u64), entries (u64),
///                           directory size (u64), directory offset (u64)
///     ZIP64 locator         optional, "PK\x06\x07": disk (u32), offset of the ZIP64 end
///                           record (u64), disk count (u32)
///     end of central dir    "PK\x05\x06": disk (u16), directory disk (u16), entries on this
///                           disk (u16), entries (u16), directory size (u32), directory offset
///                           (u32), comment length (u16), comment (at most 65,535 bytes)
///
/// A field of all ones (0xFFFF, 0xFFFFFFFF) in the end record or a directory record means
/// "see ZIP64": the value lives in the ZIP64 end record, or in the directory record's ZIP64
/// extra field (id 0x0001: uncompressed size, compressed size, local header offset, disk, each
/// present only when its 32-bit field is all ones). torch.save always writes the ZIP64 end
/// record and locator; files over 4 GB also need the extra fields.
///
/// Every structure is checked against the file before it is read: signatures, the directory
/// inside the file, an entry count that fits in the directory, names, extra fields and
/// comments inside their records, local headers and data inside the file. Sizes come from the
/// central directory (torch.save leaves them zero in local headers). Only single-disk archives
/// are read; entries may be listed but only stored (method 0), unencrypted ones can be viewed.
public enum ZipLimits {
    public static let localHeaderSignature: UInt32 = 0x0403_4b50
    public static let centralHeaderSignature: UInt32 = 0x0201_4b50
    public static let endSignature: UInt32 = 0x0605_4b50
    public static let zip64EndSignature: UInt32 = 0x0606_4b50
    public static let zip64LocatorSignature: UInt32 = 0x0706_4b50
    /// The first four bytes of an archive that starts with an entry: "PK\x03\x04".
    public static let magic: [UInt8] = [0x50, 0x4b, 0x03, 0x04]

    static let localHeaderSize = 30
    static let centralHeaderSize = 46
    static let endRecordSize = 22
    static let zip64EndRecordSize = 56
    static let zip64LocatorSize = 20
    /// The longest comment the end record can announce, so the furthest back it can start.
    static let maxCommentLength = 0xFFFF
    static let zip64ExtraID: UInt16 = 0x0001
}

/// One entry of a ZIP archive's central directory.
public struct ZipEntry: Sendable, Equatable {
    public let name: String
    /// Compression method: 0 is stored, 8 deflate.
    public let method: UInt16
    public let flags: UInt16
    public let compressedSize: Int
    public let uncompressedSize: Int
    /// Absolute offset of the entry's local file header.
    public let localHeaderOffset: Int

    public var isEncrypted: Bool { flags & 1 != 0 }
}

/// A validated ZIP central directory over a mapped file; entries' data are located on demand.
public struct ZipArchive: Sendable {
    public let file: MappedFile
    /// Entries in central-directory order.
    public let entries: [ZipEntry]
    private let indexByName: [String: Int]

    /// Reads and checks the central directory of `file`.
    ///
    /// - Throws: a `FormatError` naming the structure, offset and what was found.
    public init(file: MappedFile) throws {
        self.file = file
        let directory = try ZipParser.locateCentralDirectory(file)
        self.entries = try ZipParser.readEntries(file, directory)
        var index: [String: Int] = [:]
        index.reserveCapacity(entries.count)
        for (position, entry) in entries.enumerated() {
            guard index.updateValue(position, forKey: entry.name) == nil else {
                throw FormatError.zipDuplicateEntry(name: entry.name)
            }
        }
        self.indexByName = index
    }

    /// The entry called `name`, or nil.
    public func entry(named name: String) -> ZipEntry? {
        indexByName[name].map { entries[$0] }
    }

    /// The absolute byte range of a stored entry's data, checked against the file.
    ///
    /// - Throws: `.zipEntryEncrypted`, `.zipEntryCompressed` (naming the entry and method),
    ///   `.zipBadSignature` for a local header that is not one, `.zipEntryOutOfBounds`.
    public func storedData(of entry: ZipEntry) throws -> Range<Int> {
        guard !entry.isEncrypted else { throw FormatError.zipEntryEncrypted(name: entry.name) }
        guard entry.method == 0 else { throw FormatError.zipEntryCompressed(name: entry.name, method: entry.method) }
        guard entry.compressedSize == entry.uncompressedSize else {
            throw FormatError.zipInvalid(
                structure: "entry '\(entry.name)'", offset: entry.localHeaderOffset,
                reason: "stored entry has compressed size \(entry.compressedSize) but uncompressed size \(entry.uncompressedSize)")
        }
        var cursor = ByteCursor(file.bytes, offset: entry.localHeaderOffset)
        let structure = "local header of '\(entry.name)'"
        guard cursor.remaining >= ZipLimits.localHeaderSize else {
            throw FormatError.zipStructureOutOfBounds(
                structure: structure, offset: entry.localHeaderOffset, size: ZipLimits.localHeaderSize, fileSize: file.size)
        }
        let signature = try cursor.read(UInt32.self, structure)
        guard signature == ZipLimits.localHeaderSignature else {
            throw FormatError.zipBadSignature(structure: structure, offset: entry.localHeaderOffset, found: signature)
        }
        try cursor.skip(22, structure)
        let nameLength = Int(try cursor.read(UInt16.self, structure))
        let extraLength = Int(try cursor.read(UInt16.self, structure))
        let dataOffset = cursor.offset + nameLength + extraLength
        guard dataOffset <= file.size, entry.compressedSize <= file.size - dataOffset else {
            throw FormatError.zipEntryOutOfBounds(name: entry.name, offset: dataOffset, size: entry.compressedSize, fileSize: file.size)
        }
        return dataOffset..<(dataOffset + entry.compressedSize)
    }
}

enum ZipParser {
    struct CentralDirectory {
        var offset: Int
        var size: Int
        var count: Int
    }

    /// Finds the end record (searching back over the longest possible comment), follows the
    /// ZIP64 locator when there is one, and checks the directory lies inside the file.
    static func locateCentralDirectory(_ file: MappedFile) throws -> CentralDirectory {
        let bytes = file.bytes
        guard file.size >= ZipLimits.endRecordSize else {
            throw FormatError.zipEndRecordMissing(fileSize: file.size)
        }
        let lowest = max(0, file.size - ZipLimits.endRecordSize - ZipLimits.maxCommentLength)
        var endOffset = -1
        var candidate = file.size - ZipLimits.endRecordSize
        while candidate >= lowest {
            if UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: candidate, as: UInt32.self)) == ZipLimits.endSignature {
                let commentLength = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: candidate + 20, as: UInt16.self)))
                // The comment must reach exactly to the end of the file; otherwise these four
                // bytes are data that happen to look like a signature.
                if candidate + ZipLimits.endRecordSize + commentLength == file.size {
                    endOffset = candidate
                    break
                }
            }
            candidate -= 1
        }
        guard endOffset >= 0 else { throw FormatError.zipEndRecordMissing(fileSize: file.size) }

        var cursor = ByteCursor(bytes, offset: endOffset + 4)
        let structure = "end of central directory"
        let disk = try cursor.read(UInt16.self, structure)
        let directoryDisk = try cursor.read(UInt16.self, structure)
        let countOnDisk = try cursor.read(UInt16.self, structure)
        let count16 = try cursor.read(UInt16.self, structure)
        let size32 = try cursor.read(UInt32.self, structure)
        let offset32 = try cursor.read(UInt32.self, structure)
        guard disk == 0, directoryDisk == 0, countOnDisk == count16 else {
            throw FormatError.zipMultipleDisks(offset: endOffset)
        }
        var directory = CentralDirectory(offset: Int(offset32), size: Int(size32), count: Int(count16))
        var directoryLimit = endOffset

        // ZIP64: the locator sits right before the end record.
        let locatorOffset = endOffset - ZipLimits.zip64LocatorSize
        if locatorOffset >= 0,
           UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: locatorOffset, as: UInt32.self)) == ZipLimits.zip64LocatorSignature {
            var locator = ByteCursor(bytes, offset: locatorOffset + 4)
            let locatorStructure = "ZIP64 end of central directory locator"
            let recordDisk = try locator.read(UInt32.self, locatorStructure)
            let recordOffset64 = try locator.read(UInt64.self, locatorStructure)
            let diskCount = try locator.read(UInt32.self, locatorStructure)
            guard recordDisk == 0, diskCount <= 1 else { throw FormatError.zipMultipleDisks(offset: locatorOffset) }
            let recordStructure = "ZIP64 end of central directory record"
            guard recordOffset64 <= UInt64(locatorOffset), Int(recordOffset64) + ZipLimits.zip64EndRecordSize <= locatorOffset else {
                throw FormatError.zipStructureOutOfBounds(
                    structure: recordStructure, offset: Int(clamping: recordOffset64), size: ZipLimits.zip64EndRecordSize, fileSize: file.size)
            }
            let recordOffset = Int(recordOffset64)
            var record = ByteCursor(bytes, offset: recordOffset)
            let signature = try record.read(UInt32.self, recordStructure)
            guard signature == ZipLimits.zip64EndSignature else {
                throw FormatError.zipBadSignature(structure: recordStructure, offset: recordOffset, found: signature)
            }
            try record.skip(8 + 2 + 2, recordStructure)
            let disk64 = try record.read(UInt32.self, recordStructure)
            let directoryDisk64 = try record.read(UInt32.self, recordStructure)
            let countOnDisk64 = try record.read(UInt64.self, recordStructure)
            let count64 = try record.read(UInt64.self, recordStructure)
            let size64 = try record.read(UInt64.self, recordStructure)
            let offset64 = try record.read(UInt64.self, recordStructure)
            guard disk64 == 0, directoryDisk64 == 0, countOnDisk64 == count64 else {
                throw FormatError.zipMultipleDisks(offset: recordOffset)
            }
            // Values the 32-bit record could hold must agree with it; the others come from here.
            if count16 != 0xFFFF { guard count64 == UInt64(count16) else { throw zip64Disagrees("entry count", recordOffset) } }
            if size32 != 0xFFFF_FFFF { guard size64 == UInt64(size32) else { throw zip64Disagrees("directory size", recordOffset) } }
            if offset32 != 0xFFFF_FFFF { guard offset64 == UInt64(offset32) else { throw zip64Disagrees("directory offset", recordOffset) } }
            guard size64 <= UInt64(recordOffset), offset64 <= UInt64(recordOffset) - size64 else {
                throw FormatError.zipStructureOutOfBounds(
                    structure: "central directory", offset: Int(clamping: offset64), size: Int(clamping: size64), fileSize: file.size)
            }
            directory = CentralDirectory(offset: Int(offset64), size: Int(size64), count: Int(clamping: count64))
            directoryLimit = recordOffset
        } else if count16 == 0xFFFF || size32 == 0xFFFF_FFFF || offset32 == 0xFFFF_FFFF {
            throw FormatError.zipInvalid(
                structure: structure, offset: endOffset, reason: "fields are marked as ZIP64 but there is no ZIP64 locator")
        }

        guard directory.offset <= directoryLimit, directory.size <= directoryLimit - directory.offset else {
            throw FormatError.zipStructureOutOfBounds(
                structure: "central directory", offset: directory.offset, size: directory.size, fileSize: file.size)
        }
        let maxCount = directory.size / ZipLimits.centralHeaderSize
        guard directory.count <= maxCount else {
            throw FormatError.countTooLarge(
                field: "central directory entry count", count: UInt64(directory.count), offset: endOffset + 10, limit: UInt64(maxCount))
        }
        return directory
    }

    private static func zip64Disagrees(_ field: String, _ offset: Int) -> FormatError {
        .zipInvalid(structure: "ZIP64 end of central directory record", offset: offset, reason: "\(field) differs from the end record's")
    }

    /// Reads `directory.count` records, each inside the directory, with ZIP64 extra fields
    /// resolved and local header offsets inside the file.
    static func readEntries(_ file: MappedFile, _ directory: CentralDirectory) throws -> [ZipEntry] {
        let directoryBytes = UnsafeRawBufferPointer(rebasing: file.bytes[directory.offset..<(directory.offset + directory.size)])
        var cursor = ByteCursor(directoryBytes)
        var entries: [ZipEntry] = []
        entries.reserveCapacity(directory.count)
        for number in 0..<directory.count {
            let recordOffset = directory.offset + cursor.offset
            let structure = "central directory record \(number)"
            guard cursor.remaining >= ZipLimits.centralHeaderSize else {
                throw FormatError.zipStructureOutOfBounds(
                    structure: structure, offset: recordOffset, size: ZipLimits.centralHeaderSize, fileSize: file.size)
            }
            let signature = try cursor.read(UInt32.self, structure)
            guard signature == ZipLimits.centralHeaderSignature else {
                throw FormatError.zipBadSignature(structure: structure, offset: recordOffset, found: signature)
            }
            try cursor.skip(4, structure)
            let flags = try cursor.read(UInt16.self, structure)
            let method = try cursor.read(UInt16.self, structure)
            try cursor.skip(8, structure)
            var compressedSize = UInt64(try cursor.read(UInt32.self, structure))
            var uncompressedSize = UInt64(try cursor.read(UInt32.self, structure))
            let nameLength = Int(try cursor.read(UInt16.self, structure))
            let extraLength = Int(try cursor.read(UInt16.self, structure))
            let commentLength = Int(try cursor.read(UInt16.self, structure))
            var disk = UInt32(try cursor.read(UInt16.self, structure))
            try cursor.skip(6, structure)
            var localOffset = UInt64(try cursor.read(UInt32.self, structure))

            guard nameLength + extraLength + commentLength <= cursor.remaining else {
                throw FormatError.zipStructureOutOfBounds(
                    structure: structure + " name, extra field and comment", offset: recordOffset + ZipLimits.centralHeaderSize,
                    size: nameLength + extraLength + commentLength, fileSize: file.size)
            }
            let nameBytes = cursor.bytes(at: cursor.offset, count: nameLength)
            guard let name = nameBytes.validatedString else {
                throw FormatError.invalidUTF8(field: "ZIP entry name", offset: recordOffset + ZipLimits.centralHeaderSize)
            }
            cursor.offset += nameLength
            let extra = cursor.bytes(at: cursor.offset, count: extraLength)
            let extraOffset = directory.offset + cursor.offset
            cursor.offset += extraLength + commentLength

            // ZIP64 extra field: the values whose 32-bit fields are all ones, in this order.
            let needsUncompressed = uncompressedSize == 0xFFFF_FFFF, needsCompressed = compressedSize == 0xFFFF_FFFF
            let needsOffset = localOffset == 0xFFFF_FFFF, needsDisk = disk == 0xFFFF
            if needsUncompressed || needsCompressed || needsOffset || needsDisk {
                guard let zip64 = try zip64Field(in: extra, at: extraOffset, entry: name) else {
                    throw FormatError.zipInvalid(
                        structure: "entry '\(name)'", offset: recordOffset, reason: "sizes or offset are marked as ZIP64 but there is no ZIP64 extra field")
                }
                var field = ByteCursor(zip64.bytes)
                let fieldName = "ZIP64 extra field of '\(name)'"
                do {
                    if needsUncompressed { uncompressedSize = try field.read(UInt64.self, fieldName) }
                    if needsCompressed { compressedSize = try field.read(UInt64.self, fieldName) }
                    if needsOffset { localOffset = try field.read(UInt64.self, fieldName) }
                    if needsDisk { disk = try field.read(UInt32.self, fieldName) }
                } catch FormatError.truncated(let field, let offset, let needed, let available) {
                    throw FormatError.truncated(field: field, offset: zip64.offset + offset, needed: needed, available: available)
                }
            }
            guard disk == 0 else { throw FormatError.zipMultipleDisks(offset: recordOffset) }
            guard localOffset <= UInt64(directory.offset),
                  Int(localOffset) + ZipLimits.localHeaderSize <= file.size else {
                throw FormatError.zipStructureOutOfBounds(
                    structure: "local header of '\(name)'", offset: Int(clamping: localOffset), size: ZipLimits.localHeaderSize, fileSize: file.size)
            }
            guard compressedSize <= UInt64(file.size), uncompressedSize <= UInt64(Int.max) else {
                throw FormatError.zipEntryOutOfBounds(
                    name: name, offset: Int(localOffset), size: Int(clamping: compressedSize), fileSize: file.size)
            }
            entries.append(ZipEntry(
                name: name, method: method, flags: flags, compressedSize: Int(compressedSize),
                uncompressedSize: Int(uncompressedSize), localHeaderOffset: Int(localOffset)))
        }
        return entries
    }

    /// The ZIP64 extended-information field among an entry's extra fields, with its absolute
    /// offset; nil when absent.
    static func zip64Field(
        in extra: UnsafeRawBufferPointer, at absoluteOffset: Int, entry: String
    ) throws -> (bytes: UnsafeRawBufferPointer, offset: Int)? {
        var cursor = ByteCursor(extra)
        while cursor.remaining >= 4 {
            let id = try cursor.read(UInt16.self, "extra field of '\(entry)'")
            let length = Int(try cursor.read(UInt16.self, "extra field of '\(entry)'"))
            guard length <= cursor.remaining else {
                throw FormatError.zipInvalid(
                    structure: "extra field 0x\(String(id, radix: 16)) of '\(entry)'", offset: absoluteOffset + cursor.offset - 4,
                    reason: "announces \(length) bytes but \(cursor.remaining) are left in the record's extra data")
            }
            if id == ZipLimits.zip64ExtraID {
                return (cursor.bytes(at: cursor.offset, count: length), absoluteOffset + cursor.offset)
            }
            cursor.offset += length
        }
        return nil
    }
}
