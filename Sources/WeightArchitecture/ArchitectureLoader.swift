import WeightFormats

/// Finds and reads the description of the model at a path.
public enum ArchitectureLoader {
    /// Reads the architecture of whatever `path` names: a GGUF file (its metadata), a directory
    /// with `config.json` or `params.json`, a bare `config.json`/`params.json`, or a
    /// `.safetensors` file next to one of them.
    public static func load(_ path: String) throws -> ModelArchitecture {
        let name = PathName.lastComponent(of: path)
        if FileSystem.isRegularFile(path) {
            if name.hasSuffix(".json") { return try loadJSON(path) }
            if PathName.fileExtension(of: path) == "gguf" || isGGUF(path) {
                guard let gguf = try Checkpoint.open(path).gguf else { throw ArchitectureError.noConfiguration(path: path) }
                return try GGUFArchitecture.parse(gguf)
            }
            return try load(PathName.directory(of: path))
        }
        guard FileSystem.isDirectory(path) else { throw FormatError.cannotOpen(path: path, reason: "no such file or directory") }
        for candidate in ["config.json", "params.json"] {
            let file = PathName.join(path, candidate)
            if FileSystem.isRegularFile(file) { return try loadJSON(file) }
        }
        let ggufs = try FileSystem.contentsOfDirectory(path).filter { $0.hasSuffix(".gguf") }
        if !ggufs.isEmpty, let gguf = try Checkpoint.open(path).gguf { return try GGUFArchitecture.parse(gguf) }
        throw ArchitectureError.noConfiguration(path: path)
    }

    /// Reads a `config.json` or `params.json`.
    public static func loadJSON(_ file: String) throws -> ModelArchitecture {
        let json: JSONValue
        do {
            json = try JSON.parse(FileSystem.readFile(file))
        } catch let error as FormatError {
            throw FormatError.inFile(file, error)
        }
        return try ModelFamilies.architecture(huggingFace: json, file: file)
    }

    private static func isGGUF(_ path: String) -> Bool {
        guard let file = try? MappedFile(path: path), file.size >= 4 else { return false }
        return Array(file.bytes[0..<4]) == GGUFLimits.magic
    }
}
