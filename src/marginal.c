/* marginal.c -- exact log-density, score, posterior mean, field and the PDE
 * quantities of the marginal path of a Gaussian mixture. */
#include "marginal.h"
#include "path.h"
#include "rng.h"
#include "status.h"

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
    m->cinv = malloc(K * d * d * sizeof(double));
    m->log_norm = malloc(K * sizeof(double));
    m->tr_cinv = malloc(K * sizeof(double));
    m->tr_sig_cinv = malloc(K * sizeof(double));
    m->iso_var = malloc(K * sizeof(double));
    m->work = malloc(2 * d * d * sizeof(double));
    if (!m->cinv || !m->log_norm || !m->tr_cinv || !m->tr_sig_cinv || !m->iso_var || !m->work) {
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
    int status = fmd_schedule_at(sch, t, &m->s);
    if (status != FMD_OK)
        return status;
    m->t = t;
    const fmd_gmm *g = m->g;
    const size_t d = g->d;
    const double a2 = m->s.alpha * m->s.alpha, b2 = m->s.beta * m->s.beta;
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
    return FMD_OK;
}

int fmd_marginal_eval(const fmd_marginal *m, size_t n, const double *x, const fmd_marginal_out *out)
{
    if (!m || !x || !out || n == 0)
        return FMD_EINVAL;
    const fmd_gmm *g = m->g;
    const size_t d = g->d, K = g->K;
    const fmd_sched_point *s = &m->s;
    /* scratch: a, dlogN (K each), v, Sv, e (K, d each), score, zmean, delta (d each) */
    double *buf = malloc((2 * K + 3 * K * d + 3 * d) * sizeof(double));
    if (!buf)
        return FMD_ENOMEM;
    double *a = buf, *dlogN = a + K, *v = dlogN + K, *Sv = v + K * d, *e = Sv + K * d;
    double *sc = e + K * d, *zm = sc + d, *delta = zm + d;

    for (size_t p = 0; p < n; p++) {
        const double *xp = x + p * d;
        for (size_t k = 0; k < K; k++) {
            const double *mu = g->mean + k * d, *Ci = m->cinv + k * d * d, *S = g->cov + k * d * d;
            double *vk = v + k * d, *Svk = Sv + k * d, *ek = e + k * d, q = 0.0;
            for (size_t i = 0; i < d; i++)
                delta[i] = xp[i] - s->alpha * mu[i];
            double vSv = 0.0, vv = 0.0, vmu = 0.0;
            if (m->iso_var[k] >= 0.0) {
                /* Sigma_k = s^2 I: C_k^{-1} = Ci[0] I and Sigma_k v = s^2 v, O(d) */
                const double ci = Ci[0], s2 = m->iso_var[k];
                for (size_t i = 0; i < d; i++) {
                    vk[i] = ci * delta[i];
                    q += delta[i] * vk[i];
                    Svk[i] = s2 * vk[i];
                    ek[i] = mu[i] + s->alpha * Svk[i];
                    vSv += vk[i] * Svk[i];
                    vv += vk[i] * vk[i];
                    vmu += vk[i] * mu[i];
                }
            } else {
                for (size_t i = 0; i < d; i++) {   /* v_k = C_k^{-1} (x - alpha mu_k) */
                    double acc = 0.0;
                    for (size_t j = 0; j < d; j++)
                        acc += Ci[i * d + j] * delta[j];
                    vk[i] = acc;
                    q += delta[i] * acc;
                }
                for (size_t i = 0; i < d; i++) {   /* Sigma_k v_k, and E[z | x, k] */
                    double acc = 0.0;
                    for (size_t j = 0; j < d; j++)
                        acc += S[i * d + j] * vk[j];
                    Svk[i] = acc;
                    ek[i] = mu[i] + s->alpha * acc;
                    vSv += vk[i] * acc;
                    vv += vk[i] * vk[i];
                    vmu += vk[i] * mu[i];
                }
            }
            a[k] = q;                              /* Mahalanobis q_k; log w_k N_k below */
            /* d/dt log N(x; m, C) = -tr(C^-1 Cdot)/2 + v.mdot + v^T Cdot v / 2 with
             * mdot = alpha_dot mu, Cdot = 2 alpha alpha_dot Sigma + 2 beta beta_dot I */
            double aad = s->alpha * s->alpha_dot, bbd = s->beta_beta_dot;
            dlogN[k] = -(aad * m->tr_sig_cinv[k] + bbd * m->tr_cinv[k]) + s->alpha_dot * vmu +
                       aad * vSv + bbd * vv;
        }
        /* log p = amax + L, L = log sum_k exp(a_k - amax). The responsibilities
         * use amax and L separately: far from the data |a_k| ~ 1e7, and
         * a_k - (amax + L) would lose the 1e-9 that amax + L rounds away. */
        double qmin = INFINITY, amax = -INFINITY, L = 0.0;
        for (size_t k = 0; k < K; k++)
            qmin = fmin(qmin, a[k]);
        for (size_t k = 0; k < K; k++) {
            /* log w_k N_k(x) + qmin/2: subtracting qmin first keeps log w_k
             * exact when every q_k is ~1e7 (far away, or t = 0) */
            a[k] = m->log_norm[k] - 0.5 * (a[k] - qmin);
            amax = fmax(amax, a[k]);
        }
        for (size_t k = 0; k < K; k++)
            L += exp(a[k] - amax);
        L = log(L);
        double logp = (amax + L) - 0.5 * qmin;
        memset(sc, 0, d * sizeof(double));
        memset(zm, 0, d * sizeof(double));
        double dlp = 0.0, sum_r_vv_tr = 0.0, div_zm_part = 0.0;
        for (size_t k = 0; k < K; k++) {
            double r = exp((a[k] - amax) - L);     /* responsibility r_k(x) */
            a[k] = r;
            const double *vk = v + k * d, *ek = e + k * d;
            double vv = 0.0;
            for (size_t i = 0; i < d; i++) {
                sc[i] -= r * vk[i];
                zm[i] += r * ek[i];
                vv += vk[i] * vk[i];
            }
            dlp += r * dlogN[k];
            sum_r_vv_tr += r * (vv - m->tr_cinv[k]);
            div_zm_part += r * s->alpha * m->tr_sig_cinv[k];
        }
        /* div E[z|x] = sum_k [ r_k alpha tr(Sigma_k C_k^-1) + grad r_k . e_k ],
         * grad r_k = r_k (s_k - s) with s_k = -v_k */
        double grad_r_e = 0.0, ss = 0.0;
        for (size_t i = 0; i < d; i++)
            ss += sc[i] * sc[i];
        for (size_t k = 0; k < K; k++) {
            const double *vk = v + k * d, *ek = e + k * d;
            double dot = 0.0;
            for (size_t i = 0; i < d; i++)
                dot += (-vk[i] - sc[i]) * ek[i];
            grad_r_e += a[k] * dot;
        }
        double lap_logp = sum_r_vv_tr - ss;        /* tr Hess log p = sum r (|v|^2 - tr C^-1) - |s|^2 */
        if (out->logp)
            out->logp[p] = logp;
        if (out->score)
            memcpy(out->score + p * d, sc, d * sizeof(double));
        if (out->zmean)
            memcpy(out->zmean + p * d, zm, d * sizeof(double));
        if (out->u)   /* Thm 10: u = alpha_dot E[z|x] - beta beta_dot grad log p */
            for (size_t i = 0; i < d; i++)
                out->u[p * d + i] = s->alpha_dot * zm[i] - s->beta_beta_dot * sc[i];
        if (out->dlogp_dt)
            out->dlogp_dt[p] = dlp;
        if (out->div_u)
            out->div_u[p] = s->alpha_dot * (div_zm_part + grad_r_e) - s->beta_beta_dot * lap_logp;
        if (out->lap_over_p)
            out->lap_over_p[p] = sum_r_vv_tr;      /* Delta p / p = Delta log p + |s|^2 */
    }
    free(buf);
    return FMD_OK;
}

double fmd_marginal_projected_cdf(const fmd_marginal *m, const double *a, double s)
{
    const fmd_gmm *g = m->g;
    const size_t d = g->d;
    const double a2 = m->s.alpha * m->s.alpha, b2 = m->s.beta * m->s.beta;
    double F = 0.0, aa = 0.0;
    for (size_t i = 0; i < d; i++)
        aa += a[i] * a[i];
    for (size_t k = 0; k < g->K; k++) {
        double mean = 0.0, var = b2 * aa;
        for (size_t i = 0; i < d; i++) {
            mean += a[i] * m->s.alpha * g->mean[k * d + i];
            for (size_t j = 0; j < d; j++)
                var += a2 * a[i] * g->cov[k * d * d + i * d + j] * a[j];
        }
        F += g->weight[k] * (var > 0.0 ? gsl_cdf_gaussian_P(s - mean, sqrt(var)) : (s >= mean));
    }
    return F;
}

double fmd_marginal_projected_pdf(const fmd_marginal *m, const double *a, double s)
{
    const fmd_gmm *g = m->g;
    const size_t d = g->d;
    const double a2 = m->s.alpha * m->s.alpha, b2 = m->s.beta * m->s.beta;
    double f = 0.0, aa = 0.0;
    for (size_t i = 0; i < d; i++)
        aa += a[i] * a[i];
    for (size_t k = 0; k < g->K; k++) {
        double mean = 0.0, var = b2 * aa;
        for (size_t i = 0; i < d; i++) {
            mean += a[i] * m->s.alpha * g->mean[k * d + i];
            for (size_t j = 0; j < d; j++)
                var += a2 * a[i] * g->cov[k * d * d + i * d + j] * a[j];
        }
        f += g->weight[k] * exp(-0.5 * (s - mean) * (s - mean) / var) / sqrt(2.0 * M_PI * var);
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

int fmd_langevin_drift(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    (void)t;
    const fmd_langevin_params *P = params;
    if (d != P->g->d)
        return FMD_EINVAL;
    fmd_schedule data_end;   /* at t = 1 every schedule has alpha = 1, beta = 0: p_1 = p_data */
    fmd_schedule_by_name("condot", &data_end);
    fmd_marginal_field_params mp = {P->g, &data_end, NULL, NULL};
    int status = eval_at(&mp, 1.0, n, x, NULL, out);
    for (size_t i = 0; status == FMD_OK && i < n * d; i++)
        out[i] *= 0.5 * P->sigma * P->sigma;   /* Remark 16: (sigma^2 / 2) grad log p */
    return status;
}
