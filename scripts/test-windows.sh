#!/usr/bin/env bash
# The Windows suite, cross-built with Debian's mingw-w64 and run under Wine:
# - the library's unit tests and tests/windows.rs (named pipes: the flow's pingPong and
#   dataExchange small rows with every byte checked, echo with raw Win32 pipe clients and
#   servers both ways, absent name, busy pipe with a deadline, second server, access options;
#   embedding through the loop's waitable handle; adopting pipe handles);
# - tests/embed_windows.c (the Qt driver's steps in C against qlocal.h);
# - every C++ case of cpp_tests/ (qlocal-cpp.exe, built by cargo with the posix-thread
#   x86_64-w64-mingw32-g++ and linked statically), each in its own Wine process with a
#   deadline, as ctest runs them on Linux: the flows (pingPong, dataExchange, 2-process rows)
#   included. A case that needs POSIX (QLOCAL_TEST_POSIX: socketpairs, half-close, socket
#   files, the abstract namespace, fork and peer credentials, RLIMIT_NOFILE, descriptor
#   passing) is not run, and listed with its reason; a case whose Windows behaviour differs
#   asserts the Windows behaviour (README, Windows).
# Any failed case fails the script.
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

# One wineserver for all the C++ cases (the prefix exists by now). The one Wine starts on its
# own runs with -p0: it exits as soon as a case's process ends, and the next case, connecting
# while it exits, dies with "wine client error ... Connection reset by peer" (seen in CI). So
# that one is stopped, and a persistent one started; -p fails while another one runs.
WINESERVER=/usr/lib/wine/wineserver64
[ -x "$WINESERVER" ] || WINESERVER=wineserver
"$WINESERVER" -k 2>/dev/null || true
"$WINESERVER" -w 2>/dev/null || true
"$WINESERVER" -p
trap '"$WINESERVER" -k 2>/dev/null || true' EXIT
echo "== Windows (Wine): C++ cases (cpp_tests, one Wine process each)"
start=$(date +%s)
# std::thread needs the posix thread model of mingw-w64's g++ (the default, win32, has none).
export CXX_x86_64_pc_windows_gnu=x86_64-w64-mingw32-g++-posix
export AR_x86_64_pc_windows_gnu=x86_64-w64-mingw32-ar
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc-posix
cargo build -q -p qlocal-cpp-tests --bin qlocal-cpp --target "$TARGET"
EXE=target/$TARGET/debug/qlocal-cpp.exe
cp -f "$W/bcryptprimitives.dll" "$(dirname "$EXE")/"
# Wine's console writes CRLF; `list` gives one case a line, a tab and the reason after one
# that does not run on Windows.
list=$(timeout 60 "$WINE" "$EXE" list | tr -d '\r')
# Every case in the sources is registered (run or not run), none dropped.
declared=$(grep -hoE '^[[:space:]]*QLOCAL_TEST(_POSIX)?\([A-Za-z0-9_]+' cpp_tests/*.cpp |
    sed -E 's/.*\(//' | sort)
if [ "$(cut -f1 <<<"$list" | sort)" != "$declared" ]; then
    echo "test-windows: qlocal-cpp.exe list differs from the cases in cpp_tests/*.cpp" >&2
    diff <(cut -f1 <<<"$list" | sort) <(echo "$declared") >&2 || true
    exit 1
fi
passed=0
failed=()
log=$W/cases
mkdir -p "$log"
while IFS= read -r name; do
    # 120 s per case, as ctest's TIMEOUT; timeout(1) kills a hung case.
    if timeout 120 "$WINE" "$EXE" run "$name" >"$log/$name.log" 2>&1; then
        passed=$((passed + 1))
    else
        rc=$?
        failed+=("$name")
        echo "-- $name FAILED (exit $rc; 124: timed out):"
        tr -d '\r' <"$log/$name.log" | tail -n 20
    fi
done < <(grep -v $'\t' <<<"$list")
not_run=$(grep $'\t' <<<"$list" || true)
echo "== Windows (Wine): C++ cases: ${passed} passed, ${#failed[@]} failed, $(grep -c . <<<"$not_run") not run," \
    "in $(( $(date +%s) - start )) s"
echo "== Windows (Wine): C++ cases not run, with the reason:"
sed -E 's/^([^\t]*)\t/- \1: /' <<<"$not_run"

# Not run under Wine at all, with the reason (README, Windows):
cat <<'TXT'
== Windows (Wine): not run
- tests/header.rs: host-only (cbindgen reads the Rust sources; the header is one for all
  systems).
- qlocal_qt.hpp: no Qt for mingw-w64 here; tests/embed_windows.c and tests/windows.rs
  (`embed`) run its driver's steps (QWinEventNotifier on the qlocal_loop_fd handle, a timer on
  qlocal_loop_timeout, NO_WAIT runs) instead.
TXT
if [ "${#failed[@]}" -gt 0 ]; then
    echo "test-windows: failed C++ cases: ${failed[*]}" >&2
    exit 1
fi
