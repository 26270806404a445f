// Whether the standard streams are terminals. run.sh runs every program with
// stdin from a pipe, stdout captured and stderr to /dev/null, so none is, and
// the wasm build must agree: wasi-libc's isatty() is "a character device
// without seek rights", and it also decides that stdout is line-buffered.
// (nyash-engine once reported every standard stream as a character device;
// yosys 0.70 then coloured its redirected log and, line-buffered, died of an
// uncaught C++ exception where wasmtime's run went on.)
#include <stdio.h>
#include <unistd.h>

int main(void) {
  printf("isatty: stdin %d stdout %d stderr %d\n", isatty(0), isatty(1), isatty(2));
  return 0;
}
