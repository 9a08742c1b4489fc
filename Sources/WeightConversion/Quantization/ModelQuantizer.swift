import CKernels
import WeightArchitecture
import WeightFormats

/// What `ModelQuantizer` is asked to do.
public struct QuantizeOptions: Sendable {
    public var target: QuantizationTarget
    /// Overrides, --pure, --leave-output-tensor ... (`hasImportance` is set from `importance`).
    public var choice = QuantizationOptions()
    /// `tokenizer.ggml.pre` for a Hugging Face input (`ConversionOptions.preTokenizer`).
    public var preTokenizer: String?
    /// The normalised importance matrix (llama-quantize's --imatrix), and the path it was read
    /// from (written as `quantize.imatrix.file`).
    public var importance: ImportanceMatrix?
    public var importancePath: String?
    /// Allow changing the type of tensors that are already quantised.
    public var allowRequantize = false
    public var overwrite = false
    /// Files the output may never replace, even with `overwrite` (the source's files and the
    /// imatrix are added by `quantize`).
    public var inputs = InputFiles()
    /// 0: all cores.
    public var threads = 0

    public init(target: QuantizationTarget) { self.target = target }
}

/// What a quantisation did (or, for a plan alone, would do).
public struct QuantizeReport: Sendable {
    public var plan: QuantizationPlan
    public var output: String?
    /// Tensors quantised without an importance-matrix entry, and similar notes.
    public var warnings: [String] = []
}

/// The errors of a quantisation run that are not about the plan or the matrix itself.
public enum ModelQuantizerError: Error, Equatable, Sendable, ArgumentDescribing {
    /// A quantised tensor would change type without `allowRequantize`.
    case requantizeNotAllowed(tensor: String, from: String, to: String)
    /// The mix needs an importance matrix for this tensor and none (or no entry) was given.
    case importanceRequired(tensor: String, type: String)
    case unsupportedSource(path: String, reason: String)
    /// A tensor to be converted holds NaN or infinity (llama-quantize's validation of the
    /// quantised rows fails on them too).
    case nonFiniteValues(tensor: String)

    public func description(spelling: (APIArgument) -> String) -> String {
        switch self {
        case .requantizeNotAllowed(let tensor, let from, let to):
            return "tensor '\(tensor)' is already quantised (\(from)); requantising it to \(to) loses more than quantising from 16 or 32 bits, so it needs \(spelling(.allowRequantize))"
        case .importanceRequired(let tensor, let type):
            return "tensor '\(tensor)': \(type) needs an importance matrix (\(spelling(.importance))) for this tensor"
        case .unsupportedSource(let path, let reason):
            return "\(path): \(reason)"
        case .nonFiniteValues(let tensor):
            return "tensor '\(tensor)' holds NaN or infinite values and cannot be quantised"
        }
    }
}

/// llama-quantize's pipeline over WeightKit's readers and writers: the input (a GGUF, or any
/// checkpoint `convert` reads, planned as its HF -> GGUF conversion), the mix's plan, the
/// importance checks, the output metadata, and the tensors streamed in row slabs with the
/// quantisers running over all cores.
public enum ModelQuantizer {
    /// The input as a GGUF: its metadata and tensors in input order.
    public struct Source: Sendable {
        public var metadata: GGUFMetadataList
        public var tensors: [PlannedTensor]
        /// `general.file_type` of the input, if it has one.
        public var fileType: UInt32?
        public var model: QuantizationModelParameters

        /// A source described rather than opened (a budget of a configuration alone); `model`
        /// is read from `metadata`.
        public init(metadata: GGUFMetadataList, tensors: [PlannedTensor], fileType: UInt32?) throws {
            self.init(metadata: metadata, tensors: tensors, fileType: fileType, model: try QuantizationModelParameters(metadata: metadata))
        }

        init(metadata: GGUFMetadataList, tensors: [PlannedTensor], fileType: UInt32?, model: QuantizationModelParameters) {
            self.metadata = metadata
            self.tensors = tensors
            self.fileType = fileType
            self.model = model
        }
    }

    /// Opens `path`: a GGUF file (or split set) as it is, anything else through `convert`'s
    /// HF -> GGUF plan at each tensor's own float type (`preTokenizer` as in `ConversionOptions`).
    public static func source(_ path: String, preTokenizer: String? = nil) throws -> Source {
        let checkpoint = try Checkpoint.open(path)
        let metadata: GGUFMetadataList
        let tensors: [PlannedTensor]
        if checkpoint.format == .gguf, let gguf = checkpoint.gguf {
            metadata = GGUFMetadataList(copying: gguf.metadata)
            tensors = checkpoint.tensors.map { PlannedTensor(name: $0.name, shape: $0.shape, type: $0.dtype, content: .pieces([TensorPiece(view: $0)])) }
        } else {
            var report = ConversionReport()
            (metadata, tensors) = try Converter.ggufSource(checkpoint, source: path, options: ConversionOptions(preTokenizer: preTokenizer), report: &report)
        }
        let fileType = metadata["general.file_type"]?.intValue.flatMap { UInt32(exactly: $0) }
        return Source(metadata: metadata, tensors: tensors, fileType: fileType, model: try QuantizationModelParameters(metadata: metadata))
    }

    /// The plan for `source` under `options` (the dry run).
    public static func plan(_ source: Source, options: QuantizeOptions) throws -> QuantizationPlan {
        var choice = options.choice
        choice.hasImportance = options.importance != nil
        let inputs = try source.tensors.map { tensor -> QuantizationInput in
            guard let type = tensor.type.ggmlType else {
                throw ConversionError.tensorNotConvertible(tensor: tensor.name, reason: "GGUF has no \(tensor.type.name) type")
            }
            return QuantizationInput(name: tensor.name, shape: tensor.shape, type: type)
        }
        return try QuantizationPlanner.plan(inputs, model: source.model, target: options.target, options: choice, inputFileType: source.fileType)
    }

    /// The importance weights each converted tensor gets, after llama-quantize's checks; with
    /// the warnings for tensors that have no entry.
    public static func importanceAssignments(_ plan: QuantizationPlan, options: QuantizeOptions) throws -> (weights: [String: [Float]], warnings: [String]) {
        var weights: [String: [Float]] = [:]
        var warnings: [String] = []
        if let matrix = options.importance, let bad = matrix.firstNonFinite {
            throw ImportanceMatrixError.nonFinite(tensor: bad.name)
        }
        // llama-quantize refuses before it starts when no matrix is given and any quantisable
        // tensor's type needs one (even a tensor that would only be copied).
        if options.importance == nil, let first = plan.tensors.first(where: { $0.quantizable && $0.requiresImportance }) {
            throw ModelQuantizerError.importanceRequired(tensor: first.name, type: first.to.name)
        }
        var matched = false
        for decision in plan.tensors where decision.converts {
            if let matrix = options.importance {
                if let entry = matrix.entries[decision.name] {
                    let columns = decision.shape.last ?? 1
                    let experts = decision.shape.count >= 3 ? decision.shape[decision.shape.count - 3] : 1
                    if entry.count == columns * experts {
                        weights[decision.name] = entry
                        matched = true
                    } else if !QuantizationPlanner.isTokenEmbedding(decision.name) {
                        throw ImportanceMatrixError.sizeMismatch(tensor: decision.name, expected: columns * experts, found: entry.count)
                    } else {
                        warnings.append("importance matrix entry for \(decision.name) has \(entry.count) values, not \(columns * experts): not used")
                    }
                } else {
                    warnings.append("no importance matrix entry for \(decision.name)")
                }
            }
            if weights[decision.name] == nil && decision.requiresImportance {
                throw ModelQuantizerError.importanceRequired(tensor: decision.name, type: decision.to.name)
            }
            if decision.from.traits.kind == .quantized && !options.allowRequantize {
                throw ModelQuantizerError.requantizeNotAllowed(tensor: decision.name, from: decision.from.name, to: decision.to.name)
            }
        }
        if options.importance != nil && !matched && plan.tensors.contains(where: \.converts) {
            throw ImportanceMatrixError.noMatchingEntries(path: options.importancePath ?? "importance matrix")
        }
        return (weights, warnings)
    }

    /// The output metadata: the input's, with `general.quantization_version` = 2 and
    /// `general.file_type` moved to the end (llama.cpp sets them after copying), split keys
    /// removed, and the importance-matrix keys llama-quantize adds (strings cut to 127 bytes).
    public static func outputMetadata(_ source: Source, plan: QuantizationPlan, options: QuantizeOptions) -> GGUFMetadataList {
        var metadata = source.metadata
        func append(_ key: String, _ value: GGUFMetadataValue) {
            metadata[key] = nil
            metadata[key] = value
        }
        append("general.quantization_version", .uint32(2))
        append("general.file_type", .uint32(plan.fileType))
        for key in ["split.no", "split.count", "split.tensors.count"] { metadata[key] = nil }
        if let matrix = options.importance {
            append("quantize.imatrix.file", .bytes(Array((options.importancePath ?? "").utf8.prefix(127))))
            if let dataset = matrix.datasets.first { append("quantize.imatrix.dataset", .bytes(Array(dataset.utf8.prefix(127)))) }
            append("quantize.imatrix.entries_count", .uint32(UInt32(truncatingIfNeeded: matrix.entries.count)))
            if matrix.chunkCount > 0 { append("quantize.imatrix.chunks_count", .uint32(UInt32(truncatingIfNeeded: matrix.chunkCount))) }
        }
        return metadata
    }

    /// Quantises `sourcePath` into `destination` (written through a temporary file: nothing is
    /// left on failure). All checks run before the first byte is written.
    public static func quantize(
        source sourcePath: String, destination: String, options: QuantizeOptions, progress: ConversionProgress? = nil
    ) throws -> QuantizeReport {
        let source = try source(sourcePath, preTokenizer: options.preTokenizer)
        let plan = try plan(source, options: options)
        let (weights, warnings) = try importanceAssignments(plan, options: options)
        let metadata = outputMetadata(source, plan: plan, options: options)
        let byName = Dictionary(source.tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let layouts = plan.tensors.map { GGUFTensorLayout(name: $0.name, type: $0.to, shape: $0.shape) }
        var inputs = options.inputs
        inputs.add(checkpointAt: sourcePath)
        if let path = options.importancePath { inputs.add(path: path) }
        let writer = try GGUFWriter(destination: destination, metadata: metadata, tensors: layouts, overwrite: options.overwrite,
                                    inputs: inputs)
        do {
            let streamer = TensorStreamer()
            let slabs = SlabQuantizer(threads: options.threads)
            let totalBytes = plan.bytesOut
            var written = 0
            for (index, decision) in plan.tensors.enumerated() {
                guard let tensor = byName[decision.name] else { continue }
                if decision.converts {
                    try slabs.quantize(tensor, as: decision.to, importance: weights[decision.name]) { try writer.write($0) }
                } else {
                    try streamer.stream(tensor) { try writer.write($0) }
                }
                written += decision.byteCount
                progress?(index + 1, plan.tensors.count, written, totalBytes)
            }
            try writer.commit()
        } catch {
            writer.abandon()
            throw error
        }
        return QuantizeReport(plan: plan, output: destination, warnings: warnings)
    }
}

/// Float rows of a planned tensor, in row slabs, quantised over all cores. A slab never crosses
/// an expert boundary: each expert has its own importance weights.
final class SlabQuantizer {
    let threads: Int
    /// Floats per slab (16 MiB).
    let slabElements = 1 << 22
    private var floats: [Float] = []
    private var output: [UInt8] = []

    init(threads: Int) { self.threads = threads }

    func quantize(_ tensor: PlannedTensor, as type: GGMLType, importance: [Float]?, sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard case .pieces(let pieces) = tensor.content else {
            throw ConversionError.tensorNotConvertible(tensor: tensor.name, reason: "generated values cannot be quantised")
        }
        let rowLength = tensor.rowLength
        guard let rowBytes = type.byteCount(elements: rowLength) else {
            throw QuantizationError.rowNotWholeBlocks(type: type.name, rowLength: rowLength, blockSize: type.blockSize)
        }
        let rowsPerExpert = tensor.shape.count >= 2 ? tensor.shape[tensor.shape.count - 2] : 1
        let slabRows = max(1, slabElements / max(1, rowLength))
        if floats.count < slabRows * rowLength { floats = [Float](repeating: 0, count: slabRows * rowLength) }
        if output.count < slabRows * rowBytes { output = [UInt8](repeating: 0, count: slabRows * rowBytes) }
        var globalRow = 0
        for piece in pieces {
            guard piece.view.rowLength == rowLength else {
                throw ConversionError.tensorNotConvertible(tensor: tensor.name, reason: "rows of \(piece.view.rowLength) from '\(piece.view.name)', expected \(rowLength)")
            }
            var done = 0
            while done < piece.rowCount {
                // Up to the slab size, the end of the piece and the end of the current expert.
                let expertLeft = rowsPerExpert - globalRow % rowsPerExpert
                let rows = min(slabRows, piece.rowCount - done, expertLeft)
                try floats.withUnsafeMutableBufferPointer { buffer in
                    let base = buffer.baseAddress!
                    let view = piece.view
                    if let order = piece.rowOrder {
                        for i in 0..<rows {
                            let row = order[done + i]
                            try view.decodeRows(row..<(row + 1), into: base + i * rowLength)
                        }
                    } else {
                        let first = piece.rows.lowerBound + done
                        try view.decodeRows(first..<(first + rows), into: base, threads: threads)
                        view.file.advise(.dontNeed, offset: view.offset + first * view.rowByteCount, count: rows * view.rowByteCount)
                    }
                    var nans = 0, infinities = 0
                    Kernels.best.c.count_nonfinite(base, rows * rowLength, &nans, &infinities)
                    if nans + infinities > 0 { throw ModelQuantizerError.nonFiniteValues(tensor: tensor.name) }
                    try output.withUnsafeMutableBytes { out in
                        let expert = globalRow / rowsPerExpert
                        if let importance {
                            try importance.withUnsafeBufferPointer { weights in
                                try TensorEncoding.quantizeRows(
                                    base, rows: rows, rowLength: rowLength, as: type, importance: weights.baseAddress! + expert * rowLength,
                                    into: out.baseAddress!, threads: threads)
                            }
                        } else {
                            try TensorEncoding.quantizeRows(base, rows: rows, rowLength: rowLength, as: type, importance: nil, into: out.baseAddress!, threads: threads)
                        }
                    }
                }
                try output.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<(rows * rowBytes)])) }
                done += rows
                globalRow += rows
            }
            piece.view.file.advise(.dontNeed, offset: piece.view.offset, count: piece.view.byteCount)
        }
    }
}
