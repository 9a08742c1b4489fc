import Testing
import WeightFormats

/// `weightkit inspect`: the JSON contract against the references' readings, text output, errors.
@Suite struct InspectCommandTests {
    /// Whether a value printed by `inspect --json` equals the fixture's recorded value.
    static func same(_ printed: JSONValue, _ expected: JSONValue, type: String) -> Bool {
        switch (printed, expected) {
        case (.number(let a), .number(let b)):
            if type == "FLOAT32" || type == "ARRAY[FLOAT32]" { return Float(a.double).bitPattern == Float(b.double).bitPattern }
            if a.isInteger && b.isInteger { return a.text == b.text }
            return a.double.bitPattern == b.double.bitPattern
        case (.string(let a), .object(let bytes)):
            // Invalid UTF-8 is printed with U+FFFD.
            let raw = bytes["bytes"]?.arrayValue?.compactMap { $0.intValue.map(UInt8.init) } ?? []
            return a == String(decoding: raw, as: UTF8.self)
        case (.array(let a), .array(let b)):
            let inner = type.hasPrefix("ARRAY[") ? String(type.dropFirst(6).dropLast()) : type
            return a.count == b.count && zip(a, b).allSatisfy { same($0, $1, type: inner) }
        default:
            return printed == expected
        }
    }

    @Test("--json prints every GGUF value losslessly with gguf-py's type names")
    func ggufJSON() throws {
        let result = try CLI.run(["inspect", CLI.fixture("core/metadata.gguf"), "--json"])
        #expect(result.status == 0)
        let json = try #require(result.json)
        #expect(json["format"] == .string("gguf"))
        #expect(json["version"]?.intValue == 3)
        let expected = try CLI.json("core/metadata.json")
        let metadata = try #require(json["metadata"]?.objectValue)
        let types = try #require(json["metadata_types"]?.objectValue)
        let entries = try #require(expected["metadata"]?.arrayValue)
        #expect(metadata.keys == entries.compactMap { $0["key"]?.stringValue })
        for entry in entries {
            let key = try #require(entry["key"]?.stringValue)
            let type = try #require(entry["type"]?.stringValue)
            #expect(types[key]?.stringValue == type, "\(key)")
            #expect(Self.same(try #require(metadata[key]), try #require(entry["value"]), type: type), "\(key)")
        }
        // uint64 above 2^53 stays exact in the text.
        #expect(result.stdout.contains("\"test.uint64\":18446744073709551615"))
        #expect(result.stdout.contains("\"test.uint64_2p53_plus_1\":9007199254740993"))
        #expect(result.stdout.contains("\"test.float32_nan\":\"NaN\""))
        #expect(result.stdout.contains("\"test.float32_neg_inf\":\"-Infinity\""))
        // The invalid UTF-8 value is reported on stderr.
        #expect(result.stderr.contains("test.string_invalid_utf8"))
        try checkTensors(json, expected["tensors"], file: "metadata.gguf")
    }

    func checkTensors(_ json: JSONValue, _ expected: JSONValue?, file: String?) throws {
        let printed = try #require(json["tensors"]?.arrayValue)
        let listing = try #require(expected?.arrayValue)
        #expect(printed.count == listing.count)
        for (ours, theirs) in zip(printed, listing) {
            #expect(ours["name"] == theirs["name"])
            #expect(ours["dtype"] == (theirs["type"] ?? theirs["dtype"]))
            #expect(ours["shape"] == theirs["shape"])
            #expect(ours["offset"] == theirs["offset"])
            #expect(ours["nbytes"] == theirs["nbytes"])
            if let file { #expect(ours["file"]?.stringValue == file) }
        }
    }

    @Test("--json for safetensors: __metadata__ and tensors in data-offset order")
    func safetensorsJSON() throws {
        let result = try CLI.run(["inspect", CLI.fixture("core/dtypes.safetensors"), "--json"])
        #expect(result.status == 0)
        let json = try #require(result.json)
        let expected = try CLI.json("core/dtypes.json")
        #expect(json["format"] == .string("safetensors"))
        #expect(json["version"] == nil && json["metadata_types"] == nil)
        #expect(json["metadata"] == expected["metadata"])
        try checkTensors(json, expected["tensors"], file: "dtypes.safetensors")
    }

    @Test("--json for a sharded HF directory: shard order, relative file names")
    func shardedJSON() throws {
        let result = try CLI.run(["inspect", CLI.fixture("core/hf-sharded"), "--json"])
        #expect(result.status == 0)
        let json = try #require(result.json)
        let parts = try #require(try CLI.json("core/hf-sharded.json")["parts"]?.arrayValue)
        let listing = try parts.flatMap { part in
            try #require(part["tensors"]?.arrayValue).map { tensor -> JSONValue in
                var object = tensor.objectValue!
                object["file"] = part["file"]
                return .object(object)
            }
        }
        let printed = try #require(json["tensors"]?.arrayValue)
        #expect(printed.count == listing.count)
        for (ours, theirs) in zip(printed, listing) {
            for key in ["name", "dtype", "shape", "offset", "nbytes", "file"] { #expect(ours[key] == theirs[key], "\(key)") }
        }
    }

    @Test("--json for a split set: tensors of every part, file names per part")
    func splitJSON() throws {
        let result = try CLI.run(["inspect", CLI.fixture("core/split/tiny-00002-of-00003.gguf"), "--json"])
        #expect(result.status == 0)
        let json = try #require(result.json)
        let parts = try #require(try CLI.json("core/split/split.json")["parts"]?.arrayValue)
        let files = try parts.flatMap { part in try #require(part["tensors"]?.arrayValue).map { _ in part["file"]!.stringValue! } }
        #expect(json["tensors"]?.arrayValue?.compactMap { $0["file"]?.stringValue } == files)
        #expect(json["metadata"]?["split.no"]?.intValue == 0)
    }

    @Test("real Qwen2 vocabulary: all 151,936 tokens and 151,387 merges in the JSON")
    func realVocabulary() throws {
        guard let path = Optional(CLI.root + "/../shared/realdata/ggml-vocab-qwen2.gguf"),
              FileSystem.isRegularFile(path) else {
            print("skipped: ../shared/realdata is not present")
            return
        }
        let expected = try #require(try CLI.json("core/realdata.json")["ggml-vocab-qwen2.gguf"]?["keys"])
        let result = try CLI.run(["inspect", path, "--json"])
        #expect(result.status == 0)
        let metadata = try #require(result.json?["metadata"])
        for key in ["tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.token_type"] {
            let array = try #require(metadata[key]?.arrayValue)
            #expect(array.count == expected[key]?["count"]?.intValue)
            #expect(Array(array.prefix(3)) == expected[key]?["first"]?.arrayValue)
            #expect(Array(array.suffix(3)) == expected[key]?["last"]?.arrayValue)
        }
        for key in ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.padding_token_id", "tokenizer.ggml.pre"] {
            #expect(metadata[key] == expected[key]?["value"], "\(key)")
        }
    }

    @Test("text output names format, architecture, parameters and every tensor")
    func text() throws {
        let result = try CLI.run(["inspect", CLI.fixture("core/tiny.gguf")])
        #expect(result.status == 0)
        for piece in ["GGUF v3", "llama", "token_embd.weight", "blk.1.ids"] {
            #expect(result.stdout.contains(piece), "\(piece)")
        }
        // Parameters: the elements of gguf-py's tensors, integer tensors (blk.1.ids) apart.
        let tensors = try #require(try CLI.json("core/tiny.json")["tensors"]?.arrayValue)
        var parameters = 0, parameterTensors = 0, integerValues = 0
        for tensor in tensors {
            let elements = try #require(tensor["shape"]?.arrayValue).reduce(1) { $0 * ($1.intValue ?? 0) }
            if let type = tensor["type"]?.stringValue, type.hasPrefix("I") {
                integerValues += elements
            } else {
                parameters += elements
                parameterTensors += 1
            }
        }
        #expect(integerValues > 0)
        let grouped = String(parameters).reversed().enumerated()
            .map { $0.offset > 0 && $0.offset % 3 == 0 ? ",\($0.element)" : "\($0.element)" }.joined().reversed()
        #expect(result.stdout.contains("(\(String(grouped))) in \(parameterTensors) tensors"))
        #expect(result.stdout.contains("integer tensor (\(integerValues) values)"))
    }

    @Test("bad input: one clear line on stderr, exit status 1")
    func errors() throws {
        let missing = try CLI.run(["inspect", "/nonexistent/model.gguf"])
        #expect(missing.status == 1)
        #expect(missing.stderr.hasPrefix("error: cannot open /nonexistent/model.gguf"))
        #expect(missing.stderr.split(separator: "\n").count == 1)
        let notModel = try CLI.run(["inspect", CLI.fixture("core/metadata.json")])
        #expect(notModel.status == 1)
        #expect(notModel.stderr.hasPrefix("error:"))
        let usage = try CLI.run(["inspect"])
        #expect(usage.status == 64)
    }
}

/// `weightkit tensor`: statistics against NumPy's, .npy output against gguf-py's decoding.
@Suite struct TensorCommandTests {
    static func close(_ a: Double?, _ b: Double?) -> Bool {
        guard let a, let b else { return false }
        return abs(a - b) <= 1e-9 * max(1, abs(b))
    }

    @Test("statistics equal NumPy's", arguments: ["core/metadata.gguf", "core/tiny.gguf"])
    func statistics(file: String) throws {
        let expected = try #require(try CLI.json(file.replacingOccurrences(of: ".gguf", with: ".stats.json")).objectValue)
        for (name, stats) in expected {
            let result = try CLI.run(["tensor", CLI.fixture(file), name, "--json"])
            #expect(result.status == 0)
            let json = try #require(result.json)
            #expect(json["name"]?.stringValue == name)
            for key in ["min", "max", "mean", "std"] {
                #expect(Self.close(json[key]?.doubleValue, stats[key]?.doubleValue), "\(name) \(key)")
            }
            #expect(json["nan"] == stats["nan"] && json["inf"] == stats["inf"], "\(name)")
        }
    }

    @Test("--out writes float32 in row-major shape")
    func npyOutput() throws {
        let directory = CLI.temporaryDirectory()
        for name in ["blk.0.ffn_up.weight", "blk.1.ids", "blk.0.attn_q.weight"] {
            let out = directory + "/\(name).npy"
            let result = try CLI.run(["tensor", CLI.fixture("core/tiny.gguf"), name, "--out", out])
            #expect(result.status == 0)
            let written = try NPY.read(out)
            let reference = try NPY.read(CLI.fixture("core/tiny/\(name).npy"))
            #expect(written.shape == reference.shape)
            #expect(written.values.map(\.bitPattern) == reference.values.map(\.bitPattern))
        }
    }

    @Test func unknownTensor() throws {
        let result = try CLI.run(["tensor", CLI.fixture("core/tiny.gguf"), "nope"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("no tensor named 'nope'"))
    }
}

/// `inspect` on PyTorch checkpoints: the same contract with `"format": "pytorch"`.
@Suite struct InspectPyTorchTests {
    @Test("--json reports a torch.save file with its tensors in state-dict order")
    func pytorchJSON() throws {
        let result = try CLI.run(["inspect", CLI.fixture("pytorch/state_dict.pth"), "--json"])
        #expect(result.status == 0)
        let json = try #require(result.json)
        #expect(json["format"] == .string("pytorch"))
        let expected = try CLI.json("pytorch/state_dict.expected.json")
        let names = try #require(json["tensors"]?.arrayValue).compactMap { $0["name"]?.stringValue }
        let expectedTensors = try #require(expected["tensors"]?.arrayValue)
        #expect(!expectedTensors.isEmpty)
        #expect(names == expectedTensors.compactMap { $0["name"]?.stringValue })
    }

    @Test("a malicious pickle exits 1 naming the global")
    func maliciousPickle() throws {
        let result = try CLI.run(["inspect", CLI.fixture("pytorch/malicious.pth")])
        #expect(result.status == 1)
        #expect(result.stderr.contains(".system"))
    }
}
