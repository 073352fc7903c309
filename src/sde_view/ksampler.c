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
    double *z;                        /* a step's noise: up to 2 blocks of np d */
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

/* x += size z (m numbers) */
static void add_noise(double *x, size_t m, double size, const double *z)
{
    if (!(size > 0.0))
        return;
    for (size_t i = 0; i < m; i++)
        x[i] += size * z[i];
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

/* One step of a single-step method from s to sn with its noise z given
 * (fmd_kstep_noise_blocks(method) independent N(0, I) blocks of np d):
 * the step fmd_kstep and fmd_ksample both take. */
static int kstep(kwork *w, fmd_kmethod method, double s, double sn, const double *z, double *x, size_t *evals)
{
    const size_t m = w->np * w->d;
    int status = denoise(w, x, s, w->D);
    ++*evals;
    if (status != FMD_OK)
        return status;
    switch (method) {
    case FMD_K_HEUN: {   /* Karras et al., Algorithm 1: Heun in sigma, Euler into sigma = 0 */
        const double dt = sn - s;
        for (size_t k = 0; k < m; k++)
            w->hist[k] = (x[k] - w->D[k]) / s, w->x2[k] = x[k] + dt * w->hist[k];
        if (sn == 0.0) {
            memcpy(x, w->x2, m * sizeof(double));
            break;
        }
        double *x2 = w->hist + m;   /* the predictor, kept apart from denoise's scratch */
        memcpy(x2, w->x2, m * sizeof(double));
        status = denoise(w, x2, sn, w->D2);
        ++*evals;
        for (size_t k = 0; status == FMD_OK && k < m; k++)
            x[k] += 0.5 * dt * (w->hist[k] + (x2[k] - w->D2[k]) / sn);
        break;
    }
    case FMD_K_EULER_ANCESTRAL: {   /* sample_euler_ancestral: Euler to sigma_down, then sigma_up z */
        double down, up;
        ancestral(s, sn, &down, &up);
        for (size_t k = 0; k < m; k++)
            x[k] += (down - s) * (x[k] - w->D[k]) / s;
        if (sn > 0.0)
            add_noise(x, m, up, z);
        break;
    }
    case FMD_K_DPMPP_2S_ANCESTRAL: {   /* sample_dpmpp_2s_ancestral */
        double down, up;
        ancestral(s, sn, &down, &up);
        if (down == 0.0) {
            memcpy(x, w->D, m * sizeof(double));   /* Euler into sigma = 0 */
        } else {   /* midpoint in lambda: sigma_mid = sqrt(s down) */
            const double h = log(s / down), mid = s * exp(-0.5 * h);
            double *x2 = w->hist;
            for (size_t k = 0; k < m; k++)
                x2[k] = (mid / s) * x[k] - expm1(-0.5 * h) * w->D[k];
            status = denoise(w, x2, mid, w->D2);
            ++*evals;
            for (size_t k = 0; status == FMD_OK && k < m; k++)
                x[k] = (down / s) * x[k] - expm1(-h) * w->D2[k];
        }
        if (status == FMD_OK && sn > 0.0)
            add_noise(x, m, up, z);
        break;
    }
    case FMD_K_DPMPP_SDE: {   /* sample_dpmpp_sde, r = 1/2: an ancestral half step to the midpoint, then the whole step */
        if (sn == 0.0) {
            memcpy(x, w->D, m * sizeof(double));   /* Euler into sigma = 0 */
            break;
        }
        const double mid = sqrt(s * sn);   /* lambda halfway */
        double down, up, *x2 = w->hist, *n2 = w->hist + m;
        ancestral(s, mid, &down, &up);
        for (size_t k = 0; k < m; k++)
            x2[k] = (down / s) * x[k] + (1.0 - down / s) * w->D[k];
        add_noise(x2, m, up, z);   /* n1 = z_1: the Brownian increment over [mid, s], normalised */
        status = denoise(w, x2, mid, w->D2);
        ++*evals;
        ancestral(s, sn, &down, &up);
        /* n2: the increment over [sn, s], normalised. It contains n1's interval, so
         * corr(n1, n2) = sqrt((s - mid) / (s - sn)), k-diffusion's Brownian tree in sigma */
        const double rho = sqrt((s - mid) / (s - sn)), rho_c = sqrt((mid - sn) / (s - sn));
        for (size_t k = 0; k < m; k++)
            n2[k] = rho * z[k] + rho_c * z[m + k];
        for (size_t k = 0; status == FMD_OK && k < m; k++)   /* fac = 1/(2r) = 1: D of the midpoint */
            x[k] = (down / s) * x[k] + (1.0 - down / s) * w->D2[k];
        if (status == FMD_OK)
            add_noise(x, m, up, n2);
        break;
    }
    default:
        return FMD_EINVAL;
    }
    return status;
}

static int kwork_alloc(fmd_eps_fn eps, void *params, size_t np, size_t d, kwork *w)
{
    const size_t m = np * d;
    *w = (kwork){eps, params, np, d, NULL, NULL, NULL, NULL, NULL, NULL};
    w->x2 = malloc(m * sizeof(double)), w->e = malloc(m * sizeof(double)), w->z = malloc(2 * m * sizeof(double));
    w->D = malloc(m * sizeof(double)), w->D2 = malloc(m * sizeof(double)), w->hist = malloc(4 * m * sizeof(double));
    return w->x2 && w->e && w->z && w->D && w->D2 && w->hist ? FMD_OK : FMD_ENOMEM;
}

static void kwork_free(kwork *w)
{
    free(w->x2), free(w->e), free(w->z), free(w->D), free(w->D2), free(w->hist);
}

size_t fmd_kstep_noise_blocks(fmd_kmethod method)
{
    return method == FMD_K_DPMPP_SDE ? 2 : method == FMD_K_EULER_ANCESTRAL || method == FMD_K_DPMPP_2S_ANCESTRAL ? 1 : 0;
}

int fmd_kstep(fmd_kmethod method, double sigma, double sigma_next, fmd_eps_fn eps, void *params, size_t np, size_t d,
              const double *z, double *x)
{
    const int single = method == FMD_K_HEUN || method == FMD_K_EULER_ANCESTRAL || method == FMD_K_DPMPP_2S_ANCESTRAL ||
                       method == FMD_K_DPMPP_SDE;
    if (!single || !eps || !x || np == 0 || d == 0 || (fmd_kstep_noise_blocks(method) > 0 && !z))
        return FMD_EINVAL;
    if (!(sigma > sigma_next) || !(sigma_next >= 0.0) || !isfinite(sigma))
        return FMD_EGRID;
    kwork w;
    size_t evals = 0;
    int status = kwork_alloc(eps, params, np, d, &w);
    if (status == FMD_OK)
        status = kstep(&w, method, sigma, sigma_next, z, x, &evals);
    kwork_free(&w);
    return status;
}

int fmd_ksample(fmd_kmethod method, const double *sigmas, size_t steps, fmd_eps_fn eps, void *params, size_t np,
                size_t d, uint64_t seed, double *x, size_t *nfe)
{
    if (!sigmas || !eps || !x || steps == 0 || np == 0 || d == 0 || method > FMD_K_DPMPP_SDE)
        return FMD_EINVAL;
    for (size_t i = 0; i < steps; i++)
        if (!(sigmas[i] > sigmas[i + 1]) || !(sigmas[i + 1] >= 0.0) || !isfinite(sigmas[i]) || (i + 1 < steps && sigmas[i + 1] == 0.0))
            return FMD_EGRID;
    const size_t m = np * d, blocks = fmd_kstep_noise_blocks(method);
    kwork w;
    fmd_streams st;
    int status = kwork_alloc(eps, params, np, d, &w), have_streams = 0;
    if (status == FMD_OK && blocks > 0) {
        status = fmd_streams_alloc(seed, np, &st);
        have_streams = status == FMD_OK;
    }
    size_t evals = 0, have = 0;   /* have: past slopes (LMS) or past D (3M) kept in hist */
    double h_1 = 0.0, h_2 = 0.0;  /* 3M: the last two steps in lambda */
    for (size_t i = 0; status == FMD_OK && i < steps; i++) {
        const double s = sigmas[i], sn = sigmas[i + 1];
        if (method != FMD_K_LMS && method != FMD_K_DPMPP_3M && method != FMD_K_DPMPP_3M_CORRECTED) {
            if (sn > 0.0)   /* the step's noise: no draw for a last step into sigma = 0, which adds none */
                for (size_t b = 0; b < blocks; b++)
                    fmd_streams_gaussian(&st, np, d, w.z + b * m);
            status = kstep(&w, method, s, sn, w.z, x, &evals);
            continue;
        }
        status = denoise(&w, x, s, w.D);
        evals++;
        if (status != FMD_OK)
            break;
        if (method == FMD_K_LMS) {   /* Adams-Bashforth of order up to 4 on the uneven sigma grid */
            memmove(w.hist + m, w.hist, 3 * m * sizeof(double));   /* newest slope first */
            for (size_t k = 0; k < m; k++)
                w.hist[k] = (x[k] - w.D[k]) / s;
            have = have < 4 ? have + 1 : 4;
            for (size_t j = 0; j < have; j++) {
                const double c = lms_weight(sigmas, i, have, j);
                for (size_t k = 0; k < m; k++)
                    x[k] += c * w.hist[j * m + k];
            }
            continue;
        }
        /* DPM-Solver++(3M), eta = 0: exponential integrator in lambda = -log sigma */
        if (sn == 0.0) {
            memcpy(x, w.D, m * sizeof(double));   /* a last step into sigma = 0 is the denoised estimate */
            continue;
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
    }
    if (nfe)
        *nfe = evals;
    if (have_streams)
        fmd_streams_free(&st);
    kwork_free(&w);
    return status;
}
