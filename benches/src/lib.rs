//! Workloads shared by the benchmarks: generated modules and small kernels.

/// The C workloads in `workloads/` (`NAME.c`, built to `NAME.wasm`).
pub const C_WORKLOADS: &[&str] = &[
    "fib",
    "primes",
    "matmul",
    "nbody",
    "sort_hash",
    "interp",
    "strings",
];

/// SIMD kernels written with `wasm_simd128.h` intrinsics, in
/// `workloads/kernels/` (`NAME.c`, built with `-msimd128` to `NAME.wasm`);
/// natively, a scalar path of the same file computes the same output.
pub const SIMD_KERNELS: &[&str] = &["dot", "blur", "bytesearch", "mat4"];

/// C workloads also built with `-O3 -msimd128` (clang's auto-vectorizer), in
/// `workloads/simd/NAME.wasm`, from the same `workloads/NAME.c`.
pub const SIMD_BUILDS: &[&str] = &["matmul", "nbody", "strings"];

/// WebAssembly GC workloads in `workloads/gc/` (`NAME.wat`, each exporting
/// `run(i32)` that returns a checksum), with the argument `compare` passes.
pub const GC_WORKLOADS: &[(&str, i32)] = &[
    ("binarytrees", 18),
    ("mutate", 2_000_000),
    ("dispatch", 15_000),
    ("arrays", 5_000),
];

/// A module of `funcs` functions, each a loop with arithmetic, branches,
/// memory traffic and calls to its neighbour: a stand-in for compiled code of
/// a real program, for measuring compile throughput.
pub fn large_module_wat(funcs: usize) -> String {
    let mut s = String::from("(module (memory 1)\n");
    for i in 0..funcs {
        let callee = if i + 1 < funcs { i + 1 } else { 0 };
        s.push_str(&format!(
            r#"(func $f{i} (export "f{i}") (param $n i32) (param $x i64) (result i64)
  (local $i i32) (local $acc i64) (local $t f64)
  (local.set $acc (local.get $x))
  (block $done (loop $top
    (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
    (local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const {k})) (i64.extend_i32_u (local.get $i))))
    (if (i32.and (local.get $i) (i32.const 1))
      (then (local.set $t (f64.add (local.get $t) (f64.convert_i64_s (local.get $acc)))))
      (else (i64.store (i32.and (i32.shl (local.get $i) (i32.const 3)) (i32.const 4095)) (local.get $acc))))
    (local.set $acc (i64.xor (local.get $acc) (i64.load (i32.and (local.get $i) (i32.const 4088)))))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $top)))
  (if (result i64) (i32.gt_u (local.get $n) (i32.const 1000000))
    (then (call $f{callee} (i32.const 0) (local.get $acc)))
    (else (i64.add (local.get $acc) (i64.trunc_sat_f64_s (local.get $t))))))
"#,
            k = 2 * i + 3,
        ));
    }
    s.push(')');
    s
}

/// Call-heavy: naive recursive Fibonacci.
pub const FIB_WAT: &str = r#"(module
  (func $fib (export "fib") (param $n i32) (result i64)
    (if (result i64) (i32.lt_u (local.get $n) (i32.const 2))
      (then (i64.extend_i32_u (local.get $n)))
      (else (i64.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2))))))))"#;

/// Loop-heavy: a sieve of Eratosthenes over linear memory; returns the
/// number of primes below `n`.
pub const SIEVE_WAT: &str = r#"(module (memory 16)
  (func (export "sieve") (param $n i32) (result i32)
    (local $i i32) (local $j i32) (local $count i32)
    (memory.fill (i32.const 0) (i32.const 0) (local.get $n))
    (local.set $i (i32.const 2))
    (block $done (loop $outer
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (if (i32.eqz (i32.load8_u (local.get $i)))
        (then
          (local.set $count (i32.add (local.get $count) (i32.const 1)))
          (local.set $j (i32.mul (local.get $i) (local.get $i)))
          (block $d2 (loop $inner
            (br_if $d2 (i32.ge_u (local.get $j) (local.get $n)))
            (i32.store8 (local.get $j) (i32.const 1))
            (local.set $j (i32.add (local.get $j) (local.get $i)))
            (br $inner)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $outer)))
    (local.get $count)))"#;

/// A module of `funcs` huge functions, each `blocks` copies of a loop nest
/// with integer, float and memory work and a branch table between them: the
/// shape of a big interpreter loop or a generated parser, where one function
/// dominates compile time and the parallel compile has little to share.
pub fn huge_functions_wat(funcs: usize, blocks: usize) -> String {
    let mut s = String::from("(module (memory 1)\n");
    for f in 0..funcs {
        s.push_str(&format!(
            "(func (export \"h{f}\") (param $n i32) (param $x i64) (result i64)\n  \
             (local $i i32) (local $acc i64) (local $t f64) (local $sel i32)\n  \
             (local.set $acc (local.get $x))\n"
        ));
        for b in 0..blocks {
            let k = 2 * (f * blocks + b) + 3;
            s.push_str(&format!(
                r#"  (local.set $i (i32.const 0))
  (block $done{b} (loop $top{b}
    (br_if $done{b} (i32.ge_u (local.get $i) (local.get $n)))
    (local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const {k})) (i64.extend_i32_u (local.get $i))))
    (local.set $sel (i32.and (i32.wrap_i64 (local.get $acc)) (i32.const 3)))
    (block $c (block $b (block $a
      (br_table $a $b $c (local.get $sel)))
      (local.set $t (f64.add (local.get $t) (f64.convert_i64_s (local.get $acc))))
      (br $c))
      (i64.store (i32.and (i32.shl (local.get $i) (i32.const 3)) (i32.const 4095)) (local.get $acc)))
    (local.set $acc (i64.xor (local.get $acc) (i64.load offset={b} (i32.and (local.get $i) (i32.const 4032)))))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $top{b})))
"#
            ));
        }
        s.push_str("  (i64.add (local.get $acc) (i64.trunc_sat_f64_s (local.get $t))))\n");
    }
    s.push(')');
    s
}
