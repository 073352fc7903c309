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
 * without dropout. Group norms use min(groups, c) groups (c divisible).
 *
 * Parameters live in the network's vector at the offsets of
 * fmd_resblock_layout; gradients in a vector of the same layout. */
#ifndef FMD_RESBLOCK_H
#define FMD_RESBLOCK_H

#include <stddef.h>

typedef struct {
    size_t c_in, c_out, emb, groups;   /* channels, embedding width, group-norm groups */
    size_t g1, b1, w1, c1;             /* offsets: GN1 gamma, beta (c_in); conv1 W (9 c_in, c_out), bias */
    size_t we, be;                     /* embedding projection W_e (emb, c_out), b_e (c_out) */
    size_t g2, b2, w2, c2;             /* GN2 gamma, beta (c_out); conv2 W (9 c_out, c_out), bias */
    size_t ws, bs;                     /* skip W_s (c_in, c_out), b_s (c_out); unused if c_in = c_out */
    size_t nparams;                    /* how many numbers the block adds */
} fmd_resblock;

/* Lay the block's parameters out from offset *next on (which it advances). */
int fmd_resblock_layout(size_t c_in, size_t c_out, size_t emb, size_t groups, size_t *next, fmd_resblock *rb);

/* Initialise the block's parameters in params: GN gamma 1, beta 0; convs
 * and projections U(-1/sqrt(fan_in), 1/sqrt(fan_in)) from the uniforms u
 * (one per parameter, in [0, 1)), like PyTorch's defaults. */
void fmd_resblock_init(const fmd_resblock *rb, double *params, const double *u);

/* Scratch that a network's blocks share, one after another: nothing in it
 * outlives a block's forward or backward. A convolution's patches are 9x its
 * input, so they are not kept for backward but made again from the input
 * (a copy, cheap beside the products): a U-Net's memory is then its feature
 * maps, not nine times them. Sizes: cols and dcols hold the largest
 * (P, 9 c) of the blocks that share it, a, da and dh the largest (P, c). */
typedef struct {
    double *cols, *dcols, *a, *da, *dh;
} fmd_layer_scratch;

/* Allocate scratch for maps of at most `map` numbers (patches 9 map). */
int fmd_layer_scratch_alloc(size_t map, fmd_layer_scratch *sc);
void fmd_layer_scratch_free(fmd_layer_scratch *sc);

/* What forward keeps for backward, for up to n_max images of hw pixels. */
typedef struct {
    size_t n_max, hw;
    double *xhat1, *is1, *y1;   /* GN1: normalized input, inverse std (n, groups), output */
    double *h1;                 /* (n, hw, c_out) conv1's output plus the embedding's bias */
    double *xhat2, *is2, *y2;   /* GN2 likewise */
    double *proj;               /* (n, c_out) the embedding's per-channel bias */
    fmd_layer_scratch *sc;      /* shared (not owned) */
} fmd_resblock_work;

/* The scratch a block needs: maps of n_max hw max(c_in, c_out) numbers. */
size_t fmd_resblock_scratch_map(const fmd_resblock *rb, size_t n_max, size_t hw);

int fmd_resblock_work_alloc(const fmd_resblock *rb, size_t n_max, size_t hw, fmd_layer_scratch *sc,
                            fmd_resblock_work **out);
void fmd_resblock_work_free(fmd_resblock_work *w);

/* out (n, h, w, c_out) from x (n, h, w, c_in) and s_e (n, emb). */
int fmd_resblock_forward(const fmd_resblock *rb, fmd_resblock_work *w, size_t n, size_t h, size_t wd,
                         const double *params, const double *x, const double *s_e, double *out);

/* After forward on the same inputs: grad += d loss / d params; dx (n, h,
 * w, c_in) = d loss / d x; ds_e (n, emb) += d loss / d s_e; for dout. */
int fmd_resblock_backward(const fmd_resblock *rb, fmd_resblock_work *w, size_t n, size_t h, size_t wd,
                          const double *params, const double *x, const double *s_e, const double *dout,
                          double *grad, double *dx, double *ds_e);

/* SiLU over m numbers, and its backward dx = dy s (1 + z (1 - s)), s = sigmoid(z). */
void fmd_silu(size_t m, const double *z, double *y);
void fmd_silu_backward(size_t m, const double *z, const double *dy, double *dz);

#endif
