// Vector kernels: matrix products over float and Q8_0 rows, activations, UTF-8 validation,
// encoders and hashing, in C because they need instructions (AVX-512 VNNI dpbusd, BF16
// dpbf16ps, AVX2 maddubs) that Swift's SIMD types do not express.
//
// Every kernel is compiled once per instruction-set variant (scalar x86-64 baseline, AVX2 with
// FMA and F16C, AVX-512 F/BW/DQ/VL, and the VNNI and BF16 extensions) with target attributes,
// not build flags, so one binary runs on any x86-64 processor. The kernels reach callers only
// through `struct wk_kernels`: an immutable table per tier (`wk_kernels_for`), which a caller
// picks once from what `wk_cpu_features` reports and passes along. Nothing is chosen behind
// the caller's back and no state is kept. See Docs/MODELS.md, "Instruction sets".
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "weightkit_quantize.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Activations quantised to 8 bits in blocks of 32: scale `d` (float) and 32 int8 values.
typedef struct {
    float d;
    int8_t qs[32];
} wk_block_q8_act;

/// Activations quantised to 8 bits in blocks of 256, for the K-quant and IQ4_XS products (as
/// llama.cpp's block_q8_K): scale `d` (float), 256 int8 values and the sum of each 16 of them.
typedef struct {
    float d;
    int8_t qs[256];
    int16_t bsums[16];
} wk_block_q8_k_act;

/// ggml type numbers of the weights `matvec_quant` and `gemm_quant` take. The 32-element types
/// read activations from `quantize_q8_act`, the 256-element ones from `quantize_q8_k_act`.
enum {
    WK_QUANT_Q4_0 = 2, WK_QUANT_Q4_1 = 3, WK_QUANT_Q5_0 = 6, WK_QUANT_Q5_1 = 7,
    WK_QUANT_Q2_K = 10, WK_QUANT_Q3_K = 11, WK_QUANT_Q4_K = 12, WK_QUANT_Q5_K = 13, WK_QUANT_Q6_K = 14,
    WK_QUANT_IQ4_NL = 20, WK_QUANT_IQ4_XS = 23,
};

/// ggml type numbers of the lattice, ternary and FP4 weights `matvec_lattice` takes (MXFP4,
/// NVFP4, Q1_0 and Q2_0 read activations from `quantize_q8_act`, the others from
/// `quantize_q8_k_act`).
enum {
    WK_QUANT_IQ2_XXS = 16, WK_QUANT_IQ2_XS = 17, WK_QUANT_IQ3_XXS = 18, WK_QUANT_IQ1_S = 19, WK_QUANT_IQ3_S = 21,
    WK_QUANT_IQ2_S = 22, WK_QUANT_IQ1_M = 29, WK_QUANT_TQ1_0 = 34, WK_QUANT_TQ2_0 = 35, WK_QUANT_MXFP4 = 39,
    WK_QUANT_NVFP4 = 40, WK_QUANT_Q1_0 = 41, WK_QUANT_Q2_0 = 42,
};

/// Size of the per-thread buffer of `gemm_quant` (bytes).
enum { WK_GEMM_QUANT_SCRATCH_BYTES = 24 * 1024 };

/// Rows that the matrix-vector kernels (float and Q8_0) read together once rows are long (see
/// bodies/matvec.h): callers that split a product over threads cut it at multiples of this.
#define WK_MATVEC_ROW_GROUP 12

/// Stored types `gemm` reads.
enum { WK_GEMM_F32 = 0, WK_GEMM_F16 = 1, WK_GEMM_BF16 = 2 };

/// Sizes of the per-thread packing buffers of `gemm`/`gemm_bf16_dot` (floats) and
/// `gemm_q8_0_panels` (bytes).
enum { WK_GEMM_SCRATCH_FLOATS = 256 * 32, WK_GEMM_Q8_0_SCRATCH_BYTES = 8 * (32 * 32 + 32 * 4 + 32 * 4) };

/// Instruction-set tiers.
enum { WK_TIER_SCALAR = 0, WK_TIER_AVX2 = 1, WK_TIER_AVX512 = 2 };

/// Extensions the AVX-512 tier uses where the processor has them (`extensions` of
/// `wk_kernels_for`).
enum { WK_EXTENSION_VNNI = 1, WK_EXTENSION_BF16 = 2 };

/// Processor features, as `wk_cpu_features` reports them. The AVX bits count only when the
/// operating system saves the registers (XGETBV: YMM state for AVX, opmask/ZMM for AVX-512).
enum {
    WK_CPU_AVX = 1 << 0,
    WK_CPU_AVX2 = 1 << 1,
    WK_CPU_FMA = 1 << 2,
    WK_CPU_F16C = 1 << 3,
    WK_CPU_AVX512F = 1 << 4,
    WK_CPU_AVX512BW = 1 << 5,
    WK_CPU_AVX512DQ = 1 << 6,
    WK_CPU_AVX512VL = 1 << 7,
    WK_CPU_AVX512VNNI = 1 << 8,
    WK_CPU_AVX512BF16 = 1 << 9,
    WK_CPU_OS_YMM = 1 << 10,   // the OS saves YMM state (XCR0 bits 1, 2)
    WK_CPU_OS_ZMM = 1 << 11,   // the OS saves opmask and ZMM state (XCR0 bits 5, 6, 7)
};

/// Features every tier needs (0 for scalar).
enum {
    WK_TIER_AVX2_FEATURES = WK_CPU_AVX | WK_CPU_AVX2 | WK_CPU_FMA | WK_CPU_F16C | WK_CPU_OS_YMM,
    WK_TIER_AVX512_FEATURES = WK_TIER_AVX2_FEATURES | WK_CPU_AVX512F | WK_CPU_AVX512BW | WK_CPU_AVX512DQ
                              | WK_CPU_AVX512VL | WK_CPU_OS_ZMM,
};

/// The features of the processor running this code, from CPUID and XGETBV (0 off x86-64).
/// Asks the processor on every call; the answer never changes within a process.
uint32_t wk_cpu_features(void);

/// One tier's kernels. Tables are static and immutable; they never check the processor, so a
/// caller must only use a table whose features `wk_cpu_features` reports.
struct wk_kernels {
    /// WK_TIER_* and the WK_EXTENSION_* bits this table uses.
    int tier;
    unsigned extensions;

    // MARK: Float rows

    /// y[r] = W[r] · x for `rows` rows of `cols` elements stored as float32, float16 or
    /// bfloat16, rows `row_stride` bytes apart. Accumulates in float32.
    void (*_Nonnull matvec_f32)(const void *_Nonnull weights, size_t row_stride, size_t rows, size_t cols,
                                const float *_Nonnull x, float *_Nonnull y);
    void (*_Nonnull matvec_f16)(const void *_Nonnull weights, size_t row_stride, size_t rows, size_t cols,
                                const float *_Nonnull x, float *_Nonnull y);
    void (*_Nonnull matvec_bf16)(const void *_Nonnull weights, size_t row_stride, size_t rows, size_t cols,
                                 const float *_Nonnull x, float *_Nonnull y);

    /// y[t * ldy + r] = Σ_k x[t * ldx + k] · W[r][k] for t < m, r < rows, k < cols: the prefill
    /// product with weight rows stored as float32, float16 or bfloat16 (`type`, WK_GEMM_*),
    /// `row_stride` bytes apart. `scratch` holds WK_GEMM_SCRATCH_FLOATS floats, one buffer per
    /// thread. Threads may share out the rows (any split; multiples of 32 rows run fastest).
    void (*_Nonnull gemm)(int type, const void *_Nonnull weights, size_t row_stride, size_t rows, size_t cols,
                          const float *_Nonnull x, size_t ldx, size_t m, float *_Nonnull y, size_t ldy,
                          float *_Nonnull scratch);
    /// 1 when `gemm` has a vector path in this tier (AVX-512), 0 when it is the plain loop.
    int gemm_vectorized;

    /// y[t * ldy + r] = Σ_k x[t][k] · W[r][k] with bfloat16 weights and activations already
    /// rounded to bfloat16 (`encode_bf16`; rows of x `ldx` values apart), products exact and
    /// sums in float32 (AVX-512 BF16 `vdpbf16ps`). `cols` must be even; `scratch` as for `gemm`.
    void (*_Nonnull gemm_bf16_dot)(const void *_Nonnull weights, size_t row_stride, size_t rows, size_t cols,
                                   const uint16_t *_Nonnull x, size_t ldx, size_t m, float *_Nonnull y, size_t ldy,
                                   float *_Nonnull scratch);
    /// 1 when `gemm_bf16_dot` has its AVX-512 BF16 path in this table.
    int gemm_bf16_dot_vectorized;

    /// Dot product of two float vectors.
    float (*_Nonnull dot_f32)(const float *_Nonnull a, const float *_Nonnull b, size_t count);

    /// Converts `count` float16 / bfloat16 values to float32.
    void (*_Nonnull convert_f16)(const void *_Nonnull source, float *_Nonnull destination, size_t count);
    void (*_Nonnull convert_bf16)(const void *_Nonnull source, float *_Nonnull destination, size_t count);

    // MARK: Decoding (bodies/decode.h)

    /// `count` elements (whole blocks) of a stored block type to float32, bit for bit as
    /// gguf-py's `dequantize`: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K.
    void (*_Nonnull decode_q8_0)(const void *_Nonnull source, float *_Nonnull destination, size_t count);
    void (*_Nonnull decode_q4_0)(const void *_Nonnull source, float *_Nonnull destination, size_t count);
    void (*_Nonnull decode_q4_1)(const void *_Nonnull source, float *_Nonnull destination, size_t count);
    void (*_Nonnull decode_q5_0)(const void *_Nonnull source, float *_Nonnull destination, size_t count);
    void (*_Nonnull decode_q5_1)(const void *_Nonnull source, float *_Nonnull destination, size_t count);
    void (*_Nonnull decode_q2_k)(const void *_Nonnull source, float *_Nonnull destination, size_t count);
    void (*_Nonnull decode_q3_k)(const void *_Nonnull source, float *_Nonnull destination, size_t count);
    void (*_Nonnull decode_q4_k)(const void *_Nonnull source, float *_Nonnull destination, size_t count);
    void (*_Nonnull decode_q5_k)(const void *_Nonnull source, float *_Nonnull destination, size_t count);
    void (*_Nonnull decode_q6_k)(const void *_Nonnull source, float *_Nonnull destination, size_t count);

    // MARK: Q8_0 rows

    /// Quantises `count` floats (a multiple of 32) into `count / 32` blocks: d = max|x| / 127,
    /// q = round(x / d).
    void (*_Nonnull quantize_q8_act)(const float *_Nonnull x, wk_block_q8_act *_Nonnull out, size_t count);

    /// Dot products of `rows` Q8_0 weight rows (ggml block_q8_0: f16 d, int8 qs[32]; each row
    /// `blocks` blocks, rows `row_stride` bytes apart) with quantised activations; results to `y`.
    void (*_Nonnull matvec_q8_0)(const void *_Nonnull weights, size_t row_stride, size_t rows, size_t blocks,
                                 const wk_block_q8_act *_Nonnull x, float *_Nonnull y);

    /// The same for `m` rows of quantised activations (`blocks` blocks each, one after
    /// another): y[t * ldy + r] = W[r] · x[t].
    void (*_Nonnull gemm_q8_0)(const void *_Nonnull weights, size_t row_stride, size_t rows, size_t blocks,
                               const wk_block_q8_act *_Nonnull x, size_t m, float *_Nonnull y, size_t ldy);

    /// Adds 128 to every quantised activation (as unsigned bytes: XOR 0x80), the form
    /// `gemm_q8_0_panels` reads.
    void (*_Nonnull offset_q8_act)(wk_block_q8_act *_Nonnull x, size_t blocks);

    /// y[t * ldy + r] = W[r] · x[t] for Q8_0 weights and activations from `quantize_q8_act`
    /// then `offset_q8_act` (`blocks` per row of x), with the arithmetic of `gemm_q8_0` (exact
    /// integer block products, scaled by d_w · d_x). Weight rows are repacked into 32-row
    /// panels in `scratch` (WK_GEMM_Q8_0_SCRATCH_BYTES bytes, one buffer per thread).
    void (*_Nonnull gemm_q8_0_panels)(const void *_Nonnull weights, size_t row_stride, size_t rows, size_t blocks,
                                      const wk_block_q8_act *_Nonnull x, size_t m, float *_Nonnull y, size_t ldy,
                                      void *_Nonnull scratch);
    /// 1 when `gemm_q8_0_panels` has its AVX-512 VNNI path in this table.
    int gemm_q8_0_panels_vectorized;

    // MARK: Other quantised rows (bodies/qdot.h)

    /// Quantises `count` floats (a multiple of 256) into `count / 256` blocks: d = max|x| / 127,
    /// q = round(x / d) (the rounding of `quantize_q8_act`), and the sums of each 16 q.
    void (*_Nonnull quantize_q8_k_act)(const float *_Nonnull x, wk_block_q8_k_act *_Nonnull out, size_t count);

    /// Dot products of `rows` weight rows of ggml type `type` (a WK_QUANT_* value; each row
    /// `blocks` blocks of the type, rows `row_stride` bytes apart) with activations quantised
    /// for the type (`wk_block_q8_act` for 32-element types, `wk_block_q8_k_act` for 256).
    /// Integer products of the stored quants with the 8-bit activations, scaled once per
    /// block (32-element types) or per 256 (the K-quants: sub-block scales and mins applied in
    /// integers, as llama.cpp does). Returns without writing for a type it does not take.
    void (*_Nonnull matvec_quant)(int type, const void *_Nonnull weights, size_t row_stride, size_t rows,
                                  size_t blocks, const void *_Nonnull x, float *_Nonnull y);

    /// The same for `m` rows of activations (`blocks` blocks each, one after another):
    /// y[t * ldy + r] = W[r] · x[t], with the arithmetic of `matvec_quant` per block. Weight
    /// rows are unpacked to int8 in groups of four, a chunk of blocks at a time, into `scratch`
    /// (WK_GEMM_QUANT_SCRATCH_BYTES bytes, one buffer per thread), and reused by every token.
    void (*_Nonnull gemm_quant)(int type, const void *_Nonnull weights, size_t row_stride, size_t rows,
                                size_t blocks, const void *_Nonnull x, size_t m, float *_Nonnull y, size_t ldy,
                                void *_Nonnull scratch);

    /// sums[b] = Σ_j x[b].qs[j] for `blocks` blocks of activations: the block sums that
    /// `gemm_quant_panels` takes with the 32-element types.
    void (*_Nonnull sum_q8_act)(const wk_block_q8_act *_Nonnull x, size_t blocks, int32_t *_Nonnull sums);

    /// `gemm_quant` (same arguments, results to float rounding) with weight rows repacked into
    /// 32-row panels of a chunk of 256 columns, as `gemm_q8_0_panels` does (bodies/qdot.h),
    /// with the quants stored unsigned and the activations as quantised. `sums`: the block
    /// sums of x (`sum_q8_act`, `blocks` per row of x) for the 32-element types; not read for
    /// the 256-element ones, whose activations carry their sums. `scratch`:
    /// WK_GEMM_QUANT_SCRATCH_BYTES bytes, one buffer per thread. Threads may share out the rows
    /// (multiples of 32 run fastest).
    void (*_Nonnull gemm_quant_panels)(int type, const void *_Nonnull weights, size_t row_stride, size_t rows,
                                       size_t blocks, const void *_Nonnull x, const int32_t *_Nullable sums, size_t m,
                                       float *_Nonnull y, size_t ldy, void *_Nonnull scratch);
    /// 1 when `gemm_quant_panels` has its AVX-512 VNNI path in this table (else it is
    /// `gemm_quant`).
    int gemm_quant_panels_vectorized;

    // MARK: Element-wise

    /// x[i] / (1 + e^(-alpha · x[i])) in place: SiLU (alpha 1), quick GELU (alpha 1.702).
    void (*_Nonnull sigmoid_gate)(float *_Nonnull x, size_t count, float alpha);
    /// out[i] = SiLU(gate[i]) · up[i].
    void (*_Nonnull swiglu)(const float *_Nonnull gate, const float *_Nonnull up, float *_Nonnull out, size_t count);

    // MARK: Bytes

    /// 1 when the `n` bytes at `p` are well-formed UTF-8 (RFC 3629: no overlongs, surrogates
    /// or values above U+10FFFF), else 0; 32 bytes at a time with AVX2.
    int (*_Nonnull utf8_valid)(const uint8_t *_Nullable p, size_t n);

    void (*_Nonnull sha256_init)(wk_sha256 *_Nonnull context);
    void (*_Nonnull sha256_update)(wk_sha256 *_Nonnull context, const void *_Nullable bytes, size_t count);
    void (*_Nonnull sha256_final)(wk_sha256 *_Nonnull context, uint8_t *_Nonnull digest);

    /// Counts NaNs and infinities among `count` floats.
    void (*_Nonnull count_nonfinite)(const float *_Nonnull values, size_t count, size_t *_Nonnull nans,
                                     size_t *_Nonnull infinities);

    // MARK: Encoders (float32 to stored ggml types; see bodies/quantize.h)

    /// float32 -> IEEE half, round to nearest even (NumPy's `astype(float16)`).
    void (*_Nonnull encode_f16)(const float *_Nonnull source, void *_Nonnull destination, size_t count);
    /// float32 -> bfloat16, round to nearest even, NaNs kept quiet (gguf-py's and ggml's rule).
    void (*_Nonnull encode_bf16)(const float *_Nonnull source, void *_Nonnull destination, size_t count);
    /// The 32-element block types, operation for operation as gguf-py's `gguf.quants`; the
    /// K-quants as llama.cpp's reference (non-imatrix) `quantize_row_q*_K_ref`. Each writes
    /// `count / block` whole blocks; `count` must be a multiple of the block size.
    void (*_Nonnull quantize_q8_0)(const float *_Nonnull source, void *_Nonnull destination, size_t count);
    void (*_Nonnull quantize_q4_0)(const float *_Nonnull source, void *_Nonnull destination, size_t count);
    void (*_Nonnull quantize_q4_1)(const float *_Nonnull source, void *_Nonnull destination, size_t count);
    void (*_Nonnull quantize_q5_0)(const float *_Nonnull source, void *_Nonnull destination, size_t count);
    void (*_Nonnull quantize_q5_1)(const float *_Nonnull source, void *_Nonnull destination, size_t count);
    void (*_Nonnull quantize_q4_k)(const float *_Nonnull source, void *_Nonnull destination, size_t count);
    void (*_Nonnull quantize_q5_k)(const float *_Nonnull source, void *_Nonnull destination, size_t count);
    void (*_Nonnull quantize_q6_k)(const float *_Nonnull source, void *_Nonnull destination, size_t count);

    // MARK: Lattice, ternary and MXFP4 rows (bodies/qdot_lattice.h)

    /// Dot products of `rows` weight rows of ggml type `type` (a WK_QUANT_* value of IQ1_S,
    /// IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, TQ1_0, TQ2_0, MXFP4, NVFP4, Q1_0 or Q2_0;
    /// each row `blocks` blocks of the type, rows `row_stride` bytes apart) with activations
    /// quantised for the type (`wk_block_q8_k_act`; `wk_block_q8_act` for MXFP4, NVFP4, Q1_0
    /// and Q2_0, whose blocks of 64 or 128 read 2 or 4 of them): the stored quants as integers times
    /// the 8-bit activations, group scales applied in integers, one float scaling per block.
    /// Returns without writing for a type it does not take.
    void (*_Nonnull matvec_lattice)(int type, const void *_Nonnull weights, size_t row_stride, size_t rows,
                                    size_t blocks, const void *_Nonnull x, float *_Nonnull y);

    // MARK: Element-wise, fused epilogues (last, so that the earlier fields keep their offsets)

    /// Exact GELU, x/2 · (1 + erf(x/√2)), of `rows` rows of `width` values in place, `bias`
    /// (one per column, may be null) added first. AVX-512: erf from Abramowitz and Stegun
    /// 7.1.26 (within 1.5e-7 of erf); scalar: libm's erff.
    void (*_Nonnull bias_gelu)(float *_Nonnull x, size_t rows, size_t width, const float *_Nullable bias);
    /// Softmax in place: exp(x - max) / Σ; a row that is all -infinity becomes all zeros.
    void (*_Nonnull softmax)(float *_Nonnull x, size_t count);
    /// LayerNorm of residual sums, in place: row = LN(row + (add[row] + add_bias)) with the
    /// population variance; `add` (rows x width) and `add_bias` (width) may be null, `bias` too.
    void (*_Nonnull add_layer_norm)(float *_Nonnull x, const float *_Nullable add, const float *_Nullable add_bias,
                                    size_t rows, size_t width, const float *_Nonnull weight,
                                    const float *_Nullable bias, float epsilon);
};

/// The table of `tier` (WK_TIER_*) using `extensions` (WK_EXTENSION_* bits; AVX-512 only), or
/// NULL for a tier this build does not have (AVX2 and AVX-512 off x86-64) or extensions the
/// tier does not take. Does not look at the processor (see `wk_cpu_features`).
const struct wk_kernels *_Nullable wk_kernels_for(int tier, unsigned extensions);

/// A hint to the processor that the caller is in a spin-wait loop (x86 `pause`).
static inline void wk_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#ifdef __cplusplus
}
#endif
