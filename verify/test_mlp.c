/* test_mlp.c -- chapter 4: the network's backward against finite
 * differences of its forward, for every parameter tensor. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmd.h"

/* loss = 1/2 sum (out - target)^2, so d loss / d out = out - target */
static double loss(const fmd_mlp *net, fmd_mlp_workspace *ws, size_t n, const double *x,
                   const double *t, const int *y, const double *target, double *dout)
{
    const size_t d = net->cfg.d;
    double out[64 * 8], L = 0.0;
    cr_assert_eq(fmd_mlp_forward(net, ws, n, x, t, y, out), FMD_OK);
    for (size_t i = 0; i < n * d; i++) {
        L += 0.5 * (out[i] - target[i]) * (out[i] - target[i]);
        if (dout)
            dout[i] = out[i] - target[i];
    }
    return L;
}

/* The signs of every hidden pre-activation of the last forward pass, one
 * char each (ReLU's kinks: a finite difference across one is not a
 * derivative). Returns how many were written. */
static size_t sign_pattern(const fmd_mlp *net, const fmd_mlp_workspace *ws, size_t n, char *signs)
{
    size_t k = 0;
    for (size_t l = 0; l + 1 < net->nlayers; l++) {
        const double *Z = ws->Z[l];
        for (size_t i = 0; i < n * net->dims[l + 1]; i++)
            signs[k++] = Z[i] > 0.0;
    }
    return k;
}

/* Fourth-order central differences,
 *   dL/dp ~ [-L(p+2h) + 8 L(p+h) - 8 L(p-h) + L(p-2h)] / (12 h),  h = 1e-3:
 * truncation h^4/30 |d^5 L| ~ 3e-14 |d^5 L|, rounding ~ 1.5 eps |L| / h ~
 * 4e-12 (|L| ~ 13). Every parameter's analytic gradient must agree to 1e-7
 * relative, with an absolute floor of 1e-10 for gradients that are
 * themselves ~0. Reported per tensor (W_l, b_l). For ReLU a parameter whose
 * +-2h moves any hidden unit across its kink (its sign pattern changes) is
 * skipped -- the loss is not differentiable across it -- and at least 80% of
 * the parameters must be checked: a step of 2h = 2e-3 moves a pre-activation
 * by about 2e-3 of its input, so only units that close to 0 (a fraction of
 * a percent of N(0, 1)-sized ones) take their parameters out; 80% leaves
 * room for that and still fails a check that skipped everything. */
static void gradient_check_readout(fmd_activation a, size_t n_fourier, size_t n_classes, fmd_mlp_output readout)
{
    fmd_mlp_config cfg = {.d = 3, .n_fourier = n_fourier, .n_classes = n_classes, .depth = 3,
                          .width = {7, 5, 6}, .act = a, .output = readout, .sigma_data = 1.3};
    fmd_schedule_by_name("cosine", &cfg.schedule);
    fmd_mlp *net;
    cr_assert_eq(fmd_mlp_alloc(&cfg, &net), FMD_OK);
    gsl_rng *r;
    fmd_rng_alloc(41, a, &r);
    fmd_mlp_init(net, r);
    enum { n = 9 };
    double x[n * 3], t[n], target[n * 3], dout[n * 3];
    int y[n];
    fmd_rng_gaussian(r, n * 3, x);
    fmd_rng_gaussian(r, n * 3, target);
    for (int i = 0; i < n; i++) {
        t[i] = gsl_rng_uniform(r);
        y[i] = n_classes ? (int)(i % (n_classes + 1)) : 0;
    }
    fmd_mlp_workspace *ws;
    fmd_mlp_workspace_alloc(net, n, &ws);
    double *grad = calloc(net->nparams, sizeof(double));
    char base[n * 64], moved[n * 64];
    size_t checked = 0, skipped = 0;
    loss(net, ws, n, x, t, y, target, dout);
    const size_t nsigns = sign_pattern(net, ws, n, base);
    cr_assert_eq(fmd_mlp_backward(net, ws, n, dout, grad), FMD_OK);
    const double h = 1e-3;
    for (size_t l = 0; l < net->nlayers; l++)
        for (int which = 0; which < 2; which++) {
            size_t off = which ? net->b_off[l] : net->w_off[l];
            size_t cnt = which ? net->dims[l + 1] : net->dims[l] * net->dims[l + 1];
            double worst = 0.0;
            for (size_t i = off; i < off + cnt; i++) {
                double keep = net->params[i], Ls[4];
                const double steps[4] = {2 * h, h, -h, -2 * h};
                int kink = 0;
                for (int q = 0; q < 4; q++) {
                    net->params[i] = keep + steps[q];
                    Ls[q] = loss(net, ws, n, x, t, y, target, NULL);
                    kink = kink || (a == FMD_RELU && (sign_pattern(net, ws, n, moved) != nsigns ||
                                                     memcmp(moved, base, nsigns) != 0));
                }
                net->params[i] = keep;
                if (kink) {
                    skipped++;
                    continue;
                }
                checked++;
                double fd = (-Ls[0] + 8 * Ls[1] - 8 * Ls[2] + Ls[3]) / (12 * h), err = fabs(fd - grad[i]);
                double tol = 1e-7 * fmax(fabs(fd), fabs(grad[i])) + 1e-10;
                worst = fmax(worst, err / tol);
                cr_expect(err <= tol, "act %d, %s_%zu[%zu]: backward %.12g, FD %.12g", a, which ? "b" : "W", l, i - off, grad[i], fd);
            }
            cr_log_info("act %d F %zu C %zu: %s_%zu worst error / tolerance %.3f", a, n_fourier, n_classes, which ? "b" : "W", l, worst);
        }
    cr_expect(checked >= 4 * skipped, "act %d: %zu parameters checked, %zu skipped at kinks", a, checked, skipped);
    if (readout != FMD_OUT_PLAIN) {   /* the inputs' gradient too: the read-out's c_skip x term */
        double dx[n * 3];
        loss(net, ws, n, x, t, y, target, dout);
        cr_assert_eq(fmd_mlp_input_grad(net, ws, n, dout, dx), FMD_OK);
        for (size_t i = 0; i < n * 3; i++) {
            double keep = x[i], Ls[4];
            const double steps[4] = {2 * h, h, -h, -2 * h};
            for (int q = 0; q < 4; q++) {
                x[i] = keep + steps[q];
                Ls[q] = loss(net, ws, n, x, t, y, target, NULL);
            }
            x[i] = keep;
            double fd = (-Ls[0] + 8 * Ls[1] - 8 * Ls[2] + Ls[3]) / (12 * h), err = fabs(fd - dx[i]);
            cr_expect(err <= 1e-7 * fmax(fabs(fd), fabs(dx[i])) + 1e-10, "read-out %d, dx[%zu]: %.12g, FD %.12g",
                      readout, i, dx[i], fd);
        }
    }
    free(grad);
    fmd_mlp_workspace_free(ws);
    fmd_mlp_free(net);
    gsl_rng_free(r);
}

static void gradient_check(fmd_activation a, size_t n_fourier, size_t n_classes)
{
    gradient_check_readout(a, n_fourier, n_classes, FMD_OUT_PLAIN);
}

Test(mlp, backward_matches_finite_differences_silu) { gradient_check(FMD_SILU, 0, 0); }
/* EDM's read-outs (out = c_skip x + c_out F, chapter 4): the same check,
 * and the inputs' gradient (c_skip's term) against finite differences. */
Test(mlp, backward_matches_finite_differences_noise_readout) { gradient_check_readout(FMD_SILU, 2, 0, FMD_OUT_NOISE); }
Test(mlp, backward_matches_finite_differences_data_readout) { gradient_check_readout(FMD_TANH, 0, 3, FMD_OUT_DATA); }
Test(mlp, backward_matches_finite_differences_score_readout) { gradient_check_readout(FMD_SILU, 0, 0, FMD_OUT_SCORE); }

/* The read-outs' c_skip x is the exact answer for Gaussian data: with F = 0
 * (last layer zero) and p_data = N(0, s^2 I), the NOISE read-out is
 * -beta grad log p_t, the SCORE read-out grad log p_t and the DATA read-out
 * E[z | x], from chapter 3's closed forms, to rounding (1e-13 relative),
 * for t in [0, 1) on two schedules; and c_out is the spread left, checked
 * by its defining identity c_out^2 = Var(target) - c_skip^2 Var(x) per
 * coordinate (noise: 1 - c_skip^2 v; data: s^2 - c_skip^2 v). */
Test(mlp, readouts_are_exact_for_gaussian_data)
{
    const double s = 1.7;
    fmd_gmm *g;
    cr_assert_eq(fmd_gmm_alloc(2, 1, &g), FMD_OK);
    g->weight[0] = 1.0;
    g->mean[0] = g->mean[1] = 0.0;
    g->cov[0] = g->cov[3] = s * s, g->cov[1] = g->cov[2] = 0.0;
    cr_assert_eq(fmd_gmm_prepare(g), FMD_OK);
    const char *names[2] = {"condot", "cosine"};
    const fmd_mlp_output kinds[3] = {FMD_OUT_NOISE, FMD_OUT_SCORE, FMD_OUT_DATA};
    for (int q = 0; q < 2; q++)
        for (int kq = 0; kq < 3; kq++) {
            fmd_mlp_config cfg = {.d = 2, .depth = 1, .width = {4}, .act = FMD_SILU, .output = kinds[kq], .sigma_data = s};
            fmd_schedule_by_name(names[q], &cfg.schedule);
            fmd_mlp *net;
            cr_assert_eq(fmd_mlp_alloc(&cfg, &net), FMD_OK);   /* parameters zero: F = 0 */
            fmd_mlp_workspace *ws;
            fmd_mlp_workspace_alloc(net, 1, &ws);
            fmd_marginal *m;
            fmd_marginal_alloc(g, &m);
            for (int j = 0; j <= 20; j++) {
                const double t = j < 20 ? j / 20.0 : 0.999, x[2] = {0.8, -1.9};
                double out[2], score[2], zmean[2], c_skip, c_out;
                cr_assert_eq(fmd_mlp_forward(net, ws, 1, x, &t, NULL, out), FMD_OK);
                fmd_marginal_set_time(m, &cfg.schedule, t);
                fmd_marginal_out o = {.score = score, .zmean = zmean};
                cr_assert_eq(fmd_marginal_eval(m, 1, x, &o), FMD_OK);
                const double a = m->s.alpha, b = m->s.beta, v = a * a * s * s + b * b;
                fmd_mlp_readout(kinds[kq], s, a, b, &c_skip, &c_out);
                for (int k = 0; k < 2; k++) {
                    const double want = kinds[kq] == FMD_OUT_NOISE ? -b * score[k] : kinds[kq] == FMD_OUT_SCORE ? score[k] : zmean[k];
                    cr_expect(fabs(out[k] - want) <= 1e-13 * (1 + fabs(want)), "%s read-out %d at t = %g: %.17g vs %.17g",
                              names[q], kinds[kq], t, out[k], want);
                }
                const double var_target = kinds[kq] == FMD_OUT_NOISE ? 1.0 : kinds[kq] == FMD_OUT_DATA ? s * s : 1.0 / (b * b);
                cr_expect(fabs(c_out * c_out - (var_target - c_skip * c_skip * v)) <= 1e-12 * var_target,
                          "%s read-out %d at t = %g: c_out^2 %.17g, spread left %.17g", names[q], kinds[kq], t,
                          c_out * c_out, var_target - c_skip * c_skip * v);
            }
            fmd_marginal_free(m);
            fmd_mlp_workspace_free(ws);
            fmd_mlp_free(net);
        }
    fmd_gmm_free(g);
}
Test(mlp, backward_matches_finite_differences_tanh_fourier_labels) { gradient_check(FMD_TANH, 4, 3); }
Test(mlp, backward_matches_finite_differences_silu_fourier_labels) { gradient_check(FMD_SILU, 2, 5); }
Test(mlp, backward_matches_finite_differences_relu_fourier_labels) { gradient_check(FMD_RELU, 2, 3); }

/* A network small enough to evaluate by hand: d = 1, raw t, one hidden unit,
 * ReLU. out = w2 relu(w0 x + w1 t + b0) + b1. */
Test(mlp, forward_matches_hand_computation)
{
    fmd_mlp_config cfg = {.d = 1, .depth = 1, .width = {1}, .act = FMD_RELU};
    fmd_mlp *net;
    cr_assert_eq(fmd_mlp_alloc(&cfg, &net), FMD_OK);
    cr_assert_eq(net->nparams, 2 + 1 + 1 + 1);
    double *p = net->params;   /* W_0 (2, 1), b_0 (1), W_1 (1, 1), b_1 (1) */
    p[0] = 1.7, p[1] = -0.6, p[2] = 0.25, p[3] = -2.2, p[4] = 0.4;
    fmd_mlp_workspace *ws;
    fmd_mlp_workspace_alloc(net, 2, &ws);
    double x[2] = {0.9, -3.0}, t[2] = {0.3, 0.8}, out[2];
    cr_assert_eq(fmd_mlp_forward(net, ws, 2, x, t, NULL, out), FMD_OK);
    double h0 = fmax(0.0, 1.7 * 0.9 - 0.6 * 0.3 + 0.25);
    cr_expect(fabs(out[0] - (-2.2 * h0 + 0.4)) <= 1e-15, "out %.17g vs %.17g", out[0], -2.2 * h0 + 0.4);
    cr_expect(fabs(out[1] - 0.4) <= 1e-15, "ReLU off: out %.17g vs 0.4", out[1]);
    fmd_mlp_workspace_free(ws);
    fmd_mlp_free(net);
    fmd_mlp_config bad = {.d = 2, .depth = 0};
    cr_expect_eq(fmd_mlp_alloc(&bad, &net), FMD_EINVAL);
}

/* Adam's first step moves every parameter by lr g / (|g| + eps) (bias
 * correction makes mhat = g, vhat = g^2); a second step with the same g
 * moves it by the same amount again. */
Test(adam, first_steps_move_by_lr_times_sign)
{
    fmd_adam *a;
    cr_assert_eq(fmd_adam_alloc(3, 0.01, &a), FMD_OK);
    double th[3] = {1.0, 2.0, 3.0}, g[3] = {0.5, -2.0, 1e-3};
    fmd_adam_step(a, th, g);
    double move[3];
    for (int i = 0; i < 3; i++) {
        move[i] = 0.01 * g[i] / (fabs(g[i]) + 1e-8);
        cr_expect(fabs(th[i] - (i + 1.0 - move[i])) <= 1e-15, "theta[%d] = %.17g, expected %.17g", i, th[i], i + 1.0 - move[i]);
    }
    fmd_adam_step(a, th, g);
    for (int i = 0; i < 3; i++)
        cr_expect(fabs(th[i] - (i + 1.0 - 2 * move[i])) <= 1e-14, "second step theta[%d] = %.17g", i, th[i]);
    fmd_adam_free(a);
    double v[2] = {3.0, 4.0};
    cr_expect(fabs(fmd_clip_grad_norm(2, v, 1.0) - 5.0) <= 1e-15 && fabs(v[0] - 0.6) <= 1e-15 && fabs(v[1] - 0.8) <= 1e-15);
    double e[2] = {1.0, 1.0}, p[2] = {3.0, -1.0};
    fmd_ema_update(2, e, p, 0.75);
    cr_expect(e[0] == 1.5 && e[1] == 0.5);
}

/* A small network fits one fixed batch of 16 random targets: Adam drives
 * the mean squared error from ~1 to below 1e-6 within 5000 steps at lr 5e-3 (an
 * over-parameterised net, 500+ parameters for 32 numbers, interpolates). At a
 * constant step size Adam does not settle there: once the error is tiny its
 * normalised steps kick it back up now and then (measured: 2e-13 at step
 * 2000, 8e-5 at 3000), so the claim is about the best error reached. */
Test(mlp, tiny_network_overfits_one_batch)
{
    fmd_mlp_config cfg = {.d = 2, .n_fourier = 2, .depth = 2, .width = {32, 32}, .act = FMD_SILU};
    fmd_mlp *net;
    cr_assert_eq(fmd_mlp_alloc(&cfg, &net), FMD_OK);
    gsl_rng *r;
    fmd_rng_alloc(51, 0, &r);
    fmd_mlp_init(net, r);
    enum { n = 16 };
    double x[n * 2], t[n], target[n * 2], out[n * 2], dout[n * 2];
    fmd_rng_gaussian(r, n * 2, x);
    fmd_rng_gaussian(r, n * 2, target);
    for (int i = 0; i < n; i++)
        t[i] = gsl_rng_uniform(r);
    fmd_mlp_workspace *ws;
    fmd_mlp_workspace_alloc(net, n, &ws);
    fmd_adam *opt;
    fmd_adam_alloc(net->nparams, 5e-3, &opt);
    double *grad = malloc(sizeof(double) * net->nparams), mse = 0.0, first = 0.0, best = INFINITY;
    for (int step = 0; step < 5000; step++) {
        fmd_mlp_forward(net, ws, n, x, t, NULL, out);
        mse = 0.0;
        for (int i = 0; i < n * 2; i++) {
            mse += (out[i] - target[i]) * (out[i] - target[i]) / (n * 2);
            dout[i] = 2.0 * (out[i] - target[i]) / (n * 2);
        }
        if (step == 0)
            first = mse;
        best = fmin(best, mse);
        memset(grad, 0, sizeof(double) * net->nparams);
        fmd_mlp_backward(net, ws, n, dout, grad);
        fmd_adam_step(opt, net->params, grad);
    }
    cr_log_info("overfit: MSE %.3e -> best %.3e within 5000 Adam steps (last %.3e)", first, best, mse);
    cr_expect(best < 1e-6, "best MSE %.3e within 5000 steps (from %.3e)", best, first);
    free(grad);
    fmd_adam_free(opt);
    fmd_mlp_workspace_free(ws);
    fmd_mlp_free(net);
    gsl_rng_free(r);
}

/* ---- the float32 path against float64 ------------------------------------- */

/* The float32 network and a float64 one with the very same weights (the
 * float32 ones, widened exactly): forward outputs agree to 1e-5 in relative
 * Frobenius norm over the batch, and the gradients of a squared loss to
 * 1e-4. Why these margins: float32 rounds to 6e-8 relative; a dot product
 * of k terms with independent rounding errors is off by about sqrt(k) 6e-8
 * (2e-6 for k = 803, the widest input here), and four layers compound a few
 * such errors -- 1e-5 leaves room, while one layer computed wrongly in
 * float32 (a lost bias, a swapped transpose) is off by O(1). Gradients sum
 * over the batch once more (k = 256 rows) and multiply the forward's error by
 * the loss's curvature: 1e-4. Both on the lab network and on chapter 5's
 * Fashion-MNIST shape (784 + 8 + 11 inputs, 512 x 3). */
static void float32_matches_float64(const fmd_mlp_config *cfg32, double *fwd_err, double *grad_err)
{
    fmd_mlp *n32, *n64;
    cr_assert_eq(fmd_mlp_alloc(cfg32, &n32), FMD_OK);
    gsl_rng *r;
    fmd_rng_alloc(61, cfg32->d, &r);
    fmd_mlp_init(n32, r);
    cr_assert_eq(fmd_mlp_convert(n32, FMD_F64, &n64), FMD_OK);
    cr_assert_eq(n64->cfg.dtype, FMD_F64);
    enum { n = 256 };
    const size_t d = cfg32->d, P = n32->nparams;
    double *x = malloc(n * d * sizeof(double)), *t = malloc(n * sizeof(double)), *o32 = malloc(n * d * sizeof(double));
    double *o64 = malloc(n * d * sizeof(double)), *g64 = calloc(P, sizeof(double));
    float *g32 = calloc(P, sizeof(float));
    int *y = malloc(n * sizeof(int));
    fmd_rng_gaussian(r, n * d, x);
    for (int i = 0; i < n; i++) {
        t[i] = gsl_rng_uniform(r);
        y[i] = cfg32->n_classes ? i % (int)(cfg32->n_classes + 1) : 0;
    }
    fmd_mlp_workspace *w32, *w64;
    cr_assert_eq(fmd_mlp_workspace_alloc(n32, n, &w32), FMD_OK);
    cr_assert_eq(fmd_mlp_workspace_alloc(n64, n, &w64), FMD_OK);
    cr_assert_eq(fmd_mlp_forward(n32, w32, n, x, t, y, o32), FMD_OK);
    cr_assert_eq(fmd_mlp_forward(n64, w64, n, x, t, y, o64), FMD_OK);
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n * d; i++) {
        num += (o32[i] - o64[i]) * (o32[i] - o64[i]);
        den += o64[i] * o64[i];
    }
    *fwd_err = sqrt(num / den);
    for (size_t i = 0; i < n * d; i++)   /* d/d out of 1/2 |out - x|^2, in float64 for both */
        o64[i] -= x[i];
    cr_assert_eq(fmd_mlp_backward(n32, w32, n, o64, g32), FMD_OK);
    cr_assert_eq(fmd_mlp_backward(n64, w64, n, o64, g64), FMD_OK);
    num = den = 0.0;
    for (size_t i = 0; i < P; i++) {
        num += (g32[i] - g64[i]) * (g32[i] - g64[i]);
        den += g64[i] * g64[i];
    }
    *grad_err = sqrt(num / den);
    fmd_mlp_workspace_free(w32);
    fmd_mlp_workspace_free(w64);
    fmd_mlp_free(n32);
    fmd_mlp_free(n64);
    gsl_rng_free(r);
    free(x), free(t), free(o32), free(o64), free(g64), free(g32), free(y);
}

Test(mlp, float32_forward_and_gradient_match_float64)
{
    const fmd_mlp_config cfgs[2] = {
        {.d = 2, .depth = 4, .width = {64, 64, 64, 64}, .act = FMD_SILU, .dtype = FMD_F32},
        {.d = 784, .n_fourier = 4, .n_classes = 10, .depth = 3, .width = {512, 512, 512}, .act = FMD_SILU, .dtype = FMD_F32}};
    const char *names[2] = {"lab 64 x 4", "Fashion-MNIST 512 x 3"};
    for (int c = 0; c < 2; c++) {
        double fe, ge;
        float32_matches_float64(&cfgs[c], &fe, &ge);
        cr_log_info("%s: float32 forward off by %.2e, gradient by %.2e (relative, Frobenius)", names[c], fe, ge);
        cr_expect(fe <= 1e-5, "%s: float32 forward off by %.3e relative (tolerance 1e-5)", names[c], fe);
        cr_expect(ge <= 1e-4, "%s: float32 gradient off by %.3e relative (tolerance 1e-4)", names[c], ge);
    }
}

/* Converting is exact one way (float32 -> float64) and rounds the other: a
 * round trip float64 -> float32 -> float64 -> float32 gives the same floats. */
Test(mlp, conversion_widens_exactly_and_rounds_once)
{
    fmd_mlp_config cfg = {.d = 3, .depth = 2, .width = {9, 7}, .act = FMD_TANH};
    fmd_mlp *a, *b, *c, *e;
    cr_assert_eq(fmd_mlp_alloc(&cfg, &a), FMD_OK);
    gsl_rng *r;
    fmd_rng_alloc(62, 0, &r);
    fmd_mlp_init(a, r);
    cr_assert_eq(fmd_mlp_convert(a, FMD_F32, &b), FMD_OK);
    cr_assert_eq(fmd_mlp_convert(b, FMD_F64, &c), FMD_OK);
    cr_assert_eq(fmd_mlp_convert(c, FMD_F32, &e), FMD_OK);
    cr_assert(a->params && !a->params32 && b->params32 && !b->params);
    for (size_t i = 0; i < a->nparams; i++) {
        cr_expect(b->params32[i] == (float)a->params[i], "parameter %zu not rounded to nearest", i);
        cr_expect(c->params[i] == (double)b->params32[i], "parameter %zu not widened exactly", i);
        cr_expect(e->params32[i] == b->params32[i], "parameter %zu changed on the round trip", i);
        cr_expect(fmd_mlp_param(b, i) == (double)b->params32[i]);
    }
    fmd_mlp_free(a), fmd_mlp_free(b), fmd_mlp_free(c), fmd_mlp_free(e);
    gsl_rng_free(r);
}
