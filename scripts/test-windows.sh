#!/usr/bin/env bash
# The Windows suite, cross-built with Debian's mingw-w64 and run under Wine:
# the library's unit tests and tests/windows.rs (named pipes: the flow's pingPong and
# dataExchange small rows with every byte checked, echo with raw Win32 pipe clients and
# servers both ways, absent name, busy pipe with a deadline, second server, access options;
# embedding through the loop's waitable handle), then tests/embed_windows.c (the Qt driver's
# steps in C against qlocal.h).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=x86_64-pc-windows-gnu
WINE=/usr/lib/wine/wine64
if ! command -v x86_64-w64-mingw32-gcc >/dev/null || [ ! -x "$WINE" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 wine64 >/dev/null
    else
        echo "test-windows: needs gcc-mingw-w64-x86-64 and wine64 (run as root to install)" >&2
        exit 1
    fi
fi
rustup target list --installed | grep -qx "$TARGET" || rustup target add "$TARGET" >/dev/null

# Wine 8 has no ProcessPrng (bcryptprimitives.dll), which Rust's std imports since 1.78:
# a DLL beside each .exe provides it over RtlGenRandom (SystemFunction036).
W=target/wine
mkdir -p "$W"
cat > "$W/prng.c" <<'C'
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG len);
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    return SystemFunction036(data, (ULONG)len);
}
C
x86_64-w64-mingw32-gcc -shared -O2 -o "$W/bcryptprimitives.dll" "$W/prng.c" -ladvapi32
cat > "$W/run.sh" <<'SH'
#!/usr/bin/env bash
# cargo's runner for the Windows target: the shim beside the .exe, then Wine.
exe="$1"; shift
cp -f "$(dirname "$0")/bcryptprimitives.dll" "$(dirname "$exe")/"
WINEDEBUG=-all exec timeout 300 /usr/lib/wine/wine64 "$exe" "$@"
SH
chmod +x "$W/run.sh"
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$PWD/$W/run.sh"
export WINEDEBUG=-all

echo "== Windows (Wine): clippy"
cargo clippy -q -p qlocal --all-targets --target "$TARGET" -- -D warnings
echo "== Windows (Wine): unit tests and tests/windows.rs"
start=$(date +%s)
cargo test -q -p qlocal --target "$TARGET" --lib --test windows
echo "== Windows (Wine): tests/embed_windows.c (qlocal_qt.hpp's driver steps, in C)"
cargo build -q -p qlocal --target "$TARGET"
D="target/$TARGET/debug"
mkdir -p "$W/embed"
x86_64-w64-mingw32-gcc -std=c11 -Wall -Wextra -Werror -O1 -Iinclude \
    -o "$W/embed/embed_windows.exe" tests/embed_windows.c "$D/libqlocal.dll.a"
cp -f "$D/qlocal.dll" "$W/embed/"
"$W/run.sh" "$W/embed/embed_windows.exe"
echo "== Windows (Wine): done in $(( $(date +%s) - start )) s"

# Not run under Wine, with the reason (README, Windows):
cat <<'TXT'
== Windows (Wine): not run
- cpp_tests (qlocal-cpp, every QLOCAL_TEST case and `flows`): the harness (harness.cpp,
  flow.cpp, flow_stream.hpp) is POSIX (fork/posix_spawn, waitpid, dirent, unistd,
  sys/resource, socketpair, poll, /proc); not ported to Win32 yet. tests/windows.rs covers
  the flow's pingPong and dataExchange small rows, the raw-Win32 echo and the error cases.
- tests/header.rs: host-only (cbindgen reads the Rust sources; the header is one for all
  systems).
- qlocal_qt.hpp: no Qt for mingw-w64 here; tests/embed_windows.c and tests/windows.rs
  (`embed`) run its driver's steps (QWinEventNotifier on the qlocal_loop_fd handle, a timer on
  qlocal_loop_timeout, NO_WAIT runs) instead.
TXT
