import WeightFormats

/// An importance matrix as llama-imatrix writes it, normalised as llama-quantize hands it to
/// the quantisers: per tensor, one weight per column (per expert for stacked expert tensors).
///
/// Two formats (llama.cpp common/imatrix-loader.cpp):
/// - GGUF (`general.type = imatrix`): per tensor `<name>.in_sum2` (F32, the sums of squared
///   activations, ne0 x n_expert) and `<name>.counts` (F32, tokens seen, one per expert), plus
///   `imatrix.datasets` (string array), `imatrix.chunk_count` and `imatrix.chunk_size` (u32).
///   The weights are in_sum2 / count per expert, 1 where the count is 0.
/// - Legacy `.dat`: i32 entry count; per entry i32 name length, the name, i32 ncall, i32 value
///   count, the values (f32, already averaged and multiplied by ncall); then optionally i32 chunk
///   count, i32 dataset-name length and the name. The weights are values / ncall (as they are
///   where ncall is 0).
public struct ImportanceMatrix: Sendable {
    /// Normalised weights by tensor name.
    public var entries: [String: [Float]]
    public var datasets: [String]
    public var chunkCount: Int
    public var chunkSize: Int
    public var isLegacy: Bool

    public init(entries: [String: [Float]], datasets: [String] = [], chunkCount: Int = 0, chunkSize: Int = 0, isLegacy: Bool = false) {
        self.entries = entries
        self.datasets = datasets
        self.chunkCount = chunkCount
        self.chunkSize = chunkSize
        self.isLegacy = isLegacy
    }

    /// Reads either format (GGUF when the file starts with its magic).
    /// - Throws: `ImportanceMatrixError` naming the file and what is wrong.
    public static func read(path: String) throws -> ImportanceMatrix {
        let file = try MappedFile(path: path)
        if file.size >= 4 && Array(file.bytes[0..<4]) == GGUFLimits.magic {
            return try readGGUF(GGUFFile(file: file), path: path)
        }
        return try readLegacy(file, path: path)
    }

    static func readGGUF(_ gguf: GGUFFile, path: String) throws -> ImportanceMatrix {
        guard !gguf.tensorInfos.isEmpty else { throw ImportanceMatrixError.empty(path: path) }
        let metadata = gguf.metadata
        var datasets: [String] = []
        if let array = metadata["imatrix.datasets"]?.arrayValue, array.elementType == .string {
            datasets = array.compactMap { $0.stringValue }
        }
        let hasMetadata = metadata.contains("imatrix.datasets") && metadata.contains("imatrix.chunk_count") && metadata.contains("imatrix.chunk_size")
        guard hasMetadata else { throw ImportanceMatrixError.missingMetadata(path: path) }
        func count(_ key: String) throws -> Int {
            guard let value = metadata[key]?.intValue, value >= 0, value <= Int(UInt32.max) else {
                throw ImportanceMatrixError.invalid(path: path, reason: "\(key) is not a u32")
            }
            return value
        }
        let chunkCount = try count("imatrix.chunk_count"), chunkSize = try count("imatrix.chunk_size")
        var sums: [String: GGUFTensorInfo] = [:], counts: [String: GGUFTensorInfo] = [:]
        for info in gguf.tensorInfos where !info.name.isEmpty {
            if info.name.hasSuffix(".in_sum2") { sums[String(info.name.dropLast(8))] = info }
            else if info.name.hasSuffix(".counts") { counts[String(info.name.dropLast(7))] = info }
        }
        let views = Dictionary(gguf.tensorViews().map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var entries: [String: [Float]] = [:]
        for name in Set(sums.keys).union(counts.keys).sorted() {
            guard let sumInfo = sums[name], let countInfo = counts[name] else {
                throw ImportanceMatrixError.invalid(path: path, reason: "mismatched sums and counts for \(name)")
            }
            guard sumInfo.type == .f32, countInfo.type == .f32 else {
                throw ImportanceMatrixError.invalid(path: path, reason: "sums and counts for \(name) must be F32")
            }
            guard let sumView = views[sumInfo.name], let countView = views[countInfo.name] else {
                throw ImportanceMatrixError.invalid(path: path, reason: "tensor data for \(name) is missing")
            }
            let values = try sumView.floats(), tokens = try countView.floats()
            guard !tokens.isEmpty else { throw ImportanceMatrixError.invalid(path: path, reason: "no counts for \(name)") }
            // lround of each count, then back to float for the division (as the loader and
            // llama-quantize do); columns past a whole number of experts stay 0.
            let perExpert = values.count / tokens.count
            var weights = [Float](repeating: 0, count: values.count)
            for expert in 0..<tokens.count {
                let rounded = tokens[expert].isFinite ? Float(Int64(tokens[expert].rounded(.toNearestOrAwayFromZero))) : tokens[expert]
                for i in 0..<perExpert {
                    weights[expert * perExpert + i] = rounded > 0 ? values[expert * perExpert + i] / rounded : 1
                }
            }
            entries[name] = weights
        }
        return ImportanceMatrix(entries: entries, datasets: datasets, chunkCount: chunkCount, chunkSize: chunkSize, isLegacy: false)
    }

    static func readLegacy(_ file: MappedFile, path: String) throws -> ImportanceMatrix {
        var cursor = 0
        let bytes = file.bytes
        func int32(_ what: String) throws -> Int32 {
            guard cursor + 4 <= bytes.count else { throw ImportanceMatrixError.invalid(path: path, reason: "truncated at \(what) (offset \(cursor))") }
            let value = UnsafeRawBufferPointer(rebasing: bytes[cursor..<(cursor + 4)]).loadUnaligned(as: Int32.self)
            cursor += 4
            return Int32(littleEndian: value)
        }
        let count = try int32("the entry count")
        guard count >= 1 else { throw ImportanceMatrixError.empty(path: path) }
        var entries: [String: [Float]] = [:]
        for index in 0..<Int(count) {
            let length = try int32("the name length of entry \(index + 1)")
            guard length >= 0, cursor + Int(length) <= bytes.count else {
                throw ImportanceMatrixError.invalid(path: path, reason: "name of entry \(index + 1) runs past the end")
            }
            // The name ends at its first NUL, as the C string it is read into.
            let raw = bytes[cursor..<(cursor + Int(length))]
            let name = String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            cursor += Int(length)
            let calls = try int32("ncall of \(name)")
            let valueCount = try int32("the value count of \(name)")
            guard valueCount >= 1, cursor + Int(valueCount) * 4 <= bytes.count else {
                throw ImportanceMatrixError.invalid(path: path, reason: "values of \(name) run past the end")
            }
            var values = [Float](repeating: 0, count: Int(valueCount))
            values.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[cursor..<(cursor + Int(valueCount) * 4)])) }
            cursor += Int(valueCount) * 4
            if calls > 0 {
                let divisor = Float(calls)
                for i in values.indices { values[i] = values[i] / divisor }
            }
            entries[name] = values
        }
        var chunkCount = 0
        var datasets: [String] = []
        if cursor < bytes.count, let chunks = try? int32("the chunk count") {
            chunkCount = Int(chunks)
            if let length = try? int32("the dataset name length"), length > 0, cursor + Int(length) <= bytes.count {
                let raw = bytes[cursor..<(cursor + Int(length))]
                datasets.append(String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self))
            }
        }
        return ImportanceMatrix(entries: entries, datasets: datasets, chunkCount: chunkCount, chunkSize: 0, isLegacy: true)
    }

    /// llama-quantize's --include-weights / --exclude-weights: keep (or drop) the entries whose
    /// names contain one of `parts`.
    public func filtered(including: [String] = [], excluding: [String] = []) -> ImportanceMatrix {
        var copy = self
        if !excluding.isEmpty {
            copy.entries = copy.entries.filter { entry in !excluding.contains { entry.key.contains($0) } }
        }
        if !including.isEmpty {
            copy.entries = copy.entries.filter { entry in including.contains { entry.key.contains($0) } }
        }
        return copy
    }

    /// The first entry holding a NaN or an infinity, if any (llama-quantize refuses them).
    public var firstNonFinite: (name: String, value: Float)? {
        for name in entries.keys.sorted() {
            if let bad = entries[name]?.first(where: { !$0.isFinite }) { return (name, bad) }
        }
        return nil
    }
}

/// Why an importance matrix cannot be used.
public enum ImportanceMatrixError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty(path: String)
    case missingMetadata(path: String)
    case invalid(path: String, reason: String)
    case nonFinite(tensor: String)
    /// An entry whose size does not fit the tensor (columns x experts).
    case sizeMismatch(tensor: String, expected: Int, found: Int)
    /// No entry names any tensor being quantised: the matrix is for another model.
    case noMatchingEntries(path: String)

    public var description: String {
        switch self {
        case .empty(let path): return "\(path): no importance data"
        case .missingMetadata(let path): return "\(path): imatrix metadata (imatrix.datasets, imatrix.chunk_count, imatrix.chunk_size) is missing"
        case .invalid(let path, let reason): return "\(path): \(reason)"
        case .nonFinite(let tensor): return "importance matrix entry '\(tensor)' holds a non-finite value"
        case .sizeMismatch(let tensor, let expected, let found):
            return "importance matrix entry for '\(tensor)' has \(found) values, the tensor needs \(expected) (is the matrix for another model?)"
        case .noMatchingEntries(let path): return "\(path): no entry matches a tensor being quantised (is the matrix for another model?)"
        }
    }
}
