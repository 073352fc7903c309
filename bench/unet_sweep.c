/* unet_sweep.c -- which U-Net for a few minutes of training (issue 27):
 * widths, levels, 2 x 2 patches, attention, the objective (CFM, or EDM's
 * denoiser) and the law of CFM's t, each with chapter 5's training
 * settings (chapters/05-conditional-generation/unet_recipe.h) and trained
 * for the same wall time on this machine's CPUs, then the Fréchet distance
 * of its samples to the test set in the features of chapter 5's classifier
 * (src/networks/frechet.h), beside the chapter's MLP denoiser trained for
 * the same time and the floor (training images against the test set).
 *
 * A bench, so the budget is wall time: the steps each network gets are
 * what this machine does in it (the tour fixes its steps in advance from
 * these rates; chapters/05-conditional-generation/unet_part.c). Samplers, about 10
 * network evaluations an image for the U-Nets: CFM by the midpoint rule in
 * 5 steps on [0, 1]; EDM by Heun on Karras's levels (Algorithm 1 of Karras
 * et al. 2022, 6 levels and a last Euler step to 0: 11 evaluations); the
 * MLP denoiser as chapter 5 samples it (midpoint, 25 steps on [0, 0.999]).
 * Classes in turn, guidance w = 1, the same noise for every model.
 *
 * usage: unet_sweep RESULTS_DIR [SECONDS [N]]   (default 60 s a network, N = 2000 samples)
 * writes unet_sweep.tsv and unet_sweep_mlp_laws.tsv; needs chapter 5's classifier in the data directory
 * (make tour, or `make bench`, which runs chapter 5 first if it is missing). */
#include "bench.h"
#include "networks/frechet.h"
#include "files/unet_checkpoint.h"
#include "../chapters/05-conditional-generation/unet_recipe.h"

typedef struct {
    const char *name;
    size_t patch, channels, levels, mult[3];
    int attention;
    int edm;          /* 0: CFM; 1: EDM's denoiser; 2: the denoiser with EDM's read-out but uniform t
                         and weight (which of EDM's pieces matters) */
    int logit;        /* CFM: t uniform (0) or logit-normal as the chapter draws it (1) */
    size_t batch;
} sweep_config;

static const sweep_config configs[] = {
    {"c32-122-att-cfm-b64", 1, 32, 3, {1, 2, 2}, 1, 0, 0, 64},   /* chapter 5's first U-Net */
    {"c16-122-att-cfm-b32", 1, 16, 3, {1, 2, 2}, 1, 0, 0, 32},
    {"c16-122-att-edm-b32", 1, 16, 3, {1, 2, 2}, 1, 1, 0, 32},
    {"c16-122-att-den-b32", 1, 16, 3, {1, 2, 2}, 1, 2, 0, 32},
    {"c16-122-att-cfm-b16", 1, 16, 3, {1, 2, 2}, 1, 0, 0, 16},
    {"c16-122-noatt-cfm-b32", 1, 16, 3, {1, 2, 2}, 0, 0, 0, 32},
    {"c16-124-att-cfm-b32", 1, 16, 3, {1, 2, 4}, 1, 0, 0, 32},
    {"c8-124-att-cfm-b32", 1, 8, 3, {1, 2, 4}, 1, 0, 0, 32},   /* the chapter's second */
    {"c24-122-att-cfm-b32", 1, 24, 3, {1, 2, 2}, 1, 0, 0, 32},
    {"c16-12-att-cfm-b32", 1, 16, 2, {1, 2}, 1, 0, 0, 32},
    /* logit-normal t, and 2 x 2 patches: levels 14 and 7 */
    {"c8-124-att-cfm-logit-b32", 1, 8, 3, {1, 2, 4}, 1, 0, 1, 32},
    {"p2-c16-12-att-cfm-b32", 2, 16, 2, {1, 2}, 1, 0, 0, 32},
    {"p2-c16-12-att-cfm-logit-b32", 2, 16, 2, {1, 2}, 1, 0, 1, 32},   /* the chapter's (unet_recipe.h) */
    {"p2-c12-12-att-cfm-logit-b32", 2, 12, 2, {1, 2}, 1, 0, 1, 32},
    {"p2-c24-12-att-cfm-logit-b32", 2, 24, 2, {1, 2}, 1, 0, 1, 32},
    {"p2-c16-12-att-cfm-logit-b64", 2, 16, 2, {1, 2}, 1, 0, 1, 64},
    {"p2-c16-12-att-edm-b32", 2, 16, 2, {1, 2}, 1, 1, 0, 32},
};

/* Fréchet distance of n images x to the moments (mu, S) of the test set */
static double distance(const fmd_mlp *clf, size_t n, const double *x, const double *mu, const double *S)
{
    double fd = NAN;
    fmd_image_frechet_distance(clf, n, x, mu, S, &fd);
    return fd;
}

/* n samples of a U-Net, class i mod 10 for sample i, seed 800 + class,
 * clipped to [-1, 1] */
static int unet_samples(fmd_unet *net, int edm, size_t n, double *x)
{
    fmd_unet_eval *ev;
    if (fmd_unet_eval_alloc(net, &ev) != FMD_OK)
        return FMD_ENOMEM;
    const size_t m = n / 10;
    double *xy = malloc(m * 784 * sizeof(double));
    fmd_sampler s;
    fmd_sampler_by_name(edm ? "heun-edm" : "midpoint", &s);
    fmd_sampler_options o;
    fmd_sampler_options_default(&o);
    o.n = m, o.steps = edm ? 6 : 5, o.threads = fmd_cpus_available();
    const fmd_prediction predicts = edm ? FMD_PREDICTS_DATA : FMD_PREDICTS_FIELD;
    fmd_sampler_interval(&s, &o, &net->cfg.schedule, predicts, edm, 1.0, &o.t0, &o.t1);
    int status = xy ? FMD_OK : FMD_ENOMEM;
    for (int y = 0; status == FMD_OK && y < 10; y++) {
        fmd_unet_guidance G = {ev, y, 1.0};
        fmd_field u = {fmd_unet_guided_field, 784, &G};
        fmd_flow_sde_params P = {&u, net->cfg.schedule, 0.0, predicts, NULL};
        o.seed = 800 + (uint64_t)y;
        status = fmd_sampler_run(&s, &P, &o, xy, NULL, NULL, NULL);
        for (size_t j = 0; j < m; j++)
            for (size_t k = 0; k < 784; k++)
                x[(y + 10 * j) * 784 + k] = fmin(1.0, fmax(-1.0, xy[j * 784 + k]));
    }
    free(xy);
    fmd_unet_eval_free(ev);
    return status;
}

/* Train c for `seconds` of wall time; its EMA network into *out, steps done into *steps. */
static int train_unet(const sweep_config *c, fmd_image_set *train, double seconds, fmd_unet **out,
                      unsigned long *steps, size_t *nparams)
{
    fmd_schedule sch;
    fmd_schedule_by_name("condot", &sch);
    fmd_unet_config cfg;
    fmd_train_config tc;
    ch05_unet_network(&cfg);   /* chapter 5's recipe, then this row's changes */
    ch05_unet_training(c->edm == 1, &sch, &tc);
    cfg.patch = c->patch, cfg.channels = c->channels, cfg.levels = c->levels, cfg.attention = c->attention;
    cfg.emb = 4 * c->channels, cfg.schedule = sch;
    for (size_t l = 0; l < c->levels; l++)
        cfg.mult[l] = c->mult[l];
    tc.batch = c->batch;
    if (c->edm == 0 && !c->logit)
        tc.time_law = FMD_TIME_UNIFORM;
    if (c->edm && ch05_unet_edm_readout(&sch, train, &cfg) != FMD_OK)
        return 1;
    if (c->edm == 2)   /* EDM's read-out alone: the denoiser, t uniform, weight 1 */
        tc.objective = FMD_LOSS_DENOISER, tc.time_law = FMD_TIME_UNIFORM;
    tc.threads = fmd_cpus_available();
    fmd_unet *net;
    gsl_rng *r;
    if (fmd_unet_alloc(&cfg, &net) != FMD_OK)
        return 1;
    fmd_rng_alloc(CH05_UNET_SEED, 1, &r);
    fmd_unet_init(net, r);
    gsl_rng_free(r);
    fmd_unet_trainer *tr;
    if (fmd_unet_trainer_alloc(&tc, fmd_image_set_sampler, train, net, &tr) != FMD_OK)
        return 1;
    double loss;
    const double t0 = now();
    while (now() - t0 < seconds && fmd_unet_train_step(tr, &loss) == FMD_OK)
        ;
    *steps = tr->step, *nparams = net->nparams;
    memcpy(fmd_unet_params(net), tr->ema, net->nparams * fmd_dtype_size(cfg.dtype));   /* sample the EMA */
    fmd_unet_trainer_free(tr);
    *out = net;
    return 0;
}

/* chapter 5's MLP denoiser (its plain read-out, no clipping: chapters/05-conditional-generation/main.c)
 * trained for `seconds`, sampled as the chapter does; t uniform as the chapter draws it, or, if
 * logit is not NAN, logit-normal: ln sigma ~ N(logit, 1) (the U-Net's law at logit = 0.5) */
static int mlp_run(fmd_image_set *train, double seconds, double logit, size_t n, double *x, unsigned long *steps,
                   size_t *nparams)
{
    fmd_mlp_config mc = {.d = 784, .n_fourier = 4, .n_classes = 10, .depth = 3, .width = {512, 512, 512},
                         .act = FMD_SILU, .dtype = FMD_F32};
    fmd_schedule_by_name("condot", &mc.schedule);
    fmd_mlp *net;
    gsl_rng *r;
    if (fmd_mlp_alloc(&mc, &net) != FMD_OK)
        return 1;
    fmd_rng_alloc(92, 1, &r);
    fmd_mlp_init(net, r);
    gsl_rng_free(r);
    fmd_train_config tc = {.objective = FMD_LOSS_DENOISER, .batch = 128, .lr = 1e-3, .t_max = 1.0,
                           .ema_decay = 0.999, .label_drop = 0.1, .seed = 92, .schedule = mc.schedule};
    tc.threads = fmd_cpus_available();
    if (!isnan(logit))
        tc.time_law = FMD_TIME_LOGNORMAL, tc.p_mean = logit, tc.p_std = 1.0;
    fmd_trainer *tr;
    if (fmd_trainer_alloc_sampler(&tc, fmd_image_set_sampler, train, net, &tr) != FMD_OK)
        return 1;
    double loss;
    const double t0 = now();
    while (now() - t0 < seconds && fmd_train_step(tr, &loss) == FMD_OK)
        ;
    *steps = tr->step, *nparams = net->nparams;
    memcpy(net->params32, tr->ema, net->nparams * sizeof(float));
    fmd_trainer_free(tr);
    fmd_mlp_eval *ev;
    fmd_mlp_eval_alloc(net, &ev);
    fmd_sampler s;
    fmd_sampler_by_name("midpoint", &s);
    fmd_sampler_options o;
    fmd_sampler_options_default(&o);
    o.n = n / 10, o.steps = 25, o.t0 = 0.0, o.t1 = 0.999, o.threads = fmd_cpus_available();
    double *xy = malloc(o.n * 784 * sizeof(double));
    int status = xy ? FMD_OK : FMD_ENOMEM;
    for (int y = 0; status == FMD_OK && y < 10; y++) {
        fmd_mlp_guidance G = {net, y, 1.0, ev};
        fmd_field D = {fmd_mlp_guided_field, 784, &G};
        fmd_flow_sde_params P = {&D, mc.schedule, 0.0, FMD_PREDICTS_DATA, NULL};
        o.seed = 800 + (uint64_t)y;
        status = fmd_sampler_run(&s, &P, &o, xy, NULL, NULL, NULL);
        for (size_t j = 0; j < o.n; j++)
            for (size_t k = 0; k < 784; k++)
                x[(y + 10 * j) * 784 + k] = fmin(1.0, fmax(-1.0, xy[j * 784 + k]));
    }
    free(xy);
    fmd_mlp_eval_free(ev);
    fmd_mlp_free(net);
    return status != FMD_OK;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "bench/results";
    const double seconds = argc > 2 ? atof(argv[2]) : 60.0;
    const size_t n = argc > 3 ? (size_t)atol(argv[3]) : 2000;
    const char *only = getenv("FMD_SWEEP_ONLY");   /* a comma-separated list of names, to rerun a few */
    fmd_image_set train, test;
    char why[512], path[4096];
    if (fmd_fmnist_load(NULL, 1, &train, why, sizeof why) != FMD_OK ||
        fmd_fmnist_load(NULL, 0, &test, why, sizeof why) != FMD_OK) {
        fprintf(stderr, "unet_sweep: %s\n", why);
        return 1;
    }
    snprintf(path, sizeof path, "%s/ch05_fmnist_classifier.safetensors", fmd_data_dir());
    fmd_mlp *clf;
    fmd_run_info info;
    if (fmd_checkpoint_load(path, &clf, &info, NULL, why, sizeof why) != FMD_OK) {
        fprintf(stderr, "unet_sweep: %s: %s (chapter 5 writes it: make tour)\n", path, why);
        return 1;
    }
    const size_t k = fmd_classifier_feature_width(clf);
    double *mu = malloc(k * sizeof(double)), *S = malloc(k * k * sizeof(double)), *x = malloc(n * 784 * sizeof(double));
    if (!mu || !S || !x || n % 10 != 0 || n > test.n || fmd_image_feature_moments(clf, n, test.x, mu, S) != FMD_OK)
        return 1;
    const double floor_fd = distance(clf, n, train.x, mu, S);
    snprintf(path, sizeof path, "%s/unet_sweep.tsv", dir);
    fmd_atomic_file out;
    if (fmd_atomic_open(path, &out) != FMD_OK)
        return 1;
    fprintf(out.fp, "# %g s of training each on %d CPUs; Frechet distance of %zu samples (w = 1) in chapter 5's "
                    "classifier features; floor %.4g\n", seconds, fmd_cpus_available(), n, floor_fd);
    fprintf(out.fp, "name\tparams\tsteps\timages\tsteps_per_s\tfrechet_distance\tfloor\n");
    unsigned long steps, mlp_steps = 0;
    size_t nparams;
    double mlp_fd = NAN;   /* the MLP with uniform t, beside its other laws below */
    if (!only || strstr(only, "mlp")) {
        if (mlp_run(&train, seconds, NAN, n, x, &steps, &nparams) != 0)
            return 1;
        const double fd = distance(clf, n, x, mu, S);
        mlp_fd = fd, mlp_steps = steps;
        fprintf(out.fp, "mlp-denoiser-512x3-b128\t%zu\t%lu\t%lu\t%.4g\t%.4g\t%.4g\n", nparams, steps, steps * 128,
                (double)steps / seconds, fd, floor_fd);
        printf("%-28s %9zu params %6lu steps  FD %.3g (floor %.3g)\n", "mlp-denoiser", nparams, steps, fd, floor_fd);
        fflush(stdout);
    }
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        const sweep_config *c = &configs[i];
        if (only && !strstr(only, c->name))
            continue;
        fmd_unet *net;
        if (train_unet(c, &train, seconds, &net, &steps, &nparams) != 0 || unet_samples(net, c->edm != 0, n, x) != FMD_OK)
            return 1;
        const double fd = distance(clf, n, x, mu, S);
        fprintf(out.fp, "%s\t%zu\t%lu\t%lu\t%.4g\t%.4g\t%.4g\n", c->name, nparams, steps, steps * c->batch,
                (double)steps / seconds, fd, floor_fd);
        printf("%-28s %9zu params %6lu steps  FD %.3g\n", c->name, nparams, steps, fd);
        fflush(stdout);
        fmd_unet_free(net);
    }
    fmd_atomic_commit(&out);
    /* Is the law of t worth as much to the MLP? The same MLP and time, t logit-normal
     * (unet_sweep_mlp_laws.tsv; its own file, so the figure's bars stay U-Nets). */
    static const struct { const char *name; double logit; } laws[] = {
        {"mlp-denoiser-512x3-logit0-b128", 0.0}, {"mlp-denoiser-512x3-logit0.5-b128", 0.5}};
    fmd_atomic_file lf;
    snprintf(path, sizeof path, "%s/unet_sweep_mlp_laws.tsv", dir);
    if (fmd_atomic_open(path, &lf) != FMD_OK)
        return 1;
    fprintf(lf.fp, "# chapter 5's MLP denoiser, %g s of training on %d CPUs, t uniform (p_mean nan) or logit-normal: "
                   "ln sigma ~ N(p_mean, 1); the rest as unet_sweep.tsv\n", seconds, fmd_cpus_available());
    fprintf(lf.fp, "name\tp_mean\tsteps\tfrechet_distance\tfloor\n");
    if (!isnan(mlp_fd))   /* p_mean NaN: t uniform, the row of unet_sweep.tsv */
        fprintf(lf.fp, "mlp-denoiser-512x3-b128\tnan\t%lu\t%.4g\t%.4g\n", mlp_steps, mlp_fd, floor_fd);
    for (size_t i = 0; i < sizeof laws / sizeof laws[0]; i++) {
        if (only && !strstr(only, laws[i].name))
            continue;
        if (mlp_run(&train, seconds, laws[i].logit, n, x, &steps, &nparams) != 0)
            return 1;
        const double fd = distance(clf, n, x, mu, S);
        fprintf(lf.fp, "%s\t%g\t%lu\t%.4g\t%.4g\n", laws[i].name, laws[i].logit, steps, fd, floor_fd);
        printf("%-28s %6lu steps  FD %.3g\n", laws[i].name, steps, fd);
        fflush(stdout);
    }
    fmd_atomic_commit(&lf);
    free(mu), free(S), free(x);
    fmd_mlp_free(clf);
    fmd_image_set_free(&train), fmd_image_set_free(&test);
    return 0;
}
