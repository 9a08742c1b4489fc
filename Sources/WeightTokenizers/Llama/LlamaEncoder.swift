#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Text to ids as llama.cpp 0.3.36's `llama_vocab::impl::tokenize` does it, for the four
/// families: whole-token matching first (`tokenizer_st_partition`), then per fragment
///
/// - SPM (`llama`): spaces as `▁`, a leading space after BOS and after special tokens, and
///   SentencePiece's bigram merging by score; pieces that are no token as `<0xXX>` bytes;
/// - BPE (`gpt2`, `gemma4`): the pre-tokenizer's pieces, byte-encoded, merged by rank;
/// - WPM (`bert`): lower-casing, accent stripping, punctuation and CJK split, greedy longest
///   match with `▁` marking a word start, `[UNK]` for a word that cannot be covered;
/// - UGM (`t5`): the character map and whitespace rules, then Viterbi over the vocabulary.
struct LlamaEncoder: Sendable {
    let vocabulary: LlamaVocabulary
    private let pipeline: LlamaSplitPipeline?
    private let unigram: UnigramLattice?
    /// SPM: whether the text may be cut before each run of `▁` (no token has `▁` after another
    /// character), so that runs are merged independently and cached.
    private let spmCutsAtSpaces: Bool

    init(vocabulary: LlamaVocabulary) throws {
        self.vocabulary = vocabulary
        switch vocabulary.kind {
        case .bpe:
            pipeline = try LlamaSplitPipeline(regexes: vocabulary.preType.regexes)
            unigram = nil
            spmCutsAtSpaces = false
        case .ugm:
            pipeline = nil
            unigram = UnigramLattice(vocabulary: vocabulary)
            spmCutsAtSpaces = false
        case .spm:
            pipeline = nil
            unigram = nil
            spmCutsAtSpaces = Self.spaceOnlyAtStart(vocabulary.texts)
        case .wpm:
            pipeline = nil
            unigram = nil
            spmCutsAtSpaces = false
        }
    }

    private static func spaceOnlyAtStart(_ texts: TokenTexts) -> Bool {
        for id in 0..<texts.count {
            let ok = texts.withBytes(id) { bytes -> Bool in
                var index = 0
                // Skip the leading run of ▁.
                while index + 2 < bytes.count && bytes[index] == 0xE2 && bytes[index + 1] == 0x96 && bytes[index + 2] == 0x81 { index += 3 }
                while index + 2 < bytes.count {
                    if bytes[index] == 0xE2 && bytes[index + 1] == 0x96 && bytes[index + 2] == 0x81 { return false }
                    index += 1
                }
                return true
            }
            if !ok { return false }
        }
        return true
    }

    // MARK: Whole tokens

    enum Fragment {
        case token(Int32)
        case text(Range<Int>)
    }

    /// `tokenizer_st_partition`: for each control/user-defined/unknown token, longest first,
    /// every occurrence in the remaining text becomes that token (control and unknown ones only
    /// with `parseSpecial`); `lstrip`/`rstrip` tokens eat the ASCII whitespace beside them.
    func partition(_ text: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Fragment] {
        guard !text.isEmpty else { return [] }
        var fragments: [Fragment] = [.text(0..<text.count)]
        let texts = vocabulary.texts
        for id in vocabulary.wholeTokens {
            let attribute = vocabulary.attributes[Int(id)]
            if !parseSpecial && !attribute.isDisjoint(with: [.control, .unknown]) { continue }
            let found: Bool = texts.withBytes(Int(id)) { needle in
                var changed = false
                var next: [Fragment] = []
                for fragment in fragments {
                    guard case .text(let range) = fragment else { next.append(fragment); continue }
                    var start = range.lowerBound
                    let end = range.upperBound
                    var matched = false
                    while start < end, let match = Self.find(needle, in: text, start..<end) {
                        matched = true
                        var leftEnd = match
                        if attribute.contains(.leftStrip) {
                            while leftEnd > start && Self.isSpace(text[leftEnd - 1]) { leftEnd -= 1 }
                        }
                        if leftEnd > start { next.append(.text(start..<leftEnd)) }
                        next.append(.token(id))
                        var rightStart = match + needle.count
                        if attribute.contains(.rightStrip) {
                            while rightStart < end && Self.isSpace(text[rightStart]) { rightStart += 1 }
                        }
                        start = rightStart
                    }
                    if !matched {
                        next.append(fragment)
                    } else {
                        changed = true
                        if start < end { next.append(.text(start..<end)) }
                    }
                }
                if changed { fragments = next }
                return changed
            }
            _ = found
        }
        return fragments
    }

    @inline(__always)
    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) }

    /// The first occurrence of `needle` in `haystack[range]`.
    static func find(_ needle: UnsafeBufferPointer<UInt8>, in haystack: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int? {
        guard needle.count > 0, needle.count <= range.count, let base = haystack.baseAddress, let key = needle.baseAddress else { return nil }
        let first = Int32(key[0])
        var position = range.lowerBound
        let last = range.upperBound - needle.count
        while position <= last {
            guard let hit = memchr(base + position, first, last - position + 1) else { return nil }
            let candidate = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            if memcmp(base + candidate, key, needle.count) == 0 { return candidate }
            position = candidate + 1
        }
        return nil
    }

    // MARK: Encoding

    func encode(_ text: UnsafeBufferPointer<UInt8>, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        let fragments = partition(text, parseSpecial: parseSpecial)
        var output: [Int32] = []
        output.reserveCapacity(text.count / 3 + 4)
        let special = vocabulary.special
        var cache = WordCache()
        switch vocabulary.kind {
        case .spm:
            var previousSpecial = true
            if addSpecial && vocabulary.addBOS && special.bos >= 0 { output.append(special.bos) }
            for fragment in fragments {
                switch fragment {
                case .text(let range):
                    var bytes: [UInt8] = []
                    bytes.reserveCapacity(range.count * 3 / 2 + 3)
                    if vocabulary.addSpacePrefix && previousSpecial { bytes.append(contentsOf: [0xE2, 0x96, 0x81]) }
                    Self.appendEscapingSpaces(UnsafeBufferPointer(rebasing: text[range]), to: &bytes)
                    bytes.withUnsafeBufferPointer { encodeSPM($0, into: &output, cache: &cache) }
                    previousSpecial = false
                case .token(let id):
                    output.append(id)
                    previousSpecial = true
                }
            }
            if addSpecial && vocabulary.addEOS && special.eos >= 0 { output.append(special.eos) }
        case .bpe:
            if addSpecial && vocabulary.addBOS && special.bos >= 0 { output.append(special.bos) }
            var workspace = MergeWorkspace()
            for fragment in fragments {
                switch fragment {
                case .text(let range):
                    let piece = UnsafeBufferPointer(rebasing: text[range])
                    if vocabulary.escapeWhitespaces {
                        var bytes: [UInt8] = []
                        bytes.reserveCapacity(range.count * 3 / 2)
                        Self.appendEscapingSpaces(piece, to: &bytes)
                        bytes.withUnsafeBufferPointer { encodeBPE($0, into: &output, cache: &cache, workspace: &workspace) }
                    } else {
                        encodeBPE(piece, into: &output, cache: &cache, workspace: &workspace)
                    }
                case .token(let id):
                    output.append(id)
                }
            }
            if addSpecial && vocabulary.addEOS && special.eos >= 0 { output.append(special.eos) }
        case .wpm:
            if addSpecial && special.bos >= 0 { output.append(special.bos) }
            for fragment in fragments {
                switch fragment {
                case .text(let range): encodeWPM(UnsafeBufferPointer(rebasing: text[range]), into: &output)
                case .token(let id): output.append(id)
                }
            }
            if addSpecial && special.sep >= 0 { output.append(special.sep) }
        case .ugm:
            if addSpecial && vocabulary.addBOS && special.bos >= 0 { output.append(special.bos) }
            for fragment in fragments {
                switch fragment {
                case .text(let range): unigram?.encode(UnsafeBufferPointer(rebasing: text[range]), into: &output)
                case .token(let id): output.append(id)
                }
            }
            if addSpecial && vocabulary.addEOS && special.eos >= 0 { output.append(special.eos) }
        }
        return output
    }

    static func appendEscapingSpaces(_ text: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8]) {
        for byte in text {
            if byte == 0x20 { bytes.append(0xE2); bytes.append(0x96); bytes.append(0x81) } else { bytes.append(byte) }
        }
    }

    // MARK: SPM

    /// SentencePiece's BPE as llama.cpp implements it: start from characters, repeatedly join the
    /// adjacent pair whose joined text is the token with the highest score (ties: leftmost).
    private func encodeSPM(_ text: UnsafeBufferPointer<UInt8>, into output: inout [Int32], cache: inout WordCache) {
        guard !text.isEmpty else { return }
        if !spmCutsAtSpaces {
            var workspace = MergeWorkspace()
            mergeSPM(text, into: &output, workspace: &workspace)
            return
        }
        var workspace = MergeWorkspace()
        var start = 0
        let count = text.count
        func isSpaceMark(_ i: Int) -> Bool { i + 2 < count && text[i] == 0xE2 && text[i + 1] == 0x96 && text[i + 2] == 0x81 }
        var index = 0
        while start < count {
            // The piece: a run of ▁, then everything up to the next ▁.
            index = start
            while isSpaceMark(index) { index += 3 }
            while index < count && !isSpaceMark(index) { index += 1 }
            let piece = UnsafeBufferPointer(rebasing: text[start..<index])
            if !cache.emit(piece, into: &output) {
                let first = output.count
                mergeSPM(piece, into: &output, workspace: &workspace)
                cache.insert(piece, output[first...])
            }
            start = index
        }
    }

    private func mergeSPM(_ text: UnsafeBufferPointer<UInt8>, into output: inout [Int32], workspace w: inout MergeWorkspace) {
        let texts = vocabulary.texts
        w.reset()
        var offset = 0
        while offset < text.count {
            let length = min(UTF8Text.sequenceLength(text[offset]), text.count - offset)
            w.append(start: offset, length: length, id: texts.id(of: text.baseAddress! + offset, count: length))
            offset += length
        }
        let scores = vocabulary.scores
        func tryPair(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0 else { return }
            let start = Int(w.start[Int(left)])
            let size = Int(w.length[Int(left)] + w.length[Int(right)])
            let id = texts.id(of: text.baseAddress! + start, count: size)
            guard id >= 0 else { return }
            // Highest score first, then leftmost: a min-heap on (inverted score, left).
            let key = UInt64(~Self.sortableBits(scores[Int(id)])) << 32 | UInt64(UInt32(left))
            w.push(MergeWorkspace.Candidate(key: key, right: right, size: Int32(size), result: id))
        }
        for index in 1..<max(1, w.count) { tryPair(Int32(index - 1), Int32(index)) }
        while let candidate = w.pop() {
            let left = Int(candidate.key & 0xFFFF_FFFF), right = Int(candidate.right)
            guard w.length[left] > 0, w.length[right] > 0, w.length[left] + w.length[right] == candidate.size else { continue }
            w.join(left, right, result: candidate.result)
            tryPair(w.previous[left], Int32(left))
            tryPair(Int32(left), w.next[left])
        }
        var index: Int32 = w.count > 0 ? 0 : -1
        while index >= 0 {
            let i = Int(index)
            if w.id[i] >= 0 {
                output.append(w.id[i])
            } else {
                let start = Int(w.start[i])
                for offset in start..<(start + Int(w.length[i])) {
                    let token = vocabulary.byteTokens[Int(text[offset])]
                    if token >= 0 {
                        output.append(token)
                    } else if vocabulary.special.unk >= 0 {
                        output.append(vocabulary.special.unk)
                    }
                }
            }
            index = w.next[i]
        }
    }

    /// A Float's bits, ordered as the values are.
    @inline(__always)
    static func sortableBits(_ value: Float) -> UInt32 {
        let bits = value.bitPattern
        return bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
    }

    // MARK: BPE

    private func encodeBPE(_ text: UnsafeBufferPointer<UInt8>, into output: inout [Int32], cache: inout WordCache,
                           workspace: inout MergeWorkspace) {
        guard !text.isEmpty, let pipeline else { return }
        // Code points, as llama.cpp decodes them (a byte that starts no sequence is U+FFFD).
        var codepoints: [UInt32] = []
        codepoints.reserveCapacity(text.count)
        var offsets: [Int32] = []
        offsets.reserveCapacity(text.count + 1)
        var replaced = false
        var offset = 0
        while offset < text.count {
            let (value, length) = UTF8Text.decodeLikeLlama(text, at: offset)
            // Invalid and overlong sequences come back different when re-encoded.
            if (value == 0xFFFD && length == 1) || UTF8Text.encodedLength(value) != length { replaced = true }
            codepoints.append(value)
            offsets.append(Int32(offset))
            offset += length
        }
        offsets.append(Int32(text.count))
        let ends = codepoints.withUnsafeBufferPointer { pipeline.split($0) }
        var start = 0
        var scratch: [UInt8] = []
        for end in ends {
            let e = Int(end)
            if replaced {
                // Words are re-encoded from code points, so replaced bytes become U+FFFD.
                scratch.removeAll(keepingCapacity: true)
                for index in start..<e { UTF8Text.append(codepoints[index], to: &scratch) }
                scratch.withUnsafeBufferPointer { encodeWord($0, into: &output, cache: &cache, workspace: &workspace) }
            } else {
                let word = UnsafeBufferPointer(rebasing: text[Int(offsets[start])..<Int(offsets[e])])
                encodeWord(word, into: &output, cache: &cache, workspace: &workspace)
            }
            start = e
        }
    }

    private func encodeWord(_ word: UnsafeBufferPointer<UInt8>, into output: inout [Int32], cache: inout WordCache,
                            workspace: inout MergeWorkspace) {
        if cache.emit(word, into: &output) { return }
        let first = output.count
        mergeWord(word, into: &output, workspace: &workspace)
        cache.insert(word, output[first...])
    }

    private func mergeWord(_ word: UnsafeBufferPointer<UInt8>, into output: inout [Int32], workspace w: inout MergeWorkspace) {
        let texts = vocabulary.texts
        let byteLevel = vocabulary.byteEncodes
        // Whole words that are tokens skip the merges (ignore_merges), and so do Gemma 4's runs of
        // newlines.
        if vocabulary.ignoreMerges || (vocabulary.preType == .gemma4 && word.allSatisfy { $0 == 0x0A }) {
            let id: Int32
            if byteLevel {
                var encoded: [UInt8] = []
                encoded.reserveCapacity(word.count * 2)
                for byte in word { encoded.append(contentsOf: ByteLevel.encoded[Int(byte)]) }
                id = texts.id(of: encoded)
            } else {
                id = texts.id(of: word.baseAddress!, count: word.count)
            }
            if id >= 0 {
                output.append(id)
                return
            }
        }
        w.reset()
        if byteLevel {
            for offset in 0..<word.count { w.append(start: offset, length: 1, id: vocabulary.byteTokens[Int(word[offset])]) }
        } else {
            var offset = 0
            while offset < word.count {
                let length = min(UTF8Text.sequenceLength(word[offset]), word.count - offset)
                w.append(start: offset, length: length, id: texts.id(of: word.baseAddress! + offset, count: length))
                offset += length
            }
        }
        let merges = vocabulary.merges
        func tryPair(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0 else { return }
            let a = w.id[Int(left)], b = w.id[Int(right)]
            guard a >= 0, b >= 0, let merge = merges.lookup(a, b) else { return }
            let key = UInt64(UInt32(bitPattern: merge.rank)) << 32 | UInt64(UInt32(left))
            w.push(MergeWorkspace.Candidate(key: key, right: right, size: a, result: merge.result, rightID: b))
        }
        for index in 1..<max(1, w.count) { tryPair(Int32(index - 1), Int32(index)) }
        while let candidate = w.pop() {
            let left = Int(candidate.key & 0xFFFF_FFFF), right = Int(candidate.right)
            guard w.length[left] > 0, w.length[right] > 0, w.id[left] == candidate.size, w.id[right] == candidate.rightID,
                  w.next[left] == Int32(right) else { continue }
            w.join(left, right, result: candidate.result)
            tryPair(w.previous[left], Int32(left))
            tryPair(Int32(left), w.next[left])
        }
        var index: Int32 = w.count > 0 ? 0 : -1
        while index >= 0 {
            let i = Int(index)
            if w.id[i] >= 0 {
                output.append(w.id[i])
            } else {
                let start = Int(w.start[i])
                for offset in start..<(start + Int(w.length[i])) {
                    let token = vocabulary.byteTokens[Int(word[offset])]
                    if token >= 0 { output.append(token) }
                }
            }
            index = w.next[i]
        }
    }

    // MARK: WPM

    private func encodeWPM(_ text: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        let texts = vocabulary.texts
        var codepoints = UTF8Text.codepointsLikeLlama(text)
        if vocabulary.stripAccents { codepoints = codepoints.map(Normalization.firstOfNFD) }
        var words: [[UInt8]] = [[]]
        for value in codepoints {
            let flags = CodepointClasses.flags(value)
            if flags.contains(.whitespace) {
                if !words[words.count - 1].isEmpty { words.append([]) }
                continue
            }
            if value == 0 || value == 0xFFFD || flags.contains(.control) { continue }
            if vocabulary.stripAccents && flags.contains(.mark) { continue }
            let mapped = vocabulary.lowercase ? CodepointClasses.lowercase(value) : value
            if flags.contains(.punctuation) || (value < 0x7F && flags.contains(.symbol)) || Self.isChinese(value) {
                if !words[words.count - 1].isEmpty { words.append([]) }
                words[words.count - 1] = UTF8Text.encode(mapped)
                words.append([])
            } else {
                UTF8Text.append(mapped, to: &words[words.count - 1])
            }
        }
        let maxLength = vocabulary.maxTokenLength
        for word in words where !word.isEmpty {
            let marked: [UInt8] = [0xE2, 0x96, 0x81] + word
            let n = marked.count
            let before = output.count
            marked.withUnsafeBufferPointer { buffer in
                var i = 0
                while i < n {
                    var matched = false
                    var j = min(n, i + maxLength + 1)
                    while j > i {
                        let id = texts.id(of: buffer.baseAddress! + i, count: j - i)
                        if id >= 0 {
                            output.append(id)
                            matched = true
                            i = j
                            break
                        }
                        j -= 1
                    }
                    if !matched {
                        output.removeSubrange(before...)
                        break
                    }
                }
            }
            if output.count == before && vocabulary.special.unk >= 0 { output.append(vocabulary.special.unk) }
        }
    }

    static func isChinese(_ value: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(value) || (0x3400...0x4DBF).contains(value) || (0x20000...0x2A6DF).contains(value)
            || (0x2A700...0x2B73F).contains(value) || (0x2B740...0x2B81F).contains(value) || (0x2B920...0x2CEAF).contains(value)
            || (0xF900...0xFAFF).contains(value) || (0x2F800...0x2FA1F).contains(value)
    }
}

/// The symbols of one word or text being merged (a doubly linked list in arrays) and the heap
/// of candidate joins. Reused from word to word.
struct MergeWorkspace {
    struct Candidate {
        /// Priority (high 32 bits; lower first) then the left symbol's index.
        var key: UInt64
        var right: Int32
        /// SPM: the joined byte length. BPE: the left symbol's id when queued.
        var size: Int32
        var result: Int32
        var rightID: Int32 = -1
    }

    var start: [Int32] = []
    var length: [Int32] = []
    var id: [Int32] = []
    var previous: [Int32] = []
    var next: [Int32] = []
    private var heap: [Candidate] = []

    var count: Int { start.count }

    mutating func reset() {
        start.removeAll(keepingCapacity: true)
        length.removeAll(keepingCapacity: true)
        id.removeAll(keepingCapacity: true)
        previous.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        heap.removeAll(keepingCapacity: true)
    }

    mutating func append(start offset: Int, length size: Int, id token: Int32) {
        let index = Int32(start.count)
        if index > 0 { next[Int(index) - 1] = index }
        start.append(Int32(offset))
        length.append(Int32(size))
        id.append(token)
        previous.append(index - 1)
        next.append(-1)
    }

    /// Joins symbol `right` into `left`.
    mutating func join(_ left: Int, _ right: Int, result: Int32) {
        length[left] += length[right]
        length[right] = 0
        id[left] = result
        let after = next[right]
        next[left] = after
        if after >= 0 { previous[Int(after)] = Int32(left) }
    }

    mutating func push(_ candidate: Candidate) {
        heap.append(candidate)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if heap[parent].key <= heap[child].key { break }
            heap.swapAt(parent, child)
            child = parent
        }
    }

    mutating func pop() -> Candidate? {
        guard let last = heap.popLast() else { return nil }
        guard !heap.isEmpty else { return last }
        let top = heap[0]
        heap[0] = last
        var parent = 0
        let count = heap.count
        while true {
            let left = 2 * parent + 1
            if left >= count { break }
            var smallest = left
            if left + 1 < count && heap[left + 1].key < heap[left].key { smallest = left + 1 }
            if heap[parent].key <= heap[smallest].key { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}

/// Ids of the words already encoded in one call, by the words' bytes.
struct WordCache {
    private var slots: [Int32] = []
    private var mask = 0
    private var keys: [UInt8] = []
    private var keyOffsets: [Int32] = []
    private var keyLengths: [Int32] = []
    private var hashes: [UInt64] = []
    private var ids: [Int32] = []
    private var idOffsets: [Int32] = []
    private var idCounts: [Int32] = []
    /// Words longer than this are not cached (long words rarely repeat).
    static let longestWord = 256
    static let capacity = 1 << 20

    @inline(__always)
    private func find(_ word: UnsafeBufferPointer<UInt8>, hash: UInt64) -> (slot: Int, entry: Int32) {
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = slots[slot]
            if entry < 0 { return (slot, -1) }
            let e = Int(entry)
            if hashes[e] == hash && Int(keyLengths[e]) == word.count {
                let same = keys.withUnsafeBufferPointer { memoryEqual($0.baseAddress! + Int(keyOffsets[e]), word.baseAddress!, word.count) }
                if same { return (slot, entry) }
            }
            slot = (slot + 1) & mask
        }
    }

    /// Appends the cached ids of `word` if it was seen; returns whether it was.
    mutating func emit(_ word: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) -> Bool {
        guard !slots.isEmpty, word.count <= Self.longestWord, !word.isEmpty else { return false }
        let hash = ByteHashing.hash(word.baseAddress!, word.count)
        let (_, entry) = find(word, hash: hash)
        guard entry >= 0 else { return false }
        let start = Int(idOffsets[Int(entry)])
        output.append(contentsOf: ids[start..<(start + Int(idCounts[Int(entry)]))])
        return true
    }

    mutating func insert(_ word: UnsafeBufferPointer<UInt8>, _ tokens: ArraySlice<Int32>) {
        guard word.count <= Self.longestWord, !word.isEmpty, hashes.count < Self.capacity else { return }
        if slots.isEmpty || hashes.count * 2 >= slots.count { grow() }
        let hash = ByteHashing.hash(word.baseAddress!, word.count)
        let (slot, entry) = find(word, hash: hash)
        guard entry < 0 else { return }
        slots[slot] = Int32(hashes.count)
        hashes.append(hash)
        keyOffsets.append(Int32(keys.count))
        keyLengths.append(Int32(word.count))
        keys.append(contentsOf: word)
        idOffsets.append(Int32(ids.count))
        idCounts.append(Int32(tokens.count))
        ids.append(contentsOf: tokens)
    }

    private mutating func grow() {
        let size = max(1024, slots.count * 2)
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        for (entry, hash) in hashes.enumerated() {
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(entry)
        }
    }
}
