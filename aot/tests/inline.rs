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
        on.traps
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
