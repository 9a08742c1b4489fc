/// A byte trie with children in one hash table keyed by (node, byte).
struct ByteTrie: Sendable {
    private var keys: [UInt64] = []
    private var children: [Int32] = []
    private var mask = 0
    private var used = 0
    /// The value stored at each node (-1: none); node 0 is the root.
    private(set) var values: [Int32] = [-1]

    init() {
        keys = [UInt64](repeating: .max, count: 1024)
        children = [Int32](repeating: -1, count: 1024)
        mask = 1023
    }

    @inline(__always)
    private static func slot(_ key: UInt64, _ mask: Int) -> Int {
        var h = key &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 31
        return Int(truncatingIfNeeded: h) & mask
    }

    /// The child of `node` along `byte`, or -1.
    @inline(__always)
    func child(_ node: Int32, _ byte: UInt8) -> Int32 {
        let key = UInt64(UInt32(node)) << 8 | UInt64(byte)
        var slot = Self.slot(key, mask)
        while true {
            let found = keys[slot]
            if found == key { return children[slot] }
            if found == .max { return -1 }
            slot = (slot + 1) & mask
        }
    }

    /// Stores `value` at the node for `bytes` (replacing what was there).
    mutating func insert<C: Collection>(_ bytes: C, value: Int32) where C.Element == UInt8 {
        var node: Int32 = 0
        for byte in bytes {
            var next = child(node, byte)
            if next < 0 {
                next = Int32(values.count)
                values.append(-1)
                if (used + 1) * 2 > keys.count { grow() }
                let key = UInt64(UInt32(node)) << 8 | UInt64(byte)
                var slot = Self.slot(key, mask)
                while keys[slot] != .max { slot = (slot + 1) & mask }
                keys[slot] = key
                children[slot] = next
                used += 1
            }
            node = next
        }
        values[Int(node)] = value
    }

    private mutating func grow() {
        let oldKeys = keys, oldChildren = children
        let size = keys.count * 2
        keys = [UInt64](repeating: .max, count: size)
        children = [Int32](repeating: -1, count: size)
        mask = size - 1
        for (index, key) in oldKeys.enumerated() where key != .max {
            var slot = Self.slot(key, mask)
            while keys[slot] != .max { slot = (slot + 1) & mask }
            keys[slot] = key
            children[slot] = oldChildren[index]
        }
    }

    /// How many bytes of `text[offset...]` the trie can follow from the root (llama.cpp's
    /// `naive_trie::get_longest_prefix`, which does not ask whether the path ends at a key).
    func longestPath(_ text: UnsafeBufferPointer<UInt8>, at offset: Int) -> Int {
        var node: Int32 = 0
        var length = 0
        while offset + length < text.count {
            let next = child(node, text[offset + length])
            if next < 0 { break }
            node = next
            length += 1
        }
        return length
    }
}

/// llama.cpp's UGM (T5/Unigram) tokenizer: the input normalized by the precompiled character
/// map and the whitespace rules, then the best-scoring segmentation (Viterbi) over the tokens
/// (user-defined ones score 0), an unknown code point scoring the lowest normal score minus 10;
/// runs of unknowns become one unknown token.
struct UnigramLattice: Sendable {
    let vocabulary: LlamaVocabulary
    private let tokens: ByteTrie
    private let userDefined: ByteTrie
    private let unknownScore: Double

    init(vocabulary: LlamaVocabulary) {
        self.vocabulary = vocabulary
        var tokens = ByteTrie(), userDefined = ByteTrie()
        var minimum = Float.greatestFiniteMagnitude
        for id in 0..<vocabulary.count {
            let attribute = vocabulary.attributes[id]
            if attribute.contains(.normal) { minimum = min(minimum, vocabulary.scores[id]) }
            if !attribute.isDisjoint(with: [.normal, .userDefined, .unused]) {
                tokens.insert(vocabulary.texts.bytes(id), value: Int32(id))
            }
            if attribute.contains(.userDefined) { userDefined.insert(vocabulary.texts.bytes(id), value: Int32(id)) }
        }
        self.tokens = tokens
        self.userDefined = userDefined
        self.unknownScore = Double(minimum - 10)
    }

    func encode(_ text: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        let normalized = normalize(text)
        guard !normalized.isEmpty else { return }
        normalized.withUnsafeBufferPointer { search($0, into: &output) }
    }

    /// llama.cpp's `llm_tokenizer_ugm_session::normalize`.
    func normalize(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(input.count * 3)
        let space: [UInt8] = vocabulary.escapeWhitespaces ? [0xE2, 0x96, 0x81] : [0x20]
        let prepend = vocabulary.addSpacePrefix  // whitespace is never a suffix in GGUF vocabularies
        let merge = vocabulary.removeExtraWhitespaces
        var spacePrepended = false
        var inWord = false
        var offset = 0
        while offset < input.count {
            let (piece, consumed) = normalizePrefix(input, at: offset)
            for byte in piece {
                if byte != 0x20 {
                    if !inWord {
                        inWord = true
                        if (prepend && !spacePrepended) || merge {
                            output.append(contentsOf: space)
                            spacePrepended = true
                        }
                    }
                    output.append(byte)
                } else {
                    inWord = false
                    if !merge { output.append(contentsOf: space) }
                }
            }
            offset += consumed
        }
        return output
    }

    private func normalizePrefix(_ input: UnsafeBufferPointer<UInt8>, at offset: Int) -> (ArraySlice<UInt8>, Int) {
        let userLength = userDefined.longestPath(input, at: offset)
        if userLength > 0 { return (ArraySlice(input[offset..<(offset + userLength)]), userLength) }
        if let charsMap = vocabulary.charsMap, let match = charsMap.longestMatch(input, at: offset) {
            return (match.replacement, match.consumed)
        }
        let (value, length) = UTF8Text.decodeLikeLlama(input, at: offset)
        if value == 0xFFFD && length == 1 { return ([0xEF, 0xBF, 0xBD], 1) }
        return (ArraySlice(input[offset..<(offset + length)]), length)
    }

    private func search(_ text: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        let n = text.count
        let unknown = vocabulary.special.unk
        var bestID = [Int32](repeating: unknown, count: n + 1)
        var bestStart = [Int](repeating: 0, count: n + 1)
        var bestScore = [Double](repeating: -Double.greatestFiniteMagnitude, count: n + 1)
        bestScore[0] = 0
        let values = tokens.values
        var offset = 0
        while offset < n {
            let characterLength = min(UTF8Text.sequenceLength(text[offset]), n - offset)
            var singleFound = false
            let current = bestScore[offset]
            var node = tokens.child(0, text[offset])
            var end = offset + 1
            while end <= n && node >= 0 {
                let id = values[Int(node)]
                if id >= 0 {
                    if end - offset == characterLength { singleFound = true }
                    let score = vocabulary.attributes[Int(id)].contains(.userDefined) ? 0 : Double(vocabulary.scores[Int(id)])
                    let candidate = current + score
                    if candidate > bestScore[end] {
                        bestScore[end] = candidate
                        bestID[end] = id
                        bestStart[end] = offset
                    }
                }
                if end == n { break }
                node = tokens.child(node, text[end])
                end += 1
            }
            if !singleFound {
                let candidate = current + unknownScore
                let end = offset + characterLength
                if candidate > bestScore[end] {
                    bestScore[end] = candidate
                    bestID[end] = unknown
                    bestStart[end] = offset
                }
            }
            offset += characterLength
        }
        let first = output.count
        var position = n
        var previousUnknown = false
        while true {
            let id = bestID[position]
            let isUnknown = id == unknown
            if !(previousUnknown && isUnknown) { output.append(id) }
            if bestStart[position] == 0 { break }
            previousUnknown = isUnknown
            position = bestStart[position]
        }
        output[first...].reverse()
    }
}
