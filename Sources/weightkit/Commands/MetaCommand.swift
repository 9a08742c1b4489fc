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
            through a temporary file renamed over it, re-aligning the data. Either way the file \
            a symlink points to is edited (the symlink stays) and the file keeps its mode and, \
            where allowed, its owner. When stdin and stderr are terminals, meta asks before \
            editing in place (--yes skips the question); otherwise it proceeds.

            --dry-run prints the changes and writes nothing. --output NEW writes the edited file \
            to NEW and leaves PATH untouched (as gguf-py's gguf_new_metadata.py); an existing \
            NEW needs --force, and NEW may never be PATH itself.
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

    @Flag(help: "Print the changes the edits would make; write nothing.")
    var dryRun = false

    @Option(help: ArgumentHelp("Write the edited file here and leave PATH untouched.", valueName: "new-file"))
    var output: String?

    @Flag(help: "Edit in place without asking, even on a terminal.")
    var yes = false

    @Flag(help: "Replace an existing --output file (never PATH itself).")
    var force = false

    func validate() throws {
        if assignments.isEmpty && deletions.isEmpty {
            if dryRun || output != nil || yes || force {
                throw ValidationError("--dry-run, --output, --yes and --force go with --set or --delete")
            }
        }
        if dryRun && output != nil { throw ValidationError("give --dry-run or --output, not both") }
        if force && output == nil { throw ValidationError("--force replaces an existing --output file; give --output") }
    }

    func run() throws {
        signal(SIGXFSZ, SIG_IGN)
        try reportingErrors {
            let edits = try assignments.map(MetadataEdit.parseSet) + deletions.map { MetadataEdit.delete(key: $0) }
            if edits.isEmpty {
                try MetadataListing.write(try Checkpoint.open(path), json: json)
                return
            }
            let changes = try MetadataChanges.describe(edits, in: path)
            if dryRun {
                var out = OutputBuffer()
                for change in changes { out.line(change) }
                out.line("dry run: \(SafeText.escaped(path)) was not changed")
                out.flush()
                return
            }
            if let output {
                let outputs = OutputTargets(force: force, inputs: [path])
                try outputs.check(["--output": output])
                _ = try MetadataEditor.apply(edits, to: path, output: output, overwrite: force, inputs: outputs.inputs)
                if !quiet { Terminal.writeError("wrote \(SafeText.escaped(output)) with the new header; \(SafeText.escaped(path)) is unchanged\n") }
                return
            }
            if !yes && Terminal.stdinIsTerminal && Terminal.stderrIsTerminal {
                for change in changes { Terminal.writeError(change + "\n") }
                Terminal.writeError("edit \(SafeText.escaped(path)) in place? [y/N] ")
                let answer = readLine(strippingNewline: true) ?? ""
                guard ["y", "yes"].contains(answer.lowercased()) else {
                    throw CommandFailure("not confirmed: \(path) was not changed")
                }
            }
            let outcome = try MetadataEditor.apply(edits, to: path)
            if !quiet {
                switch outcome {
                case .inPlace(let bytes): Terminal.writeError("edited \(SafeText.escaped(path)) in place (\(bytes) header bytes changed)\n")
                case .rewritten: Terminal.writeError("rewrote \(SafeText.escaped(path)) with the new header\n")
                }
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

/// The changes `meta --set/--delete` would make, one line each, for `--dry-run` and the
/// confirmation question: `set KEY (TYPE): OLD -> NEW`, `add KEY (TYPE) = NEW`,
/// `delete KEY (TYPE, was OLD)`. The edits are validated first (the same errors as the edit).
enum MetadataChanges {
    static func describe(_ edits: [MetadataEdit], in path: String) throws -> [String] {
        let checkpoint = try Checkpoint.open(path)
        var lines: [String] = []
        if let gguf = checkpoint.gguf {
            let final = try MetadataEditor.edited(gguf.metadata, edits, path: path)
            var current: [String: (type: String, text: String)] = [:]
            for entry in gguf.metadata.entries {
                current[entry.key] = (entry.value.typeName, MetadataText.summary(entry.value, width: 60))
            }
            for edit in edits {
                switch edit {
                case .delete(let key):
                    let old = current[key]
                    lines.append("delete \(key) (\(old?.type ?? "?"), was \(old?.text ?? "?"))")
                    current[key] = nil
                case .set(let key, let type, let value):
                    let typeName = (type ?? final[key]?.type).map(\.name) ?? "?"
                    let new = typeName == "STRING" ? MetadataText.quoted(value, width: 60) : value
                    if let old = current[key] {
                        lines.append("set \(key) (\(typeName)): \(old.text) -> \(new)")
                    } else {
                        lines.append("add \(key) (\(typeName)) = \(new)")
                    }
                    current[key] = (typeName, new)
                }
            }
        } else {
            _ = try MetadataEditor.edited(checkpoint.safetensorsMetadata, edits, path: path)
            var current: [String: String] = [:]
            for entry in checkpoint.safetensorsMetadata { current[entry.key] = MetadataText.quoted(entry.value, width: 60) }
            for edit in edits {
                switch edit {
                case .delete(let key):
                    lines.append("delete \(key) (was \(current[key] ?? "?"))")
                    current[key] = nil
                case .set(let key, _, let value):
                    let new = MetadataText.quoted(value, width: 60)
                    if let old = current[key] { lines.append("set \(key): \(old) -> \(new)") } else { lines.append("add \(key) = \(new)") }
                    current[key] = new
                }
            }
        }
        return lines.map(SafeText.escaped)
    }
}
