// libFuzzer target for the PNG and JPEG decoders behind `RGBImage.decode` (libpng and
// libjpeg through the CPNG and CJPEG shims, `make fuzz`). Compiled into one module with
// Sources/WeightFormats and WeightImages' decoding files.
//
// Every input either throws an ImageError or decodes to width x height x 3 bytes, and no
// image is decoded whose header declares more pixels than the limit (a small one here, so
// the fuzzer spends its time in the decoders rather than in large allocations).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let limit = 1 << 22
    do {
        let image = try RGBImage.decode(bytes, path: "fuzz.img", maxPixels: limit)
        precondition(image.width > 0 && image.height > 0 && image.width * image.height <= limit)
        precondition(image.pixels.count == image.width * image.height * 3)
    } catch let error as ImageError {
        if case .tooManyPixels(_, let width, let height, let maximum) = error {
            precondition(width * height > maximum, "refused an image within the limit")
        }
    } catch {
        preconditionFailure("an error that is not an ImageError: \(error)")
    }
    return 0
}
