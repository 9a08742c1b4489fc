// Matrix-vector products over float rows. Memory-bound: each weight byte is read once.
// Variants: scalar, AVX2, AVX-512.
#include "variant.h"
#define WK_AVX2 WK_HAS_AVX2

#if WK_AVX2
static inline __m256 load_f32(const void *p) { return _mm256_loadu_ps((const float *)p); }
static inline __m256 load_f16(const void *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
static inline __m256 load_bf16(const void *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}
#endif

// One generic body per element type: ELEMENT bytes per value, LOAD8 loads 8 as __m256,
// SCALAR converts one. Rows are read one after another, each as a single sequential stream:
// the hardware prefetcher follows one stream well, while interleaving loads from several rows
// (to share the loads of x) measured at half the bandwidth on rows of ~1,000 values. Long
// float32 rows (from INTERLEAVE_FROM values) are the exception: there four rows at a time,
// sharing each load of x, measured 25% faster than one.
#define WK_MATVEC(NAME, ELEMENT, LOAD8, SCALAR, STYPE, INTERLEAVE_FROM)                              \
void NAME(const void *weights, size_t row_stride, size_t rows, size_t cols, const float *x, float *y) { \
    const uint8_t *base = (const uint8_t *)weights;                                                 \
    size_t r = 0;                                                                                     \
    if (cols >= INTERLEAVE_FROM) { WK_FOUR_ROWS(ELEMENT, LOAD8, SCALAR, STYPE) }                     \
    for (; r < rows; r++) {                                                                           \
        const uint8_t *w = base + r * row_stride;                                                     \
        float sum = 0;                                                                                \
        size_t c = 0;                                                                                 \
        WK_ROW_VECTOR(ELEMENT, LOAD8)                                                                 \
        for (; c < cols; c++) sum += SCALAR(((const STYPE *)w)[c]) * x[c];                            \
        y[r] = sum;                                                                                   \
    }                                                                                                 \
}

#if WK_AVX2
// Four independent accumulators over 32 values per step, then 8 at a time.
#define WK_ROW_VECTOR(ELEMENT, LOAD8)                                                                 \
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                                      \
    for (; c + 32 <= cols; c += 32) {                                                                 \
        a0 = _mm256_fmadd_ps(LOAD8(w + c * ELEMENT), _mm256_loadu_ps(x + c), a0);                     \
        a1 = _mm256_fmadd_ps(LOAD8(w + (c + 8) * ELEMENT), _mm256_loadu_ps(x + c + 8), a1);           \
        a2 = _mm256_fmadd_ps(LOAD8(w + (c + 16) * ELEMENT), _mm256_loadu_ps(x + c + 16), a2);         \
        a3 = _mm256_fmadd_ps(LOAD8(w + (c + 24) * ELEMENT), _mm256_loadu_ps(x + c + 24), a3);         \
    }                                                                                                 \
    for (; c + 8 <= cols; c += 8) a0 = _mm256_fmadd_ps(LOAD8(w + c * ELEMENT), _mm256_loadu_ps(x + c), a0); \
    sum = wk_hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));

// Rows r..r+3 together, one accumulator each, every load of x serving all four.
#define WK_FOUR_ROWS(ELEMENT, LOAD8, SCALAR, STYPE)                                                  \
    for (; r + 4 <= rows; r += 4) {                                                                   \
        const uint8_t *w[4] = {base + r * row_stride, base + (r + 1) * row_stride,                   \
                               base + (r + 2) * row_stride, base + (r + 3) * row_stride};            \
        __m256 a[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()}; \
        size_t c = 0;                                                                                 \
        for (; c + 8 <= cols; c += 8) {                                                               \
            const __m256 xv = _mm256_loadu_ps(x + c);                                                 \
            WK_UNROLL for (int k = 0; k < 4; k++) a[k] = _mm256_fmadd_ps(LOAD8(w[k] + c * ELEMENT), xv, a[k]);  \
        }                                                                                             \
        WK_UNROLL for (int k = 0; k < 4; k++) {                                                                 \
            float sum = wk_hsum256(a[k]);                                                                   \
            for (size_t t = c; t < cols; t++) sum += SCALAR(((const STYPE *)w[k])[t]) * x[t];         \
            y[r + k] = sum;                                                                           \
        }                                                                                             \
    }
#else
#define WK_ROW_VECTOR(ELEMENT, LOAD8)
#define WK_FOUR_ROWS(ELEMENT, LOAD8, SCALAR, STYPE)
#endif

#if WK_HAS_AVX512
// With AVX-512: 16 values per vector, rows of any stored float type (ELEMENT bytes per value,
// LOAD16 loads 16 as __m512, SCALAR converts one for the tail).
//
// Short rows are read one after another, two cache lines of weights per step, one accumulator
// per vector (four for 16-bit types, two for float32; 20% more bandwidth per core than 8-wide
// vectors for float16, while float32 measured best at two): one sequential stream that the
// hardware prefetcher follows well, and x stays in L1.
//
// Long rows take a different order. Once x and one row no longer fit in about three quarters
// of the 32 KiB L1 (WK_L1_BUDGET), the weights streaming through L1 evict x before the next
// row reads it again, every load of x goes to L2, and bandwidth falls by half (float16 rows of
// 8,960 values: 11 GB/s on one core against 23 for rows of 896). There WK_MATVEC_ROW_GROUP (12)
// rows are read together, each load of x serving all of them: twelve sequential streams, which
// the prefetcher still follows, and a twelfth of the traffic for x. Measured on one core: float16
// rows of 4,864 values 19.5 -> 23 GB/s, 8,960 and 18,944 values 11 -> 26 GB/s; float32 rows
// of 4,864 20 -> 25.6 GB/s. On short rows the same grouping halves bandwidth (twelve streams
// restarting every row), hence the two orders.
#define WK_L1_BUDGET (24 * 1024)
#define WK_ROW_VECTORS(ELEMENT) (128 / (16 * (ELEMENT)))
#define WK_MATVEC_512(NAME, ELEMENT, STYPE, LOAD16, SCALAR)                                           \
void NAME(const void *weights, size_t row_stride, size_t rows, size_t cols, const float *x, float *y) { \
    const uint8_t *base = (const uint8_t *)weights;                                                 \
    size_t r = 0;                                                                                     \
    if (cols * (sizeof(float) + ELEMENT) > WK_L1_BUDGET) {                                            \
        for (; r + WK_MATVEC_ROW_GROUP <= rows; r += WK_MATVEC_ROW_GROUP) {                                         \
            const uint8_t *group = base + r * row_stride;                                             \
            __m512 z[WK_MATVEC_ROW_GROUP];                                                                   \
            WK_UNROLL for (int k = 0; k < WK_MATVEC_ROW_GROUP; k++) z[k] = _mm512_setzero_ps();                       \
            size_t c = 0;                                                                             \
            for (; c + 16 <= cols; c += 16) {                                                         \
                const __m512 xv = _mm512_loadu_ps(x + c);                                             \
                WK_UNROLL for (int k = 0; k < WK_MATVEC_ROW_GROUP; k++)                                                \
                    z[k] = _mm512_fmadd_ps(LOAD16((const STYPE *)(group + k * row_stride) + c), xv, z[k]); \
            }                                                                                         \
            WK_UNROLL for (int k = 0; k < WK_MATVEC_ROW_GROUP; k++) {                                                  \
                const STYPE *w = (const STYPE *)(group + k * row_stride);                             \
                float sum = _mm512_reduce_add_ps(z[k]);                                               \
                for (size_t t = c; t < cols; t++) sum += SCALAR(w[t]) * x[t];                         \
                y[r + k] = sum;                                                                       \
            }                                                                                         \
        }                                                                                             \
    }                                                                                                 \
    for (; r < rows; r++) {                                                                           \
        const STYPE *w = (const STYPE *)(base + r * row_stride);                                      \
        __m512 z[WK_ROW_VECTORS(ELEMENT)];                                                            \
        WK_UNROLL for (int u = 0; u < WK_ROW_VECTORS(ELEMENT); u++) z[u] = _mm512_setzero_ps();                 \
        size_t c = 0;                                                                                 \
        for (; c + 16 * WK_ROW_VECTORS(ELEMENT) <= cols; c += 16 * WK_ROW_VECTORS(ELEMENT))           \
            WK_UNROLL for (int u = 0; u < WK_ROW_VECTORS(ELEMENT); u++)                                         \
                z[u] = _mm512_fmadd_ps(LOAD16(w + c + 16 * u), _mm512_loadu_ps(x + c + 16 * u), z[u]); \
        for (; c + 16 <= cols; c += 16) z[0] = _mm512_fmadd_ps(LOAD16(w + c), _mm512_loadu_ps(x + c), z[0]); \
        for (int u = 1; u < WK_ROW_VECTORS(ELEMENT); u++) z[0] = _mm512_add_ps(z[0], z[u]);           \
        float sum = _mm512_reduce_add_ps(z[0]);                                                       \
        for (; c < cols; c++) sum += SCALAR(w[c]) * x[c];                                             \
        y[r] = sum;                                                                                   \
    }                                                                                                 \
}
static inline __m512 load16_f32(const float *p) { return _mm512_loadu_ps(p); }
static inline __m512 load16_f16(const uint16_t *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); }
static inline __m512 load16_bf16(const uint16_t *p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
}
WK_MATVEC_512(WK_FN(matvec_f32), 4, float, load16_f32, (float))
WK_MATVEC_512(WK_FN(matvec_f16), 2, uint16_t, load16_f16, wk_half_to_float)
WK_MATVEC_512(WK_FN(matvec_bf16), 2, uint16_t, load16_bf16, wk_bf16_to_float)
#else
WK_MATVEC(WK_FN(matvec_f32), 4, load_f32, (float), float, 4096)
WK_MATVEC(WK_FN(matvec_f16), 2, load_f16, wk_half_to_float, uint16_t, SIZE_MAX)
WK_MATVEC(WK_FN(matvec_bf16), 2, load_bf16, wk_bf16_to_float, uint16_t, SIZE_MAX)
#endif

float WK_FN(dot_f32)(const float *a, const float *b, size_t count) {
    size_t i = 0;
    float sum = 0;
#if WK_HAS_AVX512
    __m512 z0 = _mm512_setzero_ps(), z1 = z0, z2 = z0, z3 = z0;
    for (; i + 64 <= count; i += 64) {
        z0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), z0);
        z1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), z1);
        z2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), z2);
        z3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), z3);
    }
    for (; i + 16 <= count; i += 16) z0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), z0);
    sum = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(z0, z1), _mm512_add_ps(z2, z3)));
#elif WK_AVX2
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
    for (; i + 16 <= count; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    }
    sum = wk_hsum256(_mm256_add_ps(acc0, acc1));
#endif
    for (; i < count; i++) sum += a[i] * b[i];
    return sum;
}

void WK_FN(convert_f16)(const void *source, float *destination, size_t count) {
    const uint16_t *s = (const uint16_t *)source;
    size_t i = 0;
#if WK_AVX2
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(destination + i, load_f16(s + i));
#endif
    for (; i < count; i++) destination[i] = wk_half_to_float(s[i]);
}

void WK_FN(convert_bf16)(const void *source, float *destination, size_t count) {
    const uint16_t *s = (const uint16_t *)source;
    size_t i = 0;
#if WK_AVX2
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(destination + i, load_bf16(s + i));
#endif
    for (; i < count; i++) destination[i] = wk_bf16_to_float(s[i]);
}

#include "variant_end.h"
