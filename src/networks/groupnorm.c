/* groupnorm.c -- group normalization, forward and backward (groupnorm.h);
 * the passes themselves are in groupnorm_typed.c. */
#include "networks/groupnorm.h"
#include "base/status.h"
#include "base/vecmath.h"

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
#include "networks/groupnorm_typed.c"
#define FMD_TYPED_F32 1
#include "networks/groupnorm_typed.c"
