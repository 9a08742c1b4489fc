import WeightFormats

/// Problems with a model's configuration, naming the file and key.
public enum ArchitectureError: Error, Equatable, Sendable, CustomStringConvertible {
    case noConfiguration(path: String)
    case missingKey(file: String, key: String)
    case wrongType(file: String, key: String, expected: String)
    case invalidValue(file: String, key: String, reason: String)
    case unsupportedModelType(file: String, modelType: String, supported: [String])

    public var description: String {
        switch self {
        case .noConfiguration(let path):
            return "\(path): no config.json, params.json or GGUF metadata describes the model"
        case .missingKey(let file, let key): return "\(file): missing key '\(key)'"
        case .wrongType(let file, let key, let expected): return "\(file): '\(key)' must be \(expected)"
        case .invalidValue(let file, let key, let reason): return "\(file): '\(key)' \(reason)"
        case .unsupportedModelType(let file, let modelType, let supported):
            return "\(file): model type '\(modelType)' is not supported (supported: \(supported.joined(separator: ", ")))"
        }
    }
}

/// Typed access to a JSON configuration object, with errors naming the file and key.
struct ConfigReader {
    let object: JSONObject
    let file: String

    init(_ value: JSONValue, file: String) throws {
        guard let object = value.objectValue else { throw ArchitectureError.wrongType(file: file, key: "(top level)", expected: "a JSON object") }
        self.object = object
        self.file = file
    }

    init(object: JSONObject, file: String) {
        self.object = object
        self.file = file
    }

    func has(_ key: String) -> Bool {
        guard let value = object[key] else { return false }
        return !value.isNull
    }

    /// An integer, or `fallback` when the key is absent or null.
    func int(_ key: String, _ fallback: Int? = nil) throws -> Int {
        guard let value = object[key], !value.isNull else {
            if let fallback { return fallback }
            throw ArchitectureError.missingKey(file: file, key: key)
        }
        guard let int = value.intValue else { throw ArchitectureError.wrongType(file: file, key: key, expected: "an integer") }
        return int
    }

    func optionalInt(_ key: String) throws -> Int? {
        has(key) ? try int(key) : nil
    }

    func double(_ key: String, _ fallback: Double? = nil) throws -> Double {
        guard let value = object[key], !value.isNull else {
            if let fallback { return fallback }
            throw ArchitectureError.missingKey(file: file, key: key)
        }
        guard let double = value.doubleValue else { throw ArchitectureError.wrongType(file: file, key: key, expected: "a number") }
        return double
    }

    func optionalDouble(_ key: String) throws -> Double? {
        has(key) ? try double(key) : nil
    }

    func bool(_ key: String, _ fallback: Bool) throws -> Bool {
        guard let value = object[key], !value.isNull else { return fallback }
        guard let bool = value.boolValue else { throw ArchitectureError.wrongType(file: file, key: key, expected: "true or false") }
        return bool
    }

    func string(_ key: String, _ fallback: String? = nil) throws -> String {
        guard let value = object[key], !value.isNull else {
            if let fallback { return fallback }
            throw ArchitectureError.missingKey(file: file, key: key)
        }
        guard let string = value.stringValue else { throw ArchitectureError.wrongType(file: file, key: key, expected: "a string") }
        return string
    }

    func optionalString(_ key: String) throws -> String? {
        has(key) ? try string(key) : nil
    }

    /// A nested object (`vision_config`, `rope_parameters`).
    func child(_ key: String) throws -> ConfigReader? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let nested = value.objectValue else { throw ArchitectureError.wrongType(file: file, key: key, expected: "an object") }
        return ConfigReader(object: nested, file: file)
    }

    func intArray(_ key: String) throws -> [Int]? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let array = value.arrayValue else { throw ArchitectureError.wrongType(file: file, key: key, expected: "an array of integers") }
        return try array.map {
            guard let int = $0.intValue else { throw ArchitectureError.wrongType(file: file, key: key, expected: "an array of integers") }
            return int
        }
    }

    func stringArray(_ key: String) throws -> [String]? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let array = value.arrayValue else { throw ArchitectureError.wrongType(file: file, key: key, expected: "an array of strings") }
        return try array.map {
            guard let string = $0.stringValue else { throw ArchitectureError.wrongType(file: file, key: key, expected: "an array of strings") }
            return string
        }
    }

    func activation(_ key: String, _ fallback: Activation) throws -> Activation {
        guard has(key) else { return fallback }
        let name = try string(key)
        guard let activation = Activation(configName: name) else {
            throw ArchitectureError.invalidValue(file: file, key: key, reason: "is '\(name)', which WeightKit does not implement")
        }
        return activation
    }
}
