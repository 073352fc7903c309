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

/* fmd_attention_work and the functions on it in float64, and the same with
 * _f32 in float32 (attention_typed.h). */
#define FMD_TYPED_F32 0
#include "networks/attention_typed.h"
#define FMD_TYPED_F32 1
#include "networks/attention_typed.h"

#endif
