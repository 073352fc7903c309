"""test_binding.py -- the Python binding (python/fmd) against libfmd's own
answers, a NumPy implementation of Thm 10, and its error paths.

Where the binding runs the same C code as a command (fmd field, sample,
eval, likelihood, fit-gmm), the answers must agree to the last bit: the
command prints %.17g, which a float parses back exactly. Run by `make check`
(pytest, Debian's python3-pytest) with PYTHONPATH=python and FMD_BIN."""
import ctypes
import os
import subprocess
import tempfile
import threading

import numpy as np
import pytest

import fmd
from fmd import _lib

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FMD = os.environ.get("FMD_BIN", os.path.join(ROOT, "build", "fmd"))
FIVE = os.path.join(ROOT, "chapters", "03-constructing-a-training-target", "five_modes.gmm")
THREE = os.path.join(ROOT, "chapters", "05-conditional-generation", "three_classes.gmm")


def run(*args, stdin=None):
    """fmd ARGS; its standard output."""
    r = subprocess.run([FMD, *args], input=stdin, capture_output=True, text=True)
    assert r.returncode == 0, "fmd %s failed: %s" % (" ".join(args), r.stderr)
    return r.stdout


def table(text):
    """The numbers of a command's output, a row per line ('#' lines skipped)."""
    return np.array([[float(v) for v in line.split("\t")] for line in text.splitlines()
                     if line.strip() and not line.startswith("#")])


@pytest.fixture(scope="module")
def tmp():
    with tempfile.TemporaryDirectory() as d:
        yield d


# ---- the structs the binding mirrors have the C headers' layout --------------
LAYOUT = {
    "fmd_gmm": _lib.Gmm, "fmd_parse_error": _lib.ParseError, "fmd_schedule": _lib.Schedule,
    "fmd_sched_point": _lib.SchedPoint, "fmd_marginal_out": _lib.MarginalOut,
    "fmd_marginal_field_params": _lib.MarginalFieldParams, "fmd_guidance_params": _lib.GuidanceParams,
    "fmd_field": _lib.Field, "fmd_flow_sde_params": _lib.FlowSdeParams, "fmd_sampler": _lib.Sampler,
    "fmd_sampler_options": _lib.SamplerOptions, "fmd_sample_report": _lib.SampleReport,
    "fmd_ode_control": _lib.OdeControl, "fmd_likelihood_config": _lib.LikelihoodConfig,
    "fmd_run_info": _lib.RunInfo, "fmd_mlp_config": _lib.MlpConfig, "fmd_mlp_guidance": _lib.MlpGuidance,
    "fmd_unet_config": _lib.UnetConfig, "fmd_unet_guidance": _lib.UnetGuidance,
}
C_NAMES = {("fmd_ode_control", "rtol"): "tol.rtol", ("fmd_ode_control", "atol"): "tol.atol"}


def test_struct_layouts_match_the_headers(tmp):
    """Every mirrored struct's size and every field's offset, printed by a C
    program compiled against src/, equals ctypes'."""
    lines = ['#include <stdio.h>', '#include <stddef.h>', '#include "fmd.h"', "int main(void) {"]
    for cname, py in LAYOUT.items():
        lines.append('printf("%s %%zu\\n", sizeof(%s));' % (cname, cname))
        for field, _ in py._fields_:
            cf = C_NAMES.get((cname, field), field)
            lines.append('printf("%s.%s %%zu\\n", offsetof(%s, %s));' % (cname, field, cname, cf))
    lines.append("return 0; }")
    src, exe = os.path.join(tmp, "layout.c"), os.path.join(tmp, "layout")
    open(src, "w").write("\n".join(lines))
    r = subprocess.run(["cc", "-std=gnu11", "-I" + os.path.join(ROOT, "src"), src, "-o", exe], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    c = dict(line.split() for line in subprocess.run([exe], capture_output=True, text=True).stdout.splitlines())
    for cname, py in LAYOUT.items():
        assert int(c[cname]) == ctypes.sizeof(py), "sizeof(%s): C %s, ctypes %d" % (cname, c[cname], ctypes.sizeof(py))
        for field, _ in py._fields_:
            assert int(c["%s.%s" % (cname, field)]) == getattr(py, field).offset, "%s.%s" % (cname, field)


# ---- the same code gives the same bits ---------------------------------------
@pytest.mark.parametrize("t", [0.0, 0.37, 1.0])
@pytest.mark.parametrize("schedule", ["condot", "vp", "cosine"])
def test_marginal_equals_fmd_field_to_the_bit(t, schedule):
    m = fmd.Mixture.from_file(FIVE)
    x = np.array([[0.5, -1.25], [3.0, 2.0], [-7.5, 0.125], [0.0, 0.0]])
    want = table(run("field", "--gmm", FIVE, "--schedule", schedule, "--t", repr(t),
                     stdin="\n".join("%.17g %.17g" % tuple(p) for p in x)))
    out = m.marginal(x, t, schedule)
    got = np.column_stack([out.log_p, out.score, out.field, out.posterior_mean])
    assert np.array_equal(got, want)


def test_guided_field_equals_fmd_field_class_guidance():
    """Two C routes to one formula: fmd field mixes the two full marginal
    evaluations, (1 - w) u + w u_y; fmd_guided_field (the samplers' field)
    runs the field's fast path. They agree to rounding, 1e-13 relative."""
    m = fmd.Mixture.from_file(THREE)
    x = m.sample(7, seed=4)
    want = table(run("field", "--gmm", THREE, "--schedule", "condot", "--t", "0.6", "--class", "1", "--guidance",
                     "2.5", stdin="\n".join("%.17g %.17g" % tuple(p) for p in x)))
    got = m.guided_field(x, 0.6, "condot", 1, 2.5)
    assert np.allclose(got, want[:, 3:5], rtol=1e-13, atol=1e-13 * np.abs(want[:, 3:5]).max())
    assert not np.allclose(got, want[:, 3:5] * (1 + 1e-9), rtol=1e-13, atol=0)   # the tolerance can fail


@pytest.mark.parametrize("solver,extra", [("euler", []), ("rk4", []), ("dpm2m", []), ("ddim", ["--grid", "logsnr"]),
                                          ("ddpm", ["--variance", "posterior"]), ("heun-edm", []), ("pc", []),
                                          ("em", ["--sigma", "0.7"])])
def test_sample_flow_equals_fmd_sample_to_the_bit(solver, extra):
    m = fmd.Mixture.from_file(FIVE)
    want = table(run("sample", "--gmm", FIVE, "--schedule", "vp", "--solver", solver, "--steps", "12", "-n", "40",
                     "--seed", "5", *extra))
    kw = {}
    if "--sigma" in extra:
        kw["sigma"] = 0.7
    if "--grid" in extra:
        kw["grid"] = "logsnr"
    if "--variance" in extra:
        kw["variance"] = "posterior"
    x, starts = m.sample_flow(40, "vp", solver=solver, steps=12, seed=5, **kw)
    assert np.array_equal(x, want)
    assert starts.shape == x.shape and np.all(np.isfinite(starts))


def test_guided_sample_flow_equals_fmd_sample():
    m = fmd.Mixture.from_file(THREE)
    want = table(run("sample", "--gmm", THREE, "--schedule", "condot", "--class", "2", "--guidance", "2", "-n", "30",
                     "--solver", "heun", "--steps", "10"))
    x, _ = m.sample_flow(30, "condot", solver="heun", steps=10, cls=2, w=2.0)
    assert np.array_equal(x, want)


def test_evaluate_equals_fmd_eval(tmp):
    """The report's numbers are fmd eval's (which prints 6 digits), starts and all."""
    m = fmd.Mixture.from_file(THREE)
    x, starts = m.sample_flow(300, "condot", solver="euler", steps=10, seed=2)
    xs, ss = os.path.join(tmp, "x.txt"), os.path.join(tmp, "s.txt")
    np.savetxt(xs, x, fmt="%.17g")
    np.savetxt(ss, starts, fmt="%.17g")
    text = run("eval", "--gmm", THREE, "--samples", xs, "--starts", ss, "--schedule", "condot")
    e = m.evaluate(x, starts=starts, schedule="condot")
    rows = {line[:18].strip(): line[18:].split() for line in text.splitlines()[2:]}
    for name, (v, se) in {"NLL gap": (e.nll_gap, e.nll_gap_se), "sliced W1": (e.w1, e.w1_se),
                          "coupled RMS error": (e.rms, e.rms_se)}.items():
        assert float(rows[name][0]) == float("%.6g" % v) and float(rows[name][1]) == float("%.3g" % se), name
    for c, (share, se, exact, _) in e.shares.items():
        assert float(rows["class %d share" % c][0]) == float("%.6g" % share)
    assert e.w1_floor > 0 and 0 < e.rms < 0.5   # Euler with 10 steps is off the exact flow, by less than the modes' spread


def test_likelihood_equals_fmd_likelihood_to_the_bit():
    m = fmd.Mixture.from_file(FIVE)
    x = np.array([[0.0, 0.0], [0.7, 2.1], [-1.5, 0.3]])
    want = table(run("likelihood", "--gmm", FIVE, "--schedule", "condot",
                     stdin="\n".join("%.17g %.17g" % tuple(p) for p in x)))
    lp, se = m.likelihood(x, "condot")
    assert np.array_equal(lp, want[:, 0])
    assert np.allclose(lp, m.log_prob(x), rtol=0, atol=1e-6)   # the ODE agrees with the closed form


def test_fit_gmm_equals_fmd_fit_gmm_to_the_bit(tmp):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6))
    y = np.repeat([0, 3], 200)
    data = os.path.join(tmp, "data.txt")
    np.savetxt(data, np.column_stack([X, y]), fmt="%.17g")
    out = os.path.join(tmp, "fit.gmm")
    subprocess.run([FMD, "fit-gmm", "--data-file", data, "--labels", "--per-class", "--rank", "2", "--out", out],
                   check=True, capture_output=True)
    mine = fmd.fit_gmm(X, rank=2, labels=y)
    saved = os.path.join(tmp, "mine.gmm")
    mine.save(saved)
    a = [line for line in open(out) if not line.startswith("#")]
    b = [line for line in open(saved) if not line.startswith("#")]
    assert a == b
    assert list(mine.labels) == [0, 3]


def test_save_and_load_give_back_every_bit(tmp):
    rng = np.random.default_rng(3)
    A = rng.normal(size=(3, 4, 4))
    m = fmd.Mixture.from_arrays([0.2, 0.3, 0.5], rng.normal(size=(3, 4)), covariances=A @ A.transpose(0, 2, 1) + np.eye(4),
                                labels=[0, 1, 1])
    p = os.path.join(tmp, "m.gmm")
    m.save(p)
    back = fmd.Mixture.from_file(p)
    x = m.sample(50, seed=9)
    assert np.array_equal(back.log_prob(x), m.log_prob(x))
    assert np.array_equal(back.sample(5, seed=1), m.sample(5, seed=1))
    lr = fmd.Mixture.from_arrays([0.5, 0.5], rng.normal(size=(2, 5)), diagonal=np.ones((2, 5)),
                                 factors=rng.normal(size=(2, 5, 2)))
    q = os.path.join(tmp, "lr.gmm")
    lr.save(q)
    assert np.array_equal(fmd.Mixture.from_file(q).marginal(x[:, :1].repeat(5, 1), 0.5, "vp").field,
                          lr.marginal(x[:, :1].repeat(5, 1), 0.5, "vp").field)


# ---- the exact field against a NumPy implementation of Thm 10 ----------------
def numpy_marginal(w, mu, S, t, a, b, ad, bd, x):
    """p_t = sum_k w_k N(a mu_k, a^2 S_k + b^2 I); E[z | x] by Gaussian
    conditioning; u = ad E[z|x] + bd E[eps|x], E[eps|x] = (x - a E[z|x]) / b."""
    K, d = mu.shape
    logs, zs, scores = [], [], []
    for k in range(K):
        C = a * a * S[k] + b * b * np.eye(d)
        Ci = np.linalg.inv(C)
        delta = x - a * mu[k]
        v = delta @ Ci
        logs.append(np.log(w[k]) - 0.5 * np.linalg.slogdet(2 * np.pi * C)[1] - 0.5 * np.sum(v * delta, axis=1))
        zs.append(mu[k] + a * v @ S[k])
        scores.append(-v)
    L = np.array(logs)
    logp = np.logaddexp.reduce(L, axis=0)
    r = np.exp(L - logp)
    zmean = np.einsum("kn,knd->nd", r, np.array(zs))
    score = np.einsum("kn,knd->nd", r, np.array(scores))
    u = ad * zmean + bd * (x - a * zmean) / b
    return logp, score, u, zmean


@pytest.mark.parametrize("t", [0.25, 0.5, 0.9])
def test_exact_field_equals_a_numpy_implementation(t):
    w = np.array([0.3, 0.7])
    mu = np.array([[1.0, -2.0], [-1.5, 0.5]])
    S = np.array([[[0.5, 0.1], [0.1, 0.3]], [[0.2, 0.0], [0.0, 0.8]]])
    m = fmd.Mixture.from_arrays(w, mu, covariances=S)
    x = np.random.default_rng(1).normal(size=(20, 2)) * 2
    s = fmd.Schedule("cosine").at(t)
    logp, score, u, zmean = numpy_marginal(w, mu, S, t, s["alpha"], s["beta"], s["alpha_dot"], s["beta_dot"], x)
    out = m.marginal(x, t, "cosine")
    # Two implementations that round differently: fmd works through Cholesky factors and
    # log-sum-exp over components, NumPy through explicit inverses. The inputs are O(1)-O(10)
    # (|x| up to about 6, covariances of condition number below 10 at these t), and the field
    # at t = 0.9 divides by beta = 0.16. Observed: at most 5.3e-14 relative (the field at
    # t = 0.9), 2e-15 elsewhere; 1e-11 leaves a factor of 190 over that.
    for got, want in [(out.log_p, logp), (out.score, score), (out.field, u), (out.posterior_mean, zmean)]:
        assert np.allclose(got, want, rtol=1e-11, atol=1e-11)


def test_marginal_is_finite_at_both_ends():
    m = fmd.Mixture.from_file(FIVE)
    x = np.array([[0.3, -0.2], [1e3, -1e3]])
    for t in (0.0, 1.0):
        out = m.marginal(x, t, "condot", derivatives=True)
        assert all(np.all(np.isfinite(getattr(out, k))) for k in vars(out))
    # at t = 0 the marginal is N(0, I) exactly: log p = -|x|^2/2 - log(2 pi) in d = 2, to rounding (1e-12 of |x|^2)
    want = -0.5 * np.sum(x * x, axis=1) - np.log(2 * np.pi)
    assert np.allclose(m.marginal(x, 0.0, "condot").log_p, want, rtol=1e-12, atol=1e-12)


# ---- trained models ------------------------------------------------------------
@pytest.fixture(scope="module")
def models(tmp):
    paths = {}
    for obj in ("cfm", "dsm"):
        p = os.path.join(tmp, "%s.safetensors" % obj)
        subprocess.run([FMD, "train", "--gmm", FIVE, "--objective", obj, "--steps", "40", "--batch", "64", "--hidden",
                        "16,16", "--out", p, "--quiet"], check=True, capture_output=True)
        paths[obj] = p
    p = os.path.join(tmp, "unet.safetensors")
    subprocess.run([FMD, "train", "--arch", "unet", "--data", "fashion-mnist", "--labels", "--steps", "2", "--batch", "4",
                    "--channels", "4", "--mult", "1,2", "--attention", "off", "--out", p, "--quiet"], check=True,
                   capture_output=True)
    paths["unet"] = p
    return paths


@pytest.mark.parametrize("obj,solver", [("cfm", "euler"), ("cfm", "dpm2m"), ("dsm", "rk4"), ("dsm", "heun-edm")])
def test_model_samples_equal_fmd_sample(models, obj, solver):
    mod = fmd.Model.load(models[obj])
    assert mod.kind == "mlp" and mod.d == 2 and mod.info["objective"] == obj and mod.info["steps"] == 40
    want = table(run("sample", "--model", models[obj], "--solver", solver, "--steps", "15", "-n", "25", "--seed", "3"))
    x, _ = mod.sample(25, solver=solver, steps=15, seed=3)
    assert np.array_equal(x, want)


def test_unet_model_samples_equal_fmd_sample(models):
    mod = fmd.Model.load(models["unet"])
    assert mod.kind == "unet" and mod.d == 784 and mod.n_classes == 10
    want = table(run("sample", "--model", models["unet"], "-n", "2", "--steps", "2", "--class", "3"))
    x, _ = mod.sample(2, steps=2, cls=3)
    assert np.array_equal(x, want)


@pytest.mark.parametrize("obj", ["cfm", "dsm"])
def test_model_field_is_the_drift_its_sampler_integrates(models, obj):
    """Model.field is the field Prop 1 gives from the network's output (the
    output itself for cfm, c_t s + a_t x for dsm). One Euler step of
    Model.sample from its starts moves each by (t1 - t0) u_t0, so the two
    must agree to the rounding of that step (a few ulps of |x|)."""
    mod = fmd.Model.load(models[obj])
    x1, starts = mod.sample(20, solver="euler", steps=1, seed=4)
    t0, t1 = (0.0, 1.0) if obj == "cfm" else (1e-3, 1.0 - 1e-3)   # fmd_model_time_range: flow, preconditioned score
    u = mod.field(starts, t0)
    assert np.allclose(starts + (t1 - t0) * u, x1, rtol=0, atol=1e-13 * (1 + np.abs(x1).max()))
    assert not np.allclose(starts + (t1 - t0) * 1.01 * u, x1, rtol=0, atol=1e-13 * (1 + np.abs(x1).max()))
    if obj == "dsm":   # alpha_0 = 0: Prop 1 gives no field from a score at t = 0
        with pytest.raises(ValueError, match="Prop 1"):
            mod.field(starts, 0.0)


# ---- errors: raised with a message, never a crash -----------------------------
@pytest.mark.parametrize("call,exc,words", [
    (lambda m: m.marginal(np.zeros((3, 3)), 0.5, "condot"), ValueError, "shape"),
    (lambda m: m.marginal([[0.0, np.nan]], 0.5, "condot"), ValueError, "finite"),
    (lambda m: m.marginal([[0.0, 1.0]], 1.5, "condot"), ValueError, "outside"),
    (lambda m: m.marginal([[0.0, 1.0]], 0.5, "nosuch"), ValueError, "unknown schedule"),
    (lambda m: m.marginal("abc", 0.5, "condot"), ValueError, "array of numbers"),
    (lambda m: m.marginal(np.zeros((0, 2)), 0.5, "condot"), ValueError, "no points"),
    (lambda m: m.sample_flow(10, "vp", solver="nosuch"), ValueError, "unknown solver"),
    (lambda m: m.sample_flow(10, "vp", solver="em"), ValueError, "sigma"),
    (lambda m: m.sample_flow(10, "vp", solver="ddpm", t0=0.1), ValueError, "own levels"),
    (lambda m: m.sample_flow(0, "vp"), ValueError, "whole number"),
    (lambda m: m.sample_flow(10, "vp", t0=0.5, t1=0.2), ValueError, "below"),
    (lambda m: m.sample(-1), ValueError, "whole number"),
    (lambda m: m.guided_field([[0.0, 0.0]], 0.5, "condot", 17), ValueError, "label"),
    (lambda m: m.evaluate(np.zeros((5, 2)), starts=np.zeros((5, 2))), ValueError, "schedule"),
    (lambda m: m.evaluate(np.zeros((5, 2)), starts=np.zeros((4, 2)), schedule="condot"), ValueError, "starts"),
    (lambda m: m.likelihood([[0.0, 0.0]], "condot", divergence="magic"), ValueError, "divergence"),
    (lambda m: m.save("/nonexistent-dir/x.gmm"), OSError, "writing"),
])
def test_bad_input_raises_with_a_message(call, exc, words):
    m = fmd.Mixture.from_file(FIVE)
    with pytest.raises(exc, match=words):
        call(m)


def test_bad_files_and_mixtures_raise(tmp):
    with pytest.raises(OSError, match="nosuch"):
        fmd.Mixture.from_file(os.path.join(tmp, "nosuch.gmm"))
    bad = os.path.join(tmp, "bad.gmm")
    open(bad, "w").write("gmm 2 1\n1 0 0 1 0 0 -1\n")
    with pytest.raises(ValueError, match=r"bad.gmm:2"):
        fmd.Mixture.from_file(bad)
    with pytest.raises(ValueError, match="sum to 1"):
        fmd.Mixture.from_arrays([0.5, 0.4], np.zeros((2, 2)), covariances=np.stack([np.eye(2)] * 2))
    with pytest.raises(ValueError, match="positive definite"):
        fmd.Mixture.from_arrays([1.0], np.zeros((1, 2)), covariances=[[[1.0, 2.0], [2.0, 1.0]]])
    with pytest.raises(ValueError, match="shape"):
        fmd.Mixture.from_arrays([1.0], np.zeros((1, 2)), covariances=np.eye(3)[None])
    with pytest.raises(ValueError, match="rank"):
        fmd.fit_gmm(np.random.default_rng(0).normal(size=(10, 3)), rank=3)
    junk = os.path.join(tmp, "junk.safetensors")
    open(junk, "wb").write(b"\x10\x00\x00\x00\x00\x00\x00\x00{}garbage")
    with pytest.raises(ValueError, match="junk.safetensors"):
        fmd.Model.load(junk)


# ---- threads: many callers at once, the same bits ------------------------------
def test_many_threads_at_once_give_the_same_bits():
    m = fmd.Mixture.from_file(FIVE)
    x = m.sample(2000, seed=11)
    want_field = m.marginal(x, 0.4, "vp").field
    want_samples, _ = m.sample_flow(300, "vp", solver="rk4", steps=20, seed=2, threads=2)
    results, errors = [], []

    def work(i):
        try:
            if i % 2:
                results.append(("field", np.array_equal(m.marginal(x, 0.4, "vp").field, want_field)))
            else:
                s, _ = m.sample_flow(300, "vp", solver="rk4", steps=20, seed=2, threads=1 + i % 3)
                results.append(("samples", np.array_equal(s, want_samples)))
        except Exception as e:   # collected, so the main thread reports it
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors and len(results) == 8 and all(ok for _, ok in results), results


# ---- the README's example and the offline pip install -------------------------
def test_the_readme_python_example_runs():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    start = text.index("<!-- example: run by verify/python/test_binding.py -->")
    block = text[text.index("```python\n", start) + len("```python\n"):text.index("\n```", start + 60)]
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    r = subprocess.run([os.sys.executable, "-c", block], cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "Evaluation(n=1000" in r.stdout


def test_pip_installs_offline_into_a_virtual_environment(tmp):
    """pip install ./python with no index: the in-tree backend needs nothing."""
    venv = os.path.join(tmp, "venv")
    subprocess.run([os.sys.executable, "-m", "venv", "--system-site-packages", venv], check=True, capture_output=True)
    r = subprocess.run([os.path.join(venv, "bin", "pip"), "install", "--no-index", os.path.join(ROOT, "python")],
                       capture_output=True, text=True,
                       env=dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1"))
    assert r.returncode == 0, r.stdout + r.stderr
    lib = sorted(__import__("glob").glob(os.path.join(ROOT, "build", "libfmd.so.*")))[-1]
    r = subprocess.run([os.path.join(venv, "bin", "python"), "-c",
                        "import fmd; print(fmd.__file__); print(fmd.Schedule('condot').at(0.25)['alpha'])"],
                       cwd=tmp, env=dict(os.environ, FMD_LIB=lib, PYTHONPATH=""), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert venv in r.stdout.splitlines()[0] and r.stdout.splitlines()[1] == "0.25"
