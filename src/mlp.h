/* mlp.h -- the network of chapters 4-5: a multilayer perceptron over (x, t)
 * and optionally a class label, forward and backward over a batch.
 *
 * Promise: out = f_theta(x, t, y) with every dense product done by BLIS
 * (src/matmul.h); backward accumulates d loss / d theta for a given
 * d loss / d out, written beside forward so each line can be checked
 * against its twin (and against finite differences, verify/test_mlp.c).
 * Inputs: x (d numbers); time raw (1 number) or as Fourier features
 * sin(pi j t), cos(pi j t), j = 1..F; a label one-hot over C + 1 slots, slot
 * C meaning "no label" (classifier-free guidance). Layers: Z = H W + b,
 * H' = act(Z); the last layer is affine, with d outputs or n_out. W_l is
 * (in, out) row-major. */
#ifndef FMD_MLP_H
#define FMD_MLP_H

#include <stddef.h>
#include <gsl/gsl_rng.h>

#define FMD_MLP_MAX_HIDDEN 16

typedef enum { FMD_SILU, FMD_RELU, FMD_TANH } fmd_activation;

typedef struct {
    size_t d;                            /* data dimension: x and the output */
    size_t n_fourier;                    /* F: 0 = raw t as one input */
    size_t n_classes;                    /* C: 0 = no label input */
    size_t n_out;                        /* outputs: 0 = d (a field, score or noise);
                                            a classifier has one logit per class */
    size_t depth;                        /* hidden layers, 1..FMD_MLP_MAX_HIDDEN */
    size_t width[FMD_MLP_MAX_HIDDEN];    /* their widths */
    fmd_activation act;
} fmd_mlp_config;

typedef struct {
    fmd_mlp_config cfg;
    size_t nlayers;                          /* depth + 1 affine maps */
    size_t dims[FMD_MLP_MAX_HIDDEN + 2];     /* dims[0] inputs, dims[l + 1] outputs of map l */
    size_t w_off[FMD_MLP_MAX_HIDDEN + 1];    /* offset of W_l (dims[l], dims[l+1]) in params */
    size_t b_off[FMD_MLP_MAX_HIDDEN + 1];    /* offset of b_l (dims[l+1]) in params */
    size_t nparams;
    double *params;                          /* (nparams) all weights and biases */
} fmd_mlp;

/* Check the configuration and allocate (parameters zero). */
int fmd_mlp_alloc(const fmd_mlp_config *cfg, fmd_mlp **out);
void fmd_mlp_free(fmd_mlp *net);
/* PyTorch's default: W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
void fmd_mlp_init(fmd_mlp *net, gsl_rng *r);

/* Per-batch activations, for up to n_max rows. */
typedef struct {
    size_t n_max;
    double *H[FMD_MLP_MAX_HIDDEN + 2];   /* H[0] inputs (n, dims[0]); H[l] (l >= 1) act(Z[l-1]) */
    double *Z[FMD_MLP_MAX_HIDDEN + 1];   /* pre-activations of map l (n, dims[l+1]) */
    double *dA, *dB;                     /* (n, max width) gradient buffers */
} fmd_mlp_workspace;

int fmd_mlp_workspace_alloc(const fmd_mlp *net, size_t n_max, fmd_mlp_workspace **out);
void fmd_mlp_workspace_free(fmd_mlp_workspace *ws);

/* out (n, d) = f(x (n, d), t (n), labels (n) or NULL). A label must lie in
 * 0..C (C = no label); with n_classes = 0, labels is ignored. */
int fmd_mlp_forward(const fmd_mlp *net, fmd_mlp_workspace *ws, size_t n, const double *x,
                    const double *t, const int *labels, double *out);

/* After fmd_mlp_forward on the same batch: grad (nparams) += d loss / d theta
 * for dout (n, d) = d loss / d out. */
int fmd_mlp_backward(const fmd_mlp *net, fmd_mlp_workspace *ws, size_t n, const double *dout,
                     double *grad);

/* After fmd_mlp_forward on the same batch: dx (n, d) = d loss / d x, the
 * gradient in the data inputs (a classifier's grad_x log p(y | x, t), for
 * classifier guidance), for dout (n, outputs). The parameters' gradient is
 * not touched. */
int fmd_mlp_input_grad(const fmd_mlp *net, fmd_mlp_workspace *ws, size_t n, const double *dout,
                       double *dx);

/* The network as a vector field for the solvers (fmd_field_fn): params is a
 * const fmd_mlp * (unconditional); each call uses its own workspace, so
 * blocks may be evaluated on several threads. */
int fmd_mlp_field(double t, size_t n, size_t d, const double *x, double *out, void *params);

/* Classifier-free guidance with a network trained with labels (chapter 5):
 * (1 - w) f(x, t, no label) + w f(x, t, y), an fmd_field_fn with params a
 * const fmd_mlp_guidance *. y must lie in 0..C-1. */
typedef struct {
    const fmd_mlp *net;
    int y;          /* the class asked for */
    double w;       /* guidance scale: 0 unconditional, 1 conditional, > 1 guided */
} fmd_mlp_guidance;
int fmd_mlp_guided_field(double t, size_t n, size_t d, const double *x, double *out, void *params);

#endif
