import WeightArchitecture
import WeightFormats

/// The types llama.cpp can hold a KV cache in (`cacheTypeK`, `cacheTypeV`).
public enum KVCacheType {
    public static let supported: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .iq4_NL]

    /// Looks a cache type up by name ("f16", "q8_0", "iq4_nl").
    /// - Parameter argument: the argument it came from, for the error.
    public static func named(_ name: String, argument: APIArgument) throws -> GGMLType {
        guard let type = GGMLType(name: name), supported.contains(type) else {
            throw BudgetError.unsupportedCacheType(argument: argument, name: name, supported: supported.map { $0.name.lowercased() })
        }
        return type
    }
}

/// The KV cache of a decoder: keys and values of every layer for every cached token.
public struct KVCacheBudget: Sendable, Equatable {
    public struct Context: Sendable, Equatable {
        public var context: Int
        /// Exact bytes for `parallel` sequences of `context` tokens (sliding-window layers keep
        /// the window's last `window - 1` tokens, as transformers' cache does: the next token
        /// makes the window full).
        public var bytes: Int
        /// What llama.cpp allocates for `parallel` sequences of `context` tokens in one unified
        /// cache (`n_ctx = context × parallel`, `n_seq = parallel`): `pad(n_ctx, 256)` cells on
        /// every layer, except that the window layers of a family llama.cpp runs with
        /// interleaved sliding windows (Gemma) get `pad(min(n_ctx, window × n_seq + n_ubatch), 256)`;
        /// families whose window llama.cpp does not apply (Mistral, Phi-3) get the full size.
        public var llamaCppBytes: Int
    }

    public var typeK: GGMLType
    public var typeV: GGMLType
    public var parallel: Int
    /// Bytes one token adds to the cache over all layers.
    public var bytesPerToken: Int
    public var contexts: [Context]

    /// llama.cpp's physical batch (`n_ubatch`), which sizes its sliding-window caches.
    public static let llamaCppMicroBatch = 512
    /// llama.cpp pads a cache's cells to a multiple of this.
    public static let llamaCppPadding = 256

    /// - Parameters:
    ///   - text: the decoder stack.
    ///   - contexts: context lengths (tokens per sequence).
    ///   - parallel: sequences, each with the full context.
    ///   - llamaCppWindows: whether llama.cpp attends through the sliding windows (the family's
    ///     `llamaCppHonoursSlidingWindow`); when not, its cache holds the full context on every layer.
    public init(text: TextStack, typeK: GGMLType, typeV: GGMLType, contexts: [Int], parallel: Int, llamaCppWindows: Bool = true) throws {
        self.typeK = typeK
        self.typeV = typeV
        self.parallel = parallel
        let rows = try KVCacheBudget.rowBytes(text, typeK: typeK, typeV: typeV)
        bytesPerToken = try rows.reduce(0) { try Checked.add($0, $1.bytes, what: "the KV cache's bytes per token") }
        self.contexts = try contexts.map { context in
            var exact = 0, llama = 0
            let what = "the KV cache at \(context) tokens"
            // llama.cpp rounds n_ctx up to a multiple of 256 (llama_context).
            let cells = KVCacheBudget.pad(try Checked.multiply(context, parallel, what: what), KVCacheBudget.llamaCppPadding)
            for row in rows {
                let kept = row.window.map { min(context, KVCacheBudget.retained(window: $0)) } ?? context
                exact = try Checked.add(exact, try Checked.multiply(row.bytes, kept, parallel, what: what), what: what)
                var allocated = cells
                if let window = row.window, llamaCppWindows {
                    // llama_kv_cache_iswa: the window of every sequence plus one micro-batch.
                    let windowCells = try Checked.add(try Checked.multiply(window, parallel, what: what), KVCacheBudget.llamaCppMicroBatch, what: what)
                    allocated = min(cells, KVCacheBudget.pad(windowCells, KVCacheBudget.llamaCppPadding))
                }
                llama = try Checked.add(llama, try Checked.multiply(row.bytes, allocated, what: what), what: what)
            }
            return Context(context: context, bytes: exact, llamaCppBytes: llama)
        }
    }

    /// Bytes per token of each layer's key and value rows, with the window of sliding layers.
    static func rowBytes(_ text: TextStack, typeK: GGMLType, typeV: GGMLType) throws -> [(bytes: Int, window: Int?)] {
        try (0..<text.layerCount).map { layer in
            let heads = text.kvHeads(layer: layer)
            let keyRow = heads * text.keyLength, valueRow = heads * text.valueLength
            for (type, row) in [(typeK, keyRow), (typeV, valueRow)] where row % type.blockSize != 0 {
                throw BudgetError.cacheRowNotBlockAligned(type: type.name.lowercased(), layer: layer, rowLength: row, blockSize: type.blockSize)
            }
            let bytes = keyRow / typeK.blockSize * typeK.bytesPerBlock + valueRow / typeV.blockSize * typeV.bytesPerBlock
            let window = text.span(layer: layer) == .sliding ? text.slidingWindow : nil
            return (bytes, window)
        }
    }

    /// Tokens a sliding-window layer keeps between steps.
    static func retained(window: Int) -> Int { max(window - 1, 1) }

    static func pad(_ value: Int, _ multiple: Int) -> Int {
        value > Int.max - multiple ? value : (value + multiple - 1) / multiple * multiple
    }

    /// Exact bytes at `context` tokens per sequence (any context, not only the listed ones).
    public static func bytes(text: TextStack, typeK: GGMLType, typeV: GGMLType, context: Int, parallel: Int) throws -> Int {
        let what = "the KV cache at \(context) tokens"
        let perSequence = try rowBytes(text, typeK: typeK, typeV: typeV).reduce(0) { total, row in
            try Checked.add(total, try Checked.multiply(row.bytes, min(context, row.window.map { retained(window: $0) } ?? context), what: what), what: what)
        }
        return try Checked.multiply(perSequence, parallel, what: what)
    }
}
