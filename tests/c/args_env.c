/* Arguments and environment. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    printf("argc %d\n", argc);
    for (int i = 1; i < argc; i++) printf("arg %d: %s\n", i, argv[i]);
    const char *v = getenv("GREETING");
    printf("GREETING=%s\n", v ? v : "(unset)");
    printf("HOME set: %d\n", getenv("NYASH_TEST_UNSET") != NULL);
    return 0;
}
