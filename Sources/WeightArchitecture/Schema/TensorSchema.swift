/// The tensors of one model: for each, what it is (`TensorRole`), its Hugging Face and GGUF
/// names, its shape, the budget component it counts under, and how llama.cpp's converter
/// changes it on the way to GGUF. A family's descriptor builds it from the description; the
/// weight binder, both conversion directions and the budget read it, so there is one name map
/// per family.
public struct TensorSchema: Sendable {
    public private(set) var tensors: [TensorSpec] = []
    private var roleIndex: [TensorRole: Int] = [:]
    private var huggingFaceIndex: [String: (spec: Int, expert: Int?)] = [:]
    private var ggufIndex: [String: Int] = [:]
    /// Checkpoint tensors that are buffers rather than weights (`rotary_emb.inv_freq`): binding
    /// ignores them and conversion skips them.
    public var buffers: @Sendable (String) -> Bool = { _ in false }

    public init() {}

    public mutating func add(_ spec: TensorSpec) {
        let index = tensors.count
        tensors.append(spec)
        roleIndex[spec.role] = index
        switch spec.huggingFace {
        case .tensor(let name): huggingFaceIndex[name] = (index, nil)
        case .experts(let layout):
            for (expert, name) in layout.perExpert.enumerated() { huggingFaceIndex[name] = (index, expert) }
            if let packed = layout.packed, huggingFaceIndex[packed.name] == nil { huggingFaceIndex[packed.name] = (index, nil) }
        case .none: break
        }
        if let gguf = spec.gguf { ggufIndex[gguf] = index }
    }

    /// The tensor with `role`, if the model has one.
    public subscript(role: TensorRole) -> TensorSpec? {
        roleIndex[role].map { tensors[$0] }
    }

    /// The tensor a Hugging Face name belongs to, and the expert it holds for per-expert names.
    public func spec(huggingFace name: String) -> (spec: TensorSpec, expert: Int?)? {
        huggingFaceIndex[name].map { (tensors[$0.spec], $0.expert) }
    }

    /// The tensor a GGUF name belongs to.
    public func spec(gguf name: String) -> TensorSpec? {
        ggufIndex[name].map { tensors[$0] }
    }
}

/// One tensor of a schema.
public struct TensorSpec: Sendable, Equatable {
    public var role: TensorRole
    public var huggingFace: HuggingFaceName
    /// llama.cpp's name; nil when GGUF has no place for it (BERT's pooler).
    public var gguf: String?
    /// Row-major shape as transformers stores it (GGUF's `ne` reversed).
    public var shape: [Int]
    /// The shape in GGUF when llama.cpp's converter changes it; nil when equal.
    public var ggufShape: [Int]?
    public var component: ParameterComponent
    /// How llama.cpp's converter changes the values on the way to GGUF.
    public var toGGUF: TensorTransform
    public var presence: Presence
    /// Routed experts this tensor stacks (`[experts, rows, columns]`), and how many a token uses.
    public var routing: (used: Int, count: Int)? {
        get { routingUsed.map { ($0, routingCount) } }
        set { routingUsed = newValue?.used; routingCount = newValue?.count ?? 0 }
    }
    private var routingUsed: Int?
    private var routingCount = 0

    public init(role: TensorRole, huggingFace: HuggingFaceName, gguf: String?, shape: [Int], ggufShape: [Int]? = nil,
                component: ParameterComponent, toGGUF: TensorTransform = .none, presence: Presence = .required) {
        self.role = role
        self.huggingFace = huggingFace
        self.gguf = gguf
        self.shape = shape
        self.ggufShape = ggufShape
        self.component = component
        self.toGGUF = toGGUF
        self.presence = presence
    }

    /// Whether a checkpoint may lack the tensor.
    public var optional: Bool { presence != .required }
    /// Whether the tensor is a parameter of its own (counted by a budget): not an alias of another
    /// tensor, not a computed table.
    public var isParameter: Bool { presence == .required || presence == .optional }

    /// The shape the tensor has in a checkpoint of `format`.
    public func shape(gguf: Bool) -> [Int] { gguf ? ggufShape ?? shape : shape }

    /// The Hugging Face name of a single tensor (nil for stacked experts and generated ones).
    public var huggingFaceName: String? {
        if case .tensor(let name) = huggingFace { return name }
        return nil
    }

    public static func == (a: TensorSpec, b: TensorSpec) -> Bool {
        a.role == b.role && a.huggingFace == b.huggingFace && a.gguf == b.gguf && a.shape == b.shape
            && a.ggufShape == b.ggufShape && a.component == b.component && a.toGGUF == b.toGGUF && a.presence == b.presence
            && a.routingUsed == b.routingUsed && a.routingCount == b.routingCount
    }
}

/// Whether a checkpoint must hold a tensor.
public enum Presence: Sendable, Equatable {
    case required
    /// A parameter some checkpoints leave out (BERT's pooler in a sentence-transformers export).
    case optional
    /// The output head of a tied model: the token embedding stands in when it is absent, and a
    /// checkpoint that carries one anyway is bound to it.
    case tiedAlias
    /// A table llama.cpp's converter computes (`rope_freqs`), present in some GGUF files.
    case generated
}

/// Where a tensor lives in a Hugging Face checkpoint.
public enum HuggingFaceName: Sendable, Equatable {
    case tensor(String)
    /// Routed experts, stacked in GGUF (`ffn_gate_exps`, `[E, rows, columns]`).
    case experts(ExpertLayout)
    /// Not stored by transformers (llama.cpp's converter computes it: `rope_freqs`).
    case none
}

/// How transformers stores one projection of a block's routed experts: 4.x one tensor per
/// expert (`mlp.experts.3.gate_proj.weight`, `[rows, columns]`), 5.x one packed tensor
/// (`mlp.experts.gate_up_proj` `[E, 2 x rows, columns]`, gate rows first per expert, or
/// `mlp.experts.down_proj` `[E, rows, columns]`).
public struct ExpertLayout: Sendable, Equatable {
    public var perExpert: [String]
    public var packed: PackedExperts?

    public init(perExpert: [String], packed: PackedExperts? = nil) {
        self.perExpert = perExpert
        self.packed = packed
    }
}

/// A 5.x packed expert tensor, whole or one half of each expert's rows.
public struct PackedExperts: Sendable, Equatable {
    public enum Part: Sendable, Equatable {
        case whole
        /// The first (gate) or second (up) half of each expert's rows.
        case firstHalf, secondHalf
    }
    public var name: String
    public var part: Part

    public init(name: String, part: Part) {
        self.name = name
        self.part = part
    }
}

/// What llama.cpp's converter does to a tensor's values on the way to GGUF.
public enum TensorTransform: Sendable, Equatable {
    case none
    /// Llama's q and k rows reordered per head so that llama.cpp's adjacent-pair rotary kernel
    /// sees what rotate-half sees (`LlamaModel.permute`): within each of `heads` heads, row
    /// `2i` comes from row `i` and row `2i + 1` from row `i + d/2`.
    case rotaryRowPermutation(heads: Int)
    /// Gemma's norm weights: GGUF holds `1 + w`.
    case unitOffset
    /// Only the first rows are kept (Gemma 3's token embeddings cut to the tokenizer's size).
    case firstRows(Int)
}

/// The budget components a parameter counts under.
public enum ParameterComponent: String, CaseIterable, Sendable, Hashable {
    case embedding, attention, mlp, experts, router, norms
    case outputHead = "output_head"
    case mtpHeads = "mtp_heads"
    case visionTower = "vision_tower"
    case projector
    case contrastiveHeads = "contrastive_heads"
    case other
}

/// What a tensor is, independent of how any file names it.
public struct TensorRole: Hashable, Sendable, CustomStringConvertible {
    /// Which tower of a composite model (LLaVA, CLIP) it belongs to.
    public var tower: Tower
    /// The block it belongs to; nil for tensors outside the blocks.
    public var layer: Int?
    public var part: Part
    public var parameter: Parameter

    public init(tower: Tower = .text, layer: Int? = nil, _ part: Part, _ parameter: Parameter = .weight) {
        self.tower = tower
        self.layer = layer
        self.part = part
        self.parameter = parameter
    }

    public enum Tower: String, Sendable { case text, vision, projector }

    public enum Parameter: String, Sendable { case weight, bias }

    public enum Part: String, Sendable {
        // Outside the blocks.
        case tokenEmbedding, positionEmbedding, tokenTypeEmbedding, embeddingNorm, finalNorm, outputHead
        case ropeFrequencies, pooler
        /// Phi-3's longrope factors, which llama.cpp's converter writes as tensors.
        case ropeFactorsLong, ropeFactorsShort
        // Attention.
        case attentionNorm, query, key, value, qkv, attentionOutput, queryNorm, keyNorm, postAttentionNorm
        // Feed-forward.
        case feedForwardNorm, postFeedForwardNorm, gate, up, gateUp, down
        case router, expertGate, expertUp, expertDown
        // Vision towers, projectors and contrastive heads.
        case patchEmbedding, classEmbedding, preNorm, postNorm
        case headProbe, headAttentionInput, headAttentionOutput, headNorm, headUp, headDown
        case projectorInput, projectorOutput, projectorNorm, imageNewline
        case visualProjection, textProjection, logitScale, logitBias
    }

    public static func layer(_ index: Int, _ part: Part, _ parameter: Parameter = .weight, tower: Tower = .text) -> TensorRole {
        TensorRole(tower: tower, layer: index, part, parameter)
    }

    public var description: String {
        (tower == .text ? "" : tower.rawValue + " ") + (layer.map { "layer \($0) " } ?? "") + part.rawValue + (parameter == .bias ? " bias" : "")
    }
}
