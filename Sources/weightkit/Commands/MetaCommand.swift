import ArgumentParser
import WeightFormats

#if canImport(Glibc)
import Glibc
#endif

struct MetaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meta",
        abstract: "Print or edit the metadata of a GGUF file or a safetensors file's __metadata__.",
        discussion: """
            Without --set or --delete, prints the metadata (GGUF: key, type, value).

            --set KEY=VALUE changes an existing key, keeping its type. --set KEY:TYPE=VALUE \
            gives the type (gguf-py's names: UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, \
            INT64, FLOAT32, FLOAT64, BOOL, STRING); a new key needs one. BOOL values are true or \
            false. Arrays cannot be set. safetensors metadata holds strings only. \
            --delete KEY removes a key (an error when the file has none).

            Edits that keep the header's size are written in place; others rewrite the file \
            through a temporary file renamed over it, re-aligning the data.
            """
    )

    @Argument(help: "A .gguf or .safetensors file.")
    var path: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Set a key: KEY=VALUE or KEY:TYPE=VALUE.", valueName: "assignment"))
    var assignments: [String] = []

    @Option(name: .customLong("delete"), help: ArgumentHelp("Remove a key.", valueName: "key"))
    var deletions: [String] = []

    @Flag(help: "Print the metadata as JSON.")
    var json = false

    @Flag(help: "No summary on stderr after an edit.")
    var quiet = false

    func run() throws {
        signal(SIGXFSZ, SIG_IGN)
        try reportingErrors {
            do {
                let edits = try assignments.map(MetadataEdit.parseSet) + deletions.map { MetadataEdit.delete(key: $0) }
                if edits.isEmpty {
                    try MetadataListing.write(try Checkpoint.open(path), json: json)
                    return
                }
                let outcome = try MetadataEditor.apply(edits, to: path)
                if !quiet {
                    switch outcome {
                    case .inPlace(let bytes): Terminal.writeError("edited \(path) in place (\(bytes) header bytes changed)\n")
                    case .rewritten: Terminal.writeError("rewrote \(path) with the new header\n")
                    }
                }
            } catch let error as MetadataEditError {
                throw CommandFailure(error.description)
            } catch let error as WriterError {
                throw CommandFailure(error.description)
            }
        }
    }
}

/// `weightkit meta PATH`: the metadata alone, as a table or JSON.
enum MetadataListing {
    static func write(_ checkpoint: Checkpoint, json: Bool) throws {
        if json {
            var out = JSONStream()
            out.raw("{")
            out.key("format"); out.string(checkpoint.format.rawValue)
            out.comma(); out.key("metadata"); out.raw("{")
            if let gguf = checkpoint.gguf {
                for (index, entry) in gguf.metadata.entries.enumerated() {
                    if index > 0 { out.comma() }
                    out.key(entry.key)
                    out.value(entry.value)
                }
                out.raw("}")
                out.comma(); out.key("metadata_types"); out.raw("{")
                for (index, entry) in gguf.metadata.entries.enumerated() {
                    if index > 0 { out.comma() }
                    out.key(entry.key)
                    out.string(entry.value.typeName)
                }
            } else {
                for (index, entry) in checkpoint.safetensorsMetadata.enumerated() {
                    if index > 0 { out.comma() }
                    out.key(entry.key)
                    out.string(entry.value)
                }
            }
            out.raw("}}")
            out.finish()
            return
        }
        var table = TextTable(["key", "type", "value"])
        if let gguf = checkpoint.gguf {
            for entry in gguf.metadata.entries {
                table.add([entry.key, entry.value.typeName, MetadataText.summary(entry.value, width: 80)])
            }
        } else {
            for entry in checkpoint.safetensorsMetadata {
                table.add([entry.key, "STRING", MetadataText.quoted(entry.value, width: 80)])
            }
        }
        var output = OutputBuffer()
        table.render(indent: "", into: &output)
        output.flush()
    }
}
