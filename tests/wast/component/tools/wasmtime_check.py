#!/usr/bin/env python3
"""Runs component .wast scripts against wasmtime (the PyPI `wasmtime` package,
checked with 50.0.1) as a reference: `python3 wasmtime_check.py FILE...`.
Prints one line per directive wasmtime disagrees with and a summary per file.
Each top-level component instance gets its own store (wasmtime closes a whole
store after a trap). Not part of the test run: the spec test runs the scripts
on our engine; this is how they were checked against another engine.

Supports: (component ...), (component definition $X ...), (component instance $x $X),
(assert_return (invoke ...) v?), (assert_trap (invoke|component ...) "msg"),
(invoke ...), (assert_invalid|assert_malformed|assert_unlinkable (component ...) "msg").
Prints one line per directive that disagrees with the script.
"""
import sys, math, struct
import wasmtime
import wasmtime.component as C


def tokenize(src):
    i, n = 0, len(src)
    toks = []
    while i < n:
        c = src[i]
        if c in ' \t\r\n':
            i += 1
        elif src.startswith(';;', i):
            j = src.find('\n', i)
            i = n if j < 0 else j
        elif src.startswith('(;', i):
            depth = 0
            while i < n:
                if src.startswith('(;', i):
                    depth += 1; i += 2
                elif src.startswith(';)', i):
                    depth -= 1; i += 2
                    if depth == 0:
                        break
                else:
                    i += 1
        elif c == '(' or c == ')':
            toks.append((c, i)); i += 1
        elif c == '"':
            j = i + 1
            while src[j] != '"':
                j += 2 if src[j] == '\\' else 1
            toks.append(('str', i, src[i:j + 1])); i = j + 1
        else:
            j = i
            while j < n and src[j] not in ' \t\r\n()"':
                j += 1
            toks.append(('atom', i, src[i:j])); i = j
    return toks


def parse(src):
    toks = tokenize(src)
    pos = 0

    def one():
        nonlocal pos
        t = toks[pos]
        if t[0] == '(':
            start = t[1]
            pos += 1
            items = []
            while toks[pos][0] != ')':
                items.append(one())
            end = toks[pos][1] + 1
            pos += 1
            return ('list', items, start, end)
        pos += 1
        return t
    out = []
    while pos < len(toks):
        out.append(one())
    return out


def unescape(s):
    s = s[1:-1]
    b = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c != '\\':
            b += c.encode('utf-8'); i += 1; continue
        d = s[i + 1]
        if d == 'n': b += b'\n'; i += 2
        elif d == 't': b += b'\t'; i += 2
        elif d == 'r': b += b'\r'; i += 2
        elif d in '"\'\\': b += d.encode(); i += 2
        elif d == 'u':
            j = s.index('}', i)
            b += chr(int(s[i + 3:j], 16)).encode('utf-8'); i = j + 1
        else:
            b.append(int(s[i + 1:i + 3], 16)); i += 3
    return bytes(b)


def head(x):
    return x[1][0][2] if x[0] == 'list' and x[1] and x[1][0][0] == 'atom' else None


def num(a):
    a = a.replace('_', '')
    return int(a, 0) if not a.startswith('-') else -int(a[1:], 0)


def fnum(a, bits):
    a = a.replace('_', '')
    if 'nan' in a:
        return float('nan')
    if 'inf' in a:
        return float('-inf') if a.startswith('-') else float('inf')
    if a.lstrip('-+').startswith('0x'):
        v = float.fromhex(a)
    else:
        v = float(a)
    if bits == 32:
        v = struct.unpack('<f', struct.pack('<f', v))[0]
    return v


def wval(x):
    """A wast component value as a normalized python value."""
    h = head(x)
    args = x[1][1:]
    if h == 'bool.const': return args[0][2] == 'true'
    if h in ('u8.const', 's8.const', 'u16.const', 's16.const', 'u32.const', 's32.const', 'u64.const', 's64.const'):
        return num(args[0][2])
    if h == 'f32.const': return fnum(args[0][2], 32)
    if h == 'f64.const': return fnum(args[0][2], 64)
    if h in ('char.const', 'str.const'): return unescape(args[0][2]).decode('utf-8')
    if h == 'list.const': return ['L'] + [wval(a) for a in args]
    if h == 'tuple.const': return tuple(wval(a) for a in args)
    if h == 'record.const':
        return {'R': [(unescape(f[1][1][2]).decode(), wval(f[1][2]) if f[1][2][0] == 'list' else wval(('list', f[1][2:], 0, 0))) for f in args]}
    if h == 'variant.const':
        return ('V', unescape(args[0][2]).decode(), wval(args[1]) if len(args) > 1 else None)
    if h == 'enum.const': return ('E', unescape(args[0][2]).decode())
    if h == 'option.none': return ('V', 'none', None)
    if h == 'option.some': return ('V', 'some', wval(args[0]))
    if h == 'result.ok': return ('V', 'ok', wval(args[0]) if args else None)
    if h == 'result.err': return ('V', 'err', wval(args[0]) if args else None)
    if h == 'flags.const': return ('F', frozenset(unescape(a[2]).decode() for a in args))
    raise Exception(f'value {h}')


def to_py(v, ty):
    """Normalized value -> python wasmtime value of type ty."""
    if isinstance(ty, C.ListType):
        if isinstance(ty.element, C.U8):
            return bytes(v[1:])
        return [to_py(e, ty.element) for e in v[1:]]
    if isinstance(ty, C.TupleType):
        return tuple(to_py(e, t) for e, t in zip(v, ty.elements))
    if isinstance(ty, C.RecordType):
        r = C.Record()
        for (name, fv), (fname, ft) in zip(v['R'], ty.fields):
            setattr(r, fname, to_py(fv, ft))
        return r
    if isinstance(ty, C.EnumType):
        return v[1]
    if isinstance(ty, C.FlagsType):
        return set(v[1])
    if isinstance(ty, (C.VariantType, C.OptionType, C.ResultType)):
        cases = ty._cases()
        tag, payload = v[1], v[2]
        pty = dict(cases)[tag]
        p = to_py(payload, pty) if pty is not None else None
        if ty._tagged():
            return C.Variant(tag, p)
        return p
    return v


def from_py(v, ty):
    if isinstance(ty, C.ListType):
        if isinstance(v, bytes):
            return ['L'] + list(v)
        return ['L'] + [from_py(e, ty.element) for e in v]
    if isinstance(ty, C.TupleType):
        return tuple(from_py(e, t) for e, t in zip(v, ty.elements))
    if isinstance(ty, C.RecordType):
        return {'R': [(n, from_py(getattr(v, n), t)) for n, t in ty.fields]}
    if isinstance(ty, C.EnumType):
        return ('E', v)
    if isinstance(ty, C.FlagsType):
        return ('F', frozenset(v))
    if isinstance(ty, (C.VariantType, C.OptionType, C.ResultType)):
        cases = ty._cases()
        if ty._tagged() or isinstance(v, C.Variant):
            return ('V', v.tag, from_py(v.payload, dict(cases)[v.tag]) if dict(cases)[v.tag] is not None else None)
        # untagged: find the case by python type
        for name, t in cases:
            if t is None:
                if v is None:
                    return ('V', name, None)
                continue
            s = set(); t.add_classes(s)
            if isinstance(v, tuple(s)):
                return ('V', name, from_py(v, t))
        raise Exception(f'cannot classify {v!r}')
    return v


def same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or struct.pack('<d', a) == struct.pack('<d', b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) == type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return same(a['R'], b['R'])
    return a == b


class Runner:
    def __init__(self, path):
        self.path = path
        self.src = open(path).read()
        cfg = wasmtime.Config()
        cfg.wasm_component_model = True
        self.engine = wasmtime.Engine(cfg)
        self.store = wasmtime.Store(self.engine)
        self.linker = C.Linker(self.engine)
        self.defs = {}
        self.insts = {}
        self.cur = None
        self.bad = 0
        self.ok = 0

    def line(self, x):
        return self.src.count('\n', 0, x[2]) + 1

    def comp_text(self, x):
        # drop `definition` and the $name so wasmtime sees a plain component
        items = x[1]
        text = self.src[x[2]:x[3]]
        name = None
        rest = 1
        if len(items) > 1 and items[1][0] == 'atom' and items[1][2] == 'definition':
            rest = 2
        if len(items) > rest and items[rest][0] == 'atom' and items[rest][2].startswith('$'):
            name = items[rest][2]
            rest += 1
        start = items[rest][1] if items[rest][0] != 'list' else items[rest][2]
        return name, '(component ' + self.src[start:x[3]]

    def compile(self, x):
        name, text = self.comp_text(x)
        return name, C.Component(self.engine, text)

    def fail(self, x, msg):
        self.bad += 1
        print(f'{self.path}:{self.line(x)}: {msg}')

    def invoke(self, x):
        items = x[1][1:]
        inst = self.cur
        if items[0][0] == 'atom':
            inst = self.insts[items[0][2]]
            items = items[1:]
        name = unescape(items[0][2]).decode()
        inst, store = inst
        f = inst.get_func(store, name)
        if f is None:
            raise Exception(f'no export {name}')
        ty = f.type(store)
        params = ty.params
        args = [to_py(wval(a), t) for a, (_, t) in zip(items[1:], params)]
        r = f(store, *args)
        try:
            f.post_return(store)
        except Exception as e:
            if 'post_return' not in str(e) and 'post-return' not in str(e):
                raise
        return r, ty.result

    def run(self):
        for x in parse(self.src):
            h = head(x)
            try:
                self.directive(x, h)
            except Exception as e:
                self.fail(x, f'{h}: harness error {type(e).__name__}: {e}')
        print(f'{self.path}: wasmtime {self.ok} passed, {self.bad} failed')
        return self.bad

    def directive(self, x, h):
        items = x[1]
        if h == 'component':
            if len(items) > 1 and items[1][0] == 'atom' and items[1][2] == 'instance':
                iname, dname = items[2][2], items[3][2]
                self.store = wasmtime.Store(self.engine)
                self.cur = (self.linker.instantiate(self.store, self.defs[dname]), self.store)
                self.insts[iname] = self.cur
                self.ok += 1
                return
            try:
                name, c = self.compile(x)
            except Exception as e:
                return self.fail(x, f'compile: {e}')
            if name:
                self.defs[name] = c
            if len(items) > 1 and items[1][0] == 'atom' and items[1][2] == 'definition':
                self.ok += 1
                return
            try:
                self.store = wasmtime.Store(self.engine)
                self.cur = (self.linker.instantiate(self.store, c), self.store)
            except Exception as e:
                return self.fail(x, f'instantiate: {e}')
            if name:
                self.insts[name] = self.cur
            self.ok += 1
        elif h == 'assert_return':
            try:
                r, rty = self.invoke(items[1])
            except Exception as e:
                return self.fail(x, f'trapped: {str(e).splitlines()[0]}')
            if len(items) > 2:
                want = wval(items[2])
                got = from_py(r, rty)
                if not same(got, want):
                    return self.fail(x, f'got {got!r}, want {want!r}')
            self.ok += 1
        elif h == 'invoke':
            self.invoke(x)
            self.ok += 1
        elif h == 'assert_trap':
            msg = unescape(items[2][2]).decode()
            try:
                if head(items[1]) == 'invoke':
                    self.invoke(items[1])
                else:
                    _, c = self.compile(items[1])
                    self.linker.instantiate(wasmtime.Store(self.engine), c)
            except Exception as e:
                text = str(e)
                if msg in text:
                    self.ok += 1
                else:
                    self.fail(x, f'trap message differs: want {msg!r}, got {text.splitlines()[0]!r} ... {text.splitlines()[-1] if len(text.splitlines())>1 else ""!r}')
                return
            self.fail(x, f'no trap (want {msg!r})')
        elif h in ('assert_invalid', 'assert_malformed'):
            try:
                self.compile(items[1])
            except Exception:
                self.ok += 1
                return
            self.fail(x, f'{h}: compiled')
        elif h == 'assert_unlinkable':
            try:
                _, c = self.compile(items[1])
                self.linker.instantiate(wasmtime.Store(self.engine), c)
            except Exception:
                self.ok += 1
                return
            self.fail(x, 'linked')
        elif h == 'module':
            pass
        else:
            self.fail(x, f'unsupported directive {h}')


if __name__ == '__main__':
    bad = 0
    for p in sys.argv[1:]:
        bad += Runner(p).run()
    sys.exit(1 if bad else 0)
