// The lattice and ternary types against activations quantised to 8 bits: IQ1_S, IQ1_M,
// IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, TQ1_0 and TQ2_0 against `wk_block_q8_k_act` (one
// scale per 256 and the sums of every 16), MXFP4 against `wk_block_q8_act` (one scale per 32).
// Decode (matrix-vector) only: prefill of these types decodes to float32 and takes the float
// product. Variants: scalar, AVX2 (maddubs, madd), AVX-512 (the AVX2 code), AVX-512 VNNI
// (dpwssd, dpbusd on 256-bit registers).
//
// Every 256-element block is first unpacked to `lattice_block`: w = d · scale_g · q for the
// group g of 16, with q and scale_g integers and every type's constant factor folded into d:
//   IQ2_XXS, IQ2_XS, IQ2_S  d/8 · (2s + 1) · grid · sign       (grid 8, 25, 43)
//   IQ3_XXS                 d/4 · (2s + 1) · grid · sign       (grid 4 … 62)
//   IQ3_S                   d · (2s + 1) · grid · sign         (grid 1 … 15)
//   IQ1_S, IQ1_M            d/8 · (2s + 1) · (8 · grid ± 1)     (grid −1, 0, 1; ± the delta 1/8)
//   TQ1_0, TQ2_0            d · 1 · (digit − 1)
// The grids are the level rows of iq_grid_levels.h (a level index per element), spread to one
// byte an element and mapped to the type's levels with a byte shuffle; the sign bytes of
// IQ2_XXS, IQ2_XS and IQ3_XXS are seven stored bits and their parity (ggml's ksigns_iq2xs).
// Then Σ q·x in integers per 16 (|q| times x with q's sign, as maddubs takes it; pairs stay
// under 2 · 63 · 127), scaled per 16 in integers (at most 16 · 63 · 127 · 31 per group, far
// inside int32) and once per 256 in float. Layouts are ggml's (ggml-common.h), as the Swift
// decoders (WeightFormats, IQuantDecoding.swift, KQuantDecoding.swift) describe them.
#include "variant.h"
#include "../iq_grid_levels.h"

/// A 256-element block unpacked: w = d · scale[g] · q for the group g of 16.
typedef struct {
    float d;
    int16_t scale[16];
    int8_t q[256];
} lattice_block;


static inline uint32_t ql_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint16_t ql_u16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

/// The levels each type's level indices stand for (16 bytes, for a byte shuffle).
static const int8_t ql_levels_iq2[16] = {8, 25, 43};
static const int8_t ql_levels_iq1[16] = {-8, 0, 8};  // 8 · {−1, 0, 1}: room for the ±1 delta
static const int8_t ql_levels_iq3xxs[16] = {4, 12, 20, 28, 36, 44, 52, 62};
static const int8_t ql_levels_iq3s[16] = {1, 3, 5, 7, 9, 11, 13, 15};

/// Eight 2-bit level indices (element i in bits 2i, 2i + 1) spread to one byte each.
static inline uint64_t spread2(uint64_t x) {
    x = (x | (x << 24)) & 0x000000FF000000FFULL;
    x = (x | (x << 12)) & 0x000F000F000F000FULL;
    x = (x | (x << 6)) & 0x0303030303030303ULL;
    return x;
}

/// Four 3-bit level indices (element i in bits 3i … 3i + 2) spread to one byte each.
static inline uint32_t spread3(uint32_t x) {
    x = (x | (x << 10)) & 0x003F003Fu;
    x = (x | (x << 5)) & 0x07070707u;
    return x;
}

/// ggml's ksigns_iq2xs: seven sign bits and, as the eighth, their parity.
static inline uint8_t seven_signs(uint32_t bits) {
    bits &= 127;
    return (uint8_t)(bits | ((uint32_t)(__builtin_popcount(bits) & 1) << 7));
}

/// 32 quants from four rows of eight level indices (`rows[l]`, one byte an element), mapped
/// through `levels`, negated where bit j of `signs` byte l is set, and (`deltas`) plus 1, or
/// minus 1 where bit l of `minus` is set.
static inline __attribute__((always_inline))
void place32(int8_t *q, const uint64_t rows[4], const int8_t levels[16], uint32_t signs, int deltas, unsigned minus) {
#if WK_HAS_AVX2
    const __m256i index = _mm256_loadu_si256((const __m256i *)rows);
    __m256i v = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)levels)), index);
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2,
                                            3, 3, 3, 3, 3, 3, 3, 3);
    if (signs) {
        const __m256i bits = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
        const __m256i s = _mm256_shuffle_epi8(_mm256_set1_epi32((int)signs), spread);
        const __m256i mask = _mm256_cmpeq_epi8(_mm256_and_si256(s, bits), bits);
        v = _mm256_sub_epi8(_mm256_xor_si256(v, mask), mask);
    }
    if (deltas) {
        // Byte l of `rowmask` 0xFF where bit l of `minus` is set; delta = 1 + 2 · mask.
        const uint32_t rowmask = ((minus & 1) ? 0xFFu : 0) | ((minus & 2) ? 0xFF00u : 0) | ((minus & 4) ? 0xFF0000u : 0)
                               | ((minus & 8) ? 0xFF000000u : 0);
        const __m256i mask = _mm256_shuffle_epi8(_mm256_set1_epi32((int)rowmask), spread);
        v = _mm256_add_epi8(v, _mm256_or_si256(_mm256_add_epi8(mask, mask), _mm256_set1_epi8(1)));
    }
    _mm256_storeu_si256((__m256i *)q, v);
#else
    // Without branches: the signs are random, and a branch per element costs more than the rest.
    for (int l = 0; l < 4; l++) {
        const int delta = deltas ? 1 - 2 * (int)((minus >> l) & 1) : 0;
        const unsigned sign = (signs >> (8 * l)) & 0xFF;
        for (int j = 0; j < 8; j++) {
            const int value = levels[(rows[l] >> (8 * j)) & 0xFF], negative = -(int)((sign >> j) & 1);
            q[8 * l + j] = (int8_t)(((value ^ negative) - negative) + delta);
        }
    }
#endif
}

// MARK: Unpacking

static inline __attribute__((always_inline)) void unpack_lattice(int type, const uint8_t *s, lattice_block *out) {
    uint64_t rows[4];
    switch (type) {
    case WK_QUANT_IQ2_XXS: {  // 66 bytes: f16 d, per 32: u32 grid indices, u32 signs and scale
        out->d = wk_half_scale_at(s) * 0.125f;
        for (int g = 0; g < 8; g++) {
            const uint32_t indices = ql_u32(s + 2 + 8 * g), aux = ql_u32(s + 6 + 8 * g);
            out->scale[2 * g] = out->scale[2 * g + 1] = (int16_t)(2 * (aux >> 28) + 1);
            uint32_t signs = 0;
            for (int l = 0; l < 4; l++) {
                rows[l] = spread2(wk_iq2xxs_levels[(indices >> (8 * l)) & 0xFF]);
                signs |= (uint32_t)seven_signs(aux >> (7 * l)) << (8 * l);
            }
            place32(out->q + 32 * g, rows, ql_levels_iq2, signs, 0, 0);
        }
        break;
    }
    case WK_QUANT_IQ2_XS: {  // 74 bytes: f16 d, u16 qs[32] (9-bit grid index, 7 sign bits), scales[8]
        out->d = wk_half_scale_at(s) * 0.125f;
        for (int g = 0; g < 8; g++) {
            const uint8_t scales = s[66 + g];
            out->scale[2 * g] = (int16_t)(2 * (scales & 0x0F) + 1);
            out->scale[2 * g + 1] = (int16_t)(2 * (scales >> 4) + 1);
            uint32_t signs = 0;
            for (int l = 0; l < 4; l++) {
                const uint32_t q = ql_u16(s + 2 + 8 * g + 2 * l);
                rows[l] = spread2(wk_iq2xs_levels[q & 511]);
                signs |= (uint32_t)seven_signs(q >> 9) << (8 * l);
            }
            place32(out->q + 32 * g, rows, ql_levels_iq2, signs, 0, 0);
        }
        break;
    }
    case WK_QUANT_IQ2_S: {  // 82 bytes: f16 d, qs[32], signs[32], qh[8], scales[8]
        out->d = wk_half_scale_at(s) * 0.125f;
        for (int g = 0; g < 8; g++) {
            const uint8_t scales = s[74 + g], high = s[66 + g];
            out->scale[2 * g] = (int16_t)(2 * (scales & 0x0F) + 1);
            out->scale[2 * g + 1] = (int16_t)(2 * (scales >> 4) + 1);
            for (int l = 0; l < 4; l++)
                rows[l] = spread2(wk_iq2s_levels[s[2 + 4 * g + l] | (((high >> (2 * l)) & 3) << 8)]);
            place32(out->q + 32 * g, rows, ql_levels_iq2, ql_u32(s + 34 + 4 * g), 0, 0);
        }
        break;
    }
    case WK_QUANT_IQ3_XXS: {  // 98 bytes: f16 d, qs[64] grid indices, per 32: u32 signs and scale
        out->d = wk_half_scale_at(s) * 0.25f;
        for (int g = 0; g < 8; g++) {
            const uint32_t aux = ql_u32(s + 66 + 4 * g);
            out->scale[2 * g] = out->scale[2 * g + 1] = (int16_t)(2 * (aux >> 28) + 1);
            uint32_t signs = 0;
            for (int l = 0; l < 4; l++) {
                const uint8_t *qs = s + 2 + 8 * g + 2 * l;
                rows[l] = spread3(wk_iq3xxs_levels[qs[0]]) | (uint64_t)spread3(wk_iq3xxs_levels[qs[1]]) << 32;
                signs |= (uint32_t)seven_signs(aux >> (7 * l)) << (8 * l);
            }
            place32(out->q + 32 * g, rows, ql_levels_iq3xxs, signs, 0, 0);
        }
        break;
    }
    case WK_QUANT_IQ3_S: {  // 110 bytes: f16 d, qs[64], qh[8], signs[32], scales[4]
        out->d = wk_half_scale_at(s);
        for (int g = 0; g < 8; g++) {
            const int scale = 2 * ((s[106 + g / 2] >> (4 * (g & 1))) & 0x0F) + 1;
            out->scale[2 * g] = out->scale[2 * g + 1] = (int16_t)scale;
            const unsigned high = s[66 + g];
            for (int l = 0; l < 4; l++) {
                const uint8_t *qs = s + 2 + 8 * g + 2 * l;
                const unsigned first = qs[0] | (((high >> (2 * l)) & 1) << 8), second = qs[1] | (((high >> (2 * l + 1)) & 1) << 8);
                rows[l] = spread3(wk_iq3s_levels[first]) | (uint64_t)spread3(wk_iq3s_levels[second]) << 32;
            }
            place32(out->q + 32 * g, rows, ql_levels_iq3s, ql_u32(s + 74 + 4 * g), 0, 0);
        }
        break;
    }
    case WK_QUANT_IQ1_S: {  // 50 bytes: f16 d, qs[32], u16 qh[8] (3 high index bits a row, scale, delta sign)
        out->d = wk_half_scale_at(s) * 0.125f;
        for (int g = 0; g < 8; g++) {
            const unsigned h = ql_u16(s + 34 + 2 * g);
            out->scale[2 * g] = out->scale[2 * g + 1] = (int16_t)(2 * ((h >> 12) & 7) + 1);
            for (int l = 0; l < 4; l++) rows[l] = spread2(wk_iq1s_levels[s[2 + 4 * g + l] | (((h >> (3 * l)) & 7) << 8)]);
            place32(out->q + 32 * g, rows, ql_levels_iq1, 0, 1, (h & 0x8000) ? 15 : 0);
        }
        break;
    }
    case WK_QUANT_IQ1_M: {  // 56 bytes: qs[32], qh[16], u16 sc[4] (3-bit scales; f16 d in the top nibbles)
        uint64_t sc;
        memcpy(&sc, s + 48, 8);
        const uint16_t d_bits = (uint16_t)(((sc >> 12) & 0x000F) | ((sc >> 24) & 0x00F0) | ((sc >> 36) & 0x0F00)
                                           | ((sc >> 48) & 0xF000));
        out->d = wk_half_scale_to_float(d_bits) * 0.125f;
        for (int m = 0; m < 16; m++) out->scale[m] = (int16_t)(2 * ((sc >> (16 * (m >> 2) + 3 * (m & 3))) & 7) + 1);
        for (int g = 0; g < 8; g++) {
            unsigned minus = 0;
            for (int p = 0; p < 2; p++) {  // the pairs of rows 2p, 2p + 1 of this group share qh[2g + p]
                const unsigned h = s[32 + 2 * g + p];
                const uint8_t *qs = s + 4 * g + 2 * p;
                rows[2 * p] = spread2(wk_iq1s_levels[qs[0] | ((h & 7) << 8)]);
                rows[2 * p + 1] = spread2(wk_iq1s_levels[qs[1] | (((h >> 4) & 7) << 8)]);
                minus |= ((h & 0x08) ? 1u : 0) << (2 * p) | ((h & 0x80) ? 1u : 0) << (2 * p + 1);
            }
            place32(out->q + 32 * g, rows, ql_levels_iq1, 0, 1, minus);
        }
        break;
    }
    case WK_QUANT_TQ1_0: {  // 54 bytes: qs[48], qh[4] (five, resp. four, base-3 digits a byte), f16 d
        out->d = wk_half_scale_at(s + 52);
        for (int m = 0; m < 16; m++) out->scale[m] = 1;
        static const uint8_t powers[5] = {1, 3, 9, 27, 81};
        for (int k = 0; k < 5; k++) {
            for (int l = 0; l < 32; l++) out->q[32 * k + l] = (int8_t)((((uint8_t)(s[l] * powers[k]) * 3) >> 8) - 1);
            for (int l = 0; l < 16; l++)
                out->q[160 + 16 * k + l] = (int8_t)((((uint8_t)(s[32 + l] * powers[k]) * 3) >> 8) - 1);
        }
        for (int k = 0; k < 4; k++)
            for (int l = 0; l < 4; l++) out->q[240 + 4 * k + l] = (int8_t)((((uint8_t)(s[48 + l] * powers[k]) * 3) >> 8) - 1);
        break;
    }
    default: {  // TQ2_0, 66 bytes: qs[64] (2-bit fields as Q2_K), f16 d
        out->d = wk_half_scale_at(s + 64);
        for (int m = 0; m < 16; m++) out->scale[m] = 1;
#if WK_HAS_AVX2
        const __m256i three = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
        for (int h = 0; h < 2; h++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(s + 32 * h));
            WK_UNROLL for (int k = 0; k < 4; k++)
                _mm256_storeu_si256((__m256i *)(out->q + 128 * h + 32 * k),
                                    _mm256_sub_epi8(_mm256_and_si256(_mm256_srli_epi16(v, 2 * k), three), one));
        }
#else
        for (int h = 0; h < 2; h++)
            for (int k = 0; k < 4; k++)
                for (int l = 0; l < 32; l++) out->q[128 * h + 32 * k + l] = (int8_t)(((s[32 * h + l] >> (2 * k)) & 3) - 1);
#endif
        break;
    }
    }
}

// MARK: Dot products

#if WK_HAS_AVX2
typedef __m256 ql_acc;
#define QL_ZERO() _mm256_setzero_ps()
#define QL_TOTAL(acc) wk_hsum256(acc)
#else
typedef float ql_acc;
#define QL_ZERO() 0.0f
#define QL_TOTAL(acc) (acc)
#endif

/// acc + d_x · d · Σ_g scale_g · Σ_{16} q·x for one unpacked block.
static inline __attribute__((always_inline)) ql_acc lattice_dot(const lattice_block *w, const wk_block_q8_k_act *x, ql_acc acc) {
#if WK_HAS_AVX2
    __m256i isum = _mm256_setzero_si256();
    WK_UNROLL for (int i = 0; i < 8; i++) {
        const __m256i wq = _mm256_loadu_si256((const __m256i *)(w->q + 32 * i));
        const __m256i xq = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * i));
        const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(wq, wq), _mm256_sign_epi8(xq, wq));
        const __m256i scale = _mm256_set_m128i(_mm_set1_epi16(w->scale[2 * i + 1]), _mm_set1_epi16(w->scale[2 * i]));
#if WK_HAS_VNNI
        isum = _mm256_dpwssd_epi32(isum, p, scale);
#else
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, scale));
#endif
    }
    return _mm256_fmadd_ps(_mm256_set1_ps(w->d * x->d), _mm256_cvtepi32_ps(isum), acc);
#else
    int isum = 0;
    for (int g = 0; g < 16; g++) {
        int p = 0;
        for (int j = 0; j < 16; j++) p += (int)w->q[16 * g + j] * (int)x->qs[16 * g + j];
        isum += (int)w->scale[g] * p;
    }
    return acc + x->d * (w->d * (float)isum);
#endif
}

// MARK: MXFP4

/// ggml's kvalues_mxfp4: the E2M1 values, doubled (the scale is halved to match).
static const int8_t mxfp4_levels[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

/// 2^(e − 128), E8M0 halved (e < 2: the subnormals 2^-128, 2^-127).
static inline float mxfp4_scale(uint8_t e) {
    const uint32_t bits = e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23;
    float d;
    memcpy(&d, &bits, 4);
    return d;
}

/// acc + d_x · d_w · Σ q·x for one 17-byte MXFP4 block (element j in the low nibble of byte j,
/// j + 16 in the high one).
static inline __attribute__((always_inline)) ql_acc mxfp4_dot(const uint8_t *s, const wk_block_q8_act *x, ql_acc acc) {
    const float d = mxfp4_scale(s[0]) * x->d;
#if WK_HAS_AVX2
    const __m128i v = _mm_loadu_si128((const __m128i *)(s + 1)), low = _mm_set1_epi8(0x0F);
    const __m256i nib = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), low), _mm_and_si128(v, low));
    const __m256i wq = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)mxfp4_levels)), nib);
    const __m256i xq = _mm256_loadu_si256((const __m256i *)x->qs);
    const __m256i p = wk_int8_products(wq, xq);
    return _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(p), acc);
#else
    int isum = 0;
    for (int j = 0; j < 16; j++)
        isum += mxfp4_levels[s[1 + j] & 0x0F] * (int)x->qs[j] + mxfp4_levels[s[1 + j] >> 4] * (int)x->qs[j + 16];
    return acc + d * (float)isum;
#endif
}


// MARK: NVFP4, Q1_0, Q2_0 (against 32-value activation blocks)

/// An unsigned E4M3 scale byte, halved (gguf-py's ue4m3_to_fp32: bias 7, no infinities, 0x7F
/// reads as zero, the top bit ignored), for the doubled E2M1 levels.
static inline float ue4m3_half(uint8_t x) {
    if (x == 0 || x == 0x7F) return 0.0f;
    const int exponent = (x >> 3) & 0x0F, mantissa = x & 7;
    const float raw = exponent == 0 ? (float)mantissa * 0x1p-9f : ldexpf(1.0f + (float)mantissa / 8.0f, exponent - 7);
    return raw * 0.5f;
}

/// acc + d_x · Σ_s scale_s · Σ_16 q·x for 32 values of an NVFP4 block: sub-blocks 2k and 2k + 1
/// (bytes qs[16k … 16k + 16): element j of a sub-block in the low nibble of its byte j, j + 8
/// in the high one).
static inline __attribute__((always_inline))
ql_acc nvfp4_dot(const uint8_t *qs, float s0, float s1, const wk_block_q8_act *x, ql_acc acc) {
#if WK_HAS_AVX2
    const __m128i v = _mm_loadu_si128((const __m128i *)qs), low = _mm_set1_epi8(0x0F);
    const __m128i lo = _mm_and_si128(v, low), hi = _mm_and_si128(_mm_srli_epi16(v, 4), low);
    // Lane 0: sub-block 2k (low nibbles of bytes 0-7, then their high nibbles); lane 1: 2k + 1.
    const __m256i nib = _mm256_set_m128i(_mm_unpackhi_epi64(lo, hi), _mm_unpacklo_epi64(lo, hi));
    const __m256i wq = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)mxfp4_levels)), nib);
    const __m256i xq = _mm256_loadu_si256((const __m256i *)x->qs);
    const __m256i p = wk_int8_products(wq, xq);
    const __m256 scales = _mm256_set_m128(_mm_set1_ps(s1 * x->d), _mm_set1_ps(s0 * x->d));
    return _mm256_fmadd_ps(scales, _mm256_cvtepi32_ps(p), acc);
#else
    int sums[2] = {0, 0};
    for (int h = 0; h < 2; h++)
        for (int j = 0; j < 8; j++) {
            const uint8_t byte = qs[8 * h + j];
            sums[h] += mxfp4_levels[byte & 0x0F] * (int)x->qs[16 * h + j] + mxfp4_levels[byte >> 4] * (int)x->qs[16 * h + 8 + j];
        }
    return acc + x->d * (s0 * (float)sums[0] + s1 * (float)sums[1]);
#endif
}

/// 32 int8 values from 32 bits (element j: bit j % 8 of byte j / 8): +1 where set, −1 where clear.
static inline __attribute__((always_inline)) ql_acc q1_0_dot(const uint8_t *bits, float d, const wk_block_q8_act *x, ql_acc acc) {
#if WK_HAS_AVX2
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)ql_u32(bits)),
        _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const __m256i mask = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, mask), mask);  // −1 where the bit is set
    const __m256i sign = _mm256_or_si256(_mm256_xor_si256(set, _mm256_set1_epi8(-1)), _mm256_set1_epi8(1));  // +1 / −1
    const __m256i xq = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)x->qs), sign);
    const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), xq), _mm256_set1_epi16(1));
    return _mm256_fmadd_ps(_mm256_set1_ps(d * x->d), _mm256_cvtepi32_ps(p), acc);
#else
    int isum = 0;
    for (int j = 0; j < 32; j++) isum += ((bits[j / 8] >> (j % 8)) & 1) ? x->qs[j] : -x->qs[j];
    return acc + x->d * (d * (float)isum);
#endif
}

/// 32 values of a Q2_0 block (element j: bits 2(j % 4), 2(j % 4) + 1 of byte j / 4) minus one.
static inline __attribute__((always_inline)) ql_acc q2_0_dot(const uint8_t *qs, float d, const wk_block_q8_act *x, ql_acc acc) {
    const uint64_t rows[4] = {spread2(ql_u16(qs)), spread2(ql_u16(qs + 2)), spread2(ql_u16(qs + 4)), spread2(ql_u16(qs + 6))};
#if WK_HAS_AVX2
    const __m256i wq = _mm256_sub_epi8(_mm256_loadu_si256((const __m256i *)rows), _mm256_set1_epi8(1));
    const __m256i xq = _mm256_loadu_si256((const __m256i *)x->qs);
    const __m256i p = wk_int8_products(wq, xq);
    return _mm256_fmadd_ps(_mm256_set1_ps(d * x->d), _mm256_cvtepi32_ps(p), acc);
#else
    int isum = 0;
    for (int l = 0; l < 4; l++)
        for (int j = 0; j < 8; j++) isum += ((int)((rows[l] >> (8 * j)) & 3) - 1) * (int)x->qs[8 * l + j];
    return acc + x->d * (d * (float)isum);
#endif
}

// MARK: Decode

static inline size_t lattice_block_bytes(int type) {
    switch (type) {
    case WK_QUANT_IQ2_XXS: return 66;
    case WK_QUANT_IQ2_XS: return 74;
    case WK_QUANT_IQ2_S: return 82;
    case WK_QUANT_IQ3_XXS: return 98;
    case WK_QUANT_IQ3_S: return 110;
    case WK_QUANT_IQ1_S: return 50;
    case WK_QUANT_IQ1_M: return 56;
    case WK_QUANT_TQ1_0: return 54;
    case WK_QUANT_TQ2_0: return 66;
    case WK_QUANT_MXFP4: return 17;
    case WK_QUANT_NVFP4: return 36;
    case WK_QUANT_Q1_0: return 18;
    case WK_QUANT_Q2_0: return 18;
    default: return 0;
    }
}

/// Rows one after another, each one sequential stream.
static inline __attribute__((always_inline))
void matvec_lattice_type(int type, const uint8_t *w, size_t row_stride, size_t rows, size_t blocks, const void *x, float *y) {
    const size_t bytes = lattice_block_bytes(type);
    if (type == WK_QUANT_MXFP4) {
        const wk_block_q8_act *xb = (const wk_block_q8_act *)x;
        for (size_t r = 0; r < rows; r++) {
            const uint8_t *row = w + r * row_stride;
            ql_acc acc0 = QL_ZERO(), acc1 = QL_ZERO();
            size_t b = 0;
            for (; b + 2 <= blocks; b += 2) {
                acc0 = mxfp4_dot(row + b * bytes, xb + b, acc0);
                acc1 = mxfp4_dot(row + (b + 1) * bytes, xb + b + 1, acc1);
            }
            if (b < blocks) acc0 = mxfp4_dot(row + b * bytes, xb + b, acc0);
            y[r] = QL_TOTAL(acc0 + acc1);
        }
        return;
    }
    if (type == WK_QUANT_NVFP4 || type == WK_QUANT_Q1_0 || type == WK_QUANT_Q2_0) {
        // Blocks of 64 (NVFP4, Q2_0) or 128 (Q1_0) values: 2 or 4 activation blocks each.
        const wk_block_q8_act *xb = (const wk_block_q8_act *)x;
        for (size_t r = 0; r < rows; r++) {
            const uint8_t *row = w + r * row_stride;
            ql_acc acc = QL_ZERO();
            for (size_t b = 0; b < blocks; b++) {
                const uint8_t *s = row + b * bytes;
                if (type == WK_QUANT_NVFP4) {
                    acc = nvfp4_dot(s + 4, ue4m3_half(s[0]), ue4m3_half(s[1]), xb + 2 * b, acc);
                    acc = nvfp4_dot(s + 20, ue4m3_half(s[2]), ue4m3_half(s[3]), xb + 2 * b + 1, acc);
                } else if (type == WK_QUANT_Q1_0) {
                    const float d = wk_half_scale_at(s);
                    WK_UNROLL for (int k = 0; k < 4; k++) acc = q1_0_dot(s + 2 + 4 * k, d, xb + 4 * b + k, acc);
                } else {
                    const float d = wk_half_scale_at(s);
                    acc = q2_0_dot(s + 2, d, xb + 2 * b, acc);
                    acc = q2_0_dot(s + 10, d, xb + 2 * b + 1, acc);
                }
            }
            y[r] = QL_TOTAL(acc);
        }
        return;
    }
    const wk_block_q8_k_act *xb = (const wk_block_q8_k_act *)x;
    for (size_t r = 0; r < rows; r++) {
        const uint8_t *row = w + r * row_stride;
        ql_acc acc = QL_ZERO();
        for (size_t b = 0; b < blocks; b++) {
            lattice_block u;
            unpack_lattice(type, row + b * bytes, &u);
            acc = lattice_dot(&u, xb + b, acc);
        }
        y[r] = QL_TOTAL(acc);
    }
}

void WK_FN(matvec_lattice)(int type, const void *weights, size_t row_stride, size_t rows, size_t blocks, const void *x,
                           float *y) {
    const uint8_t *w = (const uint8_t *)weights;
    switch (type) {
#define WK_CASE(T) case T: matvec_lattice_type(T, w, row_stride, rows, blocks, x, y); break;
    WK_CASE(WK_QUANT_IQ2_XXS) WK_CASE(WK_QUANT_IQ2_XS) WK_CASE(WK_QUANT_IQ2_S) WK_CASE(WK_QUANT_IQ3_XXS)
    WK_CASE(WK_QUANT_IQ3_S) WK_CASE(WK_QUANT_IQ1_S) WK_CASE(WK_QUANT_IQ1_M) WK_CASE(WK_QUANT_TQ1_0)
    WK_CASE(WK_QUANT_TQ2_0) WK_CASE(WK_QUANT_MXFP4) WK_CASE(WK_QUANT_NVFP4) WK_CASE(WK_QUANT_Q1_0)
    WK_CASE(WK_QUANT_Q2_0)
#undef WK_CASE
    default: break;
    }
}

#include "variant_end.h"
