/* A threaded bytecode interpreter whose handlers tail-call each other:
 * every instruction is one call, so without real tail calls the run below
 * (tens of millions of instructions) would need that many stack frames.
 * Built for wasm with -mtail-call, where clang's musttail becomes
 * return_call_indirect; natively with whatever the compiler guarantees. */
#include <stdint.h>
#include <stdio.h>

#if defined(__has_attribute)
#if __has_attribute(musttail)
#define MUSTTAIL __attribute__((musttail))
#endif
#endif
#ifndef MUSTTAIL
#define MUSTTAIL
#endif

enum { PUSH, LOAD, STORE, ADD, SUB, MUL, MOD, LT, JZ, JMP, DUP, DROP, PRINT, HALT };

typedef struct {
  int64_t stack[64];
  int64_t vars[8];
  int sp;
  uint64_t steps;
} Vm;

typedef int64_t (*Handler)(Vm *vm, const int32_t *pc);
static const Handler handlers[];

#define NEXT(n)                                                                \
  do {                                                                         \
    vm->steps++;                                                               \
    MUSTTAIL return handlers[pc[n]](vm, pc + (n));                             \
  } while (0)

static int64_t op_push(Vm *vm, const int32_t *pc) {
  vm->stack[vm->sp++] = pc[1];
  NEXT(2);
}
static int64_t op_load(Vm *vm, const int32_t *pc) {
  vm->stack[vm->sp++] = vm->vars[pc[1]];
  NEXT(2);
}
static int64_t op_store(Vm *vm, const int32_t *pc) {
  vm->vars[pc[1]] = vm->stack[--vm->sp];
  NEXT(2);
}
#define BINOP(name, expr)                                                      \
  static int64_t name(Vm *vm, const int32_t *pc) {                             \
    int64_t b = vm->stack[--vm->sp], a = vm->stack[--vm->sp];                  \
    vm->stack[vm->sp++] = (expr);                                              \
    NEXT(1);                                                                   \
  }
BINOP(op_add, a + b)
BINOP(op_sub, a - b)
BINOP(op_mul, a * b)
BINOP(op_mod, a % b)
BINOP(op_lt, a < b)
static int64_t op_jz(Vm *vm, const int32_t *pc) {
  if (vm->stack[--vm->sp] == 0) {
    pc += pc[1];
    NEXT(0);
  }
  NEXT(2);
}
static int64_t op_jmp(Vm *vm, const int32_t *pc) {
  pc += pc[1];
  NEXT(0);
}
static int64_t op_dup(Vm *vm, const int32_t *pc) {
  vm->stack[vm->sp] = vm->stack[vm->sp - 1];
  vm->sp++;
  NEXT(1);
}
static int64_t op_drop(Vm *vm, const int32_t *pc) {
  vm->sp--;
  NEXT(1);
}
static int64_t op_print(Vm *vm, const int32_t *pc) {
  printf("%lld\n", (long long)vm->stack[--vm->sp]);
  NEXT(1);
}
static int64_t op_halt(Vm *vm, const int32_t *pc) {
  (void)pc;
  return vm->sp ? vm->stack[vm->sp - 1] : 0;
}

static const Handler handlers[] = {op_push, op_load, op_store, op_add, op_sub,
                                   op_mul,  op_mod,  op_lt,    op_jz,  op_jmp,
                                   op_dup,  op_drop, op_print, op_halt};

int main(void) {
  /* Count the primes below N by trial division, and sum them modulo 1e9+7:
   *   n = 2; count = 0; sum = 0
   *   while n < N:
   *     d = 2; prime = 1
   *     while d * d < n + 1:  (d*d <= n)
   *       if n % d == 0: prime = 0; d = n (leave)
   *       d = d + 1
   *     count += prime; sum = (sum + prime * n) % 1000000007
   *     n = n + 1
   * Variables: 0 n, 1 d, 2 prime, 3 count, 4 sum. */
  enum { N = 60000 };
  int32_t code[256];
  int n = 0, off, outer, inner, done_inner, divisor, next_d, done_outer;
#define EMIT(x) (code[n++] = (x))
  EMIT(PUSH); EMIT(2); EMIT(STORE); EMIT(0);
  EMIT(PUSH); EMIT(0); EMIT(STORE); EMIT(3);
  EMIT(PUSH); EMIT(0); EMIT(STORE); EMIT(4);
  outer = n;
  EMIT(LOAD); EMIT(0); EMIT(PUSH); EMIT(N); EMIT(LT);
  EMIT(JZ); done_outer = n; EMIT(0);
  EMIT(PUSH); EMIT(2); EMIT(STORE); EMIT(1);
  EMIT(PUSH); EMIT(1); EMIT(STORE); EMIT(2);
  inner = n;
  EMIT(LOAD); EMIT(1); EMIT(LOAD); EMIT(1); EMIT(MUL);
  EMIT(LOAD); EMIT(0); EMIT(PUSH); EMIT(1); EMIT(ADD); EMIT(LT);
  EMIT(JZ); done_inner = n; EMIT(0);
  EMIT(LOAD); EMIT(0); EMIT(LOAD); EMIT(1); EMIT(MOD);
  EMIT(JZ); divisor = n; EMIT(0);
  EMIT(JMP); next_d = n; EMIT(0);
  code[divisor] = n - (divisor - 1);
  EMIT(PUSH); EMIT(0); EMIT(STORE); EMIT(2);
  EMIT(LOAD); EMIT(0); EMIT(STORE); EMIT(1);
  code[next_d] = n - (next_d - 1);
  EMIT(LOAD); EMIT(1); EMIT(PUSH); EMIT(1); EMIT(ADD); EMIT(STORE); EMIT(1);
  EMIT(JMP); off = inner - (n - 1); EMIT(off);
  code[done_inner] = n - (done_inner - 1);
  EMIT(LOAD); EMIT(3); EMIT(LOAD); EMIT(2); EMIT(ADD); EMIT(STORE); EMIT(3);
  EMIT(LOAD); EMIT(4); EMIT(LOAD); EMIT(2); EMIT(LOAD); EMIT(0); EMIT(MUL); EMIT(ADD);
  EMIT(PUSH); EMIT(1000000007); EMIT(MOD); EMIT(STORE); EMIT(4);
  EMIT(LOAD); EMIT(0); EMIT(PUSH); EMIT(1); EMIT(ADD); EMIT(STORE); EMIT(0);
  EMIT(JMP); off = outer - (n - 1); EMIT(off);
  code[done_outer] = n - (done_outer - 1);
  EMIT(LOAD); EMIT(3); EMIT(PRINT);
  EMIT(LOAD); EMIT(4); EMIT(PRINT);
  EMIT(PUSH); EMIT(7); EMIT(HALT);
  Vm vm = {0};
  int64_t r = handlers[code[0]](&vm, code);
  printf("result %lld after %llu instructions\n", (long long)r,
         (unsigned long long)vm.steps);
  return vm.steps > 10000000 ? 0 : 1;
}
