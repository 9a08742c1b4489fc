// UTF-8 validation 32 bytes at a time, after Keiser and Lemire, "Validating UTF-8 in less than
// one instruction per byte" (2021): each byte is classified together with the one before it by
// three 16-entry table lookups (high nibble of the previous byte, its low nibble, high nibble
// of this byte), whose AND is non-zero exactly where the pair is an error (too short, too long,
// overlong, surrogate, above U+10FFFF, or two continuation bytes). Where a three- or four-byte
// lead two or three bytes back requires a continuation, "two continuations" is expected
// instead of an error, which an XOR accounts for. Blocks of ASCII skip all of it.
//
// Variants: scalar, AVX2 (which the AVX-512 tier uses too).
#include "variant.h"

/// The plain validator (RFC 3629 ranges), for the tail and for machines without AVX2.
__attribute__((unused)) static int valid_scalar(const uint8_t *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        const uint8_t lead = p[i];
        if (lead < 0x80) { i++; continue; }
        size_t length;
        uint8_t low = 0x80, high = 0xBF;
        if (lead >= 0xC2 && lead <= 0xDF) length = 2;
        else if (lead == 0xE0) { length = 3; low = 0xA0; }
        else if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF) length = 3;
        else if (lead == 0xED) { length = 3; high = 0x9F; }
        else if (lead == 0xF0) { length = 4; low = 0x90; }
        else if (lead >= 0xF1 && lead <= 0xF3) length = 4;
        else if (lead == 0xF4) { length = 4; high = 0x8F; }
        else return 0;
        if (i + length > n) return 0;
        if (p[i + 1] < low || p[i + 1] > high) return 0;
        for (size_t k = 2; k < length; k++) if ((p[i + k] & 0xC0) != 0x80) return 0;
        i += length;
    }
    return 1;
}

#if WK_HAS_AVX2
enum {
    TOO_SHORT = 1 << 0,   // lead byte followed by a non-continuation
    TOO_LONG = 1 << 1,    // ASCII followed by a continuation
    OVERLONG_3 = 1 << 2,  // E0 80..9F
    TOO_LARGE = 1 << 3,   // F4 90..BF, F5..FF
    SURROGATE = 1 << 4,   // ED A0..BF
    OVERLONG_2 = 1 << 5,  // C0, C1
    TOO_LARGE_1000 = 1 << 6,
    OVERLONG_4 = 1 << 6,  // F0 80..8F
    TWO_CONTS = 1 << 7,   // continuation followed by a continuation
    CARRY = TOO_SHORT | TOO_LONG | TWO_CONTS,
};

/// The 32 bytes ending `n` bytes before `input`'s end: the last n of `previous`, then input.
#define PREVIOUS(input, previous, n) _mm256_alignr_epi8((input), _mm256_permute2x128_si256((previous), (input), 0x21), 16 - (n))

static inline __m256i table(int t0, int t1, int t2, int t3, int t4, int t5, int t6, int t7, int t8, int t9,
                            int t10, int t11, int t12, int t13, int t14, int t15) {
    return _mm256_setr_epi8(
        (char)t0, (char)t1, (char)t2, (char)t3, (char)t4, (char)t5, (char)t6, (char)t7, (char)t8, (char)t9, (char)t10,
        (char)t11, (char)t12, (char)t13, (char)t14, (char)t15, (char)t0, (char)t1, (char)t2, (char)t3, (char)t4, (char)t5,
        (char)t6, (char)t7, (char)t8, (char)t9, (char)t10, (char)t11, (char)t12, (char)t13, (char)t14, (char)t15);
}

static inline __m256i high_nibbles(__m256i v) { return _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0F)); }

static inline __m256i block_errors(__m256i input, __m256i previous) {
    const __m256i prev1 = PREVIOUS(input, previous, 1);
    const __m256i byte1_high = _mm256_shuffle_epi8(table(
        TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG,
        TWO_CONTS, TWO_CONTS, TWO_CONTS, TWO_CONTS,
        TOO_SHORT | OVERLONG_2, TOO_SHORT, TOO_SHORT | OVERLONG_3 | SURROGATE,
        (char)(TOO_SHORT | TOO_LARGE | TOO_LARGE_1000 | OVERLONG_4)), high_nibbles(prev1));
    const __m256i byte1_low = _mm256_shuffle_epi8(table(
        (char)(CARRY | OVERLONG_3 | OVERLONG_2 | OVERLONG_4), (char)(CARRY | OVERLONG_2), (char)CARRY, (char)CARRY,
        (char)(CARRY | TOO_LARGE), (char)(CARRY | TOO_LARGE | TOO_LARGE_1000), (char)(CARRY | TOO_LARGE | TOO_LARGE_1000),
        (char)(CARRY | TOO_LARGE | TOO_LARGE_1000), (char)(CARRY | TOO_LARGE | TOO_LARGE_1000),
        (char)(CARRY | TOO_LARGE | TOO_LARGE_1000), (char)(CARRY | TOO_LARGE | TOO_LARGE_1000),
        (char)(CARRY | TOO_LARGE | TOO_LARGE_1000), (char)(CARRY | TOO_LARGE | TOO_LARGE_1000),
        (char)(CARRY | TOO_LARGE | TOO_LARGE_1000 | SURROGATE), (char)(CARRY | TOO_LARGE | TOO_LARGE_1000),
        (char)(CARRY | TOO_LARGE | TOO_LARGE_1000)), _mm256_and_si256(prev1, _mm256_set1_epi8(0x0F)));
    const __m256i byte2_high = _mm256_shuffle_epi8(table(
        TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT,
        (char)(TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE_1000 | OVERLONG_4),
        (char)(TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE),
        (char)(TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE),
        (char)(TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE),
        TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT), high_nibbles(input));
    const __m256i special = _mm256_and_si256(_mm256_and_si256(byte1_high, byte1_low), byte2_high);
    // 0x80 where a lead two or three bytes back (E0..FF, F0..FF) wants a continuation here.
    const __m256i third = _mm256_subs_epu8(PREVIOUS(input, previous, 2), _mm256_set1_epi8((char)(0xE0 - 0x80)));
    const __m256i fourth = _mm256_subs_epu8(PREVIOUS(input, previous, 3), _mm256_set1_epi8((char)(0xF0 - 0x80)));
    const __m256i wanted = _mm256_and_si256(_mm256_or_si256(third, fourth), _mm256_set1_epi8((char)0x80));
    return _mm256_xor_si256(wanted, special);
}

/// Non-zero where the block ends inside a sequence (a lead in its last three bytes that
/// needs more bytes than are left).
static inline __m256i unfinished(__m256i input) {
    const __m256i limits = _mm256_setr_epi8(
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, (char)(0xF0 - 1), (char)(0xE0 - 1), (char)(0xC0 - 1));
    return _mm256_subs_epu8(input, limits);
}
#endif

int WK_FN(utf8_valid)(const uint8_t *p, size_t n) {
#if WK_HAS_AVX2
    __m256i error = _mm256_setzero_si256(), previous = _mm256_setzero_si256(), pending = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m256i input = _mm256_loadu_si256((const __m256i *)(p + i));
        if (_mm256_movemask_epi8(input) == 0) {
            error = _mm256_or_si256(error, pending);   // ASCII cannot finish a sequence
            pending = _mm256_setzero_si256();
        } else {
            error = _mm256_or_si256(error, block_errors(input, previous));
            pending = unfinished(input);
        }
        previous = input;
    }
    if (i < n) {
        // The tail padded with ASCII zeros, which end any sequence left open as an error.
        uint8_t last[32] = {0};
        memcpy(last, p + i, n - i);
        const __m256i input = _mm256_loadu_si256((const __m256i *)last);
        error = _mm256_or_si256(error, block_errors(input, previous));
        pending = _mm256_setzero_si256();
    }
    error = _mm256_or_si256(error, pending);
    return _mm256_testz_si256(error, error);
#else
    return valid_scalar(p, n);
#endif
}

#include "variant_end.h"
