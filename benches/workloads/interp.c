/* A small bytecode interpreter (a loop summing with a stack machine). */
#include <stdio.h>
enum { PUSH, ADD, SUB, DUP, JNZ, SWAP, POP, HALT, OVER };
int main(void) {
    /* acc n -> while n: acc += n; n -= 1 */
    int code[] = { PUSH, 0, PUSH, 3000000, /*4*/ DUP, JNZ, 8, HALT, /*8*/ SWAP, OVER, ADD, SWAP, PUSH, 1, SUB, PUSH, 1, JNZ, 4 };
    long long st[64]; int sp = 0, pc = 0;
    for (;;) {
        switch (code[pc++]) {
        case PUSH: st[sp++] = code[pc++]; break;
        case ADD: sp--; st[sp - 1] += st[sp]; break;
        case SUB: sp--; st[sp - 1] -= st[sp]; break;
        case DUP: st[sp] = st[sp - 1]; sp++; break;
        case OVER: st[sp] = st[sp - 2]; sp++; break;
        case SWAP: { long long t = st[sp - 1]; st[sp - 1] = st[sp - 2]; st[sp - 2] = t; break; }
        case POP: sp--; break;
        case JNZ: { int t = code[pc++]; if (st[--sp]) pc = t; break; }
        case HALT: printf("%lld\n", st[sp - 2]); return 0;
        }
    }
}
