/* model_file.c -- reading fmd's model files: the bytes, the checksum, the
 * metadata and the tensors, every value checked (model_file.h). */
#include "files/model_file.h"
#include "base/status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int fmd_model_file_slurp(const char *path, uint8_t **buf, size_t *size, char *why, size_t why_len)
{
    *buf = NULL;
    *size = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fmd_reason(why, why_len, "cannot open: %s", strerror(errno));
        return FMD_EIO;
    }
    struct stat st;
    if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(fp);
        fmd_reason(why, why_len, "is a directory, not a model file");
        return FMD_EIO;
    }
    uint8_t *b = NULL;
    size_t len = 0, cap = 0;
    int status = FMD_OK;
    while (status == FMD_OK) {
        if (len == cap) {
            if (cap > ((size_t)1 << 34)) {
                status = fmd_reason(why, why_len, "file larger than 16 GiB");
                break;
            }
            cap = cap ? 2 * cap : 1 << 16;
            uint8_t *nb = realloc(b, cap);
            if (!nb) {
                status = FMD_ENOMEM;
                break;
            }
            b = nb;
        }
        size_t r = fread(b + len, 1, cap - len, fp);
        len += r;
        if (r == 0)
            break;
    }
    if (status == FMD_OK && ferror(fp)) {
        fmd_reason(why, why_len, "read error: %s", strerror(errno));
        status = FMD_EIO;
    }
    fclose(fp);
    *buf = b, *size = len;
    return status;
}

int fmd_model_bytes_parse(const uint8_t *data, size_t len, int allow_no_checksum, fmd_st_file *f, int *has_checksum,
                          char *why, size_t why_len)
{
    memset(f, 0, sizeof *f);
    if (has_checksum)
        *has_checksum = 0;
    int status = fmd_st_parse(data, len, f, why, why_len);
    const int present = status == FMD_OK && fmd_st_meta(f, "fmd_checksum_fnv1a64") != NULL;
    if (has_checksum)
        *has_checksum = present;
    if (status == FMD_OK && !present && allow_no_checksum)
        ;   /* a file written elsewhere, read on the caller's word (--no-checksum) */
    else if (status == FMD_OK && !present)
        status = fmd_reason(why, why_len, "a safetensors file without fmd's checksum: not written by fmd (give "
                                          "--no-checksum to read one written elsewhere in fmd's layout)");
    else if (status == FMD_OK && !fmd_st_checksum_ok(data, len, f))
        status = fmd_reason(why, why_len, "checksum mismatch: the file was changed or truncated");
    return status;
}

/* "an MLP model", "a U-Net model", or NULL for a format fmd does not write */
static const char *kind_of_format(const char *format)
{
    return strcmp(format, FMD_MLP_FORMAT) == 0 ? "an MLP model" : strcmp(format, FMD_UNET_FORMAT) == 0 ? "a U-Net model" : NULL;
}

int fmd_model_bytes_open(const uint8_t *data, size_t len, int allow_no_checksum, const char *format, fmd_st_file *f,
                         int *has_checksum, char *why, size_t why_len)
{
    int status = fmd_model_bytes_parse(data, len, allow_no_checksum, f, has_checksum, why, why_len);
    const char *fmt = status == FMD_OK ? fmd_st_meta(f, "format") : NULL;
    if (status != FMD_OK || (fmt && strcmp(fmt, format) == 0))
        return status;
    if (fmt && kind_of_format(fmt))   /* fmd's other kind: say which, so the user picks the right command */
        return fmd_reason(why, why_len, "%s (format %s), not %s (format %s)", kind_of_format(fmt), fmt,
                          kind_of_format(format), format);
    return fmd_reason(why, why_len, "not an fmd model (metadata format is '%s')", fmt ? fmt : "missing");
}

int fmd_model_file_read(const char *path, int allow_no_checksum, uint8_t **buf, fmd_st_file *f, int *has_checksum,
                        char *why, size_t why_len)
{
    memset(f, 0, sizeof *f);
    if (has_checksum)
        *has_checksum = 0;
    size_t len;
    int status = fmd_model_file_slurp(path, buf, &len, why, why_len);
    if (status == FMD_OK)
        status = fmd_model_bytes_parse(*buf, len, allow_no_checksum, f, has_checksum, why, why_len);
    return status;
}

/* An unsigned integer metadata value in [lo, hi]. */
int fmd_meta_uint(const fmd_st_file *f, const char *key, unsigned long lo, unsigned long hi,
                     unsigned long *out, char *why, size_t n)
{
    const char *s = fmd_st_meta(f, key);
    if (!s)
        return fmd_reason(why, n, "metadata '%s' is missing", key);
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (end == s || *end || errno || s[0] == '-' || v < lo || v > hi)
        return fmd_reason(why, n, "metadata '%s' = '%s' is not a whole number in [%lu, %lu]", key, s, lo, hi);
    *out = v;
    return FMD_OK;
}

int fmd_meta_double(const fmd_st_file *f, const char *key, double *out, char *why, size_t n)
{
    const char *s = fmd_st_meta(f, key);
    if (!s)
        return fmd_reason(why, n, "metadata '%s' is missing", key);
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end)
        return fmd_reason(why, n, "metadata '%s' = '%s' is not a number", key, s);
    *out = v;
    return FMD_OK;
}

int fmd_meta_string(const fmd_st_file *f, const char *key, char *out, size_t cap, char *why, size_t n)
{
    const char *s = fmd_st_meta(f, key);
    if (!s)
        return fmd_reason(why, n, "metadata '%s' is missing", key);
    if (strlen(s) >= cap)
        return fmd_reason(why, n, "metadata '%s' is too long", key);
    strcpy(out, s);
    return FMD_OK;
}

/* Copy a tensor with the given shape and type into dst (numbers of type ty). */
int fmd_check_tensor(const fmd_st_file *f, const char *name, size_t ndim, const uint64_t *shape, fmd_dtype ty,
                     char *why, size_t n)
{
    const fmd_st_tensor *t = fmd_st_find(f, name);
    if (!t)
        return fmd_reason(why, n, "tensor '%s' is missing", name);
    if (t->ndim != ndim)
        return fmd_reason(why, n, "tensor '%s' has %zu dimensions, expected %zu", name, t->ndim, ndim);
    for (size_t k = 0; k < ndim; k++)
        if (t->shape[k] != shape[k])
            return fmd_reason(why, n, "tensor '%s' dimension %zu is %llu, expected %llu", name, k,
                       (unsigned long long)t->shape[k], (unsigned long long)shape[k]);
    if (t->dtype != ty)
        return fmd_reason(why, n, "tensor '%s' is %s, but the model's dtype is %s", name,
                          t->dtype == FMD_F32 ? "F32" : "F64", fmd_dtype_name(ty));
    return FMD_OK;
}

int fmd_take_tensor(const fmd_st_file *f, const char *name, size_t ndim, const uint64_t *shape, fmd_dtype ty,
                    void *dst, char *why, size_t n)
{
    const int status = fmd_check_tensor(f, name, ndim, shape, ty, why, n);
    if (status != FMD_OK)
        return status;
    const fmd_st_tensor *t = fmd_st_find(f, name);
    const uint8_t *p = f->payload + t->begin;
    const size_t size = fmd_dtype_size(ty);
    for (uint64_t i = 0; i < (t->end - t->begin) / size; i++) {   /* little-endian, whatever the host */
        uint64_t bits = 0;
        for (size_t b = size; b-- > 0;)
            bits = (bits << 8) | p[size * i + b];
        if (size == 8) {
            memcpy((double *)dst + i, &bits, 8);
        } else {
            uint32_t b32 = (uint32_t)bits;
            memcpy((float *)dst + i, &b32, 4);
        }
    }
    return FMD_OK;
}


void fmd_state_tensors(size_t nparams, fmd_dtype ty, const fmd_adam *opt, const void *ema, fmd_st_out *t, size_t *nt)
{
    t[(*nt)++] = (fmd_st_out){"adam.m", 1, {nparams}, opt->m, ty};
    t[(*nt)++] = (fmd_st_out){"adam.v", 1, {nparams}, opt->v, ty};
    if (ema)
        t[(*nt)++] = (fmd_st_out){"ema", 1, {nparams}, ema, ty};
}

size_t fmd_state_tensors_in(const fmd_st_file *f, int *has_adam, int *has_ema)
{
    const int adam = fmd_st_find(f, "adam.m") != NULL, ema = fmd_st_find(f, "ema") != NULL;
    if (has_adam)
        *has_adam = adam;
    if (has_ema)
        *has_ema = ema;
    return (adam ? 2 : 0) + (ema ? 1 : 0);
}

int fmd_take_state(const fmd_st_file *f, size_t nparams, fmd_dtype ty, unsigned long adam_step, fmd_adam *opt,
                   void *ema, char *why, size_t n)
{
    const uint64_t sh[1] = {nparams};
    int status = FMD_OK;
    if (fmd_st_find(f, "adam.m")) {
        status = fmd_take_tensor(f, "adam.m", 1, sh, ty, opt->m, why, n);
        if (status == FMD_OK)
            status = fmd_take_tensor(f, "adam.v", 1, sh, ty, opt->v, why, n);
    }
    if (status == FMD_OK && ema && fmd_st_find(f, "ema"))
        status = fmd_take_tensor(f, "ema", 1, sh, ty, ema, why, n);
    if (status == FMD_OK)
        opt->step = adam_step;
    return status;
}

int fmd_run_meta(const fmd_run_info *info, unsigned long adam_step, fmd_run_meta_text *text, const char **meta)
{
    for (const char *p = info->data; *p; p++)
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
            return FMD_EINVAL;
    char (*v)[32] = text->v;
    snprintf(v[0], 32, "%lu", info->steps);
    snprintf(v[1], 32, "%lu", info->target_steps);
    snprintf(v[2], 32, "%lu", info->seed);
    snprintf(v[3], 32, "%zu", info->batch);
    snprintf(v[4], 32, "%.17g", info->lr);
    snprintf(v[5], 32, "%.17g", info->clip);
    snprintf(v[6], 32, "%.17g", info->ema_decay);
    snprintf(v[7], 32, "%.17g", info->t_min);
    snprintf(v[8], 32, "%.17g", info->t_max);
    snprintf(v[9], 32, "%.17g", info->label_drop);
    snprintf(v[10], 32, "%lu", adam_step);
    const char *pairs[2 * FMD_RUN_META_PAIRS] = {
        "objective", info->objective, "schedule", info->schedule, "data", info->data, "steps", v[0],
        "target_steps", v[1], "seed", v[2], "batch", v[3], "lr", v[4], "clip", v[5], "ema_decay", v[6],
        "t_min", v[7], "t_max", v[8], "label_drop", v[9], "adam_step", v[10]};
    memcpy(meta, pairs, sizeof pairs);
    return FMD_OK;
}

int fmd_meta_run_info(const fmd_st_file *f, fmd_run_info *info, unsigned long *adam_step, char *why, size_t n)
{
    unsigned long batch = 0;
    const struct { const char *key; unsigned long hi, *out; } u[] = {
        {"steps", (unsigned long)-1, &info->steps},   {"target_steps", (unsigned long)-1, &info->target_steps},
        {"seed", (unsigned long)-1, &info->seed},     {"batch", (unsigned long)1 << 30, &batch},
        {"adam_step", (unsigned long)-1, adam_step}};
    int status = FMD_OK;
    for (size_t i = 0; status == FMD_OK && i < sizeof u / sizeof u[0]; i++)
        status = fmd_meta_uint(f, u[i].key, 0, u[i].hi, u[i].out, why, n);
    info->batch = batch;
    const char *dkeys[5] = {"lr", "clip", "ema_decay", "t_min", "t_max"};
    double *dvals[5] = {&info->lr, &info->clip, &info->ema_decay, &info->t_min, &info->t_max};
    for (int i = 0; i < 5 && status == FMD_OK; i++)
        status = fmd_meta_double(f, dkeys[i], dvals[i], why, n);
    info->label_drop = 0.0;
    if (status == FMD_OK && fmd_st_meta(f, "label_drop"))
        status = fmd_meta_double(f, "label_drop", &info->label_drop, why, n);
    if (status == FMD_OK)
        status = fmd_meta_string(f, "objective", info->objective, sizeof info->objective, why, n);
    if (status == FMD_OK)
        status = fmd_meta_string(f, "schedule", info->schedule, sizeof info->schedule, why, n);
    if (status == FMD_OK)
        status = fmd_meta_string(f, "data", info->data, sizeof info->data, why, n);
    return status;
}

int fmd_meta_dtype(const fmd_st_file *f, fmd_dtype *out, char *why, size_t n)
{
    char dtype[8] = "f64";
    int status = fmd_st_meta(f, "dtype") ? fmd_meta_string(f, "dtype", dtype, sizeof dtype, why, n) : FMD_OK;
    if (status == FMD_OK && strcmp(dtype, "f64") != 0 && strcmp(dtype, "f32") != 0)
        status = fmd_reason(why, n, "metadata 'dtype' = '%s' is neither f64 nor f32", dtype);
    *out = strcmp(dtype, "f32") == 0 ? FMD_F32 : FMD_F64;
    return status;
}
