// Scalar conversions of one 16-bit float to float32, shared by the kernels. All are exact.
// Included by `variant.h` inside the variant's target region.
#pragma once
#include <stdint.h>
#include <string.h>

/// Float16 to float32 in integer arithmetic: for the scalar paths and tails of vector kernels.
/// (A hardware conversion there, F16C's or the compiler's _Float16, measured to slow the float16
/// matrix-vector kernel's vector loop by a fifth.)
static inline float wk_half_to_float(uint16_t bits) {
    const uint32_t sign = (uint32_t)(bits & 0x8000) << 16;
    uint32_t exponent = (bits >> 10) & 0x1f, mantissa = bits & 0x3ff, wide;
    if (exponent == 0) {
        if (mantissa == 0) {
            wide = sign;
        } else {  // subnormal: normalise
            exponent = 113;
            while (!(mantissa & 0x400)) { mantissa <<= 1; exponent--; }
            wide = sign | (exponent << 23) | ((mantissa & 0x3ff) << 13);
        }
    } else if (exponent == 31) {
        wide = sign | 0x7f800000 | (mantissa << 13);
    } else {
        wide = sign | ((exponent + 112) << 23) | (mantissa << 13);
    }
    float f;
    memcpy(&f, &wide, 4);
    return f;
}

/// Float16 to float32 with F16C where the variant has it: for a block's scale, once per block
/// inside a vector loop.
static inline float wk_half_scale_to_float(uint16_t bits) {
#if WK_HAS_AVX2
    return _cvtsh_ss(bits);
#else
    return wk_half_to_float(bits);
#endif
}

/// The float16 block scale stored (unaligned) at `p`, as `wk_half_scale_to_float` converts it.
static inline float wk_half_scale_at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return wk_half_scale_to_float(h);
}

static inline float wk_bf16_to_float(uint16_t bits) {
    const uint32_t wide = (uint32_t)bits << 16;
    float f;
    memcpy(&f, &wide, 4);
    return f;
}
