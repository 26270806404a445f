/* Standard input, and the exit status. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    int sum = 0, x;
    while (scanf("%d", &x) == 1) sum += x;
    printf("sum %d\n", sum);
    fprintf(stderr, "to stderr\n");
    exit(sum % 256);
}
