/* unet.c -- the U-Net: layout, forward and backward (unet.h). Every map is
 * channels-last (n, side, side, channels); the blocks are src/networks/conv.h,
 * src/networks/groupnorm.h, src/networks/resblock.h and src/networks/attention.h. Backward retraces
 * forward in reverse, op by op, so each can be read against its twin. */
#include "networks/unet.h"
#include "networks/conv.h"
#include "networks/groupnorm.h"
#include "base/matmul.h"
#include "base/rng.h"
#include "base/status.h"

#include <ctype.h>
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
    cfg->conv = FMD_CONV_DIRECT;   /* Winograd's gains little at these widths, loses at narrower: bench/README.md */
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

int fmd_unet_parse_mult(const char *text, fmd_unet_config *cfg)
{
    if (!text || !cfg)
        return FMD_EINVAL;
    size_t l = 0, mult[FMD_UNET_MAX_LEVELS];
    for (const char *p = text; *p;) {
        char *end;
        if (!isdigit((unsigned char)*p))   /* no sign, no space: strtoul would take them */
            return FMD_EINVAL;
        const unsigned long m = strtoul(p, &end, 10);
        if (m == 0 || m > 64 || l == FMD_UNET_MAX_LEVELS || (*end && *end != ',') || (*end == ',' && !end[1]))
            return FMD_EINVAL;
        mult[l++] = m;
        p = *end == ',' ? end + 1 : end;
    }
    if (l == 0)
        return FMD_EINVAL;
    cfg->levels = l;
    for (size_t k = 0; k < l; k++)
        cfg->mult[k] = mult[k];
    return FMD_OK;
}

/* The layout of cfg's parameters into net (no parameters allocated). */
static int layout(const fmd_unet_config *cfg, fmd_unet *net)
{
    if (!cfg || cfg->side == 0 || cfg->channels == 0 || cfg->levels == 0 || cfg->levels > FMD_UNET_MAX_LEVELS ||
        cfg->groups == 0 || cfg->n_fourier < 2 || cfg->emb == 0)
        return FMD_EINVAL;
    const size_t patch = cfg->patch ? cfg->patch : 1;
    if (patch > 2 || cfg->side % patch != 0 || (cfg->side / patch) % ((size_t)1 << (cfg->levels - 1)) != 0)
        return FMD_EINVAL;
    if (cfg->output < FMD_OUT_PLAIN || cfg->output > FMD_OUT_SCORE ||
        (cfg->output != FMD_OUT_PLAIN && !(cfg->sigma_data > 0.0 && isfinite(cfg->sigma_data))))
        return FMD_EINVAL;
    memset(net, 0, sizeof *net);
    net->cfg = *cfg;
    net->patch = patch;
    const size_t L = cfg->levels, E = cfg->emb;
    for (size_t l = 0; l < L; l++) {
        if (cfg->mult[l] == 0)
            return FMD_EINVAL;
        net->ch[l] = cfg->channels * cfg->mult[l];
        net->sides[l] = (cfg->side / patch) >> l;
    }
    size_t next = 0;
    int st = FMD_OK;
    net->emb1 = affine(&next, 2 * cfg->n_fourier, E);
    net->emb2 = affine(&next, E, E);
    net->class_table = cfg->n_classes ? take(&next, (cfg->n_classes + 1) * E) : 0;
    net->stem = affine(&next, 9 * patch * patch, net->ch[0]);
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
    net->out = affine(&next, 9 * net->ch[0], patch * patch);
    net->nparams = next;
    if (cfg->conv != FMD_CONV_DIRECT && cfg->conv != FMD_CONV_WINOGRAD)
        return FMD_EINVAL;
    fmd_resblock *blocks[2 * FMD_UNET_MAX_LEVELS + 2] = {&net->mid1, &net->mid2};
    size_t nb = 2;
    for (size_t l = 0; l < L; l++)
        blocks[nb++] = &net->down[l], blocks[nb++] = &net->up[l];
    for (size_t k = 0; k < nb; k++)   /* the blocks convolve as the network says */
        blocks[k]->conv = cfg->conv;
    return st;
}

int fmd_unet_param_count(const fmd_unet_config *cfg, size_t *nparams)
{
    fmd_unet net;
    const int st = nparams ? layout(cfg, &net) : FMD_EINVAL;
    if (st == FMD_OK)
        *nparams = net.nparams;
    return st;
}

int fmd_unet_alloc(const fmd_unet_config *cfg, fmd_unet **out)
{
    if (!out)
        return FMD_EINVAL;
    fmd_unet *net = calloc(1, sizeof *net);
    if (!net)
        return FMD_ENOMEM;
    int st = layout(cfg, net);
    if (st == FMD_OK && cfg->dtype == FMD_F32)
        net->params32 = calloc(net->nparams, sizeof(float));
    else if (st == FMD_OK)
        net->params = calloc(net->nparams, sizeof(double));
    if (!net->params && !net->params32) {
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
    free(net->params), free(net->params32);
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

int fmd_unet_init(fmd_unet *net, gsl_rng *r)
{
    const fmd_unet_config *c = &net->cfg;
    const size_t L = c->levels, E = c->emb;
    double *u = malloc(net->nparams * sizeof(double));
    double *p = net->params ? net->params : malloc(net->nparams * sizeof(double));
    if (!u || !p) {
        free(u);
        if (p != net->params)
            free(p);
        return FMD_ENOMEM;
    }
    for (size_t i = 0; i < net->nparams; i++)   /* the blocks' uniforms, drawn in one pass */
        u[i] = gsl_rng_uniform(r);
    uniform(p, r, &net->emb1, 2 * c->n_fourier, E);
    uniform(p, r, &net->emb2, E, E);
    for (size_t i = 0; c->n_classes && i < (c->n_classes + 1) * E; i++)
        p[net->class_table + i] = gsl_ran_gaussian_ziggurat(r, 1.0);
    uniform(p, r, &net->stem, 9 * net->patch * net->patch, net->ch[0]);
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
    uniform(p, r, &net->out, 9 * net->ch[0], net->patch * net->patch);
    free(u);
    if (net->params32) {   /* a float32 network: the same draws, rounded */
        for (size_t i = 0; i < net->nparams; i++)
            net->params32[i] = (float)p[i];
        free(p);
    }
    return FMD_OK;
}

void *fmd_unet_params(fmd_unet *net)
{
    return net->params32 ? (void *)net->params32 : (void *)net->params;
}

int fmd_unet_convert(const fmd_unet *net, fmd_dtype dtype, fmd_unet **out)
{
    if (!net || !out)
        return FMD_EINVAL;
    fmd_unet_config cfg = net->cfg;
    cfg.dtype = dtype;
    fmd_unet *copy;
    int st = fmd_unet_alloc(&cfg, &copy);
    if (st != FMD_OK)
        return st;
    for (size_t i = 0; i < net->nparams; i++) {
        const double v = net->params ? net->params[i] : (double)net->params32[i];
        if (copy->params32)
            copy->params32[i] = (float)v;
        else
            copy->params[i] = v;
    }
    *out = copy;
    return FMD_OK;
}

/* ---- forward and backward, typed (unet_typed.c) ---------------------------- */

static const double *params_of(const fmd_unet *net) { return net->params; }
static const float *params_of_f32(const fmd_unet *net) { return net->params32; }

#define FMD_TYPED_F32 0
#include "networks/unet_typed.c"
#define FMD_TYPED_F32 1
#include "networks/unet_typed.c"

/* The workspace of the network's type: one of the two is set. A
 * preconditioned read-out also keeps, for backward, each row's c_in, c_skip,
 * c_out, and room for the scaled input and the network's own gradient. */
struct fmd_unet_work {
    unet_work *f64;
    unet_work_f32 *f32;
    double *coef;    /* (n_max, 3) c_in, c_skip, c_out; NULL for PLAIN */
    double *scratch; /* (n_max, d) c_in x, then d loss / d F and d loss / d (c_in x) */
};

void fmd_unet_preconditioning(const fmd_unet_config *cfg, double t, double *c_in, double *c_skip, double *c_out)
{
    if (cfg->output == FMD_OUT_PLAIN) {
        *c_in = 1.0, *c_skip = 0.0, *c_out = 1.0;
        return;
    }
    fmd_sched_point p;
    fmd_schedule_at(&cfg->schedule, t, &p);
    const double s = cfg->sigma_data;
    *c_in = 1.0 / sqrt(p.alpha * p.alpha * s * s + p.beta * p.beta);   /* 1 / sqrt(v): EDM's c_in */
    fmd_mlp_readout(cfg->output, s, p.alpha, p.beta, c_skip, c_out);
}

int fmd_unet_work_alloc(const fmd_unet *net, size_t n_max, fmd_unet_work **out)
{
    if (!net || !out || n_max == 0)
        return FMD_EINVAL;
    fmd_unet_work *w = calloc(1, sizeof *w);
    if (!w)
        return FMD_ENOMEM;
    int st = net->params32 ? work_alloc_f32(net, n_max, &w->f32) : work_alloc(net, n_max, &w->f64);
    if (st == FMD_OK && net->cfg.output != FMD_OUT_PLAIN) {
        w->coef = malloc(n_max * 3 * sizeof(double));
        w->scratch = malloc(n_max * net->cfg.side * net->cfg.side * sizeof(double));
        st = w->coef && w->scratch ? FMD_OK : FMD_ENOMEM;
    }
    if (st != FMD_OK) {
        fmd_unet_work_free(w);
        return st;
    }
    *out = w;
    return FMD_OK;
}

void fmd_unet_work_free(fmd_unet_work *w)
{
    if (!w)
        return;
    work_free(w->f64);
    work_free_f32(w->f32);
    free(w->coef), free(w->scratch);
    free(w);
}

int fmd_unet_forward(const fmd_unet *net, fmd_unet_work *w, size_t n, const double *x, const double *t,
                     const int *labels, double *out)
{
    if (!net || !w || !x || !t || !out || n == 0 || (net->params32 ? !w->f32 : !w->f64))
        return FMD_EINVAL;
    if (net->cfg.output == FMD_OUT_PLAIN)
        return net->params32 ? forward_f32(net, w->f32, n, x, t, labels, out) : forward(net, w->f64, n, x, t, labels, out);
    /* out = c_skip x + c_out F(c_in x, t) (the read-out above, EDM's preconditioning) */
    const size_t d = net->cfg.side * net->cfg.side;
    if (n > (w->f32 ? w->f32->n_max : w->f64->n_max))
        return FMD_EINVAL;
    for (size_t i = 0; i < n; i++) {
        double *c = w->coef + 3 * i;
        fmd_unet_preconditioning(&net->cfg, t[i], &c[0], &c[1], &c[2]);
        for (size_t k = 0; k < d; k++)
            w->scratch[i * d + k] = c[0] * x[i * d + k];
    }
    const int st = net->params32 ? forward_f32(net, w->f32, n, w->scratch, t, labels, out)
                                 : forward(net, w->f64, n, w->scratch, t, labels, out);
    for (size_t i = 0; st == FMD_OK && i < n; i++) {
        const double *c = w->coef + 3 * i;
        for (size_t k = 0; k < d; k++)
            out[i * d + k] = c[1] * x[i * d + k] + c[2] * out[i * d + k];
    }
    return st;
}

int fmd_unet_backward(const fmd_unet *net, fmd_unet_work *w, size_t n, const double *dout, void *grad, double *dx)
{
    if (!net || !w || !dout || !grad || n == 0 || (net->params32 ? !w->f32 : !w->f64))
        return FMD_EINVAL;
    if (net->cfg.output == FMD_OUT_PLAIN)
        return net->params32 ? backward_f32(net, w->f32, n, dout, grad, dx) : backward(net, w->f64, n, dout, grad, dx);
    /* the read-out's chain rule: d/dF = c_out dout; d/dx = c_skip dout + c_in d/d(c_in x) */
    const size_t d = net->cfg.side * net->cfg.side;
    if (n > (w->f32 ? w->f32->n_max : w->f64->n_max))
        return FMD_EINVAL;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < d; k++)
            w->scratch[i * d + k] = w->coef[3 * i + 2] * dout[i * d + k];
    const int st = net->params32 ? backward_f32(net, w->f32, n, w->scratch, grad, dx)
                                 : backward(net, w->f64, n, w->scratch, grad, dx);
    for (size_t i = 0; st == FMD_OK && dx && i < n; i++) {
        const double *c = w->coef + 3 * i;
        for (size_t k = 0; k < d; k++)
            dx[i * d + k] = c[0] * dx[i * d + k] + c[1] * dout[i * d + k];
    }
    return st;
}

