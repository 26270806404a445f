;; The core module of the test component of `p2_filesystem.rs`: a thin
;; driver of `wasi:filesystem`. Each export calls the import of the same
;; name with the same arguments (descriptor handles passed as the guest's
;; u32 handle numbers) and hands back the import's result as it was
;; written to memory: the exported function's result type (in the test's
;; world) has the import's layout, so the host lifts exactly what the
;; import returned. The tests' logic is in Rust; the guest only reaches the
;; filesystem through the component's imports, as a real program does.
(module
  (import "wasi:filesystem/preopens@0.2.12" "get-directories"
    (func $get-directories (param i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.open-at"
    (func $open-at (param i32 i32 i32 i32 i32 i32 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.stat"
    (func $stat (param i32 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.stat-at"
    (func $stat-at (param i32 i32 i32 i32 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.read"
    (func $read (param i32 i64 i64 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.write"
    (func $write (param i32 i32 i32 i64 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.create-directory-at"
    (func $create-directory-at (param i32 i32 i32 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.remove-directory-at"
    (func $remove-directory-at (param i32 i32 i32 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.unlink-file-at"
    (func $unlink-file-at (param i32 i32 i32 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.symlink-at"
    (func $symlink-at (param i32 i32 i32 i32 i32 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.readlink-at"
    (func $readlink-at (param i32 i32 i32 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.rename-at"
    (func $rename-at (param i32 i32 i32 i32 i32 i32 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.link-at"
    (func $link-at (param i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.read-directory"
    (func $read-directory (param i32 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]directory-entry-stream.read-directory-entry"
    (func $read-directory-entry (param i32 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.get-flags"
    (func $get-flags (param i32 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.get-type"
    (func $get-type (param i32 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.set-size"
    (func $set-size (param i32 i64 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.set-times"
    (func $set-times (param i32 i32 i64 i32 i32 i64 i32 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.set-times-at"
    (func $set-times-at (param i32 i32 i32 i32 i32 i64 i32 i32 i64 i32 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.is-same-object"
    (func $is-same-object (param i32 i32) (result i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.metadata-hash"
    (func $metadata-hash (param i32 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.metadata-hash-at"
    (func $metadata-hash-at (param i32 i32 i32 i32 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.sync"
    (func $sync (param i32 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.sync-data"
    (func $sync-data (param i32 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.advise"
    (func $advise (param i32 i64 i64 i32 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.read-via-stream"
    (func $read-via-stream (param i32 i64 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.write-via-stream"
    (func $write-via-stream (param i32 i64 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.append-via-stream"
    (func $append-via-stream (param i32 i32)))
  (import "wasi:filesystem/types@0.2.12" "[resource-drop]descriptor"
    (func $drop-descriptor (param i32)))
  (import "wasi:filesystem/types@0.2.12" "[resource-drop]directory-entry-stream"
    (func $drop-directory-entry-stream (param i32)))

  (memory (export "memory") 2)
  ;; Results go to 16 (up to 104 bytes, 8-aligned); the heap starts at 1024.
  (global $ret i32 (i32.const 16))
  (global $heap (mut i32) (i32.const 1024))

  ;; A bump allocator: never frees, grows the memory as needed.
  (func (export "cabi_realloc") (param $old i32) (param $old-size i32) (param $align i32) (param $size i32) (result i32)
    (local $p i32) (local $end i32)
    (local.set $p
      (i32.and
        (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $p) (local.get $size)))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (if (i32.lt_s
              (memory.grow
                (i32.add (i32.shr_u (i32.sub (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
                                    (i32.const 16))
                         (i32.const 1)))
              (i32.const 0))
          (then unreachable))))
    (global.set $heap (local.get $end))
    (if (local.get $old-size)
      (then (memory.copy (local.get $p) (local.get $old) (local.get $old-size))))
    (local.get $p))

  (func (export "preopens") (result i32)
    (call $get-directories (global.get $ret))
    (global.get $ret))
  (func (export "open-at") (param i32 i32 i32 i32 i32 i32) (result i32)
    (call $open-at (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5)
      (global.get $ret))
    (global.get $ret))
  (func (export "stat") (param i32) (result i32)
    (call $stat (local.get 0) (global.get $ret))
    (global.get $ret))
  (func (export "stat-at") (param i32 i32 i32 i32) (result i32)
    (call $stat-at (local.get 0) (local.get 1) (local.get 2) (local.get 3) (global.get $ret))
    (global.get $ret))
  (func (export "read") (param i32 i64 i64) (result i32)
    (call $read (local.get 0) (local.get 1) (local.get 2) (global.get $ret))
    (global.get $ret))
  (func (export "write") (param i32 i32 i32 i64) (result i32)
    (call $write (local.get 0) (local.get 1) (local.get 2) (local.get 3) (global.get $ret))
    (global.get $ret))
  (func (export "create-directory-at") (param i32 i32 i32) (result i32)
    (call $create-directory-at (local.get 0) (local.get 1) (local.get 2) (global.get $ret))
    (global.get $ret))
  (func (export "remove-directory-at") (param i32 i32 i32) (result i32)
    (call $remove-directory-at (local.get 0) (local.get 1) (local.get 2) (global.get $ret))
    (global.get $ret))
  (func (export "unlink-file-at") (param i32 i32 i32) (result i32)
    (call $unlink-file-at (local.get 0) (local.get 1) (local.get 2) (global.get $ret))
    (global.get $ret))
  (func (export "symlink-at") (param i32 i32 i32 i32 i32) (result i32)
    (call $symlink-at (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)
      (global.get $ret))
    (global.get $ret))
  (func (export "readlink-at") (param i32 i32 i32) (result i32)
    (call $readlink-at (local.get 0) (local.get 1) (local.get 2) (global.get $ret))
    (global.get $ret))
  (func (export "rename-at") (param i32 i32 i32 i32 i32 i32) (result i32)
    (call $rename-at (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)
      (local.get 5) (global.get $ret))
    (global.get $ret))
  (func (export "link-at") (param i32 i32 i32 i32 i32 i32 i32) (result i32)
    (call $link-at (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)
      (local.get 5) (local.get 6) (global.get $ret))
    (global.get $ret))
  (func (export "read-directory") (param i32) (result i32)
    (call $read-directory (local.get 0) (global.get $ret))
    (global.get $ret))
  (func (export "read-directory-entry") (param i32) (result i32)
    (call $read-directory-entry (local.get 0) (global.get $ret))
    (global.get $ret))
  (func (export "get-flags") (param i32) (result i32)
    (call $get-flags (local.get 0) (global.get $ret))
    (global.get $ret))
  (func (export "get-type") (param i32) (result i32)
    (call $get-type (local.get 0) (global.get $ret))
    (global.get $ret))
  (func (export "set-size") (param i32 i64) (result i32)
    (call $set-size (local.get 0) (local.get 1) (global.get $ret))
    (global.get $ret))
  (func (export "set-times") (param i32 i32 i64 i32 i32 i64 i32) (result i32)
    (call $set-times (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)
      (local.get 5) (local.get 6) (global.get $ret))
    (global.get $ret))
  (func (export "set-times-at") (param i32 i32 i32 i32 i32 i64 i32 i32 i64 i32) (result i32)
    (call $set-times-at (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)
      (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (global.get $ret))
    (global.get $ret))
  (func (export "is-same-object") (param i32 i32) (result i32)
    (call $is-same-object (local.get 0) (local.get 1)))
  (func (export "metadata-hash") (param i32) (result i32)
    (call $metadata-hash (local.get 0) (global.get $ret))
    (global.get $ret))
  (func (export "metadata-hash-at") (param i32 i32 i32 i32) (result i32)
    (call $metadata-hash-at (local.get 0) (local.get 1) (local.get 2) (local.get 3) (global.get $ret))
    (global.get $ret))
  (func (export "sync") (param i32) (result i32)
    (call $sync (local.get 0) (global.get $ret))
    (global.get $ret))
  (func (export "sync-data") (param i32) (result i32)
    (call $sync-data (local.get 0) (global.get $ret))
    (global.get $ret))
  (func (export "advise") (param i32 i64 i64 i32) (result i32)
    (call $advise (local.get 0) (local.get 1) (local.get 2) (local.get 3) (global.get $ret))
    (global.get $ret))
  ;; The streams' handles are the guest's; dropped at once (the stream
  ;; functions are `wasi:io`'s, tested where they are implemented).
  (func (export "read-via-stream") (param i32 i64) (result i32)
    (call $read-via-stream (local.get 0) (local.get 1) (global.get $ret))
    (global.get $ret))
  (func (export "write-via-stream") (param i32 i64) (result i32)
    (call $write-via-stream (local.get 0) (local.get 1) (global.get $ret))
    (global.get $ret))
  (func (export "append-via-stream") (param i32) (result i32)
    (call $append-via-stream (local.get 0) (global.get $ret))
    (global.get $ret))
  (func (export "drop-descriptor") (param i32)
    (call $drop-descriptor (local.get 0)))
  (func (export "drop-directory-entry-stream") (param i32)
    (call $drop-directory-entry-stream (local.get 0))))
