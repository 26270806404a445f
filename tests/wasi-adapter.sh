#!/usr/bin/env bash
# Prints the path of the standard WASI preview-1 adapter
# (wasi_snapshot_preview1.command.wasm, from jco's npm package, pinned by
# version and hash), fetching it into the target dir when missing. With it,
# `componentize --adapt` (engine/examples/componentize.rs) makes a WASI 0.2
# component of a preview-1 command, as `wasm-tools component new --adapt`
# does.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
jco_version=1.35.0
adapter_sha=2a652d711c1fff34f9d5a0e073e50ef7eeb8fe7d8a6d559eae643a4c049a7b94
adapter_dir="${CARGO_TARGET_DIR:-$root/target}/wasi-adapter/$jco_version"
adapter="$adapter_dir/wasi_snapshot_preview1.command.wasm"
if [ "$(sha256sum "$adapter" 2>/dev/null | cut -d' ' -f1)" != "$adapter_sha" ]; then
  echo "fetching the preview-1 adapter (npm @bytecodealliance/jco@$jco_version)" >&2
  rm -rf "$adapter_dir"; mkdir -p "$adapter_dir"
  (cd "$adapter_dir" && npm pack --silent "@bytecodealliance/jco@$jco_version" > /dev/null \
    && tar xzf "bytecodealliance-jco-$jco_version.tgz" package/lib/wasi_snapshot_preview1.command.wasm \
    && mv package/lib/wasi_snapshot_preview1.command.wasm . && rm -rf package ./*.tgz)
  if [ "$(sha256sum "$adapter" | cut -d' ' -f1)" != "$adapter_sha" ]; then
    echo "the preview-1 adapter's sha256 is not $adapter_sha" >&2; exit 1
  fi
fi
echo "$adapter"
