/* diffusion.h -- chapter 6: the discrete samplers of `003` and exponential
 * integrators, driven by a noise predictor.
 *
 * Every sampler here needs one thing of the model: the noise prediction
 * eps(x) at a Gaussian-path point (alpha, beta) -- the law of alpha z +
 * beta eps, the course's p_t. A trained DDPM network gives it directly; an
 * exact mixture gives eps = -beta grad log p (fmd_mixture_eps).
 *
 * DDPM (`003`): beta_1..beta_N (linear from beta_min to beta_max), alpha_k =
 * 1 - beta_k, abar_k = prod_{i<=k} alpha_i, x_k = sqrt(abar_k) x_0 +
 * sqrt(1 - abar_k) eps. In the course's terms x_k is the Gaussian path at
 * alpha = sqrt(abar_k), beta = sqrt(1 - abar_k), data at k = 0, noise at k =
 * N; with beta_min = 1e-4, beta_max = 0.02, N = 1000 it is the vp schedule at
 * t = 1 - k/N (N beta_k = b(k/N), the identity checked to O(1/N)).
 *   ancestral   x_{k-1} = (x_k - beta_k / sqrt(1 - abar_k) eps) / sqrt(alpha_k) + sigma_k z
 *               (`003`'s mu_theta; sigma_k^2 = beta_k, or the posterior's
 *               beta~_k = beta_k (1 - abar_{k-1}) / (1 - abar_k); no noise on the last step)
 *   DDIM        on a decreasing subsequence of levels: xhat_0 = (x - sqrt(1 - abar) eps) / sqrt(abar),
 *               x' = sqrt(abar') xhat_0 + sqrt(1 - abar' - sigma^2) eps + sigma z,
 *               sigma = eta sqrt((1 - abar')/(1 - abar) (1 - abar/abar')); eta = 0 deterministic
 * NCSN annealed Langevin (`003`): noise levels sigma_1 > ... > sigma_L
 * (geometric), at level i T steps x += (a_i/2) s + sqrt(a_i) z, a_i = step
 * sigma_i^2 / sigma_L^2, s the score of the data blurred by N(0, sigma_i^2)
 * (the path point alpha = 1, beta = sigma_i).
 * Predictor-corrector (`002`): Euler-Maruyama steps of the reverse SDE
 * (Thm 13 with sigma_t^2 = 2 b_t: the time reversal of the forward SDE,
 * forward.h), each followed by Langevin corrector steps at the new level
 * with step 2 (r |z| / |s|)^2 (r the signal-to-noise ratio, the norms
 * averaged over the batch as in Song et al.).
 * Exponential integrators for the probability-flow ODE of a Gaussian path,
 * stepping in lambda = log(alpha / beta) (the log signal-to-noise ratio over 2): with h = lambda' - lambda,
 *   first order (= DDIM, eta = 0)  x' = (alpha'/alpha) x - beta' (e^h - 1) eps(x)
 *   second order (DPM-Solver-2)   u  = (alpha_m/alpha) x - beta_m (e^{h/2} - 1) eps(x) at lambda + h/2,
 *                                 x' = (alpha'/alpha) x - beta' (e^h - 1) eps(u)
 * exact for the linear part, so only eps is approximated. The same steps in
 * the data form hold the denoised estimate D = (x - beta eps)/alpha fixed
 * instead (DPM-Solver++): x' = (beta'/beta) x - alpha' (e^{-h} - 1) D;
 * first order it is DDIM again, second order it differs. The multistep
 * second order (2M) reuses the previous step's prediction instead of a
 * midpoint evaluation: second order at one NFE a step. */
#ifndef FMD_DIFFUSION_H
#define FMD_DIFFUSION_H

#include <stddef.h>
#include <stdint.h>
#include "paths/gmm.h"
#include "sde_view/sample.h"
#include "paths/schedule.h"

/* eps(x) at the path point s (only alpha and beta are read), n points. */
typedef int (*fmd_eps_fn)(const fmd_sched_point *s, size_t n, size_t d, const double *x, double *eps, void *params);

/* The exact noise predictor of a mixture: -beta grad log p (params: const fmd_gmm *). */
int fmd_mixture_eps(const fmd_sched_point *s, size_t n, size_t d, const double *x, double *eps, void *params);

/* A trained model as a noise predictor, so the samplers below run on it too.
 * u is the network (its output at (x, t) of the kind `predicts`), sch its
 * schedule. The path point s fixes t: lambda = log(alpha/beta) increases with
 * t (fmd_schedule_time_of_lambda). Then, at alpha > 0 and beta > 0 (Ex 22,
 * and Prop 1 solved for eps with x = alpha zbar + beta epsbar, u = alpha_dot
 * zbar + beta_dot epsbar):
 *   NOISE  eps = the output
 *   SCORE  eps = -beta s
 *   DATA   eps = (x - alpha D) / beta
 *   FIELD  eps = (alpha u - alpha_dot x) / (alpha beta_dot - alpha_dot beta),
 *          the denominator -alpha beta lambda_dot < 0 wherever lambda is finite,
 * all at the model's point q of the same lambda, with x rescaled to it
 * (x_q = (alpha_q / alpha_s) x: a DDPM level is vp's point only to O(1/N)).
 * FMD_EDOM where alpha or beta is 0. */
typedef struct {
    const fmd_field *u;
    fmd_schedule sch;
    fmd_prediction predicts;
    fmd_team *team;           /* threads for the network's blocks; NULL = the caller's only */
} fmd_model_eps_params;
int fmd_model_eps(const fmd_sched_point *s, size_t n, size_t d, const double *x, double *eps, void *params);

typedef struct {
    size_t N;
    double *beta;        /* (N + 1): beta[k] for k = 1..N; beta[0] = 0 */
    double *alpha_bar;   /* (N + 1): abar[0] = 1 */
} fmd_ddpm;

int fmd_ddpm_init(size_t N, double beta_min, double beta_max, fmd_ddpm *out);
void fmd_ddpm_free(fmd_ddpm *q);

/* Every sampler: x (n, d) is overwritten by the samples; noise from the
 * streams of seed (x_N ~ N(0, I) from stream family 0, the rest from 1);
 * *nfe (may be NULL) gets the number of eps evaluations per particle. */
int fmd_ddpm_ancestral(const fmd_ddpm *q, fmd_eps_fn eps, void *params, size_t n, size_t d, uint64_t seed,
                       double *x, size_t *nfe);

/* The two variances `003` offers for the reverse step k -> k - 1:
 *   FMD_DDPM_VAR_BETA       sigma_k^2 = beta_k (fmd_ddpm_ancestral's), the
 *                           right one when x_0 is a point mass at noise level N;
 *   FMD_DDPM_VAR_POSTERIOR  sigma_k^2 = beta~_k = beta_k (1 - abar_{k-1}) / (1 - abar_k),
 *                           the variance of the exact posterior q(x_{k-1} | x_k, x_0). */
typedef enum { FMD_DDPM_VAR_BETA, FMD_DDPM_VAR_POSTERIOR } fmd_ddpm_variance;

/* One reverse step's Gaussian kernel: mean (m numbers) of x_{k-1} given x_k
 * (m numbers) and the noise prediction eps, mu = (x_k - beta_k /
 * sqrt(1 - abar_k) eps) / sqrt(alpha_k), and its variance *var. Fed the true
 * noise of x_k = sqrt(abar_k) x_0 + sqrt(1 - abar_k) eps, mu is the mean of
 * q(x_{k-1} | x_k, x_0) and beta~_k its variance (verify/test_diffusion.c). */
int fmd_ddpm_reverse_step(const fmd_ddpm *q, size_t k, fmd_ddpm_variance v, size_t m, const double *x,
                          const double *eps, double *mean, double *var);

/* One step k -> k - 1 of ancestral sampling with its noise given (Ho et
 * al. 2020, Algorithm 2): x (n, d) <- mu_theta(x, eps(x)) + sigma_k z, z (n,
 * d) independent N(0, I), unused (may be NULL) at k = 1, the last step, which
 * adds no noise; e (n d doubles) receives eps(x). The step the sampler below
 * takes, drawing z from its streams. */
int fmd_ddpm_ancestral_step(const fmd_ddpm *q, size_t k, fmd_ddpm_variance v, fmd_eps_fn eps, void *params, size_t n,
                            size_t d, const double *z, double *x, double *e);

/* Ancestral sampling with either variance (no noise on the last step). */
int fmd_ddpm_ancestral_var(const fmd_ddpm *q, fmd_ddpm_variance v, fmd_eps_fn eps, void *params, size_t n, size_t d,
                           uint64_t seed, double *x, size_t *nfe);

/* One DDIM step from level k to k' < k (Song, Meng & Ermon 2021, eq. 12
 * with eq. 16's sigma times eta), noise z given (n, d; unused when sigma = 0,
 * as at eta = 0 or k' = 0); e receives eps(x). */
int fmd_ddim_step(const fmd_ddpm *q, size_t k, size_t kp, double eta, fmd_eps_fn eps, void *params, size_t n, size_t d,
                  const double *z, double *x, double *e);

/* DDIM on `steps` levels evenly spaced from N down to 0. */
int fmd_ddim(const fmd_ddpm *q, size_t steps, double eta, fmd_eps_fn eps, void *params, size_t n, size_t d,
             uint64_t seed, double *x, size_t *nfe);

/* NCSN's noise level i = 0..L-1, geometric from sigma_max (i = 0) to
 * sigma_min (i = L - 1). Read as a chain that adds noise from level i + 1 to
 * level i, x_i = x_{i+1} + sqrt(sigma_i^2 - sigma_{i+1}^2) z, it is the
 * variance-exploding SDE of the `ve` schedule on a grid of L levels (with
 * sigma_max = 50, sigma_min = 0.01): each increment's variance is
 * d(sigma^2)/ds ds to O(1/L) (verify/test_diffusion.c). */
double fmd_ncsn_level(double sigma_max, double sigma_min, size_t L, size_t i);

/* NCSN: L levels from sigma_max to sigma_min (geometric), T steps each. */
int fmd_annealed_langevin(double sigma_max, double sigma_min, size_t L, size_t T, double step, fmd_eps_fn eps,
                          void *params, size_t n, size_t d, uint64_t seed, double *x, size_t *nfe);

/* One Langevin step at NCSN's level i (Song & Ermon 2019, Algorithm 1):
 * x += (a_i/2) s(x) + sqrt(a_i) z, a_i = step sigma_i^2 / sigma_{L-1}^2 (the
 * smallest level's), z (n, d) given; e receives eps(x). */
int fmd_annealed_langevin_step(double sigma_max, double sigma_min, size_t L, size_t i, double step, fmd_eps_fn eps,
                               void *params, size_t n, size_t d, const double *z, double *x, double *e);

/* The predictor's step from t to t + h: Euler-Maruyama of the reverse SDE
 * (Song et al. 2021, eq. 6, in the course's time: drift (alpha_dot/alpha) x
 * + 2 b s, diffusion sqrt(2 b), b = beta^2 alpha_dot/alpha - beta beta_dot),
 * noise z given; e receives eps(x). */
int fmd_pc_predictor_step(const fmd_schedule *sch, double t, double h, fmd_eps_fn eps, void *params, size_t n,
                          size_t d, const double *z, double *x, double *e);

/* The corrector's step size (Song et al. 2021, Algorithm 4, the VE rule,
 * which fmd uses on every schedule: alpha_i = 1): 2 (snr <|z|> / <|s|>)^2,
 * the norms of the n rows of z and of the score s = -eps/beta averaged over
 * the batch, as score_sde's LangevinCorrector does. */
double fmd_langevin_corrector_size(double snr, size_t n, size_t d, const double *z, const double *eps, double beta);

/* One corrector step at the path point s: x += size s(x) + sqrt(2 size) z
 * (unadjusted Langevin), z (n, d) given, e receives eps(x). With snr > 0
 * the size is fmd_langevin_corrector_size's, of this z and eps(x), and is
 * written to *size; with snr = 0, *size is the size to take (a fixed step,
 * so that a test can read the step off as an affine map). */
int fmd_langevin_corrector_step(const fmd_sched_point *s, double snr, fmd_eps_fn eps, void *params, size_t n, size_t d,
                                const double *z, double *x, double *e, double *size);

/* Predictor-corrector on the course schedule sch, on a uniform grid of
 * `steps` from t0 to t1 (0 < t0 where alpha > 0 is needed: alpha_t0 > 0),
 * `corrector` Langevin steps with signal-to-noise ratio snr per step.
 * Starts from x ~ N(0, beta_t0^2 I). */
int fmd_predictor_corrector(const fmd_schedule *sch, double t0, double t1, size_t steps, size_t corrector,
                            double snr, fmd_eps_fn eps, void *params, size_t n, size_t d, uint64_t seed, double *x,
                            size_t *nfe);

/* Time grids for the exponential integrators: ts[0..steps] from t0 to t1
 * (alpha > 0 and beta > 0 at both; a time grid may end where beta = 0, for
 * the data form). FMD_GRID_LOGSNR: uniform in lambda;
 * FMD_GRID_TIME: t_k = t0 + (t1 - t0) (1 - (1 - k/steps)^power), power >= 1
 * (1: uniform in time; above 1 the steps crowd toward t1, the data end,
 * where the denoised estimate changes fastest). */
typedef enum { FMD_GRID_LOGSNR, FMD_GRID_TIME } fmd_grid_kind;
int fmd_exp_grid(const fmd_schedule *sch, fmd_grid_kind kind, double power, double t0, double t1, size_t steps,
                 double *ts);

/* Exponential integrator on sch along the grid ts[0..steps] (increasing,
 * lambda finite and increasing: EDOM otherwise), in the noise or the data
 * form, from x ~ N(0, beta_ts[0]^2 I) unless start_given (then x holds it).
 * In the data form the grid may end at beta = 0 (t = 1 on the course's
 * schedules): the last step is then x' = alpha' D(x), the update's exact limit
 * as h -> inf, first order and one evaluation, with no noise left over.
 * *nfe gets the evaluations per particle.
 *   FMD_EXP_ORDER1  first order (= DDIM, either form), 1 NFE a step;
 *   FMD_EXP_2S      DPM-Solver-2 / DPM-Solver++(2S), 2 NFE a step;
 *   FMD_EXP_2M      the multistep second order of DPM-Solver++(2M): the
 *                   prediction extrapolated from this step's and the last
 *                   one's, P = (1 + h/(2 h_prev)) P_k - h/(2 h_prev) P_{k-1}
 *                   (first step order 1), 1 NFE a step. */
typedef enum { FMD_EXP_NOISE, FMD_EXP_DATA } fmd_exp_form;
typedef enum { FMD_EXP_ORDER1, FMD_EXP_2S, FMD_EXP_2M } fmd_exp_method;
int fmd_exponential_integrator(const fmd_schedule *sch, fmd_exp_method method, fmd_exp_form form, const double *ts,
                               size_t steps, fmd_eps_fn eps, void *params, size_t n, size_t d, uint64_t seed,
                               int start_given, double *x, size_t *nfe);

#endif
