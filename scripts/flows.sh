#!/usr/bin/env bash
# The main job: the original QLocalSocket benchmark flows through qlocal, timed row by row in
# the same run as the same flow written as a plain C epoll program (bench/epoll_flow.c, the
# floor of this flow on this machine) and against Qt 6 and Qt 5 (bench/qt_flow.cpp). Each row
# is printed as soon as all implementations have run it (progress on stderr), then memory per
# connection and 1-connection round-trip latency; the figures also go to target/flows/flows.json
# and a chart to target/flows/flows.svg (scripts/flows_report.py). Installs Qt's development
# packages with apt-get when they are missing and we are root; without Qt it prints qlocal's
# and the floor's figures alone. Exits non-zero when a qlocal row failed.
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

out=target/flows
mkdir -p "$out"
echo "== building qlocal's flow program (cargo, release)"
cargo build --release --locked -q -p qlocal-cpp-tests
qlocal=target/release/qlocal-cpp
echo "== building the C epoll floor (cc -O2)"
cc -O2 -std=c11 -Wall -Wextra -pthread bench/epoll_flow.c -o "$out/epoll_flow"
cc -O2 -std=c11 -Wall -Wextra bench/peak_rss.c -o "$out/peak_rss"

impls=("qlocal" "floor")
declare -A cmd=([qlocal]="$qlocal flow-row" [floor]="$out/epoll_flow --row")
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
    rtt_rounds=5000
else
    for c in 10 50 100 1000 9990 10000; do rows+=("pingPong $c"); done
    for c in 1 5 10; do for k in 100 1000 10000 100000; do rows+=("dataExchange $c x $k"); done; done
    rtt_rounds=20000
fi
qt_impls=("${impls[@]:2}")

# Every run, one line each, for the report: impl, row, try, ok|error, setup ms, run ms,
# max RSS KB, error text.
runs=$out/runs.tsv
: >"$runs"

# Progress on stderr: one line rewritten in place on a terminal, plain lines in a log.
if [ -t 2 ]; then progress() { printf '\r\033[K%s' "$*" >&2; }; clear_progress() { printf '\r\033[K' >&2; }
else progress() { printf '%s\n' "$*" >&2; }; clear_progress() { :; }; fi

echo
echo "Original QLocalSocket benchmark flows: run time in ms (lower is better), best of $repeat,"
echo "all implementations interleaved in this run. floor = the same flow as a plain C program on"
echo "non-blocking AF_UNIX sockets and epoll (bench/epoll_flow.c). a/b = a's time over b's:"
echo "qlocal/floor above 1 is how far qlocal is from the floor; qt*/qlocal above 1 means qlocal is"
echo "faster. pingPong 10000 runs its clients in a second process."
printf '%-26s' row
for impl in "${impls[@]}"; do printf ' %11s' "$impl"; done
# Ratio columns as wide as their names (at least 12).
declare -A rw
for name in qlocal/floor "${qt_impls[@]/%//qlocal}"; do
    rw[$name]=$((${#name} > 12 ? ${#name} : 12))
    printf " %${rw[$name]}s" "$name"
done
echo

# ratio COLUMN A B: A / B in that column's width, "-" when either is missing.
ratio() {
    local w=${rw[$1]}
    if [ -n "$2" ] && [ -n "$3" ]; then awk "BEGIN{printf \" %${w}.2f\", $2 / $3}"; else printf " %${w}s" "-"; fi
}

# Best (lowest) run time of $repeat tries, implementations interleaved so they share the
# machine's moods; "-" when every try failed (the errors follow the table).
declare -A best
failed=0 n=0 errors=()

# run_try NAME ROW TRY COMMAND...: one try of ROW by COMMAND (which takes the row label last),
# under peak_rss; recorded in runs.tsv as NAME, kept in best[NAME|ROW] when it is the fastest,
# added to `errors` when it failed.
run_try() {
    local name=$1 row=$2 k=$3 res rss word setup run _rest cur
    shift 3
    rm -f "$out/rss"
    res=$("$out/peak_rss" "$out/rss" "$@" "$row" 2>"$out/stderr" || true)
    rss=$(cat "$out/rss" 2>/dev/null || echo "")
    read -r word setup run _rest <<<"$res" || true
    if [ "$word" = ok ]; then
        printf '%s\t%s\t%d\tok\t%s\t%s\t%s\t\n' "$name" "$row" "$k" "$setup" "$run" "$rss" >>"$runs"
        cur=${best["$name|$row"]:-}
        if [ -z "$cur" ] || awk "BEGIN{exit !($run < $cur)}"; then best["$name|$row"]=$run; fi
    else
        res=$(cat - "$out/stderr" <<<"${res:-no output}" | tr '\n\t' '  ')
        printf '%s\t%s\t%d\terror\t\t\t%s\t%s\n' "$name" "$row" "$k" "$rss" "$res" >>"$runs"
        errors+=("$name, $row: $res")
    fi
}

for row in "${rows[@]}"; do
    n=$((n + 1))
    for ((k = 0; k < repeat; k++)); do
        for impl in "${impls[@]}"; do
            progress "[$n/${#rows[@]}] $row ... $impl$( ((repeat > 1)) && echo " (try $((k + 1))/$repeat)")"
            # shellcheck disable=SC2086
            run_try "$impl" "$row" "$k" ${cmd[$impl]}
        done
    done
    clear_progress
    printf '%-26s' "$row"
    for impl in "${impls[@]}"; do
        v=${best["$impl|$row"]:-}
        if [ -n "$v" ]; then printf ' %11.1f' "$v"; else printf ' %11s' "-"; fi
    done
    q=${best["qlocal|$row"]:-}
    [ -n "$q" ] || failed=1
    ratio qlocal/floor "$q" "${best["floor|$row"]:-}"
    for impl in "${qt_impls[@]}"; do ratio "$impl/qlocal" "${best["$impl|$row"]:-}" "$q"; done
    echo
done

# The 1-connection rows again with busy-polling (QLOCAL_FLOW_BUSY_POLL_US=200: every loop of
# the flow spins 200 us before sleeping), against the floor's best from the table (the quick grid
# has no such row: dataExchange 1 x 1000 is run for both here).
bp_rows=()
for row in "${rows[@]}"; do [[ $row == "dataExchange 1 x "* ]] && bp_rows+=("$row"); done
((${#bp_rows[@]})) || bp_rows=("dataExchange 1 x 1000")
echo
echo "Busy-polling, 1 connection (qlocal_loop_set_busy_poll, 200 us; two CPUs busy while it runs):"
printf '%-26s %11s %11s %16s\n' row qlocal-bp floor floor/qlocal-bp
for row in "${bp_rows[@]}"; do
    for ((k = 0; k < repeat; k++)); do
        progress "busy-poll: $row"
        run_try qlocal-busy-poll "$row" "$k" env QLOCAL_FLOW_BUSY_POLL_US=200 "$qlocal" flow-row
        [ -n "${best["floor|$row"]:-}" ] || run_try floor "$row" "$k" "$out/epoll_flow" --row
    done
    clear_progress
    b=${best["qlocal-busy-poll|$row"]:-} f=${best["floor|$row"]:-}
    if [ -n "$b" ] && [ -n "$f" ]; then printf '%-26s %11.1f %11.1f' "$row" "$b" "$f"; awk "BEGIN{printf \" %16.2f\n\", $f / $b}"
    else printf '%-26s %11s %11s %16s\n' "$row" "${b:--}" "${f:--}" -; fi
done

# Worker loops (the multi-thread server pattern: the server thread's incoming-connection
# callback hands each connection to one of N worker loops on their own threads). The client
# side runs on one more thread, so on a 2-core machine 2 workers share the CPUs with it.
echo
echo "Worker loops (QLOCAL_FLOW_WORKERS: 0 = the server's own loop echoes; 1 and 2 worker threads):"
printf '%-26s %11s %11s %11s %12s\n' row "0 workers" "1 worker" "2 workers" "1w/2w"
for row in "dataExchange 10 x 100000" "pingPong 1000"; do
    for ((k = 0; k < repeat; k++)); do
        for w in 0 1 2; do
            progress "workers: $row, $w"
            run_try "qlocal-workers-$w" "$row" "$k" env QLOCAL_FLOW_WORKERS=$w "$qlocal" flow-row
        done
    done
    clear_progress
    printf '%-26s' "$row"
    for w in 0 1 2; do v=${best["qlocal-workers-$w|$row"]:-}; if [ -n "$v" ]; then printf ' %11.1f' "$v"; else printf ' %11s' -; fi; done
    w1=${best["qlocal-workers-1|$row"]:-} w2=${best["qlocal-workers-2|$row"]:-}
    if [ -n "$w1" ] && [ -n "$w2" ]; then awk "BEGIN{printf \" %12.2f\n\", $w1 / $w2}"; else printf ' %12s\n' -; fi
done

for e in "${errors[@]}"; do echo "   failed: $e" >&2; done

# Round-trip latency over one connection, 100 bytes: blocking waits (qlocal and the floor), and
# qlocal with busy-polling (qlocal_loop_set_busy_poll, 200 us: both threads spin that long
# before sleeping, so each keeps a CPU busy while the exchange runs).
rtt=$out/rtt.tsv
: >"$rtt"
for ((k = 0; k < repeat; k++)); do
    for impl in qlocal qlocal-busy-poll floor; do
        progress "latency: $impl, $rtt_rounds round trips"
        case $impl in
            qlocal) res=$($qlocal flow-rtt "$rtt_rounds" 2>&1 || true) ;;
            qlocal-busy-poll) res=$($qlocal flow-rtt "$rtt_rounds" 200 2>&1 || true) ;;
            *) res=$("$out/epoll_flow" --rtt "$rtt_rounds" 2>&1 || true) ;;
        esac
        read -r word p50 p99 _rest <<<"$res" || true
        if [ "$word" = ok ]; then printf '%s\t%s\t%s\n' "$impl" "$p50" "$p99" >>"$rtt"
        else echo "   failed: $impl latency: $res" >&2; fi
    done
done
clear_progress

if command -v python3 >/dev/null 2>&1; then
    python3 scripts/flows_report.py --runs "$runs" --rtt "$rtt" --repeat "$repeat" --quick "$quick" \
        --qt6 "$(pkg-config --modversion Qt6Network 2>/dev/null || true)" \
        --qt5 "$(pkg-config --modversion Qt5Network 2>/dev/null || true)" \
        --json "$out/flows.json" --svg "$out/flows.svg"
else
    echo "python3 not found: no memory/latency summary, JSON or chart (every run is in $runs)"
fi
exit $failed
