/* marginal.c -- exact log-density, score, posterior mean, field and the PDE
 * quantities of the marginal path of a Gaussian mixture. */
#include "paths/marginal.h"
#include "paths/path.h"
#include "base/cholesky.h"
#include "base/matmul.h"
#include "base/rng.h"
#include "base/status.h"
#include "base/vecmath.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_cdf.h>

int fmd_marginal_alloc(const fmd_gmm *g, fmd_marginal **out)
{
    if (!g || !out)
        return FMD_EINVAL;
    *out = NULL;
    const size_t d = g->d, K = g->K;
    fmd_marginal *m = calloc(1, sizeof *m);
    if (!m)
        return FMD_ENOMEM;
    m->g = g;
    if (g->rank) {   /* no d x d matrix: one Woodbury factorisation per component */
        const size_t r = g->rank, per = d + d * r + r * r;
        m->lowrank = malloc(K * sizeof(fmd_lowrank));
        /* per component: 1/Delta, W, L; then Delta and G for set_point */
        m->lowrank_mem = malloc((K * per + d + d * r) * sizeof(double));
        m->log_norm = malloc(K * sizeof(double));
        m->tr_cinv = malloc(K * sizeof(double));
        m->tr_sig_cinv = malloc(K * sizeof(double));
        m->iso_var = malloc(K * sizeof(double));
        m->field_b = malloc(K * sizeof(double));
        m->lowrank_field = malloc(fmd_marginal_lowrank_field_size(d, K, r) * sizeof(double));
        if (!m->lowrank || !m->lowrank_mem || !m->lowrank_field || !m->log_norm || !m->tr_cinv || !m->tr_sig_cinv || !m->iso_var ||
            !m->field_b) {
            fmd_marginal_free(m);
            return FMD_ENOMEM;
        }
        for (size_t k = 0; k < K; k++) {
            double *base = m->lowrank_mem + k * per;
            m->lowrank[k] = (fmd_lowrank){d, r, base, base + d, base + d + d * r, 0.0};
            m->iso_var[k] = -1.0, m->field_b[k] = NAN;
        }
        *out = m;
        return FMD_OK;
    }
    m->cinv = malloc(K * d * d * sizeof(double));
    m->log_norm = malloc(K * sizeof(double));
    m->tr_cinv = malloc(K * sizeof(double));
    m->tr_sig_cinv = malloc(K * sizeof(double));
    m->iso_var = malloc(K * sizeof(double));
    m->work = malloc(2 * d * d * sizeof(double));
    m->field_b = malloc(K * sizeof(double));
    int all_iso = 1;   /* the fast path's matrices only for full covariances */
    for (size_t k = 0; k < K && all_iso; k++)
        for (size_t i = 0; i < d * d && all_iso; i++)
            all_iso = g->cov[k * d * d + i] == (i % (d + 1) == 0 ? g->cov[k * d * d] : 0.0);
    m->field_cb = all_iso ? NULL : malloc(K * d * 2 * d * sizeof(double));
    if (!m->cinv || !m->log_norm || !m->tr_cinv || !m->tr_sig_cinv || !m->iso_var || !m->work || !m->field_b ||
        (!all_iso && !m->field_cb)) {
        fmd_marginal_free(m);
        return FMD_ENOMEM;
    }
    *out = m;
    return FMD_OK;
}

void fmd_marginal_free(fmd_marginal *m)
{
    if (!m)
        return;
    free(m->cinv);
    free(m->log_norm);
    free(m->tr_cinv);
    free(m->tr_sig_cinv);
    free(m->iso_var);
    free(m->work);
    free(m->field_cb);
    free(m->field_b);
    free(m->lowrank);
    free(m->lowrank_mem);
    free(m->lowrank_field);
    free(m);
}

/* A^{-1} from the Cholesky factor L of A: solve L L^T X = I column by column. */
static void cholesky_inverse(size_t d, const double *L, double *inv)
{
    for (size_t c = 0; c < d; c++) {
        double y[d];
        for (size_t i = 0; i < d; i++) {          /* L y = e_c */
            double s = i == c ? 1.0 : 0.0;
            for (size_t j = 0; j < i; j++)
                s -= L[i * d + j] * y[j];
            y[i] = s / L[i * d + i];
        }
        for (size_t i = d; i-- > 0;) {            /* L^T x = y */
            double s = y[i];
            for (size_t j = i + 1; j < d; j++)
                s -= L[j * d + i] * inv[j * d + c];
            inv[i * d + c] = s / L[i * d + i];
        }
    }
}

int fmd_marginal_set_time(fmd_marginal *m, const fmd_schedule *sch, double t)
{
    if (!m || !sch)
        return FMD_EINVAL;
    fmd_sched_point s;
    int status = fmd_schedule_at(sch, t, &s);
    if (status != FMD_OK)
        return status;
    status = fmd_marginal_set_point(m, &s);
    m->t = t;
    return status;
}

/* C_k = Delta + G G^T with Delta = alpha^2 D_k + beta^2, G = alpha F_k: its
 * Woodbury factorisation and log det. tr C^{-1} and tr(Sigma_k C^{-1}) cost
 * as much again and only d/dt log p, div u and the Laplacian need them:
 * traces_of computes them when asked. */
static int set_point_lowrank(fmd_marginal *m)
{
    const fmd_gmm *g = m->g;
    const size_t d = g->d, K = g->K, r = g->rank;
    const double a = m->s.alpha, a2 = a * a, b2 = m->s.beta * m->s.beta;
    double *delta = m->lowrank_mem + K * (d + d * r + r * r), *G = delta + d;
    for (size_t k = 0; k < K; k++) {
        const double *D = g->diag + k * d, *F = g->factor + k * d * r;
        for (size_t i = 0; i < d; i++)
            delta[i] = a2 * D[i] + b2;
        for (size_t i = 0; i < d * r; i++)
            G[i] = a * F[i];
        fmd_lowrank *f = &m->lowrank[k];
        int status = fmd_lowrank_factor(d, r, delta, G, f);
        if (status != FMD_OK)
            return status;
        m->log_norm[k] = log(g->weight[k]) - 0.5 * f->logdet - 0.5 * (double)d * log(2.0 * M_PI);
        m->tr_cinv[k] = m->tr_sig_cinv[k] = NAN;   /* on demand (traces_of): a third of a sampler's time */
    }
    return fmd_marginal_lowrank_prepare(m);   /* the field path's matrices */
}

int fmd_marginal_set_point(fmd_marginal *m, const fmd_sched_point *s)
{
    if (!m || !s || !(s->alpha >= 0.0) || !(s->beta >= 0.0) || !isfinite(s->alpha) || !isfinite(s->beta))
        return FMD_EINVAL;
    m->s = *s;
    m->t = NAN;
    const fmd_gmm *g = m->g;
    const size_t d = g->d;
    const double a2 = m->s.alpha * m->s.alpha, b2 = m->s.beta * m->s.beta;
    if (g->rank)
        return set_point_lowrank(m);
    double *C = m->work, *L = m->work + d * d;
    for (size_t k = 0; k < g->K; k++) {
        const double *S = g->cov + k * d * d;
        for (size_t i = 0; i < d * d; i++)
            C[i] = a2 * S[i];
        for (size_t i = 0; i < d; i++)
            C[i * d + i] += b2;                   /* C_k = alpha^2 Sigma_k + beta^2 I */
        if (!fmd_cholesky(d, C, L))
            return FMD_EDOM;                      /* point masses at t = 1 */
        double *Ci = m->cinv + k * d * d, half_logdet = 0.0, tr = 0.0, trs = 0.0;
        cholesky_inverse(d, L, Ci);
        for (size_t i = 0; i < d; i++) {
            half_logdet += log(L[i * d + i]);
            tr += Ci[i * d + i];
            for (size_t j = 0; j < d; j++)
                trs += S[i * d + j] * Ci[j * d + i];
        }
        m->log_norm[k] = log(g->weight[k]) - half_logdet - 0.5 * (double)d * log(2.0 * M_PI);
        m->tr_cinv[k] = tr;
        m->tr_sig_cinv[k] = trs;
        /* isotropic component: Sigma_k = s^2 I exactly */
        int iso = 1;
        for (size_t i = 0; i < d && iso; i++)
            for (size_t j = 0; j < d; j++)
                if ((i == j && S[i * d + j] != S[0]) || (i != j && S[i * d + j] != 0.0)) {
                    iso = 0;
                    break;
                }
        m->iso_var[k] = iso ? S[0] : -1.0;
    }
    return fmd_marginal_prepare_field(m);
}

/* Below this dimension a BLIS call costs more than the product it computes
 * (measured with bench/marginal_bench.c); above it, dgemm on a block of points
 * is 3-4x faster than the scalar loops. */
#define FMD_GEMM_MIN_D 16

/* v_k = C_k^{-1} delta and Sigma_k v_k for a block of cnt points: rows of
 * D (cnt, d) in, rows of V and SV out. C_k^{-1} and Sigma_k are symmetric, so
 * the row-major products D C^{-1} and V Sigma are exactly what we need. A
 * low-rank mixture uses scratch (3 cnt r numbers). */
static void component_products(const fmd_marginal *m, size_t k, size_t cnt, const double *D,
                               double *V, double *SV, double *scratch)
{
    const size_t d = m->g->d;
    if (m->g->rank) {   /* Woodbury on the whole block: four products of (cnt x d) by (d x r) */
        const size_t r = m->g->rank;
        const fmd_lowrank *f = &m->lowrank[k];
        const double *Dg = m->g->diag + k * d, *F = m->g->factor + k * d * r;
        double *A = scratch;
        double *B = A + cnt * r, *Cf = B + cnt * r;
        fmd_matmul(cnt, r, d, D, f->W, A);                               /* A = delta W: rows W^T delta */
        for (size_t p = 0; p < cnt; p++)                                 /* B = A M^{-1}, row by row */
            fmd_lowrank_small_solve(f, A + p * r, B + p * r, Cf);       /* (Cf: scratch until below) */
        fmd_gemm(0, 1, cnt, d, r, -1.0, B, r, f->W, r, 0.0, V, d);     /* V = -B W^T ... */
        for (size_t p = 0; p < cnt; p++)
            for (size_t i = 0; i < d; i++)
                V[p * d + i] += f->dinv[i] * D[p * d + i];               /* ... + Delta^{-1} delta */
        fmd_matmul(cnt, r, d, V, F, Cf);                                 /* rows F^T v */
        fmd_gemm(0, 1, cnt, d, r, 1.0, Cf, r, F, r, 0.0, SV, d);       /* SV = F F^T v ... */
        for (size_t p = 0; p < cnt; p++)
            for (size_t i = 0; i < d; i++)
                SV[p * d + i] += Dg[i] * V[p * d + i];                   /* ... + D v */
        return;
    }
    const double *Ci = m->cinv + k * d * d, *S = m->g->cov + k * d * d;
    if (m->iso_var[k] >= 0.0) {   /* Sigma_k = s^2 I: C_k^{-1} = Ci[0] I, O(d) */
        for (size_t i = 0; i < cnt * d; i++) {
            V[i] = Ci[0] * D[i];
            SV[i] = m->iso_var[k] * V[i];
        }
    } else if (d >= FMD_GEMM_MIN_D) {
        fmd_matmul(cnt, d, d, D, Ci, V);
        fmd_matmul(cnt, d, d, V, S, SV);
    } else {
        fmd_matmul_naive(cnt, d, d, D, Ci, V);
        fmd_matmul_naive(cnt, d, d, V, S, SV);
    }
}

/* tr C_k^{-1} and tr(Sigma_k C_k^{-1}) of every component into tr, trs (K
 * each): stored for a dense mixture, computed here for a low-rank one. */
static int traces_of(const fmd_marginal *m, double *tr, double *trs)
{
    const fmd_gmm *g = m->g;
    const size_t d = g->d, K = g->K, r = g->rank;
    if (!r) {
        memcpy(tr, m->tr_cinv, K * sizeof(double));
        memcpy(trs, m->tr_sig_cinv, K * sizeof(double));
        return FMD_OK;
    }
    double *work = malloc((d * r + r * r) * sizeof(double));
    if (!work)
        return FMD_ENOMEM;
    for (size_t k = 0; k < K; k++) {
        tr[k] = fmd_lowrank_trace_inv(&m->lowrank[k], work);
        trs[k] = fmd_lowrank_trace_inv_times(&m->lowrank[k], g->diag + k * d, g->factor + k * d * r, work);
    }
    free(work);
    return FMD_OK;
}

int fmd_marginal_eval(const fmd_marginal *m, size_t n, const double *x, const fmd_marginal_out *out)
{
    if (!m || !x || !out || n == 0)
        return FMD_EINVAL;
    int fast_ready = 1;   /* the fast path's matrices exist for every full component (or low rank) */
    for (size_t k = 0; k < m->g->K && !m->field_cb && !m->g->rank; k++)
        fast_ready &= m->iso_var[k] >= 0.0;
    if (fast_ready && !out->logp && !out->zmean && !out->dlogp_dt && !out->div_u && !out->lap_over_p &&
        (out->u || out->score))
        return fmd_marginal_field_eval(m, n, x, out->u, out->score);   /* what samplers ask for */
    const fmd_gmm *g = m->g;
    const size_t d = g->d, K = g->K;
    const fmd_sched_point *s = &m->s;
    /* points per block: up to 64, fewer when K d is large (empirical data sets) */
    size_t P = ((size_t)1 << 18) / (K * d + 1);
    P = P < 1 ? 1 : P > 64 ? 64 : P;
    /* per block: D, SV (P, d); V, E (K, P, d); q, dlogN, vv (K, P); per point a (K), score, zmean (d) */
    double *buf = malloc((2 * P * d + 2 * K * P * d + 3 * K * P + 4 * K + 2 * d + 3 * P * g->rank) * sizeof(double));
    if (!buf)
        return FMD_ENOMEM;
    double *trc = buf + 2 * P * d + 2 * K * P * d + 3 * K * P + 2 * K + 2 * d, *trsc = trc + K;   /* the traces */
    double *lowrank_scratch = trsc + K;   /* (3 P r) for component_products, low rank only */
    if (out->dlogp_dt || out->div_u || out->lap_over_p) {
        const int st = traces_of(m, trc, trsc);
        if (st != FMD_OK) {
            free(buf);
            return st;
        }
    } else {
        for (size_t k = 0; k < K; k++)
            trc[k] = trsc[k] = 0.0;   /* not asked for: the terms below that use them are not returned */
    }
    double *D = buf, *SV = D + P * d, *V = SV + P * d, *E = V + K * P * d, *Q = E + K * P * d;
    double *DL = Q + K * P, *VV = DL + K * P, *a = VV + K * P, *e = a + K, *sc = e + K, *zm = sc + d;
    const double aad = s->alpha * s->alpha_dot, bbd = s->beta_beta_dot;

    for (size_t c0 = 0; c0 < n; c0 += P) {
        const size_t cnt = c0 + P <= n ? P : n - c0;
        const double *xb = x + c0 * d;
        for (size_t k = 0; k < K; k++) {
            const double *mu = g->mean + k * d;
            double *Vk = V + k * P * d, *Ek = E + k * P * d;
            for (size_t p = 0; p < cnt; p++)
                for (size_t i = 0; i < d; i++)
                    D[p * d + i] = xb[p * d + i] - s->alpha * mu[i];   /* x - alpha mu_k */
            component_products(m, k, cnt, D, Vk, SV, lowrank_scratch);
            for (size_t p = 0; p < cnt; p++) {
                const double *dp = D + p * d, *vp = Vk + p * d, *svp = SV + p * d;
                double q = 0.0, vSv = 0.0, vv = 0.0, vmu = 0.0;
                for (size_t i = 0; i < d; i++) {
                    q += dp[i] * vp[i];
                    vSv += vp[i] * svp[i];
                    vv += vp[i] * vp[i];
                    vmu += vp[i] * mu[i];
                    Ek[p * d + i] = mu[i] + s->alpha * svp[i];   /* E[z | x, k] */
                }
                Q[k * P + p] = q;
                VV[k * P + p] = vv;
                /* d/dt log N(x; m, C) = -tr(C^-1 Cdot)/2 + v.mdot + v^T Cdot v / 2 with
                 * mdot = alpha_dot mu, Cdot = 2 alpha alpha_dot Sigma + 2 beta beta_dot I */
                DL[k * P + p] = -(aad * trsc[k] + bbd * trc[k]) + s->alpha_dot * vmu +
                                aad * vSv + bbd * vv;
            }
        }
        for (size_t p = 0; p < cnt; p++) {
            /* log p = amax + L - qmin/2, L = log sum_k exp(a_k - amax), with
             * a_k = log w_k N_k + qmin/2. Subtracting qmin first keeps log w_k
             * exact when every q_k is ~1e7 (far away, or t = 0); keeping amax
             * and L apart keeps the 1e-9 that amax + L would round away. */
            double qmin = INFINITY, amax = -INFINITY, L = 0.0;
            for (size_t k = 0; k < K; k++)
                qmin = fmin(qmin, Q[k * P + p]);
            for (size_t k = 0; k < K; k++) {
                a[k] = m->log_norm[k] - 0.5 * (Q[k * P + p] - qmin);
                amax = fmax(amax, a[k]);
            }
            for (size_t k = 0; k < K; k++)
                a[k] -= amax;
            fmd_vexp(K, a, e);                          /* e_k = exp(a_k - amax), one vector call */
            for (size_t k = 0; k < K; k++)
                L += e[k];
            L = log(L);
            double logp = (amax + L) - 0.5 * qmin;
            memset(sc, 0, d * sizeof(double));
            memset(zm, 0, d * sizeof(double));
            double dlp = 0.0, sum_r_vv_tr = 0.0, div_zm_part = 0.0;
            for (size_t k = 0; k < K; k++)
                a[k] -= L;
            fmd_vexp(K, a, a);                          /* responsibilities r_k(x) = exp(a_k - amax - L) */
            for (size_t k = 0; k < K; k++) {
                const double r = a[k];
                const double *vk = V + (k * P + p) * d, *ek = E + (k * P + p) * d;
                for (size_t i = 0; i < d; i++) {
                    sc[i] -= r * vk[i];                /* grad log p = -sum r_k v_k */
                    zm[i] += r * ek[i];                /* E[z|x] = sum r_k E[z|x,k] */
                }
                dlp += r * DL[k * P + p];
                sum_r_vv_tr += r * (VV[k * P + p] - trc[k]);
                div_zm_part += r * s->alpha * trsc[k];
            }
            /* div E[z|x] = sum_k [ r_k alpha tr(Sigma_k C_k^-1) + grad r_k . e_k ],
             * grad r_k = r_k (s_k - s) with s_k = -v_k */
            double grad_r_e = 0.0, ss = 0.0;
            for (size_t i = 0; i < d; i++)
                ss += sc[i] * sc[i];
            for (size_t k = 0; k < K; k++) {
                const double *vk = V + (k * P + p) * d, *ek = E + (k * P + p) * d;
                double dot = 0.0;
                for (size_t i = 0; i < d; i++)
                    dot += (-vk[i] - sc[i]) * ek[i];
                grad_r_e += a[k] * dot;
            }
            double lap_logp = sum_r_vv_tr - ss;    /* tr Hess log p = sum r (|v|^2 - tr C^-1) - |s|^2 */
            const size_t gp = c0 + p;
            if (out->logp)
                out->logp[gp] = logp;
            if (out->score)
                memcpy(out->score + gp * d, sc, d * sizeof(double));
            if (out->zmean)
                memcpy(out->zmean + gp * d, zm, d * sizeof(double));
            if (out->u)   /* Thm 10: u = alpha_dot E[z|x] - beta beta_dot grad log p */
                for (size_t i = 0; i < d; i++)
                    out->u[gp * d + i] = s->alpha_dot * zm[i] - s->beta_beta_dot * sc[i];
            if (out->dlogp_dt)
                out->dlogp_dt[gp] = dlp;
            if (out->div_u)
                out->div_u[gp] = s->alpha_dot * (div_zm_part + grad_r_e) - s->beta_beta_dot * lap_logp;
            if (out->lap_over_p)
                out->lap_over_p[gp] = sum_r_vv_tr;     /* Delta p / p = Delta log p + |s|^2 */
        }
    }
    free(buf);
    return FMD_OK;
}

/* Mean and variance of the projection a.x under component k of p_t:
 * N(alpha a.mu_k, a^T C_k a) with a^T C_k a = alpha^2 a^T Sigma_k a + beta^2 |a|^2. */
static void projected_moments(const fmd_marginal *m, const double *a, size_t k, double *mean,
                              double *var)
{
    const fmd_gmm *g = m->g;
    const size_t d = g->d;
    const double a2 = m->s.alpha * m->s.alpha, b2 = m->s.beta * m->s.beta;
    double mu = 0.0, v = 0.0;
    if (g->rank) {   /* a^T Sigma a = sum D_i a_i^2 + |F^T a|^2 */
        const size_t r = g->rank;
        const double *F = g->factor + k * d * r;
        for (size_t i = 0; i < d; i++) {
            mu += a[i] * m->s.alpha * g->mean[k * d + i];
            v += (b2 + a2 * g->diag[k * d + i]) * a[i] * a[i];
        }
        for (size_t c = 0; c < r; c++) {
            double fa = 0.0;
            for (size_t i = 0; i < d; i++)
                fa += F[i * r + c] * a[i];
            v += a2 * fa * fa;
        }
        *mean = mu;
        *var = v;
        return;
    }
    for (size_t i = 0; i < d; i++) {
        mu += a[i] * m->s.alpha * g->mean[k * d + i];
        v += b2 * a[i] * a[i];
        for (size_t j = 0; j < d; j++)
            v += a2 * a[i] * g->cov[k * d * d + i * d + j] * a[j];
    }
    *mean = mu;
    *var = v;
}

double fmd_marginal_projected_cdf(const fmd_marginal *m, const double *a, double s)
{
    double F = 0.0;
    for (size_t k = 0; k < m->g->K; k++) {
        double mean, var;
        projected_moments(m, a, k, &mean, &var);
        F += m->g->weight[k] * (var > 0.0 ? gsl_cdf_gaussian_P(s - mean, sqrt(var)) : (s >= mean));
    }
    return F;
}

double fmd_marginal_projected_pdf(const fmd_marginal *m, const double *a, double s)
{
    double f = 0.0;
    for (size_t k = 0; k < m->g->K; k++) {
        double mean, var;
        projected_moments(m, a, k, &mean, &var);
        f += m->g->weight[k] * exp(-0.5 * (s - mean) * (s - mean) / var) / sqrt(2.0 * M_PI * var);
    }
    return f;
}

int fmd_marginal_field_mc(const fmd_marginal *m, const double *x, size_t M, gsl_rng *r,
                          double *u_est, double *u_se)
{
    const fmd_sched_point *s = &m->s;
    if (!x || !r || !u_est || !u_se || M < 2 || !(s->beta > 0.0))
        return FMD_EINVAL;
    const size_t d = m->g->d;
    double *z = malloc(M * d * sizeof(double)), *w = malloc(M * sizeof(double));
    double *u = malloc(d * sizeof(double));
    int status = (z && w && u) ? fmd_gmm_sample(m->g, r, M, z, NULL) : FMD_ENOMEM;
    if (status == FMD_OK) {
        double wsum = 0.0, lmax = -INFINITY;
        for (size_t j = 0; j < M; j++) {   /* log p_t(x | z_j) up to a constant */
            double q = 0.0;
            for (size_t i = 0; i < d; i++) {
                double e = x[i] - s->alpha * z[j * d + i];
                q += e * e;
            }
            w[j] = -0.5 * q / (s->beta * s->beta);
            lmax = fmax(lmax, w[j]);
        }
        for (size_t j = 0; j < M; j++) {
            w[j] = exp(w[j] - lmax);
            wsum += w[j];
        }
        for (size_t i = 0; i < d; i++) {
            double num = 0.0, var = 0.0;
            for (size_t j = 0; j < M; j++) {
                fmd_path_cond_field(s, 1, d, z + j * d, x, u);   /* Ex 11: u_t(x | z_j) */
                num += w[j] * u[i];
            }
            double est = num / wsum;
            for (size_t j = 0; j < M; j++) {
                fmd_path_cond_field(s, 1, d, z + j * d, x, u);
                var += w[j] * w[j] * (u[i] - est) * (u[i] - est);
            }
            u_est[i] = est;
            u_se[i] = sqrt(var) / wsum;
        }
    }
    free(z);
    free(w);
    free(u);
    return status;
}

int fmd_marginal_sample(const fmd_marginal *m, gsl_rng *r, size_t n, double *x)
{
    if (!m || !r || !x || n == 0)
        return FMD_EINVAL;
    const size_t d = m->g->d;
    int status = fmd_gmm_sample(m->g, r, n, x, NULL);   /* z ~ p_data */
    if (status != FMD_OK)
        return status;
    double *eps = malloc(d * sizeof(double));
    if (!eps)
        return FMD_ENOMEM;
    for (size_t p = 0; p < n; p++) {
        fmd_rng_gaussian(r, d, eps);
        for (size_t i = 0; i < d; i++)   /* Ex 9: x = alpha z + beta eps */
            x[p * d + i] = m->s.alpha * x[p * d + i] + m->s.beta * eps[i];
    }
    free(eps);
    return FMD_OK;
}

/* ---- fields -------------------------------------------------------------- */

/* Build a slice at t, evaluate, free: a field call owns its slice, so blocks
 * of particles may be evaluated on several threads at once. */
static int eval_at(const fmd_marginal_field_params *P, double t, size_t n, const double *x,
                   double *u, double *score)
{
    fmd_marginal *m;
    int status = fmd_marginal_alloc(P->g, &m);
    if (status != FMD_OK)
        return status;
    status = fmd_marginal_set_time(m, P->sch, t);
    if (status == FMD_OK) {
        fmd_marginal_out out = {0};
        out.u = u;
        out.score = score;
        status = fmd_marginal_eval(m, n, x, &out);
    }
    fmd_marginal_free(m);
    return status;
}

int fmd_marginal_field(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    const fmd_marginal_field_params *P = params;
    if (d != P->g->d)
        return FMD_EINVAL;
    return eval_at(P, t, n, x, out, NULL);
}

int fmd_marginal_divergence(double t, size_t n, size_t d, const double *x, double *div, void *params)
{
    const fmd_marginal_field_params *P = params;
    if (d != P->g->d)
        return FMD_EINVAL;
    fmd_marginal *m;
    int status = fmd_marginal_alloc(P->g, &m);
    if (status != FMD_OK)
        return status;
    status = fmd_marginal_set_time(m, P->sch, t);
    if (status == FMD_OK) {
        fmd_marginal_out out = {.div_u = div};
        status = fmd_marginal_eval(m, n, x, &out);
    }
    fmd_marginal_free(m);
    return status;
}

int fmd_marginal_log_density(size_t n, size_t d, const double *x, double *logp, void *slice)
{
    const fmd_marginal *m = slice;
    if (!m || d != m->g->d)
        return FMD_EINVAL;
    fmd_marginal_out out = {.logp = logp};
    return fmd_marginal_eval(m, n, x, &out);
}

int fmd_marginal_sde_drift(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    const fmd_marginal_field_params *P = params;
    if (d != P->g->d)
        return FMD_EINVAL;
    double *score = malloc(n * d * sizeof(double));
    if (!score)
        return FMD_ENOMEM;
    int status = eval_at(P, t, n, x, out, score);
    if (status == FMD_OK && P->sigma) {
        double sigma = P->sigma(t, P->sigma_params);
        for (size_t i = 0; i < n * d; i++)   /* Thm 13: u + sigma^2/2 grad log p */
            out[i] += 0.5 * sigma * sigma * score[i];
    }
    free(score);
    return status;
}

int fmd_gmm_score(const fmd_gmm *g, size_t n, const double *x, double *out)
{
    if (!g || !x || !out || n == 0)
        return FMD_EINVAL;
    fmd_schedule data_end;   /* at t = 1 every schedule has alpha = 1, beta = 0: p_1 = p_data */
    fmd_schedule_by_name("condot", &data_end);
    fmd_marginal_field_params mp = {g, &data_end, NULL, NULL};
    return eval_at(&mp, 1.0, n, x, NULL, out);
}

int fmd_langevin_drift(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    (void)t;
    const fmd_langevin_params *P = params;
    if (d != P->g->d)
        return FMD_EINVAL;
    int status = fmd_gmm_score(P->g, n, x, out);
    for (size_t i = 0; status == FMD_OK && i < n * d; i++)
        out[i] *= 0.5 * P->sigma * P->sigma;   /* Remark 16: (sigma^2 / 2) grad log p */
    return status;
}
