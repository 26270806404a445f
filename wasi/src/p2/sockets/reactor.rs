//! Readiness of host sockets as futures that need no executor's reactor:
//! one watcher thread for the process `poll(2)`s every descriptor some
//! pending future waits on (and a pipe that tells it the set changed), and
//! wakes those futures when theirs is ready. A future first asks the OS
//! itself (a `poll` with no timeout), so a ready socket costs no trip
//! through the thread; a waiting one costs an entry in a map, not a thread,
//! so a synchronous call parks and an async call suspends on its fiber
//! (`nyash_engine::host::block_on`) alike.

use std::collections::HashMap;
use std::future::Future;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

/// What to wait for on a descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Interest {
    /// Readable: data, a connection to accept, end of stream, or an error.
    Read,
    /// Writable: room to send, a finished connect, or an error.
    Write,
}

impl Interest {
    fn events(self) -> libc::c_short {
        match self {
            Interest::Read => libc::POLLIN,
            Interest::Write => libc::POLLOUT,
        }
    }
}

/// Whether `fd` is ready for `interest` right now (an error or a hang-up
/// counts as ready: the next operation reports it).
pub(crate) fn ready_now(fd: RawFd, interest: Interest) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: interest.events(),
        revents: 0,
    };
    // SAFETY: one valid pollfd, no waiting.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n > 0 && p.revents != 0
}

struct Reactor {
    waits: Mutex<Waits>,
    /// The write end of the pipe that wakes the watcher thread.
    wake_fd: RawFd,
}

#[derive(Default)]
struct Waits {
    next_id: u64,
    entries: HashMap<u64, (RawFd, Interest, Waker)>,
}

fn reactor() -> Option<&'static Reactor> {
    static REACTOR: OnceLock<Option<Reactor>> = OnceLock::new();
    REACTOR
        .get_or_init(|| {
            let mut fds = [0; 2];
            // SAFETY: `fds` has room for the two descriptors `pipe2` writes.
            if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
                return None;
            }
            let [read_fd, wake_fd] = fds;
            std::thread::Builder::new()
                .name("nyash-wasi-sockets".into())
                .spawn(move || watch(read_fd))
                .ok()?;
            Some(Reactor {
                waits: Mutex::new(Waits::default()),
                wake_fd,
            })
        })
        .as_ref()
}

/// Tells the watcher thread the set of waits changed.
fn kick(r: &Reactor) {
    let b = 1u8;
    // SAFETY: writes one byte from a live local to the pipe this reactor
    // owns (never closed). A full pipe already holds a wake-up.
    unsafe { libc::write(r.wake_fd, (&b as *const u8).cast(), 1) };
}

/// The watcher thread: polls the pipe and every waited-on descriptor,
/// wakes (and forgets) the waits whose descriptor is ready.
fn watch(read_fd: RawFd) {
    let mut pfds: Vec<libc::pollfd> = Vec::new();
    let mut ids: Vec<u64> = Vec::new();
    loop {
        let Some(r) = reactor() else { return };
        pfds.clear();
        ids.clear();
        pfds.push(libc::pollfd {
            fd: read_fd,
            events: libc::POLLIN,
            revents: 0,
        });
        {
            let w = r.waits.lock().unwrap_or_else(|e| e.into_inner());
            for (id, (fd, interest, _)) in &w.entries {
                pfds.push(libc::pollfd {
                    fd: *fd,
                    events: interest.events(),
                    revents: 0,
                });
                ids.push(*id);
            }
        }
        // SAFETY: `pfds` is a live array of `pfds.len()` pollfds.
        let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, -1) };
        if n <= 0 {
            continue;
        }
        if pfds[0].revents != 0 {
            let mut buf = [0u8; 64];
            // SAFETY: reads into a live local buffer from the pipe's read
            // end, which this thread owns.
            while unsafe { libc::read(read_fd, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
        }
        let mut w = r.waits.lock().unwrap_or_else(|e| e.into_inner());
        for (p, id) in pfds[1..].iter().zip(&ids) {
            if p.revents != 0
                && let Some((_, _, waker)) = w.entries.remove(id)
            {
                waker.wake();
            }
        }
    }
}

/// A future that completes when `fd` is ready for `interest`. The
/// descriptor must stay open while the future lives (the socket that owns
/// it outlives the borrow the future is made from). Dropping it cancels
/// its wait.
pub(crate) struct Ready {
    fd: RawFd,
    interest: Interest,
    id: Option<u64>,
}

/// See [`Ready`].
pub(crate) fn ready(fd: RawFd, interest: Interest) -> Ready {
    Ready {
        fd,
        interest,
        id: None,
    }
}

impl Future for Ready {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if ready_now(self.fd, self.interest) {
            return Poll::Ready(());
        }
        let Some(r) = reactor() else {
            // No watcher thread could be started: a wait would never end,
            // so report ready and let the operation say would-block.
            return Poll::Ready(());
        };
        let mut w = r.waits.lock().unwrap_or_else(|e| e.into_inner());
        let id = match self.id {
            Some(id) if w.entries.contains_key(&id) => id,
            _ => {
                w.next_id += 1;
                w.next_id
            }
        };
        w.entries
            .insert(id, (self.fd, self.interest, cx.waker().clone()));
        drop(w);
        self.id = Some(id);
        kick(r);
        // Ready between the look and the registration: the watcher's
        // poll sees it at once and wakes us.
        Poll::Pending
    }
}

impl Drop for Ready {
    fn drop(&mut self) {
        if let (Some(id), Some(r)) = (self.id, reactor()) {
            let mut w = r.waits.lock().unwrap_or_else(|e| e.into_inner());
            w.entries.remove(&id);
        }
    }
}
