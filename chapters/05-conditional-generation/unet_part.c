/* unet_part.c -- chapter 5, part 4: the U-Net of lecture 002 on
 * Fashion-MNIST, beside part 3's MLP denoiser, at equal training time.
 *
 * The network of src/networks/unet.h that the sweep chose for a few
 * minutes of two CPUs (bench/unet_sweep.c), trained in float32 by
 * src/networks/unet_train.c, both as unet_recipe.h writes them down: 2 x 2
 * patches, levels 14 and 7 at 16 and 32 channels, self-attention at 7 x 7;
 * steps of 32 images, label dropout 0.1, an EMA of 0.999 with its warm-up,
 * on every CPU; two ways:
 *   - CFM: the field on the CondOT path (Algorithm 3), t logit-normal;
 *   - EDM: the denoiser with Karras et al.'s preconditioning, loss weight
 *     and log-normal noise levels, sampled by their Heun sampler.
 * Time is counted in units of the MLP's training (its 6000 steps), and the
 * U-Net's steps per unit are fixed in advance from measured step costs
 * (UNET_UNIT below), never from this run's clock. Each run is kept at 1, 2
 * and 5 units (CFM; EDM at 1) -- with --full CFM and EDM at 1, 2, 5 and 15
 * -- beside the MLP's own run at 1 and 2 units (--full: 1, 2, 5, 15):
 *   - the Fréchet distance of n samples (w = 1, classes in turn) to the
 *     test set, in the classifier's last hidden layer (src/networks/frechet.h),
 *     with its floor, n training images against the test set: n = 2000 for
 *     the tour, 10,000 with --full: the curve of distance against time;
 *   - the grid, 4 samples per class and w (the same noise for both), and
 *     the classifier's accuracy on the guided samples, of the CFM U-Net at
 *     5 units (15 with --full).
 * Models and tables are kept in the data directory, keyed by the code and
 * options that made them (src/files/kept.h), and reused while the key holds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "images.h"
#include "unet_part.h"
#include "unet_recipe.h"

#ifndef FMD_CODE_KEY
#define FMD_CODE_KEY ""   /* built by hand: nothing is reused */
#endif

enum {
    UNET_BATCH = CH05_UNET_BATCH,   /* the network and its training: unet_recipe.h */
    /* One unit of training time, the MLP's 6000 steps, in U-Net steps: fixed in advance from a
     * measured ratio of step costs, never from the clock of this run. In one run of
     * bench/unet_sweep.c (60 s a network on this project's 2 CPUs, bench/results/unet_sweep.tsv)
     * the MLP took UNIT_MLP_STEPS steps of 128 images and this U-Net UNIT_UNET_STEPS of 32: the
     * MLP's 6000 steps are 6000 x UNIT_UNET_STEPS / UNIT_MLP_STEPS U-Net steps. */
    UNIT_MLP_STEPS = 7384, UNIT_UNET_STEPS = 4170,
    UNET_UNIT = 6000 * UNIT_UNET_STEPS / UNIT_MLP_STEPS,
    GRID_STEPS = 10,              /* midpoint steps of the grid's CFM samples (20 evaluations) */
    TABLE_STEPS = 5,              /* ... of the distances' and accuracies' (10); EDM: 6 levels (11) */
    FD_TOUR = 2000, FD_FULL = 10000,   /* samples per Fréchet distance */
    ACC_TOUR = 16, ACC_FULL = 128      /* samples per class and w for the accuracies */
};
#define UNET_SEED CH05_UNET_SEED

static void data_path(const char *name, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", fmd_data_dir(), name);
}

/* ---- the U-Nets: one training run of each kind, kept at fixed steps ---------- */

typedef struct {
    const char *name;   /* cfm | edm */
    int edm;
} unet_kind;

static const unet_kind CFM = {"cfm", 0}, EDM = {"edm", 1};

static void unet_name(const unet_kind *k, unsigned long steps, char *name, size_t len)
{
    snprintf(name, len, "ch05_fmnist_unet_%s_%lu.safetensors", k->name, steps);
}

/* the key of a kept U-Net (src/files/kept.h): the options of the run that made it, read off
 * the recipe (unet_recipe.h) */
static void unet_key(const unet_kind *k, unsigned long steps, char *key, size_t len)
{
    fmd_unet_config c;
    fmd_train_config tc;
    ch05_unet_network(&c);
    ch05_unet_training(k->edm, &(fmd_schedule){0}, &tc);
    char mult[64] = "", options[400];
    for (size_t l = 0, at = 0; l < c.levels && at < sizeof mult; l++)
        at += (size_t)snprintf(mult + at, sizeof mult - at, "%s%zu", l ? "," : "", c.mult[l]);
    snprintf(options, sizeof options, "unet patch=%zu c%zu levels=%zu mult=%s att=%d emb=%zu f32 %s condot "
                                      "batch=%zu lr=%.17g clip=%.17g ema=%.17g label-drop=%.17g seed=%llu "
                                      "lognormal(%.17g,%.17g) step=%lu",
             c.patch, c.channels, c.levels, mult, c.attention, c.emb,
             k->edm ? "denoiser edm-readout edm-weight" : "cfm", tc.batch, tc.lr, tc.clip, tc.ema_decay,
             tc.label_drop, (unsigned long long)tc.seed, tc.p_mean, tc.p_std, steps);
    fmd_kept_key(key, len, FMD_CODE_KEY, options);
}

/* The EMA weights of the kept U-Net of kind k at `steps`, or NULL. */
static fmd_unet *reuse(const unet_kind *k, unsigned long steps)
{
    char name[96], key[512], path[1024], why[256];
    unet_name(k, steps, name, sizeof name);
    unet_key(k, steps, key, sizeof key);
    if (!fmd_kept_valid(name, key))
        return NULL;
    data_path(name, path, sizeof path);
    fmd_unet *net;
    fmd_run_info info;
    if (fmd_unet_checkpoint_load(path, 1, &net, &info, NULL, why, sizeof why) != FMD_OK)
        return NULL;
    printf("   (reusing %s: its key matches this code and these options)\n", path);
    return net;
}

static int keep(const unet_kind *k, const fmd_unet *net, const fmd_unet_trainer *tr, unsigned long steps)
{
    char name[96], key[512], path[1024];
    unet_name(k, steps, name, sizeof name);
    unet_key(k, steps, key, sizeof key);
    data_path(name, path, sizeof path);
    fmd_run_info info;
    memset(&info, 0, sizeof info);
    snprintf(info.objective, sizeof info.objective, k->edm ? "denoiser" : "cfm");
    snprintf(info.schedule, sizeof info.schedule, "condot");
    snprintf(info.data, sizeof info.data, "fashion-mnist");
    info.steps = info.target_steps = steps, info.batch = UNET_BATCH;
    info.lr = tr->cfg.lr, info.clip = tr->cfg.clip, info.ema_decay = tr->cfg.ema_decay, info.t_max = 1.0;
    info.label_drop = tr->cfg.label_drop, info.seed = tr->cfg.seed;
    info.weighting = tr->cfg.weighting, info.time_law = tr->cfg.time_law;
    info.p_mean = tr->cfg.p_mean, info.p_std = tr->cfg.p_std;
    fmd_kept_forget(name);
    if (fmd_unet_checkpoint_save(path, net, tr, &info) != FMD_OK)   /* with the EMA: what reuse() samples */
        return 1;
    return fmd_kept_stamp(name, key) != FMD_OK;
}

/* Train a U-Net of kind k from scratch to the last of the n steps `at`,
 * keeping the network at each. 0 on success. */
static int train(const ch05_unet_args *a, const unet_kind *k, const unsigned long *at, size_t n)
{
    fmd_unet_config cfg;
    fmd_train_config tc;
    ch05_unet_network(&cfg);   /* unet_recipe.h */
    ch05_unet_training(k->edm, a->sch, &tc);
    if (k->edm && ch05_unet_edm_readout(a->sch, a->train, &cfg) != FMD_OK)
        return 1;
    fmd_unet *net;
    gsl_rng *r;
    if (fmd_unet_alloc(&cfg, &net) != FMD_OK)
        return 1;
    fmd_rng_alloc(CH05_UNET_SEED, 1, &r);
    const int init = fmd_unet_init(net, r);
    gsl_rng_free(r);
    tc.threads = fmd_cpus_available();   /* slices of 16 images; same bits on any number */
    fmd_unet_trainer *tr = NULL;
    if (init != FMD_OK || fmd_unet_trainer_alloc(&tc, fmd_image_set_sampler, (void *)a->train, net, &tr) != FMD_OK) {
        fmd_unet_free(net);
        return 1;
    }
    const unsigned long last = at[n - 1];
    fmd_progress p;
    char what[96];
    snprintf(what, sizeof what, "chapter 5: the %s U-Net's training steps", k->edm ? "EDM" : "CFM");
    fmd_progress_begin(&p, what, (double)last);
    double loss;
    int status = FMD_OK;
    for (unsigned long s = 1; status == FMD_OK && s <= last; s++) {
        status = fmd_unet_train_step(tr, &loss);
        for (size_t i = 0; status == FMD_OK && i < n; i++)
            if (s == at[i] && keep(k, net, tr, s) != 0) {
                *a->io_failed = 1;
                status = FMD_EIO;
            }
        fmd_progress_at(&p, (double)s);
    }
    fprintf(stderr, "   chapter 5: the %s U-Net trained %lu steps in %.0f s on this machine\n", k->name, last,
            fmd_progress_end(&p));
    fmd_unet_trainer_free(tr);
    fmd_unet_free(net);
    return status != FMD_OK;
}

/* The kept U-Nets of kind k at the n steps `at` (EMA weights) into nets[];
 * trains them if any is missing or stale. 0 on success. */
static int unets(const ch05_unet_args *a, const unet_kind *k, const unsigned long *at, size_t n, fmd_unet **nets)
{
    int missing = 0;
    for (size_t i = 0; i < n; i++)
        missing |= (nets[i] = reuse(k, at[i])) == NULL;
    if (!missing)
        return 0;
    for (size_t i = 0; i < n; i++)
        fmd_unet_free(nets[i]), nets[i] = NULL;
    if (train(a, k, at, n) != 0)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (!(nets[i] = reuse(k, at[i])))
            return 1;
    return 0;
}

/* ---- samples ---------------------------------------------------------------- */

/* n samples of class y at guidance w (y < 0: unconditional) from the noise
 * of seed, pixels clipped to [-1, 1] as an image is shown. CFM: the midpoint
 * rule in `steps` steps on [0, 1] (the network is the field); EDM: Heun on
 * Karras's levels, steps + 1 of them (Algorithm 1 of Karras et al.,
 * src/sde_view/ksampler.h), reading the denoiser as a noise prediction. */
static int unet_images(const fmd_schedule *sch, fmd_unet_eval *ev, int edm, int y, double w, uint64_t seed, size_t n,
                       size_t steps, double *x)
{
    fmd_unet_guidance G = {ev, y, w};
    fmd_field u = {fmd_unet_guided_field, 784, &G};
    fmd_sampler s;
    fmd_sampler_by_name(edm ? "heun-edm" : "midpoint", &s);
    fmd_sampler_options o;
    fmd_sampler_options_default(&o);
    o.n = n, o.steps = edm ? steps + 1 : steps, o.seed = seed, o.threads = fmd_cpus_available();
    const fmd_prediction predicts = edm ? FMD_PREDICTS_DATA : FMD_PREDICTS_FIELD;
    fmd_sampler_interval(&s, &o, sch, predicts, edm, 1.0, &o.t0, &o.t1);
    fmd_flow_sde_params P = {&u, *sch, 0.0, predicts, NULL};
    const int status = fmd_sampler_run(&s, &P, &o, x, NULL, NULL, NULL);
    for (size_t i = 0; i < n * 784; i++)
        x[i] = fmin(1.0, fmax(-1.0, x[i]));
    return status;
}

static const double grid_w[4] = {0.0, 1.0, 2.5, 5.0};

static void grids(const ch05_unet_args *a, fmd_unet_eval *ev)
{
    double *cells = malloc(10 * 4 * 4 * 784 * sizeof(double));
    if (!cells)
        return;
    for (int y = 0; y < 10; y++)
        for (int q = 0; q < 4; q++)
            ch05_mlp_images(a->mlp, a->sch, y, grid_w[q], 500 + y, 4, cells + (y * 4 + q) * 4 * 784);
    ch05_write_grid("ch05_fmnist_grid.tsv", "the MLP denoiser of part 3", 4, cells, a->io_failed);
    fmd_progress p;
    fmd_progress_begin(&p, "chapter 5: the U-Net's grid, classes", 10);
    for (int y = 0; y < 10; y++) {
        for (int q = 0; q < 4; q++)
            unet_images(a->sch, ev, 0, y, grid_w[q], 500 + y, 4, GRID_STEPS, cells + (y * 4 + q) * 4 * 784);
        fmd_progress_at(&p, y + 1);
    }
    ch05_write_grid("ch05_fmnist_unet_grid.tsv", "the U-Net", 4, cells, a->io_failed);
    free(cells);
}

/* ---- the Fréchet distance against training time --------------------------------- */

/* The Fréchet distance of n images x to the test set's moments (mu, S), in
 * the classifier's last hidden layer; NAN if it cannot be had. */
static double distance(const fmd_mlp *clf, size_t n, const double *x, const double *mu, const double *S)
{
    double fd = NAN;
    fmd_image_frechet_distance(clf, n, x, mu, S, &fd);
    return fd;
}

/* n samples at w = 1, class y for sample i = y mod 10 (the test set's own
 * balance), seeds 800 + y: of a U-Net (ev, edm) or, with ev NULL, of mlp. */
static void curve_samples(const ch05_unet_args *a, const fmd_mlp *mlp, fmd_unet_eval *ev, int edm, size_t n, double *x)
{
    const size_t m = n / 10;
    double *xy = malloc(m * 784 * sizeof(double));
    for (int y = 0; xy && y < 10; y++) {
        if (ev)
            unet_images(a->sch, ev, edm, y, 1.0, 800 + y, m, TABLE_STEPS, xy);
        else
            ch05_mlp_images(mlp, a->sch, y, 1.0, 800 + y, m, xy);
        for (size_t j = 0; j < m; j++)
            memcpy(x + (y + 10 * j) * 784, xy + j * 784, 784 * sizeof(double));   /* both samplers clip */
    }
    free(xy);
}

/* One row of the curve: a model and its training time. */
typedef struct {
    char name[32];          /* mlp | unet-cfm | unet-edm */
    double units;           /* training time in units of the MLP's 6000 steps */
    unsigned long steps, images;
    const fmd_mlp *mlp;     /* the model: an MLP, */
    fmd_unet *unet;         /* or a U-Net */
    int edm;
} curve_row;

/* The table: each row's distance, and the floor. */
static int measure_curve(const ch05_unet_args *a, const char *name, size_t n, const curve_row *rows, size_t nrows)
{
    const size_t k = fmd_classifier_feature_width(a->clf);
    double *x = malloc(n * 784 * sizeof(double)), *mu = malloc(k * sizeof(double)), *S = malloc(k * k * sizeof(double));
    if (!x || !mu || !S || a->test->n < n || a->train->n < n ||
        fmd_image_feature_moments(a->clf, n, a->test->x, mu, S) != FMD_OK) {
        free(x), free(mu), free(S);
        return 1;
    }
    fmd_progress p;
    char what[120];
    snprintf(what, sizeof what, "chapter 5: the Fréchet distances of %zu samples, models", n);
    fmd_progress_begin(&p, what, (double)nrows);
    fmd_atomic_file out;
    FILE *o = fmd_data_begin(name, "# model\tunits\tsteps\timages\tfrechet_distance (model-units; units: the MLP's "
                                   "6000 steps of training time; w = 1, classifier features)", &out, a->io_failed);
    for (size_t j = 0; j < nrows; j++) {
        const curve_row *r = &rows[j];
        fmd_unet_eval *ev = NULL;
        if (r->unet && fmd_unet_eval_alloc(r->unet, &ev) != FMD_OK)
            break;
        curve_samples(a, r->mlp, ev, r->edm, n, x);
        fmd_unet_eval_free(ev);
        if (o)
            fprintf(o, "%s-%g\t%g\t%lu\t%lu\t%.6g\n", r->name, r->units, r->units, r->steps, r->images,
                    distance(a->clf, n, x, mu, S));   /* row key: model-units */
        fmd_progress_at(&p, (double)(j + 1));
    }
    if (o) {
        fprintf(o, "floor\t0\t0\t0\t%.6g\n", distance(a->clf, n, a->train->x, mu, S));   /* real images against real */
        fmd_data_end(&out, a->io_failed);
    }
    fprintf(stderr, "   chapter 5: the distances took %.0f s on this machine\n", fmd_progress_end(&p));
    free(x), free(mu), free(S);
    return 0;
}

/* ---- accuracy and diversity against w ---------------------------------------- */

static const double ws[6] = {0.0, 1.0, 1.5, 2.5, 3.5, 5.0};

/* Accuracy of the classifier on the U-Net's guided samples, and their
 * diversity, for each w, per_class samples of each class: part 3's
 * trade-off table for the U-Net. */
static void measure_tradeoff(const ch05_unet_args *a, fmd_unet *net, const char *name, size_t per_class)
{
    fmd_unet_eval *ev;
    if (fmd_unet_eval_alloc(net, &ev) != FMD_OK)
        return;
    fmd_atomic_file f;
    FILE *out = fmd_data_begin(name, "# w accuracy accuracy_se diversity diversity_se (mean pairwise distance within a "
                                     "class)", &f, a->io_failed);
    double *x = malloc(per_class * 784 * sizeof(double));
    int *p = malloc(per_class * sizeof(int));
    fmd_progress pr;
    fmd_progress_begin(&pr, "chapter 5: the U-Net's accuracy against w, classes", 60);
    for (int q = 0; x && p && q < 6; q++) {
        double hits = 0.0, div[10];
        for (int y = 0; y < 10; y++) {
            unet_images(a->sch, ev, 0, y, ws[q], 600 + y, per_class, TABLE_STEPS, x);
            fmd_classifier_predict(a->clf, 1.0, per_class, x, p);
            for (size_t i = 0; i < per_class; i++)
                hits += p[i] == y;
            div[y] = fmd_mean_pairwise_distance(per_class, 784, x);
            fmd_progress_at(&pr, 10 * q + y + 1);
        }
        const double n = 10.0 * (double)per_class, acc = hits / n, se = sqrt(acc * (1.0 - acc) / n);
        double dm, dse;
        fmd_mean_se(10, div, 1, &dm, &dse);
        if (out)
            fprintf(out, "%g\t%.4f\t%.4f\t%.4f\t%.4f\n", ws[q], acc, se, dm, dse);
        printf("   U-Net, w = %.1f: classifier accuracy on guided samples %.3f +- %.3f, diversity %.2f +- %.2f\n", ws[q],
               acc, se, dm, dse);
    }
    if (out)
        fmd_data_end(&f, a->io_failed);
    free(x), free(p);
    fmd_unet_eval_free(ev);
}

/* ---- a kept table: measured again only if its key changed -------------------- */

/* key of a table measured with n samples and `what` on the models `rows` (or one U-Net of `steps`) */
static void table_key(const char *what, size_t n, const curve_row *rows, size_t nrows, unsigned long steps, char *key,
                      size_t len)
{
    char options[1024];
    int used = snprintf(options, sizeof options, "%s n=%zu midpoint=%d heun-levels=%d unet-seed=%d unet-unit=%d models=",
                        what, n, TABLE_STEPS, TABLE_STEPS + 1, UNET_SEED, UNET_UNIT);
    for (size_t j = 0; j < nrows && used > 0 && (size_t)used < sizeof options; j++)
        used += snprintf(options + used, sizeof options - (size_t)used, "%s%s@%lu", j ? "," : "", rows[j].name,
                         rows[j].steps);
    if (!rows && used > 0 && (size_t)used < sizeof options)
        snprintf(options + used, sizeof options - (size_t)used, "unet-cfm@%lu", steps);
    fmd_kept_key(key, len, FMD_CODE_KEY, options);
}

static void curve_table(const ch05_unet_args *a, const char *name, size_t n, const curve_row *rows, size_t nrows)
{
    char key[512];
    table_key("curve", n, rows, nrows, 0, key, sizeof key);
    if (fmd_kept_valid(name, key)) {
        printf("   (reusing %s/%s: its key matches)\n", fmd_data_dir(), name);
        return;
    }
    fmd_kept_forget(name);
    if (measure_curve(a, name, n, rows, nrows) != 0 || *a->io_failed)
        fmd_report_at_least(a->rep, "Fashion-MNIST: the distances measured", 0.0, 1.0);
    else
        fmd_kept_stamp(name, key);
}

static void tradeoff_table(const ch05_unet_args *a, const char *name, size_t per_class, unsigned long steps, fmd_unet *net)
{
    char key[512];
    table_key("tradeoff", per_class, NULL, 0, steps, key, sizeof key);
    if (fmd_kept_valid(name, key)) {
        printf("   (reusing %s/%s: its key matches)\n", fmd_data_dir(), name);
        return;
    }
    fmd_kept_forget(name);
    measure_tradeoff(a, net, name, per_class);
    if (!*a->io_failed)
        fmd_kept_stamp(name, key);
}

/* ---- reading the kept tables back, and the checks ------------------------------ */

/* A kept table, read once: each row's first field and up to 4 numbers
 * after it (NAN where missing). */
enum { KEPT_ROWS = 16 };
typedef struct {
    size_t n;
    char key[KEPT_ROWS][32];
    double v[KEPT_ROWS][4];
} kept_table;

static void read_kept(const char *name, kept_table *t)
{
    char path[1024], line[512];
    data_path(name, path, sizeof path);
    FILE *f = fopen(path, "r");
    t->n = 0;
    while (f && t->n < KEPT_ROWS && fgets(line, sizeof line, f)) {
        double *v = t->v[t->n];
        v[0] = v[1] = v[2] = v[3] = NAN;
        if (line[0] != '#' && sscanf(line, "%31s %lf %lf %lf %lf", t->key[t->n], &v[0], &v[1], &v[2], &v[3]) >= 2)
            t->n++;
    }
    if (f)
        fclose(f);
}

/* the numbers of row `key` (with units > 0, of row key-units: the curve's), or a row of NANs */
static const double *row(const kept_table *t, const char *key, double units)
{
    static const double missing[4] = {NAN, NAN, NAN, NAN};
    char full[48];
    snprintf(full, sizeof full, units > 0.0 ? "%s-%g" : "%s", key, units);
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->key[i], full) == 0)
            return t->v[i];
    return missing;
}

/* The curve, printed, and its checks. */
static void show_curve(const ch05_unet_args *a, const char *name, size_t n, double last_units)
{
    kept_table c;
    read_kept(name, &c);
    printf("   Fréchet distance to the test set against training time (%zu samples, w = 1, classifier features;\n"
           "   a unit is the MLP's 6000 steps):\n", n);
    for (size_t i = 0; i < c.n; i++)
        if (strcmp(c.key[i], "floor") != 0)
            printf("     %-10s %4g units %6.0f steps %9.0f images %8.2f\n", c.key[i], c.v[i][0], c.v[i][1], c.v[i][2],
                   c.v[i][3]);
    printf("     %-10s %41s %8.2f\n", "floor", "(training vs test images)", row(&c, "floor", 0.0)[3]);
    const double mlp1 = row(&c, "mlp", 1.0)[3], cfm1 = row(&c, "unet-cfm", 1.0)[3];
    const double cfm_last = row(&c, "unet-cfm", last_units)[3], edm1 = row(&c, "unet-edm", 1.0)[3];
    char what[160], note[240];
    /* training helps: from 1 unit to the last the CFM U-Net's distance must fall by a fifth
     * (measured: 1.65-fold by 5 units, far above the few per cent sampling moves it); a trainer
     * that does not learn leaves the ratio near 1 */
    snprintf(what, sizeof what, "Fashion-MNIST: CFM U-Net's distance, 1 unit / %g units (%zu samples)", last_units, n);
    fmd_report_at_least(a->rep, what, cfm1 / cfm_last, 1.25);
    /* issue 27's goals, measured, not required: at 1 unit the U-Net's distance at most the MLP's;
     * at 5 units at most half the MLP's 1-unit distance */
    snprintf(note, sizeof note, "(goals: CFM U-Net / MLP at 1 unit %.2f (goal <= 1), EDM U-Net / MLP %.2f; CFM U-Net at "
                                "5 units / MLP at 1 unit %.2f (goal <= 0.5))", cfm1 / mlp1, edm1 / mlp1,
             row(&c, "unet-cfm", 5.0)[3] / mlp1);
    fmd_report_note(a->rep, note);
}

static void check_accuracy(const ch05_unet_args *a, const char *name, unsigned long steps, int full)
{
    kept_table acc;
    read_kept(name, &acc);
    double best = 0.0, best_se = 0.0;
    for (int q = 0; q < 6; q++) {
        char w[16];
        snprintf(w, sizeof w, "%g", ws[q]);   /* the row of guidance scale w */
        const double *v = row(&acc, w, 0.0);
        if (v[0] > best)
            best = v[0], best_se = v[1];
    }
    const double *w0 = row(&acc, "0", 0.0);
    char what[120];
    /* guidance works on the U-Net as on the MLP: the best accuracy over w rises above w = 0's
     * (about 0.1, the class ignored) by many standard errors */
    snprintf(what, sizeof what, "Fashion-MNIST: U-Net (step %lu), best accuracy's rise over w = 0, in SE", steps);
    fmd_report_at_least(a->rep, what, (best - w0[0]) / sqrt(best_se * best_se + w0[1] * w0[1]), 6.5);
    if (full) {   /* trained: the classifier knows nine in ten of its guided samples */
        snprintf(what, sizeof what, "Fashion-MNIST: U-Net (step %lu), best accuracy on guided samples, w <= 5", steps);
        fmd_report_at_least(a->rep, what, best, 0.9);
    }
}

void ch05_unet_part(const ch05_unet_args *a)
{
    fmd_progress whole;
    fmd_progress_begin(&whole, "chapter 5: the U-Net part", 1.0);
    /* training times in units of the MLP's 6000 steps: CFM to 5 units, EDM 1 (--full: 15 and 5) */
    static const double units[4] = {1, 2, 5, 15};
    const size_t n_cfm = a->full ? 4 : 3, n_edm = a->full ? 3 : 1;
    unsigned long at[4];
    for (size_t i = 0; i < 4; i++)
        at[i] = (unsigned long)(units[i] * UNET_UNIT);
    fmd_unet *cfm[4] = {NULL}, *edm[4] = {NULL};
    if (unets(a, &CFM, at, n_cfm, cfm) != 0 || unets(a, &EDM, at, n_edm, edm) != 0) {
        fprintf(stderr, "chapter 5: the U-Nets could not be trained or saved under %s/\n", fmd_data_dir());
        fmd_report_at_least(a->rep, "Fashion-MNIST: U-Nets trained", 0.0, 1.0);
        for (size_t i = 0; i < 4; i++)
            fmd_unet_free(cfm[i]), fmd_unet_free(edm[i]);
        return;
    }
    fmd_unet *last = cfm[n_cfm - 1];
    fmd_unet_eval *ev;
    if (fmd_unet_eval_alloc(last, &ev) == FMD_OK) {   /* the grid of the longest-trained CFM U-Net */
        grids(a, ev);
        fmd_unet_eval_free(ev);
    }
    curve_row rows[12];
    size_t nrows = 0;
    for (size_t j = 0; j < a->mlp_curve_n; j++)
        rows[nrows++] = (curve_row){"mlp", units[j], (unsigned long)units[j] * a->mlp_steps,
                                    (unsigned long)units[j] * a->mlp_steps * a->mlp_batch, a->mlp_curve[j], NULL, 0};
    for (size_t j = 0; j < n_cfm; j++)
        rows[nrows++] = (curve_row){"unet-cfm", units[j], at[j], at[j] * UNET_BATCH, NULL, cfm[j], 0};
    for (size_t j = 0; j < n_edm; j++)
        rows[nrows++] = (curve_row){"unet-edm", units[j], at[j], at[j] * UNET_BATCH, NULL, edm[j], 1};
    const char *curve = a->full ? "ch05_fmnist_curve_full.tsv" : "ch05_fmnist_curve.tsv";
    const size_t n = a->full ? FD_FULL : FD_TOUR;
    curve_table(a, curve, n, rows, nrows);
    show_curve(a, curve, n, units[n_cfm - 1]);
    const char *tradeoff = a->full ? "ch05_fmnist_unet_tradeoff_full.tsv" : "ch05_fmnist_unet_tradeoff.tsv";
    tradeoff_table(a, tradeoff, a->full ? ACC_FULL : ACC_TOUR, at[n_cfm - 1], last);
    check_accuracy(a, tradeoff, at[n_cfm - 1], a->full);
    fprintf(stderr, "   chapter 5: the U-Net part took %.0f s on this machine\n", fmd_progress_end(&whole));
    for (size_t i = 0; i < 4; i++)
        fmd_unet_free(cfm[i]), fmd_unet_free(edm[i]);
}
