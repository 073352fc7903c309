/* test_errors.c -- the library never aborts: bad arguments come back as the
 * documented status codes, and GSL's abort-on-error handler is off. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_log.h>

#include "fmd.h"

static fmd_linear_params lp = {0.7};

Test(errors, ode_bad_arguments_return_status)
{
    fmd_field u = {fmd_linear_field, 2, &lp};
    fmd_ode_workspace *ws = (void *)1;
    cr_expect_eq(fmd_ode_workspace_alloc(fmd_ode_rk4, 0, 2, &ws), FMD_EINVAL, "n = 0 accepted");
    cr_expect_null(ws, "a failed alloc must leave *out NULL");
    cr_expect_eq(fmd_ode_workspace_alloc(NULL, 3, 2, &ws), FMD_EINVAL, "NULL type accepted");
    cr_expect_eq(fmd_ode_workspace_alloc(fmd_ode_rk4, 3, 2, NULL), FMD_EINVAL);
    cr_assert_eq(fmd_ode_workspace_alloc(fmd_ode_rk4, 3, 2, &ws), FMD_OK);

    double x[6] = {1, 2, 3, 4, 5, 6}, ts[4] = {0.0, 0.5, 0.5, 1.0};
    cr_expect_eq(fmd_ode_solve_grid(ws, &u, ts, 4, x, NULL), FMD_EGRID, "repeated grid time accepted");
    double zigzag[4] = {0.0, 0.5, 0.2, 1.0};
    cr_expect_eq(fmd_ode_solve_grid(ws, &u, zigzag, 4, x, NULL), FMD_EGRID, "zigzag grid accepted");
    double nan_grid[3] = {0.0, NAN, 1.0};
    cr_expect_eq(fmd_ode_solve_grid(ws, &u, nan_grid, 3, x, NULL), FMD_EGRID, "NaN grid accepted");
    double good[3] = {0.0, 0.5, 1.0};
    cr_expect_eq(fmd_ode_solve_grid(ws, &u, good, 1, x, NULL), FMD_EINVAL, "one grid point accepted");
    cr_expect_eq(fmd_ode_solve_grid(ws, &u, NULL, 3, x, NULL), FMD_EINVAL);
    cr_expect_eq(fmd_ode_solve_grid(ws, NULL, good, 3, x, NULL), FMD_EINVAL);
    fmd_field wrong_d = {fmd_linear_field, 3, &lp};
    cr_expect_eq(fmd_ode_solve_grid(ws, &wrong_d, good, 3, x, NULL), FMD_EINVAL, "dimension mismatch accepted");
    double before[6];
    x[3] = NAN;
    memcpy(before, x, sizeof x);
    cr_expect_eq(fmd_ode_solve_grid(ws, &u, good, 3, x, NULL), FMD_EDOM, "NaN initial state accepted");
    cr_expect(memcmp(before, x, sizeof x) == 0, "a rejected call changed x");
    x[3] = 4.0;
    fmd_ode_control ctl = {{1e-6, 1e-6}, 0, 0, 0};
    fmd_ode_workspace *rk4 = ws;
    cr_expect_eq(fmd_ode_solve_adaptive(rk4, &u, 0, 1, x, &ctl), FMD_EINVAL, "rk4 has no error estimate");
    fmd_ode_workspace_free(ws);

    cr_assert_eq(fmd_ode_workspace_alloc(fmd_ode_dopri5, 3, 2, &ws), FMD_OK);
    fmd_ode_control bad = {{-1e-6, 1e-6}, 0, 0, 0};
    cr_expect_eq(fmd_ode_solve_adaptive(ws, &u, 0, 1, x, &bad), FMD_EINVAL, "negative rtol accepted");
    fmd_ode_control zero = {{0.0, 0.0}, 0, 0, 0};
    cr_expect_eq(fmd_ode_solve_adaptive(ws, &u, 0, 1, x, &zero), FMD_EINVAL, "zero tolerances accepted");
    cr_expect_eq(fmd_ode_solve_adaptive(ws, &u, 0, INFINITY, x, &ctl), FMD_EDOM, "infinite t1 accepted");
    fmd_ode_workspace_free(ws);
    fmd_ode_workspace_free(NULL);   /* freeing NULL is a no-op */
}

static int failing_field(double t, size_t n, size_t d, const double *x, double *out, void *p)
{
    (void)t, (void)n, (void)d, (void)x, (void)out, (void)p;
    return FMD_EDOM;
}

Test(errors, failing_field_is_reported_not_fatal)
{
    fmd_field u = {failing_field, 1, NULL};
    double x = 1.0, ts[3] = {0, 0.5, 1};
    fmd_ode_workspace *ws;
    cr_assert_eq(fmd_ode_workspace_alloc(fmd_ode_heun, 1, 1, &ws), FMD_OK);
    cr_expect_eq(fmd_ode_solve_grid(ws, &u, ts, 3, &x, NULL), FMD_EFIELD);
    fmd_ode_workspace_free(ws);
    /* through GSL: its driver reports GSL_EBADFUNC, we report FMD_EGSL, nobody aborts */
    fmd_gsl_options opt = {gsl_odeiv2_step_rkf45, FMD_GSL_WHOLE_BATCH, 0, 1e-6, 1e-6};
    cr_expect_eq(fmd_gsl_solve(&u, 1, 0.0, 1.0, &x, &opt, NULL), FMD_EGSL);
    opt.type = NULL;
    cr_expect_eq(fmd_gsl_solve(&u, 1, 0.0, 1.0, &x, &opt, NULL), FMD_EINVAL);
}

Test(errors, gsl_handler_is_off)
{
    gsl_rng *r;
    cr_assert_eq(fmd_rng_alloc(1, 0, &r), FMD_OK);   /* any GSL-using entry point switches it off */
    gsl_rng_free(r);
    gsl_sf_result res;
    /* with GSL's default handler this would abort the process */
    int status = gsl_sf_log_e(-1.0, &res);
    cr_expect_eq(status, GSL_EDOM, "gsl_sf_log_e(-1) returned %d", status);
}

Test(errors, sde_and_sampler_bad_arguments_return_status)
{
    fmd_ou_params op = {1.0, 1.0};
    fmd_sde sde = fmd_ou_sde(&op, 1);
    fmd_sde_workspace *ws = (void *)1;
    cr_expect_eq(fmd_sde_workspace_alloc(fmd_sde_em, 0, 1, &ws), FMD_EINVAL);
    cr_expect_null(ws);
    cr_assert_eq(fmd_sde_workspace_alloc(fmd_sde_em, 2, 1, &ws), FMD_OK);
    double x[2] = {0.0, NAN}, ts[3] = {0.0, 1.0, 0.5};
    cr_expect_eq(fmd_sde_solve_grid(ws, &sde, ts, 3, x, 1, NULL), FMD_EGRID);
    double ok_ts[3] = {0.0, 0.5, 1.0};
    cr_expect_eq(fmd_sde_solve_grid(ws, &sde, ok_ts, 3, x, 1, NULL), FMD_EDOM);
    fmd_sde no_diffusion = {sde.drift, NULL, NULL};
    x[1] = 0.0;
    cr_expect_eq(fmd_sde_solve_grid(ws, &no_diffusion, ok_ts, 3, x, 1, NULL), FMD_EINVAL);
    fmd_sde_workspace_free(ws);
    double W[6];
    cr_expect_eq(fmd_brownian_paths(1, 0, 1, ok_ts, 3, W), FMD_EINVAL);
    cr_expect_eq(fmd_brownian_paths(1, 2, 1, ts, 3, W), FMD_EGRID);
    fmd_field u = {fmd_linear_field, 1, &lp};
    cr_expect_eq(fmd_sample_flow(&u, 1, 0, 10, 1, x), FMD_EINVAL);
    cr_expect_eq(fmd_sample_flow(&u, 1, 2, 0, 1, x), FMD_EINVAL);
    cr_expect_eq(fmd_sample_diffusion(&u, NULL, 1, 2, 10, 1, x), FMD_EINVAL);
}

Test(errors, every_status_has_a_message)
{
    for (int s = 0; s < FMD_NSTATUS; s++) {
        const char *m = fmd_strerror(s);
        cr_expect(m && strlen(m) > 5 && strcmp(m, "unknown status code") != 0, "status %d: '%s'", s, m);
    }
    cr_expect_str_eq(fmd_strerror(-7), "unknown status code");
}
