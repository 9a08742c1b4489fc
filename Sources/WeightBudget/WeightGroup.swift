import WeightFormats

/// A set of identically shaped tensors: one tensor of a checkpoint, or all the copies of one
/// projection across the layers of an analytic layout.
public struct WeightGroup: Sendable, Equatable {
    /// A tensor name, or a pattern such as `layers.*.q_proj.weight`.
    public var name: String
    public var component: BudgetComponent
    /// The shape of one tensor, outermost first.
    public var shape: [Int]
    /// How many such tensors there are.
    public var copies: Int
    /// For routed experts: how many of `expertCount` experts a token uses.
    public var routing: (used: Int, count: Int)?
    /// The storage type, when the tensors come from a file.
    public var dtype: TensorDType?
    /// Bytes of all copies as stored, when the tensors come from a file.
    public var storedBytes: Int?

    public init(name: String, component: BudgetComponent, shape: [Int], copies: Int = 1,
                routing: (used: Int, count: Int)? = nil, dtype: TensorDType? = nil, storedBytes: Int? = nil) {
        self.name = name
        self.component = component
        self.shape = shape
        self.copies = copies
        self.routing = routing
        self.dtype = dtype
        self.storedBytes = storedBytes
    }

    /// Elements of one tensor.
    public var elementsPerCopy: Int { shape.reduce(1, *) }
    /// Elements of all copies.
    public var elements: Int { elementsPerCopy * copies }
    /// The innermost dimension: what a quantisation block must divide.
    public var rowLength: Int { shape.last ?? 1 }
    /// Whether this is a matrix (quantisable) rather than a vector (norm weights, biases).
    public var isMatrix: Bool { shape.count >= 2 && shape.dropLast().reduce(1, *) > 1 }

    public static func == (lhs: WeightGroup, rhs: WeightGroup) -> Bool {
        lhs.name == rhs.name && lhs.component == rhs.component && lhs.shape == rhs.shape && lhs.copies == rhs.copies
            && lhs.routing?.used == rhs.routing?.used && lhs.routing?.count == rhs.routing?.count
            && lhs.dtype == rhs.dtype && lhs.storedBytes == rhs.storedBytes
    }
}

/// A tensor as a file stores (or would store) it.
public struct StoredTensor: Sendable, Equatable {
    public var name: String
    /// Outermost first.
    public var shape: [Int]
    public var dtype: TensorDType?
    public var bytes: Int

    public init(name: String, shape: [Int], dtype: TensorDType?, bytes: Int) {
        self.name = name
        self.shape = shape
        self.dtype = dtype
        self.bytes = bytes
    }
}
