import Testing
import WeightConversion
import WeightFormats

/// The per-tensor types of every llama-quantize mix, against the files llama-quantize wrote for
/// tiny models (Fixtures/generators/quant_mixes.py): type, order, and whether an importance
/// matrix was required.
@Suite struct QuantizationPlanTests {
    struct Case: Sendable, CustomStringConvertible {
        let model: String, label: String
        var description: String { "\(model) \(label)" }
    }

    static let summary: JSONValue? = try? Fixture.json("core/quant_mixes/mixes.json")

    static let cases: [Case] = {
        guard let models = summary?["models"]?.objectValue else { return [] }
        return models.keys.sorted().flatMap { model in
            (models[model]?["mixes"]?.objectValue?.keys.sorted() ?? []).map { Case(model: model, label: $0) }
        }
    }()

    static func source(_ model: String) throws -> Checkpoint {
        let name = try #require(summary?["models"]?[model]?["source"]?.stringValue)
        return try Checkpoint.open(Fixture.path("core/quant_mixes/\(name)"))
    }

    static func inputs(_ checkpoint: Checkpoint) throws -> ([QuantizationInput], QuantizationModelParameters) {
        let gguf = try #require(checkpoint.gguf)
        let tensors = gguf.tensorInfos.map { QuantizationInput(name: $0.name, shape: $0.shape, type: $0.type) }
        return (tensors, try QuantizationModelParameters(metadata: gguf.metadata))
    }

    @Test func everyMixIsRecorded() throws {
        #expect(Self.summary != nil, "fixture missing")
        let labels = Set(Self.cases.map(\.label))
        for option in QuantizationTarget.options {
            #expect(labels.contains(option.name), "\(option.name) missing")
            #expect(labels.contains(option.name + "+imatrix"), "\(option.name)+imatrix missing")
        }
        #expect(Set(Self.cases.map(\.model)).count == 3)
    }

    @Test("types and order as llama-quantize's", arguments: cases)
    func typesMatch(_ testCase: Case) throws {
        let entry = try #require(Self.summary?["models"]?[testCase.model]?["mixes"]?[testCase.label])
        let (tensors, model) = try Self.inputs(try Self.source(testCase.model))
        let withImportance = testCase.label.hasSuffix("+imatrix")
        let mixName = withImportance ? String(testCase.label.dropLast("+imatrix".count)) : testCase.label
        let target = try #require(QuantizationTarget.parse(mixName)?.target)
        var options = QuantizationOptions()
        options.hasImportance = withImportance
        let status = try #require(entry["status"]?.intValue)
        let errorText = (entry["error"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: " ")
        if status != 0 && errorText.contains("no tensor type fallback") {
            #expect(throws: QuantizationPlanError.self) {
                try QuantizationPlanner.plan(tensors, model: model, target: target, options: options)
            }
            return
        }
        let plan = try QuantizationPlanner.plan(tensors, model: model, target: target, options: options)
        if status != 0 {
            // The other refusal: an imatrix is required and none was given.
            #expect(errorText.contains("requires an imatrix"), "\(errorText)")
            #expect(!withImportance && plan.requiresImportance)
            return
        }
        let order = try #require(Self.summary?["models"]?[testCase.model]?["order"]?.arrayValue).compactMap(\.stringValue)
        let recorded = try #require(entry["tensors"]?.arrayValue).compactMap { $0.stringValue?.split(separator: ":").first.map(String.init) }
        #expect(plan.tensors.map(\.name) == order, "visit order")
        try #require(recorded.count == plan.tensors.count)
        for (decision, reference) in zip(plan.tensors, recorded) {
            #expect(decision.to.name == reference, "\(decision.name): \(decision.to.name), llama-quantize \(reference)")
        }
        if case .mix(let mix) = target {
            #expect(Int(plan.fileType) == entry["metadata"]?["general.file_type"]?["value"]?.intValue)
            #expect(plan.fileType == mix.fileType)
        }
        if !withImportance { #expect(!plan.requiresImportance) }
    }

    @Test func typeNamesParseAsLlamaQuantize() {
        #expect(QuantizationTarget.parse("q4_k")?.target == .mix(.q4_K_M))
        #expect(QuantizationTarget.parse("Q4_K")?.name == "Q4_K")
        #expect(QuantizationTarget.parse("15")?.target == .mix(.q4_K_M))
        #expect(QuantizationTarget.parse("12")?.name == "Q3_K")
        #expect(QuantizationTarget.parse("0")?.name == "F32")
        #expect(QuantizationTarget.parse("copy")?.target == .copy)
        #expect(QuantizationTarget.parse("Q4_X") == nil)
        #expect(QuantizationTarget.parse("39") == nil)   // NVFP4 is not a QUANT_OPTIONS name
        #expect(QuantizationTarget.nearestName(to: "iq4_xz") == "IQ4_XS")
    }

    @Test func overridesAndPatterns() throws {
        let (tensors, model) = try Self.inputs(try Self.source("llama-gqa"))
        var options = QuantizationOptions()
        options.tensorTypes = [try TensorTypeOverride(pattern: "ATTN_(Q|K)", type: .q8_0), try TensorTypeOverride(pattern: "attn", type: .q4_0)]
        options.pure = true
        let plan = try QuantizationPlanner.plan(tensors, model: model, target: .mix(.q4_K_M), options: options)
        let types = Dictionary(uniqueKeysWithValues: plan.tensors.map { ($0.name, $0.to) })
        #expect(types["blk.0.attn_q.weight"] == .q8_0)   // first match in order wins
        #expect(types["blk.0.attn_v.weight"] == .q4_0)
        #expect(types["blk.0.ffn_up.weight"] == .q4_K)    // --pure: the default type
        #expect(types["blk.0.attn_norm.weight"] == .f32)
        #expect(throws: QuantizationPlanError.self) { try TensorTypeOverride(pattern: "attn_(q", type: .q8_0) }
    }
}
