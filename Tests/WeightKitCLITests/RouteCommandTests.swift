import Testing
import WeightFormats

/// `weightkit route` and `weightkit run` on the expert LMs (issue 8's CLI contract).
@Suite struct RouteCommandTests {
    @Test("route --json: the chosen experts with weights and the mixed tokens")
    func routeJSON() throws {
        let reference = try CLI.json("experts/router/reference.json")
        let prompt = try #require(reference["prompt"]?.arrayValue).compactMap { $0.intValue }
        let result = try CLI.run(["route", CLI.fixture("experts/router"), "--tokens", prompt.map(String.init).joined(separator: ","),
                                  "--generate", "10", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(result.json)
        #expect(json.objectValue?.keys == ["experts", "tokens"])
        let experts = json["experts"]?.arrayValue ?? []
        let expectedExperts = try #require(reference["experts"]?.arrayValue)
        #expect(experts.compactMap { $0["name"]?.stringValue } == expectedExperts.compactMap { $0["name"]?.stringValue })
        #expect(experts.allSatisfy { $0.objectValue?.keys == ["name", "weight"] })
        #expect(json["tokens"] == reference["tokens"])
    }

    @Test("run on an expert directory: greedy tokens as the PyTorch module's")
    func runExpert() throws {
        let reference = try CLI.json("experts/expert-small/reference.json")
        let prompt = try #require(reference["prompt"]?.arrayValue).compactMap { $0.intValue }
        let result = try CLI.run(["run", CLI.fixture("experts/expert-small"), "--tokens", prompt.map(String.init).joined(separator: ","),
                                  "--generate", "10", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.json?["tokens"] == reference["greedy"])
    }

    @Test func missingRouter() throws {
        let result = try CLI.run(["route", CLI.fixture("experts"), "--tokens", "1"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("router.json"))
    }
}
