//! The `nyash-engine` command: results on stdout, one clear error on stderr
//! and a non-zero exit for every kind of failure.

use std::path::PathBuf;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nyash-engine"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn write(name: &str, contents: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nyash-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn invoke_prints_results() {
    let fib = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/fib.wat");
    let o = run(&["run", fib, "--invoke", "fib", "20"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "6765\n");
}

#[test]
fn multiple_results_and_float_arguments() {
    let m = write(
        "multi.wat",
        br#"(module (func (export "f") (param f64 i64) (result i64 f64) local.get 1 local.get 0))"#,
    );
    let o = run(&["run", m.to_str().unwrap(), "--invoke", "f", "2.5", "-3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "-3\n2.5\n");
}

#[test]
fn v128_arguments_and_results() {
    let m = write(
        "simd.wat",
        br#"(module (func (export "f") (param v128 v128) (result v128 i32)
              local.get 0 local.get 1 i32x4.add
              local.get 0 i32x4.extract_lane 0))"#,
    );
    let o = run(&[
        "run",
        m.to_str().unwrap(),
        "--invoke",
        "f",
        "0x00000004_00000003_00000002_00000001",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "0x00000004000000030000000200000002\n1\n"
    );
    let o = run(&["run", m.to_str().unwrap(), "--invoke", "f", "0xg", "1"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not a valid v128"), "{}", stderr(&o));
}

/// C programs whose loops clang vectorized with SIMD (`-O3 -msimd128`,
/// `benches/workloads/build.sh`) print what their scalar builds print.
#[test]
fn auto_vectorized_programs_match_their_scalar_builds() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../benches/workloads");
    for name in ["matmul", "nbody", "strings"] {
        let scalar = run(&["run", "--no-cache", &format!("{dir}/{name}.wasm")]);
        let simd = run(&["run", "--no-cache", &format!("{dir}/simd/{name}.wasm")]);
        assert!(scalar.status.success(), "{name}: {}", stderr(&scalar));
        assert!(simd.status.success(), "{name} (SIMD): {}", stderr(&simd));
        assert!(!scalar.stdout.is_empty(), "{name} prints its result");
        assert_eq!(
            String::from_utf8_lossy(&simd.stdout),
            String::from_utf8_lossy(&scalar.stdout),
            "{name}"
        );
    }
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let o = run(&["run", "/nonexistent/nothing.wasm", "--invoke", "f"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("/nonexistent/nothing.wasm"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn invoke_prints_typed_references() {
    let m = write(
        "typed.wat",
        br#"(module
            (type $t (func (param i32) (result i32)))
            (func $id (type $t) local.get 0)
            (elem declare func $id)
            (func (export "f") (result (ref $t) (ref null $t)) ref.func $id ref.null $t))"#,
    );
    let o = run(&["run", m.to_str().unwrap(), "--invoke", "f"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out, "funcref (func (param i32) (result i32))\nnull\n");
}

#[test]
fn invoke_prints_i31_references() {
    let m = write(
        "i31.wat",
        br#"(module
            (type $s (struct))
            (func (export "f") (result i31ref anyref (ref null $s) eqref)
                (ref.i31 (i32.const -42)) (ref.i31 (i32.const 7)) (ref.null $s) (ref.null none)))"#,
    );
    let o = run(&["run", m.to_str().unwrap(), "--invoke", "f"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out, "i31 -42\ni31 7\nnull\nnull\n");
}

#[test]
fn invoke_prints_gc_objects() {
    let m = write(
        "gc.wat",
        br#"(module
            (type $inner (struct (field i32)))
            (type $t (struct (field i32) (field (mut i8)) (field anyref) (field (ref null $inner))
                             (field f64)))
            (type $ints (array (mut i32)))
            (type $objs (array (ref null $inner)))
            (func (export "f") (result (ref $t) (ref $ints) (ref $ints) (ref $objs) anyref anyref)
                (struct.new $t (i32.const 7) (i32.const -1) (ref.i31 (i32.const 2)) (ref.null $inner)
                    (f64.const 1.5))
                (array.new $ints (i32.const 3) (i32.const 12))
                (array.new_fixed $ints 0)
                (array.new $objs (struct.new $inner (i32.const 1)) (i32.const 2))
                (struct.new $t (i32.const 0) (i32.const 0) (struct.new $inner (i32.const 5))
                    (struct.new $inner (i32.const 6)) (f64.const 0))
                (any.convert_extern (ref.null noextern))))"#,
    );
    let o = run(&["run", m.to_str().unwrap(), "--invoke", "f"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    // Engine type ids depend on the engine; take them from the output.
    let id = |line: &str| line.split(['#', ' ']).nth(2).unwrap_or("").to_string();
    let t = id(lines[0]);
    assert_eq!(
        lines[0],
        format!("(struct #{t} 5 fields: i32 7, i8 255, i31 2, null, f64 1.5)")
    );
    assert_eq!(lines[1], "(array i32 len 12: 3 3 3 3 3 3 3 3 ...)");
    assert_eq!(lines[2], "(array i32 len 0)");
    let inner = lines[3]
        .split("(struct #")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap_or("")
        .to_string();
    assert_eq!(
        lines[3],
        format!(
            "(array (ref null #{inner}) len 2: (struct #{inner} 1 field) (struct #{inner} 1 field))"
        )
    );
    assert_eq!(
        lines[4],
        format!(
            "(struct #{t} 5 fields: i32 0, i8 0, (struct #{inner} 1 field), (struct #{inner} 1 field), f64 0)"
        )
    );
    assert_eq!(lines[5], "null");
}

#[test]
fn malformed_and_invalid_modules_are_errors() {
    let m = write("bad.wasm", b"\0asm\x01\0\0\0\x05\x03\x01");
    let o = run(&["run", m.to_str().unwrap(), "--invoke", "f"]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("bad.wasm") && e.contains("offset"), "{e}");

    let m = write(
        "invalid.wat",
        br#"(module (func (result i32) f32.const 1))"#,
    );
    let o = run(&["run", m.to_str().unwrap(), "--invoke", "f"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("type mismatch"), "{}", stderr(&o));
}

#[test]
fn traps_exit_non_zero_with_a_backtrace() {
    let m = write(
        "trap.wat",
        br#"(module (func $deep (export "go") (param i32) (result i32) local.get 0 i32.const 0 i32.div_u))"#,
    );
    let o = run(&["run", m.to_str().unwrap(), "--invoke", "go", "7"]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("integer divide by zero"), "{e}");
    assert!(e.contains("deep"), "{e}");
}

#[test]
fn uncaught_exceptions_exit_non_zero_naming_the_payload() {
    let m = write(
        "throw.wat",
        br#"(module (tag $e (param i32))
            (func (export "go") (param i32) (result i32)
                (block $h (result i32)
                    (try_table (catch $e $h) (throw $e (local.get 0))) (i32.const 0)))
            (func (export "escape") (param i32) (throw $e (local.get 0))))"#,
    );
    let o = run(&["run", m.to_str().unwrap(), "--invoke", "go", "7"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "7\n");
    let o = run(&["run", m.to_str().unwrap(), "--invoke", "escape", "7"]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("uncaught wasm exception") && e.contains("i32 7"),
        "{e}"
    );
}

#[test]
fn unresolved_imports_and_bad_arguments_are_errors() {
    let m = write(
        "imp.wat",
        br#"(module (import "env" "f" (func)) (func (export "g") (param i32)))"#,
    );
    let o = run(&["run", m.to_str().unwrap(), "--invoke", "g", "1"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("env::f") || stderr(&o).contains("`env::f`"),
        "{}",
        stderr(&o)
    );

    let m = write("args.wat", br#"(module (func (export "g") (param i32)))"#);
    let o = run(&["run", m.to_str().unwrap(), "--invoke", "g", "x"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not a valid i32"), "{}", stderr(&o));
    let o = run(&["run", m.to_str().unwrap(), "--invoke", "nope"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("nope"), "{}", stderr(&o));
}

#[test]
fn timeout_stops_an_endless_loop() {
    let m = write(
        "spin.wat",
        br#"(module (func (export "spin") (loop $l (br $l))))"#,
    );
    let start = std::time::Instant::now();
    let o = run(&[
        "run",
        "--timeout",
        "200ms",
        m.to_str().unwrap(),
        "--invoke",
        "spin",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("interrupted"), "{}", stderr(&o));
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn fuel_limits_execution() {
    let m = write(
        "count.wat",
        br#"(module (func (export "count") (param i32) (result i32) (local i32)
            (loop $l (local.set 1 (i32.add (local.get 1) (i32.const 1)))
                     (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
            (local.get 1)))"#,
    );
    let o = run(&[
        "run",
        "--fuel",
        "100000",
        m.to_str().unwrap(),
        "--invoke",
        "count",
        "100",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "100\n");
    let o = run(&[
        "run",
        "--fuel",
        "1000",
        m.to_str().unwrap(),
        "--invoke",
        "count",
        "1000000",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("fuel"), "{}", stderr(&o));
}

#[test]
fn the_command_line_runs_nyash_modules_with_mains_result_as_status() {
    let dir = std::env::temp_dir().join(format!("nyash-abi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("prog.wat");
    std::fs::write(
        &path,
        r#"(module (import "env" "print" (func $p (param i32)))
            (func (export "main") (result i32) (call $p (i32.const 99)) (i32.const 7)))"#,
    )
    .unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_nyash-engine"))
        .args(["run", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout), "99\n");
}

#[test]
fn a_huge_or_odd_timeout_is_an_error() {
    let m = write("nop.wat", br#"(module (func (export "f")))"#);
    let huge = format!("{}s", "9".repeat(400));
    for t in [
        huge.as_str(),
        "99999999999999999999h",
        "-1s",
        "nan",
        "inf",
        "1x",
    ] {
        let flag = format!("--timeout={t}");
        let o = run(&["run", &flag, m.to_str().unwrap(), "--invoke", "f"]);
        assert_eq!(o.status.code(), Some(2), "--timeout {t}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("duration") || stderr(&o).contains("unit"),
            "--timeout {t}: {}",
            stderr(&o)
        );
    }
    // A long one that fits runs normally.
    let o = run(&[
        "run",
        "--timeout",
        "1000000h",
        m.to_str().unwrap(),
        "--invoke",
        "f",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_nyash_main_without_a_result_exits_with_zero() {
    let m = write(
        "noresult.wat",
        br#"(module (import "env" "print" (func $p (param i32)))
            (func (export "main") (call $p (i32.const 5))))"#,
    );
    let o = run(&["run", m.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "5\n");
}

/// A script where everything holds: `FILE: N passed`, status 0; a module
/// run through `wast` gets the spectest host module.
#[test]
fn wast_passes_a_correct_script() {
    let s = write(
        "pass.wast",
        br#"(module
              (import "spectest" "print_i32" (func $print (param i32)))
              (func (export "add") (param i32 i32) (result i32)
                (call $print (local.get 0))
                (i32.add (local.get 0) (local.get 1)))
              (func (export "div") (param i32) (result i32)
                (i32.div_u (i32.const 10) (local.get 0))))
            (assert_return (invoke "add" (i32.const 2) (i32.const 3)) (i32.const 5))
            (assert_trap (invoke "div" (i32.const 0)) "integer divide by zero")
            (assert_invalid (module (func (result i32))) "type mismatch")"#,
    );
    let o = run(&["wast", s.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out, format!("{}: 4 passed\n", s.display()));
}

/// A wrong expectation: the directive is named with its file, line and
/// column, what was expected and what came, and nothing after it runs.
#[test]
fn wast_names_a_wrong_assert_return() {
    let s = write(
        "wrong_return.wast",
        b"(module (func (export \"seven\") (result i32) (i32.const 7)))\n\
          (assert_return (invoke \"seven\") (i32.const 7))\n\
          \n\
          (assert_return (invoke \"seven\") (i32.const 8))\n\
          (assert_return (invoke \"missing\") (i32.const 8))\n",
    );
    let o = run(&["wast", s.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    let want = format!(
        "{}:4:2: assert_return failed: result 0: expected I32(8), got I32(7)",
        s.display()
    );
    assert!(err.contains(&want), "{err}");
    // Stopped at the first failure: the missing export is not reported.
    assert!(!err.contains("missing"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    // --keep-going reports every failure and a summary.
    let o = run(&["wast", "-k", s.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(&want), "{err}");
    assert!(
        err.contains(&format!(
            "{}:5:2: assert_return failed: no exported function `missing`",
            s.display()
        )),
        "{err}"
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("{}: 2 passed, 2 failed\n", s.display())
    );
}

/// An `assert_trap` whose message is not the trap that happened fails (a
/// trap is not enough: it must be the one expected), and so does one whose
/// action returns.
#[test]
fn wast_fails_an_assert_trap_with_the_wrong_message() {
    let s = write(
        "wrong_trap.wast",
        b"(module (memory 1)\n\
            (func (export \"oob\") (result i32) (i32.load (i32.const 65536)))\n\
            (func (export \"fine\") (result i32) (i32.const 1)))\n\
          (assert_trap (invoke \"oob\") \"out of bounds memory access\")\n\
          (assert_trap (invoke \"oob\") \"integer divide by zero\")\n\
          (assert_trap (invoke \"fine\") \"unreachable\")\n",
    );
    let o = run(&["wast", "--keep-going", s.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "{}:5:2: assert_trap failed: expected trap `integer divide by zero`, got error: wasm trap: out of bounds memory access",
            s.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{}:6:2: assert_trap failed: expected trap `unreachable`, got [I32(1)]",
            s.display()
        )),
        "{err}"
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("{}: 2 passed, 2 failed\n", s.display())
    );
}

/// A script that does not parse is one failure naming where; a file that
/// cannot be read is an error; no file at all is a usage error.
#[test]
fn wast_reports_a_malformed_script_and_a_missing_file() {
    let s = write(
        "malformed.wast",
        b"(module (func (export \"f\")))\n(assert_return (invoke \"f\")\n",
    );
    let o = run(&["wast", s.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!("{}:", s.display()))
            && err.contains("script failed: cannot parse"),
        "{err}"
    );
    let o = run(&["wast", "/nonexistent/x.wast"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("/nonexistent/x.wast"), "{}", stderr(&o));
    let o = run(&["wast"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// Our own scripts (`tests/wast/`) pass through the command too, all at once.
#[test]
fn wast_runs_the_projects_own_scripts() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/wast");
    let mut files = Vec::new();
    let mut dirs = vec![PathBuf::from(root)];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "wast") {
                files.push(p.display().to_string());
            }
        }
    }
    assert!(files.len() >= 30, "{files:?}");
    let mut args = vec!["wast"];
    args.extend(files.iter().map(String::as_str));
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.lines().count(), files.len(), "{out}");
    assert!(out.lines().all(|l| l.ends_with(" passed")), "{out}");
}

/// `--verbose` prints every directive that passed, with its place.
#[test]
fn wast_verbose_lists_every_directive() {
    let s = write(
        "verbose.wast",
        b"(module (func (export \"one\") (result i32) (i32.const 1)))\n\
          (assert_return (invoke \"one\") (i32.const 1))\n",
    );
    let o = run(&["wast", "--verbose", s.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let name = s.display();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("{name}:1:2: module ok\n{name}:2:2: assert_return ok\n{name}: 2 passed\n")
    );
}
