//! `nyash-engine run` of components: `--invoke 'f(args)'` with arguments
//! and results in WAVE, traps and link errors as errors with a non-zero
//! exit, bad WAVE naming the parameter, what a run without `--invoke`
//! says, and WASI commands (`wasi:cli/run`) with their exit status.

use std::path::Path;
use std::process::{Command, Output};

use nyash_test_util::TmpDir;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nyash-engine"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `invoke` on the component at `path`: its stdout, which must be a
/// success's.
fn invoke_ok(path: &Path, invoke: &str) -> String {
    let o = run(&["run", "--invoke", invoke, path.to_str().unwrap()]);
    assert!(o.status.success(), "{invoke}: {}", stderr(&o));
    assert!(stderr(&o).is_empty(), "{invoke}: {}", stderr(&o));
    stdout(&o)
}

/// `invoke` on the component at `path`: its stderr, which must be one
/// `error: ` line (or more) after a non-zero exit with nothing on stdout.
fn invoke_err(path: &Path, invoke: &str) -> String {
    let o = run(&["run", "--invoke", invoke, path.to_str().unwrap()]);
    assert!(!o.status.success(), "{invoke}: {}", stdout(&o));
    assert_eq!(stdout(&o), "", "{invoke}");
    let e = stderr(&o);
    assert!(e.starts_with("error: "), "{invoke}: {e}");
    e
}

/// `add: (u32, u32) -> u32` at the root and in the exported instance
/// `ns:pkg/math@1.2.3`, and `boom`, which traps.
const ADD: &str = r#"(component
  (core module $m
    (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
    (func (export "boom") unreachable))
  (core instance $i (instantiate $m))
  (func $add (export "add") (param "a" u32) (param "b" u32) (result u32)
    (canon lift (core func $i "add")))
  (func (export "boom") (canon lift (core func $i "boom")))
  (instance $math (export "add" (func $add)))
  (export "ns:pkg/math@1.2.3" (instance $math)))"#;

/// `greet: (string) -> string`, "hello, " and the name, with a bump
/// allocator as its realloc.
const GREET: &str = r#"(component
  (core module $m
    (memory (export "mem") 1)
    (global $bump (mut i32) (i32.const 1024))
    (func $realloc (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      global.get $bump
      local.get 2 i32.const 1 i32.sub i32.add
      i32.const 0 local.get 2 i32.sub i32.and
      local.tee $p
      local.get 3 i32.add global.set $bump
      local.get $p)
    (data (i32.const 16) "hello, ")
    (func (export "greet") (param $ptr i32) (param $len i32) (result i32)
      (local $out i32)
      (local.set $out (call $realloc (i32.const 0) (i32.const 0) (i32.const 1)
        (i32.add (local.get $len) (i32.const 7))))
      (memory.copy (local.get $out) (i32.const 16) (i32.const 7))
      (memory.copy (i32.add (local.get $out) (i32.const 7)) (local.get $ptr) (local.get $len))
      (i32.store (i32.const 0) (local.get $out))
      (i32.store (i32.const 4) (i32.add (local.get $len) (i32.const 7)))
      i32.const 0))
  (core instance $i (instantiate $m))
  (func (export "greet") (param "name" string) (result string)
    (canon lift (core func $i "greet") (memory (core memory $i "mem"))
      (realloc (core func $i "realloc")))))"#;

/// Functions returning a list, a record, an option, a result, a variant
/// and an enum (each written into memory by the core function, the
/// canonical ABI's layout by hand).
const SHAPES: &str = r#"(component
  (type $point-def (record (field "x" u32) (field "y" s32)))
  (export $point "point" (type $point-def))
  (type $shape-def (variant (case "circle" u32) (case "none")))
  (export $shape "shape" (type $shape-def))
  (type $color-def (enum "red" "green"))
  (export $color "color" (type $color-def))
  (core module $m
    (memory (export "mem") 1)
    (data (i32.const 64) "\01\02\03")
    (data (i32.const 80) "bad")
    (func (export "tags") (result i32)
      (i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const 3))
      i32.const 0)
    (func (export "pt") (result i32)
      (i32.store (i32.const 0) (i32.const 7)) (i32.store (i32.const 4) (i32.const -1))
      i32.const 0)
    (func (export "opt") (param i32) (result i32)
      (i32.store8 (i32.const 0) (i32.ne (local.get 0) (i32.const 0)))
      (i32.store (i32.const 4) (local.get 0)) i32.const 0)
    (func (export "res") (param i32) (result i32)
      (i32.store8 (i32.const 0) (i32.and (local.get 0) (i32.const 1)))
      (if (i32.and (local.get 0) (i32.const 1))
        (then (i32.store (i32.const 4) (i32.const 80)) (i32.store (i32.const 8) (i32.const 3)))
        (else (i32.store (i32.const 4) (local.get 0))))
      i32.const 0)
    (func (export "shape") (param i32) (result i32)
      (i32.store8 (i32.const 0) (i32.eqz (local.get 0)))
      (i32.store (i32.const 4) (local.get 0)) i32.const 0)
    (func (export "color") (param i32) (result i32) local.get 0))
  (core instance $i (instantiate $m))
  (func (export "tags") (result (list u8))
    (canon lift (core func $i "tags") (memory (core memory $i "mem"))))
  (func (export "pt") (result $point)
    (canon lift (core func $i "pt") (memory (core memory $i "mem"))))
  (func (export "opt") (param "x" u32) (result (option u32))
    (canon lift (core func $i "opt") (memory (core memory $i "mem"))))
  (func (export "res") (param "x" u32) (result (result u32 (error string)))
    (canon lift (core func $i "res") (memory (core memory $i "mem"))))
  (func (export "make-shape") (param "x" u32) (result $shape)
    (canon lift (core func $i "shape") (memory (core memory $i "mem"))))
  (func (export "pick") (param "c" $color) (result $color)
    (canon lift (core func $i "color"))))"#;

#[test]
fn invoke_calls_an_export_with_wave_arguments() {
    let dir = TmpDir::new("cli-component", "add");
    let add = dir.join("add.wat");
    std::fs::write(&add, ADD).unwrap();
    assert_eq!(invoke_ok(&add, "add(1, 2)"), "3\n");
    assert_eq!(invoke_ok(&add, "add(4294967295, 1)"), "0\n");
    // In the exported instance, as wasmtime names it, by a semver-compatible
    // version, and by its export name before `#`.
    assert_eq!(invoke_ok(&add, "ns:pkg/math.add@1.2.3(2, 3)"), "5\n");
    assert_eq!(invoke_ok(&add, "ns:pkg/math.add@1.0.0(2, 4)"), "6\n");
    assert_eq!(invoke_ok(&add, "ns:pkg/math@1.2.3#add(2, 5)"), "7\n");
    // A function without a result prints nothing; a bare name is a call
    // without arguments.
    let dir2 = TmpDir::new("cli-component", "unit");
    let unit = dir2.join("unit.wat");
    std::fs::write(
        &unit,
        r#"(component
          (core module $m (func (export "f")))
          (core instance $i (instantiate $m))
          (func (export "nothing") (canon lift (core func $i "f"))))"#,
    )
    .unwrap();
    assert_eq!(invoke_ok(&unit, "nothing"), "");
    assert_eq!(invoke_ok(&unit, "nothing()"), "");

    // A binary component is recognised by its header.
    let bin = dir.join("add.wasm");
    std::fs::write(&bin, wat::parse_str(ADD).unwrap()).unwrap();
    assert_eq!(invoke_ok(&bin, "add(40, 2)"), "42\n");
}

#[test]
fn strings_go_in_and_come_out_in_wave() {
    let dir = TmpDir::new("cli-component", "greet");
    let greet = dir.join("greet.wat");
    std::fs::write(&greet, GREET).unwrap();
    assert_eq!(invoke_ok(&greet, r#"greet("hi")"#), "\"hello, hi\"\n");
    assert_eq!(
        invoke_ok(&greet, r#"greet("ünï\"cøde\n🍰")"#),
        "\"hello, ünï\\\"cøde\\n🍰\"\n"
    );
}

#[test]
fn compound_results_print_in_wave() {
    let dir = TmpDir::new("cli-component", "shapes");
    let shapes = dir.join("shapes.wat");
    std::fs::write(&shapes, SHAPES).unwrap();
    for (call, printed) in [
        ("tags()", "[1, 2, 3]"),
        ("pt()", "{x: 7, y: -1}"),
        ("opt(5)", "some(5)"),
        ("opt(0)", "none"),
        ("res(4)", "ok(4)"),
        ("res(3)", r#"err("bad")"#),
        ("make-shape(9)", "circle(9)"),
        // A case named like a WAVE keyword is written with `%`.
        ("make-shape(0)", "%none"),
        ("pick(green)", "green"),
    ] {
        assert_eq!(invoke_ok(&shapes, call), format!("{printed}\n"), "{call}");
    }
}

#[test]
fn a_trap_exits_non_zero_with_its_message() {
    let dir = TmpDir::new("cli-component", "trap");
    let add = dir.join("add.wat");
    std::fs::write(&add, ADD).unwrap();
    let e = invoke_err(&add, "boom()");
    assert!(e.contains("calling `boom`"), "{e}");
    assert!(e.contains("unreachable"), "{e}");
}

#[test]
fn a_missing_import_is_an_error_naming_it() {
    let dir = TmpDir::new("cli-component", "import");
    let c = dir.join("imports.wat");
    std::fs::write(
        &c,
        r#"(component
          (import "host:env/log@0.1.0" (instance (export "log" (func (param "msg" string)))))
          (core module $m (func (export "f") (result i32) i32.const 1))
          (core instance $i (instantiate $m))
          (func (export "f") (result u32) (canon lift (core func $i "f"))))"#,
    )
    .unwrap();
    let e = invoke_err(&c, "f()");
    assert!(e.contains("component imports `host:env/log@0.1.0`"), "{e}");
    // Without --invoke too: instantiating fails first.
    let o = run(&["run", c.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("host:env/log@0.1.0"), "{}", stderr(&o));
}

#[test]
fn bad_wave_is_an_error_naming_the_parameter() {
    let dir = TmpDir::new("cli-component", "bad");
    let add = dir.join("add.wat");
    std::fs::write(&add, ADD).unwrap();
    let shapes = dir.join("shapes.wat");
    std::fs::write(&shapes, SHAPES).unwrap();
    let e = invoke_err(&add, r#"add(1, "x")"#);
    assert!(
        e.contains("parameter `b` (u32)") && e.contains(r#"`"x"`"#),
        "{e}"
    );
    let e = invoke_err(&add, "add(1, 4294967296)");
    assert!(e.contains("parameter `b` (u32)"), "{e}");
    let e = invoke_err(&add, "add(1)");
    assert!(e.contains("parameter `b` (u32): missing"), "{e}");
    assert!(e.contains("func(a: u32, b: u32) -> u32"), "{e}");
    let e = invoke_err(&add, "add(1, 2, 3)");
    assert!(e.contains("3 arguments given"), "{e}");
    let e = invoke_err(&add, "add(1, 2");
    assert!(e.contains("not a call in WAVE syntax"), "{e}");
    let e = invoke_err(&shapes, "pick(blue)");
    assert!(
        e.contains("parameter `c`") && e.contains(r#"unknown case "blue""#),
        "{e}"
    );
    // An unknown function: the error lists what can be invoked.
    let e = invoke_err(&add, "sub(1, 2)");
    assert!(e.contains("no function `sub`"), "{e}");
    assert!(
        e.contains("ns:pkg/math.add@1.2.3: func(a: u32, b: u32) -> u32"),
        "{e}"
    );
    // Arguments after the component are not the call's.
    let o = run(&["run", "--invoke", "add", add.to_str().unwrap(), "1", "2"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("inside --invoke"), "{}", stderr(&o));
}

#[test]
fn without_invoke_a_component_says_what_to_do() {
    let dir = TmpDir::new("cli-component", "noinvoke");
    let add = dir.join("add.wat");
    // Text components are recognised after comments too.
    std::fs::write(&add, format!(";; a component\n{ADD}")).unwrap();
    let o = run(&["run", add.to_str().unwrap()]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("--invoke"), "{e}");
    assert!(e.contains("  add: func(a: u32, b: u32) -> u32"), "{e}");
    assert!(e.contains("  boom: func()"), "{e}");
}

/// A WASI command whose `run` returns `ok` or `err` as its core function
/// returns 0 or 1, and, when `exit` is given, first calls
/// `wasi:cli/exit@0.2.0`'s `exit-with-code` with it.
fn command(run_result: u32, exit: Option<u8>) -> String {
    let call_exit = match exit {
        Some(code) => format!("(call $exit (i32.const {code}))"),
        None => String::new(),
    };
    format!(
        r#"(component
          (import "wasi:cli/exit@0.2.0" (instance $exit
            (export "exit-with-code" (func (param "status-code" u8)))))
          (core func $exit (canon lower (func $exit "exit-with-code")))
          (core module $m
            (import "" "exit" (func $exit (param i32)))
            (func (export "run") (result i32) {call_exit} i32.const {run_result}))
          (core instance $i (instantiate $m (with "" (instance (export "exit" (func $exit))))))
          (func $run (result (result)) (canon lift (core func $i "run")))
          (instance $r (export "run" (func $run)))
          (export "wasi:cli/run@0.2.3" (instance $r)))"#
    )
}

#[test]
fn a_wasi_command_runs_with_its_exit_status() {
    let dir = TmpDir::new("cli-component", "command");
    let status = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let o = run(&["run", path.to_str().unwrap()]);
        assert_eq!(stdout(&o), "", "{name}");
        (o.status.code(), stderr(&o))
    };
    assert_eq!(
        status("ok.wat", &command(0, None)),
        (Some(0), String::new())
    );
    assert_eq!(
        status("err.wat", &command(1, None)),
        (Some(1), String::new())
    );
    assert_eq!(
        status("exit3.wat", &command(0, Some(3))),
        (Some(3), String::new())
    );
    assert_eq!(
        status("exit0.wat", &command(1, Some(0))),
        (Some(0), String::new())
    );

    // An import we do not provide fails naming it.
    let (code, e) = status(
        "keyvalue.wat",
        r#"(component
          (import "wasi:keyvalue/store@0.2.0" (instance))
          (core module $m (func (export "run") (result i32) i32.const 0))
          (core instance $i (instantiate $m))
          (func $run (result (result)) (canon lift (core func $i "run")))
          (instance $r (export "run" (func $run)))
          (export "wasi:cli/run@0.2.0" (instance $r)))"#,
    );
    assert_eq!(code, Some(1));
    assert!(
        e.starts_with("error: ") && e.contains("wasi:keyvalue/store@0.2.0"),
        "{e}"
    );

    // Compiled ahead of time, the command runs the same (with
    // --allow-precompiled).
    let src = dir.join("exit3-aot.wat");
    std::fs::write(&src, command(0, Some(3))).unwrap();
    let art = dir.join("exit3.nwasm");
    let o = run(&[
        "compile",
        src.to_str().unwrap(),
        "-o",
        art.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["run", "--allow-precompiled", art.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    // --invoke gets the WASI imports too: `run` exits through them.
    let o = run(&["run", "--invoke", "run()", src.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    // Bundled, its arguments are the program's (not an --invoke call).
    let app = dir.join("exit3-app");
    let o = run(&["bundle", src.to_str().unwrap(), "-o", app.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = Command::new(&app).args(["one", "two"]).output().unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
}

#[test]
fn resources_have_no_wave_form_and_say_so() {
    let dir = TmpDir::new("cli-component", "resources");
    let c = dir.join("resources.wat");
    std::fs::write(
        &c,
        r#"(component
          (type $r-def (resource (rep i32)))
          (export $r "r" (type $r-def))
          (core func $new (canon resource.new $r))
          (core module $m
            (import "" "new" (func $new (param i32) (result i32)))
            (func (export "make") (result i32) (call $new (i32.const 42)))
            (func (export "take") (param i32)))
          (core instance $i (instantiate $m (with "" (instance (export "new" (func $new))))))
          (func (export "make") (result (own $r)) (canon lift (core func $i "make")))
          (func (export "take") (param "x" (own $r)) (canon lift (core func $i "take"))))"#,
    )
    .unwrap();
    let e = invoke_err(&c, "make()");
    assert!(
        e.contains("returned a resource value, which has no WAVE form"),
        "{e}"
    );
    let e = invoke_err(&c, "take(1)");
    assert!(e.contains("parameter `x` (own<resource>)"), "{e}");
    assert!(
        e.contains("resource handles cannot be written in WAVE"),
        "{e}"
    );
}

#[test]
fn a_bare_name_in_two_instances_must_be_qualified() {
    let dir = TmpDir::new("cli-component", "ambiguous");
    let c = dir.join("two.wat");
    std::fs::write(
        &c,
        r#"(component
          (core module $m (func (export "f") (result i32) i32.const 7))
          (core instance $i (instantiate $m))
          (func $f (result u32) (canon lift (core func $i "f")))
          (instance $a (export "f" (func $f)))
          (instance $b (export "f" (func $f)))
          (export "a:x/one@0.1.0" (instance $a))
          (export "two" (instance $b)))"#,
    )
    .unwrap();
    let e = invoke_err(&c, "f()");
    assert!(
        e.contains("several exported instances have a function `f`"),
        "{e}"
    );
    assert!(
        e.contains("`a:x/one.f@0.1.0`") && e.contains("`two.f`"),
        "{e}"
    );
    assert_eq!(invoke_ok(&c, "a:x/one.f@0.1.0()"), "7\n");
    assert_eq!(invoke_ok(&c, "two.f()"), "7\n");
}

#[test]
fn fuel_and_timeouts_stop_a_component() {
    let dir = TmpDir::new("cli-component", "loop");
    let c = dir.join("loop.wat");
    std::fs::write(
        &c,
        r#"(component
          (core module $m (func (export "spin") (loop br 0)))
          (core instance $i (instantiate $m))
          (func (export "spin") (canon lift (core func $i "spin"))))"#,
    )
    .unwrap();
    let c = c.to_str().unwrap();
    let o = run(&["run", "--fuel", "10000", "--invoke", "spin()", c]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("fuel"), "{}", stderr(&o));
    let o = run(&["run", "--timeout", "200ms", "--invoke", "spin()", c]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("calling `spin`"), "{}", stderr(&o));
}

#[test]
fn a_component_round_trips_through_compile_and_bundle() {
    let dir = TmpDir::new("cli-component", "artifact");
    let add = dir.join("add.wat");
    std::fs::write(&add, ADD).unwrap();
    let nwasm = dir.join("add.nwasm");
    let o = run(&[
        "compile",
        add.to_str().unwrap(),
        "-o",
        nwasm.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // An artifact is native code: it runs only when the user says so.
    let o = run(&["run", "--invoke", "add(1, 2)", nwasm.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--allow-precompiled"), "{}", stderr(&o));
    let o = run(&[
        "run",
        "--allow-precompiled",
        "--invoke",
        "add(40, 2)",
        nwasm.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "42\n");
    let o = run(&[
        "run",
        "--allow-precompiled",
        "--invoke",
        "ns:pkg/math.add@1.2.3(3, 4)",
        nwasm.to_str().unwrap(),
    ]);
    assert_eq!(stdout(&o), "7\n", "{}", stderr(&o));
    // A bundle: the engine with the component appended; the call is its
    // first argument.
    let exe = dir.join("add-bundle");
    let o = run(&["bundle", add.to_str().unwrap(), "-o", exe.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = Command::new(&exe).arg("add(20, 22)").output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "42\n");
    let o = Command::new(&exe).arg("boom()").output().unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("unreachable"), "{}", stderr(&o));
}
