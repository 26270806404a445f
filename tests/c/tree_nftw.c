/* Directory trees with nftw: build one, walk it (pre-order, then
   depth-first), stat every entry, and delete it bottom-up. Sibling order
   is the file system's, so lines are sorted before printing. */
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *lines[64];
static int nlines;
static char *order[64];
static int norder;

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

static void put(const char *path, int size) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    for (int i = 0; i < size; i++) write(fd, "x", 1);
    close(fd);
}

static const char *kind(int type) {
    switch (type) {
    case FTW_F: return "file";
    case FTW_D: return "dir";
    case FTW_DP: return "dir(post)";
    case FTW_SL: return "symlink";
    case FTW_SLN: return "dangling-symlink";
    case FTW_DNR: return "unreadable-dir";
    case FTW_NS: return "no-stat";
    default: return "?";
    }
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    char buf[256];
    snprintf(buf, sizeof buf, "%-9s %-22s level %d base %-8s size %lld", kind(type), path, ftw->level,
             path + ftw->base, S_ISREG(st->st_mode) ? (long long)st->st_size : -1LL);
    lines[nlines++] = strdup(buf);
    order[norder++] = strdup(path);
    return 0;
}

static void print_sorted(const char *title) {
    printf("%s (%d entries)\n", title, nlines);
    qsort(lines, nlines, sizeof *lines, cmp);
    for (int i = 0; i < nlines; i++) printf("  %s\n", lines[i]), free(lines[i]);
    nlines = 0;
}

/* Every directory after everything inside it (FTW_DEPTH), or before (not). */
static int well_ordered(int depth_first) {
    for (int i = 0; i < norder; i++)
        for (int j = 0; j < norder; j++) {
            size_t l = strlen(order[i]);
            int inside = strncmp(order[j], order[i], l) == 0 && order[j][l] == '/';
            if (inside && (depth_first ? j > i : j < i)) return 0;
        }
    return 1;
}

static void reset_order(void) {
    for (int i = 0; i < norder; i++) free(order[i]);
    norder = 0;
}

static int removed;
static int rm(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st, (void)type, (void)ftw;
    if (remove(path) != 0) { perror(path); return -1; }
    removed++;
    return 0;
}

int main(void) {
    mkdir("tree", 0755);
    mkdir("tree/a", 0755);
    mkdir("tree/a/deep", 0755);
    mkdir("tree/a/deep/deeper", 0755);
    mkdir("tree/empty", 0755);
    put("tree/top.txt", 3);
    put("tree/a/one.txt", 10);
    put("tree/a/deep/two.txt", 200);
    put("tree/a/deep/deeper/three.txt", 4096);
    symlink("../top.txt", "tree/a/link");
    symlink("missing", "tree/a/dangling");

    printf("nftw pre-order: %d\n", nftw("tree", visit, 8, FTW_PHYS));
    print_sorted("pre-order");
    printf("parents first: %d\n", well_ordered(0));
    reset_order();

    printf("nftw depth-first: %d\n", nftw("tree/a", visit, 8, FTW_PHYS | FTW_DEPTH));
    print_sorted("depth-first");
    printf("children first: %d\n", well_ordered(1));
    reset_order();

    /* Following symlinks: the link is its target, the dangling one is SLN. */
    printf("nftw following: %d\n", nftw("tree/a", visit, 8, 0));
    print_sorted("following symlinks");
    reset_order();

    /* Paths with .. inside the tree. */
    printf("nftw via ..: %d\n", nftw("tree/a/../empty", visit, 8, FTW_PHYS));
    print_sorted("via ..");
    reset_order();

    printf("remove: %d\n", nftw("tree", rm, 8, FTW_PHYS | FTW_DEPTH));
    printf("removed %d, tree exists: %d\n", removed, access("tree", F_OK) == 0);
    return 0;
}
