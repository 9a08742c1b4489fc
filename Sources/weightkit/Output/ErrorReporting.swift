import ArgumentParser
import WeightAdapters
import WeightArchitecture
import WeightBudget
import WeightConversion
import WeightFormats
import WeightImages
import WeightModels
import WeightTokenizers

/// Runs a command body and turns WeightKit's typed errors into one line on stderr and exit
/// status 1 (control characters in the message escaped by `SafeText`, so names from a file can
/// neither drive the terminal nor break the line). Usage errors stay swift-argument-parser's.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error where commandLineMessage(error) != nil {
        Terminal.writeError("error: \(SafeText.escaped(commandLineMessage(error) ?? ""))\n")
        throw ExitCode(1)
    }
}

/// The message of one of WeightKit's errors as the command line says it (the library's
/// argument names spelt as flags); nil for an error that is not WeightKit's.
func commandLineMessage(_ error: any Error) -> String? {
    switch error {
    case let error as FormatError: error.description
    case let error as WriteError: error.description(spelling: CommandLineSpelling.flag)
    case let error as WriterError: error.description(spelling: CommandLineSpelling.flag)
    case let error as MetadataEditError: error.description(spelling: CommandLineSpelling.flag)
    case let error as KernelError: error.description
    case let error as ArchitectureError: error.description
    case let error as BudgetError: error.description(spelling: CommandLineSpelling.flag)
    case let error as ConversionError: error.description(spelling: CommandLineSpelling.flag)
    case let error as QuantizationError: error.description
    case let error as QuantizationPlanError: error.description
    case let error as ImportanceMatrixError: error.description
    case let error as ModelQuantizerError: error.description(spelling: CommandLineSpelling.flag)
    case let error as ModelError: error.description
    case let error as AdapterError: error.description
    case let error as ImportanceComputationError: error.description(spelling: CommandLineSpelling.flag)
    case let error as ImageError: error.description
    case let error as TokenizerError: error.description
    case let error as ChatTemplateError: error.description
    case let error as CommandFailure: error.message
    default: nil
    }
}

/// How the command line spells the library's arguments.
enum CommandLineSpelling {
    static let flags: [APIArgument: String] = [
        .overwrite: "--force",
        .compression: "--compress",
        .metadataSet: "--set",
        .metadataDelete: "--delete",
        .splitMaxSize: "--split-max-size",
        .tokenizerFrom: "--tokenizer-from",
        .mix: "--type",
        .allowRequantize: "--allow-requantize",
        .importance: "--imatrix",
        .contexts: "--ctx",
        .cacheTypeK: "--kv-type-k",
        .cacheTypeV: "--kv-type-v",
        .parallel: "--parallel",
        .loraRank: "--lora-rank",
        .loraTargets: "--lora-targets",
        .images: "--images",
        .frames: "--frames",
        .memory: "--memory",
        .bandwidth: "--bandwidth",
        .adapters: "--lora",
        .keepMergedTypes: "--type keep",
        .contextLength: "--ctx",
        .chunkLimit: "--chunks",
        .preTokenizer: "--tokenizer-pre",
    ]

    /// The flag of `argument`; an argument the command line defines itself (`.kvTypeFlag`) is
    /// already named by its flag.
    static func flag(_ argument: APIArgument) -> String { flags[argument] ?? argument.name }
}

extension APIArgument {
    /// `budget --kv-type`, which sets both cache types.
    static let kvTypeFlag = APIArgument("--kv-type")
}

/// A failure a command describes in its own words.
struct CommandFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
