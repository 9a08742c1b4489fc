// swift-tools-version: 6.1
//
// WeightKit: memory-mapped GGUF and safetensors files, conversion, budgets and CPU forward
// passes. The targets are layered; lower layers never import higher ones:
//
//   CZstd, COpenBLAS      system libraries through pkg-config
//   WeightFormats         mapped files, GGUF / safetensors readers, the ggml type registry,
//                         dequantisation, tensor views (no BLAS)
//   WeightTokenizers      tokenizers (GGUF metadata, tokenizer.json, tokenizer.model) and chat
//                         templates (Jinja); knows no weights
//   WeightArchitecture    one typed model description from config.json, GGUF metadata or
//                         params.json; Hugging Face <-> GGUF tensor names
//   WeightBudget          parameters, bytes, KV cache, FLOPs, LoRA, plots (no BLAS)
//   WeightConversion      writers' orchestration: HF <-> GGUF, casts, quantisation, split/merge
//   CKernels              vector-instruction kernels (int8 and float matrix products, encoders,
//                         UTF-8, hashing), compiled per instruction-set tier and chosen at run
//                         time (no build flags: the binary runs on any x86-64 processor)
//   CTemporaryFiles       O_TMPFILE, linkat and renameat2, and the signal-time removal of
//                         named temporaries (WeightFormats' output files)
//   WeightCompute         kernels on plain buffers: cblas matmul, quantised mat-vec, norms,
//                         RoPE, attention, activations, sampling (knows no formats)
//   WeightModels          one file per architecture, strict weight binding, generation
//   CPNG, CJPEG           libpng and libjpeg through pkg-config
//   WeightImages          PNG/JPEG decoding and image processors' resize, crop, normalise
//   weightkit             the command-line tool (one command per verb)
import PackageDescription

let package = Package(
    name: "WeightKit",
    products: [
        .library(name: "WeightFormats", targets: ["WeightFormats"]),
        .library(name: "WeightTokenizers", targets: ["WeightTokenizers"]),
        .library(name: "WeightArchitecture", targets: ["WeightArchitecture"]),
        .library(name: "WeightBudget", targets: ["WeightBudget"]),
        .library(name: "WeightConversion", targets: ["WeightConversion"]),
        .library(name: "WeightCompute", targets: ["WeightCompute"]),
        .library(name: "WeightModels", targets: ["WeightModels"]),
        .library(name: "WeightAdapters", targets: ["WeightAdapters"]),
        .library(name: "WeightImages", targets: ["WeightImages"]),
        .executable(name: "weightkit", targets: ["weightkit"]),
        .executable(name: "weightkit-bench", targets: ["weightkit-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(
            name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]),
        .systemLibrary(
            name: "CJPEG", path: "Sources/CJPEG", pkgConfig: "libjpeg",
            providers: [.apt(["libjpeg62-turbo-dev"])]),
        .target(
            name: "WeightImages",
            dependencies: ["WeightFormats", "CPNG", "CJPEG"]),
        .target(
            name: "WeightFormats",
            dependencies: ["CZstd", "CKernels", "CTemporaryFiles"]),
        .target(name: "CTemporaryFiles"),
        .target(
            name: "WeightTokenizers",
            dependencies: ["WeightFormats"]),
        .target(
            name: "WeightArchitecture",
            dependencies: ["WeightFormats"]),
        .target(
            name: "WeightBudget",
            dependencies: ["WeightArchitecture", "WeightFormats"]),
        .target(
            name: "WeightConversion",
            dependencies: ["WeightArchitecture", "WeightFormats", "WeightTokenizers", "WeightAdapters", "CKernels", "CZstd"]),
        .target(
            name: "CKernels",
            exclude: ["bodies"]),
        .target(
            name: "WeightCompute",
            dependencies: ["COpenBLAS", "CKernels", "WeightFormats"]),
        .target(
            name: "WeightAdapters",
            dependencies: ["WeightFormats", "WeightArchitecture"]),
        .target(
            name: "WeightModels",
            dependencies: ["WeightCompute", "WeightArchitecture", "WeightFormats", "WeightTokenizers", "WeightAdapters"]),
        .executableTarget(
            name: "weightkit-bench",
            dependencies: ["WeightFormats", "WeightCompute", "WeightModels", "WeightConversion", "WeightTokenizers"],
            path: "Sources/WeightKitBenchmarks"),
        .executableTarget(
            name: "weightkit",
            dependencies: [
                "WeightFormats", "WeightTokenizers", "WeightArchitecture", "WeightBudget", "WeightConversion", "WeightModels",
                "WeightImages", "WeightAdapters",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .testTarget(
            name: "WeightFormatsTests",
            dependencies: ["WeightFormats"]),
        .testTarget(
            name: "WeightTokenizersTests",
            dependencies: ["WeightTokenizers", "WeightFormats"]),
        .testTarget(
            name: "WeightArchitectureTests",
            dependencies: ["WeightArchitecture", "WeightFormats"]),
        .testTarget(
            name: "WeightBudgetTests",
            dependencies: ["WeightBudget", "WeightArchitecture", "WeightFormats"]),
        .testTarget(
            name: "WeightConversionTests",
            dependencies: ["WeightConversion", "WeightArchitecture", "WeightFormats", "WeightTokenizers", "CKernels", "WeightAdapters"]),
        .testTarget(
            name: "WeightComputeTests",
            dependencies: ["WeightCompute", "CKernels", "WeightFormats"]),
        .testTarget(
            name: "WeightModelsTests",
            dependencies: ["WeightModels", "WeightCompute", "WeightArchitecture", "WeightFormats", "WeightAdapters"]),
        .testTarget(
            name: "WeightAdaptersTests",
            dependencies: ["WeightAdapters", "WeightFormats", "WeightArchitecture"]),
        .testTarget(
            name: "WeightImagesTests",
            dependencies: ["WeightImages", "WeightFormats"]),
        .testTarget(
            name: "WeightKitCLITests",
            dependencies: ["weightkit", "WeightFormats"]),
    ]
)
