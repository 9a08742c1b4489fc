// CPU kernels on plain buffers: matrix products (OpenBLAS), norms, RoPE, attention, sampling.
