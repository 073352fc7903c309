/* Chapter 6 -- the SDE view of the companion lectures.
 *
 * On the five-mode mixture of chapter 3, with exact scores throughout:
 * forward noising by the VP SDE against the exact marginals; the reverse-time
 * SDE and the probability-flow ODE from the same starts; the probability-flow
 * ODE as the course's marginal field; log-likelihoods by the instantaneous
 * change of variables against the closed-form log-density on a grid; and a
 * first look at samplers by their error against NFE (the full benchmark is
 * bench/sampler_bench.c). Writes the data of figures/ch06_*.gp. About 20 s. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmd.h"

#define GMM "chapters/03-constructing-a-training-target/five_modes.gmm"
enum { NS = 4000, NT = 30, GRID = 41 };

static fmd_report rep;
static int io_failed;

static FILE *data(const char *name, fmd_atomic_file *f, const char *header)
{
    return fmd_data_begin(name, header, f, &io_failed);
}

static void done(fmd_atomic_file *f)
{
    if (f->fp)
        fmd_data_end(f, &io_failed);
}

/* mean exact log p_data of n samples, with SE */
static void mean_logp(const fmd_gmm *g, size_t n, const double *x, double *m, double *se)
{
    double *lp = malloc(n * sizeof(double));
    fmd_gmm_log_density(g, n, x, lp);
    fmd_mean_se(n, lp, 1, m, se);
    free(lp);
}

/* ---- 6.6 Girsanov: the path KL of a score off by delta(y) = -a y ---------- */

/* The reverse OU SDE (ou:3, the lectures' sqrt(2) dB) with the exact score
 * (P) and with the score off by -a y (Q): Girsanov's Monte Carlo KL and
 * 1/2 int g^2 E|delta|^2 on the same paths (src/sde_view/girsanov.c), against the exact
 * int a^2 E|Y|^2 dtau from the forward kernel's moments. */
/* The density and the CDF of the first coordinate of the exact marginal p_t
 * of a (dense) mixture: sum_k w_k N(x; alpha mu_k1, alpha^2 Sigma_k11 + beta^2)
 * -- chapter 3.3 (Thm 10 for a mixture: each component stays Gaussian along
 * the path), read off one coordinate. */
typedef struct {
    const fmd_gmm *g;
    double alpha, beta;
} first_coordinate;

static double first_coordinate_pdf(double x, void *p)
{
    const first_coordinate *c = p;
    double sum = 0.0;
    for (size_t k = 0; k < c->g->K; k++) {
        const double var = c->alpha * c->alpha * c->g->cov[k * c->g->d * c->g->d] + c->beta * c->beta;
        const double z = x - c->alpha * c->g->mean[k * c->g->d];
        sum += c->g->weight[k] * exp(-0.5 * z * z / var) / sqrt(2.0 * M_PI * var);
    }
    return sum;
}

static double first_coordinate_cdf(double x, void *p)
{
    const first_coordinate *c = p;
    double sum = 0.0;
    for (size_t k = 0; k < c->g->K; k++) {
        const double var = c->alpha * c->alpha * c->g->cov[k * c->g->d * c->g->d] + c->beta * c->beta;
        sum += c->g->weight[k] * 0.5 * erfc(-(x - c->alpha * c->g->mean[k * c->g->d]) / sqrt(2.0 * var));
    }
    return sum;
}

/* 6.2 and 6.3 share their marginals: at t = 0.5, 0.8 and 1 the first
 * coordinate of the reverse SDE's and of the probability flow's particles
 * (traj: the grid's states, (steps + 1, NS, 2)) against the exact marginal
 * p_t. Writes a histogram block (x, density) for `which` at each time into
 * hist[q] and checks a KS distance against the DKW bound (alpha 1e-8). */
enum { HBINS = 60 };
#define HLO (-4.5)
#define HHI 4.5
static const double marg_t[3] = {0.5, 0.8, 1.0};

static void marginal_histograms(const fmd_gmm *g, const fmd_schedule *sch, const double *traj, size_t steps,
                                const char *which, double hist[3][HBINS])
{
    static double x1[NS];
    for (int q = 0; q < 3; q++) {
        const size_t k = (size_t)lround(marg_t[q] * (double)steps);   /* grid index of course time t */
        for (int b = 0; b < HBINS; b++)
            hist[q][b] = 0.0;
        for (size_t i = 0; i < NS; i++) {
            x1[i] = traj[k * 2 * NS + 2 * i];
            const int b = (int)floor((x1[i] - HLO) / (HHI - HLO) * HBINS);
            if (b >= 0 && b < HBINS)
                hist[q][b] += 1.0 / (NS * (HHI - HLO) / HBINS);
        }
        fmd_sched_point pt;
        fmd_schedule_at(sch, marg_t[q], &pt);
        first_coordinate c = {g, pt.alpha, pt.beta};
        char what[96];
        snprintf(what, sizeof what, "%s at t = %.1f: KS distance of x_1 to p_t", which, marg_t[q]);
        fmd_report_check(&rep, what, fmd_ks_distance(NS, x1, first_coordinate_cdf, &c), 0.0,
                         fmd_ks_threshold(NS, 1e-8));
    }
}

static void girsanov(const fmd_gmm *g, gsl_rng *r)
{
    fmd_forward F;
    fmd_forward_by_name("ou:3", &F);
    fmd_forward_params P = {&F, g};
    const double a = 0.3, T = 3.0;
    enum { N = 8000, STEPS = 300 };
    double mean[2], cov[4], integral = 0.0;
    fmd_gmm_moments(g, mean, cov);
    const double Ez2 = cov[0] + cov[3] + mean[0] * mean[0] + mean[1] * mean[1];
    for (int i = 0; i <= 3000; i++) {   /* Simpson */
        double s = T * i / 3000.0, m, sd;
        fmd_forward_kernel(&F, s, &m, &sd);
        integral += ((i == 0 || i == 3000) ? 1.0 : (i % 2 ? 4.0 : 2.0)) * (m * m * Ez2 + 2.0 * sd * sd);
    }
    const double exact = a * a * integral * (T / 3000.0) / 3.0;
    static double y[2 * N];
    fmd_schedule sch;
    fmd_schedule_by_name("ou:3", &sch);
    fmd_marginal *mT;
    if (fmd_marginal_alloc(g, &mT) != FMD_OK || fmd_marginal_set_time(mT, &sch, 0.0) != FMD_OK)
        return;
    fmd_marginal_sample(mT, r, N, y);
    fmd_marginal_free(mT);
    fmd_shrunk_score W = {&P, a};   /* the score off by delta(y) = -a y */
    fmd_girsanov G = {{fmd_reverse_drift, 2, &P}, {fmd_reverse_drift_shrunk, 2, &W}, {fmd_reverse_diffusion, 2, &P}};
    double kl, kl_se, half, half_se;
    if (fmd_girsanov_kl(&G, T, STEPS, N, 2, y, r, &kl, &kl_se, &half, &half_se) != FMD_OK)
        return;
    /* tolerance: 6.5 Monte Carlo SEs plus 2% for Euler-Maruyama's O(h) bias */
    fmd_report_check(&rep, "Girsanov: E log dP/dQ (MC) vs 1/2 int g^2 E|delta|^2", kl, exact, 6.5 * kl_se + 0.02 * exact);
    fmd_report_check(&rep, "Girsanov: 1/2 int g^2 E|delta|^2 on the same paths", half, exact, 6.5 * half_se + 0.02 * exact);
    char note[160];
    snprintf(note, sizeof note, "(log dP/dQ %.4f +- %.4f, half-integral %.4f +- %.4f over %d paths; `002`'s 1/2 int E|delta|^2 = %.4f)",
             kl, kl_se, half, half_se, N, 0.5 * exact);
    fmd_report_note(&rep, note);
}

/* KL(a_t | b_t) of two 2-D mixtures' marginals at course time t under sch,
 * by the midpoint rule on [-9, 9]^2 (600^2 cells; the densities are
 * negligible outside). */
static double kl_quadrature(const fmd_gmm *a, const fmd_gmm *b, const fmd_schedule *sch, double t)
{
    enum { G = 600 };
    const double lo = -9.0, w = 18.0 / G;
    fmd_marginal *ma, *mb;
    if (fmd_marginal_alloc(a, &ma) != FMD_OK)
        return NAN;
    if (fmd_marginal_alloc(b, &mb) != FMD_OK) {
        fmd_marginal_free(ma);
        return NAN;
    }
    fmd_marginal_set_time(ma, sch, t);
    fmd_marginal_set_time(mb, sch, t);
    static double pts[2 * G], la[G], lb[G];
    double kl = 0.0;
    for (int i = 0; i < G; i++) {
        for (int j = 0; j < G; j++)
            pts[2 * j] = lo + (i + 0.5) * w, pts[2 * j + 1] = lo + (j + 0.5) * w;
        fmd_marginal_log_density(G, 2, pts, la, ma);
        fmd_marginal_log_density(G, 2, pts, lb, mb);
        for (int j = 0; j < G; j++)
            kl += exp(la[j]) * (la[j] - lb[j]) * w * w;
    }
    fmd_marginal_free(ma);
    fmd_marginal_free(mb);
    return kl;
}

/* The end-distribution KL against the path KL: the reverse OU SDEs (ou:4)
 * of p_data and of a shifted copy p~ (every mean moved by (0.4, -0.3)),
 * each with its own exact score, started from their own p_T and p~_T. The
 * data-processing inequality bounds KL(p_data | p~) by the path KL,
 * KL(p_T | p~_T) + 1/2 int g^2 E|delta|^2 (g^2 = 2, delta the score
 * difference along p's marginals); for exact reversals of noising two data
 * sets it is an equality. The integral: Simpson over 201 times, E|delta|^2
 * by 4000 draws of p_t at each (its SE from theirs). */
static void end_kl(const fmd_gmm *g, gsl_rng *r)
{
    fmd_gmm *h;
    if (fmd_gmm_alloc(g->d, g->K, &h) != FMD_OK)
        return;
    memcpy(h->weight, g->weight, g->K * sizeof(double));
    memcpy(h->mean, g->mean, g->K * g->d * sizeof(double));
    memcpy(h->cov, g->cov, g->K * g->d * g->d * sizeof(double));
    for (size_t k = 0; k < g->K; k++)
        h->mean[2 * k] += 0.4, h->mean[2 * k + 1] -= 0.3;
    fmd_schedule sch;
    fmd_schedule_by_name("ou:4", &sch);
    enum { M = 4000, STEPS = 200 };
    static double x[2 * M], sp[2 * M], sq[2 * M], d2[M];
    double integral = 0.0, var = 0.0;
    const double T = 4.0;
    if (fmd_gmm_prepare(h) == FMD_OK)
        for (int i = 0; i <= STEPS; i++) {
            fmd_marginal *mp, *mq;
            if (fmd_marginal_alloc(g, &mp) != FMD_OK)
                break;
            if (fmd_marginal_alloc(h, &mq) != FMD_OK) {
                fmd_marginal_free(mp);
                break;
            }
            fmd_marginal_set_time(mp, &sch, (double)i / STEPS);
            fmd_marginal_set_time(mq, &sch, (double)i / STEPS);
            fmd_marginal_sample(mp, r, M, x);
            fmd_marginal_out op = {.score = sp}, oq = {.score = sq};
            fmd_marginal_eval(mp, M, x, &op);
            fmd_marginal_eval(mq, M, x, &oq);
            for (int j = 0; j < M; j++)
                d2[j] = (sq[2 * j] - sp[2 * j]) * (sq[2 * j] - sp[2 * j]) +
                        (sq[2 * j + 1] - sp[2 * j + 1]) * (sq[2 * j + 1] - sp[2 * j + 1]);
            double m, se, wgt = (i == 0 || i == STEPS) ? 1.0 : (i % 2 ? 4.0 : 2.0);
            fmd_mean_se(M, d2, 1, &m, &se);
            integral += wgt * m * T / (3.0 * STEPS);   /* ds = T dt; 1/2 g^2 = 1 */
            var += (wgt * se * T / (3.0 * STEPS)) * (wgt * se * T / (3.0 * STEPS));
            fmd_marginal_free(mp);
            fmd_marginal_free(mq);
        }
    const double kl_T = kl_quadrature(g, h, &sch, 0.0), kl_end = kl_quadrature(g, h, &sch, 1.0);
    fmd_report_check(&rep, "end KL(p_data | p~) vs KL(p_T | p~_T) + path integral", kl_end, kl_T + integral,
                     6.5 * sqrt(var));
    char note[200];
    snprintf(note, sizeof note, "(KL(p_data | p~) = %.4f by quadrature; KL(p_T | p~_T) = %.2e, 1/2 int g^2 E|delta|^2 = %.4f +- %.4f)",
             kl_end, kl_T, integral, sqrt(var));
    fmd_report_note(&rep, note);
    fmd_gmm_free(h);
}

/* ---- 6.3: DDPM trained as `003` writes it --------------------------------
 * The lab's network (64 x 4 SiLU, 5000 steps, batch 1000) trained on the
 * N = 1000 levels of the discrete chain (schedule ddpm:1000, k ~ U{1..N},
 * noise target) with L_simple and with the ELBO's weights, each sampled by
 * ancestral steps on its own chain with both variances (20000 samples, the
 * same starts and noise for all), beside the same chain run on the exact
 * noise of the mixture: the chain's own error, which the network's adds to. */
static void discrete_ddpm(const fmd_gmm *g, double mdata)
{
    enum { NR = 20000 };
    static double x[2 * NR], lp[NR];
    fmd_schedule sch;
    fmd_schedule_by_name("ddpm:1000", &sch);
    fmd_ddpm q;
    fmd_ddpm_init(1000, 0.1 / 1000, 20.0 / 1000, &q);
    fmd_atomic_file f;
    FILE *out = data("ch06_discrete.tsv", &f, "# model\tbeta\tbeta_se\tposterior\tposterior_se (exact NLL gap of 20000 "
                                              "ancestral samples on the 1000-level chain, with each variance)");
    const char *names[3] = {"exact-noise", "simple", "elbo"};
    double exact_gap_post = NAN;   /* the exact chain's NLL gap, posterior variance */
    fmd_progress p;   /* units: a training step, or one chain of 20000 samples counted as 2000 steps */
    fmd_progress_begin(&p, "chapter 6: discrete DDPM, work units", 2 * 5000 + 6 * 2000);
    double units = 0.0;
    for (int w = 0; w < 3; w++) {
        fmd_mlp *net = NULL;
        fmd_field u = {fmd_mlp_field, 2, NULL};
        fmd_model_eps_params E = {&u, sch, FMD_PREDICTS_NOISE, NULL};
        if (w > 0) {
            fmd_mlp_config mc = {.d = 2, .depth = 4, .width = {64, 64, 64, 64}, .act = FMD_SILU, .output = FMD_OUT_NOISE,
                                 .schedule = sch};
            fmd_gmm_rms(g, &mc.sigma_data);
            fmd_mlp_alloc(&mc, &net);
            gsl_rng *ri;
            fmd_rng_alloc(0, 0xfeedULL, &ri);
            fmd_mlp_init(net, ri);
            gsl_rng_free(ri);
            fmd_train_config cfg = {.objective = FMD_LOSS_DDPM, .schedule = sch, .levels = 1000, .batch = 1000, .lr = 1e-3,
                                    .t_max = 1.0, .weighting = w == 2 ? FMD_WEIGHT_ELBO : FMD_WEIGHT_UNIFORM,
                                    .threads = fmd_cpus_available()};
            fmd_trainer *tr;
            double loss;
            fmd_trainer_alloc(&cfg, g, net, &tr);
            for (int k = 0; k < 5000; k++) {
                fmd_train_step(tr, &loss);
                fmd_progress_at(&p, ++units);
            }
            fmd_trainer_free(tr);
            u.params = net;
            fmd_team_ensure(&E.team, fmd_cpus_available());
        }
        double gap[2] = {NAN, NAN}, se[2] = {NAN, NAN};
        for (int v = 0; v < 2; v++) {
            const fmd_ddpm_variance var = v ? FMD_DDPM_VAR_POSTERIOR : FMD_DDPM_VAR_BETA;
            int st = w == 0 ? fmd_ddpm_ancestral_var(&q, var, fmd_mixture_eps, (void *)g, NR, 2, 31, x, NULL)
                            : fmd_ddpm_ancestral_var(&q, var, fmd_model_eps, &E, NR, 2, 31, x, NULL);
            if (st == FMD_OK) {
                double m;
                fmd_gmm_log_density(g, NR, x, lp);
                fmd_mean_se(NR, lp, 1, &m, &se[v]);
                gap[v] = mdata - m;
            }
            units += 2000;
            fmd_progress_at(&p, units);
        }
        if (out)
            fprintf(out, "%s\t%.6f\t%.6f\t%.6f\t%.6f\n", names[w], gap[0], se[0], gap[1], se[1]);
        if (w == 1) {
            /* L_simple's model, posterior variance: within 0.1 nats of the chain's own NLL gap (the
             * network's error at the lab's budget, measured 0.05; both SEs about 0.007) */
            fmd_report_check(&rep, "discrete DDPM, L_simple, posterior variance: NLL gap", gap[1], exact_gap_post, 0.1);
        }
        if (w == 0)
            exact_gap_post = gap[1];
        fmd_team_free(E.team);
        fmd_mlp_free(net);
    }
    if (out)
        done(&f);
    fmd_ddpm_free(&q);
}

int main(int argc, char **argv)
{
    int full;   /* this chapter has no long runs: make tour-full runs it as make tour does */
    if (fmd_chapter_options(argc, argv, "chapter 6", "nothing more here: this chapter has no long runs", &full) != 0)
        return 2;
    fmd_gmm *g;
    fmd_parse_error perr;
    if (fmd_gmm_load(GMM, &g, &perr) != FMD_OK) {
        fprintf(stderr, "chapter 6: %s:%ld: %s (run from the repository root)\n", perr.file, perr.line, perr.reason);
        return 1;
    }
    fmd_report_begin(&rep, stdout, "Chapter 6: the SDE view (VP forward SDE of `003`, exact scores)");
    if (fmd_report_tsv(&rep, "ch06_checks.tsv") != FMD_OK)
        fprintf(stderr, "could not open the table of checks under %s/\n", fmd_data_dir());
    gsl_rng *r;
    fmd_rng_alloc(6, 0, &r);
    fmd_forward F;
    fmd_forward_by_name("vp", &F);
    fmd_forward_params P = {&F, g};
    static double x[2 * NS], z[2 * NS];
    double mdata, sedata;
    fmd_gmm_sample(g, r, NS, z, NULL);
    mean_logp(g, NS, z, &mdata, &sedata);

    /* 6.1 forward noising: Euler-Maruyama of dx = -b x/2 ds + sqrt(b) dw against the exact p_s */
    fmd_atomic_file f;
    FILE *out = data("ch06_forward.tsv", &f, "# blocks: s = 0, 0.1, 0.25, 0.5, 1: x y (forward VP SDE from p_data)");
    const double stops[5] = {0.0, 0.1, 0.25, 0.5, 1.0};
    memcpy(x, z, sizeof x);
    fmd_sde fwd = {{fmd_forward_drift, 2, &P}, fmd_forward_diffusion, &P};
    for (int q = 0; q < 5; q++) {
        if (q > 0) {
            double ts[201];
            fmd_time_grid(stops[q - 1], stops[q], 200, ts);
            fmd_sde_workspace *ws;
            fmd_sde_workspace_alloc(fmd_sde_em, NS, 2, &ws);
            fmd_sde_solve_grid(ws, &fwd, ts, 201, x, 60 + q, NULL);
            fmd_sde_workspace_free(ws);
            /* the exact marginal at course time t = 1 - s: mean log p over the simulation vs exact draws */
            fmd_marginal *m;
            fmd_marginal_alloc(g, &m);
            fmd_marginal_set_time(m, &F.sch, 1.0 - stops[q]);
            static double ref[2 * NS], lp[NS], lq[NS];
            fmd_marginal_sample(m, r, NS, ref);
            fmd_marginal_out o1 = {.logp = lp}, o2 = {.logp = lq};
            fmd_marginal_eval(m, NS, x, &o1);
            fmd_marginal_eval(m, NS, ref, &o2);
            double a, sa, b, sb;
            fmd_mean_se(NS, lp, 1, &a, &sa);
            fmd_mean_se(NS, lq, 1, &b, &sb);
            char what[96];
            snprintf(what, sizeof what, "forward SDE at s = %.2f: mean log p_s (sim vs exact)", stops[q]);
            fmd_report_check(&rep, what, a, b, 6.5 * sqrt(sa * sa + sb * sb));
            fmd_marginal_free(m);
        }
        for (int i = 0; out && i < 1500; i++)
            fprintf(out, "%.4g\t%.4g\n", x[2 * i], x[2 * i + 1]);
        if (out)
            fprintf(out, "\n\n");
    }
    done(&f);

    /* 6.2 and 6.3: reverse SDE and probability flow from the same starts x_T ~ p_T */
    fmd_marginal *mT;
    fmd_marginal_alloc(g, &mT);
    fmd_marginal_set_time(mT, &F.sch, 0.0);
    static double start[2 * NS], traj[201 * 2 * NS];
    fmd_marginal_sample(mT, r, NS, start);
    double ts[201];
    /* reverse SDE in tau = 1 - s (Heun, 200 steps) */
    memcpy(x, start, sizeof x);
    fmd_sde rev = {{fmd_reverse_drift, 2, &P}, fmd_reverse_diffusion, &P};
    fmd_time_grid(0.0, 1.0, 200, ts);
    fmd_sde_workspace *sws;
    fmd_sde_workspace_alloc(fmd_sde_heun, NS, 2, &sws);
    fmd_sde_solve_grid(sws, &rev, ts, 201, x, 70, traj);
    fmd_sde_workspace_free(sws);
    static double hist_sde[3][HBINS], hist_ode[3][HBINS];
    marginal_histograms(g, &F.sch, traj, 200, "reverse SDE", hist_sde);
    double mm, se;
    mean_logp(g, NS, x, &mm, &se);
    fmd_report_check(&rep, "reverse SDE (Heun, 200): mean log p_data of samples", mm, mdata, 6.5 * sqrt(se * se + sedata * sedata));
    out = data("ch06_trajectories.tsv", &f, "# blocks 0..29: reverse SDE paths, 30..59: probability-flow paths; tau x y");
    for (int p = 0; out && p < NT; p++) {
        for (int k = 0; k <= 200; k++)
            fprintf(out, "%g\t%.5g\t%.5g\n", ts[k], traj[(size_t)k * 2 * NS + 2 * p], traj[(size_t)k * 2 * NS + 2 * p + 1]);
        fprintf(out, "\n\n");
    }
    /* probability-flow ODE in s, from s = 1 down to 0 (RK4, 100 steps) */
    memcpy(x, start, sizeof x);
    fmd_field pf = {fmd_probability_flow, 2, &P};
    double ss[101];
    fmd_time_grid(1.0, 0.0, 100, ss);
    fmd_ode_workspace *ows;
    fmd_ode_workspace_alloc(fmd_ode_rk4, NS, 2, &ows);
    fmd_ode_solve_grid(ows, &pf, ss, 101, x, traj);
    fmd_ode_workspace_free(ows);
    marginal_histograms(g, &F.sch, traj, 100, "probability-flow ODE", hist_ode);
    mean_logp(g, NS, x, &mm, &se);
    fmd_report_check(&rep, "probability-flow ODE (RK4, 100): mean log p_data", mm, mdata, 6.5 * sqrt(se * se + sedata * sedata));
    for (int p = 0; out && p < NT; p++) {
        for (int k = 0; k <= 100; k++)
            fprintf(out, "%g\t%.5g\t%.5g\n", 1.0 - ss[k], traj[(size_t)k * 2 * NS + 2 * p], traj[(size_t)k * 2 * NS + 2 * p + 1]);
        fprintf(out, "\n\n");
    }
    done(&f);
    /* the figure's bottom row: histograms (blocks 0, 2, 4) and the exact
     * density of x_1 under p_t (blocks 1, 3, 5) at t = 0.5, 0.8, 1 */
    out = data("ch06_marginals.tsv", &f, "# per t in {0.5, 0.8, 1}: x sde ode (histogram densities), then x exact");
    for (int q = 0; out && q < 3; q++) {
        for (int b = 0; b < HBINS; b++)
            fprintf(out, "%.6g\t%.6g\t%.6g\n", HLO + (b + 0.5) * (HHI - HLO) / HBINS, hist_sde[q][b], hist_ode[q][b]);
        fprintf(out, "\n\n");
        fmd_sched_point pt;
        fmd_schedule_at(&F.sch, marg_t[q], &pt);
        first_coordinate c = {g, pt.alpha, pt.beta};
        for (int i = 0; i <= 300; i++) {
            const double xx = HLO + (HHI - HLO) * i / 300.0;
            fprintf(out, "%.6g\t%.6g\n", xx, first_coordinate_pdf(xx, &c));
        }
        fprintf(out, "\n\n");
    }
    done(&f);
    /* the probability flow is the course's field: f x - (g^2/2) s = -u_t / T */
    double worst = 0.0;
    for (double s = 0.05; s < 1.0; s += 0.1) {
        double y[200], a[200], u[200];
        fmd_rng_gaussian(r, 200, y);
        fmd_probability_flow(s, 100, 2, y, a, &P);
        fmd_marginal_field_params M = {g, &F.sch, NULL, NULL};
        fmd_marginal_field(1.0 - s, 100, 2, y, u, &M);
        for (int i = 0; i < 200; i++)
            worst = fmax(worst, fabs(a[i] + u[i]) / (fabs(u[i]) + 1.0));
    }
    fmd_report_check(&rep, "probability flow + course field u_t (max rel.)", worst, 0.0, 1e-12);
    fmd_marginal_free(mT);

    /* 6.5 likelihood: the ODE log-likelihood on a grid against the closed form */
    fmd_schedule sch;
    fmd_schedule_by_name("condot", &sch);
    fmd_marginal_field_params M = {g, &sch, NULL, NULL};
    fmd_field u = {fmd_marginal_field, 2, &M};
    fmd_marginal *m0, *m1;
    fmd_marginal_alloc(g, &m0);
    fmd_marginal_set_time(m0, &sch, 0.0);
    fmd_marginal_alloc(g, &m1);
    fmd_marginal_set_time(m1, &sch, 1.0);
    static double pts[2 * GRID * GRID], lp_ode[GRID * GRID], lp_exact[GRID * GRID];
    for (int a = 0; a < GRID; a++)
        for (int b = 0; b < GRID; b++) {
            pts[2 * (a * GRID + b)] = -4.0 + 8.0 * a / (GRID - 1);
            pts[2 * (a * GRID + b) + 1] = -4.0 + 8.0 * b / (GRID - 1);
        }
    fmd_likelihood_config lc = {&u, FMD_DIV_EXACT, fmd_marginal_divergence, &M, 1, fmd_cpus_available()};
    fmd_ode_control ctl = {{1e-9, 1e-9}, 0, 0, 0};
    fmd_log_likelihood(&lc, fmd_ode_dopri5, &ctl, 0, 0.0, 1.0, GRID * GRID, 2, pts, fmd_marginal_log_density, m0, 0,
                       lp_ode, NULL, NULL);
    fmd_marginal_log_density(GRID * GRID, 2, pts, lp_exact, m1);
    worst = 0.0;
    out = data("ch06_likelihood.tsv", &f, "# x y ode_log_p exact_log_p ode_minus_exact");
    for (int a = 0; a < GRID; a++) {
        for (int b = 0; b < GRID; b++) {
            int i = a * GRID + b;
            worst = fmax(worst, fabs(lp_ode[i] - lp_exact[i]));
            if (out)
                fprintf(out, "%.4g\t%.4g\t%.8g\t%.8g\t%.3e\n", pts[2 * i], pts[2 * i + 1], lp_ode[i], lp_exact[i],
                        lp_ode[i] - lp_exact[i]);   /* the difference to full precision, for its own map */
        }
        if (out)
            fprintf(out, "\n");
    }
    done(&f);
    fmd_report_check(&rep, "ODE log-likelihood - closed form, 41 x 41 grid (max)", worst, 0.0, 1e-6);
    /* Hutchinson at one point: mean of 256 Rademacher probes, with its SE */
    double one[2] = {0.7, 2.1}, lh, lhse, lex;
    fmd_likelihood_config hc = {&u, FMD_DIV_HUTCHINSON_RADEMACHER, NULL, NULL, 256, 1};
    fmd_log_likelihood(&hc, fmd_ode_rk4, NULL, 200, 0.0, 1.0, 1, 2, one, fmd_marginal_log_density, m0, 7, &lh, &lhse, NULL);
    fmd_marginal_log_density(1, 2, one, &lex, m1);
    fmd_report_check(&rep, "Hutchinson (256 probes) at (0.7, 2.1) vs closed form", lh, lex, 6.5 * lhse + 1e-6);
    fmd_marginal_free(m0);
    fmd_marginal_free(m1);

    /* 6.3 samplers at a glance: NLL gap against NFE (exact scores, vp) */
    fmd_schedule vp;
    fmd_schedule_by_name("vp", &vp);
    fmd_ddpm q;
    fmd_ddpm_init(1000, 1e-4, 0.02, &q);
    printf("   NFE   DDIM      DPM-Solver-2   DPM-Solver++(2M)   (mean -log p_data of samples minus the data's own, nats)\n");
    const size_t nfes[4] = {10, 20, 50, 100};
    for (int k = 0; k < 4; k++) {
        double m_ddim, m_dpm, m_2m, s1;
        fmd_ddim(&q, nfes[k], 0.0, fmd_mixture_eps, g, NS, 2, 80 + k, x, NULL);
        mean_logp(g, NS, x, &m_ddim, &s1);
        double ts[101];
        fmd_exp_grid(&vp, FMD_GRID_LOGSNR, 1.0, 0.0, 1.0 - 1e-4, nfes[k] / 2, ts);
        fmd_exponential_integrator(&vp, FMD_EXP_2S, FMD_EXP_NOISE, ts, nfes[k] / 2, fmd_mixture_eps, g, NS, 2, 90 + k, 0, x, NULL);
        mean_logp(g, NS, x, &m_dpm, &s1);
        fmd_exp_grid(&vp, FMD_GRID_TIME, 2.0, 0.0, 1.0 - 1e-4, nfes[k], ts);
        fmd_exponential_integrator(&vp, FMD_EXP_2M, FMD_EXP_DATA, ts, nfes[k], fmd_mixture_eps, g, NS, 2, 90 + k, 0, x, NULL);
        mean_logp(g, NS, x, &m_2m, &s1);
        printf("   %4zu  %+.4f   %+.4f         %+.4f\n", nfes[k], mdata - m_ddim, mdata - m_dpm, mdata - m_2m);
    }
    fmd_ddpm_free(&q);
    discrete_ddpm(g, mdata);
    girsanov(g, r);
    end_kl(g, r);
    gsl_rng_free(r);
    fmd_gmm_free(g);
    if (io_failed)
        fprintf(stderr, "chapter 6: could not write the figure data under %s/ (set FMD_DATA, or run from the "
                        "repository root)\n", fmd_data_dir());
    return fmd_report_end(&rep) || io_failed;
}
