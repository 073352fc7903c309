/* test_gmm_file.c -- chapter 3: the mixture file format, its rejections with
 * file, line and reason, the fuzz corpus replayed, and `fmd field`. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fmd.h"
#include "corpus.h"
#include <gsl/gsl_randist.h>

static int parse(const char *text, fmd_gmm **g, fmd_parse_error *e)
{
    return fmd_gmm_parse(text, strlen(text), "test.gmm", g, e);
}

Test(gmm_file, parses_a_valid_file)
{
    fmd_gmm *g;
    fmd_parse_error e;
    const char *text = "# a mixture\n\ngmm 2 2\n  # comment inside\n"
                       "0.4 1 0  1 0.2 0.2 0.5\n0.6 -1 1e0  0.3 0 0 .3\n";
    cr_assert_eq(parse(text, &g, &e), FMD_OK, "%s:%ld: %s", e.file, e.line, e.reason);
    cr_expect(g->d == 2 && g->K == 2 && g->weight[1] == 0.6 && g->cov[7] == 0.3 && g->mean[3] == 1.0);
    cr_expect(g->label[0] == 0 && g->label[1] == 1, "without labels, component k is class k");
    fmd_gmm_free(g);
    /* chapter 5's labelled form: a trailing label per component */
    const char *labelled = "gmm 1 3 labelled\n0.2 -1 0.5 7\n0.3 0 0.5 2\n0.5 1 0.5 7\n";
    cr_assert_eq(parse(labelled, &g, &e), FMD_OK, "%s:%ld: %s", e.file, e.line, e.reason);
    cr_expect(g->K == 3 && g->label[0] == 7 && g->label[1] == 2 && g->label[2] == 7 && g->cov[2] == 0.5);
    fmd_gmm_free(g);
}

/* Each malformed case: rejected, with the right line and a reason naming it. */
/* A low-rank file: the numbers land where they belong, and the mixture is
 * the dense one it stands for (the same log-density, 1e-13). */
Test(gmm_file, parses_a_low_rank_file)
{
    const char *text = "# two components in R^3, rank 1, labelled\n"
                       "gmm 3 2 lowrank 1 labelled\n"
                       "0.25  1 2 3   0.5 0.6 0.7   1 -1 0.5   4\n"
                       "0.75  0 0 0   1 1 1         0.2 0.3 0.4   7\n";
    fmd_gmm *g;
    fmd_parse_error e;
    cr_assert_eq(parse(text, &g, &e), FMD_OK, "%s", e.reason);
    cr_expect(g->d == 3 && g->K == 2 && g->rank == 1 && g->label[0] == 4 && g->label[1] == 7);
    cr_expect(g->mean[2] == 3 && g->diag[1] == 0.6 && g->factor[1] == -1 && g->factor[5] == 0.4 && g->weight[1] == 0.75);
    fmd_gmm *dense;
    cr_assert_eq(fmd_gmm_alloc(3, 2, &dense), FMD_OK);
    memcpy(dense->weight, g->weight, 2 * sizeof(double));
    memcpy(dense->mean, g->mean, 6 * sizeof(double));
    for (size_t k = 0; k < 2; k++)
        fmd_gmm_covariance(g, k, dense->cov + 9 * k);
    cr_assert_eq(fmd_gmm_prepare(dense), FMD_OK);
    const double x[6] = {0.5, 1.5, 2.0, -0.3, 0.1, 0.9};
    double a[2], b[2];
    fmd_gmm_log_density(g, 2, x, a);
    fmd_gmm_log_density(dense, 2, x, b);
    for (int i = 0; i < 2; i++)
        cr_expect(fabs(a[i] - b[i]) <= 1e-13 * (1 + fabs(b[i])), "log p %.17g vs dense %.17g", a[i], b[i]);
    fmd_gmm_free(dense);
    fmd_gmm_free(g);
}

Test(gmm_file, rejects_each_malformed_case_with_line_and_reason)
{
    static const struct { const char *text; long line; const char *word; } cases[] = {
        {"gmm 2 1\n1 0 0 1 0\n", 2, "needs 7 numbers"},
        {"gmm 1 1\n1 0 1 5\n", 2, "found 4"},
        {"gmm 1 2\n0 0 1\n1 0 1\n", 2, "must be > 0"},
        {"gmm 1 2\n-0.5 0 1\n1.5 0 1\n", 2, "must be > 0"},
        {"gmm 1 2\n0.5 0 1\n0.6 0 1\n", 0, "sum to"},
        {"gmm 2 1\n1 0 0 1 0.2 0.3 1\n", 2, "not symmetric"},
        {"gmm 2 1\n1 0 0 1 2 2 1\n", 2, "not positive definite"},
        {"gmm 0 1\n", 1, "positive"},
        {"gmm 1 -3\n", 1, "positive"},
        {"gmm 2000 2\n", 1, "too large"},
        {"gmm 1.5 2\n", 1, "whole"},
        {"gmm 1 1\n1 nan 1\n", 2, "not a finite"},
        {"gmm 1 1\n1 0 inf\n", 2, "not a finite"},
        {"gmm 1 1\n1 0 1e999\n", 2, "not a finite"},
        {"gmm 1 1\n1 0 1;\n", 2, "not a number"},
        {"gmm 1 1 junk\n1 0 1\n", 1, "not a number"},
        {"gmm 1 2\n0.5 0 1\n", 2, "expected 2 components, found 1"},
        {"gmm 1 1\n1 0 1\n1 0 1\n", 3, "unexpected line"},
        {"gmmx 1 1\n", 1, "header"},
        {"1 0 1\n", 1, "header"},
        {"", 0, "no 'gmm"},
        {"# only a comment\n", 0, "no 'gmm"},
        {"gmm 1 1 labelled\n1 0 1\n", 2, "the label"},
        {"gmm 1 1 labelled\n1 0 1 2.5\n", 2, "whole number"},
        {"gmm 1 1 labelled\n1 0 1 -1\n", 2, "whole number"},
        {"gmm 1 1 labelled\n1 0 1 5000\n", 2, "whole number"},
        {"gmm 1 1 labeled\n1 0 1\n", 1, "not a number"},
        {"gmm 1 1labelled\n1 0 1\n", 1, "not a number"},
        /* low rank (issue 15): gmm d K lowrank r, then w, mean, D, F */
        {"gmm 2 1 lowrank 1\n1 0 0 1 1 0.5\n", 2, "needs 7 numbers"},
        {"gmm 2 1 lowrank 1\n1 0 0 1 0 0.5 0.5\n", 2, "D must be > 0"},
        {"gmm 2 1 lowrank 1\n1 0 0 -1 1 0.5 0.5\n", 2, "D must be > 0"},
        {"gmm 2 1 lowrank 2\n", 1, "1 <= r < d"},
        {"gmm 2 1 lowrank 0\n", 1, "1 <= r < d"},
        {"gmm 3 1 lowrank 1.5\n", 1, "whole"},
        {"gmm 3 1 lowrank\n", 1, "needs one number"},
        {"gmm 3 1 lowrank 1 2\n", 1, "needs one number"},
        {"gmm 2 1 lowrank 1 labelled\n1 0 0 1 1 0.5 0.5\n", 2, "the label"},
        {"gmm 2 1 lowrank 1\n1 0 0 1 1 0.5 nan\n", 2, "not a finite"},
        {"gmm 1000 10000 lowrank 100\n", 1, "too large"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fmd_gmm *g = (void *)1;
        fmd_parse_error e;
        int status = parse(cases[i].text, &g, &e);
        cr_expect_eq(status, FMD_EINVAL, "case %zu accepted: %s", i, cases[i].text);
        cr_expect_null(g, "case %zu: *out not NULL on failure", i);
        cr_expect_eq(e.line, cases[i].line, "case %zu: line %ld, expected %ld (%s)", i, e.line, cases[i].line, e.reason);
        cr_expect(strstr(e.reason, cases[i].word) != NULL, "case %zu: reason '%s' lacks '%s'", i, e.reason, cases[i].word);
        cr_expect_str_eq(e.file, "test.gmm");
    }
    fmd_gmm *g;
    fmd_parse_error e;
    cr_expect_eq(fmd_gmm_load("/nonexistent/x.gmm", &g, &e), FMD_EIO);
    cr_expect(strstr(e.reason, "cannot open") != NULL);
}

/* Every file of the fuzz corpus parses or is rejected with a reason; and
 * every truncation and every single-byte change of a valid file too. */
static void gmm_corpus_file(const char *path, unsigned char *b, size_t len, void *ctx)
{
    (void)b, (void)len;
    int *valid = ctx;
    fmd_gmm *g;
    fmd_parse_error e;
    int status = fmd_gmm_load(path, &g, &e);
    cr_expect(status == FMD_OK || strlen(e.reason) > 0, "%s: rejected without a reason", path);
    if (status == FMD_OK) {
        ++*valid;
        fmd_gmm_free(g);
    }
}

Test(gmm_file, replays_fuzz_corpus_and_mutations_without_crashing)
{
    int valid = 0;
    const int files = corpus_each("verify/fuzz/corpus/gmm", gmm_corpus_file, &valid);
    cr_expect(files >= 10 && valid >= 2, "corpus: %d files, %d valid", files, valid);
    const char *base = "gmm 2 2\n0.4 1 0  1 0.2 0.2 0.5\n0.6 -1 1  0.3 0 0 0.3\n";
    size_t n = strlen(base);
    char buf[128];
    for (size_t cut = 0; cut < n; cut++) {   /* truncations */
        fmd_gmm *g;
        fmd_parse_error e;
        if (fmd_gmm_parse(base, cut, "cut", &g, &e) == FMD_OK)
            fmd_gmm_free(g);   /* a cut after a whole number may still be valid */
        else
            cr_expect(strlen(e.reason) > 0);
    }
    const char subs[] = {'\0', '\n', ' ', '#', '-', '9', 'e', '.', 'x', (char)0xff};
    for (size_t pos = 0; pos < n; pos++)
        for (size_t s = 0; s < sizeof subs; s++) {   /* single-byte changes */
            memcpy(buf, base, n);
            buf[pos] = subs[s];
            fmd_gmm *g;
            fmd_parse_error e;
            if (fmd_gmm_parse(buf, n, "mut", &g, &e) == FMD_OK)
                fmd_gmm_free(g);
            else
                cr_expect(strlen(e.reason) > 0, "byte %zu -> %d: no reason", pos, subs[s]);
        }
}

/* `fmd field` prints log p, score, u, E[z|x] with %.17g: they round-trip to
 * the library's values exactly; bad input exits 2 with file and line. */
Test(field_command, prints_the_library_values_and_reports_bad_input)
{
    char dir[] = "/tmp/fmd-field-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char gpath[256], ppath[256], cmd[1024];
    snprintf(gpath, sizeof gpath, "%s/m.gmm", dir);
    snprintf(ppath, sizeof ppath, "%s/points", dir);
    FILE *f = fopen(gpath, "w");
    fputs("gmm 2 2\n0.4 1 0  1 0.2 0.2 0.5\n0.6 -1 1  0.3 0 0 0.3\n", f);
    fclose(f);
    f = fopen(ppath, "w");
    fputs("0.3 -0.2\n# skip me\n\n2.5e2 -1e3\n", f);
    fclose(f);
    fmd_gmm *g;
    fmd_parse_error e;
    cr_assert_eq(fmd_gmm_load(gpath, &g, &e), FMD_OK);
    const char *fmd = getenv("FMD_BIN") ? getenv("FMD_BIN") : "build/fmd";   /* set by make */
    const char *names[] = {"condot", "cosine", "lab", "poly:3", "vp"};
    const double ts[] = {0.0, 0.37, 1.0};
    for (int s = 0; s < 5; s++)
        for (int q = 0; q < 3; q++) {
            snprintf(cmd, sizeof cmd, "%s field --gmm %s --schedule %s --t %.17g --points %s", fmd, gpath, names[s], ts[q], ppath);
            FILE *p = popen(cmd, "r");
            cr_assert_not_null(p);
            char header[256];   /* "# log_p\tscore_1..." names the columns */
            cr_assert(fgets(header, sizeof header, p) && strncmp(header, "# log_p\tscore_1", 15) == 0, "%s: no header", cmd);
            fmd_schedule sch;
            fmd_schedule_by_name(names[s], &sch);
            fmd_marginal *m;
            fmd_marginal_alloc(g, &m);
            fmd_marginal_set_time(m, &sch, ts[q]);
            const double pts[2][2] = {{0.3, -0.2}, {2.5e2, -1e3}};
            for (int i = 0; i < 2; i++) {
                double got[7], lp, sc[2], u[2], zm[2];
                int nread = 0;
                for (int k = 0; k < 7; k++)
                    nread += fscanf(p, "%lf", &got[k]);
                cr_assert_eq(nread, 7, "%s: short output", cmd);
                fmd_marginal_out out = {.logp = &lp, .score = sc, .u = u, .zmean = zm};
                fmd_marginal_eval(m, 1, pts[i], &out);
                double want[7] = {lp, sc[0], sc[1], u[0], u[1], zm[0], zm[1]};
                for (int k = 0; k < 7; k++)
                    cr_expect(got[k] == want[k], "%s t = %g point %d field %d: printed %.17g, library %.17g", names[s], ts[q], i, k, got[k], want[k]);
            }
            cr_expect_eq(pclose(p), 0, "%s exited non-zero", cmd);
            fmd_marginal_free(m);
        }
    fmd_gmm_free(g);
    /* bad input: exit status 2 and the file:line in the message */
    f = fopen(ppath, "w");
    fputs("0.3 -0.2\n1 2 3\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s field --gmm %s --schedule condot --t 0.5 --points %s 2>&1 >/dev/null", fmd, gpath, ppath);
    FILE *p = popen(cmd, "r");
    char msg[512] = "";
    if (!fgets(msg, sizeof msg, p))
        msg[0] = '\0';
    int status = pclose(p);
    cr_expect(WEXITSTATUS(status) == 2, "malformed point line: exit %d", WEXITSTATUS(status));
    cr_expect(strstr(msg, ":2:") != NULL, "message lacks the line number: %s", msg);
    snprintf(cmd, sizeof cmd, "%s field --gmm %s --schedule nope --t 0.5 < /dev/null 2>/dev/null", fmd, gpath);
    cr_expect(WEXITSTATUS(system(cmd)) == 2, "unknown schedule accepted");
    snprintf(cmd, sizeof cmd, "%s field --gmm %s --schedule vp --t -0.1 < /dev/null 2>/dev/null", fmd, gpath);
    cr_expect(WEXITSTATUS(system(cmd)) == 2, "t < 0 accepted");
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_expect(system(cmd) == 0);
}

/* ---- an independent implementation, for `fmd field` ------------------------ */

#include <gsl/gsl_linalg.h>
#include <gsl/gsl_blas.h>

/* log p_t, score, u, E[z|x] at x, written with GSL's matrices and Cholesky
 * solves -- no code shared with src/paths/marginal.c. Per component, (z, eps) given
 * x is jointly Gaussian: with C = alpha^2 Sigma + beta^2 I and r = x - alpha mu,
 *   E[z | x, k] = mu + alpha Sigma C^{-1} r,   score_k = -C^{-1} r,
 * and u = alpha_dot E[z|x] - beta beta_dot score (finite at both ends). */
static double reference_field(const fmd_gmm *g, const fmd_sched_point *s, const double *x,
                              double *lp_out, double *score, double *u, double *zmean)
{
    const size_t d = g->d, K = g->K;
    gsl_matrix *C = gsl_matrix_alloc(d, d);
    gsl_vector *r = gsl_vector_alloc(d), *v = gsl_vector_alloc(d), *Sv = gsl_vector_alloc(d);
    double logw[8] = {0}, quads[8] = {0}, ez[8][8], sk[8][8];
    cr_assert(K <= 8 && d <= 8, "the reference is sized for K, d <= 8");
    for (size_t k = 0; k < K; k++) {
        gsl_matrix_const_view S = gsl_matrix_const_view_array(g->cov + k * d * d, d, d);
        gsl_matrix_memcpy(C, &S.matrix);
        gsl_matrix_scale(C, s->alpha * s->alpha);
        for (size_t i = 0; i < d; i++)
            gsl_matrix_set(C, i, i, gsl_matrix_get(C, i, i) + s->beta * s->beta);
        gsl_linalg_cholesky_decomp1(C);
        for (size_t i = 0; i < d; i++)
            gsl_vector_set(r, i, x[i] - s->alpha * g->mean[k * d + i]);
        gsl_linalg_cholesky_solve(C, r, v);                  /* v = C^{-1} r */
        double quad, logdet = 0.0;
        gsl_blas_ddot(r, v, &quad);
        for (size_t i = 0; i < d; i++)
            logdet += 2.0 * log(gsl_matrix_get(C, i, i));
        quads[k] = quad;   /* the quadratic term is kept apart: far away it is ~1e6 */
        logw[k] = log(g->weight[k]) - 0.5 * logdet - 0.5 * d * log(2 * M_PI);
        gsl_blas_dgemv(CblasNoTrans, 1.0, &S.matrix, v, 0.0, Sv);
        for (size_t i = 0; i < d; i++) {
            ez[k][i] = g->mean[k * d + i] + s->alpha * gsl_vector_get(Sv, i);
            sk[k][i] = -gsl_vector_get(v, i);
        }
    }
    double qref = quads[0];
    for (size_t k = 1; k < K; k++)
        qref = quads[k] < qref ? quads[k] : qref;
    for (size_t k = 0; k < K; k++)
        logw[k] -= 0.5 * (quads[k] - qref);   /* log w_k N_k + qref/2 */
    double mx = logw[0];
    for (size_t k = 1; k < K; k++)
        mx = logw[k] > mx ? logw[k] : mx;
    double tot = 0.0;
    for (size_t k = 0; k < K; k++)
        tot += exp(logw[k] - mx);
    *lp_out = mx + log(tot) - 0.5 * qref;
    for (size_t i = 0; i < d; i++) {
        score[i] = zmean[i] = 0.0;
        for (size_t k = 0; k < K; k++) {
            double w = exp(logw[k] - mx) / tot;
            score[i] += w * sk[k][i];
            zmean[i] += w * ez[k][i];
        }
        u[i] = s->alpha_dot * zmean[i] - s->beta_beta_dot * score[i];
    }
    gsl_matrix_free(C);
    gsl_vector_free(r);
    gsl_vector_free(v);
    gsl_vector_free(Sv);
    double qmax = 0.0;   /* returned: the conditioning of the responsibilities */
    for (size_t k = 0; k < K; k++)
        qmax = quads[k] > qmax ? quads[k] : qmax;
    return qmax;
}

/* `fmd field` on random mixtures it has never seen (d = 3, K = 4, files
 * written here), every schedule, t from 0 to 1 inclusive: each printed
 * number agrees with the reference to 1e-10 relative (to 1 + |value|). One
 * point lies ~10^3 standard deviations out; there the responsibilities are
 * differences of Mahalanobis terms q ~ 10^6, so the answer itself is only
 * determined to ~eps q (any two implementations differ by that much): the
 * tolerance adds 16 eps q_max, which is 1e-13 for ordinary points. */
Test(field_command, agrees_with_an_independent_implementation)
{
    fmd_gsl_quiet();
    const char *fmd = getenv("FMD_BIN") ? getenv("FMD_BIN") : "build/fmd";
    char dir[] = "/tmp/fmd-field-ref-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    const char *names[] = {"condot", "cosine", "lab", "poly:2.5", "poly:1", "vp"};
    const double ts[] = {0.0, 1e-9, 0.3, 0.77, 1.0 - 1e-9, 1.0};
    gsl_rng *rng;
    fmd_rng_alloc(4242, 0, &rng);
    for (int trial = 0; trial < 3; trial++) {
        /* a fresh mixture: means in [-3, 3]^3, Sigma = A A^T / 3 + 0.1 I */
        const size_t d = 3, K = 4;
        char gpath[256], ppath[256], cmd[1024];
        snprintf(gpath, sizeof gpath, "%s/m%d.gmm", dir, trial);
        snprintf(ppath, sizeof ppath, "%s/p%d", dir, trial);
        FILE *f = fopen(gpath, "w");
        fprintf(f, "gmm %zu %zu\n", d, K);
        double w[4] = {0.1, 0.2, 0.3, 0.4};
        for (size_t k = 0; k < K; k++) {
            double A[9], S[9];
            fmd_rng_gaussian(rng, 9, A);
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++)
                    S[3 * i + j] = (A[3 * i] * A[3 * j] + A[3 * i + 1] * A[3 * j + 1] + A[3 * i + 2] * A[3 * j + 2]) / 3 + (i == j ? 0.1 : 0);
            fprintf(f, "%.17g", w[k]);
            for (int i = 0; i < 3; i++)
                fprintf(f, " %.17g", 6 * gsl_rng_uniform(rng) - 3);
            for (int i = 0; i < 9; i++)
                fprintf(f, " %.17g", S[i]);
            fprintf(f, "\n");
        }
        fclose(f);
        double pts[5][3];
        f = fopen(ppath, "w");
        for (int q = 0; q < 5; q++) {
            for (int i = 0; i < 3; i++) {
                pts[q][i] = q == 4 ? 700.0 * (i + 1) : 3 * gsl_ran_gaussian(rng, 1.0);   /* one far point */
                fprintf(f, "%.17g ", pts[q][i]);
            }
            fprintf(f, "\n");
        }
        fclose(f);
        fmd_gmm *g;
        fmd_parse_error e;
        cr_assert_eq(fmd_gmm_load(gpath, &g, &e), FMD_OK);
        for (size_t si = 0; si < sizeof names / sizeof names[0]; si++)
            for (size_t ti = 0; ti < sizeof ts / sizeof ts[0]; ti++) {
                fmd_schedule sch;
                fmd_sched_point sp;
                fmd_schedule_by_name(names[si], &sch);
                fmd_schedule_at(&sch, ts[ti], &sp);
                snprintf(cmd, sizeof cmd, "%s field --gmm %s --schedule %s --t %.17g --points %s", fmd, gpath, names[si], ts[ti], ppath);
                FILE *p = popen(cmd, "r");
                char header[512];
                cr_assert(fgets(header, sizeof header, p) && header[0] == '#', "%s: no header", cmd);
                for (int q = 0; q < 5; q++) {
                    double got[10], want[10];
                    int nread = 0;
                    for (int k = 0; k < 10; k++)
                        nread += fscanf(p, "%lf", &got[k]);
                    cr_assert_eq(nread, 10, "%s: short output", cmd);
                    double qmax = reference_field(g, &sp, pts[q], &want[0], want + 1, want + 4, want + 7);
                    double tol = 1e-10 + 16 * DBL_EPSILON * qmax;
                    for (int k = 0; k < 10; k++)
                        cr_expect(fabs(got[k] - want[k]) <= tol * (1 + fabs(want[k])),
                                  "%s t = %.17g point %d value %d: fmd %.17g, reference %.17g", names[si], ts[ti], q, k, got[k], want[k]);
                }
                cr_expect_eq(pclose(p), 0);
            }
        fmd_gmm_free(g);
    }
    gsl_rng_free(rng);
    char rm[128];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    cr_expect(system(rm) == 0);
}

/* `fmd field --class Y --guidance W` prints log p_t(x | y) and the exactly
 * guided score, field and posterior mean: its u columns equal the library's
 * exact classifier-free guided field (chapter 5, src/paths/guidance.c) at every
 * point, to the 17 printed digits (1e-13 (1 + |u|)). */
Test(field_command, class_and_guidance_give_the_exact_guided_field)
{
    const char *fmd = getenv("FMD_BIN") ? getenv("FMD_BIN") : "build/fmd";
    const char *gmm = "chapters/05-conditional-generation/three_classes.gmm";
    const double x[6] = {0.3, 0.4, -1.2, 0.8, 2.0, -0.5}, w = 2.0, t = 0.6;
    char pts[64], cmd[512];
    snprintf(pts, sizeof pts, "/tmp/fmd-field-%d.txt", (int)getpid());
    FILE *f = fopen(pts, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 3; i++)
        fprintf(f, "%.17g %.17g\n", x[2 * i], x[2 * i + 1]);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s field --gmm %s --schedule condot --t %g --class 1 --guidance %g --points %s", fmd, gmm, t, w, pts);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char line[1024];
    double row[3][7];
    int rows = 0;
    while (fgets(line, sizeof line, p))
        if (line[0] != '#' && rows < 3 &&
            sscanf(line, "%lg %lg %lg %lg %lg %lg %lg", &row[rows][0], &row[rows][1], &row[rows][2], &row[rows][3],
                   &row[rows][4], &row[rows][5], &row[rows][6]) == 7)
            rows++;
    cr_assert_eq(pclose(p), 0);
    cr_assert_eq(rows, 3);
    unlink(pts);
    fmd_gmm *g;
    fmd_parse_error e;
    cr_assert_eq(fmd_gmm_load(gmm, &g, &e), FMD_OK);
    fmd_schedule sch;
    fmd_schedule_by_name("condot", &sch);
    fmd_guidance_params P;
    cr_assert_eq(fmd_guidance_init(&P, g, 1, &sch, w), FMD_OK);
    double u[6];
    cr_assert_eq(fmd_guided_field(t, 3, 2, x, u, &P), FMD_OK);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 2; k++)
            cr_expect(fabs(row[i][3 + k] - u[2 * i + k]) <= 1e-13 * (1 + fabs(u[2 * i + k])), "point %d: u_%d %.17g, library %.17g",
                      i, k + 1, row[i][3 + k], u[2 * i + k]);
    fmd_guidance_free(&P);
    fmd_gmm_free(g);
}

/* fmd_gmm_write and the parser are inverses: a dense labelled mixture and a
 * low-rank one written and read back have every number the same, bit for
 * bit (%.17g round-trips a double), and the same labels. */
Test(gmm_file, written_mixtures_parse_back_exactly)
{
    const char *texts[2] = {"gmm 2 2 labelled\n0.25 1 2 1 0.3 0.3 2 4\n0.75 -1 0.5 0.5 0.1 0.1 0.7 9\n",
                            "gmm 3 2 lowrank 1\n0.25 1 2 3 0.5 0.6 0.7 1 -1 0.5\n0.75 0 0 0 1 1 1 0.2 0.3 0.4\n"};
    for (int q = 0; q < 2; q++) {
        fmd_gmm *a, *b;
        fmd_parse_error e;
        cr_assert_eq(parse(texts[q], &a, &e), FMD_OK, "%s", e.reason);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        cr_assert_eq(fmd_gmm_write(f, a, q == 0), FMD_OK);
        fclose(f);
        cr_assert_eq(fmd_gmm_parse(buf, len, "written", &b, &e), FMD_OK, "%s\n%s", e.reason, buf);
        const size_t d = a->d, K = a->K, r = a->rank;
        cr_expect(b->d == d && b->K == K && b->rank == r);
        cr_expect(memcmp(a->weight, b->weight, K * sizeof(double)) == 0 && memcmp(a->mean, b->mean, K * d * sizeof(double)) == 0);
        cr_expect(memcmp(a->label, b->label, K * sizeof(int)) == 0);
        if (r)
            cr_expect(memcmp(a->diag, b->diag, K * d * sizeof(double)) == 0 &&
                      memcmp(a->factor, b->factor, K * d * r * sizeof(double)) == 0);
        else
            cr_expect(memcmp(a->cov, b->cov, K * d * d * sizeof(double)) == 0);
        free(buf);
        fmd_gmm_free(a);
        fmd_gmm_free(b);
    }
}
