// libFuzzer target for the safetensors parser (`make fuzz`). Compiled into one module with
// Sources/WeightFormats, so it reaches the internal in-memory MappedFile.
//
// Every input either throws a FormatError or yields a file whose invariants hold.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    guard let mapped = try? MappedFile(copying: input, path: "fuzz.safetensors") else { return 0 }
    guard let file = try? SafeTensorsFile(file: mapped) else { return 0 }
    checkSafeTensors(file)
    return 0
}

func checkSafeTensors(_ file: SafeTensorsFile) {
    precondition(file.headerLength <= SafeTensorsLimits.maxHeaderLength)
    precondition(file.dataOffset <= file.file.size)
    // The tensors tile the data section exactly, in order.
    var expected = 0
    var names = Set<String>()
    for info in file.tensorInfos {
        precondition(names.insert(info.name).inserted, "duplicate tensor")
        precondition(info.name != SafeTensorsLimits.metadataKey)
        precondition(info.dataBegin == expected && info.dataEnd >= info.dataBegin)
        precondition(info.shape.allSatisfy { $0 >= 0 })
        let elements = info.shape.reduce(1, *)
        precondition(elements * info.dtype.bitWidth == (info.dataEnd - info.dataBegin) * 8)
        expected = info.dataEnd
    }
    precondition(file.dataOffset + expected == file.file.size)
    for view in file.tensorViews() {
        precondition(view.offset >= file.dataOffset && view.offset + view.byteCount <= file.file.size)
    }
    _ = file.metadata.count
}
