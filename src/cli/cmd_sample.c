/* cmd_sample.c -- `fmd sample`: draw from a trained model by its ODE
 * (Algorithm 1 and better steppers), by the SDE of Thm 13, or by chapter 6's
 * exponential integrators; a score model's field comes from Prop 1
 * (fmd_flow_sde_drift), any model's noise prediction from fmd_model_eps. */
#include "cli/cli.h"
#include "fmd.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: fmd sample (--model MODEL | --gmm FILE --schedule NAME) [-n N] [--solver NAME]\n"
    "                  [--steps K] [--sigma S]\n"
    "                  [--seed S] [--t0 T] [--t1 T] [--class Y [--guidance W]]\n"
    "                  [--form data|noise] [--grid logsnr|time|time:P] [--trajectories]\n"
    "                  [--threads N] [--precision f64|f32]\n"
    "\n"
    "Sample a model trained by `fmd train`: X_t0 = beta_t0 eps with eps ~ N(0, I),\n"
    "integrate to t1 and print X_t1, one sample a line (%.17g). A flow model (cfm)\n"
    "is its own field; a score model (dsm, or ddpm's noise) gives the field by\n"
    "Prop 1, which divides by alpha_t: it cannot start at t = 0 (a score there is\n"
    "N(0, I)'s, whatever the data), and near 0 it multiplies the score's error by\n"
    "about alpha_dot beta^2 / alpha (1/t for condot) unless the model was trained\n"
    "with EDM's read-out (fmd train --precondition edm, the default), which bounds\n"
    "that factor: score models run from 1e-3 (preconditioned) or 0.05 (plain) to\n"
    "the end of their training interval (t-max, at most 1 - 1e-3) by default.\n"
    "Starting at t0 > 0 from beta_t0 eps neglects the alpha_t0 z part of p_t0\n"
    "(an error of order alpha_t0); stopping at t1 < 1 leaves beta_t1 of noise.\n"
    "A denoiser (objective denoiser, D(x) = E[z | x]) gives the field\n"
    "alpha_dot D + beta_dot (x - alpha D) / beta, finite for beta > 0: it runs on\n"
    "[0, 1 - 1e-3] by default.\n"
    "\n"
    "With --gmm FILE --schedule NAME every sampler runs on the exact marginal field\n"
    "of a mixture instead (chapter 3; a low-rank file too, exact at d = 784):\n"
    "no training, no network error -- what is left is the sampler's. --class Y\n"
    "--guidance W then follows the exact guided field of a labelled mixture.\n"
    "\n"
    "  -n N            samples; default 1000\n"
    "  --solver NAME   euler | midpoint | heun | rk4 | dopri5 (ODE), em | heun-sde (SDE),\n"
    "                  ddim | dpm2 | dpm2m (exponential integrators of the probability\n"
    "                  flow, chapter 6: order 1, DPM-Solver-2 with two evaluations a\n"
    "                  step, the multistep DPM-Solver++(2M) with one);\n"
    "                  ddpm (ancestral DDPM: --steps levels, betas scaled to the vp\n"
    "                  schedule, or a ddpm-discrete model's own N levels by default;\n"
    "                  --variance beta|posterior), langevin (NCSN's annealed\n"
    "                  Langevin: --steps noise levels from 10 to 0.01, 10 steps each),\n"
    "                  pc (predictor-corrector on the model's schedule, one corrector\n"
    "                  step each); heun-edm | lms | dpmpp-3m | euler-a | dpmpp-2s-a |\n"
    "                  dpmpp-sde: k-diffusion's samplers (chapter 6), and\n"
    "                  dpmpp-3m-corrected (3M with its whole third-order term),\n"
    "                  on Karras's --steps + 1 levels (sigma = beta/alpha from 80\n"
    "                  to 0.002, rho 7, then 0); they read any model as a noise\n"
    "                  predictor;\n"
    "                  default euler (Algorithm 1), or em with --sigma (Algorithm 2)\n"
    "  --steps K       steps of the grid; default 100 (uniform on [t0, t1] for ODE\n"
    "                  and SDE solvers)\n"
    "  --form F        exponential integrators: hold the denoised estimate (data,\n"
    "                  the default) or the noise (noise) fixed over a step\n"
    "  --grid G        exponential integrators: logsnr (uniform in log(alpha/beta)),\n"
    "                  time (uniform), time:P (t_k = t0 + (t1 - t0)(1 - (1 - k/K)^P),\n"
    "                  P >= 1, steps crowded toward the data); default time:2.\n"
    "                  They need alpha > 0 at t0 (t0 = 1e-3 by default where alpha_0 = 0)\n"
    "                  and beta > 0 at t1 (t1 = 1 - 1e-3 at the latest), except that the\n"
    "                  data form on a time grid may end at beta = 0, its last step being\n"
    "                  the denoised estimate itself (so a flow model runs to t1 = 1)\n"
    "  --sigma S       SDE of Thm 13 with sigma_t = S beta_t; its score comes from the\n"
    "                  field by Prop 1 (the added drift stays finite at t = 0 and 1)\n"
    "  --seed S        default 0\n"
    "  --class Y       a model trained with --labels: sample class Y by classifier-free\n"
    "                  guidance, (1 - W) f(x, t, no label) + W f(x, t, Y) (chapter 5);\n"
    "                  without --class such a model samples unconditionally\n"
    "  --guidance W    the guidance scale W; default 1 (the conditional model)\n"
    "  --png FILE      an image model (d = side x side, pixels in [-1, 1]): write the\n"
    "                  samples as a grayscale PNG grid to FILE instead of numbers\n"
    "  --no-checksum   read a model file without fmd's checksum (written elsewhere in\n"
    "                  fmd's layout, src/cli/README.md in fmd's source)\n"
    "  --threads N     threads; default: the CPUs this process may use (same bits on\n"
    "                  any number)\n"
    "  --precision P   f64 or f32: compute the network in this precision; default the\n"
    "                  model's own (an f64 model's weights are rounded for f32)\n"
    "  --t0 T, --t1 T  the time interval, 0 <= t0 < t1 <= 1; default [0, 1] for a\n"
    "                  flow model, [1e-3 (0.05 if plain), min(t-max, 1 - 1e-3)] for a\n"
    "                  score model,\n"
    "                  [0, min(t-max, 1 - 1e-3)] for a denoiser\n"
    "  --trajectories  print whole paths instead: per sample a block of lines\n"
    "                  't x_1 .. x_d', blocks separated by blank lines\n";

static void release(fmd_mlp *net, fmd_gmm *g)
{
    fmd_mlp_free(net);
    fmd_gmm_free(g);
}

int fmd_cmd_sample(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {   /* a U-Net model file has its own sampler (src/cli/cmd_sample_unet.c) */
        const char *v = fmd_cli_option(argc, argv, &i, "--model");
        if (v && *v && fmd_cli_is_unet_file(v))
            return fmd_cmd_sample_unet(argc, argv);
    }
    const char *hint = "Run 'fmd sample --help' for usage.";
    int steps_given = 0;
    const char *model = NULL, *solver = NULL, *form_name = NULL, *grid_name = NULL, *precision = NULL;
    const char *gmm_path = NULL, *sched_name = NULL;   /* --gmm: the exact mixture field instead of a model */
    double n = 1000, steps = 100, sigma = -1, seed = 0, t0 = -1, t1 = -1, cls = -1, guidance = 1, threads = fmd_cli_default_threads();
    int traj = 0, guidance_given = 0;
    int no_checksum = 0;
    const char *png_path = NULL;   /* --png: image samples as a grid instead of numbers */
    const char *variance_name = NULL;   /* --variance beta|posterior (ddpm) */
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v = NULL;   /* the option as written (i moves past its value) */
        double *num = NULL, lo = 0, hi = 0;
        int whole = 0;   /* a count, an index or a seed: no fractions */
        if (fmd_cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if ((v = fmd_cli_option(argc, argv, &i, "--model"))) model = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--gmm"))) gmm_path = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--schedule"))) sched_name = v;
        else if (strcmp(argv[i], "--no-checksum") == 0) no_checksum = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--png"))) png_path = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--variance"))) variance_name = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--solver"))) solver = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--form"))) form_name = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--grid"))) grid_name = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--precision"))) precision = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "-n"))) num = &n, lo = 1, hi = 1e8, whole = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--steps"))) num = &steps, lo = 1, hi = 1e7, whole = 1, steps_given = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--sigma"))) num = &sigma, lo = 0, hi = 1e6;
        else if ((v = fmd_cli_option(argc, argv, &i, "--seed"))) num = &seed, lo = 0, hi = 4294967295.0, whole = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--threads"))) num = &threads, lo = 1, hi = 64, whole = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--t0"))) num = &t0, lo = 0, hi = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--class"))) num = &cls, lo = 0, hi = 4096, whole = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--guidance"))) guidance_given = 1, num = &guidance, lo = -1e3, hi = 1e3;
        else if ((v = fmd_cli_option(argc, argv, &i, "--t1"))) num = &t1, lo = 0, hi = 1;
        else if (strcmp(argv[i], "--trajectories") == 0) traj = 1;
        else
            return fmd_cli_usage_error("sample", hint, "unknown option '%s'", argv[i]);
        if (v && !*v)
            return fmd_cli_missing_value("sample", hint, arg);
        if (num && fmd_cli_number("sample", arg, v, lo, hi, whole, num) != 0)
            return 2;
    }
    if ((!model || !*model) && (!gmm_path || !*gmm_path))
        return fmd_cli_usage_error("sample", hint, "--model MODEL (or --gmm FILE --schedule NAME) is required");
    if (model && gmm_path)
        return fmd_cli_usage_error("sample", hint, "give --model or --gmm, not both");
    if (gmm_path && !sched_name)
        return fmd_cli_usage_error("sample", "Add --schedule NAME (condot, cosine, vp, ...): the path the exact field "
                                             "follows.", "--gmm needs --schedule");
    if (sched_name && !gmm_path)
        return fmd_cli_usage_error("sample", hint, "--schedule goes with --gmm (a model carries its own)");
    if (gmm_path && (precision || no_checksum))
        return fmd_cli_usage_error("sample", hint, "--precision and --no-checksum are for models, not --gmm");
    if (guidance_given && cls < 0)
        return fmd_cli_usage_error("sample", "Add --class Y (the class to guide towards), or drop --guidance.",
                                   "--guidance has no effect without --class");
    if (!solver)
        solver = sigma >= 0 ? "em" : "euler";
    fmd_sampler sampler;
    if (fmd_sampler_by_name(solver, &sampler) != FMD_OK)
        return fmd_cli_usage_error("sample", "Solvers: euler, midpoint, heun, rk4, dopri5, em, heun-sde, ddim, dpm2, dpm2m, "
                                             "ddpm, langevin, pc, heun-edm, lms, dpmpp-3m, dpmpp-3m-corrected, euler-a, dpmpp-2s-a, dpmpp-sde.",
                                   "unknown solver '%s'", solver);
    const int ode = sampler.kind == FMD_SAMPLER_ODE, sdet = sampler.kind == FMD_SAMPLER_SDE;
    const int expo = sampler.kind == FMD_SAMPLER_EXP, kdiff = sampler.kind == FMD_SAMPLER_K;
    /* chapter 6's discrete samplers, on any model through its noise prediction */
    const int ddpm = sampler.kind == FMD_SAMPLER_DDPM, langevin = sampler.kind == FMD_SAMPLER_LANGEVIN;
    const int pc = sampler.kind == FMD_SAMPLER_PC;
    const int discrete = ddpm || langevin || pc;
    (void)sdet;
    if (kdiff && (sigma >= 0 || traj || t0 >= 0 || t1 >= 0))
        return fmd_cli_usage_error("sample", hint, "the k-diffusion sampler '%s' runs Karras's levels (sigma 80 to 0.002, "
                                                   "then 0): it takes none of --sigma, --trajectories, --t0, --t1", solver);
    if (discrete && (sigma >= 0 || traj))   /* --form and --grid: refused below for every non-exponential solver */
        return fmd_cli_usage_error("sample", hint, "the sampler '%s' takes neither --sigma nor --trajectories", solver);
    if ((ddpm || langevin) && (t0 >= 0 || t1 >= 0))
        return fmd_cli_usage_error("sample", hint, "the sampler '%s' runs its own levels: it takes neither --t0 nor --t1",
                                   solver);
    fmd_ddpm_variance variance = FMD_DDPM_VAR_BETA;
    if (variance_name && strcmp(variance_name, "posterior") == 0)
        variance = FMD_DDPM_VAR_POSTERIOR;
    else if (variance_name && strcmp(variance_name, "beta") != 0)
        return fmd_cli_usage_error("sample", "Variances: beta (the default), posterior.", "unknown --variance '%s'",
                                   variance_name);
    if (variance_name && !ddpm)
        return fmd_cli_usage_error("sample", hint, "--variance is for --solver ddpm");
    if (!expo && (form_name || grid_name))
        return fmd_cli_usage_error("sample", hint, "--form and --grid are for the exponential integrators (ddim, dpm2, dpm2m)");
    if (expo && (sigma >= 0 || traj))
        return fmd_cli_usage_error("sample", hint, "the exponential integrator '%s' takes neither --sigma nor --trajectories",
                                   solver);
    fmd_exp_form form = FMD_EXP_DATA;
    if (form_name && strcmp(form_name, "noise") == 0)
        form = FMD_EXP_NOISE;
    else if (form_name && strcmp(form_name, "data") != 0)
        return fmd_cli_usage_error("sample", "Forms: data, noise.", "unknown --form '%s'", form_name);
    fmd_grid_kind grid = FMD_GRID_TIME;
    double power = 2.0;
    if (grid_name && strcmp(grid_name, "logsnr") == 0)
        grid = FMD_GRID_LOGSNR;
    else if (grid_name && strcmp(grid_name, "time") == 0)
        power = 1.0;
    else if (grid_name && strncmp(grid_name, "time:", 5) == 0) {
        if (fmd_cli_number("sample", "--grid time:P", grid_name + 5, 1, 100, 0, &power) != 0)
            return 2;
    } else if (grid_name)
        return fmd_cli_usage_error("sample", "Grids: logsnr, time, time:P (P >= 1).", "unknown --grid '%s'", grid_name);
    if (sdet && sigma < 0)
        return fmd_cli_usage_error("sample", hint, "the SDE solver '%s' needs --sigma S", solver);
    if (ode && sigma >= 0)
        return fmd_cli_usage_error("sample", hint, "--sigma needs an SDE solver (em or heun-sde), not '%s'", solver);
    fmd_dtype dtype = FMD_F64;
    if (precision && fmd_cli_precision("sample", precision, &dtype) != 0)
        return 2;
    const int nthreads = fmd_cli_threads("sample", threads);
    fmd_mlp *net = NULL;
    fmd_gmm *g = NULL;
    fmd_run_info info;
    memset(&info, 0, sizeof info);
    fmd_field u;
    fmd_flow_sde_params P = {&u, {{0}, NULL, 0}, sigma > 0 ? sigma : 0, FMD_PREDICTS_FIELD, NULL};
    if (gmm_path) {   /* the exact marginal field of a mixture (chapter 3): a flow "model" with no error */
        fmd_parse_error perr;
        if (fmd_gmm_load(gmm_path, &g, &perr) != FMD_OK) {
            fmd_cli_gmm_error("sample", &perr);
            return 2;
        }
        if (fmd_cli_schedule("sample", sched_name, &P.sch) != 0) {
            fmd_gmm_free(g);
            return 2;
        }
        snprintf(info.objective, sizeof info.objective, "cfm");
        info.t_max = 1.0;
        model = gmm_path;
    } else if (fmd_cli_load_model_unchecked("sample", model, 0, 0, no_checksum, &net, &info, &P.sch, &P.predicts) != 0) {
        return 2;
    }
    if (precision && fmd_cli_convert_model("sample", &net, dtype) != 0) {
        fmd_mlp_free(net);
        return 1;
    }
    const size_t d0 = g ? g->d : net->cfg.d;
    const int flow = P.predicts == FMD_PREDICTS_FIELD, denoiser = P.predicts == FMD_PREDICTS_DATA;
    fmd_sampler_options so;
    fmd_sampler_options_default(&so);
    so.form = form, so.grid = grid, so.power = power, so.variance = variance;
    fmd_sampler_interval(&sampler, &so, &P.sch, P.predicts, net && net->cfg.output != FMD_OUT_PLAIN, info.t_max, &t0,
                         &t1);   /* the defaults where --t0 or --t1 was not given */
    if (expo) {   /* lambda = log(alpha/beta) must be finite at both ends */
        const int may_reach_data = form == FMD_EXP_DATA && grid == FMD_GRID_TIME;   /* last step x' = D(x) */
        fmd_sched_point a, b;
        fmd_schedule_at(&P.sch, t0, &a);
        fmd_schedule_at(&P.sch, t1, &b);
        if (!(a.alpha > 0.0 && (b.beta > 0.0 || may_reach_data)) && t0 < t1) {
            release(net, g);
            return fmd_cli_usage_error("sample", "Choose 0 < --t0, and --t1 < 1 (or the data form on a time grid).",
                                       "the exponential integrator '%s' needs alpha > 0 and beta > 0 at t0 and t1 "
                                       "(alpha_t0 = %g, beta_t1 = %g)", solver, a.alpha, b.beta);
        }
    }
    if (!(t0 < t1)) {
        release(net, g);
        return fmd_cli_usage_error("sample", hint, "--t0 %g must be below --t1 %g", t0, t1);
    }
    fmd_sched_point s0, s1;
    fmd_schedule_at(&P.sch, t0, &s0);
    fmd_schedule_at(&P.sch, t1, &s1);
    if (denoiser && s1.beta == 0.0) {
        release(net, g);
        return fmd_cli_usage_error("sample", "Choose --t1 < 1.",
                                   "%s is a denoiser: at t = %g (beta = 0) its field divides by zero", model, t1);
    }
    if (!expo && !flow && !denoiser && (s0.alpha == 0.0 || !isfinite(s1.beta_dot))) {
        release(net, g);
        return fmd_cli_usage_error("sample", "Choose 0 < --t0, and --t1 < 1 for the lab and vp schedules.",
                                   "%s is a score model (%s): Prop 1 gives no field from a score at t = %g",
                                   model, info.objective, s0.alpha == 0.0 ? t0 : t1);
    }
    if (png_path) {
        const size_t side = (size_t)lround(sqrt((double)d0));
        if (side * side != d0 || traj) {
            const size_t dd = d0;
            release(net, g);
            return fmd_cli_usage_error("sample", "--png is for image models (d a square, e.g. 784 = 28 x 28), without "
                                                 "--trajectories.",
                                       "%s is %zu-dimensional: not a square image", model, dd);
        }
    }
    fmd_mlp_eval *ev = NULL;   /* the network's scratch, kept between evaluations */
    if (net && fmd_mlp_eval_alloc(net, &ev) != FMD_OK) {
        release(net, g);
        return fmd_cli_out_of_memory("sample", "the network's scratch", 0.0);
    }
    fmd_mlp_guidance G = {net, (int)cls, guidance, ev};
    fmd_marginal_field_params exact = {g, &P.sch, NULL, NULL};
    fmd_guidance_params exact_guided = {0};
    if (g && cls >= 0 && fmd_guidance_init(&exact_guided, g, (int)cls, &P.sch, guidance) != FMD_OK) {
        release(net, g);
        return fmd_cli_usage_error("sample", "Give a class that a component of the mixture is labelled with.",
                                   "--class %g: no component of %s has that label", cls, gmm_path);
    }
    if (net && cls >= 0 && (cls != floor(cls) || cls >= (double)net->cfg.n_classes)) {
        size_t C = net->cfg.n_classes;
        fmd_mlp_eval_free(ev);
        release(net, g);
        if (C == 0)
            return fmd_cli_usage_error("sample", "Train with `fmd train --labels` to sample a class.",
                                       "%s was trained without labels; --class needs a labelled model", model);
        return fmd_cli_usage_error("sample", hint, "--class %g: the model knows classes 0..%zu", cls, C - 1);
    }
    /* the network's output, guided or not; Prop 1 (fmd_flow_sde_drift) is affine
     * in it, so guiding the output guides the field, score or noise alike */
    if (g)
        u = cls >= 0 ? (fmd_field){fmd_guided_field, d0, &exact_guided} : (fmd_field){fmd_marginal_field, d0, &exact};
    else
        u = cls >= 0 ? (fmd_field){fmd_mlp_guided_field, d0, &G} : (fmd_field){fmd_mlp_eval_field, d0, ev};
    fmd_mlp_head score_head = {net, 1};   /* a cfm+dsm network: its SDE takes the score head as it is */
    fmd_field score = {fmd_mlp_head_field, d0, &score_head};
    if (net && net->dims[net->nlayers] == 2 * net->cfg.d)
        P.score = &score;
    if (ddpm && !steps_given && strcmp(info.objective, "ddpm-discrete") == 0)
        steps = P.sch.param;   /* a discrete model's own chain: its N levels (schedule ddpm:N) */
    const size_t N = (size_t)n, K = (size_t)steps, d = d0;
    double *x = malloc(N * d * sizeof(double)), *ts = malloc((K + 1) * sizeof(double));
    double *path = traj ? malloc((K + 1) * N * d * sizeof(double)) : NULL;
    int rc = 0;
    if (!x || !ts || (traj && !path))
        rc = fmd_cli_out_of_memory("sample", traj && !path ? "the trajectories (--trajectories)" : "the samples",
                                   (double)sizeof(double) * (traj && !path ? (double)(K + 1) * N * d : (double)N * d));
    if (rc == 0) {
        so.n = N, so.steps = K, so.t0 = t0, so.t1 = t1, so.seed = (uint64_t)seed, so.threads = nthreads;
        const int status = fmd_sampler_run(&sampler, &P, &so, x, NULL, path, ts);
        if (status != FMD_OK) {
            fprintf(stderr, "fmd sample: error: integration failed: %s\n", fmd_strerror(status));
            rc = 1;
        }
    }
    if (rc == 0 && png_path) {   /* an image model's samples, looked at */
        const size_t side = (size_t)lround(sqrt((double)d)), cols = (size_t)ceil(sqrt((double)N));
        const int status = fmd_png_write_grid(png_path, N, side, x, cols);
        if (status != FMD_OK) {
            fprintf(stderr, "fmd sample: error: cannot write %s: %s\n", png_path, fmd_strerror(status));
            rc = 1;
        }
    }
    for (size_t i = 0; rc == 0 && !png_path && i < N; i++) {
        if (traj) {
            for (size_t k = 0; k <= K; k++) {
                printf("%.17g", ts[k]);
                for (size_t j = 0; j < d; j++)
                    printf("\t%.17g", path[(k * N + i) * d + j]);
                printf("\n");
            }
            printf("\n\n");
        } else {
            for (size_t j = 0; j < d; j++)
                printf(j ? "\t%.17g" : "%.17g", x[i * d + j]);
            printf("\n");
        }
    }
    if (rc == 0)
        rc = fmd_cli_output_done("sample", stdout, "standard output");
    free(x);
    free(ts);
    free(path);
    fmd_mlp_eval_free(ev);
    fmd_guidance_free(&exact_guided);
    release(net, g);
    return rc;
}
