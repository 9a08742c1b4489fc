import WeightFormats

/// Sizes as people write them: K, M, G, T in powers of 1000, KiB, MiB, GiB, TiB in powers of
/// 1024, an optional trailing "B", fractions allowed ("1.5GiB").
public enum ByteSize {
    static let decimal: [(String, Double)] = [("K", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12), ("P", 1e15)]
    static let binary: [(String, Double)] = [
        ("KI", 1024), ("MI", 1_048_576), ("GI", 1_073_741_824), ("TI", 1_099_511_627_776), ("PI", 1_125_899_906_842_624),
    ]

    /// Parses `text` into bytes.
    /// - Parameters:
    ///   - text: "16G", "16GiB", "512MB", "123".
    ///   - argument: the argument the text came from, for the error.
    /// - Returns: the size in bytes (rounded down to whole bytes).
    public static func parse(_ text: String, argument: APIArgument) throws -> Int {
        var unit = text.trimmingSpaces.uppercased()
        var number = ""
        while let first = unit.first, first.isNumber || first == "." {
            number.append(first)
            unit.removeFirst()
        }
        unit = unit.trimmingSpaces
        if unit.hasSuffix("B") { unit.removeLast() }
        guard !number.isEmpty, let value = Double(number), value.isFinite else {
            throw BudgetError.invalidSize(argument: argument, text: text, reason: "does not start with a number")
        }
        var scale = 1.0
        if !unit.isEmpty {
            guard let match = (decimal + binary).first(where: { $0.0 == unit }) else {
                throw BudgetError.invalidSize(argument: argument, text: text, reason: "has an unknown unit")
            }
            scale = match.1
        }
        let bytes = value * scale
        guard bytes >= 1, bytes < 9.2e18 else {
            throw BudgetError.invalidSize(argument: argument, text: text, reason: bytes < 1 ? "is less than one byte" : "is too large")
        }
        return Int(bytes)
    }
}

extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return String(text)
    }
}
