import WeightArchitecture
import WeightBudget
import WeightConversion
import WeightFormats

/// `budget --type`: the file `weightkit quantize` (and llama-quantize) would write for a mix,
/// from the same type choices (`ModelQuantizer.plan`), the same output metadata and the GGUF
/// layout: `bytes` is the whole file, header and alignment padding included. A single type
/// (`q4_k`, as in `convert --type`) is planned as llama-quantize's `--pure` with that type.
/// No importance matrix is assumed unless one is given (it changes some choices and adds the
/// `quantize.imatrix.*` keys); the checks `quantize` makes on one (another model's, sizes,
/// non-finite values) are made here too, and a mix that requires one is refused without it.
struct MixBudget {
    var name: String
    /// Bytes of the whole file.
    var bytes: Int
    /// Tensor bytes per budget component and per ggml type, in first-seen order.
    var byComponent: [(name: String, bytes: Int)]
    var byType: [(name: String, bytes: Int)]
    /// The tensors as the file would store them (for the bytes a decoded token reads).
    var tensors: [StoredTensor]
    /// Planned from the configuration alone (no tensors): the header lacks the vocabulary.
    var described = false

    static func load(model path: String, type typeName: String, imatrix: String?) throws -> MixBudget {
        let parsed: (type: GGMLType?, mix: QuantizationMix?)
        do {
            parsed = try Converter.typeOrMix(named: typeName)
        } catch {
            throw CommandFailure("--type: unknown type '\(typeName)' (did you mean \(suggestion(for: typeName))?)")
        }
        var options: QuantizeOptions
        if let mix = parsed.mix {
            options = QuantizeOptions(target: .mix(mix))
        } else {
            let type = parsed.type!
            guard let mix = QuantizationMix.allCases.first(where: { $0.defaultType == type }) else {
                throw CommandFailure("--type: \(typeName) is not a type llama-quantize writes")
            }
            options = QuantizeOptions(target: .mix(mix))
            options.choice.pure = true
        }
        // The file it would write: an already quantised input counts as requantised.
        options.allowRequantize = true
        do {
            if let imatrix {
                options.importance = try ImportanceMatrix.read(path: imatrix)
                options.importancePath = imatrix
            }
            let described = try ModelBudget.checkpointTensors(path) == nil
            // Only tensor bytes are counted: the tokenizer's pre-tokenizer name does not change them.
            let source = described ? try describedSource(path) : try ModelQuantizer.source(path, preTokenizer: "default")
            let plan = try ModelQuantizer.plan(source, options: options)
            _ = try ModelQuantizer.importanceAssignments(plan, options: options)
            let metadata = ModelQuantizer.outputMetadata(source, plan: plan, options: options)
            let layouts = plan.tensors.map { GGUFTensorLayout(name: $0.name, type: $0.to, shape: $0.shape) }
            let header = try GGUFWriter.header(metadata: metadata, tensors: layouts)
            var byComponent: [(name: String, bytes: Int)] = [], byType: [(name: String, bytes: Int)] = []
            func add(_ name: String, _ bytes: Int, to list: inout [(name: String, bytes: Int)]) {
                if let index = list.firstIndex(where: { $0.name == name }) { list[index].bytes += bytes } else { list.append((name, bytes)) }
            }
            for tensor in plan.tensors {
                add(TensorClassifier.classify(tensor.name).name, tensor.byteCount, to: &byComponent)
                add(tensor.to.name, tensor.byteCount, to: &byType)
            }
            return MixBudget(name: typeName.uppercased(), bytes: header.bytes.count + header.dataSize, byComponent: byComponent, byType: byType,
                             tensors: plan.tensors.map { StoredTensor(name: $0.name, shape: $0.shape, dtype: .ggml($0.to), bytes: $0.byteCount) },
                             described: described)
        } catch let error as QuantizationPlanError {
            throw CommandFailure("--type \(typeName): \(error.description)")
        } catch let error as ImportanceMatrixError {
            throw CommandFailure("--imatrix: \(error.description)")
        } catch let error as ModelQuantizerError {
            throw CommandFailure("--type \(typeName): \(error.description)")
        } catch let error as ConversionError {
            throw CommandFailure(error.description)
        } catch let error as WriterError {
            throw CommandFailure(error.description)
        }
    }

    /// A model known by its configuration alone, as llama.cpp's converter would write it: the
    /// family's GGUF tensors (2-D and larger in F16, the rest F32) and architecture keys. Its
    /// vocabulary is unknown, so the header is the architecture keys' alone.
    static func describedSource(_ path: String) throws -> ModelQuantizer.Source {
        let architecture = try ArchitectureLoader.load(path)
        let family = try ModelFamilies.family(of: architecture)
        let metadata = try family.ggufMetadata(architecture, name: PathName.lastComponent(of: path), fileType: 1)
        let tensors = try family.schema(architecture).tensors.compactMap { spec -> PlannedTensor? in
            guard spec.isParameter, let name = spec.gguf else { return nil }
            let shape = spec.shape(gguf: true)
            // convert_hf_to_gguf keeps 1-D tensors, the MoE routers and position tables in F32.
            let float32 = shape.count < 2 || ["ffn_gate_inp", "position_embd", "token_types"].contains { name.contains($0) }
            return PlannedTensor(name: name, shape: shape, type: .ggml(float32 ? .f32 : .f16), content: .pieces([]))
        }
        return try ModelQuantizer.Source(metadata: metadata, tensors: tensors, fileType: 1)
    }

    /// The nearest llama-quantize name; where that is an alias of an _M mix (Q4_K), both
    /// meanings as `--type` spells them here.
    static func suggestion(for text: String) -> String {
        let nearest = QuantizationTarget.nearestName(to: text).lowercased()
        guard ["q3_k", "q4_k", "q5_k"].contains(nearest) else { return nearest }
        return "\(nearest)_m, or \(nearest) for every weight in \(nearest.uppercased())"
    }

    /// `weights.mix` in the JSON report.
    var json: JSONValue {
        .object(JSONObject([
            ("name", .string(name)), ("bytes", .int(bytes)),
            ("by_component", .object(JSONObject(byComponent.map { ($0.name, .int($0.bytes)) }))),
            ("by_type", .object(JSONObject(byType.map { ($0.name, .int($0.bytes)) }))),
        ]))
    }
}
