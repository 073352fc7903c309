/* test_unet.c -- the U-Net's blocks (src/networks/resblock.h) against finite
 * differences in float64. */
#include <criterion/criterion.h>
#include <math.h>
#include <gsl/gsl_randist.h>
#include <stdlib.h>
#include <string.h>

#include "fmd.h"
#include "fd_check.h"
#include "networks/attention.h"
#include "networks/resblock.h"
#include "networks/unet.h"
#include "networks/unet_train.h"
#include "files/unet_checkpoint.h"
#include "files/model_file.h"
#include <unistd.h>
#include "corpus.h"

/* Every block is checked by fd_check (verify/fd_check.h): 4th-order
 * differences of L = sum_k v_k out_k^2 / 2 (v fixed random weights), 1e-7
 * relative, floor 1e-9. */
typedef struct {
    const fmd_resblock *rb;
    fmd_resblock_work *w;
    size_t n, h, wd;
    double *params, *x, *s_e, *v, *out;
} rb_ctx;

static double rb_loss(rb_ctx *c, double *dout)
{
    fmd_resblock_forward(c->rb, c->w, c->n, c->h, c->wd, c->params, c->x, c->s_e, c->out);
    return weighted_square_loss(c->n * c->h * c->wd * c->rb->c_out, c->v, c->out, dout);
}

static double rb_loss_only(void *c)
{
    return rb_loss(c, NULL);
}

/* The residual block, with and without a 1 x 1 skip (3 -> 4 and 4 -> 4
 * channels), 2 images of 4 x 5 pixels, embedding width 6, groups 2: every
 * parameter, every input pixel and every embedding entry. */
static void resblock_check(size_t ci, size_t co, uint64_t seed)
{
    enum { N = 2, Hh = 4, Ww = 5, E = 6 };
    fmd_resblock rb;
    size_t next = 0;
    cr_assert_eq(fmd_resblock_layout(ci, co, E, 2, &next, &rb), FMD_OK);
    cr_assert_eq(rb.nparams, next);
    fmd_resblock_work *w;
    fmd_layer_scratch sc;
    cr_assert_eq(fmd_layer_scratch_alloc(fmd_resblock_scratch_map(&rb, N, Hh * Ww), 0, &sc), FMD_OK);
    cr_assert_eq(fmd_resblock_work_alloc(&rb, N, Hh * Ww, &sc, &w), FMD_OK);
    gsl_rng *r;
    fmd_rng_alloc(seed, 0, &r);
    const size_t mx = N * Hh * Ww * ci, mo = N * Hh * Ww * co;
    double *params = malloc(rb.nparams * sizeof(double)), *u = malloc(rb.nparams * sizeof(double));
    double *grad = calloc(rb.nparams, sizeof(double)), *x = malloc(mx * sizeof(double)), *dx = malloc(mx * sizeof(double));
    double *s_e = malloc(N * E * sizeof(double)), *ds_e = calloc(N * E, sizeof(double)), *v = malloc(mo * sizeof(double));
    double *out = malloc(mo * sizeof(double)), *dout = malloc(mo * sizeof(double));
    for (size_t i = 0; i < rb.nparams; i++)
        u[i] = gsl_rng_uniform(r);
    fmd_resblock_init(&rb, params, u);
    for (size_t c = 0; c < ci; c++)   /* group-norm scales and shifts away from 1 and 0 */
        params[rb.g1 + c] = 0.7 + 0.2 * (double)c, params[rb.b1 + c] = 0.1 * (double)c - 0.15;
    for (size_t c = 0; c < co; c++)
        params[rb.g2 + c] = 1.3 - 0.1 * (double)c, params[rb.b2 + c] = 0.05 * (double)c + 0.2;
    for (size_t i = 0; i < mx; i++)
        x[i] = 2.0 * gsl_rng_uniform(r) - 1.0 + 0.3 * (double)(i % 3);
    for (size_t i = 0; i < N * E; i++)
        s_e[i] = 2.0 * gsl_rng_uniform(r) - 1.0;
    for (size_t i = 0; i < mo; i++)
        v[i] = 0.5 + gsl_rng_uniform(r);
    rb_ctx c = {&rb, w, N, Hh, Ww, params, x, s_e, v, out};
    rb_loss(&c, dout);
    cr_assert_eq(fmd_resblock_backward(&rb, w, N, Hh, Ww, params, x, s_e, dout, grad, dx, ds_e), FMD_OK);
    size_t checked = 0;
    char what[64];
    snprintf(what, sizeof what, "%zu -> %zu: parameters", ci, co);
    fd_check(what, rb.nparams, params, grad, rb_loss_only, &c, &checked);
    snprintf(what, sizeof what, "%zu -> %zu: input", ci, co);
    fd_check(what, mx, x, dx, rb_loss_only, &c, &checked);
    snprintf(what, sizeof what, "%zu -> %zu: embedding", ci, co);
    fd_check(what, N * E, s_e, ds_e, rb_loss_only, &c, &checked);
    cr_expect_eq(checked, rb.nparams + mx + N * E);
    free(params), free(u), free(grad), free(x), free(dx), free(s_e), free(ds_e), free(v), free(out), free(dout);
    fmd_resblock_work_free(w);
    fmd_layer_scratch_free(&sc);
    gsl_rng_free(r);
}

Test(unet, resblock_backward_matches_finite_differences)
{
    resblock_check(3, 4, 1611);   /* a 1 x 1 skip */
    resblock_check(4, 4, 1612);   /* the identity skip */
}

/* Self-attention: 2 images of 3 x 3 pixels (9 tokens), 4 channels in 2
 * groups; every parameter and input entry, by the same differences. */
typedef struct {
    const fmd_attention *at;
    fmd_attention_work *w;
    size_t n, T;
    double *params, *x, *v, *out;
} at_ctx;

static double at_loss(at_ctx *c, double *dout)
{
    fmd_attention_forward(c->at, c->w, c->n, c->T, c->params, c->x, c->out);
    return weighted_square_loss(c->n * c->T * c->at->c, c->v, c->out, dout);
}

static double at_loss_only(void *c)
{
    return at_loss(c, NULL);
}

Test(unet, attention_backward_matches_finite_differences)
{
    enum { N = 2, T = 9, C = 4 };
    fmd_attention at;
    size_t next = 5;   /* not at 0: the offsets must be used */
    cr_assert_eq(fmd_attention_layout(C, 2, &next, &at), FMD_OK);
    fmd_attention_work *w;
    cr_assert_eq(fmd_attention_work_alloc(&at, N, T, &w), FMD_OK);
    gsl_rng *r;
    fmd_rng_alloc(1613, 0, &r);
    static double params[5 + 2 * C + 4 * C * C + 4 * C], u[sizeof params / sizeof params[0]], grad[sizeof params / sizeof params[0]];
    static double x[N * T * C], dx[N * T * C], v[N * T * C], out[N * T * C], dout[N * T * C];
    cr_assert_eq(next, sizeof params / sizeof params[0]);
    for (size_t i = 0; i < next; i++)
        u[i] = gsl_rng_uniform(r);
    fmd_attention_init(&at, params, u);
    for (size_t k = 0; k < C; k++)
        params[at.g + k] = 0.8 + 0.15 * (double)k, params[at.b + k] = 0.1 - 0.07 * (double)k;
    for (size_t i = 0; i < N * T * C; i++)
        x[i] = 2.0 * gsl_rng_uniform(r) - 1.0 + 0.25 * (double)(i % 5), v[i] = 0.5 + gsl_rng_uniform(r);
    for (size_t i = at.wqkv; i < at.wqkv + 3 * C * C; i++)   /* sharper attention: larger Q, K, V weights */
        params[i] *= 3.0;
    at_ctx c = {&at, w, N, T, params, x, v, out};
    at_loss(&c, dout);
    cr_assert_eq(fmd_attention_backward(&at, w, N, T, params, dout, grad, dx), FMD_OK);
    size_t checked = 0;
    fd_check("attention: parameters", at.nparams, params + at.g, grad + at.g, at_loss_only, &c, &checked);
    fd_check("attention: input", N * T * C, x, dx, at_loss_only, &c, &checked);
    for (size_t i = 0; i < 5; i++)   /* nothing written outside the block's parameters */
        cr_expect_eq(grad[i], 0.0);
    fmd_attention_work_free(w);
    gsl_rng_free(r);
}

/* The whole U-Net: side 8, 4 base channels, two levels (8 and 4 pixels,
 * multipliers 1 and 2), attention on, 2 groups, 3 time frequencies, an
 * embedding of 8, 3 classes; 2 images, one labelled and one "no label".
 * Every parameter and every input pixel, by the same 4th-order
 * differences, to 1e-7 relative (floor 1e-9); with a preconditioned
 * read-out, every input pixel and the output conv's parameters. */
typedef struct {
    const fmd_unet *net;
    fmd_unet_work *w;
    size_t n;
    const double *x, *t;
    const int *y;
    double *v, *out;
} un_ctx;

static double un_loss(un_ctx *c, double *dout)
{
    fmd_unet_forward(c->net, c->w, c->n, c->x, c->t, c->y, c->out);
    return weighted_square_loss(c->n * c->net->cfg.side * c->net->cfg.side, c->v, c->out, dout);
}

static double un_loss_only(void *c)
{
    return un_loss(c, NULL);
}

/* output: PLAIN, or a preconditioned read-out (c_in, c_skip, c_out of
 * fmd_unet_preconditioning on condot, s = 0.6): then d/dx has two paths,
 * through c_skip x and through F(c_in x). */
static void whole_network_check_patched(fmd_mlp_output output, fmd_conv_method conv, size_t patch)
{
    enum { N = 2, S = 8, D = S * S };
    fmd_unet_config cfg = {.side = S, .channels = 4, .levels = 2, .mult = {1, 2}, .attention = 1, .groups = 2,
                           .n_fourier = 3, .emb = 8, .n_classes = 3, .output = output, .sigma_data = 0.6, .conv = conv,
                           .patch = patch};
    fmd_schedule_by_name("condot", &cfg.schedule);
    fmd_unet *net;
    cr_assert_eq(fmd_unet_alloc(&cfg, &net), FMD_OK);
    fmd_unet_work *w;
    cr_assert_eq(fmd_unet_work_alloc(net, N, &w), FMD_OK);
    gsl_rng *r;
    fmd_rng_alloc(1614, 0, &r);
    fmd_unet_init(net, r);
    for (size_t i = 0; i < net->nparams; i++)   /* move the group norms off 1 and 0, keep the rest */
        net->params[i] += 0.05 * (2.0 * gsl_rng_uniform(r) - 1.0);
    static double x[N * D], dx[N * D], v[N * D], out[N * D], dout[N * D];
    const double t[N] = {0.237, 0.861};
    const int y[N] = {1, 3};
    for (size_t i = 0; i < N * D; i++)
        x[i] = 2.0 * gsl_rng_uniform(r) - 1.0, v[i] = 0.5 + gsl_rng_uniform(r);
    double *grad = calloc(net->nparams, sizeof(double));
    un_ctx c = {net, w, N, x, t, y, v, out};
    un_loss(&c, dout);
    cr_assert_eq(fmd_unet_backward(net, w, N, dout, grad, dx), FMD_OK);
    size_t checked = 0;
    if (output == FMD_OUT_PLAIN) {
        fd_check("U-Net: parameters", net->nparams, net->params, grad, un_loss_only, &c, &checked);
    } else {   /* the read-out scales every parameter's gradient alike: the output conv's stand for them */
        const size_t m = net->nparams - net->out.w;
        fd_check("U-Net: the output conv's parameters", m, net->params + net->out.w, grad + net->out.w, un_loss_only, &c,
                 &checked);
    }
    fd_check("U-Net: input", N * D, x, dx, un_loss_only, &c, &checked);
    cr_log_info("U-Net (read-out %d, conv %s, patch %zu): %zu parameters and %d inputs checked", (int)output,
                fmd_conv_method_name(conv), patch, checked - N * D, N * D);
    /* a label out of range is refused */
    const int bad[N] = {1, 4};
    cr_expect_eq(fmd_unet_forward(net, w, N, x, t, bad, out), FMD_EINVAL);
    free(grad);
    fmd_unet_work_free(w);
    fmd_unet_free(net);
    gsl_rng_free(r);
}

static void whole_network_check(fmd_mlp_output output, fmd_conv_method conv)
{
    whole_network_check_patched(output, conv, 1);
}

Test(unet, whole_network_backward_matches_finite_differences) { whole_network_check(FMD_OUT_PLAIN, FMD_CONV_DIRECT); }

/* On 2 x 2 patches (the 8 x 8 image as 4 channels of 4 x 4; levels 4 and 2): the gather of
 * the input and the scatter of the output are each other's adjoint in backward. */
Test(unet, patched_network_backward_matches_finite_differences)
{
    whole_network_check_patched(FMD_OUT_PLAIN, FMD_CONV_DIRECT, 2);
}

/* A patch size the image does not divide, or above 2, is refused. */
Test(unet, patches_must_tile_the_image)
{
    fmd_unet_config cfg = {.side = 8, .channels = 4, .levels = 4, .mult = {1, 2, 2, 2}, .groups = 2, .n_fourier = 3,
                           .emb = 8, .patch = 2};
    size_t count;
    cr_expect_eq(fmd_unet_param_count(&cfg, &count), FMD_EINVAL, "8 / 2 = 4 cannot halve three times");
    cfg.levels = 3;
    cr_expect_eq(fmd_unet_param_count(&cfg, &count), FMD_OK);
    cfg.patch = 3;
    cr_expect_eq(fmd_unet_param_count(&cfg, &count), FMD_EINVAL, "patch 3");
    cfg.side = 6, cfg.patch = 2;
    cr_expect_eq(fmd_unet_param_count(&cfg, &count), FMD_EINVAL, "6 / 2 = 3 cannot halve once");
}

Test(unet, preconditioned_network_backward_matches_finite_differences)
{
    whole_network_check(FMD_OUT_DATA, FMD_CONV_DIRECT);
}

/* The network convolving by Winograd's F(2 x 2, 3 x 3) (src/networks/winograd.h; its layer
 * is gradient-checked in verify/test_winograd.c) computes the same function as the direct one: the default network
 * at 28 x 28 (both float64, the same weights, two images), outputs and the
 * whole gradient to 1e-12 of their largest entry (each convolution agrees to
 * ~4e-16 of its terms, verify/test_winograd.c; a network is a few dozen of
 * them in a row, with group norms that divide by a spread of order 1). */
Test(unet, winograd_network_equals_the_direct_one)
{
    enum { N = 2, D = 784 };
    fmd_unet_config cfg;
    fmd_unet_default_config(28, 10, &cfg);
    cfg.conv = FMD_CONV_DIRECT;
    fmd_unet *a, *b;
    cr_assert_eq(fmd_unet_alloc(&cfg, &a), FMD_OK);
    cfg.conv = FMD_CONV_WINOGRAD;
    cr_assert_eq(fmd_unet_alloc(&cfg, &b), FMD_OK);
    gsl_rng *r;
    fmd_rng_alloc(2715, 0, &r);
    fmd_unet_init(a, r);
    memcpy(b->params, a->params, a->nparams * sizeof(double));
    static double x[N * D], ya[N * D], yb[N * D], dout[N * D];
    for (size_t i = 0; i < N * D; i++)
        x[i] = 2.0 * gsl_rng_uniform(r) - 1.0, dout[i] = gsl_rng_uniform(r) - 0.5;
    const double t[N] = {0.3, 0.8};
    const int y[N] = {2, 10};
    fmd_unet_work *wa, *wb;
    cr_assert_eq(fmd_unet_work_alloc(a, N, &wa), FMD_OK);
    cr_assert_eq(fmd_unet_work_alloc(b, N, &wb), FMD_OK);
    cr_assert_eq(fmd_unet_forward(a, wa, N, x, t, y, ya), FMD_OK);
    cr_assert_eq(fmd_unet_forward(b, wb, N, x, t, y, yb), FMD_OK);
    double *ga = calloc(a->nparams, sizeof(double)), *gb = calloc(a->nparams, sizeof(double));
    cr_assert_eq(fmd_unet_backward(a, wa, N, dout, ga, NULL), FMD_OK);
    cr_assert_eq(fmd_unet_backward(b, wb, N, dout, gb, NULL), FMD_OK);
    double sy = 0.0, ey = 0.0, sg = 0.0, eg = 0.0;
    for (size_t i = 0; i < N * D; i++)
        sy = fmax(sy, fabs(ya[i])), ey = fmax(ey, fabs(ya[i] - yb[i]));
    for (size_t i = 0; i < a->nparams; i++)
        sg = fmax(sg, fabs(ga[i])), eg = fmax(eg, fabs(ga[i] - gb[i]));
    cr_log_info("Winograd against direct, default U-Net in float64: output %.1e, gradient %.1e of the largest", ey / sy,
                eg / sg);
    cr_expect(ey <= 1e-12 * sy && eg <= 1e-12 * sg, "output differs by %.3g, gradient by %.3g of the largest", ey / sy,
              eg / sg);
    free(ga), free(gb);
    fmd_unet_work_free(wa), fmd_unet_work_free(wb);
    fmd_unet_free(a), fmd_unet_free(b);
    gsl_rng_free(r);
}

/* Training, on 8 x 8 images from a labelled mixture of two patterns (left
 * half bright, or the bottom rows bright; sd 0.1 per pixel), CFM on condot,
 * batch 40 (slices of 16, 16 and 8), the tiny U-Net above.
 *  1. The steps are the same bit for bit on 1 and 2 threads (3 steps).
 *  2. 300 steps close at least half of the reducible loss of the
 *     unlabelled output (trained on the 10% of rows whose label is dropped)
 *     on a held-out batch of 200: L(trained) <= L* + (L(init) - L*) / 2,
 *     where L* is the loss of the exact marginal field u_t (Thm 18: the CFM
 *     loss's minimiser) on the same batch. Deterministic (fixed seeds), so no
 *     false-fail rate; it fails if the gradient, the loss or Adam's use of
 *     them is wrong. */
static fmd_gmm *two_patterns(void)
{
    fmd_gmm *g;
    cr_assert_eq(fmd_gmm_alloc(64, 2, &g), FMD_OK);
    for (size_t k = 0; k < 2; k++) {
        g->weight[k] = 0.5;
        for (size_t i = 0; i < 64; i++) {
            const size_t row = i / 8, col = i % 8;
            g->mean[k * 64 + i] = k == 0 ? (col < 4 ? 0.8 : -0.6) : (row >= 5 ? 0.9 : -0.5);
            g->cov[(k * 64 + i) * 64 + i] = 0.01;
        }
    }
    cr_assert_eq(fmd_gmm_prepare(g), FMD_OK);
    return g;
}

/* patch 1: none; 2: the 8 x 8 image as 4 channels of 4 x 4, levels 4 and 2 */
static fmd_unet *tiny_unet_patched(uint64_t seed, fmd_dtype dtype, size_t patch)
{
    fmd_unet_config cfg = {.side = 8, .channels = 4, .levels = 2, .mult = {1, 2}, .attention = 1, .groups = 2,
                           .n_fourier = 3, .emb = 8, .n_classes = 2, .dtype = dtype, .patch = patch};
    fmd_unet *net;
    cr_assert_eq(fmd_unet_alloc(&cfg, &net), FMD_OK);
    gsl_rng *r;
    fmd_rng_alloc(seed, 0, &r);
    cr_assert_eq(fmd_unet_init(net, r), FMD_OK);
    gsl_rng_free(r);
    return net;
}

static fmd_unet *tiny_unet_typed(uint64_t seed, fmd_dtype dtype)
{
    return tiny_unet_patched(seed, dtype, 1);
}

static fmd_unet *tiny_unet(uint64_t seed)
{
    return tiny_unet_typed(seed, FMD_F64);
}

static fmd_train_config tiny_training(int threads)
{
    fmd_train_config tc = {.objective = FMD_LOSS_CFM, .batch = 40, .lr = 3e-3, .t_min = 0.0, .t_max = 1.0,
                           .label_drop = 0.1, .seed = 1615, .threads = threads};
    fmd_schedule_by_name("condot", &tc.schedule);
    return tc;
}

/* The same network as EDM trains it: the denoiser's preconditioned read-out
 * (s = 0.7, about the two patterns' RMS), EDM's weight and log-normal t. */
static fmd_unet *edm_unet(uint64_t seed, fmd_dtype dtype)
{
    fmd_unet *plain = tiny_unet_typed(seed, dtype), *net;
    fmd_unet_config cfg = plain->cfg;
    cfg.output = FMD_OUT_DATA, cfg.sigma_data = 0.7;
    fmd_schedule_by_name("condot", &cfg.schedule);
    cr_assert_eq(fmd_unet_alloc(&cfg, &net), FMD_OK);
    memcpy(fmd_unet_params(net), fmd_unet_params(plain), plain->nparams * fmd_dtype_size(dtype));
    fmd_unet_free(plain);
    return net;
}

static fmd_train_config edm_training(int threads)
{
    fmd_train_config tc = tiny_training(threads);
    tc.objective = FMD_LOSS_DENOISER, tc.weighting = FMD_WEIGHT_EDM;
    tc.time_law = FMD_TIME_LOGNORMAL, tc.p_mean = -1.2, tc.p_std = 1.2;
    return tc;
}

Test(unet, training_steps_do_not_depend_on_threads)
{
    fmd_gmm *g = two_patterns();
    fmd_unet *a = tiny_unet(1616), *b = tiny_unet(1616);
    fmd_train_config ta = tiny_training(1), tb = tiny_training(2);
    fmd_unet_trainer *tra, *trb;
    cr_assert_eq(fmd_unet_trainer_alloc(&ta, fmd_gmm_sampler, g, a, &tra), FMD_OK);
    cr_assert_eq(fmd_unet_trainer_alloc(&tb, fmd_gmm_sampler, g, b, &trb), FMD_OK);
    double la, lb;
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(fmd_unet_train_step(tra, &la), FMD_OK);
        cr_assert_eq(fmd_unet_train_step(trb, &lb), FMD_OK);
        cr_expect_eq(la, lb, "step %d: loss %.17g on 1 thread, %.17g on 2", k, la, lb);
    }
    cr_expect(memcmp(a->params, b->params, a->nparams * sizeof(double)) == 0, "parameters differ after 3 steps");
    fmd_unet_trainer_free(tra), fmd_unet_trainer_free(trb);
    fmd_unet_free(a), fmd_unet_free(b);
    fmd_gmm_free(g);
}

/* A held-out loss: the mean over the batch's rows of lambda_i |pred_i -
 * target_i|^2, pred the network's unconditional output (the "no label" row)
 * where pred is NULL, lambda_i EDM's weight at t_i when `edm`, else 1. */
static double held_out(fmd_unet *net, const fmd_loss_batch *b, const double *pred, const double *target, int edm)
{
    fmd_unet_work *w;
    cr_assert_eq(fmd_unet_work_alloc(net, b->M, &w), FMD_OK);
    double *out = malloc(b->M * 64 * sizeof(double)), L = 0.0;
    if (!pred)
        cr_assert_eq(fmd_unet_forward(net, w, b->M, b->x, b->t, NULL, out), FMD_OK);
    for (size_t i = 0; i < b->M; i++) {
        const double lambda = edm ? fmd_edm_weight(net->cfg.sigma_data, &net->cfg.schedule, b->t[i]) : 1.0;
        for (size_t k = 0; k < 64; k++) {
            const double e = (pred ? pred : out)[i * 64 + k] - target[i * 64 + k];
            L += lambda * e * e / (double)b->M;
        }
    }
    free(out);
    fmd_unet_work_free(w);
    return L;
}

/* mean |f(x, t, no label) - target|^2 over the held-out batch: the
 * unconditional output, whose best is the exact marginal field u_t(x) (the
 * labelled outputs can do better: u_t(x | y) knows the pattern) */
static double held_out_loss(fmd_unet *net, const fmd_loss_batch *b, const double *target)
{
    return held_out(net, b, NULL, target, 0);
}

static void closes_half(fmd_dtype dtype)
{
    fmd_gmm *g = two_patterns();
    fmd_unet *net = tiny_unet_typed(1617, dtype);
    fmd_train_config tc = tiny_training(2);
    fmd_loss_batch hb;
    gsl_rng *r;
    fmd_rng_alloc(1618, 0, &r);
    cr_assert_eq(fmd_loss_batch_draw(g, &tc.schedule, 200, 0.0, 1.0, r, &hb), FMD_OK);
    double *target = malloc(200 * 64 * sizeof(double)), *exact = malloc(200 * 64 * sizeof(double));
    cr_assert_eq(fmd_loss_target(FMD_LOSS_CFM, NULL, &tc.schedule, &hb, target), FMD_OK);
    cr_assert_eq(fmd_loss_target(FMD_LOSS_FM, g, &tc.schedule, &hb, exact), FMD_OK);   /* u_t(x), exactly */
    double Lstar = 0.0;
    for (size_t i = 0; i < 200 * 64; i++)
        Lstar += (exact[i] - target[i]) * (exact[i] - target[i]) / 200.0;
    const double L0 = held_out_loss(net, &hb, target);
    fmd_unet_trainer *tr;
    cr_assert_eq(fmd_unet_trainer_alloc(&tc, fmd_gmm_sampler, g, net, &tr), FMD_OK);
    double loss;
    for (int k = 0; k < 300; k++)
        cr_assert_eq(fmd_unet_train_step(tr, &loss), FMD_OK);
    const double L1 = held_out_loss(net, &hb, target);
    cr_log_info("%s: held-out CFM loss: untrained %.3f, trained %.3f, exact field %.3f (gap closed %.0f%%)",
                fmd_dtype_name(dtype), L0, L1, Lstar, 100.0 * (L0 - L1) / (L0 - Lstar));
    cr_expect(L1 <= Lstar + 0.5 * (L0 - Lstar), "%s: trained loss %.4f, untrained %.4f, exact field %.4f: less than "
              "half the reducible loss closed", fmd_dtype_name(dtype), L1, L0, Lstar);
    fmd_unet_trainer_free(tr);
    fmd_loss_batch_free(&hb);
    free(target), free(exact);
    gsl_rng_free(r);
    fmd_unet_free(net);
    fmd_gmm_free(g);
}

Test(unet, training_closes_half_the_reducible_loss) { closes_half(FMD_F64); }

/* The same in float32: the float32 layers, gradients and Adam train too. */
Test(unet, float32_training_closes_half_the_reducible_loss) { closes_half(FMD_F32); }

/* EDM's training (the denoiser, its read-out, its weight, log-normal t)
 * learns too: on a held-out batch drawn by the same law, 300 steps close
 * half of the reducible weighted loss sum_i lambda(t_i) |D(x_i) - z_i|^2,
 * whose minimiser is the posterior mean E[z | x_t] (Tweedie; on condot
 * x + (1 - t) u_t(x) by Prop 1, u_t the exact marginal field). Fixed
 * seeds, deterministic. */
static double held_out_edm_loss(fmd_unet *net, const fmd_loss_batch *b, const double *D)
{
    return held_out(net, b, D, b->z, 1);   /* D, or the network's read-out where D is NULL, against z */
}

Test(unet, edm_training_closes_half_the_reducible_loss)
{
    fmd_gmm *g = two_patterns();
    fmd_unet *net = edm_unet(1617, FMD_F64);
    fmd_train_config tc = edm_training(2);
    fmd_loss_batch hb;
    gsl_rng *r;
    fmd_rng_alloc(1618, 0, &r);
    cr_assert_eq(fmd_loss_batch_alloc(200, 64, &hb), FMD_OK);
    cr_assert_eq(fmd_train_fill(&tc, fmd_gmm_sampler, g, r, &hb), FMD_OK);   /* t by EDM's law */
    double *u = malloc(200 * 64 * sizeof(double));
    cr_assert_eq(fmd_loss_target(FMD_LOSS_FM, g, &tc.schedule, &hb, u), FMD_OK);   /* u_t(x), exactly */
    for (size_t i = 0; i < 200; i++)
        for (size_t k = 0; k < 64; k++)   /* E[z | x] = x + (1 - t) u_t(x) on condot */
            u[i * 64 + k] = hb.x[i * 64 + k] + (1.0 - hb.t[i]) * u[i * 64 + k];
    const double Lstar = held_out_edm_loss(net, &hb, u), L0 = held_out_edm_loss(net, &hb, NULL);
    fmd_unet_trainer *tr;
    cr_assert_eq(fmd_unet_trainer_alloc(&tc, fmd_gmm_sampler, g, net, &tr), FMD_OK);
    double loss;
    for (int k = 0; k < 300; k++)
        cr_assert_eq(fmd_unet_train_step(tr, &loss), FMD_OK);
    const double L1 = held_out_edm_loss(net, &hb, NULL);
    cr_log_info("EDM: held-out weighted loss: untrained %.3f, trained %.3f, posterior mean %.3f (gap closed %.0f%%)",
                L0, L1, Lstar, 100.0 * (L0 - L1) / (L0 - Lstar));
    cr_expect(L1 <= Lstar + 0.5 * (L0 - Lstar), "EDM: trained loss %.4f, untrained %.4f, posterior mean %.4f: less "
              "than half the reducible loss closed", L1, L0, Lstar);
    fmd_unet_trainer_free(tr);
    fmd_loss_batch_free(&hb);
    free(u);
    gsl_rng_free(r);
    fmd_unet_free(net);
    fmd_gmm_free(g);
}

/* The EMA's warm-up: min(decay, (1 + k)/(10 + k)), so after the first step
 * the average is 0.1 theta_0 + 0.9 theta_1, not 0.999 theta_0 + 0.001
 * theta_1 (to 1e-15: the same two products and one sum, |theta| < 1, so
 * at most a few ulps apart); and the full decay from step 8991 on. */
Test(unet, ema_warms_up)
{
    cr_expect(fabs(fmd_ema_warmup(0.999, 0) - 0.1) < 1e-16);
    cr_expect(fabs(fmd_ema_warmup(0.999, 8990) - 8991.0 / 9000.0) < 1e-16);
    cr_expect(fmd_ema_warmup(0.999, 8991) == 0.999);
    fmd_gmm *g = two_patterns();
    fmd_unet *net = tiny_unet(1619);
    fmd_train_config tc = tiny_training(1);
    tc.ema_decay = 0.999;
    double *theta0 = malloc(net->nparams * sizeof(double)), loss;
    memcpy(theta0, net->params, net->nparams * sizeof(double));
    fmd_unet_trainer *tr;
    cr_assert_eq(fmd_unet_trainer_alloc(&tc, fmd_gmm_sampler, g, net, &tr), FMD_OK);
    cr_assert_eq(fmd_unet_train_step(tr, &loss), FMD_OK);
    double worst = 0.0;
    for (size_t i = 0; i < net->nparams; i++)
        worst = fmax(worst, fabs(((double *)tr->ema)[i] - (0.1 * theta0[i] + 0.9 * net->params[i])));
    cr_expect(worst <= 1e-15, "EMA after one step differs from 0.1 theta_0 + 0.9 theta_1 by %.3e", worst);
    fmd_unet_trainer_free(tr);
    free(theta0);
    fmd_unet_free(net);
    fmd_gmm_free(g);
}

/* The U-Net as a guided field (src/networks/unet_field.c): 20 points (more than one
 * chunk of FMD_UNET_FIELD_ROWS), w = 2.5, equals (1 - w) f(x, t, no label) +
 * w f(x, t, y) computed by two forward passes here (1e-13: the same
 * passes, row by row, combined with weights -1.5 and 2.5 on outputs of
 * size ~10, a few ulps of 1e-15 each); w = 1 gives the conditional output
 * and w = 0 or y = -1 the unconditional one, exactly (one pass instead of
 * two); a class out of range is refused. */
Test(unet, guided_field_is_the_guidance_formula)
{
    enum { N = 20, D = 64 };
    fmd_unet *net = tiny_unet(1621);
    fmd_unet_eval *ev;
    cr_assert_eq(fmd_unet_eval_alloc(net, &ev), FMD_OK);
    fmd_unet_work *w;
    cr_assert_eq(fmd_unet_work_alloc(net, N, &w), FMD_OK);
    gsl_rng *r;
    fmd_rng_alloc(1622, 0, &r);
    static double x[N * D], u[N * D], f0[N * D], f1[N * D];
    for (size_t i = 0; i < N * D; i++)
        x[i] = 2.0 * gsl_rng_uniform(r) - 1.0;
    double t[N];
    int none[N], ys[N];
    for (int i = 0; i < N; i++)
        t[i] = 0.43, none[i] = 2, ys[i] = 1;
    cr_assert_eq(fmd_unet_forward(net, w, N, x, t, none, f0), FMD_OK);
    cr_assert_eq(fmd_unet_forward(net, w, N, x, t, ys, f1), FMD_OK);
    fmd_unet_guidance G = {ev, 1, 2.5};
    cr_assert_eq(fmd_unet_guided_field(0.43, N, D, x, u, &G), FMD_OK);
    double worst = 0.0;
    for (size_t i = 0; i < N * D; i++)
        worst = fmax(worst, fabs(u[i] - (-1.5 * f0[i] + 2.5 * f1[i])));
    cr_expect(worst <= 1e-13, "guided field vs (1 - w) f0 + w f1: max |diff| %.3e", worst);
    G.w = 1.0;
    cr_assert_eq(fmd_unet_guided_field(0.43, N, D, x, u, &G), FMD_OK);
    cr_expect(memcmp(u, f1, sizeof u) == 0, "w = 1 is not the conditional output");
    G.w = 0.0;
    cr_assert_eq(fmd_unet_guided_field(0.43, N, D, x, u, &G), FMD_OK);
    cr_expect(memcmp(u, f0, sizeof u) == 0, "w = 0 is not the unconditional output");
    G.y = -1, G.w = 2.5;
    cr_assert_eq(fmd_unet_guided_field(0.43, N, D, x, u, &G), FMD_OK);
    cr_expect(memcmp(u, f0, sizeof u) == 0, "y = -1 is not the unconditional output");
    G.y = 2;
    cr_expect_eq(fmd_unet_guided_field(0.43, N, D, x, u, &G), FMD_EINVAL);
    fmd_unet_work_free(w);
    fmd_unet_eval_free(ev);
    gsl_rng_free(r);
    fmd_unet_free(net);
}

/* The model file: 2 steps, saved with the training state, loaded into a new
 * network and trainer; one more step on each side gives the same parameters
 * bit for bit (the architecture, the Adam moments, the EMA and the step
 * all came back). Each reader refuses the other kind of model by name. */
/* Save after 2 steps (the training state too), load into a new network and
 * trainer, take one more step on each side: the parameters and the EMA
 * (mode 0: plain CFM; 1: EDM; 2: CFM with logit-normal t on 2 x 2 patches)
 * must agree bit for bit. Leaves the file at path. */
static void resume_round_trip_as(const char *path, fmd_dtype dtype, int mode)
{
    char why[256];
    fmd_gmm *g = two_patterns();
    fmd_unet *net = mode == 1 ? edm_unet(1623, dtype) : tiny_unet_patched(1623, dtype, mode == 2 ? 2 : 1);
    fmd_train_config tc = mode == 1 ? edm_training(1) : tiny_training(1);
    if (mode == 2)   /* CFM with logit-normal t, as chapter 5 trains */
        tc.time_law = FMD_TIME_LOGNORMAL, tc.p_mean = 0.5, tc.p_std = 1.0;
    tc.ema_decay = 0.99;
    fmd_unet_trainer *tr;
    cr_assert_eq(fmd_unet_trainer_alloc(&tc, fmd_gmm_sampler, g, net, &tr), FMD_OK);
    double loss;
    for (int k = 0; k < 2; k++)
        cr_assert_eq(fmd_unet_train_step(tr, &loss), FMD_OK);
    fmd_run_info info;
    memset(&info, 0, sizeof info);
    snprintf(info.objective, sizeof info.objective, mode == 1 ? "denoiser" : "cfm");
    snprintf(info.schedule, sizeof info.schedule, "condot");
    snprintf(info.data, sizeof info.data, "two patterns");
    info.steps = 2, info.target_steps = 3, info.batch = 40, info.lr = tc.lr, info.ema_decay = 0.99, info.t_max = 1.0;
    info.label_drop = 0.1, info.seed = tc.seed;
    info.weighting = tc.weighting, info.time_law = tc.time_law, info.p_mean = tc.p_mean, info.p_std = tc.p_std;
    cr_assert_eq(fmd_unet_checkpoint_save(path, net, tr, &info), FMD_OK);
    fmd_unet *net2, *tmp;
    fmd_run_info info2;
    const size_t bytes = net->nparams * fmd_dtype_size(dtype);
    cr_assert_eq(fmd_unet_checkpoint_load(path, 0, &net2, &info2, NULL, why, sizeof why), FMD_OK, "%s", why);
    cr_expect_eq(net2->nparams, net->nparams);
    cr_expect_eq(net2->cfg.dtype, dtype, "%s: the type did not come back", fmd_dtype_name(dtype));
    cr_expect(memcmp(fmd_unet_params(net2), fmd_unet_params(net), bytes) == 0, "%s: parameters differ after loading",
              fmd_dtype_name(dtype));
    cr_expect(strcmp(info2.data, "two patterns") == 0 && info2.steps == 2 && info2.label_drop == 0.1);
    /* EDM's pieces come back: the read-out, s, the weight and the law of t */
    cr_expect(net2->cfg.output == net->cfg.output && net2->cfg.sigma_data == net->cfg.sigma_data);
    cr_expect(net2->patch == net->patch, "mode %d: patch %zu came back as %zu", mode, net->patch, net2->patch);
    cr_expect(info2.weighting == info.weighting && info2.time_law == info.time_law && info2.p_mean == info.p_mean &&
              info2.p_std == info.p_std, "mode %d: the run's weighting or law of t did not come back", mode);
    /* the schedule comes back into the network's configuration, for a plain read-out too, so a
     * loaded network samples on its own path: CondOT's alpha_t = t */
    fmd_sched_point sp;
    cr_expect(fmd_schedule_at(&net2->cfg.schedule, 0.3, &sp) == FMD_OK && sp.alpha == 0.3 && sp.beta == 0.7,
              "mode %d: the loaded network's schedule is not the run's CondOT", mode);
    fmd_train_config tc2 = tc;   /* what `fmd train --resume` rebuilds from the file */
    tc2.weighting = (fmd_weighting)info2.weighting, tc2.time_law = (fmd_time_law)info2.time_law;
    tc2.p_mean = info2.p_mean, tc2.p_std = info2.p_std;
    fmd_unet_trainer *tr2;
    cr_assert_eq(fmd_unet_trainer_alloc(&tc2, fmd_gmm_sampler, g, net2, &tr2), FMD_OK);
    cr_assert_eq(fmd_unet_checkpoint_load(path, 0, &tmp, &info2, tr2, why, sizeof why), FMD_OK, "%s", why);
    fmd_unet_free(tmp);
    cr_assert_eq(fmd_unet_train_step(tr, &loss), FMD_OK);
    cr_assert_eq(fmd_unet_train_step(tr2, &loss), FMD_OK);
    cr_expect(memcmp(fmd_unet_params(net2), fmd_unet_params(net), bytes) == 0, "%s: the resumed step differs",
              fmd_dtype_name(dtype));
    cr_expect(memcmp(tr2->ema, tr->ema, bytes) == 0, "%s: the resumed EMA differs", fmd_dtype_name(dtype));
    fmd_unet_trainer_free(tr), fmd_unet_trainer_free(tr2);
    fmd_unet_free(net), fmd_unet_free(net2);
    fmd_gmm_free(g);
}

static void resume_round_trip(const char *path, fmd_dtype dtype)
{
    resume_round_trip_as(path, dtype, 0);
}

Test(unet, edm_checkpoint_resumes_bit_for_bit)
{
    char path[256];
    snprintf(path, sizeof path, "/tmp/fmd-unet-edm-%d.safetensors", (int)getpid());
    resume_round_trip_as(path, FMD_F64, 1);
    unlink(path);
}

Test(unet, patched_logit_normal_checkpoint_resumes_bit_for_bit)
{
    char path[256];
    snprintf(path, sizeof path, "/tmp/fmd-unet-patch-%d.safetensors", (int)getpid());
    resume_round_trip_as(path, FMD_F32, 2);
    unlink(path);
}

Test(unet, float32_checkpoint_resumes_bit_for_bit)
{
    char path[256];
    snprintf(path, sizeof path, "/tmp/fmd-unet32-%d.safetensors", (int)getpid());
    resume_round_trip(path, FMD_F32);
    unlink(path);
}

Test(unet, checkpoint_resumes_bit_for_bit_and_readers_refuse_the_other_kind)
{
    char path[256], mlp_path[256], why[256];
    snprintf(path, sizeof path, "/tmp/fmd-unet-%d.safetensors", (int)getpid());
    snprintf(mlp_path, sizeof mlp_path, "/tmp/fmd-unet-mlp-%d.safetensors", (int)getpid());
    resume_round_trip(path, FMD_F64);
    fmd_unet *tmp;
    fmd_run_info info, info2;
    memset(&info, 0, sizeof info);
    snprintf(info.objective, sizeof info.objective, "cfm");
    snprintf(info.schedule, sizeof info.schedule, "condot");
    snprintf(info.data, sizeof info.data, "two patterns");
    /* each reader names the other kind */
    fmd_mlp *m;
    fmd_run_info mi;
    cr_expect_neq(fmd_checkpoint_load(path, &m, &mi, NULL, why, sizeof why), FMD_OK);
    cr_log_info("the MLP reader on a U-Net file: %s", why);
    cr_expect(strstr(why, "U-Net") != NULL, "the MLP reader said: %s", why);
    fmd_mlp_config mc = {.d = 2, .depth = 1, .width = {8}, .act = FMD_SILU};
    cr_assert_eq(fmd_mlp_alloc(&mc, &m), FMD_OK);
    cr_assert_eq(fmd_checkpoint_save(mlp_path, m, NULL, &info), FMD_OK);
    fmd_mlp_free(m);
    cr_expect_neq(fmd_unet_checkpoint_load(mlp_path, 0, &tmp, &info2, NULL, why, sizeof why), FMD_OK);
    cr_log_info("the U-Net reader on an MLP file: %s", why);
    cr_expect(strstr(why, "MLP") != NULL, "the U-Net reader said: %s", why);
    unlink(path);
    unlink(mlp_path);
}

/* The U-Net reader checks every value before it uses one: a valid file
 * rewritten (with a valid checksum, by the same writer) with one metadata
 * value out of range or malformed, or a parameter tensor one number short,
 * is refused, and the reason names what is wrong. (The file's network has
 * 2 levels: side 31 is not divisible by 2^(2 - 1), and 3 multipliers do not
 * fit 2 levels.) */
Test(unet, reader_refuses_each_bad_value_by_name)
{
    char path[256], bad[256], why[256];
    snprintf(path, sizeof path, "/tmp/fmd-unet-ok-%d.safetensors", (int)getpid());
    snprintf(bad, sizeof bad, "/tmp/fmd-unet-bad-%d.safetensors", (int)getpid());
    fmd_unet *net = tiny_unet(1624), *back;
    fmd_run_info info;
    memset(&info, 0, sizeof info);
    snprintf(info.objective, sizeof info.objective, "cfm");
    snprintf(info.schedule, sizeof info.schedule, "condot");
    snprintf(info.data, sizeof info.data, "fashion-mnist");
    cr_assert_eq(fmd_unet_checkpoint_save(path, net, NULL, &info), FMD_OK);
    uint8_t *buf;
    fmd_st_file f;
    cr_assert_eq(fmd_model_file_read(path, 0, &buf, &f, NULL, why, sizeof why), FMD_OK, "%s", why);
    const struct { const char *key, *value, *phrase; } cases[] = {
        {"format", "fmd-unet-2", "not an fmd model"},     {"side", "0", "'side'"},
        {"side", "99999", "'side'"},                      {"side", "31", "not valid"},
        {"channels", "0", "'channels'"},                  {"levels", "9", "'levels'"},
        {"attention", "2", "'attention'"},                {"groups", "0", "'groups'"},
        {"fourier", "1", "'fourier'"},                    {"emb", "0", "'emb'"},
        {"classes", "two", "'classes'"},                  {"mult", "1,2,2", "'mult'"},
        {"mult", "0,1,1", "'mult'"},                      {"dtype", "f16", "'dtype'"},
        {"steps", "-1", "'steps'"},                       {"lr", "fast", "'lr'"},
        {"batch", "2000000000", "'batch'"},
    };
    const char *meta[64];
    size_t nmeta = 0;
    for (size_t i = 0; i < f.nmeta; i++)
        if (strcmp(f.meta_key[i], "fmd_checksum_fnv1a64") != 0)
            meta[2 * nmeta] = f.meta_key[i], meta[2 * nmeta + 1] = f.meta_value[i], nmeta++;
    const fmd_st_tensor *T = fmd_st_find(&f, "unet.params");
    cr_assert(T != NULL);
    double *params = malloc(net->nparams * sizeof(double));
    memcpy(params, f.payload + T->begin, net->nparams * sizeof(double));   /* little-endian host */
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *m2[64];
        memcpy(m2, meta, 2 * nmeta * sizeof(char *));
        int found = 0;
        for (size_t i = 0; i < nmeta; i++)
            if (strcmp(m2[2 * i], cases[c].key) == 0)
                m2[2 * i + 1] = cases[c].value, found = 1;
        cr_assert(found, "no metadata key %s", cases[c].key);
        fmd_st_out t = {"unet.params", 1, {net->nparams}, params, FMD_F64};
        cr_assert_eq(fmd_st_write(bad, &t, 1, m2, nmeta), FMD_OK);
        why[0] = 0;
        cr_expect_neq(fmd_unet_checkpoint_load(bad, 0, &back, &info, NULL, why, sizeof why), FMD_OK, "%s = %s was read",
                      cases[c].key, cases[c].value);
        cr_expect(strstr(why, cases[c].phrase) != NULL, "%s = %s: the reason '%s' does not say %s", cases[c].key,
                  cases[c].value, why, cases[c].phrase);
    }
    fmd_st_out shortT = {"unet.params", 1, {net->nparams - 1}, params, FMD_F64};   /* one number short */
    cr_assert_eq(fmd_st_write(bad, &shortT, 1, meta, nmeta), FMD_OK);
    cr_expect_neq(fmd_unet_checkpoint_load(bad, 0, &back, &info, NULL, why, sizeof why), FMD_OK);
    cr_expect(strstr(why, "unet.params") != NULL, "a short tensor: '%s'", why);
    cr_log_info("a short tensor: %s", why);
    free(params);
    fmd_st_free(&f);
    free(buf);
    unlink(path);
    unlink(bad);
    fmd_unet_free(net);
}

/* The float32 network against its float64 twin (the same weights, rounded
 * to float32: fmd_unet_convert), at the default 28 x 28 architecture, two
 * images with labels, t = 0.37 and 0.93. Every layer runs the same code on
 * float (src/base/typed_begin.h), so the two differ only by float32 rounding:
 * each number carries a relative error of about u = 2^-24 = 6e-8 per
 * operation, grown by the products' sums (sqrt(9 * 64) ~ 24 terms) and the
 * ~30 layers it passes through: some 1e-7 to 1e-6 is what rounding gives
 * (1e-6 measured). We allow 1e-5 on the norms of the output, the input
 * gradient and the parameters' gradient; a layer that mixed types or a
 * misplaced offset gives an error of order 1. */
static double rel_diff_f32(size_t m, const float *a, const double *b)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < m; i++)
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), den += b[i] * b[i];
    return sqrt(num / den);
}

static double rel_diff(size_t m, const double *a, const double *b)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < m; i++)
        num += (a[i] - b[i]) * (a[i] - b[i]), den += b[i] * b[i];
    return sqrt(num / den);
}

Test(unet, float32_network_matches_float64)
{
    enum { N = 2, D = 28 * 28 };
    fmd_unet_config cfg;
    fmd_unet_default_config(28, 10, &cfg);
    fmd_unet *n64, *n32;
    cr_assert_eq(fmd_unet_alloc(&cfg, &n64), FMD_OK);
    gsl_rng *r;
    fmd_rng_alloc(1631, 0, &r);
    cr_assert_eq(fmd_unet_init(n64, r), FMD_OK);
    for (size_t i = 0; i < n64->nparams; i++)   /* round to float32 first: then both nets hold the same weights */
        n64->params[i] = (double)(float)(n64->params[i] + 0.05 * (2.0 * gsl_rng_uniform(r) - 1.0));
    cr_assert_eq(fmd_unet_convert(n64, FMD_F32, &n32), FMD_OK);
    cr_assert(n32->params32 && !n32->params);
    static double x[N * D], v[N * D], o64[N * D], o32[N * D], d64[N * D], d32[N * D], dx64[N * D], dx32[N * D];
    const double t[N] = {0.37, 0.93};
    const int y[N] = {4, 10};   /* a class and "no label" */
    for (size_t i = 0; i < N * D; i++)
        x[i] = gsl_ran_gaussian(r, 1.0), v[i] = 0.5 + gsl_rng_uniform(r);
    fmd_unet_work *w64, *w32;
    cr_assert_eq(fmd_unet_work_alloc(n64, N, &w64), FMD_OK);
    cr_assert_eq(fmd_unet_work_alloc(n32, N, &w32), FMD_OK);
    cr_assert_eq(fmd_unet_forward(n64, w64, N, x, t, y, o64), FMD_OK);
    cr_assert_eq(fmd_unet_forward(n32, w32, N, x, t, y, o32), FMD_OK);
    weighted_square_loss(N * D, v, o64, d64);
    weighted_square_loss(N * D, v, o32, d32);
    double *g64 = calloc(n64->nparams, sizeof(double));
    float *g32 = calloc(n32->nparams, sizeof(float));
    cr_assert_eq(fmd_unet_backward(n64, w64, N, d64, g64, dx64), FMD_OK);
    cr_assert_eq(fmd_unet_backward(n32, w32, N, d32, g32, dx32), FMD_OK);
    const double e_out = rel_diff(N * D, o32, o64), e_dx = rel_diff(N * D, dx32, dx64);
    const double e_grad = rel_diff_f32(n64->nparams, g32, g64);
    cr_log_info("float32 against float64: output %.2e, input gradient %.2e, parameter gradient %.2e (relative)",
                e_out, e_dx, e_grad);
    cr_log_info("output[300]: f64 %.7f, f32 %.7f", o64[300], o32[300]);
    cr_expect(e_out <= 1e-5, "float32 output off by %.3e relative (tolerance 1e-5)", e_out);
    cr_expect(e_dx <= 1e-5, "float32 input gradient off by %.3e relative (tolerance 1e-5)", e_dx);
    cr_expect(e_grad <= 1e-5, "float32 parameter gradient off by %.3e relative (tolerance 1e-5)", e_grad);
    /* a workspace of the other type is refused, not misread */
    cr_expect_eq(fmd_unet_forward(n32, w64, N, x, t, y, o32), FMD_EINVAL);
    free(g64), free(g32);
    fmd_unet_work_free(w64), fmd_unet_work_free(w32);
    fmd_unet_free(n64), fmd_unet_free(n32);
    gsl_rng_free(r);
}

/* The two model readers on the fuzz corpus (verify/fuzz/corpus/model: small
 * MLP and U-Net files, float64 and float32, most without fmd's checksum so
 * that a changed byte reaches the metadata checks) and on every change of
 * a header byte to 0, 51, ..., 255: each input gives a network or a
 * rejection with a reason, never a crash (make sanitize runs this under
 * ASan; make fuzz explores further with libFuzzer). The unchanged files
 * must load, each by its own reader. */
static int parse_both(const unsigned char *b, size_t len, int *mlp_ok, int *unet_ok)
{
    char why[256] = "";
    fmd_run_info info;
    fmd_mlp *m;
    fmd_unet *u;
    int silent = 0;
    *mlp_ok = fmd_checkpoint_parse(b, len, &m, &info, NULL, 1, NULL, why, sizeof why) == FMD_OK;
    if (*mlp_ok)
        fmd_mlp_free(m);
    else
        silent |= why[0] == '\0';
    *unet_ok = 0;
    for (int ema = 0; ema < 2; ema++) {
        why[0] = '\0';
        const int ok = fmd_unet_checkpoint_parse(b, len, 1, ema, &u, &info, NULL, why, sizeof why) == FMD_OK;
        if (ok)
            fmd_unet_free(u);
        else
            silent |= why[0] == '\0';
        *unet_ok |= ok;
    }
    return silent;
}

typedef struct {
    long inputs, accepted;
} replay_count;

static void model_corpus_file(const char *path, unsigned char *b, size_t len, void *ctx)
{
    replay_count *n = ctx;
    int mlp_ok, unet_ok;
    cr_expect(!parse_both(b, len, &mlp_ok, &unet_ok), "%s: rejected without a reason", path);
    const int is_unet = strstr(path, "unet") != NULL;
    cr_expect(is_unet ? unet_ok && !mlp_ok : mlp_ok && !unet_ok, "%s: not read by its own reader alone", path);
    uint64_t header = 0;   /* the 8-byte length, then the JSON header */
    for (int k = 7; k >= 0 && len >= 8; k--)
        header = header << 8 | b[k];
    const size_t end = len >= 8 && header <= len - 8 ? 8 + (size_t)header : len;
    for (size_t i = 0; i < end; i++)
        for (int v = 0; v < 256; v += 51) {
            const unsigned char keep = b[i];
            b[i] = (unsigned char)v;
            cr_expect(!parse_both(b, len, &mlp_ok, &unet_ok), "%s, byte %zu = %d: rejected without a reason", path, i, v);
            n->accepted += mlp_ok || unet_ok;
            n->inputs++;
            b[i] = keep;
        }
    for (size_t cut = 0; cut < len; cut += 97) {   /* and every 97th truncation */
        cr_expect(!parse_both(b, cut, &mlp_ok, &unet_ok), "%s cut to %zu bytes: rejected without a reason", path, cut);
        n->inputs++;
    }
}

Test(model_file, readers_replay_fuzz_corpus_and_header_changes_without_crashing)
{
    replay_count n = {0, 0};
    const int files = corpus_each("verify/fuzz/corpus/model", model_corpus_file, &n);
    cr_log_info("%d files, %ld changed inputs, %ld of them still accepted", files, n.inputs, n.accepted);
    cr_expect(files >= 4, "corpus has %d files", files);
}
