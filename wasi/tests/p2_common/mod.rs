//! What the WASI 0.2 tests share: a hand-written WAT component importing
//! `@0.2.0` interfaces, its setup, and a thread count.

#![allow(dead_code)]

use nyash_engine::component::{Component, Linker, TypedFunc};
use nyash_engine::{Config, Engine, Store};
use nyash_wasi::WasiCtx;

/// The test component. Its core module's exports are lifted as the
/// component's functions of the same name (`run-*`); they return a `u32`
/// that the test decodes.
pub const COMPONENT: &str = r#"(component
  (import "wasi:io/error@0.2.0" (instance $error
    (export "error" (type (sub resource)))))
  (alias export $error "error" (type $error-ty))
  (import "wasi:io/poll@0.2.0" (instance $poll
    (export "pollable" (type $p (sub resource)))
    (export "[method]pollable.ready" (func (param "self" (borrow $p)) (result bool)))
    (export "[method]pollable.block" (func (param "self" (borrow $p))))
    (export "poll" (func (param "in" (list (borrow $p))) (result (list u32))))))
  (alias export $poll "pollable" (type $pollable))
  (import "wasi:io/streams@0.2.0" (instance $streams
    (export "error" (type $e (eq $error-ty)))
    (export "pollable" (type $pl (eq $pollable)))
    (export "input-stream" (type $is (sub resource)))
    (export "output-stream" (type $os (sub resource)))
    (type $se (variant (case "last-operation-failed" (own $e)) (case "closed")))
    (export "stream-error" (type $se' (eq $se)))
    (export "[method]input-stream.read"
      (func (param "self" (borrow $is)) (param "len" u64)
            (result (result (list u8) (error $se')))))
    (export "[method]input-stream.blocking-read"
      (func (param "self" (borrow $is)) (param "len" u64)
            (result (result (list u8) (error $se')))))
    (export "[method]input-stream.subscribe"
      (func (param "self" (borrow $is)) (result (own $pl))))
    (export "[method]output-stream.blocking-write-and-flush"
      (func (param "self" (borrow $os)) (param "contents" (list u8))
            (result (result (error $se')))))))
  (alias export $streams "input-stream" (type $is))
  (alias export $streams "output-stream" (type $os))
  (import "wasi:cli/stdin@0.2.0" (instance $stdin
    (export "input-stream" (type $is' (eq $is)))
    (export "get-stdin" (func (result (own $is'))))))
  (import "wasi:cli/stdout@0.2.0" (instance $stdout
    (export "output-stream" (type $os' (eq $os)))
    (export "get-stdout" (func (result (own $os'))))))
  (import "wasi:clocks/monotonic-clock@0.2.0" (instance $clock
    (export "pollable" (type $pl (eq $pollable)))
    (export "subscribe-duration" (func (param "when" u64) (result (own $pl))))))
  (import "wasi:random/random@0.2.0" (instance $random
    (export "get-random-bytes" (func (param "len" u64) (result (list u8))))))
  (import "wasi:cli/exit@0.2.0" (instance $exit
    (export "exit" (func (param "status" (result))))))
  (import "wasi:cli/environment@0.2.0" (instance $env
    (export "get-arguments" (func (result (list string))))))

  (core module $Mem
    (memory (export "mem") 65536 65536 (pagesize 1))
    (global $heap (mut i32) (i32.const 4096))
    ;; A bump allocator: enough for a test's few lists.
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (i32.and
        (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get 2))))
      (global.set $heap (i32.add (local.get $p) (local.get 3)))
      (if (i32.gt_u (global.get $heap) (i32.const 65536)) (then unreachable))
      (local.get $p)))
  (core instance $mem (instantiate $Mem))
  (alias core export $mem "mem" (core memory $m))
  (alias core export $mem "realloc" (core func $realloc))

  (core func $ready (canon lower (func $poll "[method]pollable.ready")))
  (core func $block (canon lower (func $poll "[method]pollable.block")))
  (core func $poll (canon lower (func $poll "poll") (memory $m) (realloc $realloc)))
  (core func $read (canon lower (func $streams "[method]input-stream.read")
    (memory $m) (realloc $realloc)))
  (core func $blocking-read (canon lower (func $streams "[method]input-stream.blocking-read")
    (memory $m) (realloc $realloc)))
  (core func $subscribe (canon lower (func $streams "[method]input-stream.subscribe")))
  (core func $write (canon lower
    (func $streams "[method]output-stream.blocking-write-and-flush") (memory $m)))
  (core func $get-stdin (canon lower (func $stdin "get-stdin")))
  (core func $get-stdout (canon lower (func $stdout "get-stdout")))
  (core func $sleep (canon lower (func $clock "subscribe-duration")))
  (core func $random (canon lower (func $random "get-random-bytes")
    (memory $m) (realloc $realloc)))
  (core func $exit (canon lower (func $exit "exit")))
  (core func $args (canon lower (func $env "get-arguments")
    (memory $m) (realloc $realloc) string-encoding=utf8))
  (core func $drop-is (canon resource.drop $is))
  (core func $drop-os (canon resource.drop $os))
  (core func $drop-p (canon resource.drop $pollable))

  (core module $Main
    (import "host" "mem" (memory 65536 65536 (pagesize 1)))
    (import "host" "ready" (func $ready (param i32) (result i32)))
    (import "host" "block" (func $block (param i32)))
    (import "host" "poll" (func $poll (param i32 i32 i32)))
    (import "host" "read" (func $read (param i32 i64 i32)))
    (import "host" "blocking-read" (func $blocking-read (param i32 i64 i32)))
    (import "host" "subscribe" (func $subscribe (param i32) (result i32)))
    (import "host" "write" (func $write (param i32 i32 i32 i32)))
    (import "host" "get-stdin" (func $get-stdin (result i32)))
    (import "host" "get-stdout" (func $get-stdout (result i32)))
    (import "host" "sleep" (func $sleep (param i64) (result i32)))
    (import "host" "random" (func $random (param i64 i32)))
    (import "host" "exit" (func $exit (param i32)))
    (import "host" "args" (func $args (param i32)))
    (import "host" "drop-is" (func $drop-is (param i32)))
    (import "host" "drop-os" (func $drop-os (param i32)))
    (import "host" "drop-p" (func $drop-p (param i32)))

    ;; A read's outcome, from the result at 0: the byte count for `ok`,
    ;; 1000 + the stream-error case for `err` (1001: closed).
    (func $outcome (result i32)
      (if (result i32) (i32.load8_u (i32.const 0))
        (then (i32.add (i32.const 1000) (i32.load8_u (i32.const 4))))
        (else (i32.load (i32.const 8)))))

    ;; Reads up to `len` bytes of stdin once (blocking or not).
    (func (export "run-read") (param $len i64) (param $blocking i32) (result i32)
      (local $in i32)
      (local.set $in (call $get-stdin))
      (if (local.get $blocking)
        (then (call $blocking-read (local.get $in) (local.get $len) (i32.const 0)))
        (else (call $read (local.get $in) (local.get $len) (i32.const 0))))
      (call $drop-is (local.get $in))
      (call $outcome))

    ;; Reads stdin to its end with blocking reads; the bytes read in all,
    ;; or 1000 + the error case if it ends other than closed.
    (func (export "run-read-all") (result i32)
      (local $in i32) (local $total i32) (local $r i32)
      (local.set $in (call $get-stdin))
      (block $done
        (loop $more
          (call $blocking-read (local.get $in) (i64.const 7) (i32.const 0))
          (local.set $r (call $outcome))
          (br_if $done (i32.ge_u (local.get $r) (i32.const 1000)))
          (local.set $total (i32.add (local.get $total) (local.get $r)))
          (br $more)))
      (call $drop-is (local.get $in))
      (if (result i32) (i32.eq (local.get $r) (i32.const 1001))
        (then (local.get $total))
        (else (local.get $r))))

    ;; Writes `n` bytes (from offset 1024) to stdout with
    ;; blocking-write-and-flush; 0 when it did.
    (func (export "run-write") (param $n i32) (result i32)
      (local $out i32)
      (local.set $out (call $get-stdout))
      (call $write (local.get $out) (i32.const 1024) (local.get $n) (i32.const 0))
      (call $drop-os (local.get $out))
      (i32.load8_u (i32.const 0)))

    ;; Drops stdin while a pollable of it lives (the host refuses: trap).
    (func (export "run-drop-parent") (result i32)
      (local $in i32)
      (local.set $in (call $get-stdin))
      (drop (call $subscribe (local.get $in)))
      (call $drop-is (local.get $in))
      (i32.const 0))

    ;; Reads through a handle the instance does not hold (the canonical
    ;; ABI refuses: trap).
    (func (export "run-bad-handle") (result i32)
      (call $read (i32.const 12345) (i64.const 1) (i32.const 0))
      (i32.const 0))

    ;; Polls an empty list (the host refuses: trap).
    (func (export "run-poll-empty") (result i32)
      (call $poll (i32.const 64) (i32.const 0) (i32.const 0))
      (i32.const 0))

    ;; Sleeps `ns` through subscribe-duration + poll (or pollable.block
    ;; when `block`); returns ready-before | ready-after << 1 |
    ;; poll's result length << 2 | its first index << 8.
    (func (export "run-sleep") (param $ns i64) (param $use-block i32) (result i32)
      (local $p i32) (local $before i32) (local $r i32)
      (local.set $p (call $sleep (local.get $ns)))
      (local.set $before (call $ready (local.get $p)))
      (if (local.get $use-block)
        (then
          (call $block (local.get $p))
          (i32.store (i32.const 8) (i32.const 1))
          (i32.store (i32.const 16) (i32.const 0))
          (i32.store (i32.const 4) (i32.const 16)))
        (else
          (i32.store (i32.const 64) (local.get $p))
          (call $poll (i32.const 64) (i32.const 1) (i32.const 4))))
      (local.set $r (i32.or
        (i32.or (local.get $before)
          (i32.shl (call $ready (local.get $p)) (i32.const 1)))
        (i32.or
          (i32.shl (i32.load (i32.const 8)) (i32.const 2))
          (i32.shl (i32.load (i32.load (i32.const 4))) (i32.const 8)))))
      (call $drop-p (local.get $p))
      (local.get $r))

    ;; Two deadlines polled together: the indices ready (bit i for index
    ;; i) when poll returns.
    (func (export "run-poll-two") (param $a i64) (param $b i64) (result i32)
      (local $pa i32) (local $pb i32) (local $i i32) (local $bits i32)
      (local.set $pa (call $sleep (local.get $a)))
      (local.set $pb (call $sleep (local.get $b)))
      (i32.store (i32.const 64) (local.get $pa))
      (i32.store (i32.const 68) (local.get $pb))
      (call $poll (i32.const 64) (i32.const 2) (i32.const 0))
      (block $done
        (loop $each
          (br_if $done (i32.ge_u (local.get $i) (i32.load (i32.const 4))))
          (local.set $bits (i32.or (local.get $bits)
            (i32.shl (i32.const 1)
              (i32.load (i32.add (i32.load (i32.const 0))
                                 (i32.shl (local.get $i) (i32.const 2)))))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $each)))
      (call $drop-p (local.get $pa))
      (call $drop-p (local.get $pb))
      (local.get $bits))

    ;; get-random-bytes(len): the length of the list returned.
    (func (export "run-random") (param $len i64) (result i32)
      (call $random (local.get $len) (i32.const 0))
      (i32.load (i32.const 4)))

    ;; exit(ok) or exit(err).
    (func (export "run-exit") (param $err i32) (result i32)
      (call $exit (local.get $err))
      (i32.const 0))

    ;; The argument count * 1000 + the bytes of all arguments.
    (func (export "run-args") (result i32)
      (local $i i32) (local $n i32) (local $bytes i32)
      (call $args (i32.const 0))
      (local.set $n (i32.load (i32.const 4)))
      (block $done
        (loop $each
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $bytes (i32.add (local.get $bytes)
            (i32.load (i32.add (i32.load (i32.const 0))
              (i32.add (i32.shl (local.get $i) (i32.const 3)) (i32.const 4))))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $each)))
      (i32.add (i32.mul (local.get $n) (i32.const 1000)) (local.get $bytes))))

  (core instance $main (instantiate $Main
    (with "host" (instance
      (export "mem" (memory $m))
      (export "ready" (func $ready))
      (export "block" (func $block))
      (export "poll" (func $poll))
      (export "read" (func $read))
      (export "blocking-read" (func $blocking-read))
      (export "subscribe" (func $subscribe))
      (export "write" (func $write))
      (export "get-stdin" (func $get-stdin))
      (export "get-stdout" (func $get-stdout))
      (export "sleep" (func $sleep))
      (export "random" (func $random))
      (export "exit" (func $exit))
      (export "args" (func $args))
      (export "drop-is" (func $drop-is))
      (export "drop-os" (func $drop-os))
      (export "drop-p" (func $drop-p))))))

  (func (export "run-read") (param "len" u64) (param "blocking" bool) (result u32)
    (canon lift (core func $main "run-read")))
  (func (export "run-read-all") (result u32) (canon lift (core func $main "run-read-all")))
  (func (export "run-write") (param "n" u32) (result u32)
    (canon lift (core func $main "run-write")))
  (func (export "run-drop-parent") (result u32)
    (canon lift (core func $main "run-drop-parent")))
  (func (export "run-bad-handle") (result u32)
    (canon lift (core func $main "run-bad-handle")))
  (func (export "run-poll-empty") (result u32)
    (canon lift (core func $main "run-poll-empty")))
  (func (export "run-sleep") (param "ns" u64) (param "block" bool) (result u32)
    (canon lift (core func $main "run-sleep")))
  (func (export "run-poll-two") (param "a" u64) (param "b" u64) (result u32)
    (canon lift (core func $main "run-poll-two")))
  (func (export "run-random") (param "len" u64) (result u32)
    (canon lift (core func $main "run-random")))
  (func (export "run-exit") (param "err" bool) (result u32)
    (canon lift (core func $main "run-exit")))
  (func (export "run-args") (result u32) (canon lift (core func $main "run-args"))))"#;

pub fn engine(async_support: bool) -> Engine {
    let mut config = Config::new();
    config.wasm_custom_page_sizes(true);
    config.async_support(async_support);
    Engine::new(&config).expect("engine")
}

pub struct Setup {
    pub engine: Engine,
    pub component: Component,
    pub linker: Linker<WasiCtx>,
}

pub fn setup(async_support: bool) -> Setup {
    let engine = engine(async_support);
    let component = Component::new(&engine, COMPONENT).expect("the test component compiles");
    let mut linker = Linker::new(&engine);
    nyash_wasi::p2::add_to_linker(&mut linker).expect("add_to_linker");
    Setup {
        engine,
        component,
        linker,
    }
}

impl Setup {
    pub fn store(&self, ctx: WasiCtx) -> (Store<WasiCtx>, nyash_engine::component::Instance) {
        let mut store = Store::new(&self.engine, ctx);
        let instance = self
            .linker
            .instantiate(&mut store, &self.component)
            .expect("instantiates with the WASI 0.2 imports");
        (store, instance)
    }
}

pub fn func<P, R>(
    store: &mut Store<WasiCtx>,
    instance: &nyash_engine::component::Instance,
    name: &str,
) -> TypedFunc<P, R>
where
    P: nyash_engine::component::ComponentNamedList + nyash_engine::component::Lower,
    R: nyash_engine::component::ComponentNamedList + nyash_engine::component::Lift,
{
    instance
        .get_typed_func::<P, R>(store, name)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The number of threads of this process.
pub fn threads() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:").map(|n| n.trim().parse().ok()))
                .flatten()
        })
        .unwrap_or(0)
}
