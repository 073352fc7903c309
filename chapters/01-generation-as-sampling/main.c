/* Chapter 1 -- generation as sampling.
 *
 * An object is a vector z in R^d; generating one means sampling z ~ p_data;
 * a data set is z_1..z_N drawn from it; conditional generation samples
 * p_data(. | y). This program builds a labelled Gaussian mixture in the plane,
 * checks that what it samples has the mixture's exact moments, class
 * frequencies and density, and writes the data of figures/ch01_sampling.gp:
 * samples of p_init = N(0, I) beside samples of p_data, and the density of
 * p_data on a grid. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmd.h"

enum { N = 200000, SHOW = 3000, GRID = 161 };

/* Four components in R^2, two classes: the running example of the chapter. */
static fmd_gmm *build_mixture(void)
{
    static const double w[4] = {0.2, 0.3, 0.15, 0.35};
    static const double mu[8] = {-2.5, 1.5, 2.0, 2.2, 0.3, -2.4, 2.6, -1.0};
    static const double S[16] = {0.5, 0.25, 0.25, 0.4, 0.3, -0.1, -0.1, 0.6,
                                 0.8, 0.0, 0.0, 0.2, 0.35, 0.2, 0.2, 0.5};
    static const int label[4] = {0, 1, 0, 1};
    fmd_gmm *g;
    if (fmd_gmm_alloc(2, 4, &g) != FMD_OK)
        return NULL;
    memcpy(g->weight, w, sizeof w);
    memcpy(g->mean, mu, sizeof mu);
    memcpy(g->cov, S, sizeof S);
    memcpy(g->label, label, sizeof label);
    if (fmd_gmm_prepare(g) != FMD_OK) {
        fmd_gmm_free(g);
        return NULL;
    }
    return g;
}

static int write_samples(const fmd_gmm *g, const double *x0, const double *z, const size_t *comp)
{
    fmd_atomic_file f;
    if (fmd_data_open("ch01_samples.tsv", &f) != FMD_OK)
        return 1;
    fprintf(f.fp, "# x_init\ty_init\tz_1\tz_2\tclass\n");
    for (int i = 0; i < SHOW; i++)
        fprintf(f.fp, "%.6g\t%.6g\t%.6g\t%.6g\t%d\n", x0[2 * i], x0[2 * i + 1], z[2 * i],
                z[2 * i + 1], g->label[comp[i]]);
    return fmd_atomic_commit(&f) != FMD_OK;
}

/* log p_data on a grid over [-6, 6]^2; returns the midpoint-rule integral of p. */
static double write_density(const fmd_gmm *g)
{
    fmd_atomic_file f;
    if (fmd_data_open("ch01_density.tsv", &f) != FMD_OK)
        return NAN;
    const double lo = -6.0, hi = 6.0, step = (hi - lo) / (GRID - 1);
    double mass = 0.0;
    fprintf(f.fp, "# x\ty\tp_data(x, y)\n");
    for (int i = 0; i < GRID; i++) {
        for (int j = 0; j < GRID; j++) {
            double x[2] = {lo + i * step, lo + j * step}, lp;
            fmd_gmm_log_density(g, 1, x, &lp);
            fprintf(f.fp, "%.6g\t%.6g\t%.6g\n", x[0], x[1], exp(lp));
            mass += exp(lp) * step * step;
        }
        fprintf(f.fp, "\n");
    }
    return fmd_atomic_commit(&f) == FMD_OK ? mass : NAN;
}

int main(int argc, char **argv)
{
    int full;   /* this chapter has no long runs: make tour-full runs it as make tour does */
    if (fmd_chapter_options(argc, argv, "chapter 1", "nothing more here: this chapter has no long runs", &full) != 0)
        return 2;
    fmd_gmm *g = build_mixture();
    double *z = malloc(sizeof(double) * 2 * N), *x0 = malloc(sizeof(double) * 2 * N);
    double *y = malloc(sizeof(double) * N);
    size_t *comp = malloc(sizeof(size_t) * N);
    gsl_rng *r = NULL;
    if (!g || !z || !x0 || !y || !comp || fmd_rng_alloc(1, 0, &r) != FMD_OK) {
        fprintf(stderr, "chapter 1: out of memory\n");
        return 1;
    }
    fmd_report rep;
    fmd_report_begin(&rep, stdout, "Chapter 1: generation as sampling (tolerances: 6 standard errors)");
    if (fmd_report_tsv(&rep, "ch01_checks.tsv") != FMD_OK)
        fprintf(stderr, "could not open the table of checks under %s/\n", fmd_data_dir());

    /* z_1..z_N ~ p_data: a data set */
    fmd_gmm_sample(g, r, N, z, comp);
    double mean[2], cov[4];
    fmd_gmm_moments(g, mean, cov);
    char what[64];
    for (int i = 0; i < 2; i++) {
        double m, se;
        fmd_mean_se(N, z + i, 2, &m, &se);
        snprintf(what, sizeof what, "E[z_%d] of the data set", i + 1);
        fmd_report_check(&rep, what, m, mean[i], 6 * se);
    }
    for (int i = 0; i < 2; i++)
        for (int j = i; j < 2; j++) {
            for (int k = 0; k < N; k++)
                y[k] = (z[2 * k + i] - mean[i]) * (z[2 * k + j] - mean[j]);
            double c, se;
            fmd_mean_se(N, y, 1, &c, &se);
            snprintf(what, sizeof what, "Cov[z_%d, z_%d]", i + 1, j + 1);
            fmd_report_check(&rep, what, c, cov[2 * i + j], 6 * se);
        }
    /* class frequencies: P(y = 1) = w_2 + w_4 */
    double p1 = g->weight[1] + g->weight[3];
    size_t n1 = 0;
    for (int k = 0; k < N; k++)
        n1 += g->label[comp[k]] == 1;
    fmd_report_check(&rep, "P(y = 1) in the data set", (double)n1 / N, p1, 6 * sqrt(p1 * (1 - p1) / N));
    /* conditional generation: p_data(. | y = 0) has mean (w1 mu1 + w3 mu3) / (w1 + w3) */
    fmd_gmm_sample_class(g, 0, r, N, z + 0);
    double w0 = g->weight[0] + g->weight[2];
    for (int i = 0; i < 2; i++) {
        double m, se;
        fmd_mean_se(N, z + i, 2, &m, &se);
        double exact = (g->weight[0] * g->mean[i] + g->weight[2] * g->mean[4 + i]) / w0;
        snprintf(what, sizeof what, "E[z_%d | y = 0]", i + 1);
        fmd_report_check(&rep, what, m, exact, 6 * se);
    }
    /* p_init = N(0, I): the source of every generative model here */
    fmd_sample_init(7, N, 2, x0);
    fmd_report_check(&rep, "Var[x_1], x ~ p_init", fmd_sample_variance(N, x0, 2), 1.0,
                     6 * sqrt(2.0 / (N - 1)));
    /* the density is a density: midpoint rule on [-6, 6]^2, tails < 1e-6 */
    double mass = write_density(g);
    fmd_report_check(&rep, "integral of p_data over [-6, 6]^2", mass, 1.0, 1e-5);

    fmd_gmm_sample(g, r, SHOW, z, comp);
    int io = write_samples(g, x0, z, comp);
    if (io || isnan(mass))
        fprintf(stderr, "chapter 1: could not write the figure data under %s/ (set FMD_DATA, or run from the "
                        "repository root)\n", fmd_data_dir());
    int status = fmd_report_end(&rep) || io || isnan(mass);
    gsl_rng_free(r);
    fmd_gmm_free(g);
    free(z);
    free(x0);
    free(y);
    free(comp);
    return status;
}
