#!/usr/bin/env bash
# Runs the official WASI test suite (wasip1: C, AssemblyScript, Rust) against
# nyash-engine with the runner in ../shared/wasi-testsuite: first the
# modules as they are (WASI preview 1), then each made a WASI 0.2 component
# with the standard preview-1 adapter (nyash_engine_p2.py), which exercises
# our WASI 0.2 host through the same tests (p2-adapted.toml lists the 4
# tests the adapter itself fails, in wasmtime too).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
suite="${WASI_TESTSUITE:-$root/../shared/wasi-testsuite}"
if [ ! -d "$suite/tests" ]; then
  echo "wasi-testsuite: $suite not present; skipping the WASI test suite"
  exit 0
fi
cargo build --release -p nyash-cli --bin nyash-engine
cargo build --release -p nyash-engine --example componentize
target="${CARGO_TARGET_DIR:-$root/target}"
adapter="$(bash "$root/tests/wasi-adapter.sh")"
python3 -c "import colorama, requests" 2>/dev/null || python3 -m pip install --quiet -r "$suite/test-runner/requirements/common.txt"
cd "$suite"
NYASH_ENGINE="${CARGO_TARGET_DIR:-$root/target}/release/nyash-engine" python3 test-runner/wasi_test_runner.py \
  -t tests/c/testsuite/wasm32-wasip1 tests/assemblyscript/testsuite/wasm32-wasip1 \
     tests/rust/testsuite/wasm32-wasip1 \
  -r "$here/nyash_engine.py" "$@"
NYASH_ENGINE="$target/release/nyash-engine" NYASH_COMPONENTIZE="$target/release/examples/componentize" \
NYASH_P1_ADAPTER="$adapter" NYASH_P2_CACHE="$target/wasi-testsuite-p2" \
  python3 test-runner/wasi_test_runner.py \
  -t tests/c/testsuite/wasm32-wasip1 tests/assemblyscript/testsuite/wasm32-wasip1 \
     tests/rust/testsuite/wasm32-wasip1 \
  -r "$here/nyash_engine_p2.py" -e "$here/p2-adapted.toml" "$@"
