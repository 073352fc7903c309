#!/usr/bin/env python3
"""tour.py -- the main job: every chapter program, the numbers its text
quotes, every figure; then what each took.

    python3 verify/tour.py [--full] BUILD_DIR

1. Runs each chapter program build/chapters/NN-* from the repository root,
   its data going to BUILD_DIR/data, and shows what it prints as it prints
   it (standard output and standard error together). Every program runs,
   even after one fails, so one run shows every failure.
2. verify/check_numbers.py: every number the chapter texts quote from a run
   against this run (exact ones to their digits, statistical ones within
   their stated tolerance).
3. Every figure script figures/*.gp, by gnuplot, into BUILD_DIR/figures/
   (the committed figures/png/ are left alone: `make figures` rewrites
   them). A figure whose script says `# Kind: exact` must be drawn from data
   with the same bits as the committed figure's: figures/exact_data.sha256
   holds the hash of each such data file, and a difference fails the tour
   (a result changed: if on purpose, run `make figures` and commit).
4. A table: each chapter's checks, its time, and the longest it went
   without printing anything; then the total.

--only NN[,NN...] runs those chapters alone, and checks only their quoted
numbers and their exact figures (for a developer, and for
verify/replant_tour.sh). --full passes --full to the chapter programs (make tour-full: the long runs
too) and checks the numbers the texts quote from them. --write (make
figures) draws into figures/png/ and rewrites figures/exact_data.sha256
from this run instead of comparing with it.

Exit 0 only if every chapter's checks passed, every quoted number agrees
and every exact figure's data is unchanged. The times are this machine's
and are never checked."""
import glob
import hashlib
import os
import re
import subprocess
import sys
import time

argv = sys.argv[1:]
ONLY = None
if "--only" in argv:
    i = argv.index("--only")
    ONLY = argv[i + 1].split(",") if i + 1 < len(argv) else []
    del argv[i:i + 2]
args = [a for a in argv if not a.startswith("--")]
FULL = "--full" in sys.argv[1:]
WRITE = "--write" in sys.argv[1:]
BUILD = args[0] if args else "build"
DATA = os.path.join(BUILD, "data")
FIGS = "figures/png" if WRITE else os.path.join(BUILD, "figures")
MANIFEST = "figures/exact_data.sha256"
SILENT = 30.0   # seconds: the longest a step should go without a word


def clock(s):
    return "%d:%02d" % (s // 60, s % 60) if s >= 60 else "%.0f s" % s


def run_chapter(name):
    """Run one chapter program; (exit status, seconds, longest silence, checks line)."""
    cmd = [os.path.join(BUILD, "chapters", name)] + (["--full"] if FULL else [])
    env = dict(os.environ, FMD_DATA=DATA)
    print("==== chapter %s" % name, flush=True)
    t0 = last = time.monotonic()
    silence, summary = 0.0, ""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    for raw in iter(p.stdout.readline, b""):
        now = time.monotonic()
        silence, last = max(silence, now - last), now
        line = raw.decode("utf-8", "replace")
        sys.stdout.write(line)
        sys.stdout.flush()
        if line.startswith("-- ") and "checks" in line:
            summary = line[3:].strip()
    status = p.wait()
    end = time.monotonic()
    return status, end - t0, max(silence, end - last), summary


def figure_kind(gp):
    """The figure's kind: 'exact ...' or 'machine-dependent (why)'; None if it says neither."""
    for line in open(gp, encoding="utf-8"):
        m = re.match(r"#\s*Kind:\s*(exact|machine-dependent.*)", line)
        if m:
            return m.group(1).strip()
    return None


def figure_inputs(gp):
    return sorted(set(re.findall(r'data\."/([A-Za-z0-9_.-]+)"', open(gp, encoding="utf-8").read())))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def draw_figures():
    """Draw every figure into BUILD/figures; compare exact data. (problems, drawn, exact)."""
    os.makedirs(FIGS, exist_ok=True)
    problems, drawn, exact = [], 0, set()
    for gp in sorted(glob.glob("figures/*.gp")):
        if ONLY is not None and not any(os.path.basename(gp).startswith("ch%s_" % c) for c in ONLY):
            continue
        kind = figure_kind(gp)
        if kind is None:
            problems.append("%s says neither '# Kind: exact' nor '# Kind: machine-dependent (why)'" % gp)
        elif kind.startswith("exact"):
            exact.update(figure_inputs(gp))
        r = subprocess.run(["gnuplot", "-e", "data='%s'; out='%s'" % (DATA, FIGS), gp],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            problems.append("gnuplot %s failed:\n%s" % (gp, r.stdout.decode("utf-8", "replace")))
        else:
            drawn += 1
    if WRITE and ONLY is None:
        with open(MANIFEST + ".tmp", "w", encoding="utf-8") as f:
            f.write("# sha256 of the data of every figure whose script says '# Kind: exact' (make figures writes\n"
                    "# this; make tour checks it): the same bits on every x86-64 machine with AVX2 and FMA\n")
            for name in sorted(exact):
                path = os.path.join(DATA, name)
                if os.path.exists(path):
                    f.write("%s  %s\n" % (sha256(path), name))
                else:
                    problems.append("%s is missing (its chapter did not write it)" % path)
        os.replace(MANIFEST + ".tmp", MANIFEST)
        return problems, drawn, len(exact)
    want = {}
    if os.path.exists(MANIFEST):
        for line in open(MANIFEST, encoding="utf-8"):
            if line.strip() and not line.startswith("#"):
                digest, name = line.split()
                want[name] = digest
    for name in sorted(exact):
        path = os.path.join(DATA, name)
        if name not in want:
            problems.append("%s is an exact figure's data but has no hash in %s (run make figures)" % (name, MANIFEST))
        elif not os.path.exists(path):
            problems.append("%s is missing (its chapter did not write it)" % path)
        elif sha256(path) != want[name]:
            problems.append("%s, an exact figure's data, differs from the data of the committed figure: a result "
                            "changed. If the change is meant, run make figures and commit figures/png and %s"
                            % (path, MANIFEST))
    for name in sorted(set(want) - exact) if ONLY is None else []:
        problems.append("%s lists %s, which no exact figure reads (run make figures)" % (MANIFEST, name))
    return problems, drawn, len(exact)


def main():
    t_all = time.monotonic()
    chapters = sorted(os.path.basename(d) for d in glob.glob(os.path.join(BUILD, "chapters", "[0-9][0-9]-*"))
                      if ONLY is None or os.path.basename(d)[:2] in ONLY)
    if not chapters:
        print("tour: no chapter programs under %s/chapters (run make)" % BUILD)
        return 1
    os.makedirs(DATA, exist_ok=True)
    rows = [(c,) + run_chapter(c) for c in chapters]
    print("==== the numbers the chapters quote", flush=True)
    numbers = subprocess.run([sys.executable, "verify/check_numbers.py"] + (["--full"] if FULL else []) +
                             (["--only", ",".join(ONLY)] if ONLY is not None else []) + [DATA])
    print("==== figures, into %s/" % FIGS, flush=True)
    t_fig = time.monotonic()
    fig_problems, drawn, exact = draw_figures()
    for p in fig_problems:
        print("tour: " + p)
    t_fig = time.monotonic() - t_fig
    print("tour: %d figures drawn into %s/; the data of the %d files exact figures read %s" %
          (drawn, FIGS, exact, ("written to " + MANIFEST) if WRITE else
           "is unchanged" if not fig_problems else "has the problems above"))

    failed = [r[0] for r in rows if r[1] != 0]
    print("\n%-40s %-22s %8s %16s" % ("chapter", "checks", "time", "longest silence"))
    for name, status, secs, silence, summary in rows:
        note = "" if silence <= SILENT else "  (more than %.0f s without a word)" % SILENT
        print("%-40s %-22s %8s %16s%s" % (name, summary if status == 0 else "FAILED (%s)" % (summary or status),
                                          clock(secs), clock(silence), note))
    print("%-40s %-22s %8s" % ("figures", "%d drawn" % drawn, clock(t_fig)))
    total = time.monotonic() - t_all
    ok = not failed and numbers.returncode == 0 and not fig_problems
    print("%-40s %-22s %8s   (this machine's times; never checked)" % ("tour" + (" (full)" if FULL else ""),
                                                                         "passed" if ok else "FAILED", clock(total)))
    if failed:
        print("tour: chapters with failed checks: %s" % ", ".join(failed))
    if numbers.returncode != 0:
        print("tour: some quoted numbers disagree with this run (above)")
    if ok:
        print("tour: figures are in %s/; the committed ones in figures/png/ (make figures rewrites those)" % FIGS)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
