#!/usr/bin/env python3
"""Generates tests/wast/component/list-shapes.wast."""

# (name, type definition or None when structural, type expression, values)
REC20_FIELDS = [('a', 'u8'), ('b', 'u64'), ('c', 'bool'), ('d', 'string'), ('e', 's16'), ('f', 'f32'),
                ('g', 'char'), ('h', 'f64'), ('i', 's8'), ('j', '(list u8)'), ('k', 'u32'), ('l', 's64'),
                ('m', '(option u16)'), ('n', 'u16'), ('o', '(tuple u8 string)'), ('p', 's32'),
                ('q', '(result u8 (error u32))'), ('r', 'bool'), ('s', 'f32'), ('t', 'u8')]


def rec20_val(k):
    vals = {
        'a': f'u8.const {k % 256}', 'b': f'u64.const {0xfedcba9876543210 ^ k}', 'c': f'bool.const {"true" if k % 2 else "false"}',
        'd': f'str.const "row {k} ☃"', 'e': f's16.const {-1000 - k}', 'f': f'f32.const {k}.5', 'g': 'char.const "🍰"' if k % 2 else 'char.const "x"',
        'h': f'f64.const -{k}.25', 'i': f's8.const {-k}', 'j': 'list.const ' + ' '.join(f'(u8.const {x})' for x in range(k % 5)),
        'k': f'u32.const {4000000000 + k}', 'l': f's64.const {-(1 << 40) - k}',
        'm': 'option.none' if k % 3 == 0 else f'option.some (u16.const {k * 7})', 'n': f'u16.const {65535 - k}',
        'o': f'tuple.const (u8.const {k}) (str.const "t{k}")', 'p': f's32.const {-2147483648 + k}',
        'q': f'result.ok (u8.const {k})' if k % 2 else f'result.err (u32.const {k * 1000})', 'r': 'bool.const true',
        's': 'f32.const -0' if k == 0 else 'f32.const inf', 't': f'u8.const {255 - k}',
    }
    return '(record.const ' + ' '.join(f'(field "{n}" {vals[n]})' for n, _ in REC20_FIELDS) + ')'


TYPES = [
    ('point', '(record (field "x" s32) (field "y" f64) (field "name" string) (field "tag" u8))', [
        [],
        ['(record.const (field "x" s32.const -1) (field "y" f64.const 2.5) (field "name" str.const "a") (field "tag" u8.const 9))'],
        ['(record.const (field "x" s32.const %d) (field "y" f64.const -%d.125) (field "name" str.const "p%d ö") (field "tag" u8.const %d))' % (i, i, i, i) for i in range(40)],
    ]),
    ('rec20', '(record ' + ' '.join(f'(field "{n}" {t})' for n, t in REC20_FIELDS) + ')', [
        [rec20_val(0)],
        [rec20_val(k) for k in range(1, 8)],
    ]),
    ('nested', None, '(list (list u16))', [
        [],
        ['(list.const)'],
        ['(list.const (list.const (u16.const 1)) (list.const) (list.const (u16.const 2) (u16.const 3) (u16.const 65535)))'],
        ['(list.const (list.const ' + ' '.join(f'(u16.const {j})' for j in range(i)) + ') (list.const (u16.const %d)))' % i for i in range(12)],
    ]),
    ('deep', None, '(list (list string))', [
        ['(list.const (list.const (str.const "a") (str.const "") (str.const "☃")) (list.const))', '(list.const)', '(list.const (list.const (str.const "🍰")))'],
    ]),
    ('opt', None, '(option (list u32))', [
        ['(option.none)', '(option.some (list.const))', '(option.some (list.const (u32.const 1) (u32.const 4294967295)))', '(option.none)'],
    ]),
    ('res', None, '(result (list u8) (error (list string)))', [
        ['(result.ok (list.const (u8.const 1) (u8.const 2)))', '(result.err (list.const (str.const "e1") (str.const "e2")))',
         '(result.ok (list.const))', '(result.err (list.const))'],
    ]),
    ('optopt', None, '(option (option u8))', [
        ['(option.none)', '(option.some (option.none))', '(option.some (option.some (u8.const 0)))', '(option.some (option.some (u8.const 255)))'],
    ]),
    ('var', '(variant (case "a" f32) (case "b" u64) (case "c" u8) (case "d") (case "e" string) (case "f" (tuple f64 u8)))', [
        ['(variant.const "a" (f32.const 1.5))', '(variant.const "b" (u64.const 0xffffffffffffffff))', '(variant.const "c" (u8.const 200))',
         '(variant.const "d")', '(variant.const "e" (str.const "ε"))', '(variant.const "f" (tuple.const (f64.const -0.5) (u8.const 1)))',
         '(variant.const "a" (f32.const -inf))', '(variant.const "b" (u64.const 0))'],
    ]),
    ('flags1', '(flags "only")', [
        ['(flags.const)', '(flags.const "only")', '(flags.const)'],
    ]),
    ('flags8', '(flags ' + ' '.join(f'"f{i}"' for i in range(8)) + ')', [
        ['(flags.const "f0" "f7")', '(flags.const)', '(flags.const ' + ' '.join(f'"f{i}"' for i in range(8)) + ')'],
    ]),
    ('flags16', '(flags ' + ' '.join(f'"f{i}"' for i in range(16)) + ')', [
        ['(flags.const "f0" "f15")', '(flags.const "f8")', '(flags.const ' + ' '.join(f'"f{i}"' for i in range(16)) + ')'],
    ]),
    ('flags32', '(flags ' + ' '.join(f'"f{i}"' for i in range(32)) + ')', [
        ['(flags.const "f0" "f31")', '(flags.const "f16" "f24")', '(flags.const ' + ' '.join(f'"f{i}"' for i in range(32)) + ')'],
    ]),
    ('tup', None, '(tuple u8 u64 f32 char bool)', [
        ['(tuple.const (u8.const 1) (u64.const 2) (f32.const 3.5) (char.const "\\u{10ffff}") (bool.const true))',
         '(tuple.const (u8.const 255) (u64.const 0) (f32.const -0) (char.const "\\u{0}") (bool.const false))'],
    ]),
    ('color', '(enum "red" "green" "blue")', [
        ['(enum.const "blue")', '(enum.const "red")', '(enum.const "green")'],
    ]),
]


STRIDES = {'flags1': 1, 'flags8': 1, 'flags16': 2, 'flags32': 4, 'tup': 32, 'color': 1, 'optopt': 3}
STRIDE_VAL = {'flags1': '(flags.const "only")', 'flags8': '(flags.const "f1")', 'flags16': '(flags.const "f9")', 'flags32': '(flags.const "f30")',
              'tup': '(tuple.const (u8.const 1) (u64.const 2) (f32.const 3.5) (char.const "a") (bool.const true))',
              'color': '(enum.const "green")', 'optopt': '(option.some (option.none))'}


def norm(t):
    if len(t) == 3:
        name, defn, vals = t
        return name, defn, None, vals
    name, defn, texpr, vals = t
    return name, None, texpr, vals


REALLOC = '''(global $next (mut i32) (i32.const 1024))
      (func (export "realloc") (param $old i32) (param $osize i32) (param $align i32) (param $nsize i32) (result i32)
        (local $r i32) (local $end i32)
        (local.set $r (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get $align))))
        (local.set $end (i32.add (local.get $r) (local.get $nsize)))
        (global.set $next (local.get $end))
        (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
          (then (if (i32.eq (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (i32.mul (memory.size) (i32.const 65536))) (i32.const 65535)) (i32.const 16))) (i32.const -1))
            (then unreachable))))
        (if (local.get $old)
          (then (memory.copy (local.get $r) (local.get $old)
                  (select (local.get $osize) (local.get $nsize) (i32.lt_u (local.get $osize) (local.get $nsize))))))
        (local.get $r))'''


def main():
    types = [norm(t) for t in TYPES]
    out = [''';; Generated by tools/gen_shapes.py; edit that, not this.
;; Lists of every shape, echoed through a fused adapter: `$D` lowers `echo-T:
;; func(x: list<T>) -> list<T>` into `$C`, which lifts it and returns the
;; list it was given, so every value is lowered by the host into D's memory,
;; copied by the adapter into C's (with C's realloc), read back out of C and
;; written into D's, and lifted by the host. T: a record with padding, a
;; record of 20 fields of every kind, nested lists, options and results of
;; lists, a nested option, a variant whose payloads share slots (f32, u64,
;; u8, string, a tuple), flags of 1, 8, 16 and 32 members, a tuple, an enum.
;; `direct-T` calls C's export from the host; `stride-T` returns the byte
;; distance from element 0 to element 1 as C sees it (the size C's
;; memory layout gives T).
''']
    c_types, d_types, c_funcs, d_imports, d_core_imports, d_core_funcs, d_exports, d_with = [], [], [], [], [], [], [], []
    root_exports = []
    d_core_imps = []
    for name, defn, texpr, _ in types:
        if defn is not None:
            c_types.append(f'    (type ${name}\' {defn})\n    (export ${name} "{name}" (type ${name}\'))')
            d_imports.append(f'      (type ${name}\' {defn})\n      (export "{name}" (type ${name} (eq ${name}\')))')
            d_types.append(f'    (alias export $c "{name}" (type ${name}\'))\n    (export ${name} "{name}" (type ${name}\'))')
            t = f'${name}'
        else:
            t = texpr
        c_funcs.append(f'''    (func (export "echo-{name}") (param "x" (list {t})) (result (list {t}))
      (canon lift (core func $m "echo") (memory (core memory $m "mem")) (realloc (core func $m "realloc"))))
    (func (export "stride-{name}") (param "x" (list {t})) (result u32)
      (canon lift (core func $m "stride") (memory (core memory $m "mem")) (realloc (core func $m "realloc"))))''')
        d_imports.append(f'      (export "echo-{name}" (func (param "x" (list {t})) (result (list {t}))))')
        d_core_imports.append(f'(core func $echo-{name} (canon lower (func $c "echo-{name}") (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))')
        d_with.append(f'(export "echo-{name}" (func $echo-{name}))')
        d_core_imps.append(f'''      (import "" "echo-{name}" (func $echo-{name} (param i32 i32 i32)))''')
        d_core_funcs.append(f'''      (func (export "echo-{name}") (param i32 i32) (result i32)
        (call $echo-{name} (local.get 0) (local.get 1) (i32.const 8)) (i32.const 8))''')
        d_exports.append(f'''    (func (export "echo-{name}") (param "x" (list {t})) (result (list {t}))
      (canon lift (core func $main "echo-{name}") (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))''')
        if defn is not None:
            root_exports.append(f'  (alias export $d "{name}" (type ${name}))\n  (export ${name}-e "{name}" (type ${name}))')
            root_exports.append(f'  (export "echo-{name}" (func $d "echo-{name}") (func (param "x" (list ${name}-e)) (result (list ${name}-e))))')
        else:
            root_exports.append(f'  (export "echo-{name}" (func $d "echo-{name}"))')
        if defn is None:
            root_exports.append(f'  (export "direct-{name}" (func $c "echo-{name}"))')
        if name in STRIDES:
            if defn is not None:
                root_exports.append(f'  (export "stride-{name}" (func $c "stride-{name}") (func (param "x" (list ${name}-e)) (result u32)))')
            else:
                root_exports.append(f'  (export "stride-{name}" (func $c "stride-{name}"))')
    imports_txt = '\n'.join(d_imports)
    out.append(f'''(component
  (component $C
    (core module $M
      (memory (export "mem") 1)
      {REALLOC}
      (func (export "echo") (param i32 i32) (result i32)
        (i32.store (i32.const 0) (local.get 0))
        (i32.store (i32.const 4) (local.get 1))
        (i32.const 0))
      (func (export "stride") (param i32 i32) (result i32)
        (i32.div_u (i32.sub (global.get $next) (local.get 0)) (local.get 1))))
    (core instance $m (instantiate $M))
{chr(10).join(c_types)}
{chr(10).join(c_funcs)})
  (component $D
    (import "c" (instance $c
{imports_txt}))
{chr(10).join(d_types)}
    (core module $Libc
      (memory (export "mem") 1)
      {REALLOC})
    (core instance $libc (instantiate $Libc))
    {(chr(10) + '    ').join(d_core_imports)}
    (core module $Main
{chr(10).join(d_core_imps)}
{chr(10).join(d_core_funcs)})
    (core instance $main (instantiate $Main (with "" (instance
      {(chr(10) + '      ').join(d_with)}))))
{chr(10).join(d_exports)})
  (instance $c (instantiate $C))
  (instance $d (instantiate $D (with "c" (instance $c))))
{chr(10).join(root_exports)}
)''')
    for name, defn, texpr, valsets in types:
        for vals in valsets:
            lst = '(list.const ' + ' '.join(vals) + ')'
            out.append(f'(assert_return (invoke "echo-{name}" {lst}) {lst})')
            if defn is None:
                out.append(f'(assert_return (invoke "direct-{name}" {lst}) {lst})')
    for name, size in STRIDES.items():
        for n in (1, 3):
            vals = [v for _, _, _, vs in types if _ is not None for v in []]
            out.append(f'(assert_return (invoke "stride-{name}" (list.const ' + ' '.join([STRIDE_VAL[name]] * n) + f')) (u32.const {size}))')
    print('\n'.join(out))


main()
