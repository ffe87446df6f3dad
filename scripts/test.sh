#!/usr/bin/env bash
# Runs every qlocal test: formatting and lints, the Rust tests (which also run every C++ case
# through cargo), then the C++ cases again through CMake/ctest, once against the shared library
# and once under AddressSanitizer/LeakSanitizer + UBSan against the static library.
# Installs cmake and Qt 5/6 (for the interop tests) with apt-get when missing and we are root.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=${QLOCAL_JOBS:-2}
build=${QLOCAL_BUILD_DIR:-build}

need_pkgs=()
command -v cmake >/dev/null 2>&1 || need_pkgs+=(cmake)
command -v c++ >/dev/null 2>&1 || need_pkgs+=(g++)
command -v pkg-config >/dev/null 2>&1 || need_pkgs+=(pkg-config)
pkg-config --exists Qt6Network 2>/dev/null || need_pkgs+=(qt6-base-dev)
pkg-config --exists Qt5Network 2>/dev/null || need_pkgs+=(qtbase5-dev)
command -v clang++ >/dev/null 2>&1 || need_pkgs+=(clang)
if ((${#need_pkgs[@]})); then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "== installing ${need_pkgs[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
    elif [[ " ${need_pkgs[*]} " == *" cmake "* ]]; then
        echo "missing: ${need_pkgs[*]} (install them, or run as root with apt-get)" >&2
        exit 1
    else
        echo "note: ${need_pkgs[*]} missing: the tests that need them (Qt interop, Clang compile checks) will be skipped" >&2
    fi
fi

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy (warnings are errors)"
cargo clippy --locked --workspace --all-targets -- -D warnings
# macOS and FreeBSD are checked by cross-compiling (no machine of either here): the library and
# its Rust tests must build there with no clippy warning. QLOCAL_REQUIRE_CROSS=ON (CI) makes a
# missing target an error instead of a skipped check.
for target in x86_64-apple-darwin x86_64-unknown-freebsd; do
    if rustup target list --installed 2>/dev/null | grep -qx "$target"; then
        echo "== cargo clippy --target $target (warnings are errors)"
        cargo clippy --locked -p qlocal --all-targets --target "$target" -- -D warnings
    elif [ "${QLOCAL_REQUIRE_CROSS:-OFF}" = ON ]; then
        echo "missing Rust target $target (rustup target add $target)" >&2
        exit 1
    else
        echo "note: Rust target $target not installed: its clippy check is skipped" >&2
    fi
done
echo "== cargo test (Rust unit tests, header check, every C++ case)"
cargo test --locked --workspace --no-fail-fast

echo "== CMake build + ctest (shared library)"
# QLOCAL_REQUIRE_QT=ON (CI sets it) makes a missing Qt 5 or Qt 6 an error instead of skipped
# interop tests.
# QLOCAL_REQUIRE_CLANG=ON (CI sets it too) makes a missing clang an error instead of GCC-only
# compile-warning tests.
qt_flag="-DQLOCAL_REQUIRE_QT=${QLOCAL_REQUIRE_QT:-OFF} -DQLOCAL_REQUIRE_CLANG=${QLOCAL_REQUIRE_CLANG:-OFF}"
cmake -S . -B "$build/shared" -DCMAKE_BUILD_TYPE=Release $qt_flag >/dev/null
cmake --build "$build/shared" -j "$jobs"
ctest --test-dir "$build/shared" --output-on-failure -j "$jobs"

echo "== CMake build + ctest under AddressSanitizer/LeakSanitizer/UBSan (static library)"
cmake -S . -B "$build/asan" -DCMAKE_BUILD_TYPE=Debug -DQLOCAL_SANITIZE=ON $qt_flag >/dev/null
cmake --build "$build/asan" -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$build/asan" --output-on-failure -j "$jobs"

echo "== all tests passed"
