import WeightFormats

/// Writing a destination in parts (`--split-max-size`): a GGUF split set in llama.cpp's
/// convention, or safetensors shards with a `model.safetensors.index.json` as transformers
/// writes them. Every part goes to a temporary file; the set is renamed into place only when
/// all parts are complete (`OutputFileGroup`), so a failure leaves no part behind.
extension Converter {
    /// `dir/model.gguf` -> `dir/model-00001-of-0000M.gguf`... (`llama_split_path`).
    static func writeGGUFSplit(
        _ path: String, metadata: GGUFMetadataList, tensors: [PlannedTensor], layouts: [GGUFTensorLayout], maxSize: Int,
        options: ConversionOptions, report: inout ConversionReport, progress: ConversionProgress?
    ) throws {
        let parts = SplitLayout.parts(sizes: layouts.map { SplitLayout.ggufCountedSize($0.byteCount) }, maxSize: maxSize)
        let prefix = PathName.fileExtension(of: path) == "gguf" ? String(path.dropLast(5)) : path
        let paths = parts.indices.map {
            SplitLayout.partName(prefix: prefix, part: $0 + 1, count: parts.count, fileExtension: "gguf")
        }
        try checkDestinationsFree(paths, options: options)
        // Every part's header is built (and validated) before the first byte is written.
        let partMetadata = try parts.indices.map {
            try GGUFSplitKeys.metadata(of: metadata, part: $0, partCount: parts.count, tensorCount: tensors.count)
        }
        for (index, range) in parts.enumerated() {
            _ = try GGUFWriter.header(metadata: partMetadata[index], tensors: Array(layouts[range]))
        }
        let group = OutputFileGroup()
        var partOfTensor = [Int](repeating: 0, count: tensors.count)
        for (index, range) in parts.enumerated() { for tensor in range { partOfTensor[tensor] = index } }
        var writer: GGUFWriter?
        try stream(tensors, report: &report, progress: progress) { tensor, bytes in
            let part = partOfTensor[tensor]
            if writer == nil || writer!.destination != paths[part] {
                try writer?.finish()
                writer = try GGUFWriter(
                    destination: paths[part], metadata: partMetadata[part], tensors: Array(layouts[parts[part]]),
                    overwrite: options.overwrite, inputs: options.inputs)
                group.add(writer!.output)
            }
            try writer!.write(bytes)
        }
        // Parts whose tensors are all empty (or an empty model) received no bytes.
        for part in parts.indices where !group.files.contains(where: { $0.destination == paths[part] }) {
            try writer?.finish()
            writer = try GGUFWriter(
                destination: paths[part], metadata: partMetadata[part], tensors: Array(layouts[parts[part]]),
                overwrite: options.overwrite, inputs: options.inputs)
            group.add(writer!.output)
        }
        try writer?.finish()
        try group.commit()
        report.outputs.append(contentsOf: paths)
    }

    /// `dir/model.safetensors` -> `dir/model-00001-of-0000M.safetensors`... and
    /// `dir/model.safetensors.index.json`. A checkpoint that fits one shard is written as one
    /// file without an index, as transformers does.
    static func writeSafeTensorsShards(
        _ path: String, metadata: [(key: String, value: String)], tensors: [PlannedTensor], layouts: [SafeTensorsTensorLayout],
        maxSize: Int, options: ConversionOptions, report: inout ConversionReport, progress: ConversionProgress?
    ) throws {
        let parts = SplitLayout.parts(sizes: layouts.map(\.byteCount), maxSize: maxSize)
        guard parts.count > 1 else {
            try writeSafeTensorsFile(path, metadata: metadata, tensors: tensors, layouts: layouts, options: options, report: &report, progress: progress)
            return
        }
        let stem = PathName.fileExtension(of: path) == "safetensors" ? String(path.dropLast(12)) : path
        let directory = PathName.directory(of: path)
        let names = parts.indices.map {
            SplitLayout.partName(prefix: PathName.lastComponent(of: stem), part: $0 + 1, count: parts.count, fileExtension: "safetensors")
        }
        let paths = names.map { PathName.join(directory, $0) }
        let indexPath = stem + ".safetensors.index.json"
        try checkDestinationsFree(paths + [indexPath], options: options)
        // Each shard in the reference writer's order; shards follow one another.
        let shardLayouts = parts.map { SafeTensorsWriter.referenceOrder(Array(layouts[$0])) }
        for shard in shardLayouts { _ = try SafeTensorsWriter.header(metadata: metadata, tensors: shard) }
        let byName = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let ordered = shardLayouts.flatMap { $0.map { byName[$0.name]! } }
        var shardOfTensor: [Int] = []
        for (shard, layout) in shardLayouts.enumerated() { shardOfTensor += Array(repeating: shard, count: layout.count) }

        let group = OutputFileGroup()
        var writers: [SafeTensorsWriter?] = Array(repeating: nil, count: parts.count)
        func writer(_ shard: Int) throws -> SafeTensorsWriter {
            if let existing = writers[shard] { return existing }
            if shard > 0 { try writers[shard - 1]?.finish() }
            let created = try SafeTensorsWriter(
                destination: paths[shard], metadata: metadata, tensors: shardLayouts[shard], overwrite: options.overwrite,
                inputs: options.inputs)
            writers[shard] = created
            group.add(created.output)
            return created
        }
        try stream(ordered, report: &report, progress: progress) { tensor, bytes in
            try writer(shardOfTensor[tensor]).write(bytes)
        }
        for shard in parts.indices { try writer(shard).finish() }

        let index = try OutputFile(destination: indexPath, overwrite: options.overwrite, inputs: options.inputs)
        group.add(index)
        try index.write(shardIndexJSON(layouts: shardLayouts, shardNames: names))
        try group.commit()
        report.outputs.append(contentsOf: paths + [indexPath])
    }

    /// The index as transformers' `save_pretrained` writes it: `json.dumps(index, indent=2,
    /// sort_keys=True)` of `{"metadata": {"total_size": N}, "weight_map": {tensor: shard}}`.
    static func shardIndexJSON(layouts: [[SafeTensorsTensorLayout]], shardNames: [String]) -> String {
        let total = layouts.joined().reduce(0) { $0 + $1.byteCount }
        var weightMap: [(String, JSONValue)] = []
        for (shard, tensors) in layouts.enumerated() {
            for tensor in tensors { weightMap.append((tensor.name, .string(shardNames[shard]))) }
        }
        weightMap.sort { Array($0.0.unicodeScalars.map(\.value)).lexicographicallyPrecedes($1.0.unicodeScalars.map(\.value)) }
        let index = JSONValue.object(JSONObject([
            ("metadata", .object(JSONObject([("total_size", .number(JSONNumber(total)))]))),
            ("weight_map", .object(JSONObject(weightMap))),
        ]))
        return JSONWriter.string(index, indent: 2) + "\n"
    }

    /// Fails before anything is written when one of `paths` exists and may not be replaced,
    /// or is one of the conversion's inputs.
    static func checkDestinationsFree(_ paths: [String], options: ConversionOptions) throws {
        for path in paths {
            try OutputFile.checkDestination(path, overwrite: options.overwrite, inputs: options.inputs)
        }
    }
}
