#!/usr/bin/env python3
"""The end of scripts/flows.sh: reads every run it recorded (runs.tsv, rtt.tsv), prints memory
per connection and round-trip latency, and writes the whole run as JSON and as an SVG chart
(run time against connections for pingPong; run time against chunk size for dataExchange).
Python 3 standard library only."""

import argparse
import datetime
import json
import math
import os
import platform
import re
import sys

COLOURS = {
    "qlocal": "#1f62b4",
    "floor": "#222222",
    "qt6": "#2ca02c",
    "qt5": "#d62728",
    "qt6-noglib": "#ff7f0e",
}
DASHED = {"floor": "6,4", "qt6-noglib": "2,3"}


def parse_row(label):
    m = re.fullmatch(r"pingPong (\d+)", label)
    if m:
        return {"kind": "pingPong", "connections": int(m[1]), "chunk": 1}
    m = re.fullmatch(r"dataExchange (\d+) x (\d+)", label)
    if m:
        return {"kind": "dataExchange", "connections": int(m[1]), "chunk": int(m[2])}
    raise ValueError(f"unknown row {label!r}")


def number(text):
    return float(text) if text else None


def read_runs(path):
    """impls and row labels in the order they ran, and per (impl, row) the list of tries."""
    impls, labels, tries = [], [], {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            impl, label, k, status, setup, run, rss, error = line.rstrip("\n").split("\t")
            if impl not in impls:
                impls.append(impl)
            if label not in labels:
                labels.append(label)
            tries.setdefault((impl, label), []).append({
                "try": int(k),
                "ok": status == "ok",
                "setup_ms": number(setup),
                "run_ms": number(run),
                "max_rss_kb": int(rss) if rss else None,
                **({"error": error} if error else {}),
            })
    return impls, labels, tries


def best_of(tries):
    ok = [t for t in tries if t["ok"]]
    return min(ok, key=lambda t: t["run_ms"]) if ok else None


def build(args):
    impls, labels, tries = read_runs(args.runs)
    qt_impls = [i for i in impls if i.startswith("qt")]
    rows = []
    for label in labels:
        row = {"label": label, **parse_row(label), "results": {}, "ratios": {}}
        for impl in impls:
            b = best_of(tries.get((impl, label), []))
            row["results"][impl] = {
                "run_ms": b["run_ms"] if b else None,
                "setup_ms": b["setup_ms"] if b else None,
                "max_rss_kb": min((t["max_rss_kb"] for t in tries.get((impl, label), [])
                                   if t["ok"] and t["max_rss_kb"]), default=None),
                "tries": tries.get((impl, label), []),
            }
        run = {i: row["results"][i]["run_ms"] for i in impls}

        def ratio(a, b):
            return round(run[a] / run[b], 3) if run.get(a) and run.get(b) else None

        row["ratios"]["qlocal/floor"] = ratio("qlocal", "floor")
        for q in qt_impls:
            row["ratios"][f"{q}/qlocal"] = ratio(q, "qlocal")
        rows.append(row)

    # Memory: max RSS of the smallest and the largest single-process pingPong row.
    pp = sorted((r for r in rows if r["kind"] == "pingPong" and r["connections"] < 10000),
                key=lambda r: r["connections"])
    memory = {"rows": None, "per_connection_kb": {}}
    if len(pp) >= 2:
        small, big = pp[0], pp[-1]
        memory["rows"] = [small["label"], big["label"]]
        for impl in impls:
            a, b = small["results"][impl]["max_rss_kb"], big["results"][impl]["max_rss_kb"]
            per = (b - a) / (big["connections"] - small["connections"]) if a and b else None
            memory["per_connection_kb"][impl] = round(per, 2) if per is not None else None

    rtt = {}
    if os.path.exists(args.rtt):
        with open(args.rtt, encoding="utf-8") as f:
            for line in f:
                impl, p50, p99 = line.split()
                cur = rtt.get(impl)
                if cur is None or float(p50) < cur["p50_us"]:
                    rtt[impl] = {"p50_us": float(p50), "p99_us": float(p99)}

    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "grid": "quick" if args.quick == "1" else "full",
        "best_of": args.repeat,
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release()},
        "qt_versions": {k: v for k, v in (("qt6", args.qt6), ("qt5", args.qt5)) if v},
        "implementations": impls,
        "units": {"run_ms": "ms from start to the last client done (set-up excluded)",
                  "max_rss_kb": "peak RSS of the whole run, KB",
                  "memory per_connection_kb": "KB per connection, both ends in one process",
                  "rtt": "us per 100-byte round trip over one connection, blocking waits "
                         "(qlocal-busy-poll: 200 us of busy-polling before each sleep)"},
        "rows": rows,
        "memory": memory,
        "rtt_1_connection": rtt,
        "failures": [f"{i}, {r['label']}: {t.get('error', '')}" for r in rows
                     for i, res in r["results"].items() for t in res["tries"] if not t["ok"]],
    }


def print_summary(report, json_path, svg_path):
    mem = report["memory"]
    if mem["rows"]:
        parts = [f"{i} {v:.2f}" for i, v in mem["per_connection_kb"].items() if v is not None]
        print(f"\nMemory per connection (max RSS, {mem['rows'][1]} minus {mem['rows'][0]}, both ends "
              f"in one process), KB: " + ", ".join(parts))
    rtt = report["rtt_1_connection"]
    if rtt:
        parts = [f"{i} p50 {v['p50_us']:.1f} / p99 {v['p99_us']:.1f}" for i, v in rtt.items()]
        print("Round trip, 1 connection, 100 bytes (blocking waits; qlocal-busy-poll spins 200 us "
              "first), us: " + ", ".join(parts))
    print(f"JSON: {json_path}\nChart: {svg_path}")


# ---- SVG ---------------------------------------------------------------------------------------

def esc(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def log_ticks(lo, hi):
    """Tick values for a log axis covering [lo, hi]: decades, with 2 and 5 when it is short."""
    a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    if b == a:
        b += 1
    steps = (1, 2, 5) if b - a <= 3 else (1,)
    ticks = [m * 10 ** e for e in range(a, b + 1) for m in steps]
    return [t for t in ticks if 10 ** a <= t <= 10 ** b], 10 ** a, 10 ** b


def fmt(v):
    return f"{v:g}" if v < 1e5 else f"{v:.0e}"


def panel(x0, y0, w, h, title, xlabel, series):
    """One log-log panel; series: {impl: [(x, y), ...]}. Returns SVG elements."""
    pts = [p for s in series.values() for p in s]
    out = [f'<text x="{x0 + w / 2}" y="{y0 - 10}" text-anchor="middle" font-weight="bold">{esc(title)}</text>',
           f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#999"/>']
    if not pts:
        out.append(f'<text x="{x0 + w / 2}" y="{y0 + h / 2}" text-anchor="middle">no rows</text>')
        return out
    xt, xlo, xhi = log_ticks(min(p[0] for p in pts), max(p[0] for p in pts))
    yt, ylo, yhi = log_ticks(min(p[1] for p in pts), max(p[1] for p in pts))

    def sx(v):
        return x0 + w * (math.log10(v) - math.log10(xlo)) / (math.log10(xhi) - math.log10(xlo))

    def sy(v):
        return y0 + h - h * (math.log10(v) - math.log10(ylo)) / (math.log10(yhi) - math.log10(ylo))

    for t in xt:
        out.append(f'<line x1="{sx(t):.1f}" y1="{y0}" x2="{sx(t):.1f}" y2="{y0 + h}" stroke="#eee"/>')
        out.append(f'<text x="{sx(t):.1f}" y="{y0 + h + 16}" text-anchor="middle" font-size="11">{fmt(t)}</text>')
    for t in yt:
        out.append(f'<line x1="{x0}" y1="{sy(t):.1f}" x2="{x0 + w}" y2="{sy(t):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{x0 - 6}" y="{sy(t) + 4:.1f}" text-anchor="end" font-size="11">{fmt(t)}</text>')
    out.append(f'<text x="{x0 + w / 2}" y="{y0 + h + 34}" text-anchor="middle" font-size="12">{esc(xlabel)}</text>')
    out.append(f'<text x="{x0 - 46}" y="{y0 + h / 2}" text-anchor="middle" font-size="12" '
               f'transform="rotate(-90 {x0 - 46} {y0 + h / 2})">run time, ms</text>')
    for impl, s in series.items():
        if not s:
            continue
        colour = COLOURS.get(impl, "#777")
        dash = f' stroke-dasharray="{DASHED[impl]}"' if impl in DASHED else ""
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in sorted(s))
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
        for x, y in s:
            out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{colour}">'
                       f'<title>{esc(impl)}: {y:.1f} ms</title></circle>')
    return out


def write_svg(report, path):
    impls = report["implementations"]
    rows = report["rows"]

    def series(pick, xkey):
        return {i: [(r[xkey], r["results"][i]["run_ms"]) for r in rows
                    if pick(r) and r["results"][i]["run_ms"]] for i in impls}

    width, height = 1000, 760
    body = [f'<text x="{width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">'
            f'Original QLocalSocket benchmark flows, {esc(report["grid"])} grid, best of {report["best_of"]}, '
            f'{esc(report["date"][:10])} (log-log; lower is better)</text>']
    body += panel(90, 70, 560, 300, "pingPong: 100,000 one-byte round trips shared by N connections",
                  "connections (one process; pingPong 10000, two processes, is in the table)",
                  series(lambda r: r["kind"] == "pingPong" and r["connections"] < 10000, "connections"))
    for k, c in enumerate((1, 5, 10)):
        body += panel(90 + k * 300, 450, 240, 230, f"dataExchange, {c} connection{'s' if c > 1 else ''}",
                      "chunk size, bytes",
                      series(lambda r, c=c: r["kind"] == "dataExchange" and r["connections"] == c, "chunk"))
    for k, impl in enumerate(impls):  # legend
        y = 90 + k * 24
        colour = COLOURS.get(impl, "#777")
        dash = f' stroke-dasharray="{DASHED[impl]}"' if impl in DASHED else ""
        body.append(f'<line x1="700" y1="{y}" x2="740" y2="{y}" stroke="{colour}" stroke-width="2"{dash}/>')
        body.append(f'<text x="748" y="{y + 4}" font-size="13">{esc(impl)}</text>')
    body.append(f'<text x="700" y="{100 + len(impls) * 24}" font-size="11">floor: the same flow in plain C</text>')
    body.append(f'<text x="700" y="{114 + len(impls) * 24}" font-size="11">on non-blocking AF_UNIX + epoll</text>')
    svg = (f'<?xml version="1.0" encoding="UTF-8"?>\n'
           f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">\n'
           f'<rect width="100%" height="100%" fill="white"/>\n' + "\n".join(body) + "\n</svg>\n")
    with open(path, "w", encoding="utf-8") as f:
        f.write(svg)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", required=True)
    ap.add_argument("--rtt", required=True)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--quick", default="0")
    ap.add_argument("--qt6", default="")
    ap.add_argument("--qt5", default="")
    ap.add_argument("--json", required=True)
    ap.add_argument("--svg", required=True)
    args = ap.parse_args()
    report = build(args)
    with open(args.json, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    write_svg(report, args.svg)
    print_summary(report, args.json, args.svg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
