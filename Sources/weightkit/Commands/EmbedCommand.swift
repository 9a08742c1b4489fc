import ArgumentParser
import WeightArchitecture
import WeightCompute
import WeightFormats
import WeightModels

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Sentence embeddings with a BERT-family model (E5, BGE, MiniLM).",
        discussion: """
            MODEL is a sentence-transformers directory, a Hugging Face BERT directory or a GGUF \
            file. Pooling and normalisation follow the model's files unless --pooling or \
            --normalize / --no-normalize are given: a sentence-transformers directory's \
            modules.json (Pooling with its config.json, Normalize only when listed; Dense \
            modules are refused), mean pooling without normalisation for a plain Hugging Face \
            directory, and {arch}.pooling_type, normalised, for a GGUF (as llama-embedding). \
            Texts longer than the model's max_seq_length are truncated as sentence-transformers \
            truncates them, with a note on stderr.

            --file holds one text per line. --out writes float32 [N, dim] (.npy), or \
            [N, T, dim] with --pooling none (the texts must then have equal token counts). \
            --json prints {"model", "pooling", "normalized", "dim", "tokens", "embeddings"}. \
            Without --out or --json, one line of values per text.

            Examples:
              weightkit embed ./all-MiniLM-L6-v2 --text "A man is eating food." --text "A man is riding a horse." --json
              weightkit embed ./e5-base-v2 --file queries.txt --prefix "query: " --out queries.npy
            """
    )

    @Argument(help: "A sentence-transformers or Hugging Face BERT directory, or a GGUF file.")
    var model: String

    @Option(help: "A text to embed (repeatable, one text each).")
    var text: [String] = []

    @Option(help: "A UTF-8 file with one text per line.")
    var file: String?

    @Option(help: "mean, cls, last or none (default: as the model's files say).")
    var pooling: String?

    @Flag(inversion: .prefixedNo, exclusivity: .exclusive, help: "Divide each embedding by its L2 norm (default: as the model's files say).")
    var normalize: Bool?

    @Option(help: "Prepended to every text (E5's \"query: \").")
    var prefix: String = ""

    @Option(help: "Write the embeddings here (.npy, float32).")
    var out: String?

    @Flag(help: "Replace an existing --out file (never an input).")
    var force = false

    @Flag(help: "Print {\"model\", \"pooling\", \"normalized\", \"dim\", \"tokens\", \"embeddings\"}.")
    var json = false

    @Option(help: "Threads (default: all cores).")
    var threads: Int?

    func validate() throws {
        if text.isEmpty == (file == nil) { throw ValidationError("give either --text (one or more) or --file") }
        if let pooling, Pooling(rawValue: pooling) == nil { throw ValidationError("--pooling must be mean, cls, last or none") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        try reportingErrors {
            let outputs = OutputTargets(force: force, inputs: [model, file])
            try outputs.check(["--out": out])
            let texts = try file.map(Self.readLines) ?? text
            guard !texts.isEmpty else { throw CommandFailure("\(file ?? "--text"): no texts to embed") }
            let embedder = try SentenceEmbedder.load(model, context: ComputeContext(threads: threads ?? 0))
            let result: TextEmbeddings
            do {
                result = try embedder.embed(texts, pooling: pooling.flatMap(Pooling.init(rawValue:)), normalize: normalize, prefix: prefix)
            } catch ModelError.textTooLong(let index, let tokens, let positions) {
                throw CommandFailure("text \(index + 1) (of --\(file == nil ? "text" : "file")) has \(tokens) tokens, more than the "
                                     + "\(positions) positions of the model, which has no max_seq_length to cut it")
            } catch ModelError.unequalTokenCounts(let counts) {
                throw CommandFailure("--pooling none needs texts of equal token counts; the texts have "
                                     + counts.map(String.init).joined(separator: ", ") + " tokens")
            }
            if !result.truncated.isEmpty, let limit = embedder.setup.maxSequenceLength {
                let which = result.truncated.map { String($0 + 1) }.joined(separator: ", ")
                Terminal.writeError("note: text\(result.truncated.count == 1 ? "" : "s") \(which) truncated to max_seq_length \(limit) tokens\n")
            }
            if let out {
                try NPY.write(result.values, shape: result.shape, to: out, overwrite: outputs.force, inputs: outputs.inputs)
            }
            if json {
                printJSON(result)
            } else if out == nil {
                var buffer = OutputBuffer()
                let width = result.values.count / max(texts.count, 1)
                for index in 0..<texts.count {
                    buffer.line(result.values[index * width..<(index + 1) * width].map { "\($0)" }.joined(separator: " "))
                }
                buffer.flush()
            } else if let out {
                var buffer = OutputBuffer()
                buffer.line("wrote \(out): float32 \(Formatting.shape(result.shape)) (\(result.pooling.rawValue) pooling"
                            + (result.normalized ? ", normalized)" : ")"))
                buffer.flush()
            }
        }
    }

    func printJSON(_ result: TextEmbeddings) {
        var stream = JSONStream()
        stream.raw("{")
        stream.key("model"); stream.string(model); stream.comma()
        stream.key("pooling"); stream.string(result.pooling.rawValue); stream.comma()
        stream.key("normalized"); stream.raw(result.normalized ? "true" : "false"); stream.comma()
        stream.key("dim"); stream.int(result.dimension); stream.comma()
        stream.key("tokens"); stream.raw("[" + result.tokenCounts.map(String.init).joined(separator: ",") + "]"); stream.comma()
        stream.key("embeddings")
        let dim = result.dimension
        let rows = result.values.count / max(dim, 1)
        func row(_ index: Int) -> String {
            "[" + result.values[index * dim..<(index + 1) * dim].map { "\($0)" }.joined(separator: ",") + "]"
        }
        if result.shape.count == 3 {
            let tokens = result.shape[1]
            stream.raw("[" + (0..<result.shape[0]).map { text in
                "[" + (0..<tokens).map { row(text * tokens + $0) }.joined(separator: ",") + "]"
            }.joined(separator: ",") + "]")
        } else {
            stream.raw("[" + (0..<rows).map(row).joined(separator: ",") + "]")
        }
        stream.raw("}")
        stream.finish()
    }

    /// One text per line: split on "\n", a trailing "\r" removed, the empty string after a
    /// final newline ignored.
    static func readLines(_ path: String) throws -> [String] {
        let bytes = try FileSystem.readFile(path)
        if let offset = UTF8Check.firstInvalidOffset(bytes) { throw CommandFailure("\(path): not valid UTF-8 at byte offset \(offset)") }
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line -> String in
            var line = line[...]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            return String(decoding: line, as: UTF8.self)
        }
        if bytes.last == UInt8(ascii: "\n") || bytes.isEmpty { lines.removeLast() }
        return lines
    }
}
