#!/usr/bin/env bash
# Kotlin/Wasm programs (wasm-wasi target) built with the Kotlin compiler from
# npm, each run with wasmtime 48 (benches' `wasmtime-run`) and with
# nyash-engine in four modes: normal, lazy compilation (NYASH_LAZY=1), GC
# stress (NYASH_GC_STRESS=1: a moving collection and a heap check at every
# allocation) and both; every run's standard output and exit status must be
# wasmtime's. A real compiler's output: WebAssembly GC (structs, arrays,
# casts, i31, v128 fields in its type-identity structs), typed function
# references (call_ref) and exceptions (try_table/throw_ref).
#
# Exceptions: Kotlin 2.4.20 emits the new proposal (try_table, exnref) for
# wasm-wasi by default; the flag -Xwasm-use-new-exception-proposal is passed
# all the same so the output does not change with a later default (with
# `=false` it emits the legacy try/catch form, which nyash-engine refuses).
#
# Two builds of each program: `dev`, the compiler's output (dead code
# eliminated), and `opt`, that output through Binaryen's wasm-opt with the
# flags Kotlin's Gradle plugin uses for a production build (its
# BinaryenConfig: -O3 passes, --gufa, --traps-never-happen, ...), the shape
# of what is deployed.
#
# Installs what it needs: Java 17 (Debian) when `java` is missing, the
# compiler (npm kotlin-compiler, pinned; its lib/ has the wasm-wasi stdlib
# klib) and Binaryen (npm binaryen, pinned; wasm-opt compiled to JS, run by
# node) into target/kotlin/. Builds a program only when its source, the
# shared sources, the compiler or the flags changed (target/kotlin/build/,
# by hash).
#
# Each program takes its workload size as its first argument. GC stress
# makes every allocation cost a collection over the live heap, so the
# stress runs use a smaller size, the same for wasmtime's reference run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"

kotlin_version=2.4.20
kotlin_home="$target/kotlin/$kotlin_version/node_modules/kotlin-compiler"
if ! command -v java >/dev/null; then
  echo "installing openjdk-17-jre-headless (the Kotlin compiler runs on the JVM)"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi
if [ ! -x "$kotlin_home/bin/kotlinc-wasm" ]; then
  echo "installing kotlin-compiler $kotlin_version (npm)"
  npm install --no-save --no-package-lock --prefix "$target/kotlin/$kotlin_version" \
    "kotlin-compiler@$kotlin_version" >/dev/null
fi
binaryen_version=132.0.0
wasm_opt="$target/kotlin/binaryen-$binaryen_version/node_modules/binaryen/bin/wasm-opt"
if [ ! -x "$wasm_opt" ]; then
  echo "installing binaryen $binaryen_version (npm)"
  npm install --no-save --no-package-lock --prefix "$target/kotlin/binaryen-$binaryen_version" \
    "binaryen@$binaryen_version" >/dev/null
fi
# Kotlin's Gradle plugin's wasm-opt flags for a production build.
wasm_opt_flags=(--enable-gc --enable-reference-types --enable-exception-handling
  --enable-bulk-memory --enable-nontrapping-float-to-int --inline-functions-with-loops
  --traps-never-happen --fast-math -O3 -O3 --gufa -O3 -O3 -Oz)
stdlib="$kotlin_home/lib/kotlin-stdlib-wasm-wasi.klib"
kotlin_flags=(-Xwasm-target=wasm-wasi -Xwasm-use-new-exception-proposal -nowarn)
kotlinc=("$kotlin_home/bin/kotlinc-wasm" -libraries "$stdlib" "${kotlin_flags[@]}")

cargo build --release -p nyash-cli --bin nyash-engine
cargo build --release -p nyash-benches --bin wasmtime-run
engine="$target/release/nyash-engine"
wasmtime_run="$target/release/wasmtime-run"

# Build: sources to a klib, then the klib to a .wasm with dead code
# eliminated (dev), then that through wasm-opt (opt). Sets dev_wasm, opt_wasm.
builds="$target/kotlin/build"
mkdir -p "$builds"
rm -rf "$builds"/tmp-*
build() {
  local name="$1" src="$here/$1.kt" key dir
  key="$( { echo "kotlin $kotlin_version ${kotlin_flags[*]} binaryen $binaryen_version ${wasm_opt_flags[*]}"
            cat "$src" "$here"/common/*.kt; } | sha256sum | cut -c1-16)"
  dev_wasm="$builds/$name-$key.wasm"
  opt_wasm="$builds/$name-$key.opt.wasm"
  [ -f "$dev_wasm" ] && [ -f "$opt_wasm" ] && return 0
  echo "building $name.kt"
  dir="$(mktemp -d "$builds/tmp-$name.XXXXXX")"
  "${kotlinc[@]}" -ir-output-dir "$dir" -ir-output-name "$name" "$src" "$here"/common/*.kt
  "${kotlinc[@]}" -Xir-produce-js -Xir-dce -Xinclude="$dir/$name.klib" -ir-output-dir "$dir" -ir-output-name "$name"
  "$wasm_opt" "${wasm_opt_flags[@]}" "$dir/$name.wasm" -o "$dir/$name.opt.wasm"
  rm -f "$builds/$name"-*.wasm
  mv "$dir/$name.wasm" "$dev_wasm"
  mv "$dir/$name.opt.wasm" "$opt_wasm"
  rm -rf "$dir"
}

# name, size for the normal and lazy runs, size for the GC stress runs.
programs=(
  "binary_trees 14 8"
  "collections 40 4"
  "strings 6000 300"
  "exceptions 30000 600"
  "dispatch 200 8"
  "coroutines 20000 200"
)

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
pass=0; fail=0
# run LABEL SIZE REF ENV...: nyash-engine with ENV set, compared with the
# wasmtime run whose output is in $out/REF.out and status in $out/REF.status.
run() {
  local label="$1" size="$2" ref="$3" status start ms
  shift 3
  start=$(date +%s%N)
  set +e
  env -u NYASH_LAZY -u NYASH_GC_STRESS "$@" timeout 600 "$engine" run --no-cache "$wasm" "$size" \
    >"$out/run.out" 2>"$out/run.err"
  status=$?
  set -e
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  if cmp -s "$out/run.out" "$out/$ref.out" && [ "$status" = "$(cat "$out/$ref.status")" ]; then
    pass=$((pass + 1))
    printf 'ok   %-14s %-3s %-15s size %-6s %6d ms\n' "$name" "$variant" "$label" "$size" "$ms"
  else
    fail=$((fail + 1))
    printf 'FAIL %-14s %-3s %-15s size %-6s %6d ms: status %s, wasmtime %s\n' \
      "$name" "$variant" "$label" "$size" "$ms" "$status" "$(cat "$out/$ref.status")"
    diff "$out/$ref.out" "$out/run.out" | head -20 || true
    head -c 2000 "$out/run.err"
  fi
}
# reference REF SIZE: wasmtime's run, which must succeed and end with the
# program's checksum line (else the comparisons would compare nothing: it
# counts as a failure).
reference() {
  set +e
  timeout 600 "$wasmtime_run" "$wasm" "$2" >"$out/$1.out" 2>"$out/$1.err"
  echo $? >"$out/$1.status"
  set -e
  if [ "$(cat "$out/$1.status")" != 0 ] || ! tail -n 1 "$out/$1.out" | grep -q '^checksum '; then
    fail=$((fail + 1))
    printf 'FAIL %-14s %-3s %-15s size %-6s under wasmtime: status %s, last line %s\n' \
      "$name" "$variant" "reference" "$2" "$(cat "$out/$1.status")" "$(tail -n 1 "$out/$1.out")"
    head -c 2000 "$out/$1.err"
  fi
}

for p in "${programs[@]}"; do
  read -r name size stress_size <<<"$p"
  build "$name"
  for variant in dev opt; do
    if [ "$variant" = dev ]; then wasm="$dev_wasm"; else wasm="$opt_wasm"; fi
    reference big "$size"
    run normal "$size" big NYASH_LAZY=0
    run lazy "$size" big NYASH_LAZY=1
    reference small "$stress_size"
    run gc-stress "$stress_size" small NYASH_LAZY=0 NYASH_GC_STRESS=1
    run lazy+gc-stress "$stress_size" small NYASH_LAZY=1 NYASH_GC_STRESS=1
  done
done
echo "Kotlin $kotlin_version, wasm-wasi; dev: the compiler's output, opt: + wasm-opt $binaryen_version"
echo "kotlin: $pass passed, $fail failed"
[ "$fail" = 0 ]
