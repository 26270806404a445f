//! `wasi:cli`'s host side: `environment`, `exit`, `stdin`/`stdout`/
//! `stderr` (streams over the context's [`Stdio`]) and the `terminal-*`
//! interfaces.
//!
//! The standard streams are the ones the context was built with
//! (descriptors 0, 1 and 2 of its table; a component has no preview-1
//! descriptors of its own to close or renumber them). Each `get-stdout`
//! gives a new stream resource over the same host stream. An inherited
//! stdin reads without blocking once the host's fd 0 is readable, and its
//! readiness is a future woken by one watcher thread
//! (`core::stdio::stdin_readable`), so `blocking-read` suspends an async
//! call and blocks a synchronous one, as preview 1's reads do.

use std::future::Future;
use std::pin::Pin;

use nyash_engine::component::Resource;
use nyash_engine::{Error, ErrorKind};

use super::io::{
    DynInputStream, DynOutputStream, InputStream, OutputStream, StreamError, StreamResult,
    Subscribe, table_error,
};
use super::wasi::cli::{
    environment, exit, stderr, stdin, stdout, terminal_input, terminal_output, terminal_stderr,
    terminal_stdin, terminal_stdout,
};
use crate::WasiCtx;
use crate::core::ctx::FdKind;
use crate::core::stdio::{self, Stdio};

/// How many bytes `check-write` lets a guest write to stdout or stderr at
/// once. Writes go straight to the host stream, so the budget only bounds
/// one call's list.
const STDIO_WRITE_BUDGET: usize = 1 << 20;

/// The Rust type of `wasi:cli/terminal-input`'s `terminal-input`: stdin is
/// a terminal (it has no methods in WASI 0.2).
pub struct TerminalInput;

/// The Rust type of `wasi:cli/terminal-output`'s `terminal-output`: stdout
/// or stderr is a terminal.
pub struct TerminalOutput;

/// Stdin as an `input-stream`.
struct StdinStream(Stdio);

impl Subscribe for StdinStream {
    fn ready(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        match self.0 {
            Stdio::Inherit => Box::pin(stdio::stdin_readable()),
            // A buffer and null are always at their data or their end.
            Stdio::Null | Stdio::Buffer(_) => Box::pin(std::future::ready(())),
        }
    }
}

impl InputStream for StdinStream {
    fn read(&mut self, size: usize) -> StreamResult<Vec<u8>> {
        match &self.0 {
            Stdio::Null => Err(StreamError::Closed),
            Stdio::Buffer(b) => {
                let mut b = b.lock().unwrap_or_else(|e| e.into_inner());
                if b.is_empty() {
                    return Err(StreamError::Closed);
                }
                let n = size.min(b.len());
                Ok(b.drain(..n).collect())
            }
            Stdio::Inherit => {
                if size == 0 {
                    return Ok(Vec::new());
                }
                let Some(r) = stdio::host_stdin_ready(Some(std::time::Duration::ZERO)) else {
                    return Ok(Vec::new());
                };
                if r.hangup {
                    return Err(StreamError::Closed);
                }
                // Readable: a read returns what is there without waiting.
                let mut buf = vec![0; size];
                match stdio::read_host_stdin_now(&mut buf) {
                    Ok(0) => Err(StreamError::Closed),
                    Ok(n) => {
                        buf.truncate(n);
                        Ok(buf)
                    }
                    Err(e) => Err(StreamError::LastOperationFailed(
                        Error::io(None::<&std::path::Path>, e).context("reading stdin"),
                    )),
                }
            }
        }
    }
}

/// Stdout or stderr as an `output-stream`: writes go to the host stream
/// at once, so it is always ready and a flush has nothing to wait for.
struct StdoutStream {
    stdio: Stdio,
    stderr: bool,
}

impl Subscribe for StdoutStream {
    fn ready(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(std::future::ready(()))
    }
}

impl OutputStream for StdoutStream {
    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(STDIO_WRITE_BUDGET)
    }

    fn write(&mut self, bytes: &[u8]) -> StreamResult<()> {
        if bytes.len() > STDIO_WRITE_BUDGET {
            return Err(StreamError::Trap(Error::msg(format!(
                "wasi:io/streams output-stream.write: {} bytes, more than check-write \
                 allows ({STDIO_WRITE_BUDGET})",
                bytes.len()
            ))));
        }
        let name = if self.stderr { "stderr" } else { "stdout" };
        self.stdio
            .write(bytes, self.stderr)
            .map(drop)
            .map_err(|e| StreamError::LastOperationFailed(Error::msg(format!("{name}: {e:?}"))))
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
}

impl WasiCtx {
    /// The standard stream `fd` (0, 1 or 2) the context was built with.
    fn stdio(&self, fd: u32) -> Stdio {
        match self.fds.get(&fd).map(|f| &f.kind) {
            Some(FdKind::Stdin(s) | FdKind::Stdout(s) | FdKind::Stderr(s)) => s.clone(),
            _ => Stdio::Null,
        }
    }
}

impl environment::Host for WasiCtx {
    fn get_environment(&mut self) -> nyash_engine::Result<Vec<(String, String)>> {
        Ok(self.env.clone())
    }

    fn get_arguments(&mut self) -> nyash_engine::Result<Vec<String>> {
        Ok(self.args.clone())
    }

    fn initial_cwd(&mut self) -> nyash_engine::Result<Option<String>> {
        // The program has no current directory on the host (as wasmtime
        // reports by default).
        Ok(None)
    }
}

/// Ends the call as preview 1's `proc_exit` does: an error whose
/// `exit_status` is `code`, remembered in the context.
fn exit_with(ctx: &mut WasiCtx, code: i32) -> nyash_engine::Result<()> {
    ctx.exit_code = Some(code);
    Err(Error::new(ErrorKind::Exit(code)))
}

impl exit::Host for WasiCtx {
    fn exit(&mut self, status: Result<(), ()>) -> nyash_engine::Result<()> {
        exit_with(self, if status.is_ok() { 0 } else { 1 })
    }

    fn exit_with_code(&mut self, status_code: u8) -> nyash_engine::Result<()> {
        exit_with(self, i32::from(status_code))
    }
}

impl stdin::Host for WasiCtx {
    fn get_stdin(&mut self) -> nyash_engine::Result<Resource<DynInputStream>> {
        let s: DynInputStream = Box::new(StdinStream(self.stdio(0)));
        self.table
            .push(s)
            .map_err(table_error("wasi:cli/stdin get-stdin"))
    }
}

impl WasiCtx {
    fn output_stream(&mut self, fd: u32) -> nyash_engine::Result<Resource<DynOutputStream>> {
        let s: DynOutputStream = Box::new(StdoutStream {
            stdio: self.stdio(fd),
            stderr: fd == 2,
        });
        self.table.push(s).map_err(table_error(if fd == 2 {
            "wasi:cli/stderr get-stderr"
        } else {
            "wasi:cli/stdout get-stdout"
        }))
    }
}

impl stdout::Host for WasiCtx {
    fn get_stdout(&mut self) -> nyash_engine::Result<Resource<DynOutputStream>> {
        self.output_stream(1)
    }
}

impl stderr::Host for WasiCtx {
    fn get_stderr(&mut self) -> nyash_engine::Result<Resource<DynOutputStream>> {
        self.output_stream(2)
    }
}

impl terminal_input::Host for WasiCtx {}

impl terminal_input::HostTerminalInput for WasiCtx {
    fn drop(&mut self, t: Resource<TerminalInput>) -> nyash_engine::Result<()> {
        self.table
            .delete(t)
            .map(drop)
            .map_err(table_error("wasi:cli/terminal-input terminal-input drop"))
    }
}

impl terminal_output::Host for WasiCtx {}

impl terminal_output::HostTerminalOutput for WasiCtx {
    fn drop(&mut self, t: Resource<TerminalOutput>) -> nyash_engine::Result<()> {
        self.table
            .delete(t)
            .map(drop)
            .map_err(table_error("wasi:cli/terminal-output terminal-output drop"))
    }
}

impl WasiCtx {
    /// A terminal-output resource if standard stream `fd` is a terminal.
    fn terminal_output(
        &mut self,
        fd: u32,
    ) -> nyash_engine::Result<Option<Resource<TerminalOutput>>> {
        if !self.stdio(fd).is_terminal(fd as i32) {
            return Ok(None);
        }
        self.table
            .push(TerminalOutput)
            .map(Some)
            .map_err(table_error("wasi:cli/terminal-stdout"))
    }
}

impl terminal_stdin::Host for WasiCtx {
    fn get_terminal_stdin(&mut self) -> nyash_engine::Result<Option<Resource<TerminalInput>>> {
        if !self.stdio(0).is_terminal(0) {
            return Ok(None);
        }
        self.table
            .push(TerminalInput)
            .map(Some)
            .map_err(table_error("wasi:cli/terminal-stdin get-terminal-stdin"))
    }
}

impl terminal_stdout::Host for WasiCtx {
    fn get_terminal_stdout(&mut self) -> nyash_engine::Result<Option<Resource<TerminalOutput>>> {
        self.terminal_output(1)
    }
}

impl terminal_stderr::Host for WasiCtx {
    fn get_terminal_stderr(&mut self) -> nyash_engine::Result<Option<Resource<TerminalOutput>>> {
        self.terminal_output(2)
    }
}
