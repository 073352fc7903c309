/* schedule.c -- the named schedules, each with exact derivatives. */
#include "paths/schedule.h"
#include "base/status.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const fmd_schedule_names[] = {"condot", "cosine", "lab", "poly:2", "vp", "ou:5", "ve", "ddpm:1000", NULL};

/* CondOT: alpha = t, beta = 1 - t (Ex 19's straight-line path). */
static void condot(double t, double param, fmd_sched_point *o)
{
    (void)param;
    o->alpha = t;
    o->beta = 1.0 - t;
    o->alpha_dot = 1.0;
    o->beta_dot = -1.0;
    o->beta_beta_dot = -(1.0 - t);
}

/* Cosine: alpha = sin(pi t/2), beta = cos(pi t/2) = sin(pi (1 - t)/2), the
 * latter form so that beta_1 is exactly 0 (cos(pi/2) is 6e-17 in doubles). */
static void cosine(double t, double param, fmd_sched_point *o)
{
    (void)param;
    const double h = 0.5 * M_PI;
    o->alpha = sin(h * t);
    o->beta = sin(h * (1.0 - t));
    o->alpha_dot = h * o->beta;
    o->beta_dot = -h * o->alpha;
    o->beta_beta_dot = -h * o->alpha * o->beta;
}

/* The course lab's path: alpha = t, beta = sqrt(1 - t);
 * beta_dot = -1 / (2 sqrt(1 - t)) -> -inf at t = 1, but beta beta_dot = -1/2. */
static void lab(double t, double param, fmd_sched_point *o)
{
    (void)param;
    o->alpha = t;
    o->beta = sqrt(1.0 - t);
    o->alpha_dot = 1.0;
    o->beta_dot = -0.5 / o->beta;   /* -inf at t = 1, as it should be */
    o->beta_beta_dot = -0.5;
}

/* poly:N: alpha = t^N, beta = 1 - t^N. For N < 1, alpha_dot_0 = +inf. */
static void poly(double t, double N, fmd_sched_point *o)
{
    double tn = pow(t, N);
    double dtn = t == 0.0 ? (N == 1.0 ? 1.0 : N > 1.0 ? 0.0 : INFINITY) : N * tn / t;
    o->alpha = tn;
    o->beta = 1.0 - tn;
    o->alpha_dot = dtn;
    o->beta_dot = -dtn;
    o->beta_beta_dot = o->beta == 0.0 ? 0.0 : -(1.0 - tn) * dtn;
}

/* Variance preserving (`003`, its time s = 1 - t runs data -> noise):
 * b(s) = 0.1 + 19.9 s, B(s) = 0.1 s + 9.95 s^2, alpha = exp(-B/2),
 * beta^2 = 1 - alpha^2 = -expm1(-B) (accurate near t = 1). With
 * d/dt = -d/ds: alpha_dot = alpha b(s)/2, beta beta_dot = -alpha alpha_dot.
 * Its ends are alpha_1 = 1, beta_1 = 0 exactly, but alpha_0 = e^{-5.025}
 * = 6.6e-3, not 0: p_0 is close to, not equal to, N(0, I). */
static void vp(double t, double param, fmd_sched_point *o)
{
    (void)param;
    double s = 1.0 - t, b = 0.1 + 19.9 * s, B = 0.1 * s + 9.95 * s * s;
    o->alpha = exp(-0.5 * B);
    o->beta = sqrt(-expm1(-B));
    o->alpha_dot = 0.5 * o->alpha * b;
    o->beta_beta_dot = -o->alpha * o->alpha_dot;
    o->beta_dot = o->beta_beta_dot / o->beta;   /* -inf at t = 1 */
}

/* ou:T -- the Ornstein-Uhlenbeck noising of `002`, dX = -X ds + sqrt(2) dB
 * on s in [0, T], in course time t = 1 - s/T: alpha = e^{-s},
 * beta^2 = 1 - e^{-2s} = -expm1(-2s). With d/dt = -T d/ds: alpha_dot =
 * T alpha, beta beta_dot = -T alpha^2. alpha_0 = e^{-T}: p_0 is only close
 * to N(0, I) (the lecture takes T ~ 10). */
static void ou(double t, double T, fmd_sched_point *o)
{
    double s = T * (1.0 - t);
    o->alpha = exp(-s);
    o->beta = sqrt(-expm1(-2.0 * s));
    o->alpha_dot = T * o->alpha;
    o->beta_beta_dot = -T * o->alpha * o->alpha;
    o->beta_dot = o->beta_beta_dot / o->beta;   /* -inf at t = 1 */
}

/* ve -- the variance-exploding SDE of `003`, dx = sqrt(d sigma^2/ds) dw with
 * sigma(s) = sigma_min (sigma_max / sigma_min)^s, sigma_min = 0.01, sigma_max
 * = 50, s = 1 - t: the kernel adds variance sigma(s)^2 - sigma_min^2, so
 * alpha = 1, beta^2 = sigma_min^2 ((sigma_max/sigma_min)^{2s} - 1) and
 * beta beta_dot = -sigma(s)^2 log(sigma_max / sigma_min). Not a path from
 * N(0, I): p_0 is the data blurred by sigma_max = 50. */
#define VE_SIGMA_MIN 0.01
#define VE_SIGMA_MAX 50.0
static void ve(double t, double param, fmd_sched_point *o)
{
    (void)param;
    const double L = log(VE_SIGMA_MAX / VE_SIGMA_MIN), s = 1.0 - t;
    o->alpha = 1.0;
    o->alpha_dot = 0.0;
    o->beta = VE_SIGMA_MIN * sqrt(expm1(2.0 * L * s));
    double sigma = VE_SIGMA_MIN * exp(L * s);
    o->beta_beta_dot = -sigma * sigma * L;
    o->beta_dot = o->beta_beta_dot / o->beta;   /* -inf at t = 1 */
}

/* ddpm:N -- the discrete DDPM chain of `003` with N levels, as a schedule:
 * betas linear from beta_min = a = 0.1/N to beta_max = 20/N (the
 * levels `fmd sample --solver ddpm` uses; as N grows the chain becomes vp),
 * level k at course time t_k = 1 - k/N, abar_k = prod_{j<=k} (1 - beta_j).
 * With beta_j = a + b (j - 1) and x = (1 - a)/b,
 *     log abar_k = k log(1 - a) + G(k),   G(k) = sum_{i<k} log(1 - i/x)
 *                = k log(1/x) + lgamma(x + 1) - lgamma(x + 1 - k),
 * a closed form, and the same formula at real s = (1 - t) N joins the
 * levels smoothly (the Gamma function interpolates the product). Written
 * with lgamma it cancels two numbers of size x log x (5e5 at N = 1000) down
 * to |G| -- 1e-10 relative error near the data end. Stirling's series for
 * both lgammas cancels the large parts by hand: with y = x + 1 - s,
 *     G(s) = (x + 1/2) log1p(1/x) - (y - 1/2) log1p((1 - s)/x) - s + R(x + 1) - R(y),
 *     R(z) = 1/(12 z) - 1/(360 z^3) + 1/(1260 z^5) - 1/(1680 z^7),
 *     G'(s) = psi(y) - log x = log1p((1 - s)/x) - 1/(2y) - 1/(12 y^2) + 1/(120 y^4) - 1/(252 y^6),
 * whose terms are of size s: rounding a few ulps of s. y >= x + 1 - N, above
 * N^2/20 - N >= 398, where the series' next terms are below 1e-20.
 * N >= 100: the interpolant is monotone only if d log abar / ds =
 * log(1 - a) + G'(s) < 0 at s = 0, i.e. a > ~1/(2x), 0.1/N > ~10/N^2 (fewer
 * levels, with betas up to 0.2 and more, are far from any SDE anyway).
 * Then alpha = sqrt(abar), beta^2 = -expm1(log abar), alpha_dot =
 * -(N/2) alpha d log abar / ds, beta beta_dot = -alpha alpha_dot. */
static double stirling_rest(double z)
{
    const double z2 = 1.0 / (z * z);
    return (1.0 / 12.0 - z2 * (1.0 / 360.0 - z2 * (1.0 / 1260.0 - z2 / 1680.0))) / z;
}

static void ddpm_discrete(double t, double N, fmd_sched_point *o)
{
    const double a = 0.1 / N, b = (20.0 / N - a) / (N - 1.0), s = (1.0 - t) * N;   /* N >= 100: 20/N < 0.999 */
    const double x = (1.0 - a) / b, y = x + 1.0 - s, w = 1.0 / y, w2 = w * w;
    const double G = (x + 0.5) * log1p(1.0 / x) - (y - 0.5) * log1p((1.0 - s) / x) - s + stirling_rest(x + 1.0) -
                     stirling_rest(y);
    const double dG = log1p((1.0 - s) / x) - 0.5 * w - w2 * (1.0 / 12.0 - w2 * (1.0 / 120.0 - w2 / 252.0));
    const double logab = s * log1p(-a) + G, dlogab = log1p(-a) + dG;
    o->alpha = exp(0.5 * logab);
    o->beta = sqrt(-expm1(logab));
    o->alpha_dot = -0.5 * N * o->alpha * dlogab;
    o->beta_beta_dot = -o->alpha * o->alpha_dot;
    o->beta_dot = o->beta_beta_dot / o->beta;   /* -inf at t = 1 */
}

int fmd_schedule_by_name(const char *name, fmd_schedule *out)
{
    if (!name || !out)
        return FMD_EINVAL;
    memset(out, 0, sizeof *out);
    if (strlen(name) >= sizeof out->name)
        return FMD_EINVAL;
    strcpy(out->name, name);
    if (strcmp(name, "condot") == 0)
        out->eval = condot;
    else if (strcmp(name, "cosine") == 0)
        out->eval = cosine;
    else if (strcmp(name, "lab") == 0)
        out->eval = lab;
    else if (strcmp(name, "vp") == 0)
        out->eval = vp;
    else if (strcmp(name, "ve") == 0)
        out->eval = ve;
    else if (strncmp(name, "ou:", 3) == 0) {
        char *end;
        double T = strtod(name + 3, &end);
        if (end == name + 3 || *end != '\0' || !(T > 0.0) || T > 50.0)
            return FMD_EINVAL;
        out->eval = ou;
        out->param = T;
    }
    else if (strncmp(name, "ddpm:", 5) == 0) {
        char *end;
        errno = 0;
        long N = strtol(name + 5, &end, 10);
        if (end == name + 5 || *end != '\0' || errno || N < 100 || N > 100000)
            return FMD_EINVAL;
        out->eval = ddpm_discrete;
        out->param = (double)N;
    }
    else if (strncmp(name, "poly:", 5) == 0) {
        char *end;
        double N = strtod(name + 5, &end);
        if (end == name + 5 || *end != '\0' || !(N > 0.0) || !isfinite(N) || N > 1e3)
            return FMD_EINVAL;
        out->eval = poly;
        out->param = N;
    } else
        return FMD_EINVAL;
    return FMD_OK;
}

int fmd_schedule_at(const fmd_schedule *s, double t, fmd_sched_point *out)
{
    if (!s || !s->eval || !out)
        return FMD_EINVAL;
    if (!(t >= 0.0 && t <= 1.0))
        return FMD_EDOM;
    s->eval(t, s->param, out);
    return FMD_OK;
}

double fmd_schedule_lambda(const fmd_sched_point *s)
{
    return log(s->alpha / s->beta);
}

int fmd_schedule_time_of_lambda(const fmd_schedule *s, double lam, double lo, double hi, double *t)
{
    if (!s || !s->eval || !t || isnan(lam))
        return FMD_EINVAL;
    if (!(0.0 <= lo && lo <= hi && hi <= 1.0))
        return FMD_EDOM;
    for (int it = 0; it < 200 && hi - lo > 1e-15 * fmax(1.0, hi); it++) {
        const double mid = 0.5 * (lo + hi);
        fmd_sched_point p;
        s->eval(mid, s->param, &p);
        if (fmd_schedule_lambda(&p) < lam)   /* alpha = 0 gives -inf, beta = 0 gives +inf: both order correctly */
            lo = mid;
        else
            hi = mid;
    }
    *t = 0.5 * (lo + hi);
    return FMD_OK;
}
