/* unet.c -- the U-Net: layout, forward and backward (unet.h). Every map is
 * channels-last (n, side, side, channels); the blocks are src/conv.h,
 * src/groupnorm.h, src/resblock.h and src/attention.h. Backward retraces
 * forward in reverse, op by op, so each can be read against its twin. */
#include "unet.h"
#include "conv.h"
#include "groupnorm.h"
#include "matmul.h"
#include "rng.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

void fmd_unet_default_config(size_t side, size_t n_classes, fmd_unet_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->side = side, cfg->channels = 32, cfg->levels = 3;
    cfg->mult[0] = 1, cfg->mult[1] = 2, cfg->mult[2] = 2;
    cfg->attention = 1, cfg->groups = 8, cfg->n_fourier = 16, cfg->emb = 128, cfg->n_classes = n_classes;
}

static size_t take(size_t *next, size_t m)
{
    const size_t at = *next;
    *next += m;
    return at;
}

static fmd_affine affine(size_t *next, size_t in, size_t out)
{
    fmd_affine a;
    a.w = take(next, in * out);
    a.b = take(next, out);
    return a;
}

int fmd_unet_alloc(const fmd_unet_config *cfg, fmd_unet **out)
{
    if (!cfg || !out || cfg->side == 0 || cfg->channels == 0 || cfg->levels == 0 ||
        cfg->levels > FMD_UNET_MAX_LEVELS || cfg->groups == 0 || cfg->n_fourier < 2 || cfg->emb == 0)
        return FMD_EINVAL;
    if (cfg->side % ((size_t)1 << (cfg->levels - 1)) != 0)
        return FMD_EINVAL;
    fmd_unet *net = calloc(1, sizeof *net);
    if (!net)
        return FMD_ENOMEM;
    net->cfg = *cfg;
    const size_t L = cfg->levels, E = cfg->emb;
    for (size_t l = 0; l < L; l++) {
        if (cfg->mult[l] == 0) {
            free(net);
            return FMD_EINVAL;
        }
        net->ch[l] = cfg->channels * cfg->mult[l];
        net->sides[l] = cfg->side >> l;
    }
    size_t next = 0;
    int st = FMD_OK;
    net->emb1 = affine(&next, 2 * cfg->n_fourier, E);
    net->emb2 = affine(&next, E, E);
    net->class_table = cfg->n_classes ? take(&next, (cfg->n_classes + 1) * E) : 0;
    net->stem = affine(&next, 9, net->ch[0]);
    for (size_t l = 0; l < L && st == FMD_OK; l++) {
        st = fmd_resblock_layout(l ? net->ch[l - 1] : net->ch[0], net->ch[l], E, cfg->groups, &next, &net->down[l]);
        if (l + 1 < L)
            net->downsample[l] = affine(&next, 9 * net->ch[l], net->ch[l]);
    }
    const size_t cl = net->ch[L - 1];
    if (st == FMD_OK)
        st = fmd_resblock_layout(cl, cl, E, cfg->groups, &next, &net->mid1);
    if (st == FMD_OK && cfg->attention)
        st = fmd_attention_layout(cl, fmd_groupnorm_groups(cl, cfg->groups), &next, &net->attn);
    if (st == FMD_OK)
        st = fmd_resblock_layout(cl, cl, E, cfg->groups, &next, &net->mid2);
    for (size_t l = L; l-- > 0 && st == FMD_OK;) {
        const size_t prev = l + 1 < L ? net->ch[l + 1] : cl;   /* channels arriving from below */
        st = fmd_resblock_layout(prev + net->ch[l], net->ch[l], E, cfg->groups, &next, &net->up[l]);
        if (l > 0)
            net->upconv[l] = affine(&next, 9 * net->ch[l], net->ch[l]);
    }
    net->out_g = take(&next, net->ch[0]);
    net->out_b = take(&next, net->ch[0]);
    net->out = affine(&next, 9 * net->ch[0], 1);
    net->nparams = next;
    net->params = st == FMD_OK ? calloc(next, sizeof(double)) : NULL;
    if (!net->params) {
        free(net);
        return st == FMD_OK ? FMD_ENOMEM : st;
    }
    *out = net;
    return FMD_OK;
}

void fmd_unet_free(fmd_unet *net)
{
    if (!net)
        return;
    free(net->params);
    free(net);
}

static void uniform(double *p, gsl_rng *r, const fmd_affine *a, size_t fan_in, size_t fan_out)
{
    const double s = 1.0 / sqrt((double)fan_in);
    for (size_t i = 0; i < fan_in * fan_out; i++)
        p[a->w + i] = s * (2.0 * gsl_rng_uniform(r) - 1.0);
    for (size_t i = 0; i < fan_out; i++)
        p[a->b + i] = s * (2.0 * gsl_rng_uniform(r) - 1.0);
}

void fmd_unet_init(fmd_unet *net, gsl_rng *r)
{
    const fmd_unet_config *c = &net->cfg;
    const size_t L = c->levels, E = c->emb;
    double *p = net->params, *u = malloc(net->nparams * sizeof(double));
    if (!u)
        return;
    for (size_t i = 0; i < net->nparams; i++)   /* the blocks' uniforms, drawn in one pass */
        u[i] = gsl_rng_uniform(r);
    uniform(p, r, &net->emb1, 2 * c->n_fourier, E);
    uniform(p, r, &net->emb2, E, E);
    for (size_t i = 0; c->n_classes && i < (c->n_classes + 1) * E; i++)
        p[net->class_table + i] = gsl_ran_gaussian_ziggurat(r, 1.0);
    uniform(p, r, &net->stem, 9, net->ch[0]);
    for (size_t l = 0; l < L; l++) {
        fmd_resblock_init(&net->down[l], p, u);
        if (l + 1 < L)
            uniform(p, r, &net->downsample[l], 9 * net->ch[l], net->ch[l]);
        fmd_resblock_init(&net->up[l], p, u);
        if (l > 0)
            uniform(p, r, &net->upconv[l], 9 * net->ch[l], net->ch[l]);
    }
    fmd_resblock_init(&net->mid1, p, u);
    fmd_resblock_init(&net->mid2, p, u);
    if (c->attention)
        fmd_attention_init(&net->attn, p, u);
    for (size_t k = 0; k < net->ch[0]; k++)
        p[net->out_g + k] = 1.0, p[net->out_b + k] = 0.0;
    uniform(p, r, &net->out, 9 * net->ch[0], 1);
    free(u);
}

/* ---- workspace ---------------------------------------------------------- */

struct fmd_unet_work {
    size_t n_max;
    int *labels;                          /* (n) as given, C where none */
    double *tf;                           /* (n, 2F) time features */
    double *z1, *a1, *e, *s_e, *ds_e;     /* (n, E) the embedding's stages, and d loss / d SiLU(e) */
    double *x_in;                         /* (n, d) the input */
    double *h_in[FMD_UNET_MAX_LEVELS];    /* input of down block l (level 0: the stem's output) */
    double *H[FMD_UNET_MAX_LEVELS];       /* down block outputs: the skips */
    double *m1, *m2, *m3;                 /* middle: after block 1, attention, block 2 */
    double *cat[FMD_UNET_MAX_LEVELS];     /* up block l's input: [from below | H_l] */
    double *U[FMD_UNET_MAX_LEVELS];       /* up block outputs */
    double *Up[FMD_UNET_MAX_LEVELS];      /* U_l upsampled (l > 0) */
    double *C[FMD_UNET_MAX_LEVELS];       /* the conv after upsampling: input from below of level l - 1 */
    double *o_xhat, *o_is, *o_y, *o_a;    /* the output head */
    double *dH[FMD_UNET_MAX_LEVELS];      /* backward: d loss / d H_l, from two paths */
    double *g1, *g2;                      /* backward: the gradient flowing down, as large as the largest map */
    fmd_layer_scratch sc;                 /* every convolution's patches (made again in backward) */
    fmd_resblock_work *rd[FMD_UNET_MAX_LEVELS], *ru[FMD_UNET_MAX_LEVELS], *rm1, *rm2;
    fmd_attention_work *aw;
};

void fmd_unet_work_free(fmd_unet_work *w)
{
    if (!w)
        return;
    free(w->labels), free(w->tf), free(w->z1), free(w->a1), free(w->e), free(w->s_e), free(w->ds_e);
    free(w->x_in);
    for (size_t l = 0; l < FMD_UNET_MAX_LEVELS; l++) {
        free(w->h_in[l]), free(w->H[l]), free(w->cat[l]), free(w->U[l]), free(w->Up[l]);
        free(w->C[l]), free(w->dH[l]);
        fmd_resblock_work_free(w->rd[l]);
        fmd_resblock_work_free(w->ru[l]);
    }
    free(w->m1), free(w->m2), free(w->m3);
    free(w->o_xhat), free(w->o_is), free(w->o_y), free(w->o_a);
    free(w->g1), free(w->g2);
    fmd_layer_scratch_free(&w->sc);
    fmd_resblock_work_free(w->rm1);
    fmd_resblock_work_free(w->rm2);
    fmd_attention_work_free(w->aw);
    free(w);
}

int fmd_unet_work_alloc(const fmd_unet *net, size_t n_max, fmd_unet_work **out)
{
    const fmd_unet_config *c = &net->cfg;
    const size_t L = c->levels, E = c->emb, n = n_max, d = c->side * c->side;
    fmd_unet_work *w = calloc(1, sizeof *w);
    if (!w)
        return FMD_ENOMEM;
    w->n_max = n_max;
    int ok = 1;
#define ALLOC(ptr, count) ok &= ((ptr) = malloc((count) * sizeof *(ptr))) != NULL
    ALLOC(w->labels, n);
    ALLOC(w->tf, n * 2 * c->n_fourier);
    ALLOC(w->z1, n * E), ALLOC(w->a1, n * E), ALLOC(w->e, n * E), ALLOC(w->s_e, n * E), ALLOC(w->ds_e, n * E);
    ALLOC(w->x_in, n * d);
    size_t biggest = 0;   /* the largest map: the backward's gradients and the shared scratch */
    for (size_t l = 0; l < L; l++) {
        const size_t P = n * net->sides[l] * net->sides[l], cin = l ? net->ch[l - 1] : net->ch[0];
        const size_t below = l + 1 < L ? net->ch[l + 1] : net->ch[L - 1], ccat = below + net->ch[l];
        ALLOC(w->h_in[l], P * cin), ALLOC(w->H[l], P * net->ch[l]), ALLOC(w->dH[l], P * net->ch[l]);
        ALLOC(w->cat[l], P * ccat), ALLOC(w->U[l], P * net->ch[l]);
        if (l > 0) {
            const size_t Pu = n * net->sides[l - 1] * net->sides[l - 1];
            ALLOC(w->Up[l], Pu * net->ch[l]), ALLOC(w->C[l], Pu * net->ch[l]);
            biggest = biggest > Pu * net->ch[l] ? biggest : Pu * net->ch[l];
        }
        biggest = biggest > P * ccat ? biggest : P * ccat;   /* the up block's input, the widest map of a level */
    }
    const size_t Pl = n * net->sides[L - 1] * net->sides[L - 1], cl = net->ch[L - 1];
    ALLOC(w->m1, Pl * cl), ALLOC(w->m2, Pl * cl), ALLOC(w->m3, Pl * cl);
    const size_t c0 = net->ch[0];
    ALLOC(w->o_xhat, n * d * c0), ALLOC(w->o_is, n * c->groups), ALLOC(w->o_y, n * d * c0), ALLOC(w->o_a, n * d * c0);
    biggest = biggest > n * d * c0 ? biggest : n * d * c0;
    biggest = biggest > 2 * n * E ? biggest : 2 * n * E;   /* the embedding's backward uses g2 too */
    ALLOC(w->g1, biggest), ALLOC(w->g2, biggest);
    if (ok)
        ok &= fmd_layer_scratch_alloc(biggest, &w->sc) == FMD_OK;
    for (size_t l = 0; ok && l < L; l++) {
        const size_t hw = net->sides[l] * net->sides[l];
        ok &= fmd_resblock_work_alloc(&net->down[l], n, hw, &w->sc, &w->rd[l]) == FMD_OK;
        ok &= ok && fmd_resblock_work_alloc(&net->up[l], n, hw, &w->sc, &w->ru[l]) == FMD_OK;
    }
    if (ok)
        ok &= fmd_resblock_work_alloc(&net->mid1, n, Pl / n, &w->sc, &w->rm1) == FMD_OK;
    if (ok)
        ok &= fmd_resblock_work_alloc(&net->mid2, n, Pl / n, &w->sc, &w->rm2) == FMD_OK;
    if (ok && c->attention)
        ok &= fmd_attention_work_alloc(&net->attn, n, Pl / n, &w->aw) == FMD_OK;
#undef ALLOC
    if (!ok) {
        fmd_unet_work_free(w);
        return FMD_ENOMEM;
    }
    *out = w;
    return FMD_OK;
}

/* ---- forward -------------------------------------------------------------- */

/* out (P, c_a + c_b) = [a | b] along the channels */
static void concat(size_t P, size_t ca, size_t cb, const double *a, const double *b, double *out)
{
    for (size_t q = 0; q < P; q++) {
        memcpy(out + q * (ca + cb), a + q * ca, ca * sizeof(double));
        memcpy(out + q * (ca + cb) + ca, b + q * cb, cb * sizeof(double));
    }
}

int fmd_unet_forward(const fmd_unet *net, fmd_unet_work *w, size_t n, const double *x, const double *t,
                     const int *labels, double *out)
{
    const fmd_unet_config *c = &net->cfg;
    const size_t L = c->levels, E = c->emb, F = c->n_fourier, s0 = c->side, d = s0 * s0;
    const double *p = net->params;
    if (!x || !t || !out || n == 0 || n > w->n_max)
        return FMD_EINVAL;
    /* the embedding: sinusoidal features, Linear, SiLU, Linear, + the class row, SiLU */
    double freq[F];   /* w_j = 1000^(j / (F - 1)): from 1 to 1000 */
    for (size_t j = 0; j < F; j++)
        freq[j] = exp(log(1000.0) * (double)j / (double)(F - 1));
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < F; j++) {
            w->tf[i * 2 * F + j] = sin(freq[j] * t[i]);
            w->tf[i * 2 * F + F + j] = cos(freq[j] * t[i]);
        }
    for (size_t i = 0; i < n; i++) {
        memcpy(w->z1 + i * E, p + net->emb1.b, E * sizeof(double));
        memcpy(w->e + i * E, p + net->emb2.b, E * sizeof(double));
    }
    fmd_gemm(0, 0, n, E, 2 * F, 1.0, w->tf, 2 * F, p + net->emb1.w, E, 1.0, w->z1, E);
    fmd_silu(n * E, w->z1, w->a1);
    fmd_gemm(0, 0, n, E, E, 1.0, w->a1, E, p + net->emb2.w, E, 1.0, w->e, E);
    for (size_t i = 0; i < n; i++) {
        int y = labels && c->n_classes ? labels[i] : (int)c->n_classes;
        if (y < 0 || (size_t)y > c->n_classes)
            return FMD_EINVAL;
        w->labels[i] = y;
        for (size_t k = 0; c->n_classes && k < E; k++)
            w->e[i * E + k] += p[net->class_table + (size_t)y * E + k];
    }
    fmd_silu(n * E, w->e, w->s_e);
    /* down */
    memcpy(w->x_in, x, n * d * sizeof(double));
    fmd_conv3x3_forward(n, s0, s0, 1, net->ch[0], 1, w->x_in, p + net->stem.w, p + net->stem.b, w->sc.cols,
                        w->h_in[0]);
    for (size_t l = 0; l < L; l++) {
        const size_t s = net->sides[l];
        int st = fmd_resblock_forward(&net->down[l], w->rd[l], n, s, s, p, w->h_in[l], w->s_e, w->H[l]);
        if (st != FMD_OK)
            return st;
        if (l + 1 < L)
            fmd_conv3x3_forward(n, s, s, net->ch[l], net->ch[l], 2, w->H[l], p + net->downsample[l].w,
                                p + net->downsample[l].b, w->sc.cols, w->h_in[l + 1]);
    }
    /* middle */
    const size_t sl = net->sides[L - 1], cl = net->ch[L - 1];
    int st = fmd_resblock_forward(&net->mid1, w->rm1, n, sl, sl, p, w->H[L - 1], w->s_e, w->m1);
    if (st == FMD_OK && c->attention)
        st = fmd_attention_forward(&net->attn, w->aw, n, sl * sl, p, w->m1, w->m2);
    else if (st == FMD_OK)
        memcpy(w->m2, w->m1, n * sl * sl * cl * sizeof(double));
    if (st == FMD_OK)
        st = fmd_resblock_forward(&net->mid2, w->rm2, n, sl, sl, p, w->m2, w->s_e, w->m3);
    if (st != FMD_OK)
        return st;
    /* up */
    for (size_t l = L; l-- > 0;) {
        const size_t s = net->sides[l], P = n * s * s;
        const size_t below = l + 1 < L ? net->ch[l + 1] : cl;
        concat(P, below, net->ch[l], l + 1 < L ? w->C[l + 1] : w->m3, w->H[l], w->cat[l]);
        st = fmd_resblock_forward(&net->up[l], w->ru[l], n, s, s, p, w->cat[l], w->s_e, w->U[l]);
        if (st != FMD_OK)
            return st;
        if (l > 0) {
            fmd_upsample2_forward(n, s, s, net->ch[l], w->U[l], w->Up[l]);
            fmd_conv3x3_forward(n, 2 * s, 2 * s, net->ch[l], net->ch[l], 1, w->Up[l], p + net->upconv[l].w,
                                p + net->upconv[l].b, w->sc.cols, w->C[l]);
        }
    }
    /* out */
    st = fmd_groupnorm_forward(n, d, net->ch[0], fmd_groupnorm_groups(net->ch[0], net->cfg.groups), w->U[0], p + net->out_g, p + net->out_b, w->o_xhat,
                               w->o_is, w->o_y);
    if (st != FMD_OK)
        return st;
    fmd_silu(n * d * net->ch[0], w->o_y, w->o_a);
    return fmd_conv3x3_forward(n, s0, s0, net->ch[0], 1, 1, w->o_a, p + net->out.w, p + net->out.b, w->sc.cols, out);
}

/* ---- backward ------------------------------------------------------------- */

int fmd_unet_backward(const fmd_unet *net, fmd_unet_work *w, size_t n, const double *dout, double *grad,
                      double *dx)
{
    const fmd_unet_config *c = &net->cfg;
    const size_t L = c->levels, E = c->emb, F = c->n_fourier, s0 = c->side, d = s0 * s0, c0 = net->ch[0];
    const double *p = net->params;
    if (!dout || !grad || n == 0 || n > w->n_max)
        return FMD_EINVAL;
    memset(w->ds_e, 0, n * E * sizeof(double));
    /* out: conv, SiLU, group norm, into g1 = d loss / d U_0 */
    fmd_im2col(n, s0, s0, c0, 1, w->o_a, w->sc.cols);   /* every conv's patches made again from its input */
    fmd_conv3x3_backward(n, s0, s0, c0, 1, 1, w->sc.cols, p + net->out.w, dout, grad + net->out.w, grad + net->out.b,
                         w->sc.dcols, w->g2);
    fmd_silu_backward(n * d * c0, w->o_y, w->g2, w->g2);
    fmd_groupnorm_backward(n, d, c0, fmd_groupnorm_groups(net->ch[0], net->cfg.groups), w->o_xhat, w->o_is, p + net->out_g, w->g2, grad + net->out_g,
                           grad + net->out_b, w->g1);
    /* up, from level 0 back to L - 1; g1 holds d loss / d U_l on entry */
    const size_t cl = net->ch[L - 1];
    for (size_t l = 0; l < L; l++) {
        const size_t s = net->sides[l], P = n * s * s, below = l + 1 < L ? net->ch[l + 1] : cl;
        if (l > 0) {   /* U_l -> upsample -> conv: g1 holds d loss / d C_l */
            fmd_im2col(n, 2 * s, 2 * s, net->ch[l], 1, w->Up[l], w->sc.cols);
            fmd_conv3x3_backward(n, 2 * s, 2 * s, net->ch[l], net->ch[l], 1, w->sc.cols, p + net->upconv[l].w, w->g1,
                                 grad + net->upconv[l].w, grad + net->upconv[l].b, w->sc.dcols, w->g2);
            fmd_upsample2_backward(n, s, s, net->ch[l], w->g2, w->g1);
        }
        int st = fmd_resblock_backward(&net->up[l], w->ru[l], n, s, s, p, w->cat[l], w->s_e, w->g1, grad, w->g2,
                                       w->ds_e);
        if (st != FMD_OK)
            return st;
        for (size_t q = 0; q < P; q++) {   /* split [from below | H_l] */
            memcpy(w->g1 + q * below, w->g2 + q * (below + net->ch[l]), below * sizeof(double));
            memcpy(w->dH[l] + q * net->ch[l], w->g2 + q * (below + net->ch[l]) + below, net->ch[l] * sizeof(double));
        }
    }
    /* middle: g1 holds d loss / d m3 */
    const size_t sl = net->sides[L - 1], Pl = n * sl * sl;
    int st = fmd_resblock_backward(&net->mid2, w->rm2, n, sl, sl, p, w->m2, w->s_e, w->g1, grad, w->g2, w->ds_e);
    if (st == FMD_OK && c->attention)
        st = fmd_attention_backward(&net->attn, w->aw, n, sl * sl, p, w->g2, grad, w->g1);
    else if (st == FMD_OK)
        memcpy(w->g1, w->g2, Pl * cl * sizeof(double));
    if (st == FMD_OK)
        st = fmd_resblock_backward(&net->mid1, w->rm1, n, sl, sl, p, w->H[L - 1], w->s_e, w->g1, grad, w->g2, w->ds_e);
    if (st != FMD_OK)
        return st;
    for (size_t i = 0; i < Pl * cl; i++)
        w->dH[L - 1][i] += w->g2[i];
    /* down, from level L - 1 back to 0: dH_l complete on entry */
    for (size_t l = L; l-- > 0;) {
        const size_t s = net->sides[l];
        st = fmd_resblock_backward(&net->down[l], w->rd[l], n, s, s, p, w->h_in[l], w->s_e, w->dH[l], grad, w->g1,
                                   w->ds_e);
        if (st != FMD_OK)
            return st;
        if (l > 0) {   /* h_in[l] = stride-2 conv of H_{l-1} */
            const size_t sp = net->sides[l - 1], Pp = n * sp * sp;
            fmd_im2col(n, sp, sp, net->ch[l - 1], 2, w->H[l - 1], w->sc.cols);
            fmd_conv3x3_backward(n, sp, sp, net->ch[l - 1], net->ch[l - 1], 2, w->sc.cols,
                                 p + net->downsample[l - 1].w, w->g1, grad + net->downsample[l - 1].w,
                                 grad + net->downsample[l - 1].b, w->sc.dcols, w->g2);
            for (size_t i = 0; i < Pp * net->ch[l - 1]; i++)
                w->dH[l - 1][i] += w->g2[i];
        }
    }
    /* the stem: g1 holds d loss / d h_in[0] */
    fmd_im2col(n, s0, s0, 1, 1, w->x_in, w->sc.cols);
    fmd_conv3x3_backward(n, s0, s0, 1, c0, 1, w->sc.cols, p + net->stem.w, w->g1, grad + net->stem.w,
                         grad + net->stem.b, w->sc.dcols, dx);
    /* the embedding: d loss / d e = ds_e SiLU'(e), then the class rows and the two linear maps */
    double *de = w->g2, *da1 = w->g2 + n * E;
    fmd_silu_backward(n * E, w->e, w->ds_e, de);
    for (size_t i = 0; c->n_classes && i < n; i++)
        for (size_t k = 0; k < E; k++)
            grad[net->class_table + (size_t)w->labels[i] * E + k] += de[i * E + k];
    fmd_gemm(1, 0, E, E, n, 1.0, w->a1, E, de, E, 1.0, grad + net->emb2.w, E);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < E; k++)
            grad[net->emb2.b + k] += de[i * E + k];
    fmd_gemm(0, 1, n, E, E, 1.0, de, E, p + net->emb2.w, E, 0.0, da1, E);
    fmd_silu_backward(n * E, w->z1, da1, da1);
    fmd_gemm(1, 0, 2 * F, E, n, 1.0, w->tf, 2 * F, da1, E, 1.0, grad + net->emb1.w, E);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < E; k++)
            grad[net->emb1.b + k] += da1[i * E + k];
    return FMD_OK;
}
