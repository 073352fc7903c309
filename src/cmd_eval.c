/* cmd_eval.c -- `fmd eval`: how close a trained flow model is to the truth,
 * measured with chapter 3's exact mixture path. */
#include "cli.h"
#include "fmd.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: fmd eval --model MODEL (--gmm FILE | --data NAME) [-n N] [--steps K] [--seed S]\n"
    "                [--threads N] [--precision f64|f32]\n"
    "\n"
    "Report, each with its standard error, for a flow model (cfm) and the mixture\n"
    "it was trained on:\n"
    "  exact FM loss   E |u_theta(x, t) - u_t(x)|^2, t ~ Unif, x ~ p_t, with the\n"
    "                  exact marginal field u_t of chapter 3 (0 for a perfect model)\n"
    "  sample NLL      -E log p_data(X_1) of N samples (RK4, K steps), next to the\n"
    "                  optimum -E log p_data(Z) of N fresh data points\n"
    "  sliced W1       sliced Wasserstein-1 distance, samples vs fresh data, next to\n"
    "                  fresh data vs more fresh data (the distance's noise floor)\n"
    "With --data NAME (a 2-D toy set, no closed-form density) only the sliced W1.\n"
    "  -n N      samples (default 4000)   --steps K  RK4 steps (default 100)\n"
    "  --seed S  default 0\n"
    "  --threads N     default: the CPUs this process may use (same bits on any number)\n"
    "  --precision P   f64 or f32: compute the network in this precision; default the\n"
    "                  model's own\n";

/* Samples of a flow model by RK4 from X_0 ~ N(0, I): x (N, d). */
static int flow_samples(fmd_mlp *net, uint64_t seed, size_t N, size_t K, int threads, double *x)
{
    const size_t d = net->cfg.d;
    fmd_mlp_eval *ev = NULL;
    double *ts = malloc((K + 1) * sizeof(double));
    fmd_ode_workspace *ws = NULL;
    int status = ts ? fmd_mlp_eval_alloc(net, &ev) : FMD_ENOMEM;
    fmd_field field = {fmd_mlp_eval_field, d, ev};
    if (status == FMD_OK)
        status = fmd_ode_workspace_alloc(fmd_ode_rk4, N, d, &ws);
    if (status == FMD_OK) {
        ws->threads = threads;
        fmd_sample_init(seed, N, d, x);
        fmd_time_grid(0.0, 1.0, K, ts);
        status = fmd_ode_solve_grid(ws, &field, ts, K + 1, x, NULL);
    }
    fmd_ode_workspace_free(ws);
    fmd_mlp_eval_free(ev);
    free(ts);
    return status;
}

/* A toy data set has no density: the sliced W1 to fresh data only. */
static int eval_toy(const char *model, const char *name, size_t N, size_t K, uint64_t seed, int threads,
                    const char *precision, fmd_dtype dtype)
{
    fmd_toy toy;
    if (fmd_toy_by_name(name, &toy) != FMD_OK)
        return fmd_cli_usage_error("eval", "Data sets: moons, circles, checkerboard, spiral.", "unknown data set '%s'", name);
    fmd_mlp *net;
    fmd_run_info info;
    fmd_schedule sch;
    if (fmd_cli_load_model("eval", model, 2, 1, &net, &info, &sch, NULL) != 0)
        return 2;
    if (precision && fmd_cli_convert_model("eval", &net, dtype) != 0) {
        fmd_mlp_free(net);
        return 1;
    }
    double *x = malloc(2 * N * sizeof(double)), *z = malloc(2 * N * sizeof(double)), *z2 = malloc(2 * N * sizeof(double));
    gsl_rng *r;
    fmd_rng_alloc(seed, 0xe7a1ULL, &r);
    double sw = NAN, sw_se = NAN, sw0 = NAN, sw0_se = NAN;
    int rc = (x && z && z2 && flow_samples(net, seed, N, K, threads, x) == FMD_OK) ? 0 : 1;
    if (rc == 0) {
        fmd_toy_sample(&toy, r, N, z, NULL);
        fmd_toy_sample(&toy, r, N, z2, NULL);
        fmd_sliced_wasserstein(N, 2, x, z, 200, r, &sw, &sw_se);
        fmd_sliced_wasserstein(N, 2, z2, z, 200, r, &sw0, &sw0_se);
        printf("model %s (%s, %s, %lu steps) against the toy set %s\n", model, info.objective, info.schedule, info.steps, name);
        printf("%-16s %12s %12s   %s\n", "quantity", "value", "std. error", "reference");
        printf("%-16s %12.6g %12.3g   %.6g +- %.3g data vs data\n", "sliced W1", sw, sw_se, sw0, sw0_se);
    }
    free(x), free(z), free(z2);
    gsl_rng_free(r);
    fmd_mlp_free(net);
    return rc;
}

int fmd_cmd_eval(int argc, char **argv)
{
    const char *hint = "Run 'fmd eval --help' for usage.";
    const char *model = NULL, *gmm_path = NULL, *data_name = NULL, *precision = NULL;
    double n = 4000, steps = 100, seed = 0, threads = fmd_cli_default_threads();
    for (int i = 1; i < argc; i++) {
        const char *v;
        double *num = NULL, lo = 0, hi = 0;
        if (fmd_cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if ((v = fmd_cli_option(argc, argv, &i, "--model"))) model = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--gmm"))) gmm_path = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--data"))) data_name = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "-n"))) num = &n, lo = 10, hi = 1e7;
        else if ((v = fmd_cli_option(argc, argv, &i, "--steps"))) num = &steps, lo = 1, hi = 1e6;
        else if ((v = fmd_cli_option(argc, argv, &i, "--seed"))) num = &seed, lo = 0, hi = 4294967295.0;
        else if ((v = fmd_cli_option(argc, argv, &i, "--threads"))) num = &threads, lo = 1, hi = 64;
        else if ((v = fmd_cli_option(argc, argv, &i, "--precision"))) precision = v;
        else
            return fmd_cli_usage_error("eval", hint, "unknown option '%s'", argv[i]);
        if (num && fmd_cli_number("eval", argv[i], v, lo, hi, num) != 0)
            return 2;
    }
    if (!model || !*model || (!gmm_path || !*gmm_path) == (!data_name || !*data_name))
        return fmd_cli_usage_error("eval", hint, "--model MODEL and one of --gmm FILE or --data NAME are required");
    fmd_dtype dtype = FMD_F64;
    if (precision && fmd_cli_precision("eval", precision, &dtype) != 0)
        return 2;
    const int nthreads = fmd_cli_threads("eval", threads);
    if (data_name)
        return eval_toy(model, data_name, (size_t)n, (size_t)steps, (uint64_t)seed, nthreads, precision, dtype);
    fmd_gmm *g;
    fmd_parse_error perr;
    if (fmd_gmm_load(gmm_path, &g, &perr) != FMD_OK) {
        fprintf(stderr, "fmd eval: error: %s:%ld: %s\n", perr.file, perr.line, perr.reason);
        return 2;
    }
    fmd_mlp *net;
    fmd_run_info info;
    fmd_schedule sch;
    if (fmd_cli_load_model("eval", model, g->d, 1, &net, &info, &sch, NULL) != 0) {
        fmd_gmm_free(g);
        return 2;
    }
    if (precision && fmd_cli_convert_model("eval", &net, dtype) != 0) {
        fmd_gmm_free(g);
        fmd_mlp_free(net);
        return 1;
    }
    const size_t N = (size_t)n, K = (size_t)steps, d = g->d;
    gsl_rng *r;
    fmd_rng_alloc((uint64_t)seed, 0xe7a1ULL, &r);
    int rc = 0;
    /* exact FM loss on a fresh batch */
    fmd_loss_batch b;
    double *u = malloc(N * d * sizeof(double)), fm = NAN, fm_se = NAN;
    fmd_mlp_workspace *ws = NULL;
    if (u && fmd_loss_batch_draw(g, &sch, N, info.t_min, info.t_max, r, &b) == FMD_OK) {
        if (fmd_loss_target(FMD_LOSS_FM, g, &sch, &b, u) == FMD_OK && fmd_mlp_workspace_alloc(net, N, &ws) == FMD_OK)
            fmd_loss_mlp(net, ws, &b, u, &fm, &fm_se, NULL);
        fmd_loss_batch_free(&b);
    }
    /* samples by RK4, their exact NLL, and the data's own */
    double *x = malloc(N * d * sizeof(double)), *z = malloc(N * d * sizeof(double)), *z2 = malloc(N * d * sizeof(double));
    double *lp = malloc(N * sizeof(double));
    double nll = NAN, nll_se = NAN, opt = NAN, opt_se = NAN, sw = NAN, sw_se = NAN, sw0 = NAN, sw0_se = NAN;
    if (!x || !z || !z2 || !lp || flow_samples(net, (uint64_t)seed, N, K, nthreads, x) != FMD_OK) {
        rc = 1;
    } else {
        fmd_gmm_log_density(g, N, x, lp);
        fmd_mean_se(N, lp, 1, &nll, &nll_se);
        nll = -nll;
        fmd_gmm_sample(g, r, N, z, NULL);
        fmd_gmm_sample(g, r, N, z2, NULL);
        fmd_gmm_log_density(g, N, z, lp);
        fmd_mean_se(N, lp, 1, &opt, &opt_se);
        opt = -opt;
        fmd_sliced_wasserstein(N, d, x, z, 200, r, &sw, &sw_se);
        fmd_sliced_wasserstein(N, d, z2, z, 200, r, &sw0, &sw0_se);
    }
    printf("model %s (%s, %s, %lu steps) against %s\n", model, info.objective, info.schedule, info.steps, gmm_path);
    printf("%-16s %12s %12s   %s\n", "quantity", "value", "std. error", "reference");
    printf("%-16s %12.6g %12.3g   0 for the exact field\n", "exact FM loss", fm, fm_se);
    printf("%-16s %12.6g %12.3g   %.6g +- %.3g for p_data itself\n", "sample NLL", nll, nll_se, opt, opt_se);
    printf("%-16s %12.6g %12.3g   %.6g +- %.3g data vs data\n", "sliced W1", sw, sw_se, sw0, sw0_se);
    if (!isfinite(fm) || !isfinite(nll))
        rc = 1;
    free(u), free(x), free(z), free(z2), free(lp);
    fmd_mlp_workspace_free(ws);
    gsl_rng_free(r);
    fmd_gmm_free(g);
    fmd_mlp_free(net);
    return rc;
}
