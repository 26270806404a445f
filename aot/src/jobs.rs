//! The job runner the compiler and the lazy validator share.

/// Runs `run` over `jobs` and returns the results in the jobs' order.
///
/// In parallel, one worker per thread of rayon's pool takes jobs from a
/// shared queue, largest `cost` first (longest-processing-time-first): a big
/// function started last would leave the other cores idle while it finishes.
/// Each worker makes its own state with `init` and reuses it. Few jobs, or
/// `parallel` off, run on this thread in order.
pub(crate) fn run_jobs<J: Send, R: Send, S>(
    parallel: bool,
    jobs: Vec<J>,
    cost: impl Fn(&J) -> usize,
    init: impl Fn() -> S + Sync,
    run: impl Fn(&mut S, J) -> R + Sync,
) -> Vec<R> {
    let threads = rayon::current_num_threads();
    if !parallel || jobs.len() < 4 || threads < 2 {
        let mut state = init();
        return jobs.into_iter().map(|j| run(&mut state, j)).collect();
    }
    let n = jobs.len();
    let mut order: Vec<(usize, J)> = jobs.into_iter().enumerate().collect();
    order.sort_by_key(|(i, j)| (std::cmp::Reverse(cost(j)), *i));
    let queue: Vec<std::sync::Mutex<Option<(usize, J)>>> = order
        .into_iter()
        .map(|job| std::sync::Mutex::new(Some(job)))
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done: std::sync::Mutex<Vec<(usize, R)>> = std::sync::Mutex::new(Vec::with_capacity(n));
    rayon::scope(|s| {
        for _ in 0..threads.min(n) {
            s.spawn(|_| {
                let mut state = init();
                let mut mine = Vec::new();
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(slot) = queue.get(k) else { break };
                    let job = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
                    if let Some((i, job)) = job {
                        mine.push((i, run(&mut state, job)));
                    }
                }
                done.lock().unwrap_or_else(|e| e.into_inner()).extend(mine);
            });
        }
    });
    let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
    done.sort_unstable_by_key(|&(i, _)| i);
    done.into_iter().map(|(_, r)| r).collect()
}
