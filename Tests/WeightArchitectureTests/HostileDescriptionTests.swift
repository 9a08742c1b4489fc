import Testing
@testable import WeightArchitecture
import WeightFormats

/// One crafted description per validation rule (Fixtures/generators/hostile_hyperparameters.py):
/// each is refused with the rule it breaks, naming the key as its file spells it.
@Suite struct HostileDescriptionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let file: String, key: String, rule: String
        var testDescription: String { file }
    }

    static let root: String = {
        var path = #filePath
        for _ in 0..<3 { path = PathName.directory(of: path) }
        return PathName.join(path, "Fixtures")
    }()

    static var cases: [Case] {
        guard let json = try? JSON.parse(FileSystem.readFile(PathName.join(root, "hostile/cases.json"))),
              let list = json["cases"]?.arrayValue else { return [] }
        return list.compactMap { entry in
            guard let file = entry["file"]?.stringValue, let key = entry["key"]?.stringValue, let rule = entry["rule"]?.stringValue else {
                return nil
            }
            return Case(file: file, key: key, rule: rule)
        }
    }

    @Test("the case list is there and covers every rule that a file can break")
    func coverage() throws {
        let cases = Self.cases
        #expect(cases.count >= 40)
        let rules = Set(cases.map(\.rule))
        for rule in ["positive", "notNegative", "atMost", "atMostKey", "multipleOf", "even", "finitePositive", "finite",
                     "unitInterval", "between", "overflows", "moreThanTensors"] {
            #expect(rules.contains(rule), "no crafted file breaks \(rule)")
        }
    }

    @Test("each crafted file gives its typed error", arguments: cases)
    func refused(_ entry: Case) throws {
        let path = PathName.join(Self.root, entry.file)
        do {
            let architecture = try ArchitectureLoader.load(path)
            Issue.record("\(entry.file) was accepted: \(architecture.modelType)")
        } catch let error as ArchitectureError {
            guard case .ruleViolated(_, let key, _, let rule) = error else {
                Issue.record("\(entry.file): \(error)")
                return
            }
            #expect(key == entry.key, "\(entry.file): \(error)")
            #expect(rule.name == entry.rule, "\(entry.file): \(error)")
        }
    }
}
