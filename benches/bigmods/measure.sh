#!/usr/bin/env bash
# measure.sh [DIR]: the first-run measurement of benches/README.md, "Big modules: first
# run (lazy compilation)", on the modules fetch.sh put in DIR (default: target/bigmods of
# the repository). For each module:
#   RUNS times (default 3), alternating:
#     full          NYASH_LAZY=0 run --no-cache                      (full compile, then run)
#     lazy          NYASH_LAZY=1 run --no-cache                      (lazy first run)
#     lazy-noahead  NYASH_LAZY=1 NYASH_LAZY_AHEAD=0 run --no-cache   (no compile-ahead threads)
#   then, with a fresh cache directory (NYASH_ENGINE_CACHE_DIR):
#     first         run          (the CLI's default first run; it starts a detached compile
#                                 that fills the cache)
#     cached        run, RUNS times, once the cache entry (*.nwasm) is there
#   and one untimed lazy run with NYASH_LAZY_TRACE=1 and no compile-ahead threads, whose
#   trace lines count the functions the task calls ("functions compiled").
# Prints one line per run (module mode wall_s user_s maxrss_kb) and the medians. Every
# run must exit with 0 and print what the first one printed.
# Environment: NYASH_ENGINE (default: target/release/nyash-engine of the repository),
# RUNS (3), FILL_TIMEOUT (seconds to wait for the cache entry, 900).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
DIR=${1:-$REPO/target/bigmods}
ENGINE=${NYASH_ENGINE:-$REPO/target/release/nyash-engine}
RUNS=${RUNS:-3}
FILL_TIMEOUT=${FILL_TIMEOUT:-900}
TIME=/usr/bin/time
PYTHON=${PYTHON:-python3}

[ -x "$ENGINE" ] || { echo "$0: no engine at $ENGINE (set NYASH_ENGINE)" >&2; exit 1; }
[ -x "$TIME" ] || { echo "$0: $TIME is missing (Debian package: time)" >&2; exit 1; }
ENGINE=$(realpath "$ENGINE")
DIR=$(realpath "$DIR")
YOSYS=$DIR/yosys.wasm
RUBY=$DIR/ruby-3.4+stdlib-cmd.wasm
for m in "$YOSYS" "$RUBY"; do
  [ -f "$m" ] || { echo "$0: $m is missing: run benches/bigmods/fetch.sh first" >&2; exit 1; }
done
YOSYS_ARGS=(-V)
RUBY_ARGS=(-e 'puts 1+1; puts RUBY_DESCRIPTION; require "json"; puts JSON.generate({a: [1,2]})')

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
RESULTS=$WORK/results
: > "$RESULTS"

# The number of functions a module defines (its function section's count).
defined_functions() {
  "$PYTHON" - "$1" <<'EOF'
import sys
b = open(sys.argv[1], 'rb').read()
def leb(i):
    r = s = 0
    while True:
        x = b[i]; i += 1; r |= (x & 0x7f) << s; s += 7
        if x < 0x80: return r, i
i, n = 8, 0
while i < len(b):
    sid = b[i]; size, j = leb(i + 1)
    if sid == 3: n, _ = leb(j)
    i = j + size
print(n)
EOF
}

# timed MODULE MODE [NAME=VALUE...] COMMAND...: runs COMMAND under /usr/bin/time with the
# engine's variables cleared but the NAME=VALUE given, records and prints its line, and
# checks its exit status and output (against the module's first run).
timed() {
  local name=$1 mode=$2 rc=0
  shift 2
  "$TIME" -f "%e %U %M" -o "$WORK/time" \
    env -u NYASH_LAZY -u NYASH_LAZY_AHEAD -u NYASH_LAZY_TRACE -u NYASH_CACHE_FILL \
        -u NYASH_ENGINE_CACHE_DIR "$@" > "$WORK/out" 2> "$WORK/err" || rc=$?
  if [ "$rc" != 0 ]; then
    echo "$0: $name $mode: exit status $rc" >&2
    cat "$WORK/err" >&2
    exit 1
  fi
  if [ ! -f "$WORK/$name.expected" ]; then
    cp "$WORK/out" "$WORK/$name.expected"
  elif ! cmp -s "$WORK/out" "$WORK/$name.expected"; then
    echo "$0: $name $mode printed something else than the first run:" >&2
    diff "$WORK/$name.expected" "$WORK/out" >&2 || true
    exit 1
  fi
  local line
  line="$name $mode $(tail -n 1 "$WORK/time")"
  echo "$line" | tee -a "$RESULTS"
}

# Waits until the cache directory $1 holds an entry and no process of ours still has it
# in its environment (the detached fill has exited). Returns 1 after FILL_TIMEOUT seconds.
wait_for_fill() {
  local cache=$1 start=$SECONDS
  while ! compgen -G "$cache/*.nwasm" > /dev/null; do
    if (( SECONDS - start >= FILL_TIMEOUT )); then return 1; fi
    sleep 0.5
  done
  echo "# $(basename "$cache"): cache entry after about $(( SECONDS - start )) s"
  while grep -qszxF "NYASH_ENGINE_CACHE_DIR=$cache" /proc/[0-9]*/environ; do
    if (( SECONDS - start >= FILL_TIMEOUT )); then break; fi
    sleep 0.5
  done
}

echo "# engine: $ENGINE"
echo "# $(nproc) cores; $RUNS runs per mode; $(date -u +%Y-%m-%dT%H:%MZ)"
echo "# module mode wall_s user_s maxrss_kb"
for name in yosys ruby; do
  if [ "$name" = yosys ]; then module=$YOSYS; args=("${YOSYS_ARGS[@]}")
  else module=$RUBY; args=("${RUBY_ARGS[@]}"); fi
  name=$(basename "$module")
  echo "# $name: $(stat -c %s "$module") bytes, $(defined_functions "$module") functions"

  for ((i = 0; i < RUNS; i++)); do
    timed "$name" full NYASH_LAZY=0 "$ENGINE" run --no-cache "$module" "${args[@]}"
    timed "$name" lazy NYASH_LAZY=1 "$ENGINE" run --no-cache "$module" "${args[@]}"
    timed "$name" lazy-noahead NYASH_LAZY=1 NYASH_LAZY_AHEAD=0 \
      "$ENGINE" run --no-cache "$module" "${args[@]}"
  done

  cache=$WORK/cache-$name
  timed "$name" first NYASH_ENGINE_CACHE_DIR="$cache" "$ENGINE" run "$module" "${args[@]}"
  if wait_for_fill "$cache"; then
    for ((i = 0; i < RUNS; i++)); do
      timed "$name" cached NYASH_ENGINE_CACHE_DIR="$cache" "$ENGINE" run "$module" "${args[@]}"
    done
  else
    echo "$0: $name: no cache entry after $FILL_TIMEOUT s; no cached runs" >&2
  fi

  n=$(env -u NYASH_ENGINE_CACHE_DIR NYASH_LAZY=1 NYASH_LAZY_AHEAD=0 NYASH_LAZY_TRACE=1 \
        "$ENGINE" run --no-cache "$module" "${args[@]}" 2>&1 >/dev/null | grep -c '^lazy ' || true)
  echo "$name functions-compiled $n" >> "$RESULTS"
  echo "# $name: $n functions compiled (lazy, no compile-ahead threads)"
done

echo
echo "# medians: module mode runs wall_s user_s maxrss_kb"
"$PYTHON" - "$RESULTS" <<'EOF'
import statistics, sys
runs, compiled = {}, {}
for line in open(sys.argv[1]):
    f = line.split()
    if f[1] == 'functions-compiled':
        compiled[f[0]] = f[2]
    else:
        runs.setdefault((f[0], f[1]), []).append(tuple(map(float, f[2:5])))
med = {}
for (name, mode), rs in runs.items():
    m = [statistics.median(col) for col in zip(*rs)]
    med[name, mode] = m
    print(f"{name} {mode} {len(rs)} {m[0]:.2f} {m[1]:.2f} {m[2]:.0f}")
print()
print("# module: lazy/full (wall) | functions compiled | cached")
for name in dict.fromkeys(n for n, _ in runs):
    full, lazy, cached = (med.get((name, k)) for k in ('full', 'lazy', 'cached'))
    ratio = f"{lazy[0] / full[0]:.3f}x" if full and lazy and full[0] > 0 else "-"
    print(f"{name}: {ratio} | {compiled.get(name, '-')} | {f'{cached[0]:.2f} s' if cached else '-'}")
EOF
