/* classifier.h -- chapter 5: a time-conditioned classifier p_theta(y | x_t, t)
 * and classifier guidance with it.
 *
 * Promise: the network of chapter 4 with one output (a logit) per class,
 * p_theta(y | x, t) = softmax(f_theta(x, t))_y, trained by cross-entropy on
 * noisy draws x_t = alpha_t z + beta_t eps of labelled data (the classifier
 * guidance needs it at every t, not only on clean data); its gradient in x
 * comes from backpropagation (fmd_mlp_input_grad). Classifier guidance then
 * turns any unconditional field u_t into
 *     u_t(x) + w b_t grad_x log p_theta(y | x, t),  b_t = beta^2 alpha_dot / alpha - beta beta_dot,
 * the course's guided field (Prop 1 turns a score into a field: b_t is
 * the factor in front of the score), FMD_EDOM where alpha_t = 0. A clean-data
 * classifier is the special case t = 1 (t_min = t_max = 1). */
#ifndef FMD_CLASSIFIER_H
#define FMD_CLASSIFIER_H

#include <stddef.h>
#include <stdint.h>
#include "networks/adam.h"
#include "flows/field.h"
#include "networks/mlp.h"
#include "paths/schedule.h"
#include "paths/toy.h"

/* Mean cross-entropy of n rows of C logits against labels y (0..C-1) into
 * *loss, and, if dlogits is non-NULL, its gradient (softmax - onehot) / n. */
int fmd_softmax_xent(size_t n, size_t C, const double *logits, const int *y, double *loss, double *dlogits);

typedef struct {
    fmd_mlp *net;              /* n_out = classes, n_classes = 0 (not owned) */
    fmd_sampler_fn sampler;    /* labelled data */
    void *sampler_params;
    fmd_schedule sch;
    size_t batch;
    double t_min, t_max;       /* t ~ Unif[t_min, t_max]; 1, 1 for clean data */
    uint64_t seed;             /* step k draws from stream (seed, k) */
    unsigned long step;
    fmd_mlp_workspace *ws;
    fmd_adam *opt;
    double *grad, *logits;
} fmd_classifier_trainer;

int fmd_classifier_trainer_alloc(fmd_mlp *net, fmd_sampler_fn sampler, void *params, const fmd_schedule *sch,
                                 size_t batch, double lr, double t_min, double t_max, uint64_t seed,
                                 fmd_classifier_trainer **out);
void fmd_classifier_trainer_free(fmd_classifier_trainer *tr);
int fmd_classifier_train_step(fmd_classifier_trainer *tr, double *loss);

/* log p_theta(y_i | x_i, t) into logp (n) and its x-gradient into grad (n, d);
 * either may be NULL. y holds n labels. */
int fmd_classifier_log_prob(const fmd_mlp *net, double t, size_t n, const double *x, const int *y,
                            double *logp, double *grad);

/* The classifier's features: the last hidden layer's activations at time
 * t, (n, fmd_classifier_feature_width) -- the space in which the Fréchet
 * distance of image samples is measured (src/networks/frechet.h, issue 16), as FID
 * uses Inception's last pooling layer. Any network of two or more layers
 * has them (a generative one is read unlabelled); chapter 5's clean-image
 * classifier is the one fmd's distances use. */
size_t fmd_classifier_feature_width(const fmd_mlp *net);
int fmd_classifier_features(const fmd_mlp *net, double t, size_t n, const double *x, double *features);

/* The most probable class of each of n points at time t into pred (n). */
int fmd_classifier_predict(const fmd_mlp *net, double t, size_t n, const double *x, int *pred);

/* Classifier guidance: an fmd_field_fn with params fmd_classifier_guidance. */
typedef struct {
    const fmd_field *u;        /* the unconditional field */
    const fmd_mlp *clf;        /* the time-conditioned classifier */
    fmd_schedule sch;
    int y;                     /* the class asked for */
    double w;                  /* guidance scale */
} fmd_classifier_guidance;
int fmd_classifier_guided_net_field(double t, size_t n, size_t d, const double *x, double *out, void *params);

#endif
