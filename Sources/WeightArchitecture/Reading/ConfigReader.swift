import WeightFormats

/// Typed access to a JSON configuration object, with errors naming the file and key.
public struct ConfigReader: Sendable {
    public let object: JSONObject
    public let file: String

    public init(_ value: JSONValue, file: String) throws {
        guard let object = value.objectValue else { throw ArchitectureError.wrongType(file: file, key: "(top level)", expected: "a JSON object") }
        self.object = object
        self.file = file
    }

    public init(object: JSONObject, file: String) {
        self.object = object
        self.file = file
    }

    public func has(_ key: String) -> Bool {
        guard let value = object[key] else { return false }
        return !value.isNull
    }

    /// An integer, or `fallback` when the key is absent or null.
    public func int(_ key: String, _ fallback: Int? = nil) throws -> Int {
        guard let value = object[key], !value.isNull else {
            if let fallback { return fallback }
            throw ArchitectureError.missingKey(file: file, key: key)
        }
        guard let int = value.intValue else { throw ArchitectureError.wrongType(file: file, key: key, expected: "an integer") }
        return int
    }

    public func optionalInt(_ key: String) throws -> Int? {
        has(key) ? try int(key) : nil
    }

    public func double(_ key: String, _ fallback: Double? = nil) throws -> Double {
        guard let value = object[key], !value.isNull else {
            if let fallback { return fallback }
            throw ArchitectureError.missingKey(file: file, key: key)
        }
        guard let double = value.doubleValue else { throw ArchitectureError.wrongType(file: file, key: key, expected: "a number") }
        return double
    }

    public func optionalDouble(_ key: String) throws -> Double? {
        has(key) ? try double(key) : nil
    }

    public func bool(_ key: String, _ fallback: Bool) throws -> Bool {
        guard let value = object[key], !value.isNull else { return fallback }
        guard let bool = value.boolValue else { throw ArchitectureError.wrongType(file: file, key: key, expected: "true or false") }
        return bool
    }

    public func string(_ key: String, _ fallback: String? = nil) throws -> String {
        guard let value = object[key], !value.isNull else {
            if let fallback { return fallback }
            throw ArchitectureError.missingKey(file: file, key: key)
        }
        guard let string = value.stringValue else { throw ArchitectureError.wrongType(file: file, key: key, expected: "a string") }
        return string
    }

    public func optionalString(_ key: String) throws -> String? {
        has(key) ? try string(key) : nil
    }

    /// A nested object (`vision_config`, `rope_parameters`).
    public func child(_ key: String) throws -> ConfigReader? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let nested = value.objectValue else { throw ArchitectureError.wrongType(file: file, key: key, expected: "an object") }
        return ConfigReader(object: nested, file: file)
    }

    public func intArray(_ key: String) throws -> [Int]? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let array = value.arrayValue else { throw ArchitectureError.wrongType(file: file, key: key, expected: "an array of integers") }
        return try array.map {
            guard let int = $0.intValue else { throw ArchitectureError.wrongType(file: file, key: key, expected: "an array of integers") }
            return int
        }
    }

    public func stringArray(_ key: String) throws -> [String]? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let array = value.arrayValue else { throw ArchitectureError.wrongType(file: file, key: key, expected: "an array of strings") }
        return try array.map {
            guard let string = $0.stringValue else { throw ArchitectureError.wrongType(file: file, key: key, expected: "an array of strings") }
            return string
        }
    }

    public func activation(_ key: String, _ fallback: Activation) throws -> Activation {
        guard has(key) else { return fallback }
        let name = try string(key)
        guard let activation = Activation(configName: name) else {
            throw ArchitectureError.invalidValue(file: file, key: key, reason: "is '\(name)', which WeightKit does not implement")
        }
        return activation
    }

    /// A count that divides or sizes something before the validation pass runs: an integer of
    /// at least 1 (and at most `limit`), or `fallback` when absent.
    public func count(_ key: String, _ fallback: Int? = nil, limit: Int = Int(Int32.max)) throws -> Int {
        let value = try int(key, fallback)
        guard value >= 1 else { throw ArchitectureError.ruleViolated(file: file, key: key, value: "\(value)", rule: .positive) }
        guard value <= limit else { throw ArchitectureError.ruleViolated(file: file, key: key, value: "\(value)", rule: .atMost(limit)) }
        return value
    }

    /// A fraction in (0, 1] (`partial_rotary_factor`), or `fallback` when absent.
    public func unitFraction(_ key: String, _ fallback: Double) throws -> Double {
        let value = try double(key, fallback)
        guard value.isFinite, value > 0, value <= 1 else {
            throw ArchitectureError.ruleViolated(file: file, key: key, value: "\(value)", rule: .unitInterval)
        }
        return value
    }

    /// An array of numbers (`rope_scaling.long_factor`).
    public func doubleArray(_ key: String) throws -> [Double]? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let array = value.arrayValue else { throw ArchitectureError.wrongType(file: file, key: key, expected: "an array of numbers") }
        return try array.map {
            guard let double = $0.doubleValue else { throw ArchitectureError.wrongType(file: file, key: key, expected: "an array of numbers") }
            return double
        }
    }

    /// An empty reader, for nested configurations that are absent.
    public func empty() -> ConfigReader { ConfigReader(object: JSONObject(), file: file) }
}
