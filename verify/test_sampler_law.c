/* test_sampler_law.c -- every stochastic sampler pinned by its one-step law
 * (issue 28).
 *
 * Reaching p_data after hundreds of levels with exact scores does not pin a
 * stochastic sampler: a wrong split of the noise, a step that jumps to the
 * denoised estimate and adds fresh noise, or a corrector with the wrong step
 * constant all reach it in that limit. One step does pin it. On Gaussian
 * data N(m, S) the exact denoiser, score and noise prediction are affine in
 * x, so one step of every sampler here is an affine map of the state and of
 * the step's standard normal noises,
 *     x' = A x + c + sum_b B_b n_b,
 * and it carries N(mu, Sigma) to N(A mu + c, A Sigma A^T + sum_b B_b B_b^T).
 * Each test computes that law twice, independently:
 *   - from the implementation's step (fmd_kstep, fmd_ddpm_ancestral_step,
 *     fmd_ddim_step, fmd_annealed_langevin_step, fmd_pc_predictor_step,
 *     fmd_langevin_corrector_step: the steps the samplers take, with their
 *     noise given), read off as an affine map: one call on the particles
 *     x = 0, x = e_j (noise 0) and noise = e_j (x = 0), the model being
 *     fmd_mixture_eps of the one-component mixture;
 *   - from the method's published definition, written out below on this
 *     file's own affine algebra and its own exact denoiser m + S (S +
 *     sigma^2 I)^-1 (x - m), sharing no code with src/ but the numbers.
 * The two must agree to rounding (TOL_ROUNDING) at three level pairs per
 * sampler, the last step (to sigma = 0, k = 0, t = 1 or the smallest level)
 * included. Where the law over a whole chain is a closed form -- the
 * definition's Gaussian pushed through every step -- the sampler itself
 * (the public runner, drawing its own noise) is run on NS particles and its
 * mean and covariance compared with that law within Z_CHECK standard errors
 * (9 checks a sampler, 7 samplers: 63 checks, counted in verify/budget.h):
 * that pins the runner's wiring (which noise, which steps, none on the
 * last), which the step tests do not see. The predictor-corrector has no
 * such closed form (its corrector's step size is a function of the whole
 * batch), so its steps are pinned one by one. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmd.h"
#include "budget.h"

enum { D = 3, NB = 2, NS = 20000 };

/* Rounding: every law below is a few dozen flops of numbers below 1e4
 * (sigma_max = 80 squared) away from its inputs, through 3 x 3 inverses of
 * condition number below 10; both sides round independently. 1e-12 of the
 * law's own scale is some 4500 ulp, room for that. Observed: at most 2.5e-15
 * of the scale. Each planted bug of verify/planted_bugs.tsv for these
 * samplers fails it. */
#define TOL_ROUNDING 1e-12

/* The data: N(M, S), S with eigenvalues far apart (about 0.4, 1.1, 2.7) and
 * no axis aligned with them. */
static const double M[D] = {0.7, -1.2, 0.4};
static const double S[D * D] = {1.3, 0.5, -0.2, 0.5, 0.8, 0.3, -0.2, 0.3, 2.1};

/* ---- 3 x 3 algebra ---------------------------------------------------------- */

typedef struct { double a[D * D]; } mat;

static mat mat_identity(double s)
{
    mat r = {{0}};
    for (int i = 0; i < D; i++)
        r.a[i * D + i] = s;
    return r;
}

static mat mat_mul(const mat *x, const mat *y)
{
    mat r = {{0}};
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++)
            for (int k = 0; k < D; k++)
                r.a[i * D + j] += x->a[i * D + k] * y->a[k * D + j];
    return r;
}

static mat mat_transpose(const mat *x)
{
    mat r;
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++)
            r.a[j * D + i] = x->a[i * D + j];
    return r;
}

/* the inverse by cofactors */
static mat mat_inverse(const mat *x)
{
    const double *a = x->a;
    mat r;
    r.a[0] = a[4] * a[8] - a[5] * a[7], r.a[1] = a[2] * a[7] - a[1] * a[8], r.a[2] = a[1] * a[5] - a[2] * a[4];
    r.a[3] = a[5] * a[6] - a[3] * a[8], r.a[4] = a[0] * a[8] - a[2] * a[6], r.a[5] = a[2] * a[3] - a[0] * a[5];
    r.a[6] = a[3] * a[7] - a[4] * a[6], r.a[7] = a[1] * a[6] - a[0] * a[7], r.a[8] = a[0] * a[4] - a[1] * a[3];
    const double det = a[0] * r.a[0] + a[1] * r.a[3] + a[2] * r.a[6];
    for (int i = 0; i < D * D; i++)
        r.a[i] /= det;
    return r;
}

/* a S + b I */
static mat data_cov_plus(double a, double b)
{
    mat r;
    for (int i = 0; i < D * D; i++)
        r.a[i] = a * S[i] + (i % (D + 1) == 0 ? b : 0.0);
    return r;
}

/* ---- affine expressions in the state x and the step's noises n_0, n_1 ------- */

typedef struct {
    mat A;          /* coefficient of x */
    double c[D];    /* constant */
    mat B[NB];      /* coefficient of the standard normal block n_b */
} aff;

static aff aff_state(void)   /* x itself */
{
    aff e;
    memset(&e, 0, sizeof e);
    e.A = mat_identity(1.0);
    return e;
}

static aff aff_lin(double a, const aff *x, double b, const aff *y)   /* a x + b y */
{
    aff r;
    for (int i = 0; i < D * D; i++) {
        r.A.a[i] = a * x->A.a[i] + b * y->A.a[i];
        for (int q = 0; q < NB; q++)
            r.B[q].a[i] = a * x->B[q].a[i] + b * y->B[q].a[i];
    }
    for (int i = 0; i < D; i++)
        r.c[i] = a * x->c[i] + b * y->c[i];
    return r;
}

static aff aff_apply(const mat *P, const double *q, const aff *x)   /* P x + q */
{
    aff r;
    r.A = mat_mul(P, &x->A);
    for (int b = 0; b < NB; b++)
        r.B[b] = mat_mul(P, &x->B[b]);
    for (int i = 0; i < D; i++) {
        r.c[i] = q ? q[i] : 0.0;
        for (int k = 0; k < D; k++)
            r.c[i] += P->a[i * D + k] * x->c[k];
    }
    return r;
}

static aff aff_add_noise(const aff *x, int block, double size)   /* x + size n_block */
{
    aff r = *x;
    for (int i = 0; i < D; i++)
        r.B[block].a[i * D + i] += size;
    return r;
}

/* E[z | x~] for x~ = z + sigma eps, z ~ N(M, S): M + S (S + sigma^2 I)^-1 (x~ - M)
 * (the identity at sigma = 0) */
static aff ve_denoised(const aff *x, double sigma)
{
    mat Sm;
    memcpy(Sm.a, S, sizeof S);
    mat C = data_cov_plus(1.0, sigma * sigma), inv = mat_inverse(&C), P = mat_mul(&Sm, &inv);
    double q[D];
    for (int i = 0; i < D; i++) {
        q[i] = M[i];
        for (int k = 0; k < D; k++)
            q[i] -= P.a[i * D + k] * M[k];
    }
    return aff_apply(&P, q, x);
}

/* E[z | x] for x = a z + b eps: M + a S (a^2 S + b^2 I)^-1 (x - a M) */
static aff vp_denoised(const aff *x, double a, double b)
{
    mat Sm;
    memcpy(Sm.a, S, sizeof S);
    mat C = data_cov_plus(a * a, b * b), inv = mat_inverse(&C), P = mat_mul(&Sm, &inv);
    for (int i = 0; i < D * D; i++)
        P.a[i] *= a;
    double q[D];
    for (int i = 0; i < D; i++) {
        q[i] = M[i];
        for (int k = 0; k < D; k++)
            q[i] -= P.a[i * D + k] * a * M[k];
    }
    return aff_apply(&P, q, x);
}

/* the score of x = a z + b eps: -(a^2 S + b^2 I)^-1 (x - a M) */
static aff score(const aff *x, double a, double b)
{
    mat C = data_cov_plus(a * a, b * b), P = mat_inverse(&C);
    for (int i = 0; i < D * D; i++)
        P.a[i] = -P.a[i];
    double q[D];
    for (int i = 0; i < D; i++) {
        q[i] = 0.0;
        for (int k = 0; k < D; k++)
            q[i] -= P.a[i * D + k] * a * M[k];
    }
    return aff_apply(&P, q, x);
}

/* ---- laws ------------------------------------------------------------------- */

typedef struct {
    double mean[D];
    mat cov;
} law;

/* the law of an affine step's output, the input x ~ l, the noises independent N(0, I) */
static law push(const aff *e, const law *l)
{
    law r;
    for (int i = 0; i < D; i++) {
        r.mean[i] = e->c[i];
        for (int k = 0; k < D; k++)
            r.mean[i] += e->A.a[i * D + k] * l->mean[k];
    }
    mat At = mat_transpose(&e->A), ASi = mat_mul(&e->A, &l->cov);
    r.cov = mat_mul(&ASi, &At);
    for (int b = 0; b < NB; b++) {
        mat Bt = mat_transpose(&e->B[b]), BB = mat_mul(&e->B[b], &Bt);
        for (int i = 0; i < D * D; i++)
            r.cov.a[i] += BB.a[i];
    }
    return r;
}

/* an input law for level sigma: not the marginal, so that a step that is
 * right only on the marginal is still caught */
static law input_law(double scale)
{
    law l = {{M[0] + 0.3 * scale, M[1] - 0.2 * scale, M[2] + 0.1 * scale}, data_cov_plus(1.0, 0.0)};
    const double extra[D * D] = {1.0, 0.1, 0.0, 0.1, 0.6, -0.05, 0.0, -0.05, 1.3};
    for (int i = 0; i < D * D; i++)
        l.cov.a[i] = 0.5 * l.cov.a[i] + scale * scale * extra[i];
    return l;
}

static double law_scale(const law *l)
{
    double s = 1.0;
    for (int i = 0; i < D; i++)
        s = fmax(s, fabs(l->mean[i]));
    for (int i = 0; i < D * D; i++)
        s = fmax(s, fabs(l->cov.a[i]));
    return s;
}

static void expect_same_law(const law *impl, const law *def, const char *what)
{
    double err = 0.0;
    for (int i = 0; i < D; i++)
        err = fmax(err, fabs(impl->mean[i] - def->mean[i]));
    for (int i = 0; i < D * D; i++)
        err = fmax(err, fabs(impl->cov.a[i] - def->cov.a[i]));
    const double scale = law_scale(def);
    cr_expect(err <= TOL_ROUNDING * scale, "%s: the implementation's one-step law differs from the definition's by %.3g "
              "(%.3g of its scale %.3g; rounding allows %.0e)", what, err, err / scale, scale, TOL_ROUNDING);
}

/* ---- the implementation's step, read off ------------------------------------ */

/* A step of the implementation on np particles of dimension D, its noise z
 * given (blocks of np D numbers). */
typedef int (*step_fn)(const void *ctx, size_t np, const double *z, double *x);

/* Read the step off as an affine map with `blocks` noise blocks: particle 0
 * at x = 0, z = 0 gives c; particle 1 + j at x = e_j gives c + A e_j;
 * particle 1 + D + b D + j with noise block b = e_j gives c + B_b e_j. */
static aff read_off(step_fn step, const void *ctx, int blocks)
{
    const size_t np = 1 + D + (size_t)blocks * D;
    double *x = calloc(np * D, sizeof(double)), *z = calloc((size_t)(blocks ? blocks : 1) * np * D, sizeof(double));
    for (int j = 0; j < D; j++)
        x[(1 + j) * D + j] = 1.0;
    for (int b = 0; b < blocks; b++)
        for (int j = 0; j < D; j++)
            z[(size_t)b * np * D + (1 + D + b * D + j) * D + j] = 1.0;
    cr_assert_eq(step(ctx, np, z, x), FMD_OK, "the step refused its inputs");
    aff e;
    memset(&e, 0, sizeof e);
    for (int i = 0; i < D; i++) {
        e.c[i] = x[i];
        for (int j = 0; j < D; j++) {
            e.A.a[i * D + j] = x[(1 + j) * D + i] - x[i];
            for (int b = 0; b < blocks; b++)
                e.B[b].a[i * D + j] = x[(1 + D + b * D + j) * D + i] - x[i];
        }
    }
    free(x), free(z);
    return e;
}

static fmd_gmm *gaussian_data(void)
{
    fmd_gmm *g;
    cr_assert_eq(fmd_gmm_alloc(D, 1, &g), FMD_OK);
    g->weight[0] = 1.0;
    memcpy(g->mean, M, sizeof M);
    memcpy(g->cov, S, sizeof S);
    cr_assert_eq(fmd_gmm_prepare(g), FMD_OK);
    return g;
}

/* ---- the whole chain against its closed-form law ----------------------------- */

/* 9 Gaussian checks: the sample mean (3) and covariance (6) of x (n, D)
 * against the law l, each within Z_CHECK of its standard error (the
 * covariance's from the sample's fourth moments). */
static void expect_samples_follow(const law *l, size_t n, const double *x, const char *what)
{
    double m[D] = {0}, sd[D] = {0};
    for (size_t p = 0; p < n; p++)
        for (int i = 0; i < D; i++)
            m[i] += x[p * D + i] / (double)n;
    for (int i = 0; i < D; i++) {
        for (size_t p = 0; p < n; p++)
            sd[i] += (x[p * D + i] - m[i]) * (x[p * D + i] - m[i]);
        sd[i] = sqrt(sd[i] / (double)(n - 1));
        const double se = sd[i] / sqrt((double)n);
        cr_expect(fabs(m[i] - l->mean[i]) <= Z_CHECK * se, "%s: mean[%d] %.5f, the closed form %.5f: %.1f SE (SE %.2g)",
                  what, i, m[i], l->mean[i], fabs(m[i] - l->mean[i]) / se, se);
    }
    for (int i = 0; i < D; i++)
        for (int j = i; j < D; j++) {
            double c = 0.0, c2 = 0.0;
            for (size_t p = 0; p < n; p++) {
                const double v = (x[p * D + i] - m[i]) * (x[p * D + j] - m[j]);
                c += v, c2 += v * v;
            }
            c /= (double)n;
            const double se = sqrt(fmax(c2 / (double)n - c * c, 0.0) / (double)n), want = l->cov.a[i * D + j];
            cr_expect(fabs(c - want) <= Z_CHECK * se, "%s: cov[%d][%d] %.5f, the closed form %.5f: %.1f SE (SE %.2g)",
                      what, i, j, c, want, fabs(c - want) / se, se);
        }
}

/* ===== k-diffusion's stochastic samplers (src/sde_view/ksampler.h) =============
 * Written as k_diffusion/sampling.py writes them (crowsonkb/k-diffusion),
 * with eta = 1 and s_noise = 1, in its variance-exploding frame x~ = z +
 * sigma eps, and its helpers: */

/* get_ancestral_step(sigma_from, sigma_to, eta): the level to step down to
 * and the noise to add, sigma_down^2 + sigma_up^2 = sigma_to^2 */
static void get_ancestral_step(double sigma_from, double sigma_to, double eta, double *sigma_down, double *sigma_up)
{
    *sigma_up = fmin(sigma_to, eta * sqrt(sigma_to * sigma_to * (sigma_from * sigma_from - sigma_to * sigma_to) /
                                         (sigma_from * sigma_from)));
    *sigma_down = sqrt(sigma_to * sigma_to - *sigma_up * *sigma_up);
}

static double sigma_fn(double t) { return exp(-t); }
static double t_fn(double sigma) { return -log(sigma); }

/* to_d(x, sigma, denoised) times dt, added to x: an Euler step in sigma */
static aff euler(const aff *x, const aff *denoised, double sigma, double dt)
{
    aff d = aff_lin(1.0 / sigma, x, -1.0 / sigma, denoised);
    return aff_lin(1.0, x, dt, &d);
}

/* sample_euler_ancestral, one step */
static aff def_euler_ancestral(double sigma, double sigma_next)
{
    aff x = aff_state(), denoised = ve_denoised(&x, sigma);
    double sigma_down, sigma_up;
    get_ancestral_step(sigma, sigma_next, 1.0, &sigma_down, &sigma_up);
    x = euler(&x, &denoised, sigma, sigma_down - sigma);
    if (sigma_next > 0.0)   /* x + noise_sampler(sigma, sigma_next) * s_noise * sigma_up */
        x = aff_add_noise(&x, 0, sigma_up);
    return x;
}

/* sample_dpmpp_2s_ancestral, one step (r = 1/2) */
static aff def_dpmpp_2s_ancestral(double sigma, double sigma_next)
{
    aff x = aff_state(), denoised = ve_denoised(&x, sigma);
    double sigma_down, sigma_up;
    get_ancestral_step(sigma, sigma_next, 1.0, &sigma_down, &sigma_up);
    if (sigma_down == 0.0) {
        x = euler(&x, &denoised, sigma, sigma_down - sigma);
    } else {
        const double t = t_fn(sigma), t_next = t_fn(sigma_down), r = 0.5, h = t_next - t, s = t + r * h;
        aff x_2 = aff_lin(sigma_fn(s) / sigma_fn(t), &x, -expm1(-h * r), &denoised);
        aff denoised_2 = ve_denoised(&x_2, sigma_fn(s));
        x = aff_lin(sigma_fn(t_next) / sigma_fn(t), &x, -expm1(-h), &denoised_2);
    }
    if (sigma_next > 0.0)
        x = aff_add_noise(&x, 0, sigma_up);
    return x;
}

/* sample_dpmpp_sde, one step (r = 1/2), with its BrownianTreeNoiseSampler:
 * noise_sampler(a, b) = (W(b) - W(a)) / sqrt|b - a| of one Brownian motion W
 * in sigma. Its two calls, (sigma, sigma_s) and (sigma, sigma_next), share
 * the increment over [sigma_s, sigma]; written in the independent increments
 * over [sigma_s, sigma] (block 0) and [sigma_next, sigma_s] (block 1). */
static aff def_dpmpp_sde(double sigma, double sigma_next)
{
    aff x = aff_state(), denoised = ve_denoised(&x, sigma);
    if (sigma_next == 0.0)
        return euler(&x, &denoised, sigma, sigma_next - sigma);
    const double t = t_fn(sigma), t_next = t_fn(sigma_next), r = 0.5, h = t_next - t, s = t + h * r, fac = 1.0 / (2.0 * r);
    const double w_first = sqrt(sigma - sigma_fn(s)), w_second = sqrt(sigma_fn(s) - sigma_next);
    double sd, su;
    get_ancestral_step(sigma_fn(t), sigma_fn(s), 1.0, &sd, &su);   /* step 1 */
    const double s_ = t_fn(sd);
    aff x_2 = aff_lin(sigma_fn(s_) / sigma_fn(t), &x, -expm1(t - s_), &denoised);
    x_2 = aff_add_noise(&x_2, 0, su * w_first / sqrt(sigma - sigma_fn(s)));   /* noise_sampler(sigma, sigma_s) */
    aff denoised_2 = ve_denoised(&x_2, sigma_fn(s));
    get_ancestral_step(sigma_fn(t), sigma_fn(t_next), 1.0, &sd, &su);   /* step 2 */
    const double t_next_ = t_fn(sd);
    aff denoised_d = aff_lin(1.0 - fac, &denoised, fac, &denoised_2);
    x = aff_lin(sigma_fn(t_next_) / sigma_fn(t), &x, -expm1(t - t_next_), &denoised_d);
    const double norm = sqrt(sigma - sigma_next);   /* noise_sampler(sigma, sigma_next): both increments */
    x = aff_add_noise(&x, 0, su * w_first / norm);
    return aff_add_noise(&x, 1, su * w_second / norm);
}

typedef struct {
    fmd_kmethod method;
    double sigma, sigma_next;
    fmd_gmm *g;
} kstep_ctx;

static int impl_kstep(const void *ctx, size_t np, const double *z, double *x)
{
    const kstep_ctx *k = ctx;
    return fmd_kstep(k->method, k->sigma, k->sigma_next, fmd_mixture_eps, k->g, np, D, z, x);
}

static const struct {
    fmd_kmethod method;
    aff (*definition)(double, double);
    const char *name;
} kmethods[3] = {{FMD_K_EULER_ANCESTRAL, def_euler_ancestral, "Euler ancestral (sample_euler_ancestral)"},
                 {FMD_K_DPMPP_2S_ANCESTRAL, def_dpmpp_2s_ancestral, "DPM-Solver++(2S) ancestral (sample_dpmpp_2s_ancestral)"},
                 {FMD_K_DPMPP_SDE, def_dpmpp_sde, "DPM-Solver++ SDE (sample_dpmpp_sde)"}};

/* One step of each at three pairs of Karras et al.'s 12 levels from 80 to
 * 0.002: the first, one in the middle, and the last, into sigma = 0. */
Test(sampler_law, k_diffusion_steps_match_their_definitions)
{
    fmd_gmm *g = gaussian_data();
    double sig[13];
    cr_assert_eq(fmd_karras_sigmas(12, 0.002, 80.0, 7.0, sig), FMD_OK);
    const int pairs[3] = {0, 6, 11};
    for (int q = 0; q < 3; q++)
        for (int p = 0; p < 3; p++) {
            const double s = sig[pairs[p]], sn = sig[pairs[p] + 1];
            kstep_ctx ctx = {kmethods[q].method, s, sn, g};
            aff impl = read_off(impl_kstep, &ctx, (int)fmd_kstep_noise_blocks(kmethods[q].method));
            aff def = kmethods[q].definition(s, sn);
            law in = input_law(s), l_impl = push(&impl, &in), l_def = push(&def, &in);
            char what[160];
            snprintf(what, sizeof what, "%s, sigma %.4g -> %.4g", kmethods[q].name, s, sn);
            expect_same_law(&l_impl, &l_def, what);
        }
    fmd_gmm_free(g);
}

/* The whole chain, 8 levels from 80 to 0.002 and the step to 0, from
 * x~ = 80 eps: fmd_ksample's samples against the definition's law pushed
 * through every step (27 checks). */
Test(sampler_law, k_diffusion_chains_follow_the_closed_form)
{
    fmd_gmm *g = gaussian_data();
    double sig[9];
    cr_assert_eq(fmd_karras_sigmas(8, 0.002, 80.0, 7.0, sig), FMD_OK);
    double *x = malloc(NS * D * sizeof(double));
    for (int q = 0; q < 3; q++) {
        law l = {{0, 0, 0}, mat_identity(80.0 * 80.0)};
        for (int i = 0; i < 8; i++) {
            aff def = kmethods[q].definition(sig[i], sig[i + 1]);
            l = push(&def, &l);
        }
        fmd_sample_init(300 + (uint64_t)q, NS, D, x);
        for (size_t i = 0; i < NS * D; i++)
            x[i] *= 80.0;
        cr_assert_eq(fmd_ksample(kmethods[q].method, sig, 8, fmd_mixture_eps, g, NS, D, 310 + (uint64_t)q, x, NULL), FMD_OK);
        char what[160];
        snprintf(what, sizeof what, "%s, 8 levels and 0", kmethods[q].name);
        expect_samples_follow(&l, NS, x, what);
    }
    free(x);
    fmd_gmm_free(g);
}

/* ===== DDPM's chain (Ho, Jain & Abbeel 2020) and DDIM (Song, Meng & Ermon 2021) == */

/* beta_k linear from beta_1 to beta_N, abar_k = prod_{i <= k} (1 - beta_i) (Ho et al., section 4) */
static void ddpm_levels(size_t N, double beta_1, double beta_N, double *beta, double *abar)
{
    beta[0] = 0.0, abar[0] = 1.0;
    for (size_t k = 1; k <= N; k++) {
        beta[k] = beta_1 + (beta_N - beta_1) * (double)(k - 1) / (double)(N - 1);
        abar[k] = abar[k - 1] * (1.0 - beta[k]);
    }
}

/* Ho et al.'s step k -> k - 1 (Algorithm 2): the mean of the posterior
 * q(x_{k-1} | x_k, x_0), eq. 7, at x_0 = E[x_0 | x_k], plus sigma_k z with
 * sigma_k^2 = beta_k or beta~_k = (1 - abar_{k-1}) / (1 - abar_k) beta_k
 * (section 3.2); z = 0 at k = 1. */
static aff def_ddpm(const double *beta, const double *abar, size_t k, int posterior_variance)
{
    aff x = aff_state(), x0 = vp_denoised(&x, sqrt(abar[k]), sqrt(1.0 - abar[k]));
    const double c0 = sqrt(abar[k - 1]) * beta[k] / (1.0 - abar[k]);
    const double ck = sqrt(1.0 - beta[k]) * (1.0 - abar[k - 1]) / (1.0 - abar[k]);
    aff out = aff_lin(c0, &x0, ck, &x);
    const double var = posterior_variance ? (1.0 - abar[k - 1]) / (1.0 - abar[k]) * beta[k] : beta[k];
    return k > 1 ? aff_add_noise(&out, 0, sqrt(var)) : out;
}

/* DDIM's step from level k to k' (eq. 12): sqrt(abar') x0^ + sqrt(1 - abar' -
 * sigma^2) eps^ + sigma z, eps^ = (x - sqrt(abar) x0^) / sqrt(1 - abar),
 * sigma = eta sqrt((1 - abar') / (1 - abar)) sqrt(1 - abar / abar') (eq. 16) */
static aff def_ddim(const double *abar, size_t k, size_t kp, double eta)
{
    aff x = aff_state(), x0 = vp_denoised(&x, sqrt(abar[k]), sqrt(1.0 - abar[k]));
    aff eps = aff_lin(1.0 / sqrt(1.0 - abar[k]), &x, -sqrt(abar[k]) / sqrt(1.0 - abar[k]), &x0);
    const double sigma = eta * sqrt((1.0 - abar[kp]) / (1.0 - abar[k])) * sqrt(1.0 - abar[k] / abar[kp]);
    aff out = aff_lin(sqrt(abar[kp]), &x0, sqrt(1.0 - abar[kp] - sigma * sigma), &eps);
    return sigma > 0.0 ? aff_add_noise(&out, 0, sigma) : out;
}

typedef struct {
    const fmd_ddpm *q;
    size_t k, kp;
    int variance;
    double eta;
    fmd_gmm *g;
} ddpm_ctx;

static int impl_ddpm(const void *ctx, size_t np, const double *z, double *x)
{
    const ddpm_ctx *c = ctx;
    double *e = malloc(np * D * sizeof(double));
    int status = fmd_ddpm_ancestral_step(c->q, c->k, c->variance, fmd_mixture_eps, c->g, np, D, z, x, e);
    free(e);
    return status;
}

static int impl_ddim(const void *ctx, size_t np, const double *z, double *x)
{
    const ddpm_ctx *c = ctx;
    double *e = malloc(np * D * sizeof(double));
    int status = fmd_ddim_step(c->q, c->k, c->kp, c->eta, fmd_mixture_eps, c->g, np, D, z, x, e);
    free(e);
    return status;
}

enum { DDPM_N = 20 };
#define DDPM_BETA_1 0.01
#define DDPM_BETA_N 0.4

/* Ancestral DDPM with both variances, steps k = N, 10 and 1 (into the data,
 * no noise), on a 20-level chain with beta from 0.01 to 0.4 (coarse, so
 * each step moves far); DDIM with eta = 1 and 0.5, 5 of the 20 levels, steps
 * from 20, 12 and 4 (into level 0). */
Test(sampler_law, ddpm_and_ddim_steps_match_their_definitions)
{
    fmd_gmm *g = gaussian_data();
    fmd_ddpm q;
    cr_assert_eq(fmd_ddpm_init(DDPM_N, DDPM_BETA_1, DDPM_BETA_N, &q), FMD_OK);
    double beta[DDPM_N + 1], abar[DDPM_N + 1];
    ddpm_levels(DDPM_N, DDPM_BETA_1, DDPM_BETA_N, beta, abar);
    const size_t ks[3] = {DDPM_N, 10, 1};
    for (int v = 0; v < 2; v++)
        for (int p = 0; p < 3; p++) {
            ddpm_ctx ctx = {&q, ks[p], ks[p] - 1, v, 0.0, g};
            aff impl = read_off(impl_ddpm, &ctx, 1), def = def_ddpm(beta, abar, ks[p], v);
            law in = input_law(1.0), l_impl = push(&impl, &in), l_def = push(&def, &in);
            char what[160];
            snprintf(what, sizeof what, "ancestral DDPM (%s), k = %zu", v ? "posterior variance beta~" : "variance beta",
                     ks[p]);
            expect_same_law(&l_impl, &l_def, what);
        }
    const double etas[2] = {1.0, 0.5};
    const size_t from[3] = {20, 12, 4};
    for (int e = 0; e < 2; e++)
        for (int p = 0; p < 3; p++) {
            ddpm_ctx ctx = {&q, from[p], from[p] - 4, 0, etas[e], g};
            aff impl = read_off(impl_ddim, &ctx, 1), def = def_ddim(abar, from[p], from[p] - 4, etas[e]);
            law in = input_law(1.0), l_impl = push(&impl, &in), l_def = push(&def, &in);
            char what[160];
            snprintf(what, sizeof what, "DDIM, eta = %g, level %zu -> %zu", etas[e], from[p], from[p] - 4);
            expect_same_law(&l_impl, &l_def, what);
        }
    fmd_ddpm_free(&q);
    fmd_gmm_free(g);
}

/* The whole chains from x_N ~ N(0, I): ancestral DDPM with each variance
 * and DDIM (eta = 1, 5 levels) against the closed form (27 checks). */
Test(sampler_law, ddpm_and_ddim_chains_follow_the_closed_form)
{
    fmd_gmm *g = gaussian_data();
    fmd_ddpm q;
    cr_assert_eq(fmd_ddpm_init(DDPM_N, DDPM_BETA_1, DDPM_BETA_N, &q), FMD_OK);
    double beta[DDPM_N + 1], abar[DDPM_N + 1], *x = malloc(NS * D * sizeof(double));
    ddpm_levels(DDPM_N, DDPM_BETA_1, DDPM_BETA_N, beta, abar);
    for (int v = 0; v < 2; v++) {
        law l = {{0, 0, 0}, mat_identity(1.0)};
        for (size_t k = DDPM_N; k >= 1; k--) {
            aff def = def_ddpm(beta, abar, k, v);
            l = push(&def, &l);
        }
        cr_assert_eq(fmd_ddpm_ancestral_var(&q, v, fmd_mixture_eps, g, NS, D, 320 + (uint64_t)v, x, NULL), FMD_OK);
        expect_samples_follow(&l, NS, x, v ? "ancestral DDPM, posterior variance, 20 levels" : "ancestral DDPM, 20 levels");
    }
    law l = {{0, 0, 0}, mat_identity(1.0)};
    for (size_t k = DDPM_N; k >= 4; k -= 4) {
        aff def = def_ddim(abar, k, k - 4, 1.0);
        l = push(&def, &l);
    }
    cr_assert_eq(fmd_ddim(&q, 5, 1.0, fmd_mixture_eps, g, NS, D, 330, x, NULL), FMD_OK);
    expect_samples_follow(&l, NS, x, "DDIM, eta = 1, 5 levels");
    free(x);
    fmd_ddpm_free(&q);
    fmd_gmm_free(g);
}

/* ===== NCSN's annealed Langevin (Song & Ermon 2019, Algorithm 1) ===============
 * levels sigma_i geometric from sigma_1 = sigma_max to sigma_L = sigma_min;
 * at level i, step alpha_i = eps sigma_i^2 / sigma_L^2 and T updates
 * x <- x + (alpha_i / 2) grad log q_sigma_i(x) + sqrt(alpha_i) z, q_sigma the
 * data blurred by N(0, sigma^2 I): here N(M, S + sigma^2 I). */
static aff def_langevin(double sigma_max, double sigma_min, size_t L, size_t i, double eps)
{
    const double sigma_i = sigma_max * pow(sigma_min / sigma_max, (double)i / (double)(L - 1));
    const double alpha_i = eps * sigma_i * sigma_i / (sigma_min * sigma_min);
    aff x = aff_state(), s = score(&x, 1.0, sigma_i);
    x = aff_lin(1.0, &x, 0.5 * alpha_i, &s);
    return aff_add_noise(&x, 0, sqrt(alpha_i));
}

typedef struct {
    double sigma_max, sigma_min, eps;
    size_t L, i;
    fmd_gmm *g;
} langevin_ctx;

static int impl_langevin(const void *ctx, size_t np, const double *z, double *x)
{
    const langevin_ctx *c = ctx;
    double *e = malloc(np * D * sizeof(double));
    int status = fmd_annealed_langevin_step(c->sigma_max, c->sigma_min, c->L, c->i, c->eps, fmd_mixture_eps, c->g, np, D,
                                            z, x, e);
    free(e);
    return status;
}

/* One update at the first, a middle and the last (smallest) of 6 levels
 * from 10 to 0.1, eps = 2e-3; then the whole chain, 6 levels x 3 updates,
 * from N(0, 100 I), against the closed form (9 checks). */
Test(sampler_law, annealed_langevin_matches_its_definition)
{
    fmd_gmm *g = gaussian_data();
    const size_t L = 6, T = 3, levels[3] = {0, 3, 5};
    for (int p = 0; p < 3; p++) {
        langevin_ctx ctx = {10.0, 0.1, 2e-3, L, levels[p], g};
        aff impl = read_off(impl_langevin, &ctx, 1), def = def_langevin(10.0, 0.1, L, levels[p], 2e-3);
        const double sigma_i = fmd_ncsn_level(10.0, 0.1, L, levels[p]);
        law in = input_law(sigma_i), l_impl = push(&impl, &in), l_def = push(&def, &in);
        char what[120];
        snprintf(what, sizeof what, "annealed Langevin, level %zu of %zu", levels[p], L);
        expect_same_law(&l_impl, &l_def, what);
    }
    law l = {{0, 0, 0}, mat_identity(100.0)};
    for (size_t i = 0; i < L; i++)
        for (size_t k = 0; k < T; k++) {
            aff def = def_langevin(10.0, 0.1, L, i, 2e-3);
            l = push(&def, &l);
        }
    double *x = malloc(NS * D * sizeof(double));
    cr_assert_eq(fmd_annealed_langevin(10.0, 0.1, L, T, 2e-3, fmd_mixture_eps, g, NS, D, 340, x, NULL), FMD_OK);
    expect_samples_follow(&l, NS, x, "annealed Langevin, 6 levels x 3");
    free(x);
    fmd_gmm_free(g);
}

/* ===== the predictor-corrector (Song et al. 2021, section 4.2) ==================
 * On the course's CondOT path x_t = t z + (1 - t) eps, read in the reverse
 * time tau = 1 - t of Song et al.'s forward SDE dx = f x dtau + g dw (f =
 * d log alpha / dtau, g^2 = d beta^2 / dtau - 2 f beta^2: the SDE whose
 * marginals are the path's; here f = -1/t, g^2 = 2 (1 - t) / t).
 * Predictor: Euler-Maruyama of the reverse-time SDE (eq. 6) dx = [f x - g^2
 * grad log p_t(x)] dtau + g dw~, one step from tau to tau - h:
 *     x <- x - (f x - g^2 s(x)) h + g sqrt(h) z.
 * Corrector: Langevin at the new level (Algorithm 4, score_sde's
 * LangevinCorrector, alpha_i = 1): eps = 2 (r <|z|> / <|s|>)^2, norms per
 * particle averaged over the batch; x <- x + eps s(x) + sqrt(2 eps) z. */
static aff def_predictor(double t, double h)
{
    const double f = -1.0 / t, g2 = 2.0 * (1.0 - t) / t;
    aff x = aff_state(), s = score(&x, t, 1.0 - t);
    aff drift = aff_lin(f, &x, -g2, &s);
    x = aff_lin(1.0, &x, -h, &drift);
    return aff_add_noise(&x, 0, sqrt(g2 * h));
}

static aff def_corrector(double t, double step)
{
    aff x = aff_state(), s = score(&x, t, 1.0 - t);
    x = aff_lin(1.0, &x, step, &s);
    return aff_add_noise(&x, 0, sqrt(2.0 * step));
}

typedef struct {
    fmd_schedule sch;
    double t, h, size;
    fmd_gmm *g;
} pc_ctx;

static int impl_predictor(const void *ctx, size_t np, const double *z, double *x)
{
    const pc_ctx *c = ctx;
    double *e = malloc(np * D * sizeof(double));
    int status = fmd_pc_predictor_step(&c->sch, c->t, c->h, fmd_mixture_eps, c->g, np, D, z, x, e);
    free(e);
    return status;
}

static int impl_corrector(const void *ctx, size_t np, const double *z, double *x)
{
    const pc_ctx *c = ctx;
    fmd_sched_point s;
    fmd_schedule_at(&c->sch, c->t, &s);
    double *e = malloc(np * D * sizeof(double)), size = c->size;
    int status = fmd_langevin_corrector_step(&s, 0.0, fmd_mixture_eps, c->g, np, D, z, x, e, &size);   /* a fixed size */
    free(e);
    return status;
}

/* The predictor from t = 0.1, 0.5 and 0.9 to t + 0.1 (the last into t = 1,
 * the data); the corrector at t = 0.2, 0.6 and 0.9: first its step size on a
 * batch of 64 against Algorithm 4's, then its move, with that size, in law,
 * and the step with snr > 0 against the definition's move, particle by
 * particle. */
Test(sampler_law, predictor_and_corrector_match_their_definitions)
{
    fmd_gmm *g = gaussian_data();
    fmd_schedule sch;
    cr_assert_eq(fmd_schedule_by_name("condot", &sch), FMD_OK);
    const double tp[3] = {0.1, 0.5, 0.9}, tc[3] = {0.2, 0.6, 0.9};
    for (int p = 0; p < 3; p++) {
        pc_ctx ctx = {sch, tp[p], 0.1, 0.0, g};
        aff impl = read_off(impl_predictor, &ctx, 1), def = def_predictor(tp[p], 0.1);
        law in = input_law(1.0 - tp[p]), l_impl = push(&impl, &in), l_def = push(&def, &in);
        char what[120];
        snprintf(what, sizeof what, "predictor (reverse-SDE Euler-Maruyama), t = %g -> %g", tp[p], tp[p] + 0.1);
        expect_same_law(&l_impl, &l_def, what);
    }
    enum { NP = 64 };
    const double snr = 0.16;
    for (int p = 0; p < 3; p++) {
        const double t = tc[p];
        double x[NP * D], x_def[NP * D], z[NP * D], e[NP * D];
        fmd_sample_init(350 + (uint64_t)p, NP, D, x);
        fmd_sample_init(360 + (uint64_t)p, NP, D, z);
        for (int i = 0; i < NP * D; i++)
            x[i] = t * M[i % D] + 1.5 * x[i];
        memcpy(x_def, x, sizeof x);
        /* Algorithm 4's size, from this file's score */
        double zn = 0.0, sn = 0.0, s_rows[NP * D];
        for (int i = 0; i < NP; i++) {
            aff xi = aff_state();
            memset(xi.A.a, 0, sizeof xi.A.a);
            memcpy(xi.c, x + i * D, sizeof xi.c);   /* the constant x_i */
            aff si = score(&xi, t, 1.0 - t);
            double a2 = 0.0, b2 = 0.0;
            for (int j = 0; j < D; j++)
                a2 += z[i * D + j] * z[i * D + j], b2 += si.c[j] * si.c[j], s_rows[i * D + j] = si.c[j];
            zn += sqrt(a2) / NP, sn += sqrt(b2) / NP;
        }
        const double size_def = 2.0 * (snr * zn / sn) * (snr * zn / sn);
        fmd_sched_point s;
        fmd_schedule_at(&sch, t, &s);
        double size;
        cr_assert_eq(fmd_langevin_corrector_step(&s, snr, fmd_mixture_eps, g, NP, D, z, x, e, &size), FMD_OK);
        cr_expect(fabs(size - size_def) <= TOL_ROUNDING * size_def,
                  "corrector at t = %g: step size %.15g, Algorithm 4's %.15g", t, size, size_def);
        double err = 0.0, scale = 1.0;
        for (int i = 0; i < NP * D; i++) {
            x_def[i] += size_def * s_rows[i] + sqrt(2.0 * size_def) * z[i];
            err = fmax(err, fabs(x[i] - x_def[i])), scale = fmax(scale, fabs(x_def[i]));
        }
        cr_expect(err <= TOL_ROUNDING * scale, "corrector at t = %g, snr %g: moved %.3g away from the definition's move",
                  t, snr, err);
        pc_ctx ctx = {sch, t, 0.0, size_def, g};
        aff impl = read_off(impl_corrector, &ctx, 1), def = def_corrector(t, size_def);
        law in = input_law(1.0 - t), l_impl = push(&impl, &in), l_def = push(&def, &in);
        char what[120];
        snprintf(what, sizeof what, "corrector (Langevin, size %.3g), t = %g", size_def, t);
        expect_same_law(&l_impl, &l_def, what);
    }
    fmd_gmm_free(g);
}
