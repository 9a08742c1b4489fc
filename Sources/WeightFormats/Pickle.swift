/// Python's pickle format, read as data only: the subset that `torch.save` writes for state
/// dicts, interpreted by a stack machine that never calls anything.
///
/// A pickle is a sequence of one-byte opcodes, each with inline operands, ending at STOP
/// (`.`). Opcodes push values (ints, floats, strings, None, bools), build containers from the
/// values above the last MARK (tuples, lists, dicts), keep values in a memo (PUT/GET and their
/// binary forms, MEMOIZE) and name callables (GLOBAL "module\nname\n", STACK_GLOBAL) that
/// REDUCE, NEWOBJ and BUILD apply to arguments. Python's unpickler imports and calls whatever a
/// GLOBAL names, which is how a pickle runs code. This one resolves every GLOBAL against
/// `PickleAllowList` before anything else happens and refuses the rest, naming them; the
/// allowed callables are not called either, only recognised: `OrderedDict()` makes an empty
/// dict, `_rebuild_tensor_v2(...)` makes a tensor record, and so on.
///
/// Persistent ids (BINPERSID) are how `torch.save` refers to storages kept outside the
/// pickle: the id is the tuple `("storage", <storage type>, key, location, element count)`,
/// which becomes a `PickleStorage`; the PyTorch reader maps it to the archive entry
/// `<archive>/data/<key>`.
///
/// Opcodes of protocols 0–5 that state dicts use are read; INST, OBJ, the extension registry
/// (EXT1/2/4), out-of-band buffers and string persistent ids are refused by name, anything
/// else as an unknown opcode. Every operand is bounds-checked, every pop checks the stack,
/// every memo read checks the index; tuples nest at most `maxNesting` deep, and lists and
/// dicts are owned by one arena that takes them apart without recursion, so a hostile pickle
/// can neither exhaust the call stack nor allocate more than a constant times its own size.
public enum PickleLimits {
    /// The largest pickle read (a state dict of a million tensors is about 200 MB).
    public static let maxBytes = 1 << 30
    /// Tuples nested deeper than this are refused (state dicts nest three or four levels).
    public static let maxNesting = 64
    /// The longest text-line operand (GLOBAL module and name, text ints and floats).
    public static let maxLineLength = 4096
    /// The most dimensions a tensor record may have.
    public static let maxDimensions = 64
    /// The highest protocol whose PROTO opcode is accepted.
    public static let highestProtocol = 5
}

/// The callables and types a pickle may name: what `torch.save` writes for state dicts of
/// plain tensors and parameters. Everything else, in particular anything that could run code
/// (`posix.system`, `builtins.eval`, `torch.storage._load_from_bytes`...), is refused.
enum PickleGlobal: Equatable {
    /// `collections.OrderedDict`: called with no arguments (or pairs), or through NEWOBJ.
    case orderedDict
    /// `torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
    /// backward_hooks[, metadata])`; the dtype is the storage's.
    case rebuildTensorV2
    /// `torch._utils._rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad,
    /// backward_hooks, dtype[, metadata])`: for dtypes without a typed storage class (float8,
    /// uint16...), on an untyped (byte) storage.
    case rebuildTensorV3
    /// `torch._utils._rebuild_parameter(data, requires_grad, backward_hooks)`.
    case rebuildParameter
    /// `torch._utils._rebuild_parameter_with_state(data, requires_grad, backward_hooks, state)`.
    case rebuildParameterWithState
    /// `torch.FloatStorage` and the other typed storage classes: a storage's element type.
    case typedStorage(name: String, dtype: SafeTensorsDType)
    /// `torch.storage.UntypedStorage`: bytes.
    case untypedStorage
    /// `torch.float8_e4m3fn` and the other dtype objects, as `_rebuild_tensor_v3` takes them.
    case dtype(name: String, dtype: SafeTensorsDType)

    /// The dotted name a pickle uses for it.
    var qualifiedName: String {
        switch self {
        case .orderedDict: "collections.OrderedDict"
        case .rebuildTensorV2: "torch._utils._rebuild_tensor_v2"
        case .rebuildTensorV3: "torch._utils._rebuild_tensor_v3"
        case .rebuildParameter: "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: "torch._utils._rebuild_parameter_with_state"
        case .typedStorage(let name, _): "torch.\(name)"
        case .untypedStorage: "torch.storage.UntypedStorage"
        case .dtype(let name, _): "torch.\(name)"
        }
    }
}

enum PickleAllowList {
    /// Typed storage classes and their element types (torch's `_dtype_to_storage_type_map`,
    /// without the complex-double and quantised ones, which have no safetensors dtype).
    static let typedStorages: [String: SafeTensorsDType] = [
        "DoubleStorage": .f64, "FloatStorage": .f32, "HalfStorage": .f16, "BFloat16Storage": .bf16,
        "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8,
        "ByteStorage": .u8, "BoolStorage": .bool, "ComplexFloatStorage": .c64,
    ]

    /// dtype objects (`torch.<name>`) that `_rebuild_tensor_v3` may name.
    static let dtypes: [String: SafeTensorsDType] = [
        "float64": .f64, "double": .f64, "float32": .f32, "float": .f32, "float16": .f16, "half": .f16,
        "bfloat16": .bf16, "int64": .i64, "long": .i64, "int32": .i32, "int": .i32, "int16": .i16,
        "short": .i16, "int8": .i8, "uint8": .u8, "bool": .bool, "uint16": .u16, "uint32": .u32,
        "uint64": .u64, "complex64": .c64, "cfloat": .c64, "float8_e4m3fn": .f8_E4M3,
        "float8_e5m2": .f8_E5M2, "float8_e4m3fnuz": .f8_E4M3FNUZ, "float8_e5m2fnuz": .f8_E5M2FNUZ,
        "float8_e8m0fnu": .f8_E8M0,
    ]

    /// The allowed global called `module.name`, or nil.
    static func resolve(module: String, name: String) -> PickleGlobal? {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
        case ("torch._utils", "_rebuild_tensor_v3"): return .rebuildTensorV3
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): return .rebuildParameterWithState
        case ("torch.storage", "UntypedStorage"), ("torch", "UntypedStorage"): return .untypedStorage
        case ("torch", _):
            if let dtype = typedStorages[name] { return .typedStorage(name: name, dtype: dtype) }
            if let dtype = dtypes[name] { return .dtype(name: name, dtype: dtype) }
            return nil
        default: return nil
        }
    }
}

/// A storage named by a persistent id: `("storage", type, key, location, count)`.
struct PickleStorage: Equatable {
    /// The storage's element type; nil for an untyped (byte) storage.
    let dtype: SafeTensorsDType?
    let typeName: String
    /// The archive key: the storage's bytes are the entry `<archive>/data/<key>`.
    let key: String
    let location: String
    /// Elements of `dtype` (bytes for an untyped storage).
    let count: Int
}

/// What `_rebuild_tensor_v2/v3` (and `_rebuild_parameter` around them) describe.
struct PickleTensor: Equatable {
    let storage: PickleStorage
    let dtype: SafeTensorsDType
    /// In elements of `dtype`.
    let storageOffset: Int
    let shape: [Int]
    /// In elements of `dtype`.
    let strides: [Int]
    /// Absolute file offset of the REDUCE that built it.
    let offset: Int
}

/// A list (or set) built by the pickle; a reference, since later opcodes append to it.
final class PickleList {
    var items: [PickleValue] = []
}

/// A dict built by the pickle, entries in insertion order (as Python's dicts keep them).
final class PickleDict {
    var entries: [(key: PickleValue, value: PickleValue)] = []
}

indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer outside Int's range (its value is never needed).
    case largeInt
    case float(Double)
    case string(String)
    /// Bytes or bytearray (only the length is kept).
    case bytes(count: Int)
    case tuple([PickleValue], depth: Int)
    case list(PickleList)
    case dict(PickleDict)
    case global(PickleGlobal)
    case storage(PickleStorage)
    case tensor(PickleTensor)

    /// How deep tuples nest inside this value (lists and dicts count as leaves: they are
    /// references owned by the arena).
    var depth: Int {
        if case .tuple(_, let depth) = self { return depth }
        return 0
    }

    /// A short description for error messages.
    var kind: String {
        switch self {
        case .none: "None"
        case .bool: "a bool"
        case .int, .largeInt: "an int"
        case .float: "a float"
        case .string: "a string"
        case .bytes: "bytes"
        case .tuple(let items, _): "a tuple of \(items.count)"
        case .list: "a list"
        case .dict: "a dict"
        case .global(let global): global.qualifiedName
        case .storage: "a storage"
        case .tensor: "a tensor"
        }
    }

    var intValue: Int? {
        switch self {
        case .int(let value): value
        case .bool(let value): value ? 1 : 0
        default: nil
        }
    }

    var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}

/// Owns every list and dict of one pickle and empties them when it goes, so that a chain of
/// a million nested lists is freed one at a time instead of by recursion.
final class PickleArena {
    private(set) var lists: [PickleList] = []
    private(set) var dicts: [PickleDict] = []

    func newList() -> PickleList {
        let list = PickleList()
        lists.append(list)
        return list
    }

    func newDict() -> PickleDict {
        let dict = PickleDict()
        dicts.append(dict)
        return dict
    }

    deinit {
        for list in lists { list.items = [] }
        for dict in dicts { dict.entries = [] }
    }
}

/// The stack machine. Offsets in errors are absolute in the file (`baseOffset` + position).
///
/// A class, not a struct: every opcode then works on the one stack in place. (As a struct,
/// an unoptimised build copied the machine, stack included, for calls made while an opcode
/// was pushing, which made a batch of N items cost N² element copies.) Each opcode costs
/// time proportional to its operands and the values it pops, so a pickle runs in time
/// linear in its size.
final class PickleMachine {
    let bytes: UnsafeRawBufferPointer
    let baseOffset: Int
    let arena = PickleArena()
    private var position = 0
    private var stack: [PickleValue] = []
    /// Stack heights at each open MARK.
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    /// Offset of the opcode being run.
    private var opcodeOffset = 0
    private var opcodeName = ""

    init(bytes: UnsafeRawBufferPointer, baseOffset: Int) {
        self.bytes = bytes
        self.baseOffset = baseOffset
    }

    /// Runs the pickle to its STOP and returns the value it leaves.
    ///
    /// - Throws: `.pickleForbiddenGlobal` naming a global outside the allow-list,
    ///   `.pickleUnknownOpcode`, `.pickleUnsupportedOpcode`, `.pickleStackUnderflow`,
    ///   `.pickleMemoMissing`, `.pickleLimitExceeded`, `.pickleInvalidArgument`, `.truncated`.
    func run() throws -> PickleValue {
        guard bytes.count <= PickleLimits.maxBytes else {
            throw FormatError.pickleLimitExceeded(what: "pickle size in bytes", limit: PickleLimits.maxBytes, offset: baseOffset)
        }
        while true {
            opcodeOffset = position
            guard position < bytes.count else {
                throw FormatError.truncated(field: "pickle (no STOP opcode)", offset: baseOffset + position, needed: 1, available: 0)
            }
            let opcode = bytes[position]
            position += 1
            opcodeName = PickleOpcodes.name(of: opcode)
            if opcode == PickleOpcodes.stop {
                let result = try pop()
                return result
            }
            try execute(opcode)
        }
    }

    // MARK: Opcodes

    private func execute(_ opcode: UInt8) throws {
        switch opcode {
        // Protocol and framing.
        case 0x80: // PROTO
            let version = try readByte()
            guard Int(version) <= PickleLimits.highestProtocol else {
                throw invalid("protocol \(version) is newer than \(PickleLimits.highestProtocol)")
            }
        case 0x95: // FRAME: a length hint for buffered readers
            let length = try readInteger(UInt64.self)
            guard length <= UInt64(bytes.count - position) else {
                throw FormatError.truncated(field: "pickle FRAME", offset: baseOffset + opcodeOffset, needed: Int(clamping: length), available: bytes.count - position)
            }

        // Stack and marks.
        case 0x28: // MARK
            marks.append(stack.count)
        case 0x30: // POP
            if stack.count > (marks.last ?? 0) { stack.removeLast() } else { _ = try popMark() }
        case 0x31: // POP_MARK
            _ = try popMark()
        case 0x32: // DUP
            push(try top())

        // Scalars.
        case 0x4e: push(.none) // NONE
        case 0x88: push(.bool(true)) // NEWTRUE
        case 0x89: push(.bool(false)) // NEWFALSE
        case 0x4a: push(.int(Int(try readInteger(Int32.self)))) // BININT
        case 0x4b: push(.int(Int(try readByte()))) // BININT1
        case 0x4d: push(.int(Int(try readInteger(UInt16.self)))) // BININT2
        case 0x8a: // LONG1
            push(try readLong(count: Int(try readByte())))
        case 0x8b: // LONG4
            let count = try readInteger(Int32.self)
            guard count >= 0 else { throw invalid("negative length \(count)") }
            push(try readLong(count: Int(count)))
        case 0x49: // INT: decimal text, or 00/01 for False/True
            let line = try readLine()
            if line == "00" { push(.bool(false)) } else if line == "01" { push(.bool(true)) } else { push(try parseInteger(line)) }
        case 0x4c: // LONG: decimal text with a trailing L
            let line = try readLine()
            push(try parseInteger(line.hasSuffix("L") ? String(line.dropLast()) : line))
        case 0x47: // BINFLOAT: big-endian double
            push(.float(Double(bitPattern: UInt64(bigEndian: try readRaw(UInt64.self)))))
        case 0x46: // FLOAT: text
            let line = try readLine()
            guard let value = Double(line) else { throw invalid("'\(line.prefix(40))' is not a float") }
            push(.float(value))

        // Strings and bytes.
        case 0x58: push(.string(try readUTF8(count: Int(try readInteger(UInt32.self))))) // BINUNICODE
        case 0x8c: push(.string(try readUTF8(count: Int(try readByte())))) // SHORT_BINUNICODE
        case 0x8d: push(.string(try readUTF8(count: try readLength64()))) // BINUNICODE8
        case 0x54: // BINSTRING (Python 2 str; Python 3 reads it as text)
            let count = try readInteger(Int32.self)
            guard count >= 0 else { throw invalid("negative length \(count)") }
            push(.string(try readLatin1(count: Int(count))))
        case 0x55: push(.string(try readLatin1(count: Int(try readByte())))) // SHORT_BINSTRING
        case 0x42: push(.bytes(count: try skipBytes(Int(try readInteger(UInt32.self))))) // BINBYTES
        case 0x43: push(.bytes(count: try skipBytes(Int(try readByte())))) // SHORT_BINBYTES
        case 0x8e, 0x96: push(.bytes(count: try skipBytes(try readLength64()))) // BINBYTES8, BYTEARRAY8
        case 0x53: // STRING: a quoted Python literal
            push(.string(try unquote(try readLine())))
        case 0x56: // UNICODE: raw-unicode-escape text
            let line = try readLine()
            guard !line.contains("\\") else { throw unsupported("escape sequences in UNICODE text are not read") }
            push(.string(line))

        // Containers.
        case 0x29: push(.tuple([], depth: 1)) // EMPTY_TUPLE
        case 0x74: push(try tuple(try popMark())) // TUPLE
        case 0x85: push(try tuple([try pop()])) // TUPLE1
        case 0x86: // TUPLE2
            let second = try pop(), first = try pop()
            push(try tuple([first, second]))
        case 0x87: // TUPLE3
            let third = try pop(), second = try pop(), first = try pop()
            push(try tuple([first, second, third]))
        case 0x5d, 0x8f: push(.list(arena.newList())) // EMPTY_LIST, EMPTY_SET
        case 0x6c: // LIST
            let list = arena.newList()
            list.items = try popMark()
            push(.list(list))
        case 0x91: // FROZENSET
            push(try tuple(try popMark()))
        case 0x61: // APPEND
            let value = try pop()
            try list(try top()).items.append(value)
        case 0x65, 0x90: // APPENDS, ADDITEMS
            let values = try popMark()
            try list(try top()).items.append(contentsOf: values)
        case 0x7d: push(.dict(arena.newDict())) // EMPTY_DICT
        case 0x64: // DICT
            let dict = arena.newDict()
            try addPairs(try popMark(), to: dict)
            push(.dict(dict))
        case 0x73: // SETITEM
            let value = try pop(), key = try pop()
            try dict(try top()).entries.append((key, value))
        case 0x75: // SETITEMS
            let values = try popMark()
            try addPairs(values, to: try dict(try top()))

        // Memo.
        case 0x71: try put(Int(try readByte())) // BINPUT
        case 0x72: try put(Int(try readInteger(UInt32.self))) // LONG_BINPUT
        case 0x70: try put(try memoIndex(try readLine())) // PUT
        case 0x94: try put(memo.count) // MEMOIZE
        case 0x68: push(try get(Int(try readByte()))) // BINGET
        case 0x6a: push(try get(Int(try readInteger(UInt32.self)))) // LONG_BINGET
        case 0x67: push(try get(try memoIndex(try readLine()))) // GET

        // Globals and calls: names are resolved against the allow-list, nothing is called.
        case 0x63: // GLOBAL
            let module = try readLine(), name = try readLine()
            push(.global(try resolve(module: module, name: name)))
        case 0x93: // STACK_GLOBAL
            let name = try pop(), module = try pop()
            guard let moduleName = module.stringValue, let globalName = name.stringValue else {
                throw invalid("module and name must be strings, found \(module.kind) and \(name.kind)")
            }
            push(.global(try resolve(module: moduleName, name: globalName)))
        case 0x52: // REDUCE
            let arguments = try pop(), callable = try pop()
            guard case .tuple(let items, _) = arguments else { throw invalid("arguments are \(arguments.kind), not a tuple") }
            push(try call(callable, items))
        case 0x81: // NEWOBJ
            let arguments = try pop(), type = try pop()
            push(try construct(type, arguments))
        case 0x92: // NEWOBJ_EX
            _ = try pop()
            let arguments = try pop(), type = try pop()
            push(try construct(type, arguments))
        case 0x62: // BUILD
            let state = try pop()
            let target = try top()
            switch target {
            case .dict:
                // An OrderedDict's attributes (nn.Module.state_dict() sets `_metadata`): ignored.
                break
            default:
                throw invalid("cannot set the state of \(target.kind) (to \(state.kind))")
            }
        case 0x69: // INST: names a class to call
            let module = try readLine(), name = try readLine()
            throw FormatError.pickleForbiddenGlobal(module: module, name: name, offset: baseOffset + opcodeOffset)
        case 0x51: // BINPERSID
            push(try persistentStorage(try pop()))
        case 0x50: // PERSID
            _ = try readLine()
            throw unsupported("string persistent ids do not name storages")
        case 0x6f, 0x82, 0x83, 0x84, 0x97, 0x98: // OBJ, EXT1, EXT2, EXT4, NEXT_BUFFER, READONLY_BUFFER
            throw unsupported("not used by state dicts")
        default:
            throw FormatError.pickleUnknownOpcode(opcode: opcode, offset: baseOffset + opcodeOffset)
        }
    }

    // MARK: Stack

    private func push(_ value: PickleValue) {
        stack.append(value)
    }

    private func pop() throws -> PickleValue {
        guard stack.count > (marks.last ?? 0) else {
            throw FormatError.pickleStackUnderflow(opcode: opcodeName, offset: baseOffset + opcodeOffset)
        }
        return stack.removeLast()
    }

    private func top() throws -> PickleValue {
        guard stack.count > (marks.last ?? 0), let value = stack.last else {
            throw FormatError.pickleStackUnderflow(opcode: opcodeName, offset: baseOffset + opcodeOffset)
        }
        return value
    }

    /// The values above the last MARK, which is removed.
    private func popMark() throws -> [PickleValue] {
        guard let mark = marks.popLast() else {
            throw FormatError.pickleStackUnderflow(opcode: opcodeName + " (no MARK)", offset: baseOffset + opcodeOffset)
        }
        let values = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return values
    }

    // MARK: Values

    private func tuple(_ items: [PickleValue]) throws -> PickleValue {
        let depth = 1 + (items.map(\.depth).max() ?? 0)
        guard depth <= PickleLimits.maxNesting else {
            throw FormatError.pickleLimitExceeded(what: "tuple nesting", limit: PickleLimits.maxNesting, offset: baseOffset + opcodeOffset)
        }
        return .tuple(items, depth: depth)
    }

    private func list(_ value: PickleValue) throws -> PickleList {
        guard case .list(let list) = value else { throw invalid("appending to \(value.kind), not a list") }
        return list
    }

    private func dict(_ value: PickleValue) throws -> PickleDict {
        guard case .dict(let dict) = value else { throw invalid("setting items of \(value.kind), not a dict") }
        return dict
    }

    private func addPairs(_ values: [PickleValue], to dict: PickleDict) throws {
        guard values.count % 2 == 0 else { throw invalid("\(values.count) values do not make key-value pairs") }
        dict.entries.reserveCapacity(dict.entries.count + values.count / 2)
        for index in stride(from: 0, to: values.count, by: 2) {
            dict.entries.append((values[index], values[index + 1]))
        }
    }

    private func put(_ index: Int) throws {
        memo[index] = try top()
    }

    private func get(_ index: Int) throws -> PickleValue {
        guard let value = memo[index] else {
            throw FormatError.pickleMemoMissing(index: index, offset: baseOffset + opcodeOffset)
        }
        return value
    }

    private func memoIndex(_ line: String) throws -> Int {
        guard let index = Int(line), index >= 0 else { throw invalid("memo index '\(line.prefix(40))' is not a non-negative integer") }
        return index
    }

    private func resolve(module: String, name: String) throws -> PickleGlobal {
        guard let global = PickleAllowList.resolve(module: module, name: name) else {
            throw FormatError.pickleForbiddenGlobal(module: module, name: name, offset: baseOffset + opcodeOffset)
        }
        return global
    }

    // MARK: Calls

    /// REDUCE: what an allowed callable would return, computed without calling anything.
    private func call(_ callable: PickleValue, _ arguments: [PickleValue]) throws -> PickleValue {
        guard case .global(let global) = callable else { throw invalid("\(callable.kind) is not callable") }
        switch global {
        case .orderedDict:
            let dict = arena.newDict()
            if arguments.count == 1, case .list(let pairs) = arguments[0] {
                for pair in pairs.items {
                    guard case .tuple(let items, _) = pair, items.count == 2 else {
                        throw invalid("OrderedDict() takes (key, value) pairs, found \(pair.kind)")
                    }
                    dict.entries.append((items[0], items[1]))
                }
            } else if !arguments.isEmpty {
                throw invalid("OrderedDict() with \(arguments.count) arguments")
            }
            return .dict(dict)
        case .rebuildTensorV2, .rebuildTensorV3:
            return .tensor(try tensorRecord(global, arguments))
        case .rebuildParameter, .rebuildParameterWithState:
            let expected = global == .rebuildParameter ? 3 : 4
            guard arguments.count == expected, case .tensor(let tensor) = arguments[0] else {
                throw invalid("\(global.qualifiedName) takes a tensor and \(expected - 1) more arguments, found \(arguments.map(\.kind))")
            }
            return .tensor(tensor)
        case .typedStorage, .untypedStorage, .dtype:
            throw invalid("\(global.qualifiedName) is not called in state dicts")
        }
    }

    /// NEWOBJ: `cls.__new__(cls, *args)`, for OrderedDict only.
    private func construct(_ type: PickleValue, _ arguments: PickleValue) throws -> PickleValue {
        guard case .global(.orderedDict) = type else { throw invalid("cannot create an instance of \(type.kind)") }
        return .dict(arena.newDict())
    }

    private func tensorRecord(_ global: PickleGlobal, _ arguments: [PickleValue]) throws -> PickleTensor {
        let name = global.qualifiedName
        let isV3 = global == .rebuildTensorV3
        let counts = isV3 ? 7...8 : 6...7
        guard counts.contains(arguments.count) else {
            throw invalid("\(name) takes \(counts.lowerBound) or \(counts.upperBound) arguments, found \(arguments.count)")
        }
        guard case .storage(let storage) = arguments[0] else { throw invalid("\(name): the storage is \(arguments[0].kind)") }
        guard let storageOffset = arguments[1].intValue, storageOffset >= 0 else {
            throw invalid("\(name): the storage offset is \(arguments[1].kind), not a non-negative int")
        }
        let shape = try dimensions(arguments[2], "size", name)
        let strides = try dimensions(arguments[3], "stride", name)
        guard shape.count == strides.count else {
            throw invalid("\(name): \(shape.count) sizes but \(strides.count) strides")
        }
        let dtype: SafeTensorsDType
        if isV3 {
            guard case .global(.dtype(_, let tensorType)) = arguments[6] else {
                throw invalid("\(name): the dtype is \(arguments[6].kind)")
            }
            guard storage.dtype == nil else { throw invalid("\(name) on a typed storage (\(storage.typeName))") }
            dtype = tensorType
        } else {
            guard let storageType = storage.dtype else { throw invalid("\(name) on an untyped storage") }
            dtype = storageType
        }
        return PickleTensor(
            storage: storage, dtype: dtype, storageOffset: storageOffset, shape: shape, strides: strides,
            offset: baseOffset + opcodeOffset)
    }

    private func dimensions(_ value: PickleValue, _ what: String, _ name: String) throws -> [Int] {
        guard case .tuple(let items, _) = value else { throw invalid("\(name): the \(what) is \(value.kind), not a tuple") }
        guard items.count <= PickleLimits.maxDimensions else {
            throw FormatError.pickleLimitExceeded(what: "tensor dimensions", limit: PickleLimits.maxDimensions, offset: baseOffset + opcodeOffset)
        }
        return try items.map { item in
            guard case .int(let number) = item, number >= 0 else {
                throw invalid("\(name): the \(what) holds \(item.kind == "an int" ? "a negative int" : item.kind)")
            }
            return number
        }
    }

    /// BINPERSID: `("storage", storage type, key, location, count)`.
    private func persistentStorage(_ id: PickleValue) throws -> PickleValue {
        guard case .tuple(let items, _) = id, items.count == 5, items[0].stringValue == "storage" else {
            throw invalid("persistent id is \(id.kind), not (\"storage\", type, key, location, count)")
        }
        guard let key = items[2].stringValue, let location = items[3].stringValue, let count = items[4].intValue, count >= 0 else {
            throw invalid("storage id holds \(items.map(\.kind)), expected a key, a location and a count")
        }
        switch items[1] {
        case .global(.typedStorage(let name, let dtype)):
            return .storage(PickleStorage(dtype: dtype, typeName: "torch." + name, key: key, location: location, count: count))
        case .global(.untypedStorage):
            return .storage(PickleStorage(dtype: nil, typeName: "torch.storage.UntypedStorage", key: key, location: location, count: count))
        default:
            throw invalid("storage type is \(items[1].kind)")
        }
    }

    // MARK: Operands

    private func invalid(_ reason: String) -> FormatError {
        .pickleInvalidArgument(opcode: opcodeName, offset: baseOffset + opcodeOffset, reason: reason)
    }

    private func unsupported(_ reason: String) -> FormatError {
        .pickleUnsupportedOpcode(opcode: opcodeName, offset: baseOffset + opcodeOffset, reason: reason)
    }

    private func require(_ count: Int) throws {
        guard count >= 0, count <= bytes.count - position else {
            throw FormatError.truncated(
                field: "pickle \(opcodeName) operand", offset: baseOffset + position, needed: count, available: bytes.count - position)
        }
    }

    private func readByte() throws -> UInt8 {
        try require(1)
        position += 1
        return bytes[position - 1]
    }

    /// A little-endian integer operand.
    private func readInteger<T: FixedWidthInteger>(_: T.Type) throws -> T {
        T(littleEndian: try readRaw(T.self))
    }

    private func readRaw<T: FixedWidthInteger>(_: T.Type) throws -> T {
        try require(MemoryLayout<T>.size)
        let value = bytes.loadUnaligned(fromByteOffset: position, as: T.self)
        position += MemoryLayout<T>.size
        return value
    }

    private func readLength64() throws -> Int {
        let count = try readInteger(UInt64.self)
        guard count <= UInt64(bytes.count - position) else {
            throw FormatError.truncated(
                field: "pickle \(opcodeName) operand", offset: baseOffset + position, needed: Int(clamping: count), available: bytes.count - position)
        }
        return Int(count)
    }

    private func skipBytes(_ count: Int) throws -> Int {
        try require(count)
        position += count
        return count
    }

    private func readUTF8(count: Int) throws -> String {
        try require(count)
        let start = position
        position += count
        guard let string = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + count)]).validatedString else {
            throw FormatError.invalidUTF8(field: "pickle \(opcodeName) string", offset: baseOffset + start)
        }
        return string
    }

    private func readLatin1(count: Int) throws -> String {
        try require(count)
        let start = position
        position += count
        var string = ""
        string.unicodeScalars.append(contentsOf: bytes[start..<(start + count)].map { Unicode.Scalar($0) })
        return string
    }

    /// A newline-terminated text operand, without the newline.
    private func readLine() throws -> String {
        let limit = min(bytes.count, position + PickleLimits.maxLineLength)
        var end = position
        while end < limit && bytes[end] != 0x0a { end += 1 }
        guard end < limit else {
            if limit == bytes.count {
                throw FormatError.truncated(field: "pickle \(opcodeName) text line", offset: baseOffset + position, needed: end - position + 1, available: bytes.count - position)
            }
            throw FormatError.pickleLimitExceeded(what: "text operand length", limit: PickleLimits.maxLineLength, offset: baseOffset + opcodeOffset)
        }
        let start = position
        position = end + 1
        guard let line = UnsafeRawBufferPointer(rebasing: bytes[start..<end]).validatedString else {
            throw FormatError.invalidUTF8(field: "pickle \(opcodeName) text", offset: baseOffset + start)
        }
        return line
    }

    /// LONG1/LONG4: `count` bytes of little-endian two's complement.
    private func readLong(count: Int) throws -> PickleValue {
        try require(count)
        let start = position
        position += count
        if count == 0 { return .int(0) }
        let negative = bytes[start + count - 1] & 0x80 != 0
        // Bytes beyond the eighth must be pure sign extension for the value to fit.
        if count > 8 {
            let fill: UInt8 = negative ? 0xFF : 0x00
            for index in 8..<count where bytes[start + index] != fill { return .largeInt }
            if (bytes[start + 7] & 0x80 != 0) != negative { return .largeInt }
        }
        var raw: UInt64 = negative ? ~0 : 0
        for index in 0..<min(count, 8) {
            let shift = UInt64(8 * index)
            raw = (raw & ~(0xFF << shift)) | (UInt64(bytes[start + index]) << shift)
        }
        return .int(Int(Int64(bitPattern: raw)))
    }

    private func parseInteger(_ text: String) throws -> PickleValue {
        if let value = Int(text) { return .int(value) }
        let digits = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw invalid("'\(text.prefix(40))' is not an integer")
        }
        return .largeInt
    }

    /// A STRING operand: a Python literal in single or double quotes, without escapes.
    private func unquote(_ line: String) throws -> String {
        guard line.count >= 2, let first = line.first, first == line.last, first == "'" || first == "\"" else {
            throw invalid("STRING operand is not quoted")
        }
        let inner = line.dropFirst().dropLast()
        guard !inner.contains("\\") else { throw unsupported("escape sequences in STRING text are not read") }
        return String(inner)
    }
}

/// Opcode bytes and names (Python's `pickletools`), for messages.
enum PickleOpcodes {
    static let stop: UInt8 = 0x2e

    static let names: [UInt8: String] = [
        0x28: "MARK", 0x2e: "STOP", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x46: "FLOAT", 0x49: "INT",
        0x4a: "BININT", 0x4b: "BININT1", 0x4c: "LONG", 0x4d: "BININT2", 0x4e: "NONE", 0x50: "PERSID",
        0x51: "BINPERSID", 0x52: "REDUCE", 0x53: "STRING", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING",
        0x56: "UNICODE", 0x58: "BINUNICODE", 0x61: "APPEND", 0x62: "BUILD", 0x63: "GLOBAL", 0x64: "DICT",
        0x7d: "EMPTY_DICT", 0x65: "APPENDS", 0x67: "GET", 0x68: "BINGET", 0x69: "INST", 0x6a: "LONG_BINGET",
        0x6c: "LIST", 0x5d: "EMPTY_LIST", 0x6f: "OBJ", 0x70: "PUT", 0x71: "BINPUT", 0x72: "LONG_BINPUT",
        0x73: "SETITEM", 0x74: "TUPLE", 0x29: "EMPTY_TUPLE", 0x75: "SETITEMS", 0x47: "BINFLOAT",
        0x80: "PROTO", 0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x85: "TUPLE1",
        0x86: "TUPLE2", 0x87: "TUPLE3", 0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x8a: "LONG1", 0x8b: "LONG4",
        0x42: "BINBYTES", 0x43: "SHORT_BINBYTES", 0x8c: "SHORT_BINUNICODE", 0x8d: "BINUNICODE8",
        0x8e: "BINBYTES8", 0x8f: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x92: "NEWOBJ_EX",
        0x93: "STACK_GLOBAL", 0x94: "MEMOIZE", 0x95: "FRAME", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER",
        0x98: "READONLY_BUFFER",
    ]

    static func name(of opcode: UInt8) -> String {
        names[opcode] ?? "0x" + String(opcode, radix: 16)
    }
}
