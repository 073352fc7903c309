/* kept.c -- kept files and the keys beside them (kept.h). */
#include "files/kept.h"

#include "base/atomic_file.h"
#include "base/matmul.h"
#include "files/report.h"
#include "base/status.h"
#include "base/vecmath.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

void fmd_kept_key(char *key, size_t len, const char *code, const char *options)
{
    snprintf(key, len, "code=%s blis=%s vecmath=%s %s", code && *code ? code : "none", fmd_matmul_kernels(),
             fmd_vecmath_isa(), options ? options : "");
}

static int path_of(const char *name, const char *suffix, char *path, size_t len)
{
    return snprintf(path, len, "%s/%s%s", fmd_data_dir(), name, suffix) < (int)len;
}

int fmd_kept_valid(const char *name, const char *key)
{
    char path[4096], line[1024];
    if (strncmp(key, "code=none", 9) == 0 || !path_of(name, "", path, sizeof path) || access(path, R_OK) != 0 ||
        !path_of(name, ".key", path, sizeof path))
        return 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    const int ok = fgets(line, sizeof line, f) != NULL && strcspn(line, "\n") == strlen(key) &&
                   strncmp(line, key, strlen(key)) == 0;
    fclose(f);
    return ok;
}

void fmd_kept_forget(const char *name)
{
    char path[4096];
    if (path_of(name, ".key", path, sizeof path))
        unlink(path);
}

int fmd_kept_stamp(const char *name, const char *key)
{
    char path[4096];
    if (!path_of(name, ".key", path, sizeof path))
        return FMD_EINVAL;
    fmd_atomic_file f;
    int status = fmd_atomic_open(path, &f);
    if (status != FMD_OK)
        return status;
    fprintf(f.fp, "%s\n", key);
    return fmd_atomic_commit(&f);
}
