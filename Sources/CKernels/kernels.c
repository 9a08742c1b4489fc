#include "weightkit_kernels.h"
#include <math.h>
#include <string.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

static inline float half_to_float(uint16_t h) {
#if defined(__F16C__)
    return _cvtsh_ss(h);
#else
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff, bits;
    if (exponent == 0) {
        if (mantissa == 0) { bits = sign; }
        else {
            exponent = 127 - 15 + 1;
            while (!(mantissa & 0x400)) { mantissa <<= 1; exponent--; }
            bits = sign | (exponent << 23) | ((mantissa & 0x3ff) << 13);
        }
    } else if (exponent == 31) {
        bits = sign | 0x7f800000 | (mantissa << 13);
    } else {
        bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
#endif
}

void wk_quantize_q8_act(const float *x, wk_block_q8_act *out, size_t count) {
    for (size_t b = 0; b < count / 32; b++) {
        const float *v = x + b * 32;
        float amax = 0;
        for (int j = 0; j < 32; j++) { const float a = fabsf(v[j]); if (a > amax) amax = a; }
        const float d = amax / 127.0f;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        out[b].d = d;
        for (int j = 0; j < 32; j++) out[b].qs[j] = (int8_t)lrintf(v[j] * id);
    }
}

#if defined(__AVX2__)
/// Sum of the 8 int32 lanes of a*b over 32 int8 pairs, as floats.
static inline __m256 dot32(__m256i w, __m256i x) {
    const __m256i ax = _mm256_sign_epi8(w, w);   // |w|
    const __m256i sx = _mm256_sign_epi8(x, w);   // x with w's sign
    const __m256i pairs = _mm256_maddubs_epi16(ax, sx);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

static inline float horizontal_sum(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}
#endif

void wk_matvec_q8_0(const void *weights, size_t row_stride, size_t rows, size_t blocks,
                    const wk_block_q8_act *x, float *y) {
    const uint8_t *base = (const uint8_t *)weights;
    size_t r = 0;
#if defined(__AVX2__)
    // Two rows at a time share each activation block load.
    for (; r + 2 <= rows; r += 2) {
        const uint8_t *w0 = base + r * row_stride, *w1 = w0 + row_stride;
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
        for (size_t b = 0; b < blocks; b++) {
            const __m256i xq = _mm256_loadu_si256((const __m256i *)x[b].qs);
            const uint16_t d0 = *(const uint16_t *)(w0 + b * 34), d1 = *(const uint16_t *)(w1 + b * 34);
            const __m256i q0 = _mm256_loadu_si256((const __m256i *)(w0 + b * 34 + 2));
            const __m256i q1 = _mm256_loadu_si256((const __m256i *)(w1 + b * 34 + 2));
            acc0 = _mm256_fmadd_ps(_mm256_set1_ps(half_to_float(d0) * x[b].d), dot32(q0, xq), acc0);
            acc1 = _mm256_fmadd_ps(_mm256_set1_ps(half_to_float(d1) * x[b].d), dot32(q1, xq), acc1);
        }
        y[r] = horizontal_sum(acc0);
        y[r + 1] = horizontal_sum(acc1);
    }
#endif
    for (; r < rows; r++) {
        const uint8_t *w = base + r * row_stride;
        float sum = 0;
        for (size_t b = 0; b < blocks; b++) {
            const uint8_t *block = w + b * 34;
            const float d = half_to_float(*(const uint16_t *)block) * x[b].d;
            const int8_t *q = (const int8_t *)(block + 2);
            int isum = 0;
            for (int j = 0; j < 32; j++) isum += (int)q[j] * (int)x[b].qs[j];
            sum += d * (float)isum;
        }
        y[r] = sum;
    }
}
