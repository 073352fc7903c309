/* test_ode.c -- chapter 2: the ODE steppers and drivers against closed forms.
 *
 * Deterministic checks (no Monte Carlo): tolerances come from truncation
 * orders and floating-point rounding, stated beside each assertion. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fmd.h"
#include "budget.h"

/* Two particles in d = 2, chosen without symmetry. */
static const double ref_x0[4] = {0.83, -1.29, 1.7, 0.41};

/* Integrate a reference problem over [0, T] with `steps` uniform steps; the
 * largest relative error over the components. */
static double grid_error(const fmd_ode_stepper_type *type, const fmd_ref_problem *p, double T,
                         size_t steps)
{
    double x[4], exact[4], ts[steps + 1];
    memcpy(x, ref_x0, sizeof x);
    fmd_ode_workspace *ws;
    cr_assert_eq(fmd_ode_workspace_alloc(type, 2, 2, &ws), FMD_OK);
    cr_assert_eq(fmd_time_grid(0.0, T, steps, ts), FMD_OK);
    cr_assert_eq(fmd_ode_solve_grid(ws, &p->u, ts, steps + 1, x, NULL), FMD_OK);
    fmd_ode_workspace_free(ws);
    p->exact(T, 2, ref_x0, exact);
    double err = 0.0;
    for (int i = 0; i < 4; i++)
        err = fmax(err, fabs(x[i] - exact[i]) / fabs(exact[i]));
    return err;
}

/* ---- empirical order ---------------------------------------------------- */

/* Criterion re-executes the test binary (PIE), so a parameter must hold no
 * pointers: the stepper is named by an inline string.
 *
 * A fitted order is only the order in the asymptotic range: h small enough
 * that the next term of the error expansion is negligible, and large enough
 * that the error stays well above rounding (~1e-15 relative, growing like
 * sqrt(steps)). The range (n0 .. 32 n0 steps) and the horizon T were chosen
 * per case to sit there; the hard one is dopri5 on Example 4, whose
 * stability polynomial differs from e^z by 2.78e-4 z^6 (1 - 0.71 z): the
 * correction fades only for z = theta h < 0.02, where a horizon of 1.5 leaves
 * errors at rounding level -- so that case integrates to T = 20, which makes
 * the relative error (proportional to theta T) 13x larger. */
typedef struct {
    char stepper[16];
    int problem;
    double T;    /* horizon; 0 = the problem's own */
    size_t n0;   /* coarsest step count */
} order_case;

ParameterizedTestParameters(ode, fitted_order_matches_theory)
{
    static order_case cases[] = {
        {"euler", 0, 0, 64},    {"euler", 1, 0, 128},   {"euler", 2, 0, 128},
        {"midpoint", 0, 0, 64}, {"midpoint", 1, 0, 32}, {"midpoint", 2, 0, 64},
        {"heun", 0, 0, 64},     {"heun", 1, 0, 32},     {"heun", 2, 0, 64},
        {"rk4", 0, 0, 8},       {"rk4", 1, 0, 32},      {"rk4", 2, 0, 4},
        {"dopri5", 0, 20, 128}, {"dopri5", 1, 0, 16},   {"dopri5", 2, 0, 4},
    };
    return cr_make_param_array(order_case, cases, sizeof cases / sizeof cases[0]);
}

/* Least squares of log(error) on log(h) over 6 step sizes (5 halvings): the
 * slope is the empirical order; it must be within 0.1 of the theoretical one. */
ParameterizedTest(order_case *c, ode, fitted_order_matches_theory)
{
    const fmd_ode_stepper_type *type = fmd_ode_stepper_by_name(c->stepper);
    const fmd_ref_problem *p = &fmd_ref_problems[c->problem];
    cr_assert_not_null(type);
    double T = c->T > 0 ? c->T : p->T;
    enum { M = 6 };
    double logh[M], loge[M];
    for (int j = 0; j < M; j++) {
        size_t steps = c->n0 << j;
        logh[j] = log(T / (double)steps);
        loge[j] = log(grid_error(type, p, T, steps));
    }
    double slope = fmd_fit_slope(M, logh, loge, NULL, NULL);
    cr_log_info("%s on %s over [0, %g]: fitted order %.4f (theory %d), relative error %.3e at %zu steps .. %.3e at %zu",
                type->name, p->name, T, slope, type->order, exp(loge[0]), c->n0, exp(loge[M - 1]),
                c->n0 << (M - 1));
    cr_expect(fabs(slope - type->order) <= 0.1,
              "%s on %s: fitted order %.4f, expected %d +- 0.1 (errors %.3e .. %.3e)", type->name,
              p->name, slope, type->order, exp(loge[0]), exp(loge[M - 1]));
}

/* ---- quadrature exactness ------------------------------------------------ */

/* x' = t^k, x(0) = 0.3 has x(t) = 0.3 + t^(k+1)/(k+1); an order-p method's
 * weights integrate t^k exactly for k < p, so over 7 steps of [0, 1.3] the
 * only error is rounding: a few ulp of |x| ~ 1, bounded by 1e-13. */
Test(ode, integrates_monomials_exactly_below_order)
{
    for (size_t s = 0; fmd_ode_steppers[s]; s++) {
        const fmd_ode_stepper_type *T = fmd_ode_steppers[s];
        for (int k = 0; k < T->order; k++) {
            fmd_monomial_params mp = {k};
            fmd_field u = {fmd_monomial_field, 1, &mp};
            double x = 0.3, ts[8];
            fmd_ode_workspace *ws;
            cr_assert_eq(fmd_ode_workspace_alloc(T, 1, 1, &ws), FMD_OK);
            fmd_time_grid(0.0, 1.3, 7, ts);
            cr_assert_eq(fmd_ode_solve_grid(ws, &u, ts, 8, &x, NULL), FMD_OK);
            fmd_ode_workspace_free(ws);
            double exact = 0.3 + pow(1.3, k + 1) / (k + 1);
            cr_expect(fabs(x - exact) <= 1e-13, "%s, x' = t^%d: got %.17g, exact %.17g, error %.2e > 1e-13",
                      T->name, k, x, exact, fabs(x - exact));
        }
        /* and t^p is NOT integrated exactly: the test can tell orders apart */
        fmd_monomial_params mp = {T->order};
        fmd_field u = {fmd_monomial_field, 1, &mp};
        double x = 0.3, ts[8];
        fmd_ode_workspace *ws;
        cr_assert_eq(fmd_ode_workspace_alloc(T, 1, 1, &ws), FMD_OK);
        fmd_time_grid(0.0, 1.3, 7, ts);
        fmd_ode_solve_grid(ws, &u, ts, 8, &x, NULL);
        fmd_ode_workspace_free(ws);
        double exact = 0.3 + pow(1.3, T->order + 1) / (T->order + 1);
        cr_expect(fabs(x - exact) > 1e-10, "%s integrates t^%d exactly: its order is above %d?",
                  T->name, T->order, T->order);
    }
}

/* ---- adaptive Dormand-Prince ---------------------------------------------- */

/* With rtol = atol = tol, each particle's final error must be within its
 * tolerance scale atol + rtol |x|; local error control does not bound the
 * global error in theory, so we allow a factor 10 for accumulation -- and
 * require that tightening tol from 1e-4 to 1e-10 shrinks the error by at
 * least 1e3 (the driver really controls the error; a fifth-order method
 * driven by its local error gives a global error near tol). */
Test(ode, dopri5_meets_its_tolerance)
{
    const double tols[] = {1e-4, 1e-7, 1e-10};
    for (int pi = 0; pi < 3; pi++) {
        const fmd_ref_problem *p = &fmd_ref_problems[pi];
        double first_err = 0.0;
        for (int ti = 0; ti < 3; ti++) {
            double x[4], exact[4];
            memcpy(x, ref_x0, sizeof x);
            fmd_ode_workspace *ws;
            cr_assert_eq(fmd_ode_workspace_alloc(fmd_ode_dopri5, 2, 2, &ws), FMD_OK);
            fmd_ode_control ctl = {{tols[ti], tols[ti]}, 0.0, 0.0, 0};
            cr_assert_eq(fmd_ode_solve_adaptive(ws, &p->u, 0.0, p->T, x, &ctl), FMD_OK);
            p->exact(p->T, 2, ref_x0, exact);
            double worst = 0.0, err = 0.0;
            for (int i = 0; i < 4; i++) {
                double e = fabs(x[i] - exact[i]);
                err = fmax(err, e);
                worst = fmax(worst, e / (tols[ti] * (1.0 + fabs(exact[i]))));
            }
            cr_log_info("dopri5 on %s, tol %.0e: error %.3e, error/scale %.3f, %lu accepted, %lu rejected, NFE %lu",
                        p->name, tols[ti], err, worst, ws->accepted, ws->rejected, ws->nfe);
            cr_expect(worst <= 10.0, "dopri5 on %s at tol %.0e: error %.3e is %.2f x the tolerance scale (limit 10)",
                      p->name, tols[ti], err, worst);
            if (ti == 0)
                first_err = err;
            if (ti == 2)
                cr_expect(err <= first_err / 1e3 || err < 1e-13,
                          "dopri5 on %s: tol 1e-10 gave error %.3e, not 1e3 x below tol 1e-4's %.3e",
                          p->name, err, first_err);
            fmd_ode_workspace_free(ws);
        }
    }
}

/* A step far too large for the tolerance is rejected; (t, x) keep every bit. */
Test(ode, rejected_step_leaves_state_untouched)
{
    const fmd_ref_problem *p = &fmd_ref_problems[1];
    double x[4], before[4];
    memcpy(x, ref_x0, sizeof x);
    memcpy(before, x, sizeof x);
    double t = 0.25, h = 0.9, t_end = 2.0;
    fmd_ode_tol tol = {1e-12, 1e-12};
    fmd_ode_workspace *ws;
    cr_assert_eq(fmd_ode_workspace_alloc(fmd_ode_dopri5, 2, 2, &ws), FMD_OK);
    int accepted = -1;
    cr_assert_eq(fmd_ode_adaptive_step(ws, &p->u, &t, x, &h, t_end, &tol, &accepted), FMD_OK);
    cr_expect_eq(accepted, 0, "a step of 0.9 at tol 1e-12 was accepted");
    cr_expect(t == 0.25, "t moved to %.17g on a rejected step", t);
    cr_expect(memcmp(x, before, sizeof x) == 0, "x changed on a rejected step");
    cr_expect(h < 0.9 && h >= 0.9 * 0.2, "next step %.3g should shrink by at most 5x", h);
    /* the retry with the FSAL stage kept is the same as a fresh attempt */
    double x2[4], t2 = 0.25, hh = h;
    memcpy(x2, before, sizeof x2);
    fmd_ode_workspace *fresh;
    cr_assert_eq(fmd_ode_workspace_alloc(fmd_ode_dopri5, 2, 2, &fresh), FMD_OK);
    int acc1, acc2;
    double h1 = h;
    fmd_ode_adaptive_step(ws, &p->u, &t, x, &h1, t_end, &tol, &acc1);
    fmd_ode_adaptive_step(fresh, &p->u, &t2, x2, &hh, t_end, &tol, &acc2);
    cr_expect(acc1 == acc2 && t == t2 && memcmp(x, x2, sizeof x) == 0,
              "retry after rejection differs from a fresh step");
    fmd_ode_workspace_free(ws);
    fmd_ode_workspace_free(fresh);
}

/* u = x^2 from x = 1 blows up at t = 1: integrating to t = 2 the step size
 * must collapse and the driver return FMD_ESTEP (or FMD_EMAXSTEP), not loop. */
static int square_field(double t, size_t n, size_t d, const double *x, double *out, void *p)
{
    (void)t, (void)p;
    for (size_t i = 0; i < n * d; i++)
        out[i] = x[i] * x[i];
    return FMD_OK;
}

static int nan_field(double t, size_t n, size_t d, const double *x, double *out, void *p)
{
    (void)t, (void)x, (void)p;
    for (size_t i = 0; i < n * d; i++)
        out[i] = NAN;
    return FMD_OK;
}

Test(ode, underflowing_step_returns_error)
{
    fmd_field fields[2] = {{square_field, 1, NULL}, {nan_field, 1, NULL}};
    for (int f = 0; f < 2; f++) {
        double x = 1.0;
        fmd_ode_workspace *ws;
        cr_assert_eq(fmd_ode_workspace_alloc(fmd_ode_dopri5, 1, 1, &ws), FMD_OK);
        fmd_ode_control ctl = {{1e-8, 1e-8}, 0.0, 0.0, 100000};
        int status = fmd_ode_solve_adaptive(ws, &fields[f], 0.0, 2.0, &x, &ctl);
        cr_expect_eq(status, FMD_ESTEP, "%s: status %d (%s), expected FMD_ESTEP after %lu attempts",
                     f ? "NaN field" : "x' = x^2", status, fmd_strerror(status),
                     ws->accepted + ws->rejected);
        cr_expect(ws->accepted + ws->rejected < 100000, "the driver used every allowed step");
        fmd_ode_workspace_free(ws);
    }
    /* a step budget too small returns FMD_EMAXSTEP */
    double x[4];
    memcpy(x, ref_x0, sizeof x);
    fmd_ode_workspace *ws;
    cr_assert_eq(fmd_ode_workspace_alloc(fmd_ode_dopri5, 2, 2, &ws), FMD_OK);
    fmd_ode_control ctl = {{1e-12, 1e-12}, 0.0, 0.0, 5};
    cr_expect_eq(fmd_ode_solve_adaptive(ws, &fmd_ref_problems[1].u, 0.0, 1.0, x, &ctl), FMD_EMAXSTEP);
    fmd_ode_workspace_free(ws);
}

/* ---- invertibility (Theorem 3: psi_t is a diffeomorphism) ------------------ */

/* Forward 0 -> T then backward T -> 0 on the same grid returns x0. For a
 * method of order p the round trip errs by O(h^p) (the backward pass is a
 * different method, not the exact inverse): with 512 steps this is < 1e-9
 * for p >= 4, and we check the ratio error/h^p stays bounded for p < 4. */
Test(ode, forward_then_backward_returns_x0)
{
    for (size_t s = 0; fmd_ode_steppers[s]; s++) {
        const fmd_ode_stepper_type *T = fmd_ode_steppers[s];
        for (int pi = 0; pi < 3; pi++) {
            const fmd_ref_problem *p = &fmd_ref_problems[pi];
            enum { N = 512 };
            double ts[N + 1], back[N + 1], x[4];
            fmd_time_grid(0.0, p->T, N, ts);
            for (int k = 0; k <= N; k++)
                back[k] = ts[N - k];
            memcpy(x, ref_x0, sizeof x);
            fmd_ode_workspace *ws;
            cr_assert_eq(fmd_ode_workspace_alloc(T, 2, 2, &ws), FMD_OK);
            cr_assert_eq(fmd_ode_solve_grid(ws, &p->u, ts, N + 1, x, NULL), FMD_OK);
            cr_assert_eq(fmd_ode_solve_grid(ws, &p->u, back, N + 1, x, NULL), FMD_OK);
            fmd_ode_workspace_free(ws);
            double err = 0.0;
            for (int i = 0; i < 4; i++)
                err = fmax(err, fabs(x[i] - ref_x0[i]));
            double h = p->T / N, bound = 50.0 * pow(h, T->order) + 1e-13;
            cr_expect(err <= bound, "%s on %s: round trip error %.3e > %.3e = 50 h^%d",
                      T->name, p->name, err, bound, T->order);
        }
    }
    /* and the adaptive driver, both directions, at tol 1e-11 */
    for (int pi = 0; pi < 3; pi++) {
        const fmd_ref_problem *p = &fmd_ref_problems[pi];
        double x[4];
        memcpy(x, ref_x0, sizeof x);
        fmd_ode_workspace *ws;
        cr_assert_eq(fmd_ode_workspace_alloc(fmd_ode_dopri5, 2, 2, &ws), FMD_OK);
        fmd_ode_control ctl = {{1e-11, 1e-11}, 0.0, 0.0, 0};
        cr_assert_eq(fmd_ode_solve_adaptive(ws, &p->u, 0.0, p->T, x, &ctl), FMD_OK);
        cr_assert_eq(fmd_ode_solve_adaptive(ws, &p->u, p->T, 0.0, x, &ctl), FMD_OK);
        fmd_ode_workspace_free(ws);
        for (int i = 0; i < 4; i++)
            cr_expect(fabs(x[i] - ref_x0[i]) <= 1e-9, "dopri5 round trip on %s: x[%d] = %.15g, x0 = %.15g",
                      p->name, i, x[i], ref_x0[i]);
    }
}

/* ---- NFE accounting, trajectories, threads ----------------------------------- */

Test(ode, counts_field_evaluations)
{
    const fmd_ref_problem *p = &fmd_ref_problems[0];
    for (size_t s = 0; fmd_ode_steppers[s]; s++) {
        const fmd_ode_stepper_type *T = fmd_ode_steppers[s];
        double x[4], ts[11];
        memcpy(x, ref_x0, sizeof x);
        fmd_time_grid(0.0, 1.0, 10, ts);
        fmd_ode_workspace *ws;
        cr_assert_eq(fmd_ode_workspace_alloc(T, 2, 2, &ws), FMD_OK);
        fmd_ode_solve_grid(ws, &p->u, ts, 11, x, NULL);
        /* FSAL: dopri5 evaluates 7 stages on the first step, 6 after */
        unsigned long expect = T->fsal ? 10UL * (T->stages - 1) + 1 : 10UL * T->stages;
        cr_expect_eq(ws->nfe, expect, "%s: NFE %lu for 10 steps, expected %lu", T->name, ws->nfe, expect);
        fmd_ode_workspace_free(ws);
    }
}

Test(ode, records_trajectory)
{
    const fmd_ref_problem *p = &fmd_ref_problems[1];
    enum { N = 64 };
    double x[4], ts[N + 1], path[(N + 1) * 4];
    memcpy(x, ref_x0, sizeof x);
    fmd_time_grid(0.0, p->T, N, ts);
    fmd_ode_workspace *ws;
    cr_assert_eq(fmd_ode_workspace_alloc(fmd_ode_rk4, 2, 2, &ws), FMD_OK);
    cr_assert_eq(fmd_ode_solve_grid(ws, &p->u, ts, N + 1, x, path), FMD_OK);
    fmd_ode_workspace_free(ws);
    cr_expect(memcmp(path, ref_x0, sizeof ref_x0) == 0, "path[0] is not x0");
    cr_expect(memcmp(path + N * 4, x, sizeof x) == 0, "path[N] is not the returned state");
    /* every recorded point lies on the exact trajectory to RK4's global error,
     * about omega^5 T h^4 / 120 = 1.2e-6 here (omega = 2.385, T = 2, h = 1/32) */
    for (int k = 0; k <= N; k++) {
        double exact[4];
        p->exact(ts[k], 2, ref_x0, exact);
        for (int i = 0; i < 4; i++)
            cr_expect(fabs(path[k * 4 + i] - exact[i]) < 1e-5, "path[%d][%d] = %.9g off the exact %.9g",
                      k, i, path[k * 4 + i], exact[i]);
    }
}

Test(threads, ode_same_bits_for_one_and_two_threads)
{
    /* 1000 particles = 4 blocks, so two threads really split the work */
    enum { n = 1000 };
    static double x1[2 * n], x2[2 * n];
    for (int i = 0; i < 2 * n; i++)
        x1[i] = x2[i] = sin(0.37 * i + 0.1);
    const fmd_ode_stepper_type *types[] = {fmd_ode_rk4, fmd_ode_dopri5};
    for (int s = 0; s < 2; s++) {
        fmd_ode_workspace *a, *b;
        cr_assert_eq(fmd_ode_workspace_alloc(types[s], n, 2, &a), FMD_OK);
        cr_assert_eq(fmd_ode_workspace_alloc(types[s], n, 2, &b), FMD_OK);
        a->threads = 1;
        b->threads = 2;
        double ts[33];
        fmd_time_grid(0.0, 1.0, 32, ts);
        fmd_ode_solve_grid(a, &fmd_ref_problems[2].u, ts, 33, x1, NULL);
        fmd_ode_solve_grid(b, &fmd_ref_problems[2].u, ts, 33, x2, NULL);
        fmd_ode_control ctl = {{1e-9, 1e-9}, 0.0, 0.0, 0};
        if (types[s]->e) {
            fmd_ode_solve_adaptive(a, &fmd_ref_problems[1].u, 0.0, 1.0, x1, &ctl);
            fmd_ode_solve_adaptive(b, &fmd_ref_problems[1].u, 0.0, 1.0, x2, &ctl);
        }
        cr_expect(memcmp(x1, x2, sizeof x1) == 0, "%s: 1 and 2 threads differ", types[s]->name);
        fmd_ode_workspace_free(a);
        fmd_ode_workspace_free(b);
    }
}

/* ---- GSL, the outside reference ------------------------------------------ */

/* A field that counts the points it is evaluated at (checks NFE counts). */
typedef struct {
    const fmd_field *inner;
    unsigned long points;
} counting_params;

static int counting_field(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    counting_params *c = params;
    c->points += n;
    return c->inner->eval(t, n, d, x, out, c->inner->params);
}

/* GSL's rk8pd at tol 1e-12 and our dopri5 at 1e-11 agree with the exact flow
 * and with each other, in both of GSL's usage modes; the evaluations GSL's
 * wrapper reports per particle are the field's own count (points evaluated
 * over particles). */
Test(ode, gsl_reference_agrees_with_exact_flow)
{
    const char *names[] = {"rk4", "rkf45", "rkck", "rk8pd"};
    for (int pi = 0; pi < 3; pi++) {
        const fmd_ref_problem *p = &fmd_ref_problems[pi];
        double exact[4];
        p->exact(p->T, 2, ref_x0, exact);
        for (int g = 0; g < 4; g++) {
            for (int mode = 0; mode < 2; mode++) {
                double x[4];
                memcpy(x, ref_x0, sizeof x);
                fmd_gsl_options opt = {fmd_gsl_stepper_by_name(names[g]), (fmd_gsl_mode)mode, 0,
                                       1e-12, 1e-12};
                double nfe = 0;
                counting_params cp = {&p->u, 0};
                fmd_field counted = {counting_field, p->u.d, &cp};
                cr_assert_eq(fmd_gsl_solve(&counted, 2, 0.0, p->T, x, &opt, &nfe), FMD_OK);
                for (int i = 0; i < 4; i++)
                    cr_expect(fabs(x[i] - exact[i]) <= 1e-9 * (1.0 + fabs(exact[i])),
                              "GSL %s (%s) on %s: x[%d] = %.15g, exact %.15g", names[g],
                              mode ? "whole batch" : "per particle", p->name, i, x[i], exact[i]);
                cr_expect(nfe > 0 && nfe == (double)cp.points / 2.0, "GSL %s (%s) on %s: reports %g evaluations a particle, "
                          "the field saw %lu points for 2 particles", names[g], mode ? "whole batch" : "per particle", p->name,
                          nfe, cp.points);
            }
        }
        /* fixed steps: GSL's rk4 estimates its error by step doubling and
         * returns the two-half-step result, so 64 GSL steps are our rk4 with
         * 128 steps -- the same arithmetic, equal to rounding */
        double xg[4], xo[4], ts[129];
        memcpy(xg, ref_x0, sizeof xg);
        memcpy(xo, ref_x0, sizeof xo);
        fmd_gsl_options opt = {gsl_odeiv2_step_rk4, FMD_GSL_WHOLE_BATCH, 64, 0.0, 0.0};
        cr_assert_eq(fmd_gsl_solve(&p->u, 2, 0.0, p->T, xg, &opt, NULL), FMD_OK);
        fmd_ode_workspace *ws;
        fmd_ode_workspace_alloc(fmd_ode_rk4, 2, 2, &ws);
        fmd_time_grid(0.0, p->T, 128, ts);
        fmd_ode_solve_grid(ws, &p->u, ts, 129, xo, NULL);
        fmd_ode_workspace_free(ws);
        for (int i = 0; i < 4; i++)
            cr_expect(fabs(xg[i] - xo[i]) <= 1e-12 * (1.0 + fabs(xo[i])),
                      "rk4 on %s: GSL %.17g vs ours %.17g", p->name, xg[i], xo[i]);
    }
}

/* The step-size controller (src/flows/ode.c): after a step whose error norm is err,
 * the next step is h * clamp(0.9 err^(-1/5), 0.2, 5) -- the exponent
 * 1/(q + 1) for dopri5's embedded order q = 4. On x' = -x from x = 1
 * (rtol = atol = 1e-8) we find by bisection the h0 whose error norm is 0.1,
 * take one adaptive step with it, and compare the step it proposes with
 * h0 * 0.9 * 0.1^(-1/5) = 1.426 h0 (an exponent of 1/4 would give 1.600 h0,
 * 1/6 1.320 h0). The bisection pins err to 1e-9 relative, so h1 is fixed to
 * about 1e-10; tolerance 1e-8 relative. */
Test(ode, controller_uses_the_fifth_root_of_the_error)
{
    fmd_linear_params lp = {1.0};
    fmd_field u = {fmd_linear_field, 1, &lp};
    fmd_ode_tol tol = {1e-8, 1e-8};
    fmd_ode_workspace *ws;
    cr_assert_eq(fmd_ode_workspace_alloc(fmd_ode_dopri5, 1, 1, &ws), FMD_OK);
    double x = 1.0, xn, lo = 1e-6, hi = 1.0, err = 0.0;
    for (int it = 0; it < 200; it++) {   /* bisection on log h: err_norm(h) = 0.1 */
        const double mid = sqrt(lo * hi);
        fmd_ode_reset(ws);
        cr_assert_eq(fmd_ode_step(ws, &u, 0.0, mid, &x, &xn, &tol, &err), FMD_OK);
        if (err < 0.1)
            lo = mid;
        else
            hi = mid;
    }
    const double h0 = sqrt(lo * hi);
    fmd_ode_reset(ws);
    cr_assert_eq(fmd_ode_step(ws, &u, 0.0, h0, &x, &xn, &tol, &err), FMD_OK);
    cr_assert(fabs(err - 0.1) <= 1e-6, "bisection: err_norm %.12g at h0 = %.12g", err, h0);
    fmd_ode_reset(ws);
    double t = 0.0, h = h0;
    int accepted = 0;
    cr_assert_eq(fmd_ode_adaptive_step(ws, &u, &t, &x, &h, 10.0, &tol, &accepted), FMD_OK);
    cr_assert(accepted, "the step with err_norm 0.1 was rejected");
    const double want = h0 * 0.9 * pow(err, -1.0 / 5.0);
    cr_expect(fabs(h - want) <= 1e-8 * want, "next step %.12g, 0.9 err^(-1/5) h0 = %.12g (ratio %.6f)", h, want, h / h0);
    fmd_ode_workspace_free(ws);
}
