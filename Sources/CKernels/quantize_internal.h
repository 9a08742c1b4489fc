// Helpers shared by the quantisers of quantize_k.c, quantize_small.c and quantize_iq.c: the
// scale searches of llama.cpp's ggml-quants.c, restated here.
//
// Bit-exactness: ggml's reference output is what ggml-base computes when built for baseline
// x86-64 (no FMA, so no contraction), every float operation rounded on its own, left to right
// as written. Every expression below keeps that order: `w*x*l` is `(w*x)*(float)l`, sums are
// accumulated in index order, and no multiply-add may be fused, whatever the compiler flags:
// each file that includes this header turns contraction off for itself (the pragmas below are
// repeated at the top of each .c file, before any code).
#pragma once
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "scalar_float.h"

#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

#define WK_QK_K 256
#define WK_GROUP_MAX_EPS 1e-15f

#define WK_MAX(a, b) ((a) > (b) ? (a) : (b))
#define WK_MIN(a, b) ((a) < (b) ? (a) : (b))

/// Round to nearest (ties to even) for |value| < 2^22, by the float trick ggml uses: adding
/// 1.5 * 2^23 leaves the rounded integer in the low mantissa bits.
static inline int wk_nearest_int(float value) {
    float shifted = value + 12582912.f;
    int bits;
    memcpy(&bits, &shifted, sizeof bits);
    return (bits & 0x007fffff) - 0x00400000;
}

/// float32 -> IEEE half bits, round to nearest even (ggml's GGML_FP32_TO_FP16).
static inline uint16_t wk_half_from_float(float value) {
    _Float16 h = (_Float16)value;
    uint16_t bits;
    memcpy(&bits, &h, sizeof bits);
    return bits;
}

static inline void wk_store_half(uint8_t *destination, float value) {
    const uint16_t bits = wk_half_from_float(value);
    destination[0] = (uint8_t)bits;
    destination[1] = (uint8_t)(bits >> 8);
}

static inline float wk_load_half(const uint8_t *source) {
    return wk_half_to_float((uint16_t)(source[0] | (source[1] << 8)));
}

/// The value rounded through half precision, as ggml reads back a scale it has just stored.
static inline float wk_round_half(float value) { return wk_half_to_float(wk_half_from_float(value)); }

/// Index of the nearest of `n` sorted levels; on a tie between two neighbours the lower one
/// (ggml's best_index_int8).
static inline int wk_best_index_int8(int n, const int8_t *levels, float x) {
    if (x <= levels[0]) return 0;
    if (x >= levels[n - 1]) return n - 1;
    int low = 0, high = n - 1;
    while (high - low > 1) {
        const int middle = (low + high) / 2;
        if (x < levels[middle]) high = middle; else low = middle;
    }
    return x - levels[high - 1] < levels[high] - x ? high - 1 : high;
}

/// Symmetric levels -nmax...nmax-1 for `n` values, stored as L = l + nmax; returns the scale.
/// `weights` (may be NULL) replaces the weighting chosen by `rmse_type` (1: x^2, 2: 1,
/// 3: |x|, other: sqrt|x|); a negative rmse_type returns after the first fit. rmse_type 0
/// takes the plain rounding. (ggml's make_qx_quants.)
static inline float wk_make_qx_quants(int n, int nmax, const float *x, int8_t *L, int rmse_type, const float *weights) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; ++i) {
        const float ax = fabsf(x[i]);
        if (ax > amax) { amax = ax; max = x[i]; }
    }
    if (amax < WK_GROUP_MAX_EPS) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.f;
    }
    float iscale = -nmax / max;
    if (rmse_type == 0) {
        for (int i = 0; i < n; ++i) {
            const int l = wk_nearest_int(iscale * x[i]);
            L[i] = (int8_t)(nmax + WK_MAX(-nmax, WK_MIN(nmax - 1, l)));
        }
        return 1 / iscale;
    }
    bool return_early = false;
    if (rmse_type < 0) {
        rmse_type = -rmse_type;
        return_early = true;
    }
#define WK_QX_WEIGHT(i) (weights ? weights[i] : rmse_type == 1 ? x[i] * x[i] : rmse_type == 2 ? 1 : rmse_type == 3 ? fabsf(x[i]) : sqrtf(fabsf(x[i])))
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = wk_nearest_int(iscale * x[i]);
        l = WK_MAX(-nmax, WK_MIN(nmax - 1, l));
        L[i] = (int8_t)(l + nmax);
        const float w = WK_QX_WEIGHT(i);
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    if (return_early) return suml2 > 0 ? 0.5f * (scale + 1 / iscale) : 1 / iscale;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        iscale = -(nmax + 0.1f * is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; ++i) {
            int l = wk_nearest_int(iscale * x[i]);
            l = WK_MAX(-nmax, WK_MIN(nmax - 1, l));
            const float w = WK_QX_WEIGHT(i);
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; ++i) {
                const int l = wk_nearest_int(iscale * x[i]);
                L[i] = (int8_t)(nmax + WK_MAX(-nmax, WK_MIN(nmax - 1, l)));
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
#undef WK_QX_WEIGHT
    return scale;
}

/// Levels -nmax...nmax-1 (stored + nmax) refined one value at a time under x^2 weights when
/// `do_rmse` (ggml's make_q3_quants).
static inline float wk_make_q3_quants(int n, int nmax, const float *x, int8_t *L, bool do_rmse) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; ++i) {
        const float ax = fabsf(x[i]);
        if (ax > amax) { amax = ax; max = x[i]; }
    }
    if (amax < WK_GROUP_MAX_EPS) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.f;
    }
    const float iscale = -nmax / max;
    if (do_rmse) {
        float sumlx = 0, suml2 = 0;
        for (int i = 0; i < n; ++i) {
            int l = wk_nearest_int(iscale * x[i]);
            l = WK_MAX(-nmax, WK_MIN(nmax - 1, l));
            L[i] = (int8_t)l;
            const float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        for (int pass = 0; pass < 5; ++pass) {
            int changed = 0;
            for (int i = 0; i < n; ++i) {
                const float w = x[i] * x[i];
                float slx = sumlx - w * x[i] * L[i];
                if (slx > 0) {
                    float sl2 = suml2 - w * L[i] * L[i];
                    int new_l = wk_nearest_int(x[i] * sl2 / slx);
                    new_l = WK_MAX(-nmax, WK_MIN(nmax - 1, new_l));
                    if (new_l != L[i]) {
                        slx += w * x[i] * new_l;
                        sl2 += w * new_l * new_l;
                        if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                            L[i] = (int8_t)new_l;
                            sumlx = slx;
                            suml2 = sl2;
                            ++changed;
                        }
                    }
                }
            }
            if (!changed) break;
        }
        for (int i = 0; i < n; ++i) L[i] = (int8_t)(L[i] + nmax);
        return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
    }
    for (int i = 0; i < n; ++i) {
        int l = wk_nearest_int(iscale * x[i]);
        l = WK_MAX(-nmax, WK_MIN(nmax - 1, l));
        L[i] = (int8_t)(l + nmax);
    }
    return 1 / iscale;
}

/// Levels 0...nmax with a minimum, searched over `nstep` + 1 scales; squared or absolute
/// (`use_mad`) weighted error. `weights` NULL means x^2 when `weights_default_square`, which is
/// how ggml's make_qkx3_quants differs from make_qkx2_quants (that one always has weights, and
/// tests max == min where qkx3 tests max <= min). Returns the scale; *the_min gets -min.
static inline float wk_make_qkx_quants(int n, int nmax, const float *x, const float *weights, uint8_t *L, float *the_min,
                                       uint8_t *Laux, float rmin, float rdelta, int nstep, bool use_mad, bool qkx3) {
#define WK_QKX_WEIGHT(i) (weights ? weights[i] : x[i] * x[i])
    float min = x[0], max = x[0];
    float sum_w = WK_QKX_WEIGHT(0);
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        const float w = WK_QKX_WEIGHT(i);
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0) min = 0;
    if (qkx3 ? max <= min : max == min) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        *the_min = -min;
        return 0.f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; ++i) {
        const int l = wk_nearest_int(iscale * (x[i] - min));
        L[i] = (uint8_t)WK_MAX(0, WK_MIN(nmax, l));
        float diff = scale * L[i] + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        const float w = WK_QKX_WEIGHT(i);
        best_error += w * diff;
    }
    if (nstep < 1) {
        *the_min = -min;
        return scale;
    }
    for (int is = 0; is <= nstep; ++is) {
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; ++i) {
            int l = wk_nearest_int(iscale * (x[i] - min));
            l = WK_MAX(0, WK_MIN(nmax, l));
            Laux[i] = (uint8_t)l;
            const float w = WK_QKX_WEIGHT(i);
            sum_l += w * l;
            sum_l2 += w * l * l;
            sum_xl += w * l * x[i];
        }
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float error = 0;
            for (int i = 0; i < n; ++i) {
                float diff = this_scale * Laux[i] + this_min - x[i];
                diff = use_mad ? fabsf(diff) : diff * diff;
                const float w = WK_QKX_WEIGHT(i);
                error += w * diff;
            }
            if (error < best_error) {
                for (int i = 0; i < n; ++i) L[i] = Laux[i];
                best_error = error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
#undef WK_QKX_WEIGHT
    *the_min = -min;
    return scale;
}

/// Non-negative levels 0...nmax for non-negative `x` (scales, mins) under weights, refined one
/// value at a time (ggml's make_qp_quants).
static inline float wk_make_qp_quants(int n, int nmax, const float *x, uint8_t *L, const float *weights) {
    float max = 0;
    for (int i = 0; i < n; ++i) max = WK_MAX(max, x[i]);
    if (max < WK_GROUP_MAX_EPS) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.f;
    }
    float iscale = nmax / max;
    for (int i = 0; i < n; ++i) L[i] = (uint8_t)wk_nearest_int(iscale * x[i]);
    const float scale = 1 / iscale;
    float best_mse = 0;
    for (int i = 0; i < n; ++i) {
        const float diff = x[i] - scale * L[i];
        const float w = weights[i];
        best_mse += w * diff * diff;
    }
    for (int is = -4; is <= 4; ++is) {
        if (is == 0) continue;
        const float iscale_is = (0.1f * is + nmax) / max;
        const float scale_is = 1 / iscale_is;
        float mse = 0;
        for (int i = 0; i < n; ++i) {
            int l = wk_nearest_int(iscale_is * x[i]);
            l = WK_MIN(nmax, l);
            const float diff = x[i] - scale_is * l;
            const float w = weights[i];
            mse += w * diff * diff;
        }
        if (mse < best_mse) {
            best_mse = mse;
            iscale = iscale_is;
        }
    }
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = wk_nearest_int(iscale * x[i]);
        l = WK_MIN(nmax, l);
        L[i] = (uint8_t)l;
        const float w = weights[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    for (int pass = 0; pass < 5; ++pass) {
        int changed = 0;
        for (int i = 0; i < n; ++i) {
            const float w = weights[i];
            float slx = sumlx - w * x[i] * L[i];
            float sl2 = suml2 - w * L[i] * L[i];
            if (slx > 0 && sl2 > 0) {
                int new_l = wk_nearest_int(x[i] * sl2 / slx);
                new_l = WK_MIN(nmax, new_l);
                if (new_l != L[i]) {
                    slx += w * x[i] * new_l;
                    sl2 += w * new_l * new_l;
                    if (slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = (uint8_t)new_l;
                        sumlx = slx;
                        suml2 = sl2;
                        ++changed;
                    }
                }
            }
        }
        if (!changed) break;
    }
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/// Sum of x^2 over `n` values, in index order.
static inline float wk_sum_squares(const float *x, int64_t n) {
    float sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += x[i] * x[i];
    return sum;
}

// Row quantisers (`rows` rows of `row_length` values; `importance` is NULL or one weight per
// column, shared by every row). Defined in quantize_k.c, quantize_small.c, quantize_iq.c.
void wk_quantize_rows_q2_k(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance);
void wk_quantize_rows_q3_k(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance);
void wk_quantize_rows_q4_k_weighted(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance);
void wk_quantize_rows_q5_k_weighted(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance);
void wk_quantize_rows_q6_k_weighted(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance);
void wk_quantize_rows_q4_0_weighted(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance);
void wk_quantize_rows_q4_1_weighted(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance);
void wk_quantize_rows_q5_0_weighted(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance);
void wk_quantize_rows_q5_1_weighted(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance);
void wk_quantize_blocks_q1_0(const float *x, uint8_t *y, int64_t count);
void wk_quantize_blocks_q2_0(const float *x, uint8_t *y, int64_t count);
void wk_quantize_blocks_mxfp4(const float *x, uint8_t *y, int64_t count);
void wk_quantize_blocks_tq1_0(const float *x, uint8_t *y, int64_t count);
void wk_quantize_blocks_tq2_0(const float *x, uint8_t *y, int64_t count);
void wk_quantize_rows_iq4_nl(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance);
void wk_quantize_rows_iq4_xs(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance);
int wk_quantize_rows_iq2_xxs(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance);
int wk_quantize_rows_iq2_xs(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance);
int wk_quantize_rows_iq2_s(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance);
int wk_quantize_rows_iq3_xxs(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance);
int wk_quantize_rows_iq3_s(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance);
int wk_quantize_rows_iq1_s(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance);
int wk_quantize_rows_iq1_m(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance);
// The same searches with eight sub-blocks in the lanes of AVX2 registers (quantize_lanes.c);
// usable when wk_quantize_lanes_available() is 1.
int wk_quantize_lanes_available(void);
void wk_quantize_rows_q2_k_lanes(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance);
void wk_quantize_rows_q4_k_lanes(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance);
void wk_quantize_rows_q5_k_lanes(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance);
void wk_quantize_rows_q6_k_lanes(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance);
void wk_quantize_rows_iq4_xs_lanes(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance);
void wk_quantize_rows_iq4_nl_lanes(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance);
