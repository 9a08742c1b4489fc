// bodies/qdot_lattice.h for the avx512vnni variant (see bodies/variant.h); nothing off x86-64.
#if defined(__x86_64__)
#define WK_VARIANT WK_V_AVX512_VNNI
#include "../bodies/qdot_lattice.h"
#endif
