/* idx.c -- IDX files (big-endian sizes, unsigned bytes) through zlib. */
#include "files/idx.h"
#include "base/status.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

const char *const fmd_fmnist_classes[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

int fmd_idx_parse(const unsigned char *buf, size_t len, fmd_idx *out, char *why, size_t why_len)
{
    if (!out || (!buf && len))
        return FMD_EINVAL;
    memset(out, 0, sizeof *out);
    if (len < 4)
        return fmd_reason(why, why_len, "%zu bytes: shorter than the 4-byte IDX magic number", len);
    if (buf[0] != 0 || buf[1] != 0)
        return fmd_reason(why, why_len, "not an IDX file (magic number starts %02x %02x, not 00 00)", buf[0], buf[1]);
    if (buf[2] != 0x08)
        return fmd_reason(why, why_len, "IDX element type 0x%02x: only unsigned bytes (0x08) are supported", buf[2]);
    const size_t ndim = buf[3];
    if (ndim < 1 || ndim > 4)
        return fmd_reason(why, why_len, "IDX with %zu dimensions: expected 1 to 4", ndim);
    if (len < 4 + 4 * ndim)
        return fmd_reason(why, why_len, "%zu bytes: the header of %zu sizes needs %zu", len, ndim, 4 + 4 * ndim);
    size_t count = 1;
    for (size_t i = 0; i < ndim; i++) {
        const unsigned char *p = buf + 4 + 4 * i;
        uint32_t v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (v == 0)
            return fmd_reason(why, why_len, "size %zu of the IDX header is 0", i + 1);
        if (count > FMD_IDX_MAX_BYTES / v)
            return fmd_reason(why, why_len, "the IDX sizes multiply to more than %zu bytes", FMD_IDX_MAX_BYTES);
        count *= v;
        out->dims[i] = v;
    }
    const size_t body = len - (4 + 4 * ndim);
    if (body != count)
        return fmd_reason(why, why_len, "the header promises %zu data bytes, the file holds %zu (%s)", count, body,
                          body < count ? "truncated" : "trailing bytes");
    out->ndim = ndim;
    out->count = count;
    out->data = buf + 4 + 4 * ndim;
    return FMD_OK;
}

int fmd_idx_read_file(const char *path, unsigned char **buf, size_t *len, char *why, size_t why_len)
{
    if (!path || !buf || !len)
        return FMD_EINVAL;
    *buf = NULL;
    *len = 0;
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f)
        return fmd_reason(why, why_len, "cannot open: %s", errno ? strerror(errno) : "out of memory");
    size_t cap = (size_t)1 << 20, n = 0;
    unsigned char *b = malloc(cap);
    int status = b ? FMD_OK : FMD_ENOMEM;
    while (status == FMD_OK) {
        if (n == cap) {
            if (cap >= FMD_IDX_MAX_BYTES + 1) {
                status = fmd_reason(why, why_len, "more than %zu bytes after decompression", FMD_IDX_MAX_BYTES);
                break;
            }
            unsigned char *nb = realloc(b, cap * 2);
            if (!nb) {
                status = FMD_ENOMEM;
                break;
            }
            b = nb;
            cap *= 2;
        }
        size_t want = cap - n > (1u << 30) ? (1u << 30) : cap - n;
        int got = gzread(f, b + n, (unsigned)want);
        if (got < 0) {
            int zerr;
            const char *msg = gzerror(f, &zerr);
            status = fmd_reason(why, why_len, "corrupt gzip data: %s", msg ? msg : "read error");
            break;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    if (status == FMD_OK) {   /* a stream cut short reads as a short file: zlib flags it */
        int zerr;
        const char *msg = gzerror(f, &zerr);
        if (zerr != Z_OK)
            status = fmd_reason(why, why_len, "corrupt or truncated gzip data: %s", msg);
    }
    gzclose(f);
    if (status != FMD_OK) {
        free(b);
        return status == FMD_ENOMEM ? FMD_ENOMEM : FMD_EIO;
    }
    *buf = b;
    *len = n;
    return FMD_OK;
}

void fmd_image_set_free(fmd_image_set *s)
{
    if (!s)
        return;
    free(s->x);
    free(s->y);
    memset(s, 0, sizeof *s);
}

int fmd_image_set_load(const char *images, const char *labels, int max_label, fmd_image_set *out,
                       char *why, size_t why_len)
{
    if (!images || !labels || !out || max_label < 1)
        return FMD_EINVAL;
    memset(out, 0, sizeof *out);
    unsigned char *ib = NULL, *lb = NULL;
    size_t il, ll;
    char inner[200] = "";
    fmd_idx I, L;
    int status = fmd_idx_read_file(images, &ib, &il, inner, sizeof inner);
    if (status == FMD_OK && fmd_idx_parse(ib, il, &I, inner, sizeof inner) != FMD_OK)
        status = FMD_EINVAL;
    if (status != FMD_OK) {
        free(ib);
        return fmd_reason(why, why_len, "%s: %s", images, inner), status;
    }
    status = fmd_idx_read_file(labels, &lb, &ll, inner, sizeof inner);
    if (status == FMD_OK && fmd_idx_parse(lb, ll, &L, inner, sizeof inner) != FMD_OK)
        status = FMD_EINVAL;
    if (status != FMD_OK) {
        free(ib);
        free(lb);
        return fmd_reason(why, why_len, "%s: %s", labels, inner), status;
    }
    if (I.ndim != 3) {
        status = fmd_reason(why, why_len, "%s: %zu dimensions, an image file has 3 (count, rows, columns)", images, I.ndim);
    } else if (L.ndim != 1) {
        status = fmd_reason(why, why_len, "%s: %zu dimensions, a label file has 1", labels, L.ndim);
    } else if (L.dims[0] != I.dims[0]) {
        status = fmd_reason(why, why_len, "%zu images in %s but %zu labels in %s", I.dims[0], images, L.dims[0], labels);
    }
    for (size_t i = 0; status == FMD_OK && i < L.count; i++)
        if (L.data[i] >= max_label)
            status = fmd_reason(why, why_len, "%s: label %d of item %zu is not below %d", labels, L.data[i], i + 1, max_label);
    if (status == FMD_OK) {
        out->n = I.dims[0], out->rows = I.dims[1], out->cols = I.dims[2];
        out->x = malloc(I.count * sizeof(double));
        out->y = malloc(out->n * sizeof(int));
        if (!out->x || !out->y) {
            fmd_image_set_free(out);
            status = FMD_ENOMEM;
        }
    }
    for (size_t i = 0; status == FMD_OK && i < I.count; i++)
        out->x[i] = I.data[i] / 127.5 - 1.0;   /* pixels 0..255 -> [-1, 1] */
    for (size_t i = 0; status == FMD_OK && i < out->n; i++)
        out->y[i] = L.data[i];
    free(ib);
    free(lb);
    return status;
}

int fmd_fmnist_load(const char *dir, int train, fmd_image_set *out, char *why, size_t why_len)
{
    char images[512], labels[512];
    const char *d = dir ? dir : FMD_FMNIST_DIR, *part = train ? "train" : "t10k";
    snprintf(images, sizeof images, "%s/%s-images-idx3-ubyte.gz", d, part);
    snprintf(labels, sizeof labels, "%s/%s-labels-idx1-ubyte.gz", d, part);
    int status = fmd_image_set_load(images, labels, 10, out, why, why_len);
    if (status == FMD_OK && (out->rows != 28 || out->cols != 28)) {
        fmd_image_set_free(out);
        return fmd_reason(why, why_len, "%s: images of %zu x %zu pixels, Fashion-MNIST's are 28 x 28", images,
                          out->rows, out->cols);
    }
    return status;
}

int fmd_image_set_sampler(void *params, gsl_rng *r, size_t n, double *z, int *labels)
{
    const fmd_image_set *s = params;
    if (!s || !r || !z || s->n == 0)
        return FMD_EINVAL;
    const size_t d = s->rows * s->cols;
    for (size_t i = 0; i < n; i++) {
        size_t k = gsl_rng_uniform_int(r, s->n);
        memcpy(z + i * d, s->x + k * d, d * sizeof(double));
        if (labels)
            labels[i] = s->y[k];
    }
    return FMD_OK;
}
