#!/usr/bin/env bash
# The main job: the original QLocalSocket benchmark flows through qlocal, timed row by row in
# the same run as the same flows written against Qt 6 and Qt 5 (bench/qt_flow.cpp), printed
# as one table with ratios. Installs Qt's development packages with apt-get when they are
# missing and we are root; without Qt it prints qlocal's figures alone.
#
#   bash scripts/flows.sh [--quick] [--repeat N] [--no-qt]
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0 repeat=1 with_qt=1
while (($#)); do
    case "$1" in
        --quick) quick=1 ;;
        --repeat) repeat=$2; shift ;;
        --no-qt) with_qt=0 ;;
        *) echo "usage: $0 [--quick] [--repeat N] [--no-qt]" >&2; exit 2 ;;
    esac
    shift
done

if ((with_qt)) && ! pkg-config --exists Qt6Network 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "== installing Qt 5 and Qt 6 development packages (for the side-by-side figures)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qt6-base-dev qtbase5-dev pkg-config g++ >/dev/null
    fi
fi

echo "== building qlocal's flow program (cargo, release)"
cargo build --release --locked -q -p qlocal-cpp-tests
qlocal=target/release/qlocal-cpp

impls=("qlocal")
declare -A cmd=([qlocal]="$qlocal flow-row")
if ((with_qt)); then
    mkdir -p target/qt
    for v in 6 5; do
        if pkg-config --exists "Qt${v}Network" 2>/dev/null; then
            echo "== building the Qt $v flow program"
            # shellcheck disable=SC2046
            c++ -O2 -std=c++17 -fPIC -Icpp_tests bench/qt_flow.cpp $(pkg-config --cflags --libs "Qt${v}Network") \
                -o "target/qt/qt${v}_flow"
            impls+=("qt$v")
            cmd[qt$v]="target/qt/qt${v}_flow --row"
        fi
    done
    if [[ " ${impls[*]} " == *" qt6 "* ]]; then
        # Debian's Qt uses the GLib dispatcher; Qt's own is faster at many connections.
        impls+=("qt6-noglib")
        cmd[qt6-noglib]="env QT_NO_GLIB=1 target/qt/qt6_flow --row"
    fi
fi

rows=()
if ((quick)); then
    rows=("pingPong 10" "pingPong 100" "pingPong 1000" "dataExchange 5 x 1000" "dataExchange 10 x 100000")
else
    for c in 10 50 100 1000 9990 10000; do rows+=("pingPong $c"); done
    for c in 1 5 10; do for k in 100 1000 10000 100000; do rows+=("dataExchange $c x $k"); done; done
fi

# Best (lowest) run time of $repeat tries, implementations interleaved so they share the
# machine's moods; "-" when a run failed (its error goes to stderr).
declare -A best
for row in "${rows[@]}"; do
    for ((k = 0; k < repeat; k++)); do
        for impl in "${impls[@]}"; do
            out=$(${cmd[$impl]} "$row" 2>/dev/null || true)
            read -r word _setup run _rest <<<"$out" || true
            if [ "$word" = ok ]; then
                cur=${best["$impl|$row"]:-}
                if [ -z "$cur" ] || awk "BEGIN{exit !($run < $cur)}"; then best["$impl|$row"]=$run; fi
            else
                echo "   $impl, $row: ${out:-no output}" >&2
            fi
        done
    done
done

echo
echo "Original QLocalSocket benchmark flows: run time in ms (lower is better), best of $repeat;"
echo "ratios above 1 mean qlocal is faster. pingPong 10000 runs its clients in a second process."
printf '%-26s' row
for impl in "${impls[@]}"; do printf ' %11s' "$impl"; done
for impl in "${impls[@]:1}"; do printf ' %13s' "$impl/qlocal"; done
echo
failed=0
for row in "${rows[@]}"; do
    printf '%-26s' "$row"
    for impl in "${impls[@]}"; do
        v=${best["$impl|$row"]:-}
        if [ -n "$v" ]; then printf ' %11.1f' "$v"; else printf ' %11s' "-"; fi
    done
    q=${best["qlocal|$row"]:-}
    [ -n "$q" ] || failed=1
    for impl in "${impls[@]:1}"; do
        v=${best["$impl|$row"]:-}
        if [ -n "$v" ] && [ -n "$q" ]; then printf ' %13.2f' "$(awk "BEGIN{print $v / $q}")"; else printf ' %13s' "-"; fi
    done
    echo
done
exit $failed
