/* test_checkpoint.c -- chapter 4: model files round-trip every bit, a run
 * resumed from a file continues exactly, and wrong files are refused. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <math.h>
#include <unistd.h>

#include "fmd.h"
#include "mixtures.h"
#include "budget.h"

/* precond: a DSM network with EDM's score read-out (else a plain one) */
static fmd_mlp *make_net(fmd_dtype dtype, int precond)
{
    fmd_mlp_config cfg = {.d = 2, .n_fourier = 3, .depth = 2, .width = {12, 9}, .act = FMD_SILU, .dtype = dtype};
    if (precond) {
        cfg.output = FMD_OUT_SCORE, cfg.sigma_data = 1.25;
        fmd_schedule_by_name("condot", &cfg.schedule);
    }
    fmd_mlp *net;
    cr_assert_eq(fmd_mlp_alloc(&cfg, &net), FMD_OK);
    gsl_rng *r;
    fmd_rng_alloc(61, 0, &r);
    fmd_mlp_init(net, r);
    gsl_rng_free(r);
    return net;
}

static fmd_train_config train_cfg(int precond)
{
    fmd_train_config cfg = {.objective = precond ? FMD_LOSS_CSM : FMD_LOSS_CFM, .batch = 64, .lr = 2e-3, .clip = 5.0,
                            .ema_decay = 0.999, .t_min = 0.0, .t_max = 0.95, .seed = 62,
                            .weighting = precond ? FMD_WEIGHT_BETA2 : FMD_WEIGHT_UNIFORM};
    fmd_schedule_by_name("condot", &cfg.schedule);
    return cfg;
}

static fmd_run_info info_of(const fmd_trainer *tr)
{
    fmd_run_info info = {.objective = "cfm", .schedule = "condot", .data = "random_mixture(2, 3, 1300)",
                         .steps = tr->step, .target_steps = 20, .seed = 62, .batch = 64, .lr = 2e-3, .clip = 5.0,
                         .ema_decay = 0.999, .t_min = 0.0, .t_max = 0.95, .weighting = tr->cfg.weighting};
    if (tr->cfg.objective == FMD_LOSS_CSM)
        snprintf(info.objective, sizeof info.objective, "dsm");
    return info;
}

static void tmp_path(char *path, size_t n, const char *tag)
{
    snprintf(path, n, "/tmp/fmd-ckpt-%d-%s.safetensors", (int)getpid(), tag);
}

static int same_file(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        same = ca == cb;
        if (ca == EOF || cb == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

/* Both precisions: a float32 model's file holds F32 tensors (weights, Adam's
 * moments, EMA) and says dtype f32; it loads as a float32 network. */
static void resume_check(fmd_dtype dtype, int precond)
{
    fmd_gmm *g = random_mixture(2, 3, 1300);
    fmd_train_config cfg = train_cfg(precond);
    char p10[256], p20a[256], p20b[256], why[256];
    tmp_path(p10, sizeof p10, precond ? "10p" : dtype == FMD_F32 ? "10f" : "10");
    tmp_path(p20a, sizeof p20a, precond ? "20ap" : dtype == FMD_F32 ? "20af" : "20a");
    tmp_path(p20b, sizeof p20b, precond ? "20bp" : dtype == FMD_F32 ? "20bf" : "20b");
    const size_t es = fmd_dtype_size(dtype);
    double l;
    /* uninterrupted: 20 steps */
    fmd_mlp *a = make_net(dtype, precond);
    fmd_trainer *ta;
    fmd_trainer_alloc(&cfg, g, a, &ta);
    for (int k = 0; k < 20; k++)
        fmd_train_step(ta, &l);
    fmd_run_info ia = info_of(ta);
    cr_assert_eq(fmd_checkpoint_save(p20a, a, ta, &ia), FMD_OK);
    /* interrupted: 10 steps, saved, loaded into a fresh trainer, 10 more */
    fmd_mlp *b = make_net(dtype, precond);
    fmd_trainer *tb;
    fmd_trainer_alloc(&cfg, g, b, &tb);
    for (int k = 0; k < 10; k++)
        fmd_train_step(tb, &l);
    fmd_run_info ib = info_of(tb);
    cr_assert_eq(fmd_checkpoint_save(p10, b, tb, &ib), FMD_OK);
    fmd_mlp *c, *scratch;
    fmd_run_info ic;
    cr_assert_eq(fmd_checkpoint_load(p10, &c, &ic, NULL, why, sizeof why), FMD_OK, "%s", why);
    cr_assert_eq(c->cfg.dtype, dtype, "the model loaded as %s", fmd_dtype_name(c->cfg.dtype));
    cr_expect(memcmp(dtype == FMD_F32 ? (void *)c->params32 : (void *)c->params,
                     dtype == FMD_F32 ? (void *)b->params32 : (void *)b->params, es * b->nparams) == 0,
              "parameters changed in the round trip");
    cr_expect(ic.steps == 10 && strcmp(ic.schedule, "condot") == 0 && ic.lr == 2e-3 && c->cfg.width[1] == 9);
    cr_expect(c->cfg.output == b->cfg.output && c->cfg.sigma_data == b->cfg.sigma_data &&
              ic.weighting == (int)cfg.weighting, "read-out %d (sigma %.17g), weighting %d after the round trip",
              c->cfg.output, c->cfg.sigma_data, ic.weighting);
    fmd_trainer *tc;
    fmd_trainer_alloc(&cfg, g, c, &tc);
    cr_assert_eq(fmd_checkpoint_load(p10, &scratch, &ic, tc, why, sizeof why), FMD_OK, "%s", why);
    fmd_mlp_free(scratch);
    cr_expect(tc->step == 10 && tc->opt->step == 10);
    for (int k = 0; k < 10; k++)
        fmd_train_step(tc, &l);
    fmd_run_info icc = info_of(tc);
    cr_assert_eq(fmd_checkpoint_save(p20b, c, tc, &icc), FMD_OK);
    cr_expect(same_file(p20a, p20b), "the resumed run's checkpoint differs from the uninterrupted one");
    unlink(p10);
    unlink(p20a);
    unlink(p20b);
    fmd_trainer_free(ta);
    fmd_trainer_free(tb);
    fmd_trainer_free(tc);
    fmd_mlp_free(a);
    fmd_mlp_free(b);
    fmd_mlp_free(c);
    fmd_gmm_free(g);
}

Test(checkpoint, resumed_run_matches_uninterrupted_run_byte_for_byte) { resume_check(FMD_F64, 0); }
Test(checkpoint, float32_model_round_trips_and_resumes_byte_for_byte) { resume_check(FMD_F32, 0); }
/* EDM's read-out and the beta^2 weight are recorded, reloaded and resumed */
Test(checkpoint, preconditioned_weighted_model_round_trips_and_resumes) { resume_check(FMD_F64, 1); }

/* A valid safetensors file whose tensors do not fit the declared
 * architecture, or that is not an fmd model, is refused with the reason. */
Test(checkpoint, refuses_files_that_do_not_fit)
{
    char path[256], why[256];
    tmp_path(path, sizeof path, "bad");
    double w[6] = {0}, b[2] = {0};
    const char *meta[] = {"format", "fmd-mlp-1", "d", "1", "fourier", "0", "classes", "0", "hidden", "2",
                          "activation", "silu", "objective", "cfm", "schedule", "condot", "data", "x",
                          "steps", "0", "target_steps", "0", "seed", "0", "batch", "1", "lr", "0.001", "clip", "0",
                          "ema_decay", "0", "t_min", "0", "t_max", "1", "adam_step", "0"};
    /* d = 1, raw t: net.0.W must be (2, 2); we write (3, 2) */
    fmd_st_out bad_shape[2] = {{"net.0.W", 2, {3, 2}, w, FMD_F64}, {"net.0.b", 1, {2}, b, FMD_F64}};
    cr_assert_eq(fmd_st_write(path, bad_shape, 2, meta, sizeof meta / sizeof meta[0] / 2), FMD_OK);
    fmd_mlp *net;
    fmd_run_info info;
    cr_expect_eq(fmd_checkpoint_load(path, &net, &info, NULL, why, sizeof why), FMD_EINVAL);
    cr_expect(strstr(why, "net.0.W") != NULL, "reason: %s", why);
    meta[1] = "something-else";
    cr_assert_eq(fmd_st_write(path, bad_shape, 2, meta, sizeof meta / sizeof meta[0] / 2), FMD_OK);
    cr_expect_eq(fmd_checkpoint_load(path, &net, &info, NULL, why, sizeof why), FMD_EINVAL);
    cr_expect(strstr(why, "not an fmd model") != NULL, "reason: %s", why);
    /* a right-shaped net.0.W of F64 numbers in a file that says dtype f32 */
    const char *meta32[sizeof meta / sizeof meta[0] + 2];
    memcpy(meta32, meta, sizeof meta);
    meta32[1] = "fmd-mlp-1";
    meta32[sizeof meta / sizeof meta[0]] = "dtype";
    meta32[sizeof meta / sizeof meta[0] + 1] = "f32";
    fmd_st_out mixed[2] = {{"net.0.W", 2, {2, 2}, w, FMD_F64}, {"net.0.b", 1, {2}, b, FMD_F64}};
    cr_assert_eq(fmd_st_write(path, mixed, 2, meta32, sizeof meta32 / sizeof meta32[0] / 2), FMD_OK);
    cr_expect_eq(fmd_checkpoint_load(path, &net, &info, NULL, why, sizeof why), FMD_EINVAL);
    cr_expect(strstr(why, "is F64, but the model's dtype is f32") != NULL, "reason: %s", why);
    unlink(path);
    cr_expect_eq(fmd_checkpoint_load("/nonexistent/m", &net, &info, NULL, why, sizeof why), FMD_EIO);
}

#include <signal.h>
#include <sys/wait.h>

/* run `fmd train` with args; if interrupt_after_ms > 0, send SIGINT then. */
static int run_train(const char *const *args, int interrupt_after_ms)
{
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", 1);
        dup2(devnull, 2);
        execv(args[0], (char *const *)args);
        _exit(127);
    }
    if (interrupt_after_ms > 0) {
        usleep((useconds_t)interrupt_after_ms * 1000);
        kill(pid, SIGINT);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* `fmd train` stopped by Ctrl-C (SIGINT) at whatever step it reached, then
 * `--resume`d, writes the same file, byte for byte, as an uninterrupted run. */
Test(train_command, interrupted_and_resumed_equals_uninterrupted)
{
    const char *fmd = getenv("FMD_BIN") ? getenv("FMD_BIN") : "build/fmd";
    const char *gmm = "chapters/03-constructing-a-training-target/five_modes.gmm";
    char a[256], b[256];
    tmp_path(a, sizeof a, "cli-a");
    tmp_path(b, sizeof b, "cli-b");
    const char *straight[] = {fmd, "train", "--gmm", gmm, "--out", a, "--steps", "3000", "--batch", "128",
                              "--hidden", "16,16", "--fourier", "2", "--seed", "7", "--ema", "0.99", NULL};
    const char *stopped[] = {fmd, "train", "--gmm", gmm, "--out", b, "--steps", "3000", "--batch", "128",
                             "--hidden", "16,16", "--fourier", "2", "--seed", "7", "--ema", "0.99", NULL};
    const char *resumed[] = {fmd, "train", "--resume", b, NULL};
    cr_assert_eq(run_train(straight, 0), 0);
    int rc = run_train(stopped, 300);
    cr_expect(rc == 130 || rc == 0, "interrupted run exited %d", rc);   /* 0 if it finished first */
    cr_assert_eq(run_train(resumed, 0), 0);
    cr_expect(same_file(a, b), "interrupted + resumed run differs from the uninterrupted one");
    unlink(a);
    unlink(b);
}

/* read n samples of dimension 2 printed by a command */
static int read_samples(const char *cmd, double *x, int n)
{
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    int got = 0;
    while (got < 2 * n && fscanf(p, "%lf", &x[got]) == 1)
        got++;
    int status = pclose(p);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? got : -1;
}

/* Train a model by `fmd train --objective objective` (1500 steps on the
 * five-mode mixture), then check `fmd sample` with each of the options in
 * `solvers`: the samples are finite, repeat bit for bit for a seed, and have
 * a mean exact log-density under p_data far above that of the noise they
 * start from (the gap exceeds 6 standard errors many times over). Returns
 * the model's path (to be unlinked). */
static void check_samples_of(const char *objective, const char *const *solvers, int nsolvers, char *model, size_t size)
{
    const char *fmd = getenv("FMD_BIN") ? getenv("FMD_BIN") : "build/fmd";
    const char *gmm = "chapters/03-constructing-a-training-target/five_modes.gmm";
    char cmd[1024];
    tmp_path(model, size, objective);
    const char *train[] = {fmd, "train", "--gmm", gmm, "--out", model, "--steps", "1500", "--batch", "256",
                           "--hidden", "32,32", "--fourier", "2", "--seed", "11", "--objective", objective, NULL};
    cr_assert_eq(run_train(train, 0), 0);
    fmd_gmm *g;
    fmd_parse_error e;
    cr_assert_eq(fmd_gmm_load(gmm, &g, &e), FMD_OK);
    enum { N = 2000 };
    static double x[2 * N], y[2 * N], lp[N];
    for (int s = 0; s < nsolvers; s++) {
        snprintf(cmd, sizeof cmd, "%s sample --model %s -n %d %s --seed 3", fmd, model, N, solvers[s]);
        cr_assert_eq(read_samples(cmd, x, N), 2 * N, "%s", cmd);
        cr_assert_eq(read_samples(cmd, y, N), 2 * N);
        cr_expect(memcmp(x, y, sizeof x) == 0, "%s: not reproducible", cmd);
        cr_expect(fmd_all_finite(2 * N, x), "%s: non-finite samples", cmd);
        fmd_gmm_log_density(g, N, x, lp);
        double m, se, m0, se0;
        fmd_mean_se(N, lp, 1, &m, &se);
        fmd_sample_init(3, N, 2, y);   /* the noise itself, for comparison */
        fmd_gmm_log_density(g, N, y, lp);
        fmd_mean_se(N, lp, 1, &m0, &se0);
        cr_log_info("%s %s: mean log p_data %.3f +- %.3f (noise: %.3f +- %.3f)", objective, solvers[s], m, se, m0, se0);
        cr_expect(m - m0 > 6 * sqrt(se * se + se0 * se0) && m - m0 > 0.5,
                  "%s %s: samples (%.3f) not clearly better than noise (%.3f)", objective, solvers[s], m, m0);
    }
    fmd_gmm_free(g);
}

/* `fmd sample --solver dpm2m` on a trained model converges at order 2 to
 * the model's own probability-flow ODE: from the same starts (same seed, same
 * interval), the RMS distance to RK4 with 512 steps (itself within 1e-12 of
 * RK4 with 4096) is fitted over 32..256 steps and must have slope 2 within
 * 0.1 (measured 2.0-2.05). A sampler solving any other ODE would level off
 * instead. The grid is uniform in log-SNR: a time grid starting at t0 = 1e-3
 * on condot takes a first step of log(2 / (K t0)) in lambda, which shrinks
 * only logarithmically with K, and the fit would see 1.8 over this range. */
static void check_exp_order(const char *model, const char *interval)
{
    const char *fmd = getenv("FMD_BIN") ? getenv("FMD_BIN") : "build/fmd";
    enum { N = 500 };
    static double ref[2 * N], y[2 * N];
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s sample --model %s -n %d --solver rk4 --steps 512 %s --seed 3", fmd, model, N, interval);
    cr_assert_eq(read_samples(cmd, ref, N), 2 * N, "%s", cmd);
    double lh[4], le[4];
    for (int j = 0; j < 4; j++) {
        const int steps = 32 << j;
        snprintf(cmd, sizeof cmd, "%s sample --model %s -n %d --solver dpm2m --grid logsnr --steps %d %s --seed 3", fmd, model, N, steps,
                 interval);
        cr_assert_eq(read_samples(cmd, y, N), 2 * N, "%s", cmd);
        lh[j] = log(1.0 / steps);
        le[j] = log(rms_distance(N, 2, y, ref));
    }
    double slope = fmd_fit_slope(4, lh, le, NULL, NULL);
    cr_log_info("%s: dpm2m against the model's own flow, fitted order %.3f (errors %.2e .. %.2e)", model, slope, exp(le[0]),
                exp(le[3]));
    cr_expect(fabs(slope - 2.0) <= 0.1, "%s: dpm2m fitted order %.3f", model, slope);
}

static int exit_status(const char *fmt, const char *model)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, fmt, getenv("FMD_BIN") ? getenv("FMD_BIN") : "build/fmd", model);
    return WEXITSTATUS(system(cmd));
}

/* A flow model: by its ODE (rk4), by the SDE of Thm 13 (em), and by the
 * exponential integrators (chapter 6), whose order is fitted too. */
Test(sample_command, samples_of_a_trained_flow_model)
{
    char model[256];
    const char *solvers[4] = {"--solver rk4 --steps 40", "--sigma 0.8 --steps 200", "--solver dpm2m --steps 20",
                              "--solver dpm2 --steps 10 --form noise --grid logsnr"};
    check_samples_of("cfm", solvers, 4, model, sizeof model);
    check_exp_order(model, "--t0 0.001 --t1 0.999");
    cr_expect(exit_status("%s sample --model %s --solver dpm2m --t0 0 > /dev/null 2>&1", model) == 2,
              "an exponential integrator from alpha = 0 accepted");
    cr_expect(exit_status("%s sample --model %s --solver dpm2m --form noise --t1 1 > /dev/null 2>&1", model) == 2,
              "the noise form to beta = 0 accepted");
    cr_expect(exit_status("%s sample --model %s --solver rk4 --grid logsnr > /dev/null 2>&1", model) == 2,
              "--grid accepted for an ODE solver");
    cr_expect(exit_status("%s sample --model %s --solver dpm2 --grid time:0.5 > /dev/null 2>&1", model) == 2,
              "a grid power below 1 accepted");
    cr_expect(exit_status("%s sample --model %s --solver em > /dev/null 2>&1", model) == 2, "em without --sigma accepted");
    cr_expect(exit_status("%s sample --model %s > /dev/null 2>&1", "/nonexistent") == 2, "a missing model accepted");
    unlink(model);
}

/* Score models (dsm predicts the score, ddpm the noise): the same, with the
 * field from Prop 1 on the default [0.05, t-max] (and the exponential
 * integrators through fmd_model_eps); asking for t0 = 0,
 * where a score gives no field, is refused with exit status 2. */
Test(sample_command, samples_of_trained_score_models)
{
    const char *objectives[2] = {"dsm", "ddpm"};
    const char *solvers[4] = {"--solver rk4 --steps 40", "--solver heun --steps 40 --t0 0.02",
                              "--sigma 0.8 --steps 200", "--solver dpm2m --steps 20"};
    for (int o = 0; o < 2; o++) {
        char model[256];
        check_samples_of(objectives[o], solvers, 4, model, sizeof model);
        check_exp_order(model, "--t0 0.05 --t1 0.95");
        cr_expect(exit_status("%s sample --model %s --t0 0 > /dev/null 2>&1", model) == 2,
                  "%s: t0 = 0 accepted for a score model", objectives[o]);
        unlink(model);
    }
}

/* the value on the line starting with `label` that a command prints */
static double printed_value(const char *cmd, const char *label)
{
    char line[256];
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    double v = NAN;
    while (fgets(line, sizeof line, p))
        if (strncmp(line, label, strlen(label)) == 0)
            v = strtod(line + strlen(label), NULL);
    cr_expect_eq(WEXITSTATUS(pclose(p)), 0, "%s failed", cmd);
    return v;
}

static double eval_fm(const char *fmd, const char *model, const char *gmm)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s eval --model %s --gmm %s -n 2000 --steps 40", fmd, model, gmm);
    return printed_value(cmd, "exact FM loss");
}

/* `fmd eval` tells a trained flow model from an untrained one: 1500 steps
 * cut the exact FM loss (chapter 3's oracle) at least tenfold. */
Test(eval_command, exact_fm_loss_falls_with_training)
{
    const char *fmd = getenv("FMD_BIN") ? getenv("FMD_BIN") : "build/fmd";
    const char *gmm = "chapters/03-constructing-a-training-target/five_modes.gmm";
    char m1[256], m2[256];
    tmp_path(m1, sizeof m1, "eval1");
    tmp_path(m2, sizeof m2, "eval2");
    const char *a[] = {fmd, "train", "--gmm", gmm, "--out", m1, "--steps", "1", "--batch", "64",
                       "--hidden", "32,32", "--fourier", "2", NULL};
    const char *b[] = {fmd, "train", "--gmm", gmm, "--out", m2, "--steps", "1500", "--batch", "256",
                       "--hidden", "32,32", "--fourier", "2", NULL};
    cr_assert_eq(run_train(a, 0), 0);
    cr_assert_eq(run_train(b, 0), 0);
    double untrained = eval_fm(fmd, m1, gmm), trained = eval_fm(fmd, m2, gmm);
    cr_log_info("exact FM loss: untrained %.4f, trained %.4f", untrained, trained);
    cr_expect(isfinite(trained) && 10 * trained < untrained, "exact FM loss %.4f (trained) vs %.4f (untrained)", trained, untrained);
    unlink(m1);
    unlink(m2);
}

static double eval_sw(const char *fmd, const char *model, const char *data)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s eval --model %s --data %s -n 2000 --steps 40", fmd, model, data);
    return printed_value(cmd, "sliced W1");
}

/* `fmd train --data checkerboard` learns the board: the sliced W1 of its
 * samples to fresh data falls at least threefold against an untrained net. */
Test(eval_command, toy_set_training_closes_the_distance)
{
    const char *fmd = getenv("FMD_BIN") ? getenv("FMD_BIN") : "build/fmd";
    char m1[256], m2[256];
    tmp_path(m1, sizeof m1, "toy1");
    tmp_path(m2, sizeof m2, "toy2");
    const char *a[] = {fmd, "train", "--data", "checkerboard", "--out", m1, "--steps", "1", "--batch", "64",
                       "--hidden", "64,64", "--fourier", "2", NULL};
    const char *b[] = {fmd, "train", "--data", "checkerboard", "--out", m2, "--steps", "1500", "--batch", "256",
                       "--hidden", "64,64", "--fourier", "2", "--lr", "3e-3", NULL};
    cr_assert_eq(run_train(a, 0), 0);
    cr_assert_eq(run_train(b, 0), 0);
    double untrained = eval_sw(fmd, m1, "checkerboard"), trained = eval_sw(fmd, m2, "checkerboard");
    cr_log_info("sliced W1 to the checkerboard: untrained %.4f, trained %.4f", untrained, trained);
    cr_expect(isfinite(trained) && 3 * trained < untrained, "sliced W1 %.4f (trained) vs %.4f (untrained)", trained, untrained);
    unlink(m1);
    unlink(m2);
}

/* `fmd train --labels` then `fmd sample --class Y --guidance W`: on the two
 * moons, class 1 (the lower moon, mean height -5 * 2/pi = -3.2) sampled with
 * w = 3 sits lower than class 0 (mean height +0.7) by more than 6.5 standard
 * errors of the difference; a class the model lacks, or --class with a model
 * trained without labels, exits 2. */
Test(sample_command, classifier_free_guidance_of_a_labelled_model)
{
    const char *fmd = getenv("FMD_BIN") ? getenv("FMD_BIN") : "build/fmd";
    char model[256], plain[256], cmd[1024];
    tmp_path(model, sizeof model, "labels");
    tmp_path(plain, sizeof plain, "nolabels");
    const char *train[] = {fmd, "train", "--data", "moons", "--labels", "--out", model, "--steps", "1500", "--batch", "256",
                           "--hidden", "64,64", "--fourier", "4", "--lr", "2e-3", "--seed", "5", NULL};
    cr_assert_eq(run_train(train, 0), 0);
    enum { N = 2000 };
    static double x[2 * N];
    double m[2], se[2];
    for (int y = 0; y < 2; y++) {
        snprintf(cmd, sizeof cmd, "%s sample --model %s -n %d --solver rk4 --steps 50 --class %d --guidance 3 --seed 8",
                 fmd, model, N, y);
        cr_assert_eq(read_samples(cmd, x, N), 2 * N, "%s", cmd);
        static double h[N];
        for (int i = 0; i < N; i++)
            h[i] = x[2 * i + 1];
        fmd_mean_se(N, h, 1, &m[y], &se[y]);
    }
    cr_log_info("guided mean heights: class 0 %.3f +- %.3f, class 1 %.3f +- %.3f", m[0], se[0], m[1], se[1]);
    cr_expect(m[0] - m[1] > 6.5 * sqrt(se[0] * se[0] + se[1] * se[1]), "class 0 at %.3f, class 1 at %.3f", m[0], m[1]);
    cr_expect(exit_status("%s sample --model %s --class 2 > /dev/null 2>&1", model) == 2, "class 2 of 2 accepted");
    const char *train_plain[] = {fmd, "train", "--data", "moons", "--out", plain, "--steps", "2", "--batch", "16",
                                 "--hidden", "8", NULL};
    cr_assert_eq(run_train(train_plain, 0), 0);
    cr_expect(exit_status("%s sample --model %s --class 0 > /dev/null 2>&1", plain) == 2, "--class on an unlabelled model");
    unlink(model);
    unlink(plain);
}

/* `fmd likelihood`: through the exact mixture field its ODE log-likelihood
 * matches the closed form it prints beside it (to 1e-6 at the default
 * tolerance 1e-8); for a trained flow model it prints finite log-likelihoods
 * with bits per dimension = -log2 p / d; a score model, a malformed point and
 * a missing --schedule exit 2. */
Test(likelihood_command, exact_mixture_and_trained_model)
{
    const char *fmd = getenv("FMD_BIN") ? getenv("FMD_BIN") : "build/fmd";
    const char *gmm = "chapters/03-constructing-a-training-target/five_modes.gmm";
    char pts[256], model[256], score[256], cmd[1024], line[512];
    snprintf(pts, sizeof pts, "/tmp/fmd-lik-%d.txt", (int)getpid());
    FILE *f = fopen(pts, "w");
    fprintf(f, "0 0\n# a comment\n0.7 2.1\n-1.8 -1.3\n4 4\n");
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s likelihood --gmm %s --schedule cosine --points %s", fmd, gmm, pts);
    FILE *p = popen(cmd, "r");
    int rows = 0;
    while (p && fgets(line, sizeof line, p)) {
        if (line[0] == '#')
            continue;
        double ode, exact, diff;
        cr_assert_eq(sscanf(line, "%lf %lf %lf", &ode, &exact, &diff), 3, "%s", line);
        cr_expect(fabs(ode - exact) <= 1e-6 && fabs(diff - (ode - exact)) <= 1e-9, "ODE %.12g vs closed form %.12g", ode, exact);
        rows++;
    }
    cr_expect_eq(WEXITSTATUS(pclose(p)), 0);
    cr_expect_eq(rows, 4);
    tmp_path(model, sizeof model, "likflow");
    tmp_path(score, sizeof score, "likscore");
    const char *train[] = {fmd, "train", "--gmm", gmm, "--out", model, "--steps", "300", "--batch", "256", "--hidden", "32,32", NULL};
    const char *train_s[] = {fmd, "train", "--gmm", gmm, "--out", score, "--steps", "2", "--batch", "16", "--hidden", "8",
                             "--objective", "dsm", NULL};
    cr_assert_eq(run_train(train, 0), 0);
    cr_assert_eq(run_train(train_s, 0), 0);
    snprintf(cmd, sizeof cmd, "%s likelihood --model %s --points %s --solver rk4 --steps 50", fmd, model, pts);
    p = popen(cmd, "r");
    rows = 0;
    while (p && fgets(line, sizeof line, p)) {
        if (line[0] == '#')
            continue;
        double lp, bpd;
        cr_assert_eq(sscanf(line, "%lf %lf", &lp, &bpd), 2, "%s", line);
        cr_expect(isfinite(lp) && fabs(bpd + lp / (2 * M_LN2)) <= 1e-8 * (1 + fabs(bpd)), "log p %g, bits/dim %g", lp, bpd);
        rows++;
    }
    cr_expect_eq(WEXITSTATUS(pclose(p)), 0);
    cr_expect_eq(rows, 4);
    cr_expect(exit_status("echo '0 0' | %s likelihood --model %s > /dev/null 2>&1", score) == 2, "a score model accepted");
    cr_expect(exit_status("echo '0 x' | %s likelihood --model %s > /dev/null 2>&1", model) == 2, "a malformed point accepted");
    snprintf(cmd, sizeof cmd, "echo '0 0' | %s likelihood --gmm %s > /dev/null 2>&1", fmd, gmm);
    cr_expect(WEXITSTATUS(system(cmd)) == 2, "--gmm without --schedule accepted");
    unlink(pts);
    unlink(model);
    unlink(score);
}

/* `fmd sample --gmm FILE --schedule NAME` runs the samplers on the exact
 * marginal field of a mixture (chapter 3) instead of a network: RK4, 100
 * steps, on chapter 3's mixture, 4000 samples whose mean log p_data must
 * match that of 4000 fresh data draws within 0.02 nats (RK4's own error on
 * this field, measured 0.001) + Z_CHECK SE of the difference (1 check);
 * and exact classifier-free guidance (--class Y) of a labelled mixture puts
 * every sample in its class's region (the class posterior at t = 1 above
 * 1/2 for at least 99% of 500 samples, w = 2; measured 500 of 500 -- class 1
 * overlaps class 0 on purpose: the conditional sampler (w = 1) leaves 21 of
 * 500 where class 0 is likelier, so the check can tell w = 2 from w = 1). */
Test(sample_command, exact_mixture_field_samples_p_data)
{
    const char *fmd = getenv("FMD_BIN") ? getenv("FMD_BIN") : "build/fmd";
    const char *gmm = "chapters/03-constructing-a-training-target/five_modes.gmm";
    char cmd[1024];
    enum { N = 4000 };
    static double x[2 * N], lp[N], z[2 * N];
    snprintf(cmd, sizeof cmd, "%s sample --gmm %s --schedule condot --solver rk4 --steps 100 -n %d --seed 3", fmd, gmm, N);
    cr_assert_eq(read_samples(cmd, x, N), 2 * N);
    fmd_gmm *g;
    fmd_parse_error perr;
    cr_assert_eq(fmd_gmm_load(gmm, &g, &perr), FMD_OK);
    double m1, s1, m0, s0;
    fmd_gmm_log_density(g, N, x, lp);
    fmd_mean_se(N, lp, 1, &m1, &s1);
    gsl_rng *r;
    fmd_rng_alloc(77, 0, &r);
    fmd_gmm_sample(g, r, N, z, NULL);
    gsl_rng_free(r);
    fmd_gmm_log_density(g, N, z, lp);
    fmd_mean_se(N, lp, 1, &m0, &s0);
    cr_expect(fabs(m1 - m0) <= 0.02 + Z_CHECK * hypot(s0, s1), "exact field: mean log p %.4f vs data %.4f (SEs %.4f, %.4f)", m1,
              m0, s1, s0);
    fmd_gmm_free(g);
    const char *lab = "chapters/05-conditional-generation/three_classes.gmm";
    cr_assert_eq(fmd_gmm_load(lab, &g, &perr), FMD_OK);
    snprintf(cmd, sizeof cmd, "%s sample --gmm %s --schedule condot --solver rk4 --steps 100 -n 500 --class 1 --guidance 2",
             fmd, lab);
    cr_assert_eq(read_samples(cmd, x, 500), 1000);
    fmd_schedule sch;
    fmd_schedule_by_name("condot", &sch);
    fmd_guidance_params P;
    cr_assert_eq(fmd_guidance_init(&P, g, 1, &sch, 1.0), FMD_OK);
    double logpy[500];
    cr_assert_eq(fmd_class_posterior(&P, 1.0, 500, x, logpy, NULL), FMD_OK);
    int inside = 0;
    for (int i = 0; i < 500; i++)
        inside += logpy[i] > log(0.5);
    cr_log_info("exact guidance towards class 1, w = 2: %d of 500 samples in its region", inside);
    cr_expect(inside >= 495, "exact guidance towards class 1: %d of 500 samples in its region", inside);
    fmd_guidance_free(&P);
    fmd_gmm_free(g);
    cr_expect(exit_status("%s sample --gmm %s > /dev/null 2>&1", gmm) == 2, "--gmm without --schedule accepted");
    cr_expect(exit_status("%s sample --gmm %s --schedule condot --model x > /dev/null 2>&1", gmm) == 2,
              "--gmm with --model accepted");
}

/* `fmd eval --gmm FILE --samples POINTS [--starts POINTS --schedule NAME]`
 * scores anyone's samples against the exact mixture. Samples of the exact
 * field by RK4 (100 steps) from starts eps ~ N(0, I) (fmd_sample_init, the
 * starts `fmd sample` uses at t0 = 0) and by Euler (10 steps) from the same
 * starts: the coupled RMS error against the exact flow's image of each start
 * is below 1e-3 for RK4 (its error here, measured 2e-8) and above 0.1 for
 * Euler (measured 0.24): the measure resolves what the NLL gap, within its
 * SE of ~0.02 for both, cannot. RK4's NLL gap is within 0.02 + Z_CHECK SE
 * of 0 (1 check). */
Test(eval_command, scores_samples_from_any_program)
{
    const char *fmd = getenv("FMD_BIN") ? getenv("FMD_BIN") : "build/fmd";
    const char *gmm = "chapters/05-conditional-generation/three_classes.gmm";
    char starts[256], rk4[256], euler[256], cmd[1400];
    tmp_path(starts, sizeof starts, "starts");
    tmp_path(rk4, sizeof rk4, "rk4");
    tmp_path(euler, sizeof euler, "euler");
    enum { N = 2000 };
    static double x0[2 * N];
    fmd_sample_init(5, N, 2, x0);
    FILE *f = fopen(starts, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < N; i++)
        fprintf(f, "%.17g %.17g\n", x0[2 * i], x0[2 * i + 1]);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s sample --gmm %s --schedule condot --solver rk4 --steps 100 -n %d --seed 5 > %s", fmd, gmm,
             N, rk4);
    cr_assert_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s sample --gmm %s --schedule condot --solver euler --steps 10 -n %d --seed 5 > %s", fmd, gmm,
             N, euler);
    cr_assert_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s eval --gmm %s --samples %s --starts %s --schedule condot", fmd, gmm, rk4, starts);
    const double rms_rk4 = printed_value(cmd, "coupled RMS error"), gap = printed_value(cmd, "NLL gap");
    char line[256];
    double gap_se = NAN;
    FILE *p = popen(cmd, "r");
    while (p && fgets(line, sizeof line, p))
        if (strncmp(line, "NLL gap", 7) == 0)
            sscanf(line + 7, "%*g %lg", &gap_se);
    if (p)
        pclose(p);
    snprintf(cmd, sizeof cmd, "%s eval --gmm %s --samples %s --starts %s --schedule condot", fmd, gmm, euler, starts);
    const double rms_euler = printed_value(cmd, "coupled RMS error");
    cr_log_info("coupled RMS: RK4 %.3g, Euler %.3g; RK4's NLL gap %.4f +- %.4f", rms_rk4, rms_euler, gap, gap_se);
    cr_expect(rms_rk4 < 1e-3, "RK4 100 steps: coupled RMS %.3g", rms_rk4);
    cr_expect(rms_euler > 0.1, "Euler 10 steps: coupled RMS %.3g", rms_euler);
    cr_expect(fabs(gap) <= 0.02 + Z_CHECK * gap_se, "RK4 100 steps: NLL gap %.4f (SE %.4f)", gap, gap_se);
    snprintf(cmd, sizeof cmd, "%s eval --gmm %s --samples %s --starts %s > /dev/null 2>&1", fmd, gmm, rk4, starts);
    const int st = system(cmd);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 2, "--starts without --schedule accepted");
    unlink(starts);
    unlink(rk4);
    unlink(euler);
}
