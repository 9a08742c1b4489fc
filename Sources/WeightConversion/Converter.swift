import WeightArchitecture
import WeightAdapters
import WeightFormats
import WeightTokenizers

/// Options of one conversion.
public struct ConversionOptions: Sendable {
    /// The type of the converted weights (nil: keep each tensor's float type).
    public var type: GGMLType?
    /// Replace an existing destination.
    public var overwrite: Bool
    /// A GGUF whose `tokenizer.*` keys are copied into a GGUF destination.
    public var tokenizerFrom: String?
    /// Split the destination into parts of at most this many tensor bytes (GGUF split set or
    /// sharded safetensors with an index); nil writes one file.
    public var splitMaxSize: Int?
    /// Write the destination compressed, as `DST.zst` (a .gguf or .safetensors file only).
    public var compression: ZstdCompression?
    /// A llama-quantize mix instead of one type (`--type q4_k_m`): GGUF destinations only,
    /// written by `ModelQuantizer` exactly as llama-quantize writes it.
    public var mix: QuantizationMix?
    /// Allow GGUF -> GGUF to change the type of tensors that are already quantised.
    public var allowRequantize = false
    /// `tokenizer.ggml.pre` for a byte-level BPE or WordPiece tokenizer, instead of the name
    /// llama.cpp's converter picks by hash (needed when it knows no name for the hash).
    public var preTokenizer: String?
    /// Files no output may replace, even with `overwrite`. The conversion adds its own inputs
    /// (every file of the source checkpoint, `tokenizerFrom`, the configuration it reads);
    /// callers add whatever else they read.
    public var inputs = InputFiles()
    /// LoRA adapters merged into the converted tensors, in order (AdapterMerging.swift).
    public var adapters: [ScaledAdapter] = []
    /// With `adapters` and no `type`: requantise merged tensors to their stored type instead of
    /// writing a quantised base's merged tensors as F16 (`--type keep`).
    public var keepMergedTypes = false

    public init(
        type: GGMLType? = nil, overwrite: Bool = false, tokenizerFrom: String? = nil, splitMaxSize: Int? = nil,
        compression: ZstdCompression? = nil, preTokenizer: String? = nil
    ) {
        self.preTokenizer = preTokenizer
        self.type = type
        self.overwrite = overwrite
        self.tokenizerFrom = tokenizerFrom
        self.splitMaxSize = splitMaxSize
        self.compression = compression
    }
}

/// What a conversion did.
public struct ConversionReport: Sendable {
    /// Files written.
    public var outputs: [String] = []
    public var tensorCount = 0
    public var bytesWritten = 0
    /// Source tensors the destination format has no place for.
    public var skippedTensors: [String] = []
    /// What the conversion left out or assumed, in words for the user.
    public var notes: [String] = []
}

/// Progress after each tensor: tensors done, their total, bytes written so far, total bytes.
public typealias ConversionProgress = (_ tensors: Int, _ tensorTotal: Int, _ bytes: Int, _ byteTotal: Int) -> Void

/// `weightkit convert`: any supported checkpoint to GGUF, safetensors or a Hugging Face
/// directory, streaming tensor by tensor through atomic writers.
public enum Converter {
    /// The kinds of destination, told from the path.
    public enum Destination: Equatable, Sendable {
        case gguf(String)
        case safetensors(String)
        /// A Hugging Face directory: config.json and model.safetensors.
        case directory(String)

        /// The path written.
        public var path: String {
            switch self {
            case .gguf(let path), .safetensors(let path), .directory(let path): path
            }
        }

        public init(path: String) {
            switch PathName.fileExtension(of: path) {
            case "gguf": self = .gguf(path)
            case "safetensors": self = .safetensors(path)
            default: self = .directory(path)
            }
        }
    }

    /// The types `--type` accepts.
    public static let writableTypes: [GGMLType] = TensorEncoding.encodableTypes

    /// The llama-quantize mixes `--type` also accepts: every `QUANT_OPTIONS` name that is not
    /// one of `writableTypes` (those stay one type for every weight: `q4_k` is pure Q4_K, as
    /// before) and not one of the aliases Q3_K, Q4_K, Q5_K or COPY.
    public static let mixNames: [(name: String, mix: QuantizationMix)] = QuantizationTarget.options.compactMap { option in
        guard case .mix(let mix) = option.target, !["Q3_K", "Q4_K", "Q5_K"].contains(option.name),
              !writableTypes.contains(where: { $0.name == option.name }) else { return nil }
        return (option.name, mix)
    }

    /// Parses a `--type` name: one type ("q8_0", "Q4_K", "bf16") or a mix ("q4_k_m", "iq4_xs").
    public static func typeOrMix(named name: String) throws -> (type: GGMLType?, mix: QuantizationMix?) {
        if let type = GGMLType(name: name), writableTypes.contains(type) { return (type, nil) }
        if let mix = mixNames.first(where: { $0.name == name.uppercased() }) { return (nil, mix.mix) }
        throw ConversionError.unknownType(
            name: name, supported: writableTypes.map { $0.name.lowercased() } + mixNames.map { $0.name.lowercased() })
    }

    /// Parses a `--type` name ("q8_0", "Q4_K", "bf16").
    public static func type(named name: String) throws -> GGMLType {
        guard let type = GGMLType(name: name), writableTypes.contains(type) else {
            throw ConversionError.unknownType(name: name, supported: writableTypes.map { $0.name.lowercased() })
        }
        return type
    }

    public static func convert(
        source: String, destination: String, options: ConversionOptions = ConversionOptions(),
        progress: ConversionProgress? = nil
    ) throws -> ConversionReport {
        let target = Destination(path: destination)
        if options.compression != nil {
            if case .directory = target {
                throw ConversionError.incompatibleOptions(argument: .compression, conflicting: [], reason: "writes one .gguf or .safetensors file, not a directory")
            }
            if options.splitMaxSize != nil {
                throw ConversionError.incompatibleOptions(argument: .compression, conflicting: [.splitMaxSize], reason: "writes one file")
            }
        }
        if let mix = options.mix {
            guard options.adapters.isEmpty else {
                throw ConversionError.incompatibleOptions(
                    argument: .adapters, conflicting: [.mix],
                    reason: "merges into float or stored types: merge first, then quantise to \(mix.name.lowercased())")
            }
            guard case .gguf(let path) = target else { throw ConversionError.typeNotStorable(type: mix.name, format: "safetensors") }
            guard options.splitMaxSize == nil, options.compression == nil, options.tokenizerFrom == nil else {
                let given: [(APIArgument, Bool)] = [
                    (.splitMaxSize, options.splitMaxSize != nil), (.compression, options.compression != nil),
                    (.tokenizerFrom, options.tokenizerFrom != nil),
                ]
                throw ConversionError.incompatibleOptions(
                    argument: .mix, conflicting: given.filter(\.1).map(\.0),
                    reason: "\(mix.name.lowercased()) (a quantisation mix) writes one uncompressed .gguf")
            }
            var quantize = QuantizeOptions(target: .mix(mix))
            quantize.overwrite = options.overwrite
            quantize.allowRequantize = options.allowRequantize
            let result = try ModelQuantizer.quantize(source: source, destination: path, options: quantize, progress: progress)
            var report = ConversionReport()
            report.outputs = [path]
            report.tensorCount = result.plan.tensors.count
            report.bytesWritten = result.plan.bytesOut
            report.notes = result.warnings
            return report
        }
        let checkpoint = try Checkpoint.open(source)
        var options = options
        options.inputs.add(checkpoint)
        options.inputs.add(path: source)
        for config in ["config.json", "params.json"] { options.inputs.add(path: PathName.join(checkpoint.directory, config)) }
        if let tokenizer = options.tokenizerFrom { options.inputs.add(path: tokenizer) }
        for scaled in options.adapters { for file in AdapterMerging.inputFiles(of: scaled.adapter) { options.inputs.add(path: file) } }
        let (merge, untiedHead) = options.adapters.isEmpty ? (nil, nil)
            : try AdapterMerging.plan(options.adapters, checkpoint: checkpoint, source: source)
        /// The plan's changes; an output head of its own for a tied base whose lm_head an adapter replaces.
        func merged(_ tensors: [PlannedTensor], gguf: Bool) -> [PlannedTensor] {
            guard let merge else { return tensors }
            var result = AdapterMerging.merged(tensors, plan: merge, keepMergedTypes: options.keepMergedTypes, requested: options.type)
            if let untiedHead {
                let embedding = gguf ? "token_embd.weight" : tensors.first { $0.name.hasSuffix("embed_tokens.weight") }?.name ?? ""
                result.append(untiedHead.tensor(among: result, gguf: gguf, embedding: embedding, keepMergedTypes: options.keepMergedTypes))
            }
            return result
        }
        func mergedConfig(_ config: JSONObject?) -> JSONObject? { untiedHead == nil ? config : AdapterMerging.UntiedHead.untied(config) }
        if case .gguf = target {} else if let type = options.type, ![.f32, .f16, .bf16].contains(type) {
            throw ConversionError.typeNotStorable(type: type.name, format: "safetensors")
        }
        var report = ConversionReport()
        switch (checkpoint.format, target) {
        case (.gguf, .gguf(let path)):
            let (metadata, tensors) = try ggufRewrite(checkpoint, requested: options.type, allowRequantize: options.allowRequantize)
            try writeGGUF(path, metadata: metadata, tensors: merged(tensors, gguf: true), options: options, report: &report, progress: progress)
        case (.gguf, .directory(let path)) where checkpoint.tensors.isEmpty:
            // A vocabulary-only GGUF: its tokenizer files and model card.
            let files = try huggingFaceTokenizerFiles(checkpoint.gguf!, report: &report)
            try writeDirectory(
                path, config: nil, metadata: [], tensors: [], options: options, report: &report, progress: progress,
                extraFiles: files, writesWeights: false)
        case (.gguf, .safetensors(let path)), (.gguf, .directory(let path)):
            let architecture = try GGUFArchitecture.parse(checkpoint.gguf!)
            let plan = try GGUFToHuggingFace.plan(checkpoint: checkpoint, architecture: architecture, requested: options.type)
            try PlanCheck.huggingFace(config: plan.config, configName: plan.configName, tensors: plan.tensors, source: architecture,
                                      path: target.path)
            report.skippedTensors = plan.skipped
            if case .directory = target {
                let files = try huggingFaceTokenizerFiles(checkpoint.gguf!, report: &report)
                try writeDirectory(
                    path, config: mergedConfig(plan.config)!, configName: plan.configName, metadata: [("format", "pt")],
                    tensors: merged(plan.tensors, gguf: false), options: options, report: &report, progress: progress, extraFiles: files)
            } else {
                try writeSafeTensors(path, metadata: [("format", "pt")], tensors: merged(plan.tensors, gguf: false), options: options,
                                     report: &report, progress: progress)
            }
        case (_, .gguf(let path)):
            let (metadata, tensors) = try ggufSource(checkpoint, source: source, options: options, report: &report)
            try writeGGUF(path, metadata: metadata, tensors: merged(tensors, gguf: true), options: options, report: &report, progress: progress)
        case (_, .safetensors(let path)), (_, .directory(let path)):
            let tensors = merged(safetensorsRewrite(checkpoint, requested: options.type), gguf: false)
            let metadata = checkpoint.safetensorsMetadata
            if case .directory = target {
                let configPath = PathName.join(checkpoint.directory, "config.json")
                let config = FileSystem.isRegularFile(configPath) ? try JSON.parse(FileSystem.readFile(configPath)).objectValue : nil
                try writeDirectory(path, config: mergedConfig(config), metadata: metadata, tensors: tensors, options: options, report: &report, progress: progress)
            } else {
                try writeSafeTensors(path, metadata: metadata, tensors: tensors, options: options, report: &report, progress: progress)
            }
        }
        return report
    }

    /// HF (or Meta) -> GGUF: the metadata and tensors a GGUF destination gets (shared with
    /// `ModelQuantizer`, which quantises them without writing the intermediate file).
    static func ggufSource(
        _ checkpoint: Checkpoint, source: String, options: ConversionOptions, report: inout ConversionReport
    ) throws -> (GGUFMetadataList, [PlannedTensor]) {
        guard let configPath = ["config.json", "params.json"].map({ PathName.join(checkpoint.directory, $0) })
            .first(where: FileSystem.isRegularFile)
        else { throw ConversionError.missingConfiguration(path: source) }
        let architecture = try HuggingFaceToGGUF.prepared(ArchitectureLoader.loadJSON(configPath), directory: checkpoint.directory)
        let plan = try HuggingFaceToGGUF.plan(
            checkpoint: checkpoint, architecture: architecture, requested: options.type, name: displayName(of: checkpoint))
        report.skippedTensors = plan.skipped
        var metadata = plan.metadata
        // Every family: the general.* keys convert_hf_to_gguf.py derives (gguf-py's metadata.py).
        let config = try JSON.parse(FileSystem.readFile(configPath))
        metadata = try GeneralMetadata.apply(to: metadata, directory: checkpoint.directory, displayName: PathName.lastComponent(of: checkpoint.directory),
                                             config: config, tensors: plan.tensors.map { ($0.name, $0.shape) }, notes: &report.notes)
        if let tokenizer = options.tokenizerFrom {
            let vocabulary = try GGUFFile(path: tokenizer)
            for entry in vocabulary.metadata.entries where entry.key.hasPrefix("tokenizer.") {
                metadata[entry.key] = .copied(entry.value)
            }
        } else if let tokenizer = try TokenizerMetadata.read(
            directory: checkpoint.directory, modelType: architecture.modelType,
            // As many tokens as the GGUF's embedding rows, which llama.cpp requires.
            vocabularySize: architecture.text.map { $0.ggufVocabularySize ?? $0.vocabularySize } ?? 0,
            preTokenizer: options.preTokenizer)
        {
            for (key, value) in tokenizer.metadata.entries { metadata[key] = value }
            report.notes += tokenizer.notes
        } else {
            report.notes.append("no tokenizer metadata written: no tokenizer.json or tokenizer.model (a GGUF's tokenizer can be copied instead)")
        }
        try PlanCheck.gguf(metadata: metadata, tensors: plan.tensors, source: architecture, path: checkpoint.path)
        return (metadata, plan.tensors)
    }

    // MARK: Same-format plans

    /// GGUF -> GGUF: names and metadata kept; weights cast or requantised by llama.cpp's rules.
    /// Changing the type of a tensor that is already quantised needs `allowRequantize`, as in
    /// llama-quantize.
    static func ggufRewrite(_ checkpoint: Checkpoint, requested: GGMLType?, allowRequantize: Bool = false) throws -> (GGUFMetadataList, [PlannedTensor]) {
        var metadata = GGUFMetadataList(copying: checkpoint.gguf!.metadata)
        metadata.removeAll { $0.hasPrefix("split.") }
        let tensors = try checkpoint.tensors.map { view -> PlannedTensor in
            var type = view.dtype
            if let requested, view.dtype.ggmlType?.traits.kind != .integer {
                type = TypeRules.staysF32(ggufName: view.name, dimensions: view.shape.count)
                    ? (view.dtype.isQuantized ? .ggml(.f32) : view.dtype)
                    : .ggml(TypeRules.fitting(requested, rowLength: view.rowLength))
            }
            if view.dtype.isQuantized && type != view.dtype && !allowRequantize {
                throw ConversionError.requantizeNotAllowed(tensor: view.name, from: view.dtype.name, to: type.name)
            }
            return PlannedTensor(name: view.name, shape: view.shape, type: type, content: .pieces([TensorPiece(view: view)]))
        }
        if let requested { metadata["general.file_type"] = .uint32(TypeRules.fileType(requested)) }
        return (metadata, tensors)
    }

    /// safetensors -> safetensors: names kept; float tensors cast when asked.
    static func safetensorsRewrite(_ checkpoint: Checkpoint, requested: GGMLType?) -> [PlannedTensor] {
        checkpoint.tensors.map { view in
            var type = view.dtype
            if let requested, let ggml = view.dtype.ggmlType, ggml.traits.kind == .float {
                type = .ggml(requested)
            }
            return PlannedTensor(name: view.name, shape: view.shape, type: type, content: .pieces([TensorPiece(view: view)]))
        }
    }

    /// "Llama Tiny" for a directory named llama-tiny, as convert_hf_to_gguf names models.
    static func displayName(of checkpoint: Checkpoint) -> String {
        let base = checkpoint.format == .safetensors && !FileSystem.isDirectory(checkpoint.path)
            ? PathName.lastComponent(of: checkpoint.directory) : PathName.lastComponent(of: checkpoint.path)
        return titleCased(base.split(whereSeparator: { $0 == "-" || $0 == "_" }).joined(separator: " "))
    }

    /// Python's `str.title()`: a letter after a non-letter is upper-cased, others lower-cased.
    static func titleCased(_ text: String) -> String {
        var result = ""
        var previousIsLetter = false
        for character in text {
            result += previousIsLetter ? character.lowercased() : character.uppercased()
            previousIsLetter = character.isLetter
        }
        return result
    }

    // MARK: Writing

    static func writeGGUF(
        _ path: String, metadata: GGUFMetadataList, tensors: [PlannedTensor], options: ConversionOptions,
        report: inout ConversionReport, progress: ConversionProgress?
    ) throws {
        let layouts = try tensors.map { tensor -> GGUFTensorLayout in
            guard let type = tensor.type.ggmlType else {
                throw ConversionError.tensorNotConvertible(tensor: tensor.name, reason: "GGUF has no \(tensor.type.name) type")
            }
            return GGUFTensorLayout(name: tensor.name, type: type, shape: tensor.shape)
        }
        if let maxSize = options.splitMaxSize {
            try writeGGUFSplit(path, metadata: metadata, tensors: tensors, layouts: layouts, maxSize: maxSize,
                               options: options, report: &report, progress: progress)
            return
        }
        let output = options.compression == nil ? path : path + ".zst"
        let writer = try GGUFWriter(
            destination: output, metadata: metadata, tensors: layouts, overwrite: options.overwrite, inputs: options.inputs,
            compression: options.compression)
        try stream(tensors, report: &report, progress: progress) { _, bytes in try writer.write(bytes) }
        try writer.commit()
        report.outputs.append(output)
    }

    static func safetensorsLayouts(_ tensors: [PlannedTensor]) throws -> [SafeTensorsTensorLayout] {
        try tensors.map { tensor in
            let dtype: SafeTensorsDType?
            switch tensor.type {
            case .safetensors(let d): dtype = d
            case .ggml(let type): dtype = SafeTensorsDType.allCases.first { $0.ggmlEquivalent == type }
            }
            guard let dtype else { throw ConversionError.typeNotStorable(type: tensor.type.name, format: "safetensors") }
            return SafeTensorsTensorLayout(name: tensor.name, dtype: dtype, shape: tensor.shape)
        }
    }

    static func writeSafeTensors(
        _ path: String, metadata: [(key: String, value: String)], tensors: [PlannedTensor], options: ConversionOptions,
        report: inout ConversionReport, progress: ConversionProgress?
    ) throws {
        let layouts = try safetensorsLayouts(tensors)
        if let maxSize = options.splitMaxSize {
            try writeSafeTensorsShards(path, metadata: metadata, tensors: tensors, layouts: layouts, maxSize: maxSize,
                                       options: options, report: &report, progress: progress)
        } else {
            try writeSafeTensorsFile(path, metadata: metadata, tensors: tensors, layouts: layouts, options: options,
                                     report: &report, progress: progress)
        }
    }

    /// One safetensors file, tensors in the reference writer's order.
    static func writeSafeTensorsFile(
        _ path: String, metadata: [(key: String, value: String)], tensors: [PlannedTensor], layouts unordered: [SafeTensorsTensorLayout],
        options: ConversionOptions, report: inout ConversionReport, progress: ConversionProgress?
    ) throws {
        let layouts = SafeTensorsWriter.referenceOrder(unordered)
        let byName = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let ordered = layouts.map { byName[$0.name]! }
        let output = options.compression == nil ? path : path + ".zst"
        let writer = try SafeTensorsWriter(
            destination: output, metadata: metadata, tensors: layouts, overwrite: options.overwrite, inputs: options.inputs,
            compression: options.compression)
        try stream(ordered, report: &report, progress: progress) { _, bytes in try writer.write(bytes) }
        try writer.commit()
        report.outputs.append(output)
    }

    /// The Hugging Face tokenizer files and README.md model card of a GGUF (none when it has
    /// no `tokenizer.ggml.model`; a tokenizer type without a tokenizer.json form is a note).
    static func huggingFaceTokenizerFiles(_ gguf: GGUFFile, report: inout ConversionReport) throws -> [(name: String, text: String)] {
        var files: [(name: String, text: String)] = []
        if gguf.metadata.contains("tokenizer.ggml.model") {
            do {
                let export = try HuggingFaceTokenizerExport.make(gguf: gguf)
                files += export.files
                report.notes += export.notes
            } catch TokenizerError.unsupportedExport(_, let model) {
                report.notes.append("tokenizer model '\(model)' has no tokenizer.json form here: no tokenizer files written")
            }
        } else {
            report.notes.append("the GGUF has no tokenizer: no tokenizer files written")
        }
        if let card = ModelCard.text(metadata: gguf.metadata) { files.append(("README.md", card)) }
        return files
    }

    static func writeDirectory(
        _ path: String, config: JSONObject?, configName: String = "config.json", metadata: [(key: String, value: String)],
        tensors: [PlannedTensor], options: ConversionOptions, report: inout ConversionReport, progress: ConversionProgress?,
        extraFiles: [(name: String, text: String)] = [], writesWeights: Bool = true
    ) throws {
        // Built in a temporary sibling and renamed into place (OutputDirectory): a failed or
        // interrupted conversion leaves no directory, and no file in an existing one.
        let directory = try OutputDirectory(destination: path, overwrite: options.overwrite, inputs: options.inputs)
        let weightNames = !writesWeights ? [] : options.splitMaxSize == nil ? [configName, "model.safetensors"] : [configName]
        try directory.checkFree(weightNames + extraFiles.map(\.name))
        var inner = options
        inner.overwrite = false
        var built = ConversionReport()
        do {
            if writesWeights {
                try writeSafeTensors(
                    directory.path(for: "model.safetensors"), metadata: metadata, tensors: tensors, options: inner, report: &built,
                    progress: progress)
            }
            if let config {
                let output = try OutputFile(destination: directory.path(for: configName))
                try output.write(JSONWriter.string(.object(config), indent: 2) + "\n")
                try output.commit()
            }
            for file in extraFiles {
                let output = try OutputFile(destination: directory.path(for: file.name))
                try output.write(file.text)
                try output.commit()
            }
        } catch WriteError.writeFailed(_, let reason, _) {
            // Named for the directory the user asked for, not the temporary sibling.
            throw WriteError.writeFailed(path: path, reason: reason, leftBehind: directory.abandon())
        }
        let written = try directory.commit()
        let order = built.outputs.map(PathName.lastComponent) + (config == nil ? [] : [configName]) + extraFiles.map(\.name)
        report.outputs += order.compactMap { name in written.first { PathName.lastComponent(of: $0) == name } }
        report.tensorCount += built.tensorCount
        report.bytesWritten += built.bytesWritten
    }

    static func stream(
        _ tensors: [PlannedTensor], report: inout ConversionReport, progress: ConversionProgress?,
        into sink: (_ tensorIndex: Int, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let streamer = TensorStreamer()
        let total = tensors.reduce(0) { $0 + $1.byteCount }
        var written = 0
        for (index, tensor) in tensors.enumerated() {
            try streamer.stream(tensor) { bytes in
                try sink(index, bytes)
                written += bytes.count
            }
            progress?(index + 1, tensors.count, written, total)
        }
        report.tensorCount += tensors.count
        report.bytesWritten += written
    }
}

#if canImport(Glibc)
import Glibc
#endif

func errnoDescription() -> String { String(cString: strerror(errno)) }
