/* cmd_info.c -- `fmd info MODEL`: what a model file holds, as a table or
 * as JSON. */
#include "cli/cli.h"
#include "fmd.h"
#include "files/unet_checkpoint.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: fmd info MODEL [--json] [--no-checksum]\n"
    "\n"
    "Describe a model file: what the network predicts (kind and objective), its\n"
    "path (schedule), architecture, parameter count, precision, the data it was\n"
    "trained on, the steps done and asked for, the training settings, and whether\n"
    "fmd's checksum is present and matches (a file that fails to load says why).\n"
    "  --json          one JSON object instead of the table\n"
    "  --no-checksum   read a file without fmd's checksum (written elsewhere)\n";

static const char *kind_of(const char *objective)
{
    if (strcmp(objective, "cfm") == 0)
        return "flow model (predicts the field u_t)";
    if (strcmp(objective, "dsm") == 0)
        return "score model (predicts grad log p_t)";
    if (strcmp(objective, "ddpm") == 0)
        return "noise model (predicts eps = -beta_t grad log p_t)";
    if (strcmp(objective, "ddpm-discrete") == 0)
        return "discrete noise model (predicts eps at the levels of its DDPM chain)";
    if (strcmp(objective, "denoiser") == 0)
        return "denoiser (predicts E[z | x_t])";
    if (strcmp(objective, "cfm+dsm") == 0)
        return "two-headed model (predicts the field u_t and the score grad log p_t)";
    return "unknown";
}

/* a JSON string: the characters JSON needs escaped, escaped */
static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 32)
            printf("\\u%04x", (unsigned char)*s);
        else
            putchar(*s);
    }
    putchar('"');
}

/* A U-Net model file (issue 16), described like an MLP's. */
static int info_unet(const char *path, int json)
{
    fmd_unet *net;
    fmd_run_info info;
    char why[256], mult[64] = "";
    if (fmd_unet_checkpoint_load(path, 0, &net, &info, NULL, why, sizeof why) != FMD_OK) {
        fprintf(stderr, "fmd info: error: %s: %s\n", path, why);
        return 2;
    }
    const fmd_unet_config *c = &net->cfg;
    for (size_t l = 0, at = 0; l < c->levels && at < sizeof mult; l++)
        at += (size_t)snprintf(mult + at, sizeof mult - at, "%s%zu", l ? "," : "", c->mult[l]);
    if (json) {
        printf("{\"file\": ");
        json_string(path);
        printf(", \"kind\": ");
        json_string(kind_of(info.objective));
        printf(", \"architecture\": \"unet\", \"objective\": ");
        json_string(info.objective);
        printf(", \"schedule\": ");
        json_string(info.schedule);
        printf(", \"side\": %zu, \"patch\": %zu, \"channels\": %zu, \"mult\": [%s], \"attention\": %s, \"groups\": %zu, "
               "\"fourier\": %zu, \"emb\": %zu, \"classes\": %zu, \"parameters\": %zu, \"precision\": \"%s\", \"data\": ",
               c->side, net->patch, c->channels, mult, c->attention ? "true" : "false", c->groups, c->n_fourier, c->emb, c->n_classes,
               net->nparams, fmd_dtype_name(c->dtype));
        json_string(info.data);
        printf(", \"steps\": %lu, \"target_steps\": %lu, \"seed\": %lu, \"batch\": %zu, \"lr\": %.17g, \"clip\": %.17g, "
               "\"ema_decay\": %.17g, \"label_drop\": %.17g, \"checksum\": true}\n",
               info.steps, info.target_steps, info.seed, info.batch, info.lr, info.clip, info.ema_decay, info.label_drop);
    } else {
        printf("%-14s %s\n", "file", path);
        printf("%-14s %s\n", "kind", kind_of(info.objective));
        printf("%-14s %s\n", "objective", info.objective);
        printf("%-14s %s\n", "schedule", info.schedule);
        printf("%-14s U-Net on %zu x %zu images%s: %zu base channels, multipliers %s, %s; %zu groups; time as %zu "
               "frequencies into an embedding of %zu; %s\n", "architecture", c->side, c->side,
               net->patch > 1 ? " as 2 x 2 patches" : "", c->channels, mult,
               c->attention ? "self-attention at the lowest resolution" : "no attention", c->groups, c->n_fourier, c->emb,
               c->n_classes ? "labelled" : "no labels");
        if (c->n_classes)
            printf("%-14s %zu (and \"no label\"; label drop-out %g in training)\n", "classes", c->n_classes, info.label_drop);
        printf("%-14s %zu\n", "parameters", net->nparams);
        printf("%-14s %s\n", "precision", fmd_dtype_name(c->dtype));
        printf("%-14s %s\n", "data", info.data);
        printf("%-14s %lu of %lu\n", "steps", info.steps, info.target_steps);
        printf("%-14s seed %lu, batch %zu, lr %g, clip %g, EMA %g (sampled with the EMA weights)\n", "training", info.seed,
               info.batch, info.lr, info.clip, info.ema_decay);
        printf("%-14s present and matches (fnv1a64 over the file)\n", "checksum");
    }
    fmd_unet_free(net);
    return fmd_cli_output_done("info", stdout, "standard output");
}

int fmd_cmd_info(int argc, char **argv)
{
    const char *hint = "Run 'fmd info --help' for usage.";
    const char *path = NULL;
    int json = 0, no_checksum = 0;
    for (int i = 1; i < argc; i++) {
        if (fmd_cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--no-checksum") == 0)
            no_checksum = 1;
        else if (argv[i][0] == '-' && argv[i][1])
            return fmd_cli_usage_error("info", hint, "unknown option '%s'", argv[i]);
        else if (path)
            return fmd_cli_usage_error("info", hint, "one model at a time ('%s' and '%s')", path, argv[i]);
        else
            path = argv[i];
    }
    if (!path)
        return fmd_cli_usage_error("info", hint, "give a model file");
    if (fmd_cli_is_unet_file(path))
        return info_unet(path, json);
    fmd_mlp *net;
    fmd_run_info info;
    char why[256];
    int has_checksum = 1;
    if (fmd_checkpoint_load_checked(path, &net, &info, NULL, no_checksum, &has_checksum, why, sizeof why) != FMD_OK) {
        fprintf(stderr, "fmd info: error: %s: %s\n", path, why);
        return 2;
    }
    const fmd_mlp_config *c = &net->cfg;
    char hidden[256] = "";
    for (size_t l = 0, at = 0; l < c->depth && at < sizeof hidden; l++)
        at += (size_t)snprintf(hidden + at, sizeof hidden - at, "%s%zu", l ? "," : "", c->width[l]);
    const char *checksum = has_checksum ? "present and matches (fnv1a64 over the file)" : "absent (read with --no-checksum)";
    if (json) {
        printf("{\"file\": ");
        json_string(path);
        printf(", \"kind\": ");
        json_string(kind_of(info.objective));
        printf(", \"objective\": ");
        json_string(info.objective);
        printf(", \"schedule\": ");
        json_string(info.schedule);
        printf(", \"d\": %zu, \"hidden\": [%s], \"activation\": ", c->d, hidden);
        json_string(fmd_activation_name(c->act));
        printf(", \"fourier\": %zu, \"classes\": %zu, \"parameters\": %zu, \"precision\": ", c->n_fourier, c->n_classes,
               net->nparams);
        json_string(fmd_dtype_name(c->dtype));
        printf(", \"readout\": ");
        json_string(fmd_readout_name(c->output));
        printf(", \"sigma_data\": %.17g, \"weighting\": ", c->sigma_data);
        json_string(info.weighting == FMD_WEIGHT_BETA2 ? "beta2" : info.weighting == FMD_WEIGHT_ELBO ? "elbo" : "uniform");
        printf(", \"data\": ");
        json_string(info.data);
        printf(", \"steps\": %lu, \"target_steps\": %lu, \"seed\": %lu, \"batch\": %zu, \"lr\": %.17g, \"clip\": %.17g, "
               "\"ema_decay\": %.17g, \"t_min\": %.17g, \"t_max\": %.17g, \"label_drop\": %.17g, \"checksum\": %s}\n",
               info.steps, info.target_steps, info.seed, info.batch, info.lr, info.clip, info.ema_decay, info.t_min,
               info.t_max, info.label_drop, has_checksum ? "true" : "false");
    } else {
        printf("%-14s %s\n", "file", path);
        printf("%-14s %s\n", "kind", kind_of(info.objective));
        printf("%-14s %s\n", "objective", info.objective);
        printf("%-14s %s\n", "schedule", info.schedule);
        printf("%-14s MLP %zu -> %s -> %zu, %s; time as %s; %s\n", "architecture", c->d, hidden, net->dims[net->nlayers],
               fmd_activation_name(c->act), c->n_fourier ? "Fourier features" : "raw t",
               c->n_classes ? "labelled" : "no labels");
        if (c->n_fourier)
            printf("%-14s %zu pairs\n", "fourier", c->n_fourier);
        if (c->n_classes)
            printf("%-14s %zu (and \"no label\"; label drop-out %g in training)\n", "classes", c->n_classes, info.label_drop);
        if (c->output != FMD_OUT_PLAIN)
            printf("%-14s %s, preconditioned (EDM): c_skip(t) x + c_out(t) F, sigma_data %.6g\n", "read-out",
                   fmd_readout_name(c->output), c->sigma_data);
        if (info.weighting == FMD_WEIGHT_BETA2)
            printf("%-14s beta_t^2 (Song et al. 2021)\n", "weighting");
        if (info.weighting == FMD_WEIGHT_ELBO)
            printf("%-14s the ELBO's coefficients of `003`, normalised to mean 1\n", "weighting");
        printf("%-14s %zu\n", "parameters", net->nparams);
        printf("%-14s %s\n", "precision", fmd_dtype_name(c->dtype));
        printf("%-14s %s\n", "data", info.data);
        printf("%-14s %lu of %lu\n", "steps", info.steps, info.target_steps);
        printf("%-14s seed %lu, batch %zu, lr %g, clip %g, EMA %g, t in [%g, %g]\n", "training", info.seed, info.batch,
               info.lr, info.clip, info.ema_decay, info.t_min, info.t_max);
        printf("%-14s %s\n", "checksum", checksum);
    }
    fmd_mlp_free(net);
    return fmd_cli_output_done("info", stdout, "standard output");
}
