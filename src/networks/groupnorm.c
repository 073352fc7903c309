/* groupnorm.c -- group normalization, forward and backward (groupnorm.h);
 * the passes themselves are in groupnorm_typed.c. */
#include "groupnorm.h"
#include "status.h"
#include "vecmath.h"

#include <math.h>
#include <string.h>

size_t fmd_groupnorm_groups(size_t c, size_t asked)
{
    size_t g = asked < c ? asked : c;
    while (g > 1 && c % g != 0)
        g--;
    return g ? g : 1;
}

#define FMD_TYPED_F32 0
#include "groupnorm_typed.c"
#define FMD_TYPED_F32 1
#include "groupnorm_typed.c"
