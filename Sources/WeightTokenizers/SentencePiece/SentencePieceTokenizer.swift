import WeightFormats

/// A SentencePiece `tokenizer.model` as the `sentencepiece` library (0.2) runs it:
///
/// - normalization: user-defined pieces pass through whole; otherwise the longest rule of the
///   precompiled character map, or the character itself; a `▁` prefix (`add_dummy_prefix`),
///   runs of spaces collapsed and trimmed (`remove_extra_whitespaces`), spaces as `▁`;
/// - BPE: characters (user-defined pieces frozen), joined by the highest-scoring piece, ties
///   leftmost; unused pieces split back into what they joined;
/// - Unigram: Viterbi with float scores, user-defined pieces scoring `length * max - 0.1`,
///   an unknown character `min - 10`;
/// - unknown pieces become `<0xXX>` bytes with `byte_fallback`, else one unknown id per run.
///
/// Control pieces (`<s>`, `</s>`) are never produced from text; with `parseSpecial` WeightKit
/// matches their texts first (longest first), as it does for GGUF and tokenizer.json.
final class SentencePieceTokenizer: Sendable {
    let file: String
    let proto: ModelProto
    let texts: TokenTexts
    private let normalIDs: TokenTexts
    private let reservedIDs: [[UInt8]: Int32]
    private let userDefined: ByteTrie
    private let userDefinedCount: Int
    private let modelTrie: ByteTrie
    private let charsMap: CharsMap?
    private let minScore: Float
    private let maxScore: Float
    private let unknown: Int32
    private let byteTokens: [Int32]
    let controlOrder: [Int32]
    let specialTokens: SpecialTokenIDs
    let addBOS: Bool
    let addEOS: Bool

    init(file: String, bytes: [UInt8], config: JSONObject?) throws {
        self.file = file
        let proto = try ModelProto(bytes: bytes, file: file)
        self.proto = proto
        guard proto.modelType == .bpe || proto.modelType == .unigram else {
            throw TokenizerError.unsupportedModel(file: file, model: proto.modelType == .word ? "sentencepiece WORD" : "sentencepiece CHAR")
        }
        texts = TokenTexts(texts: proto.pieces.map(\.text))
        var normal: [[UInt8]] = []
        var reserved: [[UInt8]: Int32] = [:]
        var users = ByteTrie(), model = ByteTrie()
        var userCount = 0
        var minimum = Float.greatestFiniteMagnitude, maximum = Float.leastNormalMagnitude
        var unknown: Int32 = -1
        for (index, piece) in proto.pieces.enumerated() {
            guard !piece.text.isEmpty else { throw TokenizerError.invalidFile(file: file, reason: "piece \(index) is empty") }
            switch piece.type {
            case .normal, .userDefined, .unused:
                normal.append(piece.text)
                model.insert(piece.text, value: Int32(index))
                if piece.type == .userDefined {
                    users.insert(piece.text, value: Int32(index))
                    userCount += 1
                }
                if piece.type == .normal {
                    minimum = min(minimum, piece.score)
                    maximum = max(maximum, piece.score)
                }
            case .unknown, .control, .byte:
                normal.append(HFTokenizer.placeholder(index))
                if reserved[piece.text] != nil { throw TokenizerError.invalidFile(file: file, reason: "piece '\(String(decoding: piece.text, as: UTF8.self))' is defined twice") }
                reserved[piece.text] = Int32(index)
                if piece.type == .unknown { unknown = Int32(index) }
                if piece.type == .byte && !proto.byteFallback {
                    throw TokenizerError.invalidFile(file: file, reason: "byte piece \(index) in a model without byte_fallback")
                }
            }
        }
        guard unknown >= 0 else { throw TokenizerError.invalidFile(file: file, reason: "no unknown piece") }
        normalIDs = TokenTexts(texts: normal)
        reservedIDs = reserved
        userDefined = users
        userDefinedCount = userCount
        modelTrie = model
        minScore = minimum
        maxScore = maximum
        self.unknown = unknown
        charsMap = proto.charsMap.isEmpty ? nil : try CharsMap(bytes: proto.charsMap, file: file)
        var byteTokens = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 { byteTokens[byte] = reserved[ByteLevel.hexToken(UInt8(byte))] ?? -1 }
        self.byteTokens = byteTokens
        var controls: [Int32] = []
        for (index, piece) in proto.pieces.enumerated() where piece.type == .control { controls.append(Int32(index)) }
        controlOrder = controls.enumerated().sorted { a, b in
            let la = proto.pieces[Int(a.element)].text.count, lb = proto.pieces[Int(b.element)].text.count
            return la != lb ? la > lb : a.offset < b.offset
        }.map(\.element)

        var special = SpecialTokenIDs()
        func control(_ id: Int, _ text: String) -> Int? {
            let found = reserved[Array(text.utf8)].map(Int.init)
            return found.flatMap { proto.pieces[$0].type == .control ? $0 : nil }
        }
        special.unknown = Int(unknown)
        special.bos = control(proto.bosID, proto.bosPiece)
        special.eos = control(proto.eosID, proto.eosPiece)
        special.padding = control(proto.padID, proto.padPiece)
        addBOS = config?["add_bos_token"]?.boolValue ?? false
        addEOS = config?["add_eos_token"]?.boolValue ?? false
        special.addsBOS = addBOS && special.bos != nil
        special.addsEOS = addEOS && special.eos != nil
        specialTokens = special
    }

    /// `ModelInterface::PieceToId`: control, unknown and byte pieces first, then the others,
    /// else the unknown id.
    func pieceID(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
        if let id = reservedIDs[Array(bytes)] { return id }
        let id = normalIDs.id(of: bytes.baseAddress!, count: bytes.count)
        return id >= 0 ? id : unknown
    }

    // MARK: Normalization

    func normalize(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        guard !input.isEmpty else { return output }
        output.reserveCapacity(input.count * 3)
        let space: [UInt8] = [0xE2, 0x96, 0x81]
        func appendSpace() { if proto.escapeWhitespaces { output += space } else { output.append(0x20) } }
        if !proto.treatWhitespaceAsSuffix && proto.addDummyPrefix { appendSpace() }
        var previousSpace = proto.removeExtraWhitespaces
        var offset = 0
        while offset < input.count {
            let (piece, consumed) = normalizePrefix(input, at: offset)
            var start = piece.startIndex
            if previousSpace { while start < piece.endIndex && piece[start] == 0x20 { start += 1 } }
            if start < piece.endIndex {
                for byte in piece[start...] {
                    if proto.escapeWhitespaces && byte == 0x20 { output += space } else { output.append(byte) }
                }
                previousSpace = piece.last == 0x20
            }
            offset += consumed
            if !proto.removeExtraWhitespaces { previousSpace = false }
        }
        if proto.removeExtraWhitespaces {
            let trailing: [UInt8] = proto.escapeWhitespaces ? space : [0x20]
            while output.count >= trailing.count && Array(output.suffix(trailing.count)) == trailing { output.removeLast(trailing.count) }
        }
        if proto.treatWhitespaceAsSuffix && proto.addDummyPrefix { appendSpace() }
        return output
    }

    private func normalizePrefix(_ input: UnsafeBufferPointer<UInt8>, at offset: Int) -> (ArraySlice<UInt8>, Int) {
        if userDefinedCount > 0 {
            let length = longestKey(userDefined, input, at: offset)
            if length > 0 { return (ArraySlice(input[offset..<(offset + length)]), length) }
        }
        if let charsMap, let match = charsMap.longestMatch(input, at: offset) { return (match.replacement, match.consumed) }
        let (value, length) = UTF8Text.decodeLikeLlama(input, at: offset)
        if value == 0xFFFD && length == 1 { return ([0xEF, 0xBF, 0xBD], 1) }
        // Strictly valid UTF-8 only (sentencepiece rejects overlong forms and surrogates).
        let slice = ArraySlice(input[offset..<(offset + length)])
        if String(validating: slice, as: UTF8.self) == nil { return ([0xEF, 0xBF, 0xBD], 1) }
        return (slice, length)
    }

    /// The length of the longest key of `trie` that starts `input[offset...]`, or 0.
    private func longestKey(_ trie: ByteTrie, _ input: UnsafeBufferPointer<UInt8>, at offset: Int) -> Int {
        var node: Int32 = 0
        var best = 0
        var position = offset
        while position < input.count {
            node = trie.child(node, input[position])
            if node < 0 { break }
            position += 1
            if trie.values[Int(node)] >= 0 { best = position - offset }
        }
        return best
    }

    // MARK: Encoding

    func encode(_ text: UnsafeBufferPointer<UInt8>, addSpecial: Bool, parseSpecial: Bool) -> [Int] {
        var output: [Int32] = []
        if addSpecial && addBOS, let bos = specialTokens.bos { output.append(Int32(bos)) }
        var fragments: [(Range<Int>?, Int32)] = [(0..<text.count, -1)]
        if parseSpecial {
            for id in controlOrder {
                let needle = proto.pieces[Int(id)].text
                var next: [(Range<Int>?, Int32)] = []
                needle.withUnsafeBufferPointer { needle in
                    for fragment in fragments {
                        guard let range = fragment.0 else { next.append(fragment); continue }
                        var start = range.lowerBound
                        while start < range.upperBound, let match = LlamaEncoder.find(needle, in: text, start..<range.upperBound) {
                            if match > start { next.append((start..<match, -1)) }
                            next.append((nil, id))
                            start = match + needle.count
                        }
                        if start < range.upperBound { next.append((start..<range.upperBound, -1)) }
                    }
                }
                fragments = next
            }
        }
        for (range, id) in fragments {
            guard let range else { output.append(id); continue }
            let normalized = normalize(UnsafeBufferPointer(rebasing: text[range]))
            guard !normalized.isEmpty else { continue }
            normalized.withUnsafeBufferPointer { buffer in
                let pieces = proto.modelType == .bpe ? encodeBPE(buffer) : encodeUnigram(buffer)
                emit(pieces, buffer, into: &output)
            }
        }
        if addSpecial && addEOS, let eos = specialTokens.eos { output.append(Int32(eos)) }
        return output.map(Int.init)
    }

    /// `PopulateSentencePieceText`: unknown pieces as bytes (byte_fallback) or one id per run.
    private func emit(_ pieces: [(Range<Int>, Int32)], _ text: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        var previousUnknown = false
        for (range, id) in pieces {
            let isUnknown = id == unknown
            if isUnknown && proto.byteFallback {
                for position in range { output.append(byteTokens[Int(text[position])]) }
            } else if !(isUnknown && previousUnknown) {
                output.append(id)
            }
            previousUnknown = isUnknown
        }
    }

    private func encodeUnigram(_ text: UnsafeBufferPointer<UInt8>) -> [(Range<Int>, Int32)] {
        let n = text.count
        var bestID = [Int32](repeating: -1, count: n + 1)
        var bestStart = [Int](repeating: -1, count: n + 1)
        var bestScore = [Float](repeating: 0, count: n + 1)
        let unknownScore = minScore - 10
        let values = modelTrie.values
        var offset = 0
        while offset < n {
            let characterLength = min(UTF8Text.sequenceLength(text[offset]), n - offset)
            let current = bestScore[offset]
            var single = false
            var node: Int32 = 0
            var end = offset
            while end < n {
                node = modelTrie.child(node, text[end])
                if node < 0 { break }
                end += 1
                let id = values[Int(node)]
                guard id >= 0, proto.pieces[Int(id)].type != .unused else { continue }
                let length = end - offset
                let score = proto.pieces[Int(id)].type == .userDefined ? Float(length) * maxScore - 0.1 : proto.pieces[Int(id)].score
                let candidate = score + current
                if bestStart[end] < 0 || candidate > bestScore[end] {
                    bestScore[end] = candidate
                    bestStart[end] = offset
                    bestID[end] = id
                }
                if length == characterLength { single = true }
            }
            if !single {
                let target = offset + characterLength
                let candidate = unknownScore + current
                if bestStart[target] < 0 || candidate > bestScore[target] {
                    bestScore[target] = candidate
                    bestStart[target] = offset
                    bestID[target] = unknown
                }
            }
            offset += characterLength
        }
        var pieces: [(Range<Int>, Int32)] = []
        var end = n
        while end > 0 {
            let start = bestStart[end]
            guard start >= 0 else { break }
            pieces.append((start..<end, bestID[end]))
            end = start
        }
        return pieces.reversed()
    }

    private func encodeBPE(_ text: UnsafeBufferPointer<UInt8>) -> [(Range<Int>, Int32)] {
        var w = MergeWorkspace()
        var frozen: [Bool] = []
        var offset = 0
        while offset < text.count {
            var length = userDefinedCount > 0 ? longestKey(userDefined, text, at: offset) : 0
            let isFrozen = length > 0
            if length == 0 { length = min(UTF8Text.sequenceLength(text[offset]), text.count - offset) }
            w.append(start: offset, length: length, id: -1)
            frozen.append(isFrozen)
            offset += length
        }
        var reverseMerge: [Range<Int>: (Range<Int>, Range<Int>)] = [:]
        func tryPair(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0, !frozen[Int(left)], !frozen[Int(right)] else { return }
            let start = Int(w.start[Int(left)])
            let size = Int(w.length[Int(left)] + w.length[Int(right)])
            let id = normalIDs.id(of: text.baseAddress! + start, count: size)
            guard id >= 0 else { return }
            let key = UInt64(~LlamaEncoder.sortableBits(proto.pieces[Int(id)].score)) << 32 | UInt64(UInt32(left))
            w.push(MergeWorkspace.Candidate(key: key, right: right, size: Int32(size), result: id))
            if proto.pieces[Int(id)].type == .unused {
                let leftRange = start..<(start + Int(w.length[Int(left)]))
                let rightStart = Int(w.start[Int(right)])
                reverseMerge[start..<(start + size)] = (leftRange, rightStart..<(rightStart + Int(w.length[Int(right)])))
            }
        }
        for index in 1..<max(1, w.count) { tryPair(Int32(index - 1), Int32(index)) }
        while let candidate = w.pop() {
            let left = Int(candidate.key & 0xFFFF_FFFF), right = Int(candidate.right)
            guard w.length[left] > 0, w.length[right] > 0, w.length[left] + w.length[right] == candidate.size else { continue }
            w.join(left, right, result: candidate.result)
            tryPair(w.previous[left], Int32(left))
            tryPair(Int32(left), w.next[left])
        }
        var pieces: [(Range<Int>, Int32)] = []
        func resegment(_ range: Range<Int>) {
            let id = pieceID(UnsafeBufferPointer(rebasing: text[range]))
            if id < 0 || proto.pieces[Int(id)].type != .unused {
                pieces.append((range, id))
                return
            }
            guard let (a, b) = reverseMerge[range] else { pieces.append((range, id)); return }
            resegment(a)
            resegment(b)
        }
        var index: Int32 = w.count > 0 ? 0 : -1
        while index >= 0 {
            let i = Int(index)
            let start = Int(w.start[i])
            resegment(start..<(start + Int(w.length[i])))
            index = w.next[i]
        }
        return pieces
    }

    // MARK: Decoding

    /// `SentencePieceProcessor::Decode`.
    func decode(_ ids: [Int], skipSpecial: Bool) -> [UInt8] {
        var text: [UInt8] = []
        var expectLeadingSpace = true
        var leadingSpaceSeen = false
        var bytes: [UInt8] = []
        func flushBytes() {
            guard !bytes.isEmpty else { return }
            var offset = 0
            while offset < bytes.count {
                let length = Self.validCharacterLength(bytes, at: offset)
                if length == 0 {
                    text += [0xEF, 0xBF, 0xBD]
                    offset += 1
                } else {
                    text += bytes[offset..<(offset + length)]
                    offset += length
                }
            }
            bytes.removeAll()
        }
        for id in ids {
            let piece = proto.pieces[id]
            if piece.type == .byte {
                bytes.append(LlamaPieces.tokenByte(piece.text))
                continue
            }
            flushBytes()
            if leadingSpaceSeen || !text.isEmpty { expectLeadingSpace = false }
            switch piece.type {
            case .control:
                // Invisible to sentencepiece; rendered as its text unless special tokens are skipped.
                if !skipSpecial { text += piece.text }
                leadingSpaceSeen = false
            case .unknown:
                text += proto.unkSurface
                leadingSpaceSeen = false
            default:
                var body = piece.text[...]
                var consumed = false
                if expectLeadingSpace && (proto.addDummyPrefix || proto.removeExtraWhitespaces) {
                    if body.starts(with: [0xE2, 0x96, 0x81]) {
                        body = body.dropFirst(3)
                        consumed = true
                    }
                    if proto.removeExtraWhitespaces { consumed = false }
                }
                text += LlamaPieces.unescapeWhitespace(body)
                leadingSpaceSeen = consumed
            }
        }
        flushBytes()
        return text
    }

    /// The length of the valid UTF-8 character at `offset`, or 0 (sentencepiece's
    /// `IsValidDecodeUTF8`).
    static func validCharacterLength(_ bytes: [UInt8], at offset: Int) -> Int {
        let length = UTF8Text.sequenceLength(bytes[offset])
        guard offset + length <= bytes.count else { return 0 }
        return String(validating: bytes[offset..<(offset + length)], as: UTF8.self) != nil ? length : 0
    }

    /// Streaming: the part of `decode(ids)` past `emitted` that later ids cannot change.
    func streamDecode(_ ids: [Int], skipSpecial: Bool, emitted: Int, final: Bool) -> ([UInt8], Int) {
        let bytes = decode(ids, skipSpecial: skipSpecial)
        var stable = bytes.count
        if !final {
            while stable >= 3 && bytes[stable - 3] == 0xEF && bytes[stable - 2] == 0xBF && bytes[stable - 1] == 0xBD { stable -= 3 }
            stable -= 4
            while stable > 0 && stable < bytes.count && bytes[stable] & 0xC0 == 0x80 { stable -= 1 }
        }
        guard stable > emitted else { return ([], emitted) }
        return (Array(bytes[emitted..<stable]), stable)
    }
}
