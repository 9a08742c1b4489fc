import Testing
import WeightFormats
@testable import WeightTokenizers

/// tokenizer.model files trained by sentencepiece's trainer against sentencepiece's own
/// encoding and decoding.
@Suite struct SentencePieceTests {
    static let names = ["spm-bpe", "spm-unigram", "spm-unigram-bytes"]

    @Test(arguments: names)
    func piecesMatchSentencePiece(_ name: String) throws {
        let tokenizer = try Tokenizer.load(Fixture.path("tokenizers/sentencepiece/\(name).model"))
        #expect(tokenizer.source == .sentencePiece)
        let record = try Fixture.json("tokenizers/sentencepiece/\(name).json")
        let pieces = try #require(record["pieces"]?.arrayValue)
        #expect(tokenizer.vocabularySize == pieces.count)
        for (id, piece) in pieces.enumerated() {
            #expect(tokenizer.piece(id) == piece.arrayValue?[0].stringValue, "\(name): piece \(id)")
            #expect(tokenizer.isSpecial(id) == (piece.arrayValue?[2].intValue == 1), "\(name): control flag of \(id)")
        }
        let special = try #require(record["special_ids"]?.objectValue)
        let ids = tokenizer.specialTokens
        for (field, value) in [("bos", ids.bos), ("eos", ids.eos), ("unk", ids.unknown), ("pad", ids.padding)] {
            #expect((value ?? -1) == special[field]?.intValue, "\(name): \(field)")
        }
    }

    @Test(arguments: names)
    func encodingMatchesSentencePiece(_ name: String) throws {
        let tokenizer = try Tokenizer.load(Fixture.path("tokenizers/sentencepiece/\(name).model"))
        let record = try Fixture.json("tokenizers/sentencepiece/\(name).json")
        let texts = try #require(record["texts"]?.arrayValue).map { $0.stringValue ?? "" }
        let encodes = try #require(record["encode"]?.arrayValue)
        #expect(!encodes.isEmpty)
        var failures = 0
        for entry in encodes {
            guard let fields = entry.arrayValue, fields.count == 2, let index = fields[0].intValue,
                  let expected = fields[1].arrayValue?.compactMap(\.intValue)
            else { Issue.record("malformed record"); continue }
            let ids = tokenizer.encode(texts[index], addSpecial: false, parseSpecial: false)
            if ids != expected {
                failures += 1
                if failures <= 3 { Issue.record("\(name): \(texts[index].debugDescription) -> \(ids), expected \(expected)") }
            }
        }
        #expect(failures == 0, "\(name): \(failures) of \(encodes.count) encodings differ")
    }

    @Test(arguments: names)
    func decodingMatchesSentencePiece(_ name: String) throws {
        let tokenizer = try Tokenizer.load(Fixture.path("tokenizers/sentencepiece/\(name).model"))
        let record = try Fixture.json("tokenizers/sentencepiece/\(name).json")
        let encodes = try #require(record["encode"]?.arrayValue)
        let decodes = try #require(record["decode"]?.arrayValue)
        #expect(!decodes.isEmpty)
        var failures = 0
        for entry in decodes {
            guard let fields = entry.arrayValue, fields.count == 2, let index = fields[0].intValue, let expected = fields[1].stringValue,
                  let ids = encodes[index].arrayValue?[1].arrayValue?.compactMap(\.intValue)
            else { Issue.record("malformed record"); continue }
            // sentencepiece shows no control pieces: skipSpecial.
            let text = try tokenizer.decode(ids, skipSpecial: true)
            if text != expected {
                failures += 1
                if failures <= 3 { Issue.record("\(name): \(ids) -> \(text.debugDescription), expected \(expected.debugDescription)") }
            }
            var stream = tokenizer.makeStreamingDecoder(skipSpecial: true)
            var streamed = ""
            for id in ids { streamed += try stream.append(id) }
            streamed += stream.finish()
            #expect(streamed == expected, "\(name): streamed decoding differs")
        }
        #expect(failures == 0, "\(name): \(failures) of \(decodes.count) decodings differ")
    }
}
