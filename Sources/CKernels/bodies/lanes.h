// Vector helpers shared by the kernel bodies (AVX2 and up). Included by `variant.h` inside the
// variant's target region.
#pragma once

#if WK_HAS_AVX2
/// The sum of the eight lanes of `v`.
static inline float wk_hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

/// Products of 32 int8 pairs summed in 8 int32 lanes (four pairs each): |w| (unsigned) times x
/// with w's sign, the form the unsigned-by-signed instructions take. With AVX-512 VNNI one
/// dpbusd does the multiply and the sums; otherwise maddubs (pairs to int16, at most
/// 2 · 128 · 127, no saturation) and madd (to int32).
static inline __m256i wk_int8_products(__m256i w, __m256i x) {
    const __m256i magnitude = _mm256_sign_epi8(w, w);
    const __m256i signed_x = _mm256_sign_epi8(x, w);
#if WK_HAS_VNNI
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), magnitude, signed_x);
#else
    return _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, signed_x), _mm256_set1_epi16(1));
#endif
}
#endif
