/* Chapter 2 -- flow and diffusion models.
 *
 * Vector fields, flows and the ODE steppers that approximate them; the
 * existence/uniqueness theorem and what breaks without a Lipschitz field;
 * Brownian motion, SDEs and Euler-Maruyama; the Ornstein-Uhlenbeck process;
 * Algorithms 1 and 2. Each section prints its checks and writes the data of
 * the chapter's figures (figures/ch02_*.gp). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmd.h"

static fmd_report rep;
static int io_failed;

/* figure data under $FMD_DATA, written atomically */
static FILE *data(const char *name, fmd_atomic_file *f, const char *header)
{
    return fmd_data_begin(name, header, f, &io_failed);
}

static void done(fmd_atomic_file *f)
{
    fmd_data_end(f, &io_failed);
}

/* ---- 2.1-2.3: vector fields, flows, Example 4 ------------------------------ */

static void flows(void)
{
    char what[80];
    /* Ex 4: psi_1(x0) = e^{-theta} x0, against RK4 with 64 steps */
    fmd_linear_params lp = {1.37};
    fmd_field u = {fmd_linear_field, 2, &lp};
    double x[2] = {0.83, -1.29}, exact[2], ts[65];
    fmd_ode_workspace *ws;
    fmd_ode_workspace_alloc(fmd_ode_rk4, 1, 2, &ws);
    fmd_time_grid(0.0, 1.0, 64, ts);
    fmd_linear_flow(lp.theta, 1.0, 2, x, exact);
    fmd_ode_solve_grid(ws, &u, ts, 65, x, NULL);
    fmd_ode_workspace_free(ws);
    /* RK4 global error ~ theta^5 h^4 / 120 |x| ~ 1e-9 */
    fmd_report_check(&rep, "Ex 4: psi_1(x0)_1, RK4 h = 1/64", x[0], exact[0], 1e-8);

    /* Ex 4's figure: x(t) = e^{-theta t} x0 for five starts (index 0), and
     * Euler with h = 1/4 and 1/16 from the same starts (indices 1, 2) */
    {
        fmd_atomic_file f;
        FILE *out = data("ch02_linear.tsv", &f, "# t\tx   (blocks: exact, Euler h = 1/4, Euler h = 1/16; one sub-block per start)");
        const double starts[5] = {-2.0, -1.0, 0.5, 1.5, 2.5};
        if (out) {
            for (int s = 0; s < 5; s++) {
                for (int k = 0; k <= 200; k++) {
                    double t = k / 200.0, e;
                    fmd_linear_flow(lp.theta, t, 1, &starts[s], &e);
                    fprintf(out, "%g\t%.6g\n", t, e);
                }
                fprintf(out, "\n");
            }
            const size_t Ns[2] = {4, 16};
            for (int q = 0; q < 2; q++) {
                fprintf(out, "\n");
                fmd_field u1 = {fmd_linear_field, 1, &lp};
                for (int s = 0; s < 5; s++) {
                    double ts1[17], path[17], x1 = starts[s];
                    fmd_ode_workspace *w1;
                    fmd_ode_workspace_alloc(fmd_ode_euler, 1, 1, &w1);
                    fmd_time_grid(0.0, 1.0, Ns[q], ts1);
                    fmd_ode_solve_grid(w1, &u1, ts1, Ns[q] + 1, &x1, path);
                    fmd_ode_workspace_free(w1);
                    for (size_t k = 0; k <= Ns[q]; k++)
                        fprintf(out, "%g\t%.6g\n", ts1[k], path[k]);
                    fprintf(out, "\n");
                }
            }
            done(&f);
        }
    }

    /* the spiral u(x) = -theta x + omega J x: arrows and RK4 trajectories */
    fmd_spiral_params sp = {0.45, 2.0};
    fmd_field spiral = {fmd_spiral_field, 2, &sp};
    fmd_atomic_file f;
    FILE *out = data("ch02_field.tsv", &f, "# x\ty\tu_1\tu_2 (scaled for arrows)");
    if (out) {
        for (double a = -2.0; a <= 2.001; a += 0.25)
            for (double b = -2.0; b <= 2.001; b += 0.25) {
                double p[2] = {a, b}, v[2];
                fmd_spiral_field(0.0, 1, 2, p, v, &sp);
                fprintf(out, "%g\t%g\t%.5g\t%.5g\n", a, b, 0.06 * v[0], 0.06 * v[1]);
            }
        done(&f);
    }
    enum { STARTS = 6, STEPS = 300 };
    double x0[2 * STARTS], path[(STEPS + 1) * 2 * STARTS], tt[STEPS + 1];
    for (int s = 0; s < STARTS; s++) {
        x0[2 * s] = 1.9 * cos(2 * M_PI * s / STARTS);
        x0[2 * s + 1] = 1.9 * sin(2 * M_PI * s / STARTS);
    }
    fmd_ode_workspace_alloc(fmd_ode_rk4, STARTS, 2, &ws);
    fmd_time_grid(0.0, 3.0, STEPS, tt);
    double xs[2 * STARTS];
    memcpy(xs, x0, sizeof xs);
    fmd_ode_solve_grid(ws, &spiral, tt, STEPS + 1, xs, path);
    fmd_ode_workspace_free(ws);
    double ex[2 * STARTS], worst = 0.0;
    fmd_spiral_flow(&sp, 3.0, STARTS, x0, ex);
    for (int i = 0; i < 2 * STARTS; i++)
        worst = fmax(worst, fabs(xs[i] - ex[i]));
    snprintf(what, sizeof what, "spiral: max |psi_3 - exact|, RK4 h = 0.01");
    fmd_report_check(&rep, what, worst, 0.0, 1e-8);
    out = data("ch02_trajectories.tsv", &f, "# t\tx\ty   (one block per start)");
    if (out) {
        for (int s = 0; s < STARTS; s++) {
            for (int k = 0; k <= STEPS; k++)
                fprintf(out, "%g\t%.6g\t%.6g\n", tt[k], path[(size_t)k * 2 * STARTS + 2 * s],
                        path[(size_t)k * 2 * STARTS + 2 * s + 1]);
            fprintf(out, "\n\n");
        }
        done(&f);
    }
}

/* ---- 2.4: Euler, Heun and friends; their empirical orders ------------------ */

static void steppers(void)
{
    /* Euler vs exact on the spiral at several step sizes (figure) */
    fmd_spiral_params sp = {0.45, 2.0};
    fmd_field spiral = {fmd_spiral_field, 2, &sp};
    fmd_atomic_file f;
    FILE *out = data("ch02_euler.tsv", &f, "# t\tx\ty   (blocks: exact, then Euler with 16, 32, 64, 256 steps)");
    const double x0[2] = {1.8, 0.0};
    if (out) {
        for (int k = 0; k <= 400; k++) {
            double e[2];
            fmd_spiral_flow(&sp, 3.0 * k / 400, 1, x0, e);
            fprintf(out, "%g\t%.6g\t%.6g\n", 3.0 * k / 400, e[0], e[1]);
        }
        fprintf(out, "\n\n");
        const size_t Ns[4] = {16, 32, 64, 256};   /* Euler is stable here for h < 0.214 */
        for (int q = 0; q < 4; q++) {
            size_t N = Ns[q];
            double ts[257], path[257 * 2], x[2] = {x0[0], x0[1]};
            fmd_ode_workspace *ws;
            fmd_ode_workspace_alloc(fmd_ode_euler, 1, 2, &ws);
            fmd_time_grid(0.0, 3.0, N, ts);
            fmd_ode_solve_grid(ws, &spiral, ts, N + 1, x, path);
            fmd_ode_workspace_free(ws);
            for (size_t k = 0; k <= N; k++)
                fprintf(out, "%g\t%.6g\t%.6g\n", ts[k], path[2 * k], path[2 * k + 1]);
            fprintf(out, "\n\n");
        }
        done(&f);
    }

    /* fitted orders: least squares of log error on log h over 6 step sizes,
     * ranges as in verify/test_ode.c (asymptotic, above rounding) */
    static const struct { const char *name; int problem; double T; size_t n0; } cases[] = {
        {"euler", 0, 0, 64},    {"euler", 1, 0, 128},   {"euler", 2, 0, 128},
        {"midpoint", 0, 0, 64}, {"midpoint", 1, 0, 32}, {"midpoint", 2, 0, 64},
        {"heun", 0, 0, 64},     {"heun", 1, 0, 32},     {"heun", 2, 0, 64},
        {"rk4", 0, 0, 8},       {"rk4", 1, 0, 32},      {"rk4", 2, 0, 4},
        {"dopri5", 0, 20, 128}, {"dopri5", 1, 0, 16},   {"dopri5", 2, 0, 4},
    };
    const double x0s[4] = {0.83, -1.29, 1.7, 0.41};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const fmd_ode_stepper_type *type = fmd_ode_stepper_by_name(cases[c].name);
        const fmd_ref_problem *p = &fmd_ref_problems[cases[c].problem];
        double T = cases[c].T > 0 ? cases[c].T : p->T, lh[6], le[6];
        for (int j = 0; j < 6; j++) {
            size_t steps = cases[c].n0 << j;
            double err = NAN;
            fmd_ref_error(p, type, T, steps, 2, x0s, &err);
            lh[j] = log(T / (double)steps);
            le[j] = log(err);
        }
        char what[80];
        snprintf(what, sizeof what, "order of %s on %s", type->name, p->name);
        fmd_report_check(&rep, what, fmd_fit_slope(6, lh, le, NULL, NULL), type->order, 0.1);
    }

    /* adaptive Dormand-Prince at tol 1e-8: error and NFE on the rotation */
    const fmd_ref_problem *p = &fmd_ref_problems[1];
    double x[4], exact[4];
    memcpy(x, x0s, sizeof x);
    fmd_ode_workspace *ws;
    fmd_ode_workspace_alloc(fmd_ode_dopri5, 2, 2, &ws);
    fmd_ode_control ctl = {{1e-8, 1e-8}, 0.0, 0.0, 0};
    fmd_ode_solve_adaptive(ws, &p->u, 0.0, p->T, x, &ctl);
    p->exact(p->T, 2, x0s, exact);
    double err = 0.0;
    for (int i = 0; i < 4; i++)
        err = fmax(err, fabs(x[i] - exact[i]));
    char what[80];
    snprintf(what, sizeof what, "dopri5 tol 1e-8 on rotation (NFE %lu)", ws->nfe);
    fmd_report_check(&rep, what, err, 0.0, 10 * 1e-8 * 2.0);
    fmd_ode_workspace_free(ws);
}

/* ---- 2.2: Theorem 3 -- invertibility, and non-uniqueness without Lipschitz -- */

static void uniqueness(void)
{
    /* forward then backward with RK4: psi_t is invertible */
    const fmd_ref_problem *p = &fmd_ref_problems[2];
    double x[4] = {0.83, -1.29, 1.7, 0.41}, ts[513], back[513];
    fmd_time_grid(0.0, p->T, 512, ts);
    for (int k = 0; k <= 512; k++)
        back[k] = ts[512 - k];
    fmd_ode_workspace *ws;
    fmd_ode_workspace_alloc(fmd_ode_rk4, 2, 2, &ws);
    fmd_ode_solve_grid(ws, &p->u, ts, 513, x, NULL);
    fmd_ode_solve_grid(ws, &p->u, back, 513, x, NULL);
    fmd_ode_workspace_free(ws);
    fmd_report_check(&rep, "Thm 3: psi^-1(psi(x0)) - x0, RK4, Riccati", x[1] - (-1.29), 0.0, 1e-9);

    /* u = 2 sqrt|x| from x0 = 0: x = 0 and x = (t - c)^2 are all solutions */
    fmd_field u = {fmd_nonlipschitz_field, 1, NULL};
    enum { N = 1000 };
    double tt[N + 1], path0[N + 1], patheps[N + 1], zero = 0.0, eps = 1e-12;
    fmd_time_grid(0.0, 1.0, N, tt);
    fmd_ode_workspace_alloc(fmd_ode_euler, 1, 1, &ws);
    fmd_ode_solve_grid(ws, &u, tt, N + 1, &zero, path0);
    fmd_ode_solve_grid(ws, &u, tt, N + 1, &eps, patheps);
    fmd_ode_workspace_free(ws);
    fmd_report_check(&rep, "non-Lipschitz: Euler from x0 = 0 at t = 1", zero, 0.0, 0.0);
    fmd_report_check(&rep, "non-Lipschitz: Euler from x0 = 1e-12 at t = 1", eps, 1.0, 0.05);
    fmd_report_note(&rep, "(two starts 1e-12 apart end 1 apart: no Lipschitz constant, no uniqueness)");
    fmd_atomic_file f;
    FILE *out = data("ch02_nonunique.tsv", &f,
                     "# t\tx_0(t)\tx_0.25\tx_0.5\tx_0.75\tzero\teuler_from_0\teuler_from_1e-12");
    if (out) {
        for (int k = 0; k <= N; k += 5)
            fprintf(out, "%g\t%.6g\t%.6g\t%.6g\t%.6g\t0\t%.6g\t%.6g\n", tt[k],
                    fmd_nonlipschitz_solution(0.0, tt[k]), fmd_nonlipschitz_solution(0.25, tt[k]),
                    fmd_nonlipschitz_solution(0.5, tt[k]), fmd_nonlipschitz_solution(0.75, tt[k]),
                    path0[k], patheps[k]);
        done(&f);
    }
}

/* ---- 2.5: Brownian motion --------------------------------------------------- */

static void brownian(void)
{
    enum { n = 20000, nt = 1001, SHOW = 8 };
    double *ts = malloc(sizeof(double) * nt), *W = malloc(sizeof(double) * nt * n);
    double *inc = malloc(sizeof(double) * n);
    fmd_time_grid(0.0, 1.0, nt - 1, ts);
    fmd_brownian_paths(2, n, 1, ts, nt, W);
    const double *W1 = W + (size_t)(nt - 1) * n, *Wh = W + (size_t)(nt / 2) * n;
    double m, se;
    fmd_mean_se(n, W1, 1, &m, &se);
    fmd_report_check(&rep, "E[W_1]", m, 0.0, 6 * sqrt(1.0 / n));
    fmd_report_check(&rep, "Var[W_1] = 1", fmd_sample_variance(n, W1, 1), 1.0, 6 * sqrt(2.0 / (n - 1)));
    for (int i = 0; i < n; i++)
        inc[i] = Wh[i] * (W1[i] - Wh[i]);   /* disjoint increments [0, 1/2], [1/2, 1] */
    fmd_mean_se(n, inc, 1, &m, &se);
    fmd_report_check(&rep, "Cov[W_1/2 - W_0, W_1 - W_1/2] = 0", m, 0.0, 6 * sqrt(0.25 / n));
    fmd_atomic_file f;
    FILE *out = data("ch02_brownian.tsv", &f, "# t\tW^1\t...\tW^8");
    if (out) {
        for (int k = 0; k < nt; k++) {
            fprintf(out, "%g", ts[k]);
            for (int i = 0; i < SHOW; i++)
                fprintf(out, "\t%.5g", W[(size_t)k * n + i]);
            fprintf(out, "\n");
        }
        done(&f);
    }
    free(ts);
    free(W);
    free(inc);
}

/* ---- 2.7-2.8: Euler-Maruyama, the Ornstein-Uhlenbeck process --------------- */

static void ornstein_uhlenbeck(void)
{
    enum { n = 100000, steps = 400, SHOW = 30, BINS = 60 };
    fmd_ou_params op = {1.0, 1.0};
    const double x0 = 3.0, T = 4.0;
    fmd_sde sde = fmd_ou_sde(&op, 1);
    double *x = malloc(sizeof(double) * n), ts[steps + 1];
    double *path = malloc(sizeof(double) * (steps + 1) * n);
    for (int i = 0; i < n; i++)
        x[i] = x0;
    fmd_time_grid(0.0, T, steps, ts);
    fmd_sde_workspace *ws;
    fmd_sde_workspace_alloc(fmd_sde_heun, n, 1, &ws);
    ws->threads = fmd_cpus_available();   /* same bits on any number */
    fmd_sde_solve_grid(ws, &sde, ts, steps + 1, x, 3, path);
    fmd_sde_workspace_free(ws);
    const double tq[3] = {0.5, 1.0, 4.0};
    for (int q = 0; q < 3; q++) {
        const double *xt = path + (size_t)lround(tq[q] / (T / steps)) * n;
        double m, se, v_exact = fmd_ou_variance(&op, tq[q]);
        fmd_mean_se(n, xt, 1, &m, &se);
        char what[80];
        /* tolerance: 6 SE plus Heun's O(h^2) bias (< 1e-4 at h = 0.01) */
        snprintf(what, sizeof what, "OU mean at t = %g", tq[q]);
        fmd_report_check(&rep, what, m, fmd_ou_mean(&op, tq[q], x0), 6 * sqrt(v_exact / n) + 1e-4);
        snprintf(what, sizeof what, "OU variance at t = %g", tq[q]);
        fmd_report_check(&rep, what, fmd_sample_variance(n, xt, 1), v_exact,
                         6 * sqrt(2.0 / (n - 1)) * v_exact + 1e-4);
    }
    fmd_report_check(&rep, "OU stationary variance sigma^2/(2 theta)", fmd_ou_variance(&op, 40.0),
                     fmd_ou_stationary_variance(&op), 1e-15);
    fmd_atomic_file f;
    FILE *out = data("ch02_ou_paths.tsv", &f, "# t\tX^1 ... X^30\tmean\tmean-2sd\tmean+2sd");
    if (out) {
        for (int k = 0; k <= steps; k++) {
            fprintf(out, "%g", ts[k]);
            for (int i = 0; i < SHOW; i++)
                fprintf(out, "\t%.5g", path[(size_t)k * n + i]);
            double m = fmd_ou_mean(&op, ts[k], x0), sd = sqrt(fmd_ou_variance(&op, ts[k]));
            fprintf(out, "\t%.5g\t%.5g\t%.5g\n", m, m - 2 * sd, m + 2 * sd);
        }
        done(&f);
    }
    /* histogram at T against the exact N(0, sigma^2 / (2 theta)) density */
    out = data("ch02_ou_hist.tsv", &f, "# x\tdensity of the samples at T = 4\texact N(mean_T, var_T)");
    if (out) {
        const double lo = -3.5, width = 7.0 / BINS;
        double count[BINS] = {0};
        for (int i = 0; i < n; i++) {
            int b = (int)floor((x[i] - lo) / width);
            if (b >= 0 && b < BINS)
                count[b] += 1.0;
        }
        double m = fmd_ou_mean(&op, T, x0), v = fmd_ou_variance(&op, T);
        for (int b = 0; b < BINS; b++) {
            double c = lo + (b + 0.5) * width;
            fprintf(out, "%.5g\t%.6g\t%.6g\n", c, count[b] / (n * width),
                    exp(-(c - m) * (c - m) / (2 * v)) / sqrt(2 * M_PI * v));
        }
        done(&f);
    }
    free(x);
    free(path);
}

/* ---- Algorithms 1 and 2 ------------------------------------------------------- */

static double sigma_const(double t, void *p)
{
    (void)t;
    return *(const double *)p;
}

static void algorithms(void)
{
    enum { n = 100000, steps = 50 };
    double *x = malloc(sizeof(double) * n);
    fmd_linear_params lp = {0.8};
    fmd_field u = {fmd_linear_field, 1, &lp};
    /* Algorithm 1: X_1 = (1 - theta h)^N X_0, X_0 ~ N(0, 1) */
    fmd_sample_flow(&u, 11, n, steps, 2, x);
    double g = pow(1.0 - lp.theta / steps, steps);
    fmd_report_check(&rep, "Alg 1: Var X_1 = (1 - theta h)^(2N)", fmd_sample_variance(n, x, 1), g * g,
                     6 * sqrt(2.0 / (n - 1)) * g * g);
    /* Algorithm 2 with sigma = 1.3: v <- (1 - theta h)^2 v + sigma^2 h */
    double sigma = 1.3, v = 1.0, h = 1.0 / steps;
    fmd_sigma_schedule sig = {sigma_const, &sigma};
    fmd_sample_diffusion(&u, &sig, 12, n, steps, 2, x);
    for (int k = 0; k < steps; k++)
        v = (1 - lp.theta * h) * (1 - lp.theta * h) * v + sigma * sigma * h;
    fmd_report_check(&rep, "Alg 2: Var X_1 (Euler-Maruyama recursion)", fmd_sample_variance(n, x, 1), v,
                     6 * sqrt(2.0 / (n - 1)) * v);
    free(x);
}

int main(int argc, char **argv)
{
    int full;   /* this chapter has no long runs: make tour-full runs it as make tour does */
    if (fmd_chapter_options(argc, argv, "chapter 2", "nothing more here: this chapter has no long runs", &full) != 0)
        return 2;
    fmd_report_begin(&rep, stdout, "Chapter 2: flow and diffusion models");
    if (fmd_report_tsv(&rep, "ch02_checks.tsv") != FMD_OK)
        fprintf(stderr, "could not open the table of checks under %s/\n", fmd_data_dir());
    flows();
    steppers();
    uniqueness();
    brownian();
    ornstein_uhlenbeck();
    algorithms();
    if (io_failed)
        fprintf(stderr, "chapter 2: could not write the figure data under %s/ (set FMD_DATA, or run from the "
                        "repository root)\n", fmd_data_dir());
    return fmd_report_end(&rep) || io_failed;
}
