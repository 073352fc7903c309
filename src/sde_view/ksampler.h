/* ksampler.h -- the samplers of k-diffusion (Crowson's library, the one most
 * diffusion practitioners call), in the course's terms (issue 15).
 *
 * k-diffusion works in the variance-exploding frame of Karras et al. (2022):
 * a state x~ at noise level sigma is z + sigma eps. The course's Gaussian
 * path x_t = alpha_t z + beta_t eps is the same thing rescaled:
 *     sigma(t) = beta_t / alpha_t,   x~ = x / alpha_t,
 * so lambda = log(alpha/beta) = -log sigma, and every sampler below asks only
 * for the denoiser D(x~, sigma) = E[z | x], which any noise predictor gives:
 * D = x~ - sigma eps(x) (fmd_eps_fn at the path point of that lambda; a
 * trained model through fmd_model_eps, a mixture exactly through
 * fmd_mixture_eps). The probability-flow ODE there reads
 *     dx~ / dsigma = (x~ - D(x~, sigma)) / sigma = eps.
 *
 * Methods, on a grid sigmas[0] > ... > sigmas[n] (the last may be 0, where a
 * step ends at the denoised estimate):
 *   HEUN        Karras et al.'s Algorithm 1 (no churn): Heun steps in sigma,
 *               Euler for a last step to 0; order 2, 2 evaluations a step
 *   LMS         linear multistep of order 4 in sigma (Adams-Bashforth on the
 *               uneven grid: the last 4 slopes, weights the integrals of their
 *               Lagrange polynomials over the step); 1 evaluation a step
 *   DPMPP_3M    DPM-Solver++(3M) (Lu et al. 2022; k-diffusion's 3M with
 *               eta = 0): x~' = (sigma'/sigma) x~ + (1 - e^-h) D + phi_2 D1 -
 *               phi_3 D2 with D1, D2 finite differences of past D in
 *               lambda, h = lambda' - lambda; 1 evaluation a step. Meant
 *               to be order 3, it is order 2 as written there: D2 ~ h^2
 *               D''/2, and the step's integral asks for -2 phi_3 D2
 *   DPMPP_3M_CORRECTED  the same with -2 phi_3 D2 (fmd's correction):
 *               order 3 (verify/test_diffusion.c measures both)
 *   EULER_ANCESTRAL   an Euler step to sigma_down, then fresh noise of size
 *               sigma_up (sigma_down^2 + sigma_up^2 = sigma'^2, eta = 1)
 *   DPMPP_2S_ANCESTRAL  DPM-Solver++(2S) (midpoint in lambda) to sigma_down,
 *               then noise sigma_up
 *   DPMPP_SDE   DPM-Solver++ (stochastic, r = 1/2): both stages ancestral,
 *               their two noises correlated as k-diffusion's Brownian tree in
 *               sigma makes them: n1 the normalised increment over [sigma_mid,
 *               sigma], n2 the one over [sigma', sigma], which contains it, so
 *               corr(n1, n2) = sqrt((sigma - sigma_mid) / (sigma - sigma'))
 * The stochastic ones draw their noise from fmd's seeded streams (not a
 * Brownian tree; the one correlation the tree gives within a step is built
 * from two independent draws): a run is reproducible bit for bit, any
 * thread count. Each of them is exactly k-diffusion's function of the same
 * name with eta = 1 and s_noise = 1 (sample_euler_ancestral,
 * sample_dpmpp_2s_ancestral, sample_dpmpp_sde); verify/test_sampler_law.c
 * checks one step of each against that definition, in law. */
#ifndef FMD_KSAMPLER_H
#define FMD_KSAMPLER_H

#include <stddef.h>
#include <stdint.h>
#include "sde_view/diffusion.h"

typedef enum {
    FMD_K_HEUN,
    FMD_K_LMS,
    FMD_K_DPMPP_3M,
    FMD_K_DPMPP_3M_CORRECTED,
    FMD_K_EULER_ANCESTRAL,
    FMD_K_DPMPP_2S_ANCESTRAL,
    FMD_K_DPMPP_SDE
} fmd_kmethod;

/* The levels Karras et al. use for images and `fmd sample` uses: sigma from
 * 80 down to 0.002, rho = 7. */
#define FMD_KARRAS_SIGMA_MAX 80.0
#define FMD_KARRAS_SIGMA_MIN 0.002
#define FMD_KARRAS_RHO 7.0

/* Karras et al.'s noise levels: n levels from sigma_max to sigma_min, evenly
 * spaced in sigma^(1/rho) (rho = 7 in the paper), then sigmas[n] = 0. */
int fmd_karras_sigmas(size_t n, double sigma_min, double sigma_max, double rho, double *sigmas);

/* Run method on the grid sigmas[0..steps] (strictly decreasing, > 0 but
 * for a last 0) from x (np, d) = x~ at sigmas[0] (e.g. sigmas[0] eps);
 * x becomes x~ at sigmas[steps] -- the sample itself when that is 0.
 * Noise from the streams of seed (stochastic methods only). *nfe (may be
 * NULL) gets the evaluations per particle. */
int fmd_ksample(fmd_kmethod method, const double *sigmas, size_t steps, fmd_eps_fn eps, void *params, size_t np,
                size_t d, uint64_t seed, double *x, size_t *nfe);

/* One step of a single-step method (HEUN, EULER_ANCESTRAL,
 * DPMPP_2S_ANCESTRAL, DPMPP_SDE) from sigma to sigma_next (sigma >
 * sigma_next >= 0) on x (np, d), with its noise given instead of drawn: z
 * holds fmd_kstep_noise_blocks(method) blocks of np d independent N(0, I)
 * numbers (ignored on a step into sigma_next = 0, which adds no noise; may be
 * NULL for HEUN). fmd_ksample takes exactly these steps, drawing z from its
 * streams; with the noise given, a step is a function a test can read off
 * (on Gaussian data, an affine map of x and z). */
size_t fmd_kstep_noise_blocks(fmd_kmethod method);
int fmd_kstep(fmd_kmethod method, double sigma, double sigma_next, fmd_eps_fn eps, void *params, size_t np, size_t d,
              const double *z, double *x);

#endif
