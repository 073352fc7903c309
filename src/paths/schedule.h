/* schedule.h -- noise schedules alpha_t, beta_t of Gaussian probability paths.
 *
 * Promise (Ex 9 of the notes): a schedule gives, at any t in [0, 1], alpha_t,
 * beta_t, their exact derivatives, and the product beta_t * beta_dot_t, which
 * stays finite where beta_dot_t alone does not (t = 1 for `lab` and `vp`,
 * where beta_dot = -inf): every caller uses the product, so nothing ever
 * multiplies infinity by zero. The course's convention: noise at t = 0
 * (alpha_0 = 0, beta_0 = 1), data at t = 1 (alpha_1 = 1, beta_1 = 0).
 * A schedule is one function; a user adds one by writing it. */
#ifndef FMD_SCHEDULE_H
#define FMD_SCHEDULE_H

typedef struct {
    double alpha, beta;           /* alpha_t, beta_t */
    double alpha_dot, beta_dot;   /* their t-derivatives; beta_dot may be -inf at t = 1 */
    double beta_beta_dot;         /* beta_t * beta_dot_t = (d/dt beta_t^2) / 2, finite on [0, 1] */
} fmd_sched_point;

typedef struct {
    char name[32];                /* "condot", "cosine", "lab", "poly:2.5", "vp" */
    void (*eval)(double t, double param, fmd_sched_point *out);
    double param;                 /* N of poly:N; unused by the others */
} fmd_schedule;

/* Fill *out from a name: condot (alpha = t, beta = 1 - t); cosine
 * (sin(pi t/2), cos(pi t/2)); lab (t, sqrt(1 - t)); poly:N (t^N, 1 - t^N,
 * N > 0); vp (the variance-preserving schedule of `003` in the course's time
 * direction: b(s) = 0.1 + 19.9 s, B(s) = int_0^s b, alpha_t = exp(-B(1-t)/2),
 * beta_t = sqrt(1 - alpha_t^2)); ou:T (the Ornstein-Uhlenbeck noising of
 * `002` on s in [0, T], s = T (1 - t): alpha = e^{-s}, beta = sqrt(1 -
 * e^{-2s}), 0 < T <= 50); ve (the variance-exploding SDE of `003`, s = 1 - t:
 * alpha = 1, beta^2 = sigma(s)^2 - sigma_min^2, sigma(s) = 0.01 * 5000^s).
 * ddpm:N (the discrete DDPM chain of `003` with N levels, 100 <= N <=
 * 100000, betas linear from 0.1/N to 20/N, level k at t = 1 - k/N, joined smoothly
 * between levels; src/paths/schedule.c). ou, ve and ddpm:N are chapter 6's; like
 * vp they do not start exactly at N(0, I).
 * FMD_EINVAL for an unknown name or a bad parameter. */
int fmd_schedule_by_name(const char *name, fmd_schedule *out);

/* The schedule at t (t outside [0, 1] gives FMD_EDOM). */
int fmd_schedule_at(const fmd_schedule *s, double t, fmd_sched_point *out);

/* lambda = log(alpha / beta), half the log signal-to-noise ratio: -inf
 * where alpha = 0, +inf where beta = 0. */
double fmd_schedule_lambda(const fmd_sched_point *s);

/* The time t in [lo, hi] at which lambda_t = log(alpha_t / beta_t), the log
 * signal-to-noise ratio over 2, equals lam: lambda increases with t on every
 * schedule above (alpha rises, beta falls), so bisection finds it to 1e-15
 * relative; a lam outside [lambda_lo, lambda_hi] gives the nearer end. */
int fmd_schedule_time_of_lambda(const fmd_schedule *s, double lam, double lo, double hi, double *t);

/* The names fmd_schedule_by_name knows, for help texts and loops
 * ("poly:2" stands for the poly:N family). NULL-terminated. */
extern const char *const fmd_schedule_names[];

#endif
