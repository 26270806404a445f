/* opendir/readdir/fstatat with . and ..: in directories beneath the
   preopen, the entries' d_ino agree with fstatat of their names, .. is the
   parent, fstatat(dirfd, "../x") reaches the parent's files; then a tree is
   removed with openat/fdopendir/unlinkat as libc++'s remove_all does. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

static void put(const char *path, int size) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    for (int i = 0; i < size; i++) write(fd, "y", 1);
    close(fd);
}

static ino_t ino(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0 ? st.st_ino : (ino_t)-1;
}

static void walk(const char *dir, const char *parent) {
    DIR *d = opendir(dir);
    if (!d) { printf("opendir %s: %s\n", dir, strerror(errno)); return; }
    char *lines[32];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 32) {
        struct stat st;
        char buf[256];
        int r = fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW);
        const char *same = "";
        if (!strcmp(e->d_name, ".")) same = st.st_ino == ino(dir) ? ", is the directory" : ", is NOT the directory";
        if (!strcmp(e->d_name, "..")) same = st.st_ino == ino(parent) ? ", is the parent" : ", is NOT the parent";
        snprintf(buf, sizeof buf, "  %-8s fstatat %d, %s, d_ino %s%s", e->d_name, r,
                 S_ISDIR(st.st_mode) ? "dir" : S_ISLNK(st.st_mode) ? "symlink" : "file",
                 r == 0 && st.st_ino == e->d_ino ? "matches" : "differs", same);
        lines[n++] = strdup(buf);
    }
    qsort(lines, n, sizeof *lines, cmp);
    printf("%s:\n", dir);
    for (int i = 0; i < n; i++) printf("%s\n", lines[i]), free(lines[i]);

    struct stat st;
    int r = fstatat(dirfd(d), "../up.txt", &st, 0);
    printf("  fstatat ../up.txt: %d size %lld\n", r, r == 0 ? (long long)st.st_size : -1LL);
    r = fstatat(dirfd(d), "./..", &st, AT_SYMLINK_NOFOLLOW);
    printf("  fstatat ./..: %d, is the parent: %d\n", r, r == 0 && st.st_ino == ino(parent));
    closedir(d);
}

/* rm -r through descriptors: openat, fdopendir, unlinkat. */
static int removed;
static int rm_r(int parent, const char *name) {
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (fd >= 0) {
        DIR *d = fdopendir(fd);
        struct dirent *e;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && rm_r(fd, e->d_name) != 0) return -1;
        closedir(d);
        if (unlinkat(parent, name, AT_REMOVEDIR) != 0) return -1;
    } else if (unlinkat(parent, name, 0) != 0) {
        return -1;
    }
    removed++;
    return 0;
}

int main(void) {
    mkdir("p", 0755);
    mkdir("p/q", 0755);
    mkdir("p/q/r", 0755);
    put("up.txt", 1);
    put("p/up.txt", 22);
    put("p/q/up.txt", 333);
    put("p/q/r/file", 4);
    symlink("file", "p/q/r/link");

    walk("p/q", "p");
    walk("p/q/r", "p/q");
    walk("p/q/r/..", "p");

    /* Two levels up from p/q is the directory we run in. */
    int fd = open("p/q", O_RDONLY | O_DIRECTORY);
    struct stat st;
    int r = fstatat(fd, "../..", &st, 0);
    printf("fstatat p/q ../..: %d, is .: %d\n", r, r == 0 && st.st_ino == ino("."));
    r = fstatat(fd, "../../up.txt", &st, 0);
    printf("fstatat p/q ../../up.txt: %d size %lld\n", r, r == 0 ? (long long)st.st_size : -1LL);
    close(fd);

    int dot = open(".", O_RDONLY | O_DIRECTORY);
    r = rm_r(dot, "p");
    printf("rm -r p: %d, removed %d\n", r, removed);
    close(dot);
    unlink("up.txt");
    printf("p exists: %d\n", access("p", F_OK) == 0);
    return 0;
}
