/* forward.h -- chapter 6: the SDE view of the companion lectures `002` and
 * `003`, mapped onto the course's Gaussian paths.
 *
 * The lectures run time the other way: data at s = 0, noise at s = T. Their
 * forward (noising) SDE dX = f(s) X ds + g(s) dW started from z has the
 * Gaussian kernel X_s | z ~ N(m(s) z, v(s) I), m' = f m, v' = 2 f v + g^2.
 * Every course schedule (alpha_t, beta_t) is such a kernel under the time
 * map t = 1 - s/T (m = alpha_t, v = beta_t^2), with
 *     f(s)   = -alpha_dot / (T alpha),
 *     g(s)^2 = (2/T) b_t,   b_t = beta^2 alpha_dot / alpha - beta beta_dot   (Prop 1's factor).
 * For the lectures' three SDEs this gives back their coefficients:
 *     OU (`002`, schedule ou:T)   f = -1,            g^2 = 2
 *     VP (`003`, schedule vp)     f = -b(s)/2,       g^2 = b(s) = 0.1 + 19.9 s      (T = 1)
 *     VE (`003`, schedule ve)     f = 0,             g^2 = d sigma^2 / ds            (T = 1)
 * Two consequences, both checked in verify/test_forward.c:
 *   - the probability-flow ODE dx/ds = f x - (g^2/2) grad log p_s(x) is
 *     -u_t(x)/T: the course's marginal field, run backwards in s;
 *   - the reverse-time SDE, in the lectures' generative time tau = T - s,
 *     dY = [-f Y + g^2 grad log p_{T-tau}(Y)] dtau + g dB, is Thm 13's SDE
 *     with sigma_t^2 = 2 b_t (for OU: `002`'s dY = (2 grad log q + Y) dtau + sqrt(2) dB).
 * The fields below take the lectures' own times (s forward, tau reverse) and
 * read the score of the exact mixture marginal at t = 1 - s/T. */
#ifndef FMD_FORWARD_H
#define FMD_FORWARD_H

#include <stddef.h>
#include "paths/gmm.h"
#include "paths/schedule.h"

typedef struct {
    fmd_schedule sch;   /* the course schedule: ou:T, vp, ve (or any other) */
    double T;           /* the lectures' horizon: T of ou:T, 1 otherwise */
} fmd_forward;

/* The forward SDE of a named schedule ("ou:10", "vp", "ve", ...). */
int fmd_forward_by_name(const char *name, fmd_forward *out);

/* Course time of lecture time s: t = 1 - s/T (FMD_EDOM outside [0, T]). */
int fmd_forward_course_time(const fmd_forward *F, double s, double *t);

/* f(s) and g(s)^2 at lecture time s in [0, T]. FMD_EDOM where alpha = 0
 * (the course's t = 0 for condot and the like: no forward SDE reaches a
 * point mass of zero signal in finite time). */
int fmd_forward_coeffs(const fmd_forward *F, double s, double *f, double *g2);

/* The kernel: X_s | z ~ N(m z, sd^2 I). */
int fmd_forward_kernel(const fmd_forward *F, double s, double *m, double *sd);

/* Parameters of the fields below: the forward SDE and, where a score is
 * needed, the data mixture whose exact marginal gives it. */
typedef struct {
    const fmd_forward *F;
    const fmd_gmm *g;   /* may be NULL for the forward SDE itself */
} fmd_forward_params;

/* Forward SDE in s: drift f(s) x (an fmd_field_fn) and diffusion g(s). */
int fmd_forward_drift(double s, size_t n, size_t d, const double *x, double *out, void *params);
int fmd_forward_diffusion(double s, size_t n, size_t d, const double *x, double *g, void *params);

/* Reverse-time SDE in tau = T - s: drift -f x + g^2 grad log p(x) at
 * s = T - tau, and diffusion g(T - tau). */
int fmd_reverse_drift(double tau, size_t n, size_t d, const double *x, double *out, void *params);
int fmd_reverse_diffusion(double tau, size_t n, size_t d, const double *x, double *g, void *params);

/* The reverse drift of a score off by delta(x) = -a x (row 6.6's worked
 * case, Girsanov): -f x + g^2 (grad log p - a x). params: fmd_shrunk_score. */
typedef struct {
    const fmd_forward_params *P;
    double a;
} fmd_shrunk_score;
int fmd_reverse_drift_shrunk(double tau, size_t n, size_t d, const double *x, double *out, void *params);

/* Probability-flow ODE in s: f x - (g^2 / 2) grad log p_s(x). Integrate it
 * with decreasing s (T -> 0) to generate. */
int fmd_probability_flow(double s, size_t n, size_t d, const double *x, double *out, void *params);

#endif
