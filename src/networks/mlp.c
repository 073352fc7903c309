/* mlp.c -- forward and backward of the MLP, every product through fmd_gemm
 * (or its float32 twin fmd_gemm_f32).
 *
 * The layer loops are written once; the few elementwise steps they call
 * (bias and activation, the activation's derivative, conversions at the
 * edges) come in a float64 and a float32 version side by side. */
#include "networks/mlp.h"
#include "base/matmul.h"
#include "base/status.h"
#include "base/vecmath.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int fmd_mlp_layout(const fmd_mlp_config *cfg, fmd_mlp *net)
{
    if (!cfg || !net)
        return FMD_EINVAL;
    if (cfg->d == 0 || cfg->depth == 0 || cfg->depth > FMD_MLP_MAX_HIDDEN || cfg->n_fourier > 64 ||
        cfg->n_classes > 4096 || cfg->n_out > 65536 || cfg->act > FMD_TANH || cfg->output > FMD_OUT_SCORE ||
        (cfg->output != FMD_OUT_PLAIN && (!(cfg->sigma_data > 0.0 && isfinite(cfg->sigma_data)) ||
                                          !cfg->schedule.eval || (cfg->n_out && cfg->n_out != cfg->d))) ||
        (cfg->dtype != FMD_F64 && cfg->dtype != FMD_F32))
        return FMD_EINVAL;
    for (size_t l = 0; l < cfg->depth; l++)
        if (cfg->width[l] == 0 || cfg->width[l] > 65536)
            return FMD_EINVAL;
    memset(net, 0, sizeof *net);
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
    return FMD_OK;
}

int fmd_mlp_alloc(const fmd_mlp_config *cfg, fmd_mlp **out)
{
    if (!cfg || !out)
        return FMD_EINVAL;
    *out = NULL;
    fmd_mlp *net = calloc(1, sizeof *net);
    if (!net)
        return FMD_ENOMEM;
    const int st = fmd_mlp_layout(cfg, net);
    if (st != FMD_OK) {
        free(net);
        return st;
    }
    if (cfg->dtype == FMD_F32)
        net->params32 = calloc(net->nparams, sizeof(float));
    else
        net->params = calloc(net->nparams, sizeof(double));
    if (!net->params && !net->params32) {
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
    free(net->params32);
    free(net);
}

double fmd_mlp_param(const fmd_mlp *net, size_t i)
{
    return net->params32 ? (double)net->params32[i] : net->params[i];
}

/* Store v as element i of an array of type t. */
static void put(fmd_dtype t, void *p, size_t i, double v)
{
    if (t == FMD_F32)
        ((float *)p)[i] = (float)v;
    else
        ((double *)p)[i] = v;
}

/* The address of element i of an array of type t. */
static void *at(fmd_dtype t, const void *p, size_t i)
{
    return (char *)p + i * fmd_dtype_size(t);
}

static void *param_at(const fmd_mlp *net, size_t off)
{
    return net->params32 ? (void *)(net->params32 + off) : (void *)(net->params + off);
}

void fmd_mlp_init(fmd_mlp *net, gsl_rng *r)
{
    void *p = param_at(net, 0);
    for (size_t l = 0; l < net->nlayers; l++) {
        double bound = 1.0 / sqrt((double)net->dims[l]);
        size_t nw = net->dims[l] * net->dims[l + 1], nb = net->dims[l + 1];
        for (size_t i = 0; i < nw; i++)
            put(net->cfg.dtype, p, net->w_off[l] + i, bound * (2.0 * gsl_rng_uniform(r) - 1.0));
        for (size_t i = 0; i < nb; i++)
            put(net->cfg.dtype, p, net->b_off[l] + i, bound * (2.0 * gsl_rng_uniform(r) - 1.0));
    }
}

int fmd_mlp_convert(const fmd_mlp *net, fmd_dtype dtype, fmd_mlp **out)
{
    if (!net || !out)
        return FMD_EINVAL;
    fmd_mlp_config cfg = net->cfg;
    cfg.dtype = dtype;
    int status = fmd_mlp_alloc(&cfg, out);
    for (size_t i = 0; status == FMD_OK && i < net->nparams; i++)
        put(dtype, param_at(*out, 0), i, fmd_mlp_param(net, i));
    return status;
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
    ws->dtype = net->cfg.dtype;
    const size_t es = fmd_dtype_size(ws->dtype);
    size_t widest = 0;
    int ok = n_max <= SIZE_MAX / 65536 / es;
    for (size_t l = 0; ok && l <= net->nlayers; l++) {
        widest = net->dims[l] > widest ? net->dims[l] : widest;
        ws->H[l] = malloc(n_max * net->dims[l] * es);
        ok &= ws->H[l] != NULL;
        if (l < net->nlayers) {
            ws->Z[l] = malloc(n_max * net->dims[l + 1] * es);
            ws->S[l] = malloc(n_max * net->dims[l + 1] * es);
            ws->G[l] = malloc(n_max * net->dims[l + 1] * es);
            ok &= ws->Z[l] && ws->S[l] && ws->G[l];
        }
    }
    ws->dH = ok ? malloc(n_max * widest * es) : NULL;
    if (ok && net->cfg.output != FMD_OUT_PLAIN)
        ok &= (ws->readout = malloc(n_max * 2 * sizeof(double))) != NULL;
    if (!ok || !ws->dH) {
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
    for (size_t l = 0; l < FMD_MLP_MAX_HIDDEN + 1; l++) {
        free(ws->Z[l]);
        free(ws->S[l]);
        free(ws->G[l]);
    }
    free(ws->dH);
    free(ws->readout);
    free(ws);
}

/* The widest layer: the row stride of the backward scratch dH, so that
 * slices at different layers never share a byte of it. */
static size_t widest(const fmd_mlp *net)
{
    size_t w = 0;
    for (size_t l = 0; l <= net->nlayers; l++)
        w = net->dims[l] > w ? net->dims[l] : w;
    return w;
}

/* C = A B (or with transposes), beta 0 or 1, in the network's type. */
static void gemm(fmd_dtype t, int ta, int tb, size_t m, size_t n, size_t k, const void *A, size_t lda,
                 const void *B, size_t ldb, int beta, void *C, size_t ldc)
{
    if (t == FMD_F32)
        fmd_gemm_f32(ta, tb, m, n, k, 1.0f, A, lda, B, ldb, (float)beta, C, ldc);
    else
        fmd_gemm(ta, tb, m, n, k, 1.0, A, lda, B, ldb, (double)beta, C, ldc);
}

/* ---- elementwise steps, float64 and float32 side by side ------------------ */

/* Z += b (each of n rows of width o); then H = act(Z), and for SiLU S =
 * sigmoid(Z) = 1 / (1 + exp(-Z)), kept for backward. One vector exp per
 * element (src/base/vecmath.h); SiLU(z) = z sigmoid(z). */
FMD_VECTOR_LOOPS
static void bias_activate(fmd_dtype t, fmd_activation a, size_t n, size_t o, void *Zv, const void *bv, void *Hv,
                          void *Sv)
{
    const size_t m = n * o;
    if (t == FMD_F32) {
        float *Z = Zv, *H = Hv, *S = Sv;
        const float *b = bv;
        if (a == FMD_SILU) {
            for (size_t i = 0; i < n; i++)   /* z = Z + b, and -z for the exponential, in one pass */
                for (size_t j = 0; j < o; j++) {
                    Z[i * o + j] += b[j];
                    S[i * o + j] = -Z[i * o + j];
                }
            fmd_vexpf(m, S, S);
            for (size_t k = 0; k < m; k++) {
                S[k] = 1.0f / (1.0f + S[k]);
                H[k] = Z[k] * S[k];
            }
        } else {
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < o; j++)
                    Z[i * o + j] += b[j];
            for (size_t k = 0; k < m; k++)
                H[k] = a == FMD_RELU ? (Z[k] > 0.0f ? Z[k] : 0.0f) : tanhf(Z[k]);
        }
    } else {
        double *Z = Zv, *H = Hv, *S = Sv;
        const double *b = bv;
        if (a == FMD_SILU) {
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < o; j++) {
                    Z[i * o + j] += b[j];
                    S[i * o + j] = -Z[i * o + j];
                }
            fmd_vexp(m, S, S);
            for (size_t k = 0; k < m; k++) {
                S[k] = 1.0 / (1.0 + S[k]);
                H[k] = Z[k] * S[k];
            }
        } else {
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < o; j++)
                    Z[i * o + j] += b[j];
            for (size_t k = 0; k < m; k++)
                H[k] = a == FMD_RELU ? (Z[k] > 0.0 ? Z[k] : 0.0) : tanh(Z[k]);
        }
    }
}

/* The last map is affine: out (float64) = Z + b. */
FMD_VECTOR_LOOPS
static void bias_output(fmd_dtype t, size_t n, size_t o, const void *Zv, const void *bv, double *out)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < o; j++)
            out[i * o + j] = t == FMD_F32 ? (double)(((const float *)Zv)[i * o + j] + ((const float *)bv)[j])
                                          : ((const double *)Zv)[i * o + j] + ((const double *)bv)[j];
}

/* G = dH act'(Z) for n rows of width w (dH's rows are ld apart): SiLU'(z) =
 * s (1 + z (1 - s)) with s = sigmoid(z) from forward; ReLU' = [z > 0];
 * tanh' = 1 - tanh^2. */
FMD_VECTOR_LOOPS
static void activation_backward(fmd_dtype t, fmd_activation a, size_t n, size_t w, const void *dHv, size_t ld,
                                const void *Zv, const void *Sv, void *Gv)
{
    if (t == FMD_F32) {
        const float *dH = dHv, *Z = Zv, *S = Sv;
        float *G = Gv;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < w; j++) {
                const size_t k = i * w + j;
                const float z = Z[k], s = a == FMD_SILU ? S[k] : 0.0f, th = a == FMD_TANH ? tanhf(z) : 0.0f;
                const float g = a == FMD_SILU ? s * (1.0f + z * (1.0f - s)) : a == FMD_RELU ? (z > 0.0f) : 1.0f - th * th;
                G[k] = dH[i * ld + j] * g;
            }
    } else {
        const double *dH = dHv, *Z = Zv, *S = Sv;
        double *G = Gv;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < w; j++) {
                const size_t k = i * w + j;
                const double z = Z[k], s = a == FMD_SILU ? S[k] : 0.0, th = a == FMD_TANH ? tanh(z) : 0.0;
                const double g = a == FMD_SILU ? s * (1.0 + z * (1.0 - s)) : a == FMD_RELU ? (z > 0.0) : 1.0 - th * th;
                G[k] = dH[i * ld + j] * g;
            }
    }
}

/* gb (+)= column sums of G (n, o), summed in float64 whatever the type. */
FMD_VECTOR_LOOPS
static void bias_gradient(fmd_dtype t, size_t n, size_t o, const void *Gv, void *gb, int accumulate)
{
    enum { CHUNK = 256 };
    double acc[CHUNK];
    for (size_t j0 = 0; j0 < o; j0 += CHUNK) {
        const size_t w = j0 + CHUNK <= o ? CHUNK : o - j0;
        for (size_t j = 0; j < w; j++)
            acc[j] = accumulate ? (t == FMD_F32 ? ((float *)gb)[j0 + j] : ((double *)gb)[j0 + j]) : 0.0;
        for (size_t i = 0; i < n; i++) {
            if (t == FMD_F32) {
                const float *g = (const float *)Gv + i * o + j0;
                for (size_t j = 0; j < w; j++)
                    acc[j] += g[j];
            } else {
                const double *g = (const double *)Gv + i * o + j0;
                for (size_t j = 0; j < w; j++)
                    acc[j] += g[j];
            }
        }
        for (size_t j = 0; j < w; j++)
            put(t, gb, j0 + j, acc[j]);
    }
}

/* ---- forward ------------------------------------------------------------ */

static int check_rows(const fmd_mlp *net, const fmd_mlp_workspace *ws, size_t row0, size_t n)
{
    if (!net || !ws || n == 0 || row0 > ws->n_max || n > ws->n_max - row0 || ws->dtype != net->cfg.dtype)
        return FMD_EINVAL;
    return FMD_OK;
}

void fmd_mlp_readout(fmd_mlp_output kind, double s, double a, double b, double *c_skip, double *c_out)
{
    const double v = a * a * s * s + b * b, r = sqrt(v);
    switch (kind) {
    case FMD_OUT_NOISE: *c_skip = b / v, *c_out = a * s / r; break;
    case FMD_OUT_DATA: *c_skip = a * s * s / v, *c_out = b * s / r; break;
    case FMD_OUT_SCORE: *c_skip = -1.0 / v, *c_out = -a * s / (b * r); break;   /* b = 0 (t = 1): infinite */
    default: *c_skip = 0.0, *c_out = 1.0; break;
    }
}

/* A preconditioned read-out at row i (time t): its c_skip and c_out. */
static void readout_at(const fmd_mlp_config *c, double t, double *c_skip, double *c_out)
{
    fmd_sched_point p;
    fmd_schedule_at(&c->schedule, t, &p);
    fmd_mlp_readout(c->output, c->sigma_data, p.alpha, p.beta, c_skip, c_out);
}

/* The forward pass of rows [row0, row0 + n) of ws; row i's point is
 * x[i mod x_rows] (x_rows = n: a point a row). */
static int forward(const fmd_mlp *net, fmd_mlp_workspace *ws, size_t row0, size_t n, const double *x, size_t x_rows,
                   const double *t, const int *labels, double *out)
{
    if (check_rows(net, ws, row0, n) != FMD_OK || !x || !t || !out || x_rows == 0)
        return FMD_EINVAL;
    const fmd_mlp_config *c = &net->cfg;
    const fmd_dtype ty = c->dtype;
    const size_t d = c->d, n_in = net->dims[0];
    void *H0 = at(ty, ws->H[0], row0 * n_in);
    for (size_t i = 0; i < n; i++) {   /* inputs: [x, time features, one-hot label] */
        const size_t r = i * n_in;
        const double *xi = x + (i % x_rows) * d;
        if (ty == FMD_F32)
            for (size_t k = 0; k < d; k++)
                ((float *)H0)[r + k] = (float)xi[k];
        else
            memcpy((double *)H0 + r, xi, d * sizeof(double));
        size_t col = d;
        if (c->n_fourier == 0) {
            put(ty, H0, r + col++, t[i]);
        } else {
            for (size_t j = 1; j <= c->n_fourier; j++) {
                put(ty, H0, r + col++, sin(M_PI * (double)j * t[i]));
                put(ty, H0, r + col++, cos(M_PI * (double)j * t[i]));
            }
        }
        if (c->n_classes) {
            int y = labels ? labels[i] : (int)c->n_classes;
            if (y < 0 || (size_t)y > c->n_classes)
                return FMD_EINVAL;
            for (size_t k = 0; k <= c->n_classes; k++)
                put(ty, H0, r + col + k, (size_t)y == k ? 1.0 : 0.0);
        }
    }
    for (size_t l = 0; l < net->nlayers; l++) {
        const size_t in = net->dims[l], o = net->dims[l + 1];
        const void *W = param_at(net, net->w_off[l]), *b = param_at(net, net->b_off[l]);
        void *Hl = at(ty, ws->H[l], row0 * in), *Z = at(ty, ws->Z[l], row0 * o);
        gemm(ty, 0, 0, n, o, in, Hl, in, W, o, 0, Z, o);                     /* Z = H W */
        if (l + 1 < net->nlayers)                                            /* H' = act(Z + b) */
            bias_activate(ty, c->act, n, o, Z, b, at(ty, ws->H[l + 1], row0 * o), at(ty, ws->S[l], row0 * o));
        else
            bias_output(ty, n, o, Z, b, out);                                /* last map: affine */
    }
    if (c->output != FMD_OUT_PLAIN)   /* out = c_skip x + c_out F (EDM preconditioning) */
        for (size_t i = 0; i < n; i++) {
            double c_skip, c_out;
            readout_at(c, t[i], &c_skip, &c_out);
            if (ws->readout)   /* kept for backprop (a forward-only workspace has none) */
                ws->readout[2 * (row0 + i)] = c_skip, ws->readout[2 * (row0 + i) + 1] = c_out;
            const double *xi = x + (i % x_rows) * d;
            for (size_t k = 0; k < d; k++)
                out[i * d + k] = c_skip * xi[k] + c_out * out[i * d + k];
        }
    return FMD_OK;
}

int fmd_mlp_forward_rows(const fmd_mlp *net, fmd_mlp_workspace *ws, size_t row0, size_t n, const double *x,
                         const double *t, const int *labels, double *out)
{
    return forward(net, ws, row0, n, x, n, t, labels, out);
}

int fmd_mlp_forward(const fmd_mlp *net, fmd_mlp_workspace *ws, size_t n, const double *x,
                    const double *t, const int *labels, double *out)
{
    return forward(net, ws, 0, n, x, n, t, labels, out);
}

int fmd_mlp_forward_repeat(const fmd_mlp *net, fmd_mlp_workspace *ws, size_t n, size_t copies, const double *x,
                           const double *t, const int *labels, double *out)
{
    if (copies == 0 || n > SIZE_MAX / copies)
        return FMD_EINVAL;
    return forward(net, ws, 0, n * copies, x, n, t, labels, out);
}

/* ---- backward ----------------------------------------------------------- */

int fmd_mlp_backprop_rows(const fmd_mlp *net, fmd_mlp_workspace *ws, size_t row0, size_t n, const double *dout,
                          double *dx)
{
    if (check_rows(net, ws, row0, n) != FMD_OK || !dout || (net->cfg.output != FMD_OUT_PLAIN && !ws->readout))
        return FMD_EINVAL;
    const fmd_dtype ty = net->cfg.dtype;
    const size_t L = net->nlayers - 1, ld = widest(net);
    void *dH = at(ty, ws->dH, row0 * ld);
    const size_t n_out = net->dims[L + 1];
    const double *cc = ws->readout ? ws->readout + 2 * row0 : NULL;   /* preconditioned: d out / d F = c_out */
    for (size_t k = 0; k < n * n_out; k++)   /* last map is affine: G = dout (times c_out) */
        put(ty, ws->G[L], row0 * n_out + k, cc ? cc[2 * (k / n_out) + 1] * dout[k] : dout[k]);
    for (size_t l = L + 1; l-- > 0;) {
        const size_t in = net->dims[l], o = net->dims[l + 1];
        if (l == 0 && !dx)
            break;
        gemm(ty, 0, 1, n, in, o, at(ty, ws->G[l], row0 * o), o, param_at(net, net->w_off[l]), o, 0, dH,
             ld);                                                            /* dH = G W^T */
        if (l == 0) {   /* the input layer: keep the x columns of dH */
            for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < net->cfg.d; k++)
                    dx[i * net->cfg.d + k] = (ty == FMD_F32 ? (double)((float *)dH)[i * ld + k] : ((double *)dH)[i * ld + k]) +
                                             (cc ? cc[2 * i] * dout[i * n_out + k] : 0.0);   /* + c_skip dout */
            break;
        }
        activation_backward(ty, net->cfg.act, n, in, dH, ld, at(ty, ws->Z[l - 1], row0 * in),
                            at(ty, ws->S[l - 1], row0 * in), at(ty, ws->G[l - 1], row0 * in));   /* G' = dH act'(Z') */
    }
    return FMD_OK;
}

int fmd_mlp_grad_block(const fmd_mlp *net, const fmd_mlp_workspace *ws, size_t n, size_t l, size_t i0, size_t i1,
                       int with_bias, int accumulate, void *grad)
{
    if (check_rows(net, ws, 0, n) != FMD_OK || !grad || l >= net->nlayers || i0 > i1 || i1 > net->dims[l])
        return FMD_EINVAL;
    const fmd_dtype ty = net->cfg.dtype;
    const size_t in = net->dims[l], o = net->dims[l + 1];
    if (i1 > i0)   /* dW[i0:i1, :] = H[:, i0:i1]^T G, one product over the whole batch */
        gemm(ty, 1, 0, i1 - i0, o, n, at(ty, ws->H[l], i0), in, ws->G[l], o, accumulate,
             at(ty, grad, net->w_off[l] + i0 * o), o);
    if (with_bias)   /* db = sum over rows of G */
        bias_gradient(ty, n, o, ws->G[l], at(ty, grad, net->b_off[l]), accumulate);
    return FMD_OK;
}

int fmd_mlp_backward(const fmd_mlp *net, fmd_mlp_workspace *ws, size_t n, const double *dout,
                     void *grad)
{
    if (!grad)
        return FMD_EINVAL;
    int status = fmd_mlp_backprop_rows(net, ws, 0, n, dout, NULL);
    for (size_t l = 0; status == FMD_OK && l < net->nlayers; l++)
        status = fmd_mlp_grad_block(net, ws, n, l, 0, net->dims[l], 1, 1, grad);
    return status;
}

int fmd_mlp_input_grad(const fmd_mlp *net, fmd_mlp_workspace *ws, size_t n, const double *dout,
                       double *dx)
{
    return dx ? fmd_mlp_backprop_rows(net, ws, 0, n, dout, dx) : FMD_EINVAL;
}
