import ArgumentParser
import WeightFormats
import WeightTokenizers

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Turn text into token ids with a model's tokenizer.",
        discussion: """
            MODEL is a GGUF file (a vocabulary-only one too), a Hugging Face model directory, a \
            tokenizer.json or a tokenizer.model. A GGUF tokenizes as llama.cpp does, \
            tokenizer.json as the Hugging Face tokenizers library and transformers do, \
            tokenizer.model as sentencepiece does.

            Special tokens such as <|im_start|> are ordinary text unless --parse-special is \
            given (as with llama-tokenize); added tokens that are not special are always \
            matched. --file takes the file's bytes exactly (nothing stripped); they must be \
            valid UTF-8.

            Examples:
              weightkit tokenize model.gguf --text "Hello world"
              weightkit tokenize ./Qwen2.5-0.5B --file prompt.txt --parse-special --json
            """
    )

    @Argument(help: "A .gguf file, a model directory, a tokenizer.json or a tokenizer.model.")
    var model: String

    @Option(help: "The text to tokenize.")
    var text: String?

    @Option(help: "Tokenize this file's contents (UTF-8, taken exactly).")
    var file: String?

    @Flag(name: .customLong("no-add-special"), help: "Do not add the BOS/EOS (CLS/SEP) tokens the tokenizer adds.")
    var noAddSpecial = false

    @Flag(help: "Match special tokens written in the text.")
    var parseSpecial = false

    @Flag(help: "Print {\"ids\": [...], \"pieces\": [...]}; pieces are the vocabulary's strings.")
    var json = false

    func validate() throws {
        if (text == nil) == (file == nil) { throw ValidationError("give exactly one of --text and --file") }
    }

    func run() throws {
        try reportingErrors {
            let tokenizer = try Tokenizer.load(model)
            var bytes: [UInt8]
            if let file {
                bytes = try FileSystem.readFile(file)
                if let offset = UTF8Check.firstInvalidOffset(bytes) {
                    throw CommandFailure("\(file): not valid UTF-8 at byte offset \(offset)")
                }
            } else {
                bytes = Array((text ?? "").utf8)
            }
            let ids = bytes.withUnsafeBufferPointer {
                tokenizer.encode(utf8: $0, addSpecial: !noAddSpecial, parseSpecial: parseSpecial)
            }
            if json {
                var stream = JSONStream()
                stream.raw("{")
                stream.key("ids")
                stream.raw("[" + ids.map(String.init).joined(separator: ",") + "]")
                stream.comma()
                stream.key("pieces")
                stream.raw("[")
                for (index, id) in ids.enumerated() {
                    if index > 0 { stream.comma() }
                    let piece = tokenizer.pieceBytes(id) ?? []
                    piece.withUnsafeBytes { stream.string(bytes: $0) }
                }
                stream.raw("]}")
                stream.finish()
            } else {
                var out = OutputBuffer()
                out.line(ids.map(String.init).joined(separator: " "))
                out.flush()
            }
        }
    }
}

/// Finding the first byte that is not valid UTF-8 (RFC 3629).
enum UTF8Check {
    static func firstInvalidOffset(_ bytes: [UInt8]) -> Int? {
        var index = 0
        while index < bytes.count {
            let lead = bytes[index]
            if lead < 0x80 { index += 1; continue }
            let length: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return index
            }
            guard index + length <= bytes.count else { return index }
            guard bytes[index + 1] >= low && bytes[index + 1] <= high else { return index }
            for k in 2..<length where bytes[index + k] & 0xC0 != 0x80 { return index }
            index += length
        }
        return nil
    }
}
