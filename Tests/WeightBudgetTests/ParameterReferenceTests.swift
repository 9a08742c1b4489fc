import Testing
import WeightArchitecture
import WeightBudget
import WeightFormats

/// Parameter counts against transformers' own (built on the meta device by the fixture script)
/// and against the independent PyTorch modules of seeds 001 and 002.
@Suite struct ParameterReferenceTests {
    static let published = ["qwen3-8b", "qwen3-30b-a3b", "llama-2-7b", "qwen2.5-0.5b", "clip-vit-large-patch14-336",
                            "clip-vit-large-patch14-336-vision", "clip-vit-large-patch14-336-vision-projection", "siglip-so400m-patch14-384", "llava-next-video-7b", "bert-base-uncased",
                            "gemma-2-9b", "gemma-3-4b"]

    @Test("published configurations: total and components equal transformers' counts", arguments: published)
    func publishedConfiguration(name: String) throws {
        let reference = try #require(try Fixture.parameterReferences()["published"]?[name])
        let budget = try ModelBudget.load(Fixture.path("budget/configs/\(name)/config.json"), request: BudgetRequest())
        #expect(!budget.parameters.fromTensors)
        #expect(budget.parameters.total == reference["total"]?.intValue)
        let components = Dictionary(uniqueKeysWithValues: budget.parameters.byComponent.map { ($0.component.name, $0.count) })
        #expect(components == reference["by_component"]?.integerMembers)
    }

    static let tinyModels = ["llama-tiny", "qwen2-tiny", "qwen3-tiny", "qwen3moe-tiny", "qwen3moe-dense-tiny", "gemma2-tiny", "gemma3-tiny"]

    @Test("tiny fixtures: the configuration and the tensors both give transformers' count", arguments: tinyModels)
    func tinyModel(name: String) throws {
        let reference = try #require(try Fixture.parameterReferences()["tiny"]?[name])
        let fromConfig = try ModelBudget.load(Fixture.path("models/\(name)/config.json"), request: BudgetRequest())
        let fromTensors = try ModelBudget.load(Fixture.path("models/\(name)"), request: BudgetRequest())
        #expect(fromTensors.parameters.fromTensors)
        for budget in [fromConfig, fromTensors] {
            #expect(budget.parameters.total == reference["total"]?.intValue)
            let components = Dictionary(uniqueKeysWithValues: budget.parameters.byComponent.map { ($0.component.name, $0.count) })
            #expect(components == reference["by_component"]?.integerMembers)
        }
        // Active parameters: the description's routing and the tensors' agree.
        #expect(fromConfig.parameters.active == fromTensors.parameters.active)
    }

    @Test("llama.cpp's GGUF conversions hold the same parameters as the transformers model",
          arguments: ["llama-tiny", "qwen2-tiny", "qwen3-tiny", "qwen3moe-tiny", "gemma2-tiny"])
    func ggufConversion(name: String) throws {
        let reference = try #require(try Fixture.parameterReferences()["tiny"]?[name]?["total"]?.intValue)
        let directory = Fixture.path("models/\(name)-gguf")
        for file in try FileSystem.contentsOfDirectory(directory) where file.hasSuffix(".gguf") {
            let budget = try ModelBudget.load(PathName.join(directory, file), request: BudgetRequest())
            #expect(budget.parameters.total == reference, "\(file)")
            let stored = budget.weights.byDType.reduce(0) { $0 + $1.bytes }
            #expect(stored == (try Checkpoint.open(PathName.join(directory, file)).tensors.filter { !TensorClassifier.isBuffer($0.name) }.reduce(0) { $0 + $1.byteCount }))
        }
    }

    @Test("mixture of experts: active parameters of the MoE tiny fixture are fewer than the total")
    func activeParameters() throws {
        let budget = try ModelBudget.load(Fixture.path("models/qwen3moe-tiny"), request: BudgetRequest())
        let experts = budget.parameters.count(of: .experts)
        let text = try #require(budget.architecture.text?.experts)
        #expect(budget.parameters.total - budget.parameters.active == experts / text.expertCount * (text.expertCount - text.usedExpertCount))
    }

    @Test("seed 002's expert LM: totals and non-embedding counts of the PyTorch module",
          arguments: ["test", "tiny", "small", "medium", "large"])
    func expertLM(label: String) throws {
        let reference = try #require(try Fixture.json("experts/seed-002-configurations.json")[label])
        let budget = try ModelBudget.load(Fixture.path("budget/configs/expert-lm-\(label)"), request: BudgetRequest())
        #expect(budget.parameters.total == reference["parameters"]?.intValue)
        #expect(budget.parameters.nonEmbedding == reference["non_embedding_parameters"]?.intValue)
    }

    @Test("expert LM checkpoints: the stored positional table is a buffer, not a parameter",
          arguments: ["expert-small", "expert-medium", "expert-other"])
    func expertCheckpoint(name: String) throws {
        let reference = try Fixture.json("experts/\(name)/reference.json")
        let budget = try ModelBudget.load(Fixture.path("experts/\(name)"), request: BudgetRequest())
        #expect(budget.parameters.fromTensors)
        #expect(budget.parameters.total == reference["parameters"]?.intValue)
        #expect(budget.parameters.nonEmbedding == reference["non_embedding_parameters"]?.intValue)
    }

    @Test("Micro-MTP from params.json: the independent module's count")
    func microMTP() throws {
        let reference = try Fixture.json("mtp/micro-mtp.json")
        let budget = try ModelBudget.load(Fixture.path("budget/configs/micro-mtp"), request: BudgetRequest())
        #expect(budget.parameters.total == reference["parameters"]?.intValue)
        #expect(budget.parameters.count(of: .mtpHeads) > 0)
    }

    @Test("MTP checkpoints: tensors and params.json agree with the reference module",
          arguments: ["mtp-4heads", "mtp-gqa-2heads", "mtp-3heads-config"])
    func mtpCheckpoint(name: String) throws {
        let reference = try #require(try Fixture.json("mtp/\(name)/reference.json")["parameters"]?.intValue)
        let fromTensors = try ModelBudget.load(Fixture.path("mtp/\(name)"), request: BudgetRequest())
        let configFile = FileSystem.isRegularFile(Fixture.path("mtp/\(name)/params.json")) ? "params.json" : "config.json"
        let fromConfig = try ModelBudget.load(Fixture.path("mtp/\(name)/\(configFile)"), request: BudgetRequest())
        #expect(fromTensors.parameters.total == reference)
        #expect(fromConfig.parameters.total == reference)
        #expect(fromTensors.parameters.count(of: .mtpHeads) == fromConfig.parameters.count(of: .mtpHeads))
    }
}
