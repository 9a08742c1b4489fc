import WeightFormats

/// What quantisation cannot do, naming the tensor, type, mix or file concerned.
public enum QuantizationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A type `TensorEncoding.quantizeRows` does not write.
    case typeNotQuantizable(type: String)
    /// A row length that is not a whole number of the type's blocks.
    case rowNotWholeBlocks(type: String, rowLength: Int, blockSize: Int)
    /// A type that needs importance weights (IQ2_XXS, IQ2_XS, IQ1_S) was given none.
    case importanceRequired(type: String)
    /// Importance weights of the wrong length.
    case importanceLength(expected: Int, found: Int)
    /// The kernel refused the values (a lattice search found no grid point: non-finite or
    /// overflowing values), or memory for its tables ran out.
    case quantizationFailed(type: String)

    public var description: String {
        switch self {
        case .typeNotQuantizable(let type):
            return "\(type) cannot be written by quantisation"
        case .rowNotWholeBlocks(let type, let rowLength, let blockSize):
            return "rows of \(rowLength) values are not a whole number of \(type) blocks of \(blockSize)"
        case .importanceRequired(let type):
            return "\(type) needs an importance matrix"
        case .importanceLength(let expected, let found):
            return "importance weights: expected \(expected) values (one per column), found \(found)"
        case .quantizationFailed(let type):
            return "\(type): the values could not be quantised (non-finite or out of range)"
        }
    }
}
