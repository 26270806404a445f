;; The core module of `p2_http.rs`'s test handler: a wasi:http/proxy
;; component written by hand, reaching the host only through its
;; wasi:http/types and wasi:io/streams imports. What it does depends on
;; the request's method:
;;
;; - GET: 200 with `x-handler: wat` and the body "hello from wat\n";
;; - POST: 200 echoing the request's body (read 4 KiB at a time with
;;   blocking-read, written back with blocking-write-and-flush);
;; - PUT: traps (unreachable) before setting a response;
;; - DELETE: returns without setting a response;
;; - PATCH: sets the response to the error code HTTP-response-incomplete;
;; - OPTIONS: loops forever (for the per-request limits);
;; - HEAD: tries to add a `connection` header (forbidden) and a header to
;;   the request's (immutable) headers; answers 200 with the two
;;   header-error discriminants as the header `x-errors: F,I`.
(module
  (import "wasi:http/types@0.2.12" "[constructor]fields" (func $fields.new (result i32)))
  (import "wasi:http/types@0.2.12" "[method]fields.append"
    (func $fields.append (param i32 i32 i32 i32 i32 i32)))
  (import "wasi:http/types@0.2.12" "[resource-drop]fields" (func $fields.drop (param i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-request.method"
    (func $req.method (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-request.headers"
    (func $req.headers (param i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-request.consume"
    (func $req.consume (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[resource-drop]incoming-request"
    (func $req.drop (param i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-body.stream"
    (func $ibody.stream (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[resource-drop]incoming-body"
    (func $ibody.drop (param i32)))
  (import "wasi:http/types@0.2.12" "[constructor]outgoing-response"
    (func $resp.new (param i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]outgoing-response.body"
    (func $resp.body (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[method]outgoing-body.write"
    (func $obody.write (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[static]outgoing-body.finish"
    (func $obody.finish (param i32 i32 i32 i32)))
  (import "wasi:http/types@0.2.12" "[static]response-outparam.set"
    (func $out.set (param i32 i32 i32 i32 i64 i32 i32 i32 i32)))
  (import "wasi:io/streams@0.2.12" "[method]input-stream.blocking-read"
    (func $in.blocking-read (param i32 i64 i32)))
  (import "wasi:io/streams@0.2.12" "[resource-drop]input-stream"
    (func $in.drop (param i32)))
  (import "wasi:io/streams@0.2.12" "[method]output-stream.blocking-write-and-flush"
    (func $out.write (param i32 i32 i32 i32)))
  (import "wasi:io/streams@0.2.12" "[resource-drop]output-stream"
    (func $out.drop (param i32)))

  (memory (export "memory") 2)
  ;; 0..64: results of imports; 64..: constant strings; 1024..: header
  ;; text built at run time; 65536..: where cabi_realloc puts lists the
  ;; host returns (one at a time: each is used before the next call).
  (data (i32.const 64) "hello from wat\n")      ;; 15 bytes
  (data (i32.const 80) "x-handler")              ;; 9
  (data (i32.const 96) "wat")                    ;; 3
  (data (i32.const 112) "connection")            ;; 10
  (data (i32.const 128) "close")                 ;; 5
  (data (i32.const 144) "x-errors")              ;; 8

  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (i32.const 65536))

  ;; A new 200 response with `fields` as its headers, set on `out`; its
  ;; body's output stream (the body's handle is stored at 48).
  (func $respond (param $out i32) (param $fields i32) (result i32)
    (local $resp i32) (local $body i32)
    (local.set $resp (call $resp.new (local.get $fields)))
    (call $resp.body (local.get $resp) (i32.const 0))
    (if (i32.load8_u (i32.const 0)) (then unreachable))
    (local.set $body (i32.load (i32.const 4)))
    (i32.store (i32.const 48) (local.get $body))
    (call $out.set (local.get $out) (i32.const 0) (local.get $resp)
      (i32.const 0) (i64.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
    (call $obody.write (local.get $body) (i32.const 0))
    (if (i32.load8_u (i32.const 0)) (then unreachable))
    (i32.load (i32.const 4)))

  ;; Drops the output stream `s` and finishes the body stored at 48.
  (func $finish (param $s i32)
    (call $out.drop (local.get $s))
    (call $obody.finish (i32.load (i32.const 48)) (i32.const 0) (i32.const 0) (i32.const 0))
    (if (i32.load8_u (i32.const 0)) (then unreachable)))

  (func (export "wasi:http/incoming-handler@0.2.12#handle") (param $req i32) (param $out i32)
    (local $m i32) (local $f i32) (local $s i32) (local $body i32) (local $in i32)
    (local $len i32) (local $h i32) (local $e1 i32) (local $e2 i32)
    (call $req.method (local.get $req) (i32.const 0))
    (local.set $m (i32.load8_u (i32.const 0)))
    ;; GET
    (if (i32.eqz (local.get $m)) (then
      (local.set $f (call $fields.new))
      (call $fields.append (local.get $f) (i32.const 80) (i32.const 9) (i32.const 96) (i32.const 3) (i32.const 0))
      (if (i32.load8_u (i32.const 0)) (then unreachable))
      (local.set $s (call $respond (local.get $out) (local.get $f)))
      (call $out.write (local.get $s) (i32.const 64) (i32.const 15) (i32.const 0))
      (if (i32.load8_u (i32.const 0)) (then unreachable))
      (call $finish (local.get $s))
      (call $req.drop (local.get $req))
      (return)))
    ;; POST: echo
    (if (i32.eq (local.get $m) (i32.const 2)) (then
      (call $req.consume (local.get $req) (i32.const 0))
      (if (i32.load8_u (i32.const 0)) (then unreachable))
      (local.set $body (i32.load (i32.const 4)))
      (call $ibody.stream (local.get $body) (i32.const 0))
      (if (i32.load8_u (i32.const 0)) (then unreachable))
      (local.set $in (i32.load (i32.const 4)))
      (local.set $s (call $respond (local.get $out) (call $fields.new)))
      (block $done
        (loop $copy
          (call $in.blocking-read (local.get $in) (i64.const 4096) (i32.const 0))
          ;; err (closed at the end) stops the copy
          (br_if $done (i32.load8_u (i32.const 0)))
          (local.set $len (i32.load (i32.const 8)))
          (if (local.get $len) (then
            (call $out.write (local.get $s) (i32.load (i32.const 4)) (local.get $len) (i32.const 16))
            (if (i32.load8_u (i32.const 16)) (then unreachable))))
          (br $copy)))
      (call $in.drop (local.get $in))
      (call $ibody.drop (local.get $body))
      (call $finish (local.get $s))
      (call $req.drop (local.get $req))
      (return)))
    ;; PUT: trap
    (if (i32.eq (local.get $m) (i32.const 3)) (then unreachable))
    ;; DELETE: no response
    (if (i32.eq (local.get $m) (i32.const 4)) (then (return)))
    ;; PATCH: an error code
    (if (i32.eq (local.get $m) (i32.const 8)) (then
      (call $out.set (local.get $out) (i32.const 1) (i32.const 25)
        (i32.const 0) (i64.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
      (return)))
    ;; OPTIONS: forever
    (if (i32.eq (local.get $m) (i32.const 6)) (then (loop $forever (br $forever))))
    ;; HEAD: header errors
    (if (i32.eq (local.get $m) (i32.const 1)) (then
      (local.set $f (call $fields.new))
      (call $fields.append (local.get $f) (i32.const 112) (i32.const 10) (i32.const 128) (i32.const 5) (i32.const 0))
      ;; result<_, header-error>: 1 and the case (1 = forbidden)
      (local.set $e1 (i32.add (i32.const 48) (i32.load8_u (i32.const 1))))
      (local.set $h (call $req.headers (local.get $req)))
      (call $fields.append (local.get $h) (i32.const 80) (i32.const 9) (i32.const 96) (i32.const 3) (i32.const 0))
      (local.set $e2 (i32.add (i32.const 48) (i32.load8_u (i32.const 1))))
      (call $fields.drop (local.get $h))
      (i32.store8 (i32.const 1024) (local.get $e1))
      (i32.store8 (i32.const 1025) (i32.const 44))
      (i32.store8 (i32.const 1026) (local.get $e2))
      (call $fields.append (local.get $f) (i32.const 144) (i32.const 8) (i32.const 1024) (i32.const 3) (i32.const 0))
      (if (i32.load8_u (i32.const 0)) (then unreachable))
      (local.set $s (call $respond (local.get $out) (local.get $f)))
      (call $finish (local.get $s))
      (call $req.drop (local.get $req))
      (return)))
    unreachable)
)
