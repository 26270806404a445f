//! Running scripts without ever hanging: the epoch thread behind every
//! action's deadline, the watchdog behind compilation, and the parallel
//! runner of many files.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use nyash_engine::Engine;

use crate::{Failure, Outcome, RunOptions};

/// How often [`with_epochs`] advances the epoch.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);
/// The usual deadline of an action, in epoch ticks (10 s): the suite's
/// longest loops and stack exhaustion finish in milliseconds.
pub const DEFAULT_DEADLINE_TICKS: u64 = 1000;
/// A directive still running after this long ends the process (see
/// [`with_epochs`]).
pub const DIRECTIVE_WATCHDOG: Duration = Duration::from_secs(120);

/// What each thread is running (`file:line`) and since when, for the
/// watchdog.
type Busy = HashMap<ThreadId, (String, Instant)>;

fn busy_map() -> &'static Mutex<Busy> {
    static BUSY: OnceLock<Mutex<Busy>> = OnceLock::new();
    BUSY.get_or_init(Default::default)
}

/// Notes that this thread now runs the directive at `at` (`file:line`), or
/// nothing.
pub(crate) fn busy(at: Option<String>) {
    let me = std::thread::current().id();
    let mut map = busy_map().lock().unwrap_or_else(|e| e.into_inner());
    match at {
        Some(at) => {
            map.insert(me, (at, Instant::now()));
        }
        None => {
            map.remove(&me);
        }
    }
}

/// Runs `f` while a thread advances the epoch of every engine in `engines`
/// every [`EPOCH_TICK`] (what [`RunOptions::deadline_ticks`] counts), and a
/// watchdog ends the process with status 1 if one directive runs for more
/// than `watchdog` (something the epoch cannot stop: a compilation, a hang
/// outside wasm code), printing `FAIL file:line: ...` first. The engines
/// must have `Config::epoch_interruption` on.
pub fn with_epochs<R>(engines: &[&Engine], watchdog: Duration, f: impl FnOnce() -> R) -> R {
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engines.iter().for_each(|e| e.increment_epoch());
            }
        });
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                let busy = busy_map().lock().unwrap_or_else(|e| e.into_inner());
                if let Some((at, since)) = busy.values().find(|(_, t)| t.elapsed() > watchdog) {
                    println!(
                        "FAIL {at}: the directive has run for {} s, past every deadline \
                         (a hang outside wasm code?)",
                        since.elapsed().as_secs()
                    );
                    println!("wast: stopped by the watchdog");
                    std::process::exit(1);
                }
            }
        });
        let r = f();
        stop.store(true, Ordering::Relaxed);
        r
    })
}

/// Runs every script of `files` (name, text), each in a fresh context on
/// `engine` with the options `opts` gives for its name, on as many threads
/// as the machine has. A script that panics is one failure naming the
/// panic. The outcomes come back in `files`' order.
pub fn run_files(
    engine: &Engine,
    files: &[(String, String)],
    opts: &(dyn Fn(&str) -> RunOptions + Sync),
) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Outcome)>> = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(files.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((name, text)) = files.get(i) else {
                        break;
                    };
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        crate::run_script(engine, name, text, &opts(name))
                    }))
                    .unwrap_or_else(|p| {
                        busy(None);
                        Outcome::failed(Failure {
                            file: name.clone(),
                            line: 1,
                            col: 1,
                            directive: "script".into(),
                            reason: format!(
                                "panicked: {}",
                                p.downcast_ref::<String>()
                                    .map(String::as_str)
                                    .or_else(|| p.downcast_ref::<&str>().copied())
                                    .unwrap_or("?")
                            ),
                        })
                    });
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((i, outcome));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, o)| o).collect()
}
