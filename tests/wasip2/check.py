"""Runs the wasip2 program (first argument: nyash-engine, second: the
component) in every mode with `nyash-engine run` (and, for a few, its
compiled artifact with --allow-precompiled) and checks stdout, stderr and
the exit status against what this script computes; then runs the same
cases in wasmtime 50 (the PyPI package's WASI 0.2) and checks it gives the
same. A trap is status 'trap' (nyash-engine: a non-zero exit whose stderr
says `wasm trap`)."""

import os
import random
import subprocess
import sys
import tempfile
import time

LINE = bytes(ord('a') + i % 26 for i in range(63)) + b'\n'
BIG = LINE * ((1 << 20) // 64)
BINARY = bytes(random.Random(7).randrange(256) for _ in range(100_000))
TEXT = 'first line\nsecond, with é and ü\n\nlast without newline'


def upper(text):
    lines = text.split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    out = ''.join(f'{i + 1}: {l.upper()}\n' for i, l in enumerate(lines))
    err = f'{len(lines)} lines, {sum(len(l.encode()) for l in lines)} bytes\n'
    return out.encode(), err.encode()


def cases():
    """(name, args, env, stdin, check(stdout, stderr, status, seconds) -> error or None)."""
    def exact(out, status=0, err=b''):
        def check(o, e, s, _t):
            if s != status:
                return f'status {s}, expected {status}; stderr {e[:300]!r}'
            if o != out:
                return f'stdout {o[:200]!r}... ({len(o)} bytes), expected {out[:200]!r}... ({len(out)} bytes)'
            if err is not None and e != err:
                return f'stderr {e[:300]!r}, expected {err!r}'
            return None
        return check

    def trap_with(text):
        def check(o, e, s, _t):
            if s != 'trap':
                return f'status {s}, expected a trap'
            if text.encode() not in e:
                return f'stderr {e[:300]!r} lacks {text!r}'
            return None
        return check

    def slept(ms):
        def check(o, e, s, t):
            want = f'slept at least {ms} ms: true\n'.encode()
            if (o, s) != (want, 0):
                return f'stdout {o!r} status {s}'
            if t < ms / 1000:
                return f'took {t:.3f} s, less than {ms} ms'
            return None
        return check

    def wall_clock(o, e, s, _t):
        if s != 0:
            return f'status {s}'
        got, now = int(o), time.time()
        return None if abs(got - now) < 10 else f'{got} is not about {now:.0f}'

    up_out, up_err = upper(TEXT)
    env = {'GREETING': 'hello world', 'EMPTY': '', 'UNICODE': 'żółw'}
    return [
        ('hello', ['hello'], {}, b'', exact(b'hello from wasip2\n')),
        ('args', ['args', 'one', 'two words', 'ünï', ''], {}, b'',
         exact(b'arg one\narg two words\narg \xc3\xbcn\xc3\xaf\narg \n')),
        ('env', ['env'], env, b'',
         exact(''.join(f'{k}={v}\n' for k, v in sorted(env.items())).encode())),
        ('no env', ['env'], {}, b'', exact(b'')),
        ('echo binary', ['echo'], {}, BINARY, exact(BINARY)),
        ('echo nothing', ['echo'], {}, b'', exact(b'')),
        ('upper', ['upper'], {}, TEXT.encode(), exact(up_out, err=up_err)),
        ('exit 0', ['exit', '0'], {}, b'', exact(b'exiting with 0')),
        # Rust's std::process::exit goes through wasi-libc's exit, which
        # calls wasi:cli/exit's `exit(err)` for any non-zero status: 1.
        ('exit 3', ['exit', '3'], {}, b'', exact(b'exiting with 3', status=1)),
        ('panic', ['panic'], {}, b'', trap_with('this program panics on purpose')),
        ('sleep', ['sleep', '200'], {}, b'', slept(200)),
        ('random', ['random', '4096'], {}, b'', exact(b'4096 4096 differ: true\n')),
        ('time', ['time'], {}, b'', wall_clock),
        ('1 MiB to stdout', ['big'], {}, b'', exact(BIG)),
        ('unknown mode', ['nope'], {}, b'', exact(b'', status=1, err=b'unknown mode nope\n')),
    ]


def run_nyash(engine, wasm, args, env, stdin, precompiled=False, stdin_file=None):
    cmd = [engine, 'run']
    if precompiled:
        cmd.append('--allow-precompiled')
    for k, v in env.items():
        cmd += ['--env', f'{k}={v}']
    cmd += [wasm] + args
    start = time.monotonic()
    if stdin_file is not None:
        with open(stdin_file, 'rb') as f:
            p = subprocess.run(cmd, stdin=f, capture_output=True)
    else:
        p = subprocess.run(cmd, input=stdin, capture_output=True)
    took = time.monotonic() - start
    status = p.returncode
    if status != 0 and b'wasm trap' in p.stderr:
        status = 'trap'
    return p.stdout, p.stderr, status, took


def run_slowly(engine, wasm, args, stdin):
    """`run` with `stdin` written to its pipe a line at a time, 0.1 s apart."""
    start = time.monotonic()
    p = subprocess.Popen([engine, 'run', wasm] + args, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for line in stdin.splitlines(keepends=True):
        p.stdin.write(line)
        p.stdin.flush()
        time.sleep(0.1)
    p.stdin.close()
    out, err = p.stdout.read(), p.stderr.read()
    status = p.wait()
    return out, err, status, time.monotonic() - start


def wasmtime_runner(wasm):
    try:
        import wasmtime
        import wasmtime.component as C
    except ImportError:
        print('wasip2: the PyPI wasmtime package is missing; not comparing with it')
        return None
    engine = wasmtime.Engine()
    component = C.Component.from_file(engine, wasm)
    linker = C.Linker(engine)
    linker.add_wasip2()

    def run(args, env, stdin):
        with tempfile.TemporaryDirectory() as d:
            paths = {n: os.path.join(d, n) for n in ('in', 'out', 'err')}
            with open(paths['in'], 'wb') as f:
                f.write(stdin)
            cfg = wasmtime.WasiConfig()
            cfg.argv = ['p2prog.wasm'] + args
            cfg.env = list(env.items())
            cfg.stdin_file = paths['in']
            cfg.stdout_file = paths['out']
            cfg.stderr_file = paths['err']
            store = wasmtime.Store(engine)
            store.set_wasi(cfg)
            inst = linker.instantiate(store, component)
            iface = inst.get_export_index(store, 'wasi:cli/run@0.2.0')
            f = inst.get_func(store, inst.get_export_index(store, 'run', iface))
            start = time.monotonic()
            try:
                r = f(store)
                status = 0 if r.tag == 'ok' else 1
            except wasmtime.ExitTrap as e:
                status = e.code
            except wasmtime.WasmtimeError:
                status = 'trap'
            took = time.monotonic() - start
            out = open(paths['out'], 'rb').read()
            err = open(paths['err'], 'rb').read()
            return out, err, status, took
    return run


def main():
    engine, wasm = sys.argv[1], sys.argv[2]
    passed = failed = 0

    def judge(what, check, result):
        nonlocal passed, failed
        problem = check(*result)
        if problem:
            failed += 1
            print(f'FAIL {what}: {problem}')
        else:
            passed += 1

    with tempfile.TemporaryDirectory() as d:
        nwasm = os.path.join(d, 'p2prog.nwasm')
        p = subprocess.run([engine, 'compile', '-o', nwasm, wasm], capture_output=True, text=True)
        if p.returncode != 0:
            failed += 1
            print(f'FAIL compile: {p.stderr.strip()}')
            nwasm = None
        stdin_file = os.path.join(d, 'stdin.txt')
        with open(stdin_file, 'wb') as f:
            f.write(TEXT.encode())
        wasmtime = wasmtime_runner(wasm)
        for name, args, env, stdin, check in cases():
            judge(f'{name} (nyash-engine)', check, run_nyash(engine, wasm, args, env, stdin))
            if nwasm is not None and name in ('hello', 'upper', 'exit 3', '1 MiB to stdout'):
                judge(f'{name} (nyash-engine, artifact)', check,
                      run_nyash(engine, nwasm, args, env, stdin, precompiled=True))
            if wasmtime is not None:
                judge(f'{name} (wasmtime 50)', check, wasmtime(args, env, stdin))
        # Stdin from a file rather than a pipe.
        up_out, up_err = upper(TEXT)
        judge('upper, stdin a file (nyash-engine)',
              lambda o, e, s, t: None if (o, e, s) == (up_out, up_err, 0) else f'{o!r} {e!r} {s}',
              run_nyash(engine, wasm, ['upper'], {}, None, stdin_file=stdin_file))
        # Stdin from a pipe written slowly: each blocking read waits for
        # the next line (an inherited stdin's readiness), none sees an end
        # early.
        judge('upper, stdin written slowly (nyash-engine)',
              lambda o, e, s, t: None if (o, e, s) == (up_out, up_err, 0) and t >= 0.3
              else f'{o!r} {e!r} {s} in {t:.3f} s',
              run_slowly(engine, wasm, ['upper'], TEXT.encode()))
    print(f'wasip2: {passed} passed, {failed} failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
