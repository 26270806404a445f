//! Standard streams: where they go, reading and writing them, whether they
//! are terminals, and when an inherited stdin is readable.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{ErrorCode, Result};

/// Where a standard stream goes (the default for each is [`Stdio::Null`]).
#[derive(Clone, Debug)]
pub enum Stdio {
    /// The host process's own stream.
    Inherit,
    /// Nothing: reads see end of file, writes are discarded.
    Null,
    /// An in-memory buffer: input to read, or output collected.
    Buffer(Arc<Mutex<Vec<u8>>>),
}

/// Reads from the host's fd 0 itself, not through `std::io::stdin()`,
/// whose buffer would hold input that [`host_stdin_ready`] (asking the OS
/// whether fd 0 is readable) could not see.
fn read_host_stdin(buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes; fd 0 is
        // only read, never closed.
        let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// How readable stdin is: the bytes it holds (when known) and whether it
/// is at end of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Readiness {
    pub(crate) nbytes: u64,
    pub(crate) hangup: bool,
}

/// Whether the host's fd 0 is readable (data, end of file or an error)
/// within `timeout` (`None`: wait as long as it takes; `Some(ZERO)`: just
/// look), and then how many bytes it holds (`FIONREAD`) and whether it hung
/// up. `None` when it is not readable in time (or the wait was
/// interrupted: the guest polls again).
pub(crate) fn host_stdin_ready(timeout: Option<Duration>) -> Option<Readiness> {
    let mut p = libc::pollfd {
        fd: 0,
        events: libc::POLLIN,
        revents: 0,
    };
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    });
    let tsp = ts.as_ref().map_or(std::ptr::null(), |t| t as *const _);
    // SAFETY: one valid pollfd; `tsp` is null or points at a live timespec.
    let n = unsafe { libc::ppoll(&mut p, 1, tsp, std::ptr::null()) };
    if n <= 0 {
        return None;
    }
    let mut avail: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    let ok = unsafe { libc::ioctl(0, libc::FIONREAD, &mut avail) } == 0;
    let nbytes = if ok { avail.max(0) as u64 } else { 1 };
    Some(Readiness {
        nbytes,
        hangup: p.revents & libc::POLLHUP != 0 && nbytes == 0,
    })
}

impl Stdio {
    /// Whether the stream is a terminal: only an inherited stream can be,
    /// when the host's own descriptor `host_fd` is one (what wasmtime
    /// reports as a character device; anything else, a pipe, a file,
    /// `/dev/null`, a socket, is not).
    pub(crate) fn is_terminal(&self, host_fd: i32) -> bool {
        // SAFETY: `isatty` only inspects the descriptor number.
        matches!(self, Stdio::Inherit) && unsafe { libc::isatty(host_fd) } == 1
    }

    /// Reads into `buf` (as stdin).
    pub(crate) fn read(&self, buf: &mut [u8]) -> Result<usize> {
        match self {
            Stdio::Inherit => {
                // In an async call the read happens on a helper thread and
                // the call suspends until it is done.
                let n = buf.len();
                let (data, r) = nyash_engine::host::run_blocking(move || {
                    let mut data = vec![0u8; n];
                    let r = read_host_stdin(&mut data);
                    (data, r)
                })
                .map_err(|_| ErrorCode::Interrupted)?;
                let got = r?;
                buf[..got].copy_from_slice(&data[..got]);
                Ok(got)
            }
            Stdio::Null => Ok(0),
            Stdio::Buffer(b) => {
                let mut b = b.lock().unwrap_or_else(|e| e.into_inner());
                let n = buf.len().min(b.len());
                buf[..n].copy_from_slice(&b[..n]);
                b.drain(..n);
                Ok(n)
            }
        }
    }

    /// Writes `data` (as stdout, or as stderr if `stderr`).
    pub(crate) fn write(&self, data: &[u8], stderr: bool) -> Result<usize> {
        match self {
            Stdio::Inherit if stderr => {
                std::io::stderr().write_all(data)?;
                Ok(data.len())
            }
            Stdio::Inherit => {
                let mut out = std::io::stdout();
                out.write_all(data)?;
                out.flush()?;
                Ok(data.len())
            }
            Stdio::Null => Ok(data.len()),
            Stdio::Buffer(b) => {
                b.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(data);
                Ok(data.len())
            }
        }
    }

    /// How readable the stream is as stdin right now; `None` when an
    /// inherited stdin has nothing yet (wait with [`host_stdin_ready`]).
    pub(crate) fn read_readiness(&self) -> Option<Readiness> {
        match self {
            Stdio::Inherit => host_stdin_ready(Some(Duration::ZERO)),
            Stdio::Null => Some(Readiness {
                nbytes: 0,
                hangup: true,
            }),
            Stdio::Buffer(b) => {
                let nbytes = b.lock().unwrap_or_else(|e| e.into_inner()).len() as u64;
                Some(Readiness {
                    nbytes,
                    hangup: nbytes == 0,
                })
            }
        }
    }
}

/// Reads from the host's fd 0 what is there (for callers that know it
/// is readable: [`host_stdin_ready`] said so).
pub(crate) fn read_host_stdin_now(buf: &mut [u8]) -> std::io::Result<usize> {
    read_host_stdin(buf)
}

/// A future that completes when the host's fd 0 is readable (data, end
/// of file or an error). One watcher thread for the process waits on fd 0
/// while any such future is pending and wakes them all when it is
/// readable, so waiting readers cost no thread each; dropping the future
/// cancels its wait.
pub(crate) fn stdin_readable() -> StdinReadable {
    StdinReadable { id: None }
}

/// See [`stdin_readable`].
pub(crate) struct StdinReadable {
    id: Option<u64>,
}

struct Watch {
    state: Mutex<WatchState>,
    wanted: std::sync::Condvar,
}

struct WatchState {
    wakers: std::collections::HashMap<u64, std::task::Waker>,
    next_id: u64,
    started: bool,
}

fn watch() -> &'static Watch {
    static WATCH: std::sync::OnceLock<Watch> = std::sync::OnceLock::new();
    WATCH.get_or_init(|| Watch {
        state: Mutex::new(WatchState {
            wakers: Default::default(),
            next_id: 0,
            started: false,
        }),
        wanted: std::sync::Condvar::new(),
    })
}

impl Watch {
    fn lock(&self) -> std::sync::MutexGuard<'_, WatchState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The watcher thread: while someone waits, polls fd 0 (a short
    /// timeout, so a wait given up is noticed) and wakes every waiter
    /// when it is readable.
    fn run(&self) {
        loop {
            let mut state = self.lock();
            while state.wakers.is_empty() {
                state = self.wanted.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            drop(state);
            if host_stdin_ready(Some(Duration::from_millis(100))).is_some() {
                let woken: Vec<_> = self.lock().wakers.drain().map(|(_, w)| w).collect();
                for w in woken {
                    w.wake();
                }
            }
        }
    }
}

impl std::future::Future for StdinReadable {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        let w = watch();
        if host_stdin_ready(Some(Duration::ZERO)).is_some() {
            if let Some(id) = self.id.take() {
                w.lock().wakers.remove(&id);
            }
            return std::task::Poll::Ready(());
        }
        let mut state = w.lock();
        let id = match self.id {
            Some(id) => id,
            None => {
                let id = state.next_id;
                state.next_id += 1;
                self.id = Some(id);
                id
            }
        };
        state.wakers.insert(id, cx.waker().clone());
        if !state.started {
            state.started = true;
            let spawned = std::thread::Builder::new()
                .name("nyash-wasi-stdin".into())
                .spawn(|| watch().run());
            if spawned.is_err() {
                // No watcher: poll again soon rather than never.
                state.started = false;
                cx.waker().wake_by_ref();
            }
        }
        w.wanted.notify_one();
        std::task::Poll::Pending
    }
}

impl Drop for StdinReadable {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            watch().lock().wakers.remove(&id);
        }
    }
}
