// C++ exception objects that outlive their handlers, for comparison with
// the native build: std::exception_ptr (current_exception, make_exception_ptr,
// rethrow_exception, the same object rethrown many times), nested
// exceptions (throw_with_nested, rethrow_if_nested), function-try-blocks,
// exceptions thrown and caught inside destructors while another one
// unwinds, catch by pointer and by reference to a base, and an exception
// kept alive while many others are thrown and caught.
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

struct Err {
  int id;
  std::string note;
};

struct Noisy {
  int id;
  explicit Noisy(int id) : id(id) {}
  ~Noisy() {
    // A destructor that throws and catches while an exception unwinds.
    try {
      throw id * 10;
    } catch (int v) {
      std::printf("  ~Noisy %d caught its own %d (uncaught %d)\n", id, v,
                  std::uncaught_exceptions());
    }
  }
};

static std::exception_ptr saved;

static void store_current(int id) {
  Noisy n(id);
  try {
    throw Err{id, "stored " + std::to_string(id)};
  } catch (...) {
    saved = std::current_exception();
  }
}

static void test_exception_ptr() {
  std::printf("exception_ptr:\n");
  store_current(1);
  // Throw and catch many others while `saved` holds its exception.
  long sum = 0;
  for (int i = 0; i < 1000; i++) {
    try {
      throw Err{i, ""};
    } catch (const Err& e) {
      sum += e.id;
    }
  }
  std::printf("  others %ld\n", sum);
  for (int round = 0; round < 3; round++) {
    try {
      Noisy n(round + 2);
      std::rethrow_exception(saved);
    } catch (Err& e) {
      e.id += 1;  // the same object every time
      std::printf("  rethrown %s id %d\n", e.note.c_str(), e.id);
    }
  }
  std::exception_ptr made = std::make_exception_ptr(std::runtime_error("made"));
  try {
    std::rethrow_exception(made);
  } catch (const std::exception& e) {
    std::printf("  made: %s\n", e.what());
  }
  std::exception_ptr none;
  std::printf("  empty ptr is %s\n", none ? "set" : "null");
  saved = nullptr;
}

// Nested exceptions: each level wraps the one below.
static void level(int n) {
  try {
    if (n == 0) throw std::runtime_error("bottom");
    level(n - 1);
  } catch (...) {
    std::throw_with_nested(std::runtime_error("level " + std::to_string(n)));
  }
}

static void print_nested(const std::exception& e, int depth) {
  std::printf("  %*s%s\n", depth * 2, "", e.what());
  try {
    std::rethrow_if_nested(e);
  } catch (const std::exception& inner) {
    print_nested(inner, depth + 1);
  }
}

static void test_nested() {
  std::printf("nested:\n");
  try {
    level(4);
  } catch (const std::exception& e) {
    print_nested(e, 0);
  }
}

// A function-try-block on a constructor: the handler sees the member's
// exception and it is rethrown automatically.
struct Member {
  explicit Member(int v) {
    if (v < 0) throw Err{v, "negative"};
  }
};
struct Holder {
  Member m;
  explicit Holder(int v) try : m(v) {
    std::printf("  Holder %d\n", v);
  } catch (const Err& e) {
    std::printf("  Holder's handler saw %s\n", e.note.c_str());
  }
};

static int function_try(int v) try {
  if (v > 5) throw Err{v, "too big"};
  return v;
} catch (const Err& e) {
  return -e.id;
}

static void test_function_try() {
  std::printf("function-try-blocks:\n");
  Holder ok(1);
  try {
    Holder bad(-1);
  } catch (const Err& e) {
    std::printf("  rethrown from Holder: %d\n", e.id);
  }
  std::printf("  function_try %d %d\n", function_try(3), function_try(9));
}

// Catch by pointer and by reference to base.
struct Animal {
  virtual ~Animal() = default;
  virtual const char* name() const = 0;
};
struct Cat : Animal {
  const char* name() const override { return "cat"; }
};
static Cat the_cat;

static void test_pointers() {
  std::printf("pointers:\n");
  try {
    throw &the_cat;
  } catch (Animal* a) {
    std::printf("  caught Animal* %s\n", a->name());
  }
  try {
    throw static_cast<const Cat*>(&the_cat);
  } catch (const Animal* a) {
    std::printf("  caught const Animal* %s\n", a->name());
  }
  try {
    throw nullptr;
  } catch (Cat* c) {
    std::printf("  nullptr caught as Cat* %s\n", c ? "set" : "null");
  }
  try {
    throw Cat();
  } catch (const Animal& a) {
    std::printf("  caught Animal& %s\n", a.name());
  }
}

// An exception escaping a catch(...) that rethrows a different type, many
// levels up, and the terminate-free paths around noexcept(false)
// destructors.
static void chain(int n) {
  if (n == 0) throw 0;
  try {
    chain(n - 1);
  } catch (int v) {
    if (n % 3 == 0) throw std::to_string(v + n);
    throw v + n;
  } catch (const std::string& s) {
    throw static_cast<int>(s.size()) + n;
  }
}

static void test_chain() {
  std::printf("chain:\n");
  for (int n : {1, 5, 9, 30}) {
    try {
      chain(n);
    } catch (int v) {
      std::printf("  chain %d int %d\n", n, v);
    } catch (const std::string& s) {
      std::printf("  chain %d string %s\n", n, s.c_str());
    }
  }
}

int main() {
  test_exception_ptr();
  test_nested();
  test_function_try();
  test_pointers();
  test_chain();
  std::printf("done\n");
  return 0;
}
