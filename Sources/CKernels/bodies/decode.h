// Decoding of stored block types to float32, for the decode-then-dot matrix products and for
// tensors read as floats: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 and the K-quants Q2_K ... Q6_K.
// Arithmetic follows gguf-py's `quants.py` operation by operation (as WeightFormats' Swift
// decoders, which these replace for these types), so every variant writes the same bits:
// nothing is contracted into fused multiply-adds. The loops are plain C over one block's 16 or
// 32 elements, which the compiler vectorises for each variant (scalar, AVX2, AVX-512).
#include "variant.h"

#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)


/// block_q8_0: f16 d, int8 qs[32]; x = d * q.
void WK_FN(decode_q8_0)(const void *restrict source, float *restrict destination, size_t count) {
    const uint8_t *restrict s = (const uint8_t *)source;
    for (size_t b = 0; b < count / 32; b++, s += 34, destination += 32) {
        const float d = wk_half_scale_at(s);
        const int8_t *q = (const int8_t *)(s + 2);
        for (int j = 0; j < 32; j++) destination[j] = d * (float)q[j];
    }
}

/// block_q4_0: f16 d, qs[16] (element j in the low nibble of byte j, j + 16 in the high one);
/// x = d * (q - 8).
void WK_FN(decode_q4_0)(const void *restrict source, float *restrict destination, size_t count) {
    const uint8_t *restrict s = (const uint8_t *)source;
    for (size_t b = 0; b < count / 32; b++, s += 18, destination += 32) {
        const float d = wk_half_scale_at(s);
        for (int j = 0; j < 16; j++) {
            destination[j] = d * (float)((int)(s[2 + j] & 0x0F) - 8);
            destination[j + 16] = d * (float)((int)(s[2 + j] >> 4) - 8);
        }
    }
}

/// block_q4_1: f16 d, f16 m, qs[16] (as Q4_0); x = (d * q) + m.
void WK_FN(decode_q4_1)(const void *restrict source, float *restrict destination, size_t count) {
    const uint8_t *restrict s = (const uint8_t *)source;
    for (size_t b = 0; b < count / 32; b++, s += 20, destination += 32) {
        const float d = wk_half_scale_at(s), m = wk_half_scale_at(s + 2);
        for (int j = 0; j < 16; j++) {
            destination[j] = d * (float)(s[4 + j] & 0x0F) + m;
            destination[j + 16] = d * (float)(s[4 + j] >> 4) + m;
        }
    }
}

/// The five-bit quants of Q5_0 and Q5_1: nibbles as Q4_0, bit j of the little-endian u32 `qh`
/// the fifth bit of element j.
static inline void five_bit_quants(const uint8_t *qh_bytes, const uint8_t *qs, int32_t q[32]) {
    uint32_t qh;
    memcpy(&qh, qh_bytes, 4);
    for (int j = 0; j < 16; j++) {
        q[j] = (int32_t)((qs[j] & 0x0F) | (((qh >> j) & 1) << 4));
        q[j + 16] = (int32_t)((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4));
    }
}

/// block_q5_0: f16 d, u32 qh, qs[16]; x = d * (q - 16).
void WK_FN(decode_q5_0)(const void *restrict source, float *restrict destination, size_t count) {
    const uint8_t *restrict s = (const uint8_t *)source;
    int32_t q[32];
    for (size_t b = 0; b < count / 32; b++, s += 22, destination += 32) {
        const float d = wk_half_scale_at(s);
        five_bit_quants(s + 2, s + 6, q);
        for (int j = 0; j < 32; j++) destination[j] = d * (float)(q[j] - 16);
    }
}

/// block_q5_1: f16 d, f16 m, u32 qh, qs[16]; x = (d * q) + m.
void WK_FN(decode_q5_1)(const void *restrict source, float *restrict destination, size_t count) {
    const uint8_t *restrict s = (const uint8_t *)source;
    int32_t q[32];
    for (size_t b = 0; b < count / 32; b++, s += 24, destination += 32) {
        const float d = wk_half_scale_at(s), m = wk_half_scale_at(s + 2);
        five_bit_quants(s + 4, s + 8, q);
        for (int j = 0; j < 32; j++) destination[j] = d * (float)q[j] + m;
    }
}

/// block_q2_K: scales[16] (low nibble scale, high nibble min, per 16 elements), qs[64] (2-bit
/// fields: element 128h + 32k + l is bits 2k, 2k+1 of qs[32h + l]), f16 d, f16 dmin;
/// x = (d * sc) * q - (dmin * m).
void WK_FN(decode_q2_k)(const void *restrict source, float *restrict destination, size_t count) {
    const uint8_t *restrict s = (const uint8_t *)source;
    float scale[16], minimum[16];
    for (size_t b = 0; b < count / 256; b++, s += 84, destination += 256) {
        const float d = wk_half_scale_at(s + 80), dmin = wk_half_scale_at(s + 82);
        for (int j = 0; j < 16; j++) {
            scale[j] = d * (float)(s[j] & 0x0F);
            minimum[j] = dmin * (float)(s[j] >> 4);
        }
        for (int h = 0; h < 2; h++)
            for (int k = 0; k < 4; k++)
                for (int part = 0; part < 2; part++) {
                    const int sub = 8 * h + 2 * k + part;
                    const uint8_t *qs = s + 16 + 32 * h + 16 * part;
                    float *out = destination + 16 * sub;
                    for (int l = 0; l < 16; l++) out[l] = scale[sub] * (float)((qs[l] >> (2 * k)) & 3) - minimum[sub];
                }
    }
}

/// block_q3_K: hmask[32] (bit 4h + k of byte l: high bit of element 128h + 32k + l), qs[64]
/// (low 2-bit fields, as Q2_K), scales[12] (sixteen 6-bit scales: scale i has its low nibble in
/// byte i % 8, low for i < 8 and high otherwise, and bits 4, 5 in bits 2(i / 4) of byte
/// 8 + i % 4; minus 32), f16 d; x = (d * (sc - 32)) * (q - (high bit set ? 0 : 4)).
void WK_FN(decode_q3_k)(const void *restrict source, float *restrict destination, size_t count) {
    const uint8_t *restrict s = (const uint8_t *)source;
    float scale[16];
    for (size_t b = 0; b < count / 256; b++, s += 110, destination += 256) {
        const float d = wk_half_scale_at(s + 108);
        const uint8_t *sc = s + 96;
        for (int i = 0; i < 16; i++) {
            const int low = i < 8 ? sc[i] & 0x0F : sc[i - 8] >> 4;
            const int high = (sc[8 + i % 4] >> (2 * (i / 4))) & 3;
            scale[i] = d * (float)((low | (high << 4)) - 32);
        }
        for (int h = 0; h < 2; h++)
            for (int k = 0; k < 4; k++)
                for (int part = 0; part < 2; part++) {
                    const int sub = 8 * h + 2 * k + part;
                    const uint8_t *qs = s + 32 + 32 * h + 16 * part, *hmask = s + 16 * part;
                    float *out = destination + 16 * sub;
                    for (int l = 0; l < 16; l++) {
                        const int q = ((qs[l] >> (2 * k)) & 3) - ((((hmask[l] >> (4 * h + k)) & 1) ^ 1) << 2);
                        out[l] = scale[sub] * (float)q;
                    }
                }
    }
}

/// The eight (d * scale) and (dmin * min) factors of Q4_K and Q5_K: 6-bit scales and mins
/// packed in 12 bytes (sub-blocks 0..<4 in the low 6 bits of bytes 0..<4 and 4..<8; 4..<8 in
/// the nibbles of bytes 8..<12 plus the top 2 bits of bytes 0..<8).
static inline void k_factors(const uint8_t *restrict block, float *restrict scale, float *restrict minimum) {
    const float d = wk_half_scale_at(block), dmin = wk_half_scale_at(block + 2);
    const uint8_t *q = block + 4;
    for (int j = 0; j < 4; j++) {
        scale[j] = d * (float)(q[j] & 63);
        minimum[j] = dmin * (float)(q[j + 4] & 63);
        scale[j + 4] = d * (float)((q[j + 8] & 0x0F) | ((q[j] >> 6) << 4));
        minimum[j + 4] = dmin * (float)((q[j + 8] >> 4) | ((q[j + 4] >> 6) << 4));
    }
}

/// block_q4_K: f16 d, f16 dmin, scales[12], qs[128]: bytes 32i..<32i+32 hold sub-block 2i in
/// their low nibbles and 2i+1 in their high nibbles; x = (d * sc) * q - (dmin * m).
void WK_FN(decode_q4_k)(const void *restrict source, float *restrict destination, size_t count) {
    const uint8_t *restrict s = (const uint8_t *)source;
    float scale[8], minimum[8];
    for (size_t b = 0; b < count / 256; b++, s += 144, destination += 256) {
        k_factors(s, scale, minimum);
        for (int i = 0; i < 4; i++) {
            const uint8_t *qs = s + 16 + 32 * i;
            float *low = destination + 64 * i, *high = low + 32;
            const float s0 = scale[2 * i], m0 = minimum[2 * i], s1 = scale[2 * i + 1], m1 = minimum[2 * i + 1];
            for (int l = 0; l < 32; l++) {
                low[l] = s0 * (float)(qs[l] & 0x0F) - m0;
                high[l] = s1 * (float)(qs[l] >> 4) - m1;
            }
        }
    }
}

/// block_q5_K: f16 d, f16 dmin, scales[12] (as Q4_K), qh[32] (bit j of byte l: fifth bit of
/// element 32j + l), qs[128] (as Q4_K); x = (d * sc) * q - (dmin * m).
void WK_FN(decode_q5_k)(const void *restrict source, float *restrict destination, size_t count) {
    const uint8_t *restrict s = (const uint8_t *)source;
    float scale[8], minimum[8];
    for (size_t b = 0; b < count / 256; b++, s += 176, destination += 256) {
        k_factors(s, scale, minimum);
        const uint8_t *qh = s + 16;
        for (int sub = 0; sub < 8; sub++) {
            const uint8_t *qs = s + 48 + 32 * (sub / 2);
            const int shift = 4 * (sub % 2);
            float *out = destination + 32 * sub;
            for (int l = 0; l < 32; l++) {
                const int q = ((qs[l] >> shift) & 0x0F) | (((qh[l] >> sub) & 1) << 4);
                out[l] = scale[sub] * (float)q - minimum[sub];
            }
        }
    }
}

/// block_q6_K: ql[128], qh[64], int8 scales[16], f16 d. Element 128h + 32k + l: low nibble of
/// ql[64h + 32(k % 2) + l] (the high nibble for k >= 2), high bits 2k, 2k+1 of qh[32h + l];
/// x = (d * scale) * (q - 32), one scale per 16 elements.
void WK_FN(decode_q6_k)(const void *restrict source, float *restrict destination, size_t count) {
    const uint8_t *restrict s = (const uint8_t *)source;
    float scale[16];
    for (size_t b = 0; b < count / 256; b++, s += 210, destination += 256) {
        const float d = wk_half_scale_at(s + 208);
        const int8_t *scales = (const int8_t *)(s + 192);
        for (int j = 0; j < 16; j++) scale[j] = d * (float)scales[j];
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = s + 64 * h, *qh = s + 128 + 32 * h;
            for (int k = 0; k < 4; k++) {
                const uint8_t *low = ql + 32 * (k % 2);
                const int nibble = 4 * (k / 2);
                float *out = destination + 128 * h + 32 * k;
                const float s0 = scale[8 * h + 2 * k], s1 = scale[8 * h + 2 * k + 1];
                for (int l = 0; l < 16; l++)
                    out[l] = s0 * (float)((((low[l] >> nibble) & 0x0F) | (((qh[l] >> (2 * k)) & 3) << 4)) - 32);
                for (int l = 16; l < 32; l++)
                    out[l] = s1 * (float)((((low[l] >> nibble) & 0x0F) | (((qh[l] >> (2 * k)) & 3) << 4)) - 32);
            }
        }
    }
}

#include "variant_end.h"
