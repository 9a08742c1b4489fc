import ArgumentParser
import WeightCompute
import WeightFormats
import WeightImages
import WeightModels

struct EncodeImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode-image",
        abstract: "Run a CLIP or SigLIP vision encoder (and a LLaVA projector) on images.",
        discussion: """
            MODEL is a Hugging Face directory holding a CLIP or SigLIP vision model \
            (clip_vision_model, siglip_vision_model), a full CLIP or SigLIP model (its vision half \
            is used) or a LLaVA checkpoint (its vision tower).

            Input is either --pixels, float32 [B, 3, H, W] already normalised, or one or more \
            --image files (PNG, JPEG) resized, cropped and normalised as the model's \
            preprocessor_config.json says. An image size other than the training size \
            interpolates the position embeddings.

            --out writes the last hidden state [B, tokens, hidden], or with --layer K \
            transformers' hidden_states[K] (0: the embeddings, negative: from the end). \
            --pooled writes the pooled output [B, hidden]; --embeds CLIP's projected image \
            embedding [B, projection_dim], not normalised. --projector DIR reads a LLaVA \
            checkpoint's multi_modal_projector and writes to --projected its output \
            [B, patches, text_hidden] on hidden_states[vision_feature_layer].

            Examples:
              weightkit encode-image ./clip-vit-large-patch14-336 --image cat.jpg --out hidden.npy --embeds embeds.npy
              weightkit encode-image ./llava-1.5-7b-hf --pixels pixels.npy --out hidden.npy --projector ./llava-1.5-7b-hf --projected tokens.npy
            """
    )

    @Argument(help: "A Hugging Face CLIP, SigLIP or LLaVA directory.")
    var model: String

    @Option(help: "Normalised pixels, float32 [3, H, W] or [B, 3, H, W] (.npy), H and W the model's image size.")
    var pixels: String?

    @Option(parsing: .upToNextOption, help: "PNG or JPEG files, preprocessed as the model's preprocessor_config.json says.")
    var image: [String] = []

    @Option(help: "Write the last hidden state (or hidden_states[--layer]) [B, tokens, hidden] here (.npy).")
    var out: String

    @Option(help: "Write the pooled output [B, hidden] here (.npy).")
    var pooled: String?

    @Option(help: "Write CLIP's projected image embedding [B, projection_dim] here (.npy).")
    var embeds: String?

    @Option(parsing: .unconditional, help: "Write hidden_states[K] to --out instead of the last hidden state (negative: from the end).")
    var layer: Int?

    @Option(help: "A LLaVA checkpoint whose multi_modal_projector maps the vision features.")
    var projector: String?

    @Option(help: "Write the projector's output [B, patches, text_hidden] here (.npy).")
    var projected: String?

    @Option(help: "Threads (default: all cores).")
    var threads: Int?

    @Option(help: "Refuse images whose header declares more pixels (default 178956970, Pillow's limit).")
    var maxPixels: Int = RGBImage.defaultMaxPixels

    @Flag(help: "Replace existing files named by --out, --pooled, --embeds and --projected (never an input).")
    var force = false

    @OptionGroup(title: "LoRA adapters (applied unmerged to the tower's linear layers)")
    var adapters: AdapterArguments

    func validate() throws {
        guard maxPixels >= 1 else { throw ValidationError("--max-pixels must be at least 1") }
        guard (pixels != nil) != !image.isEmpty else { throw ValidationError("give either --pixels or --image") }
        guard (projector != nil) == (projected != nil) else { throw ValidationError("--projector and --projected go together") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        try reportingErrors {
            let outputs = OutputTargets(force: force, inputs: [model, projector, pixels] + image + adapters.paths)
            try outputs.check(["--out": out, "--pooled": pooled, "--embeds": embeds, "--projected": projected])
            let context = ComputeContext(threads: threads ?? 0)
            let encoder = try ModelRegistry.loadVisionEncoder(model, context: context, adapters: adapters.adapters())
            var projection: LlavaProjector?
            if let projector {
                projection = try LlavaProjector.load(projector, context: context)
            }
            let input = try pixels.map { try Self.readPixels($0, channels: encoder.tower.channels, size: encoder.tower.imageSize) }
                ?? Self.preprocess(image, model: model, maxPixels: maxPixels)
            if embeds != nil && !encoder.hasProjection {
                throw CommandFailure("\(model) has no visual_projection: --embeds needs a CLIP model with a projection")
            }
            var layers: [Int] = []
            if let layer { layers.append(layer) }
            if let projection { layers.append(projection.configuration.featureLayer) }

            let start = monotonicTime()
            let encoding = try encoder.encode(pixels: input.values, batch: input.batch, height: input.height, width: input.width, layers: layers)
            var projectedValues: [Float]?
            if let projection, let features = encoding.hiddenStates[projection.configuration.featureLayer] {
                projectedValues = try projection.project(features, batch: encoding.batch, tokens: encoding.tokens)
            }
            let seconds = monotonicTime() - start

            var output = OutputBuffer()
            let hiddenShape = [encoding.batch, encoding.tokens, encoding.hiddenSize]
            try NPY.write(layer.flatMap { encoding.hiddenStates[$0] } ?? encoding.lastHidden, shape: hiddenShape, to: out,
                          overwrite: outputs.force, inputs: outputs.inputs)
            output.line("wrote \(out): float32 \(Formatting.shape(hiddenShape))" + (layer.map { " (hidden_states[\($0)])" } ?? ""))
            if let pooled {
                guard let values = encoding.pooled else { throw CommandFailure("\(model) has no pooling head: --pooled is unavailable") }
                try NPY.write(values, shape: [encoding.batch, encoding.hiddenSize], to: pooled, overwrite: outputs.force, inputs: outputs.inputs)
                output.line("wrote \(pooled): float32 \(Formatting.shape([encoding.batch, encoding.hiddenSize]))")
            }
            if let embeds, let values = encoding.embeds, let size = encoding.projectionSize {
                try NPY.write(values, shape: [encoding.batch, size], to: embeds, overwrite: outputs.force, inputs: outputs.inputs)
                output.line("wrote \(embeds): float32 \(Formatting.shape([encoding.batch, size]))")
            }
            if let projected, let projection, let values = projectedValues {
                let shape = [encoding.batch, projection.keptTokens(of: encoding.tokens), projection.configuration.outputSize]
                try NPY.write(values, shape: shape, to: projected, overwrite: outputs.force, inputs: outputs.inputs)
                output.line("wrote \(projected): float32 \(Formatting.shape(shape))")
            }
            output.line("encoded \(encoding.batch) image\(encoding.batch == 1 ? "" : "s") of \(input.height)x\(input.width) "
                        + "in \(Formatting.fixed(seconds * 1000, 1)) ms")
            output.flush()
        }
    }

    struct Pixels {
        var values: [Float]
        var batch: Int, height: Int, width: Int
    }

    /// A `[channels, size, size]` or `[B, channels, size, size]` float32 .npy file: the model's
    /// own image size, as its processor makes them (other sizes would only interpolate the
    /// position embeddings at a cost that grows with the square of the patch count). The
    /// header is checked before the values are read.
    static func readPixels(_ path: String, channels: Int, size: Int) throws -> Pixels {
        let header = try NPY.readHeader(path)
        guard header.storedType == "<f4" else {
            throw CommandFailure("\(path): pixels must be float32 (<f4), found \(header.storedType)")
        }
        let shape = header.shape.count == 3 ? [1] + header.shape : header.shape
        guard shape.count == 4, shape[0] > 0, shape[1] == channels, shape[2] == size, shape[3] == size else {
            throw CommandFailure(
                "\(path): pixels must have shape [\(channels), \(size), \(size)] or [B, \(channels), \(size), \(size)] "
                    + "(the model's image size), found \(Formatting.shape(header.shape))")
        }
        let array = try NPY.read(path)
        return Pixels(values: array.values, batch: shape[0], height: shape[2], width: shape[3])
    }

    /// Image files preprocessed as the model's processor says; all must come out the same size.
    static func preprocess(_ paths: [String], model: String, maxPixels: Int) throws -> Pixels {
        let processor = try ImagePreprocessor.load(model)
        var result = Pixels(values: [], batch: 0, height: 0, width: 0)
        for path in paths {
            let pixels = try processor.pixelValues(try RGBImage.read(path, maxPixels: maxPixels), path: path)
            if result.batch > 0 && (pixels.height != result.height || pixels.width != result.width) {
                throw CommandFailure("\(path): preprocessed to \(pixels.height)x\(pixels.width), unlike the first image's "
                                     + "\(result.height)x\(result.width); encode images of different sizes separately")
            }
            result.values += pixels.values
            result.batch += 1
            result.height = pixels.height
            result.width = pixels.width
        }
        return result
    }
}
