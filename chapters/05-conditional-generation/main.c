/* Chapter 5 -- conditional generation: guidance.
 *
 * Part 1, exact: on a labelled mixture (three_classes.gmm) every guided
 * field is closed-form (src/paths/guidance.c). Classifier guidance equals
 * classifier-free guidance; the mass on the asked class grows with w.
 * Part 2, trained in 2-D: a labelled flow model on the two moons with label
 * dropout (classifier-free guidance) and a time-conditioned classifier
 * (classifier guidance), both by the BLIS network of chapter 4.
 * Part 3, Fashion-MNIST: a clean-image classifier (>= 84 % on the test set)
 * and a class-conditional model with classifier-free guidance -- a denoiser
 * D(x) = E[z | x], whose field Prop 1 gives (fmd_flow_sde_drift); the
 * classifier scores the generated images as w grows -- accuracy up,
 * diversity down, the course's trade-off, measured.
 * Part 4, the U-Net of lecture 002 beside this MLP (unet_part.c).
 * The Fashion-MNIST models and the tables measured on them are kept in the
 * data directory, keyed by the code and options that made them
 * (src/files/kept.h), and reused while the key holds. With --full (make
 * tour-full) part 4 adds its long runs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmd.h"
#include "images.h"
#include "unet_part.h"

#ifndef FMD_CODE_KEY
#define FMD_CODE_KEY ""   /* built by hand: nothing is reused */
#endif

#define GMM "chapters/05-conditional-generation/three_classes.gmm"
enum { NS = 4000, GRID = 61 };

static fmd_report rep;
static int io_failed;

static FILE *data(const char *name, fmd_atomic_file *f, const char *header)
{
    return fmd_data_begin(name, header, f, &io_failed);
}

static void done(fmd_atomic_file *f)
{
    fmd_data_end(f, &io_failed);
}


/* ---- part 1: exact guidance on a labelled mixture ------------------------ */

/* mean and SE of p_1(y | X) over n samples */
static void class_mass(const fmd_guidance_params *P, size_t n, const double *x, double *m, double *se)
{
    double *p = malloc(n * sizeof(double));
    fmd_class_posterior(P, 1.0, n, x, p, NULL);
    for (size_t i = 0; i < n; i++)
        p[i] = exp(p[i]);
    fmd_mean_se(n, p, 1, m, se);
    free(p);
}

static void exact_part(fmd_gmm *g, gsl_rng *r)
{
    fmd_schedule sch;
    fmd_schedule_by_name("condot", &sch);
    const int y = 0;
    const double ws[4] = {0.0, 1.0, 2.0, 4.0};
    /* Classifier guidance = classifier-free guidance, pointwise */
    double worst = 0.0;
    for (int q = 1; q < 4; q++) {
        fmd_guidance_params P;
        fmd_guidance_init(&P, g, y, &sch, ws[q]);
        for (double t = 0.05; t <= 1.0; t += 0.05) {
            double x[200], a[200], b[200];
            fmd_rng_gaussian(r, 200, x);
            for (int i = 0; i < 200; i++)
                x[i] *= 2.5;
            fmd_guided_field(t, 100, 2, x, a, &P);
            fmd_classifier_guided_field(t, 100, 2, x, b, &P);
            for (int i = 0; i < 200; i++)
                worst = fmax(worst, fabs(a[i] - b[i]) / (fabs(a[i]) + 1.0));
        }
        fmd_guidance_free(&P);
    }
    /* rounding of O(10) terms: 1e-12 relative is generous and still fails a wrong b_t */
    fmd_report_check(&rep, "classifier guidance - classifier-free guidance (max rel.)", worst, 0.0, 1e-12);

    /* guided samples for class 0, by the exact guided ODE (RK4, 100 steps) */
    fmd_atomic_file f, fd, ff;
    FILE *out = data("ch05_exact_samples.tsv", &f, "# blocks: w = 0, 1, 2, 4: x y (class 0 asked)");
    FILE *den = data("ch05_exact_density.tsv", &fd,
                     "# blocks: w = 0, 1, 2, 4: x y q_w(x) = p(x)^(1-w) p(x|y)^w / Z on the grid");
    FILE *fld = data("ch05_exact_field.tsv", &ff, "# blocks: w = 0, 1, 2, 4: x y u~_x u~_y at t = 0.6");
    static double x[2 * NS];
    double prior = 0.0;
    for (size_t k = 0; k < g->K; k++)
        prior += g->label[k] == y ? g->weight[k] : 0.0;
    double mass[4], mass_se[4];
    for (int q = 0; q < 4; q++) {
        fmd_guidance_params P;
        fmd_guidance_init(&P, g, y, &sch, ws[q]);
        fmd_field u = {fmd_guided_field, 2, &P};
        fmd_sample_init(50 + q, NS, 2, x);
        ch05_solve(&u, fmd_ode_rk4, 0.0, 1.0, 100, NS, x);
        class_mass(&P, NS, x, &mass[q], &mass_se[q]);
        char what[96];
        snprintf(what, sizeof what, "w = %.0f: mass on class 0, E p(y|X_1)", ws[q]);
        if (q == 0) {   /* X_1 ~ p_data, so E p(y | X_1) = pi_y exactly */
            fmd_report_check(&rep, what, mass[q], prior, 6.5 * mass_se[q]);
        } else if (q == 1) {   /* X_1 ~ p_data(. | y): the same mean over exact draws */
            static double z[2 * NS];
            double me, mse;
            fmd_gmm_sample_class(g, y, r, NS, z);
            class_mass(&P, NS, z, &me, &mse);
            fmd_report_check(&rep, what, mass[q], me, 6.5 * sqrt(mass_se[q] * mass_se[q] + mse * mse));
        } else {
            char note[256];
            snprintf(note, sizeof note, "(%s: %.4f +- %.4f -- more than at w = %.0f)", what, mass[q], mass_se[q], ws[q - 1]);
            fmd_report_note(&rep, note);
        }
        for (int i = 0; out && i < 2000; i++)
            fprintf(out, "%.4g\t%.4g\n", x[2 * i], x[2 * i + 1]);
        if (out)
            fprintf(out, "\n\n");
        /* the tilted density q_w = p^(1-w) p(.|y)^w at t = 1, normalised on the grid:
         * what the guided score describes at t = 1 (the samples need not follow it) */
        static double lq[GRID * GRID];
        double pts[2 * GRID * GRID], lp[GRID * GRID], lpy[GRID * GRID], lmax = -INFINITY, Z = 0.0;
        for (int a = 0; a < GRID; a++)
            for (int b = 0; b < GRID; b++) {
                pts[2 * (a * GRID + b)] = -4.5 + 9.0 * a / (GRID - 1);
                pts[2 * (a * GRID + b) + 1] = -4.5 + 9.0 * b / (GRID - 1);
            }
        fmd_gmm_log_density(g, GRID * GRID, pts, lp);
        fmd_gmm_log_density(P.gy, GRID * GRID, pts, lpy);
        for (int i = 0; i < GRID * GRID; i++) {
            lq[i] = (1.0 - ws[q]) * lp[i] + ws[q] * lpy[i];
            lmax = fmax(lmax, lq[i]);
        }
        for (int i = 0; i < GRID * GRID; i++)
            Z += exp(lq[i] - lmax) * (9.0 / (GRID - 1)) * (9.0 / (GRID - 1));
        for (int a = 0; den && a < GRID; a++) {
            for (int b = 0; b < GRID; b++) {
                int i = a * GRID + b;
                fprintf(den, "%.4g\t%.4g\t%.5g\n", pts[2 * i], pts[2 * i + 1], exp(lq[i] - lmax) / Z);
            }
            fprintf(den, "\n");
        }
        if (den)
            fprintf(den, "\n");
        /* the guided field at t = 0.6 on a coarse grid */
        double gx[2 * 17 * 17], gu[2 * 17 * 17];
        for (int a = 0; a < 17; a++)
            for (int b = 0; b < 17; b++)
                gx[2 * (a * 17 + b)] = -4.0 + 0.5 * a, gx[2 * (a * 17 + b) + 1] = -4.0 + 0.5 * b;
        fmd_guided_field(0.6, 17 * 17, 2, gx, gu, &P);
        for (int i = 0; fld && i < 17 * 17; i++)
            fprintf(fld, "%.4g\t%.4g\t%.5g\t%.5g\n", gx[2 * i], gx[2 * i + 1], gu[2 * i], gu[2 * i + 1]);
        if (fld)
            fprintf(fld, "\n\n");
        fmd_guidance_free(&P);
    }
    if (out)
        done(&f);
    if (den)
        done(&fd);
    if (fld)
        done(&ff);
    /* each step of w moves mass onto the class by many standard errors */
    double gap = INFINITY;
    for (int q = 0; q < 3; q++)
        gap = fmin(gap, (mass[q + 1] - mass[q]) / sqrt(mass_se[q] * mass_se[q] + mass_se[q + 1] * mass_se[q + 1]));
    fmd_report_at_least(&rep, "smallest rise of the mass from one w to the next, in SE", gap, 6.5);
}

/* ---- part 2: trained guidance on the two moons ---------------------------- */

static void moons_part(gsl_rng *r)
{
    fmd_toy toy;
    fmd_toy_by_name("moons", &toy);
    fmd_schedule sch;
    fmd_schedule_by_name("condot", &sch);
    /* a flow model with a label input (2 moons + "no label"), label dropout 0.1 */
    fmd_mlp_config mc = {.d = 2, .n_fourier = 4, .n_classes = 2, .depth = 3, .width = {64, 64, 64}, .act = FMD_SILU};
    fmd_mlp *net;
    fmd_mlp_alloc(&mc, &net);
    fmd_mlp_init(net, r);
    fmd_train_config cfg = {.objective = FMD_LOSS_CFM, .batch = 512, .lr = 2e-3, .t_max = 1.0, .seed = 71,
                            .label_drop = 0.1, .threads = fmd_cpus_available()};
    cfg.schedule = sch;
    fmd_trainer *tr;
    fmd_trainer_alloc_sampler(&cfg, fmd_toy_sample, &toy, net, &tr);
    double loss;
    for (int k = 0; k < 6000; k++)   /* the unconditional model sees only 10 % of the batches */
        fmd_train_step(tr, &loss);
    fmd_trainer_free(tr);
    /* a time-conditioned classifier p(y | x_t, t) on noisy moons */
    fmd_mlp_config cc = {.d = 2, .n_fourier = 4, .n_out = 2, .depth = 2, .width = {64, 64}, .act = FMD_SILU};
    fmd_mlp *clf;
    fmd_mlp_alloc(&cc, &clf);
    fmd_mlp_init(clf, r);
    fmd_classifier_trainer *ct;
    fmd_classifier_trainer_alloc(clf, fmd_toy_sample, &toy, &sch, 512, 2e-3, 0.0, 1.0, 72, &ct);
    for (int k = 0; k < 2000; k++)
        fmd_classifier_train_step(ct, &loss);
    fmd_classifier_trainer_free(ct);
    /* its accuracy on fresh clean moons (the measuring stick below) */
    static double z[2 * NS];
    static int lab[NS], pred[NS];
    fmd_toy_sample(&toy, r, NS, z, lab);
    fmd_classifier_predict(clf, 1.0, NS, z, pred);
    double acc = 0.0;
    for (int i = 0; i < NS; i++)
        acc += pred[i] == lab[i];
    acc /= NS;
    fmd_report_check(&rep, "moons: time-conditioned classifier, accuracy at t = 1", acc, 1.0, 0.02);
    /* guided samples of moon 1 (the lower one) */
    fmd_atomic_file f;
    FILE *out = data("ch05_moons.tsv", &f, "# blocks: CFG w = 0, 1, 3, then classifier guidance w = 0, 1, 3: x y (class 1)");
    fmd_mlp_guidance G = {net, 1, 0.0, NULL};
    fmd_field ucond = {fmd_mlp_guided_field, 2, &G}, uncond = {fmd_mlp_field, 2, net};
    const double ws[3] = {0.0, 1.0, 3.0};
    static double x[2 * NS];
    for (int kind = 0; kind < 2; kind++) {
        double frac[3], fse[3];
        for (int q = 0; q < 3; q++) {
            fmd_sample_init(80 + q, NS, 2, x);
            if (kind == 0) {   /* classifier-free: from t = 0 */
                G.w = ws[q];
                ch05_solve(&ucond, fmd_ode_rk4, 0.0, 1.0, 100, NS, x);
            } else {           /* classifier guidance: b_t ~ 1/t, so from t0 = 0.02 (X_t0 = beta eps) */
                fmd_classifier_guidance CG = {&uncond, clf, sch, 1, ws[q]};
                fmd_field u = {fmd_classifier_guided_net_field, 2, &CG};
                for (int i = 0; i < 2 * NS; i++)
                    x[i] *= 0.98;
                ch05_solve(&u, fmd_ode_rk4, 0.02, 1.0, 100, NS, x);
            }
            fmd_classifier_predict(clf, 1.0, NS, x, pred);
            double *hit = malloc(NS * sizeof(double));
            for (int i = 0; i < NS; i++)
                hit[i] = pred[i] == 1;
            fmd_mean_se(NS, hit, 1, &frac[q], &fse[q]);
            free(hit);
            for (int i = 0; out && i < 2000; i++)
                fprintf(out, "%.4g\t%.4g\n", x[2 * i], x[2 * i + 1]);
            if (out)
                fprintf(out, "\n\n");
        }
        char what[96];
        snprintf(what, sizeof what, "moons, %s: rise of moon 1's share, w 0 -> 3, in SE", kind ? "classifier guidance" : "classifier-free");
        /* w = 0 is unconditional (about half); w = 3 must be clearly above it */
        double rise = (frac[2] - frac[0]) / sqrt(fse[0] * fse[0] + fse[2] * fse[2]);   /* in SE */
        char note[160];
        snprintf(note, sizeof note, "(%s: %.3f, %.3f, %.3f at w = 0, 1, 3)", kind ? "classifier guidance" : "classifier-free",
                 frac[0], frac[1], frac[2]);
        fmd_report_note(&rep, note);
        fmd_report_at_least(&rep, what, rise, 6.5);
    }
    if (out)
        done(&f);
    fmd_mlp_free(clf);
    fmd_mlp_free(net);
}

/* ---- part 3: Fashion-MNIST ------------------------------------------------ */

static const char *data_dir(void)
{
    const char *d = getenv("FMD_DATA");
    return d && *d ? d : "build/data";
}

/* A kept model of the data directory whose key (src/files/kept.h) says it was
 * made by this code with these options, or NULL. */
static fmd_mlp *reuse(const char *name, const char *options)
{
    char path[512], why[256], key[512];
    fmd_kept_key(key, sizeof key, FMD_CODE_KEY, options);
    if (!fmd_kept_valid(name, key))
        return NULL;
    snprintf(path, sizeof path, "%s/%s", data_dir(), name);
    fmd_mlp *net;
    fmd_run_info info;
    if (fmd_checkpoint_load(path, &net, &info, NULL, why, sizeof why) != FMD_OK)
        return NULL;
    printf("   (reusing %s: its key matches this code and these options)\n", path);
    return net;
}

static void keep(const char *name, const char *options, const fmd_mlp *net, const char *objective, unsigned long steps,
                 size_t batch)
{
    char path[512], key[512];
    snprintf(path, sizeof path, "%s/%s", data_dir(), name);
    fmd_kept_key(key, sizeof key, FMD_CODE_KEY, options);
    fmd_run_info info;
    memset(&info, 0, sizeof info);
    snprintf(info.objective, sizeof info.objective, "%s", objective);
    snprintf(info.schedule, sizeof info.schedule, "condot");
    snprintf(info.data, sizeof info.data, "fashion-mnist");
    info.steps = info.target_steps = steps;
    info.batch = batch;
    info.t_max = 1.0;
    fmd_kept_forget(name);
    if (fmd_checkpoint_save(path, net, NULL, &info) != FMD_OK || fmd_kept_stamp(name, key) != FMD_OK)
        io_failed = 1;
}

enum { CLF_STEPS = 4000, FLOW_STEPS = 6000, PER_CLASS = 100 };


/* The same grid with no network: the exact guided field of the low-rank
 * mixture fitted to Fashion-MNIST (fmd fit-gmm, one component per class,
 * rank 32; `make` writes it), sampled by RK4 (40 steps) from the same kind
 * of noise, same noise along a row. What is left is guidance itself: what
 * w does to p(x)^(1-w) p(x|y)^w when both are known exactly. The classifier
 * reads the w = 1 column (a check: it should know 8 of 10 classes). */
static void exact_grid(const double grid_w[4], const fmd_mlp *clf)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/fmnist_lowrank32.gmm", fmd_data_dir());
    fmd_gmm *g;
    fmd_parse_error perr;
    if (fmd_gmm_load(path, &g, &perr) != FMD_OK) {
        fprintf(stderr, "chapter 5: %s: %s (run `make`: it fits the mixture)\n", path, perr.reason);
        fmd_report_at_least(&rep, "Fashion-MNIST mixture available (make writes it)", 0.0, 1.0);
        return;
    }
    fmd_schedule sch;
    fmd_schedule_by_name("condot", &sch);
    static double cell[10][4][784];
    for (int y = 0; y < 10; y++)
        for (int q = 0; q < 4; q++) {
            fmd_guidance_params P;
            fmd_guidance_init(&P, g, y, &sch, grid_w[q]);
            fmd_field u = {fmd_guided_field, 784, &P};
            fmd_sample_init(700 + y, 1, 784, cell[y][q]);
            ch05_solve(&u, fmd_ode_rk4, 0.0, 1.0, 40, 1, cell[y][q]);
            fmd_guidance_free(&P);
        }
    ch05_write_grid("ch05_fmnist_exact_grid.tsv", "the exact guided field of the fitted mixture", 1, &cell[0][0][0],
                    &io_failed);
    double x1[10 * 784];
    int pred[10], hits = 0;
    for (int y = 0; y < 10; y++)
        for (int i = 0; i < 784; i++)
            x1[y * 784 + i] = fmin(1.0, fmax(-1.0, cell[y][1][i]));
    fmd_classifier_predict(clf, 1.0, 10, x1, pred);
    for (int y = 0; y < 10; y++)
        hits += pred[y] == y;
    /* the mixture is PPCA per class, not the images: some classes look alike to it too */
    fmd_report_at_least(&rep, "exact guided grid, w = 1: classes the classifier reads (of 10)", (double)hits, 7.0);
    fmd_gmm_free(g);
}

static void fmnist_part(int full)
{
    fmd_image_set train, test;
    char why[512];
    if (fmd_fmnist_load(NULL, 1, &train, why, sizeof why) != FMD_OK ||
        fmd_fmnist_load(NULL, 0, &test, why, sizeof why) != FMD_OK) {
        fprintf(stderr, "chapter 5: %s (install Debian's dataset-fashion-mnist; make does)\n", why);
        fmd_report_at_least(&rep, "Fashion-MNIST available", 0.0, 1.0);
        return;
    }
    const size_t D = 784;
    fmd_schedule sch;
    fmd_schedule_by_name("condot", &sch);
    double loss;
    /* the classifier: 784 -> 256 -> 10, ReLU, on clean images (t = 1 throughout) */
    const char *clf_options = "classifier 784-256-10 relu f64 steps=4000 batch=128 lr=0.001 seed=91";
    fmd_mlp *clf = reuse("ch05_fmnist_classifier.safetensors", clf_options);
    if (!clf) {
        fmd_mlp_config cc = {.d = D, .n_out = 10, .depth = 1, .width = {256}, .act = FMD_RELU};
        fmd_mlp_alloc(&cc, &clf);
        gsl_rng *ri;   /* its own stream: the result does not depend on what was reused */
        fmd_rng_alloc(91, 1, &ri);
        fmd_mlp_init(clf, ri);
        gsl_rng_free(ri);
        fmd_classifier_trainer *ct;
        fmd_classifier_trainer_alloc(clf, fmd_image_set_sampler, &train, &sch, 128, 1e-3, 1.0, 1.0, 91, &ct);
        fmd_progress p;
        fmd_progress_begin(&p, "chapter 5: the Fashion-MNIST classifier's training steps", CLF_STEPS);
        for (int k = 0; k < CLF_STEPS; k++) {
            fmd_classifier_train_step(ct, &loss);
            fmd_progress_at(&p, k + 1);
        }
        fmd_classifier_trainer_free(ct);
        keep("ch05_fmnist_classifier.safetensors", clf_options, clf, "classifier", CLF_STEPS, 128);
    }
    int *pred = malloc(test.n * sizeof(int));
    fmd_classifier_predict(clf, 1.0, test.n, test.x, pred);
    double acc = 0.0;
    for (size_t i = 0; i < test.n; i++)
        acc += pred[i] == test.y[i];
    acc /= (double)test.n;
    free(pred);
    fmd_report_at_least(&rep, "Fashion-MNIST classifier: accuracy on the test set", acc, 0.84);
    /* the class-conditional denoiser: 784 + 8 + 11 -> 512 x 3 -> 784, label dropout 0.1, EMA 0.999.
     * It predicts the clean image, not the field: a field network must pass the 784-pixel
     * noise through 512-wide layers (u_0(x) = E[z] - x), which it cannot, and its samples
     * keep a grain of that noise; the clean image is smooth. One run, kept at multiples of its
     * length: 6000 steps (the chapter's model, used throughout) and, for the curve of 5.6,
     * 12,000, with --full also 30,000 and 90,000. Training does not depend on where it stops,
     * so each is the one run's EMA at that step. */
    const unsigned long mlp_at[4] = {FLOW_STEPS, 2 * FLOW_STEPS, 5 * FLOW_STEPS, 15 * FLOW_STEPS};
    const size_t mlp_n = full ? 4 : 2;
    fmd_mlp *mlp_curve[4] = {NULL, NULL, NULL, NULL};
    char mlp_names[4][64], mlp_opts[4][256];
    int missing = 0;
    for (size_t j = 0; j < mlp_n; j++) {
        snprintf(mlp_names[j], sizeof mlp_names[j], j ? "ch05_fmnist_denoiser_%lu.safetensors"
                                                      : "ch05_fmnist_denoiser.safetensors", mlp_at[j]);
        snprintf(mlp_opts[j], sizeof mlp_opts[j], "denoiser 784+8+11-512x3-784 silu f32 condot steps=%lu batch=128 "
                                                  "lr=0.001 seed=92 label-drop=0.1 ema=0.999", mlp_at[j]);
        missing |= (mlp_curve[j] = reuse(mlp_names[j], mlp_opts[j])) == NULL;
    }
    if (missing) {
        /* float32: the network's 1.3 million weights and its activations in
         * half the bytes, BLIS's sgemm at twice dgemm's rate; what is measured
         * of it below (accuracy, diversity) is float64 as always */
        fmd_mlp_config mc = {.d = D, .n_fourier = 4, .n_classes = 10, .depth = 3, .width = {512, 512, 512},
                             .act = FMD_SILU, .dtype = FMD_F32};
        fmd_mlp *run;
        fmd_mlp_alloc(&mc, &run);
        gsl_rng *ri;
        fmd_rng_alloc(92, 1, &ri);
        fmd_mlp_init(run, ri);
        gsl_rng_free(ri);
        fmd_train_config cfg = {.objective = FMD_LOSS_DENOISER, .batch = 128, .lr = 1e-3, .t_max = 1.0, .seed = 92,
                                .label_drop = 0.1, .ema_decay = 0.999};
        cfg.schedule = sch;
        cfg.threads = fmd_cpus_available();   /* slices of the batch; same bits on any number */
        fmd_trainer *tr;
        fmd_trainer_alloc_sampler(&cfg, fmd_image_set_sampler, &train, run, &tr);
        fmd_progress p;
        const unsigned long last = mlp_at[mlp_n - 1];
        fmd_progress_begin(&p, "chapter 5: the Fashion-MNIST denoiser's training steps", (double)last);
        for (unsigned long k = 1; k <= last; k++) {
            fmd_train_step(tr, &loss);
            fmd_progress_at(&p, (double)k);
            for (size_t j = 0; j < mlp_n; j++)
                if (k == mlp_at[j]) {   /* sample with the EMA weights */
                    fmd_mlp_free(mlp_curve[j]);
                    fmd_mlp_convert(run, FMD_F32, &mlp_curve[j]);
                    memcpy(mlp_curve[j]->params32, tr->ema, run->nparams * sizeof(float));
                    keep(mlp_names[j], mlp_opts[j], mlp_curve[j], "denoiser", k, 128);
                }
        }
        fprintf(stderr, "   chapter 5: the denoiser trained %lu steps in %.0f s on this machine (final batch loss %.1f)\n",
                last, fmd_progress_end(&p), loss);
        fmd_trainer_free(tr);
        fmd_mlp_free(run);
    }
    fmd_mlp *net = mlp_curve[0];
    /* the grid of this model is drawn beside the U-Net's (unet_part.c); the exact one here */
    const double grid_w[4] = {0.0, 1.0, 2.5, 5.0};
    exact_grid(grid_w, clf);
    /* accuracy of the classifier on guided samples, and diversity, against w */
    const double ws[6] = {0.0, 1.0, 1.5, 2.5, 3.5, 5.0};
    fmd_atomic_file f;
    FILE *out = data("ch05_fmnist_tradeoff.tsv", &f, "# w accuracy accuracy_se diversity diversity_se (mean pairwise distance within a class)");
    double *x = malloc(PER_CLASS * D * sizeof(double)), best = 0.0, best_se = 0.0, acc0 = 0.0, acc0_se = 0.0;
    int *p = malloc(PER_CLASS * sizeof(int));
    fmd_progress pr;
    fmd_progress_begin(&pr, "chapter 5: the MLP's accuracy against w, classes", 60);
    for (int q = 0; q < 6; q++) {
        double hits = 0.0, div[10];
        for (int y = 0; y < 10; y++) {
            ch05_mlp_images(net, &sch, y, ws[q], 600 + y, PER_CLASS, x);
            fmd_classifier_predict(clf, 1.0, PER_CLASS, x, p);
            for (int i = 0; i < PER_CLASS; i++)
                hits += p[i] == y;
            div[y] = fmd_mean_pairwise_distance(PER_CLASS, D, x);
            fmd_progress_at(&pr, 10 * q + y + 1);
        }
        const double n = 10.0 * PER_CLASS, a = hits / n, ase = sqrt(a * (1.0 - a) / n);
        double dm, dse;
        fmd_mean_se(10, div, 1, &dm, &dse);
        if (out)
            fprintf(out, "%g\t%.4f\t%.4f\t%.4f\t%.4f\n", ws[q], a, ase, dm, dse);
        printf("   w = %.1f: classifier accuracy on guided samples %.3f +- %.3f, diversity %.2f +- %.2f\n", ws[q], a,
               ase, dm, dse);
        if (q == 0)
            acc0 = a, acc0_se = ase;
        if (a > best)
            best = a, best_se = ase;
    }
    if (out)
        done(&f);
    fmd_report_at_least(&rep, "Fashion-MNIST: best accuracy on guided samples, w <= 5", best, 0.75);
    fmd_report_at_least(&rep, "Fashion-MNIST: its rise over w = 0, in SE",
                        (best - acc0) / sqrt(best_se * best_se + acc0_se * acc0_se), 6.5);
    /* part 4: the U-Net of lecture 002 beside this MLP */
    ch05_unet_args ua = {&rep, &train, &test, clf, net, FLOW_STEPS, 128, &sch, &io_failed, full, {NULL}, mlp_n};
    for (size_t j = 0; j < mlp_n; j++)
        ua.mlp_curve[j] = mlp_curve[j];
    ch05_unet_part(&ua);
    free(x);
    free(p);
    for (size_t j = 0; j < mlp_n; j++)
        fmd_mlp_free(mlp_curve[j]);
    fmd_mlp_free(clf);
    fmd_image_set_free(&train);
    fmd_image_set_free(&test);
}

int main(int argc, char **argv)
{
    int full;
    if (fmd_chapter_options(argc, argv, "chapter 5", "the U-Net trained 2200 steps and measured on 10,000 samples, as "
                            "make tour-full runs it", &full) != 0)
        return 2;
    fmd_gmm *g;
    fmd_parse_error perr;
    if (fmd_gmm_load(GMM, &g, &perr) != FMD_OK) {
        fprintf(stderr, "chapter 5: %s:%ld: %s (run from the repository root)\n", perr.file, perr.line, perr.reason);
        return 1;
    }
    fmd_report_begin(&rep, stdout, "Chapter 5: conditional generation and guidance");
    if (fmd_report_tsv(&rep, "ch05_checks.tsv") != FMD_OK)
        fprintf(stderr, "could not open the table of checks under %s/\n", fmd_data_dir());
    gsl_rng *r;
    fmd_rng_alloc(5, 0, &r);
    exact_part(g, r);
    moons_part(r);
    fflush(stdout);
    fmnist_part(full);
    gsl_rng_free(r);
    fmd_gmm_free(g);
    if (io_failed)
        fprintf(stderr, "chapter 5: could not write the figure data or the models under %s/ (set FMD_DATA, or run from the "
                        "repository root)\n", fmd_data_dir());
    return fmd_report_end(&rep) || io_failed;
}
