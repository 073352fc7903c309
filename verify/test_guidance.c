/* test_guidance.c -- chapter 5 on a labelled mixture, where every guided
 * field is exact (src/paths/guidance.h). Pointwise identities are checked to
 * rounding (1e-12 relative to the sizes of the terms); the sampling claims
 * are Monte Carlo checks at Z_CHECK standard errors or KS checks at the DKW
 * threshold (13 checks, counted in verify/budget.h). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmd.h"
#include "budget.h"
#include "mixtures.h"

static const char *const schedules[] = {"condot", "cosine", "lab", "poly:2", "vp"};

/* a random 2-D mixture of 6 components in 3 classes (label k mod 3) */
static fmd_gmm *labelled_mixture(uint64_t seed)
{
    fmd_gmm *g = random_mixture(2, 6, seed);
    for (size_t k = 0; k < 6; k++)
        g->label[k] = (int)(k % 3);
    return g;
}

/* w = 0 is the unconditional field u_t(x), w = 1 the conditional u_t(x | y)
 * (the marginal field of p_data(. | y)), for every schedule and t in [0, 1]. */
Test(guidance, w0_is_unconditional_and_w1_is_conditional)
{
    fmd_gmm *g = labelled_mixture(1600);
    gsl_rng *r;
    fmd_rng_alloc(1601, 0, &r);
    for (int si = 0; si < 5; si++) {
        fmd_schedule sch;
        fmd_schedule_by_name(schedules[si], &sch);
        for (int k = 0; k <= 4; k++) {   /* t = 0, 1/4, ..., 1: an integer index reaches both ends */
            const double t = k / 4.0;
            double x[16], u[16], uy[16], out[16];
            fmd_rng_gaussian(r, 16, x);
            fmd_marginal_field_params M = {g, &sch, NULL, NULL};
            cr_assert_eq(fmd_marginal_field(t, 8, 2, x, u, &M), FMD_OK);
            for (int w = 0; w <= 1; w++) {
                fmd_guidance_params P;
                cr_assert_eq(fmd_guidance_init(&P, g, 1, &sch, w), FMD_OK);
                fmd_marginal_field_params My = {P.gy, &sch, NULL, NULL};
                cr_assert_eq(fmd_marginal_field(t, 8, 2, x, uy, &My), FMD_OK);
                cr_assert_eq(fmd_guided_field(t, 8, 2, x, out, &P), FMD_OK);
                for (int i = 0; i < 16; i++) {
                    double want = w ? uy[i] : u[i];
                    cr_expect(fabs(out[i] - want) <= 1e-15 * fabs(want), "%s t = %.2f w = %d: %.17g vs %.17g",
                              schedules[si], t, w, out[i], want);
                }
                fmd_guidance_free(&P);
            }
        }
    }
    gsl_rng_free(r);
    fmd_gmm_free(g);
}

/* Classifier guidance with the exact classifier and scale w is classifier-free
 * guidance with the same w: u + w b_t grad log p_t(y|x) = (1 - w) u + w u(.|y),
 * to 1e-12 relative, at t in (0, 1] for every schedule and several w; at
 * t = 0 (alpha = 0) classifier guidance is refused, except for vp. */
Test(guidance, classifier_guidance_equals_classifier_free_guidance)
{
    fmd_gmm *g = labelled_mixture(1700);
    gsl_rng *r;
    fmd_rng_alloc(1701, 0, &r);
    const double ws[4] = {0.5, 1.0, 2.5, 4.0};
    for (int si = 0; si < 5; si++) {
        fmd_schedule sch;
        fmd_schedule_by_name(schedules[si], &sch);
        for (int q = 0; q < 4; q++) {
            fmd_guidance_params P;
            cr_assert_eq(fmd_guidance_init(&P, g, 2, &sch, ws[q]), FMD_OK);
            for (int k = 1; k <= 10; k++) {   /* an integer index: the last t is exactly 1 */
                double tt = k / 10.0, x[16], cfg[16], cg[16], u[16], s[16];
                fmd_rng_gaussian(r, 16, x);
                for (int i = 0; i < 16; i++)
                    x[i] *= 3.0;
                cr_assert_eq(fmd_guided_field(tt, 8, 2, x, cfg, &P), FMD_OK);
                cr_assert_eq(fmd_classifier_guided_field(tt, 8, 2, x, cg, &P), FMD_OK);
                fmd_marginal *m = slice_at(g, schedules[si], tt);
                fmd_marginal_out o = {.u = u, .score = s};
                fmd_marginal_eval(m, 8, x, &o);
                double b = m->s.beta * m->s.beta * m->s.alpha_dot / m->s.alpha - m->s.beta_beta_dot;
                for (int i = 0; i < 16; i++) {
                    double scale = (1 + ws[q]) * (fabs(u[i]) + fabs(cfg[i]) + fabs(x[i] * m->s.alpha_dot / m->s.alpha)) +
                                   ws[q] * fabs(b) * (fabs(s[i]) + fabs(x[i]) / fmax(m->s.beta * m->s.beta, 1e-300)) + 1;
                    if (m->s.beta == 0.0)
                        scale = (1 + ws[q]) * (fabs(u[i]) + fabs(cfg[i]) + fabs(x[i])) + 1;
                    cr_expect(fabs(cg[i] - cfg[i]) <= 1e-12 * scale, "%s w = %.1f t = %.2f: classifier %.17g, free %.17g",
                              schedules[si], ws[q], tt, cg[i], cfg[i]);
                }
                fmd_marginal_free(m);
            }
            double x0[2] = {0.1, 0.2}, out[2];
            fmd_sched_point p0;
            fmd_schedule_at(&sch, 0.0, &p0);
            cr_expect_eq(fmd_classifier_guided_field(0.0, 1, 2, x0, out, &P), p0.alpha == 0.0 ? FMD_EDOM : FMD_OK,
                         "%s at t = 0", schedules[si]);
            cr_expect_eq(fmd_guided_field(0.0, 1, 2, x0, out, &P), FMD_OK, "%s: CFG at t = 0", schedules[si]);
            cr_expect(isfinite(out[0]) && isfinite(out[1]));
            fmd_guidance_free(&P);
        }
    }
    gsl_rng_free(r);
    fmd_gmm_free(g);
}

/* The exact classifier: the p_t(y | x) of all classes sum to 1 (to 1e-12),
 * and grad log p_t(y | x) matches a central difference of log p_t(y | x)
 * (step h = 1e-4, truncation O(h^2) ~ 1e-8 times the third derivative;
 * tolerance 1e-6 relative to the gradient's size + 1). */
Test(guidance, exact_classifier_is_normalised_and_its_gradient_is_right)
{
    fmd_gmm *g = labelled_mixture(1800);
    gsl_rng *r;
    fmd_rng_alloc(1801, 0, &r);
    fmd_schedule sch;
    fmd_schedule_by_name("condot", &sch);
    for (int k = 0; k <= 5; k++) {   /* t = 0, 0.2, ..., 1 */
        const double t = k / 5.0;
        double x[10], lpy[5], total[5] = {0};
        fmd_rng_gaussian(r, 10, x);
        for (int y = 0; y < 3; y++) {
            fmd_guidance_params P;
            cr_assert_eq(fmd_guidance_init(&P, g, y, &sch, 1.0), FMD_OK);
            double grad[10];
            cr_assert_eq(fmd_class_posterior(&P, t, 5, x, lpy, grad), FMD_OK);
            for (int i = 0; i < 5; i++) {
                total[i] += exp(lpy[i]);
                for (int j = 0; j < 2; j++) {
                    const double h = 1e-4;
                    double xp[2] = {x[2 * i], x[2 * i + 1]}, xm[2] = {x[2 * i], x[2 * i + 1]}, lp, lm;
                    xp[j] += h, xm[j] -= h;
                    fmd_class_posterior(&P, t, 1, xp, &lp, NULL);
                    fmd_class_posterior(&P, t, 1, xm, &lm, NULL);
                    double fd = (lp - lm) / (2 * h);
                    cr_expect(fabs(fd - grad[2 * i + j]) <= 1e-6 * (fabs(grad[2 * i + j]) + 1),
                              "t = %.1f y = %d: gradient %.10g, difference %.10g", t, y, grad[2 * i + j], fd);
                }
            }
            fmd_guidance_free(&P);
        }
        for (int i = 0; i < 5; i++)
            cr_expect(fabs(total[i] - 1.0) <= 1e-12, "t = %.1f: classes sum to %.17g", t, total[i]);
    }
    gsl_rng_free(r);
    fmd_gmm_free(g);
}

enum { NG = 8000 };

/* X_1 of the guided ODE (RK4, 200 steps) from N(0, I), for class y and scale w */
static void guided_samples(const fmd_gmm *g, int y, double w, uint64_t seed, double *x)
{
    fmd_schedule sch;
    fmd_schedule_by_name("condot", &sch);
    fmd_guidance_params P;
    cr_assert_eq(fmd_guidance_init(&P, g, y, &sch, w), FMD_OK);
    fmd_field u = {fmd_guided_field, 2, &P};
    double ts[201];
    fmd_time_grid(0.0, 1.0, 200, ts);
    fmd_sample_init(seed, NG, 2, x);
    fmd_ode_workspace *ws;
    fmd_ode_workspace_alloc(fmd_ode_rk4, NG, 2, &ws);
    cr_assert_eq(fmd_ode_solve_grid(ws, &u, ts, 201, x, NULL), FMD_OK);
    fmd_ode_workspace_free(ws);
    fmd_guidance_free(&P);
}

/* mean and SE of p_1(y | X) over the NG samples x */
static void class_mass(const fmd_gmm *g, int y, const double *x, double *m, double *se)
{
    fmd_schedule sch;
    fmd_schedule_by_name("condot", &sch);
    fmd_guidance_params P;
    fmd_guidance_init(&P, g, y, &sch, 1.0);
    static double lp[NG];
    cr_assert_eq(fmd_class_posterior(&P, 1.0, NG, x, lp, NULL), FMD_OK);
    for (int i = 0; i < NG; i++)
        lp[i] = exp(lp[i]);
    fmd_mean_se(NG, lp, 1, m, se);
    fmd_guidance_free(&P);
}


/* Guided sampling on a mixture whose classes overlap. The mass the samples
 * put on class y, E[p_data(y | X_1)], is pi_y's own value at w = 0 (where
 * X_1 ~ p_data, whatever y: E[p(y|X)] = pi_y), the exact value
 * E_{p_data(.|y)}[p(y|X)] at w = 1 (estimated from exact draws), and grows
 * from w = 1 to 2 to 4 (each step by more than Z_CHECK standard errors of
 * the difference). At w = 1 the samples follow p_data(. | y): two KS tests
 * of projections against the exact CDF. 3 + 2 + 2 + 2 = 9 checks. */
/* two overlapping classes of two components each */
static fmd_gmm *overlapping_classes(void)
{
    fmd_gmm *g;
    fmd_gmm_alloc(2, 4, &g);
    const double mu[4][2] = {{-1.0, 0.0}, {1.0, 1.0}, {0.0, -0.6}, {1.3, -1.0}};
    for (int k = 0; k < 4; k++) {
        g->weight[k] = 0.25;
        g->mean[2 * k] = mu[k][0], g->mean[2 * k + 1] = mu[k][1];
        g->cov[4 * k] = g->cov[4 * k + 3] = 0.5;
        g->label[k] = k < 2 ? 0 : 1;
    }
    cr_assert_eq(fmd_gmm_prepare(g), FMD_OK);
    return g;
}

Test(guidance, guided_samples_concentrate_on_the_class)
{
    fmd_gmm *g = overlapping_classes();
    const int y = 1;
    static double x[2 * NG];
    double m0, se0, m1, se1, m2, se2, m4, se4, me, see;
    guided_samples(g, y, 0.0, 1900, x);
    class_mass(g, y, x, &m0, &se0);
    cr_expect(fabs(m0 - 0.5) <= Z_CHECK * se0, "w = 0: mass %.4f +- %.4f, pi_y = 0.5", m0, se0);
    guided_samples(g, y, 1.0, 1901, x);
    class_mass(g, y, x, &m1, &se1);
    /* w = 1 against exact draws from p_data(. | y) */
    {
        gsl_rng *r;
        fmd_rng_alloc(1902, 0, &r);
        static double z[2 * NG], s[NG];
        fmd_gmm_sample_class(g, y, r, NG, z);
        class_mass(g, y, z, &me, &see);
        cr_expect(fabs(m1 - me) <= Z_CHECK * sqrt(se1 * se1 + see * see), "w = 1: mass %.4f vs exact %.4f", m1, me);
        fmd_gmm *gy;
        fmd_gmm_class(g, y, &gy, NULL);
        fmd_marginal *mm = slice_at(gy, "condot", 1.0);
        const double dirs[2][2] = {{0.8, 0.6}, {-0.28, 0.96}};
        for (int q = 0; q < 2; q++) {
            proj2d p = {mm, {dirs[q][0], dirs[q][1]}};
            for (int i = 0; i < NG; i++)
                s[i] = dirs[q][0] * x[2 * i] + dirs[q][1] * x[2 * i + 1];
            double D = fmd_ks_distance(NG, s, proj2d_cdf, &p);
            cr_expect(D <= ks_threshold(NG), "w = 1, direction %d: KS %.4f > %.4f", q, D, ks_threshold(NG));
        }
        fmd_marginal_free(mm);
        fmd_gmm_free(gy);
        gsl_rng_free(r);
    }
    guided_samples(g, y, 2.0, 1903, x);
    class_mass(g, y, x, &m2, &se2);
    guided_samples(g, y, 4.0, 1904, x);
    class_mass(g, y, x, &m4, &se4);
    cr_log_info("mass on class %d: w=0 %.4f, w=1 %.4f (exact %.4f), w=2 %.4f, w=4 %.4f (SE ~%.4f)", y, m0, m1, me, m2, m4, se1);
    cr_expect(m1 - m0 > Z_CHECK * sqrt(se0 * se0 + se1 * se1), "w 0 -> 1: %.4f -> %.4f", m0, m1);
    cr_expect(m2 - m1 > Z_CHECK * sqrt(se1 * se1 + se2 * se2), "w 1 -> 2: %.4f -> %.4f", m1, m2);
    cr_expect(m4 - m2 > Z_CHECK * sqrt(se2 * se2 + se4 * se4), "w 2 -> 4: %.4f -> %.4f", m2, m4);
    fmd_gmm_free(g);
}

/* Trained classifier-free guidance (fmd_train_step with label_drop 0.2, then
 * fmd_mlp_guided_field): on the same mixture, the mass the guided samples put
 * on class 1 grows from w = 0 to 1 to 3, each step by more than Z_CHECK
 * standard errors of the difference (2 checks). */
Test(guidance, trained_classifier_free_guidance_concentrates)
{
    fmd_gmm *g = overlapping_classes();
    fmd_mlp_config mc = {.d = 2, .n_fourier = 2, .n_classes = 2, .depth = 2, .width = {64, 64}, .act = FMD_SILU};
    fmd_mlp *net;
    cr_assert_eq(fmd_mlp_alloc(&mc, &net), FMD_OK);
    gsl_rng *r;
    fmd_rng_alloc(2000, 0, &r);
    fmd_mlp_init(net, r);
    fmd_train_config cfg = {.objective = FMD_LOSS_CFM, .batch = 256, .lr = 2e-3, .t_max = 1.0, .seed = 2001,
                            .label_drop = 0.2};
    fmd_schedule_by_name("condot", &cfg.schedule);
    fmd_trainer *tr;
    cr_assert_eq(fmd_trainer_alloc(&cfg, g, net, &tr), FMD_OK);
    double loss;
    for (int k = 0; k < 2000; k++)
        cr_assert_eq(fmd_train_step(tr, &loss), FMD_OK);
    const double ws[3] = {0.0, 1.0, 3.0};
    double m[3], se[3], ts[51];
    static double x[2 * NG];
    fmd_time_grid(0.0, 1.0, 50, ts);
    for (int q = 0; q < 3; q++) {
        fmd_mlp_guidance G = {net, 1, ws[q], NULL};
        fmd_field u = {fmd_mlp_guided_field, 2, &G};
        fmd_sample_init(2010 + q, NG, 2, x);
        fmd_ode_workspace *ows;
        fmd_ode_workspace_alloc(fmd_ode_rk4, NG, 2, &ows);
        cr_assert_eq(fmd_ode_solve_grid(ows, &u, ts, 51, x, NULL), FMD_OK);
        fmd_ode_workspace_free(ows);
        class_mass(g, 1, x, &m[q], &se[q]);
    }
    cr_log_info("trained CFG, mass on class 1: w=0 %.4f, w=1 %.4f, w=3 %.4f (SE ~%.4f)", m[0], m[1], m[2], se[1]);
    for (int q = 0; q < 2; q++)
        cr_expect(m[q + 1] - m[q] > Z_CHECK * sqrt(se[q] * se[q] + se[q + 1] * se[q + 1]),
                  "w %.0f -> %.0f: %.4f -> %.4f", ws[q], ws[q + 1], m[q], m[q + 1]);
    /* a class the network has no slot for is refused */
    fmd_mlp_guidance bad = {net, 2, 1.0, NULL};
    double x0[2] = {0, 0}, out[2];
    cr_expect_eq(fmd_mlp_guided_field(0.5, 1, 2, x0, out, &bad), FMD_EINVAL);
    fmd_trainer_free(tr);
    fmd_mlp_free(net);
    gsl_rng_free(r);
    fmd_gmm_free(g);
}

/* The classifier's input gradient (backpropagation through the network) is
 * the gradient of log p_theta(y | x, t): central differences with h = 1e-5
 * (truncation O(h^2) ~ 1e-10, rounding ~ 1e-11) agree to 1e-7 relative. */
Test(classifier, input_gradient_matches_finite_differences)
{
    fmd_mlp_config mc = {.d = 3, .n_fourier = 2, .n_out = 4, .depth = 2, .width = {16, 8}, .act = FMD_SILU};
    fmd_mlp *net;
    cr_assert_eq(fmd_mlp_alloc(&mc, &net), FMD_OK);
    gsl_rng *r;
    fmd_rng_alloc(2100, 0, &r);
    fmd_mlp_init(net, r);
    double x[15], g[15], lp[5];
    int y[5] = {0, 1, 2, 3, 1};
    fmd_rng_gaussian(r, 15, x);
    cr_assert_eq(fmd_classifier_log_prob(net, 0.37, 5, x, y, lp, g), FMD_OK);
    for (int i = 0; i < 5; i++) {
        cr_expect(lp[i] < 0.0);
        for (int j = 0; j < 3; j++) {
            const double h = 1e-5;
            double xp[3], xm[3], a, b;
            memcpy(xp, x + 3 * i, sizeof xp);
            memcpy(xm, x + 3 * i, sizeof xm);
            xp[j] += h, xm[j] -= h;
            fmd_classifier_log_prob(net, 0.37, 1, xp, y + i, &a, NULL);
            fmd_classifier_log_prob(net, 0.37, 1, xm, y + i, &b, NULL);
            double fd = (a - b) / (2 * h);
            cr_expect(fabs(fd - g[3 * i + j]) <= 1e-7 * (fabs(fd) + 1), "point %d coordinate %d: %.12g vs %.12g", i, j,
                      g[3 * i + j], fd);
        }
    }
    gsl_rng_free(r);
    fmd_mlp_free(net);
}

/* The classifier's features are the input of its last affine map: the
 * logits are features W + b with the network's own last W and b (1e-12), and
 * there are as many as the last hidden width. */
Test(classifier, features_are_the_last_hidden_layer)
{
    fmd_mlp_config mc = {.d = 3, .n_fourier = 2, .n_out = 4, .depth = 2, .width = {16, 8}, .act = FMD_SILU};
    fmd_mlp *net;
    cr_assert_eq(fmd_mlp_alloc(&mc, &net), FMD_OK);
    gsl_rng *r;
    fmd_rng_alloc(2101, 0, &r);
    fmd_mlp_init(net, r);
    double x[15], f[5 * 8], lp[5];
    fmd_rng_gaussian(r, 15, x);
    cr_assert_eq(fmd_classifier_feature_width(net), 8u);
    cr_assert_eq(fmd_classifier_features(net, 0.61, 5, x, f), FMD_OK);
    const int y[5] = {2, 0, 3, 1, 2};
    cr_assert_eq(fmd_classifier_log_prob(net, 0.61, 5, x, y, lp, NULL), FMD_OK);
    const size_t L = net->nlayers - 1;
    const double *W = net->params + net->w_off[L], *b = net->params + net->b_off[L];
    for (int i = 0; i < 5; i++) {   /* log softmax of features W + b at the label */
        double z[4], mx = -INFINITY, s = 0.0;
        for (int c = 0; c < 4; c++) {
            z[c] = b[c];
            for (int k = 0; k < 8; k++)
                z[c] += f[i * 8 + k] * W[k * 4 + c];
            mx = fmax(mx, z[c]);
        }
        for (int c = 0; c < 4; c++)
            s += exp(z[c] - mx);
        const double lpi = z[y[i]] - mx - log(s);
        cr_expect(fabs(lpi - lp[i]) <= 1e-12 * (1 + fabs(lp[i])), "point %d: from the features %.15f, the network %.15f", i,
                  lpi, lp[i]);
    }
    gsl_rng_free(r);
    fmd_mlp_free(net);
}

/* A time-conditioned classifier trained on noisy draws of the overlapping
 * two-class mixture: (a) its cross-entropy on fresh noisy draws comes within
 * 0.03 nats of the exact classifier's (the least any classifier can reach;
 * the training tolerance is empirical, like chapter 4's); (b) classifier
 * guidance with it, on the exact unconditional field, moves mass onto class 1
 * as w grows 0 -> 1 -> 3 (2 checks at Z_CHECK SE of the differences). */
Test(classifier, trained_classifier_guides)
{
    fmd_gmm *g = overlapping_classes();
    fmd_mlp_config mc = {.d = 2, .n_fourier = 2, .n_out = 2, .depth = 2, .width = {64, 64}, .act = FMD_SILU};
    fmd_mlp *clf;
    cr_assert_eq(fmd_mlp_alloc(&mc, &clf), FMD_OK);
    gsl_rng *r;
    fmd_rng_alloc(2200, 0, &r);
    fmd_mlp_init(clf, r);
    fmd_schedule sch;
    fmd_schedule_by_name("condot", &sch);
    fmd_classifier_trainer *tr;
    cr_assert_eq(fmd_classifier_trainer_alloc(clf, fmd_gmm_sampler, g, &sch, 256, 2e-3, 0.0, 1.0, 2201, &tr), FMD_OK);
    double loss;
    for (int k = 0; k < 2000; k++)
        cr_assert_eq(fmd_classifier_train_step(tr, &loss), FMD_OK);
    fmd_classifier_trainer_free(tr);
    /* (a) cross-entropy against the exact classifier's, on the same fresh draws */
    fmd_loss_batch b;
    cr_assert_eq(fmd_loss_batch_draw(g, &sch, NG, 0.0, 1.0, r, &b), FMD_OK);
    static double lq[NG], le[NG];
    for (int i = 0; i < NG; i++) {
        fmd_classifier_log_prob(clf, b.t[i], 1, b.x + 2 * i, b.y + i, lq + i, NULL);
        fmd_guidance_params P;
        fmd_guidance_init(&P, g, b.y[i], &sch, 1.0);
        fmd_class_posterior(&P, b.t[i], 1, b.x + 2 * i, le + i, NULL);
        fmd_guidance_free(&P);
        lq[i] = le[i] - lq[i];   /* per-draw excess cross-entropy */
    }
    double ex, ex_se;
    fmd_mean_se(NG, lq, 1, &ex, &ex_se);
    cr_log_info("trained classifier: excess cross-entropy %.4f +- %.4f nats", ex, ex_se);
    cr_expect(ex < 0.03, "excess cross-entropy %.4f nats", ex);
    fmd_loss_batch_free(&b);
    /* (b) guidance from t0 = 0.01 (exact start p_t0; b_t ~ 1/t before that) */
    fmd_marginal_field_params M = {g, &sch, NULL, NULL};
    fmd_field u = {fmd_marginal_field, 2, &M};
    const double ws[3] = {0.0, 1.0, 3.0};
    double m[3], se[3], ts[101];
    static double x[2 * NG];
    fmd_time_grid(0.01, 1.0, 100, ts);
    fmd_marginal *start = slice_at(g, "condot", 0.01);
    for (int q = 0; q < 3; q++) {
        fmd_classifier_guidance G = {&u, clf, sch, 1, ws[q]};
        fmd_field gu = {fmd_classifier_guided_net_field, 2, &G};
        fmd_marginal_sample(start, r, NG, x);
        fmd_ode_workspace *ows;
        fmd_ode_workspace_alloc(fmd_ode_rk4, NG, 2, &ows);
        cr_assert_eq(fmd_ode_solve_grid(ows, &gu, ts, 101, x, NULL), FMD_OK);
        fmd_ode_workspace_free(ows);
        class_mass(g, 1, x, &m[q], &se[q]);
    }
    cr_log_info("classifier guidance, mass on class 1: w=0 %.4f, w=1 %.4f, w=3 %.4f", m[0], m[1], m[2]);
    for (int q = 0; q < 2; q++)
        cr_expect(m[q + 1] - m[q] > Z_CHECK * sqrt(se[q] * se[q] + se[q + 1] * se[q + 1]),
                  "w %.0f -> %.0f: %.4f -> %.4f", ws[q], ws[q + 1], m[q], m[q + 1]);
    fmd_marginal_free(start);
    gsl_rng_free(r);
    fmd_mlp_free(clf);
    fmd_gmm_free(g);
}

/* Classifier-free guidance of a network (src/networks/mlp_field.c) is pinned at its
 * two ends: w = 0 is the network without a label (slot C), w = 1 the network
 * with the class asked for, and w = 2.5 their affine combination
 * (1 - w) f(x, no label) + w f(x, y) -- to 1e-14 of the outputs' size. A
 * random untrained network does: the identity holds for any weights (the
 * trained-model tests only see mass grow with w, which a reversed formula
 * (1 + w) f_y - w f would pass too). The guided field forms exactly that
 * sum from the same two forward passes, so only its rounding -- a few ulps
 * of the terms, (1 + w)(|f| + |f_y|) -- separates the two: tolerance 1e-14
 * of that; a wrong formula is off by O(1). */
Test(guidance, network_guidance_is_pinned_at_w0_and_w1)
{
    enum { N = 7, D = 2, C = 3 };
    fmd_mlp_config cfg = {.d = D, .n_fourier = 2, .n_classes = C, .depth = 2, .width = {16, 16}, .act = FMD_SILU};
    fmd_mlp *net;
    cr_assert_eq(fmd_mlp_alloc(&cfg, &net), FMD_OK);
    gsl_rng *r;
    fmd_rng_alloc(1900, 0, &r);
    fmd_mlp_init(net, r);
    double x[N * D], t[N], plain[N * D], cond[N * D], out[N * D];
    int none[N], cls[N];
    fmd_rng_gaussian(r, N * D, x);
    for (int i = 0; i < N; i++)
        t[i] = 0.37, none[i] = C, cls[i] = 1;
    fmd_mlp_workspace *ws;
    cr_assert_eq(fmd_mlp_workspace_alloc(net, N, &ws), FMD_OK);
    cr_assert_eq(fmd_mlp_forward(net, ws, N, x, t, none, plain), FMD_OK);
    cr_assert_eq(fmd_mlp_forward(net, ws, N, x, t, cls, cond), FMD_OK);
    const double ws_[3] = {0.0, 1.0, 2.5};
    for (int q = 0; q < 3; q++) {
        fmd_mlp_guidance G = {net, 1, ws_[q], NULL};
        cr_assert_eq(fmd_mlp_guided_field(0.37, N, D, x, out, &G), FMD_OK);
        for (int i = 0; i < N * D; i++) {
            const double want = (1.0 - ws_[q]) * plain[i] + ws_[q] * cond[i];
            cr_expect(fabs(out[i] - want) <= 1e-14 * (1 + fabs(plain[i]) + fabs(cond[i])) * (1 + ws_[q]),
                      "w = %.1f, entry %d: guided %.17g, (1 - w) f + w f_y = %.17g", ws_[q], i, out[i], want);
        }
    }
    fmd_mlp_workspace_free(ws);
    fmd_mlp_free(net);
    gsl_rng_free(r);
}

/* Row 5.2 at image dimension, in seconds: a labelled mixture fitted to
 * Fashion-MNIST (the 10000 test images, each 4 x 4 block averaged: 7 x 7 =
 * 49 pixels; one component per class, its mean and diagonal variance plus
 * 0.01), exact in everything chapter 5 trains for.
 *   (a) classifier guidance with the exact classifier equals classifier-free
 *       guidance, to 1e-10 of the fields' size, at t = 0.2 .. 0.8 and w = 0.5,
 *       3 (the full-covariance path at d = 49: BLIS's branch). The
 *       classifier form subtracts two scores of size up to |x|/beta^2 and
 *       multiplies by b_t, after 49-term solves: rounding of about 1e-13 of
 *       the scale |u~| + |x|/t; 1e-10 leaves a thousandfold margin, and any
 *       error in either formula is O(1) of the scale;
 *   (b) exact guided samples (RK4, 40 steps, 300 per w) of class 7
 *       (sneaker), judged by the mixture's own Bayes classifier at t = 1:
 *       the share classified as 7 rises from w = 0 (the class prior, about
 *       0.1) to w = 1 and w = 3 by Z_CHECK binomial SEs (2 checks). */
Test(guidance, exact_guidance_on_a_fashion_mnist_mixture)
{
    fmd_image_set img;
    char why[256];
    if (fmd_fmnist_load(NULL, 0, &img, why, sizeof why) != FMD_OK)
        cr_skip_test("Fashion-MNIST is not installed (%s); make check installs dataset-fashion-mnist", why);
    enum { D = 49, C = 10 };
    fmd_gmm *g;
    cr_assert_eq(fmd_gmm_alloc(D, C, &g), FMD_OK);
    double count[C] = {0}, *sum = calloc(C * D, sizeof(double)), *sq = calloc(C * D, sizeof(double));
    for (size_t i = 0; i < img.n; i++) {
        const int y = img.y[i];
        count[y] += 1.0;
        for (int a = 0; a < 7; a++)
            for (int b = 0; b < 7; b++) {
                double v = 0.0;
                for (int u = 0; u < 4; u++)
                    for (int w = 0; w < 4; w++)
                        v += img.x[i * 784 + (4 * a + u) * 28 + 4 * b + w] / 16.0;
                sum[y * D + a * 7 + b] += v;
                sq[y * D + a * 7 + b] += v * v;
            }
    }
    for (int k = 0; k < C; k++) {
        g->weight[k] = count[k] / (double)img.n;
        g->label[k] = k;
        for (int j = 0; j < D; j++) {
            const double m = sum[k * D + j] / count[k];
            g->mean[k * D + j] = m;
            g->cov[k * D * D + j * D + j] = sq[k * D + j] / count[k] - m * m + 0.01;
        }
    }
    free(sum), free(sq);
    fmd_image_set_free(&img);
    cr_assert_eq(fmd_gmm_prepare(g), FMD_OK);
    fmd_schedule sch;
    fmd_schedule_by_name("condot", &sch);
    gsl_rng *r;
    fmd_rng_alloc(1950, 0, &r);
    /* (a) the two guidances are one field */
    const double ws[2] = {0.5, 3.0};
    for (int q = 0; q < 2; q++) {
        fmd_guidance_params P;
        cr_assert_eq(fmd_guidance_init(&P, g, 7, &sch, ws[q]), FMD_OK);
        for (int k = 2; k <= 8; k += 3) {
            const double t = k / 10.0;
            double x[4 * D], cfg[4 * D], cg[4 * D];
            fmd_rng_gaussian(r, 4 * D, x);
            cr_assert_eq(fmd_guided_field(t, 4, D, x, cfg, &P), FMD_OK);
            cr_assert_eq(fmd_classifier_guided_field(t, 4, D, x, cg, &P), FMD_OK);
            double scale = 0.0;
            for (int i = 0; i < 4 * D; i++)
                scale = fmax(scale, fabs(cfg[i]) + fabs(x[i]) / t);
            for (int i = 0; i < 4 * D; i++)
                cr_expect(fabs(cg[i] - cfg[i]) <= 1e-10 * (1 + scale), "w = %.1f t = %.1f entry %d: classifier %.15g, free %.15g",
                          ws[q], t, i, cg[i], cfg[i]);
        }
        fmd_guidance_free(&P);
    }
    /* (b) guided samples land in the class, more so as w grows */
    enum { NS = 300, STEPS = 40 };
    static double xs[NS * D], logpy[NS];
    double share[3];
    const double wv[3] = {0.0, 1.0, 3.0};
    fmd_guidance_params judge;   /* the exact classifier at t = 1 */
    cr_assert_eq(fmd_guidance_init(&judge, g, 7, &sch, 1.0), FMD_OK);
    for (int q = 0; q < 3; q++) {
        fmd_guidance_params P;
        cr_assert_eq(fmd_guidance_init(&P, g, 7, &sch, wv[q]), FMD_OK);
        fmd_field u = {fmd_guided_field, D, &P};
        fmd_sample_init(1960 + q, NS, D, xs);
        double ts[STEPS + 1];
        fmd_time_grid(0.0, 1.0, STEPS, ts);
        fmd_ode_workspace *ws_;
        cr_assert_eq(fmd_ode_workspace_alloc(fmd_ode_rk4, NS, D, &ws_), FMD_OK);
        cr_assert_eq(fmd_ode_solve_grid(ws_, &u, ts, STEPS + 1, xs, NULL), FMD_OK);
        fmd_ode_workspace_free(ws_);
        cr_assert_eq(fmd_class_posterior(&judge, 1.0, NS, xs, logpy, NULL), FMD_OK);
        int hits = 0;
        for (int i = 0; i < NS; i++)
            hits += logpy[i] > log(0.5);   /* class 7 more likely than all others together */
        share[q] = (double)hits / NS;
        fmd_guidance_free(&P);
    }
    fmd_guidance_free(&judge);
    cr_log_info("Fashion-MNIST mixture (d = 49): share judged class 7 at w = 0, 1, 3: %.3f, %.3f, %.3f", share[0], share[1],
                share[2]);
    for (int q = 1; q < 3; q++) {
        const double se = sqrt((share[q] * (1 - share[q]) + share[0] * (1 - share[0])) / NS + 1.0 / (NS * NS));
        cr_expect(share[q] - share[0] > Z_CHECK * se, "w = %.0f: share %.3f vs %.3f at w = 0 (SE %.3f)", wv[q], share[q],
                  share[0], se);
    }
    gsl_rng_free(r);
    fmd_gmm_free(g);
}
