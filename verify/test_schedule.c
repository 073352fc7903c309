/* test_schedule.c -- chapter 3: every schedule's endpoints, monotonicity and
 * derivatives (Ex 9), and the conditional Gaussian path (Ex 11, 14). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmd.h"

static const char *const names[] = {"condot", "cosine", "lab", "poly:0.5", "poly:2", "poly:3.7", "vp", "ddpm:1000", "ddpm:100"};
#define NSMOOTH 7   /* the first seven: the derivative test's h = 1e-6 suits them (ddpm:N: verify/test_diffusion.c) */
#define NNAMES (sizeof names / sizeof names[0])

Test(schedule, endpoints_and_monotonicity)
{
    for (size_t i = 0; i < NNAMES; i++) {
        fmd_schedule s;
        cr_assert_eq(fmd_schedule_by_name(names[i], &s), FMD_OK, "%s", names[i]);
        fmd_sched_point p0, p1;
        fmd_schedule_at(&s, 0.0, &p0);
        fmd_schedule_at(&s, 1.0, &p1);
        /* alpha_1 = 1 and beta_1 = 0 exactly, for every schedule */
        cr_expect(p1.alpha == 1.0 && p1.beta == 0.0, "%s: (alpha_1, beta_1) = (%.17g, %.17g)", names[i], p1.alpha, p1.beta);
        if (strcmp(names[i], "vp") == 0) {
            /* vp's noise end is only approximate: alpha_0 = exp(-B(1)/2), B(1) = 10.05 */
            cr_expect(fabs(p0.alpha - exp(-5.025)) <= 1e-16 && fabs(p0.beta - sqrt(1 - exp(-10.05))) <= 1e-16,
                      "vp: alpha_0 = %.17g, beta_0 = %.17g", p0.alpha, p0.beta);
        } else if (strncmp(names[i], "ddpm:", 5) == 0) {
            /* so is ddpm:N's: alpha_0^2 = abar_N of the chain (verify/test_diffusion.c checks every level) */
            fmd_ddpm q;
            const double N = atof(names[i] + 5);
            fmd_ddpm_init((size_t)N, 0.1 / N, fmin(20.0 / N, 0.999), &q);
            cr_expect(fabs(p0.alpha * p0.alpha - q.alpha_bar[q.N]) <= 1e-12 * q.alpha_bar[q.N], "%s: alpha_0^2 = %.17g, abar_N = %.17g",
                      names[i], p0.alpha * p0.alpha, q.alpha_bar[q.N]);
            fmd_ddpm_free(&q);
        } else {
            cr_expect(p0.alpha == 0.0 && p0.beta == 1.0, "%s: (alpha_0, beta_0) = (%.17g, %.17g)", names[i], p0.alpha, p0.beta);
        }
        /* alpha increases, beta decreases on a fine grid */
        fmd_sched_point prev = p0, q;
        for (int k = 1; k <= 1000; k++) {
            fmd_schedule_at(&s, k / 1000.0, &q);
            cr_expect(q.alpha > prev.alpha && q.beta < prev.beta, "%s not monotone at t = %.3f", names[i], k / 1000.0);
            prev = q;
        }
        /* beta * beta_dot is finite at both ends (where beta_dot may not be) */
        if (strcmp(names[i], "poly:0.5") != 0)   /* poly:N<1 has alpha_dot_0 = inf by nature */
            cr_expect(isfinite(p0.beta_beta_dot) && isfinite(p1.beta_beta_dot) && isfinite(p1.alpha_dot),
                      "%s: beta beta_dot (%g, %g) or alpha_dot_1 %g not finite", names[i], p0.beta_beta_dot,
                      p1.beta_beta_dot, p1.alpha_dot);
    }
    fmd_schedule s;
    cr_expect_eq(fmd_schedule_by_name("poly:-1", &s), FMD_EINVAL);
    cr_expect_eq(fmd_schedule_by_name("poly:2x", &s), FMD_EINVAL);
    cr_expect_eq(fmd_schedule_by_name("linear", &s), FMD_EINVAL);
    fmd_sched_point p;
    fmd_schedule_by_name("condot", &s);
    cr_expect_eq(fmd_schedule_at(&s, 1.0000001, &p), FMD_EDOM);
    cr_expect_eq(fmd_schedule_at(&s, NAN, &p), FMD_EDOM);
}

/* Derivatives against central differences, h = 1e-6: truncation
 * h^2/6 |f'''| <= 2e-10 (|f'''| < 1.2e3, vp's largest), rounding eps/h =
 * 2e-10; tolerance 1e-8 (1 + |f'|); beta beta_dot against d/dt (beta^2 / 2). */
Test(schedule, derivatives_match_finite_differences)
{
    const double h = 1e-6;
    for (size_t i = 0; i < NSMOOTH; i++) {
        fmd_schedule s;
        fmd_schedule_by_name(names[i], &s);
        for (double t = 0.013; t < 0.99; t += 0.0491) {
            fmd_sched_point a, b, c;
            fmd_schedule_at(&s, t + h, &a);
            fmd_schedule_at(&s, t - h, &b);
            fmd_schedule_at(&s, t, &c);
            double da = (a.alpha - b.alpha) / (2 * h), db = (a.beta - b.beta) / (2 * h);
            cr_expect(fabs(da - c.alpha_dot) <= 1e-8 * (1 + fabs(da)), "%s t = %.4f: alpha_dot %.12g vs FD %.12g",
                      names[i], t, c.alpha_dot, da);
            cr_expect(fabs(db - c.beta_dot) <= 1e-8 * (1 + fabs(db)), "%s t = %.4f: beta_dot %.12g vs FD %.12g",
                      names[i], t, c.beta_dot, db);
            /* beta beta_dot on its own (each schedule computes it in a form that
             * stays finite where beta_dot is not): against d/dt (beta^2 / 2) by
             * the same central difference, not against beta * beta_dot */
            double dbb = (a.beta * a.beta - b.beta * b.beta) / (4 * h);
            cr_expect(fabs(c.beta_beta_dot - dbb) <= 1e-8 * (1 + fabs(dbb)), "%s t = %.4f: beta beta_dot %.12g vs FD %.12g",
                      names[i], t, c.beta_beta_dot, dbb);
        }
    }
}

/* Ex 11: psi_t(x0 | z) = alpha z + beta x0 moves with the conditional field:
 * d/dt psi = u_t(psi | z) (central difference h = 1e-6, tol 1e-7 (1 + |u|));
 * Ex 14: the conditional score is the gradient of log N(x; alpha z, beta^2 I). */
Test(path, conditional_flow_follows_conditional_field)
{
    const double z[3] = {1.3, -0.7, 2.2}, x0[3] = {-0.4, 0.9, 0.15}, h = 1e-6;
    for (size_t i = 0; i < NNAMES; i++) {
        fmd_schedule s;
        fmd_schedule_by_name(names[i], &s);
        for (double t = 0.05; t < 0.95; t += 0.1) {
            fmd_sched_point a, b, c;
            fmd_schedule_at(&s, t + h, &a);
            fmd_schedule_at(&s, t - h, &b);
            fmd_schedule_at(&s, t, &c);
            double pa[3], pb[3], pc[3], u[3], vel[3];
            fmd_path_sample(&a, 1, 3, z, x0, pa);
            fmd_path_sample(&b, 1, 3, z, x0, pb);
            fmd_path_sample(&c, 1, 3, z, x0, pc);
            cr_assert_eq(fmd_path_cond_field(&c, 1, 3, z, pc, u), FMD_OK);
            fmd_path_velocity(&c, 1, 3, z, x0, vel);
            for (int k = 0; k < 3; k++) {
                double fd = (pa[k] - pb[k]) / (2 * h);
                cr_expect(fabs(fd - u[k]) <= 1e-7 * (1 + fabs(u[k])) && fabs(vel[k] - u[k]) <= 1e-12 * (1 + fabs(u[k])),
                          "%s t = %.2f: d/dt psi %.10g, u(psi|z) %.10g, velocity %.10g", names[i], t, fd, u[k], vel[k]);
            }
            /* Ex 14, the whole conditional score: every coordinate against
             * the central difference of log N(x; alpha z, beta^2 I) (a
             * quadratic, so the difference is exact up to rounding) */
            double sc[3];
            fmd_path_cond_score(&c, 1, 3, z, pc, sc);
            for (int j = 0; j < 3; j++) {
                double xp[3], xm[3];
                memcpy(xp, pc, sizeof xp);
                memcpy(xm, pc, sizeof xm);
                xp[j] += 1e-5;
                xm[j] -= 1e-5;
                double lp = 0, lm = 0;
                for (int k = 0; k < 3; k++) {
                    lp += -(xp[k] - c.alpha * z[k]) * (xp[k] - c.alpha * z[k]) / (2 * c.beta * c.beta);
                    lm += -(xm[k] - c.alpha * z[k]) * (xm[k] - c.alpha * z[k]) / (2 * c.beta * c.beta);
                }
                cr_expect(fabs((lp - lm) / 2e-5 - sc[j]) <= 1e-6 * (1 + fabs(sc[j])), "%s t = %.2f: score_%d %.10g vs FD %.10g",
                          names[i], t, j, sc[j], (lp - lm) / 2e-5);
            }
        }
        fmd_sched_point one;
        fmd_schedule_at(&s, 1.0, &one);
        double u[3], sc[3];
        cr_expect_eq(fmd_path_cond_field(&one, 1, 3, z, x0, u), FMD_EDOM, "%s: the field at t = 1 is undefined off z", names[i]);
        cr_expect_eq(fmd_path_cond_score(&one, 1, 3, z, x0, sc), FMD_EDOM);
    }
}
