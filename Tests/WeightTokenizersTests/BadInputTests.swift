import Testing
import WeightFormats
@testable import WeightTokenizers

/// One defect per file (Fixtures/generators/tokenizers.py, generate_bad_files): each is
/// refused with its own typed error.
@Suite struct BadInputTests {
    static func caseName(_ error: TokenizerError) -> String {
        Mirror(reflecting: error).children.first?.label ?? "?"
    }

    @Test func everyDefectHasItsError() throws {
        let document = try Fixture.json("tokenizers/bad/expected.json")
        let expected = try #require(document.objectValue)
        #expect(expected.count >= 20)
        for (file, error) in expected {
            let path = Fixture.path("tokenizers/bad/\(file)")
            do {
                _ = try Tokenizer.load(path)
                #expect(error.isNull, "\(file) loaded; expected \(error)")
            } catch let thrown as TokenizerError {
                #expect(Self.caseName(thrown) == error.stringValue, "\(file): \(thrown)")
                #expect(!thrown.description.contains("\n"), "\(file): the message is one line")
            }
        }
    }

    @Test func idsOutsideTheVocabularyAreRefused() throws {
        let tokenizer = try Tokenizer.load(Fixture.path("tokenizers/bad/valid.gguf"))
        #expect(throws: TokenizerError.unknownTokenID(id: 7, vocabularySize: 7)) { try tokenizer.decode([0, 7]) }
        #expect(throws: TokenizerError.unknownTokenID(id: -1, vocabularySize: 7)) { try tokenizer.decode([-1]) }
        var stream = tokenizer.makeStreamingDecoder()
        #expect(throws: TokenizerError.self) { try stream.append(99) }
    }

    @Test func pathsThatAreNoTokenizer() {
        #expect(throws: TokenizerError.self) { try Tokenizer.load(Fixture.path("tokenizers/no-such-file.gguf")) }
        #expect(throws: TokenizerError.self) { try Tokenizer.load(Fixture.path("tokenizers/bad")) }
        #expect(throws: TokenizerError.self) { try Tokenizer.load(Fixture.path("tokenizers/bad/expected.json")) }
    }
}
