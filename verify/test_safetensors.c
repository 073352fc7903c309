/* test_safetensors.c -- chapter 4: the checkpoint layout, written and read
 * strictly; every truncation and single-byte change of a file is rejected. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fmd.h"
#include "corpus.h"

/* a sample file: two tensors and metadata */
static uint8_t *sample(size_t *len)
{
    static const double w[6] = {1.5, -2.25, 3.0, 0.125, -7.0, 1e-300}, b[3] = {0.1, 0.2, 0.3};
    fmd_st_out t[2] = {{"net.0.W", 2, {2, 3}, w, FMD_F64}, {"net.0.b", 1, {3}, b, FMD_F64}};
    const char *meta[] = {"schedule", "condot", "steps", "5000"};
    char path[] = "/tmp/fmd-st-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    cr_assert_eq(fmd_st_write(path, t, 2, meta, 2), FMD_OK);
    uint8_t *buf = corpus_slurp(path, len);
    unlink(path);
    return buf;
}

Test(safetensors, round_trip_keeps_every_bit)
{
    size_t len;
    uint8_t *buf = sample(&len);
    cr_expect(len % 8 == 0, "payload is not 8-byte aligned: file of %zu bytes", len);
    fmd_st_file f;
    char why[256];
    cr_assert_eq(fmd_st_parse(buf, len, &f, why, sizeof why), FMD_OK, "%s", why);
    cr_expect(fmd_st_checksum_ok(buf, len, &f));
    const fmd_st_tensor *W = fmd_st_find(&f, "net.0.W"), *b = fmd_st_find(&f, "net.0.b");
    cr_assert(W && b);
    cr_expect(W->ndim == 2 && W->shape[0] == 2 && W->shape[1] == 3 && b->ndim == 1 && b->shape[0] == 3);
    double w[6];
    memcpy(w, f.payload + W->begin, sizeof w);   /* little-endian host */
    cr_expect(w[1] == -2.25 && w[5] == 1e-300);
    cr_expect_str_eq(fmd_st_meta(&f, "schedule"), "condot");
    /* the header is plain JSON that starts right after the 8-byte length */
    cr_expect(buf[8] == '{');
    fmd_st_free(&f);
    free(buf);
}

static int parse_text(const char *header, const uint8_t *payload, size_t plen, char *why)
{
    size_t n = strlen(header), len = 8 + n + plen;
    uint8_t *buf = malloc(len);
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)((uint64_t)n >> (8 * i));
    memcpy(buf + 8, header, n);
    memcpy(buf + 8 + n, payload, plen);
    fmd_st_file f;
    int status = fmd_st_parse(buf, len, &f, why, 256);
    if (status == FMD_OK)
        fmd_st_free(&f);
    free(buf);
    return status;
}

Test(safetensors, rejects_malformed_headers_with_a_reason)
{
    static const uint8_t pay[16] = {0};
    static const struct { const char *header; size_t plen; const char *word; } cases[] = {
        {"{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "only F64 and F32"},
        {"{\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "do not hold"},
        {"{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[8,16]}}", 16, "contiguous"},
        {"{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 16, "payload has"},
        {"{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]},\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[8,16]}}", 16, "twice"},
        {"{\"a\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,8]}}", 8, "overflow"},
        {"{\"a\":{\"dtype\":\"F64\",\"shape\":[1.5],\"data_offsets\":[0,8]}}", 8, "fraction"},
        {"{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8],\"x\":1}}", 8, "unexpected"},
        {"{\"a\":{\"dtype\":\"F64\",\"shape\":[1]}}", 8, "needs dtype"},
        {"{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}} x", 8, "trailing"},
        {"[1,2]", 0, "start with"},
        {"{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}", 8, "expected"},
        {"{\"__metadata__\":{\"k\":1}}", 0, "expected '\"'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char why[256] = "";
        int status = parse_text(cases[i].header, pay, cases[i].plen, why);
        cr_expect_eq(status, FMD_EINVAL, "case %zu accepted: %s", i, cases[i].header);
        cr_expect(strstr(why, cases[i].word) != NULL, "case %zu: reason '%s' lacks '%s'", i, why, cases[i].word);
    }
    char why[256] = "";
    uint8_t tiny[8] = {255, 255, 255, 255, 255, 255, 255, 255};
    fmd_st_file f;
    cr_expect_eq(fmd_st_parse(tiny, 8, &f, why, sizeof why), FMD_EINVAL);
    cr_expect(strstr(why, "header length") != NULL, "%s", why);
}

/* Every truncation, and every single-byte change (to each of several
 * values), of the sample file is rejected: by the reader, or by the
 * checksum over the whole file. */
Test(safetensors, every_truncation_and_byte_change_is_rejected)
{
    size_t len;
    uint8_t *buf = sample(&len);
    uint8_t *copy = malloc(len);
    uint64_t N = 0;   /* the header's length, from its first 8 bytes (little-endian) */
    for (int i = 7; i >= 0; i--)
        N = N << 8 | buf[i];
    for (size_t cut = 0; cut < len; cut++) {
        /* each truncation in a buffer of exactly cut bytes, so a read past
         * the end leaves the allocation (AddressSanitizer reports it) */
        uint8_t *exact = malloc(cut ? cut : 1);
        memcpy(exact, buf, cut);
        fmd_st_file f;
        char why[256] = "";
        const int status = fmd_st_parse(exact, cut, &f, why, sizeof why);
        if (cut >= 8 && cut < 8 + N)   /* the header itself is cut: say so before reading it */
            cr_expect(status != FMD_OK && strstr(why, "runs past the end") != NULL,
                      "truncation to %zu bytes inside the %llu-byte header: '%s'", cut, (unsigned long long)N, why);
        if (status == FMD_OK) {
            cr_expect(!fmd_st_checksum_ok(exact, cut, &f), "truncation to %zu bytes accepted", cut);
            fmd_st_free(&f);
        }
        free(exact);
    }
    const uint8_t subs[] = {0x00, 0x01, 0x20, '"', '0', '9', 'a', 'z', '{', 0x7f, 0x80, 0xff};
    for (size_t pos = 0; pos < len; pos++)
        for (size_t s = 0; s < sizeof subs; s++) {
            if (buf[pos] == subs[s])
                continue;
            memcpy(copy, buf, len);
            copy[pos] = subs[s];
            fmd_st_file f;
            char why[256];
            if (fmd_st_parse(copy, len, &f, why, sizeof why) == FMD_OK) {
                cr_expect(!fmd_st_checksum_ok(copy, len, &f), "byte %zu changed to 0x%02x accepted", pos, subs[s]);
                fmd_st_free(&f);
            }
        }
    free(copy);
    free(buf);
}

static void st_file(const char *path, unsigned char *b, size_t len, void *ctx)
{
    (void)ctx;
    fmd_st_file f;
    char why[256] = "";
    if (fmd_st_parse(b, len, &f, why, sizeof why) == FMD_OK)
        fmd_st_free(&f);
    else
        cr_expect(why[0] != '\0', "%s: rejected without a reason", path);
}

Test(safetensors, replays_fuzz_corpus_without_crashing)
{
    const int files = corpus_each("verify/fuzz/corpus/safetensors", st_file, NULL);
    cr_expect(files >= 3, "corpus has %d files", files);
}
