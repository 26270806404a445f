/* scandir: listings (with . and ..) of a tree's directories, filtered and
   sorted; every entry's d_ino agrees with stat of its path. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int txt_only(const struct dirent *e) {
    size_t n = strlen(e->d_name);
    return n > 4 && strcmp(e->d_name + n - 4, ".txt") == 0;
}

static int reverse(const struct dirent **a, const struct dirent **b) {
    return strcmp((*b)->d_name, (*a)->d_name);
}

static const char *type(unsigned char t) {
    return t == DT_DIR ? "dir" : t == DT_REG ? "file" : t == DT_LNK ? "symlink" : t == DT_UNKNOWN ? "unknown" : "other";
}

/* Lists `dir`; `inodes`: also check each d_ino against stat("dir/name"). */
static void list(const char *dir, int (*sel)(const struct dirent *),
                 int (*compar)(const struct dirent **, const struct dirent **), int inodes) {
    struct dirent **names;
    int n = scandir(dir, &names, sel, compar);
    printf("scandir %s: %d\n", dir, n);
    for (int i = 0; i < n; i++) {
        printf("  %-10s %s", names[i]->d_name, type(names[i]->d_type));
        if (inodes) {
            char path[256];
            struct stat st;
            snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
            int r = lstat(path, &st);
            printf("  lstat %d, d_ino %s", r, r == 0 && st.st_ino == names[i]->d_ino ? "matches" : "differs");
        }
        printf("\n");
        free(names[i]);
    }
    if (n >= 0) free(names);
}

static void put(const char *path) { close(open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)); }

int main(void) {
    mkdir("top", 0755);
    mkdir("top/mid", 0755);
    mkdir("top/mid/leaf", 0755);
    put("top/a.txt");
    put("top/b.bin");
    put("top/mid/c.txt");
    put("top/mid/d.txt");
    symlink("c.txt", "top/mid/e.lnk");

    /* The preopen's root: names only (its .. is outside the sandbox). */
    list(".", NULL, alphasort, 0);
    list("top", NULL, alphasort, 1);
    list("top/mid", NULL, alphasort, 1);
    list("top/mid/leaf", NULL, alphasort, 1);
    list("top/mid/leaf/..", NULL, alphasort, 1);
    list("top/mid", txt_only, reverse, 1);
    list("top/missing", NULL, alphasort, 0);

    unlink("top/mid/e.lnk");
    unlink("top/mid/c.txt");
    unlink("top/mid/d.txt");
    rmdir("top/mid/leaf");
    rmdir("top/mid");
    unlink("top/a.txt");
    unlink("top/b.bin");
    printf("rmdir top: %d\n", rmdir("top"));
    return 0;
}
