/* SIMD kernel: a separable [1 2 1]/4 blur of an 8-bit grayscale image,
 * horizontal then vertical, iterated. Bytes are widened to u16x8
 * (extend_low/high), added, shifted and narrowed back (narrow_i16x8_u).
 * Written with wasm_simd128.h; without __wasm_simd128__ (the native build) a
 * scalar path computes the same pixels. */
#include <stdint.h>
#include <stdio.h>
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

#define W 1024
#define H 512
#define PAD 16
#define S (W + 2 * PAD) /* row stride: a border column either side */
#define ITERS 400

static uint8_t img[H][S], tmp[H][S];

/* out[x] = (l + 2c + r + 2) >> 2 for 16 pixels. */
#ifdef __wasm_simd128__
static inline v128_t filter16(v128_t l, v128_t c, v128_t r) {
    v128_t two = wasm_i16x8_splat(2);
    v128_t lo = wasm_i16x8_add(wasm_i16x8_add(wasm_u16x8_extend_low_u8x16(l), wasm_u16x8_extend_low_u8x16(r)),
                               wasm_i16x8_add(wasm_i16x8_shl(wasm_u16x8_extend_low_u8x16(c), 1), two));
    v128_t hi = wasm_i16x8_add(wasm_i16x8_add(wasm_u16x8_extend_high_u8x16(l), wasm_u16x8_extend_high_u8x16(r)),
                               wasm_i16x8_add(wasm_i16x8_shl(wasm_u16x8_extend_high_u8x16(c), 1), two));
    return wasm_u8x16_narrow_i16x8(wasm_u16x8_shr(lo, 2), wasm_u16x8_shr(hi, 2));
}
#endif

static void horizontal(void) {
    for (int y = 0; y < H; y++) {
        uint8_t *row = img[y];
        row[PAD - 1] = row[PAD];             /* clamp at the edges */
        row[PAD + W] = row[PAD + W - 1];
#ifdef __wasm_simd128__
        for (int x = PAD; x < PAD + W; x += 16)
            wasm_v128_store(&tmp[y][x], filter16(wasm_v128_load(row + x - 1), wasm_v128_load(row + x),
                                                 wasm_v128_load(row + x + 1)));
#else
        for (int x = PAD; x < PAD + W; x++)
            tmp[y][x] = (uint8_t)((row[x - 1] + 2 * row[x] + row[x + 1] + 2) >> 2);
#endif
    }
}

static void vertical(void) {
    for (int y = 0; y < H; y++) {
        const uint8_t *up = tmp[y > 0 ? y - 1 : 0], *mid = tmp[y], *down = tmp[y < H - 1 ? y + 1 : H - 1];
#ifdef __wasm_simd128__
        for (int x = PAD; x < PAD + W; x += 16)
            wasm_v128_store(&img[y][x], filter16(wasm_v128_load(up + x), wasm_v128_load(mid + x),
                                                 wasm_v128_load(down + x)));
#else
        for (int x = PAD; x < PAD + W; x++)
            img[y][x] = (uint8_t)((up[x] + 2 * mid[x] + down[x] + 2) >> 2);
#endif
    }
}

int main(void) {
    uint32_t seed = 7;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            seed = seed * 1103515245u + 12345u;
            /* stripes and a checkerboard plus noise: edges to smooth */
            int v = ((x / 32 + y / 32) & 1) * 160 + (x % 97) + (int)((seed >> 16) & 31);
            img[y][PAD + x] = (uint8_t)(v > 255 ? 255 : v);
        }
    uint64_t h = 1469598103934665603ull;
    for (int it = 0; it < ITERS; it++) {
        horizontal();
        vertical();
        /* a sharp mark every iteration, so the image never goes flat */
        img[(it * 131) % H][PAD + (it * 257) % W] = 255;
        uint32_t s = 0;
        for (int y = 0; y < H; y += 7) s = s * 31 + img[y][PAD + (y * 13) % W];
        h = (h ^ s) * 1099511628211ull;
    }
    uint64_t total = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) total = total * 1000003u + img[y][PAD + x];
    printf("blur: %dx%d x %d, hash %016llx, pixels %016llx\n", W, H, ITERS, (unsigned long long)h,
           (unsigned long long)total);
    return 0;
}
