/* gmm_file.c -- line-by-line parser of mixture files. */
#include "files/gmm_file.h"
#include "base/status.h"
#include "base/cholesky.h"
#include "base/atomic_file.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(fmd_parse_error *err, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(fmd_parse_error *err, long line, const char *fmt, ...)
{
    if (err) {
        err->line = line;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->reason, sizeof err->reason, fmt, ap);
        va_end(ap);
    }
    return FMD_EINVAL;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

int fmd_parse_numbers(const char *p, const char *end, double *out, size_t want, size_t *got,
                      fmd_parse_error *err)
{
    size_t n = 0;
    while (p < end) {
        while (p < end && is_space(*p))
            p++;
        if (p == end)
            break;
        const char *tok = p;
        while (p < end && !is_space(*p))
            p++;
        size_t len = (size_t)(p - tok);
        char buf[80];
        if (len >= sizeof buf) {
            fail(err, 0, "token of %zu characters is not a number", len);
            return -1;
        }
        memcpy(buf, tok, len);
        buf[len] = '\0';
        if (memchr(buf, '\0', len)) {
            fail(err, 0, "NUL byte inside a number");
            return -1;
        }
        char *stop;
        errno = 0;
        double v = strtod(buf, &stop);
        if (stop == buf || *stop != '\0') {
            fail(err, 0, "'%s' is not a number", buf);
            return -1;
        }
        if (!isfinite(v)) {
            fail(err, 0, "'%s' is not a finite number", buf);
            return -1;
        }
        if (n < want)
            out[n] = v;
        n++;
    }
    *got = n;
    return 0;
}

/* Next line of [*p, end): sets [*ls, *le), advances *p; 0 at the end. */
static int next_line(const char **p, const char *end, const char **ls, const char **le)
{
    if (*p >= end)
        return 0;
    *ls = *p;
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    *le = nl ? nl : end;
    *p = nl ? nl + 1 : end;
    return 1;
}

static int blank_or_comment(const char *ls, const char *le)
{
    while (ls < le && is_space(*ls))
        ls++;
    return ls == le || *ls == '#';
}

/* "gmm <d> <K>", optionally followed by "lowrank <r>" (covariances
 * diag(D) + F F^T of rank r) and then by "labelled" (each component line
 * ends with its class label) */
static int parse_header(const char *ls, const char *le, long line, size_t *d, size_t *K, size_t *rank, int *labelled,
                        fmd_parse_error *err)
{
    while (ls < le && is_space(*ls))
        ls++;
    if (le - ls < 3 || memcmp(ls, "gmm", 3) != 0 || (le - ls > 3 && !is_space(ls[3])))
        return fail(err, line, "expected the header 'gmm <d> <K>', 'gmm <d> <K> labelled' or 'gmm <d> <K> lowrank <r>'");
    const char *tail = le;   /* strip an optional trailing word "labelled" */
    while (tail > ls && is_space(tail[-1]))
        tail--;
    *labelled = tail - ls >= 3 + 1 + 8 && memcmp(tail - 8, "labelled", 8) == 0 && is_space(tail[-9]);
    if (*labelled)
        le = tail - 8;
    const char *lr = NULL;   /* the word "lowrank", if any, then one number */
    for (const char *q = ls + 3; q + 7 <= le && !lr; q++)
        if (memcmp(q, "lowrank", 7) == 0 && is_space(q[-1]) && (q + 7 == le || is_space(q[7])))
            lr = q;
    double v[2], rv = 0.0;
    size_t got;
    if (fmd_parse_numbers(ls + 3, lr ? lr : le, v, 2, &got, err) != 0) {
        if (err)
            err->line = line;
        return FMD_EINVAL;
    }
    if (got != 2)
        return fail(err, line, "header 'gmm <d> <K>' needs 2 numbers, found %zu", got);
    if (lr) {
        if (fmd_parse_numbers(lr + 7, le, &rv, 1, &got, err) != 0) {
            if (err)
                err->line = line;
            return FMD_EINVAL;
        }
        if (got != 1)
            return fail(err, line, "'lowrank <r>' needs one number, the rank, found %zu", got);
    }
    if (v[0] != floor(v[0]) || v[1] != floor(v[1]) || rv != floor(rv))
        return fail(err, line, "d, K and the rank must be whole numbers");
    if (v[0] <= 0 || v[1] <= 0)
        return fail(err, line, "d and K must be positive (got d = %g, K = %g)", v[0], v[1]);
    if (lr && !(rv >= 1 && rv < v[0] && rv <= FMD_GMM_MAX_RANK))
        return fail(err, line, "the rank must be a whole number with 1 <= r < d and r <= %d (got r = %g, d = %g)",
                    FMD_GMM_MAX_RANK, rv, v[0]);
    const double numbers = lr ? v[1] * v[0] * (2.0 + rv) : v[1] * v[0] * v[0];
    if (v[0] > FMD_GMM_MAX_D || v[1] > FMD_GMM_MAX_K || numbers > FMD_GMM_MAX_NUMBERS)
        return fail(err, line, "mixture too large (d = %g, K = %g; limits d <= %d, K <= %d, %s <= %d)", v[0], v[1],
                    FMD_GMM_MAX_D, FMD_GMM_MAX_K, lr ? "K d (r + 2)" : "K d^2", FMD_GMM_MAX_NUMBERS);
    *d = (size_t)v[0];
    *K = (size_t)v[1];
    *rank = (size_t)rv;
    return FMD_OK;
}

int fmd_gmm_parse(const char *text, size_t len, const char *filename, fmd_gmm **out,
                  fmd_parse_error *err)
{
    if (!out || (!text && len))
        return FMD_EINVAL;
    *out = NULL;
    if (err) {
        memset(err, 0, sizeof *err);
        snprintf(err->file, sizeof err->file, "%s", filename ? filename : "<input>");
    }
    const char *p = text, *end = text + len, *ls, *le;
    long line = 0;
    size_t d = 0, K = 0, k = 0, rank = 0;
    int labelled = 0;
    fmd_gmm *g = NULL;
    double *row = NULL;
    int status = FMD_OK;
    while (status == FMD_OK && next_line(&p, end, &ls, &le)) {
        line++;
        if (blank_or_comment(ls, le))
            continue;
        if (!g) {
            status = parse_header(ls, le, line, &d, &K, &rank, &labelled, err);
            if (status != FMD_OK)
                break;
            status = rank ? fmd_gmm_alloc_lowrank(d, K, rank, &g) : fmd_gmm_alloc(d, K, &g);
            row = malloc((2 + (rank ? d * (2 + rank) : d + d * d)) * sizeof(double));
            if (status != FMD_OK || !row)
                status = FMD_ENOMEM;
            continue;
        }
        if (k == K) {
            status = fail(err, line, "unexpected line after the %zu components", K);
            break;
        }
        size_t want = 1 + (rank ? d * (2 + rank) : d + d * d) + (size_t)labelled, got;
        if (fmd_parse_numbers(ls, le, row, want, &got, err) != 0) {
            if (err)
                err->line = line;
            status = FMD_EINVAL;
            break;
        }
        if (got != want && rank) {
            status = fail(err, line, "component %zu needs %zu numbers (weight, %zu for the mean, %zu for the diagonal D, "
                                     "%zu for the factor F%s), found %zu",
                          k + 1, want, d, d, d * rank, labelled ? ", the label" : "", got);
            break;
        }
        if (got != want) {
            status = fail(err, line, "component %zu needs %zu numbers (weight, %zu for the mean, %zu for the covariance%s), found %zu",
                          k + 1, want, d, d * d, labelled ? ", the label" : "", got);
            break;
        }
        if (labelled) {
            double y = row[want - 1];
            if (!(y >= 0 && y <= FMD_GMM_MAX_LABEL && y == floor(y))) {
                status = fail(err, line, "label %g of component %zu must be a whole number in [0, %d]", y, k + 1,
                              FMD_GMM_MAX_LABEL);
                break;
            }
            g->label[k] = (int)y;
        }
        if (!(row[0] > 0.0)) {
            status = fail(err, line, "weight %g of component %zu must be > 0", row[0], k + 1);
            break;
        }
        if (rank) {   /* w, mean, D > 0, F */
            for (size_t i = 0; i < d && status == FMD_OK; i++)
                if (!(row[1 + d + i] > 0.0))
                    status = fail(err, line, "diagonal entry %zu of component %zu is %g; D must be > 0", i + 1, k + 1,
                                  row[1 + d + i]);
            if (status != FMD_OK)
                break;
            g->weight[k] = row[0];
            memcpy(g->mean + k * d, row + 1, d * sizeof(double));
            memcpy(g->diag + k * d, row + 1 + d, d * sizeof(double));
            memcpy(g->factor + k * d * rank, row + 1 + 2 * d, d * rank * sizeof(double));
            k++;
            continue;
        }
        const double *S = row + 1 + d;
        for (size_t i = 0; i < d && status == FMD_OK; i++)
            for (size_t j = 0; j < i; j++)
                if (fabs(S[i * d + j] - S[j * d + i]) > 1e-12 * fmax(fabs(S[i * d + j]), fabs(S[j * d + i]))) {
                    status = fail(err, line, "covariance of component %zu is not symmetric: [%zu][%zu] = %g but [%zu][%zu] = %g",
                                  k + 1, i + 1, j + 1, S[i * d + j], j + 1, i + 1, S[j * d + i]);
                    break;
                }
        if (status != FMD_OK)
            break;
        double *L = malloc(d * d * sizeof(double));
        if (!L) {
            status = FMD_ENOMEM;
            break;
        }
        int pd = fmd_cholesky(d, S, L);
        free(L);
        if (!pd) {
            status = fail(err, line, "covariance of component %zu is not positive definite (Cholesky fails)", k + 1);
            break;
        }
        g->weight[k] = row[0];
        memcpy(g->mean + k * d, row + 1, d * sizeof(double));
        memcpy(g->cov + k * d * d, S, d * d * sizeof(double));
        k++;
    }
    free(row);
    if (status == FMD_OK && !g)
        status = fail(err, 0, "no 'gmm <d> <K>' header (the file is empty or only comments)");
    if (status == FMD_OK && k < K)
        status = fail(err, line, "expected %zu components, found %zu", K, k);
    if (status == FMD_OK) {
        double total = 0.0;
        for (size_t i = 0; i < K; i++)
            total += g->weight[i];
        if (fabs(total - 1.0) > 1e-9)
            status = fail(err, 0, "weights sum to %.17g, not 1 (within 1e-9)", total);
    }
    if (status == FMD_OK && fmd_gmm_prepare(g) != FMD_OK)
        status = fail(err, 0, "the mixture does not validate");   /* unreachable after the checks above */
    if (status != FMD_OK) {
        fmd_gmm_free(g);
        if (status == FMD_ENOMEM && err)
            snprintf(err->reason, sizeof err->reason, "out of memory");
        return status;
    }
    *out = g;
    return FMD_OK;
}

int fmd_gmm_write(FILE *f, const fmd_gmm *g, int labelled)
{
    if (!f || !g)
        return FMD_EINVAL;
    const size_t d = g->d, r = g->rank;
    fprintf(f, "gmm %zu %zu", d, g->K);
    if (r)
        fprintf(f, " lowrank %zu", r);
    fprintf(f, "%s\n", labelled ? " labelled" : "");
    for (size_t k = 0; k < g->K; k++) {   /* weight, mean, then Sigma or D and F, then the label */
        const size_t m = r ? d * (1 + r) : d * d;
        const double *cov = r ? NULL : g->cov + k * d * d;
        fprintf(f, "%.17g", g->weight[k]);
        for (size_t i = 0; i < d; i++)
            fprintf(f, " %.17g", g->mean[k * d + i]);
        for (size_t i = 0; i < m; i++)
            fprintf(f, " %.17g", r ? (i < d ? g->diag[k * d + i] : g->factor[k * d * r + i - d]) : cov[i]);
        if (labelled)
            fprintf(f, " %d", g->label[k]);
        fprintf(f, "\n");
    }
    return ferror(f) ? FMD_EIO : FMD_OK;
}

int fmd_gmm_load(const char *path, fmd_gmm **out, fmd_parse_error *err)
{
    if (!path || !out)
        return FMD_EINVAL;
    *out = NULL;
    if (err) {
        memset(err, 0, sizeof *err);
        snprintf(err->file, sizeof err->file, "%s", path);
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (err)
            snprintf(err->reason, sizeof err->reason, "cannot open: %s", strerror(errno));
        return FMD_EIO;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    int status = buf ? FMD_OK : FMD_ENOMEM;
    while (status == FMD_OK) {
        if (len == cap) {
            if (cap > (size_t)1 << 30) {   /* 1 GiB: no sane mixture file is that large */
                status = FMD_EINVAL;
                if (err)
                    snprintf(err->reason, sizeof err->reason, "file larger than 1 GiB");
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                status = FMD_ENOMEM;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0) {
            if (ferror(f)) {
                status = FMD_EIO;
                if (err)
                    snprintf(err->reason, sizeof err->reason, "read error");
            }
            break;
        }
    }
    fclose(f);
    if (status == FMD_OK)
        status = fmd_gmm_parse(buf, len, path, out, err);
    free(buf);
    return status;
}

int fmd_gmm_save(const char *path, const fmd_gmm *g, int labelled)
{
    if (!path || !*path || !g)
        return FMD_EINVAL;
    fmd_atomic_file f;
    if (fmd_atomic_open(path, &f) != FMD_OK)
        return FMD_EIO;
    if (fmd_gmm_write(f.fp, g, labelled) != FMD_OK) {
        fmd_atomic_abort(&f);
        return FMD_EIO;
    }
    return fmd_atomic_commit(&f) == FMD_OK ? FMD_OK : FMD_EIO;
}
