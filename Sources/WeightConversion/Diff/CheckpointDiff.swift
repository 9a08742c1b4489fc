import WeightArchitecture
import WeightFormats

/// One pair of tensors compared element by element (`a` is the reference).
public struct TensorDifference: Sendable {
    /// The shared name (GGUF's when the two sides are in different naming worlds).
    public let name: String
    public let shape: [Int]
    /// The stored tensors each side read, by their own names.
    public let sourcesA: [String]
    public let sourcesB: [String]
    public let dtypeA: String
    public let dtypeB: String
    public let statistics: TensorStatistics
}

/// Two tensors with the same name and different shapes.
public struct ShapeMismatch: Sendable, Equatable {
    public let name: String
    public let shapeA: [Int]
    public let shapeB: [Int]
}

/// What `weightkit diff` found.
public struct CheckpointComparison: Sendable {
    /// How tensor names were paired ("by name", "Hugging Face names mapped to GGUF").
    public var mapping: String
    /// Compared tensors, largest relative error first.
    public var tensors: [TensorDifference]
    /// Shared names only one side has (after mapping), and stored tensors with no GGUF name.
    public var onlyInA: [String]
    public var onlyInB: [String]
    public var shapeMismatches: [ShapeMismatch]
    /// Architecture fields, GGUF keys or config.json fields that differ.
    public var metadata: [MetadataDifference]
    /// What could not be compared, in words.
    public var notes: [String]
}

/// `weightkit diff`: compares two checkpoints of the same model, tensor by tensor, streaming a
/// block of rows at a time on all cores with Double accumulators.
public enum CheckpointDiff {
    /// Rows per block are chosen so that a block holds about this many elements.
    static let blockElements = 1 << 16

    /// Compares the checkpoints at `pathA` (the reference) and `pathB`.
    /// - Parameter threads: worker threads (0: one per processor).
    public static func compare(_ pathA: String, _ pathB: String, threads: Int = 0) throws -> CheckpointComparison {
        let a = try Checkpoint.open(pathA), b = try Checkpoint.open(pathB)
        var notes: [String] = []
        let architectureA = architecture(of: pathA, notes: &notes)
        let architectureB = architecture(of: pathB, notes: &notes)
        let (sideA, sideB, mapping) = try TensorPairing.sides(a, b, architectureA: architectureA, architectureB: architectureB)

        var metadata: [MetadataDifference] = []
        if let x = architectureA, let y = architectureB { metadata = ArchitectureDifferences.compare(x, y) }
        if let x = a.gguf, let y = b.gguf {
            metadata += ArchitectureDifferences.compare(x.metadata, y.metadata)
        }

        let byNameB = Dictionary(sideB.tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let namesA = Set(sideA.tensors.map(\.name))
        var tensors: [TensorDifference] = []
        var mismatches: [ShapeMismatch] = []
        var onlyInA = sideA.unmapped
        for tensor in sideA.tensors {
            guard let other = byNameB[tensor.name] else {
                onlyInA.append(tensor.name)
                continue
            }
            guard tensor.shape == other.shape else {
                mismatches.append(ShapeMismatch(name: tensor.name, shapeA: tensor.shape, shapeB: other.shape))
                continue
            }
            do {
                try tensor.checkDecodable()
                try other.checkDecodable()
            } catch let error as ConversionError {
                notes.append("not compared: \(error.description)")
                continue
            }
            let statistics = compare(tensor, other, threads: threads)
            tensors.append(TensorDifference(
                name: tensor.name, shape: tensor.shape, sourcesA: tensor.sourceNames, sourcesB: other.sourceNames,
                dtypeA: tensor.dtypeName, dtypeB: other.dtypeName, statistics: statistics))
        }
        let onlyInB = sideB.unmapped + sideB.tensors.map(\.name).filter { !namesA.contains($0) }
        tensors.sort { ($0.statistics.relativeL2Error.isNaN ? .infinity : $0.statistics.relativeL2Error)
            > ($1.statistics.relativeL2Error.isNaN ? .infinity : $1.statistics.relativeL2Error) }
        return CheckpointComparison(
            mapping: mapping, tensors: tensors, onlyInA: onlyInA, onlyInB: onlyInB,
            shapeMismatches: mismatches, metadata: metadata, notes: notes)
    }

    /// The statistics of one pair of equally shaped tensors. Rows are cut into blocks; each
    /// block's sums are kept apart and added in block order, so the result does not depend
    /// on the number of threads.
    static func compare(_ a: LogicalTensor, _ b: LogicalTensor, threads: Int) -> TensorStatistics {
        let rowLength = max(1, a.rowLength), rowCount = a.shape.isEmpty ? 1 : a.rowCount
        guard a.shape.reduce(1, *) > 0 else { return TensorStatistics() }
        let rowsPerBlock = max(1, blockElements / rowLength)
        let blockCount = (rowCount + rowsPerBlock - 1) / rowsPerBlock
        let partials = UnsafeMutableBufferPointer<TensorStatistics>.allocate(capacity: blockCount)
        partials.initialize(repeating: TensorStatistics())
        defer { partials.deallocate() }
        nonisolated(unsafe) let results = partials
        Parallel.forChunks(of: blockCount, workers: threads) { blocks in
            let bufferA = UnsafeMutablePointer<Float>.allocate(capacity: rowsPerBlock * rowLength)
            let bufferB = UnsafeMutablePointer<Float>.allocate(capacity: rowsPerBlock * rowLength)
            defer { bufferA.deallocate(); bufferB.deallocate() }
            for block in blocks {
                let first = block * rowsPerBlock
                let rows = first..<min(rowCount, first + rowsPerBlock)
                a.decodeRows(rows, into: bufferA)
                b.decodeRows(rows, into: bufferB)
                results[block].accumulate(bufferA, bufferB, count: rows.count * rowLength)
            }
        }
        var total = TensorStatistics()
        for partial in partials { total.merge(partial) }
        a.releasePages()
        b.releasePages()
        return total
    }

    private static func architecture(of path: String, notes: inout [String]) -> ModelArchitecture? {
        do {
            return try ArchitectureLoader.load(path)
        } catch {
            notes.append("\(path): no model description compared (\(error))")
            return nil
        }
    }
}
