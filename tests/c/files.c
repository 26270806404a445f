/* Files: create, write, seek, read back, append, stat, rename, unlink. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>

int main(void) {
    FILE *f = fopen("data.txt", "w");
    if (!f) { perror("fopen w"); return 1; }
    fprintf(f, "line one\nline two\n");
    fclose(f);
    f = fopen("data.txt", "a");
    fputs("line three\n", f);
    fclose(f);
    int fd = open("data.txt", O_RDONLY);
    char buf[64] = {0};
    lseek(fd, 5, SEEK_SET);
    ssize_t n = read(fd, buf, 8);
    printf("read %zd bytes at 5: '%s'\n", n, buf);
    struct stat st;
    fstat(fd, &st);
    printf("size %lld, regular %d\n", (long long)st.st_size, S_ISREG(st.st_mode) ? 1 : 0);
    close(fd);
    if (rename("data.txt", "moved.txt") != 0) { perror("rename"); return 1; }
    printf("old exists %d, new exists %d\n", access("data.txt", F_OK) == 0, access("moved.txt", F_OK) == 0);
    f = fopen("moved.txt", "r");
    char line[32];
    int lines = 0;
    while (fgets(line, sizeof line, f)) lines++;
    fclose(f);
    printf("lines %d\n", lines);
    unlink("moved.txt");
    printf("after unlink exists %d\n", access("moved.txt", F_OK) == 0);
    printf("missing file: %s\n", fopen("nope.txt", "r") ? "opened" : "not found");
    return 0;
}
