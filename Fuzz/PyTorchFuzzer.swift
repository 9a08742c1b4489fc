// libFuzzer target for the PyTorch zip checkpoint reader: the ZIP directory, the pickle
// machine and the state-dict search (`make fuzz`). Compiled into one module with
// Sources/WeightFormats, so it reaches the internal in-memory MappedFile.
//
// Every input either throws a FormatError or yields tensors whose views lie inside their
// mappings and whose sizes agree with their shapes.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    guard let mapped = try? MappedFile(copying: input, path: "fuzz.pth") else { return 0 }
    guard let file = try? PyTorchFile(file: mapped) else { return 0 }
    precondition(file.tensorInfos.count == file.tensors.count)
    var names = Set<String>()
    for (info, view) in zip(file.tensorInfos, file.tensors) {
        precondition(names.insert(info.name).inserted, "duplicate tensor")
        precondition(info.shape.allSatisfy { $0 >= 0 } && info.shape.count == info.strides.count)
        precondition(view.byteCount == view.elementCount * info.dtype.bitWidth / 8)
        precondition(view.offset >= 0 && view.byteCount <= view.file.size - view.offset, "view outside its mapping")
        if view.byteCount > 0 { _ = view.bytes.reduce(0, &+) }
    }
    return 0
}
