#!/usr/bin/env bash
# Our own test programs, each built natively and for wasm32-wasi, run both
# ways, and every wasm run's output and exit status compared with the native
# run's. C programs are built for wasm with two libcs: Debian's clang-19 +
# wasi-libc (a 2022 snapshot) and zig's recent wasi-libc (`python3 -m
# ziglang cc`). C++ programs (std::filesystem) with zig's libc++ only:
# Debian's wasm32 libc++ has no std::filesystem. Output that legitimately
# differs between native and WASI (inode numbers, absolute paths) must not
# be printed. C programs are also built with clang-19 -O3 -msimd128
# (auto-vectorized). Installs the toolchains when missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if ! command -v clang-19 >/dev/null || [ ! -d /usr/lib/wasm32-wasi ] || ! command -v wasm-ld-19 >/dev/null; then
  echo "installing clang-19, wasi-libc, lld-19, libclang-rt-19-dev-wasm32"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq clang-19 wasi-libc lld-19 libclang-rt-19-dev-wasm32 >/dev/null
fi
# Pinned: its wasi-libc's scandir fstatat()s every entry fd_readdir gives
# inode 0, `..` included (later wasi-libc goes through readdir, which skips
# `..`), so it catches what a real program built with wasi-sdk 17-28 hit.
zig_version=0.17.1
if [ "$(python3 -m ziglang version 2>/dev/null)" != "$zig_version" ]; then
  echo "installing ziglang $zig_version (PyPI)"
  python3 -m pip install --quiet "ziglang==$zig_version"
fi
libcxx_src="$(python3 -c 'import os, ziglang; print(os.path.dirname(ziglang.__file__))')/lib/libcxx/src"
cargo build --release -p nyash-cli --bin nyash-engine
engine="${CARGO_TARGET_DIR:-$root/target}/release/nyash-engine"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/debian" "$out/zig" "$out/simd"
pass=0; fail=0; programs=0
for src in "$here"/*.c "$here"/*.cpp; do
  name="$(basename "${src%.*}")"
  programs=$((programs + 1))
  # Programs that need a 3.0 proposal say so: clang's musttail needs tail
  # calls in wasm.
  extra=()
  case "$name" in
    tailcall_*) extra=(-mtail-call) ;;
  esac
  case "$src" in
    *.c)
      cc -O2 -o "$out/$name.native" "$src"
      clang-19 --target=wasm32-wasi -O2 "${extra[@]}" -o "$out/debian/$name.wasm" "$src"
      python3 -m ziglang cc --target=wasm32-wasi -O2 "${extra[@]}" -o "$out/zig/$name.wasm" "$src"
      # Auto-vectorized: clang at -O3 with SIMD on.
      clang-19 --target=wasm32-wasi -O3 -msimd128 "${extra[@]}" -o "$out/simd/$name.wasm" "$src"
      toolchains=(debian zig simd) ;;
    *.cpp)
      c++ -std=c++17 -O2 -o "$out/$name.native" "$src"
      # zig builds its libc++ for WASI without std::filesystem; compile
      # libc++'s own filesystem sources (shipped with zig) into the program.
      python3 -m ziglang c++ --target=wasm32-wasi -O2 -std=c++23 -fno-exceptions \
        -Wno-macro-redefined -D_LIBCPP_HAS_FILESYSTEM=1 -D_LIBCPP_HAS_MUSL_LIBC=0 \
        -D_LIBCPP_BUILDING_LIBRARY -I"$libcxx_src" -o "$out/zig/$name.wasm" "$src" \
        "$libcxx_src"/filesystem/{operations,directory_iterator,directory_entry,path,filesystem_error,filesystem_clock}.cpp
      toolchains=(zig) ;;
  esac
  args=(); input=""
  case "$name" in
    args_env) args=(one "two words" three) ;;
    stdin_exit) input=$'3 4\n5' ;;
  esac
  mkdir -p "$out/n-$name"
  set +e
  native_out="$(cd "$out/n-$name" && printf '%s' "$input" | env -i GREETING=hi "$out/$name.native" "${args[@]}" 2>/dev/null)"; native_status=$?
  set -e
  native_out="${native_out//$out\/$name.native/$name.wasm}"
  for tc in "${toolchains[@]}"; do
    mkdir -p "$out/w-$tc-$name"
    set +e
    wasm_out="$(cd "$out/w-$tc-$name" && printf '%s' "$input" | GREETING= "$engine" run --dir .::/ --env GREETING=hi "$out/$tc/$name.wasm" "${args[@]}" 2>/dev/null)"; wasm_status=$?
    set -e
    if [ "$wasm_out" == "$native_out" ] && [ "$wasm_status" == "$native_status" ]; then
      pass=$((pass + 1))
    else
      fail=$((fail + 1))
      echo "FAIL $name ($tc): status wasm $wasm_status native $native_status"
      diff <(echo "$native_out") <(echo "$wasm_out") || true
    fi
  done
done
echo "c-programs: $programs programs, $pass runs passed, $fail failed (debian: wasi-libc 2022, zig $zig_version: recent wasi-libc, simd: debian at -O3 -msimd128)"
[ "$fail" = 0 ]
