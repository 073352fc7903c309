/* cmd_info.c -- `fmd version` and `fmd steppers`: what this build offers. */
#include "cli.h"
#include "fmd.h"
#include "vecmath.h"

#include <stdio.h>
#include <gsl/gsl_version.h>

static int no_arguments(const char *cmd, int argc, char **argv, const char *usage)
{
    if (argc > 1) {
        if (fmd_cli_is_help(argv[1])) {
            printf("%s", usage);
            return 0;
        }
        return fmd_cli_usage_error(cmd, "Run 'fmd help' for usage.", "unexpected argument '%s'",
                                   argv[1]);
    }
    return -1;
}

int fmd_cmd_version(int argc, char **argv)
{
    int status = no_arguments("version", argc, argv,
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

int fmd_cmd_steppers(int argc, char **argv)
{
    int status = no_arguments("steppers", argc, argv,
                              "usage: fmd steppers\nList the ODE and SDE steppers with their orders.\n");
    if (status >= 0)
        return status;
    printf("ODE steppers (dX = u_t(X) dt):\n");
    for (size_t i = 0; fmd_ode_steppers[i]; i++) {
        const fmd_ode_stepper_type *T = fmd_ode_steppers[i];
        printf("  %-10s order %d, %d stages%s%s\n", T->name, T->order, T->stages,
               T->e ? ", embedded error estimate (adaptive)" : "", T->fsal ? ", FSAL" : "");
    }
    printf("SDE steppers (dX = u_t(X) dt + sigma_t dW):\n");
    for (size_t i = 0; fmd_sde_steppers[i]; i++) {
        const fmd_sde_stepper_type *T = fmd_sde_steppers[i];
        printf("  %-10s strong order %.1f, weak order %.1f (additive noise), %d drift evaluations\n",
               T->name, T->strong_order, T->weak_order, T->drift_evals);
    }
    printf("GSL reference steppers: rk2 rk4 rkf45 rkck rk8pd\n");
    return 0;
}
