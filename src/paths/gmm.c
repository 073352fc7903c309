/* gmm.c -- Gaussian mixtures: factorisation, sampling, log-density. */
#include "paths/gmm.h"
#include "paths/lowrank.h"
#include "base/cholesky.h"
#include "base/status.h"
#include "flows/field.h"
#include "base/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Both kinds of mixture: dense covariances and their Cholesky factors, or
 * (rank r > 0) the diagonal D and factor F of diag(D) + F F^T. */
static int alloc_mixture(size_t d, size_t K, size_t r, fmd_gmm **out)
{
    if (!out)
        return FMD_EINVAL;
    *out = NULL;
    fmd_gmm *g = calloc(1, sizeof *g);
    if (!g)
        return FMD_ENOMEM;
    g->d = d, g->K = K, g->rank = r;
    g->weight = calloc(K, sizeof(double));
    g->mean = calloc(K * d, sizeof(double));
    g->label = calloc(K, sizeof(int));
    g->log_norm = calloc(K, sizeof(double));
    if (r) {
        g->diag = calloc(K * d, sizeof(double));
        g->factor = calloc(K * d * r, sizeof(double));
    } else {
        g->cov = calloc(K * d * d, sizeof(double));
        g->chol = calloc(K * d * d, sizeof(double));
    }
    if (!g->weight || !g->mean || !g->label || !g->log_norm || (r ? !g->diag || !g->factor : !g->cov || !g->chol)) {
        fmd_gmm_free(g);
        return FMD_ENOMEM;
    }
    for (size_t k = 0; k < K; k++)
        g->label[k] = (int)k;
    *out = g;
    return FMD_OK;
}

int fmd_gmm_alloc(size_t d, size_t K, fmd_gmm **out)
{
    if (out)
        *out = NULL;
    if (d == 0 || K == 0 || d > 4096 || K > (1u << 20))
        return FMD_EINVAL;
    return alloc_mixture(d, K, 0, out);
}

int fmd_gmm_alloc_lowrank(size_t d, size_t K, size_t r, fmd_gmm **out)
{
    if (out)
        *out = NULL;
    if (d == 0 || K == 0 || r == 0 || r >= d || r > FMD_GMM_MAX_RANK || d > 65536 || K > (1u << 20) ||
        K * d > ((size_t)1 << 30) / (r + 1))
        return FMD_EINVAL;
    return alloc_mixture(d, K, r, out);
}

void fmd_gmm_covariance(const fmd_gmm *g, size_t k, double *S)
{
    const size_t d = g->d, r = g->rank;
    if (r == 0) {
        memcpy(S, g->cov + k * d * d, d * d * sizeof(double));
        return;
    }
    const double *F = g->factor + k * d * r;
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            double s = i == j ? g->diag[k * d + i] : 0.0;
            for (size_t a = 0; a < r; a++)
                s += F[i * r + a] * F[j * r + a];
            S[i * d + j] = s;
        }
}

/* Component k's covariance D + F F^T factorised at t = 1 (lowrank.h); the
 * arrays of f come from work (d + d r + r r numbers). */
static int lowrank_at_data(const fmd_gmm *g, size_t k, double *work, fmd_lowrank *f)
{
    const size_t d = g->d, r = g->rank;
    f->dinv = work, f->W = work + d, f->L = work + d + d * r;
    return fmd_lowrank_factor(d, r, g->diag + k * d, g->factor + k * d * r, f);
}

void fmd_gmm_free(fmd_gmm *g)
{
    if (!g)
        return;
    free(g->diag);
    free(g->factor);
    free(g->weight);
    free(g->mean);
    free(g->cov);
    free(g->label);
    free(g->chol);
    free(g->log_norm);
    free(g);
}

static int prepare_lowrank(fmd_gmm *g)
{
    const size_t d = g->d, K = g->K, r = g->rank;
    if (!fmd_all_finite(K * d, g->diag) || !fmd_all_finite(K * d * r, g->factor))
        return FMD_EDOM;
    double *work = malloc((d + d * r + r * r) * sizeof(double));
    if (!work)
        return FMD_ENOMEM;
    int status = FMD_OK;
    for (size_t k = 0; k < K && status == FMD_OK; k++) {
        fmd_lowrank f;
        for (size_t i = 0; i < d && status == FMD_OK; i++)
            if (!(g->diag[k * d + i] > 0.0))
                status = FMD_ECOV;
        if (status == FMD_OK && lowrank_at_data(g, k, work, &f) != FMD_OK)
            status = FMD_ECOV;
        if (status == FMD_OK)   /* log det Sigma by the matrix determinant lemma */
            g->log_norm[k] = log(g->weight[k]) - 0.5 * f.logdet - 0.5 * (double)d * log(2.0 * M_PI);
    }
    free(work);
    return status;
}

int fmd_gmm_prepare(fmd_gmm *g)
{
    if (!g || !g->weight || !g->mean || (!g->cov && !g->rank))
        return FMD_EINVAL;
    const size_t d = g->d, K = g->K;
    if (!fmd_all_finite(K, g->weight) || !fmd_all_finite(K * d, g->mean) ||
        (!g->rank && !fmd_all_finite(K * d * d, g->cov)))
        return FMD_EDOM;
    double total = 0.0;
    for (size_t k = 0; k < K; k++) {
        if (!(g->weight[k] > 0.0))
            return FMD_EINVAL;
        total += g->weight[k];
    }
    if (fabs(total - 1.0) > 1e-9)
        return FMD_EINVAL;
    if (g->rank)   /* D_k > 0 and the determinant lemma, below */
        return prepare_lowrank(g);
    for (size_t k = 0; k < K; k++) {
        const double *S = g->cov + k * d * d;
        double *L = g->chol + k * d * d;
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < i; j++)
                if (fabs(S[i * d + j] - S[j * d + i]) >
                    1e-12 * fmax(fabs(S[i * d + j]), fabs(S[j * d + i])))
                    return FMD_ECOV;
        if (g->point_masses) {   /* Sigma_k = 0: L = 0, no density */
            memset(L, 0, d * d * sizeof(double));
            g->log_norm[k] = log(g->weight[k]);
            continue;
        }
        if (!fmd_cholesky(d, S, L))
            return FMD_ECOV;
        double log_det_half = 0.0;   /* log det(Sigma)^(1/2) = sum log L_ii */
        for (size_t i = 0; i < d; i++)
            log_det_half += log(L[i * d + i]);
        g->log_norm[k] = log(g->weight[k]) - log_det_half - 0.5 * (double)d * log(2.0 * M_PI);
    }
    return FMD_OK;
}

/* Pick a component with probability proportional to w (K numbers, total wsum). */
static size_t pick(size_t K, const double *w, double wsum, gsl_rng *r)
{
    double u = gsl_rng_uniform(r) * wsum, acc = 0.0;
    for (size_t k = 0; k + 1 < K; k++) {
        acc += w[k];
        if (u < acc)
            return k;
    }
    return K - 1;
}

/* z = mu_k + L_k eps, eps ~ N(0, I_d): a draw from component k; low rank:
 * z = mu_k + sqrt(D_k) eps + F_k eps', eps' ~ N(0, I_r). */
static void draw_component(const fmd_gmm *g, size_t k, gsl_rng *r, double *z)
{
    const size_t d = g->d;
    if (g->rank) {
        const size_t rk = g->rank;
        const double *mu = g->mean + k * d, *D = g->diag + k * d, *F = g->factor + k * d * rk;
        double e2[rk];
        fmd_rng_gaussian(r, d, z);
        fmd_rng_gaussian(r, rk, e2);
        for (size_t i = 0; i < d; i++) {
            double v = mu[i] + sqrt(D[i]) * z[i];
            for (size_t a = 0; a < rk; a++)
                v += F[i * rk + a] * e2[a];
            z[i] = v;
        }
        return;
    }
    const double *L = g->chol + k * d * d, *mu = g->mean + k * d;
    fmd_rng_gaussian(r, d, z);   /* z <- eps, then z <- mu + L eps from the bottom up */
    for (size_t i = d; i-- > 0;) {
        double v = mu[i];
        for (size_t j = 0; j <= i; j++)
            v += L[i * d + j] * z[j];
        z[i] = v;
    }
}

int fmd_gmm_sample(const fmd_gmm *g, gsl_rng *r, size_t n, double *z, size_t *comp)
{
    if (!g || !r || n == 0 || !z)
        return FMD_EINVAL;
    for (size_t i = 0; i < n; i++) {
        size_t k = pick(g->K, g->weight, 1.0, r);
        draw_component(g, k, r, z + i * g->d);
        if (comp)
            comp[i] = k;
    }
    return FMD_OK;
}

int fmd_gmm_sample_class(const fmd_gmm *g, int y, gsl_rng *r, size_t n, double *z)
{
    if (!g || !r || n == 0 || !z)
        return FMD_EINVAL;
    double *w = malloc(g->K * sizeof(double)), wsum = 0.0;
    if (!w)
        return FMD_ENOMEM;
    for (size_t k = 0; k < g->K; k++) {
        w[k] = g->label[k] == y ? g->weight[k] : 0.0;   /* p_data(. | y) */
        wsum += w[k];
    }
    if (wsum == 0.0) {
        free(w);
        return FMD_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        size_t k = pick(g->K, w, wsum, r);
        while (w[k] == 0.0)   /* rounding can land on an empty slot at the end */
            k--;
        draw_component(g, k, r, z + i * g->d);
    }
    free(w);
    return FMD_OK;
}

double fmd_logsumexp(size_t K, const double *a)
{
    double m = -INFINITY;
    for (size_t k = 0; k < K; k++)
        if (a[k] > m)
            m = a[k];
    if (m == -INFINITY)
        return -INFINITY;   /* every term is zero: log 0, not NaN */
    if (m == INFINITY)
        return INFINITY;
    double s = 0.0;
    for (size_t k = 0; k < K; k++)
        s += exp(a[k] - m);
    return m + log(s);
}

/* log p_data for low-rank components: the quadratic form by Woodbury, one
 * factorisation per component for all n points. */
static int lowrank_log_density(const fmd_gmm *g, size_t n, const double *x, double *out)
{
    const size_t d = g->d, K = g->K, r = g->rank;
    double *work = malloc((d + d * r + r * r + 3 * r + 2 * d) * sizeof(double)), *a = malloc(n * K * sizeof(double));
    if (!work || !a) {
        free(work);
        free(a);
        return FMD_ENOMEM;
    }
    double *delta = work + d + d * r + r * r + 3 * r, *v = delta + d;
    int status = FMD_OK;
    for (size_t k = 0; k < K && status == FMD_OK; k++) {
        fmd_lowrank f;
        status = lowrank_at_data(g, k, work, &f);
        for (size_t p = 0; p < n && status == FMD_OK; p++) {
            double q = 0.0;
            for (size_t i = 0; i < d; i++)
                delta[i] = x[p * d + i] - g->mean[k * d + i];
            fmd_lowrank_solve(&f, 1, delta, v, work + d + d * r + r * r);
            for (size_t i = 0; i < d; i++)
                q += delta[i] * v[i];
            a[p * K + k] = g->log_norm[k] - 0.5 * q;
        }
    }
    for (size_t p = 0; p < n && status == FMD_OK; p++)
        out[p] = fmd_logsumexp(K, a + p * K);
    free(work);
    free(a);
    return status;
}

int fmd_gmm_log_density(const fmd_gmm *g, size_t n, const double *x, double *out)
{
    if (!g || n == 0 || !x || !out)
        return FMD_EINVAL;
    if (g->point_masses)
        return FMD_EDOM;   /* point masses have no density */
    const size_t d = g->d, K = g->K;
    if (g->rank)
        return lowrank_log_density(g, n, x, out);
    double *a = malloc(K * sizeof(double)), *v = malloc(d * sizeof(double));
    if (!a || !v) {
        free(a);
        free(v);
        return FMD_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const double *xi = x + i * d;
        for (size_t k = 0; k < K; k++) {
            /* log w_k N(x; mu_k, Sigma_k) = log_norm_k - |L_k^{-1}(x - mu_k)|^2 / 2 */
            const double *L = g->chol + k * d * d, *mu = g->mean + k * d;
            double q = 0.0;
            for (size_t r = 0; r < d; r++) {   /* forward substitution L v = x - mu */
                double s = xi[r] - mu[r];
                for (size_t c = 0; c < r; c++)
                    s -= L[r * d + c] * v[c];
                v[r] = s / L[r * d + r];
                q += v[r] * v[r];
            }
            a[k] = g->log_norm[k] - 0.5 * q;
        }
        out[i] = fmd_logsumexp(K, a);
    }
    free(a);
    free(v);
    return FMD_OK;
}

int fmd_gmm_empirical(size_t N, size_t d, const double *z, fmd_gmm **out)
{
    if (!z || !out)
        return FMD_EINVAL;
    int status = fmd_gmm_alloc(d, N, out);
    if (status != FMD_OK)
        return status;
    fmd_gmm *g = *out;
    g->point_masses = 1;
    memcpy(g->mean, z, N * d * sizeof(double));
    for (size_t k = 0; k < N; k++) {
        g->weight[k] = 1.0 / (double)N;
        g->label[k] = 0;
    }
    status = fmd_gmm_prepare(g);
    if (status != FMD_OK) {
        fmd_gmm_free(g);
        *out = NULL;
    }
    return status;
}

int fmd_gmm_moments(const fmd_gmm *g, double *mean, double *cov)
{
    if (!g || !mean || !cov)
        return FMD_EINVAL;
    const size_t d = g->d;
    memset(mean, 0, d * sizeof(double));
    memset(cov, 0, d * d * sizeof(double));
    for (size_t k = 0; k < g->K; k++)
        for (size_t i = 0; i < d; i++)
            mean[i] += g->weight[k] * g->mean[k * d + i];
    double *S = malloc(d * d * sizeof(double));   /* one component's covariance at a time, dense or D + F F^T */
    if (!S)
        return FMD_ENOMEM;
    for (size_t k = 0; k < g->K; k++) {   /* Cov = sum_k w_k (Sigma_k + mu_k mu_k^T) - mean mean^T */
        const double *mu = g->mean + k * d;
        fmd_gmm_covariance(g, k, S);
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < d; j++)
                cov[i * d + j] += g->weight[k] * (S[i * d + j] + mu[i] * mu[j]);
    }
    free(S);
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++)
            cov[i * d + j] -= mean[i] * mean[j];
    return FMD_OK;
}
