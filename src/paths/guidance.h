/* guidance.h -- chapter 5: conditional generation and guidance, exactly, on a
 * labelled Gaussian mixture.
 *
 * Promise: for p_data = sum_k w_k N(mu_k, Sigma_k) whose component k carries
 * class y_k, the class-conditional p_data(. | y) is the mixture of the
 * components labelled y (weights renormalised; class prior pi_y = their
 * total weight), so under any Gaussian path its marginal p_t(x | y) is exact
 * (chapter 3) and so are
 *   the conditional field   u_t(x | y)   (Thm 10 applied to p_data(. | y)),
 *   the classifier          log p_t(y | x) = log pi_y + log p_t(x | y) - log p_t(x),
 *   its gradient            grad log p_t(y | x) = grad log p_t(x | y) - grad log p_t(x),
 *   classifier-free guidance     u~ = (1 - w) u_t(x) + w u_t(x | y),
 *   classifier guidance          u~ = u_t(x) + w b_t grad log p_t(y | x),
 *                                b_t = beta^2 alpha_dot / alpha - beta beta_dot (Prop 1).
 * The two guidances are the same field (Prop 1 turns the score difference
 * into the field difference); classifier guidance is written with b_t, which
 * divides by alpha_t, so it is FMD_EDOM where alpha_t = 0 -- the
 * classifier-free form is finite on all of [0, 1]. */
#ifndef FMD_GUIDANCE_H
#define FMD_GUIDANCE_H

#include <stddef.h>
#include "paths/gmm.h"
#include "paths/schedule.h"

/* p_data(. | y) as its own prepared mixture in *out (labels kept), and its
 * prior pi_y into *prior (may be NULL). FMD_EINVAL if no component has class y. */
int fmd_gmm_class(const fmd_gmm *g, int y, fmd_gmm **out, double *prior);

/* The classes present in g, ascending, into classes (at most g->K); *n gets their count. */
int fmd_gmm_classes(const fmd_gmm *g, int *classes, size_t *n);

/* Parameters of the guided fields below. */
typedef struct {
    const fmd_gmm *g;          /* p_data (labelled) */
    const fmd_gmm *gy;         /* p_data(. | y), from fmd_gmm_class */
    double log_prior;          /* log pi_y */
    const fmd_schedule *sch;
    double w;                  /* guidance scale; 0 = unconditional, 1 = conditional */
} fmd_guidance_params;

/* Fill *P for class y of g (allocates P->gy: free it with fmd_guidance_free). */
int fmd_guidance_init(fmd_guidance_params *P, const fmd_gmm *g, int y, const fmd_schedule *sch, double w);
void fmd_guidance_free(fmd_guidance_params *P);

/* Classifier-free guidance (1 - w) u_t(x) + w u_t(x | y): an fmd_field_fn. */
int fmd_guided_field(double t, size_t n, size_t d, const double *x, double *out, void *params);

/* Classifier guidance u_t(x) + w b_t grad log p_t(y | x): an fmd_field_fn;
 * FMD_EDOM where alpha_t = 0. */
int fmd_classifier_guided_field(double t, size_t n, size_t d, const double *x, double *out, void *params);

/* The exact classifier at time t: log p_t(y | x) into logpy (n) and its
 * gradient in x into grad (n, d); either may be NULL. */
int fmd_class_posterior(const fmd_guidance_params *P, double t, size_t n, const double *x,
                        double *logpy, double *grad);

#endif
