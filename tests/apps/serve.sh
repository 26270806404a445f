#!/usr/bin/env bash
# `nyash-engine serve` with a real wasi:http/proxy handler no one here
# compiled by hand: tests/apps/serve/handler.js made a component with
# componentize-js 0.23.0 (StarlingMonkey, ~13 MB; its fetch event), served
# on 127.0.0.1 (port 0) and exercised with curl: GET hello, a request
# header read back, a 1 MiB POST echoed byte for byte, 20 requests at once,
# then Ctrl-C (SIGINT) ending the server cleanly. The trap / no-response /
# timeout cases are in cli/tests/serve.rs (a hand-written WAT handler).
#
# BENCH=1 also measures requests/s and latency percentiles with
# benches' http-load (16 connections, 5 s), ours against wasmtime 48's
# wasmtime-serve on the same component.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
cargo build --release -p nyash-cli --bin nyash-engine
engine="$target/release/nyash-engine"
cache="$target/apps"
mkdir -p "$cache"
out="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$out"; }
trap cleanup EXIT

pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

# --- build -------------------------------------------------------------------
cjs_version=0.23.0
cjs_dir="$target/componentize-js-$cjs_version"
if [ ! -d "$cjs_dir/node_modules/@bytecodealliance/componentize-js" ]; then
  echo "installing componentize-js $cjs_version (npm)"
  npm install --no-save --no-package-lock --prefix "$cjs_dir" \
    "@bytecodealliance/componentize-js@$cjs_version" > /dev/null
fi
cp "$here/serve/componentize.mjs" "$cjs_dir/componentize-serve.mjs"
key="$(cat "$here/serve/handler.js" "$here/serve/wit/world.wit" "$here/serve/componentize.mjs" | sha256sum | cut -c1-16)"
js="$cache/serve-js-$cjs_version-$key.wasm"
if [ ! -f "$js" ]; then
  # StarlingMonkey exports wasi:http/incoming-handler@0.2.10: the world
  # is resolved against the vendored 0.2.12 WIT relabelled 0.2.10 (the
  # interfaces are the same; nyash-engine links any 0.2.x).
  wit="$out/wit"
  mkdir -p "$wit"
  cp "$here/serve/wit/world.wit" "$wit/"
  cp -r "$root/wasi/wit/p2/deps" "$wit/deps"
  find "$wit/deps" -name '*.wit' -print0 | xargs -0 sed -i -E \
    's/@0\.2\.12/@0.2.10/g; s/@since\(version = 0\.2\.(11|12)\)/@since(version = 0.2.10)/g'
  (cd "$cjs_dir" && node componentize-serve.mjs "$here/serve/handler.js" "$wit" "$js.tmp")
  mv "$js.tmp" "$js"
fi

# start NAME CMD...: starts a server printing "Serving HTTP on URL"; sets $url.
start() {
  local name="$1"; shift
  "$@" > "$out/$name.out" 2> "$out/$name.err" &
  pids+=("$!")
  pid="$!"
  for _ in $(seq 1 600); do
    grep -q '^Serving HTTP on' "$out/$name.out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "$out/$name.err"; return 1; }
    sleep 0.2
  done
  url="$(sed -n 's/^Serving HTTP on //p' "$out/$name.out")"
}

# --- serve -------------------------------------------------------------------
start nyash "$engine" serve --addr 127.0.0.1:0 "$js"
server=$pid
[ "$(curl -s "$url")" = "hello from js" ] && ok || bad "GET / -> $(curl -s -i "$url")"
[ "$(curl -s -H 'x-test: abc' "${url}headers")" = "x-test: abc" ] && ok || bad "request header"
head -c 1048576 /dev/urandom > "$out/big"
curl -s -X POST --data-binary @"$out/big" -D "$out/echo.head" -o "$out/echo" "${url}echo"
cmp -s "$out/big" "$out/echo" && ok || bad "1 MiB echo ($(wc -c < "$out/echo") bytes back)"
grep -qi '^x-echo-length: 1048576' "$out/echo.head" && ok || bad "echo header: $(cat "$out/echo.head")"
for i in $(seq 1 20); do curl -s "$url" -o "$out/c$i" & done
wait $(jobs -p | grep -v "^$server\$") 2>/dev/null || true
n=0; for i in $(seq 1 20); do [ "$(cat "$out/c$i")" = "hello from js" ] && n=$((n + 1)); done
[ "$n" = 20 ] && ok || bad "20 concurrent requests: $n answered"
kill -INT "$server"
wait "$server" && ok || bad "serve's exit status after SIGINT: $?"
grep -q 'shutting down' "$out/nyash.err" && ok || bad "no shutdown message: $(cat "$out/nyash.err")"

# --- benchmark ---------------------------------------------------------------
if [ "${BENCH:-0}" = 1 ]; then
  cargo build --release -p nyash-benches --bin wasmtime-serve --bin http-load
  export WASMTIME_RUN_CACHE="$cache/wasmtime-cache"
  start nyash-b "$engine" serve --addr 127.0.0.1:0 "$js"; nurl=$url
  start wasmtime "$target/release/wasmtime-serve" "$js" 127.0.0.1:0; wurl=$url
  for what in "" "echo --post 4096"; do
    set -- $what
    echo "nyash-engine serve:  $("$target/release/http-load" "$nurl${1:-}" -c 16 -d 5 ${2:-} ${3:-})"
    echo "wasmtime 48 serve:   $("$target/release/http-load" "$wurl${1:-}" -c 16 -d 5 ${2:-} ${3:-})"
  done
fi

echo "serve: $pass passed, $fail failed"
[ "$fail" = 0 ]
