/* cmd_steppers.c -- `fmd steppers`: the ODE and SDE steppers this build
 * offers, with their orders (flows/ode.h, flows/sde.h). */
#include "cli/cli.h"
#include "fmd.h"

#include <stdio.h>

int fmd_cmd_steppers(int argc, char **argv)
{
    int status = fmd_cli_no_arguments("steppers", argc, argv,
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
