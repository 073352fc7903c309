/* diffusion.c -- DDPM, DDIM, annealed Langevin, predictor-corrector and
 * exponential integrators, each a few lines of its formula in diffusion.h. */
#include "sde_view/diffusion.h"
#include "paths/marginal.h"
#include "base/rng.h"
#include "base/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int fmd_mixture_eps(const fmd_sched_point *s, size_t n, size_t d, const double *x, double *eps, void *params)
{
    const fmd_gmm *g = params;
    if (!g || d != g->d)
        return FMD_EINVAL;
    fmd_marginal *m;
    int status = fmd_marginal_alloc(g, &m);
    if (status == FMD_OK)
        status = fmd_marginal_set_point(m, s);
    if (status == FMD_OK) {
        fmd_marginal_out o = {.score = eps};
        status = fmd_marginal_eval(m, n, x, &o);
    }
    for (size_t i = 0; status == FMD_OK && i < n * d; i++)
        eps[i] *= -s->beta;   /* Ex 22: eps = -beta grad log p */
    fmd_marginal_free(m);
    return status;
}

int fmd_model_eps(const fmd_sched_point *s, size_t n, size_t d, const double *x, double *eps, void *params)
{
    const fmd_model_eps_params *P = params;
    if (!s || !x || !eps || !P || !P->u || d != P->u->d || n == 0)
        return FMD_EINVAL;
    if (!(s->alpha > 0.0 && s->beta > 0.0))
        return FMD_EDOM;
    double t;
    int status = fmd_schedule_time_of_lambda(&P->sch, fmd_schedule_lambda(s), 0.0, 1.0, &t);
    fmd_sched_point q;   /* the model's own path point at t: same lambda as s */
    if (status == FMD_OK)
        status = fmd_schedule_at(&P->sch, t, &q);
    if (status != FMD_OK)
        return status;
    if (!(q.alpha > 0.0 && q.beta > 0.0))
        return FMD_EDOM;
    /* The sampler's x ~ alpha_s z + beta_s eps; the same z and eps give the
     * model's x_q = (alpha_q / alpha_s) x (equal signal-to-noise ratio), and eps
     * does not change with the scale. For a sampler on the model's own
     * schedule the factor is 1 up to the bisection's rounding. */
    const double c = q.alpha / s->alpha;
    double *xq = malloc(n * d * sizeof(double));
    if (!xq)
        return FMD_ENOMEM;
    for (size_t i = 0; i < n * d; i++)
        xq[i] = c * x[i];
    status = fmd_field_eval_team(P->team, P->u, t, n, xq, eps);
    const double den = q.alpha * q.beta_dot - q.alpha_dot * q.beta;
    for (size_t i = 0; status == FMD_OK && i < n * d; i++) {
        switch (P->predicts) {
        case FMD_PREDICTS_NOISE: break;
        case FMD_PREDICTS_SCORE: eps[i] *= -q.beta; break;                              /* Ex 22 */
        case FMD_PREDICTS_DATA: eps[i] = (xq[i] - q.alpha * eps[i]) / q.beta; break;   /* x = alpha z + beta eps */
        case FMD_PREDICTS_FIELD: eps[i] = (q.alpha * eps[i] - q.alpha_dot * xq[i]) / den; break;   /* Prop 1 */
        default: status = FMD_EINVAL;
        }
    }
    free(xq);
    return status;
}

int fmd_ddpm_init(size_t N, double beta_min, double beta_max, fmd_ddpm *out)
{
    if (!out || N == 0 || !(beta_min > 0.0) || !(beta_max >= beta_min) || !(beta_max < 1.0))
        return FMD_EINVAL;
    out->N = N;
    out->beta = malloc((N + 1) * sizeof(double));
    out->alpha_bar = malloc((N + 1) * sizeof(double));
    if (!out->beta || !out->alpha_bar) {
        fmd_ddpm_free(out);
        return FMD_ENOMEM;
    }
    out->beta[0] = 0.0;
    out->alpha_bar[0] = 1.0;
    for (size_t k = 1; k <= N; k++) {
        out->beta[k] = N == 1 ? beta_min : beta_min + (beta_max - beta_min) * (double)(k - 1) / (double)(N - 1);
        out->alpha_bar[k] = out->alpha_bar[k - 1] * (1.0 - out->beta[k]);
    }
    return FMD_OK;
}

void fmd_ddpm_free(fmd_ddpm *q)
{
    if (!q)
        return;
    free(q->beta);
    free(q->alpha_bar);
    q->beta = q->alpha_bar = NULL;
}

/* the path point of DDPM level k */
static fmd_sched_point level(const fmd_ddpm *q, size_t k)
{
    fmd_sched_point s = {sqrt(q->alpha_bar[k]), sqrt(1.0 - q->alpha_bar[k]), 0, 0, 0};
    return s;
}

/* scratch for the samplers: eps and a noise block */
typedef struct {
    double *e, *z;
    fmd_streams st;
    int have_streams;
} scratch;

static int scratch_alloc(size_t n, size_t d, uint64_t seed, double *x, double start_scale, int draw_start, scratch *S)
{
    memset(S, 0, sizeof *S);
    S->e = malloc(n * d * sizeof(double));
    S->z = malloc(n * d * sizeof(double));
    if (!S->e || !S->z)
        return FMD_ENOMEM;
    int status = FMD_OK;
    if (draw_start) {   /* the start, from stream family 0 */
        fmd_streams s0;
        status = fmd_streams_alloc(fmd_seed_child(seed, 0), n, &s0);
        if (status == FMD_OK) {
            fmd_streams_gaussian(&s0, n, d, x);
            fmd_streams_free(&s0);
            for (size_t i = 0; i < n * d; i++)
                x[i] *= start_scale;
        }
    }
    if (status == FMD_OK)
        status = fmd_streams_alloc(fmd_seed_child(seed, 1), n, &S->st);
    S->have_streams = status == FMD_OK;
    return status;
}

static void scratch_free(scratch *S)
{
    free(S->e);
    free(S->z);
    if (S->have_streams)
        fmd_streams_free(&S->st);
}

int fmd_ddpm_reverse_step(const fmd_ddpm *q, size_t k, fmd_ddpm_variance v, size_t m, const double *x,
                          const double *eps, double *mean, double *var)
{
    if (!q || k < 1 || k > q->N || !x || !eps || !mean || !var)
        return FMD_EINVAL;
    const double a = 1.0 - q->beta[k], c = q->beta[k] / sqrt(1.0 - q->alpha_bar[k]);
    for (size_t i = 0; i < m; i++)   /* `003`'s mu_theta */
        mean[i] = (x[i] - c * eps[i]) / sqrt(a);
    *var = v == FMD_DDPM_VAR_POSTERIOR ? q->beta[k] * (1.0 - q->alpha_bar[k - 1]) / (1.0 - q->alpha_bar[k]) : q->beta[k];
    return FMD_OK;
}

int fmd_ddpm_ancestral_step(const fmd_ddpm *q, size_t k, fmd_ddpm_variance v, fmd_eps_fn eps, void *params, size_t n,
                            size_t d, const double *z, double *x, double *e)
{
    if (!q || k < 1 || k > q->N || !eps || !x || !e || n == 0 || d == 0 || (k > 1 && !z))
        return FMD_EINVAL;
    fmd_sched_point s = level(q, k);
    int status = eps(&s, n, d, x, e, params);
    if (status != FMD_OK)
        return status;
    double var;
    fmd_ddpm_reverse_step(q, k, v, n * d, x, e, x, &var);   /* x <- mu_theta, in place */
    if (k > 1)   /* Ho et al., Algorithm 2: + sigma_k z, no noise on the last step */
        for (size_t i = 0; i < n * d; i++)
            x[i] += sqrt(var) * z[i];
    return FMD_OK;
}

int fmd_ddpm_ancestral_var(const fmd_ddpm *q, fmd_ddpm_variance v, fmd_eps_fn eps, void *params, size_t n, size_t d,
                           uint64_t seed, double *x, size_t *nfe)
{
    if (!q || !eps || !x || n == 0 || d == 0)
        return FMD_EINVAL;
    scratch S;
    int status = scratch_alloc(n, d, seed, x, 1.0, 1, &S);   /* x_N ~ N(0, I) */
    for (size_t k = q->N; status == FMD_OK && k >= 1; k--) {
        if (k > 1)
            fmd_streams_gaussian(&S.st, n, d, S.z);
        status = fmd_ddpm_ancestral_step(q, k, v, eps, params, n, d, S.z, x, S.e);
    }
    if (nfe)
        *nfe = q->N;
    scratch_free(&S);
    return status;
}

int fmd_ddpm_ancestral(const fmd_ddpm *q, fmd_eps_fn eps, void *params, size_t n, size_t d, uint64_t seed,
                       double *x, size_t *nfe)
{
    return fmd_ddpm_ancestral_var(q, FMD_DDPM_VAR_BETA, eps, params, n, d, seed, x, nfe);
}

int fmd_ddim_step(const fmd_ddpm *q, size_t k, size_t kp, double eta, fmd_eps_fn eps, void *params, size_t n, size_t d,
                  const double *z, double *x, double *e)
{
    if (!q || k < 1 || k > q->N || kp >= k || !(eta >= 0.0) || !eps || !x || !e || n == 0 || d == 0)
        return FMD_EINVAL;
    const double ab = q->alpha_bar[k], abp = q->alpha_bar[kp];
    const double sigma = eta * sqrt((1.0 - abp) / (1.0 - ab) * (1.0 - ab / abp));   /* Song et al. (DDIM), eq. 16 */
    if (sigma > 0.0 && !z)
        return FMD_EINVAL;
    fmd_sched_point s = level(q, k);
    int status = eps(&s, n, d, x, e, params);
    if (status != FMD_OK)
        return status;
    const double dir = sqrt(fmax(0.0, 1.0 - abp - sigma * sigma));
    for (size_t i = 0; i < n * d; i++) {   /* eq. 12 */
        const double x0 = (x[i] - sqrt(1.0 - ab) * e[i]) / sqrt(ab);   /* xhat_0 */
        x[i] = sqrt(abp) * x0 + dir * e[i] + (sigma > 0.0 ? sigma * z[i] : 0.0);
    }
    return FMD_OK;
}

int fmd_ddim(const fmd_ddpm *q, size_t steps, double eta, fmd_eps_fn eps, void *params, size_t n, size_t d,
             uint64_t seed, double *x, size_t *nfe)
{
    if (!q || !eps || !x || n == 0 || d == 0 || steps == 0 || steps > q->N || !(eta >= 0.0))
        return FMD_EINVAL;
    scratch S;
    int status = scratch_alloc(n, d, seed, x, 1.0, 1, &S);
    for (size_t j = steps; status == FMD_OK && j >= 1; j--) {
        /* from level k = round(j N / steps) to k' = round((j - 1) N / steps) */
        size_t k = (size_t)llround((double)j * (double)q->N / (double)steps);
        size_t kp = (size_t)llround((double)(j - 1) * (double)q->N / (double)steps);
        if (eta > 0.0 && kp > 0)   /* sigma > 0: a draw (at k' = 0, abar' = 1 and sigma = 0) */
            fmd_streams_gaussian(&S.st, n, d, S.z);
        status = fmd_ddim_step(q, k, kp, eta, eps, params, n, d, S.z, x, S.e);
    }
    if (nfe)
        *nfe = steps;
    scratch_free(&S);
    return status;
}

double fmd_ncsn_level(double sigma_max, double sigma_min, size_t L, size_t i)
{
    return L == 1 ? sigma_max : sigma_max * pow(sigma_min / sigma_max, (double)i / (double)(L - 1));
}

int fmd_annealed_langevin_step(double sigma_max, double sigma_min, size_t L, size_t i, double step, fmd_eps_fn eps,
                               void *params, size_t n, size_t d, const double *z, double *x, double *e)
{
    if (!eps || !x || !z || !e || n == 0 || d == 0 || L == 0 || i >= L || !(sigma_min > 0.0) ||
        !(sigma_max >= sigma_min) || !(step > 0.0))
        return FMD_EINVAL;
    const double sig = fmd_ncsn_level(sigma_max, sigma_min, L, i);
    const double a = step * sig * sig / (sigma_min * sigma_min);   /* Song & Ermon, Algorithm 1: alpha_i */
    fmd_sched_point s = {1.0, sig, 0, 0, 0};   /* the data blurred by N(0, sig^2) */
    int status = eps(&s, n, d, x, e, params);
    for (size_t j = 0; status == FMD_OK && j < n * d; j++)   /* score = -eps / sigma */
        x[j] += 0.5 * a * (-e[j] / sig) + sqrt(a) * z[j];
    return status;
}

int fmd_annealed_langevin(double sigma_max, double sigma_min, size_t L, size_t T, double step, fmd_eps_fn eps,
                          void *params, size_t n, size_t d, uint64_t seed, double *x, size_t *nfe)
{
    if (!eps || !x || n == 0 || d == 0 || L == 0 || T == 0 || !(sigma_min > 0.0) || !(sigma_max >= sigma_min) ||
        !(step > 0.0))
        return FMD_EINVAL;
    scratch S;
    int status = scratch_alloc(n, d, seed, x, sigma_max, 1, &S);   /* x ~ N(0, sigma_max^2 I) */
    for (size_t i = 0; status == FMD_OK && i < L; i++)
        for (size_t k = 0; status == FMD_OK && k < T; k++) {
            fmd_streams_gaussian(&S.st, n, d, S.z);
            status = fmd_annealed_langevin_step(sigma_max, sigma_min, L, i, step, eps, params, n, d, S.z, x, S.e);
        }
    if (nfe)
        *nfe = L * T;
    scratch_free(&S);
    return status;
}

int fmd_pc_predictor_step(const fmd_schedule *sch, double t, double h, fmd_eps_fn eps, void *params, size_t n,
                          size_t d, const double *z, double *x, double *e)
{
    if (!sch || !eps || !x || !z || !e || n == 0 || d == 0 || !(h > 0.0))
        return FMD_EINVAL;
    fmd_sched_point s;
    int status = fmd_schedule_at(sch, t, &s);
    if (status == FMD_OK && !(s.alpha > 0.0 && s.beta > 0.0))
        status = FMD_EDOM;
    if (status == FMD_OK)
        status = eps(&s, n, d, x, e, params);
    if (status != FMD_OK)
        return status;
    /* Euler-Maruyama of dX = [u + b s] dt + sqrt(2 b) dW, b = beta^2 alpha_dot/alpha - beta beta_dot,
     * with u = (alpha_dot/alpha) x + b s (Prop 1), s = -eps/beta: drift (alpha_dot/alpha) x + 2 b s */
    const double r = s.alpha_dot / s.alpha, b = s.beta * s.beta * r - s.beta_beta_dot;
    for (size_t i = 0; i < n * d; i++)
        x[i] += h * (r * x[i] - 2.0 * b * e[i] / s.beta) + sqrt(2.0 * b * h) * z[i];
    return FMD_OK;
}

double fmd_langevin_corrector_size(double snr, size_t n, size_t d, const double *z, const double *eps, double beta)
{
    /* Song et al. (2021), Algorithm 4 (alpha_i = 1): 2 (r |z| / |s|)^2 with the norms averaged
     * over the batch, s = -eps/beta (per particle, a point where the score nearly vanishes
     * would get a huge step and be thrown out) */
    double zn = 0.0, gn = 0.0;
    for (size_t p = 0; p < n; p++) {
        double a2 = 0.0, b2 = 0.0;
        for (size_t j = 0; j < d; j++) {
            a2 += z[p * d + j] * z[p * d + j];
            b2 += eps[p * d + j] * eps[p * d + j];
        }
        zn += sqrt(a2) / (double)n;
        gn += sqrt(b2) / beta / (double)n;   /* |s| = |eps| / beta */
    }
    const double ratio = snr * zn / fmax(gn, 1e-300);
    return 2.0 * ratio * ratio;
}

int fmd_langevin_corrector_step(const fmd_sched_point *s, double snr, fmd_eps_fn eps, void *params, size_t n, size_t d,
                                const double *z, double *x, double *e, double *size)
{
    if (!s || !eps || !x || !z || !e || !size || n == 0 || d == 0 || !(s->beta > 0.0) || !(snr >= 0.0) ||
        (snr == 0.0 && !(*size >= 0.0)))
        return FMD_EINVAL;
    int status = eps(s, n, d, x, e, params);
    if (status != FMD_OK)
        return status;
    if (snr > 0.0)
        *size = fmd_langevin_corrector_size(snr, n, d, z, e, s->beta);
    const double step = *size;
    for (size_t i = 0; i < n * d; i++)   /* x + step s(x) + sqrt(2 step) z */
        x[i] += step * (-e[i] / s->beta) + sqrt(2.0 * step) * z[i];
    return FMD_OK;
}

int fmd_predictor_corrector(const fmd_schedule *sch, double t0, double t1, size_t steps, size_t corrector,
                            double snr, fmd_eps_fn eps, void *params, size_t n, size_t d, uint64_t seed, double *x,
                            size_t *nfe)
{
    if (!sch || !eps || !x || n == 0 || d == 0 || steps == 0 || !(t0 < t1) || !(snr > 0.0))
        return FMD_EINVAL;
    fmd_sched_point s0;
    int status = fmd_schedule_at(sch, t0, &s0);
    if (status != FMD_OK)
        return status;
    scratch S;
    status = scratch_alloc(n, d, seed, x, s0.beta, 1, &S);
    const double h = (t1 - t0) / (double)steps;
    for (size_t k = 0; status == FMD_OK && k < steps; k++) {
        const double t = t0 + (double)k * h, tn = k + 1 == steps ? t1 : t + h;
        fmd_streams_gaussian(&S.st, n, d, S.z);
        status = fmd_pc_predictor_step(sch, t, h, eps, params, n, d, S.z, x, S.e);
        fmd_sched_point sn;
        if (status == FMD_OK)
            status = fmd_schedule_at(sch, tn, &sn);
        for (size_t c = 0; status == FMD_OK && c < corrector && sn.beta > 0.0; c++) {   /* Langevin at the new level */
            double size;
            fmd_streams_gaussian(&S.st, n, d, S.z);
            status = fmd_langevin_corrector_step(&sn, snr, eps, params, n, d, S.z, x, S.e, &size);
        }
    }
    if (nfe)
        *nfe = steps * (1 + corrector);
    scratch_free(&S);
    return status;
}

int fmd_exp_grid(const fmd_schedule *sch, fmd_grid_kind kind, double power, double t0, double t1, size_t steps,
                 double *ts)
{
    if (!sch || !ts || steps == 0 || !(t0 < t1) || (kind != FMD_GRID_LOGSNR && kind != FMD_GRID_TIME) ||
        (kind == FMD_GRID_TIME && !(power >= 1.0 && isfinite(power))))
        return FMD_EINVAL;
    fmd_sched_point a, b;
    int status = fmd_schedule_at(sch, t0, &a);
    if (status == FMD_OK)
        status = fmd_schedule_at(sch, t1, &b);
    if (status != FMD_OK)
        return status;
    if (!(a.alpha > 0.0 && a.beta > 0.0 && b.alpha > 0.0 && (b.beta > 0.0 || kind == FMD_GRID_TIME)))
        return FMD_EDOM;   /* lambda finite at t0; at t1 too for a log-SNR grid */
    const double l0 = fmd_schedule_lambda(&a), l1 = fmd_schedule_lambda(&b);
    ts[0] = t0;
    for (size_t k = 1; k < steps; k++) {
        const double f = (double)k / (double)steps;
        if (kind == FMD_GRID_LOGSNR)
            fmd_schedule_time_of_lambda(sch, l0 + f * (l1 - l0), ts[k - 1], t1, &ts[k]);
        else
            ts[k] = t0 + (t1 - t0) * (1.0 - pow(1.0 - f, power));
    }
    ts[steps] = t1;
    return FMD_OK;
}

/* one exponential-integrator update from the path point s to sn with the
 * prediction P held fixed over the step -- the noise eps in the noise form,
 * the denoised estimate D in the data form; the linear part exactly. These
 * are the first-order steps of DPM-Solver (Lu et al., arXiv 2206.00927) and
 * DPM-Solver++ (arXiv 2211.01095) in the course's alpha, beta; both are DDIM. */
static void exp_update(const fmd_sched_point *s, const fmd_sched_point *sn, fmd_exp_form form, size_t m,
                       const double *x, const double *P, double *out)
{
    const double h = fmd_schedule_lambda(sn) - fmd_schedule_lambda(s);
    for (size_t i = 0; i < m; i++) {
        if (form == FMD_EXP_NOISE)
            out[i] = (sn->alpha / s->alpha) * x[i] - sn->beta * expm1(h) * P[i];
        else
            out[i] = (sn->beta / s->beta) * x[i] - sn->alpha * expm1(-h) * P[i];
    }
}

/* the model's prediction at (s, x) in the form's variable: eps, or D = (x - beta eps) / alpha */
static int predict(fmd_eps_fn eps, void *params, const fmd_sched_point *s, fmd_exp_form form, size_t n, size_t d,
                   const double *x, double *P)
{
    int status = eps(s, n, d, x, P, params);
    if (status == FMD_OK && form == FMD_EXP_DATA)
        for (size_t i = 0; i < n * d; i++)
            P[i] = (x[i] - s->beta * P[i]) / s->alpha;
    return status;
}

int fmd_exponential_integrator(const fmd_schedule *sch, fmd_exp_method method, fmd_exp_form form, const double *ts,
                               size_t steps, fmd_eps_fn eps, void *params, size_t n, size_t d, uint64_t seed,
                               int start_given, double *x, size_t *nfe)
{
    if (!sch || !ts || !eps || !x || n == 0 || d == 0 || steps == 0 ||
        (method != FMD_EXP_ORDER1 && method != FMD_EXP_2S && method != FMD_EXP_2M) ||
        (form != FMD_EXP_NOISE && form != FMD_EXP_DATA))
        return FMD_EINVAL;
    double lambda_prev = -INFINITY;
    for (size_t k = 0; k <= steps; k++) {   /* lambda finite and increasing along the grid */
        fmd_sched_point s;
        int status = fmd_schedule_at(sch, ts[k], &s);
        if (status != FMD_OK)
            return status;
        const int data_end = k == steps && form == FMD_EXP_DATA && s.beta == 0.0;   /* lambda = +inf allowed there */
        if (!(s.alpha > 0.0 && (s.beta > 0.0 || data_end)))
            return FMD_EDOM;
        if (k > 0 && !(ts[k] > ts[k - 1] && fmd_schedule_lambda(&s) > lambda_prev))
            return FMD_EDOM;
        lambda_prev = fmd_schedule_lambda(&s);
    }
    fmd_sched_point s;
    fmd_schedule_at(sch, ts[0], &s);
    scratch S;
    int status = scratch_alloc(n, d, seed, x, s.beta, !start_given, &S);
    /* u: the midpoint (2S) or the previous step's prediction (2M) */
    double *u = malloc(n * d * sizeof(double));
    if (status == FMD_OK && !u)
        status = FMD_ENOMEM;
    double h_prev = 0.0;
    size_t evaluations = 0;
    for (size_t k = 0; status == FMD_OK && k < steps; k++) {
        fmd_sched_point sn;
        fmd_schedule_at(sch, ts[k + 1], &sn);
        const double h = fmd_schedule_lambda(&sn) - fmd_schedule_lambda(&s);
        /* a last step to beta = 0 (data form only) is first order: x' = alpha' D(x), the
         * exact limit of the update as h -> inf; its midpoint and extrapolation are not finite */
        const int to_data = sn.beta == 0.0;
        status = predict(eps, params, &s, form, n, d, x, S.e);
        evaluations++;
        if (status == FMD_OK && method == FMD_EXP_2S && !to_data) {   /* DPM-Solver-2: the prediction at the midpoint in lambda */
            double tm;
            fmd_sched_point sm;
            fmd_schedule_time_of_lambda(sch, fmd_schedule_lambda(&s) + 0.5 * h, ts[k], ts[k + 1], &tm);
            fmd_schedule_at(sch, tm, &sm);
            exp_update(&s, &sm, form, n * d, x, S.e, u);
            status = predict(eps, params, &sm, form, n, d, u, S.e);
            evaluations++;
        }
        if (status == FMD_OK && method == FMD_EXP_2M) {   /* DPM-Solver++(2M), arXiv 2211.01095: extrapolate from the last two */
            const int extrapolate = k > 0 && !to_data;   /* the first step is order 1 */
            const double c = extrapolate ? 0.5 * h / h_prev : 0.0;
            for (size_t i = 0; i < n * d; i++) {
                const double now = S.e[i];
                if (extrapolate)
                    S.e[i] = (1.0 + c) * now - c * u[i];
                u[i] = now;
            }
        }
        if (status == FMD_OK)
            exp_update(&s, &sn, form, n * d, x, S.e, x);
        h_prev = h;
        s = sn;
    }
    if (nfe)
        *nfe = evaluations;
    free(u);
    scratch_free(&S);
    return status;
}
