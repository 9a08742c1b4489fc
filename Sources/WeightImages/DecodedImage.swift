import CJPEG
import CPNG
import WeightFormats
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An 8-bit RGB image, rows top to bottom, pixels interleaved `R G B`.
public struct RGBImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "RGB pixels must number width * height * 3")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The most pixels an image may have unless the caller says otherwise: 178,956,970,
    /// Pillow's `DecompressionBombError` threshold (twice its `MAX_IMAGE_PIXELS` warning).
    public static let defaultMaxPixels = 178_956_970

    /// Reads a PNG or JPEG file (recognised by its first bytes) as RGB, as transformers'
    /// `convert_to_rgb` does with Pillow: palettes expanded, grey replicated, transparency
    /// composited onto white (`Image.alpha_composite`), 16-bit samples reduced to 8, no gamma or
    /// colour-profile conversion.
    ///
    /// - Parameter maxPixels: images whose header declares more pixels (width x height) are
    ///   refused with `.tooManyPixels` before anything is decoded.
    public static func read(_ path: String, maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
        let bytes = try FileSystem.readFile(path, limit: 256 << 20)
        return try decode(bytes, path: path, maxPixels: maxPixels)
    }

    /// Decodes a PNG or JPEG held in memory; `path` names it in errors.
    ///
    /// - Parameter maxPixels: images whose header declares more pixels are refused with
    ///   `.tooManyPixels` before anything is decoded.
    public static func decode(_ bytes: [UInt8], path: String, maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
        let format: String
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            format = "PNG"
        } else if bytes.starts(with: [0xFF, 0xD8, 0xFF]) {
            format = "JPEG"
        } else {
            throw ImageError.unsupportedFormat(path: path)
        }
        var buffer: UnsafeMutablePointer<UInt8>?
        var width: UInt32 = 0, height: UInt32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = bytes.withUnsafeBufferPointer { data in
            message.withUnsafeMutableBufferPointer { text in
                let limit = UInt64(max(0, maxPixels))
                return format == "PNG"
                    ? wk_png_decode_rgba(data.baseAddress, data.count, limit, &buffer, &width, &height, text.baseAddress, text.count)
                    : wk_jpeg_decode_rgb(data.baseAddress, data.count, limit, &buffer, &width, &height, text.baseAddress, text.count)
            }
        }
        if status == -2 {
            throw ImageError.tooManyPixels(path: path, width: Int(width), height: Int(height), limit: maxPixels)
        }
        guard status == 0, let buffer else {
            let reason = String(decoding: message.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw ImageError.cannotDecode(path: path, format: format, reason: reason.isEmpty ? "unknown error" : reason)
        }
        defer { free(buffer) }
        let pixelCount = Int(width) * Int(height)
        guard format == "PNG" else {
            return RGBImage(width: Int(width), height: Int(height), pixels: Array(UnsafeBufferPointer(start: buffer, count: pixelCount * 3)))
        }
        var rgb = [UInt8](repeating: 0, count: pixelCount * 3)
        for i in 0..<pixelCount {
            let alpha = UInt32(buffer[i * 4 + 3])
            for c in 0..<3 { rgb[i * 3 + c] = compositeOnWhite(UInt32(buffer[i * 4 + c]), alpha: alpha) }
        }
        return RGBImage(width: Int(width), height: Int(height), pixels: rgb)
    }

    /// One channel of Pillow's `alpha_composite` (libImaging/AlphaComposite.c) of a pixel over
    /// opaque white, in its fixed-point arithmetic (7 fractional bits, division by 255 by shifts).
    @inline(__always)
    static func compositeOnWhite(_ value: UInt32, alpha: UInt32) -> UInt8 {
        if alpha == 0 { return 255 }
        let precision: UInt32 = 7
        let blend = 255 * (255 - alpha)
        let total = alpha * 255 + blend
        let sourceWeight = alpha * 255 * 255 * (1 << precision) / total
        let backgroundWeight = 255 * (1 << precision) - sourceWeight
        let mixed = value * sourceWeight + 255 * backgroundWeight + (0x80 << precision)
        return UInt8(truncatingIfNeeded: (((mixed >> 8) + mixed) >> 8) >> precision)
    }
}
