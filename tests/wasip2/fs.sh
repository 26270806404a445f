#!/usr/bin/env bash
# WASI 0.2's filesystem end to end: fs/ is a Rust program using std::fs
# (directories, files written, read, appended, seeked, truncated, 3 MB in
# one call, metadata, renames, copies, listings, symlinks, hard links,
# removals, the error kinds of the usual failures). It is built natively
# and for wasm32-wasip2 (a component importing wasi:filesystem, wasi:io,
# wasi:cli), and run in a fresh scratch directory natively, by
# `nyash-engine run --dir .::/`, and by wasmtime 50 (the PyPI package's
# WASI 0.2, the directory preopened as `/`); the three outputs and exit
# statuses must be the same. Installs the wasm32-wasip2 target and the
# PyPI `wasmtime` when missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  echo "installing the wasm32-wasip2 target (rustup)"
  rustup target add wasm32-wasip2
fi
if ! python3 -c 'import wasmtime.component' 2>/dev/null; then
  echo "installing wasmtime 50.0.1 (PyPI)"
  python3 -m pip install --quiet "wasmtime==50.0.1"
fi
cd "$root"
cargo build --release -p nyash-cli --bin nyash-engine
engine="$target/release/nyash-engine"
manifest="$here/fs/Cargo.toml"
cargo build --quiet --release --target wasm32-wasip2 --manifest-path "$manifest" --target-dir "$target/wasip2-fs"
cargo build --quiet --release --manifest-path "$manifest" --target-dir "$target/wasip2-fs"
wasm="$target/wasip2-fs/wasm32-wasip2/release/wasip2-fs.wasm"
native="$target/wasip2-fs/release/wasip2-fs"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/native" "$out/nyash" "$out/wasmtime"
set +e
(cd "$out/native" && "$native") > "$out/native.txt" 2>&1; echo "status $?" >> "$out/native.txt"
(cd "$out/nyash" && "$engine" run --dir .::/ "$wasm") > "$out/nyash.txt" 2>&1; echo "status $?" >> "$out/nyash.txt"
python3 - "$wasm" "$out/wasmtime" > "$out/wasmtime.txt" 2>&1 <<'PY'
import os, sys, tempfile
import wasmtime
import wasmtime.component as C
wasm, d = sys.argv[1], sys.argv[2]
engine = wasmtime.Engine()
linker = C.Linker(engine)
linker.add_wasip2()
cfg = wasmtime.WasiConfig()
cfg.argv = ['wasip2-fs.wasm']
cfg.preopen_dir(d, '/')
outp = os.path.join(tempfile.mkdtemp(), 'out')
cfg.stdout_file = outp
cfg.stderr_file = outp
store = wasmtime.Store(engine)
store.set_wasi(cfg)
inst = linker.instantiate(store, C.Component.from_file(engine, wasm))
iface = inst.get_export_index(store, 'wasi:cli/run@0.2.0')
run = inst.get_func(store, inst.get_export_index(store, 'run', iface))
try:
    status = 0 if run(store).tag == 'ok' else 1
except wasmtime.ExitTrap as e:
    status = e.code
sys.stdout.write(open(outp).read())
print(f'status {status}')
PY
set -e
fail=0
for other in nyash wasmtime; do
  if cmp -s "$out/native.txt" "$out/$other.txt"; then
    echo "ok   wasip2 fs: $other = native ($(wc -l < "$out/native.txt") lines)"
  else
    fail=1
    echo "FAIL wasip2 fs: $other differs from native"
    diff "$out/native.txt" "$out/$other.txt" | head -40 || true
  fi
done
exit "$fail"
