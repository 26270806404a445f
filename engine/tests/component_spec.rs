//! The official Component Model reference tests (WebAssembly/component-model
//! `test/`, beside the project as `../shared/component-model-tests`, or
//! wherever `COMPONENT_MODEL_TESTS` says), every directive of every `.wast`
//! file of every folder but `async/` (the async ABI is its own issue), run
//! by the spec harness (`nyash-wast`) as `nyash-engine wast` runs them.
//!
//! Prints each failure as `FAIL file:line:col: what failed: why` and one
//! line per folder: `spec component-model/values: N passed, M failed[, K
//! skipped]`. A file is skipped only if the suite's own `nyi.txt` lists it
//! or [`NOT_YET`] does, each with its reason; exits non-zero if anything
//! else failed, or if a file listed in [`NOT_YET`] now passes whole (so the
//! list cannot go stale).

use std::path::{Path, PathBuf};

use nyash_engine::{Config, Engine};
use nyash_wast::{DEFAULT_DEADLINE_TICKS, DIRECTIVE_WATCHDOG, RunOptions, run_files, with_epochs};

/// Files that need what the engine does not have yet, each with why.
/// Every other directive of the suite runs.
const NOT_YET: &[(&str, &str)] = &[];

/// Where the official tests are.
fn suite_dir() -> PathBuf {
    match std::env::var_os("COMPONENT_MODEL_TESTS") {
        Some(dir) => PathBuf::from(dir),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/component-model-tests")
        }
    }
}

fn wast_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wast"))
        .collect();
    out.sort();
    out
}

fn main() {
    let suite = suite_dir();
    let test = suite.join("test");
    assert!(
        test.is_dir(),
        "the official Component Model tests are not at {}: clone \
         https://github.com/WebAssembly/component-model's `test/` there, or set \
         COMPONENT_MODEL_TESTS",
        suite.display()
    );
    let nyi: Vec<String> = std::fs::read_to_string(test.join("nyi.txt"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.trim().trim_start_matches("./").to_string())
        .collect();
    let filter = std::env::var("SPEC_FILTER").ok();
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config).expect("engine");
    let mut failed_total = 0;
    let mut stale = Vec::new();
    with_epochs(&[&engine], DIRECTIVE_WATCHDOG, || {
        for folder in ["binary", "linking", "resources", "validation", "values"] {
            let mut files = Vec::new();
            let mut skipped = Vec::new();
            for path in wast_files(&test.join(folder)) {
                let name = format!("{folder}/{}", path.file_name().unwrap().to_string_lossy());
                if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
                if nyi.contains(&name) {
                    skipped.push((name, "listed in the suite's nyi.txt".to_string(), None));
                } else if let Some((_, why)) = NOT_YET.iter().find(|(f, _)| *f == name) {
                    skipped.push((name, why.to_string(), Some(text)));
                } else {
                    files.push((name, text));
                }
            }
            let opts = |_: &str| RunOptions {
                deadline_ticks: Some(DEFAULT_DEADLINE_TICKS),
                ..RunOptions::default()
            };
            let outcomes = run_files(&engine, &files, &opts);
            let (mut passed, mut failed) = (0, 0);
            for o in &outcomes {
                for f in &o.failures {
                    println!("FAIL {f}");
                }
                passed += o.passed;
                failed += o.failures.len();
            }
            // A file skipped as not yet supported that passes whole is stale.
            let not_yet: Vec<(String, String)> = skipped
                .iter()
                .filter_map(|(n, _, t)| t.clone().map(|t| (n.clone(), t)))
                .collect();
            for (o, (name, _)) in run_files(&engine, &not_yet, &opts).iter().zip(&not_yet) {
                if o.failures.is_empty() {
                    stale.push(name.clone());
                }
            }
            for (name, why, _) in &skipped {
                println!("SKIP component-model/{name}: {why}");
            }
            if skipped.is_empty() {
                println!("spec component-model/{folder}: {passed} passed, {failed} failed");
            } else {
                println!(
                    "spec component-model/{folder}: {passed} passed, {failed} failed, {} skipped",
                    skipped.len()
                );
            }
            failed_total += failed;
        }
    });
    for name in &stale {
        println!("STALE {name} passes now: take it off NOT_YET");
    }
    if failed_total > 0 || !stale.is_empty() {
        std::process::exit(1);
    }
}
