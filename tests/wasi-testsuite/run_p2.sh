#!/usr/bin/env bash
# The official WASI test suite's wasip1 tests (C, AssemblyScript, Rust) run
# as WASI 0.2 components: each module wrapped with the standard preview-1
# adapter (jco new --wasi-command, npm's @bytecodealliance/jco, installed
# under the target dir when missing), so files, directories, stdio, clocks
# and exits go through wasi:filesystem, wasi:io and wasi:cli
# (nyash_engine_p2.py). Same runner and tests as run.sh; the four that
# fail as adapted components in wasmtime 50 too (the adapter's args/env
# assertion, WASI 0.2's exit status 1 for any failure) are expected to
# fail (p2_expectations.toml).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
suite="${WASI_TESTSUITE:-$root/../shared/wasi-testsuite}"
if [ ! -d "$suite/tests" ]; then
  echo "wasi-testsuite: $suite not present; skipping the WASI test suite (as components)"
  exit 0
fi
target="${CARGO_TARGET_DIR:-$root/target}"
jco_version=1.35.0
jco_dir="$target/jco-$jco_version"
if [ ! -x "$jco_dir/node_modules/.bin/jco" ]; then
  if ! command -v npm >/dev/null; then
    echo "wasi-testsuite (as components): npm not present; skipping"
    exit 0
  fi
  echo "installing jco $jco_version (npm)"
  npm install --no-save --no-package-lock --prefix "$jco_dir" "@bytecodealliance/jco@$jco_version" > /dev/null
fi
cargo build --release -p nyash-cli --bin nyash-engine
python3 -c "import colorama, requests" 2>/dev/null || python3 -m pip install --quiet -r "$suite/test-runner/requirements/common.txt"
cd "$suite"
JCO="$jco_dir/node_modules/.bin/jco" NYASH_P2_CACHE="$target/wasi-testsuite-p2" \
NYASH_ENGINE="$target/release/nyash-engine" python3 test-runner/wasi_test_runner.py \
  -t tests/c/testsuite/wasm32-wasip1 tests/assemblyscript/testsuite/wasm32-wasip1 \
     tests/rust/testsuite/wasm32-wasip1 \
  -r "$here/nyash_engine_p2.py" -e "$here/p2_expectations.toml" "$@"
