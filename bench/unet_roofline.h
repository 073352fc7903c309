/* unet_roofline.h -- what the U-Net benches (bench/unet_bench.c,
 * bench/unet_narrow_bench.c) share: the data their steps train on, and the
 * network's matrix products counted in multiply-adds per image: each
 * convolution's P 9 c_in c_out, the skips, attention and the embedding; an
 * upsampling followed by a convolution in its sub-pixel form (4 taps an
 * output, src/networks/conv.h). A step is the forward once and the backward
 * twice; group norm, SiLU and copies are left out, so a roofline built on
 * this count is optimistic and a share of it a lower bound. */
#ifndef FMD_BENCH_UNET_ROOFLINE_H
#define FMD_BENCH_UNET_ROOFLINE_H

#include <gsl/gsl_rng.h>
#include "base/status.h"
#include "networks/unet.h"

/* random images in [-1, 1] with random labels: a step's cost does not depend on the data */
static inline int unet_noise_images(void *params, gsl_rng *r, size_t n, double *z, int *labels)
{
    (void)params;
    for (size_t i = 0; i < n * 784; i++)
        z[i] = 2.0 * gsl_rng_uniform(r) - 1.0;
    for (size_t i = 0; labels && i < n; i++)
        labels[i] = (int)gsl_rng_uniform_int(r, 10);
    return FMD_OK;
}

/* multiply-adds of one image's forward products */
static inline double conv_macs(size_t side, size_t ci, size_t co)
{
    return (double)(side * side) * 9.0 * (double)ci * (double)co;
}

/* a residual block's; its two stride-1 convolutions at `share` of their direct multiply-adds
 * (1, or 16/36 for Winograd's F(2 x 2, 3 x 3), src/networks/winograd.h) */
static inline double block_macs(const fmd_resblock *rb, size_t side, double share)
{
    double m = share * (conv_macs(side, rb->c_in, rb->c_out) + conv_macs(side, rb->c_out, rb->c_out)) +
               (double)(rb->emb * rb->c_out);
    if (rb->c_in != rb->c_out)
        m += (double)(side * side * rb->c_in * rb->c_out);
    return m;
}

static inline double forward_macs(const fmd_unet *net, double share)
{
    const fmd_unet_config *c = &net->cfg;
    const size_t L = c->levels, E = c->emb;
    const size_t pp = net->patch * net->patch;   /* the stem's input and the head's output channels */
    double m = (double)(2 * c->n_fourier * E + E * E) + conv_macs(net->sides[0], pp, net->ch[0]);
    for (size_t l = 0; l < L; l++) {
        m += block_macs(&net->down[l], net->sides[l], share) + block_macs(&net->up[l], net->sides[l], share);
        if (l + 1 < L)
            m += conv_macs(net->sides[l + 1], net->ch[l], net->ch[l]);   /* stride 2: output pixels */
        if (l > 0)   /* upsampling then a 3 x 3 conv: 4 taps an output in the sub-pixel form (src/networks/conv.h) */
            m += conv_macs(net->sides[l - 1], net->ch[l], net->ch[l]) * 4.0 / 9.0;
    }
    const double T = (double)(net->sides[L - 1] * net->sides[L - 1]), cl = (double)net->ch[L - 1];
    m += block_macs(&net->mid1, net->sides[L - 1], share) + block_macs(&net->mid2, net->sides[L - 1], share);
    if (c->attention)
        m += T * cl * 3.0 * cl + 2.0 * T * T * cl + T * cl * cl;
    return m + conv_macs(net->sides[0], net->ch[0], pp);
}

#endif
