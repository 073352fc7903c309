/* mlp.c -- forward and backward of the MLP, every product through fmd_gemm. */
#include "mlp.h"
#include "matmul.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int fmd_mlp_alloc(const fmd_mlp_config *cfg, fmd_mlp **out)
{
    if (!cfg || !out)
        return FMD_EINVAL;
    *out = NULL;
    if (cfg->d == 0 || cfg->depth == 0 || cfg->depth > FMD_MLP_MAX_HIDDEN || cfg->n_fourier > 64 ||
        cfg->n_classes > 4096 || cfg->n_out > 65536 || cfg->act > FMD_TANH)
        return FMD_EINVAL;
    for (size_t l = 0; l < cfg->depth; l++)
        if (cfg->width[l] == 0 || cfg->width[l] > 65536)
            return FMD_EINVAL;
    fmd_mlp *net = calloc(1, sizeof *net);
    if (!net)
        return FMD_ENOMEM;
    net->cfg = *cfg;
    net->nlayers = cfg->depth + 1;
    net->dims[0] = cfg->d + (cfg->n_fourier ? 2 * cfg->n_fourier : 1) +
                   (cfg->n_classes ? cfg->n_classes + 1 : 0);
    for (size_t l = 0; l < cfg->depth; l++)
        net->dims[l + 1] = cfg->width[l];
    net->dims[net->nlayers] = cfg->n_out ? cfg->n_out : cfg->d;
    size_t off = 0;
    for (size_t l = 0; l < net->nlayers; l++) {
        net->w_off[l] = off;
        off += net->dims[l] * net->dims[l + 1];
        net->b_off[l] = off;
        off += net->dims[l + 1];
    }
    net->nparams = off;
    net->params = calloc(off, sizeof(double));
    if (!net->params) {
        free(net);
        return FMD_ENOMEM;
    }
    *out = net;
    return FMD_OK;
}

void fmd_mlp_free(fmd_mlp *net)
{
    if (!net)
        return;
    free(net->params);
    free(net);
}

void fmd_mlp_init(fmd_mlp *net, gsl_rng *r)
{
    for (size_t l = 0; l < net->nlayers; l++) {
        double bound = 1.0 / sqrt((double)net->dims[l]);
        size_t nw = net->dims[l] * net->dims[l + 1], nb = net->dims[l + 1];
        for (size_t i = 0; i < nw; i++)
            net->params[net->w_off[l] + i] = bound * (2.0 * gsl_rng_uniform(r) - 1.0);
        for (size_t i = 0; i < nb; i++)
            net->params[net->b_off[l] + i] = bound * (2.0 * gsl_rng_uniform(r) - 1.0);
    }
}

int fmd_mlp_workspace_alloc(const fmd_mlp *net, size_t n_max, fmd_mlp_workspace **out)
{
    if (!net || !out || n_max == 0)
        return FMD_EINVAL;
    *out = NULL;
    fmd_mlp_workspace *ws = calloc(1, sizeof *ws);
    if (!ws)
        return FMD_ENOMEM;
    ws->n_max = n_max;
    size_t widest = 0;
    int ok = 1;
    for (size_t l = 0; l <= net->nlayers; l++) {
        widest = net->dims[l] > widest ? net->dims[l] : widest;
        ws->H[l] = malloc(n_max * net->dims[l] * sizeof(double));
        ok &= ws->H[l] != NULL;
        if (l < net->nlayers) {
            ws->Z[l] = malloc(n_max * net->dims[l + 1] * sizeof(double));
            ok &= ws->Z[l] != NULL;
        }
    }
    ws->dA = malloc(n_max * widest * sizeof(double));
    ws->dB = malloc(n_max * widest * sizeof(double));
    if (!ok || !ws->dA || !ws->dB) {
        fmd_mlp_workspace_free(ws);
        return FMD_ENOMEM;
    }
    *out = ws;
    return FMD_OK;
}

void fmd_mlp_workspace_free(fmd_mlp_workspace *ws)
{
    if (!ws)
        return;
    for (size_t l = 0; l < FMD_MLP_MAX_HIDDEN + 2; l++)
        free(ws->H[l]);
    for (size_t l = 0; l < FMD_MLP_MAX_HIDDEN + 1; l++)
        free(ws->Z[l]);
    free(ws->dA);
    free(ws->dB);
    free(ws);
}

/* ---- activations and their derivatives, side by side ------------------- */

static double act(fmd_activation a, double z)
{
    switch (a) {
    case FMD_SILU: return z / (1.0 + exp(-z));   /* z sigmoid(z) */
    case FMD_RELU: return z > 0.0 ? z : 0.0;
    default:       return tanh(z);
    }
}

static double act_grad(fmd_activation a, double z)
{
    switch (a) {
    case FMD_SILU: {
        double s = 1.0 / (1.0 + exp(-z));
        return s * (1.0 + z * (1.0 - s));        /* d/dz z sigmoid(z) */
    }
    case FMD_RELU: return z > 0.0 ? 1.0 : 0.0;
    default: {
        double th = tanh(z);
        return 1.0 - th * th;
    }
    }
}

/* ---- forward ------------------------------------------------------------ */

int fmd_mlp_forward(const fmd_mlp *net, fmd_mlp_workspace *ws, size_t n, const double *x,
                    const double *t, const int *labels, double *out)
{
    if (!net || !ws || !x || !t || !out || n == 0 || n > ws->n_max)
        return FMD_EINVAL;
    const fmd_mlp_config *c = &net->cfg;
    const size_t d = c->d, n_in = net->dims[0];
    double *H0 = ws->H[0];
    for (size_t i = 0; i < n; i++) {   /* inputs: [x, time features, one-hot label] */
        double *h = H0 + i * n_in;
        memcpy(h, x + i * d, d * sizeof(double));
        size_t col = d;
        if (c->n_fourier == 0) {
            h[col++] = t[i];
        } else {
            for (size_t j = 1; j <= c->n_fourier; j++) {
                h[col++] = sin(M_PI * (double)j * t[i]);
                h[col++] = cos(M_PI * (double)j * t[i]);
            }
        }
        if (c->n_classes) {
            int y = labels ? labels[i] : (int)c->n_classes;
            if (y < 0 || (size_t)y > c->n_classes)
                return FMD_EINVAL;
            memset(h + col, 0, (c->n_classes + 1) * sizeof(double));
            h[col + (size_t)y] = 1.0;
        }
    }
    for (size_t l = 0; l < net->nlayers; l++) {
        const size_t in = net->dims[l], o = net->dims[l + 1];
        const double *W = net->params + net->w_off[l], *b = net->params + net->b_off[l];
        double *Z = ws->Z[l];
        fmd_gemm(0, 0, n, o, in, 1.0, ws->H[l], in, W, o, 0.0, Z, o);   /* Z = H W */
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < o; j++)
                Z[i * o + j] += b[j];                                     /* + b */
        if (l + 1 < net->nlayers) {
            double *Hn = ws->H[l + 1];
            for (size_t i = 0; i < n * o; i++)
                Hn[i] = act(c->act, Z[i]);                                /* H' = act(Z) */
        } else {
            memcpy(out, Z, n * o * sizeof(double));                       /* last map: affine */
        }
    }
    return FMD_OK;
}

/* ---- backward ----------------------------------------------------------- */

/* Backpropagate dout (n, outputs) through the layers of the last forward:
 * grad (nparams) += d loss / d theta if grad is non-NULL, and dx (n, d) =
 * d loss / d x (the data columns of the input) if dx is non-NULL. */
static int backprop(const fmd_mlp *net, fmd_mlp_workspace *ws, size_t n, const double *dout,
                    double *grad, double *dx)
{
    if (!net || !ws || !dout || (!grad && !dx) || n == 0 || n > ws->n_max)
        return FMD_EINVAL;
    double *dZ = ws->dA, *dH = ws->dB;
    memcpy(dZ, dout, n * net->dims[net->nlayers] * sizeof(double));   /* last map is affine: dZ = dout */
    for (size_t l = net->nlayers; l-- > 0;) {
        const size_t in = net->dims[l], o = net->dims[l + 1];
        const double *W = net->params + net->w_off[l];
        if (grad) {
            double *gW = grad + net->w_off[l], *gb = grad + net->b_off[l];
            fmd_gemm(1, 0, in, o, n, 1.0, ws->H[l], in, dZ, o, 1.0, gW, o);   /* dW += H^T dZ */
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < o; j++)
                    gb[j] += dZ[i * o + j];                                     /* db += sum_i dZ */
        }
        if (l == 0 && !dx)
            break;
        fmd_gemm(0, 1, n, in, o, 1.0, dZ, o, W, o, 0.0, dH, in);           /* dH = dZ W^T */
        if (l == 0) {   /* the input layer: keep the x columns of dH */
            for (size_t i = 0; i < n; i++)
                memcpy(dx + i * net->cfg.d, dH + i * in, net->cfg.d * sizeof(double));
            break;
        }
        const double *Zp = ws->Z[l - 1];
        for (size_t i = 0; i < n * in; i++)
            dH[i] *= act_grad(net->cfg.act, Zp[i]);                         /* dZ' = dH act'(Z') */
        double *tmp = dZ;
        dZ = dH;
        dH = tmp;
    }
    return FMD_OK;
}

int fmd_mlp_backward(const fmd_mlp *net, fmd_mlp_workspace *ws, size_t n, const double *dout,
                     double *grad)
{
    return grad ? backprop(net, ws, n, dout, grad, NULL) : FMD_EINVAL;
}

int fmd_mlp_input_grad(const fmd_mlp *net, fmd_mlp_workspace *ws, size_t n, const double *dout,
                       double *dx)
{
    return dx ? backprop(net, ws, n, dout, NULL, dx) : FMD_EINVAL;
}

/* f(x, t, y) at one time for n points, label y for all of them (y = C: no
 * label; ignored by a network without classes); its own workspace. */
static int forward_at(const fmd_mlp *net, double t, size_t n, const double *x, int y, double *out)
{
    fmd_mlp_workspace *ws;
    int status = fmd_mlp_workspace_alloc(net, n, &ws);
    double *ts = malloc(n * sizeof(double));
    int *ys = malloc(n * sizeof(int));
    if (status == FMD_OK && ts && ys) {
        for (size_t i = 0; i < n; i++)
            ts[i] = t, ys[i] = y;
        status = fmd_mlp_forward(net, ws, n, x, ts, ys, out);
    } else if (status == FMD_OK) {
        status = FMD_ENOMEM;
    }
    free(ts);
    free(ys);
    fmd_mlp_workspace_free(ws);
    return status;
}

int fmd_mlp_field(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    const fmd_mlp *net = params;
    if (!net || d != net->cfg.d || net->dims[net->nlayers] != d)
        return FMD_EINVAL;
    return forward_at(net, t, n, x, (int)net->cfg.n_classes, out);   /* unconditional */
}

int fmd_mlp_guided_field(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    const fmd_mlp_guidance *G = params;
    if (!G || !G->net || d != G->net->cfg.d || G->net->dims[G->net->nlayers] != d || G->net->cfg.n_classes == 0 || G->y < 0 ||
        (size_t)G->y >= G->net->cfg.n_classes)
        return FMD_EINVAL;
    double *cond = malloc(n * d * sizeof(double));
    if (!cond)
        return FMD_ENOMEM;
    int status = forward_at(G->net, t, n, x, (int)G->net->cfg.n_classes, out);   /* u(x | no label) */
    if (status == FMD_OK)
        status = forward_at(G->net, t, n, x, G->y, cond);                        /* u(x | y) */
    for (size_t i = 0; status == FMD_OK && i < n * d; i++)
        out[i] = (1.0 - G->w) * out[i] + G->w * cond[i];   /* classifier-free guidance */
    free(cond);
    return status;
}
