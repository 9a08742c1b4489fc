import WeightArchitecture
import WeightFormats

/// An SVG chart of a budget: the KV cache against context length (log axis) for the requested
/// cache type and two quantised ones, and the parameters by component as bars.
public struct BudgetPlot {
    public let budget: ModelBudget
    public let title: String

    static let width = 1000.0, height = 440.0
    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939"]

    public init(budget: ModelBudget, title: String) {
        self.budget = budget
        self.title = title
    }

    /// Writes the chart atomically to `path`.
    ///
    /// - Parameters:
    ///   - overwrite: replace an existing file; otherwise one is an error.
    ///   - inputs: files the caller read, which `path` may never be.
    public func write(to path: String, overwrite: Bool = false, inputs: InputFiles = InputFiles()) throws {
        let file = try OutputFile(destination: path, overwrite: overwrite, inputs: inputs)
        do {
            try file.write(svg())
            try file.commit()
        } catch {
            file.abandon()
            throw error
        }
    }

    /// The SVG document.
    public func svg() -> String {
        let hasCache = budget.architecture.text != nil && budget.kvCache != nil
        // Without a KV-cache panel the chart is only as tall as its bars.
        let height = hasCache ? Self.height : Double(110 + 36 * budget.parameters.byComponent.count)
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(Self.width))" height="\(Int(height))" viewBox="0 0 \(Int(Self.width)) \(Int(height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Self.width / 2)" y="26" font-size="17" font-weight="bold" text-anchor="middle">\(escape(title)): \(escape(budget.architecture.modelType)), \(Self.count(budget.parameters.total)) parameters</text>

            """
        if hasCache, let text = budget.architecture.text {
            svg += kvPanel(text, x: 80, y: 60, width: 400, height: 300)
            svg += parameterPanel(x: 640, y: 60, width: 300, height: 300)
        } else {
            svg += parameterPanel(x: 260, y: 60, width: 600, height: 300)
        }
        svg += "</svg>\n"
        return svg
    }

    // MARK: Panels

    func kvPanel(_ text: TextStack, x: Double, y: Double, width: Double, height: Double) -> String {
        guard let kv = budget.kvCache else { return "" }
        let longest = max(budget.contexts.max() ?? 4096, text.contextLength, 1024)
        var low = 256, high = 256
        while high < longest { high *= 2 }
        if high / low < 16 { low = max(1, high / 16) }
        let series: [(String, GGMLType, GGMLType)] = {
            var list = [("\(kv.typeK.name.lowercased())/\(kv.typeV.name.lowercased()) (requested)", kv.typeK, kv.typeV)]
            for type in [GGMLType.f16, .q8_0, .q4_0] where !(type == kv.typeK && type == kv.typeV) {
                list.append((type.name.lowercased(), type, type))
            }
            return list
        }()
        var points: [(String, [(Int, Int)])] = []
        for (label, typeK, typeV) in series {
            // Powers of two across the axis, plus the requested contexts so their markers sit on the line.
            var samples = Set(budget.contexts.filter { $0 >= low && $0 <= high })
            var context = low
            while context <= high { samples.insert(context); context *= 2 }
            let values: [(Int, Int)] = samples.sorted().compactMap { context in
                (try? KVCacheBudget.bytes(text: text, typeK: typeK, typeV: typeV, context: context, parallel: kv.parallel)).map { (context, $0) }
            }
            if !values.isEmpty { points.append((label, values)) }
        }
        let maxBytes = Double(points.flatMap { $0.1.map(\.1) }.max() ?? 1)
        let (unit, unitName) = Self.byteUnit(maxBytes)
        let yStep = Self.niceStep(maxBytes / unit / 5)
        let yMax = (maxBytes / unit / yStep).rounded(.up) * yStep
        func px(_ context: Int) -> Double { x + width * (log2(Double(context)) - log2(Double(low))) / (log2(Double(high)) - log2(Double(low))) }
        func py(_ bytes: Double) -> Double { y + height - height * bytes / unit / yMax }

        var s = "<text x=\"\(x + width / 2)\" y=\"\(y - 10)\" font-size=\"14\" text-anchor=\"middle\">KV cache\(kv.parallel > 1 ? " (\(kv.parallel) sequences)" : "") against context</text>\n"
        var tick = 0.0
        while tick <= yMax + yStep / 2 {
            let ty = py(tick * unit)
            s += "<line x1=\"\(x)\" y1=\"\(ty)\" x2=\"\(x + width)\" y2=\"\(ty)\" stroke=\"#e5e5e5\"/>\n"
            s += "<text x=\"\(x - 6)\" y=\"\(ty + 4)\" font-size=\"11\" text-anchor=\"end\">\(Self.format(tick))</text>\n"
            tick += yStep
        }
        var context = low
        while context <= high {
            let tx = px(context)
            s += "<line x1=\"\(tx)\" y1=\"\(y)\" x2=\"\(tx)\" y2=\"\(y + height)\" stroke=\"#f0f0f0\"/>\n"
            s += "<text x=\"\(tx)\" y=\"\(y + height + 16)\" font-size=\"11\" text-anchor=\"middle\">\(Self.contextLabel(context))</text>\n"
            context *= 2
        }
        s += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(width)\" height=\"\(height)\" fill=\"none\" stroke=\"#444\"/>\n"
        s += "<text x=\"\(x + width / 2)\" y=\"\(y + height + 36)\" font-size=\"12\" text-anchor=\"middle\">context length (tokens per sequence, log scale)</text>\n"
        s += "<text x=\"\(x - 52)\" y=\"\(y + height / 2)\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 \(x - 52) \(y + height / 2))\">KV cache (\(unitName))</text>\n"
        for (index, (label, values)) in points.enumerated() {
            let color = Self.palette[index % Self.palette.count]
            let path = values.map { "\(px($0.0)),\(py(Double($0.1)))" }.joined(separator: " ")
            s += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(index == 0 ? 2.5 : 1.5)\"\(index == 0 ? "" : " stroke-dasharray=\"5,3\"")/>\n"
            let ly = y + 18 + Double(index) * 18
            s += "<line x1=\"\(x + 12)\" y1=\"\(ly - 4)\" x2=\"\(x + 36)\" y2=\"\(ly - 4)\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            s += "<text x=\"\(x + 42)\" y=\"\(ly)\" font-size=\"11\">\(escape(label))</text>\n"
        }
        // The requested contexts, labelled with their size.
        for entry in kv.contexts where entry.context >= low && entry.context <= high {
            let cx = px(entry.context), cy = py(Double(entry.bytes))
            s += "<circle cx=\"\(cx)\" cy=\"\(cy)\" r=\"4\" fill=\"\(Self.palette[0])\"/>\n"
            s += "<text x=\"\(cx - 6)\" y=\"\(cy - 8)\" font-size=\"11\" text-anchor=\"end\">\(Self.bytesLabel(entry.bytes))</text>\n"
        }
        if let fit = budget.fit {
            let available = Double(fit.memory - budget.weights.bytes)
            if available > 0, available <= yMax * unit {
                s += "<line x1=\"\(x)\" y1=\"\(py(available))\" x2=\"\(x + width)\" y2=\"\(py(available))\" stroke=\"#d62728\" stroke-dasharray=\"2,2\"/>\n"
                s += "<text x=\"\(x + width - 4)\" y=\"\(py(available) - 4)\" font-size=\"11\" text-anchor=\"end\" fill=\"#d62728\">memory left after weights</text>\n"
            }
        }
        return s
    }

    func parameterPanel(x: Double, y: Double, width: Double, height: Double) -> String {
        let parts = budget.parameters.byComponent
        guard !parts.isEmpty else { return "" }
        let largest = Double(parts.map(\.count).max() ?? 1)
        let bar = min(30.0, height / Double(parts.count) - 6)
        var s = "<text x=\"\(x + width / 2)\" y=\"\(y - 10)\" font-size=\"14\" text-anchor=\"middle\">Parameters by component</text>\n"
        let total = Double(budget.parameters.total)
        let barWidth = width - 90
        for (index, part) in parts.enumerated() {
            let by = y + Double(index) * (bar + 6)
            let length = max(1, barWidth * Double(part.count) / largest)
            s += "<text x=\"\(x - 8)\" y=\"\(by + bar / 2 + 4)\" font-size=\"12\" text-anchor=\"end\">\(part.component.name.replacingUnderscores)</text>\n"
            s += "<rect x=\"\(x)\" y=\"\(by)\" width=\"\(length)\" height=\"\(bar)\" fill=\"\(Self.palette[index % Self.palette.count])\"/>\n"
            let share = total > 0 ? Double(part.count) * 100 / total : 0
            s += "<text x=\"\(x + length + 6)\" y=\"\(by + bar / 2 + 4)\" font-size=\"11\">\(Self.count(part.count)) (\(Self.format(share, decimals: 1))%)</text>\n"
        }
        if budget.parameters.active != budget.parameters.total {
            let ty = y + Double(parts.count) * (bar + 6) + 16
            s += "<text x=\"\(x)\" y=\"\(ty)\" font-size=\"12\">active per token: \(Self.count(budget.parameters.active))</text>\n"
        }
        return s
    }

    // MARK: Formatting

    func escape(_ text: String) -> String {
        text.replacingAll("&", with: "&amp;").replacingAll("<", with: "&lt;").replacingAll(">", with: "&gt;")
    }

    static func byteUnit(_ bytes: Double) -> (Double, String) {
        if bytes >= 1_073_741_824 { return (1_073_741_824, "GiB") }
        if bytes >= 1_048_576 { return (1_048_576, "MiB") }
        if bytes >= 1024 { return (1024, "KiB") }
        return (1, "bytes")
    }

    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0 else { return 1 }
        var magnitude = 1.0
        while magnitude * 10 <= raw { magnitude *= 10 }
        while magnitude > raw { magnitude /= 10 }
        for factor in [1.0, 2, 2.5, 5, 10] where magnitude * factor >= raw { return magnitude * factor }
        return magnitude * 10
    }

    static func format(_ value: Double, decimals: Int? = nil) -> String {
        let digits = decimals ?? (value == value.rounded() ? 0 : (value * 10 == (value * 10).rounded() ? 1 : 2))
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        if digits == 0 { return String(Int(rounded)) }
        let integer = Int(rounded.rounded(.towardZero))
        let fraction = Int(((rounded - Double(integer)) * scale).rounded())
        var fractionText = String(fraction)
        while fractionText.count < digits { fractionText = "0" + fractionText }
        return "\(integer).\(fractionText)"
    }

    static func count(_ value: Int) -> String {
        for (scale, suffix) in [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")] where Double(value) >= scale {
            return format(Double(value) / scale, decimals: 2) + suffix
        }
        return String(value)
    }

    static func bytesLabel(_ bytes: Int) -> String {
        let (unit, name) = byteUnit(Double(bytes))
        return format(Double(bytes) / unit, decimals: 2) + " " + name
    }

    static func contextLabel(_ context: Int) -> String {
        if context >= 1_048_576 && context % 1_048_576 == 0 { return "\(context / 1_048_576)M" }
        if context >= 1024 && context % 1024 == 0 { return "\(context / 1024)K" }
        return String(context)
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        split(separator: Substring(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }

    var replacingUnderscores: String { replacingAll("_", with: " ") }
}

func log2(_ value: Double) -> Double {
    var result = 0.0, x = value
    while x >= 2 { x /= 2; result += 1 }
    while x < 1 { x *= 2; result -= 1 }
    // log2 of the remaining mantissa in [1, 2) by its series in ln.
    let y = (x - 1) / (x + 1), y2 = y * y
    var term = y, sum = 0.0
    for k in stride(from: 1, through: 41, by: 2) { sum += term / Double(k); term *= y2 }
    return result + 2 * sum / 0.693_147_180_559_945_3
}
