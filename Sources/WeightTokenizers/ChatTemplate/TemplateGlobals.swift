/// The functions a chat template can call by name: jinja2's sandbox globals (`range`, `dict`,
/// `lipsum`, `cycler`, `joiner`) and the ones transformers adds (`namespace`, `raise_exception`,
/// `strftime_now`).
enum TemplateGlobals {
    /// jinja2's sandbox refuses ranges longer than this.
    static let maxRange = 100_000

    static let names: Set<String> = ["range", "dict", "namespace", "raise_exception", "strftime_now", "lipsum", "cycler", "joiner"]

    static func call(_ name: String, _ arguments: TemplateInterpreter.CallArguments, interpreter: TemplateInterpreter, line: Int) throws(ChatTemplateError) -> TemplateValue {
        switch name {
        case "range":
            var bounds: [Int] = []
            for value in arguments.positional {
                if case .undefined(let u) = value { throw TemplateOperators.undefinedError(u, line) }
                guard let i = value.integer else {
                    throw TemplateOperators.typeError("'\(value.typeName)' object cannot be interpreted as an integer", line)
                }
                bounds.append(i)
            }
            guard !arguments.positional.isEmpty, arguments.positional.count <= 3, arguments.keywords.isEmpty else {
                throw TemplateOperators.typeError(arguments.positional.isEmpty ? "range expected at least 1 argument, got 0" : "range expected at most 3 arguments, got \(arguments.positional.count)", line)
            }
            let start = bounds.count == 1 ? 0 : bounds[0]
            let stop = bounds.count == 1 ? bounds[0] : bounds[1]
            let step = bounds.count == 3 ? bounds[2] : 1
            guard step != 0 else { throw .raised(pythonType: "ValueError", message: "range() arg 3 must not be zero", line: line) }
            let (span, overflow) = stop.subtractingReportingOverflow(start)
            let length = overflow ? Int.max : max(0, step > 0 ? (span + step - 1) / step : (span + step + 1) / step)
            guard length <= maxRange else {
                throw .raised(pythonType: "OverflowError", message: "Range too big. The sandbox blocks ranges larger than MAX_RANGE (\(maxRange)).", line: line)
            }
            return .list(Array(stride(from: start, to: stop, by: step)).map { .int($0) })
        case "dict":
            var dict = TemplateDict()
            if let first = arguments.positional.first {
                guard arguments.positional.count == 1 else { throw TemplateOperators.typeError("dict expected at most 1 argument, got \(arguments.positional.count)", line) }
                switch first {
                case .dict(let d): dict = d
                default:
                    guard let items = first.iterated() else { throw TemplateOperators.typeError("'\(first.typeName)' object is not iterable", line) }
                    for item in items {
                        guard let pair = item.iterated(), pair.count == 2 else {
                            throw TemplateOperators.typeError("cannot convert dictionary update sequence element #0 to a sequence", line)
                        }
                        try TemplateInterpreter.checkHashable(pair[0], line: line)
                        dict[pair[0]] = pair[1]
                    }
                }
            }
            for (k, v) in arguments.keywords { dict[k] = v }
            return .dict(dict)
        case "namespace":
            let ns = TemplateNamespace()
            if let first = arguments.positional.first {
                guard case .dict(let d) = first, arguments.positional.count == 1 else {
                    throw .unsupported(feature: "namespace() with positional arguments other than one dict", line: line)
                }
                for entry in d.entries {
                    if case .string(let k) = entry.key { try TemplateInterpreter.checkNamespaceName(k, line: line) }
                    ns.attributes[entry.key] = entry.value
                }
            }
            for (k, v) in arguments.keywords {
                try TemplateInterpreter.checkNamespaceName(k, line: line)
                ns.attributes[k] = v
            }
            return .namespace(ns)
        case "raise_exception":
            guard arguments.positional.count == 1 || arguments.keyword("message") != nil else {
                throw TemplateOperators.typeError("raise_exception() missing 1 required positional argument: 'message'", line)
            }
            let message = arguments.value(0, "message") ?? .none
            throw .raised(pythonType: "TemplateError", message: try interpreter.printable(message, line: line), line: line)
        case "strftime_now":
            guard let format = arguments.value(0, "format") else {
                throw TemplateOperators.typeError("strftime_now() missing 1 required positional argument: 'format'", line)
            }
            guard case .string(let f) = format else {
                throw TemplateOperators.typeError("strftime() argument 1 must be str, not \(format.typeName)", line)
            }
            return .string(try Strftime.format(f, interpreter.date, line: line))
        default:
            throw .unsupported(feature: "the global function '\(name)'", line: line)
        }
    }
}

/// C `strftime` for the fields chat templates print, in the C locale.
enum Strftime {
    static let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
    static let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    static func dayOfYear(_ d: TemplateDate) -> Int {
        let cumulative = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]
        let leap = (d.year % 4 == 0 && d.year % 100 != 0) || d.year % 400 == 0
        return cumulative[d.month - 1] + d.day + (leap && d.month > 2 ? 1 : 0)
    }

    /// 0 = Sunday (Sakamoto's method).
    static func weekday(_ d: TemplateDate) -> Int {
        let t = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4]
        let y = d.month < 3 ? d.year - 1 : d.year
        return ((y + y / 4 - y / 100 + y / 400 + t[d.month - 1] + d.day) % 7 + 7) % 7
    }

    static func pad(_ v: Int, _ width: Int, _ fill: Character = "0") -> String {
        let s = String(v)
        return String(repeating: fill, count: max(0, width - s.count)) + s
    }

    static func format(_ format: String, _ d: TemplateDate, line: Int) throws(ChatTemplateError) -> String {
        guard (1...12).contains(d.month), (1...31).contains(d.day) else {
            throw .invalidArgument(parameter: "date", reason: "month \(d.month), day \(d.day) is not a date")
        }
        var out = ""
        var chars = format.makeIterator()
        while let c = chars.next() {
            guard c == "%" else { out.append(c); continue }
            guard let f = chars.next() else { out.append("%"); break }
            let hour12 = d.hour % 12 == 0 ? 12 : d.hour % 12
            switch f {
            case "Y": out += String(d.year)
            case "y": out += pad(d.year % 100, 2)
            case "m": out += pad(d.month, 2)
            case "d": out += pad(d.day, 2)
            case "e": out += pad(d.day, 2, " ")
            case "B": out += months[d.month - 1]
            case "b", "h": out += String(months[d.month - 1].prefix(3))
            case "A": out += weekdays[weekday(d)]
            case "a": out += String(weekdays[weekday(d)].prefix(3))
            case "H": out += pad(d.hour, 2)
            case "I": out += pad(hour12, 2)
            case "M": out += pad(d.minute, 2)
            case "S": out += pad(d.second, 2)
            case "p": out += d.hour < 12 ? "AM" : "PM"
            case "j": out += pad(dayOfYear(d), 3)
            case "w": out += String(weekday(d))
            case "u": out += String(weekday(d) == 0 ? 7 : weekday(d))
            case "F": out += "\(d.year)-\(pad(d.month, 2))-\(pad(d.day, 2))"
            case "D": out += "\(pad(d.month, 2))/\(pad(d.day, 2))/\(pad(d.year % 100, 2))"
            case "T": out += "\(pad(d.hour, 2)):\(pad(d.minute, 2)):\(pad(d.second, 2))"
            case "R": out += "\(pad(d.hour, 2)):\(pad(d.minute, 2))"
            case "n": out += "\n"
            case "t": out += "\t"
            case "%": out += "%"
            default: throw .unsupported(feature: "the strftime field '%\(f)'", line: line)
            }
        }
        return out
    }
}
