#!/usr/bin/env python3
"""Generates tests/wast/component/variants-flags.wast."""
import struct

VAR = '(variant (case "a" f32) (case "b" u64) (case "c" u8) (case "d") (case "e" string) (case "f" f64))'
RES = '(result f32 (error u32))'
OPT = '(option f64)'
F1 = '(flags "only")'
F8 = '(flags ' + ' '.join(f'"f{i}"' for i in range(8)) + ')'
F16 = '(flags ' + ' '.join(f'"f{i}"' for i in range(16)) + ')'
F32 = '(flags ' + ' '.join(f'"f{i}"' for i in range(32)) + ')'
EN = '(enum ' + ' '.join(f'"e{i}"' for i in range(300)) + ')'

NAMED = [('var', VAR), ('f1', F1), ('f8', F8), ('f16', F16), ('f32', F32), ('en', EN)]


def f32bits(x):
    return struct.unpack('<I', struct.pack('<f', x))[0]


def f64bits(x):
    return struct.unpack('<Q', struct.pack('<d', x))[0]


def main():
    lift = '(memory (core memory $m "mem")) (realloc (core func $m "realloc"))'
    core = '''(core module $M
      (memory (export "mem") 1)
      (global $next (mut i32) (i32.const 1024))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $r i32)
        (local.set $r (i32.and (i32.add (global.get $next) (i32.const 7)) (i32.const -8)))
        (global.set $next (i32.add (local.get $r) (local.get 3)))
        (local.get $r))
      ;; the joined payload slot as it arrives (a string: 1000 + its length)
      (func (export "var-raw") (param $d i32) (param $p i64) (param $l i32) (result i64)
        (if (result i64) (i32.eq (local.get $d) (i32.const 4))
          (then (i64.extend_i32_u (i32.add (local.get $l) (i32.const 1000))))
          (else (local.get $p))))
      (func (export "var-disc") (param i32 i64 i32) (result i32) (local.get 0))
      (func (export "res-raw") (param i32 i32) (result i64)
        (i64.or (i64.shl (i64.extend_i32_u (local.get 0)) (i64.const 32)) (i64.extend_i32_u (local.get 1))))
      (func (export "opt-raw") (param i32 f64) (result i64)
        (if (result i64) (local.get 0)
          (then (i64.reinterpret_f64 (local.get 1)))
          (else (i64.const -1))))
      (func (export "bits") (param i32) (result i32) (local.get 0))
      ;; a variant written into memory: case k with its payload at offset 8
      (func (export "mk-var") (param $k i32) (result i32)
        (i64.store (i32.const 72) (i64.const 0))
        (i32.store8 (i32.const 64) (local.get $k))
        (block $done
          (if (i32.eqz (local.get $k)) (then (f32.store (i32.const 72) (f32.const 2.25))))
          (if (i32.eq (local.get $k) (i32.const 1)) (then (i64.store (i32.const 72) (i64.const 0x8000000000000001))))
          (if (i32.eq (local.get $k) (i32.const 2)) (then (i32.store8 (i32.const 72) (i32.const 9))))
          (if (i32.eq (local.get $k) (i32.const 4)) (then
            (i32.store (i32.const 96) (i32.const 0x216968)) ;; "hi!"
            (i32.store (i32.const 72) (i32.const 96))
            (i32.store (i32.const 76) (i32.const 3))))
          (if (i32.eq (local.get $k) (i32.const 5)) (then (f64.store (i32.const 72) (f64.const -1e300)))))
        (i32.const 64))
      ;; a result<f32, u32> returned in memory
      (func (export "mk-res") (param $k i32) (result i32)
        (i32.store8 (i32.const 128) (local.get $k))
        (if (local.get $k)
          (then (i32.store (i32.const 132) (i32.const 0xdeadbeef)))
          (else (f32.store (i32.const 132) (f32.const -0.75))))
        (i32.const 128))
      (func (export "mk-flags") (param i32) (result i32) (local.get 0)))'''
    c_types = '\n'.join(f'    (type ${n}\' {d})\n    (export ${n} "{n}" (type ${n}\'))' for n, d in NAMED)
    c_funcs = f'''    (func (export "var-raw") (param "v" $var) (result u64) (canon lift (core func $m "var-raw") {lift}))
    (func (export "var-disc") (param "v" $var) (result u32) (canon lift (core func $m "var-disc") {lift}))
    (func (export "res-raw") (param "r" {RES}) (result u64) (canon lift (core func $m "res-raw")))
    (func (export "opt-raw") (param "o" {OPT}) (result u64) (canon lift (core func $m "opt-raw")))
    (func (export "f1-bits") (param "f" $f1) (result u32) (canon lift (core func $m "bits")))
    (func (export "f8-bits") (param "f" $f8) (result u32) (canon lift (core func $m "bits")))
    (func (export "f16-bits") (param "f" $f16) (result u32) (canon lift (core func $m "bits")))
    (func (export "f32-bits") (param "f" $f32) (result u32) (canon lift (core func $m "bits")))
    (func (export "en-disc") (param "e" $en) (result u32) (canon lift (core func $m "bits")))
    (func (export "mk-var") (param "k" u32) (result $var) (canon lift (core func $m "mk-var") {lift}))
    (func (export "mk-res") (param "k" u32) (result {RES}) (canon lift (core func $m "mk-res") {lift}))
    (func (export "mk-f16") (param "k" u32) (result $f16) (canon lift (core func $m "mk-flags")))
    (func (export "mk-f32") (param "k" u32) (result $f32) (canon lift (core func $m "mk-flags")))
    (func (export "mk-en") (param "k" u32) (result $en) (canon lift (core func $m "mk-flags")))'''
    d_import_types = '\n'.join(f'      (type ${n}\' {d})\n      (export "{n}" (type ${n} (eq ${n}\')))' for n, d in NAMED)
    sigs = [
        ('var-raw', '(param "v" $var) (result u64)', 'i32 i64 i32', 'i64'),
        ('var-disc', '(param "v" $var) (result u32)', 'i32 i64 i32', 'i32'),
        ('res-raw', f'(param "r" {RES}) (result u64)', 'i32 i32', 'i64'),
        ('opt-raw', f'(param "o" {OPT}) (result u64)', 'i32 f64', 'i64'),
        ('f16-bits', '(param "f" $f16) (result u32)', 'i32', 'i32'),
        ('f32-bits', '(param "f" $f32) (result u32)', 'i32', 'i32'),
        ('en-disc', '(param "e" $en) (result u32)', 'i32', 'i32'),
        ('mk-var', '(param "k" u32) (result $var)', 'i32 i32', None),
        ('mk-res', f'(param "k" u32) (result {RES})', 'i32 i32', None),
        ('mk-f32', '(param "k" u32) (result $f32)', 'i32', 'i32'),
    ]
    d_imports = '\n'.join(f'      (export "{n}" (func {s}))' for n, s, _, _ in sigs)
    d_aliases = '\n'.join(f'    (alias export $c "{n}" (type ${n}\'))\n    (export ${n} "{n}" (type ${n}\'))' for n, _ in NAMED)
    d_lowers = '\n'.join(f'    (core func ${n} (canon lower (func $c "{n}") (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))' for n, _, _, _ in sigs)
    d_core_imports = []
    d_core_funcs = []
    for n, s, params, res in sigs:
        ps = params.split()
        if res is None:
            # result in memory: the lowered import takes a return pointer
            d_core_imports.append(f'      (import "" "{n}" (func ${n} (param {params})))')
            args = ' '.join(f'(local.get {i})' for i in range(len(ps) - 1))
            d_core_funcs.append(f'      (func (export "{n}") (param {" ".join(ps[:-1])}) (result i32) (call ${n} {args} (i32.const 16)) (i32.const 16))')
        else:
            d_core_imports.append(f'      (import "" "{n}" (func ${n} (param {params}) (result {res})))')
            args = ' '.join(f'(local.get {i})' for i in range(len(ps)))
            d_core_funcs.append(f'      (func (export "{n}") (param {params}) (result {res}) (call ${n} {args}))')
    d_with = ' '.join(f'(export "{n}" (func ${n}))' for n, _, _, _ in sigs)
    d_lifts = '\n'.join(f'    (func (export "{n}") {s} (canon lift (core func $main "{n}") (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))' for n, s, _, _ in sigs)
    root_types = '\n'.join(f'  (alias export $c "{n}" (type ${n}))\n  (export ${n}-e "{n}" (type ${n}))' for n, _ in NAMED)

    def asc(s):
        for n, _ in NAMED:
            s = s.replace(f'${n})', f'${n}-e)')
        return s
    c_exports = ['var-raw', 'var-disc', 'res-raw', 'opt-raw', 'f1-bits', 'f8-bits', 'f16-bits', 'f32-bits', 'en-disc', 'mk-var', 'mk-res', 'mk-f16', 'mk-f32', 'mk-en']
    c_sig = {
        'var-raw': '(param "v" $var) (result u64)', 'var-disc': '(param "v" $var) (result u32)',
        'res-raw': None, 'opt-raw': None,
        'f1-bits': '(param "f" $f1) (result u32)', 'f8-bits': '(param "f" $f8) (result u32)',
        'f16-bits': '(param "f" $f16) (result u32)', 'f32-bits': '(param "f" $f32) (result u32)',
        'en-disc': '(param "e" $en) (result u32)', 'mk-var': '(param "k" u32) (result $var)', 'mk-res': None,
        'mk-f16': '(param "k" u32) (result $f16)', 'mk-f32': '(param "k" u32) (result $f32)', 'mk-en': '(param "k" u32) (result $en)',
    }
    root = []
    for n in c_exports:
        if c_sig[n]:
            root.append(f'  (export "{n}" (func $c "{n}") (func {asc(c_sig[n])}))')
        else:
            root.append(f'  (export "{n}" (func $c "{n}"))')
    for n, s, _, _ in sigs:
        if '$' in s:
            root.append(f'  (export "d-{n}" (func $d "{n}") (func {asc(s)}))')
        else:
            root.append(f'  (export "d-{n}" (func $d "{n}"))')
    out = [''';; Generated by tools/gen_variants.py; edit that, not this.
;; Variants whose payloads share flat slots, flags of 1, 8, 16 and 32
;; members, an enum of 300 cases, as the callee's core code sees them: the
;; `*-raw` and `*-bits` functions return the flat values they were given
;; (a variant of f32, u64, u8, string and f64 joins them into one i64 slot:
;; an f32 arrives as its bits zero-extended, an f64 as its bits; a
;; result<f32, u32> joins into one i32), and `mk-*` return values written
;; in memory or as flat bits by hand (payload at offset 8 for the variant, 4
;; for the result). Each from the host and through a fused adapter (`d-*`).
''']
    out.append(f'''(component
  (component $C
    {core}
    (core instance $m (instantiate $M))
{c_types}
{c_funcs})
  (component $D
    (import "c" (instance $c
{d_import_types}
{d_imports}))
{d_aliases}
    (core module $Libc
      (memory (export "mem") 1)
      (global $next (mut i32) (i32.const 1024))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $r i32)
        (local.set $r (i32.and (i32.add (global.get $next) (i32.const 7)) (i32.const -8)))
        (global.set $next (i32.add (local.get $r) (local.get 3)))
        (local.get $r)))
    (core instance $libc (instantiate $Libc))
{d_lowers}
    (core module $Main
{chr(10).join(d_core_imports)}
{chr(10).join(d_core_funcs)})
    (core instance $main (instantiate $Main (with "" (instance {d_with}))))
{d_lifts})
  (instance $c (instantiate $C))
  (instance $d (instantiate $D (with "c" (instance $c))))
{root_types}
{chr(10).join(root)}
)''')
    var_cases = [
        ('(variant.const "a" (f32.const 1.5))', f32bits(1.5), 0),
        ('(variant.const "a" (f32.const -0))', f32bits(-0.0), 0),
        ('(variant.const "b" (u64.const 0xffffffffffffffff))', 0xffffffffffffffff, 1),
        ('(variant.const "b" (u64.const 0))', 0, 1),
        ('(variant.const "c" (u8.const 200))', 200, 2),
        ('(variant.const "d")', 0, 3),
        ('(variant.const "e" (str.const "xyz"))', 1003, 4),
        ('(variant.const "e" (str.const ""))', 1000, 4),
        ('(variant.const "f" (f64.const -0.5))', f64bits(-0.5), 5),
        ('(variant.const "f" (f64.const 1e300))', f64bits(1e300), 5),
    ]
    for p in ('', 'd-'):
        for v, raw, disc in var_cases:
            out.append(f'(assert_return (invoke "{p}var-raw" {v}) (u64.const {raw}))')
            out.append(f'(assert_return (invoke "{p}var-disc" {v}) (u32.const {disc}))')
        out.append(f'(assert_return (invoke "{p}res-raw" (result.ok (f32.const -2.5))) (u64.const {f32bits(-2.5)}))')
        out.append(f'(assert_return (invoke "{p}res-raw" (result.err (u32.const 0xfeedface))) (u64.const {(1 << 32) | 0xfeedface}))')
        out.append(f'(assert_return (invoke "{p}opt-raw" (option.some (f64.const 3.25))) (u64.const {f64bits(3.25)}))')
        out.append(f'(assert_return (invoke "{p}opt-raw" (option.none)) (u64.const 0xffffffffffffffff))')
        for fl, bits in [('(flags.const)', 0), ('(flags.const "f0")', 1), ('(flags.const "f15")', 1 << 15),
                         ('(flags.const "f3" "f9" "f15")', (1 << 3) | (1 << 9) | (1 << 15)),
                         ('(flags.const ' + ' '.join(f'"f{i}"' for i in range(16)) + ')', 0xffff)]:
            out.append(f'(assert_return (invoke "{p}f16-bits" {fl}) (u32.const {bits}))')
        for fl, bits in [('(flags.const "f31")', 1 << 31), ('(flags.const "f0" "f16" "f31")', 1 | (1 << 16) | (1 << 31)),
                         ('(flags.const ' + ' '.join(f'"f{i}"' for i in range(32)) + ')', 0xffffffff)]:
            out.append(f'(assert_return (invoke "{p}f32-bits" {fl}) (u32.const {bits}))')
        for e in (0, 1, 255, 256, 299):
            out.append(f'(assert_return (invoke "{p}en-disc" (enum.const "e{e}")) (u32.const {e}))')
        out.append(f'(assert_return (invoke "{p}mk-var" (u32.const 0)) (variant.const "a" (f32.const 2.25)))')
        out.append(f'(assert_return (invoke "{p}mk-var" (u32.const 1)) (variant.const "b" (u64.const 0x8000000000000001)))')
        out.append(f'(assert_return (invoke "{p}mk-var" (u32.const 2)) (variant.const "c" (u8.const 9)))')
        out.append(f'(assert_return (invoke "{p}mk-var" (u32.const 3)) (variant.const "d"))')
        out.append(f'(assert_return (invoke "{p}mk-var" (u32.const 4)) (variant.const "e" (str.const "hi!")))')
        out.append(f'(assert_return (invoke "{p}mk-var" (u32.const 5)) (variant.const "f" (f64.const -1e300)))')
        out.append(f'(assert_return (invoke "{p}mk-res" (u32.const 0)) (result.ok (f32.const -0.75)))')
        out.append(f'(assert_return (invoke "{p}mk-res" (u32.const 1)) (result.err (u32.const 0xdeadbeef)))')
        out.append(f'(assert_return (invoke "{p}mk-f32" (u32.const 0x80000001)) (flags.const "f0" "f31"))')
    out.append('(assert_return (invoke "f1-bits" (flags.const "only")) (u32.const 1))')
    out.append('(assert_return (invoke "f1-bits" (flags.const)) (u32.const 0))')
    out.append('(assert_return (invoke "f8-bits" (flags.const "f7")) (u32.const 128))')
    out.append('(assert_return (invoke "f8-bits" (flags.const "f0" "f1" "f2" "f3" "f4" "f5" "f6" "f7")) (u32.const 255))')
    out.append('(assert_return (invoke "mk-f16" (u32.const 0x8001)) (flags.const "f0" "f15"))')
    out.append('(assert_return (invoke "mk-en" (u32.const 299)) (enum.const "e299"))')
    out.append('(assert_return (invoke "mk-en" (u32.const 0)) (enum.const "e0"))')
    out.append('(assert_trap (invoke "mk-en" (u32.const 300)) "invalid variant discriminant")')
    print('\n'.join(out))
    # A fresh instance for the variant discriminant trap.
    print('''
(component
  (core module $M
    (memory (export "mem") 1)
    (func (export "mk") (param $k i32) (result i32)
      (i32.store8 (i32.const 64) (local.get $k))
      (i32.const 64)))
  (core instance $m (instantiate $M))
  (type $v' (variant (case "a" f32) (case "b" u64) (case "c")))
  (export $v "v" (type $v'))
  (func (export "mk") (param "k" u32) (result $v) (canon lift (core func $m "mk") (memory (core memory $m "mem"))))
)
(assert_return (invoke "mk" (u32.const 2)) (variant.const "c"))
(assert_trap (invoke "mk" (u32.const 3)) "invalid variant discriminant")''')


main()
