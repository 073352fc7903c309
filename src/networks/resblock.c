/* resblock.c -- the U-Net's residual block with its embedding (resblock.h). */
#include "networks/resblock.h"
#include "networks/conv.h"
#include "networks/groupnorm.h"
#include "base/matmul.h"
#include "base/status.h"
#include "base/vecmath.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int fmd_resblock_layout(size_t c_in, size_t c_out, size_t emb, size_t groups, size_t *next, fmd_resblock *rb)
{
    if (!next || !rb || c_in == 0 || c_out == 0 || emb == 0 || groups == 0)
        return FMD_EINVAL;
    size_t o = *next;
    rb->c_in = c_in, rb->c_out = c_out, rb->emb = emb, rb->groups = groups, rb->conv = FMD_CONV_DIRECT;
    rb->g1 = o, o += c_in;
    rb->b1 = o, o += c_in;
    rb->w1 = o, o += 9 * c_in * c_out;
    rb->c1 = o, o += c_out;
    rb->we = o, o += emb * c_out;
    rb->be = o, o += c_out;
    rb->g2 = o, o += c_out;
    rb->b2 = o, o += c_out;
    rb->w2 = o, o += 9 * c_out * c_out;
    rb->c2 = o, o += c_out;
    rb->ws = rb->bs = 0;
    if (c_in != c_out) {
        rb->ws = o, o += c_in * c_out;
        rb->bs = o, o += c_out;
    }
    rb->nparams = o - *next;
    *next = o;
    return FMD_OK;
}

/* U(-1/sqrt(fan_in), 1/sqrt(fan_in)) over [at, at + m) */
static void uniform_fill(double *p, const double *u, size_t at, size_t m, size_t fan_in)
{
    const double a = 1.0 / sqrt((double)fan_in);
    for (size_t i = at; i < at + m; i++)
        p[i] = a * (2.0 * u[i] - 1.0);
}

void fmd_resblock_init(const fmd_resblock *rb, double *params, const double *u)
{
    const size_t ci = rb->c_in, co = rb->c_out;
    for (size_t c = 0; c < ci; c++)
        params[rb->g1 + c] = 1.0, params[rb->b1 + c] = 0.0;
    for (size_t c = 0; c < co; c++)
        params[rb->g2 + c] = 1.0, params[rb->b2 + c] = 0.0;
    uniform_fill(params, u, rb->w1, 9 * ci * co + co, 9 * ci);   /* W1 and its bias */
    uniform_fill(params, u, rb->we, rb->emb * co + co, rb->emb);
    uniform_fill(params, u, rb->w2, 9 * co * co + co, 9 * co);
    if (ci != co)
        uniform_fill(params, u, rb->ws, ci * co + co, ci);
}

size_t fmd_resblock_scratch_map(const fmd_resblock *rb, size_t n_max, size_t hw)
{
    return n_max * hw * (rb->c_in > rb->c_out ? rb->c_in : rb->c_out);
}

/* SiLU by SLEEF's vector exp (src/base/vecmath.h), in chunks of 256 on the
 * stack: the libm exp of every activation was 4% of a U-Net step. */
enum { SILU_CHUNK = 256 };

#define FMD_TYPED_F32 0
#include "networks/resblock_typed.c"
#define FMD_TYPED_F32 1
#include "networks/resblock_typed.c"
