//! Traps from hand-written x86_64 machine code standing in for generated wasm.
#![cfg(target_arch = "x86_64")]

use std::ffi::c_void;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::sync::Arc;

use nyash_asyncify::{
    CodeInfo, EntryFn, MAX_BACKTRACE_FRAMES, STACK_OVERFLOW, StackPool, Trap, call_here,
    host_slack, lookup_code, register_code, run_on_stack, unregister_code,
};

const UNREACHABLE: u8 = 42;
const HEAP_OOB: u8 = 7;
const DIV_BY_ZERO: u8 = 9;

/// Trap sites and function ranges of one image, as offsets.
struct Tables {
    start: usize,
    traps: Vec<(usize, u8)>,
    functions: Vec<(usize, usize)>,
}

impl CodeInfo for Tables {
    fn trap_code(&self, pc: usize) -> Option<u8> {
        let off = pc.checked_sub(self.start)?;
        self.traps.iter().find(|t| t.0 == off).map(|t| t.1)
    }
    fn is_wasm_function(&self, pc: usize) -> bool {
        let Some(off) = pc.checked_sub(self.start) else {
            return false;
        };
        self.functions.iter().any(|&(s, e)| off >= s && off < e)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// One page of executable code; registered unless built with `unregistered`.
struct Code {
    ptr: *mut u8,
    len: usize,
    registered: bool,
}

impl Code {
    fn new(bytes: &[u8], traps: &[(usize, u8)], functions: &[(usize, usize)]) -> Code {
        let mut code = Code::unregistered(bytes);
        register_code(
            code.addr(0),
            code.addr(code.len),
            Arc::new(Tables {
                start: code.addr(0),
                traps: traps.to_vec(),
                functions: functions.to_vec(),
            }),
        );
        code.registered = true;
        code
    }

    fn unregistered(bytes: &[u8]) -> Code {
        let len = 4096;
        assert!(bytes.len() <= len);
        // SAFETY: fresh anonymous mapping, written then made read+exec.
        unsafe {
            let ptr = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(ptr, libc::MAP_FAILED);
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr.cast::<u8>(), bytes.len());
            assert_eq!(
                libc::mprotect(ptr, len, libc::PROT_READ | libc::PROT_EXEC),
                0
            );
            Code {
                ptr: ptr.cast(),
                len,
                registered: false,
            }
        }
    }

    fn addr(&self, off: usize) -> usize {
        self.ptr as usize + off
    }

    /// The code at `off` as a function of type `F` (a fn pointer type).
    unsafe fn func<F: Copy>(&self, off: usize) -> F {
        assert_eq!(size_of::<F>(), size_of::<usize>());
        let p = self.addr(off);
        // SAFETY: F is a fn pointer type; the caller vouches for the signature.
        unsafe { std::mem::transmute_copy::<usize, F>(&p) }
    }
}

impl Drop for Code {
    fn drop(&mut self) {
        if self.registered {
            unregister_code(self.addr(0), self.addr(self.len));
        }
        // SAFETY: our own mapping, no longer executing.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

type Fn0 = extern "C" fn() -> u64;

/// `push rbp; mov rbp, rsp; ud2`, trap site at 4.
fn ud2_code() -> Code {
    Code::new(
        &[0x55, 0x48, 0x89, 0xE5, 0x0F, 0x0B],
        &[(4, UNREACHABLE)],
        &[(0, 6)],
    )
}

const STACK: usize = 256 * 1024 + 128 * 1024;

fn call<R>(pool: &StackPool, f: impl FnOnce() -> R) -> Result<R, Trap> {
    let mut limit = usize::MAX;
    // SAFETY: `limit` lives across the call; closures hold nothing to drop.
    let r = unsafe { run_on_stack(pool, &mut limit, f) };
    assert_eq!(limit, usize::MAX, "stack limit not restored");
    r
}

#[test]
fn ud2_becomes_trap_and_stack_is_reused() {
    let code = ud2_code();
    let pool = StackPool::new(STACK);
    // SAFETY: the code takes no arguments and never returns normally.
    let f: Fn0 = unsafe { code.func(0) };
    for _ in 0..3 {
        let trap = call(&pool, || f()).unwrap_err();
        assert_eq!(trap.code, UNREACHABLE);
        assert_eq!(trap.pc, code.addr(4));
        assert_eq!(trap.backtrace, vec![code.addr(4)]);
        assert_eq!(pool.live_stacks(), 1);
        assert_eq!(pool.idle_stacks(), 1);
    }
    // And an ordinary call on the same stack still works.
    assert_eq!(call(&pool, || 5 + 6), Ok(11));
    assert_eq!(pool.live_stacks(), 1);
}

#[test]
fn null_load_at_trap_site() {
    // push rbp; mov rbp, rsp; mov rax, [0]; pop rbp; ret
    let code = Code::new(
        &[
            0x55, 0x48, 0x89, 0xE5, 0x48, 0x8B, 0x04, 0x25, 0, 0, 0, 0, 0x5D, 0xC3,
        ],
        &[(4, HEAP_OOB)],
        &[(0, 14)],
    );
    let pool = StackPool::new(STACK);
    // SAFETY: a no-argument function.
    let f: Fn0 = unsafe { code.func(0) };
    let trap = call(&pool, || f()).unwrap_err();
    assert_eq!((trap.code, trap.pc), (HEAP_OOB, code.addr(4)));
}

#[test]
fn division_by_zero() {
    // xor ecx, ecx; mov eax, 1; cdq; idiv ecx; ret
    let code = Code::new(
        &[0x31, 0xC9, 0xB8, 1, 0, 0, 0, 0x99, 0xF7, 0xF9, 0xC3],
        &[(8, DIV_BY_ZERO)],
        &[(0, 11)],
    );
    let pool = StackPool::new(STACK);
    // SAFETY: a no-argument function.
    let f: Fn0 = unsafe { code.func(0) };
    let trap = call(&pool, || f()).unwrap_err();
    assert_eq!((trap.code, trap.pc), (DIV_BY_ZERO, code.addr(8)));
}

#[test]
fn backtrace_walks_wasm_frames() {
    // A at 0: push rbp; mov rbp, rsp; call B; pop rbp; ret
    // B at 16: push rbp; mov rbp, rsp; ud2
    let mut bytes = vec![0x55, 0x48, 0x89, 0xE5, 0xE8, 7, 0, 0, 0, 0x5D, 0xC3];
    bytes.resize(16, 0xCC);
    bytes.extend([0x55, 0x48, 0x89, 0xE5, 0x0F, 0x0B]);
    let code = Code::new(&bytes, &[(20, UNREACHABLE)], &[(0, 11), (16, 22)]);
    let pool = StackPool::new(STACK);
    // SAFETY: a no-argument function.
    let f: Fn0 = unsafe { code.func(0) };
    let trap = call(&pool, || f()).unwrap_err();
    assert_eq!(trap.code, UNREACHABLE);
    assert_eq!(trap.backtrace, vec![code.addr(20), code.addr(9)]);
}

#[test]
fn guard_page_overflow_is_stack_overflow() {
    // R: push rbp; mov rbp, rsp; call R; pop rbp; ret  (no trap sites)
    let code = Code::new(
        &[
            0x55, 0x48, 0x89, 0xE5, 0xE8, 0xF7, 0xFF, 0xFF, 0xFF, 0x5D, 0xC3,
        ],
        &[],
        &[(0, 11)],
    );
    let pool = StackPool::new(STACK);
    // SAFETY: a no-argument function (that never returns).
    let f: Fn0 = unsafe { code.func(0) };
    for _ in 0..2 {
        let trap = call(&pool, || f()).unwrap_err();
        assert_eq!(trap.code, STACK_OVERFLOW);
        assert!(
            trap.pc == code.addr(0) || trap.pc == code.addr(4),
            "pc {:#x}",
            trap.pc
        );
        assert_eq!(trap.backtrace.len(), MAX_BACKTRACE_FRAMES);
        assert!(trap.backtrace[1..].iter().all(|&ra| ra == code.addr(9)));
    }
    assert_eq!(pool.live_stacks(), 1);
}

#[test]
fn stack_overflow_code_matches_cranelift() {
    assert_eq!(
        STACK_OVERFLOW,
        cranelift_codegen::ir::TrapCode::STACK_OVERFLOW
            .as_raw()
            .get()
    );
}

#[test]
fn stack_limit_is_set_inside_and_restored() {
    let pool = StackPool::new(STACK);
    let mut limit = 12345usize;
    let limit_ptr: *mut usize = &mut limit;
    // SAFETY: `limit` outlives the call.
    let (inside, local) = unsafe {
        run_on_stack(&pool, limit_ptr, || {
            let local = 0u64;
            (
                limit_ptr.read_volatile(),
                std::ptr::addr_of!(local) as usize,
            )
        })
    }
    .unwrap();
    assert_eq!(limit, 12345);
    // The closure's frame is above the limit, and the limit leaves host_slack
    // (and no more than the requested size) below it.
    assert!(inside < local, "limit {inside:#x} local {local:#x}");
    assert!(local - inside < STACK - host_slack());
    assert!(local - inside > STACK - host_slack() - 64 * 1024);
}

#[test]
fn panic_propagates_and_stack_returns() {
    let pool = StackPool::new(STACK);
    let mut limit = 1usize;
    let limit_ptr: *mut usize = &mut limit;
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: `limit` outlives the call.
        unsafe { run_on_stack(&pool, limit_ptr, || -> u32 { panic!("boom {}", 7) }) }
    }))
    .unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied());
    assert_eq!(msg, Some("boom 7"));
    assert_eq!(limit, 1);
    assert_eq!((pool.live_stacks(), pool.idle_stacks()), (1, 1));
    assert_eq!(call(&pool, || "ok"), Ok("ok"));
}

struct Nest<'a> {
    pool: &'a StackPool,
    limit: *mut usize,
    ud2: Fn0,
    inner_result: Option<Result<u64, Trap>>,
    limit_after_inner: usize,
}

extern "C" fn host(ctx: *mut c_void) -> u64 {
    // SAFETY: the test passes a live Nest.
    let nest = unsafe { &mut *ctx.cast::<Nest>() };
    let ud2 = nest.ud2;
    // SAFETY: `nest.limit` is the outer call's limit slot, live throughout.
    let r = unsafe { run_on_stack(nest.pool, nest.limit, || ud2()) };
    nest.inner_result = Some(r);
    // SAFETY: as above.
    nest.limit_after_inner = unsafe { nest.limit.read() };
    41
}

#[test]
fn nested_trap_ends_only_inner_call() {
    let ud2 = ud2_code();
    // push rbp; mov rbp, rsp; call rsi; add rax, 1; pop rbp; ret
    let caller = Code::new(
        &[
            0x55, 0x48, 0x89, 0xE5, 0xFF, 0xD6, 0x48, 0x83, 0xC0, 0x01, 0x5D, 0xC3,
        ],
        &[],
        &[(0, 12)],
    );
    let pool = StackPool::new(STACK);
    let mut limit = 0usize;
    let mut nest = Nest {
        pool: &pool,
        limit: &mut limit,
        // SAFETY: a no-argument function.
        ud2: unsafe { ud2.func(0) },
        inner_result: None,
        limit_after_inner: 0,
    };
    type Caller = extern "C" fn(*mut c_void, extern "C" fn(*mut c_void) -> u64) -> u64;
    // SAFETY: the code calls its second argument with its first, adds 1.
    let outer: Caller = unsafe { caller.func(0) };
    let nest_ptr: *mut Nest = &mut nest;
    let limit_ptr = nest.limit;
    let mut outer_limit = 0;
    // SAFETY: `limit` and `nest` outlive the call.
    let r = unsafe {
        run_on_stack(&pool, limit_ptr, || {
            outer_limit = limit_ptr.read();
            outer(nest_ptr.cast(), host)
        })
    };
    assert_eq!(r, Ok(42));
    let inner = nest.inner_result.take().unwrap().unwrap_err();
    assert_eq!((inner.code, inner.pc), (UNREACHABLE, ud2.addr(4)));
    assert_eq!(
        nest.limit_after_inner, outer_limit,
        "outer limit not restored"
    );
    assert_ne!(outer_limit, 0);
    assert_eq!(limit, 0);
    assert_eq!((pool.live_stacks(), pool.idle_stacks()), (2, 2));
}

#[test]
fn many_calls_do_not_leak_stacks() {
    let code = ud2_code();
    let pool = StackPool::new(STACK);
    // SAFETY: a no-argument function.
    let f: Fn0 = unsafe { code.func(0) };
    for i in 0..10_000u64 {
        if i % 2 == 0 {
            assert_eq!(call(&pool, || f()).unwrap_err().code, UNREACHABLE);
        } else {
            assert_eq!(call(&pool, || i * 2), Ok(i * 2));
        }
    }
    assert_eq!(pool.live_stacks(), 1);
}

#[test]
fn traps_on_many_threads() {
    let code = ud2_code();
    let pool = StackPool::new(STACK);
    // SAFETY: a no-argument function.
    let f: Fn0 = unsafe { code.func(0) };
    let expected_pc = code.addr(4);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..500 {
                    let trap = call(&pool, || f()).unwrap_err();
                    assert_eq!((trap.code, trap.pc), (UNREACHABLE, expected_pc));
                }
            });
        }
    });
    assert!(pool.live_stacks() <= 4);
    assert_eq!(pool.live_stacks(), pool.idle_stacks());
}

#[test]
fn registry_lookup() {
    let code = ud2_code();
    let info = lookup_code(code.addr(4)).expect("registered");
    assert_eq!(info.trap_code(code.addr(4)), Some(UNREACHABLE));
    assert!(info.is_wasm_function(code.addr(0)));
    assert!(lookup_code(code.addr(0) - 1).is_none_or(|i| !i.is_wasm_function(code.addr(0) - 1)));
    // Still mapped, so no other test can own these addresses meanwhile.
    unregister_code(code.addr(0), code.addr(code.len));
    assert!(lookup_code(code.addr(4)).is_none());
}

// --- call_here: on the caller's own stack -----------------------------------

/// `call_here` of `code` at `off` with four arguments, and a budget of
/// `max` bytes; checks that the limit slot is restored.
fn here(code: &Code, off: usize, args: [usize; 4], max: usize) -> Result<(), Trap> {
    let pool = StackPool::new(STACK);
    let mut limit = usize::MAX;
    // SAFETY: the code at `off` takes four pointer-sized arguments; `limit`
    // lives across the call.
    let r = unsafe { call_here(&pool, &mut limit, max, code.func::<EntryFn>(off), args) };
    assert_eq!(limit, usize::MAX, "stack limit not restored");
    assert_eq!(pool.live_stacks(), 0, "ran on an execution stack");
    r
}

#[test]
fn call_here_trap_returns_with_callee_saved_registers_intact() {
    // Clobbers rbx, rbp, r12-r15, then ud2 (trap site at 27).
    // mov rbx, -1; mov r12, -1; mov r13, -1; mov r14, -1; mov r15, -1
    let mut bytes = Vec::new();
    for reg in [0xC3u8, 0xC4, 0xC5, 0xC6, 0xC7] {
        let rex = if reg == 0xC3 { 0x48 } else { 0x49 };
        bytes.extend([rex, 0xC7, reg, 0xFF, 0xFF, 0xFF, 0xFF]);
    }
    let ud2_at = bytes.len();
    bytes.extend([0x0F, 0x0B]);
    let code = Code::new(&bytes, &[(ud2_at, UNREACHABLE)], &[(0, bytes.len())]);
    // Values the compiler keeps in registers across the calls, many of them
    // callee-saved ones.
    let seeds: [u64; 8] = std::hint::black_box([1, 2, 3, 4, 5, 6, 7, 8]);
    let mut acc = [0u64; 8];
    for round in 0..1000u64 {
        let trap = here(&code, 0, [0; 4], 1 << 20).unwrap_err();
        assert_eq!((trap.code, trap.pc), (UNREACHABLE, code.addr(ud2_at)));
        for (a, s) in acc.iter_mut().zip(seeds) {
            *a = a.wrapping_add(s * round);
        }
    }
    let sum: u64 = (0..1000).sum();
    assert_eq!(acc, seeds.map(|s| s * sum));
}

#[test]
fn call_here_sets_the_limit_below_the_caller_and_nests() {
    // Calls its first argument with its second: push rbp; mov rbp, rsp;
    // mov rax, rdi; mov rdi, rsi; call rax; pop rbp; ret
    let caller = Code::new(
        &[
            0x55, 0x48, 0x89, 0xE5, 0x48, 0x89, 0xF8, 0x48, 0x89, 0xF7, 0xFF, 0xD0, 0x5D, 0xC3,
        ],
        &[],
        &[(0, 14)],
    );
    let ud2 = ud2_code();
    struct Ctx<'a> {
        limit: *mut usize,
        ud2: &'a Code,
        seen_limit: usize,
        sp: usize,
        inner: Option<Result<(), Trap>>,
        limit_after_inner: usize,
    }
    extern "C" fn host(ctx: *mut c_void) {
        // SAFETY: the test passes a live Ctx.
        let ctx = unsafe { &mut *ctx.cast::<Ctx>() };
        // SAFETY: the limit slot lives across the outer call.
        ctx.seen_limit = unsafe { ctx.limit.read() };
        let probe = 0u8;
        ctx.sp = std::hint::black_box(&probe) as *const u8 as usize;
        let pool = StackPool::new(STACK);
        // SAFETY: ud2 takes (and ignores) four arguments; the slot is live.
        ctx.inner = Some(unsafe {
            call_here(
                &pool,
                ctx.limit,
                1 << 20,
                ctx.ud2.func::<EntryFn>(0),
                [0; 4],
            )
        });
        // SAFETY: as above.
        ctx.limit_after_inner = unsafe { ctx.limit.read() };
    }
    let pool = StackPool::new(STACK);
    let mut limit = 0usize;
    let mut ctx = Ctx {
        limit: &mut limit,
        ud2: &ud2,
        seen_limit: 0,
        sp: 0,
        inner: None,
        limit_after_inner: 0,
    };
    let probe = 0u8;
    let outer_sp = std::hint::black_box(&probe) as *const u8 as usize;
    let budget = 256 << 10;
    let ctx_ptr: *mut Ctx = &mut ctx;
    // SAFETY: the code calls `host(ctx)`; everything outlives the call.
    let r = unsafe {
        call_here(
            &pool,
            ctx.limit,
            budget,
            caller.func::<EntryFn>(0),
            [
                host as extern "C" fn(*mut c_void) as usize,
                ctx_ptr as usize,
                0,
                0,
            ],
        )
    };
    assert_eq!(r, Ok(()));
    assert_eq!(limit, 0, "limit restored after the outer call");
    // About `budget` below the caller's stack pointer (`call_here` keeps its
    // backtrace buffer, 2 KiB, on the stack too).
    let below = outer_sp - ctx.seen_limit;
    assert!(below > budget - 4096 && below < budget + 8192, "{below}");
    assert!(ctx.sp > ctx.seen_limit);
    let inner = ctx.inner.take().unwrap().unwrap_err();
    assert_eq!((inner.code, inner.pc), (UNREACHABLE, ud2.addr(4)));
    // The inner call kept the outer budget (a higher limit would be its own
    // sp minus the budget, lower than the outer limit).
    assert_eq!(ctx.limit_after_inner, ctx.seen_limit);
    assert_eq!(pool.live_stacks(), 0);
}

#[test]
fn call_here_guard_page_overflow_on_a_small_thread() {
    // R: push rbp; mov rbp, rsp; call R; pop rbp; ret  (no limit check: only
    // the thread's guard page stops it)
    let code = Code::new(
        &[
            0x55, 0x48, 0x89, 0xE5, 0xE8, 0xF7, 0xFF, 0xFF, 0xFF, 0x5D, 0xC3,
        ],
        &[],
        &[(0, 11)],
    );
    let addr = code.addr(0);
    let result = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || {
            let mut traps = Vec::new();
            for _ in 0..3 {
                let pool = StackPool::new(STACK);
                let mut limit = usize::MAX;
                // SAFETY: the code ignores its arguments and never returns.
                let f: EntryFn = unsafe { std::mem::transmute::<usize, EntryFn>(addr) };
                // SAFETY: `f` faults at once, which `call_here` reports as a
                // trap; the pool and the limit outlive the call.
                traps.push(unsafe { call_here(&pool, &mut limit, 1 << 30, f, [0; 4]) });
            }
            traps
        })
        .unwrap()
        .join()
        .unwrap();
    for r in result {
        let trap = r.unwrap_err();
        assert_eq!(trap.code, STACK_OVERFLOW);
        assert_eq!(trap.backtrace.len(), MAX_BACKTRACE_FRAMES);
        assert!(trap.backtrace[1..].iter().all(|&ra| ra == code.addr(9)));
    }
}

#[test]
fn call_here_on_another_stack_runs_on_an_execution_stack() {
    // mov [rdi], rsi; mov [rdi+8], rdx; mov [rdi+16], rcx; ret
    let args = Code::new(
        &[
            0x48, 0x89, 0x37, 0x48, 0x89, 0x57, 0x08, 0x48, 0x89, 0x4F, 0x10, 0xC3,
        ],
        &[],
        &[(0, 12)],
    );
    let ud2 = ud2_code();
    let (args_at, ud2_at) = (args.addr(0), ud2.addr(0));
    // SAFETY: both take four pointer-sized arguments.
    let (args_fn, ud2_fn) = unsafe {
        (
            std::mem::transmute::<usize, EntryFn>(args_at),
            std::mem::transmute::<usize, EntryFn>(ud2_at),
        )
    };
    let run = move || {
        let pool = StackPool::new(STACK);
        let mut limit = usize::MAX;
        let mut out = [0usize; 3];
        let a0 = out.as_mut_ptr() as usize;
        // SAFETY: the code writes three words to its first argument; `limit`
        // and `out` live across the calls.
        let ok = unsafe { call_here(&pool, &mut limit, 1 << 20, args_fn, [a0, 1, 2, 3]) };
        assert_eq!(limit, usize::MAX, "stack limit not restored");
        // SAFETY: ud2 ignores its arguments.
        let trap = unsafe { call_here(&pool, &mut limit, 1 << 20, ud2_fn, [0; 4]) };
        assert_eq!(limit, usize::MAX, "stack limit not restored");
        (ok, out, trap.unwrap_err(), pool.live_stacks())
    };
    // On this thread's own stack first (which makes the thread known), then
    // on a stack switched to by other code: the thread's bounds do not cover
    // it, so the calls go to an execution stack.
    let (ok, out, trap, stacks) = run();
    assert_eq!(
        (ok, out, trap.code, stacks),
        (Ok(()), [1, 2, 3], UNREACHABLE, 0)
    );
    let mut co = corosensei::Coroutine::new(move |_: &corosensei::Yielder<(), ()>, ()| run());
    let corosensei::CoroutineResult::Return((ok, out, trap, stacks)) = co.resume(()) else {
        panic!("the coroutine yielded")
    };
    assert_eq!(ok, Ok(()));
    assert_eq!(out, [1, 2, 3]);
    assert_eq!((trap.code, trap.pc), (UNREACHABLE, ud2.addr(4)));
    assert_eq!(stacks, 1, "did not run on an execution stack");
}

// --- faults that are not ours must kill the process --------------------------

const CHILD_VAR: &str = "NYASH_ASYNCIFY_CHILD";

/// Runs `test` in a child process with `CHILD_VAR=case`; returns the signal
/// that killed it.
fn child_signal(test: &str, case: &str) -> Option<i32> {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_VAR, case)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.signal().is_some(),
        "child survived: {:?}\n{stderr}",
        out.status
    );
    out.status.signal()
}

/// In the child: no core files, then the fault, then a distinctive exit if
/// the fault was swallowed.
fn child(case: &str) -> ! {
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain setrlimit.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) };
    let pool = StackPool::new(STACK);
    match case {
        "unregistered" => {
            let code = Code::unregistered(&[0x0F, 0x0B]);
            // SAFETY: a no-argument function.
            let f: Fn0 = unsafe { code.func(0) };
            let _ = call(&pool, || f());
        }
        "host_fault" => {
            let _ = call(&pool, || {
                // SAFETY: deliberately not: a host bug that must crash.
                unsafe { std::ptr::read_volatile(16 as *const u64) }
            });
        }
        "not_a_trap_site" => {
            // mov rax, [0] at a wasm pc that is not a trap site.
            let code = Code::new(&[0x48, 0x8B, 0x04, 0x25, 0, 0, 0, 0, 0xC3], &[], &[(0, 9)]);
            // SAFETY: a no-argument function.
            let f: Fn0 = unsafe { code.func(0) };
            let _ = call(&pool, || f());
        }
        "outside_run_on_stack" => {
            nyash_asyncify::init_traps();
            let code = ud2_code();
            // SAFETY: a no-argument function.
            let f: Fn0 = unsafe { code.func(0) };
            f();
        }
        _ => {}
    }
    std::process::exit(3)
}

macro_rules! child_test {
    ($name:ident, $case:literal, $signal:expr) => {
        #[test]
        fn $name() {
            if std::env::var(CHILD_VAR).as_deref() == Ok($case) {
                child($case);
            }
            assert_eq!(child_signal(stringify!($name), $case), Some($signal));
        }
    };
}

child_test!(unregistered_fault_kills, "unregistered", libc::SIGILL);
child_test!(host_fault_kills, "host_fault", libc::SIGSEGV);
child_test!(non_trap_site_fault_kills, "not_a_trap_site", libc::SIGSEGV);
child_test!(
    trap_outside_run_on_stack_kills,
    "outside_run_on_stack",
    libc::SIGILL
);
