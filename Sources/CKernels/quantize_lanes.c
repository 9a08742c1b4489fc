// The scale searches of Q4_K, Q5_K, Q6_K and IQ4_NL / IQ4_XS with eight sub-blocks side by side
// in the eight lanes of AVX2 registers (compiled for AVX2 through target attributes and chosen
// at run time by quantize_rows.c). Each lane runs exactly the scalar algorithm of quantize.c /
// quantize_k.c / quantize_small.c on its own sub-block: the same operations in the same order,
// each rounded on its own (explicit multiply and add intrinsics, never fused; contraction is off
// for the file), branches turned into per-lane selects. So the bytes are the scalar ones.
#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)
#include "quantize_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define WK_LANES_AVAILABLE 1
#define AVX2 __attribute__((target("avx2")))

typedef __m256 f8;
typedef __m256i i8x;

AVX2 static inline f8 set1(float v) { return _mm256_set1_ps(v); }
AVX2 static inline f8 add(f8 a, f8 b) { return _mm256_add_ps(a, b); }
AVX2 static inline f8 sub(f8 a, f8 b) { return _mm256_sub_ps(a, b); }
AVX2 static inline f8 mul(f8 a, f8 b) { return _mm256_mul_ps(a, b); }
AVX2 static inline f8 dvd(f8 a, f8 b) { return _mm256_div_ps(a, b); }
/// a ? b : c per lane (mask from a comparison).
AVX2 static inline f8 pick(f8 mask, f8 whenTrue, f8 whenFalse) { return _mm256_blendv_ps(whenFalse, whenTrue, mask); }
AVX2 static inline f8 lt(f8 a, f8 b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
AVX2 static inline f8 gt(f8 a, f8 b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
AVX2 static inline f8 absolute(f8 a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
/// -a (the sign flipped, as C's unary minus: -(+0) is -0).
AVX2 static inline f8 negate(f8 a) { return _mm256_xor_ps(_mm256_set1_ps(-0.0f), a); }

/// wk_nearest_int per lane (the same float trick), as int32 lanes.
AVX2 static inline i8x nearest(f8 v) {
    const __m256i bits = _mm256_castps_si256(_mm256_add_ps(v, _mm256_set1_ps(12582912.f)));
    return _mm256_sub_epi32(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x00400000));
}
AVX2 static inline i8x clamp(i8x v, int low, int high) {
    return _mm256_max_epi32(_mm256_set1_epi32(low), _mm256_min_epi32(_mm256_set1_epi32(high), v));
}
AVX2 static inline f8 tofloat(i8x v) { return _mm256_cvtepi32_ps(v); }

/// Transposes `lanes` sub-blocks of `n` values (sub-block k at x + k * n) into t[i] (lane k = value
/// i of sub-block k).
AVX2 static void transpose(const float *x, int n, f8 *t) {
    float column[8];
    for (int i = 0; i < n; ++i) {
        for (int k = 0; k < 8; ++k) column[k] = x[k * n + i];
        t[i] = _mm256_loadu_ps(column);
    }
}

// MARK: make_qkx2_quants / make_qkx3_quants (with weights) over 8 sub-blocks of 32

/// Levels (as int32 lanes in L[i]) and the scale and -min of 8 sub-blocks. `qkx3`: ggml's
/// make_qkx3_quants degenerate test (max <= min) instead of make_qkx2_quants' (max == min).
AVX2 static void qkx_lanes_n(const f8 *x, const f8 *w, int N, int nmax, float rmin, float rdelta, int nstep, bool use_mad, bool qkx3,
                             i8x *L, f8 *scale_out, f8 *the_min_out) {
    f8 min = x[0], max = x[0];
    f8 sum_w = w[0];
    f8 sum_x = mul(sum_w, x[0]);
    for (int i = 1; i < N; ++i) {
        min = pick(lt(x[i], min), x[i], min);
        max = pick(gt(x[i], max), x[i], max);
        sum_w = add(sum_w, w[i]);
        sum_x = add(sum_x, mul(w[i], x[i]));
    }
    const f8 zero = _mm256_setzero_ps();
    min = pick(gt(min, zero), zero, min);
    const f8 first_min = min;
    const f8 flat = qkx3 ? _mm256_cmp_ps(max, min, _CMP_LE_OQ) : _mm256_cmp_ps(max, min, _CMP_EQ_OQ);
    const f8 range = sub(max, min);
    const f8 fnmax = set1((float)nmax);
    f8 iscale = dvd(fnmax, range);
    f8 scale = dvd(set1(1.0f), iscale);
    f8 best_error = zero;
    for (int i = 0; i < N; ++i) {
        L[i] = clamp(nearest(mul(iscale, sub(x[i], min))), 0, nmax);
        f8 diff = sub(add(mul(scale, tofloat(L[i])), min), x[i]);
        diff = use_mad ? absolute(diff) : mul(diff, diff);
        best_error = add(best_error, mul(w[i], diff));
    }
    i8x Laux[32];
    for (int is = 0; is <= nstep; ++is) {
        // (max - min) with the current min: an accepted candidate moves min for the next steps.
        iscale = dvd(set1(rmin + rdelta * is + nmax), sub(max, min));
        f8 sum_l = zero, sum_l2 = zero, sum_xl = zero;
        for (int i = 0; i < N; ++i) {
            Laux[i] = clamp(nearest(mul(iscale, sub(x[i], min))), 0, nmax);
            const f8 l = tofloat(Laux[i]);
            sum_l = add(sum_l, mul(w[i], l));
            sum_l2 = add(sum_l2, mul(mul(w[i], l), l));
            sum_xl = add(sum_xl, mul(mul(w[i], l), x[i]));
        }
        const f8 D = sub(mul(sum_w, sum_l2), mul(sum_l, sum_l));
        const f8 positive = gt(D, zero);
        if (_mm256_movemask_ps(positive) == 0) continue;
        f8 this_scale = dvd(sub(mul(sum_w, sum_xl), mul(sum_x, sum_l)), D);
        f8 this_min = dvd(sub(mul(sum_l2, sum_x), mul(sum_l, sum_xl)), D);
        const f8 above = gt(this_min, zero);
        this_min = pick(above, zero, this_min);
        this_scale = pick(above, dvd(sum_xl, sum_l2), this_scale);
        f8 error = zero;
        for (int i = 0; i < N; ++i) {
            f8 diff = sub(add(mul(this_scale, tofloat(Laux[i])), this_min), x[i]);
            diff = use_mad ? absolute(diff) : mul(diff, diff);
            error = add(error, mul(w[i], diff));
        }
        const f8 better = _mm256_and_ps(positive, lt(error, best_error));
        const i8x take = _mm256_castps_si256(better);
        for (int i = 0; i < N; ++i) L[i] = _mm256_blendv_epi8(L[i], Laux[i], take);
        best_error = pick(better, error, best_error);
        scale = pick(better, this_scale, scale);
        min = pick(better, this_min, min);
    }
    // Degenerate lanes: levels 0, scale 0, -min.
    const i8x flatInt = _mm256_castps_si256(flat);
    for (int i = 0; i < N; ++i) L[i] = _mm256_andnot_si256(flatInt, L[i]);
    *scale_out = pick(flat, zero, scale);
    *the_min_out = negate(pick(flat, first_min, min));
}

AVX2 static void qkx_lanes(const f8 *x, const f8 *w, int nmax, float rmin, float rdelta, int nstep, bool qkx3, i8x *L,
                           f8 *scale_out, f8 *the_min_out) {
    qkx_lanes_n(x, w, 32, nmax, rmin, rdelta, nstep, false, qkx3, L, scale_out, the_min_out);
}

static inline void get_scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
    }
}

/// One Q4_K (nmax 15) or Q5_K (nmax 31) super-block's scales, mins and final levels; unweighted
/// (quantize_row_q*_K_ref) when `qw` is NULL, else the importance-weighted variant.
AVX2 static void qk_super_block(const float *x, const float *qw, int nmax, uint8_t *y, uint8_t *Lout) {
    f8 xt[32], wt[32];
    i8x L[32];
    transpose(x, 32, xt);
    float scales[8], mins[8];
    f8 scale, the_min;
    if (!qw) {
        // Per sub-block: av_x = sqrt(sum x^2 / 32), weights av_x + |x|.
        f8 sum_x2 = _mm256_setzero_ps();
        for (int l = 0; l < 32; ++l) sum_x2 = add(sum_x2, mul(xt[l], xt[l]));
        const f8 av_x = _mm256_sqrt_ps(dvd(sum_x2, set1(32.0f)));
        for (int l = 0; l < 32; ++l) wt[l] = add(av_x, absolute(xt[l]));
        if (nmax == 15) qkx_lanes(xt, wt, 15, -1.f, 0.1f, 20, false, L, &scale, &the_min);
        else qkx_lanes(xt, wt, 31, -0.5f, 0.1f, 15, false, L, &scale, &the_min);
    } else {
        const float sigma2 = 2 * wk_sum_squares(x, WK_QK_K) / WK_QK_K;
        f8 qwt[32];
        transpose(qw, 32, qwt);
        for (int l = 0; l < 32; ++l) wt[l] = mul(qwt[l], _mm256_sqrt_ps(add(set1(sigma2), mul(xt[l], xt[l]))));
        qkx_lanes(xt, wt, nmax, -0.9f, 0.05f, 36, true, L, &scale, &the_min);
    }
    _mm256_storeu_ps(scales, scale);
    _mm256_storeu_ps(mins, the_min);
    for (int i = 0; i < 32; ++i) {
        int32_t lanes[8];
        _mm256_storeu_si256((__m256i *)lanes, L[i]);
        for (int k = 0; k < 8; ++k) Lout[32 * k + i] = (uint8_t)lanes[k];
    }
    uint8_t *packed = y + 4;
    memset(packed, 0, 12);
    if (!qw) {
        float max_scale = 0, max_min = 0;
        for (int j = 0; j < 8; ++j) {
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
        const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
        for (int j = 0; j < 8; ++j) {
            uint8_t ls = (uint8_t)wk_nearest_int(inv_scale * scales[j]);
            uint8_t lm = (uint8_t)wk_nearest_int(inv_min * mins[j]);
            ls = WK_MIN(63, ls);
            lm = WK_MIN(63, lm);
            if (j < 4) {
                packed[j] = ls;
                packed[j + 4] = lm;
            } else {
                packed[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
                packed[j - 4] |= (uint8_t)((ls >> 4) << 6);
                packed[j - 0] |= (uint8_t)((lm >> 4) << 6);
            }
        }
        wk_store_half(y, max_scale / 63.f);
        wk_store_half(y + 2, max_min / 63.f);
    } else {
        // The weighted variant fits the scales and mins by make_qp_quants under the sums of
        // the sub-blocks' weights (in index order).
        float sw[8];
        const float sigma2 = 2 * wk_sum_squares(x, WK_QK_K) / WK_QK_K;
        for (int j = 0; j < 8; ++j) {
            float sumw = 0;
            const float *qwj = qw + 32 * j;
            for (int l = 0; l < 32; ++l) sumw += qwj[l] * sqrtf(sigma2 + x[32 * j + l] * x[32 * j + l]);
            sw[j] = sumw;
        }
        uint8_t Ls[8], Lm[8];
        const float d_block = wk_make_qp_quants(8, 63, scales, Ls, sw);
        const float m_block = wk_make_qp_quants(8, 63, mins, Lm, sw);
        for (int j = 0; j < 8; ++j) {
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
    }
    const float d_all = wk_load_half(y), dmin_all = wk_load_half(y + 2);
    for (int j = 0; j < 8; ++j) {
        uint8_t sc, m;
        get_scale_min_k4(j, packed, &sc, &m);
        const float dj = d_all * sc;
        if (!dj) continue;
        const float dm = dmin_all * m;
        for (int ii = 0; ii < 32; ++ii) {
            const int l = wk_nearest_int((x[32 * j + ii] + dm) / dj);
            Lout[32 * j + ii] = (uint8_t)WK_MAX(0, WK_MIN(nmax, l));
        }
    }
}

AVX2 void wk_quantize_rows_q4_k_lanes(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    const int64_t blocks = row_length / WK_QK_K;
    uint8_t L[WK_QK_K];
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t b = 0; b < blocks; ++b) {
            uint8_t *yb = y + (r * blocks + b) * 144;
            qk_super_block(x + r * row_length + b * WK_QK_K, importance ? importance + b * WK_QK_K : NULL, 15, yb, L);
            uint8_t *q = yb + 16;
            for (int j = 0; j < WK_QK_K; j += 64) {
                for (int l = 0; l < 32; ++l) q[l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
                q += 32;
            }
        }
    }
}

AVX2 void wk_quantize_rows_q5_k_lanes(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    const int64_t blocks = row_length / WK_QK_K;
    uint8_t L[WK_QK_K];
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t b = 0; b < blocks; ++b) {
            uint8_t *yb = y + (r * blocks + b) * 176;
            qk_super_block(x + r * row_length + b * WK_QK_K, importance ? importance + b * WK_QK_K : NULL, 31, yb, L);
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

// MARK: Q2_K: 16 sub-blocks of 16 in two passes of 8

AVX2 void wk_quantize_rows_q2_k_lanes(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    const int64_t blocks = row_length / WK_QK_K;
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t b = 0; b < blocks; ++b) {
            const float *xb = x + r * row_length + b * WK_QK_K;
            const float *qwb = importance ? importance + b * WK_QK_K : NULL;
            uint8_t *yb = y + (r * blocks + b) * 84;
            uint8_t L[WK_QK_K];
            float scales[16], mins[16], sw[16];
            const float sigma2 = qwb ? wk_sum_squares(xb, WK_QK_K) / WK_QK_K : 0;
            for (int half = 0; half < 2; ++half) {
                f8 xt[16], wt[16];
                i8x Lv[16];
                f8 scale, the_min;
                transpose(xb + 128 * half, 16, xt);
                if (qwb) {
                    f8 qwt[16];
                    transpose(qwb + 128 * half, 16, qwt);
                    for (int l = 0; l < 16; ++l) wt[l] = mul(qwt[l], _mm256_sqrt_ps(add(set1(sigma2), mul(xt[l], xt[l]))));
                    qkx_lanes_n(xt, wt, 16, 3, -0.9f, 0.05f, 36, false, true, Lv, &scale, &the_min);
                    // sw[j]: the weights summed in index order.
                    f8 sum = wt[0];
                    for (int l = 1; l < 16; ++l) sum = add(sum, wt[l]);
                    _mm256_storeu_ps(sw + 8 * half, sum);
                } else {
                    for (int l = 0; l < 16; ++l) wt[l] = absolute(xt[l]);
                    qkx_lanes_n(xt, wt, 16, 3, -0.5f, 0.1f, 15, true, false, Lv, &scale, &the_min);
                }
                _mm256_storeu_ps(scales + 8 * half, scale);
                _mm256_storeu_ps(mins + 8 * half, the_min);
                for (int i = 0; i < 16; ++i) {
                    int32_t lanes[8];
                    _mm256_storeu_si256((__m256i *)lanes, Lv[i]);
                    for (int k = 0; k < 8; ++k) L[128 * half + 16 * k + i] = (uint8_t)lanes[k];
                }
            }
            uint8_t *block_scales = yb, *qs = yb + 16;
            if (qwb) {
                uint8_t Ls[16], Lm[16];
                const float dm = wk_make_qp_quants(16, 15, scales, Ls, sw);
                const float mm = wk_make_qp_quants(16, 15, mins, Lm, sw);
                wk_store_half(yb + 80, dm);
                wk_store_half(yb + 82, mm);
                for (int j = 0; j < 16; ++j) block_scales[j] = (uint8_t)(Ls[j] | (Lm[j] << 4));
            } else {
                const float q4scale = 15.f;
                float max_scale = 0, max_min = 0;
                for (int j = 0; j < 16; ++j) {
                    if (scales[j] > max_scale) max_scale = scales[j];
                    if (mins[j] > max_min) max_min = mins[j];
                }
                if (max_scale > 0) {
                    const float iscale = q4scale / max_scale;
                    for (int j = 0; j < 16; ++j) block_scales[j] = (uint8_t)wk_nearest_int(iscale * scales[j]);
                    wk_store_half(yb + 80, max_scale / q4scale);
                } else {
                    memset(block_scales, 0, 16);
                    wk_store_half(yb + 80, 0.f);
                }
                if (max_min > 0) {
                    const float iscale = q4scale / max_min;
                    for (int j = 0; j < 16; ++j) block_scales[j] |= (uint8_t)(wk_nearest_int(iscale * mins[j]) << 4);
                    wk_store_half(yb + 82, max_min / q4scale);
                } else {
                    wk_store_half(yb + 82, 0.f);
                }
            }
            const float dm = wk_load_half(yb + 80), mm = wk_load_half(yb + 82);
            for (int j = 0; j < 16; ++j) {
                const float d = dm * (block_scales[j] & 0xF);
                if (!d) continue;
                const float m = mm * (block_scales[j] >> 4);
                for (int ii = 0; ii < 16; ++ii) {
                    const int l = wk_nearest_int((xb[16 * j + ii] + m) / d);
                    L[16 * j + ii] = (uint8_t)WK_MAX(0, WK_MIN(3, l));
                }
            }
            for (int j = 0; j < WK_QK_K; j += 128) {
                for (int l = 0; l < 32; ++l) {
                    qs[j / 4 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
                }
            }
        }
    }
}

// MARK: make_qx_quants (rmse_type 1) over 8 sub-blocks of 16: Q6_K

/// Scales of 8 sub-blocks of 16 (`x`, `qw` transposed; `qw` NULL: weights x^2) and their levels
/// L (+nmax) as int32 lanes.
AVX2 static f8 qx_lanes(const f8 *x, const f8 *qw, int nmax, i8x *L) {
    enum { N = 16 };
    const f8 zero = _mm256_setzero_ps();
    f8 max = zero, amax = zero;
    for (int i = 0; i < N; ++i) {
        const f8 ax = absolute(x[i]);
        const f8 above = gt(ax, amax);
        amax = pick(above, ax, amax);
        max = pick(above, x[i], max);
    }
    const f8 empty = lt(amax, set1(WK_GROUP_MAX_EPS));
    f8 w[N];
    for (int i = 0; i < N; ++i) w[i] = qw ? qw[i] : mul(x[i], x[i]);
    f8 iscale = dvd(set1((float)-nmax), max);
    f8 sumlx = zero, suml2 = zero;
    for (int i = 0; i < N; ++i) {
        const i8x l = clamp(nearest(mul(iscale, x[i])), -nmax, nmax - 1);
        L[i] = _mm256_add_epi32(l, _mm256_set1_epi32(nmax));
        const f8 fl = tofloat(l);
        sumlx = add(sumlx, mul(mul(w[i], x[i]), fl));
        suml2 = add(suml2, mul(mul(w[i], fl), fl));
    }
    // scale = suml2 ? sumlx / suml2 : 0
    f8 scale = pick(_mm256_cmp_ps(suml2, zero, _CMP_NEQ_UQ), dvd(sumlx, suml2), zero);
    f8 best = mul(scale, sumlx);
    i8x Lt[N];
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        iscale = dvd(set1(-(nmax + 0.1f * is)), max);
        sumlx = suml2 = zero;
        for (int i = 0; i < N; ++i) {
            const i8x l = clamp(nearest(mul(iscale, x[i])), -nmax, nmax - 1);
            Lt[i] = l;
            const f8 fl = tofloat(l);
            sumlx = add(sumlx, mul(mul(w[i], x[i]), fl));
            suml2 = add(suml2, mul(mul(w[i], fl), fl));
        }
        const f8 better = _mm256_and_ps(gt(suml2, zero), gt(mul(sumlx, sumlx), mul(best, suml2)));
        if (_mm256_movemask_ps(better) == 0) continue;
        const i8x take = _mm256_castps_si256(better);
        for (int i = 0; i < N; ++i) L[i] = _mm256_blendv_epi8(L[i], _mm256_add_epi32(Lt[i], _mm256_set1_epi32(nmax)), take);
        const f8 s = dvd(sumlx, suml2);
        scale = pick(better, s, scale);
        best = pick(better, mul(s, sumlx), best);
    }
    const i8x emptyInt = _mm256_castps_si256(empty);
    for (int i = 0; i < N; ++i) L[i] = _mm256_andnot_si256(emptyInt, L[i]);
    return pick(empty, zero, scale);
}

AVX2 void wk_quantize_rows_q6_k_lanes(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    const int64_t blocks = row_length / WK_QK_K;
    int8_t L[WK_QK_K];
    float scales[16];
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t b = 0; b < blocks; ++b) {
            const float *xb = x + r * row_length + b * WK_QK_K;
            uint8_t *yb = y + (r * blocks + b) * 210;
            for (int half = 0; half < 2; ++half) {
                f8 xt[16], qwt[16];
                i8x Lv[16];
                transpose(xb + 128 * half, 16, xt);
                if (importance) transpose(importance + b * WK_QK_K + 128 * half, 16, qwt);
                const f8 s = qx_lanes(xt, importance ? qwt : NULL, 32, Lv);
                _mm256_storeu_ps(scales + 8 * half, s);
                for (int i = 0; i < 16; ++i) {
                    int32_t lanes[8];
                    _mm256_storeu_si256((__m256i *)lanes, Lv[i]);
                    for (int k = 0; k < 8; ++k) L[128 * half + 16 * k + i] = (int8_t)lanes[k];
                }
            }
            float max_scale = 0, max_abs_scale = 0;
            for (int ib = 0; ib < 16; ++ib) {
                const float abs_scale = fabsf(scales[ib]);
                if (abs_scale > max_abs_scale) { max_abs_scale = abs_scale; max_scale = scales[ib]; }
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

// MARK: IQ4_NL / IQ4_XS: the per-sub-block scale search over 8 sub-blocks

static const float iq4_levels_f[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

/// wk_best_index_int8 over the IQ4 levels per lane: 0 at or below the first level, 15 at or
/// above the last, else the lower neighbour ml (the count of levels 1..14 at or below x) unless
/// the upper one is strictly nearer by the same rounded differences. Returns the level values.
AVX2 static inline f8 iq4_nearest(f8 x, i8x *index) {
    const __m256 low = _mm256_loadu_ps(iq4_levels_f), high = _mm256_loadu_ps(iq4_levels_f + 8);
    __m256i count = _mm256_setzero_si256();
    for (int k = 1; k < 15; ++k) {
        const f8 at_or_below = _mm256_cmp_ps(set1(iq4_levels_f[k]), x, _CMP_LE_OQ);
        count = _mm256_sub_epi32(count, _mm256_castps_si256(at_or_below));
    }
    const __m256i ml = count, mu = _mm256_add_epi32(count, _mm256_set1_epi32(1));
    // Levels by index: permute within each 8-level half, then pick the half.
    const __m256i seven = _mm256_set1_epi32(7);
    const f8 vml = _mm256_blendv_ps(_mm256_permutevar8x32_ps(low, ml), _mm256_permutevar8x32_ps(high, ml),
                                    _mm256_castsi256_ps(_mm256_cmpgt_epi32(ml, seven)));
    const f8 vmu = _mm256_blendv_ps(_mm256_permutevar8x32_ps(low, mu), _mm256_permutevar8x32_ps(high, mu),
                                    _mm256_castsi256_ps(_mm256_cmpgt_epi32(mu, seven)));
    const f8 lower = lt(sub(x, vml), sub(vmu, x));
    __m256i result = _mm256_blendv_epi8(mu, ml, _mm256_castps_si256(lower));
    f8 value = pick(lower, vml, vmu);
    const f8 bottom = _mm256_cmp_ps(x, set1(iq4_levels_f[0]), _CMP_LE_OQ);
    const f8 top = _mm256_cmp_ps(x, set1(iq4_levels_f[15]), _CMP_GE_OQ);
    result = _mm256_blendv_epi8(result, _mm256_setzero_si256(), _mm256_castps_si256(bottom));
    value = pick(bottom, set1(iq4_levels_f[0]), value);
    result = _mm256_blendv_epi8(result, _mm256_set1_epi32(15), _mm256_castps_si256(top));
    value = pick(top, set1(iq4_levels_f[15]), value);
    if (index) *index = result;
    return value;
}

/// The scale of each of 8 sub-blocks of 32 (ggml's quantize_row_iq4_nl_impl with ntry 7, up
/// to `scales[ib] = d`): x, w transposed.
AVX2 static f8 iq4_scales(const f8 *x, const f8 *w) {
    enum { N = 32 };
    const int ntry = 7;
    const f8 zero = _mm256_setzero_ps();
    f8 amax = zero, max = zero;
    for (int j = 0; j < N; ++j) {
        const f8 ax = absolute(x[j]);
        const f8 above = gt(ax, amax);
        amax = pick(above, ax, amax);
        max = pick(above, x[j], max);
    }
    const f8 empty = lt(amax, set1(WK_GROUP_MAX_EPS));
    f8 d = dvd(negate(max), set1(iq4_levels_f[0]));
    f8 id = dvd(set1(1.0f), d);
    f8 sumqx = zero, sumq2 = zero;
    for (int j = 0; j < N; ++j) {
        const f8 q = iq4_nearest(mul(id, x[j]), NULL);
        sumqx = add(sumqx, mul(mul(w[j], q), x[j]));
        sumq2 = add(sumq2, mul(mul(w[j], q), q));
    }
    d = pick(gt(sumq2, zero), dvd(sumqx, sumq2), zero);
    f8 best = mul(d, sumqx);
    for (int itry = -ntry; itry <= ntry; ++itry) {
        id = dvd(set1((float)(itry + -127)), max);
        sumqx = sumq2 = zero;
        for (int j = 0; j < N; ++j) {
            const f8 q = iq4_nearest(mul(id, x[j]), NULL);
            sumqx = add(sumqx, mul(mul(w[j], q), x[j]));
            sumq2 = add(sumq2, mul(mul(w[j], q), q));
        }
        const f8 better = _mm256_and_ps(gt(sumq2, zero), gt(mul(sumqx, sumqx), mul(best, sumq2)));
        const f8 dd = dvd(sumqx, sumq2);
        d = pick(better, dd, d);
        best = pick(better, mul(dd, sumqx), best);
    }
    return pick(empty, zero, d);
}

/// Finishes one super-block from its sub-block scales (the scalar tail of quantize_row_iq4_nl_impl).
AVX2 static void iq4_finish(int super_size, const float *x, const float *scales, uint8_t *dh, uint8_t *q4, uint8_t *scales_h,
                            uint8_t *scales_l) {
    uint8_t L[WK_QK_K];
    float max_scale = 0, amax_scale = 0;
    for (int ib = 0; ib < super_size / 32; ++ib) {
        const float abs_d = fabsf(scales[ib]);
        if (abs_d > amax_scale) { amax_scale = abs_d; max_scale = scales[ib]; }
    }
    memset(q4, 0, (size_t)super_size / 2);
    if (super_size > 32) {
        uint16_t high = 0;
        const float d = -max_scale / 32;
        wk_store_half(dh, d);
        const float id = d ? 1 / d : 0.f;
        for (int ib = 0; ib < super_size / 32; ++ib) {
            int l = wk_nearest_int(id * scales[ib]);
            l = WK_MAX(-32, WK_MIN(31, l));
            const float dl = d * l;
            const float idl = dl ? 1 / dl : 0.f;
            const f8 vidl = set1(idl);
            for (int j = 0; j < 32; j += 8) {
                i8x index;
                iq4_nearest(mul(vidl, _mm256_loadu_ps(x + ib * 32 + j)), &index);
                int32_t lanes[8];
                _mm256_storeu_si256((__m256i *)lanes, index);
                for (int k = 0; k < 8; ++k) L[ib * 32 + j + k] = (uint8_t)lanes[k];
            }
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
        const f8 vid = set1(id);
        for (int j = 0; j < 32; j += 8) {
            i8x index;
            iq4_nearest(mul(vid, _mm256_loadu_ps(x + j)), &index);
            int32_t lanes[8];
            _mm256_storeu_si256((__m256i *)lanes, index);
            for (int k = 0; k < 8; ++k) L[j + k] = (uint8_t)lanes[k];
        }
    }
    for (int i = 0; i < super_size / 32; ++i) {
        for (int j = 0; j < 16; ++j) q4[16 * i + j] = (uint8_t)(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
    }
}

AVX2 void wk_quantize_rows_iq4_xs_lanes(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    const int64_t blocks = row_length / WK_QK_K;
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t b = 0; b < blocks; ++b) {
            const float *xb = x + r * row_length + b * WK_QK_K;
            uint8_t *yb = y + (r * blocks + b) * 136;
            float sigma2 = 0;
            for (int j = 0; j < WK_QK_K; ++j) sigma2 += xb[j] * xb[j];
            sigma2 *= 2.f / WK_QK_K;
            f8 xt[32], wt[32];
            transpose(xb, 32, xt);
            if (importance) {
                f8 qwt[32];
                transpose(importance + b * WK_QK_K, 32, qwt);
                for (int j = 0; j < 32; ++j) wt[j] = mul(qwt[j], _mm256_sqrt_ps(add(set1(sigma2), mul(xt[j], xt[j]))));
            } else {
                for (int j = 0; j < 32; ++j) wt[j] = mul(xt[j], xt[j]);
            }
            float scales[8];
            _mm256_storeu_ps(scales, iq4_scales(xt, wt));
            iq4_finish(WK_QK_K, xb, scales, yb, yb + 8, yb + 2, yb + 4);
        }
    }
}

AVX2 void wk_quantize_rows_iq4_nl_lanes(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    // Eight consecutive 32-value blocks of the whole tensor (rows are contiguous) side by side.
    const int64_t blocks_per_row = row_length / 32, total = rows * blocks_per_row;
    int64_t b = 0;
    for (; b + 8 <= total; b += 8) {
        const float *xb = x + b * 32;
        f8 xt[32], wt[32];
        transpose(xb, 32, xt);
        f8 sigma2 = _mm256_setzero_ps();
        for (int j = 0; j < 32; ++j) sigma2 = add(sigma2, mul(xt[j], xt[j]));
        sigma2 = mul(sigma2, set1(2.f / 32));
        if (importance) {
            float column[8];
            for (int j = 0; j < 32; ++j) {
                for (int k = 0; k < 8; ++k) column[k] = importance[((b + k) % blocks_per_row) * 32 + j];
                wt[j] = mul(_mm256_loadu_ps(column), _mm256_sqrt_ps(add(sigma2, mul(xt[j], xt[j]))));
            }
        } else {
            for (int j = 0; j < 32; ++j) wt[j] = mul(xt[j], xt[j]);
        }
        float scales[8];
        _mm256_storeu_ps(scales, iq4_scales(xt, wt));
        for (int k = 0; k < 8; ++k) {
            uint8_t *yb = y + (b + k) * 18;
            iq4_finish(32, xb + 32 * k, scales + k, yb, yb + 2, NULL, NULL);
        }
    }
    // The last few blocks: the scalar path.
    for (; b < total; ++b) {
        const int64_t column = b % blocks_per_row;
        wk_quantize_rows_iq4_nl(x + b * 32, y + b * 18, 1, 32, importance ? importance + column * 32 : NULL);
    }
}

int wk_quantize_lanes_available(void) { return __builtin_cpu_supports("avx2") ? 1 : 0; }
#else
int wk_quantize_lanes_available(void) { return 0; }
void wk_quantize_rows_q2_k_lanes(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    (void)x; (void)y; (void)rows; (void)row_length; (void)importance;
}
void wk_quantize_rows_q4_k_lanes(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    (void)x; (void)y; (void)rows; (void)row_length; (void)importance;
}
void wk_quantize_rows_q5_k_lanes(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    (void)x; (void)y; (void)rows; (void)row_length; (void)importance;
}
void wk_quantize_rows_q6_k_lanes(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    (void)x; (void)y; (void)rows; (void)row_length; (void)importance;
}
void wk_quantize_rows_iq4_xs_lanes(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    (void)x; (void)y; (void)rows; (void)row_length; (void)importance;
}
void wk_quantize_rows_iq4_nl_lanes(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    (void)x; (void)y; (void)rows; (void)row_length; (void)importance;
}
#endif
