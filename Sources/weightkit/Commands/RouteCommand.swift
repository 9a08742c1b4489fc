import ArgumentParser
import WeightCompute
import WeightFormats
import WeightModels

struct RouteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "Route a prompt between expert LMs and generate from their mixture.",
        discussion: """
            ROUTER_DIR holds router.json ({"experts": [relative dirs], "top_k": K, "normalize":
            true}) and router.safetensors (gate.weight [experts, d_model], optional gate.bias).
            The gate scores the mean of the prompt's token embeddings (from the first expert's
            table) and keeps the top-k; generation mixes the chosen experts' next-token
            distributions, p = Σ wᵢ pᵢ. See Docs/EXPERT_LM.md.

            --json prints {"experts": [{"name", "weight"}], "tokens": [...]}.
            """
    )

    @Argument(help: "A router directory.")
    var router: String

    @Option(help: "Prompt token ids, comma-separated.", transform: TokenList.parse)
    var tokens: [Int]

    @Option(help: "Generate this many tokens from the mixture.")
    var generate: Int = 0

    @Option(help: "Sampling temperature (0: greedy).")
    var temperature: Float?

    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens of the mixture.")
    var topK: Int?

    @Option(name: .customLong("top-p"), help: "Keep the smallest set of tokens whose mixed probability reaches p.")
    var topP: Float?

    @Option(help: "Seed of the sampling draws.")
    var seed: UInt64 = 0

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard !tokens.isEmpty else { throw ValidationError("--tokens needs at least one token id") }
        guard generate >= 0 else { throw ValidationError("--generate must not be negative") }
        if let topP, !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
    }

    func run() throws {
        try reportingErrors {
            let routing = try ExpertRouter(directory: router)
            let options = temperature == nil && topK == nil && topP == nil
                ? SamplingOptions.greedy : SamplingOptions(temperature: temperature ?? 1, topK: topK ?? 0, topP: topP ?? 1)
            let (choices, generated) = try routing.generate(prompt: tokens, count: generate, options: options, randomness: .seeded(seed))
            if json {
                var stream = JSONStream()
                stream.raw("{")
                stream.key("experts"); stream.raw("[")
                for (index, choice) in choices.enumerated() {
                    if index > 0 { stream.comma() }
                    stream.raw("{"); stream.key("name"); stream.string(choice.name)
                    stream.comma(); stream.key("weight"); stream.raw(JSONWriter.format(choice.weight)); stream.raw("}")
                }
                stream.raw("]")
                stream.comma(); stream.key("tokens"); stream.raw("[" + generated.map(String.init).joined(separator: ",") + "]")
                stream.raw("}")
                stream.finish()
            } else {
                var out = OutputBuffer()
                var table = TextTable(["EXPERT", "WEIGHT"], rightAligned: [1])
                for choice in choices { table.add([choice.name, Formatting.fixed(Double(choice.weight), 4)]) }
                table.render(indent: "", into: &out)
                if !generated.isEmpty { out.line(); out.line(generated.map(String.init).joined(separator: " ")) }
                out.flush()
            }
        }
    }
}
