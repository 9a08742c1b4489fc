/// Why an image could not be read or preprocessed, naming the file.
public enum ImageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Neither PNG nor JPEG by its first bytes.
    case unsupportedFormat(path: String)
    /// The decoding library refused the file (corrupt, truncated, CMYK...).
    case cannotDecode(path: String, format: String, reason: String)
    /// A `preprocessor_config.json` key is missing, of the wrong type or not implemented.
    case invalidPreprocessor(file: String, key: String, reason: String)
    /// No `preprocessor_config.json` beside the model.
    case missingPreprocessor(path: String)
    /// The header declares more pixels than allowed (a decompression bomb, or `--max-pixels`).
    case tooManyPixels(path: String, width: Int, height: Int, limit: Int)
    /// The image cannot be cropped to the size asked for.
    case cannotCrop(path: String, width: Int, height: Int, cropWidth: Int, cropHeight: Int)

    public var description: String {
        switch self {
        case .unsupportedFormat(let path): return "\(path): not a PNG or JPEG image"
        case .cannotDecode(let path, let format, let reason): return "\(path): cannot decode the \(format) image: \(reason)"
        case .invalidPreprocessor(let file, let key, let reason): return "\(file): '\(key)' \(reason)"
        case .missingPreprocessor(let path): return "\(path): no preprocessor_config.json to say how images are resized and normalised"
        case .tooManyPixels(let path, let width, let height, let limit):
            return "\(path): a \(width)x\(height) image has \(width * height) pixels, more than the limit of \(limit)"
        case .cannotCrop(let path, let width, let height, let cropWidth, let cropHeight):
            return "\(path): a \(width)x\(height) image cannot be centre-cropped to \(cropWidth)x\(cropHeight)"
        }
    }
}
