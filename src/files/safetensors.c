/* safetensors.c -- strict reader and writer of the safetensors layout. */
#include "files/safetensors.h"
#include "base/atomic_file.h"
#include "base/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ------------------------------------------------------- */


static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t fnv1a64(const uint8_t *p, size_t n, size_t skip_at, size_t skip_len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (i >= skip_at && i < skip_at + skip_len) ? (uint8_t)'0' : p[i];
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* ---- a strict JSON cursor over the header --------------------------------- */

typedef struct {
    const char *start, *p, *end;   /* the header bytes and the read position */
    char *why;
    size_t why_len;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int expect(cursor *c, char ch)
{
    skip_ws(c);
    if (c->p >= c->end || *c->p != ch)
        return fmd_reason(c->why, c->why_len, "header JSON: expected '%c' at header byte %ld", ch,
                        (long)(c->p - c->start));
    c->p++;
    return FMD_OK;
}

/* A JSON string, decoded to a fresh NUL-terminated UTF-8 copy. */
static int parse_string(cursor *c, char **out)
{
    *out = NULL;
    if (expect(c, '"') != FMD_OK)
        return FMD_EINVAL;
    size_t cap = 32, n = 0;
    char *s = malloc(cap);
    if (!s)
        return FMD_ENOMEM;
    while (1) {
        if (c->p >= c->end) {
            free(s);
            return fmd_reason(c->why, c->why_len, "header JSON: unterminated string");
        }
        unsigned char ch = (unsigned char)*c->p++;
        char enc[4];
        size_t m = 1;
        if (ch == '"')
            break;
        if (ch < 0x20) {
            free(s);
            return fmd_reason(c->why, c->why_len, "header JSON: control character in a string");
        }
        enc[0] = (char)ch;
        if (ch == '\\') {
            if (c->p >= c->end) {
                free(s);
                return fmd_reason(c->why, c->why_len, "header JSON: unterminated escape");
            }
            char e = *c->p++;
            const char *map = "\"\\/bfnrt", *rep = "\"\\/\b\f\n\r\t";
            const char *hit = e ? strchr(map, e) : NULL;
            if (hit) {
                enc[0] = rep[hit - map];
            } else if (e == 'u') {
                if (c->end - c->p < 4) {
                    free(s);
                    return fmd_reason(c->why, c->why_len, "header JSON: short \\u escape");
                }
                unsigned v = 0;
                for (int i = 0; i < 4; i++) {
                    char h = *c->p++;
                    v <<= 4;
                    if (h >= '0' && h <= '9') v |= (unsigned)(h - '0');
                    else if (h >= 'a' && h <= 'f') v |= (unsigned)(h - 'a' + 10);
                    else if (h >= 'A' && h <= 'F') v |= (unsigned)(h - 'A' + 10);
                    else {
                        free(s);
                        return fmd_reason(c->why, c->why_len, "header JSON: bad \\u escape");
                    }
                }
                if (v == 0 || (v >= 0xd800 && v <= 0xdfff)) {   /* no NUL, no lone surrogates */
                    free(s);
                    return fmd_reason(c->why, c->why_len, "header JSON: \\u%04x not allowed in a name", v);
                }
                if (v < 0x80) {
                    enc[0] = (char)v;
                } else if (v < 0x800) {
                    enc[0] = (char)(0xc0 | (v >> 6));
                    enc[1] = (char)(0x80 | (v & 0x3f));
                    m = 2;
                } else {
                    enc[0] = (char)(0xe0 | (v >> 12));
                    enc[1] = (char)(0x80 | ((v >> 6) & 0x3f));
                    enc[2] = (char)(0x80 | (v & 0x3f));
                    m = 3;
                }
            } else {
                free(s);
                return fmd_reason(c->why, c->why_len, "header JSON: unknown escape");
            }
        }
        if (n + m + 1 > cap) {
            cap *= 2;
            char *ns = realloc(s, cap);
            if (!ns) {
                free(s);
                return FMD_ENOMEM;
            }
            s = ns;
        }
        memcpy(s + n, enc, m);
        n += m;
    }
    s[n] = '\0';
    *out = s;
    return FMD_OK;
}

/* A non-negative integer without sign, fraction or exponent, <= 2^53. */
static int parse_uint(cursor *c, uint64_t *v)
{
    skip_ws(c);
    const char *start = c->p;
    uint64_t x = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        x = x * 10 + (uint64_t)(*c->p - '0');
        if (x > ((uint64_t)1 << 53))
            return fmd_reason(c->why, c->why_len, "header JSON: integer too large");
        c->p++;
    }
    if (c->p == start)
        return fmd_reason(c->why, c->why_len, "header JSON: expected a non-negative integer");
    if (c->p - start > 1 && *start == '0')
        return fmd_reason(c->why, c->why_len, "header JSON: leading zero in an integer");
    if (c->p < c->end && (*c->p == '.' || *c->p == 'e' || *c->p == 'E'))
        return fmd_reason(c->why, c->why_len, "header JSON: expected an integer, found a fraction");
    *v = x;
    return FMD_OK;
}

/* '[' uint (',' uint)* ']' into at most max values; *n = count. */
static int parse_uint_array(cursor *c, uint64_t *vals, size_t max, size_t *n)
{
    *n = 0;
    if (expect(c, '[') != FMD_OK)
        return FMD_EINVAL;
    skip_ws(c);
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        return FMD_OK;
    }
    while (1) {
        if (*n >= max)
            return fmd_reason(c->why, c->why_len, "header JSON: array longer than %zu", max);
        if (parse_uint(c, &vals[(*n)++]) != FMD_OK)
            return FMD_EINVAL;
        skip_ws(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        return expect(c, ']');
    }
}

/* 1 after a ',', 0 after the closing '}', -1 on error. */
static int next_member(cursor *c)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ',') {
        c->p++;
        return 1;
    }
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        return 0;
    }
    fmd_reason(c->why, c->why_len, "header JSON: expected ',' or '}'");
    return -1;
}

static int parse_tensor(cursor *c, fmd_st_tensor *t)
{
    if (expect(c, '{') != FMD_OK)
        return FMD_EINVAL;
    int have_dtype = 0, have_shape = 0, have_off = 0;
    while (1) {
        char *key = NULL;
        int status = parse_string(c, &key);
        if (status != FMD_OK)
            return status;
        if (expect(c, ':') != FMD_OK) {
            free(key);
            return FMD_EINVAL;
        }
        if (strcmp(key, "dtype") == 0 && !have_dtype) {
            char *dt = NULL;
            status = parse_string(c, &dt);
            if (status == FMD_OK && strcmp(dt, "F64") == 0)
                t->dtype = FMD_F64;
            else if (status == FMD_OK && strcmp(dt, "F32") == 0)
                t->dtype = FMD_F32;
            else if (status == FMD_OK)
                status = fmd_reason(c->why, c->why_len, "tensor '%s': dtype %s, only F64 and F32 are supported", t->name, dt);
            free(dt);
            have_dtype = 1;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            status = parse_uint_array(c, t->shape, FMD_ST_MAX_DIMS, &t->ndim);
            have_shape = 1;
        } else if (strcmp(key, "data_offsets") == 0 && !have_off) {
            uint64_t off[2];
            size_t n;
            status = parse_uint_array(c, off, 2, &n);
            if (status == FMD_OK && n != 2)
                status = fmd_reason(c->why, c->why_len, "tensor '%s': data_offsets needs 2 numbers", t->name);
            t->begin = off[0];
            t->end = off[1];
            have_off = 1;
        } else {
            status = fmd_reason(c->why, c->why_len, "tensor '%s': unexpected or repeated key '%s'", t->name, key);
        }
        free(key);
        if (status != FMD_OK)
            return status;
        int more = next_member(c);
        if (more < 0)
            return FMD_EINVAL;
        if (!more)
            break;
    }
    if (!have_dtype || !have_shape || !have_off)
        return fmd_reason(c->why, c->why_len, "tensor '%s': needs dtype, shape and data_offsets", t->name);
    return FMD_OK;
}

static int parse_metadata(cursor *c, fmd_st_file *f)
{
    if (expect(c, '{') != FMD_OK)
        return FMD_EINVAL;
    skip_ws(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        return FMD_OK;
    }
    while (1) {
        char *k = NULL, *v = NULL;
        int status = parse_string(c, &k);
        if (status == FMD_OK)
            status = expect(c, ':');
        if (status == FMD_OK)
            status = parse_string(c, &v);
        if (status == FMD_OK && fmd_st_meta(f, k))
            status = fmd_reason(c->why, c->why_len, "metadata key '%s' repeated", k);
        if (status == FMD_OK) {
            char **nk = realloc(f->meta_key, (f->nmeta + 1) * sizeof(char *));
            if (nk)
                f->meta_key = nk;
            char **nv = realloc(f->meta_value, (f->nmeta + 1) * sizeof(char *));
            if (nv)
                f->meta_value = nv;
            if (!nk || !nv)
                status = FMD_ENOMEM;
        }
        if (status != FMD_OK) {
            free(k);
            free(v);
            return status;
        }
        f->meta_key[f->nmeta] = k;
        f->meta_value[f->nmeta] = v;
        f->nmeta++;
        int more = next_member(c);
        if (more < 0)
            return FMD_EINVAL;
        if (!more)
            return FMD_OK;
    }
}

static int by_begin(const void *a, const void *b)
{
    const fmd_st_tensor *x = a, *y = b;
    return (x->begin > y->begin) - (x->begin < y->begin);
}

int fmd_st_parse(const uint8_t *buf, size_t len, fmd_st_file *f, char *why, size_t why_len)
{
    if (!f)
        return FMD_EINVAL;
    memset(f, 0, sizeof *f);
    if (!buf || len < 8)
        return fmd_reason(why, why_len, "file of %zu bytes is shorter than the 8-byte header length", len);
    uint64_t N = le64(buf);
    if (N < 2 || N > FMD_ST_MAX_HEADER) {
        /* text where the 8-byte length should be: most likely another kind of file */
        int text = 1;
        for (int i = 0; i < 8; i++)
            text = text && buf[i] >= 9 && buf[i] < 127;
        if (text)
            return fmd_reason(why, why_len, "not a safetensors file: it starts with text ('%.8s'); a model file starts "
                                            "with an 8-byte header length",
                              (const char *)buf);
        return fmd_reason(why, why_len, "header length %llu is outside [2, %u]", (unsigned long long)N, FMD_ST_MAX_HEADER);
    }
    if (N > len - 8)
        return fmd_reason(why, why_len, "header length %llu runs past the end of the %zu-byte file", (unsigned long long)N, len);
    cursor c = {(const char *)buf + 8, (const char *)buf + 8, (const char *)buf + 8 + N, why, why_len};
    if (*c.p != '{')
        return fmd_reason(why, why_len, "header does not start with '{'");
    int status = expect(&c, '{');
    size_t cap = 0;
    skip_ws(&c);
    int empty = c.p < c.end && *c.p == '}';
    if (empty)
        c.p++;
    while (status == FMD_OK && !empty) {
        char *key = NULL;
        status = parse_string(&c, &key);
        if (status == FMD_OK)
            status = expect(&c, ':');
        if (status == FMD_OK && strcmp(key, "__metadata__") == 0) {
            status = f->nmeta ? fmd_reason(why, why_len, "__metadata__ repeated") : parse_metadata(&c, f);
            free(key);
        } else if (status == FMD_OK) {
            if (fmd_st_find(f, key))
                status = fmd_reason(why, why_len, "tensor '%s' appears twice", key);
            if (status == FMD_OK && f->ntensors == cap) {
                cap = cap ? 2 * cap : 16;
                fmd_st_tensor *nt = realloc(f->tensors, cap * sizeof *nt);
                if (!nt)
                    status = FMD_ENOMEM;
                else
                    f->tensors = nt;
            }
            if (status == FMD_OK) {
                fmd_st_tensor *t = &f->tensors[f->ntensors++];
                memset(t, 0, sizeof *t);
                t->name = key;
                key = NULL;
                status = parse_tensor(&c, t);
            }
            free(key);
        } else {
            free(key);
        }
        if (status == FMD_OK) {
            int more = next_member(&c);
            if (more < 0)
                status = FMD_EINVAL;
            else if (!more)
                break;
        }
    }
    /* after the object: only the spaces the format pads with */
    for (const char *q = c.p; status == FMD_OK && q < c.end; q++)
        if (*q != ' ')
            status = fmd_reason(why, why_len, "header has trailing bytes after its JSON object");
    f->payload = buf + 8 + N;
    f->payload_len = len - 8 - (size_t)N;
    /* sizes and offsets: each tensor's bytes = (8 or 4) prod(shape), offsets contiguous from 0 */
    for (size_t i = 0; status == FMD_OK && i < f->ntensors; i++) {
        fmd_st_tensor *t = &f->tensors[i];
        uint64_t count = 1;
        for (size_t k = 0; k < t->ndim && status == FMD_OK; k++)
            if (t->shape[k] != 0 && count > UINT64_MAX / 8 / t->shape[k])
                status = fmd_reason(why, why_len, "tensor '%s': shape overflows", t->name);
            else
                count *= t->shape[k];
        const uint64_t size = fmd_dtype_size(t->dtype);
        if (status == FMD_OK && (t->end < t->begin || t->end - t->begin != size * count))
            status = fmd_reason(why, why_len, "tensor '%s': data_offsets [%llu, %llu] do not hold %llu numbers of %llu bytes",
                                t->name, (unsigned long long)t->begin, (unsigned long long)t->end,
                                (unsigned long long)count, (unsigned long long)size);
    }
    if (status == FMD_OK && f->ntensors) {
        qsort(f->tensors, f->ntensors, sizeof *f->tensors, by_begin);
        uint64_t at = 0;
        for (size_t i = 0; status == FMD_OK && i < f->ntensors; i++) {
            if (f->tensors[i].begin != at)
                status = fmd_reason(why, why_len, "tensor '%s' starts at %llu, expected %llu (offsets must be contiguous)",
                                  f->tensors[i].name, (unsigned long long)f->tensors[i].begin, (unsigned long long)at);
            at = f->tensors[i].end;
        }
        if (status == FMD_OK && at != f->payload_len)
            status = fmd_reason(why, why_len, "tensors cover %llu bytes but the payload has %zu", (unsigned long long)at, f->payload_len);
    } else if (status == FMD_OK && f->payload_len != 0) {
        status = fmd_reason(why, why_len, "no tensors, but %zu payload bytes", f->payload_len);
    }
    if (status != FMD_OK)
        fmd_st_free(f);
    return status;
}

void fmd_st_free(fmd_st_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->ntensors; i++)
        free(f->tensors[i].name);
    free(f->tensors);
    for (size_t i = 0; i < f->nmeta; i++) {
        free(f->meta_key[i]);
        free(f->meta_value[i]);
    }
    free(f->meta_key);
    free(f->meta_value);
    memset(f, 0, sizeof *f);
}

const fmd_st_tensor *fmd_st_find(const fmd_st_file *f, const char *name)
{
    for (size_t i = 0; f && name && i < f->ntensors; i++)
        if (f->tensors[i].name && strcmp(f->tensors[i].name, name) == 0)
            return &f->tensors[i];
    return NULL;
}

const char *fmd_st_meta(const fmd_st_file *f, const char *key)
{
    for (size_t i = 0; f && key && i < f->nmeta; i++)
        if (strcmp(f->meta_key[i], key) == 0)
            return f->meta_value[i];
    return NULL;
}

/* ---- writer and checksum -------------------------------------------------- */

static const char checksum_key[] = "\"fmd_checksum_fnv1a64\":\"";

/* Offset of the 16 checksum digits in buf (inside the header), or 0 if absent. */
static size_t checksum_at(const uint8_t *buf, size_t len)
{
    if (len < 8)
        return 0;
    uint64_t N = le64(buf);
    if (N > len - 8)
        return 0;
    size_t klen = sizeof checksum_key - 1;
    for (size_t i = 8; i + klen + 17 <= 8 + N; i++)
        if (memcmp(buf + i, checksum_key, klen) == 0 && buf[i + klen + 16] == '"')
            return i + klen;
    return 0;
}

int fmd_st_checksum_ok(const uint8_t *buf, size_t len, const fmd_st_file *f)
{
    const char *v = fmd_st_meta(f, "fmd_checksum_fnv1a64");
    size_t at = checksum_at(buf, len);
    if (!v || strlen(v) != 16 || !at)
        return 0;
    char want[17];
    snprintf(want, sizeof want, "%016llx", (unsigned long long)fnv1a64(buf, len, at, 16));
    return memcmp(buf + at, want, 16) == 0 && strcmp(v, want) == 0;
}

int fmd_st_write(const char *path, const fmd_st_out *t, size_t nt, const char *const *meta, size_t nmeta)
{
    if (!path || (!t && nt))
        return FMD_EINVAL;
    /* header JSON */
    size_t cap = 4096 + nmeta * 256 + nt * 256;
    for (size_t i = 0; i < nmeta; i++)
        cap += strlen(meta[2 * i]) + strlen(meta[2 * i + 1]);
    char *h = malloc(cap);
    if (!h)
        return FMD_ENOMEM;
    size_t n = 0;
    n += (size_t)snprintf(h + n, cap - n, "{\"__metadata__\":{");
    for (size_t i = 0; i < nmeta; i++)
        n += (size_t)snprintf(h + n, cap - n, "\"%s\":\"%s\",", meta[2 * i], meta[2 * i + 1]);
    n += (size_t)snprintf(h + n, cap - n, "%s0000000000000000\"}", checksum_key);
    uint64_t off = 0;
    for (size_t i = 0; i < nt; i++) {
        uint64_t count = 1;
        n += (size_t)snprintf(h + n, cap - n, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", t[i].name,
                              t[i].dtype == FMD_F32 ? "F32" : "F64");
        for (size_t k = 0; k < t[i].ndim; k++) {
            n += (size_t)snprintf(h + n, cap - n, "%s%llu", k ? "," : "", (unsigned long long)t[i].shape[k]);
            count *= t[i].shape[k];
        }
        const uint64_t size = fmd_dtype_size(t[i].dtype);
        n += (size_t)snprintf(h + n, cap - n, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                              (unsigned long long)(off + size * count));
        off += size * count;
    }
    n += (size_t)snprintf(h + n, cap - n, "}");
    while ((8 + n) % 8 != 0)   /* pad with spaces: the payload starts 8-byte aligned */
        h[n++] = ' ';
    /* the whole file in memory, then the checksum over it */
    size_t total = 8 + n + (size_t)off;
    uint8_t *buf = malloc(total);
    if (!buf) {
        free(h);
        return FMD_ENOMEM;
    }
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)((uint64_t)n >> (8 * i));   /* little-endian header length */
    memcpy(buf + 8, h, n);
    free(h);
    uint8_t *p = buf + 8 + n;
    for (size_t i = 0; i < nt; i++) {
        uint64_t count = 1;
        for (size_t k = 0; k < t[i].ndim; k++)
            count *= t[i].shape[k];
        const size_t size = fmd_dtype_size(t[i].dtype);
        for (uint64_t j = 0; j < count; j++) {   /* little-endian IEEE numbers, whatever the host */
            uint64_t bits = 0;
            if (size == 8) {
                memcpy(&bits, (const double *)t[i].data + j, 8);
            } else {
                uint32_t b32;
                memcpy(&b32, (const float *)t[i].data + j, 4);
                bits = b32;
            }
            for (size_t b = 0; b < size; b++)
                *p++ = (uint8_t)(bits >> (8 * b));
        }
    }
    size_t at = checksum_at(buf, total);
    char digits[17];
    snprintf(digits, sizeof digits, "%016llx", (unsigned long long)fnv1a64(buf, total, at, 16));
    memcpy(buf + at, digits, 16);
    fmd_atomic_file f;
    int status = fmd_atomic_open(path, &f);
    if (status == FMD_OK) {
        if (fwrite(buf, 1, total, f.fp) != total) {
            fmd_atomic_abort(&f);
            status = FMD_EIO;
        } else {
            status = fmd_atomic_commit(&f);
        }
    }
    free(buf);
    return status;
}
