/* examples.h -- the closed-form examples of chapter 2, as fields and flows.
 *
 * Promise: each example is a vector field (or SDE) the solvers accept, next
 * to its exact solution, so that every numerical method can be checked
 * against the truth: Example 4's linear field, a rotation, a nonlinear
 * time-dependent scalar field, monomials in t, the Ornstein-Uhlenbeck process,
 * geometric Brownian motion, and a non-Lipschitz field whose ODE has two
 * solutions from the same start (why Theorem 3 needs its hypothesis). */
#ifndef FMD_EXAMPLES_H
#define FMD_EXAMPLES_H

#include <stddef.h>
#include "flows/field.h"
#include "flows/sde.h"
#include "flows/ode.h"

/* Example 4: u_t(x) = -theta x, flow psi_t(x0) = exp(-theta t) x0. */
typedef struct { double theta; } fmd_linear_params;
int fmd_linear_field(double t, size_t n, size_t d, const double *x, double *out, void *params);
/* out[i] = exp(-theta t) x0[i], i < m (out may equal x0). */
void fmd_linear_flow(double theta, double t, size_t m, const double *x0, double *out);

/* Rotation in the plane: u(x) = omega (-x_2, x_1); psi_t turns x0 by omega t.
 * d must be 2 (else FMD_EINVAL). */
typedef struct { double omega; } fmd_rotation_params;
int fmd_rotation_field(double t, size_t n, size_t d, const double *x, double *out, void *params);
void fmd_rotation_flow(double omega, double t, size_t n, const double *x0, double *out);

/* Spiral: u(x) = -theta x + omega (-x_2, x_1), the flow shrinks by
 * e^{-theta t} while it turns by omega t. d must be 2. */
typedef struct { double theta, omega; } fmd_spiral_params;
int fmd_spiral_field(double t, size_t n, size_t d, const double *x, double *out, void *params);
void fmd_spiral_flow(const fmd_spiral_params *p, double t, size_t n, const double *x0, double *out);

/* Nonlinear and time-dependent, each component: u_t(x) = -t x^2, so
 * 1/x(t) = 1/x0 + t^2/2 and psi_t(x0) = x0 / (1 + x0 t^2 / 2) (finite while
 * 1 + x0 t^2/2 > 0, i.e. for every t when x0 >= 0). */
int fmd_riccati_field(double t, size_t n, size_t d, const double *x, double *out, void *params);
void fmd_riccati_flow(double t, size_t m, const double *x0, double *out);

/* Quadrature test: u_t(x) = t^k (independent of x), x(t) = x0 + t^(k+1)/(k+1).
 * A Runge-Kutta method of order p integrates it exactly for every k < p. */
typedef struct { int k; } fmd_monomial_params;
int fmd_monomial_field(double t, size_t n, size_t d, const double *x, double *out, void *params);

/* Ornstein-Uhlenbeck process dX = -theta X dt + sigma dW (theta > 0):
 *   E[X_t]   = exp(-theta t) x0
 *   Var[X_t] = sigma^2 / (2 theta) (1 - exp(-2 theta t))   -> sigma^2 / (2 theta).
 * The stationary law is N(0, sigma^2 / (2 theta)). */
typedef struct { double theta, sigma; } fmd_ou_params;
/* An fmd_sde for the process; p must outlive it. */
fmd_sde fmd_ou_sde(const fmd_ou_params *p, size_t d);
double fmd_ou_mean(const fmd_ou_params *p, double t, double x0);
double fmd_ou_variance(const fmd_ou_params *p, double t);
double fmd_ou_stationary_variance(const fmd_ou_params *p);

/* Geometric Brownian motion dX = mu X dt + sigma X dW (multiplicative noise):
 *   X_t = x0 exp((mu - sigma^2/2) t + sigma W_t),   E[X_t] = x0 exp(mu t). */
typedef struct { double mu, sigma; } fmd_gbm_params;
fmd_sde fmd_gbm_sde(const fmd_gbm_params *p, size_t d);
double fmd_gbm_exact(const fmd_gbm_params *p, double t, double x0, double W_t);

/* Not Lipschitz at 0: u(x) = 2 sqrt(|x|). From x0 = 0 every
 *   x_c(t) = 0 for t <= c,   (t - c)^2 for t > c       (c >= 0)
 * solves the ODE, as does x(t) = 0: uniqueness fails (Theorem 3). */
int fmd_nonlipschitz_field(double t, size_t n, size_t d, const double *x, double *out, void *params);
double fmd_nonlipschitz_solution(double c, double t);

/* The reference problems of the order checks and the integrator benchmark:
 * a field in d = 2, a horizon, and the exact flow psi_t on n particles. */
typedef struct {
    const char *name;
    fmd_field u;
    double T;
    void (*exact)(double t, size_t n, const double *x0, double *out);
} fmd_ref_problem;

/* Example 4 (theta = 1.37, T = 1.5), rotation (omega = 2.385, T = 2) and
 * the Riccati field -t x^2 (T = 1). */
#define FMD_NREF 3
extern const fmd_ref_problem fmd_ref_problems[FMD_NREF];

/* Integrate problem p from x0 (n particles, d = 2) over [0, T] with `steps`
 * uniform steps of `type`; *err = the largest relative error
 * |x - psi_T(x0)| / |psi_T(x0)| over all components. */
int fmd_ref_error(const fmd_ref_problem *p, const fmd_ode_stepper_type *type, double T,
                  size_t steps, size_t n, const double *x0, double *err);

#endif
