/* atomic_file.h -- write a file completely or not at all.
 *
 * Promise: output goes to a temporary file in the same directory; only
 * fmd_atomic_commit() -- after a successful flush and fsync -- renames it to
 * its final name, so a reader never sees half a file and a failed run leaves
 * no partial output behind. */
#ifndef FMD_ATOMIC_FILE_H
#define FMD_ATOMIC_FILE_H

#include <stdio.h>

typedef struct {
    FILE *fp;          /* write here */
    char *path;        /* final name */
    char *tmp_path;    /* temporary name in the same directory */
} fmd_atomic_file;

int fmd_atomic_open(const char *path, fmd_atomic_file *f);
/* Flush, fsync, close and rename; on any failure remove the temporary file. */
int fmd_atomic_commit(fmd_atomic_file *f);
/* Close and remove the temporary file; the final name is untouched. */
void fmd_atomic_abort(fmd_atomic_file *f);

#endif
