#!/usr/bin/env bash
# Our own C test programs: each built for wasm32-wasi (Debian's clang-19 +
# wasi-libc) and natively, run both ways, and their output and exit status
# compared. Installs the toolchain when missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if ! command -v clang-19 >/dev/null || [ ! -d /usr/lib/wasm32-wasi ] || ! command -v wasm-ld-19 >/dev/null; then
  echo "installing clang-19, wasi-libc, lld-19, libclang-rt-19-dev-wasm32"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq clang-19 wasi-libc lld-19 libclang-rt-19-dev-wasm32 >/dev/null
fi
cargo build --release -p nyash-cli --bin nyash-engine
engine="$root/target/release/nyash-engine"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
pass=0; fail=0
for src in "$here"/*.c; do
  name="$(basename "$src" .c)"
  clang-19 --target=wasm32-wasi -O2 -o "$out/$name.wasm" "$src"
  cc -O2 -o "$out/$name.native" "$src"
  args=(); input=""
  case "$name" in
    args_env) args=(one "two words" three) ;;
    stdin_exit) input=$'3 4\n5' ;;
  esac
  mkdir -p "$out/w-$name" "$out/n-$name"
  set +e
  wasm_out="$(cd "$out/w-$name" && printf '%s' "$input" | GREETING= "$engine" run --dir .::/ --env GREETING=hi "$out/$name.wasm" "${args[@]}" 2>/dev/null)"; wasm_status=$?
  native_out="$(cd "$out/n-$name" && printf '%s' "$input" | env -i GREETING=hi "$out/$name.native" "${args[@]}" 2>/dev/null)"; native_status=$?
  set -e
  native_out="${native_out//$out\/$name.native/$name.wasm}"
  if [ "$wasm_out" == "$native_out" ] && [ "$wasm_status" == "$native_status" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $name: status wasm $wasm_status native $native_status"
    diff <(echo "$native_out") <(echo "$wasm_out") || true
  fi
done
echo "c-programs: $pass passed, $fail failed"
[ "$fail" = 0 ]
