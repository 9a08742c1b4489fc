/// Number and size formatting for people.
enum Formatting {
    /// 1234567 -> "1,234,567".
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(character)
        }
        return value < 0 ? "-" + result : result
    }

    /// Bytes in binary units: "512 B", "1.50 KiB", "3.21 GiB".
    static func bytes(_ value: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var amount = Double(value)
        var unit = 0
        while amount >= 1024 && unit < units.count - 1 { amount /= 1024; unit += 1 }
        return unit == 0 ? "\(value) B" : fixed(amount, 2) + " " + units[unit]
    }

    /// A count with a metric suffix: "494.03 M", "7.24 B".
    static func count(_ value: Int) -> String {
        let units: [(Double, String)] = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")]
        for (scale, suffix) in units where Double(value) >= scale {
            return fixed(Double(value) / scale, 2) + " " + suffix
        }
        return String(value)
    }

    /// Fixed-point formatting without Foundation.
    static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (abs(value) * scale).rounded()
        guard rounded < 9e18 else { return value.description }
        let integer = Int(rounded)
        var text = String(integer / Int(scale))
        if decimals > 0 {
            text += "." + String(integer % Int(scale)).leftPadded(decimals)
        }
        return (value < 0 && rounded != 0 ? "-" : "") + text
    }

    /// A short representation for tables: up to `significant` significant digits.
    static func short(_ value: Double, significant: Int = 6) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1e-4 && magnitude < 1e7 {
            var decimals = significant - 1
            var m = magnitude
            while m >= 10 && decimals > 0 { m /= 10; decimals -= 1 }
            while m < 1 { m *= 10; decimals += 1 }
            var text = fixed(value, min(decimals, 12))
            if text.contains(".") {
                while text.hasSuffix("0") { text.removeLast() }
                if text.hasSuffix(".") { text.removeLast() }
            }
            return text
        }
        return Float(value).description
    }

    /// The shape as "[3, 4]".
    static func shape(_ shape: [Int]) -> String {
        "[" + shape.map(String.init).joined(separator: ", ") + "]"
    }
}

extension String {
    func leftPadded(_ width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }

    /// Pads with spaces on the right to `width` characters.
    func padded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

/// A plain text table: column widths from the content, the last column unpadded.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []
    /// Columns aligned to the right (numbers).
    var rightAligned: Set<Int> = []

    init(_ header: [String], rightAligned: Set<Int> = []) {
        self.header = header
        self.rightAligned = rightAligned
    }

    /// Adds a row; its cells are escaped (`SafeText`), since they hold names and values from files.
    mutating func add(_ row: [String]) { rows.append(row.map(SafeText.escaped)) }

    func render(indent: String = "  ", into output: inout OutputBuffer) {
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var text = indent
            for (index, cell) in cells.enumerated() {
                let last = index == cells.count - 1
                if rightAligned.contains(index) {
                    text += cell.leftPadded(widths[index], with: " ")
                } else {
                    text += last ? cell : cell.padded(widths[index])
                }
                if !last { text += "  " }
            }
            // A row with empty last cells (a section heading) ends at its last character.
            while text.hasSuffix(" ") { text.removeLast() }
            return text
        }
        output.line(line(header))
        for row in rows { output.line(line(row)) }
    }
}
