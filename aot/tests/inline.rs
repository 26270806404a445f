//! Inlining: small direct callees are inlined one level deep, the inlined
//! code is recorded for backtraces, and turning it off leaves calls alone.

use nyash_aot::{Compiler, Tunables};

const MODULE: &str = r#"(module (memory 1)
  (func $leaf (param i32) (result i32) local.get 0 i32.load)
  (func $mid (export "mid") (param i32) (result i32)
    local.get 0 call $leaf local.get 0 call $leaf i32.add)
  (func $rec (export "rec") (param i32) (result i32)
    local.get 0 i32.eqz if (result i32) i32.const 0
    else local.get 0 i32.const 1 i32.sub call $rec end))"#;

fn compile(inlining: bool) -> nyash_aot::Artifact {
    let wasm = wat::parse_str(MODULE).unwrap();
    Compiler::native()
        .unwrap()
        .with_tunables(Tunables {
            inlining,
            ..Tunables::default()
        })
        .compile(&wasm)
        .unwrap()
}

fn calls_in(a: &nyash_aot::Artifact, func_index: u32) -> std::ops::Range<u32> {
    let f = a
        .tables
        .functions
        .iter()
        .find(|f| f.func_index == func_index)
        .unwrap();
    f.offset..f.offset + f.len
}

#[test]
fn small_callees_are_inlined_and_recorded() {
    let on = compile(true);
    let off = compile(false);
    assert!(off.inlined.is_empty());
    assert!(!on.inlined.is_empty());
    // Both calls of $mid to $leaf are inlined: some of $mid's code belongs to
    // $leaf (function 0), including its trapping load.
    let mid = calls_in(&on, 1);
    let leaf_code: Vec<u32> = mid
        .clone()
        .filter(|&o| on.inlined.lookup(o) == Some(0))
        .collect();
    assert!(!leaf_code.is_empty());
    assert!(
        on.tables
            .traps
            .offsets()
            .iter()
            .any(|&t| mid.contains(&t) && on.inlined.lookup(t) == Some(0)),
        "a trap site of $mid lies in $leaf's inlined code"
    );
    // $rec inlines itself once, no deeper: its code has inlined $rec code.
    let rec = calls_in(&on, 2);
    assert!(rec.clone().any(|o| on.inlined.lookup(o) == Some(2)));
    // $leaf calls nothing, so none of its code came from another function.
    for o in calls_in(&on, 0) {
        assert_eq!(on.inlined.lookup(o), None);
    }
}

/// Every C workload compiles, with Cranelift's verifier on, with inlining and
/// each interruption mode: fuel and epoch checks put extra blocks (and, for
/// fuel, a variable) in every inlined body. (Fuel once made the function's
/// exit block gain a parameter that `return` then passed on; the inliner
/// turned that into a jump with one argument too many, and Cranelift
/// panicked.)
#[test]
fn workloads_compile_with_inlining_and_interrupts() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../benches/workloads");
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "wasm").then_some(p)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 3, "workloads found in {dir}");
    for (fuel, epoch) in [(true, false), (false, true), (true, true)] {
        let compiler = Compiler::native_with_verifier(true)
            .unwrap()
            .with_tunables(Tunables {
                inlining: true,
                consume_fuel: fuel,
                epoch_interruption: epoch,
                ..Tunables::default()
            });
        for path in &names {
            let wasm = std::fs::read(path).unwrap();
            let a = compiler
                .compile(&wasm)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                !a.inlined.is_empty(),
                "{}: something inlined",
                path.display()
            );
        }
    }
}
