/* unet_part.c -- chapter 5, part 4: the U-Net of lecture 002 on
 * Fashion-MNIST, beside part 3's MLP denoiser.
 *
 * The network of src/networks/unet.h at its defaults for 28 x 28 (32 base channels,
 * levels 28, 14 and 7, self-attention at 7 x 7, the time and the label
 * embedded in every residual block; 795,105 parameters), trained in float32
 * by src/networks/unet_train.c: CFM on the CondOT path, steps of 64 images, label
 * dropout 0.1, an EMA of 0.999 with its warm-up, on every CPU. One training
 * run (seed 93) is kept at fixed steps, all chosen in advance:
 *   - UNET_EQUAL = 165 steps, the MLP's training time (see below);
 *   - UNET_TOUR = 330 steps, twice that: make tour's U-Net;
 *   - UNET_FULL = 2200 steps: make tour-full's (--full).
 * Training does not depend on where it will stop, so each is the one run's
 * state at that step. Then, the U-Net beside the MLP:
 *   - the grid, 4 samples per class and w (the same noise for both);
 *   - the Fréchet distance of n samples (w = 1, classes in turn) to the
 *     test set, in the classifier's last hidden layer (src/networks/frechet.h), with
 *     its floor, n training images against the test set: n = 2000 for the
 *     tour, 10,000 with --full;
 *   - the classifier's accuracy on the U-Net's guided samples for each w.
 * Models and tables are kept in the data directory, keyed by the code and
 * options that made them (src/files/kept.h), and reused while the key holds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "images.h"
#include "unet_part.h"

#ifndef FMD_CODE_KEY
#define FMD_CODE_KEY ""   /* built by hand: nothing is reused */
#endif

enum {
    UNET_BATCH = 64,
    /* The snapshot at the MLP's training time, fixed in advance from a
     * measured ratio of step costs, never from the clock of this run. In
     * one run of the benches (2 threads, float32; bench/results/
     * fmnist_throughput.tsv and unet_throughput.tsv) the MLP's step of 128
     * images ran at 126.2 steps/s and the U-Net's step of 64 at 223
     * images/s, 3.48 steps/s: a U-Net step costs 36 MLP steps, and the
     * MLP's 6000 steps take as long as 6000 / 36.3 = 165 U-Net steps. */
    UNET_EQUAL = 165,
    UNET_TOUR = 2 * UNET_EQUAL,   /* make tour's U-Net: twice the MLP's time */
    UNET_FULL = 2200,             /* make tour-full's */
    GRID_STEPS = 10,              /* midpoint steps of the grid's samples (20 evaluations) */
    TABLE_STEPS = 5,              /* ... and of the distance table's and the accuracies' (10) */
    FD_TOUR = 2000, FD_FULL = 10000,   /* samples per Fréchet distance */
    ACC_TOUR = 16, ACC_FULL = 128      /* samples per class and w for the accuracies */
};
#define UNET_SEED 93

static void data_path(const char *name, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", fmd_data_dir(), name);
}

/* ---- the U-Net: one training run, kept at fixed steps ----------------------- */

static void unet_name(unsigned long steps, char *name, size_t len)
{
    snprintf(name, len, "ch05_fmnist_unet_%lu.safetensors", steps);
}

/* the key of the U-Net at `steps` (src/files/kept.h): the options of the run that made it */
static void unet_key(unsigned long steps, char *key, size_t len)
{
    char options[256];
    snprintf(options, sizeof options, "unet default-28x28 f32 cfm condot batch=%d lr=0.001 clip=1 ema=0.999 "
                                      "label-drop=0.1 seed=%d step=%lu", UNET_BATCH, UNET_SEED, steps);
    fmd_kept_key(key, len, FMD_CODE_KEY, options);
}

/* The EMA weights of the kept U-Net at `steps`, or NULL. */
static fmd_unet *reuse(unsigned long steps)
{
    char name[96], key[512], path[1024], why[256];
    unet_name(steps, name, sizeof name);
    unet_key(steps, key, sizeof key);
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

static int keep(const fmd_unet *net, const fmd_unet_trainer *tr, unsigned long steps)
{
    char name[96], key[512], path[1024];
    unet_name(steps, name, sizeof name);
    unet_key(steps, key, sizeof key);
    data_path(name, path, sizeof path);
    fmd_run_info info;
    memset(&info, 0, sizeof info);
    snprintf(info.objective, sizeof info.objective, "cfm");
    snprintf(info.schedule, sizeof info.schedule, "condot");
    snprintf(info.data, sizeof info.data, "fashion-mnist");
    info.steps = info.target_steps = steps, info.batch = UNET_BATCH;
    info.lr = tr->cfg.lr, info.clip = tr->cfg.clip, info.ema_decay = tr->cfg.ema_decay, info.t_max = 1.0;
    info.label_drop = tr->cfg.label_drop, info.seed = tr->cfg.seed;
    fmd_kept_forget(name);
    if (fmd_unet_checkpoint_save(path, net, tr, &info) != FMD_OK)   /* with the EMA: what reuse() samples */
        return 1;
    return fmd_kept_stamp(name, key) != FMD_OK;
}

/* Train from scratch to the last of the n steps `at`, keeping the network
 * at each. 0 on success. */
static int train(const ch05_unet_args *a, const unsigned long *at, size_t n)
{
    fmd_unet_config cfg;
    fmd_unet_default_config(28, 10, &cfg);
    cfg.dtype = FMD_F32;   /* every layer's float32 twin (src/base/typed_begin.h): sgemm, half the bytes */
    fmd_unet *net;
    gsl_rng *r;
    if (fmd_unet_alloc(&cfg, &net) != FMD_OK)
        return 1;
    fmd_rng_alloc(UNET_SEED, 1, &r);
    const int init = fmd_unet_init(net, r);
    gsl_rng_free(r);
    fmd_train_config tc = {.objective = FMD_LOSS_CFM, .batch = UNET_BATCH, .lr = 1e-3, .clip = 1.0, .t_max = 1.0,
                           .ema_decay = 0.999, .label_drop = 0.1, .seed = UNET_SEED};
    tc.schedule = *a->sch;
    tc.threads = fmd_cpus_available();   /* slices of 16 images; same bits on any number */
    fmd_unet_trainer *tr = NULL;
    if (init != FMD_OK || fmd_unet_trainer_alloc(&tc, fmd_image_set_sampler, (void *)a->train, net, &tr) != FMD_OK) {
        fmd_unet_free(net);
        return 1;
    }
    const unsigned long last = at[n - 1];
    fmd_progress p;
    fmd_progress_begin(&p, "chapter 5: the U-Net's training steps", (double)last);
    double loss;
    int status = FMD_OK;
    for (unsigned long k = 1; status == FMD_OK && k <= last; k++) {
        status = fmd_unet_train_step(tr, &loss);
        for (size_t i = 0; status == FMD_OK && i < n; i++)
            if (k == at[i] && keep(net, tr, k) != 0) {
                *a->io_failed = 1;
                status = FMD_EIO;
            }
        fmd_progress_at(&p, (double)k);
    }
    fprintf(stderr, "   chapter 5: the U-Net trained %lu steps in %.0f s on this machine\n", last, fmd_progress_end(&p));
    fmd_unet_trainer_free(tr);
    fmd_unet_free(net);
    return status != FMD_OK;
}

/* The kept U-Nets at the n steps `at` (EMA weights) into nets[]; trains
 * them if any is missing or stale. 0 on success. */
static int unets(const ch05_unet_args *a, const unsigned long *at, size_t n, fmd_unet **nets)
{
    int missing = 0;
    for (size_t i = 0; i < n; i++)
        missing |= (nets[i] = reuse(at[i])) == NULL;
    if (!missing)
        return 0;
    for (size_t i = 0; i < n; i++)
        fmd_unet_free(nets[i]), nets[i] = NULL;
    if (train(a, at, n) != 0)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (!(nets[i] = reuse(at[i])))
            return 1;
    return 0;
}

/* ---- samples ---------------------------------------------------------------- */

/* n samples of class y at guidance w (y < 0: unconditional) by the midpoint
 * rule in `steps` steps on [0, 1] from the noise of seed. The U-Net learned
 * the field itself (CFM), so the ODE runs to t = 1. */
static int unet_images(fmd_unet_eval *ev, int y, double w, uint64_t seed, size_t n, size_t steps, double *x)
{
    fmd_unet_guidance G = {ev, y, w};
    fmd_field u = {fmd_unet_guided_field, 784, &G};
    int status = fmd_sample_init(seed, n, 784, x);
    if (status == FMD_OK)
        status = ch05_solve(&u, fmd_ode_midpoint, 0.0, 1.0, steps, n, x);
    for (size_t i = 0; i < n * 784; i++)
        x[i] = fmin(1.0, fmax(-1.0, x[i]));   /* to the pixel range, as an image is shown */
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
            unet_images(ev, y, grid_w[q], 500 + y, 4, GRID_STEPS, cells + (y * 4 + q) * 4 * 784);
        fmd_progress_at(&p, y + 1);
    }
    ch05_write_grid("ch05_fmnist_unet_grid.tsv", "the U-Net", 4, cells, a->io_failed);
    free(cells);
}

/* ---- the Fréchet distance table ------------------------------------------------ */

/* The Fréchet distance of n images x to the features' moments (mu, S) of
 * the test set, in the classifier's last hidden layer. */
static double distance(const fmd_mlp *clf, size_t n, const double *x, const double *mu, const double *S)
{
    const size_t k = fmd_classifier_feature_width(clf);
    double *f = malloc(n * k * sizeof(double)), *m = malloc(k * sizeof(double)), *C = malloc(k * k * sizeof(double));
    double fd = NAN;
    if (f && m && C && fmd_classifier_features(clf, 1.0, n, x, f) == FMD_OK && fmd_feature_moments(n, k, f, m, C) == FMD_OK)
        fmd_frechet_distance(k, m, C, mu, S, &fd);
    free(f), free(m), free(C);
    return fd;
}

/* n samples at w = 1, class y for sample i = y mod 10 (the test set's own
 * balance), seeds 800 + y. ev: the U-Net sampled, or NULL for the MLP. */
static void table_samples(const ch05_unet_args *a, fmd_unet_eval *ev, size_t n, double *x, fmd_progress *p, double base)
{
    const size_t m = n / 10;
    double *xy = malloc(m * 784 * sizeof(double));
    for (int y = 0; xy && y < 10; y++) {
        if (ev)
            unet_images(ev, y, 1.0, 800 + y, m, TABLE_STEPS, xy);
        else
            ch05_mlp_images(a->mlp, a->sch, y, 1.0, 800 + y, m, xy);
        for (size_t j = 0; j < m; j++)
            memcpy(x + (y + 10 * j) * 784, xy + j * 784, 784 * sizeof(double));   /* both samplers clip */
        fmd_progress_at(p, base + y + 1);
    }
    free(xy);
}

/* The table: rows mlp, unet-S for each kept U-Net, floor; columns steps,
 * images (seen in training) and the distance. */
static int measure_table(const ch05_unet_args *a, const char *name, size_t n, const unsigned long *at, fmd_unet **nets,
                         size_t nn)
{
    const size_t k = fmd_classifier_feature_width(a->clf);
    double *x = malloc(n * 784 * sizeof(double)), *f = malloc(n * k * sizeof(double));
    double *mu = malloc(k * sizeof(double)), *S = malloc(k * k * sizeof(double)), fd[8];
    if (!x || !f || !mu || !S || nn > 6 || a->test->n < n || a->train->n < n ||
        fmd_classifier_features(a->clf, 1.0, n, a->test->x, f) != FMD_OK || fmd_feature_moments(n, k, f, mu, S) != FMD_OK) {
        free(x), free(f), free(mu), free(S);
        return 1;
    }
    fmd_progress p;
    char what[120];
    snprintf(what, sizeof what, "chapter 5: the Fréchet distances of %zu samples, classes of %zu models", n, nn + 1);
    fmd_progress_begin(&p, what, 10.0 * (double)(nn + 1));
    fd[nn + 1] = distance(a->clf, n, a->train->x, mu, S);   /* the floor: real images against real images */
    table_samples(a, NULL, n, x, &p, 0.0);
    fd[0] = distance(a->clf, n, x, mu, S);
    for (size_t j = 0; j < nn; j++) {
        fd[1 + j] = NAN;
        fmd_unet_eval *ev;
        if (fmd_unet_eval_alloc(nets[j], &ev) != FMD_OK)
            break;
        table_samples(a, ev, n, x, &p, 10.0 * (double)(j + 1));
        fmd_unet_eval_free(ev);
        fd[1 + j] = distance(a->clf, n, x, mu, S);
    }
    fprintf(stderr, "   chapter 5: the distance table took %.0f s on this machine\n", fmd_progress_end(&p));
    fmd_atomic_file out;
    FILE *o = fmd_data_begin(name, "# model\tsteps\timages\tfrechet_distance (images seen in training; w = 1, classifier "
                                   "features)", &out, a->io_failed);
    if (o) {
        fprintf(o, "mlp\t%lu\t%lu\t%.6g\n", a->mlp_steps, a->mlp_steps * a->mlp_batch, fd[0]);
        for (size_t j = 0; j < nn; j++)
            fprintf(o, "unet-%lu\t%lu\t%lu\t%.6g\n", at[j], at[j], at[j] * UNET_BATCH, fd[1 + j]);
        fprintf(o, "floor\t0\t0\t%.6g\n", fd[nn + 1]);
        fmd_data_end(&out, a->io_failed);
    }
    free(x), free(f), free(mu), free(S);
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
            unet_images(ev, y, ws[q], 600 + y, per_class, TABLE_STEPS, x);
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

/* key of a table measured on the nets at `at` with n samples and `what` */
static void table_key(const char *what, size_t n, const unsigned long *at, size_t nn, char *key, size_t len)
{
    char options[256];
    int used = snprintf(options, sizeof options, "%s n=%zu midpoint=%d mlp-steps=6000 unet-seed=%d unet-steps=", what, n,
                        TABLE_STEPS, UNET_SEED);
    for (size_t j = 0; j < nn && used > 0 && (size_t)used < sizeof options; j++)
        used += snprintf(options + used, sizeof options - (size_t)used, "%s%lu", j ? "," : "", at[j]);
    fmd_kept_key(key, len, FMD_CODE_KEY, options);
}

static void distance_table(const ch05_unet_args *a, const char *name, size_t n, const unsigned long *at, fmd_unet **nets,
                           size_t nn)
{
    char key[512];
    table_key("distance", n, at, nn, key, sizeof key);
    if (fmd_kept_valid(name, key)) {
        printf("   (reusing %s/%s: its key matches)\n", fmd_data_dir(), name);
        return;
    }
    fmd_kept_forget(name);
    if (measure_table(a, name, n, at, nets, nn) != 0 || *a->io_failed)
        fmd_report_at_least(a->rep, "Fashion-MNIST: the distance table measured", 0.0, 1.0);
    else
        fmd_kept_stamp(name, key);
}

static void tradeoff_table(const ch05_unet_args *a, const char *name, size_t per_class, unsigned long steps, fmd_unet *net)
{
    char key[512];
    table_key("tradeoff", per_class, &steps, 1, key, sizeof key);
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
enum { KEPT_ROWS = 8 };
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

/* row `key`'s numbers, or a row of NANs if it is missing */
static const double *row(const kept_table *t, const char *key)
{
    static const double missing[4] = {NAN, NAN, NAN, NAN};
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->key[i], key) == 0)
            return t->v[i];
    return missing;
}

static void show_distances(const ch05_unet_args *a, const char *name, size_t n, const unsigned long *at, size_t nn)
{
    kept_table dist;
    read_kept(name, &dist);
    printf("   Fréchet distance to the test set (%zu samples, w = 1, classifier features):\n", n);
    printf("     %-32s %6.0f steps %9.0f images %8.2f\n", "MLP denoiser", row(&dist, "mlp")[0], row(&dist, "mlp")[1],
           row(&dist, "mlp")[2]);
    for (size_t j = 0; j < nn; j++) {
        char r[32], what[64];
        snprintf(r, sizeof r, "unet-%lu", at[j]);
        snprintf(what, sizeof what, "U-Net%s", at[j] == UNET_EQUAL ? ", the MLP's training time" : "");
        printf("     %-32s %6.0f steps %9.0f images %8.2f\n", what, row(&dist, r)[0], row(&dist, r)[1], row(&dist, r)[2]);
    }
    printf("     %-32s %30s %8.2f\n", "floor (training vs test images)", "", row(&dist, "floor")[2]);
    char last[32], first[32], what[160];
    snprintf(first, sizeof first, "unet-%lu", at[0]);
    snprintf(last, sizeof last, "unet-%lu", at[nn - 1]);
    const double mlp = row(&dist, "mlp")[2], early = row(&dist, first)[2], late = row(&dist, last)[2];
    /* training helps: from the snapshot at the MLP's time to the last kept step the distance must
     * fall by a fifth (measured: 1.6-fold by step 330, 5.9-fold by step 2200, each far above the
     * few per cent that sampling moves it); a trainer that does not learn leaves it near 1 */
    snprintf(what, sizeof what, "Fashion-MNIST: U-Net's distance, step %lu / step %lu (%zu samples)", at[0], at[nn - 1], n);
    fmd_report_at_least(a->rep, what, early / late, 1.25);
    char note[200];   /* issue 16's goal, MLP / U-Net >= 2 at the same training time: measured, not required */
    snprintf(note, sizeof note, "(distance MLP / U-Net: %.2f at the same training time, %.2f at step %lu)", mlp / early,
             mlp / late, at[nn - 1]);
    fmd_report_note(a->rep, note);
}

static void check_accuracy(const ch05_unet_args *a, const char *name, unsigned long steps)
{
    kept_table acc;
    read_kept(name, &acc);
    double best = 0.0, best_se = 0.0;
    for (int q = 0; q < 6; q++) {
        char w[16];
        snprintf(w, sizeof w, "%g", ws[q]);
        const double *v = row(&acc, w);
        if (v[0] > best)
            best = v[0], best_se = v[1];
    }
    const double *w0 = row(&acc, "0");
    char what[120];
    /* guidance works on the U-Net as on the MLP: the best accuracy over w rises above w = 0's
     * (about 0.1, the class ignored) by many standard errors */
    snprintf(what, sizeof what, "Fashion-MNIST: U-Net (step %lu), best accuracy's rise over w = 0, in SE", steps);
    fmd_report_at_least(a->rep, what, (best - w0[0]) / sqrt(best_se * best_se + w0[1] * w0[1]), 6.5);
    if (steps == UNET_FULL) {   /* trained: the classifier knows nine in ten of its guided samples */
        snprintf(what, sizeof what, "Fashion-MNIST: U-Net (step %lu), best accuracy on guided samples, w <= 5", steps);
        fmd_report_at_least(a->rep, what, best, 0.9);
    }
}

void ch05_unet_part(const ch05_unet_args *a)
{
    fmd_progress whole;
    fmd_progress_begin(&whole, "chapter 5: the U-Net part", 1.0);
    /* the tour's: 165 and 495 steps; --full adds 2200 */
    const unsigned long at[3] = {UNET_EQUAL, UNET_TOUR, UNET_FULL};
    const size_t nn = a->full ? 3 : 2;
    fmd_unet *nets[3] = {NULL, NULL, NULL};
    if (unets(a, at, nn, nets) != 0) {
        fprintf(stderr, "chapter 5: the U-Net could not be trained or saved under %s/\n", fmd_data_dir());
        fmd_report_at_least(a->rep, "Fashion-MNIST: U-Net trained", 0.0, 1.0);
        for (size_t i = 0; i < nn; i++)
            fmd_unet_free(nets[i]);
        return;
    }
    fmd_unet_eval *ev;
    if (fmd_unet_eval_alloc(nets[1], &ev) == FMD_OK) {   /* the grid of the tour's U-Net */
        grids(a, ev);
        fmd_unet_eval_free(ev);
    }
    distance_table(a, "ch05_fmnist_distance.tsv", FD_TOUR, at, nets, 2);
    show_distances(a, "ch05_fmnist_distance.tsv", FD_TOUR, at, 2);
    tradeoff_table(a, "ch05_fmnist_unet_tradeoff.tsv", ACC_TOUR, UNET_TOUR, nets[1]);
    check_accuracy(a, "ch05_fmnist_unet_tradeoff.tsv", UNET_TOUR);
    if (a->full) {   /* make tour-full: the long runs */
        distance_table(a, "ch05_fmnist_distance_full.tsv", FD_FULL, at, nets, 3);
        show_distances(a, "ch05_fmnist_distance_full.tsv", FD_FULL, at, 3);
        tradeoff_table(a, "ch05_fmnist_unet_tradeoff_full.tsv", ACC_FULL, UNET_FULL, nets[2]);
        check_accuracy(a, "ch05_fmnist_unet_tradeoff_full.tsv", UNET_FULL);
    }
    fprintf(stderr, "   chapter 5: the U-Net part took %.0f s on this machine\n", fmd_progress_end(&whole));
    for (size_t i = 0; i < nn; i++)
        fmd_unet_free(nets[i]);
}
