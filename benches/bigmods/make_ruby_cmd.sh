#!/usr/bin/env bash
# make_ruby_cmd.sh IN.wasm OUT.wasm [WASM_MERGE]
# Turns a ruby.wasm reactor from npm @ruby/X-wasm-wasi (imports rb-js-abi-host + canonical_abi,
# exports _initialize, no _start) into a WASI preview 1 command that imports only
# wasi_snapshot_preview1: stubs for the JS bridge (trap if reached) and the resource
# handles (identity), plus a _start (ruby-cmd/driver.wat) that evaluates its last argument.
# Needs: python3, wasm-tools (on the PATH, or $WASM_TOOLS) and binaryen's wasm-merge: the
# third argument, else $WASM_MERGE, else wasm-merge on the PATH (fetch.sh installs binaryen
# 132.0.0 from npm and passes its wasm-merge).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: $0 IN.wasm OUT.wasm [WASM_MERGE]" >&2
  exit 2
fi
IN=$(realpath "$1"); OUT=$2
WASM_MERGE=${3:-${WASM_MERGE:-$(command -v wasm-merge || true)}}
WASM_TOOLS=${WASM_TOOLS:-wasm-tools}
if [ -z "$WASM_MERGE" ] || [ ! -x "$WASM_MERGE" ]; then
  echo "$0: binaryen's wasm-merge not found: pass it as the third argument or set WASM_MERGE" >&2
  exit 1
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$WASM_TOOLS" print "$IN" > "$T/in.wat"
(cd "$T" && python3 "$HERE/ruby-cmd/gen_stubs.py" in.wat >/dev/null)
"$WASM_TOOLS" parse "$T/jshost.wat" -o "$T/jshost.wasm"
"$WASM_TOOLS" parse "$T/cabi.wat" -o "$T/cabi.wasm"
"$WASM_TOOLS" parse "$HERE/ruby-cmd/driver.wat" -o "$T/driver.wasm"
if ! "$WASM_MERGE" --enable-bulk-memory --enable-reference-types \
  --enable-multivalue --enable-mutable-globals --enable-nontrapping-float-to-int --enable-sign-ext \
  "$IN" ruby "$T/jshost.wasm" rb-js-abi-host "$T/cabi.wasm" canonical_abi "$T/driver.wasm" driver \
  -o "$T/merged.wasm" 2> "$T/merge.log"; then
  cat "$T/merge.log" >&2
  echo "$0: wasm-merge failed" >&2
  exit 1
fi
# wasm-merge warns about every name subsection it does not know; the rest is worth seeing.
grep -v 'unknown name subsection' "$T/merge.log" >&2 || true
python3 "$HERE/ruby-cmd/keep_exports.py" "$T/merged.wasm" "$OUT" memory _start
"$WASM_TOOLS" validate "$OUT"
