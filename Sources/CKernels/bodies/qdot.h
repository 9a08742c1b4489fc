// Quantised weights other than Q8_0 against activations quantised to 8 bits: the 32-element
// types Q4_0, Q4_1, Q5_0, Q5_1 and IQ4_NL against `wk_block_q8_act` (one scale per 32), the
// 256-element K-quants Q2_K ... Q6_K and IQ4_XS against `wk_block_q8_k_act` (one scale per 256
// and the sum of every 16, as llama.cpp's Q8_K). Variants: scalar, AVX2 (maddubs, madd),
// AVX-512 (the AVX2 code), AVX-512 VNNI (dpbusd, dpwssd on 256-bit registers).
//
// Every type is first unpacked to int8 quants: a 32-element block to `small_block` (w = d·q +
// m), a 256-element one to `super_block` (w = d·scale_j·(q − offset) − dmin·min_j, j the group
// of 16, the integer scales and mins as stored, q unsigned where the type allows). One dot product per family then serves all its types:
// Σ q·x in integers per 16 or 32 (|w| times x with w's sign, as the unsigned-by-signed
// instructions take it), sub-block scales applied in integers (int32 holds every sum: at most
// 16 · 127 · 127 · 128 per group), and one float scaling per block (32) or per 256 (K-quants),
// the mins from the activations' 16-sums. Decode unpacks a block at a time into registers or
// the stack; prefill unpacks four rows a chunk at a time into the caller's buffer and reuses
// them for every token. Layouts are ggml's (ggml-common.h), as bodies/decode.h describes them.
#include "variant.h"
#include "panels.h"
#include <stdlib.h>

typedef struct {
    float d, m;
    int8_t q[32];
} small_block;

/// A 256-element block unpacked: w = d · scale_j · (q − offset) − dmin · min_j for the group j of
/// 16, with q unsigned (0 … 63) and `unsigned_offset` 0 (Q2_K, Q4_K, Q5_K), 4 (Q3_K) or 32
/// (Q6_K); IQ4_XS keeps its signed levels (−127 … 113) and offset 0.
typedef struct {
    float d, dmin;
    int16_t scale[16], min[16];
    int8_t q[256];
} super_block;

/// log2 of the offset of a K-quant's unsigned quants (see super_block); 0 for none.
static inline int unsigned_offset_shift(int type) {
    return type == WK_QUANT_Q6_K ? 5 : type == WK_QUANT_Q3_K ? 2 : 0;
}

/// ggml's kvalues_iq4nl: the sixteen levels of IQ4_NL and IQ4_XS.
static const int8_t iq4_levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};


static inline int is_small_type(int type) {
    return type == WK_QUANT_Q4_0 || type == WK_QUANT_Q4_1 || type == WK_QUANT_Q5_0 || type == WK_QUANT_Q5_1
        || type == WK_QUANT_IQ4_NL;
}

/// Bytes per stored block.
static inline size_t block_bytes(int type) {
    switch (type) {
    case WK_QUANT_Q4_0: return 18;
    case WK_QUANT_Q4_1: return 20;
    case WK_QUANT_Q5_0: return 22;
    case WK_QUANT_Q5_1: return 24;
    case WK_QUANT_IQ4_NL: return 18;
    case WK_QUANT_Q2_K: return 84;
    case WK_QUANT_Q3_K: return 110;
    case WK_QUANT_Q4_K: return 144;
    case WK_QUANT_Q5_K: return 176;
    case WK_QUANT_Q6_K: return 210;
    case WK_QUANT_IQ4_XS: return 136;
    default: return 0;
    }
}

/// Types whose weights carry an offset (Q4_1, Q5_1 `m`; Q2_K, Q4_K, Q5_K `dmin · min`), which
/// the products take from the activations' sums.
static inline int has_offset(int type) {
    return type == WK_QUANT_Q4_1 || type == WK_QUANT_Q5_1 || type == WK_QUANT_Q2_K || type == WK_QUANT_Q4_K
        || type == WK_QUANT_Q5_K;
}

// MARK: Activations in blocks of 256

void WK_FN(quantize_q8_k_act)(const float *x, wk_block_q8_k_act *out, size_t count) {
    for (size_t b = 0; b < count / 256; b++) {
        const float *v = x + b * 256;
        float amax = 0;
#if WK_HAS_AVX512
        __m512 m = _mm512_setzero_ps();
        for (int j = 0; j < 256; j += 16) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(v + j)));
        amax = _mm512_reduce_max_ps(m);
#else
        for (int j = 0; j < 256; j++) { const float a = fabsf(v[j]); if (a > amax) amax = a; }
#endif
        const float d = amax / 127.0f;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        out[b].d = d;
#if WK_HAS_AVX512
        const __m512 scale = _mm512_set1_ps(id);
        for (int j = 0; j < 256; j += 16)
            _mm_storeu_si128((__m128i *)(out[b].qs + j), _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(v + j), scale))));
#elif WK_HAS_AVX2
        // cvtps rounds to nearest even, as lrintf in the default rounding mode.
        const __m256 scale = _mm256_set1_ps(id);
        for (int j = 0; j < 256; j += 32) {
            const __m256i a = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(v + j), scale));
            const __m256i b1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(v + j + 8), scale));
            const __m256i c = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(v + j + 16), scale));
            const __m256i e = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(v + j + 24), scale));
            // packs work within 128-bit lanes; the permute puts the 32 values back in order.
            const __m256i words = _mm256_packs_epi32(a, b1), words2 = _mm256_packs_epi32(c, e);
            const __m256i bytes = _mm256_packs_epi16(words, words2);
            _mm256_storeu_si256((__m256i *)(out[b].qs + j),
                                _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
        }
#else
        for (int j = 0; j < 256; j++) out[b].qs[j] = (int8_t)lrintf(v[j] * id);
#endif
        for (int g = 0; g < 16; g++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) sum += out[b].qs[16 * g + j];
            out[b].bsums[g] = (int16_t)sum;
        }
    }
}

// MARK: Unpacking 32-element blocks

/// Nibbles of 16 bytes: element j in the low nibble of byte j, j + 16 in the high one.
static inline void nibbles(const uint8_t *qs, uint8_t q[32]) {
    for (int j = 0; j < 16; j++) { q[j] = qs[j] & 0x0F; q[j + 16] = qs[j] >> 4; }
}

/// Adds the fifth bits (bit j of the little-endian u32 at `qh`: element j) to nibbles.
static inline void fifth_bits(const uint8_t *qh_bytes, uint8_t q[32]) {
    uint32_t qh;
    memcpy(&qh, qh_bytes, 4);
    for (int j = 0; j < 32; j++) q[j] |= (uint8_t)(((qh >> j) & 1) << 4);
}

#if WK_HAS_AVX2
static inline __m256i nibbles256(const uint8_t *qs) {
    const __m128i v = _mm_loadu_si128((const __m128i *)qs), low = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), low), _mm_and_si128(v, low));
}

/// 0x10 in byte j where bit j of the u32 at `qh_bytes` is set.
static inline __m256i fifth_bits256(const uint8_t *qh_bytes) {
    uint32_t qh;
    memcpy(&qh, qh_bytes, 4);
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh),
        _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const __m256i bits = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bits), bits), _mm256_set1_epi8(0x10));
}

/// The 32 int8 quants of a 32-element block, its scale and offset.
static inline __m256i load_small(int type, const uint8_t *s, float *d, float *m) {
    *d = wk_half_scale_at(s);
    *m = 0;
    switch (type) {
    case WK_QUANT_Q4_0: return _mm256_sub_epi8(nibbles256(s + 2), _mm256_set1_epi8(8));
    case WK_QUANT_Q4_1: *m = wk_half_scale_at(s + 2); return nibbles256(s + 4);
    case WK_QUANT_Q5_0: return _mm256_sub_epi8(_mm256_or_si256(nibbles256(s + 6), fifth_bits256(s + 2)), _mm256_set1_epi8(16));
    case WK_QUANT_Q5_1: *m = wk_half_scale_at(s + 2); return _mm256_or_si256(nibbles256(s + 8), fifth_bits256(s + 4));
    default: {  // IQ4_NL
        const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)iq4_levels));
        return _mm256_shuffle_epi8(table, nibbles256(s + 2));
    }
    }
}
#endif

static inline __attribute__((always_inline)) void unpack_small(int type, const uint8_t *s, small_block *out) {
#if WK_HAS_AVX2
    _mm256_storeu_si256((__m256i *)out->q, load_small(type, s, &out->d, &out->m));
#else
    uint8_t q[32];
    out->d = wk_half_scale_at(s);
    out->m = 0;
    switch (type) {
    case WK_QUANT_Q4_0: nibbles(s + 2, q); for (int j = 0; j < 32; j++) out->q[j] = (int8_t)(q[j] - 8); break;
    case WK_QUANT_Q4_1: out->m = wk_half_scale_at(s + 2); nibbles(s + 4, q); memcpy(out->q, q, 32); break;
    case WK_QUANT_Q5_0:
        nibbles(s + 6, q); fifth_bits(s + 2, q);
        for (int j = 0; j < 32; j++) out->q[j] = (int8_t)(q[j] - 16);
        break;
    case WK_QUANT_Q5_1: out->m = wk_half_scale_at(s + 2); nibbles(s + 8, q); fifth_bits(s + 4, q); memcpy(out->q, q, 32); break;
    default: nibbles(s + 2, q); for (int j = 0; j < 32; j++) out->q[j] = iq4_levels[q[j]]; break;
    }
#endif
}

// MARK: Unpacking 256-element blocks

/// The eight 6-bit scales and mins of Q4_K and Q5_K, each for two groups of 16.
static inline void k_scales(const uint8_t *q, super_block *out) {
    for (int j = 0; j < 4; j++) {
        const int s0 = q[j] & 63, m0 = q[j + 4] & 63;
        const int s1 = (q[j + 8] & 0x0F) | ((q[j] >> 6) << 4), m1 = (q[j + 8] >> 4) | ((q[j + 4] >> 6) << 4);
        out->scale[2 * j] = out->scale[2 * j + 1] = (int16_t)s0;
        out->min[2 * j] = out->min[2 * j + 1] = (int16_t)m0;
        out->scale[2 * (j + 4)] = out->scale[2 * (j + 4) + 1] = (int16_t)s1;
        out->min[2 * (j + 4)] = out->min[2 * (j + 4) + 1] = (int16_t)m1;
    }
}

static inline __attribute__((always_inline)) void unpack_super(int type, const uint8_t *s, super_block *out) {
    switch (type) {
    case WK_QUANT_Q2_K: {
        out->d = wk_half_scale_at(s + 80);
        out->dmin = wk_half_scale_at(s + 82);
        for (int j = 0; j < 16; j++) { out->scale[j] = (int16_t)(s[j] & 0x0F); out->min[j] = (int16_t)(s[j] >> 4); }
        const uint8_t *qs = s + 16;
        for (int h = 0; h < 2; h++)
            for (int k = 0; k < 4; k++)
                for (int l = 0; l < 32; l++) out->q[128 * h + 32 * k + l] = (int8_t)((qs[32 * h + l] >> (2 * k)) & 3);
        break;
    }
    case WK_QUANT_Q3_K: {
        out->d = wk_half_scale_at(s + 108);
        out->dmin = 0;
        const uint8_t *sc = s + 96, *hmask = s, *qs = s + 32;
        for (int i = 0; i < 16; i++) {
            const int low = i < 8 ? sc[i] & 0x0F : sc[i - 8] >> 4;
            const int high = (sc[8 + i % 4] >> (2 * (i / 4))) & 3;
            out->scale[i] = (int16_t)((low | (high << 4)) - 32);
            out->min[i] = 0;
        }
        for (int h = 0; h < 2; h++)
            for (int k = 0; k < 4; k++)
                for (int l = 0; l < 32; l++)
                    out->q[128 * h + 32 * k + l] = (int8_t)(((qs[32 * h + l] >> (2 * k)) & 3)
                                                            | (((hmask[l] >> (4 * h + k)) & 1) << 2));
        break;
    }
    case WK_QUANT_Q4_K: {
        out->d = wk_half_scale_at(s);
        out->dmin = wk_half_scale_at(s + 2);
        k_scales(s + 4, out);
        const uint8_t *qs = s + 16;
#if WK_HAS_AVX2
        const __m256i low = _mm256_set1_epi8(0x0F);
        for (int i = 0; i < 4; i++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(qs + 32 * i));
            _mm256_storeu_si256((__m256i *)(out->q + 64 * i), _mm256_and_si256(v, low));
            _mm256_storeu_si256((__m256i *)(out->q + 64 * i + 32), _mm256_and_si256(_mm256_srli_epi16(v, 4), low));
        }
#else
        for (int i = 0; i < 4; i++)
            for (int l = 0; l < 32; l++) {
                out->q[64 * i + l] = (int8_t)(qs[32 * i + l] & 0x0F);
                out->q[64 * i + 32 + l] = (int8_t)(qs[32 * i + l] >> 4);
            }
#endif
        break;
    }
    case WK_QUANT_Q5_K: {
        out->d = wk_half_scale_at(s);
        out->dmin = wk_half_scale_at(s + 2);
        k_scales(s + 4, out);
        const uint8_t *qh = s + 16, *qs = s + 48;
#if WK_HAS_AVX2
        const __m256i low = _mm256_set1_epi8(0x0F), high = _mm256_loadu_si256((const __m256i *)qh);
        for (int i = 0; i < 4; i++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(qs + 32 * i));
            // Bit `sub` of qh[l] moved to bit 4: shift right by sub - 4 (or left by 4 - sub).
            const int sub0 = 2 * i, sub1 = 2 * i + 1;
            const __m256i bit = _mm256_set1_epi8(0x10);
            const __m256i h0 = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(high, _mm256_set1_epi8((char)(1 << sub0))),
                                                                  _mm256_set1_epi8((char)(1 << sub0))), bit);
            const __m256i h1 = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(high, _mm256_set1_epi8((char)(1 << sub1))),
                                                                  _mm256_set1_epi8((char)(1 << sub1))), bit);
            _mm256_storeu_si256((__m256i *)(out->q + 64 * i), _mm256_or_si256(_mm256_and_si256(v, low), h0));
            _mm256_storeu_si256((__m256i *)(out->q + 64 * i + 32),
                                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), low), h1));
        }
#else
        for (int sub = 0; sub < 8; sub++) {
            const uint8_t *q = qs + 32 * (sub / 2);
            const int shift = 4 * (sub % 2);
            for (int l = 0; l < 32; l++)
                out->q[32 * sub + l] = (int8_t)(((q[l] >> shift) & 0x0F) | (((qh[l] >> sub) & 1) << 4));
        }
#endif
        break;
    }
    case WK_QUANT_Q6_K: {
        out->d = wk_half_scale_at(s + 208);
        out->dmin = 0;
        const int8_t *scales = (const int8_t *)(s + 192);
        for (int j = 0; j < 16; j++) { out->scale[j] = scales[j]; out->min[j] = 0; }
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = s + 64 * h, *qh = s + 128 + 32 * h;
#if WK_HAS_AVX2
            const __m256i low = _mm256_set1_epi8(0x0F), three = _mm256_set1_epi8(3);
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)ql), l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
            const __m256i hv = _mm256_loadu_si256((const __m256i *)qh);
            const __m256i lows[4] = {_mm256_and_si256(l0, low), _mm256_and_si256(l1, low),
                                     _mm256_and_si256(_mm256_srli_epi16(l0, 4), low), _mm256_and_si256(_mm256_srli_epi16(l1, 4), low)};
            WK_UNROLL for (int k = 0; k < 4; k++) {
                const __m256i hi = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hv, 2 * k), three), 4);
                _mm256_storeu_si256((__m256i *)(out->q + 128 * h + 32 * k), _mm256_or_si256(lows[k], hi));
            }
#else
            for (int k = 0; k < 4; k++) {
                const uint8_t *lo = ql + 32 * (k % 2);
                const int nibble = 4 * (k / 2);
                for (int l = 0; l < 32; l++)
                    out->q[128 * h + 32 * k + l] = (int8_t)(((lo[l] >> nibble) & 0x0F) | (((qh[l] >> (2 * k)) & 3) << 4));
            }
#endif
        }
        break;
    }
    default: {  // IQ4_XS
        out->d = wk_half_scale_at(s);
        out->dmin = 0;
        uint16_t high;
        uint32_t low;
        memcpy(&high, s + 2, 2);
        memcpy(&low, s + 4, 4);
        for (int j = 0; j < 8; j++) {
            const int scale = (int)(((low >> (4 * j)) & 0x0F) | (((high >> (2 * j)) & 3) << 4)) - 32;
            out->scale[2 * j] = out->scale[2 * j + 1] = (int16_t)scale;
            out->min[2 * j] = out->min[2 * j + 1] = 0;
        }
        const uint8_t *qs = s + 8;
#if WK_HAS_AVX2
        const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)iq4_levels));
        for (int j = 0; j < 8; j++)
            _mm256_storeu_si256((__m256i *)(out->q + 32 * j), _mm256_shuffle_epi8(table, nibbles256(qs + 16 * j)));
#else
        for (int j = 0; j < 8; j++)
            for (int l = 0; l < 16; l++) {
                out->q[32 * j + l] = iq4_levels[qs[16 * j + l] & 0x0F];
                out->q[32 * j + 16 + l] = iq4_levels[qs[16 * j + l] >> 4];
            }
#endif
        break;
    }
    }
}

// MARK: Dot products of unpacked blocks

#if WK_HAS_AVX2
/// |w| times x with w's sign, in pairs: 16 int16 (at most 2 · 127 · 127, no saturation).
static inline __m256i pair_products(__m256i w, __m256i x) {
    return _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
}

/// Σ of 32 int8 activations in 8 int32 lanes.
static inline __m256i quad_sums(__m256i x) {
#if WK_HAS_VNNI
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(1), x);
#else
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), x), _mm256_set1_epi16(1));
#endif
}


typedef __m256 dot_acc;
#define DOT_ZERO() _mm256_setzero_ps()
#define DOT_TOTAL(acc) wk_hsum256(acc)
#else
typedef float dot_acc;
#define DOT_ZERO() 0.0f
#define DOT_TOTAL(acc) (acc)
#endif

/// d_x · Σ x of a block of activations: what the offset m_w of Q4_1 and Q5_1 multiplies.
static inline float block_sum(const wk_block_q8_act *x) {
    int sum = 0;
    for (int j = 0; j < 32; j++) sum += x->qs[j];
    return x->d * (float)sum;
}

/// acc + d_x · d_w · Σ q·x for one 32-element block (the offset term m_w · d_x · Σ x is the
/// caller's: `block_sum`). Q4_1 and Q5_1 quants are unsigned and multiply x as they are;
/// the signed ones take the sign trick.
static inline __attribute__((always_inline))
dot_acc small_dot(int type, const small_block *w, const wk_block_q8_act *x, dot_acc acc) {
#if WK_HAS_AVX2
    const __m256i xq = _mm256_loadu_si256((const __m256i *)x->qs), wq = _mm256_loadu_si256((const __m256i *)w->q);
    __m256i p;
    if (has_offset(type)) {
#if WK_HAS_VNNI
        p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), wq, xq);
#else
        p = _mm256_madd_epi16(_mm256_maddubs_epi16(wq, xq), _mm256_set1_epi16(1));
#endif
    } else {
        p = wk_int8_products(wq, xq);
    }
    return _mm256_fmadd_ps(_mm256_set1_ps(w->d * x->d), _mm256_cvtepi32_ps(p), acc);
#else
    (void)type;
    int isum = 0;
    for (int j = 0; j < 32; j++) isum += (int)w->q[j] * (int)x->qs[j];
    return acc + x->d * (w->d * (float)isum);
#endif
}

/// acc + d_x · (d · Σ_j scale_j · Σ_{16} q·x − dmin · Σ_j min_j · bsum_j) for one 256-element block:
/// Σ q·x as Σ u·x − offset · bsum_j with the unsigned quants u (no sign instructions; the pairs
/// stay below 2 · 63 · 127), IQ4_XS's signed levels with the sign trick.
static inline __attribute__((always_inline))
dot_acc super_dot(int type, const super_block *w, const wk_block_q8_k_act *x, dot_acc acc) {
    const int offset = has_offset(type), shift = unsigned_offset_shift(type);
#if WK_HAS_AVX2
    __m256i isum = _mm256_setzero_si256();
    WK_UNROLL for (int i = 0; i < 8; i++) {
        const __m256i wq = _mm256_loadu_si256((const __m256i *)(w->q + 32 * i));
        const __m256i xq = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * i));
        const __m256i p = type == WK_QUANT_IQ4_XS ? pair_products(wq, xq) : _mm256_maddubs_epi16(wq, xq);
        const __m256i scale = _mm256_set_m128i(_mm_set1_epi16(w->scale[2 * i + 1]), _mm_set1_epi16(w->scale[2 * i]));
#if WK_HAS_VNNI
        isum = _mm256_dpwssd_epi32(isum, p, scale);
#else
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, scale));
#endif
    }
    if (shift) {
        const __m256i sums = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)w->scale),
                                               _mm256_loadu_si256((const __m256i *)x->bsums));
        isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(sums, shift));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(w->d * x->d), _mm256_cvtepi32_ps(isum), acc);
    if (offset) {
        const __m256i mins = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)w->min),
                                               _mm256_loadu_si256((const __m256i *)x->bsums));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(-w->dmin * x->d), _mm256_cvtepi32_ps(mins), acc);
    }
    return acc;
#else
    int isum = 0, msum = 0;
    for (int g = 0; g < 16; g++) {
        int p = 0;
        for (int j = 0; j < 16; j++) p += (int)w->q[16 * g + j] * (int)x->qs[16 * g + j];
        if (shift) p -= (int)x->bsums[g] << shift;
        isum += (int)w->scale[g] * p;
        msum += (int)w->min[g] * (int)x->bsums[g];
    }
    acc += x->d * (w->d * (float)isum);
    if (offset) acc -= x->d * (w->dmin * (float)msum);
    return acc;
#endif
}

// MARK: Decode

static inline __attribute__((always_inline))
/// `sums`: block_sum of every block of x (read for Q4_1 and Q5_1 only; NULL: computed here).
float small_row_dot(int type, const uint8_t *row, size_t blocks, const wk_block_q8_act *x, const float *sums) {
    const size_t bytes = block_bytes(type);
    const int offset = has_offset(type);
    dot_acc acc0 = DOT_ZERO(), acc1 = DOT_ZERO();
    float offsets = 0;
    size_t b = 0;
    for (; b + 2 <= blocks; b += 2) {
        small_block w0, w1;
        unpack_small(type, row + b * bytes, &w0);
        unpack_small(type, row + (b + 1) * bytes, &w1);
        acc0 = small_dot(type, &w0, x + b, acc0);
        acc1 = small_dot(type, &w1, x + b + 1, acc1);
        if (offset) offsets += w0.m * (sums ? sums[b] : block_sum(x + b)) + w1.m * (sums ? sums[b + 1] : block_sum(x + b + 1));
    }
    if (b < blocks) {
        small_block w;
        unpack_small(type, row + b * bytes, &w);
        acc0 = small_dot(type, &w, x + b, acc0);
        if (offset) offsets += w.m * (sums ? sums[b] : block_sum(x + b));
    }
    return DOT_TOTAL(acc0 + acc1) + offsets;
}

static inline __attribute__((always_inline))
float super_row_dot(int type, const uint8_t *row, size_t blocks, const wk_block_q8_k_act *x) {
    const size_t bytes = block_bytes(type);
    dot_acc acc = DOT_ZERO();
    for (size_t b = 0; b < blocks; b++) {
        super_block w;
        unpack_super(type, row + b * bytes, &w);
        acc = super_dot(type, &w, x + b, acc);
    }
    return DOT_TOTAL(acc);
}

/// Rows one after another, each one sequential stream (as the Q8_0 rows, bodies/q8.h).
static inline __attribute__((always_inline))
void matvec_type(int type, const uint8_t *w, size_t row_stride, size_t rows, size_t blocks, const void *x, float *y) {
    if (is_small_type(type)) {
        const wk_block_q8_act *xb = (const wk_block_q8_act *)x;
        // The offsets' sums of x, once per product: on the stack up to 1,024 blocks, else on the
        // heap (else, if that fails, per row).
        float stack[1024], *sums = stack;
        if (has_offset(type)) {
            if (blocks > 1024) sums = (float *)malloc(blocks * sizeof(float));
            if (sums) for (size_t b = 0; b < blocks; b++) sums[b] = block_sum(xb + b);
        }
        for (size_t r = 0; r < rows; r++) y[r] = small_row_dot(type, w + r * row_stride, blocks, xb, sums);
        if (sums != stack) free(sums);  // free(NULL) is nothing
    } else
        for (size_t r = 0; r < rows; r++) y[r] = super_row_dot(type, w + r * row_stride, blocks, (const wk_block_q8_k_act *)x);
}

void WK_FN(matvec_quant)(int type, const void *weights, size_t row_stride, size_t rows, size_t blocks,
                         const void *x, float *y) {
    const uint8_t *w = (const uint8_t *)weights;
    switch (type) {
#define WK_CASE(T) case T: matvec_type(T, w, row_stride, rows, blocks, x, y); break;
    WK_CASE(WK_QUANT_Q4_0) WK_CASE(WK_QUANT_Q4_1) WK_CASE(WK_QUANT_Q5_0) WK_CASE(WK_QUANT_Q5_1)
    WK_CASE(WK_QUANT_IQ4_NL) WK_CASE(WK_QUANT_Q2_K) WK_CASE(WK_QUANT_Q3_K) WK_CASE(WK_QUANT_Q4_K)
    WK_CASE(WK_QUANT_Q5_K) WK_CASE(WK_QUANT_Q6_K) WK_CASE(WK_QUANT_IQ4_XS)
#undef WK_CASE
    default: break;
    }
}

// MARK: Prefill

/// Rows unpacked together, and blocks per chunk (four rows of a chunk fill about 20 KiB).
enum { QG_ROWS = 4, QG_SMALL_CHUNK = 128, QG_SUPER_CHUNK = 16 };

_Static_assert(QG_ROWS * QG_SMALL_CHUNK * sizeof(small_block) <= WK_GEMM_QUANT_SCRATCH_BYTES, "scratch for 32-element blocks");
_Static_assert(QG_ROWS * QG_SUPER_CHUNK * sizeof(super_block) <= WK_GEMM_QUANT_SCRATCH_BYTES, "scratch for 256-element blocks");

#if WK_HAS_AVX2
/// Tokens per tile of the 32-element types (4 rows each) and rows per tile of the 256-element
/// ones (2 tokens each): the accumulators stay in registers (16 vector registers with AVX2, 32
/// with AVX-512).
enum { QT_SMALL_TOKENS = WK_HAS_AVX512 ? 4 : 2, QT_SUPER_ROWS = WK_HAS_AVX512 ? 4 : 2 };

/// The unpacked rows `u` (row r at u + r · chunk) of `nc` 32-element blocks times
/// QT_SMALL_TOKENS tokens (token t at x + t · blocks), 4 rows a tile: every load of a weight or
/// an activation block serves the whole tile. Adds into (or, when `first`, sets) y[t · ldy + r].
static inline __attribute__((always_inline))
void small_tile(int type, const small_block *u, size_t chunk, const wk_block_q8_act *x, size_t blocks, size_t nc,
                float *y, size_t ldy, int first) {
    enum { T = QT_SMALL_TOKENS };
    // Q4_1 and Q5_1 store unsigned quants: they multiply x as they are, without the sign trick.
    const int offset = has_offset(type);
    __m256 acc[T][4];
    WK_UNROLL for (int t = 0; t < T; t++) WK_UNROLL for (int r = 0; r < 4; r++) acc[t][r] = _mm256_setzero_ps();
    for (size_t c = 0; c < nc; c++) {
        __m256i w[4], magnitude[4];
        __m256 dw[4], mw[4];
        WK_UNROLL for (int r = 0; r < 4; r++) {
            const small_block *b = u + r * chunk + c;
            w[r] = _mm256_loadu_si256((const __m256i *)b->q);
            magnitude[r] = offset ? w[r] : _mm256_sign_epi8(w[r], w[r]);
            dw[r] = _mm256_set1_ps(b->d);
            mw[r] = _mm256_set1_ps(b->m);
        }
        WK_UNROLL for (int t = 0; t < T; t++) {
            const wk_block_q8_act *xb = x + t * blocks + c;
            const __m256i xq = _mm256_loadu_si256((const __m256i *)xb->qs);
            const __m256 dx = _mm256_set1_ps(xb->d);
            __m256 sums = _mm256_setzero_ps();
            if (offset) sums = _mm256_cvtepi32_ps(quad_sums(xq));
            WK_UNROLL for (int r = 0; r < 4; r++) {
                const __m256i signed_x = offset ? xq : _mm256_sign_epi8(xq, w[r]);
#if WK_HAS_VNNI
                const __m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), magnitude[r], signed_x);
#else
                const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude[r], signed_x), _mm256_set1_epi16(1));
#endif
                acc[t][r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_mul_ps(dw[r], dx), acc[t][r]);
                if (offset) acc[t][r] = _mm256_fmadd_ps(sums, _mm256_mul_ps(mw[r], dx), acc[t][r]);
            }
        }
    }
    WK_UNROLL for (int t = 0; t < T; t++)
        WK_UNROLL for (int r = 0; r < 4; r++) {
            float *out = y + t * ldy + r;
            *out = (first ? 0.0f : *out) + wk_hsum256(acc[t][r]);
        }
}

/// The same for 256-element blocks, QT_SUPER_ROWS rows times 2 tokens: the integer sums of a
/// block per row and token (super_dot's arithmetic), then one float multiply-add each.
static inline __attribute__((always_inline))
void super_tile(int type, const super_block *u, size_t chunk, const wk_block_q8_k_act *x, size_t blocks, size_t nc,
                float *y, size_t ldy, int first) {
    enum { R = QT_SUPER_ROWS };
    const int offset = has_offset(type), shift = unsigned_offset_shift(type);
    __m256 acc[2][R];
    WK_UNROLL for (int t = 0; t < 2; t++) WK_UNROLL for (int r = 0; r < R; r++) acc[t][r] = _mm256_setzero_ps();
    for (size_t c = 0; c < nc; c++) {
        const wk_block_q8_k_act *x0 = x + c, *x1 = x + blocks + c;
        __m256i isum[2][R];
        WK_UNROLL for (int t = 0; t < 2; t++) WK_UNROLL for (int r = 0; r < R; r++) isum[t][r] = _mm256_setzero_si256();
        WK_UNROLL for (int i = 0; i < 8; i++) {
            const __m256i xa = _mm256_loadu_si256((const __m256i *)(x0->qs + 32 * i));
            const __m256i xb = _mm256_loadu_si256((const __m256i *)(x1->qs + 32 * i));
            WK_UNROLL for (int r = 0; r < R; r++) {
                const super_block *b = u + r * chunk + c;
                const __m256i wq = _mm256_loadu_si256((const __m256i *)(b->q + 32 * i));
                const __m256i scale = _mm256_set_m128i(_mm_set1_epi16(b->scale[2 * i + 1]), _mm_set1_epi16(b->scale[2 * i]));
                __m256i pa, pb;
                if (type == WK_QUANT_IQ4_XS) {
                    const __m256i magnitude = _mm256_sign_epi8(wq, wq);
                    pa = _mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(xa, wq));
                    pb = _mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(xb, wq));
                } else {
                    pa = _mm256_maddubs_epi16(wq, xa);
                    pb = _mm256_maddubs_epi16(wq, xb);
                }
#if WK_HAS_VNNI
                isum[0][r] = _mm256_dpwssd_epi32(isum[0][r], pa, scale);
                isum[1][r] = _mm256_dpwssd_epi32(isum[1][r], pb, scale);
#else
                isum[0][r] = _mm256_add_epi32(isum[0][r], _mm256_madd_epi16(pa, scale));
                isum[1][r] = _mm256_add_epi32(isum[1][r], _mm256_madd_epi16(pb, scale));
#endif
            }
        }
        WK_UNROLL for (int t = 0; t < 2; t++) {
            const wk_block_q8_k_act *xt = t == 0 ? x0 : x1;
            const __m256i bsums = _mm256_loadu_si256((const __m256i *)xt->bsums);
            WK_UNROLL for (int r = 0; r < R; r++) {
                const super_block *b = u + r * chunk + c;
                __m256i sum = isum[t][r];
                if (shift)
                    sum = _mm256_sub_epi32(sum, _mm256_slli_epi32(
                        _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)b->scale), bsums), shift));
                acc[t][r] = _mm256_fmadd_ps(_mm256_set1_ps(b->d * xt->d), _mm256_cvtepi32_ps(sum), acc[t][r]);
                if (offset) {
                    const __m256i mins = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)b->min), bsums);
                    acc[t][r] = _mm256_fmadd_ps(_mm256_set1_ps(-b->dmin * xt->d), _mm256_cvtepi32_ps(mins), acc[t][r]);
                }
            }
        }
    }
    WK_UNROLL for (int t = 0; t < 2; t++)
        WK_UNROLL for (int r = 0; r < R; r++) {
            float *out = y + t * ldy + r;
            *out = (first ? 0.0f : *out) + wk_hsum256(acc[t][r]);
        }
}
#endif

static inline __attribute__((always_inline))
void gemm_type(int type, const uint8_t *w, size_t row_stride, size_t rows, size_t blocks, const void *x, size_t m,
               float *y, size_t ldy, void *scratch) {
    const size_t bytes = block_bytes(type);
    const int small = is_small_type(type), offset = has_offset(type);
    const size_t chunk = small ? QG_SMALL_CHUNK : QG_SUPER_CHUNK;
    for (size_t r0 = 0; r0 < rows; r0 += QG_ROWS) {
        const size_t nr = rows - r0 < QG_ROWS ? rows - r0 : QG_ROWS;
        for (size_t c0 = 0; c0 < blocks; c0 += chunk) {
            const size_t nc = blocks - c0 < chunk ? blocks - c0 : chunk;
            for (size_t r = 0; r < nr; r++)
                for (size_t c = 0; c < nc; c++) {
                    const uint8_t *block = w + (r0 + r) * row_stride + (c0 + c) * bytes;
                    if (small) unpack_small(type, block, (small_block *)scratch + r * chunk + c);
                    else unpack_super(type, block, (super_block *)scratch + r * chunk + c);
                }
            // Tiles cover rows [0, tile_rows) x tokens [0, tile_tokens); the loop below the rest.
            size_t tile_rows = 0, tile_tokens = 0;
#if WK_HAS_AVX2
            if (small && nr == QG_ROWS) {
                tile_rows = QG_ROWS;
                tile_tokens = m / QT_SMALL_TOKENS * QT_SMALL_TOKENS;
                for (size_t t = 0; t < tile_tokens; t += QT_SMALL_TOKENS)
                    small_tile(type, (const small_block *)scratch, chunk, (const wk_block_q8_act *)x + t * blocks + c0, blocks,
                               nc, y + t * ldy + r0, ldy, c0 == 0);
            } else if (!small) {
                tile_rows = nr / QT_SUPER_ROWS * QT_SUPER_ROWS;
                tile_tokens = tile_rows ? m & ~(size_t)1 : 0;
                for (size_t t = 0; t < tile_tokens; t += 2)
                    for (size_t r = 0; r < tile_rows; r += QT_SUPER_ROWS)
                        super_tile(type, (const super_block *)scratch + r * chunk, chunk,
                                   (const wk_block_q8_k_act *)x + t * blocks + c0, blocks, nc, y + t * ldy + r0 + r, ldy, c0 == 0);
            }
#endif
            for (size_t t = 0; t < m; t++)
                for (size_t r = 0; r < nr; r++) {
                    if (r < tile_rows && t < tile_tokens) continue;
                    dot_acc acc = DOT_ZERO();
                    float offsets = 0;
                    if (small) {
                        const small_block *u = (const small_block *)scratch + r * chunk;
                        const wk_block_q8_act *xb = (const wk_block_q8_act *)x + t * blocks + c0;
                        for (size_t c = 0; c < nc; c++) {
                            acc = small_dot(type, u + c, xb + c, acc);
                            if (offset) offsets += u[c].m * block_sum(xb + c);
                        }
                    } else {
                        const super_block *u = (const super_block *)scratch + r * chunk;
                        const wk_block_q8_k_act *xb = (const wk_block_q8_k_act *)x + t * blocks + c0;
                        for (size_t c = 0; c < nc; c++) acc = super_dot(type, u + c, xb + c, acc);
                    }
                    float *out = y + t * ldy + r0 + r;
                    *out = (c0 > 0 ? *out : 0.0f) + (DOT_TOTAL(acc) + offsets);
                }
        }
    }
}

void WK_FN(gemm_quant)(int type, const void *weights, size_t row_stride, size_t rows, size_t blocks, const void *x,
                       size_t m, float *y, size_t ldy, void *scratch) {
    const uint8_t *w = (const uint8_t *)weights;
    switch (type) {
#define WK_CASE(T) case T: gemm_type(T, w, row_stride, rows, blocks, x, m, y, ldy, scratch); break;
    WK_CASE(WK_QUANT_Q4_0) WK_CASE(WK_QUANT_Q4_1) WK_CASE(WK_QUANT_Q5_0) WK_CASE(WK_QUANT_Q5_1)
    WK_CASE(WK_QUANT_IQ4_NL) WK_CASE(WK_QUANT_Q2_K) WK_CASE(WK_QUANT_Q3_K) WK_CASE(WK_QUANT_Q4_K)
    WK_CASE(WK_QUANT_Q5_K) WK_CASE(WK_QUANT_Q6_K) WK_CASE(WK_QUANT_IQ4_XS)
#undef WK_CASE
    default: break;
    }
}

/// Σ of each block's 32 quantised activations, the block sums `gemm_quant_panels` takes.
void WK_FN(sum_q8_act)(const wk_block_q8_act *x, size_t blocks, int32_t *sums) {
    for (size_t b = 0; b < blocks; b++) {
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += x[b].qs[j];
        sums[b] = sum;
    }
}

// MARK: Prefill on panels (AVX-512 VNNI)
//
// The Q8_0 panels' blocking (bodies/gemm.h) for every other integer type: a panel holds 32
// weight rows of a chunk of 8 blocks of 32 (one 256-element block of the K-quants and IQ4_XS),
// unpacked once per chunk and multiplied with every token, 6 tokens x 32 rows a tile; one
// 64-byte load gives four consecutive quants of 16 rows and a broadcast of four activations
// multiplies all of them (dpbusd). The quants are stored unsigned, as dpbusd's first operand
// wants them: u = q + 128 for the signed types (Q4_0, Q5_0, IQ4_NL, IQ4_XS: the sign bit
// flipped), as stored for the others (Q4_1, Q5_1, Q2_K ... Q6_K). Then Σ q·x = Σ u·x − offset ·
// Σ x exactly, with offset 128, 4 (Q3_K), 32 (Q6_K) or 0, and Σ x from the activations' block
// sums (`sum_q8_act`; the 16-sums of `wk_block_q8_k_act`) preloaded into the integer
// accumulators. Each group of 32 (16 for Q2_K, Q3_K, Q6_K) of a row has its float scale (d, or
// d · scale_j, exact in float32) and, for the types with an offset term, its coefficient of
// d_x · Σ x (m of Q4_1, Q5_1; −dmin · min_j of the K-quants). Activations with one scale per
// 256 are scaled once per chunk instead of once per block.

/// Blocks of 32 per chunk, tokens per tile, bytes per packed block (quants, then scales and
/// offset coefficients of up to two groups).
enum { QP_BLOCKS = 8, QP_MR = 6, QP_QUANTS = 32 * 32, QP_BLOCK = QP_QUANTS + 4 * 32 * 4 };

_Static_assert(QP_BLOCKS * QP_BLOCK + PANEL_ROWS * sizeof(super_block) <= WK_GEMM_QUANT_SCRATCH_BYTES,
               "scratch for the panels");

/// Groups of 16 with their own scale (2: Q2_K, Q3_K, Q6_K) or one per 32 (1).
static inline int panel_groups(int type) {
    return type == WK_QUANT_Q2_K || type == WK_QUANT_Q3_K || type == WK_QUANT_Q6_K ? 2 : 1;
}

/// What a panel's unsigned quants exceed the type's quants by.
static inline int panel_offset(int type) {
    switch (type) {
    case WK_QUANT_Q4_0: case WK_QUANT_Q5_0: case WK_QUANT_IQ4_NL: case WK_QUANT_IQ4_XS: return 128;
    case WK_QUANT_Q6_K: return 32;
    case WK_QUANT_Q3_K: return 4;
    default: return 0;
    }
}

#if WK_HAS_VNNI
/// Stores 32 rows of one packed block: `v[r]` holds the 32 quants of row r (low half) and of row
/// r + 16 (high half); after the transpose, step g (quants 4g … 4g + 3) of rows 0 … 15 and then
/// of rows 16 … 31 fill bytes 128 g … 128 g + 127.
static inline void store_panel_quants(__m512 v[16], uint8_t *out) {
    transpose16(v);
    WK_UNROLL for (int g = 0; g < 8; g++) {
        _mm512_storeu_si512(out + g * 128, _mm512_castps_si512(v[g]));
        _mm512_storeu_si512(out + g * 128 + 64, _mm512_castps_si512(v[8 + g]));
    }
}

static inline __m512 two_rows(__m256i low, __m256i high) {
    return _mm512_castsi512_ps(_mm512_inserti64x4(_mm512_castsi256_si512(low), high, 1));
}

/// Packs blocks b0 … b0 + nb − 1 of `rows` (at most 32; the rest zero) 32-element rows.
static inline __attribute__((always_inline))
void pack_small_panel(int type, const uint8_t *w, size_t row_stride, size_t rows, size_t b0, size_t nb, uint8_t *panel) {
    const size_t bytes = block_bytes(type);
    const __m256i flip = _mm256_set1_epi8(panel_offset(type) ? (char)0x80 : 0);
    for (size_t b = 0; b < nb; b++) {
        uint8_t *out = panel + b * QP_BLOCK;
        float *scale = (float *)(out + QP_QUANTS), *coefficient = scale + 64;
        __m512 v[16];
        WK_UNROLL for (size_t r = 0; r < 16; r++) {
            __m256i q[2];
            WK_UNROLL for (size_t half = 0; half < 2; half++) {
                const size_t row = r + 16 * half;
                float d = 0, m = 0;
                q[half] = row < rows ? _mm256_xor_si256(load_small(type, w + row * row_stride + (b0 + b) * bytes, &d, &m), flip)
                                     : _mm256_setzero_si256();
                scale[row] = d;
                coefficient[row] = m;
            }
            v[r] = two_rows(q[0], q[1]);
        }
        store_panel_quants(v, out);
    }
}

/// Packs 256-element block `c` of `rows` rows as 8 blocks of 32, unpacking each row once into
/// `unpacked` (32 super_blocks).
static inline __attribute__((always_inline))
void pack_super_panel(int type, const uint8_t *w, size_t row_stride, size_t rows, size_t c, uint8_t *panel,
                      super_block *unpacked) {
    const size_t bytes = block_bytes(type);
    const int groups = panel_groups(type);
    for (size_t r = 0; r < rows; r++) unpack_super(type, w + r * row_stride + c * bytes, unpacked + r);
    const __m256i flip = _mm256_set1_epi8(type == WK_QUANT_IQ4_XS ? (char)0x80 : 0);
    for (int j = 0; j < 8; j++) {
        uint8_t *out = panel + j * QP_BLOCK;
        float *scale = (float *)(out + QP_QUANTS), *coefficient = scale + 64;
        __m512 v[16];
        WK_UNROLL for (size_t r = 0; r < 16; r++) {
            __m256i q[2];
            WK_UNROLL for (size_t half = 0; half < 2; half++) {
                const size_t row = r + 16 * half;
                const super_block *u = unpacked + row;
                q[half] = row < rows ? _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(u->q + 32 * j)), flip)
                                     : _mm256_setzero_si256();
                for (int g = 0; g < groups; g++) {
                    scale[32 * g + row] = row < rows ? u->d * (float)u->scale[2 * j + g] : 0.0f;
                    coefficient[32 * g + row] = row < rows ? -u->dmin * (float)u->min[2 * j + g] : 0.0f;
                }
            }
            v[r] = two_rows(q[0], q[1]);
        }
        store_panel_quants(v, out);
    }
}

/// y[i][0 … 32) for `mr` tokens times the packed blocks of one chunk (`nb` blocks). `super`:
/// activations in blocks of 256 (x at the chunk's block of token 0, token i at x + i · ldx),
/// else in blocks of 32 with their sums (x and sums at block b0 of token 0, token i at + i ·
/// ldx). `groups`, `coefficients` (an offset term) and `offset` as for the type.
static inline __attribute__((always_inline))
void panel_tile(const int super, const int groups, const int coefficients, const int offset, const uint8_t *panel,
                size_t nb, const void *x, const int32_t *sums, size_t ldx, const int mr, float *y, size_t ldy,
                int accumulate, __mmask16 mask0, __mmask16 mask1) {
    const wk_block_q8_act *xs = (const wk_block_q8_act *)x;
    const wk_block_q8_k_act *xk = (const wk_block_q8_k_act *)x;
    __m512 c0[QP_MR], c1[QP_MR];
    WK_UNROLL for (int i = 0; i < mr; i++) {
        const int load = accumulate && !super;
        c0[i] = load ? _mm512_maskz_loadu_ps(mask0, y + i * ldy) : _mm512_setzero_ps();
        c1[i] = load ? _mm512_maskz_loadu_ps(mask1, y + i * ldy + 16) : _mm512_setzero_ps();
    }
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *block = panel + b * QP_BLOCK;
        const float *scale = (const float *)(block + QP_QUANTS), *coefficient = scale + 64;
        WK_UNROLL for (int g = 0; g < groups; g++) {
            const int steps = 8 / groups;
            int32_t sum[QP_MR];
            WK_UNROLL for (int i = 0; i < mr; i++) {
                if (super) {
                    const int16_t *bsums = xk[i * ldx].bsums + 2 * b;
                    sum[i] = groups == 2 ? bsums[g] : bsums[0] + bsums[1];
                } else
                    sum[i] = sums[i * ldx + b];
            }
            __m512i a0[QP_MR], a1[QP_MR];
            WK_UNROLL for (int i = 0; i < mr; i++) a0[i] = a1[i] = _mm512_set1_epi32(-offset * sum[i]);
            WK_UNROLL for (int s = 0; s < steps; s++) {
                const int step = g * steps + s;
                const __m512i w0 = _mm512_loadu_si512(block + step * 128), w1 = _mm512_loadu_si512(block + step * 128 + 64);
                WK_UNROLL for (int i = 0; i < mr; i++) {
                    const int8_t *qs = super ? xk[i * ldx].qs + 32 * b : xs[i * ldx + b].qs;
                    int32_t four;
                    memcpy(&four, qs + 4 * step, 4);
                    const __m512i xb = _mm512_set1_epi32(four);
                    a0[i] = _mm512_dpbusd_epi32(a0[i], w0, xb);
                    a1[i] = _mm512_dpbusd_epi32(a1[i], w1, xb);
                }
            }
            const __m512 s0 = _mm512_loadu_ps(scale + 32 * g), s1 = _mm512_loadu_ps(scale + 32 * g + 16);
            WK_UNROLL for (int i = 0; i < mr; i++) {
                // Blocks of 256: d_x multiplies the chunk's sums once, when they are stored.
                const float dx = super ? 1.0f : xs[i * ldx + b].d;
                const __m512 f0 = super ? s0 : _mm512_mul_ps(s0, _mm512_set1_ps(dx));
                const __m512 f1 = super ? s1 : _mm512_mul_ps(s1, _mm512_set1_ps(dx));
                c0[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a0[i]), f0, c0[i]);
                c1[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a1[i]), f1, c1[i]);
                if (coefficients) {
                    const __m512 t = _mm512_set1_ps(dx * (float)sum[i]);
                    c0[i] = _mm512_fmadd_ps(_mm512_loadu_ps(coefficient + 32 * g), t, c0[i]);
                    c1[i] = _mm512_fmadd_ps(_mm512_loadu_ps(coefficient + 32 * g + 16), t, c1[i]);
                }
            }
        }
    }
    WK_UNROLL for (int i = 0; i < mr; i++) {
        float *out = y + i * ldy;
        if (super) {
            const __m512 dx = _mm512_set1_ps(xk[i * ldx].d);
            c0[i] = accumulate ? _mm512_fmadd_ps(c0[i], dx, _mm512_maskz_loadu_ps(mask0, out)) : _mm512_mul_ps(c0[i], dx);
            c1[i] = accumulate ? _mm512_fmadd_ps(c1[i], dx, _mm512_maskz_loadu_ps(mask1, out + 16)) : _mm512_mul_ps(c1[i], dx);
        }
        _mm512_mask_storeu_ps(out, mask0, c0[i]);
        _mm512_mask_storeu_ps(out + 16, mask1, c1[i]);
    }
}

/// panel_tile with `mr` a constant (1 … QP_MR), so that the accumulators stay in registers.
static inline __attribute__((always_inline))
void panel_tile_any(const int super, const int groups, const int coefficients, int offset, const uint8_t *panel, size_t nb,
                    const void *x, const int32_t *sums, size_t ldx, int mr, float *y, size_t ldy, int accumulate,
                    __mmask16 m0, __mmask16 m1) {
    switch (mr) {
#define WK_TILE(N) case N: panel_tile(super, groups, coefficients, offset, panel, nb, x, sums, ldx, N, y, ldy, accumulate, m0, m1); break;
    WK_TILE(1) WK_TILE(2) WK_TILE(3) WK_TILE(4) WK_TILE(5) WK_TILE(6)
#undef WK_TILE
    default: break;
    }
}

/// One tile kind per combination the types need (kept few: each is six unrolled tiles).
static void small_panel_tile(int type, const uint8_t *panel, size_t nb, const void *x, const int32_t *sums, size_t ldx,
                             int mr, float *y, size_t ldy, int accumulate, __mmask16 m0, __mmask16 m1) {
    if (has_offset(type)) panel_tile_any(0, 1, 1, 0, panel, nb, x, sums, ldx, mr, y, ldy, accumulate, m0, m1);
    else panel_tile_any(0, 1, 0, 128, panel, nb, x, sums, ldx, mr, y, ldy, accumulate, m0, m1);
}

static void super_panel_tile(int type, const uint8_t *panel, const void *x, size_t ldx, int mr, float *y, size_t ldy,
                             int accumulate, __mmask16 m0, __mmask16 m1) {
    const int offset = panel_offset(type);
    if (panel_groups(type) == 2) {
        if (has_offset(type)) panel_tile_any(1, 2, 1, 0, panel, 8, x, 0, ldx, mr, y, ldy, accumulate, m0, m1);
        else panel_tile_any(1, 2, 0, offset, panel, 8, x, 0, ldx, mr, y, ldy, accumulate, m0, m1);
    } else {
        if (has_offset(type)) panel_tile_any(1, 1, 1, 0, panel, 8, x, 0, ldx, mr, y, ldy, accumulate, m0, m1);
        else panel_tile_any(1, 1, 0, offset, panel, 8, x, 0, ldx, mr, y, ldy, accumulate, m0, m1);
    }
}

static inline __attribute__((always_inline))
void gemm_panels_type(int type, const uint8_t *w, size_t row_stride, size_t rows, size_t blocks, const void *x,
                      const int32_t *sums, size_t m, float *y, size_t ldy, void *scratch) {
    uint8_t *panel = (uint8_t *)scratch;
    super_block *unpacked = (super_block *)(panel + QP_BLOCKS * QP_BLOCK);
    const int small = is_small_type(type);
    const size_t step = small ? QP_BLOCKS : 1, bytes = block_bytes(type);
    for (size_t r0 = 0; r0 < rows; r0 += PANEL_ROWS) {
        const size_t nr = rows - r0 < PANEL_ROWS ? rows - r0 : PANEL_ROWS;
        __mmask16 mask0, mask1;
        panel_masks(nr, &mask0, &mask1);
        for (size_t c0 = 0; c0 < blocks; c0 += step) {
            const size_t nc = blocks - c0 < step ? blocks - c0 : step;
            if (small) pack_small_panel(type, w + r0 * row_stride, row_stride, nr, c0, nc, panel);
            else pack_super_panel(type, w + r0 * row_stride, row_stride, nr, c0, panel, unpacked);
            prefetch_following(w, row_stride, rows, r0, c0, blocks, step, bytes);
            for (size_t i = 0; i < m; i += QP_MR) {
                const int mr = m - i < QP_MR ? (int)(m - i) : QP_MR;
                if (small)
                    small_panel_tile(type, panel, nc, (const wk_block_q8_act *)x + i * blocks + c0, sums + i * blocks + c0,
                                     blocks, mr, y + i * ldy + r0, ldy, c0 > 0, mask0, mask1);
                else
                    super_panel_tile(type, panel, (const wk_block_q8_k_act *)x + i * blocks + c0, blocks, mr,
                                     y + i * ldy + r0, ldy, c0 > 0, mask0, mask1);
            }
        }
    }
}
#endif

#if WK_VARIANT == WK_V_SCALAR || WK_HAS_VNNI
void WK_FN(gemm_quant_panels)(int type, const void *weights, size_t row_stride, size_t rows, size_t blocks, const void *x,
                              const int32_t *sums, size_t m, float *y, size_t ldy, void *scratch) {
    const uint8_t *w = (const uint8_t *)weights;
#if WK_HAS_VNNI
    switch (type) {
#define WK_CASE(T) case T: gemm_panels_type(T, w, row_stride, rows, blocks, x, sums, m, y, ldy, scratch); break;
    WK_CASE(WK_QUANT_Q4_0) WK_CASE(WK_QUANT_Q4_1) WK_CASE(WK_QUANT_Q5_0) WK_CASE(WK_QUANT_Q5_1)
    WK_CASE(WK_QUANT_IQ4_NL) WK_CASE(WK_QUANT_Q2_K) WK_CASE(WK_QUANT_Q3_K) WK_CASE(WK_QUANT_Q4_K)
    WK_CASE(WK_QUANT_Q5_K) WK_CASE(WK_QUANT_Q6_K) WK_CASE(WK_QUANT_IQ4_XS)
#undef WK_CASE
    default: break;
    }
#else
    // The baseline has no panels: the unpacked-rows product, which needs no sums.
    (void)sums;
    WK_FN(gemm_quant)(type, w, row_stride, rows, blocks, x, m, y, ldy, scratch);
#endif
}
#endif

#include "variant_end.h"
