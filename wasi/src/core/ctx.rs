//! The context of one WASI program: arguments, environment, the descriptor
//! table (standard streams, preopened directories, what the program opens)
//! and the status `proc_exit` asked for; and its builder.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use nyash_engine::component::ResourceTable;
use nyash_engine::{Error, Result};

use super::stdio::Stdio;
use super::{ErrorCode, path};
use crate::p1::rights;

/// What a descriptor is.
pub(crate) enum FdKind {
    Stdin(Stdio),
    Stdout(Stdio),
    Stderr(Stdio),
    /// Shared with the WASI 0.2 streams made from it.
    File(Arc<cap_std::fs::File>),
    /// Shared with every WASI 0.2 descriptor made for the same preopen.
    Dir(Arc<cap_std::fs::Dir>),
}

impl FdKind {
    /// Whether this is one of the standard streams.
    pub(crate) fn is_stdio(&self) -> bool {
        matches!(
            self,
            FdKind::Stdin(_) | FdKind::Stdout(_) | FdKind::Stderr(_)
        )
    }
}

/// The preopened directory a directory descriptor was reached through:
/// `..` from a directory beneath it may climb up to it, never past it
/// (`path::parent_beneath`). Holding it keeps its identity (device, inode)
/// from being reused.
pub(crate) struct Root {
    _dir: cap_std::fs::Dir,
    pub(crate) id: (u64, u64),
}

/// A preopened directory: what the guest sees it as, the directory, and
/// the boundary of everything reached through it. Preview 1 puts each in
/// its descriptor table (3, 4, ...); WASI 0.2's `get-directories` makes a
/// descriptor of each in the resource table.
pub(crate) struct Preopen {
    pub(crate) name: String,
    pub(crate) dir: Arc<cap_std::fs::Dir>,
    pub(crate) root: Arc<Root>,
}

/// One entry of the descriptor table.
pub(crate) struct Fd {
    pub(crate) kind: FdKind,
    /// For preopened directories: the name the guest sees.
    pub(crate) preopen: Option<String>,
    /// For directories: the preopen they were reached through.
    pub(crate) root: Option<Arc<Root>>,
    /// Writes go to the end of the file.
    pub(crate) append: bool,
    /// Preview 1's other fdflags the descriptor was opened or set with
    /// (reported back, not acted on).
    pub(crate) fdflags: u16,
    /// Preview 1's rights (`p1::rights`): checked by the p1 layer only.
    pub(crate) rights_base: u64,
    /// Preview 1's rights that descriptors opened from this one may have.
    pub(crate) rights_inheriting: u64,
}

/// A WASI program's view of the world: its arguments, environment,
/// standard streams and open descriptors (preopened directories and the
/// files it opens), and the status `proc_exit` asked for. Made with
/// [`WasiCtx::builder`]; it is usually (part of) a store's data.
pub struct WasiCtx {
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) fds: BTreeMap<u32, Fd>,
    /// The preopened directories, in the order given to the builder.
    pub(crate) preopens: Vec<Preopen>,
    /// Set by `proc_exit`.
    pub(crate) exit_code: Option<i32>,
    /// WASI 0.2's `insecure-seed`, drawn when first asked for.
    pub(crate) insecure_seed: Option<(u64, u64)>,
    /// WASI 0.2's resources (streams, pollables, descriptors, ...).
    pub(crate) table: ResourceTable,
    /// What `wasi:sockets` may do (nothing unless the builder allowed it).
    pub(crate) network: crate::p2::sockets::NetworkPolicy,
    /// `wasi:http/outgoing-handler` may send requests
    /// ([`WasiCtxBuilder::allow_http`]).
    pub(crate) allow_http: bool,
}

/// Builds a [`WasiCtx`]. Setters take `&mut self` and return it, so they
/// chain; [`WasiCtxBuilder::build`] may be called more than once.
#[derive(Default)]
pub struct WasiCtxBuilder {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Option<Stdio>,
    stdout: Option<Stdio>,
    stderr: Option<Stdio>,
    preopens: Vec<(PathBuf, String)>,
    network: crate::p2::sockets::NetworkPolicy,
    allow_http: bool,
}

impl WasiCtxBuilder {
    /// No arguments, no environment, null stdio, no preopened directories.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a program argument (the first is `argv[0]`).
    pub fn arg(&mut self, arg: impl Into<String>) -> &mut Self {
        self.args.push(arg.into());
        self
    }

    /// Appends program arguments (the first of all is `argv[0]`).
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, args: I) -> &mut Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Adds the environment variable `key=value`.
    pub fn env(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Passes the host process's whole environment.
    pub fn inherit_env(&mut self) -> &mut Self {
        self.env.extend(std::env::vars());
        self
    }

    /// Where the program's stdin (fd 0) reads from.
    pub fn stdin(&mut self, s: Stdio) -> &mut Self {
        self.stdin = Some(s);
        self
    }

    /// Where the program's stdout (fd 1) writes to.
    pub fn stdout(&mut self, s: Stdio) -> &mut Self {
        self.stdout = Some(s);
        self
    }

    /// Where the program's stderr (fd 2) writes to.
    pub fn stderr(&mut self, s: Stdio) -> &mut Self {
        self.stderr = Some(s);
        self
    }

    /// Inherits all three standard streams.
    pub fn inherit_stdio(&mut self) -> &mut Self {
        self.stdin = Some(Stdio::Inherit);
        self.stdout = Some(Stdio::Inherit);
        self.stderr = Some(Stdio::Inherit);
        self
    }

    /// Makes host directory `host` reachable by the guest as `guest`. Nothing
    /// outside it can be reached through it: `..`, absolute paths and
    /// symlinks are resolved beneath it. Preopens get descriptors 3, 4, ...
    /// in the order given; the directory is opened by [`build`](Self::build).
    pub fn preopened_dir(
        &mut self,
        host: impl Into<PathBuf>,
        guest: impl Into<String>,
    ) -> &mut Self {
        self.preopens.push((host.into(), guest.into()));
        self
    }

    /// Lets the program use the host's network as the host process can
    /// (WASI 0.2's `wasi:sockets`): TCP sockets to and from any address.
    /// Off by default: creating a socket answers `access-denied`.
    pub fn inherit_network(&mut self) -> &mut Self {
        self.network.inherit = true;
        self
    }

    /// Lets the program resolve names (`wasi:sockets/ip-name-lookup`)
    /// with the host's resolver. Off by default: `resolve-addresses`
    /// answers `access-denied`.
    pub fn allow_ip_name_lookup(&mut self, allow: bool) -> &mut Self {
        self.network.ip_name_lookup = allow;
        self
    }

    /// Lets the guest send HTTP requests with
    /// `wasi:http/outgoing-handler` (default: refused with
    /// `HTTP-request-denied`). `nyash-engine`'s `-S http` sets it.
    pub fn allow_http(&mut self, allow: bool) -> &mut Self {
        self.allow_http = allow;
        self
    }

    /// The context. Fails (naming the directory) if a preopened directory
    /// cannot be opened.
    pub fn build(&mut self) -> Result<WasiCtx> {
        let mut fds = BTreeMap::new();
        let std = |kind, rights| Fd {
            kind,
            preopen: None,
            root: None,
            append: false,
            fdflags: 0,
            rights_base: rights,
            rights_inheriting: rights,
        };
        let stdio = |s: &Option<Stdio>| s.clone().unwrap_or(Stdio::Null);
        fds.insert(0, std(FdKind::Stdin(stdio(&self.stdin)), rights::STDIN));
        fds.insert(1, std(FdKind::Stdout(stdio(&self.stdout)), rights::STDOUT));
        fds.insert(2, std(FdKind::Stderr(stdio(&self.stderr)), rights::STDOUT));
        let mut preopens = Vec::new();
        for (i, (host, guest)) in self.preopens.iter().enumerate() {
            let failed = |e| Error::io(Some(host), e).context("cannot preopen directory");
            let dir = cap_std::fs::Dir::open_ambient_dir(host, cap_std::ambient_authority())
                .map_err(failed)?;
            let root = Arc::new(Root {
                _dir: dir.try_clone().map_err(failed)?,
                id: path::id_of(std::os::fd::AsFd::as_fd(&dir)).map_err(failed)?,
            });
            let dir = Arc::new(dir);
            preopens.push(Preopen {
                name: guest.clone(),
                dir: dir.clone(),
                root: root.clone(),
            });
            fds.insert(
                3 + i as u32,
                Fd {
                    kind: FdKind::Dir(dir),
                    preopen: Some(guest.clone()),
                    root: Some(root),
                    append: false,
                    fdflags: 0,
                    rights_base: rights::DIR,
                    rights_inheriting: rights::DIR | rights::FILE,
                },
            );
        }
        Ok(WasiCtx {
            args: self.args.clone(),
            env: self.env.clone(),
            fds,
            preopens,
            exit_code: None,
            insecure_seed: None,
            table: ResourceTable::new(),
            network: self.network,
            allow_http: self.allow_http,
        })
    }
}

impl WasiCtx {
    /// A builder, the same as [`WasiCtxBuilder::new`].
    pub fn builder() -> WasiCtxBuilder {
        WasiCtxBuilder::new()
    }

    /// The status `proc_exit` asked for, if it was called.
    pub fn exit_code(&self) -> Option<i32> {
        self.exit_code
    }

    /// The table of the WASI 0.2 resources the program holds (streams,
    /// pollables, descriptors, ...); an embedder's own interfaces may keep
    /// theirs here too.
    pub fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }

    /// The program's arguments, `argv[0]` first.
    pub(crate) fn args(&self) -> &[String] {
        &self.args
    }

    /// The program's environment as `KEY=VALUE` strings.
    pub(crate) fn environ(&self) -> Vec<String> {
        self.env.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    /// The descriptor `fd` (`BadDescriptor` if there is none).
    pub(crate) fn fd(&mut self, fd: u32) -> super::Result<&mut Fd> {
        self.fds.get_mut(&fd).ok_or(ErrorCode::BadDescriptor)
    }

    /// Puts `fd` in the table at the lowest free number from 3 on.
    pub(crate) fn insert(&mut self, fd: Fd) -> super::Result<u32> {
        let mut n = 3;
        for k in self.fds.keys() {
            if *k == n {
                n += 1;
            } else if *k > n {
                break;
            }
        }
        if n > i32::MAX as u32 {
            return Err(ErrorCode::TooManyFiles);
        }
        self.fds.insert(n, fd);
        Ok(n)
    }

    /// Closes `fd`.
    pub(crate) fn close(&mut self, fd: u32) -> super::Result<()> {
        self.fds
            .remove(&fd)
            .map(drop)
            .ok_or(ErrorCode::BadDescriptor)
    }

    /// Moves descriptor `from` to number `to`, closing what `to` was; both
    /// must be open.
    pub(crate) fn renumber(&mut self, from: u32, to: u32) -> super::Result<()> {
        self.fd(from)?;
        self.fd(to)?;
        let f = self.fds.remove(&from).ok_or(ErrorCode::BadDescriptor)?;
        self.fds.insert(to, f);
        Ok(())
    }
}
