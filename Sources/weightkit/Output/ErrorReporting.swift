import ArgumentParser
import WeightAdapters
import WeightArchitecture
import WeightBudget
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
    } catch let error as FormatError {
        Terminal.writeError("error: \(SafeText.escaped(error.description))\n")
        throw ExitCode(1)
    } catch let error as WriteError {
        Terminal.writeError("error: \(SafeText.escaped(error.description))\n")
        throw ExitCode(1)
    } catch let error as ArchitectureError {
        Terminal.writeError("error: \(SafeText.escaped(error.description))\n")
        throw ExitCode(1)
    } catch let error as ModelError {
        Terminal.writeError("error: \(SafeText.escaped(error.description))\n")
        throw ExitCode(1)
    } catch let error as AdapterError {
        Terminal.writeError("error: \(SafeText.escaped(error.description))\n")
        throw ExitCode(1)
    } catch let error as BudgetError {
        Terminal.writeError("error: \(SafeText.escaped(error.description))\n")
        throw ExitCode(1)
    } catch let error as ImageError {
        Terminal.writeError("error: \(SafeText.escaped(error.description))\n")
        throw ExitCode(1)
    } catch let error as ChatTemplateError {
        Terminal.writeError("error: \(error.description)\n")
        throw ExitCode(1)
    } catch let error as KernelError {
        Terminal.writeError("error: \(error.description)\n")
        throw ExitCode(1)
    } catch let error as TokenizerError {
        Terminal.writeError("error: \(error.description)\n")
        throw ExitCode(1)
    } catch let error as CommandFailure {
        Terminal.writeError("error: \(SafeText.escaped(error.message))\n")
        throw ExitCode(1)
    }
}

/// A failure a command describes in its own words.
struct CommandFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
