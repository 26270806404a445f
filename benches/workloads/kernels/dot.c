/* SIMD kernel: dot products, f32 (f32x4 mul + add, four lanes of partial
 * sums) and i16 (i32x4.dot_i16x8_s), over vectors that fit in L1, repeated.
 * Written with wasm_simd128.h; without __wasm_simd128__ (the native build) a
 * scalar path computes the same lanes in the same order, so the output is
 * identical bit for bit. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

#define N 4096
#define REPS 90000

static float fa[N], fb[N];
static int16_t ia[N], ib[N];

static uint32_t seed = 12345;
static uint32_t rnd(void) { seed = seed * 1664525u + 1013904223u; return seed >> 8; }

static float dot_f32(const float *a, const float *b, int n) {
#ifdef __wasm_simd128__
    v128_t acc0 = wasm_f32x4_splat(0), acc1 = wasm_f32x4_splat(0);
    for (int i = 0; i < n; i += 8) {
        acc0 = wasm_f32x4_add(acc0, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
        acc1 = wasm_f32x4_add(acc1, wasm_f32x4_mul(wasm_v128_load(a + i + 4), wasm_v128_load(b + i + 4)));
    }
    v128_t acc = wasm_f32x4_add(acc0, acc1);
    return (wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1)) +
           (wasm_f32x4_extract_lane(acc, 2) + wasm_f32x4_extract_lane(acc, 3));
#else
    float acc0[4] = {0}, acc1[4] = {0}, acc[4];
    for (int i = 0; i < n; i += 8)
        for (int l = 0; l < 4; l++) {
            float p = a[i + l] * b[i + l], q = a[i + 4 + l] * b[i + 4 + l];
            acc0[l] = acc0[l] + p;
            acc1[l] = acc1[l] + q;
        }
    for (int l = 0; l < 4; l++) acc[l] = acc0[l] + acc1[l];
    return (acc[0] + acc[1]) + (acc[2] + acc[3]);
#endif
}

static int32_t dot_i16(const int16_t *a, const int16_t *b, int n) {
#ifdef __wasm_simd128__
    v128_t acc = wasm_i32x4_splat(0);
    for (int i = 0; i < n; i += 8)
        acc = wasm_i32x4_add(acc, wasm_i32x4_dot_i16x8(wasm_v128_load(a + i), wasm_v128_load(b + i)));
    return (int32_t)((uint32_t)wasm_i32x4_extract_lane(acc, 0) + (uint32_t)wasm_i32x4_extract_lane(acc, 1) +
                     (uint32_t)wasm_i32x4_extract_lane(acc, 2) + (uint32_t)wasm_i32x4_extract_lane(acc, 3));
#else
    uint32_t acc[4] = {0};
    for (int i = 0; i < n; i += 8)
        for (int l = 0; l < 4; l++)
            acc[l] += (uint32_t)(a[i + 2 * l] * b[i + 2 * l]) + (uint32_t)(a[i + 2 * l + 1] * b[i + 2 * l + 1]);
    return (int32_t)(acc[0] + acc[1] + acc[2] + acc[3]);
#endif
}

int main(void) {
    for (int i = 0; i < N; i++) {
        fa[i] = (float)((int)(rnd() % 2001) - 1000) / 1024.0f;
        fb[i] = (float)((int)(rnd() % 2001) - 1000) / 1024.0f;
        ia[i] = (int16_t)(rnd() & 0xffff);
        ib[i] = (int16_t)(rnd() & 0xffff);
    }
    uint64_t h = 1469598103934665603ull;
    double fsum = 0;
    int64_t isum = 0;
    for (int r = 0; r < REPS; r++) {
        /* Change one element per repetition, so no repetition can be
         * hoisted out of the loop. */
        int k = (r * 37) % N;
        fa[k] = -fa[k] * 0.5f + 0.25f;
        ia[k] = (int16_t)(ia[k] * 5 + 3);
        float f = dot_f32(fa, fb, N);
        int32_t d = dot_i16(ia, ib, N);
        uint32_t bits;
        memcpy(&bits, &f, 4);
        h = (h ^ bits) * 1099511628211ull;
        h = (h ^ (uint32_t)d) * 1099511628211ull;
        fsum += f;
        isum += d;
    }
    printf("dot: f32 sum %.4f, i16 sum %lld, hash %016llx\n", fsum, (long long)isum, (unsigned long long)h);
    return 0;
}
