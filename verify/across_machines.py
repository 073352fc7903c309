#!/usr/bin/env python3
"""across_machines.py -- how far each quoted number moves from one x86-64
machine to another, measured on this one.

    python3 verify/across_machines.py [--full] [--only NN,...] BUILD_DIR      (make across-machines)

What differs between two x86-64 machines that run fmd is the kernels BLIS
picks for the CPU (haswell for Intel, zen3 for AMD's Zen 3 to 5, generic C
loops where it knows none), the number of CPUs, and the vector width of
SLEEF's exp and of the loops GCC compiles per instruction set. The last is
the same bits by construction (SLEEF's AVX2 and AVX-512 variants agree bit
for bit, checked by verify/test_vecmath.c; the loops keep -ffp-contract=off).
The first two can be changed here: BLIS takes its kernels from
BLIS_ARCH_TYPE, the CPUs from the process's affinity. So this script runs
every chapter program (as make tour does, or make tour-full with --full)
three times, each into its own BUILD_DIR/across/NAME/data:

    here      this machine as it is (all its CPUs, the kernels fmd or BLIS chose)
    haswell   BLIS's haswell kernels (Intel's), on one CPU
    generic   BLIS's generic C kernels (no FMA), on all CPUs

and compares what they wrote:
  - the data of every exact figure (figures/*.gp saying '# Kind: exact'):
    the same bytes in all three, or the figure is not exact;
  - every number the chapter texts quote (verify/check_numbers.py's
    markers): an exact one must agree to its quoted digits in all three; a
    statistical one's spread across the three is printed beside the
    tolerance the text states, which must hold it with room to spare
    (spread <= tolerance / 2).
Each configuration also fits chapter 5's Fashion-MNIST mixture itself (as
`make` does, see the Makefile): the fit's products go through BLIS too.
--only NN,... runs those chapters again (--only "" none) and compares everything the three
data directories hold (the kept models of an earlier run are reused while
their keys hold). It writes BUILD_DIR/across/report.tsv and exits 1 if any
of these fails.
About three times the tour's time (half an hour on 2 cores); the tour does
not need it: run it when a quoted number or a tolerance changes."""
import hashlib
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_numbers  # noqa: E402
import tour  # noqa: E402

argv = sys.argv[1:]
ONLY = None
if "--only" in argv:
    i = argv.index("--only")
    ONLY = [c for c in argv[i + 1].split(",") if c] if i + 1 < len(argv) else []
    del argv[i:i + 2]
args = [a for a in argv if not a.startswith("--")]
FULL = "--full" in sys.argv[1:]
BUILD = args[0] if args else "build"
FMD = os.path.join(BUILD, "fmd")


def blis_kernels(env):
    """The kernels `fmd version` says BLIS runs under env."""
    out = subprocess.run([FMD, "version"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout
    for line in out.decode("utf-8", "replace").splitlines():
        if line.startswith("products: BLIS, "):
            return line.split(", ", 1)[1].split(" kernels")[0]
    return None


def blis_id(name):
    """BLIS_ARCH_TYPE's number for kernels `name`, found by asking fmd (BLIS 0.9 numbers them)."""
    for i in range(0, 40):
        env = dict(os.environ, BLIS_ARCH_TYPE=str(i))
        if blis_kernels(env) == name:
            return str(i)
    return None


def run_config(name, env, one_cpu):
    data = os.path.join(BUILD, "across", name, "data")
    os.makedirs(data, exist_ok=True)
    env = dict(env, FMD_DATA=data)
    pre = (lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})) if one_cpu else None
    failed = []
    gmm = os.path.join(data, "fmnist_lowrank32.gmm")   # the Makefile's $(FMNIST_GMM) rule, on these kernels
    if ONLY is None or "05" in ONLY:
        r = subprocess.run([FMD, "fit-gmm", "--data", "fashion-mnist", "--per-class", "--rank", "32", "--out", gmm],
                           env=env, preexec_fn=pre, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            failed.append("fit-gmm")
    for c in sorted(os.listdir(os.path.join(BUILD, "chapters"))):
        if ONLY is not None and c[:2] not in ONLY:
            continue
        print("==== %s: chapter %s" % (name, c), flush=True)
        cmd = [os.path.join(BUILD, "chapters", c)] + (["--full"] if FULL else [])
        r = subprocess.run(cmd, env=env, preexec_fn=pre, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        last = r.stdout.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        print("     %s%s" % (last[0], "" if r.returncode == 0 else "  (FAILED)"), flush=True)
        if r.returncode != 0:
            failed.append(c)
    return data, failed


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    configs = [("here", dict(os.environ), False)]
    for name, one_cpu in (("haswell", True), ("generic", False)):
        i = blis_id(name)
        if i is None:
            print("across_machines: this BLIS has no %s kernels; skipped" % name)
            continue
        configs.append((name, dict(os.environ, BLIS_ARCH_TYPE=i), one_cpu))
    print("across_machines: %s" % "; ".join("%s = BLIS %s kernels on %s" % (
        n, blis_kernels(e), "one CPU" if o else "every CPU") for n, e, o in configs), flush=True)
    dirs, problems = {}, []
    for name, env, one_cpu in configs:
        dirs[name], failed = run_config(name, env, one_cpu)
        if failed:
            problems.append("%s: chapters with failed checks: %s" % (name, ", ".join(failed)))
    names = [c[0] for c in configs]
    rows = []
    # exact figures' data
    exact = set()
    for gp in sorted(os.listdir("figures")):
        if gp.endswith(".gp") and (tour.figure_kind(os.path.join("figures", gp)) or "").startswith("exact"):
            exact.update(tour.figure_inputs(os.path.join("figures", gp)))
    for f in sorted(exact):
        digests = [sha256(os.path.join(dirs[n], f)) if os.path.exists(os.path.join(dirs[n], f)) else "missing"
                   for n in names]
        same = len(set(digests)) == 1 and digests[0] != "missing"
        rows.append(["figure-data", f, "exact"] + [d[:12] for d in digests] + ["same" if same else "DIFFERS"])
        if not same:
            problems.append("%s, an exact figure's data, differs across machines: %s" %
                            (f, ", ".join("%s %s" % (n, d[:12]) for n, d in zip(names, digests))))
    # quoted numbers
    found, form = check_numbers.markers()
    problems += form
    for m in found:
        if m["full"] and not FULL:
            continue
        values = []
        for n in names:
            v, wrong = check_numbers.lookup(dirs[n], m)
            values.append(v)
            if wrong:
                problems.append("%s:%d: %s: %s" % (m["md"], m["line"], n, wrong))
        if any(v is None for v in values):
            continue
        spread = max(values) - min(values)
        what = '%s "%s" %s' % (m["source"], m["row"], m["column"])
        if m["kind"] == "exact":
            ok = all(check_numbers.agrees(m, v) for v in values)
            verdict = "agrees" if ok else "DIFFERS"
            if not ok:
                problems.append("%s:%d: %s is quoted as exact (%s) but the machines have %s" %
                                (m["md"], m["line"], what, m["quoted"], ", ".join("%.9g" % v for v in values)))
        else:
            ok = spread <= m["tol"] / 2 and all(check_numbers.agrees(m, v) for v in values)
            verdict = "spread %.3g of tolerance %g" % (spread, m["tol"]) + ("" if ok else ": TOO WIDE")
            if not ok:
                problems.append("%s:%d: %s: quoted %s within %g, but the machines have %s (spread %.3g)" %
                                (m["md"], m["line"], what, m["quoted"], m["tol"],
                                 ", ".join("%.6g" % v for v in values), spread))
        rows.append(["number", "%s:%d %s" % (os.path.basename(os.path.dirname(m["md"])), m["line"], what),
                     m["kind"] + ("" if m["kind"] == "exact" else " %g" % m["tol"])] +
                    ["%.9g" % v for v in values] + [verdict])
    out = os.path.join(BUILD, "across", "report.tsv")
    with open(out, "w", encoding="utf-8") as f:
        f.write("\t".join(["what", "which", "kind"] + names + ["verdict"]) + "\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    for r in rows:
        if r[0] == "number":
            print("%-100s %-14s %s" % (r[1][:100], r[2], r[-1]))
    for p in problems:
        print("across_machines: " + p)
    print("across_machines: %d exact figure data files, %d quoted numbers compared across %s; report in %s" %
          (len(exact), sum(r[0] == "number" for r in rows), ", ".join(names), out))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
