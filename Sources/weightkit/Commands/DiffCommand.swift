import ArgumentParser
import WeightConversion
import WeightFormats

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two checkpoints of the same model tensor by tensor, in any formats and types.",
        discussion: """
            A is the reference. Hugging Face and GGUF names are paired as convert maps them \
            (llama's Q/K permutation applied, per-expert tensors stacked); files of the same kind \
            pair by name. Per tensor: rel_l2 = ||A-B|| / ||A||, max_abs = max |A-B|, cosine = \
            A.B / (||A|| ||B||), summed in double precision. Also listed: tensors only in one \
            side, shape mismatches, and differing model description fields (config.json vs \
            GGUF metadata through the typed architecture), GGUF keys or config.json fields.

            --json prints one object:
              {"a", "b", "mapping",
               "summary": {"compared", "max_rel_l2", "max_abs", "min_cosine"},
               "tensors": [{"name", "shape", "a_sources", "b_sources", "a_dtype", "b_dtype",
                            "elements", "rel_l2", "max_abs", "cosine"}] (largest rel_l2 first),
               "only_in_a": [name], "only_in_b": [name],
               "shape_mismatches": [{"name", "a_shape", "b_shape"}],
               "metadata": [{"key", "a", "b"}] (null where a side has no such field),
               "notes": [text]}
            Non-finite numbers are written as the strings "NaN", "Infinity", "-Infinity". \
            Exit status 0 when the comparison ran (whatever it found), 1 on an error.
            """
    )

    @Argument(help: "The reference checkpoint.")
    var a: String

    @Argument(help: "The checkpoint compared with it.")
    var b: String

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: "Rows of the text table (0: all).")
    var top = 40

    func validate() throws {
        guard top >= 0 else { throw ValidationError("--top must be 0 or more, got \(top)") }
    }

    func run() throws {
        try reportingErrors {
            let comparison = try CheckpointDiff.compare(a, b)
            if json { writeJSON(comparison) } else { writeText(comparison) }
        }
    }

    private func writeText(_ comparison: CheckpointComparison) {
        var out = OutputBuffer()
        out.line("A: " + SafeText.escaped(a))
        out.line("B: " + SafeText.escaped(b))
        out.line("tensors paired \(comparison.mapping)")
        out.line()
        var table = TextTable(["tensor", "shape", "A", "B", "rel L2", "max abs", "cosine"], rightAligned: [4, 5, 6])
        let shown = top == 0 ? comparison.tensors[...] : comparison.tensors.prefix(top)
        for tensor in shown {
            let s = tensor.statistics
            table.add([tensor.name, Formatting.shape(tensor.shape), tensor.dtypeA, tensor.dtypeB,
                       scientific(s.relativeL2Error), scientific(s.maxAbsoluteError), Formatting.fixed(s.cosineSimilarity, 8)])
        }
        table.render(into: &out)
        if shown.count < comparison.tensors.count {
            out.line("  ... \(comparison.tensors.count - shown.count) more with smaller errors (--top 0 shows all)")
        }
        func list(_ title: String, _ names: [String]) {
            guard !names.isEmpty else { return }
            out.line()
            out.line("\(title) (\(names.count)):")
            for name in names { out.line("  " + SafeText.escaped(name)) }
        }
        list("only in A", comparison.onlyInA)
        list("only in B", comparison.onlyInB)
        if !comparison.shapeMismatches.isEmpty {
            out.line()
            out.line("shape mismatches (\(comparison.shapeMismatches.count)):")
            for m in comparison.shapeMismatches {
                out.line("  \(SafeText.escaped(m.name))  A \(Formatting.shape(m.shapeA))  B \(Formatting.shape(m.shapeB))")
            }
        }
        if !comparison.metadata.isEmpty {
            out.line()
            var fields = TextTable(["metadata", "A", "B"])
            for d in comparison.metadata { fields.add([d.key, d.a ?? "-", d.b ?? "-"]) }
            fields.render(into: &out)
        }
        for note in comparison.notes { out.line("note: " + SafeText.escaped(note)) }
        out.line()
        let summary = Summary(comparison)
        out.line("\(comparison.tensors.count) tensors compared: max rel L2 \(scientific(summary.maxRelativeL2)), "
            + "max abs \(scientific(summary.maxAbsolute)), min cosine \(Formatting.fixed(summary.minCosine, 8)); "
            + "\(comparison.onlyInA.count) only in A, \(comparison.onlyInB.count) only in B, "
            + "\(comparison.shapeMismatches.count) shape mismatches, \(comparison.metadata.count) metadata differences")
        out.flush()
    }

    private func writeJSON(_ comparison: CheckpointComparison) {
        var out = JSONStream()
        func number(_ value: Double) {
            if value.isFinite { out.raw(JSONWriter.format(value)) } else { out.string(value.isNaN ? "NaN" : value > 0 ? "Infinity" : "-Infinity") }
        }
        func strings(_ values: [String]) {
            out.raw("[")
            for (index, value) in values.enumerated() {
                if index > 0 { out.comma() }
                out.string(value)
            }
            out.raw("]")
        }
        func shape(_ dims: [Int]) { out.raw("[" + dims.map(String.init).joined(separator: ",") + "]") }
        let summary = Summary(comparison)
        out.raw("{"); out.key("a"); out.string(a)
        out.comma(); out.key("b"); out.string(b)
        out.comma(); out.key("mapping"); out.string(comparison.mapping)
        out.comma(); out.key("summary"); out.raw("{")
        out.key("compared"); out.int(comparison.tensors.count)
        out.comma(); out.key("max_rel_l2"); number(summary.maxRelativeL2)
        out.comma(); out.key("max_abs"); number(summary.maxAbsolute)
        out.comma(); out.key("min_cosine"); number(summary.minCosine)
        out.raw("}")
        out.comma(); out.key("tensors"); out.raw("[")
        for (index, tensor) in comparison.tensors.enumerated() {
            let s = tensor.statistics
            if index > 0 { out.comma() }
            out.raw("{"); out.key("name"); out.string(tensor.name)
            out.comma(); out.key("shape"); shape(tensor.shape)
            out.comma(); out.key("a_sources"); strings(tensor.sourcesA)
            out.comma(); out.key("b_sources"); strings(tensor.sourcesB)
            out.comma(); out.key("a_dtype"); out.string(tensor.dtypeA)
            out.comma(); out.key("b_dtype"); out.string(tensor.dtypeB)
            out.comma(); out.key("elements"); out.int(s.elementCount)
            out.comma(); out.key("rel_l2"); number(s.relativeL2Error)
            out.comma(); out.key("max_abs"); number(s.maxAbsoluteError)
            out.comma(); out.key("cosine"); number(s.cosineSimilarity)
            out.raw("}")
        }
        out.raw("]")
        out.comma(); out.key("only_in_a"); strings(comparison.onlyInA)
        out.comma(); out.key("only_in_b"); strings(comparison.onlyInB)
        out.comma(); out.key("shape_mismatches"); out.raw("[")
        for (index, m) in comparison.shapeMismatches.enumerated() {
            if index > 0 { out.comma() }
            out.raw("{"); out.key("name"); out.string(m.name)
            out.comma(); out.key("a_shape"); shape(m.shapeA)
            out.comma(); out.key("b_shape"); shape(m.shapeB)
            out.raw("}")
        }
        out.raw("]")
        out.comma(); out.key("metadata"); out.raw("[")
        for (index, d) in comparison.metadata.enumerated() {
            if index > 0 { out.comma() }
            out.raw("{"); out.key("key"); out.string(d.key)
            out.comma(); out.key("a"); if let v = d.a { out.string(v) } else { out.raw("null") }
            out.comma(); out.key("b"); if let v = d.b { out.string(v) } else { out.raw("null") }
            out.raw("}")
        }
        out.raw("]")
        out.comma(); out.key("notes"); strings(comparison.notes)
        out.raw("}")
        out.finish()
    }

    private func scientific(_ value: Double) -> String {
        guard value.isFinite, value != 0 else { return Formatting.short(value) }
        var exponent = 0
        var mantissa = abs(value)
        while mantissa >= 10 { mantissa /= 10; exponent += 1 }
        while mantissa < 1 { mantissa *= 10; exponent -= 1 }
        return (value < 0 ? "-" : "") + Formatting.fixed(mantissa, 3) + "e" + (exponent < 0 ? "-" : "+") + String(abs(exponent)).leftPadded(2)
    }
}

/// The worst values over all compared tensors.
private struct Summary {
    var maxRelativeL2 = 0.0, maxAbsolute = 0.0, minCosine = 1.0

    init(_ comparison: CheckpointComparison) {
        for tensor in comparison.tensors {
            let s = tensor.statistics
            maxRelativeL2 = s.relativeL2Error.isNaN || maxRelativeL2.isNaN ? .nan : max(maxRelativeL2, s.relativeL2Error)
            maxAbsolute = s.maxAbsoluteError.isNaN || maxAbsolute.isNaN ? .nan : max(maxAbsolute, s.maxAbsoluteError)
            minCosine = s.cosineSimilarity.isNaN || minCosine.isNaN ? .nan : min(minCosine, s.cosineSimilarity)
        }
    }
}
