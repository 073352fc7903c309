/* cmd_version.c -- `fmd version`: what this build is and runs on. */
#include "cli/cli.h"
#include "fmd.h"
#include "base/vecmath.h"

#include <stdio.h>
#include <gsl/gsl_version.h>

int fmd_cmd_version(int argc, char **argv)
{
    int status = fmd_cli_no_arguments("version", argc, argv,
                              "usage: fmd version\nPrint the version of fmd and of GSL it uses, the threads the\n"
                              "commands run on by default, the vector instructions exp runs on and the\n"
                              "kernels BLIS runs the products on.\n");
    if (status >= 0)
        return status;
    printf("fmd %s (GSL %s)\n", FMD_VERSION, GSL_VERSION);
    printf("threads: %d (default of --threads: FMD_THREADS if set, else the CPUs this process may use: %d)\n",
           fmd_cli_default_threads(), fmd_cpus_available());
    printf("vector math: SLEEF, %s\n", fmd_vecmath_isa());
    printf("products: BLIS, %s kernels%s\n", fmd_matmul_kernels(),
           fmd_matmul_kernels_chosen_by_fmd() ? " (chosen by fmd: BLIS 0.9 does not know this CPU)" : "");
    return 0;
}
