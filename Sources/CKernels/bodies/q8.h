// Q8_0 weights against activations quantised to 8 bits: decode (matrix-vector) and the
// prefill form without panels. Variants: scalar, AVX2, AVX-512 (the AVX2 integer products:
// maddubs and madd), AVX-512 VNNI (dpbusd).
#include "variant.h"

void WK_FN(quantize_q8_act)(const float *x, wk_block_q8_act *out, size_t count) {
    for (size_t b = 0; b < count / 32; b++) {
        const float *v = x + b * 32;
#if WK_HAS_AVX512
        // The same values as the loop below: max|x| exactly, x · (1/d) rounded to nearest even
        // (the default rounding mode lrintf also follows), narrowed without saturation.
        const __m512 v0 = _mm512_loadu_ps(v), v1 = _mm512_loadu_ps(v + 16);
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        const float d = amax / 127.0f;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        out[b].d = d;
        const __m512 scale = _mm512_set1_ps(id);
        _mm_storeu_si128((__m128i *)out[b].qs, _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v0, scale))));
        _mm_storeu_si128((__m128i *)(out[b].qs + 16), _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v1, scale))));
#else
        float amax = 0;
        for (int j = 0; j < 32; j++) { const float a = fabsf(v[j]); if (a > amax) amax = a; }
        const float d = amax / 127.0f;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        out[b].d = d;
        for (int j = 0; j < 32; j++) out[b].qs[j] = (int8_t)lrintf(v[j] * id);
#endif
    }
}

#if WK_HAS_AVX2
/// acc + (d_w · d_x) · (block of w · block of x), in 8 float lanes.
static inline __m256 add_block(const uint8_t *block, const wk_block_q8_act *x, __m256 acc) {
    const __m256 scale = _mm256_set1_ps(wk_half_scale_to_float(*(const uint16_t *)block) * x->d);
    const __m256i w = _mm256_loadu_si256((const __m256i *)(block + 2));
    const __m256i xq = _mm256_loadu_si256((const __m256i *)x->qs);
    return _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(wk_int8_products(w, xq)), acc);
}

#endif

/// One Q8_0 row dotted with the quantised activations.
static inline float q8_0_row_dot(const uint8_t *w, size_t blocks, const wk_block_q8_act *x) {
    size_t b = 0;
    float sum = 0;
#if WK_HAS_AVX2
    // Two accumulators, two blocks per step.
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    for (; b + 2 <= blocks; b += 2) {
        acc0 = add_block(w + b * 34, x + b, acc0);
        acc1 = add_block(w + (b + 1) * 34, x + b + 1, acc1);
    }
    if (b < blocks) { acc0 = add_block(w + b * 34, x + b, acc0); b++; }
    sum = wk_hsum256(_mm256_add_ps(acc0, acc1));
#endif
    for (; b < blocks; b++) {
        const uint8_t *block = w + b * 34;
        const float d = wk_half_scale_to_float(*(const uint16_t *)block) * x[b].d;
        const int8_t *q = (const int8_t *)(block + 2);
        int isum = 0;
        for (int j = 0; j < 32; j++) isum += (int)q[j] * (int)x[b].qs[j];
        sum += d * (float)isum;
    }
    return sum;
}

// Rows are read one after another, each as one sequential stream, which the hardware prefetcher
// follows at close to full memory bandwidth; on short rows, interleaving several rows measured at
// half of it. Long rows are the exception, as for float rows (matvec.c): once the quantised x and
// one row pass Q8_L1_BUDGET, x no longer stays in L1 between rows, and WK_MATVEC_ROW_GROUP rows
// are read together, each block of x serving all of them. Measured on one core: rows of 8,960 values
// 16 -> 19 GB/s, 12,288 values 14 -> 19, 18,944 values 10.5 -> 20; no change at 4,864.
#define Q8_L1_BUDGET (16 * 1024)
void WK_FN(matvec_q8_0)(const void *weights, size_t row_stride, size_t rows, size_t blocks,
                    const wk_block_q8_act *x, float *y) {
    const uint8_t *base = (const uint8_t *)weights;
    size_t r = 0;
#if WK_HAS_AVX2
    if (blocks * (sizeof(wk_block_q8_act) + 34) > Q8_L1_BUDGET) {
        for (; r + WK_MATVEC_ROW_GROUP <= rows; r += WK_MATVEC_ROW_GROUP) {
            const uint8_t *group = base + r * row_stride;
            __m256 acc[WK_MATVEC_ROW_GROUP];
            WK_UNROLL for (int k = 0; k < WK_MATVEC_ROW_GROUP; k++) acc[k] = _mm256_setzero_ps();
            for (size_t b = 0; b < blocks; b++) {
                const wk_block_q8_act *xb = x + b;
                WK_UNROLL for (int k = 0; k < WK_MATVEC_ROW_GROUP; k++) acc[k] = add_block(group + k * row_stride + b * 34, xb, acc[k]);
            }
            WK_UNROLL for (int k = 0; k < WK_MATVEC_ROW_GROUP; k++) y[r + k] = wk_hsum256(acc[k]);
        }
    }
#endif
    for (; r < rows; r++) y[r] = q8_0_row_dot(base + r * row_stride, blocks, x);
}

/// y[t · ldy + r] = Σ_b d_w[r][b] · d_x[t][b] · (w[r][b] · x[t][b]) for `m` tokens and `rows` rows:
/// the prefill form of `wk_matvec_q8_0`, with the same arithmetic per block. With AVX-512 VNNI,
/// tiles of 4 rows x 4 tokens share every load: x is offset to unsigned (x + 128) once per tile
/// and block, and dpbusd starts from -128 · Σw of the row's block, which cancels the offset, so
/// each pair costs one dpbusd, one conversion and two float operations per block.
void WK_FN(gemm_q8_0)(const void *weights, size_t row_stride, size_t rows, size_t blocks,
                  const wk_block_q8_act *x, size_t m, float *y, size_t ldy) {
    const uint8_t *base = (const uint8_t *)weights;
    size_t r0 = 0;
#if WK_HAS_VNNI
    const __m256i offset = _mm256_set1_epi8((char)0x80);
    for (; r0 + 4 <= rows; r0 += 4) {
        size_t t0 = 0;
        for (; t0 + 4 <= m; t0 += 4) {
            __m256 acc[4][4];
            WK_UNROLL for (int t = 0; t < 4; t++)
                WK_UNROLL for (int r = 0; r < 4; r++) acc[t][r] = _mm256_setzero_ps();
            for (size_t b = 0; b < blocks; b++) {
                __m256i w[4], correction[4];
                __m256 dw[4];
                WK_UNROLL for (int r = 0; r < 4; r++) {
                    const uint8_t *block = base + (r0 + r) * row_stride + b * 34;
                    w[r] = _mm256_loadu_si256((const __m256i *)(block + 2));
                    dw[r] = _mm256_set1_ps(wk_half_scale_to_float(*(const uint16_t *)block));
                    // -128 · (sum of each group of four weights)
                    correction[r] = _mm256_sub_epi32(_mm256_setzero_si256(),
                                                     _mm256_dpbusd_epi32(_mm256_setzero_si256(), offset, w[r]));
                }
                WK_UNROLL for (int t = 0; t < 4; t++) {
                    const wk_block_q8_act *xb = x + (t0 + t) * blocks + b;
                    const __m256i ux = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)xb->qs), offset);
                    const __m256 dx = _mm256_set1_ps(xb->d);
                    WK_UNROLL for (int r = 0; r < 4; r++) {
                        const __m256 p = _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(correction[r], ux, w[r]));
                        acc[t][r] = _mm256_fmadd_ps(_mm256_mul_ps(p, dw[r]), dx, acc[t][r]);
                    }
                }
            }
            WK_UNROLL for (int t = 0; t < 4; t++)
                WK_UNROLL for (int r = 0; r < 4; r++) y[(t0 + t) * ldy + r0 + r] = wk_hsum256(acc[t][r]);
        }
        for (; t0 < m; t0++)
            WK_UNROLL for (int r = 0; r < 4; r++)
                y[t0 * ldy + r0 + r] = q8_0_row_dot(base + (r0 + r) * row_stride, blocks, x + t0 * blocks);
    }
#endif
    for (; r0 < rows; r0++)
        for (size_t t = 0; t < m; t++) y[t * ldy + r0] = q8_0_row_dot(base + r0 * row_stride, blocks, x + t * blocks);
}

#include "variant_end.h"
