//! Compile errors: an invalid body is reported with its function, never
//! translated, inlined or handed to Cranelift; SIMD on a CPU without what it
//! needs, and later proposals, are unsupported, not invalid.

use nyash_aot::{CompileError, Compiler, Tunables};

fn compilers() -> Vec<Compiler> {
    let mut out = Vec::new();
    for parallel in [false, true] {
        for inlining in [false, true] {
            out.push(
                Compiler::native_with_verifier(true)
                    .unwrap()
                    .with_parallelism(parallel)
                    .with_tunables(Tunables {
                        inlining,
                        consume_fuel: true,
                        // Both lowerings of relaxed SIMD's multiply-add.
                        relaxed_simd_deterministic: parallel,
                        ..Tunables::default()
                    }),
            );
        }
    }
    out
}

/// A module of `n` valid functions that each call function 0 (small, so an
/// inlining candidate), with the body of function `bad` replaced by `i32.add`
/// on an empty stack.
fn module_with_invalid_body(n: u32, bad: u32) -> (Vec<u8>, usize) {
    let mut funcs = String::new();
    for i in 0..n {
        let body = if i == bad {
            "i32.add".to_string()
        } else if i == 0 {
            "local.get 0 i32.const 1 i32.add".to_string()
        } else {
            format!("local.get 0 call 0 i32.const {i} i32.mul")
        };
        funcs.push_str(&format!("(func $f{i} (param i32) (result i32) {body})\n"));
    }
    let wasm = wat::parse_str(format!("(module {funcs})")).unwrap();
    // The `i32.add` (0x6a) of the bad body: the only one that follows a
    // body's local declarations directly.
    let offset = wasm
        .windows(3)
        .position(|w| w == [0x03, 0x00, 0x6a])
        .expect("the invalid body")
        + 2;
    (wasm, offset)
}

#[test]
fn invalid_body_names_function_and_offset() {
    for bad in [0, 3, 19] {
        let (wasm, offset) = module_with_invalid_body(20, bad);
        for c in compilers() {
            let err = c.compile(&wasm).unwrap_err();
            let CompileError::Invalid {
                message,
                offset: at,
                func_index,
                func_name,
            } = &err
            else {
                panic!("expected Invalid, got {err:?}");
            };
            assert!(message.contains("type mismatch"), "{message}");
            assert_eq!(*at, offset);
            assert_eq!(*func_index, Some(bad));
            let name = format!("f{bad}");
            assert_eq!(func_name.as_deref(), Some(name.as_str()));
            assert_eq!(
                err.to_string(),
                format!(
                    "invalid module: {message} in function {bad} (`{name}`) at byte offset {offset:#x}"
                )
            );
        }
    }
}

#[test]
fn lowest_invalid_function_is_reported() {
    // Two invalid bodies: the lower index is the one reported, however the
    // workers happen to run.
    let wasm = wat::parse_str(
        r#"(module
          (func (result i32) i32.const 1)
          (func (result i32) i32.const 1 i32.const 2 i32.add)
          (func (result i32) i64.const 1)
          (func (result i32) call 0 call 1 i32.add)
          (func (result i32) f32.const 1)
          (func (result i32) call 3))"#,
    );
    // `wat` refuses nothing here: it does not type-check.
    let wasm = wasm.unwrap();
    for c in compilers() {
        match c.compile(&wasm).unwrap_err() {
            CompileError::Invalid { func_index, .. } => assert_eq!(func_index, Some(2)),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }
}

const SIMD_MODULES: [&str; 5] = [
    // In a body only.
    r#"(module (func (param i32) (result i32)
         local.get 0 i32x4.splat i32x4.extract_lane 0))"#,
    // In a body, the form `-O3 -msimd128` gives C loops.
    r#"(module (memory 1) (func (param i32)
         local.get 0 local.get 0 v128.load local.get 0 v128.load i32x4.add
         v128.store))"#,
    // In a type.
    r#"(module (func (param v128)))"#,
    // In a global.
    r#"(module (global v128 (v128.const i64x2 0 0)))"#,
    // Every relaxed SIMD operator.
    r#"(module (func (param v128 v128 v128) (result v128)
        local.get 0 local.get 1 i8x16.relaxed_swizzle
        i32x4.relaxed_trunc_f32x4_s i32x4.relaxed_trunc_f32x4_u
        i32x4.relaxed_trunc_f64x2_s_zero i32x4.relaxed_trunc_f64x2_u_zero
        local.get 1 local.get 2 f32x4.relaxed_madd
        local.get 1 local.get 2 f32x4.relaxed_nmadd
        local.get 1 local.get 2 f64x2.relaxed_madd
        local.get 1 local.get 2 f64x2.relaxed_nmadd
        local.get 1 local.get 2 i8x16.relaxed_laneselect
        local.get 1 local.get 2 i16x8.relaxed_laneselect
        local.get 1 local.get 2 i32x4.relaxed_laneselect
        local.get 1 local.get 2 i64x2.relaxed_laneselect
        local.get 1 f32x4.relaxed_min local.get 1 f32x4.relaxed_max
        local.get 1 f64x2.relaxed_min local.get 1 f64x2.relaxed_max
        local.get 1 i16x8.relaxed_q15mulr_s
        local.get 1 i16x8.relaxed_dot_i8x16_i7x16_s
        local.get 1 local.get 2 i32x4.relaxed_dot_i8x16_i7x16_add_s))"#,
];

#[test]
fn simd_compiles() {
    for m in SIMD_MODULES {
        let wasm = wat::parse_str(m).unwrap();
        for c in compilers() {
            if let Err(e) = c.compile(&wasm) {
                panic!("{m}: {e}");
            }
        }
    }
}

/// On x86-64 without SSE4.1 a module using SIMD is unsupported, with a
/// message that says why; other modules still compile.
#[cfg(target_arch = "x86_64")]
#[test]
fn simd_without_sse41_is_unsupported_not_invalid() {
    for off in ["has_sse41", "has_ssse3"] {
        let c = Compiler::native_with_isa_flags(true, &[(off, "false")]).unwrap();
        assert!(!c.features().contains(wasmparser::WasmFeatures::SIMD));
        for m in SIMD_MODULES {
            let wasm = wat::parse_str(m).unwrap();
            match c.compile(&wasm) {
                Err(CompileError::Unsupported(what)) => {
                    assert!(
                        what.contains("SIMD needs") && what.contains("SSE4.1"),
                        "{what}"
                    )
                }
                other => panic!("{m}: expected Unsupported, got {other:?}"),
            }
        }
        let plain = wat::parse_str("(module (func (param i32) (result i32) local.get 0))").unwrap();
        c.compile(&plain).unwrap();
    }
}

#[test]
fn later_proposals_are_unsupported_not_invalid() {
    // (module, words of the message)
    let modules = [
        // Threads.
        (
            "(module (memory 1 1 shared) (func (param i32) (result i32) local.get 0 i32.atomic.load))",
            "enabled",
        ),
    ];
    for (m, words) in modules {
        let wasm = wat::parse_str(m).unwrap();
        match Compiler::native().unwrap().compile(&wasm) {
            Err(CompileError::Unsupported(what)) => assert!(what.contains(words), "{m}: {what}"),
            other => panic!("{m}: expected Unsupported, got {other:?}"),
        }
    }
    // The legacy form of exception handling (`try` = 0x06; the text format
    // no longer has it): unsupported, pointing at `try_table`.
    let legacy: &[u8] = &[
        0, b'a', b's', b'm', 1, 0, 0, 0, // header
        1, 4, 1, 0x60, 0, 0, // type section: (func)
        3, 2, 1, 0, // function section
        10, 7, 1, 5, 0, 0x06, 0x40, 0x0b, 0x0b, // code: try end end
    ];
    match Compiler::native().unwrap().compile(legacy) {
        Err(CompileError::Unsupported(what)) => {
            assert!(
                what.contains("legacy exception handling") && what.contains("try_table"),
                "{what}"
            )
        }
        other => panic!("legacy try: expected Unsupported, got {other:?}"),
    }
}

#[test]
fn typed_function_references_compile() {
    let m = "(module (type $t (func (result i32)))
        (func $f (type $t) i32.const 7)
        (table $tab 1 (ref $t) (ref.func $f))
        (elem declare func $f)
        (func (param (ref null $t)) (result i32) local.get 0 return_call_ref $t)
        (func (param (ref null $t)) (result i32)
          (block $null (br_on_null $null (local.get 0)) (call_ref $t) (return))
          i32.const -1)
        (func (result i32) (local $l (ref $t)) (local.set $l (ref.func $f))
          (call_ref $t (local.get $l))))";
    let wasm = wat::parse_str(m).unwrap();
    Compiler::native().unwrap().compile(&wasm).unwrap();
}

#[test]
fn gc_operators_compile_with_the_verifier_on() {
    let m = r#"(module
        (type $p (sub (struct (field (mut i32)) (field (mut anyref)))))
        (type $c (sub final $p (struct (field (mut i32)) (field (mut anyref)) (field i8))))
        (type $a (array (mut i16)))
        (type $r (array (mut (ref null $p))))
        (data $d "abcd")
        (elem $e (ref null $p) (item (ref.null $p)))
        (func (param anyref externref) (result i32)
          (local $s (ref null $p)) (local $x (ref null $a)) (local $y (ref null $r))
          (local.set $s (struct.new $c (i32.const 1) (ref.i31 (i32.const 2)) (i32.const 3)))
          (struct.set $p 0 (local.get $s) (i32.const 4))
          (struct.set $p 1 (local.get $s) (local.get 0))
          (local.set $x (array.new $a (i32.const 5) (i32.const 10)))
          (array.fill $a (local.get $x) (i32.const 1) (i32.const 6) (i32.const 2))
          (array.copy $a $a (local.get $x) (i32.const 0) (local.get $x) (i32.const 3) (i32.const 2))
          (array.init_data $a $d (local.get $x) (i32.const 0) (i32.const 0) (i32.const 2))
          (local.set $y (array.new_elem $r $e (i32.const 0) (i32.const 1)))
          (array.init_elem $r $e (local.get $y) (i32.const 0) (i32.const 0) (i32.const 1))
          (drop (array.new_data $a $d (i32.const 0) (i32.const 2)))
          (drop (array.new_fixed $a 3 (i32.const 1) (i32.const 2) (i32.const 3)))
          (drop (array.new_default $r (i32.const 4)))
          (drop (any.convert_extern (local.get 1)))
          (drop (extern.convert_any (local.get 0)))
          (drop (ref.test (ref $c) (local.get 0)))
          (drop (ref.test (ref null $p) (local.get 0)))
          (drop (ref.test (ref struct) (local.get 0)))
          (drop (ref.test eqref (local.get 0)))
          (block $l (result anyref) (br_on_cast $l anyref (ref $a) (local.get 0)) (drop) (ref.null any))
          (drop)
          (i32.add (struct.get $p 0 (ref.cast (ref $p) (local.get $s)))
            (i32.add (array.get_s $a (local.get $x) (i32.const 1))
              (i32.add (array.len (local.get $x)) (struct.get_u $c 2 (ref.cast (ref $c) (local.get $s)))))))
    )"#;
    let wasm = wat::parse_str(m).unwrap();
    let artifact = Compiler::native_with_verifier(true)
        .unwrap()
        .compile(&wasm)
        .unwrap();
    // References live across the allocations' slow-path calls are in stack maps.
    assert!(!artifact.tables.stack_maps.is_empty());
}
