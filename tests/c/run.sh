#!/usr/bin/env bash
# Our own test programs, each built natively and for wasm32-wasi, run both
# ways, and every wasm run's output and exit status compared with the native
# run's. C programs are built for wasm with two libcs: Debian's clang-19 +
# wasi-libc (a 2022 snapshot) and zig's recent wasi-libc (`python3 -m
# ziglang cc`). C++ programs (std::filesystem) with zig's libc++ only:
# Debian's wasm32 libc++ has no std::filesystem. Output that legitimately
# differs between native and WASI (inode numbers, absolute paths) must not
# be printed. C programs are also built with clang-19 -O3 -msimd128
# (auto-vectorized). C++ programs named eh_* use exceptions: built with
# zig's clang in final-form wasm exceptions (try_table/throw_ref), against
# libc++abi, libunwind's Unwind-wasm.c and the parts of libc++ they need,
# compiled here from the sources zig ships (zig's prebuilt libc++ for WASI
# has no exceptions) and cached under target/cpp-eh/. Installs the
# toolchains when missing.
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
zig_lib="$(python3 -c 'import os, ziglang; print(os.path.dirname(ziglang.__file__))')/lib"
libcxx_src="$zig_lib/libcxx/src"
cargo build --release -p nyash-cli --bin nyash-engine
engine="${CARGO_TARGET_DIR:-$root/target}/release/nyash-engine"

# The C++ exception runtime for eh_* programs: final-form exceptions
# (`-mllvm -wasm-use-legacy-eh=false`: try_table, throw_ref, exnref).
eh_flags=(--target=wasm32-wasi -O2 -fwasm-exceptions -mexception-handling -mllvm -wasm-use-legacy-eh=false)
eh_abi_srcs=(abort_message cxa_aux_runtime cxa_default_handlers cxa_demangle cxa_exception
  cxa_exception_storage cxa_guard cxa_handlers cxa_personality cxa_vector cxa_virtual
  fallback_malloc private_typeinfo stdlib_exception stdlib_stdexcept stdlib_typeinfo
  stdlib_new_delete)
eh_cxx_srcs=(algorithm any error_category exception functional hash memory new_handler optional
  stdexcept string system_error typeinfo variant vector verbose_abort)
eh_key="$(printf '%s\n' "$zig_version" "${eh_flags[*]}" "${eh_abi_srcs[*]}" "${eh_cxx_srcs[*]}" | sha256sum | cut -c1-16)"
eh_dir="${CARGO_TARGET_DIR:-$root/target}/cpp-eh/$eh_key"
eh_runtime="$eh_dir/libcxx-eh.a"
build_eh_runtime() {
  [ -f "$eh_runtime" ] && return
  echo "building the C++ exception runtime (libc++abi, libunwind, libc++ parts) into $eh_dir"
  local obj="$eh_dir/obj"
  rm -rf "$eh_dir"; mkdir -p "$obj"
  local f
  for f in "${eh_abi_srcs[@]}"; do
    python3 -m ziglang c++ "${eh_flags[@]}" -std=c++23 -Wno-macro-redefined \
      -D_LIBCXXABI_BUILDING_LIBRARY -D_LIBCPP_BUILDING_LIBRARY -D_LIBCXXABI_HAS_NO_THREADS \
      -I"$libcxx_src" -I"$zig_lib/libcxxabi/src" -c "$zig_lib/libcxxabi/src/$f.cpp" -o "$obj/abi-$f.o"
  done
  for f in "${eh_cxx_srcs[@]}"; do
    python3 -m ziglang c++ "${eh_flags[@]}" -std=c++23 -Wno-macro-redefined \
      -D_LIBCPP_BUILDING_LIBRARY -DLIBCXX_BUILDING_LIBCXXABI -I"$libcxx_src" \
      -c "$libcxx_src/$f.cpp" -o "$obj/cxx-$f.o"
  done
  python3 -m ziglang cc "${eh_flags[@]}" -D_LIBUNWIND_HIDE_SYMBOLS -I"$zig_lib/libunwind/include" \
    -Wno-c23-extensions -c "$zig_lib/libunwind/src/Unwind-wasm.c" -o "$obj/unwind-wasm.o"
  # The C++ exception tag, which no source zig ships defines.
  printf '.globl __cpp_exception\n.tagtype __cpp_exception i32\n__cpp_exception:\n' > "$obj/tag.s"
  python3 -m ziglang cc --target=wasm32-wasi -mexception-handling -c "$obj/tag.s" -o "$obj/tag.o"
  python3 -m ziglang ar rcs "$eh_runtime.part" "$obj"/*.o
  mv "$eh_runtime.part" "$eh_runtime"
}
# WASI 0.2: every zig-built program is also made a component with the
# standard preview-1 adapter (wasi_snapshot_preview1.command.wasm, from
# jco's npm package, pinned by version and hash) and wit-component
# (engine/examples/componentize.rs --adapt; tests/wasi-adapter.sh fetches
# it), and run as one. Its output must
# be the native run's; its exit status 0, or 1 for any non-zero status
# (the adapter's `proc_exit` ends the program through WASI 0.2's
# `wasi:cli/exit.exit(err)`, which carries no code — wasmtime gives 1 too).
jco_version=1.35.0
adapter="$(bash "$root/tests/wasi-adapter.sh")"
cargo build --release -p nyash-engine --example componentize
componentize="${CARGO_TARGET_DIR:-$root/target}/release/examples/componentize"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/debian" "$out/zig" "$out/simd"
pass=0; fail=0; programs=0; skipped=()
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
    *.cpp) case "$name" in eh_*)
      c++ -std=c++17 -O2 -o "$out/$name.native" "$src"
      build_eh_runtime
      # Compiled as C++ (zig's libc++ headers), linked as C so that zig's
      # own libc++ and libc++abi (no exceptions) stay out.
      python3 -m ziglang c++ "${eh_flags[@]}" -std=c++23 -c -o "$out/zig/$name.o" "$src"
      python3 -m ziglang cc "${eh_flags[@]}" -s -o "$out/zig/$name.wasm" "$out/zig/$name.o" "$eh_runtime"
      toolchains=(zig) ;;
    *)
      c++ -std=c++17 -O2 -o "$out/$name.native" "$src"
      # zig builds its libc++ for WASI without std::filesystem; compile
      # libc++'s own filesystem sources (shipped with zig) into the program.
      python3 -m ziglang c++ --target=wasm32-wasi -O2 -std=c++23 -fno-exceptions \
        -Wno-macro-redefined -D_LIBCPP_HAS_FILESYSTEM=1 -D_LIBCPP_HAS_MUSL_LIBC=0 \
        -D_LIBCPP_BUILDING_LIBRARY -I"$libcxx_src" -o "$out/zig/$name.wasm" "$src" \
        "$libcxx_src"/filesystem/{operations,directory_iterator,directory_entry,path,filesystem_error,filesystem_clock}.cpp
      toolchains=(zig) ;;
    esac ;;
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
  mkdir -p "$out/p2"
  "$componentize" --adapt "$adapter" "$out/zig/$name.wasm" "$out/p2/$name.wasm"
  p2=(p2)
  case "$name" in
    # The adapter makes up the `.` and `..` entries fd_readdir returns
    # (WASI 0.2's directory entries have neither, nor inodes): `..`'s
    # d_ino is not its directory's, and at a preopen's root libc's
    # scandir cannot fstatat it. wasmtime 48 differs from native here too
    # (more: it also refuses `..` paths beneath the root).
    dotdot|scandir) p2=(); skipped+=("$name (p2): the adapter's made-up \`..\` entries") ;;
  esac
  for tc in "${toolchains[@]}" "${p2[@]}"; do
    mkdir -p "$out/w-$tc-$name"
    set +e
    wasm_out="$(cd "$out/w-$tc-$name" && printf '%s' "$input" | GREETING= "$engine" run --dir .::/ --env GREETING=hi "$out/$tc/$name.wasm" "${args[@]}" 2>/dev/null)"; wasm_status=$?
    set -e
    want_status=$native_status
    if [ "$tc" = p2 ] && [ "$native_status" != 0 ]; then want_status=1; fi
    if [ "$wasm_out" == "$native_out" ] && [ "$wasm_status" == "$want_status" ]; then
      pass=$((pass + 1))
    else
      fail=$((fail + 1))
      echo "FAIL $name ($tc): status wasm $wasm_status, want $want_status"
      diff <(echo "$native_out") <(echo "$wasm_out") || true
    fi
  done
done
for s in "${skipped[@]}"; do echo "skipped: $s"; done
echo "c-programs: $programs programs, $pass runs passed, $fail failed, ${#skipped[@]} skipped (debian: wasi-libc 2022, zig $zig_version: recent wasi-libc, simd: debian at -O3 -msimd128; eh_*: zig in final-form wasm exceptions; p2: zig's made a WASI 0.2 component with jco $jco_version's preview-1 adapter)"
[ "$fail" = 0 ]
