/// Unicode normalization forms on code point arrays.
///
/// Decompositions come from `DecompositionData` (generated from Python's unicodedata, see its
/// header); canonical combining classes and composition (NFC) from the Swift runtime.
enum Normalization {
    private struct Mapping {
        var compatibility: Bool
        var values: [UInt32]
    }

    private static let mappings: [UInt32: Mapping] = {
        var table: [UInt32: Mapping] = [:]
        table.reserveCapacity(6000)
        for entry in DecompositionData.entries.split(whereSeparator: { $0 == ";" || $0 == "\n" }) {
            guard let colon = entry.firstIndex(of: ":"), let kind = entry.first else { continue }
            guard let value = UInt32(entry[entry.index(after: entry.startIndex)..<colon], radix: 16) else { continue }
            let values = entry[entry.index(after: colon)...].split(separator: ",").compactMap { UInt32($0, radix: 16) }
            table[value] = Mapping(compatibility: kind == "k", values: values)
        }
        return table
    }()

    private static let hangulBase: UInt32 = 0xAC00, hangulCount: UInt32 = 11172
    private static let leadBase: UInt32 = 0x1100, vowelBase: UInt32 = 0x1161, trailBase: UInt32 = 0x11A7
    private static let vowelCount: UInt32 = 21, trailCount: UInt32 = 28

    /// Appends the full decomposition of `value` (canonical only, or compatibility too).
    static func decompose(_ value: UInt32, compatibility: Bool, into output: inout [UInt32]) {
        if value < 0xA0 { output.append(value); return }
        if value >= hangulBase && value < hangulBase + hangulCount {
            let index = value - hangulBase
            output.append(leadBase + index / (vowelCount * trailCount))
            output.append(vowelBase + (index % (vowelCount * trailCount)) / trailCount)
            let trail = index % trailCount
            if trail != 0 { output.append(trailBase + trail) }
            return
        }
        guard let mapping = mappings[value], !mapping.compatibility || compatibility else {
            output.append(value)
            return
        }
        for part in mapping.values { decompose(part, compatibility: compatibility, into: &output) }
    }

    static func combiningClass(_ value: UInt32) -> UInt8 {
        guard value >= 0x300, let scalar = Unicode.Scalar(value) else { return 0 }
        return UInt8(scalar.properties.canonicalCombiningClass.rawValue)
    }

    /// Canonical ordering: runs of non-starters sorted by combining class, stably.
    static func reorder(_ values: inout [UInt32]) {
        var start = 0
        while start < values.count {
            guard combiningClass(values[start]) != 0 else { start += 1; continue }
            var end = start
            while end < values.count && combiningClass(values[end]) != 0 { end += 1 }
            if end - start > 1 {
                let run = values[start..<end].enumerated().sorted {
                    let a = combiningClass($0.element), b = combiningClass($1.element)
                    return a != b ? a < b : $0.offset < $1.offset
                }.map(\.element)
                values.replaceSubrange(start..<end, with: run)
            }
            start = end
        }
    }

    static func nfd(_ values: [UInt32]) -> [UInt32] { decomposed(values, compatibility: false) }
    static func nfkd(_ values: [UInt32]) -> [UInt32] { decomposed(values, compatibility: true) }

    private static func decomposed(_ values: [UInt32], compatibility: Bool) -> [UInt32] {
        var output: [UInt32] = []
        output.reserveCapacity(values.count)
        for value in values { decompose(value, compatibility: compatibility, into: &output) }
        reorder(&output)
        return output
    }

    /// NFC through the standard library (which composes with the runtime's Unicode tables).
    static func nfc(_ values: [UInt32]) -> [UInt32] {
        if values.allSatisfy({ $0 < 0x300 }) { return values }
        var string = ""
        string.unicodeScalars.append(contentsOf: values.compactMap(Unicode.Scalar.init))
        let bytes = string._nfcCodeUnits
        return UTF8Text.codepointsLikeLlama(bytes)
    }

    static func nfkc(_ values: [UInt32]) -> [UInt32] { nfc(nfkd(values)) }

    /// llama.cpp's `unicode_cpts_normalize_nfd`: each code point replaced by the first code
    /// point of its NFD form.
    static func firstOfNFD(_ value: UInt32) -> UInt32 {
        guard value >= 0xC0 else { return value }
        var output: [UInt32] = []
        decompose(value, compatibility: false, into: &output)
        return output.first ?? value
    }
}
