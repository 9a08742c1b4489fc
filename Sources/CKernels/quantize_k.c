// K-quants Q2_K and Q3_K, and the importance-weighted variants of Q4_K, Q5_K, Q6_K and of the
// 32-element types Q4_0, Q4_1, Q5_0, Q5_1, as llama.cpp's ggml-quants.c computes them
// (`quantize_row_q*_K_ref` without weights, `quantize_row_q*_impl` with). Layouts follow
// ggml-common.h. See quantize_internal.h for the evaluation-order rules.
#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)
#include "quantize_internal.h"

/// Packs 256 two-bit levels as Q2_K and Q3_K store them: byte l of each 32-byte group holds the
/// levels j+l, j+l+32, j+l+64, j+l+96 of the 128-value half j.
static void pack_two_bits(const uint8_t *L, uint8_t *qs) {
    for (int j = 0; j < WK_QK_K; j += 128) {
        for (int l = 0; l < 32; ++l) {
            qs[j / 4 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
        }
    }
}

// MARK: Q2_K — block: scales[16] (low nibble scale, high nibble min), qs[64], f16 d, f16 dmin

static void q2_k_requantize(const float *x, const uint8_t *scales, float dm, float mm, uint8_t *L) {
    for (int j = 0; j < WK_QK_K / 16; ++j) {
        const float d = dm * (scales[j] & 0xF);
        if (!d) continue;
        const float m = mm * (scales[j] >> 4);
        for (int ii = 0; ii < 16; ++ii) {
            int l = wk_nearest_int((x[16 * j + ii] + m) / d);
            L[16 * j + ii] = (uint8_t)WK_MAX(0, WK_MIN(3, l));
        }
    }
}

static void q2_k_block_plain(const float *x, uint8_t *y) {
    uint8_t L[WK_QK_K], Laux[16];
    float weights[16], mins[WK_QK_K / 16], scales[WK_QK_K / 16];
    uint8_t *block_scales = y, *qs = y + 16;
    const float q4scale = 15.f;
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < WK_QK_K / 16; ++j) {
        for (int l = 0; l < 16; ++l) weights[l] = fabsf(x[16 * j + l]);
        scales[j] = wk_make_qkx_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true, false);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    if (max_scale > 0) {
        const float iscale = q4scale / max_scale;
        for (int j = 0; j < WK_QK_K / 16; ++j) block_scales[j] = (uint8_t)wk_nearest_int(iscale * scales[j]);
        wk_store_half(y + 80, max_scale / q4scale);
    } else {
        memset(block_scales, 0, 16);
        wk_store_half(y + 80, 0.f);
    }
    if (max_min > 0) {
        const float iscale = q4scale / max_min;
        for (int j = 0; j < WK_QK_K / 16; ++j) block_scales[j] |= (uint8_t)(wk_nearest_int(iscale * mins[j]) << 4);
        wk_store_half(y + 82, max_min / q4scale);
    } else {
        wk_store_half(y + 82, 0.f);
    }
    q2_k_requantize(x, block_scales, wk_load_half(y + 80), wk_load_half(y + 82), L);
    pack_two_bits(L, qs);
}

static void q2_k_block_weighted(const float *x, uint8_t *y, const float *qw_block) {
    uint8_t L[WK_QK_K], Laux[16], Ls[WK_QK_K / 16], Lm[WK_QK_K / 16];
    float mins[WK_QK_K / 16], scales[WK_QK_K / 16], sw[WK_QK_K / 16], weight[16];
    memset(sw, 0, sizeof sw);
    const float sigma2 = wk_sum_squares(x, WK_QK_K) / WK_QK_K;
    for (int j = 0; j < WK_QK_K / 16; ++j) {
        const float *qw = qw_block + 16 * j;
        for (int l = 0; l < 16; ++l) weight[l] = qw[l] * sqrtf(sigma2 + x[16 * j + l] * x[16 * j + l]);
        for (int l = 0; l < 16; ++l) sw[j] += weight[l];
        scales[j] = wk_make_qkx_quants(16, 3, x + 16 * j, weight, L + 16 * j, &mins[j], Laux, -0.9f, 0.05f, 36, false, true);
    }
    const float dm = wk_make_qp_quants(WK_QK_K / 16, 15, scales, Ls, sw);
    const float mm = wk_make_qp_quants(WK_QK_K / 16, 15, mins, Lm, sw);
    wk_store_half(y + 80, dm);
    wk_store_half(y + 82, mm);
    for (int j = 0; j < WK_QK_K / 16; ++j) y[j] = (uint8_t)(Ls[j] | (Lm[j] << 4));
    q2_k_requantize(x, y, wk_load_half(y + 80), wk_load_half(y + 82), L);
    pack_two_bits(L, y + 16);
}

void wk_quantize_rows_q2_k(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    const int64_t blocks = row_length / WK_QK_K;
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t b = 0; b < blocks; ++b) {
            const float *xb = x + r * row_length + b * WK_QK_K;
            uint8_t *yb = y + (r * blocks + b) * 84;
            if (importance) q2_k_block_weighted(xb, yb, importance + b * WK_QK_K);
            else q2_k_block_plain(xb, yb);
        }
    }
}

// MARK: Q3_K — block: hmask[32], qs[64], scales[12] (16 six-bit values), f16 d

/// Stores the sixteen 6-bit scale codes (0...63) as ggml packs them.
static void q3_k_pack_scales(const int *codes, uint8_t *scales) {
    memset(scales, 0, 12);
    for (int j = 0; j < 16; ++j) {
        int l = codes[j];
        if (j < 8) scales[j] = (uint8_t)(l & 0xF);
        else scales[j - 8] |= (uint8_t)((l & 0xF) << 4);
        l >>= 4;
        scales[j % 4 + 8] |= (uint8_t)(l << (2 * (j / 4)));
    }
}

/// Splits levels 0...7 into the high-bit mask and the two-bit planes.
static void q3_k_store_levels(int8_t *L, uint8_t *y) {
    uint8_t *hmask = y, *qs = y + 32;
    memset(hmask, 0, 32);
    int m = 0;
    uint8_t hm = 1;
    for (int j = 0; j < WK_QK_K; ++j) {
        if (L[j] > 3) {
            hmask[m] |= hm;
            L[j] = (int8_t)(L[j] - 4);
        }
        if (++m == WK_QK_K / 8) {
            m = 0;
            hm = (uint8_t)(hm << 1);
        }
    }
    pack_two_bits((const uint8_t *)L, qs);
}

static void q3_k_requantize(const float *x, const uint8_t *scales, float d_all, int8_t *L) {
    for (int j = 0; j < 16; ++j) {
        int8_t sc = (int8_t)(j < 8 ? scales[j] & 0xF : scales[j - 8] >> 4);
        sc = (int8_t)((sc | (((scales[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32);
        const float d = d_all * sc;
        if (!d) continue;
        for (int ii = 0; ii < 16; ++ii) {
            int l = wk_nearest_int(x[16 * j + ii] / d);
            l = WK_MAX(-4, WK_MIN(3, l));
            L[16 * j + ii] = (int8_t)(l + 4);
        }
    }
}

static void q3_k_block_plain(const float *x, uint8_t *y) {
    int8_t L[WK_QK_K];
    float scales[16];
    float max_scale = 0, amax = 0;
    for (int j = 0; j < 16; ++j) {
        scales[j] = wk_make_q3_quants(16, 4, x + 16 * j, L + 16 * j, true);
        const float scale = fabsf(scales[j]);
        if (scale > amax) { amax = scale; max_scale = scales[j]; }
    }
    if (max_scale) {
        const float iscale = -32.f / max_scale;
        int codes[16];
        for (int j = 0; j < 16; ++j) {
            // ggml keeps the rounded value in an int8_t before clamping.
            int8_t l = (int8_t)wk_nearest_int(iscale * scales[j]);
            codes[j] = WK_MAX(-32, WK_MIN(31, l)) + 32;
        }
        q3_k_pack_scales(codes, y + 96);
        wk_store_half(y + 108, 1 / iscale);
    } else {
        memset(y + 96, 0, 12);
        wk_store_half(y + 108, 0.f);
    }
    q3_k_requantize(x, y + 96, wk_load_half(y + 108), L);
    q3_k_store_levels(L, y);
}

static void q3_k_block_weighted(const float *x, uint8_t *y, const float *qw_block) {
    int8_t L[WK_QK_K], Ls[16];
    float scales[16], weight[16], sw[16];
    const float sigma2 = 2 * wk_sum_squares(x, WK_QK_K) / WK_QK_K;
    for (int j = 0; j < 16; ++j) {
        const float *qw = qw_block + 16 * j;
        for (int l = 0; l < 16; ++l) weight[l] = qw[l] * sqrtf(sigma2 + x[16 * j + l] * x[16 * j + l]);
        float sumw = 0;
        for (int l = 0; l < 16; ++l) sumw += weight[l];
        sw[j] = sumw;
        scales[j] = wk_make_qx_quants(16, 4, x + 16 * j, L + 16 * j, 1, weight);
    }
    const float d_block = wk_make_qx_quants(16, 32, scales, Ls, 1, sw);
    int codes[16];
    for (int j = 0; j < 16; ++j) codes[j] = Ls[j];
    q3_k_pack_scales(codes, y + 96);
    wk_store_half(y + 108, d_block);
    q3_k_requantize(x, y + 96, wk_load_half(y + 108), L);
    q3_k_store_levels(L, y);
}

void wk_quantize_rows_q3_k(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    const int64_t blocks = row_length / WK_QK_K;
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t b = 0; b < blocks; ++b) {
            const float *xb = x + r * row_length + b * WK_QK_K;
            uint8_t *yb = y + (r * blocks + b) * 110;
            if (importance) q3_k_block_weighted(xb, yb, importance + b * WK_QK_K);
            else q3_k_block_plain(xb, yb);
        }
    }
}

// MARK: Q4_K, Q5_K with weights — block: f16 d, f16 dmin, scales[12], [qh[32]], qs[128]

static inline void get_scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
    }
}

/// The weighted scale search shared by Q4_K (nmax 15) and Q5_K (nmax 31): fills d, dmin and
/// the packed scales at y, and the final levels L.
static void qk_scales_mins_weighted(const float *x, const float *qw_block, int nmax, uint8_t *y, uint8_t *L) {
    uint8_t Laux[32], Ls[8], Lm[8];
    float weights[32], sw[8], mins[8], scales[8];
    const float sigma2 = 2 * wk_sum_squares(x, WK_QK_K) / WK_QK_K;
    const float av_x = sqrtf(sigma2);
    for (int j = 0; j < 8; ++j) {
        if (qw_block) {
            const float *qw = qw_block + 32 * j;
            for (int l = 0; l < 32; ++l) weights[l] = qw[l] * sqrtf(sigma2 + x[32 * j + l] * x[32 * j + l]);
        } else {
            for (int l = 0; l < 32; ++l) weights[l] = av_x + fabsf(x[32 * j + l]);
        }
        float sumw = 0;
        for (int l = 0; l < 32; ++l) sumw += weights[l];
        sw[j] = sumw;
        scales[j] = wk_make_qkx_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -0.9f, 0.05f, 36, false, true);
    }
    const float d_block = wk_make_qp_quants(8, 63, scales, Ls, sw);
    const float m_block = wk_make_qp_quants(8, 63, mins, Lm, sw);
    uint8_t *packed = y + 4;
    for (int j = 0; j < 8; ++j) {
        // Q5_K clamps the codes to 63 first; make_qp_quants never exceeds nmax = 63, so Q4_K's
        // unclamped codes are the same.
        const uint8_t ls = (uint8_t)WK_MIN(63, Ls[j]), lm = (uint8_t)WK_MIN(63, Lm[j]);
        if (j < 4) {
            packed[j] = ls;
            packed[j + 4] = lm;
        } else {
            packed[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
            packed[j - 4] |= (uint8_t)((ls >> 4) << 6);
            packed[j - 0] |= (uint8_t)((lm >> 4) << 6);
        }
    }
    wk_store_half(y, d_block);
    wk_store_half(y + 2, m_block);
    const float d_all = wk_load_half(y), dmin_all = wk_load_half(y + 2);
    for (int j = 0; j < 8; ++j) {
        uint8_t sc, m;
        get_scale_min_k4(j, packed, &sc, &m);
        const float d = d_all * sc;
        if (!d) continue;
        const float dm = dmin_all * m;
        for (int ii = 0; ii < 32; ++ii) {
            int l = wk_nearest_int((x[32 * j + ii] + dm) / d);
            L[32 * j + ii] = (uint8_t)WK_MAX(0, WK_MIN(nmax, l));
        }
    }
}

void wk_quantize_rows_q4_k_weighted(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    const int64_t blocks = row_length / WK_QK_K;
    uint8_t L[WK_QK_K];
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t b = 0; b < blocks; ++b) {
            const float *xb = x + r * row_length + b * WK_QK_K;
            uint8_t *yb = y + (r * blocks + b) * 144;
            memset(yb + 4, 0, 12);
            qk_scales_mins_weighted(xb, importance ? importance + b * WK_QK_K : NULL, 15, yb, L);
            uint8_t *q = yb + 16;
            for (int j = 0; j < WK_QK_K; j += 64) {
                for (int l = 0; l < 32; ++l) q[l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
                q += 32;
            }
        }
    }
}

void wk_quantize_rows_q5_k_weighted(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    const int64_t blocks = row_length / WK_QK_K;
    uint8_t L[WK_QK_K];
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t b = 0; b < blocks; ++b) {
            const float *xb = x + r * row_length + b * WK_QK_K;
            uint8_t *yb = y + (r * blocks + b) * 176;
            memset(yb + 4, 0, 12);
            qk_scales_mins_weighted(xb, importance ? importance + b * WK_QK_K : NULL, 31, yb, L);
            uint8_t *qh = yb + 16, *ql = yb + 48;
            memset(qh, 0, 32);
            uint8_t m1 = 1, m2 = 2;
            for (int n = 0; n < WK_QK_K; n += 64) {
                for (int j = 0; j < 32; ++j) {
                    int l1 = L[n + j];
                    if (l1 > 15) { l1 -= 16; qh[j] |= m1; }
                    int l2 = L[n + j + 32];
                    if (l2 > 15) { l2 -= 16; qh[j] |= m2; }
                    ql[j] = (uint8_t)(l1 | (l2 << 4));
                }
                m1 = (uint8_t)(m1 << 2);
                m2 = (uint8_t)(m2 << 2);
                ql += 32;
            }
        }
    }
}

// MARK: Q6_K with weights — block: ql[128], qh[64], scales[16] (int8), f16 d

void wk_quantize_rows_q6_k_weighted(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    const int64_t blocks = row_length / WK_QK_K;
    int8_t L[WK_QK_K];
    float scales[16];
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t b = 0; b < blocks; ++b) {
            const float *xb = x + r * row_length + b * WK_QK_K;
            uint8_t *yb = y + (r * blocks + b) * 210;
            float max_scale = 0, max_abs_scale = 0;
            for (int ib = 0; ib < 16; ++ib) {
                // The importance alone weights the fit (ggml does not mix in sigma2 here).
                const float *qw = importance ? importance + b * WK_QK_K + 16 * ib : NULL;
                const float scale = wk_make_qx_quants(16, 32, xb + 16 * ib, L + 16 * ib, 1, qw);
                scales[ib] = scale;
                const float abs_scale = fabsf(scale);
                if (abs_scale > max_abs_scale) { max_abs_scale = abs_scale; max_scale = scale; }
            }
            if (max_abs_scale < WK_GROUP_MAX_EPS) {
                memset(yb, 0, 210);
                continue;
            }
            const float iscale = -128.f / max_scale;
            wk_store_half(yb + 208, 1 / iscale);
            int8_t *block_scales = (int8_t *)(yb + 192);
            for (int ib = 0; ib < 16; ++ib) block_scales[ib] = (int8_t)WK_MIN(127, wk_nearest_int(iscale * scales[ib]));
            const float d_all = wk_load_half(yb + 208);
            for (int j = 0; j < 16; ++j) {
                const float d = d_all * block_scales[j];
                if (!d) continue;
                for (int ii = 0; ii < 16; ++ii) {
                    int l = wk_nearest_int(xb[16 * j + ii] / d);
                    l = WK_MAX(-32, WK_MIN(31, l));
                    L[16 * j + ii] = (int8_t)(l + 32);
                }
            }
            uint8_t *ql = yb, *qh = yb + 128;
            for (int j = 0; j < WK_QK_K; j += 128) {
                for (int l = 0; l < 32; ++l) {
                    const uint8_t q1 = L[j + l + 0] & 0xF, q2 = L[j + l + 32] & 0xF;
                    const uint8_t q3 = L[j + l + 64] & 0xF, q4 = L[j + l + 96] & 0xF;
                    ql[l + 0] = (uint8_t)(q1 | (q3 << 4));
                    ql[l + 32] = (uint8_t)(q2 | (q4 << 4));
                    qh[l] = (uint8_t)((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
                                      ((L[j + l + 96] >> 4) << 6));
                }
                ql += 64;
                qh += 32;
            }
        }
    }
}

// MARK: 32-element types with weights (sigma2 over the whole row)

/// Packs 32 five-bit levels: nibbles as Q4_0, bit 4 of level j in bit j of the u32 qh.
static void pack_five_bits(const uint8_t *L, uint8_t *qh_bytes, uint8_t *qs) {
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
        const uint8_t a = L[j], b = L[j + 16];
        qs[j] = (uint8_t)((a & 0x0F) | ((b & 0x0F) << 4));
        qh |= ((a & 0x10u) >> 4) << (j + 0);
        qh |= ((b & 0x10u) >> 4) << (j + 16);
    }
    qh_bytes[0] = (uint8_t)qh; qh_bytes[1] = (uint8_t)(qh >> 8); qh_bytes[2] = (uint8_t)(qh >> 16); qh_bytes[3] = (uint8_t)(qh >> 24);
}

static void weights_for_block(const float *xb, const float *qw, float sigma2, float *weight) {
    for (int j = 0; j < 32; ++j) weight[j] = qw[j] * sqrtf(sigma2 + xb[j] * xb[j]);
}

void wk_quantize_rows_q4_0_weighted(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    const int64_t blocks = row_length / 32;
    float weight[32];
    int8_t L[32];
    for (int64_t r = 0; r < rows; ++r) {
        const float *row = x + r * row_length;
        const float sigma2 = wk_sum_squares(row, row_length) / row_length;
        for (int64_t b = 0; b < blocks; ++b) {
            uint8_t *yb = y + (r * blocks + b) * 18;
            weights_for_block(row + 32 * b, importance + 32 * b, sigma2, weight);
            const float d = wk_make_qx_quants(32, 8, row + 32 * b, L, 1, weight);
            wk_store_half(yb, d);
            for (int j = 0; j < 16; ++j) yb[2 + j] = (uint8_t)(L[j] | (L[j + 16] << 4));
        }
    }
}

void wk_quantize_rows_q4_1_weighted(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    const int64_t blocks = row_length / 32;
    float weight[32];
    uint8_t L[32], Laux[32];
    for (int64_t r = 0; r < rows; ++r) {
        const float *row = x + r * row_length;
        const float sigma2 = wk_sum_squares(row, row_length) / row_length;
        for (int64_t b = 0; b < blocks; ++b) {
            uint8_t *yb = y + (r * blocks + b) * 20;
            weights_for_block(row + 32 * b, importance + 32 * b, sigma2, weight);
            float min;
            const float d = wk_make_qkx_quants(32, 15, row + 32 * b, weight, L, &min, Laux, -0.9f, 0.05f, 36, false, true);
            wk_store_half(yb, d);
            wk_store_half(yb + 2, -min);
            for (int j = 0; j < 16; ++j) yb[4 + j] = (uint8_t)(L[j] | (L[j + 16] << 4));
        }
    }
}

void wk_quantize_rows_q5_0_weighted(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    const int64_t blocks = row_length / 32;
    float weight[32];
    int8_t L[32];
    for (int64_t r = 0; r < rows; ++r) {
        const float *row = x + r * row_length;
        const float sigma2 = wk_sum_squares(row, row_length) / row_length;
        for (int64_t b = 0; b < blocks; ++b) {
            uint8_t *yb = y + (r * blocks + b) * 22;
            weights_for_block(row + 32 * b, importance + 32 * b, sigma2, weight);
            const float d = wk_make_qx_quants(32, 16, row + 32 * b, L, 1, weight);
            wk_store_half(yb, d);
            pack_five_bits((const uint8_t *)L, yb + 2, yb + 6);
        }
    }
}

void wk_quantize_rows_q5_1_weighted(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    const int64_t blocks = row_length / 32;
    float weight[32];
    uint8_t L[32], Laux[32];
    for (int64_t r = 0; r < rows; ++r) {
        const float *row = x + r * row_length;
        const float sigma2 = wk_sum_squares(row, row_length) / row_length;
        for (int64_t b = 0; b < blocks; ++b) {
            uint8_t *yb = y + (r * blocks + b) * 24;
            weights_for_block(row + 32 * b, importance + 32 * b, sigma2, weight);
            float min;
            const float d = wk_make_qkx_quants(32, 31, row + 32 * b, weight, L, &min, Laux, -0.9f, 0.05f, 36, false, true);
            wk_store_half(yb, d);
            wk_store_half(yb + 2, -min);
            pack_five_bits(L, yb + 4, yb + 8);
        }
    }
}
