/* cmd_sample.c -- `fmd sample`: draw from a trained flow model by its ODE
 * (Algorithm 1 and better steppers) or by the SDE of Thm 13. */
#include "cli.h"
#include "fmd.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: fmd sample --model MODEL [-n N] [--solver NAME] [--steps K] [--sigma S]\n"
    "                  [--seed S] [--trajectories]\n"
    "\n"
    "Sample a flow model trained by `fmd train --objective cfm`: X_0 ~ N(0, I),\n"
    "then integrate to t = 1 and print X_1, one sample a line (%.17g).\n"
    "\n"
    "  -n N            samples; default 1000\n"
    "  --solver NAME   euler | midpoint | heun | rk4 | dopri5 (ODE), em | heun-sde (SDE);\n"
    "                  default euler (Algorithm 1), or em with --sigma (Algorithm 2)\n"
    "  --steps K       steps of the uniform grid on [0, 1]; default 100\n"
    "  --sigma S       SDE of Thm 13 with sigma_t = S beta_t; its score comes from the\n"
    "                  field by Prop 1 (the added drift stays finite at t = 0 and 1)\n"
    "  --seed S        default 0\n"
    "  --trajectories  print whole paths instead: per sample a block of lines\n"
    "                  't x_1 .. x_d', blocks separated by blank lines\n";

int fmd_cmd_sample(int argc, char **argv)
{
    const char *hint = "Run 'fmd sample --help' for usage.";
    const char *model = NULL, *solver = NULL;
    double n = 1000, steps = 100, sigma = -1, seed = 0;
    int traj = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        double *num = NULL, lo = 0, hi = 0;
        if (fmd_cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if ((v = fmd_cli_option(argc, argv, &i, "--model"))) model = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--solver"))) solver = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "-n"))) num = &n, lo = 1, hi = 1e8;
        else if ((v = fmd_cli_option(argc, argv, &i, "--steps"))) num = &steps, lo = 1, hi = 1e7;
        else if ((v = fmd_cli_option(argc, argv, &i, "--sigma"))) num = &sigma, lo = 0, hi = 1e6;
        else if ((v = fmd_cli_option(argc, argv, &i, "--seed"))) num = &seed, lo = 0, hi = 4294967295.0;
        else if (strcmp(argv[i], "--trajectories") == 0) traj = 1;
        else
            return fmd_cli_usage_error("sample", hint, "unknown option '%s'", argv[i]);
        if (num && fmd_cli_number("sample", argv[i], v, lo, hi, num) != 0)
            return 2;
    }
    if (!model || !*model)
        return fmd_cli_usage_error("sample", hint, "--model MODEL is required");
    if (!solver)
        solver = sigma >= 0 ? "em" : "euler";
    const fmd_ode_stepper_type *ode = fmd_ode_stepper_by_name(solver);
    const fmd_sde_stepper_type *sdet = fmd_sde_stepper_by_name(solver);
    if (!ode && !sdet)
        return fmd_cli_usage_error("sample", "Solvers: euler, midpoint, heun, rk4, dopri5, em, heun-sde.",
                                   "unknown solver '%s'", solver);
    if (sdet && sigma < 0)
        return fmd_cli_usage_error("sample", hint, "the SDE solver '%s' needs --sigma S", solver);
    if (ode && sigma >= 0)
        return fmd_cli_usage_error("sample", hint, "--sigma needs an SDE solver (em or heun-sde), not '%s'", solver);
    fmd_mlp *net;
    fmd_run_info info;
    fmd_field u;
    fmd_flow_sde_params P = {&u, {{0}, NULL, 0}, sigma};
    if (fmd_cli_load_flow_model("sample", model, 0, &net, &info, &P.sch) != 0)
        return 2;
    u = (fmd_field){fmd_mlp_field, net->cfg.d, net};
    const size_t N = (size_t)n, K = (size_t)steps, d = net->cfg.d;
    double *x = malloc(N * d * sizeof(double)), *ts = malloc((K + 1) * sizeof(double));
    double *path = traj ? malloc((K + 1) * N * d * sizeof(double)) : NULL;
    int rc = (!x || !ts || (traj && !path)) ? 1 : 0;
    if (rc == 0) {
        fmd_sample_init((uint64_t)seed, N, d, x);   /* X_0 ~ p_init */
        fmd_time_grid(0.0, 1.0, K, ts);
        int status;
        if (ode) {
            fmd_ode_workspace *ws;
            status = fmd_ode_workspace_alloc(ode, N, d, &ws);
            if (status == FMD_OK)
                status = fmd_ode_solve_grid(ws, &u, ts, K + 1, x, path);
            fmd_ode_workspace_free(ws);
        } else {
            fmd_sde sde = {{fmd_flow_sde_drift, d, &P}, fmd_flow_sde_sigma, &P};
            fmd_sde_workspace *ws;
            status = fmd_sde_workspace_alloc(sdet, N, d, &ws);
            if (status == FMD_OK)
                status = fmd_sde_solve_grid(ws, &sde, ts, K + 1, x, fmd_seed_child((uint64_t)seed, 1), path);
            fmd_sde_workspace_free(ws);
        }
        if (status != FMD_OK) {
            fprintf(stderr, "fmd sample: error: integration failed: %s\n", fmd_strerror(status));
            rc = 1;
        }
    }
    for (size_t i = 0; rc == 0 && i < N; i++) {
        if (traj) {
            for (size_t k = 0; k <= K; k++) {
                printf("%.17g", ts[k]);
                for (size_t j = 0; j < d; j++)
                    printf("\t%.17g", path[(k * N + i) * d + j]);
                printf("\n");
            }
            printf("\n\n");
        } else {
            for (size_t j = 0; j < d; j++)
                printf(j ? "\t%.17g" : "%.17g", x[i * d + j]);
            printf("\n");
        }
    }
    if (fflush(stdout) != 0)
        rc = 1;
    free(x);
    free(ts);
    free(path);
    fmd_mlp_free(net);
    return rc;
}
