// bodies/qdot_lattice.h for the scalar variant (see bodies/variant.h).
#define WK_VARIANT WK_V_SCALAR
#include "../bodies/qdot_lattice.h"
