// Element-wise activations that call exp once per element: SiLU, SwiGLU and quick GELU.
// With AVX-512, exp is evaluated 16 lanes at a time (below); otherwise through libm's expf.
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

#include "variant_end.h"
