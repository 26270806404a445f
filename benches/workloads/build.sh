#!/usr/bin/env bash
# Builds the benchmark workloads for wasm32-wasi (committed, so benchmarks need
# no C toolchain) and natively (for the ratio to native). Needs Debian's
# clang-19 + wasi-libc (see tests/c/run.sh, which installs them).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p native
for src in *.c; do
  name="${src%.c}"
  clang-19 --target=wasm32-wasi -O2 -o "$name.wasm" "$src" -lm
  cc -O2 -o "native/$name" "$src" -lm
done
# The loops clang vectorizes with WebAssembly SIMD (`-msimd128`): a test of
# real auto-vectorized code (cli/tests/cli.rs runs them and compares their
# output with the scalar builds), benchmarked as `simd/NAME` by `compare`.
mkdir -p simd
for name in matmul nbody strings; do
  clang-19 --target=wasm32-wasi -O3 -msimd128 -Wl,--strip-all -o "simd/$name.wasm" "$name.c" -lm
done
# SIMD kernels written with wasm_simd128.h intrinsics. Natively (built by
# `compare` itself, like the others' native builds) the same files take a
# scalar path that prints the same output.
for src in kernels/*.c; do
  clang-19 --target=wasm32-wasi -O2 -msimd128 -Wl,--strip-all -o "${src%.c}.wasm" "$src"
done
echo "built: $(ls *.wasm simd/*.wasm kernels/*.wasm | tr '\n' ' ')"
