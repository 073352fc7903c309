/* status.h -- the status codes every fmd function returns.
 *
 * Promise: no library function aborts or exits. Each returns FMD_OK or one of
 * the codes below, and fmd_strerror() turns a code into one line of English.
 * GSL's own error handler (which calls abort()) is switched off the first time
 * any fmd function that calls GSL runs; see fmd_gsl_quiet(). */
#ifndef FMD_STATUS_H
#define FMD_STATUS_H

#include <stddef.h>

enum {
    FMD_OK = 0,
    FMD_EINVAL,      /* a bad argument: NULL pointer, n = 0, d = 0, ... */
    FMD_EDOM,        /* a non-finite number where a finite one is needed */
    FMD_EGRID,       /* a time grid that is not strictly monotone */
    FMD_ENOMEM,      /* an allocation failed */
    FMD_EMAXSTEP,    /* the adaptive driver hit its maximum step count */
    FMD_ESTEP,       /* the adaptive step size underflowed (h < 16 eps |t|) */
    FMD_EFIELD,      /* a vector field reported failure */
    FMD_EGSL,        /* a GSL routine returned an error */
    FMD_EIO,         /* reading or writing a file failed */
    FMD_ECOV,        /* a covariance matrix is not symmetric positive definite */
    FMD_NSTATUS
};

/* One line describing a status code; never NULL. */
const char *fmd_strerror(int status);

/* Write a reason into why (why_len bytes, may be NULL) and return FMD_EINVAL:
 * the loaders' one way of saying what is wrong with a file. */
int fmd_reason(char *why, size_t why_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Turn GSL's abort-on-error handler off, once per process (thread-safe). */
void fmd_gsl_quiet(void);

#endif
