"""_lib.py -- libfmd through ctypes: finding the library, the C structs the
binding passes, and fmd's status codes as Python exceptions.

The structs below mirror the C headers field for field (src/README.md has
the layers); verify/python/test_binding.py compiles a C program that prints
every size and offset and compares them with these, so a header that
changes without this file fails the suite.
"""
import ctypes
import ctypes.util
import glob
import os

c_size = ctypes.c_size_t
c_dbl = ctypes.c_double
c_dbl_p = ctypes.POINTER(ctypes.c_double)
c_int = ctypes.c_int
c_voidp = ctypes.c_void_p


def _candidates():
    """Where libfmd can be: FMD_LIB; the build tree next to this package
    (python/fmd -> build/); the prefix the package was installed under
    (PREFIX/lib/python3.X/dist-packages/fmd -> PREFIX/lib); the library
    directory `make install` wrote into _config.py; the system loader."""
    env = os.environ.get("FMD_LIB")
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    out = sorted(glob.glob(os.path.join(here, "..", "..", "build", "libfmd.so.*")), reverse=True)
    parent = os.path.dirname(here)
    if os.path.basename(parent) in ("dist-packages", "site-packages"):
        prefix = os.path.dirname(os.path.dirname(os.path.dirname(parent)))
        out += sorted(glob.glob(os.path.join(prefix, "lib", "libfmd.so.*")), reverse=True)
    try:
        from . import _config   # written by make install
        out += sorted(glob.glob(os.path.join(_config.LIBDIR, "libfmd.so.*")), reverse=True)
    except ImportError:
        pass
    found = ctypes.util.find_library("fmd")
    out += [found] if found else []
    out.append("libfmd.so.0")
    return out


def _load():
    tried = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    raise ImportError("fmd: cannot load libfmd. Build it with `make` (build/libfmd.so.*), install it with "
                      "`make install`, or set FMD_LIB to its path. Tried: " + "; ".join(tried))


lib, LIBRARY_PATH = _load()

# ---- status codes (src/base/status.h) ------------------------------------
FMD_OK, FMD_EINVAL, FMD_EDOM, FMD_EGRID, FMD_ENOMEM, FMD_EMAXSTEP, FMD_ESTEP, FMD_EFIELD, FMD_EGSL, FMD_EIO, \
    FMD_ECOV = range(11)

lib.fmd_strerror.restype = ctypes.c_char_p
lib.fmd_strerror.argtypes = [c_int]


class FmdError(RuntimeError):
    """A computation fmd could not finish (a step-size underflow, a field
    that failed, ...), with fmd's message."""


def check(status, what):
    """Raise the Python exception for an fmd status: ValueError for bad
    input, MemoryError, OSError for files, FmdError otherwise."""
    if status == FMD_OK:
        return
    msg = "fmd: %s: %s" % (what, lib.fmd_strerror(status).decode())
    if status in (FMD_EINVAL, FMD_EDOM, FMD_EGRID, FMD_ECOV):
        raise ValueError(msg)
    if status == FMD_ENOMEM:
        raise MemoryError(msg)
    if status == FMD_EIO:
        raise OSError(msg)
    raise FmdError(msg)


# ---- the structs ------------------------------------------------------------
class Gmm(ctypes.Structure):   # paths/gmm.h
    _fields_ = [("d", c_size), ("K", c_size), ("weight", c_dbl_p), ("mean", c_dbl_p), ("cov", c_dbl_p),
                ("label", ctypes.POINTER(c_int)), ("point_masses", c_int), ("rank", c_size), ("diag", c_dbl_p),
                ("factor", c_dbl_p), ("chol", c_dbl_p), ("log_norm", c_dbl_p)]


class ParseError(ctypes.Structure):   # files/gmm_file.h
    _fields_ = [("file", ctypes.c_char * 256), ("line", ctypes.c_long), ("reason", ctypes.c_char * 256)]


class Schedule(ctypes.Structure):   # paths/schedule.h
    _fields_ = [("name", ctypes.c_char * 32), ("eval", c_voidp), ("param", c_dbl)]


class SchedPoint(ctypes.Structure):
    _fields_ = [("alpha", c_dbl), ("beta", c_dbl), ("alpha_dot", c_dbl), ("beta_dot", c_dbl),
                ("beta_beta_dot", c_dbl)]


class MarginalOut(ctypes.Structure):   # paths/marginal.h
    _fields_ = [("logp", c_dbl_p), ("score", c_dbl_p), ("zmean", c_dbl_p), ("u", c_dbl_p), ("dlogp_dt", c_dbl_p),
                ("div_u", c_dbl_p), ("lap_over_p", c_dbl_p)]


class MarginalFieldParams(ctypes.Structure):
    _fields_ = [("g", ctypes.POINTER(Gmm)), ("sch", ctypes.POINTER(Schedule)), ("sigma", c_voidp),
                ("sigma_params", c_voidp)]


class GuidanceParams(ctypes.Structure):   # paths/guidance.h
    _fields_ = [("g", ctypes.POINTER(Gmm)), ("gy", ctypes.POINTER(Gmm)), ("log_prior", c_dbl),
                ("sch", ctypes.POINTER(Schedule)), ("w", c_dbl)]


class Field(ctypes.Structure):   # flows/field.h
    _fields_ = [("eval", c_voidp), ("d", c_size), ("params", c_voidp)]


class FlowSdeParams(ctypes.Structure):   # sde_view/sample.h
    _fields_ = [("u", ctypes.POINTER(Field)), ("sch", Schedule), ("S", c_dbl), ("predicts", c_int),
                ("score", ctypes.POINTER(Field))]


# fmd_sampler_kind, fmd_exp_form, fmd_grid_kind, fmd_ddpm_variance (sde_view/sampler.h, diffusion.h)
SAMPLER_ODE, SAMPLER_SDE, SAMPLER_EXP, SAMPLER_K, SAMPLER_DDPM, SAMPLER_LANGEVIN, SAMPLER_PC = range(7)
EXP_NOISE, EXP_DATA = range(2)
GRID_LOGSNR, GRID_TIME = range(2)
DDPM_VAR_BETA, DDPM_VAR_POSTERIOR = range(2)


class Sampler(ctypes.Structure):   # sde_view/sampler.h
    _fields_ = [("kind", c_int), ("ode", c_voidp), ("sde", c_voidp), ("method", c_int)]


class SamplerOptions(ctypes.Structure):
    _fields_ = [("n", c_size), ("steps", c_size), ("t0", c_dbl), ("t1", c_dbl), ("seed", ctypes.c_uint64),
                ("threads", c_int), ("form", c_int), ("grid", c_int), ("power", c_dbl), ("variance", c_int)]


EVAL_MAX_CLASSES = 64


class SampleReport(ctypes.Structure):   # sde_view/evaluate.h
    _fields_ = [("n", c_size), ("mean_logp", c_dbl), ("mean_logp_se", c_dbl), ("exact_logp", c_dbl),
                ("exact_logp_se", c_dbl), ("nll_gap", c_dbl), ("nll_gap_se", c_dbl), ("w1", c_dbl), ("w1_se", c_dbl),
                ("w1_floor", c_dbl), ("w1_floor_se", c_dbl), ("rms", c_dbl), ("rms_se", c_dbl), ("nclasses", c_size),
                ("class_label", c_int * EVAL_MAX_CLASSES), ("share", c_dbl * EVAL_MAX_CLASSES),
                ("share_se", c_dbl * EVAL_MAX_CLASSES), ("exact_share", c_dbl * EVAL_MAX_CLASSES),
                ("exact_share_se", c_dbl * EVAL_MAX_CLASSES)]


class OdeControl(ctypes.Structure):   # flows/ode.h
    _fields_ = [("rtol", c_dbl), ("atol", c_dbl), ("h0", c_dbl), ("hmax", c_dbl), ("max_steps", ctypes.c_ulong)]


class LikelihoodConfig(ctypes.Structure):   # sde_view/likelihood.h
    _fields_ = [("u", ctypes.POINTER(Field)), ("method", c_int), ("div", c_voidp), ("div_params", c_voidp),
                ("probes", c_size), ("threads", c_int)]


class RunInfo(ctypes.Structure):   # files/model_file.h
    _fields_ = [("objective", ctypes.c_char * 16), ("schedule", ctypes.c_char * 32), ("data", ctypes.c_char * 256),
                ("steps", ctypes.c_ulong), ("target_steps", ctypes.c_ulong), ("seed", ctypes.c_ulong),
                ("batch", c_size), ("lr", c_dbl), ("clip", c_dbl), ("ema_decay", c_dbl), ("t_min", c_dbl),
                ("t_max", c_dbl), ("label_drop", c_dbl), ("weighting", c_int), ("time_law", c_int),
                ("p_mean", c_dbl), ("p_std", c_dbl)]


MLP_MAX_HIDDEN = 16


class MlpConfig(ctypes.Structure):   # networks/mlp.h: the first member of fmd_mlp
    _fields_ = [("d", c_size), ("n_fourier", c_size), ("n_classes", c_size), ("n_out", c_size), ("depth", c_size),
                ("width", c_size * MLP_MAX_HIDDEN), ("act", c_int), ("dtype", c_int), ("output", c_int),
                ("sigma_data", c_dbl), ("schedule", Schedule)]


class MlpHead(ctypes.Structure):   # networks/mlp.h: fmd_mlp_head
    _fields_ = [("net", c_voidp), ("head", c_size)]


class MlpGuidance(ctypes.Structure):
    _fields_ = [("net", c_voidp), ("y", c_int), ("w", c_dbl), ("eval", c_voidp)]


UNET_MAX_LEVELS = 4


class UnetConfig(ctypes.Structure):   # networks/unet.h: the first member of fmd_unet
    _fields_ = [("side", c_size), ("channels", c_size), ("levels", c_size), ("mult", c_size * UNET_MAX_LEVELS),
                ("attention", c_int), ("groups", c_size), ("n_fourier", c_size), ("emb", c_size),
                ("n_classes", c_size), ("dtype", c_int), ("output", c_int), ("sigma_data", c_dbl),
                ("schedule", Schedule), ("conv", c_int), ("patch", c_size)]


class UnetGuidance(ctypes.Structure):
    _fields_ = [("eval", c_voidp), ("y", c_int), ("w", c_dbl)]


# ---- the functions ----------------------------------------------------------
GmmP = ctypes.POINTER(Gmm)


def _sig(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


_sig("fmd_gmm_load", c_int, ctypes.c_char_p, ctypes.POINTER(GmmP), ctypes.POINTER(ParseError))
_sig("fmd_gmm_alloc", c_int, c_size, c_size, ctypes.POINTER(GmmP))
_sig("fmd_gmm_alloc_lowrank", c_int, c_size, c_size, c_size, ctypes.POINTER(GmmP))
_sig("fmd_gmm_prepare", c_int, GmmP)
_sig("fmd_gmm_free", None, GmmP)
_sig("fmd_gmm_sample", c_int, GmmP, c_voidp, c_size, c_dbl_p, ctypes.POINTER(c_size))
_sig("fmd_gmm_log_density", c_int, GmmP, c_size, c_dbl_p, c_dbl_p)
_sig("fmd_gmm_save", c_int, ctypes.c_char_p, GmmP, c_int)
_sig("fmd_gmm_classes", c_int, GmmP, ctypes.POINTER(c_int), ctypes.POINTER(c_size))
_sig("fmd_fit_lowrank", c_int, c_size, c_size, c_dbl_p, c_size, c_dbl, c_dbl_p, c_dbl_p, c_dbl_p, c_dbl_p)
_sig("fmd_rng_alloc", c_int, ctypes.c_uint64, ctypes.c_uint64, ctypes.POINTER(c_voidp))
_sig("gsl_rng_free", None, c_voidp)
_sig("fmd_schedule_by_name", c_int, ctypes.c_char_p, ctypes.POINTER(Schedule))
_sig("fmd_schedule_at", c_int, ctypes.POINTER(Schedule), c_dbl, ctypes.POINTER(SchedPoint))
_sig("fmd_marginal_alloc", c_int, GmmP, ctypes.POINTER(c_voidp))
_sig("fmd_marginal_set_time", c_int, c_voidp, ctypes.POINTER(Schedule), c_dbl)
_sig("fmd_marginal_eval", c_int, c_voidp, c_size, c_dbl_p, ctypes.POINTER(MarginalOut))
_sig("fmd_marginal_free", None, c_voidp)
_sig("fmd_guidance_init", c_int, ctypes.POINTER(GuidanceParams), GmmP, c_int, ctypes.POINTER(Schedule), c_dbl)
_sig("fmd_guidance_free", None, ctypes.POINTER(GuidanceParams))
_sig("fmd_guided_field", c_int, c_dbl, c_size, c_size, c_dbl_p, c_dbl_p, c_voidp)
_sig("fmd_sampler_by_name", c_int, ctypes.c_char_p, ctypes.POINTER(Sampler))
_sig("fmd_sampler_options_default", None, ctypes.POINTER(SamplerOptions))
_sig("fmd_sampler_interval", None, ctypes.POINTER(Sampler), ctypes.POINTER(SamplerOptions), ctypes.POINTER(Schedule),
     c_int, c_int, c_dbl, c_dbl_p, c_dbl_p)
_sig("fmd_sampler_run", c_int, ctypes.POINTER(Sampler), ctypes.POINTER(FlowSdeParams), ctypes.POINTER(SamplerOptions),
     c_dbl_p, c_dbl_p, c_dbl_p, c_dbl_p)
_sig("fmd_evaluate_samples", c_int, GmmP, c_size, c_dbl_p, c_dbl_p, ctypes.POINTER(Schedule), ctypes.c_uint64, c_int,
     ctypes.POINTER(SampleReport))
_sig("fmd_log_likelihood", c_int, ctypes.POINTER(LikelihoodConfig), c_voidp, ctypes.POINTER(OdeControl), c_size, c_dbl,
     c_dbl, c_size, c_size, c_dbl_p, c_voidp, c_voidp, ctypes.c_uint64, c_dbl_p, c_dbl_p, c_dbl_p)
_sig("fmd_ode_stepper_by_name", c_voidp, ctypes.c_char_p)
_sig("fmd_flow_sde_drift", c_int, c_dbl, c_size, c_size, c_dbl_p, c_dbl_p, c_voidp)
_sig("fmd_model_time_range", None, c_int, c_int, c_dbl, c_dbl_p, c_dbl_p)
_sig("fmd_checkpoint_load_checked", c_int, ctypes.c_char_p, ctypes.POINTER(c_voidp), ctypes.POINTER(RunInfo), c_voidp,
     c_int, ctypes.POINTER(c_int), ctypes.c_char_p, c_size)
_sig("fmd_mlp_free", None, c_voidp)
_sig("fmd_mlp_eval_alloc", c_int, c_voidp, ctypes.POINTER(c_voidp))
_sig("fmd_mlp_eval_free", None, c_voidp)
_sig("fmd_unet_checkpoint_load", c_int, ctypes.c_char_p, c_int, ctypes.POINTER(c_voidp), ctypes.POINTER(RunInfo), c_voidp,
     ctypes.c_char_p, c_size)
_sig("fmd_unet_free", None, c_voidp)
_sig("fmd_unet_eval_alloc", c_int, c_voidp, ctypes.POINTER(c_voidp))
_sig("fmd_unet_eval_free", None, c_voidp)


def fn_address(name):
    """The address of a C function, to put into a Field."""
    return ctypes.cast(getattr(lib, name), c_voidp).value


def sampler_names():
    """fmd_sampler_names: every name fmd_sampler_by_name knows, from the library."""
    base = ctypes.addressof(ctypes.c_char_p.in_dll(lib, "fmd_sampler_names"))   # an array of char *, NULL-ended
    out = []
    while True:
        name = ctypes.c_char_p.from_address(base + len(out) * ctypes.sizeof(ctypes.c_char_p)).value
        if name is None:
            return out
        out.append(name.decode())
