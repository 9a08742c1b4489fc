// Helpers of the packed-panel prefill products (bodies/gemm.h: float, bfloat16 and Q8_0
// panels; bodies/qdot.h: the other quantised types): a panel is 32 weight rows of a chunk of
// columns, laid out so that one 64-byte load serves 16 rows. Included by a body after
// variant.h; defines nothing without AVX-512.
#pragma once

/// Weight rows per panel.
enum { PANEL_ROWS = 32 };

#if WK_HAS_AVX512

/// Transposes 16 vectors of 16 floats in place: r[i][j] becomes r[j][i].
static inline void transpose16(__m512 r[16]) {
    __m512 t[16];
    WK_UNROLL for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // r[4i + j], 128-bit lane L: rows 4i..4i+3 of column 4L + j.
    WK_UNROLL for (int i = 0; i < 4; i++) {
        r[4 * i + 0] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0x44);
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0xEE);
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    // Column 4L + j gathers lane L of r[j], r[4 + j], r[8 + j], r[12 + j].
    WK_UNROLL for (int j = 0; j < 4; j++) {
        const __m512 s0 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x44);
        const __m512 s1 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xEE);
        const __m512 s2 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x44);
        const __m512 s3 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xEE);
        t[j] = _mm512_shuffle_f32x4(s0, s2, 0x88);
        t[4 + j] = _mm512_shuffle_f32x4(s0, s2, 0xDD);
        t[8 + j] = _mm512_shuffle_f32x4(s1, s3, 0x88);
        t[12 + j] = _mm512_shuffle_f32x4(s1, s3, 0xDD);
    }
    WK_UNROLL for (int i = 0; i < 16; i++) r[i] = t[i];
}

/// Lane masks of a panel with `nr` (at most 32) valid rows: rows 0..<16, then 16..<32.
static inline void panel_masks(size_t nr, __mmask16 *mask0, __mmask16 *mask1) {
    *mask0 = nr >= 16 ? 0xFFFF : (__mmask16)((1u << nr) - 1);
    *mask1 = nr >= 32 ? 0xFFFF : (nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1));
}

/// Hints the cache to fetch `lines` 64-byte lines of each of `rows` rows from `start`.
static inline void prefetch_rows(const uint8_t *start, size_t row_stride, size_t rows, size_t bytes) {
    for (size_t r = 0; r < rows; r++)
        for (size_t b = 0; b < bytes; b += 64) _mm_prefetch((const char *)(start + r * row_stride + b), _MM_HINT_T1);
}

/// In the panel-outer order of the Q8_0 and bfloat16 products, prefetches what is packed after
/// the chunk at (panel r0, unit c0): the same panel's next `step` units of the row, else the
/// next panel's first. Rows hold `units` units of `unit_bytes` bytes.
static inline void prefetch_following(const uint8_t *w, size_t row_stride, size_t rows, size_t r0, size_t c0,
                                      size_t units, size_t step, size_t unit_bytes) {
    const int same_panel = c0 + step < units;
    const size_t next_r = same_panel ? r0 : r0 + PANEL_ROWS, next_c = same_panel ? c0 + step : 0;
    if (next_r >= rows) return;
    const size_t next_rows = rows - next_r < PANEL_ROWS ? rows - next_r : PANEL_ROWS;
    const size_t next_units = units - next_c < step ? units - next_c : step;
    prefetch_rows(w + next_r * row_stride + next_c * unit_bytes, row_stride, next_rows, next_units * unit_bytes);
}

#endif
