// Float32 to stored ggml tensor types: float16/bfloat16 casts, the 32-element block types
// (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1) and the 256-element K-quant super-blocks (Q4_K, Q5_K, Q6_K).
// Block layouts follow ggml-common.h. Every function writes `count / block` whole blocks;
// `count` must be a multiple of the block size.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// float32 -> IEEE half, round to nearest even (NumPy's `astype(float16)`).
void wk_encode_f16(const float *source, void *destination, size_t count);
/// float32 -> bfloat16, round to nearest even, NaNs kept quiet (gguf-py's and ggml's rule).
void wk_encode_bf16(const float *source, void *destination, size_t count);

/// The 32-element block types, operation for operation as gguf-py's `gguf.quants`.
void wk_quantize_q8_0(const float *source, void *destination, size_t count);
void wk_quantize_q4_0(const float *source, void *destination, size_t count);
void wk_quantize_q4_1(const float *source, void *destination, size_t count);
void wk_quantize_q5_0(const float *source, void *destination, size_t count);
void wk_quantize_q5_1(const float *source, void *destination, size_t count);

/// The K-quants, as llama.cpp's reference (non-imatrix) `quantize_row_q*_K_ref`.
void wk_quantize_q4_k(const float *source, void *destination, size_t count);
void wk_quantize_q5_k(const float *source, void *destination, size_t count);
void wk_quantize_q6_k(const float *source, void *destination, size_t count);

/// Quantises `rows` rows of `row_length` floats as ggml type `type` (its ggml.h id) into
/// `destination` (rows whole rows of that type), bit-identical to llama.cpp's
/// `ggml_quantize_chunk(type, source, destination, 0, rows, row_length, importance)` for every
/// type llama.cpp 0.3.36 writes: F32, F16, BF16, Q1_0, Q2_0, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, MXFP4,
/// Q2_K ... Q6_K, TQ1_0, TQ2_0, IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ4_NL,
/// IQ4_XS. `importance` is NULL or `row_length` weights (one per column, llama-imatrix's
/// normalised sums), used by the types that take them. Thread-safe; rows are independent, so
/// callers may split them over threads.
/// Returns 0, or -1 when the type is not supported, `row_length` is not a positive multiple
/// of its block size, the type needs importance weights and has none
/// (`wk_quantize_requires_importance`), memory for the lattice tables ran out, or a lattice
/// search found no grid point (only with non-finite or overflowing values).
int wk_quantize_rows(uint32_t type, const float *source, void *destination, int64_t rows, int64_t row_length,
                     const float *importance);
/// wk_quantize_rows with the vector-lane kernels allowed (`use_lanes` 1, where the CPU has
/// them) or not (0: the scalar kernels). Both give the same bytes; tests run both.
int wk_quantize_rows_choosing(uint32_t type, const float *source, void *destination, int64_t rows, int64_t row_length,
                              const float *importance, int use_lanes);
/// Elements per block of `type` for wk_quantize_rows (1 for the float types), 0 if unsupported.
int64_t wk_quantize_block_size(uint32_t type);
/// 1 for the types ggml refuses to quantise without importance weights (IQ2_XXS, IQ2_XS, IQ1_S).
int wk_quantize_requires_importance(uint32_t type);

#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
extern "C" {
#endif

/// SHA-256 (FIPS 180-4), fed in pieces.
typedef struct {
    uint32_t state[8];
    uint64_t length;
    uint8_t buffer[64];
    size_t used;
} wk_sha256;

void wk_sha256_init(wk_sha256 *context);
void wk_sha256_update(wk_sha256 *context, const void *bytes, size_t count);
void wk_sha256_final(wk_sha256 *context, uint8_t digest[32]);

/// Counts NaNs and infinities among `count` floats.
void wk_count_nonfinite(const float *values, size_t count, size_t *nans, size_t *infinities);

#ifdef __cplusplus
}
#endif
