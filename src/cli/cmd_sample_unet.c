/* cmd_sample_unet.c -- `fmd sample --model UNET`: samples from a U-Net
 * model file (issue 16) by the ODE solvers on its field, with
 * classifier-free guidance. `fmd sample` hands a U-Net file over here. */
#include "cli/cli.h"
#include "fmd.h"
#include "files/png.h"
#include "files/unet_checkpoint.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: fmd sample --model UNET [-n N] [--solver NAME] [--steps K] [--class Y]\n"
    "                  [--guidance W] [--seed S] [--png FILE] [--threads N]\n"
    "\n"
    "Sample a U-Net model (fmd train --arch unet) with its EMA weights: the ODE of\n"
    "its field from noise, the field read off the network by Prop 1 whatever it\n"
    "predicts (cfm: the field; ddpm: the noise; denoiser: the clean image).\n"
    "\n"
    "  -n N            samples; default 16\n"
    "  --solver NAME   euler | midpoint | heun | rk4; default heun\n"
    "  --steps K       steps of a uniform grid; default 25\n"
    "  --class Y       a labelled model: class Y by classifier-free guidance,\n"
    "                  (1 - W) f(x, t, no label) + W f(x, t, Y)\n"
    "  --guidance W    default 1 (the conditional model)\n"
    "  --seed S        the starting noise's seed; default 0\n"
    "  --png FILE      write the samples as a grid of images instead of numbers\n"
    "  --threads N     default: the CPUs this process may use (same bits on any)\n";

int fmd_cmd_sample_unet(int argc, char **argv)
{
    const char *hint = "Run 'fmd sample --model UNET --help' for usage.";
    const char *model = NULL, *png_path = NULL;
    double n = 16, cls = -1;
    fmd_cli_image_sampler o;   /* --solver, --steps, --guidance, --seed, --threads */
    fmd_cli_image_sampler_defaults(&o);
    for (int i = 1; i < argc; i++) {
        const char *v, *a = argv[i];
        int taken;
        if (fmd_cli_is_help(a)) {
            fputs(usage, stdout);
            return 0;
        } else if ((taken = fmd_cli_image_sampler_option("sample", argc, argv, &i, &o))) {
            if (taken == 2) return 2;
        } else if ((v = fmd_cli_option(argc, argv, &i, "--model"))) model = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--png"))) png_path = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "-n"))) {
            if (fmd_cli_number("sample", a, v, 1, 1e7, 1, &n)) return 2;
        } else if ((v = fmd_cli_option(argc, argv, &i, "--class"))) {
            if (fmd_cli_number("sample", a, v, 0, 1e6, 1, &cls)) return 2;
        } else {
            return fmd_cli_usage_error("sample", hint, "'%s' is not an option for a U-Net model", a);
        }
    }
    const fmd_ode_stepper_type *ode = fmd_ode_stepper_by_name(o.solver);
    if (!ode || ode == fmd_ode_dopri5)
        return fmd_cli_usage_error("sample", hint, "--solver %s: a U-Net model takes euler, midpoint, heun or rk4",
                                   o.solver);
    char why[512];
    fmd_unet *net;
    fmd_run_info info;
    if (fmd_unet_checkpoint_load(model, 1, &net, &info, NULL, why, sizeof why) != FMD_OK) {
        fprintf(stderr, "fmd sample: error: %s: %s\n", model, why);
        return 2;
    }
    const size_t C = net->cfg.n_classes, d = net->cfg.side * net->cfg.side;
    if (cls >= 0 && (size_t)cls >= C) {
        fmd_unet_free(net);
        if (C == 0)
            return fmd_cli_usage_error("sample", "Train with --labels to sample a class.",
                                       "%s was trained without labels; --class needs a labelled model", model);
        return fmd_cli_usage_error("sample", hint, "--class %g: the model knows classes 0..%zu", cls, C - 1);
    }
    fmd_schedule sch;
    fmd_prediction predicts;
    if (fmd_cli_prediction(info.objective, &predicts) != 0) {
        fmd_unet_free(net);
        return fmd_cli_usage_error("sample", hint, "%s: unknown objective '%s'", model, info.objective);
    }
    if (fmd_cli_schedule("sample", info.schedule, &sch) != 0) {
        fmd_unet_free(net);
        return 2;   /* (said by fmd_cli_schedule) */
    }
    double t0, t1;
    fmd_model_time_range(predicts, net->cfg.output != FMD_OUT_PLAIN, info.t_max, &t0, &t1);
    fmd_unet_eval *ev = NULL;
    double *x = malloc((size_t)n * d * sizeof(double));
    int rc = 0;
    if (!x || fmd_unet_eval_alloc(net, &ev) != FMD_OK)
        rc = fmd_cli_out_of_memory("sample", "the samples", (double)n * (double)d * sizeof(double));
    if (rc == 0) {
        fmd_unet_guidance G = {ev, (int)cls, o.guidance};
        fmd_field u = {fmd_unet_guided_field, d, &G};
        fmd_sample_init((uint64_t)o.seed, (size_t)n, d, x);
        rc = fmd_cli_flow_samples("sample", &u, &sch, predicts, t0, t1, ode, (size_t)o.steps,
                                  fmd_cli_threads("sample", o.threads), (size_t)n, x);
    }
    if (rc == 0 && png_path) {
        const int status = fmd_png_write_grid(png_path, (size_t)n, net->cfg.side, x, (size_t)ceil(sqrt(n)));
        if (status != FMD_OK) {
            fprintf(stderr, "fmd sample: error: cannot write %s: %s\n", png_path, fmd_strerror(status));
            rc = 1;
        }
    }
    for (size_t i = 0; rc == 0 && !png_path && i < (size_t)n; i++)
        for (size_t j = 0; j < d; j++)
            printf(j + 1 < d ? "%.17g\t" : "%.17g\n", x[i * d + j]);
    if (rc == 0 && !png_path)
        rc = fmd_cli_output_done("sample", stdout, "standard output");
    fmd_unet_eval_free(ev);
    free(x);
    fmd_unet_free(net);
    return rc;
}
