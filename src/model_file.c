/* model_file.c -- reading fmd's model files: the bytes, the checksum, the
 * metadata and the tensors, every value checked (model_file.h). */
#include "model_file.h"
#include "status.h"

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
