// libFuzzer target for the JSON reader and writer (`make fuzz`). Compiled into one module with
// Sources/WeightFormats.
//
// Checks, for every input: parsing throws a FormatError or succeeds without trapping; what
// parses, written back compactly and indented, parses to the same value; and the UTF-8
// validator agrees with the standard library's.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    precondition(input.isValidUTF8 == (String(validating: UnsafeBufferPointer(start: data, count: size), as: UTF8.self) != nil),
                 "UTF-8 validators disagree")
    guard let mapped = try? MappedFile(copying: input, path: "fuzz.json") else { return 0 }
    let value: JSONValue
    do {
        value = try JSON.parse(mapped.bytes, baseOffset: 0)
    } catch let error as FormatError {
        switch error {
        case .invalidJSON(let offset, _), .jsonNestingTooDeep(let offset, _), .duplicateKey(_, let offset):
            precondition(offset >= 0 && offset <= size, "error offset outside the input")
        default:
            preconditionFailure("unexpected error \(error)")
        }
        return 0
    } catch {
        preconditionFailure("non-FormatError \(error)")
    }
    for indent in [nil, 2] as [Int?] {
        let text = JSONWriter.string(value, indent: indent)
        guard let again = try? JSON.parse(text) else { preconditionFailure("written JSON does not parse: \(text)") }
        precondition(again == value, "round trip changed the value")
    }
    return 0
}
