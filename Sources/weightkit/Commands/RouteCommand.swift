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
            true}) and router.safetensors (gate.weight [experts, d_model], optional gate.bias). \
            The gate scores the mean of the prompt's token embeddings (from the first expert's \
            table) and keeps the top-k; generation mixes the chosen experts' next-token \
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

    @OptionGroup var sampling: SamplingArguments

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard !tokens.isEmpty else { throw ValidationError("--tokens needs at least one token id") }
        guard generate >= 0 else { throw ValidationError("--generate must not be negative") }
    }

    func run() throws {
        try reportingErrors {
            let routing = try ExpertRouter(directory: router)
            let (choices, generated) = try routing.generate(
                prompt: tokens, count: generate, options: sampling.options, randomness: .seeded(sampling.seed))
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
