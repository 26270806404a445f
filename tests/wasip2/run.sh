#!/usr/bin/env bash
# Rust programs for wasm32-wasip2 (components importing WASI 0.2), run by
# `nyash-engine run` as WASI commands: prog/ is one program whose first
# argument picks what it does (print, arguments, environment, stdin to
# stdout, exit statuses, a panic, sleeping, random bytes, the wall clock,
# 1 MiB to stdout). check.py compares each run's stdout, stderr and exit
# status with what it computes itself, and with wasmtime 50 (PyPI, its
# WASI 0.2) running the same component. The component is built once per
# version of the sources (cached under the target dir by their hash).
# Installs the wasm32-wasip2 target and the PyPI `wasmtime` when missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if ! rustup target list --installed | grep -qx wasm32-wasip2; then
  echo "installing the wasm32-wasip2 target (rustup)"
  rustup target add wasm32-wasip2
fi
if ! python3 -c 'import wasmtime.component' 2>/dev/null; then
  echo "installing wasmtime 50.0.1 (PyPI)"
  python3 -m pip install --quiet "wasmtime==50.0.1"
fi
cd "$root"
cargo build --release -p nyash-cli --bin nyash-engine
target="${CARGO_TARGET_DIR:-$root/target}"
engine="$target/release/nyash-engine"
out="$target/wasip2"
mkdir -p "$out"
key="$(cat "$here/prog/Cargo.toml" "$here/prog/src/main.rs" | sha256sum | cut -c1-16)"
wasm="$out/p2prog-$key.wasm"
if [ ! -f "$wasm" ]; then
  cargo build --release --target wasm32-wasip2 --manifest-path "$here/prog/Cargo.toml" \
    --target-dir "$out/build"
  cp "$out/build/wasm32-wasip2/release/p2prog.wasm" "$wasm"
fi
python3 "$here/check.py" "$engine" "$wasm"
