// The trace tests' driver: runs a Qt trace program and the qlocal trace program on one scenario
// (trace.hpp) and compares what each socket role saw, line by line.
//
//   trace_compare --scenario S --qt-major 5|6 --qt PROGRAM --qlocal PROGRAM
//                 --differences FILE --readme README.md [--timeout-ms N]
//   trace_compare --check-differences FILE --readme README.md
//
// Normalised before comparing, because it is not behaviour:
//   (a) consecutive bytes_written lines of one role become one line with the summed argument
//       (the other fields from the last one): the libraries may chunk writes differently;
//   (b) interleaving between roles: each role's own sequence is compared, not the merge;
//   notes ('#' lines) are shown but not compared. The text="..." of error lines (Qt's
//   errorString()) is compared wherever both traces have the line; a listed line written
//   without a text matches any text.
// Everything else the libraries do differently must be listed in the differences file, each
// entry naming the README row ("Deliberate differences from Qt") it corresponds to; an entry
// with no such row fails, and so does an entry whose Qt lines are not in the Qt trace. Any
// other difference fails and prints both traces side by side.
//
// Differences file: one entry a line, fields separated by " | ":
//   scenario-glob | qt-majors (e.g. 6 or 5,6) | role | Qt lines | qlocal lines | README row text
// Lines within a field are separated by " ;; "; "-" alone means no line. The Qt lines must
// occur as a contiguous run in the (normalised) Qt trace of that role; they are replaced by the
// qlocal lines to give what qlocal must print. The README field is a piece of text that must
// occur in a row of the README's "Deliberate differences from Qt" table. In expected lines a
// field "name=*" matches any value. A Qt-lines field "collapse EVENT..." (qlocal field "-") is
// a rule instead: in both traces of that role, each run of those events becomes one line
// "data read=<sum of avail> written=<sum of arg>" (see collapse()); replacements apply after.
#include <fnmatch.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Args {
    std::string scenario, qt, qlocal, differences, readme, check;
    int qt_major = 6;
    int timeout_ms = 20000;
};

bool parse(int argc, char **argv, Args &a) {
    for (int i = 1; i < argc; ++i) {
        std::string k = argv[i];
        if (i + 1 >= argc) return false;
        std::string v = argv[++i];
        if (k == "--scenario") a.scenario = v;
        else if (k == "--qt") a.qt = v;
        else if (k == "--qlocal") a.qlocal = v;
        else if (k == "--qt-major") a.qt_major = std::atoi(v.c_str());
        else if (k == "--differences") a.differences = v;
        else if (k == "--readme") a.readme = v;
        else if (k == "--timeout-ms") a.timeout_ms = std::atoi(v.c_str());
        else if (k == "--check-differences") a.check = v;
        else return false;
    }
    if (!a.check.empty()) return !a.readme.empty();
    return !a.scenario.empty() && !a.qt.empty() && !a.qlocal.empty() && !a.differences.empty() && !a.readme.empty();
}

std::string trim(const std::string &s) {
    size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::vector<std::string> split(const std::string &s, const std::string &sep) {
    std::vector<std::string> out;
    size_t at = 0;
    for (;;) {
        size_t next = s.find(sep, at);
        out.push_back(trim(s.substr(at, next == std::string::npos ? std::string::npos : next - at)));
        if (next == std::string::npos) return out;
        at = next + sep.size();
    }
}

// --- Running a program --------------------------------------------------------------------------

struct Run {
    std::string out;
    int status = -1;  // exit status, or -1 when killed or not started
    bool killed = false;
};

Run run(const std::vector<std::string> &argv, int timeout_ms) {
    Run r;
    int fds[2];
    if (pipe(fds) != 0) return r;
    pid_t pid = fork();
    if (pid < 0) return r;
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        std::vector<char *> args;
        for (const std::string &s : argv) args.push_back(const_cast<char *>(s.c_str()));
        args.push_back(nullptr);
        execv(args[0], args.data());
        std::perror("execv");
        _exit(127);
    }
    close(fds[1]);
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    char buf[65536];
    for (;;) {
        int left = static_cast<int>(
            std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count());
        if (left <= 0) {
            kill(pid, SIGKILL);  // our own child, by its id
            r.killed = true;
            break;
        }
        pollfd p{fds[0], POLLIN, 0};
        if (poll(&p, 1, left) <= 0) continue;
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n <= 0) break;
        r.out.append(buf, static_cast<size_t>(n));
    }
    close(fds[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    if (!r.killed && WIFEXITED(st)) r.status = WEXITSTATUS(st);
    return r;
}

// --- Traces -------------------------------------------------------------------------------------

struct Line {
    std::string key;   // what is compared: the line, its text="..." field included
    std::string full;  // what is shown
};
using Trace = std::map<std::string, std::vector<Line>>;  // role -> lines (without the role)

long long field(const std::string &line, const std::string &name) {
    size_t at = line.find(" " + name + "=");
    return at == std::string::npos ? 0 : std::atoll(line.c_str() + at + name.size() + 2);
}

std::string replace_field(const std::string &line, const std::string &name, long long value) {
    size_t at = line.find(" " + name + "=");
    if (at == std::string::npos) return line;
    size_t start = at + name.size() + 2, end = line.find(' ', start);
    return line.substr(0, start) + std::to_string(value) + (end == std::string::npos ? "" : line.substr(end));
}

Trace parse_trace(const std::string &out) {
    Trace t;
    std::istringstream in(out);
    std::string raw;
    while (std::getline(in, raw)) {
        if (raw.empty() || raw[0] == '#') continue;
        size_t sp = raw.find(' ');
        std::string role = raw.substr(0, sp), rest = sp == std::string::npos ? "" : raw.substr(sp + 1);
        Line l{rest, rest};
        std::vector<Line> &seq = t[role];
        // (a) one line for a run of bytes_written: summed argument, the rest from the last one.
        if (l.key.rfind("bytes_written ", 0) == 0 && !seq.empty() && seq.back().key.rfind("bytes_written ", 0) == 0) {
            long long sum = field(seq.back().key, "arg") + field(l.key, "arg");
            l.key = replace_field(l.key, "arg", sum);
            l.full = replace_field(l.full, "arg", sum);
            seq.back() = l;
            continue;
        }
        seq.push_back(l);
    }
    return t;
}

// A line of an expected trace matches a line of the other one when every field is the same; a
// field written "name=*" in the expected line matches any value (for numbers that depend on
// the machine, such as how many bytes the kernel takes at once).
bool line_matches(const std::string &pattern, const std::string &line) {
    if (pattern == line) return true;
    // The text="..." field holds spaces: compare it whole, apart from the fields before it. A
    // pattern without one (a listed line) matches any text.
    size_t pt = pattern.find(" text=\""), lt = line.find(" text=\"");
    if (lt != std::string::npos) {
        if (pt == std::string::npos) return line_matches(pattern, line.substr(0, lt));
        return pattern.substr(pt) == line.substr(lt) && line_matches(pattern.substr(0, pt), line.substr(0, lt));
    }
    if (pt != std::string::npos) return false;
    std::istringstream p(pattern), l(line);
    std::string a, b;
    for (;;) {
        bool more_a = static_cast<bool>(p >> a), more_b = static_cast<bool>(l >> b);
        if (!more_a || !more_b) return more_a == more_b;
        if (a == b) continue;
        size_t eq = a.find('=');
        if (eq == std::string::npos || a.substr(eq) != "=*" || b.compare(0, eq + 1, a, 0, eq + 1) != 0) return false;
    }
}

// A listed "collapse" rule: every run of lines of the given events (e.g. ready_read and
// bytes_written while data flows both ways, where each library reads and writes in chunks of
// its own) becomes one line "data read=<sum of avail> written=<sum of arg>" in both traces.
// Right for the trace programs because every readyRead reads everything buffered.
void collapse(std::vector<Line> &seq, const std::vector<std::string> &events) {
    std::vector<Line> out;
    bool in_run = false;
    long long read = 0, written = 0;
    auto flush = [&] {
        if (!in_run) return;
        std::string l = "data read=" + std::to_string(read) + " written=" + std::to_string(written);
        out.push_back({l, l + "   [collapsed run]"});
        in_run = false;
        read = written = 0;
    };
    for (const Line &l : seq) {
        std::string ev = l.key.substr(0, l.key.find(' '));
        if (std::find(events.begin(), events.end(), ev) == events.end()) {
            flush();
            out.push_back(l);
            continue;
        }
        in_run = true;
        if (ev == "ready_read") read += field(l.key, "avail");
        if (ev == "bytes_written") written += field(l.key, "arg");
    }
    flush();
    seq = out;
}

// --- Differences and the README table -----------------------------------------------------------

struct Difference {
    int line_no;
    std::string scenario, majors, role, readme;
    std::vector<std::string> qt, qlocal;
    std::vector<std::string> collapse;  // a "collapse EVENT..." rule instead of a replacement
};

std::vector<std::string> lines_of(const std::string &field_text) {
    if (field_text == "-") return {};
    return split(field_text, " ;; ");
}

bool load_differences(const std::string &path, std::vector<Difference> &out) {
    std::ifstream in(path);
    if (!in) return std::fprintf(stderr, "cannot read %s\n", path.c_str()), false;
    std::string raw;
    int n = 0;
    while (std::getline(in, raw)) {
        ++n;
        std::string t = trim(raw);
        if (t.empty() || t[0] == '#') continue;
        std::vector<std::string> f = split(t, " | ");
        if (f.size() != 6) {
            std::fprintf(stderr, "%s:%d: expected 6 fields separated by \" | \", got %zu\n", path.c_str(), n, f.size());
            return false;
        }
        Difference d{n, f[0], f[1], f[2], f[5], lines_of(f[3]), lines_of(f[4]), {}};
        if (f[3].rfind("collapse ", 0) == 0) {
            std::istringstream events(f[3].substr(9));
            std::string ev;
            while (events >> ev) d.collapse.push_back(ev);
            d.qt.clear();
        }
        out.push_back(d);
    }
    return true;
}

std::vector<std::string> readme_rows(const std::string &path) {
    std::ifstream in(path);
    std::vector<std::string> rows;
    std::string raw;
    bool in_section = false, in_table = false;
    while (std::getline(in, raw)) {
        if (!in_section) {
            in_section = raw.find("Deliberate differences from Qt") != std::string::npos;
            continue;
        }
        bool row = raw.rfind("|", 0) == 0;
        if (row) {
            in_table = true;
            if (raw.find("---") == std::string::npos) rows.push_back(raw);
        } else if (in_table) {
            break;
        }
    }
    if (!rows.empty()) rows.erase(rows.begin());  // the header row
    return rows;
}

bool documented(const Difference &d, const std::vector<std::string> &rows, const std::string &file) {
    for (const std::string &r : rows)
        if (!d.readme.empty() && r.find(d.readme) != std::string::npos) return true;
    std::printf("FAIL %s:%d lists a difference whose README row \"%s\" is not in README.md's table "
                "\"Deliberate differences from Qt\"\n",
                file.c_str(), d.line_no, d.readme.c_str());
    return false;
}

bool applies(const Difference &d, const std::string &scenario, int major) {
    if (fnmatch(d.scenario.c_str(), scenario.c_str(), 0) != 0) return false;
    for (const std::string &m : split(d.majors, ","))
        if (std::atoi(m.c_str()) == major) return true;
    return false;
}

// --- Side by side -------------------------------------------------------------------------------

void side_by_side(const std::string &role, const std::vector<Line> &a, const std::vector<Line> &b,
                  const std::string &left, const std::string &right) {
    size_t n = a.size(), m = b.size();
    std::vector<std::vector<int>> lcs(n + 1, std::vector<int>(m + 1, 0));
    for (size_t i = n; i-- > 0;)
        for (size_t j = m; j-- > 0;)
            lcs[i][j] = line_matches(a[i].key, b[j].key) ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    std::printf("--- %s: %s (left) vs %s (right); '-' only left, '+' only right\n", role.c_str(), left.c_str(),
                right.c_str());
    const int w = 78;
    size_t i = 0, j = 0;
    while (i < n || j < m) {
        if (i < n && j < m && line_matches(a[i].key, b[j].key)) {
            std::printf("  %-*s | %s\n", w, a[i].full.c_str(), b[j].full.c_str());
            ++i, ++j;
        } else if (j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j])) {
            std::printf("+ %-*s | %s\n", w, "", b[j].full.c_str());
            ++j;
        } else {
            std::printf("- %-*s |\n", w, a[i].full.c_str());
            ++i;
        }
    }
}

void print_raw(const char *what, const Run &r) {
    std::printf("=== %s output (exit %d%s):\n%s", what, r.status, r.killed ? ", killed at the deadline" : "",
                r.out.c_str());
}

int check_all(const Args &a) {
    std::vector<Difference> diffs;
    if (!load_differences(a.check, diffs)) return 1;
    std::vector<std::string> rows = readme_rows(a.readme);
    if (rows.empty()) return std::printf("FAIL no table \"Deliberate differences from Qt\" in %s\n", a.readme.c_str()), 1;
    bool ok = true;
    for (const Difference &d : diffs) ok = documented(d, rows, a.check) && ok;
    std::printf("%s: %zu listed differences, %zu README rows\n", ok ? "PASS" : "FAIL", diffs.size(), rows.size());
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char **argv) {
    Args a;
    if (!parse(argc, argv, a)) {
        std::fputs("usage: trace_compare --scenario S --qt-major 5|6 --qt PROG --qlocal PROG --differences FILE "
                   "--readme README.md [--timeout-ms N]\n       trace_compare --check-differences FILE --readme README.md\n",
                   stderr);
        return 2;
    }
    if (!a.check.empty()) return check_all(a);

    std::vector<Difference> all, diffs;
    if (!load_differences(a.differences, all)) return 1;
    for (const Difference &d : all)
        if (applies(d, a.scenario, a.qt_major)) diffs.push_back(d);
    std::vector<std::string> rows = readme_rows(a.readme);
    bool ok = true;
    for (const Difference &d : diffs) ok = documented(d, rows, a.differences) && ok;

    std::string base = "trc" + std::to_string(a.qt_major) + "-" + std::to_string(getpid());
    std::string ms = std::to_string(a.timeout_ms);
    Run qt = run({a.qt, "--scenario", a.scenario, "--name", base + "-qt", "--timeout-ms", ms}, a.timeout_ms + 5000);
    Run ql = run({a.qlocal, "--scenario", a.scenario, "--name", base + "-ql", "--timeout-ms", ms}, a.timeout_ms + 5000);
    std::string qt_name = "Qt " + std::to_string(a.qt_major);
    if (qt.status != 0) {
        print_raw(qt_name.c_str(), qt);
        std::printf("FAIL the Qt program did not run the scenario to its end: no reference trace\n");
        return 1;
    }

    Trace want = parse_trace(qt.out), got = parse_trace(ql.out);
    // The listed differences turn Qt's trace into what qlocal must print: collapse rules first
    // (on both traces), then the replacements in file order.
    for (const Difference &d : diffs) {
        if (d.collapse.empty()) continue;
        if (want.count(d.role)) collapse(want[d.role], d.collapse);
        if (got.count(d.role)) collapse(got[d.role], d.collapse);
    }
    for (const Difference &d : diffs) {
        if (!d.collapse.empty()) continue;
        std::vector<Line> &seq = want[d.role];
        auto at = seq.end();
        if (!d.qt.empty() && seq.size() >= d.qt.size()) {
            for (size_t i = 0; i + d.qt.size() <= seq.size() && at == seq.end(); ++i) {
                bool match = true;
                for (size_t k = 0; k < d.qt.size() && match; ++k) match = line_matches(d.qt[k], seq[i + k].key);
                if (match) at = seq.begin() + static_cast<long>(i);
            }
        }
        if (at == seq.end()) {
            std::printf("FAIL %s:%d: the listed Qt lines are not in the %s trace of role %s:\n", a.differences.c_str(),
                        d.line_no, qt_name.c_str(), d.role.c_str());
            for (const std::string &l : d.qt) std::printf("    %s\n", l.c_str());
            ok = false;
            continue;
        }
        at = seq.erase(at, at + static_cast<long>(d.qt.size()));
        std::vector<Line> repl;
        for (const std::string &l : d.qlocal) repl.push_back({l, l + "   [listed difference, line " + std::to_string(d.line_no) + "]"});
        seq.insert(at, repl.begin(), repl.end());
        if (seq.empty()) want.erase(d.role);
    }

    std::vector<std::string> roles;
    for (const auto &kv : want) roles.push_back(kv.first);
    for (const auto &kv : got)
        if (!want.count(kv.first)) roles.push_back(kv.first);
    int differing = 0;
    std::string left = qt_name + (diffs.empty() ? "" : " + listed differences");
    for (const std::string &role : roles) {
        const std::vector<Line> &w = want[role], &g = got[role];
        bool same = w.size() == g.size() && std::equal(w.begin(), w.end(), g.begin(), [](const Line &x, const Line &y) {
                        return line_matches(x.key, y.key);
                    });
        if (same) continue;
        ++differing;
        side_by_side(role, w, g, left, "qlocal");
    }
    if (differing || !ok) {
        print_raw(qt_name.c_str(), qt);
        print_raw("qlocal", ql);
    }
    if (differing) ok = false;
    std::printf("%s %s, %s vs qlocal: %d of %zu roles differ, %zu listed differences applied\n", ok ? "PASS" : "FAIL",
                a.scenario.c_str(), qt_name.c_str(), differing, roles.size(), diffs.size());
    return ok ? 0 : 1;
}
