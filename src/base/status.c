/* status.c -- status strings, and GSL's error handler switched off once. */
#include "base/status.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <gsl/gsl_errno.h>

const char *fmd_strerror(int status)
{
    switch (status) {
    case FMD_OK:       return "success";
    case FMD_EINVAL:   return "invalid argument (NULL pointer, zero size or out-of-range value)";
    case FMD_EDOM:     return "non-finite number (NaN or infinity) where a finite one is required";
    case FMD_EGRID:    return "time grid is not strictly monotone";
    case FMD_ENOMEM:   return "out of memory";
    case FMD_EMAXSTEP: return "adaptive solver reached its maximum number of steps";
    case FMD_ESTEP:    return "adaptive step size underflowed (solution too stiff or singular)";
    case FMD_EFIELD:   return "the vector field reported a failure";
    case FMD_EGSL:     return "a GSL routine reported an error";
    case FMD_EIO:      return "input/output error";
    case FMD_ECOV:     return "covariance matrix is not symmetric positive definite";
    default:           return "unknown status code";
    }
}

static pthread_once_t gsl_quiet_once = PTHREAD_ONCE_INIT;

static void gsl_quiet_init(void)
{
    gsl_set_error_handler_off();
}

void fmd_gsl_quiet(void)
{
    pthread_once(&gsl_quiet_once, gsl_quiet_init);
}

int fmd_reason(char *why, size_t why_len, const char *fmt, ...)
{
    if (why && why_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return FMD_EINVAL;
}
