/* mlp_roofline.h -- the roofline of the network's work: what its dense
 * products alone cost, issued exactly as the library issues them.
 *
 * A training step (src/networks/train.c) is products, activations (SiLU, one per
 * hidden unit and row: an exponential and a division) and Adam (seven
 * numbers moved per parameter: theta, the gradient, m and v read; theta, m,
 * v written). Its roofline is
 *     T = T_products + SiLUs / (SiLU rate) + Adam's bytes / (copy rate),
 * with T_products measured by running the very products of a step -- the
 * same shapes, transposes, slices and parameter blocks, on as many threads
 * -- and nothing else, and the SiLU rate that of SLEEF's exp and the
 * sigmoid's division over an array in cache (bench/bench.h). Sampling by the
 * ODE is the same without Adam, the products those of the forward pass on
 * the solver's blocks of particles. */
#ifndef FMD_MLP_ROOFLINE_H
#define FMD_MLP_ROOFLINE_H

#include "bench.h"

static void any_gemm(fmd_dtype t, int ta, int tb, size_t m, size_t n, size_t k, const void *A, size_t lda,
                     const void *B, size_t ldb, int beta, void *C, size_t ldc)
{
    if (t == FMD_F32)
        fmd_gemm_f32(ta, tb, m, n, k, 1.0f, A, lda, B, ldb, (float)beta, C, ldc);
    else
        fmd_gemm(ta, tb, m, n, k, 1.0, A, lda, B, ldb, (double)beta, C, ldc);
}

static const char *at_(const fmd_mlp *net, const void *p, size_t i)
{
    return (const char *)p + i * fmd_dtype_size(net->cfg.dtype);
}

static size_t widest_(const fmd_mlp *net)
{
    size_t w = 0;
    for (size_t l = 0; l <= net->nlayers; l++)
        w = net->dims[l] > w ? net->dims[l] : w;
    return w;
}

/* phase 1 of a step: one slice's forward and backprop products */
static int slice_products(void *ctx, size_t s, int thread)
{
    (void)thread;
    fmd_trainer *tr = ctx;
    const fmd_mlp *net = tr->net;
    const fmd_dtype ty = net->cfg.dtype;
    const void *params = net->params32 ? (void *)net->params32 : (void *)net->params;
    const size_t B = tr->cfg.batch, row0 = s * FMD_TRAIN_SLICE, M = row0 + FMD_TRAIN_SLICE <= B ? FMD_TRAIN_SLICE : B - row0;
    for (size_t l = 0; l < net->nlayers; l++) {
        const size_t in = net->dims[l], o = net->dims[l + 1];
        any_gemm(ty, 0, 0, M, o, in, at_(net, tr->ws->H[l], row0 * in), in, at_(net, params, net->w_off[l]), o, 0,
                 (void *)at_(net, tr->ws->Z[l], row0 * o), o);
    }
    const size_t ld = widest_(net);
    for (size_t l = net->nlayers; l-- > 1;) {
        const size_t in = net->dims[l], o = net->dims[l + 1];
        any_gemm(ty, 0, 1, M, in, o, at_(net, tr->ws->G[l], row0 * o), o, at_(net, params, net->w_off[l]), o, 0,
                 (void *)at_(net, tr->ws->dH, row0 * ld), ld);
    }
    return FMD_OK;
}

/* phase 2: one parameter block's gradient product */
static int block_products(void *ctx, size_t k, int thread)
{
    (void)thread;
    fmd_trainer *tr = ctx;
    const fmd_mlp *net = tr->net;
    const fmd_param_block *p = &tr->blocks[k];
    const size_t in = net->dims[p->layer], o = net->dims[p->layer + 1];
    any_gemm(net->cfg.dtype, 1, 0, p->i1 - p->i0, o, tr->cfg.batch, at_(net, tr->ws->H[p->layer], p->i0), in,
             tr->ws->G[p->layer], o, 0, (void *)at_(net, tr->grad, net->w_off[p->layer] + p->i0 * o), o);
    return FMD_OK;
}

/* Seconds the products of one step of tr take (tr has run a step, so its
 * buffers hold real numbers), the best of `reps` repetitions, on a team of
 * tr's size with the guard off (always every thread). */
static double step_products_seconds(fmd_trainer *tr, int reps)
{
    fmd_team *team = NULL;
    fmd_team_ensure(&team, fmd_team_threads(tr->team));
    fmd_team_guard(team, 0);
    double best = 1e300;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        fmd_team_run(team, tr->nslices, slice_products, tr);
        fmd_team_run(team, tr->nblocks, block_products, tr);
        double t = now() - t0;
        best = t < best ? t : best;
    }
    fmd_team_free(team);
    return best;
}

/* exponentials of one forward pass of n rows: one per hidden unit */
static double forward_exps(const fmd_mlp *net, size_t n)
{
    double e = 0.0;
    for (size_t l = 1; l < net->nlayers; l++)
        e += (double)n * (double)net->dims[l];
    return e;
}

/* The roofline seconds of one training step of tr on its threads. */
static double step_roofline_seconds(fmd_trainer *tr, double *t_products, double *t_exp, double *t_adam)
{
    const int threads = fmd_team_threads(tr->team);
    const fmd_dtype ty = tr->net->cfg.dtype;
    *t_products = step_products_seconds(tr, 15);
    *t_exp = forward_exps(tr->net, tr->cfg.batch) / silu_rate(ty, threads);
    *t_adam = 7.0 * (double)tr->net->nparams * (double)fmd_dtype_size(ty) / copy_bandwidth(threads);
    return *t_products + *t_exp + *t_adam;
}

/* ---- sampling: the forward products on the solver's blocks ----------------- */

typedef struct {
    const fmd_mlp *net;
    size_t n;
    size_t rows_per_point;    /* 2 with guidance: both passes in one product */
    fmd_mlp_workspace **ws;   /* one per thread, rows of a block */
} forward_job;

static int forward_products(void *ctx, size_t b, int thread)
{
    const forward_job *J = ctx;
    const fmd_mlp *net = J->net;
    const void *params = net->params32 ? (void *)net->params32 : (void *)net->params;
    size_t i0, cnt;
    fmd_chunk(J->n, fmd_ode_block_size(J->n), b, &i0, &cnt);   /* the ODE driver's blocks (src/flows/ode.c) */
    for (size_t l = 0; l < net->nlayers; l++) {
        const size_t in = net->dims[l], o = net->dims[l + 1];
        any_gemm(net->cfg.dtype, 0, 0, cnt * J->rows_per_point, o, in, J->ws[thread]->H[l], in, at_(net, params, net->w_off[l]), o, 0,
                 J->ws[thread]->Z[l], o);
    }
    return FMD_OK;
}

/* The roofline seconds of `evals` field evaluations of net on n particles
 * (the ODE driver's blocks, fmd_ode_block_size), each evaluation one forward pass
 * of `forwards` rows a particle (2 with classifier-free guidance, both
 * labels in one product: src/networks/mlp_field.c), on `threads` threads. */
static double sampling_roofline_seconds(const fmd_mlp *net, size_t n, int evals, int forwards, int threads,
                                        double *t_products, double *t_exp)
{
    fmd_mlp_workspace *ws[FMD_MAX_THREADS];
    for (int i = 0; i < threads; i++) {
        const size_t rows = fmd_ode_block_size(n) * (size_t)forwards;
        fmd_mlp_workspace_alloc(net, rows, &ws[i]);
        for (size_t l = 0; l < net->nlayers; l++)
            memset(ws[i]->H[l], 0, rows * net->dims[l] * fmd_dtype_size(net->cfg.dtype));
    }
    fmd_team *team = NULL;
    fmd_team_ensure(&team, threads);
    fmd_team_guard(team, 0);
    forward_job J = {net, n, (size_t)forwards, ws};
    const size_t blocks = fmd_chunks(n, fmd_ode_block_size(n));
    fmd_team_run(team, blocks, forward_products, &J);   /* warm up */
    double best = 1e300;
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        fmd_team_run(team, blocks, forward_products, &J);
        double t = now() - t0;
        best = t < best ? t : best;
    }
    fmd_team_free(team);
    for (int i = 0; i < threads; i++)
        fmd_mlp_workspace_free(ws[i]);
    *t_products = best * evals;
    *t_exp = forward_exps(net, n) * evals * forwards / silu_rate(net->cfg.dtype, threads);
    return *t_products + *t_exp;
}

#endif
