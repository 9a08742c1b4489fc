import WeightFormats

/// `weightkit merge`: a GGUF split set or a sharded safetensors checkpoint written back as one
/// file of the same format, tensors and metadata unchanged.
extension Converter {
    /// Merges the split or sharded checkpoint at `source` into `destination`.
    ///
    /// GGUF: the first part's metadata without the `split.*` keys, the tensors of every part in
    /// order. safetensors: the first shard's `__metadata__`, every tensor in the reference
    /// writer's order; a directory destination gets `model.safetensors` and the source's
    /// `config.json`. An unsplit source is copied as it is.
    ///
    /// - Throws: `ConversionError.unsupportedRoute` when the destination's format differs from
    ///   the source's (use `convert` for that), and what `convert` throws.
    public static func merge(
        source: String, destination: String, overwrite: Bool = false, progress: ConversionProgress? = nil
    ) throws -> ConversionReport {
        let checkpoint = try Checkpoint.open(source)
        let target = Destination(path: destination)
        switch (checkpoint.format, target) {
        case (.gguf, .gguf), (.safetensors, .safetensors), (.safetensors, .directory):
            break
        default:
            let to: String
            switch target {
            case .gguf: to = "GGUF"
            case .safetensors: to = "safetensors"
            case .directory: to = "a Hugging Face directory"
            }
            throw ConversionError.mergeChangesFormat(from: checkpoint.format.rawValue, to: to)
        }
        return try convert(source: source, destination: destination, options: ConversionOptions(overwrite: overwrite), progress: progress)
    }
}
