/* resblock.h -- the U-Net's residual block with the time (and class)
 * embedding added inside it (issue 16; lecture 002: "time is embedded into
 * each scale of the U-net"), forward and backward side by side.
 *
 * On channels-last maps x (n, hw, c_in), with the network's embedding
 * already passed through SiLU, s_e (n, E):
 *     h1  = conv3x3(SiLU(GN1(x))) + (s_e W_e + b_e)   (one bias per image and channel)
 *     out = conv3x3(SiLU(GN2(h1))) + skip(x),
 * skip(x) = x when c_in = c_out, else the 1 x 1 convolution x W_s + b_s.
 * This is the block of Ho et al. (2020) and of most diffusion U-Nets since,
 * without dropout. Group norms take fmd_groupnorm_groups(c, groups) groups.
 *
 * Parameters live in the network's vector at the offsets of
 * fmd_resblock_layout; gradients in a vector of the same layout. */
#ifndef FMD_RESBLOCK_H
#define FMD_RESBLOCK_H

#include <stddef.h>
#include "networks/winograd.h"

typedef struct {
    size_t c_in, c_out, emb, groups;   /* channels, embedding width, group-norm groups */
    size_t g1, b1, w1, c1;             /* offsets: GN1 gamma, beta (c_in); conv1 W (9 c_in, c_out), bias */
    size_t we, be;                     /* embedding projection W_e (emb, c_out), b_e (c_out) */
    size_t g2, b2, w2, c2;             /* GN2 gamma, beta (c_out); conv2 W (9 c_out, c_out), bias */
    size_t ws, bs;                     /* skip W_s (c_in, c_out), b_s (c_out); unused if c_in = c_out */
    size_t nparams;                    /* how many numbers the block adds */
    fmd_conv_method conv;              /* its two 3 x 3 convolutions: DIRECT (im2col, the default)
                                          or WINOGRAD (src/networks/winograd.h) */
} fmd_resblock;

/* Lay the block's parameters out from offset *next on (which it advances). */
int fmd_resblock_layout(size_t c_in, size_t c_out, size_t emb, size_t groups, size_t *next, fmd_resblock *rb);

/* Initialise the block's parameters in params: GN gamma 1, beta 0; convs
 * and projections U(-1/sqrt(fan_in), 1/sqrt(fan_in)) from the uniforms u
 * (one per parameter, in [0, 1)), like PyTorch's defaults. */
void fmd_resblock_init(const fmd_resblock *rb, double *params, const double *u);

/* The scratch a block needs: maps of n_max hw max(c_in, c_out) numbers. */
size_t fmd_resblock_scratch_map(const fmd_resblock *rb, size_t n_max, size_t hw);

/* The typed part: fmd_layer_scratch, fmd_resblock_work and the functions
 * on them, fmd_silu; in float64, and the same with _f32 in float32
 * (resblock_typed.h). */
#define FMD_TYPED_F32 0
#include "networks/resblock_typed.h"
#define FMD_TYPED_F32 1
#include "networks/resblock_typed.h"

#endif
