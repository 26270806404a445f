/* Floating point: dense matrix multiply. */
#include <stdio.h>
#define N 500
static double a[N][N], b[N][N], c[N][N];
int main(void) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) { a[i][j] = (i * 7 + j) % 13 * 0.5; b[i][j] = (i + j * 3) % 11 * 0.25; }
    for (int i = 0; i < N; i++)
        for (int k = 0; k < N; k++) {
            double x = a[i][k];
            for (int j = 0; j < N; j++) c[i][j] += x * b[k][j];
        }
    double s = 0;
    for (int i = 0; i < N; i++) s += c[i][i];
    printf("%.3f\n", s);
    return 0;
}
