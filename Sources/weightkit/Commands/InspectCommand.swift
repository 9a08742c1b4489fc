import ArgumentParser
import WeightFormats

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a checkpoint's format, metadata and tensors.",
        discussion: """
            Reads only the headers: a 100 GB file opens as fast as a small one.

            --json prints one lossless JSON object:
              {"format": "gguf"|"safetensors"|"pytorch", "version": N, "metadata": {...},
               "metadata_types": {...}, "tensors": [{"name", "dtype", "shape", "offset",
               "nbytes", "file"}]}
            ("version" and "metadata_types" for GGUF only). Shapes are row-major (outermost \
            first), offsets absolute in their file, nbytes without padding.
            """
    )

    @Argument(help: "A .gguf (any part of a split set), .safetensors, .pth/.bin, index.json or model directory.")
    var path: String

    @Flag(help: "Print one JSON object instead of tables.")
    var json = false

    func run() throws {
        try reportingErrors {
            let checkpoint = try Checkpoint.open(path)
            if let gguf = checkpoint.gguf {
                for (key, count) in gguf.invalidUTF8Strings() {
                    Terminal.warn("key '\(key)': \(count) string value\(count == 1 ? " is" : "s are") not valid UTF-8; "
                                  + (json ? "shown with U+FFFD" : "invalid bytes shown as \\xNN"))
                }
            }
            if json {
                InspectReport.writeJSON(checkpoint)
            } else {
                InspectReport.writeText(checkpoint)
            }
        }
    }
}

/// The two renderings of `inspect`.
enum InspectReport {
    static func writeJSON(_ checkpoint: Checkpoint) {
        var out = JSONStream()
        out.raw("{")
        out.key("format"); out.string(checkpoint.format.rawValue)
        if let gguf = checkpoint.gguf {
            out.comma(); out.key("version"); out.int(Int(gguf.version))
            out.comma(); out.key("metadata"); out.raw("{")
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
            out.raw("}")
        } else {
            out.comma(); out.key("metadata"); out.raw("{")
            for (index, entry) in checkpoint.safetensorsMetadata.enumerated() {
                if index > 0 { out.comma() }
                out.key(entry.key)
                out.string(entry.value)
            }
            out.raw("}")
        }
        out.comma(); out.key("tensors"); out.raw("[")
        for (index, tensor) in checkpoint.tensors.enumerated() {
            if index > 0 { out.comma() }
            out.raw("{")
            out.key("name"); out.string(tensor.name)
            out.comma(); out.key("dtype"); out.string(tensor.dtype.name)
            out.comma(); out.key("shape"); out.raw("[" + tensor.shape.map(String.init).joined(separator: ",") + "]")
            out.comma(); out.key("offset"); out.int(checkpoint.fileOffset(of: tensor))
            out.comma(); out.key("nbytes"); out.int(tensor.byteCount)
            out.comma(); out.key("file"); out.string(tensor.fileName)
            out.raw("}")
        }
        out.raw("]}")
        out.finish()
    }

    static func writeText(_ checkpoint: Checkpoint) {
        var out = OutputBuffer()
        // Integer tensors (index buffers such as position_ids) are not parameters, as for
        // transformers' num_parameters() and `weightkit budget`.
        let integerTensors = checkpoint.tensors.filter { $0.dtype.isInteger }
        let parameters = checkpoint.tensors.reduce(0) { $0 + ($1.dtype.isInteger ? 0 : $1.elementCount) }
        let fileCount = checkpoint.files.count
        var format: String
        if let gguf = checkpoint.gguf {
            format = "GGUF v\(gguf.version)" + (gguf.byteOrder == .bigEndian ? " (big-endian)" : "")
            format += ", alignment \(gguf.alignment)"
        } else if let pytorch = checkpoint.pytorchFiles.first {
            format = "PyTorch zip (torch.save)"
            if !pytorch.stateDictPath.isEmpty { format += ", state dict at " + pytorch.stateDictPath.joined(separator: ".") }
        } else {
            format = "safetensors"
        }
        if fileCount > 1 { format += ", \(fileCount) files" }
        out.line(SafeText.escaped(checkpoint.path))
        var summary = TextTable(["", ""])
        summary.header = []
        var rows: [[String]] = [["format", format]]
        if let architecture = checkpoint.gguf?.architecture { rows.append(["architecture", architecture]) }
        if let name = checkpoint.gguf?.metadata.string("general.name") { rows.append(["name", name]) }
        var parameterText = "\(Formatting.count(parameters)) (\(Formatting.grouped(parameters))) in \(checkpoint.tensors.count - integerTensors.count) tensors"
        if !integerTensors.isEmpty {
            let values = integerTensors.reduce(0) { $0 + $1.elementCount }
            parameterText += "; not counted: \(integerTensors.count) integer tensor\(integerTensors.count == 1 ? "" : "s") (\(Formatting.grouped(values)) values)"
        }
        rows.append(["parameters", parameterText])
        rows.append(["file size", "\(Formatting.bytes(checkpoint.totalFileSize)) (\(Formatting.grouped(checkpoint.totalFileSize)) bytes)"])
        rows.append(["types", typeSummary(checkpoint.tensors)])
        let labelWidth = rows.map { $0[0].count }.max() ?? 0
        for row in rows { out.line("  " + row[0].padded(labelWidth) + "  " + SafeText.escaped(row[1])) }

        if let gguf = checkpoint.gguf {
            out.line()
            out.line("Metadata (\(gguf.metadata.count) keys)")
            var table = TextTable(["KEY", "TYPE", "VALUE"])
            let valueWidth = max(40, Terminal.width - 70)
            for entry in gguf.metadata.entries {
                table.add([entry.key, entry.value.typeName, MetadataText.summary(entry.value, width: valueWidth)])
            }
            table.render(into: &out)
        } else if !checkpoint.safetensorsMetadata.isEmpty {
            out.line()
            out.line("Metadata (__metadata__, \(checkpoint.safetensorsMetadata.count) keys)")
            var table = TextTable(["KEY", "VALUE"])
            for entry in checkpoint.safetensorsMetadata {
                table.add([entry.key, MetadataText.quoted(entry.value, width: max(40, Terminal.width - 40))])
            }
            table.render(into: &out)
        }

        out.line()
        out.line("Tensors (\(checkpoint.tensors.count))")
        let showFile = fileCount > 1
        var table = TextTable(showFile ? ["NAME", "TYPE", "SHAPE", "OFFSET", "SIZE", "FILE"] : ["NAME", "TYPE", "SHAPE", "OFFSET", "SIZE"],
                              rightAligned: [3, 4])
        for tensor in checkpoint.tensors {
            var row = [tensor.name, tensor.dtype.name, Formatting.shape(tensor.shape), String(checkpoint.fileOffset(of: tensor)), Formatting.bytes(tensor.byteCount)]
            if showFile { row.append(tensor.fileName) }
            table.add(row)
        }
        table.render(into: &out)
        out.flush()
    }

    /// "F16: 2, Q8_0: 168" in first-seen order with element-weighted order kept simple.
    static func typeSummary(_ tensors: [TensorView]) -> String {
        var counts: [String: Int] = [:]
        var order: [String] = []
        for tensor in tensors {
            if counts[tensor.dtype.name] == nil { order.append(tensor.dtype.name) }
            counts[tensor.dtype.name, default: 0] += 1
        }
        return order.map { "\($0) × \(counts[$0]!)" }.joined(separator: ", ")
    }
}

/// Short, single-line renderings of metadata values for tables.
enum MetadataText {
    static func summary(_ value: GGUFValue, width: Int) -> String {
        switch value {
        case .string(let s): return quoted(bytes: s.bytes, width: width)
        case .float32(let v): return Formatting.short(Double(v), significant: 9)
        case .float64(let v): return Formatting.short(v, significant: 17)
        case .array(let array):
            var text = "[\(Formatting.grouped(array.count))] "
            var shown = 0
            for index in 0..<array.count {
                let element = element(array, index)
                if text.count + element.count > width - 8 && shown > 0 {
                    text += ", …"
                    if index < array.count - 1, shown < array.count {
                        let last = self.element(array, array.count - 1)
                        if last.count < 24 { text += " " + last }
                    }
                    return text
                }
                text += (shown > 0 ? ", " : "") + element
                shown += 1
            }
            return text
        default:
            if let int = value.intValue { return String(int) }
            if case .uint64(let v) = value { return String(v) }
            if let bool = value.boolValue { return String(bool) }
            return ""
        }
    }

    static func element(_ array: GGUFArray, _ index: Int) -> String {
        if array.elementType == .string, let string = array.string(at: index) { return quoted(bytes: string.bytes, width: 24) }
        return summary(array[index], width: 24)
    }

    /// A string in double quotes, control characters escaped (`SafeText`), cut to `width`.
    static func quoted(_ text: String, width: Int) -> String {
        cut(SafeText.escaped(text), width: width)
    }

    /// Bytes that should be UTF-8 in double quotes, control characters and invalid bytes
    /// escaped (`SafeText`), cut to `width`.
    static func quoted(bytes: UnsafeRawBufferPointer, width: Int) -> String {
        // Only what can be shown is escaped: a long value costs its first bytes only.
        let shown = bytes.prefix(max(0, width) * 4 + 4)
        return cut(SafeText.escaped(bytes: shown), width: width)
    }

    private static func cut(_ escaped: String, width: Int) -> String {
        guard escaped.count > width else { return "\"" + escaped + "\"" }
        return "\"" + String(escaped.prefix(width)) + "…\""
    }
}
