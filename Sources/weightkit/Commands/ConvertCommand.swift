import ArgumentParser
import WeightAdapters
import WeightBudget
import WeightConversion
import WeightFormats

#if canImport(Glibc)
import Glibc
#endif

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a checkpoint between Hugging Face safetensors and GGUF, or cast and requantise it.",
        discussion: """
            SRC: a Hugging Face or Meta directory, a .safetensors, .pth or .bin file, a .gguf file or split set. \
            DST: a .gguf file, a .safetensors file, or a directory (config.json + model.safetensors).

            HF -> GGUF follows llama.cpp's convert_hf_to_gguf.py (llama, qwen2, qwen3, qwen3_moe) \
            and Meta multi-token prediction (llama-mtp, see Docs/META_MTP.md): its tensor names, the llama Q/K row permutation, stacked experts and architecture keys. \
            1-D tensors, norms and MoE routers stay F32; rows that do not fit a block type fall \
            back to F16 (32-element types) or Q5_0/Q5_1/Q8_0 (K-quants), as llama.cpp does. \
            Files are written as unnamed temporaries given their names when complete, and a \
            directory is built beside its destination and renamed into place: a failed or \
            interrupted conversion (even by SIGKILL) leaves nothing (see Docs/FILES.md). \
            An existing DST needs --force; an input of the conversion is never replaced.

            --split-max-size SIZE writes a GGUF split set (DST model.gguf becomes \
            model-00001-of-0000M.gguf..., llama-gguf-split's layout) or safetensors shards with \
            model.safetensors.index.json. SIZE: 500M, 2G (powers of 1000, as llama-gguf-split \
            reads them), 512MiB, 2GiB (powers of 1024) or bytes; a tensor larger than SIZE gets \
            a part of its own.

            --type names one type for every weight (q4_k: all of them Q4_K) or, for a .gguf DST, \
            one of llama-quantize's mixes (q4_k_m, q5_k_s, q3_k_m, iq4_xs, q2_k, ...: the names \
            of `weightkit quantize` except the aliases q3_k/q4_k/q5_k, which stay single types or \
            unknown here), written exactly as `weightkit quantize` writes it (see Docs/QUANTIZE.md). \
            Changing the type of a tensor that is already quantised needs --allow-requantize.

            --lora PATH / --lora-scaled PATH S (repeatable, applied in order) merge LoRA adapters \
            (PEFT or MLX directories, adapter GGUFs) into SRC tensor by tensor, as llama-export-lora: \
            without --type, float tensors keep their type and merged tensors of a quantised base \
            become F16; --type keep requantises each merged tensor to its stored type. See Docs/LORA.md.

            convert ADAPTER adapter.gguf --base BASE writes a PEFT or MLX adapter in llama.cpp's \
            adapter layout, as convert_lora_to_gguf.py does (f32, or --type f16/bf16/q8_0); \
            convert adapter.gguf OUT_DIR --base BASE writes it back as a PEFT directory.

            --compress zstd[:LEVEL] writes DST.zst, compressed as a stream. Any input path ending \
            in .zst is decompressed (as a stream, to a temporary file) before it is read.
            """
    )

    @Argument(help: "The checkpoint to convert.")
    var source: String

    @Argument(help: "Where to write: .gguf, .safetensors or a directory.")
    var destination: String

    @Option(help: "Type of the converted weights: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k (one type for every weight), or a llama-quantize mix such as q4_k_m (default: keep each tensor's float type); keep, with --lora: merged tensors in their stored type.")
    var type: String?

    @Flag(help: "Allow changing the type of tensors that are already quantised.")
    var allowRequantize = false

    @Option(help: "Copy the tokenizer.* metadata of this GGUF into a GGUF destination.")
    var tokenizerFrom: String?

    @Option(help: "tokenizer.ggml.pre for a byte-level BPE or WordPiece tokenizer whose hash llama.cpp's converter does not know (a name from llama.cpp's list, e.g. qwen2, llama-bpe, gpt-2, default).")
    var tokenizerPre: String?

    @Option(help: "Split the destination into parts of at most SIZE tensor bytes (e.g. 2G, 500M, 512MiB).")
    var splitMaxSize: String?

    @Option(help: ArgumentHelp("Write DST.zst compressed with zstd (LEVEL 1-22, default 3).", valueName: "zstd[:LEVEL]"))
    var compress: String?

    @Flag(help: "Replace an existing destination.")
    var force = false

    @Option(help: "With a LoRA adapter as SRC: the base model it was trained on (Hugging Face directory or GGUF).")
    var base: String?

    @OptionGroup(title: "LoRA adapters (merged)")
    var adapters: AdapterArguments

    @Flag(help: "No progress or summary on stderr.")
    var quiet = false

    @Flag(help: "Print a progress line per tensor on stderr even when it is not a terminal (\"progress: ...\").")
    var progress = false

    func run() throws {
        // A file-size limit then fails the write (EFBIG) instead of killing the process, so the
        // temporary file is removed.
        signal(SIGXFSZ, SIG_IGN)
        try reportingErrors {
            if let base {
                try convertAdapter(base: base)
                return
            }
            if FileSystem.isRegularFile(PathName.join(source, "adapter_config.json")) {
                throw CommandFailure("\(source) is a LoRA adapter: give --base BASE to convert it, or merge it with convert BASE OUT --lora \(source)")
            }
            let keep = type?.lowercased() == "keep"
            if keep && !adapters.isUsed { throw CommandFailure("--type keep needs --lora or --lora-scaled") }
            let chosen = try type.flatMap { keep ? nil : try Converter.typeOrMix(named: $0) }
            var options = ConversionOptions(
                type: chosen?.type, overwrite: force, tokenizerFrom: tokenizerFrom,
                splitMaxSize: try splitMaxSize.map { try ByteSize.parse($0, argument: .splitMaxSize) },
                compression: try compress.map { try ZstdCompression(parsing: $0) })
            options.mix = chosen?.mix
            options.allowRequantize = allowRequantize
            options.adapters = try adapters.adapters()
            options.keepMergedTypes = keep
            options.preTokenizer = tokenizerPre
            let report = try Converter.convert(
                source: source, destination: destination, options: options, progress: ConversionReporting.progress(quiet: quiet, always: progress))
            ConversionReporting.summary(report, quiet: quiet)
        }
    }

    /// `convert ADAPTER adapter.gguf --base BASE` and `convert adapter.gguf OUT_DIR --base BASE`.
    func convertAdapter(base: String) throws {
        guard !adapters.isUsed, splitMaxSize == nil, compress == nil, tokenizerFrom == nil else {
            throw CommandFailure("--base converts one adapter: drop --lora, --lora-scaled, --split-max-size, --compress and --tokenizer-from")
        }
        let adapter = try LoRAAdapter.open(source)
        let report: ConversionReport
        if PathName.fileExtension(of: destination) == "gguf" {
            let chosen = try type.map { try Converter.type(named: $0) } ?? .f32
            guard [.f32, .f16, .bf16, .q8_0].contains(chosen) else {
                throw CommandFailure("--type \(type ?? ""): an adapter GGUF holds f32, f16, bf16 or q8_0")
            }
            report = try AdapterConversion.toGGUF(adapter, base: base, destination: destination, type: chosen, overwrite: force)
        } else {
            guard type == nil else { throw CommandFailure("--type: a PEFT directory is written in f32") }
            report = try AdapterConversion.toPEFT(adapter, base: base, destination: destination, overwrite: force)
        }
        ConversionReporting.summary(report, quiet: quiet)
    }
}
