import ArgumentParser
import WeightCompute

@main
struct WeightKitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weightkit",
        abstract: "Inspect, convert, budget and run GGUF, safetensors and PyTorch model files.",
        discussion: """
            PATH arguments accept a .gguf file (any part of a split set), a .safetensors file, \
            a model.safetensors.index.json, a PyTorch zip checkpoint (.pth, .pt, \
            pytorch_model.bin, read without running its pickle), or a Hugging Face or Meta \
            model directory.
            """,
        version: WeightKitVersion.string,
        subcommands: [
            InspectCommand.self, TensorCommand.self, ConvertCommand.self, MergeCommand.self, MetaCommand.self, VerifyCommand.self,
            DiffCommand.self, BudgetCommand.self, QuantizeCommand.self, ImatrixCommand.self,
            RunCommand.self, RouteCommand.self, EncodeImageCommand.self, TemplateCommand.self,
            TokenizeCommand.self, DetokenizeCommand.self, EmbedCommand.self,
        ]
    )

    /// Compute contexts call BLAS single-threaded on their own threads: OpenBLAS's own thread
    /// pool (one per process) is kept at one thread so that it never competes with them.
    static func main() {
        BLAS.setProcessThreads(1)
        main(nil)
    }
}

enum WeightKitVersion {
    static let string = "0.1.0"
}
