// swift-tools-version: 6.1
//
// A package that uses WeightKit as a versioned dependency, as another project would: from a
// git URL with a version requirement. SwiftPM refuses such a dependency when any of its targets
// carries unsafe build flags (a `.package(path:)` dependency would be allowed them, and so would
// prove nothing). check.sh clones WeightKit, tags the clone 0.0.1 and passes its path in
// WEIGHTKIT_CLONE.
import PackageDescription

let clone = Context.environment["WEIGHTKIT_CLONE"] ?? "/tmp/weightkit-consumer/WeightKit"

let package = Package(
    name: "WeightKitConsumer",
    dependencies: [
        .package(url: "file://" + clone, from: "0.0.1"),
    ],
    targets: [
        .executableTarget(
            name: "weightkit-consumer",
            dependencies: [.product(name: "WeightFormats", package: "WeightKit")]),
    ]
)
