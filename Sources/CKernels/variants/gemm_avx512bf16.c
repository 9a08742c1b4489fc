// bodies/gemm.h for the avx512bf16 variant (see bodies/variant.h); nothing off x86-64.
#if defined(__x86_64__)
#define WK_VARIANT WK_V_AVX512_BF16
#include "../bodies/gemm.h"
#endif
