/* test_loss.c -- chapter 4: Thm 18 (L_FM = L_CFM + C) and Thm 20
 * (L_SM = L_CSM + C), each checked two ways with common random numbers:
 * (a) the loss difference is the same constant for many networks and equals
 *     its own estimate; (b) the gradients agree coordinate-wise within their
 *     standard errors, while a wrong target is told apart.
 * Gaussian checks at Z_CHECK (verify/budget.h): per test 7 (a) + 146 (b). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmd.h"
#include "budget.h"
#include "mixtures.h"

enum { M = 4000 };

static fmd_mlp *small_net(uint64_t seed)
{
    fmd_mlp_config cfg = {.d = 2, .n_fourier = 2, .depth = 2, .width = {8, 8}, .act = FMD_SILU};
    fmd_mlp *net;
    cr_assert_eq(fmd_mlp_alloc(&cfg, &net), FMD_OK);
    gsl_rng *r;
    fmd_rng_alloc(seed, 0, &r);
    fmd_mlp_init(net, r);
    gsl_rng_free(r);
    return net;
}

/* A few hundred Adam steps towards `target` on the batch: a "trained" network. */
static void train(fmd_mlp *net, fmd_mlp_workspace *ws, const fmd_loss_batch *b, const double *target)
{
    fmd_adam *opt;
    fmd_adam_alloc(net->nparams, 1e-2, &opt);
    double *grad = malloc(sizeof(double) * net->nparams), v;
    for (int k = 0; k < 300; k++) {
        fmd_loss_mlp(net, ws, b, target, &v, NULL, grad);
        fmd_adam_step(opt, net->params, grad);
    }
    free(grad);
    fmd_adam_free(opt);
}

/* kind_exact vs kind_cond (FM vs CFM, or SM vs CSM). */
static void theorem(fmd_loss_kind exact, fmd_loss_kind cond, const char *schedule, const char *name)
{
    fmd_gmm *g = random_mixture(2, 3, 1000);
    fmd_schedule sch;
    fmd_schedule_by_name(schedule, &sch);
    gsl_rng *r;
    fmd_rng_alloc(1001, exact, &r);
    fmd_loss_batch b;
    cr_assert_eq(fmd_loss_batch_draw(g, &sch, M, 0.05, 0.95, r, &b), FMD_OK);
    double *ue = malloc(sizeof(double) * M * 2), *uc = malloc(sizeof(double) * M * 2);
    cr_assert_eq(fmd_loss_target(exact, g, &sch, &b, ue), FMD_OK);
    cr_assert_eq(fmd_loss_target(cond, g, &sch, &b, uc), FMD_OK);

    /* (a) Delta(theta) = L_exact - L_cond for 4 networks (3 random, 1 trained) */
    fmd_mlp *nets[4] = {small_net(1), small_net(2), small_net(3), small_net(4)};
    fmd_mlp_workspace *ws;
    fmd_mlp_workspace_alloc(nets[0], M, &ws);
    {   /* trained on an independent batch: trained on this one, its predictions
         * would correlate with this batch's noise and the differences below
         * would no longer have mean zero */
        fmd_loss_batch b2;
        double *uc2 = malloc(sizeof(double) * M * 2);
        cr_assert_eq(fmd_loss_batch_draw(g, &sch, M, 0.05, 0.95, r, &b2), FMD_OK);
        fmd_loss_target(cond, g, &sch, &b2, uc2);
        train(nets[3], ws, &b2, uc2);
        free(uc2);
        fmd_loss_batch_free(&b2);
    }
    double pred[4][M * 2], delta[4];
    for (int q = 0; q < 4; q++) {
        double le, lc;
        fmd_loss_mlp(nets[q], ws, &b, ue, &le, NULL, NULL);
        fmd_loss_mlp(nets[q], ws, &b, uc, &lc, NULL, NULL);
        delta[q] = le - lc;
        fmd_mlp_forward(nets[q], ws, M, b.x, b.t, NULL, pred[q]);
    }
    /* the constant's own estimate: C = E|u_exact|^2 - E|u_cond|^2 */
    double *c = malloc(sizeof(double) * M), *dd = malloc(sizeof(double) * M);
    for (int i = 0; i < M; i++)
        c[i] = ue[2 * i] * ue[2 * i] + ue[2 * i + 1] * ue[2 * i + 1] - uc[2 * i] * uc[2 * i] - uc[2 * i + 1] * uc[2 * i + 1];
    double C, Cse;
    fmd_mean_se(M, c, 1, &C, &Cse);
    for (int q = 0; q < 4; q++) {
        /* Delta(q) - C = -2 mean(f_q . (u_exact - u_cond)): mean zero */
        for (int i = 0; i < M; i++)
            dd[i] = -2.0 * (pred[q][2 * i] * (ue[2 * i] - uc[2 * i]) + pred[q][2 * i + 1] * (ue[2 * i + 1] - uc[2 * i + 1]));
        double m, se;
        fmd_mean_se(M, dd, 1, &m, &se);
        cr_expect(fabs(delta[q] - C) <= Z_CHECK * se, "%s: net %d: L_exact - L_cond = %.5f, C = E|u_exact|^2 - E|u_cond|^2 = %.5f, SE %.5f",
                  name, q, delta[q], C, se);
    }
    for (int q = 1; q < 4; q++) {
        /* Delta(q) - Delta(0) = -2 mean((f_q - f_0).(u_exact - u_cond)): mean zero, SE per sample */
        for (int i = 0; i < M; i++)
            dd[i] = -2.0 * ((pred[q][2 * i] - pred[0][2 * i]) * (ue[2 * i] - uc[2 * i]) +
                            (pred[q][2 * i + 1] - pred[0][2 * i + 1]) * (ue[2 * i + 1] - uc[2 * i + 1]));
        double m, se;
        fmd_mean_se(M, dd, 1, &m, &se);
        cr_expect(fabs(m - (delta[q] - delta[0])) <= 1e-9 * (1 + fabs(m)), "%s: bookkeeping", name);
        cr_expect(fabs(delta[q] - delta[0]) <= Z_CHECK * se, "%s: Delta(net %d) - Delta(net 0) = %.5f, SE %.5f",
                  name, q, delta[q] - delta[0], se);
        cr_log_info("%s: L_exact - L_cond = %.5f (net %d) vs %.5f (net 0), difference %.2f SE; C estimate %.5f +- %.5f",
                    name, delta[q], q, delta[0], (delta[q] - delta[0]) / se, C, Cse);
    }

    /* (b) per-sample gradient differences G_i = 2 (u_cond - u_exact)_i . J_i */
    fmd_mlp *net = nets[1];
    const size_t P = net->nparams;
    double *G = calloc((size_t)M * P, sizeof(double)), *Gw = calloc((size_t)M * P, sizeof(double));
    double *Gs = calloc((size_t)M * P, sizeof(double));
    fmd_mlp_workspace *w1;
    fmd_mlp_workspace_alloc(net, 1, &w1);
    for (int i = 0; i < M; i++) {
        double out[2], dout[2], dwrong[2], dsign[2];
        fmd_mlp_forward(net, w1, 1, b.x + 2 * i, b.t + i, NULL, out);
        for (int k = 0; k < 2; k++) {
            dout[k] = 2.0 * (uc[2 * i + k] - ue[2 * i + k]);
            dwrong[k] = 2.0 * (uc[2 * i + k] - 1.5 * ue[2 * i + k]);   /* a wrong target: 1.5 u_exact */
            /* the conditional target with its sign flipped: lecture 002's DSM target
             * +eps/(1 - e^{-2t}) for the score (course map, where the sources err) */
            dsign[k] = 2.0 * (-uc[2 * i + k] - ue[2 * i + k]);
        }
        fmd_mlp_backward(net, w1, 1, dout, G + (size_t)i * P);
        fmd_mlp_backward(net, w1, 1, dwrong, Gw + (size_t)i * P);
        fmd_mlp_backward(net, w1, 1, dsign, Gs + (size_t)i * P);
    }
    double worst = 0.0, worst_wrong = 0.0, worst_sign = 0.0;
    for (size_t j = 0; j < P; j++) {
        double m, se, mw, sew;
        fmd_mean_se(M, G + j, P, &m, &se);
        fmd_mean_se(M, Gw + j, P, &mw, &sew);
        if (se > 0)
            worst = fmax(worst, fabs(m) / se);
        if (sew > 0)
            worst_wrong = fmax(worst_wrong, fabs(mw) / sew);
        double ms, ses;
        fmd_mean_se(M, Gs + j, P, &ms, &ses);
        if (ses > 0)
            worst_sign = fmax(worst_sign, fabs(ms) / ses);
        cr_expect(fabs(m) <= Z_CHECK * se + 1e-15, "%s: grad coordinate %zu differs by %.3e, SE %.3e", name, j, m, se);
    }
    /* the full-batch estimates: grad L_exact - grad L_cond = mean G, exactly */
    double *ge = malloc(sizeof(double) * P), *gc = malloc(sizeof(double) * P), v, nd = 0, nm = 0;
    fmd_loss_mlp(net, ws, &b, ue, &v, NULL, ge);
    fmd_loss_mlp(net, ws, &b, uc, &v, NULL, gc);
    for (size_t j = 0; j < P; j++) {
        double m = 0;
        for (int i = 0; i < M; i++)
            m += G[(size_t)i * P + j];
        m /= M;
        nd += (ge[j] - gc[j] - m) * (ge[j] - gc[j] - m);
        nm += ge[j] * ge[j];
    }
    cr_expect(sqrt(nd) <= 1e-10 * sqrt(nm), "%s: full-batch gradient difference is not the mean of G", name);
    cr_log_info("%s: gradient difference worst |mean|/SE %.2f (limit %g); wrong target %.1f", name, worst, Z_CHECK, worst_wrong);
    cr_expect(worst_wrong > 10.0, "%s: a wrong target (1.5 u) should be told apart, worst |mean|/SE only %.2f", name, worst_wrong);
    cr_log_info("%s: the sign-flipped conditional target: worst |mean|/SE %.1f", name, worst_sign);
    cr_expect(worst_sign > 10.0, "%s: the sign-flipped conditional target should be told apart, worst |mean|/SE only %.2f",
              name, worst_sign);
    free(G);
    free(Gs);
    free(Gw);
    free(ge);
    free(gc);
    free(c);
    free(dd);
    free(ue);
    free(uc);
    for (int q = 0; q < 4; q++)
        fmd_mlp_free(nets[q]);
    fmd_mlp_workspace_free(ws);
    fmd_mlp_workspace_free(w1);
    fmd_loss_batch_free(&b);
    gsl_rng_free(r);
    fmd_gmm_free(g);
}

Test(loss, thm18_flow_matching_equals_conditional_flow_matching) { theorem(FMD_LOSS_FM, FMD_LOSS_CFM, "condot", "Thm 18 (FM vs CFM)"); }
Test(loss, thm20_score_matching_equals_denoising_score_matching) { theorem(FMD_LOSS_SM, FMD_LOSS_CSM, "cosine", "Thm 20 (SM vs CSM)"); }
