import WeightFormats

/// What a checkpoint's `preprocessor_config.json` says to do with an image before the encoder,
/// and doing it as transformers' image processors do with the PIL backend
/// (`image_processing_backends.PilBackend`): convert to RGB, resize with Pillow, centre-crop,
/// rescale, normalise, channels first.
///
/// CLIP: resize the shortest side to `size.shortest_edge` (the long side `int(size * long /
/// short)`), bicubic, centre-crop to `crop_size`. SigLIP: resize straight to `size.height` x
/// `size.width`, bicubic, no crop.
public struct ImagePreprocessor: Sendable, Equatable {
    public enum Resize: Sendable, Equatable {
        case shortestEdge(Int)
        case exact(height: Int, width: Int)
    }

    public var resize: Resize?
    public var resample: Resample
    /// Centre crop (height, width), if any.
    public var crop: (height: Int, width: Int)? { cropSize.map { ($0[0], $0[1]) } }
    var cropSize: [Int]?
    public var rescaleFactor: Double?
    public var mean: [Float]?
    public var standardDeviation: [Float]?

    /// Pillow's resampling filters, by the numbers configs store (`PIL.Image.Resampling`).
    public enum Resample: Int, Sendable, Equatable {
        case bilinear = 2
        case bicubic = 3
    }

    public init(resize: Resize?, resample: Resample = .bicubic, crop: (height: Int, width: Int)? = nil, rescaleFactor: Double? = 1 / 255,
                mean: [Float]? = nil, standardDeviation: [Float]? = nil) {
        self.resize = resize
        self.resample = resample
        self.cropSize = crop.map { [$0.height, $0.width] }
        self.rescaleFactor = rescaleFactor
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    /// Reads the `preprocessor_config.json` in `directory` (or the file itself).
    public static func load(_ path: String) throws -> ImagePreprocessor {
        let file = FileSystem.isDirectory(path) ? PathName.join(path, "preprocessor_config.json") : path
        guard FileSystem.isRegularFile(file) else { throw ImageError.missingPreprocessor(path: path) }
        return try parse(JSON.parse(FileSystem.readFile(file)), file: file)
    }

    /// Parses a processor configuration (CLIPImageProcessor, SiglipImageProcessor and the like).
    public static func parse(_ json: JSONValue, file: String) throws -> ImagePreprocessor {
        func invalid(_ key: String, _ reason: String) -> ImageError { .invalidPreprocessor(file: file, key: key, reason: reason) }
        func flag(_ key: String, _ fallback: Bool) throws -> Bool {
            guard let value = json[key] else { return fallback }
            guard let bool = value.boolValue else { throw invalid(key, "must be true or false") }
            return bool
        }
        func positive(_ value: JSONValue?, _ key: String) throws -> Int {
            guard let int = value?.intValue, int > 0 else { throw invalid(key, "must be a positive integer") }
            return int
        }
        func triple(_ key: String) throws -> [Float] {
            guard let value = json[key] else { throw invalid(key, "is missing") }
            if let number = value.doubleValue { return Array(repeating: Float(number), count: 3) }
            guard let numbers = value.arrayValue?.compactMap(\.doubleValue), numbers.count == 3 else {
                throw invalid(key, "must be a number or three numbers")
            }
            return numbers.map(Float.init)
        }
        // An integer size means the shortest edge for CLIP's processor, a square otherwise.
        let shortestEdgeByDefault = json["image_processor_type"]?.stringValue?.hasPrefix("CLIP") ?? false
        var processor = ImagePreprocessor(resize: nil)
        if try flag("do_resize", true) {
            guard let size = json["size"] else { throw invalid("size", "is missing") }
            if let object = size.objectValue {
                if let edge = object["shortest_edge"] {
                    guard object["longest_edge"] == nil else { throw invalid("size", "with longest_edge is not implemented") }
                    processor.resize = .shortestEdge(try positive(edge, "size.shortest_edge"))
                } else {
                    processor.resize = .exact(height: try positive(object["height"], "size.height"), width: try positive(object["width"], "size.width"))
                }
            } else {
                let edge = try positive(size, "size")
                processor.resize = shortestEdgeByDefault ? .shortestEdge(edge) : .exact(height: edge, width: edge)
            }
            let code = json["resample"]?.intValue ?? 2
            guard let resample = Resample(rawValue: code) else { throw invalid("resample", "is \(code); bilinear (2) and bicubic (3) are implemented") }
            processor.resample = resample
        }
        if try flag("do_center_crop", false) {
            guard let crop = json["crop_size"] else { throw invalid("crop_size", "is missing") }
            if let object = crop.objectValue {
                processor.cropSize = [try positive(object["height"], "crop_size.height"), try positive(object["width"], "crop_size.width")]
            } else {
                let side = try positive(crop, "crop_size")
                processor.cropSize = [side, side]
            }
        }
        processor.rescaleFactor = nil
        if try flag("do_rescale", true) {
            if let value = json["rescale_factor"] {
                guard let factor = value.doubleValue else { throw invalid("rescale_factor", "must be a number") }
                processor.rescaleFactor = factor
            } else {
                processor.rescaleFactor = 1 / 255
            }
        }
        if try flag("do_normalize", true) {
            processor.mean = try triple("image_mean")
            processor.standardDeviation = try triple("image_std")
        }
        return processor
    }

    public static func == (a: ImagePreprocessor, b: ImagePreprocessor) -> Bool {
        a.resize == b.resize && a.resample == b.resample && a.cropSize == b.cropSize && a.rescaleFactor == b.rescaleFactor
            && a.mean == b.mean && a.standardDeviation == b.standardDeviation
    }

    /// The image's pixel values `[3, height, width]`, float32, channels first.
    ///
    /// - Parameter path: names the image in errors.
    public func pixelValues(_ image: RGBImage, path: String = "image") throws -> (values: [Float], height: Int, width: Int) {
        var image = image
        switch resize {
        case .shortestEdge(let edge)?:
            // transformers' get_resize_output_image_size(default_to_square=False).
            let short = min(image.width, image.height), long = max(image.width, image.height)
            let newLong = Int(Double(edge) * Double(long) / Double(short))
            image = image.width <= image.height
                ? resized(image, width: edge, height: newLong) : resized(image, width: newLong, height: edge)
        case .exact(let height, let width)?:
            image = resized(image, width: width, height: height)
        case nil:
            break
        }
        var top = 0, left = 0, height = image.height, width = image.width
        if let crop {
            guard crop.height <= image.height, crop.width <= image.width else {
                throw ImageError.cannotCrop(path: path, width: image.width, height: image.height, cropWidth: crop.width, cropHeight: crop.height)
            }
            top = (image.height - crop.height) / 2
            left = (image.width - crop.width) / 2
            height = crop.height
            width = crop.width
        }
        // Rescale in float64 then float32, normalise in float32, as transformers' numpy code.
        var values = [Float](repeating: 0, count: 3 * height * width)
        for c in 0..<3 {
            let mean = self.mean?[c], deviation = standardDeviation?[c]
            for y in 0..<height {
                for x in 0..<width {
                    let sample = image.pixels[((top + y) * image.width + left + x) * 3 + c]
                    var value = rescaleFactor.map { Float(Double(sample) * $0) } ?? Float(sample)
                    if let mean, let deviation { value = (value - mean) / deviation }
                    values[(c * height + y) * width + x] = value
                }
            }
        }
        return (values, height, width)
    }

    /// Pillow's `Image.resize` for 8-bit images (libImaging/Resample.c): a separable convolution
    /// whose support widens with the reduction factor (antialiasing), horizontal pass first,
    /// fixed-point coefficients with 22 fractional bits, each pass rounded and clipped to 8 bits.
    func resized(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        var current = image
        if width != current.width {
            let taps = PillowFilter.coefficients(input: current.width, output: width, resample: resample)
            var out = [UInt8](repeating: 0, count: width * current.height * 3)
            for y in 0..<current.height {
                for x in 0..<width {
                    let (start, weights) = taps[x]
                    for c in 0..<3 {
                        var sum: Int32 = 1 << (PillowFilter.precisionBits - 1)
                        for (k, weight) in weights.enumerated() {
                            sum &+= Int32(current.pixels[(y * current.width + start + k) * 3 + c]) &* weight
                        }
                        out[(y * width + x) * 3 + c] = PillowFilter.clip(sum)
                    }
                }
            }
            current = RGBImage(width: width, height: current.height, pixels: out)
        }
        if height != current.height {
            let taps = PillowFilter.coefficients(input: current.height, output: height, resample: resample)
            var out = [UInt8](repeating: 0, count: width * height * 3)
            for y in 0..<height {
                let (start, weights) = taps[y]
                for x in 0..<width {
                    for c in 0..<3 {
                        var sum: Int32 = 1 << (PillowFilter.precisionBits - 1)
                        for (k, weight) in weights.enumerated() {
                            sum &+= Int32(current.pixels[((start + k) * width + x) * 3 + c]) &* weight
                        }
                        out[(y * width + x) * 3 + c] = PillowFilter.clip(sum)
                    }
                }
            }
            current = RGBImage(width: width, height: height, pixels: out)
        }
        return current
    }
}

/// Pillow's resampling coefficients (`precompute_coeffs`, `normalize_coeffs_8bpc`).
enum PillowFilter {
    static let precisionBits: Int32 = 32 - 8 - 2

    static func filter(_ x: Double, _ resample: ImagePreprocessor.Resample) -> Double {
        let x = abs(x)
        switch resample {
        case .bilinear:
            return x < 1 ? 1 - x : 0
        case .bicubic:
            let a = -0.5
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        }
    }

    static func support(_ resample: ImagePreprocessor.Resample) -> Double { resample == .bilinear ? 1 : 2 }

    /// For each output pixel, the first input pixel and the fixed-point weights.
    static func coefficients(input: Int, output: Int, resample: ImagePreprocessor.Resample) -> [(Int, [Int32])] {
        let scale = Double(input) / Double(output)
        let filterScale = max(scale, 1)
        let support = self.support(resample) * filterScale
        return (0..<output).map { index in
            let center = (Double(index) + 0.5) * scale
            let first = max(Int(center - support + 0.5), 0)
            let last = min(Int(center + support + 0.5), input)
            var weights = (first..<max(first, last)).map { filter((Double($0) - center + 0.5) / filterScale, resample) }
            let total = weights.reduce(0, +)
            if total != 0 { weights = weights.map { $0 / total } }
            let one = Double(1 << precisionBits)
            return (first, weights.map { Int32($0 < 0 ? -0.5 + $0 * one : 0.5 + $0 * one) })
        }
    }

    @inline(__always)
    static func clip(_ sum: Int32) -> UInt8 {
        let value = sum >> precisionBits
        return UInt8(clamping: value)
    }
}
