/* attention.h -- the U-Net's self-attention block at its lowest resolution
 * (issue 16; lecture 002: "convolutions + self-attention"), forward and
 * backward side by side.
 *
 * The pixels of one image are T = h w tokens of C channels (channels-last
 * maps are already token matrices). With y = GN(x) (n, T, C):
 *     [Q | K | V] = y W_qkv + b_qkv          W_qkv (C, 3C)
 *     A = softmax_rows(Q K^T / sqrt(C))      (T, T) per image
 *     out = x + (A V) W_o + b_o              W_o (C, C)
 * one head, as in Ho et al. (2020). Backward, per image, with O = A V:
 *     dV = A^T dO,  dA = dO V^T,  dS = A o (dA - rowsum(dA o A)),
 *     dQ = dS K / sqrt(C),  dK = dS^T Q / sqrt(C). */
#ifndef FMD_ATTENTION_H
#define FMD_ATTENTION_H

#include <stddef.h>

typedef struct {
    size_t c, groups;          /* channels, group-norm groups */
    size_t g, b, wqkv, bqkv;   /* offsets: GN gamma, beta (c); W_qkv (c, 3c), b_qkv (3c) */
    size_t wo, bo;             /* W_o (c, c), b_o (c) */
    size_t nparams;
} fmd_attention;

int fmd_attention_layout(size_t c, size_t groups, size_t *next, fmd_attention *at);
/* gamma 1, beta 0, the rest U(-1/sqrt(c), 1/sqrt(c)) from the uniforms u */
void fmd_attention_init(const fmd_attention *at, double *params, const double *u);

typedef struct {
    size_t n_max, T;
    double *xhat, *is, *y;     /* GN */
    double *qkv;               /* (n, T, 3c) */
    double *A;                 /* (n, T, T) attention weights */
    double *O;                 /* (n, T, c) A V */
    double *dO, *dqkv, *dA, *dy;   /* backward scratch */
} fmd_attention_work;

int fmd_attention_work_alloc(const fmd_attention *at, size_t n_max, size_t T, fmd_attention_work **out);
void fmd_attention_work_free(fmd_attention_work *w);

/* out (n, T, c) from x (n, T, c). */
int fmd_attention_forward(const fmd_attention *at, fmd_attention_work *w, size_t n, size_t T, const double *params,
                          const double *x, double *out);

/* After forward: grad += d loss / d params, dx = d loss / d x, for dout. */
int fmd_attention_backward(const fmd_attention *at, fmd_attention_work *w, size_t n, size_t T, const double *params,
                           const double *dout, double *grad, double *dx);

#endif
