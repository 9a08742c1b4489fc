import WeightFormats

/// BPE merges keyed by the ids of the two tokens they join: (left, right) -> (rank, merged id).
///
/// Rank is the merge's position in the file; a pair listed twice keeps its first rank (as
/// llama.cpp's `bpe_ranks.emplace` and tokenizers' merge map do).
struct MergeTable: Sendable {
    /// Key and value of each slot side by side (one cache line holds both).
    private var entries: [UInt64] = []
    private var layout = SlotLayout(capacity: 16, parts: 1)
    private(set) var count = 0

    static let empty: UInt64 = .max

    init() {}

    init(capacity: Int) {
        let size = ByteHashing.capacity(for: capacity)
        entries = [UInt64](repeating: Self.empty, count: size * 2)
        layout = SlotLayout(capacity: size, parts: 1)
    }

    /// All merges at once, rank = index, each part of the table filled on its own core (in rank
    /// order within a part, so a repeated pair keeps its first rank).
    init(left: [Int32], right: [Int32], result: [Int32]) {
        let count = left.count
        let size = ByteHashing.capacity(for: count)
        let parts = ByteHashing.parts(for: count)
        let layout = SlotLayout(capacity: size, parts: parts)
        self.layout = layout
        var entries = [UInt64](repeating: Self.empty, count: size * 2)
        var counts = [Int](repeating: 0, count: parts)
        entries.withUnsafeMutableBufferPointer { entries in
            counts.withUnsafeMutableBufferPointer { counts in
                Parallel.forEach(parts) { part in
                    var added = 0
                    for index in 0..<count {
                        let hash = ByteHashing.hash(pair: left[index], right[index])
                        guard layout.part(hash) == part else { continue }
                        let key = Self.key(left[index], right[index])
                        var slot = layout.home(hash)
                        var present = false
                        while entries[2 * slot] != Self.empty {
                            if entries[2 * slot] == key { present = true; break }
                            slot = layout.next(slot)
                        }
                        if present { continue }
                        entries[2 * slot] = key
                        entries[2 * slot + 1] = UInt64(UInt32(bitPattern: Int32(index))) << 32 | UInt64(UInt32(bitPattern: result[index]))
                        added += 1
                    }
                    counts[part] = added
                }
            }
        }
        self.entries = entries
        self.count = counts.reduce(0, +)
    }

    @inline(__always)
    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// Adds a merge unless the pair is already present. Returns whether it was added.
    @discardableResult
    mutating func insert(left: Int32, right: Int32, rank: Int32, result: Int32) -> Bool {
        let key = Self.key(left, right)
        var slot = layout.home(ByteHashing.hash(pair: left, right))
        while entries[2 * slot] != Self.empty {
            if entries[2 * slot] == key { return false }
            slot = layout.next(slot)
        }
        entries[2 * slot] = key
        entries[2 * slot + 1] = UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: result))
        count += 1
        return true
    }

    /// The merge of `left` then `right`: (rank, merged id), or nil.
    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> (rank: Int32, result: Int32)? {
        guard !entries.isEmpty else { return nil }
        let key = Self.key(left, right)
        return entries.withUnsafeBufferPointer { entries in
            var slot = layout.home(ByteHashing.hash(pair: left, right))
            while true {
                let found = entries[2 * slot]
                if found == key {
                    let value = entries[2 * slot + 1]
                    return (Int32(truncatingIfNeeded: value >> 32), Int32(truncatingIfNeeded: value & 0xFFFF_FFFF))
                }
                if found == Self.empty { return nil }
                slot = layout.next(slot)
            }
        }
    }

    /// Every merge as (left, right, rank, result), in rank order.
    func allMerges() -> [(left: Int32, right: Int32, rank: Int32, result: Int32)] {
        var result: [(Int32, Int32, Int32, Int32)] = []
        result.reserveCapacity(count)
        for slot in 0..<(entries.count / 2) where entries[2 * slot] != Self.empty {
            let key = entries[2 * slot], value = entries[2 * slot + 1]
            result.append((Int32(truncatingIfNeeded: key >> 32), Int32(truncatingIfNeeded: key & 0xFFFF_FFFF),
                           Int32(truncatingIfNeeded: value >> 32), Int32(truncatingIfNeeded: value & 0xFFFF_FFFF)))
        }
        return result.sorted { $0.2 < $1.2 }.map { (left: $0.0, right: $0.1, rank: $0.2, result: $0.3) }
    }
}
