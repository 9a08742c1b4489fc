import WeightFormats

/// The arguments of `Converter.convert` and `ModelQuantizer.quantize` that errors name.
extension APIArgument {
    public static let splitMaxSize = APIArgument("ConversionOptions.splitMaxSize")
    public static let tokenizerFrom = APIArgument("ConversionOptions.tokenizerFrom")
    public static let preTokenizer = APIArgument("ConversionOptions.preTokenizer")
    public static let mix = APIArgument("ConversionOptions.mix")
    public static let allowRequantize = APIArgument("allowRequantize")
    public static let importance = APIArgument("QuantizeOptions.importance")
    /// LoRA adapters merged by a conversion (`ConversionOptions.adapters`).
    public static let adapters = APIArgument("ConversionOptions.adapters")
    public static let keepMergedTypes = APIArgument("ConversionOptions.keepMergedTypes")
}
