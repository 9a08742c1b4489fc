/// SentencePiece's precompiled character map (`precompiled_charsmap`): the normalization rules
/// of a model (NFKC and its own additions) compiled into a double array.
///
/// Layout: a little-endian u32 `n`, then `n` bytes of XOR-compressed compact double array
/// (XCDA) nodes (u32 each: BASE in bits 10-30 shifted by 8 more when bit 9 is set, LEAF in bit
/// 8, LCHECK in bits 0-7 plus bit 31), then NUL-terminated replacement strings that leaf nodes
/// point to. Lookups that would leave the arrays end the match instead of reading outside.
struct CharsMap: Sendable {
    private let nodes: [UInt32]
    private let replacements: [UInt8]
    /// The blob as stored, for writing it back (tokenizer.json, GGUF).
    let bytes: [UInt8]

    init(bytes: [UInt8], file: String) throws {
        guard bytes.count >= 4 else { throw TokenizerError.invalidCharsMap(file: file, reason: "\(bytes.count) bytes, fewer than the 4-byte header") }
        let size = Int(UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24)
        guard size % 4 == 0, size + 4 < bytes.count else {
            throw TokenizerError.invalidCharsMap(file: file, reason: "a double array of \(size) bytes does not fit in \(bytes.count) bytes")
        }
        var nodes = [UInt32](repeating: 0, count: size / 4)
        for index in 0..<nodes.count {
            let at = 4 + index * 4
            nodes[index] = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        self.nodes = nodes
        self.replacements = Array(bytes[(4 + size)...])
        self.bytes = bytes
    }

    @inline(__always) private func base(_ node: UInt32) -> Int { Int((node >> 10) << ((node & (1 << 9)) >> 6)) }
    @inline(__always) private func check(_ node: UInt32) -> UInt32 { node & ((1 << 31) | 0xFF) }
    @inline(__always) private func isLeaf(_ node: UInt32) -> Bool { (node >> 8) & 1 == 1 }
    @inline(__always) private func value(_ node: UInt32) -> Int { Int(node & ((1 << 31) - 1)) }

    /// The longest rule matching `bytes[offset...]`: (bytes it consumes, its replacement), or nil.
    /// A rule whose replacement lies outside the strings is no match.
    func longestMatch(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int) -> (consumed: Int, replacement: ArraySlice<UInt8>)? {
        guard !nodes.isEmpty else { return nil }
        var index = base(nodes[0])
        var best: (Int, Int)? = nil
        var position = offset
        while position < bytes.count {
            let c = bytes[position]
            if c == 0 { break }
            index ^= Int(c)
            guard index >= 0, index < nodes.count, check(nodes[index]) == UInt32(c) else { break }
            let leaf = isLeaf(nodes[index])
            index ^= base(nodes[index])
            if leaf {
                guard index < nodes.count else { break }
                best = (position - offset + 1, value(nodes[index]))
            }
            position += 1
        }
        guard let (consumed, start) = best, start < replacements.count else { return nil }
        var end = start
        while end < replacements.count && replacements[end] != 0 { end += 1 }
        guard end < replacements.count else { return nil }
        return (consumed, replacements[start..<end])
    }

    /// The replacement of the shortest rule matching a prefix of `bytes` (the `spm_precompiled`
    /// crate's `transform`, which the tokenizers library's Precompiled normalizer uses).
    func shortestMatch(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard !nodes.isEmpty else { return nil }
        var index = base(nodes[0])
        for position in 0..<bytes.count {
            let c = bytes[position]
            if c == 0 { break }
            index ^= Int(c)
            guard index >= 0, index < nodes.count, check(nodes[index]) == UInt32(c) else { break }
            let leaf = isLeaf(nodes[index])
            index ^= base(nodes[index])
            if leaf {
                guard index < nodes.count else { return nil }
                let start = value(nodes[index])
                guard start < replacements.count else { return nil }
                var end = start
                while end < replacements.count && replacements[end] != 0 { end += 1 }
                guard end < replacements.count else { return nil }
                return Array(replacements[start..<end])
            }
        }
        return nil
    }
}
