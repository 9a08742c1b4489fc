#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Standard output and error without Foundation: buffered writes of bytes, terminal checks.
enum Terminal {
    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }
    static var stdinIsTerminal: Bool { isatty(STDIN_FILENO) == 1 }

    /// Terminal width for tables (COLUMNS, then the tty, then 100).
    static var width: Int {
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        if let columns = getenv("COLUMNS").flatMap({ Int(String(cString: $0)) }), columns > 0 { return columns }
        return 100
    }

    static func write(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) {
        var done = 0
        while done < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + done, bytes.count - done)
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            done += written
        }
    }

    static func writeOut(_ text: String) {
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0), to: STDOUT_FILENO) }
    }

    static func writeError(_ text: String) {
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0), to: STDERR_FILENO) }
    }

    /// One line on stderr, `warning: ` and the message escaped (`SafeText`): it may hold names.
    static func warn(_ message: String) {
        writeError("warning: \(SafeText.escaped(message))\n")
    }

    /// Prints text that is the command's product rather than a report about files: generated
    /// or decoded text, a rendered chat template. It is written raw when stdout is not a
    /// terminal (a pipe or a file receives exactly the bytes), and on a terminal with
    /// control characters escaped as `SafeText` does, except newline and tab, so that model
    /// output cannot drive the terminal. Commands printing such text call this instead of
    /// `writeOut`.
    static func printUserText(_ text: String) {
        guard stdoutIsTerminal else { return writeOut(text) }
        var safe = ""
        for piece in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if piece.offset > 0 { safe += "\n" }
            safe += piece.element.split(separator: "\t", omittingEmptySubsequences: false).map { SafeText.escaped(String($0)) }
                .joined(separator: "\t")
        }
        writeOut(safe)
    }
}

/// Collects output bytes and writes them to stdout in large chunks.
struct OutputBuffer {
    var bytes: [UInt8] = []
    let flushThreshold = 1 << 20

    init() { bytes.reserveCapacity(1 << 16) }

    mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
        if bytes.count >= flushThreshold { flush() }
    }

    mutating func append<S: Sequence>(bytes more: S) where S.Element == UInt8 {
        bytes.append(contentsOf: more)
        if bytes.count >= flushThreshold { flush() }
    }

    mutating func line(_ text: String = "") {
        append(text)
        bytes.append(0x0A)
    }

    mutating func flush() {
        bytes.withUnsafeBytes { Terminal.write($0, to: STDOUT_FILENO) }
        bytes.removeAll(keepingCapacity: true)
    }
}
