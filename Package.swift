// swift-tools-version: 6.1
//
// WeightKit: memory-mapped GGUF and safetensors files, conversion, budgets and CPU forward
// passes. The targets are layered; lower layers never import higher ones:
//
//   CZstd, COpenBLAS      system libraries through pkg-config
//   WeightFormats         mapped files, GGUF / safetensors readers, the ggml type registry,
//                         dequantisation, tensor views (no BLAS)
//   weightkit             the command-line tool (one command per verb)
import PackageDescription

/// Kernels are compiled for the machine that builds them: WeightKit is built from source
/// (`make`), so the vector units of the build machine are the ones it runs on.
let kernelSettings: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "native"]),
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "WeightKit",
    products: [
        .library(name: "WeightFormats", targets: ["WeightFormats"]),
        .executable(name: "weightkit", targets: ["weightkit"]),
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
        .target(
            name: "WeightFormats",
            dependencies: ["CZstd"],
            swiftSettings: kernelSettings),
        .executableTarget(
            name: "weightkit",
            dependencies: [
                "WeightFormats",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .testTarget(
            name: "WeightFormatsTests",
            dependencies: ["WeightFormats"],
            swiftSettings: kernelSettings),
        .testTarget(
            name: "WeightKitCLITests",
            dependencies: ["weightkit", "WeightFormats"]),
    ]
)
