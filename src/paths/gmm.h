/* gmm.h -- Gaussian mixtures: the data distributions p_data of the project.
 *
 * Promise (chapter 1): an object is a vector z in R^d; p_data is a
 * distribution over such vectors; a data set is z_1..z_N drawn from it; and
 * each mixture component carries a class label y, so p_data(. | y) -- the
 * mixture of the components labelled y -- is the conditional distribution of
 * conditional generation. Everything here is exact: sampling, density and
 * log-density, with full covariance matrices in any dimension. */
#ifndef FMD_GMM_H
#define FMD_GMM_H

#include <stddef.h>
#include <gsl/gsl_rng.h>

/* p_data(z) = sum_k w_k N(z; mu_k, Sigma_k). */
typedef struct {
    size_t d;          /* dimension */
    size_t K;          /* components */
    double *weight;    /* (K) w_k > 0, summing to 1 */
    double *mean;      /* (K, d) mu_k */
    double *cov;       /* (K, d, d) Sigma_k, symmetric positive definite; NULL if rank > 0 */
    int *label;        /* (K) class y of component k (default: k) */
    int point_masses;  /* 1 for an empirical data set: every Sigma_k = 0 */
    size_t rank;       /* r > 0: Sigma_k = diag(D_k) + F_k F_k^T, never formed (lowrank.h) */
    double *diag;      /* (K, d) D_k > 0, if rank > 0 */
    double *factor;    /* (K, d, r) F_k row-major, if rank > 0 */
    /* filled by fmd_gmm_prepare: */
    double *chol;      /* (K, d, d) lower-triangular L_k, Sigma_k = L_k L_k^T; NULL if rank > 0 */
    double *log_norm;  /* (K) log w_k - sum_i log (L_k)_ii - (d/2) log(2 pi) */
} fmd_gmm;

/* A mixture with every array allocated and zeroed (labels 0..K-1). */
int fmd_gmm_alloc(size_t d, size_t K, fmd_gmm **out);

/* The same with covariances diag(D_k) + F_k F_k^T of rank r < d (diag and
 * factor allocated; cov and chol NULL): a mixture at image dimension whose
 * density, samples and marginal path cost O(d r) per point and component. */
#define FMD_GMM_MAX_RANK 128   /* r x r work lives on the stack */
int fmd_gmm_alloc_lowrank(size_t d, size_t K, size_t r, fmd_gmm **out);

/* Sigma_k as a dense (d, d) matrix, whatever the form (tests, small d). */
void fmd_gmm_covariance(const fmd_gmm *g, size_t k, double *S);
void fmd_gmm_free(fmd_gmm *g);

/* Check the parameters and factorise the covariances. Call after filling
 * weight, mean and cov, before anything below. Returns FMD_EDOM for a
 * non-finite number, FMD_EINVAL for a weight <= 0 or weights not summing to 1
 * within 1e-9, FMD_ECOV for a covariance that is not symmetric (to 1e-12
 * relative) or not positive definite (low rank: a D_k entry <= 0). */
int fmd_gmm_prepare(fmd_gmm *g);

/* n draws z (n, d); component index of each draw into comp (n) if non-NULL. */
int fmd_gmm_sample(const fmd_gmm *g, gsl_rng *r, size_t n, double *z, size_t *comp);

/* n draws from p_data(. | y): the components labelled y, weights renormalised.
 * FMD_EINVAL if no component carries label y. */
int fmd_gmm_sample_class(const fmd_gmm *g, int y, gsl_rng *r, size_t n, double *z);

/* log p_data(x) at n points x (n, d), by log-sum-exp over the components. */
int fmd_gmm_log_density(const fmd_gmm *g, size_t n, const double *x, double *out);

/* Exact mean (d) and covariance (d, d) of the mixture:
 *   m = sum_k w_k mu_k,   C = sum_k w_k (Sigma_k + mu_k mu_k^T) - m m^T. */
int fmd_gmm_moments(const fmd_gmm *g, double *mean, double *cov);

/* The empirical distribution of a data set z_1..z_N (z is (N, d)): the
 * mixture of point masses (1/N) sum_i delta_{z_i}, prepared and ready.
 * It samples (by resampling the data) but has no density: log_density
 * returns FMD_EDOM. Its marginal path (marginal.h) is exact for t < 1. */
int fmd_gmm_empirical(size_t N, size_t d, const double *z, fmd_gmm **out);

/* log of sum_k exp(a_k), k < K; -inf when every a_k is -inf, never NaN. */
double fmd_logsumexp(size_t K, const double *a);

#endif
