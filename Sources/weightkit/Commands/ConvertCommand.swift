import ArgumentParser
import WeightConversion
import WeightFormats

#if canImport(Glibc)
import Glibc
#endif

/// Seconds on the monotonic clock.
func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a checkpoint between Hugging Face safetensors and GGUF, or cast and requantise it.",
        discussion: """
            SRC: a Hugging Face directory, a .safetensors file, a .gguf file or split set.
            DST: a .gguf file, a .safetensors file, or a directory (config.json + model.safetensors).

            HF -> GGUF follows llama.cpp's convert_hf_to_gguf.py (llama, qwen2, qwen3, qwen3_moe):
            its tensor names, the llama Q/K row permutation, stacked experts and architecture keys.
            1-D tensors, norms and MoE routers stay F32; rows that do not fit a block type fall
            back to F16 (32-element types) or Q5_0/Q5_1/Q8_0 (K-quants), as llama.cpp does.
            Writes go to a temporary file renamed into place: a failed conversion leaves nothing.
            """
    )

    @Argument(help: "The checkpoint to convert.")
    var source: String

    @Argument(help: "Where to write: .gguf, .safetensors or a directory.")
    var destination: String

    @Option(help: "Type of the converted weights: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k (default: keep each tensor's float type).")
    var type: String?

    @Option(help: "Copy the tokenizer.* metadata of this GGUF into a GGUF destination.")
    var tokenizerFrom: String?

    @Flag(help: "Replace an existing destination.")
    var force = false

    @Flag(help: "No progress or summary on stderr.")
    var quiet = false

    func run() throws {
        // A file-size limit then fails the write (EFBIG) instead of killing the process, so the
        // temporary file is removed.
        signal(SIGXFSZ, SIG_IGN)
        try reportingErrors {
            do {
                let options = ConversionOptions(
                    type: try type.map { try Converter.type(named: $0) }, overwrite: force, tokenizerFrom: tokenizerFrom)
                let showProgress = !quiet && Terminal.stderrIsTerminal
                let start = monotonicSeconds()
                let report = try Converter.convert(
                    source: source, destination: destination, options: options,
                    progress: showProgress ? { done, total, bytes, byteTotal in
                        let elapsed = monotonicSeconds() - start
                        let rate = elapsed > 0 ? Double(bytes) / elapsed : 0
                        let left = rate > 0 ? Double(byteTotal - bytes) / rate : 0
                        Terminal.writeError(
                            "\r\(done)/\(total) tensors  \(Formatting.bytes(bytes)) of \(Formatting.bytes(byteTotal))  "
                                + "\(Formatting.bytes(Int(rate)))/s  \(Int(left.rounded())) s left ")
                        if done == total { Terminal.writeError("\n") }
                    } : nil)
                if !quiet {
                    for note in report.notes { Terminal.writeError("note: \(note)\n") }
                    if !report.skippedTensors.isEmpty {
                        Terminal.writeError("note: skipped \(report.skippedTensors.count) tensor(s) with no counterpart: \(report.skippedTensors.prefix(8).joined(separator: ", "))\n")
                    }
                    Terminal.writeError("wrote \(report.tensorCount) tensors, \(report.bytesWritten) bytes: \(report.outputs.joined(separator: ", "))\n")
                }
            } catch let error as ConversionError {
                throw CommandFailure(error.description)
            } catch let error as WriterError {
                throw CommandFailure(error.description)
            }
        }
    }
}
