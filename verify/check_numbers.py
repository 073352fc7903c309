#!/usr/bin/env python3
"""check_numbers.py -- numbers a chapter quotes from its program's run.

A chapter text that quotes a number its program computes marks it, right
after the number, with an HTML comment (invisible on a repository page and
in the book):

    ... measured 0.90<!-- run: ch05 "quantity as in the table" computed --> at w = 1 ...

naming the table (build/data/chNN_checks.tsv, written by src/report.c), the
row's quantity and the column (computed, exact, error or tolerance). A number from a
figure's data file is marked the same way with the file's name, the value
in its first column and the column's name from its header line:

    ... 0.97<!-- run: ch05_fmnist_tradeoff "1.5" accuracy --> at w = 1.5 ...
 This script reads
every marker and fails (exit 1, naming each) unless the quoted number is the
table's value rounded to the digits quoted -- so the text and the program
stay in step. `make tour` runs it after the chapters; a missing table is an
error, since the tour has just written it.

    python3 verify/check_numbers.py DATA_DIR"""
import glob
import re
import sys

DATA = sys.argv[1] if len(sys.argv) > 1 else "build/data"
MARK = re.compile(r'([-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)\s*<!-- run: (ch\d\d\w*) "([^"]+)" (\w+) -->')
problems, count, tables = [], 0, {}


def table(name):
    """{row key: {column: text}} of a checks table (chNN) or a data file."""
    if name not in tables:
        rows = {}
        try:
            if re.fullmatch(r"ch\d\d", name):
                for line in open("%s/%s_checks.tsv" % (DATA, name), encoding="utf-8"):
                    f = line.rstrip("\n").split("\t")
                    if len(f) >= 4 and not line.startswith("#") and f[0] != "quantity":
                        rows[f[0]] = {"computed": f[1], "exact": f[2], "error": f[3]}
                        if len(f) >= 5:
                            rows[f[0]]["tolerance"] = f[4]
            else:
                lines = open("%s/%s.tsv" % (DATA, name), encoding="utf-8").read().split("\n")
                header = lines[0].lstrip("#").split()
                for line in lines[1:]:
                    f = line.split()
                    if f and not line.startswith("#"):
                        rows[f[0]] = dict(zip(header, f))
        except OSError:
            rows = None
        tables[name] = rows
    return tables[name]


for md in sorted(glob.glob("chapters/*/README.md")):
    text = open(md, encoding="utf-8").read()
    for m in MARK.finditer(text):
        count += 1
        quoted, name, quantity, column = m.group(1), m.group(2), m.group(3), m.group(4)
        line = text.count("\n", 0, m.start()) + 1
        rows = table(name)
        if rows is None:
            problems.append("%s:%d: no table %s/%s_checks.tsv (run the chapter)" % (md, line, DATA, name))
            continue
        if quantity not in rows:
            problems.append("%s:%d: table %s has no row \"%s\"" % (md, line, name, quantity))
            continue
        if column not in rows[quantity]:
            problems.append("%s:%d: table %s has no column %s" % (md, line, name, column))
            continue
        value = float(rows[quantity][column])
        digits = len(quoted.split(".")[1].split("e")[0]) if "." in quoted else 0
        exp = int(quoted.split("e")[1]) if "e" in quoted else 0
        half_unit = 0.5 * 10 ** (exp - digits)
        if abs(float(quoted) - value) > half_unit * (1 + 1e-9):
            problems.append("%s:%d: quotes %s for \"%s\" (%s), but the latest run has %.6g" %
                            (md, line, quoted, quantity, column, value))
for p in problems:
    print("check_numbers: " + p)
if problems:
    sys.exit(1)
print("check_numbers: %d quoted numbers agree with the chapters' latest runs" % count)
