/* unet_typed.c -- the U-Net's workspace, forward and backward, written
 * once for fmd_real (typed_begin.h); unet.c includes it for float64 and
 * float32. */
#include "base/typed_begin.h"

/* ---- workspace ---------------------------------------------------------- */

typedef struct {
    size_t n_max;
    int *labels;                          /* (n) as given, C where none */
    fmd_real *tf;                           /* (n, 2F) time features */
    fmd_real *a1, *sig1;                  /* (n, E) SiLU of the first linear map, and its sigmoid */
    fmd_real *s_e, *sig_e, *ds_e;         /* (n, E) SiLU(e), its sigmoid, and d loss / d SiLU(e) */
    fmd_real *x_in;                         /* (n, d) the input */
    fmd_real *h_in[FMD_UNET_MAX_LEVELS];    /* input of down block l (level 0: the stem's output) */
    fmd_real *H[FMD_UNET_MAX_LEVELS];       /* down block outputs: the skips */
    fmd_real *m1, *m2, *m3;                 /* middle: after block 1, attention, block 2 */
    fmd_real *cat[FMD_UNET_MAX_LEVELS];     /* up block l's input: [from below | H_l] */
    fmd_real *U[FMD_UNET_MAX_LEVELS];       /* up block outputs */
    fmd_real *C[FMD_UNET_MAX_LEVELS];       /* the conv after upsampling: input from below of level l - 1 */
    fmd_real *o_xhat, *o_is, *o_s, *o_a;  /* the output head: GN, then SiLU (o_a) and its sigmoid (o_s) */
    fmd_real *dH[FMD_UNET_MAX_LEVELS];      /* backward: d loss / d H_l, from two paths */
    fmd_real *g1, *g2;                      /* backward: the gradient flowing down, as large as the largest map */
    FMD_T(fmd_layer_scratch) sc;                 /* every convolution's patches (made again in backward) */
    FMD_T(fmd_resblock_work) *rd[FMD_UNET_MAX_LEVELS], *ru[FMD_UNET_MAX_LEVELS], *rm1, *rm2;
    FMD_T(fmd_attention_work) *aw;
    fmd_real *io;                         /* (n, d) the output, or d loss / d out, in fmd_real */
} FMD_T(unet_work);

static void FMD_T(work_free)(FMD_T(unet_work) *w)
{
    if (!w)
        return;
    free(w->labels), free(w->tf), free(w->a1), free(w->sig1), free(w->s_e), free(w->sig_e), free(w->ds_e);
    free(w->x_in);
    for (size_t l = 0; l < FMD_UNET_MAX_LEVELS; l++) {
        free(w->h_in[l]), free(w->H[l]), free(w->cat[l]), free(w->U[l]);
        free(w->C[l]), free(w->dH[l]);
        FMD_T(fmd_resblock_work_free)(w->rd[l]);
        FMD_T(fmd_resblock_work_free)(w->ru[l]);
    }
    free(w->m1), free(w->m2), free(w->m3);
    free(w->o_xhat), free(w->o_is), free(w->o_s), free(w->o_a);
    free(w->g1), free(w->g2), free(w->io);
    FMD_T(fmd_layer_scratch_free)(&w->sc);
    FMD_T(fmd_resblock_work_free)(w->rm1);
    FMD_T(fmd_resblock_work_free)(w->rm2);
    FMD_T(fmd_attention_work_free)(w->aw);
    free(w);
}

static int FMD_T(work_alloc)(const fmd_unet *net, size_t n_max, FMD_T(unet_work) **out)
{
    const fmd_unet_config *c = &net->cfg;
    const size_t L = c->levels, E = c->emb, n = n_max, d = c->side * c->side;
    FMD_T(unet_work) *w = calloc(1, sizeof *w);
    if (!w)
        return FMD_ENOMEM;
    w->n_max = n_max;
    int ok = 1;
#define ALLOC(ptr, count) ok &= ((ptr) = malloc((count) * sizeof *(ptr))) != NULL
    ALLOC(w->labels, n);
    ALLOC(w->tf, n * 2 * c->n_fourier);
    ALLOC(w->a1, n * E), ALLOC(w->sig1, n * E), ALLOC(w->s_e, n * E), ALLOC(w->sig_e, n * E), ALLOC(w->ds_e, n * E);
    ALLOC(w->x_in, n * d), ALLOC(w->io, n * d);
    size_t biggest = 0;   /* the largest map: the backward's gradients and the shared scratch */
    for (size_t l = 0; l < L; l++) {
        const size_t P = n * net->sides[l] * net->sides[l], cin = l ? net->ch[l - 1] : net->ch[0];
        const size_t below = l + 1 < L ? net->ch[l + 1] : net->ch[L - 1], ccat = below + net->ch[l];
        ALLOC(w->h_in[l], P * cin), ALLOC(w->H[l], P * net->ch[l]), ALLOC(w->dH[l], P * net->ch[l]);
        ALLOC(w->cat[l], P * ccat), ALLOC(w->U[l], P * net->ch[l]);
        if (l > 0) {
            const size_t Pu = n * net->sides[l - 1] * net->sides[l - 1];
            ALLOC(w->C[l], Pu * net->ch[l]);
            biggest = biggest > Pu * net->ch[l] ? biggest : Pu * net->ch[l];
        }
        biggest = biggest > P * ccat ? biggest : P * ccat;   /* the up block's input, the widest map of a level */
    }
    const size_t Pl = n * net->sides[L - 1] * net->sides[L - 1], cl = net->ch[L - 1];
    ALLOC(w->m1, Pl * cl), ALLOC(w->m2, Pl * cl), ALLOC(w->m3, Pl * cl);
    const size_t c0 = net->ch[0], d0 = net->sides[0] * net->sides[0];   /* the top level's pixels: d / p^2 */
    ALLOC(w->o_xhat, n * d0 * c0), ALLOC(w->o_is, n * c->groups), ALLOC(w->o_s, n * d0 * c0);
    ALLOC(w->o_a, n * d0 * c0);
    biggest = biggest > n * d0 * c0 ? biggest : n * d0 * c0;
    biggest = biggest > 2 * n * E ? biggest : 2 * n * E;   /* the embedding's backward uses g2 too */
    ALLOC(w->g1, biggest), ALLOC(w->g2, biggest);
    if (ok)
        ok &= FMD_T(fmd_layer_scratch_alloc)(biggest, c->conv == FMD_CONV_WINOGRAD, &w->sc) == FMD_OK;
    for (size_t l = 0; ok && l < L; l++) {
        const size_t hw = net->sides[l] * net->sides[l];
        ok &= FMD_T(fmd_resblock_work_alloc)(&net->down[l], n, hw, &w->sc, &w->rd[l]) == FMD_OK;
        ok &= ok && FMD_T(fmd_resblock_work_alloc)(&net->up[l], n, hw, &w->sc, &w->ru[l]) == FMD_OK;
    }
    if (ok)
        ok &= FMD_T(fmd_resblock_work_alloc)(&net->mid1, n, Pl / n, &w->sc, &w->rm1) == FMD_OK;
    if (ok)
        ok &= FMD_T(fmd_resblock_work_alloc)(&net->mid2, n, Pl / n, &w->sc, &w->rm2) == FMD_OK;
    if (ok && c->attention)
        ok &= FMD_T(fmd_attention_work_alloc)(&net->attn, n, Pl / n, &w->aw) == FMD_OK;
#undef ALLOC
    if (!ok) {
        FMD_T(work_free)(w);
        return FMD_ENOMEM;
    }
    *out = w;
    return FMD_OK;
}

/* ---- forward -------------------------------------------------------------- */

/* out (P, c_a + c_b) = [a | b] along the channels */
static void FMD_T(concat)(size_t P, size_t ca, size_t cb, const fmd_real *a, const fmd_real *b, fmd_real *out)
{
    for (size_t q = 0; q < P; q++) {
        memcpy(out + q * (ca + cb), a + q * ca, ca * sizeof(fmd_real));
        memcpy(out + q * (ca + cb) + ca, b + q * cb, cb * sizeof(fmd_real));
    }
}

/* Patches (cfg.patch = p): image (n, side, side) <-> map (n, side/p, side/p,
 * p^2), channel dy p + dx of the map's pixel (Y, X) being the image's pixel
 * (p Y + dy, p X + dx); p = 1 is a copy. The index of that channel, given
 * the image's pixel k = (i side + p Y + dy) side + p X + dx: */
static size_t FMD_T(patch_index)(size_t side, size_t pt, size_t k)
{
    const size_t sp = side / pt, i = k / (side * side), row = k / side % side, col = k % side;
    const size_t Y = row / pt, dy = row % pt, X = col / pt, dx = col % pt;
    return ((i * sp + Y) * sp + X) * pt * pt + dy * pt + dx;
}

static void FMD_T(to_patches)(size_t n, size_t side, size_t pt, const double *img, fmd_real *map)
{
    for (size_t k = 0; k < n * side * side; k++)
        map[FMD_T(patch_index)(side, pt, k)] = (fmd_real)img[k];
}

static void FMD_T(from_patches)(size_t n, size_t side, size_t pt, const fmd_real *map, double *img)
{
    for (size_t k = 0; k < n * side * side; k++)
        img[k] = map[FMD_T(patch_index)(side, pt, k)];
}

/* fmd_unet_forward in fmd_real: x, t and out stay float64 (the time
 * features are computed in float64 too: sin(1000 t) needs t's digits). */
static int FMD_T(forward)(const fmd_unet *net, FMD_T(unet_work) *w, size_t n, const double *x, const double *t,
                          const int *labels, double *out)
{
    const fmd_unet_config *c = &net->cfg;
    const size_t L = c->levels, E = c->emb, F = c->n_fourier, side = c->side;
    const fmd_real *p = FMD_T(params_of)(net);
    if (n > w->n_max)
        return FMD_EINVAL;
    /* the embedding: sinusoidal features, Linear, SiLU, Linear, + the class row, SiLU */
    double freq[F];   /* w_j = 1000^(j / (F - 1)): from 1 to 1000 */
    for (size_t j = 0; j < F; j++)
        freq[j] = exp(log(1000.0) * (double)j / (double)(F - 1));
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < F; j++) {
            w->tf[i * 2 * F + j] = (fmd_real)sin(freq[j] * t[i]);
            w->tf[i * 2 * F + F + j] = (fmd_real)cos(freq[j] * t[i]);
        }
    for (size_t i = 0; i < n; i++) {   /* the linear maps' outputs are turned into their SiLUs in place */
        memcpy(w->a1 + i * E, p + net->emb1.b, E * sizeof(fmd_real));
        memcpy(w->s_e + i * E, p + net->emb2.b, E * sizeof(fmd_real));
    }
    fmd_gemm_real(0, 0, n, E, 2 * F, 1.0, w->tf, 2 * F, p + net->emb1.w, E, 1.0, w->a1, E);
    FMD_T(fmd_silu)(n * E, w->a1, w->sig1, w->a1);
    fmd_gemm_real(0, 0, n, E, E, 1.0, w->a1, E, p + net->emb2.w, E, 1.0, w->s_e, E);
    for (size_t i = 0; i < n; i++) {
        int y = labels && c->n_classes ? labels[i] : (int)c->n_classes;
        if (y < 0 || (size_t)y > c->n_classes)
            return FMD_EINVAL;
        w->labels[i] = y;
        for (size_t k = 0; c->n_classes && k < E; k++)
            w->s_e[i * E + k] += p[net->class_table + (size_t)y * E + k];
    }
    FMD_T(fmd_silu)(n * E, w->s_e, w->sig_e, w->s_e);   /* e, then SiLU(e) */
    /* down */
    const size_t pt = net->patch, pp = pt * pt, s0 = net->sides[0], d0 = s0 * s0;
    FMD_T(to_patches)(n, side, pt, x, w->x_in);
    FMD_T(fmd_conv3x3_forward)(n, s0, s0, pp, net->ch[0], 1, w->x_in, p + net->stem.w, p + net->stem.b, w->sc.cols,
                        w->h_in[0]);
    for (size_t l = 0; l < L; l++) {
        const size_t s = net->sides[l];
        int st = FMD_T(fmd_resblock_forward)(&net->down[l], w->rd[l], n, s, s, p, w->h_in[l], w->s_e, w->H[l]);
        if (st != FMD_OK)
            return st;
        if (l + 1 < L)
            FMD_T(fmd_conv3x3_forward)(n, s, s, net->ch[l], net->ch[l], 2, w->H[l], p + net->downsample[l].w,
                                p + net->downsample[l].b, w->sc.cols, w->h_in[l + 1]);
    }
    /* middle */
    const size_t sl = net->sides[L - 1], cl = net->ch[L - 1];
    int st = FMD_T(fmd_resblock_forward)(&net->mid1, w->rm1, n, sl, sl, p, w->H[L - 1], w->s_e, w->m1);
    if (st == FMD_OK && c->attention)
        st = FMD_T(fmd_attention_forward)(&net->attn, w->aw, n, sl * sl, p, w->m1, w->m2);
    else if (st == FMD_OK)
        memcpy(w->m2, w->m1, n * sl * sl * cl * sizeof(fmd_real));
    if (st == FMD_OK)
        st = FMD_T(fmd_resblock_forward)(&net->mid2, w->rm2, n, sl, sl, p, w->m2, w->s_e, w->m3);
    if (st != FMD_OK)
        return st;
    /* up */
    for (size_t l = L; l-- > 0;) {
        const size_t s = net->sides[l], P = n * s * s;
        const size_t below = l + 1 < L ? net->ch[l + 1] : cl;
        FMD_T(concat)(P, below, net->ch[l], l + 1 < L ? w->C[l + 1] : w->m3, w->H[l], w->cat[l]);
        st = FMD_T(fmd_resblock_forward)(&net->up[l], w->ru[l], n, s, s, p, w->cat[l], w->s_e, w->U[l]);
        if (st != FMD_OK)
            return st;
        if (l > 0) {   /* upsampling then a convolution, fused (4/9 of the multiply-adds) */
            st = FMD_T(fmd_upconv_forward)(n, s, s, net->ch[l], net->ch[l], w->U[l], p + net->upconv[l].w,
                                           p + net->upconv[l].b, w->sc.cols, w->C[l]);
            if (st != FMD_OK)
                return st;
        }
    }
    /* out */
    st = FMD_T(fmd_groupnorm_forward)(n, d0, net->ch[0], fmd_groupnorm_groups(net->ch[0], net->cfg.groups), w->U[0], p + net->out_g, p + net->out_b, w->o_xhat,
                               w->o_is, w->o_a);
    if (st != FMD_OK)
        return st;
    FMD_T(fmd_silu)(n * d0 * net->ch[0], w->o_a, w->o_s, w->o_a);   /* in place */
    FMD_T(fmd_conv3x3_forward)(n, s0, s0, net->ch[0], pp, 1, w->o_a, p + net->out.w, p + net->out.b, w->sc.cols, w->io);
    FMD_T(from_patches)(n, side, pt, w->io, out);
    return FMD_OK;
}

/* ---- backward ------------------------------------------------------------- */

/* fmd_unet_backward in fmd_real: dout and dx stay float64, grad is fmd_real. */
static int FMD_T(backward)(const fmd_unet *net, FMD_T(unet_work) *w, size_t n, const double *dout, fmd_real *grad,
                           double *dx)
{
    const fmd_unet_config *c = &net->cfg;
    const size_t L = c->levels, E = c->emb, F = c->n_fourier, side = c->side, c0 = net->ch[0];
    const size_t pt = net->patch, pp = pt * pt, s0 = net->sides[0], d0 = s0 * s0;
    const fmd_real *p = FMD_T(params_of)(net);
    if (n > w->n_max)
        return FMD_EINVAL;
    FMD_T(to_patches)(n, side, pt, dout, w->io);   /* the scatter's adjoint is the gather */
    memset(w->ds_e, 0, n * E * sizeof(fmd_real));
    /* out: conv, SiLU, group norm, into g1 = d loss / d U_0 */
    FMD_T(fmd_conv3x3_backward)(n, s0, s0, c0, pp, 1, w->o_a, p + net->out.w, w->io, grad + net->out.w, grad + net->out.b,
                                w->sc.cols, w->sc.dcols, w->g2);
    FMD_T(fmd_silu_backward)(n * d0 * c0, w->o_s, w->o_a, w->g2, w->g2);
    FMD_T(fmd_groupnorm_backward)(n, d0, c0, fmd_groupnorm_groups(net->ch[0], net->cfg.groups), w->o_xhat, w->o_is, p + net->out_g, w->g2, grad + net->out_g,
                           grad + net->out_b, w->g1);
    /* up, from level 0 back to L - 1; g1 holds d loss / d U_l on entry */
    const size_t cl = net->ch[L - 1];
    for (size_t l = 0; l < L; l++) {
        const size_t s = net->sides[l], P = n * s * s, below = l + 1 < L ? net->ch[l + 1] : cl;
        if (l > 0) {   /* U_l -> upsample and conv: g1 holds d loss / d C_l */
            const int st = FMD_T(fmd_upconv_backward)(n, s, s, net->ch[l], net->ch[l], w->U[l], p + net->upconv[l].w,
                                                      w->g1, grad + net->upconv[l].w, grad + net->upconv[l].b,
                                                      w->sc.cols, w->sc.dcols, w->g2);
            if (st != FMD_OK)
                return st;
            memcpy(w->g1, w->g2, P * net->ch[l] * sizeof(fmd_real));
        }
        int st = FMD_T(fmd_resblock_backward)(&net->up[l], w->ru[l], n, s, s, p, w->cat[l], w->s_e, w->g1, grad, w->g2,
                                       w->ds_e);
        if (st != FMD_OK)
            return st;
        for (size_t q = 0; q < P; q++) {   /* split [from below | H_l] */
            memcpy(w->g1 + q * below, w->g2 + q * (below + net->ch[l]), below * sizeof(fmd_real));
            memcpy(w->dH[l] + q * net->ch[l], w->g2 + q * (below + net->ch[l]) + below, net->ch[l] * sizeof(fmd_real));
        }
    }
    /* middle: g1 holds d loss / d m3 */
    const size_t sl = net->sides[L - 1], Pl = n * sl * sl;
    int st = FMD_T(fmd_resblock_backward)(&net->mid2, w->rm2, n, sl, sl, p, w->m2, w->s_e, w->g1, grad, w->g2, w->ds_e);
    if (st == FMD_OK && c->attention)
        st = FMD_T(fmd_attention_backward)(&net->attn, w->aw, n, sl * sl, p, w->g2, grad, w->g1);
    else if (st == FMD_OK)
        memcpy(w->g1, w->g2, Pl * cl * sizeof(fmd_real));
    if (st == FMD_OK)
        st = FMD_T(fmd_resblock_backward)(&net->mid1, w->rm1, n, sl, sl, p, w->H[L - 1], w->s_e, w->g1, grad, w->g2, w->ds_e);
    if (st != FMD_OK)
        return st;
    for (size_t i = 0; i < Pl * cl; i++)
        w->dH[L - 1][i] += w->g2[i];
    /* down, from level L - 1 back to 0: dH_l complete on entry */
    for (size_t l = L; l-- > 0;) {
        const size_t s = net->sides[l];
        st = FMD_T(fmd_resblock_backward)(&net->down[l], w->rd[l], n, s, s, p, w->h_in[l], w->s_e, w->dH[l], grad, w->g1,
                                   w->ds_e);
        if (st != FMD_OK)
            return st;
        if (l > 0) {   /* h_in[l] = stride-2 conv of H_{l-1} */
            const size_t sp = net->sides[l - 1], Pp = n * sp * sp;
            FMD_T(fmd_conv3x3_backward)(n, sp, sp, net->ch[l - 1], net->ch[l - 1], 2, w->H[l - 1],
                                 p + net->downsample[l - 1].w, w->g1, grad + net->downsample[l - 1].w,
                                 grad + net->downsample[l - 1].b, w->sc.cols, w->sc.dcols, w->g2);
            for (size_t i = 0; i < Pp * net->ch[l - 1]; i++)
                w->dH[l - 1][i] += w->g2[i];
        }
    }
    /* the stem: g1 holds d loss / d h_in[0] */
    FMD_T(fmd_conv3x3_backward)(n, s0, s0, pp, c0, 1, w->x_in, p + net->stem.w, w->g1, grad + net->stem.w,
                                grad + net->stem.b, w->sc.cols, w->sc.dcols, dx ? w->io : NULL);
    if (dx)
        FMD_T(from_patches)(n, side, pt, w->io, dx);
    /* the embedding: d loss / d e = ds_e SiLU'(e), then the class rows and the two linear maps */
    fmd_real *de = w->g2, *da1 = w->g2 + n * E;
    FMD_T(fmd_silu_backward)(n * E, w->sig_e, w->s_e, w->ds_e, de);
    for (size_t i = 0; c->n_classes && i < n; i++)
        for (size_t k = 0; k < E; k++)
            grad[net->class_table + (size_t)w->labels[i] * E + k] += de[i * E + k];
    fmd_gemm_real(1, 0, E, E, n, 1.0, w->a1, E, de, E, 1.0, grad + net->emb2.w, E);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < E; k++)
            grad[net->emb2.b + k] += de[i * E + k];
    fmd_gemm_real(0, 1, n, E, E, 1.0, de, E, p + net->emb2.w, E, 0.0, da1, E);
    FMD_T(fmd_silu_backward)(n * E, w->sig1, w->a1, da1, da1);
    fmd_gemm_real(1, 0, 2 * F, E, n, 1.0, w->tf, 2 * F, da1, E, 1.0, grad + net->emb1.w, E);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < E; k++)
            grad[net->emb1.b + k] += da1[i * E + k];
    return FMD_OK;
}

#include "base/typed_end.h"
