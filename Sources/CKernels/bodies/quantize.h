// Float32 encoders for stored ggml types (see weightkit_quantize.h).
//
// The references round each float operation separately (NumPy, and ggml built without fused
// multiply-add), so contraction into FMA is off here: `x * id + 8.5f` must round twice.
//
// Variants: scalar, AVX2, AVX-512; all write the same bits (tested per tier), as the
// evaluation order is the source's and nothing is contracted.
#include "variant.h"

#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

#define QK 32
#define QK_K 256
#define GROUP_MAX_EPS 1e-15f

static inline uint16_t half_bits(float value) {
    _Float16 h = (_Float16)value;
    uint16_t bits;
    memcpy(&bits, &h, 2);
    return bits;
}

static inline void store_u16(uint8_t *destination, uint16_t value) {
    destination[0] = (uint8_t)value;
    destination[1] = (uint8_t)(value >> 8);
}

void WK_FN(encode_f16)(const float *source, void *destination, size_t count) {
    _Float16 *out = (_Float16 *)destination;
    for (size_t i = 0; i < count; ++i) out[i] = (_Float16)source[i];
}

void WK_FN(encode_bf16)(const float *source, void *destination, size_t count) {
    uint16_t *out = (uint16_t *)destination;
    size_t i = 0;
#if WK_HAS_AVX512
    // The loop below, 16 at a time in integer arithmetic (so denormals round as they do there).
    const __m512i quiet = _mm512_set1_epi32(64 << 16), upper = _mm512_set1_epi32((int)0xffff0000u);
    const __m512i infinity = _mm512_set1_epi32(0x7f800000), magnitude = _mm512_set1_epi32(0x7fffffff);
    const __m512i half = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1);
    for (; i + 16 <= count; i += 16) {
        __m512i n = _mm512_loadu_si512(source + i);
        const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(n, magnitude), infinity);
        n = _mm512_mask_or_epi32(n, nan, _mm512_and_si512(n, upper), quiet);
        const __m512i bias = _mm512_add_epi32(half, _mm512_and_si512(_mm512_srli_epi32(n, 16), one));
        _mm256_storeu_si256((__m256i *)(out + i), _mm512_cvtepi32_epi16(_mm512_srli_epi32(_mm512_add_epi32(n, bias), 16)));
    }
#endif
    for (; i < count; ++i) {
        uint32_t n;
        memcpy(&n, &source[i], 4);
        if ((n & 0x7fffffffu) > 0x7f800000u) n = (n & 0xffff0000u) | (64u << 16);
        out[i] = (uint16_t)((n + (0x7fffu + ((n >> 16) & 1u))) >> 16);
    }
}

// MARK: 32-element blocks

/// The element of largest magnitude with its sign; the first one on ties (NumPy's argmax).
static inline float signed_maximum(const float *x) {
    float amax = 0, max = 0;
    for (int j = 0; j < QK; ++j) {
        const float v = x[j];
        if (amax < fabsf(v)) { amax = fabsf(v); max = v; }
    }
    return max;
}

void WK_FN(quantize_q8_0)(const float *source, void *destination, size_t count) {
    uint8_t *out = (uint8_t *)destination;
    for (size_t block = 0; block < count / QK; ++block) {
        const float *x = source + block * QK;
        uint8_t *y = out + block * 34;
        // Written so that both loops vectorise: the comparison keeps fmaxf's NaN behaviour, and
        // truncation plus an exact half test is roundf (halves away from zero) without a call.
        float amax = 0;
        for (int j = 0; j < QK; ++j) {
            const float a = fabsf(x[j]);
            amax = a > amax ? a : amax;
        }
        const float d = amax / 127;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        store_u16(y, half_bits(d));
        int8_t *qs = (int8_t *)(y + 2);
        for (int j = 0; j < QK; ++j) {
            const float v = x[j] * id;
            const float t = truncf(v);
            const float r = t + (fabsf(v - t) >= 0.5f ? copysignf(1.0f, v) : 0.0f);
            qs[j] = (int8_t)r;
        }
    }
}

void WK_FN(quantize_q4_0)(const float *source, void *destination, size_t count) {
    uint8_t *out = (uint8_t *)destination;
    for (size_t block = 0; block < count / QK; ++block) {
        const float *x = source + block * QK;
        uint8_t *y = out + block * 18;
        const float d = signed_maximum(x) / -8;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        store_u16(y, half_bits(d));
        for (int j = 0; j < QK / 2; ++j) {
            const float x0 = x[j] * id + 8.5f, x1 = x[j + QK / 2] * id + 8.5f;
            const uint8_t q0 = (uint8_t)fminf(15.0f, truncf(x0)), q1 = (uint8_t)fminf(15.0f, truncf(x1));
            y[2 + j] = q0 | (uint8_t)(q1 << 4);
        }
    }
}

void WK_FN(quantize_q4_1)(const float *source, void *destination, size_t count) {
    uint8_t *out = (uint8_t *)destination;
    for (size_t block = 0; block < count / QK; ++block) {
        const float *x = source + block * QK;
        uint8_t *y = out + block * 20;
        float min = x[0], max = x[0];
        for (int j = 1; j < QK; ++j) { min = fminf(min, x[j]); max = fmaxf(max, x[j]); }
        const float d = (max - min) / 15;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        store_u16(y, half_bits(d));
        store_u16(y + 2, half_bits(min));
        for (int j = 0; j < QK / 2; ++j) {
            const float x0 = (x[j] - min) * id + 0.5f, x1 = (x[j + QK / 2] - min) * id + 0.5f;
            const uint8_t q0 = (uint8_t)fminf(15.0f, truncf(x0)), q1 = (uint8_t)fminf(15.0f, truncf(x1));
            y[4 + j] = q0 | (uint8_t)(q1 << 4);
        }
    }
}

/// Packs 32 five-bit values: low nibbles as Q4_0, bit j of the little-endian u32 `qh` is bit 4
/// of element j.
static inline void pack_five_bits(const uint8_t *q, uint8_t *qh, uint8_t *qs) {
    uint32_t high = 0;
    for (int j = 0; j < QK; ++j) high |= (uint32_t)((q[j] >> 4) & 1) << j;
    qh[0] = (uint8_t)high; qh[1] = (uint8_t)(high >> 8); qh[2] = (uint8_t)(high >> 16); qh[3] = (uint8_t)(high >> 24);
    for (int j = 0; j < QK / 2; ++j) qs[j] = (q[j] & 0x0F) | (uint8_t)(q[j + QK / 2] << 4);
}

void WK_FN(quantize_q5_0)(const float *source, void *destination, size_t count) {
    uint8_t *out = (uint8_t *)destination;
    uint8_t q[QK];
    for (size_t block = 0; block < count / QK; ++block) {
        const float *x = source + block * QK;
        uint8_t *y = out + block * 22;
        const float d = signed_maximum(x) / -16;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        store_u16(y, half_bits(d));
        for (int j = 0; j < QK; ++j) q[j] = (uint8_t)fminf(31.0f, truncf(x[j] * id + 16.5f));
        pack_five_bits(q, y + 2, y + 6);
    }
}

void WK_FN(quantize_q5_1)(const float *source, void *destination, size_t count) {
    uint8_t *out = (uint8_t *)destination;
    uint8_t q[QK];
    for (size_t block = 0; block < count / QK; ++block) {
        const float *x = source + block * QK;
        uint8_t *y = out + block * 24;
        float min = x[0], max = x[0];
        for (int j = 1; j < QK; ++j) { min = fminf(min, x[j]); max = fmaxf(max, x[j]); }
        const float d = (max - min) / 31;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        store_u16(y, half_bits(d));
        store_u16(y + 2, half_bits(min));
        for (int j = 0; j < QK; ++j) q[j] = (uint8_t)fminf(31.0f, truncf((x[j] - min) * id + 0.5f));
        pack_five_bits(q, y + 4, y + 8);
    }
}

// MARK: K-quants (llama.cpp ggml-quants.c, reference path)

static inline int nearest_int(float fval) {
    float val = fval + 12582912.f;
    int i;
    memcpy(&i, &val, sizeof(int));
    return (i & 0x007fffff) - 0x00400000;
}

#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define MIN(a, b) ((a) < (b) ? (a) : (b))

static float make_qx_quants(int n, int nmax, const float *x, int8_t *L, int rmse_type) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; ++i) {
        float ax = fabsf(x[i]);
        if (ax > amax) { amax = ax; max = x[i]; }
    }
    if (amax < GROUP_MAX_EPS) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.f;
    }
    float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = nearest_int(iscale * x[i]);
        l = MAX(-nmax, MIN(nmax - 1, l));
        L[i] = (int8_t)(l + nmax);
        float w = rmse_type == 1 ? x[i] * x[i] : 1;
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        iscale = -(nmax + 0.1f * is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearest_int(iscale * x[i]);
            l = MAX(-nmax, MIN(nmax - 1, l));
            float w = rmse_type == 1 ? x[i] * x[i] : 1;
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; ++i) {
                int l = nearest_int(iscale * x[i]);
                L[i] = (int8_t)(nmax + MAX(-nmax, MIN(nmax - 1, l)));
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

static float make_qkx2_quants(int n, int nmax, const float *x, const float *weights, uint8_t *L, float *the_min,
                              uint8_t *Laux, float rmin, float rdelta, int nstep) {
    float min = x[0], max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        *the_min = -min;
        return 0.f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; ++i) {
        int l = nearest_int(iscale * (x[i] - min));
        L[i] = (uint8_t)MAX(0, MIN(nmax, l));
        float diff = scale * L[i] + min - x[i];
        diff = diff * diff;
        best_error += weights[i] * diff;
    }
    for (int is = 0; is <= nstep; ++is) {
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearest_int(iscale * (x[i] - min));
            l = MAX(0, MIN(nmax, l));
            Laux[i] = (uint8_t)l;
            float w = weights[i];
            sum_l += w * l;
            sum_l2 += w * l * l;
            sum_xl += w * l * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float cur_error = 0;
            for (int i = 0; i < n; ++i) {
                float diff = this_scale * Laux[i] + this_min - x[i];
                diff = diff * diff;
                cur_error += weights[i] * diff;
            }
            if (cur_error < best_error) {
                for (int i = 0; i < n; ++i) L[i] = Laux[i];
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

static inline void get_scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
    }
}

/// The shared first half of Q4_K and Q5_K: per-32 scales and mins, packed into 12 bytes of
/// 6-bit values, the two super-block scales, and the final levels `L` (0...nmax).
static void quantize_scales_mins_k(const float *x, int nmax, float rmin, int nstep, uint8_t *dBits,
                                   uint8_t *scalesOut, uint8_t *L) {
    uint8_t Laux[32];
    float weights[32], mins[QK_K / 32], scales[QK_K / 32];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < QK_K / 32; ++j) {
        float sum_x2 = 0;
        for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
        float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; ++l) weights[l] = av_x + fabsf(x[32 * j + l]);
        scales[j] = make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    memset(scalesOut, 0, 12);
    for (int j = 0; j < QK_K / 32; ++j) {
        uint8_t ls = (uint8_t)nearest_int(inv_scale * scales[j]);
        uint8_t lm = (uint8_t)nearest_int(inv_min * mins[j]);
        ls = MIN(63, ls);
        lm = MIN(63, lm);
        if (j < 4) {
            scalesOut[j] = ls;
            scalesOut[j + 4] = lm;
        } else {
            scalesOut[j + 4] = (ls & 0xF) | ((lm & 0xF) << 4);
            scalesOut[j - 4] |= ((ls >> 4) << 6);
            scalesOut[j - 0] |= ((lm >> 4) << 6);
        }
    }
    const uint16_t d = half_bits(max_scale / 63.f), dmin = half_bits(max_min / 63.f);
    store_u16(dBits, d);
    store_u16(dBits + 2, dmin);
    for (int j = 0; j < QK_K / 32; ++j) {
        uint8_t sc, m;
        get_scale_min_k4(j, scalesOut, &sc, &m);
        const float dj = wk_half_to_float(d) * sc;
        if (!dj) continue;
        const float dm = wk_half_to_float(dmin) * m;
        for (int ii = 0; ii < 32; ++ii) {
            int l = nearest_int((x[32 * j + ii] + dm) / dj);
            L[32 * j + ii] = (uint8_t)MAX(0, MIN(nmax, l));
        }
    }
}

void WK_FN(quantize_q4_k)(const float *source, void *destination, size_t count) {
    uint8_t L[QK_K];
    for (size_t block = 0; block < count / QK_K; ++block) {
        const float *x = source + block * QK_K;
        uint8_t *y = (uint8_t *)destination + block * 144;   // d, dmin, scales[12], qs[128]
        quantize_scales_mins_k(x, 15, -1.f, 20, y, y + 4, L);
        uint8_t *q = y + 16;
        for (int j = 0; j < QK_K; j += 64) {
            for (int l = 0; l < 32; ++l) q[l] = L[j + l] | (uint8_t)(L[j + l + 32] << 4);
            q += 32;
        }
    }
}

void WK_FN(quantize_q5_k)(const float *source, void *destination, size_t count) {
    uint8_t L[QK_K];
    for (size_t block = 0; block < count / QK_K; ++block) {
        const float *x = source + block * QK_K;
        uint8_t *y = (uint8_t *)destination + block * 176;   // d, dmin, scales[12], qh[32], qs[128]
        quantize_scales_mins_k(x, 31, -0.5f, 15, y, y + 4, L);
        uint8_t *qh = y + 16, *ql = y + 48;
        memset(qh, 0, QK_K / 8);
        uint8_t m1 = 1, m2 = 2;
        for (int n = 0; n < QK_K; n += 64) {
            for (int j = 0; j < 32; ++j) {
                int l1 = L[n + j];
                if (l1 > 15) { l1 -= 16; qh[j] |= m1; }
                int l2 = L[n + j + 32];
                if (l2 > 15) { l2 -= 16; qh[j] |= m2; }
                ql[j] = (uint8_t)(l1 | (l2 << 4));
            }
            m1 <<= 2;
            m2 <<= 2;
            ql += 32;
        }
    }
}

void WK_FN(quantize_q6_k)(const float *source, void *destination, size_t count) {
    int8_t L[QK_K];
    float scales[QK_K / 16];
    for (size_t block = 0; block < count / QK_K; ++block) {
        const float *x = source + block * QK_K;
        uint8_t *y = (uint8_t *)destination + block * 210;   // ql[128], qh[64], scales[16], d
        uint8_t *ql = y, *qh = y + 128;
        int8_t *blockScales = (int8_t *)(y + 192);
        float max_scale = 0, max_abs_scale = 0;
        for (int ib = 0; ib < QK_K / 16; ++ib) {
            const float scale = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, 1);
            scales[ib] = scale;
            const float abs_scale = fabsf(scale);
            if (abs_scale > max_abs_scale) { max_abs_scale = abs_scale; max_scale = scale; }
        }
        if (max_abs_scale < GROUP_MAX_EPS) {
            memset(y, 0, 210);
            continue;
        }
        float iscale = -128.f / max_scale;
        const uint16_t d = half_bits(1 / iscale);
        store_u16(y + 208, d);
        for (int ib = 0; ib < QK_K / 16; ++ib) blockScales[ib] = (int8_t)MIN(127, nearest_int(iscale * scales[ib]));
        for (int j = 0; j < QK_K / 16; ++j) {
            float dj = wk_half_to_float(d) * blockScales[j];
            if (!dj) continue;
            for (int ii = 0; ii < 16; ++ii) {
                int l = nearest_int(x[16 * j + ii] / dj);
                l = MAX(-32, MIN(31, l));
                L[16 * j + ii] = (int8_t)(l + 32);
            }
        }
        for (int j = 0; j < QK_K; j += 128) {
            for (int l = 0; l < 32; ++l) {
                const uint8_t q1 = L[j + l + 0] & 0xF, q2 = L[j + l + 32] & 0xF;
                const uint8_t q3 = L[j + l + 64] & 0xF, q4 = L[j + l + 96] & 0xF;
                ql[l + 0] = q1 | (uint8_t)(q3 << 4);
                ql[l + 32] = q2 | (uint8_t)(q4 << 4);
                qh[l] = (uint8_t)((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
                                  ((L[j + l + 96] >> 4) << 6));
            }
            ql += 64;
            qh += 32;
        }
    }
}

#include "variant_end.h"
