// libFuzzer target for the GGUF parser (`make fuzz`). Compiled into one module with
// Sources/WeightFormats, so it reaches the internal in-memory MappedFile.
//
// Every input either throws a FormatError or yields a file whose invariants hold; anything
// else (a trap, an out-of-bounds read hitting the guard pages, a broken invariant) is a finding.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    guard let mapped = try? MappedFile(copying: input, path: "fuzz.gguf") else { return 0 }
    guard let file = try? GGUFFile(file: mapped) else { return 0 }
    checkGGUF(file)
    return 0
}

func checkGGUF(_ file: GGUFFile) {
    // The layout: header, aligned data section, tensors inside the file and disjoint.
    precondition(file.headerEnd <= file.file.size)
    precondition(file.alignment > 0 && file.alignment & (file.alignment - 1) == 0)
    precondition(file.dataOffset % file.alignment == 0 && file.dataOffset >= file.headerEnd)
    var names = Set<String>()
    for info in file.tensorInfos {
        precondition(names.insert(info.name).inserted, "duplicate tensor")
        precondition(info.name.utf8.count <= GGUFLimits.maxTensorNameBytes)
        precondition(info.dimensions.count <= GGUFLimits.maxDimensions)
        precondition(info.offset >= file.dataOffset && info.offset % file.alignment == 0)
        precondition(info.offset <= file.file.size && info.byteCount <= file.file.size - info.offset)
        precondition(info.type.byteCount(elements: info.elementCount) == info.byteCount)
    }
    let byStart = file.tensorInfos.filter { $0.byteCount > 0 }.sorted { $0.offset < $1.offset }
    for (a, b) in zip(byStart, byStart.dropFirst()) { precondition(a.offset + a.byteCount <= b.offset, "overlap") }

    // Every accessor on every value: the parser promised they cannot fail.
    for entry in file.metadata {
        precondition(file.metadata[entry.key] != nil)
        touch(entry.value)
    }
    _ = file.invalidUTF8Strings()
    _ = file.architecture
    for view in file.tensorViews() { precondition(view.byteCount >= 0) }
}

func touch(_ value: GGUFValue) {
    _ = value.typeName
    _ = value.intValue
    _ = value.doubleValue
    _ = value.stringValue
    guard case .array(let array) = value else { return }
    _ = array.strings()
    _ = array.integers()
    _ = array.doubles()
    var validStrings = 0
    for index in 0..<array.count {
        if let string = array.string(at: index), string.isValidUTF8 {
            // The validator used for counting must agree with the standard library's.
            precondition(String(validating: string.bytes.bindMemory(to: UInt8.self), as: UTF8.self) != nil)
            validStrings += 1
        }
    }
    if array.elementType == .string { precondition(array.count - validStrings == array.countInvalidUTF8()) }
    for element in array where element.type == .array { touch(element) }
}
