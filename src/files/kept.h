/* kept.h -- what a chapter keeps between runs (trained models, measured
 * tables), keyed by everything that made it.
 *
 * Promise: a kept file NAME in the data directory (fmd_data_dir) is reused
 * only if NAME.key beside it holds the very key the asking run computes:
 *   - the code: a hash of the sources that compute it -- the library's and
 *     the chapter program's, the compiler's version and its flags -- which
 *     the build passes to the chapter programs as FMD_CODE_KEY;
 *   - the options of the run that made it, its seed among them;
 *   - the kernels this machine runs: BLIS's (fmd_matmul_kernels) and
 *     SLEEF's (fmd_vecmath_isa), whose last bits differ between machines.
 * So a reused file is bit for bit what a fresh run would compute here, and a
 * change of code, option or machine makes the chapter train or measure
 * again. The key is written after the file it describes (and removed before
 * the file is rewritten), so a run interrupted in between leaves a file with
 * no key, which is never reused. A program built without a code key
 * (FMD_CODE_KEY empty) reuses nothing. */
#ifndef FMD_KEPT_H
#define FMD_KEPT_H

#include <stddef.h>

/* The key of a file made by `code` with `options` on this machine, one line:
 * "code=... blis=... vecmath=... options". */
void fmd_kept_key(char *key, size_t len, const char *code, const char *options);

/* 1 if NAME and NAME.key exist in the data directory and NAME.key holds
 * `key` exactly; 0 otherwise (missing, stale, unreadable, or no code key). */
int fmd_kept_valid(const char *name, const char *key);

/* Before rewriting NAME: remove NAME.key, so a file half-replaced is never
 * taken for the old one. */
void fmd_kept_forget(const char *name);

/* After NAME is written in full: write NAME.key (atomically). FMD_OK or
 * the error of writing it. */
int fmd_kept_stamp(const char *name, const char *key);

#endif
