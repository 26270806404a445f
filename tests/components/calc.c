// A small C library built for wasm32-freestanding (no libc, no WASI) and
// made a component of calc.wit by wit-component (the `componentize`
// example of nyash-engine): the exports follow the canonical ABI's core
// signatures by hand, as a binding generator would emit them.
#include <stdint.h>
#include <stddef.h>

extern unsigned char __heap_base;
static uintptr_t heap_top;

// The canonical ABI's allocator: a bump allocator that grows memory; a
// realloc of the last block extends it in place when it can.
__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size) {
  if (!heap_top) heap_top = (uintptr_t)&__heap_base;
  uintptr_t p = (heap_top + align - 1) & ~(uintptr_t)(align - 1);
  uintptr_t end = p + new_size;
  size_t have = __builtin_wasm_memory_size(0) * 65536;
  if (end > have) {
    size_t pages = (end - have + 65535) / 65536;
    if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) __builtin_trap();
  }
  heap_top = end;
  unsigned char *d = (unsigned char *)p, *s = old;
  for (size_t i = 0; i < old_size && i < new_size; i++) d[i] = s[i];
  return d;
}

__attribute__((export_name("gcd")))
uint64_t gcd(uint64_t a, uint64_t b) {
  while (b) { uint64_t t = a % b; a = b; b = t; }
  return a;
}

__attribute__((export_name("fib")))
uint64_t fib(uint32_t n) {
  uint64_t a = 0, b = 1;
  for (uint32_t i = 0; i < n; i++) { uint64_t t = a + b; a = b; b = t; }
  return a;
}

__attribute__((export_name("count-vowels")))
uint32_t count_vowels(const char *s, size_t n) {
  uint32_t c = 0;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i] | 0x20;
    c += ch == 'a' || ch == 'e' || ch == 'i' || ch == 'o' || ch == 'u';
  }
  return c;
}

// Results that do not fit one core value are returned as a pointer to
// them (here a static area).
static struct { const char *ptr; size_t len; } ret_string;

// The words (runs of non-spaces) in reverse order, single spaces between.
__attribute__((export_name("reverse-words")))
void *reverse_words(const char *s, size_t n) {
  char *out = cabi_realloc(0, 0, 1, n ? n : 1);
  size_t o = 0, end = n;
  while (end > 0) {
    while (end > 0 && s[end - 1] == ' ') end--;
    size_t start = end;
    while (start > 0 && s[start - 1] != ' ') start--;
    if (start == end) break;
    if (o) out[o++] = ' ';
    for (size_t i = start; i < end; i++) out[o++] = s[i];
    end = start;
  }
  ret_string.ptr = out;
  ret_string.len = o;
  return &ret_string;
}

__attribute__((export_name("sum")))
int64_t sum(const int32_t *xs, size_t n) {
  int64_t s = 0;
  for (size_t i = 0; i < n; i++) s += xs[i];
  return s;
}

// option<stats>: a discriminant byte, the record at offset 8.
static struct {
  uint8_t some;
  struct { uint32_t count; double sum, min, max; } stats;
} ret_stats;

__attribute__((export_name("stats")))
void *stats(const double *xs, size_t n) {
  ret_stats.some = n > 0;
  if (n) {
    double s = 0, lo = xs[0], hi = xs[0];
    for (size_t i = 0; i < n; i++) {
      s += xs[i];
      if (xs[i] < lo) lo = xs[i];
      if (xs[i] > hi) hi = xs[i];
    }
    ret_stats.stats.count = n;
    ret_stats.stats.sum = s;
    ret_stats.stats.min = lo;
    ret_stats.stats.max = hi;
  }
  return &ret_stats;
}

// result<s32, string>: a discriminant byte, the payload at offset 4.
static struct {
  uint8_t is_err;
  union { int32_t ok; struct { const char *ptr; size_t len; } err; } u;
} ret_div;

__attribute__((export_name("checked-div")))
void *checked_div(int32_t a, int32_t b) {
  static const char by_zero[] = "division by zero";
  static const char overflow[] = "overflow";
  if (b == 0 || (a == INT32_MIN && b == -1)) {
    ret_div.is_err = 1;
    ret_div.u.err.ptr = b == 0 ? by_zero : overflow;
    ret_div.u.err.len = b == 0 ? sizeof by_zero - 1 : sizeof overflow - 1;
  } else {
    ret_div.is_err = 0;
    ret_div.u.ok = a / b;
  }
  return &ret_div;
}
