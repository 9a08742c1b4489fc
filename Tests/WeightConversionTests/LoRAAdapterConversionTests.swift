import Testing
import WeightAdapters
import WeightConversion
import WeightFormats

/// llama.cpp on WeightKit's files (Fixtures/lora/llama-cpp-on-weightkit.json, recorded by
/// lora_adapters.py through llama.cpp's bindings, and -embed.json by lora_gaps.py): for every kind of adapter llama.cpp can apply,
/// WeightKit's GGUF of the base with WeightKit's adapter GGUF (rsLoRA, alpha_pattern and MLX
/// scales folded into lora_b) gave PEFT's logits. Here: WeightKit still writes those very files.
@Suite struct LoRAAdapterConversionTests {
    /// (record, the adapters it holds): lora_adapters.py's, and lora_gaps.py's for the embedding adapter
    /// and Phi-3's fused projections (compared within phi3-tiny's window: llama.cpp has none for Phi-3).
    static let records: [(String, Set<String>)] = [
        ("lora/llama-cpp-on-weightkit.json", ["qwen2-plain", "qwen2-rslora", "llama-pattern", "llama-alpha-pattern", "qwen3-all-linear", "qwen2-mlx"]),
        ("lora/llama-cpp-on-weightkit-embed.json", ["llama-embed", "phi3-fused"]),
    ]

    @Test(arguments: records)
    func llamaCppGavePEFTsLogitsOnTheFilesWeightKitWrites(record path: String, names: Set<String>) throws {
        let record = try Fixture.json(path)
        let adapters = try #require(record["adapters"]?.objectValue)
        #expect(Set(adapters.keys) == names)
        let directory = try temporaryDirectory()
        for (name, entry) in adapters {
            let error = try #require(entry["relative_l2_to_peft"]?.doubleValue)
            #expect(error <= 1e-4, "\(name): llama.cpp's relative L2 to PEFT \(error)")
            let base = try #require(entry["base"]?.stringValue)
            let baseGGUF = PathName.join(directory, "\(base).gguf")
            if !FileSystem.isRegularFile(baseGGUF) {
                // The tiny bases' made-up vocabulary has no pre-tokenizer hash llama.cpp knows;
                // the recorded files name it gpt-2.
                var options = ConversionOptions()
                options.preTokenizer = "gpt-2"
                _ = try Converter.convert(source: Fixture.path("models/\(base)"), destination: baseGGUF, options: options)
            }
            #expect(Digest.sha256Hex(try FileSystem.readFile(baseGGUF)) == entry["base_sha256"]?.stringValue, "\(base).gguf")
            let adapterGGUF = PathName.join(directory, "\(name).gguf")
            _ = try AdapterConversion.toGGUF(LoRAAdapter.open(Fixture.path("lora/\(name)")), base: Fixture.path("models/\(base)"),
                                             destination: adapterGGUF)
            #expect(Digest.sha256Hex(try FileSystem.readFile(adapterGGUF)) == entry["adapter_sha256"]?.stringValue, "\(name).gguf")
        }
    }
}
