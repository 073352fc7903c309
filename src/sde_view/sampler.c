/* sampler.c -- every sampler by name, on any field (sampler.h). */
#include "sde_view/sampler.h"
#include "base/rng.h"
#include "base/status.h"
#include "base/team.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    fmd_sampler_kind kind;
    int method;
} named;

/* ODE and SDE steppers are found by their own tables (ode.h, sde.h) */
static const named methods[] = {
    {"ddim", FMD_SAMPLER_EXP, FMD_EXP_ORDER1},
    {"dpm2", FMD_SAMPLER_EXP, FMD_EXP_2S},
    {"dpm2m", FMD_SAMPLER_EXP, FMD_EXP_2M},
    {"heun-edm", FMD_SAMPLER_K, FMD_K_HEUN},
    {"lms", FMD_SAMPLER_K, FMD_K_LMS},
    {"dpmpp-3m", FMD_SAMPLER_K, FMD_K_DPMPP_3M},
    {"dpmpp-3m-corrected", FMD_SAMPLER_K, FMD_K_DPMPP_3M_CORRECTED},
    {"euler-a", FMD_SAMPLER_K, FMD_K_EULER_ANCESTRAL},
    {"dpmpp-2s-a", FMD_SAMPLER_K, FMD_K_DPMPP_2S_ANCESTRAL},
    {"dpmpp-sde", FMD_SAMPLER_K, FMD_K_DPMPP_SDE},
    {"ddpm", FMD_SAMPLER_DDPM, 0},
    {"langevin", FMD_SAMPLER_LANGEVIN, 0},
    {"pc", FMD_SAMPLER_PC, 0},
};

const char *const fmd_sampler_names[] = {"euler", "midpoint", "heun", "rk4", "dopri5", "em", "heun-sde",
                                         "ddim", "dpm2", "dpm2m", "ddpm", "langevin", "pc",
                                         "heun-edm", "lms", "dpmpp-3m", "dpmpp-3m-corrected", "euler-a",
                                         "dpmpp-2s-a", "dpmpp-sde", NULL};

int fmd_sampler_by_name(const char *name, fmd_sampler *out)
{
    if (!name || !out)
        return FMD_EINVAL;
    memset(out, 0, sizeof *out);
    if ((out->ode = fmd_ode_stepper_by_name(name))) {
        out->kind = FMD_SAMPLER_ODE;
        return FMD_OK;
    }
    if ((out->sde = fmd_sde_stepper_by_name(name))) {
        out->kind = FMD_SAMPLER_SDE;
        return FMD_OK;
    }
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(name, methods[i].name) == 0) {
            out->kind = methods[i].kind;
            out->method = methods[i].method;
            return FMD_OK;
        }
    return FMD_EINVAL;
}

void fmd_sampler_options_default(fmd_sampler_options *o)
{
    memset(o, 0, sizeof *o);
    o->n = 1000;
    o->steps = 100;
    o->t0 = o->t1 = -1.0;
    o->threads = 1;
    o->form = FMD_EXP_DATA;
    o->grid = FMD_GRID_TIME;
    o->power = 2.0;
    o->variance = FMD_DDPM_VAR_BETA;
}

void fmd_sampler_interval(const fmd_sampler *s, const fmd_sampler_options *o, const fmd_schedule *sch,
                          fmd_prediction predicts, int preconditioned, double t_max, double *t0, double *t1)
{
    const int t0_given = *t0 >= 0, t1_given = *t1 >= 0;
    double t0_default, t1_default;
    fmd_model_time_range(predicts, preconditioned, t_max, &t0_default, &t1_default);
    if (!t0_given)
        *t0 = t0_default;
    if (!t1_given)
        *t1 = t1_default;   /* no further than it was trained */
    fmd_sched_point a, b;
    if (s->kind == FMD_SAMPLER_PC) {   /* the reverse SDE's drift divides by alpha */
        fmd_schedule_at(sch, *t0, &a);
        if (a.alpha == 0.0 && !t0_given)
            *t0 = 1e-3;
        if (!t1_given && *t1 > 1.0 - 1e-3)
            *t1 = 1.0 - 1e-3;
    }
    if (s->kind == FMD_SAMPLER_EXP) {   /* lambda = log(alpha/beta) must be finite at both ends */
        const int may_reach_data = o->form == FMD_EXP_DATA && o->grid == FMD_GRID_TIME;   /* last step x' = D(x) */
        fmd_schedule_at(sch, *t0, &a);
        if (a.alpha == 0.0 && !t0_given)
            *t0 = 1e-3;
        fmd_schedule_at(sch, *t1, &b);
        if (b.beta == 0.0 && !t1_given && !may_reach_data)
            *t1 = 1.0 - 1e-3;
    }
}

int fmd_sampler_run(const fmd_sampler *s, const fmd_flow_sde_params *P_in, const fmd_sampler_options *o, double *x,
                    double *starts, double *path, double *ts_out)
{
    if (!s || !P_in || !P_in->u || !o || !x || o->n == 0 || o->steps == 0)
        return FMD_EINVAL;
    if (path && s->kind != FMD_SAMPLER_ODE && s->kind != FMD_SAMPLER_SDE)
        return FMD_EINVAL;   /* only the grid solvers keep their paths */
    if ((s->kind == FMD_SAMPLER_ODE || s->kind == FMD_SAMPLER_SDE || s->kind == FMD_SAMPLER_EXP ||
         s->kind == FMD_SAMPLER_PC) && !(o->t0 >= 0.0 && o->t0 < o->t1 && o->t1 <= 1.0))
        return FMD_EINVAL;
    fmd_flow_sde_params P = *P_in;
    const size_t N = o->n, K = o->steps, d = P.u->d;
    const int nthreads = o->threads < 1 ? 1 : o->threads;
    double *ts = ts_out ? ts_out : malloc((K + 1) * sizeof(double));
    if (!ts)
        return FMD_ENOMEM;
    fmd_sched_point s0;
    fmd_schedule_at(&P.sch, o->t0 >= 0.0 ? o->t0 : 0.0, &s0);
    fmd_sample_init(o->seed, N, d, x);   /* eps ~ N(0, I) */
    for (size_t i = 0; i < N * d; i++)
        x[i] *= s0.beta;                 /* X_t0 = beta_t0 eps (= X_0 ~ p_init at t0 = 0) */
    if (starts)
        memcpy(starts, x, N * d * sizeof(double));
    fmd_field drift = {fmd_flow_sde_drift, d, &P};   /* the ODE's field when S = 0 (Prop 1) */
    fmd_model_eps_params E = {P.u, P.sch, P.predicts, NULL};
    int status = FMD_OK;
    if (s->kind == FMD_SAMPLER_DDPM || s->kind == FMD_SAMPLER_LANGEVIN || s->kind == FMD_SAMPLER_PC) {
        /* chapter 6's discrete samplers: the field as a noise predictor */
        status = fmd_team_ensure(&E.team, nthreads);
        if (status == FMD_OK && s->kind == FMD_SAMPLER_DDPM) {   /* K levels, betas scaled so that N b_k = b(k/N) of vp */
            fmd_ddpm q;
            status = fmd_ddpm_init(K, 0.1 / (double)K, 20.0 / (double)K < 0.999 ? 20.0 / (double)K : 0.999, &q);
            if (status == FMD_OK)
                status = fmd_ddpm_ancestral_var(&q, o->variance, fmd_model_eps, &E, N, d, o->seed, x, NULL);
            fmd_ddpm_free(&q);
        } else if (status == FMD_OK && s->kind == FMD_SAMPLER_LANGEVIN) {   /* K levels from 10 to 0.01, 10 steps each */
            status = fmd_annealed_langevin(10.0, 0.01, K, 10, 2e-5, fmd_model_eps, &E, N, d, o->seed, x, NULL);
        } else if (status == FMD_OK) {   /* predictor-corrector: K steps, one Langevin corrector each */
            status = fmd_predictor_corrector(&P.sch, o->t0, o->t1, K, 1, 0.05, fmd_model_eps, &E, N, d, o->seed, x, NULL);
        }
        fmd_team_free(E.team);
    } else if (s->kind == FMD_SAMPLER_K) {   /* k-diffusion's samplers in sigma = beta/alpha, from sigma_max eps */
        double *sig = malloc((K + 2) * sizeof(double));
        status = sig ? fmd_team_ensure(&E.team, nthreads) : FMD_ENOMEM;
        if (status == FMD_OK)
            status = fmd_karras_sigmas(K + 1, FMD_KARRAS_SIGMA_MIN, FMD_KARRAS_SIGMA_MAX, FMD_KARRAS_RHO,
                                       sig);   /* K + 1 levels and 0: K + 1 steps */
        for (size_t i = 0; status == FMD_OK && i < N * d; i++)
            x[i] *= FMD_KARRAS_SIGMA_MAX / s0.beta;   /* x~ = sigma_max eps (x held beta_t0 eps) */
        if (status == FMD_OK)
            status = fmd_ksample((fmd_kmethod)s->method, sig, K + 1, fmd_model_eps, &E, N, d, o->seed, x, NULL);
        fmd_team_free(E.team);
        free(sig);
    } else if (s->kind == FMD_SAMPLER_EXP) {   /* chapter 6: the field as a noise predictor on its schedule */
        status = fmd_team_ensure(&E.team, nthreads);
        if (status == FMD_OK)
            status = fmd_exp_grid(&P.sch, o->grid, o->power, o->t0, o->t1, K, ts);
        if (status == FMD_OK)
            status = fmd_exponential_integrator(&P.sch, (fmd_exp_method)s->method, o->form, ts, K, fmd_model_eps, &E,
                                                N, d, 0, 1, x, NULL);
        fmd_team_free(E.team);
    } else if (s->kind == FMD_SAMPLER_ODE) {
        fmd_time_grid(o->t0, o->t1, K, ts);
        fmd_ode_workspace *ws;
        status = fmd_ode_workspace_alloc(s->ode, N, d, &ws);
        if (status == FMD_OK) {
            ws->threads = nthreads;
            status = fmd_ode_solve_grid(ws, &drift, ts, K + 1, x, path);
        }
        fmd_ode_workspace_free(ws);
    } else {
        fmd_time_grid(o->t0, o->t1, K, ts);
        fmd_sde sde = {drift, fmd_flow_sde_sigma, &P};
        fmd_sde_workspace *ws;
        status = fmd_sde_workspace_alloc(s->sde, N, d, &ws);
        if (status == FMD_OK) {
            ws->threads = nthreads;
            status = fmd_sde_solve_grid(ws, &sde, ts, K + 1, x, fmd_seed_child(o->seed, 1), path);
        }
        fmd_sde_workspace_free(ws);
    }
    if (!ts_out)
        free(ts);
    return status;
}
