import WeightArchitecture
import WeightCompute
import WeightFormats

/// An importance matrix computed as llama-imatrix (tools/imatrix, llama.cpp 0.3.36) computes
/// one, with WeightKit's own forward pass:
///
/// - the tokens are cut into `chunks = min(floor(tokens / context), limit)` chunks of `context`
///   tokens (at least `2 * context` tokens are needed); each chunk runs from an empty cache with
///   its first token replaced by BOS when the tokenizer adds BOS;
/// - for every product with a `blk.*` matrix (and `output.weight` with `processOutput`), each
///   input row `x` adds `x[j]²` to the matrix's column sums and 1 to its count; for a stacked
///   expert tensor (llama.cpp's `MUL_MAT_ID`) per expert, for the rows routed to it;
/// - the file is llama-imatrix's GGUF: `general.type = imatrix`, `imatrix.datasets`,
///   `imatrix.chunk_count`, `imatrix.chunk_size`, then per matrix (sorted by name)
///   `<name>.in_sum2` (F32, `[experts, columns]`) and `<name>.counts` (F32, `[experts, 1]`), 1-D
///   (`[columns]`, `[1]`) for a dense matrix.
///
/// llama-imatrix skips dense products of fewer than 16 rows; here each chunk is one product of
/// `context` rows, so with `context >= 16` (required) none is skipped, as in llama-imatrix.
public struct ComputedImportanceMatrix: Sendable {
    /// One matrix's statistics: `sums` holds `experts * columns` sums of squares (expert-major),
    /// `counts` the rows seen per expert (one entry for a dense matrix).
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var columns: Int
        public var sums: [Float]
        public var counts: [Int]
    }

    /// Entries sorted by name (bytewise, as `std::sort` on `std::string`).
    public var entries: [Entry]
    public var datasets: [String]
    public var chunkCount: Int
    public var chunkSize: Int

    /// The GGUF metadata and tensor layout llama-imatrix writes.
    public func ggufLayout() -> (metadata: GGUFMetadataList, tensors: [GGUFTensorLayout]) {
        var metadata = GGUFMetadataList()
        metadata["general.type"] = .string("imatrix")
        metadata["imatrix.datasets"] = .strings(datasets)
        metadata["imatrix.chunk_count"] = .uint32(UInt32(truncatingIfNeeded: chunkCount))
        metadata["imatrix.chunk_size"] = .uint32(UInt32(truncatingIfNeeded: chunkSize))
        var tensors: [GGUFTensorLayout] = []
        // ggml's 2-D tensors [columns, experts] and [1, experts], written without trailing
        // dimensions of 1 (as gguf_add_tensor writes them): a dense matrix's are 1-D.
        for entry in entries {
            let experts = entry.counts.count
            tensors.append(GGUFTensorLayout(name: entry.name + ".in_sum2", type: .f32, shape: experts == 1 ? [entry.columns] : [experts, entry.columns]))
            tensors.append(GGUFTensorLayout(name: entry.name + ".counts", type: .f32, shape: experts == 1 ? [1] : [experts, 1]))
        }
        return (metadata, tensors)
    }

    /// Writes the GGUF file through a temporary file renamed into place.
    /// - Parameters:
    ///   - overwrite: replace an existing `path`.
    ///   - inputs: files `path` may never be (the model, the text).
    public func write(to path: String, overwrite: Bool = false, inputs: InputFiles = InputFiles()) throws {
        let layout = ggufLayout()
        let writer = try GGUFWriter(destination: path, metadata: layout.metadata, tensors: layout.tensors, overwrite: overwrite,
                                    inputs: inputs)
        do {
            for entry in entries {
                try entry.sums.withUnsafeBytes { try writer.write($0) }
                try entry.counts.map { Float($0) }.withUnsafeBytes { try writer.write($0) }
            }
            try writer.commit()
        } catch {
            writer.abandon()
            throw error
        }
    }
}

/// Why an importance matrix could not be computed.
public enum ImportanceComputationError: Error, Equatable, Sendable, ArgumentDescribing {
    /// Fewer than `2 * contextLength` tokens.
    case notEnoughTokens(tokens: Int, needed: Int, contextLength: Int)
    case invalidContextLength(Int)
    case invalidChunkLimit(Int)
    /// The model's tensors are not named as llama.cpp names them (entries would not match).
    case notGGUF(path: String)
    /// A sum of squares overflowed to infinity or became NaN (llama-imatrix stops there too).
    case nonFinite(tensor: String)
    /// No matrix of the model saw any input (nothing to write).
    case nothingCollected

    public func description(spelling: (APIArgument) -> String) -> String {
        let context = spelling(.contextLength)
        switch self {
        case .notEnoughTokens(let tokens, let needed, let contextLength):
            return "the input has \(tokens) tokens; \(context) \(contextLength) needs at least \(needed) (2 x \(context))"
        case .invalidContextLength(let value): return "\(context): '\(value)' must be at least 16 tokens"
        case .invalidChunkLimit(let value): return "\(spelling(.chunkLimit)): '\(value)' must be a positive number of chunks"
        case .notGGUF(let path): return "\(path): an importance matrix is computed on a GGUF model (its entries carry llama.cpp's tensor names); convert it first"
        case .nonFinite(let tensor): return "the sums of squares of \(tensor) are not finite"
        case .nothingCollected: return "no matrix product of the model saw any input"
        }
    }
}

/// Computes importance matrices (see `ComputedImportanceMatrix`).
public enum ImportanceMatrixComputation {
    /// What to compute over.
    public struct Options: Sendable {
        /// Tokens per chunk (llama-imatrix's `-c`, 512 by default).
        public var contextLength = 512
        /// At most this many chunks (nil: as many as the tokens fill).
        public var chunkLimit: Int?
        /// Also collect `output.weight` (llama-imatrix's `--process-output`).
        public var processOutput = false
        /// The dataset name recorded in `imatrix.datasets`.
        public var dataset = ""
        public init() {}
    }

    /// The chunks llama-imatrix runs: `min(floor(tokens / contextLength), chunkLimit)` of
    /// `contextLength` tokens, each starting with `bos` when given.
    public static func chunks(_ tokens: [Int], options: Options, bos: Int?) throws -> [[Int]] {
        let context = options.contextLength
        guard context >= 16 else { throw ImportanceComputationError.invalidContextLength(context) }
        if let limit = options.chunkLimit, limit <= 0 { throw ImportanceComputationError.invalidChunkLimit(limit) }
        let (needed, overflow) = context.multipliedReportingOverflow(by: 2)
        guard !overflow, tokens.count >= needed else {
            throw ImportanceComputationError.notEnoughTokens(tokens: tokens.count, needed: overflow ? Int.max : needed, contextLength: context)
        }
        let count = min(tokens.count / context, options.chunkLimit ?? Int.max)
        return (0..<count).map { index in
            var chunk = Array(tokens[(index * context)..<((index + 1) * context)])
            if let bos { chunk[0] = bos }
            return chunk
        }
    }

    /// Runs `chunks` through the model at `path` (a GGUF file) and collects the statistics.
    /// - Parameters:
    ///   - threads: compute threads (0: one per processor).
    ///   - progress: called after each chunk with (chunks done, chunks).
    public static func compute(
        modelPath path: String, chunks: [[Int]], options: Options, threads: Int = 0, kernels: Kernels = .best,
        progress: ((Int, Int) -> Void)? = nil
    ) throws -> ComputedImportanceMatrix {
        let checkpoint = try Checkpoint.open(path)
        guard checkpoint.format == .gguf else { throw ImportanceComputationError.notGGUF(path: path) }
        let collector = ImportanceCollector(tensors: checkpoint.tensors, processOutput: options.processOutput)
        let context = ComputeContext(threads: threads, kernels: kernels, observer: collector)
        let model = try ModelRegistry.load(checkpoint: checkpoint, architecture: try ArchitectureLoader.load(path), context: context)
        for (index, chunk) in chunks.enumerated() {
            let cache = try model.makeCache(capacity: chunk.count)
            // The logits are not used; the output head's products run only when collected.
            _ = try model.forward(chunk, cache: cache, logits: options.processOutput ? .all : .last)
            if let bad = collector.firstNonFinite() { throw ImportanceComputationError.nonFinite(tensor: bad) }
            progress?(index + 1, chunks.count)
        }
        let entries = collector.entries()
        guard !entries.isEmpty else { throw ImportanceComputationError.nothingCollected }
        // llama-imatrix's chunk count: the most whole chunks any entry's counts hold.
        let chunkCount = entries.map { ($0.counts.max() ?? 0) / options.contextLength }.max() ?? 0
        return ComputedImportanceMatrix(entries: entries, datasets: [options.dataset], chunkCount: chunkCount,
                                        chunkSize: options.contextLength)
    }
}

/// Accumulates the squared inputs of the products whose matrices lie in the collected tensors,
/// found by address: a matrix's `base` points into its tensor's mapped bytes (an expert's into
/// its slice of the stacked tensor).
final class ImportanceCollector: MatrixInputObserver, @unchecked Sendable {
    struct Region {
        var start: UInt
        var end: UInt
        var name: String
        var experts: Int
        var columns: Int
    }

    final class Statistics {
        var sums: [Float]
        var counts: [Int]
        var columns: Int
        init(columns: Int, experts: Int) {
            self.columns = columns
            sums = [Float](repeating: 0, count: columns * experts)
            counts = [Int](repeating: 0, count: experts)
        }
    }

    /// Regions sorted by start address.
    private let regions: [Region]
    private let lock = Mutex(())
    private var statistics: [String: Statistics] = [:]

    init(tensors: [TensorView], processOutput: Bool) {
        regions = tensors.compactMap { view -> Region? in
            guard view.name.hasPrefix("blk.") || (processOutput && view.name == "output.weight"),
                  view.shape.count == 2 || view.shape.count == 3, view.name.hasSuffix("weight"),
                  let base = view.bytes.baseAddress, view.byteCount > 0 else { return nil }
            let start = UInt(bitPattern: base)
            return Region(start: start, end: start + UInt(view.byteCount), name: view.name,
                          experts: view.shape.count == 3 ? view.shape[0] : 1, columns: view.shape.last!)
        }.sorted { $0.start < $1.start }
    }

    private func region(containing address: UInt) -> Region? {
        var low = 0, high = regions.count
        while low < high {
            let middle = (low + high) / 2
            if regions[middle].start <= address { low = middle + 1 } else { high = middle }
        }
        guard low > 0, address < regions[low - 1].end else { return nil }
        return regions[low - 1]
    }

    func observe(_ matrix: WeightMatrix, input: UnsafePointer<Float>, rows: Int) {
        guard rows > 0, let region = region(containing: UInt(bitPattern: matrix.base)), matrix.columns == region.columns else { return }
        let expert = region.experts == 1 ? 0 : Int(UInt(bitPattern: matrix.base) - region.start) / ((Int(region.end - region.start)) / region.experts)
        guard expert < region.experts else { return }
        lock.withLock { _ in
            let stats = statistics[region.name] ?? {
                let created = Statistics(columns: region.columns, experts: region.experts)
                statistics[region.name] = created
                return created
            }()
            let columns = region.columns
            stats.sums.withUnsafeMutableBufferPointer { sums in
                let target = sums.baseAddress! + expert * columns
                for row in 0..<rows {
                    let x = input + row * columns
                    for j in 0..<columns { target[j] += x[j] * x[j] }
                }
            }
            stats.counts[expert] += rows
        }
    }

    func firstNonFinite() -> String? {
        lock.withLock { _ in
            statistics.keys.sorted().first { name in statistics[name]!.sums.contains { !$0.isFinite } }
        }
    }

    /// Every matrix that saw input, sorted by name bytewise.
    func entries() -> [ComputedImportanceMatrix.Entry] {
        lock.withLock { _ in
            statistics.map { ComputedImportanceMatrix.Entry(name: $0.key, columns: $0.value.columns, sums: $0.value.sums, counts: $0.value.counts) }
                .sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
        }
    }
}

import Synchronization

/// The arguments of `ImportanceMatrixComputation` that errors name.
extension APIArgument {
    public static let contextLength = APIArgument("contextLength")
    public static let chunkLimit = APIArgument("chunkLimit")
}
