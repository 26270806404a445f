#!/usr/bin/env python3
"""Checks the components tests/components/run.sh built from real toolchains:
`python3 check.py ENGINE DIR`. For each call of CASES: the result printed by
`ENGINE run --invoke CALL` (WAVE) must equal the WAVE form of what this
script computes itself, for the component, its compiled artifact (`compile`
then `run --allow-precompiled`) and its bundle (the call as the bundle's
first argument); and, when the PyPI `wasmtime` package (checked with 50.0.1)
can be imported, wasmtime's result for the same call must equal the same
value. Prints `components-toolchain: N passed, M failed` and exits 1 on any
failure.
"""
import math, os, re, subprocess, sys
from decimal import Decimal


def f64(x):
    """WAVE's float form (wasm-wave prints Rust's `Display`): the shortest
    round-trip digits, never an exponent, integral values without a
    fraction."""
    if math.isnan(x): return 'nan'
    if math.isinf(x): return 'inf' if x > 0 else '-inf'
    t = format(Decimal(repr(x)), 'f')
    if '.' in t: t = t.rstrip('0').rstrip('.')
    return t


def s(x):
    return '"' + x.replace('\\', '\\\\').replace('"', '\\"') + '"'


def fib(n):
    a, b = 0, 1
    for _ in range(n): a, b = b, (a + b) % 2**64
    return a


def rev_words(t):
    return ' '.join(reversed(t.split()))


def stats(xs):
    if not xs: return 'none', None
    total = 0.0
    for x in xs: total += x
    return ('some({count: %d, sum: %s, min: %s, max: %s})' % (len(xs), f64(total), f64(min(xs)), f64(max(xs))),
            (len(xs), total, min(xs), max(xs)))


def div(a, b):
    if b == 0: return 'err("division by zero")', ('err', 'division by zero')
    if a == -2**31 and b == -1: return 'err("overflow")', ('err', 'overflow')
    q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)  # C truncates
    return 'ok(%d)' % q, ('ok', q)


def list_wave(xs, f=str):
    return '[' + ', '.join(f(x) for x in xs) + ']'


# (the WAVE call, its export and arguments for wasmtime, the expected WAVE
# result, the expected value in wasmtime-py's terms).
def calc_cases():
    out = []
    for a, b in [(48, 18), (0, 7), (2**64 - 1, 2**32 - 1), (1071, 462), (17, 0)]:
        g = math.gcd(a, b)
        out.append((f'gcd({a}, {b})', 'gcd', [a, b], str(g), g))
    for n in [0, 1, 2, 10, 50, 93, 94, 200]:
        out.append((f'fib({n})', 'fib', [n], str(fib(n)), fib(n)))
    for t in ['', 'Hello World', 'AEIOU aeiou xyz', 'rhythm', 'Ünïcödé straße ao']:
        c = sum(1 for ch in t.encode() if chr(ch | 0x20) in 'aeiou')
        out.append((f'count-vowels({s(t)})', 'count-vowels', [t], str(c), c))
    for t in ['', 'one', '  the quick  brown fox ', 'a b c d e', 'héllo wörld 🍰 x']:
        r = rev_words(t)
        out.append((f'reverse-words({s(t)})', 'reverse-words', [t], s(r), r))
    for xs in [[], [1, -2, 3], [2**31 - 1] * 4, [-2**31] * 3, list(range(-500, 1000))]:
        v = sum(xs)
        out.append((f'sum({list_wave(xs)})', 'sum', [xs], str(v), v))
    for xs in [[], [1.5, -2.0, 8.25], [0.1, 0.2, 0.3], [1e300, 1e300, -5e-324], [42.0]]:
        w, v = stats(xs)
        out.append((f'stats({list_wave(xs, f64)})', 'stats', [xs], w, v))
    for a, b in [(7, -2), (-7, 2), (1, 0), (-2**31, -1), (-2**31, 1), (100, 7)]:
        w, v = div(a, b)
        out.append((f'checked-div({a}, {b})', 'checked-div', [a, b], w, v))
    return out


def parse_int(t):
    body = t[1:] if t.startswith('-') else t
    if not body or not all('0' <= c <= '9' for c in body): return None
    v = int(t)
    return v if -2**63 <= v < 2**63 else None


def caesar(t, k):
    def rot(c):
        for base in ('a', 'A'):
            if base <= c <= chr(ord(base) + 25):
                return chr(ord(base) + (ord(c) - ord(base) + k) % 26)
        return c
    return ''.join(rot(c) for c in t)


def text_cases():
    out = []
    for t in ['', 'héllo World', 'MiXeD 123 ~', '🍰 cake']:
        r = ''.join(c.upper() if c.isascii() else c for c in t)
        out.append((f'upper({s(t)})', 'upper', [t], s(r), r))
    for t in ['', '   ', '  a bb  ccc ', 'one', 'naïve café 🍰']:
        r = [len(w.encode()) for w in t.split(' ') if w]
        out.append((f'word-lengths({s(t)})', 'word-lengths', [t], list_wave(r), r))
    for t in ['0', '-42', '9223372036854775807', '-9223372036854775808', '9223372036854775808',
              '', '-', '+5', '1_000', '12a', '007']:
        v = parse_int(t)
        out.append((f'parse-int({s(t)})', 'parse-int', [t], 'none' if v is None else f'some({v})', v))
    for xs in [[], [3, 1, 3, 255], list(range(256)) * 3, [0] * 1000]:
        h = sorted((b, xs.count(b)) for b in set(xs))
        out.append((f'histogram({list_wave(xs)})', 'histogram', [bytes(xs)],
                    list_wave(h, lambda p: f'({p[0]}, {p[1]})'), h))
    for t, k in [('Hello, Zz!', -27), ('abc XYZ', 3), ('', 100), ('ünï', 127), ('Rot', -128)]:
        r = caesar(t, k)
        out.append((f'caesar({s(t)}, {k})', 'caesar', [t, k], s(r), r))
    return out


def strings_cases():
    out = []
    for a, b in [(48, 18), (0, 0), (4294967295, 65535), (1071, 462)]:
        g = math.gcd(a, b)
        out.append((f'gcd({a}, {b})', 'gcd', [a, b], str(g), g))
    for t in ['', '  the quick  brown fox ', 'naïve 🍰 café']:
        r = rev_words(t)
        out.append((f'reverse-words({s(t)})', 'reverse-words', [t], s(r), r))
    # Non-negative sums only: componentize-js 0.23.0 traps (`unreachable`,
    # in wasmtime too) returning any negative s64 from a BigInt.
    for xs in [[], [1, -2, 2147483647, 2147483647], [-2**31, 2**31 - 1, 1] * 3]:
        v = sum(xs)
        out.append((f'sum({list_wave(xs)})', 'sum', [xs], str(v), v))
    for t in ['', 'hello wide world', 'x-ray e.g. über', 'ALREADY up']:
        r = re.sub(r'\b([a-z])', lambda m: m.group(1).upper(), t, flags=re.ASCII)
        out.append((f'title-case({s(t)})', 'title-case', [t], s(r), r))
    return out


COMPONENTS = {'calc': calc_cases, 'text': text_cases, 'strings': strings_cases}


def from_wasmtime(name, r):
    """wasmtime-py's result in this script's terms."""
    if name == 'stats':
        if r is None: return None
        return (r.count, r.sum, r.min, r.max)
    if name == 'checked-div':
        # wasmtime-py gives a result's payload untagged: a str is the err.
        return ('err', r) if isinstance(r, str) else ('ok', r)
    if name == 'histogram':
        return [tuple(p) for p in r]
    return r


def main():
    engine, d = sys.argv[1], sys.argv[2]
    passed = failed = 0
    try:
        import wasmtime
        import wasmtime.component as C
    except ImportError:
        wasmtime = None
        print('components-toolchain: the PyPI wasmtime package is missing; not comparing with it')

    def run(args):
        p = subprocess.run(args, capture_output=True, text=True)
        return (p.stdout.strip() if p.returncode == 0 else f'exit {p.returncode}: {p.stderr.strip()}')

    for comp, cases in COMPONENTS.items():
        wasm = os.path.join(d, comp + '.wasm')
        if comp == 'strings' and not os.path.exists(wasm):
            continue  # run.sh says why (no npm)
        nwasm = os.path.join(d, comp + '.nwasm')
        app = os.path.join(d, comp + '.bundle')
        for args in ([engine, 'compile', '-o', nwasm, wasm], [engine, 'bundle', '-o', app, wasm]):
            p = subprocess.run(args, capture_output=True, text=True)
            if p.returncode != 0:
                print(f'FAIL {" ".join(args)}: {p.stderr.strip()}')
                failed += 1
        if wasmtime is not None:
            eng = wasmtime.Engine()
            component = C.Component.from_file(eng, wasm)
            linker = C.Linker(eng)
        for call, name, args, want, value in cases():
            got = {
                'component': run([engine, 'run', '--invoke', call, wasm]),
                'artifact': run([engine, 'run', '--allow-precompiled', '--invoke', call, nwasm]),
                'bundle': run([app, call]),
            }
            if wasmtime is not None:
                store = wasmtime.Store(eng)
                inst = linker.instantiate(store, component)
                f = inst.get_func(store, name)
                try:
                    r = from_wasmtime(name, f(store, *args))
                    f.post_return(store)
                except Exception as e:
                    r = f'error: {e}'
                got['wasmtime 50'] = r
            bad = [f'{k}: {v!r}' for k, v in got.items()
                   if (v != value if k == 'wasmtime 50' else v != want)]
            if bad:
                failed += 1
                print(f'FAIL {comp}: {call} must be {want}; ' + '; '.join(bad))
            else:
                passed += 1
    print(f'components-toolchain: {passed} passed, {failed} failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
