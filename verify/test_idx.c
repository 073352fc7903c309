/* test_idx.c -- chapter 5's data: the IDX reader and Fashion-MNIST. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "fmd.h"
#include "corpus.h"

/* an IDX file of unsigned bytes: sizes dims[0..n-1], then body */
static size_t make_idx(unsigned char *buf, size_t n, const unsigned *dims, const unsigned char *body, size_t blen)
{
    buf[0] = buf[1] = 0, buf[2] = 8, buf[3] = (unsigned char)n;
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 4; b++)
            buf[4 + 4 * i + b] = (unsigned char)(dims[i] >> (24 - 8 * b));
    memcpy(buf + 4 + 4 * n, body, blen);
    return 4 + 4 * n + blen;
}

Test(idx, parses_a_valid_file_and_rejects_every_truncation)
{
    unsigned char buf[64], body[12];
    for (int i = 0; i < 12; i++)
        body[i] = (unsigned char)(20 * i);
    const unsigned dims[3] = {2, 3, 2};
    size_t len = make_idx(buf, 3, dims, body, 12);
    fmd_idx f;
    char why[256];
    cr_assert_eq(fmd_idx_parse(buf, len, &f, why, sizeof why), FMD_OK, "%s", why);
    cr_expect(f.ndim == 3 && f.dims[0] == 2 && f.dims[1] == 3 && f.dims[2] == 2 && f.count == 12);
    cr_expect(f.data == buf + 16 && f.data[11] == 220);
    for (size_t cut = 0; cut < len; cut++) {   /* every proper prefix */
        why[0] = '\0';
        cr_expect_neq(fmd_idx_parse(buf, cut, &f, why, sizeof why), FMD_OK, "prefix of %zu bytes accepted", cut);
        cr_expect(why[0] != '\0', "prefix of %zu bytes rejected without a reason", cut);
    }
    buf[len] = 7;   /* one trailing byte */
    cr_expect_neq(fmd_idx_parse(buf, len + 1, &f, why, sizeof why), FMD_OK);
    cr_expect(strstr(why, "trailing") != NULL, "%s", why);
}

/* Each malformed header: rejected, with a reason naming it. */
Test(idx, rejects_each_malformed_header_with_a_reason)
{
    static const struct { unsigned char head[12]; size_t len; const char *word; } cases[] = {
        {{1, 0, 8, 1, 0, 0, 0, 1, 5}, 9, "magic"},
        {{0, 0, 0x0d, 1, 0, 0, 0, 1, 5}, 9, "element type"},
        {{0, 0, 8, 0}, 4, "dimensions"},
        {{0, 0, 8, 5}, 4, "dimensions"},
        {{0, 0, 8, 2, 0, 0, 0, 1}, 8, "header"},
        {{0, 0, 8, 1, 0, 0, 0, 0}, 8, "is 0"},
        {{0, 0, 8, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 12, "multiply"},
        {{0, 0, 8, 1, 0, 0, 0, 4, 1, 2}, 10, "truncated"},
        {{0, 0}, 2, "shorter"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fmd_idx f;
        char why[256] = "";
        cr_expect_neq(fmd_idx_parse(cases[i].head, cases[i].len, &f, why, sizeof why), FMD_OK, "case %zu accepted", i);
        cr_expect(strstr(why, cases[i].word) != NULL, "case %zu: reason '%s' does not say '%s'", i, why, cases[i].word);
    }
}

/* one corpus file, and every single-byte change of it */
static void idx_file(const char *path, unsigned char *b, size_t len, void *ctx)
{
    (void)ctx;
    for (size_t i = 0; i <= len; i++)
        for (int v = 0; v < 256; v += 51) {
            unsigned char keep = i < len ? b[i] : 0;
            if (i < len)
                b[i] = (unsigned char)v;
            fmd_idx f;
            char why[256] = "";
            if (fmd_idx_parse(b, len, &f, why, sizeof why) == FMD_OK)
                cr_expect(f.data + f.count == b + len, "%s: accepted data do not end the file", path);
            else
                cr_expect(why[0] != '\0', "%s: rejected without a reason", path);
            if (i < len)
                b[i] = keep;
        }
}

/* the fuzz corpus, and every single-byte change of each of its files */
Test(idx, replays_fuzz_corpus_and_byte_changes_without_crashing)
{
    const int files = corpus_each("verify/fuzz/corpus/idx", idx_file, NULL);
    cr_expect(files >= 5, "corpus has %d files", files);
}

/* gzip through zlib: a compressed file reads back; the same stream cut short
 * is refused as corrupt, not read as a short file. */
Test(idx, gzip_files_and_truncated_streams)
{
    char path[128], cut[128];
    snprintf(path, sizeof path, "/tmp/fmd-idx-%d.gz", (int)getpid());
    snprintf(cut, sizeof cut, "/tmp/fmd-idx-cut-%d.gz", (int)getpid());
    unsigned char buf[4096], body[4000];
    for (int i = 0; i < 4000; i++)
        body[i] = (unsigned char)((i * 7919) % 251);
    const unsigned dims[2] = {40, 100};
    size_t len = make_idx(buf, 2, dims, body, 4000);
    gzFile g = gzopen(path, "wb");
    cr_assert_not_null(g);
    cr_assert_eq(gzwrite(g, buf, (unsigned)len), (int)len);
    gzclose(g);
    unsigned char *rb;
    size_t rl;
    char why[256] = "";
    cr_assert_eq(fmd_idx_read_file(path, &rb, &rl, why, sizeof why), FMD_OK, "%s", why);
    cr_expect(rl == len && memcmp(rb, buf, len) == 0);
    free(rb);
    size_t glen;
    unsigned char *gz = corpus_slurp(path, &glen);
    FILE *f = fopen(cut, "wb");
    fwrite(gz, 1, glen / 2, f);
    fclose(f);
    why[0] = '\0';
    cr_expect_neq(fmd_idx_read_file(cut, &rb, &rl, why, sizeof why), FMD_OK, "a gzip stream cut in half was accepted");
    cr_expect(why[0] != '\0');
    free(gz);
    unlink(path);
    unlink(cut);
    cr_expect_neq(fmd_idx_read_file("/nonexistent/x.gz", &rb, &rl, why, sizeof why), FMD_OK);
    cr_expect(strstr(why, "cannot open") != NULL, "%s", why);
}

/* Images and labels must agree: counts, dimensions, labels in range. */
Test(idx, image_and_label_files_must_agree)
{
    char im[128], lb[128];
    snprintf(im, sizeof im, "/tmp/fmd-idx-im-%d", (int)getpid());
    snprintf(lb, sizeof lb, "/tmp/fmd-idx-lb-%d", (int)getpid());
    unsigned char buf[256], px[2 * 2 * 3] = {0, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
    const unsigned idims[3] = {3, 2, 2}, ldims[1] = {3};
    unsigned char labels[3] = {1, 0, 9};
    FILE *f = fopen(im, "wb");
    fwrite(buf, 1, make_idx(buf, 3, idims, px, 12), f);
    fclose(f);
    f = fopen(lb, "wb");
    fwrite(buf, 1, make_idx(buf, 1, ldims, labels, 3), f);
    fclose(f);
    fmd_image_set s;
    char why[256];
    cr_assert_eq(fmd_image_set_load(im, lb, 10, &s, why, sizeof why), FMD_OK, "%s", why);
    cr_expect(s.n == 3 && s.rows == 2 && s.cols == 2 && s.y[2] == 9);
    cr_expect(s.x[0] == -1.0 && s.x[1] == 1.0, "pixels 0 and 255 map to -1 and 1: %g %g", s.x[0], s.x[1]);
    fmd_image_set_free(&s);
    cr_expect_neq(fmd_image_set_load(im, lb, 9, &s, why, sizeof why), FMD_OK);
    cr_expect(strstr(why, "not below 9") != NULL, "%s", why);
    cr_expect_neq(fmd_image_set_load(lb, lb, 10, &s, why, sizeof why), FMD_OK);
    cr_expect(strstr(why, "an image file has 3") != NULL, "%s", why);
    const unsigned ldims2[1] = {2};
    f = fopen(lb, "wb");
    fwrite(buf, 1, make_idx(buf, 1, ldims2, labels, 2), f);
    fclose(f);
    cr_expect_neq(fmd_image_set_load(im, lb, 10, &s, why, sizeof why), FMD_OK);
    cr_expect(strstr(why, "3 images") != NULL, "%s", why);
    unlink(im);
    unlink(lb);
}

/* Debian's dataset-fashion-mnist: 60000 training and 10000 test images of
 * 28 x 28 pixels, each class exactly 6000 and 1000 times (the published
 * balance of the data set, a check of the reader on the real files). */
Test(idx, fashion_mnist_loads_with_its_published_shape)
{
    for (int train = 0; train < 2; train++) {
        fmd_image_set s;
        char why[256];
        cr_assert_eq(fmd_fmnist_load(NULL, train, &s, why, sizeof why), FMD_OK, "%s", why);
        cr_expect_eq(s.n, train ? 60000u : 10000u);
        int count[10] = {0};
        double lo = 1, hi = -1;
        for (size_t i = 0; i < s.n; i++)
            count[s.y[i]]++;
        for (size_t i = 0; i < s.n * 784; i++)
            lo = s.x[i] < lo ? s.x[i] : lo, hi = s.x[i] > hi ? s.x[i] : hi;
        for (int c = 0; c < 10; c++)
            cr_expect_eq(count[c], train ? 6000 : 1000, "class %d (%s): %d items", c, fmd_fmnist_classes[c], count[c]);
        cr_expect(lo == -1.0 && hi == 1.0, "pixel range [%g, %g]", lo, hi);
        fmd_image_set_free(&s);
    }
}
