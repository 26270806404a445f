//! The automatic compile cache: compiled modules as `.nwasm` files in a
//! directory, keyed by a hash of the engine version, the compiler fingerprint
//! (target, CPU features, settings) and the module bytes.
//!
//! Entries are written atomically (a temporary file, then `rename`), so
//! concurrent runs never read a torn entry; they are owner-only; a damaged or
//! mismatched entry is recompiled and replaced; the directory is kept under a
//! size bound by evicting the least recently used entries.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::engine::{Config, Engine};
use crate::error::{Error, Result};
use crate::module::Module;

/// Whether process `pid` exists (signal 0 checks without sending one; a
/// process of another user answers `EPERM`).
fn process_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 is never delivered; this only asks.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Makes the calling thread run at the lowest priority (Linux: `nice` 19
/// for this thread only), for compiles in the background.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on this thread's own id.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19);
    }
}

/// A cache directory, as [`Config::cache`](crate::Config::cache) uses it:
/// for inspecting and clearing it (what `nyash-engine cache` does), or for
/// looking modules up explicitly. See the [crate docs](crate#artifacts-and-the-cache).
#[derive(Clone)]
pub struct Cache {
    dir: PathBuf,
    max_bytes: u64,
}

impl Cache {
    /// The directory a config uses: its own, `$NYASH_ENGINE_CACHE_DIR`,
    /// `$XDG_CACHE_HOME/nyash-engine` or `~/.cache/nyash-engine`.
    pub fn dir_for(config: &Config) -> Option<PathBuf> {
        let env = |k| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        config
            .cache_dir
            .clone()
            .or_else(|| env("NYASH_ENGINE_CACHE_DIR"))
            .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("nyash-engine")))
            .or_else(|| env("HOME").map(|h| h.join(".cache").join("nyash-engine")))
    }

    /// Opens (creating, owner-only) the config's cache directory. Fails if
    /// there is none ([`Cache::dir_for`]) or it cannot be created.
    pub fn new(config: &Config) -> Result<Cache> {
        let dir = Self::dir_for(config)
            .ok_or_else(|| Error::msg("no cache directory: set NYASH_ENGINE_CACHE_DIR or HOME"))?;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| Error::io(Some(&dir), e))?;
        Ok(Cache {
            dir,
            max_bytes: config.cache_max_bytes,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn key(engine: &Engine, bytes: &[u8]) -> String {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(nyash_aot::artifact::ENGINE_VERSION.as_bytes());
        h.update(&[0]);
        h.update(engine.inner.compiler.fingerprint().as_bytes());
        h.update(&[0]);
        h.update(bytes);
        format!("{:032x}", h.digest128())
    }

    /// The module for `bytes` (wasm or wat): from the cache, or compiled and
    /// stored. Failing to store it is not an error; failing to compile is.
    pub fn module(&self, engine: &Engine, bytes: &[u8]) -> Result<Module> {
        let key = Self::key(engine, bytes);
        let path = self.entry(&key);
        if path.exists() {
            // A damaged or foreign entry is simply compiled afresh below.
            // SAFETY: entries are written only by this cache (atomically,
            // in an owner-only directory), from modules this engine
            // compiled; the key includes the engine version and fingerprint.
            if let Ok(m) = unsafe { Module::deserialize_file(engine, &path) } {
                let _ = std::fs::File::options()
                    .write(true)
                    .open(&path)
                    .and_then(|f| f.set_modified(SystemTime::now()));
                return Ok(m);
            }
        }
        if engine.inner.baseline.is_some() {
            // Lazy compilation: baseline code now, the optimized artifact
            // for next time from a background compile, and for this run
            // too once it is there (tier-up).
            let module = Module::new(engine, bytes)?;
            let weak = std::sync::Arc::downgrade(&module.inner);
            let cache = self.clone();
            // Failing to start a thread is not failing to run. Another
            // process (or engine) filling the same entry: wait for it.
            if engine.inner.config.lazy_background_compile && self.claim(&key) {
                let (engine, bytes) = (engine.clone(), bytes.to_vec());
                let _ = std::thread::Builder::new()
                    .name("nyash-background-compile".into())
                    .spawn(move || {
                        lower_priority();
                        if let Ok(data) = cache.fill_key(&engine, &bytes, &key)
                            && let Some(inner) = weak.upgrade()
                        {
                            let _ = Module::tier_up(&inner, &data);
                        }
                    });
            } else if module.inner.lazy.is_some() {
                // Someone else fills the cache (the command line: a process
                // of its own); take its artifact when it appears.
                let _ = std::thread::Builder::new()
                    .name("nyash-tier-up".into())
                    .spawn(move || cache.wait_and_tier_up(&path, weak));
            }
            return Ok(module);
        }
        let module = Module::new(engine, bytes)?;
        // Failing to store is not failing to run.
        if let Ok(data) = module.serialize()
            && self.write_atomic(&path, &data).is_ok()
        {
            let _ = self.evict();
        }
        Ok(module)
    }

    /// The component for `bytes` (binary or text): from the cache, or
    /// compiled and stored. Its core modules go through
    /// [`module`](Self::module) too, so a component whose modules are
    /// cached (or that shares them with another) compiles nothing; with
    /// lazy compilation the whole-component entry is not written (its
    /// modules' entries fill in the background) and the next start
    /// translates the component again but compiles nothing.
    pub fn component(&self, engine: &Engine, bytes: &[u8]) -> Result<crate::component::Component> {
        use crate::component::Component;
        let key = Self::key(engine, bytes);
        let path = self.entry(&key);
        if path.exists() {
            // SAFETY: as for `module`: entries are this cache's own.
            if let Ok(c) = unsafe { Component::deserialize_file(engine, &path) } {
                let _ = std::fs::File::options()
                    .write(true)
                    .open(&path)
                    .and_then(|f| f.set_modified(SystemTime::now()));
                return Ok(c);
            }
        }
        let component = Component::compile(engine, bytes, Some(self))?;
        if engine.inner.baseline.is_none()
            && let Ok(data) = component.serialize()
            && self.write_atomic(&path, &data).is_ok()
        {
            let _ = self.evict();
        }
        Ok(component)
    }

    /// Compiles the component `bytes` with the optimizing tier and stores
    /// its whole-component entry: what the background compile of a lazy
    /// run does for a component (whose lazy start writes no entry). An
    /// engine with lazy compilation on compiles through one like it with
    /// lazy compilation off (the entry's key is the same: the optimizing
    /// compiler's). The fill's claim marker is this process's while it
    /// runs, as for [`fill`](Self::fill).
    pub fn fill_component(&self, engine: &Engine, bytes: &[u8]) -> Result<()> {
        let key = Self::key(engine, bytes);
        let marker = self.marker(&key);
        let _ = std::fs::write(&marker, std::process::id().to_string());
        let result = (|| {
            if engine.inner.baseline.is_some() {
                let mut config = engine.config().clone();
                config.lazy_compilation(false);
                let full = Engine::new(&config)?;
                self.component(&full, bytes).map(drop)
            } else {
                self.component(engine, bytes).map(drop)
            }
        })();
        let _ = std::fs::remove_file(marker);
        result
    }

    /// Whether the cache holds an entry for `bytes` under `engine`'s
    /// (optimizing) compiler.
    pub fn contains(&self, engine: &Engine, bytes: &[u8]) -> bool {
        self.entry(&Self::key(engine, bytes)).exists()
    }

    /// The entry of the module whose key is `key`.
    fn entry(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.nwasm"))
    }

    /// The marker of a fill in progress (see [`claim_fill`](Self::claim_fill)).
    fn marker(&self, key: &str) -> PathBuf {
        self.dir.join(format!(".{key}.filling"))
    }

    /// Compiles `bytes` (wasm or wat) with the optimizing tier, even with
    /// [`Config::lazy_compilation`] on, and stores the artifact: what the
    /// background compile of lazy mode does. With lazy compilation the
    /// compile runs on a pool of its own whose threads run at the lowest
    /// priority, so it takes only what the program leaves of the cores.
    pub fn fill(&self, engine: &Engine, bytes: &[u8]) -> Result<()> {
        self.fill_key(engine, bytes, &Self::key(engine, bytes))
            .map(drop)
    }

    /// Polls for the entry at `path` (written by another process's
    /// [`fill`](Self::fill)) while the module lives, for up to an hour,
    /// and moves the module to its code when it appears.
    fn wait_and_tier_up(&self, path: &Path, module: std::sync::Weak<crate::module::ModuleInner>) {
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_secs(3600) {
            std::thread::sleep(std::time::Duration::from_millis(200));
            let Some(inner) = module.upgrade() else {
                return;
            };
            if path.exists() {
                if let Ok(data) = std::fs::read(path) {
                    let _ = Module::tier_up(&inner, &data);
                }
                return;
            }
        }
    }

    /// Claims the compile that fills the entry for `bytes`: true if the
    /// caller should run it (with [`fill`](Self::fill), here or in a
    /// process it starts), false if another process claimed it, is alive
    /// and claimed it less than half an hour ago. The claim is a marker
    /// file in the cache directory holding the claiming process's id; the
    /// process that runs `fill` writes its own id there when it starts, and
    /// removes the marker when it ends. A claim of a process that died is
    /// taken over.
    pub fn claim_fill(&self, engine: &Engine, bytes: &[u8]) -> bool {
        self.claim(&Self::key(engine, bytes))
    }

    /// [`claim_fill`](Self::claim_fill) of the module whose key is `key`.
    fn claim(&self, key: &str) -> bool {
        let marker = self.marker(key);
        let create = || {
            std::fs::File::options()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&marker)
                .and_then(|mut f| f.write_all(std::process::id().to_string().as_bytes()))
                .is_ok()
        };
        if create() {
            return true;
        }
        let fresh = std::fs::metadata(&marker)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age < std::time::Duration::from_secs(1800));
        let owner_alive = std::fs::read_to_string(&marker)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
            .is_some_and(process_alive);
        if fresh && owner_alive {
            return false;
        }
        // A claim of a process that is gone: take it over (another caller
        // may do the same; both fills then write the same entry atomically).
        (std::fs::remove_file(&marker).is_ok() || !marker.exists()) && create()
    }

    /// [`fill`](Self::fill) of `bytes`, whose key is `key`, returning the
    /// artifact it stored.
    fn fill_key(&self, engine: &Engine, bytes: &[u8], key: &str) -> Result<Vec<u8>> {
        let marker = self.marker(key);
        // The claim is this process's while it fills (the process that
        // claimed it may have started this one and ended).
        let _ = std::fs::write(&marker, std::process::id().to_string());
        let result = self.fill_unmarked(engine, bytes, &self.entry(key));
        let _ = std::fs::remove_file(marker);
        result
    }

    fn fill_unmarked(&self, engine: &Engine, bytes: &[u8], path: &Path) -> Result<Vec<u8>> {
        let compile = || Module::new_optimized(engine, bytes);
        let module = if engine.inner.baseline.is_some() {
            let pool = rayon::ThreadPoolBuilder::new()
                .thread_name(|i| format!("nyash-background-compile-{i}"))
                .start_handler(|_| lower_priority())
                .build()
                .map_err(|e| Error::msg(format!("background compile: {e}")))?;
            pool.install(compile)?
        } else {
            compile()?
        };
        let data = module.serialize()?;
        self.write_atomic(path, &data)
            .map_err(|e| Error::io(Some(path), e))?;
        let _ = self.evict();
        Ok(data)
    }

    fn write_atomic(&self, path: &Path, data: &[u8]) -> std::io::Result<()> {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = self.dir.join(format!(
            ".tmp-{}-{}-{n}",
            std::process::id(),
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        let result = (|| {
            let mut f = std::fs::File::options()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(data)?;
            f.sync_data()?;
            std::fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// Entries with their last use and size.
    fn entries(&self) -> std::io::Result<Vec<(SystemTime, u64, PathBuf)>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.dir)? {
            let e = e?;
            let p = e.path();
            if p.extension().is_some_and(|x| x == "nwasm") {
                let m = e.metadata()?;
                out.push((m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len(), p));
            }
        }
        Ok(out)
    }

    /// Removes least recently used entries until the cache fits its bound.
    fn evict(&self) -> std::io::Result<()> {
        let mut entries = self.entries()?;
        let mut total: u64 = entries.iter().map(|e| e.1).sum();
        entries.sort();
        for (_, size, path) in entries {
            if total <= self.max_bytes {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total -= size;
            }
        }
        Ok(())
    }

    /// The number of entries and their total size in bytes.
    pub fn stats(&self) -> Result<(usize, u64)> {
        let e = self.entries().map_err(|e| Error::io(Some(&self.dir), e))?;
        Ok((e.len(), e.iter().map(|e| e.1).sum()))
    }

    /// Removes every entry; returns how many there were.
    pub fn clear(&self) -> Result<usize> {
        let e = self.entries().map_err(|e| Error::io(Some(&self.dir), e))?;
        for (_, _, p) in &e {
            std::fs::remove_file(p).map_err(|err| Error::io(Some(p), err))?;
        }
        Ok(e.len())
    }
}
