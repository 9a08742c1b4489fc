import WeightFormats

/// The files a command will write, checked before it does any work: none may exist unless
/// `--force`, none may be one of the command's inputs (not even with `--force`: compared by
/// device and inode, so a symlink or hard link to an input is refused too), and no two may be
/// the same file. Commands then write through `OutputFile` (or `NPY.write`, the writers...)
/// with the same `force` and `inputs`, which check again at the commit.
///
///     let outputs = OutputTargets(force: force, inputs: [modelPath, imagePath])
///     try outputs.check(["--out": out, "--pooled": pooled])
///     try NPY.write(values, shape: shape, to: out, overwrite: outputs.force, inputs: outputs.inputs)
struct OutputTargets {
    let force: Bool
    var inputs = InputFiles()

    /// `inputs`: paths of models, checkpoints, images, arrays the command reads (each opened
    /// as a checkpoint where it is one, so every part and shard counts).
    init(force: Bool, inputs paths: [String?]) {
        self.force = force
        for path in paths.compactMap({ $0 }) { inputs.add(checkpointAt: path) }
    }

    /// Checks every output path given (nil ones are absent options).
    func check(_ outputs: KeyValuePairs<String, String?>) throws {
        var seen: [String: String] = [:]
        var identities: [FileIdentity: String] = [:]
        for (option, path) in outputs {
            guard let path else { continue }
            if let other = seen[path] { throw CommandFailure("\(option) and \(other) name the same file \(path)") }
            seen[path] = option
            if let identity = FileIdentity(path: path) {
                if let other = identities[identity] { throw CommandFailure("\(option) and \(other) name the same file \(path)") }
                identities[identity] = option
            }
            try OutputFile.checkDestination(path, overwrite: force, inputs: inputs)
        }
    }
}
