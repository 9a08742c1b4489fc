// The processor probe and the kernel tables: one immutable table per tier (and, for AVX-512,
// per combination of the VNNI and BF16 extensions), each pointing at the variant of every
// kernel that the tier runs. Compiled for the baseline; nothing here uses vector instructions.
#include "weightkit_kernels.h"
#if defined(__x86_64__)
#include <cpuid.h>
#endif

// MARK: Processor features

#if defined(__x86_64__)
/// XCR0, the register states the operating system saves on a context switch.
static uint64_t enabled_states(void) {
    uint32_t low, high;
    __asm__ __volatile__("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    return ((uint64_t)high << 32) | low;
}
#endif

uint32_t wk_cpu_features(void) {
    uint32_t features = 0;
#if defined(__x86_64__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (c & (1u << 12)) features |= WK_CPU_FMA;
    if (c & (1u << 28)) features |= WK_CPU_AVX;
    if (c & (1u << 29)) features |= WK_CPU_F16C;
    if (c & (1u << 27)) {  // OSXSAVE: XGETBV is available
        const uint64_t states = enabled_states();
        if ((states & 0x6) == 0x6) features |= WK_CPU_OS_YMM;           // SSE, AVX
        if ((states & 0xe6) == 0xe6) features |= WK_CPU_OS_ZMM;         // and opmask, ZMM0-15, ZMM16-31
    }
    if (__get_cpuid_max(0, 0) >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        const unsigned subleaves = a;
        if (b & (1u << 5)) features |= WK_CPU_AVX2;
        if (b & (1u << 16)) features |= WK_CPU_AVX512F;
        if (b & (1u << 17)) features |= WK_CPU_AVX512DQ;
        if (b & (1u << 30)) features |= WK_CPU_AVX512BW;
        if (b & (1u << 31)) features |= WK_CPU_AVX512VL;
        if (c & (1u << 11)) features |= WK_CPU_AVX512VNNI;
        if (subleaves >= 1) {
            __cpuid_count(7, 1, a, b, c, d);
            if (a & (1u << 5)) features |= WK_CPU_AVX512BF16;
        }
    }
#endif
    return features;
}

// MARK: Variants

#define WK_FLOAT_ROWS(V)                                                                                    \
    void wk_matvec_f32_##V(const void *, size_t, size_t, size_t, const float *, float *);                \
    void wk_matvec_f16_##V(const void *, size_t, size_t, size_t, const float *, float *);                \
    void wk_matvec_bf16_##V(const void *, size_t, size_t, size_t, const float *, float *);               \
    float wk_dot_f32_##V(const float *, const float *, size_t);                                          \
    void wk_convert_f16_##V(const void *, float *, size_t);                                              \
    void wk_convert_bf16_##V(const void *, float *, size_t);
#define WK_Q8(V)                                                                                            \
    void wk_quantize_q8_act_##V(const float *, wk_block_q8_act *, size_t);                               \
    void wk_matvec_q8_0_##V(const void *, size_t, size_t, size_t, const wk_block_q8_act *, float *);     \
    void wk_gemm_q8_0_##V(const void *, size_t, size_t, size_t, const wk_block_q8_act *, size_t, float *, size_t);
#define WK_QDOT(V)                                                                                          \
    void wk_quantize_q8_k_act_##V(const float *, wk_block_q8_k_act *, size_t);                           \
    void wk_matvec_quant_##V(int, const void *, size_t, size_t, size_t, const void *, float *);          \
    void wk_gemm_quant_##V(int, const void *, size_t, size_t, size_t, const void *, size_t, float *, size_t, void *); \
    void wk_sum_q8_act_##V(const wk_block_q8_act *, size_t, int32_t *);
#define WK_QPANELS(V)                                                                                       \
    void wk_gemm_quant_panels_##V(int, const void *, size_t, size_t, size_t, const void *, const int32_t *, size_t, \
                                  float *, size_t, void *);
#define WK_GEMM(V)                                                                                          \
    void wk_gemm_##V(int, const void *, size_t, size_t, size_t, const float *, size_t, size_t, float *, size_t, float *);
#define WK_GEMM_PANELS(V)                                                                                   \
    void wk_gemm_q8_0_panels_##V(const void *, size_t, size_t, size_t, const wk_block_q8_act *, size_t, float *, \
                                 size_t, void *);
#define WK_GEMM_BF16(V)                                                                                     \
    void wk_gemm_bf16_dot_##V(const void *, size_t, size_t, size_t, const uint16_t *, size_t, size_t, float *, \
                              size_t, float *);
#define WK_ACTIVATIONS(V)                                                                                   \
    void wk_sigmoid_gate_##V(float *, size_t, float);                                                    \
    void wk_swiglu_##V(const float *, const float *, float *, size_t);                                   \
    void wk_bias_gelu_##V(float *, size_t, size_t, const float *);                                       \
    void wk_softmax_##V(float *, size_t);                                                                \
    void wk_add_layer_norm_##V(float *, const float *, const float *, size_t, size_t, const float *,     \
                               const float *, float);
#define WK_UTF8(V) int wk_utf8_valid_##V(const uint8_t *, size_t);
#define WK_BYTES(V)                                                                                         \
    void wk_sha256_init_##V(wk_sha256 *);                                                                \
    void wk_sha256_update_##V(wk_sha256 *, const void *, size_t);                                        \
    void wk_sha256_final_##V(wk_sha256 *, uint8_t *);                                                    \
    void wk_count_nonfinite_##V(const float *, size_t, size_t *, size_t *);
#define WK_ENCODERS(V)                                                                                      \
    void wk_encode_f16_##V(const float *, void *, size_t);                                               \
    void wk_encode_bf16_##V(const float *, void *, size_t);                                              \
    void wk_quantize_q8_0_##V(const float *, void *, size_t);                                            \
    void wk_quantize_q4_0_##V(const float *, void *, size_t);                                            \
    void wk_quantize_q4_1_##V(const float *, void *, size_t);                                            \
    void wk_quantize_q5_0_##V(const float *, void *, size_t);                                            \
    void wk_quantize_q5_1_##V(const float *, void *, size_t);                                            \
    void wk_quantize_q4_k_##V(const float *, void *, size_t);                                            \
    void wk_quantize_q5_k_##V(const float *, void *, size_t);                                            \
    void wk_quantize_q6_k_##V(const float *, void *, size_t);

#define WK_DECODE(V)                                                                                        \
    void wk_decode_q8_0_##V(const void *, float *, size_t);                                              \
    void wk_decode_q4_0_##V(const void *, float *, size_t);                                              \
    void wk_decode_q4_1_##V(const void *, float *, size_t);                                              \
    void wk_decode_q5_0_##V(const void *, float *, size_t);                                              \
    void wk_decode_q5_1_##V(const void *, float *, size_t);                                              \
    void wk_decode_q2_k_##V(const void *, float *, size_t);                                              \
    void wk_decode_q3_k_##V(const void *, float *, size_t);                                              \
    void wk_decode_q4_k_##V(const void *, float *, size_t);                                              \
    void wk_decode_q5_k_##V(const void *, float *, size_t);                                              \
    void wk_decode_q6_k_##V(const void *, float *, size_t);

// Which variants exist of which body (the files under variants/).
WK_FLOAT_ROWS(scalar) WK_Q8(scalar) WK_QDOT(scalar) WK_GEMM(scalar) WK_GEMM_PANELS(scalar) WK_GEMM_BF16(scalar)
WK_ACTIVATIONS(scalar) WK_UTF8(scalar) WK_BYTES(scalar) WK_ENCODERS(scalar) WK_DECODE(scalar) WK_QPANELS(scalar)
void wk_offset_q8_act_scalar(wk_block_q8_act *, size_t);
#if defined(__x86_64__)
WK_FLOAT_ROWS(avx2) WK_Q8(avx2) WK_QDOT(avx2) WK_UTF8(avx2) WK_BYTES(avx2) WK_ENCODERS(avx2) WK_DECODE(avx2)
WK_FLOAT_ROWS(avx512) WK_Q8(avx512) WK_QDOT(avx512) WK_GEMM(avx512) WK_ACTIVATIONS(avx512) WK_BYTES(avx512) WK_ENCODERS(avx512)
WK_DECODE(avx512)
WK_Q8(avx512vnni) WK_QDOT(avx512vnni) WK_GEMM_PANELS(avx512vnni) WK_QPANELS(avx512vnni)
WK_GEMM_BF16(avx512bf16)
#endif

// The lattice, ternary and MXFP4 rows (bodies/qdot_lattice.h), in the Q8 variants.
#define WK_QDOT_LATTICE(V) void wk_matvec_lattice_##V(int, const void *, size_t, size_t, size_t, const void *, float *);
WK_QDOT_LATTICE(scalar)
#if defined(__x86_64__)
WK_QDOT_LATTICE(avx2) WK_QDOT_LATTICE(avx512) WK_QDOT_LATTICE(avx512vnni)
#endif

// MARK: Tables

/// A tier's table from the variant of each group of kernels: float rows, Q8_0 rows (and the
/// other quantised rows, bodies/qdot.h), the float prefill product, Q8_0 panels (and the other
/// quantised types' panels), bfloat16 pair products, activations, UTF-8, hashing, encoders;
/// decoders take the variant of the float rows. The V flags say whether the prefill products
/// have their vector paths.
#define WK_TABLE(TIER, EXT, ROWS, Q8, GEMM, GEMM_V, PANELS, PANELS_V, BF16, BF16_V, ACT, UTF8, BYTES, ENC)      \
    {                                                                                                       \
        .decode_q8_0 = wk_decode_q8_0_##ROWS, .decode_q4_0 = wk_decode_q4_0_##ROWS,                         \
        .decode_q4_1 = wk_decode_q4_1_##ROWS, .decode_q5_0 = wk_decode_q5_0_##ROWS,                         \
        .decode_q5_1 = wk_decode_q5_1_##ROWS, .decode_q4_k = wk_decode_q4_k_##ROWS,                         \
        .decode_q2_k = wk_decode_q2_k_##ROWS, .decode_q3_k = wk_decode_q3_k_##ROWS,                         \
        .decode_q5_k = wk_decode_q5_k_##ROWS, .decode_q6_k = wk_decode_q6_k_##ROWS,                         \
        .tier = TIER, .extensions = EXT,                                                                    \
        .matvec_f32 = wk_matvec_f32_##ROWS, .matvec_f16 = wk_matvec_f16_##ROWS,                             \
        .matvec_bf16 = wk_matvec_bf16_##ROWS,                                                               \
        .gemm = wk_gemm_##GEMM, .gemm_vectorized = GEMM_V,                                                  \
        .gemm_bf16_dot = wk_gemm_bf16_dot_##BF16, .gemm_bf16_dot_vectorized = BF16_V,                       \
        .dot_f32 = wk_dot_f32_##ROWS, .convert_f16 = wk_convert_f16_##ROWS,                                 \
        .convert_bf16 = wk_convert_bf16_##ROWS,                                                             \
        .quantize_q8_act = wk_quantize_q8_act_##Q8, .matvec_q8_0 = wk_matvec_q8_0_##Q8,                     \
        .gemm_q8_0 = wk_gemm_q8_0_##Q8, .offset_q8_act = wk_offset_q8_act_scalar,                           \
        .quantize_q8_k_act = wk_quantize_q8_k_act_##Q8, .matvec_quant = wk_matvec_quant_##Q8,                \
        .gemm_quant = wk_gemm_quant_##Q8, .sum_q8_act = wk_sum_q8_act_##Q8,                                 \
        .gemm_quant_panels = wk_gemm_quant_panels_##PANELS, .gemm_quant_panels_vectorized = PANELS_V,       \
        .gemm_q8_0_panels = wk_gemm_q8_0_panels_##PANELS, .gemm_q8_0_panels_vectorized = PANELS_V,          \
        .sigmoid_gate = wk_sigmoid_gate_##ACT, .swiglu = wk_swiglu_##ACT,                                   \
        .bias_gelu = wk_bias_gelu_##ACT, .softmax = wk_softmax_##ACT,                                       \
        .add_layer_norm = wk_add_layer_norm_##ACT,                                                          \
        .utf8_valid = wk_utf8_valid_##UTF8,                                                                 \
        .sha256_init = wk_sha256_init_##BYTES, .sha256_update = wk_sha256_update_##BYTES,                   \
        .sha256_final = wk_sha256_final_##BYTES, .count_nonfinite = wk_count_nonfinite_##BYTES,             \
        .encode_f16 = wk_encode_f16_##ENC, .encode_bf16 = wk_encode_bf16_##ENC,                             \
        .quantize_q8_0 = wk_quantize_q8_0_##ENC, .quantize_q4_0 = wk_quantize_q4_0_##ENC,                   \
        .quantize_q4_1 = wk_quantize_q4_1_##ENC, .quantize_q5_0 = wk_quantize_q5_0_##ENC,                   \
        .quantize_q5_1 = wk_quantize_q5_1_##ENC, .quantize_q4_k = wk_quantize_q4_k_##ENC,                   \
        .quantize_q5_k = wk_quantize_q5_k_##ENC, .quantize_q6_k = wk_quantize_q6_k_##ENC,                   \
        .matvec_lattice = wk_matvec_lattice_##Q8,                                                           \
    }

static const struct wk_kernels scalar_table =
    WK_TABLE(WK_TIER_SCALAR, 0, scalar, scalar, scalar, 0, scalar, 0, scalar, 0, scalar, scalar, scalar, scalar);

#if defined(__x86_64__)
// AVX2: the float prefill product and the quantised panels have no AVX2 path (callers use BLAS,
// gemm_q8_0 and gemm_quant); activations call libm's expf.
static const struct wk_kernels avx2_table =
    WK_TABLE(WK_TIER_AVX2, 0, avx2, avx2, scalar, 0, scalar, 0, scalar, 0, scalar, avx2, avx2, avx2);

// AVX-512, indexed by the extension bits. Without VNNI, Q8_0 rows take the AVX2 integer
// products (maddubs, madd) compiled for AVX-512 and prefill takes gemm_q8_0 and gemm_quant (no
// panels); without BF16, bfloat16 prefill takes the float product on rows converted while
// packing.
static const struct wk_kernels avx512_tables[4] = {
    WK_TABLE(WK_TIER_AVX512, 0, avx512, avx512, avx512, 1, scalar, 0, scalar, 0, avx512, avx2, avx512, avx512),
    WK_TABLE(WK_TIER_AVX512, WK_EXTENSION_VNNI, avx512, avx512vnni, avx512, 1, avx512vnni, 1, scalar, 0, avx512, avx2,
             avx512, avx512),
    WK_TABLE(WK_TIER_AVX512, WK_EXTENSION_BF16, avx512, avx512, avx512, 1, scalar, 0, avx512bf16, 1, avx512, avx2,
             avx512, avx512),
    WK_TABLE(WK_TIER_AVX512, WK_EXTENSION_VNNI | WK_EXTENSION_BF16, avx512, avx512vnni, avx512, 1, avx512vnni, 1,
             avx512bf16, 1, avx512, avx2, avx512, avx512),
};
#endif

const struct wk_kernels *wk_kernels_for(int tier, unsigned extensions) {
    switch (tier) {
    case WK_TIER_SCALAR: return extensions == 0 ? &scalar_table : 0;
#if defined(__x86_64__)
    case WK_TIER_AVX2: return extensions == 0 ? &avx2_table : 0;
    case WK_TIER_AVX512: return extensions < 4 ? &avx512_tables[extensions] : 0;
#endif
    default: return 0;
    }
}
