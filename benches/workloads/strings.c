/* String processing and a compression round trip (run-length + LZ-style back references). */
#include <stdio.h>
#include <string.h>
#define N 1000000
static char text[N], packed[2 * N], unpacked[N];
int main(void) {
    const char *words[] = {"alpha ", "beta ", "gamma ", "delta ", "alpha beta ", "zzzz "};
    int len = 0; unsigned s = 7;
    while (len < N - 16) { s = s * 1664525u + 1013904223u; const char *w = words[(s >> 16) % 6]; size_t l = strlen(w); memcpy(text + len, w, l); len += l; }
    /* count words */
    int wordsn = 0;
    for (int i = 0; i < len; i++) if (text[i] == ' ') wordsn++;
    /* compress: (dist,len) pairs against a 255-byte window, else literal */
    int p = 0;
    for (int i = 0; i < len;) {
        int best = 0, bestd = 0;
        for (int d = 1; d <= 255 && d <= i; d++) {
            int l = 0;
            while (l < 255 && i + l < len && text[i + l] == text[i + l - d]) l++;
            if (l > best) { best = l; bestd = d; }
        }
        if (best >= 4) { packed[p++] = 1; packed[p++] = (char)bestd; packed[p++] = (char)best; i += best; }
        else { packed[p++] = 0; packed[p++] = text[i++]; }
    }
    int q = 0;
    for (int i = 0; i < p;) {
        if (packed[i] == 1) { int d = (unsigned char)packed[i + 1], l = (unsigned char)packed[i + 2]; for (int k = 0; k < l; k++, q++) unpacked[q] = unpacked[q - d]; i += 3; }
        else { unpacked[q++] = packed[i + 1]; i += 2; }
    }
    printf("%d words, %d -> %d bytes, round trip %s\n", wordsn, len, p, q == len && !memcmp(text, unpacked, len) ? "ok" : "FAILED");
    return 0;
}
