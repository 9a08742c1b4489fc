// Opens a kernel body for one instruction-set variant. A file under variants/ defines
// WK_VARIANT and includes one body (bodies/NAME.h); the body includes this header after
// nothing else and `variant_end.h` last. Between the two, every function defined gets the
// variant's target attribute (a `#pragma clang attribute` region), so one source is compiled
// once per variant without -m flags, intrinsics included, and `WK_FN(name)` gives each
// variant's copy its own external name (`wk_NAME_avx2`). `dispatch.c` gathers the copies
// into one immutable table per tier. See Docs/MODELS.md, "Instruction sets".
#ifndef WK_VARIANT
#error "define WK_VARIANT (a WK_V_* value) before including a kernel body"
#endif

#include "weightkit_kernels.h"
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define WK_V_SCALAR 0       // x86-64 baseline (SSE2), and every other architecture
#define WK_V_AVX2 1         // AVX2, FMA, F16C
#define WK_V_AVX512 2       // AVX-512 F, BW, DQ, VL (with AVX2, FMA, F16C)
#define WK_V_AVX512_VNNI 3  // the same plus AVX-512 VNNI
#define WK_V_AVX512_BF16 4  // the same plus AVX-512 BF16

#if WK_VARIANT != WK_V_SCALAR && !defined(__x86_64__)
#error "vector variants are for x86-64 only"
#endif
#if WK_VARIANT != WK_V_SCALAR
#include <immintrin.h>
#endif

/// What the code of this variant may use. The AVX-512 variants have everything AVX2 has.
#define WK_HAS_AVX2 (WK_VARIANT >= WK_V_AVX2)
#define WK_HAS_AVX512 (WK_VARIANT >= WK_V_AVX512)
#define WK_HAS_VNNI (WK_VARIANT == WK_V_AVX512_VNNI)
#define WK_HAS_BF16 (WK_VARIANT == WK_V_AVX512_BF16)

#if WK_VARIANT == WK_V_SCALAR
#define WK_FN(name) wk_##name##_scalar
#elif WK_VARIANT == WK_V_AVX2
#define WK_FN(name) wk_##name##_avx2
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#elif WK_VARIANT == WK_V_AVX512
#define WK_FN(name) wk_##name##_avx512
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c"))), apply_to = function)
#elif WK_VARIANT == WK_V_AVX512_VNNI
#define WK_FN(name) wk_##name##_avx512vnni
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx2,fma,f16c"))), apply_to = function)
#elif WK_VARIANT == WK_V_AVX512_BF16
#define WK_FN(name) wk_##name##_avx512bf16
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,avx2,fma,f16c"))), apply_to = function)
#else
#error "unknown WK_VARIANT"
#endif

/// Unrolls the loop that follows completely: for loops over arrays of vector registers
/// (accumulators of a tile, twelve grouped rows), which must stay in registers. Explicit
/// because the generic tuning of these builds unrolls less than a -march=native build did, and
/// an array left in memory halves the speed of the float prefill product.
#define WK_UNROLL _Pragma("clang loop unroll(full)")

#include "scalar_float.h"
#include "lanes.h"
