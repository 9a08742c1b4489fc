// Integer dot-product kernels for quantised matrix-vector products, in C because they need
// vector instructions (AVX-512 VNNI dpbusd, AVX2 maddubs/madd) that Swift's SIMD types do not
// express. Each has a
// portable scalar path; the vector path is chosen at compile time (-march=native).
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Activations quantised to 8 bits in blocks of 32: scale `d` (float) and 32 int8 values.
typedef struct {
    float d;
    int8_t qs[32];
} wk_block_q8_act;

/// Quantises `count` floats (a multiple of 32) into `count / 32` blocks: d = max|x| / 127,
/// q = round(x / d).
void wk_quantize_q8_act(const float *x, wk_block_q8_act *out, size_t count);

/// Dot products of `rows` Q8_0 weight rows (ggml block_q8_0: f16 d, int8 qs[32]; each row
/// `blocks` blocks, rows `row_stride` bytes apart) with quantised activations; results to `y`.
void wk_matvec_q8_0(const void *weights, size_t row_stride, size_t rows, size_t blocks,
                    const wk_block_q8_act *x, float *y);

/// The same for `m` rows of quantised activations (`blocks` blocks each, one after another):
/// y[t * ldy + r] = W[r] · x[t].
void wk_gemm_q8_0(const void *weights, size_t row_stride, size_t rows, size_t blocks,
                  const wk_block_q8_act *x, size_t m, float *y, size_t ldy);

/// y[t * ldy + r] = Σ_k x[t][k] · W[r][k] with bfloat16 weights and activations already rounded
/// to bfloat16 (`wk_encode_bf16`; rows of x `ldx` values apart), products exact and sums in
/// float32 (AVX-512 BF16 `vdpbf16ps`). `cols` must be even; `scratch` as for `wk_gemm`.
void wk_gemm_bf16_dot(const void *weights, size_t row_stride, size_t rows, size_t cols,
                      const uint16_t *x, size_t ldx, size_t m, float *y, size_t ldy, float *scratch);
/// 1 when `wk_gemm_bf16_dot` has its AVX-512 BF16 path on this build.
int wk_gemm_bf16_dot_vectorized(void);

/// Adds 128 to every quantised activation (as unsigned bytes: XOR 0x80), the form
/// `wk_gemm_q8_0_panels` reads.
void wk_offset_q8_act(wk_block_q8_act *x, size_t blocks);

/// y[t * ldy + r] = W[r] · x[t] for Q8_0 weights and activations from `wk_quantize_q8_act`
/// then `wk_offset_q8_act` (`blocks` per row of x), with the arithmetic of `wk_gemm_q8_0`
/// (exact integer block products, scaled by d_w · d_x). Weight rows are repacked into
/// 32-row panels in `scratch` (`wk_gemm_q8_0_scratch_bytes()` bytes, one buffer per thread).
void wk_gemm_q8_0_panels(const void *weights, size_t row_stride, size_t rows, size_t blocks,
                         const wk_block_q8_act *x, size_t m, float *y, size_t ldy, void *scratch);
size_t wk_gemm_q8_0_scratch_bytes(void);
/// 1 when `wk_gemm_q8_0_panels` has its AVX-512 VNNI path on this build.
int wk_gemm_q8_0_vectorized(void);

/// x[i] / (1 + e^(-alpha · x[i])) in place: SiLU (alpha 1), quick GELU (alpha 1.702).
void wk_sigmoid_gate(float *x, size_t count, float alpha);
/// out[i] = SiLU(gate[i]) · up[i].
void wk_swiglu(const float *gate, const float *up, float *out, size_t count);

/// Rows that the matrix-vector kernels (float and Q8_0) read together once rows are long (see
/// matvec.c): callers that split a product over threads cut it at multiples of this.
#define WK_MATVEC_ROW_GROUP 12

/// y[r] = W[r] · x for `rows` rows of `cols` elements stored as float32, float16 or bfloat16,
/// rows `row_stride` bytes apart. Accumulates in float32.
void wk_matvec_f32(const void *weights, size_t row_stride, size_t rows, size_t cols, const float *x, float *y);
void wk_matvec_f16(const void *weights, size_t row_stride, size_t rows, size_t cols, const float *x, float *y);
void wk_matvec_bf16(const void *weights, size_t row_stride, size_t rows, size_t cols, const float *x, float *y);

/// Stored types `wk_gemm` reads.
enum { WK_GEMM_F32 = 0, WK_GEMM_F16 = 1, WK_GEMM_BF16 = 2 };

/// y[t * ldy + r] = Σ_k x[t * ldx + k] · W[r][k] for t < m, r < rows, k < cols: the prefill
/// product with weight rows stored as float32, float16 or bfloat16 (`type`), `row_stride`
/// bytes apart. `scratch` holds `wk_gemm_scratch_floats()` floats, one buffer per thread.
/// Threads may share out the rows (any split; multiples of 32 rows run fastest).
void wk_gemm(int type, const void *weights, size_t row_stride, size_t rows, size_t cols,
             const float *x, size_t ldx, size_t m, float *y, size_t ldy, float *scratch);
size_t wk_gemm_scratch_floats(void);
/// 1 when `wk_gemm` has a vector path on this build (AVX-512), 0 when it is the plain loop.
int wk_gemm_vectorized(void);

/// Dot product of two float vectors.
float wk_dot_f32(const float *a, const float *b, size_t count);

/// Converts `count` float16 / bfloat16 values to float32.
void wk_convert_f16(const void *source, float *destination, size_t count);
void wk_convert_bf16(const void *source, float *destination, size_t count);

/// 1 when the `n` bytes at `p` are well-formed UTF-8 (RFC 3629: no overlongs, surrogates or
/// values above U+10FFFF), else 0; 32 bytes at a time with AVX2.
int wk_utf8_valid(const uint8_t *p, size_t n);

/// A hint to the processor that the caller is in a spin-wait loop (x86 `pause`).
static inline void wk_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#ifdef __cplusplus
}
#endif
