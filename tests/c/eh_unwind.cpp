// C++ exceptions through many kinds of frames, each step printed, for
// comparison with the native build: destructors of RAII objects on the way
// up (cleanup pads: wasm `catch_all_ref` ... `throw_ref`), calls through
// function pointers, virtual calls and std::function (`call_indirect`),
// C callbacks (qsort), deep recursion, rethrow from catch blocks (`throw;`)
// and from cleanups, nested try blocks, catch by base class, many
// exception types, exceptions thrown and caught in a loop, and exceptions
// thrown by constructors (partly built objects and arrays). Nothing that
// the C++ library words differently (what() of its own exceptions) is
// printed.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

static int live = 0;  // RAII objects alive

struct Guard {
  const char* name;
  int n;
  Guard(const char* name, int n) : name(name), n(n) { live++; }
  ~Guard() {
    live--;
    if (n < 3 || n % 100 == 0) std::printf("  ~Guard %s %d\n", name, n);
  }
};

// Many exception types, some in a hierarchy.
struct Base {
  int code;
  explicit Base(int c) : code(c) {}
  virtual ~Base() = default;
  virtual const char* kind() const { return "Base"; }
};
struct Mid : Base {
  explicit Mid(int c) : Base(c) {}
  const char* kind() const override { return "Mid"; }
};
struct Leaf : Mid {
  std::string text;
  Leaf(int c, std::string t) : Mid(c), text(std::move(t)) {}
  const char* kind() const override { return "Leaf"; }
};
struct Other {
  double value;
};
enum class Color { Red, Green };
struct MyError : std::runtime_error {
  explicit MyError(const std::string& s) : std::runtime_error(s) {}
};

// --- 1. deep recursion with a destructor in every frame ---------------
static int deep(int n, int throw_at) {
  Guard g("deep", n);
  if (n == throw_at) throw Leaf(n, "from deep " + std::to_string(n));
  return deep(n + 1, throw_at) + 1;
}

static void test_deep() {
  std::printf("deep:\n");
  try {
    deep(0, 2000);
  } catch (const Mid& e) {
    std::printf("  caught %s code %d live %d\n", e.kind(), e.code, live);
  }
}

// --- 2. function pointers and a table of them ------------------------
static void thrower_int(int x) {
  Guard g("fp-int", 0);
  throw x * 7;
}
static void thrower_other(int x) {
  Guard g("fp-other", 1);
  throw Other{x + 0.5};
}
static void thrower_color(int x) {
  Guard g("fp-color", 2);
  throw x % 2 ? Color::Green : Color::Red;
}
static void thrower_cstr(int) { throw "a C string"; }
static void thrower_none(int x) { std::printf("  no throw %d\n", x); }

using Fn = void (*)(int);
static Fn table[] = {thrower_int, thrower_other, thrower_color, thrower_cstr, thrower_none};

static void via_pointer(Fn f, int x) {
  Guard g("via-pointer", 0);
  f(x);
}

static void test_pointers() {
  std::printf("function pointers:\n");
  for (int i = 0; i < 5; i++) {
    try {
      via_pointer(table[i], i + 3);
    } catch (int v) {
      std::printf("  int %d\n", v);
    } catch (const Other& o) {
      std::printf("  Other %.1f\n", o.value);
    } catch (Color c) {
      std::printf("  Color %d\n", static_cast<int>(c));
    } catch (const char* s) {
      std::printf("  const char* %s\n", s);
    }
  }
}

// --- 3. virtual calls --------------------------------------------------
struct Shape {
  virtual ~Shape() { std::printf("  ~Shape\n"); }
  virtual int area(int scale) = 0;
};
struct Square : Shape {
  int side;
  explicit Square(int s) : side(s) {}
  ~Square() override { std::printf("  ~Square %d\n", side); }
  int area(int scale) override {
    Guard g("square", 1);
    if (side * scale > 50) throw MyError("too big");
    return side * side * scale;
  }
};
struct Wrapper : Shape {
  std::unique_ptr<Shape> inner;
  explicit Wrapper(Shape* s) : inner(s) {}
  ~Wrapper() override { std::printf("  ~Wrapper\n"); }
  int area(int scale) override {
    Guard g("wrapper", 2);
    return inner->area(scale * 2) + 1;
  }
};

static void test_virtual() {
  std::printf("virtual calls:\n");
  for (int scale = 1; scale <= 16; scale *= 4) {
    try {
      std::unique_ptr<Shape> s(new Wrapper(new Wrapper(new Square(3))));
      std::printf("  area %d\n", s->area(scale));
    } catch (const std::runtime_error& e) {
      std::printf("  runtime_error %s\n", e.what());
    }
  }
}

// --- 4. std::function and lambdas --------------------------------------
static int apply_all(const std::vector<std::function<int(int)>>& fs, int x) {
  Guard g("apply-all", 0);
  int sum = 0;
  for (const auto& f : fs) sum += f(x);
  return sum;
}

static void test_function() {
  std::printf("std::function:\n");
  std::vector<std::function<int(int)>> fs;
  int captured = 10;
  fs.push_back([](int x) { return x + 1; });
  fs.push_back([&captured](int x) {
    Guard g("lambda", 1);
    if (x > captured) throw std::out_of_range("x over " + std::to_string(captured));
    return x * 2;
  });
  fs.push_back(std::bind([](int a, int b) { return a * b; }, std::placeholders::_1, 3));
  for (int x : {5, 20}) {
    try {
      std::printf("  sum %d\n", apply_all(fs, x));
    } catch (const std::logic_error& e) {
      std::printf("  logic_error %s\n", e.what());
    }
  }
  std::function<void()> empty;
  try {
    empty();
  } catch (const std::bad_function_call&) {
    std::printf("  bad_function_call\n");
  }
}

// --- 5. rethrow from catch blocks and cleanups -------------------------
static void inner_rethrow(int n) {
  Guard g("inner-rethrow", n);
  try {
    throw Mid(n);
  } catch (Base& b) {
    b.code += 100;
    std::printf("  inner saw %s %d, rethrowing\n", b.kind(), b.code);
    throw;  // the same object, modified
  }
}

static void middle_cleanup(int n) {
  Guard g("middle", n);
  try {
    inner_rethrow(n);
  } catch (...) {
    std::printf("  middle catch-all, rethrowing\n");
    throw;
  }
}

static void test_rethrow() {
  std::printf("rethrow:\n");
  try {
    middle_cleanup(1);
  } catch (const Mid& m) {
    std::printf("  outer caught %s %d live %d\n", m.kind(), m.code, live);
  }
  // A new exception thrown from a catch block replaces the one caught.
  try {
    try {
      throw 1;
    } catch (int i) {
      Guard g("replace", 0);
      throw Leaf(i + 1, "replacement");
    }
  } catch (const Leaf& l) {
    std::printf("  replacement %s %d %s\n", l.kind(), l.code, l.text.c_str());
  }
}

// --- 6. nested try blocks, exceptions caught and thrown again -----------
static int nested(int depth) {
  Guard g("nested", depth);
  if (depth == 0) throw depth;
  try {
    return nested(depth - 1);
  } catch (int v) {
    if (v < 2) throw v + 1;
    std::printf("  nested %d stops at %d\n", depth, v);
    return v;
  }
}

static void test_nested() {
  std::printf("nested:\n");
  std::printf("  result %d\n", nested(5));
  try {
    try {
      try {
        throw Other{1.5};
      } catch (int) {
        std::printf("  wrong: int\n");
      }
    } catch (const Base&) {
      std::printf("  wrong: Base\n");
    }
  } catch (const Other& o) {
    std::printf("  Other through two non-matching try blocks %.1f\n", o.value);
  }
}

// --- 7. through C: qsort's comparator throws ---------------------------
static int compares = 0;
static int cmp_throws(const void* a, const void* b) {
  int x = *static_cast<const int*>(a), y = *static_cast<const int*>(b);
  if (++compares == 5) throw Other{static_cast<double>(compares)};
  return (x > y) - (x < y);
}

static void test_qsort() {
  std::printf("qsort:\n");
  std::vector<int> v = {9, 3, 7, 1, 8, 2, 6, 4, 5, 0};
  try {
    Guard g("qsort", 0);
    std::qsort(v.data(), v.size(), sizeof(int), cmp_throws);
    std::printf("  wrong: sorted\n");
  } catch (const Other& o) {
    std::printf("  comparator threw at compare %.0f\n", o.value);
  }
}

// --- 8. constructors that throw ----------------------------------------
struct Part {
  int id;
  explicit Part(int id) : id(id) {
    if (id == 3) throw Mid(id);
    std::printf("  Part %d\n", id);
  }
  ~Part() { std::printf("  ~Part %d\n", id); }
};
struct Whole {
  Part a, b, c;
  Whole() : a(1), b(2), c(3) { std::printf("  wrong: Whole built\n"); }
};
static int part_counter = 0;
struct Counted {
  int id;
  Counted() : id(++part_counter) {
    if (id == 4) throw Base(id);
  }
  ~Counted() { std::printf("  ~Counted %d\n", id); }
};

static void test_constructors() {
  std::printf("constructors:\n");
  try {
    Whole w;
  } catch (const Base& b) {
    std::printf("  member ctor threw %s %d\n", b.kind(), b.code);
  }
  try {
    auto* p = new Whole();  // operator delete runs before the handler
    (void)p;
  } catch (const Mid& m) {
    std::printf("  new Whole threw %d\n", m.code);
  }
  try {
    Counted arr[6];
    (void)arr;
  } catch (const Base& b) {
    std::printf("  array element %d threw\n", b.code);
  }
  part_counter = 0;
  try {
    Counted* arr = new Counted[6];
    delete[] arr;
  } catch (const Base& b) {
    std::printf("  new[] element %d threw\n", b.code);
  }
}

// --- 9. many throws in a loop ------------------------------------------
static void maybe_throw(int i) {
  Guard g("loop", 3);
  switch (i % 4) {
    case 0: throw i;
    case 1: throw Mid(i);
    case 2: throw std::string("s") + std::to_string(i);
    default: break;
  }
}

static void test_loop() {
  std::printf("loop:\n");
  long ints = 0, mids = 0, strings = 0, none = 0;
  for (int i = 0; i < 20000; i++) {
    try {
      maybe_throw(i);
      none++;
    } catch (int v) {
      ints += v;
    } catch (const Base& b) {
      mids += b.code;
    } catch (const std::string& s) {
      strings += static_cast<long>(s.size());
    }
  }
  std::printf("  ints %ld mids %ld strings %ld none %ld live %d\n", ints, mids, strings, none,
              live);
}

// --- 10. uncaught exceptions count, and a library exception ------------
struct Watcher {
  ~Watcher() { std::printf("  unwinding: %d uncaught\n", std::uncaught_exceptions()); }
};

static void test_library() {
  std::printf("library:\n");
  try {
    Watcher w;
    std::vector<int> v(3);
    v.at(7) = 1;
  } catch (const std::out_of_range&) {
    std::printf("  vector::at threw out_of_range\n");
  }
  try {
    std::printf("  stoi %d\n", std::stoi("42"));
    std::printf("  stoi %d\n", std::stoi("x42"));
  } catch (const std::invalid_argument&) {
    std::printf("  stoi threw invalid_argument\n");
  }
}

int main() {
  test_deep();
  test_pointers();
  test_virtual();
  test_function();
  test_rethrow();
  test_nested();
  test_qsort();
  test_constructors();
  test_loop();
  test_library();
  std::printf("live at exit %d\n", live);
  return 0;
}
