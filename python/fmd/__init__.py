"""fmd -- the exact oracle of the course *An Introduction to Flow Matching
and Diffusion Models* (MIT 6.S184), from Python.

A thin NumPy binding over libfmd (ctypes; no compiled extension): the C
library does the work, with the same bits as fmd's own programs. Arrays are
float64, C-contiguous, shape (n, d) (converted with a copy when they are
not); results are new arrays. Bad input raises ValueError (or OSError for a
file, MemoryError) with fmd's message before anything reaches C.

    import numpy as np, fmd
    mix = fmd.Mixture.from_file("chapters/03-constructing-a-training-target/five_modes.gmm")
    out = mix.marginal(np.array([[0.5, -1.25]]), 0.5, fmd.Schedule("condot"))
    out.field            # u_t(x), Thm 10 of the notes, exactly

Time runs as in the course: noise at t = 0, data at t = 1.
"""
import ctypes
import math
import os

import numpy as np

from . import _lib
from ._lib import FmdError, check, lib

__all__ = ["Schedule", "Mixture", "Marginal", "Evaluation", "Model", "fit_gmm", "samplers", "FmdError",
           "LIBRARY_PATH", "__version__"]

LIBRARY_PATH = _lib.LIBRARY_PATH
__version__ = "0.1.0"

_PREDICTS = {"cfm": 0, "cfm+dsm": 0, "dsm": 1, "ddpm": 2, "ddpm-discrete": 2, "denoiser": 3}


def _dptr(a):
    return a.ctypes.data_as(_lib.c_dbl_p) if a is not None else None


def _points(x, d, name="x"):
    """x as a float64 C-contiguous (n, d) array of finite numbers."""
    try:
        a = np.array(x, dtype=np.float64, order="C", copy=True)
    except (TypeError, ValueError) as e:
        raise ValueError("fmd: %s must be an array of numbers: %s" % (name, e)) from None
    if a.ndim == 1 and d is not None and a.shape[0] == d:
        a = a.reshape(1, d)
    if a.ndim != 2 or (d is not None and a.shape[1] != d):
        raise ValueError("fmd: %s must have shape (n, %s); got %s" % (name, d if d is not None else "d", a.shape))
    if a.shape[0] == 0:
        raise ValueError("fmd: %s holds no points" % name)
    if not np.all(np.isfinite(a)):
        bad = np.argwhere(~np.isfinite(a))[0]
        raise ValueError("fmd: %s[%d, %d] is %r: every coordinate must be finite" % (name, bad[0], bad[1],
                                                                                     a[bad[0], bad[1]]))
    return a


def _time(t, name="t"):
    try:
        t = float(t)
    except (TypeError, ValueError):
        raise ValueError("fmd: %s must be a number in [0, 1]" % name) from None
    if not (0.0 <= t <= 1.0):
        raise ValueError("fmd: %s = %r is outside [0, 1] (noise at 0, data at 1)" % (name, t))
    return t


def _count(v, name, lo=1, hi=None):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo or (hi is not None and v > hi):
        raise ValueError("fmd: %s must be a whole number%s; got %r" % (
            name, " in [%d, %d]" % (lo, hi) if hi is not None else " >= %d" % lo, v))
    return int(v)


def _seed(seed):
    return _count(seed, "seed", 0, 2 ** 64 - 1)


def _threads(threads):
    return _count(threads, "threads", 1, 64)


def samplers():
    """The names `Mixture.sample_flow` and `Model.sample` take: the library's
    own list (fmd_sampler_names, sde_view/sampler.h)."""
    return _lib.sampler_names()


class _Rng:
    """A seeded GSL stream (base/rng.h), freed on exit."""

    def __init__(self, seed, stream):
        self.p = ctypes.c_void_p()
        check(lib.fmd_rng_alloc(_seed(seed), stream, ctypes.byref(self.p)), "a random stream")

    def __enter__(self):
        return self.p

    def __exit__(self, *exc):
        lib.gsl_rng_free(self.p)


# ---- schedules ---------------------------------------------------------------
class Schedule:
    """A Gaussian path's schedule alpha_t, beta_t (Ex 9 of the notes;
    paths/schedule.h): p_t(. | z) = N(alpha_t z, beta_t^2 I), alpha_0 =
    beta_1 = 0, alpha_1 = beta_0 = 1. Names: condot (t, 1 - t), cosine, lab,
    poly:N, vp (lecture 003's VP SDE read backwards), ou:T, ve, ddpm:N.

    s.alpha(t), s.beta(t), s.alpha_dot(t), s.beta_dot(t) take a number or an
    array of times in [0, 1]; s.at(t) gives all five at one time
    (beta_beta_dot = beta_t beta_dot_t stays finite where beta_dot does not)."""

    def __init__(self, name):
        if not isinstance(name, str) or not name:
            raise ValueError("fmd: a schedule is named by a string, e.g. 'condot'")
        self.name = name
        self._s = _lib.Schedule()
        if lib.fmd_schedule_by_name(name.encode(), ctypes.byref(self._s)) != _lib.FMD_OK:
            raise ValueError("fmd: unknown schedule %r: condot, cosine, lab, poly:N (N > 0), vp, ou:T, ve, ddpm:N"
                             % name)

    def __repr__(self):
        return "Schedule(%r)" % self.name

    def at(self, t):
        """alpha, beta, alpha_dot, beta_dot and beta * beta_dot at time t, as a dict."""
        p = _lib.SchedPoint()
        check(lib.fmd_schedule_at(ctypes.byref(self._s), _time(t), ctypes.byref(p)), "schedule %s" % self.name)
        return {k: getattr(p, k) for k, _ in _lib.SchedPoint._fields_}

    def _vec(self, t, key):
        ts = np.asarray(t, dtype=np.float64)
        out = np.array([self.at(v)[key] for v in ts.ravel()])
        return out.reshape(ts.shape) if ts.ndim else float(out[0])

    def alpha(self, t):
        return self._vec(t, "alpha")

    def beta(self, t):
        return self._vec(t, "beta")

    def alpha_dot(self, t):
        return self._vec(t, "alpha_dot")

    def beta_dot(self, t):
        return self._vec(t, "beta_dot")


def _schedule(s):
    if isinstance(s, Schedule):
        return s
    if isinstance(s, str):
        return Schedule(s)
    raise ValueError("fmd: a schedule is a Schedule or its name; got %r" % (s,))


# ---- results -----------------------------------------------------------------
class Marginal:
    """The exact marginal path of a mixture at time t (Thm 10; paths/marginal.h):
    log_p (n,), score (n, d), field (n, d) = u_t(x), posterior_mean (n, d) =
    E[z | x_t = x]; with derivatives=True also div_field (n,) = div u_t(x),
    dt_log_p (n,) = d/dt log p_t(x) and laplacian_ratio (n,) = Laplacian
    p_t(x) / p_t(x), the terms of the continuity and Fokker-Planck equations
    (Thm 12, Thm 15)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __repr__(self):
        return "Marginal(%s)" % ", ".join("%s=%s" % (k, getattr(v, "shape", v)) for k, v in self.__dict__.items())


class Evaluation:
    """How close samples are to a mixture, each number with its standard
    error (sde_view/evaluate.h): mean_logp and exact_logp (n exact draws),
    nll_gap = exact_logp - mean_logp (0 for exact samples), w1 (sliced W1 to
    the exact draws) beside w1_floor (exact against exact), shares {class:
    (share, se, exact share, se)}, and with starts rms, the coupled error to
    the exact flow's image of each start."""

    def __init__(self, r):
        for name, _ in _lib.SampleReport._fields_:
            if name in ("class_label", "share", "share_se", "exact_share", "exact_share_se", "nclasses"):
                continue
            setattr(self, name, getattr(r, name))
        self.shares = {r.class_label[c]: (r.share[c], r.share_se[c], r.exact_share[c], r.exact_share_se[c])
                       for c in range(r.nclasses)}

    def __repr__(self):
        s = "Evaluation(n=%d, nll_gap=%.4g +- %.2g, w1=%.4g +- %.2g (floor %.4g)" % (
            self.n, self.nll_gap, self.nll_gap_se, self.w1, self.w1_se, self.w1_floor)
        if not math.isnan(self.rms):
            s += ", rms=%.4g +- %.2g" % (self.rms, self.rms_se)
        return s + ")"


# ---- mixtures ----------------------------------------------------------------
class Mixture:
    """A Gaussian mixture p_data = sum_k w_k N(mu_k, Sigma_k), the course's
    data distribution whose whole probability path is closed-form (chapter 3;
    paths/gmm.h). Covariances are full (K, d, d), or diag(D_k) + F_k F_k^T of
    low rank (chapter 6), exact at d = 784. Make one with from_file,
    from_arrays or fit_gmm."""

    def __init__(self, ptr, source):
        self._g = ptr
        self.source = source

    def __del__(self):
        g, self._g = getattr(self, "_g", None), None
        if g:
            lib.fmd_gmm_free(g)

    @property
    def d(self):
        return self._g.contents.d

    @property
    def K(self):
        return self._g.contents.K

    @property
    def rank(self):
        return self._g.contents.rank

    @property
    def weights(self):
        return np.ctypeslib.as_array(self._g.contents.weight, (self.K,)).copy()

    @property
    def means(self):
        return np.ctypeslib.as_array(self._g.contents.mean, (self.K, self.d)).copy()

    @property
    def labels(self):
        return np.ctypeslib.as_array(self._g.contents.label, (self.K,)).copy()

    def __repr__(self):
        return "Mixture(d=%d, K=%d%s, from %s)" % (self.d, self.K, ", rank %d" % self.rank if self.rank else "",
                                                   self.source)

    @classmethod
    def from_file(cls, path):
        """A mixture file (`fmd field --help` gives the format); OSError if it
        cannot be read, ValueError naming the line at fault otherwise."""
        g = _lib.GmmP()
        err = _lib.ParseError()
        st = lib.fmd_gmm_load(os.fsencode(path), ctypes.byref(g), ctypes.byref(err))
        if st != _lib.FMD_OK:
            where = "%s:%d" % (err.file.decode(errors="replace"), err.line) if err.line else err.file.decode(
                errors="replace")
            msg = "fmd: %s: %s" % (where, err.reason.decode(errors="replace"))
            raise (OSError if st == _lib.FMD_EIO else MemoryError if st == _lib.FMD_ENOMEM else ValueError)(msg)
        return cls(g, str(path))

    @classmethod
    def from_arrays(cls, weights, means, covariances=None, diagonal=None, factors=None, labels=None):
        """weights (K,) > 0 summing to 1, means (K, d), and either
        covariances (K, d, d) symmetric positive definite, or diagonal (K, d)
        > 0 with optional factors (K, d, r), r < d, for diag(D) + F F^T;
        labels (K,) classes 0..1023 (default: each component its own)."""
        w = np.array(weights, dtype=np.float64, order="C").ravel()
        K = w.shape[0]
        if K == 0:
            raise ValueError("fmd: a mixture needs at least one component")
        mu = _points(means, None, "means")
        if mu.shape[0] != K:
            raise ValueError("fmd: means has %d rows for %d weights" % (mu.shape[0], K))
        d = mu.shape[1]
        if (covariances is None) == (diagonal is None):
            raise ValueError("fmd: give covariances (K, d, d), or diagonal (K, d) with optional factors (K, d, r)")
        g = _lib.GmmP()
        if covariances is not None:
            C = np.array(covariances, dtype=np.float64, order="C")
            if C.shape != (K, d, d):
                raise ValueError("fmd: covariances must have shape (%d, %d, %d); got %s" % (K, d, d, C.shape))
            check(lib.fmd_gmm_alloc(d, K, ctypes.byref(g)), "allocating the mixture")
            ctypes.memmove(g.contents.cov, C.ctypes.data, C.nbytes)
        else:
            D = np.array(diagonal, dtype=np.float64, order="C")
            if D.shape != (K, d):
                raise ValueError("fmd: diagonal must have shape (%d, %d); got %s" % (K, d, D.shape))
            if factors is None:
                C = np.zeros((K, d, d))
                C[:, np.arange(d), np.arange(d)] = D
                return cls.from_arrays(w, mu, covariances=C, labels=labels)
            F = np.array(factors, dtype=np.float64, order="C")
            if F.ndim != 3 or F.shape[:2] != (K, d) or not (1 <= F.shape[2] < d) or F.shape[2] > 128:
                raise ValueError("fmd: factors must have shape (%d, %d, r) with 1 <= r < %d, r <= 128; got %s"
                                 % (K, d, d, F.shape))
            check(lib.fmd_gmm_alloc_lowrank(d, K, F.shape[2], ctypes.byref(g)), "allocating the mixture")
            ctypes.memmove(g.contents.diag, D.ctypes.data, D.nbytes)
            ctypes.memmove(g.contents.factor, F.ctypes.data, F.nbytes)
        mix = cls(g, "arrays")   # freed by its destructor if anything below raises
        ctypes.memmove(g.contents.weight, w.ctypes.data, w.nbytes)
        ctypes.memmove(g.contents.mean, mu.ctypes.data, mu.nbytes)
        if labels is not None:
            lab = np.array(labels).ravel()
            if lab.shape != (K,) or not np.all(np.equal(np.mod(lab, 1), 0)) or lab.min() < 0 or lab.max() > 1023:
                raise ValueError("fmd: labels must be K = %d whole numbers in 0..1023" % K)
            lab = lab.astype(np.intc)
            ctypes.memmove(g.contents.label, lab.ctypes.data, lab.nbytes)
        st = lib.fmd_gmm_prepare(g)
        if st != _lib.FMD_OK:
            why = {_lib.FMD_EDOM: "a weight, mean or covariance is not finite",
                   _lib.FMD_EINVAL: "the weights must be > 0 and sum to 1 (within 1e-9)",
                   _lib.FMD_ECOV: "a covariance is not symmetric positive definite (or a diagonal entry <= 0)"}
            raise ValueError("fmd: the mixture is not valid: %s" % why.get(st, lib.fmd_strerror(st).decode()))
        return mix

    # -- chapter 1 ---------------------------------------------------------
    def sample(self, n, seed=0):
        """n draws z ~ p_data (n, d), from stream 0 of the seed (chapter 1:
        pick component k with probability w_k, then z = mu_k + L_k e with
        Sigma_k = L_k L_k^T and e ~ N(0, I))."""
        n = _count(n, "n")
        z = np.empty((n, self.d))
        with _Rng(seed, 0) as r:
            check(lib.fmd_gmm_sample(self._g, r, n, _dptr(z), None), "sampling the mixture")
        return z

    def log_prob(self, x):
        """log p_data(x) = log sum_k w_k N(x; mu_k, Sigma_k) (n,) at points
        x (n, d) (chapter 1), by log-sum-exp: finite far from every mode."""
        x = _points(x, self.d)
        out = np.empty(x.shape[0])
        check(lib.fmd_gmm_log_density(self._g, x.shape[0], _dptr(x), _dptr(out)), "the log-density")
        return out

    def save(self, path, labelled=True):
        """Write the mixture file at path (%.17g: read back, every bit is
        the same), whole or not at all."""
        check(lib.fmd_gmm_save(os.fsencode(path), self._g, 1 if labelled else 0), "writing %s" % path)

    # -- chapter 3 ---------------------------------------------------------
    def marginal(self, x, t, schedule, derivatives=False):
        """The marginal path at time t in [0, 1] inclusive, at points x (n, d)
        (Thm 10, the score as a posterior mean, Prop 1): a Marginal with
        log_p, score, field and posterior_mean, and with derivatives=True
        div_field, dt_log_p and laplacian_ratio. Finite at t = 0 and t = 1."""
        s = _schedule(schedule)
        t = _time(t)
        x = _points(x, self.d)
        n, d = x.shape
        res = {"log_p": np.empty(n), "score": np.empty((n, d)), "field": np.empty((n, d)),
               "posterior_mean": np.empty((n, d))}
        if derivatives:
            res.update(div_field=np.empty(n), dt_log_p=np.empty(n), laplacian_ratio=np.empty(n))
        out = _lib.MarginalOut(_dptr(res["log_p"]), _dptr(res["score"]), _dptr(res["posterior_mean"]),
                               _dptr(res["field"]), _dptr(res.get("dt_log_p")), _dptr(res.get("div_field")),
                               _dptr(res.get("laplacian_ratio")))
        m = ctypes.c_void_p()
        try:
            check(lib.fmd_marginal_alloc(self._g, ctypes.byref(m)), "the marginal path")
            check(lib.fmd_marginal_set_time(m, ctypes.byref(s._s), t), "the marginal path at t = %g" % t)
            check(lib.fmd_marginal_eval(m, n, _dptr(x), ctypes.byref(out)), "evaluating the marginal path")
        finally:
            lib.fmd_marginal_free(m)
        return Marginal(**res)

    def guided_field(self, x, t, schedule, cls, w=1.0):
        """Classifier-free guidance, exactly (chapter 5): (1 - w) u_t(x) +
        w u_t(x | y) for class y = cls of a labelled mixture, at points x."""
        s = _schedule(schedule)
        t = _time(t)
        x = _points(x, self.d)
        cls = _count(cls, "cls", 0, 1023)
        w = float(w)
        if not math.isfinite(w):
            raise ValueError("fmd: the guidance scale w must be finite")
        P = _lib.GuidanceParams()
        st = lib.fmd_guidance_init(ctypes.byref(P), self._g, cls, ctypes.byref(s._s), w)
        if st != _lib.FMD_OK:
            raise ValueError("fmd: class %d: no component of the mixture has that label (labels: %s)"
                             % (cls, sorted(set(self.labels.tolist()))))
        out = np.empty_like(x)
        try:
            check(lib.fmd_guided_field(t, x.shape[0], self.d, _dptr(x), _dptr(out), ctypes.cast(ctypes.byref(P),
                                                                                                 ctypes.c_void_p)),
                  "the guided field")
        finally:
            lib.fmd_guidance_free(ctypes.byref(P))
        return out

    def _exact_field(self, s, cls=None, w=1.0):
        """(Field, keep-alive objects) for the exact field of this mixture."""
        if cls is None:
            M = _lib.MarginalFieldParams(self._g, ctypes.pointer(s._s), None, None)
            return _lib.Field(_lib.fn_address("fmd_marginal_field"), self.d, ctypes.cast(ctypes.pointer(M),
                                                                                         ctypes.c_void_p)), [M]
        P = _lib.GuidanceParams()
        if lib.fmd_guidance_init(ctypes.byref(P), self._g, _count(cls, "cls", 0, 1023), ctypes.byref(s._s),
                                 float(w)) != _lib.FMD_OK:
            raise ValueError("fmd: class %r: no component of the mixture has that label" % (cls,))
        return _lib.Field(_lib.fn_address("fmd_guided_field"), self.d, ctypes.cast(ctypes.pointer(P),
                                                                                   ctypes.c_void_p)), [P]

    # -- chapters 2 and 6: samplers on the exact field --------------------
    def sample_flow(self, n, schedule, solver="euler", steps=100, seed=0, t0=None, t1=None, sigma=None,
                    threads=1, cls=None, w=1.0, form="data", grid="time:2", variance="beta"):
        """n samples by any of fmd's samplers (fmd.samplers()) on the exact
        marginal field (guided towards class cls with scale w if given):
        Algorithm 1 (euler) and better ODE steppers, Thm 13's SDE (em,
        heun-sde with sigma: sigma_t = sigma beta_t), chapter 6's exponential
        integrators, k-diffusion's and the discrete samplers. Returns
        (samples, starts), both (n, d): starts are X_t0 = beta_t0 eps, where
        each run began. The bits are `fmd sample --gmm`'s for the same options."""
        s = _schedule(schedule)
        field, keep = self._exact_field(s, cls, w)
        try:
            return _run_sampler((field, keep), s, 0, 0, 1.0, n, solver, steps, seed, t0, t1, sigma, threads, form,
                                grid, variance, self.d)
        finally:
            for k in keep:
                if isinstance(k, _lib.GuidanceParams):
                    lib.fmd_guidance_free(ctypes.byref(k))

    def evaluate(self, samples, starts=None, schedule=None, seed=0, threads=1):
        """An Evaluation of samples (n, d), n >= 2, made by any program: the
        NLL gap, sliced W1 beside its floor and class shares, each with its
        SE; with starts (the noise each sample began from at t = 0) and the
        schedule of their flow, the coupled RMS error to the exact flow's
        image of each start (sde_view/evaluate.h; `fmd eval --samples`)."""
        x = _points(samples, self.d, "samples")
        if x.shape[0] < 2:
            raise ValueError("fmd: evaluate needs at least 2 samples")
        x0 = None
        sch = None
        if starts is not None:
            if schedule is None:
                raise ValueError("fmd: starts need the schedule of the flow they started (schedule=)")
            x0 = _points(starts, self.d, "starts")
            if x0.shape[0] != x.shape[0]:
                raise ValueError("fmd: %d starts for %d samples" % (x0.shape[0], x.shape[0]))
        if schedule is not None:
            sch = _schedule(schedule)
        r = _lib.SampleReport()
        check(lib.fmd_evaluate_samples(self._g, x.shape[0], _dptr(x), _dptr(x0), ctypes.byref(sch._s) if sch else None,
                                       _seed(seed), _threads(threads), ctypes.byref(r)), "evaluating the samples")
        return Evaluation(r)

    def likelihood(self, x, schedule, solver="dopri5", steps=200, tol=1e-8, divergence="exact", probes=16, seed=0,
                   threads=1):
        """log p_1(x) by the instantaneous change of variables (chapter 6.5):
        the ODE of u_t run back from x to t = 0, accumulating div u_t, plus
        log p_0. divergence: exact (the mixture's closed form), fd, hutchinson,
        hutchinson-gauss (probes each). Returns (log_p, se), both (n,); se is
        Hutchinson's standard error (0 otherwise). Compare with log_prob."""
        s = _schedule(schedule)
        x = _points(x, self.d)
        methods = {"exact": 0, "fd": 1, "hutchinson": 2, "hutchinson-gauss": 3}
        if divergence not in methods:
            raise ValueError("fmd: divergence %r: one of %s" % (divergence, ", ".join(methods)))
        T = lib.fmd_ode_stepper_by_name(str(solver).encode())
        if not T:
            raise ValueError("fmd: unknown ODE solver %r: euler, midpoint, heun, rk4, dopri5" % (solver,))
        steps = _count(steps, "steps", 1, 10 ** 7)
        probes = _count(probes, "probes", 1, 4096)
        if not (1e-14 <= float(tol) <= 1e-1):
            raise ValueError("fmd: tol must lie in [1e-14, 0.1]")
        field, keep = self._exact_field(s)
        m0 = ctypes.c_void_p()
        n = x.shape[0]
        lp, se = np.empty(n), np.empty(n)
        try:
            check(lib.fmd_marginal_alloc(self._g, ctypes.byref(m0)), "the marginal path")
            check(lib.fmd_marginal_set_time(m0, ctypes.byref(s._s), 0.0), "the marginal path at t = 0")
            cfg = _lib.LikelihoodConfig(ctypes.pointer(field), methods[divergence],
                                        _lib.fn_address("fmd_marginal_divergence"), field.params,
                                        probes, _threads(threads))
            ctl = _lib.OdeControl(float(tol), float(tol), 0.0, 0.0, 0)
            adaptive = solver == "dopri5"
            check(lib.fmd_log_likelihood(ctypes.byref(cfg), T, ctypes.byref(ctl) if adaptive else None, steps, 0.0,
                                         1.0, n, self.d, _dptr(x), _lib.fn_address("fmd_marginal_log_density"), m0,
                                         _seed(seed), _dptr(lp), _dptr(se), None), "the likelihood")
        finally:
            lib.fmd_marginal_free(m0)
        return lp, se


def fit_gmm(data, rank, labels=None, floor=1e-3):
    """A mixture fitted to data (n, d) in closed form (`fmd fit-gmm`; paths/
    fit.h): one component per class when labels (n,) are given (weights the
    classes' shares), else one for all; each component's covariance
    diag(D) + F F^T of rank 1 <= rank < d, F the leading principal directions
    scaled as probabilistic PCA's factor, D each coordinate's residual
    variance, at least floor."""
    X = _points(data, None, "data")
    n, d = X.shape
    r = _count(rank, "rank", 1, 128)
    if r >= d:
        raise ValueError("fmd: rank %d needs d > %d; the data have d = %d" % (r, r, d))
    if not (floor > 0 and math.isfinite(floor)):
        raise ValueError("fmd: floor must be a positive number")
    if labels is None:
        groups = [(0, X)]
    else:
        lab = np.asarray(labels).ravel()
        if lab.shape != (n,) or not np.all(np.equal(np.mod(lab, 1), 0)) or lab.min() < 0 or lab.max() > 1023:
            raise ValueError("fmd: labels must be %d whole numbers in 0..1023, one per row" % n)
        groups = [(int(y), np.ascontiguousarray(X[lab == y])) for y in np.unique(lab)]
    K = len(groups)
    g = _lib.GmmP()
    check(lib.fmd_gmm_alloc_lowrank(d, K, r, ctypes.byref(g)), "allocating the mixture")
    mix = Mixture(g, "fit_gmm")
    c = g.contents
    for k, (y, rows) in enumerate(groups):
        if rows.shape[0] < 2:
            raise ValueError("fmd: class %d has %d row%s; a covariance needs at least 2" % (
                y, rows.shape[0], "" if rows.shape[0] == 1 else "s"))
        mean, D, F = np.empty(d), np.empty(d), np.empty((d, r))
        check(lib.fmd_fit_lowrank(rows.shape[0], d, _dptr(rows), r, float(floor), _dptr(mean), _dptr(D), _dptr(F),
                                  None), "fitting class %d" % y)
        ctypes.memmove(ctypes.addressof(c.mean.contents) + k * d * 8, mean.ctypes.data, mean.nbytes)
        ctypes.memmove(ctypes.addressof(c.diag.contents) + k * d * 8, D.ctypes.data, D.nbytes)
        ctypes.memmove(ctypes.addressof(c.factor.contents) + k * d * r * 8, F.ctypes.data, F.nbytes)
        c.weight[k] = rows.shape[0] / n
        c.label[k] = y
    check(lib.fmd_gmm_prepare(g), "the fitted mixture")
    return mix


Mixture.fit = staticmethod(fit_gmm)


def _run_sampler(field_keep, s, predicts, preconditioned, t_max, n, solver, steps, seed, t0, t1, sigma, threads,
                 form, grid, variance, d):
    """fmd_sampler_run (sde_view/sampler.h) on a field: the samples and the starts."""
    field, keep = field_keep
    n = _count(n, "n", 1, 10 ** 8)
    steps = _count(steps, "steps", 1, 10 ** 7)
    smp = _lib.Sampler()
    if lib.fmd_sampler_by_name(str(solver).encode(), ctypes.byref(smp)) != _lib.FMD_OK:
        raise ValueError("fmd: unknown solver %r: %s" % (solver, ", ".join(samplers())))
    o = _lib.SamplerOptions()
    lib.fmd_sampler_options_default(ctypes.byref(o))
    if form not in ("data", "noise"):
        raise ValueError("fmd: form must be 'data' or 'noise'")
    o.form = _lib.EXP_DATA if form == "data" else _lib.EXP_NOISE
    if grid == "logsnr":
        o.grid, o.power = _lib.GRID_LOGSNR, 1.0
    elif grid == "time":
        o.grid, o.power = _lib.GRID_TIME, 1.0
    elif isinstance(grid, str) and grid.startswith("time:"):
        try:
            o.grid, o.power = _lib.GRID_TIME, float(grid[5:])
        except ValueError:
            raise ValueError("fmd: grid %r: logsnr, time or time:P (P >= 1)" % grid) from None
        if not (1.0 <= o.power <= 100.0):
            raise ValueError("fmd: grid %r: P must lie in [1, 100]" % grid)
    else:
        raise ValueError("fmd: grid %r: logsnr, time or time:P (P >= 1)" % (grid,))
    if variance not in ("beta", "posterior"):
        raise ValueError("fmd: variance must be 'beta' or 'posterior'")
    o.variance = _lib.DDPM_VAR_POSTERIOR if variance == "posterior" else _lib.DDPM_VAR_BETA
    is_sde = smp.kind == _lib.SAMPLER_SDE
    if is_sde != (sigma is not None):
        raise ValueError("fmd: the SDE solvers (em, heun-sde) need sigma=, and only they take it")
    if sigma is not None and not (0 <= float(sigma) <= 1e6):
        raise ValueError("fmd: sigma must lie in [0, 1e6]")
    if smp.kind in (_lib.SAMPLER_K, _lib.SAMPLER_DDPM, _lib.SAMPLER_LANGEVIN) and (t0 is not None or t1 is not None):
        raise ValueError("fmd: the sampler %r runs its own levels: it takes neither t0 nor t1" % solver)
    a = ctypes.c_double(-1.0 if t0 is None else _time(t0, "t0"))
    b = ctypes.c_double(-1.0 if t1 is None else _time(t1, "t1"))
    lib.fmd_sampler_interval(ctypes.byref(smp), ctypes.byref(o), ctypes.byref(s._s), predicts, preconditioned, t_max,
                             ctypes.byref(a), ctypes.byref(b))
    if not (a.value < b.value):
        raise ValueError("fmd: t0 = %g must be below t1 = %g" % (a.value, b.value))
    if smp.kind == _lib.SAMPLER_EXP:   # exponential integrators: lambda finite at both ends (as fmd sample checks)
        pa, pb = s.at(a.value), s.at(b.value)
        may_reach_data = o.form == _lib.EXP_DATA and o.grid == _lib.GRID_TIME   # last step x' = alpha' D
        if not (pa["alpha"] > 0 and (pb["beta"] > 0 or may_reach_data)):
            raise ValueError("fmd: the exponential integrator %r needs alpha > 0 at t0 and beta > 0 at t1 "
                             "(alpha_t0 = %g, beta_t1 = %g)" % (solver, pa["alpha"], pb["beta"]))
    o.n, o.steps, o.t0, o.t1, o.seed, o.threads = n, steps, a.value, b.value, _seed(seed), _threads(threads)
    P = _lib.FlowSdeParams(ctypes.pointer(field), s._s, float(sigma) if sigma else 0.0, predicts, None)
    x, starts = np.empty((n, d)), np.empty((n, d))
    check(lib.fmd_sampler_run(ctypes.byref(smp), ctypes.byref(P), ctypes.byref(o), _dptr(x), _dptr(starts), None,
                              None), "sampling (%s)" % solver)
    return x, starts   # keep (the field's parameters) stayed alive until here


# ---- trained models ----------------------------------------------------------
class Model:
    """A model file written by `fmd train` (an MLP or a U-Net;
    files/checkpoint.h, files/unet_checkpoint.h), to look at from Python:
    info (what the file says of its run), field(x, t) (the field its
    prediction gives through Prop 1, whatever it predicts) and sample(n, ...)
    (what `fmd sample --model` draws, bit for bit)."""

    def __init__(self):
        raise TypeError("use Model.load(path)")

    @classmethod
    def load(cls, path, no_checksum=False):
        """Read a model file; ValueError with fmd's reason if it is refused."""
        self = object.__new__(cls)
        self._net = ctypes.c_void_p()
        self._eval = ctypes.c_void_p()
        self.path = str(path)
        info = _lib.RunInfo()
        why = ctypes.create_string_buffer(512)
        if not os.path.exists(path):
            raise OSError("fmd: %s: no such file" % path)
        st = lib.fmd_unet_checkpoint_load(os.fsencode(path), 1, ctypes.byref(self._net), ctypes.byref(info), None, why,
                                          len(why))
        if st == _lib.FMD_OK:
            self.kind = "unet"
            cfg = ctypes.cast(self._net, ctypes.POINTER(_lib.UnetConfig)).contents
            self.d, self.n_classes, self.preconditioned = cfg.side * cfg.side, cfg.n_classes, 0
            check(lib.fmd_unet_eval_alloc(self._net, ctypes.byref(self._eval)), "the U-Net's scratch")
        else:
            has = ctypes.c_int()
            st = lib.fmd_checkpoint_load_checked(os.fsencode(path), ctypes.byref(self._net), ctypes.byref(info), None,
                                                 1 if no_checksum else 0, ctypes.byref(has), why, len(why))
            if st != _lib.FMD_OK:
                self._net = ctypes.c_void_p()
                raise (MemoryError if st == _lib.FMD_ENOMEM else ValueError)(
                    "fmd: %s: %s" % (path, why.value.decode(errors="replace")))
            self.kind = "mlp"
            cfg = ctypes.cast(self._net, ctypes.POINTER(_lib.MlpConfig)).contents
            self.d, self.n_classes = cfg.d, cfg.n_classes
            self.preconditioned = 1 if cfg.output != 0 else 0
            self._two_heads = None
            check(lib.fmd_mlp_eval_alloc(self._net, ctypes.byref(self._eval)), "the network's scratch")
        self.info = {k: (getattr(info, k).decode() if isinstance(getattr(info, k), bytes) else getattr(info, k))
                     for k, _ in _lib.RunInfo._fields_}
        if self.info["objective"] not in _PREDICTS:
            raise ValueError("fmd: %s: unknown objective %r" % (path, self.info["objective"]))
        self.predicts = _PREDICTS[self.info["objective"]]
        self.schedule = Schedule(self.info["schedule"])
        return self

    def __del__(self):
        ev, net = getattr(self, "_eval", None), getattr(self, "_net", None)
        if getattr(self, "kind", None) == "unet":
            if ev:
                lib.fmd_unet_eval_free(ev)
            if net:
                lib.fmd_unet_free(net)
        else:
            if ev:
                lib.fmd_mlp_eval_free(ev)
            if net:
                lib.fmd_mlp_free(net)

    def __repr__(self):
        return "Model(%s, %s, d=%d, objective %s, schedule %s)" % (self.path, self.kind, self.d,
                                                                   self.info["objective"], self.info["schedule"])

    def _output(self, cls=None, w=1.0):
        """The network's output as an fmd field (guided if cls is given)."""
        if cls is not None:
            cls = _count(cls, "cls", 0, 4095)
            if cls >= self.n_classes:
                raise ValueError("fmd: class %d: the model knows %s" % (
                    cls, "no classes (trained without labels)" if not self.n_classes else
                    "classes 0..%d" % (self.n_classes - 1)))
        if self.kind == "unet":
            G = _lib.UnetGuidance(self._eval, -1 if cls is None else cls, float(w))
            return _lib.Field(_lib.fn_address("fmd_unet_guided_field"), self.d,
                              ctypes.cast(ctypes.pointer(G), ctypes.c_void_p)), [G]
        if cls is None:
            return _lib.Field(_lib.fn_address("fmd_mlp_eval_field"), self.d, self._eval), []
        G = _lib.MlpGuidance(self._net, cls, float(w), self._eval)
        return _lib.Field(_lib.fn_address("fmd_mlp_guided_field"), self.d,
                          ctypes.cast(ctypes.pointer(G), ctypes.c_void_p)), [G]

    def field(self, x, t, cls=None, w=1.0):
        """The model's field u_t(x) at points x (n, d) and time t: the output
        itself for a flow model, Prop 1's conversion of a score, noise or
        clean-data prediction otherwise (sde_view/sample.h)."""
        x = _points(x, self.d)
        t = _time(t)
        out = np.empty_like(x)
        f, keep = self._output(cls, w)
        P = _lib.FlowSdeParams(ctypes.pointer(f), self.schedule._s, 0.0, self.predicts, None)
        check(lib.fmd_flow_sde_drift(t, x.shape[0], self.d, _dptr(x), _dptr(out),
                                     ctypes.cast(ctypes.pointer(P), ctypes.c_void_p)),
              "the model's field at t = %g (Prop 1 is singular there for a %s model)" % (t, self.info["objective"]))
        return out   # keep (the guidance parameters) stayed alive until here

    def sample(self, n, solver=None, steps=None, seed=0, t0=None, t1=None, sigma=None, threads=1, cls=None, w=1.0,
               form="data", grid="time:2", variance="beta"):
        """n samples, as `fmd sample --model` draws them for the same options
        (its defaults: euler and 100 steps for an MLP, or em with sigma;
        heun and 25 steps for a U-Net). Returns (samples, starts)."""
        if self.kind == "unet":
            solver, steps = solver or "heun", 25 if steps is None else steps
            if solver not in ("euler", "midpoint", "heun", "rk4") or sigma is not None:
                raise ValueError("fmd: a U-Net model takes the solvers euler, midpoint, heun or rk4")
        else:
            solver = solver or ("em" if sigma is not None else "euler")
            steps = 100 if steps is None else steps
        return _run_sampler(self._output(cls, w), self.schedule, self.predicts, self.preconditioned,
                            self.info["t_max"], n, solver, steps, seed, t0, t1, sigma, threads, form, grid, variance,
                            self.d)
