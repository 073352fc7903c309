/* mlp.h -- the network of chapters 4-5: a multilayer perceptron over (x, t)
 * and optionally a class label, forward and backward over a batch.
 *
 * Promise: out = f_theta(x, t, y) with every dense product done by BLIS
 * (src/base/matmul.h); backward gives d loss / d theta for a given d loss / d out,
 * written beside forward so each line can be checked against its twin (and
 * against finite differences, verify/test_mlp.c).
 * Inputs: x (d numbers); time raw (1 number) or as Fourier features
 * sin(pi j t), cos(pi j t), j = 1..F; a label one-hot over C + 1 slots, slot
 * C meaning "no label" (classifier-free guidance). Layers: Z = H W + b,
 * H' = act(Z); the last layer is affine, with d outputs or n_out. W_l is
 * (in, out) row-major.
 *
 * A network computes in float64 (the default and the reference) or float32
 * (cfg.dtype, src/base/dtype.h): then its weights, activations and gradients are
 * floats and its products BLIS's sgemm. Inputs and outputs of every function
 * below are float64 either way; the float32 network is checked against its
 * float64 twin (verify/test_mlp.c). Gradient checks are float64 only. */
#ifndef FMD_MLP_H
#define FMD_MLP_H

#include <stddef.h>
#include <gsl/gsl_rng.h>
#include "base/dtype.h"
#include "paths/schedule.h"

#define FMD_MLP_MAX_HIDDEN 16

typedef enum { FMD_SILU, FMD_RELU, FMD_TANH } fmd_activation;

/* The read-out of a generative network. PLAIN: out = F, the last affine
 * map's output. The preconditioned read-outs (Karras et al. 2022, "EDM",
 * sec. 5; chapter 4) make the network's own output F a quantity of unit
 * size at every t and add the part of the answer that is linear in x:
 *     out = c_skip(t) x + c_out(t) F(x, t)
 * with, for a = alpha_t, b = beta_t, s = sigma_data (the data's RMS per
 * coordinate) and v = a^2 s^2 + b^2 (the variance of x_t if z ~ N(0, s^2 I)):
 *     NOISE (eps)   c_skip = b / v        c_out = a s / sqrt(v)
 *     DATA  (z)     c_skip = a s^2 / v    c_out = b s / sqrt(v)
 *     SCORE         c_skip = -1 / v       c_out = -a s / (b sqrt(v))
 * c_skip x is the best linear guess of the target from x (exact if p_data =
 * N(0, s^2 I)); c_out is the spread of what is left. Then each conversion
 * to the field u_t (Prop 1) multiplies F's error by
 * |b alpha_dot - a beta_dot| s / sqrt(v), bounded on [0, 1], where the plain
 * noise (score) network's error is multiplied by (b alpha_dot - a beta_dot)/a:
 * 1/t for condot. */
typedef enum { FMD_OUT_PLAIN = 0, FMD_OUT_NOISE, FMD_OUT_DATA, FMD_OUT_SCORE } fmd_mlp_output;

typedef struct {
    size_t d;                            /* data dimension: x and the output */
    size_t n_fourier;                    /* F: 0 = raw t as one input */
    size_t n_classes;                    /* C: 0 = no label input */
    size_t n_out;                        /* outputs: 0 = d (a field, score or noise);
                                            a classifier has one logit per class */
    size_t depth;                        /* hidden layers, 1..FMD_MLP_MAX_HIDDEN */
    size_t width[FMD_MLP_MAX_HIDDEN];    /* their widths */
    fmd_activation act;
    fmd_dtype dtype;                     /* FMD_F64 (default) or FMD_F32 */
    fmd_mlp_output output;               /* the read-out; PLAIN (0) unless preconditioned */
    double sigma_data;                   /* s of a preconditioned read-out (> 0) */
    fmd_schedule schedule;               /* alpha_t, beta_t of a preconditioned read-out */
} fmd_mlp_config;

/* c_skip and c_out of a read-out at the path point (a, b) (table above);
 * PLAIN gives 0 and 1. */
void fmd_mlp_readout(fmd_mlp_output kind, double sigma_data, double a, double b, double *c_skip, double *c_out);

typedef struct {
    fmd_mlp_config cfg;
    size_t nlayers;                          /* depth + 1 affine maps */
    size_t dims[FMD_MLP_MAX_HIDDEN + 2];     /* dims[0] inputs, dims[l + 1] outputs of map l */
    size_t w_off[FMD_MLP_MAX_HIDDEN + 1];    /* offset of W_l (dims[l], dims[l+1]) in params */
    size_t b_off[FMD_MLP_MAX_HIDDEN + 1];    /* offset of b_l (dims[l+1]) in params */
    size_t nparams;
    double *params;                          /* (nparams) weights and biases of a float64
                                                network; NULL for a float32 one */
    float *params32;                         /* (nparams) the same for a float32 network */
} fmd_mlp;

/* Check the configuration and allocate (parameters zero). */
int fmd_mlp_alloc(const fmd_mlp_config *cfg, fmd_mlp **out);
/* cfg's layout (dims, offsets, nparams) into net, with no parameters
 * allocated (params and params32 NULL): what a model reader checks a
 * file's tensors against before it allocates. */
int fmd_mlp_layout(const fmd_mlp_config *cfg, fmd_mlp *net);
void fmd_mlp_free(fmd_mlp *net);
/* PyTorch's default: W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (drawn in
 * float64, then rounded for a float32 network: same draws either way). */
void fmd_mlp_init(fmd_mlp *net, gsl_rng *r);

/* A copy of net computing in dtype (weights rounded to float32, or widened
 * exactly to float64). */
int fmd_mlp_convert(const fmd_mlp *net, fmd_dtype dtype, fmd_mlp **out);

/* Parameter i as a float64, whatever the network's type. */
double fmd_mlp_param(const fmd_mlp *net, size_t i);

/* Per-batch activations, for up to n_max rows, in the network's type. Rows
 * are independent: disjoint row ranges may be used by different threads. */
typedef struct {
    size_t n_max;
    fmd_dtype dtype;
    void *H[FMD_MLP_MAX_HIDDEN + 2];   /* H[0] inputs (n, dims[0]); H[l] (l >= 1) act(Z[l-1]) */
    void *Z[FMD_MLP_MAX_HIDDEN + 1];   /* pre-activations of map l (n, dims[l+1]) */
    void *S[FMD_MLP_MAX_HIDDEN + 1];   /* SiLU: sigmoid(Z[l]) of the hidden maps, kept for backward */
    void *G[FMD_MLP_MAX_HIDDEN + 1];   /* backward: d loss / d Z[l] (n, dims[l+1]) */
    void *dH;                          /* (n, widest) backward scratch */
    double *readout;                   /* (n, 2) c_skip, c_out of each row (preconditioned
                                          read-out only; NULL otherwise) */
} fmd_mlp_workspace;

int fmd_mlp_workspace_alloc(const fmd_mlp *net, size_t n_max, fmd_mlp_workspace **out);
void fmd_mlp_workspace_free(fmd_mlp_workspace *ws);

/* out (n, d) = f(x (n, d), t (n), labels (n) or NULL). A label must lie in
 * 0..C (C = no label); with n_classes = 0, labels is ignored. */
int fmd_mlp_forward(const fmd_mlp *net, fmd_mlp_workspace *ws, size_t n, const double *x,
                    const double *t, const int *labels, double *out);

/* The same for copies x n rows whose points repeat: row r is x[r mod n]
 * with its own time t[r] and label labels[r]. Classifier-free guidance
 * evaluates one point under two labels: one pass of 2n rows, faster than two
 * of n (src/networks/mlp_field.c). */
int fmd_mlp_forward_repeat(const fmd_mlp *net, fmd_mlp_workspace *ws, size_t n, size_t copies, const double *x,
                           const double *t, const int *labels, double *out);

/* After fmd_mlp_forward on the same batch: grad (nparams numbers of the
 * network's type) += d loss / d theta for dout (n, outputs) = d loss / d out. */
int fmd_mlp_backward(const fmd_mlp *net, fmd_mlp_workspace *ws, size_t n, const double *dout,
                     void *grad);

/* After fmd_mlp_forward on the same batch: dx (n, d) = d loss / d x, the
 * gradient in the data inputs (a classifier's grad_x log p(y | x, t), for
 * classifier guidance), for dout (n, outputs). The parameters' gradient is
 * not touched. */
int fmd_mlp_input_grad(const fmd_mlp *net, fmd_mlp_workspace *ws, size_t n, const double *dout,
                       double *dx);

/* ---- the same passes on rows [row0, row0 + n) of a workspace -------------
 * For data-parallel training (src/networks/train.c): each thread runs a slice of the
 * batch through forward and backprop_rows, then the gradient of each weight
 * block is one product over the whole batch (fmd_mlp_grad_block). x, t,
 * labels, out, dout and dx point at the slice's own rows. */
int fmd_mlp_forward_rows(const fmd_mlp *net, fmd_mlp_workspace *ws, size_t row0, size_t n, const double *x,
                         const double *t, const int *labels, double *out);

/* d loss / d Z of every map into ws->G for the slice (dx may be NULL). */
int fmd_mlp_backprop_rows(const fmd_mlp *net, fmd_mlp_workspace *ws, size_t row0, size_t n, const double *dout,
                          double *dx);

/* After backprop_rows over rows [0, n): the gradient of rows i0..i1-1 of W_l
 * (and of b_l if with_bias), written into grad (nparams numbers of the
 * network's type) -- added to what is there if accumulate, else replacing it:
 *     dW_l[i0:i1, :] = H_l[:, i0:i1]^T G_l,   db_l = sum over rows of G_l.
 * Blocks touch disjoint parameters, so they may run on different threads. */
int fmd_mlp_grad_block(const fmd_mlp *net, const fmd_mlp_workspace *ws, size_t n, size_t l, size_t i0, size_t i1,
                       int with_bias, int accumulate, void *grad);

/* ---- the network as a vector field (src/networks/mlp_field.c) ------------------------ */

/* The network as a vector field for the solvers (fmd_field_fn): params is a
 * const fmd_mlp * (unconditional); each call allocates its own scratch, so
 * blocks may be evaluated on several threads. A network with 2d outputs
 * (objective cfm+dsm: the field and the score, the notes' section 4.2)
 * gives its first d, the field. */
int fmd_mlp_field(double t, size_t n, size_t d, const double *x, double *out, void *params);

/* One head of such a network as a field: head 0 the field u_theta, head 1
 * the score s_theta (params: const fmd_mlp_head *; scratch per call). */
typedef struct {
    const fmd_mlp *net;
    size_t head;
} fmd_mlp_head;
int fmd_mlp_head_field(double t, size_t n, size_t d, const double *x, double *out, void *params);

/* The same with scratch kept between calls: each thread that evaluates the
 * field gets its own workspace on its first call, reused (and grown for a
 * larger block) until fmd_mlp_eval_free. For the samplers' inner loops:
 * allocating per call cost a quarter of Fashion-MNIST sampling time, most
 * of it the kernel handing out fresh pages. params is an fmd_mlp_eval *. */
typedef struct fmd_mlp_eval fmd_mlp_eval;
int fmd_mlp_eval_alloc(const fmd_mlp *net, fmd_mlp_eval **out);
void fmd_mlp_eval_free(fmd_mlp_eval *ev);
int fmd_mlp_eval_field(double t, size_t n, size_t d, const double *x, double *out, void *params);

/* Classifier-free guidance with a network trained with labels (chapter 5):
 * (1 - w) f(x, t, no label) + w f(x, t, y), an fmd_field_fn with params a
 * const fmd_mlp_guidance *. y must lie in 0..C-1. With eval set (made for
 * net) the scratch comes from it, as above. */
typedef struct {
    const fmd_mlp *net;
    int y;              /* the class asked for */
    double w;           /* guidance scale: 0 unconditional, 1 conditional, > 1 guided */
    fmd_mlp_eval *eval; /* optional: scratch kept between calls */
} fmd_mlp_guidance;
int fmd_mlp_guided_field(double t, size_t n, size_t d, const double *x, double *out, void *params);

#endif
