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

/// y[r] = W[r] · x for `rows` rows of `cols` elements stored as float32, float16 or bfloat16,
/// rows `row_stride` bytes apart. Accumulates in float32.
void wk_matvec_f32(const void *weights, size_t row_stride, size_t rows, size_t cols, const float *x, float *y);
void wk_matvec_f16(const void *weights, size_t row_stride, size_t rows, size_t cols, const float *x, float *y);
void wk_matvec_bf16(const void *weights, size_t row_stride, size_t rows, size_t cols, const float *x, float *y);

/// Dot product of two float vectors.
float wk_dot_f32(const float *a, const float *b, size_t count);

/// Converts `count` float16 / bfloat16 values to float32.
void wk_convert_f16(const void *source, float *destination, size_t count);
void wk_convert_bf16(const void *source, float *destination, size_t count);

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
