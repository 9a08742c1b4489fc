/// llama.cpp's token attributes (`llama_token_attr`), bit for bit.
public struct TokenAttributes: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let unknown = TokenAttributes(rawValue: 1 << 0)
    public static let unused = TokenAttributes(rawValue: 1 << 1)
    public static let normal = TokenAttributes(rawValue: 1 << 2)
    public static let control = TokenAttributes(rawValue: 1 << 3)
    public static let userDefined = TokenAttributes(rawValue: 1 << 4)
    public static let byte = TokenAttributes(rawValue: 1 << 5)
    public static let normalized = TokenAttributes(rawValue: 1 << 6)
    public static let leftStrip = TokenAttributes(rawValue: 1 << 7)
    public static let rightStrip = TokenAttributes(rawValue: 1 << 8)
    public static let singleWord = TokenAttributes(rawValue: 1 << 9)

    /// The attribute of a `tokenizer.ggml.token_type` value (`llama_token_type`: 0 undefined,
    /// 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte); nil outside 0...6.
    init?(tokenType: Int) {
        switch tokenType {
        case 0: self = []
        case 1: self = .normal
        case 2: self = .unknown
        case 3: self = .control
        case 4: self = .userDefined
        case 5: self = .unused
        case 6: self = .byte
        default: return nil
        }
    }

    /// The `llama_token_type` this attribute corresponds to, for writing files back.
    var tokenType: Int {
        if contains(.byte) { return 6 }
        if contains(.userDefined) { return 4 }
        if contains(.control) { return 3 }
        if contains(.unknown) { return 2 }
        if contains(.unused) { return 5 }
        if contains(.normal) { return 1 }
        return 0
    }

    /// Tokens matched in the text before pre-tokenization (llama.cpp's special-token cache).
    static let matchedAsWhole: TokenAttributes = [.control, .userDefined, .unknown]
}
