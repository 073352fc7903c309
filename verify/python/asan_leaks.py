#!/usr/bin/env python3
"""asan_leaks.py LIBFMD -- the Python binding's calls, failing and not,
under AddressSanitizer's leak checker (make sanitize): no leak may pass
through libfmd. The interpreter's own allocations, which it never frees at
exit, are leaks too in LeakSanitizer's eyes; a leak counts as fmd's when a
frame of its allocation stack is in libfmd (which make sanitize compiles
with frame pointers). To show the filter can fail, a planted leak -- a
mixture allocated by fmd_gmm_alloc and never freed -- must be found.
Exit 1 if either goes wrong."""
import os
import subprocess
import sys

PROBE = r'''
import os, sys, tempfile, ctypes
import numpy as np
import fmd
from fmd import _lib
m = fmd.Mixture.from_file("chapters/03-constructing-a-training-target/five_modes.gmm")
d = tempfile.mkdtemp()
bad = os.path.join(d, "bad.gmm")
open(bad, "w").write("gmm 2 1\n1 0 0 1 0 0 -1\n")
junk = os.path.join(d, "junk.safetensors")
open(junk, "wb").write(b"\x10\x00\x00\x00\x00\x00\x00\x00{}garbage")
failing = [lambda: fmd.Mixture.from_file(bad), lambda: m.guided_field([[0.0, 0.0]], 0.5, "condot", 17),
           lambda: fmd.Mixture.from_arrays([1.0], np.zeros((1, 2)), covariances=[[[1.0, 2.0], [2.0, 1.0]]]),
           lambda: fmd.Mixture.from_arrays([0.5, 0.4], np.zeros((2, 2)), covariances=np.stack([np.eye(2)] * 2)),
           lambda: m.save("/nonexistent/x.gmm"), lambda: fmd.Model.load(junk)]
for i in range(3):
    for f in failing:
        try:
            f()
        except Exception:
            pass
    m.marginal(np.zeros((3, 2)), 0.5, "vp", derivatives=True)
    m.guided_field(np.zeros((3, 2)), 0.5, "condot", 0)
    m.sample_flow(20, "vp", solver="dpm2m", steps=5)
    m.sample_flow(20, "condot", solver="heun", steps=5, cls=1, w=2.0)
    m.evaluate(m.sample(50), starts=m.sample(50), schedule="condot")
    m.likelihood(np.zeros((2, 2)), "condot")
    fmd.fit_gmm(m.sample(100), rank=1)
if sys.argv[1] == "plant":
    g = _lib.GmmP()
    _lib.lib.fmd_gmm_alloc(3, 2, ctypes.byref(g))   # never freed
print("probe done")
'''


def leaks_through_libfmd(lib, mode):
    asan = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()
    ubsan = subprocess.run(["gcc", "-print-file-name=libubsan.so"], capture_output=True, text=True).stdout.strip()
    env = dict(os.environ, FMD_LIB=lib, LD_PRELOAD=asan + " " + ubsan, PYTHONPATH="python",
               ASAN_OPTIONS="detect_leaks=1:exitcode=0")
    r = subprocess.run([sys.executable, "-c", PROBE, mode], env=env, capture_output=True, text=True)
    if "probe done" not in r.stdout:
        print("asan_leaks: the probe did not finish:\n" + r.stderr[-3000:])
        sys.exit(1)
    if "ERROR: AddressSanitizer" in r.stderr or "runtime error" in r.stderr:
        print("asan_leaks: AddressSanitizer or UBSan reports an error:\n" + r.stderr[-3000:])
        sys.exit(1)
    records = [rec for rec in r.stderr.split("\n\n") if "leak of" in rec]
    return [rec for rec in records if "libfmd" in rec or " in fmd_" in rec], len(records)


def main():
    lib = sys.argv[1]
    ours, total = leaks_through_libfmd(lib, "clean")
    if ours:
        print("asan_leaks: %d leak(s) through libfmd:\n%s" % (len(ours), "\n\n".join(ours[:3])))
        sys.exit(1)
    planted, _ = leaks_through_libfmd(lib, "plant")
    if not planted:
        print("asan_leaks: the planted leak (fmd_gmm_alloc, never freed) was not found: the check cannot fail")
        sys.exit(1)
    print("asan_leaks: the binding's calls, failing and not, leak nothing through libfmd under ASan (%d leak records, "
          "all the interpreter's); a planted leak is found" % total)


if __name__ == "__main__":
    main()
