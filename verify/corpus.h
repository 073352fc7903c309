/* corpus.h -- the suite's replay of a fuzz corpus (verify/fuzz/corpus/NAME,
 * the seeds `make fuzz` starts from): every file of a directory, read
 * whole, handed to a parser test (test_idx.c, test_safetensors.c, test_gmm_file.c,
 * test_unet.c). */
#ifndef FMD_VERIFY_CORPUS_H
#define FMD_VERIFY_CORPUS_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

/* path's bytes, whole (*len of them; free the result). */
static inline unsigned char *corpus_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    const long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    *len = size > 0 ? (size_t)size : 0;
    unsigned char *b = malloc(*len + 1);
    cr_assert_not_null(b);
    cr_assert_eq(fread(b, 1, *len, f), *len, "cannot read %s", path);
    fclose(f);
    return b;
}

/* fn(path, its bytes, their length, ctx) for every file of dir but dot
 * files (fn may change the bytes; they are freed after); returns how many.
 * The suite runs from the repository root, where dir is. */
typedef void (*corpus_fn)(const char *path, unsigned char *bytes, size_t len, void *ctx);

static inline int corpus_each(const char *dir, corpus_fn fn, void *ctx)
{
    DIR *dp = opendir(dir);
    cr_assert_not_null(dp, "cannot open %s (run the suite from the repository root)", dir);
    struct dirent *de;
    int files = 0;
    while ((de = readdir(dp))) {
        if (de->d_name[0] == '.')
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        size_t len;
        unsigned char *b = corpus_slurp(path, &len);
        fn(path, b, len, ctx);
        free(b);
        files++;
    }
    closedir(dp);
    return files;
}

#endif
