//! The Nyash host ABI: modules written to it in WAT, one use of every import.

use std::sync::{Arc, Mutex};

use nyash_engine::{Engine, ErrorKind, Linker, Module, Store};
use nyash_host::{self as nyash, NyashHost, NyashOutput};

const PROGRAM: &str = r#"(module
  (import "env" "print" (func $print (param i32)))
  (import "env" "print_str" (func $print_str (param i32 i32)))
  (import "env" "console_log" (func $log (param i32 i32)))
  (import "env" "console_warn" (func $warn (param i32 i32)))
  (import "env" "console_error" (func $error (param i32 i32)))
  (import "env" "console_info" (func $info (param i32 i32)))
  (import "env" "console_debug" (func $debug (param i32 i32)))
  (import "env" "box_to_string" (func $to_string (param i32) (result i32)))
  (import "env" "box_print" (func $box_print (param i32)))
  (import "env" "box_equals" (func $equals (param i32 i32) (result i32)))
  (import "env" "box_clone" (func $clone (param i32) (result i32)))
  (import "env" "canvas_fillRect" (func $fill_rect (param i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "env" "canvas_clear" (func $clear (param i32 i32)))
  (import "env" "canvas_arc" (func $arc (param i32 i32 i32 i32 i32 i32 i32)))
  (import "env" "canvas_fillText" (func $fill_text (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "env" "canvas_setLineWidth" (func $line_width (param i32 i32 i32)))
  (import "env" "canvas_setFillStyle" (func $fill_style (param i32 i32 i32 i32)))
  (import "env" "canvas_drawLine" (func $draw_line (param i32 i32 i32 i32 i32 i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 2048))
  (data (i32.const 4096) "hello")
  ;; StringBox "hello" at 2048, IntegerBox 42 at 2100, BoolBox true at 2120,
  ;; ArrayBox [42, true] at 2140, a user box at 2200.
  (data (i32.const 2048) "\01\10\00\00\01\00\00\00\02\00\00\00\00\10\00\00\05\00\00\00")
  (data (i32.const 2100) "\02\10\00\00\01\00\00\00\01\00\00\00\2a\00\00\00")
  (data (i32.const 2120) "\03\10\00\00\01\00\00\00\01\00\00\00\01\00\00\00")
  (data (i32.const 2140) "\04\10\00\00\01\00\00\00\02\00\00\00\34\08\00\00\48\08\00\00")
  (data (i32.const 2200) "\00\20\00\00\01\00\00\00\00\00\00\00")
  (func (export "main") (result i32) (local $s i32)
    (call $print (i32.const 7))
    (call $print_str (i32.const 4096) (i32.const 5))
    (call $log (i32.const 4096) (i32.const 5))
    (call $warn (i32.const 4096) (i32.const 4))
    (call $error (i32.const 4096) (i32.const 3))
    (call $info (i32.const 4096) (i32.const 2))
    (call $debug (i32.const 4096) (i32.const 1))
    (call $box_print (i32.const 2048))
    (call $box_print (i32.const 2100))
    (call $box_print (i32.const 2120))
    (call $box_print (i32.const 2140))
    (call $box_print (i32.const 2200))
    ;; A StringBox returns itself; others get a new one.
    (call $print (i32.eq (call $to_string (i32.const 2048)) (i32.const 2048)))
    (local.set $s (call $to_string (i32.const 2140)))
    (call $box_print (local.get $s))
    ;; The host never writes into the module's own heap (below 64 KiB here).
    (call $print (i32.ge_u (local.get $s) (i32.const 65536)))
    (call $print (call $equals (i32.const 2100) (call $clone (i32.const 2100))))
    (call $print (call $equals (i32.const 2140) (call $clone (i32.const 2140))))
    (call $print (call $equals (i32.const 2048) (i32.const 2100)))
    (call $fill_rect (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4) (i32.const 0) (i32.const 0))
    (call $clear (i32.const 0) (i32.const 0))
    (call $arc (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4) (i32.const 5))
    (call $fill_text (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 2) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
    (call $line_width (i32.const 0) (i32.const 0) (i32.const 2))
    (call $fill_style (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
    (call $draw_line (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4) (i32.const 0) (i32.const 0) (i32.const 1))
    (i32.const 3)))"#;

struct Run {
    result: i32,
    stdout: String,
    stderr: String,
    canvas_calls: u64,
}

fn run(wat: &str) -> nyash_engine::Result<Run> {
    let engine = Engine::default();
    let module = Module::new(&engine, wat)?;
    assert!(nyash::is_nyash_module(&module));
    let (out, err) = (
        Arc::new(Mutex::new(Vec::new())),
        Arc::new(Mutex::new(Vec::new())),
    );
    let host = NyashHost::new(NyashOutput::Buffer {
        stdout: out.clone(),
        stderr: err.clone(),
    });
    let mut store = Store::new(&engine, host);
    let mut linker: Linker<NyashHost> = Linker::new(&engine);
    nyash::add_to_linker(&mut linker, &module)?;
    let instance = linker.instantiate(&mut store, &module)?;
    let main = instance.get_typed_func::<(), i32>(&mut store, "main")?;
    let result = main.call(&mut store, ())?;
    let text = |b: &Arc<Mutex<Vec<u8>>>| String::from_utf8(b.lock().unwrap().clone()).unwrap();
    Ok(Run {
        result,
        stdout: text(&out),
        stderr: text(&err),
        canvas_calls: store.data().canvas_calls,
    })
}

#[test]
fn every_import_of_the_abi() {
    let r = run(PROGRAM).unwrap();
    assert_eq!(r.result, 3);
    assert_eq!(
        r.stdout,
        "7\nhello\nhello\nhe\nh\nhello\n42\ntrue\n[42, true]\n<box 0x2000>\n1\n[42, true]\n1\n1\n1\n0\n"
    );
    assert_eq!(r.stderr, "hell\nhel\n");
    assert_eq!(r.canvas_calls, 7);
}

#[test]
fn the_older_console_log_takes_one_i32() {
    let r = run(
        r#"(module (import "env" "console_log" (func $log (param i32)))
        (func (export "main") (result i32) (call $log (i32.const 5)) (i32.const 0)))"#,
    )
    .unwrap();
    assert_eq!(r.stdout, "5\n");
}

#[test]
fn the_bytes_form_without_memory_runs_main() {
    let r = run(r#"(module (func (export "main") (result i32) (i32.const 42)))"#).unwrap();
    assert_eq!(r.result, 42);
}

#[test]
fn an_unknown_env_import_is_a_link_error_naming_it() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "env" "teleport" (func (param i32)))
            (func (export "main") (result i32) (i32.const 0)))"#,
    )
    .unwrap();
    assert!(!nyash::is_nyash_module(&module));
    let mut linker: Linker<NyashHost> = Linker::new(&engine);
    let err = nyash::add_to_linker(&mut linker, &module).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Link { .. }));
    assert!(err.to_string().contains("teleport"), "{err}");
}

/// A module whose `malloc` returns `$at`, and whose `main` asks the host for
/// a new string (`box_to_string` of an IntegerBox) and a clone of a box.
fn hostile(at: &str, call: &str) -> String {
    format!(
        r#"(module
  (import "env" "box_to_string" (func $to_string (param i32) (result i32)))
  (import "env" "box_clone" (func $clone (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 2100) "\02\10\00\00\01\00\00\00\01\00\00\00\2a\00\00\00")
  (func (export "malloc") (param i32) (result i32) (i32.const {at}))
  (func (export "main") (result i32) ({call} (i32.const 2100))))"#
    )
}

#[test]
fn a_hostile_malloc_is_an_error_not_a_crash() {
    // Just below the end of memory: a string's header fits, its text
    // (or the clone) does not; near 4 GiB: every address computation would
    // overflow 32 bits.
    for at in ["65516", "65530", "-4", "-20", "-1"] {
        for call in ["call $to_string", "call $clone"] {
            if at == "65516" && call == "call $clone" {
                continue; // the 16-byte clone fits there
            }
            let err = match run(&hostile(at, call)) {
                Ok(r) => panic!("malloc at {at}, {call}: returned {}", r.result),
                Err(e) => e.to_string(),
            };
            assert!(
                err.contains("outside memory"),
                "malloc at {at}, {call}: {err}"
            );
        }
    }
    // A `malloc` that leaves room works.
    assert!(run(&hostile("8192", "call $to_string")).is_ok());
}
