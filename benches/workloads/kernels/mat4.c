/* SIMD kernel: a 4x4 matrix pipeline, f32. Per frame: model, view and
 * projection matrices are built and multiplied (4x4 by 4x4 with splats and
 * f32x4 mul/add), then 8,192 vertices are transformed, divided by w
 * (f32x4.div), tested against the clip volume (f32x4 comparisons, bitmask)
 * and summed. Matrices are column-major, one v128 per column.
 * Written with wasm_simd128.h; without __wasm_simd128__ (the native build) a
 * scalar path computes the same lanes in the same order: identical output.
 * No libm: rotations use the rational parametrisation of sin and cos. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

#define VERTS 8192
#define FRAMES 2800

typedef struct { float c[4][4]; } mat4; /* c[column][row] */
static float verts[VERTS][4];

/* r = a * b */
static void mul(mat4 *r, const mat4 *a, const mat4 *b) {
#ifdef __wasm_simd128__
    v128_t a0 = wasm_v128_load(a->c[0]), a1 = wasm_v128_load(a->c[1]), a2 = wasm_v128_load(a->c[2]),
           a3 = wasm_v128_load(a->c[3]);
    for (int j = 0; j < 4; j++) {
        v128_t bj = wasm_v128_load(b->c[j]);
        v128_t s = wasm_f32x4_mul(a0, wasm_i32x4_shuffle(bj, bj, 0, 0, 0, 0));
        s = wasm_f32x4_add(s, wasm_f32x4_mul(a1, wasm_i32x4_shuffle(bj, bj, 1, 1, 1, 1)));
        s = wasm_f32x4_add(s, wasm_f32x4_mul(a2, wasm_i32x4_shuffle(bj, bj, 2, 2, 2, 2)));
        s = wasm_f32x4_add(s, wasm_f32x4_mul(a3, wasm_i32x4_shuffle(bj, bj, 3, 3, 3, 3)));
        wasm_v128_store(r->c[j], s);
    }
#else
    mat4 t;
    for (int j = 0; j < 4; j++)
        for (int l = 0; l < 4; l++) {
            float s = a->c[0][l] * b->c[j][0];
            float p1 = a->c[1][l] * b->c[j][1];
            s = s + p1;
            float p2 = a->c[2][l] * b->c[j][2];
            s = s + p2;
            float p3 = a->c[3][l] * b->c[j][3];
            s = s + p3;
            t.c[j][l] = s;
        }
    *r = t;
#endif
}

static mat4 identity(void) {
    mat4 m;
    memset(&m, 0, sizeof m);
    for (int i = 0; i < 4; i++) m.c[i][i] = 1;
    return m;
}

/* rotation about (axis) by the angle whose tan(angle/2) is t */
static mat4 rotation(int axis, float t) {
    float d = 1 + t * t, c = (1 - t * t) / d, s = 2 * t / d;
    mat4 m = identity();
    int i = (axis + 1) % 3, j = (axis + 2) % 3;
    m.c[i][i] = c, m.c[i][j] = s, m.c[j][i] = -s, m.c[j][j] = c;
    return m;
}

int main(void) {
    uint32_t seed = 2024;
    for (int v = 0; v < VERTS; v++) {
        for (int k = 0; k < 3; k++) {
            seed = seed * 1664525u + 1013904223u;
            verts[v][k] = (float)((int)(seed >> 16) % 2001 - 1000) / 250.0f;
        }
        verts[v][3] = 1;
    }
    mat4 proj;
    memset(&proj, 0, sizeof proj);
    /* perspective: f = 1.5, near 0.5, far 50 */
    proj.c[0][0] = 1.5f / 1.25f, proj.c[1][1] = 1.5f;
    proj.c[2][2] = -50.5f / 49.5f, proj.c[2][3] = -1, proj.c[3][2] = -50.0f / 49.5f;
    uint64_t h = 1469598103934665603ull;
    uint32_t inside = 0;
    for (int f = 0; f < FRAMES; f++) {
        mat4 view = identity(), model, mvp, tmp;
        view.c[3][2] = -6 - (float)(f % 50) * 0.05f;
        view.c[3][0] = (float)(f % 17) * 0.01f;
        mat4 ry = rotation(1, (float)(f % 360) / 400.0f), rx = rotation(0, (float)(f % 90) / 300.0f);
        mul(&model, &ry, &rx);
        mul(&tmp, &view, &model);
        mul(&mvp, &proj, &tmp);
#ifdef __wasm_simd128__
        v128_t c0 = wasm_v128_load(mvp.c[0]), c1 = wasm_v128_load(mvp.c[1]), c2 = wasm_v128_load(mvp.c[2]),
               c3 = wasm_v128_load(mvp.c[3]);
        v128_t acc = wasm_f32x4_splat(0), one = wasm_f32x4_splat(1);
        for (int v = 0; v < VERTS; v++) {
            v128_t p = wasm_v128_load(verts[v]);
            v128_t s = wasm_f32x4_mul(c0, wasm_i32x4_shuffle(p, p, 0, 0, 0, 0));
            s = wasm_f32x4_add(s, wasm_f32x4_mul(c1, wasm_i32x4_shuffle(p, p, 1, 1, 1, 1)));
            s = wasm_f32x4_add(s, wasm_f32x4_mul(c2, wasm_i32x4_shuffle(p, p, 2, 2, 2, 2)));
            s = wasm_f32x4_add(s, c3); /* w = 1 */
            v128_t ndc = wasm_f32x4_div(s, wasm_i32x4_shuffle(s, s, 3, 3, 3, 3));
            v128_t in = wasm_v128_and(wasm_f32x4_le(ndc, one), wasm_f32x4_ge(ndc, wasm_f32x4_neg(one)));
            inside += (wasm_i32x4_bitmask(in) & 7) == 7;
            acc = wasm_f32x4_add(acc, wasm_v128_and(ndc, in)); /* inside lanes only */
        }
        float sum[4];
        wasm_v128_store(sum, acc);
#else
        float sum[4] = {0};
        for (int v = 0; v < VERTS; v++) {
            float s[4], ndc[4];
            int mask = 0;
            for (int l = 0; l < 4; l++) {
                float x = mvp.c[0][l] * verts[v][0];
                float y = mvp.c[1][l] * verts[v][1];
                x = x + y;
                float z = mvp.c[2][l] * verts[v][2];
                x = x + z;
                s[l] = x + mvp.c[3][l];
            }
            for (int l = 0; l < 4; l++) {
                ndc[l] = s[l] / s[3];
                int in = ndc[l] <= 1.0f && ndc[l] >= -1.0f;
                mask |= in << l;
                sum[l] = sum[l] + (in ? ndc[l] : 0.0f);
            }
            inside += (mask & 7) == 7;
        }
#endif
        uint32_t bits[4];
        memcpy(bits, sum, 16);
        for (int l = 0; l < 4; l++) h = (h ^ bits[l]) * 1099511628211ull;
    }
    printf("mat4: %d frames x %d vertices, %u inside, hash %016llx\n", FRAMES, VERTS, inside,
           (unsigned long long)h);
    return 0;
}
