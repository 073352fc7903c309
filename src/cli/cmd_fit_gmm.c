/* cmd_fit_gmm.c -- `fmd fit-gmm`: a low-rank Gaussian mixture fitted to data in
 * closed form (src/paths/fit.h), one component per class or one for all, written
 * as a mixture file (`gmm <d> <K> lowrank <r>`) that every command reads. */
#include "cli/cli.h"
#include "fmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: fmd fit-gmm (--data fashion-mnist | --data-file FILE [--labels]) --out FILE\n"
    "                   [--rank R] [--per-class] [--floor F]\n"
    "\n"
    "Fit a Gaussian mixture with covariances diag(D) + F F^T of rank R to data,\n"
    "in closed form (probabilistic PCA's factor, a noise variance per coordinate):\n"
    "each component's mean is its data's mean,\n"
    "F holds the R leading principal directions scaled by sqrt(lambda - sigma^2)\n"
    "(sigma^2 the mean of the other eigenvalues), and D each coordinate's residual\n"
    "variance, at least the floor. The mixture's path is exact at any dimension\n"
    "(`fmd field`, chapter 6), so it is a ground truth for samplers at image scale.\n"
    "\n"
    "  --data fashion-mnist  the 60000 training images (784 pixels in [-1, 1]) of\n"
    "                        Debian's dataset-fashion-mnist, with their classes\n"
    "  --data-file FILE      or your own rows of d numbers ('#' comments); with\n"
    "                        --labels the last column is each row's class\n"
    "  --rank R              rank of each covariance's factor, 1 <= R < d, R <= 128;\n"
    "                        default 32 (Fashion-MNIST: 72-89% of each class's\n"
    "                        variance; a 6 MB file, written in 7 s)\n"
    "  --per-class           one component per class, weighted by the class's share\n"
    "                        (a labelled mixture: chapter 5's guidance, exactly);\n"
    "                        default one component for all the data\n"
    "  --floor F             the least D_i; default 1e-3 (pixels that never change\n"
    "                        would otherwise have variance 0)\n"
    "  --out FILE            the mixture file to write (atomically)\n";

/* component k's rows of X (those of class y, or all with y < 0) into *rows */
static size_t rows_of(const fmd_image_set *s, int y, double *rows)
{
    const size_t d = s->rows * s->cols;
    size_t m = 0;
    for (size_t p = 0; p < s->n; p++)
        if (y < 0 || s->y[p] == y)
            memcpy(rows + m++ * d, s->x + p * d, d * sizeof(double));
    return m;
}

int fmd_cmd_fit_gmm(int argc, char **argv)
{
    const char *hint = "Run 'fmd fit-gmm --help' for usage.";
    const char *data_name = NULL, *data_file = NULL, *out_path = NULL;
    double rank = 32, floor_d = 1e-3;
    int per_class = 0, labels = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v = NULL;
        double *num = NULL, lo = 0, hi = 0;
        int whole = 0;
        if (fmd_cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if ((v = fmd_cli_option(argc, argv, &i, "--data-file"))) data_file = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--data"))) data_name = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--out"))) out_path = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--rank"))) num = &rank, lo = 1, hi = FMD_GMM_MAX_RANK, whole = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--floor"))) num = &floor_d, lo = 1e-300, hi = 1e300;
        else if (strcmp(argv[i], "--per-class") == 0) per_class = 1;
        else if (strcmp(argv[i], "--labels") == 0) labels = 1;
        else
            return fmd_cli_usage_error("fit-gmm", hint, "unknown option '%s'", argv[i]);
        if (v && !*v)
            return fmd_cli_missing_value("fit-gmm", hint, arg);
        if (num && fmd_cli_number("fit-gmm", arg, v, lo, hi, whole, num) != 0)
            return 2;
    }
    if (!!data_name + !!data_file != 1)
        return fmd_cli_usage_error("fit-gmm", hint, "give one of --data fashion-mnist or --data-file FILE");
    if (!out_path || !*out_path)
        return fmd_cli_usage_error("fit-gmm", hint, "--out FILE is required");
    if (data_name && strcmp(data_name, "fashion-mnist") != 0)
        return fmd_cli_usage_error("fit-gmm", "Data sets: fashion-mnist, or --data-file FILE.", "unknown data set '%s'",
                                   data_name);
    if (labels && !data_file)
        return fmd_cli_usage_error("fit-gmm", hint, "--labels goes with --data-file (Fashion-MNIST has its classes)");
    if (per_class && data_file && !labels)
        return fmd_cli_usage_error("fit-gmm", "Add --labels (the last column of each row is its class).",
                                   "--per-class needs the data's classes");
    fmd_image_set set = {0};
    size_t classes = 0;
    if (data_file) {
        if (fmd_cli_read_data_file("fit-gmm", data_file, labels, &set, &classes) != 0)
            return 2;
    } else {
        if (fmd_cli_fmnist("fit-gmm", 1, &set) != 0)
            return 2;
        classes = 10;
    }
    const size_t d = set.rows * set.cols, r = (size_t)rank;
    if (r >= d) {
        fmd_image_set_free(&set);
        return fmd_cli_usage_error("fit-gmm", "Choose --rank below the data's dimension.", "--rank %zu needs d > %zu; "
                                   "the data have d = %zu", r, r, d);
    }
    int ys[1024];   /* the class of each component (-1: all the data) */
    size_t count[1024] = {0}, K = 0;
    for (size_t p = 0; per_class && p < set.n; p++)
        count[set.y[p]]++;
    for (size_t y = 0; y < (per_class ? classes : 1); y++)
        if (!per_class || count[y] > 0)
            ys[K++] = per_class ? (int)y : -1;
    fmd_gmm *g = NULL;
    double *rows = malloc(set.n * d * sizeof(double));
    int rc = 0;
    if (!rows || fmd_gmm_alloc_lowrank(d, K, r, &g) != FMD_OK)
        rc = fmd_cli_out_of_memory("fit-gmm", "the data's copy and the mixture", (double)set.n * d * sizeof(double));
    for (size_t k = 0; rc == 0 && k < K; k++) {
        const size_t m = rows_of(&set, ys[k], rows);
        double explained = 0.0;
        if (m < 2) {
            fprintf(stderr, "fmd fit-gmm: error: class %d has %zu row%s; a covariance needs at least 2\n", ys[k], m,
                    m == 1 ? "" : "s");
            rc = 2;
            break;
        }
        int st = fmd_fit_lowrank(m, d, rows, r, floor_d, g->mean + k * d, g->diag + k * d, g->factor + k * d * r,
                                 &explained);
        if (st != FMD_OK) {
            fprintf(stderr, "fmd fit-gmm: error: fitting %s failed: %s\n", per_class ? "a class" : "the data",
                    fmd_strerror(st));
            rc = 1;
            break;
        }
        g->weight[k] = (double)m / (double)set.n;
        g->label[k] = ys[k] < 0 ? 0 : ys[k];
        fprintf(stderr, "fmd fit-gmm: %s%d: %zu rows, rank %zu explains %.1f%% of the variance\n",
                per_class ? "class " : "all data", per_class ? ys[k] : 0, m, r, 100.0 * explained);
    }
    fmd_atomic_file f;
    if (rc == 0 && fmd_atomic_open(out_path, &f) != FMD_OK) {
        fprintf(stderr, "fmd fit-gmm: error: cannot create %s\n", out_path);
        rc = 1;
    } else if (rc == 0) {
        fprintf(f.fp, "# fitted by fmd fit-gmm (probabilistic PCA, rank %zu, floor %g) to %s%s\n", r, floor_d,
                data_file ? data_file : "fashion-mnist", per_class ? ", one component per class" : "");
        fprintf(f.fp, "# each line: weight, mean (%zu), D (%zu), F (%zu x %zu, row-major)%s\n", d, d, d, r,
                per_class ? ", class" : "");
        fmd_gmm_write(f.fp, g, per_class);
        if (fmd_atomic_commit(&f) != FMD_OK) {
            fprintf(stderr, "fmd fit-gmm: error: writing %s failed\n", out_path);
            rc = 1;
        }
    }
    free(rows);
    fmd_gmm_free(g);
    fmd_image_set_free(&set);
    return rc;
}
