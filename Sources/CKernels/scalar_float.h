// Scalar conversions of one 16-bit float to float32, shared by the kernels' scalar paths and
// tails. Both are exact; float16 goes through the compiler's _Float16 (F16C's vcvtph2ps where
// the target has it).
#pragma once
#include <stdint.h>
#include <string.h>

static inline float wk_half_to_float(uint16_t bits) {
    _Float16 h;
    memcpy(&h, &bits, 2);
    return (float)h;
}

static inline float wk_bf16_to_float(uint16_t bits) {
    const uint32_t wide = (uint32_t)bits << 16;
    float f;
    memcpy(&f, &wide, 4);
    return f;
}
