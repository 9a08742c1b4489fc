import WeightArchitecture
import WeightCompute

/// A feed-forward block:
///
///     gated:       down(act(gate(x)) * up(x))          SwiGLU (silu), GeGLU (tanh GELU)
///     fusedGated:  down(act(g) * u), [g, u] = gate_up(x)   (Phi-3: gate rows first)
///     plain:       down(act(up(x)))                     BERT, ViT blocks, the expert LM
///     experts:     Σ_k w_k · expert_k(x) over the router's top-k (Qwen3-MoE)
enum FeedForward {
    case gated(gate: Linear, up: Linear, down: Linear, activation: Activation)
    case fusedGated(gateUp: Linear, down: Linear, activation: Activation)
    case plain(up: Linear, down: Linear, activation: Activation)
    case experts(router: Linear, experts: [FeedForward], used: Int, normalize: Bool)

    /// The widest intermediate this block writes.
    var width: Int {
        switch self {
        case .gated(let gate, _, _, _): gate.outputSize
        case .fusedGated(let gateUp, _, _): gateUp.outputSize
        case .plain(let up, _, _): up.outputSize
        case .experts(_, let experts, _, _): experts.map(\.width).max() ?? 0
        }
    }

    /// The bias of the block's last projection (`down`), added to its output.
    var outputBias: [Float]? {
        switch self {
        case .gated(_, _, let down, _), .fusedGated(_, let down, _), .plain(_, let down, _): down.bias
        case .experts: nil
        }
    }

    /// `count` rows of `input` into `output`, with the workspace's gate and up buffers; without
    /// `addingOutputBias` the caller adds `outputBias` (a dense block's, in a fused epilogue).
    func forward(_ input: UnsafePointer<Float>, rows count: Int, workspace w: Workspace, into output: UnsafeMutablePointer<Float>,
                 context: ComputeContext, addingOutputBias: Bool = true) {
        let addBias = addingOutputBias
        switch self {
        case .gated(let gate, let up, let down, let activation):
            Linear.apply([(gate, w.gate), (up, w.up)], to: input, rows: count, context: context)
            let elements = count * gate.outputSize
            gatedActivation(activation, gate: w.gate, up: w.up, count: elements, context: context)
            down.apply(w.gate, rows: count, into: output, context: context, addingBias: addBias)
        case .fusedGated(let gateUp, let down, let activation):
            gateUp.apply(input, rows: count, into: w.gate, context: context)
            let width = gateUp.outputSize / 2
            // Split each row's [gate | up] into the up buffer, then gate it in place.
            for t in 0..<count {
                (w.up + t * width).update(from: w.gate + t * 2 * width + width, count: width)
                (w.gate + t * width).update(from: w.gate + t * 2 * width, count: width)
            }
            gatedActivation(activation, gate: w.gate, up: w.up, count: count * width, context: context)
            down.apply(w.gate, rows: count, into: output, context: context, addingBias: addBias)
        case .plain(let up, let down, let activation) where activation == .gelu:
            // The up projection's bias and GELU in one pass.
            up.apply(input, rows: count, into: w.gate, context: context, addingBias: false)
            biasGELU(w.gate, rows: count, width: up.outputSize, bias: up.bias, context: context)
            down.apply(w.gate, rows: count, into: output, context: context, addingBias: addBias)
        case .plain(let up, let down, let activation):
            up.apply(input, rows: count, into: w.gate, context: context)
            applyInParallel(activation.function, w.gate, count: count * up.outputSize, context: context)
            down.apply(w.gate, rows: count, into: output, context: context, addingBias: addBias)
        case .experts(let router, let experts, let used, let normalize):
            routeExperts(input, rows: count, router: router, experts: experts, used: used, normalize: normalize, workspace: w,
                         into: output, context: context)
        }
    }

    /// Routes each token (softmax over experts, top-k, optional renormalisation, as
    /// Qwen3MoeSparseMoeBlock), then runs each chosen expert once on all its tokens.
    private func routeExperts(_ input: UnsafePointer<Float>, rows count: Int, router: Linear, experts: [FeedForward], used: Int,
                              normalize: Bool, workspace w: Workspace, into output: UnsafeMutablePointer<Float>, context: ComputeContext) {
        let hidden = router.inputSize
        var logits = [Float](repeating: 0, count: count * experts.count)
        logits.withUnsafeMutableBufferPointer { router.apply(input, rows: count, into: $0.baseAddress!, context: context) }
        var assigned = [[(token: Int, weight: Float)]](repeating: [], count: experts.count)
        logits.withUnsafeBufferPointer { buffer in
            for t in 0..<count {
                let route = routeTopK(logits: buffer.baseAddress! + t * experts.count, count: experts.count, k: used,
                                      softmaxFirst: true, normalize: normalize)
                for (expert, weight) in zip(route.experts, route.weights) { assigned[expert].append((t, weight)) }
            }
        }
        output.update(repeating: 0, count: count * hidden)
        let gathered = UnsafeMutablePointer<Float>.allocate(capacity: count * hidden)
        let result = UnsafeMutablePointer<Float>.allocate(capacity: count * hidden)
        defer { gathered.deallocate(); result.deallocate() }
        for (expert, tokens) in assigned.enumerated() where !tokens.isEmpty {
            for (row, entry) in tokens.enumerated() {
                (gathered + row * hidden).update(from: input + entry.token * hidden, count: hidden)
            }
            experts[expert].forward(gathered, rows: tokens.count, workspace: w, into: result, context: context)
            for (row, entry) in tokens.enumerated() {
                let destination = output + entry.token * hidden, source = result + row * hidden
                for i in 0..<hidden { destination[i] += source[i] * entry.weight }
            }
        }
    }
}

/// gate = act(gate) * up, in place in `gate`: SwiGLU with the fused kernel, other activations
/// (GeGLU) as activation then product.
func gatedActivation(_ activation: Activation, gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int,
                     context: ComputeContext) {
    if activation == .silu {
        swiglu(gate: gate, up: up, count: count, into: gate, context: context)
        return
    }
    applyInParallel(activation.function, gate, count: count, context: context)
    for i in 0..<count { gate[i] *= up[i] }
}

/// Applies an activation in place over chunks on the context's threads.
func applyInParallel(_ activation: ActivationFunction, _ x: UnsafeMutablePointer<Float>, count: Int, context: ComputeContext) {
    if count < 1 << 16 {
        activation.apply(x, count: count, kernels: context.kernels)
        return
    }
    context.forChunks(of: count, minimumChunk: 1 << 14) { chunk in
        activation.apply(x + chunk.lowerBound, count: chunk.count, kernels: context.kernels)
    }
}
