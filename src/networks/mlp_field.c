/* mlp_field.c -- the network of chapters 4-5 as a vector field u_t(x) for
 * the solvers: forward passes at one time t for a block of points, with the
 * label slot set for classifier-free guidance (mlp.h). */
#include "networks/mlp.h"
#include "base/status.h"
#include "base/team.h"
#include "base/thread_slot.h"

#include <stdlib.h>
#include <string.h>

/* Scratch of one field evaluation of up to n rows: a forward-only workspace
 * (no G, no dH), the rows' times and labels, and their outputs. A guided
 * evaluation runs its two passes as one of 2n rows (each point twice, "no
 * label" then y; fmd_mlp_forward_repeat): one product of 100 rows is faster
 * than two of 50 (dgemm 1.6x at Fashion-MNIST's shapes). */
typedef struct {
    size_t n;       /* rows it holds (2 n_points for guidance) */
    fmd_mlp_workspace *ws;
    double *t;      /* (n) */
    int *y;         /* (n) */
    double *out;    /* (n, outputs): d, or 2d for a two-headed network */
} field_scratch;

static void scratch_free(field_scratch *S)
{
    fmd_mlp_workspace_free(S->ws);
    free(S->t);
    free(S->y);
    free(S->out);
    memset(S, 0, sizeof *S);
}

static int scratch_alloc(const fmd_mlp *net, size_t n, field_scratch *S)
{
    memset(S, 0, sizeof *S);
    S->ws = calloc(1, sizeof *S->ws);
    S->t = malloc(n * sizeof(double));
    S->y = malloc(n * sizeof(int));
    S->out = malloc(n * net->dims[net->nlayers] * sizeof(double));
    int ok = S->ws && S->t && S->y && S->out;
    const size_t es = fmd_dtype_size(net->cfg.dtype);
    if (ok) {
        S->ws->n_max = n;
        S->ws->dtype = net->cfg.dtype;
        for (size_t l = 0; ok && l < net->nlayers; l++) {
            S->ws->H[l] = malloc(n * net->dims[l] * es);
            S->ws->Z[l] = malloc(n * net->dims[l + 1] * es);
            S->ws->S[l] = malloc(n * net->dims[l + 1] * es);
            ok = S->ws->H[l] && S->ws->Z[l] && S->ws->S[l];
        }
    }
    if (!ok) {
        scratch_free(S);
        return FMD_ENOMEM;
    }
    S->n = n;
    return FMD_OK;
}

/* f(x, t, y) for n points, label y for all of them (y = C: no label;
 * ignored by a network without classes). */
static int forward_label(const fmd_mlp *net, field_scratch *S, double t, size_t n, const double *x, int y, double *out)
{
    for (size_t i = 0; i < n; i++)
        S->t[i] = t, S->y[i] = y;
    return fmd_mlp_forward(net, S->ws, n, x, S->t, S->y, out);
}

/* ---- scratch kept between calls, one per thread ---------------------------- */

struct fmd_mlp_eval {
    const fmd_mlp *net;
    fmd_thread_slots slots;                   /* which thread has which scratch */
    field_scratch slot[FMD_THREAD_SLOTS];
};

int fmd_mlp_eval_alloc(const fmd_mlp *net, fmd_mlp_eval **out)
{
    if (!net || !out)
        return FMD_EINVAL;
    *out = calloc(1, sizeof **out);
    if (!*out)
        return FMD_ENOMEM;
    (*out)->net = net;
    fmd_thread_slots_init(&(*out)->slots);
    return FMD_OK;
}

void fmd_mlp_eval_free(fmd_mlp_eval *ev)
{
    if (!ev)
        return;
    for (size_t i = 0; i < ev->slots.used; i++)
        scratch_free(&ev->slot[i]);
    fmd_thread_slots_destroy(&ev->slots);
    free(ev);
}

/* The calling thread's scratch (src/base/thread_slot.h), for at least n rows;
 * NULL if every slot is taken or memory ran out. */
static field_scratch *scratch_of_thread(fmd_mlp_eval *ev, size_t n)
{
    const long i = fmd_thread_slot(&ev->slots);
    if (i < 0)
        return NULL;
    field_scratch *S = &ev->slot[i];
    if (S->n < n) {   /* first call, or a larger block */
        scratch_free(S);
        if (scratch_alloc(ev->net, n, S) != FMD_OK)
            return NULL;
    }
    return S;
}

/* ---- the fields --------------------------------------------------------------- */

/* Head `head` (outputs [head d, (head + 1) d)) of an unconditional forward
 * pass with scratch S: written straight into out for a one-headed network. */
static int head_of(const fmd_mlp *net, field_scratch *S, double t, size_t n, const double *x, size_t head, double *out)
{
    const size_t d = net->cfg.d, w = net->dims[net->nlayers];
    if (w == d)
        return forward_label(net, S, t, n, x, (int)net->cfg.n_classes, out);
    int status = forward_label(net, S, t, n, x, (int)net->cfg.n_classes, S->out);
    for (size_t i = 0; status == FMD_OK && i < n; i++)
        memcpy(out + i * d, S->out + i * w + head * d, d * sizeof(double));
    return status;
}

/* d outputs, or 2d (the field and the score, section 4.2) */
static int fits(const fmd_mlp *net, size_t d, size_t head)
{
    const size_t w = net->dims[net->nlayers];
    return d == net->cfg.d && (w == d ? head == 0 : w == 2 * d && head < 2);
}

int fmd_mlp_field(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    const fmd_mlp *net = params;
    if (!net || !fits(net, d, 0) || n == 0)
        return FMD_EINVAL;
    field_scratch S;
    int status = scratch_alloc(net, n, &S);
    if (status == FMD_OK)
        status = head_of(net, &S, t, n, x, 0, out);   /* unconditional */
    scratch_free(&S);
    return status;
}

int fmd_mlp_head_field(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    const fmd_mlp_head *h = params;
    if (!h || !h->net || !fits(h->net, d, h->head) || n == 0)
        return FMD_EINVAL;
    field_scratch S;
    int status = scratch_alloc(h->net, n, &S);
    if (status == FMD_OK)
        status = head_of(h->net, &S, t, n, x, h->head, out);
    scratch_free(&S);
    return status;
}

int fmd_mlp_eval_field(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    fmd_mlp_eval *ev = params;
    if (!ev || !fits(ev->net, d, 0) || n == 0)
        return FMD_EINVAL;
    field_scratch *S = scratch_of_thread(ev, n);
    if (!S)
        return fmd_mlp_field(t, n, d, x, out, (void *)ev->net);   /* no slot: scratch of its own */
    return head_of(ev->net, S, t, n, x, 0, out);
}

int fmd_mlp_guided_field(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    const fmd_mlp_guidance *G = params;
    if (!G || !G->net || d != G->net->cfg.d || G->net->dims[G->net->nlayers] != d || G->net->cfg.n_classes == 0 ||
        G->y < 0 || (size_t)G->y >= G->net->cfg.n_classes || n == 0 || (G->eval && G->eval->net != G->net))
        return FMD_EINVAL;
    field_scratch own, *S = G->eval ? scratch_of_thread(G->eval, 2 * n) : NULL;
    if (!S) {
        if (scratch_alloc(G->net, 2 * n, &own) != FMD_OK)
            return FMD_ENOMEM;
        S = &own;
    }
    for (size_t i = 0; i < n; i++) {   /* rows 0..n-1: no label; n..2n-1: class y; the same points */
        S->t[i] = S->t[n + i] = t;
        S->y[i] = (int)G->net->cfg.n_classes;
        S->y[n + i] = G->y;
    }
    int status = fmd_mlp_forward_repeat(G->net, S->ws, n, 2, x, S->t, S->y, S->out);
    const double *uncond = S->out, *cond = S->out + n * d;
    for (size_t i = 0; status == FMD_OK && i < n * d; i++)
        out[i] = (1.0 - G->w) * uncond[i] + G->w * cond[i];   /* classifier-free guidance */
    if (S == &own)
        scratch_free(&own);
    return status;
}
