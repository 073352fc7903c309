#!/usr/bin/env python3
"""check_numbers.py -- numbers a chapter quotes from its program's run.

A chapter text that quotes a number its program computes marks it, right
after the number, with an HTML comment (invisible on a repository page and
in the book) that names where the number comes from and which of the two
kinds it is:

    ... 8<!-- run: ch05 "exact guided grid, w = 1: ..." computed exact --> of 10 ...
    ... 14.7 ± 0.6<!-- run: ch05_fmnist_distance "mlp" frechet_distance within 2.5 --> ...

The source is a chapter's table of checks (chNN: build/data/chNN_checks.tsv,
written by src/files/report.c, with the row's quantity and the column computed,
exact, error or tolerance) or a figure's data file (its name, the value in
its first column and the column's name from its header line).

The two kinds (verify/README.md, "Numbers from runs"):
  exact       the same bits on every x86-64 machine with AVX2 and FMA,
              whatever its vector width, BLIS kernels or thread count: the
              quoted number must be the run's value rounded to the digits
              quoted.
  within TOL  statistical or machine-dependent (a trained network, a
              float32 product through BLIS's CPU-specific kernels, a
              Monte Carlo estimate): |quoted - run's value| <= TOL, the
              tolerance the text states beside the number.
A marker that says neither is an error, and so is a marker on a timing (a
column named *seconds*, *_s or *time*): timings differ on every machine and
every run, so a text quotes them as "on this machine", unmarked.

Markers written `<!-- full run: ... -->` quote `make tour-full`, whose long
runs `make tour` skips: they are checked only with --full.

    python3 verify/check_numbers.py [--full] [--only NN,...] DATA_DIR

Exit 1, naming each problem (file, line, what the text says, what the run
has), if any quoted number disagrees with the latest run. `make tour` runs
it after the chapters; a missing table is an error, since the tour has just
written it."""
import glob
import os
import re
import sys

NUMBER = r'([-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)'
MARK = re.compile(NUMBER + r'((?:\s*±\s*\d+(?:\.\d+)?)?)\s*<!-- (run|full run): ([^>]*?) -->')
BODY = re.compile(r'(ch\d\d\w*) "([^"]+)" (\w+)(?: (exact|within ([0-9.]+(?:e[-+]?\d+)?)))?$')
TIMING = re.compile(r'seconds|_s$|time', re.I)
def table(data, name, cache={}):
    """{row key: {column: text}} of a checks table (chNN) or a data file in data/, or None."""
    if (data, name) not in cache:
        rows = {}
        try:
            if re.fullmatch(r"ch\d\d", name):
                for line in open("%s/%s_checks.tsv" % (data, name), encoding="utf-8"):
                    f = line.rstrip("\n").split("\t")
                    if len(f) >= 4 and not line.startswith("#") and f[0] != "quantity":
                        rows[f[0]] = {"computed": f[1], "exact": f[2], "error": f[3]}
                        if len(f) >= 5:
                            rows[f[0]]["tolerance"] = f[4]
            else:
                lines = open("%s/%s.tsv" % (data, name), encoding="utf-8").read().split("\n")
                header = lines[0].lstrip("#").split()
                for line in lines[1:]:
                    f = line.split("\t") if "\t" in line else line.split()
                    if f and f[0] and not line.startswith("#"):
                        rows[f[0]] = dict(zip(header, f))
        except OSError:
            rows = None
        cache[(data, name)] = rows
    return cache[(data, name)]


def lookup(data, m):
    """(value, None) for marker m in data/, or (None, what is wrong)."""
    rows = table(data, m["source"])
    if rows is None:
        return None, "no table %s/%s (run the chapter%s)" % (
            data, m["source"] + ("_checks.tsv" if re.fullmatch(r"ch\d\d", m["source"]) else ".tsv"),
            "s with make tour-full" if m["full"] else "")
    if m["row"] not in rows:
        return None, 'table %s has no row "%s"' % (m["source"], m["row"])
    if m["column"] not in rows[m["row"]]:
        return None, "table %s has no column %s" % (m["source"], m["column"])
    try:
        return float(rows[m["row"]][m["column"]]), None
    except ValueError:
        return None, 'table %s, row "%s", column %s is not a number: %s' % (
            m["source"], m["row"], m["column"], rows[m["row"]][m["column"]])


def markers(only=None):
    """Every run marker of the chapter texts (of chapters `only`, a list of
    "NN", if given): (dicts, problems of form)."""
    found, problems = [], []
    for md in sorted(glob.glob("chapters/*/README.md")):
        if only is not None and os.path.basename(os.path.dirname(md))[:2] not in only:
            continue
        text = open(md, encoding="utf-8").read()
        taken = []
        for mm in MARK.finditer(text):
            taken.append((mm.start(), mm.end()))
            line = text.count("\n", 0, mm.start()) + 1
            quoted, body, full = mm.group(1), mm.group(4), mm.group(3) == "full run"
            b = BODY.match(body.strip())
            if not b:
                problems.append('%s:%d: marker "%s" is not SOURCE "ROW" COLUMN exact|within TOL' % (md, line, body))
                continue
            source, row, column, kind, tol = b.groups()
            if kind is None:
                problems.append('%s:%d: the marker for %s does not say its kind: add "exact" (same bits on every '
                                'x86-64) or "within TOL" (statistical or machine-dependent)' % (md, line, quoted))
                continue
            if TIMING.search(column):
                problems.append("%s:%d: %s is a timing (column %s): timings are never checked; quote it as "
                                "measured on a named machine, without a marker" % (md, line, quoted, column))
                continue
            found.append({"md": md, "line": line, "quoted": quoted, "source": source, "row": row, "column": column,
                          "kind": "exact" if kind == "exact" else "within", "tol": float(tol) if tol else 0.0, "full": full})
        for mm in re.finditer(r"<!-- (?:full )?run:", text):
            if not any(a <= mm.start() < b for a, b in taken):
                problems.append("%s:%d: a run marker with no number right before it" %
                                (md, text.count("\n", 0, mm.start()) + 1))
    return found, problems


def agrees(m, value):
    """Whether the quoted number agrees with the run's value, by the marker's kind."""
    quoted = m["quoted"]
    if m["kind"] == "exact":
        digits = len(quoted.split(".")[1].split("e")[0]) if "." in quoted else 0
        exp = int(quoted.split("e")[1]) if "e" in quoted else 0
        return abs(float(quoted) - value) <= 0.5 * 10 ** (exp - digits) * (1 + 1e-9)
    return abs(float(quoted) - value) <= m["tol"]


def main():
    argv = sys.argv[1:]
    only = None   # --only 02,06: those chapters' texts alone
    if "--only" in argv:
        i = argv.index("--only")
        only = argv[i + 1].split(",") if i + 1 < len(argv) else []
        del argv[i:i + 2]
    full = "--full" in argv
    args = [a for a in argv if a != "--full"]
    data = args[0] if args else "build/data"
    found, problems = markers(only)
    counts = {"exact": 0, "within": 0, "skipped": 0}
    for m in found:
        if m["full"] and not full:
            counts["skipped"] += 1
            continue
        value, wrong = lookup(data, m)
        where = "%s:%d: " % (m["md"], m["line"])
        if wrong:
            problems.append(where + wrong)
            continue
        counts[m["kind"]] += 1
        if agrees(m, value):
            continue
        if m["kind"] == "exact":
            problems.append('%squotes %s for "%s" (%s) as exact, but the latest run has %.9g' %
                            (where, m["quoted"], m["row"], m["column"], value))
        else:
            problems.append('%squotes %s for "%s" (%s) within %g, but the latest run has %.6g (off by %.3g)' %
                            (where, m["quoted"], m["row"], m["column"], m["tol"], value, abs(float(m["quoted"]) - value)))
    for p in problems:
        print("check_numbers: " + p)
    if problems:
        return 1
    print("check_numbers: %d quoted numbers agree with the chapters' latest runs: %d exact, %d within their stated "
          "tolerance%s" % (counts["exact"] + counts["within"], counts["exact"], counts["within"],
                           "; %d from make tour-full not checked by this run" % counts["skipped"]
                           if counts["skipped"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
