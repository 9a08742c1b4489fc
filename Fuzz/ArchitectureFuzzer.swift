// libFuzzer target for architecture descriptions (`Fuzz/run.sh 600 architecture`): hostile
// hyper-parameters carried from the file all the way to a forward step, where the parser
// targets stop. Linked against the package's libraries built with the fuzzer and
// AddressSanitizer (`swift build --sanitize=fuzzer --sanitize=address`, see Fuzz/run.sh).
//
// An input picks a seed model (a tiny config.json, params.json or GGUF file of every family
// WeightKit reads, from Fixtures/) and a list of edits to its hyper-parameters (keys of the
// seed and keys the families read, set to hostile values: 0, negatives, 2^31, 2^62, 1e18,
// 1e300, fractions, arrays, strings, rope_scaling objects, layer_types lists). The harness
// writes the edited description beside tensors: those of the edited description's own schema
// when it validates and is small (optionally one tensor dropped or one dimension changed), the
// seed's otherwise. Then, as the CLI does, it reads the description (ArchitectureLoader, with
// the validation pass), computes a budget, builds the language model (WeightModels' binding)
// and runs one prompt token and one decode step, and builds and runs the vision encoder on
// one image.
//
// Every input must end in a thrown error or in logits of the vocabulary's size (and encodings
// of the tower's shape): a trap, an AddressSanitizer report, an allocation above libFuzzer's
// -rss_limit_mb or a run above -timeout is a finding.

import Glibc
import WeightArchitecture
import WeightBudget
import WeightCompute
import WeightFormats
import WeightModels

/// A model to start from: its description as JSON (config.json / params.json) or a GGUF file.
struct Seed {
    enum Source {
        case json(JSONObject, fileName: String)
        case gguf(GGUFFile)
    }
    let name: String
    let source: Source
    /// Where edits may point: key paths of the JSON ("text_config.hidden_size") or GGUF keys.
    let keys: [String]
}

/// Keys families read that a seed may leave out.
let extraJSONKeys = [
    "partial_rotary_factor", "head_dim", "num_key_value_heads", "rope_scaling", "rope_theta", "sliding_window",
    "layer_types", "max_window_layers", "use_sliding_window", "tie_word_embeddings", "attention_bias", "mlp_bias",
    "query_pre_attn_scalar", "attn_logit_softcapping", "final_logit_softcapping", "rope_local_base_freq",
    "num_experts", "num_local_experts", "num_experts_per_tok", "moe_intermediate_size", "mlp_only_layers",
    "decoder_sparse_step", "shared_expert_intermediate_size", "n_future_tokens", "type_vocab_size",
    "ffn_dim_multiplier", "multiple_of", "norm_eps", "n_kv_heads", "n_heads", "dim", "n_layers", "vocab_size",
    "vision_feature_layer", "spatial_pool_stride", "mm_tokens_per_image", "projection_dim", "image_size",
    "patch_size", "num_channels", "rms_norm_eps", "layer_norm_eps", "hidden_act", "max_position_embeddings",
    "intermediate_size", "num_hidden_layers", "num_attention_heads", "hidden_size", "original_max_position_embeddings",
]

/// GGUF keys (after `{arch}.`) families read that a seed may leave out.
let extraGGUFKeys = [
    "rope.dimension_count", "attention.key_length", "attention.value_length", "attention.sliding_window",
    "attention.head_count_kv", "attention.head_count", "block_count", "embedding_length", "feed_forward_length",
    "context_length", "rope.freq_base", "rope.scaling.type", "rope.scaling.factor",
    "rope.scaling.original_context_length", "expert_count", "expert_used_count", "expert_feed_forward_length",
    "attn_logit_softcapping", "final_logit_softcapping", "attention.layer_norm_rms_epsilon", "n_future_tokens",
    "vocab_size", "rope.dimension_sections",
]

let hostileIntegers: [Int] = [
    0, 1, 2, 3, 4, 5, 7, 8, 16, 17, 31, 32, 64, 65, 128, 4096, 65_536, 1 << 20, 1 << 24, -1, -2, -7,
    Int(Int32.max), 1 << 31, 1 << 32, 1 << 62, Int.max, Int.min, 1_000_000_000_000_000_000,
]
let hostileDoubles: [Double] = [
    0, 0.5, 1, 1.5, 2, -1, 1e-30, 1e300, -1e300, 1e18, 1e-6, 3.5, 0.25, 10000, 1e308, 4.0e9, -0.0,
]
let hostileStrings = [
    "silu", "gelu", "relu", "quick_gelu", "gelu_pytorch_tanh", "x", "", "linear", "dynamic", "yarn", "llama3",
    "longrope", "full_attention", "sliding_attention", "default", "full", "qwen3", "llama", "\u{1b}]0;t\u{7}",
]

/// Reads the input's bytes one at a time (zeros past the end).
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var position = 0
    var remaining: Int { bytes.count - position }
    mutating func next() -> Int {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return Int(bytes[position])
    }
    mutating func pick<T>(_ items: [T]) -> T { items[next() % items.count] }
}

// MARK: - Seeds

func fixtures() -> String {
    if let path = getenv("WEIGHTKIT_FIXTURES") { return String(cString: path) }
    return "Fixtures"
}

/// Replaces every number under the keys in `sizes` (at any depth) by the tiny value given.
func shrunk(_ value: JSONValue, _ sizes: [String: JSONValue]) -> JSONValue {
    switch value {
    case .object(let object):
        var result = JSONObject()
        for (key, member) in object {
            if let small = sizes[key], case .number = member {
                result[key] = small
            } else if key == "layer_types", case .array(let spans) = member {
                result[key] = .array(Array(spans.prefix(2)))  // one per layer of the shrunk stack
            } else {
                result[key] = shrunk(member, sizes)
            }
        }
        return .object(result)
    case .array(let items): return .array(items.map { shrunk($0, sizes) })
    default: return value
    }
}

/// Leaf key paths of a JSON object (numbers, booleans, strings, arrays), plus the extra keys at
/// the top level and in every nested config object.
func keyPaths(_ object: JSONObject) -> [String] {
    var paths: [String] = []
    var containers = [""]
    func walk(_ object: JSONObject, _ prefix: String) {
        for (key, value) in object {
            let path = prefix.isEmpty ? key : prefix + "." + key
            if case .object(let nested) = value {
                if key != "rope_scaling" { containers.append(path); walk(nested, path) } else { paths.append(path) }
            } else {
                paths.append(path)
            }
        }
    }
    walk(object, "")
    for container in containers {
        for key in extraJSONKeys {
            let path = container.isEmpty ? key : container + "." + key
            if !paths.contains(path) { paths.append(path) }
        }
    }
    return paths
}

func loadSeeds() -> [Seed] {
    let root = fixtures()
    var seeds: [Seed] = []
    let tiny: [String: JSONValue] = [
        "hidden_size": .int(32), "intermediate_size": .int(64), "num_hidden_layers": .int(2),
        "num_attention_heads": .int(4), "num_key_value_heads": .int(2), "head_dim": .int(8), "vocab_size": .int(64),
        "max_position_embeddings": .int(64), "image_size": .int(32), "patch_size": .int(8), "projection_dim": .int(16),
        "mm_tokens_per_image": .int(4), "sliding_window": .int(16), "query_pre_attn_scalar": .int(8),
        "num_local_experts": .int(4), "num_experts_per_tok": .int(2), "type_vocab_size": .int(2),
        "text_config_vocab_size": .int(64), "image_token_index": .int(63), "boi_token_index": .int(61),
        "eoi_token_index": .int(62), "pad_token_id": .int(0), "bos_token_id": .int(1), "eos_token_id": .int(2),
        "sliding_window_pattern": .int(2),
    ]
    func addJSON(_ name: String, _ relative: String, shrink: Bool = false, modelType: String? = nil) {
        let path = root + "/" + relative
        guard let bytes = try? FileSystem.readFile(path), var json = try? JSON.parse(bytes) else {
            fputs("architecture fuzzer: cannot read seed \(path)\n", stderr)
            return
        }
        if shrink { json = shrunk(json, tiny) }
        guard case .object(var object) = json else { return }
        if let modelType { object["model_type"] = .string(modelType) }
        let fileName = PathName.lastComponent(of: relative)
        seeds.append(Seed(name: name, source: .json(object, fileName: fileName), keys: keyPaths(object)))
    }
    addJSON("llama", "models/llama-tiny/config.json")
    addJSON("mistral", "models/mistral-tiny/config.json")
    addJSON("qwen2", "models/qwen2-tiny/config.json")
    addJSON("qwen3", "models/qwen3-tiny/config.json")
    addJSON("qwen3-sliding", "budget/configs/qwen3-tiny-sliding/config.json", shrink: true)
    addJSON("qwen3_moe", "models/qwen3moe-tiny/config.json")
    addJSON("qwen3_moe-dense", "models/qwen3moe-dense-tiny/config.json")
    addJSON("mixtral", "budget/configs/mistral-7b/config.json", shrink: true, modelType: "mixtral")
    addJSON("phi3", "models/phi3-tiny/config.json")
    addJSON("gemma2", "models/gemma2-tiny/config.json")
    addJSON("gemma3_text", "models/gemma3-tiny/config.json")
    addJSON("gemma3", "budget/configs/gemma-3-4b/config.json", shrink: true)
    addJSON("bert", "budget/configs/bert-base-uncased/config.json", shrink: true)
    addJSON("meta_mtp", "mtp/mtp-4heads/params.json")
    addJSON("meta_mtp-config", "mtp/mtp-3heads-config/config.json")
    addJSON("expert_lm", "experts/expert-small/config.json")
    addJSON("clip", "vision/clip-tiny/config.json")
    addJSON("clip_vision_model", "vision/clip-vision-tiny/config.json")
    addJSON("clip-projection", "budget/configs/clip-vit-large-patch14-336-vision-projection/config.json", shrink: true)
    addJSON("siglip", "vision/siglip-tiny/config.json")
    addJSON("siglip_vision_model", "vision/siglip-vision-tiny/config.json")
    addJSON("llava", "vision/llava-tiny/config.json")
    addJSON("llava_next_video", "budget/configs/llava-next-video-7b/config.json", shrink: true)
    for relative in [
        "models/llama-tiny-gguf/llama-tiny-f32.gguf", "models/mistral-tiny-gguf/mistral-tiny-f32.gguf",
        "models/qwen2-tiny-gguf/qwen2-tiny-f32.gguf", "models/qwen3-tiny-gguf/qwen3-tiny-f32.gguf",
        "models/qwen3moe-tiny-gguf/qwen3moe-tiny-f32.gguf", "models/phi3-tiny-gguf/phi3-tiny-f32.gguf",
        "models/gemma2-tiny-gguf/gemma2-tiny-f32.gguf", "models/gemma3-tiny-gguf/gemma3-tiny-f32.gguf",
        "mtp/mtp-4heads.f32.gguf", "hostile/per-layer-kv-heads.gguf", "budget/mistral-tiny-window.gguf",
    ] {
        guard let checkpoint = try? Checkpoint.open(root + "/" + relative), let gguf = checkpoint.gguf,
              let arch = gguf.metadata.string("general.architecture") else {
            fputs("architecture fuzzer: cannot read seed \(relative)\n", stderr)
            continue
        }
        var keys = gguf.metadata.entries.map(\.key).filter { $0.hasPrefix(arch + ".") }
        for key in extraGGUFKeys where !keys.contains(arch + "." + key) { keys.append(arch + "." + key) }
        keys.append("general.architecture")
        seeds.append(Seed(name: relative, source: .gguf(gguf), keys: keys))
    }
    return seeds
}

// MARK: - Edits

func hostileJSON(_ reader: inout ByteReader, current: JSONValue?) -> JSONValue? {
    let kind = reader.next() % 11
    switch kind {
    case 0, 1: return .int(reader.pick(hostileIntegers))
    case 2: return .double(reader.pick(hostileDoubles))
    case 3:
        let delta = reader.next() - 128
        if let value = current?.intValue { return .int(value &+ delta) }
        return .int(delta)
    case 4:
        let shift = reader.next() % 8
        if let value = current?.intValue { return .int(reader.next() % 2 == 0 ? value &<< shift : value >> shift) }
        return .int(1 << shift)
    case 5: return .bool(reader.next() % 2 == 0)
    case 6: return nil
    case 7:
        let count = reader.next() % 6
        return .array((0..<count).map { _ in .int(reader.pick(hostileIntegers)) })
    case 8: return .string(reader.pick(hostileStrings))
    case 9:
        var scaling = JSONObject()
        let type = reader.pick(["linear", "dynamic", "yarn", "llama3", "longrope", "default", "x"])
        scaling[reader.next() % 2 == 0 ? "rope_type" : "type"] = .string(type)
        scaling["factor"] = .double(reader.pick(hostileDoubles))
        if reader.next() % 2 == 0 { scaling["original_max_position_embeddings"] = .int(reader.pick(hostileIntegers)) }
        if reader.next() % 2 == 0 {
            scaling["low_freq_factor"] = .double(reader.pick(hostileDoubles))
            scaling["high_freq_factor"] = .double(reader.pick(hostileDoubles))
        }
        if reader.next() % 2 == 0 {
            let count = reader.next() % 8
            let list = JSONValue.array((0..<count).map { _ in .double(reader.pick(hostileDoubles)) })
            scaling["short_factor"] = list
            scaling["long_factor"] = list
        }
        return .object(scaling)
    default:
        let count = reader.next() % 6
        return .array((0..<count).map { _ in .string(reader.next() % 3 == 0 ? "sliding_attention" : "full_attention") })
    }
}

func setPath(_ object: inout JSONObject, _ path: ArraySlice<Substring>, _ value: JSONValue?) {
    guard let first = path.first else { return }
    let key = String(first)
    if path.count == 1 {
        object[key] = value
        return
    }
    guard case .object(var nested) = object[key] ?? .object(JSONObject()) else { return }
    setPath(&nested, path.dropFirst(), value)
    object[key] = .object(nested)
}

func getPath(_ object: JSONObject, _ path: [Substring]) -> JSONValue? {
    var value: JSONValue = .object(object)
    for key in path {
        guard let next = value[String(key)] else { return nil }
        value = next
    }
    return value
}

func hostileGGUF(_ reader: inout ByteReader, current: GGUFMetadataValue?) -> GGUFMetadataValue? {
    let integer = reader.pick(hostileIntegers)
    switch reader.next() % 13 {
    case 0: return .uint32(UInt32(truncatingIfNeeded: integer))
    case 1: return .int32(Int32(truncatingIfNeeded: integer))
    case 2: return .uint64(UInt64(bitPattern: Int64(integer)))
    case 3: return .int64(Int64(integer))
    case 4: return .float32(Float(reader.pick(hostileDoubles)))
    case 5: return .float64(reader.pick(hostileDoubles))
    case 6: return .bool(reader.next() % 2 == 0)
    case 7: return .string(reader.pick(hostileStrings))
    case 8: return nil
    case 9:
        let count = reader.next() % 6
        return .array(elementType: .uint32, elements: (0..<count).map { _ in .uint32(UInt32(truncatingIfNeeded: reader.pick(hostileIntegers))) })
    case 10:
        let count = reader.next() % 6
        return .array(elementType: .int32, elements: (0..<count).map { _ in .int32(Int32(truncatingIfNeeded: reader.pick(hostileIntegers))) })
    case 11:
        let count = reader.next() % 6
        return .array(elementType: .float32, elements: (0..<count).map { _ in .float32(Float(reader.pick(hostileDoubles))) })
    default:
        let delta = reader.next() - 128
        return .int64(Int64((current?.intValue ?? 0) &+ delta))
    }
}

// MARK: - Tensors

/// The most elements the harness writes for one model (the tiny seeds hold far fewer).
let maxElements = 1 << 21

/// The tensors a checkpoint of `architecture` holds, under Hugging Face or GGUF names, when the
/// description validates and is small; nil otherwise.
func schemaTensors(_ architecture: ModelArchitecture, gguf: Bool) -> [(name: String, shape: [Int])]? {
    guard let family = try? ModelFamilies.family(of: architecture), let schema = try? family.schema(architecture) else { return nil }
    var tensors: [(name: String, shape: [Int])] = []
    var total = 0
    for spec in schema.tensors where spec.presence == .required || spec.presence == .optional {
        let shape = spec.shape(gguf: gguf)
        guard shape.allSatisfy({ $0 >= 0 && $0 <= maxElements }) else { return nil }
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow, product <= maxElements else { return nil }
            count = product
        }
        if gguf {
            guard let name = spec.gguf else { continue }
            tensors.append((name, shape))
            total += count
        } else {
            switch spec.huggingFace {
            case .tensor(let name):
                tensors.append((name, shape))
                total += count
            case .experts(let layout):
                for name in layout.perExpert { tensors.append((name, Array(shape.dropFirst()))) }
                total += count
            case .none: break
            }
        }
        guard total <= maxElements else { return nil }
    }
    return tensors
}

/// Drops a tensor or changes one dimension of one, as the input says.
func perturb(_ tensors: inout [(name: String, shape: [Int])], _ reader: inout ByteReader) {
    guard !tensors.isEmpty else { return }
    let index = reader.next() % tensors.count
    if reader.next() % 2 == 0 {
        tensors.remove(at: index)
    } else if !tensors[index].shape.isEmpty {
        let axis = reader.next() % tensors[index].shape.count
        tensors[index].shape[axis] = max(0, tensors[index].shape[axis] + reader.pick([-1, 1, 2, 8]))
    }
}

/// Small deterministic values, so that activations stay finite through a few layers.
func values(_ count: Int, seed: Int) -> [Float] {
    var state = UInt32(truncatingIfNeeded: seed &* 2_654_435_761 &+ 12345)
    return (0..<count).map { _ in
        state = state &* 1_664_525 &+ 1_013_904_223
        return (Float(state >> 8) / Float(1 << 24) - 0.5) * 0.2
    }
}

func writeSafeTensors(_ tensors: [(name: String, shape: [Int])], to path: String) throws {
    let layouts = tensors.map { SafeTensorsTensorLayout(name: $0.name, dtype: .f32, shape: $0.shape) }
    let writer = try SafeTensorsWriter(destination: path, metadata: [("format", "pt")], tensors: layouts, overwrite: true)
    for (index, layout) in layouts.enumerated() {
        try values(layout.elementCount, seed: index).withUnsafeBytes { try writer.write($0) }
    }
    try writer.commit()
}

func writeFile(_ text: String, to path: String) throws {
    let file = try OutputFile(destination: path, overwrite: true)
    try file.write(text)
    try file.commit()
}

func writeGGUF(_ metadata: GGUFMetadataList, _ tensors: [(name: String, shape: [Int])], to path: String) throws {
    let layouts = tensors.map { GGUFTensorLayout(name: $0.name, type: .f32, shape: $0.shape) }
    let writer = try GGUFWriter(destination: path, metadata: metadata, tensors: layouts, overwrite: true)
    for (index, layout) in layouts.enumerated() {
        try values(layout.elementCount, seed: index).withUnsafeBytes { try writer.write($0) }
    }
    try writer.commit()
}

// MARK: - The run

let seeds = loadSeeds()
let workDirectory: String = {
    let path = "/dev/shm/weightkit-architecture-fuzz-\(getpid())"
    mkdir(path, 0o700)
    return path
}()
let context = ComputeContext(threads: 1)
let runnableModelTypes = Set(ModelRegistry.supportedModelTypes)
/// WEIGHTKIT_FUZZ_TRACE=1: one line per input on stderr saying how far it got (to replay a
/// corpus and see what it reaches).
let tracing = getenv("WEIGHTKIT_FUZZ_TRACE") != nil

func trace(_ text: @autoclosure () -> String) {
    if tracing { fputs(text() + "\n", stderr) }
}

func removeWorkFiles() {
    for name in (try? FileSystem.contentsOfDirectory(workDirectory)) ?? [] { unlink(workDirectory + "/" + name) }
}

/// Reads the model at `path` as the CLI does, computes a budget, and runs what is runnable.
func exercise(_ path: String, _ reader: inout ByteReader) {
    let architecture: ModelArchitecture
    do {
        architecture = try ArchitectureLoader.load(path)
    } catch {
        trace("refused: \(error)")
        return
    }
    trace("description: \(architecture.modelType)")
    var request = BudgetRequest()
    request.contexts = [reader.pick([1, 2, 128, 4096, 1 << 20, 1 << 31, Int.max])]
    request.parallel = reader.pick([1, 2, 1 << 16, Int.max])
    if reader.next() % 2 == 0 { request.loraRank = reader.pick([1, 8, 1 << 20, Int.max]) }
    request.images = reader.pick([0, 1, 1 << 20, Int.max])
    _ = try? ModelBudget.load(path, request: request)

    if runnableModelTypes.contains(architecture.modelType), architecture.text != nil {
        let built: CausalLanguageModel?
        do { built = try ModelRegistry.load(path, context: context) } catch { built = nil; trace("not built: \(error)") }
        if let model = built {
            let vocabulary = model.vocabularySize
            precondition(vocabulary > 0, "a model with an empty vocabulary was built")
            if let cache = try? model.makeCache(capacity: 2) {
                let first = reader.next() % vocabulary, second = reader.next() % vocabulary
                if let logits = try? model.forward([first], cache: cache, logits: .last) {
                    precondition(logits.count == vocabulary, "prompt step gave \(logits.count) logits for \(vocabulary)")
                    trace("prompt step: \(vocabulary) logits")
                    if let logits = try? model.forward([second], cache: cache, logits: .last) {
                        precondition(logits.count == vocabulary, "decode step gave \(logits.count) logits for \(vocabulary)")
                    }
                }
            }
        }
    }
    if let tower = architecture.vision, let encoder = try? ModelRegistry.loadVisionEncoder(path, context: context) {
        let side = tower.imageSize
        let (pixels, overflow) = (side * side).multipliedReportingOverflow(by: tower.channels)
        if !overflow, pixels <= 1 << 20 {
            if let encoding = try? encoder.encode(pixels: values(pixels, seed: 7), batch: 1, height: side, width: side) {
                precondition(encoding.batch == 1 && encoding.hiddenSize == tower.hiddenSize, "encoding of the wrong shape")
                trace("vision: \(encoding.tokens) tokens of \(encoding.hiddenSize)")
            }
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard !seeds.isEmpty else { fatalError("no seeds: set WEIGHTKIT_FIXTURES to the Fixtures directory") }
    var reader = ByteReader(bytes: UnsafeRawBufferPointer(start: data, count: size))
    let seed = seeds[reader.next() % seeds.count]
    let flags = reader.next()
    let editCount = min(reader.next() % 8, reader.remaining / 3)
    removeWorkFiles()
    defer { removeWorkFiles() }

    switch seed.source {
    case .json(let base, let fileName):
        var object = base
        for _ in 0..<editCount {
            let path = seed.keys[reader.next() % seed.keys.count].split(separator: ".")
            let value = hostileJSON(&reader, current: getPath(object, path))
            setPath(&object, path[...], value)
        }
        let configPath = workDirectory + "/" + fileName
        let weightsName = fileName == "params.json" || seed.name.hasPrefix("meta_mtp") ? "consolidated.safetensors" : "model.safetensors"
        let text = JSONWriter.string(.object(object))
        guard (try? writeFile(text, to: configPath)) != nil else { return 0 }
        // Tensors: the edited description's when it validates and is small, the seed's otherwise.
        let edited = try? ModelFamilies.architecture(huggingFace: .object(object), file: configPath)
        let original = try? ModelFamilies.architecture(huggingFace: .object(base), file: configPath)
        var tensors = (flags & 1 == 0 ? edited.flatMap { schemaTensors($0, gguf: false) } : nil)
            ?? original.flatMap { schemaTensors($0, gguf: false) } ?? []
        if flags & 2 != 0 { perturb(&tensors, &reader) }
        guard (try? writeSafeTensors(tensors, to: workDirectory + "/" + weightsName)) != nil else { return 0 }
        exercise(workDirectory, &reader)

    case .gguf(let base):
        var metadata = GGUFMetadataList(copying: base.metadata)
        for _ in 0..<editCount {
            let key = seed.keys[reader.next() % seed.keys.count]
            metadata[key] = hostileGGUF(&reader, current: metadata[key])
        }
        let path = workDirectory + "/model.gguf"
        let baseTensors = base.tensorInfos.map { (name: $0.name, shape: $0.shape) }
        let index = GGUFTensorIndex(shapes: Dictionary(base.tensorInfos.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a }))
        var tensors = baseTensors
        if flags & 1 == 0, let file = try? GGUFFile.reading(metadata, path: path),
           let edited = try? ModelFamilies.architecture(gguf: file, tensors: index),
           let schema = schemaTensors(edited, gguf: true) {
            tensors = schema
        }
        if flags & 2 != 0 { perturb(&tensors, &reader) }
        guard (try? writeGGUF(metadata, tensors, to: path)) != nil else { return 0 }
        exercise(path, &reader)
    }
    return 0
}
