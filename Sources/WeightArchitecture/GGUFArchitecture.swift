import WeightFormats

/// Reads a GGUF file's `{arch}.*` metadata (llama.cpp's key names) into a `ModelArchitecture`,
/// with the family its `general.architecture` names (`ModelFamilies`).
public enum GGUFArchitecture {
    public static func parse(_ gguf: GGUFFile) throws -> ModelArchitecture {
        try ModelFamilies.architecture(gguf: gguf)
    }
}
