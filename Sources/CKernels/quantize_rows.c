// wk_quantize_rows: one entry point over every type WeightKit writes, by ggml type id, as
// llama.cpp's ggml_quantize_chunk dispatches (see weightkit_quantize.h).
#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)
#include "weightkit_quantize.h"
#include "quantize_internal.h"

// ggml type ids (ggml.h enum ggml_type).
enum {
    T_F32 = 0, T_F16 = 1, T_Q4_0 = 2, T_Q4_1 = 3, T_Q5_0 = 6, T_Q5_1 = 7, T_Q8_0 = 8,
    T_Q2_K = 10, T_Q3_K = 11, T_Q4_K = 12, T_Q5_K = 13, T_Q6_K = 14,
    T_IQ2_XXS = 16, T_IQ2_XS = 17, T_IQ3_XXS = 18, T_IQ1_S = 19, T_IQ4_NL = 20, T_IQ3_S = 21, T_IQ2_S = 22,
    T_IQ4_XS = 23, T_IQ1_M = 29, T_BF16 = 30, T_TQ1_0 = 34, T_TQ2_0 = 35, T_MXFP4 = 39, T_Q1_0 = 41, T_Q2_0 = 42,
};

int64_t wk_quantize_block_size(uint32_t type) {
    switch (type) {
    case T_F32: case T_F16: case T_BF16: return 1;
    case T_Q4_0: case T_Q4_1: case T_Q5_0: case T_Q5_1: case T_Q8_0: case T_IQ4_NL: case T_MXFP4: return 32;
    case T_Q1_0: return 128;
    case T_Q2_0: return 64;
    case T_Q2_K: case T_Q3_K: case T_Q4_K: case T_Q5_K: case T_Q6_K: case T_IQ2_XXS: case T_IQ2_XS: case T_IQ3_XXS:
    case T_IQ1_S: case T_IQ3_S: case T_IQ2_S: case T_IQ4_XS: case T_IQ1_M: case T_TQ1_0: case T_TQ2_0: return WK_QK_K;
    default: return 0;
    }
}

int wk_quantize_requires_importance(uint32_t type) {
    return type == T_IQ2_XXS || type == T_IQ2_XS || type == T_IQ1_S;
}

int wk_quantize_rows(uint32_t type, const float *source, void *destination, int64_t rows, int64_t row_length,
                     const float *importance) {
    return wk_quantize_rows_choosing(type, source, destination, rows, row_length, importance, wk_quantize_lanes_available());
}

int wk_quantize_rows_choosing(uint32_t type, const float *source, void *destination, int64_t rows, int64_t row_length,
                              const float *importance, int use_lanes) {
    const int64_t block = wk_quantize_block_size(type);
    if (block == 0 || rows < 0 || row_length <= 0 || row_length % block != 0) return -1;
    if (!importance && wk_quantize_requires_importance(type)) return -1;
    const size_t count = (size_t)(rows * row_length);
    const int lanes = use_lanes && wk_quantize_lanes_available();
    const float *x = source;
    uint8_t *y = destination;
    switch (type) {
    case T_F32: memcpy(y, x, count * sizeof(float)); return 0;
    case T_F16: wk_encode_f16(x, y, count); return 0;
    case T_BF16: wk_encode_bf16(x, y, count); return 0;
    case T_Q8_0: wk_quantize_q8_0(x, y, count); return 0;
    case T_Q4_0: if (importance) wk_quantize_rows_q4_0_weighted(x, y, rows, row_length, importance); else wk_quantize_q4_0(x, y, count); return 0;
    case T_Q4_1: if (importance) wk_quantize_rows_q4_1_weighted(x, y, rows, row_length, importance); else wk_quantize_q4_1(x, y, count); return 0;
    case T_Q5_0: if (importance) wk_quantize_rows_q5_0_weighted(x, y, rows, row_length, importance); else wk_quantize_q5_0(x, y, count); return 0;
    case T_Q5_1: if (importance) wk_quantize_rows_q5_1_weighted(x, y, rows, row_length, importance); else wk_quantize_q5_1(x, y, count); return 0;
    case T_Q4_K: if (lanes) wk_quantize_rows_q4_k_lanes(x, y, rows, row_length, importance); else if (importance) wk_quantize_rows_q4_k_weighted(x, y, rows, row_length, importance); else wk_quantize_q4_k(x, y, count); return 0;
    case T_Q5_K: if (lanes) wk_quantize_rows_q5_k_lanes(x, y, rows, row_length, importance); else if (importance) wk_quantize_rows_q5_k_weighted(x, y, rows, row_length, importance); else wk_quantize_q5_k(x, y, count); return 0;
    case T_Q6_K: if (lanes) wk_quantize_rows_q6_k_lanes(x, y, rows, row_length, importance); else if (importance) wk_quantize_rows_q6_k_weighted(x, y, rows, row_length, importance); else wk_quantize_q6_k(x, y, count); return 0;
    case T_Q2_K:
        if (lanes) wk_quantize_rows_q2_k_lanes(x, y, rows, row_length, importance);
        else wk_quantize_rows_q2_k(x, y, rows, row_length, importance);
        return 0;
    case T_Q3_K: wk_quantize_rows_q3_k(x, y, rows, row_length, importance); return 0;
    case T_Q1_0: wk_quantize_blocks_q1_0(x, y, (int64_t)count); return 0;
    case T_Q2_0: wk_quantize_blocks_q2_0(x, y, (int64_t)count); return 0;
    case T_MXFP4: wk_quantize_blocks_mxfp4(x, y, (int64_t)count); return 0;
    case T_TQ1_0: wk_quantize_blocks_tq1_0(x, y, (int64_t)count); return 0;
    case T_TQ2_0: wk_quantize_blocks_tq2_0(x, y, (int64_t)count); return 0;
    case T_IQ4_NL:
        if (lanes) wk_quantize_rows_iq4_nl_lanes(x, y, rows, row_length, importance);
        else wk_quantize_rows_iq4_nl(x, y, rows, row_length, importance);
        return 0;
    case T_IQ4_XS:
        if (lanes) wk_quantize_rows_iq4_xs_lanes(x, y, rows, row_length, importance);
        else wk_quantize_rows_iq4_xs(x, y, rows, row_length, importance);
        return 0;
    case T_IQ2_XXS: return wk_quantize_rows_iq2_xxs(x, y, rows, row_length, importance);
    case T_IQ2_XS: return wk_quantize_rows_iq2_xs(x, y, rows, row_length, importance);
    case T_IQ2_S: return wk_quantize_rows_iq2_s(x, y, rows, row_length, importance);
    case T_IQ3_XXS: return wk_quantize_rows_iq3_xxs(x, y, rows, row_length, importance);
    case T_IQ3_S: return wk_quantize_rows_iq3_s(x, y, rows, row_length, importance);
    case T_IQ1_S: return wk_quantize_rows_iq1_s(x, y, rows, row_length, importance);
    case T_IQ1_M: return wk_quantize_rows_iq1_m(x, y, rows, row_length, importance);
    default: return -1;
    }
}
