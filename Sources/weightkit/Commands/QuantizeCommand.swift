import ArgumentParser
import WeightConversion
import WeightFormats

#if canImport(Glibc)
import Glibc
#endif

struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Quantise a model with one of llama-quantize's mixes (Q4_K_M, IQ4_XS, ...), byte for byte as llama-quantize does.",
        discussion: """
            Arguments in llama-quantize's order: IN [OUT] TYPE [NTHREADS]. IN is a GGUF file or \
            split set, or anything `convert` reads (Hugging Face directory, safetensors, PyTorch): \
            it is planned as its HF -> GGUF conversion and quantised without an intermediate file. \
            Without OUT (when the second argument is a TYPE) the output is IN's directory/ggml-model-TYPE.gguf.

            TYPE is a llama-quantize name (case-insensitive) or its number: Q1_0 Q2_0 Q4_0 Q4_1 \
            MXFP4_MOE Q5_0 Q5_1 IQ2_XXS IQ2_XS IQ2_S IQ2_M IQ1_S IQ1_M TQ1_0 TQ2_0 Q2_K Q2_K_S \
            IQ3_XXS IQ3_S IQ3_M Q3_K IQ3_XS Q3_K_S Q3_K_M Q3_K_L IQ4_NL IQ4_XS Q4_K Q4_K_S Q4_K_M \
            Q5_K Q5_K_S Q5_K_M Q6_K Q8_0 F16 BF16 F32 COPY. Here, as in llama-quantize, Q3_K, Q4_K \
            and Q5_K mean the _M mixes (in `convert --type`, q4_k is every weight in Q4_K).

            Each tensor's type is chosen as llama.cpp's llama_tensor_get_type chooses it (see \
            Docs/QUANTIZE.md). IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ2_M, IQ3_XXS, IQ3_XS and \
            Q2_K_S need --imatrix (a llama-imatrix GGUF or legacy .dat). A tensor already in its \
            target type is copied; changing the type of a quantised tensor needs --allow-requantize.

            --tensor-type REGEX=TYPE (repeatable; the first match in order wins) matches an \
            ECMAScript regular expression, lower-cased, anywhere in tensor names; TYPE is a ggml \
            type name (q4_k). --token-embedding-type and --output-tensor-type take precedence.

            --dry-run prints the tensor -> type table and the sizes without writing; with --json: \
            {"type", "tensors": [{"name", "shape", "from", "to", "bytes"}], "bytes_in", "bytes_out", \
            "bits_per_weight", "fallbacks", "requires_imatrix"}.

            llama-quantize's --include-weights/--exclude-weights (filter the imatrix entries by \
            substring), --tensor-type-file and --max-buffer-size (memory is bounded anyway) are \
            accepted; --keep-split, --override-kv and --prune-layers are refused.
            """
    )

    @Argument(help: ArgumentHelp("IN [OUT] TYPE [NTHREADS]", valueName: "arguments"))
    var arguments: [String] = []

    @Option(help: "Importance matrix (llama-imatrix's GGUF or legacy .dat).")
    var imatrix: String?

    @Option(help: "tokenizer.ggml.pre for a Hugging Face input whose pre-tokenizer hash llama.cpp's converter does not know (as in convert).")
    var tokenizerPre: String?

    @Option(help: ArgumentHelp("Give tensors whose names match REGEX this ggml type (repeatable).", valueName: "REGEX=TYPE"))
    var tensorType: [String] = []

    @Option(help: ArgumentHelp("A file of REGEX=TYPE entries separated by white space.", valueName: "FILE"))
    var tensorTypeFile: String?

    @Option(help: "Type of the token embeddings.")
    var tokenEmbeddingType: String?

    @Option(help: "Type of output.weight.")
    var outputTensorType: String?

    @Flag(help: "Leave output.weight as it is.")
    var leaveOutputTensor = false

    @Flag(help: "The mix's default type for every quantised tensor (overrides still apply).")
    var pure = false

    @Flag(help: "Allow changing the type of tensors that are already quantised.")
    var allowRequantize = false

    @Option(help: ArgumentHelp("Use the imatrix only for tensors whose names contain NAME (repeatable).", valueName: "NAME"))
    var includeWeights: [String] = []

    @Option(help: ArgumentHelp("Do not use the imatrix for tensors whose names contain NAME (repeatable).", valueName: "NAME"))
    var excludeWeights: [String] = []

    @Option(help: ArgumentHelp("Accepted for llama-quantize compatibility; memory stays bounded without it.", valueName: "MiB"))
    var maxBufferSize: Int?

    @Flag(help: "Refused: weightkit quantize writes one file.")
    var keepSplit = false

    @Option(help: ArgumentHelp("Refused: edit metadata with `weightkit meta` instead.", valueName: "KEY=TYPE:VALUE"))
    var overrideKv: [String] = []

    @Option(help: ArgumentHelp("Refused: layer pruning is not supported.", valueName: "L0,L1,..."))
    var pruneLayers: String?

    @Flag(help: "Print the tensor -> type table and the sizes; write nothing.")
    var dryRun = false

    @Flag(help: "Replace an existing output.")
    var force = false

    @Flag(help: "No progress or summary on stderr.")
    var quiet = false

    @Flag(help: "With --dry-run: the table as JSON.")
    var json = false

    func run() throws {
        signal(SIGXFSZ, SIG_IGN)
        try reportingErrors {
            try execute()
        }
    }

    struct Positionals {
        var input: String
        var output: String?
        var typeName: String
        var target: QuantizationTarget
        var threads: Int
    }

    /// IN [OUT] TYPE [NTHREADS], read as llama-quantize reads them: the second argument is
    /// TYPE if it parses as one, else OUT.
    func positionals() throws -> Positionals {
        guard arguments.count >= 2 else { throw CommandFailure("expected IN [OUT] TYPE [NTHREADS]") }
        let input = arguments[0]
        var rest = Array(arguments.dropFirst())
        var output: String?
        let parsed: (name: String, target: QuantizationTarget)
        if let direct = QuantizationTarget.parse(rest[0]) {
            parsed = direct
            rest.removeFirst()
        } else {
            output = rest.removeFirst()
            guard let typeText = rest.first else { throw CommandFailure("missing TYPE after OUT") }
            guard let named = QuantizationTarget.parse(typeText) else {
                throw CommandFailure("unknown TYPE '\(typeText)' (did you mean \(QuantizationTarget.nearestName(to: typeText))?)")
            }
            parsed = named
            rest.removeFirst()
        }
        var threads = 0
        if let text = rest.first {
            guard let value = QuantizationTargetNumber.leadingInteger(text) else { throw CommandFailure("invalid NTHREADS '\(text)'") }
            threads = max(0, value)
            rest.removeFirst()
        }
        guard rest.isEmpty else { throw CommandFailure("unexpected argument '\(rest[0])'") }
        if output == nil && !dryRun {
            output = PathName.join(PathName.directory(of: input), "ggml-model-\(parsed.name).gguf")
        }
        return Positionals(input: input, output: output, typeName: parsed.name, target: parsed.target, threads: threads)
    }

    static func ggmlType(_ text: String, flag: String) throws -> GGMLType {
        guard let type = GGMLType(name: text), TensorEncoding.rowQuantizableTypes.contains(type) else {
            let names = TensorEncoding.rowQuantizableTypes.map { $0.name.lowercased() }.joined(separator: ", ")
            throw CommandFailure("\(flag): unknown type '\(text)' (expected one of \(names))")
        }
        return type
    }

    /// parse_tensor_type: NAME=TYPE with a non-empty name and type.
    static func tensorTypeOverride(_ text: String) throws -> TensorTypeOverride {
        guard let separator = text.firstIndex(of: "=") else { throw CommandFailure("--tensor-type: malformed '\(text)' (expected REGEX=TYPE)") }
        let pattern = String(text[..<separator]), typeName = String(text[text.index(after: separator)...])
        guard !pattern.isEmpty else { throw CommandFailure("--tensor-type: missing tensor name in '\(text)'") }
        guard !typeName.isEmpty else { throw CommandFailure("--tensor-type: missing quantization type in '\(text)'") }
        return try TensorTypeOverride(pattern: pattern, type: ggmlType(typeName, flag: "--tensor-type"))
    }

    func execute() throws {
        if keepSplit { throw CommandFailure("--keep-split is not supported: weightkit quantize writes one file (split it with `weightkit convert --split-max-size`)") }
        if !overrideKv.isEmpty { throw CommandFailure("--override-kv is not supported: edit the output's metadata with `weightkit meta`") }
        if pruneLayers != nil { throw CommandFailure("--prune-layers is not supported") }
        if !includeWeights.isEmpty && !excludeWeights.isEmpty { throw CommandFailure("--include-weights and --exclude-weights cannot be used together") }
        if let size = maxBufferSize, size <= 0 { throw CommandFailure("invalid --max-buffer-size '\(size)'") }
        let arguments = try positionals()
        var options = QuantizeOptions(target: arguments.target)
        options.threads = arguments.threads
        options.allowRequantize = allowRequantize
        options.overwrite = force
        options.choice.pure = pure
        options.choice.quantizeOutputTensor = !leaveOutputTensor
        options.choice.tokenEmbeddingType = try tokenEmbeddingType.map { try Self.ggmlType($0, flag: "--token-embedding-type") }
        options.choice.outputTensorType = try outputTensorType.map { try Self.ggmlType($0, flag: "--output-tensor-type") }
        var overrides = try tensorType.map(Self.tensorTypeOverride)
        if let file = tensorTypeFile {
            let text = String(decoding: try FileSystem.readFile(file), as: UTF8.self)
            overrides += try text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }).map { try Self.tensorTypeOverride(String($0)) }
        }
        options.choice.tensorTypes = overrides
        options.preTokenizer = tokenizerPre
        if let path = imatrix {
            let matrix = try ImportanceMatrix.read(path: path).filtered(including: includeWeights, excluding: excludeWeights)
            if !matrix.entries.isEmpty {
                options.importance = matrix
                options.importancePath = path
            }
        }
        if dryRun {
            let source = try ModelQuantizer.source(arguments.input, preTokenizer: tokenizerPre)
            let plan = try ModelQuantizer.plan(source, options: options)
            printPlan(plan, typeName: arguments.typeName)
            return
        }
        guard let output = arguments.output else { throw CommandFailure("missing OUT") }
        try OutputTargets(force: force, inputs: [arguments.input, imatrix, tensorTypeFile]).check(["OUT": output])
        let report = try ModelQuantizer.quantize(
            source: arguments.input, destination: output, options: options, progress: ConversionReporting.progress(quiet: quiet))
        if !quiet {
            for warning in report.warnings { Terminal.writeError("warning: \(warning)\n") }
            let plan = report.plan
            Terminal.writeError(
                "\(output): \(arguments.typeName), \(plan.tensors.filter(\.converts).count) of \(plan.tensors.count) tensors converted, "
                    + "\(Formatting.bytes(plan.bytesIn)) -> \(Formatting.bytes(plan.bytesOut)) (\(Formatting.fixed(plan.bitsPerWeight, 2)) bits per weight)"
                    + (plan.fallbackCount > 0 ? ", \(plan.fallbackCount) shape fallbacks" : "") + "\n")
        }
    }

    func printPlan(_ plan: QuantizationPlan, typeName: String) {
        if json {
            let tensors: [JSONValue] = plan.tensors.map { t in
                .object(JSONObject([
                    ("name", .string(t.name)), ("shape", .array(t.shape.map { .int($0) })),
                    ("from", .string(t.from.name)), ("to", .string(t.to.name)), ("bytes", .int(t.byteCount)),
                ]))
            }
            let document: JSONValue = .object(JSONObject([
                ("type", .string(typeName)), ("tensors", .array(tensors)), ("bytes_in", .int(plan.bytesIn)),
                ("bytes_out", .int(plan.bytesOut)), ("bits_per_weight", .double(plan.bitsPerWeight)),
                ("fallbacks", .int(plan.fallbackCount)), ("requires_imatrix", .bool(plan.requiresImportance)),
            ]))
            Terminal.writeOut(JSONWriter.string(document) + "\n")
            return
        }
        let nameWidth = max(6, plan.tensors.map { $0.name.count }.max() ?? 0)
        func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text : text + String(repeating: " ", count: width - text.count) }
        var lines = [pad("tensor", nameWidth) + "  " + pad("shape", 20) + "  " + pad("from", 7) + "  " + pad("to", 7) + "  bytes"]
        for t in plan.tensors {
            var line = pad(t.name, nameWidth) + "  " + pad(Formatting.shape(t.shape), 20)
            line += "  " + pad(t.from.name, 7) + "  " + pad(t.to.name, 7)
            line += "  " + Formatting.grouped(t.byteCount) + (t.fallback ? "  (fallback)" : "")
            lines.append(line)
        }
        lines.append("")
        lines.append("\(typeName): \(Formatting.bytes(plan.bytesIn)) -> \(Formatting.bytes(plan.bytesOut)), \(Formatting.fixed(plan.bitsPerWeight, 2)) bits per weight"
            + (plan.fallbackCount > 0 ? ", \(plan.fallbackCount) shape fallbacks" : ""))
        if plan.requiresImportance { lines.append("this quantisation requires an importance matrix (--imatrix)") }
        Terminal.writeOut(lines.joined(separator: "\n") + "\n")
    }
}

/// std::stoi's reading of NTHREADS.
enum QuantizationTargetNumber {
    static func leadingInteger(_ text: String) -> Int? {
        var scalars = Substring(text).unicodeScalars.drop { $0 == " " || ("\t"..."\r").contains($0) }
        var negative = false
        if let sign = scalars.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            scalars = scalars.dropFirst()
        }
        let digits = scalars.prefix { ("0"..."9").contains($0) }
        guard !digits.isEmpty, digits.count <= 9, let value = Int(String(String.UnicodeScalarView(digits))) else { return nil }
        return negative ? -value : value
    }
}
