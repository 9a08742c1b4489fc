// bodies/qdot_lattice.h for the avx2 variant (see bodies/variant.h); nothing off x86-64.
#if defined(__x86_64__)
#define WK_VARIANT WK_V_AVX2
#include "../bodies/qdot_lattice.h"
#endif
