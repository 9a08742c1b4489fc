import WeightArchitecture
import WeightFormats

/// What a budget is asked for: the options of `weightkit budget`.
public struct BudgetRequest: Sendable {
    /// Context lengths; nil for 4096 and the model's trained context.
    public var contexts: [Int]?
    public var cacheTypeK: GGMLType = .f16
    public var cacheTypeV: GGMLType = .f16
    /// Sequences, each with the full context.
    public var parallel = 1
    public var loraRank: Int?
    public var loraTargets: [LinearRole] = [.q, .k, .v, .o]
    public var images = 0
    public var frames = 0
    /// Memory to fit into, in bytes.
    public var memory: Int?
    /// Memory bandwidth in GB/s (10^9 bytes per second).
    public var bandwidth: Double?
    /// The weight bytes `memory` is checked with, when they are not the checkpoint's own (the
    /// file a quantisation mix would write); nil for the checkpoint's.
    public var weightBytes: Int?
    /// The tensors of that file, when they are not the checkpoint's own: the bytes a decoded
    /// token reads (`bytesReadPerToken`, the decode ceiling) are counted from them.
    public var weightTensors: [StoredTensor]?

    /// The context reported next to the trained one when none is requested.
    public static let defaultContext = 4096

    /// The largest values a request may hold: a context as long as any description may have,
    /// and counts far beyond any real use, so that budget arithmetic stays within 64 bits.
    public static let maxParallel = 1 << 16
    public static let maxLoRARank = 1 << 20
    public static let maxImages = 1 << 20

    /// Throws for a request value beyond its limit.
    static func checkLimits(_ request: BudgetRequest) throws {
        for context in request.contexts ?? [] where context > ArchitectureLimits.maxContextLength {
            throw BudgetError.tooLarge(argument: .contexts, value: context, limit: ArchitectureLimits.maxContextLength)
        }
        if request.parallel > maxParallel { throw BudgetError.tooLarge(argument: .parallel, value: request.parallel, limit: maxParallel) }
        if let rank = request.loraRank, rank > maxLoRARank { throw BudgetError.tooLarge(argument: .loraRank, value: rank, limit: maxLoRARank) }
        if request.images > maxImages { throw BudgetError.tooLarge(argument: .images, value: request.images, limit: maxImages) }
        if request.frames > maxImages { throw BudgetError.tooLarge(argument: .frames, value: request.frames, limit: maxImages) }
    }

    public init() {}

    /// Parses a list of context lengths, "4096,32768".
    public static func parseContexts(_ text: String) throws -> [Int] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
        let contexts = try parts.map { part -> Int in
            guard let value = Int(part), value > 0 else { throw BudgetError.invalidContext(part) }
            return value
        }
        guard !contexts.isEmpty else { throw BudgetError.invalidContext(text) }
        return contexts
    }
}

/// Whether the model fits a memory size, and the longest context that does.
public struct MemoryFit: Sendable, Equatable {
    public var memory: Int
    /// Weights plus the KV cache at the longest requested context.
    public var required: Int
    public var fits: Bool
    /// The longest context (per sequence) whose weights plus KV cache fit; 0 when the weights
    /// alone do not.
    public var maxContext: Int
}

/// Everything `weightkit budget` reports about one model.
public struct ModelBudget: Sendable {
    public var architecture: ModelArchitecture
    /// The weight tensors (from the checkpoint when present, else from the description).
    public var groups: [WeightGroup]
    public var parameters: ParameterBreakdown
    public var weights: WeightMemory
    public var contexts: [Int]
    /// Nil for models without a causal language model (encoders, vision towers).
    public var kvCache: KVCacheBudget?
    public var flops: FlopsBudget?
    public var lora: LoRABudget?
    public var vision: VisionBudget?
    public var fit: MemoryFit?
    /// Tokens per second a decoder cannot exceed when every token reads its active weights and
    /// the KV cache at the first context once from memory.
    public var decodeCeiling: Double?
    /// Bytes one decoded token reads (active weights plus the KV cache at the first context).
    public var bytesReadPerToken: Int?

    /// Budgets the model at `path`: a GGUF or safetensors file, a model directory, or a bare
    /// `config.json` / `params.json`.
    public static func load(_ path: String, request: BudgetRequest) throws -> ModelBudget {
        let architecture = try ArchitectureLoader.load(path)
        let tensors = try checkpointTensors(path)
        return try ModelBudget(architecture: architecture, tensors: tensors, request: request)
    }

    /// The tensors at `path`, or nil when it names only a configuration.
    public static func checkpointTensors(_ path: String) throws -> [TensorView]? {
        if FileSystem.isRegularFile(path) {
            return PathName.fileExtension(of: path) == "json" && !path.hasSuffix(".index.json") ? nil : try Checkpoint.open(path).tensors
        }
        guard FileSystem.isDirectory(path) else { return nil }
        let names = try FileSystem.contentsOfDirectory(path)
        guard names.contains(where: { $0.hasSuffix(".safetensors") || $0.hasSuffix(".gguf") }) else { return nil }
        return try Checkpoint.open(path).tensors
    }

    /// - Parameters:
    ///   - architecture: the model's description.
    ///   - tensors: its checkpoint's tensors, or nil to count from the description.
    public init(architecture: ModelArchitecture, tensors: [TensorView]?, request: BudgetRequest) throws {
        self.architecture = architecture
        let fromTensors = !(tensors ?? []).isEmpty
        groups = fromTensors ? TensorClassifier.groups(of: tensors!, architecture: architecture) : try AnalyticLayout.groups(of: architecture)
        parameters = ParameterBreakdown(groups: groups, fromTensors: fromTensors)
        weights = WeightMemory(groups: groups, defaultDType: ModelBudget.storageType(architecture.storageDType))
        guard request.parallel > 0 else { throw BudgetError.notPositive(argument: .parallel, value: String(request.parallel)) }
        try BudgetRequest.checkLimits(request)

        let text = architecture.text
        let trained = text?.contextLength ?? 0
        if let requested = request.contexts {
            contexts = requested
        } else {
            contexts = trained > 0 && trained != BudgetRequest.defaultContext
                ? [BudgetRequest.defaultContext, trained].sorted() : [BudgetRequest.defaultContext]
        }
        guard contexts.allSatisfy({ $0 > 0 }) else { throw BudgetError.invalidContext(contexts.map(String.init).joined(separator: ",")) }

        let decoder = text.flatMap { $0.causal && $0.hasOutputHead ? $0 : nil }
        if let decoder {
            let llamaCppWindows = (try? ModelFamilies.family(of: architecture))?.llamaCppHonoursSlidingWindow ?? true
            kvCache = try KVCacheBudget(text: decoder, typeK: request.cacheTypeK, typeV: request.cacheTypeV, contexts: contexts,
                                        parallel: request.parallel, llamaCppWindows: llamaCppWindows)
            flops = try FlopsBudget(text: decoder, groups: groups, contexts: contexts)
        }
        if let rank = request.loraRank {
            guard let text else {
                throw BudgetError.notApplicable(argument: .loraRank, modelType: architecture.modelType, reason: "LoRA adapts a language model's layers")
            }
            lora = try LoRABudget(text: text, modelType: architecture.modelType, groups: groups, rank: rank, targets: request.loraTargets)
        }
        guard request.images >= 0, request.frames >= 0 else {
            throw BudgetError.notPositive(argument: request.images < 0 ? .images : .frames, value: String(min(request.images, request.frames)))
        }
        if request.images > 0 || request.frames > 0 {
            guard let tower = architecture.vision else {
                throw BudgetError.notApplicable(argument: request.images > 0 ? .images : .frames, modelType: architecture.modelType, reason: "it has no vision tower")
            }
            vision = try VisionBudget(vision: tower, projector: architecture.projector, images: request.images, frames: request.frames,
                                  kvBytesPerToken: architecture.projector == nil ? 0 : kvCache?.bytesPerToken ?? 0)
        }
        if let memory = request.memory {
            fit = try ModelBudget.fit(memory: memory, weights: request.weightBytes ?? weights.bytes, decoder: decoder, request: request, contexts: contexts)
        }
        if let decoder, let kvCache {
            let bytes = try Checked.add(
                ModelBudget.activeWeightBytes(groups: request.weightTensors.map { TensorClassifier.groups(of: $0, architecture: architecture) } ?? groups,
                                              text: decoder, defaultDType: ModelBudget.storageType(architecture.storageDType)),
                kvCache.contexts.first?.bytes ?? 0, what: "the bytes read per token")
            bytesReadPerToken = bytes
            if let bandwidth = request.bandwidth {
                guard bandwidth > 0, bandwidth.isFinite else { throw BudgetError.notPositive(argument: .bandwidth, value: String(bandwidth)) }
                decodeCeiling = bandwidth * 1e9 / Double(bytes)
            }
        }
    }

    /// The ggml type of a configuration's `dtype` / `torch_dtype` (F32, PyTorch's default, when absent).
    public static func storageType(_ dtype: String?) -> GGMLType {
        switch dtype?.lowercased() {
        case "bfloat16", "bf16": .bf16
        case "float16", "fp16", "half", "f16": .f16
        case "float64", "double": .f64
        default: .f32
        }
    }

    /// Bytes a decoded token reads: the decoder's matrices (routed experts in proportion to
    /// those used), its vectors, and the output head; one row of the embedding table is negligible.
    static func activeWeightBytes(groups: [WeightGroup], text: TextStack, defaultDType: GGMLType) -> Int {
        let skipped: Set<BudgetComponent> = [.visionTower, .projector, .contrastiveHeads]
        var total = 0
        for group in groups where !skipped.contains(group.component) {
            var bytes = group.storedBytes ?? WeightMemory.bytes(of: group, in: defaultDType, vectorsAsF32: false)
            if group.component == .embedding {
                guard text.tiedEmbeddings, group.shape.first == text.vocabularySize else { continue }
            }
            if let routing = group.routing, routing.count > 0 { bytes = bytes / routing.count * routing.used }
            total += bytes
        }
        return total
    }

    static func fit(memory: Int, weights: Int, decoder: TextStack?, request: BudgetRequest, contexts: [Int]) throws -> MemoryFit {
        guard let decoder else {
            return MemoryFit(memory: memory, required: weights, fits: weights <= memory, maxContext: 0)
        }
        func cache(_ context: Int) throws -> Int {
            try KVCacheBudget.bytes(text: decoder, typeK: request.cacheTypeK, typeV: request.cacheTypeV, context: context, parallel: request.parallel)
        }
        // What a context needs in all; a size beyond 64 bits does not fit any memory.
        func total(_ context: Int) throws -> Int {
            do {
                return try Checked.add(weights, try cache(context), what: "the memory needed")
            } catch BudgetError.overflow {
                return Int.max
            }
        }
        let required = try Checked.add(weights, try cache(contexts.max() ?? 1), what: "the memory needed")
        var maxContext = 0
        if try total(1) <= memory {
            // The cache grows monotonically with the context: bisect for the last one that fits.
            var low = 1, high = 1 << 40
            if try total(high) <= memory {
                low = high
            } else {
                while high - low > 1 {
                    let middle = low + (high - low) / 2
                    if try total(middle) <= memory { low = middle } else { high = middle }
                }
            }
            maxContext = low
        }
        return MemoryFit(memory: memory, required: required, fits: required <= memory, maxContext: maxContext)
    }
}
