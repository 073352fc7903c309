/* test_examples.c -- the closed forms of chapter 2 are what they claim, and
 * the statistics helpers compute what they say. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "fmd.h"
#include "budget.h"

/* d/dt psi_t(x0) = u_t(psi_t(x0)) for every closed-form flow, by a central
 * difference with step h = 1e-5: truncation h^2/6 |psi'''| = 1.7e-11 |psi'''|
 * (|psi'''| < 2e3 even near the Riccati blow-up), rounding |psi| eps / h
 * < 1e-10; tolerance 1e-7. */
Test(examples, closed_form_flows_solve_their_odes)
{
    fmd_spiral_params sp = {0.6, 2.1};
    fmd_field spiral = {fmd_spiral_field, 2, &sp};
    const double x0[4] = {0.9, -0.3, -1.2, 0.7}, h = 1e-5;
    for (double t = 0.1; t < 2.0; t += 0.37) {
        double a[4], b[4], mid[4], u[4];
        for (int p = 0; p < FMD_NREF + 1; p++) {
            const fmd_field *f = p < FMD_NREF ? &fmd_ref_problems[p].u : &spiral;
            if (p < FMD_NREF && t + h > fmd_ref_problems[p].T)
                continue;   /* the Riccati flow of x0 = -1.29 blows up at t = 1.245 */
            if (p < FMD_NREF) {
                fmd_ref_problems[p].exact(t + h, 2, x0, a);
                fmd_ref_problems[p].exact(t - h, 2, x0, b);
                fmd_ref_problems[p].exact(t, 2, x0, mid);
            } else {
                fmd_spiral_flow(&sp, t + h, 2, x0, a);
                fmd_spiral_flow(&sp, t - h, 2, x0, b);
                fmd_spiral_flow(&sp, t, 2, x0, mid);
            }
            f->eval(t, 2, 2, mid, u, f->params);
            for (int i = 0; i < 4; i++) {
                double fd = (a[i] - b[i]) / (2 * h);
                cr_expect(fabs(fd - u[i]) <= 1e-7, "problem %d, t = %.2f, i = %d: d/dt psi = %.10f, u(psi) = %.10f",
                          p, t, i, fd, u[i]);
            }
        }
    }
}

/* Theorem 3 needs Lipschitz: u(x) = 2 sqrt|x| has, from x(0) = 0, both
 * x = 0 and every x_c(t) = (t - c)^2 (t > c) as solutions. Each satisfies the
 * ODE exactly: d/dt (t - c)^2 = 2 (t - c) = 2 sqrt((t - c)^2). */
Test(examples, nonlipschitz_field_has_two_solutions)
{
    for (double c = 0.0; c <= 0.6; c += 0.2)
        for (double t = 0.05; t < 1.0; t += 0.1) {
            double x = fmd_nonlipschitz_solution(c, t), u, h = 1e-6;
            fmd_nonlipschitz_field(t, 1, 1, &x, &u, NULL);
            double fd = (fmd_nonlipschitz_solution(c, t + h) - fmd_nonlipschitz_solution(c, t - h)) / (2 * h);
            if (fabs(t - c) > 2 * h)
                cr_expect(fabs(fd - u) <= 1e-8, "c = %.1f, t = %.2f: x' = %.10f, u(x) = %.10f", c, t, fd, u);
        }
    /* Euler from exactly 0 follows x = 0; from 1e-12 it leaves along ~t^2 */
    double ts[1001], zero = 0.0, tiny = 1e-12;
    fmd_time_grid(0.0, 1.0, 1000, ts);
    fmd_field u = {fmd_nonlipschitz_field, 1, NULL};
    fmd_ode_workspace *ws;
    cr_assert_eq(fmd_ode_workspace_alloc(fmd_ode_euler, 1, 1, &ws), FMD_OK);
    fmd_ode_solve_grid(ws, &u, ts, 1001, &zero, NULL);
    fmd_ode_solve_grid(ws, &u, ts, 1001, &tiny, NULL);
    fmd_ode_workspace_free(ws);
    cr_expect(zero == 0.0, "from 0 Euler moved to %g", zero);
    /* from eps > 0 the unique solution is (t + sqrt eps)^2 ~ 1 at t = 1. Euler
     * needs ~log2(1/(h^2 eps)) ~ 20 steps to escape the neighbourhood of 0 and
     * lags by that many steps of h = 1e-3: x(1) ~ (1 - 20 h)^2 = 0.96 at worst. */
    cr_expect(tiny >= 0.95 && tiny <= 1.0, "from 1e-12 Euler reached %g, not (1 - O(20 h))^2", tiny);
}

/* The OU formulas against their defining ODEs: m' = -theta m and
 * v' = -2 theta v + sigma^2, by central differences (h = 1e-5, error ~1e-10). */
Test(examples, ou_moments_solve_their_odes)
{
    fmd_ou_params op = {1.7, 0.9};
    const double h = 1e-5;
    for (double t = 0.05; t < 3.0; t += 0.3) {
        double dm = (fmd_ou_mean(&op, t + h, 2.3) - fmd_ou_mean(&op, t - h, 2.3)) / (2 * h);
        double dv = (fmd_ou_variance(&op, t + h) - fmd_ou_variance(&op, t - h)) / (2 * h);
        cr_expect(fabs(dm + op.theta * fmd_ou_mean(&op, t, 2.3)) <= 1e-8, "t = %.2f: mean ODE residual", t);
        cr_expect(fabs(dv + 2 * op.theta * fmd_ou_variance(&op, t) - op.sigma * op.sigma) <= 1e-8,
                  "t = %.2f: variance ODE residual", t);
    }
    cr_expect(fmd_ou_variance(&op, 0.0) == 0.0);
    cr_expect(fabs(fmd_ou_variance(&op, 50.0) - fmd_ou_stationary_variance(&op)) <= 1e-15);
    cr_expect(fabs(fmd_ou_stationary_variance(&op) - 0.81 / 3.4) <= 1e-15);
}

static double uniform_cdf(double x, void *p)
{
    (void)p;
    return x < 0 ? 0 : x > 1 ? 1 : x;
}

Test(stats, helpers_compute_what_they_say)
{
    double x[5] = {0, 1, 2, 3, 4}, y[5], se[5] = {0.1, 0.1, 0.1, 0.1, 0.1}, slope_se;
    for (int i = 0; i < 5; i++)
        y[i] = 2.385 * x[i] - 0.7;
    double s = fmd_fit_slope(5, x, y, se, &slope_se);
    cr_expect(fabs(s - 2.385) <= 1e-14, "slope %.17g", s);
    /* weights (x_i - 2)/10: sqrt(sum w^2) 0.1 = 0.1 / sqrt(10) */
    cr_expect(fabs(slope_se - 0.1 / sqrt(10.0)) <= 1e-15, "slope SE %.17g", slope_se);
    double m, mse, v[4] = {1, 2, 3, 6};
    fmd_mean_se(4, v, 1, &m, &mse);
    cr_expect(m == 3.0 && fabs(mse - sqrt(14.0 / 3.0 / 4.0)) <= 1e-15, "mean %g, SE %g", m, mse);
    /* n points at (i + 1/2)/n: the KS distance to U(0, 1) is exactly 1/(2n) */
    double u[8];
    for (int i = 0; i < 8; i++)
        u[7 - i] = (i + 0.5) / 8;
    cr_expect(fabs(fmd_ks_distance(8, u, uniform_cdf, NULL) - 1.0 / 16) <= 1e-15);
    cr_expect(fabs(fmd_ks_threshold(1000, 2 * exp(-2.0)) - sqrt(1.0 / 1000)) <= 1e-15);
}

/* Shifting a sample by v moves every projection theta.x by theta.v, so the
 * sliced W1 is E|theta.v| = |v| E|cos phi| = 2|v|/pi in the plane exactly
 * for each direction's sorted coupling; L = 4000 directions put the mean
 * within 6 SE of 2|v|/pi. A sample against itself is 0. */
Test(stats, sliced_wasserstein_of_a_shift)
{
    enum { n = 500 };
    static double X[2 * n], Y[2 * n];
    gsl_rng *r;
    fmd_rng_alloc(71, 0, &r);
    fmd_rng_gaussian(r, 2 * n, X);
    const double v[2] = {0.9, -1.7};
    for (int i = 0; i < n; i++)
        Y[2 * i] = X[2 * i] + v[0], Y[2 * i + 1] = X[2 * i + 1] + v[1];
    double m, se;
    cr_assert_eq(fmd_sliced_wasserstein(n, 2, X, Y, 4000, r, &m, &se), FMD_OK);
    double exact = 2.0 * hypot(v[0], v[1]) / M_PI;
    cr_expect(fabs(m - exact) <= 6 * se, "SW1 %.4f vs 2|v|/pi = %.4f (SE %.4f)", m, exact, se);
    cr_assert_eq(fmd_sliced_wasserstein(n, 2, X, X, 50, r, &m, &se), FMD_OK);
    cr_expect(m == 0.0);
    gsl_rng_free(r);
}
