/* Memory-heavy: sort an array, then count values with an open-addressing hash table. */
#include <stdio.h>
#include <stdlib.h>
#define N 300000
static unsigned keys[1 << 20];
static unsigned counts[1 << 20];
static int cmp(const void *a, const void *b) { unsigned x = *(const unsigned *)a, y = *(const unsigned *)b; return x < y ? -1 : x > y; }
int main(void) {
    unsigned *v = malloc(N * sizeof *v);
    unsigned s = 12345;
    for (int i = 0; i < N; i++) { s = s * 1103515245u + 12345u; v[i] = (s >> 8) % 50000; }
    qsort(v, N, sizeof *v, cmp);
    unsigned distinct = 0;
    for (int i = 0; i < N; i++) {
        unsigned h = (v[i] * 2654435761u) & ((1 << 20) - 1);
        while (counts[h] && keys[h] != v[i]) h = (h + 1) & ((1 << 20) - 1);
        if (!counts[h]) { keys[h] = v[i]; distinct++; }
        counts[h]++;
    }
    printf("%u %u %u\n", v[0], v[N - 1], distinct);
    free(v);
    return 0;
}
