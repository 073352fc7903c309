/* cmd_eval_images.c -- `fmd eval --model MODEL --classifier CLF`: the
 * Fréchet distance of an image model's samples (a U-Net's, or an MLP's) to
 * held-out images, in the feature space of a classifier (issue 16; FID's
 * recipe with chapter 5's classifier in Inception's place), beside the same
 * distance between two sets of real images, its floor. `fmd eval` hands
 * U-Net model files, and any model given --classifier, over here. */
#include "cli/cli.h"
#include "fmd.h"
#include "networks/frechet.h"
#include "files/unet_checkpoint.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: fmd eval --model MODEL --classifier CLF (--data fashion-mnist | --data-file FILE)\n"
    "                [-n N] [--steps K] [--solver NAME] [--guidance W] [--seed S] [--threads N]\n"
    "\n"
    "The Fréchet distance between N samples of an image model (a U-Net or an MLP)\n"
    "and N held-out images, both mapped to the last hidden layer of CLF (an fmd MLP on\n"
    "the same images: chapter 5 writes build/data/ch05_fmnist_classifier.safetensors),\n"
    "with its floor: the same distance between the N held-out images and N\n"
    "training images. A labelled model samples its classes in turn with\n"
    "classifier-free guidance W (default 1).\n"
    "\n"
    "  --data fashion-mnist  held out: the test set; floor: the first N training images\n"
    "  --data-file FILE      or rows of images (labels last with a labelled model):\n"
    "                        the first N rows held out, the next N for the floor\n"
    "  -n N                  default 1000\n"
    "  --steps K, --solver   the sampler (default heun, 25 steps)\n"
    "  --seed S              the samples' noise; default 0\n";

int fmd_cmd_eval_images(int argc, char **argv)
{
    const char *hint = "Run 'fmd eval --model MODEL --classifier CLF --help' for usage.";
    const char *model = NULL, *clf_path = NULL, *data_name = NULL, *data_file = NULL;
    double n = 1000;
    fmd_cli_image_sampler o;   /* --solver, --steps, --guidance, --seed, --threads */
    fmd_cli_image_sampler_defaults(&o);
    for (int i = 1; i < argc; i++) {
        const char *v, *a = argv[i];
        int taken;
        if (fmd_cli_is_help(a)) {
            fputs(usage, stdout);
            return 0;
        } else if ((taken = fmd_cli_image_sampler_option("eval", argc, argv, &i, &o))) {
            if (taken == 2) return 2;
        } else if ((v = fmd_cli_option(argc, argv, &i, "--model"))) model = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--classifier"))) clf_path = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--data"))) data_name = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--data-file"))) data_file = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "-n"))) {
            if (fmd_cli_number("eval", a, v, 2, 1e6, 1, &n)) return 2;
        } else {
            return fmd_cli_usage_error("eval", hint, "'%s' is not an option for a Fréchet distance (--classifier)", a);
        }
    }
    if (!clf_path)
        return fmd_cli_usage_error("eval", hint, "--classifier MODEL is required: the features the distance is measured in");
    if (!data_name == !data_file)
        return fmd_cli_usage_error("eval", hint, "give one of --data fashion-mnist or --data-file FILE");
    if (data_name && strcmp(data_name, "fashion-mnist") != 0)
        return fmd_cli_usage_error("eval", hint, "--data %s: only fashion-mnist (or --data-file)", data_name);
    const fmd_ode_stepper_type *ode = fmd_ode_stepper_by_name(o.solver);
    if (!ode || ode == fmd_ode_dopri5)
        return fmd_cli_usage_error("eval", hint, "--solver %s: the distance's sampler is euler, midpoint, heun or rk4",
                                   o.solver);
    char why[512];
    fmd_unet *net = NULL;   /* the model: a U-Net, or an MLP (exactly one of the two) */
    fmd_mlp *mlp = NULL, *clf = NULL;
    fmd_run_info info;
    const int unet = model && fmd_cli_is_unet_file(model);
    if (!model)
        return fmd_cli_usage_error("eval", hint, "give --model MODEL");
    if (unet && fmd_unet_checkpoint_load(model, 1, &net, &info, NULL, why, sizeof why) != FMD_OK) {
        fprintf(stderr, "fmd eval: error: %s: %s\n", model, why);
        return 2;
    }
    if (!unet && fmd_checkpoint_load(model, &mlp, &info, NULL, why, sizeof why) != FMD_OK) {
        fprintf(stderr, "fmd eval: error: %s: %s\n", model, why);
        return 2;
    }
    const size_t d = unet ? net->cfg.side * net->cfg.side : mlp->cfg.d, N = (size_t)n;
    const size_t C = unet ? net->cfg.n_classes : mlp->cfg.n_classes;
    fmd_run_info clf_info;   /* any fmd MLP: a classifier (objective "classifier") or a generative model */
    if (fmd_checkpoint_load(clf_path, &clf, &clf_info, NULL, why, sizeof why) != FMD_OK || clf->cfg.d != d) {
        if (clf)
            fprintf(stderr, "fmd eval: error: %s reads %zu-dimensional images, the model makes %zu-dimensional ones\n",
                    clf_path, clf->cfg.d, d);
        else
            fprintf(stderr, "fmd eval: error: %s: %s\n", clf_path, why);
        fmd_mlp_free(clf);
        fmd_unet_free(net);
        fmd_mlp_free(mlp);
        return 2;
    }
    /* the held-out images and the floor's: Fashion-MNIST's test and training sets, or a file's first 2N rows */
    fmd_image_set held = {0}, floor_set = {0};
    int rc = 0;
    size_t classes = 0;
    if (data_file) {
        rc = fmd_cli_read_data_file("eval", data_file, C > 0, &held, &classes);
        if (rc == 0 && (held.rows * held.cols != d || held.n < 2 * N))
            rc = fmd_cli_usage_error("eval", "Give at least 2N rows of the model's image size (or a smaller -n).",
                                     "%s: %zu rows of %zu numbers; the model's images have %zu, and -n %zu needs %zu rows",
                                     data_file, held.n, held.rows * held.cols, d, N, 2 * N);
    } else if (fmd_cli_fmnist("eval", 0, &held) != 0 || fmd_cli_fmnist("eval", 1, &floor_set) != 0) {
        rc = 2;
    } else if (d != 784 || held.n < N) {
        rc = fmd_cli_usage_error("eval", hint, "the model's images have %zu pixels, Fashion-MNIST's 784 (and -n <= %zu)", d,
                                 held.n);
    }
    const double *held_x = held.x, *floor_x = data_file ? held.x + N * d : floor_set.x;
    const size_t k = fmd_classifier_feature_width(clf);
    double *x = malloc(N * d * sizeof(double)), *mu[3], *S[3];
    for (int j = 0; j < 3; j++)
        mu[j] = malloc(k * sizeof(double)), S[j] = malloc(k * k * sizeof(double));
    fmd_unet_eval *ev = NULL;
    fmd_mlp_eval *mev = NULL;
    int moments_ok = 1;
    for (int j = 0; j < 3; j++)
        moments_ok &= mu[j] && S[j];
    if (rc == 0 && (!x || !moments_ok || (unet ? fmd_unet_eval_alloc(net, &ev) : fmd_mlp_eval_alloc(mlp, &mev)) != FMD_OK))
        rc = fmd_cli_out_of_memory("eval", "the samples and their features", (double)N * (double)d * sizeof(double));
    /* the samples: classes in turn with guidance w (labelled model), by Prop 1's field from beta_t0 eps */
    fmd_schedule sch;
    fmd_prediction predicts = FMD_PREDICTS_FIELD;
    if (rc == 0 && fmd_cli_prediction(info.objective, &predicts) != 0)
        rc = fmd_cli_usage_error("eval", hint, "%s: unknown objective '%s'", model, info.objective);
    if (rc == 0 && fmd_cli_schedule("eval", info.schedule, &sch) != 0)
        rc = 2;   /* (said by fmd_cli_schedule) */
    double t0, t1;
    fmd_model_time_range(predicts, (unet ? net->cfg.output : mlp->cfg.output) != FMD_OUT_PLAIN, info.t_max, &t0, &t1);
    if (rc == 0)
        fmd_sample_init((uint64_t)o.seed, N, d, x);
    const size_t groups = C ? C : 1;
    double *xy = rc == 0 ? malloc((N / groups + 1) * d * sizeof(double)) : NULL;
    if (rc == 0 && !xy)
        rc = fmd_cli_out_of_memory("eval", "one class's samples", (double)(N / groups + 1) * (double)d * sizeof(double));
    for (size_t y = 0; rc == 0 && y < groups; y++) {   /* class y: samples y, y + C, y + 2C, ... gathered */
        const size_t m = N / groups + (y < N % groups);
        for (size_t j = 0; j < m; j++)
            memcpy(xy + j * d, x + (y + j * groups) * d, d * sizeof(double));
        fmd_unet_guidance G = {ev, C ? (int)y : -1, o.guidance};
        fmd_mlp_guidance MG = {mlp, (int)y, o.guidance, mev};
        fmd_field u = unet ? (fmd_field){fmd_unet_guided_field, d, &G}
                    : C    ? (fmd_field){fmd_mlp_guided_field, d, &MG} : (fmd_field){fmd_mlp_eval_field, d, mev};
        rc = fmd_cli_flow_samples("eval", &u, &sch, predicts, t0, t1, ode, (size_t)o.steps,
                                  fmd_cli_threads("eval", o.threads), m, xy);
        for (size_t j = 0; rc == 0 && j < m; j++)
            memcpy(x + (y + j * groups) * d, xy + j * d, d * sizeof(double));
    }
    free(xy);
    double fd = NAN, floor_fd = NAN;
    if (rc == 0 && (fmd_image_feature_moments(clf, N, x, mu[0], S[0]) != FMD_OK ||
                    fmd_image_feature_moments(clf, N, held_x, mu[1], S[1]) != FMD_OK ||
                    fmd_image_feature_moments(clf, N, floor_x, mu[2], S[2]) != FMD_OK ||
                    fmd_frechet_distance(k, mu[0], S[0], mu[1], S[1], &fd) != FMD_OK ||
                    fmd_frechet_distance(k, mu[2], S[2], mu[1], S[1], &floor_fd) != FMD_OK)) {
        fprintf(stderr, "fmd eval: error: the features' moments or their distance failed\n");
        rc = 1;
    }
    if (rc == 0) {
        printf("# %zu samples of %s (%s, %zu steps%s) against %zu held-out images, in the %zu features of %s\n", N, model,
               o.solver, (size_t)o.steps, C ? ", classes in turn" : "", N, k, clf_path);
        printf("frechet_distance\t%.6g\n", fd);
        printf("floor (real vs real)\t%.6g\n", floor_fd);
        rc = fmd_cli_output_done("eval", stdout, "standard output");
    }
    for (int j = 0; j < 3; j++)
        free(mu[j]), free(S[j]);
    free(x);
    fmd_unet_eval_free(ev);
    fmd_mlp_eval_free(mev);
    fmd_mlp_free(mlp);
    fmd_image_set_free(&held);
    fmd_image_set_free(&floor_set);
    fmd_mlp_free(clf);
    fmd_unet_free(net);
    return rc;
}
