import ArgumentParser
import WeightFormats
import WeightTokenizers

struct DetokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detokenize",
        abstract: "Turn token ids back into text with a model's tokenizer.",
        discussion: """
            MODEL is as for `tokenize`. Special tokens are rendered unless --skip-special is \
            given. The text is written exactly (no newline added) when stdout is a file or a \
            pipe; on a terminal, control characters and bytes that are not UTF-8 are shown as \
            \\xNN and a newline ends the output.

            Example:
              weightkit detokenize model.gguf --tokens 9707,1879
            """
    )

    @Argument(help: "A .gguf file, a model directory, a tokenizer.json or a tokenizer.model.")
    var model: String

    @Option(help: "Token ids, comma-separated.", transform: TokenList.parse)
    var tokens: [Int]

    @Flag(help: "Leave special tokens out.")
    var skipSpecial = false

    @Flag(help: "Print {\"text\": ...}.")
    var json = false

    func run() throws {
        try reportingErrors {
            let tokenizer = try Tokenizer.load(model)
            for id in tokens where id >= tokenizer.vocabularySize {
                throw CommandFailure("--tokens: \(id) is not a token id (the vocabulary has \(tokenizer.vocabularySize))")
            }
            let bytes = try tokenizer.decodeBytes(tokens, skipSpecial: skipSpecial)
            if json {
                var stream = JSONStream()
                stream.raw("{")
                stream.key("text")
                bytes.withUnsafeBytes { stream.string(bytes: $0) }
                stream.raw("}")
                stream.finish()
                return
            }
            var out = OutputBuffer()
            if Terminal.stdoutIsTerminal {
                out.append(bytes: DecodedText.escapedForTerminal(bytes))
                out.append("\n")
            } else {
                out.append(bytes: bytes)
            }
            out.flush()
        }
    }
}

/// Decoded or generated text on a terminal: C0 and C1 control characters (but newline and
/// tab), DEL, and bytes that are not UTF-8 are written as `\xNN`, so that a file's text cannot
/// drive the terminal.
enum DecodedText {
    static func escapedForTerminal(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        let digits = Array("0123456789abcdef".utf8)
        func escape(_ byte: UInt8) { output += [0x5C, 0x78, digits[Int(byte >> 4)], digits[Int(byte & 15)]] }
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte < 0x80 {
                if (byte < 0x20 && byte != 0x0A && byte != 0x09) || byte == 0x7F { escape(byte) } else { output.append(byte) }
                index += 1
                continue
            }
            let rest = Array(bytes[index..<min(bytes.count, index + 4)])
            if let length = validLength(rest) {
                // C1 controls are U+0080...U+009F: C2 80 ... C2 9F.
                if length == 2 && byte == 0xC2 && bytes[index + 1] <= 0x9F {
                    escape(bytes[index]); escape(bytes[index + 1])
                } else {
                    output += bytes[index..<(index + length)]
                }
                index += length
            } else {
                escape(byte)
                index += 1
            }
        }
        return output
    }

    private static func validLength(_ bytes: [UInt8]) -> Int? {
        for length in 2...4 where length <= bytes.count {
            if String(validating: bytes[0..<length], as: UTF8.self) != nil { return length }
        }
        return nil
    }
}
