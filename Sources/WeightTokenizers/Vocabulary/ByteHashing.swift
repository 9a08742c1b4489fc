import WeightFormats

/// Hashing of short byte strings (token texts) and integer pairs (merges), for the open-addressing
/// tables of the vocabulary. Not cryptographic; mixes eight bytes at a time.
enum ByteHashing {
    @inline(__always)
    static func hash(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ (UInt64(truncatingIfNeeded: count) &* 0xC2B2_AE3D_27D4_EB4F)
        var index = 0
        while index + 8 <= count {
            let word = UnsafeRawPointer(bytes + index).loadUnaligned(as: UInt64.self)
            h = (h ^ word) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
            index += 8
        }
        if index < count {
            var word: UInt64 = 0
            var shift: UInt64 = 0
            while index < count {
                word |= UInt64(bytes[index]) << shift
                shift += 8
                index += 1
            }
            h = (h ^ word) &* 0xC4CE_B9FE_1A85_EC53
            h ^= h >> 29
        }
        h ^= h >> 33
        h = h &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        return h
    }

    @inline(__always)
    static func hash(pair left: Int32, _ right: Int32) -> UInt64 {
        var h = (UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))) &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return h
    }

    /// The smallest power of two at least 1.5 times `count` (and at least 16): load factor below 2/3.
    static func capacity(for count: Int) -> Int {
        var capacity = 16
        while capacity < count + count / 2 { capacity <<= 1 }
        return capacity
    }

    /// How many independent parts a table of `count` entries is built in (one per core for large
    /// tables; a power of two).
    static func parts(for count: Int) -> Int {
        guard count >= 32_768 else { return 1 }
        var parts = 1
        while parts * 2 <= min(8, Parallel.processorCount) { parts *= 2 }
        return parts
    }
}

/// Where a hash lands in a table split into `parts` equal parts (the top bits of the hash pick
/// the part, the low bits the slot in it; probing stays in the part).
struct SlotLayout: Sendable {
    let partBits: UInt64
    let partSize: Int
    let partMask: Int

    init(capacity: Int, parts: Int) {
        var bits: UInt64 = 0
        while (1 << bits) < parts { bits += 1 }
        partBits = bits
        partSize = capacity >> Int(bits)
        partMask = partSize - 1
    }

    @inline(__always) func part(_ hash: UInt64) -> Int { partBits == 0 ? 0 : Int(truncatingIfNeeded: hash >> (64 - partBits)) }

    @inline(__always) func home(_ hash: UInt64) -> Int { part(hash) * partSize + (Int(truncatingIfNeeded: hash) & partMask) }

    @inline(__always) func next(_ slot: Int) -> Int { (slot & ~partMask) | ((slot + 1) & partMask) }
}

/// Token texts stored back to back, with an open-addressing index from text to id.
///
/// Texts are bytes (GGUF strings need not be valid UTF-8). When a text occurs more than once,
/// lookup finds the highest id, as llama.cpp's `token_to_id[word] = i` does. A slot is 16
/// bytes: 24 bits of the text's hash, its length (up to 255), the id, and the text's first
/// eight bytes, so that a probe reads the stored text only for texts longer than eight bytes
/// whose hash and start agree.
struct TokenTexts: Sendable {
    private(set) var storage: [UInt8] = []
    /// `offsets[i] ..< offsets[i + 1]` is token i's text.
    private(set) var offsets: [Int32] = [0]
    /// Pairs: `tag << 32 | (id + 1)` (0 is empty), then the first eight bytes.
    private var slots: [UInt64] = []
    private var layout = SlotLayout(capacity: 16, parts: 1)

    var count: Int { offsets.count - 1 }

    init() {}

    /// Appends the texts produced by `text(i)` for ids 0..<count and builds the index.
    init(count: Int, reservingBytes: Int = 0, _ text: (Int) -> UnsafeRawBufferPointer) {
        storage.reserveCapacity(reservingBytes)
        offsets.reserveCapacity(count + 1)
        for index in 0..<count {
            storage.append(contentsOf: text(index))
            offsets.append(Int32(truncatingIfNeeded: storage.count))
        }
        buildIndex()
    }

    /// The texts of a GGUF string array (read in place).
    init(strings array: GGUFStringSource) {
        storage.reserveCapacity(array.byteCount)
        offsets.reserveCapacity(array.count + 1)
        array.forEach { bytes in
            storage.append(contentsOf: bytes)
            offsets.append(Int32(truncatingIfNeeded: storage.count))
        }
        buildIndex()
    }

    init(texts: [[UInt8]]) {
        storage.reserveCapacity(texts.reduce(0) { $0 + $1.count })
        offsets.reserveCapacity(texts.count + 1)
        for text in texts {
            storage.append(contentsOf: text)
            offsets.append(Int32(truncatingIfNeeded: storage.count))
        }
        buildIndex()
    }

    /// The first eight bytes, zero-padded.
    @inline(__always)
    static func prefix(_ bytes: UnsafePointer<UInt8>, _ count: Int, available: Int) -> UInt64 {
        if available >= 8 {
            let word = UnsafeRawPointer(bytes).loadUnaligned(as: UInt64.self)
            return count >= 8 ? word : word & ((1 << (UInt64(count) * 8)) &- 1)
        }
        var word: UInt64 = 0
        for index in 0..<min(count, 8) { word |= UInt64(bytes[index]) << (UInt64(index) * 8) }
        return word
    }

    @inline(__always)
    static func tag(_ hash: UInt64, _ length: Int) -> UInt64 {
        (hash & 0xFFFF_FF00_0000_0000) | UInt64(min(length, 255)) << 32
    }

    private mutating func buildIndex() {
        let count = self.count
        let capacity = ByteHashing.capacity(for: count)
        let parts = ByteHashing.parts(for: count)
        let layout = SlotLayout(capacity: capacity, parts: parts)
        self.layout = layout
        var slots = [UInt64](repeating: 0, count: capacity * 2)
        storage.withUnsafeBufferPointer { bytes in
            let base = bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!
            let end = bytes.count
            offsets.withUnsafeBufferPointer { offsets in
                slots.withUnsafeMutableBufferPointer { slots in
                    // Each part on its own core, every part reading the texts in id order.
                    Parallel.forEach(parts) { part in
                        for id in 0..<count {
                            let start = Int(offsets[id]), length = Int(offsets[id + 1]) - start
                            let hash = ByteHashing.hash(base + start, length)
                            guard layout.part(hash) == part else { continue }
                            let tag = Self.tag(hash, length)
                            let prefix = Self.prefix(base + start, length, available: end - start)
                            var slot = layout.home(hash)
                            while true {
                                let occupant = slots[2 * slot]
                                if occupant == 0 {
                                    slots[2 * slot] = tag | UInt64(id + 1)
                                    slots[2 * slot + 1] = prefix
                                    break
                                }
                                if occupant & 0xFFFF_FFFF_0000_0000 == tag && slots[2 * slot + 1] == prefix {
                                    let other = Int(occupant & 0xFFFF_FFFF) - 1
                                    if length <= 8 || memoryEqual(base + start, base + Int(offsets[other]), length) {
                                        slots[2 * slot] = tag | UInt64(id + 1)  // the later id wins
                                        break
                                    }
                                }
                                slot = layout.next(slot)
                            }
                        }
                    }
                }
            }
        }
        self.slots = slots
    }

    /// The id whose text is exactly these bytes, or -1.
    @inline(__always)
    func id(of bytes: UnsafePointer<UInt8>, count length: Int) -> Int32 {
        id(of: bytes, count: length, available: length)
    }

    /// `available`: how many bytes may be read from `bytes` (at least `length`); eight or more
    /// lets the prefix be loaded at once.
    @inline(__always)
    func id(of bytes: UnsafePointer<UInt8>, count length: Int, available: Int) -> Int32 {
        let hash = ByteHashing.hash(bytes, length)
        let tag = Self.tag(hash, length)
        let prefix = Self.prefix(bytes, length, available: available)
        return storage.withUnsafeBufferPointer { storage in
            let base = storage.baseAddress ?? UnsafePointer(bitPattern: 1)!
            return slots.withUnsafeBufferPointer { slots in
                var slot = layout.home(hash)
                while true {
                    let occupant = slots[2 * slot]
                    if occupant == 0 { return -1 }
                    if occupant & 0xFFFF_FFFF_0000_0000 == tag && slots[2 * slot + 1] == prefix {
                        let id = Int(occupant & 0xFFFF_FFFF) - 1
                        if length <= 8 { return Int32(id) }
                        let start = Int(offsets[id])
                        if Int(offsets[id + 1]) - start == length && memoryEqual(base + start, bytes, length) { return Int32(id) }
                    }
                    slot = layout.next(slot)
                }
            }
        }
    }

    func id(of bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBufferPointer { buffer in
            id(of: buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!, count: buffer.count)
        }
    }

    func id(of text: String) -> Int32 { id(of: Array(text.utf8)) }

    /// Whether token `id` is exactly `first` followed by `second`.
    @inline(__always)
    func equals(_ id: Int, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> Bool {
        storage.withUnsafeBufferPointer { storage in
            let start = Int(offsets[id]), length = Int(offsets[id + 1]) - start
            guard length == first.count + second.count, let base = storage.baseAddress else { return length == 0 && first.isEmpty && second.isEmpty }
            if let a = first.baseAddress, !memoryEqual(base + start, a.assumingMemoryBound(to: UInt8.self), first.count) { return false }
            if let b = second.baseAddress, !memoryEqual(base + start + first.count, b.assumingMemoryBound(to: UInt8.self), second.count) { return false }
            return true
        }
    }

    /// Token `id`'s bytes.
    func bytes(_ id: Int) -> ArraySlice<UInt8> {
        storage[Int(offsets[id])..<Int(offsets[id + 1])]
    }

    func length(_ id: Int) -> Int { Int(offsets[id + 1] - offsets[id]) }

    func string(_ id: Int) -> String { String(decoding: bytes(id), as: UTF8.self) }

    /// Calls `body` with token `id`'s bytes in place.
    @inline(__always)
    func withBytes<R>(_ id: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer { storage in
            let start = Int(offsets[id])
            return try body(UnsafeBufferPointer(rebasing: storage[start..<Int(offsets[id + 1])]))
        }
    }
}

/// Strings to read into `TokenTexts` one after another.
struct GGUFStringSource {
    let count: Int
    let byteCount: Int
    let forEach: ((UnsafeRawBufferPointer) -> Void) -> Void
}

@inline(__always)
func memoryEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    var index = 0
    while index + 8 <= count {
        if UnsafeRawPointer(a + index).loadUnaligned(as: UInt64.self) != UnsafeRawPointer(b + index).loadUnaligned(as: UInt64.self) {
            return false
        }
        index += 8
    }
    while index < count {
        if a[index] != b[index] { return false }
        index += 1
    }
    return true
}
