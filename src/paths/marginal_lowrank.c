/* marginal_lowrank.c -- the field and the score of a low-rank mixture's
 * marginal path, the two numbers a sampler asks for, as two large BLIS
 * products per block of points (issue 15: mixtures at image dimension).
 *
 * Component k has covariance Sigma_k = D_k + F_k F_k^T (D_k diagonal, F_k of
 * size d x r). At a path point (alpha, beta), C_k = Delta_k + alpha^2 F_k F_k^T
 * with Delta_k = alpha^2 D_k + beta^2, and by the Woodbury identity, with
 * M_k = I + alpha^2 F_k^T Delta_k^{-1} F_k and delta = x - alpha mu_k,
 *     a_k = F_k^T Delta_k^{-1} delta,   c_k = M_k^{-1} a_k          (r numbers)
 *     v_k = C_k^{-1} delta = Delta_k^{-1} (delta - alpha^2 F_k c_k).
 * Two facts make it cheap. F_k^T v_k = a_k - (M_k - I) c_k = c_k, so
 * Sigma_k v_k = D_k v_k + F_k c_k needs no further product; and the
 * Mahalanobis term needs none either:
 *     q_k = delta^T v_k = delta^T Delta_k^{-1} delta - alpha^2 a_k . c_k.
 * Putting v_k and E[z | x, k] = mu_k + alpha Sigma_k v_k into Thm 10's
 * u = sum_k r_k (alpha_dot E[z | x, k] + beta beta_dot v_k) and into the score
 * -sum_k r_k v_k (1 - alpha^2 D / Delta = beta^2 / Delta):
 *     u     = sum_k r_k [alpha_dot mu_k + omega_k delta]  +  sum_k psi_k F_k (r_k c_k)
 *     score = sum_k r_k [-Delta_k^{-1} delta]            +  sum_k alpha^2 Delta_k^{-1} F_k (r_k c_k)
 * with the diagonals omega_k = (alpha alpha_dot D_k + beta beta_dot) / Delta_k and
 * psi_k = alpha (alpha_dot beta^2 - beta beta_dot alpha) / Delta_k. Nothing
 * divides by alpha or beta: t = 0 and t = 1 need no special case.
 *
 * Both F-terms are one product, up to a number: psi_k F_k = psi Delta_k^{-1} F_k
 * with psi = alpha (alpha_dot beta^2 - beta beta_dot alpha), and alpha^2
 * Delta_k^{-1} F_k likewise. So, per block of P points X (P, d), with the K
 * components side by side in WF = [Delta_1^{-1} F_1 | ... | Delta_K^{-1} F_K] (d, K r):
 *   1. A = X WF, one product (P, K r), and a_k = A_k - alpha mu_k^T Delta_k^{-1} F_k;
 *   2. c_k = M_k^{-1} a_k, one small product per component with M_k^{-1}
 *      (made from the Cholesky factor, lowrank.h), q_k, and the
 *      responsibilities r_k by the general path's log-sum-exp;
 *   3. H = [r_1 c_1 | ... | r_K c_K] WF^T, one product (P, d): u = psi H and
 *      score = alpha^2 H, plus the diagonal terms (O(K d) per point).
 * The products cost 2 K d r multiply-adds per point -- half of what applying
 * C_k^{-1} and Sigma_k separately costs -- in two products of inner size d
 * and K r, a shape BLIS runs near its peak. WF, the mu terms, omega_k and
 * M_k^{-1} are made once per time (fmd_marginal_lowrank_prepare). verify/test_lowrank.c
 * checks this path against the dense formulas (1e-12 at d = 12, 1e-10 at
 * d = 784). */
#include "paths/marginal.h"
#include "base/matmul.h"
#include "base/status.h"
#include "base/vecmath.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Points per block: (P, K r) and (P, d) products of this height keep BLIS's
 * micro-kernels busy, and a block's scratch (~0.5 MB at K r = 320) in cache. */
#define FMD_LOWRANK_BLOCK_POINTS 96

size_t fmd_marginal_lowrank_field_size(size_t d, size_t K, size_t r)
{
    return d * K * r + K * r + K * d + K * r * r;
}

/* The slice's layout of lowrank_field (fmd_marginal_lowrank_field_size numbers). */
typedef struct {
    double *WF;     /* (d, K r) [Delta_k^{-1} F_k], row-major */
    double *b;      /* (K r) alpha mu_k^T Delta_k^{-1} F_k */
    double *omega;  /* (K, d) omega_k */
    double *Minv;   /* (K, r, r) M_k^{-1} */
} lowrank_field;

static lowrank_field layout(const fmd_marginal *m)
{
    const size_t d = m->g->d, K = m->g->K, r = m->g->rank;
    double *base = m->lowrank_field;
    return (lowrank_field){base, base + d * K * r, base + d * K * r + K * r, base + d * K * r + K * r + K * d};
}

/* block k of WF, Delta_k^{-1} F_k, into columns k r .. (k + 1) r - 1 of
 * rows of length Kr, and b_k = alpha mu_k^T Delta_k^{-1} F_k */
FMD_VECTOR_LOOPS
static void wf_block(size_t d, size_t r, size_t Kr, double alpha, const double *restrict dinv, const double *restrict mu,
                     const double *restrict F, double *restrict WF, double *restrict b)
{
    for (size_t c = 0; c < r; c++)
        b[c] = 0.0;
    for (size_t i = 0; i < d; i++) {
        const double *Fi = F + i * r;
        double *wf = WF + i * Kr;
        const double di = dinv[i], a_mu = alpha * mu[i];
        for (size_t c = 0; c < r; c++) {
            wf[c] = di * Fi[c];
            b[c] += a_mu * wf[c];
        }
    }
}

FMD_VECTOR_LOOPS
static void omega_of(size_t d, double aad, double bbd, const double *restrict D, const double *restrict dinv,
                     double *restrict omega)
{
    for (size_t i = 0; i < d; i++)
        omega[i] = (aad * D[i] + bbd) * dinv[i];
}

int fmd_marginal_lowrank_prepare(fmd_marginal *m)
{
    const fmd_gmm *g = m->g;
    const size_t d = g->d, K = g->K, r = g->rank, Kr = K * r;
    const double a = m->s.alpha, aad = a * m->s.alpha_dot, bbd = m->s.beta_beta_dot;
    const lowrank_field L = layout(m);
    double Linv[r * r];
    for (size_t k = 0; k < K; k++) {
        const double *dinv = m->lowrank[k].dinv;
        fmd_lowrank_small_inverse(&m->lowrank[k], L.Minv + k * r * r, Linv);
        omega_of(d, aad, bbd, g->diag + k * d, dinv, L.omega + k * d);
        wf_block(d, r, Kr, a, dinv, g->mean + k * d, g->factor + k * d * r, L.WF + k * r, L.b + k * r);
    }
    return FMD_OK;
}

/* sum_i (x_i - alpha mu_i)^2 w_i: the diagonal part of q_k, in eight
 * partial sums -- a vector's lanes; one running sum is a chain of dependent
 * additions the compiler may not reorder, and ran 8x slower. */
FMD_VECTOR_LOOPS
static double weighted_square(size_t d, const double *x, const double *mu, double alpha, const double *w)
{
    double acc[8] = {0.0}, s = 0.0;
    size_t i = 0;
    for (; i + 8 <= d; i += 8)
        for (size_t l = 0; l < 8; l++) {
            const double delta = x[i + l] - alpha * mu[i + l];
            acc[l] += delta * delta * w[i + l];
        }
    for (; i < d; i++) {
        const double delta = x[i] - alpha * mu[i];
        s += delta * delta * w[i];
    }
    for (size_t l = 0; l < 8; l++)
        s += acc[l];
    return s;
}

/* y += rk (alpha_dot mu + omega (x - alpha mu)): component k's diagonal term of u */
FMD_VECTOR_LOOPS
static void add_diagonal_u(size_t d, double rk, const double *x, const double *mu, double alpha, double alpha_dot,
                           const double *omega, double *y)
{
    for (size_t i = 0; i < d; i++)
        y[i] += rk * (alpha_dot * mu[i] + omega[i] * (x[i] - alpha * mu[i]));
}

/* y -= rk (x - alpha mu) / Delta: component k's diagonal term of the score */
FMD_VECTOR_LOOPS
static void add_diagonal_score(size_t d, double rk, const double *x, const double *mu, double alpha,
                               const double *dinv, double *y)
{
    for (size_t i = 0; i < d; i++)
        y[i] -= rk * dinv[i] * (x[i] - alpha * mu[i]);
}

/* Step 2 of the file comment for the cnt points of a block: A (P, K r) in
 * (made a_k in place), C = [r_k c_k] out; R (cnt, K) the responsibilities. */
static void responsibilities(const fmd_marginal *m, const lowrank_field *L, size_t cnt, const double *x,
                             double *A, double *C, double *R)
{
    const fmd_gmm *g = m->g;
    const size_t d = g->d, K = g->K, r = g->rank, Kr = K * r;
    const double alpha = m->s.alpha, a2 = alpha * alpha;
    for (size_t p = 0; p < cnt; p++)
        for (size_t k = 0; k < K; k++)
            for (size_t c = 0; c < r; c++)
                A[p * Kr + k * r + c] -= L->b[k * r + c];   /* a_k = F^T Delta^-1 (x - alpha mu) */
    for (size_t k = 0; k < K; k++)                          /* c_k = M_k^-1 a_k, the block at once */
        fmd_gemm(0, 0, cnt, r, r, 1.0, A + k * r, Kr, L->Minv + k * r * r, r, 0.0, C + k * r, Kr);
    for (size_t p = 0; p < cnt; p++) {
        double *q = R + p * K;
        for (size_t k = 0; k < K; k++) {
            const double *ak = A + p * Kr + k * r, *ck = C + p * Kr + k * r;
            double qr = 0.0;
            for (size_t c = 0; c < r; c++)
                qr += ak[c] * ck[c];
            /* q_k = delta^T C_k^-1 delta */
            q[k] = weighted_square(d, x + p * d, g->mean + k * d, alpha, m->lowrank[k].dinv) - a2 * qr;
        }
        /* the general path's log-sum-exp: subtract the smallest q first */
        double qmin = INFINITY, amax = -INFINITY, sum = 0.0;
        for (size_t k = 0; k < K; k++)
            qmin = fmin(qmin, q[k]);
        for (size_t k = 0; k < K; k++) {
            q[k] = m->log_norm[k] - 0.5 * (q[k] - qmin);
            amax = fmax(amax, q[k]);
        }
        for (size_t k = 0; k < K; k++)
            q[k] -= amax;
        fmd_vexp(K, q, q);
        for (size_t k = 0; k < K; k++)
            sum += q[k];
        for (size_t k = 0; k < K; k++) {
            q[k] /= sum;                                    /* r_k(x) */
            for (size_t c = 0; c < r; c++)
                C[p * Kr + k * r + c] *= q[k];
        }
    }
}

int fmd_marginal_lowrank_field_eval(const fmd_marginal *m, size_t n, const double *x, double *u, double *score)
{
    const fmd_gmm *g = m->g;
    const size_t d = g->d, K = g->K, r = g->rank, Kr = K * r, P = FMD_LOWRANK_BLOCK_POINTS;
    const lowrank_field L = layout(m);
    double *buf = malloc((2 * P * Kr + P * K + (u && score ? P * d : 0)) * sizeof(double));
    if (!buf)
        return FMD_ENOMEM;
    double *A = buf, *C = A + P * Kr, *R = C + P * Kr, *H = R + P * K;
    const double alpha = m->s.alpha, adot = m->s.alpha_dot, b2 = m->s.beta * m->s.beta;
    const double psi = alpha * (adot * b2 - m->s.beta_beta_dot * alpha), a2 = alpha * alpha;
    for (size_t c0 = 0; c0 < n; c0 += P) {
        const size_t cnt = c0 + P <= n ? P : n - c0;
        const double *xb = x + c0 * d;
        fmd_matmul(cnt, Kr, d, xb, L.WF, A);                        /* step 1 */
        responsibilities(m, &L, cnt, xb, A, C, R);               /* step 2 */
        double *ub = u ? u + c0 * d : NULL, *sb = score ? score + c0 * d : NULL;
        if (ub && sb) {                                             /* step 3: one product */
            fmd_gemm(0, 1, cnt, d, Kr, 1.0, C, Kr, L.WF, Kr, 0.0, H, d);
            for (size_t i = 0; i < cnt * d; i++)
                ub[i] = psi * H[i], sb[i] = a2 * H[i];
        } else if (ub) {
            fmd_gemm(0, 1, cnt, d, Kr, psi, C, Kr, L.WF, Kr, 0.0, ub, d);
        } else {
            fmd_gemm(0, 1, cnt, d, Kr, a2, C, Kr, L.WF, Kr, 0.0, sb, d);
        }
        for (size_t p = 0; p < cnt; p++)                            /* the diagonal terms */
            for (size_t k = 0; k < K; k++) {
                const double rk = R[p * K + k], *mu = g->mean + k * d, *om = L.omega + k * d;
                if (ub)
                    add_diagonal_u(d, rk, xb + p * d, mu, alpha, adot, om, ub + p * d);
                if (sb)
                    add_diagonal_score(d, rk, xb + p * d, mu, alpha, m->lowrank[k].dinv, sb + p * d);
            }
    }
    free(buf);
    return FMD_OK;
}
