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
 * Points go through in blocks. For d < FMD_FIELD_GEMM_D a block is stored
 * transposed -- coordinate i of every point in a row -- so each loop runs
 * along the points and the compiler makes vector instructions of it; the
 * exponentials of a block are one call to SLEEF (src/vecmath.h). For full
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
#include "marginal.h"
#include "matmul.h"
#include "status.h"
#include "vecmath.h"

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
    for (size_t t0 = 0; t0 < cnt; t0 += 8 * LANES) {
        vec8 total[LANES] = {{0}};
        for (size_t k = 0; k < K; k++)
            _Pragma("GCC unroll 4") for (int l = 0; l < LANES; l++)
                total[l] += load8(S->q + k * P + t0 + 8 * l);
        _Pragma("GCC unroll 4") for (int l = 0; l < LANES; l++)
            *(vec8 *)(sum + t0 + 8 * l) = total[l];
        for (size_t i = 0; i < d; i++) {
            vec8 u[LANES] = {{0}}, score[LANES] = {{0}};
            for (size_t k = 0; k < K; k++) {
                const double mu = g->mean[k * d + i];
                const double *e = S->q + k * P + t0, *vw = S->vw + k * 2 * d * P + t0;
                if (m->iso_var[k] >= 0.0) {   /* B_k delta = b_k delta, v = delta / c_k */
                    const double b = m->field_b[k], ci = m->cinv[k * d * d];
                    _Pragma("GCC unroll 4") for (int l = 0; l < LANES; l++) {
                        const vec8 delta = load8(S->xt + i * P + t0 + 8 * l) - alpha * mu, el = load8(e + 8 * l);
                        u[l] += el * (alpha_dot * mu + b * delta);
                        if (want_score)
                            score[l] -= el * (ci * delta);
                    }
                } else {
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

/* Full covariances in higher d: one BLIS product per component gives v_k and
 * B_k delta_k for the whole block (row-major). */
FMD_VECTOR_LOOPS
static void block_gemm(const fmd_marginal *m, size_t cnt, const double *x, block_scratch *S, double *amax,
                       double *u, double *score)
{
    const fmd_gmm *g = m->g;
    const size_t d = g->d, K = g->K, P = S->P;
    const double alpha = m->s.alpha, alpha_dot = m->s.alpha_dot;
    for (size_t k = 0; k < K; k++) {
        const double *mu = g->mean + k * d;
        double *VW = S->VW + k * P * 2 * d, *q = S->q + k * P;
        for (size_t p = 0; p < cnt; p++)
            for (size_t i = 0; i < d; i++)
                S->D[p * d + i] = x[p * d + i] - alpha * mu[i];
        if (m->iso_var[k] >= 0.0) {   /* isotropic: v = delta / c_k, B delta = b_k delta */
            const double ci = m->cinv[k * d * d], b = m->field_b[k];
            for (size_t p = 0; p < cnt; p++)
                for (size_t i = 0; i < d; i++) {
                    VW[p * 2 * d + i] = ci * S->D[p * d + i];
                    VW[p * 2 * d + d + i] = b * S->D[p * d + i];
                }
        } else {
            fmd_gemm(0, 0, cnt, 2 * d, d, 1.0, S->D, d, m->field_cb + k * d * 2 * d, 2 * d, 0.0, VW, 2 * d);
        }
        for (size_t p = 0; p < cnt; p++) {
            double s = 0.0;
            for (size_t i = 0; i < d; i++)
                s += S->D[p * d + i] * VW[p * 2 * d + i];
            q[p] = s;
        }
    }
    weights(m, P, cnt, S->q, amax);
    for (size_t p = 0; p < cnt; p++) {
        double *up = u ? u + p * d : NULL, *sp = score ? score + p * d : NULL, sum = 0.0;
        for (size_t k = 0; k < K; k++)
            sum += S->q[k * P + p];
        for (size_t i = 0; i < d; i++) {
            if (up)
                up[i] = 0.0;
            if (sp)
                sp[i] = 0.0;
        }
        for (size_t k = 0; k < K; k++) {
            const double r = S->q[k * P + p] / sum, *mu = g->mean + k * d, *VW = S->VW + (k * P + p) * 2 * d;
            if (up)
                for (size_t i = 0; i < d; i++)
                    up[i] += r * (alpha_dot * mu[i] + VW[d + i]);
            if (sp)
                for (size_t i = 0; i < d; i++)
                    sp[i] -= r * VW[i];
        }
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
    const size_t d = m->g->d, K = m->g->K;
    int gemm = 0;
    for (size_t k = 0; k < K; k++)
        gemm |= d >= FMD_FIELD_GEMM_D && m->iso_var[k] < 0.0;
    size_t P = d >= 32 ? 32 : FMD_FIELD_BLOCK_POINTS;   /* the transposed block within a third of L1 */
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
        if (gemm) {
            block_gemm(m, cnt, x + c0 * d, &S, amax, u ? u + c0 * d : NULL, score ? score + c0 * d : NULL);
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
