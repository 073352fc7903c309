/* unet.h -- the U-Net of lecture 002 ("Practical matters: neural
 * architecture") for square one-channel images, forward and backward over a
 * batch, in float64 or float32 (issue 16).
 *
 * Promise: out (n, d) = f_theta(x (n, d), t (n), y (n)), d = side^2, the
 * same contract as the MLP's (src/networks/mlp.h), so that the objectives of chapter
 * 4 can train it; backward gives d loss / d theta (and d loss / d x) for a
 * given d loss / d out, checked against finite differences
 * (verify/test_unet.c).
 *
 * Architecture (Ronneberger et al. 2015, as Ho et al. 2020 adapt it):
 *   time   t -> sin(w_j t), cos(w_j t), w_j = 1000^(j / (F - 1)), j < F
 *          (frequencies from 1 to 1000: t in [0, 1] needs both the slow
 *          and the fast ones), then Linear -> SiLU -> Linear to the
 *          embedding e (E numbers); with labels, e += row y of a table of
 *          C + 1 rows (row C = "no label", for classifier-free guidance);
 *          every residual block gets SiLU(e) (src/networks/resblock.h): the time is
 *          embedded at each scale;
 *   patch  (cfg.patch = p = 2; p = 1 skips it) the image as p x p patches:
 *          the p^2 pixels (p Y + dy, p X + dx) become the channels
 *          dy p + dx of pixel (Y, X) of a side/p map (a space-to-depth
 *          reshape, as a vision transformer's patches with no projection:
 *          the stem conv is the projection), so every level works on
 *          p^2 times fewer pixels;
 *   down   stem conv3x3 (p^2 -> c_0); at level l = 0 .. L-1 a residual block
 *          to c_l channels, kept as the skip h_l, then (except at the
 *          last level) a stride-2 conv3x3 halving the side;
 *   middle a residual block, self-attention (src/networks/attention.h, optional),
 *          a residual block;
 *   up     at level l = L-1 .. 0: concatenate h_l's channels, a residual
 *          block to c_l channels, then (l > 0) nearest upsampling and a
 *          conv3x3 (one layer, fmd_upconv_forward: the sub-pixel form);
 *   out    group norm, SiLU, conv3x3 (c_0 -> p^2), each channel put back
 *          at its pixel (depth-to-space, the patch step undone).
 * c_l = channels * mult[l]. The side must be divisible by p 2^(L-1).
 *
 * Read-out (cfg.output; Karras et al. 2022, "EDM", sec. 5 and table 1):
 * PLAIN returns the network's own output F. A preconditioned read-out
 * (NOISE, DATA or SCORE, the MLP's table in src/networks/mlp.h) scales the
 * input to unit variance and adds the part of the answer linear in x:
 *     out = c_skip(t) x + c_out(t) F(c_in(t) x, t),   c_in = 1 / sqrt(v),
 * v = alpha_t^2 s^2 + beta_t^2 the variance of x_t when z ~ N(0, s^2 I).
 * EDM's c_in = 1 / sqrt(sigma^2 + s^2) acts on x~ = x / alpha_t (sigma =
 * beta_t / alpha_t, ksampler.h): the same number. EDM feeds the network
 * c_noise = ln(sigma) / 4 where fmd feeds t; the time features above
 * resolve every t in [0, 1], so the input is kept as the course's t. Finite
 * at both ends: v > 0 unless alpha_t = beta_t = 0 (condot: v >= s^2 /
 * (1 + s^2)); at t = 1 the DATA read-out is x itself (c_skip = 1, c_out = 0).
 *
 * Types (cfg.dtype, src/base/dtype.h): a float32 network keeps its weights,
 * feature maps and gradients in float32 and its products are BLIS's sgemm;
 * every layer is the float64 one compiled for float (src/base/typed_begin.h).
 * Inputs and outputs of the functions below are float64 either way; the
 * float32 network is checked against its float64 twin (verify/test_unet.c),
 * gradients against finite differences in float64. */
#ifndef FMD_UNET_H
#define FMD_UNET_H

#include <stddef.h>
#include <gsl/gsl_rng.h>
#include "networks/attention.h"
#include "networks/mlp.h"
#include "base/dtype.h"
#include "networks/resblock.h"

#define FMD_UNET_MAX_LEVELS 4

typedef struct {
    size_t side;                        /* image side (28 for Fashion-MNIST) */
    size_t channels;                    /* base channels */
    size_t levels;                      /* resolutions, 1..FMD_UNET_MAX_LEVELS */
    size_t mult[FMD_UNET_MAX_LEVELS];   /* channel multiplier of each level */
    int attention;                      /* self-attention at the lowest resolution */
    size_t groups;                      /* group-norm groups */
    size_t n_fourier;                   /* F: time frequencies (2F features) */
    size_t emb;                         /* E: embedding width */
    size_t n_classes;                   /* C: 0 = no label input */
    fmd_dtype dtype;                    /* FMD_F64 (default) or FMD_F32 */
    fmd_mlp_output output;              /* the read-out; PLAIN (0) unless preconditioned */
    double sigma_data;                  /* s of a preconditioned read-out (> 0) */
    fmd_schedule schedule;              /* alpha_t, beta_t: a preconditioned read-out's; a loaded network's path */
    fmd_conv_method conv;               /* the residual blocks' 3 x 3 convolutions: DIRECT (0, im2col)
                                           or WINOGRAD (F(2 x 2, 3 x 3), src/networks/winograd.h);
                                           the same function, rounded differently */
    size_t patch;                       /* p: 0 or 1, none; 2, the image as 2 x 2 patches (above) */
} fmd_unet_config;

/* c_in, c_skip and c_out of cfg's read-out at time t (1, 0, 1 for PLAIN). */
void fmd_unet_preconditioning(const fmd_unet_config *cfg, double t, double *c_in, double *c_skip, double *c_out);

/* Sensible defaults for 28 x 28: 32 channels, levels 28, 14, 7 with
 * multipliers 1, 2, 2, attention on, 8 groups, F = 16, E = 128, direct
 * convolutions. */
void fmd_unet_default_config(size_t side, size_t n_classes, fmd_unet_config *cfg);

typedef struct {
    size_t w, b;   /* offsets of a conv3x3's W (9 c_in, c_out) and bias, or a linear map's */
} fmd_affine;

typedef struct {
    fmd_unet_config cfg;
    size_t ch[FMD_UNET_MAX_LEVELS];     /* c_l */
    size_t sides[FMD_UNET_MAX_LEVELS];  /* side at level l */
    size_t patch;                       /* p (1 or 2): the top level is side / p */
    fmd_affine emb1, emb2;              /* (2F, E), (E, E) */
    size_t class_table;                 /* (C + 1, E), if labelled */
    fmd_affine stem;                    /* conv 1 -> c_0 */
    fmd_resblock down[FMD_UNET_MAX_LEVELS];
    fmd_affine downsample[FMD_UNET_MAX_LEVELS];   /* stride-2 convs (levels 0 .. L-2) */
    fmd_resblock mid1, mid2;
    fmd_attention attn;
    fmd_resblock up[FMD_UNET_MAX_LEVELS];
    fmd_affine upconv[FMD_UNET_MAX_LEVELS];       /* after upsampling (levels 1 .. L-1) */
    size_t out_g, out_b;                /* output group norm (c_0) */
    fmd_affine out;                     /* conv c_0 -> 1 */
    size_t nparams;
    double *params;                     /* (nparams) of a float64 network; NULL for a float32 one */
    float *params32;                    /* (nparams) of a float32 network; NULL for a float64 one */
} fmd_unet;

/* "1,2,2": the levels' channel multipliers, one a level, into cfg->levels
 * and cfg->mult (the command's --mult, a model file's metadata);
 * FMD_EINVAL unless 1 to FMD_UNET_MAX_LEVELS whole numbers from 1 to 64. */
int fmd_unet_parse_mult(const char *text, fmd_unet_config *cfg);

int fmd_unet_alloc(const fmd_unet_config *cfg, fmd_unet **out);
/* The number of parameters cfg's network has, without allocating them (a
 * model reader compares it with the file's tensor first). */
int fmd_unet_param_count(const fmd_unet_config *cfg, size_t *nparams);
void fmd_unet_free(fmd_unet *net);
/* PyTorch-like initialisation: group norms 1 and 0, every weight and bias
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)), the class table N(0, 1) (drawn in
 * float64, then rounded for a float32 network: the same draws either way).
 * FMD_ENOMEM if its scratch cannot be had. */
int fmd_unet_init(fmd_unet *net, gsl_rng *r);

/* The parameters of the network's type (params or params32), as void *. */
void *fmd_unet_params(fmd_unet *net);

/* A copy of net computing in dtype (weights rounded to float32, or widened
 * exactly to float64). */
int fmd_unet_convert(const fmd_unet *net, fmd_dtype dtype, fmd_unet **out);

typedef struct fmd_unet_work fmd_unet_work;
int fmd_unet_work_alloc(const fmd_unet *net, size_t n_max, fmd_unet_work **out);
void fmd_unet_work_free(fmd_unet_work *w);

/* out (n, d) = f(x (n, d), t (n), labels (n) or NULL; a label lies in
 * 0..C, C = no label). */
int fmd_unet_forward(const fmd_unet *net, fmd_unet_work *w, size_t n, const double *x, const double *t,
                     const int *labels, double *out);

/* After forward on the same batch: grad (nparams numbers of the network's
 * type) += d loss / d theta, and, if dx is not NULL, dx (n, d) = d loss /
 * d x, for dout (n, d). */
int fmd_unet_backward(const fmd_unet *net, fmd_unet_work *w, size_t n, const double *dout, void *grad,
                      double *dx);

/* ---- the network as a vector field (src/networks/unet_field.c) --------------------- */

/* Scratch kept between calls: each thread that evaluates the field gets its
 * own workspace (FMD_UNET_FIELD_ROWS rows; a block of points goes through in
 * chunks of that many) on its first call, until fmd_unet_eval_free. */
#define FMD_UNET_FIELD_ROWS 16
typedef struct fmd_unet_eval fmd_unet_eval;
int fmd_unet_eval_alloc(const fmd_unet *net, fmd_unet_eval **out);
void fmd_unet_eval_free(fmd_unet_eval *ev);

/* The network's output as an fmd_field_fn: unconditional (y < 0, or a
 * network without labels), or with classifier-free guidance (chapter 5):
 * (1 - w) f(x, t, no label) + w f(x, t, y). params: an fmd_unet_guidance. */
typedef struct {
    fmd_unet_eval *eval;
    int y;       /* the class asked for, or -1 */
    double w;    /* guidance scale (1: the conditional output) */
} fmd_unet_guidance;
int fmd_unet_guided_field(double t, size_t n, size_t d, const double *x, double *out, void *params);

#endif
