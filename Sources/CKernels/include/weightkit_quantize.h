// Types of the hashing and encoding kernels. The encoders themselves (float16/bfloat16 casts,
// Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K) are fields of `struct wk_kernels`
// (weightkit_kernels.h), one copy per instruction-set tier, all writing the same bits.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// SHA-256 (FIPS 180-4) state, fed in pieces (`sha256_init`, `sha256_update`, `sha256_final`).
typedef struct {
    uint32_t state[8];
    uint64_t length;
    uint8_t buffer[64];
    size_t used;
} wk_sha256;

#ifdef __cplusplus
}
#endif
