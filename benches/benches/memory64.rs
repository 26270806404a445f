//! The cost of memory64's explicit bounds checks: the same loop (sum a
//! 1 MiB array of i32s, then write it back doubled) over a 32-bit memory
//! (guard pages, no checks) and over a 64-bit memory (a check per access that
//! the index fits in 32 bits).

use criterion::{Criterion, criterion_group, criterion_main};
use nyash_engine::{Engine, Instance, Module, Store};

/// The kernel for address type `at` (`i32` or `i64`).
fn kernel(at: &str) -> String {
    format!(
        r#"(module
        (memory {at} 16)
        (func (export "run") (param $n {at}) (result i32)
            (local $i {at}) (local $sum i32)
            (loop $l
                (local.set $sum (i32.add (local.get $sum) (i32.load (local.get $i))))
                (i32.store (local.get $i) (i32.shl (i32.load (local.get $i)) (i32.const 1)))
                (local.set $i ({at}.add (local.get $i) ({at}.const 4)))
                (br_if $l ({at}.lt_u (local.get $i) (local.get $n))))
            (local.get $sum)))"#
    )
}

fn memory64(c: &mut Criterion) {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let m32 = Module::new(&engine, kernel("i32")).unwrap();
    let m32 = Instance::new(&mut store, &m32, &[]).unwrap();
    let run32 = m32.get_typed_func::<i32, i32>(&mut store, "run").unwrap();
    let m64 = Module::new(&engine, kernel("i64")).unwrap();
    let m64 = Instance::new(&mut store, &m64, &[]).unwrap();
    let run64 = m64.get_typed_func::<i64, i32>(&mut store, "run").unwrap();
    c.bench_function("memory/loop 1 MiB, 32-bit memory (guard pages)", |b| {
        b.iter(|| run32.call(&mut store, 1 << 20).unwrap())
    });
    c.bench_function(
        "memory/loop 1 MiB, 64-bit memory (32-bit index check)",
        |b| b.iter(|| run64.call(&mut store, 1 << 20).unwrap()),
    );
}

criterion_group!(benches, memory64);
criterion_main!(benches);
