import ArgumentParser
import WeightFormats

struct TensorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tensor",
        abstract: "Show statistics of one tensor, or write it as a float32 .npy file.",
        discussion: """
            Statistics (min, max, mean, population std) are over the finite values; NaN and \
            infinite values are counted separately. With --out the tensor is decoded to float32 \
            (integer types too) and written in row-major shape, a chunk of rows at a time.
            """
    )

    @Argument(help: "A .gguf, .safetensors, .pth/.bin, index.json or model directory.")
    var path: String

    @Argument(help: "The tensor's name as `inspect` lists it.")
    var name: String

    @Option(help: "Write the tensor as float32 to this .npy file.")
    var out: String?

    @Flag(help: "Print the statistics as one JSON object.")
    var json = false

    @Flag(help: "Replace an existing --out file (never the checkpoint itself).")
    var force = false

    func run() throws {
        try reportingErrors {
            let checkpoint = try Checkpoint.open(path)
            if let out { try OutputFile.checkDestination(out, overwrite: force, inputs: InputFiles(checkpoint)) }
            guard let tensor = checkpoint.tensor(named: name) else {
                throw CommandFailure("\(path) has no tensor named '\(name)'" + TensorCommand.suggestion(for: name, in: checkpoint))
            }
            if let out {
                try TensorExport.writeNPY(tensor, to: out, overwrite: force, inputs: InputFiles(checkpoint))
                if !json {
                    Terminal.writeOut("wrote \(SafeText.escaped(out)): float32 \(Formatting.shape(tensor.shape))\n")
                    return
                }
            }
            let stats = try TensorStatistics(tensor)
            if json {
                var stream = JSONStream()
                stream.raw("{")
                stream.key("name"); stream.string(tensor.name)
                stream.comma(); stream.key("dtype"); stream.string(tensor.dtype.name)
                stream.comma(); stream.key("shape"); stream.raw("[" + tensor.shape.map(String.init).joined(separator: ",") + "]")
                for (key, value) in [("min", stats.min), ("max", stats.max), ("mean", stats.mean), ("std", stats.std)] {
                    stream.comma(); stream.key(key)
                    stream.raw(stats.finite > 0 ? JSONWriter.format(value) : "null")
                }
                stream.comma(); stream.key("nan"); stream.int(stats.nan)
                stream.comma(); stream.key("inf"); stream.int(stats.inf)
                stream.raw("}")
                stream.finish()
            } else {
                var out = OutputBuffer()
                out.line("\(SafeText.escaped(tensor.name))  \(tensor.dtype.name)  \(Formatting.shape(tensor.shape))  \(Formatting.grouped(tensor.elementCount)) elements, \(Formatting.bytes(tensor.byteCount))")
                if stats.finite > 0 {
                    out.line("  min   \(Formatting.short(stats.min, significant: 8))")
                    out.line("  max   \(Formatting.short(stats.max, significant: 8))")
                    out.line("  mean  \(Formatting.short(stats.mean, significant: 8))")
                    out.line("  std   \(Formatting.short(stats.std, significant: 8))")
                } else {
                    out.line("  no finite values")
                }
                out.line("  nan   \(Formatting.grouped(stats.nan))")
                out.line("  inf   \(Formatting.grouped(stats.inf))")
                out.flush()
            }
        }
    }

    static func suggestion(for name: String, in checkpoint: Checkpoint) -> String {
        let close = checkpoint.tensors.map(\.name).filter { $0.contains(name) || name.contains($0) }.prefix(3)
        return close.isEmpty ? "" : " (did you mean " + close.map { "'\($0)'" }.joined(separator: ", ") + "?)"
    }
}

/// Decoding a tensor in pieces of whole blocks, so memory stays bounded for any shape.
enum TensorChunks {
    static let elementsPerChunk = 1 << 22

    static func forEach(_ tensor: TensorView, _ body: (UnsafeBufferPointer<Float>) throws -> Void) throws {
        try tensor.forEachDecodedChunk(maxElements: elementsPerChunk, threads: 0, body)
    }
}

enum TensorExport {
    /// Writes the tensor as a float32 .npy, atomically.
    static func writeNPY(_ tensor: TensorView, to path: String, overwrite: Bool, inputs: InputFiles) throws {
        let output = try OutputFile(destination: path, overwrite: overwrite, inputs: inputs)
        try output.write(NPY.float32Header(shape: tensor.shape))
        try TensorChunks.forEach(tensor) { chunk in try output.write(UnsafeRawBufferPointer(chunk)) }
        try output.commit()
    }
}

/// Statistics over the finite values of a tensor (Chan et al.'s pairwise merge of per-chunk
/// means and squared deviations, in Double).
struct TensorStatistics {
    var finite = 0
    var nan = 0
    var inf = 0
    var min = Double.infinity
    var max = -Double.infinity
    var mean = 0.0
    var squaredDeviations = 0.0

    var std: Double { finite > 0 ? (squaredDeviations / Double(finite)).squareRoot() : .nan }

    init(_ tensor: TensorView) throws {
        try TensorChunks.forEach(tensor) { chunk in add(chunk) }
    }

    mutating func add(_ values: UnsafeBufferPointer<Float>) {
        var count = 0, sum = 0.0
        var low = Float.infinity, high = -Float.infinity
        for value in values {
            if value.isFinite {
                count += 1
                sum += Double(value)
                low = Swift.min(low, value)
                high = Swift.max(high, value)
            } else if value.isNaN {
                nan += 1
            } else {
                inf += 1
            }
        }
        guard count > 0 else { return }
        let chunkMean = sum / Double(count)
        var deviations = 0.0
        for value in values where value.isFinite {
            let d = Double(value) - chunkMean
            deviations += d * d
        }
        let total = finite + count
        let delta = chunkMean - mean
        squaredDeviations += deviations + delta * delta * Double(finite) * Double(count) / Double(total)
        mean += delta * Double(count) / Double(total)
        finite = total
        min = Swift.min(min, Double(low))
        max = Swift.max(max, Double(high))
    }
}
