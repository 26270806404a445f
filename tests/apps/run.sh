#!/usr/bin/env bash
# WASI 0.2 commands made by real toolchains no one here wrote, run by
# nyash-engine and by wasmtime 48 (benches' `wasmtime-run`), with outputs,
# exit statuses and written files compared; the lines each program must
# print are also checked against values this script computes itself, so
# two engines wrong alike do not pass.
#
# - python/app.py: componentize-py (PyPI, pinned) — CPython in an 18 MB
#   component; reads arguments, environment, stdin and files beneath its
#   preopen, writes one, sleeps, and exits 1 through `run`'s `err`.
# - js/app.js: componentize-js (npm, pinned) — StarlingMonkey in a 14 MB
#   component; arguments, environment, clocks, randomness, exceptions.
#
# Each component is built once and cached under the target dir by its
# sources' hash. Installs the toolchains when missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
cargo build --release -p nyash-cli --bin nyash-engine
cargo build --release -p nyash-benches --bin wasmtime-run
engine="$target/release/nyash-engine"
wasmtime="$target/release/wasmtime-run"
# wasmtime-run keeps its compiled components here (see wasmtime_run.rs).
export WASMTIME_RUN_CACHE="$target/apps/wasmtime-cache"
cache="$target/apps"
mkdir -p "$cache"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
wit="$out/wit"
mkdir -p "$wit"
cp "$here/js/wit/world.wit" "$wit/"
ln -s "$root/wasi/wit/p2/deps" "$wit/deps"

pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

# --- build -----------------------------------------------------------------
cpy_version=0.25.1
if [ "$(componentize-py --version 2>/dev/null)" != "componentize-py $cpy_version" ]; then
  echo "installing componentize-py $cpy_version (PyPI)"
  python3 -m pip install --quiet "componentize-py==$cpy_version"
fi
key="$(cat "$here/python/app.py" "$here/js/wit/world.wit" | sha256sum | cut -c1-16)"
py="$cache/python-$cpy_version-$key.wasm"
if [ ! -f "$py" ]; then
  mkdir -p "$out/py"
  cp "$here/python/app.py" "$out/py/"
  (cd "$out/py" && componentize-py -q -d "$wit" -w command componentize app -o "$py.tmp")
  mv "$py.tmp" "$py"
fi

cjs_version=0.23.0
cjs_dir="$target/componentize-js-$cjs_version"
if [ ! -d "$cjs_dir/node_modules/@bytecodealliance/componentize-js" ]; then
  echo "installing componentize-js $cjs_version (npm)"
  npm install --no-save --no-package-lock --prefix "$cjs_dir" \
    "@bytecodealliance/componentize-js@$cjs_version" > /dev/null
fi
cp "$here/js/componentize.mjs" "$cjs_dir/componentize-command.mjs"
key="$(cat "$here/js/app.js" "$here/js/wit/world.wit" "$here/js/componentize.mjs" | sha256sum | cut -c1-16)"
js="$cache/js-$cjs_version-$key.wasm"
if [ ! -f "$js" ]; then
  (cd "$cjs_dir" && node componentize-command.mjs "$here/js/app.js" "$wit" command "$js.tmp")
  mv "$js.tmp" "$js"
fi

# --- run -------------------------------------------------------------------
# run NAME ENGINE WASM [ARGS...]: runs WASM with ENGINE (nyash, nyash-pre
# for a .nwasm, or wasmtime) in a fresh copy of the data directory
# $out/NAME with the input $input; sets $status; stdout in $out/NAME.out.
input=$'the quick brown fox\njumps over the lazy dog\n'
run() {
  local name="$1" cmd
  case "$2" in
    nyash) cmd=("$engine" run) ;;
    nyash-pre) cmd=("$engine" run --allow-precompiled) ;;
    wasmtime) cmd=("$wasmtime") ;;
  esac
  shift 2
  rm -rf "$out/$name"; mkdir -p "$out/$name/sub" "$out/$name/out"
  printf 'hello file\n' > "$out/$name/greeting.txt"
  printf 'abc\n' > "$out/$name/sub/x"
  set +e
  printf '%s' "$input" | "${cmd[@]}" --dir "$out/$name::/data" --env APP_GREETING=hi --env APP_X=1 \
    "${extra_env[@]}" "$@" > "$out/$name.out" 2> "$out/$name.err"
  status=$?
  set -e
}
# same A B: the two runs printed the same and exited alike.
same() {
  if cmp -s "$out/$1.out" "$out/$2.out" && [ "$3" == "$4" ]; then ok
  else bad "$1 vs $2: status $3 vs $4"; diff "$out/$2.out" "$out/$1.out" | cut -c1-160 | head -20 || true; fi
}
# has NAME LINE: the run printed LINE.
has() {
  if grep -qxF -- "$2" "$out/$1.out"; then ok; else bad "$1: no line \`${2:0:160}\`"; fi
}

sha="$(printf '%s' "$input" | sha256sum | cut -d' ' -f1)"
extra_env=()
run py-nyash nyash "$py" one "two words"; s1=$status
run py-wasmtime wasmtime "$py" one "two words"; s2=$status
same py-nyash py-wasmtime "$s1" "$s2"
[ "$s1" = 0 ] && ok || bad "python: status $s1: $(head -c 2000 "$out/py-nyash.err")"
for line in "args: ['one', 'two words']" "env: ['APP_GREETING', 'APP_X']" "APP_GREETING: hi" \
  "stdin: ${#input} chars, 9 words" "stdin sha256: $sha" "upper: THE QUICK BROWN FOX JUMPS" \
  "entry: greeting.txt file 11" "entry: out dir -" "entry: sub dir -" "greeting: hello file" \
  "wrote back: ${#input} chars" "missing: FileNotFoundError" "escape: PermissionError" \
  "slept at least 50 ms: True" "wall clock after 2020: True" "random bytes: 16" \
  "$(printf 'x%.0s' $(seq 60000))" "done"; do
  has py-nyash "$line"
done
if printf '%s' "$input" | python3 -c 'import sys; sys.stdout.write(sys.stdin.read()[::-1])' \
    | cmp -s - "$out/py-nyash/out/result.txt" \
  && cmp -s "$out/py-nyash/out/result.txt" "$out/py-wasmtime/out/result.txt"; then ok
else bad "python: the file it wrote differs"; fi

extra_env=(--env APP_FAIL=1)
run py-fail-nyash nyash "$py"; s1=$status
run py-fail-wasmtime wasmtime "$py"; s2=$status
same py-fail-nyash py-fail-wasmtime "$s1" "$s2"
[ "$s1" = 1 ] && ok || bad "python APP_FAIL: status $s1, want 1"

# The same component precompiled.
extra_env=()
"$engine" compile "$py" -o "$out/py.nwasm"
run py-nwasm nyash-pre "$out/py.nwasm" one "two words"; s3=$status
same py-nwasm py-wasmtime "$s3" 0

run js-nyash nyash "$js" a "b c"; s1=$status
run js-wasmtime wasmtime "$js" a "b c"; s2=$status
same js-nyash js-wasmtime "$s1" "$s2"
[ "$s1" = 0 ] && ok || bad "js: status $s1: $(head -c 2000 "$out/js-nyash.err")"
for line in 'args: ["a","b c"]' 'env: [["APP_GREETING","hi"],["APP_X","1"]]' \
  "fib(90): $(python3 -c 'a,b=0,1
for _ in range(90): a,b=b,a+b
print(a)')" 'sorted: alpha mu straße zeta Émile' 'upper: ALPHA MU STRASSE ZETA ÉMILE' \
  'date after 2020: true' 'random bytes: 16' 'json: {"a":[1,2,{"b":"c"}],"d":null}' 'done'; do
  has js-nyash "$line"
done
extra_env=(--env APP_FAIL=1)
run js-fail-nyash nyash "$js"; s1=$status
run js-fail-wasmtime wasmtime "$js"; s2=$status
same js-fail-nyash js-fail-wasmtime "$s1" "$s2"
[ "$s1" = 1 ] && ok || bad "js APP_FAIL: status $s1, want 1"

echo "wasip2-apps: $pass passed, $fail failed (componentize-py $cpy_version, componentize-js $cjs_version; against wasmtime 48)"
[ "$fail" = 0 ]
