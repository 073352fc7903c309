/* test_sde.c -- chapter 2: Brownian motion, Euler-Maruyama, stochastic Heun,
 * the Ornstein-Uhlenbeck process, Algorithms 1 and 2.
 *
 * Monte Carlo checks compare with Z_CHECK = 6.5 standard errors (verify/budget.h
 * for the suite's false-fail budget); each test states how many such checks
 * it makes. Seeds are fixed, so every run is the same run. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_cdf.h>

#include "fmd.h"
#include "budget.h"

/* ---- Brownian motion ------------------------------------------------------ */

/* 28 Gaussian checks: for 4 increments x 2 dimensions, mean 0 and variance
 * t - s (16); for the 6 pairs of disjoint increments x 2 dimensions, zero
 * covariance (12). W_0 = 0 is exact. */
Test(brownian, zero_start_gaussian_independent_increments)
{
    enum { n = 20000, d = 2, nt = 5 };
    const double ts[nt] = {0.0, 0.13, 0.5, 0.77, 1.4};
    double *W = malloc(sizeof(double) * nt * n * d);
    double *inc = malloc(sizeof(double) * (nt - 1) * n * d);
    cr_assert_eq(fmd_brownian_paths(20261123, n, d, ts, nt, W), FMD_OK);
    for (size_t i = 0; i < (size_t)n * d; i++)
        cr_assert(W[i] == 0.0, "W_0 is %g, not 0", W[i]);
    for (int k = 0; k + 1 < nt; k++)
        for (size_t i = 0; i < (size_t)n * d; i++)
            inc[(size_t)k * n * d + i] = W[(size_t)(k + 1) * n * d + i] - W[(size_t)k * n * d + i];

    for (int k = 0; k + 1 < nt; k++) {
        double dt = ts[k + 1] - ts[k];
        for (int c = 0; c < d; c++) {
            const double *x = inc + (size_t)k * n * d + c;
            double m, se;
            fmd_mean_se(n, x, d, &m, &se);
            cr_expect(fabs(m) <= Z_CHECK * sqrt(dt / n),
                      "increment %d, dim %d: mean %.5f, exact 0, SE %.5f", k, c, m, sqrt(dt / n));
            /* sample variance of n Gaussians: SE = sqrt(2 / (n - 1)) * variance */
            double v = 0.0;
            for (int i = 0; i < n; i++)
                v += (x[(size_t)i * d] - m) * (x[(size_t)i * d] - m);
            v /= n - 1;
            double v_se = sqrt(2.0 / (n - 1)) * dt;
            cr_expect(fabs(v - dt) <= Z_CHECK * v_se,
                      "increment %d, dim %d: variance %.5f, exact t - s = %.5f, SE %.5f", k, c, v, dt, v_se);
        }
    }
    for (int k = 0; k + 1 < nt; k++)
        for (int l = k + 1; l + 1 < nt; l++)
            for (int c = 0; c < d; c++) {
                double cov = 0.0;
                for (int i = 0; i < n; i++)
                    cov += inc[(size_t)k * n * d + (size_t)i * d + c] * inc[(size_t)l * n * d + (size_t)i * d + c];
                cov /= n;
                /* E[a b] = 0 for independent centred a, b; Var(a b) = Var a Var b */
                double se = sqrt((ts[k + 1] - ts[k]) * (ts[l + 1] - ts[l]) / n);
                cr_expect(fabs(cov) <= Z_CHECK * se,
                          "increments %d and %d, dim %d: covariance %.5f, exact 0, SE %.5f", k, l, c, cov, se);
            }
    free(W);
    free(inc);
}

/* ---- convergence orders of the SDE steppers ---------------------------------- */

/* Brownian increments on a fine grid of 2^LEVELS steps over [0, 1], shared by
 * every coarser grid (coarse increment = sum of fine ones), so a method and
 * the exact solution see the same path. */
typedef struct {
    size_t M, fine;   /* paths, fine steps */
    double *dW;       /* (M, fine) */
} paths;

static paths make_paths(uint64_t seed, size_t M, size_t fine)
{
    paths P = {M, fine, malloc(sizeof(double) * M * fine)};
    gsl_rng *r;
    cr_assert_eq(fmd_rng_alloc(seed, 0, &r), FMD_OK);
    fmd_rng_gaussian(r, M * fine, P.dW);
    for (size_t i = 0; i < M * fine; i++)
        P.dW[i] *= sqrt(1.0 / (double)fine);
    gsl_rng_free(r);
    return P;
}

/* W_1 on path i: the sum of its fine increments. */
static double W_end(const paths *P, size_t i)
{
    double W = 0.0;
    for (size_t k = 0; k < P->fine; k++)
        W += P->dW[i * P->fine + k];
    return W;
}

/* Run `type` with N steps (N divides fine) on all paths; x (M) gets X_1. */
static void run_coarse(const fmd_sde_stepper_type *type, const fmd_sde *sde, const paths *P,
                       size_t N, double x0, double *x)
{
    fmd_sde_workspace *ws;
    cr_assert_eq(fmd_sde_workspace_alloc(type, P->M, 1, &ws), FMD_OK);
    double *dw = malloc(sizeof(double) * P->M), *xn = malloc(sizeof(double) * P->M);
    size_t r = P->fine / N;
    double h = 1.0 / (double)N;
    for (size_t i = 0; i < P->M; i++)
        x[i] = x0;
    for (size_t k = 0; k < N; k++) {
        for (size_t i = 0; i < P->M; i++) {
            double s = 0.0;
            for (size_t j = 0; j < r; j++)
                s += P->dW[i * P->fine + k * r + j];
            dw[i] = s;
        }
        cr_assert_eq(fmd_sde_step(ws, sde, k * h, h, x, dw, xn), FMD_OK);
        memcpy(x, xn, sizeof(double) * P->M);
    }
    free(dw);
    free(xn);
    fmd_sde_workspace_free(ws);
}

/* Fit the order from per-h mean errors with their standard errors. The log
 * errors' SEs are se/err (delta method); the errors at different h share
 * paths, so the slope SE treats them as independent -- an approximation we
 * only use to check the tolerance is many SEs wide. */
static void check_order(const char *what, size_t m, const double *h, double *err,
                        const double *err_se, double order, double tol)
{
    double lh[m], le[m], le_se[m], slope_se;
    for (size_t j = 0; j < m; j++) {
        lh[j] = log(h[j]);
        le[j] = log(err[j]);
        le_se[j] = err_se[j] / err[j];
    }
    double slope = fmd_fit_slope(m, lh, le, le_se, &slope_se);
    cr_log_info("%s: fitted order %.3f +- %.3f (SE), theory %.1f +- %.1f; error %.3e at h = %.4f .. %.3e at h = %.5f",
                what, slope, slope_se, order, tol, err[0], h[0], err[m - 1], h[m - 1]);
    cr_expect(fabs(slope - order) <= tol, "%s: fitted order %.3f, expected %.1f +- %.1f", what,
              slope, order, tol);
    cr_expect(tol >= Z_CHECK * slope_se, "%s: too few paths -- slope SE %.3f, tolerance %.2f < %g SE",
              what, slope_se, tol, Z_CHECK);
}

/* GBM, dX = mu X dt + sigma X dW: X_1 = x0 exp(mu - sigma^2/2 + sigma W_1)
 * depends on W_1 only, so it is exact on every path. */
Test(sde, em_strong_order_half_on_gbm)
{
    enum { M = 4000, FINE = 256, LV = 6 };
    fmd_gbm_params gp = {0.7, 0.8};
    fmd_sde sde = fmd_gbm_sde(&gp, 1);
    paths P = make_paths(11, M, FINE);
    double *x = malloc(sizeof(double) * M), *e = malloc(sizeof(double) * M);
    double h[LV], err[LV], se[LV];
    for (int j = 0; j < LV; j++) {
        size_t N = (size_t)8 << j;   /* 8 .. 256 steps */
        run_coarse(fmd_sde_em, &sde, &P, N, 1.3, x);
        for (size_t i = 0; i < M; i++)
            e[i] = fabs(x[i] - fmd_gbm_exact(&gp, 1.0, 1.3, W_end(&P, i)));
        h[j] = 1.0 / (double)N;
        fmd_mean_se(M, e, 1, &err[j], &se[j]);
    }
    check_order("Euler-Maruyama strong, GBM", LV, h, err, se, 0.5, 0.2);
    free(x);
    free(e);
    free(P.dW);
}

/* OU, dX = -theta X dt + sigma dW: by parts,
 *   X_1 = e^{-theta} x0 + sigma (W_1 - theta int_0^1 e^{-theta(1-s)} W_s ds),
 * the integral by the trapezoid rule on the fine grid (error O(h_fine^1.5)
 * ~ 4e-6, a thousand times below the smallest error measured). */
static void ou_exact_on_paths(const fmd_ou_params *op, const paths *P, double x0, double *exact)
{
    const double h = 1.0 / (double)P->fine;
    for (size_t i = 0; i < P->M; i++) {
        double W = 0.0, integral = 0.0, f_prev = 0.0;   /* W_0 = 0 */
        for (size_t k = 0; k < P->fine; k++) {
            W += P->dW[i * P->fine + k];
            double f = exp(-op->theta * (1.0 - (double)(k + 1) * h)) * W;
            integral += 0.5 * h * (f_prev + f);
            f_prev = f;
        }
        exact[i] = exp(-op->theta) * x0 + op->sigma * (W - op->theta * integral);
    }
}

static void strong_order_on_ou(const fmd_sde_stepper_type *type, const char *what)
{
    enum { M = 4000, FINE = 4096, LV = 6 };
    fmd_ou_params op = {1.7, 0.9};
    fmd_sde sde = fmd_ou_sde(&op, 1);
    paths P = make_paths(12, M, FINE);
    double *x = malloc(sizeof(double) * M), *e = malloc(sizeof(double) * M);
    double *exact = malloc(sizeof(double) * M);
    ou_exact_on_paths(&op, &P, 1.1, exact);
    double h[LV], err[LV], se[LV];
    for (int j = 0; j < LV; j++) {
        size_t N = (size_t)8 << j;   /* 8 .. 256 steps */
        run_coarse(type, &sde, &P, N, 1.1, x);
        for (size_t i = 0; i < M; i++)
            e[i] = fabs(x[i] - exact[i]);
        h[j] = 1.0 / (double)N;
        fmd_mean_se(M, e, 1, &err[j], &se[j]);
    }
    check_order(what, LV, h, err, se, 1.0, 0.2);
    free(x);
    free(e);
    free(exact);
    free(P.dW);
}

Test(sde, em_strong_order_one_on_additive_noise)
{
    strong_order_on_ou(fmd_sde_em, "Euler-Maruyama strong, OU (additive)");
}

Test(sde, heun_strong_order_one_on_additive_noise)
{
    strong_order_on_ou(fmd_sde_heun, "stochastic Heun strong, OU (additive)");
}

/* Weak order with f(x) = x^2 on GBM, 10^4 paths. The estimator of
 * E f(X_N) - E f(X_1) is the mean of f(X_N) - f(X_1) on the same paths.
 * Its expectation is known in closed form, since Euler-Maruyama gives
 * E[X_{k+1}^2] = ((1 + mu h)^2 + sigma^2 h) E[X_k^2]:
 *   x0^2 ((1 + mu h)^2 + sigma^2 h)^N - x0^2 exp(2 mu + sigma^2).
 * 6 Gaussian checks (estimate vs closed form at each h), then the order. */
Test(sde, em_weak_order_one)
{
    enum { M = 10000, FINE = 128, LV = 6 };
    fmd_gbm_params gp = {0.5, 0.3};
    const double x0 = 0.9;
    fmd_sde sde = fmd_gbm_sde(&gp, 1);
    paths P = make_paths(13, M, FINE);
    double *x = malloc(sizeof(double) * M), *e = malloc(sizeof(double) * M);
    double h[LV], err[LV], se[LV];
    for (int j = 0; j < LV; j++) {
        size_t N = (size_t)4 << j;   /* 4 .. 128 steps */
        run_coarse(fmd_sde_em, &sde, &P, N, x0, x);
        for (size_t i = 0; i < M; i++) {
            double X1 = fmd_gbm_exact(&gp, 1.0, x0, W_end(&P, i));
            e[i] = x[i] * x[i] - X1 * X1;
        }
        h[j] = 1.0 / (double)N;
        double m;
        fmd_mean_se(M, e, 1, &m, &se[j]);
        double a = (1.0 + gp.mu * h[j]) * (1.0 + gp.mu * h[j]) + gp.sigma * gp.sigma * h[j];
        double closed = x0 * x0 * (pow(a, (double)N) - exp(2.0 * gp.mu + gp.sigma * gp.sigma));
        cr_expect(fabs(m - closed) <= Z_CHECK * se[j],
                  "h = 1/%zu: weak error estimate %.5f, closed form %.5f, SE %.5f", N, m, closed, se[j]);
        err[j] = fabs(m);
    }
    check_order("Euler-Maruyama weak, E X^2 on GBM", LV, h, err, se, 1.0, 0.3);
    free(x);
    free(e);
    free(P.dW);
}

/* Weak order 2 of stochastic Heun for additive noise, without Monte Carlo.
 * On OU (dX = -theta X dt + sigma dW) one step of the implementation is
 * affine, X' = R X + b dW: we read R = step(x = 1, dW = 0) and b = step(x = 0,
 * dW = 1) off fmd_sde_step itself, so the law of X_N from x0 follows exactly:
 *   mean R^N x0,   variance b^2 h sum_k R^(2k).
 * Their errors against the exact OU law at T = 1, for N = 8 .. 256 steps,
 * must fall with fitted slope 2 +- 0.1 (Euler-Maruyama, for contrast, 1).
 * No sampling error: the tolerance is for the next term of the expansion,
 * O(h^3) against O(h^2), which tilts the fitted slope by about (theta h)
 * = 0.16 at h = 1/8 over the first pair of points and much less after (the
 * fit gives 2.03); ou/... checks that simulated paths follow these laws. */
static void weak_order_on_ou(const fmd_sde_stepper_type *type, double order, const char *what)
{
    enum { LV = 6 };
    fmd_ou_params op = {1.3, 0.7};
    fmd_sde sde = fmd_ou_sde(&op, 1);
    const double x0 = 1.5;
    double h[LV], err[LV], err_se[LV];
    fmd_sde_workspace *ws;
    cr_assert_eq(fmd_sde_workspace_alloc(type, 1, 1, &ws), FMD_OK);
    for (int j = 0; j < LV; j++) {
        const size_t N = (size_t)8 << j;
        h[j] = 1.0 / (double)N;
        double one = 1.0, zero = 0.0, R, b;
        cr_assert_eq(fmd_sde_step(ws, &sde, 0.0, h[j], &one, &zero, &R), FMD_OK);
        cr_assert_eq(fmd_sde_step(ws, &sde, 0.0, h[j], &zero, &one, &b), FMD_OK);
        double mean = x0, var = 0.0;
        for (size_t k = 0; k < N; k++)
            mean *= R, var = R * R * var + b * b * h[j];
        err[j] = fabs(mean - fmd_ou_mean(&op, 1.0, x0)) + fabs(var - fmd_ou_variance(&op, 1.0));
        err_se[j] = 1e-3 * err[j];   /* no sampling error; a nominal 0.1% for the fit's weights */
    }
    fmd_sde_workspace_free(ws);
    check_order(what, LV, h, err, err_se, order, 0.1);
}

Test(sde, heun_weak_order_two_on_additive_noise) { weak_order_on_ou(fmd_sde_heun, 2.0, "stochastic Heun weak, OU law"); }
Test(sde, em_weak_order_one_on_ou_law) { weak_order_on_ou(fmd_sde_em, 1.0, "Euler-Maruyama weak, OU law"); }

/* ---- Ornstein-Uhlenbeck -------------------------------------------------- */

/* Heun on OU is X_{k+1} = R X_k + c sigma dW with R = 1 - theta h + (theta h)^2/2
 * and c = 1 - theta h / 2, so the scheme's own mean and variance follow
 *   m_{k+1} = R m_k,   v_{k+1} = R^2 v_k + c^2 sigma^2 h.
 * We check (a) the simulation against the scheme's law, with Z_CHECK SEs,
 * and (b) the scheme's law against the exact OU law to its O(h^2) bias. */
Test(ou, simulated_mean_and_variance_match_exact)
{
    enum { n = 20000, steps = 400 };
    fmd_ou_params op = {1.7, 0.9};
    const double x0 = 2.3, T = 2.0, times[] = {0.25, 0.5, 1.0, 2.0};
    fmd_sde sde = fmd_ou_sde(&op, 1);
    double *x = malloc(sizeof(double) * n), ts[steps + 1];
    double *path = malloc(sizeof(double) * (steps + 1) * n);
    fmd_time_grid(0.0, T, steps, ts);
    for (int i = 0; i < n; i++)
        x[i] = x0;
    fmd_sde_workspace *ws;
    cr_assert_eq(fmd_sde_workspace_alloc(fmd_sde_heun, n, 1, &ws), FMD_OK);
    cr_assert_eq(fmd_sde_solve_grid(ws, &sde, ts, steps + 1, x, 77, path), FMD_OK);
    fmd_sde_workspace_free(ws);
    const double h = T / steps, R = 1.0 - op.theta * h + 0.5 * op.theta * h * op.theta * h;
    const double c = 1.0 - 0.5 * op.theta * h;
    /* 8 Gaussian checks: mean and variance at 4 times */
    for (int q = 0; q < 4; q++) {
        size_t k = (size_t)lround(times[q] / h);
        double m_scheme = x0 * pow(R, (double)k), v_scheme = 0.0;
        for (size_t j = 0; j < k; j++)
            v_scheme = R * R * v_scheme + c * c * op.sigma * op.sigma * h;
        double m_exact = fmd_ou_mean(&op, times[q], x0), v_exact = fmd_ou_variance(&op, times[q]);
        cr_expect(fabs(m_scheme - m_exact) <= 1e-4 && fabs(v_scheme - v_exact) <= 1e-4,
                  "t = %g: Heun's law (%.7f, %.7f) vs OU (%.7f, %.7f): bias above 1e-4", times[q],
                  m_scheme, v_scheme, m_exact, v_exact);
        double m, se;
        fmd_mean_se(n, path + k * n, 1, &m, &se);
        double v = 0.0;
        for (int i = 0; i < n; i++)
            v += (path[k * n + i] - m) * (path[k * n + i] - m);
        v /= n - 1;
        double m_se = sqrt(v_scheme / n), v_se = sqrt(2.0 / (n - 1)) * v_scheme;
        cr_log_info("OU at t = %g: mean %.5f (exact %.5f, SE %.5f), variance %.5f (exact %.5f, SE %.5f)",
                    times[q], m, m_exact, m_se, v, v_exact, v_se);
        cr_expect(fabs(m - m_scheme) <= Z_CHECK * m_se, "t = %g: mean %.5f vs %.5f (SE %.5f)", times[q], m, m_scheme, m_se);
        cr_expect(fabs(v - v_scheme) <= Z_CHECK * v_se, "t = %g: variance %.5f vs %.5f (SE %.5f)", times[q], v, v_scheme, v_se);
    }
    free(x);
    free(path);
}

typedef struct { double sd; } normal_cdf_params;
static double normal_cdf(double x, void *p)
{
    return gsl_cdf_gaussian_P(x, ((normal_cdf_params *)p)->sd);
}

/* Started far away (x0 = 3), after T = 10 (e^{-17} of the start left) the
 * particles follow N(0, sigma^2 / (2 theta)): a KS test (1 check) and the
 * variance (1 Gaussian check). */
Test(ou, reaches_stationary_law)
{
    enum { n = 100000, steps = 1000 };
    fmd_ou_params op = {1.7, 0.9};
    fmd_sde sde = fmd_ou_sde(&op, 1);
    double *x = malloc(sizeof(double) * n), ts[steps + 1];
    fmd_time_grid(0.0, 10.0, steps, ts);
    for (int i = 0; i < n; i++)
        x[i] = 3.0;
    fmd_sde_workspace *ws;
    cr_assert_eq(fmd_sde_workspace_alloc(fmd_sde_heun, n, 1, &ws), FMD_OK);
    cr_assert_eq(fmd_sde_solve_grid(ws, &sde, ts, steps + 1, x, 78, NULL), FMD_OK);
    fmd_sde_workspace_free(ws);
    double v_inf = fmd_ou_stationary_variance(&op);
    double m, se, v = 0.0;
    fmd_mean_se(n, x, 1, &m, &se);
    for (int i = 0; i < n; i++)
        v += (x[i] - m) * (x[i] - m);
    v /= n - 1;
    double v_se = sqrt(2.0 / (n - 1)) * v_inf;
    cr_expect(fabs(v - v_inf) <= Z_CHECK * v_se + 1e-4,
              "stationary variance %.5f, exact sigma^2/(2 theta) = %.5f, SE %.5f (+1e-4 Heun bias at h = 0.01)",
              v, v_inf, v_se);
    normal_cdf_params np = {sqrt(v_inf)};
    double D = fmd_ks_distance(n, x, normal_cdf, &np);
    cr_expect(D <= ks_threshold(n), "KS distance to N(0, %.4f) is %.5f > %.5f", v_inf, D, ks_threshold(n));
    cr_log_info("OU stationary: variance %.5f (exact %.5f), KS %.5f (threshold %.5f)", v, v_inf, D, ks_threshold(n));
    free(x);
}

/* ---- reproducibility ------------------------------------------------------- */

Test(threads, sde_same_seed_same_bits_any_thread_count)
{
    enum { n = 1000, steps = 50 };   /* 4 blocks of 256: two threads share them */
    fmd_ou_params op = {1.7, 0.9};
    fmd_sde sde = fmd_ou_sde(&op, 2);
    static double a[2 * n], b[2 * n], c[2 * n];
    double ts[steps + 1];
    fmd_time_grid(0.0, 1.0, steps, ts);
    for (int i = 0; i < 2 * n; i++)
        a[i] = b[i] = c[i] = 0.5;
    fmd_sde_workspace *ws;
    for (int s = 0; fmd_sde_steppers[s]; s++) {
        cr_assert_eq(fmd_sde_workspace_alloc(fmd_sde_steppers[s], n, 2, &ws), FMD_OK);
        ws->threads = 1;
        fmd_sde_solve_grid(ws, &sde, ts, steps + 1, a, 5, NULL);
        ws->threads = 2;
        fmd_sde_solve_grid(ws, &sde, ts, steps + 1, b, 5, NULL);
        fmd_sde_solve_grid(ws, &sde, ts, steps + 1, c, 6, NULL);
        fmd_sde_workspace_free(ws);
        cr_expect(memcmp(a, b, sizeof a) == 0, "%s: seed 5 with 1 and 2 threads differ", fmd_sde_steppers[s]->name);
        cr_expect(memcmp(a, c, sizeof a) != 0, "%s: seeds 5 and 6 give the same paths", fmd_sde_steppers[s]->name);
    }
    double *x1 = malloc(sizeof(double) * 2 * n), *x2 = malloc(sizeof(double) * 2 * n);
    fmd_linear_params lp = {0.8};
    fmd_field u = {fmd_linear_field, 2, &lp};
    cr_assert_eq(fmd_sample_flow(&u, 9, n, 20, 1, x1), FMD_OK);
    cr_assert_eq(fmd_sample_flow(&u, 9, n, 20, 2, x2), FMD_OK);
    cr_expect(memcmp(x1, x2, sizeof(double) * 2 * n) == 0, "Algorithm 1: 1 and 2 threads differ");
    free(x1);
    free(x2);
}

/* ---- Algorithms 1 and 2 ------------------------------------------------------ */

/* Algorithm 1 with u = -theta x is X_1 = (1 - theta h)^N X_0 exactly, with
 * X_0 the draw of fmd_sample_init under the same seed; and X_0 ~ N(0, I):
 * 1 KS check on the first coordinate. */
Test(algorithms, flow_sampler_is_euler_from_p_init)
{
    enum { n = 50000, steps = 25 };
    fmd_linear_params lp = {0.8};
    fmd_field u = {fmd_linear_field, 2, &lp};
    double *x0 = malloc(sizeof(double) * 2 * n), *x1 = malloc(sizeof(double) * 2 * n);
    cr_assert_eq(fmd_sample_init(42, n, 2, x0), FMD_OK);
    cr_assert_eq(fmd_sample_flow(&u, 42, n, steps, 1, x1), FMD_OK);
    double gain = pow(1.0 - lp.theta / steps, steps);
    for (int i = 0; i < 2 * n; i++)
        cr_assert(fabs(x1[i] - gain * x0[i]) <= 1e-14 * fabs(x0[i]) + 1e-300,
                  "particle %d: %.17g vs (1 - theta h)^N x0 = %.17g", i / 2, x1[i], gain * x0[i]);
    double *first = malloc(sizeof(double) * n);
    for (int i = 0; i < n; i++)
        first[i] = x0[2 * i];
    normal_cdf_params np = {1.0};
    double D = fmd_ks_distance(n, first, normal_cdf, &np);
    cr_expect(D <= ks_threshold(n), "X_0 is not N(0, 1): KS %.5f > %.5f", D, ks_threshold(n));
    free(x0);
    free(x1);
    free(first);
}

static double sigma_const(double t, void *p)
{
    (void)t;
    return *(double *)p;
}

/* Algorithm 2 with u = -theta x and constant sigma: Euler-Maruyama gives
 * Var X_{k+1} = (1 - theta h)^2 Var X_k + sigma^2 h from Var X_0 = 1, and
 * mean 0. 2 Gaussian checks (mean, variance) per coordinate = 4. */
Test(algorithms, diffusion_sampler_is_euler_maruyama_from_p_init)
{
    enum { n = 50000, steps = 40 };
    double sigma = 1.3;
    fmd_linear_params lp = {0.8};
    fmd_field u = {fmd_linear_field, 2, &lp};
    fmd_sigma_schedule sig = {sigma_const, &sigma};
    double *x = malloc(sizeof(double) * 2 * n);
    cr_assert_eq(fmd_sample_diffusion(&u, &sig, 43, n, steps, 2, x), FMD_OK);
    double h = 1.0 / steps, v_exact = 1.0;
    for (int k = 0; k < steps; k++)
        v_exact = (1.0 - lp.theta * h) * (1.0 - lp.theta * h) * v_exact + sigma * sigma * h;
    for (int c = 0; c < 2; c++) {
        double m, se, v = 0.0;
        fmd_mean_se(n, x + c, 2, &m, &se);
        for (int i = 0; i < n; i++)
            v += (x[2 * i + c] - m) * (x[2 * i + c] - m);
        v /= n - 1;
        double v_se = sqrt(2.0 / (n - 1)) * v_exact;
        cr_expect(fabs(m) <= Z_CHECK * sqrt(v_exact / n), "dim %d: mean %.5f, exact 0", c, m);
        cr_expect(fabs(v - v_exact) <= Z_CHECK * v_se, "dim %d: variance %.5f, exact %.5f, SE %.5f", c, v, v_exact, v_se);
    }
    free(x);
}
