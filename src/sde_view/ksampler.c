/* ksampler.c -- k-diffusion's samplers in the course's terms (ksampler.h). */
#include "sde_view/ksampler.h"
#include "base/rng.h"
#include "base/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int fmd_karras_sigmas(size_t n, double sigma_min, double sigma_max, double rho, double *sigmas)
{
    if (!sigmas || n < 2 || !(sigma_min > 0.0) || !(sigma_max > sigma_min) || !(rho > 0.0) || !isfinite(sigma_max))
        return FMD_EINVAL;
    const double a = pow(sigma_max, 1.0 / rho), b = pow(sigma_min, 1.0 / rho);
    for (size_t i = 0; i < n; i++)
        sigmas[i] = pow(a + (double)i / (double)(n - 1) * (b - a), rho);
    sigmas[0] = sigma_max, sigmas[n - 1] = sigma_min;   /* the ends exactly */
    sigmas[n] = 0.0;
    return FMD_OK;
}

/* What every step needs: the denoiser's scratch, past slopes or estimates,
 * and the noise streams. */
typedef struct {
    fmd_eps_fn eps;
    void *params;
    size_t np, d;
    double *x2, *e, *D, *D2, *hist;   /* (np d) each; hist: 4 past slopes or 2 past D (np d each) */
    fmd_streams st;
    int have_streams;
} kwork;

/* D = x~ - sigma eps(alpha x~) at the path point of lambda = -log sigma
 * (alpha = 1/sqrt(1 + sigma^2), beta = sigma alpha: the VP point; a model
 * reads it at its own point of the same lambda, fmd_model_eps). */
static int denoise(kwork *w, const double *xt, double sigma, double *D)
{
    const size_t m = w->np * w->d;
    const double alpha = 1.0 / sqrt(1.0 + sigma * sigma);
    fmd_sched_point s = {.alpha = alpha, .beta = sigma * alpha};
    for (size_t i = 0; i < m; i++)
        w->x2[i] = alpha * xt[i];
    int status = w->eps(&s, w->np, w->d, w->x2, w->e, w->params);
    for (size_t i = 0; status == FMD_OK && i < m; i++)
        D[i] = xt[i] - sigma * w->e[i];
    return status;
}

/* eta = 1: sigma_up = min(to, to sqrt(from^2 - to^2) / from), sigma_down = sqrt(to^2 - sigma_up^2) */
static void ancestral(double from, double to, double *down, double *up)
{
    *up = fmin(to, to * sqrt(fmax(from * from - to * to, 0.0)) / from);
    *down = sqrt(fmax(to * to - *up * *up, 0.0));
}

/* x += size * fresh N(0, I) noise */
static void add_noise(kwork *w, double *x, double size)
{
    if (!(size > 0.0))
        return;
    const size_t m = w->np * w->d;
    fmd_streams_gaussian(&w->st, w->np, w->d, w->e);
    for (size_t i = 0; i < m; i++)
        x[i] += size * w->e[i];
}

/* LMS weight of slope j (0 = newest) over [s[i], s[i+1]] with the nodes
 * s[i], s[i-1], ..., s[i-order+1]: the integral of its Lagrange polynomial,
 * by 4-point Gauss-Legendre (exact: the degree is at most 3). */
static double lms_weight(const double *s, size_t i, size_t order, size_t j)
{
    static const double node[4] = {-0.8611363115940526, -0.3399810435848563, 0.3399810435848563, 0.8611363115940526};
    static const double weight[4] = {0.3478548451374538, 0.6521451548625461, 0.6521451548625461, 0.3478548451374538};
    const double a = s[i], b = s[i + 1], half = 0.5 * (b - a);
    double sum = 0.0;
    for (int q = 0; q < 4; q++) {
        const double tau = a + half * (node[q] + 1.0);
        double prod = 1.0;
        for (size_t k = 0; k < order; k++)
            if (k != j)
                prod *= (tau - s[i - k]) / (s[i - j] - s[i - k]);
        sum += weight[q] * prod;
    }
    return half * sum;
}

int fmd_ksample(fmd_kmethod method, const double *sigmas, size_t steps, fmd_eps_fn eps, void *params, size_t np,
                size_t d, uint64_t seed, double *x, size_t *nfe)
{
    if (!sigmas || !eps || !x || steps == 0 || np == 0 || d == 0 || method > FMD_K_DPMPP_SDE)
        return FMD_EINVAL;
    for (size_t i = 0; i < steps; i++)
        if (!(sigmas[i] > sigmas[i + 1]) || !(sigmas[i + 1] >= 0.0) || !isfinite(sigmas[i]) || (i + 1 < steps && sigmas[i + 1] == 0.0))
            return FMD_EGRID;
    const size_t m = np * d;
    kwork w = {eps, params, np, d, NULL, NULL, NULL, NULL, NULL, {0}, 0};
    w.x2 = malloc(m * sizeof(double)), w.e = malloc(m * sizeof(double));
    w.D = malloc(m * sizeof(double)), w.D2 = malloc(m * sizeof(double)), w.hist = malloc(4 * m * sizeof(double));
    int status = w.x2 && w.e && w.D && w.D2 && w.hist ? FMD_OK : FMD_ENOMEM;
    if (status == FMD_OK && method >= FMD_K_EULER_ANCESTRAL) {
        status = fmd_streams_alloc(seed, np, &w.st);
        w.have_streams = status == FMD_OK;
    }
    size_t evals = 0, have = 0;   /* have: past slopes (LMS) or past D (3M) kept in hist */
    double h_1 = 0.0, h_2 = 0.0;  /* 3M: the last two steps in lambda */
    for (size_t i = 0; status == FMD_OK && i < steps; i++) {
        const double s = sigmas[i], sn = sigmas[i + 1];
        status = denoise(&w, x, s, w.D);
        evals++;
        if (status != FMD_OK)
            break;
        switch (method) {
        case FMD_K_HEUN: {   /* Karras et al., Algorithm 1: Heun in sigma, Euler into sigma = 0 */
            const double dt = sn - s;
            for (size_t k = 0; k < m; k++)
                w.hist[k] = (x[k] - w.D[k]) / s, w.x2[k] = x[k] + dt * w.hist[k];
            if (sn == 0.0) {
                memcpy(x, w.x2, m * sizeof(double));
                break;
            }
            double *x2 = w.hist + m;   /* the predictor, kept apart from denoise's scratch */
            memcpy(x2, w.x2, m * sizeof(double));
            status = denoise(&w, x2, sn, w.D2);
            evals++;
            for (size_t k = 0; status == FMD_OK && k < m; k++)
                x[k] += 0.5 * dt * (w.hist[k] + (x2[k] - w.D2[k]) / sn);
            break;
        }
        case FMD_K_LMS: {   /* Adams-Bashforth of order up to 4 on the uneven sigma grid */
            memmove(w.hist + m, w.hist, 3 * m * sizeof(double));   /* newest slope first */
            for (size_t k = 0; k < m; k++)
                w.hist[k] = (x[k] - w.D[k]) / s;
            have = have < 4 ? have + 1 : 4;
            for (size_t j = 0; j < have; j++) {
                const double c = lms_weight(sigmas, i, have, j);
                for (size_t k = 0; k < m; k++)
                    x[k] += c * w.hist[j * m + k];
            }
            break;
        }
        case FMD_K_DPMPP_3M:
        case FMD_K_DPMPP_3M_CORRECTED: {   /* DPM-Solver++(3M), eta = 0: exponential integrator in lambda = -log sigma */
            if (sn == 0.0) {
                memcpy(x, w.D, m * sizeof(double));   /* a last step into sigma = 0 is the denoised estimate */
                break;
            }
            const double h = log(s / sn), phi1 = -expm1(-h), phi2 = expm1(-h) / h + 1.0;
            /* D2 ~ h^2 D''/2, and the integral of e^{-(h - tau)} tau^2 D''/2 over the step is
             * -2 phi3 D2: k-diffusion (and DPM-Solver's reference code) take -phi3 D2,
             * which leaves the method second order; CORRECTED takes the whole term */
            const double phi3 = (phi2 / h - 0.5) * (method == FMD_K_DPMPP_3M_CORRECTED ? 2.0 : 1.0);
            const double *D1 = w.hist, *D2 = w.hist + m;   /* the last two D */
            for (size_t k = 0; k < m; k++) {
                double v = (sn / s) * x[k] + phi1 * w.D[k];
                if (have >= 2) {
                    const double r0 = h_1 / h, r1 = h_2 / h;
                    const double d10 = (w.D[k] - D1[k]) / r0, d11 = (D1[k] - D2[k]) / r1;
                    v += phi2 * (d10 + (d10 - d11) * r0 / (r0 + r1)) - phi3 * (d10 - d11) / (r0 + r1);
                } else if (have == 1) {
                    v += phi2 * (w.D[k] - D1[k]) / (h_1 / h);
                }
                x[k] = v;
            }
            memcpy(w.hist + m, w.hist, m * sizeof(double));
            memcpy(w.hist, w.D, m * sizeof(double));
            have = have < 2 ? have + 1 : 2;
            h_2 = h_1, h_1 = h;
            break;
        }
        case FMD_K_EULER_ANCESTRAL: {
            double down, up;
            ancestral(s, sn, &down, &up);
            for (size_t k = 0; k < m; k++)
                x[k] += (down - s) * (x[k] - w.D[k]) / s;
            if (sn > 0.0)
                add_noise(&w, x, up);
            break;
        }
        case FMD_K_DPMPP_2S_ANCESTRAL: {
            double down, up;
            ancestral(s, sn, &down, &up);
            if (down == 0.0) {
                memcpy(x, w.D, m * sizeof(double));   /* Euler into sigma = 0 */
            } else {   /* midpoint in lambda: sigma_mid = sqrt(s down) */
                const double h = log(s / down), mid = s * exp(-0.5 * h);
                double *x2 = w.hist;
                for (size_t k = 0; k < m; k++)
                    x2[k] = (mid / s) * x[k] - expm1(-0.5 * h) * w.D[k];
                status = denoise(&w, x2, mid, w.D2);
                evals++;
                for (size_t k = 0; status == FMD_OK && k < m; k++)
                    x[k] = (down / s) * x[k] - expm1(-h) * w.D2[k];
            }
            if (status == FMD_OK && sn > 0.0)
                add_noise(&w, x, up);
            break;
        }
        case FMD_K_DPMPP_SDE: {   /* r = 1/2: an ancestral half step to the midpoint, then the whole step */
            if (sn == 0.0) {
                memcpy(x, w.D, m * sizeof(double));
                break;
            }
            const double mid = sqrt(s * sn);   /* lambda halfway */
            double down, up, *x2 = w.hist;
            ancestral(s, mid, &down, &up);
            for (size_t k = 0; k < m; k++)
                x2[k] = (down / s) * x[k] + (1.0 - down / s) * w.D[k];
            add_noise(&w, x2, up);
            status = denoise(&w, x2, mid, w.D2);
            evals++;
            ancestral(s, sn, &down, &up);
            for (size_t k = 0; status == FMD_OK && k < m; k++)   /* fac = 1/(2r) = 1: D of the midpoint */
                x[k] = (down / s) * x[k] + (1.0 - down / s) * w.D2[k];
            if (status == FMD_OK)
                add_noise(&w, x, up);
            break;
        }
        }
    }
    if (nfe)
        *nfe = evals;
    if (w.have_streams)
        fmd_streams_free(&w.st);
    free(w.x2), free(w.e), free(w.D), free(w.D2), free(w.hist);
    return status;
}
