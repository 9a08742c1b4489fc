// Opens a model file with WeightFormats and prints its tensors' names, one a line, then the
// sum of each tensor's decoded values, and the instruction-set tier the kernels chose.
#if canImport(Glibc)
import Glibc
#endif
import WeightFormats

guard CommandLine.arguments.count == 2 else {
    print("usage: weightkit-consumer FILE")
    exit(2)
}
do {
    let checkpoint = try Checkpoint.open(CommandLine.arguments[1])
    for tensor in checkpoint.tensors {
        let values = try tensor.floats()
        print("\(tensor.name) \(tensor.dtype.name) \(values.count) \(values.reduce(0, +))")
    }
    print("isa \(Kernels.best)")
} catch {
    print("error: \(error)")
    exit(1)
}
