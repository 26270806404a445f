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
    let o = run(&["run", "--invoke", "fib", fib, "20"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "6765\n");
}

#[test]
fn multiple_results_and_float_arguments() {
    let m = write(
        "multi.wat",
        br#"(module (func (export "f") (param f64 i64) (result i64 f64) local.get 1 local.get 0))"#,
    );
    let o = run(&["run", "--invoke", "f", m.to_str().unwrap(), "2.5", "-3"]);
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
        "--invoke",
        "f",
        m.to_str().unwrap(),
        "0x00000004_00000003_00000002_00000001",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "0x00000004000000030000000200000002\n1\n"
    );
    let o = run(&["run", "--invoke", "f", m.to_str().unwrap(), "0xg", "1"]);
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
    let o = run(&["run", "--invoke", "f", "/nonexistent/nothing.wasm"]);
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
    let o = run(&["run", "--invoke", "f", m.to_str().unwrap()]);
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
    let o = run(&["run", "--invoke", "f", m.to_str().unwrap()]);
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
    let o = run(&["run", "--invoke", "f", m.to_str().unwrap()]);
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
    let o = run(&["run", "--invoke", "f", m.to_str().unwrap()]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("bad.wasm") && e.contains("offset"), "{e}");

    let m = write(
        "invalid.wat",
        br#"(module (func (result i32) f32.const 1))"#,
    );
    let o = run(&["run", "--invoke", "f", m.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("type mismatch"), "{}", stderr(&o));
}

#[test]
fn traps_exit_non_zero_with_a_backtrace() {
    let m = write(
        "trap.wat",
        br#"(module (func $deep (export "go") (param i32) (result i32) local.get 0 i32.const 0 i32.div_u))"#,
    );
    let o = run(&["run", "--invoke", "go", m.to_str().unwrap(), "7"]);
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
    let o = run(&["run", "--invoke", "go", m.to_str().unwrap(), "7"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "7\n");
    let o = run(&["run", "--invoke", "escape", m.to_str().unwrap(), "7"]);
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
    let o = run(&["run", "--invoke", "g", m.to_str().unwrap(), "1"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("env::f") || stderr(&o).contains("`env::f`"),
        "{}",
        stderr(&o)
    );

    let m = write("args.wat", br#"(module (func (export "g") (param i32)))"#);
    let o = run(&["run", "--invoke", "g", m.to_str().unwrap(), "x"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not a valid i32"), "{}", stderr(&o));
    let o = run(&["run", "--invoke", "nope", m.to_str().unwrap()]);
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
        "--invoke",
        "spin",
        "--timeout",
        "200ms",
        m.to_str().unwrap(),
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
        "--invoke",
        "count",
        "--fuel",
        "100000",
        m.to_str().unwrap(),
        "100",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "100\n");
    let o = run(&[
        "run",
        "--invoke",
        "count",
        "--fuel",
        "1000",
        m.to_str().unwrap(),
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
        let o = run(&["run", "--invoke", "f", &flag, m.to_str().unwrap()]);
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
        "--invoke",
        "f",
        "--timeout",
        "1000000h",
        m.to_str().unwrap(),
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

/// A WASI command that writes its arguments to stdout, one per line
/// (`argv[0]` first).
const PRINT_ARGS: &[u8] = br#"(module
    (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "args_get" (func $args (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "_start") (local $i i32) (local $len i32)
        (drop (call $sizes (i32.const 0) (i32.const 4)))
        (drop (call $args (i32.const 16) (i32.const 1024)))
        (local.set $len (i32.load (i32.const 4)))
        ;; The arguments are NUL-terminated and back to back: NULs become newlines.
        (block $done (loop $next
            (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
            (if (i32.eqz (i32.load8_u offset=1024 (local.get $i)))
                (then (i32.store8 offset=1024 (local.get $i) (i32.const 10))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))
        (i32.store (i32.const 8) (i32.const 1024))
        (i32.store (i32.const 12) (local.get $len))
        (drop (call $write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 0)))))"#;

/// Everything after the module is the program's, as with `wasmtime run`:
/// arguments that look like `run`'s own options (or clap's `-h`, `--help`,
/// `-V`) and a `--` reach the program's argv unchanged.
#[test]
fn arguments_after_the_module_belong_to_the_program() {
    let m = write("print-args.wat", PRINT_ARGS);
    let m = m.to_str().unwrap();
    for args in [
        &["-h"][..],
        &["--help"],
        &["-V"],
        &["--version"],
        &["--dir", "x"],
        &["--invoke", "f", "--env", "A=B", "--no-cache"],
        &["--", "-h"],
        &["a", "--", "--", "b"],
    ] {
        let o = run(&[&["run", m][..], args].concat());
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let expected: String = std::iter::once("print-args.wat")
            .chain(args.iter().copied())
            .map(|a| format!("{a}\n"))
            .collect();
        assert_eq!(String::from_utf8_lossy(&o.stdout), expected, "{args:?}");
    }
    // Options before the module are still `run`'s, `--` before it ends them,
    // and `run --help` is still the help.
    let o = run(&["run", "--env", "A=B", "--", m, "-x"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "print-args.wat\n-x\n");
    let o = run(&["run", "--help"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(help.contains("Usage: nyash-engine run"), "{help}");
}
/// A WASI command that reports, for each of fds 0, 1 and 2, one line
/// `fd:errno,filetype,rights_base,rights_inheriting,errno,filetype,errno`:
/// `fd_fdstat_get`'s errno, filetype and rights (in hex), then
/// `fd_filestat_get`'s errno and filetype, then `fd_tell`'s errno; all of it
/// to both stdout and stderr (the test reads whichever it captured).
const STDIO_REPORT: &[u8] = br#"(module
    (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fdstat (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_filestat_get" (func $filestat (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_tell" (func $tell (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    ;; Where the next byte of the report goes.
    (global $at (mut i32) (i32.const 1024))
    (func $byte (param $b i32)
        (i32.store8 (global.get $at) (local.get $b))
        (global.set $at (i32.add (global.get $at) (i32.const 1))))
    (func $dec (param $v i32)
        (if (i32.ge_u (local.get $v) (i32.const 10))
            (then (call $byte (i32.add (i32.const 48) (i32.div_u (local.get $v) (i32.const 10))))))
        (call $byte (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10)))))
    (func $hex (param $v i64) (local $shift i64) (local $d i32)
        (local.set $shift (i64.const 60))
        (loop $next
            (local.set $d (i32.wrap_i64 (i64.and (i64.shr_u (local.get $v) (local.get $shift)) (i64.const 15))))
            (call $byte (i32.add (local.get $d)
                (select (i32.const 87) (i32.const 48) (i32.ge_u (local.get $d) (i32.const 10)))))
            (local.set $shift (i64.sub (local.get $shift) (i64.const 4)))
            (br_if $next (i64.ge_s (local.get $shift) (i64.const 0)))))
    (func $report (param $fd i32)
        (call $dec (local.get $fd))
        (call $byte (i32.const 58))
        (call $dec (call $fdstat (local.get $fd) (i32.const 0)))
        (call $byte (i32.const 44))
        (call $dec (i32.load8_u (i32.const 0)))
        (call $byte (i32.const 44))
        (call $hex (i64.load (i32.const 8)))
        (call $byte (i32.const 44))
        (call $hex (i64.load (i32.const 16)))
        (call $byte (i32.const 44))
        (call $dec (call $filestat (local.get $fd) (i32.const 64)))
        (call $byte (i32.const 44))
        (call $dec (i32.load8_u (i32.const 80)))
        (call $byte (i32.const 44))
        (call $dec (call $tell (local.get $fd) (i32.const 128)))
        (call $byte (i32.const 10)))
    (func (export "_start")
        (call $report (i32.const 0))
        (call $report (i32.const 1))
        (call $report (i32.const 2))
        (i32.store (i32.const 144) (i32.const 1024))
        (i32.store (i32.const 148) (i32.sub (global.get $at) (i32.const 1024)))
        (drop (call $write (i32.const 1) (i32.const 144) (i32.const 1) (i32.const 152)))
        (drop (call $write (i32.const 2) (i32.const 144) (i32.const 1) (i32.const 152)))))"#;

/// What wasi-libc's `isatty` concludes from one report line: a character
/// device without the rights to seek or tell.
fn isatty(line: &str) -> bool {
    let f: Vec<&str> = line.split([':', ',']).collect();
    let rights = u64::from_str_radix(f[3], 16).unwrap();
    f[2] == "2" && rights & (1 << 2 | 1 << 5) == 0
}

/// The report line wasmtime gives for a standard stream that is not a
/// terminal (a pipe, a file, /dev/null): filetype unknown, only the right
/// to read (fd 0) or write (fds 1, 2), a zeroed filestat of that type, and
/// `fd_tell` refused with ESPIPE (70).
fn not_a_terminal(fd: u32) -> String {
    let rights = if fd == 0 { 1 << 1 } else { 1 << 6 };
    format!("{fd}:0,0,{rights:016x},{rights:016x},0,0,70")
}

/// `isatty` is 0 for standard streams that are pipes, files or /dev/null
/// (issue 21: yosys wrote colour escapes into pipes and files).
#[test]
fn standard_streams_report_what_the_host_descriptor_is() {
    use std::process::Stdio;
    let m = write("stdio-report.wat", STDIO_REPORT);
    let dir = m.parent().unwrap().to_path_buf();
    let input = dir.join("stdin.txt");
    std::fs::write(&input, "some input").unwrap();
    let file = |name: &str| std::fs::File::create(dir.join(name)).unwrap();
    let engine = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_nyash-engine"));
        c.args(["run", m.to_str().unwrap()]);
        c
    };
    let check = |what: &str, report: &str| {
        let lines: Vec<&str> = report.lines().collect();
        assert_eq!(lines.len(), 3, "{what}: {report}");
        for (fd, line) in lines.iter().enumerate() {
            assert!(
                !isatty(line),
                "{what}: fd {fd} looks like a terminal: {line}"
            );
            assert_eq!(*line, not_a_terminal(fd as u32), "{what}: fd {fd}");
        }
    };

    // stdin /dev/null, stdout and stderr pipes.
    let o = engine().stdin(Stdio::null()).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    check(
        "stdin null, stdout pipe",
        &String::from_utf8_lossy(&o.stdout),
    );

    // stdin a file, stdout a file, stderr a pipe.
    let o = engine()
        .stdin(std::fs::File::open(&input).unwrap())
        .stdout(file("stdout.txt"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = std::fs::read_to_string(dir.join("stdout.txt")).unwrap();
    check("stdout a file", &out);
    check("stdin a file, stderr a pipe", &stderr(&o));

    // stdin a pipe, stdout /dev/null, stderr a file.
    let mut child = engine()
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(file("stderr.txt"))
        .spawn()
        .unwrap();
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    let err = std::fs::read_to_string(dir.join("stderr.txt")).unwrap();
    check("stdin a pipe, stdout null, stderr a file", &err);
}

/// On a terminal the three streams are character devices without seek
/// rights, so `isatty` is 1. Run under `script`, which gives the command a
/// pseudo-terminal; skipped (saying so) where `script` is missing.
#[test]
fn standard_streams_on_a_terminal_are_character_devices() {
    let m = write("stdio-report-tty.wat", STDIO_REPORT);
    let cmd = format!("{} run {}", env!("CARGO_BIN_EXE_nyash-engine"), m.display());
    let Ok(o) = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
    else {
        eprintln!("skipped: `script` (util-linux) is not installed");
        return;
    };
    let e = stderr(&o);
    if !o.status.success() && (e.contains("pseudo-terminal") || e.contains("openpty")) {
        eprintln!("skipped: no pseudo-terminal here: {e}");
        return;
    }
    assert!(o.status.success(), "{e}");
    // The report comes twice (stdout and stderr, both the terminal), with
    // the terminal's CRLF line ends.
    let out = String::from_utf8_lossy(&o.stdout).replace('\r', "");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    for (i, line) in lines.iter().enumerate() {
        let fd = i % 3;
        assert!(isatty(line), "fd {fd} is not a terminal: {line}");
        let rights = if fd == 0 { 1 << 1 } else { 1 << 6 };
        assert_eq!(
            *line,
            format!("{fd}:0,2,{rights:016x},{rights:016x},0,2,70")
        );
    }
}

/// A WASI command that polls for stdin to be readable with a 200 ms timeout
/// and exits with 10 x the first event's type (0 the clock, 1 stdin) + the
/// number of events.
const POLL_STDIN: &[u8] = br#"(module
    (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (memory (export "memory") 1)
    (func (export "_start")
        ;; userdata 1: read fd 0; userdata 2: monotonic clock, 200 ms
        (i64.store (i32.const 0) (i64.const 1))
        (i32.store8 (i32.const 8) (i32.const 1))
        (i32.store (i32.const 16) (i32.const 0))
        (i64.store (i32.const 48) (i64.const 2))
        (i32.store8 (i32.const 56) (i32.const 0))
        (i32.store (i32.const 64) (i32.const 1))
        (i64.store (i32.const 72) (i64.const 200000000))
        (if (call $poll (i32.const 0) (i32.const 128) (i32.const 2) (i32.const 100))
            (then unreachable))
        (call $exit (i32.add (i32.mul (i32.load8_u (i32.const 138)) (i32.const 10))
                             (i32.load (i32.const 100))))))"#;

/// `poll_oneoff` reports an inherited stdin readable only when the host's
/// fd 0 is: an open pipe with nothing in it is not (the timer fires), a
/// pipe with data or at end of file is (it was always "ready").
#[test]
fn poll_oneoff_waits_for_stdin() {
    use std::io::Write;
    use std::process::Stdio;
    let m = write("poll-stdin.wat", POLL_STDIN);
    let engine = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_nyash-engine"));
        c.args(["run", m.to_str().unwrap()]);
        c
    };
    // An empty pipe kept open: the clock's event alone.
    // (`wait` closes a stdin it holds: take it first.)
    let mut child = engine().stdin(Stdio::piped()).spawn().unwrap();
    let open = child.stdin.take();
    let status = child.wait().unwrap();
    drop(open);
    assert_eq!(status.code(), Some(1));
    // Data waiting: stdin's event alone.
    let mut child = engine().stdin(Stdio::piped()).spawn().unwrap();
    child.stdin.as_mut().unwrap().write_all(b"x").unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(11));
    // End of file (/dev/null) is readable too.
    let o = engine().stdin(Stdio::null()).output().unwrap();
    assert_eq!(o.status.code(), Some(11), "{}", stderr(&o));
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
