/* marginal_field.c -- the two numbers a sampler asks of the exact marginal
 * path, u_t(x) and grad log p_t(x), computed fast (marginal.h).
 *
 * Same formulas as fmd_marginal_eval (Thm 10 and its companions), arranged
 * for speed. With delta_k = x - alpha mu_k, v_k = C_k^{-1} delta_k and the
 * responsibilities r_k(x):
 *     grad log p_t(x) = -sum_k r_k v_k
 *     u_t(x)          = sum_k r_k (alpha_dot mu_k + B_k delta_k),
 *     B_k             = (alpha alpha_dot Sigma_k + beta beta_dot I) C_k^{-1},
 * the second being alpha_dot E[z|x] - beta beta_dot grad log p with E[z|x]
 * = sum_k r_k (mu_k + alpha Sigma_k v_k) gathered into one matrix per
 * component, made once per time (fmd_marginal_set_point). For an isotropic
 * component B_k is the number b_k = (alpha alpha_dot s_k^2 + beta beta_dot) /
 * c_k times I.
 *
 * Points go through in blocks. For d < FMD_FIELD_GEMM_D (d < 32 if every
 * component is isotropic) a block is stored
 * transposed -- coordinate i of every point in a row -- so each loop runs
 * along the points and the compiler makes vector instructions of it; the
 * exponentials of a block are one call to SLEEF (src/base/vecmath.h). For full
 * covariances in higher d, v_k and B_k delta_k come from one BLIS product
 * of the block with [C_k^{-1} | B_k^T]. The log-sum-exp is the general
 * path's (subtract the smallest Mahalanobis term first), so far points and
 * t = 0, 1 stay exact. verify/test_marginal.c checks this path against the
 * general one to 1e-13.
 *
 * This file alone is compiled with -ffp-contract=fast: a * b + c may be one
 * fused multiply-add, rounded once. Its inner loops are multiply-adds, and
 * fusing them halves their instructions (measured: d = 64, isotropic, 10%
 * faster); the results differ from the unfused ones in the last bits, and
 * between an AVX-512 and a baseline x86-64 machine, never between runs or
 * thread counts on one machine. */
#include "paths/marginal.h"
#include "base/matmul.h"
#include "base/status.h"
#include "base/vecmath.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Points per block (small d; a multiple of the tile of 32); the gemm path
 * takes fewer when K d is large. */
#define FMD_FIELD_BLOCK_POINTS 64
/* From this dimension on, full covariances go through BLIS. */
#define FMD_FIELD_GEMM_D 16

/* Scratch of one block, small-d layout: every array is (.., P) per row. */
typedef struct {
    size_t P;
    double *xt;    /* (d, P) the block, transposed */
    double *q;     /* (K, P) Mahalanobis terms, then log-weights, then r_k */
    double *vw;    /* (K, 2d, P) v_k and B_k delta_k (full components); (K, d, P) delta_k/c_k (isotropic) */
    double *ut;    /* (d, P) u, transposed */
    double *st;    /* (d, P) the score, transposed */
    double *D;     /* (P, d) x - alpha mu_k, row-major (gemm path) */
    double *VW;    /* (K, P, 2d) [v_k | B_k delta_k], row-major (gemm path) */
} block_scratch;

/* Unnormalised responsibilities from the Mahalanobis terms q (K, P) of cnt
 * points, in place: e_k = exp(a_k - amax), a_k = log_norm_k - (q_k - qmin)/2
 * -- the general path's log-sum-exp, subtracting the smallest Mahalanobis
 * term first so that log w_k survives far away -- with one vector exp for
 * the whole block. r_k = e_k / sum_j e_j; the callers divide at the end.
 * (Comparisons, not fmin and fmax: those are calls, these one instruction.) */
FMD_VECTOR_LOOPS
static void weights(const fmd_marginal *m, size_t P, size_t cnt, double *q, double *amax)
{
    const size_t K = m->g->K;
    double qmin[FMD_FIELD_BLOCK_POINTS];
    for (size_t p = 0; p < cnt; p++)
        qmin[p] = INFINITY, amax[p] = -INFINITY;
    for (size_t k = 0; k < K; k++)
        for (size_t p = 0; p < cnt; p++)
            qmin[p] = q[k * P + p] < qmin[p] ? q[k * P + p] : qmin[p];
    for (size_t k = 0; k < K; k++)
        for (size_t p = 0; p < cnt; p++) {
            const double a = m->log_norm[k] - 0.5 * (q[k * P + p] - qmin[p]);
            q[k * P + p] = a;
            amax[p] = a > amax[p] ? a : amax[p];
        }
    for (size_t k = 0; k < K; k++)
        for (size_t p = 0; p < cnt; p++)
            q[k * P + p] -= amax[p];
    if (cnt == P)
        fmd_vexp(K * P, q, q);
    else
        for (size_t k = 0; k < K; k++)
            fmd_vexp(cnt, q + k * P, q + k * P);
}

/* Small d: the block transposed, loops along the points. Points go 32 at a
 * time, as four `vec8` -- GCC's vector extension: a + b on two vec8 adds
 * eight doubles lane by lane, one AVX-512 instruction (two AVX2, four SSE2
 * ones in the other clones). Four independent sums keep the floating-point
 * unit busy while each waits for its last addition (a sum over 64
 * coordinates is a chain of 64 dependent adds); each point's sum still runs
 * over i, or k, in order, so nothing is reassociated. u and the score come
 * out transposed in S->ut, S->st, unnormalised (the caller divides by
 * sum_k e_k). */
typedef double vec8 __attribute__((vector_size(8 * sizeof(double))));
#define LANES 4   /* vec8 per tile: 32 points */

/* eight doubles at p, 64-byte aligned (every row of the scratch is) */
#define load8(p) (*(const vec8 *)(p))

FMD_VECTOR_LOOPS
static void block_small(const fmd_marginal *m, size_t cnt, const double *x, block_scratch *S, double *sum,
                        int want_score)
{
    const fmd_gmm *g = m->g;
    const size_t d = g->d, K = g->K, P = S->P;
    const double alpha = m->s.alpha, alpha_dot = m->s.alpha_dot;
    for (size_t p = 0; p < cnt; p++)
        for (size_t i = 0; i < d; i++)
            S->xt[i * P + p] = x[p * d + i];
    for (size_t i = 0; i < d; i++)   /* the tail of a short block: zeros, never read back */
        for (size_t p = cnt; p < P; p++)
            S->xt[i * P + p] = 0.0;
    for (size_t t0 = 0; t0 < cnt; t0 += 8 * LANES)
        for (size_t k = 0; k < K; k++) {
            const double *mu = g->mean + k * d;
            vec8 q[LANES] = {{0}};
            if (m->iso_var[k] >= 0.0) {   /* q = |delta|^2 / c_k */
                for (size_t i = 0; i < d; i++)
                    _Pragma("GCC unroll 4") for (int l = 0; l < LANES; l++) {
                        const vec8 delta = load8(S->xt + i * P + t0 + 8 * l) - alpha * mu[i];
                        q[l] += delta * delta;
                    }
                _Pragma("GCC unroll 4") for (int l = 0; l < LANES; l++)
                    q[l] *= m->cinv[k * d * d];
            } else {   /* v_j = sum_i (C^-1)_ji delta_i, w_j = sum_i (B^T)_ij delta_i; q = delta . v */
                const double *CB = m->field_cb + k * d * 2 * d;
                double *vw = S->vw + k * 2 * d * P + t0;
                for (size_t j = 0; j < 2 * d; j++) {
                    vec8 row[LANES] = {{0}};
                    for (size_t i = 0; i < d; i++)
                        _Pragma("GCC unroll 4") for (int l = 0; l < LANES; l++)
                            row[l] += CB[i * 2 * d + j] * (load8(S->xt + i * P + t0 + 8 * l) - alpha * mu[i]);
                    _Pragma("GCC unroll 4") for (int l = 0; l < LANES; l++)
                        *(vec8 *)(vw + j * P + 8 * l) = row[l];
                }
                for (size_t i = 0; i < d; i++)
                    _Pragma("GCC unroll 4") for (int l = 0; l < LANES; l++)
                        q[l] += (load8(S->xt + i * P + t0 + 8 * l) - alpha * mu[i]) * load8(vw + i * P + 8 * l);
            }
            _Pragma("GCC unroll 4") for (int l = 0; l < LANES; l++)
                *(vec8 *)(S->q + k * P + t0 + 8 * l) = q[l];
        }
    weights(m, P, cnt, S->q, sum);
    /* An isotropic component's terms, e_k (alpha_dot mu_k + b_k (x - alpha mu_k))
     * and -e_k c_k^-1 (x - alpha mu_k), are gathered as
     *     u     += (sum_iso e_k b_k) x + sum_iso e_k (alpha_dot - alpha b_k) mu_k,
     *     score += -(sum_iso e_k / c_k) x + sum_iso (e_k alpha / c_k) mu_k:
     * per coordinate one multiply-add per component instead of three. The
     * coefficients of mu_k go into the component's unused rows of vw. */
    for (size_t t0 = 0; t0 < cnt; t0 += 8 * LANES) {
        vec8 total[LANES] = {{0}}, a_u[LANES] = {{0}}, a_s[LANES] = {{0}};
        for (size_t k = 0; k < K; k++) {
            const double *e = S->q + k * P + t0;
            double *vw = S->vw + k * 2 * d * P + t0;
            _Pragma("GCC unroll 4") for (int l = 0; l < LANES; l++) {
                const vec8 el = load8(e + 8 * l);
                total[l] += el;
                if (m->iso_var[k] >= 0.0) {
                    const double b = m->field_b[k], ci = m->cinv[k * d * d];
                    a_u[l] += el * b;
                    a_s[l] += el * ci;
                    *(vec8 *)(vw + 8 * l) = el * (alpha_dot - alpha * b);
                    *(vec8 *)(vw + P + 8 * l) = el * (alpha * ci);
                }
            }
        }
        _Pragma("GCC unroll 4") for (int l = 0; l < LANES; l++)
            *(vec8 *)(sum + t0 + 8 * l) = total[l];
        for (size_t i = 0; i < d; i++) {
            vec8 u[LANES], score[LANES];
            _Pragma("GCC unroll 4") for (int l = 0; l < LANES; l++) {
                const vec8 xi = load8(S->xt + i * P + t0 + 8 * l);
                u[l] = a_u[l] * xi;
                score[l] = -(a_s[l] * xi);
            }
            for (size_t k = 0; k < K; k++) {
                const double mu = g->mean[k * d + i];
                const double *vw = S->vw + k * 2 * d * P + t0;
                if (m->iso_var[k] >= 0.0) {
                    _Pragma("GCC unroll 4") for (int l = 0; l < LANES; l++) {
                        u[l] += load8(vw + 8 * l) * mu;
                        if (want_score)
                            score[l] += load8(vw + P + 8 * l) * mu;
                    }
                } else {
                    const double *e = S->q + k * P + t0;
                    _Pragma("GCC unroll 4") for (int l = 0; l < LANES; l++) {
                        const vec8 el = load8(e + 8 * l);
                        u[l] += el * (alpha_dot * mu + load8(vw + (d + i) * P + 8 * l));
                        if (want_score)
                            score[l] -= el * load8(vw + i * P + 8 * l);
                    }
                }
            }
            _Pragma("GCC unroll 4") for (int l = 0; l < LANES; l++) {
                *(vec8 *)(S->ut + i * P + t0 + 8 * l) = u[l];
                *(vec8 *)(S->st + i * P + t0 + 8 * l) = score[l];
            }
        }
    }
}

/* From d = FMD_FIELD_GEMM_D on, a point's coordinates fill whole vectors:
 * the block stays row-major and the loops run along the coordinates, eight
 * at a time (`vec8u`, the same vector type without the alignment promise),
 * the last d mod 8 one by one. A full component's v_k and B_k delta_k come
 * from one BLIS product of the block with [C_k^-1 | B_k^T]. An isotropic
 * component's terms are gathered as in block_small. The sums over
 * coordinates (q) run in 32 partial sums (dot8): another order than the
 * general path's, so far from the data, where q is ~|x|^2, the two may
 * differ by ~eps q in q (the checks allow for it). */
typedef double vec8u __attribute__((vector_size(8 * sizeof(double)), aligned(sizeof(double))));
#define loadu8(p) (*(const vec8u *)(p))
#define storeu8(p, v) (*(vec8u *)(p) = (v))

/* The sums over coordinates: four partial sums of eight lanes each, over
 * coordinates 32j + 8l + lane, added in a fixed order at the end -- four
 * independent chains of additions instead of one, so the processor never
 * waits for the previous sum. Both sums below follow the same pattern, so
 * equal Mahalanobis terms (every component's at t = 0) stay equal to the
 * bit, isotropic or not. Inlined into the caller's clone. */
#define PARTIAL_SUMS(term)                                                              \
    vec8u acc[4] = {{0}, {0}, {0}, {0}};                                                \
    size_t i = 0;                                                                       \
    for (; i + 32 <= n; i += 32)                                                        \
        _Pragma("GCC unroll 4") for (int l = 0; l < 4; l++) {                           \
            const size_t j = i + 8 * l;                                                 \
            acc[l] += term;                                                             \
        }                                                                               \
    for (; i + 8 <= n; i += 8) {                                                        \
        const size_t j = i;                                                             \
        acc[0] += term;                                                                 \
    }                                                                                   \
    double s = hsum8((acc[0] + acc[1]) + (acc[2] + acc[3]));

/* The eight lanes' sum in three steps, halves onto halves:
 * ((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7)). */
typedef long long lanes8 __attribute__((vector_size(8 * sizeof(long long))));
static inline __attribute__((always_inline)) double hsum8(vec8u v)
{
    v += __builtin_shuffle(v, (lanes8){4, 5, 6, 7, 0, 1, 2, 3});
    v += __builtin_shuffle(v, (lanes8){2, 3, 0, 1, 6, 7, 4, 5});
    v += __builtin_shuffle(v, (lanes8){1, 0, 3, 2, 5, 4, 7, 6});
    return v[0];
}

/* sum_i (x_i - c mu_i)^2 */
static inline __attribute__((always_inline)) double sq_dist(size_t n, const double *x, double c, const double *mu)
{
    PARTIAL_SUMS((loadu8(x + j) - c * loadu8(mu + j)) * (loadu8(x + j) - c * loadu8(mu + j)))
    for (; i < n; i++)
        s += (x[i] - c * mu[i]) * (x[i] - c * mu[i]);
    return s;
}

/* sum_i (x_i - c mu_i)^2 and sum_i (y_i - c mu_i)^2 for two points at once:
 * mu is loaded once for both (the same pattern of partial sums as sq_dist,
 * so each result is bit for bit what sq_dist gives). */
static inline __attribute__((always_inline)) void sq_dist2(size_t n, const double *x, const double *y, double c,
                                                           const double *mu, double *sx, double *sy)
{
    vec8u ax[4] = {{0}, {0}, {0}, {0}}, ay[4] = {{0}, {0}, {0}, {0}};
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        _Pragma("GCC unroll 4") for (int l = 0; l < 4; l++) {
            const vec8u cm = c * loadu8(mu + i + 8 * l), dx = loadu8(x + i + 8 * l) - cm, dy = loadu8(y + i + 8 * l) - cm;
            ax[l] += dx * dx;
            ay[l] += dy * dy;
        }
    for (; i + 8 <= n; i += 8) {
        const vec8u cm = c * loadu8(mu + i), dx = loadu8(x + i) - cm, dy = loadu8(y + i) - cm;
        ax[0] += dx * dx;
        ay[0] += dy * dy;
    }
    double s = hsum8((ax[0] + ax[1]) + (ax[2] + ax[3])), t = hsum8((ay[0] + ay[1]) + (ay[2] + ay[3]));
    for (; i < n; i++) {
        s += (x[i] - c * mu[i]) * (x[i] - c * mu[i]);
        t += (y[i] - c * mu[i]) * (y[i] - c * mu[i]);
    }
    *sx = s, *sy = t;
}

/* sum_i a_i b_i */
static inline __attribute__((always_inline)) double dot8(size_t n, const double *a, const double *b)
{
    PARTIAL_SUMS(loadu8(a + j) * loadu8(b + j))
    for (; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* One point's u (which = 0) or score (which = 1) in the row path: out =
 * inv (a x + sum_k c_k mu_k + sum_full e_k t_k) with, for an isotropic
 * component, c_k = e_k (alpha_dot - alpha b_k) for u and e_k alpha / c_k
 * for the score; for a full one c_k = e_k alpha_dot and t_k = B_k delta_k
 * for u, c_k = 0 and t_k = -v_k for the score. Coordinates go 32 at a time
 * with the sum over k in four vector registers, written once. */
static inline __attribute__((always_inline)) void row_sum(const fmd_marginal *m, const block_scratch *S, size_t p, double alpha_dot, const double *xp,
                           double a, double inv, int which, double *out)
{
    const fmd_gmm *g = m->g;
    const size_t d = g->d, K = g->K, P = S->P;
    const double alpha = m->s.alpha;
    size_t i0 = 0;
    for (; i0 + 32 <= d; i0 += 32) {
        vec8u acc[4];
        _Pragma("GCC unroll 4") for (int l = 0; l < 4; l++)
            acc[l] = a * loadu8(xp + i0 + 8 * l);
        for (size_t k = 0; k < K; k++) {
            const double e = S->q[k * P + p], *mu = g->mean + k * d + i0;
            if (m->iso_var[k] >= 0.0) {
                const double c = which ? e * alpha * m->cinv[k * d * d] : e * (alpha_dot - alpha * m->field_b[k]);
                _Pragma("GCC unroll 4") for (int l = 0; l < 4; l++)
                    acc[l] += c * loadu8(mu + 8 * l);
            } else {
                const double *t = S->VW + (k * P + p) * 2 * d + (which ? 0 : d) + i0;
                const double c = which ? 0.0 : e * alpha_dot, sign = which ? -e : e;
                _Pragma("GCC unroll 4") for (int l = 0; l < 4; l++)
                    acc[l] += c * loadu8(mu + 8 * l) + sign * loadu8(t + 8 * l);
            }
        }
        _Pragma("GCC unroll 4") for (int l = 0; l < 4; l++)
            storeu8(out + i0 + 8 * l, acc[l] * inv);
    }
    for (; i0 + 8 <= d; i0 += 8) {   /* then eight at a time */
        vec8u acc = a * loadu8(xp + i0);
        for (size_t k = 0; k < K; k++) {
            const double e = S->q[k * P + p], *mu = g->mean + k * d + i0;
            if (m->iso_var[k] >= 0.0) {
                acc += (which ? e * alpha * m->cinv[k * d * d] : e * (alpha_dot - alpha * m->field_b[k])) * loadu8(mu);
            } else {
                const double *t = S->VW + (k * P + p) * 2 * d + (which ? 0 : d) + i0;
                acc += (which ? 0.0 : e * alpha_dot) * loadu8(mu) + (which ? -e : e) * loadu8(t);
            }
        }
        storeu8(out + i0, acc * inv);
    }
    for (size_t i = i0; i < d; i++) {   /* the last d mod 8 coordinates */
        double acc = a * xp[i];
        for (size_t k = 0; k < K; k++) {
            const double e = S->q[k * P + p], mu = g->mean[k * d + i];
            if (m->iso_var[k] >= 0.0)
                acc += (which ? e * alpha * m->cinv[k * d * d] : e * (alpha_dot - alpha * m->field_b[k])) * mu;
            else
                acc += (which ? 0.0 : e * alpha_dot) * mu + (which ? -e : e) * S->VW[(k * P + p) * 2 * d + (which ? 0 : d) + i];
        }
        out[i] = acc * inv;
    }
}

FMD_VECTOR_LOOPS
static void block_rows(const fmd_marginal *m, size_t cnt, const double *x, block_scratch *S, double *amax,
                       double *u, double *score)
{
    const fmd_gmm *g = m->g;
    const size_t d = g->d, K = g->K, P = S->P;
    const double alpha = m->s.alpha, alpha_dot = m->s.alpha_dot;
    size_t p = 0;
    for (; p + 2 <= cnt; p += 2) {   /* isotropic: q = |x - alpha mu|^2 / c_k, two points at a time (one load of mu) */
        if (p + 5 < cnt)   /* the pair after next is on its way while this one computes */
            for (size_t b = 0; b < 2 * d * sizeof(double); b += 64)
                __builtin_prefetch((const char *)(x + (p + 4) * d) + b);
        for (size_t k = 0; k < K; k++)
            if (m->iso_var[k] >= 0.0) {
                double sx, sy;
                sq_dist2(d, x + p * d, x + (p + 1) * d, alpha, g->mean + k * d, &sx, &sy);
                S->q[k * P + p] = m->cinv[k * d * d] * sx;
                S->q[k * P + p + 1] = m->cinv[k * d * d] * sy;
            }
    }
    for (; p < cnt; p++)
        for (size_t k = 0; k < K; k++)
            if (m->iso_var[k] >= 0.0)
                S->q[k * P + p] = m->cinv[k * d * d] * sq_dist(d, x + p * d, alpha, g->mean + k * d);
    for (size_t k = 0; k < K; k++) {   /* full: one product for the block */
        const double *mu = g->mean + k * d;
        double *q = S->q + k * P;
        if (m->iso_var[k] >= 0.0)
            continue;
        for (size_t p = 0; p < cnt; p++)
            for (size_t i = 0; i < d; i++)
                S->D[p * d + i] = x[p * d + i] - alpha * mu[i];
        double *VW = S->VW + k * P * 2 * d;   /* [v | B delta] = (x - alpha mu) [C^-1 | B^T] */
        fmd_gemm(0, 0, cnt, 2 * d, d, 1.0, S->D, d, m->field_cb + k * d * 2 * d, 2 * d, 0.0, VW, 2 * d);
        for (size_t p = 0; p < cnt; p++)   /* q = delta . v */
            q[p] = dot8(d, S->D + p * d, VW + p * 2 * d);
    }
    weights(m, P, cnt, S->q, amax);
    /* sum_k e_k and the isotropic components' coefficients of x, along the
     * points (q is (K, P): eight points an instruction, k in order) */
    double sum[FMD_FIELD_BLOCK_POINTS], a_u[FMD_FIELD_BLOCK_POINTS], a_s[FMD_FIELD_BLOCK_POINTS];
    for (size_t p = 0; p < cnt; p++)
        sum[p] = 0.0, a_u[p] = 0.0, a_s[p] = 0.0;
    for (size_t k = 0; k < K; k++) {
        const double *e = S->q + k * P;
        if (m->iso_var[k] >= 0.0) {
            const double b = m->field_b[k], ci = m->cinv[k * d * d];
            for (size_t p = 0; p < cnt; p++)
                sum[p] += e[p], a_u[p] += e[p] * b, a_s[p] += e[p] * ci;
        } else {
            for (size_t p = 0; p < cnt; p++)
                sum[p] += e[p];
        }
    }
    for (size_t p = 0; p < cnt; p++) {
        const double inv = 1.0 / sum[p];   /* r_k = e_k / sum */
        if (u)
            row_sum(m, S, p, alpha_dot, x + p * d, a_u[p], inv, 0, u + p * d);
        if (score)
            row_sum(m, S, p, alpha_dot, x + p * d, -a_s[p], inv, 1, score + p * d);
    }
}

/* u and the score of a block back to row-major, with r_k = e_k / sum:
 * multiplied by 1 / sum, one division a point. */
FMD_VECTOR_LOOPS
static void copy_out(size_t d, size_t P, size_t cnt, const block_scratch *S, double *sum, double *u, double *score)
{
    for (size_t p = 0; p < cnt; p++)
        sum[p] = 1.0 / sum[p];
    for (size_t i = 0; i < d; i++)
        for (size_t p = 0; p < cnt; p++) {
            if (u)
                u[p * d + i] = S->ut[i * P + p] * sum[p];
            if (score)
                score[p * d + i] = S->st[i * P + p] * sum[p];
        }
}

int fmd_marginal_field_eval(const fmd_marginal *m, size_t n, const double *x, double *u, double *score)
{
    if (!m || !x || n == 0 || (!u && !score))
        return FMD_EINVAL;
    if (m->g->rank)   /* low rank: Woodbury as two products a block (marginal_lowrank.c) */
        return fmd_marginal_lowrank_field_eval(m, n, x, u, score);
    const size_t d = m->g->d, K = m->g->K;
    int gemm = d >= 2 * FMD_FIELD_GEMM_D;   /* the row path (block_rows): isotropic from d = 32 */
    for (size_t k = 0; k < K; k++)
        gemm |= d >= FMD_FIELD_GEMM_D && m->iso_var[k] < 0.0;   /* with full covariances from 16 */
    size_t P = FMD_FIELD_BLOCK_POINTS;
    if (gemm) {   /* keep [v_k | B_k delta_k] of a block near 512 KB */
        size_t fit = ((size_t)1 << 16) / (2 * K * d);
        P = fit < 1 ? 1 : fit < P ? fit : P;
    }
    block_scratch S = {P, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    /* 64-byte aligned, every row a multiple of 8 doubles: vec8 loads and stores */
    const size_t count = gemm ? K * P + P + P * d + K * P * 2 * d : d * P + K * P + K * 2 * d * P + 2 * d * P + P;
    double *buf = aligned_alloc(64, (count * sizeof(double) + 63) / 64 * 64);
    if (!buf)
        return FMD_ENOMEM;
    double *amax;
    if (gemm) {
        S.q = buf, amax = S.q + K * P, S.D = amax + P, S.VW = S.D + P * d;
    } else {
        S.xt = buf, S.q = S.xt + d * P, S.vw = S.q + K * P, S.ut = S.vw + K * 2 * d * P, S.st = S.ut + d * P;
        amax = S.st + d * P;
    }
    for (size_t c0 = 0; c0 < n; c0 += P) {
        const size_t cnt = c0 + P <= n ? P : n - c0;
        if (c0 + P < n)   /* ask for the next block's points now: they arrive while this one computes */
            for (size_t b = 0; b < (c0 + 2 * P <= n ? P : n - c0 - P) * d * sizeof(double); b += 64)
                __builtin_prefetch((const char *)(x + (c0 + P) * d) + b);
        if (gemm) {
            block_rows(m, cnt, x + c0 * d, &S, amax, u ? u + c0 * d : NULL, score ? score + c0 * d : NULL);
            continue;
        }
        block_small(m, cnt, x + c0 * d, &S, amax, score != NULL);
        copy_out(d, P, cnt, &S, amax, u ? u + c0 * d : NULL, score ? score + c0 * d : NULL);
    }
    free(buf);
    return FMD_OK;
}

int fmd_marginal_prepare_field(fmd_marginal *m)
{
    const fmd_gmm *g = m->g;
    if (g->rank)
        return FMD_OK;   /* low rank: no B_k (marginal_lowrank.c has its own) */
    const size_t d = g->d;
    const double aad = m->s.alpha * m->s.alpha_dot, bbd = m->s.beta_beta_dot;
    for (size_t k = 0; k < g->K; k++) {
        const double *Ci = m->cinv + k * d * d, *Sig = g->cov + k * d * d;
        /* isotropic: b_k = (alpha alpha_dot s^2 + beta beta_dot) / c_k */
        m->field_b[k] = m->iso_var[k] >= 0.0 ? (aad * m->iso_var[k] + bbd) * Ci[0] : NAN;
        if (m->iso_var[k] >= 0.0)
            continue;
        double *CB = m->field_cb + k * d * 2 * d;
        /* [C^-1 | B^T], B^T = C^-1 (alpha alpha_dot Sigma + beta beta_dot I) (C^-1 and Sigma symmetric) */
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < d; j++) {
                double s = bbd * Ci[i * d + j];
                for (size_t l = 0; l < d; l++)
                    s += aad * Ci[i * d + l] * Sig[l * d + j];
                CB[i * 2 * d + j] = Ci[i * d + j];
                CB[i * 2 * d + d + j] = s;
            }
    }
    return FMD_OK;
}
