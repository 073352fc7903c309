/* cmd_eval.c -- `fmd eval`: how close a trained model is to the truth,
 * measured with chapter 3's exact mixture path. */
#include "cli/cli.h"
#include "fmd.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: fmd eval --model MODEL (--gmm FILE | --data NAME) [-n N] [--steps K] [--seed S]\n"
    "                [--threads N] [--precision f64|f32]\n"
    "       fmd eval --gmm FILE --samples POINTS [--starts POINTS --schedule NAME] [--seed S]\n"
    "\n"
    "Report, each with its standard error, for a model and the mixture it was\n"
    "trained on (a score, noise or denoiser model is read as the field Prop 1\n"
    "gives, on the times `fmd sample` uses for it):\n"
    "  exact FM loss   E |u_theta(x, t) - u_t(x)|^2, t ~ Unif, x ~ p_t, with the\n"
    "                  exact marginal field u_t of chapter 3 (0 for a perfect model)\n"
    "  sample NLL      -E log p_data(X_1) of N samples (RK4, K steps), next to the\n"
    "                  optimum -E log p_data(Z) of N fresh data points\n"
    "  sliced W1       sliced Wasserstein-1 distance, samples vs fresh data, next to\n"
    "                  fresh data vs more fresh data (the distance's noise floor)\n"
    "With --data NAME (a 2-D toy set, no closed-form density) only the sliced W1.\n"
    "With --samples POINTS (d numbers a line, from any program: your own sampler,\n"
    "say) instead of a model: the samples' mean exact log p_data and NLL gap to as\n"
    "many exact draws, the sliced W1 to them next to its floor, and for a mixture\n"
    "with classes each class's share of the samples (points whose class\n"
    "posterior exceeds 1/2) next to the exact draws'. --starts POINTS (the noise\n"
    "each sample started from, same order) with --schedule NAME adds the coupled\n"
    "RMS error: each sample against the exact flow's image of its start.\n"
    "\n"
    "  -n N      samples (default 4000)   --steps K  RK4 steps (default 100)\n"
    "  --seed S  default 0\n"
    "  --no-checksum   read a model file without fmd's checksum (written elsewhere in\n"
    "                  fmd's layout, src/cli/README.md in fmd's source)\n"
    "  --threads N     default: the CPUs this process may use (same bits on any number)\n"
    "  --precision P   f64 or f32: compute the network in this precision; default the\n"
    "                  model's own\n";

/* Samples of a model by RK4 on its field (Prop 1 turns a score, noise or
 * denoiser output into one) from X_t0 = beta_t0 eps, eps ~ N(0, I): x (N, d). */
static int model_samples(fmd_mlp *net, const fmd_schedule *sch, fmd_prediction pred, double t0, double t1,
                         uint64_t seed, size_t N, size_t K, int threads, double *x)
{
    const size_t d = net->cfg.d;
    fmd_mlp_eval *ev = NULL;
    double *ts = malloc((K + 1) * sizeof(double));
    fmd_ode_workspace *ws = NULL;
    int status = ts ? fmd_mlp_eval_alloc(net, &ev) : FMD_ENOMEM;
    fmd_field u = {fmd_mlp_eval_field, d, ev};
    fmd_flow_sde_params P = {&u, *sch, 0.0, pred, NULL};
    fmd_field drift = {fmd_flow_sde_drift, d, &P};
    if (status == FMD_OK)
        status = fmd_ode_workspace_alloc(fmd_ode_rk4, N, d, &ws);
    if (status == FMD_OK) {
        ws->threads = threads;
        fmd_sample_init(seed, N, d, x);
        fmd_sched_point s0;
        fmd_schedule_at(sch, t0, &s0);
        for (size_t i = 0; i < N * d; i++)
            x[i] *= s0.beta;
        fmd_time_grid(t0, t1, K, ts);
        status = fmd_ode_solve_grid(ws, &drift, ts, K + 1, x, NULL);
    }
    fmd_ode_workspace_free(ws);
    fmd_mlp_eval_free(ev);
    free(ts);
    return status;
}

/* A toy data set has no density: the sliced W1 to fresh data only. */
static int eval_toy(const char *model, const char *name, size_t N, size_t K, uint64_t seed, int threads,
                    const char *precision, fmd_dtype dtype, int no_checksum)
{
    fmd_toy toy;
    if (fmd_toy_by_name(name, &toy) != FMD_OK)
        return fmd_cli_usage_error("eval", "Data sets: moons, circles, checkerboard, spiral.", "unknown data set '%s'", name);
    fmd_mlp *net;
    fmd_run_info info;
    fmd_schedule sch;
    if (fmd_cli_load_model_unchecked("eval", model, 2, 1, no_checksum, &net, &info, &sch, NULL) != 0)
        return 2;
    if (strncmp(info.data, "toy:", 4) != 0 || strcmp(info.data + 4, name) != 0) {
        fmd_mlp_free(net);
        return fmd_cli_usage_error("eval", "Evaluate a model against the data it was trained on.",
                                   "%s was trained on %s, not on the toy set %s", model, info.data, name);
    }
    if (precision && fmd_cli_convert_model("eval", &net, dtype) != 0) {
        fmd_mlp_free(net);
        return 1;
    }
    double *x = malloc(2 * N * sizeof(double)), *z = malloc(2 * N * sizeof(double)), *z2 = malloc(2 * N * sizeof(double));
    gsl_rng *r;
    fmd_rng_alloc(seed, 0xe7a1ULL, &r);
    double sw = NAN, sw_se = NAN, sw0 = NAN, sw0_se = NAN;
    double t0, t1;
    fmd_model_time_range(FMD_PREDICTS_FIELD, 0, info.t_max, &t0, &t1);
    int rc = 0;
    if (!x || !z || !z2)
        rc = fmd_cli_out_of_memory("eval", "the samples", 6.0 * N * sizeof(double));
    else if (model_samples(net, &sch, FMD_PREDICTS_FIELD, t0, t1, seed, N, K, threads, x) != FMD_OK)
        rc = 1, fprintf(stderr, "fmd eval: error: sampling the model failed\n");
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
    if (rc == 0)
        rc = fmd_cli_output_done("eval", stdout, "standard output");
    return rc;
}

/* `fmd eval --gmm FILE --samples POINTS`: score samples made by any program
 * against the exact mixture (no model needed). With --starts and
 * --schedule, also the coupled error: each sample against the exact flow's
 * image of its own starting noise (Dormand-Prince, tolerance 1e-9). */
static int eval_samples(const char *gmm_path, const char *samples_path, const char *starts_path, const char *sched_name,
                        uint64_t seed, int threads)
{
    fmd_gmm *g;
    fmd_parse_error perr;
    if (fmd_gmm_load(gmm_path, &g, &perr) != FMD_OK)
        return fmd_cli_gmm_error("eval", &perr);
    const size_t d = g->d;
    double *x = NULL, *x0 = NULL;
    size_t n = 0, n0 = 0;
    fmd_schedule sch;   /* the flow of --starts; the class posterior at t = 1 is the same on every schedule */
    fmd_schedule_by_name("condot", &sch);
    if (fmd_cli_read_points_at("eval", samples_path, d, &x, &n, NULL) != 0) {
        fmd_gmm_free(g);
        return 2;
    }
    int rc = 0;
    if (n < 10)
        rc = fmd_cli_usage_error("eval", "Give at least 10 samples.", "%s holds %zu sample%s", samples_path, n,
                                 n == 1 ? "" : "s");
    if (rc == 0 && starts_path) {
        if (fmd_cli_schedule("eval", sched_name, &sch) != 0 ||
            fmd_cli_read_points_at("eval", starts_path, d, &x0, &n0, NULL) != 0)
            rc = 2;
        else if (n0 != n)
            rc = fmd_cli_usage_error("eval", "Give one start a line, in the samples' order.",
                                     "%s holds %zu starts for %zu samples in %s", starts_path, n0, n, samples_path);
    }
    fmd_sample_report R;
    if (rc == 0) {
        const int st = fmd_evaluate_samples(g, n, x, x0, &sch, seed, threads, &R);
        if (st == FMD_ENOMEM)
            rc = fmd_cli_out_of_memory("eval", "the exact draws", (2.0 * d + 1.0) * n * sizeof(double));
        else if (st != FMD_OK) {
            fprintf(stderr, "fmd eval: error: %s failed: %s\n", x0 ? "the exact flow from the starts" : "the evaluation",
                    fmd_strerror(st));
            rc = 1;
        }
    }
    if (rc == 0) {
        printf("samples %s (%zu) against %s (d = %zu)\n", samples_path, n, gmm_path, d);
        printf("%-18s %12s %12s   %s\n", "quantity", "value", "std. error", "reference");
        printf("%-18s %12.6g %12.3g   %.6g +- %.3g for %zu exact draws\n", "mean log p_data", R.mean_logp, R.mean_logp_se,
               R.exact_logp, R.exact_logp_se, n);
        printf("%-18s %12.6g %12.3g   0 for exact samples\n", "NLL gap", R.nll_gap, R.nll_gap_se);
        printf("%-18s %12.6g %12.3g   %.6g +- %.3g exact vs exact (the floor)\n", "sliced W1", R.w1, R.w1_se, R.w1_floor,
               R.w1_floor_se);
        if (x0)
            printf("%-18s %12.6g %12.3g   0 for the exact flow (%s)\n", "coupled RMS error", R.rms, R.rms_se, sched_name);
        for (size_t c = 0; c < R.nclasses; c++) {
            char label[32];
            snprintf(label, sizeof label, "class %d share", R.class_label[c]);
            printf("%-18s %12.6g %12.3g   %.6g +- %.3g for the exact draws\n", label, R.share[c], R.share_se[c],
                   R.exact_share[c], R.exact_share_se[c]);
        }
        rc = fmd_cli_output_done("eval", stdout, "standard output");
    }
    free(x), free(x0);
    fmd_gmm_free(g);
    return rc;
}

int fmd_cmd_eval(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {   /* image models' Fréchet distance (src/cli/cmd_eval_images.c): U-Net files, --classifier */
        const char *v = fmd_cli_option(argc, argv, &i, "--model");
        if ((v && *v && fmd_cli_is_unet_file(v)) || (!v && strncmp(argv[i], "--classifier", 12) == 0))
            return fmd_cmd_eval_images(argc, argv);
    }
    const char *hint = "Run 'fmd eval --help' for usage.";
    const char *model = NULL, *gmm_path = NULL, *data_name = NULL, *precision = NULL;
    const char *samples_path = NULL, *starts_path = NULL, *sched_name = NULL;   /* --samples: anyone's samples */
    double n = 4000, steps = 100, seed = 0, threads = fmd_cli_default_threads();
    int no_checksum = 0, steps_given = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v = NULL;   /* the option as written (i moves past its value) */
        double *num = NULL, lo = 0, hi = 0;
        int whole = 0;   /* a count, an index or a seed: no fractions */
        if (fmd_cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if ((v = fmd_cli_option(argc, argv, &i, "--model"))) model = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--samples"))) samples_path = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--starts"))) starts_path = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--schedule"))) sched_name = v;
        else if (strcmp(argv[i], "--no-checksum") == 0) no_checksum = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--gmm"))) gmm_path = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--data"))) data_name = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "-n"))) num = &n, lo = 10, hi = 1e7, whole = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--steps"))) num = &steps, lo = 1, hi = 1e6, whole = 1, steps_given = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--seed"))) num = &seed, lo = 0, hi = 4294967295.0, whole = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--threads"))) num = &threads, lo = 1, hi = 64, whole = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--precision"))) precision = v;
        else
            return fmd_cli_usage_error("eval", hint, "unknown option '%s'", argv[i]);
        if (v && !*v)
            return fmd_cli_missing_value("eval", hint, arg);
        if (num && fmd_cli_number("eval", arg, v, lo, hi, whole, num) != 0)
            return 2;
    }
    if (samples_path) {   /* anyone's samples against the exact mixture */
        if (model || data_name || !gmm_path || !*gmm_path)
            return fmd_cli_usage_error("eval", hint, "--samples goes with --gmm FILE (and no --model or --data)");
        if (starts_path && !sched_name)
            return fmd_cli_usage_error("eval", "Add --schedule NAME, the path the samples' flow follows.",
                                       "--starts needs --schedule");
        if (sched_name && !starts_path)
            return fmd_cli_usage_error("eval", hint, "--schedule goes with --starts");
        if (steps_given || precision || no_checksum)
            return fmd_cli_usage_error("eval", hint, "--steps, --precision and --no-checksum are for models");
        return eval_samples(gmm_path, samples_path, starts_path, sched_name, (uint64_t)seed,
                            fmd_cli_threads("eval", threads));
    }
    if (starts_path || sched_name)
        return fmd_cli_usage_error("eval", hint, "--starts and --schedule go with --samples");
    if (!model || !*model || (!gmm_path || !*gmm_path) == (!data_name || !*data_name))
        return fmd_cli_usage_error("eval", hint, "--model MODEL and one of --gmm FILE or --data NAME are required");
    fmd_dtype dtype = FMD_F64;
    if (precision && fmd_cli_precision("eval", precision, &dtype) != 0)
        return 2;
    const int nthreads = fmd_cli_threads("eval", threads);
    if (data_name)
        return eval_toy(model, data_name, (size_t)n, (size_t)steps, (uint64_t)seed, nthreads, precision, dtype,
                        no_checksum);
    fmd_gmm *g;
    fmd_parse_error perr;
    if (fmd_gmm_load(gmm_path, &g, &perr) != FMD_OK)
        return fmd_cli_gmm_error("eval", &perr);
    fmd_mlp *net;
    fmd_run_info info;
    fmd_schedule sch;
    fmd_prediction pred;
    if (fmd_cli_load_model_unchecked("eval", model, g->d, 0, no_checksum, &net, &info, &sch, &pred) != 0) {
        fmd_gmm_free(g);
        return 2;
    }
    if (strncmp(info.data, "toy:", 4) == 0) {   /* a toy set has no closed form to score against */
        fmd_gmm_free(g);
        fmd_mlp_free(net);
        return fmd_cli_usage_error("eval", "Evaluate it with --data NAME.", "%s was trained on the toy set %s, not on "
                                   "a mixture", model, info.data + 4);
    }
    if (!fmd_cli_same_file(gmm_path, info.data))
        fprintf(stderr, "fmd eval: note: %s was trained on %s; scoring it against %s\n", model, info.data, gmm_path);
    if (precision && fmd_cli_convert_model("eval", &net, dtype) != 0) {
        fmd_gmm_free(g);
        fmd_mlp_free(net);
        return 1;
    }
    const size_t N = (size_t)n, K = (size_t)steps, d = g->d;
    gsl_rng *r;
    fmd_rng_alloc((uint64_t)seed, 0xe7a1ULL, &r);
    int rc = 0;
    /* exact FM loss on a fresh batch: the model's field (for a score, noise
     * or denoiser model the field Prop 1 gives, on the times it is sampled
     * at) against chapter 3's exact marginal field */
    double t0, t1;
    fmd_model_time_range(pred, net->cfg.output != FMD_OUT_PLAIN, info.t_max, &t0, &t1);
    fmd_loss_batch b;
    double *u = malloc(N * d * sizeof(double)), fm = NAN, fm_se = NAN;
    fmd_mlp_workspace *ws = NULL;
    const double tlo = pred == FMD_PREDICTS_FIELD ? info.t_min : fmax(info.t_min, t0);
    const double thi = pred == FMD_PREDICTS_FIELD ? info.t_max : fmin(info.t_max, t1);
    if (!u)
        rc = fmd_cli_out_of_memory("eval", "the loss batch", (double)N * d * sizeof(double));
    else if (fmd_loss_batch_draw(g, &sch, N, tlo, thi, r, &b) == FMD_OK) {
        if (fmd_loss_target(FMD_LOSS_FM, g, &sch, &b, u) == FMD_OK) {
            if (pred == FMD_PREDICTS_FIELD && net->dims[net->nlayers] == d) {   /* one head */
                if (fmd_mlp_workspace_alloc(net, N, &ws) == FMD_OK)
                    fmd_loss_mlp(net, ws, &b, u, &fm, &fm_se, NULL);
            } else {   /* one point at a time: each has its own t */
                fmd_mlp_eval *ev = NULL;
                double *sq = malloc(N * sizeof(double)), *v = malloc(d * sizeof(double));
                if (sq && v && fmd_mlp_eval_alloc(net, &ev) == FMD_OK) {
                    fmd_field uf = {fmd_mlp_eval_field, d, ev};
                    fmd_flow_sde_params P = {&uf, sch, 0.0, pred, NULL};
                    int ok = 1;
                    for (size_t i = 0; ok && i < N; i++) {
                        ok = fmd_flow_sde_drift(b.t[i], 1, d, b.x + i * d, v, &P) == FMD_OK;
                        sq[i] = 0.0;
                        for (size_t j = 0; j < d; j++)
                            sq[i] += (v[j] - u[i * d + j]) * (v[j] - u[i * d + j]);
                    }
                    if (ok)
                        fmd_mean_se(N, sq, 1, &fm, &fm_se);
                }
                fmd_mlp_eval_free(ev);
                free(sq);
                free(v);
            }
        }
        fmd_loss_batch_free(&b);
    }
    /* samples by RK4, their exact NLL, and the data's own */
    double *x = malloc(N * d * sizeof(double)), *z = malloc(N * d * sizeof(double)), *z2 = malloc(N * d * sizeof(double));
    double *lp = malloc(N * sizeof(double));
    double nll = NAN, nll_se = NAN, opt = NAN, opt_se = NAN, sw = NAN, sw_se = NAN, sw0 = NAN, sw0_se = NAN;
    if (rc == 0 && N * K * d > 20000000)   /* a long run says what it is doing */
        fprintf(stderr, "fmd eval: sampling %zu points (%zu RK4 steps, %d thread%s)...\n", N, K, nthreads,
                nthreads > 1 ? "s" : "");
    if (rc != 0) {
        /* the loss batch already failed */
    } else if (!x || !z || !z2 || !lp) {
        rc = fmd_cli_out_of_memory("eval", "the samples and the data draws", (3.0 * d + 1.0) * N * sizeof(double));
    } else if (model_samples(net, &sch, pred, t0, t1, (uint64_t)seed, N, K, nthreads, x) != FMD_OK) {
        fprintf(stderr, "fmd eval: error: sampling the model failed\n");
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
    if (rc == 0 && (!isfinite(fm) || !isfinite(nll))) {
        fprintf(stderr, "fmd eval: error: a measure is not finite (the model's output is not finite somewhere)\n");
        rc = 1;
    }
    if (rc == 0) {
        if (pred != FMD_PREDICTS_FIELD)
            printf("(a %s model: its field through Prop 1, t in [%g, %g], sampled from beta_t0 eps)\n", info.objective,
                   t0, t1);
        printf("model %s (%s, %s, %lu steps) against %s\n", model, info.objective, info.schedule, info.steps, gmm_path);
        printf("%-16s %12s %12s   %s\n", "quantity", "value", "std. error", "reference");
        printf("%-16s %12.6g %12.3g   0 for the exact field\n", "exact FM loss", fm, fm_se);
        printf("%-16s %12.6g %12.3g   %.6g +- %.3g for p_data itself\n", "sample NLL", nll, nll_se, opt, opt_se);
        printf("%-16s %12.6g %12.3g   %.6g +- %.3g data vs data\n", "sliced W1", sw, sw_se, sw0, sw0_se);
        rc = fmd_cli_output_done("eval", stdout, "standard output");
    }
    free(u), free(x), free(z), free(z2), free(lp);
    fmd_mlp_workspace_free(ws);
    gsl_rng_free(r);
    fmd_gmm_free(g);
    fmd_mlp_free(net);
    return rc;
}
