import WeightArchitecture
import WeightFormats

/// Puts the tensors of two checkpoints under shared names. Checkpoints in the same naming world
/// (both GGUF, or both Hugging Face) pair by name. Across worlds the Hugging Face side is read
/// through `HuggingFaceToGGUF`'s plan: GGUF names, per-expert tensors stacked, and llama's Q/K
/// rows in llama.cpp's order (the statistics do not depend on the order of rows, so permuting
/// one side is the same as undoing the permutation on the other).
enum TensorPairing {
    /// One side's logical tensors and the stored tensors that have no counterpart in the other naming.
    struct Side {
        var tensors: [LogicalTensor]
        var unmapped: [String]
    }

    static func sides(_ a: Checkpoint, _ b: Checkpoint, architectureA: ModelArchitecture?, architectureB: ModelArchitecture?) throws
        -> (a: Side, b: Side, mapping: String)
    {
        let ggufA = a.format == .gguf, ggufB = b.format == .gguf
        if ggufA == ggufB {
            return (names(a), names(b), "by name")
        }
        let hf = ggufA ? b : a
        guard let architecture = (ggufA ? architectureB : architectureA) ?? (ggufA ? architectureA : architectureB) else {
            throw ArchitectureError.noConfiguration(path: hf.path)
        }
        let mapped = try mappedToGGUF(hf, architecture: architecture)
        return ggufA ? (names(a), mapped, "Hugging Face names mapped to GGUF") : (mapped, names(b), "Hugging Face names mapped to GGUF")
    }

    static func names(_ checkpoint: Checkpoint) -> Side {
        Side(tensors: checkpoint.tensors.map(LogicalTensor.init(view:)), unmapped: [])
    }

    static func mappedToGGUF(_ checkpoint: Checkpoint, architecture: ModelArchitecture) throws -> Side {
        let plan = try HuggingFaceToGGUF.plan(checkpoint: checkpoint, architecture: architecture, requested: nil, name: "")
        return Side(tensors: plan.tensors.map(LogicalTensor.init(planned:)), unmapped: plan.skipped)
    }
}
