/// How consecutive tensors are grouped into the parts of a split checkpoint.
///
/// A tensor that would take its part past the limit starts a new part; a tensor larger than the
/// limit gets a part of its own (never an empty part before it). This is llama-gguf-split's rule
/// (`split_strategy`, sizes counted as tensor bytes padded to 32, metadata not counted) and the
/// rule of transformers' `max_shard_size` (tensor bytes), both taking tensors in file order.
public enum SplitLayout {
    /// The padding llama-gguf-split adds to each tensor's size when it fills a part
    /// (`GGML_PAD(ggml_nbytes(t), GGUF_DEFAULT_ALIGNMENT)`), whatever the file's alignment.
    public static let ggufSizeGranule = GGUFLimits.defaultAlignment

    /// Ranges of tensor indices, one per part, covering `sizes` in order. No tensors: one empty part.
    ///
    /// - Parameters:
    ///   - sizes: each tensor's size as counted against the limit.
    ///   - maxSize: the most bytes of tensors in one part (at least 1).
    public static func parts(sizes: [Int], maxSize: Int) -> [Range<Int>] {
        var parts: [Range<Int>] = []
        var start = 0
        var current = 0
        for (index, size) in sizes.enumerated() {
            if index > start && current + size > maxSize {
                parts.append(start..<index)
                start = index
                current = 0
            }
            current += size
        }
        parts.append(start..<sizes.count)
        return parts
    }

    /// A tensor's size as llama-gguf-split counts it.
    public static func ggufCountedSize(_ byteCount: Int) -> Int {
        (byteCount + ggufSizeGranule - 1) / ggufSizeGranule * ggufSizeGranule
    }

    /// `PREFIX-0000N-of-0000M.EXT` (parts numbered from 1), as `llama_split_path` and
    /// transformers name parts and shards.
    public static func partName(prefix: String, part: Int, count: Int, fileExtension: String) -> String {
        "\(prefix)-\(fiveDigits(part))-of-\(fiveDigits(count)).\(fileExtension)"
    }

    static func fiveDigits(_ value: Int) -> String {
        let text = String(value)
        return text.count >= 5 ? text : String(repeating: "0", count: 5 - text.count) + text
    }
}

/// The keys of a GGUF split set (llama.cpp's `LLM_KV_SPLIT_*`).
public enum GGUFSplitKeys {
    /// UINT16: the part's index, from 0.
    public static let number = "split.no"
    /// UINT16: how many parts the set has.
    public static let count = "split.count"
    /// INT32: how many tensors all the parts hold together.
    public static let tensorCount = "split.tensors.count"

    /// Whether `key` is one of the split keys, which a merged or re-split file does not copy.
    public static func isSplitKey(_ key: String) -> Bool { key.hasPrefix("split.") }

    /// A part's metadata as llama-gguf-split writes it: the first part carries every key of the
    /// source (split keys removed) followed by the three split keys; later parts carry only the
    /// split keys. The order is llama-gguf-split's: it writes `split.count` as a placeholder
    /// and sets it once the parts are known, which moves it after `split.tensors.count`.
    public static func metadata(
        of source: GGUFMetadataList, part: Int, partCount: Int, tensorCount: Int
    ) throws -> GGUFMetadataList {
        guard partCount <= Int(UInt16.max) else {
            throw WriterError.invalidMetadata(key: count, reason: "\(partCount) parts do not fit a UINT16")
        }
        guard let tensors = Int32(exactly: tensorCount) else {
            throw WriterError.invalidMetadata(key: GGUFSplitKeys.tensorCount, reason: "\(tensorCount) tensors do not fit an INT32")
        }
        var metadata = GGUFMetadataList()
        if part == 0 {
            metadata = source
            metadata.removeAll(where: isSplitKey)
        }
        metadata[number] = .uint16(UInt16(part))
        metadata[GGUFSplitKeys.tensorCount] = .int32(tensors)
        metadata[count] = .uint16(UInt16(partCount))
        return metadata
    }
}
