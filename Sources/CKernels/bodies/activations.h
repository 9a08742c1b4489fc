// Element-wise kernels that call exp once per element: SiLU, SwiGLU, quick GELU, exact GELU
// (with a bias added first), softmax; and LayerNorm of a residual sum. With AVX-512, exp is
// evaluated 16 lanes at a time (below); otherwise through libm's expf and erff.
// Variants: scalar, AVX-512.
#include "variant.h"
#if WK_HAS_AVX512

// e^x in 16 lanes, within 2 ulp of the true value: x = n·ln 2 + r with |r| ≤ ln 2 / 2 (ln 2 in
// two parts, so r is exact), e^r by Cephes' degree-7 polynomial for expf, then the exponent
// added by vscalefps, which also gives 0 and infinity where e^x underflows or overflows.
// Inputs are clamped to [-104, 89] first (beyond them e^x is 0 or infinity in float32), which
// keeps r small; NaN stays NaN.
static inline __m512 exp16(__m512 x) {
    const __m512 clamped = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-104.0f)), _mm512_set1_ps(89.0f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(clamped, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), clamped);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    const __m512 result = _mm512_scalef_ps(p, n);
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), result, x);
}

// x / (1 + e^(-alpha·x)) for 16 lanes.
static inline __m512 sigmoid_gate16(__m512 x, __m512 alpha) {
    const __m512 e = exp16(_mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), alpha), x));
    return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

// 1 + erf(z) for 16 lanes, from Abramowitz and Stegun 7.1.26 (|error of erf| <= 1.5e-7):
// erfc(|z|) = t·(a1 + t·(a2 + t·(a3 + t·(a4 + t·a5)))) · e^(-z²) with t = 1 / (1 + p·|z|), and
// 1 + erf(z) = erfc(|z|) for z < 0, 2 - erfc(|z|) otherwise (no cancellation in the negative
// tail). NaN stays NaN; ±infinity give 0 and 2.
static inline __m512 one_plus_erf16(__m512 z) {
    const __m512 a = _mm512_abs_ps(z);
    const __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), a, _mm512_set1_ps(1.0f)));
    __m512 p = _mm512_set1_ps(1.061405429f);
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
    p = _mm512_mul_ps(p, t);
    const __m512 erfc = _mm512_mul_ps(p, exp16(_mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), a), a)));
    const __mmask16 negative = _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_LT_OQ);
    return _mm512_mask_blend_ps(negative, _mm512_sub_ps(_mm512_set1_ps(2.0f), erfc), erfc);
}

// x/2 · (1 + erf(x/√2)) for 16 lanes.
static inline __m512 gelu16(__m512 x) {
    const __m512 half = _mm512_mul_ps(_mm512_set1_ps(0.5f), x);
    return _mm512_mul_ps(half, one_plus_erf16(_mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752f))));
}

static inline __mmask16 tail_mask(size_t n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }

static inline float sum16(__m512 v) { return _mm512_reduce_add_ps(v); }
#endif

void WK_FN(sigmoid_gate)(float *x, size_t count, float alpha) {
    size_t i = 0;
#if WK_HAS_AVX512
    const __m512 a = _mm512_set1_ps(alpha);
    for (; i + 16 <= count; i += 16) _mm512_storeu_ps(x + i, sigmoid_gate16(_mm512_loadu_ps(x + i), a));
    if (i < count) {
        const __mmask16 tail = (__mmask16)((1u << (count - i)) - 1);
        _mm512_mask_storeu_ps(x + i, tail, sigmoid_gate16(_mm512_maskz_loadu_ps(tail, x + i), a));
        return;
    }
#endif
    for (; i < count; i++) x[i] = x[i] / (1.0f + expf(-alpha * x[i]));
}

void WK_FN(swiglu)(const float *gate, const float *up, float *out, size_t count) {
    size_t i = 0;
#if WK_HAS_AVX512
    const __m512 one = _mm512_set1_ps(1.0f);
    for (; i + 16 <= count; i += 16)
        _mm512_storeu_ps(out + i, _mm512_mul_ps(sigmoid_gate16(_mm512_loadu_ps(gate + i), one), _mm512_loadu_ps(up + i)));
    if (i < count) {
        const __mmask16 tail = (__mmask16)((1u << (count - i)) - 1);
        const __m512 g = sigmoid_gate16(_mm512_maskz_loadu_ps(tail, gate + i), one);
        _mm512_mask_storeu_ps(out + i, tail, _mm512_mul_ps(g, _mm512_maskz_loadu_ps(tail, up + i)));
        return;
    }
#endif
    for (; i < count; i++) out[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

void WK_FN(bias_gelu)(float *x, size_t rows, size_t width, const float *bias) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * width;
        size_t i = 0;
#if WK_HAS_AVX512
        for (; i < width; i += 16) {
            const __mmask16 m = tail_mask(width - i);
            __m512 v = _mm512_maskz_loadu_ps(m, row + i);
            if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias + i));
            _mm512_mask_storeu_ps(row + i, m, gelu16(v));
        }
#endif
        for (; i < width; i++) {
            const float v = bias ? row[i] + bias[i] : row[i];
            row[i] = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
        }
    }
}

void WK_FN(softmax)(float *x, size_t count) {
    if (count == 0) return;
    float maximum = -INFINITY;
    size_t i = 0;
#if WK_HAS_AVX512
    __m512 vmax = _mm512_set1_ps(-INFINITY);
    for (; i + 16 <= count; i += 16) vmax = _mm512_max_ps(vmax, _mm512_loadu_ps(x + i));
    maximum = _mm512_reduce_max_ps(vmax);
#endif
    for (; i < count; i++) if (x[i] > maximum) maximum = x[i];
    if (maximum == -INFINITY) {
        for (i = 0; i < count; i++) x[i] = 0;
        return;
    }
    float sum = 0;
    i = 0;
#if WK_HAS_AVX512
    const __m512 shift = _mm512_set1_ps(maximum);
    __m512 vsum = _mm512_setzero_ps();
    for (; i < count; i += 16) {
        const __mmask16 m = tail_mask(count - i);
        const __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), shift));
        _mm512_mask_storeu_ps(x + i, m, e);
        vsum = _mm512_add_ps(vsum, _mm512_maskz_mov_ps(m, e));
    }
    sum = sum16(vsum);
#endif
    for (; i < count; i++) {
        const float e = expf(x[i] - maximum);
        x[i] = e;
        sum += e;
    }
    const float inverse = 1.0f / sum;
    i = 0;
#if WK_HAS_AVX512
    for (; i < count; i += 16) {
        const __mmask16 m = tail_mask(count - i);
        _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), _mm512_set1_ps(inverse)));
    }
#endif
    for (; i < count; i++) x[i] *= inverse;
}

void WK_FN(add_layer_norm)(float *x, const float *add, const float *add_bias, size_t rows, size_t width,
                           const float *weight, const float *bias, float epsilon) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * width;
        const float *other = add ? add + r * width : 0;
        float sum = 0;
        size_t i = 0;
#if WK_HAS_AVX512
        __m512 vsum = _mm512_setzero_ps();
        for (; i < width; i += 16) {
            const __mmask16 m = tail_mask(width - i);
            __m512 v = _mm512_maskz_loadu_ps(m, row + i);
            if (other) {
                __m512 o = _mm512_maskz_loadu_ps(m, other + i);
                if (add_bias) o = _mm512_add_ps(o, _mm512_maskz_loadu_ps(m, add_bias + i));
                v = _mm512_add_ps(v, o);
                _mm512_mask_storeu_ps(row + i, m, v);
            }
            vsum = _mm512_add_ps(vsum, v);
        }
        sum = sum16(vsum);
#endif
        for (; i < width; i++) {
            if (other) row[i] += add_bias ? other[i] + add_bias[i] : other[i];
            sum += row[i];
        }
        const float mean = sum / (float)width;
        float variance = 0;
        i = 0;
#if WK_HAS_AVX512
        const __m512 vmean = _mm512_set1_ps(mean);
        __m512 vvar = _mm512_setzero_ps();
        for (; i < width; i += 16) {
            const __mmask16 m = tail_mask(width - i);
            const __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, row + i), vmean);
            vvar = _mm512_fmadd_ps(d, d, vvar);
        }
        variance = sum16(vvar);
#endif
        for (; i < width; i++) { const float d = row[i] - mean; variance += d * d; }
        variance /= (float)width;
        const float scale = 1.0f / sqrtf(variance + epsilon);
        i = 0;
#if WK_HAS_AVX512
        const __m512 vscale = _mm512_set1_ps(scale);
        for (; i < width; i += 16) {
            const __mmask16 m = tail_mask(width - i);
            __m512 y = _mm512_mul_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, row + i), vmean), vscale),
                                     _mm512_maskz_loadu_ps(m, weight + i));
            if (bias) y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(m, bias + i));
            _mm512_mask_storeu_ps(row + i, m, y);
        }
#endif
        for (; i < width; i++) {
            const float y = (row[i] - mean) * scale * weight[i];
            row[i] = bias ? y + bias[i] : y;
        }
    }
}

#include "variant_end.h"
