#!/usr/bin/env python3
"""Generates tests/wast/component/string-encodings.wast."""
import sys

ENCS = [('utf8', 0), ('utf16', 1), ('latin1+utf16', 2)]
TAG = 1 << 31


def encode(s, mode):
    if mode == 0:
        b = s.encode('utf-8'); return b, len(b)
    if mode == 1:
        b = s.encode('utf-16-le'); return b, len(b) // 2
    if all(ord(c) < 256 for c in s):
        b = s.encode('latin-1'); return b, len(b)
    b = s.encode('utf-16-le'); return b, (len(b) // 2) | TAG


def stat(s, mode):
    b, l = encode(s, mode)
    return (l << 32) | (sum(b) & 0xffffffff)


def lit(s):
    out = []
    for c in s:
        if c == '"' or c == '\\' or ord(c) < 0x20 or ord(c) == 0x7f:
            out.append('\\u{%x}' % ord(c))
        else:
            out.append(c)
    return '"' + ''.join(out) + '"'


REALLOC = '''(func $realloc (export "realloc") (param $old i32) (param $osize i32) (param $align i32) (param $nsize i32) (result i32)
        (local $r i32) (local $end i32)
        ;; every call bumps: a shrink moves too, so a caller that keeps the
        ;; old pointer after a realloc reads stale bytes
        (local.set $r (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get $align))))
        (local.set $end (i32.add (local.get $r) (local.get $nsize)))
        (global.set $next (local.get $end))
        (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
          (then (if (i32.eq (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (i32.mul (memory.size) (i32.const 65536))) (i32.const 65535)) (i32.const 16))) (i32.const -1))
            (then unreachable))))
        (if (local.get $old)
          (then (memory.copy (local.get $r) (local.get $old)
                  (select (local.get $osize) (local.get $nsize) (i32.lt_u (local.get $osize) (local.get $nsize))))
                ;; scribble over the old block so stale reads show
                (memory.fill (local.get $old) (i32.const 0xee) (local.get $osize))))
        (local.get $r))'''

STAT = '''(func $stat (export "stat") (param $p i32) (param $l i32) (result i64)
        (local $n i32) (local $i i32) (local $sum i32)
        (local.set $n (i32.and (local.get $l) (i32.const 0x7fffffff)))
        (if (i32.eq (global.get $mode) (i32.const 1)) (then (local.set $n (i32.shl (local.get $n) (i32.const 1)))))
        (if (i32.and (i32.eq (global.get $mode) (i32.const 2)) (i32.lt_s (local.get $l) (i32.const 0)))
          (then (local.set $n (i32.shl (local.get $n) (i32.const 1)))))
        (block $done (loop $l
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $sum (i32.add (local.get $sum) (i32.load8_u (i32.add (local.get $p) (local.get $i)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l)))
        (i64.or (i64.shl (i64.extend_i32_u (local.get $l)) (i64.const 32)) (i64.extend_i32_u (local.get $sum))))'''


def callee(enc, mode):
    return f'''  (component $C
    (core module $M
      (memory (export "mem") 1)
      (global $next (mut i32) (i32.const 1024))
      (global $mode i32 (i32.const {mode}))
      {REALLOC}
      {STAT}
      (func (export "echo") (param i32 i32) (result i32)
        (i32.store (i32.const 0) (local.get 0))
        (i32.store (i32.const 4) (local.get 1))
        (i32.const 0)))
    (core instance $m (instantiate $M))
    (func (export "echo") (param "s" string) (result string)
      (canon lift (core func $m "echo") string-encoding={enc}
        (memory (core memory $m "mem")) (realloc (core func $m "realloc"))))
    (func (export "stat") (param "s" string) (result u64)
      (canon lift (core func $m "stat") string-encoding={enc}
        (memory (core memory $m "mem")) (realloc (core func $m "realloc")))))'''


def caller(enc, mode):
    opts = f'string-encoding={enc} (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))'
    return f'''  (component $D
    (import "echo" (func $echo (param "s" string) (result string)))
    (import "stat" (func $stat (param "s" string) (result u64)))
    (core module $Libc
      (memory (export "mem") 1)
      (global $next (mut i32) (i32.const 1024))
      (global $mode i32 (i32.const {mode}))
      {REALLOC}
      {STAT})
    (core instance $libc (instantiate $Libc))
    (core func $echo' (canon lower (func $echo) {opts}))
    (core func $stat' (canon lower (func $stat) {opts}))
    (core module $Main
      (import "" "mem" (memory 1))
      (import "" "realloc" (func $realloc (param i32 i32 i32 i32) (result i32)))
      (import "" "local-stat" (func $local-stat (param i32 i32) (result i64)))
      (import "" "echo" (func $echo (param i32 i32 i32)))
      (import "" "stat" (func $stat (param i32 i32) (result i64)))
      (global $mode i32 (i32.const {mode}))
      (global $cp (mut i32) (i32.const 0))
      (global $cl (mut i32) (i32.const 0))
      (func (export "echo") (param i32 i32) (result i32)
        (call $echo (local.get 0) (local.get 1) (i32.const 8))
        (i32.const 8))
      (func (export "stat") (param i32 i32) (result i64)
        (call $stat (local.get 0) (local.get 1)))
      (func (export "echo-stat") (param i32 i32) (result i64)
        (call $echo (local.get 0) (local.get 1) (i32.const 8))
        (call $local-stat (i32.load (i32.const 8)) (i32.load (i32.const 12))))
      ;; s repeated n times, then t, in this component's encoding (a narrow
      ;; latin1 part is widened when the other part is utf16)
      (func $wide (param $l i32) (result i32)
        (i32.or (i32.eq (global.get $mode) (i32.const 1))
                (i32.and (i32.eq (global.get $mode) (i32.const 2)) (i32.lt_s (local.get $l) (i32.const 0)))))
      (func $put (param $dst i32) (param $p i32) (param $l i32) (param $outwide i32) (result i32)
        (local $n i32) (local $i i32)
        (local.set $n (i32.and (local.get $l) (i32.const 0x7fffffff)))
        (if (i32.eq (call $wide (local.get $l)) (local.get $outwide))
          (then
            (memory.copy (local.get $dst) (local.get $p)
              (i32.shl (local.get $n) (local.get $outwide)))
            (return (i32.add (local.get $dst) (i32.shl (local.get $n) (local.get $outwide))))))
        (block $done (loop $l
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (i32.store16 (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 1)))
            (i32.load8_u (i32.add (local.get $p) (local.get $i))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l)))
        (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 1))))
      (func $cat (param $sp i32) (param $sl i32) (param $n i32) (param $tp i32) (param $tl i32)
        (local $outwide i32) (local $units i32) (local $dst i32) (local $q i32)
        (local.set $outwide (i32.or (call $wide (local.get $sl)) (call $wide (local.get $tl))))
        (local.set $units (i32.add
          (i32.mul (i32.and (local.get $sl) (i32.const 0x7fffffff)) (local.get $n))
          (i32.and (local.get $tl) (i32.const 0x7fffffff))))
        (local.set $dst (call $realloc (i32.const 0) (i32.const 0) (i32.const 2)
          (i32.shl (local.get $units) (local.get $outwide))))
        (local.set $q (local.get $dst))
        (block $done (loop $l
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $q (call $put (local.get $q) (local.get $sp) (local.get $sl) (local.get $outwide)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $l)))
        (drop (call $put (local.get $q) (local.get $tp) (local.get $tl) (local.get $outwide)))
        (global.set $cp (local.get $dst))
        (global.set $cl (i32.or (local.get $units)
          (select (i32.const 0x80000000) (i32.const 0)
            (i32.and (local.get $outwide) (i32.eq (global.get $mode) (i32.const 2)))))))
      (func (export "cat-stat") (param i32 i32 i32 i32 i32) (result i64)
        (call $cat (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4))
        (call $stat (global.get $cp) (global.get $cl)))
      (func (export "cat-echo-stat") (param i32 i32 i32 i32 i32) (result i64)
        (call $cat (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4))
        (call $echo (global.get $cp) (global.get $cl) (i32.const 8))
        (call $local-stat (i32.load (i32.const 8)) (i32.load (i32.const 12)))))
    (core instance $main (instantiate $Main (with "" (instance
      (export "mem" (memory $libc "mem"))
      (export "realloc" (func $libc "realloc"))
      (export "local-stat" (func $libc "stat"))
      (export "echo" (func $echo'))
      (export "stat" (func $stat'))))))
    (func (export "echo") (param "s" string) (result string)
      (canon lift (core func $main "echo") {opts}))
    (func (export "stat") (param "s" string) (result u64)
      (canon lift (core func $main "stat") {opts}))
    (func (export "echo-stat") (param "s" string) (result u64)
      (canon lift (core func $main "echo-stat") {opts}))
    (func (export "cat-stat") (param "s" string) (param "n" u32) (param "t" string) (result u64)
      (canon lift (core func $main "cat-stat") {opts}))
    (func (export "cat-echo-stat") (param "s" string) (param "n" u32) (param "t" string) (result u64)
      (canon lift (core func $main "cat-echo-stat") {opts})))'''


SHORT = ['', 'hello', 'café ÿ\u00a0\u00d7', '\u2603\u03a9\u20ac\uffff', '\U0001f370\U0001d11e\U0010ffff',
         'a\u00e9\u2603\U0001f370', '\u0000\u007f\u0080\u07ff\u0800\ud7ff\ue000', 'Ünïcödé ☃ 🍰 end']
LONG = [('x', 5000, ''), ('\u00e9', 3000, ''), ('a', 4000, '\U0001f370'), ('\u00ff', 3000, '\u2603'),
        ('\u2603', 2000, ''), ('\U0001f370', 1500, 'z'), ('ab\u00e9', 1000, '\u20ac\U0001d11e'),
        ('\u2603', 1, 'a' * 50)]


def main():
    out = [''';; Generated by tools/gen_strings.py; edit that, not this.
;; Every pair of string encodings (utf8, utf16, latin1+utf16) on the two
;; sides of a component-to-component call through a fused adapter: the
;; caller `$D` lowers `echo` and `stat` with its encoding, the callee `$C`
;; lifts them with its own. Strings of ASCII, Latin-1, BMP and astral
;; characters, empty strings, and long ones (built in the caller: `s`
;; repeated `n` times, then `t`) that make the transcoder grow and shrink its
;; allocation (utf8 -> utf16 allocates one unit per byte and shrinks; utf8
;; or utf16 -> latin1+utf16 starts as latin1 and widens on the first
;; character past U+00FF, however late).
;;
;; `stat` returns, for the string as the callee received it, its length in
;; the callee's encoding (code units; latin1+utf16 with bit 31 set when
;; utf16) in the high 32 bits and the sum of its bytes in the low 32, so
;; the exact transcoded bytes are checked; `echo-stat` is the same for the
;; string `echo` returned, as the caller received it back. Both realloc
;; functions move every block (a shrink too) and scribble over the old one,
;; so an engine that kept a stale pointer reads garbage.
''']
    for e1, m1 in ENCS:
        for e2, m2 in ENCS:
            out.append(f'\n;; caller {e1}, callee {e2}\n(component\n{callee(e2, m2)}\n{caller(e1, m1)}')
            out.append('''  (instance $c (instantiate $C))
  (instance $d (instantiate $D (with "echo" (func $c "echo")) (with "stat" (func $c "stat"))))
  (export "echo" (func $d "echo"))
  (export "stat" (func $d "stat"))
  (export "echo-stat" (func $d "echo-stat"))
  (export "cat-stat" (func $d "cat-stat"))
  (export "cat-echo-stat" (func $d "cat-echo-stat"))
)''')
            for s in SHORT:
                out.append(f'(assert_return (invoke "echo" (str.const {lit(s)})) (str.const {lit(s)}))')
                out.append(f'(assert_return (invoke "stat" (str.const {lit(s)})) (u64.const {stat(s, m2)}))')
                out.append(f'(assert_return (invoke "echo-stat" (str.const {lit(s)})) (u64.const {stat(s, m1)}))')
            for s, n, t in LONG:
                whole = s * n + t
                args = f'(str.const {lit(s)}) (u32.const {n}) (str.const {lit(t)})'
                out.append(f'(assert_return (invoke "cat-stat" {args}) (u64.const {stat(whole, m2)}))')
                out.append(f'(assert_return (invoke "cat-echo-stat" {args}) (u64.const {stat(whole, m1)}))')
    print('\n'.join(out))


main()
