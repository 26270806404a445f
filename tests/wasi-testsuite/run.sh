#!/usr/bin/env bash
# Runs the official WASI test suite (wasip1: C, AssemblyScript, Rust) against
# nyash-engine with the runner in ../shared/wasi-testsuite.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
suite="${WASI_TESTSUITE:-$root/../shared/wasi-testsuite}"
if [ ! -d "$suite/tests" ]; then
  echo "wasi-testsuite: $suite not present; skipping the WASI test suite"
  exit 0
fi
cargo build --release -p nyash-cli --bin nyash-engine
python3 -c "import colorama, requests" 2>/dev/null || python3 -m pip install --quiet -r "$suite/test-runner/requirements/common.txt"
cd "$suite"
NYASH_ENGINE="${CARGO_TARGET_DIR:-$root/target}/release/nyash-engine" python3 test-runner/wasi_test_runner.py \
  -t tests/c/testsuite/wasm32-wasip1 tests/assemblyscript/testsuite/wasm32-wasip1 \
     tests/rust/testsuite/wasm32-wasip1 \
  -r "$here/nyash_engine.py" "$@"
