// Matrix products y = x · Wᵀ for prefill, reading W (float32, float16 or bfloat16 rows, as
// nn.Linear stores them) in place. The layout follows the usual register-blocked GEMM:
//
//   for each chunk of KC columns:
//     for each panel of 32 weight rows:
//       pack the panel's chunk, converted to float32 and transposed to [k][32]
//       for each group of up to 12 tokens:
//         12 x 32 outputs in 24 registers; per k, two loads of the panel, 12 broadcasts of x,
//         24 fused multiply-adds
//
// Packing costs one pass over the weights per 256 tokens and absorbs the conversion from
// float16 or bfloat16, so the inner loop is the same for every stored type. The panel's
// next chunk is prefetched while the current one is multiplied, overlapping the weight reads
// from memory with the arithmetic.
//
// Variants: scalar (plain loops, which the AVX2 tier uses too), AVX-512 (the float product),
// AVX-512 VNNI (the Q8_0 panels), AVX-512 BF16 (the bfloat16 pair products). Each variant
// defines the functions it has a path for; the helpers are shared by the AVX-512 ones.
#include "variant.h"
#include "panels.h"
#define WK_GEMM_AVX512 WK_HAS_AVX512

enum { NR = PANEL_ROWS, MR = 12, KC = 256, MB = 256 };
/// Up to this many bytes of x (tokens x columns), panels are the outer loop: x is then read
/// again for every panel, in order, from the second- and third-level caches, which measured
/// faster than chunking the columns up to about this size (1 MiB of L2 per core here).
#define X_RESIDENT (1280u * 1024u)

_Static_assert(KC * NR == WK_GEMM_SCRATCH_FLOATS, "packing buffer size");

static inline float scalar_value(int type, const uint8_t *row, size_t k) {
    uint16_t h;
    switch (type) {
    case WK_GEMM_F32: { float f; memcpy(&f, row + 4 * k, 4); return f; }
    case WK_GEMM_BF16: memcpy(&h, row + 2 * k, 2); return wk_bf16_to_float(h);
    default: memcpy(&h, row + 2 * k, 2); return wk_half_to_float(h);
    }
}

#if WK_GEMM_AVX512

static inline __m512 load16(int type, const uint8_t *p) {
    switch (type) {
    case WK_GEMM_F32: return _mm512_loadu_ps(p);
    case WK_GEMM_BF16:
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
    default: return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
    }
}

/// panel[k][r] = W[row r][k0 + k] for k < kc, r < 32 (rows past `rows` are zero).
static inline __attribute__((always_inline))
void pack_panel(int type, size_t element, const uint8_t *w, size_t row_stride, size_t rows,
                size_t k0, size_t kc, float *panel) {
    size_t k = 0;
    for (; k + 16 <= kc; k += 16) {
        for (size_t half = 0; half < 2; half++) {
            __m512 r[16];
            WK_UNROLL for (size_t i = 0; i < 16; i++) {
                const size_t row = half * 16 + i;
                r[i] = row < rows ? load16(type, w + row * row_stride + (k0 + k) * element) : _mm512_setzero_ps();
            }
            transpose16(r);
            WK_UNROLL for (size_t i = 0; i < 16; i++) _mm512_storeu_ps(panel + (k + i) * NR + half * 16, r[i]);
        }
    }
    for (; k < kc; k++)
        for (size_t row = 0; row < NR; row++)
            panel[k * NR + row] = row < rows ? scalar_value(type, w + row * row_stride, k0 + k) : 0.0f;
}

/// Writes (or, when `accumulate`, adds to) the outputs of a tile: `mr` rows of y, 32 wide,
/// lanes past the panel's rows left alone.
static inline __attribute__((always_inline))
void store_tile(__m512 *c0, __m512 *c1, const int mr, float *y, size_t ldy, int accumulate, __mmask16 mask0, __mmask16 mask1) {
    WK_UNROLL for (int i = 0; i < mr; i++) {
        float *out = y + i * ldy;
        if (accumulate) {
            c0[i] = _mm512_add_ps(c0[i], _mm512_maskz_loadu_ps(mask0, out));
            c1[i] = _mm512_add_ps(c1[i], _mm512_maskz_loadu_ps(mask1, out + 16));
        }
        _mm512_mask_storeu_ps(out, mask0, c0[i]);
        _mm512_mask_storeu_ps(out + 16, mask1, c1[i]);
    }
}

/// y[i][0..<32] (=|+=) Σ_k x[i][k] · panel[k][0..<32] for `mr` tokens (a compile-time
/// constant after inlining, so the 2·mr accumulators stay in registers).
static inline __attribute__((always_inline))
void tile(const float *panel, size_t kc, const float *x, size_t ldx, const int mr, float *y, size_t ldy,
          int accumulate, __mmask16 mask0, __mmask16 mask1) {
    __m512 c0[MR], c1[MR];
    WK_UNROLL for (int i = 0; i < mr; i++) { c0[i] = _mm512_setzero_ps(); c1[i] = _mm512_setzero_ps(); }
    // Not unrolled: unrolling lets the compiler hoist broadcasts of later steps, and the extra
    // live registers spill the accumulators.
#pragma clang loop unroll(disable)
    for (size_t k = 0; k < kc; k++) {
        const __m512 b0 = _mm512_loadu_ps(panel + k * NR), b1 = _mm512_loadu_ps(panel + k * NR + 16);
        WK_UNROLL for (int i = 0; i < mr; i++) {
            const __m512 a = _mm512_set1_ps(x[i * ldx + k]);
            c0[i] = _mm512_fmadd_ps(a, b0, c0[i]);
            c1[i] = _mm512_fmadd_ps(a, b1, c1[i]);
        }
    }
    store_tile(c0, c1, mr, y, ldy, accumulate, mask0, mask1);
}

static void tile_any(const float *panel, size_t kc, const float *x, size_t ldx, int mr, float *y, size_t ldy,
                     int accumulate, __mmask16 m0, __mmask16 m1) {
    switch (mr) {
#define WK_TILE(N) case N: tile(panel, kc, x, ldx, N, y, ldy, accumulate, m0, m1); break;
    WK_TILE(1) WK_TILE(2) WK_TILE(3) WK_TILE(4) WK_TILE(5) WK_TILE(6)
    WK_TILE(7) WK_TILE(8) WK_TILE(9) WK_TILE(10) WK_TILE(11) WK_TILE(12)
#undef WK_TILE
    default: break;
    }
}

/// Packs the panel of rows r0..<r0+32 and columns k0..<k0+KC, prefetches the next one
/// (`next_r`, `next_k`; none when next_k >= cols) while multiplying it with tokens m0..<m0+mb.
static inline __attribute__((always_inline))
void panel_step(int type, size_t element, const uint8_t *w, size_t row_stride, size_t rows, size_t cols,
                const float *x, size_t ldx, size_t m0, size_t mb, float *y, size_t ldy, float *panel,
                size_t r0, size_t k0, size_t next_r, size_t next_k) {
    const size_t kc = cols - k0 < KC ? cols - k0 : KC;
    const size_t nr = rows - r0 < NR ? rows - r0 : NR;
    pack_panel(type, element, w + r0 * row_stride, row_stride, nr, k0, kc, panel);
    const int has_next = next_k < cols;
    const size_t next_rows = has_next ? (rows - next_r < NR ? rows - next_r : NR) : 0;
    const size_t next_bytes = has_next ? (cols - next_k < KC ? cols - next_k : KC) * element : 0;
    const size_t groups = (mb + MR - 1) / MR;
    const size_t per_group = (next_rows + groups - 1) / groups;
    __mmask16 mask0, mask1;
    panel_masks(nr, &mask0, &mask1);
    for (size_t g = 0, i = 0; i < mb; g++, i += MR) {
        if (g * per_group < next_rows) {
            const size_t count = next_rows - g * per_group < per_group ? next_rows - g * per_group : per_group;
            prefetch_rows(w + (next_r + g * per_group) * row_stride + next_k * element, row_stride, count, next_bytes);
        }
        const int mr = mb - i < MR ? (int)(mb - i) : MR;
        tile_any(panel, kc, x + (m0 + i) * ldx + k0, ldx, mr, y + (m0 + i) * ldy + r0, ldy, k0 > 0, mask0, mask1);
    }
}

static inline __attribute__((always_inline))
void gemm_type(int type, size_t element, const uint8_t *w, size_t row_stride, size_t rows, size_t cols,
               const float *x, size_t ldx, size_t m, float *y, size_t ldy, float *panel) {
    for (size_t m0 = 0; m0 < m; m0 += MB) {
        const size_t mb = m - m0 < MB ? m - m0 : MB;
        if (mb * cols * sizeof(float) <= X_RESIDENT) {
            // x fits in the second-level cache: panels outermost, so each panel's outputs stay
            // in cache over all its column chunks.
            for (size_t r0 = 0; r0 < rows; r0 += NR)
                for (size_t k0 = 0; k0 < cols; k0 += KC) {
                    const int last = k0 + KC >= cols;
                    panel_step(type, element, w, row_stride, rows, cols, x, ldx, m0, mb, y, ldy, panel, r0, k0,
                               last ? r0 + NR : r0, last ? (r0 + NR < rows ? 0 : cols) : k0 + KC);
                }
        } else {
            // Long rows: column chunks outermost, so a chunk of x stays in cache over all panels.
            for (size_t k0 = 0; k0 < cols; k0 += KC)
                for (size_t r0 = 0; r0 < rows; r0 += NR) {
                    const int last = r0 + NR >= rows;
                    panel_step(type, element, w, row_stride, rows, cols, x, ldx, m0, mb, y, ldy, panel, r0, k0,
                               last ? 0 : r0 + NR, last ? k0 + KC : k0);
                }
        }
    }
}

#endif

#if WK_VARIANT == WK_V_SCALAR || WK_VARIANT == WK_V_AVX512
void WK_FN(gemm)(int type, const void *weights, size_t row_stride, size_t rows, size_t cols,
             const float *x, size_t ldx, size_t m, float *y, size_t ldy, float *scratch) {
    const uint8_t *w = (const uint8_t *)weights;
#if WK_GEMM_AVX512
    // One instantiation per type, so that the loads in packing are resolved at compile time.
    switch (type) {
    case WK_GEMM_F32: gemm_type(WK_GEMM_F32, 4, w, row_stride, rows, cols, x, ldx, m, y, ldy, scratch); return;
    case WK_GEMM_F16: gemm_type(WK_GEMM_F16, 2, w, row_stride, rows, cols, x, ldx, m, y, ldy, scratch); return;
    case WK_GEMM_BF16: gemm_type(WK_GEMM_BF16, 2, w, row_stride, rows, cols, x, ldx, m, y, ldy, scratch); return;
    default: return;
    }
#else
    (void)scratch;
    for (size_t t = 0; t < m; t++)
        for (size_t r = 0; r < rows; r++) {
            float sum = 0;
            for (size_t k = 0; k < cols; k++) sum += x[t * ldx + k] * scalar_value(type, w + r * row_stride, k);
            y[t * ldy + r] = sum;
        }
#endif
}
#endif

// MARK: Q8_0 weights against 8-bit activations (AVX-512 VNNI)
//
// The same blocking with integer products: a panel holds 32 weight rows of one chunk of
// blocks, repacked so that one 64-byte load gives four consecutive weights of 16 rows
// (dpbusd's layout: 16 lanes, four bytes each). A broadcast of four activation bytes then
// multiplies all 16 rows at once, and after the eight steps of a 32-block each lane holds one
// row's whole block product, which is scaled by d_w[row] · d_x once. Activations are offset to
// unsigned (x + 128, as dpbusd wants); each lane starts from -128 · Σw of its row's block,
// which cancels the offset exactly.

enum { Q8_BLOCKS = 8, Q8_PANEL_BLOCK = 32 * 32 + 32 * 4 + 32 * 4, Q8_MR = 6 };

_Static_assert(Q8_BLOCKS * Q8_PANEL_BLOCK == WK_GEMM_Q8_0_SCRATCH_BYTES, "Q8_0 panel buffer size");

#if WK_VARIANT == WK_V_SCALAR
void WK_FN(offset_q8_act)(wk_block_q8_act *x, size_t blocks) {
    for (size_t b = 0; b < blocks; b++)
        for (int j = 0; j < 32; j++) x[b].qs[j] = (int8_t)((uint8_t)x[b].qs[j] ^ 0x80);
}
#endif

#define WK_GEMM_VNNI WK_HAS_VNNI
#if WK_GEMM_VNNI

static inline float q8_scale(const uint8_t *block) {
    uint16_t h; memcpy(&h, block, 2);
    return _cvtsh_ss(h);
}

/// Repacks blocks b0..<b0+nb of 32 rows (rows past `rows` are zero) into `panel`: per block,
/// int8 w[8][32][4] (step, row, byte), then float scale[32], then int32 correction[32].
static void pack_q8_panel(const uint8_t *w, size_t row_stride, size_t rows, size_t b0, size_t nb, uint8_t *panel) {
    const __m512i offset = _mm512_set1_epi8((char)0x80);
    for (size_t b = 0; b < nb; b++) {
        uint8_t *out = panel + b * Q8_PANEL_BLOCK;
        float *scale = (float *)(out + 1024);
        int32_t *correction = (int32_t *)(out + 1024 + 128);
        // Row r in the low half, row r + 16 in the high half: after the transpose, vector g
        // holds step g of rows 0..15 and vector 8 + g step g of rows 16..31.
        __m512 v[16];
        WK_UNROLL for (size_t r = 0; r < 16; r++) {
            const uint8_t *lo = w + r * row_stride + (b0 + b) * 34, *hi = w + (r + 16) * row_stride + (b0 + b) * 34;
            const __m256i l = r < rows ? _mm256_loadu_si256((const __m256i *)(lo + 2)) : _mm256_setzero_si256();
            const __m256i h = r + 16 < rows ? _mm256_loadu_si256((const __m256i *)(hi + 2)) : _mm256_setzero_si256();
            v[r] = _mm512_castsi512_ps(_mm512_inserti64x4(_mm512_castsi256_si512(l), h, 1));
            scale[r] = r < rows ? q8_scale(lo) : 0.0f;
            scale[r + 16] = r + 16 < rows ? q8_scale(hi) : 0.0f;
        }
        transpose16(v);
        __m512i sum0 = _mm512_setzero_si512(), sum1 = _mm512_setzero_si512();
        WK_UNROLL for (int g = 0; g < 8; g++) {
            const __m512i w0 = _mm512_castps_si512(v[g]), w1 = _mm512_castps_si512(v[8 + g]);
            _mm512_storeu_si512(out + g * 128, w0);
            _mm512_storeu_si512(out + g * 128 + 64, w1);
            sum0 = _mm512_dpbusd_epi32(sum0, offset, w0);
            sum1 = _mm512_dpbusd_epi32(sum1, offset, w1);
        }
        _mm512_storeu_si512(correction, _mm512_sub_epi32(_mm512_setzero_si512(), sum0));
        _mm512_storeu_si512(correction + 16, _mm512_sub_epi32(_mm512_setzero_si512(), sum1));
    }
}

static inline __attribute__((always_inline))
void q8_tile(const uint8_t *panel, size_t nb, const wk_block_q8_act *x, size_t ldx, const int mr,
             float *y, size_t ldy, int accumulate, __mmask16 mask0, __mmask16 mask1) {
    __m512 c0[Q8_MR], c1[Q8_MR];
    WK_UNROLL for (int i = 0; i < mr; i++) {
        c0[i] = accumulate ? _mm512_maskz_loadu_ps(mask0, y + i * ldy) : _mm512_setzero_ps();
        c1[i] = accumulate ? _mm512_maskz_loadu_ps(mask1, y + i * ldy + 16) : _mm512_setzero_ps();
    }
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *block = panel + b * Q8_PANEL_BLOCK;
        const int32_t *correction = (const int32_t *)(block + 1024 + 128);
        __m512i a0[Q8_MR], a1[Q8_MR];
        WK_UNROLL for (int i = 0; i < mr; i++) {
            a0[i] = _mm512_loadu_si512(correction);
            a1[i] = _mm512_loadu_si512(correction + 16);
        }
        WK_UNROLL for (int g = 0; g < 8; g++) {
            const __m512i w0 = _mm512_loadu_si512(block + g * 128), w1 = _mm512_loadu_si512(block + g * 128 + 64);
            WK_UNROLL for (int i = 0; i < mr; i++) {
                int32_t four;
                memcpy(&four, x[i * ldx + b].qs + 4 * g, 4);
                const __m512i xb = _mm512_set1_epi32(four);
                a0[i] = _mm512_dpbusd_epi32(a0[i], xb, w0);
                a1[i] = _mm512_dpbusd_epi32(a1[i], xb, w1);
            }
        }
        const float *scale = (const float *)(block + 1024);
        const __m512 s0 = _mm512_loadu_ps(scale), s1 = _mm512_loadu_ps(scale + 16);
        WK_UNROLL for (int i = 0; i < mr; i++) {
            const __m512 dx = _mm512_set1_ps(x[i * ldx + b].d);
            c0[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a0[i]), _mm512_mul_ps(s0, dx), c0[i]);
            c1[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a1[i]), _mm512_mul_ps(s1, dx), c1[i]);
        }
    }
    WK_UNROLL for (int i = 0; i < mr; i++) {
        _mm512_mask_storeu_ps(y + i * ldy, mask0, c0[i]);
        _mm512_mask_storeu_ps(y + i * ldy + 16, mask1, c1[i]);
    }
}

static void q8_tile_any(const uint8_t *panel, size_t nb, const wk_block_q8_act *x, size_t ldx, int mr,
                        float *y, size_t ldy, int accumulate, __mmask16 m0, __mmask16 m1) {
    switch (mr) {
#define WK_TILE(N) case N: q8_tile(panel, nb, x, ldx, N, y, ldy, accumulate, m0, m1); break;
    WK_TILE(1) WK_TILE(2) WK_TILE(3) WK_TILE(4) WK_TILE(5) WK_TILE(6)
#undef WK_TILE
    default: break;
    }
}
#endif

#if WK_VARIANT == WK_V_SCALAR || WK_GEMM_VNNI
void WK_FN(gemm_q8_0_panels)(const void *weights, size_t row_stride, size_t rows, size_t blocks,
                         const wk_block_q8_act *x, size_t m, float *y, size_t ldy, void *scratch) {
    const uint8_t *w = (const uint8_t *)weights;
#if WK_GEMM_VNNI
    uint8_t *panel = (uint8_t *)scratch;
    for (size_t r0 = 0; r0 < rows; r0 += NR) {
        const size_t nr = rows - r0 < NR ? rows - r0 : NR;
        __mmask16 mask0, mask1;
        panel_masks(nr, &mask0, &mask1);
        for (size_t b0 = 0; b0 < blocks; b0 += Q8_BLOCKS) {
            const size_t nb = blocks - b0 < Q8_BLOCKS ? blocks - b0 : Q8_BLOCKS;
            pack_q8_panel(w + r0 * row_stride, row_stride, nr, b0, nb, panel);
            prefetch_following(w, row_stride, rows, r0, b0, blocks, Q8_BLOCKS, 34);
            for (size_t i = 0; i < m; i += Q8_MR) {
                const int mr = m - i < Q8_MR ? (int)(m - i) : Q8_MR;
                q8_tile_any(panel, nb, x + i * blocks + b0, blocks, mr, y + i * ldy + r0, ldy, b0 > 0, mask0, mask1);
            }
        }
    }
#else
    (void)scratch;
    for (size_t t = 0; t < m; t++)
        for (size_t r = 0; r < rows; r++) {
            float sum = 0;
            for (size_t b = 0; b < blocks; b++) {
                const uint8_t *block = w + r * row_stride + b * 34;
                uint16_t h; memcpy(&h, block, 2);
                int isum = 0;
                for (int j = 0; j < 32; j++)
                    isum += (int)((const int8_t *)block)[2 + j] * ((int)(uint8_t)x[t * blocks + b].qs[j] - 128);
                sum += scalar_value(WK_GEMM_F16, (const uint8_t *)&h, 0) * x[t * blocks + b].d * (float)isum;
            }
            y[t * ldy + r] = sum;
        }
#endif
}
#endif

// MARK: bfloat16 weights against bfloat16 activations (AVX-512 BF16)
//
// As llama.cpp and PyTorch compute with bfloat16 weights: x rounded to bfloat16 (to nearest,
// ties to even: `wk_encode_bf16`) once, and `vdpbf16ps` multiplying pairs of columns, each product exact and
// summed in float32, at twice the rate of float32 multiply-adds. A panel holds 32 rows of one
// chunk of columns as [k / 2][32][2]: one 64-byte load gives a pair of columns for 16 rows.

#if WK_HAS_BF16
/// panel[k / 2][r][2] = W[row r][k0 + k] for k < kc (even), r < 32 (rows past `rows` are zero).
static void pack_bf16_pairs(const uint8_t *w, size_t row_stride, size_t rows, size_t k0, size_t kc, uint32_t *panel) {
    size_t p = 0;
    const size_t pairs = kc / 2;
    for (; p + 16 <= pairs; p += 16) {
        for (size_t half = 0; half < 2; half++) {
            __m512 r[16];
            WK_UNROLL for (size_t i = 0; i < 16; i++) {
                const size_t row = half * 16 + i;
                r[i] = row < rows ? _mm512_loadu_ps(w + row * row_stride + (k0 + 2 * p) * 2) : _mm512_setzero_ps();
            }
            transpose16(r);
            WK_UNROLL for (size_t i = 0; i < 16; i++) _mm512_storeu_ps(panel + (p + i) * NR + half * 16, r[i]);
        }
    }
    for (; p < pairs; p++)
        for (size_t row = 0; row < NR; row++) {
            uint32_t v = 0;
            if (row < rows) memcpy(&v, w + row * row_stride + (k0 + 2 * p) * 2, 4);
            panel[p * NR + row] = v;
        }
}

static inline __attribute__((always_inline))
void bf16_tile(const uint32_t *panel, size_t pairs, const uint16_t *x, size_t ldx, const int mr, float *y, size_t ldy,
               int accumulate, __mmask16 mask0, __mmask16 mask1) {
    __m512 c0[MR], c1[MR];
    WK_UNROLL for (int i = 0; i < mr; i++) { c0[i] = _mm512_setzero_ps(); c1[i] = _mm512_setzero_ps(); }
#pragma clang loop unroll(disable)
    for (size_t p = 0; p < pairs; p++) {
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(panel + p * NR);
        const __m512bh b1 = (__m512bh)_mm512_loadu_si512(panel + p * NR + 16);
        WK_UNROLL for (int i = 0; i < mr; i++) {
            uint32_t two; memcpy(&two, x + i * ldx + 2 * p, 4);
            const __m512bh a = (__m512bh)_mm512_set1_epi32((int)two);
            c0[i] = _mm512_dpbf16_ps(c0[i], a, b0);
            c1[i] = _mm512_dpbf16_ps(c1[i], a, b1);
        }
    }
    store_tile(c0, c1, mr, y, ldy, accumulate, mask0, mask1);
}

static void bf16_tile_any(const uint32_t *panel, size_t pairs, const uint16_t *x, size_t ldx, int mr, float *y, size_t ldy,
                          int accumulate, __mmask16 m0, __mmask16 m1) {
    switch (mr) {
#define WK_TILE(N) case N: bf16_tile(panel, pairs, x, ldx, N, y, ldy, accumulate, m0, m1); break;
    WK_TILE(1) WK_TILE(2) WK_TILE(3) WK_TILE(4) WK_TILE(5) WK_TILE(6)
    WK_TILE(7) WK_TILE(8) WK_TILE(9) WK_TILE(10) WK_TILE(11) WK_TILE(12)
#undef WK_TILE
    default: break;
    }
}
#endif

#if WK_VARIANT == WK_V_SCALAR || WK_HAS_BF16
void WK_FN(gemm_bf16_dot)(const void *weights, size_t row_stride, size_t rows, size_t cols,
                      const uint16_t *x, size_t ldx, size_t m, float *y, size_t ldy, float *scratch) {
    const uint8_t *w = (const uint8_t *)weights;
#if WK_HAS_BF16
    uint32_t *panel = (uint32_t *)scratch;
    for (size_t m0 = 0; m0 < m; m0 += MB) {
        const size_t mb = m - m0 < MB ? m - m0 : MB;
        for (size_t r0 = 0; r0 < rows; r0 += NR) {
            const size_t nr = rows - r0 < NR ? rows - r0 : NR;
            __mmask16 mask0, mask1;
            panel_masks(nr, &mask0, &mask1);
            for (size_t k0 = 0; k0 < cols; k0 += KC) {
                const size_t kc = cols - k0 < KC ? cols - k0 : KC;
                pack_bf16_pairs(w + r0 * row_stride, row_stride, nr, k0, kc, panel);
                prefetch_following(w, row_stride, rows, r0, k0, cols, KC, 2);
                for (size_t i = 0; i < mb; i += MR) {
                    const int mr = mb - i < MR ? (int)(mb - i) : MR;
                    bf16_tile_any(panel, kc / 2, x + (m0 + i) * ldx + k0, ldx, mr, y + (m0 + i) * ldy + r0, ldy, k0 > 0,
                                  mask0, mask1);
                }
            }
        }
    }
#else
    (void)scratch;
    for (size_t t = 0; t < m; t++)
        for (size_t r = 0; r < rows; r++) {
            float sum = 0;
            for (size_t k = 0; k < cols; k++)
                sum += scalar_value(WK_GEMM_BF16, (const uint8_t *)(x + t * ldx), k) * scalar_value(WK_GEMM_BF16, w + r * row_stride, k);
            y[t * ldy + r] = sum;
        }
#endif
}
#endif

#include "variant_end.h"
