import WeightFormats
import WeightTokenizers

/// A file's name for the results: its own, or `DIR/tokenizer.json` for the generic names.
private func benchmarkName(_ path: String) -> String {
    let name = PathName.lastComponent(of: path)
    guard ["tokenizer.json", "tokenizer.model"].contains(name) else { return name }
    return PathName.lastComponent(of: PathName.directory(of: path)) + "/" + name
}

/// `tokenizer-load PATH...`: the best of 20 loads (GGUF metadata, tokenizer.json, tokenizer.model).
func tokenizerLoadBenchmark(paths: [String]) throws {
    for path in paths {
        let tokenizer = try Tokenizer.load(path)  // warm the page cache
        var size = 0
        let seconds = try best(20) { size = try Tokenizer.load(path).vocabularySize }
        print("{\"benchmark\":\"tokenizer-load\",\"implementation\":\"WeightKit\",\"source\":\"\(tokenizer.source.rawValue)\","
              + "\"file\":\"\(benchmarkName(path))\",\"tokens\":\(size),\"seconds\":\(seconds)}")
    }
}

/// `tokenizer-encode PATH TEXT`: one thread encoding TEXT's bytes (no special tokens added,
/// special texts not parsed), best of 5; then decoding the ids back, best of 5.
func tokenizerEncodeBenchmark(path: String, textPath: String) throws {
    let tokenizer = try Tokenizer.load(path)
    let bytes = try FileSystem.readFile(textPath)
    var ids: [Int] = []
    let encode = best(5) {
        ids = bytes.withUnsafeBufferPointer { tokenizer.encode(utf8: $0, addSpecial: false, parseSpecial: false) }
    }
    let decode = try best(5) { _ = try tokenizer.decodeBytes(ids) }
    print("{\"benchmark\":\"tokenizer-encode\",\"implementation\":\"WeightKit\",\"source\":\"\(tokenizer.source.rawValue)\","
          + "\"file\":\"\(benchmarkName(path))\",\"bytes\":\(bytes.count),\"tokens\":\(ids.count),\"threads\":1,"
          + "\"encode_seconds\":\(encode),\"decode_seconds\":\(decode),\"megabytes_per_second\":\(Double(bytes.count) / encode / 1e6)}")
}
