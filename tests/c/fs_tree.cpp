// C++ std::filesystem under a preopen, as real programs use it: a
// temporary directory tree made with create_directories, listed with
// directory_iterator and recursive_directory_iterator, inspected, and
// removed with remove_all. Error-code overloads only (the WASI builds
// have no exceptions); listings are sorted (the order is the file
// system's). Built for WASI with zig's libc++ only: it and Debian's
// wasm32 libc++ ship without std::filesystem, so run.sh compiles libc++'s
// own filesystem sources (bundled with zig) into the program.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace fs = std::filesystem;

static void put(const fs::path &p, int size) {
    FILE *f = std::fopen(p.c_str(), "w");
    std::fputs(std::string(size, 'z').c_str(), f);
    std::fclose(f);
}

static const char *kind(const fs::directory_entry &e) {
    std::error_code ec;
    if (e.is_symlink(ec)) return "symlink";
    if (e.is_directory(ec)) return "dir";
    if (e.is_regular_file(ec)) return "file";
    return "other";
}

static void list(const fs::path &dir) {
    std::error_code ec;
    std::vector<std::string> names;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        names.push_back(it->path().filename().string() + " " + kind(*it));
    std::sort(names.begin(), names.end());
    std::printf("list %s: %s, %zu entries\n", dir.string().c_str(), ec ? "error" : "ok", names.size());
    for (auto &n : names) std::printf("  %s\n", n.c_str());
}

int main() {
    std::error_code ec;
    fs::path tmp = "tmp-work";
    std::printf("create_directories: %d\n", (int)fs::create_directories(tmp / "a" / "b" / "c", ec));
    bool made = fs::create_directories(tmp / "a" / "b" / "c", ec);
    std::printf("again: %d %s\n", (int)made, ec ? "error" : "ok");
    fs::create_directory(tmp / "empty", ec);
    put(tmp / "top.txt", 5);
    put(tmp / "a" / "one.txt", 50);
    put(tmp / "a" / "b" / "c" / "deep.txt", 500);
    fs::create_symlink("one.txt", tmp / "a" / "link", ec);
    std::printf("symlink: %s\n", ec ? "error" : "ok");

    list(".");
    list(tmp);
    list(tmp / "a");
    list(tmp / "a" / "b" / "..");
    list(tmp / "missing");

    std::vector<std::string> all;
    for (fs::recursive_directory_iterator it(tmp, ec), end; !ec && it != end; it.increment(ec))
        all.push_back(it->path().string() + " depth " + std::to_string(it.depth()) + " " + kind(*it));
    std::sort(all.begin(), all.end());
    std::printf("recursive: %s, %zu entries\n", ec ? "error" : "ok", all.size());
    for (auto &n : all) std::printf("  %s\n", n.c_str());

    std::printf("file_size deep.txt: %ju\n", (uintmax_t)fs::file_size(tmp / "a/b/c/deep.txt", ec));
    std::printf("file_size via ..: %ju\n", (uintmax_t)fs::file_size(tmp / "a/b/../one.txt", ec));
    std::printf("is_directory a/b/c/..: %d\n", (int)fs::is_directory(tmp / "a/b/c/..", ec));
    std::printf("equivalent a/b/.. a: %d\n", (int)fs::equivalent(tmp / "a/b/..", tmp / "a", ec));
    std::printf("link target: %s\n", fs::read_symlink(tmp / "a" / "link", ec).string().c_str());
    fs::rename(tmp / "top.txt", tmp / "empty" / "moved.txt", ec);
    std::printf("rename: %s, exists: %d\n", ec ? "error" : "ok", (int)fs::exists(tmp / "empty" / "moved.txt"));
    bool gone = fs::remove(tmp / "empty", ec);
    std::printf("remove non-empty dir: %d %s\n", (int)gone, ec ? "error" : "ok");
    std::printf("remove file: %d\n", (int)fs::remove(tmp / "empty" / "moved.txt", ec));

    uintmax_t n = fs::remove_all(tmp, ec);
    std::printf("remove_all: %ju %s\n", n, ec ? "error" : "ok");
    std::printf("exists after: %d\n", (int)fs::exists(tmp, ec));
    n = fs::remove_all(tmp, ec);
    std::printf("remove_all missing: %ju %s\n", n, ec ? "error" : "ok");
    list(".");
    return 0;
}
