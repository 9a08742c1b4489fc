import ArgumentParser
import WeightConversion
import WeightFormats

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Validate a checkpoint fully and scan every tensor for NaN and infinity.",
        discussion: """
            Exit status 1 when the file is malformed or any tensor holds a NaN or an infinity. \
            --hashes adds each tensor's SHA-256 over its stored bytes (as gguf-hash computes it). \
            --json prints {"path", "ok", "tensors": [{"name", "dtype", "nan", "inf", "sha256"?}]}.
            """
    )

    @Argument(help: "A .gguf (any part of a split set), .safetensors, index.json or model directory.")
    var path: String

    @Flag(help: "Add a SHA-256 per tensor.")
    var hashes = false

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        var clean = true
        try reportingErrors {
            let checks = try Verification.verify(path, hashes: hashes)
            clean = checks.allSatisfy(\.isFinite)
            if json {
                var out = JSONStream()
                out.raw("{"); out.key("path"); out.string(path)
                out.comma(); out.key("ok"); out.raw(clean ? "true" : "false")
                out.comma(); out.key("tensors"); out.raw("[")
                for (index, check) in checks.enumerated() {
                    if index > 0 { out.comma() }
                    out.raw("{"); out.key("name"); out.string(check.name)
                    out.comma(); out.key("dtype"); out.string(check.dtype)
                    out.comma(); out.key("nan"); out.int(check.nanCount)
                    out.comma(); out.key("inf"); out.int(check.infinityCount)
                    if let digest = check.sha256 { out.comma(); out.key("sha256"); out.string(digest) }
                    out.raw("}")
                }
                out.raw("]}")
                out.finish()
            } else {
                var text = OutputBuffer()
                for check in checks where hashes || !check.isFinite {
                    var line = SafeText.escaped(check.name)
                    if !check.isFinite { line += "  \(check.nanCount) NaN, \(check.infinityCount) Inf" }
                    if let digest = check.sha256 { line += "  \(digest)" } else if hashes { line += "  (not hashed: a view over 1 GiB larger than its storage)" }
                    text.line(line)
                }
                text.line("\(checks.count) tensors checked: " + (clean ? "all finite" : "non-finite values found"))
                text.flush()
            }
        }
        if !clean { throw ExitCode(1) }
    }
}
