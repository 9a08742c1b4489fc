import Foundation
import Testing
import WeightCompute
import WeightFormats

/// Activations, softmax and the norms against plain loops in Double.
@Suite struct ActivationTests {
    static func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    /// Each activation with its textbook definition.
    static let references: [(name: String, function: ActivationFunction, reference: @Sendable (Double) -> Double)] = [
        ("silu", .silu, { $0 * sigmoid($0) }),
        ("gelu", .gelu, { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }),
        ("gelu_pytorch_tanh", .geluTanh, { 0.5 * $0 * (1 + tanh((2 / Double.pi).squareRoot() * ($0 + 0.044715 * $0 * $0 * $0))) }),
        ("quick_gelu", .quickGelu, { $0 * sigmoid(1.702 * $0) }),
        ("relu", .relu, { max($0, 0) }),
    ]

    @Test("each activation equals its definition", arguments: 0..<5, Kernels.allSupported)
    func activation(index: Int, kernels: Kernels) {
        let (name, function, reference) = Self.references[index]
        var inputs = RandomInputs(seed: 11 + UInt64(index))
        for count in awkwardLengths {
            // Wide enough to reach the saturated tails and exercise large |x|.
            let x = inputs.floats(count, in: -12...12)
            var y = x
            y.withUnsafeMutableBufferPointer { function.apply($0.baseAddress!, count: count, kernels: kernels) }
            expectClose(y, x.map { reference(Double($0)) }, tolerance: 2e-6, "\(kernels) \(name), \(count)")
        }
    }

    @Test("SiLU and quick GELU over the whole float range: tails, under- and overflow of e^x, infinities, NaN",
          arguments: Kernels.allSupported)
    func sigmoidGatesEverywhere(kernels: Kernels) {
        var inputs = RandomInputs(seed: 12)
        var x = inputs.floats(4000, in: -120...120) + inputs.floats(1000, in: -1...1)
        x += [0, -0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
              .infinity, -.infinity, .nan, 87.3, -87.3, 88.7, -88.7, 103.9, -103.9, 104.1, -104.1, 60, -60]
        for (name, function, alpha) in [("silu", ActivationFunction.silu, 1.0), ("quick_gelu", .quickGelu, 1.702)] {
            var y = x
            y.withUnsafeMutableBufferPointer { function.apply($0.baseAddress!, count: x.count, kernels: kernels) }
            let reference = x.map { v -> Double in Double(v) / (1 + exp(-alpha * Double(v))) }
            let finite = x.indices.filter { reference[$0].isFinite }
            expectClose(finite.map { y[$0] }, finite.map { reference[$0] }, tolerance: 2e-6, name)
            for index in x.indices where !reference[index].isFinite {
                #expect(y[index].isNaN == reference[index].isNaN && (y[index].isNaN || Double(y[index]) == reference[index]),
                        "\(name)(\(x[index])) = \(y[index]), definition \(reference[index])")
            }
        }
    }

    static func geluReference(_ x: Double) -> Double { 0.5 * x * (1 + erf(x / 2.0.squareRoot())) }

    @Test("exact GELU over the whole float range: tails, infinities, NaN; with a bias per column, on threads",
          arguments: Kernels.allSupported)
    func geluEverywhere(kernels: Kernels) {
        var inputs = RandomInputs(seed: 13)
        var x = inputs.floats(4000, in: -40...40) + inputs.floats(2000, in: -1e-3...1e-3) + inputs.floats(2000, in: -6...6)
        x += [0, -0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .greatestFiniteMagnitude, .infinity, .nan, 1e-30, -1e-30]
        var y = x
        y.withUnsafeMutableBufferPointer { gelu($0.baseAddress!, count: x.count, kernels: kernels) }
        let reference = x.map { Self.geluReference(Double($0)) }
        let finite = x.indices.filter { reference[$0].isFinite }
        // Within 2e-7 of max(|GELU(x)|, 1) plus the rounding of x/2 (PyTorch's float32 GELU: 1.2e-6).
        expectClose(finite.map { y[$0] }, finite.map { reference[$0] }, tolerance: 5e-7, "\(kernels) gelu")
        for index in x.indices where !reference[index].isFinite {
            #expect(y[index].isNaN == reference[index].isNaN && (y[index].isNaN || Double(y[index]) == reference[index]),
                    "gelu(\(x[index])) = \(y[index]), definition \(reference[index])")
        }
        // Rows with a bias added first, long enough to be split over threads.
        for (rows, width) in [(1, 33), (3, 7), (70, 1536), (9, 1023)] {
            let values = inputs.floats(rows * width, in: -5...5), bias = inputs.floats(width, in: -2...2)
            let expected = (0..<rows * width).map { Self.geluReference(Double(values[$0] + bias[$0 % width])) }
            for threads in [1, 2, 3] {
                var out = values
                out.withUnsafeMutableBufferPointer {
                    biasGELU($0.baseAddress!, rows: rows, width: width, bias: bias,
                             context: ComputeContext(threads: threads, kernels: kernels))
                }
                expectClose(out, expected, tolerance: 5e-7, "\(kernels) \(rows)x\(width), \(threads) threads")
            }
        }
    }

    @Test("SwiGLU is silu(gate) · up", arguments: Kernels.allSupported)
    func swiglu(kernels: Kernels) {
        var inputs = RandomInputs(seed: 3)
        for count in awkwardLengths {
            let gate = inputs.floats(count, in: -8...8), up = inputs.floats(count, in: -3...3)
            var out = [Float](repeating: .nan, count: count)
            out.withUnsafeMutableBufferPointer { WeightCompute.swiglu(gate: gate, up: up, count: count, into: $0.baseAddress!, kernels: kernels) }
            let reference = zip(gate, up).map { g, u in Double(g) * Self.sigmoid(Double(g)) * Double(u) }
            expectClose(out, reference, tolerance: 2e-6, "\(count)")
        }
        // Long enough to be split over threads, with a length that splits unevenly.
        let count = (1 << 16) + 4099
        let gate = inputs.floats(count, in: -8...8), up = inputs.floats(count, in: -3...3)
        var single = [Float](repeating: .nan, count: count)
        single.withUnsafeMutableBufferPointer { WeightCompute.swiglu(gate: gate, up: up, count: count, into: $0.baseAddress!, kernels: kernels) }
        for threads in [1, 2, 3] {
            var out = [Float](repeating: .nan, count: count)
            out.withUnsafeMutableBufferPointer { WeightCompute.swiglu(gate: gate, up: up, count: count, into: $0.baseAddress!, context: ComputeContext(threads: threads, kernels: kernels)) }
            #expect(out == single, "\(threads) threads")
        }
    }

    @Test("softmax equals exp(x) / Σ exp, also for large, equal and masked inputs")
    func softmax() {
        var inputs = RandomInputs(seed: 5)
        var cases: [[Float]] = awkwardLengths.map { inputs.floats($0, in: -20...20) }
        cases.append(inputs.floats(37, in: 80...95))                          // exp overflows without the max shift
        cases.append([Float](repeating: 3, count: 13))                        // all equal
        cases.append([-.infinity, 1, -.infinity, 2, 0.5, -.infinity])         // masked positions
        for x in cases {
            var y = x
            y.withUnsafeMutableBufferPointer { WeightCompute.softmax($0.baseAddress!, count: x.count) }
            let maximum = Double(x.max()!)
            let exps = x.map { exp(Double($0) - maximum) }
            let sum = exps.reduce(0, +)
            expectClose(y, exps.map { $0 / sum }, scale: [Double](repeating: 1, count: x.count), tolerance: 1e-6, "\(x.count)")
        }
    }

    @Test("softmax of a fully masked row is all zeros, not NaN")
    func softmaxFullyMasked() {
        var x = [Float](repeating: -.infinity, count: 9)
        x.withUnsafeMutableBufferPointer { WeightCompute.softmax($0.baseAddress!, count: 9) }
        #expect(x.allSatisfy { $0 == 0 })
        for kernels in Kernels.allSupported {
            var y = [Float](repeating: -.infinity, count: 37)
            y.withUnsafeMutableBufferPointer { WeightCompute.softmax($0.baseAddress!, count: 37, kernels: kernels) }
            #expect(y.allSatisfy { $0 == 0 }, "\(kernels)")
        }
    }

    @Test("the softmax kernel equals exp(x) / Σ exp on every tier", arguments: Kernels.allSupported)
    func softmaxKernel(kernels: Kernels) {
        var inputs = RandomInputs(seed: 6)
        var cases: [[Float]] = awkwardLengths.map { inputs.floats($0, in: -20...20) }
        cases.append(inputs.floats(37, in: 80...95))
        cases.append([Float](repeating: 3, count: 13))
        cases.append([-.infinity, 1, -.infinity, 2, 0.5, -.infinity] + [Float](repeating: -.infinity, count: 17))
        for x in cases {
            var y = x
            y.withUnsafeMutableBufferPointer { WeightCompute.softmax($0.baseAddress!, count: x.count, kernels: kernels) }
            let maximum = Double(x.max()!)
            let exps = x.map { exp(Double($0) - maximum) }
            let sum = exps.reduce(0, +)
            expectClose(y, exps.map { $0 / sum }, scale: [Double](repeating: 1, count: x.count), tolerance: 1e-6, "\(kernels) \(x.count)")
        }
    }
}

@Suite struct NormalizationTests {
    static func rmsNormReference(_ x: ArraySlice<Float>, weight: [Float], epsilon: Double) -> [Double] {
        let meanSquare = x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count)
        let scale = 1 / (meanSquare + epsilon).squareRoot()
        return zip(x, weight).map { Double($0) * scale * Double($1) }
    }

    static func layerNormReference(_ x: ArraySlice<Float>, weight: [Float], bias: [Float]?, epsilon: Double) -> [Double] {
        let mean = x.reduce(0.0) { $0 + Double($1) } / Double(x.count)
        let variance = x.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(x.count)
        let scale = 1 / (variance + epsilon).squareRoot()
        return x.indices.map { i in
            let j = i - x.startIndex
            return (Double(x[i]) - mean) * scale * Double(weight[j]) + Double(bias?[j] ?? 0)
        }
    }

    @Test("RMSNorm, one row and several, on awkward lengths")
    func rmsNorm() {
        var inputs = RandomInputs(seed: 21)
        for count in awkwardLengths + [4099] {
            for rows in [1, 3] {
                // An offset mean and a spread of magnitudes, as hidden states have.
                let x = inputs.floats(rows * count, in: -4...6)
                let weight = inputs.floats(count, in: -2...2)
                for epsilon: Float in [1e-6, 1e-2] {
                    var y = [Float](repeating: .nan, count: rows * count)
                    y.withUnsafeMutableBufferPointer {
                        WeightCompute.rmsNorm(rows: rows, x, weight: weight, epsilon: epsilon, count: count, into: $0.baseAddress!)
                    }
                    let reference = (0..<rows).flatMap {
                        Self.rmsNormReference(x[($0 * count)..<(($0 + 1) * count)], weight: weight, epsilon: Double(epsilon))
                    }
                    expectClose(y, reference, tolerance: 2e-6, "rows \(rows), count \(count), ε \(epsilon)")
                }
            }
        }
    }

    @Test("RMSNorm of a zero row is zero (ε keeps it finite)")
    func rmsNormZero() {
        let x = [Float](repeating: 0, count: 17), weight = [Float](repeating: 1, count: 17)
        var y = [Float](repeating: .nan, count: 17)
        y.withUnsafeMutableBufferPointer { WeightCompute.rmsNorm(x, weight: weight, epsilon: 1e-6, count: 17, into: $0.baseAddress!) }
        #expect(y.allSatisfy { $0 == 0 })
    }

    @Test("LayerNorm with and without bias (population variance)")
    func layerNorm() {
        var inputs = RandomInputs(seed: 22)
        for count in awkwardLengths + [4099] {
            for rows in [1, 4] {
                let x = inputs.floats(rows * count, in: 3...9)   // a large mean: cancellation is where errors hide
                let weight = inputs.floats(count, in: -2...2), bias = inputs.floats(count)
                for withBias in [false, true] {
                    var y = [Float](repeating: .nan, count: rows * count)
                    y.withUnsafeMutableBufferPointer { out in
                        bias.withUnsafeBufferPointer { b in
                            WeightCompute.layerNorm(rows: rows, x, weight: weight, bias: withBias ? b.baseAddress! : nil,
                                                    epsilon: 1e-5, count: count, into: out.baseAddress!)
                        }
                    }
                    let reference = (0..<rows).flatMap {
                        Self.layerNormReference(x[($0 * count)..<(($0 + 1) * count)], weight: weight,
                                                bias: withBias ? bias : nil, epsilon: 1e-5)
                    }
                    expectClose(y, reference, tolerance: 2e-5, "rows \(rows), count \(count), bias \(withBias)")
                }
            }
        }
    }

    @Test("LayerNorm of residual sums: x + (add + bias), then the norm, on every tier and thread count",
          arguments: Kernels.allSupported)
    func residualLayerNorm(kernels: Kernels) {
        var inputs = RandomInputs(seed: 23)
        for (rows, count) in [(1, 1), (3, 7), (2, 33), (5, 384), (200, 384), (4, 4099)] {
            let x = inputs.floats(rows * count, in: 3...9), add = inputs.floats(rows * count, in: -2...2)
            let addBias = inputs.floats(count, in: -1...1)
            let weight = inputs.floats(count, in: -2...2), bias = inputs.floats(count)
            for (withAdd, withAddBias, withBias) in [(true, true, true), (true, false, true), (false, false, true), (true, true, false)] {
                let sums = (0..<rows * count).map { i in
                    withAdd ? x[i] + (withAddBias ? add[i] + addBias[i % count] : add[i]) : x[i]
                }
                let reference = (0..<rows).flatMap {
                    Self.layerNormReference(sums[($0 * count)..<(($0 + 1) * count)], weight: weight, bias: withBias ? bias : nil,
                                            epsilon: 1e-5)
                }
                for threads in [1, 2] {
                    var y = x
                    y.withUnsafeMutableBufferPointer { out in
                        add.withUnsafeBufferPointer { a in
                            addLayerNorm(rows: rows, out.baseAddress!, adding: withAdd ? a.baseAddress! : nil,
                                         addBias: withAddBias ? addBias : nil, weight: weight, bias: withBias ? bias : nil,
                                         epsilon: 1e-5, context: ComputeContext(threads: threads, kernels: kernels))
                        }
                    }
                    expectClose(y, reference, tolerance: 2e-5,
                                "\(kernels) rows \(rows), count \(count), add \(withAdd) \(withAddBias), bias \(withBias), \(threads) threads")
                }
            }
        }
    }
}
