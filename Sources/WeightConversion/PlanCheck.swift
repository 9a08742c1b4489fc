import WeightArchitecture
import WeightFormats

/// Reads back what a conversion is about to write, before it writes anything: the config.json
/// or GGUF metadata goes through the same reader and validation rules as any input, the
/// description it gives must size the model as the source's did, and the planned tensors must be
/// exactly the ones that description's schema has, with its shapes. A conversion that would
/// write a file WeightKit (or transformers, or llama.cpp) then refuses fails here instead.
enum PlanCheck {
    /// A GGUF plan.
    static func gguf(metadata: GGUFMetadataList, tensors: [PlannedTensor], source: ModelArchitecture, path: String) throws {
        let header = try GGUFFile.reading(metadata, path: path)
        let index = GGUFTensorIndex(shapes: Dictionary(tensors.map { ($0.name, $0.shape) }, uniquingKeysWith: { first, _ in first }))
        let written = try ModelFamilies.architecture(gguf: header, tensors: index)
        // A GGUF whose converter cuts the embeddings (Gemma 3) holds the tokenizer's rows.
        var expected = source
        if let rows = source.text?.ggufVocabularySize { expected.text?.vocabularySize = rows }
        try compare(expected, written, path: path, vocabulary: !tensors.isEmpty)
        let schema = try ModelFamilies.family(of: written).schema(written)
        var problems: [String] = []
        for tensor in tensors {
            guard let spec = schema.spec(gguf: tensor.name) else { problems.append("\(tensor.name) is not in the written description"); continue }
            if spec.shape(gguf: true) != tensor.shape { problems.append("\(tensor.name) \(tensor.shape) against \(spec.shape(gguf: true))") }
        }
        let planned = Set(tensors.map(\.name))
        for spec in schema.tensors where spec.presence == .required {
            if let name = spec.gguf, !planned.contains(name) { problems.append("\(name) is described but not written") }
        }
        guard problems.isEmpty else { throw ConversionError.writtenDescriptionDiffers(path: path, differences: problems) }
    }

    /// A Hugging Face (or Meta) directory's config and tensors.
    static func huggingFace(config: JSONObject, configName: String, tensors: [PlannedTensor], source: ModelArchitecture, path: String) throws {
        let file = PathName.join(path, configName)
        let written = try ModelFamilies.architecture(huggingFace: .object(config), file: file)
        try compare(source, written, path: file, vocabulary: true)
        let schema = try ModelFamilies.family(of: written).schema(written)
        var problems: [String] = []
        var planned = Set<String>()
        for tensor in tensors {
            planned.insert(tensor.name)
            guard let (spec, expert) = schema.spec(huggingFace: tensor.name) else {
                problems.append("\(tensor.name) is not in the written description")
                continue
            }
            let expected = expert == nil ? spec.shape : Array(spec.shape.dropFirst())
            if expected != tensor.shape { problems.append("\(tensor.name) \(tensor.shape) against \(expected)") }
        }
        for spec in schema.tensors where spec.presence == .required {
            switch spec.huggingFace {
            case .tensor(let name) where !planned.contains(name): problems.append("\(name) is described but not written")
            case .experts(let layout) where !layout.perExpert.allSatisfy(planned.contains):
                problems.append("experts of \(layout.perExpert.first ?? "?") are described but not written")
            default: break
            }
        }
        guard problems.isEmpty else { throw ConversionError.writtenDescriptionDiffers(path: file, differences: problems) }
    }

    /// The hyper-parameters that size a model must read back as they were.
    static func compare(_ a: ModelArchitecture, _ b: ModelArchitecture, path: String, vocabulary: Bool) throws {
        guard let x = a.text, let y = b.text else {
            if (a.text == nil) != (b.text == nil) {
                throw ConversionError.writtenDescriptionDiffers(path: path, differences: ["the language model is missing"])
            }
            return
        }
        var differences: [String] = []
        func check<T: Equatable>(_ name: String, _ left: T, _ right: T) {
            if left != right { differences.append("\(name) \(left) became \(right)") }
        }
        func close(_ name: String, _ left: Double, _ right: Double) {
            if !(abs(left - right) <= 1e-6 * max(abs(left), abs(right))) { differences.append("\(name) \(left) became \(right)") }
        }
        check("layers", x.layerCount, y.layerCount)
        check("hidden size", x.hiddenSize, y.hiddenSize)
        check("heads", x.headCount, y.headCount)
        check("KV heads", (0..<x.layerCount).map(x.kvHeads(layer:)), (0..<min(x.layerCount, y.layerCount)).map(y.kvHeads(layer:)))
        check("key length", x.keyLength, y.keyLength)
        check("value length", x.valueLength, y.valueLength)
        check("feed-forward length", x.feedForwardLength, y.feedForwardLength)
        if vocabulary { check("vocabulary", x.vocabularySize, y.vocabularySize) }
        check("context", x.contextLength, y.contextLength)
        close("norm epsilon", Double(Float(x.normEpsilon)), Double(Float(y.normEpsilon)))
        check("tied embeddings", x.tiedEmbeddings, y.tiedEmbeddings)
        check("experts", x.experts.map { [$0.expertCount, $0.usedExpertCount, $0.feedForwardLength] },
              y.experts.map { [$0.expertCount, $0.usedExpertCount, $0.feedForwardLength] })
        check("rotary dimensions", x.rotary?.dimensions, y.rotary?.dimensions)
        if let r = x.rotary, let s = y.rotary { close("rope theta", Double(Float(r.theta)), Double(Float(s.theta))) }
        guard differences.isEmpty else { throw ConversionError.writtenDescriptionDiffers(path: path, differences: differences) }
    }
}
