// libFuzzer target for the pickle machine alone (`make fuzz`): the input is the pickle, run
// without a ZIP archive around it, then searched for a state dict as the PyTorch reader does.
// Compiled into one module with Sources/WeightFormats, so it reaches the internal types and
// the guard-paged in-memory MappedFile.
//
// Every input either throws a FormatError or yields a value; a state dict found has unique
// names and tensor records whose shapes and strides agree. Time and memory stay linear in
// the input (libFuzzer's -timeout and -rss_limit_mb catch the rest).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    guard let mapped = try? MappedFile(copying: input, path: "fuzz.pkl") else { return 0 }
    let machine = PickleMachine(bytes: mapped.bytes, baseOffset: 0)
    guard let root = try? machine.run() else { return 0 }
    withExtendedLifetime(machine) {
        guard let (_, entries) = try? PyTorchStateDict.find(in: root) else { return }
        var names = Set<String>()
        for (name, tensor) in entries {
            precondition(names.insert(name).inserted, "duplicate tensor name")
            precondition(tensor.shape.count == tensor.strides.count && tensor.shape.count <= PickleLimits.maxDimensions)
            precondition(tensor.shape.allSatisfy { $0 >= 0 } && tensor.storageOffset >= 0)
        }
    }
    return 0
}
