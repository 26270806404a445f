#!/usr/bin/env bash
# Components made by real toolchains, with no WASI imports, run by
# `nyash-engine run --invoke`: C (calc.c) built by zig's clang and Zig
# (text.zig) built by zig, both for wasm32-freestanding (no libc), each made
# a component of its world (calc.wit, text.wit) by
# wit-component (engine/examples/componentize.rs: what `wasm-tools component
# embed` + `component new` do). check.py calls every case through the
# component, its compiled artifact (`compile`, `run --allow-precompiled`)
# and its bundle, compares the printed WAVE with the values it computes
# itself, and the same calls in wasmtime 50 (PyPI) with the same values.
# And JavaScript (strings.js) made a component by componentize-js with
# every WASI feature off. Installs zig (PyPI `ziglang`, as tests/c/run.sh),
# the PyPI `wasmtime` and componentize-js (npm) when missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
zig_version=0.17.1
if [ "$(python3 -m ziglang version 2>/dev/null)" != "$zig_version" ]; then
  echo "installing ziglang $zig_version (PyPI)"
  python3 -m pip install --quiet "ziglang==$zig_version"
fi
if ! python3 -c 'import wasmtime.component' 2>/dev/null; then
  echo "installing wasmtime 50.0.1 (PyPI)"
  python3 -m pip install --quiet "wasmtime==50.0.1"
fi
cd "$root"
cargo build --release -p nyash-cli --bin nyash-engine
cargo build --release -p nyash-engine --example componentize
target="${CARGO_TARGET_DIR:-$root/target}"
engine="$target/release/nyash-engine"
componentize="$target/release/examples/componentize"
out="$target/components-toolchain"
rm -rf "$out"; mkdir -p "$out"

python3 -m ziglang cc --target=wasm32-freestanding -O2 -nostdlib \
  -Wl,--no-entry -Wl,--export-dynamic -o "$out/calc.core.wasm" "$here/calc.c"
"$componentize" "$out/calc.core.wasm" "$here/calc.wit" "$out/calc.wasm"

python3 -m ziglang build-exe -target wasm32-freestanding -O ReleaseSmall -fno-entry -rdynamic \
  --cache-dir "$out/zig-cache" -femit-bin="$out/text.core.wasm" "$here/text.zig"
"$componentize" "$out/text.core.wasm" "$here/text.wit" "$out/text.wasm"

# JavaScript: componentize-js (StarlingMonkey) with every WASI feature
# disabled makes a component that imports nothing (12 MB: the JS engine is
# inside). Cached under the target dir by the sources' hash; skipped
# without npm.
cjs_version=0.23.0
cjs_dir="$target/componentize-js-$cjs_version"
if command -v npm >/dev/null && command -v node >/dev/null; then
  if [ ! -d "$cjs_dir/node_modules/@bytecodealliance/componentize-js" ]; then
    echo "installing componentize-js $cjs_version (npm)"
    npm install --no-save --no-package-lock --prefix "$cjs_dir" \
      "@bytecodealliance/componentize-js@$cjs_version" > /dev/null
  fi
  cp "$here/componentize.mjs" "$cjs_dir/"
  key="$(cat "$here/strings.js" "$here/strings-wit/strings.wit" "$here/componentize.mjs" | sha256sum | cut -c1-16)"
  cached="$cjs_dir/strings-$key.wasm"
  if [ ! -f "$cached" ]; then
    (cd "$cjs_dir" && node componentize.mjs "$here/strings.js" "$here/strings-wit" strings "$cached.tmp")
    mv "$cached.tmp" "$cached"
  fi
  cp "$cached" "$out/strings.wasm"
else
  echo "components-toolchain: no npm/node; skipping the componentize-js component"
fi

python3 "$here/check.py" "$engine" "$out"
