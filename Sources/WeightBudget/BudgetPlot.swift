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

    func escape(_ text: String) -> String { Self.escaped(text) }

    static func escaped(_ text: String) -> String {
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

/// One SVG comparing several budgets: the KV cache of each against context length (log axis;
/// solid what the model holds, dashed what llama.cpp allocates where that differs), the
/// parameters of each by component as stacked bars, and the weights' bytes in three common
/// types as grouped bars.
public struct BudgetComparisonPlot {
    public let entries: [(title: String, budget: ModelBudget)]

    static let width = 1200.0
    /// Component colours, apart from the models' (BudgetPlot.palette).
    static let componentPalette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                                   "#9c755f", "#bab0ac", "#86bcb6", "#d37295"]
    /// The types the weights panel compares.
    static let weightTypes = ["f16", "q8_0", "q4_k"]

    /// - Parameter entries: each model's column title and budget, in the order to show them.
    public init(_ entries: [(title: String, budget: ModelBudget)]) {
        self.entries = entries
    }

    /// Writes the chart atomically to `path`.
    public func write(to path: String) throws {
        let file = try OutputFile(destination: path, overwrite: true)
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
        let count = Double(entries.count)
        let components = BudgetComponent.allCases.filter { component in
            entries.contains { $0.budget.parameters.count(of: component) > 0 }
        }
        // Right column: parameters (one bar per model, a legend), then weights (a bar per type and model).
        let parameterTop = 70.0, barHeight = 20.0, barGap = 8.0
        let parameterBottom = parameterTop + count * (barHeight + barGap)
        let legendRows = Double((components.count + 3) / 4)
        let weightTop = parameterBottom + 24 + legendRows * 16 + 40
        let weightBar = 12.0, weightGroup = Double(Self.weightTypes.count) * weightBar + 12
        let weightBottom = weightTop + count * weightGroup + 24
        let height = max(470, weightBottom + 20)
        let title = "Budgets side by side: " + entries.map(\.title).joined(separator: " · ")
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(Self.width))" height="\(Int(height))" viewBox="0 0 \(Int(Self.width)) \(Int(height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Self.width / 2)" y="28" font-size="17" font-weight="bold" text-anchor="middle">\(BudgetPlot.escaped(title))</text>

            """
        svg += kvPanel(x: 90, y: 70, width: 440, height: 320)
        svg += parameterPanel(components: components, x: 760, y: parameterTop, width: 330, bar: barHeight, gap: barGap)
        svg += weightPanel(x: 760, y: weightTop, width: 330, bar: weightBar, group: weightGroup)
        svg += "</svg>\n"
        return svg
    }

    func color(_ index: Int) -> String { BudgetPlot.palette[index % BudgetPlot.palette.count] }

    /// A bar label of at most 30 characters (the legend keeps the whole title).
    static func label(_ title: String) -> String {
        BudgetPlot.escaped(title.count > 30 ? String(title.prefix(29)) + "…" : title)
    }

    // MARK: KV cache

    func kvPanel(x: Double, y: Double, width: Double, height: Double) -> String {
        var s = "<text x=\"\(x + width / 2)\" y=\"\(y - 12)\" font-size=\"14\" text-anchor=\"middle\">KV cache against context</text>\n"
        let decoders = entries.enumerated().compactMap { index, entry -> (Int, String, ModelBudget, TextStack, KVCacheBudget)? in
            guard let text = entry.budget.architecture.text, let kv = entry.budget.kvCache else { return nil }
            return (index, entry.title, entry.budget, text, kv)
        }
        let longest = max(decoders.map { max($0.2.contexts.max() ?? 0, $0.3.contextLength) }.max() ?? 0, 1024)
        var low = 256, high = 256
        while high < longest { high *= 2 }
        if high / low < 16 { low = max(1, high / 16) }
        var samples: [Int] = []
        var context = low
        while context <= high { samples.append(context); context *= 2 }
        // Per model: (samples with the requested contexts, bytes held, llama.cpp's bytes).
        var curves: [(index: Int, title: String, points: [(Int, Int, Int)], requested: [Int])] = []
        for (index, title, budget, text, kv) in decoders {
            let contexts = Set(samples + budget.contexts.filter { $0 >= low && $0 <= high }).sorted()
            let windows = (try? ModelFamilies.family(of: budget.architecture))?.llamaCppHonoursSlidingWindow ?? true
            guard let curve = try? KVCacheBudget(text: text, typeK: kv.typeK, typeV: kv.typeV, contexts: contexts, parallel: kv.parallel,
                                                 llamaCppWindows: windows) else { continue }
            curves.append((index, title, curve.contexts.map { ($0.context, $0.bytes, $0.llamaCppBytes) },
                           budget.contexts.filter { $0 >= low && $0 <= high }))
        }
        let maxBytes = Double(curves.flatMap { $0.points.map { max($0.1, $0.2) } }.max() ?? 1)
        let (unit, unitName) = BudgetPlot.byteUnit(maxBytes)
        let yStep = BudgetPlot.niceStep(maxBytes / unit / 5)
        let yMax = max((maxBytes / unit / yStep).rounded(.up) * yStep, yStep)
        func px(_ context: Int) -> Double { x + width * (log2(Double(context)) - log2(Double(low))) / (log2(Double(high)) - log2(Double(low))) }
        func py(_ bytes: Double) -> Double { y + height - height * bytes / unit / yMax }
        var tick = 0.0
        while tick <= yMax + yStep / 2 {
            s += "<line x1=\"\(x)\" y1=\"\(py(tick * unit))\" x2=\"\(x + width)\" y2=\"\(py(tick * unit))\" stroke=\"#e5e5e5\"/>\n"
            s += "<text x=\"\(x - 6)\" y=\"\(py(tick * unit) + 4)\" font-size=\"11\" text-anchor=\"end\">\(BudgetPlot.format(tick))</text>\n"
            tick += yStep
        }
        for context in samples {
            s += "<line x1=\"\(px(context))\" y1=\"\(y)\" x2=\"\(px(context))\" y2=\"\(y + height)\" stroke=\"#f0f0f0\"/>\n"
            s += "<text x=\"\(px(context))\" y=\"\(y + height + 16)\" font-size=\"11\" text-anchor=\"middle\">\(BudgetPlot.contextLabel(context))</text>\n"
        }
        s += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(width)\" height=\"\(height)\" fill=\"none\" stroke=\"#444\"/>\n"
        let types = Set(decoders.map { "\($0.4.typeK.name.lowercased())/\($0.4.typeV.name.lowercased())" }).sorted().joined(separator: ", ")
        s += "<text x=\"\(x + width / 2)\" y=\"\(y + height + 36)\" font-size=\"12\" text-anchor=\"middle\">context length (tokens per sequence, log scale); \(BudgetPlot.escaped(types))</text>\n"
        s += "<text x=\"\(x - 56)\" y=\"\(y + height / 2)\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 \(x - 56) \(y + height / 2))\">KV cache (\(unitName))</text>\n"
        var differs = false
        for curve in curves {
            let stroke = color(curve.index)
            let held = curve.points.map { "\(px($0.0)),\(py(Double($0.1)))" }.joined(separator: " ")
            s += "<polyline points=\"\(held)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"2.5\"/>\n"
            if curve.points.contains(where: { $0.2 > $0.1 + $0.1 / 100 }) {
                differs = true
                let allocated = curve.points.map { "\(px($0.0)),\(py(Double($0.2)))" }.joined(separator: " ")
                s += "<polyline points=\"\(allocated)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"1.5\" stroke-dasharray=\"6,4\"/>\n"
            }
            for point in curve.points where curve.requested.contains(point.0) {
                s += "<circle cx=\"\(px(point.0))\" cy=\"\(py(Double(point.1)))\" r=\"4\" fill=\"\(stroke)\"/>\n"
            }
        }
        // Legend: one line per model, then the line styles.
        var ly = y + 18
        for (index, entry) in entries.enumerated() {
            let hasCache = curves.contains { $0.index == index }
            s += "<line x1=\"\(x + 12)\" y1=\"\(ly - 4)\" x2=\"\(x + 36)\" y2=\"\(ly - 4)\" stroke=\"\(hasCache ? color(index) : "#bbbbbb")\" stroke-width=\"2.5\"/>\n"
            s += "<text x=\"\(x + 42)\" y=\"\(ly)\" font-size=\"11\">\(BudgetPlot.escaped(entry.title + (hasCache ? "" : " (no KV cache)")))</text>\n"
            ly += 16
        }
        if differs {
            s += "<text x=\"\(x + 12)\" y=\"\(ly + 2)\" font-size=\"10\" fill=\"#555\">solid: what the model holds; dashed: what llama.cpp allocates</text>\n"
        }
        return s
    }

    // MARK: Parameters and weights

    func parameterPanel(components: [BudgetComponent], x: Double, y: Double, width: Double, bar: Double, gap: Double) -> String {
        var s = "<text x=\"\(x + width / 2)\" y=\"\(y - 12)\" font-size=\"14\" text-anchor=\"middle\">Parameters by component</text>\n"
        let largest = Double(entries.map(\.budget.parameters.total).max() ?? 1)
        for (row, entry) in entries.enumerated() {
            let by = y + Double(row) * (bar + gap)
            s += "<text x=\"\(x - 8)\" y=\"\(by + bar / 2 + 4)\" font-size=\"12\" text-anchor=\"end\">\(Self.label(entry.title))</text>\n"
            var offset = x
            for (index, component) in components.enumerated() {
                let count = entry.budget.parameters.count(of: component)
                guard count > 0, largest > 0 else { continue }
                let length = width * Double(count) / largest
                s += "<rect x=\"\(offset)\" y=\"\(by)\" width=\"\(length)\" height=\"\(bar)\" fill=\"\(Self.componentPalette[index % Self.componentPalette.count])\"/>\n"
                offset += length
            }
            s += "<text x=\"\(offset + 6)\" y=\"\(by + bar / 2 + 4)\" font-size=\"11\">\(BudgetPlot.count(entry.budget.parameters.total))</text>\n"
        }
        let legendTop = y + Double(entries.count) * (bar + gap) + 12
        for (index, component) in components.enumerated() {
            let lx = x - 100 + Double(index % 4) * 120, ly = legendTop + Double(index / 4) * 16
            s += "<rect x=\"\(lx)\" y=\"\(ly)\" width=\"10\" height=\"10\" fill=\"\(Self.componentPalette[index % Self.componentPalette.count])\"/>\n"
            s += "<text x=\"\(lx + 14)\" y=\"\(ly + 9)\" font-size=\"11\">\(component.name.replacingUnderscores)</text>\n"
        }
        return s
    }

    func weightPanel(x: Double, y: Double, width: Double, bar: Double, group: Double) -> String {
        var s = "<text x=\"\(x + width / 2)\" y=\"\(y - 12)\" font-size=\"14\" text-anchor=\"middle\">Weights as \(Self.weightTypes.joined(separator: ", "))</text>\n"
        let largest = Double(entries.flatMap { entry in Self.weightTypes.map { entry.budget.weights.bytes(as: $0) } }.max() ?? 1)
        let shades = ["#3b3b3b", "#7a7a7a", "#b5b5b5"]
        for (row, entry) in entries.enumerated() {
            let gy = y + Double(row) * group
            s += "<text x=\"\(x - 8)\" y=\"\(gy + Double(Self.weightTypes.count) * bar / 2 + 4)\" font-size=\"12\" text-anchor=\"end\">\(Self.label(entry.title))</text>\n"
            for (index, type) in Self.weightTypes.enumerated() {
                let bytes = entry.budget.weights.bytes(as: type)
                let length = largest > 0 ? max(1, width * Double(bytes) / largest) : 1
                let by = gy + Double(index) * bar
                s += "<rect x=\"\(x)\" y=\"\(by)\" width=\"\(length)\" height=\"\(bar - 2)\" fill=\"\(shades[index % shades.count])\"/>\n"
                s += "<text x=\"\(x + length + 4)\" y=\"\(by + bar - 3)\" font-size=\"9.5\">\(type) \(BudgetPlot.bytesLabel(bytes))</text>\n"
            }
        }
        return s
    }
}
