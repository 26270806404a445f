/* Directories: mkdir, list (sorted), rmdir. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

int main(void) {
    mkdir("d", 0755);
    mkdir("d/sub", 0755);
    fclose(fopen("d/a.txt", "w"));
    fclose(fopen("d/b.txt", "w"));
    DIR *dir = opendir("d");
    if (!dir) { perror("opendir"); return 1; }
    char *names[16];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) && n < 16) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) names[n++] = strdup(e->d_name);
    }
    closedir(dir);
    qsort(names, n, sizeof *names, cmp);
    for (int i = 0; i < n; i++) printf("entry %s\n", names[i]);
    printf("rmdir non-empty: %d\n", rmdir("d") == 0);
    unlink("d/a.txt");
    unlink("d/b.txt");
    rmdir("d/sub");
    printf("rmdir empty: %d\n", rmdir("d") == 0);
    return 0;
}
