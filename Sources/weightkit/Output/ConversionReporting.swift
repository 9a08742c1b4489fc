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

/// Progress and summary lines of the commands that write checkpoints (convert, merge, meta).
enum ConversionReporting {
    /// A progress line on stderr (tensors, bytes, throughput, time left) when stderr is a
    /// terminal and `--quiet` is not given; nil otherwise. `always` (`--progress`) prints it
    /// on any stderr: one line per tensor, each ended by a newline, written after the
    /// tensor's bytes went to the output, so a script (or a test) reading stderr knows the
    /// write is under way.
    static func progress(quiet: Bool, always: Bool = false) -> ConversionProgress? {
        guard always || (!quiet && Terminal.stderrIsTerminal) else { return nil }
        let start = monotonicSeconds()
        let overwriting = !always || Terminal.stderrIsTerminal
        return { done, total, bytes, byteTotal in
            let elapsed = monotonicSeconds() - start
            let rate = elapsed > 0 ? Double(bytes) / elapsed : 0
            let left = rate > 0 ? Double(byteTotal - bytes) / rate : 0
            let text = "\(done)/\(total) tensors  \(Formatting.bytes(bytes)) of \(Formatting.bytes(byteTotal))  "
                + "\(Formatting.bytes(Int(rate)))/s  \(Int(left.rounded())) s left"
            if overwriting {
                Terminal.writeError("\r" + text + " ")
                if done == total { Terminal.writeError("\n") }
            } else {
                Terminal.writeError("progress: " + text + "\n")
            }
        }
    }

    /// Notes, skipped tensors and the files written, on stderr unless `--quiet`.
    static func summary(_ report: ConversionReport, quiet: Bool) {
        guard !quiet else { return }
        for note in report.notes { Terminal.writeError("note: \(note)\n") }
        if !report.skippedTensors.isEmpty {
            Terminal.writeError("note: skipped \(report.skippedTensors.count) tensor(s) with no counterpart: \(report.skippedTensors.prefix(8).joined(separator: ", "))\n")
        }
        let onDisk = report.outputs.reduce(0) { $0 + (FileSystem.size(of: $1) ?? 0) }
        Terminal.writeError(
            "wrote \(report.tensorCount) tensors (\(Formatting.grouped(report.bytesWritten)) bytes of tensor data): "
                + "\(report.outputs.joined(separator: ", ")) (\(Formatting.grouped(onDisk)) bytes)\n")
    }
}
