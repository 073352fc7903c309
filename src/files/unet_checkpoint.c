/* unet_checkpoint.c -- the U-Net's model file (unet_checkpoint.h). */
#include "files/unet_checkpoint.h"
#include "files/model_file.h"
#include "files/safetensors.h"
#include "base/status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fmd_unet_checkpoint_save(const char *path, const fmd_unet *net, const fmd_unet_trainer *tr,
                             const fmd_run_info *info)
{
    if (!path || !net || !info)
        return FMD_EINVAL;
    const fmd_unet_config *c = &net->cfg;
    fmd_st_out t[4];
    size_t nt = 0;
    const fmd_dtype ty = c->dtype;   /* every tensor in the network's type */
    if (tr && (tr->net->nparams != net->nparams || tr->opt->dtype != ty))
        return FMD_EINVAL;
    t[nt++] = (fmd_st_out){"unet.params", 1, {net->nparams}, fmd_unet_params((fmd_unet *)net), ty};
    if (tr)
        fmd_state_tensors(net->nparams, ty, tr->opt, tr->ema, t, &nt);
    char v[8][64], mult[64] = "";
    for (size_t l = 0; l < c->levels; l++)
        snprintf(mult + strlen(mult), sizeof mult - strlen(mult), "%s%zu", l ? "," : "", c->mult[l]);
    snprintf(v[0], 64, "%zu", c->side);
    snprintf(v[1], 64, "%zu", c->channels);
    snprintf(v[2], 64, "%zu", c->levels);
    snprintf(v[3], 64, "%d", c->attention ? 1 : 0);
    snprintf(v[4], 64, "%zu", c->groups);
    snprintf(v[5], 64, "%zu", c->n_fourier);
    snprintf(v[6], 64, "%zu", c->emb);
    snprintf(v[7], 64, "%zu", c->n_classes);
    const char *arch[] = {"format", FMD_UNET_FORMAT, "side", v[0], "channels", v[1], "levels", v[2], "mult", mult,
                          "attention", v[3], "groups", v[4], "fourier", v[5], "emb", v[6], "classes", v[7],
                          "dtype", fmd_dtype_name(ty)};
    /* Winograd's convolutions and EDM's pieces, written only when used (a plain CFM run's file
     * is as before): the convolution, the read-out, the loss weight and the law of t */
    char s_data[32], p_mean[32], p_std[32];
    snprintf(s_data, sizeof s_data, "%.17g", c->sigma_data);
    snprintf(p_mean, sizeof p_mean, "%.17g", info->p_mean);
    snprintf(p_std, sizeof p_std, "%.17g", info->p_std);
    const char *edm[16];
    size_t nedm = 0;
    if (c->patch > 1)   /* patches: written only when used, so an unpatched run's file is as before */
        edm[nedm++] = "patch", edm[nedm++] = "2";
    if (c->conv == FMD_CONV_WINOGRAD)   /* how it convolves: the bits of a resumed run depend on it */
        edm[nedm++] = "conv", edm[nedm++] = fmd_conv_method_name(c->conv);
    if (c->output != FMD_OUT_PLAIN) {
        edm[nedm++] = "readout", edm[nedm++] = fmd_readout_name(c->output);
        edm[nedm++] = "sigma_data", edm[nedm++] = s_data;
    }
    if (info->weighting == FMD_WEIGHT_EDM)
        edm[nedm++] = "weighting", edm[nedm++] = "edm";
    if (info->time_law == FMD_TIME_LOGNORMAL) {
        edm[nedm++] = "time_law", edm[nedm++] = "lognormal";
        edm[nedm++] = "p_mean", edm[nedm++] = p_mean, edm[nedm++] = "p_std", edm[nedm++] = p_std;
    }
    const size_t narch = sizeof arch / sizeof arch[0];
    const char *meta[sizeof arch / sizeof arch[0] + 2 * FMD_RUN_META_PAIRS + 16];
    fmd_run_meta_text run_text;
    memcpy(meta, arch, sizeof arch);
    if (fmd_run_meta(info, tr ? tr->opt->step : 0UL, &run_text, meta + narch) != FMD_OK)
        return FMD_EINVAL;
    memcpy(meta + narch + 2 * FMD_RUN_META_PAIRS, edm, nedm * sizeof edm[0]);
    return fmd_st_write(path, t, nt, meta, (narch + nedm) / 2 + FMD_RUN_META_PAIRS);
}

/* The optional pairs save writes for EDM and Winograd (above) into cfg and info. */
static int read_edm(const fmd_st_file *f, fmd_unet_config *cfg, fmd_run_info *info, char *why, size_t why_len)
{
    char readout[16] = "plain", weighting[16] = "uniform", law[16] = "uniform", conv[16] = "direct";
    int status = FMD_OK;
    if (fmd_st_meta(f, "conv"))   /* optional: files before Winograd convolved directly */
        status = fmd_meta_string(f, "conv", conv, sizeof conv, why, why_len);
    if (status == FMD_OK && fmd_conv_method_by_name(conv, &cfg->conv) != FMD_OK)
        status = fmd_reason(why, why_len, "metadata 'conv' = '%s' is neither direct nor winograd", conv);
    if (fmd_st_meta(f, "readout"))
        status = fmd_meta_string(f, "readout", readout, sizeof readout, why, why_len);
    if (status == FMD_OK && fmd_readout_by_name(readout, &cfg->output) != FMD_OK)
        status = fmd_reason(why, why_len, "metadata 'readout' = '%s' is not plain, noise, data or score", readout);
    /* the run's schedule: a preconditioned read-out needs it; a plain one gets it too, so that a
     * loaded network samples on the path it was trained on (net->cfg.schedule) */
    const int known_schedule = fmd_schedule_by_name(info->schedule, &cfg->schedule) == FMD_OK;
    if (status == FMD_OK && cfg->output != FMD_OUT_PLAIN) {
        status = fmd_meta_double(f, "sigma_data", &cfg->sigma_data, why, why_len);
        if (status == FMD_OK && !(cfg->sigma_data > 0.0 && isfinite(cfg->sigma_data)))
            status = fmd_reason(why, why_len, "metadata 'sigma_data' = %g is not a positive number", cfg->sigma_data);
        if (status == FMD_OK && !known_schedule)
            status = fmd_reason(why, why_len, "unknown schedule '%s'", info->schedule);
        fmd_loss_kind k;
        if (status == FMD_OK && (fmd_objective_by_name(info->objective, &k) != FMD_OK || fmd_readout_for(k) != cfg->output))
            status = fmd_reason(why, why_len, "a '%s' read-out does not fit the objective '%s'", readout, info->objective);
    }
    if (status == FMD_OK && fmd_st_meta(f, "weighting"))
        status = fmd_meta_string(f, "weighting", weighting, sizeof weighting, why, why_len);
    if (status == FMD_OK && strcmp(weighting, "uniform") != 0 &&
        (strcmp(weighting, "edm") != 0 || cfg->output != FMD_OUT_DATA))
        status = fmd_reason(why, why_len, "metadata 'weighting' = '%s' is not uniform, or edm with a data read-out",
                            weighting);
    info->weighting = strcmp(weighting, "edm") == 0 ? FMD_WEIGHT_EDM : FMD_WEIGHT_UNIFORM;
    if (status == FMD_OK && fmd_st_meta(f, "time_law"))
        status = fmd_meta_string(f, "time_law", law, sizeof law, why, why_len);
    if (status == FMD_OK && strcmp(law, "uniform") != 0 && strcmp(law, "lognormal") != 0)
        status = fmd_reason(why, why_len, "metadata 'time_law' = '%s' is neither uniform nor lognormal", law);
    info->time_law = strcmp(law, "lognormal") == 0 ? FMD_TIME_LOGNORMAL : FMD_TIME_UNIFORM;
    if (status == FMD_OK && info->time_law == FMD_TIME_LOGNORMAL) {
        status = fmd_meta_double(f, "p_mean", &info->p_mean, why, why_len);
        if (status == FMD_OK)
            status = fmd_meta_double(f, "p_std", &info->p_std, why, why_len);
        if (status == FMD_OK && !(isfinite(info->p_mean) && info->p_std > 0.0 && isfinite(info->p_std)))
            status = fmd_reason(why, why_len, "metadata 'p_mean' = %g, 'p_std' = %g: not a log-normal law",
                                info->p_mean, info->p_std);
    }
    return status;
}

int fmd_unet_checkpoint_load(const char *path, int use_ema, fmd_unet **net, fmd_run_info *info,
                             fmd_unet_trainer *state, char *why, size_t why_len)
{
    if (!path || !net || !info)
        return FMD_EINVAL;
    *net = NULL;
    memset(info, 0, sizeof *info);
    uint8_t *buf;
    size_t len;
    int status = fmd_model_file_slurp(path, &buf, &len, why, why_len);
    if (status == FMD_OK)
        status = fmd_unet_checkpoint_parse(buf, len, 0, use_ema, net, info, state, why, why_len);
    free(buf);
    return status;
}

int fmd_unet_checkpoint_parse(const uint8_t *data, size_t len, int allow_no_checksum, int use_ema, fmd_unet **net,
                              fmd_run_info *info, fmd_unet_trainer *state, char *why, size_t why_len)
{
    if (!data || !net || !info)
        return FMD_EINVAL;
    *net = NULL;
    memset(info, 0, sizeof *info);
    fmd_st_file f;
    int status = fmd_model_bytes_open(data, len, allow_no_checksum, FMD_UNET_FORMAT, &f, NULL, why, why_len);
    fmd_unet_config cfg;
    memset(&cfg, 0, sizeof cfg);
    unsigned long side = 0, channels = 0, levels = 0, att = 0, groups = 0, F = 0, E = 0, C = 0, adam_step = 0;
    unsigned long patch = 1;
    char mult[64] = "";
    const struct { const char *key; unsigned long lo, hi, *out; } u[] = {
        {"side", 1, 1024, &side},    {"channels", 1, 4096, &channels}, {"levels", 1, FMD_UNET_MAX_LEVELS, &levels},
        {"attention", 0, 1, &att},   {"groups", 1, 4096, &groups},     {"fourier", 2, 1024, &F},
        {"emb", 1, 65536, &E},       {"classes", 0, 4096, &C}};
    for (size_t i = 0; status == FMD_OK && i < sizeof u / sizeof u[0]; i++)
        status = fmd_meta_uint(&f, u[i].key, u[i].lo, u[i].hi, u[i].out, why, why_len);
    if (status == FMD_OK && fmd_st_meta(&f, "patch"))   /* optional: files before patches had none */
        status = fmd_meta_uint(&f, "patch", 1, 2, &patch, why, why_len);
    if (status == FMD_OK)
        status = fmd_meta_run_info(&f, info, &adam_step, why, why_len);
    if (status == FMD_OK)
        status = fmd_meta_dtype(&f, &cfg.dtype, why, why_len);
    cfg.side = side, cfg.channels = channels, cfg.levels = levels, cfg.attention = (int)att, cfg.groups = groups;
    cfg.n_fourier = F, cfg.emb = E, cfg.n_classes = C, cfg.patch = patch;
    if (status == FMD_OK)
        status = read_edm(&f, &cfg, info, why, why_len);
    if (status == FMD_OK)
        status = fmd_meta_string(&f, "mult", mult, sizeof mult, why, why_len);
    if (status == FMD_OK)
        status = fmd_unet_parse_mult(mult, &cfg) != FMD_OK
                     ? fmd_reason(why, why_len, "metadata 'mult' = '%s' is not a list of channel multipliers", mult)
                 : cfg.levels != levels
                     ? fmd_reason(why, why_len, "metadata 'mult' = '%s' has %zu multipliers for %lu levels", mult,
                                  cfg.levels, levels)
                     : FMD_OK;
    /* the architecture's size against the file's tensor, before anything is allocated */
    size_t count = 0;
    if (status == FMD_OK && fmd_unet_param_count(&cfg, &count) != FMD_OK)
        status = fmd_reason(why, why_len, "the architecture in the metadata is not valid (the side must be divisible "
                                          "by patch x 2^(levels - 1))");
    const fmd_st_tensor *pt = status == FMD_OK ? fmd_st_find(&f, "unet.params") : NULL;
    if (status == FMD_OK && !pt)
        status = fmd_reason(why, why_len, "tensor 'unet.params' is missing");
    if (status == FMD_OK && (pt->ndim != 1 || pt->shape[0] != count))
        status = fmd_reason(why, why_len, "tensor 'unet.params' does not hold the %zu parameters of the architecture "
                                          "in the metadata", count);
    fmd_unet *m = NULL;
    if (status == FMD_OK && (status = fmd_unet_alloc(&cfg, &m)) != FMD_OK)
        fmd_reason(why, why_len, "no memory for the network's %zu parameters", count);
    int has_ema = 0;
    const size_t expected = 1 + (status == FMD_OK ? fmd_state_tensors_in(&f, NULL, &has_ema) : 0);
    if (status == FMD_OK && f.ntensors != expected)
        status = fmd_reason(why, why_len, "%zu tensors, expected %zu", f.ntensors, expected);
    uint64_t sh[1] = {m ? m->nparams : 0};
    if (status == FMD_OK)
        status = fmd_take_tensor(&f, use_ema && has_ema ? "ema" : "unet.params", 1, sh, cfg.dtype, fmd_unet_params(m),
                                 why, why_len);
    if (status == FMD_OK && state) {
        if (state->net->nparams != m->nparams || state->net->cfg.dtype != cfg.dtype)
            status = fmd_reason(why, why_len, "the training state does not match this architecture");
        if (status == FMD_OK)
            status = fmd_take_state(&f, m->nparams, cfg.dtype, adam_step, state->opt, state->ema, why, why_len);
        if (status == FMD_OK)
            state->step = info->steps;
    }
    fmd_st_free(&f);
    if (status != FMD_OK) {
        fmd_unet_free(m);
        return status;
    }
    *net = m;
    return FMD_OK;
}
