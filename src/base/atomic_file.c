/* atomic_file.c -- temporary file + rename. */
#include "base/atomic_file.h"
#include "base/status.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fmd_atomic_open(const char *path, fmd_atomic_file *f)
{
    if (!path || !*path || !f)
        return FMD_EINVAL;
    memset(f, 0, sizeof *f);
    size_t len = strlen(path);
    f->path = malloc(len + 1);
    f->tmp_path = malloc(len + 16);
    if (!f->path || !f->tmp_path) {
        fmd_atomic_abort(f);
        return FMD_ENOMEM;
    }
    memcpy(f->path, path, len + 1);
    /* "<path>.tmpXXXXXX" lives in the same directory, so rename is atomic */
    snprintf(f->tmp_path, len + 16, "%s.tmpXXXXXX", path);
    int fd = mkstemp(f->tmp_path);
    if (fd < 0) {
        free(f->tmp_path);
        f->tmp_path = NULL;
        fmd_atomic_abort(f);
        return FMD_EIO;
    }
    /* mkstemp makes the file 0600; results are for everyone to read */
    if (fchmod(fd, 0644) != 0) {
        close(fd);
        fmd_atomic_abort(f);
        return FMD_EIO;
    }
    f->fp = fdopen(fd, "w");
    if (!f->fp) {
        close(fd);
        fmd_atomic_abort(f);
        return FMD_EIO;
    }
    return FMD_OK;
}

int fmd_atomic_commit(fmd_atomic_file *f)
{
    if (!f || !f->fp)
        return FMD_EINVAL;
    int ok = fflush(f->fp) == 0 && !ferror(f->fp) && fsync(fileno(f->fp)) == 0;
    ok = (fclose(f->fp) == 0) && ok;
    f->fp = NULL;
    if (ok)
        ok = rename(f->tmp_path, f->path) == 0;
    if (!ok) {
        fmd_atomic_abort(f);
        return FMD_EIO;
    }
    free(f->path);
    free(f->tmp_path);
    f->path = f->tmp_path = NULL;
    return FMD_OK;
}

void fmd_atomic_abort(fmd_atomic_file *f)
{
    if (!f)
        return;
    if (f->fp)
        fclose(f->fp);
    if (f->tmp_path)
        unlink(f->tmp_path);
    free(f->path);
    free(f->tmp_path);
    memset(f, 0, sizeof *f);
}
