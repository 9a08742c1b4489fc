// The lattice i-quants IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S and IQ1_M, as llama.cpp's
// ggml-quants.c computes them (`quantize_iq2_xxs` ... `quantize_iq1_m`). Layouts follow
// ggml-common.h; see quantize_internal.h for the evaluation-order rules.
//
// Each type searches a lattice: a grid of allowed groups of 8 (or 4) levels. A group that
// rounds to a point off the grid is replaced by the best of that point's nearest grid points.
// The grids come from iq_grid_levels.h; the maps from a packed group to its grid index and the
// neighbour lists are derived once per lattice on first use (pthread_once) into storage that
// nothing writes again. The neighbour lists hold, for every point off the grid, the grid points
// at the `wanted` smallest distinct squared distances, ordered by distance then grid index (the
// order ggml's qsort with its total comparator produces, which decides ties later).
#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)
#include "quantize_internal.h"
#include "iq_grid_levels.h"

#include <pthread.h>
#include <stdlib.h>

#define GROUP_MAX_EPS_IQ3_XXS 1e-8f
#define GROUP_MAX_EPS_IQ2_S 1e-8f
#define GROUP_MAX_EPS_IQ1_M 1e-7f
#define GROUP_MAX_EPS_IQ1_S 1e-12f
#define IQ1_DELTA 0.125f

/// One lattice: `size` grid points of `width` (8 or 4) values 2l + 1, l < 2^bits.
typedef struct {
    const uint16_t *levels;
    int size, width, bits, wanted;
    int8_t *points;        // size * width
    int32_t *map;          // 2^(bits*width) packed groups: grid index, or -(offset + 1) into neighbours
    uint16_t *neighbours;  // at an offset: count, then that many grid indices
    bool ready;
} lattice;

static lattice lattice_iq2xxs = {wk_iq2xxs_levels, 256, 8, 2, 2, NULL, NULL, NULL, false};
static lattice lattice_iq2xs = {wk_iq2xs_levels, 512, 8, 2, 2, NULL, NULL, NULL, false};
static lattice lattice_iq2s = {wk_iq2s_levels, 1024, 8, 2, 1, NULL, NULL, NULL, false};
static lattice lattice_iq1s = {wk_iq1s_levels, 2048, 8, 2, 3, NULL, NULL, NULL, false};
static lattice lattice_iq3xxs = {wk_iq3xxs_levels, 256, 4, 3, 2, NULL, NULL, NULL, false};
static lattice lattice_iq3s = {wk_iq3s_levels, 512, 4, 3, 3, NULL, NULL, NULL, false};

/// The packed groups a map covers: ggml sizes its 8-wide maps 43692 (every group of levels
/// 0...2, which is all a quantiser can produce) and its 4-wide maps 4096.
static int map_size(const lattice *g) { return g->width == 8 ? 43692 : 4096; }

static void build_lattice(lattice *g) {
    const int mask = (1 << g->bits) - 1, entries = map_size(g);
    g->points = malloc((size_t)g->size * (size_t)g->width);
    g->map = malloc((size_t)entries * sizeof(int32_t));
    int *distance = malloc((size_t)g->size * sizeof(int));
    size_t capacity = (size_t)entries * 8, used = 0;
    uint16_t *lists = malloc(capacity * sizeof(uint16_t));
    if (!g->points || !g->map || !distance || !lists) goto fail;
    for (int k = 0; k < g->size; ++k) {
        for (int i = 0; i < g->width; ++i) g->points[k * g->width + i] = (int8_t)(2 * ((g->levels[k] >> (g->bits * i)) & mask) + 1);
    }
    for (int i = 0; i < entries; ++i) g->map[i] = -1;
    for (int k = 0; k < g->size; ++k) {
        int index = 0;
        for (int i = 0; i < g->width; ++i) index |= ((g->points[k * g->width + i] - 1) / 2) << (g->bits * i);
        g->map[index] = k;
    }
    // Squared distances are at most width * (2^(bits+1) - 2)^2 (288 for 8-wide, 784 for 4-wide).
    enum { MAX_DISTANCE = 1024 };
    int present[MAX_DISTANCE];
    for (int i = 0; i < entries; ++i) {
        if (g->map[i] >= 0) continue;
        int8_t position[8];
        for (int k = 0; k < g->width; ++k) position[k] = (int8_t)(2 * ((i >> (g->bits * k)) & mask) + 1);
        memset(present, 0, sizeof present);
        for (int j = 0; j < g->size; ++j) {
            const int8_t *p = g->points + j * g->width;
            int d2 = 0;
            for (int k = 0; k < g->width; ++k) d2 += (p[k] - position[k]) * (p[k] - position[k]);
            distance[j] = d2;
            present[d2] = 1;
        }
        // The largest of the `wanted` smallest distinct distances.
        int limit = 0, seen = 0;
        for (int d = 0; d < MAX_DISTANCE && seen < g->wanted; ++d) {
            if (present[d]) { limit = d; ++seen; }
        }
        if (used + 1 + (size_t)g->size > capacity) {
            capacity = capacity * 2 + (size_t)g->size + 1;
            uint16_t *grown = realloc(lists, capacity * sizeof(uint16_t));
            if (!grown) goto fail;
            lists = grown;
        }
        const size_t start = used++;
        for (int d = 0; d <= limit; ++d) {
            if (!present[d]) continue;
            for (int j = 0; j < g->size; ++j) {
                if (distance[j] == d) lists[used++] = (uint16_t)j;
            }
        }
        lists[start] = (uint16_t)(used - start - 1);
        g->map[i] = -(int32_t)(start + 1);
    }
    free(distance);
    g->neighbours = lists;
    g->ready = true;
    return;
fail:
    free(g->points);
    free(g->map);
    free(distance);
    free(lists);
    g->points = NULL;
    g->map = NULL;
}

static pthread_once_t once_iq2xxs = PTHREAD_ONCE_INIT, once_iq2xs = PTHREAD_ONCE_INIT, once_iq2s = PTHREAD_ONCE_INIT;
static pthread_once_t once_iq1s = PTHREAD_ONCE_INIT, once_iq3xxs = PTHREAD_ONCE_INIT, once_iq3s = PTHREAD_ONCE_INIT;
static void build_iq2xxs(void) { build_lattice(&lattice_iq2xxs); }
static void build_iq2xs(void) { build_lattice(&lattice_iq2xs); }
static void build_iq2s(void) { build_lattice(&lattice_iq2s); }
static void build_iq1s(void) { build_lattice(&lattice_iq1s); }
static void build_iq3xxs(void) { build_lattice(&lattice_iq3xxs); }
static void build_iq3s(void) { build_lattice(&lattice_iq3s); }

/// The lattice, built on first use; NULL if memory ran out.
static const lattice *ready_lattice(lattice *g, pthread_once_t *once, void (*build)(void)) {
    pthread_once(once, build);
    return g->ready ? g : NULL;
}

static inline const uint16_t *neighbours_of(const lattice *g, int u) { return g->neighbours + (-g->map[u] - 1); }

/// Of the neighbours of an off-grid group, the one nearest `x` at `scale` under `weight`;
/// writes its levels (0...) to L. (ggml's iq2_find_best_neighbour / iq3_find_best_neighbour.)
static int best_neighbour(const lattice *g, const uint16_t *neighbours, const float *x, const float *weight, float scale, int8_t *L) {
    const int count = neighbours[0];
    float best_d2 = FLT_MAX;
    int best = -1;
    for (int j = 1; j <= count; ++j) {
        const int8_t *p = g->points + neighbours[j] * g->width;
        float d2 = 0;
        for (int i = 0; i < g->width; ++i) {
            const float q = p[i];
            const float diff = scale * q - x[i];
            d2 += weight[i] * diff * diff;
        }
        if (d2 < best_d2) { best_d2 = d2; best = neighbours[j]; }
    }
    if (best < 0) return -1;
    const int8_t *p = g->points + best * g->width;
    for (int i = 0; i < g->width; ++i) L[i] = (int8_t)((p[i] - 1) / 2);
    return best;
}

/// Absolute values of a group of 8 and their sign bits. With `even_parity`, the number of
/// negated values is made even by flipping the sign of the one with the least weight * x^2
/// (the IQ2_XXS, IQ2_XS, IQ3_XXS sign codes hold 7 bits); the 8-bit sign mask is returned.
static uint8_t group_signs(const float *xb, const float *weight, float *xval, bool even_parity) {
    int flips = 0;
    uint8_t s = 0;
    for (int i = 0; i < 8; ++i) {
        if (xb[i] >= 0) xval[i] = xb[i];
        else { xval[i] = -xb[i]; ++flips; s |= (uint8_t)(1 << i); }
    }
    if (even_parity && flips % 2) {
        int imin = 0;
        float min = weight[imin] * xb[imin] * xb[imin];
        for (int i = 1; i < 8; ++i) {
            const float ax = weight[i] * xb[i] * xb[i];
            if (ax < min) { min = ax; imin = i; }
        }
        xval[imin] = -xval[imin];
        s ^= (uint8_t)(1 << imin);
    }
    return s;
}

static inline int pack_group(const int8_t *L, int width, int bits) {
    int u = 0;
    for (int i = 0; i < width; ++i) u |= L[i] << (bits * i);
    return u;
}

/// Rounds a group to levels 0...kmax-1 at inverse scale `id` (l = round((id * x - 1) / 2)).
static inline int round_group(const float *xval, float id, int width, int bits, int kmax, int8_t *L) {
    for (int i = 0; i < width; ++i) {
        const int l = wk_nearest_int(0.5f * (id * xval[i] - 1));
        L[i] = (int8_t)WK_MAX(0, WK_MIN(kmax - 1, l));
    }
    return pack_group(L, width, bits);
}

/// Weighted fit of the levels 2L + 1 to xval: sum w x q and sum w q^2.
static inline void fit_levels(const float *weight, const float *xval, const int8_t *L, int n, float *sumqx, float *sumq2) {
    float qx = 0, q2 = 0;
    for (int i = 0; i < n; ++i) {
        const float w = weight[i];
        const float q = 2 * L[i] + 1;
        qx += w * xval[i] * q;
        q2 += w * q * q;
    }
    *sumqx = qx;
    *sumq2 = q2;
}

// MARK: IQ2_XXS — block: f16 d, qs[32] u16 (per 32 values: four grid bytes, then 4x7 sign bits + 4-bit scale)

static int iq2_xxs_row(const lattice *g, const float *x, uint8_t *y, int64_t n, const float *qw_row) {
    const int kMaxQ = 3;
    float scales[8], weight[32], xval[32], waux[32];
    int8_t L[32], Laux[32];
    uint8_t block_signs[4];
    uint32_t q2[16];
    for (int64_t ibl = 0; ibl < n / WK_QK_K; ++ibl) {
        uint8_t *yb = y + ibl * 66;
        wk_store_half(yb, 0.f);
        memset(q2, 0, sizeof q2);
        float max_scale = 0;
        const float *xbl = x + WK_QK_K * ibl;
        const float sigma2 = wk_sum_squares(xbl, WK_QK_K) / WK_QK_K;
        for (int ib = 0; ib < 8; ++ib) {
            const float *xb = xbl + 32 * ib;
            const float *qw = qw_row + WK_QK_K * ibl + 32 * ib;
            for (int i = 0; i < 32; ++i) weight[i] = qw[i] * sqrtf(sigma2 + xb[i] * xb[i]);
            for (int i = 0; i < 32; ++i) waux[i] = sqrtf(weight[i]);
            for (int k = 0; k < 4; ++k) block_signs[k] = group_signs(xb + 8 * k, weight + 8 * k, xval + 8 * k, true) & 127;
            float max = xval[0];
            for (int i = 1; i < 32; ++i) max = WK_MAX(max, xval[i]);
            if (max < WK_GROUP_MAX_EPS) {
                scales[ib] = 0;
                memset(L, 0, 32);
                continue;
            }
            float scale = wk_make_qp_quants(32, kMaxQ + 1, xval, (uint8_t *)L, weight);
            const float eff_max = scale * kMaxQ;
            if (eff_max <= 0) {
                scales[ib] = 0;
                memset(L, 0, 32);
                continue;
            }
            float best = 0;
            for (int is = -6; is <= 6; ++is) {
                const float id = (2 * kMaxQ - 1 + is * 0.1f) / eff_max;
                const float this_scale = 1 / id;
                for (int k = 0; k < 4; ++k) {
                    const int u = round_group(xval + 8 * k, id, 8, 2, kMaxQ, Laux + 8 * k);
                    if (g->map[u] < 0 && best_neighbour(g, neighbours_of(g, u), xval + 8 * k, waux + 8 * k, this_scale, Laux + 8 * k) < 0) return -1;
                }
                float sumqx, sumq2;
                fit_levels(weight, xval, Laux, 32, &sumqx, &sumq2);
                if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
                    scale = sumqx / sumq2;
                    best = scale * sumqx;
                    memcpy(L, Laux, 32);
                }
            }
            if (scale > 0) {
                const float id = 1 / scale;
                for (int k = 0; k < 4; ++k) {
                    int8_t levels[8];
                    const int u = round_group(xval + 8 * k, id, 8, 2, kMaxQ, levels);
                    int index = g->map[u];
                    if (index < 0) index = best_neighbour(g, neighbours_of(g, u), xval + 8 * k, waux + 8 * k, scale, L + 8 * k);
                    if (index < 0) return -1;
                    const int8_t *p = g->points + index * 8;
                    for (int i = 0; i < 8; ++i) L[8 * k + i] = (int8_t)((p[i] - 1) / 2);
                }
                float sumqx, sumq2;
                fit_levels(weight, xval, L, 32, &sumqx, &sumq2);
                if (sumq2 > 0) scale = sumqx / sumq2;
            }
            if (scale < 0) {
                scale = -scale;
                for (int k = 0; k < 4; ++k) block_signs[k] = (uint8_t)((~block_signs[k]) & 127);
            }
            for (int k = 0; k < 4; ++k) {
                const int index = g->map[pack_group(L + 8 * k, 8, 2)];
                if (index < 0) return -1;
                q2[2 * ib + 0] |= (uint32_t)index << (8 * k);
                q2[2 * ib + 1] |= (uint32_t)block_signs[k] << (7 * k);
            }
            scales[ib] = scale;
            max_scale = WK_MAX(max_scale, scale);
        }
        if (!max_scale) {
            memset(yb + 2, 0, 64);
            continue;
        }
        const float d = max_scale / 31;
        wk_store_half(yb, d);
        const float id = 1 / d;
        for (int ib = 0; ib < 8; ++ib) {
            int l = wk_nearest_int(0.5f * (id * scales[ib] - 1));
            l = WK_MAX(0, WK_MIN(15, l));
            q2[2 * ib + 1] |= (uint32_t)l << 28;
        }
        for (int i = 0; i < 16; ++i) {
            for (int b = 0; b < 4; ++b) yb[2 + 4 * i + b] = (uint8_t)(q2[i] >> (8 * b));
        }
    }
    return 0;
}

// MARK: IQ2_XS and IQ2_S — 16-value sub-blocks of two groups

/// The scale search of one 16-value sub-block shared by IQ2_XS and IQ2_S: levels L (on the
/// grid), the sign masks and the scale, or -1 if a group found no grid point.
static int iq2_sub_block_16(const lattice *g, const float *xval, const float *weight, const float *waux, float max, int8_t *L,
                            float *scale_out) {
    const int kMaxQ = 3;
    int8_t Laux[16];
    bool on_grid[2] = {true, true}, on_grid_aux[2];
    float best = 0;
    float scale = max / (2 * kMaxQ - 1);
    for (int is = -9; is <= 9; ++is) {
        const float id = (2 * kMaxQ - 1 + is * 0.1f) / max;
        const float this_scale = 1 / id;
        for (int k = 0; k < 2; ++k) {
            const int u = round_group(xval + 8 * k, id, 8, 2, kMaxQ, Laux + 8 * k);
            on_grid_aux[k] = true;
            if (g->map[u] < 0) {
                on_grid_aux[k] = false;
                if (best_neighbour(g, neighbours_of(g, u), xval + 8 * k, waux + 8 * k, this_scale, Laux + 8 * k) < 0) return -1;
            }
        }
        float sumqx, sumq2;
        fit_levels(weight, xval, Laux, 16, &sumqx, &sumq2);
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
            scale = sumqx / sumq2;
            best = scale * sumqx;
            memcpy(L, Laux, 16);
            on_grid[0] = on_grid_aux[0];
            on_grid[1] = on_grid_aux[1];
        }
    }
    if ((!on_grid[0] || !on_grid[1]) && scale > 0) {
        const float id = 1 / scale;
        for (int k = 0; k < 2; ++k) {
            if (on_grid[k]) continue;
            const int u = round_group(xval + 8 * k, id, 8, 2, kMaxQ, L + 8 * k);
            if (g->map[u] < 0 && best_neighbour(g, neighbours_of(g, u), xval + 8 * k, waux + 8 * k, scale, L + 8 * k) < 0) return -1;
        }
        float sumqx, sumq2;
        fit_levels(weight, xval, L, 16, &sumqx, &sumq2);
        if (sumq2 > 0) scale = sumqx / sumq2;
    }
    *scale_out = scale;
    return 0;
}

// block: f16 d, qs[32] u16 (9-bit grid index | 7 sign bits << 9), scales[8] (4-bit pairs)
static int iq2_xs_row(const lattice *g, const float *x, uint8_t *y, int64_t n, const float *qw_row) {
    float scales[16], weight[16], xval[16], waux[16];
    int8_t L[16];
    uint8_t block_signs[2];
    uint16_t q2[32];
    for (int64_t ibl = 0; ibl < n / WK_QK_K; ++ibl) {
        uint8_t *yb = y + ibl * 74;
        wk_store_half(yb, 0.f);
        memset(q2, 0, sizeof q2);
        memset(yb + 66, 0, 8);
        float max_scale = 0;
        const float *xbl = x + WK_QK_K * ibl;
        const float sigma2 = wk_sum_squares(xbl, WK_QK_K) / WK_QK_K;
        for (int ib = 0; ib < 16; ++ib) {
            const float *xb = xbl + 16 * ib;
            const float *qw = qw_row + WK_QK_K * ibl + 16 * ib;
            for (int i = 0; i < 16; ++i) weight[i] = qw[i] * sqrtf(sigma2 + xb[i] * xb[i]);
            for (int i = 0; i < 16; ++i) waux[i] = sqrtf(weight[i]);
            for (int k = 0; k < 2; ++k) block_signs[k] = group_signs(xb + 8 * k, weight + 8 * k, xval + 8 * k, true) & 127;
            float max = xval[0];
            for (int i = 1; i < 16; ++i) max = WK_MAX(max, xval[i]);
            memset(L, 0, 16);
            if (max < WK_GROUP_MAX_EPS) {
                scales[ib] = 0;
                continue;
            }
            float scale;
            if (iq2_sub_block_16(g, xval, weight, waux, max, L, &scale) < 0) return -1;
            if (scale < 0) {
                scale = -scale;
                for (int k = 0; k < 2; ++k) block_signs[k] = (uint8_t)((~block_signs[k]) & 127);
            }
            for (int k = 0; k < 2; ++k) {
                const int index = g->map[pack_group(L + 8 * k, 8, 2)];
                if (index < 0) return -1;
                q2[2 * ib + k] = (uint16_t)(index | (block_signs[k] << 9));
            }
            scales[ib] = scale;
            max_scale = WK_MAX(max_scale, scale);
        }
        if (!max_scale) {
            memset(yb + 2, 0, 64);
            continue;
        }
        const float d = max_scale / 31;
        wk_store_half(yb, d);
        const float id = 1 / d;
        for (int ib = 0; ib < 16; ++ib) {
            int l = wk_nearest_int(0.5f * (id * scales[ib] - 1));
            l = WK_MAX(0, WK_MIN(15, l));
            if (ib % 2 == 0) yb[66 + ib / 2] = (uint8_t)l;
            else yb[66 + ib / 2] |= (uint8_t)(l << 4);
        }
        for (int i = 0; i < 32; ++i) {
            yb[2 + 2 * i] = (uint8_t)q2[i];
            yb[3 + 2 * i] = (uint8_t)(q2[i] >> 8);
        }
    }
    return 0;
}

// block: f16 d, qs[64] (32 grid low bytes, then 32 sign bytes), qh[8] (2 high bits each), scales[8]
static int iq2_s_row(const lattice *g, const float *x, uint8_t *y, int64_t n, const float *qw_row) {
    float scales[16], weight[16], xval[16], waux[16];
    int8_t L[16];
    uint8_t block_signs[2];
    for (int64_t ibl = 0; ibl < n / WK_QK_K; ++ibl) {
        uint8_t *yb = y + ibl * 82;
        uint8_t *qs = yb + 2, *qh = yb + 66, *block_scales = yb + 74;
        memset(yb, 0, 82);
        float max_scale = 0;
        const float *xbl = x + WK_QK_K * ibl;
        const float sigma2 = 2 * wk_sum_squares(xbl, WK_QK_K) / WK_QK_K;
        for (int ib = 0; ib < 16; ++ib) {
            const float *xb = xbl + 16 * ib;
            if (qw_row) {
                const float *qw = qw_row + WK_QK_K * ibl + 16 * ib;
                for (int i = 0; i < 16; ++i) weight[i] = qw[i] * sqrtf(sigma2 + xb[i] * xb[i]);
            } else {
                for (int i = 0; i < 16; ++i) weight[i] = 0.25f * sigma2 + xb[i] * xb[i];
            }
            for (int i = 0; i < 16; ++i) waux[i] = sqrtf(weight[i]);
            for (int k = 0; k < 2; ++k) block_signs[k] = group_signs(xb + 8 * k, weight + 8 * k, xval + 8 * k, false);
            float max = xval[0];
            for (int i = 1; i < 16; ++i) max = WK_MAX(max, xval[i]);
            memset(L, 0, 16);
            if (max < GROUP_MAX_EPS_IQ2_S) {
                scales[ib] = 0;
                continue;
            }
            float scale;
            if (iq2_sub_block_16(g, xval, weight, waux, max, L, &scale) < 0) return -1;
            if (scale < 0) {
                scale = -scale;
                for (int k = 0; k < 2; ++k) block_signs[k] = (uint8_t)~block_signs[k];
            }
            for (int k = 0; k < 2; ++k) {
                const int index = g->map[pack_group(L + 8 * k, 8, 2)];
                if (index < 0) return -1;
                const int i8 = 2 * ib + k;
                qs[i8] = (uint8_t)(index & 255);
                qh[i8 / 4] |= (uint8_t)((index >> 8) << (2 * (i8 % 4)));
                qs[32 + i8] = block_signs[k];
            }
            scales[ib] = scale;
            max_scale = WK_MAX(max_scale, scale);
        }
        if (!max_scale) continue;
        const float d = max_scale / 31;
        wk_store_half(yb, d * 0.9875f);
        const float id = 1 / d;
        for (int ib = 0; ib < 16; ++ib) {
            int l = wk_nearest_int(0.5f * (id * scales[ib] - 1));
            l = WK_MAX(0, WK_MIN(15, l));
            if (ib % 2 == 0) block_scales[ib / 2] = (uint8_t)l;
            else block_scales[ib / 2] |= (uint8_t)(l << 4);
        }
    }
    return 0;
}

// MARK: IQ3_XXS — block: f16 d, qs[64] (grid indices), 8 x u32 (4x7 sign bits, 4-bit scale << 28)

static int iq3_xxs_row(const lattice *g, const float *x, uint8_t *y, int64_t n, const float *qw_row) {
    const int kMaxQ = 8;
    float scales[8], weight[32], xval[32], waux[32];
    int8_t L[32], Laux[32];
    bool on_grid[8], on_grid_aux[8];
    uint8_t block_signs[8];
    uint8_t q3[64];
    uint32_t scales_and_signs[8];
    for (int64_t ibl = 0; ibl < n / WK_QK_K; ++ibl) {
        uint8_t *yb = y + ibl * 98;
        wk_store_half(yb, 0.f);
        memset(q3, 0, sizeof q3);
        memset(scales_and_signs, 0, sizeof scales_and_signs);
        float max_scale = 0;
        const float *xbl = x + WK_QK_K * ibl;
        const float sigma2 = 2 * wk_sum_squares(xbl, WK_QK_K) / WK_QK_K;
        for (int ib = 0; ib < 8; ++ib) {
            const float *xb = xbl + 32 * ib;
            if (qw_row) {
                const float *qw = qw_row + WK_QK_K * ibl + 32 * ib;
                for (int i = 0; i < 32; ++i) weight[i] = qw[i] * sqrtf(sigma2 + xb[i] * xb[i]);
            } else {
                for (int i = 0; i < 32; ++i) weight[i] = xb[i] * xb[i];
            }
            for (int i = 0; i < 32; ++i) waux[i] = sqrtf(weight[i]);
            for (int k = 0; k < 4; ++k) block_signs[k] = group_signs(xb + 8 * k, weight + 8 * k, xval + 8 * k, true) & 127;
            float max = xval[0];
            for (int i = 1; i < 32; ++i) max = WK_MAX(max, xval[i]);
            memset(L, 0, 32);
            if (max < GROUP_MAX_EPS_IQ3_XXS) {
                scales[ib] = 0;
                continue;
            }
            float best = 0;
            float scale = max / (2 * kMaxQ - 1);
            for (int k = 0; k < 8; ++k) on_grid[k] = true;
            for (int is = -15; is <= 15; ++is) {
                const float id = (2 * kMaxQ - 1 + is * 0.2f) / max;
                const float this_scale = 1 / id;
                for (int k = 0; k < 8; ++k) {
                    const int u = round_group(xval + 4 * k, id, 4, 3, kMaxQ, Laux + 4 * k);
                    on_grid_aux[k] = true;
                    if (g->map[u] < 0) {
                        on_grid_aux[k] = false;
                        if (best_neighbour(g, neighbours_of(g, u), xval + 4 * k, waux + 4 * k, this_scale, Laux + 4 * k) < 0) return -1;
                    }
                }
                float sumqx, sumq2;
                fit_levels(weight, xval, Laux, 32, &sumqx, &sumq2);
                if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
                    scale = sumqx / sumq2;
                    best = scale * sumqx;
                    memcpy(L, Laux, 32);
                    memcpy(on_grid, on_grid_aux, sizeof on_grid);
                }
            }
            int off_grid = 0;
            for (int k = 0; k < 8; ++k) if (!on_grid[k]) ++off_grid;
            if (off_grid > 0 && scale > 0) {
                const float id = 1 / scale;
                for (int k = 0; k < 8; ++k) {
                    if (on_grid[k]) continue;
                    int8_t levels[4];
                    const int u = round_group(xval + 4 * k, id, 4, 3, kMaxQ, levels);
                    int index = g->map[u];
                    if (index < 0) index = best_neighbour(g, neighbours_of(g, u), xval + 4 * k, waux + 4 * k, scale, L + 4 * k);
                    if (index < 0) return -1;
                    const int8_t *p = g->points + index * 4;
                    for (int i = 0; i < 4; ++i) L[4 * k + i] = (int8_t)((p[i] - 1) / 2);
                }
                float sumqx, sumq2;
                fit_levels(weight, xval, L, 32, &sumqx, &sumq2);
                if (sumq2 > 0) scale = sumqx / sumq2;
            }
            if (scale < 0) {
                scale = -scale;
                for (int k = 0; k < 4; ++k) block_signs[k] = (uint8_t)((~block_signs[k]) & 127);
            }
            for (int k = 0; k < 8; ++k) {
                const int index = g->map[pack_group(L + 4 * k, 4, 3)];
                if (index < 0) return -1;
                q3[8 * ib + k] = (uint8_t)index;
            }
            scales_and_signs[ib] = (uint32_t)(block_signs[0] | (block_signs[1] << 7) | (block_signs[2] << 14) | (block_signs[3] << 21));
            scales[ib] = scale;
            max_scale = WK_MAX(max_scale, scale);
        }
        if (!max_scale) {
            memset(yb + 2, 0, 96);
            continue;
        }
        const float d = max_scale / 31;
        wk_store_half(yb, d * 1.0125f);
        const float id = 1 / d;
        for (int ib = 0; ib < 8; ++ib) {
            int l = wk_nearest_int(0.5f * (id * scales[ib] - 1));
            l = WK_MAX(0, WK_MIN(15, l));
            scales_and_signs[ib] |= (uint32_t)l << 28;
        }
        memcpy(yb + 2, q3, 64);
        for (int i = 0; i < 8; ++i) {
            for (int b = 0; b < 4; ++b) yb[66 + 4 * i + b] = (uint8_t)(scales_and_signs[i] >> (8 * b));
        }
    }
    return 0;
}

// MARK: IQ3_S — block: f16 d, qs[64] (grid low bytes), qh[8], signs[32], scales[4]

static int iq3_s_row(const lattice *g, const float *x, uint8_t *y, int64_t n, const float *qw_row) {
    const int kMaxQ = 8, block_size = 32, bs4 = 8, bs8 = 4;
    float scales[8], weight[32], xval[32], waux[32];
    int8_t L[32], Laux[32];
    bool on_grid[8], on_grid_aux[8];
    uint8_t block_signs[4];
    for (int64_t ibl = 0; ibl < n / WK_QK_K; ++ibl) {
        uint8_t *yb = y + ibl * 110;
        memset(yb, 0, 110);
        // Sub-blocks that are all zero are skipped without advancing qs and signs: the ones after
        // them are stored that much earlier (ggml's layout, kept as it is).
        uint8_t *qs = yb + 2, *qh = yb + 66, *signs = yb + 74, *block_scales = yb + 106;
        float max_scale = 0;
        const float *xbl = x + WK_QK_K * ibl;
        const float sigma2 = 2 * wk_sum_squares(xbl, WK_QK_K) / WK_QK_K;
        for (int ib = 0; ib < WK_QK_K / block_size; ++ib) {
            const float *xb = xbl + block_size * ib;
            if (qw_row) {
                const float *qw = qw_row + WK_QK_K * ibl + block_size * ib;
                for (int i = 0; i < block_size; ++i) weight[i] = qw[i] * sqrtf(sigma2 + xb[i] * xb[i]);
            } else {
                for (int i = 0; i < block_size; ++i) weight[i] = xb[i] * xb[i];
            }
            for (int i = 0; i < block_size; ++i) waux[i] = sqrtf(weight[i]);
            for (int k = 0; k < bs8; ++k) block_signs[k] = group_signs(xb + 8 * k, weight + 8 * k, xval + 8 * k, false);
            float max = xval[0];
            for (int i = 1; i < block_size; ++i) max = WK_MAX(max, xval[i]);
            memset(L, 0, block_size);
            if (!max) {
                scales[ib] = 0;
                continue;
            }
            float best = 0;
            float scale = max / (2 * kMaxQ - 1);
            for (int k = 0; k < bs4; ++k) on_grid[k] = false;
            for (int is = -9; is <= 9; ++is) {
                const float id = (2 * kMaxQ - 1 + is * 0.2f) / max;
                const float this_scale = 1 / id;
                for (int k = 0; k < bs4; ++k) {
                    const int u = round_group(xval + 4 * k, id, 4, 3, kMaxQ, Laux + 4 * k);
                    on_grid_aux[k] = true;
                    if (g->map[u] < 0) {
                        on_grid_aux[k] = false;
                        if (best_neighbour(g, neighbours_of(g, u), xval + 4 * k, waux + 4 * k, this_scale, Laux + 4 * k) < 0) return -1;
                    }
                }
                float sumqx, sumq2;
                fit_levels(weight, xval, Laux, block_size, &sumqx, &sumq2);
                if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
                    scale = sumqx / sumq2;
                    best = scale * sumqx;
                    memcpy(L, Laux, (size_t)block_size);
                    memcpy(on_grid, on_grid_aux, sizeof on_grid);
                }
            }
            int off_grid = 0;
            for (int k = 0; k < bs4; ++k) if (!on_grid[k]) ++off_grid;
            if (off_grid > 0 && scale > 0) {
                // Every group is rounded again here, on the grid or not.
                const float id = 1 / scale;
                for (int k = 0; k < bs4; ++k) {
                    int8_t levels[4];
                    const int u = round_group(xval + 4 * k, id, 4, 3, kMaxQ, levels);
                    int index = g->map[u];
                    if (index < 0) index = best_neighbour(g, neighbours_of(g, u), xval + 4 * k, waux + 4 * k, scale, L + 4 * k);
                    if (index < 0) return -1;
                    const int8_t *p = g->points + index * 4;
                    for (int i = 0; i < 4; ++i) L[4 * k + i] = (int8_t)((p[i] - 1) / 2);
                }
                float sumqx, sumq2;
                fit_levels(weight, xval, L, block_size, &sumqx, &sumq2);
                if (sumq2 > 0) scale = sumqx / sumq2;
            }
            if (scale < 0) {
                scale = -scale;
                for (int k = 0; k < bs8; ++k) block_signs[k] = (uint8_t)~block_signs[k];
            }
            for (int k = 0; k < bs4; ++k) {
                const int index = g->map[pack_group(L + 4 * k, 4, 3)];
                if (index < 0) return -1;
                qs[k] = (uint8_t)(index & 255);
                qh[(ib * bs4 + k) / 8] |= (uint8_t)((index >> 8) << ((ib * bs4 + k) % 8));
            }
            qs += bs4;
            for (int k = 0; k < bs8; ++k) signs[k] = block_signs[k];
            signs += bs8;
            scales[ib] = scale;
            max_scale = WK_MAX(max_scale, scale);
        }
        if (!max_scale) continue;
        const float d = max_scale / 31;
        wk_store_half(yb, d * 1.033f);
        const float id = 1 / d;
        for (int ib = 0; ib < WK_QK_K / block_size; ib += 2) {
            int l1 = wk_nearest_int(0.5f * (id * scales[ib + 0] - 1));
            l1 = WK_MAX(0, WK_MIN(15, l1));
            int l2 = wk_nearest_int(0.5f * (id * scales[ib + 1] - 1));
            l2 = WK_MAX(0, WK_MIN(15, l2));
            block_scales[ib / 2] = (uint8_t)(l1 | (l2 << 4));
        }
    }
    return 0;
}

// MARK: IQ1_S and IQ1_M — three levels -1, 0, 1 shifted by +-IQ1_DELTA

/// The values of sub-block `xb` in ascending order (stable: equal values keep their order, as
/// glibc's merge-sort qsort leaves them for ggml), as indices.
static void sort_indices(const float *xb, int n, int *order) {
    for (int j = 0; j < n; ++j) {
        const float v = xb[j];
        int k = j;
        while (k > 0 && xb[order[k - 1]] > v) { order[k] = order[k - 1]; --k; }
        order[k] = j;
    }
}

/// Of an off-grid group's neighbours, the one nearest x at `scale` with levels read through `xx`
/// (ggml's iq1_find_best_neighbour2). Returns -1 if no distance was below FLT_MAX.
static int iq1_best_neighbour(const lattice *g, const uint16_t *neighbours, const float *xval, const float *weight, float scale,
                              const float *xx, int8_t *L) {
    const int count = neighbours[0];
    float best_score = FLT_MAX;
    int best = -1;
    for (int j = 1; j <= count; ++j) {
        const int8_t *p = g->points + neighbours[j] * 8;
        float d2 = 0;
        for (int i = 0; i < 8; ++i) {
            const float q = xx[(p[i] - 1) / 2];
            const float w = weight[i];
            const float diff = scale * q - xval[i];
            d2 += w * diff * diff;
        }
        if (d2 < best_score) { best_score = d2; best = neighbours[j]; }
    }
    // ggml searches the whole grid next, reading past the group (an out-of-bounds read); this is
    // reached only when every distance overflowed, and is refused here.
    if (best < 0) return -1;
    const int8_t *p = g->points + best * 8;
    for (int i = 0; i < 8; ++i) L[i] = (int8_t)((p[i] - 1) / 2);
    return best;
}

// block: f16 d, qs[32] (grid low bytes), qh u16[8] (3x3 high bits, 3-bit scale << 12, sign of the shift << 15)
static int iq1_s_row(const lattice *g, const float *x, uint8_t *y, int64_t n, const float *qw_row) {
    const int block_size = 32;
    const float x_p[3] = {-1 + IQ1_DELTA, IQ1_DELTA, 1 + IQ1_DELTA};
    const float x_m[3] = {-1 - IQ1_DELTA, -IQ1_DELTA, 1 - IQ1_DELTA};
    float scales[8], weight[32], sumx[33], sumw[33];
    int order[32];
    int8_t L[32], shifts[8];
    uint16_t index[4], qh[8];
    for (int64_t ibl = 0; ibl < n / WK_QK_K; ++ibl) {
        uint8_t *yb = y + ibl * 50;
        uint8_t *qs = yb + 2;
        wk_store_half(yb, 0.f);
        memset(qs, 0, 32);
        memset(qh, 0, sizeof qh);
        float max_scale = 0;
        const float *xbl = x + WK_QK_K * ibl;
        const float sigma2 = 2 * wk_sum_squares(xbl, WK_QK_K) / WK_QK_K;
        for (int ib = 0; ib < WK_QK_K / block_size; ++ib) {
            const float *xb = xbl + block_size * ib;
            const float *qw = qw_row + WK_QK_K * ibl + block_size * ib;
            for (int i = 0; i < block_size; ++i) weight[i] = qw[i] * sqrtf(sigma2 + xb[i] * xb[i]);
            float max = fabsf(xb[0]);
            for (int i = 1; i < block_size; ++i) max = WK_MAX(max, fabsf(xb[i]));
            if (max < GROUP_MAX_EPS_IQ1_S) {
                scales[ib] = 0;
                shifts[ib] = 1;
                memset(L, 1, (size_t)block_size);
                continue;
            }
            // The exact weighted least-squares split of the sorted values into three groups.
            sort_indices(xb, block_size, order);
            sumx[0] = sumw[0] = 0;
            for (int j = 0; j < block_size; ++j) {
                const int i = order[j];
                sumx[j + 1] = sumx[j] + weight[i] * xb[i];
                sumw[j + 1] = sumw[j] + weight[i];
            }
            float best_score = -FLT_MAX, scale = max;
            int besti1 = -1, besti2 = -1, best_shift = 0;
            for (int i1 = 0; i1 <= block_size; ++i1) {
                for (int i2 = i1; i2 <= block_size; ++i2) {
                    float sumqx = (sumx[i1] - sumx[0]) * x_p[0] + (sumx[i2] - sumx[i1]) * x_p[1] + (sumx[block_size] - sumx[i2]) * x_p[2];
                    float sumq2 = (sumw[i1] - sumw[0]) * x_p[0] * x_p[0] + (sumw[i2] - sumw[i1]) * x_p[1] * x_p[1] +
                                  (sumw[block_size] - sumw[i2]) * x_p[2] * x_p[2];
                    if (sumq2 > 0 && sumqx * sumqx > best_score * sumq2) {
                        scale = sumqx / sumq2;
                        best_score = scale * sumqx;
                        besti1 = i1; besti2 = i2; best_shift = 1;
                    }
                    sumqx = (sumx[i1] - sumx[0]) * x_m[0] + (sumx[i2] - sumx[i1]) * x_m[1] + (sumx[block_size] - sumx[i2]) * x_m[2];
                    sumq2 = (sumw[i1] - sumw[0]) * x_m[0] * x_m[0] + (sumw[i2] - sumw[i1]) * x_m[1] * x_m[1] +
                            (sumw[block_size] - sumw[i2]) * x_m[2] * x_m[2];
                    if (sumq2 > 0 && sumqx * sumqx > best_score * sumq2) {
                        scale = sumqx / sumq2;
                        best_score = scale * sumqx;
                        besti1 = i1; besti2 = i2; best_shift = -1;
                    }
                }
            }
            if (besti1 < 0 || besti2 < 0 || best_shift == 0) {
                scales[ib] = 0;
                shifts[ib] = 1;
                memset(L, 1, (size_t)block_size);
                continue;
            }
            for (int j = 0; j < besti1; ++j) L[order[j]] = 0;
            for (int j = besti1; j < besti2; ++j) L[order[j]] = 1;
            for (int j = besti2; j < block_size; ++j) L[order[j]] = 2;
            if (scale < 0) {
                for (int j = 0; j < block_size; ++j) L[j] = (int8_t)(2 - L[j]);
                scale = -scale;
                best_shift = -best_shift;
            }
            bool all_on_grid = true;
            const float *xx = best_shift == 1 ? x_p : x_m;
            for (int k = 0; k < block_size / 8; ++k) {
                const int u = pack_group(L + 8 * k, 8, 2);
                int grid_index = g->map[u];
                if (grid_index < 0) {
                    all_on_grid = false;
                    grid_index = iq1_best_neighbour(g, neighbours_of(g, u), xb + 8 * k, weight + 8 * k, scale, xx, L + 8 * k);
                    if (grid_index < 0) return -1;
                }
                index[k] = (uint16_t)grid_index;
            }
            if (!all_on_grid) {
                float sumqx = 0, sumq2 = 0;
                for (int k = 0; k < block_size / 8; ++k) {
                    const int8_t *p = g->points + index[k] * 8;
                    for (int j = 0; j < 8; ++j) {
                        const float w = weight[8 * k + j];
                        const float q = xx[(p[j] - 1) / 2];
                        sumqx += w * q * xb[8 * k + j];
                        sumq2 += w * q * q;
                    }
                }
                if (sumqx > 0 && sumq2 > 0) scale = sumqx / sumq2;
            }
            uint16_t h = 0;
            for (int k = 0; k < block_size / 8; ++k) {
                qs[(block_size / 8) * ib + k] = (uint8_t)(index[k] & 255);
                h |= (uint16_t)((index[k] >> 8) << (3 * k));
            }
            qh[ib] = h;
            scales[ib] = scale;
            shifts[ib] = (int8_t)best_shift;
            max_scale = WK_MAX(max_scale, scale);
        }
        if (max_scale) {
            const float d = max_scale / 15;
            wk_store_half(yb, d * 1.125f);
            const float id = 1 / d;
            for (int ib = 0; ib < WK_QK_K / block_size; ++ib) {
                int l = wk_nearest_int(0.5f * (id * scales[ib] - 1));
                l = WK_MAX(0, WK_MIN(7, l));
                if (shifts[ib] == -1) l |= 8;
                qh[ib] |= (uint16_t)(l << 12);
            }
        }
        for (int i = 0; i < 8; ++i) {
            yb[34 + 2 * i] = (uint8_t)qh[i];
            yb[35 + 2 * i] = (uint8_t)(qh[i] >> 8);
        }
    }
    return 0;
}

// block: qs[32] (grid low bytes), qh[16] (3 high bits + shift flag per group pair), scales[8] (4 x u16:
// 3-bit sub-block scales, the f16 super-block scale spread over the top nibbles)
static int iq1_m_row(const lattice *g, const float *x, uint8_t *y, int64_t n, const float *qw_row) {
    const int block_size = 16;
    const float x_p[3] = {-1 + IQ1_DELTA, IQ1_DELTA, 1 + IQ1_DELTA};
    const float x_m[3] = {-1 - IQ1_DELTA, -IQ1_DELTA, 1 - IQ1_DELTA};
    const uint8_t masks[4] = {0x00, 0x80, 0x08, 0x88};
    float scales[16], weight[16];
    int order[16];
    int8_t L[16], shifts[16];
    uint16_t index[2];
    float sumqx[4], sumq2[4];
    for (int64_t ibl = 0; ibl < n / WK_QK_K; ++ibl) {
        uint8_t *yb = y + ibl * 56;
        uint8_t *qs = yb, *qh = yb + 32;
        uint16_t sc[4] = {0, 0, 0, 0};
        memset(yb, 0, 56);
        float max_scale = 0;
        const float *xbl = x + WK_QK_K * ibl;
        const float sigma2 = 2 * wk_sum_squares(xbl, WK_QK_K) / WK_QK_K;
        for (int ib = 0; ib < WK_QK_K / block_size; ++ib) {
            const float *xb = xbl + block_size * ib;
            if (qw_row) {
                const float *qw = qw_row + WK_QK_K * ibl + block_size * ib;
                for (int i = 0; i < block_size; ++i) weight[i] = qw[i] * sqrtf(sigma2 + xb[i] * xb[i]);
            } else {
                for (int i = 0; i < block_size; ++i) weight[i] = xb[i] * xb[i];
            }
            float max = fabsf(xb[0]);
            for (int i = 1; i < block_size; ++i) max = WK_MAX(max, fabsf(xb[i]));
            if (max < GROUP_MAX_EPS_IQ1_M) {
                scales[ib] = 0;
                shifts[ib] = 0;
                memset(L, 1, (size_t)block_size);
                continue;
            }
            sort_indices(xb, block_size, order);
            float best_score = -FLT_MAX, scale = max;
            int besti1 = -1, besti2 = -1, best_k = -1;
            // Shift combinations k (first half, second half): 0 (+, +), 1 (+, -), 2 (-, +), 3 (-, -).
            // Prefix sums are kept per half; with v0 - v1 = v1 - v2 = -1 the three-group sum of a
            // split is T * v2 - px[i1] - px[i2].
            {
                float px[2][17], pw[2][17];
                px[0][0] = px[1][0] = 0;
                pw[0][0] = pw[1][0] = 0;
                for (int j = 0; j < block_size; ++j) {
                    const int i = order[j];
                    const int h = i < block_size / 2 ? 0 : 1;
                    px[h][j + 1] = px[h][j] + weight[i] * xb[i];
                    px[1 - h][j + 1] = px[1 - h][j];
                    pw[h][j + 1] = pw[h][j] + weight[i];
                    pw[1 - h][j + 1] = pw[1 - h][j];
                }
                const float txs[2] = {px[0][block_size], px[1][block_size]};
                const float tws[2] = {pw[0][block_size], pw[1][block_size]};
                const float p2 = x_p[2], m2 = x_m[2];
                const float cp1 = x_p[0] * x_p[0] - x_p[1] * x_p[1];
                const float cp2 = x_p[1] * x_p[1] - x_p[2] * x_p[2];
                const float cm1 = x_m[0] * x_m[0] - x_m[1] * x_m[1];
                const float cm2 = x_m[1] * x_m[1] - x_m[2] * x_m[2];
                for (int i1 = 0; i1 <= block_size; ++i1) {
                    for (int i2 = i1; i2 <= block_size; ++i2) {
                        float qx_p[2], qx_m[2], q2_p[2], q2_m[2];
                        for (int h = 0; h < 2; ++h) {
                            const float sx = px[h][i1] + px[h][i2];
                            qx_p[h] = txs[h] * p2 - sx;
                            qx_m[h] = txs[h] * m2 - sx;
                            q2_p[h] = tws[h] * p2 * p2 + pw[h][i1] * cp1 + pw[h][i2] * cp2;
                            q2_m[h] = tws[h] * m2 * m2 + pw[h][i1] * cm1 + pw[h][i2] * cm2;
                        }
                        sumqx[0] = qx_p[0] + qx_p[1];
                        sumqx[1] = qx_p[0] + qx_m[1];
                        sumqx[2] = qx_m[0] + qx_p[1];
                        sumqx[3] = qx_m[0] + qx_m[1];
                        sumq2[0] = q2_p[0] + q2_p[1];
                        sumq2[1] = q2_p[0] + q2_m[1];
                        sumq2[2] = q2_m[0] + q2_p[1];
                        sumq2[3] = q2_m[0] + q2_m[1];
                        for (int k = 0; k < 4; ++k) {
                            if (sumq2[k] > 0 && sumqx[k] * sumqx[k] > best_score * sumq2[k]) {
                                scale = sumqx[k] / sumq2[k];
                                best_score = scale * sumqx[k];
                                besti1 = i1; besti2 = i2; best_k = k;
                            }
                        }
                    }
                }
            }
            if (besti1 < 0 || besti2 < 0 || best_k < 0) {
                scales[ib] = 0;
                shifts[ib] = 0;
                memset(L, 1, (size_t)block_size);
                continue;
            }
            for (int j = 0; j < besti1; ++j) L[order[j]] = 0;
            for (int j = besti1; j < besti2; ++j) L[order[j]] = 1;
            for (int j = besti2; j < block_size; ++j) L[order[j]] = 2;
            if (scale < 0) {
                for (int j = 0; j < block_size; ++j) L[j] = (int8_t)(2 - L[j]);
                scale = -scale;
                best_k = 3 - best_k;
            }
            bool all_on_grid = true;
            for (int k = 0; k < block_size / 8; ++k) {
                const float *xx = k == 0 ? (best_k < 2 ? x_p : x_m) : (best_k % 2 == 0 ? x_p : x_m);
                const int u = pack_group(L + 8 * k, 8, 2);
                int grid_index = g->map[u];
                if (grid_index < 0) {
                    all_on_grid = false;
                    grid_index = iq1_best_neighbour(g, neighbours_of(g, u), xb + 8 * k, weight + 8 * k, scale, xx, L + 8 * k);
                    if (grid_index < 0) return -1;
                }
                index[k] = (uint16_t)grid_index;
            }
            if (!all_on_grid) {
                float sumqx_f = 0, sumq2_f = 0;
                for (int k = 0; k < block_size / 8; ++k) {
                    const float *xx = k == 0 ? (best_k < 2 ? x_p : x_m) : (best_k % 2 == 0 ? x_p : x_m);
                    const int8_t *p = g->points + index[k] * 8;
                    for (int j = 0; j < 8; ++j) {
                        const float w = weight[8 * k + j];
                        const float q = xx[(p[j] - 1) / 2];
                        sumqx_f += w * q * xb[8 * k + j];
                        sumq2_f += w * q * q;
                    }
                }
                if (sumqx_f > 0 && sumq2_f > 0) scale = sumqx_f / sumq2_f;
            }
            qs[2 * ib + 0] = (uint8_t)(index[0] & 255);
            qs[2 * ib + 1] = (uint8_t)(index[1] & 255);
            qh[ib] = (uint8_t)((index[0] >> 8) | ((index[1] >> 8) << 4));
            scales[ib] = scale;
            shifts[ib] = (int8_t)best_k;
            max_scale = WK_MAX(max_scale, scale);
        }
        if (!max_scale) continue;
        float d = max_scale / 15;
        const float id = 1 / d;
        float sumqx_f = 0, sumq2_f = 0;
        // The super-block scale is refitted over every sub-block, the skipped ones included
        // (they read grid point 0 with level 2l + 1 = 1).
        for (int ib = 0; ib < WK_QK_K / block_size; ++ib) {
            int l = wk_nearest_int(0.5f * (id * scales[ib + 0] - 1));
            l = WK_MAX(0, WK_MIN(7, l));
            sc[ib / 4] |= (uint16_t)(l << (3 * (ib % 4)));
            qh[ib] |= masks[shifts[ib]];
            const float *xb = xbl + block_size * ib;
            if (qw_row) {
                const float *qw = qw_row + WK_QK_K * ibl + block_size * ib;
                for (int i = 0; i < block_size; ++i) weight[i] = qw[i] * sqrtf(sigma2 + xb[i] * xb[i]);
            } else {
                for (int i = 0; i < block_size; ++i) weight[i] = xb[i] * xb[i];
            }
            for (int k = 0; k < block_size / 8; ++k) {
                const float *xx = k == 0 ? (shifts[ib] < 2 ? x_p : x_m) : (shifts[ib] % 2 == 0 ? x_p : x_m);
                const int point = qs[2 * ib + k] + ((qh[ib] << (8 - 4 * k)) & 0x700);
                const int8_t *p = g->points + point * 8;
                for (int j = 0; j < 8; ++j) {
                    const float w = weight[8 * k + j];
                    const float q = xx[(p[j] - 1) / 2] * (2 * l + 1);
                    sumqx_f += w * q * xb[8 * k + j];
                    sumq2_f += w * q * q;
                }
            }
        }
        if (sumq2_f > 0) d = sumqx_f / sumq2_f;
        const uint16_t s = wk_half_from_float(d * 1.1125f);
        sc[0] |= (uint16_t)((s & 0x000f) << 12);
        sc[1] |= (uint16_t)((s & 0x00f0) << 8);
        sc[2] |= (uint16_t)((s & 0x0f00) << 4);
        sc[3] |= (uint16_t)((s & 0xf000) << 0);
        for (int i = 0; i < 4; ++i) {
            yb[48 + 2 * i] = (uint8_t)sc[i];
            yb[49 + 2 * i] = (uint8_t)(sc[i] >> 8);
        }
    }
    return 0;
}

// MARK: Row entry points (0 on success, -1 if a table could not be built or a search failed)

typedef int (*row_quantizer)(const lattice *, const float *, uint8_t *, int64_t, const float *);

static int quantize_lattice_rows(lattice *g, pthread_once_t *once, void (*build)(void), row_quantizer quantize, size_t row_bytes,
                                 const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    const lattice *ready = ready_lattice(g, once, build);
    if (!ready) return -1;
    for (int64_t r = 0; r < rows; ++r) {
        if (quantize(ready, x + r * row_length, y + (size_t)r * row_bytes, row_length, importance) < 0) return -1;
    }
    return 0;
}

#define ROW_BYTES(bytes) ((size_t)(row_length / WK_QK_K) * (bytes))

int wk_quantize_rows_iq2_xxs(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    if (!importance) return -1;
    return quantize_lattice_rows(&lattice_iq2xxs, &once_iq2xxs, build_iq2xxs, iq2_xxs_row, ROW_BYTES(66), x, y, rows, row_length, importance);
}

int wk_quantize_rows_iq2_xs(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    if (!importance) return -1;
    return quantize_lattice_rows(&lattice_iq2xs, &once_iq2xs, build_iq2xs, iq2_xs_row, ROW_BYTES(74), x, y, rows, row_length, importance);
}

int wk_quantize_rows_iq2_s(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    return quantize_lattice_rows(&lattice_iq2s, &once_iq2s, build_iq2s, iq2_s_row, ROW_BYTES(82), x, y, rows, row_length, importance);
}

int wk_quantize_rows_iq3_xxs(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    return quantize_lattice_rows(&lattice_iq3xxs, &once_iq3xxs, build_iq3xxs, iq3_xxs_row, ROW_BYTES(98), x, y, rows, row_length, importance);
}

int wk_quantize_rows_iq3_s(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    return quantize_lattice_rows(&lattice_iq3s, &once_iq3s, build_iq3s, iq3_s_row, ROW_BYTES(110), x, y, rows, row_length, importance);
}

int wk_quantize_rows_iq1_s(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    if (!importance) return -1;
    return quantize_lattice_rows(&lattice_iq1s, &once_iq1s, build_iq1s, iq1_s_row, ROW_BYTES(50), x, y, rows, row_length, importance);
}

int wk_quantize_rows_iq1_m(const float *x, uint8_t *y, int64_t rows, int64_t row_length, const float *importance) {
    return quantize_lattice_rows(&lattice_iq1s, &once_iq1s, build_iq1s, iq1_m_row, ROW_BYTES(56), x, y, rows, row_length, importance);
}
