/* cmd_likelihood.c -- `fmd likelihood`: per-point log-likelihoods by the
 * instantaneous change of variables (src/sde_view/likelihood.h), through a trained
 * model or through the exact field of a mixture (where the closed form is
 * printed beside it, so the theorem can be watched holding). */
#include "cli/cli.h"
#include "fmd.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: fmd likelihood --model MODEL [options] [--points FILE]\n"
    "       fmd likelihood --gmm FILE --schedule NAME [options] [--points FILE]\n"
    "\n"
    "Log-likelihood of each point (d numbers a line, from FILE or standard input)\n"
    "by the instantaneous change of variables: integrate dx/dt = u_t(x) and\n"
    "d/dt log p_t(x_t) = -div u_t(x_t) backwards from t1 to 0, then add log p_0.\n"
    "  --model: a flow model (cfm) or a denoiser; p_0 = N(0, I); t1 = 1 for a flow\n"
    "           model, 1 - 1e-3 for a denoiser (whose field is singular at 1).\n"
    "           Prints: log p, bits per dimension (-log2 p / d), standard error.\n"
    "  --gmm:   the exact marginal field of the mixture under --schedule, p_0 its\n"
    "           exact marginal at t = 0. Prints: ODE log p, the closed-form log p_1,\n"
    "           their difference, standard error.\n"
    "\n"
    "  --schedule NAME     with --gmm: condot | cosine | lab | poly:N | vp | ou:T | ve\n"
    "  --solver NAME       dopri5 (adaptive, default) | rk4 | heun | midpoint | euler\n"
    "  --tol T             dopri5's rtol = atol; default 1e-8\n"
    "  --steps K           steps of the fixed-step solvers (dopri5 chooses its own:\n"
    "                      give --tol instead); default 200\n"
    "  --divergence NAME   exact (the mixture's analytic one; for a model: fd) |\n"
    "                      fd (central differences, h = 1e-5 (1 + |x|)) |\n"
    "                      hutchinson (Rademacher probes) | hutchinson-gauss\n"
    "  --probes K          Hutchinson's probes per point; default 16\n"
    "  --seed S            the probes' seed; default 0\n"
    "  --no-checksum   read a model file without fmd's checksum (written elsewhere in\n"
    "                  fmd's layout, src/cli/README.md in fmd's source)\n"
    "  --threads N         threads; default: the CPUs this process may use (same bits\n"
    "                      on any number)\n"
    "  --precision P       f64 or f32: compute a model's network in this precision;\n"
    "                      default the model's own\n";

int fmd_cmd_likelihood(int argc, char **argv)
{
    const char *hint = "Run 'fmd likelihood --help' for usage.";
    const char *model = NULL, *gmm_path = NULL, *sched_name = NULL, *points = NULL, *solver = "dopri5", *divname = NULL;
    const char *precision = NULL;
    double tol = 1e-8, steps = 200, probes = 16, seed = 0, threads = fmd_cli_default_threads();
    int steps_given = 0, tol_given = 0;
    int no_checksum = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v = NULL;   /* the option as written (i moves past its value) */
        double *num = NULL, lo = 0, hi = 0;
        int whole = 0;   /* a count, an index or a seed: no fractions */
        if (fmd_cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if ((v = fmd_cli_option(argc, argv, &i, "--model"))) model = v;
        else if (strcmp(argv[i], "--no-checksum") == 0) no_checksum = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--gmm"))) gmm_path = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--schedule"))) sched_name = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--points"))) points = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--solver"))) solver = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--precision"))) precision = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--divergence"))) divname = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--tol"))) tol_given = 1, num = &tol, lo = 1e-14, hi = 1e-1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--steps"))) steps_given = 1, num = &steps, lo = 1, hi = 1e7, whole = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--probes"))) num = &probes, lo = 1, hi = 4096, whole = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--seed"))) num = &seed, lo = 0, hi = 4294967295.0, whole = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--threads"))) num = &threads, lo = 1, hi = 64, whole = 1;
        else
            return fmd_cli_usage_error("likelihood", hint, "unknown option '%s'", argv[i]);
        if (v && !*v)
            return fmd_cli_missing_value("likelihood", hint, arg);
        if (num && fmd_cli_number("likelihood", arg, v, lo, hi, whole, num) != 0)
            return 2;
    }
    if ((!model || !*model) == (!gmm_path || !*gmm_path))
        return fmd_cli_usage_error("likelihood", hint, "give one of --model MODEL or --gmm FILE");
    if (gmm_path && (!sched_name || !*sched_name))
        return fmd_cli_usage_error("likelihood", hint, "--gmm needs --schedule NAME");
    const fmd_ode_stepper_type *type = fmd_ode_stepper_by_name(solver);
    if (!type)
        return fmd_cli_usage_error("likelihood", "Solvers: dopri5, rk4, heun, midpoint, euler.", "unknown solver '%s'", solver);
    if (type->e && steps_given)   /* an adaptive solver chooses its steps */
        return fmd_cli_usage_error("likelihood", "Give --tol T for dopri5, or a fixed-step --solver with --steps K.",
                                   "--steps has no effect on the adaptive solver '%s'", solver);
    if (!type->e && tol_given)
        return fmd_cli_usage_error("likelihood", "Give --steps K for the fixed-step solver, or --solver dopri5 with --tol.",
                                   "--tol has no effect on the fixed-step solver '%s'", solver);
    fmd_div_method method = gmm_path ? FMD_DIV_EXACT : FMD_DIV_FD;
    if (divname && strcmp(divname, "exact") == 0)
        method = gmm_path ? FMD_DIV_EXACT : FMD_DIV_FD;
    else if (divname && strcmp(divname, "fd") == 0)
        method = FMD_DIV_FD;
    else if (divname && strcmp(divname, "hutchinson") == 0)
        method = FMD_DIV_HUTCHINSON_RADEMACHER;
    else if (divname && strcmp(divname, "hutchinson-gauss") == 0)
        method = FMD_DIV_HUTCHINSON_GAUSSIAN;
    else if (divname)
        return fmd_cli_usage_error("likelihood", "Divergences: exact, fd, hutchinson, hutchinson-gauss.",
                                   "unknown divergence '%s'", divname);
    fmd_dtype dtype = FMD_F64;
    if (precision && fmd_cli_precision("likelihood", precision, &dtype) != 0)
        return 2;
    if (precision && gmm_path)
        return fmd_cli_usage_error("likelihood", hint, "--precision is for a model; a mixture's field is exact float64");
    const int nthreads = fmd_cli_threads("likelihood", threads);
    /* the field, its divergence and p_0 */
    fmd_gmm *g = NULL;
    fmd_mlp *net = NULL;
    fmd_schedule sch;
    fmd_marginal *m0 = NULL, *m1 = NULL;
    fmd_marginal_field_params M;
    fmd_field netf, u;
    fmd_flow_sde_params P;
    double t1 = 1.0;
    size_t d;
    if (gmm_path) {
        if (fmd_cli_schedule("likelihood", sched_name, &sch) != 0)
            return 2;
        fmd_parse_error perr;
        if (fmd_gmm_load(gmm_path, &g, &perr) != FMD_OK) {
            return fmd_cli_gmm_error("likelihood", &perr);
        }
        d = g->d;
        M = (fmd_marginal_field_params){g, &sch, NULL, NULL};
        u = (fmd_field){fmd_marginal_field, d, &M};
        if (fmd_marginal_alloc(g, &m0) != FMD_OK || fmd_marginal_set_time(m0, &sch, 0.0) != FMD_OK ||
            fmd_marginal_alloc(g, &m1) != FMD_OK || fmd_marginal_set_time(m1, &sch, 1.0) != FMD_OK) {
            fprintf(stderr, "fmd likelihood: error: cannot set up the marginal path\n");
            fmd_marginal_free(m0), fmd_marginal_free(m1), fmd_gmm_free(g);
            return 1;
        }
    } else {
        fmd_run_info info;
        fmd_prediction pred;
        if (fmd_cli_load_model_unchecked("likelihood", model, 0, 0, no_checksum, &net, &info, &sch, &pred) != 0)
            return 2;
        if (precision && fmd_cli_convert_model("likelihood", &net, dtype) != 0) {
            fmd_mlp_free(net);
            return 1;
        }
        if (pred != FMD_PREDICTS_FIELD && pred != FMD_PREDICTS_DATA) {
            fprintf(stderr, "fmd likelihood: error: %s is a score model (%s): its field is singular at t = 0, where "
                            "p_0 is needed; use a flow model (cfm) or a denoiser\n", model, info.objective);
            fmd_mlp_free(net);
            return 2;
        }
        d = net->cfg.d;
        netf = (fmd_field){fmd_mlp_field, d, net};
        P = (fmd_flow_sde_params){&netf, sch, 0.0, pred, NULL};
        u = (fmd_field){fmd_flow_sde_drift, d, &P};
        t1 = pred == FMD_PREDICTS_DATA ? fmin(info.t_max, 1.0 - 1e-3) : 1.0;
    }
    double *x = NULL;
    size_t n = 0;
    int rc = fmd_cli_read_points("likelihood", points, d, &x, &n);
    double *lp = n ? malloc(n * sizeof(double)) : NULL, *se = n ? malloc(n * sizeof(double)) : NULL;
    double *exact = n ? malloc(n * sizeof(double)) : NULL;
    if (rc == 0 && n > 0 && (!lp || !se || !exact))
        rc = fmd_cli_out_of_memory("likelihood", "the results", 3.0 * n * sizeof(double));
    if (rc == 0 && n > 0) {
        fmd_likelihood_config cfg = {&u, method, fmd_marginal_divergence, &M, (size_t)probes, nthreads};
        fmd_ode_control ctl = {{tol, tol}, 0, 0, 0};
        int status = fmd_log_likelihood(&cfg, type, type->e ? &ctl : NULL, (size_t)steps, 0.0, t1, n, d, x,
                                        g ? fmd_marginal_log_density : fmd_log_standard_normal, m0, (uint64_t)seed,
                                        lp, se, NULL);
        if (status != FMD_OK) {
            fprintf(stderr, "fmd likelihood: error: the integration failed: %s\n", fmd_strerror(status));
            rc = 1;
        } else if (g) {
            fmd_marginal_log_density(n, d, x, exact, m1);
            printf("# ode_log_p\tclosed_form_log_p\tdifference\tstd_error\n");
            for (size_t i = 0; i < n; i++)
                printf("%.17g\t%.17g\t%.3e\t%.3e\n", lp[i], exact[i], lp[i] - exact[i], se[i]);
        } else {
            printf("# log_p\tbits_per_dim\tstd_error\n");
            for (size_t i = 0; i < n; i++)
                printf("%.17g\t%.10g\t%.3e\n", lp[i], -lp[i] / ((double)d * M_LN2), se[i]);
        }
    }
    if (rc == 0)
        rc = fmd_cli_output_done("likelihood", stdout, "standard output");
    free(x), free(lp), free(se), free(exact);
    fmd_marginal_free(m0);
    fmd_marginal_free(m1);
    fmd_gmm_free(g);
    fmd_mlp_free(net);
    return rc;
}
