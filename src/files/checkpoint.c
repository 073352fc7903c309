/* checkpoint.c -- the model file: safetensors with fmd's names and metadata. */
#include "files/checkpoint.h"
#include "files/model_file.h"
#include "files/safetensors.h"
#include "base/status.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *fmd_readout_name(fmd_mlp_output k)
{
    static const char *names[] = {"plain", "noise", "data", "score"};
    return (size_t)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

int fmd_readout_by_name(const char *name, fmd_mlp_output *k)
{
    for (int i = FMD_OUT_PLAIN; i <= FMD_OUT_SCORE; i++)
        if (strcmp(name, fmd_readout_name((fmd_mlp_output)i)) == 0) {
            *k = (fmd_mlp_output)i;
            return FMD_OK;
        }
    return FMD_EINVAL;
}

const char *fmd_objective_name(fmd_loss_kind k)
{
    return k == FMD_LOSS_CFM ? "cfm" : k == FMD_LOSS_CSM ? "dsm" : k == FMD_LOSS_DDPM ? "ddpm"
         : k == FMD_LOSS_DENOISER ? "denoiser" : k == FMD_LOSS_CFM_DSM ? "cfm+dsm" : "?";
}

int fmd_objective_by_name(const char *name, fmd_loss_kind *k)
{
    if (!name || !k)
        return FMD_EINVAL;
    if (strcmp(name, "cfm") == 0)
        *k = FMD_LOSS_CFM;
    else if (strcmp(name, "dsm") == 0)
        *k = FMD_LOSS_CSM;
    else if (strcmp(name, "ddpm") == 0)
        *k = FMD_LOSS_DDPM;
    else if (strcmp(name, "denoiser") == 0)
        *k = FMD_LOSS_DENOISER;
    else if (strcmp(name, "cfm+dsm") == 0)
        *k = FMD_LOSS_CFM_DSM;
    else if (strcmp(name, "ddpm-discrete") == 0)   /* DDPM's noise loss on the levels of ddpm:N */
        *k = FMD_LOSS_DDPM;
    else
        return FMD_EINVAL;
    return FMD_OK;
}

const char *fmd_activation_name(fmd_activation a)
{
    return a == FMD_SILU ? "silu" : a == FMD_RELU ? "relu" : "tanh";
}

int fmd_activation_by_name(const char *name, fmd_activation *a)
{
    if (!name || !a)
        return FMD_EINVAL;
    if (strcmp(name, "silu") == 0)
        *a = FMD_SILU;
    else if (strcmp(name, "relu") == 0)
        *a = FMD_RELU;
    else if (strcmp(name, "tanh") == 0)
        *a = FMD_TANH;
    else
        return FMD_EINVAL;
    return FMD_OK;
}

int fmd_checkpoint_save(const char *path, const fmd_mlp *net, const fmd_trainer *tr,
                        const fmd_run_info *info)
{
    if (!path || !net || !info)
        return FMD_EINVAL;
    fmd_st_out t[2 * (FMD_MLP_MAX_HIDDEN + 1) + 3];
    char names[2 * (FMD_MLP_MAX_HIDDEN + 1)][32];
    size_t nt = 0;
    const fmd_dtype ty = net->cfg.dtype;   /* every tensor in the network's own type */
    const size_t es = fmd_dtype_size(ty);
    const char *params = net->params32 ? (const char *)net->params32 : (const char *)net->params;
    for (size_t l = 0; l < net->nlayers; l++) {
        snprintf(names[2 * l], 32, "net.%zu.W", l);
        snprintf(names[2 * l + 1], 32, "net.%zu.b", l);
        t[nt++] = (fmd_st_out){names[2 * l], 2, {net->dims[l], net->dims[l + 1]}, params + net->w_off[l] * es, ty};
        t[nt++] = (fmd_st_out){names[2 * l + 1], 1, {net->dims[l + 1]}, params + net->b_off[l] * es, ty};
    }
    if (tr)
        fmd_state_tensors(net->nparams, ty, tr->opt, tr->ema, t, &nt);
    const fmd_mlp_config *c = &net->cfg;
    char v[5][64], widths[FMD_MLP_MAX_HIDDEN * 8] = "";
    for (size_t l = 0; l < c->depth; l++)
        snprintf(widths + strlen(widths), sizeof widths - strlen(widths), "%s%zu", l ? "," : "", c->width[l]);
    snprintf(v[0], 64, "%zu", c->d);
    snprintf(v[1], 64, "%zu", c->n_fourier);
    snprintf(v[2], 64, "%zu", c->n_classes);
    snprintf(v[3], 64, "%zu", c->n_out);
    snprintf(v[4], 64, "%.17g", c->sigma_data);
    fmd_run_meta_text run_text;
    const char *run[2 * FMD_RUN_META_PAIRS];
    if (fmd_run_meta(info, tr ? tr->opt->step : 0UL, &run_text, run) != FMD_OK)
        return FMD_EINVAL;
    /* the first three pairs are written only when they say something: a plain
     * network, uniformly weighted, has the file it had before they existed */
    const char *head[] = {"readout", fmd_readout_name(c->output), "sigma_data", v[4],
                          "weighting", info->weighting == FMD_WEIGHT_BETA2 ? "beta2" : info->weighting == FMD_WEIGHT_ELBO ? "elbo" : "uniform",
                          "format", FMD_MLP_FORMAT, "d", v[0], "fourier", v[1], "classes", v[2],
                          "hidden", widths, "activation", fmd_activation_name(c->act)};
    const char *tail[] = {"outputs", v[3], "dtype", fmd_dtype_name(ty)};
    const size_t nhead = sizeof head / sizeof head[0], nrun = sizeof run / sizeof run[0];
    const char *meta[sizeof head / sizeof head[0] + 2 * FMD_RUN_META_PAIRS + sizeof tail / sizeof tail[0]];
    memcpy(meta, head, sizeof head);
    memcpy(meta + nhead, run, sizeof run);
    memcpy(meta + nhead + nrun, tail, sizeof tail);
    const int plain = c->output == FMD_OUT_PLAIN, uniform = info->weighting == FMD_WEIGHT_UNIFORM;
    if (uniform && !plain)   /* keep the read-out's two pairs, drop the weighting's: shift them over it */
        for (int i = 5; i >= 2; i--)
            meta[i] = meta[i - 2];
    const size_t drop = 2 * (size_t)plain + (size_t)uniform;   /* pairs left out */
    return fmd_st_write(path, t, nt, meta + 2 * drop, sizeof meta / sizeof meta[0] / 2 - drop);
}

/* ---- loading --------------------------------------------------------------- */

static void *params_of(fmd_mlp *m)
{
    return m->params32 ? (void *)m->params32 : (void *)m->params;
}


int fmd_checkpoint_load(const char *path, fmd_mlp **net, fmd_run_info *info, fmd_trainer *state,
                        char *why, size_t why_len)
{
    return fmd_checkpoint_load_checked(path, net, info, state, 0, NULL, why, why_len);
}

int fmd_checkpoint_load_checked(const char *path, fmd_mlp **net, fmd_run_info *info, fmd_trainer *state,
                                int allow_no_checksum, int *has_checksum, char *why, size_t why_len)
{
    if (!path || !net || !info)
        return FMD_EINVAL;
    *net = NULL;
    memset(info, 0, sizeof *info);
    if (has_checksum)
        *has_checksum = 0;
    uint8_t *buf;
    size_t len;
    int status = fmd_model_file_slurp(path, &buf, &len, why, why_len);
    if (status == FMD_OK)
        status = fmd_checkpoint_parse(buf, len, net, info, state, allow_no_checksum, has_checksum, why, why_len);
    free(buf);
    return status;
}

int fmd_checkpoint_parse(const uint8_t *data, size_t len, fmd_mlp **net, fmd_run_info *info, fmd_trainer *state,
                         int allow_no_checksum, int *has_checksum, char *why, size_t why_len)
{
    if (!data || !net || !info)
        return FMD_EINVAL;
    *net = NULL;
    memset(info, 0, sizeof *info);
    fmd_st_file f;
    int status = fmd_model_bytes_open(data, len, allow_no_checksum, FMD_MLP_FORMAT, &f, has_checksum, why, why_len);
    fmd_mlp_config cfg;
    memset(&cfg, 0, sizeof cfg);
    unsigned long d = 0, F = 0, C = 0, n_out = 0, adam_step = 0;
    char widths[256] = "", act[16] = "";
    if (status == FMD_OK)
        status = fmd_meta_uint(&f, "d", 1, 4096, &d, why, why_len);
    if (status == FMD_OK)
        status = fmd_meta_uint(&f, "fourier", 0, 64, &F, why, why_len);
    if (status == FMD_OK)
        status = fmd_meta_uint(&f, "classes", 0, 4096, &C, why, why_len);
    if (status == FMD_OK && fmd_st_meta(&f, "outputs"))   /* optional: 0 (= d) before chapter 5 */
        status = fmd_meta_uint(&f, "outputs", 0, 65536, &n_out, why, why_len);
    if (status == FMD_OK)
        status = fmd_meta_string(&f, "hidden", widths, sizeof widths, why, why_len);
    if (status == FMD_OK)
        status = fmd_meta_string(&f, "activation", act, sizeof act, why, why_len);
    if (status == FMD_OK && fmd_activation_by_name(act, &cfg.act) != FMD_OK)
        status = fmd_reason(why, why_len, "unknown activation '%s'", act);
    if (status == FMD_OK) {   /* "64,64,64": depth and widths */
        const char *p = widths;
        while (status == FMD_OK && *p) {
            char *end;
            errno = 0;
            unsigned long w = strtoul(p, &end, 10);
            if (end == p || errno || w == 0 || w > 65536 || cfg.depth == FMD_MLP_MAX_HIDDEN || (*end && *end != ','))
                status = fmd_reason(why, why_len, "metadata 'hidden' = '%s' is not a list of widths", widths);
            else
                cfg.width[cfg.depth++] = w;
            p = *end == ',' ? end + 1 : end;
        }
        if (status == FMD_OK && cfg.depth == 0)
            status = fmd_reason(why, why_len, "metadata 'hidden' is empty");
    }
    if (status == FMD_OK)
        status = fmd_meta_run_info(&f, info, &adam_step, why, why_len);
    if (status == FMD_OK)
        status = fmd_meta_dtype(&f, &cfg.dtype, why, why_len);
    char weighting[16] = "uniform";   /* optional: uniformly weighted runs have none */
    if (status == FMD_OK && fmd_st_meta(&f, "weighting"))
        status = fmd_meta_string(&f, "weighting", weighting, sizeof weighting, why, why_len);
    if (status == FMD_OK && strcmp(weighting, "uniform") != 0 && strcmp(weighting, "beta2") != 0 &&
        strcmp(weighting, "elbo") != 0)
        status = fmd_reason(why, why_len, "metadata 'weighting' = '%s' is not uniform, beta2 or elbo", weighting);
    info->weighting = strcmp(weighting, "beta2") == 0 ? FMD_WEIGHT_BETA2
                    : strcmp(weighting, "elbo") == 0  ? FMD_WEIGHT_ELBO : FMD_WEIGHT_UNIFORM;
    char readout[16] = "plain";   /* optional: files of plain networks have none */
    if (status == FMD_OK && fmd_st_meta(&f, "readout"))
        status = fmd_meta_string(&f, "readout", readout, sizeof readout, why, why_len);
    if (status == FMD_OK && fmd_readout_by_name(readout, &cfg.output) != FMD_OK)
        status = fmd_reason(why, why_len, "metadata 'readout' = '%s' is not plain, noise, data or score", readout);
    if (status == FMD_OK && cfg.output != FMD_OUT_PLAIN) {
        fmd_loss_kind k;
        static const fmd_mlp_output fits[] = {[FMD_LOSS_CSM] = FMD_OUT_SCORE, [FMD_LOSS_DDPM] = FMD_OUT_NOISE,
                                              [FMD_LOSS_DENOISER] = FMD_OUT_DATA};
        status = fmd_meta_double(&f, "sigma_data", &cfg.sigma_data, why, why_len);
        if (status == FMD_OK && !(cfg.sigma_data > 0.0 && isfinite(cfg.sigma_data)))
            status = fmd_reason(why, why_len, "metadata 'sigma_data' = %g is not a positive number", cfg.sigma_data);
        if (status == FMD_OK && fmd_schedule_by_name(info->schedule, &cfg.schedule) != FMD_OK)
            status = fmd_reason(why, why_len, "unknown schedule '%s'", info->schedule);
        if (status == FMD_OK && (fmd_objective_by_name(info->objective, &k) != FMD_OK ||
                                 (size_t)k >= sizeof fits / sizeof fits[0] || fits[k] != cfg.output))
            status = fmd_reason(why, why_len, "a '%s' read-out does not fit the objective '%s'", readout, info->objective);
    }
    fmd_mlp *m = NULL;
    if (status == FMD_OK) {
        cfg.d = d;
        cfg.n_fourier = F;
        cfg.n_classes = C;
        cfg.n_out = n_out;
        fmd_mlp shape;   /* every tensor's shape against the architecture, before anything is allocated */
        if (strcmp(info->objective, "cfm+dsm") == 0 && n_out != 2 * d)   /* the two heads need 2d outputs */
            status = fmd_reason(why, why_len, "a cfm+dsm model has 2d = %lu outputs, not %lu", 2 * d, n_out);
        else if (fmd_mlp_layout(&cfg, &shape) != FMD_OK)
            status = fmd_reason(why, why_len, "the architecture in the metadata is not valid");
        for (size_t l = 0; status == FMD_OK && l < shape.nlayers; l++) {
            char name[32];
            uint64_t shW[2] = {shape.dims[l], shape.dims[l + 1]}, shb[1] = {shape.dims[l + 1]};
            snprintf(name, sizeof name, "net.%zu.W", l);
            status = fmd_check_tensor(&f, name, 2, shW, cfg.dtype, why, why_len);
            snprintf(name, sizeof name, "net.%zu.b", l);
            if (status == FMD_OK)
                status = fmd_check_tensor(&f, name, 1, shb, cfg.dtype, why, why_len);
        }
        if (status == FMD_OK && (status = fmd_mlp_alloc(&cfg, &m)) != FMD_OK)
            fmd_reason(why, why_len, "no memory for the network's %zu parameters", shape.nparams);
    }
    size_t expected = 0;
    const size_t es = fmd_dtype_size(cfg.dtype);
    for (size_t l = 0; m && status == FMD_OK && l < m->nlayers; l++) {
        char name[32];
        uint64_t shW[2] = {m->dims[l], m->dims[l + 1]}, shb[1] = {m->dims[l + 1]};
        snprintf(name, sizeof name, "net.%zu.W", l);
        status = fmd_take_tensor(&f, name, 2, shW, cfg.dtype, (char *)params_of(m) + m->w_off[l] * es, why, why_len);
        snprintf(name, sizeof name, "net.%zu.b", l);
        if (status == FMD_OK)
            status = fmd_take_tensor(&f, name, 1, shb, cfg.dtype, (char *)params_of(m) + m->b_off[l] * es, why, why_len);
        expected += 2;
    }
    if (status == FMD_OK)
        expected += fmd_state_tensors_in(&f, NULL, NULL);
    if (status == FMD_OK && f.ntensors != expected)
        status = fmd_reason(why, why_len, "%zu tensors, expected %zu for this architecture", f.ntensors, expected);
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
        fmd_mlp_free(m);
        return status;
    }
    *net = m;
    return FMD_OK;
}
