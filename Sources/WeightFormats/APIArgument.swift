/// An argument of a library call, by the name the API gives it (`overwrite`,
/// `BudgetRequest.contexts`). Errors about a caller's argument carry one, so that their
/// messages speak the library's language; a front end that spells its arguments differently
/// (the command line's `--force`, `--ctx`) renders them through `ArgumentDescribing`.
public struct APIArgument: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    public init(_ name: String) { self.name = name }
    public var description: String { name }
}

/// An error whose message may name arguments of the call that failed.
public protocol ArgumentDescribing: Error, CustomStringConvertible {
    /// The message, each argument written as `spelling` spells it.
    func description(spelling: (APIArgument) -> String) -> String
}

extension ArgumentDescribing {
    /// The message with arguments named as the library API names them.
    public var description: String { description(spelling: \.name) }
}

extension APIArgument {
    /// Replacing an existing destination (`OutputFile(overwrite:)`, `ConversionOptions.overwrite`).
    public static let overwrite = APIArgument("overwrite")
    /// A zstd compression setting parsed by `ZstdCompression(parsing:)`.
    public static let compression = APIArgument("compression")
    /// A metadata assignment parsed by `MetadataEdit.parseSet(_:)`.
    public static let metadataSet = APIArgument("MetadataEdit.parseSet")
    /// A key removed with `MetadataEdit.delete`.
    public static let metadataDelete = APIArgument("MetadataEdit.delete")
}
