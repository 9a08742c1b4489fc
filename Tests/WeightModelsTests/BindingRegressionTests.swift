import Testing
import WeightArchitecture
import WeightCompute
import WeightFormats
@testable import WeightModels
#if canImport(Glibc)
import Glibc
#endif

/// Wrong answers the hardening pass fixed, each kept fixed.
@Suite struct BindingRegressionTests {
    /// A fresh directory under /tmp for one test's files.
    static func directory(_ name: String = #function) throws -> String {
        var template = Array("/tmp/weightkit-\(name.filter { $0.isLetter })-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw ModelError.invalidArgument("mkdtemp failed")
        }
        return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    static func copy(_ source: String, to destination: String) throws {
        let bytes = try FileSystem.readFile(source)
        let output = try OutputFile(destination: destination)
        try bytes.withUnsafeBytes { try output.write($0) }
        try output.commit()
    }

    @Test("a Meta MTP directory with value_head.safetensors beside consolidated.* loads only the checkpoint's files")
    func metaMTPWithValueHead() throws {
        let directory = try Self.directory()
        for file in ["consolidated.safetensors", "params.json"] {
            try Self.copy(Fixture.path("mtp/mtp-4heads/\(file)"), to: PathName.join(directory, file))
        }
        try Self.copy(Fixture.path("mtp/mtp-4heads.value_head.safetensors"), to: PathName.join(directory, "value_head.safetensors"))
        let checkpoint = try Checkpoint.open(directory)
        let original = try Checkpoint.open(Fixture.path("mtp/mtp-4heads"))
        #expect(checkpoint.tensors.map(\.name).sorted() == original.tensors.map(\.name).sorted())
        let model = try #require(try ModelRegistry.load(directory) as? MetaMTPModel)
        let prompt = [1, 2, 3]
        let reference = try #require(try ModelRegistry.load(Fixture.path("mtp/mtp-4heads")) as? MetaMTPModel)
        #expect(try model.logits(for: prompt) == reference.logits(for: prompt))
    }

    @Test("a shape mismatch lists the mis-shaped tensors, and no legitimate tensor as unexpected")
    func mismatchListsOnlyRealProblems() throws {
        let checkpoint = try Checkpoint.open(Fixture.path("models/qwen3-tiny"))
        var architecture = try ArchitectureLoader.load(Fixture.path("models/qwen3-tiny"))
        architecture.text?.feedForwardLength += 8
        do {
            _ = try ModelRegistry.load(checkpoint: checkpoint, architecture: architecture)
            Issue.record("binding should fail")
        } catch let error as ModelError {
            guard case .binding(_, let missing, let unexpected, let misshaped) = error else { Issue.record("\(error)"); return }
            #expect(missing.isEmpty)
            #expect(unexpected.isEmpty, "unexpected: \(unexpected)")
            #expect(misshaped.contains { $0.hasPrefix("model.layers.0.mlp.up_proj.weight") })
            #expect(misshaped.contains { $0.hasPrefix("model.layers.1.mlp.down_proj.weight") })
            #expect(!misshaped.contains { $0.contains("q_norm") || $0.contains("self_attn") })
        }
    }
}

/// Layers whose KV head counts differ: scratch and caches are sized for the widest layer.
@Suite struct PerLayerShapeTests {
    @Test("head_count_kv = [1, 4] with the one head repeated gives the original model's logits")
    func perLayerKVHeads() throws {
        let widened = try ModelRegistry.load(Fixture.path("hostile/per-layer-kv-heads.gguf"))
        let original = try ModelRegistry.load(Fixture.path("models/qwen3-tiny-gguf/qwen3-tiny-f32.gguf"))
        let prompt = [5, 17, 3, 250, 11, 42, 7]
        let expected = try original.logits(for: prompt)
        let ours = try widened.logits(for: prompt)
        #expect(ours.count == expected.count)
        #expect(relativeL2(ours, expected) <= 1e-6)
        // Decode too: one token at a time through the cache.
        let cache = try widened.makeCache(capacity: prompt.count)
        var last: [Float] = []
        for token in prompt { last = try widened.forward([token], cache: cache, logits: .last) }
        #expect(relativeL2(last, Array(expected.suffix(widened.vocabularySize))) <= 1e-5)
    }
}

/// The heap overflows of the hardening issue, reached past the validation pass: the builders
/// refuse what would write past their buffers even for a description nobody validated. Before
/// the fix these built a model whose first forward step wrote past the query and key buffers
/// (AddressSanitizer: heap-buffer-overflow in `RotaryTable.apply`); a model that builds anyway
/// is run, so that `make test-asan` reports such an overflow.
@Suite struct UnvalidatedDescriptionTests {
    static func refusedOrRuns(_ architecture: ModelArchitecture) throws -> Bool {
        let checkpoint = try Checkpoint.open(Fixture.path("models/qwen3-tiny"))
        do {
            let model = try Qwen3.languageModel(checkpoint: checkpoint, architecture: architecture, context: ComputeContext(threads: 1))
            _ = try model.logits(for: [1, 2, 3])
            return false
        } catch is ModelError {
            return true
        }
    }

    @Test("rotary dimensions beyond the head size (rope.dimension_count 64 on heads of 16) are refused by the builder")
    func rotaryBeyondHead() throws {
        var architecture = try ArchitectureLoader.load(Fixture.path("models/qwen3-tiny"))
        let text = try #require(architecture.text)
        guard case .rotary(var rotary) = text.positions else { Issue.record("qwen3-tiny has no rotary positions"); return }
        rotary.dimensions = text.keyLength * 4
        architecture.text?.positions = .rotary(rotary)
        #expect(try Self.refusedOrRuns(architecture))
    }

    @Test("partial_rotary_factor 2.0 (twice the head's dimensions) is refused by the builder")
    func partialRotaryTwo() throws {
        var architecture = try ArchitectureLoader.load(Fixture.path("models/qwen3-tiny"))
        let text = try #require(architecture.text)
        guard case .rotary(var rotary) = text.positions else { Issue.record("qwen3-tiny has no rotary positions"); return }
        rotary.dimensions = text.keyLength * 2
        architecture.text?.positions = .rotary(rotary)
        #expect(try Self.refusedOrRuns(architecture))
    }
}
