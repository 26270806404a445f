//! Artifacts (`.nwasm`), the compile cache and bundles: round trips, every
//! kind of damage or mismatch detected before code runs, concurrent cache
//! writers, and a bundle run from elsewhere with an empty HOME.

use std::path::{Path, PathBuf};

use nyash_engine::{Config, Engine, ErrorKind, Instance, Module, Store};
use nyash_test_util::TmpDir;

const WAT: &str = r#"(module (memory 1) (data (i32.const 0) "\2a")
    (func $f (export "f") (param i32) (result i32) (i32.add (local.get 0) (i32.load8_u (i32.const 0))))
    (func (export "g") (result i32) (call $f (i32.const 1))))"#;

/// A fresh directory of this test process, removed when the test ends
/// well (kept after a failure, to look at).
fn tmp(name: &str) -> TmpDir {
    TmpDir::new("artifact", name)
}

fn call_f(module: &Module) -> i32 {
    let mut store = Store::new(module.engine(), ());
    let i = Instance::new(&mut store, module, &[]).unwrap();
    i.get_typed_func::<i32, i32>(&mut store, "f")
        .unwrap()
        .call(&mut store, 8)
        .unwrap()
}

fn artifact(dir: &Path) -> (Engine, PathBuf, Vec<u8>) {
    let engine = Engine::default();
    let bytes = Module::new(&engine, WAT).unwrap().serialize().unwrap();
    let path = dir.join("m.nwasm");
    std::fs::write(&path, &bytes).unwrap();
    (engine, path, bytes)
}

fn unusable(engine: &Engine, path: &Path, bytes: &[u8], what: &str) {
    std::fs::write(path, bytes).unwrap();
    // SAFETY: every artifact here is written by this test with this build.
    let err = unsafe { Module::deserialize_file(engine, path) }.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Artifact(_)),
        "{what}: {err}"
    );
    assert!(err.to_string().contains("m.nwasm"), "{what}: {err}");
    // SAFETY: every artifact here is written by this test with this build.
    let err = unsafe { Module::deserialize(engine, bytes) }.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Artifact(_)),
        "{what}: {err}"
    );
}

#[test]
fn round_trip_from_file_and_memory() {
    let dir = tmp("roundtrip");
    let (engine, path, bytes) = artifact(&dir);
    assert_eq!(
        // SAFETY: every artifact here is written by this test with this build.
        call_f(&unsafe { Module::deserialize_file(&engine, &path) }.unwrap()),
        50
    );
    assert_eq!(
        // SAFETY: every artifact here is written by this test with this build.
        call_f(&unsafe { Module::deserialize(&engine, &bytes) }.unwrap()),
        50
    );
    // A loaded module serialises to the same artifact.
    assert_eq!(
        // SAFETY: every artifact here is written by this test with this build.
        unsafe { Module::deserialize_file(&engine, &path) }
            .unwrap()
            .serialize()
            .unwrap(),
        bytes
    );
    // from_file never treats an artifact as code: it names the unsafe way.
    let err = Module::from_file(&engine, &path).unwrap_err().to_string();
    assert!(
        err.contains("precompiled") && err.contains("deserialize_file") && err.contains("m.nwasm"),
        "{err}"
    );
}

#[test]
fn damage_and_mismatch_are_detected() {
    let dir = tmp("damage");
    let (engine, path, bytes) = artifact(&dir);
    let code_offset = u64::from_le_bytes(bytes[72..80].try_into().unwrap()) as usize;

    unusable(&engine, &path, &bytes[..bytes.len() - 1], "truncated");
    unusable(&engine, &path, &bytes[..100], "truncated header");
    let mut b = bytes.clone();
    b[code_offset + 3] ^= 0x10;
    unusable(&engine, &path, &b, "bit flip in code");
    let mut b = bytes.clone();
    b[130] ^= 0x01;
    unusable(&engine, &path, &b, "bit flip in metadata");
    let mut b = bytes.clone();
    b[0] = b'X';
    unusable(&engine, &path, &b, "wrong magic");
    let mut b = bytes.clone();
    b[8] = 99;
    unusable(&engine, &path, &b, "wrong format version");
    let mut b = bytes.clone();
    b[12..32].fill(0);
    b[12..17].copy_from_slice(b"9.9.9");
    unusable(&engine, &path, &b, "other engine build");
    let mut b = bytes.clone();
    b[32] ^= 0xff;
    unusable(&engine, &path, &b, "other CPU features / compiler settings");

    // An engine with other settings (here: fuel) refuses this artifact too.
    let mut config = Config::new();
    config.consume_fuel(true);
    let fuel_engine = Engine::new(&config).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    // SAFETY: every artifact here is written by this test with this build.
    assert!(unsafe { Module::deserialize_file(&fuel_engine, &path) }.is_err());
    // And the intact file still loads.
    assert_eq!(
        // SAFETY: every artifact here is written by this test with this build.
        call_f(&unsafe { Module::deserialize_file(&engine, &path) }.unwrap()),
        50
    );
}

/// An engine whose cache stores what it compiles before `from_file`
/// returns: lazy compilation off even under `NYASH_LAZY=1` (its cache is
/// filled in the background: `lazy_cache_miss_fills_the_cache_in_the_background`).
fn cached_engine(dir: &Path) -> Engine {
    let mut config = Config::new();
    config.cache(true).cache_dir(dir).lazy_compilation(false);
    Engine::new(&config).unwrap()
}

#[test]
fn cache_hits_and_recompiles_damaged_entries() {
    let dir = tmp("cache");
    let wat = dir.join("m.wat");
    std::fs::write(&wat, WAT).unwrap();
    let cache_dir = dir.join("cache");
    let engine = cached_engine(&cache_dir);
    assert_eq!(call_f(&Module::from_file(&engine, &wat).unwrap()), 50);
    let entries: Vec<_> = std::fs::read_dir(&cache_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&entries[0]).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&cache_dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    // Damage the entry: it is silently recompiled and replaced.
    let mut b = std::fs::read(&entries[0]).unwrap();
    let n = b.len();
    b[n - 5] ^= 0xff;
    std::fs::write(&entries[0], &b).unwrap();
    assert_eq!(call_f(&Module::from_file(&engine, &wat).unwrap()), 50);
    // SAFETY: every artifact here is written by this test with this build.
    assert!(unsafe { Module::deserialize_file(&engine, &entries[0]) }.is_ok());
}

#[test]
fn concurrent_cache_writers() {
    let dir = tmp("concurrent");
    let wat = dir.join("m.wat");
    std::fs::write(&wat, WAT).unwrap();
    let cache_dir = dir.join("cache");
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (wat, cache_dir) = (wat.clone(), cache_dir.clone());
            std::thread::spawn(move || {
                let engine = cached_engine(&cache_dir);
                for _ in 0..5 {
                    assert_eq!(call_f(&Module::from_file(&engine, &wat).unwrap()), 50);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let entries: Vec<_> = std::fs::read_dir(&cache_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    // SAFETY: every artifact here is written by this test with this build.
    assert!(unsafe { Module::deserialize_file(&Engine::default(), &entries[0]) }.is_ok());
}

#[test]
fn cache_is_bounded() {
    let dir = tmp("bounded");
    let mut config = Config::new();
    config
        .cache(true)
        .cache_dir(dir.join("cache"))
        .cache_max_bytes(150_000);
    let engine = Engine::new(&config).unwrap();
    for i in 0..5 {
        let p = dir.join(format!("m{i}.wat"));
        std::fs::write(&p, format!("(module (func (export \"f{i}\")))")).unwrap();
        Module::from_file(&engine, &p).unwrap();
    }
    let total: u64 = std::fs::read_dir(dir.join("cache"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(total <= 150_000, "{total}");
}

/// An artifact holds the module's own types (rec groups, module type
/// indices); the loading engine gives engine ids, whatever it loaded
/// before, so typed references and subtyping work the same after a round
/// trip into an engine whose ids differ.
#[test]
fn typed_references_survive_a_round_trip() {
    const TYPED: &str = r#"(module
        (rec (type $r (sub (func (param i32) (result i32)))) (type $s (sub final $r (func (param i32) (result i32)))))
        (func $inc (type $s) (i32.add (local.get 0) (i32.const 1)))
        (table $t 2 (ref null $r) (ref.func $inc))
        (func (export "f") (param i32) (result i32)
            (i32.add
                (call_ref $r (local.get 0) (ref.as_non_null (table.get $t (i32.const 0))))
                (call_indirect $t (type $r) (local.get 0) (i32.const 1)))))"#;
    let bytes = Module::new(&Engine::default(), TYPED)
        .unwrap()
        .serialize()
        .unwrap();
    let engine = Engine::default();
    // Other types first, so this engine's ids differ from the first one's.
    Module::new(
        &engine,
        r#"(module (type (func (param i64))) (rec (type (func)) (type (func (result f32)))))"#,
    )
    .unwrap();
    // SAFETY: the artifact was written by this test with this build.
    let module = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    assert_eq!(call_f(&module), 18);
}

fn lazy_engine(cache_dir: Option<&Path>) -> Engine {
    let mut config = Config::new();
    config.lazy_compilation(true);
    if let Some(dir) = cache_dir {
        config.cache(true).cache_dir(dir);
    }
    Engine::new(&config).unwrap()
}

/// A lazy engine's module runs, and its artifact is the optimizing
/// compile of the whole module (on x86-64, where functions compile on
/// first call, the baseline code is incomplete; elsewhere the artifact is
/// the baseline tier's, which only a lazy engine loads).
#[test]
fn lazy_module_round_trip() {
    let engine = lazy_engine(None);
    let module = Module::new(&engine, WAT).unwrap();
    assert_eq!(call_f(&module), 50);
    let bytes = module.serialize().unwrap();
    // SAFETY: every artifact here is written by this test with this build.
    let back = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    assert_eq!(call_f(&back), 50);
    let mut eager = Config::new();
    eager.lazy_compilation(false);
    let eager = Engine::new(&eager).unwrap();
    // SAFETY: as above.
    let loaded = unsafe { Module::deserialize(&eager, &bytes) };
    if cfg!(target_arch = "x86_64") {
        assert_eq!(call_f(&loaded.unwrap()), 50);
    } else {
        let err = loaded.unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Artifact(_)), "{err}");
    }
    // The eager engine's own (optimized) artifacts load in the lazy one.
    let optimized = Module::new(&eager, WAT).unwrap().serialize().unwrap();
    // SAFETY: as above.
    let module = unsafe { Module::deserialize(&engine, &optimized) }.unwrap();
    assert_eq!(call_f(&module), 50);
}

/// With the cache on, a lazy engine's miss runs baseline code at once and
/// fills the cache with the optimized artifact from a background compile;
/// the next load is that artifact (an eager engine of the same settings
/// loads it).
#[test]
fn lazy_cache_miss_fills_the_cache_in_the_background() {
    let dir = tmp("lazy-cache");
    let wat = dir.join("m.wat");
    std::fs::write(&wat, WAT).unwrap();
    let cache_dir = dir.join("cache");
    let engine = lazy_engine(Some(&cache_dir));
    assert_eq!(call_f(&Module::from_file(&engine, &wat).unwrap()), 50);
    let entry = || {
        std::fs::read_dir(&cache_dir).ok().and_then(|d| {
            d.map(|e| e.unwrap().path())
                .find(|p| p.extension().is_some_and(|x| x == "nwasm"))
        })
    };
    let start = std::time::Instant::now();
    let path = loop {
        if let Some(p) = entry() {
            break p;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(120),
            "no cache entry from the background compile"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut eager = Config::new();
    eager.lazy_compilation(false);
    // SAFETY: every artifact here is written by this test with this build.
    let m = unsafe { Module::deserialize_file(&Engine::new(&eager).unwrap(), &path) }.unwrap();
    assert_eq!(call_f(&m), 50);
    assert_eq!(call_f(&Module::from_file(&engine, &wat).unwrap()), 50);
}

/// One fill at a time per module: a second claim while the first is
/// running is refused, `fill` ends the claim, and a claim whose process is
/// gone is taken over.
#[test]
fn cache_fill_claims_are_exclusive() {
    let dir = tmp("claims");
    let mut config = Config::new();
    config.cache(true).cache_dir(dir.join("cache"));
    let engine = Engine::new(&config).unwrap();
    let cache = nyash_engine::cache::Cache::new(&config).unwrap();
    assert!(cache.claim_fill(&engine, WAT.as_bytes()));
    assert!(!cache.claim_fill(&engine, WAT.as_bytes()));
    // Another module's fill is its own.
    assert!(cache.claim_fill(&engine, b"(module)"));
    cache.fill(&engine, WAT.as_bytes()).unwrap();
    assert!(cache.contains(&engine, WAT.as_bytes()));
    assert!(cache.claim_fill(&engine, WAT.as_bytes()));
    assert!(!cache.claim_fill(&engine, WAT.as_bytes()));
    // A claim of a process that is gone is taken over (no pid is this big).
    for marker in std::fs::read_dir(dir.join("cache")).unwrap() {
        let marker = marker.unwrap().path();
        if marker.extension().is_some_and(|x| x == "filling") {
            std::fs::write(&marker, "2147483000").unwrap();
        }
    }
    assert!(cache.claim_fill(&engine, WAT.as_bytes()));
    assert!(cache.claim_fill(&engine, b"(module)"));
}
