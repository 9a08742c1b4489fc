import WeightFormats

/// Typed access to `{arch}.*` keys with errors naming the key.
public struct GGUFKeys: Sendable {
    public let metadata: GGUFMetadata
    public let prefix: String
    public let file: String

    public init(metadata: GGUFMetadata, prefix: String, file: String) {
        self.metadata = metadata
        self.prefix = prefix
        self.file = file
    }

    public func key(_ suffix: String) -> String { "\(prefix).\(suffix)" }

    public func optionalInt(_ suffix: String) throws -> Int? {
        guard let value = metadata[key(suffix)] else { return nil }
        guard let int = value.intValue else {
            throw ArchitectureError.wrongType(file: file, key: key(suffix), expected: "an integer (found \(value.typeName))")
        }
        return int
    }

    public func int(_ suffix: String) throws -> Int {
        guard let value = try optionalInt(suffix) else { throw ArchitectureError.missingKey(file: file, key: key(suffix)) }
        return value
    }

    public func optionalDouble(_ suffix: String) throws -> Double? {
        guard let value = metadata[key(suffix)] else { return nil }
        guard let double = value.doubleValue else {
            throw ArchitectureError.wrongType(file: file, key: key(suffix), expected: "a number (found \(value.typeName))")
        }
        return double
    }

    public func optionalBool(_ suffix: String) throws -> Bool? {
        guard let value = metadata[key(suffix)] else { return nil }
        guard let bool = value.boolValue else { throw ArchitectureError.wrongType(file: file, key: key(suffix), expected: "a bool") }
        return bool
    }

    public func optionalString(_ suffix: String) throws -> String? {
        guard let value = metadata[key(suffix)] else { return nil }
        guard let string = value.stringValue else { throw ArchitectureError.wrongType(file: file, key: key(suffix), expected: "a string") }
        return string
    }

    /// A value that is either one integer for all layers or an array with one per layer.
    public func perLayerOptional(_ suffix: String, layers: Int) throws -> [Int]? {
        guard layers >= 1, layers <= ArchitectureLimits.maxLayers else {
            throw ArchitectureError.ruleViolated(file: file, key: key("block_count"), value: "\(layers)", rule: .between(1, ArchitectureLimits.maxLayers))
        }
        guard let value = metadata[key(suffix)] else { return nil }
        if let int = value.intValue { return Array(repeating: int, count: layers) }
        guard let array = value.arrayValue, let ints = array.integers() else {
            throw ArchitectureError.wrongType(file: file, key: key(suffix), expected: "an integer or an array of integers")
        }
        guard ints.count == layers else {
            throw ArchitectureError.invalidValue(file: file, key: key(suffix), reason: "has \(ints.count) entries for \(layers) layers")
        }
        return ints
    }

    public func perLayer(_ suffix: String, layers: Int) throws -> [Int] {
        guard let values = try perLayerOptional(suffix, layers: layers) else { throw ArchitectureError.missingKey(file: file, key: key(suffix)) }
        return values
    }

    public func double(_ suffix: String) throws -> Double {
        guard let value = try optionalDouble(suffix) else { throw ArchitectureError.missingKey(file: file, key: key(suffix)) }
        return value
    }

    /// A count that divides or sizes something before the validation pass: at least 1.
    public func count(_ suffix: String) throws -> Int {
        let value = try int(suffix)
        guard value >= 1 else { throw ArchitectureError.ruleViolated(file: file, key: key(suffix), value: "\(value)", rule: .positive) }
        return value
    }

    /// A key outside the `{arch}.` prefix (`tokenizer.ggml.tokens`, `general.name`).
    public func global(_ key: String) -> GGUFValue? { metadata[key] }
}
