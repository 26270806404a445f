/* SIMD kernel: byte search over a 1 MB text. Counting one byte (i8x16.eq,
 * bitmask, popcount), and counting every occurrence of a few needles with
 * the first-and-last-byte filter (compare 16 positions at once against the
 * needle's first and last bytes, verify the candidates with memcmp).
 * Written with wasm_simd128.h; without __wasm_simd128__ (the native build) a
 * scalar path finds the same counts. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

#define LEN (1 << 20)
#define REPS 70

static uint8_t text[LEN + 64]; /* zero padding: needles never match it */

static size_t count_byte(const uint8_t *s, size_t n, uint8_t c) {
    size_t count = 0;
#ifdef __wasm_simd128__
    v128_t vc = wasm_i8x16_splat((int8_t)c);
    for (size_t i = 0; i < n; i += 16)
        count += (size_t)__builtin_popcount(wasm_i8x16_bitmask(wasm_i8x16_eq(wasm_v128_load(s + i), vc)));
#else
    for (size_t i = 0; i < n; i++) count += s[i] == c;
#endif
    return count;
}

/* Positions where `needle` (k >= 2 bytes) starts, in [0, n - k]; the
 * first byte of each is folded into *h. */
static size_t count_needle(const uint8_t *s, size_t n, const char *needle, size_t k, uint32_t *h) {
    size_t count = 0;
#ifdef __wasm_simd128__
    v128_t first = wasm_i8x16_splat(needle[0]), last = wasm_i8x16_splat(needle[k - 1]);
    for (size_t i = 0; i + k <= n; i += 16) {
        v128_t eq = wasm_v128_and(wasm_i8x16_eq(wasm_v128_load(s + i), first),
                                  wasm_i8x16_eq(wasm_v128_load(s + i + k - 1), last));
        uint32_t mask = wasm_i8x16_bitmask(eq);
        while (mask) {
            size_t j = i + (size_t)__builtin_ctz(mask);
            mask &= mask - 1;
            if (j + k <= n && memcmp(s + j + 1, needle + 1, k - 2) == 0) {
                count++;
                *h = (*h ^ (uint32_t)j) * 16777619u;
            }
        }
    }
#else
    for (size_t j = 0; j + k <= n; j++)
        if (s[j] == (uint8_t)needle[0] && s[j + k - 1] == (uint8_t)needle[k - 1] &&
            memcmp(s + j + 1, needle + 1, k - 2) == 0) {
            count++;
            *h = (*h ^ (uint32_t)j) * 16777619u;
        }
#endif
    return count;
}

int main(void) {
    static const char *words[] = {"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog",
                                  "wasm", "simd", "vector", "lane", "shuffle", "swizzle", "bitmask", "engine"};
    uint32_t seed = 99;
    size_t pos = 0;
    while (pos < LEN) {
        seed = seed * 1664525u + 1013904223u;
        const char *w = words[(seed >> 20) & 15];
        size_t k = strlen(w);
        for (size_t i = 0; i < k && pos < LEN; i++) text[pos++] = (uint8_t)w[i];
        if (pos < LEN) text[pos++] = ((seed >> 8) & 15) == 0 ? '\n' : ' ';
    }
    static const char *needles[] = {"simd lane", "the quick", "over the lazy", "dog\nwasm", "bitmask engine", "xyzzy"};
    uint32_t h = 2166136261u;
    size_t total = 0;
    for (int r = 0; r < REPS; r++) {
        /* A different window every repetition: nothing to hoist. */
        size_t off = (size_t)r * 4099 % 4096, n = LEN - 4096;
        total += count_byte(text + off, n & ~(size_t)15, '\n');
        total += count_byte(text + off, n & ~(size_t)15, 'e');
        for (int i = 0; i < 6; i++) total += count_needle(text + off, n, needles[i], strlen(needles[i]), &h);
    }
    printf("bytesearch: %zu matches, hash %08x\n", total, h);
    return 0;
}
