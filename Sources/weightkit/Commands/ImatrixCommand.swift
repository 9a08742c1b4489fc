import ArgumentParser
import WeightCompute
import WeightFormats
import WeightModels
import WeightTokenizers

struct ImatrixCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imatrix",
        abstract: "Compute an importance matrix for `quantize --imatrix`, as llama-imatrix does, with WeightKit's forward pass.",
        discussion: """
            MODEL is a GGUF file (the entries carry its tensor names). --text-file is the file's \
            bytes as one text (UTF-8), tokenised with the model's tokenizer as llama-imatrix \
            tokenises it: BOS added when the tokenizer adds it, special-token texts left as \
            text. --tokens-file holds decimal token ids separated by white space or commas.

            The tokens are cut into chunks of --ctx tokens (at least 2 x --ctx tokens are \
            needed; floor(tokens / ctx) chunks, at most --chunks); each runs from an empty \
            cache with its first token replaced by BOS (when the tokenizer adds BOS). For every \
            product with a blk.* matrix (and output.weight with --process-output) the squares \
            of each input row are summed per column and the rows counted, per expert for \
            stacked expert tensors.

            The output is llama-imatrix's GGUF format (general.type = imatrix, imatrix.datasets, \
            imatrix.chunk_count, imatrix.chunk_size, <tensor>.in_sum2 and <tensor>.counts).

            Example:
              weightkit imatrix model-f16.gguf --text-file calibration.txt --out imatrix.gguf --ctx 512 --chunks 100
              weightkit quantize --imatrix imatrix.gguf model-f16.gguf model-IQ2_XS.gguf IQ2_XS
            """
    )

    @Argument(help: "The model: a GGUF file.")
    var model: String

    @Option(help: "A text file: its bytes are the text (UTF-8).")
    var textFile: String?

    @Option(help: "Token ids, decimal, separated by white space or commas.")
    var tokensFile: String?

    @Option(help: "The importance matrix to write (GGUF).")
    var out: String

    @Option(help: "Tokens per chunk.")
    var ctx: Int = 512

    @Option(help: "At most this many chunks.")
    var chunks: Int?

    @Flag(help: "Also collect output.weight.")
    var processOutput = false

    @Option(help: "Compute threads (default: one per processor).")
    var threads: Int?

    @Flag(help: "Replace an existing --out (never an input).")
    var force = false

    @Flag(help: "No progress on stderr.")
    var quiet = false

    func validate() throws {
        if (textFile == nil) == (tokensFile == nil) { throw ValidationError("give exactly one of --text-file and --tokens-file") }
        guard ctx >= 16 else { throw ValidationError("--ctx: '\(ctx)' must be at least 16 tokens") }
        if let chunks, chunks <= 0 { throw ValidationError("--chunks: '\(chunks)' must be a positive number of chunks") }
        if let threads, threads < 0 { throw ValidationError("--threads: '\(threads)' must not be negative") }
    }

    func run() throws {
        try reportingErrors { try execute() }
    }

    func execute() throws {
        let outputs = OutputTargets(force: force, inputs: [model, textFile, tokensFile])
        try outputs.check(["--out": out])
        let tokenizer: Tokenizer?
        let tokens: [Int]
        let dataset: String
        if let textFile {
            let bytes = try FileSystem.readFile(textFile)
            if let offset = UTF8Check.firstInvalidOffset(bytes) {
                throw CommandFailure("--text-file \(textFile): not valid UTF-8 at byte offset \(offset)")
            }
            let loaded = try Tokenizer.load(model)
            tokenizer = loaded
            tokens = bytes.withUnsafeBufferPointer { loaded.encode(utf8: $0, addSpecial: true, parseSpecial: false) }
            dataset = textFile
        } else {
            let path = tokensFile!
            tokens = try Self.parseTokens(FileSystem.readFile(path), path: path)
            tokenizer = try? Tokenizer.load(model)
            dataset = path
        }
        var options = ImportanceMatrixComputation.Options()
        options.contextLength = ctx
        options.chunkLimit = chunks
        options.processOutput = processOutput
        options.dataset = dataset
        let special = tokenizer?.specialTokens
        let bos = special?.addsBOS == true ? special?.bos : nil
        let chunkList = try ImportanceMatrixComputation.chunks(tokens, options: options, bos: bos)
        // Progress on a terminal only (overwritten in place and cleared before anything else is
        // printed), so that a failure is one line on stderr.
        let showProgress = !quiet && Terminal.stderrIsTerminal
        let matrix: ComputedImportanceMatrix
        do {
            matrix = try ImportanceMatrixComputation.compute(
                modelPath: model, chunks: chunkList, options: options, threads: threads ?? 0,
                progress: showProgress ? { done, total in Terminal.writeError("\rchunk \(done)/\(total)") } : nil)
            if showProgress { Terminal.writeError("\r\u{1B}[K") }
        } catch {
            if showProgress { Terminal.writeError("\r\u{1B}[K") }
            throw error
        }
        try matrix.write(to: out, overwrite: outputs.force, inputs: outputs.inputs)
        if !quiet {
            Terminal.writeError("\(SafeText.escaped(out)): \(matrix.entries.count) entries, \(matrix.chunkCount) chunks of \(ctx) tokens "
                                + "(\(tokens.count) tokens in the input)\n")
        }
    }

    /// Decimal ids separated by white space or commas ("1,2", "1 2", "1, 2"); an empty field
    /// between two commas, or a trailing comma, is an error.
    static func parseTokens(_ bytes: [UInt8], path: String) throws -> [Int] {
        var ids: [Int] = []
        var current: Int?
        // An id ended by white space that a comma may still follow.
        var idBeforeComma = false
        var afterComma = false
        for (offset, byte) in bytes.enumerated() {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                let digit = Int(byte - UInt8(ascii: "0"))
                let (times, overflowA) = (current ?? 0).multipliedReportingOverflow(by: 10)
                let (value, overflowB) = times.addingReportingOverflow(digit)
                guard !overflowA, !overflowB, value <= Int(Int32.max) else {
                    throw CommandFailure("--tokens-file \(path): the id at byte offset \(offset) is too large")
                }
                current = value
                idBeforeComma = false
                afterComma = false
            case UInt8(ascii: ","):
                if let value = current {
                    ids.append(value)
                    current = nil
                } else if !idBeforeComma {
                    throw CommandFailure("--tokens-file \(path): an empty field at byte offset \(offset)")
                }
                idBeforeComma = false
                afterComma = true
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                if let value = current {
                    ids.append(value)
                    current = nil
                    idBeforeComma = true
                }
            default:
                throw CommandFailure("--tokens-file \(path): unexpected byte 0x\(String(byte, radix: 16)) at offset \(offset) (expected decimal ids)")
            }
        }
        if let value = current { ids.append(value) }
        else if afterComma { throw CommandFailure("--tokens-file \(path): the file ends after a comma") }
        return ids
    }
}
