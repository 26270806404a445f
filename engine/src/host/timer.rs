//! The engine's one timer thread: a heap of (deadline, registration) and
//! the wakers of the [`Sleep`] futures waiting on them. Thousands of
//! sleeping async calls cost one thread and a heap entry each, not a
//! thread each; the thread starts with the first sleep that has to wait
//! and then stays, parked on a condition variable until the earliest
//! deadline.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// What the timer thread and the sleeps share.
struct State {
    /// Deadlines by registration id, earliest first. An entry whose id is
    /// no longer in `wakers` (its sleep was dropped) is skipped when it
    /// comes up, and swept when such entries outnumber the live ones.
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    /// The waker of each live registration.
    wakers: HashMap<u64, Waker>,
    /// The next registration id.
    next_id: u64,
    /// Whether the thread runs.
    started: bool,
}

struct Timer {
    state: Mutex<State>,
    /// Signalled when a deadline earlier than the thread's wait is added.
    changed: Condvar,
}

fn timer() -> &'static Timer {
    static TIMER: OnceLock<Timer> = OnceLock::new();
    TIMER.get_or_init(|| Timer {
        state: Mutex::new(State {
            heap: BinaryHeap::new(),
            wakers: HashMap::new(),
            next_id: 0,
            started: false,
        }),
        changed: Condvar::new(),
    })
}

impl Timer {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent when a waker panics: no invariant
        // spans the points where one runs (they run outside the lock).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The thread: wakes each registration whose deadline has passed, then
    /// waits until the next deadline or a new earlier one.
    fn run(&self) {
        let mut due = Vec::new();
        let mut state = self.lock();
        loop {
            let now = Instant::now();
            while let Some(&Reverse((deadline, id))) = state.heap.peek() {
                if deadline > now {
                    break;
                }
                state.heap.pop();
                if let Some(w) = state.wakers.remove(&id) {
                    due.push(w);
                }
            }
            if !due.is_empty() {
                drop(state);
                // Outside the lock: a waker may poll, and so register.
                for w in due.drain(..) {
                    w.wake();
                }
                state = self.lock();
                continue;
            }
            state = match state.heap.peek() {
                Some(&Reverse((deadline, _))) => {
                    let wait = deadline.saturating_duration_since(now);
                    self.changed
                        .wait_timeout(state, wait)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => self.changed.wait(state).unwrap_or_else(|e| e.into_inner()),
            };
        }
    }
}

/// A future that completes at a deadline: [`crate::host::sleep`].
///
/// It needs no executor's timer: the engine's timer thread wakes it, so it
/// works under [`crate::host::block_on`] in synchronous calls, on an async
/// call's fiber, and in any executor. Dropping it before the deadline
/// cancels its registration.
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    deadline: Instant,
    /// The registration with the timer thread, once polled before the
    /// deadline.
    id: Option<u64>,
}

impl Sleep {
    pub(crate) fn new(deadline: Instant) -> Sleep {
        Sleep { deadline, id: None }
    }

    /// The deadline.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            if let Some(id) = self.id.take() {
                timer().lock().wakers.remove(&id);
            }
            return Poll::Ready(());
        }
        let t = timer();
        let mut state = t.lock();
        match self.id {
            Some(id) => match state.wakers.get_mut(&id) {
                Some(w) => {
                    if !w.will_wake(cx.waker()) {
                        w.clone_from(cx.waker());
                    }
                }
                // Woken by the thread, yet polled before the deadline (a
                // clock that disagrees by a hair): register again.
                None => {
                    state.wakers.insert(id, cx.waker().clone());
                    state.heap.push(Reverse((self.deadline, id)));
                    t.changed.notify_one();
                }
            },
            None => {
                let id = state.next_id;
                state.next_id += 1;
                self.id = Some(id);
                let earliest = state
                    .heap
                    .peek()
                    .is_none_or(|Reverse((d, _))| self.deadline < *d);
                state.wakers.insert(id, cx.waker().clone());
                state.heap.push(Reverse((self.deadline, id)));
                if !state.started {
                    state.started = true;
                    let spawned = std::thread::Builder::new()
                        .name("nyash-timer".into())
                        .spawn(|| timer().run());
                    if spawned.is_err() {
                        // No thread: the sleep cannot be woken. Fall back
                        // to waking now, so the caller polls again (a
                        // busy wait rather than a hang); the next sleep
                        // tries to start the thread again.
                        state.started = false;
                        state.wakers.remove(&id);
                        self.id = None;
                        drop(state);
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                } else if earliest {
                    t.changed.notify_one();
                }
            }
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        let Some(id) = self.id else { return };
        let mut state = timer().lock();
        if state.wakers.remove(&id).is_some() {
            // Sweep the heap when dropped sleeps' entries dominate it, so
            // cancelled far deadlines do not pile up.
            if state.heap.len() > 64 && state.heap.len() > 2 * state.wakers.len() {
                let State { heap, wakers, .. } = &mut *state;
                heap.retain(|Reverse((_, id))| wakers.contains_key(id));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn many_sleeps_share_one_thread_and_finish_in_order_of_deadline() {
        let start = Instant::now();
        let mut pool = futures::executor::LocalPool::new();
        let spawner = futures::task::LocalSpawnExt::spawn_local;
        let done = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        for i in (0..100u64).rev() {
            let done = done.clone();
            spawner(&pool.spawner(), async move {
                Sleep::new(start + Duration::from_millis(20 + i)).await;
                done.borrow_mut().push(i);
            })
            .expect("spawn");
        }
        pool.run();
        let done = done.borrow();
        assert_eq!(done.len(), 100);
        assert!(done.windows(2).all(|w| w[0] < w[1]), "{done:?}");
        assert!(start.elapsed() >= Duration::from_millis(119));
    }

    #[test]
    fn a_dropped_sleep_leaves_no_registration() {
        let far = Instant::now() + Duration::from_secs(3600);
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut s = Box::pin(Sleep::new(far));
        assert!(s.as_mut().poll(&mut cx).is_pending());
        let id = s.id.expect("registered");
        assert!(timer().lock().wakers.contains_key(&id));
        drop(s);
        assert!(!timer().lock().wakers.contains_key(&id));
    }
}
