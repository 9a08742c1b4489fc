// Q1_0, Q2_0, MXFP4, the ternary types TQ1_0 and TQ2_0, and the non-linear IQ4_NL and IQ4_XS,
// as llama.cpp's ggml-quants.c computes them (`quantize_row_*_ref`, `quantize_iq4_nl`,
// `quantize_iq4_xs`). Layouts follow ggml-common.h. See quantize_internal.h for the
// evaluation-order rules.
#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)
#include "quantize_internal.h"

// MARK: Q1_0 — 128 values: f16 d (mean |x|), one sign bit per value (set for x >= 0)

void wk_quantize_blocks_q1_0(const float *x, uint8_t *y, int64_t count) {
    for (int64_t b = 0; b < count / 128; ++b) {
        const float *xb = x + b * 128;
        uint8_t *yb = y + b * 18;
        float sum_abs = 0.0f;
        for (int j = 0; j < 128; ++j) sum_abs += fabsf(xb[j]);
        wk_store_half(yb, sum_abs / 128);
        memset(yb + 2, 0, 16);
        for (int j = 0; j < 128; ++j) {
            if (xb[j] >= 0.0f) yb[2 + j / 8] |= (uint8_t)(1 << (j % 8));
        }
    }
}

// MARK: Q2_0 — 64 values: f16 d (max |x|), two-bit codes round(x/d) + 1 clamped to 0...3

void wk_quantize_blocks_q2_0(const float *x, uint8_t *y, int64_t count) {
    for (int64_t b = 0; b < count / 64; ++b) {
        const float *xb = x + b * 64;
        uint8_t *yb = y + b * 18;
        float amax = 0.0f;
        for (int j = 0; j < 64; ++j) {
            const float a = fabsf(xb[j]);
            if (a > amax) amax = a;
        }
        const float d = amax;
        const float id = d > 0.0f ? 1.0f / d : 0.0f;
        wk_store_half(yb, d);
        memset(yb + 2, 0, 16);
        for (int j = 0; j < 64; ++j) {
            int q = (int)roundf(xb[j] * id) + 1;
            if (q < 0) q = 0;
            if (q > 3) q = 3;
            yb[2 + j / 4] |= (uint8_t)(q << ((j % 4) * 2));
        }
    }
}

// MARK: MXFP4 — 32 values: u8 E8M0 exponent, 4-bit E2M1 codes (doubled table, half scale)

static const int8_t e2m1_doubled[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

static inline float e8m0_half(uint8_t e) {
    const uint32_t bits = e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/// The code whose value times `scale` is nearest `x`; the first on ties.
static inline uint8_t nearest_e2m1(float x, float scale) {
    int best = 0;
    float best_error = fabsf(e2m1_doubled[0] * scale - x);
    for (int i = 1; i < 16; ++i) {
        const float error = fabsf(e2m1_doubled[i] * scale - x);
        if (error < best_error) { best = i; best_error = error; }
    }
    return (uint8_t)best;
}

void wk_quantize_blocks_mxfp4(const float *x, uint8_t *y, int64_t count) {
    for (int64_t b = 0; b < count / 32; ++b) {
        const float *xb = x + b * 32;
        uint8_t *yb = y + b * 17;
        float amax = 0.0f;
        for (int j = 0; j < 32; ++j) {
            if (amax < fabsf(xb[j])) amax = fabsf(xb[j]);
        }
        // The exponent is computed in float and converted through int (as x86 does for ggml's
        // direct float -> uint8_t conversion), so out-of-range exponents wrap the same way.
        const uint8_t e = amax > 0.0f ? (uint8_t)(int)(floorf(log2f(amax)) - 2 + 127) : 0;
        const float d = e8m0_half(e);
        yb[0] = e;
        for (int j = 0; j < 16; ++j) {
            yb[1 + j] = (uint8_t)(nearest_e2m1(xb[j], d) | (nearest_e2m1(xb[16 + j], d) << 4));
        }
    }
}

// MARK: TQ1_0 — 256 values: qs[48] (five trits a byte), qh[4] (four trits a byte), f16 d

/// A byte holding base-3 digits in its top bits: ceil(q * 256 / 243).
static inline uint8_t trits_to_byte(uint8_t q) { return (uint8_t)(((uint16_t)q * 256 + (243 - 1)) / 243); }

static inline int trit(float v, float id) { return (int)lroundf(v * id) + 1; }

static float ternary_scale(const float *x, float *id) {
    float amax = 0.0f;
    for (int j = 0; j < WK_QK_K; ++j) amax = WK_MAX(amax, fabsf(x[j]));
    *id = amax ? 1.0f / amax : 0.0f;
    return amax;
}

void wk_quantize_blocks_tq1_0(const float *x, uint8_t *y, int64_t count) {
    for (int64_t b = 0; b < count / WK_QK_K; ++b) {
        const float *xb = x + b * WK_QK_K;
        uint8_t *yb = y + b * 54;
        float id;
        wk_store_half(yb + 52, ternary_scale(xb, &id));
        // Bytes 0..<32: values m + 32n (n = 0...4) of the first 160.
        for (int m = 0; m < 32; ++m) {
            uint8_t q = 0;
            for (int n = 0; n < 5; ++n) q = (uint8_t)(q * 3 + trit(xb[m + n * 32], id));
            yb[m] = trits_to_byte(q);
        }
        // Bytes 32..<48: values 160 + m + 16n of the next 80.
        for (int m = 0; m < 16; ++m) {
            uint8_t q = 0;
            for (int n = 0; n < 5; ++n) q = (uint8_t)(q * 3 + trit(xb[160 + m + n * 16], id));
            yb[32 + m] = trits_to_byte(q);
        }
        // qh: values 240 + j + 4m of the last 16, four trits shifted up by one.
        for (int j = 0; j < 4; ++j) {
            uint8_t q = 0;
            for (int m = 0; m < 4; ++m) q = (uint8_t)(q * 3 + trit(xb[240 + j + m * 4], id));
            q = (uint8_t)(q * 3);
            yb[48 + j] = trits_to_byte(q);
        }
    }
}

// MARK: TQ2_0 — 256 values: qs[64] (four two-bit codes a byte), f16 d

void wk_quantize_blocks_tq2_0(const float *x, uint8_t *y, int64_t count) {
    for (int64_t b = 0; b < count / WK_QK_K; ++b) {
        const float *xb = x + b * WK_QK_K;
        uint8_t *yb = y + b * 66;
        float id;
        wk_store_half(yb + 64, ternary_scale(xb, &id));
        for (int j = 0; j < 64; j += 32) {
            const float *xs = xb + j * 4;
            for (int m = 0; m < 32; ++m) {
                uint8_t q = 0;
                for (int n = 0; n < 4; ++n) q = (uint8_t)(q + ((trit(xs[m + n * 32], id) & 3) << (2 * n)));
                yb[j + m] = q;
            }
        }
    }
}

// MARK: IQ4_NL, IQ4_XS — 4-bit indices into a non-linear table

static const int8_t iq4nl_levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

/// One super-block of `super_size` values (32 for IQ4_NL, 256 for IQ4_XS) in 32-value
/// sub-blocks; ggml's quantize_row_iq4_nl_impl with ntry = 7. Writes the f16 scale at `dh`, the
/// nibbles at `q4`, and for IQ4_XS the sub-block scales (`scales_h` as two little-endian bytes).
static void iq4_super_block(int super_size, const float *x, uint8_t *dh, uint8_t *q4, uint8_t *scales_h, uint8_t *scales_l,
                            const float *qw_block) {
    const int ntry = 7;
    const int8_t *values = iq4nl_levels;
    float scales[WK_QK_K / 32], weight[32];
    uint8_t L[WK_QK_K];
    float sigma2 = 0;
    for (int j = 0; j < super_size; ++j) sigma2 += x[j] * x[j];
    sigma2 *= 2.f / super_size;
    memset(q4, 0, (size_t)super_size / 2);
    wk_store_half(dh, 0.f);
    float max_scale = 0, amax_scale = 0;
    for (int ib = 0; ib < super_size / 32; ++ib) {
        const float *xb = x + ib * 32;
        uint8_t *Lb = L + ib * 32;
        if (qw_block) {
            const float *qw = qw_block + ib * 32;
            for (int j = 0; j < 32; ++j) weight[j] = qw[j] * sqrtf(sigma2 + xb[j] * xb[j]);
        } else {
            for (int j = 0; j < 32; ++j) weight[j] = xb[j] * xb[j];
        }
        float amax = 0, max = 0;
        for (int j = 0; j < 32; ++j) {
            const float ax = fabsf(xb[j]);
            if (ax > amax) { amax = ax; max = xb[j]; }
        }
        if (amax < WK_GROUP_MAX_EPS) {
            scales[ib] = 0;
            continue;
        }
        float d = -max / values[0];
        float id = 1 / d;
        float sumqx = 0, sumq2 = 0;
        for (int j = 0; j < 32; ++j) {
            const float al = id * xb[j];
            const int l = wk_best_index_int8(16, values, al);
            Lb[j] = (uint8_t)l;
            const float q = values[l];
            const float w = weight[j];
            sumqx += w * q * xb[j];
            sumq2 += w * q * q;
        }
        d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
        float best = d * sumqx;
        for (int itry = -ntry; itry <= ntry; ++itry) {
            id = (itry + values[0]) / max;
            sumqx = sumq2 = 0;
            for (int j = 0; j < 32; ++j) {
                const float al = id * xb[j];
                const int l = wk_best_index_int8(16, values, al);
                const float q = values[l];
                const float w = weight[j];
                sumqx += w * q * xb[j];
                sumq2 += w * q * q;
            }
            if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
                d = sumqx / sumq2;
                best = d * sumqx;
            }
        }
        scales[ib] = d;
        const float abs_d = fabsf(d);
        if (abs_d > amax_scale) { amax_scale = abs_d; max_scale = d; }
    }
    if (super_size > 32) {
        uint16_t high = 0;
        const float d = -max_scale / 32;
        wk_store_half(dh, d);
        // The sub-block scales are fitted against the unrounded d.
        const float id = d ? 1 / d : 0.f;
        for (int ib = 0; ib < super_size / 32; ++ib) {
            int l = wk_nearest_int(id * scales[ib]);
            l = WK_MAX(-32, WK_MIN(31, l));
            const float dl = d * l;
            const float idl = dl ? 1 / dl : 0.f;
            uint8_t *Lb = L + ib * 32;
            const float *xb = x + ib * 32;
            for (int j = 0; j < 32; ++j) Lb[j] = (uint8_t)wk_best_index_int8(16, values, idl * xb[j]);
            l += 32;
            const uint8_t l_l = (uint8_t)(l & 0xf), l_h = (uint8_t)(l >> 4);
            if (ib % 2 == 0) scales_l[ib / 2] = l_l;
            else scales_l[ib / 2] |= (uint8_t)(l_l << 4);
            high |= (uint16_t)(l_h << (2 * (ib % 8)));
        }
        scales_h[0] = (uint8_t)high;
        scales_h[1] = (uint8_t)(high >> 8);
    } else {
        wk_store_half(dh, scales[0]);
        const float id = scales[0] ? 1 / scales[0] : 0;
        for (int j = 0; j < super_size; ++j) L[j] = (uint8_t)wk_best_index_int8(16, values, id * x[j]);
    }
    for (int i = 0; i < super_size / 32; ++i) {
        for (int j = 0; j < 16; ++j) q4[16 * i + j] = (uint8_t)(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
    }
}

void wk_quantize_rows_iq4_nl(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    const int64_t blocks = row_length / 32;
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t b = 0; b < blocks; ++b) {
            uint8_t *yb = y + (r * blocks + b) * 18;
            iq4_super_block(32, x + r * row_length + b * 32, yb, yb + 2, NULL, NULL, importance ? importance + 32 * b : NULL);
        }
    }
}

void wk_quantize_rows_iq4_xs(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    const int64_t blocks = row_length / WK_QK_K;
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t b = 0; b < blocks; ++b) {
            uint8_t *yb = y + (r * blocks + b) * 136;   // f16 d, u16 scales_h, scales_l[4], qs[128]
            iq4_super_block(WK_QK_K, x + r * row_length + b * WK_QK_K, yb, yb + 8, yb + 2, yb + 4,
                            importance ? importance + WK_QK_K * b : NULL);
        }
    }
}
