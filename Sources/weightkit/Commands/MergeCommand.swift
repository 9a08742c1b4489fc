import ArgumentParser
import WeightConversion
import WeightFormats

#if canImport(Glibc)
import Glibc
#endif

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge a GGUF split set or sharded safetensors into one file.",
        discussion: """
            SRC: any part of a GGUF split set (NAME-0000N-of-0000M.gguf), a \
            model.safetensors.index.json or a directory holding one. \
            DST: a .gguf file for GGUF, a .safetensors file or a directory for safetensors.

            Tensors are copied byte for byte. A merged GGUF carries the first part's metadata \
            without the split.* keys. The write is atomic: a failed merge leaves nothing.
            """
    )

    @Argument(help: "The split set or sharded checkpoint.")
    var source: String

    @Argument(help: "Where to write: .gguf, .safetensors or a directory.")
    var destination: String

    @Flag(help: "Replace an existing destination.")
    var force = false

    @Flag(help: "No progress or summary on stderr.")
    var quiet = false

    func run() throws {
        signal(SIGXFSZ, SIG_IGN)
        try reportingErrors {
            let report = try Converter.merge(
                source: source, destination: destination, overwrite: force, progress: ConversionReporting.progress(quiet: quiet))
            ConversionReporting.summary(report, quiet: quiet)
        }
    }
}
