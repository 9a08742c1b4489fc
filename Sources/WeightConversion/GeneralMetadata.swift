import WeightFormats

/// The `general.*` keys convert_hf_to_gguf.py writes from a model directory: gguf-py's
/// `Metadata.load` (the model card's YAML front matter in README.md, then config.json's
/// `_name_or_path`, then the directory's name, each through `get_model_id_components`) and the
/// converter's `prepare_metadata` (the directory name when nothing gave a name, a size label
/// from the parameter count when nothing gave one), in `set_gguf_meta_model`'s order. Every
/// family's HF -> GGUF conversion writes them.
///
/// The front matter is read as the YAML subset model cards use: top-level `key: value` scalars
/// and lists of scalars (block `- item` or flow `[a, b]`); anything nested is not read, and a
/// list entry that is a mapping is left out with a note.
enum GeneralMetadata {
    /// What `Metadata` holds, the fields WeightKit can fill.
    struct Fields {
        var name, author, version, organization, finetune, basename, description, sizeLabel: String?
        var license, licenseName, licenseLink: String?
        var sourceURL, sourceDOI, sourceUUID, sourceRepoURL: String?
        var baseModels: [[(String, String)]]?
        var datasets: [[(String, String)]]?
        var tags: [String]?
        var languages: [String]?
    }

    enum CardValue { case scalar(String), list([String]), other }

    /// `metadata` with its `general.name` replaced by the converter's general keys.
    /// - Parameter tensors: the names and shapes (outermost first) of the tensors written, which
    ///   give the parameter count and the size label.
    static func apply(to metadata: GGUFMetadataList, directory: String, displayName: String, config: JSONValue?,
                      tensors: [(name: String, shape: [Int])], notes: inout [String]) throws -> GGUFMetadataList {
        let count = ParameterCount(tensors)
        let fields = try derive(directory: directory, displayName: displayName, config: config, totalParameters: count.total,
                                sizeLabel: count.sizeLabel, notes: &notes)
        var result = GGUFMetadataList()
        for (key, value) in metadata {
            if key == "general.name" {
                for (k, v) in entries(fields) { result[k] = v }
            } else if !result.contains(key) {
                result[key] = value
            }
        }
        return result
    }

    /// gguf_writer.py's `get_total_parameter_count` over the tensors written: every element
    /// counts towards the total; a tensor named `*_exps.*` of three or more dimensions holds
    /// `shape[-3]` experts (`shape[-2]` for a bias) and counts one expert's share as expert
    /// parameters; the size label is gguf-py's `size_label` of them.
    struct ParameterCount {
        var total = 0, shared = 0, expert = 0, expertCount = 0

        init(_ tensors: [(name: String, shape: [Int])]) {
            var expertSum = 0, expertTensors = 0
            for (name, shape) in tensors {
                let size = shape.reduce(1, *)
                if name.contains("_exps."), shape.count >= 3 {
                    let experts = shape[shape.count - (name.contains(".bias") ? 2 : 3)]
                    if experts > 0 { expert += size / experts }
                    expertSum += experts
                    expertTensors += 1
                } else {
                    shared += size
                }
                total += size
            }
            expertCount = expertTensors > 0 ? expertSum / expertTensors : 0
        }

        /// `{n}x{shared + expert}` for mixtures of experts, else the rounded total.
        var sizeLabel: String {
            expertCount > 0 ? "\(expertCount)x\(GeneralMetadata.roundedCount(shared + expert))" : GeneralMetadata.roundedCount(total)
        }
    }

    static func derive(directory: String, displayName: String, config: JSONValue?, totalParameters: Int, sizeLabel: String? = nil,
                       notes: inout [String]) throws -> Fields {
        var f = Fields()
        let card = try modelCard(PathName.join(directory, "README.md"), notes: &notes)
        func use(_ field: WritableKeyPath<Fields, String?>, _ key: String) {
            if f[keyPath: field] == nil, case .scalar(let value)? = card[key] { f[keyPath: field] = value }
        }
        // llama.cpp's own keys, then the same with model_ in front, then two of the Hub's.
        for (field, key) in [(\Fields.name, "name"), (\.author, "author"), (\.version, "version"),
                             (\.organization, "organization"), (\.description, "description"), (\.finetune, "finetune"),
                             (\.basename, "basename"), (\.sizeLabel, "size_label"), (\.sourceURL, "url"), (\.sourceDOI, "doi"),
                             (\.sourceUUID, "uuid"), (\.sourceRepoURL, "repo_url")] as [(WritableKeyPath<Fields, String?>, String)] {
            use(field, key)
        }
        for (field, key) in [(\Fields.name, "model_name"), (\.author, "model_author"), (\.version, "model_version"),
                             (\.organization, "model_organization"), (\.description, "model_description"),
                             (\.finetune, "model_finetune"), (\.basename, "model_basename"), (\.sizeLabel, "model_size_label"),
                             (\.sourceURL, "model_url"), (\.sourceDOI, "model_doi"), (\.sourceUUID, "model_uuid"),
                             (\.sourceRepoURL, "model_repo_url"), (\.author, "model_creator"), (\.basename, "model_type")]
            as [(WritableKeyPath<Fields, String?>, String)] {
            use(field, key)
        }
        if let entries = firstList(card, ["base_model", "base_models", "base_model_sources"]) {
            f.baseModels = sources(entries, card: "base_model", totalParameters: totalParameters, notes: &notes)
        }
        if let entries = firstList(card, ["datasets", "dataset", "dataset_sources"]) {
            f.datasets = sources(entries, card: "datasets", totalParameters: totalParameters, notes: &notes)
        }
        if case .list(let values)? = card["license"] { f.license = values.joined(separator: ",") } else { use(\.license, "license") }
        use(\.licenseName, "license_name")
        use(\.licenseLink, "license_link")
        for key in ["tags", "pipeline_tag"] { appendList(&f.tags, card[key]) }
        for key in ["languages", "language"] { appendList(&f.languages, card[key]) }

        func fill(from modelID: String) {
            let c = components(modelID, totalParameters: totalParameters)
            if f.name == nil, let name = c.name { f.name = idToTitle(name) }
            if f.organization == nil, let organization = c.organization { f.organization = idToTitle(organization) }
            if f.basename == nil { f.basename = c.basename }
            if f.finetune == nil { f.finetune = c.finetune }
            if f.version == nil { f.version = c.version }
            if f.sizeLabel == nil { f.sizeLabel = c.sizeLabel }
        }
        if let id = config?["_name_or_path"]?.stringValue, id.filter({ $0 == "/" }).count <= 1 { fill(from: id) }
        fill(from: displayName)
        if f.name == nil { f.name = displayName }
        if f.sizeLabel == nil, totalParameters > 0 { f.sizeLabel = sizeLabel ?? roundedCount(totalParameters) }
        return f
    }

    /// `set_gguf_meta_model`'s keys, in its order.
    static func entries(_ f: Fields) -> [(String, GGUFMetadataValue)] {
        var e: [(String, GGUFMetadataValue)] = []
        func add(_ key: String, _ value: String?) { if let value { e.append((key, .string(value))) } }
        add("general.name", f.name)
        add("general.author", f.author)
        add("general.version", f.version)
        add("general.organization", f.organization)
        add("general.finetune", f.finetune)
        add("general.basename", f.basename)
        add("general.description", f.description)
        add("general.size_label", f.sizeLabel)
        add("general.license", f.license)
        add("general.license.name", f.licenseName)
        add("general.license.link", f.licenseLink)
        add("general.source.url", f.sourceURL)
        add("general.source.doi", f.sourceDOI)
        add("general.source.uuid", f.sourceUUID)
        add("general.source.repo_url", f.sourceRepoURL)
        for (prefix, list) in [("general.base_model", f.baseModels), ("general.dataset", f.datasets)] {
            guard let list else { continue }
            e.append(("\(prefix).count", .uint32(UInt32(list.count))))
            for (index, entry) in list.enumerated() {
                for field in ["name", "author", "version", "organization", "description", "url", "doi", "uuid", "repo_url"] {
                    if let value = entry.first(where: { $0.0 == field })?.1 { e.append(("\(prefix).\(index).\(field)", .string(value))) }
                }
            }
        }
        if let tags = f.tags { e.append(("general.tags", .array(elementType: .string, elements: tags.map { .string($0) }))) }
        if let languages = f.languages {
            e.append(("general.languages", .array(elementType: .string, elements: languages.map { .string($0) })))
        }
        return e
    }

    // MARK: The model card

    /// The YAML front matter of README.md: the lines between a first line `---` and the next `---`.
    static func modelCard(_ file: String, notes: inout [String]) throws -> [String: CardValue] {
        guard FileSystem.isRegularFile(file) else { return [:] }
        let text = String(decoding: try FileSystem.readFile(file), as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> Substring in
            line.last == "\r" ? line.dropLast() : line
        }
        guard lines.first == "---" else { return [:] }
        var card: [String: CardValue] = [:]
        var current: String?
        for raw in lines.dropFirst() {
            if raw == "---" { break }
            let line = String(raw).replacingAll("\t", with: " ")
            if line.trimmingSpaces.isEmpty || line.trimmingSpaces.hasPrefix("#") { continue }
            if line.first == " " || line.first == "-" {
                let item = line.trimmingSpaces
                guard let key = current else { continue }
                if item.hasPrefix("- ") || item == "-" {
                    let value = scalar(String(item.dropFirst(1)).trimmingSpaces)
                    switch card[key] {
                    case .list(let values)?: card[key] = .list(values + [value])
                    case nil, .other?: card[key] = value.contains(": ") && !value.hasPrefix("\"") ? .other : .list([value])
                    case .scalar?: card[key] = .other
                    }
                } else {
                    card[key] = .other
                }
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { current = nil; continue }
            let key = String(line[..<colon]).trimmingSpaces
            let value = String(line[line.index(after: colon)...]).trimmingSpaces
            current = key
            if value.isEmpty {
                card[key] = nil
            } else if value.hasPrefix("[") && value.hasSuffix("]") {
                card[key] = .list(value.dropFirst().dropLast().split(separator: ",").map { scalar(String($0).trimmingSpaces) })
            } else if value.hasPrefix("{") || value.hasPrefix("|") || value.hasPrefix(">") {
                card[key] = .other
            } else {
                card[key] = .scalar(scalar(value))
            }
        }
        if card.values.contains(where: { if case .other = $0 { true } else { false } }) {
            notes.append("README.md: nested model-card entries are not read")
        }
        return card
    }

    /// A YAML scalar's text: quotes removed, a trailing comment cut.
    static func scalar(_ text: String) -> String {
        if text.count >= 2, let first = text.first, first == "\"" || first == "'", text.last == first {
            return String(text.dropFirst().dropLast())
        }
        let characters = Array(text)
        for i in characters.indices.dropLast() where characters[i] == " " && characters[i + 1] == "#" {
            return String(characters[..<i]).trimmingSpaces
        }
        return text
    }

    static func firstList(_ card: [String: CardValue], _ keys: [String]) -> [String]? {
        for key in keys {
            switch card[key] {
            case .scalar(let value)?: return [value]
            case .list(let values)?: return values
            case .other?: return []
            case nil: continue
            }
        }
        return nil
    }

    static func appendList(_ list: inout [String]?, _ value: CardValue?) {
        switch value {
        case .scalar(let v)?: list = (list ?? []) + [v]
        case .list(let values)?: list = (list ?? []) + values
        default: break
        }
    }

    /// Base models or datasets: an URL gives `repo_url` (and, for huggingface.co/ORG/NAME, the
    /// name, organization and version), an id `ORG/NAME` the same with its Hugging Face URL.
    static func sources(_ entries: [String], card: String, totalParameters: Int, notes: inout [String]) -> [[(String, String)]] {
        entries.map { id in
            var entry: [(String, String)] = []
            func described(_ modelID: String, url: String?) {
                let c = components(modelID, totalParameters: totalParameters)
                if let name = c.name { entry.append(("name", idToTitle(name))) }
                if let organization = c.organization { entry.append(("organization", idToTitle(organization))) }
                if let version = c.version { entry.append(("version", version)) }
                if url == nil, let organization = c.organization, let name = c.name {
                    entry.append(("repo_url", "https://huggingface.co/\(organization)/\(name)"))
                }
            }
            if id.hasPrefix("http://") || id.hasPrefix("https://") || id.hasPrefix("ssh://") {
                entry.append(("repo_url", id))
                for prefix in ["https://huggingface.co/", "http://huggingface.co/"] where id.hasPrefix(prefix) {
                    let rest = id.dropFirst(prefix.count)
                    let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
                    if parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty { described(String(rest), url: id) }
                }
            } else {
                described(id, url: nil)
            }
            return entry
        }
    }

    // MARK: gguf-py's name heuristics

    /// `Metadata.id_to_title`.
    static func idToTitle(_ text: String) -> String {
        text.trimmingSpaces.replacingAll("-", with: " ").split(separator: " ").map { word -> String in
            let w = String(word)
            let lower = w.contains(where: \.isLetter) && !w.contains(where: \.isUppercase)
            let versionLike = w.first?.isASCIIDigit == true || (w.first == "v" && isDottedNumber(w.dropFirst()))
            return lower && !versionLike ? Converter.titleCased(w) : w
        }.joined(separator: " ")
    }

    struct Components {
        var name, organization, basename, finetune, version, sizeLabel: String?
    }

    /// `Metadata.get_model_id_components`.
    static func components(_ modelID: String, totalParameters: Int) -> Components {
        if modelID.contains(" ") { return Components(name: modelID) }
        var organization: String?, full = modelID
        if let slash = modelID.firstIndex(of: "/") {
            organization = String(modelID[..<slash])
            full = String(modelID[modelID.index(after: slash)...])
        }
        if let org = organization, org.first == "." { organization = nil }
        var parts = full.split(separator: "-").map(String.init)
        var types = [Set<String>](repeating: [], count: parts.count)
        for (i, part) in parts.enumerated() {
            if isVersion(part) {
                types[i].insert("version")
            } else if isQuantType(part) {
                types[i].insert("type")
                parts[i] = part.uppercased()
            } else if i > 0, isSizeLabel(part) {
                var p = Array(part.replacingAll("_", with: "."))
                if p.last?.isASCIIDigit == true, p.count >= 2 { p = Array(p[..<(p.count - 2)]) + ["."] + [p[p.count - 1], p[p.count - 2]] }
                if p.count > 1, p[p.count - 2].isASCIIDigit, "kmbt".contains(p[p.count - 1]) { p[p.count - 1] = Character(p[p.count - 1].uppercased()) }
                if totalParameters != 0, let count = Double(String(p.dropLast())), let scale = " KMBT".firstIndex(of: p[p.count - 1]) {
                    var label = count
                    for _ in 0..<" KMBT".distance(from: " KMBT".startIndex, to: scale) { label *= 1000 }
                    let total = Double(totalParameters)
                    if (totalParameters < 0 && label < Double(abs(totalParameters) / 8))
                        || (totalParameters > 0 && abs(label - total) > Double(7 * totalParameters / 8)) {
                        types[i].insert("finetune")
                        p[p.count - 1] = Character(p[p.count - 1].lowercased())
                    }
                }
                if types[i].isEmpty { types[i].insert("size_label") }
                parts[i] = String(p)
            } else if i > 0, ["chat", "instruct", "vision", "lora"].contains(part.lowercased()) {
                types[i].insert(totalParameters < 0 && part.lowercased() == "lora" ? "type" : "finetune")
            }
        }
        if zip(parts, types).contains(where: { $1.contains("size_label") && $0.contains(where: \.isASCIIDigit) }) {
            for i in types.indices where types[i].contains("size_label") && parts[i].allSatisfy(\.isLetter) { types[i].remove("size_label") }
        }
        var atStart = true
        for i in parts.indices {
            if atStart && ((types[i].isEmpty && parts[i].first?.isLetter == true) || types[i].contains("version")) {
                types[i].insert("basename")
            } else {
                atStart = false
                if types[i].isEmpty { types[i].insert("finetune") }
            }
        }
        for i in parts.indices.reversed() {
            guard types[i].contains("basename"), types[i].count > 1 else { break }
            types[i].remove("basename")
        }
        func joined(_ keep: (Int) -> Bool) -> String? {
            let kept = parts.indices.filter(keep).map { parts[$0] }
            return kept.isEmpty ? nil : kept.joined(separator: "-")
        }
        var basename = joined { types[$0].contains("basename") }
        var seen = Set<String>()
        let sizes = parts.indices.filter { types[$0].contains("size_label") }.map { parts[$0] }.filter { seen.insert($0).inserted }
        let sizeLabel = sizes.isEmpty ? nil : sizes.joined(separator: "-")
        let finetune = joined { types[$0].contains("finetune") }
        let version = joined { types[$0].contains("version") && !types[$0].contains("basename") }
        if sizeLabel == nil && finetune == nil && version == nil { basename = nil }
        return Components(name: full, organization: organization, basename: basename, finetune: finetune, version: version, sizeLabel: sizeLabel)
    }

    /// `(v|iter)?\d+([.]\d+)*`, ignoring case.
    static func isVersion(_ part: String) -> Bool {
        let lower = part.lowercased()
        for prefix in ["iter", "v", ""] where lower.hasPrefix(prefix) {
            if isDottedNumber(lower.dropFirst(prefix.count)) { return true }
        }
        return false
    }

    static func isDottedNumber(_ text: Substring) -> Bool {
        let pieces = text.split(separator: ".", omittingEmptySubsequences: false)
        return !text.isEmpty && pieces.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) }
    }

    /// `i?q\d(_\w)*|b?fp?(16|32)`, ignoring case.
    static func isQuantType(_ part: String) -> Bool {
        var s = Substring(part.lowercased())
        if ["bf16", "bf32", "bfp16", "bfp32", "f16", "f32", "fp16", "fp32"].contains(String(s)) { return true }
        if s.hasPrefix("i") { s = s.dropFirst() }
        guard s.hasPrefix("q"), s.count >= 2, s[s.index(after: s.startIndex)].isASCIIDigit else { return false }
        s = s.dropFirst(2)
        while !s.isEmpty {
            guard s.count >= 2, s.first == "_", let c = s.dropFirst().first, c.isLetter || c.isNumber || c == "_" else { return false }
            s = s.dropFirst(2)
        }
        return true
    }

    /// `(([A]|\d+[x])?\d+([._]\d+)?[KMBT][\d]?|small|mini|medium|large|x?xl)`, ignoring case.
    static func isSizeLabel(_ part: String) -> Bool {
        let s = Array(part.lowercased())
        if ["small", "mini", "medium", "large", "xl", "xxl"].contains(String(s)) { return true }
        func rest(_ start: Int) -> Bool {
            var i = start
            let digits = i
            while i < s.count, s[i].isASCIIDigit { i += 1 }
            guard i > digits else { return false }
            if i < s.count, s[i] == "." || s[i] == "_" {
                let after = i + 1
                var j = after
                while j < s.count, s[j].isASCIIDigit { j += 1 }
                if j > after { i = j }
            }
            guard i < s.count, "kmbt".contains(s[i]) else { return false }
            i += 1
            if i < s.count, s[i].isASCIIDigit { i += 1 }
            return i == s.count
        }
        if rest(0) || (s.first == "a" && rest(1)) { return true }
        var i = 0
        while i < s.count, s[i].isASCIIDigit {
            i += 1
            if i < s.count, s[i] == "x", rest(i + 1) { return true }
        }
        return false
    }

    /// gguf-py's `model_weight_count_rounded_notation` with two significant digits at least.
    static func roundedCount(_ count: Int) -> String {
        let value = Double(count)
        let (scaled, suffix): (Double, String) = value > 1e12 ? (value * 1e-12, "T") : value > 1e9 ? (value * 1e-9, "B")
            : value > 1e6 ? (value * 1e-6, "M") : (value * 1e-3, "K")
        let integer = String(Int(scaled.rounded(.toNearestOrEven)))
        let significant = integer.drop(while: { $0 == "0" }).count
        let decimals = max(2 - significant, 0)
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = Int((scaled * scale).rounded(.toNearestOrEven))
        let text = String(rounded)
        guard decimals > 0 else { return text + suffix }
        let padded = String(repeating: "0", count: max(0, decimals + 1 - text.count)) + text
        return String(padded.dropLast(decimals)) + "." + String(padded.suffix(decimals)) + suffix
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension String {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
