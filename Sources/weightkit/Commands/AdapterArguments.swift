import ArgumentParser
import WeightAdapters

/// `--lora PATH` and `--lora-scaled PATH S`, llama.cpp's spelling, both repeatable: LoRA
/// adapters applied in the order given (`--lora` is `--lora-scaled PATH 1`). The effective scale
/// of a module is S × alpha / r (alpha / √r with rsLoRA).
struct AdapterArguments: ParsableArguments {
    @Option(name: .customLong("lora"), help: ArgumentHelp("A LoRA adapter (PEFT or MLX directory, or adapter GGUF); repeatable.", valueName: "path"))
    var lora: [String] = []

    @Option(name: .customLong("lora-scaled"), parsing: .upToNextOption,
            help: ArgumentHelp("A LoRA adapter and its multiplier S; repeatable.", valueName: "path S"))
    var loraScaled: [String] = []

    func validate() throws {
        guard loraScaled.count % 2 == 0 else { throw ValidationError("--lora-scaled takes a path and a scale, PATH S") }
        for pair in scaledPairs where Float(pair.1) == nil || !(Float(pair.1)!.isFinite) {
            throw ValidationError("--lora-scaled \(pair.0) \(pair.1): the scale must be a finite number")
        }
    }

    var isUsed: Bool { !lora.isEmpty || !loraScaled.isEmpty }

    /// Every adapter path, for OutputTargets' list of inputs.
    var paths: [String] { lora + scaledPairs.map(\.0) }

    private var scaledPairs: [(String, String)] {
        stride(from: 0, to: loraScaled.count - 1, by: 2).map { (loraScaled[$0], loraScaled[$0 + 1]) }
    }

    /// (path, factor) in the order the flags stand on the command line (when the parsed values
    /// can be found there; else the `--lora` ones first).
    var ordered: [(path: String, factor: Float)] {
        let plain = lora.map { (path: $0, factor: Float(1)) }
        let scaled = scaledPairs.map { (path: $0.0, factor: Float($0.1) ?? 1) }
        var fromCommandLine: [(path: String, factor: Float)] = []
        var remainingPlain = plain[...], remainingScaled = scaled[...]
        let arguments = CommandLine.arguments
        for (index, argument) in arguments.enumerated() {
            if (argument == "--lora" || argument.hasPrefix("--lora=")), let next = remainingPlain.first {
                fromCommandLine.append(next)
                remainingPlain = remainingPlain.dropFirst()
            } else if argument == "--lora-scaled", index + 1 < arguments.count, let next = remainingScaled.first {
                fromCommandLine.append(next)
                remainingScaled = remainingScaled.dropFirst()
            }
        }
        return fromCommandLine.count == plain.count + scaled.count ? fromCommandLine : plain + scaled
    }

    /// The adapters, read and scaled.
    func adapters() throws -> [ScaledAdapter] {
        try ordered.map { ScaledAdapter(try LoRAAdapter.open($0.path), factor: $0.factor) }
    }
}
