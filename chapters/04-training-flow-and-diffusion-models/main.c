/* Chapter 4 -- training flow and diffusion models.
 *
 * Trains the course lab's first model -- MLP (x, t) -> 64 x 4 -> 2, SiLU,
 * batch 1000, lr 1e-3, 5000 steps, CFM on the CondOT path -- towards the
 * five-mode mixture of chapter 3, and measures it against the exact
 * marginal field: the CFM loss stays near Thm 18's constant while the exact
 * FM loss falls; the learned field approaches the exact one; samples by the
 * ODE and by Thm 13's SDE approach p_data. Writes figures/ch04_*.gp's data
 * and the model (build/data/ch04_lab.safetensors); then the study of reading a
 * field off a score on another mixture: 8 trainings, one seed each (make
 * tour), or 24, three seeds each, with --full (make tour-full). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmd.h"

#define GMM "chapters/03-constructing-a-training-target/five_modes.gmm"
enum { STEPS = 5000, EVERY = 250, M_EVAL = 2000, NS = 4000, GRID = 17 };

static fmd_report rep;
static int io_failed;

static FILE *data(const char *name, fmd_atomic_file *f, const char *header)
{
    return fmd_data_begin(name, header, f, &io_failed);
}

static void done(fmd_atomic_file *f)
{
    fmd_data_end(f, &io_failed);
}

/* samples' mean exact log p_data, with SE */
static void mean_logp(const fmd_gmm *g, const double *x, double *m, double *se)
{
    static double lp[NS];
    fmd_gmm_log_density(g, NS, x, lp);
    fmd_mean_se(NS, lp, 1, m, se);
}

/* ---- 4.4: reading a field off a score ------------------------------------
 * Every objective trains the lab's network (64 x 4 SiLU, 5000 steps, batch
 * 1000, condot) on a mixture nothing was tuned on, three seeds each: the
 * notes' plain networks and losses, and fmd train's defaults (EDM's read-out;
 * for DSM also Song et al.'s beta^2 weighting, on [0, 0.999]); each
 * model is sampled as `fmd sample` does by default (Euler, 100 steps, its
 * default interval, 20000 starts shared by all: common random numbers) and
 * scored by the exact NLL gap and the width of each mode. Beside them: the
 * exact field's own errors on the same starts (the integrator; the start at
 * t0 = 0.05 from beta eps; the stop at t1 = 0.95), and the field error
 * E|u_theta - u_t|^2 against t of each seed-0 model. */
#define UNSEEN "chapters/04-training-flow-and-diffusion-models/unseen_modes.gmm"
enum { NR = 20000, SEEDS_FULL = 3, NTF = 12 };

/* the largest |sd ratio - 1| over the modes: samples assigned to the component
 * with the largest w_k N_k(x), their spread (trace of the covariance) against
 * the component's */
static double worst_width(const fmd_gmm *g, size_t n, const double *x)
{
    double s1[8][2] = {{0}}, s2[8] = {0}, cnt[8] = {0}, worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        size_t best = 0;
        double bq = INFINITY;
        for (size_t k = 0; k < g->K && k < 8; k++) {
            const double *c = g->cov + 4 * k, dx = x[2 * i] - g->mean[2 * k], dy = x[2 * i + 1] - g->mean[2 * k + 1];
            const double det = c[0] * c[3] - c[1] * c[2];
            const double q = (c[3] * dx * dx - 2 * c[1] * dx * dy + c[0] * dy * dy) / det + log(det) - 2 * log(g->weight[k]);
            if (q < bq)
                bq = q, best = k;
        }
        s1[best][0] += x[2 * i], s1[best][1] += x[2 * i + 1];
        s2[best] += x[2 * i] * x[2 * i] + x[2 * i + 1] * x[2 * i + 1], cnt[best] += 1;
    }
    for (size_t k = 0; k < g->K && k < 8; k++) {
        if (cnt[k] < 2)
            return INFINITY;
        const double var = s2[k] / cnt[k] - (s1[k][0] * s1[k][0] + s1[k][1] * s1[k][1]) / (cnt[k] * cnt[k]);
        const double ratio = sqrt(var / (g->cov[4 * k] + g->cov[4 * k + 3]));
        worst = fmax(worst, fabs(ratio - 1.0));
    }
    return worst;
}

/* mean log p_data of n samples x */
static double mean_logp_n(const fmd_gmm *g, size_t n, const double *x, double *se)
{
    static double lp[NR];
    double m;
    fmd_gmm_log_density(g, n, x, lp);
    fmd_mean_se(n, lp, 1, &m, se);
    return m;
}

/* x <- the ODE of field u from X_t0 = beta_t0 eps (eps from stream 80) to t1 */
static int integrate(const fmd_field *u, const fmd_schedule *sch, const fmd_ode_stepper_type *type, double t0,
                     double t1, size_t steps, double *x)
{
    static double ts[1001];
    fmd_sched_point s0;
    fmd_schedule_at(sch, t0, &s0);
    fmd_sample_init(80, NR, 2, x);
    for (size_t i = 0; i < 2 * NR; i++)
        x[i] *= s0.beta;
    fmd_ode_workspace *ws;
    int st = fmd_ode_workspace_alloc(type, NR, 2, &ws);
    if (st == FMD_OK) {
        ws->threads = fmd_cpus_available();   /* same bits on any number */
        fmd_time_grid(t0, t1, steps, ts);
        st = fmd_ode_solve_grid(ws, u, ts, steps + 1, x, NULL);
    }
    fmd_ode_workspace_free(ws);
    return st;
}

static void readout_study(int full)
{
    const int seeds = full ? SEEDS_FULL : 1;
    fmd_gmm *g;
    fmd_parse_error perr;
    if (fmd_gmm_load(UNSEEN, &g, &perr) != FMD_OK) {
        fprintf(stderr, "chapter 4: %s:%ld: %s\n", perr.file, perr.line, perr.reason);
        io_failed = 1;
        return;
    }
    static double x[2 * NR];
    fmd_schedule sch;
    fmd_schedule_by_name("condot", &sch);
    gsl_rng *r;
    fmd_rng_alloc(7, 0, &r);
    double se0;
    fmd_gmm_sample(g, r, NR, x, NULL);
    const double mdata = mean_logp_n(g, NR, x, &se0);
    gsl_rng_free(r);
    fmd_atomic_file f, ff;
    FILE *out = data("ch04_readout.tsv", &f, "# model\tgap\tgap_se\twidth (exact NLL gap of the seed-0 model, the SE of "
                                              "its 20000 samples' mean, the worst |mode sd ratio - 1|; Euler 100 steps; "
                                              "exact-* rows: the exact field)");
    FILE *full_out = full ? data("ch04_readout_full.tsv", &ff, "# model\tgap\tgap_se\tgap_min\tgap_max\twidth (exact NLL "
                                                               "gap, mean over 3 seeds +- its SE, the seeds' range, and "
                                                               "the mean worst |mode sd ratio - 1|; Euler 100 steps, "
                                                               "20000 samples)")
                          : NULL;
    /* the exact field's own errors on the same starts */
    fmd_marginal_field_params E = {g, &sch, NULL, NULL};
    fmd_field exact = {fmd_marginal_field, 2, &E};
    const struct { const char *name; const fmd_ode_stepper_type *type; double t0, t1; } ex[3] = {
        {"exact-euler", fmd_ode_euler, 0.0, 1.0},          /* the integrator alone */
        {"exact-start-0.05", fmd_ode_rk4, 0.05, 1.0},     /* starting from beta eps at 0.05 */
        {"exact-stop-0.95", fmd_ode_rk4, 0.0, 0.95}};     /* stopping at 0.95 (DSM's t_max) */
    for (int q = 0; q < 3; q++) {
        double se, gap = NAN, w = NAN;
        if (integrate(&exact, &sch, ex[q].type, ex[q].t0, ex[q].t1, 100, x) == FMD_OK)
            gap = mdata - mean_logp_n(g, NR, x, &se), w = worst_width(g, NR, x);
        if (out)
            fprintf(out, "%s\t%.6f\t%.6f\t%.4f\n", ex[q].name, gap, se, w);
    }
    /* the trained models */
    enum { NM = 8 };
    const struct { const char *name; fmd_loss_kind kind; int edm; fmd_prediction pred; } mo[NM] = {
        {"cfm", FMD_LOSS_CFM, 0, FMD_PREDICTS_FIELD},       {"ddpm", FMD_LOSS_DDPM, 0, FMD_PREDICTS_NOISE},
        {"ddpm-edm", FMD_LOSS_DDPM, 1, FMD_PREDICTS_NOISE}, {"dsm", FMD_LOSS_CSM, 0, FMD_PREDICTS_SCORE},
        {"dsm-edm", FMD_LOSS_CSM, 1, FMD_PREDICTS_SCORE},   {"denoiser", FMD_LOSS_DENOISER, 0, FMD_PREDICTS_DATA},
        {"denoiser-edm", FMD_LOSS_DENOISER, 1, FMD_PREDICTS_DATA},
        {"cfm+dsm", FMD_LOSS_CFM_DSM, 0, FMD_PREDICTS_FIELD}};   /* section 4.2: two heads, sampled by the field's */
    const double tf[NTF] = {0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99};
    static double ferr[NM][NTF];
    double cfm_gap = NAN;
    fmd_progress p;
    fmd_progress_begin(&p, "chapter 4: the read-out study's trainings", NM * seeds);
    for (int q = 0; q < NM; q++) {
        double gaps[SEEDS_FULL], widths[SEEDS_FULL], se0 = NAN;
        for (int sd = 0; sd < seeds; sd++) {
            fmd_mlp_config mc = {.d = 2, .depth = 4, .width = {64, 64, 64, 64}, .act = FMD_SILU,
                                 .n_out = mo[q].kind == FMD_LOSS_CFM_DSM ? 4 : 0};
            if (mo[q].edm) {
                mc.output = fmd_readout_for(mo[q].kind), mc.schedule = sch;
                fmd_gmm_rms(g, &mc.sigma_data);
            }
            fmd_mlp *net;
            fmd_mlp_alloc(&mc, &net);
            gsl_rng *ri;
            fmd_rng_alloc((uint64_t)sd, 0xfeedULL, &ri);   /* as fmd train --seed */
            fmd_mlp_init(net, ri);
            gsl_rng_free(ri);
            fmd_train_config cfg = {.objective = mo[q].kind, .schedule = sch, .batch = 1000, .lr = 1e-3, .t_max = 1.0,
                                    .seed = (uint64_t)sd, .threads = fmd_cpus_available()};
            if (mo[q].kind == FMD_LOSS_CSM && !mo[q].edm)
                cfg.t_max = 0.95;   /* the notes' DSM, unweighted: fmd train --weighting uniform */
            if ((mo[q].kind == FMD_LOSS_CSM && mo[q].edm) || mo[q].kind == FMD_LOSS_CFM_DSM)   /* fmd train's defaults */
                cfg.weighting = FMD_WEIGHT_BETA2, cfg.t_max = 0.999;
            fmd_trainer *tr;
            double loss;
            fmd_trainer_alloc(&cfg, g, net, &tr);
            for (int k = 0; k < STEPS; k++)
                fmd_train_step(tr, &loss);
            fmd_trainer_free(tr);
            fmd_field nf = {fmd_mlp_field, 2, net};
            fmd_flow_sde_params P = {&nf, sch, 0.0, mo[q].pred, NULL};
            fmd_field u = {fmd_flow_sde_drift, 2, &P};
            double t0, t1, se;
            fmd_model_time_range(mo[q].pred, mo[q].edm, cfg.t_max, &t0, &t1);
            gaps[sd] = widths[sd] = NAN;
            if (integrate(&u, &sch, fmd_ode_euler, t0, t1, 100, x) == FMD_OK)
                gaps[sd] = mdata - mean_logp_n(g, NR, x, &se), widths[sd] = worst_width(g, NR, x);
            if (sd == 0)
                se0 = se;
            if (sd == 0) {   /* field error against t */
                enum { MF = 4000 };
                static double xf[2 * MF], uf[2 * MF], vf[2 * MF], ef[MF];
                fmd_marginal *m;
                fmd_marginal_alloc(g, &m);
                for (int j = 0; j < NTF; j++) {
                    gsl_rng *rf;
                    fmd_rng_alloc(3, (uint64_t)j, &rf);   /* the same points for every model */
                    fmd_marginal_set_time(m, &sch, tf[j]);
                    fmd_marginal_sample(m, rf, MF, xf);
                    gsl_rng_free(rf);
                    fmd_marginal_out o = {.u = uf};
                    fmd_marginal_eval(m, MF, xf, &o);
                    double mf = NAN;
                    if (fmd_flow_sde_drift(tf[j], MF, 2, xf, vf, &P) == FMD_OK) {
                        for (int i = 0; i < MF; i++)
                            ef[i] = (vf[2 * i] - uf[2 * i]) * (vf[2 * i] - uf[2 * i]) +
                                    (vf[2 * i + 1] - uf[2 * i + 1]) * (vf[2 * i + 1] - uf[2 * i + 1]);
                        fmd_mean_se(MF, ef, 1, &mf, &se);
                    }
                    ferr[q][j] = mf;
                }
                if (mo[q].kind == FMD_LOSS_CFM_DSM) {   /* section 4.2: do the heads agree through Prop 1? */
                    static double sf[2 * MF], cf[2 * MF];
                    fmd_rng_alloc(3, 99, &ri);
                    fmd_marginal_set_time(m, &sch, 0.5);
                    fmd_marginal_sample(m, ri, MF, xf);
                    gsl_rng_free(ri);
                    fmd_marginal_out o = {.u = uf, .score = sf};
                    fmd_marginal_eval(m, MF, xf, &o);
                    fmd_mlp_head h0 = {net, 0}, h1 = {net, 1};
                    fmd_sched_point p;
                    fmd_schedule_at(&sch, 0.5, &p);
                    double eu = 0, es = 0, A = 0;
                    if (fmd_mlp_head_field(0.5, MF, 2, xf, vf, &h0) == FMD_OK &&
                        fmd_mlp_head_field(0.5, MF, 2, xf, cf, &h1) == FMD_OK)
                        for (int i = 0; i < 2 * MF; i++)
                            es += (cf[i] - sf[i]) * (cf[i] - sf[i]), eu += (vf[i] - uf[i]) * (vf[i] - uf[i]);
                    fmd_field_from_score(&p, 2 * MF, xf, cf, sf);   /* Prop 1 of the score head, into sf */
                    for (int i = 0; i < 2 * MF; i++)
                        A += (vf[i] - sf[i]) * (vf[i] - sf[i]);
                    const double k = p.beta * (p.beta * p.alpha_dot - p.alpha * p.beta_dot) / p.alpha;
                    eu = sqrt(eu / MF), es = sqrt(es / MF), A = sqrt(A / MF);
                    /* Prop 1 ties the exact pair, so the heads can disagree by no more than their errors:
                     * A <= e_u + |k| e_s (Minkowski) */
                    fmd_report_check(&rep, "two heads, t = 1/2: RMS |u_theta - Prop1(s_theta)| (tolerance e_u + |k| e_s)", A,
                                     0.0, eu + fabs(k) * es);
                    char note[160];
                    snprintf(note, sizeof note, "(the heads' own RMS errors at t = 1/2: field %.3f, score %.3f, |k| = %.3f)",
                             eu, es, fabs(k));
                    fmd_report_note(&rep, note);
                }
                fmd_marginal_free(m);
            }
            fmd_mlp_free(net);
            fmd_progress_at(&p, q * seeds + sd + 1);
        }
        if (out)
            fprintf(out, "%s\t%.6f\t%.6f\t%.4f\n", mo[q].name, gaps[0], se0, widths[0]);
        /* the checks: on seed 0 (make tour), on the mean of three seeds (make tour-full) */
        double mg = gaps[0], sg, mw, sw, lo = gaps[0], hi = gaps[0];
        if (full) {
            fmd_mean_se(seeds, gaps, 1, &mg, &sg);
            fmd_mean_se(seeds, widths, 1, &mw, &sw);
            for (int sd = 1; sd < seeds; sd++)
                lo = fmin(lo, gaps[sd]), hi = fmax(hi, gaps[sd]);
            if (full_out)
                fprintf(full_out, "%s\t%.6f\t%.6f\t%.6f\t%.6f\t%.4f\n", mo[q].name, mg, sg, lo, hi, mw);
        }
        char what[96], of[32];
        snprintf(of, sizeof of, full ? "mean of %d seeds" : "seed 0", seeds);
        if (q == 0) {
            cfm_gap = mg;
            snprintf(what, sizeof what, "cfm on unseen modes: exact NLL gap, %s", of);
            /* tolerance 0.15 nats, as for the lab's model on chapter 3's mixture */
            fmd_report_check(&rep, what, mg, 0.0, 0.15);
        } else if (mo[q].edm && mo[q].kind != FMD_LOSS_DENOISER) {
            snprintf(what, sizeof what, "%s on unseen modes: exact NLL gap, %s", mo[q].name, of);
            /* issue 14's goal, a score model within 3x of the flow model's gap, is a statement about
             * means: on one seed the seeds' spread (0.05 to 0.18 nats for one objective) is as wide as
             * the objectives' differences. So make tour holds each seed-0 model to an absolute bound,
             * a sampler that reaches p_data within 0.25 nats (the plain DSM model's mean gap is 0.8),
             * and make tour-full checks the goal on the mean of three seeds. */
            fmd_report_check(&rep, what, mg, 0.0, full ? 3.0 * fabs(cfm_gap) : 0.25);
        }
    }
    if (out)
        done(&f);
    if (full_out)
        done(&ff);
    out = data("ch04_readout_t.tsv", &f, "# t\tcfm\tddpm\tddpm-edm\tdsm\tdsm-edm\tdenoiser\tdenoiser-edm\tcfm+dsm "
                                          "(E|u_theta - u_t|^2 of each seed-0 model's field, 4000 points of p_t)");
    for (int j = 0; out && j < NTF; j++) {
        fprintf(out, "%g", tf[j]);
        for (int q = 0; q < NM; q++)
            fprintf(out, "\t%.6g", ferr[q][j]);
        fprintf(out, "\n");
    }
    if (out)
        done(&f);
    fmd_gmm_free(g);
}

int main(int argc, char **argv)
{
    int full;
    if (fmd_chapter_options(argc, argv, "chapter 4", "the read-out study with three seeds, as make tour-full runs it",
                            &full) != 0)
        return 2;
    fmd_gmm *g;
    fmd_parse_error perr;
    if (fmd_gmm_load(GMM, &g, &perr) != FMD_OK) {
        fprintf(stderr, "chapter 4: %s:%ld: %s (run from the repository root)\n", perr.file, perr.line, perr.reason);
        return 1;
    }
    fmd_report_begin(&rep, stdout, "Chapter 4: training flow and diffusion models (the course lab's first model)");
    if (fmd_report_tsv(&rep, "ch04_checks.tsv") != FMD_OK)
        fprintf(stderr, "could not open the table of checks under %s/\n", fmd_data_dir());
    /* the lab's network and training configuration */
    fmd_mlp_config mc = {.d = 2, .n_fourier = 0, .depth = 4, .width = {64, 64, 64, 64}, .act = FMD_SILU};
    fmd_mlp *net;
    fmd_mlp_alloc(&mc, &net);
    gsl_rng *r;
    fmd_rng_alloc(0, 0xfeedULL, &r);
    fmd_mlp_init(net, r);
    fmd_train_config cfg = {.objective = FMD_LOSS_CFM, .batch = 1000, .lr = 1e-3, .t_min = 0.0, .t_max = 1.0, .seed = 0,
                            .threads = fmd_cpus_available()};   /* same bits on any number of threads */
    fmd_schedule_by_name("condot", &cfg.schedule);
    fmd_trainer *tr;
    if (fmd_trainer_alloc(&cfg, g, net, &tr) != FMD_OK)
        return 1;
    /* a fixed evaluation batch: exact FM and CFM losses on the same (t, z, eps) */
    fmd_loss_batch eb;
    fmd_loss_batch_draw(g, &cfg.schedule, M_EVAL, 0.0, 0.99, r, &eb);
    double *u_fm = malloc(sizeof(double) * M_EVAL * 2), *u_cfm = malloc(sizeof(double) * M_EVAL * 2);
    fmd_loss_target(FMD_LOSS_FM, g, &cfg.schedule, &eb, u_fm);
    fmd_loss_target(FMD_LOSS_CFM, g, &cfg.schedule, &eb, u_cfm);
    fmd_mlp_workspace *ews;
    fmd_mlp_workspace_alloc(net, M_EVAL, &ews);
    fmd_atomic_file f;
    FILE *out = data("ch04_loss.tsv", &f, "# step\tCFM batch loss (smoothed)\texact FM loss\tits SE\tCFM loss on the eval batch");
    double smooth = NAN, fm0 = 0, fm = 0, fm_se = 0, cfm = 0;
    fmd_progress lab;
    fmd_progress_begin(&lab, "chapter 4: the lab's training steps", STEPS);
    for (unsigned long k = 0; k <= STEPS; k++) {
        fmd_progress_at(&lab, (double)k);
        if (k % EVERY == 0) {
            fmd_loss_mlp(net, ews, &eb, u_fm, &fm, &fm_se, NULL);
            fmd_loss_mlp(net, ews, &eb, u_cfm, &cfm, NULL, NULL);
            if (k == 0)
                fm0 = fm;
            if (out)
                fprintf(out, "%lu\t%.6g\t%.6g\t%.3g\t%.6g\n", k, isnan(smooth) ? cfm : smooth, fm, fm_se, cfm);
        }
        if (k == STEPS)
            break;
        double loss;
        fmd_train_step(tr, &loss);
        smooth = isnan(smooth) ? loss : 0.98 * smooth + 0.02 * loss;
    }
    if (out)
        done(&f);
    char before[96];
    snprintf(before, sizeof before, "(exact FM loss before training: %.4g)", fm0);
    fmd_report_note(&rep, before);
    fmd_report_check(&rep, "exact FM loss after 5000 steps (goal < 0.05)", fm, 0.0, 0.05);
    /* Thm 18: L_CFM - L_FM is the constant E|u(x|z)|^2 - E|u(x)|^2 */
    double *c = malloc(sizeof(double) * M_EVAL), C, Cse;
    for (int i = 0; i < M_EVAL; i++)
        c[i] = u_cfm[2 * i] * u_cfm[2 * i] + u_cfm[2 * i + 1] * u_cfm[2 * i + 1] -
               u_fm[2 * i] * u_fm[2 * i] - u_fm[2 * i + 1] * u_fm[2 * i + 1];
    fmd_mean_se(M_EVAL, c, 1, &C, &Cse);
    fmd_report_check(&rep, "Thm 18: L_CFM - L_FM vs E|u(x|z)|^2 - E|u(x)|^2", cfm - fm, C, 6 * Cse);
    fmd_report_note(&rep, "(the CFM loss cannot go below that constant; the exact FM loss can reach 0)");
    fmd_run_info info = {.objective = "cfm", .schedule = "condot", .data = GMM, .steps = STEPS, .target_steps = STEPS,
                         .seed = 0, .batch = 1000, .lr = 1e-3, .t_min = 0.0, .t_max = 1.0};
    char path[512];
    const char *dir = getenv("FMD_DATA") ? getenv("FMD_DATA") : "build/data";
    snprintf(path, sizeof path, "%s/ch04_lab.safetensors", dir);
    if (fmd_checkpoint_save(path, net, tr, &info) != FMD_OK)
        io_failed = 1;

    /* learned vs exact field at t = 0.25, 0.5, 0.75 */
    out = data("ch04_fields.tsv", &f, "# blocks t = 0.25, 0.5, 0.75: x y  learned u (x0.06)  exact u (x0.06)");
    fmd_field learned = {fmd_mlp_field, 2, net};
    fmd_marginal *m;
    fmd_marginal_alloc(g, &m);
    const double tq[3] = {0.25, 0.5, 0.75};
    for (int q = 0; q < 3 && out; q++) {
        fmd_marginal_set_time(m, &cfg.schedule, tq[q]);
        for (int a = 0; a < GRID; a++)
            for (int b = 0; b < GRID; b++) {
                double x[2] = {-4.0 + 8.0 * a / (GRID - 1), -4.0 + 8.0 * b / (GRID - 1)}, ul[2], ue[2];
                learned.eval(tq[q], 1, 2, x, ul, net);
                fmd_marginal_out o = {.u = ue};
                fmd_marginal_eval(m, 1, x, &o);
                fprintf(out, "%g\t%g\t%.4g\t%.4g\t%.4g\t%.4g\n", x[0], x[1], 0.06 * ul[0], 0.06 * ul[1], 0.06 * ue[0], 0.06 * ue[1]);
            }
        fprintf(out, "\n\n");
    }
    if (out)
        done(&f);
    fmd_marginal_free(m);

    /* samples: ODE (RK4, 100 steps) and Thm 13's SDE (sigma_t = S beta_t, EM, 400 steps) */
    static double x[2 * NS], z[2 * NS], traj[101 * 2 * 30];
    double ts[401], mopt, seopt;
    fmd_gmm_sample(g, r, NS, z, NULL);
    mean_logp(g, z, &mopt, &seopt);
    out = data("ch04_samples.tsv", &f, "# blocks: ODE, SDE S = 0.5, SDE S = 1.0: x y");
    const double Ss[3] = {0.0, 0.5, 1.0};
    fmd_progress sam;
    fmd_progress_begin(&sam, "chapter 4: the lab model's samples, ODE then SDE S = 0.5, 1", 3);
    for (int q = 0; q < 3; q++) {
        fmd_sample_init(40 + q, NS, 2, x);
        if (q == 0) {
            fmd_ode_workspace *ws;
            fmd_ode_workspace_alloc(fmd_ode_rk4, NS, 2, &ws);
            fmd_time_grid(0.0, 1.0, 100, ts);
            fmd_ode_solve_grid(ws, &learned, ts, 101, x, NULL);
            fmd_ode_workspace_free(ws);
        } else {
            fmd_flow_sde_params P = {&learned, cfg.schedule, Ss[q], FMD_PREDICTS_FIELD, NULL};
            fmd_sde sde = {{fmd_flow_sde_drift, 2, &P}, fmd_flow_sde_sigma, &P};
            fmd_sde_workspace *ws;
            fmd_sde_workspace_alloc(fmd_sde_em, NS, 2, &ws);
            ws->threads = fmd_cpus_available();   /* same bits on any number */
            fmd_time_grid(0.0, 1.0, 400, ts);
            fmd_sde_solve_grid(ws, &sde, ts, 401, x, 50 + q, NULL);
            fmd_sde_workspace_free(ws);
        }
        double mm, se;
        mean_logp(g, x, &mm, &se);
        char what[80];
        snprintf(what, sizeof what, q ? "SDE S = %.1f: mean log p_data of samples" : "ODE: mean log p_data of samples", Ss[q]);
        /* tolerance 0.15 nats: what the lab's model reaches (training + discretisation error) */
        fmd_report_check(&rep, what, mm, mopt, 0.15);
        for (int i = 0; out && i < 1500; i++)
            fprintf(out, "%.4g\t%.4g\n", x[2 * i], x[2 * i + 1]);
        if (out)
            fprintf(out, "\n\n");
        fmd_progress_at(&sam, q + 1);
    }
    if (out)
        done(&f);
    fmd_report_note(&rep, "(exact: the mean log p_data of 4000 fresh data points)");

    /* 4.4: which sigma_t? The notes leave S in sigma_t = S beta_t to be found
     * empirically: sweep it for the trained model with 20000 samples, the same
     * starts and the same Brownian increments for every S (common random
     * numbers), stochastic Heun 200 steps, and measure the exact NLL gap
     * -mean log p_data + the data's own. The data's term is shared by every S,
     * so the SE that compares two S is the samples' alone (written beside). */
    enum { NSW = 20000 };
    static double xw[2 * NSW], lpw[NSW];
    out = data("ch04_sigma.tsv", &f, "# S\tnll_gap\tsamples_se (sigma_t = S beta_t, stochastic Heun 200 steps, 20000 samples; "
                                     "the data's own term has SE 0.022, common to every S)");
    const double sweep[8] = {0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0};
    double best_gap = INFINITY, best_S = 0.0, best_se = 0.0;
    fmd_progress sp;
    fmd_progress_begin(&sp, "chapter 4: the sweep over S, values", 8);
    for (int q = 0; q < 8; q++) {
        fmd_sample_init(70, NSW, 2, xw);
        fmd_flow_sde_params P = {&learned, cfg.schedule, sweep[q], FMD_PREDICTS_FIELD, NULL};
        fmd_sde sde = {{fmd_flow_sde_drift, 2, &P}, fmd_flow_sde_sigma, &P};
        fmd_sde_workspace *wsde;
        fmd_sde_workspace_alloc(fmd_sde_heun, NSW, 2, &wsde);
        wsde->threads = fmd_cpus_available();
        fmd_time_grid(0.0, 1.0, 200, ts);
        fmd_sde_solve_grid(wsde, &sde, ts, 201, xw, 71, NULL);
        fmd_sde_workspace_free(wsde);
        double mm, se;
        fmd_gmm_log_density(g, NSW, xw, lpw);
        fmd_mean_se(NSW, lpw, 1, &mm, &se);
        const double gap = mopt - mm;
        if (out)
            fprintf(out, "%g\t%.6f\t%.6f\n", sweep[q], gap, se);
        if (fabs(gap) < best_gap)
            best_gap = fabs(gap), best_S = sweep[q], best_se = se;
        fmd_progress_at(&sp, q + 1);
    }
    if (out)
        done(&f);
    char sweep_note[160];
    snprintf(sweep_note, sizeof sweep_note, "(sigma_t = S beta_t sweep, figures/ch04_sigma.gp: the smallest |NLL gap|, "
                                            "%.4f +- %.4f nats, at S = %g)", best_gap, best_se, best_S);
    fmd_report_note(&rep, sweep_note);
    /* ODE trajectories of the learned field */
    double x0[2 * 30];
    fmd_sample_init(60, 30, 2, x0);
    fmd_ode_workspace *ws;
    fmd_ode_workspace_alloc(fmd_ode_rk4, 30, 2, &ws);
    fmd_time_grid(0.0, 1.0, 100, ts);
    fmd_ode_solve_grid(ws, &learned, ts, 101, x0, traj);
    fmd_ode_workspace_free(ws);
    out = data("ch04_trajectories.tsv", &f, "# one block per start: t x y (ODE of the learned field)");
    for (int s = 0; out && s < 30; s++) {
        for (int k = 0; k <= 100; k++)
            fprintf(out, "%g\t%.5g\t%.5g\n", ts[k], traj[k * 60 + 2 * s], traj[k * 60 + 2 * s + 1]);
        fprintf(out, "\n\n");
    }
    if (out)
        done(&f);
    /* the exact density of p_data, for the sample plots */
    fmd_marginal_alloc(g, &m);
    fmd_marginal_set_time(m, &cfg.schedule, 1.0);
    out = data("ch04_density.tsv", &f, "# x y p_data");
    for (int a = 0; out && a <= 80; a++) {
        for (int b = 0; b <= 80; b++) {
            double p[2] = {-4.5 + 9.0 * a / 80, -4.5 + 9.0 * b / 80}, lp;
            fmd_marginal_out o = {.logp = &lp};
            fmd_marginal_eval(m, 1, p, &o);
            fprintf(out, "%.4g\t%.4g\t%.5g\n", p[0], p[1], exp(lp));
        }
        fprintf(out, "\n");
    }
    if (out)
        done(&f);
    fmd_marginal_free(m);
    readout_study(full);
    /* the same training on two 2-D toy sets (no density: the sliced W1 to fresh data) */
    out = data("ch04_toys.tsv", &f, "# blocks: moons data, moons samples, checkerboard data, checkerboard samples: x y");
    const char *toys[2] = {"moons", "checkerboard"};
    fmd_progress tp;
    fmd_progress_begin(&tp, "chapter 4: the toy sets' training steps", 2 * 3000);
    for (int q = 0; q < 2; q++) {
        fmd_toy toy;
        fmd_toy_by_name(toys[q], &toy);
        fmd_mlp_config tc = {.d = 2, .n_fourier = 4, .depth = 3, .width = {64, 64, 64}, .act = FMD_SILU};
        fmd_mlp *tnet;
        fmd_mlp_alloc(&tc, &tnet);
        fmd_mlp_init(tnet, r);
        fmd_train_config tcfg = {.objective = FMD_LOSS_CFM, .batch = 512, .lr = 2e-3, .t_max = 1.0, .seed = 7,
                                 .threads = fmd_cpus_available()};
        fmd_schedule_by_name("condot", &tcfg.schedule);
        fmd_trainer *ttr;
        fmd_trainer_alloc_sampler(&tcfg, fmd_toy_sample, &toy, tnet, &ttr);
        double loss;
        for (int k = 0; k < 3000; k++) {
            fmd_train_step(ttr, &loss);
            fmd_progress_at(&tp, q * 3000 + k + 1);
        }
        fmd_field tu = {fmd_mlp_field, 2, tnet};
        fmd_sample_init(70 + q, NS, 2, x);
        fmd_ode_workspace_alloc(fmd_ode_rk4, NS, 2, &ws);
        fmd_time_grid(0.0, 1.0, 100, ts);
        fmd_ode_solve_grid(ws, &tu, ts, 101, x, NULL);
        fmd_ode_workspace_free(ws);
        fmd_toy_sample(&toy, r, NS, z, NULL);
        double sw, sw_se, sw0, sw0_se;
        static double z2[2 * NS];
        fmd_toy_sample(&toy, r, NS, z2, NULL);
        fmd_sliced_wasserstein(NS, 2, x, z, 200, r, &sw, &sw_se);
        fmd_sliced_wasserstein(NS, 2, z2, z, 200, r, &sw0, &sw0_se);
        char what[80];
        snprintf(what, sizeof what, "%s: sliced W1, samples vs data (data vs data)", toys[q]);
        /* tolerance: within 0.2 (scale 5) of the data's own noise floor */
        fmd_report_check(&rep, what, sw, sw0, 0.2);
        for (int i = 0; out && i < 2000; i++)
            fprintf(out, "%.4g\t%.4g\n", z[2 * i], z[2 * i + 1]);
        if (out)
            fprintf(out, "\n\n");
        for (int i = 0; out && i < 2000; i++)
            fprintf(out, "%.4g\t%.4g\n", x[2 * i], x[2 * i + 1]);
        if (out)
            fprintf(out, "\n\n");
        fmd_trainer_free(ttr);
        fmd_mlp_free(tnet);
    }
    if (out)
        done(&f);
    free(u_fm), free(u_cfm), free(c);
    fmd_loss_batch_free(&eb);
    fmd_mlp_workspace_free(ews);
    fmd_trainer_free(tr);
    fmd_mlp_free(net);
    gsl_rng_free(r);
    fmd_gmm_free(g);
    if (io_failed)
        fprintf(stderr, "chapter 4: could not write the figure data or the model under %s/ (set FMD_DATA, or run from the "
                        "repository root)\n", fmd_data_dir());
    return fmd_report_end(&rep) || io_failed;
}
