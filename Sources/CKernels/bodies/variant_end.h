// Closes the target region `variant.h` opened.
#if WK_VARIANT != WK_V_SCALAR
#pragma clang attribute pop
#endif
