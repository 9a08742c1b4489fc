import WeightFormats

/// Paths to the committed fixtures and their recorded references.
enum Fixture {
    static let root: String = {
        var path = #filePath
        for _ in 0..<3 { path = PathName.directory(of: path) }
        return path + "/Fixtures"
    }()

    static func path(_ relative: String) -> String { root + "/" + relative }

    static func json(_ relative: String) throws -> JSONValue {
        try JSON.parse(FileSystem.readFile(path(relative)))
    }

    /// `Fixtures/budget/parameters.json`: transformers' counts on the meta device.
    static func parameterReferences() throws -> JSONValue { try json("budget/parameters.json") }
}

extension JSONValue {
    /// An object's integer members.
    var integerMembers: [String: Int] {
        var result: [String: Int] = [:]
        for (key, value) in objectValue ?? JSONObject() { if let int = value.intValue { result[key] = int } }
        return result
    }
}
