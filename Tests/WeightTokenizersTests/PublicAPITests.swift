import Testing
import WeightFormats
import WeightTokenizers

/// The library API issue 16 names, used as a client uses it (no @testable import): load, encode
/// with both flags, decode and the streaming decoder, against llama.cpp's ids and texts on its
/// Qwen2 vocabulary (`ChatTemplate.render(messages:addGenerationPrompt:variables:)` is the call
/// ChatTemplateReferenceTests makes on every template of the collection).
@Suite struct PublicAPITests {
    @Test func loadEncodeDecodeStream() throws {
        let path = Fixture.path("tokenizers/llama-vocabs/qwen2.gguf")
        let tokenizer = try Tokenizer.load(path)
        let gguf = try GGUFFile(path: path)
        let original = try #require(gguf.metadata.array("weightkit.test.original_token_ids")?.integers())
        let record = try Fixture.json("tokenizers/llama-vocabs/qwen2.json")
        let texts = try #require(record["texts"]?.arrayValue).map { $0.stringValue ?? "" }
        let encodes = try #require(record["encode"]?.arrayValue)
        #expect(encodes.count > 40)
        for entry in encodes {
            let fields = try #require(entry.arrayValue)
            let text = texts[try #require(fields[0].intValue)]
            let ids = tokenizer.encode(text, addSpecial: try #require(fields[1].boolValue), parseSpecial: try #require(fields[2].boolValue))
            #expect(ids.map { original[$0] } == fields[3].arrayValue?.compactMap(\.intValue), "\(text.debugDescription)")
            // Decoding gives the text back (Qwen2's byte-level BPE is lossless), also streamed.
            let decoded = try tokenizer.decode(ids, skipSpecial: false)
            var stream = tokenizer.makeStreamingDecoder()
            var streamed = ""
            for id in ids { streamed += try stream.append(id) }
            streamed += stream.finish()
            #expect(streamed == decoded)
            if fields[2].boolValue == false { #expect(decoded == text) }
        }
    }
}
